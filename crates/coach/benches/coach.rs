//! Criterion benchmarks: one 120 s lap at 60 Hz, and a 60-lap stint.

use criterion::{Criterion, criterion_group, criterion_main};
use pitbox_coach::synth::{SynthTrack, stream};
use pitbox_coach::{AnalysisOptions, Stream, analyze};

fn bench(c: &mut Criterion) {
    let track = SynthTrack::long();
    let lap = track.lap(&[]);
    let one = stream(std::slice::from_ref(&lap), 60.0, 1, 0.5, 0.5, 0.3).samples;
    let laps: Vec<_> = (0..60).map(|_| lap.clone()).collect();
    let stint = stream(&laps, 60.0, 1, 0.5, 0.5, 0.3).samples;
    let opts = AnalysisOptions::default();
    c.bench_function("one lap (60 Hz, ~120 s)", |b| {
        b.iter(|| {
            let s = Stream::new(one.clone(), &opts).ok();
            s.and_then(|s| analyze(&s, None, None, &opts).ok())
        })
    });
    let mut g = c.benchmark_group("stint");
    g.sample_size(10);
    g.bench_function("60 laps", |b| {
        b.iter(|| {
            let s = Stream::new(stint.clone(), &opts).ok();
            s.and_then(|s| analyze(&s, None, None, &opts).ok())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
