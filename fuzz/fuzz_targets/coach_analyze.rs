//! The coaching engine on hostile input: any bytes as a `POST /api/coaching/analyze` body, as a
//! raw sample stream (batch analysis and live mode), and as a language model's answer to check.
//! It must return a result or a precise error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitbox_coach::llm::{Brief, check_phrasing};
use pitbox_coach::{AnalysisOptions, LiveCoach, LiveConfig, Sample, Stream, analyze, analyze_request};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = serde_json::from_slice::<pitbox_model::coaching::CoachingAnalyzeRequest>(data) {
        let _ = analyze_request(&req);
    }
    // Eight bytes a sample: clock step, lap fraction, speed, pedals, steering, lap, flags.
    let mut samples = Vec::new();
    let mut time = 0.0;
    for c in data.chunks_exact(8) {
        time += f64::from(c[0]) / 600.0;
        samples.push(Sample {
            time,
            lap: i32::from(c[6] & 7),
            lap_pct: f64::from(u16::from_le_bytes([c[1], c[2]])) / 65_535.0 * 1.2 - 0.1,
            speed: f64::from(c[3]) / 2.0,
            throttle: f64::from(c[4] & 0x0f) / 15.0,
            brake: f64::from(c[4] >> 4) / 15.0,
            steering_deg: f64::from(c[5] as i8),
            lap_dist: (c[7] & 1 == 1).then_some(f64::from(c[1]) * 10.0),
            lat_accel: (c[7] & 2 == 2).then_some(f64::from(c[5] as i8) / 10.0),
            off_track: Some(c[7] & 4 == 4),
            on_pit_road: c[7] & 8 == 8,
            blank: c[7] & 0xf0 == 0xf0,
            fuel_l: Some(f64::from(c[2])),
            ..Sample::default()
        });
    }
    let opts = AnalysisOptions::default();
    if let Ok(stream) = Stream::new(samples.clone(), &opts) {
        let _ = analyze(&stream, None, None, &opts);
    }
    let mut live = LiveCoach::new(LiveConfig::default());
    for s in &samples {
        let _ = live.push(s);
    }
    let brief = Brief::new(Some(3), Some("1:08.725".into()), Some(0.42), "your best lap", &[], 5);
    let _ = check_phrasing(&String::from_utf8_lossy(data), &brief);
});
