//! Sessions are the sim's (issue 20): samples that say which sim session they belong to are
//! stored in that session, whatever the time between them; live laps are cut by the same code
//! as `pitbox ibt laps`; a `session_info` describes its own session and never another one.

mod common;

use chrono::{DateTime, Utc};
use common::{App, Db, Opts, serve, ws_login, ws_send};
use pitbox_irsdk::IbtFile;
use pitbox_irsdk::mapping::Mapper;
use pitbox_model::telemetry::TelemetryUpdate;
use serde_json::{Value, json};

const TSUKUBA: &str = "Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt";
const RED_BULL_RING: &str = "gmartsenkov__itelem__amg.ibt";

/// A file's rows as the driver agent sends them live (the sources' replay does the same): one
/// `telemetry_update` per record, on the wall clock from `t0`, with the file's own sim key.
fn replay(file: &IbtFile, driver_id: &str, t0: DateTime<Utc>) -> (Vec<TelemetryUpdate>, String) {
    let session = file.session_info().expect("session info");
    let mut mapper = Mapper::new(file.layout()).expect("mapper");
    mapper.set_session(&session);
    let num = file.layout().optional::<i32>("SessionNum").expect("handle");
    let session_num = num.and_then(|h| file.rows().next().map(|r| h.get(r))).unwrap_or(0);
    let start = Some(file.disk().session_start_date).filter(|d| *d > 0);
    let key = session.sim_session_key(session_num, start).sim_session_id();
    let mut first_time = None;
    let mut out = Vec::new();
    for row in file.rows() {
        let mut u = mapper.telemetry_update(row, driver_id, t0);
        let t = u.session_time.unwrap_or(0.0);
        let t_first = *first_time.get_or_insert(t);
        u.timestamp = t0 + chrono::Duration::milliseconds(((t - t_first) * 1000.0).round() as i64);
        u.sim_session_id = Some(key.clone());
        let check = pitbox_model::validate::validate(&u, "");
        assert!(check.is_ok(), "a mapped row is valid: {check:?}");
        out.push(u);
    }
    (out, key)
}

async fn send(app: &App, samples: Vec<TelemetryUpdate>) {
    for chunk in samples.chunks(400) {
        let outcome = app.state.ingest.submit(&app.team_a, &app.driver.id, chunk.to_vec(), None).await;
        assert!(outcome.is_ok(), "{outcome:?}");
    }
}

#[tokio::test]
async fn two_files_replayed_one_after_the_other_are_two_sessions_with_the_sims_laps() {
    for db in common::DBS {
        let Some(app) = App::start(db, "two_files_replayed_are_two_sessions", Opts::default()).await else { continue };
        let (Some(a), Some(b)) = (
            pitbox_testkit::ibt_file("two_files_replayed_are_two_sessions", RED_BULL_RING),
            pitbox_testkit::ibt_file("two_files_replayed_are_two_sessions", TSUKUBA),
        ) else {
            return;
        };
        let (fa, fb) = (IbtFile::open(&a).expect("open"), IbtFile::open(&b).expect("open"));
        // One right after the other: well within the old 30-minute gap.
        let t0 = Utc::now() - chrono::Duration::minutes(5);
        let (sa, key_a) = replay(&fa, &app.driver.id, t0);
        let t1 = sa.last().map(|u| u.timestamp).unwrap_or(t0) + chrono::Duration::seconds(2);
        let (sb, key_b) = replay(&fb, &app.driver.id, t1);
        assert_ne!(key_a, key_b);
        send(&app, sa).await;
        send(&app, sb).await;

        let (_, sessions) = app.as_user(&app.engineer, "GET", "/api/sessions", None).await;
        let sessions = sessions.as_array().expect("sessions").clone();
        assert_eq!(sessions.len(), 2, "{db:?}: {sessions:?}");
        for (file, key) in [(&fa, &key_a), (&fb, &key_b)] {
            let s = sessions.iter().find(|s| s["simSessionId"] == key.as_str()).expect("a session per file");
            assert_eq!(s["legacy"], false);
            let sid = s["id"].as_str().expect("id");
            let (_, laps) = app.as_user(&app.engineer, "GET", &format!("/api/sessions/{sid}/laps"), None).await;
            let laps = laps.as_array().expect("laps").clone();
            let cli = pitbox_irsdk::laps::file_laps(file).expect("laps");
            assert_eq!(laps.len(), cli.len(), "{db:?} {key}: {laps:?}");
            for (a, c) in laps.iter().zip(&cli) {
                assert_eq!(a["lap"].as_i64(), Some(i64::from(c.lap)), "{a}");
                assert_eq!((a["complete"].as_bool(), a["valid"].as_bool()), (Some(c.complete), Some(c.valid)), "{a}");
                assert_eq!((a["inLap"].as_bool(), a["outLap"].as_bool()), (Some(c.in_lap), Some(c.out_lap)), "{a}");
                match c.lap_time {
                    // Live samples carry LapLastLapTime: iRacing's own time, as `ibt laps`.
                    Some(t) => {
                        let got = a["lapTime"].as_f64().expect("a time");
                        assert!((got - t).abs() < 1e-9, "{key}: lap {}: live {got} vs ibt laps {t}", c.lap);
                        eprintln!("{db:?} {key}: lap {} live {got:.4} ibt laps {t:.4}", c.lap);
                    }
                    None => assert!(a["lapTime"].is_null(), "{a}"),
                }
            }
        }
    }
}

fn session_info(driver: &str, key: &str, track: &str) -> Value {
    json!({"type": "session_info", "data": {
        "driverId": driver, "sessionId": key.replace(':', "-"), "timestamp": "2026-11-26T15:58:00Z",
        "track": {"name": track, "displayName": track, "lengthKm": 4.3},
        "carName": "Mercedes-AMG GT4", "sessionType": "race", "sectors": [0.0, 0.5],
        "playerCarIdx": 3, "drivers": [],
        "simSessionId": key, "simSessionType": "Open Qualify", "carNumber": "23"}})
}

#[tokio::test]
async fn a_session_info_never_changes_another_session() {
    let Some(app) = App::start(Db::Sqlite, "a_session_info_never_changes_another_session", Opts::default()).await
    else {
        return;
    };
    let addr = serve(app.router.clone()).await;
    let (mut ws, r) = ws_login(addr, &app.token(&app.driver), "driver").await;
    assert_eq!(r["data"]["success"], true, "{r}");
    let (a, b) = ("iracing:1:900:1", "iracing:1:900:2");
    ws_send(&mut ws, session_info(&app.driver.id, a, "Red Bull Ring")).await;
    ws_send(&mut ws, session_info(&app.driver.id, b, "Tsukuba")).await;
    // A late session_info of A after B started: it describes A, never B.
    ws_send(&mut ws, session_info(&app.driver.id, a, "Red Bull Ring")).await;
    let mut sessions = Vec::new();
    for _ in 0..100 {
        let (_, v) = app.as_user(&app.engineer, "GET", "/api/sessions", None).await;
        sessions = v.as_array().cloned().unwrap_or_default();
        if sessions.len() == 2 && sessions.iter().all(|s| !s["track"].is_null()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let by_key = |k: &str| sessions.iter().find(|s| s["simSessionId"] == k).cloned().unwrap_or(Value::Null);
    assert_eq!(by_key(a)["track"], "Red Bull Ring", "{sessions:?}");
    assert_eq!(by_key(b)["track"], "Tsukuba", "{sessions:?}");
    assert_eq!(by_key(a)["sessionType"], "Open Qualify");
    assert_eq!(by_key(a)["carNumber"], "23");
    assert_eq!(by_key(a)["carIdx"], 3);
    assert_eq!(by_key(a)["eventId"], "iracing:1:900");
    // Telemetry of B then lands in B, whatever A's session info said.
    let t0 = Utc::now();
    let mut u: TelemetryUpdate = serde_json::from_value(json!({
        "driverId": app.driver.id, "timestamp": t0, "speed": 100.0, "rpm": 5000.0, "gear": 3, "throttle": 50.0,
        "brake": 0.0, "steeringAngle": 0.0, "trackPosition": 0.5, "lap": 2, "sector": 1, "fuelLevel": 50.0,
        "tireWear": {"frontLeft": 1.0, "frontRight": 1.0, "rearLeft": 1.0, "rearRight": 1.0}}))
    .expect("update");
    u.sim_session_id = Some(b.to_string());
    send(&app, vec![u]).await;
    let (_, v) = app.as_user(&app.engineer, "GET", "/api/sessions", None).await;
    let list = v.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 2, "{list:?}");
    let sb = list.iter().find(|s| s["simSessionId"] == b).expect("b");
    assert_eq!(sb["sampleCount"], 1, "{sb}");
}

/// Issue 20: the simulator's practice → qualifying → race, streamed as the driver agent streams
/// it, is three sessions of one event in the cloud, each with iRacing's session type and its own
/// laps from 1 again.
#[tokio::test]
async fn the_simulators_weekend_is_three_sessions_of_one_event() {
    use pitbox_sources::live::LiveOptions;
    use pitbox_sources::sim::output::LivePace;
    use pitbox_sources::sim::source::SimSource;
    use pitbox_sources::sim::{SimConfig, track};
    use pitbox_sources::{SourceEvent, TelemetrySource};
    // The weekend once, as the agent reads it; then into each database.
    let driver_stand_in = "weekend-driver";
    let mut cfg = SimConfig::new(5, &track::BRANDS_INDY);
    cfg.cars = 4;
    cfg.player_car_idx = 1;
    cfg.practice_laps = 1;
    cfg.qualify_laps = 1;
    cfg.session_laps = Some(2);
    let mut src = SimSource::start(cfg, LivePace { speed: 60.0 }, LiveOptions::new(driver_stand_in)).expect("sim");
    let (mut infos, mut samples) = (Vec::new(), Vec::new());
    let started = std::time::Instant::now();
    let mut race_id = None;
    while started.elapsed().as_secs() < 90 {
        match src.next_event().expect("event") {
            Some(SourceEvent::Session(s)) => infos.push(*s),
            Some(SourceEvent::Telemetry(u)) => {
                if infos.last().and_then(|i| i.sim_session_type.as_deref()) == Some("Race") {
                    race_id = infos.last().and_then(|i| i.sim_session_id.clone());
                }
                let done = race_id.is_some() && u.sim_session_id == race_id && u.lap >= 2;
                samples.push(*u);
                if done {
                    break;
                }
            }
            Some(_) => {}
            None => break,
        }
    }
    assert!(race_id.is_some(), "the race started: {:?}", infos.iter().map(|i| &i.sim_session_type).collect::<Vec<_>>());
    for db in common::DBS {
        let Some(app) = App::start(db, "the_simulators_weekend", Opts::default()).await else { continue };
        let addr = serve(app.router.clone()).await;
        let (mut ws, r) = ws_login(addr, &app.token(&app.driver), "driver").await;
        assert_eq!(r["data"]["success"], true, "{r}");
        for i in &infos {
            let mut i = i.clone();
            i.driver_id = app.driver.id.clone();
            ws_send(&mut ws, serde_json::to_value(pitbox_model::Message::SessionInfo(i)).expect("json")).await;
        }
        let mine: Vec<TelemetryUpdate> = samples
            .iter()
            .cloned()
            .map(|mut u| {
                u.driver_id = app.driver.id.clone();
                u
            })
            .collect();
        send(&app, mine).await;
        let mut events = Value::Null;
        for _ in 0..100 {
            let (_, v) = app.as_user(&app.engineer, "GET", "/api/events", None).await;
            events = v;
            let types = events[0]["sessionTypes"].as_array().map(Vec::len).unwrap_or(0);
            if types == 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let list = events.as_array().expect("events");
        assert_eq!(list.len(), 1, "{db:?}: one event: {events}");
        assert_eq!(list[0]["sessionCount"], 3, "{db:?}: {events}");
        let types: Vec<&str> =
            list[0]["sessionTypes"].as_array().expect("types").iter().filter_map(Value::as_str).collect();
        for t in ["Practice", "Lone Qualify", "Race"] {
            assert!(types.contains(&t), "{db:?}: {t} missing from {types:?}");
        }
        // Each session has its own laps, numbered from the start again.
        let (_, sessions) = app.as_user(&app.engineer, "GET", "/api/sessions", None).await;
        let sessions = sessions.as_array().expect("sessions").clone();
        assert_eq!(sessions.len(), 3, "{db:?}: {sessions:?}");
        for s in &sessions {
            let id = s["id"].as_str().expect("id");
            let (_, buckets) =
                app.as_user(&app.engineer, "GET", &format!("/api/sessions/{id}/telemetry-laps"), None).await;
            let first = buckets.as_array().and_then(|b| b.iter().filter_map(|x| x["lap"].as_i64()).min());
            assert!(first.is_some_and(|l| l <= 1), "{db:?} {}: laps start again, first is {first:?}", s["sessionType"]);
        }
    }
}
