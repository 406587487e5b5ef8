//! Replay of the real iRacing files: the telemetry_updates carry the recorded values, converted
//! to wire units, at the same samples as the independent ground truth (`*.truth.json`).

use pitbox_model::Message;
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_sources::live::{LiveOptions, LiveSource};
use pitbox_sources::replay::{Pace, ReplayOptions, ReplaySource};
use pitbox_sources::{ConnectionState, SourceEvent, TelemetrySource};
use serde_json::Value;

const FILES: &[&str] = &[
    "teamjorge__ibt__valid_test_file",
    "gmartsenkov__itelem__amg",
    "racedirector__iracing.rs__telemetry",
    "Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29",
];

fn truth(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path.with_extension("truth.json")).unwrap()).unwrap()
}

/// f32 precision: the SDK stores floats; the wire carries them as f64 after a unit conversion.
fn close(got: f64, want: f64, what: &str) {
    let tol = 1e-6 * want.abs().max(1.0);
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want}");
}

fn replay_all(name: &str) -> Option<(Vec<TelemetryUpdate>, Vec<SourceEvent>, Value)> {
    let path = pitbox_testkit::ibt_file(name, &format!("{name}.ibt"))?;
    let t = truth(&path);
    let mut opts = ReplayOptions::new("driver-1");
    opts.pace = Pace::AsFastAsPossible;
    let mut src = ReplaySource::open(&path, opts).unwrap();
    let mut tel = Vec::new();
    let mut other = Vec::new();
    while let Some(ev) = src.next_event().unwrap() {
        match ev {
            SourceEvent::Telemetry(t) => tel.push(*t),
            e => other.push(e),
        }
    }
    assert_eq!(src.state(), ConnectionState::Finished);
    Some((tel, other, t))
}

#[test]
fn replay_matches_truth_samples_and_digests() {
    for name in FILES {
        let Some((tel, other, t)) = replay_all(name) else { continue };
        assert_eq!(tel.len() as u64, t["recordsBySize"].as_u64().unwrap(), "{name}: one update per record");
        for (k, s) in t["samples"].as_object().unwrap() {
            let i: usize = k.parse().unwrap();
            let u = &tel[i];
            let what = |f: &str| format!("{name} record {i} {f}");
            close(u.speed, s["Speed"].as_f64().unwrap() * 3.6, &what("speed"));
            close(u.rpm, s["RPM"].as_f64().unwrap(), &what("rpm"));
            assert_eq!(i64::from(u.gear), s["Gear"].as_i64().unwrap(), "{}", what("gear"));
            close(u.track_position, s["LapDistPct"].as_f64().unwrap(), &what("trackPosition"));
            assert_eq!(i64::from(u.lap), s["Lap"].as_i64().unwrap().max(0), "{}", what("lap"));
            close(u.session_time.unwrap(), s["SessionTime"].as_f64().unwrap(), &what("sessionTime"));
            assert_eq!(u.sequence, Some(i as u64));
        }
        // First and last record of the channels whose units change on the way to the wire.
        let d = &t["varDigest"];
        let (first, last) = (&tel[0], &tel[tel.len() - 1]);
        for (var, get, scale) in [
            ("Throttle", (|u: &TelemetryUpdate| u.throttle) as fn(&TelemetryUpdate) -> f64, 100.0),
            ("Brake", |u| u.brake, 100.0),
            ("FuelLevelPct", |u| u.fuel_level, 100.0),
            ("SteeringWheelAngle", |u| u.steering_angle, -180.0 / std::f64::consts::PI),
        ] {
            for (u, end) in [(first, "first"), (last, "last")] {
                let want = (d[var][end].as_f64().unwrap() * scale).clamp(-1800.0, 1800.0);
                let want = if scale == 100.0 { want.clamp(0.0, 100.0) } else { want };
                close(get(u), want, &format!("{name} {var} {end}"));
            }
        }
        for (u, end) in [(first, "first"), (last, "last")] {
            close(u.fuel_liters.unwrap(), d["FuelLevel"][end].as_f64().unwrap(), &format!("{name} FuelLevel {end}"));
            if let Some(lat) = d.get("Lat") {
                let (lat, lon) = (lat[end].as_f64().unwrap(), d["Lon"][end].as_f64().unwrap());
                if lat == 0.0 && lon == 0.0 {
                    // A blank record: no position fix is null, never 0,0.
                    assert_eq!((u.latitude, u.longitude), (None, None), "{name} {end}");
                } else {
                    close(u.latitude.unwrap(), lat, &format!("{name} Lat {end}"));
                    close(u.longitude.unwrap(), lon, &format!("{name} Lon {end}"));
                }
            }
            let worn = (1.0 - d["LFwearM"][end].as_f64().unwrap()) * 100.0;
            assert!(u.tire_wear.front_left >= 0.0 && (u.tire_wear.front_left - worn).abs() < 5.0, "{name} wear");
        }
        // Every message is valid on the wire.
        for u in &tel {
            Message::TelemetryUpdate(u.clone()).validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        // The session, once (files hold one session-info text), then standings.
        let sessions: Vec<_> = other.iter().filter(|e| matches!(e, SourceEvent::Session(_))).collect();
        assert_eq!(sessions.len(), 1, "{name}");
        if let SourceEvent::Session(s) = sessions[0] {
            Message::SessionInfo((**s).clone()).validate().unwrap();
            assert_eq!(Some(s.track.name.as_str()), t["session"]["trackName"].as_str());
            assert_eq!(i64::from(s.player_car_idx), t["session"]["driverCarIdx"].as_i64().unwrap());
            // Every car of the session but the pace car.
            let n = t["session"]["numDrivers"].as_u64().unwrap() as usize;
            assert!(s.drivers.len() == n || s.drivers.len() + 1 == n, "{name}: {} of {n}", s.drivers.len());
        }
        for e in &other {
            if let SourceEvent::Standings(s) = e {
                Message::StandingsUpdate((**s).clone()).validate().unwrap();
            }
        }
    }
}

#[test]
fn disk_files_have_no_car_arrays_so_no_standings() {
    // iRacing records only the player's channels on disk (no CarIdx arrays): standings come
    // from live memory (see `live_dump_reads_like_live_memory`) and the simulator.
    let name = "racedirector__iracing.rs__telemetry";
    let Some((_tel, other, _t)) = replay_all(name) else { return };
    assert!(!other.iter().any(|e| matches!(e, SourceEvent::Standings(_))));
}

#[test]
fn real_time_pacing_and_looping() {
    let name = "teamjorge__ibt__valid_test_file";
    let Some(path) = pitbox_testkit::ibt_file("real_time_pacing_and_looping", &format!("{name}.ibt")) else { return };
    // 390 records at 60 Hz = 6.5 s; at 20x that is 0.325 s per pass.
    let mut opts = ReplayOptions::new("d");
    opts.pace = Pace::Factor(20.0);
    opts.looping = true;
    let mut src = ReplaySource::open(&path, opts).unwrap();
    let start = std::time::Instant::now();
    let mut n = 0;
    let mut sessions = 0;
    while n < 780 {
        match src.next_event().unwrap().unwrap() {
            SourceEvent::Telemetry(_) => n += 1,
            SourceEvent::Session(_) => sessions += 1,
            _ => {}
        }
    }
    let el = start.elapsed().as_secs_f64();
    assert!((0.55..2.0).contains(&el), "two passes at 20x took {el} s");
    assert_eq!(sessions, 2, "a new pass announces the session again");
}

#[test]
fn invalid_file_is_refused_with_a_clear_error() {
    let name = "teamjorge__ibt__invalid_test_file";
    let Some(path) = pitbox_testkit::ibt_file(name, &format!("{name}.ibt")) else { return };
    let e = ReplaySource::open(&path, ReplayOptions::new("d")).err().unwrap().to_string();
    assert!(e.contains("ver") || e.contains("header"), "{e}");
}

#[test]
fn live_dump_reads_like_live_memory() {
    let name = "teamjorge__ibt__live_test_file";
    let Some(path) = pitbox_testkit::ibt_file(name, &format!("{name}.ibt")) else { return };
    let t = truth(&path);
    let mut src = LiveSource::dump(&path, LiveOptions::new("driver-1")).unwrap();
    let mut got = None;
    let mut session = None;
    let mut standings = None;
    for _ in 0..10 {
        match src.next_event().unwrap().unwrap() {
            SourceEvent::Telemetry(u) => got = Some(u),
            SourceEvent::Session(s) => session = Some(s),
            SourceEvent::Standings(s) => {
                standings = Some(s);
                break;
            }
            _ => {}
        }
    }
    let u = got.expect("a telemetry event from the newest buffer");
    let v = &t["valuesFromLatestBuffer"];
    close(u.speed, v["Speed"].as_f64().unwrap() * 3.6, "speed");
    close(u.rpm, v["RPM"].as_f64().unwrap(), "rpm");
    close(u.brake, v["Brake"].as_f64().unwrap() * 100.0, "brake");
    // The truth's "latest" buffer is tick 2004; the newest (2005) is one tick later.
    close(u.session_time.unwrap(), v["SessionTime"].as_f64().unwrap() + 1.0 / 60.0, "sessionTime");
    // Live memory has no position fix.
    assert_eq!(u.latitude, None);
    let s = session.expect("session before the first sample");
    assert_eq!(Some(s.track.name.as_str()), t["session"]["trackName"].as_str());
    assert_eq!(s.sectors.len(), 5);
    assert_eq!(src.state(), ConnectionState::Connected);
    let st = standings.expect("standings from the CarIdx arrays");
    Message::StandingsUpdate((*st).clone()).validate().unwrap();
    // Cars not in the world (this dump is taken in the garage) are left out by irsdk's mapping.
    assert!(st.entries.len() <= t["session"]["numDrivers"].as_u64().unwrap() as usize);
}
