//! The engine's input: one telemetry sample in SI units, whatever the source.
//!
//! Conversions exist from the wire model (`telemetry_update`, the spec's `TelemetrySnapshot`)
//! and, in [`crate::ibt`], from iRacing `.ibt` files. Units here: seconds, metres, m/s, 0–1 pedals,
//! degrees of steering (negative = left, as the spec), rad/s, m/s².

use pitbox_model::coaching::AnalyzeSample;
use pitbox_model::telemetry::{TelemetrySnapshot, TelemetryUpdate};
use serde::{Deserialize, Serialize};

/// One sample of one car.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds on a clock that only moves forward within a stream (session time).
    pub time: f64,
    /// The sim's lap counter (iRacing's carries on across stints).
    pub lap: i32,
    /// 0–1 around the lap from the start/finish line (iRacing writes slightly negative values
    /// just before the line after the counter has moved on).
    pub lap_pct: f64,
    /// Metres from the start/finish line, when the source has it.
    pub lap_dist: Option<f64>,
    /// m/s.
    pub speed: f64,
    /// 0–1.
    pub throttle: f64,
    /// 0–1.
    pub brake: f64,
    /// Steering wheel angle, degrees, negative = left.
    pub steering_deg: f64,
    /// -1 reverse, 0 neutral, 1+ forward.
    pub gear: i32,
    pub rpm: f64,
    /// rad/s, positive = turning left.
    pub yaw_rate: Option<f64>,
    /// m/s², positive = to the left.
    pub lat_accel: Option<f64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub on_pit_road: bool,
    /// Whether the car is off the track surface, when the source says.
    pub off_track: Option<bool>,
    /// Fuel in the tank, litres.
    pub fuel_l: Option<f64>,
    /// Fuel, percent of tank.
    pub fuel_pct: Option<f64>,
    /// Tyre wear, percent worn (FL, FR, RL, RR), when known.
    pub tyre_wear: Option<[f64; 4]>,
    /// A row without data (iRacing writes one at file start and at a reset to the pits).
    pub blank: bool,
    /// iRacing's `LapLastLapTime`, seconds (-1 = not timed), when the source has it.
    #[serde(default)]
    pub last_lap_time: Option<f64>,
}

const KMH: f64 = 3.6;

impl Sample {
    /// Converts a `telemetry_update`. `time` is the stream clock in seconds: use
    /// [`samples_from_updates`] to pick it consistently for a whole stream.
    pub fn from_update(u: &TelemetryUpdate, time: f64) -> Sample {
        let w = u.tire_wear;
        Sample {
            time,
            lap: i32::try_from(u.lap).unwrap_or(i32::MAX),
            lap_pct: u.track_position,
            lap_dist: u.lap_distance,
            speed: u.speed / KMH,
            throttle: u.throttle / 100.0,
            brake: u.brake / 100.0,
            steering_deg: u.steering_angle,
            gear: u.gear,
            rpm: u.rpm,
            yaw_rate: u.yaw_rate.map(f64::to_radians),
            lat_accel: u.lateral_accel,
            latitude: u.latitude,
            longitude: u.longitude,
            on_pit_road: u.on_pit_road.unwrap_or(false),
            off_track: u.off_track,
            fuel_l: u.fuel_liters,
            fuel_pct: Some(u.fuel_level),
            tyre_wear: Some([w.front_left, w.front_right, w.rear_left, w.rear_right]),
            blank: u.lap == 0 && u.track_position == 0.0 && u.speed == 0.0 && u.rpm <= 300.0,
            last_lap_time: u.last_lap_time,
        }
    }

    /// Converts one of the spec's snapshots; `time` is seconds since the first snapshot.
    pub fn from_snapshot(s: &TelemetrySnapshot, time: f64) -> Sample {
        let w = s.tire_wear;
        Sample {
            time,
            lap: i32::try_from(s.lap).unwrap_or(i32::MAX),
            lap_pct: s.track_position,
            lap_dist: None,
            speed: s.speed / KMH,
            throttle: s.throttle / 100.0,
            brake: s.brake / 100.0,
            steering_deg: s.steering_angle,
            gear: s.gear,
            rpm: s.rpm,
            yaw_rate: None,
            lat_accel: None,
            latitude: s.latitude,
            longitude: s.longitude,
            on_pit_road: false,
            off_track: None,
            fuel_l: None,
            fuel_pct: Some(s.fuel_level),
            tyre_wear: Some([w.front_left, w.front_right, w.rear_left, w.rear_right]),
            blank: s.lap == 0 && s.track_position == 0.0 && s.speed == 0.0 && s.rpm <= 300.0,
            last_lap_time: None,
        }
    }

    /// Fuel in the best unit the sample has: litres when known, else percent of tank.
    pub fn fuel(&self) -> Option<f64> {
        self.fuel_l.or(self.fuel_pct)
    }
}

/// Converts a stream of `telemetry_update`s: the clock is `sessionTime` when every update has
/// it, else the timestamps (seconds since the first update).
pub fn samples_from_updates(updates: &[TelemetryUpdate]) -> Vec<Sample> {
    let all_session = !updates.is_empty() && updates.iter().all(|u| u.session_time.is_some());
    let t0 = updates.first().map(|u| u.timestamp);
    updates
        .iter()
        .map(|u| {
            let time = match (all_session, u.session_time, t0) {
                (true, Some(t), _) => t,
                (_, _, Some(t0)) => (u.timestamp - t0).num_microseconds().unwrap_or(i64::MAX) as f64 * 1e-6,
                _ => 0.0,
            };
            Sample::from_update(u, time)
        })
        .collect()
}

/// Converts an analyze request's samples: the snapshot, and the optional channels where given.
pub fn samples_from_analyze(items: &[AnalyzeSample]) -> Vec<Sample> {
    let Some(t0) = items.first().map(|s| s.timestamp) else { return Vec::new() };
    items
        .iter()
        .map(|s| {
            let time = (s.timestamp - t0).num_microseconds().unwrap_or(i64::MAX) as f64 * 1e-6;
            let mut x = Sample::from_snapshot(&s.snapshot(), time);
            x.lap_dist = s.lap_distance;
            x.on_pit_road = s.on_pit_road.unwrap_or(false);
            x.last_lap_time = s.last_lap_time;
            x.fuel_l = s.fuel_liters;
            x.yaw_rate = s.yaw_rate.map(f64::to_radians);
            x.lat_accel = s.lateral_accel;
            x.off_track = s.off_track;
            x
        })
        .collect()
}
