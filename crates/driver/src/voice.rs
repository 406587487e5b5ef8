//! The agent's voice: callouts spoken on the team radio and voice commands answered from the
//! live telemetry, on a thread of its own (`pitbox-voice`) so that nothing here can stall the
//! sim reader or the relay.
//!
//! - **Callouts**: received `ai_coaching`, `team_message` and `handoff_request` messages, the
//!   agent's own fuel calls ([`crate::fuel`]) and handoff answers go to `pitbox-voice`'s
//!   [`Radio`] (priority queue, expiry, one voice at a time), spoken by espeak-ng (or another
//!   [`TtsProvider`]) to the sound card (cargo feature `sound-card`) or as WAV files in a folder.
//!   The radio starts with the agent (or at the first callout when the voice is switched on
//!   later); when the engine is missing, one clear log line says so and callouts stay as text in
//!   `GET /api/voice/log`.
//! - **Commands**: utterances from a WAV file or folder (`--voice-in`), the local API
//!   (`POST /api/voice/command` with a WAV body) or the microphone with push-to-talk (feature
//!   `sound-card`) are recognised by PocketSphinx; the [`RaceEngineer`] answers from the newest
//!   sample, standings and session, spoken through the same radio; box, message and handoff
//!   commands become `team_message` / `handoff_request` / `handoff_response` to the relay.
//! - `voice.enabled = false` (config, also through `PUT /api/config`) silences both.

use crate::fuel::{FuelThresholds, FuelWatch};
use crate::state::{AgentEvent, Shared};
use pitbox_model::team::{HandoffRequest, HandoffResponse};
use pitbox_model::{HandoffStatus, Message, Priority, Timestamp, Urgency};
use pitbox_voice::buttons::PttButton;
use pitbox_voice::engineer::team_message;
use pitbox_voice::radio::AudioSink;
use pitbox_voice::service::espeak_voices;
use pitbox_voice::{
    Action, Audio, Callout, CommandRecognizer, EngineerConfig, EspeakNg, RaceEngineer, Radio, RadioConfig, RadioEvent,
    Recognition, RecognizerConfig, TtsProvider, VoiceCommand, WavDirSink,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::TryRecvError;

/// Entries kept in each part of the voice log.
pub const LOG_LEN: usize = 200;
/// Longest text spoken for one received message, characters (the full text is in the inbox).
pub const MAX_SPOKEN_CHARS: usize = 300;
/// Callout files kept by default (about 130 kB each).
pub const DEFAULT_KEEP_CALLOUT_FILES: usize = 1_000;
/// Largest WAV accepted for one voice command.
pub const MAX_COMMAND_WAV_BYTES: usize = 10 * 1024 * 1024;

/// Where callouts are heard.
#[derive(Debug, Clone, PartialEq)]
pub enum CalloutOutput {
    /// The default output device (needs the `sound-card` cargo feature).
    SoundCard,
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
}

impl std::fmt::Debug for CalloutEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CalloutEngine::EspeakNg { program } => f.debug_struct("EspeakNg").field("program", program).finish(),
            CalloutEngine::Provider { provider, voice } => {
                f.debug_struct("Provider").field("id", &provider.id()).field("voice", voice).finish()
            }
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
    /// The default input device with push-to-talk (`POST /api/voice/ptt`; feature `sound-card`).
    Microphone,
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
}

impl VoiceSettings {
    /// espeak-ng, WAV files in `dir` in real time, no command input.
    pub fn wav_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            output: CalloutOutput::WavDir { dir: dir.into(), time_scale: 1.0 },
            engine: CalloutEngine::EspeakNg { program: None },
            input: None,
            speed: 1.1,
            chime: true,
            fuel_per_lap_liters: None,
            fuel: FuelThresholds::default(),
            handoff_to: None,
            driver_name: None,
            keep_callout_files: Some(DEFAULT_KEEP_CALLOUT_FILES),
            ptt: Vec::new(),
        }
    }

    /// The default callout folder: `callouts` in the agent's data folder.
    pub fn default_dir() -> PathBuf {
        default_data_dir().join("callouts")
    }
}

impl Default for VoiceSettings {
    /// The sound card when built with `sound-card`, else WAV files in [`VoiceSettings::default_dir`].
    fn default() -> Self {
        let mut s = Self::wav_dir(Self::default_dir());
        if cfg!(feature = "sound-card") {
            s.output = CalloutOutput::SoundCard;
        }
        s
    }
}

/// The agent's data folder: `PITBOX_DRIVER_DATA_DIR`, else `%LOCALAPPDATA%\PitBox\driver` on
/// Windows, `$XDG_DATA_HOME/pitbox/driver` or `~/.local/share/pitbox/driver` elsewhere, else
/// `pitbox-driver` in the working folder.
pub fn default_data_dir() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = env("PITBOX_DRIVER_DATA_DIR") {
        return d;
    }
    if cfg!(windows) {
        if let Some(d) = env("LOCALAPPDATA") {
            return d.join("PitBox").join("driver");
        }
    } else if let Some(d) = env("XDG_DATA_HOME") {
        return d.join("pitbox").join("driver");
    } else if let Some(h) = env("HOME") {
        return h.join(".local").join("share").join("pitbox").join("driver");
    }
    PathBuf::from("pitbox-driver")
}

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
    /// `espeak-ng`, `elevenlabs`, …
    pub engine: String,
    /// `sound card` or the callout folder.
    pub output: String,
    /// `not started` (voice off since start-up), `ready`, or why speech is off.
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
}

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
}

enum Job {
    /// Recognise this audio and act on it.
    Audio { audio: Audio, origin: String, reply: Option<tokio::sync::oneshot::Sender<Result<CommandEntry, String>>> },
    /// Already recognised (the microphone thread decodes while the button is held).
    #[cfg_attr(not(feature = "sound-card"), allow(dead_code))]
    Heard { recognition: Recognition, origin: String },
}

/// The running voice, as the local API sees it.
pub struct VoiceHandle {
    jobs: mpsc::Sender<Job>,
    log: Arc<Mutex<VoiceLog>>,
    status: Arc<Mutex<VoiceStatus>>,
    stop: Arc<AtomicBool>,
    ptt: Mutex<Option<PttSender>>,
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
        match g.as_ref() {
            Some(tx) => tx.send(pressed).map_err(|_| VoiceError::Stopped),
            None => Err(VoiceError::NoMicrophone(
                "start the agent with --voice-in mic (built with the sound-card feature)".into(),
            )),
        }
    }

    /// Stops the voice thread (what is playing is cut).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts one push-to-talk button: its press and release go to `on_edge` (true = pressed) until
/// `shutdown`. Signals are installed before this returns, so one sent right after is not fatal.
pub(crate) fn start_ptt_button(
    button: PttButton,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    on_edge: impl Fn(bool) + Send + Sync + 'static,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    match button {
        #[cfg(unix)]
        PttButton::Signal => {
            use tokio::signal::unix::{SignalKind, signal};
            let mut press = signal(SignalKind::user_defined1())?;
            let mut release = signal(SignalKind::user_defined2())?;
            tracing::info!(pid = std::process::id(), "push-to-talk on signals: SIGUSR1 presses, SIGUSR2 releases");
            Ok(tokio::spawn(async move {
                loop {
                    tokio::select! {
                        Some(()) = press.recv() => on_edge(true),
                        Some(()) = release.recv() => on_edge(false),
                        _ = shutdown.wait_for(|v| *v) => return,
                    }
                }
            }))
        }
        other => {
            let stop = Arc::new(AtomicBool::new(false));
            // The device thread blocks on the device between events: it is told to stop and left
            // to end at its next event (or with the process).
            pitbox_voice::buttons::spawn(other, stop.clone(), move |e| {
                on_edge(e == pitbox_voice::ptt::PttEvent::Pressed)
            })?;
            Ok(tokio::spawn(async move {
                let _ = shutdown.wait_for(|v| *v).await;
                stop.store(true, Ordering::Relaxed);
            }))
        }
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
            CalloutOutput::SoundCard => "sound card".into(),
            CalloutOutput::WavDir { dir, .. } => dir.display().to_string(),
        },
        speech: "not started".into(),
        recognizer: "not loaded".into(),
        input: settings.input.as_ref().map(|i| match i {
            VoiceInput::Wav(p) => format!("wav:{}", p.display()),
            VoiceInput::Microphone => "microphone".into(),
        }),
        fuel_per_lap_liters: settings.fuel_per_lap_liters,
        ..Default::default()
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let ptt = if settings.input == Some(VoiceInput::Microphone) {
        Some(start_microphone(&shared, jobs_tx.clone(), stop.clone(), status.clone())?)
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
        radio_voice_id: String::new(),
        recognizer: None,
        engineer,
        handoffs: HashMap::new(),
        wav_seen: HashMap::new(),
        wav_done: HashSet::new(),
        message_seq: AtomicU64::new(0),
        settings,
    };
    std::thread::Builder::new().name("pitbox-voice".into()).spawn(move || worker.run())?;
    Ok(Arc::new(VoiceHandle { jobs: jobs_tx, log, status, stop, ptt: Mutex::new(ptt) }))
}

fn engine_id(e: &CalloutEngine) -> &'static str {
    match e {
        CalloutEngine::EspeakNg { .. } => "espeak-ng",
        CalloutEngine::Provider { provider, .. } => provider.id(),
    }
}

#[cfg(feature = "sound-card")]
fn start_microphone(
    shared: &Arc<Shared>,
    jobs: mpsc::Sender<Job>,
    stop: Arc<AtomicBool>,
    status: Arc<Mutex<VoiceStatus>>,
) -> std::io::Result<PttSender> {
    use pitbox_voice::ptt::{ChannelPtt, CommandListener};
    let (tx, rx) = mpsc::channel::<bool>();
    let sensitivity = shared.config.borrow().voice.sensitivity;
    std::thread::Builder::new().name("pitbox-voice-mic".into()).spawn(move || {
        let set = |s: String| {
            if let Ok(mut st) = status.lock() {
                st.input = Some(s);
            }
        };
        let mic = match pitbox_voice::soundcard::CpalMicrophone::open() {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "no microphone: voice commands by push-to-talk are off");
                set(format!("microphone unavailable: {e}"));
                return;
            }
        };
        let recognizer = match CommandRecognizer::new(RecognizerConfig::default().with_sensitivity(sensitivity)) {
            Ok(mut r) => {
                warm_up(&mut r);
                r
            }
            Err(e) => {
                tracing::error!(error = %e, "voice commands are off");
                set(format!("microphone: recogniser unavailable: {e}"));
                return;
            }
        };
        let (ptt, sender) = ChannelPtt::new();
        // Forward the API's press/release to the listener's push-to-talk.
        std::thread::spawn(move || {
            while let Ok(pressed) = rx.recv() {
                if pressed { sender.press() } else { sender.release() }
            }
        });
        let mut listener = CommandListener { recognizer, ptt, mic };
        while !stop.load(Ordering::Relaxed) {
            match listener.listen_once(Duration::from_millis(500)) {
                Ok(Some(heard)) => {
                    let job = Job::Heard { recognition: heard.recognition, origin: "microphone".into() };
                    if jobs.send(job).is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "microphone command not decoded"),
            }
        }
    })?;
    Ok(tx)
}

#[cfg(not(feature = "sound-card"))]
fn start_microphone(
    _shared: &Arc<Shared>,
    _jobs: mpsc::Sender<Job>,
    _stop: Arc<AtomicBool>,
    _status: Arc<Mutex<VoiceStatus>>,
) -> std::io::Result<PttSender> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "the microphone needs PitBox built with the sound-card feature (cargo build --features pitbox-driver/sound-card)",
    ))
}

enum RadioSlot {
    NotStarted,
    Running(Radio),
    /// Speech is off (logged once; the reason is in the status).
    Unavailable,
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
}

fn push_bounded<T>(q: &mut VecDeque<T>, v: T) {
    if q.len() >= LOG_LEN {
        q.pop_front();
    }
    q.push_back(v);
}

/// `text` cut to at most `max` characters at a word boundary, with an ellipsis.
fn shorten(text: &str, max: usize) -> (String, bool) {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() <= max {
        return (t, false);
    }
    let cut: String = t.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a).to_string();
    (format!("{cut}…"), true)
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
                // A new voiceId (PUT /api/config) takes effect at the next callout.
                let voice_id = self.shared.config.borrow().voice.voice_id.clone();
                if voice_id != self.radio_voice_id && !matches!(self.radio, RadioSlot::NotStarted) {
                    self.radio = RadioSlot::NotStarted;
                }
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

    /// The radio, started at the first need.
    fn radio(&mut self) -> Option<&Radio> {
        if let RadioSlot::NotStarted = self.radio {
            self.radio = match self.open_radio() {
                Ok(r) => {
                    self.set_status(|s| s.speech = "ready".into());
                    RadioSlot::Running(r)
                }
                Err(why) => {
                    // Once, clearly: callouts go on as text in the local API.
                    tracing::error!("callouts are not spoken: {why}; they stay as text in GET /api/voice/log");
                    self.set_status(|s| s.speech = why);
                    RadioSlot::Unavailable
                }
            };
        }
        match &self.radio {
            RadioSlot::Running(r) => Some(r),
            _ => None,
        }
    }

    fn open_radio(&mut self) -> Result<Radio, String> {
        let config_voice = self.shared.config.borrow().voice.voice_id.clone();
        self.radio_voice_id = config_voice.clone();
        let (tts, voice): (Arc<dyn TtsProvider>, String) = match &self.settings.engine {
            CalloutEngine::EspeakNg { program } => {
                let e = program.as_ref().map_or_else(EspeakNg::new, EspeakNg::with_program);
                e.available().map_err(|e| e.to_string())?;
                (Arc::new(e), espeak_voice(&config_voice))
            }
            CalloutEngine::Provider { provider, voice } => (provider.clone(), voice.clone()),
        };
        let sink: Box<dyn AudioSink> = match &self.settings.output {
            CalloutOutput::WavDir { dir, time_scale } => {
                Box::new(WavDirSink::new(dir).map_err(|e| format!("callout folder: {e}"))?.time_scale(*time_scale))
            }
            CalloutOutput::SoundCard => sound_card()?,
        };
        let config = RadioConfig {
            voice,
            speed: self.settings.speed.clamp(0.5, 2.0),
            chime: self.settings.chime,
            ..RadioConfig::default()
        };
        Radio::start(tts, sink, config).map_err(|e| format!("cannot start the radio thread: {e}"))
    }

    /// Queues a callout (or logs it as text when there is no engine).
    fn callout(&mut self, origin: CalloutOrigin, text: String, priority: Priority, topic: Option<&str>) {
        if !self.enabled() {
            return;
        }
        self.engineer.said(&text);
        let mut c = Callout::new(text.clone(), priority, Instant::now());
        if let Some(t) = topic {
            c = c.topic(t);
        }
        let (id, state, detail) = match self.radio() {
            Some(r) => (r.say(c), CalloutState::Queued, None),
            None => (0, CalloutState::TextOnly, Some(self.status().speech)),
        };
        tracing::info!(origin = ?origin, %priority, "callout: {text}");
        if let Ok(mut l) = self.log.lock() {
            push_bounded(
                &mut l.callouts,
                CalloutEntry { id, at: chrono::Utc::now(), origin, text, priority, state, detail },
            );
        }
    }

    fn status(&self) -> VoiceStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Radio events into the log.
    fn radio_events(&mut self) {
        let RadioSlot::Running(r) = &self.radio else { return };
        let events = r.take_events();
        if events.is_empty() {
            return;
        }
        let Ok(mut l) = self.log.lock() else { return };
        for e in events {
            let (id, state, detail) = match e {
                RadioEvent::Started { id, .. } => (id, CalloutState::Speaking, None),
                RadioEvent::Finished { id, .. } => (id, CalloutState::Spoken, None),
                RadioEvent::Interrupted { id, played, .. } => {
                    (id, CalloutState::Interrupted, Some(format!("cut after {played:.1} s")))
                }
                RadioEvent::Dropped { id, reason, .. } => (id, CalloutState::Dropped, Some(reason.to_string())),
                RadioEvent::Failed { id, error } => {
                    tracing::warn!(error = %error, "callout failed");
                    (id, CalloutState::Failed, Some(error))
                }
            };
            if let Some(c) = l.callouts.iter_mut().rev().find(|c| c.id == id && id != 0) {
                c.state = state;
                c.detail = detail;
            }
        }
    }

    /// A received message or a handoff answer.
    fn event(&mut self, ev: AgentEvent) {
        let me = self.shared.driver_id.clone();
        let ev = match ev {
            AgentEvent::Received(m) => Ok(*m),
            AgentEvent::HandoffAnswered(r) => Err(r),
        };
        match ev {
            Ok(Message::AiCoaching(c)) => {
                if c.driver_id.as_deref().is_some_and(|d| d != me) {
                    return;
                }
                let (text, _) = shorten(&c.feedback, MAX_SPOKEN_CHARS);
                self.callout(CalloutOrigin::AiCoaching, text, c.priority, None);
            }
            Ok(Message::TeamMessage(m)) => {
                // Our own messages come back from the team channel.
                if m.sender_id == me {
                    return;
                }
                let (text, _) = shorten(&format!("From {}: {}", m.sender_name, m.content), MAX_SPOKEN_CHARS);
                self.callout(CalloutOrigin::TeamMessage, text, m.priority, None);
            }
            Ok(Message::HandoffRequest(h)) => {
                self.engineer.on_handoff_request(&h);
                self.handoffs.insert(h.id.clone(), h.clone());
                if h.requester_id == me || h.status != HandoffStatus::Pending {
                    return;
                }
                let priority = if h.urgency == Urgency::Urgent { Priority::Urgent } else { Priority::High };
                let text = if h.target_driver_id == me {
                    let reason =
                        if h.reason.trim().is_empty() { String::new() } else { format!(": {}", h.reason.trim()) };
                    format!("Handoff request from {}{reason}. Say accept handoff to take it.", h.requester_name)
                } else {
                    format!("{} asks for a driver change to {}.", h.requester_name, h.target_driver_name)
                };
                let (text, _) = shorten(&text, MAX_SPOKEN_CHARS);
                self.callout(CalloutOrigin::HandoffRequest, text, priority, Some("handoff"));
            }
            Err(r) => {
                self.handoff_answered(&r);
                let text = match r.status {
                    HandoffStatus::Accepted => "Handoff accepted. Driver change at the next stop.",
                    HandoffStatus::Completed => "Driver change done.",
                    HandoffStatus::Rejected => "Handoff rejected.",
                    HandoffStatus::Pending => return,
                };
                self.callout(CalloutOrigin::HandoffAnswer, text.into(), Priority::High, Some("handoff"));
            }
            Ok(_) => {}
        }
    }

    /// The engineer forgets a handoff once it is answered.
    fn handoff_answered(&mut self, r: &HandoffResponse) {
        if let Some(mut h) = self.handoffs.remove(&r.handoff_id) {
            h.status = r.status;
            self.engineer.on_handoff_request(&h);
        }
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

    fn fuel_tick(&mut self) {
        let Some(t) = self.shared.telemetry.borrow().clone() else { return };
        self.refresh_engineer();
        let calls = self.fuel.update(&t, self.engineer.laps_left());
        let per_lap = self.fuel.per_lap();
        self.engineer.set_fuel_per_lap_liters(per_lap);
        let measured = self.fuel.measured_laps();
        self.set_status(|s| {
            s.fuel_per_lap_liters = per_lap;
            s.fuel_laps_measured = measured;
        });
        for c in calls {
            let origin = match c.kind {
                "pitWindow" => CalloutOrigin::PitWindow,
                "boxNow" => CalloutOrigin::BoxNow,
                _ => CalloutOrigin::LowFuel,
            };
            self.callout(origin, c.text, c.priority, Some("fuel"));
        }
    }

    /// New files of the WAV input, each heard once (after the first telemetry sample).
    fn poll_wav_input(&mut self) {
        let Some(VoiceInput::Wav(path)) = self.settings.input.clone() else { return };
        if self.shared.telemetry.borrow().is_none() {
            return;
        }
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut v: Vec<PathBuf> = match std::fs::read_dir(&path) {
                Ok(rd) => rd
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav")))
                    .collect(),
                Err(e) => {
                    self.wav_input_failed(&path, &format!("cannot read the folder: {e}"));
                    return;
                }
            };
            v.sort();
            v
        } else {
            vec![path.clone()]
        };
        for f in files {
            if self.wav_done.contains(&f) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&f) else {
                if !path.is_dir() {
                    self.wav_input_failed(&f, "no such file");
                }
                continue;
            };
            // A file still being written grows between looks: read it once its size holds.
            let len = meta.len();
            if self.wav_seen.insert(f.clone(), len) != Some(len) || len == 0 {
                continue;
            }
            self.wav_done.insert(f.clone());
            let origin = format!("wav:{}", f.display());
            match read_wav(&f) {
                Ok(audio) => self.job(Job::Audio { audio, origin, reply: None }),
                Err(e) => self.wav_input_failed(&f, &e),
            }
        }
    }

    fn wav_input_failed(&mut self, f: &Path, why: &str) {
        self.wav_done.insert(f.to_path_buf());
        tracing::warn!(file = %f.display(), "voice input: {why}");
        let entry = CommandEntry {
            at: chrono::Utc::now(),
            origin: format!("wav:{}", f.display()),
            words: String::new(),
            command: None,
            phrase: None,
            confidence: 0.0,
            audio_seconds: 0.0,
            decode_ms: 0.0,
            answers: Vec::new(),
            sent: Vec::new(),
            error: Some(why.to_string()),
        };
        if let Ok(mut l) = self.log.lock() {
            push_bounded(&mut l.commands, entry);
        }
    }

    /// The recogniser, loaded at the first command (again when the sensitivity changes).
    fn recognizer(&mut self) -> Result<&mut CommandRecognizer, String> {
        let sensitivity = self.shared.config.borrow().voice.sensitivity;
        let stale = match &self.recognizer {
            Some(Ok((_, s))) => (*s - sensitivity).abs() > 1e-9,
            Some(Err(_)) => false,
            None => true,
        };
        if stale {
            let r = CommandRecognizer::new(RecognizerConfig::default().with_sensitivity(sensitivity))
                .map(|mut r| {
                    warm_up(&mut r);
                    (r, sensitivity)
                })
                .map_err(|e| e.to_string());
            match &r {
                Ok(_) => self.set_status(|s| s.recognizer = "ready".into()),
                Err(e) => {
                    tracing::error!("voice commands are off: {e}");
                    let e = e.clone();
                    self.set_status(|s| s.recognizer = e);
                }
            }
            self.recognizer = Some(r);
        }
        match &mut self.recognizer {
            Some(Ok((r, _))) => Ok(r),
            Some(Err(e)) => Err(e.clone()),
            None => Err("not loaded".into()),
        }
    }

    fn job(&mut self, job: Job) {
        let (recognition, origin, reply) = match job {
            Job::Audio { audio, origin, reply } => {
                if !self.enabled() {
                    if let Some(r) = reply {
                        let _ = r.send(Err(VoiceError::Disabled.to_string()));
                    }
                    return;
                }
                match self.recognizer().and_then(|r| r.recognize(&audio).map_err(|e| e.to_string())) {
                    Ok(rec) => (rec, origin, reply),
                    Err(e) => {
                        if let Some(r) = reply {
                            let _ = r.send(Err(e));
                        }
                        return;
                    }
                }
            }
            Job::Heard { recognition, origin } => {
                if !self.enabled() {
                    return;
                }
                (recognition, origin, None)
            }
        };
        let entry = self.act(recognition, origin);
        tracing::info!(origin = %entry.origin, command = ?entry.command, answers = ?entry.answers, "voice command");
        if let Ok(mut l) = self.log.lock() {
            push_bounded(&mut l.commands, entry.clone());
        }
        if let Some(r) = reply {
            let _ = r.send(Ok(entry));
        }
    }

    fn next_message_id(&self, kind: &str) -> String {
        let n = self.message_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut id = format!("{}-{kind}-{}-{n}", self.shared.driver_id, chrono::Utc::now().timestamp_millis());
        id.truncate(pitbox_model::validate::MAX_ID_LEN);
        id
    }

    fn driver_name(&self) -> String {
        if let Some(n) = &self.settings.driver_name {
            return n.clone();
        }
        self.shared
            .session
            .borrow()
            .as_ref()
            .and_then(|s| s.drivers.iter().find(|d| d.car_idx == s.player_car_idx).map(|d| d.name.clone()))
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| self.shared.driver_id.clone())
    }

    /// Sends to the relay; the error is for the command's entry.
    fn send(&self, m: Message, sent: &mut Vec<String>) -> Result<(), String> {
        if let Err(e) = m.validate() {
            return Err(format!("{} not sent: {e}", m.type_name()));
        }
        let label = match &m {
            Message::TeamMessage(t) => format!("team_message {}", t.id),
            Message::HandoffRequest(h) => format!("handoff_request {}", h.id),
            Message::HandoffResponse(r) => format!("handoff_response {} {}", r.handoff_id, r.status),
            other => other.type_name().to_string(),
        };
        self.shared.outbox.try_send(m).map_err(|_| format!("{label} not sent: the relay queue is full or closed"))?;
        sent.push(label);
        Ok(())
    }

    /// Carries out a recognised command.
    fn act(&mut self, rec: Recognition, origin: String) -> CommandEntry {
        let mut entry = CommandEntry {
            at: chrono::Utc::now(),
            origin,
            words: rec.words.clone(),
            command: rec.command,
            phrase: rec.command.map(|c| c.phrase()),
            confidence: rec.confidence,
            audio_seconds: rec.audio_seconds,
            decode_ms: rec.decode_seconds * 1000.0,
            answers: Vec::new(),
            sent: Vec::new(),
            error: None,
        };
        let Some(cmd) = rec.command else {
            let text = "Say again.".to_string();
            entry.answers.push(text.clone());
            self.callout(CalloutOrigin::Answer, text, Priority::Normal, None);
            return entry;
        };
        self.refresh_engineer();
        let now = chrono::Utc::now();
        let mut errors = Vec::new();
        let mut replace_answer: Option<String> = None;
        for action in self.engineer.handle(cmd) {
            match action {
                Action::Say { text, priority } => {
                    let text = replace_answer.take().unwrap_or(text);
                    entry.answers.push(text.clone());
                    self.callout(CalloutOrigin::Answer, text, priority, None);
                }
                Action::SendTeamMessage { content, priority } => {
                    let m = team_message(
                        self.next_message_id("msg"),
                        &content,
                        priority,
                        &self.shared.driver_id,
                        &self.driver_name(),
                        now,
                    );
                    if let Err(e) = self.send(Message::TeamMessage(m), &mut entry.sent) {
                        errors.push(e);
                    }
                }
                Action::RequestHandoff { reason } => match self.settings.handoff_to.clone() {
                    Some(target) => {
                        let h = HandoffRequest {
                            id: self.next_message_id("handoff"),
                            requester_id: self.shared.driver_id.clone(),
                            requester_name: self.driver_name(),
                            target_driver_id: target.id.clone(),
                            target_driver_name: target.name.clone(),
                            reason,
                            urgency: Urgency::Normal,
                            requested_at: now,
                            status: HandoffStatus::Pending,
                            telemetry_snapshot: None,
                        };
                        if let Err(e) = self.send(Message::HandoffRequest(h), &mut entry.sent) {
                            errors.push(e);
                        }
                        replace_answer = Some(format!("Copy, handoff to {} requested.", target.name));
                    }
                    None => {
                        // No relief driver configured: the team decides who takes over.
                        let m = team_message(
                            self.next_message_id("msg"),
                            "Driver requests a driver change.",
                            Priority::High,
                            &self.shared.driver_id,
                            &self.driver_name(),
                            now,
                        );
                        if let Err(e) = self.send(Message::TeamMessage(m), &mut entry.sent) {
                            errors.push(e);
                        }
                        replace_answer = Some("Copy, driver change requested from the team.".into());
                    }
                },
                Action::RespondHandoff(r) => {
                    let accepted = (r.status == HandoffStatus::Accepted).then(|| r.handoff_id.clone());
                    self.handoff_answered(&r);
                    match self.send(Message::HandoffResponse(r), &mut entry.sent) {
                        Ok(()) => {
                            if let Some(id) = accepted
                                && let Ok(mut h) = self.shared.accepted_handoff.lock()
                            {
                                *h = Some(id);
                            }
                        }
                        Err(e) => errors.push(e),
                    }
                }
                Action::SetBoxThisLap(b) => self.set_status(|s| s.box_this_lap = b),
            }
        }
        if !errors.is_empty() {
            let text = "Message not sent, the team link is down.".to_string();
            entry.answers.push(text.clone());
            self.callout(CalloutOrigin::Answer, text, Priority::High, None);
            entry.error = Some(errors.join("; "));
        }
        entry
    }
}

/// Decodes two spoken phrases on a fresh recogniser and forgets the results. PocketSphinx adapts
/// its feature normalisation to the speech it has heard, and the driver's first command after
/// start was the one most often lost: over the 18 commands in 3 espeak-ng voices, each the first
/// utterance of a fresh decoder, 49/54 were recognised without a warm-up and 52/54 after this one
/// (`cargo run --release -p pitbox-driver --example first_command`). The phrases are made with
/// espeak-ng when it is installed.
pub fn warm_up(r: &mut CommandRecognizer) {
    let tts = EspeakNg::new();
    for (text, voice) in WARM_UP {
        let speech = tts.synthesize_blocking(&pitbox_voice::SpeechRequest::new(*text, *voice));
        match speech.map(|a| r.recognize(&a)) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "recogniser warm-up failed: the first command may be missed");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "no espeak-ng to warm the recogniser up: the first command may be missed");
                return;
            }
        }
    }
}

/// What [`warm_up`] says, in which espeak-ng voice.
pub const WARM_UP: &[(&str, &str)] = &[("radio check", "en-us"), ("fuel status", "en")];

/// The espeak-ng voice for the config's `voiceId`: one of PitBox's voices by id, `default` for
/// the engineer, else the id as an espeak-ng voice name.
pub fn espeak_voice(voice_id: &str) -> String {
    let id = if voice_id.is_empty() || voice_id == "default" { pitbox_voice::service::DEFAULT_VOICE } else { voice_id };
    espeak_voices().into_iter().find(|v| v.id == id).map_or_else(|| id.to_string(), |v| v.engine_voice)
}

/// Whether `name` is one of the radio's callout files (`NNNN-….wav`).
fn is_callout_file(name: &str) -> bool {
    let Some((num, rest)) = name.split_once('-') else { return false };
    num.len() >= 4 && num.bytes().all(|b| b.is_ascii_digit()) && rest.ends_with(".wav")
}

/// Deletes the oldest callout files in `dir` beyond the newest `keep` (only the radio's own
/// `NNNN-….wav` files; anything else in the folder is left alone). Returns how many went.
pub fn prune_callouts(dir: &Path, keep: usize) -> std::io::Result<usize> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !is_callout_file(&name) {
            continue;
        }
        let modified = e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH);
        files.push((modified, name, e.path()));
    }
    if files.len() <= keep {
        return Ok(0);
    }
    files.sort();
    let excess = files.len() - keep;
    let mut removed = 0;
    for (_, _, path) in files.into_iter().take(excess) {
        std::fs::remove_file(&path)?;
        removed += 1;
    }
    Ok(removed)
}

fn read_wav(f: &Path) -> Result<Audio, String> {
    let meta = std::fs::metadata(f).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() as usize > MAX_COMMAND_WAV_BYTES {
        return Err(format!("{} bytes is more than the {} accepted", meta.len(), MAX_COMMAND_WAV_BYTES));
    }
    let bytes = std::fs::read(f).map_err(|e| format!("cannot read: {e}"))?;
    Audio::from_wav(&bytes).map_err(|e| format!("not a usable WAV file: {e}"))
}

#[cfg(feature = "sound-card")]
fn sound_card() -> Result<Box<dyn AudioSink>, String> {
    pitbox_voice::soundcard::CpalSink::open().map(|s| Box::new(s) as Box<dyn AudioSink>).map_err(|e| e.to_string())
}

#[cfg(not(feature = "sound-card"))]
fn sound_card() -> Result<Box<dyn AudioSink>, String> {
    Err("this PitBox was built without the sound-card feature: use --voice-out DIR for WAV files".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn signals_press_and_release_push_to_talk() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let task = start_ptt_button(PttButton::Signal, stop_rx, move |down| {
            let _ = tx.send(down);
        })
        .unwrap();
        let kill = |sig: &str| {
            let ok = std::process::Command::new("kill").args([sig, &std::process::id().to_string()]).status().unwrap();
            assert!(ok.success());
        };
        kill("-USR1");
        assert_eq!(tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap(), Some(true));
        kill("-USR2");
        assert_eq!(tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap(), Some(false));
        let _ = stop_tx.send(true);
        tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    }

    #[test]
    fn shorten_cuts_at_a_word() {
        assert_eq!(shorten("  box   this lap ", 100), ("box this lap".into(), false));
        let (s, cut) = shorten("one two three four", 10);
        assert!(cut);
        assert_eq!(s, "one two…");
    }

    #[test]
    fn pruning_keeps_the_newest_callouts_and_nothing_else_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        for i in 1..=5 {
            std::fs::write(dir.path().join(format!("{i:04}-normal-call-{i}.wav")), b"x").unwrap();
            // Modification times a few ms apart.
            std::thread::sleep(Duration::from_millis(15));
        }
        std::fs::write(dir.path().join("notes.wav"), b"x").unwrap();
        std::fs::write(dir.path().join("0001-keep.txt"), b"x").unwrap();
        assert_eq!(prune_callouts(dir.path(), 2).unwrap(), 3);
        let mut left: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into()).collect();
        left.sort();
        assert_eq!(left, ["0001-keep.txt", "0004-normal-call-4.wav", "0005-normal-call-5.wav", "notes.wav"]);
        assert_eq!(prune_callouts(dir.path(), 2).unwrap(), 0);
    }

    #[test]
    fn voice_ids_map_to_espeak_voices() {
        assert_eq!(espeak_voice("default"), "en-us");
        assert_eq!(espeak_voice("engineer-uk"), "en-gb");
        assert_eq!(espeak_voice("en-gb-scotland"), "en-gb-scotland");
    }
}
