//! Events (issue 20 §2): an event is one iRacing subsession seen by a team — every driver's
//! sessions in it (practice, qualifying and race are sessions of one event), the stints driven,
//! and the standings of every car, stored per sim session so nothing is mixed across sessions.
//!
//! Standings arrive as `standings_update` at about 2 Hz per reporting driver. A single task per
//! node ([`StandingsRecorder`]) keeps the newest of each sim session (written when the order,
//! laps or pit stops change, at most once a second, and every 10 s regardless), a snapshot when
//! another team driver starts reporting (a driver change), and a snapshot when the reporting
//! driver moves on to the next session (the end of the previous one). Offers never block the
//! WebSocket: a full queue drops the offer and counts it (the next update carries the same
//! cars).
//!
//! `GET /api/events` lists a team's events; `GET /api/events/{id}` gives the sessions, the
//! stints (cut from the sim's laps: a stint ends with an in lap) and the stored standings.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Query, State};
use pitbox_model::session::{StandingsEntry, StandingsUpdate};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use tokio::sync::mpsc;

use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::server::AppState;
use crate::store::{Store, StoreError, StoreResult, ms_to_time};
use crate::telemetry::{self, SessionSummary, SimLapSummary};

/// Queued standings offers per node before new ones are dropped (counted).
const QUEUE: usize = 256;
/// The newest standings are rewritten at most this often when something changed…
const MIN_WRITE_GAP: Duration = Duration::from_secs(1);
/// …and at least this often while they keep coming.
const MAX_WRITE_GAP: Duration = Duration::from_secs(10);
/// Sessions not heard of for this long are forgotten by the recorder (their rows stay).
const FORGET_AFTER: Duration = Duration::from_secs(3_600);

/// The event of a sim session key: the key without its `SessionNum`
/// (`iracing:292615200:81394102:0` → `iracing:292615200:81394102`).
pub fn event_of(sim_session_id: &str) -> Option<&str> {
    sim_session_id.rsplit_once(':').map(|(e, _)| e).filter(|e| !e.is_empty())
}

enum Offer {
    Standings { team: String, update: Box<StandingsUpdate> },
}

/// The node's standings writer (see the module docs). Cheap to clone.
#[derive(Clone)]
pub struct StandingsRecorder {
    tx: mpsc::Sender<Offer>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for StandingsRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandingsRecorder").field("dropped", &self.dropped.load(Ordering::Relaxed)).finish()
    }
}

impl StandingsRecorder {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Store) -> StandingsRecorder {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, rx));
        StandingsRecorder { tx, dropped: Arc::default() }
    }

    /// Offers a team's standings for storage; never waits.
    pub fn offer(&self, team: &str, update: &StandingsUpdate) {
        let offer = Offer::Standings { team: team.to_string(), update: Box::new(update.clone()) };
        if self.tx.try_send(offer).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "standings storage fell behind; newer standings replace the dropped ones");
            }
        }
    }

    /// Offers dropped because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// What the writer remembers of one sim session of one team.
struct Tracked {
    digest: u64,
    written: Instant,
    seen: Instant,
}

/// The writer's memory (one task per node, so no locks).
#[derive(Default)]
struct Memory {
    /// (team, sim session) → the newest standings written.
    sessions: HashMap<(String, String), Tracked>,
    /// (team, driver) → the sim session they last reported standings for.
    current: HashMap<(String, String), String>,
    /// (team, sim session, driver) → the `CarIdx` the driver drives in it (from its session).
    cars: HashMap<(String, String, String), Option<i64>>,
    /// (team, sim session, car) → who reported that car last: a new name is a driver change.
    drivers: HashMap<(String, String, Option<i64>), String>,
}

impl Memory {
    fn forget_old(&mut self) {
        self.sessions.retain(|_, t| t.seen.elapsed() < FORGET_AFTER);
        let live = |team: &String, sim: &String| self.sessions.contains_key(&(team.clone(), sim.clone()));
        self.current.retain(|(team, _), sim| live(team, sim));
        self.cars.retain(|(team, sim, _), _| live(team, sim));
        self.drivers.retain(|(team, sim, _), _| live(team, sim));
    }

    /// The car `driver` drives in `sim` (remembered; `None` when the session does not say).
    async fn car_of(&mut self, store: &Store, team: &str, sim: &str, driver: &str) -> StoreResult<Option<i64>> {
        let key = (team.to_string(), sim.to_string(), driver.to_string());
        if let Some(c) = self.cars.get(&key) {
            return Ok(*c);
        }
        let row = sqlx::query("SELECT car_idx FROM sessions WHERE driver_id = $1 AND sim_session_id = $2")
            .bind(driver)
            .bind(sim)
            .fetch_optional(store.pool())
            .await?;
        let car: Option<i64> = row.map(|r| r.try_get("car_idx")).transpose()?.flatten();
        // Not remembered while unknown: the session_info that names the car may still come.
        if car.is_some() {
            self.cars.insert(key, car);
        }
        Ok(car)
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Offer>) {
    let mut memory = Memory::default();
    while let Some(offer) = rx.recv().await {
        let Offer::Standings { team, update } = offer;
        if let Err(e) = record(&store, &mut memory, &team, &update).await {
            tracing::warn!(error = %e, team, driver = update.driver_id, "could not store standings");
        }
        if memory.sessions.len() > 1_000 {
            memory.forget_old();
        }
    }
}

fn digest(entries: &[StandingsEntry]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for e in entries {
        (e.car_idx, e.position, e.class_position, e.lap, e.pit_stops, e.on_pit_road).hash(&mut h);
        e.best_lap_time.map(f64::to_bits).hash(&mut h);
        e.last_lap_time.map(f64::to_bits).hash(&mut h);
    }
    h.finish()
}

async fn record(store: &Store, m: &mut Memory, team: &str, u: &StandingsUpdate) -> StoreResult<()> {
    let sim = match &u.sim_session_id {
        Some(s) => s.clone(),
        // An older agent: the reporting driver's newest session that the sim named.
        None => match telemetry::latest_keyed_session(store, &u.driver_id).await? {
            Some(s) => s,
            None => return Ok(()),
        },
    };
    let Some(event) = event_of(&sim).map(str::to_string) else { return Ok(()) };
    let now = Instant::now();

    // The reporting driver moved on from another session: that one ended with its newest
    // standings.
    if let Some(prev) = m.current.insert((team.to_string(), u.driver_id.clone()), sim.clone())
        && prev != sim
    {
        // Its own failure does not keep the new standings out.
        if let Err(e) = snapshot_latest_as_end(store, team, &prev).await {
            tracing::warn!(error = %e, team, session = prev, "could not keep the standings at the session's end");
        }
    }

    // A driver change is another team driver reporting the same car (two cars of one team in
    // one race report the same session without changing anyone).
    let car = m.car_of(store, team, &sim, &u.driver_id).await?;
    let car_key = (team.to_string(), sim.clone(), car);
    let previous = match m.drivers.get(&car_key) {
        Some(d) => Some(d.clone()),
        // After a restart: whoever reported the stored newest standings, if they drove this car.
        None => match stored_reporter(store, team, &sim).await? {
            Some(r) if r != u.driver_id && m.car_of(store, team, &sim, &r).await? == car => Some(r),
            _ => None,
        },
    };
    let changed_driver = previous.is_some_and(|d| d != u.driver_id);
    m.drivers.insert(car_key, u.driver_id.clone());

    let key = (team.to_string(), sim.clone());
    let d = digest(&u.entries);
    let due = match m.sessions.get(&key) {
        None => true,
        Some(t) => {
            changed_driver
                || (t.digest != d && t.written.elapsed() >= MIN_WRITE_GAP)
                || t.written.elapsed() >= MAX_WRITE_GAP
        }
    };
    if changed_driver {
        // The standings as the new driver took over.
        let car_part = car.map_or_else(|| "-".to_string(), |c| c.to_string());
        let id = format!("stint:{team}:{sim}:{car_part}:{}:{}", u.driver_id, (u.session_time * 1000.0).round() as i64);
        insert(store, &id, team, &event, &sim, "stint", u, false).await?;
    }
    if due {
        insert(store, &format!("latest:{team}:{sim}"), team, &event, &sim, "latest", u, true).await?;
        m.sessions.insert(key, Tracked { digest: d, written: now, seen: now });
    } else if let Some(t) = m.sessions.get_mut(&key) {
        t.seen = now;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    store: &Store,
    id: &str,
    team: &str,
    event: &str,
    sim: &str,
    reason: &str,
    u: &StandingsUpdate,
    replace: bool,
) -> StoreResult<()> {
    let entries = serde_json::to_string(&u.entries).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let conflict = if replace {
        "ON CONFLICT (id) DO UPDATE SET reported_by = excluded.reported_by, taken_at = excluded.taken_at, \
         session_time = excluded.session_time, entries = excluded.entries"
    } else {
        "ON CONFLICT (id) DO NOTHING"
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO event_standings (id, team_id, event_id, sim_session_id, reason, reported_by, taken_at, \
         session_time, entries) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) {conflict}"
    )))
    .bind(id)
    .bind(team)
    .bind(event)
    .bind(sim)
    .bind(reason)
    .bind(&u.driver_id)
    .bind(u.timestamp.timestamp_millis())
    .bind(u.session_time)
    .bind(entries)
    .execute(store.pool())
    .await?;
    Ok(())
}

async fn stored_reporter(store: &Store, team: &str, sim: &str) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT reported_by FROM event_standings WHERE id = $1")
        .bind(format!("latest:{team}:{sim}"))
        .fetch_optional(store.pool())
        .await?;
    Ok(row.map(|r| r.try_get("reported_by")).transpose()?)
}

async fn snapshot_latest_as_end(store: &Store, team: &str, sim: &str) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO event_standings (id, team_id, event_id, sim_session_id, reason, reported_by, taken_at, \
         session_time, entries) SELECT CAST($1 AS TEXT), team_id, event_id, sim_session_id, 'end', reported_by, taken_at, \
         session_time, entries FROM event_standings WHERE id = $2 ON CONFLICT (id) DO NOTHING",
    )
    .bind(format!("end:{team}:{sim}"))
    .bind(format!("latest:{team}:{sim}"))
    .execute(store.pool())
    .await?;
    Ok(())
}

/// An event as listed by `GET /api/events`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventSummary {
    /// `iracing:<SessionID>:<SubSessionID>`, or `iracing-offline:<start>` for offline sessions.
    pub id: String,
    pub team_id: String,
    pub track: Option<String>,
    pub track_config: Option<String>,
    pub car: Option<String>,
    pub series: Option<String>,
    /// iRacing's `SessionType` of each sim session seen, in the order they started.
    pub session_types: Vec<String>,
    /// Sessions stored (one per driver and sim session).
    pub session_count: usize,
    /// The team drivers who have sessions in the event.
    pub driver_ids: Vec<String>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
}

/// A stint: consecutive laps of one driver in one session, ended by an in lap (or by the end of
/// what was stored).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventStint {
    pub driver_id: String,
    pub session_id: String,
    pub sim_session_id: Option<String>,
    pub session_type: Option<String>,
    /// The sim's lap counter of the stint's first and last lap.
    pub first_lap: i64,
    pub last_lap: i64,
    pub laps: usize,
    pub complete_laps: usize,
    /// The best valid lap of the stint, seconds (iRacing's own time).
    pub best_lap_time: Option<f64>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub ended_at: chrono::DateTime<chrono::Utc>,
    /// Whether the stint ended with an in lap (else it was still going when last stored).
    pub ended_in_pits: bool,
}

/// Standings stored for one sim session of the event.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoredStandings {
    pub sim_session_id: String,
    pub session_type: Option<String>,
    /// `latest` (the newest; the final order once the session is over), `stint` (taken at a
    /// driver change) or `end` (taken when the reporting driver moved on to the next session).
    pub reason: String,
    /// The team driver whose agent reported them.
    pub reported_by: String,
    pub taken_at: chrono::DateTime<chrono::Utc>,
    /// The sim's session clock, seconds.
    pub session_time: f64,
    /// Every car, as the protocol's `standings_update` entries (keyed by `carIdx`).
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<StandingsEntry>,
}

/// `GET /api/events/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventDetail {
    #[serde(flatten)]
    pub event: EventSummary,
    /// The event's sessions, oldest first.
    pub sessions: Vec<SessionSummary>,
    /// Every stint of every driver, oldest first.
    pub stints: Vec<EventStint>,
    /// Stored standings, per sim session in session order, snapshots oldest first.
    pub standings: Vec<StoredStandings>,
}

/// The sim's `SessionNum` of a key (its last part); unknown keys sort last.
fn session_num(sim_session_id: &str) -> i64 {
    sim_session_id.rsplit_once(':').and_then(|(_, n)| n.parse().ok()).unwrap_or(i64::MAX)
}

/// Groups sessions (any order) into events, newest first.
pub fn summarize(sessions: &[SessionSummary]) -> Vec<EventSummary> {
    let mut by_event: HashMap<(String, String), Vec<&SessionSummary>> = HashMap::new();
    for s in sessions {
        if let Some(e) = &s.event_id {
            by_event.entry((s.team_id.clone(), e.clone())).or_default().push(s);
        }
    }
    let mut out: Vec<EventSummary> = by_event
        .into_iter()
        .filter_map(|((team_id, id), mut ss)| {
            ss.sort_by_key(|s| s.started_at);
            let first = ss.first()?;
            let last_seen_at = ss.iter().map(|s| s.last_sample_at).max()?;
            let mut session_types: Vec<(String, String)> = Vec::new();
            for s in &ss {
                if let (Some(k), Some(t)) = (&s.sim_session_id, &s.session_type)
                    && !session_types.iter().any(|(key, _)| key == k)
                {
                    session_types.push((k.clone(), t.clone()));
                }
            }
            session_types.sort_by_key(|(key, _)| session_num(key));
            let mut driver_ids: Vec<String> = ss.iter().map(|s| s.driver_id.clone()).collect();
            driver_ids.sort();
            driver_ids.dedup();
            let pick = |f: fn(&SessionSummary) -> Option<&String>| ss.iter().rev().find_map(|s| f(s)).cloned();
            Some(EventSummary {
                id,
                team_id,
                track: pick(|s| s.track.as_ref()),
                track_config: pick(|s| s.track_config.as_ref()),
                car: pick(|s| s.car.as_ref()),
                series: pick(|s| s.series.as_ref()),
                session_types: session_types.into_iter().map(|(_, t)| t).collect(),
                session_count: ss.len(),
                driver_ids,
                started_at: first.started_at,
                last_seen_at,
            })
        })
        .collect();
    out.sort_by(|a, b| b.last_seen_at.cmp(&a.last_seen_at).then_with(|| a.id.cmp(&b.id)));
    out
}

/// Cuts a session's laps into stints: a stint ends with an in lap; the next lap starts another.
pub fn stints_of(session: &SessionSummary, laps: &[SimLapSummary]) -> Vec<EventStint> {
    let mut out = Vec::new();
    let mut run: Vec<&SimLapSummary> = Vec::new();
    let mut close = |run: &mut Vec<&SimLapSummary>, in_pits: bool| {
        let (Some(first), Some(last)) = (run.first(), run.last()) else { return };
        out.push(EventStint {
            driver_id: session.driver_id.clone(),
            session_id: session.id.clone(),
            sim_session_id: session.sim_session_id.clone(),
            session_type: session.session_type.clone(),
            first_lap: first.lap,
            last_lap: last.lap,
            laps: run.len(),
            complete_laps: run.iter().filter(|l| l.complete).count(),
            best_lap_time: run.iter().filter(|l| l.valid).filter_map(|l| l.lap_time).min_by(f64::total_cmp),
            started_at: first.started_at,
            ended_at: last.ended_at,
            ended_in_pits: in_pits,
        });
        run.clear();
    };
    for lap in laps {
        run.push(lap);
        if lap.in_lap {
            close(&mut run, true);
        }
    }
    close(&mut run, false);
    out
}

async fn stored_standings(store: &Store, team: &str, event: &str) -> StoreResult<Vec<StoredStandings>> {
    let rows = sqlx::query(
        "SELECT sim_session_id, reason, reported_by, taken_at, session_time, entries FROM event_standings \
         WHERE team_id = $1 AND event_id = $2 ORDER BY sim_session_id, taken_at, id",
    )
    .bind(team)
    .bind(event)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let sim: String = r.try_get("sim_session_id")?;
            let entries: String = r.try_get("entries")?;
            Ok(StoredStandings {
                entries: serde_json::from_str(&entries)
                    .map_err(|e| StoreError::Corrupt(format!("standings of {sim}: {e}")))?,
                sim_session_id: sim,
                session_type: None,
                reason: r.try_get("reason")?,
                reported_by: r.try_get("reported_by")?,
                taken_at: ms_to_time(r.try_get("taken_at")?),
                session_time: r.try_get("session_time")?,
            })
        })
        .collect()
}

/// `?teamId=&limit=` of the event routes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventQuery {
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Sessions of events read per request, at most (a team's whole history is far below).
const MAX_EVENT_SESSIONS: i64 = 20_000;

/// `GET /api/events`: the team's events, newest first (admins without `teamId`: every team's).
pub async fn list(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<EventQuery>,
) -> ApiResult<Json<Vec<EventSummary>>> {
    let limit = match q.limit {
        None => 100,
        Some(n @ 1..=1_000) => n,
        Some(_) => return Err(ApiError::validation("limit", "limit must be 1 to 1000")),
    };
    let team = if auth.is_owner() && q.team_id.is_none() { None } else { Some(auth.team(q.team_id.as_deref())?) };
    let sessions = telemetry::list_event_sessions(&st.store, team.as_deref(), None, MAX_EVENT_SESSIONS).await?;
    let mut events = summarize(&sessions);
    events.truncate(limit);
    Ok(Json(events))
}

/// `GET /api/events/{id}`: one event of the team with its sessions, stints and standings.
pub async fn get(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<EventQuery>,
) -> ApiResult<Json<EventDetail>> {
    let team = auth.team(q.team_id.as_deref())?;
    let mut sessions = telemetry::list_event_sessions(&st.store, Some(&team), Some(&id), MAX_EVENT_SESSIONS).await?;
    let Some(event) = summarize(&sessions).into_iter().next() else {
        return Err(ApiError::not_found(format!("event {id} has no session of this team")));
    };
    sessions.sort_by(|a, b| a.started_at.cmp(&b.started_at).then_with(|| a.id.cmp(&b.id)));
    let mut stints = Vec::new();
    for s in &sessions {
        let laps = telemetry::list_sim_laps(&st.store, &s.id).await?;
        stints.extend(stints_of(s, &laps));
    }
    stints.sort_by(|a, b| a.started_at.cmp(&b.started_at).then_with(|| a.driver_id.cmp(&b.driver_id)));
    let mut standings = stored_standings(&st.store, &team, &id).await?;
    // Session order (by the sim's SessionNum), each session's snapshots in time order.
    standings.sort_by(|a, b| {
        session_num(&a.sim_session_id)
            .cmp(&session_num(&b.sim_session_id))
            .then_with(|| a.taken_at.cmp(&b.taken_at))
            .then_with(|| a.reason.cmp(&b.reason))
    });
    for s in &mut standings {
        s.session_type = sessions
            .iter()
            .filter(|x| x.sim_session_id.as_deref() == Some(s.sim_session_id.as_str()))
            .find_map(|x| x.session_type.clone());
    }
    Ok(Json(EventDetail { event, sessions, stints, standings }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lap(seq: i64, time: Option<f64>, in_lap: bool, out_lap: bool) -> SimLapSummary {
        let at = chrono::DateTime::from_timestamp(1_700_000_000 + seq * 100, 0).unwrap_or_default();
        SimLapSummary {
            id: format!("lap-{seq}"),
            session_id: "ses-1".into(),
            driver_id: "ana".into(),
            seq,
            lap: seq + 10,
            lap_time: time,
            complete: time.is_some(),
            valid: time.is_some() && !in_lap && !out_lap,
            invalid: Vec::new(),
            in_lap,
            out_lap,
            sectors: Vec::new(),
            fuel_used: None,
            start_time: None,
            end_time: None,
            started_at: at,
            ended_at: at + chrono::Duration::seconds(90),
        }
    }

    #[test]
    fn a_stint_ends_with_an_in_lap_and_counts_only_valid_laps_as_best() {
        let session = SessionSummary {
            id: "ses-1".into(),
            team_id: "t".into(),
            driver_id: "ana".into(),
            track: None,
            car: None,
            source: "live".into(),
            started_at: chrono::DateTime::default(),
            last_sample_at: chrono::DateTime::default(),
            lap_count: 0,
            sample_count: 0,
            session_type: Some("Race".into()),
            sim_session_id: Some("iracing:1:2:2".into()),
            event_id: Some("iracing:1:2".into()),
            track_config: None,
            series: None,
            car_idx: None,
            car_number: None,
            legacy: false,
        };
        let laps = [
            lap(0, Some(95.0), false, true),
            lap(1, Some(90.5), false, false),
            lap(2, Some(90.1), false, false),
            lap(3, Some(99.0), true, false),
            lap(4, Some(96.0), false, true),
            lap(5, Some(90.3), false, false),
            lap(6, None, false, false),
        ];
        let stints = stints_of(&session, &laps);
        assert_eq!(stints.len(), 2);
        assert_eq!((stints[0].first_lap, stints[0].last_lap, stints[0].laps), (10, 13, 4));
        assert_eq!(stints[0].best_lap_time, Some(90.1), "the in lap and out lap are not the best");
        assert!(stints[0].ended_in_pits);
        assert_eq!((stints[1].first_lap, stints[1].last_lap, stints[1].complete_laps), (14, 16, 2));
        assert_eq!(stints[1].best_lap_time, Some(90.3));
        assert!(!stints[1].ended_in_pits, "still out when last stored");
        assert!(stints_of(&session, &[]).is_empty());
    }

    #[test]
    fn the_event_is_the_key_without_its_session_number() {
        assert_eq!(event_of("iracing:292615200:81394102:2"), Some("iracing:292615200:81394102"));
        assert_eq!(event_of("iracing-offline:1738256969:0"), Some("iracing-offline:1738256969"));
        assert_eq!(event_of("nokey"), None);
        assert_eq!(event_of(":0"), None);
    }
}
