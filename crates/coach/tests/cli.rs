//! The `pitbox coach analyze` command as library code.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use pitbox_coach::cli::{AnalyzeArgs, analyze_cmd};
use pitbox_coach::synth::{Fault, SynthTrack, stream};
use pitbox_model::telemetry::{TelemetryUpdate, TireWear};

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    dir.join(name)
}

fn args(file: PathBuf) -> AnalyzeArgs {
    AnalyzeArgs { file, reference: None, lap: None, json: false, plot: None, stint_laps: Some(20) }
}

fn write_jsonl(path: &PathBuf, faults: &[Fault]) {
    let track = SynthTrack::club();
    let s = stream(&[track.lap(&[]), track.lap(faults), track.lap(&[])], 30.0, 3, 1.0, 1.0, 0.1);
    let t0 = DateTime::parse_from_rfc3339("2026-11-26T16:00:00Z").expect("t0").with_timezone(&Utc);
    let mut out = String::new();
    for x in &s.samples {
        let w = x.tyre_wear.unwrap_or_default();
        let u = TelemetryUpdate {
            driver_id: "drv-1".into(),
            timestamp: t0 + chrono::Duration::microseconds((x.time * 1e6) as i64),
            speed: x.speed * 3.6,
            rpm: x.rpm,
            gear: x.gear,
            throttle: x.throttle * 100.0,
            brake: x.brake * 100.0,
            steering_angle: x.steering_deg,
            latitude: None,
            longitude: None,
            track_position: x.lap_pct,
            lap: x.lap as u32,
            sector: 1,
            fuel_level: x.fuel_pct.unwrap_or(0.0),
            tire_wear: TireWear { front_left: w[0], front_right: w[1], rear_left: w[2], rear_right: w[3] },
            position: None,
            lap_distance: x.lap_dist,
            lap_time: None,
            session_time: Some(x.time),
            yaw_rate: x.yaw_rate.map(f64::to_degrees),
            lateral_accel: x.lat_accel,
            longitudinal_accel: None,
            fuel_liters: x.fuel_l,
            on_pit_road: Some(false),
            sequence: None,
            sim_session_id: None,
            last_lap_time: None,
            on_track: None,
            in_garage: None,
            replay_playing: None,
            off_track: None,
            session_laps_remaining: None,
            session_time_remaining: None,
            pit_service_flags: None,
            pit_service_fuel_l: None,
            session_flags: None,
        };
        out.push_str(&serde_json::json!({"type": "telemetry_update", "data": u}).to_string());
        out.push('\n');
    }
    std::fs::write(path, out).expect("write");
}

#[test]
fn jsonl_session_report_plot_and_foreign_reference() {
    let file = tmp("session.jsonl");
    write_jsonl(&file, &[Fault::LateThrottle { corner: 3, seconds: 0.4 }]);
    let mut a = args(file.clone());
    a.lap = Some(4);
    a.plot = Some(tmp("lap4.svg"));
    let out = analyze_cmd(&a).expect("analyze");
    println!("{out}");
    assert!(out.contains("Lap 4 against your best lap"), "{out}");
    assert!(out.contains("T4: full throttle 0."), "{out}");
    assert!(out.contains("Fuel:") && out.contains("for a 20-lap stint"), "{out}");
    let svg = std::fs::read_to_string(tmp("lap4.svg")).expect("svg");
    assert!(svg.starts_with("<svg") && svg.contains("polyline") && svg.contains(">T4<"));
    // Against a lap of another file.
    let other = tmp("coach.jsonl");
    write_jsonl(&other, &[]);
    a.reference = Some(format!("{}:3", other.display()));
    a.plot = None;
    let out = analyze_cmd(&a).expect("analyze");
    assert!(out.contains("the reference (lap 3)"), "{out}");
    a.json = true;
    let json: serde_json::Value = serde_json::from_str(&analyze_cmd(&a).expect("json")).expect("valid json");
    assert_eq!(json["reference"]["lap"], 3);
    // Errors are clear.
    a.json = false;
    a.lap = Some(99);
    let e = analyze_cmd(&a).expect_err("no lap 99").to_string();
    assert!(e.contains("lap 99"), "{e}");
    let e = analyze_cmd(&args(tmp("missing.jsonl"))).expect_err("missing").to_string();
    assert!(e.contains("missing.jsonl"), "{e}");
}

#[test]
fn real_ibt_file_report() {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ibt");
    if !d.is_dir() {
        println!("SKIPPED: {} is absent", d.display());
        return;
    }
    let mut a =
        args(d.join("Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt"));
    a.plot = Some(tmp("tsukuba.svg"));
    let out = analyze_cmd(&a).expect("analyze");
    println!("{out}");
    // One time per lap: iRacing's own (25.9145 and 23.9797 s), the pit-exit lap never the reference.
    assert!(out.contains("0:25.914") && out.contains("0:23.980"), "{out}");
    assert!(out.contains("reference: your best lap (lap 2, 0:23.980)"), "{out}");
    let e = analyze_cmd(&args(d.join("teamjorge__ibt__invalid_test_file.ibt"))).expect_err("invalid");
    println!("{e:#}");
}
