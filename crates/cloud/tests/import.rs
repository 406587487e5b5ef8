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
        assert_eq!(sessions[0]["sessionType"], "Offline Testing");
        assert_eq!(sessions[0]["legacy"], false);
        assert!(
            sessions[0]["simSessionId"].as_str().is_some_and(|k| k.starts_with("iracing-offline:")),
            "{}",
            sessions[0]
        );
        let (_, laps) = app.as_user(&app.viewer, "GET", &format!("/api/sessions/{sid}/laps"), None).await;
        let laps = laps.as_array().expect("laps");
        let mut total = 0;
        for lap in laps {
            let (s, t) = app
                .as_user(
                    &app.viewer,
                    "GET",
                    &format!("/api/laps/{}/telemetry?channels=speed,lapDistance", lap["id"].as_str().unwrap_or("")),
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{lap}");
            let speeds = t["channels"]["speed"].as_array().expect("speed");
            total += speeds.len();
            if lap["complete"] == true {
                assert!(speeds.iter().any(|x| x.as_f64().unwrap_or(0.0) > 50.0), "a moving car");
            }
        }
        assert_eq!(total as u64, v["samples"].as_u64().unwrap_or(0));

        // The imported laps are analysed like live ones: stored `ai_coaching` per completed lap
        // (and never spoken: see `imports_are_not_spoken`).
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

/// Every valid real file through `POST /api/sessions/import` and `GET /api/sessions/{id}/laps`:
/// the same laps as `pitbox ibt laps` (lap time within one tick, the same complete and valid
/// flags and reasons), and every lap iRacing timed has iRacing's own time.
#[tokio::test]
async fn imported_laps_are_the_sims_laps() {
    let Some(dir) = pitbox_testkit::shared_data().map(|d| d.join("ibt")) else {
        pitbox_testkit::skip("imported_laps_are_the_sims_laps", "no ../shared/data/ibt");
        return;
    };
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .expect("read ibt dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ibt"))
        .collect();
    files.sort();
    for db in common::DBS {
        let Some(app) = App::start(db, "imported_laps_are_the_sims_laps", Opts::default()).await else { continue };
        let mut imported = 0;
        for path in &files {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
            let Ok(file) = pitbox_irsdk::IbtFile::open(path) else { continue };
            // Only disk files with a lap table (the live-memory dump and the text file are not).
            let Ok(cli) = pitbox_irsdk::laps::file_laps(&file) else { continue };
            if file.row_count() == 0 || file.disk().session_record_count == 0 {
                continue;
            }
            let bytes = std::fs::read(path).expect("read ibt");
            let url = format!("/api/sessions/import?driverId={}", app.driver.id);
            let (s, v) = app.send(upload(&app, &app.driver, &url, bytes)).await;
            if s != StatusCode::CREATED {
                eprintln!("{db:?} {name}: not imported: {s} {v}");
                continue;
            }
            imported += 1;
            let sid = v["sessionId"].as_str().expect("session").to_string();
            let (_, api) = app.as_user(&app.viewer, "GET", &format!("/api/sessions/{sid}/laps"), None).await;
            let api = api.as_array().expect("laps").clone();
            assert_eq!(api.len(), cli.len(), "{db:?} {name}: {api:?}");
            let tick = 1.0 / f64::from(file.header().tick_rate);
            eprintln!("{db:?} {name}");
            eprintln!(
                "  {:>4} {:>10} {:>10}  {:<8} {:<8} {:<8} {:<8}",
                "lap", "cli", "api", "complete", "valid", "in/out", "reasons"
            );
            for (a, c) in api.iter().zip(&cli) {
                assert_eq!(a["lap"].as_i64(), Some(i64::from(c.lap)), "{name}: {a}");
                assert_eq!(a["complete"].as_bool(), Some(c.complete), "{name}: {a}");
                assert_eq!(a["valid"].as_bool(), Some(c.valid), "{name}: {a}");
                assert_eq!(a["inLap"].as_bool(), Some(c.in_lap), "{name}: {a}");
                assert_eq!(a["outLap"].as_bool(), Some(c.out_lap), "{name}: {a}");
                let reasons: Vec<&str> = c.invalid.iter().map(|r| r.as_str()).collect();
                let api_reasons: Vec<&str> =
                    a["invalid"].as_array().expect("invalid").iter().filter_map(|r| r.as_str()).collect();
                assert_eq!(api_reasons, reasons, "{name}: {a}");
                match c.lap_time {
                    Some(t) => {
                        let got = a["lapTime"].as_f64().expect("lapTime of a complete lap");
                        assert!((got - t).abs() <= tick, "{name}: lap {} api {got} vs cli {t}", c.lap);
                    }
                    None => assert!(a["lapTime"].is_null(), "{name}: {a}"),
                }
                assert_eq!(a["sectors"].as_array().map(Vec::len), Some(c.sectors.len()), "{name}: {a}");
                eprintln!(
                    "  {:>4} {:>10} {:>10}  {:<8} {:<8} {:<8} {}",
                    c.lap,
                    c.lap_time.map_or("-".into(), |t| format!("{t:.4}")),
                    a["lapTime"].as_f64().map_or("-".into(), |t| format!("{t:.4}")),
                    c.complete,
                    c.valid,
                    format!("{}/{}", c.in_lap, c.out_lap),
                    reasons.join(", ")
                );
            }
            // Ground truth from an independent reader: iRacing's settled LapLastLapTime.
            let truth_path = path.with_extension("truth.json");
            if let Ok(text) = std::fs::read_to_string(&truth_path) {
                let truth: serde_json::Value = serde_json::from_str(&text).expect("truth json");
                for ch in truth["lapChanges"].as_array().into_iter().flatten() {
                    let Some(settled) = ch["lapLastLapTimeSettled"].as_f64().filter(|t| *t > 0.0) else { continue };
                    let lap = ch["lapFrom"].as_i64();
                    let row = api.iter().find(|a| a["lap"].as_i64() == lap && a["complete"] == true);
                    let got = row.and_then(|a| a["lapTime"].as_f64());
                    assert_eq!(got, Some(settled), "{name}: lap {lap:?} against iRacing's {settled}");
                }
            }
            // Blank rows are not laps; an incomplete lap has no time.
            assert!(api.iter().all(|a| a["complete"] == true || a["lapTime"].is_null()));
        }
        assert!(imported >= 3, "{db:?}: only {imported} files imported");
    }
}

/// An import is analysed (stored coaching) but nothing goes out live: the driver's radio and
/// the team's live feed never hear about a session that is not being driven.
#[tokio::test]
async fn imports_are_not_spoken() {
    let Some(app) = App::start(common::Db::Sqlite, "imports_are_not_spoken", Opts::default()).await else { return };
    let Some(path) = pitbox_testkit::ibt_file("imports_are_not_spoken", FILE) else { return };
    let mut bus = app.state.bus.subscribe();
    let url = format!("/api/sessions/import?driverId={}", app.driver.id);
    let (s, v) = app.send(upload(&app, &app.driver, &url, std::fs::read(&path).expect("read"))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let sid = v["sessionId"].as_str().expect("session").to_string();
    let list = format!("/api/coaching?sessionId={sid}");
    let mut stored = 0;
    for _ in 0..200 {
        let (_, v) = app.as_user(&app.engineer, "GET", &list, None).await;
        stored = v.as_array().map_or(0, Vec::len);
        if stored > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(stored > 0, "the import was not analysed");
    // Nothing was published: no ai_coaching on the team's live feed.
    while let Ok(ev) = bus.try_recv() {
        assert!(
            !matches!(ev.message, pitbox_model::Message::AiCoaching(_)),
            "an import was spoken to team {}",
            ev.team_id
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

/// Issue 20 §5 on the real file, through the cloud's own coach (what an import and the live path
/// run): the pit-exit out lap is never the reference, the best valid lap is (lap 2, iRacing's
/// 23.98 s), and the out lap's time lost leaving the pits is said to be the pit exit, never a
/// corner the driver took badly.
///
/// Before the live coach kept the lap it had just cut, it took lap 1 (the out lap, whose pit
/// road lies before the line) as its reference and told lap 2, 1.95 s faster, that it lost
/// 0.31 s at T2.
#[tokio::test]
async fn an_imports_coaching_takes_the_best_valid_lap_and_never_blames_the_pit_exit() {
    let name = "an_imports_coaching_takes_the_best_valid_lap_and_never_blames_the_pit_exit";
    let Some(app) = App::start(common::Db::Sqlite, name, Opts::default()).await else { return };
    let Some(path) = pitbox_testkit::ibt_file(name, FILE) else { return };
    let url = format!("/api/sessions/import?driverId={}", app.driver.id);
    let (s, v) = app.send(upload(&app, &app.driver, &url, std::fs::read(&path).expect("read"))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let sid = v["sessionId"].as_str().expect("session").to_string();
    let list = format!("/api/coaching?sessionId={sid}");
    let mut said: Vec<serde_json::Value> = Vec::new();
    for _ in 0..200 {
        let (_, v) = app.as_user(&app.engineer, "GET", &list, None).await;
        said = v.as_array().cloned().unwrap_or_default();
        if !said.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!said.is_empty(), "the import was not analysed");
    for c in &said {
        eprintln!("lap {}: {}", c["coaching"]["lap"], c["coaching"]["feedback"]);
    }
    let text = |c: &serde_json::Value| c["coaching"]["feedback"].as_str().unwrap_or("").to_string();
    // The reference is lap 2, the clean lap; the out lap (lap 1, from the pit exit) never is.
    let reference = said.iter().find(|c| text(c).contains("Reference lap set")).expect("a reference was set");
    assert_eq!(reference["coaching"]["lap"], 2, "{reference}");
    assert!(
        !said.iter().any(|c| c["coaching"]["lap"] == 1 && text(c).contains("Reference lap set")),
        "the out lap was taken as the reference: {said:?}"
    );
    // Nothing blames the line or the last corner for leaving the pits.
    for c in &said {
        let t = text(c).to_lowercase();
        assert!(!t.contains("start/finish straight"), "{t}");
    }
}
