//! Downloads (issue 20 §4): a real file imported, then downloaded whole as `.ibt`, reads again
//! with the same laps as iRacing timed them and imports as the same session identity; a lap
//! downloads as `.ibt` and CSV with every stored sample; other teams and strangers are refused.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{App, DBS, Opts, err};
use http_body_util::BodyExt;
use pitbox_irsdk::IbtFile;
use pitbox_irsdk::laps::file_laps;

const TSUKUBA: &str = "Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt";

async fn get_bytes(app: &App, token: Option<&str>, path: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let mut req = Request::builder().method("GET").uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = tower::ServiceExt::oneshot(app.router.clone(), req.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let disposition = resp.headers().get(header::CONTENT_DISPOSITION).and_then(|v| v.to_str().ok()).map(str::to_string);
    let bytes = resp.into_body().collect().await.expect("body").to_bytes().to_vec();
    (status, disposition, bytes)
}

#[tokio::test]
async fn an_imported_file_downloads_as_ibt_and_csv_with_its_laps() {
    for db in DBS {
        let Some(app) = App::start(db, "downloads", Opts::default()).await else { continue };
        let Some(path) = pitbox_testkit::ibt_file("an_imported_file_downloads_as_ibt_and_csv_with_its_laps", TSUKUBA)
        else {
            return;
        };
        let original = IbtFile::open(&path).expect("open");
        let token = app.token(&app.driver);
        let imported = app.import_ibt(&token, std::fs::read(&path).expect("read")).await;
        let session_id = imported["sessionId"].as_str().expect("sessionId").to_string();

        // The whole session: every sample, the laps as iRacing timed them.
        let (s, disposition, bytes) = get_bytes(&app, Some(&token), &format!("/api/sessions/{session_id}/ibt")).await;
        assert_eq!(s, StatusCode::OK, "{db:?} {}", String::from_utf8_lossy(&bytes));
        assert!(disposition.as_deref().is_some_and(|d| d.contains(".ibt")), "{disposition:?}");
        let back = IbtFile::from_bytes(bytes.clone()).expect("the download is an .ibt file");
        assert_eq!(back.row_count(), original.row_count(), "{db:?}");
        let (want, got) = (file_laps(&original).expect("laps"), file_laps(&back).expect("laps"));
        let timed = |laps: &[pitbox_irsdk::laps::Lap]| -> Vec<(i32, f64)> {
            laps.iter().filter(|l| l.complete).map(|l| (l.lap, l.lap_time.unwrap_or(f64::NAN))).collect()
        };
        let (want, got) = (timed(&want), timed(&got));
        assert_eq!(want.len(), 2);
        assert_eq!(got.len(), want.len(), "{db:?} {got:?} {want:?}");
        for (g, w) in got.iter().zip(&want) {
            assert!(g.0 == w.0 && (g.1 - w.1).abs() <= 1.0 / 60.0, "{db:?}: {got:?} vs {want:?}, within a tick");
        }

        // Uploaded again, it is the same sim session (the file keeps its identity): refused by
        // name, never stored twice.
        let req = Request::builder()
            .method("POST")
            .uri(format!("/api/sessions/import?driverId={}", app.driver.id))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(bytes))
            .expect("request");
        let (s, v) = app.send(req).await;
        assert_eq!((s, err(&v).0.as_str()), (StatusCode::CONFLICT, "conflict"), "{db:?} {v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains(&session_id)), "{v}");
        let (_, sessions) = app.as_user(&app.engineer, "GET", "/api/sessions", None).await;
        assert_eq!(sessions.as_array().map(Vec::len), Some(1), "{db:?} {sessions}");

        // One lap: .ibt and CSV with every stored sample of it.
        let (_, laps) = app.as_user(&app.engineer, "GET", &format!("/api/sessions/{session_id}/laps"), None).await;
        let lap = laps.as_array().expect("laps").iter().find(|l| l["valid"] == true).cloned().expect("a valid lap");
        let lap_id = lap["id"].as_str().expect("id");
        let (_, buckets) =
            app.as_user(&app.engineer, "GET", &format!("/api/sessions/{session_id}/telemetry-laps"), None).await;
        let stored = buckets
            .as_array()
            .expect("buckets")
            .iter()
            .find(|b| b["lap"] == lap["lap"])
            .and_then(|b| b["sampleCount"].as_u64())
            .expect("the lap's bucket");
        let (s, _, bytes) = get_bytes(&app, Some(&token), &format!("/api/laps/{lap_id}/ibt")).await;
        assert_eq!(s, StatusCode::OK);
        let one = IbtFile::from_bytes(bytes).expect("a lap reads");
        assert_eq!(one.row_count() as u64, stored, "{db:?}");
        let lap_var = one.layout().handle::<i32>("Lap").expect("Lap");
        assert!(one.rows().all(|r| i64::from(lap_var.get(r)) == lap["lap"].as_i64().unwrap_or(-1)));
        let (s, disposition, csv) = get_bytes(&app, Some(&token), &format!("/api/laps/{lap_id}/csv")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(disposition.as_deref().is_some_and(|d| d.contains(".csv")), "{disposition:?}");
        let text = String::from_utf8(csv).expect("utf-8");
        let mut lines = text.lines();
        let head = lines.next().expect("header");
        assert!(head.starts_with("timestamp,speed,rpm,gear,throttle,brake"), "{head}");
        assert_eq!(lines.count() as u64, stored, "{db:?}");

        // Refused: strangers, other teams, unknown ids.
        let (s, _, _) = get_bytes(&app, None, &format!("/api/laps/{lap_id}/ibt")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let other = app.token(&app.engineer_b);
        for p in [format!("/api/laps/{lap_id}/csv"), format!("/api/sessions/{session_id}/ibt")] {
            let (s, _, body) = get_bytes(&app, Some(&other), &p).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{p}: {}", String::from_utf8_lossy(&body));
        }
        let (s, v) = app.as_user(&app.engineer, "GET", "/api/laps/nope/ibt", None).await;
        assert_eq!((s, err(&v).0.as_str()), (StatusCode::NOT_FOUND, "not_found"), "{v}");
    }
}
