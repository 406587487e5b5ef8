//! Cross-node fan-out. Every node publishes what it accepts; every node's WebSocket clients see
//! what any node accepted. In-process by default (one node); Redis pub/sub with `--redis-url`.
//!
//! `pitbox-hub` was meant to define the `Bus` trait; it had no API when this was written, so
//! the bus lives here.
//!
//! The bus also remembers each driver's latest state (`session_info`, `driver_status`,
//! `standings_update`, `telemetry_update`) from whichever node it came, so a dashboard that
//! subscribes mid-race is caught up at once (see [`Bus::latest`]; the store is
//! [`pitbox_hub::latest`], the same one the relay's hub keeps).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use pitbox_hub::latest::LatestState;
use pitbox_model::Message;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

/// Redis channel prefix; the team id follows.
pub const REDIS_PREFIX: &str = "pitbox:team:";
const LOCAL_CAPACITY: usize = 8_192;
const OUTBOX_CAPACITY: usize = 16_384;

/// Remembers `ev` when it is a driver's state (see [`pitbox_hub::latest`]).
fn record(latest: &Mutex<LatestState<Arc<BusEvent>>>, ev: &Arc<BusEvent>) {
    if let Some((channel, Some(driver))) = pitbox_hub::channel_of(&ev.message) {
        lock(latest).record(&ev.team_id, driver, channel, ev.clone());
    }
}

fn lock(latest: &Mutex<LatestState<Arc<BusEvent>>>) -> std::sync::MutexGuard<'_, LatestState<Arc<BusEvent>>> {
    match latest.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

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
#[error("redis bus at {url}: {reason}")]
pub struct BusError {
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
    latest: Arc<Mutex<LatestState<Arc<BusEvent>>>>,
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
        Bus { local, outbox: None, node_id: node_id.into(), stats: Arc::default(), latest: Arc::default() }
    }

    /// A bus over Redis pub/sub: connects (failing fast when Redis is unreachable), then keeps
    /// a subscriber and a publisher task running, reconnecting after failures.
    pub async fn redis(url: &str, node_id: &str) -> Result<Bus, BusError> {
        let err = |e: redis::RedisError| BusError { url: redact(url), reason: e.to_string() };
        let client = redis::Client::open(url).map_err(err)?;
        let publisher = client.get_multiplexed_async_connection().await.map_err(err)?;
        let mut pubsub = client.get_async_pubsub().await.map_err(err)?;
        pubsub.psubscribe(format!("{REDIS_PREFIX}*")).await.map_err(err)?;
        let mut bus = Bus::in_process(node_id);
        let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
        bus.outbox = Some(tx);
        tokio::spawn(publish_loop(publisher, rx, bus.node_id.clone(), bus.stats.clone()));
        tokio::spawn(subscribe_loop(
            client,
            pubsub,
            bus.local.clone(),
            bus.node_id.clone(),
            bus.stats.clone(),
            bus.latest.clone(),
        ));
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

    /// The latest state of each driver of a team (from any node), oldest kind first: session,
    /// status, standings, then the newest sample — what a new subscriber is caught up with.
    /// Stale entries (a sample or standings over a minute old, the rest over a day) are left out.
    pub fn latest(&self, team_id: &str) -> Vec<Arc<BusEvent>> {
        lock(&self.latest).fresh(team_id, Instant::now()).into_iter().map(|(_, _, ev)| ev.clone()).collect()
    }

    /// Publishes to this node's subscribers and, with Redis, to every other node. Never blocks:
    /// when Redis cannot keep up, remote delivery of the event is dropped and counted.
    pub fn publish(&self, team_id: &str, message: Message) {
        let ev = Arc::new(BusEvent { team_id: team_id.to_string(), message });
        record(&self.latest, &ev);
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

async fn publish_loop(
    mut conn: redis::aio::MultiplexedConnection,
    mut rx: mpsc::Receiver<Arc<BusEvent>>,
    node_id: Arc<str>,
    stats: Arc<BusStats>,
) {
    while let Some(ev) = rx.recv().await {
        let wire = Wire { origin: node_id.to_string(), event: (*ev).clone() };
        let Ok(payload) = serde_json::to_string(&wire) else { continue };
        let channel = format!("{REDIS_PREFIX}{}", ev.team_id);
        let r: redis::RedisResult<i64> = redis::cmd("PUBLISH").arg(channel).arg(payload).query_async(&mut conn).await;
        if let Err(e) = r {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "redis publish failed");
        }
    }
}

async fn subscribe_loop(
    client: redis::Client,
    mut pubsub: redis::aio::PubSub,
    local: broadcast::Sender<Arc<BusEvent>>,
    node_id: Arc<str>,
    stats: Arc<BusStats>,
    latest: Arc<Mutex<LatestState<Arc<BusEvent>>>>,
) {
    loop {
        {
            let mut stream = pubsub.on_message();
            while let Some(msg) = stream.next().await {
                let Ok(wire) = serde_json::from_slice::<Wire>(msg.get_payload_bytes()) else {
                    tracing::warn!(channel = msg.get_channel_name(), "undecodable bus event ignored");
                    continue;
                };
                if *wire.origin == *node_id {
                    continue;
                }
                stats.received_remote.fetch_add(1, Ordering::Relaxed);
                let ev = Arc::new(wire.event);
                record(&latest, &ev);
                let _ = local.send(ev);
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
    use super::*;
    use pitbox_model::rest::TelemetryPost;

    /// A sample in the spec's `POST /api/telemetry` shape, as the cloud turns it into an update.
    fn sample(driver: &str, speed: f64) -> Message {
        let post: TelemetryPost = serde_json::from_value(serde_json::json!({
            "driverId": driver, "timestamp": "2026-11-27T00:00:00Z",
            "data": {"speed": speed, "rpm": 6000.0, "gear": 4, "throttle": 80.0, "brake": 0.0, "steeringAngle": 0.0,
                "trackPosition": 0.5, "lap": 3, "sector": 1, "fuelLevel": 50.0,
                "tireWear": {"frontLeft": 1.0, "frontRight": 1.0, "rearLeft": 1.0, "rearRight": 1.0}}
        }))
        .unwrap();
        Message::TelemetryUpdate(post.into_update())
    }

    #[test]
    fn remembers_the_newest_state_per_driver_and_team() {
        let bus = Bus::in_process("n1");
        bus.publish("team-a", sample("drv-1", 100.0));
        bus.publish("team-a", sample("drv-1", 120.0));
        bus.publish("team-a", sample("drv-2", 90.0));
        bus.publish("team-b", sample("drv-9", 50.0));
        bus.publish("team-a", Message::error(pitbox_model::control::ErrorCode::InvalidMessage, "not state", None));
        let mut got: Vec<(String, f64)> = bus
            .latest("team-a")
            .iter()
            .map(|ev| match &ev.message {
                Message::TelemetryUpdate(u) => (u.driver_id.clone(), u.speed),
                other => panic!("only samples were published: {other:?}"),
            })
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, vec![("drv-1".to_string(), 120.0), ("drv-2".to_string(), 90.0)]);
        assert_eq!(bus.latest("team-b").len(), 1);
        assert!(bus.latest("team-c").is_empty());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact("redis://u:secret@host:6379"), "redis://***@host:6379");
        assert_eq!(super::redact("redis://host"), "redis://host");
    }
}
