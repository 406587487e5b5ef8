//! One client's outbound side: a bounded queue of control messages and one slot per driver for
//! telemetry, released at the subscriber's rate (newest sample wins), drained by the
//! connection's writer task.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::Notify;

/// What happened to a telemetry frame offered to a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Ready to send now.
    Ready,
    /// Waiting for the subscriber's rate window; a newer sample will replace it.
    Throttled,
    /// Ready to send now, replacing a frame the slow subscriber had not taken yet.
    ReplacedUnsent,
    /// Replaced a throttled frame (coalesced).
    Coalesced,
    /// The connection is closing.
    Closed,
}

struct Slot {
    driver: Box<str>,
    ready: Option<Utf8Bytes>,
    pending: Option<Utf8Bytes>,
    /// Virtual time of the last release (keeps the average at the rate).
    last_release: Option<Instant>,
}

pub(crate) struct State {
    control: VecDeque<Utf8Bytes>,
    slots: Vec<Slot>,
    period: Duration,
    close: Option<(u16, String)>,
    overflowed: bool,
}

/// What the writer should do next.
pub(crate) enum Next {
    /// Send these frames, then come back.
    Send(Vec<Utf8Bytes>),
    /// Send the close frame and stop.
    Close(u16, String),
    /// Nothing now; wait for a notification or until the deadline.
    Wait(Option<Instant>),
}

pub(crate) struct Outbox {
    state: Mutex<State>,
    notify: Notify,
    control_cap: usize,
}

impl Outbox {
    pub(crate) fn new(control_cap: usize) -> Outbox {
        Outbox {
            state: Mutex::new(State {
                control: VecDeque::new(),
                slots: Vec::new(),
                period: Duration::from_millis(50),
                close: None,
                overflowed: false,
            }),
            notify: Notify::new(),
            control_cap: control_cap.max(8),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Sets the telemetry rate (per driver).
    pub(crate) fn set_rate(&self, hz: f64) {
        let hz = if hz.is_finite() && hz > 0.0 { hz } else { 20.0 };
        self.lock().period = Duration::from_secs_f64(1.0 / hz);
    }

    /// Queues a non-telemetry frame. A client whose queue overflows is closed as too slow.
    /// Returns false when the frame was not queued.
    pub(crate) fn push_control(&self, frame: Utf8Bytes) -> bool {
        let mut st = self.lock();
        if st.close.is_some() {
            return false;
        }
        if st.control.len() >= self.control_cap {
            st.overflowed = true;
            st.close = Some((crate::close::SLOW_CONSUMER, "too slow: outbound queue full".into()));
            drop(st);
            self.notify.notify_one();
            return false;
        }
        st.control.push_back(frame);
        drop(st);
        self.notify.notify_one();
        true
    }

    /// Whether the control queue overflowed (the client was too slow).
    pub(crate) fn overflowed(&self) -> bool {
        self.lock().overflowed
    }

    /// Asks the writer to send what is queued, then close with `code`.
    pub(crate) fn close(&self, code: u16, reason: &str) {
        let mut st = self.lock();
        if st.close.is_none() {
            st.close = Some((code, reason.chars().take(120).collect()));
        }
        drop(st);
        self.notify.notify_one();
    }

    /// Offers a telemetry frame of `driver`.
    pub(crate) fn offer_telemetry(&self, driver: &str, frame: &Utf8Bytes, now: Instant) -> Offer {
        let mut st = self.lock();
        if st.close.is_some() {
            return Offer::Closed;
        }
        let period = st.period;
        let idx = match st.slots.iter().position(|s| &*s.driver == driver) {
            Some(i) => i,
            None => {
                st.slots.push(Slot { driver: driver.into(), ready: None, pending: None, last_release: None });
                st.slots.len() - 1
            }
        };
        let slot = &mut st.slots[idx];
        // Release now when the rate window is (almost) open; the early quarter keeps latency low
        // for sources that are not phase-locked to the subscriber, virtual time keeps the average.
        let due = match slot.last_release {
            None => true,
            Some(last) => now + period / 4 >= last + period,
        };
        if due {
            slot.last_release = Some(match slot.last_release {
                Some(last) if last + period > now => last + period,
                _ => now,
            });
            slot.pending = None;
            let replaced = slot.ready.replace(frame.clone()).is_some();
            drop(st);
            self.notify.notify_one();
            if replaced { Offer::ReplacedUnsent } else { Offer::Ready }
        } else {
            let first = slot.pending.replace(frame.clone()).is_none();
            drop(st);
            if first {
                // The writer must learn the new deadline.
                self.notify.notify_one();
                Offer::Throttled
            } else {
                Offer::Coalesced
            }
        }
    }

    /// Forgets a driver's telemetry slot (unsubscribed).
    pub(crate) fn forget_driver(&self, driver: &str) {
        self.lock().slots.retain(|s| &*s.driver != driver);
    }

    /// Forgets every telemetry slot.
    pub(crate) fn forget_all(&self) {
        self.lock().slots.clear();
    }

    /// What the writer does next.
    pub(crate) fn next(&self, now: Instant) -> Next {
        let mut st = self.lock();
        let period = st.period;
        let mut out: Vec<Utf8Bytes> = st.control.drain(..).collect();
        let mut deadline: Option<Instant> = None;
        for slot in st.slots.iter_mut() {
            if let Some(p) = slot.pending.take() {
                // A throttled frame waits half a period past its window: a live source sends a
                // newer sample by then (released at once, with no waiting), so only the last
                // sample of a source that stopped is delivered by this timer.
                let at = slot.last_release.map(|l| l + period + period / 2).unwrap_or(now);
                if at <= now {
                    slot.last_release = Some(now);
                    slot.ready = Some(p);
                } else {
                    slot.pending = Some(p);
                    deadline = Some(deadline.map_or(at, |d: Instant| d.min(at)));
                }
            }
            if let Some(r) = slot.ready.take() {
                out.push(r);
            }
        }
        if !out.is_empty() {
            return Next::Send(out);
        }
        if let Some((code, reason)) = st.close.clone() {
            return Next::Close(code, reason);
        }
        Next::Wait(deadline)
    }

    pub(crate) async fn notified(&self) {
        self.notify.notified().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &'static str) -> Utf8Bytes {
        Utf8Bytes::from_static(s)
    }

    #[test]
    fn newest_wins_at_the_rate() {
        let o = Outbox::new(16);
        o.set_rate(10.0);
        let t0 = Instant::now();
        assert_eq!(o.offer_telemetry("d1", &f("a"), t0), Offer::Ready);
        assert_eq!(o.offer_telemetry("d1", &f("b"), t0 + Duration::from_millis(20)), Offer::Throttled);
        assert_eq!(o.offer_telemetry("d1", &f("c"), t0 + Duration::from_millis(40)), Offer::Coalesced);
        match o.next(t0 + Duration::from_millis(41)) {
            Next::Send(v) => assert_eq!(v, vec![f("a")]),
            _ => panic!("expected a"),
        }
        match o.next(t0 + Duration::from_millis(42)) {
            Next::Wait(Some(d)) => assert_eq!(d, t0 + Duration::from_millis(150)),
            _ => panic!("expected a deadline"),
        }
        match o.next(t0 + Duration::from_millis(150)) {
            Next::Send(v) => assert_eq!(v, vec![f("c")]),
            _ => panic!("expected c"),
        }
    }

    #[test]
    fn slow_reader_keeps_only_the_latest() {
        let o = Outbox::new(16);
        o.set_rate(60.0);
        let t0 = Instant::now();
        assert_eq!(o.offer_telemetry("d1", &f("a"), t0), Offer::Ready);
        assert_eq!(o.offer_telemetry("d1", &f("b"), t0 + Duration::from_millis(20)), Offer::ReplacedUnsent);
        match o.next(t0 + Duration::from_millis(21)) {
            Next::Send(v) => assert_eq!(v, vec![f("b")]),
            _ => panic!("expected b"),
        }
    }

    #[test]
    fn control_overflow_closes() {
        let o = Outbox::new(8);
        for _ in 0..8 {
            assert!(o.push_control(f("x")));
        }
        assert!(!o.push_control(f("x")));
        assert!(o.overflowed());
    }
}
