//! `/ws`: the WebSocket protocol of docs/protocol.md on the cloud. The connection itself —
//! handshake, authentication timeout, frame limits, role checks, refusal counting and rate
//! limits, subscriptions with throttled, coalesced dispatch and catch-up — is `pitbox-hub`'s,
//! the same code the relay runs. This module is what the cloud adds through the hub's
//! [`Hooks`]: every message a client sends is validated against the database, stored, and
//! only then published on the cloud's bus; the bus (in-process, or Redis across nodes) feeds
//! every node's hub through [`Hub::deliver`], so a driver on node A reaches a dashboard on
//! node B. A relay (`clientType: relay`) authenticates with its own credential (scope `relay`,
//! bound to one team) and speaks only for that team's drivers; a user's token cannot.

use std::sync::Arc;

use axum::extract::FromRef;
use pitbox_auth::Identity;
use pitbox_hub::{Client, Handling, Hooks, Hub, HubConfig, Refusal, TokenCheck};
use pitbox_model::control::{Ack, ErrorCode};
use pitbox_model::{ClientType, HandoffStatus, Message, UserRole};
use tokio::sync::mpsc;

use crate::bus::Bus;
use crate::error::ApiError;
use crate::extract::Auth;
use crate::rules::{HandoffParty, handoff_refusal, may_answer_handoff};
use crate::server::AppState;
use crate::store::Store;
use crate::telemetry::{Ingest, IngestError, IngestOutcome};
use crate::token::Keys;
use crate::{team, telemetry};

/// Seconds a client has to authenticate.
pub const AUTH_TIMEOUT_SECS: u32 = 10;
/// Driver connects and drops waiting to be written to the database.
const PRESENCE_QUEUE: usize = 4096;

/// The cloud's hub.
pub type CloudHub = Hub<CloudHooks>;

impl FromRef<AppState> for CloudHub {
    fn from_ref(st: &AppState) -> CloudHub {
        st.hub.clone()
    }
}

/// Access tokens checked with the node's keys, then against the node's deny-list.
pub struct CloudTokens(pub Arc<Keys>, pub Arc<crate::revocation::Revocations>);

impl TokenCheck for CloudTokens {
    fn check(&self, token: &str) -> Result<Identity, pitbox_auth::AuthError> {
        let who = self.0.verify(token)?;
        match self.1.refusal(&who) {
            Some(why) => Err(pitbox_auth::AuthError::Revoked(why.to_string())),
            None => Ok(who),
        }
    }
}

/// What the cloud does with clients' messages: validate against the database, store, publish.
pub struct CloudHooks {
    store: Store,
    ingest: Ingest,
    bus: Bus,
    /// (driver, connected) in the order they happened, written by one task.
    presence: mpsc::Sender<(String, bool)>,
    /// Live samples must be stamped within this of the server's clock.
    sample_clock_window: std::time::Duration,
    /// Stores the standings of every event (issue 20 §2).
    standings: crate::events::StandingsRecorder,
    /// Counts what each relay forwarded for whom (issue 23 §2).
    relays: Arc<crate::relays::RelayLedger>,
}

/// The hub of a node: `/ws` connections on `pitbox-hub`, fed by everything published on `bus`
/// (from this node and, with Redis, every other).
pub fn start_hub(
    store: Store,
    ingest: Ingest,
    bus: Bus,
    tokens: CloudTokens,
    node_id: &str,
    max_frame_bytes: usize,
    sample_clock_window: std::time::Duration,
) -> CloudHub {
    let (presence, mut rx) = mpsc::channel::<(String, bool)>(PRESENCE_QUEUE);
    let presence_store = store.clone();
    tokio::spawn(async move {
        while let Some((driver, connected)) = rx.recv().await {
            if let Err(e) = team::set_connected(&presence_store, &driver, connected).await {
                tracing::warn!(error = %e, driver, connected, "could not record the driver's connection");
            }
        }
    });
    let config = HubConfig {
        server_id: node_id.to_string(),
        auth_timeout: std::time::Duration::from_secs(u64::from(AUTH_TIMEOUT_SECS)),
        max_frame_bytes,
        // Drivers' presence is in the database (`telemetryConnected`), not announced.
        announce_driver_status: false,
        ..HubConfig::default()
    };
    let standings = crate::events::StandingsRecorder::start(store.clone());
    let relays = crate::relays::RelayLedger::start(store.clone());
    let hooks = CloudHooks { store, ingest, bus: bus.clone(), presence, sample_clock_window, standings, relays };
    let hub = Hub::new(config, Arc::new(tokens), hooks, None);
    // Other nodes' video: frames for this node's viewers, keyframe requests for its publishers.
    let mut video = bus.subscribe_video();
    let video_hub = hub.clone();
    tokio::spawn(async move {
        loop {
            match video.recv().await {
                Ok(ev) => match pitbox_video::wire::decode_message(&ev.message) {
                    Ok(pitbox_video::VideoMessage::Frame(_)) => {
                        if let Err(e) = video_hub.deliver_video(&ev.team_id, ev.message.clone()) {
                            tracing::warn!(error = %e, "a video frame from another node was refused");
                        }
                    }
                    Ok(pitbox_video::VideoMessage::KeyframeRequest { stream_id }) => {
                        video_hub.remote_keyframe_request(&ev.team_id, stream_id);
                    }
                    Err(e) => tracing::warn!(error = %e, "a video message from another node was refused"),
                },
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(lost = n, "video from other nodes fell behind; viewers wait for a keyframe");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let mut events = bus.subscribe();
    let feeder = hub.clone();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ev) => {
                    feeder.deliver(&ev.team_id, &ev.message);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(lost = n, "live fan-out fell behind the bus; dashboards get the newer events");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    hub
}

impl CloudHooks {
    /// What relays forwarded, not yet written (tests flush it).
    pub fn relays(&self) -> &Arc<crate::relays::RelayLedger> {
        &self.relays
    }

    /// Refuses samples stamped outside the window around the server's clock.
    fn in_clock_window(
        &self,
        samples: &[pitbox_model::telemetry::TelemetryUpdate],
        field: &str,
    ) -> Result<(), Refusal> {
        match crate::clock::outside_window(samples, chrono::Utc::now(), self.sample_clock_window) {
            None => Ok(()),
            Some((i, why)) => {
                let field =
                    if field == "data.samples" { format!("data.samples[{i}].timestamp") } else { field.to_string() };
                Err(refusal(ErrorCode::ValidationFailed, why, &field))
            }
        }
    }

    fn presence(&self, who: &Identity, connected: bool) {
        if who.role == UserRole::Driver && self.presence.try_send((who.user_id.clone(), connected)).is_err() {
            tracing::warn!(driver = who.user_id, connected, "presence queue full; telemetryConnected may lag");
        }
    }
}

impl Hooks for CloudHooks {
    /// Other nodes' viewers of the team get the frame through the bus.
    fn on_video(&self, who: &Identity, _stream: &str, frame: &pitbox_video::fanout::SharedFrame) {
        self.bus.publish_video(&who.team_id, frame.message.clone());
    }

    /// The stream's node gets the request through the bus and passes it to the publisher.
    fn on_remote_keyframe_wanted(&self, team: &str, stream: &str) {
        if let Ok(request) = pitbox_video::wire::encode_keyframe_request(stream) {
            self.bus.publish_video(team, request.into());
        }
    }

    fn admit(&self, who: &Identity, client_type: ClientType) -> Result<(), String> {
        // A relay has its own credential (scope `relay`, bound to one team): a user's token
        // cannot speak for the team, and a relay's credential is nothing but a relay.
        match (client_type == ClientType::Relay, who.relay) {
            (true, false) => Err("a relay authenticates with a relay credential (POST /api/relays/token or \
                                  `pitbox token --relay`), not a user's token"
                .into()),
            (false, true) => Err("a relay's credential is only for clientType relay".into()),
            _ => {
                if who.relay {
                    tracing::info!(relay = who.user_id, team = who.team_id, "relay connected");
                }
                Ok(())
            }
        }
    }

    /// The deployment's owner follows any team; everyone else (a team's admin too) their own.
    fn may_follow(&self, who: &Identity, team: &str) -> bool {
        who.owner || who.team_id == team
    }

    fn on_connect(&self, who: &Identity) {
        self.presence(who, true);
    }

    fn on_disconnect(&self, who: &Identity) {
        self.presence(who, false);
    }

    async fn on_client_message(&self, from: Client<'_>, msg: Message) -> Result<Handling, Refusal> {
        let relay = from.client_type == ClientType::Relay && from.who.relay;
        // Which relay forwarded what, for whom: counted once accepted.
        let forwarded = if relay { crate::relays::speaker(&msg).map(|(d, n)| (d.to_string(), n)) } else { None };
        let who = from.who.clone();
        let handled = self.handle(from, relay, msg).await;
        let Some((driver, samples)) = forwarded else { return handled };
        let relays = self.relays.clone();
        let note = move || {
            let name = who.name.as_deref().unwrap_or("relay");
            relays.note(&who.user_id, name, &who.team_id, &driver, samples);
        };
        match handled {
            // An uplink batch is accepted once stored: counted then, not when queued.
            Ok(Handling::Later(stored)) => Ok(Handling::Later(Box::pin(async move {
                let done = stored.await;
                if done.is_ok() {
                    note();
                }
                done
            }))),
            Ok(other) => {
                note();
                Ok(other)
            }
            Err(refused) => Err(refused),
        }
    }
}

impl CloudHooks {
    async fn handle(&self, from: Client<'_>, relay: bool, msg: Message) -> Result<Handling, Refusal> {
        let auth = Auth(from.who.clone());
        let store = &self.store;
        match msg {
            Message::TelemetryUpdate(u) => {
                let team = driver_team(store, relay, &auth, &u.driver_id).await?;
                self.in_clock_window(std::slice::from_ref(&u), "data.timestamp")?;
                if from.spooled {
                    // A driver agent in direct mode stores its samples through its numbered
                    // batches; this copy is only the newest sample for the live view.
                    self.bus.publish(&team, Message::TelemetryUpdate(u));
                    return Ok(Handling::Taken(None));
                }
                let driver = u.driver_id.clone();
                self.ingest.submit(&team, &driver, vec![u], None).await.map_err(ingest_refusal)?;
                Ok(Handling::Taken(None))
            }
            Message::TelemetryBatch(b) => {
                let team = driver_team(store, relay, &auth, &b.driver_id).await?;
                self.in_clock_window(&b.samples, "data.samples")?;
                let driver = b.driver_id.clone();
                let sequence = b.sequence;
                let uplink = crate::telemetry::UplinkSeq { sequence, origin: b.origin.unwrap_or_default() };
                // Queued now, in order; acknowledged once durable while the connection reads
                // the relay's next batches, which then share the commit.
                let stored =
                    self.ingest.enqueue(&team, &driver, b.samples, Some(uplink)).await.map_err(ingest_refusal)?;
                Ok(Handling::Later(Box::pin(async move {
                    let acked = match stored.await {
                        Ok(IngestOutcome::Stored) => sequence,
                        Ok(IngestOutcome::Duplicate { last }) => last,
                        Err(e) => return Err(ingest_refusal(e)),
                    };
                    Ok(Some(Message::Ack(Ack { driver_id: driver, sequence: acked })))
                })))
            }
            Message::TeamMessage(m) => {
                let team = auth.team(None).map_err(|e| api_refusal(&e))?;
                speaks_for(store, relay, &auth, &m.sender_id, &team, "senderId").await?;
                if relay && known_message(store, &m.id, &team).await? {
                    return Ok(Handling::Taken(None)); // a relay's resend after a cut: stored already
                }
                team::insert_message(store, &team, &m).await.map_err(|e| api_refusal(&e.into()))?;
                self.bus.publish(&team, Message::TeamMessage(m));
                Ok(Handling::Taken(None))
            }
            Message::PitCommand(p) => {
                let team = pit_wall_to_driver(store, relay, &auth, &p.sender_id, &p.driver_id, "pit commands").await?;
                self.bus.publish(&team, Message::PitCommand(p));
                Ok(Handling::Taken(None))
            }
            Message::VideoRequest(v) => {
                let team =
                    pit_wall_to_driver(store, relay, &auth, &v.sender_id, &v.driver_id, "video requests").await?;
                self.bus.publish(&team, Message::VideoRequest(v));
                Ok(Handling::Taken(None))
            }
            Message::MessageRead(r) => {
                let own = auth.team(None).map_err(|e| api_refusal(&e))?;
                speaks_for(store, relay, &auth, &r.reader_id, &own, "readerId").await?;
                let Some((_, team)) = team::get_message(store, &r.message_id, auth.user_id())
                    .await
                    .map_err(|e| api_refusal(&e.into()))?
                else {
                    return Err(refusal(
                        ErrorCode::NotFound,
                        format!("message {} does not exist", r.message_id),
                        "data.messageId",
                    ));
                };
                auth.require_team(&team).map_err(|e| api_refusal(&e))?;
                team::mark_read(store, &r.message_id, &r.reader_id).await.map_err(|e| api_refusal(&e.into()))?;
                self.bus.publish(&team, Message::MessageRead(r));
                Ok(Handling::Taken(None))
            }
            Message::HandoffRequest(h) => {
                if auth.role() == UserRole::Driver && !relay && h.requester_id != auth.user_id() {
                    return Err(Refusal::new(ErrorCode::Forbidden, "a driver requests handoffs for themself only"));
                }
                if relay
                    && let Ok(Some((_, team))) = team::get_handoff(store, &h.id).await
                    && auth.team_id() == team
                {
                    return Ok(Handling::Taken(None)); // a relay's resend after a cut: stored already
                }
                if relay {
                    relayed_driver(store, &h.requester_id, auth.team_id(), "requesterId").await?;
                }
                if h.status != HandoffStatus::Pending {
                    return Err(refusal(ErrorCode::ValidationFailed, "a new handoff must be pending", "data.status"));
                }
                if h.responded_at.is_some() || h.responder_id.is_some() {
                    return Err(refusal(
                        ErrorCode::ValidationFailed,
                        "a new handoff has no answer yet: respondedAt and responderId are set by the cloud",
                        "data.respondedAt",
                    ));
                }
                let team = auth.team(None).map_err(|e| api_refusal(&e))?;
                for (id, field) in [(&h.requester_id, "requesterId"), (&h.target_driver_id, "targetDriverId")] {
                    crate::accounts::team_member(store, id, &team, field).await.map_err(|e| api_refusal(&e.into()))?;
                }
                team::insert_handoff(store, &team, &h).await.map_err(|e| api_refusal(&e.into()))?;
                self.bus.publish(&team, Message::HandoffRequest(h));
                Ok(Handling::Taken(None))
            }
            Message::HandoffResponse(r) => {
                let own = auth.team(None).map_err(|e| api_refusal(&e))?;
                speaks_for(store, relay, &auth, &r.responder_id, &own, "responderId").await?;
                let Some((current, team)) =
                    team::get_handoff(store, &r.handoff_id).await.map_err(|e| api_refusal(&e.into()))?
                else {
                    return Err(refusal(
                        ErrorCode::NotFound,
                        format!("handoff {} does not exist", r.handoff_id),
                        "data.handoffId",
                    ));
                };
                auth.require_team(&team).map_err(|e| api_refusal(&e))?;
                if relay && current.status == r.status {
                    return Ok(Handling::Taken(None)); // a relay's resend after a cut: applied already
                }
                // The rule applies to the responder (on a relay, the member it speaks for).
                let role = if r.responder_id == auth.user_id() {
                    auth.role()
                } else {
                    crate::accounts::team_member(store, &r.responder_id, &own, "responderId")
                        .await
                        .map_err(|e| api_refusal(&e.into()))?
                        .role
                };
                let party = HandoffParty::of(&r.responder_id, &current.requester_id, &current.target_driver_id);
                if !may_answer_handoff(role, party, r.status) {
                    return Err(refusal(ErrorCode::Forbidden, handoff_refusal(role, party, r.status), "data.status"));
                }
                let updated = team::transition_handoff(store, &r.handoff_id, r.status, &r.responder_id)
                    .await
                    .map_err(|e| api_refusal(&e.into()))?;
                self.bus.publish(&team, Message::HandoffResponse(r));
                self.bus.publish(&team, Message::HandoffRequest(updated));
                Ok(Handling::Taken(None))
            }
            Message::SessionInfo(s) => {
                let team = driver_team(store, relay, &auth, &s.driver_id).await?;
                // The session's track and car are a description: failing to store them does not
                // refuse the message, but is logged, never dropped in silence.
                match &s.sim_session_id {
                    // The session the sim names, and no other: created now when its telemetry
                    // has not arrived yet.
                    Some(key) => {
                        let at = s.timestamp.timestamp_millis();
                        match telemetry::ensure_keyed_session(store, &team, &s.driver_id, key, at).await {
                            Ok((ses, _)) => {
                                if let Err(e) = telemetry::describe_sim_session(store, &ses.id, &s).await {
                                    tracing::warn!(error = %e, session = ses.id, "could not store the session's description");
                                }
                                if let Err(e) = telemetry::name_sim_driver(store, &ses.id, &s).await {
                                    tracing::warn!(error = %e, session = ses.id, "could not store the sim's driver name");
                                }
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, driver = s.driver_id, "could not find the sim's session")
                            }
                        }
                    }
                    // An older agent: the driver's latest session, unless that one belongs to a
                    // sim session (which only a keyed session_info describes).
                    None => match telemetry::latest_unkeyed_session_id(store, &s.driver_id).await {
                        Ok(Some(ses)) => {
                            if let Err(e) =
                                telemetry::describe_session(store, &ses, &s.track.display_name, &s.car_name).await
                            {
                                tracing::warn!(error = %e, session = ses, "could not store the session's track and car");
                            }
                            if let Err(e) = telemetry::name_sim_driver(store, &ses, &s).await {
                                tracing::warn!(error = %e, session = ses, "could not store the sim's driver name");
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, driver = s.driver_id, "could not find the driver's session")
                        }
                    },
                }
                self.bus.publish(&team, Message::SessionInfo(s));
                Ok(Handling::Taken(None))
            }
            Message::StandingsUpdate(s) => {
                let team = if relay {
                    driver_team(store, relay, &auth, &s.driver_id).await?
                } else {
                    auth.team(None).map_err(|e| api_refusal(&e))?
                };
                self.standings.offer(&team, &s);
                self.bus.publish(&team, Message::StandingsUpdate(s));
                Ok(Handling::Taken(None))
            }
            Message::DriverStatus(d) => {
                let team = driver_team(store, relay, &auth, &d.driver_id).await?;
                self.bus.publish(&team, Message::DriverStatus(d));
                Ok(Handling::Taken(None))
            }
            // Everything a client may send is handled above; nothing reaches the hub's own
            // in-memory routing, which would skip storage.
            other => {
                Err(Refusal::new(ErrorCode::Forbidden, format!("{} is not accepted by the cloud", other.type_name())))
            }
        }
    }
}

fn refusal(code: ErrorCode, message: impl Into<String>, field: &str) -> Refusal {
    Refusal { code, message: message.into(), field: Some(field.to_string()) }
}

/// The REST error as a protocol refusal (field paths under `data.`).
fn api_refusal(e: &ApiError) -> Refusal {
    let code = match e.code {
        "forbidden" => ErrorCode::Forbidden,
        "not_found" => ErrorCode::NotFound,
        "conflict" => ErrorCode::Conflict,
        "validation_failed" => ErrorCode::ValidationFailed,
        _ => ErrorCode::InternalError,
    };
    let field = e.field.as_ref().map(|f| if f.is_empty() { "data".to_string() } else { format!("data.{f}") });
    Refusal { code, message: e.message.clone(), field }
}

/// The team of `driver_id`'s telemetry and status: the REST rules (a driver only for
/// themself, an admin for anyone), and on a relay's connection any driver of its team.
async fn driver_team(store: &Store, relay: bool, auth: &Auth, driver_id: &str) -> Result<String, Refusal> {
    if relay {
        relayed_driver(store, driver_id, auth.team_id(), "driverId").await?;
        return Ok(auth.team_id().to_string());
    }
    crate::accounts::telemetry_team(store, &auth.0, driver_id).await.map_err(|e| {
        let mut r = api_refusal(&e.into());
        // The refusal is about whose telemetry this is: name the field.
        r.field.get_or_insert_with(|| "data.driverId".to_string());
        r
    })
}

/// Checks that `id` (the `field` of a relayed message) is a driver of the relay's `team`: a
/// relay forwards the drivers that authenticated to it (the relay checks each driver's own
/// token), never an engineer, an admin or another team.
async fn relayed_driver(store: &Store, id: &str, team: &str, field: &str) -> Result<(), Refusal> {
    let member = crate::accounts::team_member(store, id, team, field).await.map_err(|_| relay_refusal(field, id))?;
    if member.role != UserRole::Driver {
        return Err(refusal(
            ErrorCode::Forbidden,
            format!("`{id}` is a {}: a relay speaks only for drivers", member.role),
            &format!("data.{field}"),
        ));
    }
    Ok(())
}

/// A message from the pit wall to one driver (`what`: "pit commands", "video requests"): only
/// from the pit wall's own connection, as its sender, to a driver of its team. Returns the team.
async fn pit_wall_to_driver(
    store: &Store,
    relay: bool,
    auth: &Auth,
    sender_id: &str,
    driver_id: &str,
    what: &str,
) -> Result<String, Refusal> {
    if relay {
        return Err(Refusal::new(
            ErrorCode::Forbidden,
            format!("{what} come from the pit wall (an engineer's or admin's own connection), not through a relay"),
        ));
    }
    let team = auth.team(None).map_err(|e| api_refusal(&e))?;
    speaks_for(store, relay, auth, sender_id, &team, "senderId").await?;
    let driver =
        crate::accounts::team_member(store, driver_id, &team, "driverId").await.map_err(|e| api_refusal(&e.into()))?;
    if driver.role != UserRole::Driver {
        return Err(refusal(
            ErrorCode::ValidationFailed,
            format!("{driver_id} is not a driver of the team (role {})", driver.role),
            "data.driverId",
        ));
    }
    Ok(team)
}

/// Checks that this connection may speak as `id` (the `field` of the message): itself, or on
/// a relay's connection any driver of `team` (the relay's team).
async fn speaks_for(store: &Store, relay: bool, auth: &Auth, id: &str, team: &str, field: &str) -> Result<(), Refusal> {
    if relay {
        return relayed_driver(store, id, team, field).await;
    }
    if id == auth.user_id() {
        return Ok(());
    }
    Err(refusal(
        ErrorCode::Forbidden,
        format!("{field} must be your own id ({})", auth.user_id()),
        &format!("data.{field}"),
    ))
}

/// Whether team message `id` is stored for `team` already.
async fn known_message(store: &Store, id: &str, team: &str) -> Result<bool, Refusal> {
    let found = team::get_message(store, id, "").await.map_err(|e| api_refusal(&e.into()))?;
    match found {
        Some((_, t)) if t == team => Ok(true),
        Some(_) => Err(refusal(ErrorCode::Conflict, format!("message id {id} is taken"), "data.id")),
        None => Ok(false),
    }
}

fn relay_refusal(field: &str, id: &str) -> Refusal {
    refusal(
        ErrorCode::Forbidden,
        format!("`{id}` is not a member of this relay's team: a relay speaks only for its own team"),
        &format!("data.{field}"),
    )
}

fn ingest_refusal(e: IngestError) -> Refusal {
    match e {
        IngestError::Gap { .. } => refusal(ErrorCode::Conflict, e.to_string(), "data.sequence"),
        other => Refusal::new(ErrorCode::InternalError, other.to_string()),
    }
}
