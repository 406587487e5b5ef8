//! The driver's side of the uplink: which encoded frames go out, and at what bitrate.
//!
//! Telemetry always wins. Video only takes room the link has: a frame is sent when no telemetry
//! is waiting and the video bytes already queued on the socket plus this frame stay under a
//! budget (an empty link always takes one frame, so a keyframe larger than the budget still goes
//! out). Otherwise the frame is dropped. A dropped frame breaks the chain of P-frames, so after a
//! drop every frame is skipped until a keyframe; one is requested as soon as the link has room
//! again (asking while it is still full would only make a large frame to drop). Repeated drops
//! lower the bitrate; a long clean spell raises it back step by step.
//!
//! Pure logic on a caller-given clock (ms), so every rule is unit-tested.

use std::collections::VecDeque;

/// Tuning of [`VideoSender`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    /// Video bytes allowed on the socket's queue, this frame included. 128 KiB ≈ 350 ms at
    /// 3 Mbit/s: more would be latency on the pit wall, not smoothness.
    pub max_queued_bytes: usize,
    /// The configured bitrate; the sender never asks for more.
    pub max_bitrate_bps: u32,
    /// The floor; below it frames are dropped rather than made worse.
    pub min_bitrate_bps: u32,
    /// This many congestion drops within `drop_window_ms` lower the bitrate.
    pub drops_to_lower: usize,
    pub drop_window_ms: u64,
    /// New bitrate = old × `lower_percent` / 100.
    pub lower_percent: u32,
    /// No drop and no change for this long raises the bitrate by `raise_percent`.
    pub raise_after_ms: u64,
    pub raise_percent: u32,
}

impl Default for SenderConfig {
    fn default() -> Self {
        Self {
            max_queued_bytes: 128 * 1024,
            max_bitrate_bps: 3_000_000,
            min_bitrate_bps: 300_000,
            drops_to_lower: 3,
            drop_window_ms: 2_000,
            lower_percent: 70,
            raise_after_ms: 10_000,
            raise_percent: 115,
        }
    }
}

/// What the link looks like when a frame is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkState {
    /// Video bytes written to the socket and not yet sent.
    pub queued_bytes: usize,
    /// Telemetry (or any other non-video message) is waiting to be sent.
    pub telemetry_waiting: bool,
}

/// Why a frame was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Telemetry is waiting: it goes first.
    TelemetryFirst,
    /// The video budget on the socket is used up.
    LinkFull,
    /// An earlier frame was dropped; this P-frame cannot be decoded without it.
    WaitingForKeyframe,
}

/// Send or drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameAction {
    Send,
    Drop(DropReason),
}

/// The sender's answer for one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendDecision {
    pub action: FrameAction,
    /// Call `force_keyframe()` on the encoder.
    pub request_keyframe: bool,
    /// Call `set_bitrate()` on the encoder with this.
    pub set_bitrate: Option<u32>,
}

/// The uplink policy for one video stream.
#[derive(Debug, Clone)]
pub struct VideoSender {
    config: SenderConfig,
    bitrate: u32,
    /// Starts true: a stream starts with a keyframe.
    waiting_for_keyframe: bool,
    keyframe_requested: bool,
    recent_drops: VecDeque<u64>,
    /// Last drop or bitrate change: raising waits for this to be old.
    last_event_ms: Option<u64>,
    sent: u64,
    dropped: u64,
}

impl VideoSender {
    pub fn new(config: SenderConfig) -> Self {
        Self {
            bitrate: config.max_bitrate_bps,
            config,
            waiting_for_keyframe: true,
            keyframe_requested: false,
            recent_drops: VecDeque::new(),
            last_event_ms: None,
            sent: 0,
            dropped: 0,
        }
    }

    /// The bitrate the encoder should run at.
    pub fn bitrate(&self) -> u32 {
        self.bitrate
    }

    pub fn waiting_for_keyframe(&self) -> bool {
        self.waiting_for_keyframe
    }

    /// Frames sent and dropped so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.sent, self.dropped)
    }

    /// Decides for one encoded frame of `size` bytes (the whole message).
    pub fn on_frame(&mut self, now_ms: u64, keyframe: bool, size: usize, link: LinkState) -> SendDecision {
        let fits = !link.telemetry_waiting
            && (link.queued_bytes == 0 || link.queued_bytes.saturating_add(size) <= self.config.max_queued_bytes);
        let mut decision = SendDecision { action: FrameAction::Send, request_keyframe: false, set_bitrate: None };
        if !fits {
            decision.action = FrameAction::Drop(if link.telemetry_waiting {
                DropReason::TelemetryFirst
            } else {
                DropReason::LinkFull
            });
            self.waiting_for_keyframe = true;
            // Any keyframe asked for before this drop is not enough any more (or was this frame).
            self.keyframe_requested = false;
            decision.set_bitrate = self.note_drop(now_ms);
        } else if self.waiting_for_keyframe && !keyframe {
            decision.action = FrameAction::Drop(DropReason::WaitingForKeyframe);
            if !self.keyframe_requested {
                self.keyframe_requested = true;
                decision.request_keyframe = true;
            }
        } else {
            if keyframe {
                self.waiting_for_keyframe = false;
                self.keyframe_requested = false;
            }
            decision.set_bitrate = self.maybe_raise(now_ms);
        }
        match decision.action {
            FrameAction::Send => self.sent += 1,
            FrameAction::Drop(_) => self.dropped += 1,
        }
        decision
    }

    fn note_drop(&mut self, now_ms: u64) -> Option<u32> {
        self.last_event_ms = Some(now_ms);
        self.recent_drops.push_back(now_ms);
        while self.recent_drops.front().is_some_and(|&t| now_ms.saturating_sub(t) > self.config.drop_window_ms) {
            self.recent_drops.pop_front();
        }
        if self.recent_drops.len() < self.config.drops_to_lower {
            return None;
        }
        // Count afresh at the new rate.
        self.recent_drops.clear();
        let lower = (u64::from(self.bitrate) * u64::from(self.config.lower_percent) / 100) as u32;
        let lower = lower.max(self.config.min_bitrate_bps);
        (lower != self.bitrate).then(|| {
            self.bitrate = lower;
            lower
        })
    }

    fn maybe_raise(&mut self, now_ms: u64) -> Option<u32> {
        if self.bitrate >= self.config.max_bitrate_bps {
            return None;
        }
        let quiet_since = *self.last_event_ms.get_or_insert(now_ms);
        if now_ms.saturating_sub(quiet_since) < self.config.raise_after_ms {
            return None;
        }
        let higher = (u64::from(self.bitrate) * u64::from(self.config.raise_percent) / 100) as u32;
        self.bitrate = higher.clamp(self.bitrate.saturating_add(1), self.config.max_bitrate_bps);
        self.last_event_ms = Some(now_ms);
        Some(self.bitrate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: LinkState = LinkState { queued_bytes: 0, telemetry_waiting: false };
    const FULL: LinkState = LinkState { queued_bytes: 1 << 20, telemetry_waiting: false };
    const TELEMETRY: LinkState = LinkState { queued_bytes: 0, telemetry_waiting: true };

    fn send() -> SendDecision {
        SendDecision { action: FrameAction::Send, request_keyframe: false, set_bitrate: None }
    }

    #[test]
    fn starts_with_a_keyframe_and_sends_while_there_is_room() {
        let mut s = VideoSender::new(SenderConfig::default());
        // A P-frame first (joined mid-stream): skipped, keyframe asked for once.
        let d = s.on_frame(0, false, 1000, EMPTY);
        assert_eq!(d.action, FrameAction::Drop(DropReason::WaitingForKeyframe));
        assert!(d.request_keyframe);
        assert!(!s.on_frame(33, false, 1000, EMPTY).request_keyframe);
        assert_eq!(s.on_frame(66, true, 50_000, EMPTY), send());
        assert_eq!(
            s.on_frame(100, false, 10_000, LinkState { queued_bytes: 50_000, telemetry_waiting: false }),
            send()
        );
        assert_eq!(s.counts(), (2, 2));
    }

    #[test]
    fn an_empty_link_takes_a_keyframe_over_the_budget() {
        let mut s = VideoSender::new(SenderConfig::default());
        assert_eq!(s.on_frame(0, true, 1 << 20, EMPTY).action, FrameAction::Send);
        let d = s.on_frame(33, false, 1000, LinkState { queued_bytes: 1 << 20, telemetry_waiting: false });
        assert_eq!(d.action, FrameAction::Drop(DropReason::LinkFull));
    }

    #[test]
    fn telemetry_goes_first_and_a_drop_skips_to_the_next_keyframe() {
        let mut s = VideoSender::new(SenderConfig::default());
        assert_eq!(s.on_frame(0, true, 40_000, EMPTY).action, FrameAction::Send);
        let d = s.on_frame(33, false, 5000, TELEMETRY);
        assert_eq!(d.action, FrameAction::Drop(DropReason::TelemetryFirst));
        assert!(!d.request_keyframe, "no keyframe into a busy link");
        // Room again: the P-frame is useless, a keyframe is asked for once.
        let d = s.on_frame(66, false, 5000, EMPTY);
        assert_eq!(d.action, FrameAction::Drop(DropReason::WaitingForKeyframe));
        assert!(d.request_keyframe);
        let d = s.on_frame(100, false, 5000, EMPTY);
        assert_eq!(d.action, FrameAction::Drop(DropReason::WaitingForKeyframe));
        assert!(!d.request_keyframe);
        assert_eq!(s.on_frame(133, true, 40_000, EMPTY).action, FrameAction::Send);
        assert!(!s.waiting_for_keyframe());
        assert_eq!(s.on_frame(166, false, 5000, EMPTY).action, FrameAction::Send);
    }

    #[test]
    fn a_dropped_keyframe_is_asked_for_again() {
        let mut s = VideoSender::new(SenderConfig::default());
        s.on_frame(0, true, 40_000, EMPTY);
        s.on_frame(33, false, 5000, FULL);
        assert!(s.on_frame(66, false, 5000, EMPTY).request_keyframe);
        // The requested keyframe meets a full link: dropped, and asked for again once there is room.
        assert_eq!(s.on_frame(100, true, 40_000, FULL).action, FrameAction::Drop(DropReason::LinkFull));
        assert!(s.on_frame(133, false, 5000, EMPTY).request_keyframe);
    }

    #[test]
    fn repeated_drops_lower_the_bitrate_to_the_floor() {
        let cfg = SenderConfig::default();
        let mut s = VideoSender::new(cfg);
        s.on_frame(0, true, 40_000, EMPTY);
        let mut t = 0;
        let mut changes = vec![];
        for _ in 0..40 {
            t += 33;
            if let Some(b) = s.on_frame(t, false, 5000, FULL).set_bitrate {
                changes.push(b);
            }
        }
        assert_eq!(changes[0], 2_100_000);
        assert_eq!(changes[1], 1_470_000);
        assert_eq!(*changes.last().unwrap(), cfg.min_bitrate_bps);
        assert_eq!(s.bitrate(), cfg.min_bitrate_bps);
        assert!(changes.windows(2).all(|w| w[1] < w[0]));
    }

    #[test]
    fn drops_spread_out_do_not_lower_the_bitrate() {
        let mut s = VideoSender::new(SenderConfig::default());
        s.on_frame(0, true, 40_000, EMPTY);
        for i in 1..10u64 {
            // One drop every 3 s (window 2 s), with a keyframe in between.
            assert_eq!(s.on_frame(i * 3000, false, 5000, FULL).set_bitrate, None);
            s.on_frame(i * 3000 + 33, true, 40_000, EMPTY);
        }
        assert_eq!(s.bitrate(), 3_000_000);
    }

    #[test]
    fn a_clean_spell_raises_the_bitrate_back_in_steps() {
        let mut s = VideoSender::new(SenderConfig::default());
        s.on_frame(0, true, 40_000, EMPTY);
        for t in [10, 20, 30] {
            s.on_frame(t, false, 5000, FULL);
        }
        assert_eq!(s.bitrate(), 2_100_000);
        s.on_frame(40, true, 40_000, EMPTY);
        let mut raised = vec![];
        let mut t = 40;
        while t < 60_000 {
            t += 33;
            if let Some(b) = s.on_frame(t, false, 5000, EMPTY).set_bitrate {
                raised.push((t, b));
            }
        }
        assert_eq!(raised[0].1, 2_415_000);
        assert!(raised[0].0 >= 10_030, "not before 10 s of calm: {raised:?}");
        assert_eq!(raised.last().unwrap().1, 3_000_000);
        assert_eq!(raised.len(), 3, "{raised:?}");
    }
}
