//! Issue 20: a real `.ibt` file replayed live through the whole path — the driver agent
//! (`--source ibt:FILE`) → a real relay → the cloud — is stored with the laps exactly as
//! `pitbox ibt laps` reads them from the file: the same lap numbers, `lapTime` within one tick,
//! the same complete, valid, in-lap and out-lap flags. Skips when the shared data is absent.

use std::time::{Duration, Instant};

use pitbox_driver::{AgentSettings, VoiceSettings, start};
use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
use pitbox_sources::replay::Pace;
use pitbox_sources::spec::{SourceOptions, SourceSpec, open_source};
use serde_json::Value;

mod common;
use common::Chain;

const TSUKUBA: &str = "Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt";

async fn get(base: &str, token: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_file_replayed_through_agent_relay_and_cloud_has_the_files_laps() {
    let Some(path) =
        pitbox_testkit::ibt_file("a_real_file_replayed_through_agent_relay_and_cloud_has_the_files_laps", TSUKUBA)
    else {
        return;
    };
    let file = pitbox_irsdk::IbtFile::open(&path).expect("open");
    let want = pitbox_irsdk::laps::file_laps(&file).expect("laps");

    // The cloud with the demo's team, and a real relay linked to it.
    let dir = tempfile::tempdir().expect("temp dir");
    let chain = Chain::start(dir.path()).await;
    let (team, cloud_addr, relay) = (&chain.team, chain.cloud_addr, &chain.relay);
    let alex = team.drivers()[0].clone();
    let engineer = team.engineer().expect("admin").clone();
    let issue = |a: &pitbox_demo::accounts::DemoAccount| chain.token(a);

    // The driver agent replaying the file at 4× real time, forwarding every one of its 60 Hz
    // records (240 a second).
    let mut so = SourceOptions::new(&alex.user_id);
    so.pace = Pace::Factor(4.0);
    let source = open_source(&SourceSpec::Ibt(path.clone()), &so).expect("source");
    let app_cfg = DriverAppConfig {
        relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: relay.addr().port() },
        cloud: CloudConfig { endpoint: format!("http://{cloud_addr}"), enabled: false },
        voice: VoiceConfig { enabled: false, sensitivity: 0.5, voice_id: "default".into() },
    };
    let mut settings = AgentSettings::new(alex.user_id.clone(), app_cfg);
    settings.token = Some(issue(&alex));
    settings.listen = "127.0.0.1:0".parse().expect("addr");
    settings.telemetry_hz = 240.0;
    settings.backoff_min = Duration::from_millis(100);
    settings.backoff_max = Duration::from_millis(400);
    settings.voice = VoiceSettings::wav_dir(dir.path().join("callouts"));
    let _agent = start(settings, source).await.expect("agent");

    // Wait for the cloud to hold the file's complete laps.
    let base = format!("http://{cloud_addr}");
    let token = issue(&engineer);
    let complete = want.iter().filter(|l| l.complete).count();
    let started = Instant::now();
    let mut laps: Vec<Value> = Vec::new();
    while started.elapsed() < Duration::from_secs(90) {
        let sessions = get(&base, &token, "/api/sessions").await;
        if let Some(id) = sessions.as_array().and_then(|s| s.first()).and_then(|s| s["id"].as_str()) {
            let v = get(&base, &token, &format!("/api/sessions/{id}/laps")).await;
            laps = v.as_array().cloned().unwrap_or_default();
            if laps.iter().filter(|l| l["complete"] == true).count() >= complete && laps.len() >= want.len() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!("replayed live through agent → relay → cloud in {:.1} s", started.elapsed().as_secs_f64());
    for (w, got) in want.iter().zip(&laps) {
        println!(
            "lap {:>3}  ibt laps {:>10}  cloud {:>10}  complete {} / {}  valid {} / {}",
            w.lap,
            w.lap_time.map_or("—".into(), |t| format!("{t:.4}")),
            got["lapTime"].as_f64().map_or("—".into(), |t| format!("{t:.4}")),
            w.complete,
            got["complete"],
            w.valid,
            got["valid"]
        );
    }
    assert_eq!(laps.len(), want.len(), "the cloud's laps {laps:?}");
    for (w, got) in want.iter().zip(&laps) {
        assert_eq!(got["lap"].as_i64(), Some(i64::from(w.lap)), "{got}");
        assert_eq!(got["complete"].as_bool(), Some(w.complete), "lap {}: {got}", w.lap);
        assert_eq!(got["valid"].as_bool(), Some(w.valid), "lap {}: {got}", w.lap);
        assert_eq!(got["inLap"].as_bool(), Some(w.in_lap), "lap {}: {got}", w.lap);
        assert_eq!(got["outLap"].as_bool(), Some(w.out_lap), "lap {}: {got}", w.lap);
        match w.lap_time {
            Some(t) => {
                let g = got["lapTime"].as_f64().expect("a time");
                assert!((g - t).abs() <= 1.0 / 60.0, "lap {}: cloud {g}, ibt laps {t}", w.lap);
            }
            None => assert!(got["lapTime"].is_null(), "lap {}: {got}", w.lap),
        }
    }
    chain.relay.shutdown().await;
}
