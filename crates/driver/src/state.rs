//! What the agent knows, shared between the source thread, the relay task and the local API.

use pitbox_model::Message;
use pitbox_model::rest::DriverAppConfig;
use pitbox_model::session::{SessionInfo, StandingsUpdate};
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_sources::ConnectionState;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// Messages kept in the local inbox.
pub const INBOX_LEN: usize = 200;

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
    inbox: Mutex<VecDeque<Message>>,
    /// Messages from the local API to the relay (handoff answers).
    pub outbox: mpsc::Sender<Message>,
    pub source: String,
    /// A handoff this driver accepted, completed when the sim reports the driver change.
    pub accepted_handoff: Mutex<Option<String>>,
    /// Inbox arrivals and handoff answers, for the voice.
    pub events: broadcast::Sender<AgentEvent>,
}

impl Shared {
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
                inbox: Mutex::new(VecDeque::new()),
                outbox,
                source,
                accepted_handoff: Mutex::new(None),
                events: broadcast::channel(256).0,
            },
            rx,
        )
    }

    /// Adds a received message to the inbox (oldest dropped past [`INBOX_LEN`]).
    pub fn push_inbox(&self, m: Message) {
        if let Ok(mut q) = self.inbox.lock() {
            if q.len() >= INBOX_LEN {
                q.pop_front();
            }
            q.push_back(m.clone());
        }
        // No receiver (voice off) is not an error.
        let _ = self.events.send(AgentEvent::Received(Box::new(m)));
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
}
