//! Which relay forwarded what (issue 23 §2): per relay credential and driver, how many messages
//! and samples it forwarded and when (first, last). Counted in memory on every accepted message
//! of a relay's connection and written to `relay_forwards` every [`FLUSH_EVERY`] (one upsert per
//! relay and driver, so a relay's 10,000 messages a second cost no write each), and read with
//! `GET /api/relays`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use pitbox_model::{Message, UserRole};
use sqlx::Row;

use crate::error::ApiResult;
use crate::extract::{Auth, Query};
use crate::server::AppState;
use crate::store::{Store, StoreResult, ms_to_time, now_ms};

/// How often the counts are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Counted {
    team: String,
    relay_name: String,
    messages: i64,
    samples: i64,
    first_ms: i64,
    last_ms: i64,
}

/// Counts not written yet, by (relay id, driver id).
#[derive(Debug, Default)]
pub struct RelayLedger {
    pending: Mutex<HashMap<(String, String), Counted>>,
}

/// The driver a relayed message speaks for and the samples it carries.
pub fn speaker(msg: &Message) -> Option<(&str, i64)> {
    Some(match msg {
        Message::TelemetryUpdate(u) => (u.driver_id.as_str(), 1),
        Message::TelemetryBatch(b) => (b.driver_id.as_str(), i64::try_from(b.samples.len()).unwrap_or(i64::MAX)),
        Message::TeamMessage(m) => (m.sender_id.as_str(), 0),
        Message::MessageRead(r) => (r.reader_id.as_str(), 0),
        Message::HandoffRequest(h) => (h.requester_id.as_str(), 0),
        Message::HandoffResponse(r) => (r.responder_id.as_str(), 0),
        Message::SessionInfo(s) => (s.driver_id.as_str(), 0),
        Message::StandingsUpdate(s) => (s.driver_id.as_str(), 0),
        Message::DriverStatus(d) => (d.driver_id.as_str(), 0),
        _ => return None,
    })
}

impl RelayLedger {
    /// A ledger whose counts are written to `store` every [`FLUSH_EVERY`].
    pub fn start(store: Store) -> Arc<RelayLedger> {
        let ledger = Arc::new(RelayLedger::default());
        let task = ledger.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = task.flush(&store).await {
                    tracing::warn!(error = %e, "could not record what relays forwarded; kept for the next try");
                }
            }
        });
        ledger
    }

    /// Counts one accepted message of relay `relay_id` for `driver` with `samples` samples.
    pub fn note(&self, relay_id: &str, relay_name: &str, team: &str, driver: &str, samples: i64) {
        let now = now_ms();
        let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let c = pending.entry((relay_id.to_string(), driver.to_string())).or_insert_with(|| Counted {
            team: team.to_string(),
            relay_name: relay_name.to_string(),
            messages: 0,
            samples: 0,
            first_ms: now,
            last_ms: now,
        });
        c.messages = c.messages.saturating_add(1);
        c.samples = c.samples.saturating_add(samples);
        c.last_ms = now;
    }

    /// Writes the counts; on failure they are put back (added to what arrived meanwhile).
    pub async fn flush(&self, store: &Store) -> StoreResult<()> {
        let taken = std::mem::take(&mut *self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let mut failed: Option<crate::store::StoreError> = None;
        let mut unwritten = HashMap::new();
        for ((relay, driver), c) in taken {
            if failed.is_some() {
                unwritten.insert((relay, driver), c);
                continue;
            }
            let r = sqlx::query(
                "INSERT INTO relay_forwards (relay_id, driver_id, team_id, relay_name, messages, samples, first_at, last_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (relay_id, driver_id) DO UPDATE SET \
                 messages = relay_forwards.messages + excluded.messages, \
                 samples = relay_forwards.samples + excluded.samples, last_at = excluded.last_at",
            )
            .bind(&relay)
            .bind(&driver)
            .bind(&c.team)
            .bind(&c.relay_name)
            .bind(c.messages)
            .bind(c.samples)
            .bind(c.first_ms)
            .bind(c.last_ms)
            .execute(store.pool())
            .await;
            if let Err(e) = r {
                failed = Some(e.into());
                unwritten.insert((relay, driver), c);
            }
        }
        let Some(e) = failed else { return Ok(()) };
        let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (k, c) in unwritten {
            match pending.get_mut(&k) {
                Some(newer) => {
                    newer.messages = newer.messages.saturating_add(c.messages);
                    newer.samples = newer.samples.saturating_add(c.samples);
                    newer.first_ms = newer.first_ms.min(c.first_ms);
                }
                None => {
                    pending.insert(k, c);
                }
            }
        }
        Err(e)
    }
}

/// What one relay forwarded for one driver.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelayForward {
    pub relay_id: String,
    /// The name given when the relay's credential was issued.
    pub relay_name: String,
    pub team_id: String,
    pub driver_id: String,
    /// Messages accepted from the relay for this driver.
    pub messages: i64,
    /// Telemetry samples among them.
    pub samples: i64,
    pub first_at: chrono::DateTime<chrono::Utc>,
    pub last_at: chrono::DateTime<chrono::Utc>,
}

/// `?teamId=` of `GET /api/relays`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelaysQuery {
    #[serde(default)]
    pub team_id: Option<String>,
}

/// `GET /api/relays` (admin, engineer of the team; the owner any team): which relay forwarded
/// what for whom, latest first. Counts are written every few seconds.
pub async fn list(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<RelaysQuery>,
) -> ApiResult<Json<Vec<RelayForward>>> {
    auth.require(&[UserRole::Admin, UserRole::Engineer], "reading what relays forwarded")?;
    let team = auth.team(q.team_id.as_deref())?;
    let rows = sqlx::query(
        "SELECT relay_id, relay_name, team_id, driver_id, messages, samples, first_at, last_at \
         FROM relay_forwards WHERE team_id = $1 ORDER BY last_at DESC LIMIT 1000",
    )
    .bind(&team)
    .fetch_all(st.store.pool())
    .await
    .map_err(crate::store::StoreError::from)?;
    let out = rows
        .iter()
        .map(|r| {
            Ok(RelayForward {
                relay_id: r.try_get("relay_id")?,
                relay_name: r.try_get("relay_name")?,
                team_id: r.try_get("team_id")?,
                driver_id: r.try_get("driver_id")?,
                messages: r.try_get("messages")?,
                samples: r.try_get("samples")?,
                first_at: ms_to_time(r.try_get("first_at")?),
                last_at: ms_to_time(r.try_get("last_at")?),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(crate::store::StoreError::from)?;
    Ok(Json(out))
}

/// The team relay `relay_id` has forwarded for, if it has forwarded anything yet.
pub async fn team_of(store: &Store, relay_id: &str) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT team_id FROM relay_forwards WHERE relay_id = $1 LIMIT 1")
        .bind(relay_id)
        .fetch_optional(store.pool())
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("team_id")?),
        None => None,
    })
}
