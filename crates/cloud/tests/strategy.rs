//! `POST /api/strategy/plan` and `GET /api/strategy/plan`: the plan's fields, precise errors,
//! roles (engineers and admins plan, drivers and viewers read), teams kept apart, and the
//! OpenAPI entries. Each test runs on SQLite and, when `PITBOX_TEST_DATABASE_URL` is set, on a
//! fresh PostgreSQL database.

mod common;

use axum::http::StatusCode;
use common::{App, DBS, Opts, err};
use serde_json::{Value, json};

/// A 6-hour race: 181 laps of 120 s, 3 L a lap, 100 L tank (32 laps a tank): five stops.
fn six_hours() -> Value {
    json!({
        "race": {"minutes": 360},
        "lapTimeS": 120.0,
        "fuelPerLapL": 3.0,
        "tankL": 100.0,
        "pitLaneS": 30.0,
        "refuelLps": 2.0,
        "tyreChangeS": 20.0,
        "drivers": [{"id": "ana"}, {"id": "ben"}]
    })
}

#[tokio::test]
async fn engineers_plan_and_everyone_in_the_team_reads() {
    for db in DBS {
        let Some(app) = App::start(db, "strategy_roles", Opts::default()).await else { continue };
        // Nothing planned yet.
        let (s, v) = app.as_user(&app.driver, "GET", "/api/strategy/plan", None).await;
        assert_eq!((s, err(&v).0.as_str()), (StatusCode::NOT_FOUND, "not_found"), "{db:?} {v}");

        let (s, plan) = app.as_user(&app.engineer, "POST", "/api/strategy/plan", Some(six_hours())).await;
        assert_eq!(s, StatusCode::OK, "{db:?} {plan}");
        assert_eq!(plan["stops"], 5);
        assert_eq!(plan["raceLaps"], 181);
        let stints = plan["stints"].as_array().expect("stints");
        assert_eq!(stints.len(), 6);
        let laps: Vec<u64> = stints.iter().map(|s| s["laps"].as_u64().expect("laps")).collect();
        assert_eq!(laps, [32, 32, 32, 32, 32, 21]);
        for key in ["driverId", "startLap", "endLap", "laps", "startFuelL", "fuelAddedL", "newTyres", "pitStopS"] {
            assert!(!stints[1][key].is_null(), "stint field {key} missing: {}", stints[1]);
        }
        assert_eq!(stints[1]["driverId"], "ben");
        assert_eq!(stints[5]["startLap"], 161);
        assert_eq!(stints[5]["endLap"], 181);
        assert_eq!(stints[5]["fuelAddedL"], 63.0);
        assert_eq!(plan["finishFuelL"], 3.0);
        assert_eq!(plan["totalRaceTimeS"], 21_720.0 + 150.0 + 223.0);

        // Drivers and viewers read the stored plan, with the request it came from.
        for reader in [&app.driver, &app.viewer, &app.admin, &app.engineer] {
            let (s, v) = app.as_user(reader, "GET", "/api/strategy/plan", None).await;
            assert_eq!(s, StatusCode::OK, "{db:?} {} {v}", reader.username);
            assert_eq!(v["stints"], plan["stints"]);
            assert_eq!(v["request"]["tankL"], 100.0);
            assert_eq!(v["plannedBy"], app.engineer.id.as_str());
            assert_eq!(v["teamId"], app.team_a.as_str());
        }
        // Drivers and viewers may not replace it.
        for who in [&app.driver, &app.viewer] {
            let (s, v) = app.as_user(who, "POST", "/api/strategy/plan", Some(six_hours())).await;
            assert_eq!((s, err(&v).0.as_str()), (StatusCode::FORBIDDEN, "forbidden"), "{v}");
        }
        // No token: 401.
        let (s, _) = app.call("POST", "/api/strategy/plan", None, Some(six_hours())).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // Another team sees nothing of it and plans its own.
        let (s, _) = app.as_user(&app.driver_b, "GET", "/api/strategy/plan", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) =
            app.as_user(&app.engineer_b, "GET", &format!("/api/strategy/plan?teamId={}", app.team_a), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let mut sprint = six_hours();
        sprint["race"] = json!({"laps": 20});
        let (s, v) = app.as_user(&app.engineer_b, "POST", "/api/strategy/plan", Some(sprint)).await;
        assert_eq!((s, v["stops"].as_u64()), (StatusCode::OK, Some(0)), "{v}");
        let (_, mine) = app.as_user(&app.driver, "GET", "/api/strategy/plan", None).await;
        assert_eq!(mine["stops"], 5, "team A's plan is untouched");

        // An admin plans for another team by id; the newest plan replaces the old one.
        let mut shorter = six_hours();
        shorter["race"] = json!({"minutes": 60});
        let (s, _) =
            app.as_user(&app.admin, "POST", &format!("/api/strategy/plan?teamId={}", app.team_b), Some(shorter)).await;
        assert_eq!(s, StatusCode::OK);
        let (_, theirs) = app.as_user(&app.driver_b, "GET", "/api/strategy/plan", None).await;
        assert_eq!(theirs["raceLaps"], 31);
        assert_eq!(theirs["plannedBy"], app.admin.id.as_str());
    }
}

#[tokio::test]
async fn bad_requests_name_the_field_and_impossible_rules_the_rule() {
    let Some(app) = App::start(common::Db::Sqlite, "strategy_errors", Opts::default()).await else { return };
    let with = |path: &[&str], value: Value| {
        let mut body = six_hours();
        let mut at = &mut body;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = value;
        body
    };
    let without = |key: &str| {
        let mut body = six_hours();
        body.as_object_mut().expect("object").remove(key);
        body
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (with(&["tankL"], json!(0)), "validation_failed", "tankL"),
        (with(&["tankL"], json!(-5)), "validation_failed", "tankL"),
        (with(&["lapTimeS"], json!("fast")), "validation_failed", "lapTimeS"),
        (with(&["fuelPerLapL"], json!(0)), "validation_failed", "fuelPerLapL"),
        (with(&["refuelLps"], json!(1e300)), "validation_failed", "refuelLps"),
        (with(&["startFuelL"], json!(101)), "validation_failed", "startFuelL"),
        (with(&["tyresEveryStints"], json!(0)), "validation_failed", "tyresEveryStints"),
        (with(&["tyresEveryStints"], json!(-1)), "validation_failed", "tyresEveryStints"),
        (with(&["race"], json!({"laps": 10, "minutes": 10})), "validation_failed", "race"),
        (with(&["race"], json!({"laps": 2.5})), "validation_failed", "race.laps"),
        (with(&["race"], json!({"hours": 6})), "validation_failed", "race"),
        (with(&["drivers"], json!([])), "validation_failed", "drivers"),
        (with(&["drivers"], json!([{"id": "ana"}, {"id": "ana"}])), "validation_failed", "drivers[1].id"),
        (with(&["drivers"], json!([{"id": "ana", "lapTimeS": -1}])), "validation_failed", "drivers[0].lapTimeS"),
        (with(&["drivers"], json!([{"name": "ana"}])), "validation_failed", "drivers[0]"),
        (with(&["fuelPerLap"], json!(3)), "validation_failed", ""),
        (without("pitLaneS"), "validation_failed", "pitLaneS"),
        (with(&["maxDriverMinutes"], json!(100)), "plan_infeasible", "maxDriverMinutes"),
        (with(&["minDriverMinutes"], json!(190)), "plan_infeasible", "minDriverMinutes"),
        (
            with(&["drivers"], json!([{"id": "ana", "maxStintMinutes": 1}])),
            "plan_infeasible",
            "drivers[0].maxStintMinutes",
        ),
    ];
    for (body, code, field) in cases {
        let (s, v) = app.as_user(&app.engineer, "POST", "/api/strategy/plan", Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body} → {v}");
        let (got_code, got_field) = err(&v);
        assert_eq!(got_code, code, "{body} → {v}");
        if field.is_empty() {
            assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains("fuelPerLap")), "{v}");
        } else {
            assert!(got_field.starts_with(field), "{body} → {v}");
        }
    }
    // Nothing was stored by the failures.
    let (s, _) = app.as_user(&app.engineer, "GET", "/api/strategy/plan", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_openapi_document_describes_the_planner() {
    let Some(app) = App::start(common::Db::Sqlite, "strategy_openapi", Opts::default()).await else { return };
    let (s, doc) = app.call("GET", "/api/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["paths"]["/api/strategy/plan"]["post"].is_object());
    assert!(doc["paths"]["/api/strategy/plan"]["get"].is_object());
    let schemas = &doc["components"]["schemas"];
    let req = &schemas["StrategyPlanRequest"]["properties"];
    for key in [
        "race",
        "lapTimeS",
        "fuelPerLapL",
        "tankL",
        "startFuelL",
        "fuelMarginL",
        "pitLaneS",
        "refuelLps",
        "tyreChangeS",
        "tyresEveryStints",
        "drivers",
        "minDriverMinutes",
        "maxDriverMinutes",
    ] {
        assert!(req[key].is_object(), "request field {key} undocumented");
    }
    for key in ["stints", "stops", "totalRaceTimeS", "finishFuelL"] {
        assert!(schemas["StrategyPlan"]["properties"][key].is_object(), "response field {key} undocumented");
    }
    let text = doc.to_string();
    for part in text.split("\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap_or("");
        assert!(schemas[name].is_object(), "dangling $ref {name}");
    }
}

// ---------------------------------------------------------------------------------------------
// The live plan

/// A 20-lap race planned at 2.5 L a lap; the car then runs 60 s laps on 2.0 L from a 20 L tank.
fn sprint_plan(driver: &str) -> Value {
    json!({
        "race": {"laps": 20},
        "lapTimeS": 62.0,
        "fuelPerLapL": 2.5,
        "tankL": 20.0,
        "fuelMarginL": 2.0,
        "pitLaneS": 25.0,
        "refuelLps": 2.0,
        "tyreChangeS": 10.0,
        "drivers": [{"id": driver}, {"id": "ben"}]
    })
}

/// Laps `1..=laps` of `driver` at 10 Hz: 60 s and 2.0 L each, from 20 L, 3,000 m a lap, with
/// iRacing's laps left (the leader is this car).
fn live_laps(driver: &str, laps: u32) -> Vec<Value> {
    let start_ms = chrono::Utc::now().timestamp_millis() - 3_600_000;
    let mut out = Vec::new();
    for lap in 1..=laps + 1 {
        for i in 0..600u32 {
            let t = f64::from(lap - 1) * 60.0 + f64::from(i) * 0.1;
            let n = out.len() as u64 + 1;
            let mut v = common::update(driver, start_ms + (t * 1000.0) as i64, lap, n);
            v["lapDistance"] = json!(f64::from(i) * 5.0);
            v["trackPosition"] = json!(f64::from(i) / 600.0);
            v["sessionTime"] = json!(100.0 + t);
            v["fuelLiters"] = json!(20.0 - t / 30.0);
            v["onPitRoad"] = json!(false);
            v["sessionLapsRemaining"] = json!(20 - lap + 1);
            out.push(v);
            if lap == laps + 1 && i == 10 {
                return out;
            }
        }
    }
    out
}

/// The live plan after every lap: measured fuel and pace replace the plan's, the laps left come
/// from the sim, and the window, the next stop and the revised stints follow — for the team
/// only. Worked by hand for lap 5: 10 L left is 4 laps above the 2 L margin (to lap 9); a full
/// tank is 9 laps, so the 15 laps left need two stops, and the window opens at once (lap 6).
#[tokio::test]
async fn the_live_plan_follows_the_car_lap_by_lap() {
    for db in DBS {
        let Some(app) = App::start(db, "strategy_live", Opts::default()).await else { continue };
        let (s, v) = app.as_user(&app.engineer, "POST", "/api/strategy/plan", Some(sprint_plan(&app.driver.id))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let addr = common::serve(app.router.clone()).await;
        let (mut dash, r) = common::ws_login(addr, &app.token(&app.engineer), "dashboard").await;
        assert_eq!(r["data"]["success"], true, "{r}");
        common::ws_send(&mut dash, json!({"type": "subscribe", "data": {"channels": ["strategy"]}})).await;
        assert_eq!(common::next_json(&mut dash).await["type"], "subscribed");
        let (mut other, _) = common::ws_login(addr, &app.token(&app.engineer_b), "dashboard").await;
        common::ws_send(&mut other, json!({"type": "subscribe", "data": {}})).await;
        assert_eq!(common::next_json(&mut other).await["type"], "subscribed");

        let relay = app
            .state
            .keys
            .issue_relay("relay-test", &app.team_a, "test relay", std::time::Duration::from_secs(3600))
            .expect("relay token")
            .0;
        let (mut up, _) = common::ws_login(addr, &relay, "relay").await;
        for (i, chunk) in live_laps(&app.driver.id, 5).chunks(300).enumerate() {
            let seq = i as u64 + 1;
            let batch = json!({"type": "telemetry_batch", "data": {"driverId": app.driver.id, "sequence": seq, "samples": chunk}});
            common::ws_send(&mut up, batch).await;
            loop {
                let m = common::next_json(&mut up).await;
                if m["type"] == "ack" && m["data"]["sequence"] == seq {
                    break;
                }
                assert_ne!(m["type"], "error", "{m}");
            }
        }
        let mut updates = Vec::new();
        while updates.len() < 5 {
            let m = common::next_json(&mut dash).await;
            if m["type"] == "strategy_update" {
                updates.push(m["data"].clone());
            }
        }
        let laps: Vec<u64> = updates.iter().map(|u| u["lap"].as_u64().unwrap_or(0)).collect();
        assert_eq!(laps, [1, 2, 3, 4, 5]);
        let u = &updates[4];
        assert_eq!(u["driverId"], app.driver.id.as_str());
        assert_eq!((u["lapsRemaining"].as_u64(), u["lapsRemainingSource"].as_str()), (Some(15), Some("sim")), "{u}");
        let close = |k: &str, want: f64| (u[k].as_f64().unwrap_or(f64::NAN) - want).abs() < 0.01;
        assert!(close("fuelL", 10.0) && close("fuelPerLapL", 2.0) && close("fuelLapsLeft", 5.0), "{u}");
        assert_eq!(u["fuelPerLapSource"], "measured");
        assert!(close("lapTimeS", 60.0), "{u}");
        assert_eq!(u["lapTimeSource"], "measured");
        assert_eq!((u["pitLaneS"].as_f64(), u["pitLaneSource"].as_str()), (Some(25.0), Some("plan")));
        assert_eq!(u["stopsRemaining"], 2, "{u}");
        assert_eq!(u["pitWindow"], json!({"opensLap": 6, "closesLap": 9}), "{u}");
        let stints = u["stints"].as_array().expect("stints");
        assert_eq!(
            stints.first().map(|s| (s["startLap"].clone(), s["driverId"].clone())),
            Some((json!(6), json!(app.driver.id)))
        );
        assert_eq!(stints.last().map(|s| s["endLap"].clone()), Some(json!(20)));
        assert_eq!(u["nextStopFuelL"], stints[1]["fuelAddedL"]);
        assert_eq!(u["basis"]["race"], json!({"laps": 15}));
        // Lap 1 is seen from its start, so even the first update has a measured fuel use (the
        // plan's 2.5 L a lap is never used here).
        assert!(updates.iter().all(|u| u["fuelPerLapSource"] == "measured"), "{updates:?}");

        // A dashboard opened now is caught up with the newest plan at once.
        let (mut late, _) = common::ws_login(addr, &app.token(&app.viewer), "dashboard").await;
        common::ws_send(&mut late, json!({"type": "subscribe", "data": {"channels": ["strategy"]}})).await;
        let mut caught = None;
        for _ in 0..3 {
            let m = common::next_json(&mut late).await;
            if m["type"] == "strategy_update" {
                caught = Some(m);
                break;
            }
        }
        assert_eq!(caught.map(|m| m["data"]["lap"].clone()), Some(json!(5)));
        // Team B heard nothing of it.
        let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), common::next_json(&mut other)).await;
        assert!(quiet.as_ref().map_or(true, |m| m["type"] != "strategy_update"), "team B got {quiet:?}");
    }
}

/// `?dryRun=true` answers a what-if and leaves the team's plan as it was.
#[tokio::test]
async fn a_dry_run_plans_without_replacing_the_teams_plan() {
    for db in DBS {
        let Some(app) = App::start(db, "strategy_dry_run", Opts::default()).await else { continue };
        let (s, _) = app.as_user(&app.engineer, "POST", "/api/strategy/plan", Some(six_hours())).await;
        assert_eq!(s, StatusCode::OK);
        let mut what_if = six_hours();
        what_if["race"] = json!({"laps": 20});
        let (s, v) = app.as_user(&app.engineer, "POST", "/api/strategy/plan?dryRun=true", Some(what_if.clone())).await;
        assert_eq!((s, v["stops"].as_u64(), v["raceLaps"].as_u64()), (StatusCode::OK, Some(0), Some(20)), "{v}");
        let (_, stored) = app.as_user(&app.driver, "GET", "/api/strategy/plan", None).await;
        assert_eq!(stored["raceLaps"], 181, "the stored plan is untouched: {stored}");
        // A what-if is still the pit wall's: a driver gets 403, and bad input names its field.
        let (s, _) = app.as_user(&app.driver, "POST", "/api/strategy/plan?dryRun=true", Some(what_if.clone())).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        what_if["tankL"] = json!(0);
        let (s, v) = app.as_user(&app.engineer, "POST", "/api/strategy/plan?dryRun=true", Some(what_if)).await;
        assert_eq!((s, err(&v).1.as_str()), (StatusCode::BAD_REQUEST, "tankL"), "{v}");
    }
}

/// A `pit_command` for `driver` from `sender`.
fn pit_command(id: &str, driver: &str, sender: &str) -> Value {
    json!({"type": "pit_command", "data": {
        "id": id, "driverId": driver, "senderId": sender, "senderName": "Pit wall",
        "timestamp": chrono::Utc::now().to_rfc3339(), "fuelL": 42.0,
        "tyres": {"lf": true, "rf": true, "lr": true, "rr": true}
    }})
}

/// The next message of one of `types`, or `None` after `ms` of silence.
/// The pit wall sets a car's next stop: the command reaches that car's driver (and the team's
/// strategy subscribers), not the other driver nor another team; drivers and viewers cannot
/// send one, nobody sends in another's name, the car must be a driver of the team, and a
/// command that sets nothing is refused with its field.
#[tokio::test]
async fn a_pit_command_reaches_the_cars_driver_only_from_the_pit_wall() {
    for db in DBS {
        let Some(app) = App::start(db, "strategy_pit", Opts::default()).await else { continue };
        let addr = common::serve(app.router.clone()).await;
        let (mut car, r) = common::ws_login(addr, &app.token(&app.driver), "driver").await;
        assert_eq!(r["data"]["success"], true, "{r}");
        let (mut other_driver, _) = common::ws_login(addr, &app.token(&app.driver2), "driver").await;
        let (mut wall, _) = common::ws_login(addr, &app.token(&app.engineer), "dashboard").await;
        common::ws_send(&mut wall, json!({"type": "subscribe", "data": {"channels": ["strategy"]}})).await;
        assert_eq!(common::next_json(&mut wall).await["type"], "subscribed");
        let (mut admin, _) = common::ws_login(addr, &app.token(&app.admin), "dashboard").await;
        common::ws_send(&mut admin, json!({"type": "subscribe", "data": {"channels": ["strategy"]}})).await;
        assert_eq!(common::next_json(&mut admin).await["type"], "subscribed");
        let (mut team_b, _) = common::ws_login(addr, &app.token(&app.engineer_b), "dashboard").await;
        common::ws_send(&mut team_b, json!({"type": "subscribe", "data": {}})).await;
        assert_eq!(common::next_json(&mut team_b).await["type"], "subscribed");

        common::ws_send(&mut wall, pit_command("pit-1", &app.driver.id, &app.engineer.id)).await;
        let got = common::next_of(&mut car, &["pit_command", "error"], 5_000).await.expect("the car's driver got it");
        assert_eq!(got["type"], "pit_command", "{got}");
        assert_eq!((got["data"]["id"].as_str(), got["data"]["fuelL"].as_f64()), (Some("pit-1"), Some(42.0)));
        let seen = common::next_of(&mut admin, &["pit_command"], 5_000).await.expect("the other pit wall sees it");
        assert_eq!(seen["data"]["id"], "pit-1");
        assert_eq!(common::next_of(&mut other_driver, &["pit_command"], 300).await, None, "another driver's car");
        assert_eq!(common::next_of(&mut team_b, &["pit_command"], 300).await, None, "another team");

        // Refusals, each with its reason.
        let refused = |m: &Value| {
            (m["data"]["code"].as_str().map(str::to_string), m["data"]["field"].as_str().map(str::to_string))
        };
        common::ws_send(&mut car, pit_command("pit-2", &app.driver.id, &app.driver.id)).await;
        let e = common::next_of(&mut car, &["error"], 5_000).await.expect("a driver is refused");
        assert_eq!(refused(&e), (Some("forbidden".into()), Some("type".into())), "{e}");
        let (mut viewer, _) = common::ws_login(addr, &app.token(&app.viewer), "dashboard").await;
        common::ws_send(&mut viewer, pit_command("pit-3", &app.driver.id, &app.viewer.id)).await;
        let e = common::next_of(&mut viewer, &["error"], 5_000).await.expect("a viewer is refused");
        assert_eq!(refused(&e).0.as_deref(), Some("forbidden"), "{e}");
        common::ws_send(&mut wall, pit_command("pit-4", &app.driver.id, &app.admin.id)).await;
        let e = common::next_of(&mut wall, &["error"], 5_000).await.expect("in another's name");
        assert_eq!(refused(&e), (Some("forbidden".into()), Some("data.senderId".into())), "{e}");
        common::ws_send(&mut wall, pit_command("pit-5", &app.engineer.id, &app.engineer.id)).await;
        let e = common::next_of(&mut wall, &["error"], 5_000).await.expect("not a car");
        assert_eq!(refused(&e), (Some("validation_failed".into()), Some("data.driverId".into())), "{e}");
        common::ws_send(&mut wall, pit_command("pit-6", &app.driver_b.id, &app.engineer.id)).await;
        let e = common::next_of(&mut wall, &["error"], 5_000).await.expect("another team's car");
        assert_eq!(refused(&e), (Some("validation_failed".into()), Some("data.driverId".into())), "{e}");
        let mut empty = pit_command("pit-7", &app.driver.id, &app.engineer.id);
        for k in ["fuelL", "tyres"] {
            empty["data"].as_object_mut().map(|o| o.remove(k));
        }
        common::ws_send(&mut wall, empty).await;
        let e = common::next_of(&mut wall, &["error"], 5_000).await.expect("sets nothing");
        assert_eq!(refused(&e), (Some("validation_failed".into()), Some("data".into())), "{e}");
        assert_eq!(common::next_of(&mut car, &["pit_command"], 300).await, None, "no refused command reached the car");

        // A dashboard opened now is caught up with the plan, never with an old command.
        let (mut late, _) = common::ws_login(addr, &app.token(&app.engineer), "dashboard").await;
        common::ws_send(&mut late, json!({"type": "subscribe", "data": {"channels": ["strategy"]}})).await;
        assert_eq!(common::next_of(&mut late, &["pit_command"], 300).await, None);
    }
}
