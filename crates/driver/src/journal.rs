//! The spool's journal: every sample is appended to a plain file the moment the source hands it
//! over, before it is shown live or counted as produced, so that a killed agent (Task Manager's
//! "End task", a crash, SIGKILL) loses nothing it produced. The spool itself
//! ([`crate::spool`]) writes a durable batch only every 200 ms; the journal covers that gap.
//!
//! A write to a file reaches the operating system's cache in one call, and the cache outlives
//! the process, so nothing is synced here (a power cut can still take the last 200 ms; the
//! spool's fsync bounds that). Two segment files take turns: after the spool has durably written
//! everything the source had queued, [`Journal::rotate`] empties the older segment and makes it
//! the one appended to. Every sample in the segment emptied was queued before the previous turn,
//! so it was in the batch the spool just wrote. An agent started again reads both segments
//! ([`Journal::open`]) and spools what the spool does not have yet.
//!
//! An entry is `length (u32 LE) | CRC-32 of the body (u32 LE) | body (the sample's JSON)`. A torn
//! or damaged entry ends the segment's reading: what came before it is kept.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pitbox_model::telemetry::TelemetryUpdate;

/// The largest entry body read back: a sample is a few KB; more is damage, not a sample.
const MAX_ENTRY: usize = 1 << 20;
/// A segment past this size takes no more entries (the spool has not written for many minutes):
/// the samples still go to the spool's queue, only their journal copy is skipped.
const MAX_SEGMENT: u64 = 256 << 20;

/// Why the journal could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
}

struct Segments {
    files: [File; 2],
    bytes: [u64; 2],
    active: usize,
    /// An append failed: logged once, then tried again quietly with every sample.
    failed: bool,
    /// The active segment reached [`MAX_SEGMENT`]: logged once.
    full_warned: bool,
}

/// The journal of one agent's data folder (`spool.journal.0` and `spool.journal.1`).
pub struct Journal {
    segments: Mutex<Segments>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Journal")
    }
}

/// The two segment files of the journal that sits beside `spool_path`.
fn segment_paths(spool_path: &Path) -> [PathBuf; 2] {
    let dir = spool_path.parent().unwrap_or(Path::new("."));
    [dir.join("spool.journal.0"), dir.join("spool.journal.1")]
}

/// Reads the entries of one segment, up to the first torn or damaged one.
fn read_entries(file: &mut File, out: &mut Vec<TelemetryUpdate>) -> std::io::Result<(u64, bool)> {
    let mut data = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut data)?;
    let mut at = 0usize;
    while data.len() - at >= 8 {
        let len = u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
        let crc = u32::from_le_bytes([data[at + 4], data[at + 5], data[at + 6], data[at + 7]]);
        if len > MAX_ENTRY || data.len() - at - 8 < len {
            return Ok((data.len() as u64, true));
        }
        let body = &data[at + 8..at + 8 + len];
        if crc32fast::hash(body) != crc {
            return Ok((data.len() as u64, true));
        }
        match serde_json::from_slice::<TelemetryUpdate>(body) {
            Ok(t) => out.push(t),
            Err(_) => return Ok((data.len() as u64, true)),
        }
        at += 8 + len;
    }
    Ok((data.len() as u64, at != data.len()))
}

impl Journal {
    /// Opens (or creates) the journal beside the spool file and returns what it holds, in the
    /// order the samples were numbered; the caller spools those the spool lacks.
    pub fn open(spool_path: &Path) -> Result<(Journal, Vec<TelemetryUpdate>), JournalError> {
        let paths = segment_paths(spool_path);
        let open = |p: &PathBuf| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(p)
                .map_err(|error| JournalError::Io { path: p.clone(), error })
        };
        let mut files = [open(&paths[0])?, open(&paths[1])?];
        let mut recovered = Vec::new();
        let mut bytes = [0u64; 2];
        for (i, file) in files.iter_mut().enumerate() {
            let (len, damaged) = read_entries(file, &mut recovered)
                .map_err(|error| JournalError::Io { path: paths[i].clone(), error })?;
            if damaged {
                tracing::warn!(path = %paths[i].display(), "the journal ends in a torn entry (the agent was stopped mid-write); what came before it is kept");
            }
            bytes[i] = len;
        }
        recovered.sort_by_key(|t| t.sequence.unwrap_or(0));
        recovered.dedup_by_key(|t| t.sequence.unwrap_or(0));
        // New entries go after the old ones in the smaller segment; the old ones stay until the
        // spool has them (the first two turns).
        let active = usize::from(bytes[1] < bytes[0]);
        files[active]
            .seek(SeekFrom::End(0))
            .map_err(|error| JournalError::Io { path: paths[active].clone(), error })?;
        let segments = Segments { files, bytes, active, failed: false, full_warned: false };
        Ok((Journal { segments: Mutex::new(segments) }, recovered))
    }

    /// Appends `sample`, then runs `then` (the hand-over to the spool's queue) before another
    /// append or a turn can happen: a turn must never empty a segment holding a sample that was
    /// not queued yet.
    pub fn append_then<R>(&self, sample: &TelemetryUpdate, then: impl FnOnce() -> R) -> R {
        let Ok(mut seg) = self.segments.lock() else {
            return then();
        };
        let active = seg.active;
        if seg.bytes[active] >= MAX_SEGMENT {
            if !seg.full_warned {
                seg.full_warned = true;
                tracing::error!("the spool's journal is full: the spool has not written for minutes");
            }
            return then();
        }
        match serde_json::to_vec(sample) {
            Ok(body) => {
                let mut entry = Vec::with_capacity(body.len() + 8);
                entry.extend_from_slice(&(body.len() as u32).to_le_bytes());
                entry.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
                entry.extend_from_slice(&body);
                match seg.files[active].write_all(&entry) {
                    Ok(()) => {
                        seg.bytes[active] += entry.len() as u64;
                        seg.failed = false;
                    }
                    Err(e) => {
                        if !seg.failed {
                            tracing::error!(error = %e, "writing the spool's journal failed: a killed agent may lose up to 200 ms");
                        }
                        seg.failed = true;
                        // A partial entry would end the segment's reading: start it over.
                        let _ = seg.files[active].set_len(0).and_then(|()| seg.files[active].seek(SeekFrom::Start(0)));
                        seg.bytes[active] = 0;
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "a sample could not be journaled"),
        }
        then()
    }

    /// The spool has durably written everything queued so far: empty the older segment and
    /// append to it from now on.
    pub fn rotate(&self) {
        let Ok(mut seg) = self.segments.lock() else { return };
        let next = 1 - seg.active;
        match seg.files[next].set_len(0).and_then(|()| seg.files[next].seek(SeekFrom::Start(0))) {
            Ok(_) => {
                seg.bytes[next] = 0;
                seg.active = next;
                seg.full_warned = false;
            }
            Err(e) => tracing::warn!(error = %e, "emptying the spool's journal failed; tried again at the next batch"),
        }
    }

    /// Everything is in the spool (a clean stop): empty both segments.
    pub fn clear(&self) {
        self.rotate();
        self.rotate();
    }

    /// Bytes in both segments.
    pub fn bytes(&self) -> u64 {
        self.segments.lock().map_or(0, |s| s.bytes[0] + s.bytes[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seq: u64) -> TelemetryUpdate {
        let mut t: TelemetryUpdate = serde_json::from_value(serde_json::json!({
            "driverId": "d1", "timestamp": "2026-12-07T10:00:00Z", "speed": 200.0, "rpm": 7000.0,
            "gear": 4, "throttle": 100.0, "brake": 0.0, "steeringAngle": 0.0, "trackPosition": 0.5,
            "lap": 3, "sector": 1, "fuelLevel": 40.0,
            "tireWear": {"frontLeft": 0.0, "frontRight": 0.0, "rearLeft": 0.0, "rearRight": 0.0}
        }))
        .expect("a minimal sample");
        t.sequence = Some(seq);
        t
    }

    fn seqs(v: &[TelemetryUpdate]) -> Vec<u64> {
        v.iter().filter_map(|t| t.sequence).collect()
    }

    #[test]
    fn what_was_appended_is_read_back_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool.redb");
        let (j, old) = Journal::open(&spool).unwrap();
        assert!(old.is_empty());
        let mut queued = Vec::new();
        for s in 1..=5 {
            j.append_then(&sample(s), || queued.push(s));
        }
        assert_eq!(queued, vec![1, 2, 3, 4, 5], "each sample is handed over after its append");
        drop(j);
        let (_, back) = Journal::open(&spool).unwrap();
        assert_eq!(seqs(&back), vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_turn_empties_only_what_was_queued_before_the_previous_turn() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool.redb");
        let (j, _) = Journal::open(&spool).unwrap();
        j.append_then(&sample(1), || ());
        j.rotate(); // the spool wrote 1
        j.append_then(&sample(2), || ());
        j.rotate(); // the spool wrote 2; segment holding 1 is emptied
        j.append_then(&sample(3), || ());
        drop(j);
        let (_, back) = Journal::open(&spool).unwrap();
        assert_eq!(seqs(&back), vec![2, 3], "1 is gone, 2 and 3 are kept until the next turns");
        let (j, _) = Journal::open(&spool).unwrap();
        j.clear();
        assert_eq!(j.bytes(), 0);
        drop(j);
        assert!(Journal::open(&spool).unwrap().1.is_empty(), "a clean stop leaves nothing");
    }

    #[test]
    fn a_torn_or_damaged_entry_ends_the_reading_without_losing_what_came_before() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool.redb");
        let (j, _) = Journal::open(&spool).unwrap();
        for s in 1..=3 {
            j.append_then(&sample(s), || ());
        }
        drop(j);
        let seg = dir.path().join("spool.journal.0");
        let mut data = std::fs::read(&seg).unwrap();
        // A torn last entry: half its body missing.
        data.truncate(data.len() - 10);
        std::fs::write(&seg, &data).unwrap();
        assert_eq!(seqs(&Journal::open(&spool).unwrap().1), vec![1, 2]);
        // A flipped byte in the second entry's body: its CRC fails.
        let first_len = u32::from_le_bytes(data[0..4].try_into().unwrap()) as usize;
        data[8 + first_len + 8 + 2] ^= 0xff;
        std::fs::write(&seg, &data).unwrap();
        assert_eq!(seqs(&Journal::open(&spool).unwrap().1), vec![1]);
        // A length past any sample's size.
        std::fs::write(&seg, [0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 1, 2, 3]).unwrap();
        assert!(Journal::open(&spool).unwrap().1.is_empty());
    }
}
