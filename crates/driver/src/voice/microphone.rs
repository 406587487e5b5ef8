//! The microphone thread: push-to-talk capture decoded while the button is held (cargo feature
//! `sound-card`), sent to the worker as already-recognised commands.

use super::{Job, PttSender, VoiceStatus};
use crate::state::Shared;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, mpsc};
#[cfg(sound_card)]
use {
    super::warm_up,
    pitbox_voice::{CommandRecognizer, RecognizerConfig},
    std::sync::atomic::Ordering,
    std::time::Duration,
};

#[cfg(sound_card)]
pub(super) fn start_microphone(
    shared: &Arc<Shared>,
    device: Option<String>,
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
        let mic = match pitbox_voice::soundcard::CpalMicrophone::open_device(device.as_deref()) {
            Ok(m) => {
                set(format!("microphone: {}", m.device_name()));
                m
            }
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

#[cfg(not(sound_card))]
pub(super) fn start_microphone(
    _shared: &Arc<Shared>,
    _device: Option<String>,
    _jobs: mpsc::Sender<Job>,
    _stop: Arc<AtomicBool>,
    _status: Arc<Mutex<VoiceStatus>>,
) -> std::io::Result<PttSender> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "the microphone needs PitBox built with the sound-card feature (cargo build --features pitbox-driver/sound-card)",
    ))
}
