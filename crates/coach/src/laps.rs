//! Laps from a sample stream.
//!
//! A lap boundary is where the unwrapped lap-distance fraction crosses a whole number (the
//! start/finish line); its time is interpolated linearly between the two samples either side, so
//! it is exact to well under one sample at 60 Hz. Unwrapping follows the fraction's wraps (a drop
//! of more than half a lap is a new lap, a jump back up is a reverse over the line), which also
//! handles iRacing's slightly negative `LapDistPct` just before the line. Blank rows (iRacing's
//! reset marker), clock jumps and gaps longer than [`LapOptions::max_gap_s`] end a run: the lap in
//! progress ends incomplete, and the next lap starts part-way round.
//!
//! Laps are labelled with the sim's own lap counter (the value in the middle of the lap).

use serde::{Deserialize, Serialize};

use crate::sample::Sample;

/// A lap that starts within this lap fraction after the car left pit road is an out lap.
pub const PIT_EXIT_BEFORE_LINE: f64 = 0.2;

/// How laps are cut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LapOptions {
    /// Start of each sector as a lap fraction, first one 0 (iRacing's `SplitTimeInfo`). Empty
    /// means equal thirds.
    pub sector_starts: Vec<f64>,
    /// A gap between samples longer than this (seconds) breaks the stream.
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

/// Why a lap does not count as a clean flying lap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InvalidReason {
    /// Did not start and end at the line (start or end of the data, a reset, a gap).
    Incomplete,
    /// The car was on pit road (in or out lap).
    PitRoad,
    /// The car left the track surface.
    OffTrack,
    /// A reset (blank row) ended the lap.
    Reset,
    /// Samples were missing for longer than the allowed gap.
    DataGap,
}

impl InvalidReason {
    /// Short text.
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::Incomplete => "incomplete",
            InvalidReason::PitRoad => "pit road",
            InvalidReason::OffTrack => "off track",
            InvalidReason::Reset => "reset",
            InvalidReason::DataGap => "data gap",
        }
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
    /// `end_time − start_time`.
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
        self.invalid.is_empty()
    }
}

/// The laps of a stream and each sample's unwrapped lap fraction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Laps {
    pub laps: Vec<Lap>,
    /// Unwrapped lap fraction of every sample (NaN for blank or unusable rows).
    pub progress: Vec<f64>,
}

struct Builder {
    first: usize,
    last: usize,
    base: f64,
    start_time: f64,
    start_complete: bool,
    after_reset: bool,
    crossings: Vec<Option<f64>>,
    pit_early: bool,
    pit_late: bool,
    seen_track: bool,
    off_track: usize,
    fuel_first: Option<f64>,
    fuel_prev: Option<f64>,
    fuel_added: bool,
}

impl Builder {
    fn new(
        first: usize,
        base: f64,
        start_time: f64,
        start_complete: bool,
        after_reset: bool,
        n_sectors: usize,
    ) -> Self {
        Builder {
            first,
            last: first,
            base,
            start_time,
            start_complete,
            after_reset,
            crossings: vec![None; n_sectors],
            pit_early: false,
            pit_late: false,
            seen_track: false,
            off_track: 0,
            fuel_first: None,
            fuel_prev: None,
            fuel_added: false,
        }
    }

    fn observe(&mut self, s: &Sample) {
        // Pit road before any track sample: the lap starts in the pits (out lap); after: in lap.
        if s.on_pit_road {
            if self.seen_track {
                self.pit_late = true;
            } else {
                self.pit_early = true;
            }
        } else {
            self.seen_track = true;
        }
        if s.off_track == Some(true) {
            self.off_track += 1;
        }
        if let Some(f) = s.fuel().filter(|f| f.is_finite()) {
            if self.fuel_first.is_none() {
                self.fuel_first = Some(f);
            }
            if let Some(p) = self.fuel_prev
                && f > p + 0.05
            {
                self.fuel_added = true;
            }
            self.fuel_prev = Some(f);
        }
    }

    fn finish(
        self,
        samples: &[Sample],
        index: usize,
        end_time: f64,
        end_complete: bool,
        end: Option<InvalidReason>,
    ) -> Lap {
        let complete = self.start_complete && end_complete;
        let mut invalid = Vec::new();
        if !complete {
            invalid.push(InvalidReason::Incomplete);
        }
        if let Some(r) = end {
            invalid.push(r);
        }
        let out_lap = self.pit_early || self.after_reset;
        let in_lap = self.pit_late;
        if out_lap || in_lap {
            invalid.push(InvalidReason::PitRoad);
        }
        if self.off_track > 0 {
            invalid.push(InvalidReason::OffTrack);
        }
        let sectors = if complete && self.crossings.iter().all(Option::is_some) {
            let mut t: Vec<f64> = self.crossings.iter().flatten().copied().collect();
            t.push(end_time);
            t.windows(2).map(|w| w[1] - w[0]).collect()
        } else {
            Vec::new()
        };
        let mid = (self.first + self.last) / 2;
        let number = samples.get(mid).map_or(0, |s| s.lap);
        let fuel_used = match (self.fuel_first, self.fuel_prev, self.fuel_added) {
            (Some(a), Some(b), false) => Some(a - b),
            _ => None,
        };
        Lap {
            index,
            number,
            start_time: self.start_time,
            end_time,
            time: end_time - self.start_time,
            complete,
            out_lap,
            in_lap,
            invalid,
            sectors,
            first: self.first,
            last: self.last,
            base: self.base,
            fuel_used,
            off_track_samples: self.off_track,
        }
    }
}

fn usable(s: &Sample) -> bool {
    !s.blank && s.time.is_finite() && s.lap_pct.is_finite() && s.speed.is_finite() && s.lap_pct.abs() < 1.5
}

/// Cuts a stream into laps.
pub fn split_laps(samples: &[Sample], opts: &LapOptions) -> Laps {
    let sectors = opts.sectors();
    let mut laps = Vec::new();
    let mut progress = vec![f64::NAN; samples.len()];
    let mut cur: Option<Builder> = None;
    let mut prev: Option<usize> = None;
    let mut wraps = 0.0;
    let mut next_line = 0.0;
    let mut reset_seen = false;
    let mut last_pit: Option<f64> = None;
    for (i, s) in samples.iter().enumerate() {
        if !usable(s) {
            if let Some(b) = cur.take() {
                let end = samples[b.last].time;
                let reason = if s.blank { InvalidReason::Reset } else { InvalidReason::DataGap };
                laps.push(b.finish(samples, laps.len(), end, false, Some(reason)));
            }
            reset_seen |= s.blank && prev.is_some();
            prev = None;
            continue;
        }
        let mut u = s.lap_pct;
        if let Some(p) = prev {
            let ps = &samples[p];
            let dt = s.time - ps.time;
            if !(dt >= 0.0 && dt <= opts.max_gap_s) {
                if let Some(b) = cur.take() {
                    laps.push(b.finish(samples, laps.len(), ps.time, false, Some(InvalidReason::DataGap)));
                }
                prev = None;
            } else {
                let d = s.lap_pct - ps.lap_pct;
                if d < -0.5 {
                    wraps += 1.0;
                } else if d > 0.5 {
                    wraps -= 1.0;
                }
                u = wraps + s.lap_pct;
            }
        }
        let Some(p) = prev else {
            // A new run.
            wraps = 0.0;
            next_line = u.floor() + 1.0;
            cur = Some(Builder::new(i, next_line - 1.0, s.time, false, reset_seen, sectors.len()));
            reset_seen = false;
            last_pit = s.on_pit_road.then_some(u);
            progress[i] = u;
            if let Some(b) = cur.as_mut() {
                b.observe(s);
            }
            prev = Some(i);
            continue;
        };
        let pu = progress[p];
        let pt = samples[p].time;
        if let Some(b) = cur.as_mut() {
            b.last = i;
            // Sector lines inside the lap.
            for (j, &st) in sectors.iter().enumerate().skip(1) {
                let line = b.base + st;
                if b.crossings[j].is_none() && pu < line && u >= line && u > pu {
                    b.crossings[j] = Some(pt + (line - pu) / (u - pu) * (s.time - pt));
                }
            }
        }
        if u >= next_line && u > pu {
            let tc = pt + (next_line - pu) / (u - pu) * (s.time - pt);
            if let Some(b) = cur.take() {
                laps.push(b.finish(samples, laps.len(), tc, true, None));
            }
            // Leaving pit road shortly before the line makes the new lap an out lap.
            let from_pits = last_pit.is_some_and(|lp| lp > next_line - PIT_EXIT_BEFORE_LINE);
            let mut b = Builder::new(p, next_line, tc, true, from_pits, sectors.len());
            b.crossings[0] = Some(tc);
            b.last = i;
            cur = Some(b);
            next_line += 1.0;
            // A sample may jump several sector lines of the new lap at once only at absurd
            // speeds; such laps simply have no sector times.
        }
        progress[i] = u;
        if let Some(b) = cur.as_mut() {
            b.observe(s);
        }
        if s.on_pit_road {
            last_pit = Some(u);
        }
        prev = Some(i);
    }
    if let Some(b) = cur.take() {
        let end = samples[b.last].time;
        laps.push(b.finish(samples, laps.len(), end, false, None));
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
