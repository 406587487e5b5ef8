//! Signing in and out from the driver's window (issue 22 §1): `POST /api/login` is the sign-in
//! of `pitbox driver login` (same cloud request, same `login.json`), `DELETE /api/login` signs
//! out, `GET /api/login` says who is signed in — and no answer ever carries a token. Against a
//! real agent over HTTP and a stand-in cloud that answers `POST /api/auth/login` as PitBox does.

mod common;

use pitbox_driver::AgentHandle;
use pitbox_driver::api_guard::{ApiKey, KEY_HEADER};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const ACCESS: &str = "access-token-SECRET-1";
const REFRESH: &str = "refresh-token-SECRET-1";

/// A cloud that knows `ana` (a driver, password `right`) and `eng` (an engineer); records the
/// usernames it was asked for and the refresh tokens it was asked to end (`logout TOKEN`).
async fn cloud() -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::Json;
    use axum::http::StatusCode;
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    let ended = asked.clone();
    let app = axum::Router::new()
        .route(
            "/api/auth/logout",
            axum::routing::post(move |Json(b): Json<serde_json::Value>| {
                let ended = ended.clone();
                async move {
                    ended.lock().unwrap().push(format!("logout {}", b["refreshToken"].as_str().unwrap_or_default()));
                    StatusCode::NO_CONTENT
                }
            }),
        )
        .route(
        "/api/auth/login",
        axum::routing::post(move |Json(b): Json<serde_json::Value>| {
            let log = log.clone();
            async move {
                let user = b["username"].as_str().unwrap_or_default().to_string();
                log.lock().unwrap().push(user.clone());
                let role = match (user.as_str(), b["password"].as_str()) {
                    ("ana", Some("right")) => "driver",
                    ("eng", Some("right")) => "engineer",
                    _ => {
                        let e = serde_json::json!({"error": {"code": "invalid_credentials", "message": "wrong username or password"}});
                        return (StatusCode::UNAUTHORIZED, Json(e));
                    }
                };
                let ok = serde_json::json!({
                    "token": ACCESS, "refreshToken": REFRESH, "expiresIn": 900,
                    "user": {"id": format!("u-{user}"), "username": user, "role": role},
                });
                (StatusCode::OK, Json(ok))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), asked)
}

async fn agent(data: &std::path::Path) -> AgentHandle {
    common::start_agent(data, "127.0.0.1:0".parse().unwrap(), |s| {
        s.api_key = Some(ApiKey::load_or_create(data).unwrap());
        s.data_dir = Some(data.to_path_buf());
    })
    .await
    .unwrap()
}

/// Status and body of one raw HTTP/1.1 request.
async fn raw(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let (code, _, body) = common::raw(addr, method, path, headers, body).await;
    (code, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_signs_in_and_out_like_driver_login() {
    let data = tempfile::tempdir().unwrap();
    let (cloud, asked) = cloud().await;
    let a = agent(data.path()).await;
    let addr = a.api_addr;
    let host = addr.to_string();
    let window = format!("http://{host}");
    let key = a.api_key.expose().to_string();
    let login_file = data.path().join(pitbox_auth::login::LOGIN_FILE);
    let form =
        |user: &str, pw: &str, c: &str| serde_json::json!({"cloud": c, "username": user, "password": pw}).to_string();
    let with_key = [("Host", host.as_str()), (KEY_HEADER, key.as_str())];

    let (code, body) = raw(addr, "GET", "/api/login", &[("Host", &host)], "").await;
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((v["signedIn"].as_bool(), v["agentUses"].as_str()), (Some(false), Some("nothing")), "{v}");

    // Who may: the key or the window with its cookie; never a foreign page or another Host.
    let cookie = {
        let (_, headers, _) = common::raw(addr, "GET", "/", &[("Host", &host)], "").await;
        common::header(&headers, "set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("the window's cookie")
            .to_string()
    };
    let evil = format!("evil.example:{}", addr.port());
    let ok_form = form("ana", "right", &cloud);
    for (what, method, headers, want) in [
        ("a sign-in without the key", "POST", vec![("Host", host.as_str())], 401),
        ("a sign-out without the key", "DELETE", vec![("Host", host.as_str())], 401),
        (
            "a sign-in from a foreign page",
            "POST",
            vec![("Host", host.as_str()), ("Origin", "https://evil.example"), ("Cookie", cookie.as_str())],
            403,
        ),
        ("a sign-in under a rebinding Host", "POST", vec![("Host", evil.as_str()), (KEY_HEADER, key.as_str())], 403),
        ("the window without its cookie", "POST", vec![("Host", host.as_str()), ("Origin", window.as_str())], 403),
    ] {
        let (code, body) = raw(addr, method, "/api/login", &headers, &ok_form).await;
        assert_eq!(code, want, "{what}: {body}");
    }
    assert!(asked.lock().unwrap().is_empty(), "a refused request reached the cloud");
    assert!(!login_file.exists());

    // Every broken rule at once; the cloud's refusals in its words; an unreachable cloud is a 502.
    let (code, body) = raw(addr, "POST", "/api/login", &with_key, &form(" ", "", "")).await;
    assert_eq!(code, 422, "{body}");
    for rule in ["cloud: the cloud address is empty", "username: empty", "password: empty"] {
        assert!(body.contains(rule), "{rule}: {body}");
    }
    let (code, body) =
        raw(addr, "POST", "/api/login", &with_key, r#"{"cloud":"x","username":"a","password":"b","token":"t"}"#).await;
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("unknown field `token`"), "{body}");
    let (code, body) = raw(addr, "POST", "/api/login", &with_key, &form("ana", "wrong", &cloud)).await;
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("wrong username or password"), "{body}");
    let (code, body) = raw(addr, "POST", "/api/login", &with_key, &form("eng", "right", &cloud)).await;
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("eng is a PitBox engineer") && body.contains("driver's login"), "{body}");
    let (code, body) = raw(addr, "POST", "/api/login", &with_key, &form("ana", "right", "http://127.0.0.1:1")).await;
    assert_eq!(code, 502, "{body}");
    assert!(body.contains("cannot reach the cloud"), "{body}");
    assert!(!login_file.exists(), "a failed sign-in writes nothing");

    // Signed in from the window (its cookie): login.json as `pitbox driver login` writes it.
    let (code, body) = raw(
        addr,
        "POST",
        "/api/login",
        &[("Host", &host), ("Origin", &window), ("Cookie", &cookie)],
        &form(" ana ", "right", &format!("{cloud}/")),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["signedIn"], true);
    assert_eq!(v["username"], "ana");
    assert_eq!(v["userId"], "u-ana");
    assert_eq!(v["cloud"].as_str(), Some(cloud.as_str()));
    assert_eq!(v["restartNeeded"], true, "this agent started signed out: {v}");
    let stored = pitbox_auth::login::StoredLogin::load(&login_file).unwrap().expect("login.json");
    assert_eq!((stored.user_id.as_str(), stored.refresh_token.as_str()), ("u-ana", REFRESH));
    assert_eq!(stored.access_token.as_deref(), Some(ACCESS));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&login_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "login.json is the user's only");
    }
    for (_, text) in [(code, body), raw(addr, "GET", "/api/login", &[("Host", &host)], "").await] {
        assert!(!text.contains("SECRET"), "a token in an answer: {text}");
    }
    let (_, text) = raw(addr, "GET", "/api/status", &[("Host", &host)], "").await;
    assert!(!text.contains("SECRET"), "a token in the status: {text}");

    // Signed out: ended at the cloud and the file gone; signing out again is no error.
    for want in ["ended", ""] {
        let (code, body) = raw(addr, "DELETE", "/api/login", &with_key, "").await;
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["signedIn"], false, "{v}");
        assert_eq!(v["cloudSignOut"].as_str().unwrap_or_default(), want, "{v}");
        assert!(!login_file.exists());
    }
    assert_eq!(asked.lock().unwrap().last().map(String::as_str), Some(format!("logout {REFRESH}").as_str()));
    assert_eq!(asked.lock().unwrap().iter().filter(|a| a.starts_with("logout")).count(), 1);

    // A cloud that cannot be reached does not keep the driver signed in here; it is said.
    let mut gone = stored.clone();
    gone.cloud = "http://127.0.0.1:1".into();
    std::fs::write(&login_file, gone.to_json()).unwrap();
    let (code, body) = raw(addr, "DELETE", "/api/login", &with_key, "").await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("not ended at the cloud (the cloud could not be reached"), "{body}");
    assert!(!login_file.exists());
    a.shutdown().await;
}
