//! The recognition matrix without building the whole `pitbox` binary (same as `pitbox voice eval`):
//! `cargo run -p pitbox-voice --release --example eval -- [tuning|held-out]`.

use pitbox_voice::commands::VoiceCommand;
use pitbox_voice::eval::{EvalSet, Speaker, evaluate, render};
use pitbox_voice::sphinx::{CommandRecognizer, RecognizerConfig};
use pitbox_voice::tts::EspeakNg;

fn main() -> anyhow::Result<()> {
    let set = match std::env::args().nth(1).as_deref() {
        Some("latency") => return latency(RecognizerConfig::default()),
        Some("latency-without-ratio") => {
            return latency(RecognizerConfig { min_likelihood_ratio: f64::NEG_INFINITY, ..Default::default() });
        }
        Some("held-out") => EvalSet::held_out(),
        _ => EvalSet::tuning(),
    };
    let t0 = std::time::Instant::now();
    let mut rec = CommandRecognizer::new(RecognizerConfig::default())?;
    let report = evaluate(&set, &EspeakNg::new(), &mut rec)?;
    print!("{}", report.table());
    for m in &report.misses {
        println!(
            "miss: {} {} {:?} '{}' expected {:?} got {:?} ('{}')",
            m.voice, m.rate_wpm, m.noise_snr_db, m.text, m.expected, m.got, m.words
        );
    }
    eprintln!("{:.1} s", t0.elapsed().as_secs_f64());
    Ok(())
}

/// Time from the end of the utterance to the result (`finish`), every command fed in 100 ms chunks.
fn latency(config: RecognizerConfig) -> anyhow::Result<()> {
    let tts = EspeakNg::new();
    let mut rec = CommandRecognizer::new(config)?;
    let sp = Speaker { voice: "en-us", pitch: None };
    let mut times = Vec::new();
    let mut right = 0;
    for (i, c) in VoiceCommand::all().into_iter().enumerate() {
        let a = render(&tts, &sp, 175, None, &c.phrase(), i as u64)?;
        rec.start()?;
        for chunk in a.samples.chunks(1_600) {
            rec.feed(chunk)?;
        }
        let t = std::time::Instant::now();
        let r = rec.finish(a.duration())?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        right += usize::from(r.command == Some(c));
    }
    times.sort_by(f64::total_cmp);
    println!(
        "latency after the end: median {:.1} ms, max {:.1} ms; {right}/{} right",
        times[times.len() / 2],
        times[times.len() - 1],
        times.len()
    );
    Ok(())
}
