//! One client connection: a reader (this task) that runs the protocol state machine and a writer
//! task that drains the connection's [`Outbox`]. Nothing here waits on another client.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use futures_util::stream::{FuturesOrdered, SplitSink};
use futures_util::{SinkExt, StreamExt};
use pitbox_auth::Identity;
use pitbox_model::control::{
    AuthenticationResult, ConnectionEstablished, DEFAULT_SUBSCRIBE_HZ, ErrorCode, PROTOCOL_VERSION, Ping, Subscribe,
    Subscribed, TelemetryBatch, Unsubscribe, protocol_compatible,
};
use pitbox_model::session::DriverStatusUpdate;
use pitbox_model::team::{HandoffRequest, HandoffResponse};
use pitbox_model::{Channel, ClientType, DriverStatus, HandoffStatus, Message, UserRole};

use crate::limits::{BadWindow, TokenBucket};
use crate::outbox::{Next, Outbox};
use crate::registry::{ALL_CHANNELS, Sub, VIDEO_BIT, channel_bit};
use crate::{Hooks, HubInner, Refusal, close};

/// `messageType` of errors about binary video messages.
const VIDEO_KIND: &str = "video_frame";

pub(crate) async fn serve<H: Hooks>(hub: Arc<HubInner<H>>, socket: WebSocket) {
    let id = hub.conn_id();
    hub.metrics.connections.fetch_add(1, Ordering::Relaxed);
    hub.metrics.connections_total.fetch_add(1, Ordering::Relaxed);
    let outbox = Arc::new(Outbox::new(hub.config.control_queue));
    let (sink, mut stream) = socket.split();
    let mut writer = tokio::spawn(writer_loop(sink, outbox.clone(), hub.clone()));
    let mut conn = Conn {
        bucket: TokenBucket::new(hub.config.rate_per_sec, hub.config.rate_burst),
        bad: BadWindow::new(hub.config.bad_frames_limit, hub.config.bad_frames_window),
        hub,
        id,
        outbox,
        identity: None,
        client_type: None,
        spooled: false,
        last_rate_error: None,
        closing: false,
        sub_team: None,
        later: FuturesOrdered::new(),
    };
    conn.send(&Message::ConnectionEstablished(ConnectionEstablished {
        server_id: conn.hub.config.server_id.clone(),
        timestamp: chrono::Utc::now(),
        version: PROTOCOL_VERSION.to_string(),
        auth_timeout_secs: Some(conn.hub.config.auth_timeout.as_secs().min(u64::from(u32::MAX)) as u32),
    }));
    let auth_deadline = tokio::time::Instant::now() + conn.hub.config.auth_timeout;
    let mut writer_done = false;
    loop {
        let next = if conn.identity.is_none() {
            tokio::select! {
                m = stream.next() => m,
                _ = tokio::time::sleep_until(auth_deadline) => {
                    conn.refuse_and_close(
                        ErrorCode::AuthTimeout,
                        format!("no authenticate within {} s", conn.hub.config.auth_timeout.as_secs_f64()),
                        close::AUTH_TIMEOUT,
                        "authentication timeout",
                    );
                    break;
                }
                _ = &mut writer => { writer_done = true; break; }
            }
        } else {
            let reading = conn.later.len() < crate::MAX_LATER_PER_CONNECTION;
            tokio::select! {
                m = stream.next(), if reading => m,
                Some((kind, done)) = conn.later.next(), if !conn.later.is_empty() => {
                    conn.finished(kind, done);
                    if conn.closing {
                        break;
                    }
                    continue;
                }
                _ = &mut writer => { writer_done = true; break; }
            }
        };
        match next {
            None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => break,
            Some(Ok(WsMessage::Text(t))) => conn.on_frame(t.as_bytes(), false).await,
            Some(Ok(WsMessage::Binary(b))) => conn.on_frame(&b, true).await,
            Some(Ok(_)) => {} // WebSocket ping/pong: answered by the library.
        }
        if conn.closing {
            break;
        }
    }
    conn.cleanup();
    if conn.closing && !writer_done {
        // Close handshake: let the writer send what is queued and the close frame, then read
        // (and discard) until the client answers, so the close frame is not lost to a reset.
        if tokio::time::timeout(Duration::from_secs(5), &mut writer).await.is_err() {
            writer.abort();
        }
        writer_done = true;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(m)) = stream.next().await {
                if matches!(m, WsMessage::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
    if !writer_done {
        conn.outbox.close(close::NORMAL, "bye");
        if tokio::time::timeout(Duration::from_secs(5), &mut writer).await.is_err() {
            writer.abort();
        }
    }
    conn.hub.metrics.connections.fetch_sub(1, Ordering::Relaxed);
}

async fn writer_loop<H: Hooks>(mut sink: SplitSink<WebSocket, WsMessage>, outbox: Arc<Outbox>, hub: Arc<HubInner<H>>) {
    let write_timeout = hub.config.write_timeout;
    // Handed back and forth with the outbox so a write allocates no vector.
    let mut buf: Vec<Utf8Bytes> = Vec::new();
    loop {
        match outbox.next_into(Instant::now(), std::mem::take(&mut buf)) {
            Next::Send(mut frames) => {
                let n = frames.len() as u64;
                // Every frame is fed, then one flush: one syscall for the whole batch.
                let written = {
                    let write = async {
                        for f in frames.drain(..) {
                            sink.feed(WsMessage::Text(f)).await?;
                        }
                        sink.flush().await
                    };
                    let mut write = std::pin::pin!(write);
                    // Nearly every write completes at once (the socket buffer has room); only
                    // one that has to wait starts the timeout, whose timer would otherwise be set
                    // and cleared for each of the hundreds of writes a second per dashboard.
                    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(write.as_mut().poll(cx))).await;
                    match first {
                        std::task::Poll::Ready(r) => Ok(r),
                        std::task::Poll::Pending => tokio::time::timeout(write_timeout, write).await,
                    }
                };
                buf = frames;
                match written {
                    Ok(Ok(())) => {
                        hub.metrics.messages_out.fetch_add(n, Ordering::Relaxed);
                    }
                    Ok(Err(_)) => return,
                    Err(_) => {
                        hub.metrics.closed_policy.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
            Next::Binary(b) => match tokio::time::timeout(write_timeout, sink.send(WsMessage::Binary(b))).await {
                Ok(Ok(())) => {
                    hub.metrics.messages_out.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Err(_)) => return,
                Err(_) => {
                    hub.metrics.closed_policy.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            },
            Next::Close(code, reason) => {
                let frame = CloseFrame { code, reason: Utf8Bytes::from(reason) };
                let _ = tokio::time::timeout(Duration::from_secs(2), sink.send(WsMessage::Close(Some(frame)))).await;
                return;
            }
            Next::Wait(deadline) => match deadline {
                Some(d) => {
                    tokio::select! {
                        _ = outbox.notified() => {}
                        _ = tokio::time::sleep_until(d.into()) => {}
                    }
                }
                None => outbox.notified().await,
            },
        }
    }
}

struct Conn<H: Hooks> {
    hub: Arc<HubInner<H>>,
    id: u64,
    outbox: Arc<Outbox>,
    identity: Option<Identity>,
    client_type: Option<ClientType>,
    /// The client spools its samples and sends them as `telemetry_batch`es: its
    /// `telemetry_update`s are live only (fanned out, never handed to the server to keep).
    spooled: bool,
    bucket: TokenBucket,
    bad: BadWindow,
    last_rate_error: Option<Instant>,
    closing: bool,
    /// Team of this connection's subscription, if it has one.
    sub_team: Option<String>,
    /// Messages the server finishes later ([`crate::Handling::Later`]), oldest first.
    later: FuturesOrdered<LaterReply>,
}

type LaterReply =
    std::pin::Pin<Box<dyn std::future::Future<Output = (&'static str, Result<Option<Message>, Refusal>)> + Send>>;

impl<H: Hooks> Conn<H> {
    fn send(&self, msg: &Message) {
        if !self.outbox.push_control(Utf8Bytes::from(msg.to_json())) && self.outbox.overflowed() {
            self.hub.metrics.closed_policy.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn close(&mut self, code: u16, reason: &str) {
        self.outbox.close(code, reason);
        self.closing = true;
    }

    /// Sends an `error` and counts the refusal; too many refusals close the connection.
    fn refuse(&mut self, err: Message) {
        self.hub.metrics.errors_sent.fetch_add(1, Ordering::Relaxed);
        self.send(&err);
        if self.client_type == Some(ClientType::Relay) {
            // A relay forwards a whole team and resends after a cut: one driver's bad message
            // must not take the team's uplink down.
            return;
        }
        if self.bad.record(Instant::now()) {
            self.hub.metrics.closed_policy.fetch_add(1, Ordering::Relaxed);
            let reason = format!(
                "too many refused messages ({} within {} s)",
                self.hub.config.bad_frames_limit,
                self.hub.config.bad_frames_window.as_secs()
            );
            self.close(close::POLICY, &reason);
        }
    }

    fn refusal(&mut self, r: Refusal, message_type: Option<&str>) {
        self.refuse(Message::Error(pitbox_model::control::ErrorMessage {
            code: r.code,
            message: r.message,
            field: r.field,
            message_type: message_type.map(str::to_string),
        }));
    }

    fn forbidden(&mut self, message: String, field: Option<&str>, message_type: &str) {
        self.refusal(
            Refusal { code: ErrorCode::Forbidden, message, field: field.map(str::to_string) },
            Some(message_type),
        );
    }

    fn refuse_and_close(&mut self, code: ErrorCode, message: String, close_code: u16, reason: &str) {
        self.hub.metrics.errors_sent.fetch_add(1, Ordering::Relaxed);
        self.send(&Message::error(code, message, None));
        self.close(close_code, reason);
    }

    async fn on_frame(&mut self, bytes: &[u8], binary: bool) {
        self.hub.metrics.messages_in.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut limit = self.hub.config.max_frame_bytes;
        if binary && bytes.first() == Some(&pitbox_video::wire::MAGIC) {
            // A video frame (a keyframe may be larger than any JSON message); its own decoder
            // checks every length against the format's bounds.
            limit = limit.max(pitbox_video::wire::MAX_MESSAGE_LEN);
        }
        if bytes.len() > limit {
            self.hub.metrics.closed_policy.fetch_add(1, Ordering::Relaxed);
            self.refuse_and_close(
                ErrorCode::FrameTooLarge,
                format!("message is {} bytes, over the limit of {limit} bytes", bytes.len()),
                close::TOO_LARGE,
                "frame too large",
            );
            return;
        }
        if !self.bucket.take(now) {
            self.hub.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
            let quiet = self.last_rate_error.is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(1));
            if quiet {
                // Counted, not answered: a flood must not turn into a flood of errors.
                if self.bad.record(now) {
                    self.hub.metrics.closed_policy.fetch_add(1, Ordering::Relaxed);
                    self.close(close::POLICY, "rate limit exceeded persistently");
                }
            } else {
                self.last_rate_error = Some(now);
                let msg = format!(
                    "over the rate limit of {} messages/s (burst {}); message dropped",
                    self.hub.config.rate_per_sec, self.hub.config.rate_burst
                );
                self.refuse(Message::error(ErrorCode::RateLimited, msg, None));
            }
            return;
        }
        if binary {
            self.on_binary(bytes).await;
            return;
        }
        let msg = match pitbox_model::decode_with_limit(bytes, limit) {
            Ok(m) => m,
            Err(e) => {
                let kind = pitbox_model::protocol::peek_type(bytes);
                self.refuse(e.to_message(kind.as_deref()));
                return;
            }
        };
        match self.identity.clone() {
            None => self.unauthenticated(msg),
            Some(who) => self.authenticated(&who, msg).await,
        }
    }

    async fn on_binary(&mut self, bytes: &[u8]) {
        let Some(who) = self.identity.clone() else {
            self.refuse(Message::error(
                ErrorCode::NotAuthenticated,
                "authenticate first (binary frames are uplink batches)",
                None,
            ));
            return;
        };
        if bytes.first() == Some(&pitbox_video::wire::MAGIC) {
            self.on_video(&who, bytes);
            return;
        }
        match crate::uplink::decode_frame(bytes, self.hub.config.max_frame_bytes) {
            Ok(batch) => self.authenticated(&who, Message::TelemetryBatch(batch)).await,
            Err(e) => self.refuse(e.to_message()),
        }
    }

    /// A binary video message: a frame to fan out, or a viewer's keyframe request. Malformed
    /// ones are refused with the decoder's precise reason; the connection goes on.
    fn on_video(&mut self, who: &Identity, bytes: &[u8]) {
        let msg = match pitbox_video::wire::decode_message(bytes) {
            Ok(m) => m,
            Err(e) => {
                self.refusal(
                    Refusal::new(ErrorCode::ValidationFailed, format!("video message refused: {e}")),
                    Some(VIDEO_KIND),
                );
                return;
            }
        };
        match msg {
            pitbox_video::VideoMessage::Frame(f) => {
                // A driver publishes only its own stream; a relay (its team's credential) and an
                // admin publish any stream of their team. The stream is keyed by the team, so
                // nothing reaches another team's viewers.
                let may = who.relay
                    || who.role == UserRole::Admin
                    || (who.role == UserRole::Driver && f.stream_id == who.user_id);
                if !may {
                    let message = if who.role == UserRole::Driver {
                        format!("stream id {:?}: a driver publishes only its own video ({})", f.stream_id, who.user_id)
                    } else {
                        format!("role {} may not publish video", who.role)
                    };
                    self.forbidden(message, Some("streamId"), VIDEO_KIND);
                    return;
                }
                let frame = pitbox_video::fanout::SharedFrame::new(f.sequence, f.keyframe, bytes.to_vec());
                let stream = f.stream_id.to_string();
                self.hub.video.publish(&self.hub.registry, &who.team_id, &stream, frame.clone(), self.id, &self.outbox);
                self.hub.metrics.video_frames_in.fetch_add(1, Ordering::Relaxed);
                self.hub.hooks.on_video(who, &stream, &frame);
            }
            pitbox_video::VideoMessage::KeyframeRequest { stream_id } => {
                if self.hub.keyframe_request(&who.team_id, stream_id, false).is_err() {
                    self.refusal(
                        Refusal {
                            code: ErrorCode::NotFound,
                            message: format!("no live video stream {stream_id:?} in your team"),
                            field: Some("streamId".into()),
                        },
                        Some(VIDEO_KIND),
                    );
                }
            }
        }
    }

    fn unauthenticated(&mut self, msg: Message) {
        match msg {
            Message::Authenticate(a) => {
                if !protocol_compatible(&a.version) {
                    self.refuse_and_close(
                        ErrorCode::UnsupportedVersion,
                        format!("protocol {} is not compatible with this server's {PROTOCOL_VERSION}", a.version),
                        close::UNSUPPORTED_VERSION,
                        "unsupported protocol version",
                    );
                    return;
                }
                let checked = self
                    .hub
                    .tokens
                    .check(&a.token)
                    .map_err(|e| format!("authentication failed: {e}"))
                    .and_then(|who| self.hub.hooks.admit(&who, a.client_type).map(|()| who));
                match checked {
                    Ok(who) => {
                        self.send(&Message::AuthenticationResult(AuthenticationResult {
                            success: true,
                            user_id: Some(who.user_id.clone()),
                            role: Some(who.role),
                            team_id: Some(who.team_id.clone()),
                            reason: None,
                        }));
                        self.hub.metrics.authenticated.fetch_add(1, Ordering::Relaxed);
                        {
                            let mut users = match self.hub.users.lock() {
                                Ok(u) => u,
                                Err(p) => p.into_inner(),
                            };
                            users.entry(who.user_id.clone()).or_default().push(crate::UserConn {
                                id: self.id,
                                outbox: self.outbox.clone(),
                                team: who.team_id.clone(),
                                role: who.role,
                                issued_at_ms: who.issued_at_ms,
                                token_id: who.token_id.clone(),
                            });
                        }
                        self.client_type = Some(a.client_type);
                        self.spooled = a.spooled;
                        if a.client_type == ClientType::Relay {
                            self.bucket =
                                TokenBucket::new(self.hub.config.relay_rate_per_sec, self.hub.config.relay_rate_burst);
                        }
                        self.hub.hooks.on_connect(&who);
                        if who.role == UserRole::Driver && a.client_type == ClientType::Driver {
                            self.announce(&who, DriverStatus::Active, true);
                        }
                        self.identity = Some(who);
                    }
                    Err(reason) => {
                        self.hub.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
                        self.send(&Message::AuthenticationResult(AuthenticationResult {
                            success: false,
                            user_id: None,
                            role: None,
                            team_id: None,
                            reason: Some(reason),
                        }));
                        self.close(close::AUTH_FAILED, "authentication failed");
                    }
                }
            }
            Message::Ping(p) => self.pong(p),
            other => {
                let kind = other.type_name();
                self.refuse(Message::Error(pitbox_model::control::ErrorMessage {
                    code: ErrorCode::NotAuthenticated,
                    message: format!("send authenticate before {kind}"),
                    field: None,
                    message_type: Some(kind.to_string()),
                }));
            }
        }
    }

    /// A [`crate::Handling::Later`] message finished: its reply or refusal goes out.
    fn finished(&mut self, kind: &'static str, done: Result<Option<Message>, Refusal>) {
        match done {
            Ok(Some(reply)) => self.send(&reply),
            Ok(None) => {}
            Err(r) => self.refusal(r, Some(kind)),
        }
    }

    fn pong(&self, p: Ping) {
        self.send(&Message::Pong(Ping { id: p.id, timestamp: chrono::Utc::now() }));
    }

    fn announce(&self, who: &Identity, status: DriverStatus, connected: bool) {
        if !self.hub.config.announce_driver_status {
            return;
        }
        let msg = Message::DriverStatus(DriverStatusUpdate {
            driver_id: who.user_id.clone(),
            status,
            telemetry_connected: connected,
            in_car: false,
            last_active: chrono::Utc::now(),
        });
        self.hub.fan_out(&who.team_id, Some(&who.user_id), Channel::Status, msg.to_json());
    }

    /// A driver publishes only as themself; admins publish for anyone of their team.
    fn owns(&mut self, who: &Identity, claimed: &str, field: &str, kind: &str) -> bool {
        if who.role == UserRole::Driver && claimed != who.user_id {
            self.forbidden(
                format!("{field}: a driver publishes only as themself ({})", who.user_id),
                Some(field),
                kind,
            );
            return false;
        }
        true
    }

    /// Everyone writes receipts, messages and responses under their own id.
    fn is_self(&mut self, who: &Identity, claimed: &str, field: &str, kind: &str) -> bool {
        if claimed != who.user_id {
            self.forbidden(format!("{field}: must be your own user id ({})", who.user_id), Some(field), kind);
            return false;
        }
        true
    }

    async fn authenticated(&mut self, who: &Identity, msg: Message) {
        let spec = msg.spec();
        let kind = spec.name;
        if matches!(msg, Message::Authenticate(_)) {
            self.refusal(Refusal::new(ErrorCode::Conflict, "already authenticated"), Some(kind));
            return;
        }
        if !spec.senders.contains(&who.role) {
            let allowed: Vec<&str> = spec.senders.iter().map(|r| r.as_str()).collect();
            let message = if allowed.is_empty() {
                format!("{kind} is sent by servers only")
            } else {
                format!("role {} may not send {kind} (allowed: {})", who.role, allowed.join(", "))
            };
            self.forbidden(message, Some("type"), kind);
            return;
        }
        let msg = match msg {
            Message::Subscribe(_) | Message::Unsubscribe(_) | Message::Ping(_) | Message::Pong(_) => msg,
            other => {
                let client_type = self.client_type.unwrap_or(ClientType::Dashboard);
                let spooled = self.spooled;
                match self.hub.hooks.on_client_message(crate::Client { who, client_type, spooled }, other).await {
                    Ok(crate::Handling::Hub(m)) => m,
                    Ok(crate::Handling::Taken(reply)) => {
                        if let Some(r) = reply {
                            self.send(&r);
                        }
                        return;
                    }
                    Ok(crate::Handling::Later(rest)) => {
                        self.later.push_back(Box::pin(async move { (kind, rest.await) }));
                        return;
                    }
                    Err(r) => {
                        self.refusal(r, Some(kind));
                        return;
                    }
                }
            }
        };
        let team = who.team_id.clone();
        match msg {
            Message::TelemetryUpdate(u) => {
                if !self.owns(who, &u.driver_id, "data.driverId", kind) {
                    return;
                }
                // A spooling client's sample reaches the server's store through its batches;
                // this copy is for the live view only.
                let kept = if self.spooled { Ok(true) } else { self.hub.hooks.on_telemetry(who, &u).await };
                match kept {
                    Ok(true) => {
                        self.hub.metrics.telemetry_in.fetch_add(1, Ordering::Relaxed);
                        let driver = u.driver_id.clone();
                        let json = Message::TelemetryUpdate(u).to_json();
                        self.hub.fan_out(&team, Some(&driver), Channel::Telemetry, json);
                    }
                    Ok(false) => {}
                    Err(r) => self.refusal(r, Some(kind)),
                }
            }
            Message::TelemetryBatch(b) => self.on_batch(who, b).await,
            Message::SessionInfo(s) => {
                if self.owns(who, &s.driver_id, "data.driverId", kind) {
                    self.accept(who, Message::SessionInfo(s)).await;
                }
            }
            Message::StandingsUpdate(s) => {
                if self.owns(who, &s.driver_id, "data.driverId", kind) {
                    self.accept(who, Message::StandingsUpdate(s)).await;
                }
            }
            Message::DriverStatus(s) => {
                if self.owns(who, &s.driver_id, "data.driverId", kind) {
                    self.accept(who, Message::DriverStatus(s)).await;
                }
            }
            Message::TeamMessage(m) => {
                if self.is_self(who, &m.sender_id, "data.senderId", kind) {
                    self.accept(who, Message::TeamMessage(m)).await;
                }
            }
            Message::PitCommand(p) => {
                if self.is_self(who, &p.sender_id, "data.senderId", kind) {
                    self.accept(who, Message::PitCommand(p)).await;
                }
            }
            Message::VideoRequest(v) => {
                if self.is_self(who, &v.sender_id, "data.senderId", kind) {
                    self.accept(who, Message::VideoRequest(v)).await;
                }
            }
            Message::MessageRead(r) => {
                if self.is_self(who, &r.reader_id, "data.readerId", kind) {
                    self.accept(who, Message::MessageRead(r)).await;
                }
            }
            Message::HandoffRequest(h) => {
                if self.handoff_request(who, &h) {
                    self.accept(who, Message::HandoffRequest(h)).await;
                }
            }
            Message::HandoffResponse(r) => {
                if let Some(updated) = self.handoff_response(who, &r) {
                    self.accept(who, Message::HandoffResponse(r)).await;
                    // The new state is the server's, so the responder gets it too.
                    self.hub.route(&team, &Message::HandoffRequest(updated), None, true);
                }
            }
            Message::Subscribe(s) => self.subscribe(who, s),
            Message::Unsubscribe(u) => self.unsubscribe(u),
            Message::Ping(p) => self.pong(p),
            Message::Pong(_) => {}
            // Server-only messages never get here (no sender role), but stay explicit.
            other => {
                let kind = other.type_name();
                self.forbidden(format!("{kind} is sent by servers only"), Some("type"), kind);
            }
        }
    }

    /// An accepted team message: routed to the team (never back to this connection), then
    /// handed to the server's hooks.
    async fn accept(&mut self, who: &Identity, msg: Message) {
        self.hub.route(&who.team_id, &msg, Some(self.id), true);
        self.hub.hooks.on_message(who, &msg).await;
    }

    async fn on_batch(&mut self, who: &Identity, batch: TelemetryBatch) {
        let kind = "telemetry_batch";
        if !matches!(who.role, UserRole::Driver | UserRole::Admin) {
            self.forbidden(format!("role {} may not send {kind}", who.role), Some("type"), kind);
            return;
        }
        if !self.owns(who, &batch.driver_id, "data.driverId", kind) {
            return;
        }
        match self.hub.hooks.on_batch(who, batch).await {
            Ok(Some(ack)) => self.send(&Message::Ack(ack)),
            Ok(None) => {}
            Err(r) => self.refusal(r, Some(kind)),
        }
    }

    /// Records a new handoff; false (and an error sent) when refused.
    fn handoff_request(&mut self, who: &Identity, h: &HandoffRequest) -> bool {
        let kind = "handoff_request";
        if who.role == UserRole::Driver && h.requester_id != who.user_id {
            self.forbidden(
                format!("data.requesterId: a driver requests handoffs only as themself ({})", who.user_id),
                Some("data.requesterId"),
                kind,
            );
            return false;
        }
        if h.status != HandoffStatus::Pending {
            let mut r =
                Refusal::new(ErrorCode::Conflict, "a new handoff must be pending; use handoff_response to move it");
            r.field = Some("data.status".into());
            self.refusal(r, Some(kind));
            return false;
        }
        {
            let mut book = match self.hub.handoffs.lock() {
                Ok(b) => b,
                Err(p) => p.into_inner(),
            };
            let key = (who.team_id.clone(), h.id.clone());
            if book.contains_key(&key) {
                drop(book);
                let mut r = Refusal::new(ErrorCode::Conflict, format!("handoff {} already exists", h.id));
                r.field = Some("data.id".into());
                self.refusal(r, Some(kind));
                return false;
            }
            // Bounded: forget the oldest finished handoffs of a huge book.
            if book.len() >= 10_000 {
                book.retain(|_, v| !v.status.is_final());
            }
            book.insert(key, h.clone());
        }
        true
    }

    /// Moves a handoff; the updated handoff, or `None` (and an error sent) when refused.
    fn handoff_response(&mut self, who: &Identity, r: &HandoffResponse) -> Option<HandoffRequest> {
        let kind = "handoff_response";
        if !self.is_self(who, &r.responder_id, "data.responderId", kind) {
            return None;
        }
        let updated = {
            let mut book = match self.hub.handoffs.lock() {
                Ok(b) => b,
                Err(p) => p.into_inner(),
            };
            let key = (who.team_id.clone(), r.handoff_id.clone());
            match book.get_mut(&key) {
                None => Err(Refusal {
                    code: ErrorCode::NotFound,
                    message: format!("no handoff {} in your team", r.handoff_id),
                    field: Some("data.handoffId".into()),
                }),
                Some(h) => {
                    let staff = matches!(who.role, UserRole::Engineer | UserRole::Admin);
                    let allowed = match r.status {
                        HandoffStatus::Accepted | HandoffStatus::Rejected => staff || who.user_id == h.target_driver_id,
                        HandoffStatus::Completed => {
                            staff || who.user_id == h.target_driver_id || who.user_id == h.requester_id
                        }
                        HandoffStatus::Pending => false,
                    };
                    if !allowed {
                        Err(Refusal {
                            code: ErrorCode::Forbidden,
                            message: format!("you may not move handoff {} to {}", h.id, r.status),
                            field: Some("data.status".into()),
                        })
                    } else if !h.status.can_become(r.status) {
                        Err(Refusal {
                            code: ErrorCode::Conflict,
                            message: format!("handoff {} is {}; it cannot become {}", h.id, h.status, r.status),
                            field: Some("data.status".into()),
                        })
                    } else {
                        h.status = r.status;
                        Ok(h.clone())
                    }
                }
            }
        };
        match updated {
            Ok(h) => Some(h),
            Err(e) => {
                self.refusal(e, Some(kind));
                None
            }
        }
    }

    fn subscribe(&mut self, who: &Identity, s: Subscribe) {
        let team = s.team_id.clone().unwrap_or_else(|| who.team_id.clone());
        if !self.hub.hooks.may_follow(who, &team) {
            self.forbidden(
                format!("data.teamId: you may not follow team {team} (yours is {})", who.team_id),
                Some("data.teamId"),
                "subscribe",
            );
            return;
        }
        let channels =
            if s.channels.is_empty() { ALL_CHANNELS } else { s.channels.iter().fold(0, |m, c| m | channel_bit(*c)) };
        let rate = s.max_rate_hz.unwrap_or(DEFAULT_SUBSCRIBE_HZ);
        self.outbox.set_rate(rate);
        self.outbox.forget_all();
        let sub = Sub {
            conn: self.id,
            team,
            drivers: s.driver_ids,
            excluded: Vec::new(),
            channels,
            rate_hz: rate,
            outbox: self.outbox.clone(),
        };
        self.send(&subscribed_message(&sub));
        self.sub_team = Some(sub.team.clone());
        self.outbox.forget_video(None);
        let video = (sub.channels & VIDEO_BIT != 0).then(|| sub.clone());
        self.hub.registry.upsert(sub, true);
        if let Some(sub) = video {
            self.hub.join_video(&sub);
        }
    }

    fn unsubscribe(&mut self, u: Unsubscribe) {
        let Some(team) = self.sub_team.clone() else { return };
        let Some(cur) = self.hub.registry.get(self.id, &team) else { return };
        if u.driver_ids.is_empty() && u.channels.is_empty() {
            self.sub_team = None;
            self.hub.registry.remove(self.id);
            self.outbox.forget_all();
            self.outbox.forget_video(None);
            return;
        }
        let mut next: Sub = (*cur).clone();
        if !u.driver_ids.is_empty() {
            if next.drivers.is_empty() {
                next.excluded.extend(u.driver_ids.iter().cloned());
            } else {
                next.drivers.retain(|d| !u.driver_ids.contains(d));
                if next.drivers.is_empty() {
                    next.channels = 0;
                }
            }
            for d in &u.driver_ids {
                self.outbox.forget_driver(d);
                self.outbox.forget_video(Some(d));
            }
        }
        for c in &u.channels {
            next.channels &= !channel_bit(*c);
            if *c == Channel::Telemetry {
                self.outbox.forget_all();
            }
            if *c == Channel::Video {
                self.outbox.forget_video(None);
            }
        }
        if next.channels == 0 {
            self.sub_team = None;
            self.hub.registry.remove(self.id);
        } else {
            self.send(&subscribed_message(&next));
            self.hub.registry.upsert(next, false);
        }
    }

    fn cleanup(&mut self) {
        self.hub.registry.remove(self.id);
        self.hub.video.connection_closed(self.id);
        if let Some(who) = self.identity.take() {
            {
                let mut users = match self.hub.users.lock() {
                    Ok(u) => u,
                    Err(p) => p.into_inner(),
                };
                if let Some(list) = users.get_mut(&who.user_id) {
                    list.retain(|c| c.id != self.id);
                    if list.is_empty() {
                        users.remove(&who.user_id);
                    }
                }
            }
            self.hub.metrics.authenticated.fetch_sub(1, Ordering::Relaxed);
            self.hub.hooks.on_disconnect(&who);
            if who.role == UserRole::Driver && self.client_type == Some(ClientType::Driver) {
                self.announce(&who, DriverStatus::Inactive, false);
            }
        }
    }
}

fn subscribed_message(sub: &Sub) -> Message {
    let channels: Vec<Channel> = Channel::ALL.iter().copied().filter(|c| sub.channels & channel_bit(*c) != 0).collect();
    Message::Subscribed(Subscribed {
        team_id: sub.team.clone(),
        driver_ids: sub.drivers.clone(),
        channels,
        max_rate_hz: sub.rate_hz,
    })
}
