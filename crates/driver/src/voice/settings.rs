//! The voice's settings: where callouts go, what speaks them, where commands come from.

use super::data_dir::{DEFAULT_KEEP_CALLOUT_FILES, default_data_dir};
use crate::fuel::FuelThresholds;
use pitbox_voice::TtsProvider;
use pitbox_voice::buttons::PttButton;
use std::path::PathBuf;
use std::sync::Arc;

/// Where callouts are heard.
#[derive(Debug, Clone, PartialEq)]
pub enum CalloutOutput {
    /// The sound card (needs the `sound-card` cargo feature; always built on Windows): the
    /// system's default output device, or the one `device` names (part of its name, see
    /// `pitbox voice devices`).
    SoundCard { device: Option<String> },
    /// One WAV file per callout in `dir` (`NNNN-priority-text.wav`). Each clip takes its own
    /// length times `time_scale` to "play" (1 = real time), so queueing and interruption behave
    /// as on a sound card; 0 writes at once.
    WavDir { dir: PathBuf, time_scale: f64 },
}

/// What speaks the callouts.
#[derive(Clone)]
pub enum CalloutEngine {
    /// espeak-ng, offline: the program on `PATH` / `PITBOX_ESPEAK_NG`, or this one.
    EspeakNg { program: Option<PathBuf> },
    /// Any provider (ElevenLabs, a test voice); `voice` is the provider's own voice name.
    Provider { provider: Arc<dyn TtsProvider>, voice: String },
    /// Windows' own speech (SAPI, the default on Windows); where it has no voice, espeak-ng when
    /// installed. Elsewhere: unavailable, with the reason in the status.
    Windows,
    /// The team cloud's voice (`POST /api/voice/synthesize` at `endpoint` with the driver's
    /// `token`); `local` speaks whenever the cloud cannot answer, and the log says why.
    /// `renewed`: the sign-in's renewed tokens (the agent sets it when signed in), used instead
    /// of `token` once there is one.
    Cloud {
        endpoint: String,
        token: String,
        local: Box<CalloutEngine>,
        renewed: Option<tokio::sync::watch::Receiver<Option<String>>>,
    },
}

impl CalloutEngine {
    /// The platform's own engine: Windows speech on Windows, espeak-ng elsewhere.
    pub fn platform_default() -> Self {
        if cfg!(windows) { CalloutEngine::Windows } else { CalloutEngine::EspeakNg { program: None } }
    }
}

impl std::fmt::Debug for CalloutEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CalloutEngine::EspeakNg { program } => f.debug_struct("EspeakNg").field("program", program).finish(),
            CalloutEngine::Provider { provider, voice } => {
                f.debug_struct("Provider").field("id", &provider.id()).field("voice", voice).finish()
            }
            CalloutEngine::Windows => f.write_str("Windows"),
            CalloutEngine::Cloud { endpoint, local, .. } => f
                .debug_struct("Cloud")
                .field("endpoint", endpoint)
                .field("token", &"<redacted>")
                .field("local", local)
                .finish(),
        }
    }
}

/// Where voice commands come from (besides `POST /api/voice/command`, always there).
#[derive(Debug, Clone, PartialEq)]
pub enum VoiceInput {
    /// A WAV file (heard once, when the first telemetry sample is in) or a folder (every `.wav`
    /// in it, and every one put there later, heard once, in name order): each file is one
    /// push-to-talk utterance.
    Wav(PathBuf),
    /// The default input device, or the one `device` names, with push-to-talk
    /// (`POST /api/voice/ptt`; feature `sound-card`).
    Microphone { device: Option<String> },
}

/// A driver to hand the car to when the driver says "request handoff".
#[derive(Debug, Clone, PartialEq)]
pub struct HandoffTarget {
    pub id: String,
    pub name: String,
}

/// The voice's settings (part of [`crate::AgentSettings`]).
#[derive(Debug, Clone)]
pub struct VoiceSettings {
    pub output: CalloutOutput,
    pub engine: CalloutEngine,
    pub input: Option<VoiceInput>,
    /// Speaking rate 0.5–2.0.
    pub speed: f64,
    /// Radio chime and band-pass filter around each callout.
    pub chime: bool,
    /// Fuel burn per lap from the strategy, litres (until the agent has measured a lap).
    pub fuel_per_lap_liters: Option<f64>,
    pub fuel: FuelThresholds,
    /// Who "request handoff" asks; without one the team is asked by `team_message`.
    pub handoff_to: Option<HandoffTarget>,
    /// This driver's name in messages (default: the sim's name for the player, else the id).
    pub driver_name: Option<String>,
    /// Callout WAV files kept in the folder (the oldest of the radio's own files beyond it are
    /// deleted every 30 s, so a 24-hour race cannot fill the disk); `None` keeps all.
    pub keep_callout_files: Option<usize>,
    /// Push-to-talk buttons for the microphone besides `POST /api/voice/ptt` (`--ptt`).
    pub ptt: Vec<PttButton>,
    /// The spotter speaks (`--spotter`); it needs a source opened with spotter ticks
    /// (`SourceOptions::spotter`, `LiveOptions::spotter`).
    pub spotter: bool,
    /// Cues before the corner from the coach's live analysis (`--cues`); they need sim time, and
    /// the spotter's ticks (asked for with `SourceOptions::spotter`) for traffic and cautions.
    pub cues: bool,
}

impl VoiceSettings {
    /// The platform's engine ([`CalloutEngine::platform_default`]), WAV files in `dir` in real
    /// time, no command input.
    pub fn wav_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            output: CalloutOutput::WavDir { dir: dir.into(), time_scale: 1.0 },
            engine: CalloutEngine::platform_default(),
            input: None,
            speed: 1.1,
            chime: true,
            fuel_per_lap_liters: None,
            fuel: FuelThresholds::default(),
            handoff_to: None,
            driver_name: None,
            keep_callout_files: Some(DEFAULT_KEEP_CALLOUT_FILES),
            ptt: Vec::new(),
            spotter: true,
            cues: true,
        }
    }

    /// The default callout folder: `callouts` in the agent's data folder.
    pub fn default_dir() -> PathBuf {
        default_data_dir().join("callouts")
    }
}

impl Default for VoiceSettings {
    /// The sound card when built with it (always on Windows), else WAV files in [`VoiceSettings::default_dir`].
    fn default() -> Self {
        let mut s = Self::wav_dir(Self::default_dir());
        if cfg!(sound_card) {
            s.output = CalloutOutput::SoundCard { device: None };
        }
        s
    }
}

/// The engine's id in the status.
pub(super) fn engine_id(e: &CalloutEngine) -> &'static str {
    match e {
        CalloutEngine::EspeakNg { .. } => "espeak-ng",
        CalloutEngine::Provider { provider, .. } => provider.id(),
        CalloutEngine::Windows => "windows",
        CalloutEngine::Cloud { .. } => "cloud",
    }
}
