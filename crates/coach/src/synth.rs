//! A small lap simulator for tests and benchmarks: a track of corners (arcs driven at a fixed
//! speed), a car that accelerates with drag-limited power and brakes at a fixed deceleration, and
//! a driver who can be told to make known mistakes ([`Fault`]). Lap times are exact (integrated
//! on a 0.5 m grid), so tests know the truth to compare the engine with.

use crate::sample::Sample;

/// One corner of a synthetic track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynthCorner {
    /// Middle of the arc, metres from the line.
    pub apex_m: f64,
    /// Arc length driven at the corner speed, metres.
    pub arc_m: f64,
    /// Corner speed, m/s.
    pub speed: f64,
    /// Turns left.
    pub left: bool,
}

/// A synthetic track and car.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthTrack {
    pub length_m: f64,
    pub corners: Vec<SynthCorner>,
    /// Top speed, m/s.
    pub vmax: f64,
    /// Acceleration at standstill, m/s² (falls with speed squared to 0 at `vmax`).
    pub accel: f64,
    /// Braking deceleration, m/s².
    pub decel: f64,
    /// Fuel per lap, litres.
    pub fuel_per_lap: f64,
}

/// A planted mistake at corner `corner` (0-based index into [`SynthTrack::corners`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Brakes `metres` earlier, reaches the corner speed early and holds it.
    EarlyBrake { corner: usize, metres: f64 },
    /// Drives the arc `kmh` slower.
    SlowCorner { corner: usize, kmh: f64 },
    /// Holds the corner speed `seconds` longer before full throttle.
    LateThrottle { corner: usize, seconds: f64 },
    /// Runs wide off the track for `metres` after the arc, `kmh` slower there.
    OffTrack { corner: usize, metres: f64, kmh: f64 },
}

const STEP: f64 = 0.5;
const LAT_ACCEL: f64 = 12.0;

impl SynthTrack {
    /// A 3.2 km track with six corners of different speeds.
    pub fn club() -> SynthTrack {
        let c = |apex_m, arc_m, kmh: f64, left| SynthCorner { apex_m, arc_m, speed: kmh / 3.6, left };
        SynthTrack {
            length_m: 3200.0,
            corners: vec![
                c(420.0, 40.0, 95.0, false),
                c(900.0, 60.0, 140.0, true),
                c(1350.0, 30.0, 70.0, false),
                c(1900.0, 50.0, 120.0, false),
                c(2400.0, 40.0, 85.0, true),
                c(2900.0, 50.0, 110.0, false),
            ],
            vmax: 78.0,
            accel: 9.0,
            decel: 14.0,
            fuel_per_lap: 2.4,
        }
    }

    /// A 5.6 km track of ten corners whose lap takes about two minutes (for benchmarks).
    pub fn long() -> SynthTrack {
        let mut t = SynthTrack::club();
        t.length_m = 5600.0;
        t.corners.truncate(5);
        let more: Vec<SynthCorner> =
            t.corners.iter().map(|c| SynthCorner { apex_m: c.apex_m + 2800.0, ..*c }).collect();
        t.corners.extend(more);
        t
    }

    fn caps(&self, faults: &[Fault]) -> (Vec<f64>, Vec<bool>) {
        let (mut cap, off) = self.base_caps(faults);
        // Early braking: start braking `metres` before the point where the lap without this
        // mistake starts braking, at the same deceleration, and hold the corner speed.
        for f in faults {
            if let Fault::EarlyBrake { corner, metres } = *f
                && let Some(c) = self.corners.get(corner)
            {
                let others: Vec<Fault> = faults.iter().copied().filter(|g| g != f).collect();
                let base = self.lap(&others);
                let n = cap.len();
                let arc_start = (((c.apex_m - c.arc_m / 2.0) / STEP).round().max(0.0) as usize).min(n - 1);
                let mut b = arc_start;
                while b > 0 && base.brake[b - 1] > 0.0 {
                    b -= 1;
                }
                let b0 = b.saturating_sub((metres / STEP).round() as usize);
                let v0 = base.speed[b0];
                for (g, x) in cap.iter_mut().enumerate().take(arc_start).skip(b0) {
                    let d = (g - b0) as f64 * STEP;
                    let v = (v0 * v0 - 2.0 * self.decel * d).max(0.0).sqrt().max(c.speed);
                    *x = x.min(v);
                }
            }
        }
        (cap, off)
    }

    fn base_caps(&self, faults: &[Fault]) -> (Vec<f64>, Vec<bool>) {
        let n = (self.length_m / STEP).round() as usize;
        let mut cap = vec![self.vmax; n];
        let mut off = vec![false; n];
        let idx = |m: f64| ((m / STEP).round().max(0.0) as usize).min(n);
        for (k, c) in self.corners.iter().enumerate() {
            let mut v = c.speed;
            let a = c.apex_m - c.arc_m / 2.0;
            let mut b = c.apex_m + c.arc_m / 2.0;
            for f in faults {
                match *f {
                    Fault::SlowCorner { corner, kmh } if corner == k => v -= kmh / 3.6,
                    Fault::LateThrottle { corner, seconds } if corner == k => b += seconds * c.speed,
                    _ => {}
                }
            }
            for x in &mut cap[idx(a)..idx(b)] {
                *x = x.min(v);
            }
            for f in faults {
                if let Fault::OffTrack { corner, metres, kmh } = *f
                    && corner == k
                {
                    let e = c.apex_m + c.arc_m / 2.0;
                    for g in idx(e)..idx(e + metres) {
                        cap[g] = cap[g].min(v - kmh / 3.6);
                        off[g] = true;
                    }
                }
            }
        }
        (cap, off)
    }

    /// Simulates one flying lap (periodic: speed at the line is the same at both ends).
    pub fn lap(&self, faults: &[Fault]) -> SynthLap {
        let (cap, off) = self.caps(faults);
        let n = cap.len();
        let mut v = cap.clone();
        // Forward (acceleration) over two laps, backward (braking) over two laps.
        let mut cur = cap[0];
        for pass in 0..2 * n {
            let i = pass % n;
            let a = self.accel * (1.0 - (cur / self.vmax).powi(2)).max(0.0);
            cur = (cur * cur + 2.0 * a * STEP).sqrt().min(cap[i]);
            if pass >= n {
                v[i] = cur;
            }
        }
        let mut cur = v[n - 1];
        for pass in 0..2 * n {
            let i = n - 1 - pass % n;
            cur = (cur * cur + 2.0 * self.decel * STEP).sqrt().min(v[i]);
            if pass >= n {
                v[i] = cur;
            }
        }
        // Curvature: a trapezoid over each arc, ramps of 20 m, sized for LAT_ACCEL at the
        // reference corner speed.
        let mut kappa = vec![0.0; n];
        for c in &self.corners {
            let k0 = LAT_ACCEL / (c.speed * c.speed) * if c.left { 1.0 } else { -1.0 };
            let (a, b) = (c.apex_m - c.arc_m / 2.0, c.apex_m + c.arc_m / 2.0);
            for (g, slot) in kappa.iter_mut().enumerate() {
                let d = g as f64 * STEP;
                let w = if d < a - 20.0 || d > b + 20.0 {
                    0.0
                } else if d < a {
                    (d - (a - 20.0)) / 20.0
                } else if d > b {
                    ((b + 20.0) - d) / 20.0
                } else {
                    1.0
                };
                *slot += k0 * w;
            }
        }
        let mut time = vec![0.0; n + 1];
        for i in 0..n {
            let vn = v[(i + 1) % n];
            time[i + 1] = time[i] + 2.0 * STEP / (v[i] + vn);
        }
        let mut throttle = vec![0.0; n];
        let mut brake = vec![0.0; n];
        for i in 0..n {
            let vn = v[(i + 1) % n];
            let a = (vn * vn - v[i] * v[i]) / (2.0 * STEP);
            if a < -0.5 {
                brake[i] = (-a / self.decel).min(1.0);
            } else if a > 0.2 || v[i] >= self.vmax - 0.01 {
                throttle[i] = 1.0;
            } else {
                throttle[i] = 0.3;
            }
        }
        SynthLap {
            length_m: self.length_m,
            step_m: STEP,
            speed: v,
            time,
            throttle,
            brake,
            kappa,
            off,
            fuel_per_lap: self.fuel_per_lap,
        }
    }
}

/// One simulated lap on a 0.5 m grid.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthLap {
    pub length_m: f64,
    /// Grid spacing, metres.
    pub step_m: f64,
    pub speed: Vec<f64>,
    /// Seconds at each grid point; one more entry than the grid: the lap time last.
    pub time: Vec<f64>,
    pub throttle: Vec<f64>,
    pub brake: Vec<f64>,
    /// Path curvature, 1/m, positive = left.
    pub kappa: Vec<f64>,
    pub off: Vec<bool>,
    pub fuel_per_lap: f64,
}

impl SynthLap {
    /// A lap from a resampled (real) lap: speed, pedals and curvature (lateral / speed²) on its
    /// grid; the lap time is integrated from the speeds, so edited speeds give exact truths.
    pub fn from_trace(t: &crate::trace::Trace) -> SynthLap {
        let n = t.len().saturating_sub(1).max(1);
        let step_m = t.step_m();
        let speed: Vec<f64> = t.speed[..n].iter().map(|v| v.max(0.5)).collect();
        let mut time = vec![0.0; n + 1];
        for i in 0..n {
            let vn = speed[(i + 1) % n];
            time[i + 1] = time[i] + 2.0 * step_m / (speed[i] + vn);
        }
        let kappa = (0..n).map(|g| t.lateral.as_ref().map_or(0.0, |l| l[g] / (speed[g] * speed[g]).max(1.0))).collect();
        SynthLap {
            length_m: t.length_m,
            step_m,
            speed,
            time,
            throttle: t.throttle[..n].to_vec(),
            brake: t.brake[..n].to_vec(),
            kappa,
            off: t.off_track[..n].to_vec(),
            fuel_per_lap: 0.1,
        }
    }

    /// Recomputes the lap time after the speeds were edited.
    pub fn retime(&mut self) {
        let n = self.speed.len();
        for i in 0..n {
            let vn = self.speed[(i + 1) % n];
            self.time[i + 1] = self.time[i] + 2.0 * self.step_m / (self.speed[i] + vn).max(1e-6);
        }
    }

    /// Lap time, seconds.
    pub fn lap_time(&self) -> f64 {
        self.time.last().copied().unwrap_or(0.0)
    }

    /// The sample at `tau` seconds into the lap.
    fn sample_at(&self, tau: f64) -> (f64, Sample) {
        let n = self.speed.len();
        let i = self.time.partition_point(|&t| t <= tau).saturating_sub(1).min(n - 1);
        let w = ((tau - self.time[i]) / (self.time[i + 1] - self.time[i])).clamp(0.0, 1.0);
        let j = (i + 1) % n;
        let lerp = |a: f64, b: f64| a + (b - a) * w;
        let d = (i as f64 + w) * self.step_m;
        let v = lerp(self.speed[i], self.speed[j]);
        let k = lerp(self.kappa[i], self.kappa[j]);
        let gear = (1 + (v / 14.0) as i32).min(6);
        let s = Sample {
            speed: v,
            throttle: lerp(self.throttle[i], self.throttle[j]),
            brake: lerp(self.brake[i], self.brake[j]),
            // Wheel angle ≈ curvature × wheelbase × steering ratio; the spec's sign: left < 0.
            steering_deg: -(k * 2.7 * 14.0).to_degrees(),
            gear,
            rpm: 4000.0 + 3000.0 * ((v / 14.0).fract()),
            yaw_rate: Some(v * k),
            lat_accel: Some(v * v * k),
            off_track: Some(self.off[i]),
            ..Sample::default()
        };
        (d, s)
    }
}

/// A stream of laps as a 60 Hz sim would record it.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthStream {
    pub samples: Vec<Sample>,
    /// Exact lap times of the laps driven, in order.
    pub lap_times: Vec<f64>,
    /// Lap counter of each of those laps.
    pub lap_numbers: Vec<i32>,
}

/// Drives `laps` one after another at `hz`, starting `lead_in_s` before the line (so the first
/// partial lap is incomplete) and stopping `tail_s` after the last crossing. The lap counter
/// starts at `first_lap`. `sample_phase` (0–1) shifts the sample clock against the line.
pub fn stream(
    laps: &[SynthLap],
    hz: f64,
    first_lap: i32,
    lead_in_s: f64,
    tail_s: f64,
    sample_phase: f64,
) -> SynthStream {
    if laps.is_empty() || hz.is_nan() || hz <= 0.0 {
        return SynthStream { samples: Vec::new(), lap_times: Vec::new(), lap_numbers: Vec::new() };
    }
    let mut starts = Vec::with_capacity(laps.len() + 1);
    let mut t = 100.0 + lead_in_s;
    for l in laps {
        starts.push(t);
        t += l.lap_time();
    }
    let end = t + tail_s;
    let dt = 1.0 / hz;
    let mut samples = Vec::new();
    let mut k = 0u64;
    let mut fuel = 40.0;
    let total_len: f64 = laps.iter().map(|l| l.length_m).sum();
    loop {
        let time = 100.0 + (k as f64 + sample_phase) * dt;
        if time > end {
            break;
        }
        k += 1;
        // Which lap: before the first start we drive the end of lap 0's profile.
        let j = starts.partition_point(|&s| s <= time);
        let (lap, tau, number) = if j == 0 {
            let l = &laps[0];
            (l, l.lap_time() - (starts[0] - time), first_lap - 1)
        } else if j > laps.len() || time >= t {
            let l = &laps[laps.len() - 1];
            (l, time - t, first_lap + laps.len() as i32)
        } else {
            (&laps[j - 1], time - starts[j - 1], first_lap + j as i32 - 1)
        };
        let (d, mut s) = lap.sample_at(tau.max(0.0));
        s.time = time;
        s.lap = number;
        s.lap_pct = d / lap.length_m;
        s.lap_dist = Some(d);
        fuel -= lap.fuel_per_lap * s.speed * dt / (total_len / laps.len() as f64);
        s.fuel_l = Some(fuel);
        s.fuel_pct = Some(fuel / 60.0 * 100.0);
        let worn = 2.0 + 0.5 * (time - 100.0) / laps[0].lap_time();
        s.tyre_wear = Some([worn, worn * 1.1, worn * 0.8, worn * 0.9]);
        samples.push(s);
    }
    SynthStream {
        samples,
        lap_times: laps.iter().map(SynthLap::lap_time).collect(),
        lap_numbers: (0..laps.len()).map(|i| first_lap + i as i32).collect(),
    }
}
