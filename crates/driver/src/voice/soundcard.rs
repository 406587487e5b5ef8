//! The platform's output device for callouts (cpal), or why there is none in this build.

use pitbox_voice::radio::AudioSink;

#[cfg(sound_card)]
pub(super) fn sound_card() -> Result<Box<dyn AudioSink>, String> {
    pitbox_voice::soundcard::CpalSink::open().map(|s| Box::new(s) as Box<dyn AudioSink>).map_err(|e| e.to_string())
}

#[cfg(not(sound_card))]
pub(super) fn sound_card() -> Result<Box<dyn AudioSink>, String> {
    Err("this PitBox was built without the sound-card feature: use --voice-out DIR for WAV files".into())
}
