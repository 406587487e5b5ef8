//! Enumerations and scalar types shared by every model.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An ISO-8601 / RFC 3339 instant in UTC, e.g. `2026-11-26T16:00:00.250Z`.
pub type Timestamp = DateTime<Utc>;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(crate::UnknownValue {
                        kind: stringify!($name),
                        found: s.chars().take(64).collect(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }
    };
}
pub(crate) use string_enum;

/// A string that is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{found}`, expected one of: {}", expected.join(", "))]
pub struct UnknownValue {
    /// Which enum.
    pub kind: &'static str,
    /// What was given (cut to 64 characters).
    pub found: String,
    /// The accepted values.
    pub expected: &'static [&'static str],
}

string_enum! {
    /// Account role: what a user may do. Checked on every endpoint and every message.
    UserRole {
        /// Everything, including users and teams.
        Admin = "admin",
        /// Team manager / race engineer: reads everything of the team, sends messages and handoffs.
        Engineer = "engineer",
        /// A driver: publishes their own telemetry, reads their team.
        Driver = "driver",
        /// Read-only member of a team.
        Viewer = "viewer",
    }
}

string_enum! {
    /// What kind of program a WebSocket client is.
    ClientType {
        /// The driver agent on the driver's PC.
        Driver = "driver",
        /// A browser dashboard.
        Dashboard = "dashboard",
        /// A relay forwarding to the cloud (uplink).
        Relay = "relay",
    }
}

string_enum! {
    /// A driver's availability.
    DriverStatus { Active = "active", Inactive = "inactive", Standby = "standby" }
}

string_enum! {
    /// A driver's place in the line-up.
    DriverRole { Primary = "primary", Secondary = "secondary", Reserve = "reserve" }
}

string_enum! {
    /// Priority of team messages, coaching and voice callouts.
    Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" }
}

string_enum! {
    /// What a team message's attachment is.
    AttachmentType { Document = "document", Image = "image", Telemetry = "telemetry" }
}

string_enum! {
    /// How urgent a driver handoff is.
    Urgency { Normal = "normal", Urgent = "urgent" }
}

string_enum! {
    /// State of a driver handoff. Legal moves: pending → accepted | rejected, accepted → completed.
    HandoffStatus { Pending = "pending", Accepted = "accepted", Rejected = "rejected", Completed = "completed" }
}

impl HandoffStatus {
    /// Whether a handoff in state `self` may move to `next`.
    pub fn can_become(self, next: HandoffStatus) -> bool {
        matches!(
            (self, next),
            (HandoffStatus::Pending, HandoffStatus::Accepted)
                | (HandoffStatus::Pending, HandoffStatus::Rejected)
                | (HandoffStatus::Accepted, HandoffStatus::Completed)
        )
    }

    /// Whether no further change is possible.
    pub fn is_final(self) -> bool {
        matches!(self, HandoffStatus::Rejected | HandoffStatus::Completed)
    }
}

string_enum! {
    /// Outcome of one component check (`pitbox doctor`).
    CheckStatus { Success = "success", Warning = "warning", Error = "error" }
}

string_enum! {
    /// What a subscription delivers.
    Channel {
        /// `telemetry_update`, throttled to the subscriber's rate.
        Telemetry = "telemetry",
        /// `standings_update`.
        Standings = "standings",
        /// `session_info`.
        Session = "session",
        /// `team_message` and `message_read`.
        Messages = "messages",
        /// `handoff_request` and `handoff_response`.
        Handoffs = "handoffs",
        /// `ai_coaching`.
        Coaching = "coaching",
        /// `driver_status`.
        Status = "status",
        /// `strategy_update`.
        Strategy = "strategy",
        /// Live video: binary frame messages (docs/protocol.md, "Video"). Only when asked for by
        /// name: an empty `channels` list does not include it.
        Video = "video",
    }
}

string_enum! {
    /// Kind of racing session.
    SessionType {
        Practice = "practice",
        Qualify = "qualify",
        Race = "race",
        Warmup = "warmup",
        TimeTrial = "time_trial",
        Testing = "testing",
        Other = "other",
    }
}
