//! `.ibt` export (the cloud's lap and session downloads): every real file mapped to the wire
//! model and written back reads again with the same channels and the same lap table.

mod common;

use pitbox_irsdk::IbtFile;
use pitbox_irsdk::export::{ExportSession, session_yaml, write_ibt};
use pitbox_irsdk::laps::file_laps;
use pitbox_irsdk::mapping::Mapper;
use pitbox_model::telemetry::TelemetryUpdate;

fn wire(f: &IbtFile) -> Vec<TelemetryUpdate> {
    let session = f.session_info().expect("session info");
    let mut m = Mapper::new(f.layout()).expect("mapper");
    m.set_session(&session);
    let t0 = chrono::DateTime::from_timestamp(1_738_256_969, 0).expect("time");
    f.rows().map(|r| m.telemetry_update(r, "d", t0)).collect()
}

#[test]
fn real_files_written_back_keep_their_channels_and_laps() {
    let Some(dir) = common::ibt_dir() else { return };
    let mut checked = 0;
    for name in [
        "Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt",
        "gmartsenkov__itelem__amg.ibt",
        "racedirector__iracing.rs__telemetry.ibt",
    ] {
        let original = IbtFile::open(dir.join(name)).expect("open");
        let samples = wire(&original);
        let info = original.session_info().expect("session info");
        let session = ExportSession {
            track_name: info.weekend.track_name.clone().unwrap_or_default(),
            track_display_name: info.weekend.track_display_name.clone().unwrap_or_default(),
            car: "Car: 'quoted' #1".into(),
            driver_name: "Zoë O'Neil".into(),
            car_idx: 4,
            car_number: Some("07".into()),
            session_type: Some("Open Qualify".into()),
            key: Some(info.sim_session_key(0, Some(original.disk().session_start_date))),
            sectors: vec![0.0, 0.5],
            start_unix: original.disk().session_start_date,
            ..ExportSession::default()
        };
        let bytes = write_ibt(&session, &samples).expect("write");
        let back = IbtFile::from_bytes(bytes).expect("the written file reads");
        assert_eq!(back.row_count(), original.row_count(), "{name}");
        let back_info = back.session_info().expect("session info");
        assert_eq!(back_info.weekend.track_name, info.weekend.track_name, "{name}");
        assert_eq!(back_info.session_type_of(0), Some("Open Qualify"));
        assert_eq!(
            back_info.sim_session_key(0, Some(back.disk().session_start_date)).sim_session_id(),
            info.sim_session_key(0, Some(original.disk().session_start_date)).sim_session_id(),
            "{name}: the file keeps its session identity"
        );
        // The same wire values, to f32 precision.
        let again = wire(&back);
        for (a, b) in samples.iter().zip(&again) {
            let close = |x: f64, y: f64, what: &str| {
                assert!((x - y).abs() <= 1e-3 * x.abs().max(1.0), "{name} {what}: {x} vs {y}");
            };
            close(a.speed, b.speed, "speed");
            close(a.throttle, b.throttle, "throttle");
            close(a.brake, b.brake, "brake");
            close(a.steering_angle, b.steering_angle, "steering");
            close(a.track_position, b.track_position, "trackPosition");
            close(a.fuel_level, b.fuel_level, "fuelLevel");
            close(a.tire_wear.front_left, b.tire_wear.front_left, "tireWear");
            assert_eq!((a.lap, a.gear), (b.lap, b.gear), "{name}");
            assert_eq!(a.session_time, b.session_time, "{name}");
            assert_eq!(a.on_pit_road, b.on_pit_road, "{name}");
        }
        // The same laps, as iRacing timed them (within a tick).
        let (la, lb) = (file_laps(&original).expect("laps"), file_laps(&back).expect("laps"));
        assert_eq!(la.len(), lb.len(), "{name}");
        for (a, b) in la.iter().zip(&lb) {
            assert_eq!((a.lap, a.complete, a.in_lap, a.out_lap), (b.lap, b.complete, b.in_lap, b.out_lap), "{name}");
            match (a.lap_time, b.lap_time) {
                (Some(x), Some(y)) => assert!((x - y).abs() <= 1.0 / 60.0, "{name} lap {}: {x} vs {y}", a.lap),
                (x, y) => assert_eq!(x, y, "{name} lap {}", a.lap),
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn awkward_names_survive_the_session_yaml_and_nothing_to_write_is_an_error() {
    let s = ExportSession {
        track_name: "spa: combined".into(),
        driver_name: "Jim #1: the 'best' @home\nsecond line".into(),
        ..ExportSession::default()
    };
    let y = session_yaml(&s);
    let info = pitbox_irsdk::session::SessionInfo::parse(&y).expect("parses");
    assert_eq!(info.weekend.track_name.as_deref(), Some("spa: combined"));
    assert_eq!(info.driver.drivers[0].user_name, "Jim #1: the 'best' @home second line");
    let e = write_ibt(&s, &[]).expect_err("no samples").to_string();
    assert!(e.contains("no samples"), "{e}");
}
