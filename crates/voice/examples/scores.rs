//! Tuning aid: decodes a measurement set under one or more settings (the audio is rendered once)
//! and prints one TSV line per utterance: settings, voice, rate, noise, text, expected command?,
//! outcome before the phone-loop check, the likelihood ratio, the words, the command's phones,
//! the phone loop's phones, the frames (the phone distance is computed from the two phone strings).
//! `cargo run -p pitbox-voice --release --example scores -- tuning "garbage=1" "pip=20 loop.pip=1"`
//! (keys: garbage, pip, wip, minconf, floor (the noise floor, the default's unless given);
//! `loop.NAME` sets an option of the phone-loop decoder only (none is set unless given); `trim=N`
//! cuts the audio's near-silent ends to N samples before decoding; anything else is passed to
//! PocketSphinx).

use pitbox_voice::audio::Audio;
use pitbox_voice::commands::{VoiceCommand, parse_command};
use pitbox_voice::eval::{EvalSet, render};
use pitbox_voice::sphinx::{CommandRecognizer, RecognizerConfig};
use pitbox_voice::tts::EspeakNg;

type Item = (String, u32, Option<f64>, String, Option<VoiceCommand>, Audio);

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let set = match args.first().map(String::as_str) {
        Some("held-out") => EvalSet::held_out(),
        _ => EvalSet::tuning(),
    };
    let tts = EspeakNg::new();
    let t0 = std::time::Instant::now();
    let mut items: Vec<Item> = Vec::new();
    for sp in &set.speakers {
        for &wpm in &set.rates_wpm {
            for (ni, &snr) in set.noise_snr_db.iter().enumerate() {
                for (ui, u) in set.utterances.iter().enumerate() {
                    let seed = (ni as u64 + 1) * 1_000_003 + ui as u64 * 7919 + u64::from(wpm);
                    let audio = render(&tts, sp, wpm, snr, &u.text, seed)?;
                    items.push((sp.voice.into(), wpm, snr, u.text.clone(), u.expected, audio));
                }
            }
        }
    }
    eprintln!("rendered {} in {:.1} s", items.len(), t0.elapsed().as_secs_f64());
    for spec in args.iter().skip(1) {
        // Every ratio is computed (and printed) but none rejects.
        let mut cfg = RecognizerConfig { min_likelihood_ratio: -1e12, ..RecognizerConfig::default() };
        cfg.phone_loop_args.clear();
        for kv in spec.split_whitespace() {
            if let Some((k, v)) = kv.split_once('=') {
                match k {
                    "garbage" => cfg.garbage = v == "1",
                    "pip" => cfg.phone_penalty = v.parse()?,
                    "wip" => cfg.word_penalty = v.parse()?,
                    "minconf" => cfg.min_confidence = v.parse()?,
                    "floor" => cfg.noise_floor = v.parse()?,
                    "trim" => {}
                    _ if k.starts_with("loop.") => cfg.phone_loop_args.push((k[5..].into(), v.into())),
                    _ => cfg.extra_args.push((k.into(), v.into())),
                }
            }
        }
        let mut rec = CommandRecognizer::new(cfg)?;
        let trim =
            spec.split_whitespace().find_map(|kv| kv.strip_prefix("trim=")).map(str::parse::<usize>).transpose()?;
        let t1 = std::time::Instant::now();
        for (voice, wpm, snr, text, expected, audio) in &items {
            match trim {
                Some(keep) => {
                    let s = &audio.samples;
                    let first = s.iter().position(|x| x.abs() > 4).unwrap_or(0).saturating_sub(keep);
                    let last = (s.iter().rposition(|x| x.abs() > 4).unwrap_or(s.len()) + keep).min(s.len());
                    let a = Audio { sample_rate: audio.sample_rate, samples: s[first..last.max(first)].to_vec() };
                    rec.recognize(&a)?
                }
                None => rec.recognize(audio)?,
            };
            let d = rec.last_detail();
            let kind = match (expected, parse_command(&d.hyp)) {
                (None, None) => "rejected",
                (None, Some(_)) => "fa",
                (Some(_), None) => "miss",
                (Some(e), Some(g)) if *e == g => "right",
                _ => "wrong",
            };
            let ratio = d.likelihood_ratio.map(|r| format!("{r:.2}")).unwrap_or_default();
            println!(
                "{spec}\t{voice}\t{wpm}\t{snr:?}\t{text}\t{}\t{kind}\t{ratio}\t{}\t{}\t{}\t{}",
                expected.is_some(),
                d.hyp,
                d.command_phones.join(" "),
                d.loop_phones.join(" "),
                d.frames
            );
        }
        eprintln!("{spec}: {:.1} s", t1.elapsed().as_secs_f64());
    }
    Ok(())
}
