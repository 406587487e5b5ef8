//! `GET /api/laps/{id}/compare?reference={id}`: one stored lap against another, corner by corner,
//! by the coaching engine's own analysis (`pitbox_coach::compare_laps`, the one behind
//! `pitbox coach analyze`), so the pit wall's per-corner table says what the CLI says.
//!
//! The laps may come from any sessions of the caller's team on the same track: another driver,
//! an imported file, another evening. Each lap is read with the lap before and after it, so the
//! engine sees both crossings of the line and cuts the lap itself; the track length comes from
//! the lap distance channel.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chunk::Columns;
use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::server::AppState;
use crate::telemetry;

/// Most samples read for one lap with its neighbours (three laps of a 10-minute track at 60 Hz
/// is about 110,000): a lap counter that stood still for hours is refused, not loaded.
pub const MAX_COMPARE_SAMPLES: usize = 300_000;

/// Query of `GET /api/laps/{id}/compare`.
#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    /// The reference lap's id.
    pub reference: Option<String>,
}

/// One lap against a reference lap.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LapComparison {
    pub lap_id: String,
    pub reference_lap_id: String,
    /// The track length the laps were laid on, metres (from the lap distance channel).
    pub track_length_m: f64,
    /// The compared lap's number (the sim's lap counter) and time as the engine cut it.
    pub focus_lap: i32,
    pub lap_time_s: f64,
    pub valid: bool,
    /// The reference: `{name, lap, timeS, valid}`.
    #[schema(value_type = Object)]
    pub reference: Value,
    /// Lap time minus the reference's, seconds.
    pub lap_delta_s: f64,
    /// Per corner: time lost or gained, speeds, braking and throttle points (docs/coaching.md).
    #[schema(value_type = Vec<Object>)]
    pub corners: Value,
    /// Per straight.
    #[schema(value_type = Vec<Object>)]
    pub straights: Value,
    /// Segments that add up to the lap delta.
    #[schema(value_type = Vec<Object>)]
    pub segments: Value,
    /// What to change, ranked by time at stake.
    #[schema(value_type = Vec<Object>)]
    pub findings: Value,
}

/// A stored lap with its neighbours, as the engine's samples.
pub(crate) struct LapStream {
    pub(crate) lap: i32,
    pub(crate) track: String,
    /// The driver's account name (their id when the account is gone).
    pub(crate) driver: String,
    pub(crate) samples: Vec<pitbox_coach::Sample>,
}

/// How the coaching names a stored lap: "lap 2 of alex at Tsukuba".
pub(crate) fn lap_name(l: &LapStream) -> String {
    format!("lap {} of {} at {}", l.lap, l.driver, l.track)
}

/// Lap `id` with its neighbours; `field` names the request's field in errors.
pub(crate) async fn lap_stream(st: &AppState, auth: &Auth, id: &str, field: &str) -> ApiResult<LapStream> {
    let Some((lap, team_id)) = telemetry::get_lap(&st.store, id).await? else {
        return Err(ApiError::not_found(format!("{field}: lap {id} does not exist")));
    };
    auth.require_team(&team_id)?;
    let Some(session) = telemetry::get_session(&st.store, &lap.session_id).await? else {
        return Err(ApiError::not_found(format!("{field}: the session of lap {id} does not exist")));
    };
    let mut cols = Columns::with_capacity(0);
    for n in [lap.lap - 1, lap.lap, lap.lap + 1] {
        if n < 0 {
            continue;
        }
        cols.extend(&telemetry::lap_columns(&st.store, &st.objects, &lap.session_id, n).await?);
        if cols.len() > MAX_COMPARE_SAMPLES {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("{field}: lap {id} and its neighbours hold more than {MAX_COMPARE_SAMPLES} samples"),
            ));
        }
    }
    cols.sort_by_time();
    let updates = crate::download::updates(&cols, &session.driver_id);
    // The driver by account name where the account still exists (a deleted one keeps its id).
    let driver = match st.store.user_by_id(&session.driver_id).await? {
        Some(u) => u.username,
        None => session.driver_id.clone(),
    };
    Ok(LapStream {
        lap: i32::try_from(lap.lap).unwrap_or(i32::MAX),
        track: session.track.clone().unwrap_or_default(),
        driver,
        samples: pitbox_coach::sample::samples_from_updates(&updates),
    })
}

/// `GET /api/laps/{id}/compare?reference={id}`: any user of both laps' team.
pub async fn compare(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<CompareQuery>,
) -> ApiResult<Json<LapComparison>> {
    let Some(reference_id) = q.reference.filter(|r| !r.trim().is_empty()) else {
        return Err(ApiError::validation("reference", "required: the id of the lap to compare with"));
    };
    let lap = lap_stream(&st, &auth, &id, "id").await?;
    let reference = lap_stream(&st, &auth, &reference_id, "reference").await?;
    let (lap_id, ref_id) = (id.clone(), reference_id.clone());
    let out = tokio::task::spawn_blocking(move || run(lap, reference, lap_id, ref_id))
        .await
        .map_err(ApiError::internal)??;
    Ok(Json(out))
}

fn run(lap: LapStream, reference: LapStream, lap_id: String, ref_id: String) -> ApiResult<LapComparison> {
    use pitbox_coach::{AnalysisOptions, CoachError, Stream};
    let opts = AnalysisOptions::default();
    let refused = |field: &str, e: CoachError| ApiError::validation(field, e.to_string());
    let name = lap_name(&reference);
    let ref_stream = Stream::new(reference.samples, &opts).map_err(|e| refused("reference", e))?;
    let stream = Stream::new(lap.samples, &opts).map_err(|e| refused("id", e))?;
    let a = pitbox_coach::compare_laps(&stream, lap.lap, &ref_stream, reference.lap, &name, &opts).map_err(|e| {
        // Say which of the two laps is at fault.
        let reference_at_fault = matches!(e, CoachError::TrackMismatch { .. })
            || !ref_stream.complete_laps().any(|l| l.number == reference.lap);
        refused(if reference_at_fault { "reference" } else { "id" }, e)
    })?;
    let Some(r) = a.focus_report() else {
        return Err(ApiError::validation("id", format!("lap {} is not a complete lap", lap.lap)));
    };
    Ok(LapComparison {
        lap_id,
        reference_lap_id: ref_id,
        track_length_m: a.track_length_m,
        focus_lap: r.lap,
        lap_time_s: r.time_s,
        valid: r.valid,
        reference: to_json(&a.reference)?,
        lap_delta_s: r.comparison.delta_s,
        corners: to_json(&r.comparison.corners)?,
        straights: to_json(&r.comparison.straights)?,
        segments: to_json(&r.comparison.segments)?,
        findings: to_json(&r.findings)?,
    })
}

fn to_json<T: Serialize>(v: &T) -> ApiResult<Value> {
    serde_json::to_value(v).map_err(ApiError::internal)
}
