//! The relay's `/health` tells the truth about its cloud link: `ok` only while the uplink is up
//! and taking batches; `degraded`, with the reason, when the cloud is gone (batches spooling),
//! refuses the relay's token, or refuses what the relay sends.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ws::{Message as Ws, WebSocket, WebSocketUpgrade};
use axum::routing::get;
use common::cloud::{Cloud, CloudStore};
use common::{Env, TEAM, telemetry};
use pitbox_model::control::{AuthenticationResult, ConnectionEstablished, ErrorCode};
use pitbox_model::{Message, UserRole};
use pitbox_relay::UplinkConfig;

fn uplink(url: String) -> UplinkConfig {
    UplinkConfig {
        url,
        token: "relay-token".into(),
        window: 32,
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
    }
}

async fn health(env: &Env) -> serde_json::Value {
    let text = env.http_get("/health", "").await;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("/health {text}: {e}"))
}

/// Polls `/health` until `ok` holds for it (10 s at most); returns that body.
async fn health_until(env: &Env, what: &str, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let h = health(env).await;
        if ok(&h) {
            return h;
        }
        assert!(Instant::now() < deadline, "/health never showed {what}: {h}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How a misbehaving cloud answers.
#[derive(Clone, Copy)]
enum Refuses {
    /// The relay's token.
    Token,
    /// Every batch, on an authenticated link.
    Batches,
}

async fn refusing_cloud(how: Refuses) -> SocketAddr {
    async fn serve(mut s: WebSocket, how: Refuses) {
        let hello = Message::ConnectionEstablished(ConnectionEstablished {
            server_id: "cloud-refusing".into(),
            timestamp: chrono::Utc::now(),
            version: "1.0".into(),
            auth_timeout_secs: Some(10),
        });
        let _ = s.send(Ws::text(hello.to_json())).await;
        while let Some(Ok(f)) = s.recv().await {
            let reply = match f {
                Ws::Text(t) => match pitbox_model::decode(t.as_bytes()) {
                    Ok(Message::Authenticate(_)) => {
                        let ok = matches!(how, Refuses::Batches);
                        Message::AuthenticationResult(AuthenticationResult {
                            success: ok,
                            user_id: ok.then(|| "relay-1".into()),
                            role: ok.then_some(UserRole::Admin),
                            team_id: ok.then(|| TEAM.into()),
                            reason: (!ok).then(|| "a relay must authenticate as a driver or an admin".into()),
                        })
                    }
                    Ok(Message::Ping(p)) => Message::Pong(p),
                    _ => continue,
                },
                Ws::Binary(_) => {
                    let mut e =
                        Message::error(ErrorCode::Forbidden, "driver drv-1 is not a member of team team-a", None);
                    if let Message::Error(x) = &mut e {
                        x.message_type = Some("telemetry_batch".into());
                    }
                    e
                }
                _ => continue,
            };
            if s.send(Ws::text(reply.to_json())).await.is_err() {
                return;
            }
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/ws", get(move |up: WebSocketUpgrade| async move { up.on_upgrade(move |s| serve(s, how)) }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_degraded_while_the_cloud_is_away_and_says_how_much_is_spooled() {
    let store = Arc::new(CloudStore::default());
    let cloud = Cloud::start("127.0.0.1:0".parse().unwrap(), store).await;
    let url = cloud.url();
    let env = Env::start(|c| {
        c.batch_interval = Duration::from_millis(50);
        c.cloud = Some(uplink(url));
    })
    .await;
    let h = health_until(&env, "a connected uplink", |h| h["uplink"] == "connected").await;
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["uplinkDetail"]["state"], "connected", "{h}");

    cloud.stop().await;
    let h = health_until(&env, "the uplink down", |h| h["uplink"] == "disconnected").await;
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(h["uplinkDetail"]["reason"].as_str().is_some_and(|r| !r.is_empty()), "{h}");
    // A driver streams on; its samples wait in the spool and /health counts them.
    let mut drv = env.client("drv-1", UserRole::Driver, TEAM).await;
    for seq in 1..=20 {
        drv.send(&telemetry("drv-1", seq)).await;
    }
    drv.sync().await;
    let h = health_until(&env, "spooled batches", |h| h["uplinkDetail"]["spooling"].as_u64().unwrap_or(0) > 0).await;
    assert_eq!(h["status"], "degraded", "{h}");
    assert_eq!(h["spool"]["batches"], h["uplinkDetail"]["spooling"], "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_relay_token_is_unauthorised_and_degraded() {
    let addr = refusing_cloud(Refuses::Token).await;
    let env = Env::start(|c| c.cloud = Some(uplink(format!("ws://{addr}/ws")))).await;
    let h = health_until(&env, "unauthorised", |h| h["uplink"] == "unauthorised").await;
    assert_eq!(h["status"], "degraded", "{h}");
    let reason = h["uplinkDetail"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("a relay must authenticate as a driver or an admin"), "{h}");
}

/// Once the uplink is connected, streams samples 1…`n` of drv-1 and waits for the uplink to be
/// refused; returns that `/health`, checked `degraded`.
async fn refused_after_streaming(env: &Env, n: u64) -> serde_json::Value {
    health_until(env, "a connected uplink", |h| h["uplink"] == "connected").await;
    let mut drv = env.client("drv-1", UserRole::Driver, TEAM).await;
    for seq in 1..=n {
        drv.send(&telemetry("drv-1", seq)).await;
    }
    let h = health_until(env, "refused", |h| h["uplink"] == "refused").await;
    assert_eq!(h["status"], "degraded", "{h}");
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_refusing_every_batch_is_refused_and_degraded() {
    let addr = refusing_cloud(Refuses::Batches).await;
    let env = Env::start(|c| {
        c.batch_interval = Duration::from_millis(50);
        c.cloud = Some(uplink(format!("ws://{addr}/ws")));
    })
    .await;
    let h = refused_after_streaming(&env, 20).await;
    assert_eq!(h["uplinkDetail"]["lastRefusal"]["code"], "forbidden", "{h}");
    assert!(h["uplinkDetail"]["lastRefusal"]["message"].as_str().unwrap_or_default().contains("not a member"), "{h}");
}

#[tokio::test]
async fn a_taken_address_is_named_once_with_the_flag_to_change_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut verifier = pitbox_auth::Verifier::new();
    pitbox_auth::KeyPair::load_or_create(dir.path()).unwrap();
    verifier.add_data_dir(dir.path()).unwrap();
    let cfg = pitbox_relay::RelayConfig::new(addr, dir.path().join("data"), verifier);
    let err = match pitbox_relay::start(cfg).await {
        Ok(_) => panic!("the relay started on a taken address"),
        Err(e) => e,
    };
    let text = format!("{:#}", anyhow::Error::from(err));
    assert!(text.starts_with(&format!("cannot listen on {addr}: ")), "{text}");
    assert_eq!(text.matches("os error").count(), 1, "the cause once: {text}");
    assert!(text.contains("another address with --listen"), "{text}");
    drop(taken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_on_a_fresh_spool_is_not_behind_an_earlier_relays_numbering() {
    // The cloud stored 50 batches of drv-1 from an earlier relay (one without an origin); this
    // one starts from 1 under its spool's own origin: stored, not taken for the earlier ones.
    let store = Arc::new(CloudStore::default());
    store.dedupe.lock().unwrap().commit("drv-1", 50);
    let cloud = Cloud::start("127.0.0.1:0".parse().unwrap(), store.clone()).await;
    let url = cloud.url();
    let env = Env::start(|c| {
        c.batch_interval = Duration::from_millis(50);
        c.cloud = Some(uplink(url));
    })
    .await;
    health_until(&env, "a connected uplink", |h| h["uplink"] == "connected").await;
    let mut drv = env.client("drv-1", UserRole::Driver, TEAM).await;
    for seq in 1..=5 {
        drv.send(&telemetry("drv-1", seq)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.samples_of("drv-1").len() < 5 {
        assert!(Instant::now() < deadline, "stored: {:?}", store.samples_of("drv-1"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store.samples_of("drv-1"), vec![1, 2, 3, 4, 5]);
    assert_eq!(*store.duplicates.lock().unwrap(), 0);
    let h = health(&env).await;
    assert_eq!((h["status"].as_str(), h["uplink"].as_str()), (Some("ok"), Some("connected")), "{h}");
    cloud.stop().await;
}
