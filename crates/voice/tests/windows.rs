//! Windows' own speech (SAPI) and the sound card (cpal: WASAPI) in the default Windows build.
//! Where the machine (or wine) has no SAPI voice or no audio device, each test prints
//! `SKIP <name>: <why>` and returns: it did not run.
#![cfg(windows)]

use pitbox_testkit::skip;
use pitbox_voice::radio::AudioSink;
use pitbox_voice::sapi::WindowsSpeech;
use pitbox_voice::{Audio, SpeechRequest, TtsError, TtsProvider};

#[test]
fn windows_speech_speaks_into_memory_at_the_requested_rate() {
    let w = WindowsSpeech::new();
    let found = match w.available() {
        Ok(f) => f,
        Err(e) => {
            // Under wine 8: a voice is listed, but ISpStream::SetBaseStream is not implemented.
            let voices = w.voices().map(|v| v.len()).unwrap_or(0);
            skip(
                "windows_speech_speaks_into_memory_at_the_requested_rate",
                &format!("Windows speech cannot speak here ({voices} voice(s) listed): {e}"),
            );
            return;
        }
    };
    eprintln!("{found}");
    let slow = w.synthesize_blocking(&SpeechRequest { speed: 0.7, ..SpeechRequest::new("box this lap", "default") });
    let fast = w.synthesize_blocking(&SpeechRequest { speed: 1.6, ..SpeechRequest::new("box this lap", "default") });
    let (slow, fast) = (slow.expect("speaks slowly"), fast.expect("speaks fast"));
    assert_eq!(slow.sample_rate, pitbox_voice::audio::PLAYBACK_RATE);
    assert!(slow.duration() > 0.3 && slow.rms() > 100.0, "speech, not silence: {} s", slow.duration());
    assert!(slow.duration() > fast.duration() * 1.3, "{} s vs {} s", slow.duration(), fast.duration());
    // Plain text: markup is spoken as text, never obeyed.
    let xml = w.synthesize_blocking(&SpeechRequest::new("<silence msec=\"5000\"/> box", "default")).expect("speaks");
    assert!(xml.duration() < 4.0, "{} s: the XML was obeyed", xml.duration());
    // A voice that is not installed is a clear error.
    match w.synthesize_blocking(&SpeechRequest::new("box", "no-such-voice-anywhere")) {
        Err(TtsError::Invalid(m)) => assert!(m.contains("no-such-voice-anywhere"), "{m}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let via_trait = tokio_check(&w).expect("the provider speaks");
    assert!(via_trait.rms() > 100.0);
}

/// The provider trait answers like the blocking call.
fn tokio_check(w: &WindowsSpeech) -> Result<Audio, TtsError> {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    rt.block_on(w.synthesize(&SpeechRequest::new("radio check", "default")))
}

#[test]
fn the_sound_card_is_in_the_default_windows_build() {
    // Compiles only because cpal is a Windows dependency without any cargo feature.
    match pitbox_voice::soundcard::CpalSink::open() {
        Ok(mut sink) => {
            let stop = std::sync::atomic::AtomicBool::new(false);
            let played = sink.play(&Audio::silence(22_050, 0.2), "windows-test", &stop);
            assert!(played.is_ok(), "{played:?}");
        }
        Err(e) => skip(
            "the_sound_card_is_in_the_default_windows_build",
            &format!("no output device here ({e}); the WASAPI sink is built but did not play"),
        ),
    }
}

#[test]
fn a_named_device_that_is_not_there_is_refused_with_the_choices() {
    use pitbox_voice::radio::SinkError;
    use pitbox_voice::soundcard::{CpalMicrophone, CpalSink, input_devices, output_devices};
    let (outputs, inputs) = match (output_devices(), input_devices()) {
        (Ok(o), Ok(i)) => (o, i),
        (o, i) => {
            skip(
                "a_named_device_that_is_not_there_is_refused_with_the_choices",
                &format!("the devices cannot be listed here: output {o:?}, input {i:?}"),
            );
            return;
        }
    };
    eprintln!("output devices {outputs:?}, input devices {inputs:?}");
    match CpalSink::open_device(Some("no such device pitbox")) {
        Err(SinkError::Device(m)) => {
            assert!(m.starts_with("no output device named like `no such device pitbox`"), "{m}");
            for name in &outputs {
                assert!(m.contains(name.as_str()), "{m} lists {name}");
            }
        }
        other => panic!("expected a device error, got {:?}", other.map(|s| s.device_name())),
    }
    match CpalMicrophone::open_device(Some("no such device pitbox")) {
        Err(SinkError::Device(m)) => {
            assert!(m.starts_with("no input device named like `no such device pitbox`"), "{m}")
        }
        other => panic!("expected a device error, got {:?}", other.map(|m| m.device_name().to_string())),
    }
    // A device that is there opens by a part of its name.
    if let Some(first) = outputs.first().filter(|n| !n.is_empty()) {
        match CpalSink::open_device(Some(first)) {
            Ok(s) => assert_eq!(&s.device_name(), first),
            Err(e) => eprintln!("{first} is listed but does not open: {e}"),
        }
    }
}

#[test]
fn windows_voices_are_chosen_by_language_and_listed_with_their_attributes() {
    let w = WindowsSpeech::new();
    let installed = match w.installed() {
        Ok(v) => v,
        Err(e) => {
            skip("windows_voices_are_chosen_by_language_and_listed_with_their_attributes", &format!("{e}"));
            return;
        }
    };
    eprintln!("installed Windows voices: {installed:?}");
    // PitBox's ids always find a voice (the closest one, or Windows' default), never an error.
    for id in ["engineer", "engineer-uk", "engineer-f", "engineer-uk-f", "engineer-scot", "engineer-deep", "en-GB"] {
        let (name, note) = w.voice_for(id).expect("a PitBox id always has a voice");
        eprintln!("{id}: {name} {note:?}");
        assert!(!name.is_empty());
    }
    match w.voice_for("no-such-voice-anywhere") {
        Err(TtsError::Invalid(m)) => {
            assert!(m.starts_with("Windows speech has no voice named like `no-such-voice-anywhere`"), "{m}");
            for v in &installed {
                assert!(m.contains(&v.description), "{m} lists {}", v.description);
            }
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}
