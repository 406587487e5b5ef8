//! What the agent knows, shared between the source thread, the relay task and the local API.

use pitbox_model::Message;
use pitbox_model::rest::DriverAppConfig;
use pitbox_model::session::{SessionInfo, StandingsUpdate};
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_sources::ConnectionState;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};

/// Things that happened to the agent that its voice (callouts) wants to hear about. Sent on
/// [`Shared::events`]; nobody listening is fine.
#[derive(Debug, Clone)]
pub enum AgentEvent {
    /// A message from the relay went into the inbox.
    Received(Box<Message>),
    /// This driver answered a handoff through the local API, or the sim completed an accepted one.
    HandoffAnswered(pitbox_model::team::HandoffResponse),
}

/// What [`Shared::clear_pit_stop`] did.
#[derive(Debug, Clone)]
pub struct PitClear {
    /// What became of the clearing command in the sim.
    pub status: crate::pit::PitCommandStatus,
    /// The team message sent (`team_message ID`), or why it was not.
    pub team: Result<String, String>,
}

/// Messages kept in the local inbox.
pub const INBOX_LEN: usize = 200;

/// How long after the relay's last refusal `relayState` stays `refused` (when no newer `ack`
/// says the relay took samples since).
pub const REFUSED_FOR: Duration = Duration::from_secs(5);

/// The relay's most recent refusal of this agent's samples (an `error` about `telemetry_update`,
/// a rate limit, or a refused authentication).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayRefusal {
    /// When it came, UTC.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The protocol error code (`forbidden`, `conflict`, `rate_limited` …; `auth_failed` for a
    /// refused token).
    pub code: String,
    /// The relay's words.
    pub message: String,
    #[serde(skip)]
    pub when: Option<Instant>,
}

/// What the relay link amounts to, for `GET /api/status`'s `relayState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayState {
    /// No token: the agent does not connect (local API only).
    Off,
    /// Not connected (yet, or since the link dropped).
    Disconnected,
    /// The relay refused the token: nothing gets through until it changes.
    Unauthorised,
    /// Connected, but the relay refused samples within the last [`REFUSED_FOR`] and has not
    /// acknowledged any since: the team does not see this car. An error state.
    Refused,
    /// Connected and nothing refused lately.
    Ok,
}

impl RelayState {
    pub fn as_str(self) -> &'static str {
        match self {
            RelayState::Off => "off",
            RelayState::Disconnected => "disconnected",
            RelayState::Unauthorised => "unauthorised",
            RelayState::Refused => "refused",
            RelayState::Ok => "ok",
        }
    }
}

/// The relay link's bookkeeping of refusals and acknowledgements.
#[derive(Debug, Default)]
pub struct RelayHealth {
    /// Samples (or refusal reports) the relay refused since the start.
    pub samples_refused: AtomicU64,
    /// The highest sample `sequence` the relay acknowledged as durably spooled (0: none yet;
    /// only relays linked to a cloud acknowledge).
    pub last_ack: AtomicU64,
    inner: Mutex<HealthInner>,
}

#[derive(Debug, Default)]
struct HealthInner {
    last_refusal: Option<RelayRefusal>,
    last_ack_at: Option<Instant>,
    /// The last connection attempt's token was refused.
    unauthorised: bool,
    /// Refusals since the last warning was logged, and when it was.
    unlogged: u64,
    logged_at: Option<Instant>,
}

/// How often the agent repeats its warning about refused samples.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

impl RelayHealth {
    fn lock(&self) -> std::sync::MutexGuard<'_, HealthInner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Records a refusal; logs a warning for the first one and then at most every 10 s with the
    /// count since (a relay refusing 60 samples a second must not mean 60 warnings a second).
    pub fn refused(&self, code: &str, message: &str) {
        self.samples_refused.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut g = self.lock();
        g.last_refusal = Some(RelayRefusal {
            at: chrono::Utc::now(),
            code: code.to_string(),
            message: message.to_string(),
            when: Some(now),
        });
        g.unlogged += 1;
        if g.logged_at.is_none_or(|t| now.duration_since(t) >= REFUSAL_LOG_EVERY) {
            let n = std::mem::take(&mut g.unlogged);
            g.logged_at = Some(now);
            drop(g);
            tracing::warn!(
                code,
                refusals = n,
                "the relay refuses this agent's samples: {message} (the team does not see them; \
                 GET /api/status shows relayState)"
            );
        }
    }

    /// The relay acknowledged samples up to `sequence`.
    pub fn acked(&self, sequence: u64) {
        self.last_ack.fetch_max(sequence, Ordering::Relaxed);
        self.lock().last_ack_at = Some(Instant::now());
    }

    /// Whether the last connection attempt's token was refused.
    pub fn set_unauthorised(&self, refused: Option<&str>) {
        let mut g = self.lock();
        g.unauthorised = refused.is_some();
        if let Some(reason) = refused {
            g.last_refusal = Some(RelayRefusal {
                at: chrono::Utc::now(),
                code: "auth_failed".into(),
                message: reason.to_string(),
                when: Some(Instant::now()),
            });
        }
    }

    /// The most recent refusal.
    pub fn last_refusal(&self) -> Option<RelayRefusal> {
        self.lock().last_refusal.clone()
    }

    /// The link's state given whether a token is set and the WebSocket is up.
    pub fn state(&self, has_token: bool, connected: bool) -> RelayState {
        let g = self.lock();
        if !has_token {
            return RelayState::Off;
        }
        if g.unauthorised {
            return RelayState::Unauthorised;
        }
        if !connected {
            return RelayState::Disconnected;
        }
        let refused_at = g.last_refusal.as_ref().filter(|r| r.code != "auth_failed").and_then(|r| r.when);
        match refused_at {
            Some(t) if t.elapsed() < REFUSED_FOR && g.last_ack_at.is_none_or(|a| a < t) => RelayState::Refused,
            _ => RelayState::Ok,
        }
    }
}

/// The shared state. Watches hold the latest of each kind (a slow reader skips, never blocks).
pub struct Shared {
    pub driver_id: String,
    pub telemetry: watch::Sender<Option<TelemetryUpdate>>,
    pub session: watch::Sender<Option<SessionInfo>>,
    pub standings: watch::Sender<Option<StandingsUpdate>>,
    pub source_state: watch::Sender<ConnectionState>,
    pub config: watch::Sender<DriverAppConfig>,
    pub relay_connected: AtomicBool,
    pub relay_connects: AtomicU64,
    pub sent_telemetry: AtomicU64,
    /// Refusals and acknowledgements from the relay.
    pub relay_health: RelayHealth,
    /// Whether the agent has a relay token (without one it never connects).
    pub has_token: AtomicBool,
    /// The sign-in's renewal state, when signed in (`GET /api/status`'s `login`).
    pub login: std::sync::OnceLock<std::sync::Arc<pitbox_auth::login::RenewalStatus>>,
    inbox: Mutex<VecDeque<Message>>,
    /// Messages from the local API to the relay (handoff answers).
    pub outbox: mpsc::Sender<Message>,
    pub source: String,
    /// A handoff this driver accepted, completed when the sim reports the driver change.
    pub accepted_handoff: Mutex<Option<String>>,
    /// Inbox arrivals and handoff answers, for the voice.
    pub events: broadcast::Sender<AgentEvent>,
    /// The last pit command from the pit wall and what became of it.
    pub pit: Mutex<Option<crate::pit::PitCommandStatus>>,
    /// Where pit commands go (set at start from the source).
    pub pit_target: std::sync::OnceLock<crate::pit::PitTarget>,
    /// The team's newest live plan for this car (`strategy_update`).
    pub plan: Mutex<Option<pitbox_model::strategy::StrategyUpdate>>,
    /// Where `cue_reference` messages go (set at start when cues and the cloud are on).
    pub cue_choices: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<crate::cue_reference::CueChoice>>,
    /// The durable spool, when the agent keeps one (set at start).
    pub spool: std::sync::OnceLock<std::sync::Arc<crate::spool::AgentSpool>>,
    /// Samples the source produced since the start.
    pub samples_produced: AtomicU64,
    /// Direct mode: the link goes to the cloud (`--cloud-url`), not to a relay.
    pub direct: AtomicBool,
    /// Live video, when on (`pitbox driver --video …`, [`crate::video::start`]).
    pub video: std::sync::OnceLock<std::sync::Arc<crate::video::VideoLink>>,
    /// What video the driver's window starts when the driver accepts the pit wall's request
    /// (`POST /api/video`), when it was not started with the agent: set at start, changed by
    /// the Settings screen until video starts. `None`: video is not set up.
    pub video_on_request: Mutex<Option<crate::video::VideoSettings>>,
    /// The encoder thread of video started with the agent or from the window (stops when dropped).
    pub video_started: Mutex<Option<crate::video::VideoHandle>>,
    /// The pit wall's request for this driver's video, until the driver answers it.
    pub video_request: Mutex<Option<pitbox_model::video::VideoRequest>>,
}

impl Shared {
    /// The pit wall asked for this driver's screen: kept until the driver answers in the
    /// window, listed with the team's messages and said on the radio. Already sending: the
    /// request is listed only.
    pub fn video_requested(&self, v: pitbox_model::video::VideoRequest) {
        let sending = self.video.get().is_some_and(|l| l.sending());
        if !sending && let Ok(mut r) = self.video_request.lock() {
            *r = Some(v.clone());
        }
        self.push_inbox(Message::VideoRequest(v));
    }

    /// New state with this configuration; returns the outbox's receiving end too.
    pub fn new(driver_id: &str, source: String, config: DriverAppConfig) -> (Shared, mpsc::Receiver<Message>) {
        let (outbox, rx) = mpsc::channel(64);
        (
            Shared {
                driver_id: driver_id.to_string(),
                telemetry: watch::channel(None).0,
                session: watch::channel(None).0,
                standings: watch::channel(None).0,
                source_state: watch::channel(ConnectionState::Waiting).0,
                config: watch::channel(config).0,
                relay_connected: AtomicBool::new(false),
                relay_connects: AtomicU64::new(0),
                sent_telemetry: AtomicU64::new(0),
                relay_health: RelayHealth::default(),
                has_token: AtomicBool::new(false),
                login: std::sync::OnceLock::new(),
                inbox: Mutex::new(VecDeque::new()),
                outbox,
                source,
                accepted_handoff: Mutex::new(None),
                events: broadcast::channel(256).0,
                pit: Mutex::new(None),
                pit_target: std::sync::OnceLock::new(),
                plan: Mutex::new(None),
                cue_choices: std::sync::OnceLock::new(),
                spool: std::sync::OnceLock::new(),
                video: std::sync::OnceLock::new(),
                video_on_request: Mutex::new(None),
                video_started: Mutex::new(None),
                video_request: Mutex::new(None),
                samples_produced: AtomicU64::new(0),
                direct: AtomicBool::new(false),
            },
            rx,
        )
    }

    /// Adds a received message to the inbox (oldest dropped past [`INBOX_LEN`]). A team message
    /// already there (the driver's own reply, echoed back by the hub) is neither kept twice nor
    /// spoken.
    pub fn push_inbox(&self, m: Message) {
        if !self.keep(&m) {
            return;
        }
        // No receiver (voice off) is not an error.
        let _ = self.events.send(AgentEvent::Received(Box::new(m)));
    }

    /// Keeps a message this driver sent (a reply from the window) in the inbox, so the window
    /// shows the conversation; not spoken.
    pub fn record_sent(&self, m: &Message) {
        self.keep(m);
    }

    fn keep(&self, m: &Message) -> bool {
        let Ok(mut q) = self.inbox.lock() else { return true };
        if let Message::TeamMessage(t) = m
            && q.iter().any(|o| matches!(o, Message::TeamMessage(x) if x.id == t.id))
        {
            return false;
        }
        if q.len() >= INBOX_LEN {
            q.pop_front();
        }
        q.push_back(m.clone());
        true
    }

    /// A received message for the voice worker only (not kept in the inbox).
    pub fn push_event(&self, m: Message) {
        let _ = self.events.send(AgentEvent::Received(Box::new(m)));
    }

    /// Applies a pit command to the sim this agent reads and records what became of it.
    pub fn apply_pit_command(&self, cmd: &pitbox_model::strategy::PitCommand) -> crate::pit::PitCommandStatus {
        let none = crate::pit::PitTarget::None(self.source.clone());
        let status = crate::pit::apply(self.pit_target.get().unwrap_or(&none), cmd);
        if let Ok(mut slot) = self.pit.lock() {
            *slot = Some(status.clone());
        }
        status
    }

    /// Clears the stop the pit wall set: a `clear_all` pit command from this driver applied to
    /// the sim (every pit-service box cleared in iRacing or the simulator; recorded as the
    /// `pitCommand` of `/api/status`), and the team told with a high-priority `team_message`
    /// from `sender_name`. Used by `POST /api/pit/clear` and the voice command "cancel pit stop".
    pub fn clear_pit_stop(&self, sender_name: &str) -> PitClear {
        let now = chrono::Utc::now();
        let clear = pitbox_model::strategy::PitCommand {
            id: format!("pit-driver-{}", now.timestamp_millis()),
            driver_id: self.driver_id.clone(),
            sender_id: self.driver_id.clone(),
            sender_name: "the driver".into(),
            timestamp: now,
            clear_all: true,
            fuel_l: None,
            tyres: None,
            fast_repair: None,
            windscreen: None,
        };
        let status = self.apply_pit_command(&clear);
        let note = if status.applied {
            "Driver cleared the pit stop."
        } else {
            "Driver cleared the pit stop (not set in the sim)."
        };
        let m = pitbox_voice::engineer::team_message(
            format!("msg-pit-clear-{}", now.timestamp_millis()),
            note,
            pitbox_model::Priority::High,
            &self.driver_id,
            sender_name,
            now,
        );
        let id = m.id.clone();
        let msg = Message::TeamMessage(m);
        let team = match msg.validate() {
            Err(e) => Err(format!("team_message not sent: {e}")),
            Ok(()) => match self.outbox.try_send(msg) {
                Ok(()) => Ok(format!("team_message {id}")),
                Err(_) => Err(format!("team_message {id} not sent: the relay queue is full or closed")),
            },
        };
        if let Err(e) = &team {
            tracing::warn!(error = %e, "the team could not be told that the pit stop was cleared");
        }
        PitClear { status, team }
    }

    /// Where the player's car is in the race, from the newest standings and session: position,
    /// gaps to the cars ahead and behind (s), last and best lap (s); `None` before standings.
    pub fn race_position(&self) -> Option<serde_json::Value> {
        let standings = self.standings.borrow().clone()?;
        let me = self.session.borrow().as_ref().map(|s| s.player_car_idx);
        let mine = standings.entries.iter().find(|e| Some(e.car_idx) == me || (me.is_none() && e.is_team_car))?;
        let behind = standings.entries.iter().find(|e| mine.position > 0 && e.position == mine.position + 1);
        Some(serde_json::json!({
            "position": (mine.position > 0).then_some(mine.position),
            "gapAheadS": mine.gap_to_ahead,
            "gapBehindS": behind.and_then(|b| b.gap_to_ahead),
            "lastLapS": mine.last_lap_time,
            "bestLapS": mine.best_lap_time,
            "at": standings.timestamp,
        }))
    }

    /// The inbox, oldest first.
    pub fn inbox(&self) -> Vec<Message> {
        self.inbox.lock().map(|q| q.iter().cloned().collect()).unwrap_or_default()
    }

    /// Called with every session the source reports: when the driver of the player's car
    /// changes while a handoff is accepted, that handoff is completed (`handoff_response`).
    pub fn on_session(&self, previous: Option<&SessionInfo>, next: &SessionInfo) {
        let driver = |s: &SessionInfo| s.drivers.iter().find(|d| d.car_idx == s.player_car_idx).map(|d| d.name.clone());
        let (Some(before), Some(after)) = (previous.and_then(driver), driver(next)) else { return };
        if before == after {
            return;
        }
        let id = self.accepted_handoff.lock().ok().and_then(|mut h| h.take());
        if let Some(id) = id {
            let resp = pitbox_model::team::HandoffResponse {
                handoff_id: id,
                status: pitbox_model::HandoffStatus::Completed,
                responder_id: self.driver_id.clone(),
                responded_at: chrono::Utc::now(),
                reason: Some(format!("driver change in the sim: {before} → {after}")),
            };
            let _ = self.events.send(AgentEvent::HandoffAnswered(resp.clone()));
            if self.outbox.try_send(Message::HandoffResponse(resp)).is_err() {
                tracing::warn!("handoff completion could not be queued for the relay");
            }
        }
    }

    pub fn is_relay_connected(&self) -> bool {
        self.relay_connected.load(Ordering::Relaxed)
    }

    /// The relay link's state (see [`RelayState`]).
    pub fn relay_state(&self) -> RelayState {
        self.relay_health.state(self.has_token.load(Ordering::Relaxed), self.is_relay_connected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_state_says_when_samples_are_refused() {
        let h = RelayHealth::default();
        assert_eq!(h.state(false, false), RelayState::Off);
        assert_eq!(h.state(true, false), RelayState::Disconnected);
        assert_eq!(h.state(true, true), RelayState::Ok);
        h.refused("forbidden", "data.driverId: a driver publishes only as themself (usr-1)");
        h.refused("forbidden", "data.driverId: a driver publishes only as themself (usr-1)");
        // Connected, but everything refused: an error state, not ok.
        assert_eq!(h.state(true, true), RelayState::Refused);
        assert_eq!(h.samples_refused.load(Ordering::Relaxed), 2);
        assert_eq!(h.last_refusal().map(|r| r.code), Some("forbidden".to_string()));
        // An acknowledgement after the refusal: samples get through again.
        h.acked(42);
        assert_eq!(h.state(true, true), RelayState::Ok);
        assert_eq!(h.last_ack.load(Ordering::Relaxed), 42);
        h.set_unauthorised(Some("token expired"));
        assert_eq!(h.state(true, false), RelayState::Unauthorised);
        h.set_unauthorised(None);
        assert_eq!(h.state(true, true), RelayState::Ok);
    }
}
