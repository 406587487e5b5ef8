//! Issue 25 §5: the pit wall chooses the lap of the team's history a driver's cues are made
//! against. On the real Tsukuba file (imported): its clean lap 2 is accepted and reaches the
//! driver's connection as `cue_reference`; the pit-exit lap 1 is refused naming `lapId`; the
//! lap's reference is the engine's (lap 2, iRacing's 23.98 s, corners found); drivers and viewers
//! cannot choose; a driver reads only their own; `DELETE` goes back to the driver's own best lap
//! and says so to the driver. SQLite and PostgreSQL; skips without the shared data.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{App, DBS, Opts, err};
use serde_json::json;

const FILE: &str = "Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt";

#[tokio::test]
async fn the_pit_wall_chooses_a_drivers_cue_reference_from_the_teams_laps() {
    let name = "the_pit_wall_chooses_a_drivers_cue_reference_from_the_teams_laps";
    for db in DBS {
        let Some(app) = App::start(db, name, Opts::default()).await else { continue };
        let Some(path) = pitbox_testkit::ibt_file(name, FILE) else { return };
        // The file is driver2's session (a teammate's lap), chosen for the driver.
        let url = format!("/api/sessions/import?driverId={}", app.driver2.id);
        let req = Request::post(&url)
            .header("authorization", format!("Bearer {}", app.token(&app.engineer)))
            .header("content-type", "application/octet-stream")
            .body(Body::from(std::fs::read(&path).expect("read")))
            .expect("request");
        let (s, v) = app.send(req).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let sid = v["sessionId"].as_str().expect("session").to_string();
        let (_, laps) = app.as_user(&app.engineer, "GET", &format!("/api/sessions/{sid}/laps"), None).await;
        let lap_id = |n: i64| {
            laps.as_array()
                .and_then(|l| l.iter().find(|x| x["lap"] == n))
                .and_then(|x| x["id"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| panic!("lap {n} in {laps}"))
        };
        let (out_lap, clean_lap) = (lap_id(1), lap_id(2));

        // The lap as the engine's reference.
        let (s, r) = app.as_user(&app.driver, "GET", &format!("/api/laps/{clean_lap}/reference"), None).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["lapNumber"], 2);
        assert!((r["lapTime"].as_f64().expect("time") - 23.9797).abs() < 0.02, "{}", r["lapTime"]);
        assert_eq!(r["valid"], true);
        assert!(r["corners"]["corners"].as_array().is_some_and(|c| c.len() >= 2), "{}", r["corners"]);
        let (s, _) = app.as_user(&app.driver_b, "GET", &format!("/api/laps/{clean_lap}/reference"), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "another team's lap");

        let addr = common::serve(app.router.clone()).await;
        let (mut car, r) = common::ws_login(addr, &app.token(&app.driver), "driver").await;
        assert_eq!(r["data"]["success"], true, "{r}");
        let (mut other_car, _) = common::ws_login(addr, &app.token(&app.driver2), "driver").await;

        let path = format!("/api/drivers/{}/cue-reference", app.driver.id);
        let (s, _) = app.as_user(&app.driver, "GET", &path, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "nothing chosen yet: the driver's own best lap");
        // Refusals, each with its reason.
        let (s, v) = app.as_user(&app.driver, "PUT", &path, Some(json!({"lapId": clean_lap}))).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, _) = app.as_user(&app.viewer, "PUT", &path, Some(json!({"lapId": clean_lap}))).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = app.as_user(&app.engineer, "PUT", &path, Some(json!({"lapId": out_lap}))).await;
        assert_eq!((s, err(&v).1.as_str()), (StatusCode::BAD_REQUEST, "lapId"), "{v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains("pit road")), "{v}");
        let (s, v) = app.as_user(&app.engineer, "PUT", &path, Some(json!({"lapId": "lap-nope"}))).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
        let eng = format!("/api/drivers/{}/cue-reference", app.engineer.id);
        let (s, v) = app.as_user(&app.engineer, "PUT", &eng, Some(json!({"lapId": clean_lap}))).await;
        assert_eq!((s, err(&v).1.as_str()), (StatusCode::BAD_REQUEST, "id"), "not a driver: {v}");
        let foreign = format!("/api/drivers/{}/cue-reference", app.driver_b.id);
        let (s, _) = app.as_user(&app.engineer, "PUT", &foreign, Some(json!({"lapId": clean_lap}))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "another team's driver");

        // Chosen: stored, and the driver's connection is told.
        let (s, v) = app.as_user(&app.engineer, "PUT", &path, Some(json!({"lapId": clean_lap}))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["lapId"], clean_lap.as_str());
        assert!(v["name"].as_str().is_some_and(|n| n.starts_with("lap 2 of ")), "{v}");
        let got = common::next_of(&mut car, &["cue_reference"], 5_000).await.expect("the driver's agent is told");
        assert_eq!(got["data"]["lapId"], clean_lap.as_str(), "{got}");
        assert_eq!(got["data"]["setBy"], app.engineer.id.as_str());
        assert_eq!(common::next_of(&mut other_car, &["cue_reference"], 300).await, None, "another driver");
        let (s, v) = app.as_user(&app.driver, "GET", &path, None).await;
        assert_eq!((s, v["lapId"].as_str()), (StatusCode::OK, Some(clean_lap.as_str())), "{v}");
        let (s, _) = app.as_user(&app.driver2, "GET", &path, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "a driver reads only their own");

        // Back to the driver's own best lap.
        let (s, _) = app.as_user(&app.driver, "DELETE", &path, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = app.as_user(&app.engineer, "DELETE", &path, None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let got = common::next_of(&mut car, &["cue_reference"], 5_000).await.expect("told again");
        assert!(got["data"].get("lapId").is_none(), "{got}");
        let (s, _) = app.as_user(&app.driver, "GET", &path, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}
