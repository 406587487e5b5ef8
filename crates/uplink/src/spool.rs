//! The durable spool: every uplink batch lives here, compressed exactly as it goes on the wire,
//! from the moment it is formed until the next hop acknowledges it. One redb file; every append
//! is one transaction committed with `Durability::Immediate` (fsync), so a batch survives a
//! SIGKILL or a power cut once `append` returned. The relay keeps one (`DATA_DIR/spool.redb`),
//! the driver agent another (`DATA_DIR/spool.redb` of the agent's data folder).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

/// Batches: (driverId, batch sequence) → 8-byte little-endian creation time (ms) + zstd frame.
const BATCHES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("batches");
/// Per driver: (next batch sequence to assign, last sample `sequence` spooled).
const DRIVERS: TableDefinition<&str, (u64, u64)> = TableDefinition::new("drivers");
/// Team messages for the cloud (`team_message`, handoffs, `session_info` …), in arrival order:
/// queue position → 8-byte little-endian creation time (ms) + the message JSON.
const MESSAGES: TableDefinition<u64, &[u8]> = TableDefinition::new("messages");
/// Per batch: (highest sample `sequence` in it (0: unnumbered), number of samples). The relay
/// acknowledges a driver's samples by sample `sequence`; this turns such an ack into the batches
/// it covers, and counts the samples waiting. A spool from before this table has no rows for its
/// old batches: they count as unnumbered and empty.
const LAST_SAMPLES: TableDefinition<(&str, u64), (u64, u64)> = TableDefinition::new("batch_facts");
/// The spool's own facts: `origin` → the id of its batch numbering ("" for a spool from before
/// origins, whose numbering the cloud keeps as the driver's one numbering).
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

/// Why the spool failed.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool is full ({used} of {limit} bytes)")]
    Full { used: u64, limit: u64 },
    #[error("spool database: {0}")]
    Db(String),
    /// The spool file or its directory could not be made private to the owner.
    #[error("spool file {0}")]
    Private(String),
}

macro_rules! db_err {
    ($($t:ty),*) => {$(
        impl From<$t> for SpoolError {
            fn from(e: $t) -> Self { SpoolError::Db(e.to_string()) }
        }
    )*};
}
db_err!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// What the spool remembers about a driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DriverState {
    /// Next batch sequence to assign (starts at 1).
    pub next_batch: u64,
    /// Highest sample `sequence` spooled (0: none or unnumbered).
    pub last_sample: u64,
}

/// A batch to append.
#[derive(Debug, Clone)]
pub struct NewBatch {
    pub driver: String,
    pub sequence: u64,
    pub frame: Vec<u8>,
    /// Highest sample `sequence` in the batch (0: unnumbered).
    pub last_sample: u64,
    /// Samples in the batch.
    pub samples: u64,
}

/// One spooled batch read back for sending.
#[derive(Debug, Clone)]
pub struct Spooled {
    pub sequence: u64,
    pub created_ms: u64,
    pub frame: Vec<u8>,
    /// Highest sample `sequence` in the batch (0: unnumbered or not recorded).
    pub last_sample: u64,
}

/// One queued message read back for sending.
#[derive(Debug, Clone)]
pub struct QueuedMessage {
    /// Position in the queue (increasing, never reused).
    pub id: u64,
    pub created_ms: u64,
    pub json: String,
}

/// The spool. All methods block (disk I/O): call them from `spawn_blocking`.
pub struct Spool {
    db: Database,
    limit: u64,
    bytes: AtomicU64,
    batches: AtomicU64,
    samples: AtomicU64,
    messages: AtomicU64,
    next_message: AtomicU64,
    /// The id of this spool's batch numbering (`telemetry_batch.origin`); `None` for a spool
    /// made before origins existed.
    origin: Option<String>,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool").field("limit", &self.limit).field("bytes", &self.bytes()).finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A stored value's creation time (ms, its first 8 bytes) and body; `None` when too short.
fn stamped(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (ms, body) = bytes.split_first_chunk::<8>()?;
    Some((u64::from_le_bytes(*ms), body))
}

impl Spool {
    /// Opens (or creates) the spool file, bounded to `limit` bytes of batches.
    pub fn open(path: &Path, limit: u64) -> Result<Spool, SpoolError> {
        // Spooled batches are drivers' telemetry and messages: the owner's alone.
        let private = |e: std::io::Error| SpoolError::Private(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            pitbox_auth::private_fs::private_dir(dir).map_err(private)?;
        }
        pitbox_auth::private_fs::private_file(path).map_err(private)?;
        let db = Database::create(path)?;
        let origin = {
            let tx = db.begin_write()?;
            tx.open_table(BATCHES)?;
            tx.open_table(LAST_SAMPLES)?;
            let fresh = tx.open_table(DRIVERS)?.is_empty()?;
            tx.open_table(MESSAGES)?;
            let origin = {
                let mut meta = tx.open_table(META)?;
                let known = meta.get("origin")?.map(|v| v.value().to_string());
                match known {
                    Some(o) => o,
                    None => {
                        // A new spool gets a numbering of its own; one that already numbered
                        // batches before origins existed keeps the cloud's one numbering.
                        let o = if fresh { format!("spool-{:016x}", fastrand::u64(..)) } else { String::new() };
                        meta.insert("origin", o.as_str())?;
                        o
                    }
                }
            };
            tx.commit()?;
            Some(origin).filter(|o| !o.is_empty())
        };
        let spool = Spool {
            db,
            limit,
            bytes: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            samples: AtomicU64::new(0),
            messages: AtomicU64::new(0),
            next_message: AtomicU64::new(1),
            origin,
        };
        let (mut bytes, mut count, mut messages, mut next_message, mut samples) = (0u64, 0u64, 0u64, 1u64, 0u64);
        {
            let rx = spool.db.begin_read()?;
            let t = rx.open_table(BATCHES)?;
            for row in t.iter()? {
                let (_, v) = row?;
                bytes += v.value().len() as u64;
                count += 1;
            }
            for row in rx.open_table(LAST_SAMPLES)?.iter()? {
                let (_, v) = row?;
                samples += v.value().1;
            }
            let m = rx.open_table(MESSAGES)?;
            for row in m.iter()? {
                let (k, v) = row?;
                bytes += v.value().len() as u64;
                messages += 1;
                next_message = next_message.max(k.value() + 1);
            }
        }
        spool.bytes.store(bytes, Ordering::Relaxed);
        spool.batches.store(count, Ordering::Relaxed);
        spool.samples.store(samples, Ordering::Relaxed);
        spool.messages.store(messages, Ordering::Relaxed);
        spool.next_message.store(next_message, Ordering::Relaxed);
        Ok(spool)
    }

    /// The id of this spool's batch numbering, sent as `telemetry_batch.origin`.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// Bytes of batches held.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Batches held (not yet acknowledged).
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// Samples in the batches held (batches from before the count was kept count as none).
    pub fn samples(&self) -> u64 {
        self.samples.load(Ordering::Relaxed)
    }

    /// Creation time (ms since the Unix epoch) of the oldest batch held, if any.
    pub fn oldest_ms(&self) -> Result<Option<u64>, SpoolError> {
        Ok(self.waiting()?.into_iter().map(|(_, _, ms)| ms).min())
    }

    /// Messages queued for the cloud (not yet confirmed).
    pub fn messages(&self) -> u64 {
        self.messages.load(Ordering::Relaxed)
    }

    /// Appends messages (JSON) to the cloud queue in one durable transaction, in order. Refuses
    /// all of them when the bound would be passed. Returns the id of the last one.
    pub fn append_messages(&self, jsons: &[String]) -> Result<u64, SpoolError> {
        let add: u64 = jsons.iter().map(|j| j.len() as u64 + 8).sum();
        let used = self.bytes();
        if used + add > self.limit {
            return Err(SpoolError::Full { used, limit: self.limit });
        }
        let created = now_ms().to_le_bytes();
        let first = self.next_message.load(Ordering::Relaxed);
        let tx = self.db.begin_write()?;
        {
            let mut t = tx.open_table(MESSAGES)?;
            let mut value = Vec::new();
            for (i, j) in jsons.iter().enumerate() {
                value.clear();
                value.extend_from_slice(&created);
                value.extend_from_slice(j.as_bytes());
                t.insert(first + i as u64, value.as_slice())?;
            }
        }
        tx.commit()?;
        let last = first + jsons.len() as u64 - 1;
        self.next_message.store(last + 1, Ordering::Relaxed);
        self.bytes.fetch_add(add, Ordering::Relaxed);
        self.messages.fetch_add(jsons.len() as u64, Ordering::Relaxed);
        Ok(last)
    }

    /// Up to `limit` queued messages with an id above `after`, in order.
    pub fn pending_messages(&self, after: u64, limit: usize) -> Result<Vec<QueuedMessage>, SpoolError> {
        let rx = self.db.begin_read()?;
        let t = rx.open_table(MESSAGES)?;
        let mut out = Vec::new();
        for row in t.range(after.saturating_add(1)..)? {
            if out.len() >= limit {
                break;
            }
            let (k, v) = row?;
            let Some((created_ms, body)) = stamped(v.value()) else { continue };
            let json = String::from_utf8_lossy(body).into_owned();
            out.push(QueuedMessage { id: k.value(), created_ms, json });
        }
        Ok(out)
    }

    /// Drops every queued message up to and including `id` (the cloud has processed them).
    pub fn ack_messages(&self, id: u64) -> Result<u64, SpoolError> {
        let tx = self.db.begin_write()?;
        let (mut n, mut freed) = (0u64, 0u64);
        {
            let mut t = tx.open_table(MESSAGES)?;
            let removed = t.extract_from_if(0..=id, |_, _| true)?;
            for row in removed {
                let (_, v) = row?;
                n += 1;
                freed += v.value().len() as u64;
            }
        }
        if n == 0 {
            tx.abort()?;
            return Ok(0);
        }
        // As with batches: a lost confirmation only means a resend the cloud refuses as known.
        let mut tx = tx;
        tx.set_durability(redb::Durability::None)?;
        tx.commit()?;
        self.bytes.fetch_sub(freed.min(self.bytes()), Ordering::Relaxed);
        self.messages.fetch_sub(n.min(self.messages()), Ordering::Relaxed);
        Ok(n)
    }

    /// The configured bound.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// What the spool remembers of every driver.
    pub fn drivers(&self) -> Result<HashMap<String, DriverState>, SpoolError> {
        let rx = self.db.begin_read()?;
        let t = rx.open_table(DRIVERS)?;
        let mut out = HashMap::new();
        for row in t.iter()? {
            let (k, v) = row?;
            let (next_batch, last_sample) = v.value();
            out.insert(k.value().to_string(), DriverState { next_batch, last_sample });
        }
        Ok(out)
    }

    /// Appends batches in one durable transaction. Refuses all of them when the bound would be
    /// passed.
    pub fn append(&self, batches: &[NewBatch]) -> Result<(), SpoolError> {
        let add: u64 = batches.iter().map(|b| b.frame.len() as u64 + 8).sum();
        let used = self.bytes();
        if used + add > self.limit {
            return Err(SpoolError::Full { used, limit: self.limit });
        }
        let created = now_ms().to_le_bytes();
        let tx = self.db.begin_write()?;
        {
            let mut t = tx.open_table(BATCHES)?;
            let mut d = tx.open_table(DRIVERS)?;
            let mut l = tx.open_table(LAST_SAMPLES)?;
            let mut value = Vec::new();
            for b in batches {
                value.clear();
                value.extend_from_slice(&created);
                value.extend_from_slice(&b.frame);
                t.insert((b.driver.as_str(), b.sequence), value.as_slice())?;
                l.insert((b.driver.as_str(), b.sequence), (b.last_sample, b.samples))?;
                let prev = d.get(b.driver.as_str())?.map(|v| v.value()).unwrap_or((1, 0));
                let state = (prev.0.max(b.sequence + 1), prev.1.max(b.last_sample));
                d.insert(b.driver.as_str(), state)?;
            }
        }
        tx.commit()?;
        self.bytes.fetch_add(add, Ordering::Relaxed);
        self.batches.fetch_add(batches.len() as u64, Ordering::Relaxed);
        self.samples.fetch_add(batches.iter().map(|b| b.samples).sum(), Ordering::Relaxed);
        Ok(())
    }

    /// Drops every batch of `driver` up to and including `sequence` (the cloud has them).
    /// Returns how many were dropped.
    pub fn ack(&self, driver: &str, sequence: u64) -> Result<u64, SpoolError> {
        self.ack_many(&[(driver.to_string(), sequence)])
    }

    /// [`Spool::ack`] for several drivers in one transaction (the uplink gathers the acks of
    /// about 100 ms: one write instead of one per ack).
    pub fn ack_many(&self, acks: &[(String, u64)]) -> Result<u64, SpoolError> {
        let tx = self.db.begin_write()?;
        let (mut n, mut freed, mut samples) = (0u64, 0u64, 0u64);
        {
            let mut t = tx.open_table(BATCHES)?;
            let mut l = tx.open_table(LAST_SAMPLES)?;
            for (driver, sequence) in acks {
                let range = (driver.as_str(), 0u64)..=(driver.as_str(), *sequence);
                let removed = t.extract_from_if(range.clone(), |_, _| true)?;
                for row in removed {
                    let (_, v) = row?;
                    n += 1;
                    freed += v.value().len() as u64;
                }
                for row in l.extract_from_if(range, |_, _| true)? {
                    let (_, v) = row?;
                    samples += v.value().1;
                }
            }
        }
        if n == 0 {
            tx.abort()?;
            return Ok(0);
        }
        // Acks may be lost in a crash; the cloud acknowledges duplicates again, so a lazy commit
        // is enough here.
        let mut tx = tx;
        tx.set_durability(redb::Durability::None)?;
        tx.commit()?;
        self.bytes.fetch_sub(freed.min(self.bytes()), Ordering::Relaxed);
        self.batches.fetch_sub(n.min(self.batches()), Ordering::Relaxed);
        self.samples.fetch_sub(samples.min(self.samples()), Ordering::Relaxed);
        Ok(n)
    }

    /// [`Spool::pending`] for several drivers in one read transaction, in the order given,
    /// `budget` batches in all.
    pub fn pending_many(
        &self,
        wants: &[(String, u64)],
        budget: usize,
    ) -> Result<Vec<(String, Vec<Spooled>)>, SpoolError> {
        let rx = self.db.begin_read()?;
        let t = rx.open_table(BATCHES)?;
        let l = rx.open_table(LAST_SAMPLES)?;
        let mut out = Vec::with_capacity(wants.len());
        let mut left = budget;
        for (driver, after) in wants {
            if left == 0 {
                break;
            }
            let mut got = Vec::new();
            for row in t.range((driver.as_str(), after.saturating_add(1))..=(driver.as_str(), u64::MAX))? {
                if got.len() >= left {
                    break;
                }
                let (k, v) = row?;
                let Some((created_ms, frame)) = stamped(v.value()) else { continue };
                let sequence = k.value().1;
                let last_sample = l.get((driver.as_str(), sequence))?.map_or(0, |v| v.value().0);
                got.push(Spooled { sequence, created_ms, frame: frame.to_vec(), last_sample });
            }
            left -= got.len();
            out.push((driver.clone(), got));
        }
        Ok(out)
    }

    /// Up to `limit` batches of `driver` with a sequence above `after`, in order.
    pub fn pending(&self, driver: &str, after: u64, limit: usize) -> Result<Vec<Spooled>, SpoolError> {
        let mut got = self.pending_many(&[(driver.to_string(), after)], limit)?;
        Ok(got.pop().map(|(_, b)| b).unwrap_or_default())
    }

    /// Drivers that have batches waiting, with their lowest waiting sequence and its creation
    /// time (ms).
    pub fn waiting(&self) -> Result<Vec<(String, u64, u64)>, SpoolError> {
        let rx = self.db.begin_read()?;
        let d = rx.open_table(DRIVERS)?;
        let t = rx.open_table(BATCHES)?;
        let mut out = Vec::new();
        for row in d.iter()? {
            let (k, _) = row?;
            let driver = k.value().to_string();
            if let Some(first) = t.range((driver.as_str(), 0u64)..=(driver.as_str(), u64::MAX))?.next() {
                let (k, v) = first?;
                let created_ms = stamped(v.value()).map_or(0, |(ms, _)| ms);
                out.push((driver, k.value().1, created_ms));
            }
        }
        Ok(out)
    }

    /// Makes every earlier lazy commit durable.
    pub fn sync(&self) -> Result<(), SpoolError> {
        let tx = self.db.begin_write()?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_spool_has_a_numbering_of_its_own_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.redb");
        let first = Spool::open(&path, 1 << 20).unwrap().origin().map(str::to_string);
        let origin = first.expect("a new spool gets an origin");
        assert!(origin.starts_with("spool-") && origin.len() == 22, "{origin}");
        assert_eq!(Spool::open(&path, 1 << 20).unwrap().origin(), Some(origin.as_str()), "kept across restarts");
        let other = tempfile::tempdir().unwrap();
        let second = Spool::open(&other.path().join("spool.redb"), 1 << 20).unwrap();
        assert_ne!(second.origin(), Some(origin.as_str()), "another folder, another numbering");
    }

    #[test]
    fn a_spool_from_before_origins_keeps_the_one_numbering() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.redb");
        {
            // As an older relay left it: batches numbered, no meta table.
            let db = Database::create(&path).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(DRIVERS).unwrap().insert("drv-1", (42, 7)).unwrap();
            tx.commit().unwrap();
        }
        let spool = Spool::open(&path, 1 << 20).unwrap();
        assert_eq!(spool.origin(), None, "its batches 1..41 are the cloud's one numbering of drv-1");
        assert_eq!(spool.drivers().unwrap()["drv-1"].next_batch, 42);
        drop(spool);
        assert_eq!(Spool::open(&path, 1 << 20).unwrap().origin(), None, "and stays so");
    }

    fn nb(driver: &str, seq: u64, len: usize) -> NewBatch {
        NewBatch {
            driver: driver.into(),
            sequence: seq,
            frame: vec![seq as u8; len],
            last_sample: seq * 10,
            samples: 3,
        }
    }

    /// Issue 23: the spool was 0644 under umask 022.
    #[cfg(unix)]
    #[test]
    fn the_spool_is_private_to_the_owner() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("relay");
        let path = dir.join("spool.redb");
        let spool = Spool::open(&path, 1 << 20).unwrap();
        spool.append(&[nb("d", 1, 10)]).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn append_ack_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.redb");
        {
            let s = Spool::open(&path, 1 << 20).unwrap();
            s.append(&[nb("d1", 1, 10), nb("d1", 2, 10), nb("d2", 1, 5)]).unwrap();
            assert_eq!(s.batches(), 3);
            assert_eq!(s.ack("d1", 1).unwrap(), 1);
            assert_eq!(s.ack("d1", 1).unwrap(), 0);
            assert_eq!(s.pending("d1", 0, 10).unwrap().iter().map(|b| b.sequence).collect::<Vec<_>>(), vec![2]);
            s.sync().unwrap();
        }
        let s = Spool::open(&path, 1 << 20).unwrap();
        assert_eq!(s.batches(), 2);
        assert_eq!(s.bytes(), 18 + 13);
        let d = s.drivers().unwrap();
        assert_eq!(d["d1"], DriverState { next_batch: 3, last_sample: 20 });
        let w = s.waiting().unwrap();
        assert_eq!(w.iter().map(|(d, s, _)| (d.as_str(), *s)).collect::<Vec<_>>(), vec![("d1", 2), ("d2", 1)]);
    }

    #[test]
    fn message_queue_keeps_order_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.redb");
        {
            let s = Spool::open(&path, 1 << 20).unwrap();
            assert_eq!(s.append_messages(&["a".into(), "b".into()]).unwrap(), 2);
            assert_eq!(s.append_messages(&["c".into()]).unwrap(), 3);
            assert_eq!(s.ack_messages(1).unwrap(), 1);
            s.sync().unwrap();
        }
        let s = Spool::open(&path, 1 << 20).unwrap();
        assert_eq!(s.messages(), 2);
        assert_eq!(s.bytes(), 2 * 9);
        let got: Vec<(u64, String)> = s.pending_messages(0, 10).unwrap().into_iter().map(|m| (m.id, m.json)).collect();
        assert_eq!(got, vec![(2, "b".to_string()), (3, "c".to_string())]);
        assert_eq!(s.pending_messages(2, 10).unwrap().len(), 1);
        // ids are never reused after a reopen
        assert_eq!(s.append_messages(&["d".into()]).unwrap(), 4);
        assert_eq!(s.ack_messages(4).unwrap(), 3);
        assert_eq!((s.messages(), s.bytes()), (0, 0));
    }

    #[test]
    fn bounded() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::open(&dir.path().join("s.redb"), 100).unwrap();
        s.append(&[nb("d", 1, 50)]).unwrap();
        assert!(matches!(s.append(&[nb("d", 2, 50)]), Err(SpoolError::Full { .. })));
        s.ack("d", 1).unwrap();
        s.append(&[nb("d", 2, 50)]).unwrap();
    }
}
