//! The window of spooled batches in flight on one connection: which batches go next (in order
//! per driver, at most `window` unacknowledged), what the peer acknowledged, and when those acks
//! are applied to the spool. A new connection starts a new `Outflow`, so everything not yet
//! acknowledged is sent again; the receiver stores each (driver, origin, batch sequence) once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::spool::{Spool, SpoolError, Spooled};

/// How long acks gather before they are applied to the spool in one write (hundreds of acks a
/// second with a full field would otherwise be hundreds of writes).
const ACK_APPLY_DELAY: Duration = Duration::from_millis(100);

/// Batches to send now, in order per driver, and how old the oldest waiting batch is.
#[derive(Debug, Default)]
pub struct Refill {
    pub frames: Vec<(String, Spooled)>,
    /// Age of the oldest batch in the spool, ms (`None`: nothing waits).
    pub lag_ms: Option<u64>,
}

/// One connection's batches in flight.
#[derive(Debug)]
pub struct Outflow {
    window: u64,
    acked: HashMap<String, u64>,
    sent: HashMap<String, u64>,
    /// Acks not yet applied to the spool. `acked` is what counts for sending; a crash before
    /// the write only means the peer acknowledges duplicates again.
    unapplied: HashMap<String, u64>,
    apply_at: Option<Instant>,
    refill: bool,
    /// Send again from the last ack when nothing was acknowledged for this long with batches in
    /// flight (a peer that took them but could not store them, e.g. its spool was full).
    stall_resend: Option<Duration>,
    last_progress: Instant,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

async fn blocking<T: Send + 'static>(
    spool: &Arc<Spool>,
    f: impl FnOnce(&Spool) -> Result<T, SpoolError> + Send + 'static,
) -> Result<T, SpoolError> {
    let s = spool.clone();
    tokio::task::spawn_blocking(move || f(&s)).await.map_err(|e| SpoolError::Db(e.to_string()))?
}

impl Outflow {
    /// At most `window` batches unacknowledged (at least 1).
    pub fn new(window: usize) -> Outflow {
        Outflow {
            window: window.max(1) as u64,
            acked: HashMap::new(),
            sent: HashMap::new(),
            unapplied: HashMap::new(),
            apply_at: None,
            refill: true,
            stall_resend: None,
            last_progress: Instant::now(),
        }
    }

    /// Resends from the last ack after `after` without any ack while batches are in flight.
    pub fn with_stall_resend(mut self, after: Duration) -> Outflow {
        self.stall_resend = Some(after);
        self
    }

    /// Batches sent and not yet acknowledged.
    pub fn inflight(&self) -> u64 {
        self.sent.iter().map(|(d, s)| s.saturating_sub(*self.acked.get(d).unwrap_or(&0))).sum()
    }

    /// Whether [`Outflow::refill`] should run now: woken, or the window half empty.
    pub fn due(&self) -> bool {
        self.refill || self.inflight() <= self.window / 2
    }

    /// Something new is in the spool (or a second passed): look again.
    pub fn wake(&mut self) {
        self.refill = true;
    }

    /// Highest batch of `driver` sent on this connection (0: none).
    pub fn sent(&self, driver: &str) -> u64 {
        self.sent.get(driver).copied().unwrap_or(0)
    }

    /// Highest batch of `driver` acknowledged on this connection (0: none).
    pub fn acked(&self, driver: &str) -> u64 {
        self.acked.get(driver).copied().unwrap_or(0)
    }

    /// The next batches to send, marked as sent: every driver's next ones in one read, within
    /// the window.
    pub async fn refill(&mut self, spool: &Arc<Spool>) -> Result<Refill, SpoolError> {
        self.refill = false;
        if let Some(after) = self.stall_resend
            && self.inflight() > 0
            && self.last_progress.elapsed() >= after
        {
            // Nothing acknowledged for a while: send again from the last ack.
            self.sent = self.acked.clone();
            self.last_progress = Instant::now();
        }
        let waiting = blocking(spool, |s| s.waiting()).await?;
        let now = now_ms();
        let lag_ms = waiting.iter().map(|(_, _, c)| *c).min().map(|c| now.saturating_sub(c));
        let budget = self.window.saturating_sub(self.inflight()) as usize;
        let mut wants: Vec<(String, u64)> = Vec::with_capacity(waiting.len());
        for (driver, first, _) in waiting {
            // Everything below the first batch waiting was acknowledged (maybe before a restart).
            let a = self.acked.entry(driver.clone()).or_insert(0);
            *a = (*a).max(first.saturating_sub(1));
            let floor = *a;
            let after = self.sent.get(&driver).copied().unwrap_or(0).max(floor);
            wants.push((driver, after));
        }
        let ready = if budget == 0 || wants.is_empty() {
            Vec::new()
        } else {
            blocking(spool, move |s| s.pending_many(&wants, budget)).await?
        };
        let mut frames = Vec::new();
        for (driver, batches) in ready {
            for b in batches {
                self.sent.insert(driver.clone(), b.sequence);
                frames.push((driver.clone(), b));
            }
        }
        Ok(Refill { frames, lag_ms })
    }

    /// The peer acknowledged every batch of `driver` up to `sequence`. True when that is news.
    pub fn ack(&mut self, driver: &str, sequence: u64) -> bool {
        let prev = self.acked(driver);
        if sequence <= prev {
            return false;
        }
        self.acked.insert(driver.to_string(), sequence);
        self.unapplied.insert(driver.to_string(), sequence);
        self.apply_at.get_or_insert_with(|| Instant::now() + ACK_APPLY_DELAY);
        self.last_progress = Instant::now();
        true
    }

    /// When the gathered acks are due to be applied (`None`: none gathered).
    pub fn apply_at(&self) -> Option<Instant> {
        self.apply_at
    }

    /// Applies the gathered acks to the spool if they are due; the number of batches dropped.
    pub async fn apply_due(&mut self, spool: &Arc<Spool>) -> Result<u64, SpoolError> {
        if self.apply_at.is_none_or(|t| Instant::now() < t) {
            return Ok(0);
        }
        self.apply_now(spool).await
    }

    /// Applies the gathered acks to the spool now.
    pub async fn apply_now(&mut self, spool: &Arc<Spool>) -> Result<u64, SpoolError> {
        self.apply_at = None;
        if self.unapplied.is_empty() {
            return Ok(0);
        }
        let acks: Vec<(String, u64)> = self.unapplied.drain().collect();
        blocking(spool, move |sp| sp.ack_many(&acks)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::NewBatch;

    fn spool(dir: &std::path::Path) -> Arc<Spool> {
        Arc::new(Spool::open(&dir.join("spool.redb"), 1 << 20).unwrap())
    }

    fn nb(seq: u64) -> NewBatch {
        NewBatch { driver: "d".into(), sequence: seq, frame: vec![1; 10], last_sample: seq * 100, samples: 2 }
    }

    #[tokio::test]
    async fn sends_in_order_within_the_window_and_resends_on_a_new_connection() {
        let dir = tempfile::tempdir().unwrap();
        let s = spool(dir.path());
        s.append(&(1..=10).map(nb).collect::<Vec<_>>()).unwrap();
        let mut o = Outflow::new(4);
        let seqs = |r: Refill| r.frames.iter().map(|(_, b)| b.sequence).collect::<Vec<_>>();
        assert_eq!(seqs(o.refill(&s).await.unwrap()), vec![1, 2, 3, 4]);
        assert!(!o.due(), "window full");
        assert!(o.ack("d", 2));
        assert!(!o.ack("d", 1), "old news");
        assert!(o.due());
        assert_eq!(seqs(o.refill(&s).await.unwrap()), vec![5, 6]);
        assert_eq!(o.apply_now(&s).await.unwrap(), 2);
        assert_eq!(s.batches(), 8);
        assert_eq!(s.samples(), 16);
        // A cut: the next connection starts from what the spool still holds.
        let mut o = Outflow::new(100);
        assert_eq!(seqs(o.refill(&s).await.unwrap()), (3..=10).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_stalled_window_is_sent_again() {
        let dir = tempfile::tempdir().unwrap();
        let s = spool(dir.path());
        s.append(&[nb(1), nb(2)]).unwrap();
        let mut o = Outflow::new(8).with_stall_resend(Duration::from_millis(30));
        assert_eq!(o.refill(&s).await.unwrap().frames.len(), 2);
        assert_eq!(o.refill(&s).await.unwrap().frames.len(), 0, "in flight");
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(o.refill(&s).await.unwrap().frames.len(), 2, "no ack for a while: sent again");
    }
}
