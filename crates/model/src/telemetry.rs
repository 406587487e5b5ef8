//! Telemetry samples: the spec's `TelemetrySnapshot`, the `telemetry_update` message and the
//! driver agent's local `GET /api/telemetry/current` body.
//!
//! Units on the wire (spec): speed km/h, throttle/brake 0–100, steering degrees (negative =
//! left), trackPosition 0–1, fuel % of tank, tyre wear % worn (0 = new).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::validate::{Validate, Validator};

/// Tyre wear per corner, percent worn (0 = new tyre, 100 = no tread left).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TireWear {
    pub front_left: f64,
    pub front_right: f64,
    pub rear_left: f64,
    pub rear_right: f64,
}

impl Validate for TireWear {
    fn validate_into(&self, v: &mut Validator) {
        v.range("frontLeft", self.front_left, 0.0, 100.0);
        v.range("frontRight", self.front_right, 0.0, 100.0);
        v.range("rearLeft", self.rear_left, 0.0, 100.0);
        v.range("rearRight", self.rear_right, 0.0, 100.0);
    }
}

/// Plausibility limits shared by every telemetry shape.
pub mod limits {
    /// Fastest speed accepted, km/h (no circuit car reaches it).
    pub const MAX_SPEED_KMH: f64 = 600.0;
    /// Highest engine speed accepted.
    pub const MAX_RPM: f64 = 30_000.0;
    /// Highest forward gear accepted.
    pub const MAX_GEAR: i64 = 12;
    /// Steering wheel angle limit either way, degrees (the widest wheels lock at ±1080°).
    pub const MAX_STEERING_DEG: f64 = 1_800.0;
    /// Highest lap number accepted (iRacing's counter carries on across stints).
    pub const MAX_LAP: i64 = 100_000;
    /// Highest sector number.
    pub const MAX_SECTOR: i64 = 64;
    /// Highest race position (iRacing allows 64 cars).
    pub const MAX_POSITION: i64 = 256;
}

/// Checks the channels that every telemetry shape shares. A macro rather than a trait so that the
/// structs keep plain fields (fast serde, exact spec JSON).
macro_rules! check_core_channels {
    ($v:expr, $s:expr) => {{
        use $crate::telemetry::limits::*;
        let v: &mut Validator = $v;
        v.range("speed", $s.speed, 0.0, MAX_SPEED_KMH);
        v.range("rpm", $s.rpm, 0.0, MAX_RPM);
        v.int_range("gear", i64::from($s.gear), -1, MAX_GEAR);
        v.range("throttle", $s.throttle, 0.0, 100.0);
        v.range("brake", $s.brake, 0.0, 100.0);
        v.range("steeringAngle", $s.steering_angle, -MAX_STEERING_DEG, MAX_STEERING_DEG);
        v.int_range("lap", i64::from($s.lap), 0, MAX_LAP);
        v.range("fuelLevel", $s.fuel_level, 0.0, 100.0);
        v.nested("tireWear", &$s.tire_wear);
    }};
}

/// Checks the GPS and lap-position channels of the spec's snapshot shape.
macro_rules! check_position_channels {
    ($v:expr, $s:expr) => {{
        use $crate::telemetry::limits::*;
        let v: &mut Validator = $v;
        v.range_opt("latitude", $s.latitude, -90.0, 90.0);
        v.range_opt("longitude", $s.longitude, -180.0, 180.0);
        v.range("trackPosition", $s.track_position, 0.0, 1.0);
        v.int_range("sector", i64::from($s.sector), 0, MAX_SECTOR);
    }};
}

/// The spec's `TelemetrySnapshot`: one sample of one car.
///
/// `latitude`/`longitude` are `null` when the source has no position fix (iRacing only records
/// them in `.ibt` files, not in live memory). `sector` is 1-based; 0 means not known yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelemetrySnapshot {
    pub timestamp: Timestamp,
    /// km/h.
    pub speed: f64,
    pub rpm: f64,
    /// -1 = reverse, 0 = neutral, 1+ = forward gears.
    pub gear: i32,
    /// 0–100 %.
    pub throttle: f64,
    /// 0–100 %.
    pub brake: f64,
    /// Steering wheel angle, degrees, negative = left.
    pub steering_angle: f64,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// 0–1 around the lap from the start/finish line.
    pub track_position: f64,
    pub lap: u32,
    pub sector: u32,
    /// Percent of tank capacity.
    pub fuel_level: f64,
    pub tire_wear: TireWear,
}

impl Validate for TelemetrySnapshot {
    fn validate_into(&self, v: &mut Validator) {
        check_core_channels!(v, self);
        check_position_channels!(v, self);
    }
}

/// Data of the `telemetry_update` message: the spec's fields plus optional, additive channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelemetryUpdate {
    pub driver_id: String,
    pub timestamp: Timestamp,
    pub speed: f64,
    pub rpm: f64,
    pub gear: i32,
    pub throttle: f64,
    pub brake: f64,
    pub steering_angle: f64,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub track_position: f64,
    pub lap: u32,
    pub sector: u32,
    pub fuel_level: f64,
    pub tire_wear: TireWear,
    /// Race position (1 = leader), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    /// Distance from the start/finish line along the lap, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lap_distance: Option<f64>,
    /// Time into the current lap, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lap_time: Option<f64>,
    /// Session clock, seconds since the session started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_time: Option<f64>,
    /// Yaw rate, degrees per second (positive = turning left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yaw_rate: Option<f64>,
    /// Lateral acceleration, m/s² (positive = to the left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lateral_accel: Option<f64>,
    /// Longitudinal acceleration, m/s² (positive = accelerating).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitudinal_accel: Option<f64>,
    /// Fuel in the tank, litres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_liters: Option<f64>,
    /// Whether the car is on pit road.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_pit_road: Option<bool>,
    /// Identifies the sample among all of its driver's samples, across agent restarts: the agent
    /// numbers by time (microseconds since the Unix epoch, strictly increasing), and the relay
    /// drops a sample at or below the highest it took (docs/protocol.md, "Sample identity").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// The sim session this sample belongs to ([`crate::session::SimSessionKey::sim_session_id`]):
    /// the cloud stores it in that session, never in another one. Absent from older agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_session_id: Option<String>,
    /// iRacing's `LapLastLapTime`, seconds (-1 = the last lap was not timed): lets the cloud
    /// time laps as the sim did. Absent from older agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_lap_time: Option<f64>,
    /// iRacing's `IsOnTrack`: the player is in the car with its physics running. `false` means
    /// the values describe no car being driven (in the garage, spectating, a replay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_track: Option<bool>,
    /// iRacing's `IsInGarage`: the player sits in the garage screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_garage: Option<bool>,
    /// iRacing's `IsReplayPlaying`: the sim shows a replay, so the values are not live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_playing: Option<bool>,
    /// The player's car is off the track surface (iRacing's `PlayerTrackSurface` is
    /// `OffTrack`): a lap with an excursion is not a valid lap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_track: Option<bool>,
    /// iRacing's `SessionLapsRemainEx`: laps left in the session for the leader; absent when the
    /// session is not limited by laps. The live stint plan counts the race's remaining laps from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_laps_remaining: Option<u32>,
    /// iRacing's `SessionTimeRemain`, seconds left on the session clock; absent when the session
    /// is not timed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_time_remaining: Option<f64>,
    /// iRacing's `PitSvFlags`: what the car's next stop is set to do (0x01 LF, 0x02 RF, 0x04 LR,
    /// 0x08 RR tyre, 0x10 fuel, 0x20 windscreen tear-off, 0x40 fast repair) — the sim's answer
    /// to a `pit_command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pit_service_flags: Option<u32>,
    /// iRacing's `PitSvFuel`: litres the next stop adds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pit_service_fuel_l: Option<f64>,
    /// iRacing's `SessionFlags` (`irsdk_Flags`): green, yellow, caution, red, checkered … The live
    /// plan leaves laps under a full-course caution out of the fuel use ([`TelemetryUpdate::full_course_caution`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_flags: Option<u32>,
}

/// `SessionFlags` bits of a full-course caution or a red flag (`irsdk_caution`,
/// `irsdk_cautionWaving`, `irsdk_red`): the field is slowed, laps are not racing laps.
pub const FULL_COURSE_CAUTION_FLAGS: u32 = 0x4000 | 0x8000 | 0x0010;

/// `SessionFlags` bits of any caution: the full-course ones and a local yellow (`irsdk_yellow`,
/// `irsdk_yellowWaving`).
pub const ANY_CAUTION_FLAGS: u32 = FULL_COURSE_CAUTION_FLAGS | 0x0008 | 0x0100;

impl Validate for TelemetryUpdate {
    fn validate_into(&self, v: &mut Validator) {
        v.id("driverId", &self.driver_id);
        check_core_channels!(v, self);
        check_position_channels!(v, self);
        if let Some(p) = self.position {
            v.int_range("position", i64::from(p), 0, limits::MAX_POSITION);
        }
        v.range_opt("lapDistance", self.lap_distance, 0.0, 100_000.0);
        v.range_opt("lapTime", self.lap_time, -1.0, 86_400.0);
        v.range_opt("sessionTime", self.session_time, 0.0, 7.0 * 86_400.0);
        v.range_opt("yawRate", self.yaw_rate, -3_600.0, 3_600.0);
        v.range_opt("lateralAccel", self.lateral_accel, -200.0, 200.0);
        v.range_opt("longitudinalAccel", self.longitudinal_accel, -200.0, 200.0);
        v.range_opt("fuelLiters", self.fuel_liters, 0.0, 1_000.0);
        v.range_opt("lastLapTime", self.last_lap_time, -1.0, 86_400.0);
        if let Some(l) = self.session_laps_remaining {
            v.int_range("sessionLapsRemaining", i64::from(l), 0, 100_000);
        }
        v.range_opt("sessionTimeRemaining", self.session_time_remaining, 0.0, 7.0 * 86_400.0);
        // `pitServiceFlags` is iRacing's bit field: every u32 is a value the sim can write.
        v.range_opt("pitServiceFuelL", self.pit_service_fuel_l, 0.0, 1_000.0);
        if let Some(k) = &self.sim_session_id {
            v.id("simSessionId", k);
        }
    }
}

/// Why a sample does not describe the player driving the car live (see
/// [`TelemetryUpdate::not_driving`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum NotDriving {
    /// `IsReplayPlaying`: the values are a replay's.
    ReplayPlaying,
    /// `IsInGarage`: the player is in the garage screen.
    InGarage,
    /// `IsOnTrack` is false: nobody is in the car.
    NotInCar,
}

impl NotDriving {
    /// Plain words for logs and status pages.
    pub fn describe(self) -> &'static str {
        match self {
            NotDriving::ReplayPlaying => "a replay is playing",
            NotDriving::InGarage => "the player is in the garage",
            NotDriving::NotInCar => "the player is not in the car",
        }
    }
}

impl TelemetryUpdate {
    /// A full-course caution or a red flag is out (`false` when the source does not say).
    pub fn full_course_caution(&self) -> bool {
        self.session_flags.is_some_and(|f| f & FULL_COURSE_CAUTION_FLAGS != 0)
    }

    /// `Some(why)` when the sim says this sample is not the player driving live (a replay, the
    /// garage, out of the car); `None` when it is, or when the source does not say (older agents,
    /// files: iRacing logs `.ibt` files only while the player is in the car).
    pub fn not_driving(&self) -> Option<NotDriving> {
        if self.replay_playing == Some(true) {
            Some(NotDriving::ReplayPlaying)
        } else if self.in_garage == Some(true) {
            Some(NotDriving::InGarage)
        } else if self.on_track == Some(false) {
            Some(NotDriving::NotInCar)
        } else {
            None
        }
    }

    /// The spec's snapshot shape of this sample (for handoff requests and storage).
    pub fn snapshot(&self) -> TelemetrySnapshot {
        TelemetrySnapshot {
            timestamp: self.timestamp,
            speed: self.speed,
            rpm: self.rpm,
            gear: self.gear,
            throttle: self.throttle,
            brake: self.brake,
            steering_angle: self.steering_angle,
            latitude: self.latitude,
            longitude: self.longitude,
            track_position: self.track_position,
            lap: self.lap,
            sector: self.sector,
            fuel_level: self.fuel_level,
            tire_wear: self.tire_wear,
        }
    }

    /// The driver agent's local `GET /api/telemetry/current` body for this sample.
    pub fn current(&self) -> CurrentTelemetry {
        CurrentTelemetry {
            speed: self.speed,
            rpm: self.rpm,
            gear: self.gear,
            throttle: self.throttle,
            brake: self.brake,
            steering_angle: self.steering_angle,
            lap: self.lap,
            position: self.position.unwrap_or(0),
            fuel_level: self.fuel_level,
            tire_wear: self.tire_wear,
        }
    }
}

/// Body of the driver agent's `GET /api/telemetry/current` (spec "Local Telemetry API").
/// `position` is 0 while the sim has not ranked the car.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CurrentTelemetry {
    pub speed: f64,
    pub rpm: f64,
    pub gear: i32,
    pub throttle: f64,
    pub brake: f64,
    pub steering_angle: f64,
    pub lap: u32,
    pub position: u32,
    pub fuel_level: f64,
    pub tire_wear: TireWear,
}

impl Validate for CurrentTelemetry {
    fn validate_into(&self, v: &mut Validator) {
        check_core_channels!(v, self);
        v.int_range("position", i64::from(self.position), 0, limits::MAX_POSITION);
    }
}
