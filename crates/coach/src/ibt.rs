//! Samples from iRacing `.ibt` files (through `pitbox-irsdk`), with the sector starts and track
//! name from the session info.
//!
//! Unit conversions happen here once: `SteeringWheelAngle` rad (positive = left) → degrees
//! (negative = left, the spec's sign), `FuelLevelPct` 0–1 → %, tyre tread remaining (`LFwearM`,
//! 1 = new) → % worn (mean of the three tread readings of each tyre), `PlayerTrackSurface` 0 →
//! off track, −1 → a blank row.

use std::path::Path;

use pitbox_irsdk::flags::TrkLoc;
use pitbox_irsdk::{IbtFile, IrsdkError, VarHandle};

use crate::sample::Sample;

/// What a file gave.
#[derive(Debug, Clone)]
pub struct IbtSamples {
    pub samples: Vec<Sample>,
    /// Sector starts (lap fractions) from `SplitTimeInfo`, empty when absent.
    pub sector_starts: Vec<f64>,
    /// Track name from the session info.
    pub track: Option<String>,
    /// Track length from the session info, metres (rounded by iRacing to 10 m).
    pub track_length_m: Option<f64>,
}

/// Opens and converts an `.ibt` file.
pub fn read_ibt(path: &Path) -> Result<IbtSamples, IrsdkError> {
    let file = IbtFile::open(path)?;
    samples_from_ibt(&file)
}

fn opt<T: pitbox_irsdk::var::VarValue>(f: &IbtFile, name: &str) -> Result<Option<VarHandle<T>>, IrsdkError> {
    f.layout().optional(name)
}

/// Converts every record of an opened file.
pub fn samples_from_ibt(f: &IbtFile) -> Result<IbtSamples, IrsdkError> {
    let time = f.handle::<f64>("SessionTime")?;
    let lap = f.handle::<i32>("Lap")?;
    let pct = f.handle::<f32>("LapDistPct")?;
    let speed = f.handle::<f32>("Speed")?;
    let dist = opt::<f32>(f, "LapDist")?;
    let throttle = opt::<f32>(f, "Throttle")?;
    let brake = opt::<f32>(f, "Brake")?;
    let steer = opt::<f32>(f, "SteeringWheelAngle")?;
    let gear = opt::<i32>(f, "Gear")?;
    let rpm = opt::<f32>(f, "RPM")?;
    let yaw = opt::<f32>(f, "YawRate")?;
    let lat_acc = opt::<f32>(f, "LatAccel")?;
    let lat = opt::<f64>(f, "Lat")?;
    let lon = opt::<f64>(f, "Lon")?;
    let pit = opt::<bool>(f, "OnPitRoad")?;
    let surface = opt::<TrkLoc>(f, "PlayerTrackSurface")?;
    let fuel = opt::<f32>(f, "FuelLevel")?;
    let fuel_pct = opt::<f32>(f, "FuelLevelPct")?;
    let last_lap = opt::<f32>(f, "LapLastLapTime")?;
    let mut wear: Vec<[VarHandle<f32>; 3]> = Vec::new();
    for t in ["LF", "RF", "LR", "RR"] {
        let h = (
            opt::<f32>(f, &format!("{t}wearL"))?,
            opt::<f32>(f, &format!("{t}wearM"))?,
            opt::<f32>(f, &format!("{t}wearR"))?,
        );
        if let (Some(a), Some(b), Some(c)) = h {
            wear.push([a, b, c]);
        }
    }
    let get = |h: &Option<VarHandle<f32>>, row: &[u8]| h.as_ref().and_then(|h| h.try_get(row)).map(f64::from);
    let mut samples = Vec::with_capacity(f.row_count());
    for row in f.rows() {
        let lap_v = lap.get(row);
        let pct_v = f64::from(pct.get(row));
        let speed_v = f64::from(speed.get(row));
        let surf = surface.as_ref().and_then(|h| h.try_get(row));
        let blank = surf == Some(TrkLoc::NotInWorld) || (lap_v == 0 && pct_v == 0.0 && speed_v == 0.0);
        let tyre_wear = (wear.len() == 4).then(|| {
            let mut w = [0.0; 4];
            for (slot, hs) in w.iter_mut().zip(&wear) {
                let remaining: f64 = hs.iter().map(|h| f64::from(h.get(row))).sum::<f64>() / 3.0;
                *slot = ((1.0 - remaining) * 100.0).clamp(0.0, 100.0);
            }
            w
        });
        samples.push(Sample {
            time: time.get(row),
            lap: lap_v,
            lap_pct: pct_v,
            lap_dist: get(&dist, row),
            speed: speed_v,
            throttle: get(&throttle, row).unwrap_or(0.0),
            brake: get(&brake, row).unwrap_or(0.0),
            steering_deg: -get(&steer, row).unwrap_or(0.0).to_degrees(),
            gear: gear.as_ref().map_or(0, |h| h.get(row)),
            rpm: get(&rpm, row).unwrap_or(0.0),
            yaw_rate: get(&yaw, row),
            lat_accel: get(&lat_acc, row),
            latitude: lat.as_ref().and_then(|h| h.try_get(row)),
            longitude: lon.as_ref().and_then(|h| h.try_get(row)),
            on_pit_road: pit.as_ref().and_then(|h| h.try_get(row)).unwrap_or(false),
            off_track: surf.map(|s| s == TrkLoc::OffTrack),
            fuel_l: get(&fuel, row),
            fuel_pct: get(&fuel_pct, row).map(|p| p * 100.0),
            tyre_wear,
            blank,
            last_lap_time: get(&last_lap, row),
        });
    }
    let (sector_starts, track, track_length_m) = match f.session_info() {
        Ok(si) => (
            si.sectors.iter().map(|s| s.sector_start_pct).collect(),
            si.weekend.track_display_name.clone().or(si.weekend.track_name.clone()),
            si.weekend.track_length_m(),
        ),
        Err(_) => (Vec::new(), None, None),
    };
    Ok(IbtSamples { samples, sector_starts, track, track_length_m })
}
