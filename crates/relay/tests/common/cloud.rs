//! A cloud stand-in: a small axum WebSocket server that speaks the uplink (greeting,
//! authenticate, binary zstd `telemetry_batch` frames, `ack`), stores each (driver, batch
//! sequence) once like the real cloud must, and can go away and come back on the same port.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message as Ws, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use pitbox_hub::uplink::{Deduper, Verdict, decode_frame};
use pitbox_model::Message;
use pitbox_model::control::{Ack, AuthenticationResult, ConnectionEstablished};
use tokio::sync::watch;

/// What the cloud has stored: sample sequences per driver, in stored order. Survives restarts.
#[derive(Default)]
pub struct CloudStore {
    pub dedupe: Mutex<Deduper>,
    pub samples: Mutex<HashMap<String, Vec<u64>>>,
    pub frames: Mutex<u64>,
    pub duplicates: Mutex<u64>,
    pub gaps: Mutex<u64>,
}

impl CloudStore {
    pub fn samples_of(&self, driver: &str) -> Vec<u64> {
        self.samples.lock().unwrap().get(driver).cloned().unwrap_or_default()
    }
}

pub struct Cloud {
    pub addr: SocketAddr,
    pub store: Arc<CloudStore>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct St {
    store: Arc<CloudStore>,
    stop: watch::Receiver<bool>,
}

impl Cloud {
    pub async fn start(addr: SocketAddr, store: Arc<CloudStore>) -> Cloud {
        let (stop, stop_rx) = watch::channel(false);
        let app =
            Router::new().route("/ws", get(upgrade)).with_state(St { store: store.clone(), stop: stop_rx.clone() });
        let mut last_err = None;
        for _ in 0..50 {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => {
                    let addr = listener.local_addr().unwrap();
                    let mut s = stop_rx.clone();
                    let task = tokio::spawn(async move {
                        let _ = axum::serve(listener, app)
                            .with_graceful_shutdown(async move {
                                let _ = s.changed().await;
                            })
                            .await;
                    });
                    return Cloud { addr, store, stop, task };
                }
                Err(e) => {
                    last_err = Some(e);
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
        panic!("cloud stand-in cannot bind {addr}: {last_err:?}");
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Goes away: drops every connection abruptly and stops listening.
    pub async fn stop(self) -> SocketAddr {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.task).await;
        self.addr
    }
}

async fn upgrade(State(st): State<St>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(64 << 20).on_upgrade(move |socket| serve(socket, st))
}

async fn send(socket: &mut WebSocket, m: &Message) -> bool {
    socket.send(Ws::text(m.to_json())).await.is_ok()
}

async fn serve(mut socket: WebSocket, mut st: St) {
    let hello = Message::ConnectionEstablished(ConnectionEstablished {
        server_id: "cloud-standin".into(),
        timestamp: chrono::Utc::now(),
        version: "1.0".into(),
        auth_timeout_secs: Some(10),
    });
    if !send(&mut socket, &hello).await {
        return;
    }
    let mut authed = false;
    loop {
        let msg = tokio::select! {
            m = socket.recv() => m,
            _ = st.stop.changed() => return,
        };
        let Some(Ok(msg)) = msg else { return };
        match msg {
            Ws::Text(t) => {
                if let Ok(Message::Authenticate(a)) = pitbox_model::decode(t.as_bytes()) {
                    assert_eq!(a.client_type, pitbox_model::ClientType::Relay);
                    authed = true;
                    let ok = Message::AuthenticationResult(AuthenticationResult {
                        success: true,
                        user_id: Some("relay-1".into()),
                        role: Some(pitbox_model::UserRole::Admin),
                        team_id: Some("team-a".into()),
                        reason: None,
                    });
                    if !send(&mut socket, &ok).await {
                        return;
                    }
                }
            }
            Ws::Binary(b) => {
                assert!(authed, "batch before authenticate");
                let batch = decode_frame(&b, 16 << 20).expect("valid uplink frame");
                *st.store.frames.lock().unwrap() += 1;
                let ack_seq = {
                    let mut d = st.store.dedupe.lock().unwrap();
                    match d.check(&batch.driver_id, batch.sequence) {
                        Verdict::New => {
                            let mut s = st.store.samples.lock().unwrap();
                            let list = s.entry(batch.driver_id.clone()).or_default();
                            list.extend(batch.samples.iter().map(|x| x.sequence.unwrap_or(0)));
                            d.commit(&batch.driver_id, batch.sequence);
                            batch.sequence
                        }
                        Verdict::Duplicate { last } => {
                            *st.store.duplicates.lock().unwrap() += 1;
                            last
                        }
                        Verdict::Gap { last } => {
                            *st.store.gaps.lock().unwrap() += 1;
                            last
                        }
                    }
                };
                if ack_seq > 0 {
                    let ack = Message::Ack(Ack { driver_id: batch.driver_id.clone(), sequence: ack_seq });
                    if !send(&mut socket, &ack).await {
                        return;
                    }
                }
            }
            Ws::Close(_) => return,
            _ => {}
        }
    }
}
