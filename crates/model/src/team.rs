//! Team coordination: messages, read receipts, driver handoffs and driver profiles.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::telemetry::TelemetrySnapshot;
use crate::validate::{Validate, Validator};
use crate::{AttachmentType, DriverRole, DriverStatus, HandoffStatus, Priority, Timestamp, Urgency};

/// Longest team message, characters.
pub const MAX_MESSAGE_LEN: usize = 4_000;
/// Longest display name, characters.
pub const MAX_NAME_LEN: usize = 100;
/// Longest URL, characters.
pub const MAX_URL_LEN: usize = 2_048;
/// Longest handoff reason, characters.
pub const MAX_REASON_LEN: usize = 500;

/// A file or telemetry excerpt attached to a team message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    #[serde(rename = "type")]
    pub kind: AttachmentType,
    pub url: String,
    pub name: String,
}

impl Validate for Attachment {
    fn validate_into(&self, v: &mut Validator) {
        v.text("url", &self.url, 1, MAX_URL_LEN);
        if !(self.url.starts_with("https://") || self.url.starts_with("http://") || self.url.starts_with('/')) {
            v.fail("url", "must be an http(s) URL or a path starting with '/'");
        }
        v.text("name", &self.name, 1, MAX_NAME_LEN);
    }
}

/// The spec's `TeamMessage` (data of `team_message`). A missing `attachment` reads as `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamMessage {
    pub id: String,
    pub content: String,
    pub sender_id: String,
    pub sender_name: String,
    pub priority: Priority,
    pub sent_at: Timestamp,
    pub read: bool,
    #[serde(default)]
    pub attachment: Option<Attachment>,
}

impl Validate for TeamMessage {
    fn validate_into(&self, v: &mut Validator) {
        v.id("id", &self.id);
        v.text("content", &self.content, 1, MAX_MESSAGE_LEN);
        v.id("senderId", &self.sender_id);
        v.text("senderName", &self.sender_name, 1, MAX_NAME_LEN);
        v.nested_opt("attachment", self.attachment.as_ref());
    }
}

/// Data of `message_read`: a read receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageRead {
    pub message_id: String,
    pub reader_id: String,
    pub read_at: Timestamp,
}

impl Validate for MessageRead {
    fn validate_into(&self, v: &mut Validator) {
        v.id("messageId", &self.message_id);
        v.id("readerId", &self.reader_id);
    }
}

/// The spec's `HandoffRequest` (data of `handoff_request`; also sent again on every status
/// change). `telemetrySnapshot` is `null` when the car has sent no telemetry yet. `respondedAt`
/// and `responderId` (PitBox's, absent while pending) say when and by whom it last moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HandoffRequest {
    pub id: String,
    pub requester_id: String,
    pub requester_name: String,
    pub target_driver_id: String,
    pub target_driver_name: String,
    pub reason: String,
    pub urgency: Urgency,
    pub requested_at: Timestamp,
    pub status: HandoffStatus,
    #[serde(default)]
    pub telemetry_snapshot: Option<TelemetrySnapshot>,
    /// When the handoff last moved (accepted, rejected or completed), by the cloud's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded_at: Option<Timestamp>,
    /// Who moved it last: the target driver, the requester or a member of the staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responder_id: Option<String>,
}

impl Validate for HandoffRequest {
    fn validate_into(&self, v: &mut Validator) {
        v.id("id", &self.id);
        v.id("requesterId", &self.requester_id);
        v.text("requesterName", &self.requester_name, 1, MAX_NAME_LEN);
        v.id("targetDriverId", &self.target_driver_id);
        v.text("targetDriverName", &self.target_driver_name, 1, MAX_NAME_LEN);
        v.text("reason", &self.reason, 0, MAX_REASON_LEN);
        if self.requester_id == self.target_driver_id {
            v.fail("targetDriverId", "must differ from requesterId (a driver cannot hand off to themself)");
        }
        v.nested_opt("telemetrySnapshot", self.telemetry_snapshot.as_ref());
        if let Some(id) = &self.responder_id {
            v.id("responderId", id);
        }
    }
}

/// Data of `handoff_response`: a move of a handoff's state machine
/// (pending → accepted | rejected, accepted → completed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HandoffResponse {
    pub handoff_id: String,
    pub status: HandoffStatus,
    pub responder_id: String,
    pub responded_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Validate for HandoffResponse {
    fn validate_into(&self, v: &mut Validator) {
        v.id("handoffId", &self.handoff_id);
        if self.status == HandoffStatus::Pending {
            v.fail("status", "must be accepted, rejected or completed (a response cannot make a handoff pending)");
        }
        v.id("responderId", &self.responder_id);
        if let Some(reason) = &self.reason {
            v.text("reason", reason, 0, MAX_REASON_LEN);
        }
    }
}

/// The spec's `DriverProfile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriverProfile {
    pub id: String,
    pub name: String,
    pub team: String,
    pub number: u32,
    pub status: DriverStatus,
    pub role: DriverRole,
    pub avatar_url: String,
    pub telemetry_connected: bool,
    pub last_active: Timestamp,
}

impl Validate for DriverProfile {
    fn validate_into(&self, v: &mut Validator) {
        v.id("id", &self.id);
        v.text("name", &self.name, 1, MAX_NAME_LEN);
        v.text("team", &self.team, 1, MAX_NAME_LEN);
        v.int_range("number", i64::from(self.number), 0, 9_999);
        v.text("avatarUrl", &self.avatar_url, 0, MAX_URL_LEN);
    }
}
