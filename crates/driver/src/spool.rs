//! The agent's durable spool (docs/driver.md, "Spool"): every sample the source produces is
//! written, in numbered zstd batches, to `spool.redb` in the agent's data folder
//! (`pitbox-uplink`'s spool, the relay's own kind), and stays there until the next hop — the
//! relay, or the cloud in direct mode — acknowledges it. The link (`relay.rs`) sends the newest
//! sample live and the spooled batches behind it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pitbox_model::control::{MAX_BATCH_SAMPLES, TelemetryBatch};
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_uplink::{NewBatch, Spool, SpoolError};

use crate::journal::Journal;
use tokio::sync::{Notify, mpsc, watch};

/// Default bound of the spool: about two days of one car at 60 Hz.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 1 << 30;
/// Share of the bound at which the agent warns (log and `/api/status`'s `spool.nearFull`).
pub const NEAR_FULL: f64 = 0.9;
/// Samples that may wait between the source thread and the spool writer (over four minutes
/// at 60 Hz: only a spool that cannot write for that long loses samples here).
const QUEUE: usize = 16_384;

/// Where and how the agent spools.
#[derive(Debug, Clone)]
pub struct SpoolSettings {
    /// The spool file (`DATA_DIR/spool.redb`).
    pub path: PathBuf,
    /// Bound, bytes of compressed batches.
    pub max_bytes: u64,
    /// How often waiting samples are cut into a batch and written (one fsync each).
    pub batch_interval: Duration,
    /// Most batches sent and not yet acknowledged.
    pub window: usize,
}

impl SpoolSettings {
    /// `DIR/spool.redb`, 1 GiB, batches every 200 ms, 16 in flight.
    pub fn in_dir(dir: impl Into<PathBuf>) -> SpoolSettings {
        SpoolSettings {
            path: dir.into().join("spool.redb"),
            max_bytes: DEFAULT_SPOOL_MAX_BYTES,
            batch_interval: Duration::from_millis(200),
            window: 16,
        }
    }
}

/// The open spool and what the link and `/api/status` need of it.
#[derive(Debug)]
pub struct AgentSpool {
    pub spool: Arc<Spool>,
    pub settings: SpoolSettings,
    /// Rung when a batch was written: the link sends it.
    pub wake: Notify,
    /// Samples written to the spool since the start.
    pub samples_spooled: AtomicU64,
    /// Samples not kept because the spool was full or could not be written (live only).
    pub samples_rejected: AtomicU64,
    /// Whether the spool is at least [`NEAR_FULL`] of its bound.
    pub near_full: AtomicBool,
    /// Since when the next hop has been unreachable (`None`: connected).
    pub down_since: std::sync::Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    /// Every sample, written the moment it is produced (`None` when its files cannot be opened:
    /// a killed agent may then lose its last 200 ms).
    pub journal: Option<Journal>,
}

impl AgentSpool {
    /// Opens (or creates) the spool file and its journal; also returns what the journal held
    /// (for [`writer`] to spool first, those the spool lacks).
    pub fn open(settings: SpoolSettings) -> Result<(AgentSpool, Vec<TelemetryUpdate>), SpoolError> {
        let spool = Spool::open(&settings.path, settings.max_bytes)?;
        if spool.batches() > 0 {
            tracing::info!(
                samples = spool.samples(),
                batches = spool.batches(),
                path = %settings.path.display(),
                "the spool holds samples not yet acknowledged; they are sent behind the live ones"
            );
        }
        let (journal, recovered) = match Journal::open(&settings.path) {
            Ok((j, r)) => (Some(j), r),
            Err(e) => {
                tracing::error!(error = %e, "the spool's journal cannot be opened: a killed agent may lose its last 200 ms");
                (None, Vec::new())
            }
        };
        let opened = AgentSpool {
            journal,
            spool: Arc::new(spool),
            settings,
            wake: Notify::new(),
            samples_spooled: AtomicU64::new(0),
            samples_rejected: AtomicU64::new(0),
            near_full: AtomicBool::new(false),
            down_since: std::sync::Mutex::new(Some(chrono::Utc::now())),
        };
        Ok((opened, recovered))
    }

    /// The link is up (`true`) or down.
    pub fn set_connected(&self, up: bool) {
        if let Ok(mut d) = self.down_since.lock() {
            match (up, d.is_some()) {
                (true, _) => *d = None,
                (false, false) => *d = Some(chrono::Utc::now()),
                (false, true) => {}
            }
        }
    }

    /// `/api/status`'s `spool`.
    pub fn status(&self) -> serde_json::Value {
        let s = &self.spool;
        let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
        let oldest = s.oldest_ms().ok().flatten();
        serde_json::json!({
            "samples": s.samples(),
            "batches": s.batches(),
            "bytes": s.bytes(),
            "limitBytes": s.limit(),
            "fullFraction": s.bytes() as f64 / s.limit().max(1) as f64,
            "nearFull": self.near_full.load(Ordering::Relaxed),
            "oldestAgeSecs": oldest.map(|ms| now.saturating_sub(ms) as f64 / 1000.0),
            "samplesSpooled": self.samples_spooled.load(Ordering::Relaxed),
            "samplesRejected": self.samples_rejected.load(Ordering::Relaxed),
            "unreachableSince": self.down_since.lock().ok().and_then(|d| *d),
        })
    }
}

/// The source thread's end of the queue to the spool writer.
pub type SampleSender = mpsc::Sender<TelemetryUpdate>;

/// The queue from the source thread to [`writer`].
pub fn queue() -> (SampleSender, mpsc::Receiver<TelemetryUpdate>) {
    mpsc::channel(QUEUE)
}

/// Cuts the samples waiting into numbered batches every `batch_interval`, writes them to the
/// spool in one durable transaction and wakes the link. Stops (after a last write) on shutdown.
pub async fn writer(
    spool: Arc<AgentSpool>,
    driver_id: String,
    recovered: Vec<TelemetryUpdate>,
    mut rx: mpsc::Receiver<TelemetryUpdate>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (mut next_batch, last_sample) = {
        let s = spool.spool.clone();
        let d = driver_id.clone();
        match tokio::task::spawn_blocking(move || s.drivers()).await {
            Ok(Ok(known)) => known.get(&d).map_or((1, 0), |st| (st.next_batch.max(1), st.last_sample)),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot read the spool; samples are sent live only");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the spool; samples are sent live only");
                return;
            }
        }
    };
    // What a killed agent journaled and never spooled goes first, ahead of anything new.
    let mut waiting: Vec<TelemetryUpdate> =
        recovered.into_iter().filter(|t| t.sequence.is_some_and(|q| q > last_sample)).collect();
    if !waiting.is_empty() {
        tracing::info!(
            samples = waiting.len(),
            "samples produced before the agent was stopped abruptly are spooled from its journal"
        );
    }
    let mut tick = tokio::time::interval(spool.settings.batch_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_warn: Option<Instant> = None;
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = shutdown.wait_for(|v| *v) => true,
        };
        let mut closed = false;
        if stopping {
            // Everything the source produced before it stopped is kept: wait (briefly) for its
            // thread to let go of the queue.
            let until = tokio::time::Instant::now() + Duration::from_secs(2);
            while let Ok(Some(s)) = tokio::time::timeout_at(until, rx.recv()).await {
                waiting.push(s);
            }
        }
        loop {
            match rx.try_recv() {
                Ok(s) => waiting.push(s),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        if !waiting.is_empty() {
            write(&spool, &driver_id, &mut waiting, &mut next_batch, &mut last_warn).await;
        }
        if stopping || closed {
            let s = spool.spool.clone();
            let synced = tokio::task::spawn_blocking(move || s.sync()).await;
            if let (Some(j), Ok(Ok(())), true) = (&spool.journal, synced, waiting.is_empty()) {
                j.clear();
            }
            return;
        }
    }
}

async fn write(
    spool: &Arc<AgentSpool>,
    driver_id: &str,
    waiting: &mut Vec<TelemetryUpdate>,
    next_batch: &mut u64,
    last_warn: &mut Option<Instant>,
) {
    let origin = spool.spool.origin().map(str::to_string);
    let batches: Vec<TelemetryBatch> = (*next_batch..)
        .zip(waiting.chunks(MAX_BATCH_SAMPLES))
        .map(|(sequence, chunk)| TelemetryBatch {
            driver_id: driver_id.to_string(),
            sequence,
            samples: chunk.to_vec(),
            origin: origin.clone(),
        })
        .collect();
    let count = waiting.len() as u64;
    let s = spool.spool.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<u64, SpoolError> {
        let mut encoder = pitbox_hub::uplink::BatchEncoder::new(pitbox_hub::uplink::DEFAULT_LEVEL)
            .map_err(|e| SpoolError::Db(e.to_string()))?;
        let mut news = Vec::with_capacity(batches.len());
        for b in &batches {
            let frame = encoder.encode(b).map_err(|e| SpoolError::Db(e.to_string()))?;
            let last_sample = b.samples.iter().filter_map(|s| s.sequence).max().unwrap_or(0);
            let samples = b.samples.len() as u64;
            news.push(NewBatch { driver: b.driver_id.clone(), sequence: b.sequence, frame, last_sample, samples });
        }
        s.append(&news)?;
        Ok(news.len() as u64)
    })
    .await
    .unwrap_or_else(|e| Err(SpoolError::Db(e.to_string())));
    let full = |used: u64, limit: u64| used as f64 >= NEAR_FULL * limit.max(1) as f64;
    match result {
        Ok(n) => {
            *next_batch += n;
            waiting.clear();
            if let Some(j) = &spool.journal {
                j.rotate();
            }
            spool.samples_spooled.fetch_add(count, Ordering::Relaxed);
            spool.wake.notify_one();
            let (used, limit) = (spool.spool.bytes(), spool.spool.limit());
            let near = full(used, limit);
            spool.near_full.store(near, Ordering::Relaxed);
            if near && last_warn.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                *last_warn = Some(Instant::now());
                tracing::warn!(
                    used_bytes = used,
                    limit_bytes = limit,
                    "the spool is {:.0}% full: the relay or cloud has not taken samples for a long time; once it is \
                     full new samples are shown live but not kept",
                    100.0 * used as f64 / limit.max(1) as f64
                );
            }
        }
        Err(SpoolError::Full { used, limit }) => {
            spool.samples_rejected.fetch_add(count, Ordering::Relaxed);
            spool.near_full.store(true, Ordering::Relaxed);
            waiting.clear();
            // Not kept, by the bound's rule: the journal need not hold them either.
            if let Some(j) = &spool.journal {
                j.rotate();
            }
            if last_warn.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                *last_warn = Some(Instant::now());
                tracing::error!(used, limit, "the spool is full: samples are sent live but not kept for the team");
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "writing the spool failed; retrying");
            // Kept for the next tick, bounded: beyond a minute at 60 Hz the oldest go.
            let cap = 3_600;
            if waiting.len() > cap {
                let drop = waiting.len() - cap;
                waiting.drain(..drop);
                spool.samples_rejected.fetch_add(drop as u64, Ordering::Relaxed);
            }
        }
    }
}
