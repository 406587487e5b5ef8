//! A machine's sign-in (`pitbox driver login`, `pitbox relay login`) and the renewal of its
//! access credential, so a race of any length never stops for a token.
//!
//! The sign-in is kept in `login.json` in the machine's data folder ([`StoredLogin`]): the
//! cloud's address, who signed in, the refresh token (the cloud rotates it on every use) and
//! the access credential in use (so a restart while the cloud is away still connects to the
//! relay). The file is the user's alone and replaced atomically on every rotation
//! ([`crate::private_fs::write_private_atomic`] or the caller's own private writer).
//!
//! [`start_renewal`] keeps the credential fresh: at 2/3 of its lifetime it trades the refresh
//! token for a new access token (`POST /api/auth/refresh`) and, for a relay, that access token
//! for a new relay credential (`POST /api/relays/token`, same relay id, as long-lived as an
//! access token). An unreachable cloud is retried with backoff (1 s doubling to 30 s, with
//! jitter) while the old credential still works; a refusal (revoked, reused, expired, account
//! disabled) is an error state in [`RenewalStatus`] and the log, and renewal waits for a new
//! sign-in in the file.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The sign-in file's name in a data folder.
pub const LOGIN_FILE: &str = "login.json";

/// What `login.json` holds.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredLogin {
    /// The cloud's HTTP address, e.g. `https://pitbox.example.com`.
    pub cloud: String,
    pub username: String,
    /// The account's user id (a driver's id on the wire).
    pub user_id: String,
    /// `driver`, `engineer` or `admin`.
    pub role: String,
    /// The current refresh token (single use: rotated on every renewal).
    pub refresh_token: String,
    /// The access credential in use: a driver's access token, or a relay's credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// A relay's id at the cloud (kept across renewals: one relay in `GET /api/relays`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_id: Option<String>,
    /// A relay's name, for the cloud's logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_name: Option<String>,
}

impl std::fmt::Debug for StoredLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredLogin")
            .field("cloud", &self.cloud)
            .field("username", &self.username)
            .field("user_id", &self.user_id)
            .field("role", &self.role)
            .field("relay_id", &self.relay_id)
            .finish_non_exhaustive()
    }
}

impl StoredLogin {
    /// The file's text.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Reads `path`; `Ok(None)` when there is no such file.
    pub fn load(path: &Path) -> Result<Option<StoredLogin>, LoginError> {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LoginError::File { path: path.to_path_buf(), reason: e.to_string() }),
        };
        serde_json::from_slice(&text).map(Some).map_err(|e| LoginError::File {
            path: path.to_path_buf(),
            reason: format!("not a PitBox sign-in ({e}); sign in again with `login`"),
        })
    }
}

/// Why signing in or renewing failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// No answer (network, timeout, a 5xx): worth retrying.
    #[error("cannot reach the cloud at {cloud}: {reason}")]
    Unreachable { cloud: String, reason: String },
    /// The cloud said no: retrying the same request will not help.
    #[error("the cloud refused ({status}): {message} ({code})")]
    Refused { status: u16, code: String, message: String },
    /// The answer is not what a PitBox cloud says, or an address is unusable.
    #[error("{0}")]
    Invalid(String),
    /// The sign-in file could not be read or written.
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    /// The username or password is wrong.
    #[error("the cloud refused the login: wrong username or password")]
    WrongPassword,
    /// The account may not sign this machine in; `who_may` says who may.
    #[error("{username} is a PitBox {role}: {who_may}")]
    WrongRole { username: String, role: String, who_may: String },
}

impl LoginError {
    /// The cloud refused (as opposed to could not be reached).
    pub fn is_refusal(&self) -> bool {
        matches!(self, LoginError::Refused { .. })
    }
}

/// The registered claims of a JWT, read without checking the signature (whoever sends it on
/// checks it): (`iat`, `exp`) in seconds since the Unix epoch.
pub fn token_times(token: &str) -> Option<(u64, u64)> {
    #[derive(Deserialize)]
    struct Times {
        #[serde(default)]
        iat: u64,
        exp: u64,
    }
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let t: Times = serde_json::from_slice(&bytes).ok()?;
    Some((t.iat, t.exp))
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// How long from `now` until a token issued at `iat` that expires at `exp` is renewed: at 2/3
/// of its lifetime (zero when that is past).
pub fn renew_in(iat: u64, exp: u64, now: u64) -> Duration {
    let life = exp.saturating_sub(iat);
    let at = iat.saturating_add(life * 2 / 3);
    Duration::from_secs(at.saturating_sub(now))
}

/// Whether a stored credential can still be used at start (more than 5 s left).
pub fn usable(token: &str, now: u64) -> bool {
    token_times(token).is_some_and(|(_, exp)| exp > now + 5)
}

/// The wait before renewal attempt `attempt` (1-based) after the cloud could not be reached:
/// 1 s doubling to 30 s, plus up to a quarter of jitter.
#[cfg(feature = "login")]
pub fn retry_delay(attempt: u32) -> Duration {
    let base = Duration::from_secs(1u64 << attempt.saturating_sub(1).min(5)).min(Duration::from_secs(30));
    base + base.mul_f64(fastrand::f64() * 0.25)
}

#[cfg(feature = "login")]
pub use client::*;

#[cfg(feature = "login")]
mod client {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::sync::watch;

    /// The user in a login answer.
    #[derive(Debug, Clone, Deserialize)]
    pub struct LoginUser {
        pub id: String,
        pub username: String,
        pub role: String,
    }

    /// `POST /api/auth/login` and `POST /api/auth/refresh` answer this.
    #[derive(Clone, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct LoginAnswer {
        pub token: String,
        #[serde(default)]
        pub refresh_token: Option<String>,
        #[serde(default)]
        pub expires_in: Option<u64>,
        pub user: LoginUser,
    }

    impl std::fmt::Debug for LoginAnswer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("LoginAnswer").field("user", &self.user).finish_non_exhaustive()
        }
    }

    /// `POST /api/relays/token` answers this.
    #[derive(Clone, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RelayCredential {
        pub token: String,
        pub relay_id: String,
        pub team_id: String,
        pub expires_at: u64,
    }

    #[derive(Deserialize)]
    struct ApiError {
        error: ApiErrorBody,
    }

    #[derive(Deserialize)]
    struct ApiErrorBody {
        code: String,
        message: String,
    }

    /// The few cloud endpoints a machine signs in with.
    #[derive(Debug, Clone)]
    pub struct CloudClient {
        base: String,
        http: reqwest::Client,
    }

    impl CloudClient {
        /// A client for the cloud at `base` (`http(s)://host[:port]`).
        pub fn new(base: &str) -> Result<CloudClient, LoginError> {
            let base = base.trim().trim_end_matches('/').to_string();
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err(LoginError::Invalid(format!(
                    "cloud address `{base}`: expected http://HOST[:PORT] or https://HOST[:PORT]"
                )));
            }
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .map_err(|e| LoginError::Invalid(format!("setting up the HTTP client: {e}")))?;
            Ok(CloudClient { base, http })
        }

        /// The cloud's address.
        pub fn base(&self) -> &str {
            &self.base
        }

        async fn post<T: serde::de::DeserializeOwned>(
            &self,
            path: &str,
            bearer: Option<&str>,
            body: serde_json::Value,
        ) -> Result<T, LoginError> {
            let url = format!("{}{path}", self.base);
            let mut req = self.http.post(&url).header("content-type", "application/json").body(body.to_string());
            if let Some(b) = bearer {
                req = req.header("authorization", format!("Bearer {b}"));
            }
            let unreachable = |reason: String| LoginError::Unreachable { cloud: self.base.clone(), reason };
            let resp = req.send().await.map_err(|e| unreachable(e.without_url().to_string()))?;
            let status = resp.status();
            let bytes = resp.bytes().await.map_err(|e| unreachable(e.without_url().to_string()))?;
            if status.is_success() {
                return serde_json::from_slice(&bytes)
                    .map_err(|_| LoginError::Invalid(format!("{url} answered something that is not PitBox's")));
            }
            if status.is_server_error() || status.as_u16() == 429 {
                return Err(unreachable(format!("{url} answered {status}")));
            }
            match serde_json::from_slice::<ApiError>(&bytes) {
                Ok(e) => {
                    Err(LoginError::Refused { status: status.as_u16(), code: e.error.code, message: e.error.message })
                }
                Err(_) => Err(LoginError::Invalid(format!("{url} answered {status}: is this a PitBox cloud?"))),
            }
        }

        /// `POST /api/auth/login`.
        pub async fn login(&self, username: &str, password: &str) -> Result<LoginAnswer, LoginError> {
            let body = serde_json::json!({ "username": username, "password": password });
            self.post("/api/auth/login", None, body).await
        }

        /// Signs a machine in: the login answer and its refresh token, only for an account
        /// whose role is one of `roles` (`who_may` says who may, in the refusal).
        pub async fn sign_in(
            &self,
            username: &str,
            password: &str,
            roles: &[&str],
            who_may: &str,
        ) -> Result<(LoginAnswer, String), LoginError> {
            let who = match self.login(username, password).await {
                Ok(w) => w,
                Err(LoginError::Refused { code, .. }) if code == "invalid_credentials" => {
                    return Err(LoginError::WrongPassword);
                }
                Err(e) => return Err(e),
            };
            if !roles.contains(&who.user.role.as_str()) {
                return Err(LoginError::WrongRole {
                    username: who.user.username,
                    role: who.user.role,
                    who_may: who_may.to_string(),
                });
            }
            let refresh = who.refresh_token.clone().ok_or_else(|| {
                LoginError::Invalid(
                    "the cloud's login answer has no refresh token: is it an older PitBox cloud?".into(),
                )
            })?;
            Ok((who, refresh))
        }

        /// `POST /api/auth/refresh`: a new access token and the next refresh token.
        pub async fn refresh(&self, refresh_token: &str) -> Result<LoginAnswer, LoginError> {
            let body = serde_json::json!({ "refreshToken": refresh_token });
            self.post("/api/auth/refresh", None, body).await
        }

        /// `POST /api/relays/token` with a user's access token: a relay credential for the
        /// user's team, valid `ttl_secs`, for relay `relay_id` (a new id when `None`).
        pub async fn relay_credential(
            &self,
            access_token: &str,
            name: &str,
            relay_id: Option<&str>,
            ttl_secs: u64,
        ) -> Result<RelayCredential, LoginError> {
            let mut body = serde_json::json!({ "name": name, "ttlSeconds": ttl_secs });
            if let Some(id) = relay_id {
                body["relayId"] = serde_json::Value::String(id.to_string());
            }
            self.post("/api/relays/token", Some(access_token), body).await
        }
    }

    /// What the renewal keeps fresh.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum CredentialKind {
        /// The signed-in user's own access token (the driver agent).
        User,
        /// A relay credential issued with the user's access token (the relay).
        Relay,
    }

    /// The renewal's state, for `/api/status` and `/health`.
    #[derive(Debug, Clone, Serialize, PartialEq, Eq)]
    #[serde(rename_all = "camelCase")]
    pub struct RenewalSnapshot {
        /// `ok`; `waiting` (no usable credential: the first renewal is under way, or the cloud
        /// has been unreachable since the last one expired);
        /// `retrying` (the cloud could not be reached; the credential in use still works until
        /// `expiresAt`); `refused` (the cloud refused the sign-in: sign in again).
        pub state: &'static str,
        pub username: String,
        pub user_id: String,
        /// Renewals done since the start.
        pub renewals: u64,
        /// When the credential in use expires (seconds since the Unix epoch; 0: none).
        pub expires_at: u64,
        /// When the next renewal is due (seconds since the Unix epoch; 0: not scheduled).
        pub renew_at: u64,
        /// The last failure, in words.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub last_error: Option<String>,
    }

    /// Shared view of the renewal.
    #[derive(Debug)]
    pub struct RenewalStatus(Mutex<RenewalSnapshot>);

    impl RenewalStatus {
        fn update(&self, f: impl FnOnce(&mut RenewalSnapshot)) {
            let mut g = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut g);
        }

        /// A copy of the state now.
        pub fn snapshot(&self) -> RenewalSnapshot {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
        }
    }

    /// Saves the sign-in file (the caller's private writer: an owner-only ACL on Windows).
    pub type SaveFn = Arc<dyn Fn(&Path, &[u8]) -> std::io::Result<()> + Send + Sync>;

    /// A running renewal: the credential to connect with (`None` until the first one is in)
    /// and the state.
    #[derive(Debug, Clone)]
    pub struct Renewal {
        pub tokens: watch::Receiver<Option<String>>,
        pub status: Arc<RenewalStatus>,
    }

    /// Renewal settings.
    #[derive(Clone)]
    pub struct RenewalConfig {
        /// The sign-in file (re-read after a refusal, to pick up a new sign-in).
        pub path: PathBuf,
        pub kind: CredentialKind,
        pub save: SaveFn,
        /// How often the file is re-read after a refusal.
        pub reread_every: Duration,
    }

    /// Starts keeping `login`'s credential fresh (a task on the current runtime; it ends when
    /// every [`Renewal::tokens`] receiver is dropped).
    pub fn start_renewal(login: StoredLogin, cfg: RenewalConfig) -> Renewal {
        let now = now_secs();
        let first = login.access_token.clone().filter(|t| usable(t, now));
        let expires_at = first.as_deref().and_then(token_times).map_or(0, |(_, e)| e);
        let status = Arc::new(RenewalStatus(Mutex::new(RenewalSnapshot {
            state: if first.is_some() { "ok" } else { "waiting" },
            username: login.username.clone(),
            user_id: login.user_id.clone(),
            renewals: 0,
            expires_at,
            renew_at: 0,
            last_error: None,
        })));
        let (tx, rx) = watch::channel(first);
        tokio::spawn(renewal_loop(login, cfg, tx, status.clone()));
        Renewal { tokens: rx, status }
    }

    /// Trades the refresh token for a fresh credential; saves the rotated refresh token at once.
    async fn renew_once(
        client: &CloudClient,
        login: &mut StoredLogin,
        cfg: &RenewalConfig,
    ) -> Result<String, LoginError> {
        let answer = client.refresh(&login.refresh_token).await?;
        let Some(next) = answer.refresh_token.clone() else {
            return Err(LoginError::Invalid("the cloud's refresh answer has no refresh token".into()));
        };
        // The old refresh token is spent now: keep the new one before anything else can fail.
        login.refresh_token = next;
        let token = match cfg.kind {
            CredentialKind::User => answer.token,
            CredentialKind::Relay => {
                save(cfg, login);
                let ttl = answer
                    .expires_in
                    .or_else(|| token_times(&answer.token).map(|(i, e)| e.saturating_sub(i)))
                    .unwrap_or(24 * 3600);
                let name = login.relay_name.clone().unwrap_or_else(|| "relay".into());
                let cred = client.relay_credential(&answer.token, &name, login.relay_id.as_deref(), ttl).await?;
                login.relay_id = Some(cred.relay_id);
                cred.token
            }
        };
        login.access_token = Some(token.clone());
        save(cfg, login);
        Ok(token)
    }

    fn save(cfg: &RenewalConfig, login: &StoredLogin) {
        if let Err(e) = (cfg.save)(&cfg.path, &login.to_json()) {
            // The new refresh token is still in memory: renewal goes on, but a restart would
            // find a spent one in the file.
            tracing::error!(
                path = %cfg.path.display(),
                error = %e,
                "cannot save the rotated sign-in: renewal goes on, but after a restart sign in again with `login`"
            );
        }
    }

    async fn renewal_loop(
        mut login: StoredLogin,
        cfg: RenewalConfig,
        tx: watch::Sender<Option<String>>,
        status: Arc<RenewalStatus>,
    ) {
        let client = match CloudClient::new(&login.cloud) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "the sign-in names no usable cloud: sign in again with `login`");
                status.update(|s| {
                    s.state = "refused";
                    s.last_error = Some(e.to_string());
                });
                return;
            }
        };
        loop {
            let current = tx.borrow().clone();
            let wait = current
                .as_deref()
                .and_then(token_times)
                .map_or(Duration::ZERO, |(iat, exp)| renew_in(iat, exp, now_secs()));
            status.update(|s| s.renew_at = now_secs() + wait.as_secs());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = tx.closed() => return,
            }
            let mut attempt = 0u32;
            loop {
                match renew_once(&client, &mut login, &cfg).await {
                    Ok(token) => {
                        let exp = token_times(&token).map_or(0, |(_, e)| e);
                        status.update(|s| {
                            s.state = "ok";
                            s.renewals += 1;
                            s.expires_at = exp;
                            s.last_error = None;
                        });
                        tracing::info!(user = %login.username, expires_at = exp, "access credential renewed");
                        if tx.send(Some(token)).is_err() {
                            return;
                        }
                        break;
                    }
                    Err(e) if e.is_refusal() => {
                        tracing::error!(
                            user = %login.username,
                            error = %e,
                            "the cloud refused to renew this machine's sign-in: sign in again with `login` \
                             (the credential in use works until it expires)"
                        );
                        status.update(|s| {
                            s.state = "refused";
                            s.last_error = Some(e.to_string());
                        });
                        // A refused sign-in stays refused: wait for a new one in the file.
                        let spent = login.refresh_token.clone();
                        loop {
                            tokio::select! {
                                _ = tokio::time::sleep(cfg.reread_every) => {}
                                _ = tx.closed() => return,
                            }
                            if let Ok(Some(fresh)) = StoredLogin::load(&cfg.path)
                                && fresh.refresh_token != spent
                            {
                                tracing::info!(user = %fresh.username, "a new sign-in was saved: renewing with it");
                                login = fresh;
                                break;
                            }
                        }
                        attempt = 0;
                    }
                    Err(e) => {
                        attempt += 1;
                        let delay = retry_delay(attempt);
                        if attempt == 1 || attempt.is_multiple_of(10) {
                            tracing::warn!(
                                error = %e,
                                attempt,
                                retry_in = ?delay,
                                "cannot renew the access credential now; retrying (the one in use still works until it expires)"
                            );
                        }
                        status.update(|s| {
                            s.state = if s.expires_at > now_secs() { "retrying" } else { "waiting" };
                            s.last_error = Some(e.to_string());
                        });
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            _ = tx.closed() => return,
                        }
                    }
                }
            }
        }
    }

    /// While alive, what is typed on the terminal is not echoed (password prompts). Does
    /// nothing when the input is not a terminal (a pipe in tests and scripts).
    pub struct HiddenInput {
        #[cfg(windows)]
        restore: Option<(windows_sys::Win32::Foundation::HANDLE, u32)>,
        #[cfg(unix)]
        restore: bool,
    }

    impl HiddenInput {
        #[cfg(windows)]
        pub fn new() -> HiddenInput {
            use windows_sys::Win32::System::Console::{
                ENABLE_ECHO_INPUT, GetConsoleMode, GetStdHandle, STD_INPUT_HANDLE, SetConsoleMode,
            };
            // SAFETY: console calls on the process's own input handle; failure means "not a console".
            unsafe {
                let h = GetStdHandle(STD_INPUT_HANDLE);
                let mut mode = 0u32;
                if !h.is_null()
                    && GetConsoleMode(h, &mut mode) != 0
                    && SetConsoleMode(h, mode & !ENABLE_ECHO_INPUT) != 0
                {
                    return HiddenInput { restore: Some((h, mode)) };
                }
            }
            HiddenInput { restore: None }
        }

        #[cfg(unix)]
        pub fn new() -> HiddenInput {
            use std::io::IsTerminal;
            let tty = std::io::stdin().is_terminal();
            let ok = tty
                && std::process::Command::new("stty")
                    .arg("-echo")
                    .stdin(std::process::Stdio::inherit())
                    .status()
                    .is_ok_and(|s| s.success());
            HiddenInput { restore: ok }
        }

        #[cfg(not(any(unix, windows)))]
        pub fn new() -> HiddenInput {
            HiddenInput {}
        }
    }

    impl Default for HiddenInput {
        fn default() -> Self {
            HiddenInput::new()
        }
    }

    impl Drop for HiddenInput {
        fn drop(&mut self) {
            #[cfg(windows)]
            if let Some((h, mode)) = self.restore {
                // SAFETY: restores the mode read in `new` on the same handle.
                unsafe {
                    windows_sys::Win32::System::Console::SetConsoleMode(h, mode);
                }
            }
            #[cfg(unix)]
            if self.restore {
                let _ = std::process::Command::new("stty").arg("echo").stdin(std::process::Stdio::inherit()).status();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_due_at_two_thirds_of_the_lifetime() {
        assert_eq!(renew_in(1000, 1060, 1000), Duration::from_secs(40));
        assert_eq!(renew_in(1000, 1060, 1030), Duration::from_secs(10));
        assert_eq!(renew_in(1000, 1060, 1100), Duration::ZERO, "overdue: at once");
        assert_eq!(renew_in(0, 24 * 3600, 0), Duration::from_secs(16 * 3600));
    }

    #[test]
    fn the_file_round_trips_and_its_debug_hides_the_secrets() {
        let l = StoredLogin {
            cloud: "http://c".into(),
            username: "ana".into(),
            user_id: "usr-1".into(),
            role: "driver".into(),
            refresh_token: "r-secret".into(),
            access_token: Some("a-secret".into()),
            relay_id: None,
            relay_name: None,
        };
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join(LOGIN_FILE);
        assert_eq!(StoredLogin::load(&p).expect("absent"), None);
        std::fs::write(&p, l.to_json()).expect("write");
        assert_eq!(StoredLogin::load(&p).expect("read"), Some(l.clone()));
        let dbg = format!("{l:?}");
        assert!(!dbg.contains("secret"), "{dbg}");
        std::fs::write(&p, b"{").expect("write");
        assert!(StoredLogin::load(&p).unwrap_err().to_string().contains("sign in again"));
    }

    #[test]
    fn times_come_from_the_token() {
        use base64::Engine;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let t = format!("{}.{}.sig", e.encode("{}"), e.encode(r#"{"sub":"u","iat":100,"exp":160}"#));
        assert_eq!(token_times(&t), Some((100, 160)));
        assert!(usable(&t, 150) && !usable(&t, 156));
        assert_eq!(token_times("opaque"), None);
    }
}
