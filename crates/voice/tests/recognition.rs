//! Voice commands end to end: command audio made with espeak-ng in several voices, rates and
//! pitches, with and without noise, recognised by PocketSphinx; unrelated speech and silence give
//! no command. Prints the false-accept and false-reject rates over the set.

use pitbox_testkit::skip;
use pitbox_voice::audio::{Audio, RECOGNITION_RATE};
use pitbox_voice::commands::VoiceCommand;
use pitbox_voice::ptt::{ChannelPtt, CommandListener, WavMicrophone};
use pitbox_voice::sphinx::{CommandRecognizer, RecognizerConfig, availability};
use pitbox_voice::tts::{EspeakNg, SpeechRequest};

fn ready(test: &str) -> Option<(EspeakNg, CommandRecognizer)> {
    let tts = EspeakNg::new();
    if let Err(e) = tts.available() {
        skip(test, &e.to_string());
        return None;
    }
    if let Err(e) = availability() {
        skip(test, &e.to_string());
        return None;
    }
    match CommandRecognizer::new(RecognizerConfig::default()) {
        Ok(r) => Some((tts, r)),
        Err(e) => panic!("PocketSphinx is installed but does not start: {e}"),
    }
}

/// (voice, speed, pitch) combinations. The first four were used to tune the recogniser's
/// penalties; the last two were not (held out).
const SPEAKERS: &[(&str, f64, Option<u8>)] = &[
    ("en-us", 1.0, None),
    ("en-gb+f3", 1.0, None),
    ("en-us+m7", 1.2, Some(35)),
    ("en-us", 0.85, Some(70)),
    ("en-gb-scotland", 1.1, None),
    ("en-us+f2", 0.95, Some(60)),
];
const TUNED_ON: usize = 4;

const UNRELATED: &[&str] = &[
    "the weather is nice today",
    "i had pasta for lunch",
    "where did you leave the keys",
    "my brother plays the guitar",
    "can you open the window please",
    "the meeting starts at nine",
    "she bought a new bicycle",
    "turn left at the next corner",
    "we are going to the beach",
    "it is raining again",
];

#[test]
fn commands_are_recognised_and_unrelated_speech_is_not() {
    let Some((tts, mut rec)) = ready("commands_are_recognised_and_unrelated_speech_is_not") else {
        return;
    };
    let commands = VoiceCommand::all();
    let (mut cmd_total, mut cmd_right, mut cmd_wrong) = (0usize, 0usize, 0usize);
    let (mut unrel_total, mut unrel_accepted) = (0usize, 0usize);
    let mut misses = Vec::new();
    // Held-out speakers' counts: commands, right, non-commands, accepted.
    let mut held = [0usize; 4];
    for (si, &(voice, speed, pitch)) in SPEAKERS.iter().enumerate() {
        for (ci, c) in commands.iter().enumerate() {
            let a = tts
                .synthesize_blocking(&SpeechRequest { text: c.phrase(), voice: voice.into(), speed, pitch })
                .expect("espeak-ng speaks");
            // Noise on every other utterance (SNR 15 dB), seeded so the run is repeatable.
            let noisy = (si + ci) % 2 == 1;
            let a = if noisy { a.with_noise(15.0, (si * 100 + ci) as u64) } else { a };
            let r = rec.recognize(&a).expect("decodes");
            cmd_total += 1;
            if si >= TUNED_ON {
                held[0] += 1;
                held[1] += usize::from(r.command == Some(*c));
            }
            match r.command {
                Some(got) if got == *c => cmd_right += 1,
                Some(_) => {
                    cmd_wrong += 1;
                    misses.push(format!(
                        "{voice}/{speed}/{pitch:?}{}: '{}' heard as '{}'",
                        if noisy { "+noise" } else { "" },
                        c.phrase(),
                        r.words
                    ));
                }
                None => misses.push(format!(
                    "{voice}/{speed}/{pitch:?}{}: '{}' rejected ('{}')",
                    if noisy { "+noise" } else { "" },
                    c.phrase(),
                    r.words
                )),
            }
        }
        for (ui, u) in UNRELATED.iter().enumerate() {
            let a = tts
                .synthesize_blocking(&SpeechRequest { text: (*u).into(), voice: voice.into(), speed, pitch })
                .expect("espeak-ng speaks");
            let a = if ui % 2 == 0 { a.with_noise(15.0, ui as u64) } else { a };
            let r = rec.recognize(&a).expect("decodes");
            unrel_total += 1;
            if si >= TUNED_ON {
                held[2] += 1;
                held[3] += usize::from(r.command.is_some());
            }
            if let Some(c) = r.command {
                unrel_accepted += 1;
                misses.push(format!("{voice}: unrelated '{u}' accepted as {:?}", c));
            }
        }
    }
    // Silence and pure noise.
    for (i, a) in [Audio::silence(RECOGNITION_RATE, 1.5), Audio::silence(RECOGNITION_RATE, 1.5).with_noise(0.0, 5)]
        .iter()
        .enumerate()
    {
        let mut a = a.clone();
        if i == 1 {
            // with_noise scales to the signal's RMS (floored at 1): make it audible.
            a = a.scaled(300.0);
        }
        let r = rec.recognize(&a).expect("decodes");
        unrel_total += 1;
        if r.command.is_some() {
            unrel_accepted += 1;
            misses.push(format!("silence/noise {i} accepted as {:?}", r.command));
        }
    }
    let false_reject = 1.0 - cmd_right as f64 / cmd_total as f64;
    let false_accept = unrel_accepted as f64 / unrel_total as f64;
    let substitution = cmd_wrong as f64 / cmd_total as f64;
    println!(
        "recognition over {cmd_total} command utterances and {unrel_total} non-commands: \
         false-reject rate {:.1}% ({} not recognised right, {} of them as another command: {:.1}%), \
         false-accept rate {:.1}% ({unrel_accepted}/{unrel_total})",
        false_reject * 100.0,
        cmd_total - cmd_right,
        cmd_wrong,
        substitution * 100.0,
        false_accept * 100.0
    );
    println!(
        "held-out speakers only (not used for tuning): false-reject rate {:.1}% ({}/{}), false-accept rate {:.1}% ({}/{})",
        100.0 * (held[0] - held[1]) as f64 / held[0] as f64,
        held[0] - held[1],
        held[0],
        100.0 * held[3] as f64 / held[2] as f64,
        held[3],
        held[2]
    );
    for m in &misses {
        println!("  {m}");
    }
    assert!(false_reject <= 0.15, "false-reject rate {:.1}% above 15%", false_reject * 100.0);
    assert!(false_accept <= 0.12, "false-accept rate {:.1}% above 12%", false_accept * 100.0);
    assert!(substitution <= 0.03, "wrong-command rate {:.1}% above 3%", substitution * 100.0);
}

#[test]
fn fuel_status_through_push_to_talk() {
    let Some((tts, rec)) = ready("fuel_status_through_push_to_talk") else {
        return;
    };
    let a = tts.synthesize_blocking(&SpeechRequest::new("fuel status", "en-us")).expect("speaks");
    let (ptt, button) = ChannelPtt::new();
    let mut l = CommandListener { recognizer: rec, ptt, mic: WavMicrophone::new(a.clone()) };
    button.press();
    // Released well after the words have been fed (the replayed microphone gives silence after
    // the recording, as a real one would while the button is still held).
    let sender = button.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(600));
        sender.release();
    });
    let heard = l.listen_once(std::time::Duration::from_secs(5)).expect("decodes").expect("button pressed");
    t.join().expect("thread");
    assert_eq!(heard.recognition.command, Some(VoiceCommand::FuelStatus), "{:?}", heard.recognition);
    println!("push-to-talk: latency after release {:.1} ms", heard.latency_after_release * 1e3);
    // Nobody presses: no result.
    assert!(l.listen_once(std::time::Duration::from_millis(50)).expect("ok").is_none());
}
