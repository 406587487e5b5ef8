//! The agent's voice end to end: with the simulator as source, a recorded "fuel status" (made
//! with espeak-ng) fed to the agent yields a spoken answer stating the fuel the telemetry shows;
//! received messages are called out; box and handoff commands reach the relay; "cancel pit stop"
//! clears the pit wall's stop in the sim and tells the team; a missing speech engine leaves
//! callouts as text. Tests needing espeak-ng or PocketSphinx skip plainly without
//! them (scripts/setup-voice installs both).

mod common;
use axum::extract::State;
use axum::extract::ws::{Message as Ws, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use pitbox_driver::voice::{CalloutOrigin, CalloutState, HandoffTarget};
use pitbox_driver::{AgentHandle, AgentSettings, CalloutEngine, CalloutOutput, VoiceInput, VoiceSettings, start};
use pitbox_model::coaching::AiCoaching;
use pitbox_model::control::AuthenticationResult;
use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
use pitbox_model::team::{HandoffRequest, TeamMessage};
use pitbox_model::{HandoffStatus, Message, Priority, Urgency, UserRole};
use pitbox_sources::live::LiveOptions;
use pitbox_sources::sim::output::LivePace;
use pitbox_sources::sim::source::SimSource;
use pitbox_sources::sim::{SimConfig, track};
use pitbox_testkit::skip;
use pitbox_voice::tts::SpeechRequest;
use pitbox_voice::{Audio, EspeakNg};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A stand-in relay: authenticates, sends `to_send` after authentication, records what it gets.
#[derive(Clone)]
struct Relay {
    got: Arc<Mutex<Vec<Message>>>,
    to_send: Arc<Vec<Message>>,
}

async fn ws(up: WebSocketUpgrade, State(r): State<Relay>) -> Response {
    up.on_upgrade(move |s| session(s, r))
}

async fn session(mut s: WebSocket, r: Relay) {
    while let Some(Ok(Ws::Text(t))) = s.recv().await {
        let Ok(m) = pitbox_model::decode(t.as_bytes()) else { continue };
        if let Message::Authenticate(_) = &m {
            let ok = Message::AuthenticationResult(AuthenticationResult {
                success: true,
                user_id: Some("driver-1".into()),
                role: Some(UserRole::Driver),
                team_id: Some("team-1".into()),
                reason: None,
            });
            let _ = s.send(Ws::Text(ok.to_json().into())).await;
            for m in r.to_send.iter() {
                let _ = s.send(Ws::Text(m.to_json().into())).await;
            }
        }
        r.got.lock().unwrap().push(m);
    }
}

async fn relay(to_send: Vec<Message>) -> (SocketAddr, Arc<Mutex<Vec<Message>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route("/", axum::routing::get(ws))
        .with_state(Relay { got: got.clone(), to_send: Arc::new(to_send) });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, got)
}

fn app(relay_port: u16, voice_on: bool) -> DriverAppConfig {
    DriverAppConfig {
        relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: relay_port },
        cloud: CloudConfig { endpoint: "http://127.0.0.1:8080".into(), enabled: false },
        voice: VoiceConfig { enabled: voice_on, sensitivity: 0.5, voice_id: "default".into() },
    }
}

/// The agent on the simulator (Red Bull Ring, real time), callouts into `out` at 20× speed.
async fn agent(voice: VoiceSettings, relay_port: Option<u16>, voice_on: bool) -> AgentHandle {
    let mut cfg = SimConfig::new(11, &track::RED_BULL_RING);
    cfg.cars = 8;
    let source = SimSource::start(cfg, LivePace { speed: 1.0 }, LiveOptions::new("driver-1")).unwrap();
    let mut settings = AgentSettings::new("driver-1", app(relay_port.unwrap_or(9), voice_on));
    settings.token = relay_port.map(|_| "good".to_string());
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.backoff_min = Duration::from_millis(100);
    settings.backoff_max = Duration::from_millis(400);
    settings.voice = voice;
    start(settings, Box::new(source)).await.unwrap()
}

fn wav_out(dir: &Path) -> VoiceSettings {
    let mut v = VoiceSettings::wav_dir(dir);
    v.output = CalloutOutput::WavDir { dir: dir.to_path_buf(), time_scale: 0.05 };
    v
}

/// One request to the agent's local API, as a tool on the driver's PC sends it: with the local
/// API key (`key`, empty for none).
async fn http(addr: SocketAddr, key: &str, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let key = if key.is_empty() { String::new() } else { format!("X-PitBox-Key: {key}\r\n") };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{key}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let code = out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (code, body)
}

async fn get_json(addr: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let (code, body) = http(addr, "", "GET", path, "application/json", b"").await;
    (code, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}

async fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn engines(test: &str) -> Option<EspeakNg> {
    let tts = EspeakNg::new();
    if let Err(e) = tts.available() {
        skip(test, &e.to_string());
        return None;
    }
    if let Err(e) = pitbox_voice::sphinx::availability() {
        skip(test, &e.to_string());
        return None;
    }
    Some(tts)
}

fn say(tts: &EspeakNg, text: &str) -> Vec<u8> {
    tts.synthesize_blocking(&SpeechRequest::new(text, "en-us")).expect("espeak-ng speaks").to_wav()
}

/// The number before `word` in `text` ("Fuel 42 percent" → 42).
fn number_before(text: &str, word: &str) -> Option<f64> {
    let words: Vec<&str> = text.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()).collect();
    let i = words.iter().position(|w| w.trim_end_matches('.') == word)?;
    words.get(i.checked_sub(1)?)?.parse().ok()
}

fn fuel_now(a: &AgentHandle) -> (f64, f64) {
    let t = a.shared.telemetry.borrow().clone().expect("a sample");
    (t.fuel_level, t.fuel_liters.expect("the simulator reports litres"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuel_status_from_a_wav_folder_is_answered_with_the_telemetrys_fuel() {
    let test = "fuel_status_from_a_wav_folder_is_answered_with_the_telemetrys_fuel";
    let Some(tts) = engines(test) else { return };
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    // The recording is in the folder before the agent starts: it is heard once a sample is in.
    std::fs::write(input.path().join("01-fuel-status.wav"), say(&tts, "fuel status")).unwrap();
    let mut v = wav_out(out.path());
    v.engine = CalloutEngine::EspeakNg { program: None };
    v.input = Some(VoiceInput::Wav(input.path().to_path_buf()));
    let a = agent(v, None, true).await;
    let api = a.api_addr;
    wait_for("the command in the voice log", 30, || !a.voice.log().commands.is_empty()).await;
    let (_, current) = get_json(api, "/api/telemetry/current").await;
    let api_pct = current["fuelLevel"].as_f64().expect("fuelLevel");
    let (_, after_l) = fuel_now(&a);
    let (_, log) = get_json(api, "/api/voice/log").await;
    let cmd = &log["commands"][0];
    assert_eq!(cmd["command"]["command"], "fuelStatus", "{log:#}");
    assert!(cmd["origin"].as_str().unwrap().ends_with("01-fuel-status.wav"), "{cmd}");
    let answer = cmd["answers"][0].as_str().expect("an answer").to_string();
    // "Fuel 42 percent, 31.5 litres. Fuel per lap not measured yet."
    let said_pct = number_before(&answer, "percent").unwrap_or_else(|| panic!("no percent in {answer:?}"));
    let said_l = number_before(&answer, "litres").unwrap_or_else(|| panic!("no litres in {answer:?}"));
    assert!((said_pct - api_pct).abs() <= 1.0, "said {said_pct} %, GET /api/telemetry/current shows {api_pct}");
    // Fuel only goes down while driving, a GT3 burns well under 1 l in the seconds since the
    // answer: what was said is the sample's fuel, not a made-up figure.
    assert!(said_l >= after_l - 0.05 && said_l <= after_l + 1.0, "said {said_l} l, the telemetry now {after_l} l");
    // Spoken through the radio into a WAV file.
    wait_for("the answer spoken", 30, || {
        a.voice.log().callouts.iter().any(|c| c.origin == CalloutOrigin::Answer && c.state == CalloutState::Spoken)
    })
    .await;
    let files: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let clip = files.iter().find(|f| f.contains("fuel") && f.ends_with(".wav")).unwrap_or_else(|| panic!("{files:?}"));
    let audio = Audio::from_wav(&std::fs::read(out.path().join(clip)).unwrap()).unwrap();
    assert!(audio.duration() > 1.0, "the answer is audible speech: {} s", audio.duration());
    // Heard once only.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(a.voice.log().commands.len(), 1);
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_over_the_api_reach_the_relay_and_voice_off_refuses() {
    let test = "commands_over_the_api_reach_the_relay_and_voice_off_refuses";
    let Some(tts) = engines(test) else { return };
    let handoff = HandoffRequest {
        id: "h-7".into(),
        requester_id: "driver-2".into(),
        requester_name: "Alex".into(),
        target_driver_id: "driver-1".into(),
        target_driver_name: "Sam".into(),
        reason: "planned stint change".into(),
        urgency: Urgency::Normal,
        requested_at: chrono::Utc::now(),
        status: HandoffStatus::Pending,
        telemetry_snapshot: None,
        responded_at: None,
        responder_id: None,
    };
    let (relay_addr, got) = relay(vec![Message::HandoffRequest(handoff)]).await;
    let out = tempfile::tempdir().unwrap();
    let mut v = wav_out(out.path());
    v.engine = CalloutEngine::Provider { provider: Arc::new(common::ToneVoice), voice: "tone".into() };
    v.handoff_to = Some(HandoffTarget { id: "driver-2".into(), name: "Alex".into() });
    let a = agent(v, Some(relay_addr.port()), true).await;
    let api = a.api_addr;
    let key = a.api_key.expose().to_string();
    wait_for("a sample and the handoff request called out", 30, || {
        a.shared.telemetry.borrow().is_some()
            && a.voice.log().callouts.iter().any(|c| c.origin == CalloutOrigin::HandoffRequest)
    })
    .await;
    let c = a.voice.log().callouts.into_iter().find(|c| c.origin == CalloutOrigin::HandoffRequest).unwrap();
    assert_eq!(c.text, "Handoff request from Alex: planned stint change. Say accept handoff to take it.");
    assert_eq!(c.priority, Priority::High);

    let post = |text: &str| {
        let wav = say(&tts, text);
        let key = key.clone();
        async move { http(api, &key, "POST", "/api/voice/command", "audio/wav", &wav).await }
    };
    let (code, body) = post("box this lap").await;
    assert_eq!(code, 200, "{body}");
    let e: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["command"]["command"], "boxThisLap", "{e}");
    assert_eq!(e["answers"][0], "Copy, box this lap, box this lap.");
    let (_, st) = get_json(api, "/api/voice/status").await;
    assert_eq!(st["boxThisLap"], true, "{st}");

    let (code, body) = post("accept handoff").await;
    assert_eq!(code, 200, "{body}");
    let e: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["answers"][0], "Handoff from Alex accepted.", "{e}");

    let (code, body) = post("request handoff").await;
    assert_eq!(code, 200, "{body}");
    let e: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["answers"][0], "Copy, handoff to Alex requested.", "{e}");

    wait_for("the three messages at the relay", 20, || {
        let g = got.lock().unwrap();
        let box_msg = g.iter().any(|m| matches!(m, Message::TeamMessage(t) if t.content == "Driver: boxing this lap." && t.sender_id == "driver-1" && t.priority == Priority::High));
        let accepted = g.iter().any(|m| matches!(m, Message::HandoffResponse(r) if r.handoff_id == "h-7" && r.status == HandoffStatus::Accepted && r.responder_id == "driver-1"));
        let request = g.iter().any(|m| matches!(m, Message::HandoffRequest(h) if h.requester_id == "driver-1" && h.target_driver_id == "driver-2" && h.status == HandoffStatus::Pending));
        box_msg && accepted && request
    })
    .await;
    // The accepted handoff is the one the agent completes at the sim's driver change.
    assert_eq!(a.shared.accepted_handoff.lock().unwrap().as_deref(), Some("h-7"));

    // Not a command: "say again", nothing sent.
    let sent_before = got.lock().unwrap().iter().filter(|m| matches!(m, Message::TeamMessage(_))).count();
    let (code, body) = post("the weather is nice today").await;
    assert_eq!(code, 200, "{body}");
    let e: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(e["command"].is_null(), "{e}");
    assert_eq!(e["answers"][0], "Say again.");
    let (code, body) = http(api, &key, "POST", "/api/voice/command", "audio/wav", b"RIFF....WAVEjunk").await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("not a usable WAV file"), "{body}");

    // Every answer is said: a newer one never replaces one still waiting.
    wait_for("the answers spoken", 20, || {
        a.voice
            .log()
            .callouts
            .iter()
            .filter(|c| c.origin == CalloutOrigin::Answer)
            .all(|c| c.state == CalloutState::Spoken)
    })
    .await;
    assert_eq!(a.voice.log().callouts.iter().filter(|c| c.origin == CalloutOrigin::Answer).count(), 4);

    // voice.enabled = false: commands refused with 409, nothing said.
    let mut cfg = a.shared.config.borrow().clone();
    cfg.voice.enabled = false;
    a.shared.config.send_replace(cfg);
    let said = a.voice.log().callouts.len();
    let (code, body) = post("radio check").await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("voice.enabled = false"), "{body}");
    assert_eq!(a.voice.log().callouts.len(), said);
    let sent_after = got.lock().unwrap().iter().filter(|m| matches!(m, Message::TeamMessage(_))).count();
    assert_eq!(sent_before, sent_after);
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_pit_stop_by_voice_clears_the_pit_walls_stop_and_tells_the_team() {
    let test = "cancel_pit_stop_by_voice_clears_the_pit_walls_stop_and_tells_the_team";
    let Some(tts) = engines(test) else { return };
    let (relay_addr, got) = relay(vec![Message::PitCommand(common::pit_command())]).await;
    let out = tempfile::tempdir().unwrap();
    let mut v = wav_out(out.path());
    v.engine = CalloutEngine::Provider { provider: Arc::new(common::ToneVoice), voice: "tone".into() };
    let a = agent(v, Some(relay_addr.port()), true).await;
    let api = a.api_addr;
    let key = a.api_key.expose().to_string();
    // The pit wall's stop is set in the simulator's pit boxes, and the sim says so in the samples.
    wait_for("the pit wall's stop in the sim", 30, || {
        got.lock().unwrap().iter().any(|m| {
            matches!(m, Message::TelemetryUpdate(t) if t.pit_service_flags == Some(0x1F) && t.pit_service_fuel_l == Some(42.0))
        })
    })
    .await;
    let (_, st) = get_json(api, "/api/status").await;
    assert_eq!(
        (st["pitCommand"]["id"].as_str(), st["pitCommand"]["applied"].as_bool()),
        (Some("pit-1"), Some(true)),
        "{st}"
    );

    let wav = say(&tts, "cancel pit stop");
    let (code, body) = http(api, &key, "POST", "/api/voice/command", "audio/wav", &wav).await;
    assert_eq!(code, 200, "{body}");
    let e: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["command"]["command"], "cancelPitStop", "{e}");
    assert_eq!(e["answers"], serde_json::json!(["Copy, pit stop cleared."]), "{e}");
    assert!(e["sent"][0].as_str().is_some_and(|s| s.starts_with("team_message msg-pit-clear-")), "{e}");
    assert!(e["error"].is_null(), "{e}");

    // Exactly what POST /api/pit/clear does: every box cleared in the sim, and the team told.
    let (_, st) = get_json(api, "/api/status").await;
    let pit = &st["pitCommand"];
    assert!(pit["id"].as_str().is_some_and(|id| id.starts_with("pit-driver-")), "{st}");
    assert_eq!(pit["summary"], "everything cleared", "{pit}");
    assert_eq!((pit["applied"].as_bool(), pit["target"].as_str()), (Some(true), Some("the simulator")), "{pit}");
    assert_eq!(pit["broadcasts"], serde_json::json!([[0, 0]]), "{pit}");
    wait_for("the cleared boxes in the samples", 20, || {
        got.lock().unwrap().iter().rev().take(5).any(|m| {
            matches!(m, Message::TelemetryUpdate(t) if t.pit_service_flags == Some(0) && t.pit_service_fuel_l == Some(0.0))
        })
    })
    .await;
    wait_for("the team told of the cleared stop", 20, || {
        got.lock().unwrap().iter().any(|m| {
            matches!(m, Message::TeamMessage(t) if t.content == "Driver cleared the pit stop." && t.sender_id == "driver-1" && t.priority == Priority::High)
        })
    })
    .await;
    // The driver's own box call is another thing, and stays as it was.
    let (_, vs) = get_json(api, "/api/voice/status").await;
    assert_eq!(vs["boxThisLap"], false, "{vs}");
    a.shutdown().await;
}

/// The simulator's samples without its pit boxes: a source with no sim to set a stop in (as a
/// file replay or a memory dump).
struct NoPitBox(SimSource);

impl pitbox_sources::TelemetrySource for NoPitBox {
    fn describe(&self) -> String {
        "a recording".into()
    }
    fn state(&self) -> pitbox_sources::ConnectionState {
        self.0.state()
    }
    fn next_event(&mut self) -> Result<Option<pitbox_sources::SourceEvent>, pitbox_sources::SourceError> {
        self.0.next_event()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_pit_stop_by_voice_without_a_sim_says_it_was_not_cleared() {
    let test = "cancel_pit_stop_by_voice_without_a_sim_says_it_was_not_cleared";
    let Some(tts) = engines(test) else { return };
    let (relay_addr, got) = relay(Vec::new()).await;
    let out = tempfile::tempdir().unwrap();
    let mut v = wav_out(out.path());
    v.engine = CalloutEngine::Provider { provider: Arc::new(common::ToneVoice), voice: "tone".into() };
    let mut cfg = SimConfig::new(11, &track::RED_BULL_RING);
    cfg.cars = 8;
    let source = SimSource::start(cfg, LivePace { speed: 1.0 }, LiveOptions::new("driver-1")).unwrap();
    let mut settings = AgentSettings::new("driver-1", app(relay_addr.port(), true));
    settings.token = Some("good".into());
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.voice = v;
    let a = start(settings, Box::new(NoPitBox(source))).await.unwrap();
    let api = a.api_addr;
    let key = a.api_key.expose().to_string();
    wait_for("a sample", 30, || a.shared.telemetry.borrow().is_some()).await;

    let wav = say(&tts, "cancel the pit stop");
    let (code, body) = http(api, &key, "POST", "/api/voice/command", "audio/wav", &wav).await;
    assert_eq!(code, 200, "{body}");
    let e: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["command"]["command"], "cancelPitStop", "{e}");
    assert_eq!(e["answers"], serde_json::json!(["Pit stop not cleared in the sim: clear it yourself."]), "{e}");
    let (_, st) = get_json(api, "/api/status").await;
    let pit = &st["pitCommand"];
    assert_eq!((pit["applied"].as_bool(), pit["target"].as_str()), (Some(false), Some("nothing")), "{pit}");
    assert_eq!(pit["reason"], "the source is a recording: no sim to set the stop in", "{pit}");
    wait_for("the team told, with the sim's part", 20, || {
        got.lock().unwrap().iter().any(|m| {
            matches!(m, Message::TeamMessage(t) if t.content == "Driver cleared the pit stop (not set in the sim).")
        })
    })
    .await;
    // "Repeat that" says what was said.
    let wav = say(&tts, "repeat that");
    let (_, body) = http(api, &key, "POST", "/api/voice/command", "audio/wav", &wav).await;
    let e: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["answers"], serde_json::json!(["Pit stop not cleared in the sim: clear it yourself."]), "{e}");
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_messages_are_called_out_by_priority_into_wav_files() {
    let now = chrono::Utc::now();
    let tm = |id: &str, sender: &str, content: &str, p: Priority| {
        Message::TeamMessage(TeamMessage {
            id: id.into(),
            content: content.into(),
            sender_id: sender.into(),
            sender_name: "Engineer".into(),
            priority: p,
            sent_at: now,
            read: false,
            attachment: None,
        })
    };
    let coaching: AiCoaching = serde_json::from_value(serde_json::json!({
        "feedback": "Brake two metres later into turn three.",
        "confidence": 0.8,
        "telemetryAnalysis": {"strengths": [], "weaknesses": ["early braking"], "improvementAreas": ["turn 3 entry"]},
        "timestamp": now,
        "priority": "low",
        "driverId": "driver-1",
        "lap": 4
    }))
    .unwrap();
    let (relay_addr, _got) = relay(vec![
        tm("m1", "eng-1", "Push now, the gap is closing.", Priority::Normal),
        Message::AiCoaching(coaching),
        tm("m2", "eng-1", "Yellow flag in sector two.", Priority::Urgent),
        // Our own message echoed back by the team channel is not read out.
        tm("m3", "driver-1", "Driver: boxing this lap.", Priority::High),
    ])
    .await;
    let out = tempfile::tempdir().unwrap();
    let mut v = wav_out(out.path());
    v.engine = CalloutEngine::Provider { provider: Arc::new(common::ToneVoice), voice: "tone".into() };
    let a = agent(v, Some(relay_addr.port()), true).await;
    wait_for("three callouts spoken", 30, || {
        let l = a.voice.log();
        l.callouts.len() >= 3 && l.callouts.iter().all(|c| c.state == CalloutState::Spoken)
    })
    .await;
    let l = a.voice.log();
    let texts: Vec<(&str, CalloutOrigin, Priority)> =
        l.callouts.iter().map(|c| (c.text.as_str(), c.origin, c.priority)).collect();
    assert_eq!(
        texts,
        [
            ("From Engineer: Push now, the gap is closing.", CalloutOrigin::TeamMessage, Priority::Normal),
            ("Brake two metres later into turn three.", CalloutOrigin::AiCoaching, Priority::Low),
            ("From Engineer: Yellow flag in sector two.", CalloutOrigin::TeamMessage, Priority::Urgent),
        ]
    );
    // Everything is in the inbox too. The files are in the radio's order: the urgent call before
    // the normal one (if the normal one had started, it was cut and said again after), the low
    // one last, after the quiet.
    assert_eq!(a.shared.inbox().len(), 4);
    let mut files: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let urgent = files.iter().position(|f| f.contains("urgent-from-engineer-yellow")).expect("urgent clip");
    let normal = files.iter().rposition(|f| f.contains("normal-from-engineer-push")).expect("normal clip");
    assert!(urgent < normal, "{files:?}");
    assert!(files.last().unwrap().contains("low-brake-two-metres"), "{files:?}");
    let secs = |f: &str| Audio::from_wav(&std::fs::read(out.path().join(f)).unwrap()).unwrap().duration();
    match files.len() {
        3 => {}
        4 => assert!(secs(&files[0]) < secs(&files[normal]), "the first was cut: {files:?}"),
        _ => panic!("{files:?}"),
    }
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_speech_engine_leaves_callouts_as_text() {
    let (relay_addr, _got) = relay(vec![Message::TeamMessage(TeamMessage {
        id: "m1".into(),
        content: "Box this lap".into(),
        sender_id: "eng-1".into(),
        sender_name: "Engineer".into(),
        priority: Priority::High,
        sent_at: chrono::Utc::now(),
        read: false,
        attachment: None,
    })])
    .await;
    let out = tempfile::tempdir().unwrap();
    let mut v = wav_out(out.path());
    v.engine = CalloutEngine::EspeakNg { program: Some("/nonexistent/espeak-ng".into()) };
    let a = agent(v, Some(relay_addr.port()), true).await;
    wait_for("the callout as text", 30, || !a.voice.log().callouts.is_empty()).await;
    let c = a.voice.log().callouts[0].clone();
    assert_eq!(c.text, "From Engineer: Box this lap");
    assert_eq!(c.state, CalloutState::TextOnly);
    assert!(c.detail.as_deref().unwrap_or("").contains("espeak-ng not found"), "{c:?}");
    let (_, st) = get_json(a.api_addr, "/api/voice/status").await;
    assert!(st["speech"].as_str().unwrap().contains("scripts/setup-voice"), "{st}");
    // The agent goes on: telemetry still served.
    let (code, _) = get_json(a.api_addr, "/api/telemetry/current").await;
    assert_eq!(code, 200);
    assert_eq!(std::fs::read_dir(out.path()).map(|d| d.count()).unwrap_or(0), 0);
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_fuel_and_handoff_calls_state_the_telemetrys_fuel() {
    let (relay_addr, got) = relay(Vec::new()).await;
    let out = tempfile::tempdir().unwrap();
    let mut v = wav_out(out.path());
    v.engine = CalloutEngine::Provider { provider: Arc::new(common::ToneVoice), voice: "tone".into() };
    // A strategy figure far above the sim's burn, so the tank holds under 5 laps at once.
    v.fuel_per_lap_liters = Some(20.0);
    let a = agent(v, Some(relay_addr.port()), true).await;
    wait_for("a fuel call", 30, || {
        a.voice
            .log()
            .callouts
            .iter()
            .any(|c| matches!(c.origin, CalloutOrigin::PitWindow | CalloutOrigin::LowFuel | CalloutOrigin::BoxNow))
    })
    .await;
    let (_, liters) = fuel_now(&a);
    let call = a
        .voice
        .log()
        .callouts
        .into_iter()
        .find(|c| matches!(c.origin, CalloutOrigin::PitWindow | CalloutOrigin::LowFuel | CalloutOrigin::BoxNow))
        .unwrap();
    // The laps said are the tank's litres over 20 l a lap, from a sample at most ~1 s old.
    let laps = liters / 20.0;
    let expected = if laps <= 1.0 {
        CalloutOrigin::BoxNow
    } else if laps <= 2.0 {
        CalloutOrigin::LowFuel
    } else {
        CalloutOrigin::PitWindow
    };
    assert_eq!(call.origin, expected, "{call:?} with {liters} l");
    let said_laps = number_before(&call.text, "laps").unwrap_or_else(|| panic!("{call:?}"));
    assert!((said_laps - laps).abs() <= 0.15, "said {said_laps} laps, telemetry {liters} l = {laps:.2} laps");
    let (_, st) = get_json(a.api_addr, "/api/voice/status").await;
    assert_eq!(st["fuelPerLapLiters"], 20.0, "{st}");
    // Said once per stint.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let fuel_calls = a.voice.log().callouts.iter().filter(|c| c.origin == call.origin).count();
    assert_eq!(fuel_calls, 1);

    // A handoff accepted in the local API is confirmed on the radio.
    wait_for("the relay connection", 20, || a.shared.is_relay_connected()).await;
    let (code, body) = http(
        a.api_addr,
        a.api_key.expose(),
        "POST",
        "/api/handoff/h-9",
        "application/json",
        br#"{"status":"accepted"}"#,
    )
    .await;
    assert_eq!(code, 202, "{body}");
    wait_for("the handoff callout", 20, || {
        a.voice.log().callouts.iter().any(|c| {
            c.origin == CalloutOrigin::HandoffAnswer && c.text == "Handoff accepted. Driver change at the next stop."
        })
    })
    .await;
    wait_for("the handoff_response at the relay", 20, || {
        got.lock().unwrap().iter().any(|m| matches!(m, Message::HandoffResponse(r) if r.handoff_id == "h-9"))
    })
    .await;
    a.shutdown().await;
}

/// iRacing's own live memory as the bug report saw it (`IsOnTrack` 0, a replay playing, the
/// tank reading 0 %): no fuel call and no coaching is spoken, while team messages still are, and
/// the voice status says why car callouts are held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_car_callouts_from_the_live_dump_while_a_replay_plays() {
    let name = "teamjorge__ibt__live_test_file";
    let Some(path) = pitbox_testkit::ibt_file(name, &format!("{name}.ibt")) else { return };
    let now = chrono::Utc::now();
    let coaching: AiCoaching = serde_json::from_value(serde_json::json!({
        "feedback": "Carry more speed through turn one.",
        "confidence": 0.8,
        "telemetryAnalysis": {"strengths": [], "weaknesses": [], "improvementAreas": []},
        "timestamp": now,
        "priority": "high",
        "driverId": "driver-1",
        "lap": 4
    }))
    .unwrap();
    let team = Message::TeamMessage(TeamMessage {
        id: "m1".into(),
        content: "Radio check.".into(),
        sender_id: "eng-1".into(),
        sender_name: "Engineer".into(),
        priority: Priority::Normal,
        sent_at: now,
        read: false,
        attachment: None,
    });
    let (relay_addr, _got) = relay(vec![Message::AiCoaching(coaching), team]).await;
    let out = tempfile::tempdir().unwrap();
    let mut v = wav_out(out.path());
    v.engine = CalloutEngine::Provider { provider: Arc::new(common::ToneVoice), voice: "tone".into() };
    // Any fuel figure: the tank reads 0 %, which would be "box now" if the car were driven.
    v.fuel_per_lap_liters = Some(2.0);
    let source = pitbox_sources::live::LiveSource::dump(&path, LiveOptions::new("driver-1")).unwrap();
    let mut settings = AgentSettings::new("driver-1", app(relay_addr.port(), true));
    settings.token = Some("good".into());
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.voice = v;
    let a = start(settings, Box::new(source)).await.unwrap();
    wait_for("the team message spoken", 30, || {
        a.voice.log().callouts.iter().any(|c| c.origin == CalloutOrigin::TeamMessage && c.state == CalloutState::Spoken)
    })
    .await;
    let t = a.shared.telemetry.borrow().clone().expect("a sample from the dump");
    assert_eq!((t.on_track, t.replay_playing), (Some(false), Some(true)), "the dump is what the report saw");
    // Several fuel ticks later, still nothing about the car.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let l = a.voice.log();
    let spoken: Vec<_> =
        l.callouts.iter().filter(|c| c.state == CalloutState::Spoken).map(|c| (c.origin, c.text.clone())).collect();
    assert_eq!(spoken, [(CalloutOrigin::TeamMessage, "From Engineer: Radio check.".to_string())]);
    let coaching = l.callouts.iter().find(|c| c.origin == CalloutOrigin::AiCoaching).expect("the coaching is logged");
    assert_eq!(coaching.state, CalloutState::Dropped);
    assert!(coaching.detail.as_deref().is_some_and(|d| d.contains("a replay is playing")), "{coaching:?}");
    let (_, st) = get_json(a.api_addr, "/api/voice/status").await;
    assert_eq!(st["carCalloutsHeld"], "a replay is playing", "{st}");
    a.shutdown().await;
}
