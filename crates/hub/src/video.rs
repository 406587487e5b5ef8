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
//! stored, nothing goes to the spool.
//!
//! Between cloud nodes, the cloud hands every local frame to its bus ([`crate::Hooks::on_video`])
//! and the frames other nodes published back in ([`crate::Hub::deliver_video`]): such a stream
//! has a *remote* publisher, is cached here like a local one, asks for keyframes through the bus
//! ([`crate::Hooks::on_remote_keyframe_wanted`]) and ends when no frame came for
//! [`REMOTE_STREAM_TIMEOUT`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use pitbox_video::fanout::{FanoutConfig, GopCache, KeyframeLimiter, SharedFrame};

use crate::outbox::Outbox;
use crate::registry::{Registry, Sub, VIDEO_BIT};

/// A remote stream with no frame for this long has ended (its publisher left the other node).
pub const REMOTE_STREAM_TIMEOUT: Duration = Duration::from_secs(5);

enum Publisher {
    /// A connection of this hub.
    Local { conn: u64, outbox: Arc<Outbox> },
    /// A connection of another cloud node; its frames come through the bus.
    Remote,
}

impl Publisher {
    fn is_conn(&self, id: u64) -> bool {
        matches!(self, Publisher::Local { conn, .. } if *conn == id)
    }
}

struct Stream {
    cache: GopCache,
    limiter: KeyframeLimiter,
    /// Where keyframe requests go: the connection the frames come from, or (at a relay whose
    /// stream comes from a driver and goes on to the cloud) nobody besides the local driver.
    publisher: Option<Publisher>,
    frames: u64,
    last_frame: Instant,
}

impl Stream {
    /// A remote stream whose frames stopped.
    fn expired(&self, now: Instant) -> bool {
        matches!(self.publisher, Some(Publisher::Remote)) && now.duration_since(self.last_frame) > REMOTE_STREAM_TIMEOUT
    }
}

/// What became of a keyframe request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyframeAsk {
    /// Passed to the local publisher.
    Sent,
    /// The publisher is on another node: the caller passes it on through the bus.
    Remote,
    /// Not passed: too soon after the last one, or nobody to ask.
    NotPassed,
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
            last_frame: Instant::now(),
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
            let s = self.entry(&mut g, team, stream);
            if !s.publisher.as_ref().is_some_and(|p| p.is_conn(conn)) {
                s.publisher = Some(Publisher::Local { conn, outbox: outbox.clone() });
            }
            s.cache.push(frame.clone());
            s.frames += 1;
            s.last_frame = Instant::now();
        }
        self.offer(registry, team, stream, frame, Some(conn))
    }

    /// A frame another node published (authorised there): cached and offered to this node's
    /// viewers of the team. A stream a connection of this node publishes ignores it. The
    /// second value is true when this node's viewers cannot start on what is cached (the
    /// stream was joined mid-group) and a keyframe should be asked for through the bus
    /// (rate-limited here).
    pub(crate) fn publish_remote(
        &self,
        registry: &Registry,
        team: &str,
        stream: &str,
        frame: SharedFrame,
    ) -> (usize, bool) {
        let ask = {
            let mut g = self.lock();
            let now = Instant::now();
            g.retain(|_, s| !s.expired(now));
            let s = self.entry(&mut g, team, stream);
            match s.publisher {
                Some(Publisher::Local { .. }) => return (0, false),
                Some(Publisher::Remote) => {}
                None => s.publisher = Some(Publisher::Remote),
            }
            s.cache.push(frame.clone());
            s.frames += 1;
            s.last_frame = now;
            !s.cache.is_live() && s.limiter.allow(now_ms())
        };
        (self.offer(registry, team, stream, frame, None), ask)
    }

    fn entry<'g>(&self, g: &'g mut HashMap<(String, String), Stream>, team: &str, stream: &str) -> &'g mut Stream {
        let key = (team.to_string(), stream.to_string());
        g.entry(key).or_insert_with(|| self.new_stream())
    }

    fn offer(&self, registry: &Registry, team: &str, stream: &str, frame: SharedFrame, except: Option<u64>) -> usize {
        let Some(subs) = registry.snapshot(team) else { return 0 };
        let mut offered = 0;
        for sub in subs.iter() {
            if Some(sub.conn) == except || !sub.wants(Some(stream), VIDEO_BIT) {
                continue;
            }
            sub.outbox.offer_video(stream, frame.clone(), self.config.viewer_max_bytes);
            offered += 1;
        }
        offered
    }

    /// A new or changed subscription that includes video: each stream of its team it follows
    /// starts from the cache; streams with no complete chain cached ask their publisher for a
    /// keyframe (rate-limited). Returns the streams whose publisher is on another node and
    /// must be asked through the bus.
    pub(crate) fn join(&self, sub: &Sub) -> Vec<String> {
        let now = now_ms();
        let mut remote = Vec::new();
        let mut g = self.lock();
        let instant = Instant::now();
        g.retain(|_, s| !s.expired(instant));
        for ((team, stream), s) in g.iter_mut() {
            if *team != sub.team
                || !sub.wants(Some(stream), VIDEO_BIT)
                || s.publisher.as_ref().is_some_and(|p| p.is_conn(sub.conn))
            {
                continue;
            }
            let join = s.cache.join();
            let live = join.live;
            sub.outbox.join_video(stream, join, self.config.viewer_max_bytes);
            if !live && s.limiter.allow(now) && request(s, stream) == KeyframeAsk::Remote {
                remote.push(stream.clone());
            }
        }
        remote
    }

    /// A viewer (or the next hop up) asks for a keyframe of `stream`. With `local_only` (a
    /// request that came through the bus) a stream published on another node is not asked
    /// again, so requests never circle between nodes.
    pub(crate) fn keyframe_request(
        &self,
        team: &str,
        stream: &str,
        local_only: bool,
    ) -> Result<KeyframeAsk, KeyframeRefusal> {
        let now = now_ms();
        let mut g = self.lock();
        let Some(s) = g.get_mut(&(team.to_string(), stream.to_string())) else {
            return Err(KeyframeRefusal::NoStream);
        };
        if s.expired(Instant::now()) {
            return Err(KeyframeRefusal::NoStream);
        }
        if local_only && !matches!(s.publisher, Some(Publisher::Local { .. })) {
            return Ok(KeyframeAsk::NotPassed);
        }
        if !s.limiter.allow(now) {
            return Ok(KeyframeAsk::NotPassed);
        }
        Ok(request(s, stream))
    }

    /// A connection ended: the streams it published end with it.
    pub(crate) fn connection_closed(&self, conn: u64) {
        self.lock().retain(|_, s| !s.publisher.as_ref().is_some_and(|p| p.is_conn(conn)));
    }

    /// Streams of `team` (published here or on another node) and the frames each has brought
    /// to this node so far.
    pub(crate) fn streams(&self, team: &str) -> Vec<(String, u64)> {
        let now = Instant::now();
        let mut v: Vec<(String, u64)> = self
            .lock()
            .iter()
            .filter(|((t, _), s)| t == team && !s.expired(now))
            .map(|((_, id), s)| (id.clone(), s.frames))
            .collect();
        v.sort();
        v
    }
}

fn request(s: &Stream, stream: &str) -> KeyframeAsk {
    match &s.publisher {
        None => KeyframeAsk::NotPassed,
        Some(Publisher::Remote) => KeyframeAsk::Remote,
        Some(Publisher::Local { outbox, .. }) => {
            let sent = pitbox_video::wire::encode_keyframe_request(stream)
                .is_ok_and(|bytes| outbox.push_binary(Bytes::from(bytes)));
            if sent { KeyframeAsk::Sent } else { KeyframeAsk::NotPassed }
        }
    }
}
