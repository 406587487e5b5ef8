//! Lap detection on real iRacing files against the ground truth beside them (`truth.json`:
//! iRacing's own lap counter changes and `LapLastLapTime`). Skips with a message when the shared
//! data folder is absent.

use std::path::PathBuf;

use pitbox_coach::laps::{InvalidReason, LapOptions, split_laps};
use pitbox_coach::{AnalysisOptions, Stream, analyze};

fn data_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ibt");
    if d.is_dir() {
        Some(d)
    } else {
        println!("SKIPPED: {} is absent", d.display());
        None
    }
}

fn truth(dir: &std::path::Path, stem: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(format!("{stem}.truth.json"))).expect("truth file");
    serde_json::from_str(&text).expect("truth json")
}

const FILES: [&str; 4] = [
    "Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29",
    "gmartsenkov__itelem__amg",
    "racedirector__iracing.rs__telemetry",
    "teamjorge__ibt__valid_test_file",
];

#[test]
fn lap_boundaries_and_times_agree_with_iracing() {
    let Some(dir) = data_dir() else { return };
    for stem in FILES {
        let ibt = pitbox_coach::ibt::read_ibt(&dir.join(format!("{stem}.ibt"))).expect("read");
        let t = truth(&dir, stem);
        let opts = LapOptions { sector_starts: ibt.sector_starts.clone(), ..LapOptions::default() };
        let laps = split_laps(&ibt.samples, &opts);
        let changes = t["lapChanges"].as_array().cloned().unwrap_or_default();
        // Every counter step of +1 is a boundary we found, within a few samples, between laps
        // labelled with the counter's values; LapLastLapTime matches within 1/60 s.
        let mut checked = 0;
        for c in &changes {
            let (from, to) = (c["lapFrom"].as_i64().unwrap_or(-9), c["lapTo"].as_i64().unwrap_or(-9));
            let at = c["sessionTime"].as_f64().unwrap_or(f64::NAN);
            if to != from + 1 || from == 0 {
                continue;
            }
            let ended = laps
                .laps
                .iter()
                .find(|l| i64::from(l.number) == from && (l.end_time - at).abs() < 0.1)
                .unwrap_or_else(|| panic!("{stem}: no lap {from} ending near {at}: {:#?}", laps.laps));
            let next = laps.laps.get(ended.index + 1).expect("a lap after");
            assert_eq!(i64::from(next.number), to, "{stem}");
            assert_eq!(next.start_time, ended.end_time);
            if let Some(settled) = c["lapLastLapTimeSettled"].as_f64() {
                assert!(ended.complete, "{stem}: lap {from}");
                let err = (ended.time - settled).abs();
                println!("{stem}: lap {from}: {:.4} s, iRacing {settled:.4} s, error {:.1} ms", ended.time, err * 1e3);
                assert!(err < 1.0 / 60.0, "{stem}: lap {from}: {} vs {settled}", ended.time);
                assert_eq!(ended.sectors.len(), opts.sectors().len());
                // Sectors tile the crossing-to-crossing time; the lap time is iRacing's own.
                assert!((ended.sectors.iter().sum::<f64>() - (ended.end_time - ended.start_time)).abs() < 1e-9);
                assert_eq!(ended.time, settled, "{stem}: lap {from}: one time per lap, iRacing's");
                checked += 1;
            }
        }
        // No boundary we found is missing from iRacing's table.
        let complete: Vec<_> = laps.laps.iter().filter(|l| l.complete).collect();
        assert_eq!(complete.len(), checked, "{stem}: {complete:#?}");
        println!("{stem}: {} laps ({} complete)", laps.laps.len(), complete.len());
    }
}

#[test]
fn tsukuba_two_timed_laps_and_an_incomplete_one_each_side() {
    let Some(dir) = data_dir() else { return };
    let ibt = pitbox_coach::ibt::read_ibt(&dir.join(format!("{}.ibt", FILES[0]))).expect("read");
    let laps = split_laps(&ibt.samples, &LapOptions::default());
    let numbers: Vec<(i32, bool)> = laps.laps.iter().map(|l| (l.number, l.complete)).collect();
    assert_eq!(numbers, vec![(0, false), (1, true), (2, true), (3, false)]);
    // Lap 0 starts on pit road: an out lap; no lap is an in lap.
    assert!(laps.laps[0].out_lap && !laps.laps[0].in_lap);
    // Lap 1 starts just after the pit exit (iRacing still times it): an out lap; lap 2 is clean.
    assert!(laps.laps[1].out_lap && !laps.laps[1].is_valid(), "{:#?}", laps.laps[1]);
    assert!(laps.laps[2].is_valid());
}

#[test]
fn a_reset_to_the_pits_ends_the_lap_and_starts_an_out_lap() {
    let Some(dir) = data_dir() else { return };
    let ibt = pitbox_coach::ibt::read_ibt(&dir.join(format!("{}.ibt", FILES[2]))).expect("read");
    let laps = split_laps(&ibt.samples, &LapOptions::default());
    assert!(laps.laps.iter().all(|l| !l.complete));
    let reset = laps.laps.iter().position(|l| l.invalid.contains(&InvalidReason::Reset)).expect("reset lap");
    let after = &laps.laps[reset + 1];
    assert!(after.out_lap, "{after:#?}");
    assert_eq!(after.number, 8);
}

#[test]
fn the_invalid_file_is_a_clear_error() {
    let Some(dir) = data_dir() else { return };
    let err = pitbox_coach::ibt::read_ibt(&dir.join("teamjorge__ibt__invalid_test_file.ibt")).expect_err("not ibt");
    assert!(!err.to_string().is_empty());
}

#[test]
fn tsukuba_analysis_names_real_corners() {
    let Some(dir) = data_dir() else { return };
    let ibt = pitbox_coach::ibt::read_ibt(&dir.join(format!("{}.ibt", FILES[0]))).expect("read");
    let opts = AnalysisOptions {
        laps: LapOptions { sector_starts: ibt.sector_starts.clone(), ..LapOptions::default() },
        ..AnalysisOptions::default()
    };
    let stream = Stream::new(ibt.samples, &opts).expect("stream");
    assert!((stream.length_m - 675.0).abs() < 10.0, "{}", stream.length_m);
    let a = analyze(&stream, None, None, &opts).expect("analysis");
    assert_eq!(a.reference.lap, 2);
    println!("corners: {:#?}", a.corners);
    assert!(a.corners.len() >= 2, "{:#?}", a.corners);
    let focus = a.focus_report().expect("focus");
    assert_eq!(focus.lap, 1);
    let sum: f64 = focus.comparison.segments.iter().map(|s| s.delta_s).sum();
    assert!((sum - (25.9145 - 23.9797)).abs() < 0.02, "{sum}");
    for f in &focus.findings {
        println!("{}", f.text);
    }
}
