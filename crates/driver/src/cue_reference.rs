//! The pit wall's choice of reference lap for this driver's cues (issue 25 §5), loaded from the
//! cloud: the agent asks `GET /api/drivers/{id}/cue-reference` when it starts and whenever its
//! relay link comes back (a choice made while it was away is not lost), and follows each
//! `cue_reference` message. The lap itself comes from `GET /api/laps/{id}/reference` as the
//! coaching engine's `Reference` and goes to the cue thread ([`CuePinner`]), which refuses a lap
//! of another track.

use std::time::Duration;

use pitbox_coach::Reference;
use pitbox_model::coaching::CueReference;
use tokio::sync::{mpsc, watch};

use crate::voice::{CuePin, CuePinner};

/// Largest reference accepted, bytes (a 25 km track on a 1 m grid is about 5 MB of JSON).
const MAX_REFERENCE_BYTES: usize = 16 * 1024 * 1024;
/// Longest wait for one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Retries of the start-up question while the cloud is away: from this, doubling, to a minute.
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// What the loader is told.
#[derive(Debug, Clone)]
pub enum CueChoice {
    /// A `cue_reference` message for this driver.
    Message(CueReference),
    /// Ask the cloud for the choice in force (the relay link is back).
    Refresh,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("not signed in: no token to ask the cloud with")]
    NoToken,
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("the cloud answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the reference is larger than {MAX_REFERENCE_BYTES} bytes")]
    TooLarge,
    #[error("the cloud's answer is not a reference: {0}")]
    Json(#[from] serde_json::Error),
}

struct Loader {
    http: reqwest::Client,
    base: String,
    driver_id: String,
    tokens: watch::Receiver<Option<String>>,
    pins: CuePinner,
}

impl Loader {
    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, LoadError> {
        let token = self.tokens.borrow().clone().ok_or(LoadError::NoToken)?;
        let resp =
            self.http.get(format!("{}{path}", self.base)).bearer_auth(token).timeout(REQUEST_TIMEOUT).send().await?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND && path.ends_with("/cue-reference") {
            return Ok(None);
        }
        if resp.content_length().is_some_and(|n| n > MAX_REFERENCE_BYTES as u64) {
            return Err(LoadError::TooLarge);
        }
        let body = resp.bytes().await?;
        if body.len() > MAX_REFERENCE_BYTES {
            return Err(LoadError::TooLarge);
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            return Err(LoadError::Status { status: status.as_u16(), body: text });
        }
        Ok(Some(body.to_vec()))
    }

    /// The choice in force, `None` when the driver's own best lap is.
    async fn current(&self) -> Result<Option<CueReference>, LoadError> {
        let path = format!("/api/drivers/{}/cue-reference", self.driver_id);
        match self.get(&path).await? {
            Some(b) => Ok(Some(serde_json::from_slice(&b)?)),
            None => Ok(None),
        }
    }

    /// Loads `c`'s lap (or goes back to the driver's own laps) and hands it to the cue thread;
    /// false when the lap could not be loaded (asked again later).
    async fn apply(&self, c: &CueReference) -> bool {
        let pin = match &c.lap_id {
            None => CuePin::Clear,
            Some(id) => match self.get(&format!("/api/laps/{id}/reference")).await {
                Ok(Some(b)) => match serde_json::from_slice::<Reference>(&b) {
                    Ok(r) => CuePin::Set(Box::new(r)),
                    Err(e) => CuePin::Failed(format!("lap {id}: {}", LoadError::Json(e))),
                },
                Ok(None) => CuePin::Failed(format!("lap {id}: not found")),
                Err(e) => CuePin::Failed(format!("lap {id} could not be loaded: {e}")),
            },
        };
        let loaded = !matches!(pin, CuePin::Failed(_));
        if let CuePin::Failed(why) = &pin {
            tracing::warn!("the pit wall's cue reference: {why}");
        }
        self.pins.send(pin);
        loaded
    }
}

/// Runs until `shutdown`: loads the choice in force, then follows `choices`.
pub async fn run(
    base: String,
    driver_id: String,
    tokens: watch::Receiver<Option<String>>,
    pins: CuePinner,
    mut choices: mpsc::UnboundedReceiver<CueChoice>,
    mut shutdown: watch::Receiver<bool>,
) {
    let http = match reqwest::Client::builder().build() {
        Ok(h) => h,
        Err(e) => {
            pins.send(CuePin::Failed(format!("no HTTP client for the cloud: {e}")));
            return;
        }
    };
    let loader = Loader { http, base: base.trim_end_matches('/').to_string(), driver_id, tokens, pins };
    let mut want_current = true;
    let mut retry = RETRY_FIRST;
    // The lap last handed to the cue thread (`None`: the driver's own laps).
    let mut applied: Option<String> = None;
    loop {
        if want_current {
            match loader.current().await {
                Ok(c) => {
                    want_current = false;
                    let lap = c.as_ref().and_then(|c| c.lap_id.clone());
                    // Unchanged while the link was away: nothing to reload.
                    if lap != applied {
                        let c = c.unwrap_or_else(|| CueReference {
                            driver_id: loader.driver_id.clone(),
                            lap_id: None,
                            name: None,
                            lap_time_s: None,
                            set_by: String::new(),
                            timestamp: chrono::Utc::now(),
                        });
                        if loader.apply(&c).await {
                            applied = lap;
                            retry = RETRY_FIRST;
                        } else {
                            // The lap could not be loaded (the cloud away): ask again.
                            want_current = true;
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "the pit wall's cue reference not read yet"),
            }
        }
        tokio::select! {
            m = choices.recv() => match m {
                Some(CueChoice::Message(c)) => {
                    if loader.apply(&c).await {
                        want_current = false;
                        applied = c.lap_id;
                    } else {
                        want_current = true;
                    }
                }
                Some(CueChoice::Refresh) => want_current = true,
                None => return,
            },
            _ = tokio::time::sleep(retry), if want_current => retry = (retry * 2).min(RETRY_MAX),
            _ = shutdown.changed() => return,
        }
    }
}
