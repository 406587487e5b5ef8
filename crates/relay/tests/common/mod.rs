//! Test helpers: a relay on loopback, tokens, and a WebSocket client that speaks the protocol.
#![allow(dead_code)]

pub mod cloud;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pitbox_auth::{Claims, DEFAULT_TTL, KeyPair, Signer};
use pitbox_model::control::{Authenticate, AuthenticationResult, PROTOCOL_VERSION};
use pitbox_model::telemetry::{TelemetryUpdate, TireWear};
use pitbox_model::{ClientType, Message, UserRole};
use pitbox_relay::{RelayConfig, RelayHandle};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const TEAM: &str = "team-a";
pub const OTHER_TEAM: &str = "team-b";

pub struct Env {
    pub dir: tempfile::TempDir,
    pub signer: Signer,
    pub relay: Option<RelayHandle>,
    pub url: String,
}

impl Env {
    /// An offline relay with default settings changed by `tweak`.
    pub async fn start(tweak: impl FnOnce(&mut RelayConfig)) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let (pair, _) = KeyPair::load_or_create(dir.path()).unwrap();
        let mut verifier = pitbox_auth::Verifier::new();
        verifier.add_data_dir(dir.path()).unwrap();
        let mut cfg = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"), verifier);
        tweak(&mut cfg);
        let relay = pitbox_relay::start(cfg).await.unwrap();
        let url = format!("ws://{}/", relay.addr());
        Env { dir, signer: Signer::new(&pair, "pitbox-offline"), relay: Some(relay), url }
    }

    pub fn token(&self, user: &str, role: UserRole, team: &str) -> String {
        self.signer.issue(user, role, team, None, DEFAULT_TTL).unwrap().0
    }

    pub fn expired_token(&self, user: &str) -> String {
        let mut c = Claims::new(user, UserRole::Driver, TEAM, None, "pitbox-offline", DEFAULT_TTL).expect("claims");
        c.iat -= 10 * 86_400;
        c.exp = c.iat + 3600;
        self.signer.sign(&c).unwrap()
    }

    /// A client authenticated as `user` with `role` in `team`.
    pub async fn client(&self, user: &str, role: UserRole, team: &str) -> Client {
        let mut c = Client::connect(&self.url).await;
        let kind = if role == UserRole::Driver { ClientType::Driver } else { ClientType::Dashboard };
        let r = c.authenticate(&self.token(user, role, team), kind).await;
        assert!(r.success, "auth failed: {r:?}");
        c
    }

    pub fn addr(&self) -> SocketAddr {
        self.relay.as_ref().unwrap().addr()
    }

    /// A plain HTTP/1.1 GET of `path` on the relay's port (with `extra` header lines, each ending
    /// in `\r\n`), as a browser or scraper sends it: the whole response, head and body.
    pub async fn http_get(&self, path: &str, extra: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(self.addr()).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub closed: Option<(u16, String)>,
}

impl Client {
    /// Connects and reads the greeting.
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
        let mut c = Client { ws, closed: None };
        match c.recv().await {
            Some(Message::ConnectionEstablished(g)) => assert_eq!(g.version, PROTOCOL_VERSION),
            other => panic!("expected connection_established, got {other:?}"),
        }
        c
    }

    pub async fn send(&mut self, m: &Message) {
        self.ws.send(Ws::text(m.to_json())).await.expect("send");
    }

    pub async fn send_raw(&mut self, s: &str) {
        self.ws.send(Ws::text(s.to_string())).await.expect("send");
    }

    pub async fn authenticate(&mut self, token: &str, kind: ClientType) -> AuthenticationResult {
        self.send(&Message::Authenticate(Authenticate {
            token: token.into(),
            client_type: kind,
            version: PROTOCOL_VERSION.into(),
            spooled: false,
        }))
        .await;
        match self.recv().await {
            Some(Message::AuthenticationResult(r)) => r,
            other => panic!("expected authentication_result, got {other:?}"),
        }
    }

    /// Next protocol message within 5 s; `None` when the connection closed (see `closed`).
    pub async fn recv(&mut self) -> Option<Message> {
        self.recv_within(Duration::from_secs(5)).await.unwrap_or_else(|| panic!("no message within 5 s"))
    }

    /// Next protocol message within `d`: `None` on timeout, `Some(None)` on close.
    pub async fn recv_within(&mut self, d: Duration) -> Option<Option<Message>> {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next()).await.ok()?;
            match next {
                None | Some(Err(_)) => return Some(None),
                Some(Ok(Ws::Text(t))) => {
                    return Some(Some(
                        pitbox_model::decode_with_limit(t.as_bytes(), 1 << 24).expect("server sent valid message"),
                    ));
                }
                Some(Ok(Ws::Close(f))) => {
                    self.closed =
                        Some(f.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new())));
                    return Some(None);
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// Whether nothing (but pings) arrives within `d`.
    pub async fn silent_for(&mut self, d: Duration) -> bool {
        match self.recv_within(d).await {
            None => true,
            Some(m) => {
                eprintln!("unexpected: {m:?}");
                false
            }
        }
    }

    /// Reads until the server closes; returns the close code and reason, and the messages seen.
    pub async fn until_closed(&mut self) -> ((u16, String), Vec<Message>) {
        let mut seen = Vec::new();
        loop {
            match self.recv_within(Duration::from_secs(10)).await {
                None => panic!("server did not close within 10 s; saw {seen:?}"),
                Some(None) => return (self.closed.clone().unwrap_or((1006, String::new())), seen),
                Some(Some(m)) => seen.push(m),
            }
        }
    }

    /// Sends a ping and reads until its pong, returning what came before.
    pub async fn sync(&mut self) -> Vec<Message> {
        let id = fastrand::u64(1..u64::MAX / 2);
        self.send(&Message::Ping(pitbox_model::control::Ping { id, timestamp: chrono::Utc::now() })).await;
        let mut before = Vec::new();
        loop {
            match self.recv().await {
                Some(Message::Pong(p)) if p.id == id => return before,
                Some(m) => before.push(m),
                None => panic!("closed while syncing: {:?}; saw {before:?}", self.closed),
            }
        }
    }
}

pub fn sample(driver: &str, seq: u64) -> TelemetryUpdate {
    TelemetryUpdate {
        driver_id: driver.into(),
        timestamp: chrono::Utc::now(),
        speed: 100.0 + (seq % 100) as f64,
        rpm: 6000.0,
        gear: 4,
        throttle: 80.0,
        brake: 0.0,
        steering_angle: -3.0,
        latitude: None,
        longitude: None,
        track_position: (seq % 1000) as f64 / 1000.0,
        lap: 3,
        sector: 1,
        fuel_level: 50.0,
        tire_wear: TireWear { front_left: 1.0, front_right: 1.0, rear_left: 1.0, rear_right: 1.0 },
        position: None,
        lap_distance: None,
        lap_time: None,
        session_time: None,
        yaw_rate: None,
        lateral_accel: None,
        longitudinal_accel: None,
        fuel_liters: None,
        on_pit_road: None,
        sequence: Some(seq),
        sim_session_id: None,
        last_lap_time: None,
        on_track: None,
        in_garage: None,
        replay_playing: None,
        off_track: None,
        session_laps_remaining: None,
        session_time_remaining: None,
        pit_service_flags: None,
        pit_service_fuel_l: None,
        session_flags: None,
    }
}

pub fn telemetry(driver: &str, seq: u64) -> Message {
    Message::TelemetryUpdate(sample(driver, seq))
}
