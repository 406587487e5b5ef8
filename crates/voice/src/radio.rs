//! The driver's radio: callouts go through the [`CalloutQueue`], are spoken by a
//! [`TtsProvider`], wrapped in a radio-style chime and played by one [`AudioSink`] at a time:
//! WAV files in a folder (`--audio-out DIR`: tests, servers, machines without a sound card), or
//! the sound card (`soundcard::CpalSink`, cargo feature `sound-card`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pitbox_model::Priority;

use crate::audio::{Audio, PLAYBACK_RATE, XorShift, clamp16};
use crate::queue::{Callout, CalloutQueue, Dropped, PushOutcome, QueueConfig};
use crate::tts::{SpeechRequest, TtsProvider};

/// Why playback failed.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("sound card: {0}")]
    Device(String),
}

/// Where audio is heard. One sink plays one thing at a time.
pub trait AudioSink: Send {
    /// Plays `audio` to the end, or until `stop` is set; returns the seconds played. `label`
    /// names the clip (file names, logs).
    fn play(&mut self, audio: &Audio, label: &str, stop: &AtomicBool) -> Result<f64, SinkError>;
}

/// Writes each clip to `DIR/NNNN-label.wav`, taking the clip's own time (times `time_scale`:
/// 1.0 = real time, 0 = at once) so that queueing and interruption behave as on a sound card.
/// An interrupted clip is written cut where it stopped.
#[derive(Debug)]
pub struct WavDirSink {
    dir: PathBuf,
    count: u32,
    time_scale: f64,
}

impl WavDirSink {
    /// A sink writing into `dir` (created if missing), in real time. Its files are numbered on
    /// from the highest `NNNN-….wav` already there, so a restarted agent neither overwrites the
    /// last run's callouts nor mixes its own in among them.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, SinkError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| SinkError::Write { path: dir.clone(), source })?;
        let count = std::fs::read_dir(&dir)
            .map_err(|source| SinkError::Write { path: dir.clone(), source })?
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let (num, rest) = name.split_once('-')?;
                (rest.ends_with(".wav") && num.len() >= 4).then(|| num.parse::<u32>().ok()).flatten()
            })
            .max()
            .unwrap_or(0);
        Ok(Self { dir, count, time_scale: 1.0 })
    }

    /// The same sink with playback time scaled (0.1 = ten times faster than real time).
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale.max(0.0);
        self
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A file-name-safe form of `text` (at most 40 characters).
pub fn slug(text: &str) -> String {
    let mut s = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
        if s.len() >= 40 {
            break;
        }
    }
    s.trim_end_matches('-').to_string()
}

impl AudioSink for WavDirSink {
    fn play(&mut self, audio: &Audio, label: &str, stop: &AtomicBool) -> Result<f64, SinkError> {
        let total = audio.duration();
        let start = Instant::now();
        let mut played = total;
        if self.time_scale > 0.0 {
            let wall = Duration::from_secs_f64(total * self.time_scale);
            loop {
                let elapsed = start.elapsed();
                if stop.load(Ordering::Acquire) {
                    played = (elapsed.as_secs_f64() / self.time_scale).min(total);
                    break;
                }
                if elapsed >= wall {
                    break;
                }
                std::thread::sleep((wall - elapsed).min(Duration::from_millis(5)));
            }
        } else if stop.load(Ordering::Acquire) {
            played = 0.0;
        }
        let n = ((played * f64::from(audio.sample_rate)) as usize).min(audio.samples.len());
        let clip = Audio::new(audio.sample_rate, audio.samples[..n].to_vec());
        self.count += 1;
        let path = self.dir.join(format!("{:04}-{}.wav", self.count, slug(label)));
        std::fs::write(&path, clip.to_wav()).map_err(|source| SinkError::Write { path, source })?;
        Ok(played)
    }
}

/// Throws audio away at once (benchmarks).
#[derive(Debug, Default)]
pub struct NullSink;

impl AudioSink for NullSink {
    fn play(&mut self, audio: &Audio, _label: &str, _stop: &AtomicBool) -> Result<f64, SinkError> {
        Ok(audio.duration())
    }
}

fn tone(rate: u32, hz: f64, secs: f64, amp: f64) -> Vec<i16> {
    let n = (f64::from(rate) * secs) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            // 5 ms fades avoid clicks.
            let fade = (t / 0.005).min((secs - t) / 0.005).clamp(0.0, 1.0);
            clamp16(amp * fade * (2.0 * std::f64::consts::PI * hz * t).sin())
        })
        .collect()
}

fn squelch(rate: u32, secs: f64, amp: f64, seed: u64) -> Vec<i16> {
    let n = (f64::from(rate) * secs) as usize;
    let mut rng = XorShift(seed | 1);
    let mut lp = 0.0f64;
    (0..n)
        .map(|i| {
            // Low-passed noise, fading out: the "kssh" of a radio opening or closing.
            lp = 0.6 * lp + 0.4 * rng.uniform();
            let fade = 1.0 - i as f64 / n as f64;
            clamp16(amp * fade * lp)
        })
        .collect()
}

/// The radio's opening chime: a squelch burst and a short two-tone beep.
pub fn chime_open(rate: u32) -> Audio {
    let mut s = squelch(rate, 0.06, 6_000.0, 11);
    s.extend(tone(rate, 1_200.0, 0.05, 7_000.0));
    s.extend(tone(rate, 1_600.0, 0.05, 7_000.0));
    s.extend(std::iter::repeat_n(0, (f64::from(rate) * 0.05) as usize));
    Audio::new(rate, s)
}

/// The radio's closing "roger beep" and squelch tail.
pub fn chime_close(rate: u32) -> Audio {
    let mut s: Vec<i16> = std::iter::repeat_n(0, (f64::from(rate) * 0.04) as usize).collect();
    s.extend(tone(rate, 1_000.0, 0.08, 6_000.0));
    s.extend(squelch(rate, 0.08, 5_000.0, 23));
    Audio::new(rate, s)
}

/// Band-limits speech to a radio's 300–3,400 Hz with a touch of compression, so the engineer
/// sounds like a team radio.
pub fn radio_effect(a: &Audio) -> Audio {
    let rate = f64::from(a.sample_rate.max(1));
    let hp_a = (-2.0 * std::f64::consts::PI * 300.0 / rate).exp();
    let lp_a = (-2.0 * std::f64::consts::PI * 3_400.0 / rate).exp();
    let (mut hp_prev_x, mut hp_prev_y, mut lp) = (0.0f64, 0.0f64, 0.0f64);
    let samples = a
        .samples
        .iter()
        .map(|&x| {
            let x = f64::from(x);
            let hp = hp_a * (hp_prev_y + x - hp_prev_x);
            hp_prev_x = x;
            hp_prev_y = hp;
            lp = (1.0 - lp_a) * hp + lp_a * lp;
            // Soft compression.
            let y = lp / 32_768.0;
            clamp16(32_767.0 * (1.6 * y).tanh() * 0.9)
        })
        .collect();
    Audio::new(a.sample_rate, samples)
}

/// A callout wrapped as it is heard: chime, radio-filtered speech, roger beep.
pub fn radio_clip(speech: &Audio) -> Audio {
    let rate = if speech.sample_rate == 0 { PLAYBACK_RATE } else { speech.sample_rate };
    let mut out = chime_open(rate);
    out.append(&radio_effect(speech));
    out.append(&chime_close(rate));
    out
}

/// What the radio did (for logs, the driver UI and tests).
#[derive(Debug, Clone, PartialEq)]
pub enum RadioEvent {
    /// Started playing: the clip was handed to the sink `at` (offset from the radio's start),
    /// `after` the callout was made ([`Callout::created`]: for the spotter, the sim tick).
    Started { id: u64, text: String, priority: Priority, at: Duration, after: Duration },
    /// Played to the end.
    Finished { id: u64, at: Duration },
    /// Stopped by an urgent callout after `played` seconds.
    Interrupted { id: u64, at: Duration, played: f64 },
    /// Never played (expired, replaced, overflow) or not replayed after an interruption.
    Dropped { id: u64, text: String, reason: &'static str },
    /// Synthesis or playback failed.
    Failed { id: u64, error: String },
}

/// Radio settings.
#[derive(Debug, Clone)]
pub struct RadioConfig {
    /// Provider voice name (espeak-ng voice).
    pub voice: String,
    /// Speaking rate 0.5–2.0.
    pub speed: f64,
    /// Add chime and radio filter.
    pub chime: bool,
    pub queue: QueueConfig,
}

impl Default for RadioConfig {
    fn default() -> Self {
        Self { voice: "en-us".into(), speed: 1.1, chime: true, queue: QueueConfig::default() }
    }
}

enum Cmd {
    Say(Callout),
    Done { id: u64, played: f64, interrupted: bool, error: Option<String> },
    Shutdown,
}

/// Handle to the radio thread. Dropping it stops the radio (what is playing is cut).
pub struct Radio {
    tx: Sender<Cmd>,
    events: Arc<Mutex<Vec<RadioEvent>>>,
    thread: Option<JoinHandle<()>>,
    started: Instant,
    state: Arc<Shared>,
}

impl Radio {
    /// Starts the radio with `tts` and `sink`.
    pub fn start(tts: Arc<dyn TtsProvider>, sink: Box<dyn AudioSink>, config: RadioConfig) -> std::io::Result<Radio> {
        let (tx, rx) = mpsc::channel();
        let events = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let state = Arc::new(Shared::default());
        let worker = Worker {
            state: state.clone(),
            rx,
            tx: tx.clone(),
            tts,
            sink: Arc::new(Mutex::new(sink)),
            config,
            events: events.clone(),
            started,
        };
        let thread = std::thread::Builder::new().name("pitbox-radio".into()).spawn(move || worker.run())?;
        Ok(Radio { tx, events, thread: Some(thread), started, state })
    }

    /// Queues a callout (never blocks) and returns its id, the one its [`RadioEvent`]s carry.
    pub fn say(&self, mut callout: Callout) -> u64 {
        let id = self.state.next_id.fetch_add(1, Ordering::AcqRel) + 1;
        callout.id = id;
        self.state.sent.fetch_add(1, Ordering::AcqRel);
        let _ = self.tx.send(Cmd::Say(callout));
        id
    }

    /// Queues `text` at `priority` with the default deadline; returns its id.
    pub fn say_text(&self, text: &str, priority: Priority) -> u64 {
        self.say(Callout::new(text, priority, Instant::now()))
    }

    /// When the radio started (event times are offsets from it).
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Everything that happened so far (not yet taken by [`Radio::take_events`]).
    pub fn events(&self) -> Vec<RadioEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Takes the events that happened since the last call, oldest first. A long-running
    /// radio (the driver agent's) calls this regularly so the record does not grow forever.
    pub fn take_events(&self) -> Vec<RadioEvent> {
        self.events.lock().map(|mut e| std::mem::take(&mut *e)).unwrap_or_default()
    }

    /// Waits until every callout said so far has played, been dropped or failed, up to
    /// `timeout`; returns whether the radio went idle.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let sent = self.state.sent.load(Ordering::Acquire);
            if self.state.received.load(Ordering::Acquire) == sent && self.state.busy.load(Ordering::Acquire) == 0 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Counters shared by the handle and the worker thread.
#[derive(Debug, Default)]
struct Shared {
    /// Callouts sent by the handle.
    sent: AtomicUsize,
    /// Callouts the worker has taken into its queue.
    received: AtomicUsize,
    /// Callouts waiting or playing in the worker.
    busy: AtomicUsize,
    /// The last callout id given out by [`Radio::say`].
    next_id: AtomicU64,
}

impl Drop for Radio {
    fn drop(&mut self) {
        let _ = self.tx.send(Cmd::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Worker {
    rx: Receiver<Cmd>,
    tx: Sender<Cmd>,
    tts: Arc<dyn TtsProvider>,
    sink: Arc<Mutex<Box<dyn AudioSink>>>,
    config: RadioConfig,
    events: Arc<Mutex<Vec<RadioEvent>>>,
    started: Instant,
    state: Arc<Shared>,
}

impl Worker {
    fn log(&self, e: RadioEvent) {
        if let Ok(mut v) = self.events.lock() {
            v.push(e);
        }
    }

    fn log_dropped(&self, q: &mut CalloutQueue) {
        for d in q.take_dropped() {
            let (c, reason) = match d {
                Dropped::Expired(c) => (c, "expired"),
                Dropped::Replaced(c) => (c, "replaced"),
                Dropped::Overflow(c) => (c, "queue full"),
                Dropped::Interrupted(c) => (c, "interrupted"),
            };
            self.log(RadioEvent::Dropped { id: c.id, text: c.text, reason });
        }
    }

    fn run(self) {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                self.log(RadioEvent::Failed { id: 0, error: format!("cannot start the radio's runtime: {e}") });
                return;
            }
        };
        let mut q = CalloutQueue::new(self.config.queue.clone());
        let mut stop: Option<Arc<AtomicBool>> = None;
        loop {
            let now = Instant::now();
            // Start the next callout if the radio is free.
            if let Some(c) = q.next(now) {
                let speech = SpeechRequest {
                    text: c.text.clone(),
                    voice: self.config.voice.clone(),
                    speed: self.config.speed,
                    pitch: None,
                };
                let clip = match &c.clip {
                    // Made beforehand: played as it is.
                    Some(clip) => Ok(Arc::clone(clip)),
                    None => rt
                        .block_on(self.tts.synthesize(&speech))
                        .map(|audio| Arc::new(if self.config.chime { radio_clip(&audio) } else { audio })),
                };
                match clip {
                    Ok(clip) => {
                        let flag = Arc::new(AtomicBool::new(false));
                        stop = Some(flag.clone());
                        let sink = self.sink.clone();
                        let tx = self.tx.clone();
                        let events = self.events.clone();
                        let started = self.started;
                        let label = format!("{}-{}", c.priority, c.text);
                        let id = c.id;
                        std::thread::spawn(move || {
                            let result = match sink.lock() {
                                Ok(mut s) => {
                                    if let Ok(mut v) = events.lock() {
                                        v.push(RadioEvent::Started {
                                            id,
                                            text: c.text.clone(),
                                            priority: c.priority,
                                            at: started.elapsed(),
                                            after: c.created.elapsed(),
                                        });
                                    }
                                    s.play(&clip, &label, &flag)
                                }
                                Err(_) => Err(SinkError::Device("sink lock poisoned".into())),
                            };
                            let interrupted = flag.load(Ordering::Acquire);
                            let (played, error) = match result {
                                Ok(p) => (p, None),
                                Err(e) => (0.0, Some(e.to_string())),
                            };
                            let _ = tx.send(Cmd::Done { id, played, interrupted, error });
                        });
                    }
                    Err(e) => {
                        self.log(RadioEvent::Failed { id: c.id, error: e.to_string() });
                        q.finished(c.id, Instant::now());
                        continue;
                    }
                }
            }
            self.log_dropped(&mut q);
            self.state.busy.store(q.pending().len() + usize::from(q.playing().is_some()), Ordering::Release);
            let wait = q
                .wake_at(Instant::now())
                .map(|t| t.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_millis(200));
            let cmd = match self.rx.recv_timeout(wait.max(Duration::from_millis(1))) {
                Ok(c) => c,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            match cmd {
                Cmd::Say(c) => {
                    let outcome = q.push(c, Instant::now());
                    self.state.busy.store(q.pending().len() + usize::from(q.playing().is_some()), Ordering::Release);
                    self.state.received.fetch_add(1, Ordering::AcqRel);
                    if let PushOutcome::Interrupt { .. } = outcome
                        && let Some(f) = &stop
                    {
                        f.store(true, Ordering::Release);
                    }
                }
                Cmd::Done { id, played, interrupted, error } => {
                    let at = self.started.elapsed();
                    if let Some(error) = error {
                        self.log(RadioEvent::Failed { id, error });
                        q.finished(id, Instant::now());
                    } else if interrupted {
                        self.log(RadioEvent::Interrupted { id, at, played });
                        q.interrupted(id, Instant::now());
                    } else {
                        self.log(RadioEvent::Finished { id, at });
                        q.finished(id, Instant::now());
                    }
                    stop = None;
                }
                Cmd::Shutdown => {
                    if let Some(f) = &stop {
                        f.store(true, Ordering::Release);
                    }
                    break;
                }
            }
        }
    }
}
