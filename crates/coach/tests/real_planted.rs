//! Planted faults on a real lap: the best lap of the real Tsukuba file, edited on its distance
//! grid (brake 15 m earlier, minimum speed 8 km/h lower, full throttle 0.3 s later, an
//! excursion off track), its time integrated from the edited speeds (the truth), then sampled at
//! 60 Hz again ([`pitbox_coach::planted`]). The engine must name each at the right corner with
//! the time within 10 %, and nothing else. Skips when the shared data folder is absent.

use std::path::PathBuf;

use pitbox_coach::laps::LapOptions;
use pitbox_coach::planted::plant_on_best_lap;
use pitbox_coach::synth::stream;
use pitbox_coach::{AnalysisOptions, Stream, analyze};

#[test]
fn planted_faults_on_a_real_lap_are_named_at_their_corners() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ibt");
    if !dir.is_dir() {
        println!("SKIPPED: {} is absent", dir.display());
        return;
    }
    let file = dir.join("Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt");
    let ibt = pitbox_coach::ibt::read_ibt(&file).expect("read");
    let laps = LapOptions { sector_starts: ibt.sector_starts, ..LapOptions::default() };
    let real = plant_on_best_lap(ibt.samples, laps).expect("plants");
    let mut driven = vec![real.base.clone()];
    for p in &real.plants {
        driven.push(p.lap.clone());
        driven.push(real.base.clone());
    }
    let s = stream(&driven, 60.0, 10, 1.0, 1.0, 0.3);
    let st = Stream::new(s.samples, &AnalysisOptions::default()).expect("stream");
    let a = analyze(&st, None, None, &AnalysisOptions::default()).expect("analysis");
    assert_eq!(a.corners.len(), real.corners, "{:#?}", a.corners);
    for (i, p) in real.plants.iter().enumerate() {
        let report = a.reports.iter().find(|r| r.lap == 11 + 2 * i as i32).expect("report");
        let f = &report.findings;
        println!(
            "{:?} at {}: truth {:.3} s; {:?}",
            p.kind,
            p.corner,
            p.truth_s,
            f.iter().map(|x| &x.text).collect::<Vec<_>>()
        );
        assert_eq!(f.len(), 1, "{:?}: {:#?}", p.kind, f.iter().map(|x| &x.text).collect::<Vec<_>>());
        assert_eq!(f[0].corner.as_deref(), Some(p.corner.as_str()), "{}", f[0].text);
        assert_eq!(f[0].kind, p.kind, "{}", f[0].text);
        let err = (f[0].time_s - p.truth_s).abs() / p.truth_s;
        assert!(err <= 0.10, "{:?}: engine {:.3} s, truth {:.3} s ({})", p.kind, f[0].time_s, p.truth_s, f[0].text);
    }
    // The unedited copies of the real lap: no findings.
    for r in a.reports.iter().filter(|r| (r.lap - 10) % 2 == 0) {
        assert!(r.findings.is_empty(), "lap {}: {:?}", r.lap, r.findings.iter().map(|x| &x.text).collect::<Vec<_>>());
    }
}
