//! Wiring: spool, hub, batcher, uplink and the HTTP routes, started and stopped together.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use pitbox_auth::Verifier;
use pitbox_hub::{Hub, HubConfig};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::ingest::{BatchConfig, RelayHooks};
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
        }
    }
}

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("spool: {0}")]
    Spool(#[from] crate::spool::SpoolError),
    #[error("tls: {0}")]
    Tls(String),
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
    let shared = Arc::new(Shared { metrics: RelayMetrics::default(), uplink_wake: tokio::sync::Notify::new() });
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = Vec::new();

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
    let hooks = RelayHooks::new(tx, &known, shared.clone());
    let hub = Hub::new(cfg.hub.clone(), Arc::new(cfg.verifier.clone()), hooks, None);

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
        if let Some(cloud) = cfg.cloud.clone() {
            tasks.push(tokio::spawn(crate::uplink::run(cloud, spool.clone(), shared.clone(), shutdown_rx.clone())));
        }
    }

    let state = AppState {
        hub: hub.clone(),
        shared: shared.clone(),
        spool: spool.clone(),
        cloud: cfg.cloud.is_some(),
        started: Instant::now(),
    };
    let app = Router::new()
        .route("/", get(Hub::<RelayHooks>::ws_handler))
        .route("/ws", get(Hub::<RelayHooks>::ws_handler))
        .with_state(hub.clone())
        .merge(Router::new().route("/health", get(health)).route("/metrics", get(metrics)).with_state(state));

    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| RelayError::Bind { addr: cfg.listen, source })?;
    let addr = listener.local_addr().map_err(|source| RelayError::Bind { addr: cfg.listen, source })?;
    let mut stop = shutdown_rx.clone();
    let graceful = async move {
        let _ = stop.changed().await;
    };
    match &cfg.tls {
        None => {
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            tasks.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(graceful).await {
                    tracing::error!(error = %e, "server failed");
                }
            }));
        }
        Some((cert, key)) => {
            tasks.push(crate::tls::serve(listener, app, graceful, cert, key).map_err(RelayError::Tls)?);
        }
    }
    Ok(RelayHandle { addr, shutdown, tasks, hub, shared, spool })
}

async fn health(State(s): State<AppState>) -> impl IntoResponse {
    let m = &s.shared.metrics;
    let (spool_bytes, spool_limit, batches) =
        s.spool.as_ref().map_or((0, 0, 0), |sp| (sp.bytes(), sp.limit(), sp.batches()));
    let fraction = if spool_limit > 0 { spool_bytes as f64 / spool_limit as f64 } else { 0.0 };
    let uplink = if !s.cloud {
        "offline"
    } else if m.uplink_connected.load(Ordering::Relaxed) == 1 {
        "connected"
    } else {
        "disconnected"
    };
    let status = if fraction >= 0.9 { "degraded" } else { "ok" };
    let body = serde_json::json!({
        "status": status,
        "serverId": s.hub.config().server_id,
        "uptimeSecs": s.started.elapsed().as_secs(),
        "connections": s.hub.metrics().connections.load(Ordering::Relaxed),
        "subscribers": s.hub.subscriber_count(),
        "uplink": uplink,
        "spool": { "batches": batches, "bytes": spool_bytes, "limitBytes": spool_limit, "fullFraction": fraction },
        "uplinkLagSecs": m.uplink_lag_ms.load(Ordering::Relaxed) as f64 / 1000.0,
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
    let _ = writeln!(
        out,
        "# HELP pitbox_relay_subscribers Live subscriptions.\n# TYPE pitbox_relay_subscribers gauge\npitbox_relay_subscribers {}",
        s.hub.subscriber_count()
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
