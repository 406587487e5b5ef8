//! The local API's security model (docs/driver.md, "Security of the local API") against a real
//! agent over real HTTP: every refused case (a foreign Host, a foreign Origin, a missing or
//! wrong key, the window without its cookie, another machine) and every allowed one (a local
//! read, a tool with the key, the driver's window with its cookie), and that nothing the API
//! answers carries a token or the key.

mod common;

use common::{app, header, raw, start_agent};
use pitbox_driver::AgentHandle;
use pitbox_driver::api_guard::{ApiKey, KEY_HEADER};
use std::net::SocketAddr;

async fn agent(data: &std::path::Path) -> AgentHandle {
    start_agent(data, "127.0.0.1:0".parse().unwrap(), |s| {
        s.api_key = Some(ApiKey::load_or_create(data).unwrap());
        // A token, so that a leak of it would show in what the API answers.
        s.token = Some("secret-relay-token-of-driver-1".into());
    })
    .await
    .unwrap()
}

/// (what, method, path, headers, the status wanted)
type Case<'a> = (&'a str, &'a str, &'a str, Vec<(&'a str, &'a str)>, u16);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_driver_and_their_tools_change_the_agent() {
    let data = tempfile::tempdir().unwrap();
    let a = agent(data.path()).await;
    let addr = a.api_addr;
    let host = addr.to_string();
    let window = format!("http://{host}");
    let key = a.api_key.expose().to_string();
    assert_eq!(key, std::fs::read_to_string(data.path().join("api-key")).unwrap().trim(), "the key of the data folder");
    let put = serde_json::to_string(&app()).unwrap();

    // The window: HTML with its cookie.
    let (code, h, body) = raw(addr, "GET", "/", &[("Host", &host)], "").await;
    assert_eq!(code, 200);
    assert!(header(&h, "content-type").is_some_and(|c| c.starts_with("text/html")), "{h:?}");
    assert!(body.contains("PitBox driver"), "{body}");
    let set_cookie = header(&h, "set-cookie").expect("the window's cookie").to_string();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();

    // The icon exists once the dashboard is built (scripts/build-dashboard); the placeholder has none.
    let icon = if pitbox_webui::has_driver_window() { 200 } else { 404 };
    let localhost = format!("localhost:{}", addr.port());
    let evil_host = format!("evil.example:{}", addr.port());
    let bearer = format!("Bearer {key}");
    let cases: Vec<Case> = vec![
        // Reads from this PC need nothing (the spec's endpoints keep working for overlays).
        ("a local read", "GET", "/api/config", vec![("Host", &host)], 200),
        ("a local read by name", "GET", "/api/status", vec![("Host", &localhost)], 200),
        ("DNS rebinding", "GET", "/api/config", vec![("Host", &evil_host)], 403),
        (
            "DNS rebinding with the window's origin",
            "GET",
            "/api/status",
            vec![("Host", &evil_host), ("Origin", "http://evil.example")],
            403,
        ),
        ("a foreign page reads", "GET", "/api/config", vec![("Host", &host), ("Origin", "https://evil.example")], 403),
        ("the window reads", "GET", "/api/config", vec![("Host", &host), ("Origin", &window)], 200),
        // Writes need the key or the window.
        ("a write without the key", "PUT", "/api/config", vec![("Host", &host)], 401),
        ("a write with a wrong key", "PUT", "/api/config", vec![("Host", &host), (KEY_HEADER, "wrong")], 401),
        ("a write with the key", "PUT", "/api/config", vec![("Host", &host), (KEY_HEADER, &key)], 200),
        ("a bearer key", "PUT", "/api/config", vec![("Host", &host), ("Authorization", &bearer)], 200),
        ("a foreign page writes", "PUT", "/api/config", vec![("Host", &host), ("Origin", "https://evil.example")], 403),
        (
            "a foreign page writes with the cookie",
            "PUT",
            "/api/config",
            vec![("Host", &host), ("Origin", "https://evil.example"), ("Cookie", &cookie)],
            403,
        ),
        ("the window without its cookie", "PUT", "/api/config", vec![("Host", &host), ("Origin", &window)], 403),
        (
            "the window with an old cookie",
            "PUT",
            "/api/config",
            vec![("Host", &host), ("Origin", &window), ("Cookie", "pitbox_app=old")],
            403,
        ),
        (
            "the window with its cookie",
            "PUT",
            "/api/config",
            vec![("Host", &host), ("Origin", &window), ("Cookie", &cookie)],
            200,
        ),
        ("a handoff answer without the key", "POST", "/api/handoff/h-1", vec![("Host", &host)], 401),
        // The window's reply to the team (issue 22 §1).
        ("a reply without the key", "POST", "/api/messages/reply", vec![("Host", &host)], 401),
        ("a reply with the key", "POST", "/api/messages/reply", vec![("Host", &host), (KEY_HEADER, &key)], 202),
        (
            "a foreign page replies",
            "POST",
            "/api/messages/reply",
            vec![("Host", &host), ("Origin", "https://evil.example"), ("Cookie", &cookie)],
            403,
        ),
        (
            "a reply from the window without its cookie",
            "POST",
            "/api/messages/reply",
            vec![("Host", &host), ("Origin", &window)],
            403,
        ),
        (
            "a reply from the window",
            "POST",
            "/api/messages/reply",
            vec![("Host", &host), ("Origin", &window), ("Cookie", &cookie)],
            202,
        ),
        (
            "a reply under a rebinding Host",
            "POST",
            "/api/messages/reply",
            vec![("Host", &evil_host), (KEY_HEADER, &key)],
            403,
        ),
        // The window's files: reads like any other, under the same Host rule.
        ("the window's icon", "GET", "/favicon.svg", vec![("Host", &host)], icon),
        ("the window's files under a rebinding Host", "GET", "/favicon.svg", vec![("Host", &evil_host)], 403),
        ("no pit-wall dashboard here", "GET", "/index.html", vec![("Host", &host)], 404),
        ("push-to-talk without the key", "POST", "/api/voice/ptt", vec![("Host", &host)], 401),
        ("a voice command without the key", "POST", "/api/voice/command", vec![("Host", &host)], 401),
        // CORS: a preflight from the window only.
        (
            "the window's preflight",
            "OPTIONS",
            "/api/config",
            vec![("Host", &host), ("Origin", &window), ("Access-Control-Request-Method", "PUT")],
            204,
        ),
        (
            "a foreign preflight",
            "OPTIONS",
            "/api/config",
            vec![("Host", &host), ("Origin", "https://evil.example"), ("Access-Control-Request-Method", "PUT")],
            403,
        ),
    ];
    let mut failures = Vec::new();
    for (what, method, path, headers, want) in &cases {
        let body = match (*method, *path) {
            ("PUT", _) => put.as_str(),
            (_, "/api/messages/reply") => r#"{"content": "Copy"}"#,
            _ => "",
        };
        let (code, h, text) = raw(addr, method, path, headers, body).await;
        if code != *want {
            failures.push(format!("{what}: {method} {path} → {code}, want {want}: {text}"));
        }
        // A refusal says why (a 404 is no refusal: a file the window does not have).
        if code >= 400 && code != 404 {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            assert!(v["error"].as_str().is_some_and(|e| e.len() > 20), "{what}: a refusal says why: {text}");
        }
        let foreign = headers.iter().any(|(k, v)| *k == "Origin" && *v != window);
        assert!(
            !foreign || header(&h, "access-control-allow-origin").is_none(),
            "{what}: CORS is never granted to a foreign origin: {h:?}"
        );
        if headers.iter().any(|(k, v)| *k == "Origin" && *v == window) && code < 400 {
            assert_eq!(header(&h, "access-control-allow-origin"), Some(window.as_str()), "{what}: {h:?}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The refusals say what to do.
    let (_, _, text) = raw(addr, "PUT", "/api/config", &[("Host", &host)], &put).await;
    assert!(text.contains("pitbox driver api-key") && text.contains("X-PitBox-Key"), "{text}");
    let (_, _, text) = raw(addr, "GET", "/api/config", &[("Host", &evil_host)], "").await;
    assert!(text.contains("DNS rebinding"), "{text}");

    // Nothing answers with a token or the key.
    for path in ["/", "/api/config", "/api/status", "/api/voice/status", "/api/messages"] {
        let (_, h, text) = raw(addr, "GET", path, &[("Host", &host)], "").await;
        let all = format!("{h:?}{text}");
        assert!(!all.contains("secret-relay-token"), "{path} shows the relay token: {all}");
        assert!(!all.contains(&key), "{path} shows the local API key: {all}");
    }
    a.shutdown().await;
}

#[tokio::test]
async fn another_machines_address_needs_the_flag() {
    let data = tempfile::tempdir().unwrap();
    let err = match start_agent(data.path(), "0.0.0.0:0".parse().unwrap(), |_| {}).await {
        Ok(_) => panic!("the agent listened on every address without --api-allow-remote"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("--api-allow-remote"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_flag_another_machine_needs_the_key_for_everything() {
    // "Another machine" is any address that is not loopback: this machine's own LAN address
    // when it has one (skip otherwise: a sandbox with loopback only).
    let Some(lan) = local_lan_ip() else {
        eprintln!(
            "SKIP with_the_flag_another_machine_needs_the_key_for_everything: this machine has no non-loopback address"
        );
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let a = start_agent(data.path(), SocketAddr::new(lan, 0), |s| s.api_allow_remote = true).await.unwrap();
    let addr = a.api_addr;
    let host = addr.to_string();
    let key = a.api_key.expose().to_string();
    let (code, _, text) = raw(addr, "GET", "/api/config", &[("Host", &host)], "").await;
    assert_eq!(code, 401, "{text}");
    assert!(text.contains("another machine"), "{text}");
    let (code, _, text) = raw(addr, "GET", "/api/config", &[("Host", &host), (KEY_HEADER, &key)], "").await;
    assert_eq!(code, 200, "{text}");
    a.shutdown().await;
}

/// The address this machine would use to reach another, if it has one that is not loopback.
fn local_lan_ip() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // No packet is sent: connecting a UDP socket only picks the route.
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}
