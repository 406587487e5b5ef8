//! Criterion benchmark: the spotter's share of the tick → audio latency, one `update` on a full
//! 64-car frame (a car alongside, cars behind, the closing-rate windows turning over).

use criterion::{Criterion, criterion_group, criterion_main};
use pitbox_irsdk::flags::CarLeftRight;
use pitbox_spotter::{Frame, Spotter, SpotterConfig};

fn bench(c: &mut Criterion) {
    let mut pct = [0f32; 64];
    let mut est = [0f32; 64];
    for i in 0..64 {
        pct[i] = 0.5 - i as f32 * 0.002;
        est[i] = pct[i] * 100.0;
    }
    let pit = [false; 64];
    let mut spotter = Spotter::new(SpotterConfig::default());
    let mut t = 0.0;
    let states = [CarLeftRight::Clear, CarLeftRight::CarLeft, CarLeftRight::CarLeftRight, CarLeftRight::CarRight];
    c.bench_function("spotter update, 64 cars", |b| {
        b.iter(|| {
            t += 1.0 / 60.0;
            let f = Frame {
                time_s: t,
                car_left_right: Some(states[(t as usize / 2) % states.len()]),
                player_idx: Some(0),
                lap_dist_pct: &pct,
                est_time: &est,
                on_pit_road: &pit,
            };
            spotter.update(&f)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
