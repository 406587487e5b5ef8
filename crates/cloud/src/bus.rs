//! Cross-node fan-out. Every node publishes what it accepts; every node's WebSocket clients see
//! what any node accepted. In-process by default (one node); Redis pub/sub with `--redis-url`,
//! or NATS core pub/sub with `--nats-url`.
//!
//! The bus carries typed messages (the coach and the ingest writer use it too), not the hub's
//! JSON `BusEvent`s, so it is the cloud's own rather than a `pitbox_hub::Bus`.
//!
//! Every node's `/ws` hub is fed from [`Bus::subscribe`] (see `crate::ws`), so the hub's
//! registry also keeps each driver's latest state from whichever node it came, for catch-up.
//!
//! Live video (binary frame messages of `pitbox-video`) goes apart from the JSON events: its own
//! channels (`pitbox:video:<team>`, `pitbox.video.<team>`), its own publishing connection and a
//! small queue that drops frames rather than wait, so a 3 Mbit/s stream never delays an event.
//! Other nodes' frames come out of [`Bus::subscribe_video`]; a single node has nothing to share.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use pitbox_model::Message;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

/// Redis channel prefix; the team id follows.
pub const REDIS_PREFIX: &str = "pitbox:team:";
/// NATS subject prefix; the team id (hex-encoded when it is not a plain token) follows.
pub const NATS_PREFIX: &str = "pitbox.team.";
/// Redis channel prefix of video messages; the team id follows.
pub const REDIS_VIDEO_PREFIX: &str = "pitbox:video:";
/// NATS subject prefix of video messages; the team as in [`NATS_PREFIX`] follows.
pub const NATS_VIDEO_PREFIX: &str = "pitbox.video.";
const LOCAL_CAPACITY: usize = 8_192;
const OUTBOX_CAPACITY: usize = 16_384;
/// Video messages waiting to go to the bus: about 2 s of 4 streams at 30 fps. Beyond it frames
/// are dropped (the receiving nodes' viewers then wait for the next keyframe).
const VIDEO_OUTBOX_CAPACITY: usize = 256;
/// Other nodes' video messages waiting for this node's hub; a lagging hub loses the oldest.
const VIDEO_LOCAL_CAPACITY: usize = 512;

/// One message for one team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusEvent {
    /// The team whose members receive it.
    pub team_id: String,
    /// The protocol message.
    pub message: Message,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    origin: String,
    #[serde(flatten)]
    event: BusEvent,
}

/// A video message (a frame or a keyframe request, `pitbox_video::wire`) of one team, from or to
/// another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoBusEvent {
    pub team_id: String,
    /// The wire message, unchanged.
    pub message: Arc<[u8]>,
}

/// Why the bus could not start.
#[derive(Debug, thiserror::Error)]
#[error("{kind} bus at {url}: {reason}")]
pub struct BusError {
    /// `redis` or `nats`.
    pub kind: &'static str,
    pub url: String,
    pub reason: String,
}

/// Counters of the bus (for `/metrics`).
#[derive(Debug, Default)]
pub struct BusStats {
    /// Events published by this node.
    pub published: AtomicU64,
    /// Events received from other nodes.
    pub received_remote: AtomicU64,
    /// Events dropped because the Redis outbox was full or Redis failed.
    pub dropped: AtomicU64,
    /// Video messages handed to other nodes.
    pub video_published: AtomicU64,
    /// Video messages received from other nodes.
    pub video_received_remote: AtomicU64,
    /// Video messages not handed to other nodes (the queue was full, or the bus failed).
    pub video_dropped: AtomicU64,
}

/// The fan-out bus.
#[derive(Clone)]
pub struct Bus {
    local: broadcast::Sender<Arc<BusEvent>>,
    outbox: Option<mpsc::Sender<Arc<BusEvent>>>,
    /// Other nodes' video messages (nothing on a single node).
    video_local: broadcast::Sender<Arc<VideoBusEvent>>,
    video_outbox: Option<mpsc::Sender<Arc<VideoBusEvent>>>,
    node_id: Arc<str>,
    stats: Arc<BusStats>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").field("node_id", &self.node_id).field("redis", &self.outbox.is_some()).finish()
    }
}

impl Bus {
    /// A bus that reaches this process only.
    pub fn in_process(node_id: &str) -> Bus {
        let (local, _) = broadcast::channel(LOCAL_CAPACITY);
        let (video_local, _) = broadcast::channel(VIDEO_LOCAL_CAPACITY);
        Bus { local, outbox: None, video_local, video_outbox: None, node_id: node_id.into(), stats: Arc::default() }
    }

    /// A bus over Redis pub/sub: connects (failing fast when Redis is unreachable), then keeps
    /// a subscriber and a publisher task running, reconnecting after failures.
    pub async fn redis(url: &str, node_id: &str) -> Result<Bus, BusError> {
        let err = |e: redis::RedisError| BusError { kind: "redis", url: redact(url), reason: e.to_string() };
        let client = redis::Client::open(url).map_err(err)?;
        let publisher = client.get_multiplexed_async_connection().await.map_err(err)?;
        // Video on its own connection: a keyframe in the pipe never holds up an event.
        let video_publisher = client.get_multiplexed_async_connection().await.map_err(err)?;
        let mut pubsub = client.get_async_pubsub().await.map_err(err)?;
        redis_subscribe(&mut pubsub).await.map_err(err)?;
        let mut bus = Bus::in_process(node_id);
        let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
        bus.outbox = Some(tx);
        let (vtx, vrx) = mpsc::channel(VIDEO_OUTBOX_CAPACITY);
        bus.video_outbox = Some(vtx);
        tokio::spawn(publish_loop(publisher, rx, bus.node_id.clone(), bus.stats.clone()));
        tokio::spawn(video_publish_loop(
            Publisher::Redis(video_publisher),
            vrx,
            bus.node_id.clone(),
            bus.stats.clone(),
        ));
        let receivers = Receivers { local: bus.local.clone(), video: bus.video_local.clone() };
        tokio::spawn(subscribe_loop(client, pubsub, receivers, bus.node_id.clone(), bus.stats.clone()));
        Ok(bus)
    }

    /// A bus over NATS core pub/sub: connects (failing fast when NATS is unreachable) and
    /// subscribes to every team's subject; the client reconnects and resubscribes by itself.
    pub async fn nats(url: &str, node_id: &str) -> Result<Bus, BusError> {
        let err = |e: &dyn std::fmt::Display| BusError { kind: "nats", url: redact(url), reason: e.to_string() };
        let options = async_nats::ConnectOptions::new()
            .name(format!("pitbox-cloud {node_id}"))
            .connection_timeout(Duration::from_secs(5));
        let client = tokio::time::timeout(Duration::from_secs(5), options.connect(url))
            .await
            .map_err(|_| err(&"no answer within 5 s"))?
            .map_err(|e| err(&e))?;
        tokio::time::timeout(Duration::from_secs(5), client.flush())
            .await
            .map_err(|_| err(&"no answer within 5 s"))?
            .map_err(|e| err(&e))?;
        let subscriber = client.subscribe(format!("{NATS_PREFIX}>")).await.map_err(|e| err(&e))?;
        let video_subscriber = client.subscribe(format!("{NATS_VIDEO_PREFIX}>")).await.map_err(|e| err(&e))?;
        // Video is published on a connection of its own: a keyframe in the client's buffer
        // never holds up an event.
        let video_client = tokio::time::timeout(
            Duration::from_secs(5),
            async_nats::ConnectOptions::new()
                .name(format!("pitbox-cloud {node_id} video"))
                .connection_timeout(Duration::from_secs(5))
                .connect(url),
        )
        .await
        .map_err(|_| err(&"no answer within 5 s"))?
        .map_err(|e| err(&e))?;
        let mut bus = Bus::in_process(node_id);
        let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
        bus.outbox = Some(tx);
        let (vtx, vrx) = mpsc::channel(VIDEO_OUTBOX_CAPACITY);
        bus.video_outbox = Some(vtx);
        tokio::spawn(nats_publish_loop(client, rx, bus.node_id.clone(), bus.stats.clone()));
        tokio::spawn(video_publish_loop(Publisher::Nats(video_client), vrx, bus.node_id.clone(), bus.stats.clone()));
        let (local, node, stats) = (bus.local.clone(), bus.node_id.clone(), bus.stats.clone());
        tokio::spawn(nats_subscribe_loop(subscriber, "events", move |p| receive(p, &local, &node, &stats)));
        let (local, node, stats) = (bus.video_local.clone(), bus.node_id.clone(), bus.stats.clone());
        tokio::spawn(nats_subscribe_loop(video_subscriber, "video", move |p| receive_video(p, &local, &node, &stats)));
        Ok(bus)
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Counters.
    pub fn stats(&self) -> &BusStats {
        &self.stats
    }

    /// Receives every event from now on (local and remote).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<BusEvent>> {
        self.local.subscribe()
    }

    /// Publishes to this node's subscribers and, with Redis, to every other node. Never blocks:
    /// when Redis cannot keep up, remote delivery of the event is dropped and counted.
    pub fn publish(&self, team_id: &str, message: Message) {
        let ev = Arc::new(BusEvent { team_id: team_id.to_string(), message });
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        if let Some(out) = &self.outbox
            && out.try_send(ev.clone()).is_err()
        {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
        // No receiver is fine: nobody is watching.
        let _ = self.local.send(ev);
    }

    /// Other nodes' video messages from now on (nothing ever arrives on a single node).
    pub fn subscribe_video(&self) -> broadcast::Receiver<Arc<VideoBusEvent>> {
        self.video_local.subscribe()
    }

    /// Hands a video message of `team_id` to every other node. Never blocks: when the bus
    /// cannot keep up the message is dropped and counted (video is live only). A no-op on a
    /// single node.
    pub fn publish_video(&self, team_id: &str, message: Arc<[u8]>) {
        let Some(out) = &self.video_outbox else { return };
        let ev = Arc::new(VideoBusEvent { team_id: team_id.to_string(), message });
        if out.try_send(ev).is_err() {
            self.stats.video_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `url` with any password replaced by `***`, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// An event as it travels between nodes, stamped with this node's id.
fn encode(node_id: &str, ev: &BusEvent) -> Option<Vec<u8>> {
    serde_json::to_vec(&Wire { origin: node_id.to_string(), event: ev.clone() }).ok()
}

/// Hands an event another node published to this node's subscribers; its own are skipped.
/// False when the payload is not an event.
fn receive(payload: &[u8], local: &broadcast::Sender<Arc<BusEvent>>, node_id: &str, stats: &BusStats) -> bool {
    let Ok(wire) = serde_json::from_slice::<Wire>(payload) else { return false };
    if *wire.origin != *node_id {
        stats.received_remote.fetch_add(1, Ordering::Relaxed);
        let _ = local.send(Arc::new(wire.event));
    }
    true
}

/// First bytes of a video message on the bus.
const VIDEO_MAGIC: &[u8; 4] = b"PBV1";

/// A video message as it travels between nodes: `PBV1`, the origin node's id (u8 length), the
/// team id (u16 length, big-endian), then the `pitbox_video::wire` message unchanged.
fn encode_video(node_id: &str, ev: &VideoBusEvent) -> Option<Vec<u8>> {
    let origin = u8::try_from(node_id.len()).ok()?;
    let team = u16::try_from(ev.team_id.len()).ok()?;
    let mut out = Vec::with_capacity(7 + node_id.len() + ev.team_id.len() + ev.message.len());
    out.extend_from_slice(VIDEO_MAGIC);
    out.push(origin);
    out.extend_from_slice(node_id.as_bytes());
    out.extend_from_slice(&team.to_be_bytes());
    out.extend_from_slice(ev.team_id.as_bytes());
    out.extend_from_slice(&ev.message);
    Some(out)
}

/// The origin and the event of a video message from the bus; `None` when it is not one.
fn decode_video(payload: &[u8]) -> Option<(&str, VideoBusEvent)> {
    let rest = payload.strip_prefix(VIDEO_MAGIC)?;
    let (&origin_len, rest) = rest.split_first()?;
    let (origin, rest) = rest.split_at_checked(usize::from(origin_len))?;
    let (team_len, rest) = rest.split_at_checked(2)?;
    let team_len = usize::from(u16::from_be_bytes([team_len[0], team_len[1]]));
    let (team, message) = rest.split_at_checked(team_len)?;
    if message.is_empty() {
        return None;
    }
    let ev = VideoBusEvent { team_id: std::str::from_utf8(team).ok()?.to_string(), message: message.into() };
    Some((std::str::from_utf8(origin).ok()?, ev))
}

/// Hands a video message another node published to this node's hub; its own are skipped.
/// False when the payload is not a video message.
fn receive_video(
    payload: &[u8],
    local: &broadcast::Sender<Arc<VideoBusEvent>>,
    node_id: &str,
    stats: &BusStats,
) -> bool {
    let Some((origin, ev)) = decode_video(payload) else { return false };
    if origin != node_id {
        stats.video_received_remote.fetch_add(1, Ordering::Relaxed);
        let _ = local.send(Arc::new(ev));
    }
    true
}

/// Where video messages are published.
enum Publisher {
    Redis(redis::aio::MultiplexedConnection),
    Nats(async_nats::Client),
}

async fn video_publish_loop(
    mut publisher: Publisher,
    mut rx: mpsc::Receiver<Arc<VideoBusEvent>>,
    node_id: Arc<str>,
    stats: Arc<BusStats>,
) {
    while let Some(ev) = rx.recv().await {
        let Some(payload) = encode_video(&node_id, &ev) else {
            stats.video_dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let sent = match &mut publisher {
            Publisher::Redis(conn) => {
                let channel = format!("{REDIS_VIDEO_PREFIX}{}", ev.team_id);
                let r: redis::RedisResult<i64> =
                    redis::cmd("PUBLISH").arg(channel).arg(payload).query_async(conn).await;
                r.map(|_| ()).map_err(|e| e.to_string())
            }
            Publisher::Nats(client) => {
                client.publish(subject(NATS_VIDEO_PREFIX, &ev.team_id), payload.into()).await.map_err(|e| e.to_string())
            }
        };
        match sent {
            Ok(()) => {
                stats.video_published.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                stats.video_dropped.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %e, "video publish failed");
            }
        }
    }
}

/// Subscribes a Redis connection to every team's events and video.
async fn redis_subscribe(pubsub: &mut redis::aio::PubSub) -> redis::RedisResult<()> {
    pubsub.psubscribe(format!("{REDIS_PREFIX}*")).await?;
    pubsub.psubscribe(format!("{REDIS_VIDEO_PREFIX}*")).await
}

/// Where a Redis subscriber hands what it hears.
struct Receivers {
    local: broadcast::Sender<Arc<BusEvent>>,
    video: broadcast::Sender<Arc<VideoBusEvent>>,
}

async fn publish_loop(
    mut conn: redis::aio::MultiplexedConnection,
    mut rx: mpsc::Receiver<Arc<BusEvent>>,
    node_id: Arc<str>,
    stats: Arc<BusStats>,
) {
    while let Some(ev) = rx.recv().await {
        let Some(payload) = encode(&node_id, &ev) else { continue };
        let channel = format!("{REDIS_PREFIX}{}", ev.team_id);
        let r: redis::RedisResult<i64> = redis::cmd("PUBLISH").arg(channel).arg(payload).query_async(&mut conn).await;
        if let Err(e) = r {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "redis publish failed");
        }
    }
}

/// The NATS subject of a team: the id itself when it is a plain token (letters, digits, `-`,
/// `_`), else `x` and its hex, so no id can add subject levels or wildcards. Every node hears
/// every subject and reads the team from the event itself; the subject is for operators.
pub(crate) fn nats_subject(team_id: &str) -> String {
    subject(NATS_PREFIX, team_id)
}

fn subject(prefix: &str, team_id: &str) -> String {
    let plain = !team_id.is_empty() && team_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        format!("{prefix}{team_id}")
    } else {
        let hex: String = team_id.bytes().map(|b| format!("{b:02x}")).collect();
        format!("{prefix}x{hex}")
    }
}

async fn nats_publish_loop(
    client: async_nats::Client,
    mut rx: mpsc::Receiver<Arc<BusEvent>>,
    node_id: Arc<str>,
    stats: Arc<BusStats>,
) {
    while let Some(ev) = rx.recv().await {
        let Some(payload) = encode(&node_id, &ev) else { continue };
        // Queued in the client's buffer, which it flushes and replays across reconnects.
        if let Err(e) = client.publish(nats_subject(&ev.team_id), payload.into()).await {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "nats publish failed");
        }
    }
}

/// Hands every message of a NATS subscription to `receive` (false: not decodable) until the
/// subscription ends; `what` names its messages in the log.
async fn nats_subscribe_loop(
    mut subscriber: async_nats::Subscriber,
    what: &'static str,
    receive: impl Fn(&[u8]) -> bool,
) {
    while let Some(msg) = subscriber.next().await {
        if !receive(&msg.payload) {
            tracing::warn!(subject = %msg.subject, "undecodable {what} on the bus ignored");
        }
    }
    tracing::warn!("nats subscription to {what} ended; this node no longer hears other nodes' {what}");
}

async fn subscribe_loop(
    client: redis::Client,
    mut pubsub: redis::aio::PubSub,
    to: Receivers,
    node_id: Arc<str>,
    stats: Arc<BusStats>,
) {
    loop {
        {
            let mut stream = pubsub.on_message();
            while let Some(msg) = stream.next().await {
                let channel = msg.get_channel_name();
                let ok = if channel.starts_with(REDIS_VIDEO_PREFIX) {
                    receive_video(msg.get_payload_bytes(), &to.video, &node_id, &stats)
                } else {
                    receive(msg.get_payload_bytes(), &to.local, &node_id, &stats)
                };
                if !ok {
                    tracing::warn!(channel, "undecodable bus event ignored");
                }
            }
        }
        tracing::warn!("redis subscription lost; reconnecting");
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            match client.get_async_pubsub().await {
                Ok(mut p) => {
                    if redis_subscribe(&mut p).await.is_ok() {
                        pubsub = p;
                        break;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "redis reconnect failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn nats_subjects_are_one_level_without_wildcards() {
        assert_eq!(super::nats_subject("team-a_1"), "pitbox.team.team-a_1");
        for odd in ["a.b", "*", ">", "", "é", "a b"] {
            let s = super::nats_subject(odd);
            let rest = s.strip_prefix(super::NATS_PREFIX).expect("prefix");
            assert!(rest.starts_with('x') && rest[1..].bytes().all(|b| b.is_ascii_hexdigit()), "{odd} → {s}");
        }
    }

    #[test]
    fn video_messages_round_trip_and_anything_else_is_not_one() {
        let ev = super::VideoBusEvent { team_id: "team-ä".into(), message: vec![0x56, 1, 2, 0, 1].into() };
        let bytes = super::encode_video("node-a", &ev).expect("encodes");
        let (origin, back) = super::decode_video(&bytes).expect("decodes");
        assert_eq!((origin, &back), ("node-a", &ev));
        for cut in 0..bytes.len() - ev.message.len() + 1 {
            assert!(super::decode_video(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        assert!(super::decode_video(br#"{"origin":"a","team_id":"t"}"#).is_none());
        // A node id longer than the length byte holds cannot be sent.
        assert!(super::encode_video(&"n".repeat(256), &ev).is_none());
    }

    proptest::proptest! {
        /// Any bytes decode or are refused without a panic, and what is encoded reads back.
        #[test]
        fn video_messages_decode_or_are_refused(
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            origin in "[a-z0-9-]{0,40}",
            team in "\\PC{0,30}",
            message in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..200),
        ) {
            let _ = super::decode_video(&junk);
            let ev = super::VideoBusEvent { team_id: team, message: message.into() };
            let bytes = super::encode_video(&origin, &ev).expect("encodes");
            let (o, back) = super::decode_video(&bytes).expect("decodes");
            proptest::prop_assert_eq!((o, back), (origin.as_str(), ev));
        }
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact("redis://u:secret@host:6379"), "redis://***@host:6379");
        assert_eq!(super::redact("redis://host"), "redis://host");
    }
}
