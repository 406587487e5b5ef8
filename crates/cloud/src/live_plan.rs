//! The live stint plan: after every lap of a car whose team has a stored plan, the rest of the
//! race is re-planned from where the car is ([`pitbox_strategy::live::revise`]) and a
//! `strategy_update` goes to the team (docs/strategy.md, "The live plan").
//!
//! [`LapTracker`] (one per session, on the live coach's thread, fed the same stored samples)
//! measures what the plan needs from the car: fuel per lap over the last green laps (the one
//! [`pitbox_strategy::fuel::fuel_per_lap`]), each driver's lap time, the pit-lane loss of the
//! team's own stops, and the laps or time left from the sim. The async side reads the team's
//! plan request and publishes.

use std::collections::{HashMap, VecDeque};

use pitbox_model::Message;
use pitbox_model::strategy::{InputSource, PitWindow, StrategyUpdate};
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_strategy::PlanRequest;
use pitbox_strategy::fuel::{LapFuel, fuel_per_lap};
use pitbox_strategy::live::{LiveState, Revision, revise};

use crate::bus::Bus;
use crate::store::Store;

/// Green laps the fuel use is averaged over.
pub const FUEL_WINDOW: usize = 5;
/// Green laps of a driver the lap time is the median of.
pub const LAP_TIME_WINDOW: usize = 5;
/// Laps of history kept per session.
const KEEP_LAPS: usize = 64;
/// Below this speed on pit road the car is stationary in its box (km/h).
const STATIONARY_KMH: f64 = 1.0;
/// A measured pit-lane loss outside this range is a drive-through gone wrong, a tow or a
/// session change, not a stop: it is not used.
const PLAUSIBLE_LOSS_S: std::ops::Range<f64> = 1.0..300.0;

/// What one lap showed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LapRecord {
    fuel: LapFuel,
    time_s: Option<f64>,
    pit: bool,
    stationary_s: f64,
}

/// A lap just completed, with what the car measured so far: the live plan's input.
#[derive(Debug, Clone, PartialEq)]
pub struct LapDone {
    pub team_id: String,
    pub session_id: String,
    pub driver_id: String,
    pub timestamp: pitbox_model::Timestamp,
    /// The lap just completed (iRacing's lap number).
    pub laps_done: u32,
    /// Fuel in the tank now, litres.
    pub fuel_l: f64,
    pub fuel_per_lap_l: Option<f64>,
    pub lap_time_s: Option<f64>,
    pub pit_lane_s: Option<f64>,
    pub sim_laps_remaining: Option<u32>,
    pub sim_time_remaining: Option<f64>,
    /// Seconds each driver has been in the car in this race so far (sim time).
    pub driven_s: Vec<(String, f64)>,
    /// Seconds the driver in the car has been in this stint: since they got in or last left
    /// the pit box.
    pub stint_s: f64,
}

/// Measures one session's laps from its samples, in order.
#[derive(Debug, Default)]
pub struct LapTracker {
    lap: Option<u32>,
    /// Fuel at the lap's first sample, and whether that sample was the lap's start.
    lap_start_fuel: Option<f64>,
    seen_from_start: bool,
    lap_start_time: Option<f64>,
    lap_pit: bool,
    lap_refuelled: bool,
    /// A full-course caution was out during the lap: not a racing lap for the fuel use.
    lap_caution: bool,
    lap_stationary_s: f64,
    prev_time: Option<f64>,
    prev_fuel: Option<f64>,
    prev_stationary: bool,
    laps: VecDeque<LapRecord>,
    lap_times: HashMap<String, VecDeque<f64>>,
    pit_losses: VecDeque<f64>,
    /// Sim seconds in the car per driver.
    driven: HashMap<String, f64>,
    /// Who is in the car and since when (sim time) this stint runs.
    stint_driver: Option<String>,
    stint_start: Option<f64>,
}

/// Longest step between two samples counted as time in the car (a longer gap is a dropout or
/// a session change, not driving).
const MAX_SAMPLE_GAP_S: f64 = 30.0;

impl LapTracker {
    /// Takes one sample; returns the lap it completes, if any. Samples without `fuelLiters`
    /// (the litres channel) are not measured: the plan is in litres.
    pub fn push(&mut self, team_id: &str, session_id: &str, u: &TelemetryUpdate) -> Option<LapDone> {
        let fuel = u.fuel_liters?;
        // The tracker follows the car: a teammate's agent watching it from the garage or a
        // replay is not the car being driven.
        if u.not_driving().is_some() {
            return None;
        }
        let time = u.session_time;
        // Time in the car first, so a lap ending here counts up to this sample.
        let stationary_now = u.on_pit_road == Some(true) && u.speed < STATIONARY_KMH;
        if let Some(t) = time {
            // A new driver in the car, or standing in the box: the stint starts (again) here.
            if self.stint_driver.as_deref() != Some(u.driver_id.as_str()) || stationary_now {
                self.stint_driver = Some(u.driver_id.clone());
                self.stint_start = Some(t);
            }
            if let Some(p) = self.prev_time
                && t > p
                && t - p <= MAX_SAMPLE_GAP_S
            {
                *self.driven.entry(u.driver_id.clone()).or_default() += t - p;
            }
        }
        let mut done = None;
        match self.lap {
            Some(l) if u.lap == l.saturating_add(1) => {
                self.finish_lap(u, time);
                done = Some(self.lap_done(team_id, session_id, u, l, fuel));
                self.start_lap(u.lap, fuel, time, true);
            }
            Some(l) if u.lap == l => {}
            // First sample, a reset or a jump: a new lap seen from somewhere inside it.
            Some(_) | None => self.start_lap(u.lap, fuel, time, u.lap_distance.is_some_and(|d| d < 50.0)),
        }
        let stationary = stationary_now;
        if u.on_pit_road == Some(true) {
            self.lap_pit = true;
            // Standing from the previous sample to this one.
            if let (Some(t), Some(p)) = (time, self.prev_time)
                && stationary
                && self.prev_stationary
                && t > p
            {
                self.lap_stationary_s += t - p;
            }
        }
        self.prev_stationary = stationary;
        if u.full_course_caution() {
            self.lap_caution = true;
        }
        if self.prev_fuel.is_some_and(|p| fuel > p + 0.05) {
            self.lap_refuelled = true;
        }
        self.prev_time = time;
        self.prev_fuel = Some(fuel);
        done
    }

    fn start_lap(&mut self, lap: u32, fuel: f64, time: Option<f64>, from_start: bool) {
        self.lap = Some(lap);
        self.lap_start_fuel = Some(fuel);
        self.seen_from_start = from_start;
        self.lap_start_time = time;
        self.lap_pit = false;
        self.lap_refuelled = false;
        self.lap_caution = false;
        self.lap_stationary_s = 0.0;
    }

    /// Records the lap that `u` (the first sample of the next lap) ends.
    fn finish_lap(&mut self, u: &TelemetryUpdate, time: Option<f64>) {
        let used = match (self.lap_start_fuel, u.fuel_liters) {
            (Some(a), Some(b)) => a - b,
            _ => f64::NAN,
        };
        let green = self.seen_from_start && !self.lap_pit && !self.lap_refuelled && !self.lap_caution;
        // iRacing's own time of the lap when it gives one; else the sim clock across the lap.
        let time_s = u.last_lap_time.filter(|t| *t > 0.0).or_else(|| {
            let (a, b) = (self.lap_start_time?, time?);
            (self.seen_from_start && b > a).then_some(b - a)
        });
        let record = LapRecord {
            fuel: LapFuel { used, green },
            time_s: if self.seen_from_start { time_s } else { None },
            pit: self.lap_pit,
            stationary_s: self.lap_stationary_s,
        };
        if green && let Some(t) = record.time_s {
            let times = self.lap_times.entry(u.driver_id.clone()).or_default();
            times.push_back(t);
            if times.len() > LAP_TIME_WINDOW {
                times.pop_front();
            }
        }
        // A stop spans the in-lap and the out-lap: once a pit lap follows a pit lap (or a green
        // lap follows one), the loss is both laps against two green laps, less the time
        // standing in the box.
        if let Some(prev) = self.laps.back().copied()
            && prev.pit
            && record.pit
            && let (Some(a), Some(b), Some(green)) = (
                prev.time_s,
                record.time_s,
                // A driver change at the stop: the out-lap driver may have no green lap yet.
                self.median_time(&u.driver_id).or_else(|| self.median_time_of_car()),
            )
        {
            let loss = a + b - 2.0 * green - prev.stationary_s - record.stationary_s;
            if PLAUSIBLE_LOSS_S.contains(&loss) {
                self.pit_losses.push_back(loss);
                if self.pit_losses.len() > 8 {
                    self.pit_losses.pop_front();
                }
            }
        }
        self.laps.push_back(record);
        if self.laps.len() > KEEP_LAPS {
            self.laps.pop_front();
        }
    }

    fn median_time(&self, driver: &str) -> Option<f64> {
        median(self.lap_times.get(driver)?.iter().copied().collect())
    }

    /// The median green lap of every driver of the car.
    fn median_time_of_car(&self) -> Option<f64> {
        median(self.lap_times.values().flatten().copied().collect())
    }

    fn lap_done(&self, team_id: &str, session_id: &str, u: &TelemetryUpdate, lap: u32, fuel: f64) -> LapDone {
        let laps: Vec<LapFuel> = self.laps.iter().map(|l| l.fuel).collect();
        LapDone {
            team_id: team_id.to_string(),
            session_id: session_id.to_string(),
            driver_id: u.driver_id.clone(),
            timestamp: u.timestamp,
            laps_done: lap,
            fuel_l: fuel,
            fuel_per_lap_l: fuel_per_lap(&laps, FUEL_WINDOW),
            lap_time_s: self.median_time(&u.driver_id),
            pit_lane_s: (!self.pit_losses.is_empty())
                .then(|| self.pit_losses.iter().sum::<f64>() / self.pit_losses.len() as f64),
            sim_laps_remaining: u.session_laps_remaining,
            sim_time_remaining: u.session_time_remaining,
            driven_s: {
                let mut d: Vec<(String, f64)> = self.driven.iter().map(|(k, v)| (k.clone(), *v)).collect();
                d.sort_by(|a, b| a.0.cmp(&b.0));
                d
            },
            stint_s: match (self.stint_start, u.session_time) {
                (Some(a), Some(b)) if b > a => b - a,
                _ => 0.0,
            },
        }
    }
}

fn median(mut t: Vec<f64>) -> Option<f64> {
    if t.is_empty() {
        return None;
    }
    t.sort_by(f64::total_cmp);
    Some(t[t.len() / 2])
}

/// The live state a lap gives, with the plan's figures where the car has measured nothing yet.
/// `None` when the race is over.
pub fn live_state(base: &PlanRequest, done: &LapDone) -> Option<(LiveState, [InputSource; 4])> {
    let (fuel_per_lap_l, fuel_src) = match done.fuel_per_lap_l {
        Some(f) => (f, InputSource::Measured),
        None => (base.fuel_per_lap_l, InputSource::Plan),
    };
    let planned_lap = base.drivers.iter().find(|d| d.id == done.driver_id).and_then(|d| d.lap_time_s);
    let (lap_time_s, lap_src) = match done.lap_time_s {
        Some(t) => (t, InputSource::Measured),
        None => (planned_lap.unwrap_or(base.lap_time_s), InputSource::Plan),
    };
    let (pit_lane_s, pit_src) = match done.pit_lane_s {
        Some(p) => (p, InputSource::Measured),
        None => (base.pit_lane_s, InputSource::Plan),
    };
    let (laps_remaining, laps_src) = if let Some(l) = done.sim_laps_remaining {
        (l, InputSource::Sim)
    } else if let Some(t) = done.sim_time_remaining {
        // A timed race ends when the leader crosses the line after the clock: at our pace.
        ((t / lap_time_s).floor() as u32 + 1, InputSource::Sim)
    } else {
        let race = match (base.race.laps, base.race.minutes) {
            (Some(l), _) => l,
            (None, Some(m)) => (m * 60.0 / base.lap_time_s).floor() as u32 + 1,
            (None, None) => return None,
        };
        (race.saturating_sub(done.laps_done), InputSource::Plan)
    };
    if laps_remaining == 0 {
        return None;
    }
    let state = LiveState {
        laps_done: done.laps_done,
        laps_remaining,
        fuel_l: done.fuel_l,
        fuel_per_lap_l,
        lap_time_s,
        pit_lane_s,
        driver_id: Some(done.driver_id.clone()),
        driven_s: done.driven_s.clone(),
        stint_s: done.stint_s,
    };
    Some((state, [laps_src, fuel_src, lap_src, pit_src]))
}

/// The `strategy_update` of a revision.
pub fn update_of(done: &LapDone, state: &LiveState, sources: [InputSource; 4], r: Revision) -> StrategyUpdate {
    let [laps_src, fuel_src, lap_src, pit_src] = sources;
    StrategyUpdate {
        team_id: done.team_id.clone(),
        driver_id: done.driver_id.clone(),
        session_id: done.session_id.clone(),
        timestamp: done.timestamp,
        lap: done.laps_done,
        laps_remaining: state.laps_remaining,
        laps_remaining_source: laps_src,
        fuel_l: state.fuel_l,
        fuel_per_lap_l: state.fuel_per_lap_l,
        fuel_per_lap_source: fuel_src,
        fuel_laps_left: r.fuel_laps_left,
        lap_time_s: state.lap_time_s,
        lap_time_source: lap_src,
        pit_lane_s: state.pit_lane_s,
        pit_lane_source: pit_src,
        stops_remaining: r.plan.stops,
        pit_window: r.pit_window.map(|(opens_lap, closes_lap)| PitWindow { opens_lap, closes_lap }),
        next_stop_fuel_l: r.next_stop_fuel_l,
        fuel_save_to_skip_stop_lpl: r.fuel_save_to_skip_stop_lpl,
        total_race_time_s: r.plan.total_race_time_s,
        finish_fuel_l: r.plan.finish_fuel_l,
        stints: r.plan.stints,
        basis: r.basis,
    }
}

/// Publishes the live plans of completed laps, in order, for as long as the coach thread runs.
pub async fn publish_loop(store: Store, bus: Bus, mut rx: tokio::sync::mpsc::UnboundedReceiver<LapDone>) {
    while let Some(done) = rx.recv().await {
        let base = match crate::strategy::load_plan(&store, &done.team_id).await {
            Ok(Some(p)) => p.request,
            Ok(None) => continue, // no plan: nothing to revise
            Err(e) => {
                tracing::warn!(error = %e, team = %done.team_id, "cannot read the team's plan; no live plan for this lap");
                continue;
            }
        };
        let Some((state, sources)) = live_state(&base, &done) else { continue };
        let revised = tokio::task::spawn_blocking(move || {
            let r = revise(&base, &state);
            (state, r)
        })
        .await;
        match revised {
            Ok((state, Ok(r))) => {
                let update = update_of(&done, &state, sources, r);
                bus.publish(&done.team_id, Message::StrategyUpdate(update));
            }
            Ok((_, Err(e))) => {
                tracing::info!(team = %done.team_id, lap = done.laps_done, reason = %e, "no live plan for this lap");
            }
            Err(e) => tracing::error!(error = %e, "the live planner stopped"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pitbox_strategy::{DriverSpec, Race};

    fn sample(lap: u32, dist: f64, fuel: f64, t: f64) -> TelemetryUpdate {
        let mut u: TelemetryUpdate = serde_json::from_value(serde_json::json!({
            "driverId": "ana", "timestamp": "2026-12-07T10:00:00Z", "speed": 150.0, "rpm": 7000.0,
            "gear": 4, "throttle": 80.0, "brake": 0.0, "steeringAngle": 0.0, "trackPosition": 0.5,
            "lap": lap, "sector": 1, "fuelLevel": 50.0,
            "tireWear": {"frontLeft": 0.0, "frontRight": 0.0, "rearLeft": 0.0, "rearRight": 0.0}
        }))
        .expect("sample");
        u.lap_distance = Some(dist);
        u.fuel_liters = Some(fuel);
        u.session_time = Some(t);
        u.on_pit_road = Some(false);
        u
    }

    /// Drives `laps` laps of 100 s and 2 L each from lap 1, ten samples a lap; `pit` laps run
    /// through the pit lane (15 s slower each, 10 s standing, 20 L added on the in-lap).
    fn drive(tracker: &mut LapTracker, laps: u32, pit: &[u32]) -> Vec<LapDone> {
        drive_with(tracker, laps, pit, None)
    }

    /// [`drive`], with "ben" taking over from "ana" in the box at the end of in-lap `change`.
    fn drive_with(tracker: &mut LapTracker, laps: u32, pit: &[u32], change: Option<u32>) -> Vec<LapDone> {
        let (mut fuel, mut t, mut out) = (60.0, 0.0, Vec::new());
        let mut driver = "ana";
        for lap in 1..=laps + 1 {
            let is_pit = pit.contains(&lap);
            let step = if is_pit { 11.5 } else { 10.0 };
            for i in 0..10 {
                let mut u = sample(lap, f64::from(i) * 300.0 + 10.0, fuel, t);
                u.driver_id = driver.into();
                if is_pit && i == 9 {
                    u.on_pit_road = Some(true);
                }
                if is_pit && i == 8 && pit.contains(&(lap + 1)) {
                    // Standing in the box at the end of the in-lap: 10 s, 20 L in.
                    u.on_pit_road = Some(true);
                    u.speed = 0.0;
                    tracker.push("t", "s", &u);
                    t += 10.0;
                    fuel += 20.0;
                    if change == Some(lap) {
                        driver = "ben";
                        u.driver_id = driver.into();
                    }
                    u.session_time = Some(t);
                    u.fuel_liters = Some(fuel);
                }
                if let Some(d) = tracker.push("t", "s", &u) {
                    out.push(d);
                }
                t += step;
                fuel -= 0.2;
            }
        }
        out
    }

    #[test]
    fn green_laps_give_fuel_use_and_lap_time() {
        let mut tracker = LapTracker::default();
        let done = drive(&mut tracker, 6, &[]);
        assert_eq!(done.len(), 6);
        let last = done.last().expect("laps");
        assert_eq!(last.laps_done, 6);
        assert!((last.fuel_per_lap_l.expect("fuel") - 2.0).abs() < 1e-9);
        assert!((last.lap_time_s.expect("time") - 100.0).abs() < 1e-9);
        assert_eq!(last.pit_lane_s, None);
        // The first lap is seen from its start (lap distance near 0), so it counts too.
        assert!(done[0].fuel_per_lap_l.is_some());
    }

    /// Laps 4 and 5 are the in-lap and out-lap: each 15 s slower, plus 10 s standing: the loss
    /// is 2·15 = 30 s (the standing time is the stop's, not the lane's). Their fuel is not
    /// counted, and the refuel does not make a negative lap.
    #[test]
    fn a_stop_gives_the_pit_lane_loss_and_is_left_out_of_fuel_use() {
        let mut tracker = LapTracker::default();
        let done = drive(&mut tracker, 8, &[4, 5]);
        let last = done.last().expect("laps");
        let loss = last.pit_lane_s.expect("a measured stop");
        assert!((loss - 30.0).abs() < 1e-6, "loss {loss}");
        assert!((last.fuel_per_lap_l.expect("fuel") - 2.0).abs() < 1e-9);
        assert!((last.lap_time_s.expect("time") - 100.0).abs() < 1e-9);
    }

    /// Ana drives laps 1–3 and lap 4 into the box (392 s of sim time); Ben takes over standing
    /// there and drives to the end of lap 8 (448 s, the 10 s in the box included). His stint
    /// starts when the car leaves the box (438 s at the end of lap 8). The stop is measured
    /// across the change (30 s), with the car's green laps as the pace.
    #[test]
    fn a_driver_change_keeps_the_cars_measures_and_counts_each_drivers_time() {
        let mut tracker = LapTracker::default();
        let done = drive_with(&mut tracker, 8, &[4, 5], Some(4));
        let last = done.last().expect("laps");
        assert_eq!(last.driver_id, "ben");
        let driven: HashMap<&str, f64> = last.driven_s.iter().map(|(d, s)| (d.as_str(), *s)).collect();
        assert!((driven["ana"] - 392.0).abs() < 1e-6, "{driven:?}");
        assert!((driven["ben"] - 448.0).abs() < 1e-6, "{driven:?}");
        assert!((last.stint_s - 438.0).abs() < 1e-6, "{}", last.stint_s);
        let loss = last.pit_lane_s.expect("the stop measured across the change");
        assert!((loss - 30.0).abs() < 1e-6, "loss {loss}");
        assert!((last.fuel_per_lap_l.expect("fuel") - 2.0).abs() < 1e-9);
        // Ben's pace from his own green laps (6–8).
        assert!((last.lap_time_s.expect("time") - 100.0).abs() < 1e-9);
        // The rest of the race is planned with what each has driven.
        let mut req = base();
        req.drivers.push(DriverSpec {
            id: "ben".into(),
            max_stint_minutes: Some(10.0),
            lap_time_s: None,
            driven_minutes: None,
        });
        let (state, _) = live_state(&req, last).expect("state");
        assert_eq!(state.driven_s, last.driven_s);
        let r = pitbox_strategy::live::revise(&req, &state).expect("plan");
        assert_eq!(r.basis.first_stint_driven_minutes, Some(438.0 / 60.0));
        assert!(r.basis.drivers.iter().any(|d| d.id == "ana" && d.driven_minutes == Some(392.0 / 60.0)));
    }

    /// Lap 3 under a full-course caution burns half as much: left out of the fuel use.
    #[test]
    fn a_caution_lap_is_left_out_of_the_fuel_use() {
        let mut tracker = LapTracker::default();
        let (mut fuel, mut t) = (60.0, 0.0);
        let mut last = None;
        for lap in 1..=6 {
            let burn = if lap == 3 { 1.0 } else { 2.0 };
            for i in 0..10 {
                let mut u = sample(lap, f64::from(i) * 300.0 + 10.0, fuel, t);
                if lap == 3 {
                    u.session_flags = Some(0x8000); // irsdk_cautionWaving
                }
                if let Some(d) = tracker.push("t", "s", &u) {
                    last = Some(d);
                }
                t += 10.0;
                fuel -= burn / 10.0;
            }
        }
        let last = last.expect("laps");
        assert_eq!(last.laps_done, 5);
        assert!((last.fuel_per_lap_l.expect("fuel") - 2.0).abs() < 1e-9, "{:?}", last.fuel_per_lap_l);
    }

    #[test]
    fn a_teammate_watching_the_car_is_not_the_car() {
        let mut tracker = LapTracker::default();
        drive(&mut tracker, 2, &[]);
        let mut spectator = sample(5, 10.0, 10.0, 5_000.0);
        spectator.driver_id = "ben".into();
        spectator.on_track = Some(false);
        assert_eq!(tracker.push("t", "s", &spectator), None);
        assert!(!tracker.driven.contains_key("ben"));
        assert_eq!(tracker.lap, Some(3), "the car's lap is unchanged");
    }

    fn base() -> PlanRequest {
        PlanRequest {
            race: Race { laps: Some(30), minutes: None },
            lap_time_s: 95.0,
            fuel_per_lap_l: 2.5,
            tank_l: 60.0,
            start_fuel_l: None,
            fuel_margin_l: None,
            pit_lane_s: 25.0,
            refuel_lps: 2.0,
            tyre_change_s: 20.0,
            tyres_every_stints: None,
            drivers: vec![DriverSpec {
                id: "ana".into(),
                max_stint_minutes: None,
                lap_time_s: None,
                driven_minutes: None,
            }],
            min_driver_minutes: None,
            max_driver_minutes: None,
            first_stint_driven_minutes: None,
        }
    }

    #[test]
    fn measured_figures_win_and_the_plan_fills_the_rest() {
        let mut tracker = LapTracker::default();
        let done = drive(&mut tracker, 3, &[]);
        let mut d = done.last().cloned().expect("lap");
        let (state, src) = live_state(&base(), &d).expect("state");
        assert_eq!(src, [InputSource::Plan, InputSource::Measured, InputSource::Measured, InputSource::Plan]);
        assert_eq!(state.laps_remaining, 27);
        assert!((state.fuel_per_lap_l - 2.0).abs() < 1e-9);
        assert_eq!(state.pit_lane_s, 25.0);
        d.sim_laps_remaining = Some(12);
        assert_eq!(live_state(&base(), &d).map(|(s, src)| (s.laps_remaining, src[0])), Some((12, InputSource::Sim)));
        d.sim_laps_remaining = None;
        d.sim_time_remaining = Some(1_000.0);
        // 1,000 s at 100 s a lap: ten laps, then the one the leader finishes on.
        assert_eq!(live_state(&base(), &d).map(|(s, _)| s.laps_remaining), Some(11));
        d.sim_time_remaining = None;
        d.laps_done = 30;
        assert_eq!(live_state(&base(), &d), None);
    }
}
