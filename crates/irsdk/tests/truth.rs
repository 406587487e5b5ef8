//! Every field of every `*.truth.json` (computed by pyirsdk, an independent reader) is matched.

mod common;

use common::{close, disk_truths, ibt_dir};
use pitbox_irsdk::laps::{InvalidReason, LapColumns, LapKind, lap_changes, laps};
use pitbox_irsdk::{IbtFile, Value, VarType};
use serde_json::Value as J;

fn num(j: &J) -> f64 {
    match j {
        J::Bool(b) => f64::from(u8::from(*b)),
        J::Number(n) => n.as_f64().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

fn opt_num(j: &J) -> Option<f64> {
    if j.is_null() { None } else { Some(num(j)) }
}

#[test]
fn header_disk_and_sizes() {
    for (path, t) in disk_truths() {
        let f = IbtFile::open(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let h = f.header();
        let th = &t["header"];
        let pairs = [
            ("ver", h.ver),
            ("status", h.status),
            ("tickRate", h.tick_rate),
            ("sessionInfoUpdate", h.session_info_update),
            ("sessionInfoLen", h.session_info_len),
            ("sessionInfoOffset", h.session_info_offset),
            ("numVars", h.num_vars),
            ("varHeaderOffset", h.var_header_offset),
            ("numBuf", h.num_buf),
            ("bufLen", h.buf_len),
        ];
        for (k, v) in pairs {
            assert_eq!(th[k].as_i64().unwrap(), i64::from(v), "{name} header.{k}");
        }
        assert_eq!(th["varBuf0"]["tickCount"].as_i64().unwrap(), i64::from(h.var_buf[0].tick_count));
        assert_eq!(th["varBuf0"]["bufOffset"].as_i64().unwrap(), i64::from(h.var_buf[0].buf_offset));
        let d = f.disk();
        let td = &t["disk"];
        assert_eq!(td["sessionStartDate"].as_i64().unwrap(), d.session_start_date, "{name}");
        assert_eq!(td["sessionStartDateUtc"].as_str().unwrap(), d.start_date_utc(), "{name}");
        assert_eq!(num(&td["sessionStartTime"]), d.session_start_time, "{name}");
        assert_eq!(num(&td["sessionEndTime"]), d.session_end_time, "{name}");
        assert_eq!(td["sessionLapCount"].as_i64().unwrap(), i64::from(d.session_lap_count));
        assert_eq!(td["sessionRecordCount"].as_i64().unwrap(), i64::from(d.session_record_count));
        assert_eq!(t["bytes"].as_u64().unwrap() as usize, f.bytes().len());
        assert_eq!(t["recordsBySize"].as_u64().unwrap() as usize, f.row_count(), "{name}");
        let info = f.info();
        assert_eq!(t["trailingBytes"].as_u64().unwrap(), 0);
        assert!(info.truncated.is_none(), "{name}: {:?}", info.truncated);
        assert!(close(num(&t["durationSecondsByRecords"]), info.duration_s));
        assert_eq!(t["lastIndex"].as_u64().unwrap() as usize, f.row_count() - 1);
        assert_eq!(t["numVars"].as_u64().unwrap() as usize, f.vars().len());
    }
}

#[test]
fn every_var_header() {
    for (path, t) in disk_truths() {
        let f = IbtFile::open(&path).unwrap();
        let tv = t["vars"].as_array().unwrap();
        assert_eq!(tv.len(), f.vars().len());
        for (v, j) in f.vars().iter().zip(tv) {
            let ctx = format!("{} var {}", path.display(), v.name);
            assert_eq!(j["name"].as_str().unwrap(), v.name, "{ctx}");
            assert_eq!(j["type"].as_i64().unwrap(), v.ty as i64, "{ctx}");
            assert_eq!(j["typeName"].as_str().unwrap(), v.ty.name(), "{ctx}");
            assert_eq!(j["count"].as_u64().unwrap() as usize, v.count, "{ctx}");
            assert_eq!(j["countAsTime"].as_bool().unwrap(), v.count_as_time, "{ctx}");
            assert_eq!(j["offset"].as_u64().unwrap() as usize, v.offset, "{ctx}");
            assert_eq!(j["unit"].as_str().unwrap(), v.unit, "{ctx}");
            assert_eq!(j["desc"].as_str().unwrap(), v.desc, "{ctx}");
        }
    }
}

#[test]
fn session_facts() {
    for (path, t) in disk_truths() {
        let f = IbtFile::open(&path).unwrap();
        let s = f.session_info().unwrap();
        let ts = &t["session"];
        assert!(ts["yamlErrors"].is_null());
        let w = &s.weekend;
        let opt = |j: &J| j.as_str().map(str::to_string);
        assert_eq!(opt(&ts["trackName"]), w.track_name);
        assert_eq!(opt(&ts["trackDisplayName"]), w.track_display_name);
        assert_eq!(opt(&ts["trackConfigName"]), w.track_config_name, "{}", path.display());
        assert_eq!(ts["trackID"].as_i64(), w.track_id);
        assert_eq!(opt(&ts["trackLength"]), w.track_length);
        let km: f64 = ts["trackLength"].as_str().unwrap().trim_end_matches(" km").parse().unwrap();
        assert_eq!(w.track_length_km, Some(km));
        assert_eq!(opt(&ts["eventType"]), w.event_type);
        assert_eq!(opt(&ts["simMode"]), w.sim_mode);
        assert_eq!(opt(&ts["buildVersion"]), w.build_version);
        assert_eq!(ts["driverCarIdx"].as_i64(), s.driver.driver_car_idx.map(i64::from));
        let me = s.driver.player().expect("player entry");
        assert_eq!(opt(&ts["carScreenName"]), me.car_screen_name);
        assert_eq!(opt(&ts["carPath"]), me.car_path);
        assert_eq!(ts["carID"].as_i64(), me.car_id);
        assert_eq!(ts["numDrivers"].as_u64().unwrap() as usize, s.driver.drivers.len());
        let types: Vec<String> =
            ts["sessionTypes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        let ours: Vec<String> = s.sessions.iter().filter_map(|x| x.session_type.clone()).collect();
        assert_eq!(types, ours);
        assert!(!s.sectors.is_empty());
    }
}

#[test]
fn stats_and_samples() {
    for (path, t) in disk_truths() {
        let f = IbtFile::open(&path).unwrap();
        for (chan, st) in t["stats"].as_object().unwrap() {
            let v = f.layout().var(chan).unwrap();
            let vals: Vec<f64> = f.rows().map(|r| v.value(r, 0).unwrap().as_f64()).collect();
            let min = vals.iter().copied().fold(f64::INFINITY, f64::min);
            let max = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            assert_eq!(num(&st["min"]), min, "{chan}");
            assert_eq!(num(&st["max"]), max, "{chan}");
            assert!((num(&st["mean"]) - mean).abs() <= 1e-9 * mean.abs().max(1.0), "{chan}");
            assert_eq!(st["nonFinite"].as_u64().unwrap() as usize, vals.iter().filter(|x| !x.is_finite()).count());
        }
        for (idx, chans) in t["samples"].as_object().unwrap() {
            let row = f.row(idx.parse().unwrap()).unwrap();
            for (chan, want) in chans.as_object().unwrap() {
                let got = f.layout().var(chan).unwrap().value(row, 0).unwrap().as_f64();
                assert_eq!(num(want), got, "{} row {idx} {chan}", path.display());
            }
        }
    }
}

#[test]
fn var_digest_every_variable() {
    for (path, t) in disk_truths() {
        let f = IbtFile::open(&path).unwrap();
        let dig = t["varDigest"].as_object().unwrap();
        assert_eq!(dig.len(), f.vars().len());
        let rows = f.row_count();
        for v in f.vars() {
            let d = &dig[&v.name];
            let ctx = format!("{} {}", path.file_name().unwrap().to_string_lossy(), v.name);
            let (mut min, mut max, mut sum, mut sum_abs, mut non_finite) =
                (f64::INFINITY, f64::NEG_INFINITY, 0.0f64, 0.0f64, 0usize);
            for r in f.rows() {
                for i in 0..v.count {
                    let x = v.value(r, i).unwrap().as_f64();
                    if !x.is_finite() {
                        non_finite += 1;
                        continue;
                    }
                    min = min.min(x);
                    max = max.max(x);
                    sum += x;
                    sum_abs += x.abs();
                }
            }
            assert!(close(num(&d["min"]), min), "{ctx} min {} vs {min}", d["min"]);
            assert!(close(num(&d["max"]), max), "{ctx} max");
            let tol = 1e-9 * sum_abs.max(1.0);
            assert!((num(&d["sum"]) - sum).abs() <= tol, "{ctx} sum {} vs {sum}", d["sum"]);
            assert_eq!(d["nonFinite"].as_u64().unwrap() as usize, non_finite, "{ctx}");
            for (key, ri) in [("first", 0), ("last", rows - 1)] {
                let row = f.row(ri).unwrap();
                let want = &d[key];
                if v.count > 1 {
                    let arr = want.as_array().unwrap();
                    assert_eq!(arr.len(), v.count, "{ctx}");
                    for (i, w) in arr.iter().enumerate() {
                        assert!(close(num(w), v.value(row, i).unwrap().as_f64()), "{ctx} {key}[{i}]");
                    }
                } else {
                    let got = v.value(row, 0).unwrap();
                    if v.ty == VarType::Bool {
                        assert_eq!(want.as_bool(), Some(got == Value::Bool(true)), "{ctx} {key}");
                    } else {
                        assert!(close(num(want), got.as_f64()), "{ctx} {key}: {want} vs {got}");
                    }
                }
            }
        }
    }
}

#[test]
fn lap_changes_and_lap_times() {
    for (path, t) in disk_truths() {
        let f = IbtFile::open(&path).unwrap();
        let cols = LapColumns::from_file(&f).unwrap();
        let ours = lap_changes(&cols);
        let want = t["lapChanges"].as_array().unwrap();
        assert_eq!(want.len(), ours.len(), "{}", path.display());
        for (w, o) in want.iter().zip(&ours) {
            assert_eq!(w["index"].as_u64().unwrap() as usize, o.index);
            assert_eq!(w["lapFrom"].as_i64().unwrap(), i64::from(o.lap_from));
            assert_eq!(w["lapTo"].as_i64().unwrap(), i64::from(o.lap_to));
            assert_eq!(num(&w["sessionTime"]), o.session_time);
            assert_eq!(opt_num(&w["lapCurrentLapTimeBefore"]), o.lap_current_lap_time_before.map(f64::from));
            assert_eq!(opt_num(&w["lapLastLapTimeBefore"]), o.lap_last_lap_time_before.map(f64::from));
            assert_eq!(opt_num(&w["lapLastLapTimeSettled"]), o.lap_last_lap_time_settled.map(f64::from));
            assert_eq!(w["lapLastLapTimeSettledIndex"].as_u64().map(|x| x as usize), o.lap_last_lap_time_settled_index);
        }
        let seen: Vec<i64> = t["lapsSeen"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
        let mut ours_seen: Vec<i64> = cols.lap.iter().map(|&l| i64::from(l)).collect();
        ours_seen.sort();
        ours_seen.dedup();
        assert_eq!(seen, ours_seen);
        // Our interpolated lap time agrees with iRacing's LapLastLapTime within one tick.
        let table = laps(&cols);
        let tick = 1.0 / f64::from(f.header().tick_rate);
        for w in want {
            let Some(settled) = opt_num(&w["lapLastLapTimeSettled"]) else { continue };
            if settled <= 0.0 {
                continue;
            }
            let end = w["index"].as_u64().unwrap() as usize - 1;
            let lap = table.iter().find(|l| l.end == end).unwrap();
            assert_eq!(lap.kind, LapKind::Timed, "{lap:?}");
            let dt = (lap.time.unwrap() - settled).abs();
            assert!(dt <= tick, "{}: lap {} {:?} vs iRacing {settled}: {dt}", path.display(), lap.lap, lap.time);
            assert_eq!(lap.iracing_time.map(f64::from), Some(settled));
        }
    }
}

#[test]
fn formula_vee_two_timed_laps() {
    let Some(dir) = ibt_dir() else { return };
    let f = IbtFile::open(
        dir.join("Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt"),
    )
    .unwrap();
    let table = pitbox_irsdk::laps::file_laps(&f).unwrap();
    let kinds: Vec<_> = table.iter().map(|l| (l.lap, l.kind)).collect();
    assert_eq!(kinds, vec![(0, LapKind::OutLap), (1, LapKind::Timed), (2, LapKind::Timed), (3, LapKind::Incomplete)]);
    assert!((table[1].time.unwrap() - 25.9145).abs() < 1.0 / 60.0);
    assert!((table[2].time.unwrap() - 23.9797).abs() < 1.0 / 60.0);
    // The lap time is iRacing's own, settled LapLastLapTime.
    assert_eq!(table[1].lap_time, Some(f64::from(25.9145_f32)));
    assert_eq!(table[2].lap_time, Some(f64::from(23.979_7_f32)));
    assert_eq!(table[0].lap_time, None);
    assert_eq!(table[3].lap_time, None);
    // Lap 1 starts 14 records after the car left pit road just before the line: an out lap.
    assert!(table[1].out_lap && !table[1].valid && table[1].complete, "{:?}", table[1]);
    assert_eq!(table[1].invalid, vec![InvalidReason::PitRoad]);
    assert!(table[2].valid && !table[2].in_lap && !table[2].out_lap, "{:?}", table[2]);
    assert_eq!(pitbox_irsdk::laps::best_valid(&table).map(|l| l.lap), Some(2));
    // Sectors from SplitTimeInfo add up to the crossing-to-crossing time.
    assert!(!table[2].sectors.is_empty());
    let sum: f64 = table[2].sectors.iter().sum();
    assert!((sum - table[2].time.unwrap()).abs() < 1e-9, "{sum} vs {:?}", table[2].time);
    assert!(table[2].fuel_used.is_some_and(|f| f > 0.0), "{:?}", table[2].fuel_used);
    assert_eq!(table[3].invalid, vec![InvalidReason::Incomplete]);
}

#[test]
fn reset_to_pits_blank_rows() {
    let Some(dir) = ibt_dir() else { return };
    let f = IbtFile::open(dir.join("racedirector__iracing.rs__telemetry.ibt")).unwrap();
    let table = pitbox_irsdk::laps::file_laps(&f).unwrap();
    // The blank rows (record 0 and the reset at 2405) are not laps.
    let rows: Vec<_> = table.iter().map(|l| (l.lap, l.start, l.end, l.kind)).collect();
    assert_eq!(rows, vec![(8, 1, 2404, LapKind::Partial), (8, 2406, 2682, LapKind::Partial)]);
    assert_eq!(table[0].invalid, vec![InvalidReason::Incomplete, InvalidReason::PitRoad, InvalidReason::Reset]);
    assert!(table[1].out_lap && table[1].invalid.contains(&InvalidReason::Reset), "{:?}", table[1]);
    assert!(table.iter().all(|l| l.lap_time.is_none() && !l.valid && !l.complete));
}

#[test]
fn off_track_makes_a_lap_invalid() {
    let Some(dir) = ibt_dir() else { return };
    let f = IbtFile::open(dir.join("gmartsenkov__itelem__amg.ibt")).unwrap();
    let table = pitbox_irsdk::laps::file_laps(&f).unwrap();
    assert_eq!(table.len(), 1);
    assert_eq!(table[0].invalid, vec![InvalidReason::Incomplete, InvalidReason::PitRoad, InvalidReason::OffTrack]);
    assert!(table[0].out_lap && table[0].lap_time.is_none());
}

#[test]
fn invalid_file_is_rejected_precisely() {
    let Some(dir) = ibt_dir() else { return };
    let e = IbtFile::open(dir.join("teamjorge__ibt__invalid_test_file.ibt")).unwrap_err().to_string();
    assert!(e.contains("header field ver = 1635021600"), "{e}");
    assert!(e.contains("not an iRacing telemetry file"), "{e}");
}

#[test]
fn live_dump_is_not_a_disk_file() {
    let Some(dir) = ibt_dir() else { return };
    let e = IbtFile::open(dir.join("teamjorge__ibt__live_test_file.ibt")).unwrap_err().to_string();
    assert!(e.contains("live-memory dump"), "{e}");
}

#[test]
fn writer_roundtrips_real_files_byte_for_byte() {
    for (path, _) in disk_truths() {
        let f = IbtFile::open(&path).unwrap();
        let out = pitbox_irsdk::writer::rewrite(&f).unwrap();
        assert!(out == f.bytes(), "{}: rewrite differs", path.display());
    }
}
