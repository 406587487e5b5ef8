//! A client that stops reading is closed once a write has waited `write_timeout`, and the
//! connection's writer does not hang: the socket buffers fill, the write stalls, the timeout
//! (started only for writes that do not complete at once) closes the connection by policy.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::AnyToken;
use futures_util::{SinkExt, StreamExt};
use pitbox_hub::{Hooks, Hub, HubConfig};
use pitbox_model::Message;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as Ws;

#[derive(Clone)]
struct Plain;

impl Hooks for Plain {}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_after_the_write_timeout() {
    let config = HubConfig { write_timeout: Duration::from_millis(300), control_queue: 4_096, ..HubConfig::default() };
    let hub = Hub::new(config, Arc::new(AnyToken), Plain, None);
    let app = axum::Router::new().route("/", axum::routing::get(Hub::<Plain>::ws_handler)).with_state(hub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/")).await.expect("connect");
    let _greeting = ws.next().await;
    let auth = json!({"type": "authenticate", "data": {"token": "t", "clientType": "driver", "version": "1.0"}});
    ws.send(Ws::text(auth.to_string())).await.expect("send");
    let _result = ws.next().await;

    // From here on the client reads nothing. 32 MiB of team messages outgrow any loopback
    // socket buffers, so some write has to wait.
    let big: Message = serde_json::from_value(json!({"type": "team_message", "data": {
        "id": "m1", "content": "x".repeat(64 * 1024), "senderId": "d1", "senderName": "Driver One",
        "priority": "normal", "sentAt": "2026-11-27T10:00:00Z", "read": false
    }}))
    .expect("message");
    let start = Instant::now();
    for _ in 0..512 {
        assert_eq!(hub.send_to_user("d1", &big), 1);
    }
    let metrics = hub.metrics().clone();
    while metrics.closed_policy.load(Ordering::Relaxed) == 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "the stalled connection was not closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(start.elapsed() >= Duration::from_millis(300), "closed before the write timeout");
    drop(ws);
    server.abort();
}
