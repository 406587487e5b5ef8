//! Planted faults on a real lap: the best lap of the real Tsukuba file, edited on its distance
//! grid (brake 15 m earlier, minimum speed 8 km/h lower, full throttle 0.3 s later, an
//! excursion off track), its time integrated from the edited speeds (the truth), then sampled at
//! 60 Hz again. The engine must name each at the right corner with the time within 10 %, and
//! nothing else. Skips when the shared data folder is absent.

use std::path::PathBuf;

use pitbox_coach::corners::{CornerMap, CornerMetrics, corner_metrics};
use pitbox_coach::findings::FindingKind;
use pitbox_coach::laps::LapOptions;
use pitbox_coach::synth::{SynthLap, stream};
use pitbox_coach::trace::grid_points;
use pitbox_coach::{AnalysisOptions, Stream, analyze};

fn idx(l: &SynthLap, m: f64) -> usize {
    ((m / l.step_m).round().max(0.0) as usize).min(l.speed.len() - 1)
}

fn early_brake(base: &SynthLap, c: &CornerMetrics, metres: f64) -> SynthLap {
    let mut l = base.clone();
    let gb = idx(&l, c.brake_point_m.expect("braking corner"));
    let ga = idx(&l, c.min_speed_m);
    let d = (metres / l.step_m).round() as usize;
    let drop_at_start = base.speed[gb] - base.speed[gb - d];
    for g in gb - d..=ga {
        let src = g + d;
        if src <= ga {
            l.speed[g] = (base.speed[src] - drop_at_start).max(base.speed[ga]).min(base.speed[g]);
            l.brake[g] = base.brake[src];
            l.throttle[g] = base.throttle[src];
        } else {
            l.speed[g] = base.speed[ga].min(base.speed[g]);
            l.brake[g] = base.brake[ga];
            l.throttle[g] = base.throttle[ga];
        }
    }
    l.retime();
    l
}

fn slow_corner(base: &SynthLap, c: &CornerMetrics, kmh: f64) -> SynthLap {
    let mut l = base.clone();
    let gb = idx(&l, c.onset_m);
    let ga = idx(&l, c.min_speed_m);
    let gf = idx(&l, c.full_throttle_m.unwrap_or(c.min_speed_m + 60.0)).max(ga + 1);
    for g in gb..=gf {
        let w = if g <= ga { (g - gb) as f64 / (ga - gb).max(1) as f64 } else { (gf - g) as f64 / (gf - ga) as f64 };
        l.speed[g] = (base.speed[g] - kmh / 3.6 * w).max(1.0);
    }
    l.retime();
    l
}

/// Full throttle `seconds` later: the speed held, then the same acceleration run delayed by the
/// distance held (never faster than the original), up to the next corner's braking where it
/// joins the original.
fn late_throttle(base: &SynthLap, c: &CornerMetrics, next_onset_m: f64, seconds: f64) -> SynthLap {
    let mut l = base.clone();
    let gf = idx(&l, c.full_throttle_m.expect("full throttle"));
    let d = (seconds * base.speed[gf] / l.step_m).round() as usize;
    let part = base.throttle[gf - 1].min(0.9);
    for g in gf..gf + d {
        l.speed[g] = base.speed[gf];
        l.throttle[g] = part;
        l.brake[g] = 0.0;
    }
    let next = idx(&l, next_onset_m);
    for g in gf + d..base.speed.len() {
        let src = g - d;
        if g >= next && base.speed[src] >= base.speed[g] {
            break;
        }
        if base.speed[src] < base.speed[g] {
            l.speed[g] = base.speed[src];
            l.throttle[g] = base.throttle[src];
            l.brake[g] = base.brake[src];
        }
    }
    l.retime();
    l
}

fn off_track(base: &SynthLap, c: &CornerMetrics, metres: f64, kmh: f64) -> SynthLap {
    let mut l = base.clone();
    let ga = c.min_speed_m;
    for g in 0..l.speed.len() {
        let d = g as f64 * l.step_m;
        let w = if d < ga - 20.0 || d > ga + metres + 50.0 {
            0.0
        } else if d < ga + 10.0 {
            (d - (ga - 20.0)) / 30.0
        } else if d <= ga + metres {
            1.0
        } else {
            (ga + metres + 50.0 - d) / 50.0
        };
        l.speed[g] = (base.speed[g] - kmh / 3.6 * w).max(1.0);
        if d >= ga && d <= ga + metres {
            l.off[g] = true;
        }
    }
    l.retime();
    l
}

#[test]
fn planted_faults_on_a_real_lap_are_named_at_their_corners() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ibt");
    if !dir.is_dir() {
        println!("SKIPPED: {} is absent", dir.display());
        return;
    }
    let file = dir.join("Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt");
    let ibt = pitbox_coach::ibt::read_ibt(&file).expect("read");
    let opts = AnalysisOptions {
        laps: LapOptions { sector_starts: ibt.sector_starts, ..LapOptions::default() },
        ..AnalysisOptions::default()
    };
    let real = Stream::new(ibt.samples, &opts).expect("stream");
    let best = real.best_lap().expect("best lap");
    let trace = real.trace(best, grid_points(real.length_m, 0.5)).expect("trace");
    let map = CornerMap::detect(&trace);
    let m = corner_metrics(&trace, &map);
    assert!(m.len() >= 2, "{map:#?}");
    let base = SynthLap::from_trace(&trace);
    let faults: Vec<(SynthLap, &str, FindingKind)> = vec![
        (early_brake(&base, &m[0], 15.0), "T1", FindingKind::EarlyBraking),
        (slow_corner(&base, &m[1], 8.0), "T2", FindingKind::MinSpeed),
        (late_throttle(&base, &m[0], m[1].onset_m, 0.3), "T1", FindingKind::LateThrottle),
        (off_track(&base, &m[1], 30.0, 12.0), "T2", FindingKind::OffTrack),
    ];
    let mut laps = vec![base.clone()];
    for (l, _, _) in &faults {
        laps.push(l.clone());
        laps.push(base.clone());
    }
    let s = stream(&laps, 60.0, 10, 1.0, 1.0, 0.3);
    let st = Stream::new(s.samples, &AnalysisOptions::default()).expect("stream");
    let a = analyze(&st, None, None, &AnalysisOptions::default()).expect("analysis");
    assert_eq!(a.corners.len(), map.corners.len(), "{:#?}", a.corners);
    for (i, (lap, corner, kind)) in faults.iter().enumerate() {
        let truth = lap.lap_time() - base.lap_time();
        let report = a.reports.iter().find(|r| r.lap == 11 + 2 * i as i32).expect("report");
        let f = &report.findings;
        println!("{kind:?} at {corner}: truth {truth:.3} s; {:?}", f.iter().map(|x| &x.text).collect::<Vec<_>>());
        assert_eq!(f.len(), 1, "{kind:?}: {:#?}", f.iter().map(|x| &x.text).collect::<Vec<_>>());
        assert_eq!(f[0].corner.as_deref(), Some(*corner), "{}", f[0].text);
        assert_eq!(f[0].kind, *kind, "{}", f[0].text);
        let err = (f[0].time_s - truth).abs() / truth;
        assert!(err <= 0.10, "{kind:?}: engine {:.3} s, truth {truth:.3} s ({})", f[0].time_s, f[0].text);
    }
    // The unedited copies of the real lap: no findings.
    for r in a.reports.iter().filter(|r| (r.lap - 10) % 2 == 0) {
        assert!(r.findings.is_empty(), "lap {}: {:?}", r.lap, r.findings.iter().map(|x| &x.text).collect::<Vec<_>>());
    }
}
