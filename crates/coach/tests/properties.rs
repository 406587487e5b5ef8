//! Property tests: self-delta is zero, segment deltas add up to the lap delta, resampling is
//! stable, and lap times are exact to well under one sample at any sample rate and phase.

use pitbox_coach::compare::compare;
use pitbox_coach::corners::CornerMap;
use pitbox_coach::laps::{LapOptions, split_laps};
use pitbox_coach::sample::Sample;
use pitbox_coach::synth::{Fault, SynthLap, SynthTrack, stream};
use pitbox_coach::trace::{Trace, delta, grid_points, resample};
use pitbox_coach::{AnalysisOptions, Stream};
use proptest::prelude::*;
use std::sync::OnceLock;

fn clean() -> &'static SynthLap {
    static L: OnceLock<SynthLap> = OnceLock::new();
    L.get_or_init(|| SynthTrack::club().lap(&[]))
}

fn traces(laps: &[SynthLap], hz: f64, phase: f64) -> (Stream, Vec<Trace>) {
    let s = stream(laps, hz, 1, 1.0, 1.0, phase);
    let st = Stream::new(s.samples, &AnalysisOptions::default()).expect("stream");
    let n = grid_points(st.length_m, 1.0);
    let t = st.complete_laps().filter_map(|l| st.trace(l, n)).collect();
    (st, t)
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        (0usize..6, 1.0f64..40.0).prop_map(|(corner, metres)| Fault::EarlyBrake { corner, metres }),
        (0usize..6, 1.0f64..20.0).prop_map(|(corner, kmh)| Fault::SlowCorner { corner, kmh }),
        (0usize..6, 0.05f64..1.0).prop_map(|(corner, seconds)| Fault::LateThrottle { corner, seconds }),
        (0usize..6, 5.0f64..60.0, 1.0f64..20.0).prop_map(|(corner, metres, kmh)| Fault::OffTrack {
            corner,
            metres,
            kmh
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn lap_times_are_exact_to_well_under_a_sample(hz in 20.0f64..120.0, phase in 0.0f64..1.0) {
        let s = stream(&[clean().clone(), clean().clone()], hz, 3, 1.5, 1.5, phase);
        let laps = split_laps(&s.samples, &LapOptions::default());
        let complete: Vec<_> = laps.laps.iter().filter(|l| l.complete).collect();
        prop_assert_eq!(complete.len(), 2);
        for (l, truth) in complete.iter().zip(&s.lap_times) {
            prop_assert!((l.time - truth).abs() < 0.1 / hz, "{} vs {} at {} Hz", l.time, truth, hz);
        }
        prop_assert_eq!(complete[0].number, 3);
        prop_assert_eq!(complete[1].number, 4);
    }

    #[test]
    fn delta_of_a_lap_against_itself_is_zero(hz in 20.0f64..120.0, phase in 0.0f64..1.0) {
        let (_, t) = traces(std::slice::from_ref(clean()), hz, phase);
        prop_assert!(delta(&t[0], &t[0]).iter().all(|d| *d == 0.0));
        // The same lap sampled with another clock: zero within a few milliseconds everywhere.
        let (_, u) = traces(std::slice::from_ref(clean()), 60.0, 0.5);
        let worst = delta(&t[0], &u[0]).iter().fold(0.0f64, |m, d| m.max(d.abs()));
        prop_assert!(worst < 0.005, "worst {} at {} Hz", worst, hz);
    }

    #[test]
    fn segment_deltas_sum_to_the_lap_delta(faults in proptest::collection::vec(fault(), 0..4), phase in 0.0f64..1.0) {
        let track = SynthTrack::club();
        let (_, t) = traces(&[clean().clone(), track.lap(&faults)], 60.0, phase);
        let map = CornerMap::detect(&t[0]);
        let c = compare(&t[1], &t[0], &map);
        let sum: f64 = c.segments.iter().map(|s| s.delta_s).sum();
        prop_assert!((sum - c.delta_s).abs() < 1e-9);
        prop_assert!((c.delta_s - (t[1].lap_time() - t[0].lap_time())).abs() < 1e-9);
        let corners: f64 = c.corners.iter().map(|x| x.delta_s).sum::<f64>() + c.segments[0].delta_s;
        prop_assert!((corners - c.delta_s).abs() < 1e-9);
        for x in &c.corners {
            prop_assert!((x.entry_delta_s + x.exit_delta_s - x.delta_s).abs() < 1e-9);
        }
        // Segments tile the lap.
        prop_assert_eq!(c.segments[0].from_m, 0.0);
        for w in c.segments.windows(2) {
            prop_assert_eq!(w[0].to_m, w[1].from_m);
        }
    }

    #[test]
    fn resampling_is_stable(hz in 20.0f64..120.0, phase in 0.0f64..1.0) {
        let (st, t) = traces(std::slice::from_ref(clean()), hz, phase);
        let t0 = &t[0];
        // The grid points as a sample stream, resampled onto the same grid, give the same trace.
        let n = t0.len();
        let start = 50.0;
        let mut samples: Vec<Sample> = (0..n)
            .map(|g| Sample {
                time: start + t0.time[g],
                lap: 7,
                lap_pct: g as f64 / (n - 1) as f64,
                speed: t0.speed[g],
                throttle: t0.throttle[g],
                brake: t0.brake[g],
                steering_deg: t0.steering[g],
                gear: t0.gear[g],
                rpm: t0.rpm[g],
                ..Sample::default()
            })
            .collect();
        // Wrap: the last point is the next lap's line.
        if let Some(last) = samples.last_mut() {
            last.lap_pct = 0.0;
            last.lap = 8;
        }
        samples.insert(0, Sample { time: start - 0.01, lap: 6, lap_pct: 1.0 - 0.01 * t0.speed[0] / st.length_m, speed: t0.speed[0], ..Sample::default() });
        let laps = split_laps(&samples, &LapOptions { max_gap_s: 10.0, ..LapOptions::default() });
        let lap = laps.laps.iter().find(|l| l.complete).expect("complete lap");
        let again = resample(&samples, &laps, lap, n, st.length_m).expect("trace");
        for g in 1..n {
            prop_assert!((again.time[g] - t0.time[g]).abs() < 1e-9, "time at {}", g);
            prop_assert!((again.speed[g] - t0.speed[g]).abs() < 1e-9, "speed at {}", g);
            prop_assert!((again.throttle[g] - t0.throttle[g]).abs() < 1e-9);
        }
    }
}

fn raw_sample() -> impl Strategy<Value = (f64, f64, f64, f64, f64, f64, u8)> {
    (0.0f64..0.2, -0.2f64..1.3, 0.0f64..100.0, 0.0f64..1.0, 0.0f64..1.0, -400.0f64..400.0, any::<u8>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Hostile streams: random clock steps, lap fractions, pedals, flags, blank rows. Batch and
    /// live analysis answer or refuse, never panic.
    #[test]
    fn random_streams_never_panic(raw in proptest::collection::vec(raw_sample(), 0..600), monotone in any::<bool>()) {
        let mut time = 0.0;
        let mut pct = 0.0f64;
        let samples: Vec<Sample> = raw
            .iter()
            .map(|&(dt, p, v, thr, brk, steer, flags)| {
                time += dt;
                pct = if monotone { (pct + p.abs() * 0.05).rem_euclid(1.0) } else { p };
                Sample {
                    time,
                    lap: i32::from(flags & 3),
                    lap_pct: pct,
                    lap_dist: (flags & 4 == 4).then_some(pct * 2000.0),
                    speed: v,
                    throttle: thr,
                    brake: brk,
                    steering_deg: steer,
                    lat_accel: (flags & 8 == 8).then_some(steer / 20.0),
                    off_track: Some(flags & 16 == 16),
                    on_pit_road: flags & 32 == 32,
                    blank: flags == 255,
                    fuel_l: Some(50.0 - time * 0.01),
                    ..Sample::default()
                }
            })
            .collect();
        let opts = AnalysisOptions::default();
        if let Ok(st) = Stream::new(samples.clone(), &opts) {
            let _ = pitbox_coach::analyze(&st, None, None, &opts);
        }
        let mut live = pitbox_coach::LiveCoach::new(pitbox_coach::LiveConfig::default());
        for s in &samples {
            let _ = live.push(s);
        }
    }
}
