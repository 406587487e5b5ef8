//! `POST /api/sessions/import`: an uploaded iRacing `.ibt` file becomes a session with laps,
//! through `pitbox-irsdk` (file parsing and the SDK → wire-model unit mapping).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use pitbox_irsdk::IbtFile;
use pitbox_irsdk::import::{ImportError, ImportLimits, ImportedSamples, read_samples};
use pitbox_model::UserRole;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Query};
use crate::server::AppState;

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

fn parse(path: &std::path::Path, driver_id: &str) -> Result<ImportedSamples, ApiError> {
    let file =
        IbtFile::open(path).map_err(|e| ApiError::validation("body", format!("not a readable .ibt file: {e}")))?;
    read_samples(&file, driver_id, ImportLimits::new(chrono::Utc::now())).map_err(|e| match e {
        ImportError::TooManySamples { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", e.to_string())
        }
        other => ApiError::validation("body", other.to_string()),
    })
}

/// Imports the request body as an `.ibt` file.
pub async fn import_session(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<ImportQuery>,
    body: Body,
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
    let spooled = spool_body(body).await?;
    let id = driver_id.clone();
    let parsed =
        tokio::task::spawn_blocking(move || parse(spooled.path(), &id)).await.map_err(ApiError::internal)??;
    let laps: std::collections::BTreeSet<u32> = parsed.samples.iter().map(|s| s.lap).collect();
    let session_id =
        crate::telemetry::import_session(&st.store, &team, &driver_id, &parsed.track, &parsed.car, &parsed.samples)
            .await?;
    let samples = parsed.samples.len();
    // Imported laps are coached like live ones: one `ai_coaching` message per completed lap.
    st.coaching.feed(crate::coaching::LapFeed {
        team_id: team,
        driver_id,
        session_id: session_id.clone(),
        samples: parsed.samples,
    });
    Ok((
        StatusCode::CREATED,
        Json(ImportResult {
            session_id,
            track: parsed.track,
            car: parsed.car,
            samples,
            laps: laps.len(),
            skipped: parsed.skipped,
            start_date: parsed.start_date.map(|d| d.to_rfc3339()),
        }),
    ))
}
