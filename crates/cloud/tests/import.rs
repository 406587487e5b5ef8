//! `POST /api/sessions/import` with a real iRacing `.ibt` file from the shared data (skipped
//! with a message where it is absent), and refusals of bad uploads.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{App, Opts, err};

const FILE: &str = "Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt";

fn upload(app: &App, who: &common::User, path: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(path)
        .header("authorization", format!("Bearer {}", app.token(who)))
        .header("content-type", "application/octet-stream")
        .body(Body::from(body))
        .expect("request")
}

#[tokio::test]
async fn imports_a_real_ibt_file() {
    for db in common::DBS {
        let Some(app) = App::start(db, "imports_a_real_ibt_file", Opts::default()).await else { continue };
        // Refusals first (they need no file).
        let (s, v) = app.send(upload(&app, &app.driver, "/api/sessions/import", b"not an ibt".to_vec())).await;
        assert_eq!((s, err(&v).0.as_str(), err(&v).1.as_str()), (StatusCode::BAD_REQUEST, "validation_failed", "body"));
        let (s, v) = app.send(upload(&app, &app.driver, "/api/sessions/import", Vec::new())).await;
        assert_eq!((s, err(&v).1.as_str()), (StatusCode::BAD_REQUEST, "body"));
        let (s, _) = app.send(upload(&app, &app.viewer, "/api/sessions/import", vec![1])).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let other = format!("/api/sessions/import?driverId={}", app.driver2.id);
        let (s, _) = app.send(upload(&app, &app.driver, &other, vec![1])).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let foreign = format!("/api/sessions/import?driverId={}", app.driver_b.id);
        let (s, _) = app.send(upload(&app, &app.engineer, &foreign, vec![1])).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        let Some(path) = pitbox_testkit::ibt_file("imports_a_real_ibt_file", FILE) else { return };
        let bytes = std::fs::read(&path).expect("read ibt");
        let on_behalf = format!("/api/sessions/import?driverId={}", app.driver.id);
        let (s, v) = app.send(upload(&app, &app.engineer, &on_behalf, bytes)).await;
        assert_eq!(s, StatusCode::CREATED, "{db:?} {v}");
        assert!(v["samples"].as_u64().unwrap_or(0) > 1000, "{v}");
        assert!(v["laps"].as_u64().unwrap_or(0) >= 1, "{v}");
        assert!(v["track"].as_str().is_some_and(|t| t.to_lowercase().contains("tsukuba")), "{v}");
        let sid = v["sessionId"].as_str().expect("session").to_string();
        let (_, sessions) = app.as_user(&app.viewer, "GET", "/api/sessions", None).await;
        assert_eq!(sessions[0]["source"], "import");
        assert_eq!(sessions[0]["id"], sid.as_str());
        let (_, laps) = app.as_user(&app.viewer, "GET", &format!("/api/sessions/{sid}/laps"), None).await;
        let laps = laps.as_array().expect("laps");
        let total: i64 = laps.iter().map(|l| l["sampleCount"].as_i64().unwrap_or(0)).sum();
        assert_eq!(total as u64, v["samples"].as_u64().unwrap_or(0));
        let lap = laps.iter().max_by_key(|l| l["sampleCount"].as_i64()).expect("a lap");
        let (s, t) = app
            .as_user(
                &app.viewer,
                "GET",
                &format!("/api/laps/{}/telemetry?channels=speed,lapDistance", lap["id"].as_str().unwrap_or("")),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let speeds = t["channels"]["speed"].as_array().expect("speed");
        assert_eq!(speeds.len() as i64, lap["sampleCount"].as_i64().unwrap_or(-1));
        assert!(speeds.iter().any(|x| x.as_f64().unwrap_or(0.0) > 50.0), "a moving car");

        // The imported laps are coached like live ones: stored `ai_coaching` per completed lap.
        let list = format!("/api/coaching?sessionId={sid}");
        let mut coaching = Vec::new();
        for _ in 0..200 {
            let (_, v) = app.as_user(&app.engineer, "GET", &list, None).await;
            coaching = v.as_array().cloned().unwrap_or_default();
            if !coaching.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(!coaching.is_empty(), "{db:?}: no coaching for the imported laps");
        for c in &coaching {
            assert_eq!(c["driverId"], app.driver.id.as_str(), "{c}");
            assert_eq!(c["coaching"]["driverId"], app.driver.id.as_str(), "{c}");
            assert!(c["coaching"]["feedback"].as_str().is_some_and(|f| f.starts_with("Lap ")), "{c}");
        }
        eprintln!(
            "{db:?}: {} coaching messages for the imported session; newest: {}",
            coaching.len(),
            coaching[0]["coaching"]["feedback"]
        );
    }
}

/// An `.ibt` image from our writer: `vars` over rows of `buf_len` bytes, `rows` records whose
/// SessionTime and LapDistPct move (when declared), this start date.
fn synthetic_ibt(vars: Vec<pitbox_irsdk::VarHeader>, buf_len: usize, rows: usize, start_date: i64) -> Vec<u8> {
    let text =
        "WeekendInfo:\n TrackName: synthetic\nDriverInfo:\n DriverCarIdx: 0\n Drivers:\n - CarIdx: 0\n   UserName: a\n";
    let mut w =
        pitbox_irsdk::writer::IbtWriter::new(std::io::Cursor::new(Vec::new()), vars, buf_len, 60, text, start_date)
            .expect("writer");
    let l = w.layout().clone();
    let t = l.optional::<f64>("SessionTime").expect("SessionTime");
    let pct = l.optional::<f32>("LapDistPct").expect("LapDistPct");
    for i in 0..rows {
        let mut r = w.blank_row();
        if let Some(t) = t {
            t.set(&mut r, i as f64 / 60.0);
        }
        if let Some(p) = pct {
            p.set(&mut r, (i % 50) as f32 / 50.0);
        }
        w.write_row(&r).expect("row");
    }
    w.finish().expect("finish").into_inner()
}

fn telemetry_vars() -> Vec<pitbox_irsdk::VarHeader> {
    use pitbox_irsdk::{VarHeader, VarType};
    vec![
        VarHeader::new("SessionTime", VarType::Double, 0, 1, false, "", "s"),
        VarHeader::new("Lap", VarType::Int, 8, 1, false, "", ""),
        VarHeader::new("LapDistPct", VarType::Float, 12, 1, false, "", "%"),
        VarHeader::new("Speed", VarType::Float, 16, 1, false, "", "m/s"),
    ]
}

/// Issue 23: the crafted upload (numVars = 0, bufLen = 1, then zeros) was stored as one empty
/// sample per byte (and at 300 MB aborted the process reserving 93 GB). Now it is refused
/// before any sample is made, as is a file without the channels a sample needs.
#[tokio::test]
async fn crafted_ibt_uploads_are_refused_before_any_allocation() {
    let db = common::DBS[0];
    let Some(app) = App::start(db, "crafted_ibt_uploads_are_refused", Opts::default()).await else { return };
    let mut crafted = synthetic_ibt(Vec::new(), 1, 0, 1_700_000_000);
    crafted.resize(crafted.len() + 100_000, 0);
    let (s, v) = app.send(upload(&app, &app.driver, "/api/sessions/import", crafted)).await;
    assert_eq!(
        (s, err(&v).0.as_str(), err(&v).1.as_str()),
        (StatusCode::BAD_REQUEST, "validation_failed", "body"),
        "{v}"
    );
    assert!(v["error"]["message"].as_str().unwrap_or("").contains("numVars"), "{v}");

    let only_char = vec![pitbox_irsdk::VarHeader::new("Foo", pitbox_irsdk::VarType::Char, 0, 1, false, "", "")];
    let (s, v) = app
        .send(upload(&app, &app.driver, "/api/sessions/import", synthetic_ibt(only_char, 1, 5000, 1_700_000_000)))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"]["message"].as_str().unwrap_or("").contains("SessionTime"), "{v}");
    let (_, sessions) = app.as_user(&app.viewer, "GET", "/api/sessions", None).await;
    assert_eq!(sessions.as_array().map(Vec::len), Some(0), "nothing stored: {sessions}");
}

/// Issue 23: a start date of i64::MAX silently became 1970. Now the result says the date is
/// unknown (`startDate: null`) and the samples count from the upload.
#[tokio::test]
async fn an_implausible_import_date_is_reported_not_turned_into_1970() {
    let db = common::DBS[0];
    let Some(app) = App::start(db, "an_implausible_import_date", Opts::default()).await else { return };
    let (s, v) = app
        .send(upload(&app, &app.driver, "/api/sessions/import", synthetic_ibt(telemetry_vars(), 20, 300, i64::MAX)))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v["startDate"].is_null(), "{v}");
    let (_, sessions) = app.as_user(&app.viewer, "GET", "/api/sessions", None).await;
    let started = sessions[0]["startedAt"].as_str().unwrap_or("").to_string();
    let started = chrono::DateTime::parse_from_rfc3339(&started).expect("startedAt");
    assert!((chrono::Utc::now() - started.to_utc()).num_hours().abs() < 1, "session starts {started}");

    let (s, v) = app
        .send(upload(
            &app,
            &app.driver,
            "/api/sessions/import",
            synthetic_ibt(telemetry_vars(), 20, 300, 1_700_000_000),
        ))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["startDate"], "2023-11-14T22:13:20+00:00");
}
