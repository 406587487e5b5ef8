//! `POST /api/sessions/import`: an uploaded iRacing `.ibt` file becomes a session with laps,
//! through `pitbox-irsdk` (file parsing and the SDK → wire-model unit mapping).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use pitbox_irsdk::IbtFile;
use pitbox_irsdk::import::{ImportError, ImportLimits, read_samples};
use pitbox_model::UserRole;
use pitbox_model::telemetry::TelemetryUpdate;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Query};
use crate::server::AppState;
use crate::telemetry::SimIdentity;

/// Largest upload accepted, bytes (a long race at 60 Hz is a few hundred MB). The body is
/// streamed to a temporary file; the samples read from it are capped separately
/// ([`pitbox_irsdk::import::DEFAULT_MAX_SAMPLES`]).
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
    /// Rows left out because a channel or the timestamp was out of the protocol's range.
    pub skipped: usize,
    /// The file's session start date (RFC 3339) when plausible (2008 to tomorrow); `null`
    /// when the file's date is missing or implausible: the samples then count from the upload.
    pub start_date: Option<String>,
}

/// Streams the request body into a private temporary file (never more than [`MAX_IBT_BYTES`]),
/// so an upload costs disk, not memory, and the file is then read through a memory map.
async fn spool_body(body: Body) -> ApiResult<tempfile::NamedTempFile> {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let tmp = tempfile::NamedTempFile::new().map_err(ApiError::internal)?;
    let mut out = tokio::fs::File::from_std(tmp.reopen().map_err(ApiError::internal)?);
    let mut stream = body.into_data_stream();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::validation("body", format!("the upload broke off: {e}")))?;
        total = total.saturating_add(chunk.len());
        if total > MAX_IBT_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("an .ibt upload is at most {MAX_IBT_BYTES} bytes"),
            ));
        }
        out.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    out.flush().await.map_err(ApiError::internal)?;
    if total == 0 {
        return Err(ApiError::validation("body", "send the .ibt file as the request body"));
    }
    Ok(tmp)
}

struct Parsed {
    track: String,
    car: String,
    identity: SimIdentity,
    laps: Vec<pitbox_irsdk::laps::Lap>,
    samples: Vec<TelemetryUpdate>,
    skipped: usize,
    start_date: Option<chrono::DateTime<chrono::Utc>>,
}

fn parse(path: &std::path::Path, driver_id: &str) -> Result<Parsed, ApiError> {
    let bad = |e: pitbox_irsdk::IrsdkError| ApiError::validation("body", format!("not a readable .ibt file: {e}"));
    let file = IbtFile::open(path).map_err(bad)?;
    // Bounded first: the channels the mapping needs and the sample cap are checked before
    // anything is cut or kept.
    let imported = read_samples(&file, driver_id, ImportLimits::new(chrono::Utc::now())).map_err(|e| match e {
        ImportError::TooManySamples { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", e.to_string())
        }
        other => ApiError::validation("body", other.to_string()),
    })?;
    let session = file.session_info().map_err(bad)?;
    // The laps as the sim timed them, cut from every record of the file by the same code as
    // `pitbox ibt laps` (rows refused by the import still count: iRacing timed the lap with them).
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
    Ok(Parsed {
        track: imported.track,
        car: imported.car,
        identity,
        laps,
        samples: imported.samples,
        skipped: imported.skipped,
        start_date: imported.start_date,
    })
}

/// Bytes of a refused upload read and dropped before answering, at most.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// Reads and drops what the client is still sending (up to [`DRAIN_LIMIT`], 30 s) before a
/// refusal is answered: a browser that is mid-upload when the server answers and closes sees
/// a reset connection ("the server could not be reached"), never the reason.
async fn drain_then(body: Body, refusal: ApiError) -> ApiError {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let drain = async {
        let mut seen = 0usize;
        while let Some(Ok(chunk)) = stream.next().await {
            seen = seen.saturating_add(chunk.len());
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), drain).await;
    refusal
}

/// Imports the request body as an `.ibt` file.
pub async fn import_session(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<ImportQuery>,
    body: Body,
) -> ApiResult<(StatusCode, Json<ImportResult>)> {
    let driver_id = q.driver_id.unwrap_or_else(|| auth.user_id().to_string());
    let checked = async {
        auth.require(&[UserRole::Admin, UserRole::Engineer, UserRole::Driver], "importing a session")?;
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
        Ok(team)
    }
    .await;
    let team = match checked {
        Ok(team) => team,
        Err(e) => return Err(drain_then(body, e).await),
    };
    let spooled = spool_body(body).await?;
    let id = driver_id.clone();
    let parsed =
        tokio::task::spawn_blocking(move || parse(spooled.path(), &id)).await.map_err(ApiError::internal)??;
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
        whole_recording: true,
    });
    Ok((
        StatusCode::CREATED,
        Json(ImportResult {
            session_id,
            track: parsed.track,
            car: parsed.car,
            samples,
            laps,
            skipped: parsed.skipped,
            start_date: parsed.start_date.map(|d| d.to_rfc3339()),
        }),
    ))
}
