//! The uplink: one WebSocket (`ws://` or `wss://`) to a cloud node. It authenticates as a
//! relay, sends every spooled batch in order per driver as a binary frame (zstd-compressed
//! `telemetry_batch`, see `pitbox_hub::uplink`), keeps at most `window` batches unacknowledged,
//! drops a driver's batches from the spool when the cloud acknowledges them, and reconnects with
//! exponential backoff and full jitter, moving to the next configured cloud node on every
//! failure. After a reconnect (or a restart) it resends everything still in the spool: the
//! cloud stores each (driverId, sequence) once.
//!
//! Team messages of local clients (`team_message`, handoffs, `session_info` …) go up as text
//! frames, in queue order. The cloud sends no ack for them, but it handles one connection's
//! frames in order, so after a run of messages the relay sends a `ping` whose id is the last
//! message's queue position: its `pong` confirms every message before it, and only then are
//! they dropped from the spool (a cut before the pong means a resend, which the cloud refuses
//! as already known). The relay subscribes to its team on the cloud (every channel but
//! telemetry) and delivers what comes down to local clients (see `downlink`).
//!
//! A signed-in relay's credential is renewed while it runs (`pitbox_auth::login`): the open link
//! keeps going (the cloud authenticates a connection once and closes it only on revocation) and
//! every new link authenticates with the newest credential.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pitbox_hub::Hub;
use pitbox_model::control::{Authenticate, PROTOCOL_VERSION, Ping, Subscribe, protocol_compatible};
use pitbox_model::{Channel, ClientType, Message};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::ingest::RelayHooks;
use crate::spool::Spool;
use crate::state::Shared;

/// Most team messages sent and not yet confirmed by a `pong`.
const MESSAGE_WINDOW: u64 = 1024;

/// Uplink settings.
#[derive(Debug, Clone)]
pub struct UplinkConfig {
    /// `ws://host:port/ws` or `wss://…` of the cloud (the first node; more in
    /// [`crate::RelayConfig::cloud_failover_urls`]).
    pub url: String,
    /// The relay's credential (scope `relay`); a signed-in relay
    /// ([`crate::RelayConfig::cloud_login`]) renews it and this is unused.
    pub token: String,
    /// Most batches in flight without an ack.
    pub window: usize,
    /// First reconnect delay.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
}

impl UplinkConfig {
    /// One cloud node, default window and backoff.
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> UplinkConfig {
        UplinkConfig {
            url: url.into(),
            token: token.into(),
            window: 256,
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
        }
    }
}

type Ws = pitbox_uplink::Ws;

#[derive(Debug, thiserror::Error)]
enum UplinkFailure {
    #[error("connect: {0}")]
    Connect(String),
    #[error("timed out: {0}")]
    Timeout(&'static str),
    #[error("cloud refused: {0}")]
    Refused(String),
    #[error("cloud refused the relay's token: {0}")]
    Unauthorised(String),
    #[error("connection lost: {0}")]
    Lost(String),
    #[error("spool: {0}")]
    Spool(String),
}

pub use pitbox_uplink::backoff;

/// Everything a session needs besides its URL.
pub(crate) struct UplinkCtx {
    pub(crate) cfg: UplinkConfig,
    /// The newest credential (fixed, or renewed from the sign-in); `None` until the first.
    pub(crate) tokens: watch::Receiver<Option<String>>,
    /// Every cloud node, the configured one first.
    pub(crate) urls: Vec<String>,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) spool: Arc<Spool>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) hub: Hub<RelayHooks>,
}

pub(crate) async fn run(ctx: UplinkCtx, mut shutdown: watch::Receiver<bool>) {
    let nodes = ctx.urls.len();
    if nodes == 0 {
        tracing::error!("uplink has no cloud URL; running offline");
        return;
    }
    let mut attempt: u32 = 0;
    let mut node = 0usize;
    let mut failures_this_round = 0usize;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let url = ctx.urls[node].clone();
        let mut connected = false;
        let result = tokio::select! {
            r = session(&ctx, &url, &mut connected) => r,
            _ = shutdown.changed() => return,
        };
        ctx.shared.metrics.uplink_connected.store(0, Ordering::Relaxed);
        match &result {
            Err(UplinkFailure::Unauthorised(why)) => {
                ctx.shared.uplink.set(crate::state::UplinkState::Unauthorised, Some(why.clone()));
            }
            Err(UplinkFailure::Refused(why)) => {
                ctx.shared.uplink.set(crate::state::UplinkState::Refused, Some(why.clone()));
            }
            Err(e) => ctx.shared.uplink.set(crate::state::UplinkState::Disconnected, Some(e.to_string())),
            Ok(()) => ctx.shared.uplink.set(crate::state::UplinkState::Disconnected, None),
        }
        if connected {
            attempt = 0;
            failures_this_round = 0;
        }
        if let Err(e) = result {
            if connected || attempt == 0 {
                tracing::warn!(error = %e, url = %url, "uplink down; samples and messages stay in the spool");
            } else {
                tracing::debug!(error = %e, url = %url, attempt, "uplink reconnect failed");
            }
        }
        if nodes > 1 {
            // Fail over: the next node at once; back off only after a full round failed.
            node = (node + 1) % nodes;
            ctx.shared.metrics.uplink_failovers.fetch_add(1, Ordering::Relaxed);
            tracing::info!(next = %ctx.urls[node], "uplink moving to the next cloud node");
            failures_this_round += 1;
            if failures_this_round < nodes {
                let delay = Duration::from_millis(fastrand::u64(20..=120));
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.changed() => return,
                }
                continue;
            }
            failures_this_round = 0;
        }
        attempt = attempt.saturating_add(1);
        let delay = backoff(attempt, ctx.cfg.backoff_min, ctx.cfg.backoff_max);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn blocking<T: Send + 'static>(
    spool: &Arc<Spool>,
    f: impl FnOnce(&Spool) -> Result<T, crate::spool::SpoolError> + Send + 'static,
) -> Result<T, UplinkFailure> {
    let s = spool.clone();
    match tokio::task::spawn_blocking(move || f(&s)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(UplinkFailure::Spool(e.to_string())),
        Err(e) => Err(UplinkFailure::Spool(e.to_string())),
    }
}

/// Opens the WebSocket to `url`, over TLS for `wss://`.
async fn connect(url: &str, tls: Option<&Arc<rustls::ClientConfig>>) -> Result<Ws, UplinkFailure> {
    pitbox_uplink::connect(url, tls).await.map_err(|e| UplinkFailure::Connect(e.0))
}

async fn session(ctx: &UplinkCtx, url: &str, connected: &mut bool) -> Result<(), UplinkFailure> {
    let (cfg, spool, shared) = (&ctx.cfg, &ctx.spool, &ctx.shared);
    // The newest credential: an open link keeps the one it authenticated with (the cloud checks
    // a token when a connection authenticates and closes it only on revocation); a new link
    // takes the renewed one.
    let current = ctx.tokens.borrow().clone();
    let token = match current {
        Some(t) => t,
        None => {
            let mut tokens = ctx.tokens.clone();
            let wait = async move { tokens.wait_for(Option::is_some).await.map(|t| t.clone()) };
            match tokio::time::timeout(Duration::from_secs(30), wait).await {
                Ok(Ok(Some(t))) => t,
                _ => {
                    return Err(UplinkFailure::Unauthorised(
                        "no credential: the sign-in's renewal has not produced one (see the log and /health's login)"
                            .into(),
                    ));
                }
            }
        }
    };
    let ws = tokio::time::timeout(Duration::from_secs(10), connect(url, ctx.tls.as_ref()))
        .await
        .map_err(|_| UplinkFailure::Timeout("connect"))??;
    let (mut tx, mut rx) = ws.split();
    // Greeting, then authenticate.
    let greeting = tokio::time::timeout(Duration::from_secs(10), next_message(&mut rx))
        .await
        .map_err(|_| UplinkFailure::Timeout("greeting"))??;
    match greeting {
        Message::ConnectionEstablished(c) if protocol_compatible(&c.version) => {}
        Message::ConnectionEstablished(c) => {
            return Err(UplinkFailure::Refused(format!("cloud speaks protocol {}", c.version)));
        }
        other => {
            return Err(UplinkFailure::Refused(format!("expected connection_established, got {}", other.type_name())));
        }
    }
    let auth = Message::Authenticate(Authenticate {
        token,
        client_type: ClientType::Relay,
        version: PROTOCOL_VERSION.to_string(),
        spooled: false,
    });
    tx.send(WsMessage::text(auth.to_json())).await.map_err(|e| UplinkFailure::Lost(e.to_string()))?;
    let result = tokio::time::timeout(Duration::from_secs(10), next_message(&mut rx))
        .await
        .map_err(|_| UplinkFailure::Timeout("authentication"))??;
    let team = match result {
        Message::AuthenticationResult(r) if r.success => r.team_id,
        Message::AuthenticationResult(r) => {
            return Err(UplinkFailure::Unauthorised(r.reason.unwrap_or_else(|| "authentication failed".into())));
        }
        other => {
            return Err(UplinkFailure::Refused(format!("expected authentication_result, got {}", other.type_name())));
        }
    };
    // Everything of the team but telemetry comes down (the relay has its own drivers' samples
    // and dashboards in the cloud follow telemetry there).
    let subscribe = Message::Subscribe(Subscribe {
        team_id: None,
        driver_ids: Vec::new(),
        channels: vec![
            Channel::Session,
            Channel::Standings,
            Channel::Messages,
            Channel::Handoffs,
            Channel::Coaching,
            Channel::Status,
            Channel::Strategy,
        ],
        max_rate_hz: None,
    });
    tx.send(WsMessage::text(subscribe.to_json())).await.map_err(|e| UplinkFailure::Lost(e.to_string()))?;
    if team.is_none() {
        tracing::warn!("the cloud named no team for the relay; cloud messages cannot be delivered locally");
    }
    tracing::info!(url = %url, "uplink connected");
    *connected = true;
    shared.uplink.set(crate::state::UplinkState::Connected, None);
    shared.metrics.uplink_connected.store(1, Ordering::Relaxed);
    shared.metrics.uplink_connects.fetch_add(1, Ordering::Relaxed);
    // Team messages: highest queue position sent on this connection, and confirmed.
    let (mut msg_sent, mut msg_confirmed) = (0u64, 0u64);
    // Video on this link starts at keyframes, asked of the drivers now.
    for stream in shared.video_up.restart() {
        if let Some(team) = team.as_deref() {
            ctx.hub.request_keyframe(team, &stream);
        }
    }

    // Batches in flight on this connection (shared with the driver agent's uplink).
    let mut out = pitbox_uplink::Outflow::new(cfg.window);
    loop {
        let n = out.apply_due(spool).await.map_err(|e| UplinkFailure::Spool(e.to_string()))?;
        shared.metrics.uplink_batches_acked.fetch_add(n, Ordering::Relaxed);
        if out.due() {
            let ready = out.refill(spool).await.map_err(|e| UplinkFailure::Spool(e.to_string()))?;
            shared.metrics.uplink_lag_ms.store(ready.lag_ms.unwrap_or(0), Ordering::Relaxed);
            for (_, b) in ready.frames {
                shared.metrics.uplink_bytes_sent.fetch_add(b.frame.len() as u64, Ordering::Relaxed);
                tx.feed(WsMessage::binary(b.frame)).await.map_err(|e| UplinkFailure::Lost(e.to_string()))?;
                shared.metrics.uplink_batches_sent.fetch_add(1, Ordering::Relaxed);
            }
            if spool.messages() > 0 && msg_sent.saturating_sub(msg_confirmed) < MESSAGE_WINDOW {
                let after = msg_sent;
                let lim = MESSAGE_WINDOW.saturating_sub(msg_sent.saturating_sub(msg_confirmed)) as usize;
                let queued = blocking(spool, move |s| s.pending_messages(after, lim)).await?;
                if let Some(last) = queued.last().map(|m| m.id) {
                    let n = queued.len() as u64;
                    for m in queued {
                        tx.feed(WsMessage::text(m.json)).await.map_err(|e| UplinkFailure::Lost(e.to_string()))?;
                    }
                    // The barrier: its pong confirms every message before it.
                    let barrier = Message::Ping(Ping { id: last, timestamp: chrono::Utc::now() });
                    tx.feed(WsMessage::text(barrier.to_json()))
                        .await
                        .map_err(|e| UplinkFailure::Lost(e.to_string()))?;
                    msg_sent = last;
                    shared.metrics.uplink_messages_sent.fetch_add(n, Ordering::Relaxed);
                }
            }
            tx.flush().await.map_err(|e| UplinkFailure::Lost(e.to_string()))?;
        }
        tokio::select! {
            m = rx.next() => {
                let m = match m {
                    None => return Err(UplinkFailure::Lost("closed".into())),
                    Some(Err(e)) => return Err(UplinkFailure::Lost(e.to_string())),
                    Some(Ok(m)) => m,
                };
                match m {
                    WsMessage::Text(t) => match pitbox_model::decode(t.as_bytes()) {
                        Ok(Message::Ack(a)) => {
                            let mut mine = out.sent(&a.driver_id);
                            if a.sequence > mine && mine > 0 {
                                // Beyond what this connection sent: compare with every number
                                // the spool ever gave this driver (acks lost in a crash are fine).
                                let d = a.driver_id.clone();
                                let assigned = blocking(spool, move |s| s.drivers()).await?;
                                mine = assigned.get(&d).map_or(mine, |st| st.next_batch.saturating_sub(1));
                            }
                            if a.sequence > mine && mine > 0 {
                                // The cloud stored batches of this driver beyond any this relay
                                // numbered: its spool started again from 1 (a fresh data folder)
                                // and the cloud takes these batches for ones it has. Not silent.
                                let msg = format!(
                                    "the cloud has batches of {} up to {} but this relay numbered only up to {mine}: \
                                     its spool is newer than the cloud's record (a fresh data folder?), so these \
                                     samples are taken as already stored",
                                    a.driver_id, a.sequence
                                );
                                tracing::error!(driver = %a.driver_id, cloud = a.sequence, relay = mine, "{msg}");
                                shared.metrics.uplink_refusals.fetch_add(1, Ordering::Relaxed);
                                shared.uplink.refused("conflict", &msg);
                            } else {
                                shared.uplink.acked();
                            }
                            out.ack(&a.driver_id, a.sequence);
                        }
                        Ok(Message::Ping(p)) => {
                            let pong = Message::Pong(Ping { id: p.id, timestamp: chrono::Utc::now() });
                            tx.send(WsMessage::text(pong.to_json())).await.map_err(|e| UplinkFailure::Lost(e.to_string()))?;
                        }
                        Ok(Message::Pong(p)) => {
                            if p.id > msg_confirmed && p.id <= msg_sent {
                                msg_confirmed = p.id;
                                let n = blocking(spool, move |sp| sp.ack_messages(p.id)).await?;
                                shared.metrics.uplink_messages_confirmed.fetch_add(n, Ordering::Relaxed);
                                out.wake();
                            }
                        }
                        Ok(Message::Error(e)) => {
                            shared.metrics.uplink_refusals.fetch_add(1, Ordering::Relaxed);
                            shared.uplink.refused(e.code.as_str(), &e.message);
                            tracing::warn!(
                                code = %e.code,
                                message = %e.message,
                                kind = e.message_type.as_deref().unwrap_or("-"),
                                "cloud refused an uplink message"
                            );
                        }
                        Ok(Message::TelemetryUpdate(_)) => {}
                        Ok(m) => downlink(ctx, team.as_deref(), m),
                        Err(e) => tracing::warn!(error = %e, "unreadable message from the cloud"),
                    },
                    WsMessage::Close(f) => {
                        return Err(UplinkFailure::Lost(format!("cloud closed: {}", f.map(|f| f.reason.to_string()).unwrap_or_default())));
                    }
                    // A keyframe request of a viewer in the cloud, for one of this relay's drivers.
                    WsMessage::Binary(b) => match pitbox_video::decode_message(&b) {
                        Ok(pitbox_video::VideoMessage::KeyframeRequest { stream_id }) => {
                            if let Some(team) = team.as_deref() {
                                ctx.hub.request_keyframe(team, stream_id);
                            }
                        }
                        Ok(_) => tracing::debug!("a video frame from the cloud: ignored"),
                        Err(e) => tracing::warn!(error = %e, "unreadable binary message from the cloud"),
                    },
                    _ => {}
                }
            }
            // Drivers' video: live, after the batches above, never spooled.
            _ = shared.video_up.wake.notified() => {
                let frames = shared.video_up.drain();
                if !frames.is_empty() {
                    for f in frames {
                        let bytes = tokio_tungstenite::tungstenite::Bytes::from_owner(f.message);
                        tx.feed(WsMessage::Binary(bytes)).await.map_err(|e| UplinkFailure::Lost(e.to_string()))?;
                    }
                    tx.flush().await.map_err(|e| UplinkFailure::Lost(e.to_string()))?;
                }
            }
            _ = shared.uplink_wake.notified() => { out.wake(); }
            _ = tokio::time::sleep_until(out.apply_at().unwrap_or_else(tokio::time::Instant::now)), if out.apply_at().is_some() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => { out.wake(); }
        }
    }
}

/// Delivers a message from the cloud to the local clients entitled to it, unless it is the echo
/// of one a local client sent.
fn downlink(ctx: &UplinkCtx, team: Option<&str>, msg: Message) {
    let Some(team) = team else { return };
    if pitbox_hub::channel_of(&msg).is_none() {
        return; // control traffic (subscribed, pong of another kind …)
    }
    if let Some(key) = crate::downlink::echo_key(&msg)
        && ctx.shared.echoes.is_echo(&key)
    {
        ctx.shared.metrics.downlink_echoes.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let reached = ctx.hub.deliver(team, &msg);
    ctx.shared.metrics.downlink_messages.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(kind = msg.type_name(), reached, "cloud message delivered");
}

async fn next_message<S>(rx: &mut S) -> Result<Message, UplinkFailure>
where
    S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match rx.next().await {
            None => return Err(UplinkFailure::Lost("closed".into())),
            Some(Err(e)) => return Err(UplinkFailure::Lost(e.to_string())),
            Some(Ok(WsMessage::Text(t))) => {
                return pitbox_model::decode(t.as_bytes()).map_err(|e| UplinkFailure::Refused(e.to_string()));
            }
            Some(Ok(WsMessage::Close(f))) => {
                return Err(UplinkFailure::Refused(f.map(|f| f.reason.to_string()).unwrap_or_else(|| "closed".into())));
            }
            Some(Ok(_)) => {}
        }
    }
}
