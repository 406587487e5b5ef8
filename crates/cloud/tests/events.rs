//! Events (issue 20 §2): one iRacing subsession seen by a team — every driver's sessions,
//! stints, and the standings of every car stored per sim session (never mixed across practice
//! and race), with snapshots at a driver change and at a session's end. Teams are kept apart.
//! Each test runs on SQLite and, when `PITBOX_TEST_DATABASE_URL` is set, on PostgreSQL.

mod common;

use axum::http::StatusCode;
use common::{App, DBS, Opts, err, serve, ws_login, ws_send};
use serde_json::{Value, json};

const EVENT: &str = "iracing:55:777";

fn session_info(driver: &str, key: &str, kind: &str) -> Value {
    json!({"type": "session_info", "data": {
        "driverId": driver, "sessionId": key.replace(':', "-"), "timestamp": "2026-11-26T15:58:00Z",
        "track": {"name": "spa", "displayName": "Spa-Francorchamps", "lengthKm": 7.0},
        "carName": "Porsche 911 GT3 R", "sessionType": "race", "sectors": [0.0, 0.5],
        "playerCarIdx": 3, "drivers": [],
        "simSessionId": key, "simSessionType": kind, "carNumber": "23"}})
}

fn entry(car_idx: u32, position: u32, lap: i32, team_car: bool) -> Value {
    json!({"carIdx": car_idx, "carNumber": format!("{car_idx}"), "driverName": format!("Driver {car_idx}"),
        "position": position, "classPosition": position, "lap": lap, "trackPosition": 0.5,
        "lastLapTime": 140.0 + f64::from(car_idx), "bestLapTime": 139.0 + f64::from(car_idx),
        "gapToLeader": null, "gapToAhead": null, "onPitRoad": false, "pitStops": 1, "isTeamCar": team_car})
}

fn standings(driver: &str, key: Option<&str>, session_time: f64, order: &[(u32, u32, i32)]) -> Value {
    let entries: Vec<Value> = order.iter().map(|&(car, pos, lap)| entry(car, pos, lap, car == 3)).collect();
    let mut data = json!({"driverId": driver, "timestamp": "2026-11-26T16:00:00Z", "sessionTime": session_time,
        "entries": entries});
    if let Some(k) = key {
        data["simSessionId"] = json!(k);
    }
    json!({"type": "standings_update", "data": data})
}

/// Polls `GET path` as `who` until `done` holds (5 s at most); returns the last answer.
async fn poll(app: &App, who: &common::User, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let (s, v) = app.as_user(who, "GET", path, None).await;
        if s == StatusCode::OK && done(&v) {
            return v;
        }
        last = v;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    last
}

/// A stored snapshot: sim session, reason, reporter, and (carIdx, position) in order.
type Snapshot = (String, String, String, Vec<(u64, u64)>);

fn snapshots(detail: &Value) -> Vec<Snapshot> {
    detail["standings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    let order = s["entries"]
                        .as_array()
                        .map(|e| {
                            e.iter()
                                .map(|x| (x["carIdx"].as_u64().unwrap_or(99), x["position"].as_u64().unwrap_or(99)))
                                .collect()
                        })
                        .unwrap_or_default();
                    (
                        s["simSessionId"].as_str().unwrap_or("").to_string(),
                        s["reason"].as_str().unwrap_or("").to_string(),
                        s["reportedBy"].as_str().unwrap_or("").to_string(),
                        order,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn practice_and_race_of_one_subsession_are_one_event_with_standings_per_session() {
    for db in DBS {
        let Some(app) = App::start(db, "events_standings", Opts::default()).await else { continue };
        let addr = serve(app.router.clone()).await;
        let (practice, race) = (format!("{EVENT}:0"), format!("{EVENT}:2"));
        let (ana, ben) = (app.driver.id.clone(), app.driver2.id.clone());

        // Ana practises, then starts the race; Ben takes over the car mid-race.
        let (mut wa, r) = ws_login(addr, &app.token(&app.driver), "driver").await;
        assert_eq!(r["data"]["success"], true, "{r}");
        ws_send(&mut wa, session_info(&ana, &practice, "Practice")).await;
        ws_send(&mut wa, standings(&ana, Some(&practice), 600.0, &[(5, 1, 7), (3, 2, 7), (8, 3, 6)])).await;
        let detail = poll(&app, &app.engineer, &format!("/api/events/{EVENT}"), |v| snapshots(v).len() == 1).await;
        assert_eq!(
            snapshots(&detail),
            [(practice.clone(), "latest".into(), ana.clone(), vec![(5, 1), (3, 2), (8, 3)])],
            "{db:?} {detail}"
        );
        ws_send(&mut wa, session_info(&ana, &race, "Race")).await;
        ws_send(&mut wa, standings(&ana, Some(&race), 100.0, &[(3, 1, 1), (5, 2, 1)])).await;
        poll(&app, &app.engineer, &format!("/api/events/{EVENT}"), |v| {
            snapshots(v).iter().any(|g| g.0 == race && g.2 == ana)
        })
        .await;
        let (mut wb, r) = ws_login(addr, &app.token(&app.driver2), "driver").await;
        assert_eq!(r["data"]["success"], true, "{r}");
        ws_send(&mut wb, session_info(&ben, &race, "Race")).await;
        // An older agent (no simSessionId): stored with Ben's newest named session, the race.
        ws_send(&mut wb, standings(&ben, None, 3_700.0, &[(5, 1, 26), (3, 2, 26)])).await;

        let detail = poll(&app, &app.engineer, &format!("/api/events/{EVENT}"), |v| {
            snapshots(v).iter().any(|g| g.1 == "latest" && g.2 == app.driver2.id)
                && v["standings"].as_array().is_some_and(|a| a.iter().all(|s| s["sessionType"].is_string()))
                && v["sessionCount"] == 3
        })
        .await;
        let got = snapshots(&detail);
        // Practice: its latest, and the same again as its end when Ana moved on to the race.
        // Race: the latest (Ben's), and the standings as Ben took over (a stint change).
        assert_eq!(got.len(), 4, "{db:?} {got:?}");
        let by = |sim: &str, reason: &str| got.iter().filter(|g| g.0 == sim && g.1 == reason).count();
        assert_eq!(by(&practice, "latest"), 1, "{db:?} {got:?}");
        assert_eq!(by(&practice, "end"), 1, "{db:?} {got:?}");
        assert_eq!(by(&race, "latest"), 1, "{db:?} {got:?}");
        assert_eq!(by(&race, "stint"), 1, "{db:?} {got:?}");
        let race_latest = got.iter().find(|g| g.0 == race && g.1 == "latest").expect("race latest");
        assert_eq!(race_latest.2, ben, "the race's newest standings are Ben's");
        assert_eq!(race_latest.3, [(5, 1), (3, 2)], "never practice's cars or order");
        let practice_latest = got.iter().find(|g| g.0 == practice && g.1 == "latest").expect("practice latest");
        assert_eq!(practice_latest.3, [(5, 1), (3, 2), (8, 3)], "the race did not change practice");
        // Session order: practice's snapshots before the race's, each with its session type.
        let types: Vec<&str> = detail["standings"]
            .as_array()
            .expect("standings")
            .iter()
            .map(|s| s["sessionType"].as_str().unwrap_or("?"))
            .collect();
        assert_eq!(types[..2], ["Practice", "Practice"], "{db:?} {types:?}");
        assert_eq!(types[2..], ["Race", "Race", "Race"][..types.len() - 2], "{db:?} {types:?}");

        // The event: three sessions (Ana's two, Ben's race), both drivers, both session types.
        assert_eq!(detail["id"], EVENT);
        assert_eq!(detail["sessionCount"], 3, "{detail}");
        assert_eq!(detail["sessions"].as_array().map(Vec::len), Some(3));
        let mut drivers: Vec<String> = vec![ana.clone(), ben.clone()];
        drivers.sort();
        assert_eq!(detail["driverIds"], json!(drivers));
        assert_eq!(detail["sessionTypes"], json!(["Practice", "Race"]));
        assert_eq!(detail["track"], "Spa-Francorchamps");

        // Listed for the team, readable by every role of it; not for the other team.
        let (s, list) = app.as_user(&app.viewer, "GET", "/api/events", None).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        assert_eq!(list.as_array().map(|a| a.iter().filter(|e| e["id"] == EVENT).count()), Some(1), "{list}");
        for who in [&app.admin, &app.driver, &app.viewer] {
            let path = if who.id == app.admin.id {
                format!("/api/events/{EVENT}?teamId={}", app.team_a)
            } else {
                format!("/api/events/{EVENT}")
            };
            let (s, v) = app.as_user(who, "GET", &path, None).await;
            assert_eq!(s, StatusCode::OK, "{db:?} {} {v}", who.username);
        }
        let (s, v) = app.as_user(&app.engineer_b, "GET", &format!("/api/events/{EVENT}"), None).await;
        assert_eq!((s, err(&v).0.as_str()), (StatusCode::NOT_FOUND, "not_found"), "{db:?} {v}");
        let (_, v) = app.as_user(&app.engineer_b, "GET", "/api/events", None).await;
        assert_eq!(v, json!([]), "{db:?}");
        let (s, v) = app.as_user(&app.engineer, "GET", "/api/events?limit=0", None).await;
        assert_eq!((s, err(&v).1.contains("limit")), (StatusCode::BAD_REQUEST, true), "{v}");
    }
}

#[tokio::test]
async fn an_imported_real_file_is_an_event_with_its_stint() {
    const TSUKUBA: &str =
        "Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt";
    for db in DBS {
        let Some(app) = App::start(db, "events_import", Opts::default()).await else { continue };
        let Some(path) = pitbox_testkit::ibt_file("an_imported_real_file_is_an_event_with_its_stint", TSUKUBA) else {
            return;
        };
        let body = std::fs::read(&path).expect("read");
        let req = axum::http::Request::builder()
            .method("POST")
            .uri(format!("/api/sessions/import?driverId={}", app.driver.id))
            .header("authorization", format!("Bearer {}", app.token(&app.driver)))
            .header("content-type", "application/octet-stream")
            .body(axum::body::Body::from(body))
            .expect("request");
        let (s, v) = app.send(req).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, list) = app.as_user(&app.engineer, "GET", "/api/events", None).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        let events = list.as_array().expect("list");
        assert_eq!(events.len(), 1, "{list}");
        let id = events[0]["id"].as_str().expect("id").to_string();
        assert!(id.starts_with("iracing"), "{id}");
        assert_eq!(events[0]["track"], "Tsukuba Circuit 1k Outer", "{list}");
        let (s, detail) = app.as_user(&app.engineer, "GET", &format!("/api/events/{}", urlencode(&id)), None).await;
        assert_eq!(s, StatusCode::OK, "{detail}");
        let stints = detail["stints"].as_array().expect("stints");
        assert_eq!(stints.len(), 1, "one stint out of the pits: {detail}");
        // Tsukuba's two laps as iRacing timed them; the best is the faster one.
        assert_eq!(stints[0]["driverId"], app.driver.id.as_str());
        assert_eq!(stints[0]["completeLaps"], 2, "{detail}");
        let best = stints[0]["bestLapTime"].as_f64().expect("best");
        assert!((best - 23.9797).abs() < 0.002, "{best}");
    }
}

fn urlencode(s: &str) -> String {
    s.replace(':', "%3A")
}
