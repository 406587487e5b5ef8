//! Voice commands end to end: command audio made with espeak-ng in several voices, rates and
//! pitches, with and without noise, recognised by PocketSphinx; unrelated speech and silence give
//! no command. Prints the false-accept and false-reject rates over the set.

use pitbox_testkit::skip;
use pitbox_voice::audio::{Audio, RECOGNITION_RATE};
use pitbox_voice::commands::VoiceCommand;
use pitbox_voice::eval::{Speaker, render};
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

/// Floors under what the subset measured with PocketSphinx 5.1.1 and the default settings
/// (noise floor, garbage branch, then the phone-loop check of likelihood ratio and phone distance:
/// 67 and 68/72 right in two runs with the 18 commands, 77/80 with the 20 of issue 25 — the
/// two new commands 8/8 —, none taken for another command, 0/14 non-commands accepted;
/// docs/voice.md has the whole matrix): a drop below them is a regression (three more misses, or
/// two false accepts, fail; any wrong command fails).
/// They are NOT the goal: see `the_quality_goal_holds_on_the_subset`.
const MIN_RIGHT_PERCENT: usize = 90;
const MAX_ACCEPT_PERCENT: usize = 10;

/// What the subset measured: (commands right, commands, wrong, non-commands accepted, non-commands).
fn measure_subset(tts: &EspeakNg, rec: &mut CommandRecognizer) -> (usize, usize, usize, usize, usize) {
    let speakers = [Speaker { voice: "en-us", pitch: None }, Speaker { voice: "en-gb+f3", pitch: None }];
    let unrelated = ["turn left at the next corner", "the weather is nice today", "she bought a new bicycle"];
    let (mut total, mut right, mut wrong, mut accepted, mut non) = (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut misses = Vec::new();
    for sp in &speakers {
        for snr in [None, Some(15.0)] {
            for (i, c) in VoiceCommand::all().into_iter().enumerate() {
                let a = render(tts, sp, 175, snr, &c.phrase(), i as u64 + 1).expect("espeak-ng speaks");
                let r = rec.recognize(&a).expect("decodes");
                total += 1;
                match r.command {
                    Some(got) if got == c => right += 1,
                    Some(got) => {
                        wrong += 1;
                        misses.push(format!("{} {snr:?}: '{}' taken as {got:?} ('{}')", sp.voice, c.phrase(), r.words));
                    }
                    None => misses.push(format!("{} {snr:?}: '{}' missed ('{}')", sp.voice, c.phrase(), r.words)),
                }
            }
            for (i, u) in unrelated.iter().enumerate() {
                let a = render(tts, sp, 175, snr, u, 100 + i as u64).expect("espeak-ng speaks");
                let r = rec.recognize(&a).expect("decodes");
                non += 1;
                if let Some(got) = r.command {
                    accepted += 1;
                    misses.push(format!("{} {snr:?}: unrelated '{u}' taken as {got:?}", sp.voice));
                }
            }
        }
    }
    // Silence and loud noise are no command.
    for a in
        [Audio::silence(RECOGNITION_RATE, 1.5), Audio::silence(RECOGNITION_RATE, 1.5).with_noise(0.0, 5).scaled(300.0)]
    {
        let r = rec.recognize(&a).expect("decodes");
        non += 1;
        if r.command.is_some() {
            accepted += 1;
            misses.push(format!("silence/noise taken as {:?}", r.command));
        }
    }
    println!("subset: {right}/{total} commands right, {wrong} wrong, {accepted}/{non} non-commands accepted");
    for m in &misses {
        println!("  {m}");
    }
    (right, total, wrong, accepted, non)
}

/// The goal on the subset: no command taken for another, ≥ 95 % right, ≤ 2 % false
/// accepts. It is not met (the subset: 67 and 68/72 right, 0 wrong, 0/14 accepted; the held-out
/// matrix in docs/voice.md: 90.8 %, 5 wrong, 6.9 % since the fourth round), so it is ignored by default;
/// `cargo test -p pitbox-voice --test recognition -- --ignored` shows how far off it is.
#[test]
#[ignore = "goal not yet met with PocketSphinx 5.1.1: see docs/voice.md, Recognition matrix"]
fn the_quality_goal_holds_on_the_subset() {
    let Some((tts, mut rec)) = ready("the_quality_goal_holds_on_the_subset") else {
        return;
    };
    let (right, total, wrong, accepted, non) = measure_subset(&tts, &mut rec);
    assert_eq!(wrong, 0, "a command was taken for another one");
    assert!(right * 100 >= total * 95, "{right}/{total} commands right, below 95%");
    assert!(accepted * 100 <= non * 2, "{accepted}/{non} non-commands accepted, above 2%");
}

/// A small fixed subset of the evaluation matrix (`pitbox voice eval` prints the whole of it):
/// every command in two voices, clean and at 15 dB SNR, unrelated sentences, silence and noise.
/// Asserts floors under the rates measured when it was written (a regression check).
#[test]
fn commands_are_recognised_and_unrelated_speech_is_not() {
    let Some((tts, mut rec)) = ready("commands_are_recognised_and_unrelated_speech_is_not") else {
        return;
    };
    let (right, total, wrong, accepted, non) = measure_subset(&tts, &mut rec);
    assert_eq!(wrong, 0, "{wrong}/{total} commands taken for another one");
    assert!(right * 100 >= total * MIN_RIGHT_PERCENT, "{right}/{total} commands right, below {MIN_RIGHT_PERCENT}%");
    assert!(
        accepted * 100 <= non * MAX_ACCEPT_PERCENT,
        "{accepted}/{non} non-commands accepted, above {MAX_ACCEPT_PERCENT}%"
    );
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
