//! `POST /api/coaching/analyze` semantics.

use chrono::{DateTime, Utc};
use pitbox_coach::synth::{Fault, SynthTrack, stream};
use pitbox_coach::{Sample, analyze_request};
use pitbox_model::coaching::{CoachingAnalyzeRequest, MAX_ANALYZE_SAMPLES};
use pitbox_model::telemetry::{TelemetrySnapshot, TireWear};

fn snapshot(s: &Sample, t0: DateTime<Utc>) -> TelemetrySnapshot {
    let w = s.tyre_wear.unwrap_or_default();
    TelemetrySnapshot {
        timestamp: t0 + chrono::Duration::microseconds((s.time * 1e6) as i64),
        speed: s.speed * 3.6,
        rpm: s.rpm,
        gear: s.gear,
        throttle: s.throttle * 100.0,
        brake: s.brake * 100.0,
        steering_angle: s.steering_deg,
        latitude: None,
        longitude: None,
        track_position: s.lap_pct,
        lap: s.lap.max(0) as u32,
        sector: 1,
        fuel_level: s.fuel_pct.unwrap_or(50.0),
        tire_wear: TireWear { front_left: w[0], front_right: w[1], rear_left: w[2], rear_right: w[3] },
    }
}

fn request(faults: &[Fault], hz: f64) -> CoachingAnalyzeRequest {
    let track = SynthTrack::club();
    let s = stream(&[track.lap(&[]), track.lap(faults)], hz, 1, 1.0, 1.0, 0.4);
    let t0 = DateTime::parse_from_rfc3339("2026-11-26T16:00:00Z").expect("time").with_timezone(&Utc);
    CoachingAnalyzeRequest {
        driver_id: "drv-7".into(),
        telemetry_data: s.samples.iter().map(|x| snapshot(x, t0).into()).collect(),
        focus_areas: vec![],
        skill_level: "advanced".into(),
    }
}

#[test]
fn finds_the_planted_fault_from_spec_snapshots() {
    let req = request(&[Fault::EarlyBrake { corner: 2, metres: 15.0 }], 20.0);
    let res = analyze_request(&req).expect("analysis");
    pitbox_model::validate::validate(&res, "").expect("valid response");
    assert!(res.feedback.contains("Lap 2"), "{}", res.feedback);
    assert!(res.feedback.contains("T3: braking 1"), "{}", res.feedback);
    assert!(res.suggestions[0].starts_with("T3: brake later"), "{:?}", res.suggestions);
    assert_eq!(res.analysis["focusLap"], 2);
    assert_eq!(res.analysis["findings"][0]["corner"], "T3");
}

#[test]
fn focus_areas_filter_and_skill_changes_words_not_facts() {
    let mut req = request(
        &[Fault::EarlyBrake { corner: 2, metres: 15.0 }, Fault::LateThrottle { corner: 3, seconds: 0.4 }],
        20.0,
    );
    req.focus_areas = vec!["throttle".into()];
    let res = analyze_request(&req).expect("analysis");
    let findings = res.analysis["findings"].as_array().expect("findings");
    assert!(findings.iter().all(|f| f["area"] == "throttle"), "{findings:#?}");
    assert!(res.feedback.contains("T4") && !res.feedback.contains("T3"), "{}", res.feedback);
    req.focus_areas = vec![];
    let mut facts = Vec::new();
    let mut words = Vec::new();
    for level in ["beginner", "intermediate", "advanced", "pro"] {
        req.skill_level = level.into();
        let res = analyze_request(&req).expect("analysis");
        facts.push(res.analysis["findings"].clone());
        words.push(res.feedback.clone());
    }
    assert!(facts.windows(2).all(|w| w[0] == w[1]));
    assert_ne!(words[0], words[3]);
    assert!(words[0].contains("brake later"), "{}", words[0]);
}

#[test]
fn bad_input_is_refused_naming_the_field() {
    let good = request(&[], 10.0);
    let err = |f: &dyn Fn(&mut CoachingAnalyzeRequest)| {
        let mut r = good.clone();
        f(&mut r);
        analyze_request(&r).expect_err("refused")
    };
    assert_eq!(err(&|r| r.telemetry_data.clear()).field, "telemetryData");
    let e = err(&|r| r.telemetry_data[5].speed = f64::NAN);
    assert_eq!((e.field.as_str(), e.status()), ("telemetryData[5].speed", 400), "{e}");
    assert_eq!(err(&|r| r.telemetry_data[7].throttle = 250.0).field, "telemetryData[7].throttle");
    // Rounding noise of real data is clamped like pitbox-irsdk does, not refused.
    let mut noisy = good.clone();
    noisy.telemetry_data[7].throttle = 100.00001;
    noisy.telemetry_data[8].brake = -1e-7;
    assert!(analyze_request(&noisy).is_ok());
    assert_eq!(err(&|r| r.telemetry_data[9].speed = 1e9).field, "telemetryData[9].speed");
    assert_eq!(err(&|r| r.telemetry_data.swap(3, 4)).field, "telemetryData");
    let e = err(&|r| r.telemetry_data[4].timestamp = r.telemetry_data[3].timestamp);
    assert_eq!(e.field, "telemetryData[4].timestamp", "{e}");
    assert_eq!(err(&|r| r.focus_areas = vec!["drifting".into()]).field, "focusAreas");
    assert_eq!(err(&|r| r.skill_level = "legend".into()).field, "skillLevel");
    assert_eq!(err(&|r| r.driver_id = String::new()).field, "driverId");
    let e = err(&|r| r.telemetry_data.truncate(50));
    assert_eq!(e.field, "telemetryData");
    assert!(e.message.contains("complete lap"), "{e}");
    let e = err(&|r| {
        let one = r.telemetry_data[0].clone();
        r.telemetry_data = vec![one; MAX_ANALYZE_SAMPLES + 1];
    });
    assert_eq!(e.field, "telemetryData");
    assert!(e.message.contains("at most"), "{e}");
}
