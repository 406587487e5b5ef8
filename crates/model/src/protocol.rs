//! The WebSocket envelope `{"type": "...", "data": {...}}`, the table of every message (who
//! sends it, which way it goes), and the decoder that turns untrusted bytes into a validated
//! [`Message`] or a precise [`DecodeError`].

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::UserRole;
use crate::coaching::{AiCoaching, CueReference};
use crate::control::{
    Ack, Authenticate, AuthenticationResult, ConnectionEstablished, ErrorCode, ErrorMessage, Ping, Subscribe,
    Subscribed, TelemetryBatch, Unsubscribe,
};
use crate::session::{DriverStatusUpdate, SessionInfo, StandingsUpdate};
use crate::strategy::{PitCommand, StrategyUpdate};
use crate::team::{HandoffRequest, HandoffResponse, MessageRead, TeamMessage};
use crate::telemetry::TelemetryUpdate;
use crate::validate::{self, FieldError, ValidationErrors};
use crate::video::VideoRequest;

/// Default largest frame a server accepts, bytes (256 KiB).
pub const DEFAULT_MAX_FRAME_BYTES: usize = 256 * 1024;

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Only servers (relay, cloud) send it.
    ServerToClient,
    /// Only clients send it.
    ClientToServer,
    /// Clients publish it and servers fan it out to subscribers.
    Both,
    /// Relay → cloud uplink and its acknowledgement path.
    Uplink,
}

impl Direction {
    /// How docs/protocol.md writes it.
    pub fn describe(self) -> &'static str {
        match self {
            Direction::ServerToClient => "server → client",
            Direction::ClientToServer => "client → server",
            Direction::Both => "client → server, server → subscribers",
            Direction::Uplink => "relay → cloud",
        }
    }
}

/// What the protocol says about one message type.
#[derive(Debug, Clone, Copy)]
pub struct MessageSpec {
    /// The `type` string.
    pub name: &'static str,
    /// Which way it travels.
    pub direction: Direction,
    /// Roles allowed to send it from a client (empty: servers only).
    pub senders: &'static [UserRole],
    /// One line on what it is for.
    pub summary: &'static str,
}

const ALL_ROLES: &[UserRole] = &[UserRole::Admin, UserRole::Engineer, UserRole::Driver, UserRole::Viewer];
const TEAM_STAFF: &[UserRole] = &[UserRole::Admin, UserRole::Engineer, UserRole::Driver];
const DRIVERS: &[UserRole] = &[UserRole::Admin, UserRole::Driver];
const PIT_WALL: &[UserRole] = &[UserRole::Admin, UserRole::Engineer];
const NOBODY: &[UserRole] = &[];

macro_rules! messages {
    ($($(#[$doc:meta])* $variant:ident($ty:ty) = $name:literal, $dir:ident, $senders:ident, $summary:literal;)+) => {
        /// Every protocol message. Serialises as the spec's envelope.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type", content = "data")]
        pub enum Message {
            $($(#[$doc])* #[serde(rename = $name)] $variant($ty),)+
        }

        /// Every message type, in protocol order.
        pub const MESSAGE_SPECS: &[MessageSpec] = &[
            $(MessageSpec { name: $name, direction: Direction::$dir, senders: $senders, summary: $summary },)+
        ];

        /// Every `type` string.
        pub const MESSAGE_TYPES: &[&str] = &[$($name),+];

        impl Message {
            /// The `type` string of this message.
            pub fn type_name(&self) -> &'static str {
                match self { $(Message::$variant(_) => $name,)+ }
            }

            /// Checks every field rule; paths start at `data`.
            pub fn validate(&self) -> Result<(), ValidationErrors> {
                match self { $(Message::$variant(d) => validate::validate(d, "data"),)+ }
            }

            fn decode_data(kind: &str, data: &str) -> Result<Message, DecodeError> {
                match kind {
                    $($name => decode_typed::<$ty>(data).map(Message::$variant),)+
                    other => Err(DecodeError::UnknownType { found: clip(other) }),
                }
            }
        }

        /// JSON Schema of one message's envelope, generated from the Rust types.
        pub fn message_schema(name: &str) -> Option<serde_json::Value> {
            match name {
                $($name => Some(crate::schema::envelope_schema::<$ty>($name, $summary)),)+
                _ => None,
            }
        }
    };
}

messages! {
    ConnectionEstablished(ConnectionEstablished) = "connection_established", ServerToClient, NOBODY,
        "Server greeting on connect: server id, time and protocol version.";
    Authenticate(Authenticate) = "authenticate", ClientToServer, ALL_ROLES,
        "First client message: a JWT, the client type and the protocol version.";
    AuthenticationResult(AuthenticationResult) = "authentication_result", ServerToClient, NOBODY,
        "Outcome of authenticate: user id, role and team, or the reason for refusal.";
    TelemetryUpdate(TelemetryUpdate) = "telemetry_update", Both, DRIVERS,
        "One telemetry sample of the sender's car.";
    TelemetryBatch(TelemetryBatch) = "telemetry_batch", Uplink, DRIVERS,
        "Numbered batch of one driver's samples forwarded by a relay to the cloud.";
    Ack(Ack) = "ack", Uplink, NOBODY,
        "Cloud to relay: every batch of the driver up to sequence is stored.";
    TeamMessage(TeamMessage) = "team_message", Both, TEAM_STAFF,
        "A message to the whole team, with priority and optional attachment.";
    MessageRead(MessageRead) = "message_read", Both, ALL_ROLES,
        "Read receipt for a team message.";
    HandoffRequest(HandoffRequest) = "handoff_request", Both, TEAM_STAFF,
        "Request to hand the car to another driver; re-sent with the new status on every change.";
    HandoffResponse(HandoffResponse) = "handoff_response", Both, TEAM_STAFF,
        "Accept, reject or complete a handoff.";
    AiCoaching(AiCoaching) = "ai_coaching", ServerToClient, NOBODY,
        "Coaching from the analysis engine for one driver.";
    SessionInfo(SessionInfo) = "session_info", Both, DRIVERS,
        "Track, car, session and field, sent when the session starts or changes.";
    StandingsUpdate(StandingsUpdate) = "standings_update", Both, DRIVERS,
        "Every car's position, laps, gaps and pit state (about 2 Hz).";
    DriverStatus(DriverStatusUpdate) = "driver_status", Both, DRIVERS,
        "A driver's availability, connection and whether they are in the car.";
    StrategyUpdate(StrategyUpdate) = "strategy_update", ServerToClient, NOBODY,
        "The team's stint plan re-planned after a lap: fuel laps left, pit window, next stop.";
    PitCommand(PitCommand) = "pit_command", Both, PIT_WALL,
        "The next pit stop of one car, set on the pit wall and applied in the sim by its agent.";
    CueReference(CueReference) = "cue_reference", ServerToClient, NOBODY,
        "The lap of the team's history a driver's cues are made against, chosen on the pit wall.";
    VideoRequest(VideoRequest) = "video_request", Both, PIT_WALL,
        "The pit wall asks a driver to send their screen; the driver accepts it in their window.";
    Subscribe(Subscribe) = "subscribe", ClientToServer, ALL_ROLES,
        "What a dashboard wants: team, drivers, channels, telemetry rate.";
    Subscribed(Subscribed) = "subscribed", ServerToClient, NOBODY,
        "The subscription in force after defaults.";
    Unsubscribe(Unsubscribe) = "unsubscribe", ClientToServer, ALL_ROLES,
        "Stop receiving some drivers or channels, or everything.";
    Ping(Ping) = "ping", Both, ALL_ROLES,
        "Keep-alive; the peer answers pong with the same id.";
    Pong(Ping) = "pong", Both, ALL_ROLES,
        "Answer to ping.";
    Error(ErrorMessage) = "error", ServerToClient, NOBODY,
        "Something the peer sent was refused; code, message and field.";
}

impl Message {
    /// What the protocol says about this message's type.
    pub fn spec(&self) -> &'static MessageSpec {
        let name = self.type_name();
        // The table and the enum come from one macro list, so the lookup cannot miss.
        MESSAGE_SPECS.iter().find(|s| s.name == name).unwrap_or(&MESSAGE_SPECS[0])
    }

    /// Serialises to the JSON envelope.
    pub fn to_json(&self) -> String {
        // Serialising these types cannot fail: no maps with non-string keys, no foreign
        // Serialize impls. Fall back to an error envelope rather than panic, all the same.
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"type":"error","data":{{"code":"internal_error","message":"encode failed: {e}"}}}}"#)
        })
    }

    /// An `error` message for a refused input.
    pub fn error(code: ErrorCode, message: impl Into<String>, field: Option<String>) -> Message {
        Message::Error(ErrorMessage { code, message: message.into(), field, message_type: None })
    }
}

/// The spec of a message type by name.
pub fn spec_for(name: &str) -> Option<&'static MessageSpec> {
    MESSAGE_SPECS.iter().find(|s| s.name == name)
}

/// Why bytes are not a valid message. Every variant names the rule broken and, where one is,
/// the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("not valid JSON at line {line} column {column}: {reason}")]
    Json { line: usize, column: usize, reason: String },
    #[error("message must be a JSON object {{\"type\": ..., \"data\": {{...}}}}: {reason}")]
    NotEnvelope { reason: String },
    #[error("type: required field missing")]
    MissingType,
    #[error("data: required field missing for type `{kind}`")]
    MissingData { kind: String },
    #[error("type: unknown message type `{found}` (known: {})", MESSAGE_TYPES.join(", "))]
    UnknownType { found: String },
    #[error("{field}: {reason}")]
    Field { field: String, reason: String },
    #[error("{0}")]
    Invalid(ValidationErrors),
}

impl DecodeError {
    /// The protocol error code for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::TooLarge { .. } => ErrorCode::FrameTooLarge,
            DecodeError::Json { .. } => ErrorCode::InvalidJson,
            DecodeError::NotEnvelope { .. } | DecodeError::MissingType | DecodeError::MissingData { .. } => {
                ErrorCode::InvalidMessage
            }
            DecodeError::UnknownType { .. } => ErrorCode::UnknownType,
            DecodeError::Field { .. } | DecodeError::Invalid(_) => ErrorCode::ValidationFailed,
        }
    }

    /// JSON path of the offending field, when there is one.
    pub fn field(&self) -> Option<String> {
        match self {
            DecodeError::MissingType | DecodeError::UnknownType { .. } => Some("type".into()),
            DecodeError::MissingData { .. } => Some("data".into()),
            DecodeError::Field { field, .. } => Some(field.clone()),
            DecodeError::Invalid(errs) => errs.first().map(|e: &FieldError| e.field.clone()),
            _ => None,
        }
    }

    /// The `error` message to send back for this failure.
    pub fn to_message(&self, message_type: Option<&str>) -> Message {
        Message::Error(ErrorMessage {
            code: self.code(),
            message: clip_long(&self.to_string(), 1_000),
            field: self.field(),
            message_type: message_type.map(clip),
        })
    }
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

/// Decodes and validates one message with the default frame limit.
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    decode_with_limit(bytes, DEFAULT_MAX_FRAME_BYTES)
}

/// Decodes and validates one message of at most `limit` bytes.
pub fn decode_with_limit(bytes: &[u8], limit: usize) -> Result<Message, DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge { size: bytes.len(), limit });
    }
    // serde would also read a struct from a JSON array: insist on an object first.
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(b'[') | Some(b'"') | Some(b't') | Some(b'f') | Some(b'n') | Some(b'-') | Some(b'0'..=b'9') => {
            return Err(DecodeError::NotEnvelope { reason: "found a JSON value that is not an object".into() });
        }
        _ => {}
    }
    let env: RawEnvelope<'_> = serde_json::from_slice(bytes).map_err(|e| envelope_error(&e))?;
    let kind = env.kind.ok_or(DecodeError::MissingType)?;
    if crate::protocol::spec_for(&kind).is_none() {
        return Err(DecodeError::UnknownType { found: clip(&kind) });
    }
    let data = env.data.ok_or_else(|| DecodeError::MissingData { kind: kind.to_string() })?;
    let msg = Message::decode_data(&kind, data.get())?;
    msg.validate().map_err(DecodeError::Invalid)?;
    Ok(msg)
}

/// The `type` of a frame, if it can be read (for error reports on frames that fail later).
pub fn peek_type(bytes: &[u8]) -> Option<String> {
    let env: RawEnvelope<'_> = serde_json::from_slice(bytes).ok()?;
    env.kind.map(|k| clip(&k))
}

fn envelope_error(e: &serde_json::Error) -> DecodeError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            DecodeError::Json { line: e.line(), column: e.column(), reason: strip_position(&e.to_string()) }
        }
        Category::Data => {
            let reason = strip_position(&e.to_string());
            if reason.contains("`type`") || reason.contains("borrowed string") || reason.contains("expected a string") {
                DecodeError::Field { field: "type".into(), reason: "must be a string".into() }
            } else {
                DecodeError::NotEnvelope { reason }
            }
        }
    }
}

/// Deserialises one message's data with the path of any failing field.
fn decode_typed<T: serde::de::DeserializeOwned>(data: &str) -> Result<T, DecodeError> {
    // Valid input, nearly all of it, takes the plain decoder; only a refusal pays for tracking
    // the path to the bad field (a third of the decode time on a 300-sample batch).
    if let Ok(v) = serde_json::from_str::<T>(data) {
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_str(data);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => Ok(v),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let field = if path == "." || path.is_empty() { "data".to_string() } else { format!("data.{path}") };
            let reason = strip_position(&inner.to_string());
            // serde reports a missing field on the enclosing object: name the field itself.
            if let Some(missing) = reason.strip_prefix("missing field `").and_then(|r| r.strip_suffix('`')) {
                return Err(DecodeError::Field {
                    field: format!("{field}.{missing}"),
                    reason: "required field missing".into(),
                });
            }
            Err(DecodeError::Field { field, reason })
        }
    }
}

/// serde_json appends " at line L column C"; for data fields the path says more.
fn strip_position(s: &str) -> String {
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

fn clip(s: &str) -> String {
    clip_long(s, 64)
}

fn clip_long(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}
