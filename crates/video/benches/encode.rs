//! Encode cost at the default 1280×720, 30 fps, 3 Mbit/s: criterion's time per frame, then a
//! 10-second run per content kind that prints ms/frame, the share of one core at 30 fps and the
//! bitrate achieved. "test pattern" is the mostly static pattern; "busy" adds low-amplitude noise
//! over the whole picture, changing every frame, as a stand-in for a sim in motion (worse than
//! real footage: noise does not move predictably). Also the capture's conversion of a 1080p BGRA
//! window to the stream's 720p I420.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use pitbox_video::{EncoderSettings, H264Encoder, I420Frame, TestPattern};

const START_MS: u64 = 1_765_000_000_000;

fn frames(busy: bool, count: u32) -> Vec<(I420Frame, u64)> {
    let s = EncoderSettings::default();
    let pattern = TestPattern::new(s.width, s.height, s.fps).expect("pattern");
    (0..count)
        .map(|n| {
            let ms = pattern.capture_ms(START_MS, n);
            let mut f = pattern.frame(n, ms);
            if busy {
                let (y, _, _) = f.planes_mut();
                let mut state = 0x9E37_79B9u32 ^ n.wrapping_mul(0x85EB_CA6B);
                // Below the marks, so they stay readable.
                for px in &mut y[64 * s.width..] {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    *px = px.saturating_add((state % 24) as u8);
                }
            }
            (f, ms)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_1280x720");
    group.sample_size(20);
    for (name, busy) in [("test_pattern", false), ("busy", true)] {
        let input = frames(busy, 60);
        let mut enc = H264Encoder::new(EncoderSettings::default()).expect("encoder");
        let mut i = 0usize;
        group.bench_function(name, |b| {
            b.iter(|| {
                let (f, ms) = &input[i % input.len()];
                i += 1;
                black_box(enc.encode(f, *ms).expect("encode"))
            })
        });
    }
    group.finish();

    // What a captured 1920×1080 window costs before the encoder (Windows capture's step):
    // BGRA → I420 at 1280×720, scaled with averaging.
    let (sw, sh) = (1920usize, 1080usize);
    let bgra: Vec<u8> = (0..sw * sh * 4).map(|i| (i * 7 % 251) as u8).collect();
    c.bench_function("capture_convert_1920x1080_to_1280x720", |b| {
        b.iter(|| {
            black_box(pitbox_video::capture::bgra_to_i420_fit(&bgra, sw, sh, sw * 4, 1280, 720).expect("convert"))
        })
    });
    let started = Instant::now();
    for _ in 0..30 {
        black_box(pitbox_video::capture::bgra_to_i420_fit(&bgra, sw, sh, sw * 4, 1280, 720).expect("convert"));
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / 30.0;
    println!(
        "capture conversion 1920x1080 BGRA -> 1280x720 I420: {ms:.2} ms/frame, {:.0} % of one core at 30 fps",
        ms * 3.0
    );

    // The figures the issue asks for, over 10 s of stream (5 keyframes).
    let s = EncoderSettings::default();
    for (name, busy) in [("test pattern", false), ("busy", true)] {
        let input = frames(busy, 300);
        let mut enc = H264Encoder::new(s).expect("encoder");
        let (mut bytes, mut skipped) = (0usize, 0);
        let started = Instant::now();
        for (f, ms) in &input {
            match enc.encode(f, *ms).expect("encode") {
                Some(out) => bytes += out.data.len(),
                None => skipped += 1,
            }
        }
        let ms_per_frame = started.elapsed().as_secs_f64() * 1000.0 / input.len() as f64;
        let seconds = input.len() as f64 / f64::from(s.fps);
        println!(
            "{name}: {ms_per_frame:.2} ms/frame, {:.0} % of one core at {} fps, {:.2} Mbit/s achieved \
             (target {:.2}), {skipped} of {} frames skipped by rate control",
            ms_per_frame * f64::from(s.fps) / 10.0,
            s.fps,
            bytes as f64 * 8.0 / seconds / 1e6,
            f64::from(s.bitrate_bps) / 1e6,
            input.len(),
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
