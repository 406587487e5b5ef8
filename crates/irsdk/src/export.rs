//! Stored telemetry back to an iRacing `.ibt` file: the inverse of [`crate::mapping`], so a lap
//! or a session downloaded from the cloud opens in any `.ibt` tool (and in `pitbox ibt`, the
//! importer and the coach) with iRacing's own channel names and units.
//!
//! Only what the wire model carries can be written back: the player car's channels below, one
//! record per stored sample (about 60 Hz), with `SessionTick` from `SessionTime` at 60 ticks a
//! second. The session-info YAML names the track, car, driver, session type, sectors and the
//! sim's session identity, so the file keeps its `simSessionId` through a re-import.

use crate::error::{IrsdkError, Result};
use crate::var::{VarHandle, VarHeader, VarType};
use crate::writer::IbtWriter;
use pitbox_model::session::SimSessionKey;
use pitbox_model::telemetry::TelemetryUpdate;
use std::fmt::Write as _;

/// The session a file is written for.
#[derive(Debug, Clone, Default)]
pub struct ExportSession {
    /// iRacing's `TrackName` (an internal name) and `TrackDisplayName`.
    pub track_name: String,
    pub track_display_name: String,
    pub track_config: Option<String>,
    pub car: String,
    pub driver_name: String,
    pub car_idx: u32,
    pub car_number: Option<String>,
    /// iRacing's `SessionType` ("Practice", "Race" …).
    pub session_type: Option<String>,
    /// The sim's identity; `None` writes an offline session starting at `start_unix`.
    pub key: Option<SimSessionKey>,
    /// Sector start points, fractions of the lap (the first 0).
    pub sectors: Vec<f64>,
    /// When the session started, Unix seconds (the disk header's start date).
    pub start_unix: i64,
}

/// YAML single-quoted scalar (`'` doubled), which the session-info parser reads back as is.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''").replace(['\n', '\r'], " "))
}

/// The session-info YAML of `s`.
pub fn session_yaml(s: &ExportSession) -> String {
    let key = s.key.clone().unwrap_or(SimSessionKey {
        session_id: 0,
        sub_session_id: 0,
        session_num: 0,
        offline_start: None,
    });
    let mut y = String::from("---\nWeekendInfo:\n");
    let _ = writeln!(y, " TrackName: {}", quoted(&s.track_name));
    let _ = writeln!(y, " TrackDisplayName: {}", quoted(&s.track_display_name));
    let _ = writeln!(y, " TrackConfigName: {}", quoted(s.track_config.as_deref().unwrap_or("")));
    let _ = writeln!(y, " SessionID: {}", key.session_id);
    let _ = writeln!(y, " SubSessionID: {}", key.sub_session_id);
    let _ = writeln!(y, "DriverInfo:\n DriverCarIdx: {}\n Drivers:", s.car_idx);
    let _ = writeln!(y, " - CarIdx: {}", s.car_idx);
    let _ = writeln!(y, "   UserName: {}", quoted(&s.driver_name));
    let _ = writeln!(y, "   CarScreenName: {}", quoted(&s.car));
    let _ = writeln!(y, "   CarNumber: {}", quoted(s.car_number.as_deref().unwrap_or("")));
    let _ = writeln!(y, "SessionInfo:\n Sessions:\n - SessionNum: {}", key.session_num);
    let _ = writeln!(y, "   SessionType: {}", quoted(s.session_type.as_deref().unwrap_or("Offline Testing")));
    y.push_str("SplitTimeInfo:\n Sectors:\n");
    let mut sectors: Vec<f64> = s.sectors.iter().copied().filter(|p| p.is_finite() && (0.0..1.0).contains(p)).collect();
    if sectors.first() != Some(&0.0) {
        sectors.insert(0, 0.0);
    }
    for (i, p) in sectors.iter().enumerate() {
        let _ = writeln!(y, " - SectorNum: {i}\n   SectorStartPct: {p:.6}");
    }
    y.push_str("...\n");
    y
}

/// One written channel: its variable and how a sample fills it.
struct Channel {
    var: VarHeader,
    fill: fn(&TelemetryUpdate, f64) -> Value,
}

enum Value {
    F32(f32),
    F64(f64),
    I32(i32),
    Bool(bool),
}

fn f32_of(v: f64) -> Value {
    Value::F32(v as f32)
}

fn opt(v: Option<f64>) -> Value {
    Value::F32(v.map_or(f32::NAN, |x| x as f32))
}

/// The channels written, in iRacing's units (see the table in [`crate::mapping`]).
fn channels() -> Vec<Channel> {
    let mut off = 0;
    let mut out = Vec::new();
    let mut add = |name: &str, ty: VarType, unit: &str, desc: &str, fill: fn(&TelemetryUpdate, f64) -> Value| {
        let size = ty.size();
        out.push(Channel { var: VarHeader::new(name, ty, off, 1, false, desc, unit), fill });
        off += size;
    };
    add("SessionTime", VarType::Double, "s", "Seconds since session start", |_, t| Value::F64(t));
    add("SessionTick", VarType::Int, "", "Current update number", |_, t| Value::I32((t * 60.0).round() as i32));
    add("Lap", VarType::Int, "", "Laps started count", |u, _| Value::I32(i32::try_from(u.lap).unwrap_or(i32::MAX)));
    add("LapDistPct", VarType::Float, "%", "Percentage distance around lap", |u, _| f32_of(u.track_position));
    add("LapDist", VarType::Float, "m", "Meters traveled from S/F this lap", |u, _| opt(u.lap_distance));
    add("LapCurrentLapTime", VarType::Float, "s", "Estimate of players current lap time", |u, _| opt(u.lap_time));
    add("LapLastLapTime", VarType::Float, "s", "Players last lap time", |u, _| opt(u.last_lap_time));
    add("Speed", VarType::Float, "m/s", "GPS vehicle speed", |u, _| f32_of(u.speed / 3.6));
    add("RPM", VarType::Float, "revs/min", "Engine rpm", |u, _| f32_of(u.rpm));
    add("Gear", VarType::Int, "", "-1=reverse  0=neutral  1..n=current gear", |u, _| Value::I32(u.gear));
    add("Throttle", VarType::Float, "%", "0=off throttle to 1=full throttle", |u, _| f32_of(u.throttle / 100.0));
    add("Brake", VarType::Float, "%", "0=brake released to 1=max pedal force", |u, _| f32_of(u.brake / 100.0));
    // The wire's steering is negative to the left; iRacing's radians are positive to the left.
    add("SteeringWheelAngle", VarType::Float, "rad", "Steering wheel angle", |u, _| {
        f32_of(-u.steering_angle.to_radians())
    });
    add("FuelLevel", VarType::Float, "l", "Liters of fuel remaining", |u, _| opt(u.fuel_liters));
    add("FuelLevelPct", VarType::Float, "%", "Percent fuel remaining", |u, _| f32_of(u.fuel_level / 100.0));
    add("Lat", VarType::Double, "deg", "Latitude in decimal degrees", |u, _| Value::F64(u.latitude.unwrap_or(0.0)));
    add("Lon", VarType::Double, "deg", "Longitude in decimal degrees", |u, _| Value::F64(u.longitude.unwrap_or(0.0)));
    add("YawRate", VarType::Float, "rad/s", "Yaw rate", |u, _| opt(u.yaw_rate.map(f64::to_radians)));
    add("LatAccel", VarType::Float, "m/s^2", "Lateral acceleration (including gravity)", |u, _| opt(u.lateral_accel));
    add("LongAccel", VarType::Float, "m/s^2", "Longitudinal acceleration (including gravity)", |u, _| {
        opt(u.longitudinal_accel)
    });
    add("PlayerCarPosition", VarType::Int, "", "Players position in race", |u, _| {
        Value::I32(u.position.map_or(0, |p| i32::try_from(p).unwrap_or(0)))
    });
    add("OnPitRoad", VarType::Bool, "", "Is the player car on pit road between the cones", |u, _| {
        Value::Bool(u.on_pit_road.unwrap_or(false))
    });
    // Off track, else pit road, else on track: what the wire says of the player's surface.
    add("PlayerTrackSurface", VarType::Int, "irsdk_TrkLoc", "Players car track surface type", |u, _| {
        Value::I32(match (u.off_track, u.on_pit_road) {
            (Some(true), _) => 0,
            (_, Some(true)) => 2,
            _ => 3,
        })
    });
    add("IsOnTrack", VarType::Bool, "", "1=Car on track physics running with player in car", |u, _| {
        Value::Bool(u.on_track.unwrap_or(true))
    });
    // Tread remaining, 1 = new: the wire's mean wear per tyre, on all three bands.
    for band in ["L", "M", "R"] {
        add(&format!("LFwear{band}"), VarType::Float, "%", "Tire tread remaining", |u, _| {
            f32_of(1.0 - u.tire_wear.front_left / 100.0)
        });
        add(&format!("RFwear{band}"), VarType::Float, "%", "Tire tread remaining", |u, _| {
            f32_of(1.0 - u.tire_wear.front_right / 100.0)
        });
        add(&format!("LRwear{band}"), VarType::Float, "%", "Tire tread remaining", |u, _| {
            f32_of(1.0 - u.tire_wear.rear_left / 100.0)
        });
        add(&format!("RRwear{band}"), VarType::Float, "%", "Tire tread remaining", |u, _| {
            f32_of(1.0 - u.tire_wear.rear_right / 100.0)
        });
    }
    out
}

/// Writes `samples` (in order) as an `.ibt` file of `session`. Samples without a
/// `sessionTime` are placed on their timestamps, relative to the first sample.
pub fn write_ibt(session: &ExportSession, samples: &[TelemetryUpdate]) -> Result<Vec<u8>> {
    if samples.is_empty() {
        return Err(IrsdkError::Write("no samples to write".into()));
    }
    let chans = channels();
    let buf_len: usize = chans.iter().map(|c| c.var.ty.size()).sum();
    let vars: Vec<VarHeader> = chans.iter().map(|c| c.var.clone()).collect();
    let mut w = IbtWriter::new(
        std::io::Cursor::new(Vec::new()),
        vars,
        buf_len,
        60,
        &session_yaml(session),
        session.start_unix,
    )?;
    // Each channel's handle once, typed by its variable (not looked up by name per record).
    let layout = w.layout().clone();
    let handles = chans
        .iter()
        .map(|c| {
            let name = c.var.name.as_str();
            Ok(match c.var.ty {
                VarType::Double => Handle::F64(layout.handle(name)?),
                VarType::Int => Handle::I32(layout.handle(name)?),
                VarType::Bool => Handle::Bool(layout.handle(name)?),
                _ => Handle::F32(layout.handle(name)?),
            })
        })
        .collect::<Result<Vec<Handle>>>()?;
    let t0 = samples[0].timestamp;
    for u in samples {
        let t = u.session_time.unwrap_or_else(|| (u.timestamp - t0).num_milliseconds() as f64 / 1000.0);
        let mut row = w.blank_row();
        for (c, h) in chans.iter().zip(&handles) {
            match (h, (c.fill)(u, t)) {
                (Handle::F32(h), Value::F32(v)) => {
                    h.set(&mut row, v);
                }
                (Handle::F64(h), Value::F64(v)) => {
                    h.set(&mut row, v);
                }
                (Handle::I32(h), Value::I32(v)) => {
                    h.set(&mut row, v);
                }
                (Handle::Bool(h), Value::Bool(v)) => {
                    h.set(&mut row, v);
                }
                _ => return Err(IrsdkError::Write(format!("{}: value of another type than its variable", c.var.name))),
            }
        }
        w.write_row(&row)?;
    }
    Ok(w.finish()?.into_inner())
}

/// A written channel's handle, of its variable's type.
enum Handle {
    F32(VarHandle<f32>),
    F64(VarHandle<f64>),
    I32(VarHandle<i32>),
    Bool(VarHandle<bool>),
}
