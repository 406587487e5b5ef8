//! The people the demo stands in for, acting through the real interfaces:
//!
//! - the driver in the car asks for a handoff when the car enters pit road for a stop
//!   (`handoff_request` through their agent's relay connection);
//! - the next driver accepts it from their seat (`POST /api/handoff/{id}` on their agent's local
//!   API); their agent completes it when the simulator reports the driver change. If the change
//!   came first (a very fast pace), the crew completes it through the same local API;
//! - every few seconds each driver says again whether they are in the car, and what session,
//!   so that a dashboard opened later shows the team at once ([`ANNOUNCE_EVERY`]).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pitbox_cloud::AppState;
use pitbox_driver::state::Shared;
use pitbox_model::session::DriverStatusUpdate;
use pitbox_model::team::HandoffRequest;
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_model::{DriverStatus, HandoffStatus, Message, Urgency};
use pitbox_sources::ConnectionState;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::watch;

use crate::seats::CarEvent;

/// One driver as the crew knows them.
pub struct CrewSeat {
    pub user_id: String,
    pub name: String,
    /// The driver's agent.
    pub agent: Arc<Shared>,
    /// The agent's local API.
    pub api_addr: SocketAddr,
    /// The agent's local API key (answering a handoff changes the agent's state).
    pub api_key: pitbox_driver::api_guard::ApiKey,
}

/// The crew task's inputs.
pub struct Crew {
    pub seats: Vec<CrewSeat>,
    /// The cloud node (to read a handoff's stored state).
    pub cloud: AppState,
}

/// How often every driver re-announces their status and the session (see [`Run::announce`]).
pub const ANNOUNCE_EVERY: Duration = Duration::from_secs(2);

struct Handoff {
    id: String,
    to: usize,
    accepted: bool,
    changed_at: Option<Instant>,
}

struct Run {
    crew: Crew,
    http: reqwest::Client,
    on_pit_road: Option<bool>,
    stops: u32,
    handoff: Option<Handoff>,
    seen: Vec<HashSet<String>>,
}

impl Crew {
    /// Runs until `stop` turns true or the car events end.
    pub async fn run(self, mut events: UnboundedReceiver<CarEvent>, stop: watch::Receiver<bool>) {
        let n = self.seats.len();
        let mut run = Run {
            crew: self,
            http: reqwest::Client::new(),
            on_pit_road: None,
            stops: 0,
            handoff: None,
            seen: vec![HashSet::new(); n],
        };
        let mut announce = tokio::time::interval(ANNOUNCE_EVERY);
        announce.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // After the race the crew keeps answering the seats' inboxes until told to stop.
        let mut race_over = false;
        loop {
            tokio::select! {
                ev = events.recv(), if !race_over => match ev {
                    Some(CarEvent::Telemetry { seat, update }) => run.telemetry(seat, &update).await,
                    Some(CarEvent::DriverChanged { to, .. }) => run.driver_changed(to),
                    Some(CarEvent::Finished) | None => race_over = true,
                },
                _ = tick.tick() => run.tick().await,
                _ = announce.tick() => run.announce(),
                _ = crate::stopped(stop.clone()) => break,
            }
        }
    }
}

impl Run {
    async fn telemetry(&mut self, seat: usize, u: &TelemetryUpdate) {
        let in_pits = u.on_pit_road.unwrap_or(false);
        let entered = self.on_pit_road == Some(false) && in_pits;
        self.on_pit_road = Some(in_pits);
        if entered && self.handoff.is_none() && self.crew.seats.len() > 1 {
            self.request_handoff(seat, u).await;
        }
    }

    /// The driver in the car asks the next driver to take over at this stop.
    async fn request_handoff(&mut self, from: usize, u: &TelemetryUpdate) {
        self.stops += 1;
        let to = (from + 1) % self.crew.seats.len();
        let (a, b) = (&self.crew.seats[from], &self.crew.seats[to]);
        let h = HandoffRequest {
            id: pitbox_cloud::store::new_id("handoff"),
            requester_id: a.user_id.clone(),
            requester_name: a.name.clone(),
            target_driver_id: b.user_id.clone(),
            target_driver_name: b.name.clone(),
            reason: format!("Driver change at pit stop {}: {} hands the car to {}", self.stops, a.name, b.name),
            urgency: Urgency::Normal,
            requested_at: chrono::Utc::now(),
            status: HandoffStatus::Pending,
            telemetry_snapshot: Some(u.snapshot()),
            responded_at: None,
            responder_id: None,
        };
        let id = h.id.clone();
        match a.agent.outbox.send(Message::HandoffRequest(h)).await {
            Ok(()) => {
                tracing::info!(handoff = %id, from = %a.name, to = %b.name, "handoff requested at the pit stop");
                self.handoff = Some(Handoff { id, to, accepted: false, changed_at: None });
            }
            Err(_) => tracing::warn!("the driver's agent is stopping; no handoff requested"),
        }
    }

    fn driver_changed(&mut self, to: usize) {
        if let Some(h) = &mut self.handoff
            && h.to == to
        {
            h.changed_at = Some(Instant::now());
        }
    }

    /// Neither the relay nor the cloud replays a driver's last `driver_status` and
    /// `session_info` to a dashboard that subscribes later, and the agent sends them only on
    /// connection and on change: so every few seconds each seat says again who is in the car
    /// and what they are driving, through its own agent's relay connection.
    fn announce(&self) {
        for seat in &self.crew.seats {
            let agent = &seat.agent;
            let in_car = *agent.source_state.borrow() == ConnectionState::Connected;
            let status = Message::DriverStatus(DriverStatusUpdate {
                driver_id: seat.user_id.clone(),
                status: if in_car { DriverStatus::Active } else { DriverStatus::Standby },
                telemetry_connected: in_car,
                in_car,
                last_active: chrono::Utc::now(),
            });
            let session = agent.session.borrow().clone().map(Message::SessionInfo);
            for m in std::iter::once(status).chain(session) {
                // A full queue means the agent is busy reconnecting; the next round says it again.
                let _ = agent.outbox.try_send(m);
            }
        }
    }

    async fn answer(&self, seat: usize, handoff_id: &str, status: HandoffStatus, reason: &str) -> bool {
        let url = format!("http://{}/api/handoff/{handoff_id}", self.crew.seats[seat].api_addr);
        let body = serde_json::json!({ "status": status.as_str(), "reason": reason });
        let key = self.crew.seats[seat].api_key.expose();
        match self.http.post(&url).header(pitbox_driver::api_guard::KEY_HEADER, key).json(&body).send().await {
            Ok(r) if r.status().is_success() => true,
            Ok(r) => {
                tracing::warn!(status = %r.status(), handoff = handoff_id, "the agent refused the handoff answer");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, handoff = handoff_id, "the agent's local API did not answer");
                false
            }
        }
    }

    async fn tick(&mut self) {
        // Each driver reads their inbox (their agent speaks it on their radio) and answers
        // handoffs asked of them.
        for i in 0..self.crew.seats.len() {
            let inbox = self.crew.seats[i].agent.inbox();
            // Bounded memory: forget what left the inbox (it holds 200 messages at most).
            if self.seen[i].len() > 1_000 {
                let now: HashSet<String> = inbox.iter().map(Message::to_json).collect();
                self.seen[i].retain(|k| now.contains(k));
            }
            for m in inbox {
                let key = m.to_json();
                if !self.seen[i].insert(key) {
                    continue;
                }
                match &m {
                    Message::HandoffRequest(h)
                        if h.target_driver_id == self.crew.seats[i].user_id && h.status == HandoffStatus::Pending =>
                    {
                        let ok = self.answer(i, &h.id, HandoffStatus::Accepted, "Ready in the pit lane").await;
                        if let Some(p) = &mut self.handoff
                            && p.id == h.id
                        {
                            p.accepted = ok;
                        }
                    }
                    _ => {}
                }
            }
        }
        self.finish_handoff().await;
    }

    /// After the driver change, make sure the handoff ends completed (the agent does it when it
    /// accepted before the change; otherwise the new driver does it now).
    async fn finish_handoff(&mut self) {
        let Some(h) = &self.handoff else { return };
        let Some(changed) = h.changed_at else { return };
        if changed.elapsed() < Duration::from_secs(2) {
            return;
        }
        let (id, to, accepted) = (h.id.clone(), h.to, h.accepted);
        let stored = pitbox_cloud::team::get_handoff(&self.crew.cloud.store, &id).await;
        let status = match stored {
            Ok(Some((h, _))) => h.status,
            Ok(None) if accepted => HandoffStatus::Accepted,
            Ok(None) => HandoffStatus::Pending,
            Err(e) => {
                tracing::warn!(error = %e, "reading the handoff failed");
                return;
            }
        };
        match status {
            HandoffStatus::Pending => {
                if self.answer(to, &id, HandoffStatus::Accepted, "Ready in the pit lane").await {
                    self.answer(to, &id, HandoffStatus::Completed, "In the car").await;
                }
            }
            HandoffStatus::Accepted => {
                self.answer(to, &id, HandoffStatus::Completed, "In the car").await;
            }
            HandoffStatus::Completed | HandoffStatus::Rejected => {}
        }
        self.handoff = None;
    }
}
