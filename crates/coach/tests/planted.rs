//! Planted faults on simulated laps: the engine names each at the right corner with the time
//! lost within 10 %, and names nothing else.

use pitbox_coach::findings::FindingKind;
use pitbox_coach::synth::{Fault, SynthLap, SynthTrack, stream};
use pitbox_coach::{AnalysisOptions, SessionAnalysis, Stream, analyze};

const FAULTS: [(Fault, &str, FindingKind); 4] = [
    (Fault::EarlyBrake { corner: 2, metres: 15.0 }, "T3", FindingKind::EarlyBraking),
    (Fault::SlowCorner { corner: 1, kmh: 8.0 }, "T2", FindingKind::MinSpeed),
    (Fault::LateThrottle { corner: 3, seconds: 0.3 }, "T4", FindingKind::LateThrottle),
    (Fault::OffTrack { corner: 4, metres: 40.0, kmh: 15.0 }, "T5", FindingKind::OffTrack),
];

struct Setup {
    reference: SynthLap,
    singles: Vec<SynthLap>,
    analysis: SessionAnalysis,
}

fn setup() -> Setup {
    let track = SynthTrack::club();
    let reference = track.lap(&[]);
    let singles: Vec<SynthLap> = FAULTS.iter().map(|(f, _, _)| track.lap(&[*f])).collect();
    let all: Vec<Fault> = FAULTS.iter().map(|(f, _, _)| *f).collect();
    let mut laps = vec![reference.clone()];
    laps.extend(singles.iter().cloned());
    laps.push(track.lap(&all));
    let s = stream(&laps, 60.0, 5, 2.0, 2.0, 0.37);
    let opts = AnalysisOptions::default();
    let st = Stream::new(s.samples, &opts).expect("stream");
    let analysis = analyze(&st, None, None, &opts).expect("analysis");
    Setup { reference, singles, analysis }
}

#[test]
fn corners_are_found_where_the_track_has_them() {
    let s = setup();
    let track = SynthTrack::club();
    assert_eq!(s.analysis.corners.len(), track.corners.len(), "{:?}", s.analysis.corners);
    for (c, t) in s.analysis.corners.iter().zip(&track.corners) {
        assert!((c.apex_m - t.apex_m).abs() <= t.arc_m / 2.0 + 5.0, "{c:?} vs {t:?}");
        assert!((c.min_speed_kmh - t.speed * 3.6).abs() < 1.0);
        assert_eq!(c.direction.map(|d| d == pitbox_coach::corners::Direction::Left), Some(t.left));
    }
}

#[test]
fn each_planted_fault_is_named_at_its_corner_with_its_time_and_nothing_else() {
    let s = setup();
    assert_eq!(s.analysis.reference.lap, 5, "the clean lap is the best lap");
    for (i, (fault, corner, kind)) in FAULTS.iter().enumerate() {
        let truth = s.singles[i].lap_time() - s.reference.lap_time();
        let report = &s.analysis.reports[i + 1];
        assert_eq!(report.lap, 6 + i as i32);
        let f = &report.findings;
        assert_eq!(f.len(), 1, "{fault:?}: {:#?}", f.iter().map(|x| &x.text).collect::<Vec<_>>());
        assert_eq!(f[0].corner.as_deref(), Some(*corner), "{fault:?}: {}", f[0].text);
        assert_eq!(f[0].kind, *kind, "{fault:?}: {}", f[0].text);
        let err = (f[0].time_s - truth).abs() / truth;
        assert!(err <= 0.10, "{fault:?}: engine {:.3} s, truth {truth:.3} s ({})", f[0].time_s, f[0].text);
        println!("{fault:?}: truth {truth:.3} s — {}", f[0].text);
    }
}

#[test]
fn all_faults_in_one_lap_are_each_named() {
    let s = setup();
    let report = s.analysis.reports.last().expect("combined lap");
    assert_eq!(
        report.findings.len(),
        FAULTS.len(),
        "{:#?}",
        report.findings.iter().map(|x| &x.text).collect::<Vec<_>>()
    );
    for (i, (fault, corner, kind)) in FAULTS.iter().enumerate() {
        let truth = s.singles[i].lap_time() - s.reference.lap_time();
        let f = report.findings.iter().find(|f| f.corner.as_deref() == Some(*corner)).expect("finding at corner");
        assert_eq!(f.kind, *kind, "{fault:?}: {}", f.text);
        let err = (f.time_s - truth).abs() / truth;
        assert!(err <= 0.10, "{fault:?}: engine {:.3} s, truth {truth:.3} s ({})", f.time_s, f.text);
    }
    // Ranked by time at stake.
    assert!(report.findings.windows(2).all(|w| w[0].time_s >= w[1].time_s));
}

#[test]
fn evidence_states_the_planted_numbers() {
    let s = setup();
    let text = |i: usize| s.analysis.reports[i + 1].findings[0].text.clone();
    assert!(text(0).starts_with("T3: braking 15 m earlier than your best lap"), "{}", text(0));
    assert!(text(1).starts_with("T2: minimum speed 8 km/h lower than your best lap"), "{}", text(1));
    assert!(text(2).starts_with("T4: full throttle 0.30 s"), "{}", text(2));
    let t3 = text(3);
    let metres: f64 =
        t3.strip_prefix("T5: ").and_then(|r| r.split(' ').next()).and_then(|m| m.parse().ok()).unwrap_or(0.0);
    assert!((metres - 40.0).abs() <= 2.0 && t3.contains(" m off track"), "{t3}");
}

#[test]
fn the_reference_lap_has_no_findings_and_segments_add_up() {
    let s = setup();
    for r in &s.analysis.reports {
        let sum: f64 = r.comparison.segments.iter().map(|x| x.delta_s).sum();
        assert!((sum - r.comparison.delta_s).abs() < 1e-9, "lap {}: {sum} vs {}", r.lap, r.comparison.delta_s);
        assert!((r.comparison.delta_s - (r.time_s - s.analysis.reference.time_s)).abs() < 1e-9);
        if r.is_reference {
            assert!(r.findings.is_empty());
            assert!(r.comparison.delta.iter().all(|d| *d == 0.0));
        }
    }
    assert_eq!(s.analysis.reports.iter().filter(|r| r.is_reference).count(), 1);
}

#[test]
fn a_fault_repeated_lap_after_lap_is_a_recurring_finding() {
    let track = SynthTrack::club();
    let mut laps = vec![track.lap(&[])];
    for i in 0..4 {
        let m = 10.0 + 4.0 * i as f64;
        laps.push(track.lap(&[Fault::EarlyBrake { corner: 2, metres: m }]));
    }
    let s = stream(&laps, 60.0, 1, 1.0, 1.0, 0.2);
    let opts = AnalysisOptions::default();
    let st = Stream::new(s.samples, &opts).expect("stream");
    let a = analyze(&st, None, None, &opts).expect("analysis");
    let r = a.recurring_findings();
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].corner.as_deref(), Some("T3"));
    assert_eq!(r[0].kind, FindingKind::EarlyBraking);
    let truth: f64 = laps[1..].iter().map(|l| l.lap_time() - laps[0].lap_time()).sum::<f64>() / 4.0;
    assert!((r[0].time_s - truth).abs() / truth < 0.1, "{} vs {truth}", r[0].text);
    assert!(r[0].text.contains("over 4 laps, mostly braking earlier (4 of 4 laps)"), "{}", r[0].text);
}
