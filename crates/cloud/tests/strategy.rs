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
