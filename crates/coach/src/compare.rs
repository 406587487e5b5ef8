//! One lap against a reference lap: the delta trace, where the time went (segments that add up to
//! the lap delta), and per-corner evidence.
//!
//! The lap is cut into segments at a boundary before each corner: the earlier of the two laps'
//! braking/lift onsets, less [`BOUNDARY_MARGIN_M`]. Segment `Tn` runs from its boundary to the next
//! corner's, so it holds the corner's entry, its exit and the straight after it (where a poor exit
//! costs its time); the segment `start` runs from the line to the first boundary. Each segment's
//! delta is `delta(end) − delta(start)`, so the segments add up to the lap delta by construction.

use serde::{Deserialize, Serialize};

use crate::corners::{CornerMap, CornerMetrics, finish_metrics, measure_at};
use crate::trace::{Trace, delta};

/// How far before the earlier onset a corner's segment starts, metres.
pub const BOUNDARY_MARGIN_M: f64 = 15.0;
/// Braking-point differences below this are noise, metres.
pub const BRAKE_POINT_M: f64 = 5.0;
/// Peak brake differences below this are noise, percentage points.
pub const PEAK_BRAKE_PCT: f64 = 10.0;
/// Minimum/exit speed differences below this are noise, km/h.
pub const SPEED_KMH: f64 = 3.0;
/// Coasting differences below this are noise, seconds.
pub const COASTING_S: f64 = 0.2;
/// Throttle timing differences below this are noise, seconds.
pub const THROTTLE_S: f64 = 0.1;

/// A piece of the lap with its share of the lap delta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentDelta {
    /// "start" or a corner id.
    pub id: String,
    pub from_m: f64,
    pub to_m: f64,
    /// Time lost (+) or gained (−) in the segment, seconds.
    pub delta_s: f64,
}

/// A straight between two corners.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StraightMetrics {
    /// "T1-T2", "T9-line", "line-T1".
    pub id: String,
    pub from_m: f64,
    pub to_m: f64,
    pub delta_s: f64,
    pub top_speed_kmh: f64,
    pub reference_top_speed_kmh: f64,
    /// Share of the straight at full throttle, %.
    pub full_throttle_pct: f64,
}

/// One fact that differs from the reference, beyond its noise threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Evidence {
    BrakingEarlier { metres: f64 },
    BrakingLater { metres: f64 },
    LessBrake { pct: f64 },
    MinSpeedLower { kmh: f64 },
    MinSpeedHigher { kmh: f64 },
    CoastingLonger { seconds: f64 },
    ThrottleLater { seconds: f64, metres: f64 },
    ThrottleEarlier { seconds: f64, metres: f64 },
    ExitSpeedLower { kmh: f64 },
    ExitSpeedHigher { kmh: f64 },
    OffTrack { metres: f64 },
}

impl Evidence {
    /// Driver-facing text, e.g. "braking 14 m earlier".
    pub fn text(&self) -> String {
        match *self {
            Evidence::BrakingEarlier { metres } => format!("braking {metres:.0} m earlier"),
            Evidence::BrakingLater { metres } => format!("braking {metres:.0} m later"),
            Evidence::LessBrake { pct } => format!("peak brake {pct:.0} % lower"),
            Evidence::MinSpeedLower { kmh } => format!("minimum speed {kmh:.0} km/h lower"),
            Evidence::MinSpeedHigher { kmh } => format!("minimum speed {kmh:.0} km/h higher"),
            Evidence::CoastingLonger { seconds } => format!("{seconds:.1} s more coasting"),
            Evidence::ThrottleLater { seconds, metres } => {
                format!("full throttle {seconds:.2} s ({metres:.0} m) later")
            }
            Evidence::ThrottleEarlier { seconds, metres } => {
                format!("full throttle {seconds:.2} s ({metres:.0} m) earlier")
            }
            Evidence::ExitSpeedLower { kmh } => format!("exit speed {kmh:.0} km/h lower"),
            Evidence::ExitSpeedHigher { kmh } => format!("exit speed {kmh:.0} km/h higher"),
            Evidence::OffTrack { metres } => format!("{metres:.0} m off track"),
        }
    }
}

/// One corner of a lap against the reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CornerComparison {
    pub id: String,
    /// The corner's segment delta (entry + exit + straight after), seconds.
    pub delta_s: f64,
    /// From the segment start to the reference apex.
    pub entry_delta_s: f64,
    /// From the reference apex to the segment end.
    pub exit_delta_s: f64,
    pub lap: CornerMetrics,
    pub reference: CornerMetrics,
    pub evidence: Vec<Evidence>,
}

/// A lap against a reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    pub lap_time_s: f64,
    pub reference_time_s: f64,
    /// `lap_time_s − reference_time_s`.
    pub delta_s: f64,
    /// The lap cut into segments whose deltas add up to `delta_s`.
    pub segments: Vec<SegmentDelta>,
    pub corners: Vec<CornerComparison>,
    pub straights: Vec<StraightMetrics>,
    /// Delta trace on the grid (not serialised).
    #[serde(skip)]
    pub delta: Vec<f64>,
}

/// Compares `lap` with `reference` (same grid) over the corners of `map`.
pub fn compare(lap: &Trace, reference: &Trace, map: &CornerMap) -> Comparison {
    let d = delta(lap, reference);
    let n = d.len().min(lap.len()).min(reference.len());
    let step = reference.step_m();
    let radius = ((50.0 / step).round() as usize).max(1);
    let apexes = map.apex_indices(reference);
    let margin = (BOUNDARY_MARGIN_M / step).round() as usize;
    let k_n = map.corners.len();
    let mut raw_lap = Vec::with_capacity(k_n);
    let mut raw_ref = Vec::with_capacity(k_n);
    for k in 0..k_n {
        let lo = if k == 0 { 0 } else { apexes[k - 1] };
        let hi = apexes.get(k + 1).copied().unwrap_or(n - 1);
        raw_lap.push(measure_at(lap, apexes[k], lo, hi, radius));
        raw_ref.push(measure_at(reference, apexes[k], lo, hi, radius));
    }
    // Segment boundaries.
    let mut bounds = Vec::with_capacity(k_n + 2);
    bounds.push(0usize);
    for k in 0..k_n {
        let onset = raw_lap[k].onset_idx.min(raw_ref[k].onset_idx);
        let floor = if k == 0 { 1 } else { apexes[k - 1] + 1 };
        let prev = bounds.last().copied().unwrap_or(0) + 1;
        let b = onset.saturating_sub(margin).max(floor).max(prev).min(apexes[k].max(prev)).min(n - 1);
        bounds.push(b);
    }
    bounds.push(n - 1);
    let mut segments = Vec::with_capacity(k_n + 1);
    for s in 0..bounds.len() - 1 {
        let (a, b) = (bounds[s], bounds[s + 1]);
        segments.push(SegmentDelta {
            id: if s == 0 { "start".into() } else { map.corners[s - 1].id.clone() },
            from_m: reference.dist(a),
            to_m: reference.dist(b),
            delta_s: d[b] - d[a],
        });
    }
    let corners = (0..k_n)
        .map(|k| {
            let c = &map.corners[k];
            let (a, b) = (bounds[k + 1], bounds[k + 2]);
            let apex = apexes[k].clamp(a, b);
            let lm = finish_metrics(lap, c, &raw_lap[k], radius);
            let rm = finish_metrics(reference, c, &raw_ref[k], radius);
            let off_m = lap.off_track[a..=b].iter().filter(|x| **x).count() as f64 * step;
            let evidence = evidence(lap, reference, &lm, &rm, off_m);
            CornerComparison {
                id: c.id.clone(),
                delta_s: d[b] - d[a],
                entry_delta_s: d[apex] - d[a],
                exit_delta_s: d[b] - d[apex],
                lap: lm,
                reference: rm,
                evidence,
            }
        })
        .collect();
    let straights = straights(lap, reference, map, &d);
    Comparison {
        lap_time_s: lap.lap_time(),
        reference_time_s: reference.lap_time(),
        delta_s: d[n - 1] - d[0],
        segments,
        corners,
        straights,
        delta: d,
    }
}

fn evidence(lap: &Trace, reference: &Trace, l: &CornerMetrics, r: &CornerMetrics, off_m: f64) -> Vec<Evidence> {
    let mut ev = Vec::new();
    let dmin = r.min_speed_kmh - l.min_speed_kmh;
    if off_m > 0.0 {
        // Off the track the pedals say little about technique: report the excursion and what
        // it did to the speed.
        ev.push(Evidence::OffTrack { metres: off_m });
        if dmin >= SPEED_KMH {
            ev.push(Evidence::MinSpeedLower { kmh: dmin });
        }
        return ev;
    }
    if dmin >= SPEED_KMH {
        ev.push(Evidence::MinSpeedLower { kmh: dmin });
    } else if -dmin >= SPEED_KMH {
        ev.push(Evidence::MinSpeedHigher { kmh: -dmin });
    }
    if let (Some(lb), Some(rb)) = (l.brake_point_m, r.brake_point_m) {
        let early = rb - lb;
        if early >= BRAKE_POINT_M {
            ev.push(Evidence::BrakingEarlier { metres: early });
        } else if -early >= BRAKE_POINT_M {
            ev.push(Evidence::BrakingLater { metres: -early });
        }
        let less = r.peak_brake_pct - l.peak_brake_pct;
        if less >= PEAK_BRAKE_PCT {
            ev.push(Evidence::LessBrake { pct: less });
        }
    }
    if l.coasting_s - r.coasting_s >= COASTING_S {
        ev.push(Evidence::CoastingLonger { seconds: l.coasting_s - r.coasting_s });
    }
    // Full throttle before the reference apex means another way through the corner: no
    // like-for-like timing to compare.
    let after_apex = |m: f64| m >= r.min_speed_m - 5.0;
    if let (Some(lf), Some(rf)) =
        (l.full_throttle_m.filter(|m| after_apex(*m)), r.full_throttle_m.filter(|m| after_apex(*m)))
    {
        // Time from the reference apex to full throttle, each lap on its own clock.
        let metres = lf - rf;
        let apex = reference.index_at(r.min_speed_m);
        let own = |t: &Trace, at: f64| t.time[t.index_at(at)] - t.time[apex.min(t.len() - 1)];
        let seconds = own(lap, lf) - own(reference, rf);
        if seconds >= THROTTLE_S {
            ev.push(Evidence::ThrottleLater { seconds, metres });
        } else if -seconds >= THROTTLE_S {
            ev.push(Evidence::ThrottleEarlier { seconds: -seconds, metres: -metres });
        }
    }
    let dexit = r.exit_speed_kmh - l.exit_speed_kmh;
    if dexit >= SPEED_KMH {
        ev.push(Evidence::ExitSpeedLower { kmh: dexit });
    } else if -dexit >= SPEED_KMH {
        ev.push(Evidence::ExitSpeedHigher { kmh: -dexit });
    }
    ev
}

fn straights(lap: &Trace, reference: &Trace, map: &CornerMap, d: &[f64]) -> Vec<StraightMetrics> {
    let c = &map.corners;
    let mut spans: Vec<(String, f64, f64)> = Vec::new();
    if let Some(first) = c.first() {
        spans.push((format!("line-{}", first.id), 0.0, first.entry_m));
    }
    for w in c.windows(2) {
        spans.push((format!("{}-{}", w[0].id, w[1].id), w[0].exit_m, w[1].entry_m));
    }
    if let Some(last) = c.last() {
        spans.push((format!("{}-line", last.id), last.exit_m, map.length_m));
    }
    spans
        .into_iter()
        .filter(|(_, a, b)| b - a >= 30.0)
        .map(|(id, a, b)| {
            let (ga, gb) = (reference.index_at(a), reference.index_at(b));
            let top = |t: &Trace| t.speed[ga..=gb].iter().copied().fold(0.0, f64::max) * 3.6;
            let full = lap.throttle[ga..=gb].iter().filter(|x| **x >= crate::corners::FULL).count();
            StraightMetrics {
                id,
                from_m: a,
                to_m: b,
                delta_s: d[gb] - d[ga],
                top_speed_kmh: top(lap),
                reference_top_speed_kmh: top(reference),
                full_throttle_pct: 100.0 * full as f64 / (gb - ga + 1) as f64,
            }
        })
        .collect()
}
