//! Corners found from the data, and what the driver did in each.
//!
//! Corners are the valleys of the (10 m smoothed) speed trace of a reference lap that drop at
//! least [`MIN_SPEED_DROP_MS`] below the speed before and rise as much after (a hysteresis
//! "zig-zag" over the lap), kept where the car was actually turning (lateral acceleration, or
//! steering when the data has no lateral channel). They are named T1, T2… in lap-distance order;
//! another lap, session or driver on the same track gets the same names by matching apex
//! distances ([`CornerMap::match_to`]).

use serde::{Deserialize, Serialize};

use crate::trace::Trace;

/// A valley must be this much slower than the peaks either side, m/s (8 km/h).
pub const MIN_SPEED_DROP_MS: f64 = 8.0 / 3.6;
/// Lateral acceleration that makes a valley a corner, m/s².
pub const MIN_CORNER_LATERAL: f64 = 3.0;
/// Steering angle that makes a valley a corner when there is no lateral channel, degrees.
pub const MIN_CORNER_STEERING_DEG: f64 = 5.0;
/// Brake above this is braking (0–1).
pub const BRAKE_ON: f64 = 0.05;
/// A braking zone must reach at least this much brake (0–1).
pub const BRAKE_ZONE_MIN: f64 = 0.10;
/// Throttle below this is a lift (0–1).
pub const LIFT: f64 = 0.90;
/// Throttle at or above this is picking up (0–1).
pub const PICKUP: f64 = 0.20;
/// Throttle at or above this is full (0–1).
pub const FULL: f64 = 0.95;
/// Pedal below this is released (coasting when both are).
pub const PEDAL_OFF: f64 = 0.05;
/// Smoothing half-window for corner finding, metres.
const SMOOTH_M: f64 = 10.0;
/// Apex search radius around a corner's reference apex, metres.
const APEX_RADIUS_M: f64 = 50.0;
/// Exit speed is read this far after the reference's full-throttle point, metres.
const EXIT_AFTER_FULL_M: f64 = 20.0;

/// Which way a corner turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    Left,
    Right,
}

/// One corner of a track, as laid down by the reference lap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Corner {
    /// "T1", "T2"… in lap-distance order.
    pub id: String,
    /// Where the reference lap was slowest, metres from the line.
    pub apex_m: f64,
    /// Where the reference lap started braking or lifting, metres.
    pub entry_m: f64,
    /// Where the corner ends: exit speed is read here, metres.
    pub exit_m: f64,
    /// Reference minimum speed, km/h.
    pub min_speed_kmh: f64,
    pub direction: Option<Direction>,
}

/// The corners of a track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CornerMap {
    pub length_m: f64,
    pub corners: Vec<Corner>,
}

/// Box-filter smoothing with half-window `h` points.
pub(crate) fn smooth(v: &[f64], h: usize) -> Vec<f64> {
    let n = v.len();
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0);
    let mut acc = 0.0;
    for x in v {
        acc += x;
        prefix.push(acc);
    }
    (0..n)
        .map(|i| {
            let a = i.saturating_sub(h);
            let b = (i + h + 1).min(n);
            (prefix[b] - prefix[a]) / (b - a) as f64
        })
        .collect()
}

/// Valleys of `v` with hysteresis `drop`.
fn valleys(v: &[f64], drop: f64) -> Vec<usize> {
    let mut out = Vec::new();
    let mut looking_for_min = false;
    let mut cand_max = 0;
    let mut cand_min = 0;
    for (i, &x) in v.iter().enumerate() {
        if !looking_for_min {
            if x > v[cand_max] {
                cand_max = i;
            }
            if v[cand_max] - x >= drop {
                looking_for_min = true;
                cand_min = i;
            }
        } else {
            if x < v[cand_min] {
                cand_min = i;
            }
            if x - v[cand_min] >= drop {
                out.push(cand_min);
                looking_for_min = false;
                cand_max = i;
            }
        }
    }
    // The last corner before the line: the car speeds up over the line into the next lap.
    if looking_for_min && cand_min + 1 < v.len() && v[v.len() - 1] - v[cand_min] >= drop / 2.0 {
        out.push(cand_min);
    }
    out
}

impl CornerMap {
    /// Finds the corners of a reference lap.
    pub fn detect(reference: &Trace) -> CornerMap {
        let n = reference.len();
        let step = reference.step_m();
        let h = ((SMOOTH_M / step).round() as usize).max(1);
        let sm = smooth(&reference.speed, h);
        let radius = ((APEX_RADIUS_M / step).round() as usize).max(1);
        let has_lateral = reference.lateral.as_ref().is_some_and(|l| l.iter().any(|x| x.abs() > 0.5));
        let has_steering = reference.steering.iter().any(|x| x.abs() > 0.5);
        let mut apexes: Vec<usize> = valleys(&sm, MIN_SPEED_DROP_MS)
            .into_iter()
            .filter(|&g| {
                let (a, b) = (g.saturating_sub(radius), (g + radius + 1).min(n));
                match (&reference.lateral, has_lateral, has_steering) {
                    (Some(lat), true, _) => lat[a..b].iter().any(|x| x.abs() >= MIN_CORNER_LATERAL),
                    (_, _, true) => reference.steering[a..b].iter().any(|x| x.abs() >= MIN_CORNER_STEERING_DEG),
                    _ => true,
                }
            })
            .collect();
        apexes.dedup();
        let mut corners = Vec::with_capacity(apexes.len());
        let apex_m: Vec<f64> = apexes.iter().map(|&g| reference.dist(g)).collect();
        for (k, &g) in apexes.iter().enumerate() {
            let lo = if k == 0 { 0 } else { apexes[k - 1] };
            let hi = apexes.get(k + 1).copied().unwrap_or(n - 1);
            let m = measure_at(reference, g, lo, hi, radius);
            let a = g.saturating_sub(radius);
            let b = (g + radius + 1).min(n);
            let direction = turn_direction(reference, a, b);
            let next_entry_limit = apex_m.get(k + 1).copied().unwrap_or(reference.length_m);
            let exit = m
                .full_throttle_idx
                .map_or(apex_m[k] + 2.0 * APEX_RADIUS_M, |f| reference.dist(f) + EXIT_AFTER_FULL_M)
                .min(next_entry_limit);
            corners.push(Corner {
                id: format!("T{}", k + 1),
                apex_m: apex_m[k],
                entry_m: reference.dist(m.onset_idx),
                exit_m: exit.min(reference.length_m),
                min_speed_kmh: m.min_speed * 3.6,
                direction,
            });
        }
        // Entries must not precede the previous apex, exits must not pass the next entry.
        for k in 1..corners.len() {
            let prev_apex = corners[k - 1].apex_m;
            if corners[k].entry_m < prev_apex {
                corners[k].entry_m = prev_apex;
            }
            let entry = corners[k].entry_m;
            if corners[k - 1].exit_m > entry {
                corners[k - 1].exit_m = entry.max(corners[k - 1].apex_m);
            }
        }
        CornerMap { length_m: reference.length_m, corners }
    }

    /// Renames `other`'s corners after this map's: a corner of `other` whose apex lies within
    /// `tolerance_m` of one of ours takes its id; the rest are named `T?n` after their order.
    pub fn match_to(&self, other: &CornerMap, tolerance_m: f64) -> CornerMap {
        let scale = if other.length_m > 0.0 { self.length_m / other.length_m } else { 1.0 };
        let corners = other
            .corners
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let at = c.apex_m * scale;
                let best = self
                    .corners
                    .iter()
                    .map(|m| (m, (m.apex_m - at).abs()))
                    .filter(|(_, d)| *d <= tolerance_m)
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                let id = best.map_or_else(|| format!("T?{}", i + 1), |(m, _)| m.id.clone());
                Corner { id, ..c.clone() }
            })
            .collect();
        CornerMap { length_m: other.length_m, corners }
    }

    /// Grid index of each corner's reference apex on `trace`.
    pub fn apex_indices(&self, trace: &Trace) -> Vec<usize> {
        self.corners.iter().map(|c| trace.index_at(c.apex_m)).collect()
    }
}

fn turn_direction(t: &Trace, a: usize, b: usize) -> Option<Direction> {
    let sum: f64 = match &t.lateral {
        Some(l) if l[a..b].iter().any(|x| x.abs() > 0.5) => l[a..b].iter().sum(),
        _ => -t.steering[a..b].iter().sum::<f64>(),
    };
    if sum > 0.0 {
        Some(Direction::Left)
    } else if sum < 0.0 {
        Some(Direction::Right)
    } else {
        None
    }
}

/// What one lap did in one corner (grid indices on that lap's trace).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RawMetrics {
    pub min_idx: usize,
    pub min_speed: f64,
    pub brake_idx: Option<usize>,
    pub release_idx: Option<usize>,
    pub onset_idx: usize,
    pub peak_brake: f64,
    pub pickup_idx: Option<usize>,
    pub full_throttle_idx: Option<usize>,
}

/// Measures the corner whose reference apex is grid point `apex`, searching between `lo` and
/// `hi` (the neighbouring apexes).
pub(crate) fn measure_at(t: &Trace, apex: usize, lo: usize, hi: usize, radius: usize) -> RawMetrics {
    let n = t.len();
    let hi = hi.min(n - 1);
    let a = apex.saturating_sub(radius).max(lo);
    let b = (apex + radius).min(hi);
    let mut min_idx = apex.min(n - 1);
    for g in a..=b {
        if t.speed[g] < t.speed[min_idx] {
            min_idx = g;
        }
    }
    // Braking zone: the run of brake nearest before the slowest point (a run may carry on
    // past it when trail-braking).
    let peak_idx = (lo..=min_idx).rev().find(|&g| t.brake[g] >= BRAKE_ZONE_MIN);
    let (brake_idx, release_idx) = match peak_idx {
        Some(p) => {
            let mut s = p;
            while s > lo && t.brake[s - 1] >= BRAKE_ON {
                s -= 1;
            }
            let mut e = p;
            while e < hi && t.brake[e + 1] >= BRAKE_ON {
                e += 1;
            }
            (Some(s), Some(e))
        }
        None => (None, None),
    };
    let peak_brake = match (brake_idx, release_idx) {
        (Some(s), Some(e)) => t.brake[s..=e].iter().copied().fold(0.0, f64::max),
        _ => 0.0,
    };
    // Lift: walk back from the slowest point while off full throttle.
    let mut lift = min_idx;
    while lift > lo && t.throttle[lift - 1] < LIFT {
        lift -= 1;
    }
    let lift_idx = if lift > lo {
        lift
    } else {
        // Never at full throttle since the last corner: the fastest point before this one.
        let mut m = lo;
        for g in lo..=min_idx {
            if t.speed[g] > t.speed[m] {
                m = g;
            }
        }
        m
    };
    let onset_idx = brake_idx.map_or(lift_idx, |bk| bk.min(lift_idx));
    let from = release_idx.map_or(min_idx, |r| r.max(onset_idx)).min(hi);
    let pickup_idx = (from..=hi).find(|&g| t.throttle[g] >= PICKUP && t.brake[g] < BRAKE_ON);
    let full_throttle_idx = pickup_idx.and_then(|p| (p..=hi).find(|&g| t.throttle[g] >= FULL));
    RawMetrics {
        min_idx,
        min_speed: t.speed[min_idx],
        brake_idx,
        release_idx,
        onset_idx,
        peak_brake,
        pickup_idx,
        full_throttle_idx,
    }
}

/// Per-corner metrics of one lap, in driver units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CornerMetrics {
    pub id: String,
    /// Start of braking, metres from the line (`None`: no braking, a lift or flat).
    pub brake_point_m: Option<f64>,
    /// Where braking or lifting started, metres.
    pub onset_m: f64,
    /// Highest brake pressure, %.
    pub peak_brake_pct: f64,
    /// Time braking while turning (brake on with lateral acceleration or steering above 30 % of
    /// the corner's peak), seconds.
    pub trail_brake_s: f64,
    /// Time with neither pedal pressed between onset and full throttle, seconds.
    pub coasting_s: f64,
    /// km/h.
    pub min_speed_kmh: f64,
    /// Where the minimum speed was, metres.
    pub min_speed_m: f64,
    /// Throttle pick-up (≥ 20 % with the brake off) after the braking, metres.
    pub throttle_pickup_m: Option<f64>,
    /// Full throttle (≥ 95 %), metres.
    pub full_throttle_m: Option<f64>,
    /// From pick-up to full throttle, seconds.
    pub time_to_full_s: Option<f64>,
    /// Speed at the corner's exit point, km/h.
    pub exit_speed_kmh: f64,
    /// Gear at the minimum speed.
    pub gear: i32,
    /// Distance driven off track between entry and exit, metres.
    pub off_track_m: f64,
}

/// Measures every corner of `map` on `trace`.
pub fn corner_metrics(trace: &Trace, map: &CornerMap) -> Vec<CornerMetrics> {
    let apexes = map.apex_indices(trace);
    let radius = ((APEX_RADIUS_M / trace.step_m()).round() as usize).max(1);
    let n = trace.len();
    map.corners
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let lo = if k == 0 { 0 } else { apexes[k - 1] };
            let hi = apexes.get(k + 1).copied().unwrap_or(n - 1);
            let raw = measure_at(trace, apexes[k], lo, hi, radius);
            finish_metrics(trace, c, &raw, radius)
        })
        .collect()
}

pub(crate) fn finish_metrics(t: &Trace, c: &Corner, m: &RawMetrics, radius: usize) -> CornerMetrics {
    let n = t.len();
    let dt = |g: usize| if g + 1 < n { t.time[g + 1] - t.time[g] } else { 0.0 };
    let exit_idx = t.index_at(c.exit_m);
    let end = m.full_throttle_idx.unwrap_or(exit_idx).max(m.onset_idx).min(n - 1);
    let mut coasting = 0.0;
    for g in m.onset_idx..end {
        if t.throttle[g] < PEDAL_OFF && t.brake[g] < PEDAL_OFF {
            coasting += dt(g);
        }
    }
    let (a, b) = (m.min_idx.saturating_sub(radius), (m.min_idx + radius + 1).min(n));
    let turn: Vec<f64> = match &t.lateral {
        Some(l) if l[a..b].iter().any(|x| x.abs() > 0.5) => l.iter().map(|x| x.abs()).collect(),
        _ => t.steering.iter().map(|x| x.abs()).collect(),
    };
    let peak_turn = turn[a..b].iter().copied().fold(0.0, f64::max);
    let mut trail = 0.0;
    if let (Some(s), Some(e)) = (m.brake_idx, m.release_idx)
        && peak_turn > 0.0
    {
        for g in s..=e.min(n - 1) {
            if t.brake[g] >= BRAKE_ON && turn[g] >= 0.3 * peak_turn {
                trail += dt(g);
            }
        }
    }
    let lo = m.onset_idx.min(m.min_idx);
    let off = t.off_track[lo..=exit_idx.max(m.min_idx).min(n - 1)].iter().filter(|x| **x).count();
    CornerMetrics {
        id: c.id.clone(),
        brake_point_m: m.brake_idx.map(|g| t.dist(g)),
        onset_m: t.dist(m.onset_idx),
        peak_brake_pct: m.peak_brake * 100.0,
        trail_brake_s: trail,
        coasting_s: coasting,
        min_speed_kmh: m.min_speed * 3.6,
        min_speed_m: t.dist(m.min_idx),
        throttle_pickup_m: m.pickup_idx.map(|g| t.dist(g)),
        full_throttle_m: m.full_throttle_idx.map(|g| t.dist(g)),
        time_to_full_s: match (m.pickup_idx, m.full_throttle_idx) {
            (Some(p), Some(f)) => Some(t.time[f] - t.time[p]),
            _ => None,
        },
        exit_speed_kmh: t.speed[exit_idx] * 3.6,
        gear: t.gear[m.min_idx],
        off_track_m: off as f64 * t.step_m(),
    }
}
