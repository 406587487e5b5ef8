//! SDK rows and session info → wire messages.
//!
//! The unit conversions are `pitbox-irsdk`'s ([`pitbox_irsdk::mapping`], the one place where
//! iRacing's units become the wire model's); this module adds what a source needs around them:
//! sequence numbers, pit-stop counts, `session_info` from the session YAML (irsdk has no mapping
//! for it yet), and [`fit_to_limits`], which clamps glitch values into the validated ranges.
//! The conversions, for reference:
//!
//! | wire field | SDK variable | conversion |
//! |---|---|---|
//! | `speed` km/h | `Speed` m/s | × 3.6 |
//! | `throttle`, `brake` % | `Throttle`, `Brake` 0–1 | × 100 |
//! | `steeringAngle` ° (negative = left) | `SteeringWheelAngle` rad (positive = left) | rad → deg, sign flipped |
//! | `fuelLevel` % of tank | `FuelLevelPct` 0–1 | × 100 (`fuelLiters` from `FuelLevel`) |
//! | `tireWear` % worn | `LFwearL/M/R` … remaining tread, 1 = new | (1 − mean) × 100 |
//! | `trackPosition` | `LapDistPct` | clamped to 0–1 |
//! | `yawRate` °/s (positive = left) | `YawRate` rad/s | rad → deg |
//! | `latitude`/`longitude` | `Lat`/`Lon` (files only) | `null` when absent or 0,0 |
//! | `sector` (1-based) | `LapDistPct` + `SplitTimeInfo` | 0 until the session info is known |
//!
//! Every value is clamped to the range the model validates, and non-finite values become 0 (or
//! `null` for optional fields), so a mapped message always passes validation — a sensor glitch
//! (iRacing writes `Throttle = -9e-10`) must not get a driver's stream refused.
//!
//! `CarLeftRight` is an enum (never a bitfield), `CarIdxX/Y/Z` and `CarIdxDistance` do not exist,
//! and tyre wear only changes when the car is in the pits: none of those traps is used here.

use crate::SourceError;
use pitbox_irsdk::mapping::Mapper;
use pitbox_irsdk::session::SessionInfo as SdkSession;
use pitbox_irsdk::{Layout, VarHandle, VarValue};
use pitbox_model::SessionType;
use pitbox_model::Timestamp;
use pitbox_model::session::{MAX_CARS, SessionDriver, SessionInfo, SimSessionKey, StandingsUpdate, TrackInfo};
use pitbox_model::telemetry::{TelemetryUpdate, limits};

const MAX_TEXT: usize = 100;

fn opt<T: VarValue>(layout: &Layout, name: &str) -> Option<VarHandle<T>> {
    // A variable of an unexpected type is treated as absent: the channel is optional everywhere.
    layout.optional(name).ok().flatten()
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn clamp(v: f64, lo: f64, hi: f64) -> f64 {
    if v.is_finite() { v.clamp(lo, hi) } else { 0.0 }
}

fn clamp_opt(v: Option<f64>, lo: f64, hi: f64) -> Option<f64> {
    v.and_then(finite).map(|v| v.clamp(lo, hi))
}

/// Text fit for a model text field: control characters dropped, cut to `max` characters.
pub fn clean_text(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect::<String>().trim().to_string()
}

/// An identifier fit for `v.id` rules: letters, digits and `-_.:@` only, at most 64 characters.
pub fn clean_id(s: &str) -> String {
    let id: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@') { c } else { '-' })
        .take(64)
        .collect();
    if id.is_empty() { "unknown".into() } else { id }
}

/// Clamps every channel into the range the wire model validates (non-finite → 0 or `null`).
/// Units are irsdk's business; this only makes sure that a sensor glitch (iRacing writes
/// `Throttle = -9e-10`, a torn dump may hold anything) cannot get a driver's stream refused.
pub fn fit_to_limits(t: &mut TelemetryUpdate) {
    t.speed = clamp(t.speed, 0.0, limits::MAX_SPEED_KMH);
    t.rpm = clamp(t.rpm, 0.0, limits::MAX_RPM);
    t.gear = t.gear.clamp(-1, limits::MAX_GEAR as i32);
    t.throttle = clamp(t.throttle, 0.0, 100.0);
    t.brake = clamp(t.brake, 0.0, 100.0);
    t.steering_angle = clamp(t.steering_angle, -limits::MAX_STEERING_DEG, limits::MAX_STEERING_DEG);
    let lat_ok = t.latitude.is_some_and(|v| v.is_finite() && (-90.0..=90.0).contains(&v));
    let lon_ok = t.longitude.is_some_and(|v| v.is_finite() && (-180.0..=180.0).contains(&v));
    if !(lat_ok && lon_ok) {
        t.latitude = None;
        t.longitude = None;
    }
    t.track_position = clamp(t.track_position, 0.0, 1.0);
    t.lap = t.lap.min(limits::MAX_LAP as u32);
    t.sector = t.sector.min(limits::MAX_SECTOR as u32);
    t.fuel_level = clamp(t.fuel_level, 0.0, 100.0);
    for w in [
        &mut t.tire_wear.front_left,
        &mut t.tire_wear.front_right,
        &mut t.tire_wear.rear_left,
        &mut t.tire_wear.rear_right,
    ] {
        *w = clamp(*w, 0.0, 100.0);
    }
    t.position = t.position.map(|p| p.min(limits::MAX_POSITION as u32));
    t.lap_distance = clamp_opt(t.lap_distance, 0.0, 100_000.0);
    t.lap_time = clamp_opt(t.lap_time, -1.0, 86_400.0);
    t.last_lap_time = clamp_opt(t.last_lap_time, -1.0, 86_400.0);
    t.session_time = clamp_opt(t.session_time, 0.0, 7.0 * 86_400.0);
    t.yaw_rate = clamp_opt(t.yaw_rate, -3_600.0, 3_600.0);
    t.lateral_accel = clamp_opt(t.lateral_accel, -200.0, 200.0);
    t.longitudinal_accel = clamp_opt(t.longitudinal_accel, -200.0, 200.0);
    t.fuel_liters = clamp_opt(t.fuel_liters, 0.0, 1_000.0);
}

/// Maps rows of one layout to `telemetry_update`s of one driver, through irsdk's [`Mapper`]
/// (the one unit mapping), numbering them.
pub struct TelemetryMapper {
    driver_id: String,
    m: Mapper,
    session_time: Option<VarHandle<f64>>,
    session_num: Option<VarHandle<i32>>,
    sequence: u64,
    identity: Identity,
}

/// What makes the sim's session key ([`SimSessionKey`]) of each row.
#[derive(Debug, Clone, Default)]
struct Identity {
    /// `WeekendInfo.SessionID`, `SubSessionID`, `TrackID` of the session info in force.
    ids: Option<(i64, i64, i64)>,
    /// When the offline session started, Unix seconds: given (a file's own start) or estimated
    /// at its first row as the wall clock minus `SessionTime`.
    offline_start: Option<i64>,
    given_start: bool,
    /// `SessionNum` and `SessionTime` of the previous row: the session time going back within
    /// one session number is a new offline session.
    last: Option<(i32, f64)>,
}

impl TelemetryMapper {
    /// Looks the channels up in `layout` once; `driver_id` goes into every message.
    pub fn new(layout: &Layout, driver_id: &str) -> Result<TelemetryMapper, SourceError> {
        Ok(TelemetryMapper {
            driver_id: clean_id(driver_id),
            m: Mapper::new(layout)?,
            session_time: opt(layout, "SessionTime"),
            session_num: opt(layout, "SessionNum"),
            sequence: 0,
            identity: Identity::default(),
        })
    }

    /// Re-looks the channels up in a new layout (the sim restarted), keeping the sequence.
    pub fn relayout(&mut self, layout: &Layout) -> Result<(), SourceError> {
        let seq = self.sequence;
        let identity = std::mem::take(&mut self.identity);
        *self = TelemetryMapper::new(layout, &self.driver_id)?;
        self.sequence = seq;
        self.identity = identity;
        Ok(())
    }

    /// Takes the sector boundaries and the identity of the session.
    pub fn set_session(&mut self, s: &SdkSession) {
        self.m.set_session(s);
        let w = &s.weekend;
        let ids = (w.session_id.unwrap_or(0), w.sub_session_id.unwrap_or(0), w.track_id.unwrap_or(0));
        if self.identity.ids != Some(ids) {
            self.identity.ids = Some(ids);
            if !self.identity.given_start {
                self.identity.offline_start = None;
            }
        }
    }

    /// Fixes when an offline session started (a recorded file's own start date, Unix seconds),
    /// so a replay of a file has the same identity as its import.
    pub fn set_offline_start(&mut self, unix_seconds: i64) {
        self.identity.offline_start = Some(unix_seconds);
        self.identity.given_start = true;
    }

    /// The sim's key of the session `row` belongs to; `None` before any session info.
    pub fn sim_session_key(&mut self, row: &[u8], now: Timestamp) -> Option<SimSessionKey> {
        let (session_id, sub_session_id, _) = self.identity.ids?;
        let num = self.session_num(row).unwrap_or(0);
        let t = self.session_time(row).unwrap_or(0.0);
        let mut key = SimSessionKey { session_id, sub_session_id, session_num: num, offline_start: None };
        if !key.is_hosted() {
            let id = &mut self.identity;
            let restarted =
                id.last.is_some_and(|(n, lt)| n == num && t + 1.0 < lt) || id.last.is_some_and(|(n, _)| num < n);
            if restarted && !id.given_start {
                id.offline_start = None;
            }
            let start = *id.offline_start.get_or_insert_with(|| now.timestamp() - t.max(0.0).round() as i64);
            key.offline_start = Some(start);
        }
        self.identity.last = Some((num, t));
        Some(key)
    }

    /// The next sequence number to be used.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Continues numbering from `seq` (a source that reconnects keeps its place).
    pub fn set_sequence(&mut self, seq: u64) {
        self.sequence = seq;
    }

    /// `SessionTime` of a row, seconds.
    pub fn session_time(&self, row: &[u8]) -> Option<f64> {
        self.session_time.and_then(|h| h.try_get(row)).and_then(finite)
    }

    /// `SessionNum` of a row.
    pub fn session_num(&self, row: &[u8]) -> Option<i32> {
        self.session_num.and_then(|h| h.try_get(row))
    }

    /// One row as a `telemetry_update`.
    pub fn telemetry(&mut self, row: &[u8], timestamp: Timestamp) -> TelemetryUpdate {
        let mut t = self.m.telemetry_update(row, &self.driver_id, timestamp);
        fit_to_limits(&mut t);
        t.sim_session_id = self.sim_session_key(row, timestamp).map(|k| k.sim_session_id());
        t.sequence = Some(self.sequence);
        self.sequence += 1;
        t
    }
}

/// Sector start points (fractions of the lap, increasing, the first 0) of a session.
pub fn sector_starts(s: &SdkSession) -> Vec<f64> {
    let mut v: Vec<f64> =
        s.sectors.iter().map(|x| x.sector_start_pct).filter(|p| p.is_finite() && (0.0..1.0).contains(p)).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.first() != Some(&0.0) {
        v.insert(0, 0.0);
    }
    v
}

/// The 1-based sector containing `pct`; 0 when the sectors are not known.
pub fn sector_of(starts: &[f64], pct: f64) -> u32 {
    if starts.is_empty() {
        return 0;
    }
    starts.iter().rposition(|s| *s <= pct).map_or(1, |i| i as u32 + 1)
}

/// The wire's session type for iRacing's `SessionType` text.
pub fn session_type(t: Option<&str>) -> SessionType {
    let t = t.unwrap_or("").to_ascii_lowercase();
    if t.contains("race") || t.contains("heat") {
        SessionType::Race
    } else if t.contains("qualif") {
        SessionType::Qualify
    } else if t.contains("warm") {
        SessionType::Warmup
    } else if t.contains("practice") {
        SessionType::Practice
    } else if t.contains("time trial") {
        SessionType::TimeTrial
    } else if t.contains("testing") {
        SessionType::Testing
    } else {
        SessionType::Other
    }
}

/// The `session_info` message of a session; `session_num` is the running session (the row's
/// `SessionNum`), else the session info's `CurrentSessionNum`, else the first session.
pub fn session_info(s: &SdkSession, session_num: Option<i32>, driver_id: &str, timestamp: Timestamp) -> SessionInfo {
    let w = &s.weekend;
    let num = session_num.or(s.current_session_num);
    let session = s.sessions.iter().find(|x| Some(x.session_num) == num).or(s.sessions.first());
    let name = clean_text(w.track_name.as_deref().unwrap_or(""), MAX_TEXT);
    let name = if name.is_empty() { "unknown track".to_string() } else { name };
    let display = clean_text(w.track_display_name.as_deref().unwrap_or(""), MAX_TEXT);
    let player_idx = s.driver.driver_car_idx.filter(|i| (0..MAX_CARS as i32).contains(i)).unwrap_or(0);
    let player = s.driver.by_car_idx(player_idx);
    let car_name = clean_text(player.and_then(|p| p.car_screen_name.as_deref()).unwrap_or(""), MAX_TEXT);
    let id_parts = [w.session_id, w.sub_session_id].map(|v| v.unwrap_or(0));
    let session_id = if id_parts.iter().any(|v| *v != 0) {
        format!("iracing-{}-{}-{}", id_parts[0], id_parts[1], num.unwrap_or(0))
    } else {
        format!("offline-{}-{}", w.track_id.unwrap_or(0), num.unwrap_or(0))
    };
    let (session_laps, session_duration) = match session {
        Some(x) => (
            match x.session_laps {
                Some(pitbox_irsdk::session::SessionLaps::Laps(n)) if n > 0 => u32::try_from(n).ok(),
                _ => None,
            },
            match x.session_time {
                Some(pitbox_irsdk::session::SessionTimeLimit::Seconds(t)) if t.is_finite() && t > 0.0 => {
                    Some(t.min(7.0 * 86_400.0))
                }
                _ => None,
            },
        ),
        None => (None, None),
    };
    let drivers = s
        .driver
        .drivers
        .iter()
        .filter(|d| !d.car_is_pace_car && !d.is_spectator && (0..MAX_CARS as i32).contains(&d.car_idx))
        .map(session_driver)
        .take(MAX_CARS)
        .collect();
    SessionInfo {
        driver_id: clean_id(driver_id),
        session_id: clean_id(&session_id),
        timestamp,
        track: TrackInfo {
            id: w.track_id,
            display_name: if display.is_empty() { name.clone() } else { display },
            name,
            config_name: w.track_config_name.as_deref().map(|c| clean_text(c, MAX_TEXT)),
            length_km: w.track_length_km.filter(|k| k.is_finite()).unwrap_or(0.1).clamp(0.1, 100.0),
        },
        car_name: if car_name.is_empty() { "unknown car".into() } else { car_name },
        session_type: session_type(session.and_then(|x| x.session_type.as_deref())),
        session_laps,
        session_duration,
        sectors: sector_starts(s),
        player_car_idx: player_idx as u32,
        drivers,
        // The key needs the row's clock for offline sessions: set by the source from its
        // TelemetryMapper (`sim_session_key`).
        sim_session_id: None,
        sim_session_type: session.and_then(|x| x.session_type.as_deref()).map(|t| clean_text(t, MAX_TEXT)),
        car_number: player.and_then(|p| p.car_number.as_deref()).map(|n| clean_text(n, 8)),
    }
}

fn car_number(d: &pitbox_irsdk::session::Driver) -> String {
    clean_text(d.car_number.as_deref().unwrap_or(""), 8)
}

fn driver_name(d: &pitbox_irsdk::session::Driver) -> String {
    let n = clean_text(&d.user_name, MAX_TEXT);
    if n.is_empty() { format!("Car {}", d.car_idx) } else { n }
}

fn session_driver(d: &pitbox_irsdk::session::Driver) -> SessionDriver {
    SessionDriver {
        car_idx: d.car_idx as u32,
        name: driver_name(d),
        car_number: car_number(d),
        team_name: d.team_name.as_deref().map(|t| clean_text(t, MAX_TEXT)),
        car_name: clean_text(d.car_screen_name.as_deref().unwrap_or(""), MAX_TEXT),
        car_class: d.car_class_short_name.as_deref().map(|t| clean_text(t, MAX_TEXT)),
        i_rating: d.irating.and_then(|v| i32::try_from(v).ok()),
    }
}

/// Maps the `CarIdx…` arrays of rows to `standings_update`s through irsdk's [`Mapper`], and
/// counts pit stops (pit-road entries seen in `CarIdxOnPitRoad`), which the SDK does not.
pub struct StandingsMapper {
    driver_id: String,
    m: Mapper,
    available: bool,
    on_pit: Option<VarHandle<bool>>,
    pit_stops: [u32; MAX_CARS],
    was_on_pit: [bool; MAX_CARS],
}

impl StandingsMapper {
    /// Looks the arrays up once.
    pub fn new(layout: &Layout, driver_id: &str) -> Result<StandingsMapper, SourceError> {
        Ok(StandingsMapper {
            driver_id: clean_id(driver_id),
            m: Mapper::new(layout)?,
            available: opt::<i32>(layout, "CarIdxPosition").is_some()
                && opt::<f32>(layout, "CarIdxLapDistPct").is_some(),
            on_pit: opt(layout, "CarIdxOnPitRoad"),
            pit_stops: [0; MAX_CARS],
            was_on_pit: [false; MAX_CARS],
        })
    }

    /// Re-looks the arrays up in a new layout, keeping the pit-stop counts.
    pub fn relayout(&mut self, layout: &Layout) -> Result<(), SourceError> {
        let (p, w) = (self.pit_stops, self.was_on_pit);
        *self = StandingsMapper::new(layout, &self.driver_id)?;
        self.pit_stops = p;
        self.was_on_pit = w;
        Ok(())
    }

    /// Whether the layout has the arrays standings need (live memory has them, `.ibt` files
    /// do not).
    pub fn available(&self) -> bool {
        self.available
    }

    /// Counts pit-road entries; call on every row so short visits are not missed.
    pub fn observe(&mut self, row: &[u8]) {
        let Some(h) = self.on_pit else { return };
        for i in 0..MAX_CARS.min(h.count()) {
            let on = h.at(row, i).unwrap_or(false);
            if on && !self.was_on_pit[i] {
                self.pit_stops[i] += 1;
            }
            self.was_on_pit[i] = on;
        }
    }

    /// The standings of every car the session lists (none without session info).
    pub fn standings(&mut self, row: &[u8], s: Option<&SdkSession>, timestamp: Timestamp) -> StandingsUpdate {
        let mut st = match s {
            Some(s) => self.m.standings_update(row, s, &self.driver_id, timestamp),
            None => StandingsUpdate {
                driver_id: self.driver_id.clone(),
                timestamp,
                session_time: 0.0,
                entries: Vec::new(),
                sim_session_id: None,
            },
        };
        let player = s.and_then(|s| s.driver.driver_car_idx);
        st.session_time = clamp(st.session_time, 0.0, 7.0 * 86_400.0);
        st.entries.truncate(MAX_CARS);
        let week = 7.0 * 86_400.0;
        for e in st.entries.iter_mut() {
            let i = (e.car_idx as usize).min(MAX_CARS - 1);
            e.pit_stops = self.pit_stops[i];
            e.is_team_car |= player.is_some_and(|p| p as u32 == e.car_idx);
            e.car_number = clean_text(&e.car_number, 8);
            e.driver_name = clean_text(&e.driver_name, MAX_TEXT);
            e.team_name = e.team_name.as_deref().map(|t| clean_text(t, MAX_TEXT));
            e.car_class = e.car_class.as_deref().map(|t| clean_text(t, MAX_TEXT));
            e.position = e.position.min(limits::MAX_POSITION as u32);
            e.class_position = e.class_position.min(limits::MAX_POSITION as u32);
            e.lap = e.lap.clamp(-1, limits::MAX_LAP as i32);
            e.track_position = clamp(e.track_position, 0.0, 1.0);
            let lap_time = |v: Option<f64>| v.filter(|t| t.is_finite() && *t > 0.0 && *t <= 3_600.0);
            e.last_lap_time = lap_time(e.last_lap_time);
            e.best_lap_time = lap_time(e.best_lap_time);
            e.gap_to_leader = clamp_opt(e.gap_to_leader, 0.0, week);
            e.gap_to_ahead = clamp_opt(e.gap_to_ahead, 0.0, week);
        }
        st
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sectors_are_one_based() {
        let s = [0.0, 0.33, 0.66];
        assert_eq!(sector_of(&s, 0.0), 1);
        assert_eq!(sector_of(&s, 0.5), 2);
        assert_eq!(sector_of(&s, 0.99), 3);
        assert_eq!(sector_of(&[], 0.5), 0);
    }

    #[test]
    fn ids_and_text_are_cleaned() {
        assert_eq!(clean_id("Zoë O'Neil"), "Zo--O-Neil");
        assert_eq!(clean_id(""), "unknown");
        assert_eq!(clean_text("a\u{7}b  ", 10), "ab");
        assert_eq!(session_type(Some("Lone Qualify")), SessionType::Qualify);
        assert_eq!(session_type(Some("Offline Testing")), SessionType::Testing);
        assert_eq!(session_type(Some("RACE")), SessionType::Race);
    }
}
