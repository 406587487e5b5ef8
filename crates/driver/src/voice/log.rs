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
    /// A cue before a corner ("T1: brake 20 metres later").
    Cue,
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
    pub cues: CueStatus,
}

/// Cues before the corner in `GET /api/voice/status`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CueStatus {
    /// `--cues` (config `cues`).
    pub enabled: bool,
    /// The reference lap the cues compare with: "lap 2, 23.980 s"; absent until a valid lap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The pit wall's choice of reference (`cue_reference`) and what became of it; absent when
    /// the pit wall has chosen nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen: Option<String>,
    /// Cues put on the radio (or held like other car callouts).
    pub issued: u64,
    /// Cues whose audio started.
    pub spoken: u64,
    /// Cues not said: traffic (the spotter busy), a caution, pit road, an in or out lap.
    pub withheld: u64,
    /// The last cues, oldest first (at most [`CUES_KEPT`]).
    pub recent: VecDeque<CueRecord>,
}

/// Cues kept in [`CueStatus::recent`].
pub const CUES_KEPT: usize = 20;

/// One cue.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CueRecord {
    /// The radio's id (0 when it never reached a radio).
    pub id: u64,
    /// The sim's lap counter.
    pub lap: i32,
    pub corner: String,
    pub text: String,
    /// Where the car was when the cue was made, metres from the line.
    pub at_m: f64,
    /// How far the reference braking point still was then, metres, and how long the reference
    /// lap takes to get there, seconds.
    pub before_braking_m: f64,
    pub before_braking_s: f64,
    pub state: CalloutState,
    /// Why it was withheld or not spoken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Where the car was when the voice saw the audio start (up to 0.2 s late), metres from the
    /// line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spoken_at_m: Option<f64>,
}

impl CueRecord {
    pub(super) fn new(c: &pitbox_coach::Cue, id: u64, state: CalloutState, why: Option<String>) -> CueRecord {
        CueRecord {
            id,
            lap: c.lap,
            corner: c.corner.clone(),
            text: c.text.clone(),
            at_m: c.at_m,
            before_braking_m: c.before_braking_m,
            before_braking_s: c.before_braking_s,
            state,
            why,
            spoken_at_m: None,
        }
    }
}

/// Appends a cue record, dropping the oldest beyond [`CUES_KEPT`].
pub(super) fn push_cue(q: &mut VecDeque<CueRecord>, r: CueRecord) {
    if q.len() >= CUES_KEPT {
        q.pop_front();
    }
    q.push_back(r);
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
