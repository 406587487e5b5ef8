//! Between the relay and the cloud, for what the relay's uplink does not carry yet (it carries
//! telemetry batches only): the bridge follows the relay as the team's engineer (a real
//! WebSocket client: session, standings, driver status and handoffs) and puts those on the
//! cloud's bus — handoffs through the cloud's own store and state machine, so they are kept and
//! listed like handoffs made on the cloud. Downwards it takes `ai_coaching` and `team_message`
//! from the cloud's bus and hands them to the drivers connected to the relay. A pending
//! `handoff_request` is also handed to its target driver (the relay fans it out to subscribers
//! only, and a driver agent does not subscribe).

use std::collections::HashSet;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pitbox_cloud::AppState;
use pitbox_hub::Hub;
use pitbox_model::control::{Authenticate, PROTOCOL_VERSION, Subscribe};
use pitbox_model::{Channel, ClientType, HandoffStatus, Message};
use pitbox_relay::RelayHooks;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// What the bridge needs.
pub struct Bridge {
    pub relay_url: String,
    /// An engineer's (admin's) token of the team.
    pub token: String,
    pub team_id: String,
    pub driver_ids: Vec<String>,
    pub cloud: AppState,
    pub relay_hub: Hub<RelayHooks>,
}

impl Bridge {
    /// Runs until `stop` turns true.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        let down =
            tokio::spawn(down(self.cloud.clone(), self.relay_hub.clone(), self.driver_ids.clone(), stop.clone()));
        let mut wait = Duration::from_millis(100);
        loop {
            if *stop.borrow() {
                break;
            }
            let r = tokio::select! {
                r = self.follow_relay() => r,
                _ = crate::stopped(stop.clone()) => break,
            };
            if let Err(e) = r {
                tracing::debug!(error = %e, "bridge: relay connection ended; reconnecting");
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = crate::stopped(stop.clone()) => break,
            }
            wait = (wait * 2).min(Duration::from_secs(2));
        }
        let _ = down.await;
    }

    async fn follow_relay(&self) -> Result<(), String> {
        let (ws, _) = tokio_tungstenite::connect_async(&self.relay_url).await.map_err(|e| format!("connect: {e}"))?;
        let (mut tx, mut rx) = ws.split();
        let send = |m: Message| WsMessage::Text(m.to_json().into());
        tx.send(send(Message::Authenticate(Authenticate {
            token: self.token.clone(),
            client_type: ClientType::Dashboard,
            version: PROTOCOL_VERSION.to_string(),
        })))
        .await
        .map_err(|e| format!("send: {e}"))?;
        tx.send(send(Message::Subscribe(Subscribe {
            team_id: None,
            driver_ids: Vec::new(),
            channels: vec![Channel::Session, Channel::Standings, Channel::Status, Channel::Handoffs],
            max_rate_hz: None,
        })))
        .await
        .map_err(|e| format!("send: {e}"))?;
        let mut delivered: HashSet<String> = HashSet::new();
        while let Some(frame) = rx.next().await {
            let frame = frame.map_err(|e| format!("read: {e}"))?;
            let text = match frame {
                WsMessage::Text(t) => t,
                WsMessage::Close(_) => return Err("relay closed the connection".into()),
                _ => continue,
            };
            let msg = match pitbox_model::decode(text.as_bytes()) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "bridge: unreadable message from the relay");
                    continue;
                }
            };
            self.up(msg, &mut delivered).await;
        }
        Err("relay connection ended".into())
    }

    /// One message from the relay towards the cloud.
    async fn up(&self, msg: Message, delivered: &mut HashSet<String>) {
        let team = self.team_id.as_str();
        let cloud = &self.cloud;
        match msg {
            Message::SessionInfo(s) => {
                if let Ok(Some(ses)) = pitbox_cloud::telemetry::latest_session_id(&cloud.store, &s.driver_id).await
                    && let Err(e) = pitbox_cloud::telemetry::describe_session(
                        &cloud.store,
                        &ses,
                        &s.track.display_name,
                        &s.car_name,
                    )
                    .await
                {
                    tracing::warn!(error = %e, "bridge: could not name the session");
                }
                cloud.bus.publish(team, Message::SessionInfo(s));
            }
            m @ (Message::StandingsUpdate(_) | Message::DriverStatus(_)) => cloud.bus.publish(team, m),
            // Later copies carry a new status: the cloud publishes its own after the response.
            Message::HandoffRequest(h) if h.status == HandoffStatus::Pending => {
                if !delivered.insert(h.id.clone()) {
                    return;
                }
                // The target driver's agent must hear of it to answer.
                self.relay_hub.send_to_user(&h.target_driver_id, &Message::HandoffRequest(h.clone()));
                match pitbox_cloud::team::get_handoff(&cloud.store, &h.id).await {
                    Ok(None) => match pitbox_cloud::team::insert_handoff(&cloud.store, team, &h).await {
                        Ok(()) => cloud.bus.publish(team, Message::HandoffRequest(h)),
                        Err(e) => tracing::error!(error = %e, handoff = %h.id, "bridge: storing a handoff failed"),
                    },
                    Ok(Some(_)) => {}
                    Err(e) => tracing::error!(error = %e, "bridge: reading a handoff failed"),
                }
            }
            Message::HandoffResponse(r) => {
                match pitbox_cloud::team::transition_handoff(&cloud.store, &r.handoff_id, r.status).await {
                    Ok(updated) => {
                        cloud.bus.publish(team, Message::HandoffResponse(r));
                        cloud.bus.publish(team, Message::HandoffRequest(updated));
                    }
                    Err(e) => tracing::warn!(error = %e, handoff = %r.handoff_id, "bridge: handoff response refused"),
                }
            }
            _ => {}
        }
    }
}

/// From the cloud's bus to the drivers on the relay: coaching to its driver, team messages to
/// every driver; both to pit-wall dashboards on the relay too.
async fn down(cloud: AppState, hub: Hub<RelayHooks>, drivers: Vec<String>, stop: watch::Receiver<bool>) {
    let mut rx = cloud.bus.subscribe();
    loop {
        let ev = tokio::select! {
            ev = rx.recv() => ev,
            _ = crate::stopped(stop.clone()) => return,
        };
        let ev = match ev {
            Ok(ev) => ev,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "bridge: fell behind the cloud's bus");
                continue;
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        match &ev.message {
            Message::AiCoaching(c) => {
                let driver = c.driver_id.as_deref();
                if let Some(d) = driver {
                    hub.send_to_user(d, &ev.message);
                }
                hub.publish(&ev.team_id, driver, Channel::Coaching, &ev.message);
            }
            Message::TeamMessage(_) => {
                for d in &drivers {
                    hub.send_to_user(d, &ev.message);
                }
                hub.publish(&ev.team_id, None, Channel::Messages, &ev.message);
            }
            _ => {}
        }
    }
}
