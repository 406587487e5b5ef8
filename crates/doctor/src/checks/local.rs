//! Checks of this machine: the sim (iRacing's shared memory, Windows only), the sound card,
//! and the speech engines (espeak-ng for callouts, PocketSphinx for voice commands).

use pitbox_model::CheckStatus;
use pitbox_model::rest::ValidationResult;
use serde_json::{Map, Value, json};

use crate::report::result;

/// Runs blocking work off the async threads; a panic in it becomes an error result.
async fn blocking(component: &'static str, f: impl FnOnce() -> ValidationResult + Send + 'static) -> ValidationResult {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => result(component, CheckStatus::Error, format!("the check itself failed: {e}"), Map::new()),
    }
}

/// The `sim` check.
pub(crate) async fn sim() -> ValidationResult {
    blocking("sim", sim_now).await
}

#[cfg(not(windows))]
fn sim_now() -> ValidationResult {
    let mut d = Map::new();
    d.insert("platform".into(), json!(std::env::consts::OS));
    d.insert("sources".into(), json!(["sim", "sim:SEED", "ibt:FILE", "dump:FILE"]));
    result(
        "sim",
        CheckStatus::Warning,
        format!(
            "iRacing runs only on Windows, not on {}: use the built-in simulator (`pitbox driver --source sim`) or \
             replay a recorded lap (`--source ibt:FILE`)",
            std::env::consts::OS
        ),
        d,
    )
}

#[cfg(windows)]
fn sim_now() -> ValidationResult {
    use pitbox_irsdk::live::LiveReader;
    use pitbox_irsdk::live::windows::{IracingMap, MEM_MAP_NAME};
    let mut d = Map::new();
    d.insert("platform".into(), json!("windows"));
    let map = match IracingMap::open() {
        Ok(m) => m,
        Err(e) => {
            d.insert("running".into(), json!(false));
            return result(
                "sim",
                CheckStatus::Warning,
                format!(
                    "iRacing is not running ({e}); start it and join a session, or use `pitbox driver --source sim` \
                     or `--source ibt:FILE`"
                ),
                d,
            );
        }
    };
    d.insert("running".into(), json!(true));
    match LiveReader::new(map.mem()) {
        Err(e) => {
            result("sim", CheckStatus::Error, format!("iRacing's shared memory {MEM_MAP_NAME} is unreadable: {e}"), d)
        }
        Ok(r) => {
            d.insert("connected".into(), json!(r.is_connected()));
            d.insert("tick".into(), json!(r.tick()));
            if r.is_connected() {
                result("sim", CheckStatus::Success, "iRacing is running and in a session: telemetry is live", d)
            } else {
                result(
                    "sim",
                    CheckStatus::Warning,
                    "iRacing is running but not in a session yet: telemetry starts when you join one",
                    d,
                )
            }
        }
    }
}

/// The `audio` check.
pub(crate) async fn audio() -> ValidationResult {
    blocking("audio", audio_now).await
}

#[cfg(not(any(feature = "sound-card", windows)))]
fn audio_now() -> ValidationResult {
    let mut d = Map::new();
    d.insert("soundCard".into(), Value::Bool(false));
    result(
        "audio",
        CheckStatus::Warning,
        "this build has no sound-card support (cargo feature `sound-card`): spoken callouts are written as WAV files",
        d,
    )
}

#[cfg(any(feature = "sound-card", windows))]
fn audio_now() -> ValidationResult {
    use pitbox_voice::ptt::Microphone;
    let mut d = Map::new();
    d.insert("soundCard".into(), Value::Bool(true));
    let out = pitbox_voice::soundcard::CpalSink::open();
    let mic = pitbox_voice::soundcard::CpalMicrophone::open();
    d.insert("output".into(), json!(out.is_ok()));
    d.insert("input".into(), json!(mic.is_ok()));
    // The names `--voice-out sound-card:NAME` and `--voice-in mic:NAME` take.
    if let Ok(names) = pitbox_voice::soundcard::output_devices() {
        d.insert("outputDevices".into(), json!(names));
    }
    if let Ok(names) = pitbox_voice::soundcard::input_devices() {
        d.insert("inputDevices".into(), json!(names));
    }
    match (&out, &mic) {
        (Ok(_), Ok(m)) => {
            d.insert("inputRate".into(), json!(m.sample_rate()));
            result("audio", CheckStatus::Success, "default output and input devices open", d)
        }
        (Ok(_), Err(e)) => result(
            "audio",
            CheckStatus::Warning,
            format!("output device opens; no microphone ({e}): push-to-talk voice commands will not work"),
            d,
        ),
        // A warning, not an error: without a sound card callouts go to WAV files, and a server
        // has none.
        (Err(e), _) => result(
            "audio",
            CheckStatus::Warning,
            format!("no output device ({e}): spoken callouts cannot play here; use a WAV folder"),
            d,
        ),
    }
}

/// The `tts` check: espeak-ng runs and makes audio. Missing is an error: callouts and the
/// cloud's voice synthesis need it.
pub(crate) async fn tts() -> ValidationResult {
    blocking("tts", || {
        use pitbox_voice::tts::{EspeakNg, SpeechRequest};
        let engine = EspeakNg::new();
        let mut d = Map::new();
        d.insert("engine".into(), json!("espeak-ng"));
        let version = match engine.available() {
            Ok(v) => v,
            Err(e) => {
                return result("tts", CheckStatus::Error, format!("{e}; install it with scripts/setup-voice"), d);
            }
        };
        // `espeak-ng --version` says "eSpeak NG text-to-speech: 1.51  Data at: /usr/…".
        let version = version.split("Data at").next().unwrap_or(&version).trim().to_string();
        d.insert("version".into(), json!(version));
        match engine.synthesize_blocking(&SpeechRequest::new("radio check", "en")) {
            Ok(a) if a.duration() > 0.1 => {
                d.insert("seconds".into(), json!((a.duration() * 100.0).round() / 100.0));
                let m = format!("{version}: \"radio check\" synthesised ({:.2} s of audio)", a.duration());
                result("tts", CheckStatus::Success, m, d)
            }
            Ok(a) => result(
                "tts",
                CheckStatus::Error,
                format!("{version} made only {:.2} s of audio for \"radio check\"", a.duration()),
                d,
            ),
            Err(e) => result("tts", CheckStatus::Error, format!("{version} cannot synthesise: {e}"), d),
        }
    })
    .await
}

/// The `stt` check: PocketSphinx loads with the command grammar and decodes. Missing is a
/// warning: voice commands are optional, everything else works without them.
pub(crate) async fn stt() -> ValidationResult {
    blocking("stt", || {
        use pitbox_voice::audio::{Audio, RECOGNITION_RATE};
        use pitbox_voice::sphinx::{CommandRecognizer, RecognizerConfig, availability, default_model_dir};
        let mut d = Map::new();
        d.insert("engine".into(), json!("pocketsphinx"));
        d.insert("model".into(), json!(default_model_dir().display().to_string()));
        if let Err(e) = availability() {
            return result("stt", CheckStatus::Warning, format!("voice commands are off: {e}"), d);
        }
        let mut rec = match CommandRecognizer::new(RecognizerConfig::default()) {
            Ok(r) => r,
            Err(e) => {
                return result("stt", CheckStatus::Error, format!("PocketSphinx (built in) does not start: {e}"), d);
            }
        };
        match rec.recognize(&Audio::silence(RECOGNITION_RATE, 0.5)) {
            Ok(_) => {
                result("stt", CheckStatus::Success, "PocketSphinx (built in) loads the command grammar and decodes", d)
            }
            Err(e) => result("stt", CheckStatus::Error, format!("PocketSphinx cannot decode: {e}"), d),
        }
    })
    .await
}
