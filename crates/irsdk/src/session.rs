//! Typed session info: what PitBox needs from the session-info text, plus the raw tree.
//!
//! Every typed field is optional or defaulted: a missing or malformed entry never fails the
//! whole parse (iRacing adds and drops keys between builds). Only text whose structure cannot be
//! read at all is an error.

use crate::error::Result;
use crate::yaml::{self, Node};
use serde::Serialize;

/// The parsed session info.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub weekend: WeekendInfo,
    pub driver: DriverInfo,
    pub sessions: Vec<Session>,
    pub current_session_num: Option<i32>,
    pub sectors: Vec<Sector>,
    /// The whole tree, for everything else (`raw.path("CarSetup.TiresAero")`).
    #[serde(skip)]
    pub raw: Node,
}

/// `WeekendInfo`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WeekendInfo {
    pub track_name: Option<String>,
    pub track_display_name: Option<String>,
    pub track_display_short_name: Option<String>,
    /// `None` when empty (tracks without configurations).
    pub track_config_name: Option<String>,
    pub track_id: Option<i64>,
    /// The text as written, e.g. `4.28 km`.
    pub track_length: Option<String>,
    /// Track length in kilometres, parsed from `TrackLength` (`km` or `mi`).
    pub track_length_km: Option<f64>,
    pub track_city: Option<String>,
    pub track_country: Option<String>,
    pub event_type: Option<String>,
    pub category: Option<String>,
    pub sim_mode: Option<String>,
    pub build_version: Option<String>,
    pub team_racing: Option<bool>,
    pub session_id: Option<i64>,
    pub sub_session_id: Option<i64>,
}

impl WeekendInfo {
    /// Track length in metres.
    pub fn track_length_m(&self) -> Option<f64> {
        self.track_length_km.map(|k| k * 1000.0)
    }
}

/// `DriverInfo`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriverInfo {
    /// The player's car index (`DriverCarIdx`).
    pub driver_car_idx: Option<i32>,
    pub pace_car_idx: Option<i32>,
    pub driver_car_fuel_max_ltr: Option<f64>,
    pub driver_car_red_line: Option<f64>,
    pub driver_car_est_lap_time: Option<f64>,
    pub drivers: Vec<Driver>,
}

impl DriverInfo {
    /// The entry with `CarIdx == idx`.
    pub fn by_car_idx(&self, idx: i32) -> Option<&Driver> {
        self.drivers.iter().find(|d| d.car_idx == idx)
    }

    /// The player's entry.
    pub fn player(&self) -> Option<&Driver> {
        self.driver_car_idx.and_then(|i| self.by_car_idx(i))
    }
}

/// One entry of `DriverInfo.Drivers`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Driver {
    pub car_idx: i32,
    pub user_name: String,
    pub abbrev_name: Option<String>,
    pub user_id: Option<i64>,
    pub team_id: Option<i64>,
    pub team_name: Option<String>,
    /// As displayed (a string: `"007"` differs from `"7"`).
    pub car_number: Option<String>,
    pub car_number_raw: Option<i64>,
    pub car_path: Option<String>,
    pub car_id: Option<i64>,
    pub car_screen_name: Option<String>,
    pub car_screen_name_short: Option<String>,
    pub car_class_id: Option<i64>,
    pub car_class_short_name: Option<String>,
    pub car_class_est_lap_time: Option<f64>,
    pub irating: Option<i64>,
    pub lic_string: Option<String>,
    pub car_is_pace_car: bool,
    pub car_is_ai: bool,
    pub is_spectator: bool,
}

/// A session's lap limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SessionLaps {
    Unlimited,
    Laps(i64),
}

/// A session's time limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SessionTimeLimit {
    Unlimited,
    Seconds(f64),
}

/// One entry of `SessionInfo.Sessions`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub session_num: i32,
    /// E.g. `Practice`, `Race`, `Offline Testing`, `Lone Qualify`.
    pub session_type: Option<String>,
    pub session_name: Option<String>,
    pub session_laps: Option<SessionLaps>,
    pub session_time: Option<SessionTimeLimit>,
}

/// One entry of `SplitTimeInfo.Sectors`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sector {
    pub sector_num: i32,
    /// Where the sector starts, as a fraction of the lap (0–1, like LapDistPct).
    pub sector_start_pct: f64,
}

fn text(n: &Node, key: &str) -> Option<String> {
    n.get(key).and_then(Node::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Leading number of a value such as `5.7938 km`, `10800.0000 sec`, `1.000 %`.
fn leading_f64(s: &str) -> Option<f64> {
    let s = s.trim();
    let end = s.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))).unwrap_or(s.len());
    s[..end].parse().ok().filter(|v: &f64| v.is_finite())
}

fn float(n: &Node, key: &str) -> Option<f64> {
    n.get(key).and_then(Node::as_str).and_then(leading_f64)
}

fn int(n: &Node, key: &str) -> Option<i64> {
    let s = n.get(key).and_then(Node::as_str)?.trim();
    s.parse().ok().or_else(|| {
        let v = leading_f64(s)?;
        (v.fract() == 0.0 && v.abs() < 9e15).then_some(v as i64)
    })
}

fn int32(n: &Node, key: &str) -> Option<i32> {
    int(n, key).and_then(|v| i32::try_from(v).ok())
}

fn flag(n: &Node, key: &str) -> bool {
    int(n, key).is_some_and(|v| v != 0)
}

/// Parses a track length such as `4.28 km`, `2.50 mi` or `5793.8 m` to kilometres.
pub fn parse_length_km(s: &str) -> Option<f64> {
    let v = leading_f64(s)?;
    let unit = s.trim().trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    match unit.trim() {
        "km" | "" => Some(v),
        "mi" => Some(v * 1.609_344),
        "m" => Some(v / 1000.0),
        _ => None,
    }
}

impl SessionInfo {
    /// The sim's key of session `session_num` (the `SessionNum` variable); `offline_start` is
    /// when an offline session started (Unix seconds), used only when the IDs are 0.
    pub fn sim_session_key(
        &self,
        session_num: i32,
        offline_start: Option<i64>,
    ) -> pitbox_model::session::SimSessionKey {
        let mut key = pitbox_model::session::SimSessionKey {
            session_id: self.weekend.session_id.unwrap_or(0),
            sub_session_id: self.weekend.sub_session_id.unwrap_or(0),
            session_num,
            offline_start: None,
        };
        if !key.is_hosted() {
            key.offline_start = Some(offline_start.unwrap_or(0));
        }
        key
    }

    /// iRacing's own `SessionType` of session `session_num` ("Practice", "Offline Testing" …).
    pub fn session_type_of(&self, session_num: i32) -> Option<&str> {
        self.sessions.iter().find(|s| s.session_num == session_num).and_then(|s| s.session_type.as_deref())
    }

    /// Parses session-info text.
    pub fn parse(text: &str) -> Result<SessionInfo> {
        Ok(SessionInfo::from_tree(yaml::parse(text)?))
    }

    /// Builds the typed view of a parsed tree.
    pub fn from_tree(raw: Node) -> SessionInfo {
        let w = raw.get("WeekendInfo").cloned().unwrap_or(Node::Null);
        let track_length = text(&w, "TrackLength");
        let weekend = WeekendInfo {
            track_name: text(&w, "TrackName"),
            track_display_name: text(&w, "TrackDisplayName"),
            track_display_short_name: text(&w, "TrackDisplayShortName"),
            track_config_name: text(&w, "TrackConfigName"),
            track_id: int(&w, "TrackID"),
            track_length_km: track_length.as_deref().and_then(parse_length_km),
            track_length,
            track_city: text(&w, "TrackCity"),
            track_country: text(&w, "TrackCountry"),
            event_type: text(&w, "EventType"),
            category: text(&w, "Category"),
            sim_mode: text(&w, "SimMode"),
            build_version: text(&w, "BuildVersion"),
            team_racing: int(&w, "TeamRacing").map(|v| v != 0),
            session_id: int(&w, "SessionID"),
            sub_session_id: int(&w, "SubSessionID"),
        };
        let d = raw.get("DriverInfo").cloned().unwrap_or(Node::Null);
        let drivers = d
            .get("Drivers")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                Some(Driver {
                    car_idx: int32(e, "CarIdx")?,
                    user_name: text(e, "UserName").unwrap_or_default(),
                    abbrev_name: text(e, "AbbrevName"),
                    user_id: int(e, "UserID"),
                    team_id: int(e, "TeamID"),
                    team_name: text(e, "TeamName"),
                    car_number: text(e, "CarNumber"),
                    car_number_raw: int(e, "CarNumberRaw"),
                    car_path: text(e, "CarPath"),
                    car_id: int(e, "CarID"),
                    car_screen_name: text(e, "CarScreenName"),
                    car_screen_name_short: text(e, "CarScreenNameShort"),
                    car_class_id: int(e, "CarClassID"),
                    car_class_short_name: text(e, "CarClassShortName"),
                    car_class_est_lap_time: float(e, "CarClassEstLapTime"),
                    irating: int(e, "IRating"),
                    lic_string: text(e, "LicString"),
                    car_is_pace_car: flag(e, "CarIsPaceCar"),
                    car_is_ai: flag(e, "CarIsAI"),
                    is_spectator: flag(e, "IsSpectator"),
                })
            })
            .collect();
        let driver = DriverInfo {
            driver_car_idx: int32(&d, "DriverCarIdx"),
            pace_car_idx: int32(&d, "PaceCarIdx"),
            driver_car_fuel_max_ltr: float(&d, "DriverCarFuelMaxLtr"),
            driver_car_red_line: float(&d, "DriverCarRedLine"),
            driver_car_est_lap_time: float(&d, "DriverCarEstLapTime"),
            drivers,
        };
        let s = raw.get("SessionInfo").cloned().unwrap_or(Node::Null);
        let sessions = s
            .get("Sessions")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                Some(Session {
                    session_num: int32(e, "SessionNum")?,
                    session_type: text(e, "SessionType"),
                    session_name: text(e, "SessionName"),
                    session_laps: text(e, "SessionLaps").and_then(|t| {
                        if t.eq_ignore_ascii_case("unlimited") {
                            Some(SessionLaps::Unlimited)
                        } else {
                            t.parse().ok().map(SessionLaps::Laps)
                        }
                    }),
                    session_time: text(e, "SessionTime").and_then(|t| {
                        if t.eq_ignore_ascii_case("unlimited") {
                            Some(SessionTimeLimit::Unlimited)
                        } else {
                            leading_f64(&t).map(SessionTimeLimit::Seconds)
                        }
                    }),
                })
            })
            .collect();
        let mut sectors: Vec<Sector> = raw
            .path("SplitTimeInfo.Sectors")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                Some(Sector { sector_num: int32(e, "SectorNum")?, sector_start_pct: float(e, "SectorStartPct")? })
            })
            .collect();
        sectors.sort_by(|a, b| a.sector_start_pct.total_cmp(&b.sector_start_pct));
        SessionInfo { weekend, driver, sessions, current_session_num: int32(&s, "CurrentSessionNum"), sectors, raw }
    }

    /// The sector number containing lap fraction `pct` (0–1), from `SplitTimeInfo`.
    pub fn sector_at(&self, pct: f64) -> Option<i32> {
        sector_at(&self.sectors, pct)
    }
}

/// The sector containing `pct`: the last sector whose start is at or before it.
pub fn sector_at(sectors: &[Sector], pct: f64) -> Option<i32> {
    if !pct.is_finite() {
        return None;
    }
    sectors.iter().rev().find(|s| s.sector_start_pct <= pct).or(sectors.first()).map(|s| s.sector_num)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_from_awkward_text() {
        let t = "WeekendInfo:\n TrackName: spa: combined\n TrackID: 163\n TrackLength: 6.93 km\n TrackConfigName: \nDriverInfo:\n DriverCarIdx: 1\n Drivers:\n - CarIdx: 0\n   UserName: Pace Car\n   CarIsPaceCar: 1\n - CarIdx: 1\n   UserName: Zoë O'Neil #7\n   TeamName: Team: @home\n   CarNumber: \"007\"\n   IRating: 2345\n   CarClassShortName: GT4\n   CarClassID: 84\nSessionInfo:\n Sessions:\n - SessionNum: 0\n   SessionLaps: 12\n   SessionTime: 1800.0000 sec\n   SessionType: Race\nSplitTimeInfo:\n Sectors:\n - SectorNum: 1\n   SectorStartPct: 0.5\n - SectorNum: 0\n   SectorStartPct: 0.000000\n";
        let s = SessionInfo::parse(t).unwrap();
        assert_eq!(s.weekend.track_name.as_deref(), Some("spa: combined"));
        assert_eq!(s.weekend.track_config_name, None);
        assert_eq!(s.weekend.track_length_km, Some(6.93));
        assert_eq!(s.weekend.track_length_m(), Some(6930.0));
        let p = s.driver.player().unwrap();
        assert_eq!(p.user_name, "Zoë O'Neil #7");
        assert_eq!(p.team_name.as_deref(), Some("Team: @home"));
        assert_eq!(p.car_number.as_deref(), Some("007"));
        assert_eq!(p.irating, Some(2345));
        assert!(s.driver.drivers[0].car_is_pace_car);
        assert_eq!(s.sessions[0].session_laps, Some(SessionLaps::Laps(12)));
        assert_eq!(s.sessions[0].session_time, Some(SessionTimeLimit::Seconds(1800.0)));
        assert_eq!(s.sector_at(0.2), Some(0));
        assert_eq!(s.sector_at(0.7), Some(1));
        assert_eq!(parse_length_km("2.50 mi").map(|v| (v * 1000.0).round()), Some(4023.0));
    }
}
