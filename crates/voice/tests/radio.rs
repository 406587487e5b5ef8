//! The driver's radio: priority, expiry, interruption and no overlap, with a tone "voice" (no
//! engine needed) and WAV files as the speaker, at 20× real time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pitbox_model::Priority;
use pitbox_voice::audio::{Audio, clamp16};
use pitbox_voice::queue::Callout;
use pitbox_voice::radio::{Radio, RadioConfig, RadioEvent, WavDirSink, chime_close, chime_open};
use pitbox_voice::tts::{BoxFuture, SpeechRequest, TtsError, TtsProvider};

/// Speaks 0.2 s of tone per word.
struct ToneVoice;

impl TtsProvider for ToneVoice {
    fn id(&self) -> &'static str {
        "tone"
    }
    fn synthesize<'a>(&'a self, req: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, TtsError>> {
        Box::pin(async move {
            let n = 22_050 * req.text.split_whitespace().count() / 5;
            Ok(Audio::new(22_050, (0..n).map(|i| clamp16(5_000.0 * (i as f64 * 0.1).sin())).collect()))
        })
    }
}

const SCALE: f64 = 0.05;

fn radio(dir: &std::path::Path) -> Radio {
    let sink = WavDirSink::new(dir).unwrap().time_scale(SCALE);
    Radio::start(Arc::new(ToneVoice), Box::new(sink), RadioConfig::default()).unwrap()
}

fn started(ev: &[RadioEvent]) -> Vec<String> {
    ev.iter().filter_map(|e| if let RadioEvent::Started { text, .. } = e { Some(text.clone()) } else { None }).collect()
}

/// Start/end pairs never overlap: every Started is followed by its own end before the next Started.
fn assert_no_overlap(ev: &[RadioEvent]) {
    let mut open: Option<u64> = None;
    for e in ev {
        match e {
            RadioEvent::Started { id, .. } => {
                assert!(open.is_none(), "callout {id} started while {open:?} was playing: {ev:#?}");
                open = Some(*id);
            }
            RadioEvent::Finished { id, .. } | RadioEvent::Interrupted { id, .. } => {
                assert_eq!(open, Some(*id), "{ev:#?}");
                open = None;
            }
            _ => {}
        }
    }
}

#[test]
fn priority_order_one_voice_at_a_time_and_files_with_chime() {
    let dir = tempfile::tempdir().unwrap();
    let r = radio(dir.path());
    let now = Instant::now();
    // The first starts at once; the rest queue behind it and come out by priority.
    r.say(Callout::new("first one two three four five", Priority::Normal, now));
    std::thread::sleep(Duration::from_millis(20));
    r.say(Callout::new("low tip", Priority::Low, now));
    r.say(Callout::new("normal call", Priority::Normal, now));
    r.say(Callout::new("high call", Priority::High, now));
    assert!(r.wait_idle(Duration::from_secs(20)));
    let ev = r.events();
    assert_eq!(started(&ev), ["first one two three four five", "high call", "normal call", "low tip"], "{ev:#?}");
    assert_no_overlap(&ev);
    // One file per callout, each chime + speech + roger beep.
    let mut files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 4);
    assert!(files[1].file_name().unwrap().to_string_lossy().starts_with("0002-high-high-call"), "{files:?}");
    let a = Audio::from_wav(&std::fs::read(&files[1]).unwrap()).unwrap();
    let speech = 0.4;
    let expect = chime_open(22_050).duration() + speech + chime_close(22_050).duration();
    assert!((a.duration() - expect).abs() < 0.01, "{} vs {expect}", a.duration());
}

#[test]
fn urgent_interrupts_and_the_interrupted_call_replays() {
    let dir = tempfile::tempdir().unwrap();
    let r = radio(dir.path());
    let now = Instant::now();
    // 40 words = 8 s of speech = 0.4 s wall time at 20×.
    let long = vec!["word"; 40].join(" ");
    r.say(Callout::new(long.clone(), Priority::Normal, now).max_age(Duration::from_secs(60)));
    std::thread::sleep(Duration::from_millis(100));
    r.say(Callout::new("yellow flag sector two", Priority::Urgent, Instant::now()));
    assert!(r.wait_idle(Duration::from_secs(20)));
    let ev = r.events();
    assert_no_overlap(&ev);
    assert_eq!(started(&ev), [long.clone(), "yellow flag sector two".into(), long], "{ev:#?}");
    let played =
        ev.iter().find_map(|e| if let RadioEvent::Interrupted { played, .. } = e { Some(*played) } else { None });
    let played = played.expect("an interruption");
    assert!(played > 0.5 && played < 7.0, "played {played}");
    // The cut clip on disk is as long as what was heard.
    let mut files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let first = Audio::from_wav(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert!((first.duration() - played).abs() < 0.05, "{} vs {played}", first.duration());
}

#[test]
fn stale_callouts_are_dropped_not_played() {
    let dir = tempfile::tempdir().unwrap();
    let r = radio(dir.path());
    let now = Instant::now();
    let long = vec!["word"; 30].join(" "); // 0.3 s wall
    r.say(Callout::new(long, Priority::High, now));
    std::thread::sleep(Duration::from_millis(20));
    r.say(Callout::new("fuel for three laps", Priority::Normal, Instant::now()).max_age(Duration::from_millis(100)));
    r.say(Callout::new("gap ahead one second", Priority::Normal, Instant::now()));
    assert!(r.wait_idle(Duration::from_secs(20)));
    let ev = r.events();
    assert!(!started(&ev).contains(&"fuel for three laps".to_string()), "{ev:#?}");
    assert!(started(&ev).contains(&"gap ahead one second".to_string()));
    assert!(
        ev.iter()
            .any(|e| matches!(e, RadioEvent::Dropped { text, reason: "expired", .. } if text == "fuel for three laps"))
    );
}

/// A restarted agent numbers its callout files on from the last run's: nothing is overwritten
/// and the folder reads in the order things were said.
#[test]
fn callout_files_number_on_across_restarts() {
    use pitbox_voice::radio::AudioSink;
    let dir = tempfile::tempdir().unwrap();
    let clip = Audio::new(22_050, vec![0; 2_205]);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut first = WavDirSink::new(dir.path()).unwrap().time_scale(0.0);
    first.play(&clip, "box this lap", &stop).unwrap();
    first.play(&clip, "low fuel", &stop).unwrap();
    drop(first);
    std::fs::write(dir.path().join("notes.txt"), b"not a callout").unwrap();
    let mut second = WavDirSink::new(dir.path()).unwrap().time_scale(0.0);
    second.play(&clip, "box this lap", &stop).unwrap();
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["0001-box-this-lap.wav", "0002-low-fuel.wav", "0003-box-this-lap.wav", "notes.txt"]);
}
