//! The lap table of a telemetry stream: the one lap-cutting implementation of PitBox, used by
//! `pitbox ibt laps`, the coach (CLI, live and API) and the cloud (imports and live sessions).
//!
//! A lap boundary is a change of the `Lap` counter. When the counter goes up by one and
//! `LapDistPct` wraps (…0.99 → 0.01…) within two samples of the change, the boundary is a real
//! crossing of the start/finish line and its time is interpolated between the two samples around
//! the wrap. Other changes (the blank record iRacing writes at the start of a file or on a reset
//! to the pits: `Lap 8 → 0 → 8`) are boundaries without a crossing time. A lap is complete only
//! when it starts and ends at a crossing.
//!
//! The lap time (`lap_time`) is iRacing's own: `LapLastLapTime` once it settles after the lap
//! ended (it updates 5–111 ticks after the counter changes). When it never settles, or iRacing
//! did not time the lap (`-1`), it is the interpolated crossing-to-crossing time, which matches
//! iRacing's within a few milliseconds. Runs of blank rows are not laps; a blank row after data
//! is a reset, which ends the lap before it and starts the next one from the pits.

use crate::error::Result;
use crate::ibt::IbtFile;
use serde::{Deserialize, Serialize};

/// A lap that starts within this lap fraction after the car left pit road is an out lap.
pub const PIT_EXIT_BEFORE_LINE: f64 = 0.2;

/// iRacing's settled `LapLastLapTime` is taken as the lap time only when it is within this many
/// seconds of the crossing-to-crossing time: a value further off belongs to another lap.
pub const SETTLED_AGREEMENT_S: f64 = 0.5;

/// Longest gap between two samples a line crossing is interpolated across, seconds.
pub const DEFAULT_MAX_GAP_S: f64 = 1.0;

/// One change of the `Lap` counter.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LapChange {
    /// First record with the new lap number.
    pub index: usize,
    pub lap_from: i32,
    pub lap_to: i32,
    /// SessionTime of record `index`.
    pub session_time: f64,
    /// LapCurrentLapTime of the record before the change.
    pub lap_current_lap_time_before: Option<f32>,
    /// LapLastLapTime of the record before the change.
    pub lap_last_lap_time_before: Option<f32>,
    /// The first LapLastLapTime that differs from the value before the change, looked for until
    /// the next change; `None` if it never changed.
    pub lap_last_lap_time_settled: Option<f32>,
    pub lap_last_lap_time_settled_index: Option<usize>,
    /// Interpolated SessionTime of the start/finish crossing, when the change is one.
    pub crossing_time: Option<f64>,
    /// The record just after the wrap of `LapDistPct` of that crossing.
    pub crossing_index: Option<usize>,
}

/// What kind of lap a row of the table is, by its ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LapKind {
    /// Started and ended at a line crossing: timed.
    Timed,
    /// Ended at a crossing but did not start at one (pit exit, reset, or the data starts mid-lap).
    OutLap,
    /// Started at a crossing, not finished when the recording (or the stint) ended.
    Incomplete,
    /// Neither end at a crossing (a fragment between resets, or a recording inside one lap).
    Partial,
}

impl LapKind {
    pub fn label(self) -> &'static str {
        match self {
            LapKind::Timed => "timed",
            LapKind::OutLap => "out lap",
            LapKind::Incomplete => "incomplete",
            LapKind::Partial => "partial",
        }
    }
}

/// Why a lap does not count as a clean flying lap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InvalidReason {
    /// Did not start and end at the line.
    Incomplete,
    /// The car was on pit road (in lap or out lap).
    PitRoad,
    /// The car left the track surface.
    OffTrack,
    /// A reset to the pits ended the lap or started it.
    Reset,
}

impl InvalidReason {
    /// Short text, as shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::Incomplete => "incomplete",
            InvalidReason::PitRoad => "pit road",
            InvalidReason::OffTrack => "off track",
            InvalidReason::Reset => "reset",
        }
    }

    /// Parses [`InvalidReason::as_str`] or the camelCase JSON name.
    pub fn parse(s: &str) -> Option<InvalidReason> {
        match s {
            "incomplete" => Some(InvalidReason::Incomplete),
            "pit road" | "pitRoad" => Some(InvalidReason::PitRoad),
            "off track" | "offTrack" => Some(InvalidReason::OffTrack),
            "reset" => Some(InvalidReason::Reset),
            _ => None,
        }
    }
}

/// One lap: a run of records with the same `Lap` value that is not blank.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lap {
    /// The Lap counter (it carries on across stints; it does not start at 1).
    pub lap: i32,
    /// First record.
    pub start: usize,
    /// Last record (inclusive).
    pub end: usize,
    pub kind: LapKind,
    /// Crossing time that started the lap.
    pub start_time: Option<f64>,
    /// Crossing time that ended the lap.
    pub end_time: Option<f64>,
    /// The record just after the start crossing's wrap.
    pub start_crossing: Option<usize>,
    /// The record just after the end crossing's wrap.
    pub end_crossing: Option<usize>,
    /// Lap time from the interpolated crossings (complete laps only).
    pub time: Option<f64>,
    /// iRacing's LapLastLapTime once settled after this lap ended (-1 = iRacing did not time it).
    pub iracing_time: Option<f32>,
    /// The lap time: iRacing's settled time, else the interpolated one; `None` when incomplete.
    pub lap_time: Option<f64>,
    /// Started and ended at the line.
    pub complete: bool,
    /// Complete, and no reason against it.
    pub valid: bool,
    /// Every reason the lap is not a clean flying lap; empty for a valid lap.
    pub invalid: Vec<InvalidReason>,
    /// Entered pit road during the lap.
    pub in_lap: bool,
    /// Started from pit road (or left it just before the line), or after a reset.
    pub out_lap: bool,
    /// Sector times, seconds (complete laps with every sector line crossed), else empty.
    pub sectors: Vec<f64>,
    /// Fuel used over the lap in the fuel column's unit; `None` when fuel was added or unknown.
    pub fuel_used: Option<f64>,
}

/// The columns the lap table is computed from. `session_time`, `lap` and `lap_dist_pct` are
/// required; the others refine the result when present (same length as `lap`).
#[derive(Debug, Clone, Default)]
pub struct LapColumns {
    pub session_time: Vec<f64>,
    pub lap: Vec<i32>,
    pub lap_dist_pct: Vec<f64>,
    pub lap_last_lap_time: Option<Vec<f32>>,
    pub lap_current_lap_time: Option<Vec<f32>>,
    pub on_pit_road: Option<Vec<bool>>,
    pub off_track: Option<Vec<bool>>,
    /// Rows without data (iRacing's blank rows); when absent, a row with Lap 0, LapDistPct 0
    /// and no speed column is not recognised as blank.
    pub blank: Option<Vec<bool>>,
    pub fuel: Option<Vec<f64>>,
    /// Start of each sector as a lap fraction, first one 0 (`SplitTimeInfo`). Empty: no sectors.
    pub sector_starts: Vec<f64>,
    /// No crossing is timed across a gap between samples longer than this (seconds);
    /// `None` is [`DEFAULT_MAX_GAP_S`].
    pub max_gap_s: Option<f64>,
}

impl LapColumns {
    /// Reads the columns from a file (`SessionTime`, `Lap`, `LapDistPct` are required).
    pub fn from_file(f: &IbtFile) -> Result<LapColumns> {
        let l = f.layout();
        let t = l.handle::<f64>("SessionTime")?;
        let lap = l.handle::<i32>("Lap")?;
        let pct = l.handle::<f32>("LapDistPct")?;
        let last = l.optional::<f32>("LapLastLapTime")?;
        let cur = l.optional::<f32>("LapCurrentLapTime")?;
        let pit = l.optional::<bool>("OnPitRoad")?;
        // irsdk_TrkLoc: -1 not in world (a blank row), 0 off track.
        let surface = l.optional::<i32>("PlayerTrackSurface")?;
        let speed = l.optional::<f32>("Speed")?;
        let fuel = l.optional::<f32>("FuelLevel")?;
        let lap_col: Vec<i32> = f.column(lap);
        let pct_col: Vec<f64> = f.column(pct).into_iter().map(f64::from).collect();
        let surf_col: Option<Vec<i32>> = surface.map(|h| f.column(h));
        let speed_col: Option<Vec<f32>> = speed.map(|h| f.column(h));
        let blank = (0..lap_col.len())
            .map(|i| {
                let not_in_world = surf_col.as_ref().is_some_and(|s| s.get(i) == Some(&-1));
                let empty = lap_col[i] == 0
                    && pct_col.get(i) == Some(&0.0)
                    && speed_col.as_ref().is_some_and(|s| s.get(i) == Some(&0.0));
                not_in_world || empty
            })
            .collect();
        let sector_starts = match f.session_info() {
            Ok(si) => si.sectors.iter().map(|s| s.sector_start_pct).collect(),
            Err(_) => Vec::new(),
        };
        Ok(LapColumns {
            session_time: f.column(t),
            lap: lap_col,
            lap_dist_pct: pct_col,
            lap_last_lap_time: last.map(|h| f.column(h)),
            lap_current_lap_time: cur.map(|h| f.column(h)),
            on_pit_road: pit.map(|h| f.column(h)),
            off_track: surf_col.map(|s| s.iter().map(|x| *x == 0).collect()),
            blank: Some(blank),
            fuel: fuel.map(|h| f.column(h).into_iter().map(f64::from).collect()),
            sector_starts,
            max_gap_s: None,
        })
    }

    /// Number of rows every required column has.
    pub fn len(&self) -> usize {
        self.session_time.len().min(self.lap.len()).min(self.lap_dist_pct.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn flag(col: &Option<Vec<bool>>, i: usize) -> bool {
        col.as_ref().and_then(|v| v.get(i).copied()).unwrap_or(false)
    }

    fn is_blank(&self, i: usize) -> bool {
        Self::flag(&self.blank, i)
    }

    /// The sector starts in force: the given ones when they are sane, else none.
    fn sectors(&self) -> Option<&[f64]> {
        let s = &self.sector_starts;
        let sane = s.len() >= 2
            && s[0] == 0.0
            && s.windows(2).all(|w| w[1] > w[0])
            && s.iter().all(|x| x.is_finite() && (0.0..1.0).contains(x));
        sane.then_some(s.as_slice())
    }
}

/// Interpolated crossing for a Lap change at record `c`, if LapDistPct wraps nearby:
/// (time, record just after the wrap).
fn crossing(cols: &LapColumns, c: usize) -> Option<(f64, usize)> {
    let n = cols.len();
    // (record after the wrap, record after the crossing, time)
    let mut best: Option<(usize, usize, f64)> = None;
    for j in c.saturating_sub(2).max(1)..(c + 3).min(n) {
        if cols.is_blank(j) || cols.is_blank(j - 1) {
            continue;
        }
        let (p0, p1) = (cols.lap_dist_pct[j - 1], cols.lap_dist_pct[j]);
        if !(p0.is_finite() && p1.is_finite()) || p0 - p1 <= 0.5 {
            continue;
        }
        // iRacing writes slightly negative LapDistPct just after the wrap, before the car is
        // on the line: the crossing is where the unwrapped fraction reaches 1, a sample or two on.
        let mut k = j;
        while k < n && k < j + 3 && cols.lap_dist_pct[k] < 0.0 && !cols.is_blank(k) {
            k += 1;
        }
        if k >= n || cols.is_blank(k) || !cols.lap_dist_pct[k].is_finite() {
            continue;
        }
        let (u0, u1) =
            if k == j { (p0, 1.0 + p1) } else { (1.0 + cols.lap_dist_pct[k - 1], 1.0 + cols.lap_dist_pct[k]) };
        let (t0, t1) = (cols.session_time[k - 1], cols.session_time[k]);
        if !(t0.is_finite() && t1.is_finite() && t1 >= t0 && t1 - t0 <= cols.max_gap_s.unwrap_or(DEFAULT_MAX_GAP_S)) {
            continue;
        }
        let d = u1 - u0;
        let frac = if d > 0.0 { ((1.0 - u0) / d).clamp(0.0, 1.0) } else { 0.0 };
        let t = t0 + frac * (t1 - t0);
        if best.is_none_or(|(bj, _, _)| j.abs_diff(c) < bj.abs_diff(c)) {
            best = Some((j, k, t));
        }
    }
    best.map(|(_, k, t)| (t, k))
}

/// Every change of the Lap counter.
pub fn lap_changes(cols: &LapColumns) -> Vec<LapChange> {
    let n = cols.len();
    let changes: Vec<usize> = (1..n).filter(|&i| cols.lap[i] != cols.lap[i - 1]).collect();
    changes
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let next = changes.get(k + 1).copied().unwrap_or(n);
            let last = cols.lap_last_lap_time.as_ref();
            let before = last.and_then(|v| v.get(i - 1).copied());
            let settled = last
                .zip(before)
                .and_then(|(v, b)| (i..next.min(v.len())).find(|&j| v[j].to_bits() != b.to_bits()).map(|j| (j, v[j])));
            let is_step = cols.lap[i].checked_sub(cols.lap[i - 1]) == Some(1);
            let cross = if is_step { crossing(cols, i) } else { None };
            LapChange {
                index: i,
                lap_from: cols.lap[i - 1],
                lap_to: cols.lap[i],
                session_time: cols.session_time[i],
                lap_current_lap_time_before: cols.lap_current_lap_time.as_ref().and_then(|v| v.get(i - 1).copied()),
                lap_last_lap_time_before: before,
                lap_last_lap_time_settled: settled.map(|s| s.1),
                lap_last_lap_time_settled_index: settled.map(|s| s.0),
                crossing_time: cross.map(|c| c.0),
                crossing_index: cross.map(|c| c.1),
            }
        })
        .collect()
}

/// Sector times of a complete lap: the interpolated crossings of each sector line between the
/// start crossing (record `a`, time `ta`) and the end crossing (record `b`, time `tb`).
fn sector_times(cols: &LapColumns, starts: &[f64], a: usize, ta: f64, b: usize, tb: f64) -> Vec<f64> {
    let mut times = vec![ta];
    let mut next = 1;
    for j in a + 1..b {
        if next >= starts.len() {
            break;
        }
        let (p0, p1) = (cols.lap_dist_pct[j - 1], cols.lap_dist_pct[j]);
        if cols.is_blank(j) || !(p0.is_finite() && p1.is_finite()) {
            return Vec::new();
        }
        while next < starts.len() && p0 < starts[next] && p1 >= starts[next] {
            let (t0, t1) = (cols.session_time[j - 1], cols.session_time[j]);
            times.push(t0 + (starts[next] - p0) / (p1 - p0) * (t1 - t0));
            next += 1;
        }
    }
    if next != starts.len() {
        return Vec::new();
    }
    times.push(tb);
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// The lap table. Blank runs are left out; every other run of one Lap value is a lap.
pub fn laps(cols: &LapColumns) -> Vec<Lap> {
    let n = cols.len();
    if n == 0 {
        return Vec::new();
    }
    let changes = lap_changes(cols);
    let sectors = cols.sectors();
    let mut out: Vec<Lap> = Vec::with_capacity(changes.len() + 1);
    let mut start = 0usize;
    let mut start_cross: Option<(f64, usize)> = None;
    // A blank run after data: the next lap starts from a reset.
    let mut seen_data = false;
    let mut after_reset = false;
    // Lap fraction of the last pit-road record of the lap before (pit exit just before the line).
    let mut prev_pit_pct: Option<f64> = None;
    for k in 0..=changes.len() {
        let (end, end_change) = match changes.get(k) {
            Some(c) => (c.index - 1, Some(c)),
            None => (n - 1, None),
        };
        let blank_run = (start..=end).all(|i| cols.is_blank(i));
        if blank_run {
            if seen_data {
                after_reset = true;
                if let Some(prev) = out.last_mut()
                    && !prev.invalid.contains(&InvalidReason::Reset)
                {
                    prev.invalid.push(InvalidReason::Reset);
                    prev.valid = false;
                }
            }
            prev_pit_pct = None;
        } else {
            seen_data = true;
            let end_cross = end_change.and_then(|c| c.crossing_time.zip(c.crossing_index));
            out.push(lap_of(cols, sectors, start, end, start_cross, end_cross, end_change, after_reset, prev_pit_pct));
            after_reset = false;
            prev_pit_pct = (start..=end)
                .rev()
                .find(|&i| LapColumns::flag(&cols.on_pit_road, i) && !cols.is_blank(i))
                .map(|i| cols.lap_dist_pct[i]);
        }
        if let Some(c) = end_change {
            start = c.index;
            start_cross = c.crossing_time.zip(c.crossing_index);
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn lap_of(
    cols: &LapColumns,
    sectors: Option<&[f64]>,
    start: usize,
    end: usize,
    start_cross: Option<(f64, usize)>,
    end_cross: Option<(f64, usize)>,
    end_change: Option<&LapChange>,
    after_reset: bool,
    prev_pit_pct: Option<f64>,
) -> Lap {
    let kind = match (start_cross.is_some(), end_cross.is_some()) {
        (true, true) => LapKind::Timed,
        (false, true) => LapKind::OutLap,
        (true, false) => LapKind::Incomplete,
        (false, false) => LapKind::Partial,
    };
    let complete = kind == LapKind::Timed;
    // The records that belong to the lap on track: from the start crossing to the end crossing.
    let first = start_cross.map_or(start, |c| c.1.min(start));
    let last = end_cross.map_or(end, |c| c.1.saturating_sub(1).max(end));
    let (mut pit_early, mut pit_late, mut seen_track, mut off_track) = (false, false, false, false);
    let (mut fuel_first, mut fuel_prev, mut fuel_added) = (None::<f64>, None::<f64>, false);
    for i in first..=last.min(cols.len() - 1) {
        if cols.is_blank(i) {
            continue;
        }
        if LapColumns::flag(&cols.on_pit_road, i) {
            if seen_track {
                pit_late = true;
            } else {
                pit_early = true;
            }
        } else {
            seen_track = true;
        }
        off_track |= LapColumns::flag(&cols.off_track, i);
        if let Some(f) = cols.fuel.as_ref().and_then(|v| v.get(i).copied()).filter(|f| f.is_finite()) {
            fuel_first.get_or_insert(f);
            if fuel_prev.is_some_and(|p| f > p + 0.05) {
                fuel_added = true;
            }
            fuel_prev = Some(f);
        }
    }
    let pit_exit_before_line = start_cross.is_some() && prev_pit_pct.is_some_and(|p| p >= 1.0 - PIT_EXIT_BEFORE_LINE);
    let out_lap = pit_early || pit_exit_before_line || after_reset;
    let in_lap = pit_late;
    let mut invalid = Vec::new();
    if !complete {
        invalid.push(InvalidReason::Incomplete);
    }
    if out_lap || in_lap {
        invalid.push(InvalidReason::PitRoad);
    }
    if off_track {
        invalid.push(InvalidReason::OffTrack);
    }
    if after_reset {
        invalid.push(InvalidReason::Reset);
    }
    let time = start_cross.zip(end_cross).map(|(a, b)| b.0 - a.0);
    let iracing_time = end_change.and_then(|c| c.lap_last_lap_time_settled);
    let lap_time = time.map(|t| match iracing_time {
        Some(ir) if ir > 0.0 && (f64::from(ir) - t).abs() <= SETTLED_AGREEMENT_S => f64::from(ir),
        _ => t,
    });
    let sector_list = match (sectors, start_cross, end_cross) {
        (Some(s), Some(a), Some(b)) => sector_times(cols, s, a.1, a.0, b.1, b.0),
        _ => Vec::new(),
    };
    Lap {
        lap: cols.lap[start],
        start,
        end,
        kind,
        start_time: start_cross.map(|c| c.0),
        end_time: end_cross.map(|c| c.0),
        start_crossing: start_cross.map(|c| c.1),
        end_crossing: end_cross.map(|c| c.1),
        time,
        iracing_time,
        lap_time,
        complete,
        valid: complete && invalid.is_empty(),
        invalid,
        in_lap,
        out_lap,
        sectors: sector_list,
        fuel_used: match (fuel_first, fuel_prev, fuel_added) {
            (Some(a), Some(b), false) => Some(a - b),
            _ => None,
        },
    }
}

/// Convenience: the lap table of a file.
pub fn file_laps(f: &IbtFile) -> Result<Vec<Lap>> {
    Ok(laps(&LapColumns::from_file(f)?))
}

/// The best valid lap by `lap_time`: the reference lap of coaching and of the dashboard.
pub fn best_valid(laps: &[Lap]) -> Option<&Lap> {
    laps.iter()
        .filter(|l| l.valid)
        .filter_map(|l| l.lap_time.map(|t| (l, t)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|x| x.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_laps() {
        // 10 Hz, a lap of 1.0 s: pct advances 0.1 per sample, offset so the wrap falls mid-sample.
        let n = 35;
        let mut c = LapColumns::default();
        for i in 0..n {
            let t = i as f64 * 0.1;
            let pos = 0.55 + t; // laps run
            c.session_time.push(t);
            c.lap.push(pos.floor() as i32 + 4);
            c.lap_dist_pct.push(pos.fract());
        }
        let l = laps(&c);
        assert_eq!(l.len(), 4);
        assert_eq!(l[0].kind, LapKind::OutLap);
        assert_eq!(l[1].kind, LapKind::Timed);
        assert!((l[1].time.unwrap() - 1.0).abs() < 1e-5, "{:?}", l[1]);
        assert_eq!(l[3].kind, LapKind::Incomplete);
        assert!((l[0].end_time.unwrap() - 0.45).abs() < 1e-5);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any columns (garbage included): no panic; laps are in order, never overlap, never a
        /// blank run; a complete lap has a positive time and an incomplete one none; a valid
        /// lap is complete with no reason.
        #[test]
        fn any_columns_give_a_sane_lap_table(
            rows in proptest::collection::vec((0.0f64..2.0, 0i32..4, -0.1f64..1.1, any::<bool>(), any::<bool>(), any::<bool>()), 0..300),
        ) {
            let mut c = LapColumns::default();
            let mut t = 0.0;
            let (mut pit, mut off, mut blank) = (Vec::new(), Vec::new(), Vec::new());
            let mut lap = 0;
            for (dt, step, pct, p, o, b) in rows {
                t += dt * 0.05;
                lap += i32::from(step == 3);
                c.session_time.push(t);
                c.lap.push(if b && step == 0 { 0 } else { lap });
                c.lap_dist_pct.push(pct);
                pit.push(p);
                off.push(o);
                blank.push(b && step == 0);
            }
            c.on_pit_road = Some(pit);
            c.off_track = Some(off);
            c.blank = Some(blank.clone());
            c.sector_starts = vec![0.0, 0.5];
            let table = laps(&c);
            let mut prev_end: Option<usize> = None;
            for l in &table {
                prop_assert!(l.start <= l.end && l.end < c.len());
                prop_assert!(prev_end.is_none_or(|e| l.start > e));
                prev_end = Some(l.end);
                prop_assert!(!(l.start..=l.end).all(|i| blank[i]));
                prop_assert_eq!(l.complete, l.lap_time.is_some());
                if let Some(x) = l.lap_time {
                    prop_assert!(x.is_finite() && x >= 0.0);
                }
                prop_assert_eq!(l.valid, l.complete && l.invalid.is_empty());
            }
        }
    }
}
