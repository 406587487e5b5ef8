//! The lap a driver's cues before the corner are made against, chosen on the pit wall (issue 25
//! §5): any complete, valid lap of the team's history on the driver's track — a teammate's, an
//! imported file's, an earlier evening's.
//!
//! - `GET /api/laps/{id}/reference`: the lap as the coaching engine's reference (its trace on
//!   the distance grid and its corners, `pitbox_coach::Reference`), cut by the engine from the
//!   lap and its neighbours as `GET /api/laps/{id}/compare` does. The driver's agent loads it.
//! - `PUT /api/drivers/{id}/cue-reference` `{lapId}` (engineer, admin): stored per driver, and a
//!   `cue_reference` message goes to the driver's agent.
//! - `DELETE` the same path: back to the driver's own best valid lap (also sent).
//! - `GET` the same path (the driver, the team's engineers and admins): the choice in force, so
//!   a restarted agent keeps it; 404 when there is none.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pitbox_coach::{AnalysisOptions, Reference, Stream};
use pitbox_model::coaching::CueReference;
use pitbox_model::{Message, UserRole};
use serde::Deserialize;
use sqlx::Row;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, JsonBody};
use crate::lap_compare::{LapStream, lap_name, lap_stream};
use crate::server::AppState;
use crate::store::{StoreError, ms_to_time};

/// Body of `PUT /api/drivers/{id}/cue-reference`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CueReferenceBody {
    /// The stored lap (`GET /api/sessions/{id}/laps`).
    pub lap_id: String,
}

/// The engine's reference of a stored lap: a complete lap; with `valid_only`, a valid one.
async fn reference_of(st: &AppState, auth: &Auth, lap_id: &str, field: &str, valid_only: bool) -> ApiResult<Reference> {
    let lap = lap_stream(st, auth, lap_id, field).await?;
    let field = field.to_string();
    tokio::task::spawn_blocking(move || build(lap, &field, valid_only)).await.map_err(ApiError::internal)?
}

fn build(lap: LapStream, field: &str, valid_only: bool) -> ApiResult<Reference> {
    let opts = AnalysisOptions::default();
    let refused = |m: String| ApiError::validation(field, m);
    let stream = Stream::new(lap.samples.clone(), &opts).map_err(|e| refused(e.to_string()))?;
    let r = stream.reference(Some(lap.lap), opts.step_m, &lap_name(&lap)).map_err(|e| refused(e.to_string()))?;
    if valid_only && !r.valid {
        let why = stream
            .complete_laps()
            .find(|l| l.number == lap.lap)
            .map(|l| l.invalid.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        return Err(refused(format!("lap {} is not a valid lap ({why}): cues need a clean reference", lap.lap)));
    }
    Ok(r)
}

/// `GET /api/laps/{id}/reference`: any user of the lap's team.
pub async fn lap_reference(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Reference>> {
    Ok(Json(reference_of(&st, &auth, &id, "id", false).await?))
}

/// The driver `id` of the caller's team, or 400/404.
async fn team_driver(st: &AppState, auth: &Auth, id: &str) -> ApiResult<String> {
    let team = auth.team(None)?;
    let user = crate::accounts::team_member(&st.store, id, &team, "id").await?;
    if user.role != UserRole::Driver {
        return Err(ApiError::validation("id", format!("{id} is not a driver of the team (role {})", user.role)));
    }
    Ok(team)
}

/// `PUT /api/drivers/{id}/cue-reference` (admin, engineer).
pub async fn put(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CueReferenceBody>,
) -> ApiResult<Json<CueReference>> {
    auth.require(&[UserRole::Admin, UserRole::Engineer], "choosing the lap a driver's cues are made against")?;
    let team = team_driver(&st, &auth, &id).await?;
    let r = reference_of(&st, &auth, &body.lap_id, "lapId", true).await?;
    let msg = CueReference {
        driver_id: id.clone(),
        lap_id: Some(body.lap_id.clone()),
        name: Some(r.name.clone()),
        lap_time_s: Some(r.lap_time),
        set_by: auth.user_id().to_string(),
        timestamp: chrono::Utc::now(),
    };
    sqlx::query(
        "INSERT INTO cue_references (driver_id, team_id, lap_id, name, lap_time_s, set_by, set_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (driver_id) DO UPDATE SET team_id = excluded.team_id, \
         lap_id = excluded.lap_id, name = excluded.name, lap_time_s = excluded.lap_time_s, \
         set_by = excluded.set_by, set_at = excluded.set_at",
    )
    .bind(&id)
    .bind(&team)
    .bind(&body.lap_id)
    .bind(&r.name)
    .bind(r.lap_time)
    .bind(auth.user_id())
    .bind(msg.timestamp.timestamp_millis())
    .execute(st.store.pool())
    .await
    .map_err(|e| ApiError::from(StoreError::from(e)))?;
    st.bus.publish(&team, Message::CueReference(msg.clone()));
    Ok(Json(msg))
}

/// `DELETE /api/drivers/{id}/cue-reference` (admin, engineer): the driver's own best lap again.
pub async fn delete(State(st): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    auth.require(&[UserRole::Admin, UserRole::Engineer], "choosing the lap a driver's cues are made against")?;
    let team = team_driver(&st, &auth, &id).await?;
    sqlx::query("DELETE FROM cue_references WHERE driver_id = $1")
        .bind(&id)
        .execute(st.store.pool())
        .await
        .map_err(|e| ApiError::from(StoreError::from(e)))?;
    st.bus.publish(
        &team,
        Message::CueReference(CueReference {
            driver_id: id,
            lap_id: None,
            name: None,
            lap_time_s: None,
            set_by: auth.user_id().to_string(),
            timestamp: chrono::Utc::now(),
        }),
    );
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/drivers/{id}/cue-reference`: the driver themself, or the team's engineers and
/// admins; 404 when the driver's own best lap is in force.
pub async fn get(State(st): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<CueReference>> {
    if auth.role() == UserRole::Driver && auth.user_id() != id {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "a driver reads only their own cue reference"));
    }
    if auth.role() == UserRole::Viewer {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "viewers do not read cue references"));
    }
    let team = team_driver(&st, &auth, &id).await?;
    let row = sqlx::query(
        "SELECT lap_id, name, lap_time_s, set_by, set_at FROM cue_references WHERE driver_id = $1 AND team_id = $2",
    )
    .bind(&id)
    .bind(&team)
    .fetch_optional(st.store.pool())
    .await
    .map_err(|e| ApiError::from(StoreError::from(e)))?;
    let Some(r) = row else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{id} has no chosen cue reference: the driver's own best valid lap is used"),
        ));
    };
    let get = |e: sqlx::Error| ApiError::from(StoreError::from(e));
    Ok(Json(CueReference {
        driver_id: id,
        lap_id: Some(r.try_get("lap_id").map_err(get)?),
        name: Some(r.try_get("name").map_err(get)?),
        lap_time_s: Some(r.try_get("lap_time_s").map_err(get)?),
        set_by: r.try_get("set_by").map_err(get)?,
        timestamp: ms_to_time(r.try_get("set_at").map_err(get)?),
    }))
}
