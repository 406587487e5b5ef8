//! Live video through a hub (relay or cloud node): the binary frame messages of `pitbox-video`
//! from a publisher (a driver's agent, or a relay's uplink at the cloud) to the team's
//! subscribers of the `video` channel.
//!
//! Per (team, stream) the hub keeps the current group of pictures ([`GopCache`]) so a viewer who
//! subscribes late starts at once, and passes keyframe requests to the publisher at most once a
//! second ([`KeyframeLimiter`]). Each viewer has one bounded queue per stream in its outbox
//! ([`pitbox_video::fanout::ViewerQueue`]): a slow viewer skips to the next keyframe instead of
//! falling behind. The outbox's writer sends video only when no text frame is waiting, so video
//! never holds back telemetry.
//!
//! Streams are keyed by the publisher's team: a stream can only ever reach its own team's
//! viewers. A stream ends when its publisher's connection ends. Video is live only: nothing is
//! stored, nothing goes to the spool or the bus (a cloud node serves the streams of the
//! connections it holds; docs/video.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use pitbox_video::fanout::{FanoutConfig, GopCache, KeyframeLimiter, SharedFrame};

use crate::outbox::Outbox;
use crate::registry::{Registry, Sub, VIDEO_BIT};

struct Publisher {
    conn: u64,
    outbox: Arc<Outbox>,
}

struct Stream {
    cache: GopCache,
    limiter: KeyframeLimiter,
    /// Where keyframe requests go: the connection the frames come from, or (at a relay whose
    /// stream comes from a driver and goes on to the cloud) nobody besides the local driver.
    publisher: Option<Publisher>,
    frames: u64,
}

/// Why a keyframe request was not passed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyframeRefusal {
    /// No such stream in the team.
    NoStream,
}

/// Every live stream of this hub.
pub(crate) struct Streams {
    config: FanoutConfig,
    streams: Mutex<HashMap<(String, String), Stream>>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Default for Streams {
    fn default() -> Self {
        Streams { config: FanoutConfig::default(), streams: Mutex::new(HashMap::new()) }
    }
}

impl Streams {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Stream>> {
        match self.streams.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn new_stream(&self) -> Stream {
        Stream {
            cache: GopCache::new(self.config.gop_max_bytes),
            limiter: KeyframeLimiter::new(self.config.keyframe_request_interval_ms),
            publisher: None,
            frames: 0,
        }
    }

    /// A frame from connection `conn` (already authorised): cached and offered to every viewer
    /// of the team that follows `stream`, except the publisher itself. Returns how many
    /// viewers were offered it.
    pub(crate) fn publish(
        &self,
        registry: &Registry,
        team: &str,
        stream: &str,
        frame: SharedFrame,
        conn: u64,
        outbox: &Arc<Outbox>,
    ) -> usize {
        {
            let mut g = self.lock();
            let key = (team.to_string(), stream.to_string());
            let s = match g.get_mut(&key) {
                Some(s) => s,
                None => g.entry(key).or_insert_with(|| self.new_stream()),
            };
            if s.publisher.as_ref().is_none_or(|p| p.conn != conn) {
                s.publisher = Some(Publisher { conn, outbox: outbox.clone() });
            }
            s.cache.push(frame.clone());
            s.frames += 1;
        }
        let Some(subs) = registry.snapshot(team) else { return 0 };
        let mut offered = 0;
        for sub in subs.iter() {
            if sub.conn == conn || !sub.wants(Some(stream), VIDEO_BIT) {
                continue;
            }
            sub.outbox.offer_video(stream, frame.clone(), self.config.viewer_max_bytes);
            offered += 1;
        }
        offered
    }

    /// A new or changed subscription that includes video: each stream of its team it follows
    /// starts from the cache; streams with no complete chain cached ask their publisher for a
    /// keyframe (rate-limited).
    pub(crate) fn join(&self, sub: &Sub) {
        let now = now_ms();
        let mut g = self.lock();
        for ((team, stream), s) in g.iter_mut() {
            if *team != sub.team
                || !sub.wants(Some(stream), VIDEO_BIT)
                || s.publisher.as_ref().is_some_and(|p| p.conn == sub.conn)
            {
                continue;
            }
            let join = s.cache.join();
            let live = join.live;
            sub.outbox.join_video(stream, join, self.config.viewer_max_bytes);
            if !live && s.limiter.allow(now) {
                request(s, stream);
            }
        }
    }

    /// A viewer (or the next hop up) asks for a keyframe of `stream`.
    pub(crate) fn keyframe_request(&self, team: &str, stream: &str) -> Result<bool, KeyframeRefusal> {
        let now = now_ms();
        let mut g = self.lock();
        let Some(s) = g.get_mut(&(team.to_string(), stream.to_string())) else {
            return Err(KeyframeRefusal::NoStream);
        };
        if !s.limiter.allow(now) {
            return Ok(false);
        }
        Ok(request(s, stream))
    }

    /// A connection ended: the streams it published end with it.
    pub(crate) fn connection_closed(&self, conn: u64) {
        self.lock().retain(|_, s| s.publisher.as_ref().is_none_or(|p| p.conn != conn));
    }

    /// Streams of `team` and the frames each has brought so far.
    pub(crate) fn streams(&self, team: &str) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> =
            self.lock().iter().filter(|((t, _), _)| t == team).map(|((_, id), s)| (id.clone(), s.frames)).collect();
        v.sort();
        v
    }
}

fn request(s: &Stream, stream: &str) -> bool {
    let Some(p) = &s.publisher else { return false };
    match pitbox_video::wire::encode_keyframe_request(stream) {
        Ok(bytes) => p.outbox.push_binary(Bytes::from(bytes)),
        Err(_) => false,
    }
}
