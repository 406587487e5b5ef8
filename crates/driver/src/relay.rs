//! The relay client: one WebSocket to `relayAgent.url:port`, authenticated with the token,
//! re-opened with exponential backoff (with jitter) whenever it drops or the configuration
//! changes. A signed-in agent's token is renewed while it runs; the open connection stays as it
//! is (the relay checks a token when a connection authenticates, and closes it only when the
//! token is revoked), and every new connection authenticates with the newest token.
//!
//! On every (re)connection the agent sends `driver_status` and the current `session_info`
//! again, then `telemetry_update`s at the set rate (only samples not sent yet: the sequence
//! numbers carry on across reconnections, so nothing is sent twice and the relay can tell what
//! was missed), `session_info` on change and `standings_update` at its rate. Received
//! `ai_coaching`, `team_message` and `handoff_request` go to the local inbox; `ping` is
//! answered.
//!
//! With a spool ([`crate::spool`]) the agent says so in `authenticate` (`spooled: true`): its
//! `telemetry_update`s are then for the live view only, and what is kept is the spool's numbered
//! zstd batches (`telemetry_batch` binary frames, `pitbox-uplink`'s window: at most
//! `SpoolSettings::window` unacknowledged, in order, everything unacknowledged again on every
//! new connection). The newest sample always goes at once; batches go behind it. A relay
//! acknowledges by sample `sequence` (the highest spooled), the cloud in direct mode by batch
//! `sequence`; either way the acknowledged batches leave the spool.

use crate::agent::AgentSettings;
use crate::state::Shared;
use futures_util::{SinkExt, StreamExt};
use pitbox_model::control::{Authenticate, PROTOCOL_VERSION};
use pitbox_model::session::DriverStatusUpdate;
use pitbox_model::{ClientType, DriverStatus, Message};
use pitbox_sources::ConnectionState;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Why a connection ended.
#[derive(Debug)]
enum End {
    /// Shutdown requested.
    Stop,
    /// The configuration changed: connect to the new address at once.
    Reconfigured,
    /// Refused or dropped: back off.
    Failed(String),
}

/// The relay's WebSocket address for a configuration, e.g. `ws://127.0.0.1:8765/`.
pub fn relay_url(cfg: &pitbox_model::rest::DriverAppConfig) -> String {
    let base = cfg.relay_agent.url.trim_end_matches('/');
    let after_scheme = base.split_once("://").map_or(base, |(_, r)| r);
    if after_scheme.contains('/') {
        // A URL with a path (the cloud's own `/ws`, as `driver init` writes it) is used exactly
        // as given: `/ws/` is another route.
        cfg.relay_agent.url.clone()
    } else if after_scheme.contains(':') {
        format!("{base}/")
    } else {
        format!("{base}:{}/", cfg.relay_agent.port)
    }
}

/// The cloud's WebSocket for direct mode: `https://HOST` → `wss://HOST/ws`, `http://HOST:PORT`
/// → `ws://HOST:PORT/ws`; a `ws://` or `wss://` URL with a path is used as given.
pub fn cloud_ws_url(url: &str) -> String {
    let url = url.trim();
    let (scheme, rest) = match url.split_once("://") {
        Some(("https", r)) => ("wss", r),
        Some(("http", r)) => ("ws", r),
        Some((s, r)) => (s, r),
        None => ("wss", url),
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') { format!("{scheme}://{rest}") } else { format!("{scheme}://{rest}/ws") }
}

/// Runs until shutdown.
pub async fn run(
    shared: Arc<Shared>,
    settings: AgentSettings,
    mut tokens: watch::Receiver<Option<String>>,
    mut outbox: mpsc::Receiver<Message>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = settings.backoff_min;
    let mut config = shared.config.subscribe();
    // The last sample sent, across connections: a reconnect does not send it again (the relay
    // would drop it as a duplicate and report a refusal).
    let mut last_seq: Option<u64> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        // The newest token; a signed-in agent has none until its first renewal is in.
        let current = tokens.borrow_and_update().clone();
        let token = match current {
            Some(t) => t,
            None => {
                tracing::info!("waiting for the sign-in's first token before connecting to the relay");
                tokio::select! {
                    _ = token_changed(&mut tokens) => continue,
                    _ = shutdown.wait_for(|v| *v) => return,
                }
            }
        };
        let url = match &settings.cloud_url {
            Some(cloud) => cloud_ws_url(cloud),
            None => relay_url(&config.borrow_and_update()),
        };
        let end = tokio::select! {
            e = connection(&shared, &settings, &token, &url, &mut outbox, &mut config, &mut backoff, &mut last_seq) => e,
            // The connection goes on while the spool hands over its last samples.
            _ = stop_after_drain(&mut shutdown, &shared) => End::Stop,
        };
        shared.relay_connected.store(false, Ordering::Relaxed);
        if let Some(sp) = shared.spool.get() {
            sp.set_connected(false);
        }
        match end {
            End::Stop => return,
            End::Reconfigured => continue,
            End::Failed(why) => {
                let jitter = backoff.mul_f64(fastrand::f64() * 0.25);
                tracing::info!(relay = %url, reason = %why, retry_in = ?(backoff + jitter), "relay connection down");
                tokio::select! {
                    _ = tokio::time::sleep(backoff + jitter) => {}
                    _ = shutdown.wait_for(|v| *v) => return,
                    _ = config.changed() => {}
                    // A renewed token: try it at once (the old one may be what was refused).
                    _ = token_changed(&mut tokens) => {}
                }
                // A relay that is away (restarted, the line down) is tried at least every
                // RECONNECT_CAP: a dark driver on the pit wall costs more than a refused TCP
                // connect. Only a refused token waits the full `backoff_max` (set above).
                backoff = (backoff * 2).min(settings.backoff_max).min(RECONNECT_CAP);
            }
        }
    }
}

/// How long a stopping agent waits for its spool to be acknowledged (the agent's tasks get 2 s).
const DRAIN_MAX: Duration = Duration::from_millis(1500);
/// The spool writer's last write lands within its cadence after the source stops.
const DRAIN_SETTLE: Duration = Duration::from_millis(300);

/// Resolves once shutdown is asked and the spool has handed over what it holds: at once without
/// a spool or a link, else when the spool is empty or after [`DRAIN_MAX`]. A driver who quits
/// at the end of the race then leaves nothing waiting on disk until the next start.
async fn stop_after_drain(shutdown: &mut watch::Receiver<bool>, shared: &Shared) {
    let _ = shutdown.wait_for(|v| *v).await;
    let Some(sp) = shared.spool.get() else { return };
    if !shared.is_relay_connected() {
        return;
    }
    let deadline = tokio::time::Instant::now() + DRAIN_MAX;
    tokio::time::sleep(DRAIN_SETTLE).await;
    while tokio::time::Instant::now() < deadline && shared.is_relay_connected() && sp.spool.samples() > 0 {
        sp.wake.notify_one();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left = sp.spool.samples();
    if left > 0 {
        tracing::info!(samples = left, "stopping with samples not yet acknowledged: they are sent at the next start");
    }
}

/// The longest wait between two tries at a relay that is away (not one that refused the token).
pub const RECONNECT_CAP: Duration = Duration::from_secs(2);

/// Resolves when a new token is in; never when the tokens cannot change (a fixed token).
async fn token_changed(tokens: &mut watch::Receiver<Option<String>>) {
    if tokens.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// When the next telemetry sample may go: on average `hz` a second, with an allowance of
/// [`Pacer::BURST`] periods, so a source that produces exactly `hz` samples a second with
/// jitter in its timing (a replay at 4× with a 240 Hz setting, a sim whose ticks wobble) has
/// every sample sent; a strict minimum spacing coalesced the ones that came early, and about
/// 7 % of a replay's records never left the agent. A faster source is held to `hz`.
#[derive(Debug, Clone, Copy)]
struct Pacer {
    period: Duration,
    next_due: tokio::time::Instant,
}

impl Pacer {
    /// Periods the pacer may fall behind and then catch up at once.
    const BURST: u32 = 4;

    /// Starts with the whole allowance: the first sample's timing sets no phase that later
    /// samples must keep. (Due at `now`, a first sample that came just after the connection
    /// left no room for the next one to be a little early, and from then on about a quarter of
    /// a 60 Hz sim's samples waited for the timer's next millisecond: telemetry p99 0.3 → 2.4 ms.)
    fn new(hz: f64, now: tokio::time::Instant) -> Pacer {
        let period = Duration::from_secs_f64(1.0 / hz.clamp(0.1, 10_000.0));
        Pacer { period, next_due: now.checked_sub(period * Self::BURST).unwrap_or(now) }
    }

    fn ready(&self, now: tokio::time::Instant) -> bool {
        now >= self.next_due
    }

    fn due(&self) -> tokio::time::Instant {
        self.next_due
    }

    /// A sample went at `now`: the next is due a period after the previous due time, or after
    /// `now` less the burst allowance when the sender has been idle longer.
    fn sent(&mut self, now: tokio::time::Instant) {
        let floor = now.checked_sub(self.period * Self::BURST).unwrap_or(now);
        self.next_due = self.next_due.max(floor) + self.period;
    }
}

/// The newest sample, if it was not sent yet.
fn take_new(
    rx: &mut watch::Receiver<Option<pitbox_model::telemetry::TelemetryUpdate>>,
    last_seq: &mut Option<u64>,
    shared: &Shared,
) -> Option<Message> {
    let t = rx.borrow_and_update().clone()?;
    if t.sequence.is_some() && t.sequence > *last_seq {
        *last_seq = t.sequence;
        shared.sent_telemetry.fetch_add(1, Ordering::Relaxed);
        Some(Message::TelemetryUpdate(t))
    } else {
        None
    }
}

/// Connects (`ws://`, or `wss://` trusting the system's roots) with Nagle's algorithm off: at
/// 60 Hz each sample is a small frame, and with Nagle one written while the previous is
/// unacknowledged would wait for the peer's delayed ACK.
async fn connect(url: &str) -> Result<pitbox_uplink::Ws, String> {
    static TLS: std::sync::OnceLock<Result<Arc<pitbox_uplink::TlsConfig>, String>> = std::sync::OnceLock::new();
    let tls = if url.starts_with("wss:") {
        Some(TLS.get_or_init(|| pitbox_uplink::native_tls().map_err(|e| e.to_string())).clone()?)
    } else {
        None
    };
    pitbox_uplink::connect(url, tls.as_ref()).await.map_err(|e| e.to_string())
}

fn text(m: &Message) -> WsMessage {
    WsMessage::Text(m.to_json().into())
}

fn status(shared: &Shared) -> Message {
    let state = *shared.source_state.borrow();
    let connected = state == ConnectionState::Connected;
    Message::DriverStatus(DriverStatusUpdate {
        driver_id: shared.driver_id.clone(),
        // A replay at its end is over, not waiting for the sim: the team sees the driver go.
        status: match state {
            ConnectionState::Connected => DriverStatus::Active,
            ConnectionState::Finished => DriverStatus::Inactive,
            _ => DriverStatus::Standby,
        },
        telemetry_connected: connected,
        in_car: connected,
        last_active: chrono::Utc::now(),
    })
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    shared: &Shared,
    settings: &AgentSettings,
    token: &str,
    url: &str,
    outbox: &mut mpsc::Receiver<Message>,
    config: &mut watch::Receiver<pitbox_model::rest::DriverAppConfig>,
    backoff: &mut Duration,
    last_seq: &mut Option<u64>,
) -> End {
    let ws = match tokio::time::timeout(Duration::from_secs(10), connect(url)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return End::Failed(format!("connect: {e}")),
        Err(_) => return End::Failed("connect: timed out".into()),
    };
    let (mut tx, mut rx) = ws.split();
    let spool = shared.spool.get().cloned();
    let direct = settings.cloud_url.is_some();
    let auth = Message::Authenticate(Authenticate {
        token: token.to_string(),
        client_type: ClientType::Driver,
        version: PROTOCOL_VERSION.to_string(),
        spooled: spool.is_some(),
    });
    if let Err(e) = tx.send(text(&auth)).await {
        return End::Failed(format!("send authenticate: {e}"));
    }
    // Wait for the outcome (the greeting may come first).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let frame = match tokio::time::timeout_at(deadline, rx.next()).await {
            Err(_) => return End::Failed("no authentication_result within 10 s".into()),
            Ok(None) => return End::Failed("closed before authentication".into()),
            Ok(Some(Err(e))) => return End::Failed(format!("read: {e}")),
            Ok(Some(Ok(f))) => f,
        };
        let WsMessage::Text(t) = frame else { continue };
        match pitbox_model::decode(t.as_bytes()) {
            Ok(Message::AuthenticationResult(r)) if r.success => {
                shared.relay_health.set_unauthorised(None);
                break;
            }
            Ok(Message::AuthenticationResult(r)) => {
                // A refused token will be refused again: wait the longest backoff.
                *backoff = settings.backoff_max;
                let reason = r.reason.unwrap_or_default();
                shared.relay_health.set_unauthorised(Some(&reason));
                tracing::error!(relay = %url, reason = %reason, "the relay refused this agent's token");
                return End::Failed(format!("authentication refused: {reason}"));
            }
            Ok(Message::Error(e)) => return End::Failed(format!("relay error: {} {}", e.code.as_str(), e.message)),
            _ => continue,
        }
    }
    *backoff = settings.backoff_min;
    shared.relay_connected.store(true, Ordering::Relaxed);
    if let Some(sp) = &spool {
        sp.set_connected(true);
    }
    // A reconnection: the pit wall may have chosen a cue reference while the link was away.
    if shared.relay_connects.fetch_add(1, Ordering::Relaxed) > 0
        && let Some(tx) = shared.cue_choices.get()
    {
        let _ = tx.send(crate::cue_reference::CueChoice::Refresh);
    }
    tracing::info!(relay = %url, "connected to the relay");
    // From here the socket is shared with the video sender (crate::video): every text message
    // counts itself in `text_waiting` while it waits for the socket, and video yields to it.
    let text_waiting = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tx = Arc::new(tokio::sync::Mutex::new(tx));
    let mut video_task: Option<crate::video::AbortOnDrop> = None;
    let mut telemetry = shared.telemetry.subscribe();
    let mut session = shared.session.subscribe();
    let mut standings = shared.standings.subscribe();
    let mut state = shared.source_state.subscribe();
    // On every connection: who we are and what we are driving.
    let mut first = vec![status(shared)];
    if let Some(s) = session.borrow_and_update().clone() {
        first.push(Message::SessionInfo(s));
    }
    for m in first {
        if let Err(e) = send_text(&tx, &text_waiting, text(&m)).await {
            return End::Failed(format!("send: {e}"));
        }
    }
    // Each new sample is sent as it arrives while the pacer allows (on average the telemetry
    // rate; a lower setting than the source's sends the newest sample when due).
    let mut pacer = Pacer::new(settings.telemetry_hz, tokio::time::Instant::now());
    let mut pending = false;
    let mut stick = tokio::time::interval(Duration::from_secs_f64(1.0 / settings.standings_hz));
    stick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut ping = tokio::time::interval(Duration::from_secs(15));
    ping.tick().await;
    let mut ping_id = 0u64;
    // The spool's batches on this connection: the window, and each sent batch's last sample
    // (a relay acknowledges samples, not batches).
    let mut flow =
        spool.as_ref().map(|sp| pitbox_uplink::Outflow::new(sp.settings.window).with_stall_resend(STALL_RESEND));
    let mut last_samples: BTreeMap<u64, u64> = BTreeMap::new();
    let mut look_again = tokio::time::interval(Duration::from_secs(1));
    loop {
        if let (Some(sp), Some(flow)) = (&spool, flow.as_mut()) {
            if let Err(e) = flow.apply_due(&sp.spool).await {
                return End::Failed(format!("spool: {e}"));
            }
            if flow.due() {
                let ready = match flow.refill(&sp.spool).await {
                    Ok(r) => r,
                    Err(e) => return End::Failed(format!("spool: {e}")),
                };
                if !ready.frames.is_empty() {
                    text_waiting.fetch_add(1, Ordering::Relaxed);
                    let mut sink = tx.lock().await;
                    let mut sent = Ok(());
                    for (_, b) in ready.frames {
                        last_samples.insert(b.sequence, b.last_sample);
                        sent = sink.feed(WsMessage::binary(b.frame)).await;
                        if sent.is_err() {
                            break;
                        }
                    }
                    if sent.is_ok() {
                        sent = sink.flush().await;
                    }
                    drop(sink);
                    text_waiting.fetch_sub(1, Ordering::Relaxed);
                    if let Err(e) = sent {
                        return End::Failed(format!("send: {e}"));
                    }
                }
            }
        }
        // Video, once it is on (it may start after the link): one sender per connection.
        if video_task.is_none()
            && let Some(v) = shared.video.get()
        {
            video_task = Some(crate::video::AbortOnDrop(tokio::spawn(crate::video::send_loop(
                v.clone(),
                tx.clone(),
                text_waiting.clone(),
            ))));
        }
        let apply_at = flow.as_ref().and_then(|f| f.apply_at());
        let out: Option<Message> = tokio::select! {
            // The live sample first: catch-up never holds it back.
            biased;
            r = telemetry.changed() => {
                if r.is_err() {
                    return End::Stop;
                }
                let now = tokio::time::Instant::now();
                if pacer.ready(now) {
                    pacer.sent(now);
                    take_new(&mut telemetry, last_seq, shared)
                } else {
                    pending = true;
                    None
                }
            }
            _ = tokio::time::sleep_until(pacer.due()), if pending => {
                pending = false;
                pacer.sent(tokio::time::Instant::now());
                take_new(&mut telemetry, last_seq, shared)
            }
            _ = stick.tick() => {
                if standings.has_changed().unwrap_or(false) {
                    standings.borrow_and_update().clone().map(Message::StandingsUpdate)
                } else {
                    None
                }
            }
            r = session.changed() => match r {
                Ok(()) => session.borrow_and_update().clone().map(Message::SessionInfo),
                Err(_) => return End::Stop,
            },
            r = state.changed() => match r {
                Ok(()) => Some(status(shared)),
                Err(_) => return End::Stop,
            },
            m = outbox.recv() => m,
            _ = async { match &spool { Some(sp) => sp.wake.notified().await, None => std::future::pending().await } } => {
                if let Some(f) = flow.as_mut() {
                    f.wake();
                }
                None
            }
            _ = tokio::time::sleep_until(apply_at.unwrap_or_else(tokio::time::Instant::now)), if apply_at.is_some() => None,
            _ = look_again.tick(), if flow.is_some() => {
                if let Some(f) = flow.as_mut() {
                    f.wake();
                }
                None
            }
            r = config.changed() => match r {
                Ok(()) => {
                    let _ = tx.lock().await.send(WsMessage::Close(None)).await;
                    return End::Reconfigured;
                }
                Err(_) => return End::Stop,
            },
            _ = ping.tick() => {
                ping_id += 1;
                Some(Message::Ping(pitbox_model::control::Ping { id: ping_id, timestamp: chrono::Utc::now() }))
            }
            frame = rx.next() => {
                match frame {
                    None => return End::Failed("the relay closed the connection".into()),
                    Some(Err(e)) => return End::Failed(format!("read: {e}")),
                    Some(Ok(WsMessage::Text(t))) => match pitbox_model::decode(t.as_bytes()) {
                        Ok(m @ (Message::AiCoaching(_) | Message::TeamMessage(_) | Message::HandoffRequest(_))) => {
                            shared.push_inbox(m);
                            None
                        }
                        // The car's next stop: set in the sim, then announced and listed.
                        Ok(Message::PitCommand(p)) if p.driver_id == shared.driver_id => {
                            shared.apply_pit_command(&p);
                            shared.push_inbox(Message::PitCommand(p));
                            None
                        }
                        // The pit wall asks for the driver's screen: the window asks the driver.
                        Ok(Message::VideoRequest(v)) if v.driver_id == shared.driver_id => {
                            shared.video_requested(v);
                            None
                        }
                        // The pit wall's choice of reference lap for the cues: loaded from the cloud.
                        Ok(Message::CueReference(c)) if c.driver_id == shared.driver_id => {
                            if let Some(tx) = shared.cue_choices.get() {
                                let _ = tx.send(crate::cue_reference::CueChoice::Message(c));
                            }
                            None
                        }
                        // Once a lap: for the radio and the window, not the inbox of messages.
                        Ok(Message::StrategyUpdate(u)) => {
                            if u.driver_id == shared.driver_id
                                && let Ok(mut plan) = shared.plan.lock()
                            {
                                *plan = Some(u.clone());
                            }
                            shared.push_event(Message::StrategyUpdate(u));
                            None
                        }
                        Ok(Message::Ping(p)) => Some(Message::Pong(p)),
                        Ok(Message::Error(e)) => {
                            let about_samples = matches!(e.message_type.as_deref(), Some("telemetry_update" | "telemetry_batch"))
                                || e.code == pitbox_model::control::ErrorCode::RateLimited;
                            if about_samples {
                                shared.relay_health.refused(e.code.as_str(), &e.message);
                            } else {
                                tracing::warn!(code = e.code.as_str(), message = %e.message, "relay refused a message");
                            }
                            None
                        }
                        Ok(Message::Ack(a)) => {
                            if a.driver_id == shared.driver_id {
                                acked(shared, flow.as_mut(), &mut last_samples, direct, a.sequence);
                            }
                            None
                        }
                        Ok(_) => None,
                        Err(e) => {
                            tracing::debug!(error = %e, "unreadable frame from the relay");
                            None
                        }
                    },
                    Some(Ok(WsMessage::Close(_))) => return End::Failed("the relay closed the connection".into()),
                    // A keyframe request for this driver's video.
                    Some(Ok(WsMessage::Binary(b))) => {
                        crate::video::on_binary(shared, &b);
                        None
                    }
                    Some(Ok(_)) => None,
                }
            }
        };
        if let Some(m) = out
            && let Err(e) = send_text(&tx, &text_waiting, text(&m)).await
        {
            return End::Failed(format!("send: {e}"));
        }
    }
}

/// Sends a text message on the shared socket, counted in `waiting` until it is written: the
/// video sender drops frames while anything waits (telemetry first).
async fn send_text<S>(
    tx: &tokio::sync::Mutex<S>,
    waiting: &std::sync::atomic::AtomicUsize,
    msg: WsMessage,
) -> Result<(), S::Error>
where
    S: futures_util::Sink<WsMessage> + Unpin,
{
    waiting.fetch_add(1, Ordering::Relaxed);
    let r = tx.lock().await.send(msg).await;
    waiting.fetch_sub(1, Ordering::Relaxed);
    r
}

/// Resend the window from the last ack when nothing was acknowledged for this long (a relay whose
/// spool was full took the batches without keeping them).
const STALL_RESEND: Duration = Duration::from_secs(10);

/// An `ack` of this driver: by batch `sequence` from the cloud (direct mode), by sample
/// `sequence` (the highest the relay spooled) from a relay.
fn acked(
    shared: &Shared,
    flow: Option<&mut pitbox_uplink::Outflow>,
    last_samples: &mut BTreeMap<u64, u64>,
    direct: bool,
    sequence: u64,
) {
    let batch = if direct {
        // `lastAckedSequence` stays a sample number: the last sample of the acknowledged batch.
        shared.relay_health.acked(last_samples.range(..=sequence).next_back().map_or(0, |(_, l)| *l));
        Some(sequence)
    } else {
        shared.relay_health.acked(sequence);
        // Batches are numbered in sample order: every batch whose samples are all at or below
        // the acknowledged one is kept by the relay.
        last_samples.iter().take_while(|(_, l)| **l <= sequence).last().map(|(b, _)| *b)
    };
    if let (Some(flow), Some(b)) = (flow, batch) {
        flow.ack(&shared.driver_id, b);
        last_samples.retain(|k, _| *k > b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};

    /// Runs the send loop's rule over samples arriving at `arrivals` (ms, increasing): a sample
    /// goes at once when the pacer is ready, else it waits (replacing one already waiting) until
    /// the pacer is due. Returns the indices of the samples sent and their send times.
    fn pace(hz: f64, arrivals: &[f64]) -> Vec<(usize, f64)> {
        let t0 = tokio::time::Instant::now();
        let at = |ms: f64| t0 + Duration::from_secs_f64(ms / 1000.0);
        let ms = |t: tokio::time::Instant| t.duration_since(t0).as_secs_f64() * 1000.0;
        let mut pacer = Pacer::new(hz, t0);
        let mut waiting: Option<usize> = None;
        let mut sent = Vec::new();
        for (i, &a) in arrivals.iter().enumerate() {
            // A sample waiting goes when due, if that comes before this arrival.
            if let Some(w) = waiting
                && pacer.due() <= at(a)
            {
                let due = pacer.due();
                pacer.sent(due);
                sent.push((w, ms(due)));
                waiting = None;
            }
            if pacer.ready(at(a)) {
                pacer.sent(at(a));
                sent.push((i, a));
            } else {
                waiting = Some(i);
            }
        }
        if let Some(w) = waiting {
            sent.push((w, ms(pacer.due())));
        }
        sent
    }

    #[test]
    fn a_source_at_the_set_rate_has_every_sample_sent_despite_jitter() {
        // 240 samples a second for 10 s, each up to 40 % of a period early or late.
        let period = 1000.0 / 240.0;
        let mut rng = fastrand::Rng::with_seed(7);
        let arrivals: Vec<f64> =
            (0..2400).map(|i| 10.0 + f64::from(i) * period + (rng.f64() - 0.5) * 0.8 * period).collect();
        let sent = pace(240.0, &arrivals);
        assert_eq!(sent.len(), arrivals.len(), "every sample sent");
        // A source that stalls and catches up: three samples at once every three periods (a
        // replay thread woken late, a busy PC).
        let arrivals: Vec<f64> =
            (0..2400).map(|i| 10.0 + f64::from(i / 3) * 3.0 * period + f64::from(i % 3) * 0.01).collect();
        let sent = pace(240.0, &arrivals);
        assert_eq!(sent.len(), arrivals.len(), "every sample of the catch-ups sent");
    }

    #[test]
    fn a_source_at_the_set_rate_is_never_held_whatever_its_phase() {
        // 60 Hz ticks whose phase is a little before the connection's (the link came up just
        // after a tick): a sample at once, then one per period, each late by 0–40 % of a period
        // (a sim thread woken late). Every sample goes as it arrives; none waits for the pacer.
        let period = 1000.0 / 60.0;
        let mut rng = fastrand::Rng::with_seed(11);
        for phase in [0.1, 1.0, 0.3 * period] {
            let arrivals: Vec<f64> = (0..600)
                .map(|i| if i == 0 { 0.0 } else { f64::from(i) * period - phase + rng.f64() * 0.4 * period })
                .collect();
            let sent = pace(60.0, &arrivals);
            assert_eq!(sent.len(), arrivals.len());
            for ((i, t), a) in sent.iter().zip(&arrivals) {
                assert_eq!(t, a, "sample {i} (ticks {phase} ms before the connection's phase) was held by the pacer");
            }
        }
    }

    #[test]
    fn a_faster_source_is_held_to_the_rate_on_average() {
        // 60 samples a second at a 20 Hz setting for 10 s: about 200 go, the newest each time.
        let arrivals: Vec<f64> = (0..600).map(|i| f64::from(i) * 1000.0 / 60.0).collect();
        let sent = pace(20.0, &arrivals);
        assert!((199..=201 + Pacer::BURST as usize).contains(&sent.len()), "{}", sent.len());
        // Never more than the burst allowance ahead of the rate.
        for (k, (_, t)) in sent.iter().enumerate() {
            assert!(
                k as f64 <= t / 50.0 + 1.0 + f64::from(Pacer::BURST),
                "sample {k} at {t} ms is ahead of 20 Hz by more than the burst"
            );
        }
    }

    #[test]
    fn cloud_urls_for_direct_mode() {
        assert_eq!(cloud_ws_url("https://pitbox.team.example"), "wss://pitbox.team.example/ws");
        assert_eq!(cloud_ws_url("https://pitbox.team.example/"), "wss://pitbox.team.example/ws");
        assert_eq!(cloud_ws_url("http://127.0.0.1:8080"), "ws://127.0.0.1:8080/ws");
        assert_eq!(cloud_ws_url("wss://cloud.example/ws"), "wss://cloud.example/ws");
        assert_eq!(cloud_ws_url("pitbox.team.example"), "wss://pitbox.team.example/ws");
    }

    #[test]
    fn relay_urls() {
        let mut c = DriverAppConfig {
            relay_agent: RelayAgentConfig { url: "ws://localhost".into(), port: 8765 },
            cloud: CloudConfig { endpoint: "http://x".into(), enabled: false },
            voice: VoiceConfig { enabled: false, sensitivity: 0.5, voice_id: "v".into() },
        };
        assert_eq!(relay_url(&c), "ws://localhost:8765/");
        c.relay_agent.url = "wss://relay.example:9000/".into();
        assert_eq!(relay_url(&c), "wss://relay.example:9000/");
        c.relay_agent.url = "ws://127.0.0.1:8080/ws".into();
        assert_eq!(relay_url(&c), "ws://127.0.0.1:8080/ws", "the cloud's WebSocket, as driver init writes it");
        c.relay_agent.url = "wss://team.example/ws".into();
        assert_eq!(relay_url(&c), "wss://team.example/ws");
    }
}
