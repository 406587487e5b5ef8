//! Laps from a sample stream, cut by `pitbox_irsdk::laps` (the one lap-cutting implementation,
//! shared with `pitbox ibt laps` and the cloud) and extended with what analysis needs: each
//! sample's unwrapped lap fraction and the sample range of each lap.
//!
//! Lap times are iRacing's own (`LapLastLapTime` once settled, else the interpolated crossing of
//! the start/finish line), on the sim's clock: never the wall clock.

use pitbox_irsdk::laps::{LapColumns, laps as cut_laps};
use serde::{Deserialize, Serialize};

use crate::sample::Sample;

pub use pitbox_irsdk::laps::{InvalidReason, PIT_EXIT_BEFORE_LINE};

/// How laps are cut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LapOptions {
    /// Start of each sector as a lap fraction, first one 0 (iRacing's `SplitTimeInfo`). Empty
    /// means equal thirds.
    pub sector_starts: Vec<f64>,
    /// A gap between samples longer than this (seconds) breaks the stream: a line crossing
    /// inside such a gap is not timed.
    pub max_gap_s: f64,
}

impl Default for LapOptions {
    fn default() -> Self {
        Self { sector_starts: Vec::new(), max_gap_s: 1.0 }
    }
}

impl LapOptions {
    /// The sector starts in force: the given ones when they are sane, else thirds.
    pub fn sectors(&self) -> Vec<f64> {
        let s = &self.sector_starts;
        let sane = !s.is_empty()
            && s[0] == 0.0
            && s.windows(2).all(|w| w[1] > w[0])
            && s.iter().all(|x| x.is_finite() && (0.0..1.0).contains(x));
        if sane { s.clone() } else { vec![0.0, 1.0 / 3.0, 2.0 / 3.0] }
    }
}

/// One lap (or part of one) of a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lap {
    /// Position in the stream's lap list.
    pub index: usize,
    /// The sim's lap counter during this lap.
    pub number: i32,
    /// Stream clock at the start (line crossing, or first sample of a partial lap).
    pub start_time: f64,
    /// Stream clock at the end (line crossing, or last sample).
    pub end_time: f64,
    /// The lap time: iRacing's own for a complete lap (see the module doc), else
    /// `end_time − start_time` of the part seen.
    pub time: f64,
    /// Started and ended at the line.
    pub complete: bool,
    /// Left pit road during the lap or less than [`PIT_EXIT_BEFORE_LINE`] of a lap before it
    /// started (or started from a reset).
    pub out_lap: bool,
    /// Entered pit road during the lap.
    pub in_lap: bool,
    /// Every reason the lap is not a clean flying lap; empty for a valid lap.
    pub invalid: Vec<InvalidReason>,
    /// Sector times, seconds (complete laps only).
    pub sectors: Vec<f64>,
    /// First sample index used (the last one before the start crossing for a complete lap).
    pub first: usize,
    /// Last sample index used (the first one after the end crossing for a complete lap).
    pub last: usize,
    /// Unwrapped lap-fraction value at the start line; a sample's fraction in this lap is
    /// `progress[i] − base`.
    pub base: f64,
    /// Fuel used over the lap (litres, or % of tank when litres are unknown); `None` when
    /// fuel was added or unknown.
    pub fuel_used: Option<f64>,
    /// Samples with the car off the track.
    pub off_track_samples: usize,
}

impl Lap {
    /// A complete lap with no reason against it.
    pub fn is_valid(&self) -> bool {
        self.complete && self.invalid.is_empty()
    }
}

/// The laps of a stream and each sample's unwrapped lap fraction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Laps {
    pub laps: Vec<Lap>,
    /// Unwrapped lap fraction of every sample (NaN for blank or unusable rows).
    pub progress: Vec<f64>,
}

impl Laps {
    /// The best valid lap: the reference of coaching (never an out, in, pit or partial lap).
    pub fn best_valid(&self) -> Option<&Lap> {
        self.laps.iter().filter(|l| l.is_valid()).min_by(|a, b| a.time.total_cmp(&b.time))
    }
}

fn usable(s: &Sample) -> bool {
    !s.blank && s.time.is_finite() && s.lap_pct.is_finite() && s.speed.is_finite() && s.lap_pct.abs() < 1.5
}

/// Each sample's unwrapped lap fraction: runs of usable samples without a gap longer than
/// `max_gap_s`, a drop of more than half a lap is a wrap forward, a jump up one backward.
fn unwrap_progress(samples: &[Sample], max_gap_s: f64) -> Vec<f64> {
    let mut progress = vec![f64::NAN; samples.len()];
    let mut prev: Option<usize> = None;
    let mut wraps = 0.0;
    for (i, s) in samples.iter().enumerate() {
        if !usable(s) {
            prev = None;
            continue;
        }
        match prev {
            Some(p) if (0.0..=max_gap_s).contains(&(s.time - samples[p].time)) => {
                let d = s.lap_pct - samples[p].lap_pct;
                if d < -0.5 {
                    wraps += 1.0;
                } else if d > 0.5 {
                    wraps -= 1.0;
                }
            }
            _ => wraps = 0.0,
        }
        progress[i] = wraps + s.lap_pct;
        prev = Some(i);
    }
    progress
}

/// The columns of the shared lap cutter. Samples that are not usable count as blank rows; no
/// crossing is timed across a gap longer than `max_gap_s`.
fn columns(samples: &[Sample], opts: &LapOptions) -> LapColumns {
    let has_last = samples.iter().any(|s| s.last_lap_time.is_some());
    LapColumns {
        session_time: samples.iter().map(|s| s.time).collect(),
        lap: samples.iter().map(|s| s.lap).collect(),
        lap_dist_pct: samples.iter().map(|s| s.lap_pct).collect(),
        lap_last_lap_time: has_last
            .then(|| samples.iter().map(|s| s.last_lap_time.map_or(f32::NAN, |t| t as f32)).collect()),
        lap_current_lap_time: None,
        on_pit_road: Some(samples.iter().map(|s| s.on_pit_road).collect()),
        off_track: Some(samples.iter().map(|s| s.off_track == Some(true)).collect()),
        blank: Some(samples.iter().map(|s| !usable(s)).collect()),
        fuel: Some(samples.iter().map(|s| s.fuel().unwrap_or(f64::NAN)).collect()),
        sector_starts: opts.sectors(),
        max_gap_s: Some(opts.max_gap_s),
    }
}

/// Cuts a stream into laps.
pub fn split_laps(samples: &[Sample], opts: &LapOptions) -> Laps {
    let progress = unwrap_progress(samples, opts.max_gap_s);
    let cols = columns(samples, opts);
    let table = cut_laps(&cols);
    let mut laps = Vec::with_capacity(table.len());
    for l in table {
        let first = l.start_crossing.map_or(l.start, |j| j.saturating_sub(1).min(l.start));
        let last = l.end_crossing.map_or(l.end, |j| j.max(l.end)).min(samples.len().saturating_sub(1));
        // Usable samples only at the ends of a partial lap.
        let Some(first) = (first..=last).find(|&i| progress[i].is_finite()) else { continue };
        let Some(last) = (first..=last).rev().find(|&i| progress[i].is_finite()) else { continue };
        let base = match l.start_crossing {
            Some(j) if progress[j].is_finite() => progress[j].round(),
            _ => progress[first].floor(),
        };
        let start_time = l.start_time.unwrap_or(samples[first].time);
        let end_time = l.end_time.unwrap_or(samples[last].time);
        let off_track_samples = samples[first..=last].iter().filter(|s| s.off_track == Some(true)).count();
        laps.push(Lap {
            index: laps.len(),
            number: l.lap,
            start_time,
            end_time,
            time: l.lap_time.unwrap_or(end_time - start_time),
            complete: l.complete,
            out_lap: l.out_lap,
            in_lap: l.in_lap,
            invalid: l.invalid,
            sectors: l.sectors,
            first,
            last,
            base,
            fuel_used: l.fuel_used,
            off_track_samples,
        });
    }
    // Drop slivers: partial laps of a single sample carry no information.
    laps.retain(|l| l.complete || l.last > l.first);
    for (i, l) in laps.iter_mut().enumerate() {
        l.index = i;
    }
    Laps { laps, progress }
}

/// Track length in metres: from the sim's lap distance when present, else the distance driven
/// (speed integrated over time) on complete laps. `None` when neither is possible.
pub fn estimate_track_length(samples: &[Sample], laps: &Laps) -> Option<f64> {
    let mut ratios: Vec<f64> = samples
        .iter()
        .filter(|s| !s.blank && s.lap_pct > 0.25 && s.lap_pct < 1.0)
        .filter_map(|s| s.lap_dist.map(|d| d / s.lap_pct))
        .filter(|r| r.is_finite() && *r > 10.0)
        .collect();
    if ratios.len() >= 5 {
        return Some(median(&mut ratios));
    }
    let mut driven: Vec<f64> = laps
        .laps
        .iter()
        .filter(|l| l.complete)
        .map(|l| {
            let mut d = 0.0;
            for w in samples[l.first..=l.last].windows(2) {
                let (a, b) = (&w[0], &w[1]);
                let t0 = a.time.max(l.start_time);
                let t1 = b.time.min(l.end_time);
                if t1 > t0 {
                    d += 0.5 * (a.speed + b.speed) * (t1 - t0);
                }
            }
            d
        })
        .filter(|d| d.is_finite() && *d > 10.0)
        .collect();
    if driven.is_empty() { None } else { Some(median(&mut driven)) }
}

pub(crate) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}
