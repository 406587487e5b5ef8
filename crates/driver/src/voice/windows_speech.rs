//! Windows' own speech (SAPI, `pitbox_voice::sapi`) for the callouts; elsewhere, the reason it is
//! not there.

use pitbox_voice::TtsProvider;
use std::sync::Arc;

/// Windows speech and the voice to ask it for (PitBox's voice ids mean Windows' default voice;
/// any other id picks the installed voice whose name contains it, e.g. `Zira`).
#[cfg(windows)]
pub(super) fn open(config_voice: &str) -> Result<(Arc<dyn TtsProvider>, String), String> {
    let w = pitbox_voice::sapi::WindowsSpeech::new();
    let found = w.available().map_err(|e| e.to_string())?;
    tracing::info!("callouts: {found}");
    Ok((Arc::new(w), config_voice.to_string()))
}

#[cfg(not(windows))]
pub(super) fn open(_config_voice: &str) -> Result<(Arc<dyn TtsProvider>, String), String> {
    Err("Windows speech is only on Windows".into())
}
