//! Issue 23 §9–10: access ends within seconds on every node (logout, password and role change,
//! disabled and deleted accounts, open WebSockets too), a team admin manages and reads only their
//! team, secrets are per team with the deployment's as the default. Before this change every one
//! of these tests failed: tokens lived their 24 hours whatever happened, and admins were global.

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::{App, Opts, next_json, serve, ws_login};
use pitbox_cloud::{AppState, Store};
use serde_json::{Value, json};

const PASSWORD: &str = common::PASSWORD;

/// A second node on the same database, with the same signing key.
async fn second_node(app: &App) -> axum::Router {
    let store = Store::open(&app.db.url).await.expect("store");
    let mut config = pitbox_cloud::Config::local(app.db.dir());
    config.database_url = app.db.url.clone();
    let objects = pitbox_cloud::objects::Objects::local(&app.db.dir().join("objects-b")).expect("objects");
    let bus = pitbox_cloud::bus::Bus::in_process(&config.node_id);
    let state = AppState::assemble(store, objects, bus, (*app.state.keys).clone(), &config);
    pitbox_cloud::server::router(state)
}

async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    common::call_router(router, method, path, token, body).await
}

async fn login(app: &App, username: &str, password: &str) -> (StatusCode, Value) {
    app.call("POST", "/api/auth/login", None, Some(json!({"username": username, "password": password}))).await
}

/// Waits until `token` is refused by `router` with 401 `token_revoked`; returns how long it took.
async fn refused_within(router: &axum::Router, token: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let (s, v) = call(router, "GET", "/api/auth/me", Some(token), None).await;
        if s == StatusCode::UNAUTHORIZED {
            assert_eq!(v["error"]["code"], "token_revoked", "{v}");
            return start.elapsed();
        }
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(start.elapsed() < limit, "the token was still accepted after {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn revoked_access_ends_within_seconds_on_every_node() {
    for db in common::DBS {
        let Some(app) = App::start(db, "revocation", Opts { login_max_failures: Some(3), ..Opts::default() }).await
        else {
            continue;
        };
        let node_b = second_node(&app).await;
        let limit = Duration::from_secs(6);

        // Logout with the access token: refused at once here, within seconds on the other node.
        let (s, v) = login(&app, "ana", PASSWORD).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (token, refresh) = (v["token"].as_str().expect("token"), v["refreshToken"].as_str().expect("refresh"));
        assert_eq!(call(&node_b, "GET", "/api/auth/me", Some(token), None).await.0, StatusCode::OK);
        let (s, _) = app.call("POST", "/api/auth/logout", Some(token), Some(json!({"refreshToken": refresh}))).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        // Limit zero: the first answer must already be the refusal.
        refused_within(&app.router, token, Duration::ZERO).await;
        let took = refused_within(&node_b, token, limit).await;
        println!("{db:?}: logout reached the other node in {} ms", took.as_millis());
        // Another login of the same user is not affected.
        let (_, v) = login(&app, "ana", PASSWORD).await;
        let other = v["token"].as_str().expect("token").to_string();
        assert_eq!(app.call("GET", "/api/auth/me", Some(&other), None).await.0, StatusCode::OK);

        // A password change ends every earlier token and refresh token; the new password works.
        let (_, v) = login(&app, "ben", PASSWORD).await;
        let (ben, ben_refresh) =
            (v["token"].as_str().expect("t").to_string(), v["refreshToken"].as_str().expect("r").to_string());
        let path = format!("/api/users/{}/password", app.driver2.id);
        let (s, v) = app.call("POST", &path, Some(&ben), Some(json!({"password": "a new long password"}))).await;
        assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("currentPassword")), "{v}");
        let (s, v) = app
            .call(
                "POST",
                &path,
                Some(&ben),
                Some(json!({"password": "a new long password", "currentPassword": "wrong one"})),
            )
            .await;
        assert_eq!((s, v["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("currentPassword")), "{v}");
        let body = json!({"password": "a new long password", "currentPassword": PASSWORD});
        assert_eq!(app.call("POST", &path, Some(&ben), Some(body)).await.0, StatusCode::NO_CONTENT);
        refused_within(&node_b, &ben, limit).await;
        let (s, _) = app.call("POST", "/api/auth/refresh", None, Some(json!({"refreshToken": ben_refresh}))).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(login(&app, "ben", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
        let (s, v) = login(&app, "ben", "a new long password").await;
        assert_eq!(s, StatusCode::OK);
        let ben = v["token"].as_str().expect("token").to_string();
        assert_eq!(call(&node_b, "GET", "/api/auth/me", Some(&ben), None).await.0, StatusCode::OK);

        // A role change ends the tokens that carry the old role; a refresh carries the new one.
        let (_, v) = login(&app, "vic", PASSWORD).await;
        let (vic, vic_refresh) =
            (v["token"].as_str().expect("t").to_string(), v["refreshToken"].as_str().expect("r").to_string());
        let role_path = format!("/api/users/{}/role", app.viewer.id);
        let (s, v) = app.as_user(&app.team_admin, "PUT", &role_path, Some(json!({"role": "driver"}))).await;
        assert_eq!((s, v["role"].as_str()), (StatusCode::OK, Some("driver")), "{v}");
        refused_within(&node_b, &vic, limit).await;
        let (s, v) = app.call("POST", "/api/auth/refresh", None, Some(json!({"refreshToken": vic_refresh}))).await;
        assert_eq!((s, v["user"]["role"].as_str()), (StatusCode::OK, Some("driver")), "{v}");

        // Disabled: the right password is told so, refresh and every token are refused, an open
        // WebSocket is closed with 4009; enabled again, sign-in works.
        let addr = serve(app.router.clone()).await;
        let (_, v) = login(&app, "ana", PASSWORD).await;
        let (ana, ana_refresh) =
            (v["token"].as_str().expect("t").to_string(), v["refreshToken"].as_str().expect("r").to_string());
        let (mut ws, r) = ws_login(addr, &ana, "dashboard").await;
        assert_eq!(r["data"]["success"], true, "{r}");
        let disable = format!("/api/users/{}/disable", app.driver.id);
        let (s, v) = app.as_user(&app.engineer, "POST", &disable, None).await;
        assert_eq!((s, v["disabled"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
        let closed = next_json(&mut ws).await;
        assert_eq!(closed["code"], 4009, "{closed}");
        refused_within(&node_b, &ana, limit).await;
        refused_within(&node_b, &other, limit).await;
        let (s, v) = login(&app, "ana", PASSWORD).await;
        assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("account_disabled")), "{v}");
        assert_eq!(login(&app, "ana", "not her password").await.0, StatusCode::UNAUTHORIZED);
        let (s, _) = app.call("POST", "/api/auth/refresh", None, Some(json!({"refreshToken": ana_refresh}))).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let enable = format!("/api/users/{}/enable", app.driver.id);
        assert_eq!(app.as_user(&app.engineer, "POST", &enable, None).await.0, StatusCode::OK);
        let (s, v) = login(&app, "ana", PASSWORD).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            app.call("GET", "/api/auth/me", Some(v["token"].as_str().expect("t")), None).await.0,
            StatusCode::OK
        );
        // The token from before the account was disabled stays refused.
        assert_eq!(app.call("GET", "/api/auth/me", Some(&ana), None).await.0, StatusCode::UNAUTHORIZED);

        // Locked after wrong passwords, unlocked by whoever manages the account, on every node.
        for _ in 0..3 {
            assert_eq!(login(&app, "ana", "wrong").await.0, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(login(&app, "ana", PASSWORD).await.0, StatusCode::TOO_MANY_REQUESTS);
        let unlock = format!("/api/users/{}/unlock", app.driver.id);
        assert_eq!(app.as_user(&app.driver2, "POST", &unlock, None).await.0, StatusCode::FORBIDDEN);
        assert_eq!(app.as_user(&app.team_admin, "POST", &unlock, None).await.0, StatusCode::NO_CONTENT);
        assert_eq!(login(&app, "ana", PASSWORD).await.0, StatusCode::OK);

        // Deleted: every token refused, no sign-in; what the user wrote stays.
        let (_, v) = login(&app, "ben", "a new long password").await;
        let ben2 = v["token"].as_str().expect("token").to_string();
        let (s, _) = app.call("POST", "/api/messages", Some(&ben2), Some(json!({"content": "I was here"}))).await;
        assert_eq!(s, StatusCode::CREATED);
        let user_path = format!("/api/users/{}", app.driver2.id);
        assert_eq!(app.as_user(&app.driver, "DELETE", &user_path, None).await.0, StatusCode::FORBIDDEN);
        assert_eq!(app.as_user(&app.team_admin, "DELETE", &user_path, None).await.0, StatusCode::NO_CONTENT);
        refused_within(&node_b, &ben2, limit).await;
        assert_eq!(login(&app, "ben", "a new long password").await.0, StatusCode::UNAUTHORIZED);
        let (_, v) = app.as_user(&app.engineer, "GET", "/api/messages", None).await;
        assert!(v.as_array().expect("messages").iter().any(|m| m["content"] == "I was here"), "{v}");
        assert_eq!(app.as_user(&app.team_admin, "DELETE", &user_path, None).await.0, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_team_admin_manages_and_reads_only_their_team() {
    for db in common::DBS {
        let Some(app) = App::start(db, "team_admin", Opts { master_key: true, ..Opts::default() }).await else {
            continue;
        };
        let b = app.team_b.clone();
        // Issue 23 §10: an admin of team A read team B's messages and voice clips.
        let (s, _) = app.as_user(&app.engineer_b, "POST", "/api/messages", Some(json!({"content": "B only"}))).await;
        assert_eq!(s, StatusCode::CREATED);
        for path in [
            format!("/api/messages?teamId={b}"),
            format!("/api/sessions?teamId={b}"),
            format!("/api/users?teamId={b}"),
            format!("/api/handoffs?teamId={b}"),
        ] {
            let (s, v) = app.as_user(&app.team_admin, "GET", &path, None).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {v}");
            let (s, v) = app.as_user(&app.admin, "GET", &path, None).await;
            assert_ne!(s, StatusCode::FORBIDDEN, "the owner reads {path}: {v}");
        }
        // Listing without teamId: a team admin sees their team, the owner every team.
        let (_, v) = app.as_user(&app.team_admin, "GET", "/api/users", None).await;
        assert!(v.as_array().expect("users").iter().all(|u| u["teamId"] == app.team_a.as_str()), "{v}");
        let (_, v) = app.as_user(&app.admin, "GET", "/api/users", None).await;
        assert!(v.as_array().expect("users").iter().any(|u| u["teamId"] == b.as_str()), "{v}");
        let (_, v) = app.as_user(&app.admin, "GET", "/api/auth/me", None).await;
        assert_eq!(v["owner"], true);
        // Creating teams is the owner's.
        let (s, _) = app.as_user(&app.team_admin, "POST", "/api/teams", Some(json!({"name": "Mine"}))).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // Managing another team's accounts is refused as if they did not exist.
        let path = format!("/api/users/{}/disable", app.driver_b.id);
        assert_eq!(app.as_user(&app.team_admin, "POST", &path, None).await.0, StatusCode::NOT_FOUND);
        // An admin manages no owner.
        let path = format!("/api/users/{}/disable", app.admin.id);
        assert_eq!(app.as_user(&app.team_admin, "POST", &path, None).await.0, StatusCode::FORBIDDEN);
        // Posting telemetry for another team's driver is refused.
        let sample = common::telemetry_post(&app.driver_b.id, 1_790_000_000_000, 1);
        assert_eq!(app.as_user(&app.team_admin, "POST", "/api/telemetry", Some(sample)).await.0, StatusCode::FORBIDDEN);

        // Secrets per team: team B's admin deleting "openai" no longer deletes team A's.
        let put = |v: &str| Some(json!({"value": v}));
        let (s, _) = app.as_user(&app.team_admin, "PUT", "/api/admin/secrets/openai", put("sk-team-a")).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = app.as_user(&app.admin_b, "DELETE", "/api/admin/secrets/openai", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let key = app.state.master_key.clone().expect("key");
        let store = &app.state.store;
        let got = pitbox_cloud::secrets::get(store, &key, &app.team_a, "openai").await.expect("get");
        assert_eq!(got.as_deref(), Some("sk-team-a"));
        assert_eq!(pitbox_cloud::secrets::get(store, &key, &b, "openai").await.expect("get"), None);
        // The deployment's default is the owner's; every team without its own uses it.
        let q = "/api/admin/secrets/openai?scope=deployment";
        assert_eq!(app.as_user(&app.admin_b, "PUT", q, put("sk-x")).await.0, StatusCode::FORBIDDEN);
        assert_eq!(app.as_user(&app.admin, "PUT", q, put("sk-default")).await.0, StatusCode::NO_CONTENT);
        let got = pitbox_cloud::secrets::get(store, &key, &b, "openai").await.expect("get");
        assert_eq!(got.as_deref(), Some("sk-default"));
        let got = pitbox_cloud::secrets::get(store, &key, &app.team_a, "openai").await.expect("get");
        assert_eq!(got.as_deref(), Some("sk-team-a"));
        let (_, v) = app.as_user(&app.admin_b, "GET", "/api/admin/secrets", None).await;
        assert_eq!(v, json!([{"name": "openai", "scope": "deployment", "updatedAt": v[0]["updatedAt"]}]));
        let (_, v) = app.as_user(&app.team_admin, "GET", "/api/admin/secrets", None).await;
        assert_eq!((v[0]["scope"].as_str(), v.as_array().map(Vec::len)), (Some("team"), Some(1)), "{v}");
        // The owner manages a team's secrets by naming it.
        let q = format!("/api/admin/secrets/openai?teamId={b}");
        assert_eq!(app.as_user(&app.admin, "PUT", &q, put("sk-b")).await.0, StatusCode::NO_CONTENT);
        let got = pitbox_cloud::secrets::get(store, &key, &b, "openai").await.expect("get");
        assert_eq!(got.as_deref(), Some("sk-b"));
    }
}
