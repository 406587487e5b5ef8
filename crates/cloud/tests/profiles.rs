//! Issue 21, "Identity and freshness on the pit wall": driver profiles are created on a driver's
//! first sign-in and first stored samples (never overwriting an admin's edits), and
//! `GET /api/drivers` says how fresh a driver is (lastActive, telemetryConnected, simName,
//! stintStartedAt) from the stored telemetry, whichever way it came. Both databases.

mod common;

use axum::http::StatusCode;
use common::{App, DBS, Opts, serve, ws_login, ws_send};
use serde_json::{Value, json};

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ms_of(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .expect("rfc3339")
        .timestamp_millis()
}

async fn drivers(app: &App) -> Vec<Value> {
    let (s, v) = app.as_user(&app.engineer, "GET", "/api/drivers", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array().cloned().unwrap_or_default()
}

async fn driver(app: &App, id: &str) -> Value {
    let (s, v) = app.as_user(&app.engineer, "GET", &format!("/api/drivers/{id}"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn login(app: &App, username: &str) {
    let (s, v) = app
        .call("POST", "/api/auth/login", None, Some(json!({"username": username, "password": common::PASSWORD})))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// `n` samples of `driver`, 200 ms apart, the first at `first_ms`.
fn samples(driver: &str, first_ms: i64, n: i64) -> Vec<Value> {
    (0..n).map(|i| common::update(driver, first_ms + i * 200, 1, 0)).collect()
}

/// A relay's uplink streams one sequenced batch; waits for its ack.
async fn relay_batch(up: &mut common::Ws, driver: &str, seq: u64, samples: Vec<Value>) {
    let batch = json!({"type": "telemetry_batch", "data": {"driverId": driver, "sequence": seq, "samples": samples}});
    ws_send(up, batch).await;
    loop {
        let m = common::next_json(up).await;
        assert_ne!(m["type"], "error", "{m}");
        if m["type"] == "ack" && m["data"]["sequence"] == seq {
            return;
        }
    }
}

fn relay_token(app: &App) -> String {
    app.state
        .keys
        .issue_relay("relay-profiles", &app.team_a, "test relay", std::time::Duration::from_secs(3600))
        .expect("relay token")
        .0
}

#[tokio::test]
async fn a_driver_who_signs_in_gets_a_profile() {
    for db in DBS {
        let Some(app) = App::start(db, "profiles_sign_in", Opts::default()).await else { continue };
        assert!(drivers(&app).await.is_empty());
        login(&app, "ana").await;
        // Staff signing in get no driver profile.
        login(&app, "eng").await;
        let list = drivers(&app).await;
        assert_eq!(list.len(), 1, "{list:?}");
        let p = &list[0];
        assert_eq!(p["id"], app.driver.id.as_str());
        assert_eq!(p["name"], "ana");
        assert_eq!(p["team"], "Apex");
        assert_eq!(p["role"], "primary");
        assert_eq!(p["status"], "active");
        assert_eq!(p["number"], 0);
        assert_eq!(p["telemetryConnected"], false);
        assert!(p["simName"].is_null() && p["stintStartedAt"].is_null(), "{p}");
        assert!((now_ms() - ms_of(&p["lastActive"])).abs() < 10_000, "{p}");
        // The team's second driver is secondary; a sign-in again changes nothing.
        login(&app, "ben").await;
        login(&app, "ana").await;
        let list = drivers(&app).await;
        assert_eq!(list.len(), 2, "{list:?}");
        assert_eq!(driver(&app, &app.driver2.id).await["role"], "secondary");
        assert_eq!(driver(&app, &app.driver.id).await["role"], "primary");
    }
}

#[tokio::test]
async fn a_driver_streaming_through_a_relay_is_active_now_with_the_sims_name_and_stint() {
    for db in DBS {
        let Some(app) = App::start(db, "profiles_relay", Opts::default()).await else { continue };
        let addr = serve(app.router.clone()).await;
        let (mut up, r) = ws_login(addr, &relay_token(&app), "relay").await;
        assert_eq!(r["data"]["success"], true, "{r}");
        let ben = app.driver2.id.clone();
        let first = now_ms() - 2_000;
        relay_batch(&mut up, &ben, 1, samples(&ben, first, 5)).await;

        // The profile exists once the first samples are stored (ben never signed in).
        let p = driver(&app, &ben).await;
        assert_eq!(p["name"], "ben", "{p}");
        assert_eq!(p["telemetryConnected"], true, "{p}");
        assert!((now_ms() - ms_of(&p["lastActive"])).abs() < 5_000, "{p}");
        assert_eq!(ms_of(&p["stintStartedAt"]), first, "{p}");

        // More samples: the stint still began with the session's first sample.
        relay_batch(&mut up, &ben, 2, samples(&ben, first + 1_000, 5)).await;
        let p = driver(&app, &ben).await;
        assert_eq!(ms_of(&p["stintStartedAt"]), first, "{p}");
        assert!((now_ms() - ms_of(&p["lastActive"])).abs() < 5_000, "{p}");

        // The sim's name for the driver, from session_info's line of their own car.
        let info = json!({"type": "session_info", "data": {
        "driverId": ben, "sessionId": "s-1", "timestamp": chrono::Utc::now().to_rfc3339(),
        "track": {"name": "rbr", "displayName": "Red Bull Ring", "lengthKm": 4.3},
        "carName": "Mercedes-AMG GT4", "sessionType": "race", "sectors": [0.0, 0.5],
        "playerCarIdx": 3, "drivers": [
            {"carIdx": 1, "name": "Someone Else", "carNumber": "1", "carName": "Mercedes-AMG GT4"},
            {"carIdx": 3, "name": "Max Teichert2", "carNumber": "23", "carName": "Mercedes-AMG GT4"}
        ]}});
        ws_send(&mut up, info).await;
        let mut p = Value::Null;
        for _ in 0..100 {
            p = driver(&app, &ben).await;
            if !p["simName"].is_null() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(p["simName"], "Max Teichert2", "{p}");
        assert_eq!(p["name"], "ben", "{p}");

        // Samples of long ago: not connected, not driving now.
        let old = now_ms() - 3_600_000;
        let zoe = app.driver_b.clone();
        let (s, v) = app
            .as_user(
                &zoe,
                "POST",
                "/api/telemetry/batch",
                Some(json!({"driverId": zoe.id, "samples": samples(&zoe.id, old, 3)})),
            )
            .await;
        assert!(s.is_success(), "{s} {v}");
        let (s, p) = app.as_user(&app.engineer_b, "GET", &format!("/api/drivers/{}", zoe.id), None).await;
        assert_eq!(s, StatusCode::OK, "{p}");
        assert_eq!(p["name"], "zoe", "{p}");
        assert_eq!(p["telemetryConnected"], false, "{p}");
        assert!(p["stintStartedAt"].is_null(), "{p}");
    }
}

#[tokio::test]
async fn an_admins_edit_survives_later_sign_ins_and_streams() {
    for db in DBS {
        let Some(app) = App::start(db, "profiles_admin_edit", Opts::default()).await else { continue };
        let ana = app.driver.id.clone();
        let edit = json!({"name": "Alex Driver", "number": 7, "status": "active", "role": "primary", "avatarUrl": ""});
        let (s, v) = app.as_user(&app.team_admin, "PUT", &format!("/api/drivers/{ana}"), Some(edit)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        login(&app, "ana").await;
        let first = now_ms() - 1_000;
        let (s, v) = app
            .as_user(
                &app.driver,
                "POST",
                "/api/telemetry/batch",
                Some(json!({"driverId": ana, "samples": samples(&ana, first, 5)})),
            )
            .await;
        assert!(s.is_success(), "{s} {v}");
        let addr = serve(app.router.clone()).await;
        let (mut up, _) = ws_login(addr, &relay_token(&app), "relay").await;
        relay_batch(&mut up, &ana, 1, samples(&ana, first + 1_000, 3)).await;
        login(&app, "ana").await;
        let p = driver(&app, &ana).await;
        assert_eq!((p["name"].as_str(), p["number"].as_u64()), (Some("Alex Driver"), Some(7)), "{p}");
        assert_eq!(p["role"], "primary");
        assert_eq!(p["telemetryConnected"], true, "{p}");
        assert_eq!(ms_of(&p["stintStartedAt"]), first, "{p}");
        assert_eq!(drivers(&app).await.len(), 1);
    }
}
