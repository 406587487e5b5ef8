//! The driver's settings as the window edits them (`GET`/`PUT /api/settings`): the voice engine,
//! voice, speed, sensitivity, which callouts are on, the audio devices and the push-to-talk
//! buttons. They are written to the `[driver]` table of the agent's `pitbox.toml` with
//! `toml_edit`, so the file's other keys and its comments stay, and flags and the file stay the
//! single source: the keys are the flags' own (`voice_engine`, `voice_speed`, `ptt` …).

use crate::voice::{CalloutEngine, CalloutOutput, VoiceInput, VoiceSettings};
use pitbox_model::rest::VoiceConfig;
use pitbox_voice::buttons::PttButton;
use std::path::{Path, PathBuf};

/// The engines `voice_engine` takes (see `pitbox driver --help`).
pub const ENGINES: [&str; 5] = ["auto", "windows", "espeak-ng", "cloud", "elevenlabs"];

/// Which callouts are on.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Callouts {
    /// Every spoken callout (the spec's `voice.enabled`).
    pub voice: bool,
    /// The spotter ("car left", "clear").
    pub spotter: bool,
    /// Cues before the corner.
    pub cues: bool,
}

/// Video as the settings screen chooses it (issue 24: "choose the monitor or window in the
/// driver's settings"). Written to the flags' keys: `video_capture`, `video_size`, `video_fps`,
/// `video_bitrate`, `video_encoder`, and `video` when it is sent from the start.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VideoChoice {
    /// What is captured: `window:TITLE`, `monitor:N` (Windows) or `test-pattern`.
    pub capture: String,
    /// Sent from the start; otherwise only when the driver turns it on in the window or accepts
    /// the pit wall's request.
    pub at_start: bool,
    /// `WIDTHxHEIGHT`.
    pub size: String,
    pub fps: u32,
    /// bit/s.
    pub bitrate: u32,
    /// `auto`, `hardware` or `software`.
    pub encoder: String,
}

impl VideoChoice {
    /// The choice of a plan.
    pub fn of(plan: &crate::video::VideoPlan) -> Self {
        let v = &plan.settings;
        VideoChoice {
            capture: v.source.to_string(),
            at_start: plan.at_start,
            size: format!("{}x{}", v.width, v.height),
            fps: v.fps,
            bitrate: v.bitrate_bps,
            encoder: v.encoder.to_string(),
        }
    }

    /// The settings the encoder takes, or every broken rule as `video.FIELD: why`.
    pub fn settings(&self) -> Result<crate::video::VideoSettings, Vec<String>> {
        let mut errors = Vec::new();
        let source = self
            .capture
            .parse::<crate::video::VideoSource>()
            .map_err(|e| errors.push(format!("video.capture: {e}")))
            .ok();
        if let Some(s) = &source
            && !cfg!(windows)
            && *s != crate::video::VideoSource::TestPattern
        {
            errors.push(format!(
                "video.capture: {s}: window and monitor capture run on Windows only; choose test-pattern"
            ));
        }
        let size = crate::video::parse_size(&self.size).map_err(|e| errors.push(format!("video.size: {e}"))).ok();
        if !(1..=60).contains(&self.fps) {
            errors.push(format!("video.fps: must be 1–60, got {}", self.fps));
        }
        if !(300_000..=20_000_000).contains(&self.bitrate) {
            errors.push(format!("video.bitrate: must be 300000–20000000 bit/s, got {}", self.bitrate));
        }
        let encoder = self
            .encoder
            .trim()
            .parse::<pitbox_video::EncoderChoice>()
            .map_err(|e| errors.push(format!("video.encoder: {e}")))
            .ok();
        match (source, size, encoder) {
            (Some(source), Some((width, height)), Some(encoder)) if errors.is_empty() => {
                Ok(crate::video::VideoSettings {
                    source,
                    width,
                    height,
                    fps: self.fps,
                    bitrate_bps: self.bitrate,
                    encoder,
                })
            }
            _ => Err(errors),
        }
    }
}

/// What the settings screen shows and saves.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriverSettings {
    /// One of [`ENGINES`].
    pub voice_engine: String,
    pub voice_id: String,
    /// Speaking rate 0.5–2.0.
    pub speed: f64,
    /// Voice-command sensitivity 0–1.
    pub sensitivity: f64,
    pub callouts: Callouts,
    /// `sound-card`, `sound-card:NAME` or a folder for WAV files.
    pub output: String,
    /// `mic`, `mic:NAME`, a WAV file or folder; `None`: no voice input besides the local API.
    #[serde(default)]
    pub input: Option<String>,
    /// Push-to-talk buttons (`signal`, `joystick:DEVICE:BUTTON`, `key:KEY`).
    #[serde(default)]
    pub ptt: Vec<String>,
    /// Live video; `None` (or left out of a save): this agent has no video, and the file's
    /// video keys are left as they are.
    #[serde(default)]
    pub video: Option<VideoChoice>,
}

impl DriverSettings {
    /// The settings the agent runs with.
    pub fn running(voice: &VoiceSettings, config: &VoiceConfig, video: Option<&crate::video::VideoPlan>) -> Self {
        Self {
            voice_engine: engine_name(&voice.engine).to_string(),
            voice_id: config.voice_id.clone(),
            speed: voice.speed,
            sensitivity: config.sensitivity,
            callouts: Callouts { voice: config.enabled, spotter: voice.spotter, cues: voice.cues },
            output: match &voice.output {
                CalloutOutput::SoundCard { device: None } => "sound-card".into(),
                CalloutOutput::SoundCard { device: Some(d) } => format!("sound-card:{d}"),
                CalloutOutput::WavDir { dir, .. } => dir.display().to_string(),
            },
            input: voice.input.as_ref().map(|i| match i {
                VoiceInput::Wav(p) => p.display().to_string(),
                VoiceInput::Microphone { device: None } => "mic".into(),
                VoiceInput::Microphone { device: Some(d) } => format!("mic:{d}"),
            }),
            ptt: voice.ptt.iter().map(button_name).collect(),
            video: video.map(VideoChoice::of),
        }
    }

    /// Every broken rule, each as `field: why` (empty when the settings can be saved).
    /// `devices`: the sound card's devices, to check a device name against; `running_engine`:
    /// the engine the agent runs with (its key may have come as a flag, not the variable).
    pub fn check(&self, devices: &Devices, cloud_enabled: bool, running_engine: &str) -> Vec<String> {
        let mut errors = Vec::new();
        let engine = self.voice_engine.trim();
        if !ENGINES.contains(&engine) {
            errors.push(format!("voiceEngine: `{engine}` is not an engine; expected one of {}", ENGINES.join(", ")));
        }
        if engine == "cloud" && !cloud_enabled {
            errors.push("voiceEngine: cloud reaches the team's cloud; it needs cloud_enabled = true".into());
        }
        if engine == "elevenlabs"
            && running_engine != "elevenlabs"
            && std::env::var("PITBOX_DRIVER_ELEVENLABS_KEY").map_or(true, |k| k.trim().is_empty())
        {
            errors.push("voiceEngine: elevenlabs needs an API key in PITBOX_DRIVER_ELEVENLABS_KEY".into());
        }
        let voice = self.voice_id.trim();
        if voice.is_empty() {
            errors.push("voiceId: empty; `default` is the engine's default voice".into());
        } else if voice.chars().count() > 64 || voice.chars().any(|c| c.is_control()) {
            errors.push("voiceId: at most 64 characters, no control characters".into());
        }
        if !(self.speed.is_finite() && (0.5..=2.0).contains(&self.speed)) {
            errors.push(format!("speed: must be between 0.5 and 2.0, got {}", self.speed));
        }
        if !(self.sensitivity.is_finite() && (0.0..=1.0).contains(&self.sensitivity)) {
            errors.push(format!("sensitivity: must be between 0 and 1, got {}", self.sensitivity));
        }
        match device_choice(&self.output, &["sound-card", "soundcard"]) {
            Choice::Empty => errors.push("output: empty; give sound-card, sound-card:NAME or a folder".into()),
            Choice::Device(name) => {
                if let Some(why) = devices.refuse("output", name, &devices.outputs) {
                    errors.push(format!("output: {why}"));
                }
            }
            Choice::Path(p) if p.chars().any(|c| c.is_control()) => {
                errors.push("output: the folder has control characters".into())
            }
            Choice::Path(_) => {}
        }
        if let Some(input) = self.input.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            match device_choice(input, &["mic", "microphone"]) {
                Choice::Device(name) => {
                    if let Some(why) = devices.refuse("input", name, &devices.inputs) {
                        errors.push(format!("input: {why}"));
                    }
                }
                Choice::Path(p) if !Path::new(p).exists() => {
                    errors.push(format!("input: `{p}` is neither mic, mic:NAME nor an existing WAV file or folder"));
                }
                _ => {}
            }
        }
        // Buttons without the microphone are kept, not refused: a binding can be captured before
        // the microphone is chosen; the agent says at start that they are not used yet.
        for (i, p) in self.ptt.iter().enumerate() {
            if let Err(e) = PttButton::parse(p) {
                errors.push(format!("ptt[{i}]: {e}"));
            }
        }
        if let Some(Err(e)) = self.video.as_ref().map(VideoChoice::settings) {
            errors.extend(e);
        }
        errors
    }

    /// The `[driver]` keys and values these settings are, in the file's order.
    fn entries(&self) -> Vec<(&'static str, Option<toml_edit::Item>)> {
        use toml_edit::{Array, value};
        let ptt: Array = self.ptt.iter().map(|p| p.trim().to_string()).collect();
        let mut entries = vec![
            ("voice_enabled", Some(value(self.callouts.voice))),
            ("voice_sensitivity", Some(value(self.sensitivity))),
            ("spotter", Some(value(self.callouts.spotter))),
            ("cues", Some(value(self.callouts.cues))),
            ("voice_id", Some(value(self.voice_id.trim()))),
            ("voice_engine", Some(value(self.voice_engine.trim()))),
            ("voice_speed", Some(value(self.speed))),
            ("voice_out", Some(value(self.output.trim()))),
            ("voice_in", self.input.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(value)),
            ("ptt", (!ptt.is_empty()).then(|| value(ptt))),
        ];
        if let Some(v) = &self.video {
            let capture = v.capture.trim();
            entries.extend([
                ("video", v.at_start.then(|| value(capture))),
                ("video_capture", Some(value(capture))),
                ("video_size", Some(value(v.size.trim()))),
                ("video_fps", Some(value(i64::from(v.fps)))),
                ("video_bitrate", Some(value(i64::from(v.bitrate)))),
                ("video_encoder", Some(value(v.encoder.trim()))),
            ]);
        }
        entries
    }

    /// What differs from `running` and only takes effect when the agent starts again (the voice,
    /// the sensitivity, the speed and the callouts switch are applied live).
    pub fn restart_needed(&self, running: &DriverSettings) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.voice_engine.trim() != running.voice_engine {
            out.push("voiceEngine");
        }
        if self.callouts.spotter != running.callouts.spotter {
            out.push("callouts.spotter");
        }
        if self.callouts.cues != running.callouts.cues {
            out.push("callouts.cues");
        }
        if self.output.trim() != running.output {
            out.push("output");
        }
        let input = |s: &DriverSettings| s.input.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from);
        if input(self) != input(running) {
            out.push("input");
        }
        if self.ptt.iter().map(|p| p.trim()).ne(running.ptt.iter().map(|p| p.trim())) {
            out.push("ptt");
        }
        // The rest of video is applied while it is not running (the API checks the encoder).
        if let (Some(new), Some(old)) = (&self.video, &running.video)
            && new.at_start != old.at_start
        {
            out.push("video.atStart");
        }
        out
    }
}

/// The engine's name as `voice_engine` takes it.
fn engine_name(e: &CalloutEngine) -> &'static str {
    match e {
        CalloutEngine::EspeakNg { .. } => "espeak-ng",
        CalloutEngine::Windows => "windows",
        CalloutEngine::Cloud { .. } => "cloud",
        CalloutEngine::Provider { provider, .. } => provider.id(),
    }
}

/// A button as `--ptt` takes it.
pub fn button_name(b: &PttButton) -> String {
    match b {
        PttButton::Signal => "signal".into(),
        PttButton::Joystick { device, button } => format!("joystick:{device}:{button}"),
        PttButton::Key { name, .. } => format!("key:{name}"),
    }
}

enum Choice<'a> {
    Empty,
    /// The device word, with a name after `:` or not.
    Device(Option<&'a str>),
    Path(&'a str),
}

/// `word` / `word:NAME` is a device, anything else a path (as `--voice-out`/`--voice-in` read it).
fn device_choice<'a>(value: &'a str, words: &[&str]) -> Choice<'a> {
    let v = value.trim();
    if v.is_empty() {
        return Choice::Empty;
    }
    for w in words {
        if v == *w {
            return Choice::Device(None);
        }
        if let Some(name) = v.strip_prefix(w).and_then(|r| r.strip_prefix(':')) {
            return Choice::Device(Some(name));
        }
    }
    Choice::Path(v)
}

/// The sound card's devices the agent can offer, or why there are none.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Devices {
    /// Whether this build plays and records on the sound card at all.
    pub sound_card: bool,
    pub outputs: Vec<String>,
    pub inputs: Vec<String>,
    /// Why a list is empty ("built without the sound-card feature", "no output devices" …).
    pub note: Option<String>,
}

impl Devices {
    /// What the platform lists now.
    pub fn list() -> Self {
        #[cfg(sound_card)]
        {
            let mut notes = Vec::new();
            let mut names = |what: &str, r: Result<Vec<String>, String>| match r {
                Ok(v) if v.is_empty() => {
                    notes.push(format!("this machine has no audio {what} devices"));
                    v
                }
                Ok(v) => v,
                Err(e) => {
                    notes.push(format!("the {what} devices cannot be listed: {e}"));
                    Vec::new()
                }
            };
            let outputs = names("output", pitbox_voice::soundcard::output_devices().map_err(|e| e.to_string()));
            let inputs = names("input", pitbox_voice::soundcard::input_devices().map_err(|e| e.to_string()));
            Devices { sound_card: true, outputs, inputs, note: (!notes.is_empty()).then(|| notes.join("; ")) }
        }
        #[cfg(not(sound_card))]
        Devices {
            sound_card: false,
            outputs: Vec::new(),
            inputs: Vec::new(),
            note: Some(
                "this PitBox was built without the sound-card feature: callouts go to WAV files in a folder and \
                 commands come from WAV files or the local API"
                    .into(),
            ),
        }
    }

    /// Why `name` (of `what`, among `names`) cannot be used, if it cannot.
    fn refuse(&self, what: &str, name: Option<&str>, names: &[String]) -> Option<String> {
        if !self.sound_card {
            return Some(format!(
                "the sound card needs PitBox built with the sound-card feature; give a folder{}",
                if what == "input" { " or WAV file" } else { "" }
            ));
        }
        match name {
            None if names.is_empty() => Some(format!("this machine has no audio {what} device")),
            None => None,
            Some(n) => pitbox_voice::devices::pick_device(names, n, what).err(),
        }
    }
}

/// Why the settings could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SettingsFileError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid TOML ({source}); fix or remove it, then save again")]
    Parse { path: PathBuf, source: toml_edit::TomlError },
    #[error("{path}: `driver` is not a table")]
    NotATable { path: PathBuf },
    #[error("cannot write {path}: {source:#}")]
    Write { path: PathBuf, source: anyhow::Error },
}

/// What a new file starts with (the template's header: the same precedence applies).
const NEW_FILE_HEADER: &str = "# PitBox driver agent. Every key can also be set with a flag (pitbox driver --help) or a\n\
# PITBOX_DRIVER_<KEY> variable; flags win over variables, variables over this file.\n";

/// Writes `settings` into the `[driver]` table of the TOML file at `path` (made when absent),
/// keeping its other keys and its comments. Readable by the user only, replaced atomically
/// (the file may hold a token).
pub fn write(path: &Path, settings: &DriverSettings) -> Result<(), SettingsFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => NEW_FILE_HEADER.to_string(),
        Err(source) => return Err(SettingsFileError::Read { path: path.into(), source }),
    };
    let mut doc: toml_edit::DocumentMut =
        text.parse().map_err(|source| SettingsFileError::Parse { path: path.into(), source })?;
    let driver = doc
        .entry("driver")
        .or_insert_with(toml_edit::table)
        .as_table_mut()
        .ok_or_else(|| SettingsFileError::NotATable { path: path.into() })?;
    for (key, item) in settings.entries() {
        match item {
            Some(mut item) => {
                // The old value's spacing and trailing comment stay with the new value.
                if let (Some(old), Some(new)) = (driver.get(key).and_then(|i| i.as_value()), item.as_value_mut()) {
                    *new.decor_mut() = old.decor().clone();
                }
                // In place: `insert` would replace the key too, and the comment above it with it.
                match driver.get_mut(key) {
                    Some(slot) => *slot = item,
                    None => {
                        driver.insert(key, item);
                    }
                }
            }
            None => {
                driver.remove(key);
            }
        }
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| SettingsFileError::Write { path: path.into(), source: e.into() })?;
    }
    crate::private::write_private(path, doc.to_string().as_bytes())
        .map_err(|source| SettingsFileError::Write { path: path.into(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DriverSettings {
        DriverSettings {
            voice_engine: "espeak-ng".into(),
            voice_id: "engineer-uk".into(),
            speed: 1.3,
            sensitivity: 0.7,
            callouts: Callouts { voice: true, spotter: false, cues: true },
            output: "/tmp/callouts".into(),
            input: None,
            // Valid on Linux and Windows alike (`signal` is Unix only).
            ptt: vec!["joystick:0:5".into()],
            video: None,
        }
    }

    fn video() -> VideoChoice {
        VideoChoice {
            capture: "test-pattern".into(),
            at_start: false,
            size: "1280x720".into(),
            fps: 30,
            bitrate: 3_000_000,
            encoder: "auto".into(),
        }
    }

    #[test]
    fn every_broken_rule_is_listed() {
        let bad = DriverSettings {
            voice_engine: "sam".into(),
            voice_id: " ".into(),
            speed: 3.0,
            sensitivity: f64::NAN,
            callouts: Callouts { voice: true, spotter: true, cues: true },
            output: "".into(),
            input: Some("/nonexistent/in.wav".into()),
            ptt: vec!["mouse:1".into()],
            video: Some(VideoChoice {
                capture: "camera".into(),
                at_start: true,
                size: "1281x720".into(),
                fps: 0,
                bitrate: 100,
                encoder: "gpu".into(),
            }),
        };
        let errors = bad.check(&Devices::default(), false, "espeak-ng");
        let fields: Vec<&str> = errors.iter().filter_map(|e| e.split(':').next()).collect();
        assert_eq!(
            fields,
            [
                "voiceEngine",
                "voiceId",
                "speed",
                "sensitivity",
                "output",
                "input",
                "ptt[0]",
                "video.capture",
                "video.size",
                "video.fps",
                "video.bitrate",
                "video.encoder"
            ],
            "{errors:?}"
        );
        // Capture of a window: Windows only.
        let window = DriverSettings {
            video: Some(VideoChoice { capture: "window:iRacing.com Simulator".into(), ..video() }),
            ..sample()
        };
        let e = window.check(&Devices::default(), false, "espeak-ng");
        if cfg!(windows) {
            assert!(e.is_empty(), "{e:?}");
        } else {
            assert_eq!(e.len(), 1, "{e:?}");
            assert!(
                e[0].starts_with(
                    "video.capture: window:iRacing.com Simulator: window and monitor capture run on Windows only"
                ),
                "{e:?}"
            );
        }
        let ok = DriverSettings { video: Some(video()), ..sample() };
        assert!(ok.check(&Devices::default(), false, "espeak-ng").is_empty());
        let no_card = Devices { note: Some("none".into()), ..Devices::default() };
        let e = DriverSettings { output: "sound-card".into(), ..sample() }.check(&no_card, false, "espeak-ng");
        assert!(e[0].contains("sound-card feature"), "{e:?}");
        let card = Devices { sound_card: true, outputs: vec!["Headset".into()], ..Devices::default() };
        assert!(
            DriverSettings { output: "sound-card:head".into(), ..sample() }.check(&card, false, "espeak-ng").is_empty()
        );
        let e = DriverSettings { output: "sound-card:Speakers".into(), ..sample() }.check(&card, false, "espeak-ng");
        assert!(e[0].starts_with("output: no output device named like `Speakers`"), "{e:?}");
        let e = DriverSettings { input: Some("mic".into()), ..sample() }.check(&card, false, "espeak-ng");
        assert_eq!(e, ["input: this machine has no audio input device"]);
        let e = DriverSettings { voice_engine: "cloud".into(), ..sample() }.check(&card, false, "espeak-ng");
        assert!(e[0].contains("cloud_enabled"), "{e:?}");
    }

    #[test]
    fn the_file_keeps_its_comments_and_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pitbox.toml");
        std::fs::write(
            &path,
            "# top comment\n[driver]\n# where telemetry comes from\nsource = \"sim\"\n# the voice\nvoice_id = \"default\" # trailing\nptt = \"joystick:0:1\"\nvoice_in = \"mic\"\n\n[relay]\nlisten = \"x\"\n",
        )
        .unwrap();
        write(&path, &sample()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        for kept in [
            "# top comment",
            "# where telemetry comes from\nsource = \"sim\"",
            "# the voice\nvoice_id = \"engineer-uk\" # trailing",
            "[relay]\nlisten = \"x\"",
        ] {
            assert!(text.contains(kept), "{kept:?} missing from\n{text}");
        }
        let t: toml::Table = toml::from_str(&text).unwrap();
        let d = t["driver"].as_table().unwrap();
        assert_eq!(d["voice_speed"].as_float(), Some(1.3));
        assert_eq!(d["spotter"].as_bool(), Some(false));
        assert_eq!(d["ptt"].as_array().unwrap()[0].as_str(), Some("joystick:0:5"));
        assert!(!d.contains_key("voice_in"), "no input: the key is removed");
        // A new file, and a broken one (left alone).
        // Video: left alone when the save has none; written, `video` only when sent from the start.
        assert!(!d.contains_key("video_capture"));
        let with_video = DriverSettings {
            video: Some(VideoChoice { at_start: true, fps: 60, bitrate: 6_000_000, ..video() }),
            ..sample()
        };
        write(&path, &with_video).unwrap();
        let t: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let d = t["driver"].as_table().unwrap();
        assert_eq!(d["video"].as_str(), Some("test-pattern"));
        assert_eq!(d["video_capture"].as_str(), Some("test-pattern"));
        assert_eq!(d["video_size"].as_str(), Some("1280x720"));
        assert_eq!(d["video_fps"].as_integer(), Some(60));
        assert_eq!(d["video_bitrate"].as_integer(), Some(6_000_000));
        assert_eq!(d["video_encoder"].as_str(), Some("auto"));
        write(&path, &DriverSettings { video: Some(video()), ..sample() }).unwrap();
        let t: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let d = t["driver"].as_table().unwrap();
        assert!(!d.contains_key("video"), "not sent from the start: the key goes");
        assert_eq!(d["video_fps"].as_integer(), Some(30));
        write(&path, &sample()).unwrap();
        let t: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(t["driver"]["video_capture"].as_str(), Some("test-pattern"), "a save without video keeps its keys");
        let fresh = dir.path().join("sub/pitbox.toml");
        write(&fresh, &sample()).unwrap();
        assert!(std::fs::read_to_string(&fresh).unwrap().contains("[driver]"));
        std::fs::write(&path, "driver = [").unwrap();
        assert!(matches!(write(&path, &sample()), Err(SettingsFileError::Parse { .. })));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "driver = [");
    }
}
