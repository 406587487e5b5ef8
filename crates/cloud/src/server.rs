//! Building and running a cloud node: state, background tasks, router, listener.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use pitbox_model::telemetry::TelemetrySnapshot;
use tokio::sync::RwLock;

use crate::bus::{Bus, BusError};
use crate::limiter::LoginLimiter;
use crate::objects::Objects;
use crate::secrets::MasterKey;
use crate::store::{Store, StoreError};
use crate::telemetry::{Ingest, spawn_compactor};
use crate::token::{AuthError, Keys};

/// Everything a node needs to start (built from [`crate::cli::CloudArgs`]).
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Directory or URL of the object store.
    pub storage_url: String,
    /// Redis: the bus (unless `nats_url`), the voice clip cache and the shared login limits.
    pub redis_url: Option<String>,
    /// With it, the bus is NATS (and `redis_url` only caches voice clips and shares login
    /// limits).
    pub nats_url: Option<String>,
    /// Where the default signing key pair lives (`keys/` inside it).
    pub data_dir: PathBuf,
    /// Ed25519 signing key (PKCS#8 PEM, created when missing); every node of a cluster needs
    /// the same. Without it, the pair in `data_dir` is used.
    pub signing_key_file: Option<PathBuf>,
    pub master_key: Option<MasterKey>,
    /// Identifies this node in `/health`, `connection_established` and on the bus.
    pub node_id: String,
    /// Staged telemetry older than this becomes a chunk.
    pub chunk_age: Duration,
    /// How often the compactor runs.
    pub compact_interval: Duration,
    /// Wrong passwords per username per window before logins are refused.
    pub login_max_failures: usize,
    /// Login attempts per client address per window.
    pub login_per_ip: usize,
    pub login_window: Duration,
    /// Proxies whose `X-Forwarded-For` names the client (for the per-address login limit).
    pub trusted_proxies: crate::client_ip::TrustedProxies,
    /// Largest WebSocket frame accepted, bytes.
    pub max_frame_bytes: usize,
    /// Live samples must be stamped within this of the server's clock (either side).
    pub sample_clock_window: Duration,
    /// Lifetime of access tokens (default 24 h; tests of renewal use a minute).
    pub access_token_ttl: Duration,
}

impl Config {
    /// Defaults for a node keeping everything under `data_dir`.
    pub fn local(data_dir: &std::path::Path) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: format!("sqlite://{}", data_dir.join("pitbox.db").display()),
            storage_url: data_dir.join("objects").display().to_string(),
            redis_url: None,
            nats_url: None,
            data_dir: data_dir.to_path_buf(),
            signing_key_file: None,
            master_key: None,
            node_id: crate::store::new_id("node"),
            chunk_age: Duration::from_secs(30),
            compact_interval: Duration::from_secs(5),
            login_max_failures: 5,
            login_per_ip: 30,
            login_window: Duration::from_secs(300),
            trusted_proxies: crate::client_ip::TrustedProxies::default(),
            max_frame_bytes: pitbox_model::protocol::DEFAULT_MAX_FRAME_BYTES,
            sample_clock_window: crate::clock::DEFAULT_SAMPLE_CLOCK_WINDOW,
            access_token_ttl: Duration::from_secs(crate::token::ACCESS_TTL_SECS as u64),
        }
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Key(#[from] AuthError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub http_requests: AtomicU64,
    pub logins_ok: AtomicU64,
    pub logins_failed: AtomicU64,
    pub logins_limited: AtomicU64,
    /// Voice clips found in Redis / not there (Redis answered).
    pub voice_cache_hits_redis: AtomicU64,
    pub voice_cache_misses_redis: AtomicU64,
    /// Voice clips found in SQL / not there (then synthesised).
    pub voice_cache_hits_sql: AtomicU64,
    pub voice_cache_misses_sql: AtomicU64,
    /// Voice cache lookups and writes that went without Redis: it failed, timed out, was
    /// backing off after a failure, or held an unusable entry.
    pub voice_cache_redis_unavailable: AtomicU64,
    /// Reloads of the token deny-list that failed (the last list stayed in force).
    pub revocation_sync_failures: AtomicU64,
}

/// Shared state of a node.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub objects: Objects,
    pub bus: Bus,
    pub ingest: Ingest,
    pub keys: Arc<Keys>,
    pub master_key: Option<MasterKey>,
    pub limiter: Arc<LoginLimiter>,
    /// Whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<crate::client_ip::TrustedProxies>,
    pub metrics: Arc<Metrics>,
    pub node_id: Arc<str>,
    pub started: Instant,
    pub max_frame_bytes: usize,
    /// Live samples must be stamped within this of the server's clock.
    pub sample_clock_window: Duration,
    /// Latest sample per driver (for handoff snapshots).
    pub latest: Arc<RwLock<std::collections::HashMap<String, TelemetrySnapshot>>>,
    /// The live coach, fed with every stored sample.
    pub coaching: crate::coaching::LiveCoaching,
    /// Speech synthesis when the team has no ElevenLabs key (espeak-ng).
    pub voice: pitbox_voice::VoiceService,
    /// The Redis layer of the voice clip cache (with `--redis-url`; SQL alone otherwise).
    pub voice_cache: Option<crate::voice_cache::RedisClipCache>,
    /// `/ws`: the protocol's connections on `pitbox-hub`, fed from `bus`.
    pub hub: crate::ws::CloudHub,
    /// Revoked tokens and accounts, reloaded from the database every few seconds.
    pub revocations: Arc<crate::revocation::Revocations>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("node_id", &self.node_id).finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens the database (running migrations), the object store, the bus and the key; starts
    /// the ingest writer and the compactor.
    pub async fn open(config: &Config) -> Result<AppState, StartError> {
        // Keys, the SQLite database and local objects live here: the owner's alone.
        pitbox_auth::private_fs::private_dir(&config.data_dir)
            .map_err(|e| StoreError::Io(format!("{}: {e}", config.data_dir.display())))?;
        let store = Store::open(&config.database_url).await?;
        let objects = Objects::from_url(&config.storage_url)?;
        let bus = match (&config.nats_url, &config.redis_url) {
            (Some(url), _) => Bus::nats(url, &config.node_id).await?,
            (None, Some(url)) => Bus::redis(url, &config.node_id).await?,
            (None, None) => Bus::in_process(&config.node_id),
        };
        let keys = Keys::load(&config.data_dir, config.signing_key_file.as_deref())?;
        Ok(AppState::assemble(store, objects, bus, keys, config))
    }

    /// A state from parts already opened (tests).
    pub fn assemble(store: Store, objects: Objects, bus: Bus, keys: Keys, config: &Config) -> AppState {
        let coaching = crate::coaching::LiveCoaching::start(store.clone(), bus.clone());
        let ingest = Ingest::start(store.clone(), bus.clone(), coaching.clone());
        spawn_compactor(store.clone(), objects.clone(), ingest.clone(), config.compact_interval, config.chunk_age);
        store.spawn_wal_checkpointer(std::time::Duration::from_millis(500));
        let latest: Arc<RwLock<std::collections::HashMap<String, TelemetrySnapshot>>> = Arc::default();
        spawn_latest_tracker(&bus, latest.clone());
        // One connection per node for what Redis shares or speeds up (not the bus's own).
        let redis = config.redis_url.as_deref().and_then(|url| {
            crate::redis_link::RedisLink::new(url)
                .inspect_err(
                    |e| tracing::warn!(error = %e, "voice clips are cached in SQL only; login limits are per node"),
                )
                .ok()
        });
        let voice_cache = redis.clone().map(crate::voice_cache::RedisClipCache::new);
        let mut limiter = LoginLimiter::new(config.login_max_failures, config.login_per_ip, config.login_window);
        if let Some(link) = redis {
            limiter = limiter.shared(link);
        }
        let keys = Arc::new(keys.with_access_ttl(config.access_token_ttl));
        let revocations = Arc::new(crate::revocation::Revocations::new());
        let hub = crate::ws::start_hub(
            store.clone(),
            ingest.clone(),
            bus.clone(),
            crate::ws::CloudTokens(keys.clone(), revocations.clone()),
            &config.node_id,
            config.max_frame_bytes,
            config.sample_clock_window,
        );
        let state = AppState {
            store,
            objects,
            bus,
            ingest,
            keys,
            master_key: config.master_key.clone(),
            limiter: Arc::new(limiter),
            trusted_proxies: Arc::new(config.trusted_proxies.clone()),
            metrics: Arc::default(),
            node_id: config.node_id.as_str().into(),
            started: Instant::now(),
            max_frame_bytes: config.max_frame_bytes,
            sample_clock_window: config.sample_clock_window,
            latest,
            coaching,
            voice: pitbox_voice::VoiceService::offline(),
            voice_cache,
            hub,
            revocations,
        };
        crate::revocation::spawn_sync(state.clone());
        state
    }
}

fn spawn_latest_tracker(bus: &Bus, latest: Arc<RwLock<std::collections::HashMap<String, TelemetrySnapshot>>>) {
    let mut rx = bus.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(ev) => {
                    if let pitbox_model::Message::TelemetryUpdate(u) = &ev.message {
                        latest.write().await.insert(u.driver_id.clone(), u.snapshot());
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// The full router of a node.
pub fn router(state: AppState) -> Router {
    crate::api::routes(state)
}

/// Serves until `shutdown` resolves; on the way out staged telemetry is compacted.
pub async fn serve(
    config: &Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let state = AppState::open(config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let addr = listener.local_addr().unwrap_or(config.listen);
    tracing::info!(%addr, node = %state.node_id, storage = state.objects.describe(), "pitbox cloud listening");
    // A line on stdout that scripts and tests wait for.
    println!("pitbox cloud listening on http://{addr}");
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(pitbox_hub::no_delay(listener), app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| StartError::Listen { addr, source })?;
    match crate::telemetry::compact(&state.store, &state.objects, 0, true).await {
        Ok(n) => tracing::info!(chunks = n, "compacted staged telemetry on shutdown"),
        Err(e) => {
            tracing::warn!(error = %e, "compaction on shutdown failed; staged rows stay and are compacted next start")
        }
    }
    Ok(())
}

/// Prometheus text of the node's counters.
pub fn metrics_text(state: &AppState) -> String {
    let m = &state.metrics;
    let i = state.ingest.stats();
    let b = state.bus.stats();
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let c = state.coaching.stats();
    let lines: [(&str, &str, &str, u64); 20] = [
        ("pitbox_http_requests_total", "counter", "HTTP requests served", g(&m.http_requests)),
        ("pitbox_logins_ok_total", "counter", "Successful logins", g(&m.logins_ok)),
        ("pitbox_logins_failed_total", "counter", "Failed logins", g(&m.logins_failed)),
        ("pitbox_logins_rate_limited_total", "counter", "Logins refused by the rate limit", g(&m.logins_limited)),
        (
            "pitbox_login_limiter_redis_unavailable_total",
            "counter",
            "Login limit checks and counts Redis did not answer (this node's own counts decided)",
            state.limiter.redis_unavailable(),
        ),
        ("pitbox_samples_stored_total", "counter", "Telemetry samples stored durably", g(&i.samples_stored)),
        ("pitbox_ingest_commits_total", "counter", "Ingest transactions committed", g(&i.commits)),
        ("pitbox_ingest_commit_failures_total", "counter", "Ingest transactions failed", g(&i.commit_failures)),
        ("pitbox_uplink_duplicates_total", "counter", "Uplink batches received again", g(&i.batches_duplicate)),
        ("pitbox_chunks_written_total", "counter", "Telemetry chunks written", g(&i.chunks_written)),
        ("pitbox_bus_published_total", "counter", "Events published on the bus", g(&b.published)),
        ("pitbox_bus_received_remote_total", "counter", "Events received from other nodes", g(&b.received_remote)),
        ("pitbox_bus_dropped_total", "counter", "Events not delivered to other nodes", g(&b.dropped)),
        ("pitbox_bus_video_published_total", "counter", "Video messages handed to other nodes", g(&b.video_published)),
        (
            "pitbox_bus_video_received_remote_total",
            "counter",
            "Video messages received from other nodes",
            g(&b.video_received_remote),
        ),
        (
            "pitbox_bus_video_dropped_total",
            "counter",
            "Video messages not handed to other nodes (queue full or bus failed)",
            g(&b.video_dropped),
        ),
        ("pitbox_coaching_messages_total", "counter", "Live coaching messages made", g(&c.messages)),
        (
            "pitbox_coach_feeds_dropped_total",
            "counter",
            "Stored batches the live coach was too busy for",
            g(&c.feeds_dropped),
        ),
        (
            "pitbox_revocation_sync_failures_total",
            "counter",
            "Reloads of the token deny-list that failed (the last list stayed in force)",
            g(&m.revocation_sync_failures),
        ),
        ("pitbox_uptime_seconds", "gauge", "Seconds since the node started", state.started.elapsed().as_secs()),
    ];
    let mut out = String::new();
    for (name, kind, help, v) in lines {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"));
    }
    // `/ws` connections, messages, drops and refusals, as the relay reports its own.
    state.hub.metrics().render("pitbox_ws", &mut out);
    pitbox_hub::render_process(&mut out);
    let layered = [
        (
            "pitbox_voice_cache_hits_total",
            "Voice clips found in a cache layer",
            [("redis", g(&m.voice_cache_hits_redis)), ("sql", g(&m.voice_cache_hits_sql))],
        ),
        (
            "pitbox_voice_cache_misses_total",
            "Voice clips a cache layer did not have",
            [("redis", g(&m.voice_cache_misses_redis)), ("sql", g(&m.voice_cache_misses_sql))],
        ),
    ];
    for (name, help, values) in layered {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
        for (layer, v) in values {
            out.push_str(&format!("{name}{{layer=\"{layer}\"}} {v}\n"));
        }
    }
    let name = "pitbox_voice_cache_redis_unavailable_total";
    out.push_str(&format!(
        "# HELP {name} Voice cache lookups and writes that went without Redis\n# TYPE {name} counter\n{name} {}\n",
        g(&m.voice_cache_redis_unavailable)
    ));
    out
}
