//! The relay's and the cloud's side: one incoming stream, many viewers.
//!
//! - [`GopCache`] keeps the current group of pictures (the last keyframe, with its SPS and PPS,
//!   and the P-frames since, up to a byte bound), so a viewer who joins late gets a picture at
//!   once: the whole chain when it is complete (the viewer is live straight away), else the
//!   keyframe alone as a still, and then waits for the next keyframe.
//! - [`ViewerQueue`] is one viewer's bounded queue. A slow viewer never builds up a backlog: when
//!   a frame does not fit, the stale frames queued are thrown away and the viewer skips to the
//!   next keyframe. A slow viewer does not ask the driver for keyframes (that would cost every
//!   viewer bitrate); keyframes come every 2 s anyway.
//! - [`KeyframeLimiter`] bounds the keyframe requests passed upstream (new viewers with no usable
//!   cache, decoder errors in a browser), since each keyframe is several P-frames' worth of bytes.
//! - [`StreamFanout`] puts the three together for one stream.
//!
//! Pure data structures: frames are shared (`Arc`) wire messages, nothing is copied per viewer.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;

/// One frame as the fan-out handles it: the encoded wire message, shared by every queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedFrame {
    pub sequence: u64,
    pub keyframe: bool,
    /// The whole message ([`crate::wire::encode`]), forwarded unchanged.
    pub message: Arc<[u8]>,
}

impl SharedFrame {
    pub fn new(sequence: u64, keyframe: bool, message: impl Into<Arc<[u8]>>) -> Self {
        Self { sequence, keyframe, message: message.into() }
    }

    pub fn len(&self) -> usize {
        self.message.len()
    }

    pub fn is_empty(&self) -> bool {
        self.message.is_empty()
    }
}

/// What a joining viewer gets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JoinFrames {
    /// Keyframe first, then (when `live`) every P-frame since.
    pub frames: Vec<SharedFrame>,
    /// The chain is complete: the viewer can take the next P-frame. Otherwise it waits for the
    /// next keyframe after these.
    pub live: bool,
}

/// The current group of pictures of a stream.
#[derive(Debug, Clone)]
pub struct GopCache {
    frames: Vec<SharedFrame>,
    bytes: usize,
    max_bytes: usize,
    /// False once the chain since the keyframe broke (a gap, or over the bound).
    complete: bool,
}

impl GopCache {
    /// `max_bytes` bounds the P-frames kept after the keyframe (the keyframe is always kept).
    pub fn new(max_bytes: usize) -> Self {
        Self { frames: Vec::new(), bytes: 0, max_bytes, complete: false }
    }

    pub fn push(&mut self, frame: SharedFrame) {
        if frame.keyframe {
            self.frames.clear();
            self.bytes = frame.len();
            self.frames.push(frame);
            self.complete = true;
            return;
        }
        if !self.complete {
            return;
        }
        let follows = self.frames.last().is_some_and(|last| last.sequence.checked_add(1) == Some(frame.sequence));
        if !follows || self.bytes.saturating_add(frame.len()) > self.max_bytes {
            // Keep the keyframe as a still for joiners; drop the broken chain.
            self.frames.truncate(1);
            self.bytes = self.frames.first().map_or(0, SharedFrame::len);
            self.complete = false;
            return;
        }
        self.bytes += frame.len();
        self.frames.push(frame);
    }

    /// Whether a viewer joining now would be live (a keyframe and an unbroken chain since).
    pub fn is_live(&self) -> bool {
        self.complete && !self.frames.is_empty()
    }

    /// What a viewer joining now gets. Empty before the first keyframe.
    pub fn join(&self) -> JoinFrames {
        JoinFrames { frames: self.frames.clone(), live: self.is_live() }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// What happened to a frame offered to a viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    Queued,
    /// The viewer waits for a keyframe and this is not one.
    Skipped,
    /// The viewer was too slow: its backlog was thrown away; it waits for the next keyframe.
    Reset,
    /// As `Reset`, but this frame is a keyframe and starts the viewer afresh.
    ResetToKeyframe,
}

/// One bounded [`ViewerQueue`] per stream, in the order the streams came: a viewer's queues at
/// a hub, or the relay's queues towards the cloud. Popped in turn, so one busy stream does not
/// starve the others.
#[derive(Debug, Clone, Default)]
pub struct StreamQueues {
    queues: Vec<(Box<str>, ViewerQueue)>,
    next: usize,
}

impl StreamQueues {
    /// The queue of `stream`, made (bounded to `max_bytes`) on its first frame.
    pub fn get_or_insert(&mut self, stream: &str, max_bytes: usize) -> &mut ViewerQueue {
        let i = match self.queues.iter().position(|(s, _)| &**s == stream) {
            Some(i) => i,
            None => {
                self.queues.push((stream.into(), ViewerQueue::new(max_bytes)));
                self.queues.len() - 1
            }
        };
        &mut self.queues[i].1
    }

    /// The queue of `stream`, if it has one.
    pub fn get(&self, stream: &str) -> Option<&ViewerQueue> {
        self.queues.iter().find(|(s, _)| &**s == stream).map(|(_, q)| q)
    }

    /// Every stream with its queue, in the order they came.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut ViewerQueue)> {
        self.queues.iter_mut().map(|(s, q)| (&**s, q))
    }

    /// Drops the queue of `stream`.
    pub fn remove(&mut self, stream: &str) {
        self.queues.retain(|(s, _)| &**s != stream);
    }

    /// Drops every queue.
    pub fn clear(&mut self) {
        self.queues.clear();
    }

    /// The next frame of the next stream in turn that has one.
    pub fn pop_in_turn(&mut self) -> Option<SharedFrame> {
        let n = self.queues.len();
        for k in 0..n {
            let i = (self.next + k) % n;
            if let Some(f) = self.queues[i].1.pop() {
                self.next = (i + 1) % n;
                return Some(f);
            }
        }
        None
    }
}

/// One viewer's queue.
#[derive(Debug, Clone)]
pub struct ViewerQueue {
    queue: VecDeque<SharedFrame>,
    bytes: usize,
    max_bytes: usize,
    waiting_for_keyframe: bool,
    skipped: u64,
}

impl ViewerQueue {
    /// `max_bytes`: how much may wait for this viewer (≈ 0.5 s of video is plenty; more is
    /// latency). A single frame larger than this is still queued when the queue is empty.
    pub fn new(max_bytes: usize) -> Self {
        Self { queue: VecDeque::new(), bytes: 0, max_bytes, waiting_for_keyframe: true, skipped: 0 }
    }

    /// Starts the viewer from what the cache has.
    pub fn join(&mut self, join: JoinFrames) {
        self.clear();
        self.waiting_for_keyframe = !join.live;
        for f in join.frames {
            self.bytes += f.len();
            self.queue.push_back(f);
        }
    }

    fn clear(&mut self) {
        self.queue.clear();
        self.bytes = 0;
    }

    /// Offers a new frame of the stream.
    pub fn offer(&mut self, frame: SharedFrame) -> Offer {
        let fits = self.queue.is_empty() || self.bytes.saturating_add(frame.len()) <= self.max_bytes;
        if !fits {
            // Frames still queued are already late; the next keyframe is the way back.
            self.skipped += self.queue.len() as u64;
            self.clear();
            self.waiting_for_keyframe = true;
            if !frame.keyframe {
                self.skipped += 1;
                return Offer::Reset;
            }
            self.push(frame);
            return Offer::ResetToKeyframe;
        }
        if self.waiting_for_keyframe && !frame.keyframe {
            self.skipped += 1;
            return Offer::Skipped;
        }
        self.push(frame);
        Offer::Queued
    }

    fn push(&mut self, frame: SharedFrame) {
        if frame.keyframe {
            self.waiting_for_keyframe = false;
        }
        self.bytes += frame.len();
        self.queue.push_back(frame);
    }

    /// The next frame to write to this viewer's socket.
    pub fn pop(&mut self) -> Option<SharedFrame> {
        let f = self.queue.pop_front()?;
        self.bytes = self.bytes.saturating_sub(f.len());
        Some(f)
    }

    pub fn queued(&self) -> (usize, usize) {
        (self.queue.len(), self.bytes)
    }

    pub fn waiting_for_keyframe(&self) -> bool {
        self.waiting_for_keyframe
    }

    /// Frames this viewer never got.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

/// Passes at most one keyframe request upstream per interval.
#[derive(Debug, Clone)]
pub struct KeyframeLimiter {
    min_interval_ms: u64,
    last_ms: Option<u64>,
}

impl KeyframeLimiter {
    pub fn new(min_interval_ms: u64) -> Self {
        Self { min_interval_ms, last_ms: None }
    }

    /// True when a request at `now_ms` should go upstream.
    pub fn allow(&mut self, now_ms: u64) -> bool {
        let ok = self.last_ms.is_none_or(|t| now_ms.saturating_sub(t) >= self.min_interval_ms);
        if ok {
            self.last_ms = Some(now_ms);
        }
        ok
    }
}

/// Sizes for [`StreamFanout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FanoutConfig {
    /// Bound of the cached group of pictures (2 s at 3 Mbit/s is ≈ 750 KB).
    pub gop_max_bytes: usize,
    pub viewer_max_bytes: usize,
    pub keyframe_request_interval_ms: u64,
}

impl Default for FanoutConfig {
    fn default() -> Self {
        Self { gop_max_bytes: 2 * 1024 * 1024, viewer_max_bytes: 256 * 1024, keyframe_request_interval_ms: 1000 }
    }
}

/// One stream and its viewers (keyed by whatever identifies a connection).
#[derive(Debug, Clone)]
pub struct StreamFanout<K> {
    config: FanoutConfig,
    cache: GopCache,
    viewers: HashMap<K, ViewerQueue>,
    limiter: KeyframeLimiter,
}

impl<K: Eq + Hash + Clone> StreamFanout<K> {
    pub fn new(config: FanoutConfig) -> Self {
        Self {
            config,
            cache: GopCache::new(config.gop_max_bytes),
            viewers: HashMap::new(),
            limiter: KeyframeLimiter::new(config.keyframe_request_interval_ms),
        }
    }

    /// Adds a viewer, primed from the cache. True: send a keyframe request upstream (the cache
    /// had no live chain for it).
    pub fn add_viewer(&mut self, viewer: K, now_ms: u64) -> bool {
        let mut q = ViewerQueue::new(self.config.viewer_max_bytes);
        let join = self.cache.join();
        let live = join.live;
        q.join(join);
        self.viewers.insert(viewer, q);
        !live && self.limiter.allow(now_ms)
    }

    pub fn remove_viewer(&mut self, viewer: &K) {
        self.viewers.remove(viewer);
    }

    /// A frame from upstream: cached and offered to every viewer.
    pub fn publish(&mut self, frame: SharedFrame) {
        self.cache.push(frame.clone());
        for q in self.viewers.values_mut() {
            q.offer(frame.clone());
        }
    }

    /// A viewer asks for a keyframe (its decoder failed). True: pass it upstream.
    pub fn viewer_wants_keyframe(&mut self, now_ms: u64) -> bool {
        self.limiter.allow(now_ms)
    }

    /// The next frame for one viewer.
    pub fn pop(&mut self, viewer: &K) -> Option<SharedFrame> {
        self.viewers.get_mut(viewer)?.pop()
    }

    pub fn viewer(&self, viewer: &K) -> Option<&ViewerQueue> {
        self.viewers.get(viewer)
    }

    pub fn viewer_count(&self) -> usize {
        self.viewers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(seq: u64, key: bool, len: usize) -> SharedFrame {
        SharedFrame::new(seq, key, vec![0u8; len])
    }

    #[test]
    fn stream_queues_pop_each_stream_in_turn_and_forget_one() {
        let mut q = StreamQueues::default();
        for n in 0..3 {
            q.get_or_insert("a", 1 << 20).offer(f(10 + n, n == 0, 10));
        }
        q.get_or_insert("b", 1 << 20).offer(f(20, true, 10));
        let order: Vec<u64> = std::iter::from_fn(|| q.pop_in_turn()).map(|x| x.sequence).collect();
        assert_eq!(order, [10, 20, 11, 12], "a busy stream does not starve the other");
        assert!(q.get("b").is_some());
        q.remove("b");
        assert!(q.get("b").is_none() && q.get("a").is_some());
        q.clear();
        assert!(q.get("a").is_none() && q.pop_in_turn().is_none());
    }

    fn seqs(frames: &[SharedFrame]) -> Vec<u64> {
        frames.iter().map(|f| f.sequence).collect()
    }

    #[test]
    fn cache_keeps_the_chain_since_the_keyframe() {
        let mut c = GopCache::new(10_000);
        assert_eq!(c.join(), JoinFrames::default());
        c.push(f(0, false, 100)); // before any keyframe: useless
        assert!(c.join().frames.is_empty());
        c.push(f(1, true, 1000));
        c.push(f(2, false, 100));
        c.push(f(3, false, 100));
        let j = c.join();
        assert_eq!(seqs(&j.frames), vec![1, 2, 3]);
        assert!(j.live);
        c.push(f(4, true, 1000));
        assert_eq!(seqs(&c.join().frames), vec![4]);
        assert_eq!(c.bytes(), 1000);
    }

    #[test]
    fn cache_falls_back_to_a_still_on_a_gap_or_overflow() {
        let mut c = GopCache::new(1500);
        c.push(f(1, true, 1000));
        c.push(f(3, false, 100)); // 2 is missing
        let j = c.join();
        assert_eq!(seqs(&j.frames), vec![1]);
        assert!(!j.live);
        c.push(f(4, false, 100));
        assert_eq!(seqs(&c.join().frames), vec![1], "stays broken until a keyframe");
        c.push(f(5, true, 1000));
        c.push(f(6, false, 400));
        c.push(f(7, false, 400)); // 1800 > 1500
        let j = c.join();
        assert_eq!(seqs(&j.frames), vec![5]);
        assert!(!j.live);
    }

    #[test]
    fn viewer_waits_for_a_keyframe_then_queues() {
        let mut q = ViewerQueue::new(10_000);
        assert_eq!(q.offer(f(1, false, 10)), Offer::Skipped);
        assert_eq!(q.offer(f(2, true, 10)), Offer::Queued);
        assert_eq!(q.offer(f(3, false, 10)), Offer::Queued);
        assert_eq!(q.pop().map(|f| f.sequence), Some(2));
        assert_eq!(q.queued(), (1, 10));
        assert_eq!(q.skipped(), 1);
    }

    #[test]
    fn slow_viewer_skips_to_the_next_keyframe_instead_of_queueing() {
        let mut q = ViewerQueue::new(1000);
        q.offer(f(1, true, 600));
        q.offer(f(2, false, 300));
        // The viewer has not read anything; the next frame does not fit.
        assert_eq!(q.offer(f(3, false, 300)), Offer::Reset);
        assert_eq!(q.queued(), (0, 0));
        assert!(q.waiting_for_keyframe());
        assert_eq!(q.offer(f(4, false, 300)), Offer::Skipped);
        assert_eq!(q.offer(f(5, true, 600)), Offer::Queued);
        assert_eq!(q.offer(f(6, false, 300)), Offer::Queued);
        // Full again and the new frame is a keyframe: a fresh start from it.
        assert_eq!(q.offer(f(7, true, 600)), Offer::ResetToKeyframe);
        assert_eq!(q.pop().map(|f| f.sequence), Some(7));
        assert_eq!(q.skipped(), 6);
        // An oversized keyframe still goes to an empty queue.
        assert_eq!(q.offer(f(8, true, 5000)), Offer::Queued);
    }

    #[test]
    fn fanout_primes_late_viewers_and_limits_requests() {
        let mut fan: StreamFanout<u32> = StreamFanout::new(FanoutConfig::default());
        // No keyframe yet: the first viewer asks upstream, a second one within 1 s does not.
        assert!(fan.add_viewer(1, 0));
        assert!(!fan.add_viewer(2, 500));
        fan.publish(f(10, true, 1000));
        fan.publish(f(11, false, 100));
        // A late viewer gets the whole chain and needs no keyframe.
        assert!(!fan.add_viewer(3, 600));
        let mut got = vec![];
        while let Some(fr) = fan.pop(&3) {
            got.push(fr.sequence);
        }
        assert_eq!(got, vec![10, 11]);
        fan.publish(f(12, false, 100));
        assert_eq!(fan.pop(&3).map(|f| f.sequence), Some(12));
        assert_eq!(fan.pop(&1).map(|f| f.sequence), Some(10));
        // Shared, not copied.
        assert!(Arc::ptr_eq(&fan.pop(&2).unwrap().message, &fan.cache.join().frames[0].message));
        assert!(fan.viewer_wants_keyframe(1600));
        assert!(!fan.viewer_wants_keyframe(2000));
        fan.remove_viewer(&3);
        assert_eq!(fan.viewer_count(), 2);
        assert!(fan.viewer(&3).is_none());
    }
}
