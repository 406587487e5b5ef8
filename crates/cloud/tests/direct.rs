//! Direct mode (issue 22 §2): a driver agent without a relay sends its spooled, numbered,
//! compressed `telemetry_batch` frames to `/ws` with its own token, as a relay does. The cloud
//! takes them only for the driver's own id, stores each batch once, and a spooling connection's
//! `telemetry_update`s are live only (published, not stored a second time).

mod common;

use common::{App, Opts, Ws, next_json, serve, update, ws_send};
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Opens `/ws` and authenticates as a spooling driver agent.
async fn login_spooled(addr: std::net::SocketAddr, token: &str) -> (Ws, Value) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.expect("connect");
    assert_eq!(next_json(&mut ws).await["type"], "connection_established");
    let auth = json!({"type": "authenticate",
        "data": {"token": token, "clientType": "driver", "version": "1.0", "spooled": true}});
    ws_send(&mut ws, auth).await;
    let result = next_json(&mut ws).await;
    (ws, result)
}

fn frame(driver: &str, seq: u64, first_sample: u64) -> Vec<u8> {
    let now = chrono::Utc::now().timestamp_millis();
    let samples: Vec<Value> =
        (0..10).map(|i| update(driver, now - 1000 + (first_sample + i) as i64, 2, first_sample + i)).collect();
    let data = json!({"driverId": driver, "sequence": seq, "samples": samples, "origin": "spool-direct1"});
    let batch: pitbox_model::control::TelemetryBatch = serde_json::from_value(data).expect("batch");
    pitbox_hub::uplink::encode_batch(&batch, 3).expect("encode")
}

async fn send_frame(ws: &mut Ws, f: Vec<u8>) -> Value {
    ws.send(WsMessage::Binary(f.into())).await.expect("send");
    next_json(ws).await
}

#[tokio::test]
async fn a_driver_uplinks_its_own_batches_only_and_its_live_samples_are_not_stored_twice() {
    for db in common::DBS {
        let Some(app) = App::start(db, "direct_mode_driver_uplink", Opts::default()).await else {
            continue;
        };
        let addr = serve(app.router.clone()).await;
        let me = app.driver.id.clone();
        let (mut ws, r) = login_spooled(addr, &app.token(&app.driver)).await;
        assert_eq!(r["data"]["success"], true, "{r}");
        let ack = |seq: u64| json!({"type": "ack", "data": {"driverId": me, "sequence": seq}});
        assert_eq!(send_frame(&mut ws, frame(&me, 1, 100)).await, ack(1));
        assert_eq!(send_frame(&mut ws, frame(&me, 2, 110)).await, ack(2));
        // A resend after a cut: acknowledged, not stored again.
        assert_eq!(send_frame(&mut ws, frame(&me, 1, 100)).await, ack(2));
        // Another driver's samples under this token: refused.
        let other = app.driver2.id.clone();
        let e = send_frame(&mut ws, frame(&other, 1, 500)).await;
        assert_eq!(
            (e["data"]["code"].as_str(), e["data"]["field"].as_str()),
            (Some("forbidden"), Some("data.driverId")),
            "{e}"
        );
        // The live copy of a sample: fanned out, not stored.
        let now = chrono::Utc::now().timestamp_millis();
        ws_send(&mut ws, json!({"type": "telemetry_update", "data": update(&me, now, 2, 999)})).await;
        ws_send(&mut ws, json!({"type": "ping", "data": {"id": 1, "timestamp": "2026-11-26T16:00:00Z"}})).await;
        assert_eq!(next_json(&mut ws).await["type"], "pong", "the live sample was taken without a reply");
        let n = pitbox_cloud::telemetry::stored_sample_count(&app.state.store, &me).await.expect("count");
        assert_eq!(n, 20, "two batches once each; the live copy is not stored");
        // Without `spooled` a driver's telemetry_update is stored as before.
        let (mut plain, r) = common::ws_login(addr, &app.token(&app.driver), "driver").await;
        assert_eq!(r["data"]["success"], true);
        ws_send(&mut plain, json!({"type": "telemetry_update", "data": update(&me, now + 16, 2, 1000)})).await;
        ws_send(&mut plain, json!({"type": "ping", "data": {"id": 2, "timestamp": "2026-11-26T16:00:00Z"}})).await;
        assert_eq!(next_json(&mut plain).await["type"], "pong");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let n = pitbox_cloud::telemetry::stored_sample_count(&app.state.store, &me).await.expect("count");
            if n == 21 || tokio::time::Instant::now() > deadline {
                assert_eq!(n, 21, "a plain driver connection's sample is stored");
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
