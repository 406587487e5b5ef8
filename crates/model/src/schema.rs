//! JSON Schemas generated from the Rust types (checked in under `docs/schema/`), and the table
//! of REST bodies and data models that `pitbox protocol validate --as` checks.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::coaching::{CoachingAnalyzeRequest, CoachingAnalyzeResponse};
use crate::protocol::{DecodeError, MESSAGE_TYPES, message_schema};
use crate::rest::{
    DriverAppConfig, LoginRequest, LoginResponse, TelemetryPost, TelemetryPostResponse, ValidationResult,
    VoiceSynthesizeRequest, VoiceSynthesizeResponse,
};
use crate::team::{DriverProfile, HandoffRequest, TeamMessage};
use crate::telemetry::{CurrentTelemetry, TelemetrySnapshot};
use crate::validate::{self, Validate};

const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

fn generator() -> schemars::SchemaGenerator {
    schemars::generate::SchemaSettings::draft2020_12().into_generator()
}

/// Schema of the envelope `{"type": name, "data": T}`.
pub(crate) fn envelope_schema<T: JsonSchema>(name: &str, summary: &str) -> Value {
    let mut generator = generator();
    let data = generator.subschema_for::<T>();
    let defs = generator.take_definitions(true);
    let mut schema = json!({
        "$schema": DIALECT,
        "$id": format!("https://pitbox.invalid/schema/{name}.json"),
        "title": name,
        "description": summary,
        "type": "object",
        "required": ["type", "data"],
        "properties": {
            "type": { "const": name },
            "data": data.to_value(),
        },
    });
    if !defs.is_empty() {
        schema["$defs"] = Value::Object(defs);
    }
    schema
}

fn model_schema<T: JsonSchema>(name: &str) -> Value {
    let mut value = generator().into_root_schema_for::<T>().to_value();
    value["$id"] = json!(format!("https://pitbox.invalid/schema/model/{name}.json"));
    value
}

fn check_model<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<(), DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => {
                DecodeError::Json { line: inner.line(), column: inner.column(), reason: inner.to_string() }
            }
            serde_json::error::Category::Data => {
                let reason = inner.to_string();
                let reason = reason.rfind(" at line ").map_or(reason.as_str(), |i| &reason[..i]).to_string();
                let field = if path == "." { String::new() } else { path };
                match reason.strip_prefix("missing field `").and_then(|r| r.strip_suffix('`')) {
                    Some(m) if field.is_empty() => {
                        DecodeError::Field { field: m.to_string(), reason: "required field missing".into() }
                    }
                    Some(m) => {
                        DecodeError::Field { field: format!("{field}.{m}"), reason: "required field missing".into() }
                    }
                    None => {
                        DecodeError::Field { field: if field.is_empty() { "(root)".into() } else { field }, reason }
                    }
                }
            }
        }
    })?;
    de.end().map_err(|e| DecodeError::Json { line: e.line(), column: e.column(), reason: e.to_string() })?;
    validate::validate(&value, "").map_err(DecodeError::Invalid)
}

/// A REST body or data model that can be checked on its own.
pub struct ModelSpec {
    /// Name used by `pitbox protocol validate --as NAME` and `docs/schema/model/NAME.json`.
    pub name: &'static str,
    /// Where it appears.
    pub used_in: &'static str,
    check: fn(&[u8]) -> Result<(), DecodeError>,
    schema: fn(&str) -> Value,
}

impl ModelSpec {
    /// Decodes and validates `bytes` as this model.
    pub fn check(&self, bytes: &[u8]) -> Result<(), DecodeError> {
        if bytes.len() > crate::protocol::DEFAULT_MAX_FRAME_BYTES * 64 {
            return Err(DecodeError::TooLarge {
                size: bytes.len(),
                limit: crate::protocol::DEFAULT_MAX_FRAME_BYTES * 64,
            });
        }
        (self.check)(bytes)
    }

    /// Its JSON Schema.
    pub fn schema(&self) -> Value {
        (self.schema)(self.name)
    }
}

macro_rules! models {
    ($($name:literal => $ty:ty, $used:literal;)+) => {
        /// Every REST body and data model of the spec.
        pub const MODEL_SPECS: &[ModelSpec] = &[
            $(ModelSpec { name: $name, used_in: $used, check: check_model::<$ty>, schema: model_schema::<$ty> },)+
        ];
    };
}

models! {
    "login_request" => LoginRequest, "POST /api/auth/login body";
    "login_response" => LoginResponse, "POST /api/auth/login and /api/auth/refresh response";
    "telemetry_post" => TelemetryPost, "POST /api/telemetry body";
    "telemetry_post_response" => TelemetryPostResponse, "POST /api/telemetry response";
    "coaching_analyze_request" => CoachingAnalyzeRequest, "POST /api/coaching/analyze body";
    "coaching_analyze_response" => CoachingAnalyzeResponse, "POST /api/coaching/analyze response";
    "voice_synthesize_request" => VoiceSynthesizeRequest, "POST /api/voice/synthesize body";
    "voice_synthesize_response" => VoiceSynthesizeResponse, "POST /api/voice/synthesize response";
    "driver_app_config" => DriverAppConfig, "driver agent GET/PUT /api/config";
    "current_telemetry" => CurrentTelemetry, "driver agent GET /api/telemetry/current";
    "driver_profile" => DriverProfile, "DriverProfile data model";
    "driver_cue_reference" => crate::coaching::CueReference, "GET/PUT /api/drivers/{id}/cue-reference response";
    "telemetry_snapshot" => TelemetrySnapshot, "TelemetrySnapshot data model";
    "team_message" => TeamMessage, "TeamMessage data model";
    "handoff_request" => HandoffRequest, "HandoffRequest data model";
    "validation_result" => ValidationResult, "ValidationResult data model (pitbox doctor)";
}

/// A model by name.
pub fn model_spec(name: &str) -> Option<&'static ModelSpec> {
    MODEL_SPECS.iter().find(|m| m.name == name)
}

/// Every schema file of `docs/schema/`: relative path and pretty JSON (with a final newline).
pub fn all_schema_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for name in MESSAGE_TYPES {
        if let Some(schema) = message_schema(name) {
            files.push((format!("{name}.json"), pretty(&schema)));
        }
    }
    for model in MODEL_SPECS {
        files.push((format!("model/{}.json", model.name), pretty(&model.schema())));
    }
    files
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
