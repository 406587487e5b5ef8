//! The synthesis service's validation (the cloud's 400s), cache key and offline synthesis, and
//! the `say`/`listen` CLI.

use pitbox_model::Priority;
use pitbox_model::rest::VoiceSynthesizeRequest;
use pitbox_testkit::skip;
use pitbox_voice::cli::{ListenArgs, SayArgs, VoiceArgs, VoiceSubcommand, run};
use pitbox_voice::service::{SynthesizeError, VoiceService};
use pitbox_voice::tts::EspeakNg;

fn req(text: &str, voice: &str, speed: f64) -> VoiceSynthesizeRequest {
    VoiceSynthesizeRequest { text: text.into(), voice_id: voice.into(), speed, priority: Priority::High }
}

fn errors(svc: &VoiceService, r: &VoiceSynthesizeRequest) -> Vec<String> {
    match svc.validate(r) {
        Err(e @ SynthesizeError::Invalid(_)) => {
            assert!(e.is_client_error());
            e.field_errors().iter().map(|f| f.to_string()).collect()
        }
        other => panic!("expected invalid, got {other:?}"),
    }
}

#[test]
fn bad_requests_get_precise_errors() {
    let svc = VoiceService::offline();
    assert_eq!(errors(&svc, &req("", "engineer", 1.0)), ["text: must not be empty"]);
    assert_eq!(errors(&svc, &req("   ", "engineer", 1.0)), ["text: must not be empty"]);
    assert_eq!(
        errors(&svc, &req(&"a".repeat(1_001), "engineer", 1.0)),
        ["text: must be at most 1000 characters, got 1001"]
    );
    assert_eq!(
        errors(&svc, &req("hi", "robot", 1.0)),
        [
            "voiceId: unknown voice `robot`, expected one of: engineer, engineer-uk, engineer-f, engineer-uk-f, engineer-scot, engineer-deep"
        ]
    );
    assert_eq!(errors(&svc, &req("hi", "engineer", 2.5)), ["speed: must be between 0.5 and 2, got 2.5"]);
    assert_eq!(errors(&svc, &req("hi", "engineer", f64::NAN)), ["speed: must be a finite number, got NaN"]);
    assert_eq!(
        errors(&svc, &req("", "a b", 0.1)),
        [
            "text: must not be empty",
            "voiceId: must contain only letters, digits, '-', '_', '.', ':' or '@'",
            "speed: must be between 0.5 and 2, got 0.1"
        ]
    );
    assert_eq!(errors(&svc, &req("bell\u{7}", "engineer", 1.0)), ["text: must not contain control characters"]);
    assert!(svc.validate(&req(&"a".repeat(1_000), "engineer-f", 0.5)).is_ok());
}

#[tokio::test]
async fn offline_synthesis_makes_wav_with_its_duration() {
    if let Err(e) = EspeakNg::new().available() {
        skip("offline_synthesis_makes_wav_with_its_duration", &e.to_string());
        return;
    }
    let svc = VoiceService::offline();
    let out = svc.synthesize(&req("Box this lap, box this lap.", "engineer-uk", 1.0)).await.unwrap();
    let a = pitbox_voice::Audio::from_wav(&out.wav).unwrap();
    assert_eq!(a.sample_rate, 22_050);
    assert!((a.duration() - out.duration).abs() < 1e-9);
    assert!(out.duration > 0.8 && out.duration < 4.0, "{}", out.duration);
    // Faster speech is shorter.
    let fast = svc.synthesize(&req("Box this lap, box this lap.", "engineer-uk", 2.0)).await.unwrap();
    assert!(fast.duration < out.duration * 0.75, "{} vs {}", fast.duration, out.duration);
    assert_ne!(fast.cache_key, out.cache_key);
    // Text is never read as an option.
    let dash = svc.synthesize(&req("--help", "engineer", 1.0)).await.unwrap();
    assert!(dash.duration > 0.2);
}

/// `voice say --engine windows`: Windows' own speech into a WAV file on Windows, or the reason it
/// cannot speak (wine 8 cannot speak into memory); elsewhere a plain refusal.
#[test]
fn say_with_windows_speech_speaks_or_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("sapi.wav");
    let r = run(VoiceArgs {
        command: VoiceSubcommand::Say(SayArgs {
            text: "box this lap".into(),
            output: Some(wav.clone()),
            audio_out: None,
            voice: "engineer-uk".into(),
            speed: 1.0,
            radio: true,
            engine: "windows".into(),
            device: None,
        }),
    });
    match r {
        Ok(()) if !cfg!(windows) => panic!("only Windows has Windows speech"),
        Ok(()) => {
            let a = pitbox_voice::Audio::from_wav(&std::fs::read(&wav).unwrap()).unwrap();
            assert!(a.duration() > 0.3 && a.rms() > 100.0, "speech, not silence: {} s", a.duration());
        }
        Err(e) if cfg!(windows) => {
            let m = format!("{e:#}");
            assert!(m.starts_with("Windows speech cannot speak here: "), "{m}");
            skip("say_with_windows_speech_speaks_or_says_why", &m);
        }
        Err(e) => assert_eq!(e.to_string(), "Windows speech is only on Windows: use --engine espeak-ng"),
    }
}

#[test]
fn say_then_listen_round_trip() {
    if let Err(e) = EspeakNg::new().available() {
        skip("say_then_listen_round_trip", &e.to_string());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("cmd.wav");
    run(VoiceArgs {
        command: VoiceSubcommand::Say(SayArgs {
            text: "radio check".into(),
            output: Some(wav.clone()),
            audio_out: None,
            voice: "engineer".into(),
            speed: 1.0,
            radio: false,
            engine: "espeak-ng".into(),
            device: None,
        }),
    })
    .unwrap();
    assert!(pitbox_voice::Audio::from_wav(&std::fs::read(&wav).unwrap()).unwrap().duration() > 0.3);
    // Through the radio into a folder.
    let out = dir.path().join("radio");
    run(VoiceArgs {
        command: VoiceSubcommand::Say(SayArgs {
            text: "fuel for ten laps".into(),
            output: None,
            audio_out: Some(out.clone()),
            voice: "engineer-f".into(),
            speed: 1.2,
            radio: false,
            engine: "espeak-ng".into(),
            device: None,
        }),
    })
    .unwrap();
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
    // Bad input is refused with a precise message.
    let e = run(VoiceArgs {
        command: VoiceSubcommand::Say(SayArgs {
            text: "hi".into(),
            output: Some(wav.clone()),
            audio_out: None,
            voice: "engineer".into(),
            speed: 3.0,
            radio: false,
            engine: "espeak-ng".into(),
            device: None,
        }),
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "--speed must be between 0.5 and 2.0, got 3");
    if let Err(e) = pitbox_voice::sphinx::availability() {
        skip("say_then_listen_round_trip (listen part)", &e.to_string());
        return;
    }
    run(VoiceArgs { command: VoiceSubcommand::Listen(ListenArgs { file: wav.clone(), json: true }) }).unwrap();
    // A file that is not WAV.
    std::fs::write(&wav, b"not audio").unwrap();
    let e = run(VoiceArgs { command: VoiceSubcommand::Listen(ListenArgs { file: wav, json: false }) }).unwrap_err();
    assert!(format!("{e:#}").contains("truncated WAV file"), "{e:#}");
}
