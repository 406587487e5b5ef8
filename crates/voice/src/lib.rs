//! PitBox's voice race engineer (crate `pitbox-voice`): everything spoken and heard.
//!
//! - **Speech out**: [`tts::TtsProvider`] with its providers: [`tts::EspeakNg`] (offline, the
//!   default on Linux; runs the `espeak-ng` program), `sapi::WindowsSpeech` (Windows' own SAPI
//!   voices, the default on Windows, chosen by language and gender by [`windows_voices`]),
//!   [`tts::ElevenLabs`] (HTTP API) and [`cloud::CloudVoice`]
//!   (the team cloud's `POST /api/voice/synthesize` clip, with [`cloud::Fallback`] to a local
//!   engine when the cloud cannot answer).
//! - **Cloud synthesis**: [`service::VoiceService`] validates `POST /api/voice/synthesize` bodies
//!   against the known voices with precise field errors, makes WAV bytes with their duration, and
//!   gives the cache key the cloud stores the audio under.
//! - **Driver radio**: [`queue::CalloutQueue`] (priorities, interruption, expiry, one voice at a
//!   time) and [`radio::Radio`], which speaks callouts with a radio chime into an
//!   [`radio::AudioSink`]: WAV files in a folder, or the sound card (`soundcard`: always built on
//!   Windows (WASAPI); elsewhere cargo feature `sound-card`, off by default), its default device
//!   or one the driver names ([`devices::pick_device`]).
//! - **Voice commands**: [`commands`] (the grammar and typed [`commands::VoiceCommand`]s),
//!   [`sphinx::CommandRecognizer`] (PocketSphinx 5 compiled in, JSGF grammar mode, its model and
//!   the [`dictionary`] of command words inside the binary),
//!   [`ptt`] (push-to-talk and microphone traits), [`buttons`] (push-to-talk from a wheel or
//!   joystick button, a key on Windows, Unix signals) and [`engineer::RaceEngineer`] (true answers
//!   from the latest telemetry and standings, team messages, handoffs).
//! - **Audio**: [`audio::Audio`], mono 16-bit PCM with a strict WAV reader for untrusted files.
//! - **CLI**: [`cli::VoiceArgs`], [`cli::run`] and [`cli::bench`] for the `pitbox` binary.
//!
//! Nothing is downloaded at run time. Recognition needs nothing installed; espeak-ng (speech out
//! on Linux) is installed by `scripts/setup-voice`.

pub mod audio;
pub mod buttons;
pub mod cli;
pub mod cloud;
pub mod commands;
pub mod devices;
pub mod dictionary;
pub mod engineer;
pub mod eval;
pub mod ptt;
pub mod queue;
pub mod radio;
#[cfg(windows)]
pub mod sapi;
pub mod service;
#[cfg(sound_card)]
pub mod soundcard;
pub mod sphinx;
pub mod tts;
pub mod windows_voices;

pub use audio::{Audio, WavError};
pub use commands::{GapTarget, MessagePreset, VoiceCommand};
pub use engineer::{Action, EngineerConfig, RaceEngineer};
pub use queue::{Callout, CalloutQueue};
pub use radio::{AudioSink, Radio, RadioConfig, RadioEvent, WavDirSink};
pub use service::{SynthesizeError, Synthesized, Voice, VoiceService};
pub use sphinx::{CommandRecognizer, Recognition, RecognizerConfig, RecognizerError};
pub use tts::{ElevenLabs, ElevenLabsConfig, EspeakNg, SpeechRequest, TtsError, TtsProvider};
