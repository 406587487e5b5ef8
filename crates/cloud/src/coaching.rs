//! Coaching on the cloud: `POST /api/coaching/analyze` (the spec's AI Coaching API, built on
//! `pitbox-coach`), live coaching after every stored lap (an `ai_coaching` message stored and
//! pushed to the team), and `GET /api/coaching` to list what was said.
//!
//! Live coaching runs on a thread of its own, fed by the ingest writer after each commit (and by
//! `.ibt` imports), so the lap analysis never delays an acknowledgement. One
//! [`pitbox_coach::LiveCoach`] per session: the session's best valid lap is the reference. The
//! same thread measures each session's laps for the live stint plan (`crate::live_plan`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::extract::Query;
use axum::Json;
use axum::extract::State;
use pitbox_coach::findings::Finding;
use pitbox_coach::llm::{Brief, LlmProvider, OpenAiClient, Wording, phrase_or_fallback};
use pitbox_coach::{LiveCoach, LiveConfig, LiveEvent, Sample};
use pitbox_model::coaching::{AiCoaching, CoachingAnalyzeRequest, CoachingAnalyzeResponse};
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_model::{Message, UserRole};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use tokio::sync::mpsc;

use crate::bus::Bus;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, JsonBody};
use crate::live_plan::{LapDone, LapTracker};
use crate::server::AppState;
use crate::store::{Store, StoreError, StoreResult, ms_to_time, new_id};

/// Largest `POST /api/coaching/analyze` body: room for the model's 108,000-sample limit.
pub const MAX_ANALYZE_BODY_BYTES: usize = 64 * 1024 * 1024;
/// How long the language model may take before the built-in wording is used.
pub const LLM_TIMEOUT: Duration = Duration::from_secs(8);
/// Secret holding an OpenAI-compatible API key (`PUT /api/admin/secrets/openai`).
pub const OPENAI_SECRET: &str = "openai";
/// Optional secret: the chat-completions base URL (default `https://api.openai.com/v1`).
pub const OPENAI_BASE_URL_SECRET: &str = "openai_base_url";
/// Optional secret: the model name (default [`DEFAULT_OPENAI_MODEL`]).
pub const OPENAI_MODEL_SECRET: &str = "openai_model";
/// The model asked when no `openai_model` secret is set.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";
/// Batches waiting for the live coach before new ones are refused (and counted).
const FEED_CAPACITY: usize = 4_096;
/// A session's coach is forgotten after this long without samples.
const IDLE_COACH: Duration = Duration::from_secs(30 * 60);

// ---------------------------------------------------------------------------------------------
// POST /api/coaching/analyze

/// `POST /api/coaching/analyze`: the driver themself, or an engineer or admin of the driver's
/// team. 400 names the field; 401/403 for auth.
pub async fn analyze(
    State(st): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<CoachingAnalyzeRequest>,
) -> ApiResult<Json<CoachingAnalyzeResponse>> {
    let team = may_coach(&st, &auth, &req.driver_id).await?;
    let mut answer = tokio::task::spawn_blocking(move || pitbox_coach::analyze_request(&req))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::validation(e.field, e.message))?;
    if let Some(llm) = llm_client(&st, &team).await {
        let wording = match brief_of(&answer) {
            Ok(brief) => {
                let (text, wording) = phrase_or_fallback(Some(&llm as &dyn LlmProvider), &brief, LLM_TIMEOUT).await;
                if wording == Wording::Llm {
                    answer.feedback = text;
                }
                wording
            }
            // Not an empty brief for the model: the built-in wording, and the reason said.
            Err(e) => {
                tracing::error!(error = %e, "the analysis's findings could not be read back; built-in wording kept");
                Wording::Builtin { reason: Some(format!("the findings could not be read: {e}")) }
            }
        };
        if let Some(obj) = answer.analysis.as_object_mut() {
            obj.insert("wording".into(), serde_json::to_value(&wording).unwrap_or_default());
        }
    } else if let Some(obj) = answer.analysis.as_object_mut() {
        obj.insert("wording".into(), serde_json::to_value(Wording::Builtin { reason: None }).unwrap_or_default());
    }
    Ok(Json(answer))
}

/// Who may ask for coaching of `driver_id`: the driver themself, or an engineer or admin of the
/// driver's team (admins of any team).
/// Returns the driver's team (whose language-model key is used).
async fn may_coach(st: &AppState, auth: &Auth, driver_id: &str) -> ApiResult<String> {
    if driver_id == auth.user_id() {
        return Ok(auth.team_id().to_string());
    }
    auth.require(&[UserRole::Admin, UserRole::Engineer], "coaching another driver")?;
    let Some(driver) = st.store.user_by_id(driver_id).await? else {
        return Err(ApiError::validation("driverId", format!("no driver `{driver_id}`")));
    };
    match driver.team_id {
        Some(team) => auth.require_team(&team).map(|()| team),
        None => Err(ApiError::forbidden("that driver belongs to no team")),
    }
}

/// The OpenAI-compatible client when `team` has a key (its own or the deployment's) and the
/// master key is configured.
async fn llm_client(st: &AppState, team: &str) -> Option<OpenAiClient> {
    let key = st.master_key.as_ref()?;
    let get = |name: &'static str| async move {
        match crate::secrets::get(&st.store, key, team, name).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, secret = name, "cannot read secret; using the built-in wording");
                None
            }
        }
    };
    let api_key = get(OPENAI_SECRET).await?;
    let base = get(OPENAI_BASE_URL_SECRET).await.unwrap_or_else(|| "https://api.openai.com/v1".into());
    let model = get(OPENAI_MODEL_SECRET).await.unwrap_or_else(|| DEFAULT_OPENAI_MODEL.into());
    match OpenAiClient::new(&base, &model, &api_key, LLM_TIMEOUT) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "cannot build the language-model client; using the built-in wording");
            None
        }
    }
}

/// What the language model is told: the focus lap and its chosen findings, nothing else.
/// Findings that do not parse are an error, not an empty brief.
fn brief_of(answer: &CoachingAnalyzeResponse) -> Result<Brief, serde_json::Error> {
    let a = &answer.analysis;
    let findings: Vec<Finding> = serde_json::from_value(a["findings"].clone())?;
    let lap = a["focusLap"].as_i64().and_then(|l| i32::try_from(l).ok());
    let lap_time = lap.and_then(|n| {
        a["laps"].as_array()?.iter().find(|l| l["lap"].as_i64() == Some(i64::from(n)))?["timeS"]
            .as_f64()
            .map(pitbox_coach::coaching::lap_time)
    });
    let reference = a["reference"]["name"].as_str().unwrap_or("the reference");
    Ok(Brief::new(lap, lap_time, a["lapDeltaS"].as_f64(), reference, &findings, 4))
}

#[cfg(test)]
mod brief_tests {
    use super::*;

    /// Issue 23: findings that failed to parse became an empty brief for the language model.
    #[test]
    fn unreadable_findings_are_an_error_not_an_empty_brief() {
        let answer = |findings: serde_json::Value| CoachingAnalyzeResponse {
            feedback: "x".into(),
            suggestions: Vec::new(),
            analysis: serde_json::json!({"findings": findings, "focusLap": 3}),
        };
        assert!(brief_of(&answer(serde_json::json!([]))).is_ok());
        assert!(brief_of(&answer(serde_json::json!([{"not": "a finding"}]))).is_err());
        assert!(brief_of(&answer(serde_json::json!("text"))).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// Live coaching

/// Samples of one driver stored in one commit (or one import), in the order received.
#[derive(Debug)]
pub struct LapFeed {
    pub team_id: String,
    pub driver_id: String,
    pub session_id: String,
    pub samples: Vec<TelemetryUpdate>,
    /// Whether what the coach says goes out live (to the team and the driver's radio). Imports
    /// are analysed and stored, never spoken: the driver is not driving that session now.
    pub speak: bool,
    /// The feed is a whole recording (an import): a lap still waiting for iRacing's lap time
    /// at its end is judged then, not left waiting for samples that will never come.
    pub whole_recording: bool,
}

/// Counters of the live coach (for `/metrics`).
#[derive(Debug, Default)]
pub struct CoachStats {
    /// `ai_coaching` messages made.
    pub messages: AtomicU64,
    /// Batches not coached because the coach was behind (the samples are stored regardless).
    pub feeds_dropped: AtomicU64,
}

/// Handle to the live coach: the ingest writer hands it what it stored.
#[derive(Debug, Clone)]
pub struct LiveCoaching {
    tx: mpsc::Sender<LapFeed>,
    stats: Arc<CoachStats>,
}

impl LiveCoaching {
    /// Starts the coach thread and the task that stores and publishes its messages.
    pub fn start(store: Store, bus: Bus) -> LiveCoaching {
        let (tx, rx) = mpsc::channel::<LapFeed>(FEED_CAPACITY);
        let (out_tx, out_rx) = mpsc::unbounded_channel::<Said>();
        let (plan_tx, plan_rx) = mpsc::unbounded_channel::<LapDone>();
        let stats = Arc::new(CoachStats::default());
        let spawned =
            std::thread::Builder::new().name("pitbox-live-coach".into()).spawn(move || coach_loop(rx, out_tx, plan_tx));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the live coach thread; no live coaching on this node");
        }
        tokio::spawn(crate::live_plan::publish_loop(store.clone(), bus.clone(), plan_rx));
        tokio::spawn(publish_loop(store, bus, out_rx, stats.clone()));
        LiveCoaching { tx, stats }
    }

    /// Hands stored samples to the coach without waiting; when it is behind, the batch is not
    /// coached (counted in `pitbox_coach_feeds_dropped_total`) — storage is never held up.
    pub fn feed(&self, feed: LapFeed) {
        if feed.samples.is_empty() {
            return;
        }
        if self.tx.try_send(feed).is_err() {
            self.stats.feeds_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counters.
    pub fn stats(&self) -> &CoachStats {
        &self.stats
    }
}

struct Said {
    speak: bool,
    team_id: String,
    session_id: String,
    coaching: AiCoaching,
}

struct SessionCoach {
    coach: LiveCoach,
    last_fed: Instant,
}

/// The laps of one car for the live stint plan (live feeds only). Keyed by the team and the
/// sim's session (`simSessionId`), not by the driver's stored session: the drivers of a car
/// take turns in one sim session, and the stint plan follows the car across driver changes
/// (fuel use, each driver's pace and time in the car, pit-lane losses of stops that were driver
/// changes). The plan is the team's, one car per team in a race.
struct CarLaps {
    laps: LapTracker,
    last_fed: Instant,
}

fn coach_loop(
    mut rx: mpsc::Receiver<LapFeed>,
    out: mpsc::UnboundedSender<Said>,
    plans: mpsc::UnboundedSender<LapDone>,
) {
    let mut coaches: HashMap<String, SessionCoach> = HashMap::new();
    let mut cars: HashMap<String, CarLaps> = HashMap::new();
    let mut last_sweep = Instant::now();
    while let Some(feed) = rx.blocking_recv() {
        let entry = coaches.entry(feed.session_id.clone()).or_insert_with(|| SessionCoach {
            coach: LiveCoach::new(LiveConfig { driver_id: Some(feed.driver_id.clone()), ..LiveConfig::default() }),
            last_fed: Instant::now(),
        });
        entry.last_fed = Instant::now();
        let car_key = match feed.samples.first().and_then(|u| u.sim_session_id.as_deref()) {
            Some(sim) => format!("{}|{sim}", feed.team_id),
            None => format!("{}|session {}", feed.team_id, feed.session_id),
        };
        let car =
            cars.entry(car_key).or_insert_with(|| CarLaps { laps: LapTracker::default(), last_fed: Instant::now() });
        car.last_fed = Instant::now();
        for u in &feed.samples {
            // Laps are timed on the sim's clock (session time); the wall clock runs at another
            // pace in a replay (`--pace`) and jumps with the network.
            let time = u.session_time.unwrap_or_else(|| u.timestamp.timestamp_millis() as f64 / 1000.0);
            let events = entry.coach.push(&Sample::from_update(u, time));
            if !send_coaching(&out, &feed, events) {
                return;
            }
            // An import is history, not the car on track now: no live plan from it.
            if feed.speak
                && let Some(done) = car.laps.push(&feed.team_id, &feed.session_id, u)
                && plans.send(done).is_err()
            {
                return;
            }
        }
        if feed.whole_recording {
            let events = entry.coach.flush();
            if !send_coaching(&out, &feed, events) {
                return;
            }
        }
        if last_sweep.elapsed() > Duration::from_secs(60) {
            last_sweep = Instant::now();
            coaches.retain(|_, c| c.last_fed.elapsed() < IDLE_COACH);
            cars.retain(|_, c| c.last_fed.elapsed() < IDLE_COACH);
        }
    }
}

/// Hands the coach's lap messages to the publisher; `false` once it has gone. Cues are for the
/// driver's own agent, which hears them before the corner; the cloud only speaks once a lap is
/// complete.
fn send_coaching(out: &mpsc::UnboundedSender<Said>, feed: &LapFeed, events: Vec<LiveEvent>) -> bool {
    for ev in events {
        if let LiveEvent::Coaching(c) = ev {
            let said = Said {
                speak: feed.speak,
                team_id: feed.team_id.clone(),
                session_id: feed.session_id.clone(),
                coaching: *c,
            };
            if out.send(said).is_err() {
                return false;
            }
        }
    }
    true
}

async fn publish_loop(store: Store, bus: Bus, mut rx: mpsc::UnboundedReceiver<Said>, stats: Arc<CoachStats>) {
    while let Some(said) = rx.recv().await {
        stats.messages.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = insert(&store, &said).await {
            tracing::warn!(error = %e, "storing a coaching message failed; it is still sent live when live");
        }
        if said.speak {
            bus.publish(&said.team_id, Message::AiCoaching(said.coaching));
        }
    }
}

async fn insert(store: &Store, said: &Said) -> StoreResult<()> {
    let c = &said.coaching;
    let body = serde_json::to_string(c).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let priority = serde_json::to_value(c.priority).ok().and_then(|v| v.as_str().map(str::to_string));
    sqlx::query(
        "INSERT INTO coaching_messages (id, team_id, driver_id, session_id, lap, priority, created_at, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id("cch"))
    .bind(&said.team_id)
    .bind(c.driver_id.as_deref().unwrap_or(""))
    .bind(&said.session_id)
    .bind(c.lap.map(i64::from))
    .bind(priority.unwrap_or_else(|| "normal".into()))
    .bind(c.timestamp.timestamp_millis())
    .bind(body)
    .execute(store.pool())
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// GET /api/coaching

/// Query of `GET /api/coaching`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct CoachingQuery {
    /// Only this driver's coaching.
    pub driver_id: Option<String>,
    /// Only this session's coaching.
    pub session_id: Option<String>,
    /// Most entries, 1–1000 (default 100).
    pub limit: Option<i64>,
}

/// One stored `ai_coaching` message.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CoachingRecord {
    pub id: String,
    pub session_id: String,
    pub driver_id: String,
    pub lap: Option<i64>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The message as it was sent on `/ws` (its `data`).
    #[schema(value_type = Object)]
    pub coaching: AiCoaching,
}

/// `GET /api/coaching?driverId=&sessionId=&limit=`: the team's coaching messages, newest first.
pub async fn list(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<CoachingQuery>,
) -> ApiResult<Json<Vec<CoachingRecord>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 1000"));
    }
    let mut sql = String::from(
        "SELECT id, team_id, driver_id, session_id, lap, created_at, body FROM coaching_messages WHERE 1 = 1",
    );
    let mut binds: Vec<String> = Vec::new();
    if !auth.is_owner() {
        binds.push(auth.team_id().to_string());
        sql.push_str(&format!(" AND team_id = ${}", binds.len()));
    }
    if let Some(d) = &q.driver_id {
        binds.push(d.clone());
        sql.push_str(&format!(" AND driver_id = ${}", binds.len()));
    }
    if let Some(s) = &q.session_id {
        binds.push(s.clone());
        sql.push_str(&format!(" AND session_id = ${}", binds.len()));
    }
    sql.push_str(&format!(" ORDER BY created_at DESC, id DESC LIMIT ${}", binds.len() + 1));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in &binds {
        query = query.bind(b.as_str());
    }
    let rows = query.bind(limit).fetch_all(st.store.pool()).await.map_err(StoreError::from)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let body: String = r.try_get("body").map_err(StoreError::from)?;
        let coaching: AiCoaching = serde_json::from_str(&body).map_err(ApiError::internal)?;
        out.push(CoachingRecord {
            id: r.try_get("id").map_err(StoreError::from)?,
            session_id: r.try_get("session_id").map_err(StoreError::from)?,
            driver_id: r.try_get("driver_id").map_err(StoreError::from)?,
            lap: r.try_get("lap").map_err(StoreError::from)?,
            created_at: ms_to_time(r.try_get("created_at").map_err(StoreError::from)?),
            coaching,
        });
    }
    Ok(Json(out))
}
