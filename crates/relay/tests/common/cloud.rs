//! A cloud stand-in: a small axum WebSocket server that speaks the uplink (greeting,
//! authenticate, binary zstd `telemetry_batch` frames, `ack`), stores each (driver, origin,
//! batch sequence) once like the real cloud must, and can go away and come back on the same port.
//! Like the real cloud it answers `ping` with `pong` after handling every earlier frame, keeps
//! the team messages a relay sends (text frames), fans each of them back out to every
//! subscribed connection (the relay's own included), and sends down what a test pushes with
//! [`CloudStore::push`]. Several stand-ins may share one store (cloud nodes on one database).
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message as Ws, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use pitbox_hub::uplink::{Deduper, Verdict, decode_frame, numbering};
use pitbox_model::Message;
use pitbox_model::control::{Ack, AuthenticationResult, ConnectionEstablished};
use tokio::sync::{broadcast, watch};

/// What the cloud has stored: sample sequences per driver, in stored order. Survives restarts.
pub struct CloudStore {
    pub dedupe: Mutex<Deduper>,
    pub samples: Mutex<HashMap<String, Vec<u64>>>,
    /// The session clock of each stored sample, in the same order as `samples`.
    pub session_times: Mutex<HashMap<String, Vec<f64>>>,
    pub frames: Mutex<u64>,
    pub duplicates: Mutex<u64>,
    pub gaps: Mutex<u64>,
    /// Team messages received from relays, in order, with the node (port) that got each.
    pub messages: Mutex<Vec<(u16, Message)>>,
    /// Subscriptions received.
    pub subscribes: Mutex<Vec<pitbox_model::control::Subscribe>>,
    /// Authenticated connections per node (port).
    pub connections: Mutex<HashMap<u16, u64>>,
    /// Live samples (`telemetry_update` text frames) received from driver agents in direct mode.
    pub live: Mutex<u64>,
    /// What every connection of every node sends down (fan-out).
    down: broadcast::Sender<Message>,
}

impl Default for CloudStore {
    fn default() -> Self {
        let (down, _) = broadcast::channel(1024);
        CloudStore {
            dedupe: Default::default(),
            samples: Default::default(),
            session_times: Default::default(),
            frames: Default::default(),
            duplicates: Default::default(),
            gaps: Default::default(),
            messages: Default::default(),
            subscribes: Default::default(),
            connections: Default::default(),
            live: Default::default(),
            down,
        }
    }
}

impl CloudStore {
    /// Sends `m` down to every subscribed connection (as the cloud's fan-out does).
    pub fn push(&self, m: Message) {
        let _ = self.down.send(m);
    }

    pub fn messages(&self) -> Vec<Message> {
        self.messages.lock().unwrap().iter().map(|(_, m)| m.clone()).collect()
    }

    pub fn samples_of(&self, driver: &str) -> Vec<u64> {
        self.samples.lock().unwrap().get(driver).cloned().unwrap_or_default()
    }

    pub fn session_times_of(&self, driver: &str) -> Vec<f64> {
        self.session_times.lock().unwrap().get(driver).cloned().unwrap_or_default()
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
    port: u16,
}

impl Cloud {
    pub async fn start(addr: SocketAddr, store: Arc<CloudStore>) -> Cloud {
        Self::start_with(addr, store, None).await
    }

    /// A stand-in serving `wss://` with `tls`.
    pub async fn start_tls(addr: SocketAddr, store: Arc<CloudStore>, tls: rustls::ServerConfig) -> Cloud {
        Self::start_with(addr, store, Some(tls)).await
    }

    async fn start_with(addr: SocketAddr, store: Arc<CloudStore>, tls: Option<rustls::ServerConfig>) -> Cloud {
        let (stop, stop_rx) = watch::channel(false);
        let mut last_err = None;
        for _ in 0..50 {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => {
                    let addr = listener.local_addr().unwrap();
                    let st = St { store: store.clone(), stop: stop_rx.clone(), port: addr.port() };
                    let app = Router::new().route("/ws", get(upgrade)).with_state(st);
                    let mut s = stop_rx.clone();
                    let graceful = async move {
                        let _ = s.changed().await;
                    };
                    let task = match tls {
                        Some(tls) => pitbox_relay::tls::serve(listener, app, graceful, tls).unwrap(),
                        None => tokio::spawn(async move {
                            let _ = axum::serve(listener, app).with_graceful_shutdown(graceful).await;
                        }),
                    };
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
    let mut subscribed = false;
    let mut down = st.store.down.subscribe();
    loop {
        let msg = tokio::select! {
            m = socket.recv() => m,
            d = down.recv() => {
                if let Ok(d) = d && subscribed && !send(&mut socket, &d).await {
                    return;
                }
                continue;
            }
            _ = st.stop.changed() => return,
        };
        let Some(Ok(msg)) = msg else { return };
        match msg {
            Ws::Text(t) => {
                let m = pitbox_model::decode(t.as_bytes()).expect("the relay sends valid messages");
                match m {
                    Message::Authenticate(_) => {}
                    Message::Ping(p) => {
                        if !send(&mut socket, &Message::Pong(p)).await {
                            return;
                        }
                        continue;
                    }
                    Message::TelemetryUpdate(_) => {
                        // A driver agent in direct mode: the live copy, not stored.
                        *st.store.live.lock().unwrap() += 1;
                        continue;
                    }
                    Message::Subscribe(s) => {
                        assert!(authed, "subscribe before authenticate");
                        st.store.subscribes.lock().unwrap().push(s);
                        subscribed = true;
                        continue;
                    }
                    other => {
                        assert!(authed, "{} before authenticate", other.type_name());
                        st.store.messages.lock().unwrap().push((st.port, other.clone()));
                        st.store.push(other); // the cloud's fan-out, back to the relay too
                        continue;
                    }
                }
                if let Ok(Message::Authenticate(a)) = pitbox_model::decode(t.as_bytes()) {
                    // A relay, or a spooling driver agent in direct mode.
                    assert!(
                        a.client_type == pitbox_model::ClientType::Relay || a.spooled,
                        "a relay or a spooling agent: {a:?}"
                    );
                    authed = true;
                    *st.store.connections.lock().unwrap().entry(st.port).or_default() += 1;
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
                    let key = numbering(&batch);
                    match d.check(&key, batch.sequence) {
                        Verdict::New => {
                            let mut s = st.store.samples.lock().unwrap();
                            let list = s.entry(batch.driver_id.clone()).or_default();
                            list.extend(batch.samples.iter().map(|x| x.sequence.unwrap_or(0)));
                            let mut t = st.store.session_times.lock().unwrap();
                            let times = t.entry(batch.driver_id.clone()).or_default();
                            times.extend(batch.samples.iter().map(|x| x.session_time.unwrap_or(f64::NAN)));
                            d.commit(&key, batch.sequence);
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
