//! From accepted samples to durable batches: the hub hooks (duplicate drop by sample
//! `sequence`, hand-off to the batcher) and the batcher task that groups each driver's samples
//! into numbered batches, compresses them, appends them to the spool in one durable transaction,
//! acknowledges the samples to the driver (`ack` with the highest sample `sequence` spooled) and
//! wakes the uplink.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pitbox_auth::Identity;
use pitbox_hub::{Hooks, Hub, Refusal};
use pitbox_model::Message;
use pitbox_model::control::{Ack, ErrorCode, MAX_BATCH_SAMPLES, TelemetryBatch};
use pitbox_model::telemetry::TelemetryUpdate;
use tokio::sync::{mpsc, watch};

use crate::spool::{DriverState, NewBatch, Spool, SpoolError};
use crate::state::Shared;

/// One accepted sample on its way to the spool.
pub(crate) struct Sample {
    pub(crate) user: String,
    pub(crate) update: TelemetryUpdate,
}

/// The relay's hub hooks.
pub struct RelayHooks {
    tx: Option<mpsc::Sender<Sample>>,
    /// Team messages (JSON) on their way to the spool's cloud queue; `None` offline.
    msg_tx: Option<mpsc::Sender<String>>,
    marks: Mutex<HashMap<String, Mark>>,
    /// Per driver: the highest sample `sequence` written to the spool (what an `ack` to the
    /// driver may say). Behind `marks` by the samples still waiting for the batcher's tick.
    spooled: Mutex<HashMap<String, u64>>,
    shared: Arc<Shared>,
}

/// How long a driver's samples may all be duplicates before the relay concludes that their
/// numbering restarted (an agent from before numbering by time, or one whose clock was set
/// back) and takes them: well inside the 2 s a restarted agent has to be back on the
/// dashboards, well beyond a resend after a reconnect (those are followed by new samples).
pub const RESTART_AFTER: Duration = Duration::from_secs(1);

/// How long a run of duplicates must last before the relay tells the driver: a resend of
/// unacknowledged samples after a reconnect arrives back to back and is followed by new samples
/// (allowed by the protocol, so never reported to the driver); a restarted numbering keeps
/// coming at the sample rate and is reported well before [`RESTART_AFTER`] takes it.
pub const REPORT_AFTER: Duration = Duration::from_millis(250);

/// Per driver: the highest sample `sequence` taken, and the run of duplicates since then.
#[derive(Debug, Default)]
struct Mark {
    last: u64,
    burst: Option<Burst>,
}

/// A run of duplicate samples of one driver (no new sample in between).
#[derive(Debug)]
struct Burst {
    since: Instant,
    count: u64,
    lowest: u64,
    highest: u64,
    /// Whether the driver has been told of this run (once per run, after [`REPORT_AFTER`]).
    told: bool,
}

impl Burst {
    fn warn(&self, driver: &str, last: u64, what: &str) {
        tracing::warn!(
            driver,
            duplicates = self.count,
            from = self.lowest,
            to = self.highest,
            last_taken = last,
            "{} duplicate sample(s) of {driver} dropped (sequence {}–{}, at or below {last} already taken){what}",
            self.count,
            self.lowest,
            self.highest,
        );
    }
}

impl RelayHooks {
    pub(crate) fn new(
        tx: Option<mpsc::Sender<Sample>>,
        msg_tx: Option<mpsc::Sender<String>>,
        known: &HashMap<String, DriverState>,
        shared: Arc<Shared>,
    ) -> Self {
        // A spooled driver whose samples carried no sequence has last_sample 0: not "0 seen".
        let marks = known
            .iter()
            .filter(|(_, s)| s.last_sample > 0)
            .map(|(d, s)| (d.clone(), Mark { last: s.last_sample, burst: None }))
            .collect();
        let spooled =
            known.iter().filter(|(_, s)| s.last_sample > 0).map(|(d, s)| (d.clone(), s.last_sample)).collect();
        RelayHooks { tx, msg_tx, marks: Mutex::new(marks), spooled: Mutex::new(spooled), shared }
    }

    /// The batcher wrote `driver`'s samples up to `last` to the spool.
    fn note_spooled(&self, driver: &str, last: u64) {
        let mut m = match self.spooled.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let e = m.entry(driver.to_string()).or_insert(0);
        *e = (*e).max(last);
    }

    fn spooled_up_to(&self, driver: &str) -> u64 {
        let m = match self.spooled.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        m.get(driver).copied().unwrap_or(0)
    }

    /// The samples of a spooling driver's batch not taken yet (in order: the agent sends its
    /// batches in order, so everything at or below the highest taken is a resend). A resend is
    /// expected after every reconnect, so it is neither reported to the driver nor taken for a
    /// restarted numbering.
    fn take_new(&self, samples: Vec<TelemetryUpdate>) -> Vec<TelemetryUpdate> {
        let mut marks = match self.marks.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut out = Vec::with_capacity(samples.len());
        for s in samples {
            let Some(seq) = s.sequence else {
                out.push(s);
                continue;
            };
            let mark = marks.entry(s.driver_id.clone()).or_default();
            if seq > mark.last || (mark.last == 0 && mark.burst.is_none()) {
                mark.last = mark.last.max(seq);
                out.push(s);
            } else {
                self.shared.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
            }
        }
        out
    }

    /// The duplicate rule (docs/protocol.md, "Sample identity"): `Ok(true)` takes the sample,
    /// `Ok(false)` drops it silently, `Err` drops it and tells the driver (once per run, when
    /// the run has lasted [`REPORT_AFTER`]).
    fn dedupe(&self, sample: &TelemetryUpdate, now: Instant) -> Result<bool, Refusal> {
        let Some(seq) = sample.sequence else { return Ok(true) };
        let mut marks = match self.marks.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let driver = sample.driver_id.as_str();
        // A driver's first sample may carry sequence 0 (a sim's first tick): only a
        // sequence at or below one already taken is a duplicate.
        let Some(mark) = marks.get_mut(driver) else {
            marks.insert(driver.to_string(), Mark { last: seq, burst: None });
            return Ok(true);
        };
        if seq > mark.last {
            if let Some(b) = mark.burst.take() {
                b.warn(driver, mark.last, "");
            }
            mark.last = seq;
            return Ok(true);
        }
        match &mut mark.burst {
            Some(b) => {
                if now.duration_since(b.since) >= RESTART_AFTER {
                    // Nothing new for a second, only numbers already taken: the numbering
                    // restarted. Take it from here.
                    b.warn(
                        driver,
                        mark.last,
                        &format!(
                            "; nothing new for {RESTART_AFTER:?}: taking {seq} as the driver's restarted numbering"
                        ),
                    );
                    self.shared.metrics.sequence_restarts.fetch_add(1, Ordering::Relaxed);
                    mark.burst = None;
                    mark.last = seq;
                    return Ok(true);
                }
                self.shared.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
                b.count += 1;
                b.lowest = b.lowest.min(seq);
                b.highest = b.highest.max(seq);
                if b.told || now.duration_since(b.since) < REPORT_AFTER {
                    return Ok(false);
                }
                b.told = true;
                let (lowest, count, last) = (b.lowest, b.count, mark.last);
                let mut r = Refusal::new(
                    ErrorCode::Conflict,
                    format!(
                        "duplicate: {count} sample(s) of {driver} from sequence {lowest} on are at or below {last}, \
                         already taken; dropped (the relay reports this once per run of duplicates)"
                    ),
                );
                r.field = Some("data.sequence".into());
                Err(r)
            }
            None => {
                // The first duplicate of a run may be a resend after a reconnect: dropped
                // without a word to the driver until the run outlasts REPORT_AFTER.
                self.shared.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
                mark.burst = Some(Burst { since: now, count: 1, lowest: seq, highest: seq, told: false });
                Ok(false)
            }
        }
    }
}

impl Hooks for RelayHooks {
    fn on_video(&self, _who: &Identity, stream: &str, frame: &pitbox_video::fanout::SharedFrame) {
        self.shared.video_up.offer(stream, frame.clone());
    }

    async fn on_message(&self, _who: &Identity, msg: &Message) {
        // Remembered so that the cloud's copy coming back down is not delivered again.
        if let Some(key) = crate::downlink::echo_key(msg) {
            self.shared.echoes.remember(key);
        }
        if let Message::HandoffResponse(r) = msg {
            // The hub also routed the handoff with its new status; the cloud sends that too.
            self.shared.echoes.remember(format!("handoff_request:{}:{}", r.handoff_id, r.status));
        }
        // A pit command (or a request for a driver's video) from the LAN pit wall is for a car
        // on this relay (the hub routed it there); the cloud takes them only from the pit
        // wall's own connection.
        if matches!(msg, Message::PitCommand(_) | Message::VideoRequest(_)) {
            return;
        }
        if let Some(tx) = &self.msg_tx {
            // Awaiting applies back-pressure to this client only while the spool catches up.
            if tx.send(msg.to_json()).await.is_err() {
                tracing::warn!(kind = msg.type_name(), "relay is shutting down; message not queued for the cloud");
            }
        }
    }

    fn on_disconnect(&self, who: &Identity) {
        self.shared.video_up.forget(&who.user_id);
        // A run of duplicates cut short by the driver leaving is reported now.
        let mut marks = match self.marks.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(m) = marks.get_mut(&who.user_id)
            && let Some(b) = m.burst.take()
        {
            b.warn(&who.user_id, m.last, " before the driver disconnected");
        }
    }

    /// A spooling driver agent's numbered batch (docs/driver.md, "Spool"): its new samples go to
    /// the spool like live ones, and the agent gets the usual `ack` (highest sample `sequence`
    /// spooled) once they are written. A batch that brings nothing new is acknowledged at once.
    /// Offline nothing is kept: the batch has reached its last hop and is acknowledged as is.
    async fn on_batch(&self, who: &Identity, batch: TelemetryBatch) -> Result<Option<Ack>, Refusal> {
        let driver = batch.driver_id.clone();
        let Some(tx) = &self.tx else {
            let last = batch.samples.iter().filter_map(|s| s.sequence).max().unwrap_or(0);
            return Ok((last > 0).then_some(Ack { driver_id: driver, sequence: last }));
        };
        let fresh = self.take_new(batch.samples);
        if fresh.is_empty() {
            let spooled = self.spooled_up_to(&driver);
            return Ok((spooled > 0).then_some(Ack { driver_id: driver, sequence: spooled }));
        }
        for update in fresh {
            // Awaiting here applies back-pressure to this driver only while the spool catches up.
            tx.send(Sample { user: who.user_id.clone(), update })
                .await
                .map_err(|_| Refusal::new(ErrorCode::InternalError, "relay is shutting down"))?;
        }
        Ok(None)
    }

    async fn on_telemetry(&self, who: &Identity, sample: &TelemetryUpdate) -> Result<bool, Refusal> {
        if !self.dedupe(sample, Instant::now())? {
            return Ok(false);
        }
        if let Some(tx) = &self.tx {
            // Awaiting here applies back-pressure to this driver only while the spool catches up.
            tx.send(Sample { user: who.user_id.clone(), update: sample.clone() })
                .await
                .map_err(|_| Refusal::new(ErrorCode::InternalError, "relay is shutting down"))?;
        }
        Ok(true)
    }
}

/// Writes team messages for the cloud into the spool's queue, every message waiting at that
/// moment in one durable transaction, and wakes the uplink.
pub(crate) async fn message_writer(
    mut rx: mpsc::Receiver<String>,
    spool: Arc<Spool>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut pending: Vec<String> = Vec::new();
    loop {
        if pending.is_empty() {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(m) => pending.push(m),
                    None => return,
                },
                _ = shutdown.changed() => {
                    while let Ok(m) = rx.try_recv() {
                        pending.push(m);
                    }
                    if !pending.is_empty() {
                        let s = spool.clone();
                        let batch = std::mem::take(&mut pending);
                        let n = batch.len() as u64;
                        match tokio::task::spawn_blocking(move || s.append_messages(&batch)).await {
                            Ok(Ok(_)) => { shared.metrics.messages_queued.fetch_add(n, Ordering::Relaxed); }
                            _ => tracing::error!(messages = n, "could not queue the last messages for the cloud at shutdown"),
                        }
                    }
                    return;
                }
            }
        }
        while pending.len() < 1000 {
            match rx.try_recv() {
                Ok(m) => pending.push(m),
                Err(_) => break,
            }
        }
        let s = spool.clone();
        let batch = pending.clone();
        let n = batch.len() as u64;
        match tokio::task::spawn_blocking(move || s.append_messages(&batch)).await {
            Ok(Ok(_)) => {
                pending.clear();
                shared.metrics.messages_queued.fetch_add(n, Ordering::Relaxed);
                shared.uplink_wake.notify_one();
            }
            Ok(Err(SpoolError::Full { used, limit })) => {
                shared.metrics.spool_rejected_messages.fetch_add(n, Ordering::Relaxed);
                tracing::error!(
                    used,
                    limit,
                    messages = n,
                    "spool full: messages shown locally but not forwarded to the cloud"
                );
                pending.clear();
            }
            Ok(Err(e)) => {
                shared.metrics.spool_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "queueing messages for the cloud failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                shared.metrics.spool_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "message queue task failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Batching settings.
#[derive(Debug, Clone)]
pub(crate) struct BatchConfig {
    pub(crate) interval: Duration,
    pub(crate) max_samples: usize,
    pub(crate) level: i32,
}

#[derive(Default)]
struct DriverBuf {
    samples: Vec<TelemetryUpdate>,
    users: Vec<String>,
    next_batch: u64,
}

pub(crate) async fn batcher(
    mut rx: mpsc::Receiver<Sample>,
    hub: Hub<RelayHooks>,
    spool: Arc<Spool>,
    shared: Arc<Shared>,
    cfg: BatchConfig,
    known: HashMap<String, DriverState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let max = cfg.max_samples.clamp(1, MAX_BATCH_SAMPLES);
    let mut bufs: HashMap<String, DriverBuf> = known
        .into_iter()
        .map(|(d, s)| (d, DriverBuf { next_batch: s.next_batch.max(1), ..Default::default() }))
        .collect();
    let mut tick = tokio::time::interval(cfg.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_warn: Option<Instant> = None;
    loop {
        // The receiver is only read on the tick: a sender that finds no receiver waiting wakes
        // nobody, so 6,000 samples a second cost no task wake-ups (they were most of the relay's
        // CPU). Samples wait for the tick exactly as before; the channel holds over a second of
        // a full field at 60 Hz between ticks, and a full channel holds its drivers back.
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = shutdown.changed() => true,
        };
        let mut closed = false;
        loop {
            match rx.try_recv() {
                Ok(s) => push(&mut bufs, s),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        flush(&mut bufs, &hub, &spool, &shared, &cfg, max, &mut last_warn).await;
        if stopping || closed {
            return;
        }
    }
}

fn push(bufs: &mut HashMap<String, DriverBuf>, s: Sample) {
    let b = bufs.entry(s.update.driver_id.clone()).or_insert_with(|| DriverBuf { next_batch: 1, ..Default::default() });
    if !b.users.contains(&s.user) {
        b.users.push(s.user);
    }
    b.samples.push(s.update);
}

async fn flush(
    bufs: &mut HashMap<String, DriverBuf>,
    hub: &Hub<RelayHooks>,
    spool: &Arc<Spool>,
    shared: &Arc<Shared>,
    cfg: &BatchConfig,
    max: usize,
    last_warn: &mut Option<Instant>,
) {
    // Form batches without consuming the buffers: they are kept when the write fails.
    let mut plans: Vec<(String, TelemetryBatch)> = Vec::new();
    let origin = spool.origin().map(str::to_string);
    for (driver, b) in bufs.iter() {
        for (seq, chunk) in (b.next_batch..).zip(b.samples.chunks(max)) {
            plans.push((
                driver.clone(),
                TelemetryBatch {
                    driver_id: driver.clone(),
                    sequence: seq,
                    samples: chunk.to_vec(),
                    origin: origin.clone(),
                },
            ));
        }
    }
    if plans.is_empty() {
        return;
    }
    let level = cfg.level;
    let spool2 = spool.clone();
    let sample_count: usize = plans.iter().map(|(_, b)| b.samples.len()).sum();
    let result = tokio::task::spawn_blocking(move || -> Result<Vec<(String, u64, u64)>, SpoolError> {
        let mut news = Vec::with_capacity(plans.len());
        let mut done = Vec::with_capacity(plans.len());
        let mut encoder = pitbox_hub::uplink::BatchEncoder::new(level).map_err(|e| SpoolError::Db(e.to_string()))?;
        for (driver, batch) in &plans {
            let frame = encoder.encode(batch).map_err(|e| SpoolError::Db(e.to_string()))?;
            let last_sample = batch.samples.iter().filter_map(|s| s.sequence).max().unwrap_or(0);
            let samples = batch.samples.len() as u64;
            news.push(NewBatch { driver: driver.clone(), sequence: batch.sequence, frame, last_sample, samples });
            done.push((driver.clone(), batch.sequence, last_sample));
        }
        spool2.append(&news)?;
        Ok(done)
    })
    .await;
    let m = &shared.metrics;
    match result {
        Ok(Ok(done)) => {
            m.batches_spooled.fetch_add(done.len() as u64, Ordering::Relaxed);
            m.samples_spooled.fetch_add(sample_count as u64, Ordering::Relaxed);
            let mut last_by_driver: HashMap<&str, u64> = HashMap::new();
            for (driver, seq, last_sample) in &done {
                if let Some(b) = bufs.get_mut(driver) {
                    b.next_batch = b.next_batch.max(seq + 1);
                }
                let e = last_by_driver.entry(driver.as_str()).or_insert(0);
                *e = (*e).max(*last_sample);
            }
            for (driver, last) in last_by_driver {
                let Some(b) = bufs.get_mut(driver) else { continue };
                if last > 0 {
                    hub.hooks().note_spooled(driver, last);
                    let ack = Message::Ack(Ack { driver_id: driver.to_string(), sequence: last });
                    for u in &b.users {
                        hub.send_to_user(u, &ack);
                    }
                }
            }
            for b in bufs.values_mut() {
                b.samples.clear();
                b.users.clear();
            }
            shared.uplink_wake.notify_one();
            let used = spool.bytes() as f64 / spool.limit().max(1) as f64;
            if used >= 0.9 && last_warn.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                *last_warn = Some(Instant::now());
                tracing::warn!(
                    used_bytes = spool.bytes(),
                    limit_bytes = spool.limit(),
                    "spool is {:.0}% full: the cloud is not taking batches; new samples will not be forwarded once it is full",
                    used * 100.0
                );
            }
        }
        Ok(Err(SpoolError::Full { used, limit })) => {
            m.spool_rejected.fetch_add(sample_count as u64, Ordering::Relaxed);
            if last_warn.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                *last_warn = Some(Instant::now());
                tracing::error!(
                    used,
                    limit,
                    "spool full: samples are shown live but not forwarded to the cloud (drivers get no ack)"
                );
            }
            for b in bufs.values_mut() {
                b.samples.clear();
                b.users.clear();
            }
        }
        Ok(Err(e)) => {
            m.spool_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "spool write failed; retrying");
            // Keep what we have, bounded: beyond 20 batches per driver the oldest go.
            for b in bufs.values_mut() {
                let cap = max * 20;
                if b.samples.len() > cap {
                    let drop = b.samples.len() - cap;
                    b.samples.drain(..drop);
                    m.spool_rejected.fetch_add(drop as u64, Ordering::Relaxed);
                }
            }
        }
        Err(e) => {
            m.spool_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "spool task failed");
        }
    }
}
