//! `POST /api/coaching/analyze` as a function, for the cloud to mount.
//!
//! `{driverId, telemetryData[], focusAreas[], skillLevel}` → `{feedback, suggestions[], analysis}`.
//! The request is validated first (every rule of `pitbox-model`, then the engine's own: strictly
//! increasing timestamps and enough data for a lap); every error names the field. The
//! `analysis` object holds the same facts at every skill level; the skill level only changes how
//! many findings the feedback and suggestions give and their wording. `focusAreas` filters the
//! findings (all areas when empty).

use pitbox_model::coaching::{CoachingAnalyzeRequest, CoachingAnalyzeResponse};
use pitbox_model::validate::validate;
use serde_json::json;

use crate::analysis::{AnalysisOptions, CoachError, Stream, analyze};
use crate::coaching::{SkillLevel, feedback, filter_areas, lap_time, telemetry_analysis};
use crate::findings::{Finding, FocusArea};
use crate::sample::samples_from_analyze;

/// Why a request was refused (HTTP 400), naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct AnalyzeError {
    /// JSON path of the offending field, e.g. `telemetryData[5].speed`.
    pub field: String,
    pub message: String,
}

impl AnalyzeError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        AnalyzeError { field: field.into(), message: message.into() }
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        400
    }
}

/// Brings values a rounding error outside their range back in, as `pitbox-irsdk`'s mapping
/// does (iRacing writes a throttle of 1.0000001, exported as 100.00001 %): within 0.1 % of the
/// range's span of a bound is that bound. Values further out are still refused.
fn fit_rounding(t: &mut pitbox_model::coaching::AnalyzeSample) {
    fn fit(x: &mut f64, lo: f64, hi: f64) {
        let slack = (hi - lo) * 1e-3;
        if x.is_finite() && *x >= lo - slack && *x <= hi + slack {
            *x = x.clamp(lo, hi);
        }
    }
    fit(&mut t.throttle, 0.0, 100.0);
    fit(&mut t.brake, 0.0, 100.0);
    fit(&mut t.fuel_level, 0.0, 100.0);
    fit(&mut t.track_position, 0.0, 1.0);
    fit(&mut t.speed, 0.0, pitbox_model::telemetry::limits::MAX_SPEED_KMH);
    // iRacing writes LapDist a little below zero just after the line.
    if let Some(d) = t.lap_distance.as_mut() {
        fit(d, 0.0, 100_000.0);
    }
    let w = &mut t.tire_wear;
    for x in [&mut w.front_left, &mut w.front_right, &mut w.rear_left, &mut w.rear_right] {
        fit(x, 0.0, 100.0);
    }
}

/// Analyses a request (see the module docs).
pub fn analyze_request(req: &CoachingAnalyzeRequest) -> Result<CoachingAnalyzeResponse, AnalyzeError> {
    let mut fitted = req.clone();
    for t in &mut fitted.telemetry_data {
        fit_rounding(t);
    }
    let req = &fitted;
    if let Err(e) = validate(req, "") {
        let first = e.first().cloned();
        return Err(
            first.map_or_else(|| AnalyzeError::new("body", e.to_string()), |f| AnalyzeError::new(f.field, f.rule))
        );
    }
    let data = &req.telemetry_data;
    if let Some(i) = data.windows(2).position(|w| w[1].timestamp <= w[0].timestamp) {
        return Err(AnalyzeError::new(
            format!("telemetryData[{}].timestamp", i + 1),
            "must be later than the previous sample's (timestamps strictly increasing)",
        ));
    }
    let skill =
        SkillLevel::parse(&req.skill_level).ok_or_else(|| AnalyzeError::new("skillLevel", "unknown skill level"))?;
    let areas: Vec<FocusArea> = req.focus_areas.iter().filter_map(|a| FocusArea::parse(a)).collect();
    let samples = samples_from_analyze(data);
    let opts = AnalysisOptions::default();
    let stream = Stream::new(samples, &opts).map_err(not_enough)?;
    let a = analyze(&stream, None, None, &opts).map_err(not_enough)?;
    let focus = a.focus_report();
    let mut all: Vec<Finding> = focus.map(|r| r.findings.clone()).unwrap_or_default();
    all.extend(a.session_findings());
    let chosen = filter_areas(&all, &areas);
    let headline = match focus {
        Some(r) if !r.is_reference => format!(
            "Lap {}: {}, {:+.3} s to {} (lap {}, {}).",
            r.lap,
            lap_time(r.time_s),
            r.comparison.delta_s,
            a.reference.name,
            a.reference.lap,
            lap_time(a.reference.time_s)
        ),
        Some(r) => format!("Lap {}: {}, the only complete lap: it is the reference.", r.lap, lap_time(r.time_s)),
        None => "No complete lap to coach on.".to_string(),
    };
    let analysis_lists = telemetry_analysis(&chosen, skill);
    let text = feedback(&headline, &chosen, skill);
    let suggestions = analysis_lists.improvement_areas.clone();
    let analysis = json!({
        "trackLengthM": a.track_length_m,
        "laps": a.laps.iter().map(|l| json!({
            "lap": l.number,
            "complete": l.complete,
            "timeS": l.complete.then_some(l.time),
            "valid": l.is_valid(),
            "invalid": l.invalid.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "sectorsS": l.sectors,
        })).collect::<Vec<_>>(),
        "reference": a.reference,
        "focusLap": focus.map(|r| r.lap),
        "lapDeltaS": focus.map(|r| r.comparison.delta_s),
        "segments": focus.map(|r| &r.comparison.segments),
        "corners": focus.map(|r| &r.comparison.corners),
        "straights": focus.map(|r| &r.comparison.straights),
        "findings": chosen,
        "telemetryAnalysis": analysis_lists,
        "consistency": a.consistency,
        "fuel": a.fuel,
        "tyres": a.tyres,
        "confidence": a.confidence,
        "focusAreas": areas.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
    });
    Ok(CoachingAnalyzeResponse { feedback: text, suggestions, analysis })
}

fn not_enough(e: CoachError) -> AnalyzeError {
    AnalyzeError::new("telemetryData", format!("not enough data to analyse: {e}"))
}
