//! Race strategy on the cloud: `POST /api/strategy/plan` plans a race with `pitbox-strategy`
//! and stores it as the team's current plan; `GET /api/strategy/plan` reads that plan back.
//!
//! Who may do what: the plan is the pit wall's, so engineers and admins make it (a POST
//! replaces the team's plan); drivers and viewers read it (GET) but get 403 on POST — a driver
//! who could POST would silently overwrite the plan the engineer is running the race on.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use pitbox_model::UserRole;
use pitbox_strategy::{Plan, PlanError, PlanRequest};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, JsonBody};
use crate::server::AppState;
use crate::store::{Store, StoreError, StoreResult, ms_to_time, now_ms};

/// `?teamId=` of the strategy routes (the owner names another team; others get their own).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StrategyQuery {
    #[serde(default)]
    pub team_id: Option<String>,
    /// `POST` only: plan and answer without storing — a what-if that leaves the team's plan as
    /// it is.
    #[serde(default)]
    pub dry_run: bool,
}

/// The team's stored plan (`GET /api/strategy/plan`): the plan's fields, the request it was
/// made from, and who made it when.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredPlan {
    #[serde(flatten)]
    pub plan: Plan,
    pub request: PlanRequest,
    pub team_id: String,
    pub planned_by: String,
    pub planned_at: chrono::DateTime<chrono::Utc>,
}

/// The API error for a planner error: 400 `validation_failed` on the field, or 400
/// `plan_infeasible` naming the rule that cannot be met.
pub fn plan_error(e: PlanError) -> ApiError {
    match e {
        PlanError::Invalid { field, message } => ApiError::validation(field, message),
        PlanError::Infeasible { field, message } => {
            let mut err = ApiError::validation(field, message);
            err.code = "plan_infeasible";
            err
        }
    }
}

/// `POST /api/strategy/plan` (admin, engineer): plan, store as the team's plan, answer it;
/// with `?dryRun=true`, plan and answer only (a what-if).
pub async fn post_plan(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<StrategyQuery>,
    JsonBody(req): JsonBody<PlanRequest>,
) -> ApiResult<Json<Plan>> {
    auth.require(
        &[UserRole::Admin, UserRole::Engineer],
        "making the team's stint plan (drivers read it with GET /api/strategy/plan)",
    )?;
    let team = auth.team(q.team_id.as_deref())?;
    let request = req.clone();
    // Planning is CPU work (milliseconds, up to a second for absurd races): off the runtime.
    let plan = tokio::task::spawn_blocking(move || pitbox_strategy::plan(&request))
        .await
        .map_err(ApiError::internal)?
        .map_err(plan_error)?;
    if !q.dry_run {
        store_plan(&st.store, &team, &req, &plan, auth.user_id()).await?;
    }
    Ok(Json(plan))
}

/// `GET /api/strategy/plan` (any user of the team): the team's current plan, or 404.
pub async fn get_plan(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<StrategyQuery>,
) -> ApiResult<Json<StoredPlan>> {
    let team = auth.team(q.team_id.as_deref())?;
    match load_plan(&st.store, &team).await? {
        Some(p) => Ok(Json(p)),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "this team has no plan yet")),
    }
}

/// Stores `req`'s plan as `team`'s plan made by `by`, unless the team has one already (a demo's
/// start plan; an engineer's plan is never replaced). `Ok(false)` when one was there.
pub async fn seed_plan(store: &Store, team: &str, req: &PlanRequest, by: &str) -> ApiResult<bool> {
    if load_plan(store, team).await?.is_some() {
        return Ok(false);
    }
    let plan = pitbox_strategy::plan(req).map_err(plan_error)?;
    store_plan(store, team, req, &plan, by).await?;
    Ok(true)
}

async fn store_plan(store: &Store, team: &str, req: &PlanRequest, plan: &Plan, by: &str) -> ApiResult<()> {
    let request = serde_json::to_string(req).map_err(ApiError::internal)?;
    let plan = serde_json::to_string(plan).map_err(ApiError::internal)?;
    sqlx::query(
        "INSERT INTO strategy_plans (team_id, request, plan, planned_by, planned_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (team_id) DO UPDATE SET request = excluded.request, plan = excluded.plan, \
         planned_by = excluded.planned_by, planned_at = excluded.planned_at",
    )
    .bind(team)
    .bind(request)
    .bind(plan)
    .bind(by)
    .bind(now_ms())
    .execute(store.pool())
    .await
    .map_err(|e| ApiError::from(StoreError::from(e)))?;
    Ok(())
}

pub(crate) async fn load_plan(store: &Store, team: &str) -> StoreResult<Option<StoredPlan>> {
    let Some(r) = sqlx::query("SELECT request, plan, planned_by, planned_at FROM strategy_plans WHERE team_id = $1")
        .bind(team)
        .fetch_optional(store.pool())
        .await?
    else {
        return Ok(None);
    };
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("stored plan of team {team}: {e}"));
    let request: PlanRequest = serde_json::from_str(&r.try_get::<String, _>("request")?).map_err(corrupt)?;
    let plan: Plan = serde_json::from_str(&r.try_get::<String, _>("plan")?).map_err(corrupt)?;
    Ok(Some(StoredPlan {
        plan,
        request,
        team_id: team.to_string(),
        planned_by: r.try_get("planned_by")?,
        planned_at: ms_to_time(r.try_get("planned_at")?),
    }))
}
