//! Issue 21, "Sign-in and renewal for machines", across the chain: a cloud whose access tokens
//! live 60 s, a relay linked by an engineer (`pitbox relay login`'s [`pitbox_relay::cli::link`])
//! and a driver agent on the simulator signed in as its driver (`pitbox driver login`'s
//! [`pitbox_driver::init::sign_in`]), both renewing their credentials from the stored sign-in.
//! Streaming for 5 minutes (`PITBOX_RENEWAL_SECS` shortens it for a local run): the cloud
//! stores every sample exactly once with no gap longer than a few seconds, and each hop renewed
//! at least 4 times. A sign-in the cloud revoked is an error state in the agent's
//! `/api/status` and the relay's `/health`, and in the log.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pitbox_auth::login::{CredentialKind, LOGIN_FILE, RenewalConfig, StoredLogin, start_renewal};
use pitbox_driver::{AgentHandle, AgentSettings};
use pitbox_model::UserRole;
use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
use pitbox_relay::{RelayConfig, RelayHandle, UplinkConfig};
use pitbox_sources::live::LiveOptions;
use pitbox_sources::sim::output::LivePace;
use pitbox_sources::sim::source::SimSource;
use pitbox_sources::sim::{SimConfig, track};

const ENGINEER: (&str, &str) = ("pitwall", "a long engineer password");

struct Cloud {
    state: pitbox_cloud::server::AppState,
    url: String,
    team: pitbox_demo::accounts::DemoTeam,
}

/// A cloud in `dir` whose access tokens live `ttl`, with the demo team and an engineer.
async fn cloud(dir: &Path, ttl: Duration) -> Cloud {
    let mut cfg = pitbox_cloud::Config::local(dir);
    cfg.access_token_ttl = ttl;
    let state = pitbox_cloud::server::AppState::open(&cfg).await.expect("cloud");
    let team = pitbox_demo::accounts::seed(&state.store).await.expect("seed");
    pitbox_cloud::accounts::add_user(&state.store, ENGINEER.0, ENGINEER.1, UserRole::Engineer, Some(&team.team_id))
        .await
        .expect("engineer");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = pitbox_cloud::server::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Cloud { state, url: format!("http://{addr}"), team }
}

/// A relay in `dir`, linked by the engineer: its uplink credential renews from `login.json`.
async fn relay(cloud: &Cloud, dir: &Path) -> RelayHandle {
    let login = pitbox_relay::cli::link(dir, &cloud.url, ENGINEER.0, ENGINEER.1, "renewal test").await.expect("link");
    assert_eq!(login.role, "engineer", "an engineer links the relay of their own team");
    relay_from(cloud, dir, login, "127.0.0.1:0".parse().expect("addr")).await
}

/// A relay in `dir` with the sign-in `login`, listening on `listen`.
async fn relay_from(cloud: &Cloud, dir: &Path, login: StoredLogin, listen: SocketAddr) -> RelayHandle {
    let mut verifier = pitbox_auth::Verifier::new();
    verifier.add_jwks_json(&cloud.state.keys.jwks().to_string()).expect("jwks");
    let mut cfg = RelayConfig::new(listen, dir.to_path_buf(), verifier);
    cfg.batch_interval = Duration::from_millis(100);
    let mut uplink = UplinkConfig::new(
        format!("{}/ws", cloud.url.replace("http://", "ws://")),
        login.access_token.clone().unwrap_or_default(),
    );
    uplink.backoff_max = Duration::from_secs(1);
    cfg.cloud = Some(uplink);
    cfg.cloud_login = Some(login);
    pitbox_relay::start(cfg).await.expect("relay")
}

/// A driver agent on the simulator, signed in with `login` (kept in `dir`), renewing from it.
async fn agent_with(relay: SocketAddr, dir: &Path, login: StoredLogin) -> AgentHandle {
    let save: pitbox_auth::login::SaveFn =
        Arc::new(|p, b| pitbox_driver::private::write_private(p, b).map_err(std::io::Error::other));
    let renewal = start_renewal(
        login.clone(),
        RenewalConfig {
            path: dir.join(LOGIN_FILE),
            kind: CredentialKind::User,
            save,
            reread_every: Duration::from_millis(500),
        },
    );
    let driver_id = pitbox_driver::cli::driver_id_for_login(None, &login).expect("id");
    let source = SimSource::start(
        SimConfig::new(7, &track::RED_BULL_RING),
        LivePace { speed: 1.0 },
        LiveOptions::new(&driver_id),
    )
    .expect("sim");
    let app = DriverAppConfig {
        relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: relay.port() },
        cloud: CloudConfig { endpoint: "http://127.0.0.1:8080".into(), enabled: false },
        voice: VoiceConfig { enabled: false, sensitivity: 0.5, voice_id: "default".into() },
    };
    let mut settings = AgentSettings::new(driver_id, app);
    settings.login = Some(renewal);
    settings.listen = "127.0.0.1:0".parse().expect("addr");
    settings.backoff_min = Duration::from_millis(100);
    settings.backoff_max = Duration::from_secs(1);
    settings.voice = pitbox_driver::VoiceSettings::wav_dir(dir.join("callouts"));
    pitbox_driver::start(settings, Box::new(source)).await.expect("agent")
}

async fn get_json(url: String) -> serde_json::Value {
    let r = reqwest::get(&url).await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    r.json().await.expect("json")
}

/// Every sample the cloud stored for `driver`: (timestamp ms, sequence).
async fn stored(cloud: &Cloud, driver: &str) -> Vec<(i64, i64)> {
    let store = &cloud.state.store;
    let mut out = Vec::new();
    for s in pitbox_cloud::telemetry::list_sessions(store, Some(&cloud.team.team_id), 1000).await.expect("sessions") {
        if s.driver_id != driver {
            continue;
        }
        for lap in pitbox_cloud::telemetry::list_laps(store, &s.id).await.expect("laps") {
            let cols = pitbox_cloud::telemetry::lap_columns(store, &cloud.state.objects, &s.id, lap.lap)
                .await
                .expect("columns");
            out.extend(cols.timestamps.iter().copied().zip(cols.sequences.iter().copied()));
        }
    }
    out.sort_unstable();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_minutes_on_one_minute_tokens_store_every_sample_once_with_no_gap() {
    let secs: u64 = std::env::var("PITBOX_RENEWAL_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let dir = tempfile::tempdir().expect("temp dir");
    let cloud = cloud(&dir.path().join("cloud"), Duration::from_secs(60)).await;
    let relay = relay(&cloud, &dir.path().join("relay")).await;
    let driver = cloud.team.drivers()[0].clone();
    let driver_dir = dir.path().join("driver");
    let relay_addr = relay.addr();
    let login = pitbox_driver::init::sign_in(&cloud.url, &driver.username, &driver.password).await.expect("sign in");
    assert_eq!(login.user_id, driver.user_id, "the driver id is the account's");
    pitbox_driver::init::save_login(&driver_dir, &login).expect("save");
    let agent = agent_with(relay_addr, &driver_dir, login).await;
    let status_url = format!("http://{}/api/status", agent.api_addr);
    let health_url = format!("http://{}/health", relay_addr);

    let started = Instant::now();
    let mut last_print = Instant::now();
    while started.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(5)).await;
        if last_print.elapsed() >= Duration::from_secs(60) {
            let s = get_json(status_url.clone()).await;
            let h = get_json(health_url.clone()).await;
            println!(
                "{:>3} s: agent sent {} (login {}), relay uplink {} (login {})",
                started.elapsed().as_secs(),
                s["telemetrySent"],
                s["login"],
                h["uplink"],
                h["login"]
            );
            last_print = Instant::now();
        }
    }
    let status = get_json(status_url.clone()).await;
    let health = get_json(health_url.clone()).await;
    let sent = agent.shared.sent_telemetry.load(std::sync::atomic::Ordering::Relaxed);
    agent.shutdown().await;

    // Everything the relay took reaches the cloud: wait for the spool to drain.
    let drained = Instant::now();
    loop {
        let h = get_json(health_url.clone()).await;
        if h["spool"]["batches"] == 0 && h["uplink"] == "connected" {
            break;
        }
        assert!(drained.elapsed() < Duration::from_secs(30), "the relay's spool did not drain: {h}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The cloud's group commit is asynchronous: wait until the counts settle.
    let mut samples = stored(&cloud, &driver.user_id).await;
    let settle = Instant::now();
    while (samples.len() as u64) < sent && settle.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        samples = stored(&cloud, &driver.user_id).await;
    }

    let driver_renewals = status["login"]["renewals"].as_u64().unwrap_or(0);
    let relay_renewals = health["login"]["renewals"].as_u64().unwrap_or(0);
    let mut seqs: Vec<i64> = samples.iter().map(|(_, s)| *s).collect();
    seqs.sort_unstable();
    let total = seqs.len();
    seqs.dedup();
    let longest_gap_ms = samples.windows(2).map(|w| w[1].0 - w[0].0).max().unwrap_or(i64::MAX);
    println!(
        "renewal: {secs} s on 60 s tokens: agent sent {sent} samples, cloud stored {total} ({} distinct); \
         renewals: driver {driver_renewals}, relay {relay_renewals}; longest gap in the stored samples {longest_gap_ms} ms",
        seqs.len()
    );
    assert_eq!(status["login"]["state"], "ok", "{status}");
    assert_eq!(health["login"]["state"], "ok", "{health}");
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(total, seqs.len(), "no sample is stored twice");
    assert_eq!(total as u64, sent, "every sample the agent sent is stored");
    // Renewals are due every 40 s (2/3 of 60 s): at least 4 in 5 minutes on each hop.
    let required = (secs.saturating_sub(10) / 40).min(4);
    assert!(
        driver_renewals >= required && relay_renewals >= required,
        "renewals: driver {driver_renewals}, relay {relay_renewals} (at least {required} expected in {secs} s)"
    );
    assert!(longest_gap_ms <= 3_000, "a gap of {longest_gap_ms} ms in the stored samples");
    // The stored sign-ins carry the rotated refresh tokens: still good for a restart.
    for path in [driver_dir.join(LOGIN_FILE), dir.path().join("relay").join(LOGIN_FILE)] {
        let l = StoredLogin::load(&path).expect("read").expect("present");
        assert!(l.access_token.is_some(), "{}", path.display());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
        }
    }
    relay.shutdown().await;
}

/// Log lines written while the test runs (a subscriber for this test's runtime thread).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_revoked_sign_in_is_an_error_in_the_status_the_health_and_the_log() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let dir = tempfile::tempdir().expect("temp dir");
    let cloud = cloud(&dir.path().join("cloud"), Duration::from_secs(60)).await;
    let driver = cloud.team.drivers()[1].clone();
    let driver_dir = dir.path().join("driver");
    let relay_dir = dir.path().join("relay");
    let login = pitbox_driver::init::sign_in(&cloud.url, &driver.username, &driver.password).await.expect("sign in");
    let relay_login = pitbox_relay::cli::link(&relay_dir, &cloud.url, ENGINEER.0, ENGINEER.1, "r").await.expect("link");
    // A driver cannot link a relay: said plainly.
    let e = pitbox_relay::cli::link(&dir.path().join("r2"), &cloud.url, &driver.username, &driver.password, "r")
        .await
        .expect_err("a driver links no relay");
    assert!(e.to_string().contains("engineer or admin"), "{e}");
    // The team's admin ends both sign-ins (what `pitbox user disable` or a password change does).
    for who in [&login.user_id, &relay_login.user_id] {
        cloud.state.store.revoke_user_refresh(who).await.expect("revoke");
    }
    // Their access credentials are spent too: the next renewal is due at once.
    let mut login = login;
    login.access_token = None;
    pitbox_driver::init::save_login(&driver_dir, &login).expect("save");
    let mut relay_login = relay_login;
    relay_login.access_token = None;
    std::fs::write(relay_dir.join(LOGIN_FILE), relay_login.to_json()).expect("save");

    let save: pitbox_auth::login::SaveFn =
        Arc::new(|p, b| pitbox_driver::private::write_private(p, b).map_err(std::io::Error::other));
    let renewal = start_renewal(
        login.clone(),
        RenewalConfig {
            path: driver_dir.join(LOGIN_FILE),
            kind: CredentialKind::User,
            save,
            reread_every: Duration::from_millis(200),
        },
    );
    let source = SimSource::start(
        SimConfig::new(3, &track::RED_BULL_RING),
        LivePace { speed: 1.0 },
        LiveOptions::new(&login.user_id),
    )
    .expect("sim");
    let app = DriverAppConfig {
        relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: 9 },
        cloud: CloudConfig { endpoint: cloud.url.clone(), enabled: false },
        voice: VoiceConfig { enabled: false, sensitivity: 0.5, voice_id: "default".into() },
    };
    let mut settings = AgentSettings::new(login.user_id.clone(), app);
    settings.login = Some(renewal);
    settings.listen = "127.0.0.1:0".parse().expect("addr");
    settings.voice = pitbox_driver::VoiceSettings::wav_dir(driver_dir.join("callouts"));
    let agent = pitbox_driver::start(settings, Box::new(source)).await.expect("agent");

    let mut verifier = pitbox_auth::Verifier::new();
    verifier.add_jwks_json(&cloud.state.keys.jwks().to_string()).expect("jwks");
    let mut cfg = RelayConfig::new("127.0.0.1:0".parse().expect("addr"), relay_dir.clone(), verifier);
    cfg.cloud = Some(UplinkConfig::new(format!("{}/ws", cloud.url.replace("http://", "ws://")), ""));
    cfg.cloud_login = Some(relay_login);
    let relay = pitbox_relay::start(cfg).await.expect("relay");

    let status_url = format!("http://{}/api/status", agent.api_addr);
    let health_url = format!("http://{}/health", relay.addr());
    let at = Instant::now();
    let (status, health) = loop {
        let s = get_json(status_url.clone()).await;
        let h = get_json(health_url.clone()).await;
        if (s["login"]["state"] == "refused" && h["login"]["state"] == "refused")
            || at.elapsed() > Duration::from_secs(15)
        {
            break (s, h);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("agent: {status}\nrelay: {health}");
    assert_eq!(status["login"]["state"], "refused", "{status}");
    let why = status["login"]["lastError"].as_str().unwrap_or("");
    assert!(why.contains("revoked"), "{why}");
    assert_eq!(health["login"]["state"], "refused", "{health}");
    assert_eq!(health["status"], "degraded", "a relay nobody can renew is not ok: {health}");
    let text = String::from_utf8_lossy(&log.0.lock().expect("log")).into_owned();
    assert!(
        text.contains("ERROR") && text.contains("refused to renew this machine's sign-in") && text.contains("revoked"),
        "{text}"
    );

    // Signing in again (what `pitbox driver login` writes) is picked up without a restart.
    let again = pitbox_driver::init::sign_in(&cloud.url, &driver.username, &driver.password).await.expect("sign in");
    pitbox_driver::init::save_login(&driver_dir, &again).expect("save");
    let at = Instant::now();
    loop {
        let s = get_json(status_url.clone()).await;
        if s["login"]["state"] == "ok" {
            assert!(s["login"]["renewals"].as_u64().unwrap_or(0) >= 1, "{s}");
            break;
        }
        assert!(at.elapsed() < Duration::from_secs(10), "a new sign-in was not picked up: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    agent.shutdown().await;
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_opened_after_the_first_tokens_expired_use_the_renewed_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 10 s tokens: renewed every ~7 s; after 25 s the first ones have long expired.
    let cloud = cloud(&dir.path().join("cloud"), Duration::from_secs(10)).await;
    let relay_dir = dir.path().join("relay");
    let linked_at = pitbox_auth::login::now_secs();
    let relay = relay(&cloud, &relay_dir).await;
    let relay_addr = relay.addr();
    let driver = cloud.team.drivers()[2].clone();
    let driver_dir = dir.path().join("driver");
    let login = pitbox_driver::init::sign_in(&cloud.url, &driver.username, &driver.password).await.expect("sign in");
    let first_driver_token = login.access_token.clone().expect("token");
    pitbox_driver::init::save_login(&driver_dir, &login).expect("save");
    let agent = agent_with(relay_addr, &driver_dir, login).await;
    tokio::time::sleep(Duration::from_secs(25)).await;
    let saved_relay = StoredLogin::load(&relay_dir.join(LOGIN_FILE)).expect("read").expect("relay sign-in");
    let saved_credential = saved_relay.access_token.as_deref().and_then(pitbox_auth::login::token_times);
    assert!(
        saved_credential.is_some_and(|(iat, _)| iat >= linked_at + 5),
        "the saved relay credential is a renewed one"
    );
    assert!(
        pitbox_auth::login::token_times(&first_driver_token)
            .is_some_and(|(_, exp)| exp < pitbox_auth::login::now_secs()),
        "the driver's first token has expired"
    );

    // The relay restarts on the same address: both links are new and must authenticate with
    // the renewed credentials (the first ones would be refused as expired).
    relay.shutdown().await;
    let relay = relay_from(&cloud, &relay_dir, saved_relay, relay_addr).await;
    let before =
        pitbox_cloud::telemetry::stored_sample_count(&cloud.state.store, &driver.user_id).await.expect("count");
    let status_url = format!("http://{}/api/status", agent.api_addr);
    let health_url = format!("http://{relay_addr}/health");
    let at = Instant::now();
    loop {
        let s = get_json(status_url.clone()).await;
        let h = get_json(health_url.clone()).await;
        let now =
            pitbox_cloud::telemetry::stored_sample_count(&cloud.state.store, &driver.user_id).await.expect("count");
        if s["relayState"] == "ok" && s["relayConnected"] == true && h["uplink"] == "connected" && now > before + 60 {
            println!(
                "links back {} ms after the relay restarted; agent login {}, relay login {}",
                at.elapsed().as_millis(),
                s["login"],
                h["login"]
            );
            assert_eq!(s["login"]["state"], "ok", "{s}");
            assert_eq!(h["login"]["state"], "ok", "{h}");
            assert!(s["login"]["renewals"].as_u64().unwrap_or(0) >= 3, "{s}");
            break;
        }
        assert!(
            at.elapsed() < Duration::from_secs(20),
            "links not back with renewed credentials: agent {s}, relay {h}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    agent.shutdown().await;
    relay.shutdown().await;
}
