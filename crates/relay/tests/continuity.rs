//! Sample identity across agent restarts (docs/protocol.md, "Sample identity"): real driver
//! agents (the built-in simulator as their source) stream to a real relay linked to a cloud
//! stand-in while a dashboard watches. A restarted agent on another source is back on the
//! dashboard and in the cloud within 2 s of its first sample; an agent of the old kind that
//! numbers from 1 again is taken after a second of duplicates, which are counted and reported
//! to it once; an agent whose samples are refused says so in its `/api/status`.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::cloud::{Cloud, CloudStore};
use common::{Client, Env, TEAM, telemetry};
use pitbox_driver::{AgentHandle, AgentSettings, start};
use pitbox_model::control::{ErrorCode, Subscribe};
use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
use pitbox_model::{Channel, ClientType, Message, UserRole};
use pitbox_relay::UplinkConfig;
use pitbox_sources::live::LiveOptions;
use pitbox_sources::sim::output::LivePace;
use pitbox_sources::sim::source::SimSource;
use pitbox_sources::sim::{SimConfig, track};

async fn relay_with_cloud() -> (Env, Cloud) {
    let store = Arc::new(CloudStore::default());
    let cloud = Cloud::start("127.0.0.1:0".parse().unwrap(), store).await;
    let url = cloud.url();
    let env = Env::start(|c| {
        c.batch_interval = Duration::from_millis(50);
        c.cloud = Some(UplinkConfig {
            url,
            token: "any".into(),
            window: 32,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_millis(800),
        });
    })
    .await;
    (env, cloud)
}

async fn dashboard(env: &Env) -> Client {
    let mut dash = env.client("eng-1", UserRole::Engineer, TEAM).await;
    dash.send(&Message::Subscribe(Subscribe {
        team_id: None,
        driver_ids: vec![],
        channels: vec![Channel::Telemetry],
        max_rate_hz: Some(60.0),
    }))
    .await;
    dash.sync().await;
    dash
}

async fn agent(env: &Env, driver: &str, token: String, seed: u64, callouts: &std::path::Path) -> AgentHandle {
    let source = SimSource::start(
        SimConfig::new(seed, &track::RED_BULL_RING),
        LivePace { speed: 1.0 },
        LiveOptions::new(driver),
    )
    .unwrap();
    let mut voice = pitbox_driver::VoiceSettings::wav_dir(callouts);
    voice.keep_callout_files = Some(10);
    let settings = AgentSettings {
        driver_id: driver.into(),
        token: Some(token),
        login: None,
        app: DriverAppConfig {
            relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: env.addr().port() },
            cloud: CloudConfig { endpoint: "http://127.0.0.1:8080".into(), enabled: false },
            voice: VoiceConfig { enabled: false, sensitivity: 0.5, voice_id: "default".into() },
        },
        listen: "127.0.0.1:0".parse().unwrap(),
        api_key: None,
        api_allow_remote: false,
        telemetry_hz: 60.0,
        standings_hz: 2.0,
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        voice,
        spool: None,
        cloud_url: None,
        data_dir: None,
        config_file: None,
        joystick_dir: None,
        video: None,
    };
    start(settings, Box::new(source)).await.unwrap()
}

/// The agent's `GET /api/status`.
async fn status(addr: SocketAddr) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET /api/status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("status body {body:?}: {e}"))
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} not in the metrics"))
}

/// The next telemetry sample of `driver` on the dashboard with a sequence above `above`.
async fn next_sample_above(dash: &mut Client, driver: &str, above: u64, within: Duration) -> Option<u64> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match dash.recv_within(left).await {
            Some(Some(Message::TelemetryUpdate(t))) if t.driver_id == driver && t.sequence > Some(above) => {
                return t.sequence;
            }
            Some(Some(_)) => {}
            _ => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_on_another_source_is_back_within_2_s() {
    let (env, cloud) = relay_with_cloud().await;
    let mut dash = dashboard(&env).await;
    let token = env.token("drv-1", UserRole::Driver, TEAM);
    let callouts = tempfile::tempdir().unwrap();

    // The first agent streams for 2 s.
    let first = agent(&env, "drv-1", token.clone(), 3, callouts.path()).await;
    let mut last = 0;
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        last =
            next_sample_above(&mut dash, "drv-1", last, Duration::from_secs(5)).await.expect("the first agent streams");
    }
    let st = status(first.api_addr).await;
    assert_eq!(st["relayState"], "ok", "{st}");
    assert_eq!(st["samplesRefused"], 0, "{st}");
    assert!(st["lastAckedSequence"].as_u64().is_some(), "the relay acknowledges spooled samples: {st}");
    first.shutdown().await;
    // Whatever was still in flight reaches the dashboard before the restart.
    while let Some(s) = next_sample_above(&mut dash, "drv-1", last, Duration::from_millis(300)).await {
        last = s;
    }

    // Restarted on another source (another simulator seed: another race).
    let restarted_at = Instant::now();
    let second = agent(&env, "drv-1", token, 11, callouts.path()).await;
    let mut sample = second.shared.telemetry.subscribe();
    let first_sample = async {
        sample.wait_for(|s| s.is_some()).await.unwrap();
        Instant::now()
    };
    let on_dashboard = async {
        next_sample_above(&mut dash, "drv-1", last, Duration::from_secs(10)).await.expect("back on the dashboard");
        Instant::now()
    };
    let (t0, t1) = tokio::join!(first_sample, on_dashboard);
    let took = t1.saturating_duration_since(t0);
    println!(
        "restart-to-dashboard: {} ms after the restarted agent's first sample ({} ms after it was started)",
        took.as_millis(),
        t1.saturating_duration_since(restarted_at).as_millis()
    );
    assert!(took < Duration::from_secs(2), "restarted agent dark for {took:?}");

    // Nothing was refused or dropped on the way, and the cloud got the new samples too.
    let m = env.http_get("/metrics", "").await;
    assert_eq!(metric(&m, "pitbox_relay_duplicates_total"), 0, "{m}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stored = cloud.store.samples_of("drv-1");
        if stored.iter().any(|s| *s > last) {
            let mut sorted = stored.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), stored.len(), "every sample stored once");
            break;
        }
        assert!(Instant::now() < deadline, "the restarted agent's samples never reached the cloud");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let st = status(second.api_addr).await;
    assert_eq!((st["relayState"].as_str(), st["samplesRefused"].as_u64()), (Some("ok"), Some(0)), "{st}");
    second.shutdown().await;
    cloud.stop().await;
}

/// Log lines the relay writes while this test binary runs (every test's: filter by driver).
fn captured_log() -> Arc<std::sync::Mutex<Vec<u8>>> {
    static LOG: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
        let w = buf.clone();
        let make = move || Capture(w.clone());
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(make)
            .with_max_level(tracing::Level::WARN)
            .try_init();
        buf
    })
    .clone()
}

struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_numbers_from_1_again_is_taken_after_a_second_and_told_once() {
    let log = captured_log();
    let (env, cloud) = relay_with_cloud().await;
    let mut dash = dashboard(&env).await;
    let token = env.token("drv-2", UserRole::Driver, TEAM);
    let tick = Duration::from_millis(16);

    // An agent of the old kind streams samples 1..=90, then restarts and numbers from 1 again.
    let mut drv = env.client("drv-2", UserRole::Driver, TEAM).await;
    for seq in 1..=90 {
        drv.send(&telemetry("drv-2", seq)).await;
        tokio::time::sleep(tick).await;
    }
    drop(drv);
    while next_sample_above(&mut dash, "drv-2", 0, Duration::from_millis(300)).await.is_some() {}

    let mut drv = Client::connect(&env.url).await;
    assert!(drv.authenticate(&token, ClientType::Driver).await.success);
    let started = Instant::now();
    let mut back = None;
    let mut errors = Vec::new();
    for seq in 1..=200u64 {
        drv.send(&telemetry("drv-2", seq)).await;
        while let Some(Some(m)) = drv.recv_within(Duration::from_millis(1)).await {
            if let Message::Error(e) = m {
                errors.push(e);
            }
        }
        if back.is_none()
            && let Some(Some(Message::TelemetryUpdate(t))) = dash.recv_within(tick).await
            && t.driver_id == "drv-2"
        {
            back = Some((started.elapsed(), t.sequence));
        } else {
            tokio::time::sleep(tick).await;
        }
    }
    let (took, seq) = back.expect("the restarted numbering never reached the dashboard");
    println!("old-style restart back on the dashboard after {} ms (sample {seq:?})", took.as_millis());
    assert!(took < Duration::from_secs(2), "dark for {took:?}");
    // One report for the whole run of duplicates, not one per sample.
    let dups: Vec<_> = errors.iter().filter(|e| e.code == ErrorCode::Conflict).collect();
    assert_eq!(dups.len(), 1, "{errors:?}");
    assert_eq!(dups[0].field.as_deref(), Some("data.sequence"));
    assert_eq!(dups[0].message_type.as_deref(), Some("telemetry_update"));
    assert!(dups[0].message.contains("duplicate"), "{}", dups[0].message);
    let m = env.http_get("/metrics", "").await;
    // Dropped: the samples of the first second, up to the one taken as the new numbering.
    let taken = seq.expect("numbered");
    assert_eq!(metric(&m, "pitbox_relay_duplicates_total"), taken - 1, "{m}");
    assert!(took >= pitbox_relay::RESTART_AFTER, "taken after {took:?}, before the restart rule");
    // One warning for the run, with the driver and the range.
    let text = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains("duplicate sample(s) of drv-2")).collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(warnings[0].contains("WARN"), "{}", warnings[0]);
    let range = format!("{} duplicate sample(s) of drv-2 dropped (sequence 1–{}", taken - 1, taken - 1);
    assert!(warnings[0].contains(&range), "{}", warnings[0]);
    assert!(warnings[0].contains("restarted numbering"), "{}", warnings[0]);
    assert_eq!(metric(&m, "pitbox_relay_sequence_restarts_total"), 1, "{m}");
    cloud.stop().await;
}

/// A resend of unacknowledged samples after a reconnect is allowed (docs/protocol.md, `ack`):
/// the relay drops what it has already taken without telling the driver, and takes what follows.
/// (CI once saw the relay answer such a resend with an error: the relay had spooled samples
/// whose ack died with it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_after_a_reconnect_is_dropped_without_an_error() {
    let (env, cloud) = relay_with_cloud().await;
    let mut dash = dashboard(&env).await;
    let token = env.token("drv-4", UserRole::Driver, TEAM);
    let mut drv = env.client("drv-4", UserRole::Driver, TEAM).await;
    for seq in 1..=30 {
        drv.send(&telemetry("drv-4", seq)).await;
    }
    drv.sync().await;
    drop(drv);
    while next_sample_above(&mut dash, "drv-4", 0, Duration::from_millis(300)).await.is_some() {}

    let mut drv = Client::connect(&env.url).await;
    assert!(drv.authenticate(&token, ClientType::Driver).await.success);
    // The samples it was never told were taken, back to back, then new ones at 60 Hz.
    for seq in 11..=30 {
        drv.send(&telemetry("drv-4", seq)).await;
    }
    let mut errors = Vec::new();
    for seq in 31..=60 {
        drv.send(&telemetry("drv-4", seq)).await;
        while let Some(Some(m)) = drv.recv_within(Duration::from_millis(16)).await {
            if let Message::Error(e) = m {
                errors.push(e);
            }
        }
    }
    assert!(errors.is_empty(), "a resend is not an error: {errors:?}");
    let mut seen = Vec::new();
    while let Some(seq) = next_sample_above(&mut dash, "drv-4", 30, Duration::from_millis(500)).await {
        seen.push(seq);
    }
    assert_eq!(seen.first(), Some(&31), "what follows the resend is taken: {seen:?}");
    assert_eq!(seen.last(), Some(&60), "{seen:?}");
    let m = env.http_get("/metrics", "").await;
    assert_eq!(metric(&m, "pitbox_relay_duplicates_total"), 20, "{m}");
    assert_eq!(metric(&m, "pitbox_relay_sequence_restarts_total"), 0, "{m}");
    cloud.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_whose_samples_are_refused_says_so_in_its_status() {
    let env = Env::start(|_| {}).await;
    // The token is drv-9's; the agent was told it is drv-3 (the CLI refuses this at start; the
    // library takes what it is given, as an agent with a wrong config file would).
    let token = env.token("drv-9", UserRole::Driver, TEAM);
    let callouts = tempfile::tempdir().unwrap();
    let a = agent(&env, "drv-3", token, 5, callouts.path()).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let st = loop {
        let st = status(a.api_addr).await;
        if st["samplesRefused"].as_u64().unwrap_or(0) > 0 && st["relayState"] == "refused" {
            break st;
        }
        assert!(Instant::now() < deadline, "refusals never showed: {st}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(st["lastRefusal"]["code"], "forbidden", "{st}");
    let msg = st["lastRefusal"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("publishes only as themself"), "{msg}");
    assert!(st["telemetrySent"].as_u64().unwrap_or(0) > 0, "{st}");
    a.shutdown().await;
}

/// A replay of `left` samples at 60 Hz that then ends, as an `.ibt` file does.
struct Finite {
    driver: String,
    sent: u64,
    left: u64,
}

impl pitbox_sources::TelemetrySource for Finite {
    fn describe(&self) -> String {
        "finite test replay".into()
    }
    fn state(&self) -> pitbox_sources::ConnectionState {
        if self.left > 0 {
            pitbox_sources::ConnectionState::Connected
        } else {
            pitbox_sources::ConnectionState::Finished
        }
    }
    fn next_event(&mut self) -> Result<Option<pitbox_sources::SourceEvent>, pitbox_sources::SourceError> {
        if self.sent == 0 && self.left > 0 {
            self.sent = 1;
            return Ok(Some(pitbox_sources::SourceEvent::State(pitbox_sources::ConnectionState::Connected)));
        }
        if self.left == 0 {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(16));
        self.left -= 1;
        self.sent += 1;
        Ok(Some(pitbox_sources::SourceEvent::Telemetry(Box::new(common::sample(&self.driver, self.sent)))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_that_ends_tells_the_team_the_driver_is_gone() {
    let (env, cloud) = relay_with_cloud().await;
    let mut dash = env.client("eng-1", UserRole::Engineer, TEAM).await;
    dash.send(&Message::Subscribe(Subscribe {
        team_id: None,
        driver_ids: vec![],
        channels: vec![Channel::Telemetry, Channel::Status],
        max_rate_hz: Some(60.0),
    }))
    .await;
    dash.sync().await;
    let callouts = tempfile::tempdir().unwrap();
    let mut voice = pitbox_driver::VoiceSettings::wav_dir(callouts.path());
    voice.keep_callout_files = Some(10);
    let mut settings = AgentSettings::new(
        "drv-4",
        DriverAppConfig {
            relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: env.addr().port() },
            cloud: CloudConfig { endpoint: "http://127.0.0.1:8080".into(), enabled: false },
            voice: VoiceConfig { enabled: false, sensitivity: 0.5, voice_id: "default".into() },
        },
    );
    settings.token = Some(env.token("drv-4", UserRole::Driver, TEAM));
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.voice = voice;
    let source = Finite { driver: "drv-4".into(), sent: 0, left: 60 };
    let agent = start(settings, Box::new(source)).await.unwrap();
    // The agent returns by itself at the end of the replay.
    tokio::time::timeout(Duration::from_secs(10), agent.run_until(std::future::pending())).await.expect("replay ended");
    assert_eq!(*agent.shared.source_state.borrow(), pitbox_sources::ConnectionState::Finished);
    agent.shutdown().await;
    // The dashboard saw samples, then the driver go: inactive, telemetry not connected.
    let mut samples = 0;
    let gone = loop {
        match dash.recv_within(Duration::from_secs(5)).await {
            Some(Some(Message::TelemetryUpdate(_))) => samples += 1,
            Some(Some(Message::DriverStatus(s)))
                if s.driver_id == "drv-4" && s.status == pitbox_model::DriverStatus::Inactive =>
            {
                break s;
            }
            Some(Some(_)) => {}
            other => panic!("no inactive driver_status after the replay ended: {other:?}"),
        }
    };
    assert!(samples > 10, "{samples} samples seen");
    assert!(!gone.telemetry_connected && !gone.in_car, "{gone:?}");
    // The agent said so itself, so the cloud (which does not see the relay's connections) knows.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cloud.store.messages().iter().any(|m| {
        matches!(m, Message::DriverStatus(s) if s.driver_id == "drv-4" && s.status == pitbox_model::DriverStatus::Inactive)
    }) {
        assert!(Instant::now() < deadline, "the cloud never heard the driver went: {:?}", cloud.store.messages());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cloud.stop().await;
}
