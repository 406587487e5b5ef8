//! Connection control: handshake, authentication, errors, subscriptions, keep-alive and the
//! relay→cloud uplink (`telemetry_batch` / `ack`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::string_enum;
use crate::telemetry::TelemetryUpdate;
use crate::validate::{Validate, Validator};
use crate::{Channel, ClientType, Timestamp, UserRole};

/// The protocol version this build speaks (`MAJOR.MINOR`). Peers with another major are refused.
pub const PROTOCOL_VERSION: &str = "1.0";
/// Most samples in one uplink batch.
pub const MAX_BATCH_SAMPLES: usize = 2_000;
/// Longest token accepted, bytes.
pub const MAX_TOKEN_LEN: usize = 8_192;

/// Whether a peer announcing `version` can talk to this build (same major version).
pub fn protocol_compatible(version: &str) -> bool {
    fn major(v: &str) -> Option<&str> {
        let m = v.split('.').next()?;
        (!m.is_empty() && m.chars().all(|c| c.is_ascii_digit())).then_some(m)
    }
    matches!((major(version), major(PROTOCOL_VERSION)), (Some(a), Some(b)) if a == b)
}

fn check_version(v: &mut Validator, name: &str, version: &str) {
    v.text(name, version, 1, 32);
    if !version.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())) {
        v.fail(name, format!("must look like MAJOR.MINOR (e.g. \"{PROTOCOL_VERSION}\")"));
    }
}

/// Data of `connection_established`: the server's greeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionEstablished {
    pub server_id: String,
    pub timestamp: Timestamp,
    /// Protocol version the server speaks (`MAJOR.MINOR`).
    pub version: String,
    /// Seconds the client has to authenticate before it is closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_timeout_secs: Option<u32>,
}

impl Validate for ConnectionEstablished {
    fn validate_into(&self, v: &mut Validator) {
        v.id("serverId", &self.server_id);
        check_version(v, "version", &self.version);
    }
}

/// Data of `authenticate`: the client's first message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Authenticate {
    /// A JWT issued by the cloud (or by `pitbox token` for an offline relay).
    pub token: String,
    pub client_type: ClientType,
    /// Protocol version the client speaks (`MAJOR.MINOR`).
    pub version: String,
    /// The client keeps its samples in a durable spool of its own and sends them as numbered
    /// `telemetry_batch` frames (a driver agent, docs/driver.md); its `telemetry_update`s are
    /// then for the live view only and are not stored again. Absent: `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spooled: bool,
}

impl Validate for Authenticate {
    fn validate_into(&self, v: &mut Validator) {
        v.text("token", &self.token, 1, MAX_TOKEN_LEN);
        check_version(v, "version", &self.version);
    }
}

/// Data of `authentication_result`. On failure `reason` says why and the server closes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationResult {
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<UserRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Validate for AuthenticationResult {
    fn validate_into(&self, v: &mut Validator) {
        v.id_opt("userId", self.user_id.as_deref());
        v.id_opt("teamId", self.team_id.as_deref());
        if self.success && (self.user_id.is_none() || self.role.is_none()) {
            v.fail("userId", "a successful result must carry userId and role");
        }
        if !self.success && self.reason.is_none() {
            v.fail("reason", "a failed result must say why");
        }
        if let Some(r) = &self.reason {
            v.text("reason", r, 1, 500);
        }
    }
}

string_enum! {
    /// Machine-readable error codes of the `error` message (see docs/protocol.md).
    ErrorCode {
        /// The frame is not valid JSON (or not UTF-8).
        InvalidJson = "invalid_json",
        /// Valid JSON, but not an envelope `{"type": ..., "data": {...}}`.
        InvalidMessage = "invalid_message",
        /// `type` is not a message this server knows.
        UnknownType = "unknown_type",
        /// A field is missing, of the wrong type, or breaks a rule; `field` names it.
        ValidationFailed = "validation_failed",
        /// The frame is over the size limit (the connection is closed).
        FrameTooLarge = "frame_too_large",
        /// A message other than `authenticate`/`ping` before authentication.
        NotAuthenticated = "not_authenticated",
        /// The token is invalid, expired or revoked (the connection is closed).
        AuthenticationFailed = "authentication_failed",
        /// No `authenticate` within the time limit (the connection is closed).
        AuthTimeout = "auth_timeout",
        /// The sender's role or team may not send this message or see this data.
        Forbidden = "forbidden",
        /// The sender is over its message rate; repeated, the connection is closed.
        RateLimited = "rate_limited",
        /// The peer's protocol major version differs.
        UnsupportedVersion = "unsupported_version",
        /// The message names something that does not exist (a handoff, a message).
        NotFound = "not_found",
        /// The change is not allowed from the current state (e.g. completing a rejected handoff).
        Conflict = "conflict",
        /// The server failed; the message may be retried.
        InternalError = "internal_error",
    }
}

/// Data of `error`. The connection stays open unless the code says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMessage {
    pub code: ErrorCode,
    pub message: String,
    /// JSON path of the offending field, e.g. `data.throttle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// `type` of the message that caused the error, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
}

impl Validate for ErrorMessage {
    fn validate_into(&self, v: &mut Validator) {
        v.text("message", &self.message, 1, 2_000);
        if let Some(f) = &self.field {
            v.text("field", f, 1, 200);
        }
        if let Some(t) = &self.message_type {
            v.text("messageType", t, 1, 64);
        }
    }
}

/// Data of `subscribe`: what a dashboard wants to receive. Empty lists mean "all".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscribe {
    /// Team to follow; defaults to the subscriber's own team (others are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    #[serde(default)]
    pub driver_ids: Vec<String>,
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// Most telemetry updates per second per driver (0.1–60, default 20). Newer samples replace
    /// older ones that were not sent yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rate_hz: Option<f64>,
}

/// Telemetry rate a subscriber gets when it asks for none.
pub const DEFAULT_SUBSCRIBE_HZ: f64 = 20.0;

impl Validate for Subscribe {
    fn validate_into(&self, v: &mut Validator) {
        v.id_opt("teamId", self.team_id.as_deref());
        v.count("driverIds", self.driver_ids.len(), 0, 64);
        for d in self.driver_ids.iter().take(64) {
            v.id("driverIds", d);
        }
        v.range_opt("maxRateHz", self.max_rate_hz, 0.1, 60.0);
    }
}

/// Data of `subscribed`: the subscription in force (after defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscribed {
    pub team_id: String,
    pub driver_ids: Vec<String>,
    pub channels: Vec<Channel>,
    pub max_rate_hz: f64,
}

impl Validate for Subscribed {
    fn validate_into(&self, v: &mut Validator) {
        v.id("teamId", &self.team_id);
        v.range("maxRateHz", self.max_rate_hz, 0.1, 60.0);
    }
}

/// Data of `unsubscribe`: stops a subscription (empty lists: everything).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Unsubscribe {
    #[serde(default)]
    pub driver_ids: Vec<String>,
    #[serde(default)]
    pub channels: Vec<Channel>,
}

impl Validate for Unsubscribe {
    fn validate_into(&self, v: &mut Validator) {
        v.count("driverIds", self.driver_ids.len(), 0, 64);
        for d in self.driver_ids.iter().take(64) {
            v.id("driverIds", d);
        }
    }
}

/// Data of `ping` and `pong`: keep-alive and round-trip measurement. A `pong` echoes the `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ping {
    pub id: u64,
    pub timestamp: Timestamp,
}

impl Validate for Ping {
    fn validate_into(&self, _v: &mut Validator) {}
}

/// Data of `telemetry_batch`: samples of one driver forwarded by a relay, numbered so the
/// cloud stores each batch once however often it is resent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelemetryBatch {
    pub driver_id: String,
    /// Per-driver batch number, starting at 1, without gaps, within `origin`.
    pub sequence: u64,
    pub samples: Vec<TelemetryUpdate>,
    /// The numbering `sequence` belongs to: the sender's spool, one random id per spool. A relay
    /// on a new data folder (or a second relay) numbers a driver's batches from 1 again; the
    /// cloud keeps each origin's numbering apart, so those batches are stored, not taken for
    /// ones it has. Absent: the one numbering of a sender without one (older relays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl Validate for TelemetryBatch {
    fn validate_into(&self, v: &mut Validator) {
        v.id("driverId", &self.driver_id);
        if self.sequence == 0 {
            v.fail("sequence", "must be at least 1");
        }
        v.id_opt("origin", self.origin.as_deref());
        v.list("samples", &self.samples, 1, MAX_BATCH_SAMPLES);
        if self.samples.iter().any(|s| s.driver_id != self.driver_id) {
            v.fail("samples", "every sample must belong to the batch's driverId");
        }
    }
}

/// Data of `ack`: every batch of `driverId` up to and including `sequence` is stored durably.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ack {
    pub driver_id: String,
    pub sequence: u64,
}

impl Validate for Ack {
    fn validate_into(&self, v: &mut Validator) {
        v.id("driverId", &self.driver_id);
    }
}
