//! The whole demo on free ports at a fast pace: an engineer logs in over HTTP, follows the team
//! on the cloud's /ws and sees the race (team car telemetry, the 20-car field, coaching after a
//! lap, the handoff at the first stop, the next driver streaming); the demo stops, starts again
//! on the same data directory and still has the accounts, sessions and laps.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use pitbox_demo::{DemoConfig, start};
use pitbox_model::control::{Authenticate, PROTOCOL_VERSION, Subscribe};
use pitbox_model::{ClientType, HandoffStatus, Message};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message as WsMessage;

fn config(dir: &std::path::Path) -> DemoConfig {
    let mut cfg = DemoConfig::local(dir);
    // Brands Hatch Indy is the shortest lap; 20x makes a lap about 2.5 s.
    cfg.track = "brandsindy".into();
    cfg.pace = 20.0;
    cfg.stint_laps = 2;
    cfg
}

async fn login(base: &str, username: &str, password: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("login request");
    assert!(r.status().is_success(), "login as {username}: {}", r.status());
    let body: Value = r.json().await.expect("login body");
    body["token"].as_str().expect("token in the login answer").to_string()
}

async fn get_json(base: &str, token: &str, path: &str) -> Value {
    let r = reqwest::Client::new().get(format!("{base}{path}")).bearer_auth(token).send().await.expect("GET");
    assert!(r.status().is_success(), "GET {path}: {}", r.status());
    r.json().await.expect("JSON body")
}

/// What the engineer's dashboard saw.
#[derive(Default, Debug)]
struct Seen {
    telemetry_drivers: HashSet<String>,
    field_size: usize,
    coaching_laps: Vec<u32>,
    handoff_pending: Option<(String, String, String)>,
    handoff_accepted: bool,
    handoff_completed: bool,
    telemetry_after_handoff_from: Option<String>,
    in_car_status: HashSet<String>,
}

/// The two tests run one after the other: the refusal test checks that a failed start leaves its
/// cloud's port closed, and the race test's own listeners (port 0, restarted for the resume) could
/// otherwise be handed that very port.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_a_team_race_and_resumes_with_its_history() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let demo = start(config(dir.path())).await.expect("demo starts");
    eprintln!("demo started in {:?}", started.elapsed());
    // The 5 s promise counts from a started demo (creating the accounts hashes five passwords
    // first, which a debug build under load does slowly).
    let ready = Instant::now();
    let base = format!("http://{}", demo.cloud_addr());
    let drivers: Vec<String> = demo.team().drivers().iter().map(|d| d.user_id.clone()).collect();
    assert_eq!(drivers.len(), 3);
    assert!(demo.banner().contains("engineer") && demo.banner().contains(&demo.dashboard_url()));

    // The dashboard is served.
    let page = reqwest::get(&base).await.expect("GET /");
    assert!(page.status().is_success(), "dashboard: {}", page.status());

    let token = login(&base, "engineer", "demo-engineer").await;
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", demo.cloud_addr())).await.expect("ws");
    let (mut tx, mut rx) = ws.split();
    let auth = Message::Authenticate(Authenticate {
        token: token.clone(),
        client_type: ClientType::Dashboard,
        version: PROTOCOL_VERSION.into(),
        spooled: false,
    });
    tx.send(WsMessage::Text(auth.to_json().into())).await.expect("send authenticate");
    let sub = Message::Subscribe(Subscribe { team_id: None, driver_ids: vec![], channels: vec![], max_rate_hz: None });
    tx.send(WsMessage::Text(sub.to_json().into())).await.expect("send subscribe");

    let mut seen = Seen::default();
    let mut first_telemetry: Option<Duration> = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = |s: &Seen| {
        s.field_size == 20
            && !s.coaching_laps.is_empty()
            && s.handoff_completed
            && s.telemetry_after_handoff_from.is_some()
    };
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = match tokio::time::timeout(left, rx.next()).await {
            Ok(Some(Ok(f))) => f,
            other => panic!("the dashboard stream ended or went quiet ({other:?}); seen so far: {seen:?}"),
        };
        let WsMessage::Text(text) = frame else { continue };
        match pitbox_model::decode(text.as_bytes()).expect("the cloud sends valid messages") {
            Message::AuthenticationResult(r) => assert!(r.success, "engineer authenticated: {r:?}"),
            Message::TelemetryUpdate(u) => {
                assert!(drivers.contains(&u.driver_id), "telemetry of a team driver, got {}", u.driver_id);
                first_telemetry.get_or_insert(ready.elapsed());
                seen.telemetry_drivers.insert(u.driver_id.clone());
                if seen.handoff_completed
                    && let Some((_, _, to)) = &seen.handoff_pending
                    && &u.driver_id == to
                {
                    seen.telemetry_after_handoff_from = Some(u.driver_id);
                }
            }
            Message::StandingsUpdate(s) => seen.field_size = seen.field_size.max(s.entries.len()),
            Message::AiCoaching(c) => {
                assert!(c.driver_id.as_ref().is_some_and(|d| drivers.contains(d)), "coaching names a driver");
                assert!(!c.feedback.is_empty());
                seen.coaching_laps.push(c.lap.expect("coaching says which lap"));
            }
            Message::HandoffRequest(h) => match h.status {
                HandoffStatus::Pending => {
                    seen.handoff_pending.get_or_insert((
                        h.id.clone(),
                        h.requester_id.clone(),
                        h.target_driver_id.clone(),
                    ));
                }
                HandoffStatus::Completed => {
                    let (id, _, _) =
                        seen.handoff_pending.as_ref().expect("a handoff is completed after it was requested");
                    assert_eq!(&h.id, id);
                    assert!(seen.handoff_accepted, "accepted before completed");
                    seen.handoff_completed = true;
                }
                _ => {}
            },
            Message::HandoffResponse(r) if r.status == HandoffStatus::Accepted => seen.handoff_accepted = true,
            Message::DriverStatus(d) if d.in_car => {
                seen.in_car_status.insert(d.driver_id);
            }
            _ => {}
        }
    }
    let first = first_telemetry.expect("telemetry arrived");
    eprintln!("first telemetry {first:?}, everything seen after {:?}", started.elapsed());
    assert!(first < Duration::from_secs(5), "first team car telemetry after {first:?}");
    let (_, from, to) = seen.handoff_pending.clone().expect("handoff");
    assert_eq!((from.as_str(), to.as_str()), (drivers[0].as_str(), drivers[1].as_str()), "first stop: driver 1 → 2");
    drop(tx);
    drop(rx);

    // The handoff is kept by the cloud.
    let handoffs = get_json(&base, &token, "/api/handoffs").await;
    assert!(
        handoffs.as_array().is_some_and(|a| a.iter().any(|h| h["status"] == "completed")),
        "stored handoffs: {handoffs}"
    );
    let callouts = demo.callouts_dir().map(|d| d.to_path_buf());
    let first_run = demo.shutdown().await.expect("clean shutdown");

    // The drivers' radios spoke into WAV files (when there is a speech engine).
    match (pitbox_voice::EspeakNg::new().available(), callouts) {
        (Ok(_), Some(dir)) => {
            let wavs = std::fs::read_dir(dir.join("alex"))
                .expect("alex's callout folder")
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "wav"))
                .count();
            assert!(wavs > 0, "callouts written as WAV files");
        }
        (Err(e), _) => eprintln!("SKIP callout files: no espeak-ng ({e})"),
        (Ok(_), None) => panic!("callouts are on by default"),
    }
    if std::env::var_os("PITBOX_DEMO_KEEP").is_some() {
        eprintln!("data dir kept: {}", dir.path().display());
        std::mem::forget(dir);
        return;
    }

    // Second start on the same data directory: same logins, the first run's laps untouched,
    // new laps numbered after them.
    let demo = start(config(dir.path())).await.expect("demo starts again");
    let base = format!("http://{}", demo.cloud_addr());
    let token = login(&base, "engineer", "demo-engineer").await;
    login(&base, "alex", "demo-driver-alex").await;
    let laps_now = || async {
        let sessions = get_json(&base, &token, "/api/sessions").await;
        let mut laps: HashMap<String, (i64, i64)> = HashMap::new();
        for s in sessions.as_array().expect("session list") {
            let id = s["id"].as_str().expect("session id");
            // The stored telemetry by lap counter: what is kept, with its sample counts.
            let stored = get_json(&base, &token, &format!("/api/sessions/{id}/telemetry-laps")).await;
            for l in stored.as_array().expect("telemetry laps") {
                let key = l["id"].as_str().expect("lap id").to_string();
                laps.insert(key, (l["lap"].as_i64().expect("lap"), l["sampleCount"].as_i64().expect("sampleCount")));
            }
        }
        laps
    };
    let last_kept = i64::from(first_run.last_lap);
    let mut kept = laps_now().await;
    kept.retain(|_, (lap, _)| *lap <= last_kept);
    assert!(kept.len() >= 3, "the first run's laps are kept: {kept:?}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let now = loop {
        let now = laps_now().await;
        if now.values().any(|(lap, _)| *lap > last_kept + 1) {
            break now;
        }
        assert!(Instant::now() < deadline, "the second run stores new laps");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for (id, (lap, samples)) in &kept {
        assert_eq!(now.get(id), Some(&(*lap, *samples)), "lap {lap} ({id}) of the first run is unchanged");
    }
    let handoffs = get_json(&base, &token, "/api/handoffs").await;
    assert!(handoffs.as_array().is_some_and(|a| !a.is_empty()), "handoffs kept");
    demo.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn bad_settings_are_refused_with_the_setting_named() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = DemoConfig::local(dir.path());
    cfg.pace = 0.0;
    let e = start(cfg).await.expect_err("pace 0 is refused").to_string();
    assert!(e.contains("--pace"), "{e}");
    let mut cfg = DemoConfig::local(dir.path());
    cfg.track = "nowhere".into();
    let e = start(cfg).await.expect_err("unknown track").to_string();
    assert!(e.contains("unknown track `nowhere`"), "{e}");
    // A relay port in use: refused with the address, and the cloud it started is stopped again
    // (its port can be bound right after).
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let cloud_port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let cloud_addr = cloud_port.local_addr().expect("addr");
    drop(cloud_port);
    let mut cfg = DemoConfig::local(dir.path());
    cfg.listen = cloud_addr;
    cfg.relay_listen = taken.local_addr().expect("addr");
    let e = start(cfg).await.expect_err("relay port in use").to_string();
    assert!(e.contains("cannot listen") && e.contains(&taken.local_addr().expect("addr").to_string()), "{e}");
    // Nothing listens there any more. (Binding the port again would race with outgoing
    // connections, which take their local ports from the same ephemeral range; the race test,
    // whose listeners could take the port, does not run meanwhile.)
    match std::net::TcpStream::connect_timeout(&cloud_addr, Duration::from_secs(2)) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
        other => panic!("the demo's cloud still answers on {cloud_addr} after a failed start: {other:?}"),
    }
    std::fs::write(dir.path().join("race.json"), "not json").expect("write");
    let e = start(DemoConfig::local(dir.path())).await.expect_err("corrupt race state").to_string();
    assert!(e.contains("race.json") && e.contains("remove it"), "{e}");
}
