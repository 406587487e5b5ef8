//! `POST /api/sessions/import`: an uploaded iRacing `.ibt` file becomes a session with laps,
//! through `pitbox-irsdk` (file parsing and the SDK → wire-model unit mapping).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use pitbox_irsdk::IbtFile;
use pitbox_irsdk::mapping::Mapper;
use pitbox_model::UserRole;
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_model::validate::validate;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::server::AppState;
use crate::telemetry::SimIdentity;

/// Largest upload accepted, bytes (a long race at 60 Hz is a few hundred MB).
pub const MAX_IBT_BYTES: usize = 512 * 1024 * 1024;

/// `?driverId=` of the import: whose session it is (default: the caller).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportQuery {
    #[serde(default)]
    pub driver_id: Option<String>,
}

/// Response of `POST /api/sessions/import`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportResult {
    pub session_id: String,
    pub track: String,
    pub car: String,
    pub samples: usize,
    pub laps: usize,
    /// Rows left out because a channel was out of the protocol's range.
    pub skipped: usize,
}

struct Parsed {
    track: String,
    car: String,
    identity: SimIdentity,
    laps: Vec<pitbox_irsdk::laps::Lap>,
    samples: Vec<TelemetryUpdate>,
    skipped: usize,
}

fn parse(bytes: Vec<u8>, driver_id: &str) -> Result<Parsed, ApiError> {
    let bad = |e: pitbox_irsdk::IrsdkError| ApiError::validation("body", format!("not a readable .ibt file: {e}"));
    let file = IbtFile::from_bytes(bytes).map_err(bad)?;
    let session = file.session_info().map_err(bad)?;
    let mut mapper = Mapper::new(file.layout()).map_err(bad)?;
    mapper.set_session(&session);
    let track = session
        .weekend
        .track_display_name
        .clone()
        .or_else(|| session.weekend.track_name.clone())
        .unwrap_or_else(|| "unknown track".into());
    let car = session.driver.player().and_then(|d| d.car_screen_name.clone()).unwrap_or_else(|| "unknown car".into());
    // The laps as the sim timed them, cut from every record of the file by the same code as
    // `pitbox ibt laps` (rows refused below still count: iRacing timed the lap with them).
    let laps = pitbox_irsdk::laps::file_laps(&file).map_err(bad)?;
    let disk = file.disk();
    // The file's own identity: the session number of its first data record, iRacing's IDs, and
    // (offline) when the session started.
    let session_num = match file.layout().optional::<i32>("SessionNum").map_err(bad)? {
        Some(h) => file.rows().map(|r| h.get(r)).find(|n| *n >= 0).unwrap_or(0),
        None => session.current_session_num.unwrap_or(0),
    };
    let start = (disk.session_start_date > 0).then_some(disk.session_start_date);
    let key = session.sim_session_key(session_num, start);
    let player = session.driver.player();
    let identity = SimIdentity {
        sim_session_id: Some(key.sim_session_id()),
        event_id: Some(key.event_id()),
        session_type: session.session_type_of(session_num).map(str::to_string),
        track_config: session.weekend.track_config_name.clone(),
        series: session
            .raw
            .path("WeekendInfo.SeriesID")
            .and_then(|n| n.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "0")
            .map(str::to_string),
        car_idx: session.driver.driver_car_idx.map(i64::from),
        car_number: player.and_then(|d| d.car_number.clone()),
        sim_started_at: start.map(|s| s.saturating_mul(1000)),
    };
    let base_ms = if disk.session_start_date > 0 {
        disk.session_start_date.saturating_mul(1000)
    } else {
        chrono::Utc::now().timestamp_millis()
    };
    let mut samples = Vec::with_capacity(file.row_count());
    let mut skipped = 0;
    for (i, row) in file.rows().enumerate() {
        let mut u = mapper.telemetry_update(row, driver_id, chrono::Utc::now());
        let t = u.session_time.unwrap_or(i as f64 / 60.0);
        let ms = base_ms.saturating_add((t * 1000.0) as i64);
        u.timestamp = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
        u.sequence = Some(i as u64);
        if validate(&u, "").is_ok() {
            samples.push(u);
        } else {
            skipped += 1;
        }
    }
    if samples.is_empty() {
        return Err(ApiError::validation("body", format!("the file has no usable rows ({skipped} rows out of range)")));
    }
    Ok(Parsed { track, car, identity, laps, samples, skipped })
}

/// Imports the request body as an `.ibt` file.
pub async fn import_session(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<ImportResult>)> {
    auth.require(&[UserRole::Admin, UserRole::Engineer, UserRole::Driver], "importing a session")?;
    let driver_id = q.driver_id.unwrap_or_else(|| auth.user_id().to_string());
    if auth.role() == UserRole::Driver && driver_id != auth.user_id() {
        return Err(ApiError::forbidden("a driver imports only their own sessions"));
    }
    let team = match st.store.user_by_id(&driver_id).await? {
        Some(u) if u.role == UserRole::Driver || u.id == auth.user_id() => {
            u.team_id.ok_or_else(|| ApiError::conflict("that user belongs to no team"))?
        }
        _ => return Err(ApiError::validation("driverId", format!("no driver `{driver_id}`"))),
    };
    auth.require_team(&team)?;
    if body.is_empty() {
        return Err(ApiError::validation("body", "send the .ibt file as the request body"));
    }
    let id = driver_id.clone();
    let parsed = tokio::task::spawn_blocking(move || parse(body.to_vec(), &id)).await.map_err(ApiError::internal)??;
    let session_id = crate::telemetry::import_session(
        &st.store,
        &team,
        &driver_id,
        &parsed.track,
        &parsed.car,
        &parsed.identity,
        &parsed.samples,
        &parsed.laps,
    )
    .await?;
    let samples = parsed.samples.len();
    let laps = parsed.laps.len();
    // Imported laps are analysed like live ones (stored `ai_coaching` per completed lap) but
    // never spoken: the driver is not in that session now.
    st.coaching.feed(crate::coaching::LapFeed {
        team_id: team,
        driver_id,
        session_id: session_id.clone(),
        samples: parsed.samples,
        speak: false,
    });
    Ok((
        StatusCode::CREATED,
        Json(ImportResult { session_id, track: parsed.track, car: parsed.car, samples, laps, skipped: parsed.skipped }),
    ))
}
