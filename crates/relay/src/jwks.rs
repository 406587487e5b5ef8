//! Token keys fetched from the cloud: `--jwks-url` (the cloud's `GET /api/auth/jwks`) is read at
//! start and every `refresh` after, and sooner when a token's signature matches no known key
//! (a rotated key). The last good set is kept while the cloud is unreachable, and saved in the
//! data dir so a relay restarted during an outage still knows it. Keys from files and the
//! offline key pair are always trusted besides.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use pitbox_auth::{AuthError, DenyList, Identity, Verifier};
use pitbox_hub::TokenCheck;
use tokio::sync::{Notify, watch};

use crate::state::Shared;

/// Where the keys come from and how often they are read again.
#[derive(Debug, Clone)]
pub struct JwksConfig {
    /// `http(s)://cloud/api/auth/jwks`.
    pub url: String,
    /// Time between two regular fetches (default 5 min).
    pub refresh: Duration,
}

/// Least time between two fetches caused by unknown signatures (a flood of bad tokens must not
/// become a flood of requests to the cloud).
const MIN_ON_DEMAND_GAP: Duration = Duration::from_secs(10);

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("GET {url}: {message}")]
    Fetch { url: String, message: String },
    #[error("{url}: {source}")]
    Document {
        url: String,
        #[source]
        source: AuthError,
    },
}

/// The keys the hub checks tokens with: fixed ones plus the latest JWKS.
pub(crate) struct KeySet {
    base: Verifier,
    current: RwLock<Arc<Verifier>>,
    wake: Notify,
    last_wake: Mutex<Option<Instant>>,
    /// What the cloud revoked ([`crate::revocations`]).
    deny: RwLock<Arc<DenyList>>,
}

impl KeySet {
    pub(crate) fn new(base: Verifier) -> KeySet {
        KeySet {
            current: RwLock::new(Arc::new(base.clone())),
            base,
            wake: Notify::new(),
            last_wake: Mutex::new(None),
            deny: RwLock::new(Arc::default()),
        }
    }

    /// Installs the cloud's revocation list; whether it revokes something the last one did not.
    pub(crate) fn install_deny(&self, list: DenyList) -> bool {
        let mut g = match self.deny.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let more = DenyList::revokes_more_than(&list, &g);
        *g = Arc::new(list);
        more
    }

    /// Why a token is revoked, or `None`.
    pub(crate) fn refusal(&self, user_id: &str, issued_at_ms: u64, token_id: &str) -> Option<&'static str> {
        let g = match self.deny.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.refusal(user_id, issued_at_ms, token_id)
    }

    /// Replaces the fetched part with the keys of a JWKS document. Returns how many it holds.
    pub(crate) fn install(&self, jwks_json: &str) -> Result<usize, AuthError> {
        let mut v = self.base.clone();
        let n = v.add_jwks_json(jwks_json)?;
        let mut g = match self.current.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = Arc::new(v);
        Ok(n)
    }

    fn verifier(&self) -> Arc<Verifier> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

impl TokenCheck for KeySet {
    fn check(&self, token: &str) -> Result<Identity, AuthError> {
        let result = self.verifier().verify(token);
        if matches!(result, Err(AuthError::BadSignature | AuthError::NoKeys)) {
            // Perhaps a key the cloud rotated in: fetch again (rate limited).
            let mut last = match self.last_wake.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            if last.is_none_or(|t| t.elapsed() >= MIN_ON_DEMAND_GAP) {
                *last = Some(Instant::now());
                self.wake.notify_one();
            }
        }
        let who = result?;
        match self.refusal(&who.user_id, who.issued_at_ms, &who.token_id) {
            Some(why) => Err(AuthError::Revoked(why.to_string())),
            None => Ok(who),
        }
    }
}

/// Fetches the JWKS document.
pub(crate) async fn fetch(client: &reqwest::Client, url: &str) -> Result<String, JwksError> {
    let fail = |message: String| JwksError::Fetch { url: url.to_string(), message };
    let resp = client.get(url).send().await.map_err(|e| fail(e.to_string()))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}")));
    }
    resp.text().await.map_err(|e| fail(e.to_string()))
}

/// Fetches and installs once; on success also saves the document to `cache`.
pub(crate) async fn refresh_once(
    keys: &KeySet,
    client: &reqwest::Client,
    url: &str,
    cache: &std::path::Path,
    shared: &Shared,
) -> Result<usize, JwksError> {
    let result = async {
        let doc = fetch(client, url).await?;
        let n = keys.install(&doc).map_err(|source| JwksError::Document { url: url.to_string(), source })?;
        Ok::<_, JwksError>((doc, n))
    }
    .await;
    match result {
        Ok((doc, n)) => {
            shared.metrics.jwks_refreshes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tmp = cache.with_extension("tmp");
            if let Err(e) = std::fs::write(&tmp, doc).and_then(|_| std::fs::rename(&tmp, cache)) {
                tracing::warn!(path = %cache.display(), error = %e, "cannot save the token keys");
            }
            Ok(n)
        }
        Err(e) => {
            shared.metrics.jwks_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err(e)
        }
    }
}

/// Path of the saved copy of the last good JWKS.
pub(crate) fn cache_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("jwks-cache.json")
}

/// The client of the relay's reads from the cloud (token keys, revocations): they are seconds
/// or minutes apart, so no idle connection is kept, and the cloud link's only standing
/// connection is the uplink's WebSocket.
pub(crate) fn http_client() -> Result<reqwest::Client, JwksError> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| JwksError::Fetch { url: String::new(), message: format!("HTTP client: {e}") })
}

/// Keeps the keys fresh until shutdown.
pub(crate) async fn run(
    keys: Arc<KeySet>,
    cfg: JwksConfig,
    client: reqwest::Client,
    cache: PathBuf,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failures = 0u32;
    loop {
        // After a failure, try again sooner (with backoff) rather than a whole period later.
        let wait = if failures == 0 {
            cfg.refresh
        } else {
            crate::uplink::backoff(failures, Duration::from_secs(1), cfg.refresh.min(Duration::from_secs(60)))
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = keys.wake.notified() => {}
            _ = shutdown.changed() => return,
        }
        match refresh_once(&keys, &client, &cfg.url, &cache, &shared).await {
            Ok(n) => {
                failures = 0;
                tracing::debug!(keys = n, "token keys refreshed");
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(error = %e, "cannot refresh the token keys; keeping the last good set");
            }
        }
    }
}
