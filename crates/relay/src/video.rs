//! Video on its way up: the relay fans a driver's frames out to its LAN dashboards (the hub
//! does that) and forwards them to the cloud on the uplink's live link, never into the spool.
//! One bounded queue per stream ([`ViewerQueue`], as for a viewer): when the link to the cloud
//! is short, the queued frames are thrown away and the stream goes on from the next keyframe,
//! so video never builds up behind the uplink's telemetry batches.

use std::sync::Mutex;

use pitbox_video::fanout::{SharedFrame, StreamQueues, ViewerQueue};
use tokio::sync::Notify;

/// Video bytes that may wait for the uplink per stream (≈ 0.7 s at 3 Mbit/s).
const QUEUE_BYTES: usize = 256 * 1024;

/// The frames waiting for the uplink.
pub(crate) struct VideoUp {
    /// Only with a cloud: an offline relay forwards nothing.
    enabled: bool,
    queues: Mutex<StreamQueues>,
    pub(crate) wake: Notify,
}

impl VideoUp {
    pub(crate) fn new(enabled: bool) -> VideoUp {
        VideoUp { enabled, queues: Mutex::new(StreamQueues::default()), wake: Notify::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StreamQueues> {
        match self.queues.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// A frame of `stream` from a local driver.
    pub(crate) fn offer(&self, stream: &str, frame: SharedFrame) {
        if !self.enabled {
            return;
        }
        self.lock().get_or_insert(stream, QUEUE_BYTES).offer(frame);
        self.wake.notify_one();
    }

    /// Everything queued, in order per stream.
    pub(crate) fn drain(&self) -> Vec<SharedFrame> {
        let mut out = Vec::new();
        for (_, q) in self.lock().iter_mut() {
            while let Some(f) = q.pop() {
                out.push(f);
            }
        }
        out
    }

    /// A new link to the cloud: each stream starts again at a keyframe (the cloud may be
    /// another node, or has lost what was in flight). Returns the streams, so the relay can ask
    /// their drivers for a keyframe now rather than at the next periodic one.
    pub(crate) fn restart(&self) -> Vec<String> {
        let mut q = self.lock();
        q.iter_mut()
            .map(|(s, v)| {
                *v = ViewerQueue::new(QUEUE_BYTES);
                s.to_string()
            })
            .collect()
    }

    /// A driver's stream ended on this relay.
    pub(crate) fn forget(&self, stream: &str) {
        self.lock().remove(stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(seq: u64, key: bool, len: usize) -> SharedFrame {
        SharedFrame::new(seq, key, vec![0u8; len])
    }

    #[test]
    fn forwards_from_a_keyframe_and_skips_when_the_link_is_short() {
        let up = VideoUp::new(true);
        up.offer("d1", f(1, false, 10)); // no keyframe yet: nothing the cloud could decode
        up.offer("d1", f(2, true, 100_000));
        up.offer("d1", f(3, false, 100_000));
        assert_eq!(up.drain().iter().map(|f| f.sequence).collect::<Vec<_>>(), vec![2, 3]);
        // The link stalls: more than the bound waits, so the backlog goes and the next keyframe restarts it.
        up.offer("d1", f(4, false, 200_000));
        up.offer("d1", f(5, false, 100_000));
        up.offer("d1", f(6, false, 1000));
        up.offer("d1", f(7, true, 1000));
        assert_eq!(up.drain().iter().map(|f| f.sequence).collect::<Vec<_>>(), vec![7]);
        assert_eq!(up.restart(), vec!["d1".to_string()]);
        up.offer("d1", f(8, false, 10));
        assert!(up.drain().is_empty(), "after a new link, only from a keyframe");
        let off = VideoUp::new(false);
        off.offer("d1", f(1, true, 10));
        assert!(off.drain().is_empty(), "an offline relay forwards nothing");
    }
}
