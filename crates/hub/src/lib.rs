//! The WebSocket hub shared by the relay and the cloud. This crate owns everything a PitBox server
//! does with a client connection: the per-connection state machine (greeting, auth timeout,
//! `authenticate`, role and team checks on every message from `MESSAGE_SPECS`, driverId/senderId
//! ownership, frame size limit, refused-frame counting and rate limits, close codes as
//! docs/protocol.md says), the subscription registry with per-subscriber throttled, coalesced
//! dispatch (newest sample per driver at the subscriber's rate, slow consumers dropped-to-latest,
//! bounded memory), the handoff state machine, the uplink frame codec (zstd-compressed
//! `telemetry_batch`) with its dedupe rule, live video fan-out (binary frames of `pitbox-video` to
//! the team's subscribers of the `video` channel; `video.rs`), and the [`Bus`] trait for fan-out between nodes with an
//! in-process implementation. It does not own storage, the uplink client or HTTP routing: servers
//! plug those in through [`Hooks`] and mount [`Hub::ws_handler`] on their router.

mod bus;
mod config;
mod conn;
mod latest;
mod limits;
pub mod log_filter;
mod metrics;
mod outbox;
mod registry;
pub mod uplink;
mod video;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::extract::ws::{Utf8Bytes, WebSocketUpgrade};
use axum::response::Response;
use pitbox_auth::{AuthError, Identity, Verifier};
use pitbox_model::control::{Ack, ErrorCode, TelemetryBatch};
use pitbox_model::team::HandoffRequest;
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_model::{Channel, ClientType, Message, UserRole};

pub use bus::{Bus, BusError, BusEvent, LocalBus};
pub use config::HubConfig;
pub use metrics::{HubMetrics, process_cpu_seconds, process_memory_bytes, render_process};
pub use outbox::Offer;

/// The listener with Nagle's algorithm off on every accepted socket. With it on, a small frame
/// written while an earlier one is unacknowledged waits for the peer's delayed ACK (40 ms on
/// Linux): an uplink ack or a live sample would arrive late for no reason. The return type is
/// spelled out because axum implements `ConnectInfo` for this concrete `TapIo`.
pub fn no_delay(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    fn set(tcp: &mut tokio::net::TcpStream) {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    }
    listener.tap_io(set as fn(&mut tokio::net::TcpStream))
}

/// Close codes the hub uses (docs/protocol.md "Error codes").
pub mod close {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// Policy violation: the client reads too slowly and its outbound queue overflowed.
    pub const SLOW_CONSUMER: u16 = 1008;
    /// A frame over the size limit.
    pub const TOO_LARGE: u16 = 1009;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Authentication failed.
    pub const AUTH_FAILED: u16 = 4001;
    /// No `authenticate` within the auth timeout.
    pub const AUTH_TIMEOUT: u16 = 4002;
    /// The peer's protocol major version differs.
    pub const UNSUPPORTED_VERSION: u16 = 4003;
    /// Too many refused frames, or a rate limit that persists.
    pub const POLICY: u16 = 4008;
    /// The connection's token was revoked (logout, password or role change, account disabled
    /// or deleted): sign in again.
    pub const REVOKED: u16 = 4009;
}

/// Checks an `authenticate` token. [`pitbox_auth::Verifier`] is the usual implementation; the
/// cloud may wrap it with a revocation list.
pub trait TokenCheck: Send + Sync + 'static {
    /// Who the token says the caller is, or why it is refused.
    fn check(&self, token: &str) -> Result<Identity, AuthError>;
}

impl TokenCheck for Verifier {
    fn check(&self, token: &str) -> Result<Identity, AuthError> {
        self.verify(token)
    }
}

/// A refusal a hook returns: sent to the client as an `error` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
}

impl Refusal {
    /// A refusal with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal { code, message: message.into(), field: None }
    }
}

/// The authenticated client a message came from.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    /// Who its token says it is.
    pub who: &'a Identity,
    /// What it said it is in `authenticate`. A `relay` carries a whole team's traffic: it is
    /// rate-limited by [`HubConfig::relay_rate_per_sec`] and never closed for refused messages,
    /// so one driver's bad message does not cut the team's uplink.
    pub client_type: ClientType,
    /// It said in `authenticate` that it spools its samples and sends them as numbered
    /// `telemetry_batch`es: its `telemetry_update`s are for the live view only.
    pub spooled: bool,
}

/// The rest of a message's handling, finished after the connection reads on (see
/// [`Handling::Later`]). Its output is the reply for the sender, or a refusal.
pub type Later = std::pin::Pin<Box<dyn Future<Output = Result<Option<Message>, Refusal>> + Send + 'static>>;

/// At most this many [`Handling::Later`] messages of one connection are unfinished at a time;
/// at the limit the connection reads nothing more until the oldest finishes.
pub const MAX_LATER_PER_CONNECTION: usize = 64;

/// What the server's [`Hooks::on_client_message`] did with a message.
pub enum Handling {
    /// The hub handles it: ownership checks, the in-memory handoff book, routing to the team
    /// (what the relay does).
    Hub(Message),
    /// The server took it — validated, stored and published it itself (the cloud stores first,
    /// then fans out from its bus through [`Hub::deliver`]). The reply, if any, goes to the sender.
    Taken(Option<Message>),
    /// The server accepted it in order and finishes it while the connection reads on: the
    /// cloud queues an uplink batch for storage and acknowledges it once durable, so a relay's
    /// window of batches shares commits instead of waiting for one commit each. Replies go
    /// out in the order the messages arrived.
    Later(Later),
}

impl std::fmt::Debug for Handling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Handling::Hub(m) => f.debug_tuple("Hub").field(m).finish(),
            Handling::Taken(r) => f.debug_tuple("Taken").field(r).finish(),
            Handling::Later(_) => f.write_str("Later(..)"),
        }
    }
}

/// What a server does with accepted data beyond live fan-out (the relay spools and forwards
/// telemetry; the cloud stores it). Called on the connection's own task, in order.
pub trait Hooks: Send + Sync + 'static {
    /// A validated and authorised telemetry sample. `Ok(true)`: fan it out; `Ok(false)`: it is
    /// a duplicate (already seen), drop it silently. Awaiting here slows only this connection.
    fn on_telemetry(
        &self,
        _who: &Identity,
        _sample: &TelemetryUpdate,
    ) -> impl Future<Output = Result<bool, Refusal>> + Send {
        async { Ok(true) }
    }

    /// Whether an authenticated token may connect as `client_type`; `Err` is the reason sent in
    /// the failed `authentication_result` before the connection closes (4001).
    /// By default a relay's credential is accepted only from a `relay` client.
    fn admit(&self, who: &Identity, client_type: ClientType) -> Result<(), String> {
        if who.relay && client_type != ClientType::Relay {
            return Err("a relay's credential is only for clientType relay".into());
        }
        Ok(())
    }

    /// Whether `who` may subscribe to `team`. By default only to their own.
    fn may_follow(&self, who: &Identity, team: &str) -> bool {
        who.team_id == team
    }

    /// Every message of an authenticated client that passed the role check, except
    /// `subscribe`, `unsubscribe`, `ping` and `pong` (the hub's own), before the hub handles it.
    /// By default the hub handles everything.
    fn on_client_message(
        &self,
        _from: Client<'_>,
        msg: Message,
    ) -> impl Future<Output = Result<Handling, Refusal>> + Send {
        async { Ok(Handling::Hub(msg)) }
    }

    /// An uplink `telemetry_batch` (text or zstd binary frame). Return the `ack` to send, if any.
    /// By default batches are refused: only the cloud accepts them.
    fn on_batch(
        &self,
        _who: &Identity,
        _batch: TelemetryBatch,
    ) -> impl Future<Output = Result<Option<Ack>, Refusal>> + Send {
        async {
            Err(Refusal::new(ErrorCode::Forbidden, "this server does not accept telemetry_batch (cloud uplink only)"))
        }
    }

    /// An accepted team message from a client (`team_message`, `message_read`,
    /// `handoff_request`, `handoff_response`, `session_info`, `standings_update`,
    /// `driver_status`), after it was routed locally. The relay queues these for the cloud.
    /// Awaiting here slows only this connection.
    fn on_message(&self, _who: &Identity, _msg: &Message) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A client authenticated (after `authentication_result` was queued).
    fn on_connect(&self, _who: &Identity) {}

    /// An authenticated client's connection ended.
    fn on_disconnect(&self, _who: &Identity) {}

    /// A video frame of `stream` from `who`, authorised and fanned out to this hub's viewers.
    /// The relay forwards it to the cloud (live only, never spooled); a cloud node hands it to
    /// the other nodes. Must not wait.
    fn on_video(&self, _who: &Identity, _stream: &str, _frame: &pitbox_video::fanout::SharedFrame) {}

    /// A viewer here wants a keyframe of `team`'s `stream`, whose publisher is on another node
    /// (its frames came through [`Hub::deliver_video`]); already rate-limited. A cloud node
    /// passes it on through the bus. Must not wait.
    fn on_remote_keyframe_wanted(&self, _team: &str, _stream: &str) {}
}

/// Hooks that accept everything and store nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}

/// The hub: cheap to clone (an `Arc` inside).
pub struct Hub<H: Hooks> {
    inner: Arc<HubInner<H>>,
}

impl<H: Hooks> Clone for Hub<H> {
    fn clone(&self) -> Self {
        Hub { inner: self.inner.clone() }
    }
}

/// One live, authenticated connection of a user.
pub(crate) struct UserConn {
    pub(crate) id: u64,
    pub(crate) outbox: Arc<outbox::Outbox>,
    pub(crate) team: String,
    pub(crate) role: UserRole,
    /// The token's issue time and id, for revocation ([`Hub::close_revoked`]).
    pub(crate) issued_at_ms: u64,
    pub(crate) token_id: String,
}

/// Live connections of one user.
pub(crate) type UserConns = Vec<UserConn>;

pub(crate) struct HubInner<H: Hooks> {
    pub(crate) config: HubConfig,
    pub(crate) tokens: Arc<dyn TokenCheck>,
    pub(crate) hooks: H,
    pub(crate) registry: registry::Registry,
    pub(crate) users: Mutex<HashMap<String, UserConns>>,
    pub(crate) handoffs: Mutex<HashMap<(String, String), HandoffRequest>>,
    pub(crate) metrics: Arc<HubMetrics>,
    pub(crate) bus: Option<Arc<dyn Bus>>,
    pub(crate) next_conn: AtomicU64,
    pub(crate) video: video::Streams,
}

impl<H: Hooks> Hub<H> {
    /// A hub. With a `bus`, everything it fans out is also published there, and events other
    /// nodes publish are fanned out here; call [`Hub::start_bus`] inside a tokio runtime.
    pub fn new(config: HubConfig, tokens: Arc<dyn TokenCheck>, hooks: H, bus: Option<Arc<dyn Bus>>) -> Hub<H> {
        Hub {
            inner: Arc::new(HubInner {
                config,
                tokens,
                hooks,
                registry: registry::Registry::default(),
                users: Mutex::new(HashMap::new()),
                handoffs: Mutex::new(HashMap::new()),
                metrics: Arc::new(HubMetrics::default()),
                bus,
                next_conn: AtomicU64::new(1),
                video: video::Streams::default(),
            }),
        }
    }

    /// Starts fanning out events other nodes publish on the bus. No-op without a bus.
    pub fn start_bus(&self) -> Option<tokio::task::JoinHandle<()>> {
        let bus = self.inner.bus.clone()?;
        let mut rx = bus.subscribe();
        let inner = self.inner.clone();
        Some(tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if ev.origin == inner.config.server_id {
                    continue;
                }
                // As in `route` (the envelope's `type` comes first, as `Message::to_json` writes it).
                let keep = !json_type(&ev.json).is_some_and(|t| NOT_KEPT_AS_LATEST.contains(&t));
                let frame = Utf8Bytes::from(ev.json.to_string());
                inner.registry.dispatch_except(
                    &ev.team,
                    ev.driver.as_deref(),
                    ev.channel,
                    &frame,
                    &inner.metrics,
                    None,
                    keep,
                );
            }
        }))
    }

    /// The configuration.
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// The hooks.
    pub fn hooks(&self) -> &H {
        &self.inner.hooks
    }

    /// Live counters.
    pub fn metrics(&self) -> &Arc<HubMetrics> {
        &self.inner.metrics
    }

    /// Number of live subscriptions.
    pub fn subscriber_count(&self) -> usize {
        self.inner.registry.len()
    }

    /// Sends a message to every live connection of `user_id`. Returns how many got it.
    pub fn send_to_user(&self, user_id: &str, msg: &Message) -> usize {
        let frame = Utf8Bytes::from(msg.to_json());
        let users = match self.inner.users.lock() {
            Ok(u) => u,
            Err(p) => p.into_inner(),
        };
        let Some(conns) = users.get(user_id) else { return 0 };
        for c in conns {
            c.outbox.push_control(frame.clone());
        }
        conns.len()
    }

    /// Closes every live connection whose token `revoked(user_id, issued_at_ms, token_id)` says is
    /// revoked, with close code [`close::REVOKED`] and `reason`. Returns how many were closed.
    pub fn close_revoked(&self, revoked: impl Fn(&str, u64, &str) -> bool, reason: &str) -> usize {
        let users = match self.inner.users.lock() {
            Ok(u) => u,
            Err(p) => p.into_inner(),
        };
        let mut closed = 0;
        for (user, conns) in users.iter() {
            for c in conns.iter().filter(|c| revoked(user, c.issued_at_ms, &c.token_id)) {
                c.outbox.close(close::REVOKED, reason);
                closed += 1;
            }
        }
        closed
    }

    /// Delivers a message that arrived from elsewhere (the relay's cloud downlink) to the local
    /// clients of `team` entitled to it: subscribers of its channel, and the drivers it is
    /// addressed to (see [`Hub::route`]). Not published on the bus. A `handoff_request` is also
    /// recorded, so local drivers can answer it. Returns how many connections got it; messages
    /// that are not team traffic (control messages) are ignored and return 0.
    pub fn deliver(&self, team: &str, msg: &Message) -> usize {
        if let Message::HandoffRequest(h) = msg {
            let mut book = match self.inner.handoffs.lock() {
                Ok(b) => b,
                Err(p) => p.into_inner(),
            };
            if book.len() >= 10_000 {
                book.retain(|_, v| !v.status.is_final());
            }
            book.insert((team.to_string(), h.id.clone()), h.clone());
        }
        self.inner.route(team, msg, None, false)
    }

    /// Fans a server-originated message (coaching, status) out to a team's subscribers of
    /// `channel`, and to the bus.
    pub fn publish(&self, team: &str, driver: Option<&str>, channel: Channel, msg: &Message) {
        let json = msg.to_json();
        self.inner.fan_out(team, driver, channel, json);
    }

    /// Passes a keyframe request for `team`'s video `stream` to its publisher (the relay calls
    /// this for a request that came down from the cloud). At most one a second per stream goes
    /// on; false when it was not passed (too soon, or no such stream here).
    pub fn request_keyframe(&self, team: &str, stream: &str) -> bool {
        self.inner.keyframe_request(team, stream, false).unwrap_or(false)
    }

    /// A keyframe request for `team`'s `stream` that came from another node: passed to the
    /// stream's publisher if it is connected here (rate-limited), never sent on to the bus.
    pub fn remote_keyframe_request(&self, team: &str, stream: &str) -> bool {
        self.inner.keyframe_request(team, stream, true).unwrap_or(false)
    }

    /// A video frame message another node published for `team` (authorised there): fanned out
    /// to this node's viewers of the team and cached for late ones. Malformed messages are
    /// refused with the decoder's reason.
    pub fn deliver_video(
        &self,
        team: &str,
        message: std::sync::Arc<[u8]>,
    ) -> Result<usize, pitbox_video::VideoFrameError> {
        let f = pitbox_video::wire::decode(&message)?;
        let (stream, sequence, keyframe) = (f.stream_id.to_string(), f.sequence, f.keyframe);
        let frame = pitbox_video::fanout::SharedFrame::new(sequence, keyframe, message);
        let (offered, ask) = self.inner.video.publish_remote(&self.inner.registry, team, &stream, frame);
        if ask {
            self.inner.hooks.on_remote_keyframe_wanted(team, &stream);
        }
        Ok(offered)
    }

    /// The live video streams of `team` on this node and the frames each brought so far.
    pub fn video_streams(&self, team: &str) -> Vec<(String, u64)> {
        self.inner.video.streams(team)
    }

    /// The axum handler for the WebSocket route: `Router::new().route("/", get(Hub::ws_handler))
    /// .with_state(hub)`.
    pub async fn ws_handler(State(hub): State<Hub<H>>, ws: WebSocketUpgrade) -> Response {
        // A video frame message may be larger than a JSON frame (conn.rs allows up to
        // `pitbox_video::wire::MAX_MESSAGE_LEN`).
        let lib_limit =
            hub.inner.config.max_frame_bytes.saturating_mul(4).max(1 << 20).max(pitbox_video::wire::MAX_MESSAGE_LEN);
        // tungstenite zeroes its whole read buffer before each read: its 128 KiB default cost
        // ~6 % of the relay's CPU on sub-KiB driver frames. Larger frames still arrive whole.
        ws.max_message_size(lib_limit)
            .max_frame_size(lib_limit)
            .read_buffer_size(READ_BUFFER_BYTES)
            .on_upgrade(move |socket| async move { conn::serve(hub.inner.clone(), socket).await })
    }

    /// Serves one upgraded WebSocket until it closes (for servers that upgrade themselves).
    pub async fn serve_socket(&self, socket: axum::extract::ws::WebSocket) {
        conn::serve(self.inner.clone(), socket).await
    }
}

/// Bytes read from a client socket at a time.
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// Messages that travel on a channel but are not what a dashboard opened later is caught up
/// with: a pit command is not the car's plan (strategy channel), a request for the driver's
/// video is not the driver's status (status channel). One list for local and bus events.
const NOT_KEPT_AS_LATEST: [&str; 2] = ["pit_command", "video_request"];

/// The `type` of a message's JSON, which `Message::to_json` writes first.
fn json_type(json: &str) -> Option<&str> {
    json.strip_prefix(r#"{"type":""#)?.split('"').next()
}

/// Drivers a message is addressed to beyond the team's subscribers.
enum Addressed {
    Nobody,
    AllDrivers,
    Users(Vec<String>),
}

/// Channel of a team message and the driver it is about (for driver-filtered subscriptions);
/// `None` for control messages.
pub fn channel_of(msg: &Message) -> Option<(Channel, Option<&str>)> {
    Some(match msg {
        Message::TelemetryUpdate(u) => (Channel::Telemetry, Some(u.driver_id.as_str())),
        Message::SessionInfo(s) => (Channel::Session, Some(s.driver_id.as_str())),
        Message::StandingsUpdate(s) => (Channel::Standings, Some(s.driver_id.as_str())),
        Message::DriverStatus(s) => (Channel::Status, Some(s.driver_id.as_str())),
        Message::TeamMessage(_) | Message::MessageRead(_) => (Channel::Messages, None),
        Message::HandoffRequest(_) | Message::HandoffResponse(_) => (Channel::Handoffs, None),
        Message::AiCoaching(c) => (Channel::Coaching, c.driver_id.as_deref()),
        Message::StrategyUpdate(s) => (Channel::Strategy, Some(s.driver_id.as_str())),
        Message::PitCommand(p) => (Channel::Strategy, Some(p.driver_id.as_str())),
        Message::CueReference(c) => (Channel::Coaching, Some(c.driver_id.as_str())),
        // The pit wall's other dashboards see that the driver was asked.
        Message::VideoRequest(v) => (Channel::Status, Some(v.driver_id.as_str())),
        _ => return None,
    })
}

impl<H: Hooks> HubInner<H> {
    /// Passes a keyframe request for `team`'s `stream` on: to its publisher here, or (unless
    /// `local_only`) through the hooks to the node that has it. `Err`: no such stream.
    pub(crate) fn keyframe_request(
        &self,
        team: &str,
        stream: &str,
        local_only: bool,
    ) -> Result<bool, video::KeyframeRefusal> {
        Ok(match self.video.keyframe_request(team, stream, local_only)? {
            video::KeyframeAsk::Sent => true,
            video::KeyframeAsk::Remote => {
                self.hooks.on_remote_keyframe_wanted(team, stream);
                true
            }
            video::KeyframeAsk::NotPassed => false,
        })
    }

    /// Starts a (re)subscribed viewer on the streams it follows; keyframes of streams on other
    /// nodes are asked for through the hooks.
    pub(crate) fn join_video(&self, sub: &registry::Sub) {
        for stream in self.video.join(sub) {
            self.hooks.on_remote_keyframe_wanted(&sub.team, &stream);
        }
    }

    pub(crate) fn conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    fn addressed(&self, team: &str, msg: &Message) -> Addressed {
        match msg {
            Message::AiCoaching(c) => match &c.driver_id {
                Some(d) => Addressed::Users(vec![d.clone()]),
                None => Addressed::AllDrivers,
            },
            // The live plan is also the car's own: its driver hears the key points.
            Message::StrategyUpdate(s) => Addressed::Users(vec![s.driver_id.clone()]),
            // The car's next stop is for its driver's agent, which applies it in the sim.
            Message::PitCommand(p) => Addressed::Users(vec![p.driver_id.clone()]),
            // The lap the driver's cues are made against: for the driver's agent.
            Message::CueReference(c) => Addressed::Users(vec![c.driver_id.clone()]),
            // Asking for the driver's screen: for the driver's agent, which asks the driver.
            Message::VideoRequest(v) => Addressed::Users(vec![v.driver_id.clone()]),
            // A team message has no recipient field: it is for the whole team, drivers included.
            Message::TeamMessage(_) => Addressed::AllDrivers,
            Message::HandoffRequest(h) => Addressed::Users(vec![h.target_driver_id.clone(), h.requester_id.clone()]),
            Message::HandoffResponse(r) => {
                let book = match self.handoffs.lock() {
                    Ok(b) => b,
                    Err(p) => p.into_inner(),
                };
                match book.get(&(team.to_string(), r.handoff_id.clone())) {
                    Some(h) => Addressed::Users(vec![h.target_driver_id.clone(), h.requester_id.clone()]),
                    None => Addressed::Nobody,
                }
            }
            _ => Addressed::Nobody,
        }
    }

    /// Routes a non-telemetry team message: to the team's subscribers of its channel, and to
    /// the connections of the drivers it is addressed to (AI coaching to its driver, team
    /// messages to every driver, handoffs to both drivers named) that did not get it as
    /// subscribers. Never to `origin` (the connection that sent it). Returns how many
    /// connections got it.
    pub(crate) fn route(&self, team: &str, msg: &Message, origin: Option<u64>, to_bus: bool) -> usize {
        let Some((channel, driver)) = channel_of(msg) else { return 0 };
        let json = msg.to_json();
        let frame = Utf8Bytes::from(json.as_str());
        let bit = registry::channel_bit(channel);
        let keep = !NOT_KEPT_AS_LATEST.contains(&msg.type_name());
        let mut reached = self.registry.dispatch_except(team, driver, channel, &frame, &self.metrics, origin, keep);
        let targets = self.addressed(team, msg);
        if !matches!(targets, Addressed::Nobody) {
            let users = match self.users.lock() {
                Ok(u) => u,
                Err(p) => p.into_inner(),
            };
            let mut send = |c: &UserConn| {
                if Some(c.id) == origin || c.team != team {
                    return;
                }
                if self.registry.get(c.id, team).is_some_and(|s| s.wants(driver, bit)) {
                    return; // already has it as a subscriber
                }
                c.outbox.push_control(frame.clone());
                reached += 1;
            };
            match &targets {
                Addressed::Nobody => {}
                Addressed::AllDrivers => {
                    for c in users.values().flatten().filter(|c| c.role == UserRole::Driver) {
                        send(c);
                    }
                }
                Addressed::Users(ids) => {
                    let mut seen: Vec<&str> = Vec::with_capacity(ids.len());
                    for id in ids {
                        if seen.contains(&id.as_str()) {
                            continue;
                        }
                        seen.push(id);
                        for c in users.get(id).into_iter().flatten() {
                            send(c);
                        }
                    }
                }
            }
        }
        if to_bus && let Some(bus) = &self.bus {
            let ev = BusEvent {
                origin: self.config.server_id.clone(),
                team: team.to_string(),
                driver: driver.map(str::to_string),
                channel,
                json: Arc::from(json.as_str()),
            };
            if let Err(e) = bus.publish(ev) {
                self.metrics.bus_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "bus publish failed");
            }
        }
        reached
    }

    pub(crate) fn fan_out(&self, team: &str, driver: Option<&str>, channel: Channel, json: String) {
        let frame = Utf8Bytes::from(json);
        self.registry.dispatch(team, driver, channel, &frame, &self.metrics);
        if let Some(bus) = &self.bus {
            let ev = BusEvent {
                origin: self.config.server_id.clone(),
                team: team.to_string(),
                driver: driver.map(str::to_string),
                channel,
                json: Arc::from(frame.as_str()),
            };
            if let Err(e) = bus.publish(ev) {
                self.metrics.bus_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "bus publish failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{NOT_KEPT_AS_LATEST, json_type};

    /// Events from the bus are judged on their JSON, local ones on their message: both must read
    /// the same type, for every message the protocol has (its golden files).
    #[test]
    fn bus_events_and_local_messages_are_judged_alike() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/golden");
        let mut types = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the protocol's golden files") {
            let path = entry.expect("a golden file").path();
            let text = std::fs::read(&path).expect("readable");
            let Ok(msg) = pitbox_model::decode(&text) else { continue };
            assert_eq!(json_type(&msg.to_json()), Some(msg.type_name()), "{}", path.display());
            types.push(msg.type_name());
        }
        assert!(types.len() > 20, "{types:?}");
        for t in NOT_KEPT_AS_LATEST {
            assert!(types.contains(&t), "{t} is not a message type");
        }
        assert_eq!(json_type(r#"{"data":{},"type":"pit_command"}"#), None);
    }
}
