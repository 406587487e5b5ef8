//! AI coaching: the `ai_coaching` message and the `POST /api/coaching/analyze` bodies.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::telemetry::TelemetrySnapshot;
use crate::validate::{Validate, Validator};
use crate::{Priority, Timestamp};

/// Longest coaching text, characters.
pub const MAX_FEEDBACK_LEN: usize = 2_000;
/// Longest single finding, characters.
pub const MAX_FINDING_LEN: usize = 500;
/// Most findings per list.
pub const MAX_FINDINGS: usize = 50;
/// Most samples in one analyze request (about 30 minutes at 60 Hz).
pub const MAX_ANALYZE_SAMPLES: usize = 108_000;

/// What the analysis found, in the spec's three lists.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelemetryAnalysis {
    pub strengths: Vec<String>,
    pub weaknesses: Vec<String>,
    pub improvement_areas: Vec<String>,
}

fn check_findings(v: &mut Validator, name: &'static str, items: &[String]) {
    v.count(name, items.len(), 0, MAX_FINDINGS);
    for item in items.iter().take(MAX_FINDINGS) {
        v.text(name, item, 1, MAX_FINDING_LEN);
    }
}

impl Validate for TelemetryAnalysis {
    fn validate_into(&self, v: &mut Validator) {
        check_findings(v, "strengths", &self.strengths);
        check_findings(v, "weaknesses", &self.weaknesses);
        check_findings(v, "improvementAreas", &self.improvement_areas);
    }
}

/// Data of `ai_coaching`. `driverId` and `lap` (additive) say whom and which lap it is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AiCoaching {
    pub feedback: String,
    /// 0–1: how sure the analysis is.
    pub confidence: f64,
    pub telemetry_analysis: TelemetryAnalysis,
    pub timestamp: Timestamp,
    pub priority: Priority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lap: Option<u32>,
}

impl Validate for AiCoaching {
    fn validate_into(&self, v: &mut Validator) {
        v.text("feedback", &self.feedback, 1, MAX_FEEDBACK_LEN);
        v.range("confidence", self.confidence, 0.0, 1.0);
        v.nested("telemetryAnalysis", &self.telemetry_analysis);
        v.id_opt("driverId", self.driver_id.as_deref());
    }
}

/// Body of `POST /api/coaching/analyze` (spec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CoachingAnalyzeRequest {
    pub driver_id: String,
    pub telemetry_data: Vec<TelemetrySnapshot>,
    #[serde(default)]
    pub focus_areas: Vec<String>,
    pub skill_level: String,
}

/// Focus areas the coaching engine understands.
pub const FOCUS_AREAS: &[&str] = &["braking", "cornering", "throttle", "consistency", "fuel"];
/// Skill levels, least to most experienced.
pub const SKILL_LEVELS: &[&str] = &["beginner", "intermediate", "advanced", "pro"];

impl Validate for CoachingAnalyzeRequest {
    fn validate_into(&self, v: &mut Validator) {
        v.id("driverId", &self.driver_id);
        v.list("telemetryData", &self.telemetry_data, 1, MAX_ANALYZE_SAMPLES);
        if self.telemetry_data.windows(2).any(|w| w[1].timestamp < w[0].timestamp) {
            v.fail("telemetryData", "samples must be in time order");
        }
        v.count("focusAreas", self.focus_areas.len(), 0, FOCUS_AREAS.len());
        for area in &self.focus_areas {
            if !FOCUS_AREAS.contains(&area.as_str()) {
                v.fail(
                    "focusAreas",
                    format!("unknown focus area `{}`, expected one of: {}", clip(area), FOCUS_AREAS.join(", ")),
                );
            }
        }
        if !SKILL_LEVELS.contains(&self.skill_level.as_str()) {
            v.fail(
                "skillLevel",
                format!(
                    "unknown skill level `{}`, expected one of: {}",
                    clip(&self.skill_level),
                    SKILL_LEVELS.join(", ")
                ),
            );
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Response of `POST /api/coaching/analyze` (spec). `analysis` carries the engine's full
/// structured result; its shape is documented with the coaching engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CoachingAnalyzeResponse {
    pub feedback: String,
    pub suggestions: Vec<String>,
    pub analysis: serde_json::Value,
}

impl Validate for CoachingAnalyzeResponse {
    fn validate_into(&self, v: &mut Validator) {
        v.text("feedback", &self.feedback, 1, MAX_FEEDBACK_LEN);
        check_findings(v, "suggestions", &self.suggestions);
        if !self.analysis.is_object() {
            v.fail("analysis", "must be an object");
        }
    }
}
