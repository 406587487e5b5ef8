//! Who may use the local API (docs/driver.md, "Security of the local API").
//!
//! The agent listens on the driver's own PC, where every web page the driver opens can send it
//! requests. So:
//!
//! - **Host:** a request whose `Host` is not `127.0.0.1:PORT`, `localhost:PORT` or `[::1]:PORT` is
//!   refused (403): a web page that points its own name at 127.0.0.1 (DNS rebinding) sends its
//!   own name as the Host.
//! - **Reads** (`GET`, `HEAD`) from such a Host need nothing more, so overlays and SimHub-style
//!   tools keep reading `GET /api/config` and `GET /api/telemetry/current` as the spec has them —
//!   unless they come from a foreign web page (an `Origin` that is not the driver's window:
//!   403; browsers would not let such a page read the answer anyway).
//! - **Writes** (anything else) need either the local API key in the `X-PitBox-Key` header (or
//!   `Authorization: Bearer KEY`; `pitbox driver api-key` prints it) for tools, or the driver's
//!   window: `Origin` exactly `http://HOST` and the window's cookie (`SameSite=Strict`,
//!   `HttpOnly`, set by `GET /`, valid until the agent restarts).
//! - **CORS:** only the window's own origin gets `Access-Control-Allow-Origin` and a preflight
//!   answer; every other preflight is refused.
//! - **Another machine** (only when the agent was bound to a non-loopback address on purpose,
//!   `--api-allow-remote`): every request needs the key, whatever its Host.
//!
//! A refusal is a JSON `{"error": …}` that says what was missing and how to get it; a wrong key
//! is a 401 like a missing one.

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// The header tools send the local API key in.
pub const KEY_HEADER: &str = "x-pitbox-key";
/// The driver's window's cookie.
pub const APP_COOKIE: &str = "pitbox_app";
/// The key's file in the agent's data folder (readable by the user only).
pub const API_KEY_FILE: &str = "api-key";

/// Why a key could not be read, made or kept.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("no randomness for the local API key: {0}")]
    Random(String),
    #[error("{path}: {error}")]
    Io { path: String, error: String },
    #[error(
        "{path} does not hold a local API key (expected 43 to 128 characters A–Z a–z 0–9 - _); delete it and one is made anew"
    )]
    Malformed { path: String },
}

/// The local API key: what tools on the driver's PC send to change the agent's state.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

fn random_token() -> Result<String, ApiKeyError> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiKeyError::Random(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn well_formed(key: &str) -> bool {
    (43..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl ApiKey {
    /// A fresh key (32 random bytes, base64url: 43 characters).
    pub fn generate() -> Result<ApiKey, ApiKeyError> {
        random_token().map(ApiKey)
    }

    /// The key in `dir/api-key`, made (readable by the user only) when there is none yet.
    pub fn load_or_create(dir: &Path) -> Result<ApiKey, ApiKeyError> {
        let path = dir.join(API_KEY_FILE);
        let shown = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let key = text.trim();
                if well_formed(key) { Ok(ApiKey(key.to_string())) } else { Err(ApiKeyError::Malformed { path: shown }) }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ApiKey::create(dir),
            Err(e) => Err(ApiKeyError::Io { path: shown, error: e.to_string() }),
        }
    }

    /// A new key in `dir/api-key`, replacing the old one (tools holding the old key are refused).
    pub fn create(dir: &Path) -> Result<ApiKey, ApiKeyError> {
        let path = dir.join(API_KEY_FILE);
        let io = |e: anyhow::Error| ApiKeyError::Io { path: path.display().to_string(), error: format!("{e:#}") };
        std::fs::create_dir_all(dir).map_err(|e| io(e.into()))?;
        let key = ApiKey::generate()?;
        crate::private::write_private(&path, format!("{}\n", key.0).as_bytes()).map_err(io)?;
        Ok(key)
    }

    /// The key itself (for `pitbox driver api-key` and for tests).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in constant time, so the answer's timing tells nothing about the key.
    fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The rules above, for one agent: its port, key and window secret.
pub(crate) struct Guard {
    port: u16,
    key: ApiKey,
    /// The window cookie's value: random per agent process.
    app_secret: ApiKey,
    /// Requests from other machines are taken (with the key).
    remote_allowed: bool,
}

/// What the guard decided about one request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Serve it; `cors` is the window's origin to allow on the answer.
    Allow {
        cors: Option<String>,
    },
    /// A preflight from the window's origin.
    Preflight {
        origin: String,
    },
    Refuse(StatusCode, String),
}

impl Guard {
    pub(crate) fn new(port: u16, key: ApiKey, remote_allowed: bool) -> Result<Guard, ApiKeyError> {
        Ok(Guard { port, key, app_secret: ApiKey::generate()?, remote_allowed })
    }

    fn local_hosts(&self) -> [String; 3] {
        let p = self.port;
        [format!("127.0.0.1:{p}"), format!("localhost:{p}"), format!("[::1]:{p}")]
    }

    /// The cookie `GET /` sets for the window.
    pub(crate) fn app_cookie(&self) -> String {
        format!("{APP_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", self.app_secret.expose())
    }

    fn given_key(headers: &HeaderMap) -> Option<&str> {
        if let Some(v) = headers.get(KEY_HEADER) {
            return Some(v.to_str().unwrap_or(""));
        }
        let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        auth.strip_prefix("Bearer ").map(str::trim)
    }

    fn has_app_cookie(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| name == APP_COOKIE && self.app_secret.matches(value))
    }

    pub(crate) fn decide(&self, method: &Method, headers: &HeaderMap, peer: Option<SocketAddr>) -> Decision {
        let port = self.port;
        let window = format!("http://127.0.0.1:{port}/");
        let from_here = peer.is_some_and(|p| p.ip().is_loopback());
        let Some(host) = headers.get(header::HOST) else {
            return Decision::Refuse(StatusCode::BAD_REQUEST, "the request has no Host header".into());
        };
        let host = host.to_str().unwrap_or("").to_ascii_lowercase();
        let local_host = self.local_hosts().contains(&host);
        // Another machine (allowed on purpose) may use any Host: it needs the key below.
        let remote_ok = self.remote_allowed && !from_here;
        if !local_host && !remote_ok {
            return Decision::Refuse(
                StatusCode::FORBIDDEN,
                format!(
                    "Host {host:?} is not this agent's address ({}): refused, since a web page can point its own \
                     name at this PC (DNS rebinding); use {window}",
                    self.local_hosts().join(", ")
                ),
            );
        }
        let key_ok = match Self::given_key(headers) {
            Some(k) if self.key.matches(k) => true,
            Some(_) => {
                return Decision::Refuse(
                    StatusCode::UNAUTHORIZED,
                    "the local API key is wrong: `pitbox driver api-key` prints the right one".into(),
                );
            }
            None => false,
        };
        if !from_here && !key_ok {
            return Decision::Refuse(
                StatusCode::UNAUTHORIZED,
                "from another machine every request needs the local API key in the X-PitBox-Key header \
                 (`pitbox driver api-key` prints it on the driver's PC)"
                    .into(),
            );
        }
        let origin = headers.get(header::ORIGIN).map(|o| o.to_str().unwrap_or("").to_string());
        let app_origin = local_host && origin.as_deref() == Some(format!("http://{host}").as_str());
        if let Some(o) = &origin
            && !app_origin
            && !key_ok
        {
            return Decision::Refuse(
                StatusCode::FORBIDDEN,
                format!(
                    "origin {o:?} is not the driver's window ({}): web pages other than the window may not use \
                     the local API",
                    window.trim_end_matches('/')
                ),
            );
        }
        let cors = app_origin.then(|| origin.clone().unwrap_or_default());
        if method == Method::OPTIONS {
            return match cors {
                Some(origin) => Decision::Preflight { origin },
                None => Decision::Refuse(
                    StatusCode::FORBIDDEN,
                    "cross-origin requests are allowed from the driver's window only".into(),
                ),
            };
        }
        if method == Method::GET || method == Method::HEAD || key_ok {
            return Decision::Allow { cors };
        }
        if app_origin {
            return if self.has_app_cookie(headers) {
                Decision::Allow { cors }
            } else {
                Decision::Refuse(
                    StatusCode::FORBIDDEN,
                    format!(
                        "the driver's window session is missing or from before the agent restarted: reload {window}"
                    ),
                )
            };
        }
        Decision::Refuse(
            StatusCode::UNAUTHORIZED,
            format!(
                "changing the agent's state needs the local API key in the X-PitBox-Key header \
                 (`pitbox driver api-key` prints it), or the driver's window at {window}"
            ),
        )
    }
}

fn refusal(code: StatusCode, msg: String) -> Response {
    (code, axum::Json(serde_json::json!({ "error": msg }))).into_response()
}

/// The middleware: applies [`Guard::decide`] to every request of the local API.
pub(crate) async fn guard(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let is_window = req.method() == Method::GET && req.uri().path() == "/";
    match g.decide(req.method(), req.headers(), peer) {
        Decision::Refuse(code, msg) => refusal(code, msg),
        Decision::Preflight { origin } => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NO_CONTENT;
            let h = r.headers_mut();
            if let Ok(o) = HeaderValue::from_str(&origin) {
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
            }
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, PUT, POST, DELETE"));
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type, x-pitbox-key, authorization"),
            );
            h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
            r
        }
        Decision::Allow { cors } => {
            let mut r = next.run(req).await;
            let ok = r.status().is_success();
            let h = r.headers_mut();
            if let Some(o) = cors.and_then(|o| HeaderValue::from_str(&o).ok()) {
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
                h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
            }
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
            if is_window
                && ok
                && let Ok(c) = HeaderValue::from_str(&g.app_cookie())
            {
                h.append(header::SET_COOKIE, c);
            }
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORT: u16 = 8766;

    /// (what, method, headers, peer, the status wanted)
    type Case<'a> = (&'a str, Method, Vec<(&'a str, &'a str)>, Option<SocketAddr>, u16);

    fn guard(remote: bool) -> Guard {
        Guard::new(PORT, ApiKey("k".repeat(43)), remote).unwrap()
    }

    fn here() -> Option<SocketAddr> {
        Some("127.0.0.1:50000".parse().unwrap())
    }

    fn away() -> Option<SocketAddr> {
        Some("192.168.1.20:50000".parse().unwrap())
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn code(d: Decision) -> u16 {
        match d {
            Decision::Allow { .. } | Decision::Preflight { .. } => 200,
            Decision::Refuse(c, _) => c.as_u16(),
        }
    }

    #[test]
    fn the_security_table() {
        let g = guard(false);
        let key = "k".repeat(43);
        let cookie = format!("other=1; {APP_COOKIE}={}", g.app_secret.expose());
        let bearer = format!("Bearer {key}");
        let get = Method::GET;
        let put = Method::PUT;
        let cases: Vec<Case> = vec![
            ("a local read", get.clone(), vec![("host", "127.0.0.1:8766")], here(), 200),
            ("localhost read", get.clone(), vec![("host", "LocalHost:8766")], here(), 200),
            ("IPv6 read", get.clone(), vec![("host", "[::1]:8766")], here(), 200),
            ("no Host", get.clone(), vec![], here(), 400),
            ("rebinding Host", get.clone(), vec![("host", "evil.example:8766")], here(), 403),
            ("another port", get.clone(), vec![("host", "127.0.0.1:80")], here(), 403),
            (
                "a foreign page reads",
                get.clone(),
                vec![("host", "127.0.0.1:8766"), ("origin", "https://evil.example")],
                here(),
                403,
            ),
            ("a file page reads", get.clone(), vec![("host", "127.0.0.1:8766"), ("origin", "null")], here(), 403),
            (
                "the window reads",
                get.clone(),
                vec![("host", "127.0.0.1:8766"), ("origin", "http://127.0.0.1:8766")],
                here(),
                200,
            ),
            ("a write without key", put.clone(), vec![("host", "127.0.0.1:8766")], here(), 401),
            (
                "a write with a wrong key",
                put.clone(),
                vec![("host", "127.0.0.1:8766"), (KEY_HEADER, "nope")],
                here(),
                401,
            ),
            ("a write with the key", put.clone(), vec![("host", "127.0.0.1:8766"), (KEY_HEADER, &key)], here(), 200),
            (
                "a write with a bearer key",
                Method::POST,
                vec![("host", "localhost:8766"), ("authorization", &bearer)],
                here(),
                200,
            ),
            (
                "a foreign page writes",
                put.clone(),
                vec![("host", "127.0.0.1:8766"), ("origin", "https://evil.example")],
                here(),
                403,
            ),
            (
                "a foreign page writes with the cookie",
                put.clone(),
                vec![("host", "127.0.0.1:8766"), ("origin", "https://evil.example"), ("cookie", &cookie)],
                here(),
                403,
            ),
            (
                "the window writes without its cookie",
                put.clone(),
                vec![("host", "127.0.0.1:8766"), ("origin", "http://127.0.0.1:8766")],
                here(),
                403,
            ),
            (
                "the window writes with an old cookie",
                put.clone(),
                vec![("host", "127.0.0.1:8766"), ("origin", "http://127.0.0.1:8766"), ("cookie", "pitbox_app=old")],
                here(),
                403,
            ),
            (
                "the window writes",
                put.clone(),
                vec![("host", "127.0.0.1:8766"), ("origin", "http://127.0.0.1:8766"), ("cookie", &cookie)],
                here(),
                200,
            ),
            (
                "the window under another local name",
                put.clone(),
                vec![("host", "localhost:8766"), ("origin", "http://127.0.0.1:8766"), ("cookie", &cookie)],
                here(),
                403,
            ),
            (
                "the window's preflight",
                Method::OPTIONS,
                vec![("host", "127.0.0.1:8766"), ("origin", "http://127.0.0.1:8766")],
                here(),
                200,
            ),
            (
                "a foreign preflight",
                Method::OPTIONS,
                vec![("host", "127.0.0.1:8766"), ("origin", "https://evil.example")],
                here(),
                403,
            ),
            (
                "another machine, not allowed",
                get.clone(),
                vec![("host", "192.168.1.10:8766"), (KEY_HEADER, &key)],
                away(),
                403,
            ),
            ("no peer address is not local", get.clone(), vec![("host", "127.0.0.1:8766")], None, 401),
        ];
        for (what, method, h, peer, want) in cases {
            assert_eq!(code(g.decide(&method, &headers(&h), peer)), want, "{what}");
        }
        let remote = guard(true);
        let cases: Vec<Case> = vec![
            ("another machine reads without key", get.clone(), vec![("host", "192.168.1.10:8766")], away(), 401),
            (
                "another machine reads with the key",
                get.clone(),
                vec![("host", "192.168.1.10:8766"), (KEY_HEADER, &key)],
                away(),
                200,
            ),
            (
                "another machine writes with the key",
                put.clone(),
                vec![("host", "192.168.1.10:8766"), (KEY_HEADER, &key)],
                away(),
                200,
            ),
            ("this PC still checks Host", get.clone(), vec![("host", "evil.example:8766")], here(), 403),
        ];
        for (what, method, h, peer, want) in cases {
            assert_eq!(code(remote.decide(&method, &headers(&h), peer)), want, "{what}");
        }
    }

    #[test]
    fn refusals_say_what_to_do() {
        let g = guard(false);
        let Decision::Refuse(_, msg) = g.decide(&Method::PUT, &headers(&[("host", "127.0.0.1:8766")]), here()) else {
            panic!("refused");
        };
        assert!(msg.contains("pitbox driver api-key") && msg.contains("X-PitBox-Key"), "{msg}");
        let Decision::Refuse(_, msg) = g.decide(&Method::GET, &headers(&[("host", "evil.example")]), here()) else {
            panic!("refused");
        };
        assert!(msg.contains("DNS rebinding") && msg.contains("127.0.0.1:8766"), "{msg}");
    }

    #[test]
    fn a_key_is_kept_in_the_data_folder_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let a = ApiKey::load_or_create(dir.path()).unwrap();
        assert_eq!(a.expose().len(), 43);
        let b = ApiKey::load_or_create(dir.path()).unwrap();
        assert_eq!(a, b, "the same key on the next start");
        let c = ApiKey::create(dir.path()).unwrap();
        assert_ne!(a, c, "a new key replaces the old");
        std::fs::write(dir.path().join(API_KEY_FILE), "short").unwrap();
        let e = ApiKey::load_or_create(dir.path()).unwrap_err().to_string();
        assert!(e.contains("does not hold a local API key"), "{e}");
        assert_eq!(format!("{c:?}"), "ApiKey(…)", "never in logs");
    }
}
