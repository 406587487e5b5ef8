//! Downloads of stored telemetry (issue 20 §4): a lap or a whole session as an iRacing `.ibt`
//! file (written by `pitbox_irsdk::export`, iRacing's channel names and units, readable by any
//! `.ibt` tool and by the importer) or as CSV (one row per sample, the wire's units).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use pitbox_irsdk::export::{ExportSession, write_ibt};
use pitbox_model::session::SimSessionKey;
use pitbox_model::telemetry::TelemetryUpdate;

use crate::chunk::{Columns, FLOAT_CHANNELS};
use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::server::AppState;
use crate::telemetry::{self, SessionSummary};

/// Samples in one download at most (4.6 hours at 60 Hz, about 300 MB of `.ibt`): longer
/// sessions are downloaded lap by lap.
pub const MAX_DOWNLOAD_SAMPLES: usize = 1_000_000;

fn export_session(s: &SessionSummary) -> ExportSession {
    let key = s.sim_session_id.as_deref().and_then(SimSessionKey::parse);
    ExportSession {
        track_name: s.track.clone().unwrap_or_default(),
        track_display_name: s.track.clone().unwrap_or_default(),
        track_config: s.track_config.clone(),
        car: s.car.clone().unwrap_or_default(),
        driver_name: s.driver_id.clone(),
        car_idx: s.car_idx.and_then(|c| u32::try_from(c).ok()).unwrap_or(0),
        car_number: s.car_number.clone(),
        session_type: s.session_type.clone(),
        start_unix: key.as_ref().and_then(|k| k.offline_start).unwrap_or_else(|| s.started_at.timestamp()),
        key,
        sectors: Vec::new(),
    }
}

/// Every sample of `cols` as a `telemetry_update` of `driver` (downloads and lap comparison).
pub(crate) fn updates(cols: &Columns, driver: &str) -> Vec<TelemetryUpdate> {
    (0..cols.len()).filter_map(|i| cols.update(driver, i)).collect()
}

/// A file name safe on every system: letters, digits, `-` and `_`.
fn file_name(parts: &[&str], ext: &str) -> String {
    let stem: String = parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| p.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect::<String>())
        .collect::<Vec<_>>()
        .join("_");
    format!("{}.{ext}", if stem.is_empty() { "telemetry".into() } else { stem })
}

fn attachment(bytes: Vec<u8>, content_type: &str, name: &str) -> ApiResult<Response> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))
        .body(Body::from(bytes))
        .map_err(ApiError::internal)
}

/// CSV of samples: `timestamp` (Unix ms) and every stored channel; unknown values are empty.
pub fn csv(cols: &Columns) -> Vec<u8> {
    let mut out = String::from("timestamp");
    for c in FLOAT_CHANNELS {
        out.push(',');
        out.push_str(c);
    }
    out.push('\n');
    for (i, ts) in cols.timestamps.iter().enumerate() {
        out.push_str(&ts.to_string());
        for c in FLOAT_CHANNELS {
            out.push(',');
            if let Some(v) = cols.channel(c).and_then(|v| v.get(i)).filter(|v| v.is_finite()) {
                out.push_str(&v.to_string());
            }
        }
        out.push('\n');
    }
    out.into_bytes()
}

async fn lap_data(st: &AppState, auth: &Auth, id: &str) -> ApiResult<(SessionSummary, i64, Columns)> {
    let Some((lap, team_id)) = telemetry::get_lap(&st.store, id).await? else {
        return Err(ApiError::not_found(format!("lap {id} does not exist")));
    };
    auth.require_team(&team_id)?;
    let Some(session) = telemetry::get_session(&st.store, &lap.session_id).await? else {
        return Err(ApiError::not_found(format!("the session of lap {id} does not exist")));
    };
    let cols = telemetry::lap_columns(&st.store, &st.objects, &lap.session_id, lap.lap).await?;
    if cols.is_empty() {
        return Err(ApiError::not_found(format!("lap {id} has no stored samples")));
    }
    Ok((session, lap.lap, cols))
}

async fn session_data(st: &AppState, auth: &Auth, id: &str) -> ApiResult<(SessionSummary, Columns)> {
    let Some(session) = telemetry::get_session(&st.store, id).await? else {
        return Err(ApiError::not_found(format!("session {id} does not exist")));
    };
    auth.require_team(&session.team_id)?;
    let total = usize::try_from(session.sample_count).unwrap_or(usize::MAX);
    if total > MAX_DOWNLOAD_SAMPLES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "session {id} holds {total} samples, more than {MAX_DOWNLOAD_SAMPLES} in one download: download it lap by lap (GET /api/laps/{{id}}/ibt)"
            ),
        ));
    }
    let mut all = Columns::with_capacity(total.min(MAX_DOWNLOAD_SAMPLES));
    for bucket in telemetry::list_laps(&st.store, id).await? {
        all.extend(&telemetry::lap_columns(&st.store, &st.objects, id, bucket.lap).await?);
    }
    if all.is_empty() {
        return Err(ApiError::not_found(format!("session {id} has no stored samples")));
    }
    Ok((session, all))
}

/// `GET /api/laps/{id}/ibt`.
pub async fn lap_ibt(State(st): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Response> {
    let (session, lap, cols) = lap_data(&st, &auth, &id).await?;
    let samples = updates(&cols, &session.driver_id);
    let bytes = write_ibt(&export_session(&session), &samples).map_err(ApiError::internal)?;
    let name = file_name(&[session.track.as_deref().unwrap_or(""), &session.driver_id, &format!("lap{lap}")], "ibt");
    attachment(bytes, "application/octet-stream", &name)
}

/// `GET /api/laps/{id}/csv`.
pub async fn lap_csv(State(st): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Response> {
    let (session, lap, cols) = lap_data(&st, &auth, &id).await?;
    let name = file_name(&[session.track.as_deref().unwrap_or(""), &session.driver_id, &format!("lap{lap}")], "csv");
    attachment(csv(&cols), "text/csv; charset=utf-8", &name)
}

/// `GET /api/sessions/{id}/ibt`.
pub async fn session_ibt(State(st): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Response> {
    let (session, cols) = session_data(&st, &auth, &id).await?;
    let samples = updates(&cols, &session.driver_id);
    let bytes = write_ibt(&export_session(&session), &samples).map_err(ApiError::internal)?;
    let name = file_name(&[session.track.as_deref().unwrap_or(""), &session.driver_id, &session.id], "ibt");
    attachment(bytes, "application/octet-stream", &name)
}

/// `GET /api/sessions/{id}/csv`.
pub async fn session_csv(State(st): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Response> {
    let (session, cols) = session_data(&st, &auth, &id).await?;
    let name = file_name(&[session.track.as_deref().unwrap_or(""), &session.driver_id, &session.id], "csv");
    attachment(csv(&cols), "text/csv; charset=utf-8", &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(
            file_name(&["Tsukuba Circuit 1k/Outer", "usr-1", "lap3"], "ibt"),
            "Tsukuba-Circuit-1k-Outer_usr-1_lap3.ibt"
        );
        assert_eq!(file_name(&["", "..\\x"], "csv"), "---x.csv");
        assert_eq!(file_name(&[], "csv"), "telemetry.csv");
    }
}
