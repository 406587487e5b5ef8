//! `pitbox doctor` against real servers started in this process on port 0 (a relay, a cloud
//! node), stand-ins for the failures a real server cannot be made to show (a skewed clock, a
//! broken database), closed ports, bad tokens and unwritable directories. PostgreSQL, Redis and
//! S3 (moto) run when their test settings are present and are skipped plainly otherwise.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use pitbox_doctor::{Settings, check_all};
use pitbox_model::CheckStatus;
use pitbox_model::rest::ValidationResult;

fn find<'a>(results: &'a [ValidationResult], name: &str) -> &'a ValidationResult {
    results.iter().find(|r| r.component_name == name).unwrap_or_else(|| panic!("no {name} result in {results:#?}"))
}

fn assert_status(r: &ValidationResult, status: CheckStatus) {
    assert_eq!(r.status, status, "{}: {}", r.component_name, r.message);
}

fn settings() -> Settings {
    Settings { timeout: Duration::from_secs(5), ..Settings::default() }
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    addr
}

/// A real cloud node over SQLite and local objects in `dir`.
async fn start_cloud(dir: &Path) -> SocketAddr {
    let config = pitbox_cloud::Config::local(dir);
    let state = pitbox_cloud::AppState::open(&config).await.expect("cloud node");
    serve(pitbox_cloud::server::router(state)).await
}

/// A token for `user` (a driver of team-a) signed with the offline key pair in `dir`.
fn token(dir: &Path, user: &str, ttl: Duration) -> String {
    let args = pitbox_auth::cli::TokenArgs {
        data_dir: dir.to_path_buf(),
        user_id: user.into(),
        role: pitbox_model::UserRole::Driver,
        team: "team-a".into(),
        ttl,
        name: None,
        verbose: false,
        relay: false,
    };
    pitbox_auth::cli::make_token(&args).expect("token")
}

/// A real relay trusting the offline key pair in `dir`, and a driver token signed with it.
async fn start_relay(dir: &Path) -> (pitbox_relay::RelayHandle, String) {
    start_relay_with(dir, None).await
}

/// Like [`start_relay`], linked to the cloud at `cloud` (a WebSocket URL) when given.
async fn start_relay_with(dir: &Path, cloud: Option<String>) -> (pitbox_relay::RelayHandle, String) {
    let token = token(dir, "alice", Duration::from_secs(3 * 86_400));
    let mut verifier = pitbox_auth::Verifier::new();
    verifier.add_data_dir(dir).expect("offline key");
    let mut cfg = pitbox_relay::RelayConfig::new(([127, 0, 0, 1], 0).into(), dir.to_path_buf(), verifier);
    if let Some(url) = cloud {
        let mut up = pitbox_relay::UplinkConfig::new(url, "relay-token");
        up.backoff_max = Duration::from_millis(500);
        cfg.cloud = Some(up);
    }
    let relay = pitbox_relay::start(cfg).await.expect("relay");
    (relay, token)
}

#[tokio::test]
async fn a_healthy_installation_passes_every_configured_check() {
    let cloud_dir = tempfile::tempdir().expect("tempdir");
    let relay_dir = tempfile::tempdir().expect("tempdir");
    let cloud = start_cloud(cloud_dir.path()).await;
    let (relay, token) = start_relay(relay_dir.path()).await;
    let s = Settings {
        relay_url: Some(format!("ws://{}/", relay.addr())),
        token: Some(token),
        cloud_url: Some(format!("http://{cloud}")),
        data_dir: Some(cloud_dir.path().to_path_buf()),
        redis_url: std::env::var("PITBOX_TEST_REDIS_URL").ok(),
        nats_url: std::env::var("PITBOX_TEST_NATS_URL").ok(),
        ..settings()
    };
    let results = check_all(&s).await;
    let names: Vec<&str> = results.iter().map(|r| r.component_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "sim", "relay", "uplink", "token", "cloud", "clock", "storage", "s3", "database", "redis", "nats", "audio",
            "tts", "stt"
        ]
    );
    for r in &results {
        pitbox_model::validate::validate(r, "").unwrap_or_else(|e| panic!("{r:?} breaks the model: {e}"));
    }

    let relay_r = find(&results, "relay");
    assert_status(relay_r, CheckStatus::Success);
    assert!(relay_r.message.contains("authenticated as alice (driver)"), "{}", relay_r.message);
    // An offline relay has no cloud link to check.
    let uplink = find(&results, "uplink");
    assert!(pitbox_doctor::is_not_configured(uplink), "{}", uplink.message);
    assert!(uplink.message.contains("the relay runs offline"), "{}", uplink.message);
    let token = find(&results, "token");
    assert_status(token, CheckStatus::Success);
    assert!(token.message.starts_with("the token of alice (driver) is valid until"), "{}", token.message);
    let cloud_r = find(&results, "cloud");
    assert_status(cloud_r, CheckStatus::Success);
    assert!(cloud_r.message.contains("is healthy"), "{}", cloud_r.message);
    assert_status(find(&results, "clock"), CheckStatus::Success);
    let storage = find(&results, "storage");
    assert_status(storage, CheckStatus::Success);
    assert!(storage.message.contains("is writable"), "{}", storage.message);
    let db = find(&results, "database");
    assert_status(db, CheckStatus::Success);
    assert!(db.message.contains("schema current"), "{}", db.message);
    // Not configured: a warning that says so, marked in details.
    let s3 = find(&results, "s3");
    assert_status(s3, CheckStatus::Warning);
    assert!(s3.message.starts_with("not configured: telemetry objects are stored locally"), "{}", s3.message);
    if s.redis_url.is_some() {
        let redis = find(&results, "redis");
        assert_status(redis, CheckStatus::Success);
        assert!(redis.message.contains("answers PING"), "{}", redis.message);
    } else {
        pitbox_testkit::skip("doctor redis success", "PITBOX_TEST_REDIS_URL is not set");
    }
    if s.nats_url.is_some() {
        let nats = find(&results, "nats");
        assert_status(nats, CheckStatus::Success);
        assert!(nats.message.contains("answers (NATS "), "{}", nats.message);
    } else {
        pitbox_testkit::skip("doctor nats success", "PITBOX_TEST_NATS_URL is not set");
    }
    // No sound card is a warning (callouts fall back to WAV files), never an error.
    assert_ne!(find(&results, "audio").status, CheckStatus::Error, "{}", find(&results, "audio").message);
    #[cfg(not(windows))]
    {
        let sim = find(&results, "sim");
        assert_status(sim, CheckStatus::Warning);
        assert!(sim.message.contains("iRacing runs only on Windows"), "{}", sim.message);
    }
    relay.shutdown().await;
}

#[tokio::test]
async fn nothing_configured_is_warnings_not_errors() {
    let results = check_all(&settings()).await;
    for name in ["relay", "uplink", "token", "cloud", "clock", "storage", "s3", "database", "redis", "nats"] {
        let r = find(&results, name);
        assert_status(r, CheckStatus::Warning);
        assert!(r.message.starts_with("not configured: "), "{name}: {}", r.message);
        assert!(pitbox_doctor::is_not_configured(r), "{name}");
    }
}

#[tokio::test]
async fn closed_ports_are_errors_that_name_the_address() {
    let (rp, cp, redis_port, nats_port) = (closed_port(), closed_port(), closed_port(), closed_port());
    let s = Settings {
        relay_url: Some(format!("ws://127.0.0.1:{rp}/")),
        cloud_url: Some(format!("http://127.0.0.1:{cp}")),
        redis_url: Some(format!("redis://127.0.0.1:{redis_port}")),
        nats_url: Some(format!("nats://127.0.0.1:{nats_port}")),
        database_url: Some(format!("postgres://postgres@127.0.0.1:{}/test", closed_port())),
        ..settings()
    };
    let results = check_all(&s).await;
    let relay = find(&results, "relay");
    assert_status(relay, CheckStatus::Error);
    assert!(
        relay.message.starts_with(&format!("cannot connect to the relay at ws://127.0.0.1:{rp}/")),
        "{}",
        relay.message
    );
    assert!(relay.message.to_lowercase().contains("refused"), "{}", relay.message);
    let cloud = find(&results, "cloud");
    assert_status(cloud, CheckStatus::Error);
    assert!(
        cloud.message.starts_with(&format!("cannot reach the cloud: GET http://127.0.0.1:{cp}/health")),
        "{}",
        cloud.message
    );
    assert!(cloud.message.to_lowercase().contains("refused"), "{}", cloud.message);
    // No server answered, so there was no clock to compare with.
    assert!(pitbox_doctor::is_not_configured(find(&results, "clock")));
    let redis = find(&results, "redis");
    assert_status(redis, CheckStatus::Error);
    assert!(
        redis.message.starts_with(&format!("cannot connect to redis://127.0.0.1:{redis_port}")),
        "{}",
        redis.message
    );
    let nats = find(&results, "nats");
    assert_status(nats, CheckStatus::Error);
    assert!(nats.message.starts_with(&format!("cannot connect to nats://127.0.0.1:{nats_port}")), "{}", nats.message);
    let db = find(&results, "database");
    assert_status(db, CheckStatus::Error);
    assert!(db.message.starts_with("postgres://postgres@127.0.0.1:"), "{}", db.message);
}

#[tokio::test]
async fn a_bad_token_is_refused_with_the_relays_reason() {
    let relay_dir = tempfile::tempdir().expect("tempdir");
    let other_dir = tempfile::tempdir().expect("tempdir");
    let (relay, _) = start_relay(relay_dir.path()).await;
    // Signed by another key pair: the relay does not trust it.
    let (_, foreign) = start_relay(other_dir.path()).await;
    let url = format!("ws://{}/", relay.addr());
    let s = Settings { relay_url: Some(url.clone()), token: Some(foreign), ..settings() };
    let r = find(&check_all(&s).await, "relay").clone();
    assert_status(&r, CheckStatus::Error);
    assert!(r.message.starts_with("relay "), "{}", r.message);
    assert!(r.message.contains(&format!("at {url} refused the token: ")), "{}", r.message);
    assert!(r.message.contains("signature"), "{}", r.message);

    let s = Settings { relay_url: Some(url.clone()), token: None, ..settings() };
    let r = find(&check_all(&s).await, "relay").clone();
    assert_status(&r, CheckStatus::Warning);
    assert!(r.message.contains("authentication was not checked: give --token"), "{}", r.message);
    relay.shutdown().await;
}

#[tokio::test]
async fn an_http_server_is_not_a_relay() {
    let cloud_dir = tempfile::tempdir().expect("tempdir");
    let cloud = start_cloud(cloud_dir.path()).await;
    let s = Settings { relay_url: Some(format!("ws://{cloud}/health")), ..settings() };
    let r = find(&check_all(&s).await, "relay").clone();
    assert_status(&r, CheckStatus::Error);
    assert!(r.message.starts_with(&format!("cannot connect to the relay at ws://{cloud}/health: ")), "{}", r.message);
}

#[tokio::test]
async fn unwritable_storage_is_an_error_naming_the_path() {
    let t = tempfile::tempdir().expect("tempdir");
    let file = t.path().join("not-a-dir");
    std::fs::write(&file, b"x").expect("write");
    let s = Settings { data_dir: Some(file.clone()), ..settings() };
    let results = check_all(&s).await;
    let r = find(&results, "storage");
    assert_status(r, CheckStatus::Error);
    assert!(r.message.starts_with(&format!("{} is not a directory", file.display())), "{}", r.message);

    // A directory without write permission (root ignores permissions, so only as another user).
    let ro = t.path().join("read-only");
    std::fs::create_dir(&ro).expect("mkdir");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).expect("chmod");
        if std::fs::write(ro.join("x"), b"x").is_ok() {
            pitbox_testkit::skip("doctor read-only directory", "running as root: permissions are not enforced");
        } else {
            let s = Settings { storage_url: Some(ro.display().to_string()), ..settings() };
            let r = find(&check_all(&s).await, "storage").clone();
            assert_status(&r, CheckStatus::Error);
            assert!(r.message.starts_with(&format!("cannot write {}/", ro.display())), "{}", r.message);
            assert!(r.message.contains("ermission denied"), "{}", r.message);
        }
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
}

#[tokio::test]
async fn an_unsupported_storage_url_is_an_error() {
    let s = Settings { storage_url: Some("ftp://host/x".into()), ..settings() };
    let r = find(&check_all(&s).await, "storage").clone();
    assert_status(&r, CheckStatus::Error);
    assert_eq!(r.message, "unsupported storage URL `ftp://host/x`: use a directory, file:///DIR or s3://BUCKET/PREFIX");
}

/// A stand-in cloud: `/health` with the given status and body, a `Date` header `skew` off.
async fn stand_in_cloud(health_status: StatusCode, health: serde_json::Value, skew: chrono::Duration) -> SocketAddr {
    let app = Router::new()
        .route(
            "/health",
            get(move || {
                let health = health.clone();
                async move {
                    let date = (chrono::Utc::now() + skew).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
                    (health_status, [(header::DATE, date)], axum::Json(health)).into_response()
                }
            }),
        )
        .route(
            "/api/config",
            get(|| async { axum::Json(serde_json::json!({"version": "0.1.0", "protocolVersion": "1.0"})) }),
        );
    serve(app).await
}

#[tokio::test]
async fn clock_skew_is_a_warning_over_1s_and_an_error_over_5s() {
    let ok = serde_json::json!({"status": "ok", "database": "ok", "node": "n1"});
    for (skew_s, status, words) in [
        (0, CheckStatus::Success, "local clock agrees with the cloud"),
        (3, CheckStatus::Warning, "behind the cloud"),
        (-30, CheckStatus::Error, "ahead of the cloud"),
    ] {
        let addr = stand_in_cloud(StatusCode::OK, ok.clone(), chrono::Duration::seconds(skew_s)).await;
        let s = Settings { cloud_url: Some(format!("http://{addr}")), ..settings() };
        let results = check_all(&s).await;
        assert_status(find(&results, "cloud"), CheckStatus::Success);
        let clock = find(&results, "clock");
        assert_status(clock, status);
        assert!(clock.message.contains(words), "{skew_s}: {}", clock.message);
    }
}

#[tokio::test]
async fn an_unhealthy_cloud_reports_its_database_error() {
    let body = serde_json::json!({"status": "degraded", "database": "database: pool timed out", "node": "n2"});
    let addr = stand_in_cloud(StatusCode::SERVICE_UNAVAILABLE, body, chrono::Duration::zero()).await;
    let s = Settings { cloud_url: Some(format!("http://{addr}")), ..settings() };
    let r = find(&check_all(&s).await, "cloud").clone();
    assert_status(&r, CheckStatus::Error);
    assert_eq!(
        r.message,
        format!("cloud node n2 at http://{addr} is unhealthy (HTTP 503): database: database: pool timed out")
    );
}

#[tokio::test]
async fn a_new_sqlite_database_is_reported_not_created() {
    let t = tempfile::tempdir().expect("tempdir");
    let s = Settings { data_dir: Some(t.path().to_path_buf()), ..settings() };
    let r = find(&check_all(&s).await, "database").clone();
    assert_status(&r, CheckStatus::Warning);
    assert!(r.message.contains("does not exist: `pitbox cloud` creates it on first start"), "{}", r.message);
    assert!(!t.path().join("pitbox.db").exists(), "the doctor must not create the database");
}

/// Creates a fresh PostgreSQL database next to PITBOX_TEST_DATABASE_URL's and returns its URL.
async fn fresh_postgres(test: &str) -> Option<(String, String)> {
    let Ok(base) = std::env::var("PITBOX_TEST_DATABASE_URL") else {
        pitbox_testkit::skip(test, "PITBOX_TEST_DATABASE_URL is not set");
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("pitbox_doctor_{:016x}", unique_suffix());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("PITBOX_TEST_DATABASE_URL={base} is set but unreachable: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create");
    let url = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => format!("{}/{name}", &base[..i]),
        _ => format!("{base}/{name}"),
    };
    Some((url, name))
}

async fn drop_postgres(name: &str) {
    if let Ok(base) = std::env::var("PITBOX_TEST_DATABASE_URL")
        && let Ok(mut conn) = <sqlx::AnyConnection as sqlx::Connection>::connect(&base).await
    {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .execute(&mut conn)
            .await;
    }
}

fn unique_suffix() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (t.as_nanos() as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

#[tokio::test]
async fn postgres_migrations_pending_then_current() {
    let Some((url, name)) = fresh_postgres("postgres_migrations_pending_then_current").await else { return };
    let s = Settings { database_url: Some(url.clone()), ..settings() };
    let r = find(&check_all(&s).await, "database").clone();
    assert_status(&r, CheckStatus::Warning);
    assert!(r.message.starts_with("PostgreSQL postgres://"), "{}", r.message);
    // Reading the status applied nothing: everything this build carries is still pending.
    let st = pitbox_cloud::migrations::migration_status(&url, Duration::from_secs(5)).await.expect("status");
    let n = st.embedded.len();
    assert!(n >= 1);
    assert_eq!(st.pending.len(), n);
    assert!(st.applied.is_empty());
    let pending =
        if n == 1 { "1 migration pending (0001 ".to_string() } else { format!("{n} migrations pending (0001 ") };
    assert!(r.message.contains(&pending), "{}", r.message);
    // The cloud applies them; then the schema is current.
    drop(pitbox_cloud::Store::open(&url).await.expect("open"));
    let r = find(&check_all(&s).await, "database").clone();
    assert_status(&r, CheckStatus::Success);
    let applied = if n == 1 { "1 migration applied".to_string() } else { format!("{n} migrations applied") };
    assert!(r.message.contains(&format!("schema current ({applied})")), "{}", r.message);
    // A migration from a newer build.
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.expect("connect");
    sqlx::raw_sql(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'future', TRUE, '\\x00', 1)",
    )
    .execute(&mut conn)
    .await
    .expect("insert");
    drop(conn);
    let r = find(&check_all(&s).await, "database").clone();
    assert_status(&r, CheckStatus::Error);
    assert!(r.message.contains("has migration 9999 that this build does not know"), "{}", r.message);
    drop_postgres(&name).await;
}

#[tokio::test]
async fn sqlite_failed_migration_is_an_error() {
    let t = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", t.path().join("pitbox.db").display());
    drop(pitbox_cloud::Store::open(&url).await.expect("open"));
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.expect("connect");
    sqlx::raw_sql("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 1")
        .execute(&mut conn)
        .await
        .expect("update");
    drop(conn);
    let s = Settings { data_dir: Some(t.path().to_path_buf()), ..settings() };
    let r = find(&check_all(&s).await, "database").clone();
    assert_status(&r, CheckStatus::Error);
    assert!(r.message.starts_with("SQLite sqlite://"), "{}", r.message);
    assert!(r.message.contains("migration 0001 failed part-way"), "{}", r.message);
}

struct Moto(std::process::Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn s3_probe_object_round_trips_through_moto() {
    let port = closed_port();
    let Ok(child) = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        pitbox_testkit::skip("s3_probe_object_round_trips_through_moto", "moto_server is not installed");
        return;
    };
    let _moto = Moto(child);
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !up {
        pitbox_testkit::skip("s3_probe_object_round_trips_through_moto", "moto_server did not start");
        return;
    }
    let endpoint = format!("http://127.0.0.1:{port}");
    let resp = reqwest_put(&format!("{endpoint}/doctor-test")).await;
    assert_eq!(resp, 200, "create bucket");
    let opts = |endpoint: &str| {
        vec![
            ("aws_endpoint".to_string(), endpoint.to_string()),
            ("aws_access_key_id".into(), "test".into()),
            ("aws_secret_access_key".into(), "test".into()),
            ("aws_region".into(), "us-east-1".into()),
            ("aws_allow_http".into(), "true".into()),
        ]
    };
    let s = Settings { storage_url: Some("s3://doctor-test/pitbox".into()), s3_options: opts(&endpoint), ..settings() };
    let r = find(&check_all(&s).await, "s3").clone();
    assert_status(&r, CheckStatus::Success);
    assert_eq!(r.message, "s3://doctor-test/pitbox is writable (a probe object was written, read back and deleted)");

    // A bucket that does not exist.
    let s = Settings { storage_url: Some("s3://no-such-bucket".into()), s3_options: opts(&endpoint), ..settings() };
    let r = find(&check_all(&s).await, "s3").clone();
    assert_status(&r, CheckStatus::Error);
    assert!(r.message.starts_with("cannot write s3://no-such-bucket/"), "{}", r.message);
}

/// A bare HTTP PUT (moto accepts unsigned bucket creation); returns the status code.
async fn reqwest_put(url: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').expect("path");
    let mut s = tokio::net::TcpStream::connect(host).await.expect("connect");
    let req = format!("PUT /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn the_speech_engines_work_when_installed() {
    let results = check_all(&settings()).await;
    let tts = find(&results, "tts");
    if pitbox_voice::tts::EspeakNg::new().available().is_ok() {
        assert_status(tts, CheckStatus::Success);
        assert!(tts.message.contains("\"radio check\" synthesised"), "{}", tts.message);
    } else {
        assert_status(tts, CheckStatus::Error);
        pitbox_testkit::skip("doctor tts success", "espeak-ng is not installed");
    }
    let stt = find(&results, "stt");
    if pitbox_voice::sphinx::availability().is_ok() {
        assert_status(stt, CheckStatus::Success);
    } else {
        assert_status(stt, CheckStatus::Warning);
        pitbox_testkit::skip("doctor stt success", "PocketSphinx is not installed");
    }
}

#[test]
fn run_exits_1_when_a_check_errors() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        doctor: pitbox_doctor::DoctorArgs,
    }
    let port = closed_port();
    let cli =
        Cli::try_parse_from(["pitbox", "--json", "--cloud-url", &format!("http://127.0.0.1:{port}")]).expect("args");
    let code = pitbox_doctor::run(cli.doctor).expect("run");
    assert_eq!(code, std::process::ExitCode::from(1));
    let bad = Cli::try_parse_from(["pitbox", "--timeout", "nonsense"]);
    assert!(bad.is_err());
}

#[tokio::test]
async fn silent_servers_time_out_with_a_clear_message() {
    // Accepts connections and never says anything.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let s = Settings {
        relay_url: Some(format!("ws://{addr}/")),
        cloud_url: Some(format!("http://{addr}")),
        redis_url: Some(format!("redis://{addr}")),
        timeout: Duration::from_millis(500),
        ..Settings::default()
    };
    let results = check_all(&s).await;
    let relay = find(&results, "relay");
    assert_status(relay, CheckStatus::Error);
    assert_eq!(relay.message, format!("cannot connect to the relay at ws://{addr}/: no answer within 500ms"));
    let cloud = find(&results, "cloud");
    assert_status(cloud, CheckStatus::Error);
    assert_eq!(cloud.message, format!("cannot reach the cloud: GET http://{addr}/health: no answer within 500ms"));
    let redis = find(&results, "redis");
    assert_status(redis, CheckStatus::Error);
    assert_eq!(redis.message, format!("redis://{addr}: no answer within 500ms"));
}

/// A self-signed server certificate for localhost and 127.0.0.1, made with the `openssl` tool.
fn self_signed(dir: &Path) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let (cert, key, conf) = (dir.join("cert.pem"), dir.join("key.pem"), dir.join("openssl.cnf"));
    let config = "[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n[dn]\nCN=localhost\n[ext]\n\
                  basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n\
                  keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n";
    std::fs::write(&conf, config).ok()?;
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .arg("-config")
        .arg(&conf)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .ok()?;
    out.status.success().then_some((cert, key))
}

#[tokio::test]
async fn a_wss_relay_is_checked_over_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((cert, key)) = self_signed(dir.path()) else {
        pitbox_testkit::skip("a_wss_relay_is_checked_over_tls", "the openssl tool cannot make a certificate here");
        return;
    };
    let relay_dir = dir.path().join("relay");
    std::fs::create_dir(&relay_dir).expect("mkdir");
    let (plain, token) = start_relay(&relay_dir).await;
    plain.shutdown().await;
    let mut verifier = pitbox_auth::Verifier::new();
    verifier.add_data_dir(&relay_dir).expect("offline key");
    let mut cfg = pitbox_relay::RelayConfig::new(([127, 0, 0, 1], 0).into(), relay_dir.clone(), verifier);
    cfg.tls = Some((cert.clone(), key));
    let relay = pitbox_relay::start(cfg).await.expect("wss relay");
    let url = format!("wss://127.0.0.1:{}/", relay.addr().port());

    let s = Settings { relay_url: Some(url.clone()), token: Some(token.clone()), ca_files: vec![cert], ..settings() };
    let r = find(&check_all(&s).await, "relay").clone();
    assert_status(&r, CheckStatus::Success);
    assert!(r.message.contains("authenticated as alice (driver)"), "{}", r.message);

    // Without the CA the certificate is not trusted, and the message says so.
    let s = Settings { relay_url: Some(url.clone()), token: Some(token), ..settings() };
    let r = find(&check_all(&s).await, "relay").clone();
    assert_status(&r, CheckStatus::Error);
    let port = relay.addr().port();
    assert!(
        r.message.starts_with(&format!("cannot connect to the relay at {url}: TLS with 127.0.0.1:{port}: ")),
        "{}",
        r.message
    );
    assert!(r.message.contains("certificate"), "{}", r.message);
    relay.shutdown().await;
}

#[test]
fn plain_doctor_takes_the_documented_defaults() {
    use clap::Parser;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        doctor: pitbox_doctor::DoctorArgs,
    }
    for v in
        ["PITBOX_DRIVER_RELAY_URL", "PITBOX_DRIVER_CLOUD_ENDPOINT", "PITBOX_CLOUD_DATA_DIR", "PITBOX_DRIVER_RELAY_PORT"]
    {
        if std::env::var_os(v).is_some() {
            pitbox_testkit::skip("plain_doctor_takes_the_documented_defaults", &format!("{v} is set"));
            return;
        }
    }
    let s = Settings::from_args(&Cli::parse_from(["doctor"]).doctor);
    assert_eq!(s.relay_url.as_deref(), Some("ws://127.0.0.1:8765/"));
    assert_eq!(s.cloud_url.as_deref(), Some("http://127.0.0.1:8080"));
    assert!(s.relay_default && s.cloud_default);
    // ./pitbox-data only when it exists (the tests run in the crate's folder, which has none).
    assert_eq!(s.data_dir, None);
    let s = Settings::from_args(
        &Cli::parse_from(["doctor", "--relay-url", "ws://10.0.0.2", "--cloud-url", "http://c:1"]).doctor,
    );
    assert_eq!(s.relay_url.as_deref(), Some("ws://10.0.0.2:8765/"));
    assert!(!s.relay_default && !s.cloud_default);
}

#[tokio::test]
async fn defaults_where_nothing_answers_are_not_configured_and_answering_ones_are_checked() {
    let (rp, cp) = (closed_port(), closed_port());
    let s = Settings {
        relay_url: Some(format!("ws://127.0.0.1:{rp}/")),
        relay_default: true,
        cloud_url: Some(format!("http://127.0.0.1:{cp}")),
        cloud_default: true,
        ..settings()
    };
    let results = check_all(&s).await;
    for name in ["relay", "uplink", "cloud"] {
        let r = find(&results, name);
        assert_status(r, CheckStatus::Warning);
        assert!(pitbox_doctor::is_not_configured(r), "{name}: {}", r.message);
    }
    assert!(find(&results, "relay").message.contains("no relay answers at the default address"));
    assert!(find(&results, "cloud").message.contains("no cloud answers at the default address"));

    // A relay that does answer at the default is checked as if it had been asked for.
    let dir = tempfile::tempdir().expect("tempdir");
    let (relay, token) = start_relay(dir.path()).await;
    let s = Settings {
        relay_url: Some(format!("ws://{}/", relay.addr())),
        relay_default: true,
        token: Some(token),
        ..settings()
    };
    let r = find(&check_all(&s).await, "relay").clone();
    assert_status(&r, CheckStatus::Success);
    relay.shutdown().await;
}

#[tokio::test]
async fn the_relays_uplink_duplicates_and_refusals_are_checked() {
    use futures_util::SinkExt;
    let dir = tempfile::tempdir().expect("tempdir");
    // Linked to a cloud that is not there: the uplink is down.
    let (relay, token) = start_relay_with(dir.path(), Some(format!("ws://127.0.0.1:{}/ws", closed_port()))).await;
    let url = format!("ws://{}/", relay.addr());
    // A driver sends sample 5, then sample 5 again for longer than a resend lasts (the relay's
    // REPORT_AFTER): eight duplicates, refused once.
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("connect");
    let auth =
        serde_json::json!({"type": "authenticate", "data": {"token": token, "clientType": "driver", "version": "1.0"}});
    ws.send(tokio_tungstenite::tungstenite::Message::text(auth.to_string())).await.expect("send");
    let sample = |seq: u64| {
        serde_json::json!({"type": "telemetry_update", "data": {"driverId": "alice", "timestamp": chrono::Utc::now(),
            "speed": 100.0, "rpm": 5000.0, "gear": 3, "throttle": 50.0, "brake": 0.0, "steeringAngle": 0.0,
            "latitude": null, "longitude": null, "trackPosition": 0.5, "lap": 1, "sector": 1, "fuelLevel": 50.0,
            "tireWear": {"frontLeft": 1.0, "frontRight": 1.0, "rearLeft": 1.0, "rearRight": 1.0}, "sequence": seq}})
        .to_string()
    };
    for i in 0..9 {
        if i > 0 {
            tokio::time::sleep(pitbox_relay::REPORT_AFTER / 5).await;
        }
        ws.send(tokio_tungstenite::tungstenite::Message::text(sample(5))).await.expect("send");
    }
    let s = Settings { relay_url: Some(url), token: Some(token), ..settings() };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let results = loop {
        let results = check_all(&s).await;
        let down = find(&results, "uplink").message.starts_with("the relay's cloud link is down: ");
        if find(&results, "relay").status == CheckStatus::Warning && down {
            break results;
        }
        assert!(std::time::Instant::now() < deadline, "{results:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let r = find(&results, "relay");
    assert!(r.message.contains("dropped 8 duplicate samples and refused 1 messages"), "{}", r.message);
    let u = find(&results, "uplink");
    assert!(u.message.starts_with("the relay's cloud link is down: "), "{}", u.message);
    assert!(u.message.contains("batches wait in its spool"), "{}", u.message);
    relay.shutdown().await;
}

#[tokio::test]
async fn a_token_of_another_driver_or_one_running_out_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let alice = token(dir.path(), "alice", Duration::from_secs(5 * 3600));
    let s = Settings { token: Some(alice.clone()), driver_id: Some("driver-1".into()), ..settings() };
    let r = find(&check_all(&s).await, "token").clone();
    assert_status(&r, CheckStatus::Error);
    assert!(r.message.contains("belongs to driver alice but the driver id is driver-1"), "{}", r.message);
    let s = Settings { token: Some(alice), driver_id: Some("alice".into()), ..settings() };
    let r = find(&check_all(&s).await, "token").clone();
    assert_status(&r, CheckStatus::Warning);
    // Issued a moment ago for 5 h: 5h 00m in the same second, 4h 59m after it.
    let left = r.message.contains("expires in 4h 59m") || r.message.contains("expires in 5h 00m");
    assert!(left && r.message.contains("within a day"), "{}", r.message);
}
