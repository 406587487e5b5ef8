//! WAV input: a file or a folder polled for utterances, each heard once as a voice command.

use super::log::push_bounded;
use super::{CommandEntry, Job, VoiceInput, Worker};
use pitbox_voice::Audio;
use std::path::{Path, PathBuf};

/// Largest WAV accepted for one voice command.
pub const MAX_COMMAND_WAV_BYTES: usize = 10 * 1024 * 1024;

impl Worker {
    /// New files of the WAV input, each heard once (after the first telemetry sample).
    pub(super) fn poll_wav_input(&mut self) {
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
}

fn read_wav(f: &Path) -> Result<Audio, String> {
    let meta = std::fs::metadata(f).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() as usize > MAX_COMMAND_WAV_BYTES {
        return Err(format!("{} bytes is more than the {} accepted", meta.len(), MAX_COMMAND_WAV_BYTES));
    }
    let bytes = std::fs::read(f).map_err(|e| format!("cannot read: {e}"))?;
    Audio::from_wav(&bytes).map_err(|e| format!("not a usable WAV file: {e}"))
}
