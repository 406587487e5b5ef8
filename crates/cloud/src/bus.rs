//! Cross-node fan-out. Every node publishes what it accepts; every node's WebSocket clients see
//! what any node accepted. In-process by default (one node); Redis pub/sub with `--redis-url`,
//! or NATS core pub/sub with `--nats-url`.
//!
//! The bus carries typed messages (the coach and the ingest writer use it too), not the hub's
//! JSON `BusEvent`s, so it is the cloud's own rather than a `pitbox_hub::Bus`.
//!
//! Every node's `/ws` hub is fed from [`Bus::subscribe`] (see `crate::ws`), so the hub's
//! registry also keeps each driver's latest state from whichever node it came, for catch-up.

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
const LOCAL_CAPACITY: usize = 8_192;
const OUTBOX_CAPACITY: usize = 16_384;

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
}

/// The fan-out bus.
#[derive(Clone)]
pub struct Bus {
    local: broadcast::Sender<Arc<BusEvent>>,
    outbox: Option<mpsc::Sender<Arc<BusEvent>>>,
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
        Bus { local, outbox: None, node_id: node_id.into(), stats: Arc::default() }
    }

    /// A bus over Redis pub/sub: connects (failing fast when Redis is unreachable), then keeps
    /// a subscriber and a publisher task running, reconnecting after failures.
    pub async fn redis(url: &str, node_id: &str) -> Result<Bus, BusError> {
        let err = |e: redis::RedisError| BusError { kind: "redis", url: redact(url), reason: e.to_string() };
        let client = redis::Client::open(url).map_err(err)?;
        let publisher = client.get_multiplexed_async_connection().await.map_err(err)?;
        let mut pubsub = client.get_async_pubsub().await.map_err(err)?;
        pubsub.psubscribe(format!("{REDIS_PREFIX}*")).await.map_err(err)?;
        let mut bus = Bus::in_process(node_id);
        let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
        bus.outbox = Some(tx);
        tokio::spawn(publish_loop(publisher, rx, bus.node_id.clone(), bus.stats.clone()));
        tokio::spawn(subscribe_loop(client, pubsub, bus.local.clone(), bus.node_id.clone(), bus.stats.clone()));
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
        let mut bus = Bus::in_process(node_id);
        let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
        bus.outbox = Some(tx);
        tokio::spawn(nats_publish_loop(client, rx, bus.node_id.clone(), bus.stats.clone()));
        tokio::spawn(nats_subscribe_loop(subscriber, bus.local.clone(), bus.node_id.clone(), bus.stats.clone()));
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
    let plain = !team_id.is_empty() && team_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        format!("{NATS_PREFIX}{team_id}")
    } else {
        let hex: String = team_id.bytes().map(|b| format!("{b:02x}")).collect();
        format!("{NATS_PREFIX}x{hex}")
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

async fn nats_subscribe_loop(
    mut subscriber: async_nats::Subscriber,
    local: broadcast::Sender<Arc<BusEvent>>,
    node_id: Arc<str>,
    stats: Arc<BusStats>,
) {
    while let Some(msg) = subscriber.next().await {
        if !receive(&msg.payload, &local, &node_id, &stats) {
            tracing::warn!(subject = %msg.subject, "undecodable bus event ignored");
        }
    }
    tracing::warn!("nats subscription ended; this node no longer hears other nodes");
}

async fn subscribe_loop(
    client: redis::Client,
    mut pubsub: redis::aio::PubSub,
    local: broadcast::Sender<Arc<BusEvent>>,
    node_id: Arc<str>,
    stats: Arc<BusStats>,
) {
    loop {
        {
            let mut stream = pubsub.on_message();
            while let Some(msg) = stream.next().await {
                if !receive(msg.get_payload_bytes(), &local, &node_id, &stats) {
                    tracing::warn!(channel = msg.get_channel_name(), "undecodable bus event ignored");
                }
            }
        }
        tracing::warn!("redis subscription lost; reconnecting");
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            match client.get_async_pubsub().await {
                Ok(mut p) => {
                    if p.psubscribe(format!("{REDIS_PREFIX}*")).await.is_ok() {
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
    fn redacts_passwords() {
        assert_eq!(super::redact("redis://u:secret@host:6379"), "redis://***@host:6379");
        assert_eq!(super::redact("redis://host"), "redis://host");
    }
}
