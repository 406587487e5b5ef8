//! Issue 20: every real `.ibt` file with a lap table, replayed live through the whole path — the
//! driver agent (`--source ibt:FILE`) → a real relay → the cloud — is stored with the laps
//! exactly as `pitbox ibt laps` reads them from the file: the same lap numbers, `lapTime` within
//! one tick, the same complete, valid, in-lap and out-lap flags and the same reasons. Skips when
//! the shared data is absent. (The live-memory dump and the invalid test file have no lap table.)

use std::time::{Duration, Instant};

use pitbox_driver::{AgentSettings, VoiceSettings, start};
use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
use pitbox_sources::replay::Pace;
use pitbox_sources::spec::{SourceOptions, SourceSpec, open_source};
use serde_json::Value;

mod common;
use common::Chain;

const TSUKUBA: &str = "Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt";
const AMG: &str = "gmartsenkov__itelem__amg.ibt";
const RACEDIRECTOR: &str = "racedirector__iracing.rs__telemetry.ibt";
const TEAMJORGE_VALID: &str = "teamjorge__ibt__valid_test_file.ibt";

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

/// Two laps (the Tsukuba file: the out lap and a clean lap, iRacing's times 25.9145 and 23.9797).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_file_replayed_through_agent_relay_and_cloud_has_the_files_laps() {
    replay("a_real_file_replayed_through_agent_relay_and_cloud_has_the_files_laps", TSUKUBA).await;
}

/// One partial lap from the pits with an excursion off track.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_amg_file_replayed_live_has_the_files_partial_lap() {
    replay("the_amg_file_replayed_live_has_the_files_partial_lap", AMG).await;
}

/// A lap split in two by a reset to the pits: two partial laps, both lap 8.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_racedirector_file_replayed_live_keeps_the_reset_split() {
    replay("the_racedirector_file_replayed_live_keeps_the_reset_split", RACEDIRECTOR).await;
}

/// Six seconds on pit road.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_short_teamjorge_file_replayed_live_has_its_lap() {
    replay("the_short_teamjorge_file_replayed_live_has_its_lap", TEAMJORGE_VALID).await;
}

/// Replays `file` live and compares the cloud's laps with the file's, once the cloud has them
/// all and they have stopped changing (the last lap of a file grows until the replay ends).
async fn replay(test: &str, file: &str) {
    let Some(path) = pitbox_testkit::ibt_file(test, file) else {
        return;
    };
    let ibt = pitbox_irsdk::IbtFile::open(&path).expect("open");
    let want = pitbox_irsdk::laps::file_laps(&ibt).expect("laps");
    let duration_s = ibt.row_count() as f64 / f64::from(ibt.header().tick_rate.max(1));

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

    // Wait until the replay's length (at 4×) has passed and the cloud's laps have stopped
    // changing for 3 s: a lap still open is written as it stands (its time interpolated until
    // iRacing's settles), so a match before the end proves less.
    let base = format!("http://{cloud_addr}");
    let token = issue(&engineer);
    let replay_s = duration_s / 4.0;
    let started = Instant::now();
    let mut laps: Vec<Value> = Vec::new();
    let mut unchanged_since = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        let sessions = get(&base, &token, "/api/sessions").await;
        if let Some(id) = sessions.as_array().and_then(|s| s.first()).and_then(|s| s["id"].as_str()) {
            let v = get(&base, &token, &format!("/api/sessions/{id}/laps")).await;
            let now = v.as_array().cloned().unwrap_or_default();
            if now != laps {
                laps = now;
                unchanged_since = Instant::now();
            }
            if started.elapsed().as_secs_f64() > replay_s && unchanged_since.elapsed() > Duration::from_secs(3) {
                let stored =
                    sessions.as_array().and_then(|s| s.first()).map_or(0, |s| s["sampleCount"].as_i64().unwrap_or(0));
                println!("{file}: {stored} samples stored of the file's {} records", ibt.row_count());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!("{file}: replayed live through agent → relay → cloud in {:.1} s", started.elapsed().as_secs_f64());
    for (w, got) in want.iter().zip(&laps) {
        println!(
            "lap {:>3}  ibt laps {:>10}  cloud {:>10}  complete {} / {}  valid {} / {}  reasons {:?} / {}",
            w.lap,
            w.lap_time.map_or("—".into(), |t| format!("{t:.4}")),
            got["lapTime"].as_f64().map_or("—".into(), |t| format!("{t:.4}")),
            w.complete,
            got["complete"],
            w.valid,
            got["valid"],
            w.invalid.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            got["invalid"]
        );
    }
    if let Some(m) = mismatch(&want, &laps) {
        panic!("{file}: {m}\nthe cloud's laps: {laps:#?}");
    }
    chain.relay.shutdown().await;
}

/// The first way the cloud's laps differ from the file's, or `None` when they agree.
fn mismatch(want: &[pitbox_irsdk::laps::Lap], laps: &[Value]) -> Option<String> {
    if laps.len() != want.len() {
        return Some(format!("{} laps in the cloud, {} in the file", laps.len(), want.len()));
    }
    for (w, got) in want.iter().zip(laps) {
        let reasons: Vec<&str> = w.invalid.iter().map(|r| r.as_str()).collect();
        let same = got["lap"].as_i64() == Some(i64::from(w.lap))
            && got["complete"].as_bool() == Some(w.complete)
            && got["valid"].as_bool() == Some(w.valid)
            && got["inLap"].as_bool() == Some(w.in_lap)
            && got["outLap"].as_bool() == Some(w.out_lap)
            && got["invalid"] == serde_json::json!(reasons)
            && match w.lap_time {
                Some(t) => got["lapTime"].as_f64().is_some_and(|g| (g - t).abs() <= 1.0 / 60.0),
                None => got["lapTime"].is_null(),
            };
        if !same {
            return Some(format!(
                "lap {}: the file says time {:?}, complete {}, valid {}, in {}, out {}, reasons {reasons:?}; the cloud {got}",
                w.lap, w.lap_time, w.complete, w.valid, w.in_lap, w.out_lap
            ));
        }
    }
    None
}
