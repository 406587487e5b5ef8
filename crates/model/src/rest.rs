//! Bodies of the spec's REST endpoints and its `ValidationResult` model.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::telemetry::{TelemetryUpdate, TireWear};
use crate::validate::{Validate, Validator};
use crate::{CheckStatus, Priority, Timestamp, UserRole};

/// Body of `POST /api/auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl Validate for LoginRequest {
    fn validate_into(&self, v: &mut Validator) {
        v.text("username", &self.username, 1, 64);
        v.text("password", &self.password, 1, 1_024);
    }
}

/// The user in a login response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    pub id: String,
    pub username: String,
    pub role: UserRole,
}

/// Response of `POST /api/auth/login` and `POST /api/auth/refresh`: the spec's `{token, user}`
/// plus the refresh token and the access token's lifetime in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    pub user: UserSummary,
}

impl Validate for LoginResponse {
    fn validate_into(&self, v: &mut Validator) {
        v.text("token", &self.token, 1, crate::control::MAX_TOKEN_LEN);
        v.id("user.id", &self.user.id);
        v.text("user.username", &self.user.username, 1, 64);
    }
}

/// Channels of one sample in `POST /api/telemetry` (the snapshot without its timestamp, which
/// the request carries at the top).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelemetryData {
    pub speed: f64,
    pub rpm: f64,
    pub gear: i32,
    pub throttle: f64,
    pub brake: f64,
    pub steering_angle: f64,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
    pub track_position: f64,
    pub lap: u32,
    pub sector: u32,
    pub fuel_level: f64,
    pub tire_wear: TireWear,
}

impl Validate for TelemetryData {
    fn validate_into(&self, v: &mut Validator) {
        check_core_channels!(v, self);
        check_position_channels!(v, self);
    }
}

/// Body of `POST /api/telemetry` (spec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelemetryPost {
    pub driver_id: String,
    pub timestamp: Timestamp,
    pub data: TelemetryData,
}

impl Validate for TelemetryPost {
    fn validate_into(&self, v: &mut Validator) {
        v.id("driverId", &self.driver_id);
        v.nested("data", &self.data);
    }
}

impl TelemetryPost {
    /// The same sample as a `telemetry_update`.
    pub fn into_update(self) -> TelemetryUpdate {
        let d = self.data;
        TelemetryUpdate {
            driver_id: self.driver_id,
            timestamp: self.timestamp,
            speed: d.speed,
            rpm: d.rpm,
            gear: d.gear,
            throttle: d.throttle,
            brake: d.brake,
            steering_angle: d.steering_angle,
            latitude: d.latitude,
            longitude: d.longitude,
            track_position: d.track_position,
            lap: d.lap,
            sector: d.sector,
            fuel_level: d.fuel_level,
            tire_wear: d.tire_wear,
            position: None,
            lap_distance: None,
            lap_time: None,
            session_time: None,
            yaw_rate: None,
            lateral_accel: None,
            longitudinal_accel: None,
            fuel_liters: None,
            on_pit_road: None,
            sequence: None,
            sim_session_id: None,
            last_lap_time: None,
            on_track: None,
            in_garage: None,
            replay_playing: None,
            off_track: None,
            session_laps_remaining: None,
            session_time_remaining: None,
            pit_service_flags: None,
            pit_service_fuel_l: None,
            session_flags: None,
        }
    }
}

/// Response of `POST /api/telemetry` (spec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelemetryPostResponse {
    pub success: bool,
    pub id: String,
}

impl Validate for TelemetryPostResponse {
    fn validate_into(&self, v: &mut Validator) {
        v.id("id", &self.id);
    }
}

/// Longest text `POST /api/voice/synthesize` accepts, characters.
pub const MAX_SPEECH_CHARS: usize = 1_000;

/// Body of `POST /api/voice/synthesize` (spec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VoiceSynthesizeRequest {
    pub text: String,
    pub voice_id: String,
    /// Speaking rate, 0.5–2.0 (1 = normal).
    pub speed: f64,
    pub priority: Priority,
}

impl Validate for VoiceSynthesizeRequest {
    fn validate_into(&self, v: &mut Validator) {
        if self.text.trim().is_empty() {
            v.fail("text", "must not be empty");
        } else {
            v.text("text", &self.text, 1, MAX_SPEECH_CHARS);
        }
        v.id("voiceId", &self.voice_id);
        v.range("speed", self.speed, 0.5, 2.0);
    }
}

/// Response of `POST /api/voice/synthesize` (spec). `duration` in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VoiceSynthesizeResponse {
    pub audio_url: String,
    pub duration: f64,
}

impl Validate for VoiceSynthesizeResponse {
    fn validate_into(&self, v: &mut Validator) {
        v.text("audioUrl", &self.audio_url, 1, crate::team::MAX_URL_LEN);
        v.range("duration", self.duration, 0.0, 3_600.0);
    }
}

/// Where the driver agent finds its relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelayAgentConfig {
    /// e.g. `ws://localhost`.
    pub url: String,
    pub port: u16,
}

/// Whether and where the driver agent reaches the cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudConfig {
    pub endpoint: String,
    pub enabled: bool,
}

/// Voice settings of the driver agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VoiceConfig {
    pub enabled: bool,
    /// Voice-command sensitivity, 0–1.
    pub sensitivity: f64,
    pub voice_id: String,
}

/// Body of the driver agent's `GET /api/config` and `PUT /api/config` (spec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriverAppConfig {
    pub relay_agent: RelayAgentConfig,
    pub cloud: CloudConfig,
    pub voice: VoiceConfig,
}

fn check_url(v: &mut Validator, name: &str, url: &str, schemes: &[&str]) {
    v.text(name, url, 1, crate::team::MAX_URL_LEN);
    if !schemes.iter().any(|s| url.starts_with(s)) {
        v.fail(name, format!("must start with one of: {}", schemes.join(", ")));
    }
}

impl Validate for DriverAppConfig {
    fn validate_into(&self, v: &mut Validator) {
        check_url(v, "relayAgent.url", &self.relay_agent.url, &["ws://", "wss://"]);
        if self.relay_agent.port == 0 {
            v.fail("relayAgent.port", "must be between 1 and 65535, got 0");
        }
        check_url(v, "cloud.endpoint", &self.cloud.endpoint, &["http://", "https://"]);
        v.range("voice.sensitivity", self.voice.sensitivity, 0.0, 1.0);
        v.id("voice.voiceId", &self.voice.voice_id);
    }
}

/// The spec's `ValidationResult`: the outcome of one component check (`pitbox doctor`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidationResult {
    pub component_name: String,
    pub status: CheckStatus,
    pub message: String,
    pub timestamp: Timestamp,
    pub details: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Validate for ValidationResult {
    fn validate_into(&self, v: &mut Validator) {
        v.text("componentName", &self.component_name, 1, 100);
        v.text("message", &self.message, 1, 2_000);
    }
}
