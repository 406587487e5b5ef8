//! The lap table of a recording, from the `Lap` counter and the wrap of `LapDistPct`.
//!
//! A lap boundary is a change of the `Lap` counter. When the counter goes up by one and
//! `LapDistPct` wraps (…0.99 → 0.01…) within two samples of the change, the boundary is a real
//! crossing of the start/finish line and its time is interpolated between the two samples around
//! the wrap. Other changes (the blank record iRacing writes at the start of a file or on a reset
//! to the pits: `Lap 8 → 0 → 8`) are boundaries without a crossing time. A lap is timed only when
//! it starts and ends at a crossing.
//!
//! iRacing's own `LapLastLapTime` updates some ticks (5–111 seen) after the counter changes and is
//! `-1` after an out lap or an invalid lap; it is reported beside our time as `iracingTime`.

use crate::error::Result;
use crate::ibt::IbtFile;
use serde::Serialize;

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
}

/// What kind of lap a row of the table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LapKind {
    /// Started and ended at a line crossing: timed.
    Timed,
    /// Ended at a crossing but did not start at one (pit exit, reset, or the file starts mid-lap).
    OutLap,
    /// Started at a crossing, not finished when the recording (or the stint) ended.
    Incomplete,
    /// Neither end at a crossing (blank records, a reset, a fragment).
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

/// One row of the lap table: a run of records with the same `Lap` value.
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
    /// Lap time from the interpolated crossings (timed laps only).
    pub time: Option<f64>,
    /// iRacing's LapLastLapTime once settled after this lap ended (-1 = iRacing did not time it).
    pub iracing_time: Option<f32>,
}

/// The columns the lap table is computed from.
#[derive(Debug, Clone, Default)]
pub struct LapColumns {
    pub session_time: Vec<f64>,
    pub lap: Vec<i32>,
    pub lap_dist_pct: Vec<f32>,
    pub lap_last_lap_time: Option<Vec<f32>>,
    pub lap_current_lap_time: Option<Vec<f32>>,
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
        Ok(LapColumns {
            session_time: f.column(t),
            lap: f.column(lap),
            lap_dist_pct: f.column(pct),
            lap_last_lap_time: last.map(|h| f.column(h)),
            lap_current_lap_time: cur.map(|h| f.column(h)),
        })
    }

    fn len(&self) -> usize {
        self.session_time.len().min(self.lap.len()).min(self.lap_dist_pct.len())
    }
}

/// Interpolated crossing time for a Lap change at record `c`, if LapDistPct wraps nearby.
fn crossing(cols: &LapColumns, c: usize) -> Option<f64> {
    let n = cols.len();
    let mut best: Option<(usize, f64)> = None;
    for j in c.saturating_sub(2).max(1)..(c + 3).min(n) {
        let (p0, p1) = (f64::from(cols.lap_dist_pct[j - 1]), f64::from(cols.lap_dist_pct[j]));
        if !(p0.is_finite() && p1.is_finite()) || p0 - p1 <= 0.5 {
            continue;
        }
        let (t0, t1) = (cols.session_time[j - 1], cols.session_time[j]);
        let d = (1.0 - p0) + p1;
        let frac = if d > 0.0 { ((1.0 - p0) / d).clamp(0.0, 1.0) } else { 0.0 };
        let t = t0 + frac * (t1 - t0);
        if best.is_none_or(|(bj, _)| j.abs_diff(c) < bj.abs_diff(c)) {
            best = Some((j, t));
        }
    }
    best.map(|(_, t)| t)
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
            LapChange {
                index: i,
                lap_from: cols.lap[i - 1],
                lap_to: cols.lap[i],
                session_time: cols.session_time[i],
                lap_current_lap_time_before: cols.lap_current_lap_time.as_ref().and_then(|v| v.get(i - 1).copied()),
                lap_last_lap_time_before: before,
                lap_last_lap_time_settled: settled.map(|s| s.1),
                lap_last_lap_time_settled_index: settled.map(|s| s.0),
                crossing_time: if is_step { crossing(cols, i) } else { None },
            }
        })
        .collect()
}

/// The lap table.
pub fn laps(cols: &LapColumns) -> Vec<Lap> {
    let n = cols.len();
    if n == 0 {
        return Vec::new();
    }
    let changes = lap_changes(cols);
    let mut out = Vec::with_capacity(changes.len() + 1);
    let mut start = 0usize;
    let mut start_time: Option<f64> = None;
    for k in 0..=changes.len() {
        let (end, end_change) = match changes.get(k) {
            Some(c) => (c.index - 1, Some(c)),
            None => (n - 1, None),
        };
        let end_time = end_change.and_then(|c| c.crossing_time);
        let kind = match (start_time.is_some(), end_time.is_some()) {
            (true, true) => LapKind::Timed,
            (false, true) => LapKind::OutLap,
            (true, false) => LapKind::Incomplete,
            (false, false) => LapKind::Partial,
        };
        out.push(Lap {
            lap: cols.lap[start],
            start,
            end,
            kind,
            start_time,
            end_time,
            time: start_time.zip(end_time).map(|(a, b)| b - a),
            iracing_time: end_change.and_then(|c| c.lap_last_lap_time_settled),
        });
        if let Some(c) = end_change {
            start = c.index;
            start_time = c.crossing_time;
        }
    }
    out
}

/// Convenience: the lap table of a file.
pub fn file_laps(f: &IbtFile) -> Result<Vec<Lap>> {
    Ok(laps(&LapColumns::from_file(f)?))
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
            c.lap_dist_pct.push(pos.fract() as f32);
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
