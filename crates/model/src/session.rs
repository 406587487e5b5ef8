//! What the sim says about the session: `session_info`, `standings_update` and `driver_status`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::team::MAX_NAME_LEN;
use crate::telemetry::limits::{MAX_LAP, MAX_POSITION};
use crate::validate::{Validate, Validator};
use crate::{DriverStatus, SessionType, Timestamp};

/// Most cars in one session (iRacing's CarIdx arrays hold 64).
pub const MAX_CARS: usize = 64;
/// Longest race, seconds of session time accepted (a week).
const MAX_SESSION_SECONDS: f64 = 7.0 * 86_400.0;
/// Longest lap time accepted, seconds (the Nordschleife 24 h layout in the rain is < 20 min).
const MAX_LAP_SECONDS: f64 = 3_600.0;

/// The circuit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrackInfo {
    /// The sim's track id, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Short internal name, e.g. `redbullring grandprix`.
    pub name: String,
    /// Name for people, e.g. `Red Bull Ring`.
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_name: Option<String>,
    /// Lap length, km.
    pub length_km: f64,
}

impl Validate for TrackInfo {
    fn validate_into(&self, v: &mut Validator) {
        v.text("name", &self.name, 1, MAX_NAME_LEN);
        v.text("displayName", &self.display_name, 1, MAX_NAME_LEN);
        if let Some(c) = &self.config_name {
            v.text("configName", c, 0, MAX_NAME_LEN);
        }
        v.range("lengthKm", self.length_km, 0.1, 100.0);
    }
}

/// One car in the session, as the sim lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDriver {
    /// The sim's car index (0–63).
    pub car_idx: u32,
    pub name: String,
    pub car_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_name: Option<String>,
    pub car_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub car_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub i_rating: Option<i32>,
}

impl Validate for SessionDriver {
    fn validate_into(&self, v: &mut Validator) {
        v.int_range("carIdx", i64::from(self.car_idx), 0, MAX_CARS as i64 - 1);
        v.text("name", &self.name, 1, MAX_NAME_LEN);
        v.text("carNumber", &self.car_number, 0, 8);
        if let Some(t) = &self.team_name {
            v.text("teamName", t, 0, MAX_NAME_LEN);
        }
        v.text("carName", &self.car_name, 0, MAX_NAME_LEN);
        if let Some(c) = &self.car_class {
            v.text("carClass", c, 0, MAX_NAME_LEN);
        }
    }
}

/// Data of `session_info`: sent by a driver agent when the session starts or changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub driver_id: String,
    /// Stable id of this session (the sim's session id, or one the agent made).
    pub session_id: String,
    pub timestamp: Timestamp,
    pub track: TrackInfo,
    /// The driver's car, e.g. `Mercedes-AMG GT4`.
    pub car_name: String,
    pub session_type: SessionType,
    /// Scheduled laps (`null` for timed sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_laps: Option<u32>,
    /// Scheduled length, seconds (`null` for lap-limited sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<f64>,
    /// Sector start points as fractions of the lap (first is 0).
    pub sectors: Vec<f64>,
    /// Car index of the driver's own car.
    pub player_car_idx: u32,
    pub drivers: Vec<SessionDriver>,
    /// The sim's key of the session ([`SimSessionKey::sim_session_id`]): the cloud describes
    /// that session and no other. Absent from older agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_session_id: Option<String>,
    /// iRacing's own `SessionType` text ("Open Qualify", "Offline Testing" …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_session_type: Option<String>,
    /// The driver's car number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub car_number: Option<String>,
}

impl Validate for SessionInfo {
    fn validate_into(&self, v: &mut Validator) {
        v.id("driverId", &self.driver_id);
        v.id("sessionId", &self.session_id);
        v.nested("track", &self.track);
        v.text("carName", &self.car_name, 1, MAX_NAME_LEN);
        v.range_opt("sessionDuration", self.session_duration, 0.0, MAX_SESSION_SECONDS);
        v.count("sectors", self.sectors.len(), 1, 64);
        for s in &self.sectors {
            v.range("sectors", *s, 0.0, 1.0);
        }
        if self.sectors.windows(2).any(|w| w[1] <= w[0]) {
            v.fail("sectors", "sector starts must increase");
        }
        v.int_range("playerCarIdx", i64::from(self.player_car_idx), 0, MAX_CARS as i64 - 1);
        v.list("drivers", &self.drivers, 0, MAX_CARS);
        v.id_opt("simSessionId", self.sim_session_id.as_deref());
        if let Some(t) = &self.sim_session_type {
            v.text("simSessionType", t, 0, MAX_NAME_LEN);
        }
        if let Some(n) = &self.car_number {
            v.text("carNumber", n, 0, 8);
        }
    }
}

/// One car's line in the standings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StandingsEntry {
    pub car_idx: u32,
    pub car_number: String,
    pub driver_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub car_class: Option<String>,
    /// Overall position, 1 = leader; 0 = not classified yet.
    pub position: u32,
    pub class_position: u32,
    /// Laps started (the sim's lap counter).
    pub lap: i32,
    /// 0–1 around the current lap.
    pub track_position: f64,
    /// Seconds; `null` when no lap has been timed.
    pub last_lap_time: Option<f64>,
    pub best_lap_time: Option<f64>,
    /// Seconds behind the leader (estimated from track position where the sim gives no gap).
    pub gap_to_leader: Option<f64>,
    /// Seconds behind the car one position ahead.
    pub gap_to_ahead: Option<f64>,
    pub on_pit_road: bool,
    #[serde(default)]
    pub pit_stops: u32,
    /// Whether this car belongs to the reporting driver's team.
    #[serde(default)]
    pub is_team_car: bool,
}

impl Validate for StandingsEntry {
    fn validate_into(&self, v: &mut Validator) {
        v.int_range("carIdx", i64::from(self.car_idx), 0, MAX_CARS as i64 - 1);
        v.text("carNumber", &self.car_number, 0, 8);
        v.text("driverName", &self.driver_name, 0, MAX_NAME_LEN);
        v.int_range("position", i64::from(self.position), 0, MAX_POSITION);
        v.int_range("classPosition", i64::from(self.class_position), 0, MAX_POSITION);
        v.int_range("lap", i64::from(self.lap), -1, MAX_LAP);
        v.range("trackPosition", self.track_position, 0.0, 1.0);
        v.range_opt("lastLapTime", self.last_lap_time, 0.0, MAX_LAP_SECONDS);
        v.range_opt("bestLapTime", self.best_lap_time, 0.0, MAX_LAP_SECONDS);
        v.range_opt("gapToLeader", self.gap_to_leader, 0.0, MAX_SESSION_SECONDS);
        v.range_opt("gapToAhead", self.gap_to_ahead, 0.0, MAX_SESSION_SECONDS);
    }
}

/// Data of `standings_update`: every car, sent by a driver agent at about 2 Hz.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StandingsUpdate {
    pub driver_id: String,
    pub timestamp: Timestamp,
    /// Session clock, seconds.
    pub session_time: f64,
    pub entries: Vec<StandingsEntry>,
    /// The sim session these standings are of ([`SimSessionKey::sim_session_id`]): the cloud
    /// stores them with that session's event, never another's. Absent from older agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_session_id: Option<String>,
}

impl Validate for StandingsUpdate {
    fn validate_into(&self, v: &mut Validator) {
        v.id("driverId", &self.driver_id);
        v.range("sessionTime", self.session_time, 0.0, MAX_SESSION_SECONDS);
        v.list("entries", &self.entries, 0, MAX_CARS);
        v.id_opt("simSessionId", self.sim_session_id.as_deref());
    }
}

/// Data of `driver_status`: a driver's availability and connection (sent by the driver agent,
/// and by servers when a driver connects or drops).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriverStatusUpdate {
    pub driver_id: String,
    pub status: DriverStatus,
    pub telemetry_connected: bool,
    /// Whether this driver is the one in the car now.
    pub in_car: bool,
    pub last_active: Timestamp,
}

impl Validate for DriverStatusUpdate {
    fn validate_into(&self, v: &mut Validator) {
        v.id("driverId", &self.driver_id);
    }
}

/// The sim's identity of one session (issue 20): iRacing's `WeekendInfo.SessionID`,
/// `SubSessionID` and the `SessionNum` inside it. Offline sessions (test drives, AI races) have
/// SessionID and SubSessionID 0, so their key adds when the session started (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimSessionKey {
    pub session_id: i64,
    pub sub_session_id: i64,
    pub session_num: i32,
    /// Unix seconds the offline session started; `None` for hosted sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_start: Option<i64>,
}

impl SimSessionKey {
    /// Whether iRacing's servers numbered the session (else it is an offline one).
    pub fn is_hosted(&self) -> bool {
        self.sub_session_id > 0 || self.session_id > 0
    }

    /// The event: the subsession every driver of the team shares
    /// (`iracing:<SessionID>:<SubSessionID>`, or `iracing-offline:<start>` offline).
    pub fn event_id(&self) -> String {
        if self.is_hosted() {
            format!("iracing:{}:{}", self.session_id, self.sub_session_id)
        } else {
            format!("iracing-offline:{}", self.offline_start.unwrap_or(0))
        }
    }

    /// The session's `simSessionId`: the event and the `SessionNum`
    /// (`iracing:292615200:81394102:0`).
    pub fn sim_session_id(&self) -> String {
        format!("{}:{}", self.event_id(), self.session_num)
    }

    /// The key back from its [`SimSessionKey::sim_session_id`]; `None` when it is not one.
    pub fn parse(sim_session_id: &str) -> Option<SimSessionKey> {
        let parts: Vec<&str> = sim_session_id.split(':').collect();
        match parts.as_slice() {
            ["iracing", sid, sub, num] => Some(SimSessionKey {
                session_id: sid.parse().ok()?,
                sub_session_id: sub.parse().ok()?,
                session_num: num.parse().ok()?,
                offline_start: None,
            }),
            ["iracing-offline", start, num] => Some(SimSessionKey {
                session_id: 0,
                sub_session_id: 0,
                session_num: num.parse().ok()?,
                offline_start: Some(start.parse().ok()?),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SimSessionKey;

    #[test]
    fn sim_session_ids_parse_back() {
        let k =
            SimSessionKey { session_id: 292_615_200, sub_session_id: 81_394_102, session_num: 2, offline_start: None };
        assert_eq!(SimSessionKey::parse(&k.sim_session_id()), Some(k));
        let k = SimSessionKey { session_id: 0, sub_session_id: 0, session_num: 0, offline_start: Some(1_738_256_969) };
        assert_eq!(SimSessionKey::parse(&k.sim_session_id()), Some(k));
        assert_eq!(SimSessionKey::parse("iracing:1:2"), None);
        assert_eq!(SimSessionKey::parse("iracing:x:2:3"), None);
    }
}
