//! The platform's output device for callouts (cpal), or why there is none in this build.

use pitbox_voice::radio::AudioSink;

/// The default output device, or the one `device` names; with its name for the status.
#[cfg(sound_card)]
pub(super) fn sound_card(device: Option<&str>) -> Result<(Box<dyn AudioSink>, String), String> {
    let sink = pitbox_voice::soundcard::CpalSink::open_device(device).map_err(|e| e.to_string())?;
    let name = sink.device_name();
    Ok((Box::new(sink), name))
}

#[cfg(not(sound_card))]
pub(super) fn sound_card(_device: Option<&str>) -> Result<(Box<dyn AudioSink>, String), String> {
    Err("this PitBox was built without the sound-card feature: use --voice-out DIR for WAV files".into())
}
