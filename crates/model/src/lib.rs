//! PitBox's domain model and wire protocol: every data model and WebSocket message of the spec
//! as Rust types whose JSON is exactly the spec's (camelCase, ISO-8601 timestamps, the enums'
//! string values), the messages a real system adds (`error`, `subscribe`, `session_info`,
//! `standings_update`, `ack` …), their validation rules with precise errors, the decoder for
//! untrusted frames, and the JSON Schemas generated from the types. No I/O.

#[macro_use]
pub mod telemetry;
pub mod coaching;
mod common;
pub mod control;
pub mod protocol;
pub mod rest;
pub mod schema;
pub mod session;
pub mod strategy;
pub mod team;
pub mod validate;
pub mod video;

pub use common::{
    AttachmentType, Channel, CheckStatus, ClientType, DriverRole, DriverStatus, HandoffStatus, Priority, SessionType,
    Timestamp, UnknownValue, Urgency, UserRole,
};
pub use protocol::{DecodeError, Message, decode, decode_with_limit};
pub use validate::{FieldError, Validate, ValidationErrors};
