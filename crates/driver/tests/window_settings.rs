//! The settings of the driver's window (issue 22 §1): `GET`/`PUT /api/settings` written to the
//! agent's `pitbox.toml` (comments and other keys kept) and applied live where they can be,
//! "test voice", and "press your wheel button now" (`POST /api/ptt/capture`) with a simulated
//! joystick (a FIFO speaking the kernel's `js_event` records) and SIGUSR1. Against a real agent
//! over HTTP, with the security table: a foreign Host, a foreign Origin or no key is refused.
// The simulated presses are a FIFO and SIGUSR1: Unix only (Windows' joysticks are polled).
#![cfg(unix)]

mod common;

use common::{header, raw};
use pitbox_driver::api_guard::{ApiKey, KEY_HEADER};
use pitbox_driver::{AgentHandle, CalloutEngine, VoiceSettings};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const CONFIG: &str = "# my settings, by hand\n[driver]\n# where telemetry comes from\nsource = \"sim\"\n# the voice\nvoice_id = \"default\" # the engineer\nvoice_speed = 1.1\n\n[relay]\nlisten = \"127.0.0.1:9\"\n";

async fn agent(data: &Path) -> AgentHandle {
    common::start_agent(data, "127.0.0.1:0".parse().unwrap(), |s| {
        let mut voice = VoiceSettings::wav_dir(data.join("callouts"));
        voice.engine = CalloutEngine::Provider { provider: Arc::new(common::ToneVoice), voice: "tone".into() };
        voice.output = pitbox_driver::CalloutOutput::WavDir { dir: data.join("callouts"), time_scale: 0.0 };
        s.voice = voice;
        s.api_key = Some(ApiKey::load_or_create(data).unwrap());
        s.data_dir = Some(data.to_path_buf());
        s.config_file = Some(data.join("pitbox.toml"));
        s.joystick_dir = Some(data.join("input"));
    })
    .await
    .unwrap()
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_changes_the_voice_and_captures_push_to_talk() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("pitbox.toml"), CONFIG).unwrap();
    std::fs::create_dir_all(data.path().join("input")).unwrap();
    let a = agent(data.path()).await;
    let addr = a.api_addr;
    let host = addr.to_string();
    let window = format!("http://{host}");
    let key = a.api_key.expose().to_string();
    let with_key = [("Host", host.as_str()), (KEY_HEADER, key.as_str())];

    // What the agent runs with, and what it can offer.
    let (code, _, body) = raw(addr, "GET", "/api/settings", &[("Host", &host)], "").await;
    assert_eq!(code, 200, "{body}");
    let v = json(&body);
    let mut s = v["settings"].clone();
    assert_eq!(s["voiceEngine"], "tone");
    assert_eq!(s["voiceId"], "default");
    assert_eq!(s["speed"], 1.1);
    assert_eq!(s["callouts"], serde_json::json!({"voice": false, "spotter": true, "cues": true}));
    assert_eq!(v["configFile"].as_str(), Some(data.path().join("pitbox.toml").to_str().unwrap()));
    assert_eq!(v["restartNeeded"], serde_json::json!([]));
    if !v["devices"]["soundCard"].as_bool().unwrap() {
        assert!(v["devices"]["note"].as_str().unwrap().contains("without the sound-card feature"), "{v}");
    }

    // Who may change them: the key or the window with its cookie.
    let cookie = {
        let (_, headers, _) = raw(addr, "GET", "/", &[("Host", &host)], "").await;
        header(&headers, "set-cookie").and_then(|c| c.split(';').next()).expect("the window's cookie").to_string()
    };
    let evil = format!("evil.example:{}", addr.port());
    s["voiceId"] = "engineer-uk".into();
    let change = s.to_string();
    for (path, body) in [("/api/settings", change.as_str()), ("/api/ptt/capture", "{\"timeoutMs\":100}")] {
        let method = if path == "/api/settings" { "PUT" } else { "POST" };
        for (what, headers, want) in [
            ("no key", vec![("Host", host.as_str())], 401),
            ("a foreign Host (DNS rebinding)", vec![("Host", evil.as_str()), (KEY_HEADER, key.as_str())], 403),
            (
                "a foreign page with the cookie",
                vec![("Host", host.as_str()), ("Origin", "https://evil.example"), ("Cookie", cookie.as_str())],
                403,
            ),
            ("the window without its cookie", vec![("Host", host.as_str()), ("Origin", window.as_str())], 403),
        ] {
            let (code, _, b) = raw(addr, method, path, &headers, body).await;
            assert_eq!(code, want, "{method} {path}, {what}: {b}");
        }
    }
    for (what, headers) in
        [("with a foreign Host", vec![("Host", evil.as_str())]), ("no key", vec![("Host", host.as_str())])]
    {
        let (code, _, b) = raw(addr, "POST", "/api/settings/test-voice", &headers, "").await;
        assert!(code == 401 || code == 403, "test voice {what}: {code} {b}");
    }
    assert_eq!(std::fs::read_to_string(data.path().join("pitbox.toml")).unwrap(), CONFIG, "a refusal wrote");

    // Every broken rule at once.
    let mut bad = s.clone();
    bad["voiceEngine"] = "sam".into();
    bad["speed"] = 3.0.into();
    bad["sensitivity"] = (-1.0).into();
    bad["ptt"] = serde_json::json!(["mouse:1"]);
    let (code, _, body) = raw(addr, "PUT", "/api/settings", &with_key, &bad.to_string()).await;
    assert_eq!(code, 422, "{body}");
    let errors = json(&body)["errors"].clone();
    let fields: Vec<&str> = errors.as_array().unwrap().iter().filter_map(|e| e.as_str()?.split(':').next()).collect();
    assert_eq!(fields, ["voiceEngine", "speed", "sensitivity", "ptt[0]"], "{errors}");
    let (code, _, body) = raw(addr, "PUT", "/api/settings", &with_key, r#"{"voiceId":"x"}"#).await;
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("missing field"), "{body}");

    // The voice off: "test voice" says so.
    let (code, _, body) = raw(addr, "POST", "/api/settings/test-voice", &with_key, "").await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("the voice is off"), "{body}");

    // Saved from the window: the file keeps its comments and other keys; voice, speed and the
    // callouts switch apply at once, the engine after a restart.
    s["callouts"]["voice"] = true.into();
    s["speed"] = 1.4.into();
    s["voiceEngine"] = "espeak-ng".into();
    let (code, _, body) =
        raw(addr, "PUT", "/api/settings", &[("Host", &host), ("Origin", &window), ("Cookie", &cookie)], &s.to_string())
            .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["restartNeeded"], serde_json::json!(["voiceEngine"]));
    let text = std::fs::read_to_string(data.path().join("pitbox.toml")).unwrap();
    for kept in [
        "# my settings, by hand\n",
        "# where telemetry comes from\nsource = \"sim\"\n",
        "# the voice\nvoice_id = \"engineer-uk\" # the engineer\n",
        "[relay]\nlisten = \"127.0.0.1:9\"\n",
    ] {
        assert!(text.contains(kept), "{kept:?} lost:\n{text}");
    }
    let t: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(t["driver"]["voice_speed"].as_float(), Some(1.4));
    assert_eq!(t["driver"]["voice_engine"].as_str(), Some("espeak-ng"));
    assert_eq!(t["driver"]["voice_enabled"].as_bool(), Some(true));
    let (_, _, body) = raw(addr, "GET", "/api/config", &[("Host", &host)], "").await;
    assert_eq!(
        json(&body)["voice"],
        serde_json::json!({"enabled": true, "sensitivity": 0.5, "voiceId": "engineer-uk"})
    );
    let (_, _, body) = raw(addr, "GET", "/api/settings", &[("Host", &host)], "").await;
    assert_eq!(json(&body)["settings"], s, "GET shows what was saved");

    // "Test voice" speaks with the running engine, the new voice and speed.
    let (code, _, body) = raw(addr, "POST", "/api/settings/test-voice", &with_key, "").await;
    assert_eq!(code, 200, "{body}");
    let v = json(&body);
    assert_eq!(
        (v["engine"].as_str(), v["voiceId"].as_str(), v["speed"].as_f64()),
        (Some("tone"), Some("engineer-uk"), Some(1.4))
    );
    let id = v["calloutId"].as_u64().unwrap();
    let (_, _, log) = raw(addr, "GET", "/api/voice/log", &[("Host", &host)], "").await;
    let log = json(&log);
    assert!(
        log["callouts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"].as_u64() == Some(id) && c["text"].as_str().unwrap().starts_with("Radio check")),
        "{log}"
    );

    // "Press your wheel button now": a joystick (a FIFO, as the kernel's device would speak).
    let js = data.path().join("input/js0");
    assert!(std::process::Command::new("mkfifo").arg(&js).status().unwrap().success());
    let capture = tokio::spawn({
        let key = key.clone();
        let host = host.clone();
        async move { raw(addr, "POST", "/api/ptt/capture", &[("Host", &host), (KEY_HEADER, &key)], "{}").await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (code, _, body) = raw(addr, "POST", "/api/ptt/capture", &with_key, "").await;
    assert_eq!(code, 409, "a second capture at once: {body}");
    let records = [
        // The state at open (button 2 held) is not a press; then button 5 goes down.
        pitbox_voice::buttons::JsEvent { time_ms: 1, value: 1, button: true, init: true, number: 2 },
        pitbox_voice::buttons::JsEvent { time_ms: 2, value: 1, button: true, init: false, number: 5 },
    ];
    let js_w = js.clone();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().write(true).open(&js_w).unwrap();
        for r in records {
            f.write_all(&r.to_bytes()).unwrap();
        }
    })
    .await
    .unwrap();
    let (code, _, body) = tokio::time::timeout(Duration::from_secs(15), capture).await.unwrap().unwrap();
    assert_eq!(code, 200, "{body}");
    let binding = json(&body)["binding"].as_str().unwrap().to_string();
    assert_eq!(binding, format!("joystick:{}:5", js.display()));

    // And SIGUSR1 (key binders): the binding is `signal`. Nobody pressing: said, not an error.
    std::fs::remove_file(&js).unwrap();
    let _keep = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()).unwrap();
    let capture = tokio::spawn({
        let key = key.clone();
        let host = host.clone();
        async move { raw(addr, "POST", "/api/ptt/capture", &[("Host", &host), (KEY_HEADER, &key)], "").await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        std::process::Command::new("kill").args(["-USR1", &std::process::id().to_string()]).status().unwrap().success()
    );
    let (code, _, body) = tokio::time::timeout(Duration::from_secs(15), capture).await.unwrap().unwrap();
    assert_eq!((code, json(&body)["binding"].as_str()), (200, Some("signal")), "{body}");
    let (code, _, body) = raw(addr, "POST", "/api/ptt/capture", &with_key, r#"{"timeoutMs":200}"#).await;
    assert_eq!(code, 200, "{body}");
    assert!(json(&body)["binding"].is_null() && body.contains("no button was pressed"), "{body}");
    let (code, _, body) = raw(addr, "POST", "/api/ptt/capture", &with_key, r#"{"timeoutMs":60000}"#).await;
    assert_eq!(code, 422, "{body}");

    // Saved with the settings; the test shows the last press (refused here: no microphone).
    s["ptt"] = serde_json::json!([binding, "signal"]);
    let (code, _, body) = raw(addr, "PUT", "/api/settings", &with_key, &s.to_string()).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["restartNeeded"], serde_json::json!(["voiceEngine", "ptt"]));
    let t: toml::Table = toml::from_str(&std::fs::read_to_string(data.path().join("pitbox.toml")).unwrap()).unwrap();
    assert_eq!(t["driver"]["ptt"].as_array().unwrap().len(), 2);
    let (code, _, _) = raw(addr, "POST", "/api/voice/ptt", &with_key, r#"{"pressed":true}"#).await;
    assert_eq!(code, 503);
    let (_, _, body) = raw(addr, "GET", "/api/ptt/test", &[("Host", &host)], "").await;
    let v = json(&body);
    assert_eq!(v["lastPress"]["pressed"], true, "{v}");
    assert!(v["lastPress"]["refused"].as_str().unwrap().contains("--voice-in mic"), "{v}");
    a.shutdown().await;
}

/// Video on the Settings screen (issue 24: "choose the monitor or window in the driver's
/// settings"): what it captures, its size, rate, bitrate and encoder, and whether it is sent from
/// the start. Saved to the flags' keys; applied at once while video is not running, after a
/// restart once it is; a save without video leaves the file's video keys alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_chooses_what_video_captures() {
    use pitbox_driver::video::{VideoPlan, VideoSettings, VideoSource};
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("pitbox.toml"), CONFIG).unwrap();
    let plan = VideoPlan {
        settings: VideoSettings {
            width: 640,
            height: 360,
            fps: 15,
            bitrate_bps: 500_000,
            encoder: pitbox_video::EncoderChoice::Software,
            ..VideoSettings::new(VideoSource::TestPattern)
        },
        at_start: false,
    };
    let a = common::start_agent(data.path(), "127.0.0.1:0".parse().unwrap(), |s| {
        s.api_key = Some(ApiKey::load_or_create(data.path()).unwrap());
        s.config_file = Some(data.path().join("pitbox.toml"));
        s.video = Some(plan.clone());
    })
    .await
    .unwrap();
    let addr = a.api_addr;
    let host = addr.to_string();
    let key = a.api_key.expose().to_string();
    let with_key = [("Host", host.as_str()), (KEY_HEADER, key.as_str())];

    let (code, _, body) = raw(addr, "GET", "/api/settings", &[("Host", &host)], "").await;
    assert_eq!(code, 200, "{body}");
    let v = json(&body);
    assert_eq!(
        v["settings"]["video"],
        serde_json::json!({"capture": "test-pattern", "atStart": false, "size": "640x360", "fps": 15,
            "bitrate": 500_000, "encoder": "software"})
    );
    // Off Windows nothing can be captured, and the screen is told why.
    assert_eq!(v["videoTargets"]["windows"], serde_json::json!([]), "{v}");
    assert_eq!(v["videoTargets"]["monitors"], serde_json::json!([]), "{v}");
    assert!(v["videoTargets"]["note"].as_str().unwrap().contains("Windows only"), "{v}");
    assert!(a.shared.video.get().is_none(), "not sent before the driver turns it on");

    // A window here: refused with the field named, nothing written.
    let mut s = v["settings"].clone();
    s["video"]["capture"] = "window:iRacing.com Simulator".into();
    s["video"]["fps"] = 90.into();
    let (code, _, body) = raw(addr, "PUT", "/api/settings", &with_key, &s.to_string()).await;
    assert_eq!(code, 422, "{body}");
    let errors = json(&body)["errors"].clone();
    let fields: Vec<&str> = errors.as_array().unwrap().iter().filter_map(|e| e.as_str()?.split(':').next()).collect();
    assert_eq!(fields, ["video.capture", "video.fps"], "{errors}");
    assert_eq!(std::fs::read_to_string(data.path().join("pitbox.toml")).unwrap(), CONFIG);

    // Saved while video is off: in use at once, and written to the flags' keys.
    s["video"]["capture"] = "test-pattern".into();
    s["video"]["fps"] = 10.into();
    s["video"]["size"] = "960x540".into();
    let (code, _, body) = raw(addr, "PUT", "/api/settings", &with_key, &s.to_string()).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["restartNeeded"], serde_json::json!([]), "{body}");
    let t: toml::Table = toml::from_str(&std::fs::read_to_string(data.path().join("pitbox.toml")).unwrap()).unwrap();
    assert_eq!(t["driver"]["video_capture"].as_str(), Some("test-pattern"));
    assert_eq!(t["driver"]["video_size"].as_str(), Some("960x540"));
    assert_eq!(t["driver"]["video_fps"].as_integer(), Some(10));
    assert!(t["driver"].get("video").is_none(), "not sent from the start");
    let (code, _, body) = raw(addr, "POST", "/api/video", &with_key, r#"{"send":true}"#).await;
    assert_eq!(code, 200, "{body}");
    let video = json(&body)["video"].clone();
    assert_eq!((video["size"].as_str(), video["fps"].as_u64()), (Some("960x540"), Some(10)), "{video}");

    // Once it runs, a change waits for a restart; so does sending from the start.
    s["video"]["fps"] = 20.into();
    s["video"]["atStart"] = true.into();
    let (code, _, body) = raw(addr, "PUT", "/api/settings", &with_key, &s.to_string()).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["restartNeeded"], serde_json::json!(["video.atStart", "video"]), "{body}");
    let t: toml::Table = toml::from_str(&std::fs::read_to_string(data.path().join("pitbox.toml")).unwrap()).unwrap();
    assert_eq!(t["driver"]["video"].as_str(), Some("test-pattern"));

    // A save without video (an older window) keeps the file's video keys.
    s.as_object_mut().unwrap().remove("video");
    let (code, _, body) = raw(addr, "PUT", "/api/settings", &with_key, &s.to_string()).await;
    assert_eq!(code, 200, "{body}");
    let t: toml::Table = toml::from_str(&std::fs::read_to_string(data.path().join("pitbox.toml")).unwrap()).unwrap();
    assert_eq!(t["driver"]["video_fps"].as_integer(), Some(20));
    assert_eq!(t["driver"]["video"].as_str(), Some("test-pattern"));
    a.shutdown().await;

    // Sent from the start: running as soon as the agent is.
    let b = common::start_agent(data.path(), "127.0.0.1:0".parse().unwrap(), |s| {
        s.video = Some(VideoPlan { at_start: true, ..plan });
    })
    .await
    .unwrap();
    let running = b.shared.video.get().expect("video runs from the start");
    assert_eq!(running.settings().fps, 15);
    b.shutdown().await;
}
