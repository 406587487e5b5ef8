//! The local API on `127.0.0.1:8766`. Who may use it is [`crate::api_guard`]'s job: reads from
//! this PC need nothing, changes need the local API key or the driver's window.
//!
//! | method and path | body |
//! |---|---|
//! | `GET /` | the driver's window (`text/html`; `dashboard/driver.html`, embedded by `pitbox-webui`, a placeholder when the dashboard was not built): Status, Live, Settings and Sign in screens, the team radio with replies and handoff answers |
//! | `GET /assets/…`, `GET /favicon.svg` | the window's built scripts and styles (404 for anything else outside `/api/`) |
//! | `GET /api/config` | the spec's `{relayAgent, cloud, voice}` |
//! | `PUT /api/config` | the same shape; validated (422 with every broken rule), applied at once (the relay client reconnects to a new address) |
//! | `GET /api/telemetry/current` | the spec's `{speed, rpm, gear, throttle, brake, steeringAngle, lap, position, fuelLevel, tireWear}`; 503 before the first sample |
//! | `GET /api/telemetry/stream` | Server-Sent Events: one `telemetry` event (a `telemetry_update` data object) per new sample, at most at the agent's telemetry rate |
//! | `GET /api/session` | the last `session_info` data, 503 before the first |
//! | `GET /api/messages` | received `ai_coaching`, `team_message`, `handoff_request` envelopes, oldest first |
//! | `POST /api/messages/reply` | `{"content", "priority"?}` (1–500 characters): a `team_message` from this driver to the team (202 with it; 422 with the broken rule) |
//! | `POST /api/handoff/{id}` | `{"status": "accepted"/"rejected"/"completed", "reason"?}`: a `handoff_response` to the relay |
//! | `GET /api/status` | source, source state, relay connection and `relayState` (`ok`, `refused`, `unauthorised`, `disconnected`, `off`), samples sent and refused, the last refusal, the spool (`spool`: samples waiting, oldest age, bytes, near full, unreachable since), and `login` when signed in (`state` `ok`/`waiting`/`retrying`/`refused`, renewals, expiry, the last error) |
//! | `GET /api/voice/log` | `{callouts: [...], commands: [...]}`: what the radio said (origin, text, priority, state) and every heard command with its answers and the messages it sent |
//! | `GET /api/voice/status` | engine, output, whether speech and commands work (or why not), box flag, fuel per lap |
//! | `POST /api/voice/command` | a WAV body (one utterance, ≤ 10 MB): recognised and acted on; the command's log entry back (400 bad WAV, 409 voice off, 503 no recogniser) |
//! | `GET /api/login` | who `login.json` holds (`signedIn`, `username`, `userId`, `role`, `cloud`), what the running agent streams with (`agentUses`: `signIn`/`token`/`nothing`, `running`), `inUse`, `restartNeeded`; never a token |
//! | `POST /api/login` | `{cloud, username, password}`: the sign-in of `pitbox driver login` (same request, same `login.json`); 422 with the broken rule or the cloud's refusal, 502 when the cloud cannot be reached |
//! | `DELETE /api/login` | signs this PC out: the sign-in ended at the cloud (`POST /api/auth/logout`) when it answers, `login.json` removed; `cloudSignOut` says which |
//! | `POST /api/voice/ptt` | `{"pressed": true/false}`: push-to-talk for the microphone input |
//! | `GET /api/settings` | the Settings screen: `{settings, configFile, engines, devices, videoTargets, restartNeeded}` ([`crate::settings`]; `videoTargets`: the windows and monitors video can capture) |
//! | `PUT /api/settings` | the `settings` shape: validated (422, `errors` lists every broken rule), written to the `[driver]` table of `pitbox.toml` (comments kept), voice/speed/sensitivity/callouts switch applied live, video's capture, size, rate and encoder too while video is not running; `restartNeeded` names the rest |
//! | `POST /api/settings/test-voice` | a sample line spoken with the settings in force; 409 voice off, 503 with the reason when nothing can speak |
//! | `POST /api/ptt/capture` | `{"timeoutMs"?}` (≤ 10 000): the next press on a joystick or SIGUSR1 as a `--ptt` binding ([`crate::ptt_capture`]), `binding: null` with the reason when none; 409 while one waits |
//! | `GET /api/ptt/test` | the last push-to-talk press, the last command heard, whether a capture waits |

use crate::settings::{Devices, DriverSettings};
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
    /// Where `login.json` lives (the agent's data folder); `None`: no sign-in from the window.
    data_dir: Option<Arc<std::path::PathBuf>>,
    settings: Arc<SettingsState>,
}

/// The settings screen's side of the agent.
pub struct SettingsSetup {
    /// The `pitbox.toml` settings are written to; `None`: they cannot be saved (503).
    pub file: Option<std::path::PathBuf>,
    /// What the agent runs with.
    pub running: DriverSettings,
    /// Where "press your wheel button now" listens.
    pub capture: crate::ptt_capture::CaptureSources,
}

struct SettingsState {
    setup: SettingsSetup,
    /// The last saved (the running ones until the first save).
    saved: std::sync::Mutex<DriverSettings>,
    /// One capture at a time: two would race for the same press.
    capturing: std::sync::atomic::AtomicBool,
}

fn error(code: StatusCode, msg: impl Into<String>) -> Response {
    (code, Json(serde_json::json!({ "error": msg.into() }))).into_response()
}

/// The router (state included).
pub fn router(
    shared: Arc<Shared>,
    voice: Arc<VoiceHandle>,
    telemetry_hz: f64,
    data_dir: Option<std::path::PathBuf>,
    settings: SettingsSetup,
) -> Router {
    let min_interval = Duration::from_secs_f64(1.0 / telemetry_hz.clamp(1.0, 360.0));
    Router::new()
        .route("/", get(window))
        .route("/assets/{*file}", get(window))
        .route("/favicon.svg", get(window))
        .route("/api/config", get(get_config).put(put_config))
        .route("/api/telemetry/current", get(current))
        .route("/api/telemetry/stream", get(stream))
        .route("/api/session", get(session))
        .route("/api/messages", get(messages))
        .route("/api/messages/reply", post(reply))
        .route("/api/handoff/{id}", post(handoff))
        .route("/api/pit/clear", post(pit_clear))
        .route("/api/video", post(video_answer))
        .route("/api/status", get(status))
        .route("/api/voice/log", get(voice_log))
        .route("/api/voice/status", get(voice_status))
        .route("/api/voice/command", post(voice_command).layer(DefaultBodyLimit::max(MAX_COMMAND_WAV_BYTES)))
        .route("/api/voice/ptt", post(voice_ptt))
        .route("/api/login", get(login_state).post(sign_in).delete(sign_out))
        .route("/api/settings", get(get_settings).put(put_settings))
        .route("/api/settings/test-voice", post(test_voice))
        .route("/api/ptt/capture", post(ptt_capture))
        .route("/api/ptt/test", get(ptt_test))
        .with_state(Api {
            shared,
            voice,
            min_interval,
            data_dir: data_dir.map(Arc::new),
            settings: Arc::new(SettingsState {
                saved: std::sync::Mutex::new(settings.running.clone()),
                setup: settings,
                capturing: std::sync::atomic::AtomicBool::new(false),
            }),
        })
}

/// The driver's window (`dashboard/driver.html`, embedded by `pitbox-webui`) and the files it
/// loads; `/` is served with the cookie that lets it change the agent ([`crate::api_guard`]).
async fn window(method: axum::http::Method, uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    pitbox_webui::serve_driver(method, uri, headers).await
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
        // What video the driver can turn on from the window, while it is not running.
        "videoReady": s.video.get().is_none().then(|| {
            s.video_on_request.lock().ok().and_then(|v| v.as_ref().map(|v| v.source.to_string()))
        }).flatten(),
        "videoRequest": s.video_request.lock().ok().and_then(|r| r.clone()),
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
#[serde(deny_unknown_fields)]
struct VideoAnswer {
    /// Start (or resume) sending the driver's screen, or stop.
    send: bool,
}

/// The driver's answer to the pit wall's request for their screen, or their own start or stop.
async fn video_answer(
    State(a): State<Api>,
    body: Result<Json<VideoAnswer>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(ans) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()),
    };
    match crate::video::set_sending(&a.shared, ans.send) {
        Ok(video) => (StatusCode::OK, Json(serde_json::json!({ "video": video }))).into_response(),
        Err(e) => error(StatusCode::CONFLICT, e.to_string()),
    }
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

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    content: String,
    #[serde(default)]
    priority: Option<pitbox_model::Priority>,
}

/// Longest reply the window sends: a quick answer, not a document (the protocol allows more).
const MAX_REPLY_CHARS: usize = 500;

/// `POST /api/messages/reply`: the driver's quick reply to the team, a `team_message` from this
/// driver up the relay link, the same message the voice command "message the team" sends.
async fn reply(State(a): State<Api>, body: Result<Json<Reply>, axum::extract::rejection::JsonRejection>) -> Response {
    let Json(r) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()),
    };
    let content = r.content.trim();
    if content.is_empty() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "content: the reply is empty");
    }
    let n = content.chars().count();
    if n > MAX_REPLY_CHARS {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("content: the reply has {n} characters; at most {MAX_REPLY_CHARS}"),
        );
    }
    let now = chrono::Utc::now();
    // The team sees the account's name when signed in, else the driver id (a fixed token).
    let name = a.shared.login.get().map(|l| l.snapshot().username).filter(|n| !n.is_empty());
    let m = pitbox_voice::engineer::team_message(
        // Unique across the team's drivers too (two may reply in the same microsecond).
        format!("msg-reply-{}-{:08x}", now.timestamp_micros(), fastrand::u32(..)),
        content,
        r.priority.unwrap_or(pitbox_model::Priority::Normal),
        &a.shared.driver_id,
        name.as_deref().unwrap_or(&a.shared.driver_id),
        now,
    );
    let msg = Message::TeamMessage(m);
    if let Err(e) = msg.validate() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
    }
    match a.shared.outbox.try_send(msg.clone()) {
        Ok(()) => {
            a.shared.record_sent(&msg);
            (StatusCode::ACCEPTED, Json(msg)).into_response()
        }
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "the relay queue is full or closed: the reply was not sent"),
    }
}

/// What `GET /api/login` and the sign-in answers say: who `login.json` holds and whether the
/// running agent uses it. Never a token.
fn login_view(a: &Api, stored: Option<&pitbox_auth::login::StoredLogin>) -> serde_json::Value {
    let running = a.shared.login.get().map(|l| l.snapshot());
    let fixed_token = running.is_none() && a.shared.has_token.load(std::sync::atomic::Ordering::Relaxed);
    let running_id = running.as_ref().map(|r| r.user_id.as_str());
    let stored_id = stored.map(|s| s.user_id.as_str());
    serde_json::json!({
        "signedIn": stored.is_some(),
        "username": stored.map(|s| s.username.clone()),
        "userId": stored_id,
        "role": stored.map(|s| s.role.clone()),
        "cloud": stored.map(|s| s.cloud.clone()),
        // What the running agent streams with: `signIn` (as `running`), a fixed `token`, or `nothing`.
        "agentUses": if running.is_some() { "signIn" } else if fixed_token { "token" } else { "nothing" },
        "running": running.as_ref().map(|r| r.username.clone()),
        "inUse": stored_id.is_some() && stored_id == running_id,
        // The sign-in is read at start: a new one (or a sign-out) takes effect when the agent
        // starts again. A fixed token (`--token`) wins over any sign-in, so no restart changes it.
        "restartNeeded": !fixed_token && stored_id != running_id,
    })
}

/// A refusal to answer with [`error`] (kept small: a `Response` is too big to pass around).
type Refusal = (StatusCode, String);

fn login_dir(a: &Api) -> Result<&std::path::Path, Refusal> {
    a.data_dir.as_deref().map(|p| p.as_path()).ok_or_else(|| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "this agent was started without a data folder: sign in with `pitbox driver login`".to_string(),
        )
    })
}

fn stored_login(dir: &std::path::Path) -> Result<Option<pitbox_auth::login::StoredLogin>, Refusal> {
    pitbox_auth::login::StoredLogin::load(&dir.join(pitbox_auth::login::LOGIN_FILE))
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// `GET /api/login`: who is signed in on this PC (`login.json`), without any token.
async fn login_state(State(a): State<Api>) -> Response {
    match login_dir(&a).and_then(stored_login) {
        Ok(stored) => Json(login_view(&a, stored.as_ref())).into_response(),
        Err((code, msg)) => error(code, msg),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    cloud: String,
    username: String,
    password: String,
}

/// `POST /api/login`: the sign-in of `pitbox driver login` — the same cloud request and the
/// same `login.json`, readable by the user only.
async fn sign_in(
    State(a): State<Api>,
    body: Result<Json<SignIn>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(form) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()),
    };
    let dir = match login_dir(&a) {
        Ok(d) => d.to_path_buf(),
        Err((code, msg)) => return error(code, msg),
    };
    let mut broken = Vec::new();
    let cloud = crate::init::normalise_cloud(&form.cloud).map_err(|e| broken.push(format!("cloud: {e}"))).ok();
    let username = form.username.trim();
    if username.is_empty() {
        broken.push("username: empty".to_string());
    }
    if form.password.is_empty() {
        broken.push("password: empty".to_string());
    }
    let Some(cloud) = cloud.filter(|_| broken.is_empty()) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, broken.join("; "));
    };
    let login = match crate::init::sign_in(&cloud, username, &form.password).await {
        Ok(l) => l,
        Err(e) => {
            use pitbox_auth::login::LoginError;
            // The cloud said no (the words are for the driver); it could not be asked: 502.
            let code = match e.downcast_ref::<LoginError>() {
                Some(LoginError::WrongPassword | LoginError::WrongRole { .. } | LoginError::Refused { .. }) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                _ => StatusCode::BAD_GATEWAY,
            };
            return error(code, format!("{e:#}"));
        }
    };
    if let Err(e) = crate::init::save_login(&dir, &login) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"));
    }
    tracing::info!(user = %login.username, "signed in from the driver's window");
    Json(login_view(&a, Some(&login))).into_response()
}

/// Ends the sign-in at the cloud (`POST /api/auth/logout`): its refresh tokens stop working, so
/// a copy of `login.json` (or the running agent's renewal) cannot bring it back. `Err`: why not.
async fn cloud_sign_out(login: &pitbox_auth::login::StoredLogin) -> Result<(), String> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().map_err(|e| e.to_string())?;
    let mut req = http
        .post(format!("{}/api/auth/logout", login.cloud.trim_end_matches('/')))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "refreshToken": login.refresh_token }).to_string());
    if let Some(t) = &login.access_token {
        req = req.bearer_auth(t);
    }
    match req.send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        // Already ended there (signed out elsewhere, or the admin ended it): nothing to undo.
        Ok(r) if r.status().as_u16() == 401 => Ok(()),
        Ok(r) => Err(format!("the cloud answered {}", r.status())),
        Err(e) => Err(format!("the cloud could not be reached: {}", e.without_url())),
    }
}

/// `DELETE /api/login`: signs this PC out — the sign-in ended at the cloud when it can be
/// reached, and `login.json` removed either way.
async fn sign_out(State(a): State<Api>) -> Response {
    let dir = match login_dir(&a) {
        Ok(d) => d.to_path_buf(),
        Err((code, msg)) => return error(code, msg),
    };
    let stored = match stored_login(&dir) {
        Ok(s) => s,
        Err((code, msg)) => return error(code, msg),
    };
    let cloud = match &stored {
        Some(l) => cloud_sign_out(l).await.err(),
        None => None,
    };
    let path = dir.join(pitbox_auth::login::LOGIN_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => tracing::info!(cloud = cloud.as_deref().unwrap_or("ended"), "signed out from the driver's window"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("{}: {e}", path.display())),
    }
    let mut v = login_view(&a, None);
    // Said, not hidden: the sign-in then lasts at the cloud until its refresh token expires.
    v["cloudSignOut"] = match (&stored, cloud) {
        (None, _) => serde_json::Value::Null,
        (Some(_), None) => "ended".into(),
        (Some(_), Some(why)) => format!("not ended at the cloud ({why}): it lapses when its token expires").into(),
    };
    Json(v).into_response()
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
        VoiceError::Recognizer(_) | VoiceError::NoMicrophone(_) | VoiceError::NoSpeech(_) | VoiceError::Stopped => {
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

/// The windows and monitors the Settings screen offers for video.
fn capture_targets() -> serde_json::Value {
    let t = pitbox_video::capture::targets();
    serde_json::json!({
        "windows": t.windows,
        "monitors": t.monitors.iter().map(|m| serde_json::json!({
            "source": format!("monitor:{}", m.number),
            "name": m.name,
            "width": m.width,
            "height": m.height,
        })).collect::<Vec<_>>(),
        "note": t.note,
    })
}

/// What `GET /api/settings` and a save answer.
fn settings_view(a: &Api, saved: &DriverSettings, devices: Devices, capture: serde_json::Value) -> serde_json::Value {
    let st = &a.settings;
    // Saved, but the running agent still has the old value until it starts again.
    let mut restart = saved.restart_needed(&st.setup.running);
    // Video settings apply when video starts; once it runs, a change waits for a restart.
    if let (Some(link), Some(Ok(chosen))) = (a.shared.video.get(), saved.video.as_ref().map(|v| v.settings())) {
        let running = link.settings();
        if chosen != *running {
            restart.push("video");
        }
    }
    serde_json::json!({
        "settings": saved,
        "configFile": st.setup.file.as_ref().map(|p| p.display().to_string()),
        "engines": crate::settings::ENGINES,
        "devices": devices,
        "videoTargets": capture,
        "restartNeeded": restart,
    })
}

/// What the screen lists: the sound card's devices and what video can capture (both ask the
/// platform, off the async threads).
async fn lists() -> (Devices, serde_json::Value) {
    tokio::task::spawn_blocking(|| (Devices::list(), capture_targets()))
        .await
        .unwrap_or_else(|_| (Devices::default(), serde_json::Value::Null))
}

async fn get_settings(State(a): State<Api>) -> Response {
    let saved = match a.settings.saved.lock() {
        Ok(s) => s.clone(),
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "the settings are unavailable"),
    };
    let (devices, capture) = lists().await;
    Json(settings_view(&a, &saved, devices, capture)).into_response()
}

/// `PUT /api/settings`: validated (422 with every broken rule), written to `pitbox.toml`, and
/// what can change while running applied at once.
async fn put_settings(
    State(a): State<Api>,
    body: Result<Json<DriverSettings>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(new) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()),
    };
    let (devices, capture) = lists().await;
    let cloud_enabled = a.shared.config.borrow().cloud.enabled;
    let errors = new.check(&devices, cloud_enabled, &a.settings.setup.running.voice_engine);
    if !errors.is_empty() {
        let json = serde_json::json!({ "error": errors.join("; "), "errors": errors });
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(json)).into_response();
    }
    let Some(path) = a.settings.setup.file.clone() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "this agent was started without a config file or data folder: the settings cannot be saved",
        );
    };
    let to_write = new.clone();
    match tokio::task::spawn_blocking(move || crate::settings::write(&path, &to_write)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("saving the settings: {e}")),
    }
    // Live: the spec's voice section (the voice reads it at the next callout or command) and the rate.
    let mut cfg = a.shared.config.borrow().clone();
    cfg.voice.enabled = new.callouts.voice;
    cfg.voice.voice_id = new.voice_id.trim().to_string();
    cfg.voice.sensitivity = new.sensitivity;
    a.shared.config.send_replace(cfg);
    a.voice.set_speed(new.speed);
    // Video that is not running yet starts with the new choice when the driver turns it on.
    if let Some(Ok(video)) = new.video.as_ref().map(|v| v.settings())
        && a.shared.video.get().is_none()
        && let Ok(mut on_request) = a.shared.video_on_request.lock()
    {
        *on_request = Some(video);
    }
    if let Ok(mut saved) = a.settings.saved.lock() {
        *saved = new.clone();
    }
    Json(settings_view(&a, &new, devices, capture)).into_response()
}

/// The line "test voice" speaks.
const TEST_LINE: &str = "Radio check. Box this lap, box this lap. Fuel for twelve laps.";

/// `POST /api/settings/test-voice`: the sample line on the radio with the settings now in force.
async fn test_voice(State(a): State<Api>) -> Response {
    match a.voice.test_voice(TEST_LINE).await {
        Ok(t) => Json(t).into_response(),
        Err(e) => voice_error(e),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CaptureAsk {
    /// How long to wait, ms (at most 10 000, the default).
    timeout_ms: Option<u64>,
}

/// `POST /api/ptt/capture`: waits for the next press on the inputs the agent can read and
/// answers with the binding (not saved: the screen saves it with the settings).
async fn ptt_capture(State(a): State<Api>, body: Bytes) -> Response {
    let ask: CaptureAsk = if body.is_empty() {
        CaptureAsk::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(x) => x,
            Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, format!("the body: {e}")),
        }
    };
    let max = crate::ptt_capture::MAX_CAPTURE;
    let timeout = match ask.timeout_ms {
        Some(0) => return error(StatusCode::UNPROCESSABLE_ENTITY, "timeoutMs: must be at least 1"),
        Some(ms) if ms > max.as_millis() as u64 => {
            return error(StatusCode::UNPROCESSABLE_ENTITY, format!("timeoutMs: at most {}", max.as_millis()));
        }
        Some(ms) => Duration::from_millis(ms),
        None => max,
    };
    use std::sync::atomic::Ordering;
    if a.settings.capturing.swap(true, Ordering::AcqRel) {
        return error(StatusCode::CONFLICT, "a capture is already waiting for a press");
    }
    let r = crate::ptt_capture::capture(&a.settings.setup.capture, timeout).await;
    a.settings.capturing.store(false, Ordering::Release);
    match r {
        Ok((binding, listened)) => {
            Json(serde_json::json!({ "binding": binding, "listened": listened })).into_response()
        }
        // Not an error of the request: nobody pressed (and 408 would make browsers send it again).
        Err(e @ crate::ptt_capture::CaptureError::Timeout(_)) => {
            Json(serde_json::json!({ "binding": null, "reason": e.to_string() })).into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// `GET /api/ptt/test`: the last push-to-talk press, the last command heard, and whether a
/// capture is waiting.
async fn ptt_test(State(a): State<Api>) -> Json<serde_json::Value> {
    let log = a.voice.log();
    Json(serde_json::json!({
        "lastPress": a.voice.last_push_to_talk(),
        // "Press your wheel button now" is waiting for a press.
        "capturing": a.settings.capturing.load(std::sync::atomic::Ordering::Acquire),
        "lastHeard": log.commands.back(),
    }))
}
