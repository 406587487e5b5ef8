//! `/ws`: the WebSocket protocol of docs/protocol.md on the cloud — handshake, authentication,
//! per-message role and team checks, subscriptions with throttled, coalesced telemetry, the
//! relay uplink (`telemetry_batch` → store durably → `ack`), team messages and handoffs.
//!
//! `pitbox-hub` was meant to hold this logic for relay and cloud alike; it had no API when the
//! cloud was built, so the cloud's own implementation is here (see docs/cloud.md).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::StreamExt;
use pitbox_model::control::{
    Ack, AuthenticationResult, ConnectionEstablished, DEFAULT_SUBSCRIBE_HZ, ErrorCode, PROTOCOL_VERSION, Subscribed,
    protocol_compatible,
};
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_model::{Channel, ClientType, HandoffStatus, Message, UserRole};

use crate::bus::BusEvent;
use crate::error::ApiError;
use crate::extract::{Auth, check_token};
use crate::server::AppState;
use crate::telemetry::{IngestError, IngestOutcome};
use crate::{team, telemetry};

/// Seconds a client has to authenticate.
pub const AUTH_TIMEOUT_SECS: u32 = 10;
/// Refused frames within [`REFUSAL_WINDOW`] before the connection is closed (4008).
const MAX_REFUSALS: usize = 20;
const REFUSAL_WINDOW: Duration = Duration::from_secs(10);

/// Upgrades to the protocol.
pub async fn handler(State(st): State<AppState>, ws: WebSocketUpgrade) -> Response {
    let limit = st.max_frame_bytes;
    ws.max_message_size(limit).max_frame_size(limit).on_upgrade(move |socket| async move {
        st.metrics.ws_connections.fetch_add(1, Ordering::Relaxed);
        st.metrics.ws_open.fetch_add(1, Ordering::Relaxed);
        Conn::new(st.clone(), socket).run().await;
        st.metrics.ws_open.fetch_sub(1, Ordering::Relaxed);
    })
}

struct Subscription {
    team_id: String,
    drivers: Vec<String>,
    channels: Vec<Channel>,
    min_gap: Duration,
}

impl Subscription {
    fn wants(&self, ev: &BusEvent) -> bool {
        if ev.team_id != self.team_id {
            return false;
        }
        let channel = match &ev.message {
            Message::TelemetryUpdate(u) => {
                if !self.drivers.is_empty() && !self.drivers.contains(&u.driver_id) {
                    return false;
                }
                Channel::Telemetry
            }
            Message::StandingsUpdate(_) => Channel::Standings,
            Message::SessionInfo(_) => Channel::Session,
            Message::TeamMessage(_) | Message::MessageRead(_) => Channel::Messages,
            Message::HandoffRequest(_) | Message::HandoffResponse(_) => Channel::Handoffs,
            Message::AiCoaching(_) => Channel::Coaching,
            Message::DriverStatus(_) => Channel::Status,
            _ => return false,
        };
        self.channels.is_empty() || self.channels.contains(&channel)
    }
}

struct Conn {
    st: AppState,
    socket: WebSocket,
    auth: Option<Auth>,
    sub: Option<Subscription>,
    pending: HashMap<String, TelemetryUpdate>,
    last_sent: HashMap<String, Instant>,
    refusals: VecDeque<Instant>,
    /// Authenticated with `clientType: relay`: it speaks for every driver of its token's team.
    relay: bool,
}

enum Flow {
    Continue,
    Close(u16, &'static str),
}

fn text(m: &Message) -> WsMessage {
    WsMessage::Text(m.to_json().into())
}

fn api_to_ws(e: &ApiError) -> Message {
    let code = match e.code {
        "forbidden" => ErrorCode::Forbidden,
        "not_found" => ErrorCode::NotFound,
        "conflict" => ErrorCode::Conflict,
        "validation_failed" => ErrorCode::ValidationFailed,
        _ => ErrorCode::InternalError,
    };
    let field = e.field.as_ref().map(|f| if f.is_empty() { "data".to_string() } else { format!("data.{f}") });
    Message::error(code, e.message.clone(), field)
}

impl Conn {
    fn new(st: AppState, socket: WebSocket) -> Conn {
        Conn {
            st,
            socket,
            auth: None,
            sub: None,
            pending: HashMap::new(),
            last_sent: HashMap::new(),
            refusals: VecDeque::new(),
            relay: false,
        }
    }

    async fn send(&mut self, m: &Message) -> bool {
        self.socket.send(text(m)).await.is_ok()
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let _ = self.socket.send(WsMessage::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
    }

    /// Sends an `error`; returns false when the client has been refused too often.
    async fn refuse(&mut self, m: Message) -> Flow {
        let _ = self.send(&m).await;
        if self.relay {
            // A relay forwards many clients' messages and resends after a cut: one bad message
            // of one driver must not take the whole team's uplink down.
            return Flow::Continue;
        }
        let now = Instant::now();
        self.refusals.push_back(now);
        while self.refusals.front().is_some_and(|t| now.duration_since(*t) > REFUSAL_WINDOW) {
            self.refusals.pop_front();
        }
        if self.refusals.len() >= MAX_REFUSALS {
            Flow::Close(4008, "too many refused messages")
        } else {
            Flow::Continue
        }
    }

    async fn run(mut self) {
        let hello = Message::ConnectionEstablished(ConnectionEstablished {
            server_id: self.st.node_id.to_string(),
            timestamp: chrono::Utc::now(),
            version: PROTOCOL_VERSION.into(),
            auth_timeout_secs: Some(AUTH_TIMEOUT_SECS),
        });
        if !self.send(&hello).await {
            return;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(AUTH_TIMEOUT_SECS));
        while self.auth.is_none() {
            let frame = tokio::select! {
                f = self.socket.next() => f,
                _ = tokio::time::sleep_until(deadline) => {
                    let _ = self.send(&Message::error(ErrorCode::AuthTimeout, format!("no authenticate within {AUTH_TIMEOUT_SECS} s"), None)).await;
                    self.close(4002, "auth timeout").await;
                    return;
                }
            };
            let Some(Ok(frame)) = frame else { return };
            match self.on_frame(frame).await {
                Flow::Continue => {}
                Flow::Close(code, reason) => {
                    self.close(code, reason).await;
                    return;
                }
            }
        }
        if let Some(a) = &self.auth
            && a.role() == UserRole::Driver
        {
            let _ = team::set_connected(&self.st.store, a.user_id(), true).await;
        }
        let mut bus = self.st.bus.subscribe();
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let flow = tokio::select! {
                f = self.socket.next() => match f {
                    Some(Ok(frame)) => self.on_frame(frame).await,
                    _ => break,
                },
                ev = bus.recv() => match ev {
                    Ok(ev) => self.on_event(ev).await,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Flow::Continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick(), if !self.pending.is_empty() => self.flush().await,
            };
            if let Flow::Close(code, reason) = flow {
                self.close(code, reason).await;
                break;
            }
        }
        if let Some(a) = &self.auth
            && a.role() == UserRole::Driver
        {
            let _ = team::set_connected(&self.st.store, a.user_id(), false).await;
        }
    }

    async fn on_event(&mut self, ev: Arc<BusEvent>) -> Flow {
        let Some(sub) = &self.sub else { return Flow::Continue };
        if !sub.wants(&ev) {
            return Flow::Continue;
        }
        if let Message::TelemetryUpdate(u) = &ev.message {
            // Coalesce: a newer sample replaces one not sent yet.
            self.pending.insert(u.driver_id.clone(), u.clone());
            return self.flush().await;
        }
        if self.send(&ev.message).await { Flow::Continue } else { Flow::Close(1011, "send failed") }
    }

    async fn flush(&mut self) -> Flow {
        let Some(sub) = &self.sub else {
            self.pending.clear();
            return Flow::Continue;
        };
        let gap = sub.min_gap;
        let now = Instant::now();
        let due: Vec<String> = self
            .pending
            .keys()
            .filter(|d| self.last_sent.get(*d).is_none_or(|t| now.duration_since(*t) >= gap))
            .cloned()
            .collect();
        for d in due {
            if let Some(u) = self.pending.remove(&d) {
                self.last_sent.insert(d, now);
                if !self.send(&Message::TelemetryUpdate(u)).await {
                    return Flow::Close(1011, "send failed");
                }
            }
        }
        Flow::Continue
    }

    async fn on_frame(&mut self, frame: WsMessage) -> Flow {
        let bytes = match &frame {
            WsMessage::Text(t) => t.as_bytes().to_vec(),
            // The relay uplink's binary frames: one zstd frame holding a `telemetry_batch`
            // (pitbox-hub's uplink codec, which bounds both sizes before parsing).
            WsMessage::Binary(b) if b.starts_with(&pitbox_hub::uplink::ZSTD_MAGIC) => {
                return match pitbox_hub::uplink::decode_frame(b, self.st.max_frame_bytes) {
                    Ok(batch) => match self.on_message(Message::TelemetryBatch(batch)).await {
                        Ok(flow) => flow,
                        Err(m) => self.refuse(m).await,
                    },
                    Err(e) if e.code() == ErrorCode::FrameTooLarge => {
                        let _ = self.send(&e.to_message()).await;
                        Flow::Close(1009, "frame too large")
                    }
                    Err(e) => self.refuse(e.to_message()).await,
                };
            }
            WsMessage::Binary(b) => b.to_vec(),
            WsMessage::Close(_) => return Flow::Close(1000, "bye"),
            _ => return Flow::Continue,
        };
        let msg = match pitbox_model::decode_with_limit(&bytes, self.st.max_frame_bytes) {
            Ok(m) => m,
            Err(e) => {
                if e.code() == ErrorCode::FrameTooLarge {
                    let _ = self.send(&e.to_message(None)).await;
                    return Flow::Close(1009, "frame too large");
                }
                return self.refuse(e.to_message(None)).await;
            }
        };
        let kind = msg.type_name();
        let result = self.on_message(msg).await;
        match result {
            Ok(flow) => flow,
            Err(Message::Error(mut e)) => {
                e.message_type = Some(kind.to_string());
                self.refuse(Message::Error(e)).await
            }
            Err(other) => self.refuse(other).await,
        }
    }

    async fn on_message(&mut self, msg: Message) -> Result<Flow, Message> {
        if let Message::Ping(p) = msg {
            let _ = self.send(&Message::Pong(p)).await;
            return Ok(Flow::Continue);
        }
        let Some(auth) = self.auth.clone() else {
            let Message::Authenticate(a) = msg else {
                return Err(Message::error(ErrorCode::NotAuthenticated, "send authenticate first", None));
            };
            if !protocol_compatible(&a.version) {
                let _ = self
                    .send(&Message::error(
                        ErrorCode::UnsupportedVersion,
                        format!("this server speaks protocol {PROTOCOL_VERSION}; got {}", a.version),
                        Some("data.version".into()),
                    ))
                    .await;
                return Ok(Flow::Close(4003, "unsupported version"));
            }
            return Ok(match check_token(&self.st, &a.token) {
                Ok(claims) => {
                    let result = AuthenticationResult {
                        success: true,
                        user_id: Some(claims.user_id.clone()),
                        role: Some(claims.role),
                        team_id: Some(claims.team_id.clone()),
                        reason: None,
                    };
                    if a.client_type == ClientType::Relay && !matches!(claims.role, UserRole::Driver | UserRole::Admin)
                    {
                        let r = AuthenticationResult {
                            success: false,
                            user_id: None,
                            role: None,
                            team_id: None,
                            reason: Some("a relay must authenticate as a driver or an admin".into()),
                        };
                        let _ = self.send(&Message::AuthenticationResult(r)).await;
                        return Ok(Flow::Close(4001, "authentication failed"));
                    }
                    self.auth = Some(Auth(claims));
                    self.relay = a.client_type == ClientType::Relay;
                    let _ = self.send(&Message::AuthenticationResult(result)).await;
                    Flow::Continue
                }
                Err(e) => {
                    let r = AuthenticationResult {
                        success: false,
                        user_id: None,
                        role: None,
                        team_id: None,
                        reason: Some(e.message),
                    };
                    let _ = self.send(&Message::AuthenticationResult(r)).await;
                    Flow::Close(4001, "authentication failed")
                }
            });
        };
        let forbidden = |m: String| Message::error(ErrorCode::Forbidden, m, None);
        let role = auth.role();
        if !msg.spec().senders.contains(&role) {
            return Err(forbidden(format!("a {role} may not send {}", msg.type_name())));
        }
        match msg {
            Message::Authenticate(_) => {
                Err(Message::error(ErrorCode::InvalidMessage, "already authenticated", Some("type".into())))
            }
            Message::Pong(_) => Ok(Flow::Continue),
            Message::Subscribe(s) => {
                let team = auth.team(s.team_id.as_deref()).map_err(|e| api_to_ws(&e))?;
                let hz = s.max_rate_hz.unwrap_or(DEFAULT_SUBSCRIBE_HZ);
                self.sub = Some(Subscription {
                    team_id: team.clone(),
                    drivers: s.driver_ids.clone(),
                    channels: s.channels.clone(),
                    min_gap: Duration::from_secs_f64(1.0 / hz),
                });
                let channels = if s.channels.is_empty() { Channel::ALL.to_vec() } else { s.channels };
                let catch_up = self.st.bus.latest(&team);
                let ok = Subscribed { team_id: team, driver_ids: s.driver_ids, channels, max_rate_hz: hz };
                let _ = self.send(&Message::Subscribed(ok)).await;
                // Each followed driver's latest state at once, through the same filter and
                // throttle as live events; anything newer is already queued behind it.
                for ev in catch_up {
                    if let Flow::Close(code, reason) = self.on_event(ev).await {
                        return Ok(Flow::Close(code, reason));
                    }
                }
                Ok(Flow::Continue)
            }
            Message::Unsubscribe(u) => {
                if let Some(sub) = &mut self.sub {
                    if u.driver_ids.is_empty() && u.channels.is_empty() {
                        self.sub = None;
                    } else {
                        sub.drivers.retain(|d| !u.driver_ids.contains(d));
                        if !u.channels.is_empty() {
                            let all: Vec<Channel> =
                                if sub.channels.is_empty() { Channel::ALL.to_vec() } else { sub.channels.clone() };
                            sub.channels = all.into_iter().filter(|c| !u.channels.contains(c)).collect();
                            if sub.channels.is_empty() {
                                self.sub = None;
                            }
                        }
                    }
                }
                self.pending.clear();
                Ok(Flow::Continue)
            }
            Message::TelemetryUpdate(u) => {
                let team = driver_team(&self.st, self.relay, &auth, &u.driver_id).await?;
                let driver = u.driver_id.clone();
                self.st.ingest.submit(&team, &driver, vec![u], None).await.map_err(ingest_to_ws)?;
                Ok(Flow::Continue)
            }
            Message::TelemetryBatch(b) => {
                let team = driver_team(&self.st, self.relay, &auth, &b.driver_id).await?;
                let driver = b.driver_id.clone();
                let acked = match self.st.ingest.submit(&team, &driver, b.samples, Some(b.sequence)).await {
                    Ok(IngestOutcome::Stored) => b.sequence,
                    Ok(IngestOutcome::Duplicate { last }) => last,
                    Err(e) => return Err(ingest_to_ws(e)),
                };
                let _ = self.send(&Message::Ack(Ack { driver_id: driver, sequence: acked })).await;
                Ok(Flow::Continue)
            }
            Message::TeamMessage(m) => {
                let team = auth.team(None).map_err(|e| api_to_ws(&e))?;
                speaks_for(&self.st, self.relay, &auth, &m.sender_id, &team, "senderId").await?;
                if self.relay && known_message(&self.st, &m.id, &team).await? {
                    return Ok(Flow::Continue); // a relay's resend after a cut: stored already
                }
                team::insert_message(&self.st.store, &team, &m).await.map_err(|e| api_to_ws(&e.into()))?;
                self.st.bus.publish(&team, Message::TeamMessage(m));
                Ok(Flow::Continue)
            }
            Message::MessageRead(r) => {
                let own = auth.team(None).map_err(|e| api_to_ws(&e))?;
                speaks_for(&self.st, self.relay, &auth, &r.reader_id, &own, "readerId").await?;
                let Some((_, team)) = team::get_message(&self.st.store, &r.message_id, auth.user_id())
                    .await
                    .map_err(|e| api_to_ws(&e.into()))?
                else {
                    return Err(Message::error(
                        ErrorCode::NotFound,
                        format!("message {} does not exist", r.message_id),
                        Some("data.messageId".into()),
                    ));
                };
                auth.require_team(&team).map_err(|e| api_to_ws(&e))?;
                team::mark_read(&self.st.store, &r.message_id, &r.reader_id).await.map_err(|e| api_to_ws(&e.into()))?;
                self.st.bus.publish(&team, Message::MessageRead(r));
                Ok(Flow::Continue)
            }
            Message::HandoffRequest(h) => {
                if role == UserRole::Driver && !self.relay && h.requester_id != auth.user_id() {
                    return Err(forbidden("a driver requests handoffs for themself only".into()));
                }
                if self.relay
                    && let Ok(Some((_, team))) = team::get_handoff(&self.st.store, &h.id).await
                    && auth.team_id() == team
                {
                    return Ok(Flow::Continue); // a relay's resend after a cut: stored already
                }
                if h.status != HandoffStatus::Pending {
                    return Err(Message::error(
                        ErrorCode::ValidationFailed,
                        "a new handoff must be pending",
                        Some("data.status".into()),
                    ));
                }
                let team = auth.team(None).map_err(|e| api_to_ws(&e))?;
                for (id, field) in [(&h.requester_id, "requesterId"), (&h.target_driver_id, "targetDriverId")] {
                    crate::api::team_member(&self.st, id, &team, field).await.map_err(|e| api_to_ws(&e))?;
                }
                team::insert_handoff(&self.st.store, &team, &h).await.map_err(|e| api_to_ws(&e.into()))?;
                self.st.bus.publish(&team, Message::HandoffRequest(h));
                Ok(Flow::Continue)
            }
            Message::HandoffResponse(r) => {
                let own = auth.team(None).map_err(|e| api_to_ws(&e))?;
                speaks_for(&self.st, self.relay, &auth, &r.responder_id, &own, "responderId").await?;
                let Some((current, team)) =
                    team::get_handoff(&self.st.store, &r.handoff_id).await.map_err(|e| api_to_ws(&e.into()))?
                else {
                    return Err(Message::error(
                        ErrorCode::NotFound,
                        format!("handoff {} does not exist", r.handoff_id),
                        Some("data.handoffId".into()),
                    ));
                };
                auth.require_team(&team).map_err(|e| api_to_ws(&e))?;
                if self.relay && current.status == r.status {
                    return Ok(Flow::Continue); // a relay's resend after a cut: applied already
                }
                let updated = team::transition_handoff(&self.st.store, &r.handoff_id, r.status)
                    .await
                    .map_err(|e| api_to_ws(&e.into()))?;
                self.st.bus.publish(&team, Message::HandoffResponse(r));
                self.st.bus.publish(&team, Message::HandoffRequest(updated));
                Ok(Flow::Continue)
            }
            Message::SessionInfo(s) => {
                let team = driver_team(&self.st, self.relay, &auth, &s.driver_id).await?;
                if let Ok(Some(ses)) = telemetry::latest_session_id(&self.st.store, &s.driver_id).await {
                    let _ = telemetry::describe_session(&self.st.store, &ses, &s.track.display_name, &s.car_name).await;
                }
                self.st.bus.publish(&team, Message::SessionInfo(s));
                Ok(Flow::Continue)
            }
            Message::StandingsUpdate(s) => {
                let team = if self.relay {
                    driver_team(&self.st, self.relay, &auth, &s.driver_id).await?
                } else {
                    auth.team(None).map_err(|e| api_to_ws(&e))?
                };
                self.st.bus.publish(&team, Message::StandingsUpdate(s));
                Ok(Flow::Continue)
            }
            Message::DriverStatus(d) => {
                let team = driver_team(&self.st, self.relay, &auth, &d.driver_id).await?;
                self.st.bus.publish(&team, Message::DriverStatus(d));
                Ok(Flow::Continue)
            }
            other => Err(forbidden(format!("{} is sent by servers only", other.type_name()))),
        }
    }
}

// Free functions, not methods: `Conn` holds the socket, which is not `Sync`.

/// The team of `driver_id`'s telemetry and status: the REST rules (a driver only for
/// themself, an admin for anyone), and on a relay connection any driver of the token's team.
async fn driver_team(st: &AppState, relay: bool, auth: &Auth, driver_id: &str) -> Result<String, Message> {
    if relay && auth.role() == UserRole::Driver && driver_id != auth.user_id() {
        let team = auth.team_id().to_string();
        let member = crate::api::team_member(st, driver_id, &team, "driverId")
            .await
            .map_err(|_| relay_refusal("driverId", driver_id))?;
        if member.role != UserRole::Driver {
            return Err(Message::error(
                ErrorCode::ValidationFailed,
                format!("`{driver_id}` is not a driver"),
                Some("data.driverId".into()),
            ));
        }
        return Ok(team);
    }
    crate::api::telemetry_team(st, auth, driver_id).await.map_err(|e| api_to_ws(&e))
}

/// Checks that this connection may speak as `id` (the `field` of the message): itself, or on
/// a relay connection any member of `team` (the token's team).
async fn speaks_for(st: &AppState, relay: bool, auth: &Auth, id: &str, team: &str, field: &str) -> Result<(), Message> {
    if id == auth.user_id() {
        return Ok(());
    }
    if !relay {
        return Err(Message::error(
            ErrorCode::Forbidden,
            format!("{field} must be your own id ({})", auth.user_id()),
            Some(format!("data.{field}")),
        ));
    }
    crate::api::team_member(st, id, team, field).await.map(|_| ()).map_err(|_| relay_refusal(field, id))
}

/// Whether team message `id` is stored for `team` already.
async fn known_message(st: &AppState, id: &str, team: &str) -> Result<bool, Message> {
    let found = team::get_message(&st.store, id, "").await.map_err(|e| api_to_ws(&e.into()))?;
    match found {
        Some((_, t)) if t == team => Ok(true),
        Some(_) => {
            Err(Message::error(ErrorCode::Conflict, format!("message id {id} is taken"), Some("data.id".into())))
        }
        None => Ok(false),
    }
}

fn relay_refusal(field: &str, id: &str) -> Message {
    Message::error(
        ErrorCode::Forbidden,
        format!("`{id}` is not a member of this relay's team: a relay speaks only for its own team"),
        Some(format!("data.{field}")),
    )
}

fn ingest_to_ws(e: IngestError) -> Message {
    match e {
        IngestError::Gap { .. } => Message::error(ErrorCode::Conflict, e.to_string(), Some("data.sequence".into())),
        other => Message::error(ErrorCode::InternalError, other.to_string(), None),
    }
}
