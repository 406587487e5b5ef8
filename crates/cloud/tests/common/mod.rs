//! Test harness: a node's router over SQLite (always) or PostgreSQL (`PITBOX_TEST_DATABASE_URL`,
//! a fresh database per test), fixtures (two teams, one user of every role), and request helpers.

#![allow(dead_code)]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use pitbox_cloud::api::access_token;
use pitbox_cloud::bus::Bus;
use pitbox_cloud::objects::Objects;
use pitbox_cloud::store::Store;
pub use pitbox_cloud::store::User;
use pitbox_cloud::token::Keys;
use pitbox_cloud::{AppState, Config};
use pitbox_model::UserRole;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The password of every fixture user.
pub const PASSWORD: &str = "correct horse battery";

fn shared_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| pitbox_cloud::password::hash(PASSWORD).expect("hash"))
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A database for one test; dropped (PostgreSQL) or deleted (SQLite) afterwards.
pub struct TestDb {
    pub url: String,
    pub kind: Db,
    _dir: tempfile::TempDir,
    admin_url: Option<String>,
    name: String,
}

impl TestDb {
    /// A fresh database of `kind`, or `None` (after reporting the skip) when PostgreSQL is not
    /// configured.
    pub async fn new(kind: Db, test: &str) -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("tempdir");
        match kind {
            Db::Sqlite => Some(TestDb {
                url: format!("sqlite://{}", dir.path().join("t.db").display()),
                kind,
                _dir: dir,
                admin_url: None,
                name: String::new(),
            }),
            Db::Postgres => {
                let Ok(base) = std::env::var("PITBOX_TEST_DATABASE_URL") else {
                    pitbox_testkit::skip(&format!("{test} (postgres)"), "PITBOX_TEST_DATABASE_URL is not set");
                    return None;
                };
                sqlx::any::install_default_drivers();
                let name = pitbox_cloud::store::new_id("pitbox_t").replace('-', "_");
                let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
                    .await
                    .unwrap_or_else(|e| panic!("PITBOX_TEST_DATABASE_URL={base} is set but unreachable: {e}"));
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                let url = match base.rfind('/') {
                    Some(i) if i > "postgres://".len() => format!("{}/{name}", &base[..i]),
                    _ => format!("{base}/{name}"),
                };
                Some(TestDb { url, kind, _dir: dir, admin_url: Some(base), name })
            }
        }
    }

    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(base) = self.admin_url.clone() {
            let name = self.name.clone();
            // Best effort, on a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
                rt.block_on(async move {
                    if let Ok(mut c) = <sqlx::AnyConnection as sqlx::Connection>::connect(&base).await {
                        let _ =
                            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                                .execute(&mut c)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Both databases (PostgreSQL only when configured).
pub const DBS: [Db; 2] = [Db::Sqlite, Db::Postgres];

/// A node (router only, no listener) with fixtures.
pub struct App {
    pub db: TestDb,
    pub state: AppState,
    pub router: Router,
    pub team_a: String,
    pub team_b: String,
    /// The deployment's owner (an admin of team A who reads and manages every team).
    pub admin: User,
    /// An admin of team A only.
    pub team_admin: User,
    /// An admin of team B only.
    pub admin_b: User,
    pub engineer: User,
    pub driver: User,
    pub driver2: User,
    pub viewer: User,
    pub driver_b: User,
    pub engineer_b: User,
}

/// Options of [`App::start`].
#[derive(Default, Clone)]
pub struct Opts {
    pub master_key: bool,
    pub bus: Option<Bus>,
    pub objects: Option<Objects>,
    pub login_max_failures: Option<usize>,
    /// `Config::redis_url` (the voice clip cache's Redis layer; the bus is `bus`).
    pub redis_url: Option<String>,
    /// `Config::sample_clock_window` (default [`FIXTURE_CLOCK_WINDOW`]).
    pub sample_clock_window: Option<std::time::Duration>,
}

/// Which shared bus a multi-node test runs on.
#[derive(Debug, Clone, Copy)]
pub enum BusKind {
    Redis,
    Nats,
}

/// Two nodes' buses (`node_a`, `node_b`) on the Redis or NATS of the test environment
/// (`PITBOX_TEST_REDIS_URL`, `PITBOX_TEST_NATS_URL`); `None`, logged as a skip of `test`, when
/// it is not set.
pub async fn two_buses(test: &str, kind: BusKind, node_a: &str, node_b: &str) -> Option<(Bus, Bus)> {
    let var = match kind {
        BusKind::Redis => "PITBOX_TEST_REDIS_URL",
        BusKind::Nats => "PITBOX_TEST_NATS_URL",
    };
    let Ok(url) = std::env::var(var) else {
        pitbox_testkit::skip(test, &format!("{var} is not set"));
        return None;
    };
    let open = |node: String| {
        let url = url.clone();
        async move {
            match kind {
                BusKind::Redis => Bus::redis(&url, &node).await.expect("redis reachable"),
                BusKind::Nats => Bus::nats(&url, &node).await.expect("nats reachable"),
            }
        }
    };
    Some((open(node_a.to_string()).await, open(node_b.to_string()).await))
}

/// The tests' samples carry fixed dates (months from today's clock), so their nodes accept
/// samples within a century of the clock; the window's own tests set it narrow.
pub const FIXTURE_CLOCK_WINDOW: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 86_400);

impl App {
    pub async fn start(kind: Db, test: &str, opts: Opts) -> Option<App> {
        let db = TestDb::new(kind, test).await?;
        let store = Store::open(&db.url).await.expect("open store");
        let mut config = Config::local(db.dir());
        config.database_url = db.url.clone();
        if opts.master_key {
            let k = pitbox_cloud::secrets::MasterKey::generate_base64().expect("key");
            config.master_key = Some(pitbox_cloud::secrets::MasterKey::from_base64(&k).expect("key"));
        }
        config.redis_url = opts.redis_url.clone();
        config.sample_clock_window = opts.sample_clock_window.unwrap_or(FIXTURE_CLOCK_WINDOW);
        if let Some(n) = opts.login_max_failures {
            config.login_max_failures = n;
        }
        let objects =
            opts.objects.clone().unwrap_or_else(|| Objects::local(&db.dir().join("objects")).expect("objects"));
        let bus = opts.bus.clone().unwrap_or_else(|| Bus::in_process(&config.node_id));
        let state = AppState::assemble(store.clone(), objects, bus, Keys::generate().expect("keys"), &config);
        let ta = store.create_team("Apex").await.expect("team").id;
        let tb = store.create_team("Brake Late").await.expect("team").id;
        let mk = |name: &'static str, role: UserRole, team: Option<String>| {
            let store = store.clone();
            async move { store.create_user(name, shared_hash(), role, team.as_deref()).await.expect("user") }
        };
        let mut admin = mk("root", UserRole::Admin, Some(ta.clone())).await;
        store.set_owner(&admin.id, true).await.expect("owner");
        admin.owner = true;
        let team_admin = mk("tad", UserRole::Admin, Some(ta.clone())).await;
        let admin_b = mk("xia", UserRole::Admin, Some(tb.clone())).await;
        let engineer = mk("eng", UserRole::Engineer, Some(ta.clone())).await;
        let driver = mk("ana", UserRole::Driver, Some(ta.clone())).await;
        let driver2 = mk("ben", UserRole::Driver, Some(ta.clone())).await;
        let viewer = mk("vic", UserRole::Viewer, Some(ta.clone())).await;
        let driver_b = mk("zoe", UserRole::Driver, Some(tb.clone())).await;
        let engineer_b = mk("yan", UserRole::Engineer, Some(tb.clone())).await;
        let router = pitbox_cloud::server::router(state.clone());
        Some(App {
            db,
            state,
            router,
            team_a: ta,
            team_b: tb,
            admin,
            team_admin,
            admin_b,
            engineer,
            driver,
            driver2,
            viewer,
            driver_b,
            engineer_b,
        })
    }

    pub fn token(&self, u: &User) -> String {
        access_token(&self.state, u).expect("token")
    }

    /// A second node `node_id` of this cloud (same database, objects and keys) on `bus`,
    /// serving on a loopback port.
    pub async fn second_node(&self, bus: Bus, node_id: &str) -> std::net::SocketAddr {
        let store = Store::open(&self.db.url).await.expect("store");
        let mut config = Config::local(self.db.dir());
        config.node_id = node_id.into();
        config.sample_clock_window = FIXTURE_CLOCK_WINDOW;
        let keys = (*self.state.keys).clone();
        let state = AppState::assemble(store, self.state.objects.clone(), bus, keys, &config);
        serve(pitbox_cloud::server::router(state)).await
    }

    /// Sends a request; returns status and JSON body (Null when empty or not JSON).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        call_router(&self.router, method, path, token, body).await
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        send_to(&self.router, req).await
    }

    /// `POST /api/sessions/import?driverId=` (this app's driver) with `body`; asserts 201 and
    /// returns the answer.
    pub async fn import_ibt(&self, token: &str, body: Vec<u8>) -> Value {
        let req = Request::builder()
            .method("POST")
            .uri(format!("/api/sessions/import?driverId={}", self.driver.id))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(body))
            .expect("request");
        let (s, v) = self.send(req).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    pub async fn as_user(&self, u: &User, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let t = self.token(u);
        self.call(method, path, Some(&t), body).await
    }
}

/// Sends a request to `router` (any node); returns status and JSON body (Null when empty or not
/// JSON).
pub async fn call_router(
    router: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => {
            req.header(header::CONTENT_TYPE, "application/json").body(Body::from(serde_json::to_vec(&b).expect("json")))
        }
        None => req.body(Body::empty()),
    }
    .expect("request");
    send_to(router, req).await
}

async fn send_to(router: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A valid `POST /api/telemetry` body.
pub fn telemetry_post(driver: &str, ms: i64, lap: u32) -> Value {
    let ts =
        chrono::DateTime::from_timestamp_millis(ms).expect("ts").to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    json!({
        "driverId": driver,
        "timestamp": ts,
        "data": {
            "speed": 200.5, "rpm": 7000.0, "gear": 5, "throttle": 99.0, "brake": 0.0, "steeringAngle": -2.5,
            "latitude": null, "longitude": null, "trackPosition": 0.25, "lap": lap, "sector": 1, "fuelLevel": 60.0,
            "tireWear": {"frontLeft": 1.0, "frontRight": 1.5, "rearLeft": 2.0, "rearRight": 2.5}
        }
    })
}

/// A valid `telemetry_update` data object.
pub fn update(driver: &str, ms: i64, lap: u32, seq: u64) -> Value {
    let mut v = telemetry_post(driver, ms, lap);
    let mut data = v["data"].take();
    data["driverId"] = json!(driver);
    data["timestamp"] = v["timestamp"].clone();
    data["sequence"] = json!(seq);
    data
}

/// The error code and field of an error body.
pub fn err(v: &Value) -> (String, String) {
    (v["error"]["code"].as_str().unwrap_or("").to_string(), v["error"]["field"].as_str().unwrap_or("").to_string())
}

/// Serves `app`'s router on a loopback port; returns the address.
pub async fn serve(router: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let svc = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, svc).await;
    });
    addr
}

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/ws`, checks the greeting, authenticates; returns the socket and the result data.
pub async fn ws_login(addr: std::net::SocketAddr, token: &str, client_type: &str) -> (Ws, Value) {
    use futures_util::SinkExt;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.expect("connect");
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "connection_established", "{hello}");
    let auth = json!({"type": "authenticate", "data": {"token": token, "clientType": client_type, "version": "1.0"}});
    ws.send(tokio_tungstenite::tungstenite::Message::Text(auth.to_string().into())).await.expect("send");
    let result = next_json(&mut ws).await;
    (ws, result)
}

/// The next text frame as JSON (waits at most 10 s).
pub async fn next_json(ws: &mut Ws) -> Value {
    use futures_util::StreamExt;
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("no frame within 10 s")
            .expect("stream ended")
            .expect("ws error");
        match msg {
            tokio_tungstenite::tungstenite::Message::Text(t) => return serde_json::from_str(&t).expect("json"),
            tokio_tungstenite::tungstenite::Message::Close(c) => {
                return json!({"type": "close", "code": c.map(|c| u16::from(c.code))});
            }
            _ => continue,
        }
    }
}

/// Sends one protocol message.
pub async fn ws_send(ws: &mut Ws, v: Value) {
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(v.to_string().into())).await.expect("send");
}

/// The next message of one of `types` within `ms` milliseconds (others are skipped), or `None`.
pub async fn next_of(ws: &mut Ws, types: &[&str], ms: u64) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(ms);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, next_json(ws)).await {
            Ok(m) if types.contains(&m["type"].as_str().unwrap_or("")) => return Some(m),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}
