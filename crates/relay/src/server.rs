//! Wiring: spool, hub, batcher, uplink and the HTTP routes, started and stopped together.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pitbox_auth::Verifier;
use pitbox_hub::{Hub, HubConfig};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::ingest::{BatchConfig, RelayHooks};
use crate::jwks::{JwksConfig, KeySet};
use crate::spool::Spool;
use crate::state::{RelayMetrics, Shared};
use crate::uplink::UplinkConfig;

/// Everything the relay needs to start.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Address to listen on (port 0 picks one; see [`RelayHandle::addr`]).
    pub listen: SocketAddr,
    /// Holds the spool and the offline key pair.
    pub data_dir: PathBuf,
    pub hub: HubConfig,
    /// Trusted token keys.
    pub verifier: Verifier,
    /// The cloud; `None` runs offline (live fan-out only, nothing spooled).
    pub cloud: Option<UplinkConfig>,
    /// Further cloud nodes (`ws://` or `wss://` URLs): the uplink moves to the next node, in
    /// turn, whenever the current one fails.
    pub cloud_failover_urls: Vec<String>,
    /// Extra PEM CA certificates trusted for a `wss://` cloud (besides the system's roots).
    pub cloud_ca_files: Vec<PathBuf>,
    /// Spool bound, bytes (default 1 GiB).
    pub spool_max_bytes: u64,
    /// How often samples are cut into batches (default 200 ms).
    pub batch_interval: Duration,
    /// Most samples per batch (default 500).
    pub max_batch_samples: usize,
    /// zstd level of uplink batches (default 3).
    pub compression_level: i32,
    /// PEM certificate chain and private key for `wss://`.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Token keys fetched from the cloud's JWKS endpoint, besides `verifier`'s.
    pub jwks: Option<JwksConfig>,
    /// The sign-in of `pitbox relay login` (`DATA_DIR/login.json`): the uplink's credential is
    /// then renewed from it before it expires, and `cloud`'s token is only the first one.
    pub cloud_login: Option<pitbox_auth::login::StoredLogin>,
}

impl RelayConfig {
    /// Defaults for a relay listening on `listen` with `data_dir`.
    pub fn new(listen: SocketAddr, data_dir: PathBuf, verifier: Verifier) -> RelayConfig {
        RelayConfig {
            listen,
            data_dir,
            hub: HubConfig { server_id: "relay".into(), ..HubConfig::default() },
            verifier,
            cloud: None,
            spool_max_bytes: 1 << 30,
            batch_interval: Duration::from_millis(200),
            max_batch_samples: 500,
            compression_level: pitbox_hub::uplink::DEFAULT_LEVEL,
            tls: None,
            jwks: None,
            cloud_failover_urls: Vec::new(),
            cloud_ca_files: Vec::new(),
            cloud_login: None,
        }
    }
}

/// What to do about a listen address that cannot be bound.
fn bind_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            "; another program (another relay?) uses it: stop that one, or give this one another address with --listen"
        }
        std::io::ErrorKind::AddrNotAvailable => "; it is not an address of this machine: give another with --listen",
        std::io::ErrorKind::PermissionDenied => {
            "; not allowed (ports below 1024 need privileges): give another address with --listen"
        }
        _ => "",
    }
}

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The io error is in the message, not chained as a source: `{:#}` would print it twice.
    #[error("cannot listen on {addr}: {error}{}", bind_hint(error))]
    Bind { addr: SocketAddr, error: std::io::Error },
    #[error("{path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("spool: {0}")]
    Spool(#[from] crate::spool::SpoolError),
    #[error("token keys: {0}")]
    Jwks(crate::jwks::JwksError),
    #[error("tls: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// A running relay.
pub struct RelayHandle {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    hub: Hub<RelayHooks>,
    shared: Arc<Shared>,
    spool: Option<Arc<Spool>>,
}

impl RelayHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The hub (metrics, subscriber count).
    pub fn hub(&self) -> &Hub<RelayHooks> {
        &self.hub
    }

    /// Relay counters.
    pub fn metrics(&self) -> &RelayMetrics {
        &self.shared.metrics
    }

    /// Unacknowledged batches in the spool (0 offline).
    pub fn spool_batches(&self) -> u64 {
        self.spool.as_ref().map_or(0, |s| s.batches())
    }

    /// Team messages queued for the cloud and not yet confirmed (0 offline).
    pub fn spool_messages(&self) -> u64 {
        self.spool.as_ref().map_or(0, |s| s.messages())
    }

    /// Stops accepting, flushes the batcher into the spool, stops the uplink.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        if let Some(s) = self.spool {
            let _ = tokio::task::spawn_blocking(move || s.sync()).await;
        }
    }
}

#[derive(Clone)]
struct AppState {
    hub: Hub<RelayHooks>,
    shared: Arc<Shared>,
    spool: Option<Arc<Spool>>,
    cloud: bool,
    started: Instant,
}

/// Starts the relay.
pub async fn start(cfg: RelayConfig) -> Result<RelayHandle, RelayError> {
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|source| RelayError::DataDir { path: cfg.data_dir.clone(), source })?;
    let shared = Arc::new(Shared {
        metrics: RelayMetrics::default(),
        uplink_wake: tokio::sync::Notify::new(),
        echoes: Default::default(),
        uplink: Default::default(),
        login: Default::default(),
        video_up: crate::video::VideoUp::new(cfg.cloud.is_some()),
    });
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    // TLS files are read before anything starts, so a bad certificate fails the start.
    let server_tls = match &cfg.tls {
        Some((cert, key)) => Some(crate::tls::server_config(cert, key)?),
        None => None,
    };
    let cloud_urls: Vec<String> = match &cfg.cloud {
        Some(c) => std::iter::once(c.url.clone()).chain(cfg.cloud_failover_urls.iter().cloned()).collect(),
        None => Vec::new(),
    };
    let client_tls = if cloud_urls.iter().any(|u| u.starts_with("wss://")) {
        Some(Arc::new(crate::tls::client_config(&cfg.cloud_ca_files)?))
    } else {
        None
    };

    // The uplink's credential: fixed, or renewed from the sign-in.
    let cloud_tokens = cfg.cloud.as_ref().map(|cloud| match &cfg.cloud_login {
        Some(login) => {
            let renewal = pitbox_auth::login::start_renewal(
                login.clone(),
                pitbox_auth::login::RenewalConfig {
                    path: cfg.data_dir.join(pitbox_auth::login::LOGIN_FILE),
                    kind: pitbox_auth::login::CredentialKind::Relay,
                    save: Arc::new(pitbox_auth::private_fs::write_private_atomic),
                    reread_every: Duration::from_secs(5),
                },
            );
            let _ = shared.login.set(renewal.status.clone());
            renewal.tokens
        }
        None => watch::channel(Some(cloud.token.clone())).1,
    });

    let keys = Arc::new(KeySet::new(cfg.verifier.clone()));
    if let Some(jwks) = &cfg.jwks {
        let cache = crate::jwks::cache_path(&cfg.data_dir);
        if let Ok(doc) = std::fs::read_to_string(&cache)
            && let Err(e) = keys.install(&doc)
        {
            tracing::warn!(path = %cache.display(), error = %e, "ignoring the saved token keys");
        }
        let client = crate::jwks::http_client().map_err(RelayError::Jwks)?;
        match crate::jwks::refresh_once(&keys, &client, &jwks.url, &cache, &shared).await {
            Ok(n) => tracing::info!(keys = n, url = %jwks.url, "token keys fetched from the cloud"),
            Err(e) => tracing::warn!(error = %e, "cannot fetch the token keys now; using the saved set and retrying"),
        }
        tasks.push(tokio::spawn(crate::jwks::run(
            keys.clone(),
            jwks.clone(),
            client,
            cache,
            shared.clone(),
            shutdown_rx.clone(),
        )));
    }

    let (spool, known) = if cfg.cloud.is_some() {
        let path = cfg.data_dir.join("spool.redb");
        let limit = cfg.spool_max_bytes;
        let spool = tokio::task::spawn_blocking(move || Spool::open(&path, limit))
            .await
            .map_err(|e| RelayError::Spool(crate::spool::SpoolError::Db(e.to_string())))??;
        let spool = Arc::new(spool);
        let s2 = spool.clone();
        let known = tokio::task::spawn_blocking(move || s2.drivers())
            .await
            .map_err(|e| RelayError::Spool(crate::spool::SpoolError::Db(e.to_string())))??;
        if spool.batches() > 0 {
            tracing::info!(
                batches = spool.batches(),
                bytes = spool.bytes(),
                "spool has unacknowledged batches; they will be sent first"
            );
        }
        (Some(spool), known)
    } else {
        (None, Default::default())
    };

    let (tx, rx) = if spool.is_some() {
        let (tx, rx) = mpsc::channel(16_384);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let (msg_tx, msg_rx) = if spool.is_some() {
        let (tx, rx) = mpsc::channel(4096);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let hooks = RelayHooks::new(tx, msg_tx, &known, shared.clone());
    let hub = Hub::new(cfg.hub.clone(), keys.clone(), hooks, None);
    if let Some(tokens) = &cloud_tokens {
        // Tokens the cloud revokes are refused here within seconds (issue 23 §9).
        let urls: Vec<String> = cloud_urls.iter().filter_map(|u| crate::revocations::url_of(u)).collect();
        if !urls.is_empty() {
            let client = crate::jwks::http_client().map_err(RelayError::Jwks)?;
            tasks.push(tokio::spawn(crate::revocations::run(
                keys.clone(),
                hub.clone(),
                urls,
                tokens.clone(),
                client,
                shutdown_rx.clone(),
            )));
        }
    }

    if let (Some(spool), Some(rx)) = (&spool, rx) {
        let bc = BatchConfig {
            interval: cfg.batch_interval,
            max_samples: cfg.max_batch_samples,
            level: cfg.compression_level,
        };
        tasks.push(tokio::spawn(crate::ingest::batcher(
            rx,
            hub.clone(),
            spool.clone(),
            shared.clone(),
            bc,
            known,
            shutdown_rx.clone(),
        )));
        if let Some(msg_rx) = msg_rx {
            tasks.push(tokio::spawn(crate::ingest::message_writer(
                msg_rx,
                spool.clone(),
                shared.clone(),
                shutdown_rx.clone(),
            )));
        }
        if let (Some(cloud), Some(tokens)) = (cfg.cloud.clone(), cloud_tokens.clone()) {
            let ctx = crate::uplink::UplinkCtx {
                cfg: cloud,
                tokens,
                urls: cloud_urls,
                tls: client_tls,
                spool: spool.clone(),
                shared: shared.clone(),
                hub: hub.clone(),
            };
            tasks.push(tokio::spawn(crate::uplink::run(ctx, shutdown_rx.clone())));
        }
    }

    let state = AppState {
        hub: hub.clone(),
        shared: shared.clone(),
        spool: spool.clone(),
        cloud: cfg.cloud.is_some(),
        started: Instant::now(),
    };
    // `/` is both the drivers' WebSocket (the spec's ws://localhost:8765) and, for a browser, the
    // pit-wall dashboard; everything else the dashboard needs comes from pitbox-webui.
    let dashboard = pitbox_webui::DashboardConfig {
        server_name: format!("relay {}", cfg.hub.server_id),
        ..pitbox_webui::DashboardConfig::relay()
    };
    let app = Router::new()
        .route("/", get(root))
        .route("/ws", get(Hub::<RelayHooks>::ws_handler))
        .with_state(hub.clone())
        .merge(Router::new().route("/health", get(health)).route("/metrics", get(metrics)).with_state(state))
        .merge(pitbox_webui::router_with(dashboard));

    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|error| RelayError::Bind { addr: cfg.listen, error })?;
    let addr = listener.local_addr().map_err(|error| RelayError::Bind { addr: cfg.listen, error })?;
    let mut stop = shutdown_rx.clone();
    let graceful = async move {
        let _ = stop.changed().await;
    };
    match server_tls {
        None => {
            let listener = pitbox_hub::no_delay(listener);
            tasks.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(graceful).await {
                    tracing::error!(error = %e, "server failed");
                }
            }));
        }
        Some(tls) => {
            tasks.push(
                crate::tls::serve(listener, app, graceful, tls).map_err(|error| RelayError::Bind { addr, error })?,
            );
        }
    }
    Ok(RelayHandle { addr, shutdown, tasks, hub, shared, spool })
}

/// `GET /`: a WebSocket upgrade joins the hub; any other request gets the dashboard's app shell.
async fn root(
    State(hub): State<Hub<RelayHooks>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let wants_upgrade =
        headers.get(header::UPGRADE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !wants_upgrade {
        return pitbox_webui::serve(method, uri, headers).await;
    }
    match ws {
        Ok(ws) => Hub::<RelayHooks>::ws_handler(State(hub), ws).await,
        // A malformed upgrade gets axum's precise reason (missing key, wrong version …).
        Err(rejection) => rejection.into_response(),
    }
}

async fn health(State(s): State<AppState>) -> impl IntoResponse {
    let m = &s.shared.metrics;
    let (spool_bytes, spool_limit, batches) =
        s.spool.as_ref().map_or((0, 0, 0), |sp| (sp.bytes(), sp.limit(), sp.batches()));
    let fraction = if spool_limit > 0 { spool_bytes as f64 / spool_limit as f64 } else { 0.0 };
    // Truthful: a relay whose cloud link is down, refused or unauthorised is degraded even
    // though drivers and dashboards on the LAN still work (samples wait in the spool).
    let view = s.cloud.then(|| s.shared.uplink.view());
    let uplink = view.as_ref().map_or("offline", |v| v.state.as_str());
    let link_ok = view.as_ref().is_none_or(|v| v.state == crate::state::UplinkState::Connected);
    // A refused sign-in works until its credential expires, but nobody renews it: said now.
    let login_ok = s.shared.login.get().is_none_or(|l| l.snapshot().state != "refused");
    let status = if fraction >= 0.9 || !link_ok || !login_ok { "degraded" } else { "ok" };
    let detail = view.map(|v| {
        serde_json::json!({
            "state": v.state.as_str(),
            "reason": v.reason,
            "forSecs": (v.for_secs * 10.0).round() / 10.0,
            "spooling": batches,
            "lastRefusal": v.refusal.map(|(code, message, ago)| serde_json::json!({
                "code": code, "message": message, "secsAgo": (ago * 10.0).round() / 10.0,
            })),
        })
    });
    let m2 = &s.shared.metrics;
    let body = serde_json::json!({
        "status": status,
        "serverId": s.hub.config().server_id,
        "uptimeSecs": s.started.elapsed().as_secs(),
        "connections": s.hub.metrics().connections.load(Ordering::Relaxed),
        "subscribers": s.hub.subscriber_count(),
        "uplink": uplink,
        "uplinkDetail": detail,
        "spool": { "batches": batches, "messages": s.spool.as_ref().map_or(0, |sp| sp.messages()), "bytes": spool_bytes, "limitBytes": spool_limit, "fullFraction": fraction },
        "uplinkLagSecs": m.uplink_lag_ms.load(Ordering::Relaxed) as f64 / 1000.0,
        "duplicates": m2.duplicates.load(Ordering::Relaxed),
        "refused": s.hub.metrics().errors_sent.load(Ordering::Relaxed),
        "login": s.shared.login.get().map(|l| l.snapshot()),
    });
    ([(header::CONTENT_TYPE, "application/json")], body.to_string())
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let mut out = String::with_capacity(4096);
    s.hub.metrics().render("pitbox_relay", &mut out);
    let spool = s.spool.as_ref().map(|sp| (sp.bytes(), sp.batches(), sp.limit()));
    if let Some(sp) = &s.spool
        && sp.batches() == 0
    {
        s.shared.metrics.uplink_lag_ms.store(0, Ordering::Relaxed);
    }
    s.shared.metrics.render(&mut out, spool, s.cloud);
    use std::fmt::Write;
    if let Some(sp) = &s.spool {
        let _ = writeln!(
            out,
            "# HELP pitbox_relay_spool_messages Team messages queued for the cloud.\n# TYPE pitbox_relay_spool_messages gauge\npitbox_relay_spool_messages {}",
            sp.messages()
        );
    }
    let _ = writeln!(
        out,
        "# HELP pitbox_relay_subscribers Live subscriptions.\n# TYPE pitbox_relay_subscribers gauge\npitbox_relay_subscribers {}",
        s.hub.subscriber_count()
    );
    pitbox_hub::render_process(&mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
