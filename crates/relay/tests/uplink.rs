//! The uplink end to end: a relay forwarding to a cloud stand-in that goes away and comes back,
//! and a relay process killed with SIGKILL mid-stream and restarted. Every sample must reach the
//! cloud exactly once, in order per driver.

mod common;

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::cloud::{Cloud, CloudStore};
use common::*;
use futures_util::{SinkExt, StreamExt};
use pitbox_model::control::{Authenticate, PROTOCOL_VERSION};
use pitbox_model::{ClientType, Message, UserRole};
use pitbox_relay::UplinkConfig;
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message as Ws;

/// A driver agent as the protocol intends it: numbers its samples, keeps every sample the relay
/// has not acknowledged yet, and resends those after a reconnect.
struct DriverSim {
    id: String,
    next: u64,
    unacked: VecDeque<u64>,
    acked: u64,
}

impl DriverSim {
    fn new(id: &str) -> DriverSim {
        DriverSim { id: id.into(), next: 1, unacked: VecDeque::new(), acked: 0 }
    }

    fn on_ack(&mut self, seq: u64) {
        self.acked = self.acked.max(seq);
        while self.unacked.front().is_some_and(|s| *s <= seq) {
            self.unacked.pop_front();
        }
    }

    /// Connects, resends what is unacknowledged, then streams at 60 Hz until `until` samples were
    /// produced or `stop_after` elapsed or the connection drops. Returns whether it ended cleanly.
    async fn stream(&mut self, url: &str, token: &str, until: u64, stop_after: Duration) -> bool {
        let Ok((ws, _)) = tokio_tungstenite::connect_async(url).await else { return false };
        let (mut tx, mut rx) = ws.split();
        let auth = Message::Authenticate(Authenticate {
            token: token.into(),
            client_type: ClientType::Driver,
            version: PROTOCOL_VERSION.into(),
            spooled: false,
        });
        if tx.send(Ws::text(auth.to_json())).await.is_err() {
            return false;
        }
        for seq in self.unacked.clone() {
            if tx.send(Ws::text(telemetry(&self.id, seq).to_json())).await.is_err() {
                return false;
            }
        }
        let deadline = tokio::time::Instant::now() + stop_after;
        let mut tick = tokio::time::interval(Duration::from_micros(16_667));
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if self.next > until || tokio::time::Instant::now() >= deadline {
                        // keep reading acks for a moment so the tail is acknowledged
                        let _ = tokio::time::timeout(Duration::from_millis(300), async {
                            while let Some(Ok(m)) = rx.next().await {
                                if let Ws::Text(t) = m && let Ok(Message::Ack(a)) = pitbox_model::decode(t.as_bytes()) {
                                    self.on_ack(a.sequence);
                                }
                            }
                        }).await;
                        return true;
                    }
                    let seq = self.next;
                    self.next += 1;
                    self.unacked.push_back(seq);
                    if tx.send(Ws::text(telemetry(&self.id, seq).to_json())).await.is_err() {
                        return false;
                    }
                }
                m = rx.next() => match m {
                    Some(Ok(Ws::Text(t))) => match pitbox_model::decode(t.as_bytes()) {
                        Ok(Message::Ack(a)) => self.on_ack(a.sequence),
                        Ok(Message::AuthenticationResult(r)) => assert!(r.success, "{r:?}"),
                        Ok(Message::Error(e)) => panic!("relay refused a sample: {e:?}"),
                        _ => {}
                    },
                    Some(Ok(_)) => {}
                    _ => return false,
                }
            }
        }
    }
}

async fn wait_for_all(store: &CloudStore, driver: &str, n: u64, within: Duration) -> Vec<u64> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let got = store.samples_of(driver);
        if got.len() as u64 >= n || tokio::time::Instant::now() >= deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn outage() -> Duration {
    // The issue asks for a 30 s outage: scripts/test (and so CI) sets PITBOX_TEST_OUTAGE_SECS=30;
    // a bare `cargo test` uses 3 s, since the behaviour does not depend on the length.
    let secs = std::env::var("PITBOX_TEST_OUTAGE_SECS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(3.0);
    Duration::from_secs_f64(secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_outage_loses_nothing_and_duplicates_nothing() {
    let store = Arc::new(CloudStore::default());
    let cloud = Cloud::start("127.0.0.1:0".parse().unwrap(), store.clone()).await;
    let cloud_url = cloud.url();
    let env = Env::start(|c| {
        c.batch_interval = Duration::from_millis(50);
        c.cloud = Some(UplinkConfig {
            url: cloud_url.clone(),
            token: "any".into(),
            window: 32,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_millis(800),
        });
    })
    .await;
    let token = env.token("drv-1", UserRole::Driver, TEAM);
    let mut dash = env.client("eng-1", UserRole::Engineer, TEAM).await;
    dash.send(&Message::Subscribe(pitbox_model::control::Subscribe {
        team_id: None,
        driver_ids: vec![],
        channels: vec![pitbox_model::Channel::Telemetry],
        max_rate_hz: Some(5.0),
    }))
    .await;
    dash.sync().await;

    let mut drv = DriverSim::new("drv-1");
    // 1 s with the cloud up
    assert!(drv.stream(&env.url, &token, u64::MAX, Duration::from_secs(1)).await);
    // the cloud goes away; the driver keeps racing and the LAN dashboard keeps seeing it
    let addr = cloud.stop().await;
    let during = outage();
    let before = drv.next;
    let stream = drv.stream(&env.url, &token, u64::MAX, during);
    let live = async {
        let mut n = 0;
        let deadline = tokio::time::Instant::now() + during;
        while tokio::time::Instant::now() < deadline {
            if let Some(Some(Message::TelemetryUpdate(_))) = dash.recv_within(Duration::from_millis(500)).await {
                n += 1;
            }
        }
        n
    };
    let (ok, live_n) = tokio::join!(stream, live);
    assert!(ok);
    assert!(live_n as f64 >= during.as_secs_f64() * 3.0, "dashboard saw {live_n} samples during the outage");
    assert!(drv.next > before + 50);
    let relay = env.relay.as_ref().unwrap();
    assert!(relay.spool_batches() > 0, "batches wait in the spool while the cloud is away");
    // the cloud comes back on the same address
    let cloud = Cloud::start(addr, store.clone()).await;
    assert!(drv.stream(&env.url, &token, u64::MAX, Duration::from_secs(1)).await);
    let n = drv.next - 1;
    let got = wait_for_all(&store, "drv-1", n, Duration::from_secs(30)).await;
    assert_eq!(got, (1..=n).collect::<Vec<_>>(), "every sample exactly once, in order");
    assert_eq!(*store.gaps.lock().unwrap(), 0);
    let relay = env.relay.as_ref().unwrap();
    assert!(relay.metrics().uplink_connects.load(std::sync::atomic::Ordering::Relaxed) >= 2);
    // the spool drains once the cloud acknowledged everything
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while relay.spool_batches() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(relay.spool_batches(), 0);
    cloud.stop().await;
}

struct RelayProcess {
    child: tokio::process::Child,
    url: String,
}

async fn spawn_relay(data_dir: &std::path::Path, cloud_url: &str) -> RelayProcess {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pitbox-relay-testnode"))
        .args(["--listen", "127.0.0.1:0", "--print-addr", "--batch-interval", "50ms", "--backoff-max", "800ms"])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--cloud-url", cloud_url, "--cloud-token", "any"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn relay");
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("relay printed its address")
        .unwrap()
        .unwrap();
    let addr = line.strip_prefix("listening ").expect("listening line").trim().to_string();
    RelayProcess { child, url: format!("ws://{addr}/") }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_then_restart_replays_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let (pair, _) = pitbox_auth::KeyPair::load_or_create(dir.path()).unwrap();
    let signer = pitbox_auth::Signer::new(&pair, "pitbox-offline");
    let token = signer.issue("drv-1", UserRole::Driver, TEAM, None, pitbox_auth::DEFAULT_TTL).unwrap().0;
    let store = Arc::new(CloudStore::default());
    // Start the cloud to learn a port, then take it away: the first relay spools everything.
    let cloud = Cloud::start("127.0.0.1:0".parse().unwrap(), store.clone()).await;
    let cloud_url = cloud.url();
    let cloud_addr = cloud.stop().await;

    let mut relay = spawn_relay(dir.path(), &cloud_url).await;
    let mut drv = DriverSim::new("drv-1");
    let url = relay.url.clone();
    // Stream, and SIGKILL the relay 1.5 s in, while samples are still flowing.
    let killer = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        relay.child.start_kill().expect("SIGKILL");
        let status = relay.child.wait().await.unwrap();
        assert!(!status.success(), "killed, not exited: {status:?}");
    };
    let (clean, ()) = tokio::join!(drv.stream(&url, &token, u64::MAX, Duration::from_secs(5)), killer);
    assert!(!clean, "the stream must have been cut by the kill");
    let acked_before_kill = drv.acked;
    assert!(acked_before_kill > 30, "the relay acknowledged spooled samples before dying: {acked_before_kill}");

    // The cloud comes back; the relay restarts on the same data dir; the driver reconnects.
    let cloud = Cloud::start(cloud_addr, store.clone()).await;
    let relay2 = spawn_relay(dir.path(), &cloud_url).await;
    let until = drv.next + 59;
    assert!(drv.stream(&relay2.url, &token, until, Duration::from_secs(5)).await);
    let n = drv.next - 1;
    let got = wait_for_all(&store, "drv-1", n, Duration::from_secs(30)).await;
    assert_eq!(got, (1..=n).collect::<Vec<_>>(), "every sample exactly once, in order, across the kill");
    // Samples acknowledged before the kill were dropped by the driver: only the spool had them.
    assert!(got.iter().filter(|s| **s <= acked_before_kill).count() as u64 == acked_before_kill);
    assert_eq!(*store.gaps.lock().unwrap(), 0);
    drop(relay2);
    cloud.stop().await;
}

/// A relay on a fresh data folder numbers the driver's batches from 1 again, below what the
/// cloud stored from the relay before it: its spool's own `origin` keeps the numberings apart,
/// so every sample is stored exactly once (issue 21; it used to be taken for stored batches).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_on_a_fresh_data_folder_loses_nothing() {
    let store = Arc::new(CloudStore::default());
    let cloud = Cloud::start("127.0.0.1:0".parse().unwrap(), store.clone()).await;
    let token_for = |dir: &std::path::Path| {
        let (pair, _) = pitbox_auth::KeyPair::load_or_create(dir).unwrap();
        let signer = pitbox_auth::Signer::new(&pair, "pitbox-offline");
        signer.issue("drv-1", UserRole::Driver, TEAM, None, pitbox_auth::DEFAULT_TTL).unwrap().0
    };
    let mut drv = DriverSim::new("drv-1");
    for round in 1..=2u64 {
        // A new folder each time: the second relay knows nothing of the first one's numbering.
        let dir = tempfile::tempdir().unwrap();
        let token = token_for(dir.path());
        let relay = spawn_relay(dir.path(), &cloud.url()).await;
        assert!(drv.stream(&relay.url, &token, round * 90, Duration::from_secs(10)).await);
        let got = wait_for_all(&store, "drv-1", round * 90, Duration::from_secs(30)).await;
        assert_eq!(got, (1..=round * 90).collect::<Vec<_>>(), "relay {round}: every sample once, in order");
        drop(relay);
    }
    assert_eq!(*store.duplicates.lock().unwrap(), 0, "no batch was taken for another's");
    assert_eq!(*store.gaps.lock().unwrap(), 0);
    cloud.stop().await;
}
