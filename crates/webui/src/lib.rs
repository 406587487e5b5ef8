//! `pitbox-webui` owns the web dashboard's delivery: the files of `dashboard/dist` (built by
//! `scripts/build-dashboard`) embedded into the binary with rust-embed, and an axum [`Router`]
//! that serves them with the right content types, caching and a single-page-app fallback, for
//! `pitbox cloud` and `pitbox relay` to mount.
//!
//! It owns no API and no WebSocket: requests under `/api/` and `/ws` are never answered with the
//! app shell, so a mistyped API route gets a plain 404 instead of HTML.
//!
//! ```no_run
//! # async fn run() {
//! let app: axum::Router = axum::Router::new()
//!     // .route("/api/…", …) and .route("/ws", …) of the server itself
//!     .merge(pitbox_webui::router());
//! # let _ = app;
//! # }
//! ```
//!
//! When the dashboard was not built, `build.rs` embeds a placeholder page that says
//! "dashboard not built: run scripts/build-dashboard" ([`is_placeholder`] tells).

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "../../dashboard/dist"]
struct Assets;

/// Cache policy for files whose names carry a content hash (Vite's `assets/` folder).
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy for everything else (the app shell must always be revalidated).
pub const REVALIDATE: &str = "no-cache";

/// What the dashboard reads from `GET /dashboard-config.json` to find its server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DashboardConfig {
    /// Path of the WebSocket endpoint on the same origin: `/ws` for the cloud, `/` for the relay.
    pub ws_path: String,
    /// Whether the server has the REST API (`/api/auth/login`, sessions, laps …). A relay has
    /// none: its dashboard signs in with a token made by `pitbox token`.
    pub rest_api: bool,
    /// Shown in the dashboard's header, e.g. `cloud` or `relay pit-wall`.
    pub server_name: String,
}

impl DashboardConfig {
    /// The cloud's settings: WebSocket at `/ws`, REST API present.
    pub fn cloud() -> Self {
        Self { ws_path: "/ws".into(), rest_api: true, server_name: "cloud".into() }
    }

    /// The relay's settings: WebSocket at `/`, no REST API (token sign-in).
    pub fn relay() -> Self {
        Self { ws_path: "/".into(), rest_api: false, server_name: "relay".into() }
    }

    fn to_json(&self) -> String {
        serde_json::json!({
            "wsPath": self.ws_path,
            "restApi": self.rest_api,
            "serverName": self.server_name,
        })
        .to_string()
    }
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self::cloud()
    }
}

/// The dashboard with the cloud's settings ([`DashboardConfig::cloud`]).
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router_with(DashboardConfig::cloud())
}

/// The dashboard with explicit settings, served at `GET /dashboard-config.json`.
///
/// Every other GET/HEAD is answered from the embedded files; a path with no file and no
/// extension gets `index.html` (client-side routes such as `/telemetry/drv-1`); a missing file
/// with an extension, and anything under `/api/` or `/ws`, is a 404.
pub fn router_with<S>(config: DashboardConfig) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let body = config.to_json();
    Router::new()
        .route(
            "/dashboard-config.json",
            get(move || {
                let body = body.clone();
                async move { ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, REVALIDATE)], body) }
            }),
        )
        .fallback(serve)
}

/// True when the embedded files are the placeholder written by `build.rs`, not a built dashboard.
pub fn is_placeholder() -> bool {
    Assets::get("index.html")
        .map(|f| std::str::from_utf8(&f.data).map(|s| s.contains("pitbox-placeholder")).unwrap_or(false))
        .unwrap_or(true)
}

/// Paths of every embedded file (relative, `/`-separated), e.g. `index.html`, `assets/index-3f2a.js`.
pub fn files() -> impl Iterator<Item = String> {
    Assets::iter().map(|p| p.into_owned())
}

/// Content type for a file name, with `charset=utf-8` for text.
pub fn content_type(path: &str) -> String {
    let guess = mime_for(path);
    if guess.starts_with("text/")
        || guess == "application/javascript"
        || guess == "application/json"
        || guess == "image/svg+xml"
    {
        format!("{guess}; charset=utf-8")
    } else {
        guess.to_string()
    }
}

fn mime_for(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html",
        "js" | "mjs" => "text/javascript",
        "css" => "text/css",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "txt" => "text/plain",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

fn cache_control(path: &str) -> &'static str {
    if path.starts_with("assets/") { IMMUTABLE } else { REVALIDATE }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found").into_response()
}

/// Answers one GET/HEAD from the embedded files, as the routers of this crate do: for servers
/// that share a path between the dashboard and something else (the relay's `/` is both the app
/// shell and the drivers' WebSocket).
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")]).into_response();
    }
    let path = uri.path().trim_start_matches('/');
    if path == "api" || path.starts_with("api/") || path == "ws" || path.starts_with("ws/") {
        return not_found();
    }
    // The driver's window talks to the agent's local API only: on a cloud or relay it could not work.
    if path.split('/').any(|seg| seg == "..") || path == DRIVER_PAGE {
        return not_found();
    }
    let path = if path.is_empty() { "index.html" } else { path };
    // Browsers and tools ask for /favicon.ico whatever the page links: the dashboard's icon is
    // an SVG, served for that name too (not a 404 in every log).
    let path = if path == "favicon.ico" && Assets::get(path).is_none() { "favicon.svg" } else { path };
    let (name, file) = match Assets::get(path) {
        Some(f) => (path, f),
        None => {
            let last = path.rsplit('/').next().unwrap_or(path);
            if last.contains('.') {
                return not_found();
            }
            match Assets::get("index.html") {
                Some(f) => ("index.html", f),
                None => return not_found(),
            }
        }
    };
    file_response(&method, &headers, name, file)
}

/// One embedded file as an answer: its type, cache policy and ETag (304 when it matches).
fn file_response(method: &Method, headers: &HeaderMap, name: &str, file: rust_embed::EmbeddedFile) -> Response {
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut builder = Response::builder()
        .header(header::CACHE_CONTROL, cache_control(name))
        .header(header::ETAG, &etag)
        .header(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if matches {
        builder = builder.status(StatusCode::NOT_MODIFIED);
        return builder.body(Body::empty()).unwrap_or_else(|_| not_found());
    }
    builder = builder
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type(name))
        .header(header::CONTENT_LENGTH, file.data.len());
    let body = if *method == Method::HEAD { Body::empty() } else { Body::from(file.data.into_owned()) };
    builder.body(body).unwrap_or_else(|_| not_found())
}

/// The driver's window's page in `dashboard/dist` (a second Vite entry, `dashboard/driver.html`).
pub const DRIVER_PAGE: &str = "driver.html";

/// What the driver's window shows when the dashboard was not built (a cargo build without Node).
const DRIVER_PLACEHOLDER: &str = "<!doctype html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><title>PitBox driver</title>
<meta name=\"pitbox-placeholder\" content=\"1\"></head>
<body style=\"font-family:sans-serif;background:#000;color:#f4f4f4;padding:2rem;font-size:20px\">
<h1>PitBox driver</h1>
<p>The driver's window was not built into this pitbox: run scripts/build-dashboard, then build pitbox again.</p>
<p>The agent runs; its local API answers at <a style=\"color:#64b5f6\" href=\"/api/status\">/api/status</a>.</p>
</body>
</html>
";

/// True when this binary has the driver's window built in ([`DRIVER_PAGE`]), not its placeholder.
pub fn has_driver_window() -> bool {
    Assets::get(DRIVER_PAGE).is_some()
}

/// Serves the driver's window for `pitbox driver`'s local API: `/` (and `/driver.html`) is the
/// window's page — the placeholder when the dashboard was not built — and `/assets/…` and the
/// icon are the built files it loads. Everything else is a 404: the agent serves the window, not
/// the whole pit-wall dashboard.
pub async fn serve_driver(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path.is_empty() || path == DRIVER_PAGE {
        if method != Method::GET && method != Method::HEAD {
            return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")]).into_response();
        }
        return match Assets::get(DRIVER_PAGE) {
            Some(file) => file_response(&method, &headers, DRIVER_PAGE, file),
            None => (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, REVALIDATE)],
                if method == Method::HEAD { "" } else { DRIVER_PLACEHOLDER },
            )
                .into_response(),
        };
    }
    let asset = (path.starts_with("assets/") && path.rsplit('/').next().is_some_and(|l| l.contains('.')))
        || path == "favicon.svg"
        || path == "favicon.ico";
    if !asset {
        return not_found();
    }
    serve(method, uri, headers).await
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(app: Router, path: &str, etag: Option<&str>) -> Response {
        let mut req = Request::builder().uri(path);
        if let Some(t) = etag {
            req = req.header(header::IF_NONE_MATCH, t);
        }
        app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
    }

    async fn text(resp: Response) -> String {
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[tokio::test]
    async fn root_serves_index_html_revalidated() {
        let resp = get(router(), "/", None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(resp.headers()[header::CACHE_CONTROL], REVALIDATE);
        let body = text(resp).await;
        assert!(body.contains("<html"), "{body}");
    }

    #[tokio::test]
    async fn client_routes_fall_back_to_the_app_shell() {
        let index = text(get(router(), "/", None).await).await;
        for path in ["/telemetry", "/telemetry/drv-1", "/messages/"] {
            let resp = get(router(), path, None).await;
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            assert_eq!(text(resp).await, index, "{path}");
        }
    }

    #[tokio::test]
    async fn missing_files_api_and_ws_are_404() {
        for path in
            ["/assets/missing-123.js", "/favicon-none.ico", "/api/sessions", "/api", "/ws", "/ws/x", "/../Cargo.toml"]
        {
            let resp = get(router(), path, None).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[tokio::test]
    async fn etag_gives_304() {
        let resp = get(router(), "/index.html", None).await;
        let etag = resp.headers()[header::ETAG].to_str().unwrap().to_string();
        let resp = get(router(), "/index.html", Some(&etag)).await;
        assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
        let resp = get(router(), "/index.html", Some("\"other\"")).await;
        assert_eq!(resp.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn favicon_ico_is_the_dashboards_icon() {
        if Assets::get("favicon.svg").is_none() {
            // The placeholder build (no dashboard/dist) has no icon; the built dashboard has.
            assert!(is_placeholder(), "a built dashboard without favicon.svg");
            eprintln!("SKIP favicon_ico_is_the_dashboards_icon: dashboard/dist is not built");
            return;
        }
        let resp = get(router(), "/favicon.ico", None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CONTENT_TYPE].to_str().unwrap(), "image/svg+xml; charset=utf-8");
        assert!(text(resp).await.starts_with("<svg"));
    }

    #[tokio::test]
    async fn every_embedded_file_has_its_type_and_cache_policy() {
        let mut n = 0;
        for f in files() {
            n += 1;
            if f == DRIVER_PAGE {
                // Served by the driver agent only (`serve_driver`), never by the pit wall's servers.
                assert_eq!(get(router(), &format!("/{f}"), None).await.status(), StatusCode::NOT_FOUND);
                continue;
            }
            let resp = get(router(), &format!("/{f}"), None).await;
            assert_eq!(resp.status(), StatusCode::OK, "{f}");
            let ct = resp.headers()[header::CONTENT_TYPE].to_str().unwrap();
            assert_eq!(ct, content_type(&f));
            if f.ends_with(".js") {
                assert!(ct.starts_with("text/javascript"), "{f}: {ct}");
            }
            if f.ends_with(".css") {
                assert!(ct.starts_with("text/css"), "{f}: {ct}");
            }
            let cc = resp.headers()[header::CACHE_CONTROL].to_str().unwrap();
            assert_eq!(cc, if f.starts_with("assets/") { IMMUTABLE } else { REVALIDATE });
        }
        assert!(n >= 1);
    }

    #[tokio::test]
    async fn config_endpoint_and_methods() {
        let resp = get(router_with(DashboardConfig::relay()), "/dashboard-config.json", None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let v: serde_json::Value = serde_json::from_str(&text(resp).await).unwrap();
        assert_eq!(v["wsPath"], "/");
        assert_eq!(v["restApi"], false);
        let req = Request::builder().method(Method::POST).uri("/").body(Body::empty()).unwrap();
        let resp = router().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        let req = Request::builder().method(Method::HEAD).uri("/").body(Body::empty()).unwrap();
        let resp = router().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(text(resp).await.is_empty());
    }

    fn driver_app() -> Router {
        Router::new().fallback(serve_driver)
    }

    #[tokio::test]
    async fn the_driver_window_is_its_own_page_or_a_placeholder() {
        let resp = get(driver_app(), "/", None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(resp.headers()[header::CACHE_CONTROL], REVALIDATE);
        let body = text(resp).await;
        assert!(body.contains("<title>PitBox driver</title>"), "{body}");
        if has_driver_window() {
            // The built entry loads its script from the embedded assets, served here too.
            let src = body.split("src=\"/").nth(1).and_then(|s| s.split('"').next()).expect("a module script");
            assert!(src.starts_with("assets/") && src.ends_with(".js"), "{src}");
            let resp = get(driver_app(), &format!("/{src}"), None).await;
            assert_eq!(resp.status(), StatusCode::OK, "{src}");
            assert_eq!(resp.headers()[header::CACHE_CONTROL], IMMUTABLE);
            assert_ne!(body, text(get(router(), "/", None).await).await, "the window is not the pit-wall dashboard");
        } else {
            assert!(body.contains("scripts/build-dashboard"), "{body}");
        }
    }

    #[tokio::test]
    async fn the_driver_window_serves_nothing_else() {
        for path in ["/telemetry", "/index.html", "/assets/missing-1.js", "/assets", "/dashboard-config.json", "/../x"]
        {
            let resp = get(driver_app(), path, None).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let req = Request::builder().method(Method::POST).uri("/").body(Body::empty()).unwrap();
        assert_eq!(driver_app().oneshot(req).await.unwrap().status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a/b.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("x.woff2"), "font/woff2");
        assert_eq!(content_type("x.PNG"), "image/png");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}
