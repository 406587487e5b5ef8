//! The voice log (`GET /api/voice/log`) and status (`GET /api/voice/status`).

use pitbox_model::{Priority, Timestamp};
use pitbox_voice::VoiceCommand;
use serde::Serialize;
use std::collections::VecDeque;

/// Entries kept in each part of the voice log.
pub const LOG_LEN: usize = 200;

/// Where a callout came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CalloutOrigin {
    AiCoaching,
    TeamMessage,
    HandoffRequest,
    HandoffAnswer,
    PitWindow,
    LowFuel,
    BoxNow,
    /// The engineer's answer to a voice command.
    Answer,
    /// The spotter ("car left", "clear right", …).
    Spotter,
}

/// What became of a callout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CalloutState {
    /// Waiting for the radio.
    Queued,
    Speaking,
    Spoken,
    /// Cut by an urgent callout (said again afterwards if still fresh).
    Interrupted,
    /// Expired, replaced or not replayed (see `detail`).
    Dropped,
    /// Synthesis or playback failed (see `detail`).
    Failed,
    /// No speech engine: text only.
    TextOnly,
}

/// One callout in the voice log.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CalloutEntry {
    /// The radio's id (0 when it never reached a radio).
    pub id: u64,
    pub at: Timestamp,
    pub origin: CalloutOrigin,
    pub text: String,
    pub priority: Priority,
    pub state: CalloutState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Set when the cloud's voice failed for this callout: which local engine spoke it, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// From the callout's making (for the spotter: the sim tick that produced it) to its audio
    /// being handed to the sound card or file, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_after_ms: Option<f64>,
}

/// One heard utterance in the voice log.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandEntry {
    pub at: Timestamp,
    /// `wav:PATH`, `api` or `microphone`.
    pub origin: String,
    /// What PocketSphinx heard (garbage words included).
    pub words: String,
    /// The command, `null` for "no command".
    pub command: Option<VoiceCommand>,
    /// Its canonical phrase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phrase: Option<String>,
    pub confidence: f64,
    pub audio_seconds: f64,
    /// Recognition time of the final decoding pass, ms.
    pub decode_ms: f64,
    /// What the engineer said back.
    pub answers: Vec<String>,
    /// Messages sent to the relay (`type id`).
    pub sent: Vec<String>,
    /// Why the command could not be carried out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /api/voice/log`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VoiceLog {
    pub callouts: VecDeque<CalloutEntry>,
    pub commands: VecDeque<CommandEntry>,
}

/// `GET /api/voice/status`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VoiceStatus {
    pub enabled: bool,
    /// `espeak-ng`, `windows`, `cloud`, `elevenlabs`, … (the engine in use once the radio runs).
    pub engine: String,
    /// `sound card` or the callout folder.
    pub output: String,
    /// `not started` (voice off since start-up), `ready`, or why speech is off (with the cloud's
    /// voice: why it is unavailable and which local engine speaks instead).
    pub speech: String,
    /// `not loaded` (no command yet), `ready`, or why commands are off.
    pub recognizer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The driver said "box this lap" (and did not cancel).
    pub box_this_lap: bool,
    /// Litres per lap the fuel answers use.
    pub fuel_per_lap_liters: Option<f64>,
    pub fuel_laps_measured: usize,
    /// Why calls about the car (fuel, pit window, coaching) are held now: the sim is not
    /// connected, a replay is playing, the player is in the garage or out of the car
    /// (`crate::callout_gate`); absent while the player drives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub car_callouts_held: Option<String>,
    pub spotter: SpotterStatus,
}

/// The spotter in `GET /api/voice/status`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotterStatus {
    /// `--spotter` (config `spotter`).
    pub enabled: bool,
    /// Whether its calls were synthesised beforehand: `ready (…)`, `off`, or why not.
    pub clips: String,
    /// Calls made (spoken, held or dropped).
    pub calls: u64,
    /// Calls that started playing.
    pub spoken: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_call: Option<String>,
    /// Sim tick → audio handed to the output, of the last call played and the longest so far, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_latency_ms: Option<f64>,
}

/// Appends to a part of the log, dropping its oldest entry beyond [`LOG_LEN`].
pub(super) fn push_bounded<T>(q: &mut VecDeque<T>, v: T) {
    if q.len() >= LOG_LEN {
        q.pop_front();
    }
    q.push_back(v);
}
