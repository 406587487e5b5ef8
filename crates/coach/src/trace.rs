//! Distance alignment: a complete lap resampled onto a fixed grid of lap fractions, so laps
//! compare point by point, and the delta-time trace between two of them.

use serde::{Deserialize, Serialize};

use crate::laps::{Lap, Laps};
use crate::sample::Sample;

/// Default grid spacing, metres.
pub const DEFAULT_STEP_M: f64 = 1.0;
/// Fewest grid points.
pub const MIN_POINTS: usize = 200;
/// Most grid points (a 20 km track at 1 m).
pub const MAX_POINTS: usize = 20_001;

/// Number of grid points for a track of `length_m` at `step_m` spacing (clamped).
pub fn grid_points(length_m: f64, step_m: f64) -> usize {
    let n = if length_m.is_finite() && step_m.is_finite() && step_m > 0.0 { (length_m / step_m).round() } else { 0.0 };
    (n as usize + 1).clamp(MIN_POINTS, MAX_POINTS)
}

/// One lap on the grid: point `g` is at lap fraction `g / (n − 1)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// Track length the grid is laid on, metres.
    pub length_m: f64,
    /// Seconds since the lap started; `time[0] == 0`, last = lap time.
    pub time: Vec<f64>,
    /// m/s.
    pub speed: Vec<f64>,
    /// 0–1.
    pub throttle: Vec<f64>,
    /// 0–1.
    pub brake: Vec<f64>,
    /// Degrees, negative = left.
    pub steering: Vec<f64>,
    pub gear: Vec<i32>,
    pub rpm: Vec<f64>,
    /// Lateral acceleration, m/s² (from the sensor, or yaw rate × speed), when the data has it.
    pub lateral: Option<Vec<f64>>,
    /// Off the track surface.
    pub off_track: Vec<bool>,
}

impl Trace {
    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.time.len()
    }

    /// Whether the trace has no points (never true for a built trace).
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// Lap time, seconds.
    pub fn lap_time(&self) -> f64 {
        self.time.last().copied().unwrap_or(0.0)
    }

    /// Metres per grid step.
    pub fn step_m(&self) -> f64 {
        self.length_m / (self.len().max(2) - 1) as f64
    }

    /// Distance of grid point `g`, metres.
    pub fn dist(&self, g: usize) -> f64 {
        g as f64 * self.step_m()
    }

    /// Grid point nearest to `metres` (clamped).
    pub fn index_at(&self, metres: f64) -> usize {
        let g = (metres / self.step_m()).round();
        if g.is_finite() && g > 0.0 { (g as usize).min(self.len() - 1) } else { 0 }
    }
}

/// Resamples a complete lap onto `n` grid points over a track of `length_m`. `None` for an
/// incomplete lap or one with fewer than two usable samples.
pub fn resample(samples: &[Sample], laps: &Laps, lap: &Lap, n: usize, length_m: f64) -> Option<Trace> {
    if !lap.complete || n < 2 || lap.last >= samples.len() || lap.time <= 0.0 {
        return None;
    }
    // Points with strictly increasing fraction.
    let mut pts: Vec<(f64, usize)> = Vec::with_capacity(lap.last - lap.first + 1);
    for i in lap.first..=lap.last {
        let Some(&u) = laps.progress.get(i) else { break };
        if !u.is_finite() {
            continue;
        }
        let rel = u - lap.base;
        if pts.last().is_none_or(|&(r, _)| rel > r) {
            pts.push((rel, i));
        }
    }
    if pts.len() < 2 {
        return None;
    }
    let lateral_src = samples[lap.first..=lap.last].iter().all(|s| s.lat_accel.is_some() || s.yaw_rate.is_some());
    let mut t = Trace {
        length_m,
        time: Vec::with_capacity(n),
        speed: Vec::with_capacity(n),
        throttle: Vec::with_capacity(n),
        brake: Vec::with_capacity(n),
        steering: Vec::with_capacity(n),
        gear: Vec::with_capacity(n),
        rpm: Vec::with_capacity(n),
        lateral: lateral_src.then(|| Vec::with_capacity(n)),
        off_track: Vec::with_capacity(n),
    };
    let mut j = 0;
    let last = (n - 1) as f64;
    for g in 0..n {
        let x = g as f64 / last;
        while j + 2 < pts.len() && pts[j + 1].0 <= x {
            j += 1;
        }
        let (r0, i0) = pts[j];
        let (r1, i1) = pts[j + 1];
        let w = ((x - r0) / (r1 - r0)).clamp(0.0, 1.0);
        let (a, b) = (&samples[i0], &samples[i1]);
        let lerp = |p: f64, q: f64| p + (q - p) * w;
        t.time.push(lerp(a.time, b.time) - lap.start_time);
        t.speed.push(lerp(a.speed, b.speed));
        t.throttle.push(lerp(a.throttle, b.throttle));
        t.brake.push(lerp(a.brake, b.brake));
        t.steering.push(lerp(a.steering_deg, b.steering_deg));
        let near = if w < 0.5 { a } else { b };
        t.gear.push(near.gear);
        t.rpm.push(lerp(a.rpm, b.rpm));
        if let Some(lat) = t.lateral.as_mut() {
            lat.push(lerp(lateral_of(a), lateral_of(b)));
        }
        t.off_track.push(near.off_track == Some(true));
    }
    t.time[0] = 0.0;
    t.time[n - 1] = lap.time;
    // Time must not run backwards on the grid (it cannot in real data; guard rounding).
    for g in 1..n {
        if t.time[g] < t.time[g - 1] {
            t.time[g] = t.time[g - 1];
        }
    }
    Some(t)
}

fn lateral_of(s: &Sample) -> f64 {
    s.lat_accel.or_else(|| s.yaw_rate.map(|y| y * s.speed)).unwrap_or(0.0)
}

/// Delta-time trace: `lap.time[g] − reference.time[g]` (positive = lap is behind). Both traces
/// must be on the same grid; a shorter one is compared over the common points.
pub fn delta(lap: &Trace, reference: &Trace) -> Vec<f64> {
    lap.time.iter().zip(&reference.time).map(|(a, b)| a - b).collect()
}
