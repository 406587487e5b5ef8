//! `Handling::Later`: a server may finish a message after the connection has read on. The
//! connection keeps reading while earlier messages are unfinished, replies leave in the order
//! the messages arrived (not the order they finished), and a late refusal is an `error` naming
//! the message type.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::AnyToken;
use futures_util::{SinkExt, StreamExt};
use pitbox_hub::{Client, Handling, Hooks, Hub, HubConfig, Refusal};
use pitbox_model::Message;
use pitbox_model::control::{Ack, ErrorCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Ws;

/// Finishes each team message after the delay its content names (ms), with an `ack` carrying
/// its number; content "refuse" finishes with a refusal. Records the order messages came in.
#[derive(Clone, Default)]
struct SlowHooks {
    started: Arc<Mutex<Vec<String>>>,
}

impl Hooks for SlowHooks {
    async fn on_client_message(&self, _from: Client<'_>, msg: Message) -> Result<Handling, Refusal> {
        let Message::TeamMessage(m) = msg else { return Ok(Handling::Hub(msg)) };
        if let Ok(mut s) = self.started.lock() {
            s.push(m.id.clone());
        }
        let sequence: u64 = m.id.trim_start_matches('m').parse().unwrap_or(0);
        Ok(Handling::Later(Box::pin(async move {
            if m.content == "refuse" {
                return Err(Refusal::new(ErrorCode::Conflict, format!("{} refused late", m.id)));
            }
            let ms: u64 = m.content.parse().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(Some(Message::Ack(Ack { driver_id: m.id, sequence })))
        })))
    }
}

fn team_message(id: &str, content: &str) -> String {
    json!({"type": "team_message", "data": {
        "id": id, "content": content, "senderId": "d1", "senderName": "Driver One",
        "priority": "normal", "sentAt": "2026-11-27T10:00:00Z", "read": false
    }})
    .to_string()
}

async fn next_json<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Ws, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("connection open")
            .expect("frame");
        if let Ws::Text(t) = frame {
            return serde_json::from_str(t.as_str()).expect("JSON frame");
        }
    }
}

#[tokio::test]
async fn later_replies_keep_arrival_order_while_the_connection_reads_on() {
    let hooks = SlowHooks::default();
    let started = hooks.started.clone();
    let hub = Hub::new(HubConfig::default(), Arc::new(AnyToken), hooks, None);
    let app = axum::Router::new().route("/", axum::routing::get(Hub::<SlowHooks>::ws_handler)).with_state(hub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/")).await.expect("connect");
    assert_eq!(next_json(&mut ws).await["type"], "connection_established");
    let auth = json!({"type": "authenticate", "data": {"token": "t", "clientType": "driver", "version": "1.0"}});
    ws.send(Ws::text(auth.to_string())).await.expect("send");
    assert_eq!(next_json(&mut ws).await["data"]["success"], true);

    // m1 finishes last, m2 and m4 at once, m3 is refused.
    for (id, content) in [("m1", "400"), ("m2", "0"), ("m3", "refuse"), ("m4", "0")] {
        ws.send(Ws::text(team_message(id, content))).await.expect("send");
    }
    let first = next_json(&mut ws).await;
    assert_eq!(first["type"], "ack", "{first}");
    assert_eq!(first["data"]["sequence"], 1, "m1's reply comes first although it finished last: {first}");
    let seen = started.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(seen, ["m1", "m2", "m3", "m4"], "the connection read on while m1 was unfinished");
    let second = next_json(&mut ws).await;
    assert_eq!(second["data"]["sequence"], 2, "{second}");
    let third = next_json(&mut ws).await;
    assert_eq!(third["type"], "error", "{third}");
    assert_eq!(third["data"]["code"], "conflict", "{third}");
    assert_eq!(third["data"]["messageType"], "team_message", "{third}");
    assert!(third["data"]["message"].as_str().unwrap_or("").contains("m3 refused late"), "{third}");
    let fourth = next_json(&mut ws).await;
    assert_eq!(fourth["data"]["sequence"], 4, "{fourth}");
    server.abort();
}
