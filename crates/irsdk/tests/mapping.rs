//! Mapping SDK rows to the wire model: units, sectors, standings; every mapped row validates.

mod common;

use chrono::{TimeZone, Utc};
use pitbox_irsdk::live::{LiveReader, SharedMem};
use pitbox_irsdk::mapping::Mapper;
use pitbox_irsdk::writer::IbtWriter;
use pitbox_irsdk::{IbtFile, SessionInfo, VarHeader, VarType};
use pitbox_model::validate::validate;

fn ts() -> pitbox_model::Timestamp {
    Utc.timestamp_opt(1_700_000_000, 0).unwrap()
}

#[test]
fn every_row_of_every_file_maps_to_a_valid_telemetry_update() {
    for (path, t) in common::disk_truths() {
        let f = IbtFile::open(&path).unwrap();
        let s = f.session_info().unwrap();
        let mut m = Mapper::new(f.layout()).unwrap();
        m.set_session(&s);
        for (i, row) in f.rows().enumerate() {
            let u = m.telemetry_update(row, "driver-1", ts());
            if let Err(e) = validate(&u, "") {
                panic!("{} row {i}: {e:?}\n{u:?}", path.display());
            }
        }
        for (idx, want) in t["samples"].as_object().unwrap() {
            let u = m.telemetry_update(f.row(idx.parse().unwrap()).unwrap(), "d", ts());
            let sp = want["Speed"].as_f64().unwrap();
            assert!((u.speed - sp * 3.6).abs() < 1e-9, "speed km/h");
            assert_eq!(i64::from(u.gear), want["Gear"].as_i64().unwrap());
            assert_eq!(i64::from(u.lap), want["Lap"].as_i64().unwrap());
            assert_eq!(u.track_position, want["LapDistPct"].as_f64().unwrap());
            assert_eq!(u.session_time, want["SessionTime"].as_f64());
            // Sector from SplitTimeInfo: 1-based.
            let expect = s.sector_at(u.track_position).unwrap() + 1;
            assert_eq!(u.sector as i32, expect);
        }
        // Fuel is percent of the tank, not litres.
        let u = m.telemetry_update(f.row(f.row_count() / 2).unwrap(), "d", ts());
        let litres = u.fuel_liters.unwrap();
        let max = s.driver.driver_car_fuel_max_ltr.unwrap();
        assert!((u.fuel_level - litres / max * 100.0).abs() < 1.0, "{} % vs {litres} l of {max}", u.fuel_level);
        assert!(u.latitude.is_some() && u.longitude.is_some(), "files carry Lat/Lon");
    }
}

#[test]
fn steering_sign_and_pedals_on_a_real_lap() {
    let Some(dir) = common::ibt_dir() else { return };
    let f = IbtFile::open(
        dir.join("Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt"),
    )
    .unwrap();
    let m = Mapper::new(f.layout()).unwrap();
    let yaw = f.handle::<f32>("YawRate").unwrap();
    let speed = f.handle::<f32>("Speed").unwrap();
    // Turning left (yaw rate > 0, z up) at speed goes with a negative (left) wire steering angle.
    let (mut agree, mut total) = (0, 0);
    for row in f.rows() {
        if speed.get(row) > 15.0 && yaw.get(row).abs() > 0.3 {
            let u = m.telemetry_update(row, "d", ts());
            total += 1;
            if (u.steering_angle < 0.0) == (yaw.get(row) > 0.0) {
                agree += 1;
            }
            assert!((0.0..=100.0).contains(&u.throttle) && (0.0..=100.0).contains(&u.brake));
        }
    }
    assert!(total > 100 && agree * 10 >= total * 9, "{agree}/{total}");
}

#[test]
fn standings_from_the_live_dump() {
    let Some(dir) = common::ibt_dir() else { return };
    let bytes = std::fs::read(dir.join("teamjorge__ibt__live_test_file.ibt")).unwrap();
    let mut r = LiveReader::new(SharedMem::from_bytes(&bytes)).unwrap();
    let row = r.read_row().unwrap().to_vec();
    let s = r.session_info().unwrap().clone();
    let mut m = Mapper::new(r.layout()).unwrap();
    m.set_session(&s);
    let st = m.standings_update(&row, &s, "d", ts());
    validate(&st, "").unwrap();
    // The one car of this dump sits in the garage: irsdk_TrkLoc NotInWorld, so no standings line.
    let surf = r.layout().handle::<pitbox_irsdk::flags::TrkLoc>("CarIdxTrackSurface").unwrap();
    assert_eq!(surf.at(&row, 0), Some(pitbox_irsdk::flags::TrkLoc::NotInWorld));
    assert!(st.entries.is_empty());
    // Put the car on track: it is listed, as the leader.
    let mut on = row.clone();
    surf.set_at(&mut on, 0, pitbox_irsdk::flags::TrkLoc::OnTrack);
    let st = m.standings_update(&on, &s, "d", ts());
    validate(&st, "").unwrap();
    assert_eq!(st.entries.len(), 1);
    assert_eq!(st.entries[0].car_idx, 0);
    assert_eq!(st.entries[0].gap_to_leader, Some(0.0));
    let u = m.telemetry_update(&row, "d", ts());
    validate(&u, "").unwrap();
    assert_eq!(u.brake, 100.0);
    assert_eq!(u.latitude, None, "live memory has no Lat/Lon");
    // The dump was taken watching a replay, nobody in the car: the sample says so.
    assert_eq!((u.on_track, u.in_garage, u.replay_playing), (Some(false), Some(false), Some(true)));
    assert_eq!(u.not_driving(), Some(pitbox_model::telemetry::NotDriving::ReplayPlaying));
}

#[test]
fn standings_order_and_gaps() {
    let mut vars = vec![VarHeader::new("SessionTime", VarType::Double, 0, 1, false, "", "s")];
    let mut off = 8;
    for (n, ty) in [
        ("CarIdxPosition", VarType::Int),
        ("CarIdxClassPosition", VarType::Int),
        ("CarIdxLap", VarType::Int),
        ("CarIdxLapDistPct", VarType::Float),
        ("CarIdxLastLapTime", VarType::Float),
        ("CarIdxBestLapTime", VarType::Float),
        ("CarIdxEstTime", VarType::Float),
        ("CarIdxF2Time", VarType::Float),
        ("CarIdxTrackSurface", VarType::Int),
    ] {
        vars.push(VarHeader::new(n, ty, off, 64, false, "", ""));
        off += 256;
    }
    vars.push(VarHeader::new("CarIdxOnPitRoad", VarType::Bool, off, 64, false, "", ""));
    let buf_len = off + 64;
    let text = "DriverInfo:\n DriverCarIdx: 2\n DriverCarEstLapTime: 100.0\n Drivers:\n - CarIdx: 0\n   UserName: Pace Car\n   CarIsPaceCar: 1\n - CarIdx: 1\n   UserName: A: the fast\n   TeamID: 7\n   CarNumber: \"01\"\n - CarIdx: 2\n   UserName: Me\n   TeamID: 9\n   CarNumber: \"2\"\n   CarClassShortName: GT4\n - CarIdx: 3\n   UserName: Gone\n";
    let mut w = IbtWriter::new(std::io::Cursor::new(Vec::new()), vars, buf_len, 60, text, 0).unwrap();
    let l = w.layout().clone();
    let mut row = w.blank_row();
    let set_i = |row: &mut Vec<u8>, n: &str, i: usize, v: i32| assert!(l.handle::<i32>(n).unwrap().set_at(row, i, v));
    let set_f = |row: &mut Vec<u8>, n: &str, i: usize, v: f32| assert!(l.handle::<f32>(n).unwrap().set_at(row, i, v));
    l.handle::<f64>("SessionTime").unwrap().set(&mut row, 500.0);
    // Car 1 leads on lap 5 at 0.5 (est 50 s); car 2 is on lap 4 at 0.75 (est 75 s): one lap
    // minus 25 s = 75 s behind. Car 3 is not in the world.
    for (car, pos, lap, pct, est) in [(1, 1, 5, 0.5, 50.0), (2, 2, 4, 0.75, 75.0)] {
        set_i(&mut row, "CarIdxPosition", car, pos);
        set_i(&mut row, "CarIdxClassPosition", car, pos);
        set_i(&mut row, "CarIdxLap", car, lap);
        set_f(&mut row, "CarIdxLapDistPct", car, pct);
        set_f(&mut row, "CarIdxEstTime", car, est);
        set_f(&mut row, "CarIdxLastLapTime", car, 101.5);
        set_f(&mut row, "CarIdxBestLapTime", car, -1.0);
        set_i(&mut row, "CarIdxTrackSurface", car, 3);
    }
    set_i(&mut row, "CarIdxTrackSurface", 3, -1);
    w.write_row(&row).unwrap();
    let f = IbtFile::from_bytes(w.finish().unwrap().into_inner()).unwrap();
    let s = SessionInfo::parse(&f.session_info_text()).unwrap();
    let m = Mapper::new(f.layout()).unwrap();
    let st = m.standings_update(f.row(0).unwrap(), &s, "d", ts());
    validate(&st, "").unwrap();
    let names: Vec<&str> = st.entries.iter().map(|e| e.driver_name.as_str()).collect();
    assert_eq!(names, vec!["A: the fast", "Me"]);
    let me = &st.entries[1];
    assert_eq!(me.gap_to_leader, Some(75.0));
    assert_eq!(me.gap_to_ahead, Some(75.0));
    assert_eq!(me.last_lap_time, Some(101.5));
    assert_eq!(me.best_lap_time, None, "-1 means no lap timed");
    assert!(me.is_team_car && !st.entries[0].is_team_car);
    assert_eq!(me.car_class.as_deref(), Some("GT4"));
    assert_eq!(st.entries[0].car_number, "01");
    assert_eq!(st.session_time, 500.0);
}
