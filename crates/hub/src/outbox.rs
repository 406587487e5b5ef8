//! One client's outbound side: a bounded queue of control messages and one slot per driver for
//! telemetry, released at the subscriber's rate (newest sample wins), drained by the
//! connection's writer task.
//!
//! Cost matters here: with 1,000 dashboards every sample is offered to ~100 outboxes. So a
//! driver's slot is found by a key computed once per sample (no string compare per slot), and
//! the writer is woken only when it would otherwise sleep past the moment something is due (a
//! throttled sample, which is most of them, usually wakes nobody).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::ws::Utf8Bytes;
use pitbox_video::fanout::{JoinFrames, SharedFrame, StreamQueues};
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

/// A driver's slot key: FNV-1a of the id. Equal keys are confirmed by the name, so a collision
/// costs a compare, never a wrong slot.
pub(crate) fn driver_key(driver: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in driver.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

struct Slot {
    key: u64,
    driver: Box<str>,
    ready: Option<Utf8Bytes>,
    pending: Option<Utf8Bytes>,
    /// Virtual time of the last release (keeps the average at the rate).
    last_release: Option<Instant>,
}

/// What the writer is doing, as far as offers need to know to decide whether to wake it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Writer {
    /// It will call `next` again without being woken (sending, or already notified).
    Busy,
    /// Parked until notified or until the deadline.
    Waiting(Option<Instant>),
}

pub(crate) struct State {
    control: VecDeque<Utf8Bytes>,
    slots: Vec<Slot>,
    /// Binary messages for this connection besides video frames (keyframe requests to a
    /// publisher); sent after the text frames, before video.
    binary: VecDeque<Bytes>,
    /// One bounded queue per video stream watched (a slow viewer skips to the next keyframe),
    /// popped in turn so one busy stream does not starve the others.
    video: StreamQueues,
    period: Duration,
    close: Option<(u16, String)>,
    overflowed: bool,
    writer: Writer,
}

impl State {
    /// Whether the writer has to be woken for something due at `at`; if so, it is counted as
    /// woken so later offers do not wake it again.
    fn must_wake(&mut self, at: Instant) -> bool {
        let wake = match self.writer {
            Writer::Busy => false,
            Writer::Waiting(None) => true,
            Writer::Waiting(Some(d)) => d > at,
        };
        if wake {
            self.writer = Writer::Busy;
        }
        wake
    }
}

/// What the writer should do next.
pub(crate) enum Next {
    /// Send these frames, then come back.
    Send(Vec<Utf8Bytes>),
    /// Send this binary message (a video frame or keyframe request), then come back: text goes
    /// first, so a video frame never waits in front of telemetry queued after it.
    Binary(Bytes),
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
                binary: VecDeque::new(),
                video: StreamQueues::default(),
                period: Duration::from_millis(50),
                close: None,
                overflowed: false,
                writer: Writer::Busy,
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
            st.writer = Writer::Busy;
            drop(st);
            self.notify.notify_one();
            return false;
        }
        st.control.push_back(frame);
        st.writer = Writer::Busy;
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
        st.writer = Writer::Busy;
        drop(st);
        self.notify.notify_one();
    }

    /// Offers a telemetry frame of `driver`.
    pub(crate) fn offer_telemetry(&self, driver: &str, frame: &Utf8Bytes, now: Instant) -> Offer {
        self.offer_telemetry_keyed(driver_key(driver), driver, frame, now)
    }

    /// [`Outbox::offer_telemetry`] with `key == driver_key(driver)` computed once by the caller
    /// for every subscriber.
    pub(crate) fn offer_telemetry_keyed(&self, key: u64, driver: &str, frame: &Utf8Bytes, now: Instant) -> Offer {
        let mut st = self.lock();
        if st.close.is_some() {
            return Offer::Closed;
        }
        let period = st.period;
        let idx = match st.slots.iter().position(|s| s.key == key && &*s.driver == driver) {
            Some(i) => i,
            None => {
                st.slots.push(Slot { key, driver: driver.into(), ready: None, pending: None, last_release: None });
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
            let wake = st.must_wake(now);
            drop(st);
            if wake {
                self.notify.notify_one();
            }
            if replaced { Offer::ReplacedUnsent } else { Offer::Ready }
        } else {
            let first = slot.pending.replace(frame.clone()).is_none();
            if first {
                // The writer must learn the new deadline unless it wakes before it anyway.
                let at = slot.last_release.map_or(now, |l| l + period + period / 2);
                let wake = st.must_wake(at);
                drop(st);
                if wake {
                    self.notify.notify_one();
                }
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

    /// Queues a binary message (a keyframe request for a publisher). Bounded like the control
    /// queue; false when not queued (requests are rate-limited upstream, so a full queue means a
    /// dead link, and dropping one is harmless: the next keyframe comes within 2 s anyway).
    pub(crate) fn push_binary(&self, message: Bytes) -> bool {
        let mut st = self.lock();
        if st.close.is_some() || st.binary.len() >= self.control_cap {
            return false;
        }
        st.binary.push_back(message);
        st.writer = Writer::Busy;
        drop(st);
        self.notify.notify_one();
        true
    }

    /// Offers a video frame of `stream` to this viewer.
    pub(crate) fn offer_video(
        &self,
        stream: &str,
        frame: SharedFrame,
        max_bytes: usize,
    ) -> pitbox_video::fanout::Offer {
        let mut st = self.lock();
        if st.close.is_some() {
            return pitbox_video::fanout::Offer::Skipped;
        }
        let offer = st.video.get_or_insert(stream, max_bytes).offer(frame);
        let queued =
            matches!(offer, pitbox_video::fanout::Offer::Queued | pitbox_video::fanout::Offer::ResetToKeyframe);
        let wake = queued && st.must_wake(Instant::now());
        drop(st);
        if wake {
            self.notify.notify_one();
        }
        offer
    }

    /// Starts this viewer on `stream` from the stream's cached group of pictures.
    pub(crate) fn join_video(&self, stream: &str, join: JoinFrames, max_bytes: usize) {
        let mut st = self.lock();
        if st.close.is_some() {
            return;
        }
        let any = !join.frames.is_empty();
        st.video.get_or_insert(stream, max_bytes).join(join);
        let wake = any && st.must_wake(Instant::now());
        drop(st);
        if wake {
            self.notify.notify_one();
        }
    }

    /// Stops every video stream (`None`) or one.
    pub(crate) fn forget_video(&self, stream: Option<&str>) {
        let mut st = self.lock();
        match stream {
            None => st.video.clear(),
            Some(s) => st.video.remove(s),
        }
    }

    /// Frames skipped for this viewer on `stream` (it was slow, or waited for a keyframe).
    #[cfg(test)]
    pub(crate) fn video_skipped(&self, stream: &str) -> Option<u64> {
        self.lock().video.get(stream).map(|q| q.skipped())
    }

    /// The next binary message, after every text frame: requests first, then one video frame
    /// per stream in turn.
    fn next_binary(st: &mut State) -> Option<Bytes> {
        if let Some(b) = st.binary.pop_front() {
            return Some(b);
        }
        // Shared with every other viewer's queue: no copy.
        st.video.pop_in_turn().map(|f| Bytes::from_owner(f.message))
    }

    /// What the writer does next.
    #[cfg(test)]
    pub(crate) fn next(&self, now: Instant) -> Next {
        self.next_into(now, Vec::new())
    }

    /// What the writer does next; `Send` returns `buf` (emptied by the caller and passed back,
    /// so the writer allocates no vector per write).
    pub(crate) fn next_into(&self, now: Instant, mut out: Vec<Utf8Bytes>) -> Next {
        out.clear();
        let mut st = self.lock();
        let period = st.period;
        out.extend(st.control.drain(..));
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
            st.writer = Writer::Busy;
            return Next::Send(out);
        }
        if st.close.is_none()
            && let Some(b) = Self::next_binary(&mut st)
        {
            st.writer = Writer::Busy;
            return Next::Binary(b);
        }
        if let Some((code, reason)) = st.close.clone() {
            st.writer = Writer::Busy;
            return Next::Close(code, reason);
        }
        st.writer = Writer::Waiting(deadline);
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

    /// Whether the writer was woken (a stored permit), consuming the wake-up.
    fn woken(o: &Outbox) -> bool {
        futures_util::FutureExt::now_or_never(o.notified()).is_some()
    }

    #[test]
    fn a_waiting_writer_is_woken_only_when_something_is_due_sooner() {
        let o = Outbox::new(16);
        o.set_rate(20.0);
        let t0 = Instant::now();
        assert!(matches!(o.next(t0), Next::Wait(None)));
        assert_eq!(o.offer_telemetry("d1", &f("a"), t0), Offer::Ready);
        assert!(woken(&o));
        // Until the writer asks again, more offers need no wake-up.
        assert_eq!(o.offer_telemetry("d2", &f("b"), t0), Offer::Ready);
        assert!(!woken(&o));
        assert!(matches!(o.next(t0), Next::Send(v) if v == vec![f("a"), f("b")]));
        assert!(matches!(o.next(t0), Next::Wait(None)));
        // The first throttled sample sets a deadline (75 ms): the writer must learn it.
        assert_eq!(o.offer_telemetry("d1", &f("c"), t0 + Duration::from_millis(10)), Offer::Throttled);
        assert!(woken(&o));
        assert!(
            matches!(o.next(t0 + Duration::from_millis(10)), Next::Wait(Some(d)) if d == t0 + Duration::from_millis(75))
        );
        // A later deadline does not wake it; a frame due now does.
        assert_eq!(o.offer_telemetry("d2", &f("d"), t0 + Duration::from_millis(11)), Offer::Throttled);
        assert!(!woken(&o));
        assert_eq!(o.offer_telemetry("d3", &f("e"), t0 + Duration::from_millis(12)), Offer::Ready);
        assert!(woken(&o));
    }

    #[test]
    fn video_goes_after_text_and_a_slow_viewer_skips_to_the_next_keyframe() {
        use pitbox_video::fanout::{Offer as VideoOffer, SharedFrame};
        let o = Outbox::new(16);
        let t0 = Instant::now();
        let frame = |seq: u64, key: bool, len: usize| SharedFrame::new(seq, key, vec![seq as u8; len]);
        assert_eq!(o.offer_video("d1", frame(1, false, 10), 1000), VideoOffer::Skipped, "no keyframe yet");
        assert_eq!(o.offer_video("d1", frame(2, true, 600), 1000), VideoOffer::Queued);
        assert!(o.push_control(f("telemetry")));
        // Text first, however long the video waited.
        assert!(matches!(o.next(t0), Next::Send(v) if v == vec![f("telemetry")]));
        assert!(matches!(o.next(t0), Next::Binary(b) if b[0] == 2 && b.len() == 600));
        assert!(matches!(o.next(t0), Next::Wait(None)));
        // The viewer stops reading: its backlog goes and it waits for the next keyframe.
        assert_eq!(o.offer_video("d1", frame(3, false, 600), 1000), VideoOffer::Queued);
        assert_eq!(o.offer_video("d1", frame(4, false, 600), 1000), VideoOffer::Reset);
        assert_eq!(o.offer_video("d1", frame(5, false, 10), 1000), VideoOffer::Skipped);
        // 1 (before any keyframe), 3 (thrown away with the backlog), 4 and 5 (waiting again).
        assert_eq!(o.video_skipped("d1"), Some(4));
        assert_eq!(o.offer_video("d1", frame(6, true, 600), 1000), VideoOffer::Queued);
        assert!(matches!(o.next(t0), Next::Binary(b) if b[0] == 6));
        // Keyframe requests (to a publisher) go before frames.
        assert_eq!(o.offer_video("d1", frame(7, false, 10), 1000), VideoOffer::Queued);
        assert!(o.push_binary(Bytes::from_static(b"req")));
        assert!(matches!(o.next(t0), Next::Binary(b) if &b[..] == b"req"));
        assert!(matches!(o.next(t0), Next::Binary(b) if b[0] == 7));
        o.forget_video(None);
        assert_eq!(o.video_skipped("d1"), None);
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
