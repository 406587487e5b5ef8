//! SDK rows and session info → wire messages.
//!
//! `pitbox-irsdk` is to own the one mapping from SDK units to the wire model; until its
//! `mapping` module lands, this is that mapping, written to the rules of the starting design
//! (`shared/ARCHITECTURE.md`, "mapping traps"), and every source goes through it:
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

use pitbox_irsdk::session::SessionInfo as SdkSession;
use pitbox_irsdk::{Layout, VarHandle, VarValue};
use pitbox_model::SessionType;
use pitbox_model::Timestamp;
use pitbox_model::session::{MAX_CARS, SessionDriver, SessionInfo, StandingsEntry, StandingsUpdate, TrackInfo};
use pitbox_model::telemetry::{TelemetryUpdate, TireWear, limits};

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

/// The player's-car channels, looked up once per layout.
#[derive(Debug, Clone, Copy, Default)]
struct Handles {
    speed: Option<VarHandle<f32>>,
    rpm: Option<VarHandle<f32>>,
    gear: Option<VarHandle<i32>>,
    throttle: Option<VarHandle<f32>>,
    brake: Option<VarHandle<f32>>,
    steering: Option<VarHandle<f32>>,
    lat: Option<VarHandle<f64>>,
    lon: Option<VarHandle<f64>>,
    lap_dist_pct: Option<VarHandle<f32>>,
    lap_dist: Option<VarHandle<f32>>,
    lap: Option<VarHandle<i32>>,
    lap_time: Option<VarHandle<f32>>,
    session_time: Option<VarHandle<f64>>,
    session_num: Option<VarHandle<i32>>,
    fuel_pct: Option<VarHandle<f32>>,
    fuel_l: Option<VarHandle<f32>>,
    wear: [[Option<VarHandle<f32>>; 3]; 4],
    yaw_rate: Option<VarHandle<f32>>,
    lat_accel: Option<VarHandle<f32>>,
    long_accel: Option<VarHandle<f32>>,
    on_pit_road: Option<VarHandle<bool>>,
    position: Option<VarHandle<i32>>,
}

impl Handles {
    fn new(l: &Layout) -> Handles {
        let corner =
            |c: &str| [opt(l, &format!("{c}wearL")), opt(l, &format!("{c}wearM")), opt(l, &format!("{c}wearR"))];
        Handles {
            speed: opt(l, "Speed"),
            rpm: opt(l, "RPM"),
            gear: opt(l, "Gear"),
            throttle: opt(l, "Throttle"),
            brake: opt(l, "Brake"),
            steering: opt(l, "SteeringWheelAngle"),
            lat: opt(l, "Lat"),
            lon: opt(l, "Lon"),
            lap_dist_pct: opt(l, "LapDistPct"),
            lap_dist: opt(l, "LapDist"),
            lap: opt(l, "Lap"),
            lap_time: opt(l, "LapCurrentLapTime"),
            session_time: opt(l, "SessionTime"),
            session_num: opt(l, "SessionNum"),
            fuel_pct: opt(l, "FuelLevelPct"),
            fuel_l: opt(l, "FuelLevel"),
            wear: [corner("LF"), corner("RF"), corner("LR"), corner("RR")],
            yaw_rate: opt(l, "YawRate"),
            lat_accel: opt(l, "LatAccel"),
            long_accel: opt(l, "LongAccel"),
            on_pit_road: opt(l, "OnPitRoad"),
            position: opt(l, "PlayerCarPosition"),
        }
    }
}

fn f32v(h: Option<VarHandle<f32>>, row: &[u8]) -> Option<f64> {
    h.and_then(|h| h.try_get(row)).map(f64::from)
}

fn f64v(h: Option<VarHandle<f64>>, row: &[u8]) -> Option<f64> {
    h.and_then(|h| h.try_get(row))
}

fn i32v(h: Option<VarHandle<i32>>, row: &[u8]) -> Option<i32> {
    h.and_then(|h| h.try_get(row))
}

/// Maps rows of one layout to `telemetry_update`s of one driver.
#[derive(Debug, Clone)]
pub struct TelemetryMapper {
    driver_id: String,
    h: Handles,
    sectors: Vec<f64>,
    sequence: u64,
}

impl TelemetryMapper {
    /// Looks the channels up in `layout` once; `driver_id` goes into every message.
    pub fn new(layout: &Layout, driver_id: &str) -> TelemetryMapper {
        TelemetryMapper { driver_id: clean_id(driver_id), h: Handles::new(layout), sectors: Vec::new(), sequence: 0 }
    }

    /// Re-looks the channels up in a new layout (the sim restarted), keeping the sequence.
    pub fn relayout(&mut self, layout: &Layout) {
        self.h = Handles::new(layout);
    }

    /// Takes the sector boundaries of the session.
    pub fn set_session(&mut self, s: &SdkSession) {
        self.sectors = sector_starts(s);
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
        f64v(self.h.session_time, row).and_then(finite)
    }

    /// `SessionNum` of a row.
    pub fn session_num(&self, row: &[u8]) -> Option<i32> {
        i32v(self.h.session_num, row)
    }

    /// One row as a `telemetry_update`.
    pub fn telemetry(&mut self, row: &[u8], timestamp: Timestamp) -> TelemetryUpdate {
        let h = &self.h;
        let pct = clamp(f32v(h.lap_dist_pct, row).unwrap_or(0.0), 0.0, 1.0);
        let wear = |c: usize| {
            let vals: Vec<f64> = h.wear[c].iter().filter_map(|w| f32v(*w, row)).filter(|v| v.is_finite()).collect();
            if vals.is_empty() {
                0.0
            } else {
                let remaining = vals.iter().sum::<f64>() / vals.len() as f64;
                clamp((1.0 - remaining) * 100.0, 0.0, 100.0)
            }
        };
        let lat = f64v(h.lat, row).filter(|v| v.is_finite() && (-90.0..=90.0).contains(v));
        let lon = f64v(h.lon, row).filter(|v| v.is_finite() && (-180.0..=180.0).contains(v));
        let (latitude, longitude) = match (lat, lon) {
            (Some(a), Some(o)) if !(a == 0.0 && o == 0.0) => (Some(a), Some(o)),
            _ => (None, None),
        };
        let seq = self.sequence;
        self.sequence += 1;
        TelemetryUpdate {
            driver_id: self.driver_id.clone(),
            timestamp,
            speed: clamp(f32v(h.speed, row).unwrap_or(0.0) * 3.6, 0.0, limits::MAX_SPEED_KMH),
            rpm: clamp(f32v(h.rpm, row).unwrap_or(0.0), 0.0, limits::MAX_RPM),
            gear: i32v(h.gear, row).unwrap_or(0).clamp(-1, limits::MAX_GEAR as i32),
            throttle: clamp(f32v(h.throttle, row).unwrap_or(0.0) * 100.0, 0.0, 100.0),
            brake: clamp(f32v(h.brake, row).unwrap_or(0.0) * 100.0, 0.0, 100.0),
            steering_angle: clamp(
                -f32v(h.steering, row).unwrap_or(0.0).to_degrees(),
                -limits::MAX_STEERING_DEG,
                limits::MAX_STEERING_DEG,
            ),
            latitude,
            longitude,
            track_position: pct,
            lap: i32v(h.lap, row).unwrap_or(0).clamp(0, limits::MAX_LAP as i32) as u32,
            sector: sector_of(&self.sectors, pct),
            fuel_level: clamp(f32v(h.fuel_pct, row).unwrap_or(0.0) * 100.0, 0.0, 100.0),
            tire_wear: TireWear { front_left: wear(0), front_right: wear(1), rear_left: wear(2), rear_right: wear(3) },
            position: i32v(h.position, row).filter(|p| *p > 0).map(|p| p.min(limits::MAX_POSITION as i32) as u32),
            lap_distance: clamp_opt(f32v(h.lap_dist, row), 0.0, 100_000.0),
            lap_time: clamp_opt(f32v(h.lap_time, row), -1.0, 86_400.0),
            session_time: clamp_opt(f64v(h.session_time, row), 0.0, 7.0 * 86_400.0),
            yaw_rate: clamp_opt(f32v(h.yaw_rate, row).map(f64::to_degrees), -3_600.0, 3_600.0),
            lateral_accel: clamp_opt(f32v(h.lat_accel, row), -200.0, 200.0),
            longitudinal_accel: clamp_opt(f32v(h.long_accel, row), -200.0, 200.0),
            fuel_liters: clamp_opt(f32v(h.fuel_l, row), 0.0, 1_000.0),
            on_pit_road: h.on_pit_road.and_then(|p| p.try_get(row)),
            sequence: Some(seq),
        }
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

/// Maps the `CarIdx…` arrays of rows to `standings_update`s; counts pit stops between calls.
#[derive(Debug, Clone)]
pub struct StandingsMapper {
    driver_id: String,
    position: Option<VarHandle<i32>>,
    class_position: Option<VarHandle<i32>>,
    lap: Option<VarHandle<i32>>,
    lap_dist_pct: Option<VarHandle<f32>>,
    last: Option<VarHandle<f32>>,
    best: Option<VarHandle<f32>>,
    f2: Option<VarHandle<f32>>,
    on_pit: Option<VarHandle<bool>>,
    session_time: Option<VarHandle<f64>>,
    pit_stops: [u32; MAX_CARS],
    was_on_pit: [bool; MAX_CARS],
}

impl StandingsMapper {
    /// Looks the arrays up once.
    pub fn new(layout: &Layout, driver_id: &str) -> StandingsMapper {
        StandingsMapper {
            driver_id: clean_id(driver_id),
            position: opt(layout, "CarIdxPosition"),
            class_position: opt(layout, "CarIdxClassPosition"),
            lap: opt(layout, "CarIdxLap"),
            lap_dist_pct: opt(layout, "CarIdxLapDistPct"),
            last: opt(layout, "CarIdxLastLapTime"),
            best: opt(layout, "CarIdxBestLapTime"),
            f2: opt(layout, "CarIdxF2Time"),
            on_pit: opt(layout, "CarIdxOnPitRoad"),
            session_time: opt(layout, "SessionTime"),
            pit_stops: [0; MAX_CARS],
            was_on_pit: [false; MAX_CARS],
        }
    }

    /// Re-looks the arrays up in a new layout, keeping the pit-stop counts.
    pub fn relayout(&mut self, layout: &Layout) {
        let (p, w) = (self.pit_stops, self.was_on_pit);
        *self = StandingsMapper::new(layout, &self.driver_id);
        self.pit_stops = p;
        self.was_on_pit = w;
    }

    /// Whether the layout has the arrays standings need.
    pub fn available(&self) -> bool {
        self.position.is_some() && self.lap_dist_pct.is_some()
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

    /// The standings of every car the session lists (or every car with a lap, without one).
    pub fn standings(&mut self, row: &[u8], s: Option<&SdkSession>, timestamp: Timestamp) -> StandingsUpdate {
        let at_i = |h: Option<VarHandle<i32>>, i: usize| h.and_then(|h| h.at(row, i));
        let at_f = |h: Option<VarHandle<f32>>, i: usize| h.and_then(|h| h.at(row, i)).map(f64::from);
        let player = s.and_then(|s| s.driver.driver_car_idx);
        let player_team = s.and_then(|s| player.and_then(|p| s.driver.by_car_idx(p))).and_then(|d| d.team_id);
        let cars: Vec<(i32, Option<&pitbox_irsdk::session::Driver>)> = match s {
            Some(s) if !s.driver.drivers.is_empty() => s
                .driver
                .drivers
                .iter()
                .filter(|d| !d.car_is_pace_car && !d.is_spectator && (0..MAX_CARS as i32).contains(&d.car_idx))
                .map(|d| (d.car_idx, Some(d)))
                .collect(),
            _ => (0..MAX_CARS as i32)
                .filter(|i| at_i(self.lap, *i as usize).is_some_and(|l| l >= 0))
                .map(|i| (i, None))
                .collect(),
        };
        let mut entries: Vec<StandingsEntry> = cars
            .into_iter()
            .map(|(idx, d)| {
                let i = idx as usize;
                let time = |v: Option<f64>| v.filter(|t| t.is_finite() && *t > 0.0 && *t <= 3_600.0);
                let team = d.and_then(|d| d.team_id);
                StandingsEntry {
                    car_idx: idx as u32,
                    car_number: d.map(car_number).unwrap_or_default(),
                    driver_name: d.map(driver_name).unwrap_or_else(|| format!("Car {idx}")),
                    team_name: d.and_then(|d| d.team_name.as_deref()).map(|t| clean_text(t, MAX_TEXT)),
                    car_class: d.and_then(|d| d.car_class_short_name.as_deref()).map(|t| clean_text(t, MAX_TEXT)),
                    position: at_i(self.position, i).unwrap_or(0).clamp(0, limits::MAX_POSITION as i32) as u32,
                    class_position: at_i(self.class_position, i).unwrap_or(0).clamp(0, limits::MAX_POSITION as i32)
                        as u32,
                    lap: at_i(self.lap, i).unwrap_or(-1).clamp(-1, limits::MAX_LAP as i32),
                    track_position: clamp(at_f(self.lap_dist_pct, i).unwrap_or(0.0), 0.0, 1.0),
                    last_lap_time: time(at_f(self.last, i)),
                    best_lap_time: time(at_f(self.best, i)),
                    gap_to_leader: None,
                    gap_to_ahead: None,
                    on_pit_road: self.on_pit.and_then(|h| h.at(row, i)).unwrap_or(false),
                    pit_stops: self.pit_stops[i],
                    is_team_car: Some(idx) == player || (team.is_some() && team == player_team && team != Some(0)),
                }
            })
            .collect();
        // Classified cars first, by position; then the rest by car index.
        entries.sort_by_key(|e| (e.position == 0, e.position, e.car_idx));
        let mut ahead: Option<f64> = None;
        for e in entries.iter_mut() {
            if e.position == 0 {
                continue;
            }
            let gap = at_f(self.f2, e.car_idx as usize).filter(|g| g.is_finite() && *g >= 0.0);
            e.gap_to_leader = gap.map(|g| g.min(7.0 * 86_400.0));
            e.gap_to_ahead = match (gap, ahead) {
                (Some(g), Some(a)) => Some((g - a).clamp(0.0, 7.0 * 86_400.0)),
                (Some(_), None) => None,
                _ => None,
            };
            ahead = gap.or(ahead);
        }
        StandingsUpdate {
            driver_id: self.driver_id.clone(),
            timestamp,
            session_time: clamp(f64v(self.session_time, row).unwrap_or(0.0), 0.0, 7.0 * 86_400.0),
            entries,
        }
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
