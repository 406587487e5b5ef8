//! The agent against a stand-in relay on loopback: authentication, what it publishes, the
//! local API, and a relay restart that the agent survives without losing its place.

mod common;
use axum::extract::State;
use axum::extract::ws::{Message as Ws, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use pitbox_driver::{AgentSettings, start};
use pitbox_model::control::{AuthenticationResult, ConnectionEstablished};
use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
use pitbox_model::team::TeamMessage;
use pitbox_model::{Message, Priority, UserRole};
use pitbox_sources::live::LiveOptions;
use pitbox_sources::sim::output::LivePace;
use pitbox_sources::sim::source::SimSource;
use pitbox_sources::sim::{SimConfig, track};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

#[derive(Clone)]
struct Relay {
    got: Arc<Mutex<Vec<Message>>>,
    kill: watch::Receiver<bool>,
}

async fn ws(up: WebSocketUpgrade, State(r): State<Relay>) -> Response {
    up.on_upgrade(move |s| session(s, r))
}

fn frame(m: &Message) -> Ws {
    Ws::Text(m.to_json().into())
}

async fn session(mut s: WebSocket, mut r: Relay) {
    let hello = Message::ConnectionEstablished(ConnectionEstablished {
        server_id: "test-relay".into(),
        timestamp: chrono::Utc::now(),
        version: "1.0".into(),
        auth_timeout_secs: Some(10),
    });
    if s.send(frame(&hello)).await.is_err() {
        return;
    }
    let mut authed = false;
    loop {
        tokio::select! {
            _ = r.kill.changed() => return,
            f = s.recv() => {
                let Some(Ok(Ws::Text(t))) = f else { return };
                let Ok(m) = pitbox_model::decode(t.as_bytes()) else { continue };
                if let Message::Authenticate(a) = &m {
                    let ok = a.token == "good";
                    let res = Message::AuthenticationResult(AuthenticationResult {
                        success: ok,
                        user_id: ok.then(|| "driver-1".into()),
                        role: ok.then_some(UserRole::Driver),
                        team_id: ok.then(|| "team-1".into()),
                        reason: (!ok).then(|| "bad token".into()),
                    });
                    let _ = s.send(frame(&res)).await;
                    authed = ok;
                    if ok {
                        let tm = Message::TeamMessage(TeamMessage {
                            id: "m1".into(),
                            content: "Box this lap".into(),
                            sender_id: "eng-1".into(),
                            sender_name: "Engineer".into(),
                            priority: Priority::High,
                            sent_at: chrono::Utc::now(),
                            read: false,
                            attachment: None,
                        });
                        let _ = s.send(frame(&tm)).await;
                        let _ = s.send(frame(&Message::PitCommand(common::pit_command()))).await;
                        let _ = s.send(frame(&Message::StrategyUpdate(live_plan()))).await;
                    }
                }
                if authed || matches!(m, Message::Authenticate(_)) {
                    r.got.lock().unwrap().push(m);
                }
            }
        }
    }
}

/// The team's live plan for this car (the protocol's example, for driver-1).
fn live_plan() -> pitbox_model::strategy::StrategyUpdate {
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("../../model/tests/golden/strategy_update.json")).unwrap();
    let mut u: pitbox_model::strategy::StrategyUpdate = serde_json::from_value(golden["data"].clone()).unwrap();
    u.driver_id = "driver-1".into();
    u
}

async fn relay_on(addr: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<Message>>>, watch::Sender<bool>) {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let (kill_tx, kill) = watch::channel(false);
    let app = axum::Router::new().route("/", axum::routing::get(ws)).with_state(Relay { got: got.clone(), kill });
    let mut k = kill_tx.subscribe();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = k.wait_for(|v| *v).await;
            })
            .await;
    });
    (addr, got, kill_tx)
}

/// One request to the agent's local API, as a tool on the driver's PC sends it: with the local
/// API key (`key`, empty for none).
async fn http(addr: SocketAddr, key: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let key = if key.is_empty() { String::new() } else { format!("X-PitBox-Key: {key}\r\n") };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{key}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let code = out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (code, body)
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn seqs(got: &Arc<Mutex<Vec<Message>>>) -> Vec<u64> {
    got.lock()
        .unwrap()
        .iter()
        .filter_map(|m| if let Message::TelemetryUpdate(t) = m { t.sequence } else { None })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_publishes_serves_the_local_api_and_survives_a_relay_restart() {
    let (relay_addr, got, kill) = relay_on("127.0.0.1:0".parse().unwrap()).await;
    let mut cfg = SimConfig::new(3, &track::RED_BULL_RING);
    cfg.cars = 20;
    let source = SimSource::start(cfg, LivePace { speed: 1.0 }, LiveOptions::new("driver-1")).unwrap();
    let callouts = tempfile::tempdir().unwrap();
    let settings = AgentSettings {
        driver_id: "driver-1".into(),
        token: Some("good".into()),
        login: None,
        app: DriverAppConfig {
            relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: relay_addr.port() },
            cloud: CloudConfig { endpoint: "http://127.0.0.1:8080".into(), enabled: false },
            voice: VoiceConfig { enabled: true, sensitivity: 0.5, voice_id: "default".into() },
        },
        listen: "127.0.0.1:0".parse().unwrap(),
        api_key: None,
        api_allow_remote: false,
        telemetry_hz: 60.0,
        standings_hz: 2.0,
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        voice: pitbox_driver::VoiceSettings::wav_dir(callouts.path()),
        spool: None,
        cloud_url: None,
        data_dir: None,
        config_file: None,
        joystick_dir: None,
        video: None,
    };
    let agent = start(settings, Box::new(source)).await.unwrap();
    let api = agent.api_addr;

    // Published: authenticate first, then status and session, telemetry at ~60 Hz, standings.
    wait_for("60 telemetry updates", || seqs(&got).len() >= 60).await;
    {
        let g = got.lock().unwrap();
        assert!(matches!(&g[0], Message::Authenticate(a) if a.token == "good"));
        assert!(g.iter().any(|m| matches!(m, Message::DriverStatus(_))));
        assert!(g.iter().any(|m| matches!(m, Message::SessionInfo(s) if s.drivers.len() == 20)));
        for m in g.iter() {
            m.validate().unwrap();
        }
    }
    wait_for("standings", || got.lock().unwrap().iter().any(|m| matches!(m, Message::StandingsUpdate(_)))).await;
    let s = seqs(&got);
    assert!(s.windows(2).all(|w| w[1] > w[0]), "increasing sequence numbers");

    // The local API, exactly the spec's shapes.
    let (code, body) = http(api, "", "GET", "/api/config", "").await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["relayAgent"]["port"], relay_addr.port());
    assert_eq!(v["voice"]["voiceId"], "default");
    let (code, body) = http(api, "", "GET", "/api/telemetry/current", "").await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["brake", "fuelLevel", "gear", "lap", "position", "rpm", "speed", "steeringAngle", "throttle", "tireWear"]
    );
    let (code, body) =
        http(api, agent.api_key.expose(), "PUT", "/api/config", r#"{"relayAgent":{"url":"http://x","port":0}}"#).await;
    assert_eq!(code, 422, "{body}");
    let (code, body) = http(api, "", "GET", "/api/messages", "").await;
    assert_eq!(code, 200);
    assert!(body.contains("Box this lap"), "{body}");
    // The pit wall's next stop: listed, encoded as iRacing's broadcasts and set in the
    // simulator's pit boxes (as it would be in iRacing), whose answer comes back in the
    // samples (PitSvFlags: fuel + four tyres, PitSvFuel: 42 L); the driver hears it.
    assert!(body.contains("pit_command"), "{body}");
    let (_, body) = http(api, "", "GET", "/api/status", "").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let pit = &v["pitCommand"];
    assert_eq!(pit["id"], "pit-1", "{v}");
    assert_eq!(pit["summary"], "42 litres, four tyres");
    assert_eq!((pit["applied"].as_bool(), pit["target"].as_str()), (Some(true), Some("the simulator")), "{pit}");
    assert_eq!(pit["broadcasts"], serde_json::json!([[2, 42], [7, 0], [3, 0], [4, 0], [5, 0], [6, 0]]));
    wait_for("the sim's answer in the samples", || {
        got.lock().unwrap().iter().any(|m| {
            matches!(m, Message::TelemetryUpdate(t) if t.pit_service_flags == Some(0x1F) && t.pit_service_fuel_l == Some(42.0))
        })
    })
    .await;
    // On the radio (the voice log has it whether or not a speech engine is installed).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, log) = http(api, "", "GET", "/api/voice/log", "").await;
        if log.contains("Pit stop set by Sam: 42 litres, four tyres.") && !log.contains("Not set in the sim") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the pit stop was not said: {log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The live plan and the race position for the driver's window.
    let (_, body) = http(api, "", "GET", "/api/status", "").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["plan"]["fuelLapsLeft"], 14.95, "{v}");
    assert_eq!(v["plan"]["pitWindow"], serde_json::json!({"opensLap": 61, "closesLap": 73}));
    assert_eq!(v["plan"]["nextStopFuelL"], 26.7);
    assert!(v["race"]["position"].as_u64().is_some_and(|p| (1..=20).contains(&p)), "{v}");
    // The driver cancels it: cleared (not in a sim here, and said so) and the team told.
    let (code, body) = http(api, "", "POST", "/api/pit/clear", "").await;
    assert_eq!(code, 401, "a write needs the local key: {body}");
    let (code, body) = http(api, agent.api_key.expose(), "POST", "/api/pit/clear", "").await;
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["summary"].as_str(), v["broadcasts"].clone()),
        (Some("everything cleared"), serde_json::json!([[0, 0]]))
    );
    wait_for("the cleared boxes in the samples", || {
        got.lock().unwrap().iter().rev().take(5).any(|m| {
            matches!(m, Message::TelemetryUpdate(t) if t.pit_service_flags == Some(0) && t.pit_service_fuel_l == Some(0.0))
        })
    })
    .await;
    wait_for("the team told of the cleared stop", || {
        got.lock()
            .unwrap()
            .iter()
            .any(|m| matches!(m, Message::TeamMessage(t) if t.content.starts_with("Driver cleared the pit stop")))
    })
    .await;
    let (code, body) = http(api, agent.api_key.expose(), "POST", "/api/handoff/h-1", r#"{"status":"accepted"}"#).await;
    assert_eq!(code, 202, "{body}");
    wait_for("the handoff answer at the relay", || {
        got.lock().unwrap().iter().any(|m| matches!(m, Message::HandoffResponse(h) if h.handoff_id == "h-1"))
    })
    .await;
    // A reply to the team from the window: a team_message from this driver up the relay link,
    // kept in the window's list of messages; a bad one is refused with the rule it broke.
    for (body, want) in [
        (r#"{"content": "   "}"#, "content: the reply is empty"),
        (&format!(r#"{{"content": "{}"}}"#, "x".repeat(501)), "content: the reply has 501 characters; at most 500"),
        (r#"{"content": "ok", "to": "everyone"}"#, "unknown field `to`"),
        (r#"{"content": "ok", "priority": "loud"}"#, "priority"),
    ] {
        let (code, text) = http(api, agent.api_key.expose(), "POST", "/api/messages/reply", body).await;
        assert_eq!(code, 422, "{body}: {text}");
        assert!(text.contains(want), "{body}: {text}");
    }
    let (code, body) =
        http(api, agent.api_key.expose(), "POST", "/api/messages/reply", r#"{"content": " Tyres are going off "}"#)
            .await;
    assert_eq!(code, 202, "{body}");
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sent["type"], "team_message");
    wait_for("the reply at the relay", || {
        got.lock().unwrap().iter().any(|m| {
            matches!(m, Message::TeamMessage(t) if t.content == "Tyres are going off" && t.sender_id == "driver-1"
                && t.id == sent["data"]["id"].as_str().unwrap_or_default())
        })
    })
    .await;
    let (_, body) = http(api, "", "GET", "/api/messages", "").await;
    let inbox: Vec<Message> = serde_json::from_str(&body).unwrap();
    let mine =
        inbox.iter().filter(|m| matches!(m, Message::TeamMessage(t) if t.content == "Tyres are going off")).count();
    assert_eq!(mine, 1, "the reply shows once in the window's messages: {body}");

    // Restart the relay on the same port: the agent reconnects and carries on numbering.
    let _ = kill.send(true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = *seqs(&got).last().unwrap();
    let (_, got2, _kill2) = relay_on(relay_addr).await;
    wait_for("telemetry after the restart", || seqs(&got2).len() >= 30).await;
    let after = seqs(&got2);
    assert!(after[0] > before, "no sample sent twice: {} after {before}", after[0]);
    assert!(after.windows(2).all(|w| w[1] > w[0]));
    {
        let g = got2.lock().unwrap();
        assert!(matches!(&g[0], Message::Authenticate(_)));
        assert!(g.iter().any(|m| matches!(m, Message::SessionInfo(_))), "session announced again");
    }
    let (_, body) = http(api, "", "GET", "/api/status", "").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["relayConnects"], 2);
    assert_eq!(v["relayConnected"], true);
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_handoff_completes_at_the_sims_driver_change() {
    let (relay_addr, got, _kill) = relay_on("127.0.0.1:0".parse().unwrap()).await;
    let mut cfg = SimConfig::new(5, &track::BRANDS_INDY);
    cfg.cars = 4;
    cfg.player_car_idx = 1;
    cfg.stint_laps = 1;
    let source = SimSource::start(cfg, LivePace { speed: 40.0 }, LiveOptions::new("driver-1")).unwrap();
    let callouts = tempfile::tempdir().unwrap();
    let settings = AgentSettings {
        driver_id: "driver-1".into(),
        token: Some("good".into()),
        login: None,
        app: DriverAppConfig {
            relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: relay_addr.port() },
            cloud: CloudConfig { endpoint: "http://127.0.0.1:8080".into(), enabled: false },
            voice: VoiceConfig { enabled: true, sensitivity: 0.5, voice_id: "default".into() },
        },
        listen: "127.0.0.1:0".parse().unwrap(),
        api_key: None,
        api_allow_remote: false,
        telemetry_hz: 20.0,
        standings_hz: 2.0,
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        voice: pitbox_driver::VoiceSettings::wav_dir(callouts.path()),
        spool: None,
        cloud_url: None,
        data_dir: None,
        config_file: None,
        joystick_dir: None,
        video: None,
    };
    let agent = start(settings, Box::new(source)).await.unwrap();
    wait_for("a connection", || agent.shared.is_relay_connected()).await;
    let (code, body) =
        http(agent.api_addr, agent.api_key.expose(), "POST", "/api/handoff/h-9", r#"{"status":"accepted"}"#).await;
    assert_eq!(code, 202, "{body}");
    wait_for("the handoff to complete at the pit stop", || {
        got.lock().unwrap().iter().any(|m| {
            matches!(m, Message::HandoffResponse(h) if h.handoff_id == "h-9"
                && h.status == pitbox_model::HandoffStatus::Completed)
        })
    })
    .await;
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_local_api_address_is_named_once_with_the_flag_to_change_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let source = SimSource::start(
        SimConfig::new(1, &track::RED_BULL_RING),
        LivePace { speed: 1.0 },
        LiveOptions::new("driver-1"),
    )
    .unwrap();
    let callouts = tempfile::tempdir().unwrap();
    let app = DriverAppConfig {
        relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: 1 },
        cloud: CloudConfig { endpoint: "http://127.0.0.1:8080".into(), enabled: false },
        voice: VoiceConfig { enabled: false, sensitivity: 0.5, voice_id: "default".into() },
    };
    let mut settings = AgentSettings::new("driver-1", app);
    settings.listen = addr;
    settings.voice = pitbox_driver::VoiceSettings::wav_dir(callouts.path());
    let err = match start(settings, Box::new(source)).await {
        Ok(_) => panic!("the agent started on a taken address"),
        Err(e) => e,
    };
    // As the binary prints it: the whole chain, `{:#}`.
    let text = format!("{:#}", anyhow::Error::from(err));
    assert!(text.starts_with(&format!("cannot listen on {addr} for the local API: ")), "{text}");
    assert_eq!(text.matches("os error").count(), 1, "the cause once: {text}");
    assert!(text.contains("another address with --listen"), "{text}");
    drop(taken);
}
