//! The agent's own fuel calls: it measures the fuel burnt per green lap from the telemetry and
//! says when the pit window opens and when fuel runs low. Pure logic, fed once a second with
//! the latest sample (never on the telemetry path), so it can be tested exactly.

use pitbox_model::Priority;
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_strategy::fuel::{LapFuel, fuel_per_lap};
use std::collections::VecDeque;

/// Laps measured for the per-lap figure (the mean of the most recent ones).
const BURN_LAPS: usize = 5;
/// Completed laps kept, green or not (the last green ones may lie behind a few that were not).
const KEPT_LAPS: usize = 40;

/// A fuel call the agent makes.
#[derive(Debug, Clone, PartialEq)]
pub struct FuelCall {
    /// `pitWindow`, `lowFuel` or `boxNow`.
    pub kind: &'static str,
    pub text: String,
    pub priority: Priority,
}

/// When to call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FuelThresholds {
    /// Pit window open at or below this many laps of fuel (when the fuel will not reach the end).
    pub pit_window_laps: f64,
    /// Low fuel at or below this many laps.
    pub low_fuel_laps: f64,
    /// Low fuel at or below this tank percentage while the burn per lap is unknown.
    pub low_fuel_pct: f64,
}

impl Default for FuelThresholds {
    fn default() -> Self {
        Self { pit_window_laps: 5.0, low_fuel_laps: 2.0, low_fuel_pct: 5.0 }
    }
}

/// Fuel per lap and the stint's calls made so far.
#[derive(Debug, Clone, Default)]
pub struct FuelWatch {
    thresholds: FuelThresholds,
    /// Per-lap burn from the strategy (litres), used until a lap is measured.
    configured_per_lap: Option<f64>,
    /// The lap under way: its number, fuel at its start, and whether it is still a clean
    /// measurement (no pit road, no refuel, seen from its start).
    lap: Option<(u32, f64, bool)>,
    /// Completed laps, oldest first (at most [`KEPT_LAPS`]): their burn and whether each was a
    /// clean, green measurement.
    laps: VecDeque<LapFuel>,
    last_liters: Option<f64>,
    said_window: bool,
    said_low: bool,
    said_box: bool,
}

/// A one-decimal number without a trailing `.0`.
fn num1(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 { format!("{}", r as i64) } else { format!("{r:.1}") }
}

impl FuelWatch {
    /// A watch with these thresholds and, if known, the strategy's burn per lap in litres.
    pub fn new(thresholds: FuelThresholds, configured_per_lap: Option<f64>) -> Self {
        Self {
            thresholds,
            configured_per_lap: configured_per_lap.filter(|l| l.is_finite() && *l > 0.0),
            ..Default::default()
        }
    }

    /// Litres per lap: the mean of the last [`BURN_LAPS`] green laps (the one figure the
    /// planner and the coach use too: `pitbox_strategy::fuel::fuel_per_lap`), else the
    /// configured figure.
    pub fn per_lap(&self) -> Option<f64> {
        let laps: Vec<LapFuel> = self.laps.iter().copied().collect();
        fuel_per_lap(&laps, BURN_LAPS).or(self.configured_per_lap)
    }

    /// Green laps the figure is measured from (at most [`BURN_LAPS`]).
    pub fn measured_laps(&self) -> usize {
        self.laps.iter().filter(|l| l.green).count().min(BURN_LAPS)
    }

    /// Takes the latest sample; `laps_to_go` is the race's remaining laps when known. Returns
    /// the calls to make now (each at most once per stint; a refuel starts a new stint).
    pub fn update(&mut self, t: &TelemetryUpdate, laps_to_go: Option<u32>) -> Vec<FuelCall> {
        let Some(liters) = t.fuel_liters.filter(|l| l.is_finite() && *l >= 0.0) else {
            return self.percent_only(t);
        };
        let pit = t.on_pit_road == Some(true);
        // Laps behind the safety car burn less: not a measurement of racing laps.
        let caution = t.full_course_caution();
        // A refuel (more than half a litre more than a second ago) starts a new stint.
        if self.last_liters.is_some_and(|prev| liters > prev + 0.5) {
            self.said_window = false;
            self.said_low = false;
            self.said_box = false;
            if let Some(l) = &mut self.lap {
                l.2 = false;
            }
        }
        self.last_liters = Some(liters);
        match &mut self.lap {
            Some((lap, _, clean)) if *lap == t.lap => {
                if pit || caution {
                    *clean = false;
                }
            }
            Some((lap, start, clean)) => {
                let used = *start - liters;
                let green = *clean && t.lap == *lap + 1 && !pit && used > 0.05;
                self.laps.push_back(LapFuel { used, green });
                if self.laps.len() > KEPT_LAPS {
                    self.laps.pop_front();
                }
                self.lap = Some((t.lap, liters, !pit && !caution));
            }
            // The first lap seen is joined part-way: not a measurement.
            None => self.lap = Some((t.lap, liters, false)),
        }
        let Some(per_lap) = self.per_lap() else {
            return self.percent_only(t);
        };
        if pit {
            return Vec::new();
        }
        let laps = liters / per_lap;
        // Enough to finish: no window, no warning.
        if laps_to_go.is_some_and(|n| laps + 0.05 >= f64::from(n)) {
            return Vec::new();
        }
        let mut calls = Vec::new();
        if laps <= 1.0 && !self.said_box {
            self.said_box = true;
            self.said_low = true;
            self.said_window = true;
            calls.push(FuelCall {
                kind: "boxNow",
                text: format!("Box this lap. Fuel {} litres, under one lap.", num1(liters)),
                priority: Priority::Urgent,
            });
        } else if laps <= self.thresholds.low_fuel_laps && !self.said_low {
            self.said_low = true;
            self.said_window = true;
            calls.push(FuelCall {
                kind: "lowFuel",
                text: format!("Low fuel. {} litres, about {} laps.", num1(liters), num1(laps)),
                priority: Priority::High,
            });
        } else if laps <= self.thresholds.pit_window_laps && !self.said_window {
            self.said_window = true;
            calls.push(FuelCall {
                kind: "pitWindow",
                text: format!("Pit window open. Fuel for about {} laps.", num1(laps)),
                priority: Priority::Normal,
            });
        }
        calls
    }

    /// Without litres or a burn per lap, only a tank percentage can be judged.
    fn percent_only(&mut self, t: &TelemetryUpdate) -> Vec<FuelCall> {
        let pct = t.fuel_level;
        if let Some(prev) = self.last_liters.filter(|_| t.fuel_liters.is_none())
            && pct > prev + 2.0
        {
            self.said_low = false;
        }
        if t.fuel_liters.is_none() {
            self.last_liters = Some(pct);
        }
        if pct.is_finite() && pct <= self.thresholds.low_fuel_pct && !self.said_low && t.on_pit_road != Some(true) {
            self.said_low = true;
            return vec![FuelCall {
                kind: "lowFuel",
                text: format!("Low fuel. {} percent in the tank.", pct.round() as i64),
                priority: Priority::High,
            }];
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pitbox_model::telemetry::TireWear;

    fn sample(lap: u32, liters: f64, pit: bool) -> TelemetryUpdate {
        TelemetryUpdate {
            driver_id: "d".into(),
            timestamp: chrono::Utc::now(),
            speed: 200.0,
            rpm: 7000.0,
            gear: 4,
            throttle: 100.0,
            brake: 0.0,
            steering_angle: 0.0,
            latitude: None,
            longitude: None,
            track_position: 0.5,
            lap,
            sector: 1,
            fuel_level: liters / 100.0 * 100.0,
            tire_wear: TireWear { front_left: 0.0, front_right: 0.0, rear_left: 0.0, rear_right: 0.0 },
            position: Some(3),
            lap_distance: None,
            lap_time: None,
            session_time: None,
            yaw_rate: None,
            lateral_accel: None,
            longitudinal_accel: None,
            fuel_liters: Some(liters),
            on_pit_road: Some(pit),
            sequence: Some(1),
            sim_session_id: None,
            last_lap_time: None,
            on_track: None,
            in_garage: None,
            replay_playing: None,
            off_track: None,
            session_laps_remaining: None,
            session_time_remaining: None,
            pit_service_flags: None,
            pit_service_fuel_l: None,
            session_flags: None,
        }
    }

    /// Runs laps burning `burn` litres each, sampling 10 times a lap; returns every call.
    fn drive(
        w: &mut FuelWatch,
        from_lap: u32,
        laps: u32,
        mut liters: f64,
        burn: f64,
        to_go: Option<u32>,
    ) -> Vec<FuelCall> {
        let mut calls = Vec::new();
        for lap in from_lap..from_lap + laps {
            for _ in 0..10 {
                calls.extend(w.update(&sample(lap, liters, false), to_go.map(|n| n.saturating_sub(lap - from_lap))));
                liters -= burn / 10.0;
            }
        }
        calls
    }

    #[test]
    fn measures_green_laps_and_skips_the_joined_lap() {
        let mut w = FuelWatch::new(FuelThresholds::default(), None);
        assert!(w.per_lap().is_none());
        drive(&mut w, 3, 4, 60.0, 2.5, None);
        // Laps 4, 5 and 6 started clean; 4 and 5 completed (6 is under way): 2 measured.
        assert_eq!(w.measured_laps(), 2);
        assert!((w.per_lap().unwrap() - 2.5).abs() < 1e-9, "{:?}", w.per_lap());
    }

    #[test]
    fn pit_lap_and_refuel_are_not_measured_and_start_a_new_stint() {
        let mut w = FuelWatch::new(FuelThresholds::default(), Some(3.0));
        let calls = drive(&mut w, 1, 10, 30.0, 3.0, None);
        let kinds: Vec<_> = calls.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, ["pitWindow", "lowFuel", "boxNow"], "{calls:?}");
        // Into the pits on lap 11, refuelled to 60 l.
        w.update(&sample(11, 1.0, true), None);
        w.update(&sample(11, 60.0, true), None);
        assert_eq!(w.measured_laps(), BURN_LAPS);
        let calls = drive(&mut w, 12, 2, 60.0, 2.0, None);
        assert!(calls.is_empty(), "a full tank makes no call: {calls:?}");
        // Lap 11 (pit, refuel) is not measured; lap 12 is (it started clean after the stop):
        // the last five are 3, 3, 3, 3 and 2 litres.
        assert!((w.per_lap().unwrap() - 2.8).abs() < 1e-9, "{:?}", w.per_lap());
    }

    /// Laps 4 and 5 at 2.5 L; lap 6 under a full-course caution at 1.0 L (not measured); laps
    /// 7 and 8 at 2.5 L again: the burn stays 2.5 L a lap.
    #[test]
    fn a_caution_lap_is_not_a_measurement() {
        let mut w = FuelWatch::new(FuelThresholds::default(), None);
        let mut liters = 60.0;
        for lap in 3..=9 {
            let burn = if lap == 6 { 1.0 } else { 2.5 };
            for _ in 0..10 {
                let mut t = sample(lap, liters, false);
                if lap == 6 {
                    t.session_flags = Some(0x4000); // irsdk_caution
                }
                w.update(&t, None);
                liters -= burn / 10.0;
            }
        }
        // Laps 4, 5, 7 and 8 measured (3 joined, 6 under caution, 9 under way).
        assert_eq!(w.measured_laps(), 4);
        assert!((w.per_lap().unwrap() - 2.5).abs() < 1e-9, "{:?}", w.per_lap());
    }

    #[test]
    fn enough_fuel_to_finish_makes_no_call() {
        let mut w = FuelWatch::new(FuelThresholds::default(), Some(2.0));
        // 9 litres = 4.5 laps with 4 laps to go.
        let calls = w.update(&sample(10, 9.0, false), Some(4));
        assert!(calls.is_empty(), "{calls:?}");
        let calls = w.update(&sample(10, 9.0, false), Some(6));
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].text, "Pit window open. Fuel for about 4.5 laps.");
        assert_eq!(calls[0].priority, Priority::Normal);
    }

    #[test]
    fn percent_only_low_fuel_once() {
        let mut w = FuelWatch::new(FuelThresholds::default(), None);
        let mut t = sample(1, 10.0, false);
        t.fuel_liters = None;
        t.fuel_level = 4.4;
        let calls = w.update(&t, None);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].text, "Low fuel. 4 percent in the tank.");
        assert!(w.update(&t, None).is_empty());
    }
}
