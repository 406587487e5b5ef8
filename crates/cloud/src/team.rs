//! Team coordination storage: messages with read receipts, handoffs with their state machine,
//! driver profiles.

use std::str::FromStr;

use pitbox_model::team::{Attachment, DriverProfile, HandoffRequest, TeamMessage};
use pitbox_model::telemetry::TelemetrySnapshot;
use pitbox_model::{DriverRole, DriverStatus, HandoffStatus, Priority, Urgency};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::store::{Store, StoreError, StoreResult, ms_to_time, now_ms};

fn parse<T: FromStr>(s: &str, what: &str) -> StoreResult<T> {
    T::from_str(s).map_err(|_| StoreError::Corrupt(format!("stored {what} `{s}` is not valid")))
}

fn message_from_row(r: &AnyRow) -> StoreResult<TeamMessage> {
    let attachment: Option<String> = r.try_get("attachment")?;
    let attachment: Option<Attachment> = match attachment {
        Some(a) => Some(serde_json::from_str(&a).map_err(|e| StoreError::Corrupt(e.to_string()))?),
        None => None,
    };
    Ok(TeamMessage {
        id: r.try_get("id")?,
        content: r.try_get("content")?,
        sender_id: r.try_get("sender_id")?,
        sender_name: r.try_get("sender_name")?,
        priority: parse::<Priority>(&r.try_get::<String, _>("priority")?, "priority")?,
        sent_at: ms_to_time(r.try_get("sent_at")?),
        read: r.try_get::<i64, _>("is_read")? != 0,
        attachment,
    })
}

/// Stores a team message.
pub async fn insert_message(store: &Store, team_id: &str, m: &TeamMessage) -> StoreResult<()> {
    let attachment = match &m.attachment {
        Some(a) => Some(serde_json::to_string(a).map_err(|e| StoreError::Corrupt(e.to_string()))?),
        None => None,
    };
    sqlx::query(
        "INSERT INTO team_messages (id, team_id, content, sender_id, sender_name, priority, sent_at, attachment) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&m.id)
    .bind(team_id)
    .bind(&m.content)
    .bind(&m.sender_id)
    .bind(&m.sender_name)
    .bind(m.priority.as_str())
    .bind(m.sent_at.timestamp_millis())
    .bind(attachment)
    .execute(store.pool())
    .await?;
    Ok(())
}

const MESSAGE_SELECT: &str = "SELECT m.id, m.content, m.sender_id, m.sender_name, m.priority, m.sent_at, m.attachment, \
     (SELECT COUNT(*) FROM message_reads r WHERE r.message_id = m.id AND r.user_id = $2) AS is_read \
     FROM team_messages m";

/// A team's messages, newest first; `read` is from `reader`'s point of view.
pub async fn list_messages(store: &Store, team_id: &str, reader: &str, limit: i64) -> StoreResult<Vec<TeamMessage>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{MESSAGE_SELECT} WHERE m.team_id = $1 ORDER BY m.sent_at DESC, m.id LIMIT $3"
    )))
    .bind(team_id)
    .bind(reader)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(message_from_row).collect()
}

/// One message and its team.
pub async fn get_message(store: &Store, id: &str, reader: &str) -> StoreResult<Option<(TeamMessage, String)>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT q.*, t.team_id FROM ({MESSAGE_SELECT} WHERE m.id = $1) q JOIN team_messages t ON t.id = q.id"
    )))
    .bind(id)
    .bind(reader)
    .fetch_optional(store.pool())
    .await?;
    match row {
        Some(r) => Ok(Some((message_from_row(&r)?, r.try_get("team_id")?))),
        None => Ok(None),
    }
}

/// Records that `user_id` read a message (idempotent). Returns the read time.
pub async fn mark_read(store: &Store, message_id: &str, user_id: &str) -> StoreResult<chrono::DateTime<chrono::Utc>> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO message_reads (message_id, user_id, read_at) VALUES ($1, $2, $3) \
         ON CONFLICT (message_id, user_id) DO NOTHING",
    )
    .bind(message_id)
    .bind(user_id)
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok(ms_to_time(now))
}

fn handoff_from_row(r: &AnyRow) -> StoreResult<HandoffRequest> {
    let snap: Option<String> = r.try_get("telemetry_snapshot")?;
    let telemetry_snapshot: Option<TelemetrySnapshot> = match snap {
        Some(s) => Some(serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string()))?),
        None => None,
    };
    Ok(HandoffRequest {
        id: r.try_get("id")?,
        requester_id: r.try_get("requester_id")?,
        requester_name: r.try_get("requester_name")?,
        target_driver_id: r.try_get("target_driver_id")?,
        target_driver_name: r.try_get("target_driver_name")?,
        reason: r.try_get("reason")?,
        urgency: parse::<Urgency>(&r.try_get::<String, _>("urgency")?, "urgency")?,
        requested_at: ms_to_time(r.try_get("requested_at")?),
        status: parse::<HandoffStatus>(&r.try_get::<String, _>("status")?, "status")?,
        telemetry_snapshot,
        responded_at: r.try_get::<Option<i64>, _>("responded_at")?.map(ms_to_time),
        responder_id: r.try_get("responder_id")?,
    })
}

/// Stores a new handoff.
pub async fn insert_handoff(store: &Store, team_id: &str, h: &HandoffRequest) -> StoreResult<()> {
    let snap = match &h.telemetry_snapshot {
        Some(s) => Some(serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))?),
        None => None,
    };
    sqlx::query(
        "INSERT INTO handoffs (id, team_id, requester_id, requester_name, target_driver_id, target_driver_name, \
         reason, urgency, requested_at, status, telemetry_snapshot, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&h.id)
    .bind(team_id)
    .bind(&h.requester_id)
    .bind(&h.requester_name)
    .bind(&h.target_driver_id)
    .bind(&h.target_driver_name)
    .bind(&h.reason)
    .bind(h.urgency.as_str())
    .bind(h.requested_at.timestamp_millis())
    .bind(h.status.as_str())
    .bind(snap)
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    Ok(())
}

const HANDOFF_COLS: &str = "id, team_id, requester_id, requester_name, target_driver_id, target_driver_name, reason, \
     urgency, requested_at, status, telemetry_snapshot, responded_at, responder_id";

/// A team's handoffs, newest first.
pub async fn list_handoffs(store: &Store, team_id: &str, limit: i64) -> StoreResult<Vec<HandoffRequest>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {HANDOFF_COLS} FROM handoffs WHERE team_id = $1 ORDER BY requested_at DESC, id LIMIT $2"
    )))
    .bind(team_id)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(handoff_from_row).collect()
}

/// One handoff and its team.
pub async fn get_handoff(store: &Store, id: &str) -> StoreResult<Option<(HandoffRequest, String)>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {HANDOFF_COLS} FROM handoffs WHERE id = $1")))
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    match row {
        Some(r) => Ok(Some((handoff_from_row(&r)?, r.try_get("team_id")?))),
        None => Ok(None),
    }
}

/// Moves a handoff to `next` if the state machine allows it from its current state, answered by
/// `responder` now. The update is conditional on the state read, so two concurrent moves cannot
/// both win.
pub async fn transition_handoff(
    store: &Store,
    id: &str,
    next: HandoffStatus,
    responder: &str,
) -> StoreResult<HandoffRequest> {
    let Some((current, _)) = get_handoff(store, id).await? else {
        return Err(StoreError::NotFound(format!("handoff {id} does not exist")));
    };
    if !current.status.can_become(next) {
        return Err(StoreError::Conflict(format!(
            "handoff {id} is {}; it cannot become {next} (allowed: pending → accepted | rejected, accepted → completed)",
            current.status
        )));
    }
    let now = now_ms();
    let r = sqlx::query(
        "UPDATE handoffs SET status = $1, updated_at = $2, responded_at = $2, responder_id = $3 \
         WHERE id = $4 AND status = $5",
    )
    .bind(next.as_str())
    .bind(now)
    .bind(responder)
    .bind(id)
    .bind(current.status.as_str())
    .execute(store.pool())
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!("handoff {id} changed meanwhile; read it again")));
    }
    Ok(HandoffRequest {
        status: next,
        responded_at: Some(ms_to_time(now)),
        responder_id: Some(responder.to_string()),
        ..current
    })
}

fn profile_from_row(r: &AnyRow, team_name: &str) -> StoreResult<DriverProfile> {
    Ok(DriverProfile {
        id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        team: team_name.to_string(),
        number: u32::try_from(r.try_get::<i64, _>("number")?).unwrap_or(0),
        status: parse::<DriverStatus>(&r.try_get::<String, _>("status")?, "status")?,
        role: parse::<DriverRole>(&r.try_get::<String, _>("role")?, "role")?,
        avatar_url: r.try_get("avatar_url")?,
        telemetry_connected: r.try_get::<i64, _>("telemetry_connected")? != 0,
        last_active: ms_to_time(r.try_get("last_active")?),
    })
}

/// Profiles of a team's drivers (`team` in each is the team's name).
pub async fn list_profiles(store: &Store, team_id: &str, team_name: &str) -> StoreResult<Vec<DriverProfile>> {
    let rows = sqlx::query(
        "SELECT user_id, name, number, status, role, avatar_url, telemetry_connected, last_active \
         FROM driver_profiles WHERE team_id = $1 ORDER BY number, name",
    )
    .bind(team_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(|r| profile_from_row(r, team_name)).collect()
}

/// One driver's profile and team id.
pub async fn get_profile(store: &Store, user_id: &str) -> StoreResult<Option<(DriverProfile, String)>> {
    let row = sqlx::query(
        "SELECT p.user_id, p.name, p.number, p.status, p.role, p.avatar_url, p.telemetry_connected, p.last_active, \
         p.team_id, t.name AS team_name FROM driver_profiles p JOIN teams t ON t.id = p.team_id WHERE p.user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(store.pool())
    .await?;
    match row {
        Some(r) => {
            let team_name: String = r.try_get("team_name")?;
            Ok(Some((profile_from_row(&r, &team_name)?, r.try_get("team_id")?)))
        }
        None => Ok(None),
    }
}

/// Creates or replaces a driver's profile.
pub async fn upsert_profile(store: &Store, team_id: &str, p: &DriverProfile) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO driver_profiles (user_id, team_id, name, number, status, role, avatar_url, telemetry_connected, \
         last_active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, number = excluded.number, \
         status = excluded.status, role = excluded.role, avatar_url = excluded.avatar_url, \
         telemetry_connected = excluded.telemetry_connected, last_active = excluded.last_active",
    )
    .bind(&p.id)
    .bind(team_id)
    .bind(&p.name)
    .bind(i64::from(p.number))
    .bind(p.status.as_str())
    .bind(p.role.as_str())
    .bind(&p.avatar_url)
    .bind(i64::from(p.telemetry_connected))
    .bind(p.last_active.timestamp_millis())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Marks a driver's telemetry link up or down (no-op without a profile).
pub async fn set_connected(store: &Store, user_id: &str, connected: bool) -> StoreResult<()> {
    sqlx::query("UPDATE driver_profiles SET telemetry_connected = $1, last_active = $2 WHERE user_id = $3")
        .bind(i64::from(connected))
        .bind(now_ms())
        .bind(user_id)
        .execute(store.pool())
        .await?;
    Ok(())
}

// ---- identity and freshness on the pit wall (issue 21) ----

/// A stored sample younger than this makes a driver's telemetry "connected", whichever way it
/// came (own socket, relay, REST).
pub const LIVE_WINDOW_MS: i64 = 10_000;
/// A driver whose newest stored sample is older than this is not driving now (no stint).
pub const STINT_IDLE_MS: i64 = 60_000;

/// A driver profile as `GET /api/drivers` and `GET /api/drivers/{id}` show it: the team's
/// profile (the spec's `DriverProfile` fields) with what the stored telemetry says on top.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriverView {
    pub id: String,
    /// The team's name for the driver (the profile; an admin's edit wins over everything).
    pub name: String,
    pub team: String,
    pub number: u32,
    /// `active`, `inactive` or `standby`.
    #[schema(value_type = String)]
    pub status: DriverStatus,
    /// `primary`, `secondary` or `reserve`.
    #[schema(value_type = String)]
    pub role: DriverRole,
    pub avatar_url: String,
    /// The driver's own socket is up, or their newest stored sample is younger than 10 s
    /// (a driver streaming through a relay is connected).
    pub telemetry_connected: bool,
    /// The newest of the driver's own connection and their newest stored sample.
    pub last_active: chrono::DateTime<chrono::Utc>,
    /// The name the sim gives the driver (their car's line of the latest `session_info`);
    /// `null` when no session_info naming them was stored.
    pub sim_name: Option<String>,
    /// When the driver's current stint began: the current session's first sample, or the end
    /// of its latest in lap (a pit stop starts the next stint); `null` when not driving now
    /// (no stored sample in the last 60 s).
    pub stint_started_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What the stored sessions say about a driver now.
struct Freshness {
    last_sample_at: Option<i64>,
    sim_name: Option<String>,
    stint_started_at: Option<i64>,
}

async fn freshness(store: &Store, driver_id: &str, now: i64) -> StoreResult<Freshness> {
    let row = sqlx::query(
        "SELECT id, started_at, last_sample_at FROM sessions WHERE driver_id = $1 AND source = 'live' \
         ORDER BY last_sample_at DESC LIMIT 1",
    )
    .bind(driver_id)
    .fetch_optional(store.pool())
    .await?;
    let sim_name: Option<String> = sqlx::query(
        "SELECT sim_driver_name FROM sessions WHERE driver_id = $1 AND sim_driver_name IS NOT NULL \
         ORDER BY last_sample_at DESC LIMIT 1",
    )
    .bind(driver_id)
    .fetch_optional(store.pool())
    .await?
    .map(|r| r.try_get("sim_driver_name"))
    .transpose()?;
    let Some(row) = row else {
        return Ok(Freshness { last_sample_at: None, sim_name, stint_started_at: None });
    };
    let id: String = row.try_get("id")?;
    let started: i64 = row.try_get("started_at")?;
    let last: i64 = row.try_get("last_sample_at")?;
    let stint_started_at = if now - last <= STINT_IDLE_MS {
        // The stint began with the session, or when the latest in lap before the newest sample
        // ended (the pit stop; the driver who drives on after it starts a new stint).
        let laps = crate::telemetry::list_sim_laps(store, &id).await?;
        let since = laps
            .iter()
            .filter(|l| l.in_lap && l.ended_at.timestamp_millis() < last)
            .map(|l| l.ended_at.timestamp_millis())
            .fold(started, i64::max);
        Some(since)
    } else {
        None
    };
    Ok(Freshness { last_sample_at: Some(last), sim_name, stint_started_at })
}

/// A profile with what the stored telemetry says about the driver now.
pub async fn driver_view(store: &Store, p: DriverProfile) -> StoreResult<DriverView> {
    let now = now_ms();
    let f = freshness(store, &p.id, now).await?;
    let own = p.last_active.timestamp_millis();
    let last_active = f.last_sample_at.map_or(own, |s| s.max(own));
    let live = f.last_sample_at.is_some_and(|s| now - s < LIVE_WINDOW_MS);
    Ok(DriverView {
        id: p.id,
        name: p.name,
        team: p.team,
        number: p.number,
        status: p.status,
        role: p.role,
        avatar_url: p.avatar_url,
        telemetry_connected: p.telemetry_connected || live,
        last_active: ms_to_time(last_active),
        sim_name: f.sim_name,
        stint_started_at: f.stint_started_at.map(ms_to_time),
    })
}

/// Creates a driver's team profile when there is none (first sign-in, first stored samples):
/// name = the account's username, number = the car number of the driver's latest session when
/// numeric (else 0), role primary for the team's first primary else secondary, status active.
/// Never changes an existing profile (an admin's edits stay). A no-op for accounts that are not
/// drivers or belong to no team. Returns whether a profile was created.
pub async fn ensure_profile(store: &Store, user_id: &str) -> StoreResult<bool> {
    let exists = sqlx::query("SELECT user_id FROM driver_profiles WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(store.pool())
        .await?
        .is_some();
    if exists {
        return Ok(false);
    }
    let Some(user) = sqlx::query("SELECT username, role, team_id FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(store.pool())
        .await?
    else {
        return Ok(false);
    };
    let role: String = user.try_get("role")?;
    let team_id: Option<String> = user.try_get("team_id")?;
    let (Some(team_id), "driver") = (team_id, role.as_str()) else {
        return Ok(false);
    };
    let name: String = user.try_get("username")?;
    let number = sqlx::query(
        "SELECT car_number FROM sessions WHERE driver_id = $1 AND car_number IS NOT NULL \
         ORDER BY last_sample_at DESC LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(store.pool())
    .await?
    .map(|r| r.try_get::<String, _>("car_number"))
    .transpose()?
    .and_then(|n| n.trim().parse::<u32>().ok())
    .filter(|n| *n <= 9_999)
    .unwrap_or(0);
    let has_primary =
        sqlx::query("SELECT user_id FROM driver_profiles WHERE team_id = $1 AND role = 'primary' LIMIT 1")
            .bind(&team_id)
            .fetch_optional(store.pool())
            .await?
            .is_some();
    let role = if has_primary { DriverRole::Secondary } else { DriverRole::Primary };
    let name: String = name.chars().take(pitbox_model::team::MAX_NAME_LEN).collect();
    let r = sqlx::query(
        "INSERT INTO driver_profiles (user_id, team_id, name, number, status, role, avatar_url, telemetry_connected, \
         last_active) VALUES ($1, $2, $3, $4, $5, $6, '', 0, $7) ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(&team_id)
    .bind(&name)
    .bind(i64::from(number))
    .bind(DriverStatus::Active.as_str())
    .bind(role.as_str())
    .bind(now_ms())
    .execute(store.pool())
    .await?;
    Ok(r.rows_affected() == 1)
}
