//! A whole stream analysed: laps, reference, per-lap comparisons and findings, consistency,
//! fuel and tyres.

use serde::{Deserialize, Serialize};

use crate::compare::{BOUNDARY_MARGIN_M, Comparison, compare};
use crate::corners::{Corner, CornerMap, CornerMetrics, corner_metrics};
use crate::findings::{Finding, FindingKind, FocusArea, findings};
use crate::laps::{Lap, LapOptions, Laps, estimate_track_length, split_laps};
use crate::sample::Sample;
use crate::trace::{DEFAULT_STEP_M, Trace, grid_points, resample};
use pitbox_strategy::fuel::{LapFuel, fuel_per_lap};

/// Most complete laps analysed (the most recent ones).
pub const MAX_LAPS: usize = 500;

/// What can go wrong analysing a stream.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoachError {
    #[error("no samples")]
    NoSamples,
    #[error("no complete lap: the car must cross the start/finish line twice")]
    NoCompleteLap,
    #[error("cannot tell the track length: no lap distance channel and no complete lap")]
    NoTrackLength,
    #[error("lap {lap} is not a complete lap of this stream (complete laps: {available})")]
    LapNotFound { lap: i32, available: String },
    #[error("track lengths differ: {length_m:.0} m here, {reference_m:.0} m on the reference")]
    TrackMismatch { length_m: f64, reference_m: f64 },
}

/// Analysis settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisOptions {
    pub laps: LapOptions,
    /// Grid spacing, metres.
    pub step_m: f64,
    /// Track length, metres, when known (else from the data).
    pub track_length_m: Option<f64>,
    /// Target stint length for the fuel plan, laps.
    pub stint_laps: Option<u32>,
    /// Extra fuel to carry, laps.
    pub fuel_margin_laps: f64,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        Self {
            laps: LapOptions::default(),
            step_m: DEFAULT_STEP_M,
            track_length_m: None,
            stint_laps: None,
            fuel_margin_laps: 1.0,
        }
    }
}

/// A sample stream cut into laps.
#[derive(Debug, Clone)]
pub struct Stream {
    pub samples: Vec<Sample>,
    pub laps: Laps,
    pub length_m: f64,
}

impl Stream {
    /// Cuts `samples` into laps and finds the track length.
    pub fn new(samples: Vec<Sample>, opts: &AnalysisOptions) -> Result<Stream, CoachError> {
        if samples.is_empty() {
            return Err(CoachError::NoSamples);
        }
        let laps = split_laps(&samples, &opts.laps);
        let length_m = match opts.track_length_m.filter(|l| l.is_finite() && *l > 0.0) {
            Some(l) => l,
            None => estimate_track_length(&samples, &laps).ok_or(CoachError::NoTrackLength)?,
        };
        Ok(Stream { samples, laps, length_m })
    }

    /// Complete laps.
    pub fn complete_laps(&self) -> impl Iterator<Item = &Lap> {
        self.laps.laps.iter().filter(|l| l.complete)
    }

    /// The fastest valid lap, else the fastest complete lap that is no in/out lap.
    pub fn best_lap(&self) -> Option<&Lap> {
        let best = |valid_only: bool| {
            self.complete_laps()
                .filter(|l| if valid_only { l.is_valid() } else { !l.out_lap && !l.in_lap })
                .min_by(|a, b| a.time.total_cmp(&b.time))
        };
        best(true).or_else(|| best(false))
    }

    /// The complete lap with this lap number.
    pub fn lap(&self, number: i32) -> Result<&Lap, CoachError> {
        self.complete_laps().find(|l| l.number == number).ok_or_else(|| CoachError::LapNotFound {
            lap: number,
            available: self.complete_laps().map(|l| l.number.to_string()).collect::<Vec<_>>().join(", "),
        })
    }

    /// Resamples a lap onto an `n`-point grid.
    pub fn trace(&self, lap: &Lap, n: usize) -> Option<Trace> {
        resample(&self.samples, &self.laps, lap, n, self.length_m)
    }

    /// A reference from this stream: lap `number`, or the best lap.
    pub fn reference(&self, number: Option<i32>, step_m: f64, name: &str) -> Result<Reference, CoachError> {
        let lap = match number {
            Some(n) => self.lap(n)?,
            None => self.best_lap().ok_or(CoachError::NoCompleteLap)?,
        };
        let n = grid_points(self.length_m, step_m);
        let trace = self.trace(lap, n).ok_or(CoachError::NoCompleteLap)?;
        let corners = CornerMap::detect(&trace);
        Ok(Reference {
            name: name.to_string(),
            lap_number: lap.number,
            lap_time: lap.time,
            valid: lap.is_valid(),
            trace,
            corners,
        })
    }
}

impl Reference {
    /// A reference from an already resampled lap (corners detected on it).
    pub fn from_trace(name: &str, lap_number: i32, valid: bool, trace: Trace) -> Reference {
        let corners = CornerMap::detect(&trace);
        Reference { name: name.to_string(), lap_number, lap_time: trace.lap_time(), valid, trace, corners }
    }
}

/// The lap everything is compared with. It travels as JSON (`GET /api/laps/{id}/reference`):
/// the pit wall can hand a driver's agent a lap of the team's history to be coached against.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    /// How the text calls it: "your best lap", "the reference".
    pub name: String,
    pub lap_number: i32,
    pub lap_time: f64,
    pub valid: bool,
    pub trace: Trace,
    pub corners: CornerMap,
}

/// One lap's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LapReport {
    pub lap: i32,
    pub index: usize,
    pub time_s: f64,
    pub valid: bool,
    pub is_reference: bool,
    pub corners: Vec<CornerMetrics>,
    pub comparison: Comparison,
    pub findings: Vec<Finding>,
}

/// Spread across valid laps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consistency {
    pub laps: usize,
    pub best_s: f64,
    pub mean_s: f64,
    pub stdev_s: f64,
    pub spread_s: f64,
    /// Best segments put together, seconds.
    pub theoretical_best_s: f64,
    pub corners: Vec<CornerSpread>,
}

/// One corner's spread across valid laps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CornerSpread {
    pub id: String,
    /// Standard deviation of the corner's segment time, seconds.
    pub time_stdev_s: f64,
    /// Standard deviation of the minimum speed, km/h.
    pub min_speed_stdev_kmh: f64,
    /// Best segment time minus mean, seconds (what consistency would be worth).
    pub mean_loss_s: f64,
}

/// Fuel use and plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FuelReport {
    /// "l" or "%".
    pub unit: String,
    pub per_lap: f64,
    pub laps_measured: usize,
    pub current: f64,
    pub laps_left: f64,
    pub stint_laps: Option<u32>,
    /// Fuel to add for the target stint (with the margin), 0 when enough.
    pub to_add: Option<f64>,
}

/// Tyre wear over the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TyreTrend {
    /// % worn FL, FR, RL, RR at the start and end.
    pub start: [f64; 4],
    pub end: [f64; 4],
    /// Wear per lap, % (least squares over lap ends).
    pub per_lap: [f64; 4],
    /// iRacing only updates wear in the pits: no change means "not measured", not "no wear".
    pub changed: bool,
}

/// Everything the engine says about a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAnalysis {
    pub track_length_m: f64,
    pub laps: Vec<Lap>,
    pub reference: ReferenceSummary,
    pub corners: Vec<Corner>,
    pub reports: Vec<LapReport>,
    /// Index into `reports` of the lap the feedback is about.
    pub focus: Option<usize>,
    pub consistency: Option<Consistency>,
    pub fuel: Option<FuelReport>,
    pub tyres: Option<TyreTrend>,
    pub confidence: f64,
}

/// Which lap the reference is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceSummary {
    pub name: String,
    pub lap: i32,
    pub time_s: f64,
    pub valid: bool,
}

/// Lap `lap` of `stream` against lap `reference_lap` of `reference`: two laps of any sessions on
/// one track (another driver's, an imported file's, an earlier evening's), each stream holding
/// its lap with enough around it to see both crossings of the line. The same analysis as
/// [`analyze`] with that reference; its focus report is `lap`'s.
pub fn compare_laps(
    stream: &Stream,
    lap: i32,
    reference: &Stream,
    reference_lap: i32,
    reference_name: &str,
    opts: &AnalysisOptions,
) -> Result<SessionAnalysis, CoachError> {
    let r = reference.reference(Some(reference_lap), opts.step_m, reference_name)?;
    analyze(stream, Some(&r), Some(lap), opts)
}

/// Analyses `stream` against `reference` (default: its own best lap). `focus_lap` picks the lap
/// the feedback is about (default: the last complete lap that is not the reference).
pub fn analyze(
    stream: &Stream,
    reference: Option<&Reference>,
    focus_lap: Option<i32>,
    opts: &AnalysisOptions,
) -> Result<SessionAnalysis, CoachError> {
    let own;
    let reference = match reference {
        Some(r) => {
            let rel = (stream.length_m - r.trace.length_m).abs() / r.trace.length_m;
            if rel > 0.05 {
                return Err(CoachError::TrackMismatch { length_m: stream.length_m, reference_m: r.trace.length_m });
            }
            r
        }
        None => {
            own = stream.reference(None, opts.step_m, "your best lap")?;
            &own
        }
    };
    let is_own = reference.name == "your best lap";
    let n = reference.trace.len();
    let mut reports = Vec::new();
    // Bounded work and memory whatever the input: the most recent MAX_LAPS complete laps.
    let complete: Vec<&Lap> = stream.complete_laps().collect();
    let skip = complete.len().saturating_sub(MAX_LAPS);
    for lap in complete.into_iter().skip(skip) {
        let Some(trace) = stream.trace(lap, n) else { continue };
        let comparison = compare(&trace, &reference.trace, &reference.corners);
        let corners = corner_metrics(&trace, &reference.corners);
        let mut found = findings(&comparison, &reference.name);
        if lap.out_lap {
            // Slow over the line on an out lap is the pit exit, not a mistake.
            for f in found.iter_mut().filter(|f| f.corner.is_none() && f.kind == FindingKind::Exit) {
                f.text = format!("Out lap: {:.2} s lost before the first corner, from the pit exit", f.time_s);
                f.advice = "Out lap: the start from the pit exit is not a mistake".into();
            }
        }
        reports.push((
            LapReport {
                lap: lap.number,
                index: lap.index,
                time_s: lap.time,
                valid: lap.is_valid(),
                is_reference: is_own && lap.number == reference.lap_number && lap.time == reference.lap_time,
                corners,
                comparison,
                findings: found,
            },
            trace.time,
        ));
    }
    if reports.is_empty() {
        return Err(CoachError::NoCompleteLap);
    }
    let focus = match focus_lap {
        Some(f) => {
            stream.lap(f)?;
            reports.iter().position(|(r, _)| r.lap == f)
        }
        None => reports.iter().rposition(|(r, _)| !r.is_reference).or(Some(reports.len() - 1)),
    };
    let consistency = consistency(&reports, reference);
    let fuel = fuel(stream, opts);
    let tyres = tyres(stream);
    let valid = reports.iter().filter(|(r, _)| r.valid).count();
    let confidence = confidence(stream, valid, reference);
    Ok(SessionAnalysis {
        track_length_m: stream.length_m,
        laps: stream.laps.laps.clone(),
        reference: ReferenceSummary {
            name: reference.name.clone(),
            lap: reference.lap_number,
            time_s: reference.lap_time,
            valid: reference.valid,
        },
        corners: reference.corners.corners.clone(),
        reports: reports.into_iter().map(|(r, _)| r).collect(),
        focus,
        consistency,
        fuel,
        tyres,
        confidence,
    })
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (m, var.sqrt())
}

fn consistency(reports: &[(LapReport, Vec<f64>)], reference: &Reference) -> Option<Consistency> {
    let valid: Vec<&(LapReport, Vec<f64>)> = reports.iter().filter(|(r, _)| r.valid).collect();
    if valid.len() < 2 {
        return None;
    }
    let times: Vec<f64> = valid.iter().map(|(r, _)| r.time_s).collect();
    let (mean, sd) = mean_sd(&times);
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    let worst = times.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // Fixed segment boundaries from the reference: before each corner's entry.
    let t = &reference.trace;
    let c = &reference.corners.corners;
    let mut bounds = vec![0usize];
    for corner in c {
        let b = t.index_at(corner.entry_m - BOUNDARY_MARGIN_M).max(bounds.last().copied().unwrap_or(0));
        bounds.push(b);
    }
    bounds.push(t.len() - 1);
    let mut theoretical = 0.0;
    let mut corners = Vec::new();
    for s in 0..bounds.len() - 1 {
        let (a, b) = (bounds[s], bounds[s + 1]);
        let seg: Vec<f64> = valid.iter().map(|(_, tr)| tr[b] - tr[a]).collect();
        let (m, sdv) = mean_sd(&seg);
        let best_seg = seg.iter().copied().fold(f64::INFINITY, f64::min);
        theoretical += best_seg;
        if s > 0 {
            let k = s - 1;
            let mins: Vec<f64> = valid.iter().filter_map(|(r, _)| r.corners.get(k).map(|x| x.min_speed_kmh)).collect();
            corners.push(CornerSpread {
                id: c[k].id.clone(),
                time_stdev_s: sdv,
                min_speed_stdev_kmh: mean_sd(&mins).1,
                mean_loss_s: m - best_seg,
            });
        }
    }
    Some(Consistency {
        laps: valid.len(),
        best_s: best,
        mean_s: mean,
        stdev_s: sd,
        spread_s: worst - best,
        theoretical_best_s: theoretical,
        corners,
    })
}

fn fuel(stream: &Stream, opts: &AnalysisOptions) -> Option<FuelReport> {
    let last = stream.samples.iter().rev().find(|s| !s.blank)?;
    let current = last.fuel()?;
    let unit = if last.fuel_l.is_some() { "l" } else { "%" };
    // Green laps: complete, neither in nor out lap (the one rule, pitbox_strategy's).
    let laps: Vec<LapFuel> = stream
        .complete_laps()
        .filter_map(|l| l.fuel_used.map(|used| LapFuel { used, green: !l.in_lap && !l.out_lap }))
        .collect();
    let per_lap = fuel_per_lap(&laps, 0)?;
    let measured = laps.iter().filter(|l| l.green && l.used.is_finite() && l.used > 0.0).count();
    let to_add = opts.stint_laps.map(|n| (per_lap * (f64::from(n) + opts.fuel_margin_laps) - current).max(0.0));
    Some(FuelReport {
        unit: unit.into(),
        per_lap,
        laps_measured: measured,
        current,
        laps_left: current / per_lap,
        stint_laps: opts.stint_laps,
        to_add,
    })
}

fn tyres(stream: &Stream) -> Option<TyreTrend> {
    let first = stream.samples.iter().find(|s| !s.blank)?.tyre_wear?;
    let last = stream.samples.iter().rev().find(|s| !s.blank)?.tyre_wear?;
    let ends: Vec<(f64, [f64; 4])> = stream
        .complete_laps()
        .filter_map(|l| stream.samples.get(l.last).and_then(|s| s.tyre_wear).map(|w| (l.index as f64, w)))
        .collect();
    let mut per_lap = [0.0; 4];
    if ends.len() >= 2 {
        let n = ends.len() as f64;
        let mx = ends.iter().map(|e| e.0).sum::<f64>() / n;
        let sxx: f64 = ends.iter().map(|e| (e.0 - mx) * (e.0 - mx)).sum();
        for (c, slot) in per_lap.iter_mut().enumerate() {
            let my = ends.iter().map(|e| e.1[c]).sum::<f64>() / n;
            let sxy: f64 = ends.iter().map(|e| (e.0 - mx) * (e.1[c] - my)).sum();
            *slot = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        }
    }
    let changed = first.iter().zip(&last).any(|(a, b)| (a - b).abs() > 1e-6);
    Some(TyreTrend { start: first, end: last, per_lap, changed })
}

/// 0–1: more valid laps, a lap-distance channel, a lateral channel and a high sample rate all
/// make the analysis surer.
fn confidence(stream: &Stream, valid_laps: usize, reference: &Reference) -> f64 {
    let s = &stream.samples;
    let mut c = 0.4 + 0.06 * valid_laps.min(5) as f64;
    if s.iter().any(|x| x.lap_dist.is_some()) {
        c += 0.1;
    }
    if reference.trace.lateral.is_some() {
        c += 0.1;
    }
    if s.len() >= 2 {
        let span = s[s.len() - 1].time - s[0].time;
        let rate = (s.len() - 1) as f64 / span.max(1e-9);
        if rate >= 20.0 {
            c += 0.1;
        } else if rate < 5.0 {
            c -= 0.2;
        }
    }
    if !reference.valid {
        c -= 0.1;
    }
    c.clamp(0.05, 0.95)
}

/// How a recurring cause reads in a sentence.
fn cause(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::EarlyBraking => "braking earlier",
        FindingKind::LateBraking => "braking too late",
        FindingKind::BrakePressure => "less brake pressure",
        FindingKind::MinSpeed => "a lower minimum speed",
        FindingKind::LateThrottle => "later full throttle",
        FindingKind::Coasting => "coasting",
        FindingKind::OffTrack => "running off track",
        FindingKind::Entry => "the entry",
        _ => "the exit",
    }
}

impl SessionAnalysis {
    /// Corners that cost time lap after lap: the mean corner delta over the valid laps other
    /// than the reference (at least two), when it is at least [`crate::findings::MIN_FINDING_S`],
    /// with the most frequent cause. Worst first.
    pub fn recurring_findings(&self) -> Vec<Finding> {
        let laps: Vec<&LapReport> = self.reports.iter().filter(|r| r.valid && !r.is_reference).collect();
        if laps.len() < 2 {
            return Vec::new();
        }
        let mut out = Vec::new();
        for c in &self.corners {
            let deltas: Vec<f64> = laps
                .iter()
                .filter_map(|r| r.comparison.corners.iter().find(|x| x.id == c.id).map(|x| x.delta_s))
                .collect();
            let mean = deltas.iter().sum::<f64>() / deltas.len().max(1) as f64;
            if mean < crate::findings::MIN_FINDING_S {
                continue;
            }
            let kinds: Vec<FindingKind> = laps
                .iter()
                .flat_map(|r| r.findings.iter())
                .filter(|f| f.corner.as_deref() == Some(c.id.as_str()) && f.time_s > 0.0)
                .map(|f| f.kind)
                .collect();
            let top = kinds.iter().copied().max_by_key(|k| kinds.iter().filter(|x| *x == k).count());
            let (kind, why) = match top {
                Some(k) => {
                    let n = kinds.iter().filter(|x| **x == k).count();
                    (k, format!(", mostly {} ({n} of {} laps)", cause(k), laps.len()))
                }
                None => (FindingKind::Entry, String::new()),
            };
            out.push(Finding {
                corner: Some(c.id.clone()),
                kind,
                area: kind.area(),
                time_s: mean,
                evidence: Vec::new(),
                text: format!(
                    "{}: {:.2} s a lap lost on average against {} over {} laps{why}",
                    c.id,
                    mean,
                    self.reference.name,
                    laps.len()
                ),
                advice: format!("{}: the most time to find lap after lap, {:.2} s a lap", c.id, mean),
            });
        }
        out.sort_by(|a, b| b.time_s.total_cmp(&a.time_s));
        out
    }

    /// The report the feedback is about.
    pub fn focus_report(&self) -> Option<&LapReport> {
        self.focus.and_then(|i| self.reports.get(i))
    }

    /// Session-level findings: consistency and fuel.
    pub fn session_findings(&self) -> Vec<Finding> {
        let mut out = self.recurring_findings();
        if let Some(c) = &self.consistency {
            let text = format!(
                "Lap times: standard deviation {:.2} s over {} valid laps, best {:.3} s, mean {:.3} s, best segments together {:.3} s",
                c.stdev_s, c.laps, c.best_s, c.mean_s, c.theoretical_best_s
            );
            out.push(Finding {
                corner: None,
                kind: FindingKind::Consistency,
                area: FocusArea::Consistency,
                time_s: c.mean_s - c.theoretical_best_s,
                evidence: Vec::new(),
                text,
                advice: format!(
                    "Put your best segments together: {:.2} s a lap is there on average",
                    c.mean_s - c.theoretical_best_s
                ),
            });
            if let Some(w) = c
                .corners
                .iter()
                .filter(|x| x.time_stdev_s >= 0.05)
                .max_by(|a, b| a.time_stdev_s.total_cmp(&b.time_stdev_s))
            {
                out.push(Finding {
                    corner: Some(w.id.clone()),
                    kind: FindingKind::Consistency,
                    area: FocusArea::Consistency,
                    time_s: w.mean_loss_s,
                    evidence: Vec::new(),
                    text: format!(
                        "{}: least consistent corner, time varies by {:.2} s (standard deviation), minimum speed by {:.1} km/h",
                        w.id, w.time_stdev_s, w.min_speed_stdev_kmh
                    ),
                    advice: format!("{}: pick one braking marker and one line and repeat them", w.id),
                });
            }
        }
        if let Some(f) = &self.fuel {
            let mut text = format!(
                "Fuel: {:.2} {} per lap over {} laps, {:.1} {} left, {:.1} laps",
                f.per_lap, f.unit, f.laps_measured, f.current, f.unit, f.laps_left
            );
            if let (Some(n), Some(add)) = (f.stint_laps, f.to_add) {
                if add > 0.0 {
                    text.push_str(&format!(", add {add:.1} {} for a {n}-lap stint", f.unit));
                } else {
                    text.push_str(&format!(", enough for a {n}-lap stint"));
                }
            }
            out.push(Finding {
                corner: None,
                kind: FindingKind::Fuel,
                area: FocusArea::Fuel,
                time_s: 0.0,
                evidence: Vec::new(),
                advice: text.clone(),
                text,
            });
        }
        out
    }
}
