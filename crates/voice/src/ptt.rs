//! Push-to-talk and microphone capture, as traits the driver agent fills in:
//!
//! - [`PushToTalk`] yields press/release events. [`ChannelPtt`] is driven by any source the agent
//!   wires up — a keyboard key or wheel button (on Windows via the agent's input hook), a Unix
//!   signal handler, a local API call — through its [`PttSender`].
//! - [`Microphone`] yields 16-bit mono samples. [`WavMicrophone`] replays a file (tests, demos);
//!   `soundcard::CpalMicrophone` captures from the sound card (cargo feature `sound-card`).
//! - [`CommandListener`] records while the button is held, decoding as the audio arrives, and
//!   returns the recognition when it is released.

use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use crate::audio::{Audio, RECOGNITION_RATE};
use crate::sphinx::{CommandRecognizer, Recognition, RecognizerError};

/// A push-to-talk edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PttEvent {
    Pressed,
    Released,
}

/// A source of push-to-talk events.
pub trait PushToTalk: Send {
    /// The next event within `timeout`, or `None`.
    fn next_event(&mut self, timeout: Duration) -> Option<PttEvent>;
}

/// Push-to-talk fed through a channel.
#[derive(Debug)]
pub struct ChannelPtt {
    rx: Receiver<PttEvent>,
}

/// The sending side of a [`ChannelPtt`] (clone it into key hooks, signal handlers …).
#[derive(Debug, Clone)]
pub struct PttSender(Sender<PttEvent>);

impl PttSender {
    /// The button went down.
    pub fn press(&self) {
        let _ = self.0.send(PttEvent::Pressed);
    }

    /// The button came up.
    pub fn release(&self) {
        let _ = self.0.send(PttEvent::Released);
    }
}

impl ChannelPtt {
    /// A push-to-talk and its sender.
    pub fn new() -> (ChannelPtt, PttSender) {
        let (tx, rx) = mpsc::channel();
        (ChannelPtt { rx }, PttSender(tx))
    }
}

impl PushToTalk for ChannelPtt {
    fn next_event(&mut self, timeout: Duration) -> Option<PttEvent> {
        self.rx.recv_timeout(timeout).ok()
    }
}

/// A source of microphone samples.
pub trait Microphone: Send {
    /// Samples per second of what [`Microphone::read`] returns.
    fn sample_rate(&self) -> u32;
    /// Appends the samples captured since the last call (waiting up to `max_wait` for some).
    fn read(&mut self, out: &mut Vec<i16>, max_wait: Duration) -> std::io::Result<()>;
}

/// Replays a recording as if it came from a microphone, in chunks of 100 ms (then silence).
#[derive(Debug, Clone)]
pub struct WavMicrophone {
    audio: Audio,
    at: usize,
}

impl WavMicrophone {
    /// A microphone that "hears" `audio`.
    pub fn new(audio: Audio) -> Self {
        Self { audio, at: 0 }
    }
}

impl Microphone for WavMicrophone {
    fn sample_rate(&self) -> u32 {
        self.audio.sample_rate
    }

    fn read(&mut self, out: &mut Vec<i16>, _max_wait: Duration) -> std::io::Result<()> {
        let chunk = (self.audio.sample_rate / 10) as usize;
        let end = (self.at + chunk).min(self.audio.samples.len());
        if self.at < end {
            out.extend_from_slice(&self.audio.samples[self.at..end]);
        } else {
            out.extend(std::iter::repeat_n(0, chunk));
        }
        self.at = end;
        Ok(())
    }
}

/// Longest utterance recorded while the button is held (a stuck button must not record forever).
pub const MAX_UTTERANCE: Duration = Duration::from_secs(8);

/// Records between press and release and recognises the command.
pub struct CommandListener<P: PushToTalk, M: Microphone> {
    pub recognizer: CommandRecognizer,
    pub ptt: P,
    pub mic: M,
}

/// One push-to-talk turn.
#[derive(Debug, Clone)]
pub struct Heard {
    pub recognition: Recognition,
    /// From release to result, seconds (the latency the driver feels).
    pub latency_after_release: f64,
}

impl<P: PushToTalk, M: Microphone> CommandListener<P, M> {
    /// Waits up to `wait` for a press, records until release (or [`MAX_UTTERANCE`]) feeding the
    /// decoder as audio arrives, and returns what was said; `None` when nobody pressed.
    pub fn listen_once(&mut self, wait: Duration) -> Result<Option<Heard>, RecognizerError> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            if self.ptt.next_event(left) == Some(PttEvent::Pressed) {
                break;
            }
        }
        let rate = self.mic.sample_rate();
        self.recognizer.start()?;
        let started = Instant::now();
        let mut total = 0usize;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if self.mic.read(&mut buf, Duration::from_millis(50)).is_err() {
                break;
            }
            total += buf.len();
            let chunk = if rate == RECOGNITION_RATE {
                std::mem::take(&mut buf)
            } else {
                Audio::new(rate, std::mem::take(&mut buf)).resample(RECOGNITION_RATE).samples
            };
            self.recognizer.feed(&chunk)?;
            if self.ptt.next_event(Duration::ZERO) == Some(PttEvent::Released) || started.elapsed() >= MAX_UTTERANCE {
                break;
            }
        }
        let released = Instant::now();
        let recognition = self.recognizer.finish(total as f64 / f64::from(rate.max(1)))?;
        Ok(Some(Heard { recognition, latency_after_release: released.elapsed().as_secs_f64() }))
    }
}
