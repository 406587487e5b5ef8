//! The cloud's voice for the driver's callouts, against a real in-process cloud: a driver who
//! chose `voice_engine = "cloud"` hears the clip the cloud made (`POST /api/voice/synthesize`,
//! then its `audioUrl`), sample for sample; once the cloud is gone, the local engine speaks, and
//! the voice log and status say why.
//!
//! The cloud's engine here is a tone unlike the local one, so a clip that is not the cloud's
//! fails the test; nothing needs to be installed.

use axum::extract::State;
use axum::extract::ws::{Message as Ws, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use pitbox_driver::voice::{CalloutOrigin, VoiceStatus};
use pitbox_driver::{AgentSettings, CalloutEngine, CalloutOutput, VoiceSettings, start};
use pitbox_model::coaching::AiCoaching;
use pitbox_model::control::AuthenticationResult;
use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
use pitbox_model::{Message, UserRole};
use pitbox_sources::live::LiveOptions;
use pitbox_sources::sim::output::LivePace;
use pitbox_sources::sim::source::SimSource;
use pitbox_sources::sim::{SimConfig, track};
use pitbox_voice::Audio;
use pitbox_voice::audio::clamp16;
use pitbox_voice::service::{VoiceService, espeak_voices};
use pitbox_voice::tts::{BoxFuture, SpeechRequest, TtsError, TtsProvider};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// A tone, `freq` Hz at `amp`, 0.08 s per word.
struct Tone {
    id: &'static str,
    freq: f64,
    amp: f64,
}

impl TtsProvider for Tone {
    fn id(&self) -> &'static str {
        self.id
    }
    fn synthesize<'a>(&'a self, req: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, TtsError>> {
        Box::pin(async move {
            let n = 1_764 * req.text.split_whitespace().count();
            let w = std::f64::consts::TAU * self.freq / 22_050.0;
            Ok(Audio::new(22_050, (0..n).map(|i| clamp16(self.amp * (i as f64 * w).sin())).collect()))
        })
    }
}

/// A stand-in relay: accepts the driver and passes on what the test sends.
async fn ws(up: WebSocketUpgrade, State(tx): State<broadcast::Sender<Message>>) -> Response {
    up.on_upgrade(move |s| session(s, tx))
}

async fn session(mut s: WebSocket, tx: broadcast::Sender<Message>) {
    let mut rx = tx.subscribe();
    loop {
        tokio::select! {
            got = s.recv() => {
                let Some(Ok(Ws::Text(t))) = got else { return };
                if let Ok(Message::Authenticate(_)) = pitbox_model::decode(t.as_bytes()) {
                    let ok = Message::AuthenticationResult(AuthenticationResult {
                        success: true,
                        user_id: Some("driver-1".into()),
                        role: Some(UserRole::Driver),
                        team_id: Some("team-1".into()),
                        reason: None,
                    });
                    let _ = s.send(Ws::Text(ok.to_json().into())).await;
                }
            }
            Ok(m) = rx.recv() => {
                let _ = s.send(Ws::Text(m.to_json().into())).await;
            }
        }
    }
}

fn coaching(text: &str) -> Message {
    let c: AiCoaching = serde_json::from_value(serde_json::json!({
        "feedback": text,
        "confidence": 0.8,
        "telemetryAnalysis": {"strengths": [], "weaknesses": [], "improvementAreas": []},
        "timestamp": chrono::Utc::now(),
        "priority": "normal",
        "driverId": "driver-1"
    }))
    .expect("coaching");
    Message::AiCoaching(c)
}

fn wavs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "wav")).collect())
        .unwrap_or_default();
    v.sort();
    v
}

async fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let until = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(tokio::time::Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callouts_speak_the_clouds_clip_and_fall_back_to_the_local_engine_when_it_is_gone() {
    let dir = tempfile::tempdir().expect("temp dir");

    // The cloud, in process, with a team and its driver; its voice is a 440 Hz tone.
    let cloud_dir = dir.path().join("cloud");
    std::fs::create_dir_all(&cloud_dir).expect("cloud dir");
    let mut cloud =
        pitbox_cloud::server::AppState::open(&pitbox_cloud::Config::local(&cloud_dir)).await.expect("cloud");
    cloud.voice = VoiceService::new(Arc::new(Tone { id: "cloud-tone", freq: 440.0, amp: 9_000.0 }), espeak_voices());
    let team = pitbox_demo::accounts::seed(&cloud.store).await.expect("seed");
    let alex = team.drivers()[0].clone();
    let token = cloud.keys.issue(&alex.user_id, alex.role, &team.team_id, &alex.username).expect("token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let cloud_addr = listener.local_addr().expect("addr");
    let (stop_cloud, mut stop_rx) = tokio::sync::watch::channel(false);
    let app = pitbox_cloud::server::router(cloud.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let cloud_task = tokio::spawn(async move {
        let stop = async move {
            let _ = stop_rx.wait_for(|v| *v).await;
        };
        let _ = axum::serve(listener, app).with_graceful_shutdown(stop).await;
    });

    // The relay stand-in.
    let (to_driver, _) = broadcast::channel::<Message>(16);
    let relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
    let relay_port = relay.local_addr().expect("addr").port();
    let relay_app = axum::Router::new().route("/", axum::routing::get(ws)).with_state(to_driver.clone());
    tokio::spawn(async move {
        let _ = axum::serve(relay, relay_app).await;
    });

    // The driver: the cloud's voice, a different tone (880 Hz) as the local engine, no chime so
    // each callout file is exactly the clip spoken.
    let out = dir.path().join("callouts");
    let mut voice = VoiceSettings::wav_dir(&out);
    voice.output = CalloutOutput::WavDir { dir: out.clone(), time_scale: 0.0 };
    voice.chime = false;
    voice.speed = 1.0;
    let local = CalloutEngine::Provider {
        provider: Arc::new(Tone { id: "local-tone", freq: 880.0, amp: 3_000.0 }),
        voice: "local".into(),
    };
    voice.engine = CalloutEngine::Cloud {
        endpoint: format!("http://{cloud_addr}"),
        token: token.clone(),
        local: Box::new(local),
        renewed: None,
    };
    let app_cfg = DriverAppConfig {
        relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: relay_port },
        cloud: CloudConfig { endpoint: format!("http://{cloud_addr}"), enabled: true },
        voice: VoiceConfig { enabled: true, sensitivity: 0.5, voice_id: "default".into() },
    };
    let mut sim = SimConfig::new(5, &track::RED_BULL_RING);
    sim.cars = 8;
    let source = SimSource::start(sim, LivePace { speed: 1.0 }, LiveOptions::new("driver-1")).expect("sim");
    let mut settings = AgentSettings::new("driver-1", app_cfg);
    settings.token = Some("relay-token".into());
    settings.listen = "127.0.0.1:0".parse().expect("addr");
    settings.backoff_min = Duration::from_millis(100);
    settings.backoff_max = Duration::from_millis(400);
    settings.voice = voice;
    let agent = start(settings, Box::new(source)).await.expect("agent");
    let status = wait_for("the radio", || Some(agent.voice.status()).filter(|s| s.speech != "not started")).await;
    assert_eq!(status.engine, "cloud (local: local-tone)", "{status:?}");

    // Online: the callout is the cloud's clip.
    let said = "Brake later into turn three";
    wait_for("the relay session", || (to_driver.receiver_count() > 0).then_some(())).await;
    to_driver.send(coaching(said)).expect("send");
    let file = wait_for("the first callout file", || wavs(&out).into_iter().next()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let heard = Audio::from_wav(&std::fs::read(&file).expect("read")).expect("wav");
    let req = serde_json::json!({"text": said, "voiceId": "engineer", "speed": 1.0, "priority": "normal"});
    let http = reqwest::Client::new();
    let clip: serde_json::Value = http
        .post(format!("http://{cloud_addr}/api/voice/synthesize"))
        .bearer_auth(&token)
        .json(&req)
        .send()
        .await
        .expect("synthesize")
        .json()
        .await
        .expect("json");
    let url = clip["audioUrl"].as_str().expect("audioUrl");
    let wav = http.get(format!("http://{cloud_addr}{url}")).bearer_auth(&token).send().await.expect("clip");
    let cloud_clip = Audio::from_wav(&wav.bytes().await.expect("bytes")).expect("cloud wav");
    assert!(!cloud_clip.samples.is_empty());
    assert!(
        heard.samples == cloud_clip.samples,
        "the callout is not the cloud's clip: {heard:?} (rms {:.0}) vs the cloud's {cloud_clip:?} (rms {:.0})",
        heard.rms(),
        cloud_clip.rms()
    );
    assert_eq!(
        cloud.metrics.voice_cache_hits_sql.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "our fetch hit the driver's"
    );
    let status: VoiceStatus = agent.voice.status();
    assert_eq!(status.speech, "ready", "{status:?}");
    let entry = agent.voice.log().callouts.into_iter().find(|c| c.text == said).expect("logged");
    assert_eq!(entry.origin, CalloutOrigin::AiCoaching);
    assert_eq!(entry.fallback, None);

    // Offline: the cloud is gone; the local engine speaks and the log and status say why.
    let _ = stop_cloud.send(true);
    tokio::time::timeout(Duration::from_secs(10), cloud_task).await.expect("cloud stops").expect("cloud task");
    let said2 = "Box this lap for fuel";
    to_driver.send(coaching(said2)).expect("send");
    let file2 = wait_for("the second callout file", || wavs(&out).into_iter().nth(1)).await;
    let entry2 = wait_for("the fallback in the log", || {
        agent.voice.log().callouts.into_iter().find(|c| c.text == said2 && c.fallback.is_some())
    })
    .await;
    let heard2 = Audio::from_wav(&std::fs::read(&file2).expect("read")).expect("wav");
    let local_clip = Tone { id: "local-tone", freq: 880.0, amp: 3_000.0 }
        .synthesize(&SpeechRequest::new(said2, "local"))
        .await
        .expect("local");
    assert!(
        heard2.samples == local_clip.samples,
        "offline, the local engine speaks: {heard2:?} (rms {:.0}) vs {local_clip:?}",
        heard2.rms()
    );
    let why = entry2.fallback.expect("fallback");
    assert!(why.starts_with("spoken by local-tone: the cloud's voice failed:") && why.contains("unreachable"), "{why}");
    let status = agent.voice.status();
    assert!(
        status.speech.starts_with("the cloud's voice is unavailable (")
            && status.speech.ends_with("speaking with local-tone"),
        "{status:?}"
    );
    agent.shutdown().await;
}
