//! Mistakes planted on a recorded lap, for tests of every path the coaching takes (the engine,
//! `POST /api/coaching/analyze`, the live coach, cues in the driver agent).
//!
//! The best lap of a real file is laid on its distance grid ([`SynthLap::from_trace`]) and
//! edited: braking earlier, a slower corner, full throttle later, an excursion off track. The
//! edited lap's time is integrated from its speeds, so each plant carries the exact time it
//! costs (the truth a finding is checked against). [`crate::synth::stream`] samples the laps at
//! a sim's rate again.

use crate::analysis::{AnalysisOptions, Stream};
use crate::corners::{CornerMap, CornerMetrics, corner_metrics};
use crate::findings::FindingKind;
use crate::laps::LapOptions;
use crate::sample::Sample;
use crate::synth::SynthLap;
use crate::trace::grid_points;

/// One planted mistake: the edited lap, where and what, and what it costs.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantedLap {
    pub lap: SynthLap,
    /// The corner's id as the engine names it ("T1").
    pub corner: String,
    pub kind: FindingKind,
    /// Seconds lost against the unedited lap (exact).
    pub truth_s: f64,
}

/// The unedited lap of a recording and the four mistakes planted on it.
#[derive(Debug, Clone, PartialEq)]
pub struct RealLapPlants {
    pub base: SynthLap,
    /// The corners the engine finds on the unedited lap.
    pub corners: usize,
    pub plants: Vec<PlantedLap>,
}

/// Why nothing could be planted on a recording.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlantError {
    #[error("the recording cannot be analysed: {0}")]
    Stream(String),
    #[error("the recording has no complete valid lap")]
    NoLap,
    #[error("the best lap has {0} corner(s); two with braking and full throttle are needed")]
    TooFewCorners(usize),
    #[error("corner {0} leaves no room on the lap for the planted edit")]
    NoRoom(String),
}

/// Grid index of `m` metres, within the lap.
fn idx(l: &SynthLap, m: f64) -> usize {
    ((m / l.step_m).round().max(0.0) as usize).min(l.speed.len().saturating_sub(1))
}

fn no_room(c: &CornerMetrics) -> PlantError {
    PlantError::NoRoom(c.id.clone())
}

/// Braking `metres` earlier into `c`, at the same deceleration, down to the same minimum speed.
pub fn early_brake(base: &SynthLap, c: &CornerMetrics, metres: f64) -> Result<SynthLap, PlantError> {
    let mut l = base.clone();
    let gb = idx(&l, c.brake_point_m.ok_or_else(|| no_room(c))?);
    let ga = idx(&l, c.min_speed_m);
    let d = (metres / l.step_m).round() as usize;
    if d > gb || ga < gb {
        return Err(no_room(c));
    }
    let drop_at_start = base.speed[gb] - base.speed[gb - d];
    for g in gb - d..=ga {
        let src = g + d;
        if src <= ga {
            l.speed[g] = (base.speed[src] - drop_at_start).max(base.speed[ga]).min(base.speed[g]);
            l.brake[g] = base.brake[src];
            l.throttle[g] = base.throttle[src];
        } else {
            l.speed[g] = base.speed[ga].min(base.speed[g]);
            l.brake[g] = base.brake[ga];
            l.throttle[g] = base.throttle[ga];
        }
    }
    l.retime();
    Ok(l)
}

/// `kmh` slower through `c`: the speed lowered from the corner's onset, most at its apex, back
/// to the original at full throttle.
pub fn slow_corner(base: &SynthLap, c: &CornerMetrics, kmh: f64) -> Result<SynthLap, PlantError> {
    let mut l = base.clone();
    let gb = idx(&l, c.onset_m);
    let ga = idx(&l, c.min_speed_m);
    let gf = idx(&l, c.full_throttle_m.unwrap_or(c.min_speed_m + 60.0)).max(ga + 1);
    if ga < gb || gf >= l.speed.len() {
        return Err(no_room(c));
    }
    for g in gb..=gf {
        let w = if g <= ga { (g - gb) as f64 / (ga - gb).max(1) as f64 } else { (gf - g) as f64 / (gf - ga) as f64 };
        l.speed[g] = (base.speed[g] - kmh / 3.6 * w).max(1.0);
    }
    l.retime();
    Ok(l)
}

/// Full throttle `seconds` later out of `c`: the speed held, then the same acceleration run
/// delayed by the distance held (never faster than the original), up to the next corner's
/// braking (`next_onset_m`) where it joins the original.
pub fn late_throttle(
    base: &SynthLap,
    c: &CornerMetrics,
    next_onset_m: f64,
    seconds: f64,
) -> Result<SynthLap, PlantError> {
    let mut l = base.clone();
    let gf = idx(&l, c.full_throttle_m.ok_or_else(|| no_room(c))?);
    let d = (seconds * base.speed[gf] / l.step_m).round() as usize;
    if gf == 0 || gf + d >= l.speed.len() {
        return Err(no_room(c));
    }
    let part = base.throttle[gf - 1].min(0.9);
    for g in gf..gf + d {
        l.speed[g] = base.speed[gf];
        l.throttle[g] = part;
        l.brake[g] = 0.0;
    }
    let next = idx(&l, next_onset_m);
    for g in gf + d..base.speed.len() {
        let src = g - d;
        if g >= next && base.speed[src] >= base.speed[g] {
            break;
        }
        if base.speed[src] < base.speed[g] {
            l.speed[g] = base.speed[src];
            l.throttle[g] = base.throttle[src];
            l.brake[g] = base.brake[src];
        }
    }
    l.retime();
    Ok(l)
}

/// Off track for `metres` after the apex of `c`, `kmh` slower there (blended in and out).
pub fn off_track(base: &SynthLap, c: &CornerMetrics, metres: f64, kmh: f64) -> SynthLap {
    let mut l = base.clone();
    let ga = c.min_speed_m;
    for g in 0..l.speed.len() {
        let d = g as f64 * l.step_m;
        let w = if d < ga - 20.0 || d > ga + metres + 50.0 {
            0.0
        } else if d < ga + 10.0 {
            (d - (ga - 20.0)) / 30.0
        } else if d <= ga + metres {
            1.0
        } else {
            (ga + metres + 50.0 - d) / 50.0
        };
        l.speed[g] = (base.speed[g] - kmh / 3.6 * w).max(1.0);
        if d >= ga && d <= ga + metres {
            l.off[g] = true;
        }
    }
    l.retime();
    l
}

fn planted(base: &SynthLap, lap: SynthLap, c: &CornerMetrics, kind: FindingKind) -> PlantedLap {
    PlantedLap { truth_s: lap.lap_time() - base.lap_time(), lap, corner: c.id.clone(), kind }
}

/// The best lap of a recording (iRacing's sector starts in `laps`) and four mistakes planted on
/// it: braking 15 m early into the first corner, 8 km/h slower through the second, full throttle
/// 0.3 s late out of the first, 30 m off track after the second's apex at 12 km/h less.
pub fn plant_on_best_lap(samples: Vec<Sample>, laps: LapOptions) -> Result<RealLapPlants, PlantError> {
    let opts = AnalysisOptions { laps, ..AnalysisOptions::default() };
    let real = Stream::new(samples, &opts).map_err(|e| PlantError::Stream(e.to_string()))?;
    let best = real.best_lap().ok_or(PlantError::NoLap)?;
    let trace = real.trace(best, grid_points(real.length_m, 0.5)).ok_or(PlantError::NoLap)?;
    let map = CornerMap::detect(&trace);
    let m = corner_metrics(&trace, &map);
    let [first, second, ..] = m.as_slice() else { return Err(PlantError::TooFewCorners(m.len())) };
    let base = SynthLap::from_trace(&trace);
    let plants = vec![
        planted(&base, early_brake(&base, first, 15.0)?, first, FindingKind::EarlyBraking),
        planted(&base, slow_corner(&base, second, 8.0)?, second, FindingKind::MinSpeed),
        planted(&base, late_throttle(&base, first, second.onset_m, 0.3)?, first, FindingKind::LateThrottle),
        planted(&base, off_track(&base, second, 30.0, 12.0), second, FindingKind::OffTrack),
    ];
    Ok(RealLapPlants { base, corners: map.corners.len(), plants })
}
