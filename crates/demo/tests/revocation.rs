//! Issue 23 §9 across the chain: a driver's token revoked on the cloud is refused by the relay
//! of the team within seconds, and the driver's open relay connection is closed (4009). Before,
//! a relay checked only the signature, so a disabled driver streamed on until the token expired.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

mod common;
use common::Chain;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame as JSON, or `{"close": code}`.
async fn next(ws: &mut Ws, within: Duration) -> Option<Value> {
    loop {
        let m = tokio::time::timeout(within, ws.next()).await.ok()??.ok()?;
        match m {
            WsMessage::Text(t) => return serde_json::from_str(&t).ok(),
            WsMessage::Close(c) => return Some(json!({"close": c.map(|c| u16::from(c.code))})),
            _ => {}
        }
    }
}

async fn login(addr: SocketAddr, token: &str) -> (Ws, Value) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.expect("connect");
    let hello = next(&mut ws, Duration::from_secs(5)).await.expect("hello");
    assert_eq!(hello["type"], "connection_established");
    let auth = json!({"type": "authenticate", "data": {"token": token, "clientType": "driver", "version": "1.0"}});
    ws.send(WsMessage::Text(auth.to_string().into())).await.expect("send");
    let r = next(&mut ws, Duration::from_secs(5)).await.expect("result");
    (ws, r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_disabled_on_the_cloud_is_cut_off_the_relay_within_seconds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chain = Chain::start(dir.path()).await;
    let (cloud, team, relay) = (&chain.cloud, &chain.team, &chain.relay);
    let (alex, ben) = (team.drivers()[0].clone(), team.drivers()[1].clone());
    let token = |a: &pitbox_demo::accounts::DemoAccount| chain.token(a);

    let (mut alex_ws, r) = login(relay.addr(), &token(&alex)).await;
    assert_eq!(r["data"]["success"], true, "{r}");
    let ben_token = token(&ben);
    let (mut ben_ws, r) = login(relay.addr(), &ben_token).await;
    assert_eq!(r["data"]["success"], true, "{r}");

    // Disabled on the cloud (what `pitbox user disable` and POST /api/users/{id}/disable do).
    let user = pitbox_cloud::accounts::find_user(&cloud.store, &alex.user_id).await.expect("user");
    let at = Instant::now();
    pitbox_cloud::accounts::disable(&cloud.store, &user).await.expect("disable");
    let mut closed = None;
    while at.elapsed() < Duration::from_secs(15) {
        match next(&mut alex_ws, Duration::from_secs(15)).await {
            Some(v) if v.get("close").is_some() => {
                closed = Some(v["close"].clone());
                break;
            }
            Some(_) => continue,
            None => break,
        }
    }
    let took = at.elapsed();
    assert_eq!(closed, Some(json!(4009)), "the relay closed the disabled driver's connection as revoked");
    println!("relay closed the disabled driver's connection {} ms after the change", took.as_millis());
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // Signing in again with that token is refused; a teammate is untouched.
    let (_, r) = login(relay.addr(), &token(&alex)).await;
    assert_eq!(r["data"]["success"], false, "{r}");
    assert!(r["data"]["reason"].as_str().unwrap_or("").contains("revoked"), "{r}");
    ben_ws
        .send(WsMessage::Text(
            json!({"type": "ping", "data": {"id": 1, "timestamp": "2026-12-06T00:00:00Z"}}).to_string().into(),
        ))
        .await
        .expect("ping");
    let pong = next(&mut ben_ws, Duration::from_secs(5)).await.expect("pong");
    assert_eq!(pong["type"], "pong", "{pong}");
    chain.relay.shutdown().await;
}
