//! The relay and the cloud talking both ways: what the cloud sends down reaches exactly the
//! local clients entitled to it (and never comes back to its sender as an echo), local team
//! messages reach the cloud in order and survive an outage, and the uplink fails over between
//! cloud nodes without losing or duplicating a sample.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::cloud::{Cloud, CloudStore};
use common::*;
use pitbox_model::control::Subscribe;
use pitbox_model::{Channel, Message, UserRole};
use pitbox_relay::{RelayConfig, UplinkConfig};

/// A message from the model crate's golden examples with some fields of `data` replaced.
fn golden(kind: &str, set: &[(&str, serde_json::Value)]) -> Message {
    let path = format!("{}/../model/tests/golden/{kind}.json", env!("CARGO_MANIFEST_DIR"));
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for (k, val) in set {
        v["data"][*k] = val.clone();
    }
    pitbox_model::decode(v.to_string().as_bytes()).unwrap()
}

fn team_message(id: &str, sender: &str) -> Message {
    golden("team_message", &[("id", id.into()), ("senderId", sender.into())])
}

fn subscribe(channels: &[Channel]) -> Message {
    Message::Subscribe(Subscribe { team_id: None, driver_ids: vec![], channels: channels.to_vec(), max_rate_hz: None })
}

/// Everything that arrives within `d`.
async fn drain(c: &mut Client, d: Duration) -> Vec<Message> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + d;
    while let Some(Some(m)) = c.recv_within(deadline.saturating_duration_since(tokio::time::Instant::now())).await {
        out.push(m);
    }
    out
}

/// Short names of what a client got: `type` or `type:id`.
fn names(ms: &[Message]) -> Vec<String> {
    ms.iter()
        .map(|m| match m {
            Message::TeamMessage(t) => format!("team_message:{}", t.id),
            Message::AiCoaching(c) => format!("ai_coaching:{}", c.driver_id.as_deref().unwrap_or("-")),
            Message::HandoffRequest(h) => format!("handoff_request:{}:{}", h.id, h.status),
            Message::HandoffResponse(r) => format!("handoff_response:{}:{}", r.handoff_id, r.status),
            other => other.type_name().to_string(),
        })
        .collect()
}

async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn uplink(url: &str) -> UplinkConfig {
    let mut u = UplinkConfig::new(url, "relay-token");
    u.backoff_min = Duration::from_millis(50);
    u.backoff_max = Duration::from_millis(300);
    u
}

async fn relay_with(tweak: impl FnOnce(&mut RelayConfig)) -> Env {
    Env::start(|c| {
        c.batch_interval = Duration::from_millis(20);
        tweak(c)
    })
    .await
}

#[tokio::test]
async fn cloud_messages_reach_exactly_the_entitled_local_clients() {
    let store = Arc::new(CloudStore::default());
    let cloud = Cloud::start("127.0.0.1:0".parse().unwrap(), store.clone()).await;
    let url = cloud.url();
    let env = relay_with(|c| c.cloud = Some(uplink(&url))).await;
    wait_for("the relay to subscribe on the cloud", || !store.subscribes.lock().unwrap().is_empty()).await;
    {
        let subs = store.subscribes.lock().unwrap();
        assert!(!subs[0].channels.contains(&Channel::Telemetry), "the relay does not want its own telemetry back");
        assert!(subs[0].channels.contains(&Channel::Coaching) && subs[0].channels.contains(&Channel::Messages));
    }

    let mut drv1 = env.client("drv-1", UserRole::Driver, TEAM).await;
    let mut drv2 = env.client("drv-2", UserRole::Driver, TEAM).await;
    let mut eng = env.client("eng-1", UserRole::Engineer, TEAM).await;
    let mut telemetry_only = env.client("view-1", UserRole::Viewer, TEAM).await;
    let mut drv_b = env.client("drv-b", UserRole::Driver, OTHER_TEAM).await;
    let mut eng_b = env.client("eng-b", UserRole::Engineer, OTHER_TEAM).await;
    eng.send(&subscribe(&[])).await;
    telemetry_only.send(&subscribe(&[Channel::Telemetry])).await;
    eng_b.send(&subscribe(&[])).await;
    for c in [&mut eng, &mut telemetry_only, &mut eng_b] {
        // Subscribed, then the catch-up: status of the connected drivers (for who follows it).
        let got = c.sync().await;
        assert!(matches!(got.first(), Some(Message::Subscribed(_))), "{got:?}");
        assert!(got[1..].iter().all(|m| matches!(m, Message::DriverStatus(_))), "{got:?}");
    }

    store.push(golden("ai_coaching", &[("driverId", "drv-1".into())]));
    store.push(team_message("msg-cloud-1", "eng-9"));
    store.push(golden(
        "handoff_request",
        &[
            ("id", "ho-9".into()),
            ("requesterId", "drv-1".into()),
            ("targetDriverId", "drv-2".into()),
            ("status", "pending".into()),
        ],
    ));
    let wait = Duration::from_millis(600);
    assert_eq!(
        names(&drain(&mut drv1, wait).await),
        vec!["ai_coaching:drv-1", "team_message:msg-cloud-1", "handoff_request:ho-9:pending"]
    );
    assert_eq!(names(&drain(&mut drv2, wait).await), vec!["team_message:msg-cloud-1", "handoff_request:ho-9:pending"]);
    assert_eq!(
        names(&drain(&mut eng, wait).await),
        vec!["ai_coaching:drv-1", "team_message:msg-cloud-1", "handoff_request:ho-9:pending"]
    );
    assert!(drain(&mut telemetry_only, wait).await.is_empty());
    assert!(drain(&mut drv_b, wait).await.is_empty(), "nobody sees another team");
    assert!(drain(&mut eng_b, wait).await.is_empty(), "nobody sees another team");

    // The handoff made in the cloud can be answered locally: the relay learnt it.
    let accept = golden(
        "handoff_response",
        &[("handoffId", "ho-9".into()), ("status", "accepted".into()), ("responderId", "drv-2".into())],
    );
    drv2.send(&accept).await;
    assert_eq!(names(&drv2.sync().await), vec!["handoff_request:ho-9:accepted"]);
    wait_for("the answer to reach the cloud", || {
        store.messages().iter().any(|m| matches!(m, Message::HandoffResponse(r) if r.handoff_id == "ho-9"))
    })
    .await;
    // The cloud fans the answer back out; the requester hears it once (from the relay), not twice.
    let heard = names(&drain(&mut drv1, Duration::from_millis(800)).await);
    assert_eq!(heard, vec!["handoff_response:ho-9:accepted", "handoff_request:ho-9:accepted"]);
}

#[tokio::test]
async fn local_team_messages_reach_the_cloud_in_order_and_never_echo() {
    let store = Arc::new(CloudStore::default());
    let cloud = Cloud::start("127.0.0.1:0".parse().unwrap(), store.clone()).await;
    let url = cloud.url();
    let env = relay_with(|c| c.cloud = Some(uplink(&url))).await;
    wait_for("the relay to subscribe on the cloud", || !store.subscribes.lock().unwrap().is_empty()).await;
    let mut drv1 = env.client("drv-1", UserRole::Driver, TEAM).await;
    let mut drv2 = env.client("drv-2", UserRole::Driver, TEAM).await;
    let mut eng = env.client("eng-1", UserRole::Engineer, TEAM).await;
    eng.send(&subscribe(&[Channel::Messages, Channel::Session, Channel::Standings])).await;
    eng.sync().await;

    let n = 30;
    for i in 0..n {
        drv1.send(&team_message(&format!("msg-{i}"), "drv-1")).await;
    }
    drv1.send(&golden("session_info", &[("driverId", "drv-1".into())])).await;
    drv1.send(&golden("standings_update", &[("driverId", "drv-1".into())])).await;
    assert!(drv1.sync().await.is_empty());

    wait_for("every message at the cloud", || store.messages().len() == n + 2).await;
    let at_cloud = names(&store.messages());
    let mut expected: Vec<String> = (0..n).map(|i| format!("team_message:msg-{i}")).collect();
    expected.extend(["session_info".to_string(), "standings_update".to_string()]);
    assert_eq!(at_cloud, expected, "in order, each once");
    wait_for("the queue to drain", || env.relay.as_ref().unwrap().spool_messages() == 0).await;

    // Locally each arrives once, although the cloud sent every one of them back down.
    let wait = Duration::from_millis(800);
    assert_eq!(names(&drain(&mut eng, wait).await), expected);
    let to_drv2 = names(&drain(&mut drv2, wait).await);
    assert_eq!(to_drv2, expected[..n].to_vec(), "drivers get team messages, once");
    assert!(drain(&mut drv1, wait).await.is_empty(), "nothing comes back to its sender");
    let echoes = env.relay.as_ref().unwrap().metrics().downlink_echoes.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(echoes as usize, n + 2);
}

#[tokio::test]
async fn team_messages_wait_out_a_cloud_outage() {
    // The cloud's address is known but nothing listens there yet.
    let store = Arc::new(CloudStore::default());
    let parked = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = parked.local_addr().unwrap();
    drop(parked);
    let url = format!("ws://{addr}/ws");
    let env = relay_with(|c| c.cloud = Some(uplink(&url))).await;
    let mut drv1 = env.client("drv-1", UserRole::Driver, TEAM).await;
    for i in 0..5 {
        drv1.send(&team_message(&format!("offline-{i}"), "drv-1")).await;
    }
    drv1.sync().await;
    wait_for("the messages to be queued", || env.relay.as_ref().unwrap().spool_messages() == 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(store.messages().is_empty());

    let _cloud = Cloud::start(addr, store.clone()).await;
    wait_for("the queue to drain", || env.relay.as_ref().unwrap().spool_messages() == 0).await;
    let got = names(&store.messages());
    assert_eq!(got, (0..5).map(|i| format!("team_message:offline-{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn uplink_fails_over_to_the_next_cloud_node_losing_nothing() {
    let store = Arc::new(CloudStore::default());
    let a = Cloud::start("127.0.0.1:0".parse().unwrap(), store.clone()).await;
    let b = Cloud::start("127.0.0.1:0".parse().unwrap(), store.clone()).await;
    let (url_a, url_b) = (a.url(), b.url());
    let port_b = b.addr.port();
    let env = relay_with(|c| {
        c.cloud = Some(uplink(&url_a));
        c.cloud_failover_urls = vec![url_b.clone()];
    })
    .await;
    let mut drv = env.client("drv-1", UserRole::Driver, TEAM).await;
    let total = 600u64;
    let mut tick = tokio::time::interval(Duration::from_millis(2));
    let mut a = Some(a);
    for seq in 1..=total {
        tick.tick().await;
        drv.send(&telemetry("drv-1", seq)).await;
        if seq == total / 2 {
            drv.sync().await;
            // Node A dies mid-stream (with whatever it had not acknowledged yet).
            if let Some(a) = a.take() {
                a.stop().await;
            }
            drv.send(&team_message("after-failover", "drv-1")).await;
        }
    }
    drv.sync().await;
    wait_for("every sample at the cloud", || store.samples_of("drv-1").len() as u64 >= total).await;
    wait_for("the spool to drain", || env.relay.as_ref().unwrap().spool_batches() == 0).await;
    assert_eq!(store.samples_of("drv-1"), (1..=total).collect::<Vec<_>>(), "each sample once, in order");
    assert_eq!(*store.gaps.lock().unwrap(), 0);
    assert!(store.connections.lock().unwrap().get(&port_b).copied().unwrap_or(0) >= 1, "node B took over");
    wait_for("the message at node B", || {
        store
            .messages
            .lock()
            .unwrap()
            .iter()
            .any(|(port, m)| *port == port_b && matches!(m, Message::TeamMessage(t) if t.id == "after-failover"))
    })
    .await;
    let failovers = env.relay.as_ref().unwrap().metrics().uplink_failovers.load(std::sync::atomic::Ordering::Relaxed);
    assert!(failovers >= 1);
    drop(b);
}
