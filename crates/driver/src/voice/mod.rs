//! The agent's voice: callouts spoken on the team radio and voice commands answered from the
//! live telemetry, on a thread of its own (`pitbox-voice`) so that nothing here can stall the
//! sim reader or the relay.
//!
//! - **Callouts**: received `ai_coaching`, `team_message` and `handoff_request` messages, the
//!   agent's own fuel calls ([`crate::fuel`]) and handoff answers go to `pitbox-voice`'s
//!   [`Radio`] (priority queue, expiry, one voice at a time), spoken by Windows' own speech
//!   (Windows), espeak-ng (Linux), the team cloud's voice or another [`TtsProvider`], to the
//!   sound card (always on Windows; cargo feature `sound-card` elsewhere) or as WAV files.
//!   The radio starts with the agent (or at the first callout when the voice is switched on
//!   later); when the engine is missing, one clear log line says so and callouts stay as text in
//!   `GET /api/voice/log`.
//! - **Commands**: utterances from a WAV file or folder (`--voice-in`), the local API
//!   (`POST /api/voice/command` with a WAV body) or the microphone with push-to-talk (feature
//!   `sound-card`) are recognised by PocketSphinx; the [`RaceEngineer`] answers from the newest
//!   sample, standings and session, spoken through the same radio; box, message and handoff
//!   commands become `team_message` / `handoff_request` / `handoff_response` to the relay.
//! - `voice.enabled = false` (config, also through `PUT /api/config`) silences both.
//!
//! The module's rooms, one concern each (each adds its own `impl Worker` block):
//! - [`settings`]: what the agent was started with (output, engine, input, fuel, handoff);
//! - [`data_dir`]: the data folder and the pruning of old callout files;
//! - [`log`]: the voice log and status the local API serves;
//! - [`ptt`]: push-to-talk buttons and signals;
//! - [`microphone`]: the microphone thread (cargo feature `sound-card`);
//! - [`engine`]: what speaks: espeak-ng, Windows speech (`windows_speech`, Windows only), a
//!   provider, or the cloud's voice with a local fallback;
//! - [`radio`]: the radio and its sink, and callouts into the log (`soundcard` for the
//!   platform's output device);
//! - [`messages`]: received messages (`ai_coaching`, `team_message`, handoffs) turned into callouts;
//! - [`fuel_calls`]: the agent's own fuel calls;
//! - [`wav_input`]: WAV files and folders polled as voice commands;
//! - [`commands`]: the recogniser and turning commands into answers and messages;
//! - [`spotter`]: the spotter, fed on the source thread, its calls played from clips made when
//!   the radio opens;
//! - [`cues`]: cues before the corner from the coach's live analysis on a thread of its own.

mod commands;
mod cues;
mod data_dir;
mod engine;
mod fuel_calls;
mod log;
mod messages;
mod microphone;
mod ptt;
mod radio;
mod settings;
mod soundcard;
mod spotter;
mod wav_input;
mod windows_speech;

pub use commands::{WARM_UP, warm_up};
pub use cues::{CueFeed, CueJudge, CuePin, CuePinner, CueReport, cue_config, is_caution};
pub use data_dir::{DEFAULT_KEEP_CALLOUT_FILES, default_data_dir, prune_callouts};
pub use engine::{CLOUD_TIMEOUT, cloud_voice_id};
pub use log::{
    CUES_KEPT, CalloutEntry, CalloutOrigin, CalloutState, CommandEntry, CueRecord, CueStatus, LOG_LEN, SpotterStatus,
    VoiceLog, VoiceStatus,
};
pub use messages::MAX_SPOKEN_CHARS;
pub(crate) use ptt::start_ptt_button;
pub use radio::espeak_voice;
pub use settings::{CalloutEngine, CalloutOutput, HandoffTarget, VoiceInput, VoiceSettings};
pub use spotter::{SpotterFeed, SpotterLink, SpotterSender};
pub use wav_input::MAX_COMMAND_WAV_BYTES;

use crate::fuel::FuelWatch;
use crate::state::{AgentEvent, Shared};
use microphone::start_microphone;
use pitbox_model::team::HandoffRequest;
use pitbox_voice::{Audio, CommandRecognizer, EngineerConfig, RaceEngineer, Recognition};
use radio::RadioSlot;
use settings::engine_id;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::TryRecvError;

/// Why a voice command could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error("the voice is off (voice.enabled = false)")]
    Disabled,
    #[error("not a usable WAV file: {0}")]
    BadWav(#[from] pitbox_voice::WavError),
    #[error("voice commands are unavailable: {0}")]
    Recognizer(String),
    #[error("push-to-talk needs the microphone: {0}")]
    NoMicrophone(String),
    #[error("the voice thread has stopped")]
    Stopped,
    #[error("callouts cannot be spoken here: {0}")]
    NoSpeech(String),
}

enum Job {
    /// Recognise this audio and act on it.
    Audio { audio: Audio, origin: String, reply: Option<tokio::sync::oneshot::Sender<Result<CommandEntry, String>>> },
    /// Already recognised (the microphone thread decodes while the button is held).
    #[cfg_attr(not(sound_card), allow(dead_code))]
    Heard { recognition: Recognition, origin: String },
    /// "Test voice": a sample line on the radio, as the running settings speak it.
    TestVoice { text: String, reply: tokio::sync::oneshot::Sender<Result<TestVoice, String>> },
    /// The spotter's calls of one tick, read at `at`.
    Spot { calls: Vec<pitbox_spotter::Call>, at: Instant },
    /// A report of the cue thread, from the sample read at `at`.
    Cue { report: cues::CueReport, at: Instant },
}

/// The running voice, as the local API sees it.
pub struct VoiceHandle {
    jobs: mpsc::Sender<Job>,
    log: Arc<Mutex<VoiceLog>>,
    status: Arc<Mutex<VoiceStatus>>,
    stop: Arc<AtomicBool>,
    ptt: Mutex<Option<PttSender>>,
    /// The speaking rate (`f64` bits): the settings change it while running.
    speed: Arc<AtomicU64>,
    /// The last push-to-talk press or release (any button or the local API), for the window's test.
    last_ptt: Mutex<Option<PttUse>>,
}

/// What "test voice" did.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestVoice {
    pub text: String,
    /// The engine that spoke (`espeak-ng`, `windows`, `cloud (local: …)` …).
    pub engine: String,
    pub voice_id: String,
    pub speed: f64,
    /// Where it is heard (`sound card: …` or the callout folder).
    pub output: String,
    /// Its id in the voice log's callouts.
    pub callout_id: u64,
}

/// The last use of push-to-talk.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PttUse {
    pub at: chrono::DateTime<chrono::Utc>,
    pub pressed: bool,
    /// Why the microphone did not take it, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Press/release for the microphone thread.
type PttSender = mpsc::Sender<bool>;

impl VoiceHandle {
    /// The log (callouts and commands, oldest first).
    pub fn log(&self) -> VoiceLog {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn status(&self) -> VoiceStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Recognises a WAV (one utterance) and acts on it; resolves when the command is handled.
    pub async fn command_wav(&self, wav: &[u8], origin: &str) -> Result<CommandEntry, VoiceError> {
        let audio = Audio::from_wav(wav)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job::Audio { audio, origin: origin.to_string(), reply: Some(tx) })
            .map_err(|_| VoiceError::Stopped)?;
        match rx.await {
            Ok(Ok(e)) => Ok(e),
            Ok(Err(why)) if why == VoiceError::Disabled.to_string() => Err(VoiceError::Disabled),
            Ok(Err(why)) => Err(VoiceError::Recognizer(why)),
            Err(_) => Err(VoiceError::Stopped),
        }
    }

    /// Push-to-talk for the microphone input.
    pub fn push_to_talk(&self, pressed: bool) -> Result<(), VoiceError> {
        let g = self.ptt.lock().map_err(|_| VoiceError::Stopped)?;
        let r = match g.as_ref() {
            Some(tx) => tx.send(pressed).map_err(|_| VoiceError::Stopped),
            None => Err(VoiceError::NoMicrophone(
                "start the agent with --voice-in mic (built with the sound-card feature)".into(),
            )),
        };
        if let Ok(mut last) = self.last_ptt.lock() {
            *last = Some(PttUse { at: chrono::Utc::now(), pressed, refused: r.as_ref().err().map(|e| e.to_string()) });
        }
        r
    }

    /// The last push-to-talk press or release, if any.
    pub fn last_push_to_talk(&self) -> Option<PttUse> {
        self.last_ptt.lock().ok().and_then(|l| l.clone())
    }

    /// Changes the speaking rate (0.5–2.0) while running: the radio restarts with it.
    pub fn set_speed(&self, speed: f64) {
        self.speed.store(speed.clamp(0.5, 2.0).to_bits(), Ordering::Relaxed);
    }

    /// Speaks `text` on the radio now; why not when the voice is off or cannot speak.
    pub async fn test_voice(&self, text: &str) -> Result<TestVoice, VoiceError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs.send(Job::TestVoice { text: text.to_string(), reply: tx }).map_err(|_| VoiceError::Stopped)?;
        match rx.await {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(why)) if why == VoiceError::Disabled.to_string() => Err(VoiceError::Disabled),
            Ok(Err(why)) => Err(VoiceError::NoSpeech(why)),
            Err(_) => Err(VoiceError::Stopped),
        }
    }

    /// Where the spotter's calls and the cues go (see [`SpotterFeed`], [`CueFeed`]).
    pub fn spotter_sender(&self) -> SpotterSender {
        SpotterSender(self.jobs.clone())
    }

    /// Stops the voice thread (what is playing is cut).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts the voice thread.
pub fn start(shared: Arc<Shared>, settings: VoiceSettings) -> std::io::Result<Arc<VoiceHandle>> {
    let (jobs_tx, jobs_rx) = mpsc::channel();
    let log = Arc::new(Mutex::new(VoiceLog::default()));
    let status = Arc::new(Mutex::new(VoiceStatus {
        enabled: shared.config.borrow().voice.enabled,
        engine: engine_id(&settings.engine).into(),
        output: match &settings.output {
            CalloutOutput::SoundCard { device: None } => "sound card".into(),
            CalloutOutput::SoundCard { device: Some(d) } => format!("sound card: {d}"),
            CalloutOutput::WavDir { dir, .. } => dir.display().to_string(),
        },
        speech: "not started".into(),
        recognizer: "not loaded".into(),
        input: settings.input.as_ref().map(|i| match i {
            VoiceInput::Wav(p) => format!("wav:{}", p.display()),
            VoiceInput::Microphone { device: None } => "microphone".into(),
            VoiceInput::Microphone { device: Some(d) } => format!("microphone: {d}"),
        }),
        fuel_per_lap_liters: settings.fuel_per_lap_liters,
        spotter: spotter::initial_status(settings.spotter),
        cues: CueStatus { enabled: settings.cues, ..CueStatus::default() },
        ..Default::default()
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let speed = Arc::new(AtomicU64::new(settings.speed.to_bits()));
    let ptt = if let Some(VoiceInput::Microphone { device }) = &settings.input {
        Some(start_microphone(&shared, device.clone(), jobs_tx.clone(), stop.clone(), status.clone())?)
    } else {
        None
    };
    let mut engineer = RaceEngineer::new(EngineerConfig {
        driver_id: shared.driver_id.clone(),
        fuel_per_lap_liters: settings.fuel_per_lap_liters,
        fuel_per_lap_pct: None,
    });
    engineer.set_fuel_per_lap_liters(settings.fuel_per_lap_liters);
    let worker = Worker {
        events: shared.events.subscribe(),
        fuel: FuelWatch::new(settings.fuel, settings.fuel_per_lap_liters),
        shared,
        jobs: jobs_rx,
        log: log.clone(),
        status: status.clone(),
        stop: stop.clone(),
        radio: RadioSlot::NotStarted,
        fallback: None,
        radio_voice_id: String::new(),
        recognizer: None,
        engineer,
        handoffs: HashMap::new(),
        wav_seen: HashMap::new(),
        wav_done: HashSet::new(),
        message_seq: AtomicU64::new(0),
        spotter_clips: HashMap::new(),
        speed: speed.clone(),
        settings,
    };
    std::thread::Builder::new().name("pitbox-voice".into()).spawn(move || worker.run())?;
    Ok(Arc::new(VoiceHandle {
        jobs: jobs_tx,
        log,
        status,
        stop,
        ptt: Mutex::new(ptt),
        speed,
        last_ptt: Mutex::new(None),
    }))
}

struct Worker {
    shared: Arc<Shared>,
    settings: VoiceSettings,
    events: tokio::sync::broadcast::Receiver<AgentEvent>,
    jobs: mpsc::Receiver<Job>,
    log: Arc<Mutex<VoiceLog>>,
    status: Arc<Mutex<VoiceStatus>>,
    stop: Arc<AtomicBool>,
    radio: RadioSlot,
    /// The cloud's voice with its local fallback, when chosen (for the log and the status).
    fallback: Option<Arc<pitbox_voice::cloud::Fallback>>,
    /// The config's `voiceId` the radio was started with.
    radio_voice_id: String,
    /// Loaded at the first command, with the sensitivity it was loaded with.
    recognizer: Option<Result<(CommandRecognizer, f64), String>>,
    engineer: RaceEngineer,
    fuel: FuelWatch,
    /// Handoff requests seen, by id (to clear the engineer's pending one once answered).
    handoffs: HashMap<String, HandoffRequest>,
    /// WAV input files: size at the last look (a file is read once its size holds still).
    wav_seen: HashMap<PathBuf, u64>,
    wav_done: HashSet<PathBuf>,
    message_seq: AtomicU64,
    /// The spotter's calls, synthesised when the radio opened.
    spotter_clips: HashMap<pitbox_spotter::Call, Arc<pitbox_voice::Audio>>,
    /// The rate the settings ask for ([`VoiceHandle::set_speed`]).
    speed: Arc<AtomicU64>,
}

impl Worker {
    fn enabled(&self) -> bool {
        self.shared.config.borrow().voice.enabled
    }

    fn run(mut self) {
        // Start the engine now, so a missing one is reported at start-up, not at the first call.
        if self.enabled() {
            let _ = self.radio();
        }
        let mut last_radio = Instant::now();
        let mut last_fuel = Instant::now();
        let mut last_wav = Instant::now() - Duration::from_secs(1);
        let mut last_prune = Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
            match self.jobs.recv_timeout(Duration::from_millis(100)) {
                Ok(job) => self.job(job),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            loop {
                match self.events.try_recv() {
                    Ok(ev) => self.event(ev),
                    Err(TryRecvError::Lagged(n)) => {
                        tracing::warn!(
                            missed = n,
                            "voice fell behind: {n} events not called out (they are in the inbox)"
                        )
                    }
                    Err(_) => break,
                }
            }
            let now = Instant::now();
            if now.duration_since(last_radio) >= Duration::from_millis(200) {
                last_radio = now;
                self.radio_events();
                self.follow_settings();
                if let Ok(mut s) = self.status.lock() {
                    s.enabled = self.enabled();
                }
            }
            if now.duration_since(last_fuel) >= Duration::from_secs(1) {
                last_fuel = now;
                self.fuel_tick();
            }
            if now.duration_since(last_wav) >= Duration::from_millis(250) {
                last_wav = now;
                self.poll_wav_input();
            }
            if now.duration_since(last_prune) >= Duration::from_secs(30) {
                last_prune = now;
                if let (CalloutOutput::WavDir { dir, .. }, Some(keep)) =
                    (&self.settings.output, self.settings.keep_callout_files)
                    && let Err(e) = prune_callouts(dir, keep)
                {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot prune old callout files");
                }
            }
        }
    }

    fn set_status(&self, f: impl FnOnce(&mut VoiceStatus)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }

    fn status(&self) -> VoiceStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The engineer's view of the race, from the shared state (copied only when needed).
    fn refresh_engineer(&mut self) {
        if let Some(t) = self.shared.telemetry.borrow().as_ref() {
            self.engineer.on_telemetry(t);
        }
        if let Some(s) = self.shared.standings.borrow().as_ref() {
            self.engineer.on_standings(s);
        }
        if let Some(s) = self.shared.session.borrow().as_ref() {
            self.engineer.on_session(s);
        }
    }
}
