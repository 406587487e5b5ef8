//! AI coaching: the `ai_coaching` message and the `POST /api/coaching/analyze` bodies.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::telemetry::{TelemetrySnapshot, TireWear};
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

/// Data of `cue_reference`: the lap of the team's history an engineer chose for one driver's
/// cues before the corner (`PUT /api/drivers/{id}/cue-reference`), or, with no `lapId`, back to
/// the driver's own best valid lap of the session. The agent loads the lap's reference from
/// `GET /api/laps/{lapId}/reference`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CueReference {
    /// The driver whose agent cues against it.
    pub driver_id: String,
    /// The stored lap; absent: the driver's own best valid lap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lap_id: Option<String>,
    /// How the cues and the coaching name it: "lap 2 of alex at Tsukuba".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The lap's time as the sim timed it, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lap_time_s: Option<f64>,
    /// Who chose it.
    pub set_by: String,
    pub timestamp: Timestamp,
}

impl Validate for CueReference {
    fn validate_into(&self, v: &mut Validator) {
        v.id("driverId", &self.driver_id);
        v.id_opt("lapId", self.lap_id.as_deref());
        if let Some(n) = &self.name {
            v.text("name", n, 1, 200);
        }
        v.range_opt("lapTimeS", self.lap_time_s, 0.0, 86_400.0);
        v.id("setBy", &self.set_by);
    }
}

/// One sample of `POST /api/coaching/analyze`: the spec's snapshot fields, plus optional
/// channels (the same names and units as in `telemetry_update`) that make the analysis exact on
/// real data. Without `onPitRoad` nobody can tell an out lap from a slow lap, and without
/// `lastLapTime` laps are timed at the sampled crossing instead of as the sim timed them.
/// (The snapshot's fields are spelled out, not flattened: a flattened struct loses the field
/// path of a type error, and a 400 must name `telemetryData[3].gear`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyzeSample {
    pub timestamp: Timestamp,
    /// km/h.
    pub speed: f64,
    pub rpm: f64,
    /// -1 = reverse, 0 = neutral, 1+ = forward gears.
    pub gear: i32,
    /// 0–100 %.
    pub throttle: f64,
    /// 0–100 %.
    pub brake: f64,
    /// Steering wheel angle, degrees, negative = left.
    pub steering_angle: f64,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// 0–1 around the lap from the start/finish line.
    pub track_position: f64,
    pub lap: u32,
    pub sector: u32,
    /// Percent of tank capacity.
    pub fuel_level: f64,
    pub tire_wear: TireWear,
    /// Distance from the start/finish line along the lap, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lap_distance: Option<f64>,
    /// Whether the car is on pit road (iRacing's `OnPitRoad`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_pit_road: Option<bool>,
    /// iRacing's `LapLastLapTime`, seconds (-1 = the last lap was not timed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_lap_time: Option<f64>,
    /// Fuel in the tank, litres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_liters: Option<f64>,
    /// Yaw rate, degrees per second (positive = turning left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yaw_rate: Option<f64>,
    /// Lateral acceleration, m/s² (positive = to the left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lateral_accel: Option<f64>,
    /// Off the track surface (iRacing's `PlayerTrackSurface` is `OffTrack`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_track: Option<bool>,
}

impl AnalyzeSample {
    /// The spec's snapshot part of this sample.
    pub fn snapshot(&self) -> TelemetrySnapshot {
        TelemetrySnapshot {
            timestamp: self.timestamp,
            speed: self.speed,
            rpm: self.rpm,
            gear: self.gear,
            throttle: self.throttle,
            brake: self.brake,
            steering_angle: self.steering_angle,
            latitude: self.latitude,
            longitude: self.longitude,
            track_position: self.track_position,
            lap: self.lap,
            sector: self.sector,
            fuel_level: self.fuel_level,
            tire_wear: self.tire_wear,
        }
    }
}

impl From<TelemetrySnapshot> for AnalyzeSample {
    fn from(s: TelemetrySnapshot) -> AnalyzeSample {
        AnalyzeSample {
            timestamp: s.timestamp,
            speed: s.speed,
            rpm: s.rpm,
            gear: s.gear,
            throttle: s.throttle,
            brake: s.brake,
            steering_angle: s.steering_angle,
            latitude: s.latitude,
            longitude: s.longitude,
            track_position: s.track_position,
            lap: s.lap,
            sector: s.sector,
            fuel_level: s.fuel_level,
            tire_wear: s.tire_wear,
            lap_distance: None,
            on_pit_road: None,
            last_lap_time: None,
            fuel_liters: None,
            yaw_rate: None,
            lateral_accel: None,
            off_track: None,
        }
    }
}

impl Validate for AnalyzeSample {
    fn validate_into(&self, v: &mut Validator) {
        check_core_channels!(v, self);
        check_position_channels!(v, self);
        v.range_opt("lapDistance", self.lap_distance, 0.0, 100_000.0);
        v.range_opt("lastLapTime", self.last_lap_time, -1.0, 86_400.0);
        v.range_opt("fuelLiters", self.fuel_liters, 0.0, 1_000.0);
        v.range_opt("yawRate", self.yaw_rate, -3_600.0, 3_600.0);
        v.range_opt("lateralAccel", self.lateral_accel, -200.0, 200.0);
    }
}

/// Body of `POST /api/coaching/analyze` (spec; each sample may carry [`AnalyzeSample`]'s
/// optional channels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CoachingAnalyzeRequest {
    pub driver_id: String,
    pub telemetry_data: Vec<AnalyzeSample>,
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
