//! The local API on `127.0.0.1:8766`. Who may use it is [`crate::api_guard`]'s job: reads from
//! this PC need nothing, changes need the local API key or the driver's window.
//!
//! | method and path | body |
//! |---|---|
//! | `GET /` | the driver's window (`text/html`): status, live numbers, the team radio with handoff answers |
//! | `GET /api/config` | the spec's `{relayAgent, cloud, voice}` |
//! | `PUT /api/config` | the same shape; validated (422 with every broken rule), applied at once (the relay client reconnects to a new address) |
//! | `GET /api/telemetry/current` | the spec's `{speed, rpm, gear, throttle, brake, steeringAngle, lap, position, fuelLevel, tireWear}`; 503 before the first sample |
//! | `GET /api/telemetry/stream` | Server-Sent Events: one `telemetry` event (a `telemetry_update` data object) per new sample, at most at the agent's telemetry rate |
//! | `GET /api/session` | the last `session_info` data, 503 before the first |
//! | `GET /api/messages` | received `ai_coaching`, `team_message`, `handoff_request` envelopes, oldest first |
//! | `POST /api/handoff/{id}` | `{"status": "accepted"/"rejected"/"completed", "reason"?}`: a `handoff_response` to the relay |
//! | `GET /api/status` | source, source state, relay connection and `relayState` (`ok`, `refused`, `unauthorised`, `disconnected`, `off`), samples sent and refused, the last refusal, the spool (`spool`: samples waiting, oldest age, bytes, near full, unreachable since), and `login` when signed in (`state` `ok`/`waiting`/`retrying`/`refused`, renewals, expiry, the last error) |
//! | `GET /api/voice/log` | `{callouts: [...], commands: [...]}`: what the radio said (origin, text, priority, state) and every heard command with its answers and the messages it sent |
//! | `GET /api/voice/status` | engine, output, whether speech and commands work (or why not), box flag, fuel per lap |
//! | `POST /api/voice/command` | a WAV body (one utterance, ≤ 10 MB): recognised and acted on; the command's log entry back (400 bad WAV, 409 voice off, 503 no recogniser) |
//! | `POST /api/voice/ptt` | `{"pressed": true/false}`: push-to-talk for the microphone input |

use crate::state::Shared;
use crate::voice::{MAX_COMMAND_WAV_BYTES, VoiceError, VoiceHandle};
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pitbox_model::rest::DriverAppConfig;
use pitbox_model::team::HandoffResponse;
use pitbox_model::{HandoffStatus, Message};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
struct Api {
    shared: Arc<Shared>,
    voice: Arc<VoiceHandle>,
    min_interval: Duration,
}

fn error(code: StatusCode, msg: impl Into<String>) -> Response {
    (code, Json(serde_json::json!({ "error": msg.into() }))).into_response()
}

/// The router (state included).
pub fn router(shared: Arc<Shared>, voice: Arc<VoiceHandle>, telemetry_hz: f64) -> Router {
    let min_interval = Duration::from_secs_f64(1.0 / telemetry_hz.clamp(1.0, 360.0));
    Router::new()
        .route("/", get(window))
        .route("/api/config", get(get_config).put(put_config))
        .route("/api/telemetry/current", get(current))
        .route("/api/telemetry/stream", get(stream))
        .route("/api/session", get(session))
        .route("/api/messages", get(messages))
        .route("/api/handoff/{id}", post(handoff))
        .route("/api/pit/clear", post(pit_clear))
        .route("/api/status", get(status))
        .route("/api/voice/log", get(voice_log))
        .route("/api/voice/status", get(voice_status))
        .route("/api/voice/command", post(voice_command).layer(DefaultBodyLimit::max(MAX_COMMAND_WAV_BYTES)))
        .route("/api/voice/ptt", post(voice_ptt))
        .with_state(Api { shared, voice, min_interval })
}

/// The driver's window: one page, served with the cookie that lets it answer handoffs
/// ([`crate::api_guard`]).
async fn window() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("window.html"),
    )
        .into_response()
}

async fn get_config(State(a): State<Api>) -> Json<DriverAppConfig> {
    Json(a.shared.config.borrow().clone())
}

async fn put_config(
    State(a): State<Api>,
    body: Result<Json<DriverAppConfig>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(cfg) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()),
    };
    if let Err(e) = pitbox_model::validate::validate(&cfg, "") {
        return error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
    }
    a.shared.config.send_replace(cfg.clone());
    Json(cfg).into_response()
}

async fn current(State(a): State<Api>) -> Response {
    match a.shared.telemetry.borrow().as_ref() {
        Some(t) => Json(t.current()).into_response(),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "no telemetry yet: the source has not produced a sample"),
    }
}

async fn session(State(a): State<Api>) -> Response {
    match a.shared.session.borrow().as_ref() {
        Some(s) => Json(s.clone()).into_response(),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "no session yet"),
    }
}

async fn messages(State(a): State<Api>) -> Json<Vec<Message>> {
    Json(a.shared.inbox())
}

async fn status(State(a): State<Api>) -> Json<serde_json::Value> {
    let s = &a.shared;
    Json(serde_json::json!({
        "source": s.source,
        "sourceState": format!("{:?}", *s.source_state.borrow()).to_lowercase(),
        "relayConnected": s.is_relay_connected(),
        "relayConnects": s.relay_connects.load(std::sync::atomic::Ordering::Relaxed),
        "telemetrySent": s.sent_telemetry.load(std::sync::atomic::Ordering::Relaxed),
        "sequence": s.telemetry.borrow().as_ref().and_then(|t| t.sequence),
        "driverId": s.driver_id,
        "relayState": s.relay_state().as_str(),
        "samplesRefused": s.relay_health.samples_refused.load(std::sync::atomic::Ordering::Relaxed),
        "lastRefusal": s.relay_health.last_refusal(),
        "login": s.login.get().map(|l| l.snapshot()),
        "pitCommand": s.pit.lock().ok().and_then(|p| p.clone()),
        "race": s.race_position(),
        "plan": s.plan.lock().ok().and_then(|p| p.as_ref().map(|u| serde_json::json!({
            "lap": u.lap,
            "lapsRemaining": u.laps_remaining,
            "fuelLapsLeft": u.fuel_laps_left,
            "pitWindow": u.pit_window,
            "nextStopFuelL": u.next_stop_fuel_l,
            "fuelSaveToSkipStopLpl": u.fuel_save_to_skip_stop_lpl,
            "stopsRemaining": u.stops_remaining,
            "at": u.timestamp,
        }))),
        "samplesProduced": s.samples_produced.load(std::sync::atomic::Ordering::Relaxed),
        "spool": s.spool.get().map(|sp| sp.status()),
        "video": s.video.get().map(|v| v.status()),
        "upstream": if s.direct.load(std::sync::atomic::Ordering::Relaxed) { "cloud" } else { "relay" },
        "lastAckedSequence": match s.relay_health.last_ack.load(std::sync::atomic::Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        },
    }))
}

/// `POST /api/pit/clear`: the driver cancels the stop the pit wall set — every pit-service box
/// cleared in iRacing (when the agent reads it on Windows), and the team told.
async fn pit_clear(State(a): State<Api>) -> Response {
    let cleared = a.shared.clear_pit_stop(&a.shared.driver_id);
    (StatusCode::OK, Json(cleared.status)).into_response()
}

#[derive(serde::Deserialize)]
struct HandoffAnswer {
    status: HandoffStatus,
    #[serde(default)]
    reason: Option<String>,
}

async fn handoff(
    State(a): State<Api>,
    Path(id): Path<String>,
    body: Result<Json<HandoffAnswer>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(ans) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()),
    };
    let resp = HandoffResponse {
        handoff_id: id,
        status: ans.status,
        responder_id: a.shared.driver_id.clone(),
        responded_at: chrono::Utc::now(),
        reason: ans.reason,
    };
    let accepted = (resp.status == HandoffStatus::Accepted).then(|| resp.handoff_id.clone());
    let msg = Message::HandoffResponse(resp.clone());
    if let Err(e) = msg.validate() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
    }
    match a.shared.outbox.try_send(msg.clone()) {
        Ok(()) => {
            // Completed by itself when the sim reports the driver change.
            if let Some(id) = accepted
                && let Ok(mut h) = a.shared.accepted_handoff.lock()
            {
                *h = Some(id);
            }
            let _ = a.shared.events.send(crate::state::AgentEvent::HandoffAnswered(resp));
            (StatusCode::ACCEPTED, Json(msg)).into_response()
        }
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "the relay queue is full or closed"),
    }
}

async fn stream(State(a): State<Api>) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let rx = a.shared.telemetry.subscribe();
    let min = a.min_interval;
    let s = futures_util::stream::unfold(rx, move |mut rx| async move {
        loop {
            if rx.changed().await.is_err() {
                return None;
            }
            let json = rx.borrow_and_update().as_ref().map(serde_json::to_string);
            if let Some(Ok(json)) = json {
                tokio::time::sleep(min).await;
                return Some((Ok(Event::default().event("telemetry").data(json)), rx));
            }
        }
    });
    Sse::new(s).keep_alive(KeepAlive::default())
}

async fn voice_log(State(a): State<Api>) -> Json<crate::voice::VoiceLog> {
    Json(a.voice.log())
}

async fn voice_status(State(a): State<Api>) -> Json<crate::voice::VoiceStatus> {
    Json(a.voice.status())
}

fn voice_error(e: VoiceError) -> Response {
    let code = match e {
        VoiceError::BadWav(_) => StatusCode::BAD_REQUEST,
        VoiceError::Disabled => StatusCode::CONFLICT,
        VoiceError::Recognizer(_) | VoiceError::NoMicrophone(_) | VoiceError::Stopped => {
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    error(code, e.to_string())
}

async fn voice_command(State(a): State<Api>, body: Bytes) -> Response {
    if body.is_empty() {
        return error(StatusCode::BAD_REQUEST, "the body must be a WAV file (one utterance); it is empty");
    }
    match a.voice.command_wav(&body, "api").await {
        Ok(entry) => Json(entry).into_response(),
        Err(e) => voice_error(e),
    }
}

#[derive(serde::Deserialize)]
struct Ptt {
    pressed: bool,
}

async fn voice_ptt(State(a): State<Api>, body: Result<Json<Ptt>, axum::extract::rejection::JsonRejection>) -> Response {
    let Json(p) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()),
    };
    match a.voice.push_to_talk(p.pressed) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => voice_error(e),
    }
}
