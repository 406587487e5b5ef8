//! Cross-node fan-out. Every node publishes what it accepts; every node's WebSocket clients see
//! what any node accepted. In-process by default (one node); Redis pub/sub with `--redis-url`.
//!
//! `pitbox-hub` was meant to define the `Bus` trait; it had no API when this was written, so
//! the bus lives here.
//!
//! The bus also remembers each driver's latest state (`session_info`, `driver_status`,
//! `standings_update`, `telemetry_update`) from whichever node it came, so a dashboard that
//! subscribes mid-race is caught up at once (see [`Bus::latest`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use pitbox_model::Message;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

/// Redis channel prefix; the team id follows.
pub const REDIS_PREFIX: &str = "pitbox:team:";
const LOCAL_CAPACITY: usize = 8_192;
const OUTBOX_CAPACITY: usize = 16_384;

/// How old a remembered state may be to still be replayed, by kind (index of [`state_slot`]).
const STATE_MAX_AGE: [Duration; 4] = [
    Duration::from_secs(24 * 3600), // session_info
    Duration::from_secs(24 * 3600), // driver_status
    Duration::from_secs(60),        // standings_update
    Duration::from_secs(60),        // telemetry_update
];
/// Most drivers remembered per team, and most teams; past either, the stalest goes.
const MAX_DRIVERS_PER_TEAM: usize = 512;
const MAX_TEAMS: usize = 10_000;

/// The slot of a state message and its driver; `None` for events that are not state.
fn state_slot(message: &Message) -> Option<(usize, &str)> {
    Some(match message {
        Message::SessionInfo(m) => (0, m.driver_id.as_str()),
        Message::DriverStatus(m) => (1, m.driver_id.as_str()),
        Message::StandingsUpdate(m) => (2, m.driver_id.as_str()),
        Message::TelemetryUpdate(m) => (3, m.driver_id.as_str()),
        _ => return None,
    })
}

#[derive(Default)]
struct DriverState {
    slots: [Option<(Arc<BusEvent>, Instant)>; 4],
    touched: Option<Instant>,
}

/// team → driver → latest state events.
#[derive(Default)]
struct LatestState {
    teams: HashMap<String, HashMap<String, DriverState>>,
}

impl LatestState {
    fn record(&mut self, ev: &Arc<BusEvent>) {
        let Some((slot, driver)) = state_slot(&ev.message) else { return };
        let now = Instant::now();
        if !self.teams.contains_key(&ev.team_id) && self.teams.len() >= MAX_TEAMS {
            let stalest = self
                .teams
                .iter()
                .min_by_key(|(_, d)| d.values().filter_map(|s| s.touched).max())
                .map(|(t, _)| t.clone());
            if let Some(t) = stalest {
                self.teams.remove(&t);
            }
        }
        let drivers = self.teams.entry(ev.team_id.clone()).or_default();
        if !drivers.contains_key(driver) && drivers.len() >= MAX_DRIVERS_PER_TEAM {
            let stalest = drivers.iter().min_by_key(|(_, s)| s.touched).map(|(d, _)| d.clone());
            if let Some(d) = stalest {
                drivers.remove(&d);
            }
        }
        let state = match drivers.get_mut(driver) {
            Some(s) => s,
            None => drivers.entry(driver.to_string()).or_default(),
        };
        state.slots[slot] = Some((ev.clone(), now));
        state.touched = Some(now);
    }

    fn of_team(&self, team_id: &str) -> Vec<Arc<BusEvent>> {
        let Some(drivers) = self.teams.get(team_id) else { return Vec::new() };
        let now = Instant::now();
        let mut out = Vec::new();
        for (slot, max_age) in STATE_MAX_AGE.iter().enumerate() {
            for state in drivers.values() {
                if let Some((ev, at)) = &state.slots[slot]
                    && now.duration_since(*at) <= *max_age
                {
                    out.push(ev.clone());
                }
            }
        }
        out
    }
}

fn lock(latest: &Mutex<LatestState>) -> std::sync::MutexGuard<'_, LatestState> {
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
    latest: Arc<Mutex<LatestState>>,
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
        lock(&self.latest).of_team(team_id)
    }

    /// Publishes to this node's subscribers and, with Redis, to every other node. Never blocks:
    /// when Redis cannot keep up, remote delivery of the event is dropped and counted.
    pub fn publish(&self, team_id: &str, message: Message) {
        let ev = Arc::new(BusEvent { team_id: team_id.to_string(), message });
        lock(&self.latest).record(&ev);
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
    latest: Arc<Mutex<LatestState>>,
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
                lock(&latest).record(&ev);
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
    use pitbox_model::telemetry::{TelemetryUpdate, TireWear};

    fn sample(driver: &str, speed: f64) -> Message {
        Message::TelemetryUpdate(TelemetryUpdate {
            driver_id: driver.into(),
            timestamp: chrono::Utc::now(),
            speed,
            rpm: 6000.0,
            gear: 4,
            throttle: 80.0,
            brake: 0.0,
            steering_angle: 0.0,
            latitude: None,
            longitude: None,
            track_position: 0.5,
            lap: 3,
            sector: 1,
            fuel_level: 50.0,
            tire_wear: TireWear { front_left: 1.0, front_right: 1.0, rear_left: 1.0, rear_right: 1.0 },
            position: None,
            lap_distance: None,
            lap_time: None,
            session_time: None,
            yaw_rate: None,
            lateral_accel: None,
            longitudinal_accel: None,
            fuel_liters: None,
            on_pit_road: None,
            sequence: None,
        })
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
