//! Every endpoint: success, precise validation errors, unauthenticated, wrong role, another
//! team's data, expired and tampered tokens, refresh reuse. Each test runs on SQLite and, when
//! `PITBOX_TEST_DATABASE_URL` is set, on a fresh PostgreSQL database.

mod common;

use axum::http::StatusCode;
use common::{App, DBS, Opts, err, telemetry_post, update};
use pitbox_cloud::token::{Claims, ISSUER, Keys};
use pitbox_model::UserRole;
use serde_json::{Value, json};
use std::time::Duration;

const T0: i64 = 1_790_000_000_000;

#[tokio::test]
async fn login_refresh_rotation_reuse_logout() {
    for db in DBS {
        let Some(app) = App::start(db, "login_refresh_rotation_reuse_logout", Opts::default()).await else { continue };
        // Login.
        let (s, v) = app
            .call("POST", "/api/auth/login", None, Some(json!({"username": "ana", "password": common::PASSWORD})))
            .await;
        assert_eq!(s, StatusCode::OK, "{db:?} {v}");
        assert_eq!(v["user"]["username"], "ana");
        assert_eq!(v["user"]["role"], "driver");
        assert_eq!(v["user"]["id"], app.driver.id.as_str());
        assert_eq!(v["expiresIn"], 86_400);
        let token = v["token"].as_str().expect("token").to_string();
        let r1 = v["refreshToken"].as_str().expect("refresh").to_string();
        let (s, me) = app.call("GET", "/api/auth/me", Some(&token), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(me["teamId"], app.team_a.as_str());

        // Bad logins, each with its precise error.
        let cases: &[(Value, StatusCode, &str, &str)] = &[
            (json!({"username": "ana", "password": "nope"}), StatusCode::UNAUTHORIZED, "invalid_credentials", ""),
            (json!({"username": "nobody", "password": "x"}), StatusCode::UNAUTHORIZED, "invalid_credentials", ""),
            (json!({"username": "", "password": "x"}), StatusCode::BAD_REQUEST, "validation_failed", "username"),
            (json!({"username": "ana"}), StatusCode::BAD_REQUEST, "validation_failed", "password"),
            (json!({"username": 5, "password": "x"}), StatusCode::BAD_REQUEST, "validation_failed", "username"),
        ];
        for (body, status, code, field) in cases {
            let (s, v) = app.call("POST", "/api/auth/login", None, Some(body.clone())).await;
            assert_eq!((s, err(&v)), (*status, (code.to_string(), field.to_string())), "{db:?} {body}");
        }
        let bad = axum::http::Request::post("/api/auth/login")
            .header("content-type", "application/json")
            .body(axum::body::Body::from("{not json"))
            .expect("req");
        let (s, v) = app.send(bad).await;
        assert_eq!((s, err(&v).0.as_str()), (StatusCode::BAD_REQUEST, "invalid_json"));
        let form = axum::http::Request::post("/api/auth/login")
            .header("content-type", "text/plain")
            .body(axum::body::Body::from("x"))
            .expect("req");
        assert_eq!(app.send(form).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);

        // Rotation: r1 → r2; r1 again is a reuse that revokes r2 as well.
        let (s, v) = app.call("POST", "/api/auth/refresh", None, Some(json!({"refreshToken": r1}))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let r2 = v["refreshToken"].as_str().expect("r2").to_string();
        assert_ne!(r1, r2);
        assert!(v["token"].as_str().is_some());
        let (s, v) = app.call("POST", "/api/auth/refresh", None, Some(json!({"refreshToken": r1}))).await;
        assert_eq!((s, err(&v).0.as_str()), (StatusCode::UNAUTHORIZED, "refresh_token_reused"));
        let (s, v) = app.call("POST", "/api/auth/refresh", None, Some(json!({"refreshToken": r2}))).await;
        assert_eq!((s, err(&v).0.as_str()), (StatusCode::UNAUTHORIZED, "refresh_token_revoked"));
        let (s, v) = app.call("POST", "/api/auth/refresh", None, Some(json!({"refreshToken": "made-up"}))).await;
        assert_eq!((s, err(&v).0.as_str()), (StatusCode::UNAUTHORIZED, "invalid_refresh_token"));
        let (s, v) = app.call("POST", "/api/auth/refresh", None, Some(json!({"refreshToken": ""}))).await;
        assert_eq!((s, err(&v)), (StatusCode::BAD_REQUEST, ("validation_failed".into(), "refreshToken".into())));

        // Logout revokes the family.
        let (_, v) = app
            .call("POST", "/api/auth/login", None, Some(json!({"username": "ana", "password": common::PASSWORD})))
            .await;
        let r3 = v["refreshToken"].as_str().expect("r3").to_string();
        let (s, _) = app.call("POST", "/api/auth/logout", None, Some(json!({"refreshToken": r3}))).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, v) = app.call("POST", "/api/auth/refresh", None, Some(json!({"refreshToken": r3}))).await;
        assert_eq!((s, err(&v).0.as_str()), (StatusCode::UNAUTHORIZED, "refresh_token_revoked"));

        // JWKS verifies the issued token.
        let (s, jwks) = app.call("GET", "/api/auth/jwks", None, None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(jwks["keys"][0]["kty"], "OKP");
        assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
        assert_eq!(jwks["keys"][0]["kid"], app.state.keys.kid());
    }
}

#[tokio::test]
async fn login_is_rate_limited_per_user() {
    let Some(app) =
        App::start(common::Db::Sqlite, "rate", Opts { login_max_failures: Some(3), ..Opts::default() }).await
    else {
        return;
    };
    for _ in 0..3 {
        let (s, _) =
            app.call("POST", "/api/auth/login", None, Some(json!({"username": "ben", "password": "bad"}))).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused now, with a Retry-After.
    let req = axum::http::Request::post("/api/auth/login")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(json!({"username": "ben", "password": common::PASSWORD}).to_string()))
        .expect("req");
    let resp = tower::ServiceExt::oneshot(app.router.clone(), req).await.expect("resp");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("retry-after").is_some());
    // Another user is not affected.
    let (s, _) =
        app.call("POST", "/api/auth/login", None, Some(json!({"username": "ana", "password": common::PASSWORD}))).await;
    assert_eq!(s, StatusCode::OK);
}

/// One login from `peer` (as the TCP peer), optionally through a proxy that wrote `forwarded`;
/// the status and the `Retry-After` seconds.
async fn login_from(
    router: &axum::Router,
    username: &str,
    password: &str,
    peer: &str,
    forwarded: Option<&str>,
) -> (StatusCode, Option<u64>) {
    let mut req = axum::http::Request::post("/api/auth/login").header("content-type", "application/json");
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let mut req =
        req.body(axum::body::Body::from(json!({"username": username, "password": password}).to_string())).expect("req");
    let addr = std::net::SocketAddr::new(peer.parse().expect("peer"), 40000);
    req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    let resp = tower::ServiceExt::oneshot(router.clone(), req).await.expect("resp");
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok());
    (resp.status(), retry)
}

/// Another node on `app`'s database, with its own limiter configured by `tweak`.
fn second_node(app: &App, tweak: impl FnOnce(&mut pitbox_cloud::Config)) -> axum::Router {
    let mut config = pitbox_cloud::Config::local(app.db.dir());
    config.database_url = app.db.url.clone();
    config.sample_clock_window = common::FIXTURE_CLOCK_WINDOW;
    tweak(&mut config);
    let objects = pitbox_cloud::objects::Objects::local(&app.db.dir().join("objects")).expect("objects");
    let bus = pitbox_cloud::bus::Bus::in_process("node-b");
    let state = pitbox_cloud::AppState::assemble(
        app.state.store.clone(),
        objects,
        bus,
        Keys::generate().expect("keys"),
        &config,
    );
    pitbox_cloud::server::router(state)
}

#[tokio::test]
async fn per_address_limit_reads_x_forwarded_for_only_from_trusted_proxies() {
    let Some(app) = App::start(common::Db::Sqlite, "xff", Opts::default()).await else { return };
    let behind_proxy = second_node(&app, |c| {
        c.login_per_ip = 3;
        c.trusted_proxies = pitbox_cloud::client_ip::TrustedProxies::new(vec![
            pitbox_cloud::client_ip::parse_net("10.0.0.0/8").expect("net"),
        ]);
    });
    // Two clients' attempts through the proxy 10.0.0.2: each client has its own allowance.
    for client in ["198.51.100.1", "198.51.100.2"] {
        for i in 0..3 {
            let name = format!("nobody{i}-{client}");
            let (s, _) = login_from(&behind_proxy, &name, "x", "10.0.0.2", Some(&format!("6.6.6.6, {client}"))).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{client}");
        }
        let (s, retry) = login_from(&behind_proxy, "ana", common::PASSWORD, "10.0.0.2", Some(client)).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{client}");
        assert!(retry.is_some_and(|r| (1..=300).contains(&r)), "{retry:?}");
    }
    let (s, _) = login_from(&behind_proxy, "ana", common::PASSWORD, "10.0.0.2", Some("198.51.100.3")).await;
    assert_eq!(s, StatusCode::OK);
    // A client that is not a trusted proxy cannot pick its address with the header.
    let direct = second_node(&app, |c| c.login_per_ip = 3);
    for i in 0..3 {
        let (s, _) =
            login_from(&direct, &format!("nobody{i}"), "x", "203.0.113.5", Some(&format!("198.51.100.{}", 10 + i)))
                .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _) = login_from(&direct, "ana", common::PASSWORD, "203.0.113.5", Some("198.51.100.99")).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn login_limits_are_shared_by_nodes_through_redis() {
    let Ok(url) = std::env::var("PITBOX_TEST_REDIS_URL") else {
        pitbox_testkit::skip("login_limits_are_shared_by_nodes_through_redis", "PITBOX_TEST_REDIS_URL is not set");
        return;
    };
    let opts = Opts { redis_url: Some(url.clone()), login_max_failures: Some(3), ..Opts::default() };
    let Some(app) = App::start(common::Db::Sqlite, "shared_limits", opts).await else { return };
    let shared = |c: &mut pitbox_cloud::Config| {
        c.redis_url = Some(url.clone());
        c.login_max_failures = 3;
        c.login_per_ip = 4;
    };
    let node_b = second_node(&app, shared);
    let node_c = second_node(&app, shared);
    // Names and addresses of this run only: Redis outlives the test.
    let user = pitbox_cloud::store::new_id("lim");
    let hash = pitbox_cloud::password::hash(common::PASSWORD).expect("hash");
    app.state.store.create_user(&user, &hash, UserRole::Driver, Some(&app.team_a)).await.expect("user");
    let n =
        u32::from_str_radix(&pitbox_cloud::store::new_id("x").replace(|c: char| !c.is_ascii_hexdigit(), "")[..6], 16)
            .expect("hex");
    let addr = |k: u32| format!("fd00::{:x}:{:x}", n >> 16, (n & 0xffff) + k);

    // Three wrong passwords, spread over the nodes: the user is locked on every node, even on
    // one that saw a single failure.
    for (i, node) in [&app.router, &node_b, &node_c].into_iter().enumerate() {
        let (s, _) = login_from(node, &user, "wrong", &addr(i as u32), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    for node in [&app.router, &node_b, &node_c] {
        let (s, retry) = login_from(node, &user, common::PASSWORD, &addr(10), None).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert!(retry.is_some_and(|r| (1..=300).contains(&r)), "{retry:?}");
    }
    // Four attempts from one address on two nodes use up its allowance on both.
    let one = addr(20);
    for (i, node) in [&node_b, &node_c, &node_b, &node_c].into_iter().enumerate() {
        let (s, _) = login_from(node, &format!("{user}-nobody{i}"), "x", &one, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    for node in [&node_b, &node_c] {
        let (s, _) = login_from(node, "ana", common::PASSWORD, &one, None).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    }
    let (s, _) = login_from(&node_b, "ana", common::PASSWORD, &addr(21), None).await;
    assert_eq!(s, StatusCode::OK);

    // Redis gone: a node still limits, on its own counts, and says so.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let alone = second_node(&app, |c| {
        c.redis_url = Some(format!("redis://127.0.0.1:{port}"));
        c.login_max_failures = 2;
    });
    let other = pitbox_cloud::store::new_id("lim");
    app.state.store.create_user(&other, &hash, UserRole::Driver, Some(&app.team_a)).await.expect("user");
    for _ in 0..2 {
        let (s, _) = login_from(&alone, &other, "wrong", &addr(30), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _) = login_from(&alone, &other, common::PASSWORD, &addr(30), None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let req = axum::http::Request::get("/metrics").body(axum::body::Body::empty()).expect("req");
    let resp = tower::ServiceExt::oneshot(alone.clone(), req).await.expect("resp");
    let text =
        String::from_utf8(http_body_util::BodyExt::collect(resp.into_body()).await.expect("body").to_bytes().to_vec())
            .expect("utf8");
    let unavailable = text
        .lines()
        .find_map(|l| l.strip_prefix("pitbox_login_limiter_redis_unavailable_total "))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(unavailable.is_some_and(|v| v >= 3), "{unavailable:?}");

    // A success clears the user's failures on every node. First the window passes (the key's
    // expiry, done here by hand).
    let mut conn = redis::Client::open(url.as_str())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis reachable");
    let key = pitbox_cloud::limiter::user_key(&user);
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut conn).await.expect("del");
    let (s, _) = login_from(&node_c, &user, common::PASSWORD, &addr(40), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = login_from(&node_b, &user, "wrong", &addr(41), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = login_from(&app.router, &user, common::PASSWORD, &addr(42), None).await;
    assert_eq!(s, StatusCode::OK);
    let failures: u64 = redis::cmd("EXISTS").arg(&key).query_async(&mut conn).await.expect("exists");
    assert_eq!(failures, 0, "the success removed the shared failures");
}

/// Issue 23: 25 parallel wrong passwords for one user were all evaluated (the limit was checked
/// before and counted after the verification). Over two nodes sharing Redis, and on one node
/// alone, exactly `max_failures` of them are now evaluated.
#[tokio::test]
async fn parallel_guesses_are_held_to_the_user_limit() {
    let Some(app) = App::start(common::Db::Sqlite, "parallel_guesses", Opts::default()).await else { return };
    let redis = std::env::var("PITBOX_TEST_REDIS_URL").ok();
    if redis.is_none() {
        pitbox_testkit::skip(
            "parallel_guesses_are_held_to_the_user_limit (redis part)",
            "PITBOX_TEST_REDIS_URL is not set",
        );
    }
    for url in [None, redis] {
        let limits = |c: &mut pitbox_cloud::Config| {
            c.redis_url = url.clone();
            c.login_max_failures = 3;
            c.login_per_ip = 1000;
        };
        let nodes = [second_node(&app, limits), second_node(&app, limits)];
        let nodes = if url.is_some() { nodes.to_vec() } else { vec![nodes[0].clone()] };
        let user = pitbox_cloud::store::new_id("par");
        let hash = pitbox_cloud::password::hash(common::PASSWORD).expect("hash");
        app.state.store.create_user(&user, &hash, UserRole::Driver, Some(&app.team_a)).await.expect("user");
        let tasks: Vec<_> = (0..25)
            .map(|i| {
                let node = nodes[i % nodes.len()].clone();
                let user = user.clone();
                tokio::spawn(async move { login_from(&node, &user, "wrong", &format!("10.9.0.{i}"), None).await.0 })
            })
            .collect();
        let mut evaluated = 0;
        for t in tasks {
            let s = t.await.expect("task");
            assert!(s == StatusCode::UNAUTHORIZED || s == StatusCode::TOO_MANY_REQUESTS, "{s}");
            evaluated += usize::from(s == StatusCode::UNAUTHORIZED);
        }
        assert_eq!(evaluated, 3, "redis: {}", url.is_some());
    }
}

#[tokio::test]
async fn bad_tokens_are_refused_precisely() {
    let Some(app) = App::start(common::Db::Sqlite, "tokens", Opts::default()).await else { return };
    let claims = |ttl: i64, role: UserRole| {
        let mut c = Claims::new(&app.driver.id, role, &app.team_a, Some("ana"), ISSUER, Duration::from_secs(3600))
            .expect("claims");
        c.exp = (c.iat as i64 + ttl).max(0) as u64;
        c.iat -= 600;
        c
    };
    let sign = |k: &Keys, c: &Claims| k.sign(c).expect("sign");
    let good = sign(&app.state.keys, &claims(3600, UserRole::Driver));
    // Expired two minutes ago (past the verifier's 30 s leeway).
    let expired = sign(&app.state.keys, &claims(-120, UserRole::Driver));
    let foreign = sign(&Keys::generate().expect("k"), &claims(3600, UserRole::Admin));
    let mut other_issuer = claims(3600, UserRole::Driver);
    other_issuer.iss = "pitbox-offline".into();
    let other_issuer = sign(&app.state.keys, &other_issuer);
    // Tampered: a driver token whose payload claims admin.
    let admin_payload = sign(&app.state.keys, &claims(3600, UserRole::Admin));
    let parts: Vec<&str> = good.split('.').collect();
    let admin_parts: Vec<&str> = admin_payload.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], admin_parts[1], parts[2]);
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "unauthenticated"),
        (Some("Basic abc".into()), "unauthenticated"),
        (Some(format!("Bearer {expired}")), "token_expired"),
        (Some(format!("Bearer {foreign}")), "invalid_token"),
        (Some(format!("Bearer {tampered}")), "invalid_token"),
        (Some("Bearer a.b".into()), "invalid_token"),
        (Some(format!("Bearer {other_issuer}")), "invalid_token"),
    ];
    for path in ["/api/sessions", "/api/messages", "/api/handoffs", "/api/drivers", "/api/auth/me", "/api/users"] {
        for (header, code) in &cases {
            let mut req = axum::http::Request::get(path);
            if let Some(h) = header {
                req = req.header("authorization", h);
            }
            let (s, v) = app.send(req.body(axum::body::Body::empty()).expect("req")).await;
            assert_eq!((s, err(&v).0.as_str()), (StatusCode::UNAUTHORIZED, *code), "{path} {header:?}");
        }
        let (s, _) = app.call("GET", path, Some(&good), None).await;
        assert_ne!(s, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (s, v) = app.call("POST", "/api/telemetry", None, Some(telemetry_post(&app.driver.id, T0, 1))).await;
    assert_eq!((s, err(&v).0.as_str()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
}

#[tokio::test]
async fn telemetry_post_roles_validation_and_reads() {
    for db in DBS {
        let Some(app) = App::start(db, "telemetry_post_roles_validation_and_reads", Opts::default()).await else {
            continue;
        };
        let d = app.driver.id.clone();
        let mut bad_speed = telemetry_post(&d, T0, 1);
        bad_speed["data"]["speed"] = json!(-5);
        let mut bad_throttle = telemetry_post(&d, T0, 1);
        bad_throttle["data"]["throttle"] = json!(150);
        let mut no_data = telemetry_post(&d, T0, 1);
        no_data.as_object_mut().expect("obj").remove("data");
        let mut bad_wear = telemetry_post(&d, T0, 1);
        bad_wear["data"]["tireWear"]["rearLeft"] = json!(101);
        let mut bad_ts = telemetry_post(&d, T0, 1);
        bad_ts["timestamp"] = json!("yesterday");
        let cases: Vec<(&common::User, Value, StatusCode, &str, &str)> = vec![
            (&app.driver, telemetry_post(&d, T0, 1), StatusCode::CREATED, "", ""),
            (&app.admin, telemetry_post(&d, T0 + 16, 1), StatusCode::CREATED, "", ""),
            (&app.driver, telemetry_post(&app.driver2.id, T0, 1), StatusCode::FORBIDDEN, "forbidden", ""),
            (&app.viewer, telemetry_post(&d, T0, 1), StatusCode::FORBIDDEN, "forbidden", ""),
            (&app.engineer, telemetry_post(&d, T0, 1), StatusCode::FORBIDDEN, "forbidden", ""),
            (&app.driver_b, telemetry_post(&d, T0, 1), StatusCode::FORBIDDEN, "forbidden", ""),
            (&app.driver, bad_speed, StatusCode::BAD_REQUEST, "validation_failed", "data.speed"),
            (&app.driver, bad_throttle, StatusCode::BAD_REQUEST, "validation_failed", "data.throttle"),
            (&app.driver, bad_wear, StatusCode::BAD_REQUEST, "validation_failed", "data.tireWear.rearLeft"),
            (&app.driver, no_data, StatusCode::BAD_REQUEST, "validation_failed", "data"),
            (&app.driver, bad_ts, StatusCode::BAD_REQUEST, "validation_failed", "timestamp"),
            (&app.driver, telemetry_post("", T0, 1), StatusCode::BAD_REQUEST, "validation_failed", "driverId"),
        ];
        for (i, (who, body, status, code, field)) in cases.into_iter().enumerate() {
            let (s, v) = app.as_user(who, "POST", "/api/telemetry", Some(body)).await;
            assert_eq!(s, status, "{db:?} case {i}: {v}");
            if status == StatusCode::CREATED {
                assert_eq!(v["success"], true);
                assert!(v["id"].as_str().is_some_and(|s| !s.is_empty()));
            } else {
                assert_eq!(err(&v), (code.to_string(), field.to_string()), "{db:?} case {i}");
            }
        }
        // Two more laps.
        for (k, lap) in [(2, 2), (3, 2), (4, 3)] {
            let (s, _) =
                app.as_user(&app.driver, "POST", "/api/telemetry", Some(telemetry_post(&d, T0 + k * 16, lap))).await;
            assert_eq!(s, StatusCode::CREATED);
        }

        // Sessions: own team sees it; the other team does not; admins see all.
        let (s, v) = app.as_user(&app.viewer, "GET", "/api/sessions", None).await;
        assert_eq!(s, StatusCode::OK);
        let sessions = v.as_array().expect("list");
        assert_eq!(sessions.len(), 1, "{v}");
        assert_eq!(sessions[0]["driverId"], d.as_str());
        assert_eq!(sessions[0]["sampleCount"], 5);
        assert_eq!(sessions[0]["lapCount"], 3);
        let sid = sessions[0]["id"].as_str().expect("id").to_string();
        let (_, v) = app.as_user(&app.driver_b, "GET", "/api/sessions", None).await;
        assert_eq!(v.as_array().map(Vec::len), Some(0));
        let (s, v) = app.as_user(&app.driver_b, "GET", &format!("/api/sessions?teamId={}", app.team_a), None).await;
        assert_eq!((s, err(&v).0.as_str()), (StatusCode::FORBIDDEN, "forbidden"));
        let (_, v) = app.as_user(&app.admin, "GET", "/api/sessions", None).await;
        assert_eq!(v.as_array().map(Vec::len), Some(1));
        let (s, v) = app.as_user(&app.viewer, "GET", "/api/sessions?limit=0", None).await;
        assert_eq!((s, err(&v)), (StatusCode::BAD_REQUEST, ("validation_failed".into(), "limit".into())));

        // Laps.
        let (s, v) = app.as_user(&app.viewer, "GET", &format!("/api/sessions/{sid}/laps"), None).await;
        assert_eq!(s, StatusCode::OK);
        let laps = v.as_array().expect("laps");
        assert_eq!(laps.iter().map(|l| l["lap"].as_i64().unwrap_or(-1)).collect::<Vec<_>>(), vec![1, 2, 3]);
        // The samples never cross the line: laps as the sim timed them, none complete, no time.
        for l in laps {
            assert_eq!(
                (l["complete"].as_bool(), l["valid"].as_bool(), l["lapTime"].is_null()),
                (Some(false), Some(false), true),
                "{l}"
            );
            assert_eq!(l["invalid"][0], "incomplete", "{l}");
        }
        let lap1 = laps[0]["id"].as_str().expect("id").to_string();
        let (s, _) = app.as_user(&app.driver_b, "GET", &format!("/api/sessions/{sid}/laps"), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = app.as_user(&app.viewer, "GET", "/api/sessions/ses-nope/laps", None).await;
        assert_eq!((s, err(&v).0.as_str()), (StatusCode::NOT_FOUND, "not_found"));

        // Lap telemetry, from staging now and from chunks after compaction: the same.
        let path = format!("/api/laps/{lap1}/telemetry?channels=speed,tireWear.rearRight");
        let (s, before) = app.as_user(&app.engineer, "GET", &path, None).await;
        assert_eq!(s, StatusCode::OK, "{before}");
        assert_eq!(before["sampleCount"], 2);
        assert_eq!(before["timestamps"], json!([T0, T0 + 16]));
        assert_eq!(before["channels"]["speed"], json!([200.5, 200.5]));
        assert_eq!(before["channels"]["tireWear.rearRight"], json!([2.5, 2.5]));
        assert!(before["channels"].get("rpm").is_none());
        let n = pitbox_cloud::telemetry::compact(&app.state.store, &app.state.objects, 0, true).await.expect("compact");
        assert_eq!(n, 3);
        let (_, after) = app.as_user(&app.engineer, "GET", &path, None).await;
        assert_eq!(before, after);
        let (s, v) =
            app.as_user(&app.engineer, "GET", &format!("/api/laps/{lap1}/telemetry?channels=speed,warp"), None).await;
        assert_eq!((s, err(&v)), (StatusCode::BAD_REQUEST, ("validation_failed".into(), "channels".into())));
        let (s, _) = app.as_user(&app.engineer_b, "GET", &format!("/api/laps/{lap1}/telemetry"), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app.as_user(&app.engineer, "GET", "/api/laps/nope/telemetry", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

/// A gap of more than 30 minutes inside one unsequenced batch starts a second session in the
/// same commit; both are written with their own first and last sample times, and later samples
/// move only the current session's last time forward (on PostgreSQL this is the one-statement
/// commit, where a session the statement creates cannot also be updated by it).
#[tokio::test]
async fn a_gap_inside_one_commit_starts_a_session_with_its_own_times() {
    const GAP: i64 = 31 * 60 * 1000;
    for db in DBS {
        let Some(app) = App::start(db, "a_gap_inside_one_commit_starts_a_session", Opts::default()).await else {
            continue;
        };
        let d = app.driver.id.clone();
        let samples = vec![
            update(&d, T0, 1, 0),
            update(&d, T0 + 16, 1, 1),
            update(&d, T0 + GAP, 1, 2),
            update(&d, T0 + GAP + 16, 2, 3),
        ];
        let (s, v) = app
            .as_user(&app.driver, "POST", "/api/telemetry/batch", Some(json!({"driverId": d, "samples": samples})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{db:?}: {v}");
        // Later samples: one newer (moves the last time), one older (does not).
        for ms in [T0 + GAP + 1_000, T0 + GAP + 500] {
            let (s, _) = app.as_user(&app.driver, "POST", "/api/telemetry", Some(telemetry_post(&d, ms, 2))).await;
            assert_eq!(s, StatusCode::CREATED);
        }
        let (_, v) = app.as_user(&app.viewer, "GET", "/api/sessions", None).await;
        let ms = |s: &Value, key: &str| {
            chrono::DateTime::parse_from_rfc3339(s[key].as_str().unwrap_or("")).map(|t| t.timestamp_millis()).ok()
        };
        let times: Vec<_> = v
            .as_array()
            .expect("list")
            .iter()
            .map(|s| (ms(s, "startedAt"), ms(s, "lastSampleAt"), s["lapCount"].as_i64(), s["sampleCount"].as_i64()))
            .collect();
        // Newest first.
        assert_eq!(
            times,
            vec![
                (Some(T0 + GAP), Some(T0 + GAP + 1_000), Some(2), Some(4)),
                (Some(T0), Some(T0 + 16), Some(1), Some(2)),
            ],
            "{db:?}: {v}"
        );
    }
}

#[tokio::test]
async fn telemetry_batch_is_idempotent_by_sequence() {
    for db in DBS {
        let Some(app) = App::start(db, "telemetry_batch_is_idempotent_by_sequence", Opts::default()).await else {
            continue;
        };
        let d = app.driver.id.clone();
        let batch = |seq: Option<u64>, n: u64| {
            let samples: Vec<Value> = (0..n).map(|i| update(&d, T0 + (i as i64) * 16, 1, i)).collect();
            json!({"driverId": d, "sequence": seq, "samples": samples})
        };
        let (s, v) = app.as_user(&app.driver, "POST", "/api/telemetry/batch", Some(batch(Some(1), 10))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!((v["stored"].as_u64(), v["duplicate"].as_bool()), (Some(10), Some(false)));
        let (_, v) = app.as_user(&app.driver, "POST", "/api/telemetry/batch", Some(batch(Some(1), 10))).await;
        assert_eq!(
            (v["stored"].as_u64(), v["duplicate"].as_bool(), v["sequence"].as_u64()),
            (Some(0), Some(true), Some(1))
        );
        let (s, v) = app.as_user(&app.driver, "POST", "/api/telemetry/batch", Some(batch(Some(3), 1))).await;
        assert_eq!((s, err(&v)), (StatusCode::BAD_REQUEST, ("validation_failed".into(), "sequence".into())));
        let (s, _) = app.as_user(&app.driver, "POST", "/api/telemetry/batch", Some(batch(None, 5))).await;
        assert_eq!(s, StatusCode::CREATED);
        let mut mixed = batch(Some(2), 3);
        mixed["samples"][1]["driverId"] = json!(app.driver2.id);
        let (s, v) = app.as_user(&app.driver, "POST", "/api/telemetry/batch", Some(mixed)).await;
        assert_eq!((s, err(&v)), (StatusCode::BAD_REQUEST, ("validation_failed".into(), "samples[1].driverId".into())));
        let (s, v) = app.as_user(&app.driver, "POST", "/api/telemetry/batch", Some(batch(Some(2), 0))).await;
        assert_eq!((s, err(&v)), (StatusCode::BAD_REQUEST, ("validation_failed".into(), "samples".into())));
        let mut bad = batch(Some(2), 2);
        bad["samples"][1]["rpm"] = json!(-1);
        let (s, v) = app.as_user(&app.driver, "POST", "/api/telemetry/batch", Some(bad)).await;
        assert_eq!((s, err(&v)), (StatusCode::BAD_REQUEST, ("validation_failed".into(), "samples[1].rpm".into())));
        let (s, _) = app.as_user(&app.viewer, "POST", "/api/telemetry/batch", Some(batch(Some(2), 1))).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let n = pitbox_cloud::telemetry::stored_sample_count(&app.state.store, &d).await.expect("count");
        assert_eq!(n, 15);
    }
}

#[tokio::test]
async fn messages_roles_teams_and_reads() {
    for db in DBS {
        let Some(app) = App::start(db, "messages_roles_teams_and_reads", Opts::default()).await else { continue };
        let ok = json!({"content": "Box this lap", "priority": "high"});
        let cases: Vec<(&common::User, Value, StatusCode, &str, &str)> = vec![
            (&app.engineer, ok.clone(), StatusCode::CREATED, "", ""),
            (&app.driver, json!({"content": "copy"}), StatusCode::CREATED, "", ""),
            (&app.viewer, ok.clone(), StatusCode::FORBIDDEN, "forbidden", ""),
            (&app.engineer, json!({"content": ""}), StatusCode::BAD_REQUEST, "validation_failed", "content"),
            (
                &app.engineer,
                json!({"content": "x", "priority": "asap"}),
                StatusCode::BAD_REQUEST,
                "validation_failed",
                "priority",
            ),
            (
                &app.engineer,
                json!({"content": "x", "attachment": {"type": "image", "url": "ftp://x", "name": "a"}}),
                StatusCode::BAD_REQUEST,
                "validation_failed",
                "attachment.url",
            ),
            (&app.engineer, json!({"content": "x", "teamId": app.team_b}), StatusCode::FORBIDDEN, "forbidden", ""),
        ];
        let mut first_id = String::new();
        for (i, (who, body, status, code, field)) in cases.into_iter().enumerate() {
            let (s, v) = app.as_user(who, "POST", "/api/messages", Some(body)).await;
            assert_eq!(s, status, "{db:?} case {i}: {v}");
            if s == StatusCode::CREATED {
                assert_eq!(v["senderId"], who.id.as_str());
                assert_eq!(v["read"], false);
                if first_id.is_empty() {
                    first_id = v["id"].as_str().unwrap_or("").to_string();
                }
            } else {
                assert_eq!(err(&v), (code.to_string(), field.to_string()), "{db:?} case {i}");
            }
        }
        let (s, v) = app.as_user(&app.viewer, "GET", "/api/messages", None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v.as_array().map(Vec::len), Some(2));
        let (_, v) = app.as_user(&app.driver_b, "GET", "/api/messages", None).await;
        assert_eq!(v.as_array().map(Vec::len), Some(0));
        // Read receipts: per reader.
        let (s, v) = app.as_user(&app.viewer, "POST", &format!("/api/messages/{first_id}/read"), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["readerId"], app.viewer.id.as_str());
        let (_, v) = app.as_user(&app.viewer, "GET", "/api/messages", None).await;
        let read: Vec<bool> =
            v.as_array().expect("list").iter().map(|m| m["read"].as_bool().unwrap_or(false)).collect();
        assert_eq!(read.iter().filter(|r| **r).count(), 1);
        let (_, v) = app.as_user(&app.driver, "GET", "/api/messages", None).await;
        assert!(v.as_array().expect("list").iter().all(|m| m["read"] == false));
        let (s, _) = app.as_user(&app.driver_b, "POST", &format!("/api/messages/{first_id}/read"), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app.as_user(&app.viewer, "POST", "/api/messages/msg-nope/read", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn handoffs_follow_the_state_machine() {
    for db in DBS {
        let Some(app) = App::start(db, "handoffs_follow_the_state_machine", Opts::default()).await else { continue };
        let to_ben = json!({"targetDriverId": app.driver2.id, "reason": "stint over", "urgency": "urgent"});
        let (s, h) = app.as_user(&app.driver, "POST", "/api/handoffs", Some(to_ben.clone())).await;
        assert_eq!(s, StatusCode::CREATED, "{h}");
        assert_eq!(h["status"], "pending");
        assert_eq!(h["requesterId"], app.driver.id.as_str());
        assert_eq!(h["targetDriverName"], "ben");
        let id = h["id"].as_str().expect("id").to_string();
        let bad: Vec<(&common::User, Value, StatusCode, &str, &str)> = vec![
            (&app.viewer, to_ben.clone(), StatusCode::FORBIDDEN, "forbidden", ""),
            (
                &app.driver,
                json!({"targetDriverId": app.driver_b.id}),
                StatusCode::BAD_REQUEST,
                "validation_failed",
                "targetDriverId",
            ),
            (
                &app.driver,
                json!({"targetDriverId": app.driver.id}),
                StatusCode::BAD_REQUEST,
                "validation_failed",
                "targetDriverId",
            ),
            (
                &app.driver,
                json!({"targetDriverId": app.engineer.id}),
                StatusCode::BAD_REQUEST,
                "validation_failed",
                "targetDriverId",
            ),
            (
                &app.driver,
                json!({"targetDriverId": app.driver2.id, "urgency": "now"}),
                StatusCode::BAD_REQUEST,
                "validation_failed",
                "urgency",
            ),
            (
                &app.driver,
                json!({"targetDriverId": app.driver2.id, "requesterId": app.driver2.id}),
                StatusCode::FORBIDDEN,
                "forbidden",
                "",
            ),
        ];
        for (i, (who, body, status, code, field)) in bad.into_iter().enumerate() {
            let (s, v) = app.as_user(who, "POST", "/api/handoffs", Some(body)).await;
            assert_eq!((s, err(&v)), (status, (code.to_string(), field.to_string())), "{db:?} case {i}: {v}");
        }
        let respond = |status: &str| json!({"status": status});
        let path = format!("/api/handoffs/{id}/respond");
        let steps: Vec<(&common::User, &str, StatusCode, &str)> = vec![
            (&app.viewer, "accepted", StatusCode::FORBIDDEN, "forbidden"),
            (&app.engineer_b, "accepted", StatusCode::FORBIDDEN, "forbidden"),
            (&app.driver2, "pending", StatusCode::BAD_REQUEST, "validation_failed"),
            (&app.driver2, "completed", StatusCode::CONFLICT, "conflict"),
            (&app.driver2, "accepted", StatusCode::OK, ""),
            (&app.driver2, "rejected", StatusCode::CONFLICT, "conflict"),
            (&app.engineer, "completed", StatusCode::OK, ""),
            (&app.engineer, "accepted", StatusCode::CONFLICT, "conflict"),
        ];
        for (i, (who, st, status, code)) in steps.into_iter().enumerate() {
            let (s, v) = app.as_user(who, "POST", &path, Some(respond(st))).await;
            assert_eq!(s, status, "{db:?} step {i}: {v}");
            if status == StatusCode::OK {
                assert_eq!(v["status"], st);
                // Who moved it and when: the answer is remembered, not only the state.
                assert_eq!(v["responderId"], who.id, "{db:?} step {i}: {v}");
                let at = v["respondedAt"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
                assert!(
                    at.is_some_and(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds().abs() < 60),
                    "{db:?} step {i}: respondedAt {}",
                    v["respondedAt"]
                );
            } else {
                assert_eq!(err(&v).0, code, "{db:?} step {i}");
            }
        }
        let (s, v) = app.as_user(&app.viewer, "GET", "/api/handoffs", None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v[0]["status"], "completed");
        assert_eq!(v[0]["responderId"], app.engineer.id, "the list says who completed it: {v}");
        assert!(v[0]["respondedAt"].is_string(), "{v}");
        let (s, _) =
            app.as_user(&app.driver, "POST", "/api/handoffs/hnd-nope/respond", Some(respond("accepted"))).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn users_teams_and_profiles() {
    for db in DBS {
        let Some(app) = App::start(db, "users_teams_and_profiles", Opts::default()).await else { continue };
        let nu = |name: &str, role: &str, team: &str| json!({"username": name, "password": "long enough pw", "role": role, "teamId": team});
        let a = app.team_a.clone();
        let b = app.team_b.clone();
        let cases: Vec<(&common::User, Value, StatusCode, &str, &str)> = vec![
            (&app.admin, nu("eve", "engineer", &a), StatusCode::CREATED, "", ""),
            (&app.engineer, nu("dan", "driver", &a), StatusCode::CREATED, "", ""),
            (&app.engineer, nu("ada", "admin", &a), StatusCode::FORBIDDEN, "forbidden", ""),
            (&app.engineer, nu("ed2", "engineer", &a), StatusCode::FORBIDDEN, "forbidden", ""),
            (&app.engineer, nu("dan2", "driver", &b), StatusCode::FORBIDDEN, "forbidden", ""),
            (&app.driver, nu("x1", "viewer", &a), StatusCode::FORBIDDEN, "forbidden", ""),
            (&app.viewer, nu("x2", "viewer", &a), StatusCode::FORBIDDEN, "forbidden", ""),
            (&app.admin, nu("dan", "driver", &a), StatusCode::CONFLICT, "conflict", ""),
            (
                &app.admin,
                json!({"username": "sho", "password": "short", "role": "driver", "teamId": a}),
                StatusCode::BAD_REQUEST,
                "validation_failed",
                "password",
            ),
            (&app.admin, nu("bad name", "driver", &a), StatusCode::BAD_REQUEST, "validation_failed", "username"),
            (&app.admin, nu("ok1", "pilot", &a), StatusCode::BAD_REQUEST, "validation_failed", "role"),
            (&app.admin, nu("ok2", "driver", "no-such-team"), StatusCode::BAD_REQUEST, "validation_failed", "teamId"),
            // Without teamId a user joins the creator's team.
            (
                &app.admin,
                json!({"username": "ok3", "password": "long enough pw", "role": "driver"}),
                StatusCode::CREATED,
                "",
                "",
            ),
            // A team's admin adds any role to their own team, nobody to another (issue 23 §10).
            (&app.team_admin, nu("ad2", "admin", &a), StatusCode::CREATED, "", ""),
            (&app.team_admin, nu("ad3", "driver", &b), StatusCode::FORBIDDEN, "forbidden", ""),
        ];
        for (i, (who, body, status, code, field)) in cases.into_iter().enumerate() {
            let (s, v) = app.as_user(who, "POST", "/api/users", Some(body)).await;
            assert_eq!((s, err(&v)), (status, (code.to_string(), field.to_string())), "{db:?} case {i}: {v}");
            if s == StatusCode::CREATED {
                assert!(v.get("passwordHash").is_none() && v.get("password_hash").is_none());
            }
        }
        // The new driver can log in.
        let (s, _) = app
            .call("POST", "/api/auth/login", None, Some(json!({"username": "dan", "password": "long enough pw"})))
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = app.as_user(&app.engineer, "GET", "/api/users", None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(v.as_array().expect("users").iter().all(|u| u["teamId"] == a.as_str()));
        let (s, _) = app.as_user(&app.viewer, "GET", "/api/users", None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app.as_user(&app.engineer, "GET", &format!("/api/users?teamId={b}"), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // Teams.
        let (s, v) = app.as_user(&app.admin, "POST", "/api/teams", Some(json!({"name": "Chicane"}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, _) = app.as_user(&app.engineer, "POST", "/api/teams", Some(json!({"name": "Mine"}))).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = app.as_user(&app.admin, "POST", "/api/teams", Some(json!({"name": ""}))).await;
        assert_eq!((s, err(&v)), (StatusCode::BAD_REQUEST, ("validation_failed".into(), "name".into())));
        let (s, _) = app.as_user(&app.admin, "POST", "/api/teams", Some(json!({"name": "Apex"}))).await;
        assert_eq!(s, StatusCode::CONFLICT);
        let (_, v) = app.as_user(&app.driver, "GET", "/api/teams", None).await;
        assert_eq!(v.as_array().map(Vec::len), Some(1));
        let (_, v) = app.as_user(&app.admin, "GET", "/api/teams", None).await;
        assert_eq!(v.as_array().map(Vec::len), Some(3));

        // Driver profiles.
        let profile = json!({"name": "Ana Silva", "number": 7, "status": "active", "role": "primary", "avatarUrl": ""});
        let p = |id: &str| format!("/api/drivers/{id}");
        let cases: Vec<(&common::User, String, Value, StatusCode, &str, &str)> = vec![
            (&app.driver, p(&app.driver.id), profile.clone(), StatusCode::OK, "", ""),
            (
                &app.engineer,
                p(&app.driver2.id),
                json!({"name": "Ben", "number": 8, "status": "standby", "role": "secondary"}),
                StatusCode::OK,
                "",
                "",
            ),
            (&app.driver, p(&app.driver2.id), profile.clone(), StatusCode::FORBIDDEN, "forbidden", ""),
            (&app.engineer_b, p(&app.driver.id), profile.clone(), StatusCode::FORBIDDEN, "forbidden", ""),
            (&app.viewer, p(&app.viewer.id), profile.clone(), StatusCode::FORBIDDEN, "forbidden", ""),
            (
                &app.driver,
                p(&app.driver.id),
                json!({"name": "A", "number": 10000, "status": "active", "role": "primary"}),
                StatusCode::BAD_REQUEST,
                "validation_failed",
                "number",
            ),
            (
                &app.driver,
                p(&app.driver.id),
                json!({"name": "A", "number": 1, "status": "asleep", "role": "primary"}),
                StatusCode::BAD_REQUEST,
                "validation_failed",
                "status",
            ),
            (&app.engineer, p(&app.engineer.id), profile.clone(), StatusCode::CONFLICT, "conflict", ""),
            (&app.admin, p("usr-nope"), profile.clone(), StatusCode::NOT_FOUND, "not_found", ""),
        ];
        for (i, (who, path, body, status, code, field)) in cases.into_iter().enumerate() {
            let (s, v) = app.as_user(who, "PUT", &path, Some(body)).await;
            assert_eq!((s, err(&v)), (status, (code.to_string(), field.to_string())), "{db:?} case {i}: {v}");
        }
        let (s, v) = app.as_user(&app.viewer, "GET", "/api/drivers", None).await;
        assert_eq!(s, StatusCode::OK);
        let list = v.as_array().expect("profiles");
        // Ana and Ben as edited above, and dan's own from his first sign-in (issue 21).
        assert_eq!(list.len(), 3, "{v}");
        let ana = list.iter().find(|p| p["id"] == app.driver.id.as_str()).expect("ana's profile");
        assert_eq!(ana["name"], "Ana Silva");
        assert_eq!(ana["team"], "Apex");
        assert_eq!(ana["role"], "primary");
        assert_eq!(ana["telemetryConnected"], false);
        assert!(ana["lastActive"].as_str().is_some());
        assert!(list.iter().any(|p| p["name"] == "dan"), "{v}");
        let (s, _) = app.as_user(&app.driver_b, "GET", &p(&app.driver.id), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = app.as_user(&app.driver2, "GET", &p(&app.driver.id), None).await;
        assert_eq!((s, v["number"].as_i64()), (StatusCode::OK, Some(7)));
    }
}

#[tokio::test]
async fn secrets_are_encrypted_and_never_returned() {
    for db in DBS {
        let Some(app) = App::start(db, "secrets", Opts { master_key: true, ..Opts::default() }).await else { continue };
        let (s, _) =
            app.as_user(&app.admin, "PUT", "/api/admin/secrets/openai", Some(json!({"value": "sk-very-secret"}))).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        for who in [&app.engineer, &app.driver, &app.viewer] {
            let (s, _) = app.as_user(who, "PUT", "/api/admin/secrets/openai", Some(json!({"value": "x"}))).await;
            assert_eq!(s, StatusCode::FORBIDDEN);
            let (s, _) = app.as_user(who, "GET", "/api/admin/secrets", None).await;
            assert_eq!(s, StatusCode::FORBIDDEN);
        }
        let (s, v) = app.as_user(&app.admin, "GET", "/api/admin/secrets", None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v[0]["name"], "openai");
        assert!(!v.to_string().contains("sk-very-secret"));
        let (s, v) = app.as_user(&app.admin, "PUT", "/api/admin/secrets/bad%20name", Some(json!({"value": "x"}))).await;
        assert_eq!((s, err(&v)), (StatusCode::BAD_REQUEST, ("validation_failed".into(), "name".into())));
        let (s, v) = app.as_user(&app.admin, "PUT", "/api/admin/secrets/x", Some(json!({"value": ""}))).await;
        assert_eq!((s, err(&v)), (StatusCode::BAD_REQUEST, ("validation_failed".into(), "value".into())));
        // At rest: the ciphertext does not contain the value; the right key decrypts it.
        let key = app.state.master_key.clone().expect("key");
        let got = pitbox_cloud::secrets::get(&app.state.store, &key, &app.team_a, "openai").await.expect("get");
        assert_eq!(got.as_deref(), Some("sk-very-secret"));
        let other = pitbox_cloud::secrets::MasterKey::from_base64(
            &pitbox_cloud::secrets::MasterKey::generate_base64().expect("k"),
        )
        .expect("k");
        assert!(pitbox_cloud::secrets::get(&app.state.store, &other, &app.team_a, "openai").await.is_err());
        let (s, _) = app.as_user(&app.admin, "DELETE", "/api/admin/secrets/openai", None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = app.as_user(&app.admin, "DELETE", "/api/admin/secrets/openai", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    // Without a master key the API says what is missing.
    let Some(app) = App::start(common::Db::Sqlite, "secrets-nokey", Opts::default()).await else { return };
    let (s, v) = app.as_user(&app.admin, "PUT", "/api/admin/secrets/openai", Some(json!({"value": "x"}))).await;
    assert_eq!((s, err(&v).0.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "no_master_key"));
}

#[tokio::test]
async fn health_config_metrics_openapi() {
    let Some(app) = App::start(common::Db::Sqlite, "health", Opts::default()).await else { return };
    let (s, v) = app.call("GET", "/health", None, None).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, v) = app.call("GET", "/api/config", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["protocolVersion"], pitbox_model::control::PROTOCOL_VERSION);
    assert_eq!(v["accessTokenTtl"], 86_400);
    let req = axum::http::Request::get("/metrics").body(axum::body::Body::empty()).expect("req");
    let resp = tower::ServiceExt::oneshot(app.router.clone(), req).await.expect("resp");
    assert_eq!(resp.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(resp.into_body()).await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("pitbox_http_requests_total"), "{text}");
    let (s, doc) = app.call("GET", "/api/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for e in pitbox_cloud::openapi::ENDPOINTS {
        assert!(doc["paths"][e.path][e.method].is_object(), "{} {} missing", e.method, e.path);
        for name in e.request.iter().chain(e.response.iter()) {
            // `Name[]` is an array of `Name`.
            let item = name.strip_suffix("[]").unwrap_or(name);
            assert!(doc["components"]["schemas"][item].is_object(), "schema {name} missing");
        }
    }
    // Every $ref resolves.
    let text = doc.to_string();
    for part in text.split("\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap_or("");
        assert!(doc["components"]["schemas"][name].is_object(), "dangling $ref {name}");
    }
    let req = axum::http::Request::get("/api/docs/").body(axum::body::Body::empty()).expect("req");
    let resp = tower::ServiceExt::oneshot(app.router.clone(), req).await.expect("resp");
    assert_eq!(resp.status(), StatusCode::OK);
    let (s, v) = app.call("GET", "/api/nothing-here", None, None).await;
    assert_eq!((s, err(&v).0.as_str()), (StatusCode::NOT_FOUND, "not_found"));
}

#[test]
fn migrations_are_twins() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut names: Vec<_> =
        std::fs::read_dir(dir.join("sqlite")).expect("dir").map(|e| e.expect("e").file_name()).collect();
    names.sort();
    assert!(!names.is_empty());
    for n in names {
        let lite = std::fs::read_to_string(dir.join("sqlite").join(&n)).expect("sqlite");
        let pg = std::fs::read_to_string(dir.join("postgres").join(&n)).expect("postgres twin");
        let strip = |s: &str| s.lines().filter(|l| !l.starts_with("--")).collect::<Vec<_>>().join("\n");
        assert_eq!(strip(&lite).replace("BLOB", "BYTEA"), strip(&pg), "{n:?}");
    }
}

/// Issue 23: the requesting driver answered `accepted` to their own handoff (200). Every
/// responder role × every answer on a fresh handoff, over REST: only the target driver, an
/// engineer or an admin accepts or rejects; completing is also for the requester.
#[tokio::test]
async fn handoff_answers_by_role_and_relation() {
    let db = DBS[0];
    let Some(app) = App::start(db, "handoff_answers_by_role_and_relation", Opts::default()).await else { return };
    let ok = StatusCode::OK;
    let no = StatusCode::FORBIDDEN;
    let cases: Vec<(&str, &common::User, &str, StatusCode)> = vec![
        ("requester", &app.driver, "accepted", no),
        ("requester", &app.driver, "rejected", no),
        ("requester", &app.driver, "completed", ok),
        ("target", &app.driver2, "accepted", ok),
        ("target", &app.driver2, "rejected", ok),
        ("target", &app.driver2, "completed", ok),
        ("engineer", &app.engineer, "accepted", ok),
        ("engineer", &app.engineer, "rejected", ok),
        ("engineer", &app.engineer, "completed", ok),
        ("admin", &app.admin, "accepted", ok),
        ("admin", &app.admin, "rejected", ok),
        ("admin", &app.admin, "completed", ok),
        ("viewer", &app.viewer, "accepted", no),
        ("viewer", &app.viewer, "rejected", no),
        ("viewer", &app.viewer, "completed", no),
        ("other team's engineer", &app.engineer_b, "accepted", no),
        ("other team's engineer", &app.engineer_b, "completed", no),
    ];
    for (name, who, answer, expected) in cases {
        let body = json!({"targetDriverId": app.driver2.id, "requesterId": app.driver.id});
        let (s, h) = app.as_user(&app.engineer, "POST", "/api/handoffs", Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{h}");
        let path = format!("/api/handoffs/{}/respond", h["id"].as_str().unwrap_or(""));
        if answer == "completed" {
            let (s, v) = app.as_user(&app.engineer, "POST", &path, Some(json!({"status": "accepted"}))).await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        let (s, v) = app.as_user(who, "POST", &path, Some(json!({"status": answer}))).await;
        assert_eq!(s, expected, "{name} answering {answer}: {v}");
    }
}

/// Issue 23: `POST /api/telemetry` stamped 9999-12-31 or 1900-01-01 was stored (201). Live
/// samples must now lie within the window around the server's clock (here the default day).
#[tokio::test]
async fn live_samples_far_from_the_server_clock_are_refused() {
    let opts = Opts { sample_clock_window: Some(pitbox_cloud::clock::DEFAULT_SAMPLE_CLOCK_WINDOW), ..Opts::default() };
    let Some(app) = App::start(common::Db::Sqlite, "live_clock_window", opts).await else { return };
    let now = chrono::Utc::now().timestamp_millis();
    let far = [253_402_214_400_000, -2_208_988_800_000, now + 25 * 3_600_000, now - 25 * 3_600_000];
    for ms in far {
        let (s, v) =
            app.as_user(&app.driver, "POST", "/api/telemetry", Some(telemetry_post(&app.driver.id, ms, 1))).await;
        assert_eq!(
            (s, err(&v)),
            (StatusCode::BAD_REQUEST, ("validation_failed".into(), "timestamp".into())),
            "{ms}: {v}"
        );
    }
    let (s, v) = app.as_user(&app.driver, "POST", "/api/telemetry", Some(telemetry_post(&app.driver.id, now, 1))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let flat = |ms: i64| {
        let post = telemetry_post(&app.driver.id, ms, 1);
        let mut sample = post["data"].clone();
        sample["driverId"] = post["driverId"].clone();
        sample["timestamp"] = post["timestamp"].clone();
        sample
    };
    let samples: Vec<Value> = [now, 253_402_214_400_000].into_iter().map(flat).collect();
    let body = json!({"driverId": app.driver.id, "samples": samples});
    let (s, v) = app.as_user(&app.driver, "POST", "/api/telemetry/batch", Some(body)).await;
    assert_eq!((s, err(&v).1.as_str()), (StatusCode::BAD_REQUEST, "samples[1].timestamp"), "{v}");
    let (_, sessions) = app.as_user(&app.viewer, "GET", "/api/sessions", None).await;
    assert_eq!(sessions.as_array().map(Vec::len), Some(1), "only the sample stamped now started a session: {sessions}");
}

/// Issue 23: `?limit=abc` and `?teamId=a&teamId=b` answered text/plain. Every 4xx, axum's own
/// refusals included, is now `{"error": {code, message, field}}`.
#[tokio::test]
async fn every_refusal_is_the_documented_json_error() {
    let Some(app) = App::start(common::Db::Sqlite, "json_refusals", Opts::default()).await else { return };
    let t = app.token(&app.engineer);
    let cases: Vec<(&str, &str, StatusCode, &str, &str)> = vec![
        ("GET", "/api/sessions?limit=abc", StatusCode::BAD_REQUEST, "validation_failed", "limit"),
        ("GET", "/api/sessions?teamId=a&teamId=b", StatusCode::BAD_REQUEST, "validation_failed", "teamId"),
        ("GET", "/api/messages?limit=-1", StatusCode::BAD_REQUEST, "validation_failed", "limit"),
        ("DELETE", "/api/sessions", StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", ""),
        ("PATCH", "/api/auth/login", StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", ""),
    ];
    for (method, path, status, code, field) in cases {
        let (s, v) = app.call(method, path, Some(&t), None).await;
        assert_eq!((s, err(&v)), (status, (code.to_string(), field.to_string())), "{method} {path}: {v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    // Body refusals: not JSON, wrong content type, too large.
    let raw = |ct: &str, body: Vec<u8>| {
        axum::http::Request::post("/api/messages")
            .header("authorization", format!("Bearer {t}"))
            .header("content-type", ct)
            .body(axum::body::Body::from(body))
            .expect("req")
    };
    let (s, v) = app.send(raw("application/json", b"{".to_vec())).await;
    assert_eq!((s, err(&v).0.as_str()), (StatusCode::BAD_REQUEST, "invalid_json"), "{v}");
    let (s, v) = app.send(raw("text/plain", b"{}".to_vec())).await;
    assert_eq!((s, err(&v).0.as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"), "{v}");
    let (s, v) = app.send(raw("application/json", vec![b' '; 8 * 1024 * 1024])).await;
    assert_eq!((s, err(&v).0.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"), "{v}");
}

/// Issue 23: a team could be named after another team's id (then `find_team` matched either),
/// and a name's length was counted in bytes but reported in characters.
#[tokio::test]
async fn team_names_never_stand_for_ids_and_count_characters() {
    let Some(app) = App::start(common::Db::Sqlite, "team_names", Opts::default()).await else { return };
    let create = |name: String| json!({"name": name});
    let (s, v) = app.as_user(&app.admin, "POST", "/api/teams", Some(create(app.team_b.clone()))).await;
    assert_eq!((s, err(&v)), (StatusCode::BAD_REQUEST, ("validation_failed".into(), "name".into())), "{v}");
    let (s, v) = app.as_user(&app.admin, "POST", "/api/teams", Some(create("team-0123456789abcdef".into()))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // 60 two-byte characters: 120 bytes, within the 100-character limit.
    let (s, v) = app.as_user(&app.admin, "POST", "/api/teams", Some(create("é".repeat(60)))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app.as_user(&app.admin, "POST", "/api/teams", Some(create("é".repeat(101)))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"]["message"].as_str().unwrap_or("").contains("got 101"), "{v}");
    // Names stay unique.
    let (s, _) = app.as_user(&app.admin, "POST", "/api/teams", Some(create("é".repeat(60)))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    // The store refuses the shadowing name too (the CLI's path), and an id always wins.
    let e = app.state.store.create_team(&app.team_a).await.expect_err("an id as a name");
    assert!(matches!(e, pitbox_cloud::store::StoreError::Conflict(_)), "{e}");
    let found = app.state.store.find_team(&app.team_a).await.expect("find").expect("team");
    assert_eq!(found.id, app.team_a);
}
