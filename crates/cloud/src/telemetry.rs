//! Telemetry storage: the ingest writer (group commit: many requests, one transaction, then
//! the acknowledgements), sessions and laps, the compactor that turns staged blocks into
//! per-lap chunks in the object store, and the queries that read them back.
//!
//! Durability: a sample is acknowledged (HTTP 201, uplink `ack`) only after the transaction
//! holding it committed. Staged blocks are one SQL row per (commit, session, lap), never one per
//! sample; the compactor moves them into the object store, writing the object before it deletes
//! the staged rows, so a crash at any point loses nothing (at worst an object is written twice).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pitbox_model::Message;
use pitbox_model::telemetry::TelemetryUpdate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use crate::bus::Bus;
use crate::chunk::Columns;
use crate::coaching::{LapFeed, LiveCoaching};
use crate::objects::Objects;
use crate::store::{Store, StoreError, StoreResult, ms_to_time, new_id, now_ms};

/// A driver's samples more than this far apart start a new session.
pub const SESSION_GAP_MS: i64 = 30 * 60 * 1000;
/// Most requests folded into one transaction.
const MAX_GROUP_JOBS: usize = 2_048;
/// Ingest writers on PostgreSQL (see [`Ingest::start`]).
pub const POSTGRES_WRITERS: usize = 4;
/// Most samples folded into one transaction.
const MAX_GROUP_SAMPLES: usize = 100_000;

/// How a submission ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Stored durably.
    Stored,
    /// An uplink batch already stored earlier; `last` is the driver's highest stored sequence.
    Duplicate { last: u64 },
}

/// Why a submission was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    #[error("sequence {got} leaves a gap: the next batch of this driver must be {expected}")]
    Gap { expected: u64, got: u64 },
    #[error("storage failed: {0}")]
    Storage(String),
    #[error("the ingest writer has stopped")]
    Stopped,
}

/// An uplink batch's place in its sender's numbering: `sequence` within `origin`
/// (`telemetry_batch.origin`, "" for a sender without one). Each (driver, origin) numbering is
/// stored at most once per batch and without gaps, independently of the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkSeq {
    pub sequence: u64,
    pub origin: String,
}

/// A driver's numbering of uplink batches: (driver id, origin).
type SeqKey = (String, String);

struct Job {
    team_id: String,
    driver_id: String,
    samples: Vec<TelemetryUpdate>,
    uplink_sequence: Option<UplinkSeq>,
    reply: oneshot::Sender<Result<IngestOutcome, IngestError>>,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct IngestStats {
    pub samples_stored: AtomicU64,
    pub commits: AtomicU64,
    pub batches_duplicate: AtomicU64,
    pub chunks_written: AtomicU64,
    pub commit_failures: AtomicU64,
}

/// Handle to the ingest writer tasks.
#[derive(Clone, Debug)]
pub struct Ingest {
    /// One queue per writer task; a driver always goes to the same one.
    writers: Arc<[mpsc::Sender<Job>]>,
    stats: Arc<IngestStats>,
}

impl Ingest {
    /// Starts the writer tasks; what they store is handed to `coach` after each commit.
    ///
    /// SQLite has one writer task (the database takes one writer at a time anyway). PostgreSQL
    /// has [`POSTGRES_WRITERS`], each owning a share of the drivers: a commit there mostly waits
    /// on round trips and the WAL flush, so one writer left the node's cores 40 % idle while
    /// uplink batches queued behind it.
    pub fn start(store: Store, bus: Bus, coach: LiveCoaching) -> Ingest {
        let count = match store.kind() {
            crate::store::DbKind::Sqlite => 1,
            crate::store::DbKind::Postgres => POSTGRES_WRITERS,
        };
        let stats = Arc::new(IngestStats::default());
        let writers: Vec<mpsc::Sender<Job>> = (0..count)
            .map(|_| {
                let (tx, rx) = mpsc::channel(8_192 / count);
                let writer = Writer {
                    store: store.clone(),
                    bus: bus.clone(),
                    coach: coach.clone(),
                    stats: stats.clone(),
                    sessions: HashMap::new(),
                    sequences: HashMap::new(),
                    lap_windows: HashMap::new(),
                    profiled: std::collections::HashSet::new(),
                };
                tokio::spawn(writer.run(rx));
                tx
            })
            .collect();
        Ingest { writers: writers.into(), stats }
    }

    /// Counters.
    pub fn stats(&self) -> &IngestStats {
        &self.stats
    }

    /// Stores samples of one driver of `team_id`; returns once they are durable.
    /// With `uplink_sequence`, the submission is an uplink batch stored at most once.
    pub async fn submit(
        &self,
        team_id: &str,
        driver_id: &str,
        samples: Vec<TelemetryUpdate>,
        uplink_sequence: Option<UplinkSeq>,
    ) -> Result<IngestOutcome, IngestError> {
        self.enqueue(team_id, driver_id, samples, uplink_sequence).await?.await
    }

    /// [`Ingest::submit`] in two steps: returns once the samples are queued (after everything
    /// queued before them for the same driver, so a driver's batches keep their order), with a
    /// future that resolves when they are durable. Dropping it does not withdraw them.
    pub async fn enqueue(
        &self,
        team_id: &str,
        driver_id: &str,
        samples: Vec<TelemetryUpdate>,
        uplink_sequence: Option<UplinkSeq>,
    ) -> Result<impl Future<Output = Result<IngestOutcome, IngestError>> + Send + 'static, IngestError> {
        let (reply, rx) = oneshot::channel();
        let job =
            Job { team_id: team_id.to_string(), driver_id: driver_id.to_string(), samples, uplink_sequence, reply };
        self.writer_of(driver_id).send(job).await.map_err(|_| IngestError::Stopped)?;
        Ok(async move { rx.await.map_err(|_| IngestError::Stopped)? })
    }

    /// The writer that owns `driver_id`: always the same one, so a driver's sessions, laps and
    /// uplink sequence live in one writer and its batches are stored in order.
    fn writer_of(&self, driver_id: &str) -> &mpsc::Sender<Job> {
        let n = self.writers.len();
        if n == 1 {
            return &self.writers[0];
        }
        // Fixed keys: the same driver maps to the same writer for the life of the process.
        let mut h = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(driver_id, &mut h);
        &self.writers[(std::hash::Hasher::finish(&h) % n as u64) as usize]
    }
}

#[derive(Debug, Clone)]
pub struct SessionState {
    pub id: String,
    pub last_at: i64,
    /// The sim's key of the session, when its samples carry one.
    pub sim_key: Option<String>,
}

struct Writer {
    store: Store,
    bus: Bus,
    coach: LiveCoaching,
    stats: Arc<IngestStats>,
    sessions: HashMap<String, SessionState>,
    sequences: HashMap<SeqKey, u64>,
    /// Recent samples of each live session, cut into laps after every commit.
    lap_windows: HashMap<String, LapWindow>,
    /// Drivers whose team profile this writer made sure of (issue 21: created on the first
    /// stored samples when missing).
    profiled: std::collections::HashSet<String>,
}

struct Block {
    team_id: String,
    session_id: String,
    driver_id: String,
    lap: i64,
    cols: Columns,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            let mut n = jobs[0].samples.len();
            while jobs.len() < MAX_GROUP_JOBS && n < MAX_GROUP_SAMPLES {
                match rx.try_recv() {
                    Ok(j) => {
                        n += j.samples.len();
                        jobs.push(j);
                    }
                    Err(_) => break,
                }
            }
            self.process(jobs).await;
        }
    }

    async fn last_sequence(&mut self, key: &SeqKey) -> StoreResult<u64> {
        if let Some(s) = self.sequences.get(key) {
            return Ok(*s);
        }
        let row = sqlx::query("SELECT last_sequence FROM uplink_sequences WHERE driver_id = $1 AND origin = $2")
            .bind(&key.0)
            .bind(&key.1)
            .fetch_optional(self.store.pool())
            .await?;
        let last = match row {
            Some(r) => u64::try_from(r.try_get::<i64, _>("last_sequence")?).unwrap_or(0),
            None => 0,
        };
        self.sequences.insert(key.clone(), last);
        Ok(last)
    }

    async fn session_of(&mut self, driver_id: &str) -> StoreResult<Option<SessionState>> {
        if let Some(s) = self.sessions.get(driver_id) {
            return Ok(Some(s.clone()));
        }
        let row = sqlx::query(
            "SELECT id, last_sample_at, sim_session_id FROM sessions WHERE driver_id = $1 \
             ORDER BY last_sample_at DESC LIMIT 1",
        )
        .bind(driver_id)
        .fetch_optional(self.store.pool())
        .await?;
        Ok(match row {
            Some(r) => Some(SessionState {
                id: r.try_get("id")?,
                last_at: r.try_get("last_sample_at")?,
                sim_key: r.try_get("sim_session_id")?,
            }),
            None => None,
        })
    }

    /// The driver's session with the sim's key `key`: found, or created now (before the
    /// commit, so a retried batch finds it too).
    async fn keyed_session(
        &mut self,
        team_id: &str,
        driver_id: &str,
        key: &str,
        ts: i64,
    ) -> StoreResult<(SessionState, bool)> {
        let (state, created) = ensure_keyed_session(&self.store, team_id, driver_id, key, ts).await?;
        Ok((state, created))
    }

    async fn process(&mut self, jobs: Vec<Job>) {
        // 1. Decide each job: stored, duplicate or refused (uplink sequence rules).
        let mut verdicts: Vec<Option<Result<IngestOutcome, IngestError>>> = Vec::with_capacity(jobs.len());
        let mut next_seq: HashMap<SeqKey, u64> = HashMap::new();
        let mut prev_seq: HashMap<SeqKey, u64> = HashMap::new();
        for job in &jobs {
            let Some(up) = &job.uplink_sequence else {
                verdicts.push(None);
                continue;
            };
            let seq = up.sequence;
            let key: SeqKey = (job.driver_id.clone(), up.origin.clone());
            let last = match next_seq.get(&key) {
                Some(s) => *s,
                None => match self.last_sequence(&key).await {
                    Ok(s) => s,
                    Err(e) => {
                        verdicts.push(Some(Err(IngestError::Storage(e.to_string()))));
                        continue;
                    }
                },
            };
            prev_seq.entry(key.clone()).or_insert(last);
            if seq <= last {
                verdicts.push(Some(Ok(IngestOutcome::Duplicate { last })));
            } else if seq == last + 1 {
                next_seq.insert(key, seq);
                verdicts.push(None);
            } else {
                verdicts.push(Some(Err(IngestError::Gap { expected: last + 1, got: seq })));
            }
        }

        // 2. Assign sessions and group the accepted samples into blocks per (session, lap).
        let mut new_sessions: Vec<(String, String, String, i64)> = Vec::new();
        let mut touched: HashMap<String, SessionState> = HashMap::new();
        // Blocks in a Vec with an index by (session, lap); per sample only the lap and session
        // are compared, so grouping allocates per block, not per sample.
        let mut blocks: Vec<Block> = Vec::new();
        let mut block_index: HashMap<(String, i64), usize> = HashMap::new();
        let mut latest: HashMap<(String, String), TelemetryUpdate> = HashMap::new();
        // Each session's accepted samples in order, for its laps.
        let mut per_session: HashMap<String, (String, String, Vec<&TelemetryUpdate>)> = HashMap::new();
        let mut stored = 0u64;
        // Per job, where each session's run of samples starts (for the live coach).
        let mut runs: Vec<Vec<(usize, String)>> = vec![Vec::new(); jobs.len()];
        for ((job, verdict), job_runs) in jobs.iter().zip(&verdicts).zip(runs.iter_mut()) {
            if verdict.is_some() {
                continue;
            }
            let mut state: Option<SessionState> = match touched.get(&job.driver_id) {
                Some(st) => Some(st.clone()),
                None => match self.session_of(&job.driver_id).await {
                    Ok(st) => st,
                    Err(e) => {
                        tracing::error!(error = %e, "session lookup failed");
                        None
                    }
                },
            };
            // The block the previous sample went to: (lap, index), reset on a new session.
            let mut current: Option<(i64, usize)> = None;
            for (i, s) in job.samples.iter().enumerate() {
                let ts = s.timestamp.timestamp_millis();
                // A sample that says which sim session it is goes to that session, whatever the
                // time between samples; only samples of older agents are grouped by the gap.
                if let Some(key) = &s.sim_session_id
                    && state.as_ref().is_none_or(|st| st.sim_key.as_deref() != Some(key.as_str()))
                {
                    match self.keyed_session(&job.team_id, &job.driver_id, key, ts).await {
                        Ok((st, _)) => {
                            state = Some(st);
                            current = None;
                        }
                        Err(e) => tracing::error!(error = %e, "keyed session lookup failed"),
                    }
                }
                let keyed_here = |st: &SessionState| match (&s.sim_session_id, &st.sim_key) {
                    (Some(k), Some(sk)) => k == sk,
                    (None, None) => (ts - st.last_at).abs() <= SESSION_GAP_MS,
                    _ => false,
                };
                let st = match &mut state {
                    Some(st) if keyed_here(st) => {
                        st.last_at = st.last_at.max(ts);
                        st
                    }
                    other => {
                        let id = new_id("ses");
                        new_sessions.push((id.clone(), job.team_id.clone(), job.driver_id.clone(), ts));
                        current = None;
                        other.insert(SessionState { id, last_at: ts, sim_key: None })
                    }
                };
                if job_runs.last().is_none_or(|(_, id)| *id != st.id) {
                    job_runs.push((i, st.id.clone()));
                }
                let lap = i64::from(s.lap);
                let at = match current {
                    Some((l, at)) if l == lap => at,
                    _ => {
                        let at = *block_index.entry((st.id.clone(), lap)).or_insert_with(|| {
                            blocks.push(Block {
                                team_id: job.team_id.clone(),
                                session_id: st.id.clone(),
                                driver_id: job.driver_id.clone(),
                                lap,
                                cols: Columns::with_capacity(job.samples.len()),
                            });
                            blocks.len() - 1
                        });
                        current = Some((lap, at));
                        at
                    }
                };
                blocks[at].cols.push(s);
                per_session
                    .entry(st.id.clone())
                    .or_insert_with(|| (job.team_id.clone(), job.driver_id.clone(), Vec::new()))
                    .2
                    .push(s);
                stored += 1;
            }
            if let Some(st) = state {
                touched.insert(job.driver_id.clone(), st);
            }
            if let Some(last) = job.samples.iter().max_by_key(|s| s.timestamp) {
                let key = (job.team_id.clone(), job.driver_id.clone());
                match latest.get(&key) {
                    Some(prev) if prev.timestamp > last.timestamp => {}
                    _ => {
                        latest.insert(key, last.clone());
                    }
                }
            }
        }

        // 3. One transaction for everything.
        let result = if blocks.is_empty() && next_seq.is_empty() {
            Ok(())
        } else {
            self.commit(&new_sessions, &touched, &blocks, &next_seq, &prev_seq).await
        };
        match &result {
            Ok(()) => {
                self.stats.commits.fetch_add(1, Ordering::Relaxed);
                self.stats.samples_stored.fetch_add(stored, Ordering::Relaxed);
                for driver in touched.keys() {
                    if self.profiled.contains(driver) {
                        continue;
                    }
                    match crate::team::ensure_profile(&self.store, driver).await {
                        Ok(_) => {
                            self.profiled.insert(driver.clone());
                        }
                        Err(e) => tracing::warn!(error = %e, driver = %driver, "could not create the driver's profile"),
                    }
                }
                self.sessions.extend(touched);
                self.sequences.extend(next_seq);
                for ((team, _), sample) in latest {
                    self.bus.publish(&team, Message::TelemetryUpdate(sample));
                }
                for (session_id, (team_id, driver_id, samples)) in &per_session {
                    if let Err(e) = self.cut_laps(session_id, team_id, driver_id, samples).await {
                        tracing::warn!(error = %e, session = %session_id, "cutting live laps failed; the samples are stored");
                    }
                }
            }
            Err(e) => {
                self.stats.commit_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "telemetry commit failed");
                for driver in touched.keys() {
                    self.sessions.remove(driver);
                }
                self.sequences.retain(|(driver, _), _| !touched.contains_key(driver));
            }
        }
        for ((job, verdict), job_runs) in jobs.into_iter().zip(verdicts).zip(runs) {
            let coach = verdict.is_none() && result.is_ok();
            let answer = match verdict {
                Some(v) => {
                    if matches!(v, Ok(IngestOutcome::Duplicate { .. })) {
                        self.stats.batches_duplicate.fetch_add(1, Ordering::Relaxed);
                    }
                    v
                }
                None => match &result {
                    Ok(()) => Ok(IngestOutcome::Stored),
                    Err(e) => Err(IngestError::Storage(e.to_string())),
                },
            };
            let Job { team_id, driver_id, mut samples, reply, .. } = job;
            let _ = reply.send(answer);
            if coach {
                // Split at session changes, last run first, so the samples move without copies.
                for (start, session_id) in job_runs.into_iter().rev() {
                    let tail = samples.split_off(start);
                    let (team_id, driver_id) = (team_id.clone(), driver_id.clone());
                    self.coach.feed(LapFeed {
                        team_id,
                        driver_id,
                        session_id,
                        samples: tail,
                        speak: true,
                        whole_recording: false,
                    });
                }
            }
        }
    }

    /// Adds a session's newly stored samples to its lap window and writes the laps the shared
    /// lap cutter finds: finished laps once, the lap in progress as incomplete until it ends.
    async fn cut_laps(
        &mut self,
        session_id: &str,
        team_id: &str,
        driver_id: &str,
        samples: &[&TelemetryUpdate],
    ) -> StoreResult<()> {
        if !self.lap_windows.contains_key(session_id) {
            let next = next_live_lap_seq(&self.store, session_id).await?;
            self.lap_windows.insert(session_id.to_string(), LapWindow { next_seq: next, ..LapWindow::default() });
        }
        let Some(w) = self.lap_windows.get_mut(session_id) else { return Ok(()) };
        for u in samples {
            w.push(u);
        }
        let laps = pitbox_irsdk::laps::laps(&w.cols);
        let n = laps.len();
        if n == 0 {
            return Ok(());
        }
        // Laps before the last are finished, except one whose LapLastLapTime has not settled
        // yet (iRacing writes it up to 111 ticks after the line): it waits a little.
        let mut final_upto = n - 1;
        if final_upto >= 1 {
            let l = &laps[final_upto - 1];
            let cur = &laps[n - 1];
            let has_sim_times = w.cols.lap_last_lap_time.as_ref().is_some_and(|v| v.iter().any(|t| !t.is_nan()));
            if l.complete && l.iracing_time.is_none() && has_sim_times && cur.end + 1 - cur.start < SETTLE_SAMPLES {
                final_upto -= 1;
            }
        }
        let skip = usize::from(w.first_written).min(final_upto);
        let mut writes: Vec<(i64, pitbox_irsdk::laps::Lap)> = Vec::new();
        for l in &laps[skip..final_upto] {
            writes.push((w.next_seq, l.clone()));
            w.next_seq += 1;
        }
        // The laps still open are written as they are now, when that changed.
        let open: Vec<(i64, pitbox_irsdk::laps::Lap)> =
            laps[final_upto.max(skip)..].iter().enumerate().map(|(j, l)| (w.next_seq + j as i64, l.clone())).collect();
        // What a reader sees of an open lap: rewritten when any of it changes (an excursion
        // off track or pit entry late in the lap changes its reasons, not its time).
        let signature: Vec<OpenLapSignature> = open
            .iter()
            .map(|(seq, l)| (*seq, l.lap_time, l.complete, l.start, l.invalid.clone(), l.in_lap, l.out_lap))
            .collect();
        if !writes.is_empty() || w.provisional != signature {
            w.provisional = signature;
            writes.extend(open);
        }
        let rows: Vec<(i64, pitbox_irsdk::laps::Lap, i64, i64)> = writes
            .into_iter()
            .map(|(seq, l)| {
                let a = w.wall.get(l.start).copied().unwrap_or(0);
                let b = w.wall.get(l.end).copied().unwrap_or(a);
                (seq, l, a, b)
            })
            .collect();
        // Keep the last finished lap: its pit exit tells whether the next one is an out lap.
        if final_upto >= 1 {
            let keep_from = laps[final_upto - 1].start;
            w.trim(keep_from);
            w.first_written = true;
            // Sample indexes moved: the open laps' signature is rebuilt on the next round.
            w.provisional.clear();
        } else if w.wall.len() > MAX_LAP_WINDOW {
            w.trim(w.wall.len() - MAX_LAP_WINDOW / 2);
            w.provisional.clear();
        }
        for (seq, l, a, b) in rows {
            upsert_sim_lap(&self.store, session_id, team_id, driver_id, seq, &l, a, b).await?;
        }
        Ok(())
    }

    async fn commit(
        &self,
        new_sessions: &[(String, String, String, i64)],
        touched: &HashMap<String, SessionState>,
        blocks: &[Block],
        sequences: &HashMap<SeqKey, u64>,
        previous: &HashMap<SeqKey, u64>,
    ) -> StoreResult<()> {
        let now = now_ms();
        // Compress before the transaction: the database's write lock is not held meanwhile.
        let payloads: Vec<Vec<u8>> = blocks.iter().map(|b| b.cols.encode()).collect::<Result<_, _>>()?;
        // A session is written with its last sample time at once: a session that a gap in this
        // group ended is not among the touched ones that are updated below.
        let last_of = |session: &str, start: i64| {
            blocks.iter().filter(|b| b.session_id == session).map(|b| span(b, now).1).fold(start, i64::max)
        };
        if self.store.kind() == crate::store::DbKind::Postgres
            && sequences.is_empty()
            && !blocks.is_empty()
            && blocks.len() <= ROWS_PER_STATEMENT
            && new_sessions.len() <= ROWS_PER_STATEMENT
        {
            return self.commit_in_one_statement(new_sessions, &last_of, touched, blocks, &payloads, now).await;
        }
        let mut tx = self.store.pool().begin().await?;
        for (id, team, driver, ts) in new_sessions {
            sqlx::query(
                "INSERT INTO sessions (id, team_id, driver_id, source, started_at, last_sample_at) \
                 VALUES ($1, $2, $3, 'live', $4, $5)",
            )
            .bind(id)
            .bind(team)
            .bind(driver)
            .bind(*ts)
            .bind(last_of(id, *ts))
            .execute(&mut *tx)
            .await?;
        }
        for st in touched.values() {
            sqlx::query("UPDATE sessions SET last_sample_at = $1 WHERE id = $2 AND last_sample_at < $1")
                .bind(st.last_at)
                .bind(&st.id)
                .execute(&mut *tx)
                .await?;
        }
        for part in blocks.chunks(ROWS_PER_STATEMENT).zip(payloads.chunks(ROWS_PER_STATEMENT)) {
            let (part, payloads) = part;
            // One statement per table for many blocks: on SQLite every statement is a round trip
            // to the connection's thread, which the ingest profile showed as context switches.
            let q = sqlx::query(sqlx::AssertSqlSafe(rows_sql(STAGED_INSERT, 10, part.len(), "")));
            bind_staged(q, part, payloads, now).execute(&mut *tx).await?;
            let q = sqlx::query(sqlx::AssertSqlSafe(rows_sql(LAPS_INSERT, 8, part.len(), LAP_UPSERT)));
            bind_laps(q, part, now).execute(&mut *tx).await?;
        }
        for (key, seq) in sequences {
            let (driver, origin) = key;
            let seq = i64::try_from(*seq).map_err(|_| StoreError::Conflict("sequence too large".into()))?;
            let prev = i64::try_from(previous.get(key).copied().unwrap_or(0)).unwrap_or(i64::MAX);
            // Conditional on the sequence this writer saw: if another node stored batches of
            // this driver meanwhile, nothing is updated and the whole commit is undone.
            let moved = sqlx::query(
                "INSERT INTO uplink_sequences (driver_id, origin, last_sequence, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (driver_id, origin) DO UPDATE SET last_sequence = excluded.last_sequence, \
                 updated_at = excluded.updated_at WHERE uplink_sequences.last_sequence = $5",
            )
            .bind(driver)
            .bind(origin)
            .bind(seq)
            .bind(now)
            .bind(prev)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved != 1 {
                tx.rollback().await?;
                return Err(StoreError::Conflict(format!(
                    "uplink batches of {driver} were stored by another node meanwhile; resend"
                )));
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

impl Writer {
    /// The commit of [`Writer::commit`] as one PostgreSQL statement, for groups without uplink
    /// sequences (single-sample and unsequenced batch POSTs): data-modifying `WITH` clauses make
    /// the session inserts and updates, the staged blocks and the lap upserts one statement,
    /// which PostgreSQL runs as one transaction. One round trip instead of five (begin, session
    /// update, staged blocks, laps, commit): on two busy cores each round trip waits for the
    /// database's process to be scheduled, and single-sample POSTs each wait for a commit.
    async fn commit_in_one_statement(
        &self,
        new_sessions: &[(String, String, String, i64)],
        last_of: &impl Fn(&str, i64) -> i64,
        touched: &HashMap<String, SessionState>,
        blocks: &[Block],
        payloads: &[Vec<u8>],
        now: i64,
    ) -> StoreResult<()> {
        // One statement sees one snapshot, so it cannot update a session it creates: new
        // sessions are left out of the update (they are written with their last sample time).
        let moved: Vec<&SessionState> =
            touched.values().filter(|st| !new_sessions.iter().any(|(id, ..)| *id == st.id)).collect();
        let mut sql = String::from("WITH ");
        let mut param = 0;
        if !new_sessions.is_empty() {
            sql.push_str(
                "new_sessions AS (INSERT INTO sessions (id, team_id, driver_id, source, started_at, last_sample_at) \
                 SELECT id, team_id, driver_id, 'live', started_at, last_sample_at FROM (VALUES ",
            );
            sql.push_str(&values_sql(&["text", "text", "text", "bigint", "bigint"], new_sessions.len(), &mut param));
            sql.push_str(") AS v (id, team_id, driver_id, started_at, last_sample_at)), ");
        }
        if !moved.is_empty() {
            sql.push_str("moved AS (UPDATE sessions SET last_sample_at = v.at FROM (VALUES ");
            sql.push_str(&values_sql(&["text", "bigint"], moved.len(), &mut param));
            sql.push_str(") AS v (id, at) WHERE sessions.id = v.id AND sessions.last_sample_at < v.at), ");
        }
        sql.push_str("staged AS (");
        sql.push_str(STAGED_INSERT);
        sql.push_str(&values_sql(&[""; 10], blocks.len(), &mut param));
        sql.push_str(") ");
        sql.push_str(LAPS_INSERT);
        sql.push_str(&values_sql(&[""; 8], blocks.len(), &mut param));
        sql.push_str(LAP_UPSERT);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, team, driver, ts) in new_sessions {
            q = q.bind(id.as_str()).bind(team.as_str()).bind(driver.as_str()).bind(*ts).bind(last_of(id, *ts));
        }
        for st in &moved {
            q = q.bind(st.id.as_str()).bind(st.last_at);
        }
        bind_laps(bind_staged(q, blocks, payloads, now), blocks, now).execute(self.store.pool()).await?;
        Ok(())
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Staged blocks: 10 parameters per row, bound by [`bind_staged`].
const STAGED_INSERT: &str = "INSERT INTO telemetry_staging \
     (id, team_id, session_id, driver_id, lap, first_at, last_at, sample_count, created_at, payload) VALUES ";

/// Laps: 8 parameters per row, bound by [`bind_laps`], followed by [`LAP_UPSERT`].
const LAPS_INSERT: &str =
    "INSERT INTO laps (id, session_id, team_id, driver_id, lap, started_at, ended_at, sample_count) VALUES ";

fn bind_staged<'q>(mut q: AnyQuery<'q>, blocks: &'q [Block], payloads: &'q [Vec<u8>], now: i64) -> AnyQuery<'q> {
    for (b, payload) in blocks.iter().zip(payloads) {
        let (first, last) = span(b, now);
        q = q
            .bind(new_id("stg"))
            .bind(b.team_id.as_str())
            .bind(b.session_id.as_str())
            .bind(b.driver_id.as_str())
            .bind(b.lap)
            .bind(first)
            .bind(last)
            .bind(b.cols.len() as i64)
            .bind(now)
            .bind(payload.as_slice());
    }
    q
}

fn bind_laps<'q>(mut q: AnyQuery<'q>, blocks: &'q [Block], now: i64) -> AnyQuery<'q> {
    for b in blocks {
        let (first, last) = span(b, now);
        q = q
            .bind(format!("{}.{}", b.session_id, b.lap))
            .bind(b.session_id.as_str())
            .bind(b.team_id.as_str())
            .bind(b.driver_id.as_str())
            .bind(b.lap)
            .bind(first)
            .bind(last)
            .bind(b.cols.len() as i64);
    }
    q
}

/// How a lap row absorbs a later block of the same lap.
const LAP_UPSERT: &str = " ON CONFLICT (session_id, lap) DO UPDATE SET \
     started_at = CASE WHEN excluded.started_at < laps.started_at THEN excluded.started_at ELSE laps.started_at END, \
     ended_at = CASE WHEN excluded.ended_at > laps.ended_at THEN excluded.ended_at ELSE laps.ended_at END, \
     sample_count = laps.sample_count + excluded.sample_count";

/// `rows` rows of `casts.len()` numbered parameters after `*param` (which it advances), each
/// cast to its type when one is given: `($1::text, $2), ($3::text, $4)`.
fn values_sql(casts: &[&str], rows: usize, param: &mut usize) -> String {
    let mut sql = String::with_capacity(rows * casts.len() * 10);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for (c, cast) in casts.iter().enumerate() {
            if c > 0 {
                sql.push_str(", ");
            }
            *param += 1;
            sql.push_str(&format!("${param}"));
            if !cast.is_empty() {
                sql.push_str("::");
                sql.push_str(cast);
            }
        }
        sql.push(')');
    }
    sql
}

/// Blocks per multi-row statement (10 parameters each, well under SQLite's 32,766).
const ROWS_PER_STATEMENT: usize = 256;

/// `head` then `rows` groups of `cols` numbered parameters, then `tail`.
fn rows_sql(head: &str, cols: usize, rows: usize, tail: &str) -> String {
    format!("{head}{}{tail}", values_sql(&vec![""; cols], rows, &mut 0))
}

/// First and last timestamp of a block.
fn span(b: &Block, now: i64) -> (i64, i64) {
    let first = b.cols.timestamps.iter().copied().min().unwrap_or(now);
    let last = b.cols.timestamps.iter().copied().max().unwrap_or(now);
    (first, last)
}

// ---------------------------------------------------------------------------------------------
// Compaction

/// Moves staged blocks into chunk objects: a (session, lap) is compacted when its oldest staged
/// block is older than `max_age_ms` or a later lap of the session has started. `force`
/// compacts everything (shutdown, tests). Returns the number of chunks written.
pub async fn compact(store: &Store, objects: &Objects, max_age_ms: i64, force: bool) -> StoreResult<usize> {
    let rows = sqlx::query(
        "SELECT session_id, lap, MIN(created_at) AS oldest FROM telemetry_staging GROUP BY session_id, lap",
    )
    .fetch_all(store.pool())
    .await?;
    let mut groups: Vec<(String, i64, i64)> = Vec::with_capacity(rows.len());
    for r in &rows {
        groups.push((r.try_get("session_id")?, r.try_get("lap")?, r.try_get("oldest")?));
    }
    let mut max_lap: HashMap<&str, i64> = HashMap::new();
    for (s, lap, _) in &groups {
        let e = max_lap.entry(s.as_str()).or_insert(*lap);
        *e = (*e).max(*lap);
    }
    let now = now_ms();
    let due: Vec<(String, i64)> = groups
        .iter()
        .filter(|(s, lap, oldest)| {
            force || now - oldest >= max_age_ms || max_lap.get(s.as_str()).is_some_and(|m| m > lap)
        })
        .map(|(s, lap, _)| (s.clone(), *lap))
        .collect();
    let mut written = 0;
    for (session, lap) in due {
        if compact_one(store, objects, &session, lap).await? {
            written += 1;
        }
    }
    Ok(written)
}

async fn compact_one(store: &Store, objects: &Objects, session: &str, lap: i64) -> StoreResult<bool> {
    let rows = sqlx::query(
        "SELECT id, team_id, driver_id, payload FROM telemetry_staging WHERE session_id = $1 AND lap = $2 \
         ORDER BY first_at, id",
    )
    .bind(session)
    .bind(lap)
    .fetch_all(store.pool())
    .await?;
    let Some(first) = rows.first() else { return Ok(false) };
    let team: String = first.try_get("team_id")?;
    let driver: String = first.try_get("driver_id")?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut payloads: Vec<Vec<u8>> = Vec::with_capacity(rows.len());
    for r in &rows {
        ids.push(r.try_get::<String, _>("id")?);
        payloads.push(r.try_get("payload")?);
    }
    // Decoding and re-compressing a lap is tens of milliseconds of CPU: on a blocking thread, so
    // it never holds up a runtime worker that acknowledges uplink batches (the bench's p99).
    let cols = tokio::task::spawn_blocking(move || -> StoreResult<Columns> {
        let mut cols = Columns::with_capacity(0);
        for p in &payloads {
            cols.extend(&Columns::decode(p).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        }
        cols.sort_by_time();
        Ok(cols)
    })
    .await
    .map_err(|e| StoreError::Object(format!("compaction worker failed: {e}")))??;
    let mut sorted = ids.clone();
    sorted.sort();
    let digest = Sha256::digest(sorted.join(",").as_bytes());
    let chunk_id: String = format!("chk-{}", digest.iter().take(10).map(|b| format!("{b:02x}")).collect::<String>());
    let key = format!("telemetry/{team}/{session}/{lap:06}/{chunk_id}.pbc.zst");
    let (cols, data) = tokio::task::spawn_blocking(move || {
        let data = cols.encode();
        (cols, data)
    })
    .await
    .map_err(|e| StoreError::Object(format!("compaction worker failed: {e}")))?;
    let data = data?;
    let bytes = data.len() as i64;
    objects.put(&key, data).await?;
    let first_at = cols.timestamps.first().copied().unwrap_or(0);
    let last_at = cols.timestamps.last().copied().unwrap_or(0);
    let mut tx = store.pool().begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO telemetry_chunks \
         (id, team_id, session_id, driver_id, lap, first_at, last_at, sample_count, object_key, bytes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&chunk_id)
    .bind(&team)
    .bind(session)
    .bind(&driver)
    .bind(lap)
    .bind(first_at)
    .bind(last_at)
    .bind(cols.len() as i64)
    .bind(&key)
    .bind(bytes)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    // Many ids per statement: one DELETE per staged row kept the write lock for thousands of
    // round trips, stalling the ingest writer (the uplink bench's p99 tail).
    let mut deleted = 0;
    for part in ids.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::from("DELETE FROM telemetry_staging WHERE id IN (");
        for i in 0..part.len() {
            sql.push_str(if i == 0 { "$1" } else { ", $" });
            if i > 0 {
                sql.push_str(&(i + 1).to_string());
            }
        }
        sql.push(')');
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in part {
            q = q.bind(id.as_str());
        }
        deleted += q.execute(&mut *tx).await?.rows_affected();
    }
    if inserted.rows_affected() != 1 || deleted != ids.len() as u64 {
        // Another node compacted these rows at the same time: keep its result.
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Runs [`compact`] every `interval` until the process ends.
pub fn spawn_compactor(store: Store, objects: Objects, ingest: Ingest, interval: Duration, max_age: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match compact(&store, &objects, max_age.as_millis() as i64, false).await {
                Ok(n) => {
                    ingest.stats.chunks_written.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!(error = %e, "compaction failed; will retry"),
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Queries

/// Samples of the next lap after which a finished lap is written even without iRacing's
/// settled `LapLastLapTime` (it settles within 111 ticks).
const SETTLE_SAMPLES: usize = 180;

/// Most samples a live session's lap window holds while no lap ends (about an hour at 60 Hz).
const MAX_LAP_WINDOW: usize = 216_000;

/// The recent samples of a live session, as the shared lap cutter's columns.
#[derive(Debug, Default)]
struct LapWindow {
    cols: pitbox_irsdk::laps::LapColumns,
    /// Wall time of each sample, Unix ms.
    wall: Vec<i64>,
    /// The `seq` the next finished lap gets.
    next_seq: i64,
    /// Whether the window's first lap was written as finished already.
    first_written: bool,
    /// What was last written of the laps still open.
    provisional: Vec<OpenLapSignature>,
}

/// An open lap as last written: seq, lap time, complete, first sample, reasons, in lap, out lap.
type OpenLapSignature = (i64, Option<f64>, bool, usize, Vec<pitbox_irsdk::laps::InvalidReason>, bool, bool);

impl LapWindow {
    fn push(&mut self, u: &TelemetryUpdate) {
        let c = &mut self.cols;
        let ms = u.timestamp.timestamp_millis();
        c.session_time.push(u.session_time.unwrap_or(ms as f64 / 1000.0));
        c.lap.push(i32::try_from(u.lap).unwrap_or(i32::MAX));
        c.lap_dist_pct.push(u.track_position);
        c.on_pit_road.get_or_insert_with(Vec::new).push(u.on_pit_road.unwrap_or(false));
        let blank = u.lap == 0 && u.track_position == 0.0 && u.speed == 0.0 && u.rpm <= 300.0;
        c.blank.get_or_insert_with(Vec::new).push(blank);
        c.fuel.get_or_insert_with(Vec::new).push(u.fuel_liters.unwrap_or(u.fuel_level));
        c.lap_last_lap_time.get_or_insert_with(Vec::new).push(u.last_lap_time.map_or(f32::NAN, |t| t as f32));
        c.off_track.get_or_insert_with(Vec::new).push(u.off_track.unwrap_or(false));
        self.wall.push(ms);
    }

    /// Drops the samples before `from`.
    fn trim(&mut self, from: usize) {
        let c = &mut self.cols;
        let cut = from.min(self.wall.len());
        self.wall.drain(..cut);
        c.session_time.drain(..cut);
        c.lap.drain(..cut);
        c.lap_dist_pct.drain(..cut);
        for v in [&mut c.on_pit_road, &mut c.blank, &mut c.off_track].into_iter().flatten() {
            v.drain(..cut);
        }
        if let Some(v) = c.fuel.as_mut() {
            v.drain(..cut);
        }
        if let Some(v) = c.lap_last_lap_time.as_mut() {
            v.drain(..cut);
        }
    }
}

/// The `seq` of the next lap of a live session after a restart of the cloud: an incomplete
/// last row was the lap in progress and is written again.
async fn next_live_lap_seq(store: &Store, session_id: &str) -> StoreResult<i64> {
    let row = sqlx::query("SELECT seq, complete FROM sim_laps WHERE session_id = $1 ORDER BY seq DESC LIMIT 1")
        .bind(session_id)
        .fetch_optional(store.pool())
        .await?;
    Ok(match row {
        Some(r) => {
            let seq: i64 = r.try_get("seq")?;
            if r.try_get::<i64, _>("complete")? != 0 { seq + 1 } else { seq }
        }
        None => 0,
    })
}

/// Writes one lap of a live session (insert, or update of the lap in progress).
#[allow(clippy::too_many_arguments)]
async fn upsert_sim_lap(
    store: &Store,
    session_id: &str,
    team_id: &str,
    driver_id: &str,
    seq: i64,
    l: &pitbox_irsdk::laps::Lap,
    started_at: i64,
    ended_at: i64,
) -> StoreResult<()> {
    let invalid: Vec<&str> = l.invalid.iter().map(|r| r.as_str()).collect();
    sqlx::query(
        "INSERT INTO sim_laps (id, session_id, team_id, driver_id, seq, lap, start_time, end_time, lap_time, \
         complete, valid, invalid, in_lap, out_lap, sectors, fuel_used, started_at, ended_at) \
         VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS DOUBLE PRECISION), CAST($8 AS DOUBLE PRECISION), \
             CAST($9 AS DOUBLE PRECISION), $10, $11, $12, $13, $14, $15, CAST($16 AS DOUBLE PRECISION), $17, $18) \
         ON CONFLICT (session_id, seq) DO UPDATE SET lap = excluded.lap, start_time = excluded.start_time, \
         end_time = excluded.end_time, lap_time = excluded.lap_time, complete = excluded.complete, \
         valid = excluded.valid, invalid = excluded.invalid, in_lap = excluded.in_lap, out_lap = excluded.out_lap, \
         sectors = excluded.sectors, fuel_used = excluded.fuel_used, started_at = excluded.started_at, \
         ended_at = excluded.ended_at",
    )
    // Not cached: sqlx binds a NULL as int4 on PostgreSQL, and a cached statement would
    // refuse the float of a later row.
    .persistent(false)
    .bind(format!("{session_id}.{}.{seq}", l.lap))
    .bind(session_id)
    .bind(team_id)
    .bind(driver_id)
    .bind(seq)
    .bind(i64::from(l.lap))
    .bind(l.start_time)
    .bind(l.end_time)
    .bind(l.lap_time)
    .bind(i64::from(l.complete))
    .bind(i64::from(l.valid))
    .bind(invalid.join(","))
    .bind(i64::from(l.in_lap))
    .bind(i64::from(l.out_lap))
    .bind(serde_json::to_string(&l.sectors).unwrap_or_else(|_| "[]".into()))
    .bind(l.fuel_used)
    .bind(started_at)
    .bind(ended_at)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// The driver's session with the sim's key `key`, created (not legacy, source `live`) when
/// there is none. The unique index on (driver, key) makes a concurrent creation harmless.
pub async fn ensure_keyed_session(
    store: &Store,
    team_id: &str,
    driver_id: &str,
    key: &str,
    at_ms: i64,
) -> StoreResult<(SessionState, bool)> {
    let find = || async {
        let row = sqlx::query("SELECT id, last_sample_at FROM sessions WHERE driver_id = $1 AND sim_session_id = $2")
            .bind(driver_id)
            .bind(key)
            .fetch_optional(store.pool())
            .await?;
        StoreResult::Ok(match row {
            Some(r) => Some(SessionState {
                id: r.try_get("id")?,
                last_at: r.try_get("last_sample_at")?,
                sim_key: Some(key.to_string()),
            }),
            None => None,
        })
    };
    if let Some(st) = find().await? {
        return Ok((st, false));
    }
    let event = crate::events::event_of(key).map(str::to_string);
    sqlx::query(
        "INSERT INTO sessions (id, team_id, driver_id, source, started_at, last_sample_at, legacy, sim_session_id, \
         event_id) VALUES ($1, $2, $3, 'live', $4, $4, 0, $5, CAST($6 AS TEXT)) ON CONFLICT DO NOTHING",
    )
    .bind(new_id("ses"))
    .bind(team_id)
    .bind(driver_id)
    .bind(at_ms)
    .bind(key)
    .bind(event)
    .execute(store.pool())
    .await?;
    match find().await? {
        Some(st) => Ok((st, true)),
        None => Err(StoreError::Corrupt(format!("session {key} of {driver_id} vanished after its creation"))),
    }
}

/// What the sim says a session is (issue 20 §1): stored with the session when known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimIdentity {
    /// The sim's key of the session (see `pitbox_model::session::SimSessionKey`).
    pub sim_session_id: Option<String>,
    /// The event (iRacing subsession) the session belongs to.
    pub event_id: Option<String>,
    /// iRacing's own `SessionType`: "Practice", "Open Qualify", "Race", "Offline Testing" …
    pub session_type: Option<String>,
    pub track_config: Option<String>,
    pub series: Option<String>,
    /// The driver's car index in the session.
    pub car_idx: Option<i64>,
    pub car_number: Option<String>,
    /// When the sim session started, Unix milliseconds.
    pub sim_started_at: Option<i64>,
}

/// A session as listed by `GET /api/sessions`: one sim session of one driver.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    pub id: String,
    pub team_id: String,
    pub driver_id: String,
    pub track: Option<String>,
    pub car: Option<String>,
    /// `live` (streamed) or `import` (an uploaded file).
    pub source: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub last_sample_at: chrono::DateTime<chrono::Utc>,
    /// Laps as the sim timed them (for legacy sessions: lap-counter values seen).
    pub lap_count: i64,
    pub sample_count: i64,
    /// iRacing's own `SessionType` string; `null` when the sim did not say (legacy sessions).
    pub session_type: Option<String>,
    /// The sim's key of the session; `null` for legacy sessions.
    pub sim_session_id: Option<String>,
    pub event_id: Option<String>,
    pub track_config: Option<String>,
    pub series: Option<String>,
    pub car_idx: Option<i64>,
    pub car_number: Option<String>,
    /// Stored before sessions and laps came from the sim (issue 20): its laps are lap-counter
    /// buckets without lap times.
    pub legacy: bool,
}

/// A lap as the sim timed it, as listed by `GET /api/sessions/{id}/laps` (cut by
/// `pitbox_irsdk::laps`, the same code as `pitbox ibt laps`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimLapSummary {
    pub id: String,
    pub session_id: String,
    pub driver_id: String,
    /// Position in the session's lap list, from 0.
    pub seq: i64,
    /// The sim's lap counter.
    pub lap: i64,
    /// iRacing's own lap time, seconds; `null` for an incomplete lap.
    pub lap_time: Option<f64>,
    /// Started and ended at the start/finish line.
    pub complete: bool,
    /// Complete, and no reason against it.
    pub valid: bool,
    /// Why the lap is not valid: `incomplete`, `pit road`, `off track`, `reset`, `legacy`.
    pub invalid: Vec<String>,
    pub in_lap: bool,
    pub out_lap: bool,
    /// Sector times, seconds (complete laps).
    pub sectors: Vec<f64>,
    /// Fuel used, litres; `null` when fuel was added or unknown.
    pub fuel_used: Option<f64>,
    /// Session time of the start and end crossings, seconds.
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub ended_at: chrono::DateTime<chrono::Utc>,
}

/// A lap as listed by `GET /api/sessions/{id}/laps`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LapSummary {
    pub id: String,
    pub session_id: String,
    pub driver_id: String,
    pub lap: i64,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub ended_at: chrono::DateTime<chrono::Utc>,
    /// Seconds between the lap's first and last sample.
    pub duration: f64,
    pub sample_count: i64,
}

fn session_from_row(r: &sqlx::any::AnyRow) -> StoreResult<SessionSummary> {
    Ok(SessionSummary {
        id: r.try_get("id")?,
        team_id: r.try_get("team_id")?,
        driver_id: r.try_get("driver_id")?,
        track: r.try_get("track")?,
        car: r.try_get("car")?,
        source: r.try_get("source")?,
        started_at: ms_to_time(r.try_get("started_at")?),
        last_sample_at: ms_to_time(r.try_get("last_sample_at")?),
        lap_count: r.try_get("lap_count")?,
        sample_count: r.try_get("sample_count")?,
        session_type: r.try_get("session_type")?,
        sim_session_id: r.try_get("sim_session_id")?,
        event_id: r.try_get("event_id")?,
        track_config: r.try_get("track_config")?,
        series: r.try_get("series")?,
        car_idx: r.try_get("car_idx")?,
        car_number: r.try_get("car_number")?,
        legacy: r.try_get::<i64, _>("legacy")? != 0,
    })
}

const SESSION_SELECT: &str = "SELECT s.id, s.team_id, s.driver_id, s.track, s.car, s.source, s.started_at, \
     s.last_sample_at, s.session_type, s.sim_session_id, s.event_id, s.track_config, s.series, s.car_idx, \
     s.car_number, s.legacy, CASE WHEN s.legacy = 1 \
     THEN (SELECT COUNT(*) FROM laps l WHERE l.session_id = s.id) \
     ELSE (SELECT COUNT(*) FROM sim_laps m WHERE m.session_id = s.id) END AS lap_count, \
     (SELECT CAST(COALESCE(SUM(l.sample_count), 0) AS BIGINT) FROM laps l WHERE l.session_id = s.id) AS sample_count \
     FROM sessions s";

/// Sessions of a team (newest first), or of every team.
pub async fn list_sessions(store: &Store, team_id: Option<&str>, limit: i64) -> StoreResult<Vec<SessionSummary>> {
    let rows = match team_id {
        Some(t) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{SESSION_SELECT} WHERE s.team_id = $1 ORDER BY s.started_at DESC LIMIT $2"
            )))
            .bind(t)
            .bind(limit)
            .fetch_all(store.pool())
            .await?
        }
        None => {
            sqlx::query(sqlx::AssertSqlSafe(format!("{SESSION_SELECT} ORDER BY s.started_at DESC LIMIT $1")))
                .bind(limit)
                .fetch_all(store.pool())
                .await?
        }
    };
    rows.iter().map(session_from_row).collect()
}

/// One session.
pub async fn get_session(store: &Store, id: &str) -> StoreResult<Option<SessionSummary>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SESSION_SELECT} WHERE s.id = $1")))
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(session_from_row).transpose()
}

/// Sessions that belong to an event (of one team, or of every team), optionally of one event,
/// newest first.
pub async fn list_event_sessions(
    store: &Store,
    team_id: Option<&str>,
    event_id: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<SessionSummary>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SESSION_SELECT} WHERE s.event_id IS NOT NULL AND (CAST($1 AS TEXT) IS NULL OR s.team_id = $1) \
         AND (CAST($2 AS TEXT) IS NULL OR s.event_id = $2) ORDER BY s.started_at DESC LIMIT $3"
    )))
    .persistent(false)
    .bind(team_id)
    .bind(event_id)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(session_from_row).collect()
}

/// The sim session key of a driver's newest session that the sim named, if any.
pub async fn latest_keyed_session(store: &Store, driver_id: &str) -> StoreResult<Option<String>> {
    let row = sqlx::query(
        "SELECT sim_session_id FROM sessions WHERE driver_id = $1 AND sim_session_id IS NOT NULL \
         ORDER BY last_sample_at DESC LIMIT 1",
    )
    .bind(driver_id)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.map(|r| r.try_get("sim_session_id")).transpose()?)
}

/// Sets a session's track and car (from `session_info` or an imported file).
pub async fn describe_session(store: &Store, id: &str, track: &str, car: &str) -> StoreResult<()> {
    sqlx::query("UPDATE sessions SET track = $1, car = $2 WHERE id = $3")
        .bind(track)
        .bind(car)
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Stores the name the sim gives the session's driver (issue 21): the line of the driver's own
/// car in `session_info`'s driver list. Nothing when the list does not name that car.
pub async fn name_sim_driver(store: &Store, id: &str, info: &pitbox_model::session::SessionInfo) -> StoreResult<()> {
    let Some(name) = info.drivers.iter().find(|d| d.car_idx == info.player_car_idx).map(|d| d.name.trim()) else {
        return Ok(());
    };
    if name.is_empty() {
        return Ok(());
    }
    sqlx::query("UPDATE sessions SET sim_driver_name = $1 WHERE id = $2")
        .bind(name)
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Describes the session a keyed `session_info` names (and only that one): track, car,
/// iRacing's session type, the driver's car index and number.
pub async fn describe_sim_session(
    store: &Store,
    id: &str,
    info: &pitbox_model::session::SessionInfo,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE sessions SET track = $1, car = $2, session_type = COALESCE(CAST($3 AS TEXT), session_type), \
         track_config = CAST($4 AS TEXT), car_idx = $5, car_number = COALESCE(CAST($6 AS TEXT), car_number) \
         WHERE id = $7",
    )
    // Not cached: sqlx binds a NULL as int4 on PostgreSQL, and a cached statement would
    // refuse the float of a later row.
    .persistent(false)
    .bind(&info.track.display_name)
    .bind(&info.car_name)
    .bind(info.sim_session_type.as_deref())
    .bind(info.track.config_name.as_deref().filter(|c| !c.is_empty()))
    .bind(i64::from(info.player_car_idx))
    .bind(info.car_number.as_deref())
    .bind(id)
    .execute(store.pool())
    .await?;
    Ok(())
}

fn lap_from_row(r: &sqlx::any::AnyRow) -> StoreResult<LapSummary> {
    let started: i64 = r.try_get("started_at")?;
    let ended: i64 = r.try_get("ended_at")?;
    Ok(LapSummary {
        id: r.try_get("id")?,
        session_id: r.try_get("session_id")?,
        driver_id: r.try_get("driver_id")?,
        lap: r.try_get("lap")?,
        started_at: ms_to_time(started),
        ended_at: ms_to_time(ended),
        duration: (ended - started) as f64 / 1000.0,
        sample_count: r.try_get("sample_count")?,
    })
}

/// Laps of a session, in order.
pub async fn list_laps(store: &Store, session_id: &str) -> StoreResult<Vec<LapSummary>> {
    let rows = sqlx::query(
        "SELECT id, session_id, driver_id, lap, started_at, ended_at, sample_count FROM laps \
         WHERE session_id = $1 ORDER BY lap",
    )
    .bind(session_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(lap_from_row).collect()
}

fn sim_lap_from_row(r: &sqlx::any::AnyRow) -> StoreResult<SimLapSummary> {
    let invalid: String = r.try_get("invalid")?;
    let sectors: String = r.try_get("sectors")?;
    Ok(SimLapSummary {
        id: r.try_get("id")?,
        session_id: r.try_get("session_id")?,
        driver_id: r.try_get("driver_id")?,
        seq: r.try_get("seq")?,
        lap: r.try_get("lap")?,
        lap_time: r.try_get("lap_time")?,
        complete: r.try_get::<i64, _>("complete")? != 0,
        valid: r.try_get::<i64, _>("valid")? != 0,
        invalid: invalid.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect(),
        in_lap: r.try_get::<i64, _>("in_lap")? != 0,
        out_lap: r.try_get::<i64, _>("out_lap")? != 0,
        sectors: serde_json::from_str(&sectors).map_err(|e| StoreError::Corrupt(format!("lap sectors: {e}")))?,
        fuel_used: r.try_get("fuel_used")?,
        start_time: r.try_get("start_time")?,
        end_time: r.try_get("end_time")?,
        started_at: ms_to_time(r.try_get("started_at")?),
        ended_at: ms_to_time(r.try_get("ended_at")?),
    })
}

/// The laps of a session as the sim timed them, in order. A legacy session (stored before
/// issue 20) lists its lap-counter buckets, each incomplete and invalid for reason `legacy`.
pub async fn list_sim_laps(store: &Store, session_id: &str) -> StoreResult<Vec<SimLapSummary>> {
    let legacy = sqlx::query("SELECT legacy FROM sessions WHERE id = $1")
        .bind(session_id)
        .fetch_optional(store.pool())
        .await?
        .map(|r| r.try_get::<i64, _>("legacy"))
        .transpose()?
        .unwrap_or(0)
        != 0;
    if legacy {
        let buckets = list_laps(store, session_id).await?;
        return Ok(buckets
            .into_iter()
            .enumerate()
            .map(|(i, b)| SimLapSummary {
                id: b.id,
                session_id: b.session_id,
                driver_id: b.driver_id,
                seq: i as i64,
                lap: b.lap,
                lap_time: None,
                complete: false,
                valid: false,
                invalid: vec!["legacy".into()],
                in_lap: false,
                out_lap: false,
                sectors: Vec::new(),
                fuel_used: None,
                start_time: None,
                end_time: None,
                started_at: b.started_at,
                ended_at: b.ended_at,
            })
            .collect());
    }
    let rows = sqlx::query(
        "SELECT id, session_id, driver_id, seq, lap, lap_time, complete, valid, invalid, in_lap, out_lap, sectors, \
         fuel_used, start_time, end_time, started_at, ended_at FROM sim_laps WHERE session_id = $1 ORDER BY seq",
    )
    .bind(session_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(sim_lap_from_row).collect()
}

/// The id of a sim lap: `<session>.<lap counter>` like the stored telemetry's lap, with the
/// position added when the counter repeats (a reset to the pits keeps the counter).
fn sim_lap_id(session_id: &str, laps: &[pitbox_irsdk::laps::Lap], seq: usize) -> String {
    let l = &laps[seq];
    if laps.iter().filter(|o| o.lap == l.lap).count() > 1 {
        format!("{session_id}.{}.{seq}", l.lap)
    } else {
        format!("{session_id}.{}", l.lap)
    }
}

/// Writes a session's laps as the sim timed them (replacing what was there).
/// `wall_ms_at` turns a session time into Unix milliseconds.
#[allow(clippy::too_many_arguments)]
async fn write_sim_laps(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    session_id: &str,
    team_id: &str,
    driver_id: &str,
    laps: &[pitbox_irsdk::laps::Lap],
    session_time: &(dyn Fn(usize) -> Option<f64> + Sync),
    wall_ms_at: &(dyn Fn(f64) -> i64 + Sync),
) -> StoreResult<()> {
    sqlx::query("DELETE FROM sim_laps WHERE session_id = $1").bind(session_id).execute(&mut **tx).await?;
    for (seq, l) in laps.iter().enumerate() {
        let t0 = l.start_time.or_else(|| session_time(l.start)).unwrap_or(0.0);
        let t1 = l.end_time.or_else(|| session_time(l.end)).unwrap_or(t0);
        let invalid: Vec<&str> = l.invalid.iter().map(|r| r.as_str()).collect();
        sqlx::query(
            "INSERT INTO sim_laps (id, session_id, team_id, driver_id, seq, lap, start_time, end_time, lap_time, \
             complete, valid, invalid, in_lap, out_lap, sectors, fuel_used, started_at, ended_at) \
             VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS DOUBLE PRECISION), CAST($8 AS DOUBLE PRECISION), \
             CAST($9 AS DOUBLE PRECISION), $10, $11, $12, $13, $14, $15, CAST($16 AS DOUBLE PRECISION), $17, $18)",
        )
        // Not cached: sqlx binds a NULL as int4 on PostgreSQL, and a cached statement would
        // refuse the float of a later row.
        .persistent(false)
        .bind(sim_lap_id(session_id, laps, seq))
        .bind(session_id)
        .bind(team_id)
        .bind(driver_id)
        .bind(seq as i64)
        .bind(i64::from(l.lap))
        .bind(l.start_time)
        .bind(l.end_time)
        .bind(l.lap_time)
        .bind(i64::from(l.complete))
        .bind(i64::from(l.valid))
        .bind(invalid.join(","))
        .bind(i64::from(l.in_lap))
        .bind(i64::from(l.out_lap))
        .bind(serde_json::to_string(&l.sectors).unwrap_or_else(|_| "[]".into()))
        .bind(l.fuel_used)
        .bind(wall_ms_at(t0))
        .bind(wall_ms_at(t1))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A lap and its team.
pub async fn get_lap(store: &Store, lap_id: &str) -> StoreResult<Option<(LapSummary, String)>> {
    let row = sqlx::query(
        "SELECT id, session_id, team_id, driver_id, lap, started_at, ended_at, sample_count FROM laps WHERE id = $1",
    )
    .bind(lap_id)
    .fetch_optional(store.pool())
    .await?;
    if let Some(r) = row {
        return Ok(Some((lap_from_row(&r)?, r.try_get("team_id")?)));
    }
    // A sim lap's id: its telemetry is stored under its lap counter.
    let sim = sqlx::query("SELECT session_id, lap FROM sim_laps WHERE id = $1")
        .bind(lap_id)
        .fetch_optional(store.pool())
        .await?;
    let Some(sim) = sim else { return Ok(None) };
    let (session_id, lap): (String, i64) = (sim.try_get("session_id")?, sim.try_get("lap")?);
    let row = sqlx::query(
        "SELECT id, session_id, team_id, driver_id, lap, started_at, ended_at, sample_count FROM laps \
         WHERE session_id = $1 AND lap = $2",
    )
    .bind(&session_id)
    .bind(lap)
    .fetch_optional(store.pool())
    .await?;
    match row {
        Some(r) => Ok(Some((lap_from_row(&r)?, r.try_get("team_id")?))),
        None => Ok(None),
    }
}

/// Every stored sample of a lap: its chunks from the object store and its still-staged blocks.
pub async fn lap_columns(store: &Store, objects: &Objects, session_id: &str, lap: i64) -> StoreResult<Columns> {
    // One snapshot for both reads: the compactor may move staged rows into a chunk meanwhile.
    let mut tx = store.pool().begin().await?;
    if store.kind() == crate::store::DbKind::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut *tx).await?;
    }
    let chunks =
        sqlx::query("SELECT object_key FROM telemetry_chunks WHERE session_id = $1 AND lap = $2 ORDER BY first_at")
            .bind(session_id)
            .bind(lap)
            .fetch_all(&mut *tx)
            .await?;
    let staged =
        sqlx::query("SELECT payload FROM telemetry_staging WHERE session_id = $1 AND lap = $2 ORDER BY first_at")
            .bind(session_id)
            .bind(lap)
            .fetch_all(&mut *tx)
            .await?;
    tx.commit().await?;
    let mut cols = Columns::with_capacity(0);
    for r in &chunks {
        let key: String = r.try_get("object_key")?;
        let data = objects.get(&key).await?;
        cols.extend(&Columns::decode(&data).map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))?);
    }
    for r in &staged {
        let payload: Vec<u8> = r.try_get("payload")?;
        cols.extend(&Columns::decode(&payload).map_err(|e| StoreError::Corrupt(e.to_string()))?);
    }
    cols.sort_by_time();
    Ok(cols)
}

/// Number of samples stored for a driver (tests and the benchmark's durability check).
pub async fn stored_sample_count(store: &Store, driver_id: &str) -> StoreResult<i64> {
    let r = sqlx::query("SELECT CAST(COALESCE(SUM(sample_count), 0) AS BIGINT) AS n FROM laps WHERE driver_id = $1")
        .bind(driver_id)
        .fetch_one(store.pool())
        .await?;
    Ok(r.try_get("n")?)
}

/// Stores an imported session (an uploaded file): a new session with the file's own identity,
/// its laps as the sim timed them, and the samples, staged like live ones. Returns the session id.
#[allow(clippy::too_many_arguments)]
pub async fn import_session(
    store: &Store,
    team_id: &str,
    driver_id: &str,
    track: &str,
    car: &str,
    identity: &SimIdentity,
    samples: &[TelemetryUpdate],
    laps: &[pitbox_irsdk::laps::Lap],
) -> StoreResult<String> {
    let id = new_id("ses");
    let first = samples.iter().map(|s| s.timestamp.timestamp_millis()).min().unwrap_or_else(now_ms);
    let last = samples.iter().map(|s| s.timestamp.timestamp_millis()).max().unwrap_or(first);
    let mut by_lap: std::collections::BTreeMap<i64, Columns> = std::collections::BTreeMap::new();
    for s in samples {
        by_lap.entry(i64::from(s.lap)).or_insert_with(|| Columns::with_capacity(1024)).push(s);
    }
    let now = now_ms();
    let mut tx = store.pool().begin().await?;
    // A file carries its own sim session: stored once per driver (a second upload of the same
    // file, or of a session the agent streamed live, is refused by name, not stored twice).
    if let Some(key) = &identity.sim_session_id
        && let Some(r) = sqlx::query("SELECT id, source FROM sessions WHERE driver_id = $1 AND sim_session_id = $2")
            .bind(driver_id)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?
    {
        let (existing, source): (String, String) = (r.try_get("id")?, r.try_get("source")?);
        let how = if source == "import" { "imported" } else { "streamed live" };
        return Err(StoreError::Conflict(format!(
            "this file's sim session {key} is already stored for this driver as session {existing} ({how})"
        )));
    }
    sqlx::query(
        "INSERT INTO sessions (id, team_id, driver_id, track, car, source, started_at, last_sample_at, \
         legacy, sim_session_id, session_type, track_config, series, car_idx, car_number, event_id, sim_started_at) \
         VALUES ($1, $2, $3, $4, $5, 'import', $6, $7, 0, CAST($8 AS TEXT), CAST($9 AS TEXT), \
         CAST($10 AS TEXT), CAST($11 AS TEXT), CAST($12 AS BIGINT), CAST($13 AS TEXT), CAST($14 AS TEXT), CAST($15 AS BIGINT))",
    )
    // Not cached: sqlx binds a NULL as int4 on PostgreSQL, and a cached statement would
    // refuse the float of a later row.
    .persistent(false)
    .bind(&id)
    .bind(team_id)
    .bind(driver_id)
    .bind(track)
    .bind(car)
    .bind(first)
    .bind(last)
    .bind(identity.sim_session_id.as_deref())
    .bind(identity.session_type.as_deref())
    .bind(identity.track_config.as_deref())
    .bind(identity.series.as_deref())
    .bind(identity.car_idx)
    .bind(identity.car_number.as_deref())
    .bind(identity.event_id.as_deref())
    .bind(identity.sim_started_at)
    .execute(&mut *tx)
    .await?;
    // Wall time of a session time: from the samples (their timestamps follow session time).
    let anchor = samples.iter().find_map(|s| s.session_time.map(|t| (t, s.timestamp.timestamp_millis())));
    let wall = |t: f64| anchor.map_or(first, |(t0, ms)| ms.saturating_add(((t - t0) * 1000.0).round() as i64));
    let by_record = |i: usize| samples.iter().find(|s| s.sequence == Some(i as u64)).and_then(|s| s.session_time);
    write_sim_laps(&mut tx, &id, team_id, driver_id, laps, &by_record, &wall).await?;
    for (lap, cols) in &by_lap {
        let lf = cols.timestamps.iter().copied().min().unwrap_or(first);
        let ll = cols.timestamps.iter().copied().max().unwrap_or(first);
        sqlx::query(
            "INSERT INTO telemetry_staging \
             (id, team_id, session_id, driver_id, lap, first_at, last_at, sample_count, created_at, payload) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(new_id("stg"))
        .bind(team_id)
        .bind(&id)
        .bind(driver_id)
        .bind(*lap)
        .bind(lf)
        .bind(ll)
        .bind(cols.len() as i64)
        .bind(now)
        .bind(cols.encode()?)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO laps (id, session_id, team_id, driver_id, lap, started_at, ended_at, sample_count) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(format!("{id}.{lap}"))
        .bind(&id)
        .bind(team_id)
        .bind(driver_id)
        .bind(*lap)
        .bind(lf)
        .bind(ll)
        .bind(cols.len() as i64)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// The id of a driver's most recent session when it has no sim key (older agents).
pub async fn latest_unkeyed_session_id(store: &Store, driver_id: &str) -> StoreResult<Option<String>> {
    let row = sqlx::query(
        "SELECT id, sim_session_id FROM sessions WHERE driver_id = $1 ORDER BY last_sample_at DESC LIMIT 1",
    )
    .bind(driver_id)
    .fetch_optional(store.pool())
    .await?;
    Ok(match row {
        Some(r) if r.try_get::<Option<String>, _>("sim_session_id")?.is_none() => Some(r.try_get("id")?),
        _ => None,
    })
}

/// The id of a driver's most recent session.
pub async fn latest_session_id(store: &Store, driver_id: &str) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT id FROM sessions WHERE driver_id = $1 ORDER BY last_sample_at DESC LIMIT 1")
        .bind(driver_id)
        .fetch_optional(store.pool())
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("id")?),
        None => None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn multi_row_sql_numbers_every_parameter_once() {
        let sql = super::rows_sql("INSERT INTO t (a, b) VALUES ", 2, 3, " ON CONFLICT DO NOTHING");
        assert_eq!(sql, "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6) ON CONFLICT DO NOTHING");
        let mut param = 6;
        assert_eq!(super::values_sql(&["text", ""], 2, &mut param), "($7::text, $8), ($9::text, $10)");
        assert_eq!(param, 10);
    }
}
