//! # pitbox-driver — the driver agent
//!
//! This crate owns `pitbox driver`, the spec's Driver App as a light native agent:
//!
//! - reads one telemetry source (`pitbox-sources`: iRacing live, `.ibt` replay, the simulator)
//!   on a thread of its own, so nothing the network does can stall the sim reader ([`agent`]);
//! - serves the local API on `127.0.0.1:8766` ([`api`]): `GET /api/config` and
//!   `GET /api/telemetry/current` exactly as the spec, `PUT /api/config`, a Server-Sent Events
//!   stream of local telemetry for overlays, the received messages and handoff answers; only
//!   the driver's window and tools with the local API key may change anything ([`api_guard`]);
//! - keeps every sample in a durable spool in its data folder until the next hop acknowledges
//!   it ([`spool`], on `pitbox-uplink`, the relay's own spool and batch window);
//! - connects to the relay, or straight to the cloud with `--cloud-url` ([`relay`]):
//!   authenticates with its token, reconnects with exponential backoff, sends the spooled
//!   batches behind the live samples, publishes `telemetry_update` at a set rate (60 Hz by default),
//!   `session_info` on change, `standings_update` at 2 Hz and `driver_status`; receives
//!   `ai_coaching`, `team_message` and `handoff_request` into the local inbox;
//! - speaks ([`voice`]): received messages and its own fuel and handoff calls as callouts on
//!   the team radio (`pitbox-voice`: sound card or WAV files), and voice commands (a WAV file or
//!   folder, the local API, the microphone with push-to-talk) answered from the live telemetry
//!   or turned into `team_message` / `handoff_request` / `handoff_response` ([`fuel`] measures
//!   the burn per lap and makes the pit-window and low-fuel calls), the spotter's calls and cues
//!   before the corner from the coach's live analysis ([`voice::CueFeed`]), calls about the car
//!   only while the player drives live ([`callout_gate`]);
//! - `pitbox driver` and `pitbox driver init` as library code ([`cli`]): the first run logs in
//!   to the cloud and writes the config with the token ([`init`]) readable by the user only
//!   ([`private`]); and the agent bench ([`bench::bench`]).

pub mod agent;
pub mod api;
pub mod api_guard;
pub mod bench;
pub mod callout_gate;
pub mod cli;
pub mod cue_reference;
pub mod fuel;
pub mod init;
pub mod journal;
pub mod open_window;
pub mod pit;
pub mod private;
pub mod ptt_capture;
pub mod relay;
pub mod settings;
pub mod spool;
pub mod state;
pub mod video;
pub mod voice;

pub use agent::{AgentHandle, AgentSettings, start};
pub use spool::SpoolSettings;
pub use voice::{CalloutEngine, CalloutOutput, VoiceInput, VoiceSettings};
