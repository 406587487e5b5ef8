//! Nothing acknowledged is lost: a relay streams sequenced batches to a real node process, the
//! node is killed with SIGKILL mid-stream, restarted on the same data, and every sample of every
//! acknowledged batch is there, each once. Runs on SQLite and, when configured, PostgreSQL.

mod common;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use common::{Db, TestDb, next_json, ws_send};
use futures_util::StreamExt;
use pitbox_model::UserRole;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BATCH: u64 = 200;
const T0: i64 = 1_790_000_000_000;

async fn start_node(db: &TestDb) -> (Child, std::net::SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitbox-cloud-testnode"))
        .args(["--listen", "127.0.0.1:0", "--chunk-seconds", "1"])
        // The samples carry a fixed date months from today's clock.
        .args(["--sample-clock-window-hours", "876000"])
        .arg("--data-dir")
        .arg(db.dir())
        .args(["--database-url", &db.url])
        .env("PITBOX_CLOUD_NODE_ID", "durability")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn test node");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("node did not start within 60 s")
        .expect("read")
        .expect("node exited before listening");
    let addr = line.rsplit("http://").next().expect("address").trim().parse().expect("socket address");
    // Keep draining stdout so the node never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

fn batch(driver: &str, seq: u64) -> serde_json::Value {
    let samples: Vec<_> = (0..BATCH)
        .map(|i| common::update(driver, T0 + ((seq * BATCH + i) as i64) * 16, 1 + (seq / 20) as u32, seq * BATCH + i))
        .collect();
    json!({"type": "telemetry_batch", "data": {"driverId": driver, "sequence": seq, "samples": samples}})
}

/// The relay's credential, issued over REST by the team's engineer (`relay-eng`).
async fn login(addr: std::net::SocketAddr) -> String {
    let mut c = pitbox_cloud::httpc::Client::connect(addr).await.expect("connect");
    let body = json!({"username": "relay-eng", "password": common::PASSWORD}).to_string();
    let r = c.request("POST", "/api/auth/login", None, Some(body.as_bytes())).await.expect("login");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let engineer = r.json()["token"].as_str().expect("token").to_string();
    let r = c
        .request("POST", "/api/relays/token", Some(&engineer), Some(b"{\"name\": \"durability relay\"}"))
        .await
        .expect("relay token");
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()["token"].as_str().expect("token").to_string()
}

#[tokio::test]
async fn kill_9_during_ingest_loses_nothing_acknowledged() {
    for kind in [Db::Sqlite, Db::Postgres] {
        let Some(db) = TestDb::new(kind, "kill_9_during_ingest_loses_nothing_acknowledged").await else { continue };
        let store = pitbox_cloud::Store::open(&db.url).await.expect("store");
        let team = store.create_team("Durable").await.expect("team");
        let hash = pitbox_cloud::password::hash(common::PASSWORD).expect("hash");
        let driver = store.create_user("relay-driver", &hash, UserRole::Driver, Some(&team.id)).await.expect("user").id;
        store.create_user("relay-eng", &hash, UserRole::Engineer, Some(&team.id)).await.expect("engineer");

        let (mut node, addr) = start_node(&db).await;
        let token = login(addr).await;
        let (mut ws, r) = common::ws_login(addr, &token, "relay").await;
        assert_eq!(r["data"]["success"], true, "{r}");
        // Stream with up to 4 batches in flight; kill the node after some acks, mid-stream.
        let mut acked = 0u64;
        let mut sent = 0u64;
        let kill_after = 25;
        loop {
            while sent < acked + 4 {
                sent += 1;
                ws_send(&mut ws, batch(&driver, sent)).await;
            }
            if acked >= kill_after {
                node.start_kill().expect("kill -9");
                break;
            }
            let a = next_json(&mut ws).await;
            assert_eq!(a["type"], "ack", "{a}");
            acked = acked.max(a["data"]["sequence"].as_u64().expect("seq"));
        }
        let _ = node.wait().await;
        drop(ws);

        // Restart on the same data: every acknowledged sample is there, once.
        let (mut node, addr) = start_node(&db).await;
        let check = pitbox_cloud::Store::open(&db.url).await.expect("store");
        let sessions = pitbox_cloud::telemetry::list_sessions(&check, Some(&team.id), 10).await.expect("sessions");
        assert_eq!(sessions.len(), 1);
        let mut seen = Vec::new();
        for lap in pitbox_cloud::telemetry::list_laps(&check, &sessions[0].id).await.expect("laps") {
            let cols = pitbox_cloud::telemetry::lap_columns(
                &check,
                &pitbox_cloud::objects::Objects::local(&db.dir().join("objects")).expect("objects"),
                &sessions[0].id,
                lap.lap,
            )
            .await
            .expect("lap data");
            seen.extend(cols.sequences.iter().copied());
        }
        let distinct: BTreeSet<i64> = seen.iter().copied().collect();
        assert_eq!(distinct.len(), seen.len(), "{kind:?}: a sample was stored twice");
        for s in BATCH..(acked + 1) * BATCH {
            assert!(
                distinct.contains(&(s as i64)),
                "{kind:?}: acknowledged sample {s} lost (acked through batch {acked})"
            );
        }

        // The relay resumes after its last ack: resent batches are acked without being stored again.
        let token = login(addr).await;
        let (mut ws, _) = common::ws_login(addr, &token, "relay").await;
        for seq in acked + 1..=sent + 2 {
            ws_send(&mut ws, batch(&driver, seq)).await;
            let a = next_json(&mut ws).await;
            assert_eq!(a["type"], "ack", "{kind:?} {a}");
            assert!(a["data"]["sequence"].as_u64().expect("seq") >= seq);
        }
        let n = pitbox_cloud::telemetry::stored_sample_count(&check, &driver).await.expect("count");
        assert_eq!(n as u64, (sent + 2) * BATCH, "{kind:?}: exactly every batch once");
        let _ = ws.close(None).await;
        let _ = ws.next().await;
        node.start_kill().expect("stop");
        let _ = node.wait().await;
    }
}
