//! The one place where iRacing's units become the wire model's (`pitbox-model`).
//!
//! | wire field | iRacing variable | conversion |
//! |---|---|---|
//! | `speed` km/h | `Speed` m/s | × 3.6 |
//! | `throttle`, `brake` 0–100 | `Throttle`, `Brake` 0–1 | × 100, clamped (iRacing writes −6e-8 and 1.0000001) |
//! | `steeringAngle` degrees, negative = left | `SteeringWheelAngle` rad, **positive = left** (counter-clockwise; checked on real laps: it correlates +0.62 with the GPS heading turning left) | − rad → deg |
//! | `fuelLevel` % of tank | `FuelLevelPct` 0–1 | × 100 (`FuelLevel` litres goes to `fuelLiters`) |
//! | `tireWear` % worn | `LFwearL/M/R` … remaining tread, 1 = new (updates only in the pits) | (1 − mean of L/M/R) × 100 |
//! | `trackPosition` 0–1 | `LapDistPct` | clamped to 0–1 |
//! | `sector` 1-based, 0 = unknown | `SplitTimeInfo.Sectors` (0-based `SectorNum`, `SectorStartPct`) | the sector containing `LapDistPct`, + 1 |
//! | `latitude`, `longitude` | `Lat`, `Lon` deg (files only; not in live memory) | as is, `null` when absent or 0/0 |
//! | `position` | `PlayerCarPosition` | `null` when 0 (not classified) |
//! | `yawRate` deg/s, positive = left | `YawRate` rad/s (z up: positive = left) | rad → deg |
//! | `onTrack`, `inGarage`, `replayPlaying` | `IsOnTrack`, `IsInGarage`, `IsReplayPlaying` | as is; `null` when absent (files hold `IsOnTrack` only: iRacing logs them only while the player drives) |
//! | `lateralAccel`, `longitudinalAccel` m/s² | `LatAccel` (positive = left), `LongAccel` | as is |
//! | `sessionLapsRemaining` | `SessionLapsRemainEx` | `null` when 32767 (laps do not limit the session) or negative |
//! | `pitServiceFlags`, `pitServiceFuelL` L | `PitSvFlags` (bit field), `PitSvFuel` | as is; the sim's answer to a pit command |
//! | `sessionFlags` | `SessionFlags` (bit field) | as is; a full-course caution keeps the lap out of the live plan's fuel use |
//! | `sessionTimeRemaining` s | `SessionTimeRemain` | `null` when 604,800 (the clock does not limit the session), negative or not finite |
//!
//! Standings come from the CarIdx arrays (64 cars): `CarIdxPosition`, `CarIdxClassPosition`,
//! `CarIdxLap`, `CarIdxLapDistPct`, `CarIdxLastLapTime`, `CarIdxBestLapTime`, `CarIdxOnPitRoad`;
//! gaps from `CarIdxF2Time` where the sim fills it (races), else estimated from `CarIdxEstTime`
//! and the laps between cars times the class's estimated lap time.

use crate::error::Result;
use crate::flags::TrkLoc;
use crate::layout::Layout;
use crate::session::{Sector, SessionInfo, sector_at};
use crate::var::VarHandle;
use pitbox_model::Timestamp;
use pitbox_model::session::{StandingsEntry, StandingsUpdate};
use pitbox_model::telemetry::{TelemetryUpdate, TireWear};

/// iRacing writes 32767 laps left for a session that laps do not limit.
const UNLIMITED_LAPS: i32 = 32_767;
/// iRacing writes 604,800 s (a week) left for a session that the clock does not limit.
const UNLIMITED_SECONDS: f64 = 604_800.0;

/// `SessionLapsRemainEx` → laps left, `None` when laps do not limit the session.
fn laps_remaining(raw: i32) -> Option<u32> {
    (0..UNLIMITED_LAPS).contains(&raw).then(|| raw.unsigned_abs())
}

/// `SessionTimeRemain` → seconds left, `None` when the clock does not limit the session.
fn time_remaining(raw: f64) -> Option<f64> {
    (0.0..UNLIMITED_SECONDS).contains(&raw).then_some(raw)
}

/// m/s → km/h.
pub fn speed_kmh(mps: f32) -> f64 {
    finite(f64::from(mps)).max(0.0) * 3.6
}

/// A 0–1 pedal → 0–100 %, clamped.
pub fn pedal_pct(x: f32) -> f64 {
    finite(f64::from(x)).clamp(0.0, 1.0) * 100.0
}

/// iRacing's steering (rad, positive = left) → the spec's degrees, negative = left.
pub fn steering_deg(rad: f32) -> f64 {
    -finite(f64::from(rad)).to_degrees()
}

/// Remaining tread (1 = new) of the three bands → % worn.
pub fn tire_wear_pct(l: f32, m: f32, r: f32) -> f64 {
    let avg = (finite(f64::from(l)) + finite(f64::from(m)) + finite(f64::from(r))) / 3.0;
    ((1.0 - avg) * 100.0).clamp(0.0, 100.0)
}

fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

type H<T> = Option<VarHandle<T>>;

struct Wear {
    l: VarHandle<f32>,
    m: VarHandle<f32>,
    r: VarHandle<f32>,
}

impl Wear {
    fn new(layout: &Layout, corner: &str) -> Result<Option<Wear>> {
        let get = |band: &str| layout.optional::<f32>(&format!("{corner}wear{band}"));
        Ok(match (get("L")?, get("M")?, get("R")?) {
            (Some(l), Some(m), Some(r)) => Some(Wear { l, m, r }),
            _ => None,
        })
    }
    fn pct(w: &Option<Wear>, row: &[u8]) -> f64 {
        w.as_ref().map_or(0.0, |w| tire_wear_pct(w.l.get(row), w.m.get(row), w.r.get(row)))
    }
}

/// Converts rows of one layout into wire-model messages. Handles are looked up once.
pub struct Mapper {
    session_time: H<f64>,
    speed: H<f32>,
    rpm: H<f32>,
    gear: H<i32>,
    throttle: H<f32>,
    brake: H<f32>,
    steering: H<f32>,
    lat: H<f64>,
    lon: H<f64>,
    lap_dist_pct: H<f32>,
    lap_dist: H<f32>,
    lap: H<i32>,
    lap_cur: H<f32>,
    lap_last: H<f32>,
    fuel_pct: H<f32>,
    fuel_l: H<f32>,
    position: H<i32>,
    yaw_rate: H<f32>,
    lat_accel: H<f32>,
    long_accel: H<f32>,
    on_pit_road: H<bool>,
    on_track: H<bool>,
    in_garage: H<bool>,
    replay_playing: H<bool>,
    player_surface: H<TrkLoc>,
    laps_remain: H<i32>,
    time_remain: H<f64>,
    pit_sv_flags: H<u32>,
    session_flags: H<u32>,
    pit_sv_fuel: H<f32>,
    wear: [Option<Wear>; 4],
    car_position: H<i32>,
    car_class_position: H<i32>,
    car_lap: H<i32>,
    car_pct: H<f32>,
    car_last: H<f32>,
    car_best: H<f32>,
    car_pit: H<bool>,
    car_f2: H<f32>,
    car_est: H<f32>,
    car_surface: H<TrkLoc>,
    sectors: Vec<Sector>,
}

impl Mapper {
    /// Looks the channels up (missing ones map to defaults / `null`); a channel that exists
    /// with an unexpected type is an error.
    pub fn new(layout: &Layout) -> Result<Mapper> {
        let o = |n: &str| layout.optional::<f32>(n);
        Ok(Mapper {
            session_time: layout.optional("SessionTime")?,
            speed: o("Speed")?,
            rpm: o("RPM")?,
            gear: layout.optional("Gear")?,
            throttle: o("Throttle")?,
            brake: o("Brake")?,
            steering: o("SteeringWheelAngle")?,
            lat: layout.optional("Lat")?,
            lon: layout.optional("Lon")?,
            lap_dist_pct: o("LapDistPct")?,
            lap_dist: o("LapDist")?,
            lap: layout.optional("Lap")?,
            lap_cur: o("LapCurrentLapTime")?,
            lap_last: o("LapLastLapTime")?,
            fuel_pct: o("FuelLevelPct")?,
            fuel_l: o("FuelLevel")?,
            position: layout.optional("PlayerCarPosition")?,
            yaw_rate: o("YawRate")?,
            lat_accel: o("LatAccel")?,
            long_accel: o("LongAccel")?,
            on_pit_road: layout.optional("OnPitRoad")?,
            on_track: layout.optional("IsOnTrack")?,
            in_garage: layout.optional("IsInGarage")?,
            replay_playing: layout.optional("IsReplayPlaying")?,
            player_surface: layout.optional("PlayerTrackSurface")?,
            laps_remain: layout.optional("SessionLapsRemainEx")?,
            time_remain: layout.optional("SessionTimeRemain")?,
            pit_sv_flags: layout.optional("PitSvFlags")?,
            session_flags: layout.optional("SessionFlags")?,
            pit_sv_fuel: o("PitSvFuel")?,
            wear: [
                Wear::new(layout, "LF")?,
                Wear::new(layout, "RF")?,
                Wear::new(layout, "LR")?,
                Wear::new(layout, "RR")?,
            ],
            car_position: layout.optional("CarIdxPosition")?,
            car_class_position: layout.optional("CarIdxClassPosition")?,
            car_lap: layout.optional("CarIdxLap")?,
            car_pct: o("CarIdxLapDistPct")?,
            car_last: o("CarIdxLastLapTime")?,
            car_best: o("CarIdxBestLapTime")?,
            car_pit: layout.optional("CarIdxOnPitRoad")?,
            car_f2: o("CarIdxF2Time")?,
            car_est: o("CarIdxEstTime")?,
            car_surface: layout.optional("CarIdxTrackSurface")?,
            sectors: Vec::new(),
        })
    }

    /// Takes the sectors from the session info (call again when it changes).
    pub fn set_session(&mut self, session: &SessionInfo) {
        self.sectors = session.sectors.clone();
    }

    /// The `telemetry_update` data of one row.
    pub fn telemetry_update(&self, row: &[u8], driver_id: &str, timestamp: Timestamp) -> TelemetryUpdate {
        let f = |h: H<f32>| h.map(|h| h.get(row));
        let pct = f(self.lap_dist_pct).map_or(0.0, |p| finite(f64::from(p)).clamp(0.0, 1.0));
        let (lat, lon) = match (self.lat.map(|h| h.get(row)), self.lon.map(|h| h.get(row))) {
            (Some(a), Some(b)) if a.is_finite() && b.is_finite() && (a, b) != (0.0, 0.0) => (Some(a), Some(b)),
            _ => (None, None),
        };
        let sector = sector_at(&self.sectors, pct).map_or(0, |s| u32::try_from(s.saturating_add(1)).unwrap_or(0));
        TelemetryUpdate {
            driver_id: driver_id.to_string(),
            timestamp,
            speed: f(self.speed).map_or(0.0, speed_kmh),
            rpm: f(self.rpm).map_or(0.0, |r| finite(f64::from(r)).max(0.0)),
            gear: self.gear.map_or(0, |h| h.get(row)),
            throttle: f(self.throttle).map_or(0.0, pedal_pct),
            brake: f(self.brake).map_or(0.0, pedal_pct),
            steering_angle: f(self.steering).map_or(0.0, steering_deg),
            latitude: lat,
            longitude: lon,
            track_position: pct,
            lap: self.lap.map_or(0, |h| u32::try_from(h.get(row)).unwrap_or(0)),
            sector,
            fuel_level: f(self.fuel_pct).map_or(0.0, pedal_pct),
            tire_wear: TireWear {
                front_left: Wear::pct(&self.wear[0], row),
                front_right: Wear::pct(&self.wear[1], row),
                rear_left: Wear::pct(&self.wear[2], row),
                rear_right: Wear::pct(&self.wear[3], row),
            },
            position: self.position.map(|h| h.get(row)).filter(|&p| p > 0).map(|p| p as u32),
            lap_distance: f(self.lap_dist).map(|d| finite(f64::from(d)).max(0.0)),
            lap_time: f(self.lap_cur).map(|t| finite(f64::from(t))),
            session_time: self.session_time.map(|h| finite(h.get(row)).max(0.0)),
            yaw_rate: f(self.yaw_rate).map(|r| finite(f64::from(r)).to_degrees()),
            lateral_accel: f(self.lat_accel).map(|a| finite(f64::from(a))),
            longitudinal_accel: f(self.long_accel).map(|a| finite(f64::from(a))),
            fuel_liters: f(self.fuel_l).map(|l| finite(f64::from(l)).max(0.0)),
            on_pit_road: self.on_pit_road.map(|h| h.get(row)),
            sequence: None,
            sim_session_id: None,
            last_lap_time: f(self.lap_last).map(|t| finite(f64::from(t)).clamp(-1.0, 86_400.0)),
            on_track: self.on_track.map(|h| h.get(row)),
            in_garage: self.in_garage.map(|h| h.get(row)),
            replay_playing: self.replay_playing.map(|h| h.get(row)),
            off_track: self.player_surface.map(|h| h.get(row) == TrkLoc::OffTrack),
            session_laps_remaining: self.laps_remain.and_then(|h| laps_remaining(h.get(row))),
            session_time_remaining: self.time_remain.and_then(|h| time_remaining(h.get(row))),
            pit_service_flags: self.pit_sv_flags.map(|h| h.get(row)),
            pit_service_fuel_l: f(self.pit_sv_fuel).map(|l| finite(f64::from(l)).clamp(0.0, 1_000.0)),
            session_flags: self.session_flags.map(|h| h.get(row)),
        }
    }

    /// The `standings_update` data of one row: every car of the session's driver list that is
    /// in the world (pace car and spectators left out), ordered by position.
    pub fn standings_update(
        &self,
        row: &[u8],
        session: &SessionInfo,
        driver_id: &str,
        timestamp: Timestamp,
    ) -> StandingsUpdate {
        let at_i = |h: H<i32>, i: usize| h.and_then(|h| h.at(row, i));
        let at_f = |h: H<f32>, i: usize| h.and_then(|h| h.at(row, i)).map(f64::from).filter(|v| v.is_finite());
        let player_team = session.driver.player().and_then(|p| p.team_id);
        let est_lap = session.driver.driver_car_est_lap_time;
        struct Car {
            e: StandingsEntry,
            progress: f64,
            est: Option<f64>,
            f2: Option<f64>,
            lap_est: Option<f64>,
        }
        let mut cars: Vec<Car> = Vec::new();
        for d in &session.driver.drivers {
            if d.car_is_pace_car || d.is_spectator || d.car_idx < 0 || d.car_idx >= 64 {
                continue;
            }
            let i = d.car_idx as usize;
            let surface = self.car_surface.and_then(|h| h.at(row, i));
            if surface == Some(TrkLoc::NotInWorld) {
                continue;
            }
            let lap = at_i(self.car_lap, i).unwrap_or(0);
            let pct = at_f(self.car_pct, i).unwrap_or(0.0).clamp(0.0, 1.0);
            let time = |v: Option<f64>| v.filter(|t| *t > 0.0);
            cars.push(Car {
                e: StandingsEntry {
                    car_idx: i as u32,
                    car_number: d.car_number.clone().unwrap_or_default(),
                    driver_name: d.user_name.clone(),
                    team_name: d.team_name.clone(),
                    car_class: d.car_class_short_name.clone(),
                    position: at_i(self.car_position, i).map_or(0, |p| p.max(0) as u32),
                    class_position: at_i(self.car_class_position, i).map_or(0, |p| p.max(0) as u32),
                    lap: lap.max(-1),
                    track_position: pct,
                    last_lap_time: time(at_f(self.car_last, i)),
                    best_lap_time: time(at_f(self.car_best, i)),
                    gap_to_leader: None,
                    gap_to_ahead: None,
                    on_pit_road: self.car_pit.and_then(|h| h.at(row, i)).unwrap_or(false),
                    pit_stops: 0,
                    is_team_car: player_team.is_some() && d.team_id == player_team,
                },
                progress: f64::from(lap) + pct,
                est: at_f(self.car_est, i),
                f2: at_f(self.car_f2, i),
                lap_est: d.car_class_est_lap_time.or(est_lap).filter(|t| *t > 0.0),
            });
        }
        // Classified cars by position, the others by distance covered.
        cars.sort_by(|a, b| match (a.e.position, b.e.position) {
            (0, 0) => b.progress.total_cmp(&a.progress),
            (0, _) => std::cmp::Ordering::Greater,
            (_, 0) => std::cmp::Ordering::Less,
            (x, y) => x.cmp(&y),
        });
        if let Some(leader) = cars.first().map(|c| (c.progress, c.est, c.lap_est)) {
            let any_f2 = cars.iter().skip(1).any(|c| c.f2.is_some_and(|v| v > 0.0));
            for c in cars.iter_mut() {
                let gap = if any_f2 {
                    c.f2.map(|v| v.max(0.0))
                } else {
                    // Whole laps behind × lap time, plus the difference of estimated times to
                    // the cars' places on the lap.
                    let lap_t = c.lap_est.or(leader.2);
                    match (lap_t, c.est, leader.1) {
                        (Some(l), Some(ce), Some(le)) => {
                            let laps = (leader.0.floor() - c.progress.floor()).max(0.0);
                            Some((laps * l + le - ce).max(0.0))
                        }
                        (Some(l), _, _) => Some(((leader.0 - c.progress) * l).max(0.0)),
                        _ => None,
                    }
                };
                c.e.gap_to_leader = gap;
            }
            for k in 1..cars.len() {
                let ahead = cars[k - 1].e.gap_to_leader;
                let me = cars[k].e.gap_to_leader;
                cars[k].e.gap_to_ahead = me.zip(ahead).map(|(m, a)| (m - a).max(0.0));
            }
            if let Some(first) = cars.first_mut() {
                first.e.gap_to_leader = Some(0.0);
            }
        }
        StandingsUpdate {
            driver_id: driver_id.to_string(),
            timestamp,
            session_time: self.session_time.map_or(0.0, |h| finite(h.get(row)).max(0.0)),
            entries: cars.into_iter().map(|c| c.e).collect(),
            // The caller knows the session's key (pitbox-sources keeps it with the telemetry).
            sim_session_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_sessions_have_no_remaining_count() {
        assert_eq!(laps_remaining(12), Some(12));
        assert_eq!(laps_remaining(0), Some(0));
        assert_eq!(laps_remaining(32_767), None);
        assert_eq!(laps_remaining(-1), None);
        assert_eq!(time_remaining(1_234.5), Some(1_234.5));
        assert_eq!(time_remaining(604_800.0), None);
        assert_eq!(time_remaining(-1.0), None);
        assert_eq!(time_remaining(f64::NAN), None);
    }

    #[test]
    fn unit_conversions() {
        assert!((speed_kmh(10.0) - 36.0).abs() < 1e-9);
        assert_eq!(pedal_pct(0.5), 50.0);
        assert_eq!(pedal_pct(-5.96e-8), 0.0);
        assert_eq!(pedal_pct(1.000_000_1), 100.0);
        // Positive iRacing angle = wheel turned left = negative on the wire.
        assert!((steering_deg(std::f32::consts::FRAC_PI_2) + 90.0).abs() < 1e-4);
        assert_eq!(tire_wear_pct(1.0, 1.0, 1.0), 0.0);
        assert!((tire_wear_pct(0.9, 0.8, 0.7) - 20.0).abs() < 1e-4);
        assert_eq!(speed_kmh(f32::NAN), 0.0);
    }
}
