//! `GET /api/laps/{id}/compare?reference=` (issue 20 §6): two stored laps of a real file, corner
//! by corner, say what `pitbox coach analyze` says of the same file; laps of another track, of
//! another team, unknown or missing references are refused with the field named.

mod common;

use axum::http::StatusCode;
use common::{App, DBS, Opts, err};

const TSUKUBA: &str = "Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt";
const AMG: &str = "gmartsenkov__itelem__amg.ibt";

async fn import(app: &App, token: &str, body: Vec<u8>) -> String {
    app.import_ibt(token, body).await["sessionId"].as_str().expect("sessionId").to_string()
}

/// The session's laps by lap number: (id, lapTime).
async fn session_laps(app: &App, session: &str) -> Vec<(i64, String, Option<f64>)> {
    let (s, v) = app.as_user(&app.engineer, "GET", &format!("/api/sessions/{session}/laps"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array()
        .expect("laps")
        .iter()
        .map(|l| (l["lap"].as_i64().unwrap_or(-1), l["id"].as_str().unwrap_or("").to_string(), l["lapTime"].as_f64()))
        .collect()
}

#[tokio::test]
async fn two_stored_laps_compare_corner_by_corner_as_the_cli_does() {
    let Some(path) = pitbox_testkit::ibt_file("two_stored_laps_compare_corner_by_corner_as_the_cli_does", TSUKUBA)
    else {
        return;
    };
    // What `pitbox coach analyze FILE --lap 1 --reference FILE:2` says.
    let file = pitbox_coach::ibt::read_ibt(&path).expect("reads");
    let opts = pitbox_coach::AnalysisOptions::default();
    let stream = pitbox_coach::Stream::new(file.samples, &opts).expect("stream");
    let reference = stream.reference(Some(2), opts.step_m, "lap 2").expect("lap 2");
    let cli = pitbox_coach::analyze(&stream, Some(&reference), Some(1), &opts).expect("analysis");
    let cli_lap = cli.focus_report().expect("lap 1");
    assert!(!cli_lap.comparison.corners.is_empty(), "the CLI finds corners");

    for db in DBS {
        let Some(app) = App::start(db, "lap_compare", Opts::default()).await else { continue };
        let token = app.token(&app.driver);
        let session = import(&app, &token, std::fs::read(&path).expect("read")).await;
        let laps = session_laps(&app, &session).await;
        let by_number = |n: i64| laps.iter().find(|l| l.0 == n).cloned().expect("lap");
        let (one, two) = (by_number(1), by_number(2));
        let (s, v) =
            app.as_user(&app.engineer, "GET", &format!("/api/laps/{}/compare?reference={}", one.1, two.1), None).await;
        assert_eq!(s, StatusCode::OK, "{db:?} {v}");
        assert_eq!(v["focusLap"], 1, "{v}");
        assert_eq!(v["reference"]["lap"], 2, "{v}");
        // The laps' times as iRacing timed them (within a tick), and their difference.
        let (t1, t2) = (one.2.expect("lap 1 timed"), two.2.expect("lap 2 timed"));
        let lap_time = v["lapTimeS"].as_f64().expect("lapTimeS");
        assert!((lap_time - t1).abs() <= 1.0 / 60.0, "{db:?}: {lap_time} vs iRacing's {t1}");
        let delta = v["lapDeltaS"].as_f64().expect("lapDeltaS");
        assert!((delta - (t1 - t2)).abs() <= 2.0 / 60.0, "{db:?}: delta {delta}, laps differ by {}", t1 - t2);
        // Corner by corner, what the CLI says of the file.
        let corners = v["corners"].as_array().expect("corners");
        assert_eq!(corners.len(), cli_lap.comparison.corners.len(), "{db:?} {v}");
        for (api, cli) in corners.iter().zip(&cli_lap.comparison.corners) {
            assert_eq!(api["id"], cli.id.as_str(), "{db:?}");
            let d = api["deltaS"].as_f64().expect("deltaS");
            assert!((d - cli.delta_s).abs() <= 0.03, "{db:?} {}: API {d} s, CLI {} s", cli.id, cli.delta_s);
        }
        let segments: f64 =
            v["segments"].as_array().expect("segments").iter().filter_map(|s| s["deltaS"].as_f64()).sum();
        assert!((segments - delta).abs() <= 0.01, "{db:?}: segments add up to {segments}, the lap delta is {delta}");

        // Refused, with the field named: no reference, an unknown one, another team, a stranger.
        let base = format!("/api/laps/{}/compare", one.1);
        let (s, v) = app.as_user(&app.engineer, "GET", &base, None).await;
        assert_eq!((s, err(&v).1.as_str()), (StatusCode::BAD_REQUEST, "reference"), "{v}");
        let (s, v) = app.as_user(&app.engineer, "GET", &format!("{base}?reference=nope"), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
        assert_eq!(v["error"]["message"], "reference: lap nope does not exist", "{v}");
        let (s, _) = app.as_user(&app.engineer_b, "GET", &format!("{base}?reference={}", two.1), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{db:?}");
        let (s, _) = app.call("GET", &format!("{base}?reference={}", two.1), None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // A lap of another file is no reference for a Tsukuba lap: refused naming `reference`
        // (the shared AMG file has no complete lap, so it is refused as incomplete; a complete
        // lap of another track would be refused for its length).
        if let Some(amg) = pitbox_testkit::ibt_file("two_stored_laps_compare_corner_by_corner_as_the_cli_does", AMG) {
            let other = import(&app, &token, std::fs::read(&amg).expect("read")).await;
            let other_laps = session_laps(&app, &other).await;
            let lap = other_laps.first().expect("a lap of the other file");
            let (s, v) = app
                .as_user(&app.engineer, "GET", &format!("/api/laps/{}/compare?reference={}", one.1, lap.1), None)
                .await;
            assert_eq!((s, err(&v).1.as_str()), (StatusCode::BAD_REQUEST, "reference"), "{db:?} {v}");
            let m = v["error"]["message"].as_str().unwrap_or("");
            assert!(m.contains("track lengths differ") || m.contains("not a complete lap"), "{v}");
        }
    }
}
