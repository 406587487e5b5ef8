//! Text-to-speech providers behind one trait: **espeak-ng** (offline, the default) and
//! **ElevenLabs** (HTTP API).
//!
//! espeak-ng runs as a program (`espeak-ng --stdout`), not as a linked library: the workspace
//! builds on machines without it (CI, Windows without the installer), there is no C ABI to keep
//! in step, a crash in the engine cannot take the driver agent down, and the measured cost of the
//! process start is small (see `pitbox bench voice`). The binary is found on `PATH`, or at
//! `PITBOX_ESPEAK_NG` (on Windows the installer puts `espeak-ng.exe` in
//! `C:\Program Files\eSpeak NG\`, which is also tried).

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::audio::{Audio, PLAYBACK_RATE, WavError};

/// A boxed future (providers are chosen at run time, per team).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What to say and how.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechRequest {
    /// The words (plain text; no markup is interpreted).
    pub text: String,
    /// The provider's own voice name (espeak-ng: `en-us`, `en-gb+f3` …; ElevenLabs: a voice id).
    pub voice: String,
    /// Speaking rate, 0.5–2.0 (1 = normal).
    pub speed: f64,
    /// Pitch 0–99 (espeak-ng only; `None` = the voice's own).
    pub pitch: Option<u8>,
}

impl SpeechRequest {
    /// A request at normal speed and pitch.
    pub fn new(text: impl Into<String>, voice: impl Into<String>) -> Self {
        Self { text: text.into(), voice: voice.into(), speed: 1.0, pitch: None }
    }
}

/// Why synthesis failed.
#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    #[error(
        "espeak-ng not found ({0}): install it with scripts/setup-voice (Debian/Ubuntu: espeak-ng) or set PITBOX_ESPEAK_NG"
    )]
    EngineMissing(String),
    #[error("espeak-ng failed: {0}")]
    Engine(String),
    #[error("the engine's audio is not valid WAV: {0}")]
    BadAudio(#[from] WavError),
    #[error("ElevenLabs request failed: {0}")]
    Http(String),
    #[error("ElevenLabs rejected the API key (HTTP {status}): {detail}")]
    Unauthorized { status: u16, detail: String },
    #[error("ElevenLabs has no voice `{0}`")]
    UnknownVoice(String),
    #[error("ElevenLabs answered HTTP {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("ElevenLabs returned no audio")]
    EmptyAudio,
    #[error("the cloud's voice failed: {0}")]
    Cloud(String),
    #[error("Windows speech (SAPI): {0}")]
    WindowsSpeech(String),
    #[error("{0}")]
    Invalid(String),
}

/// A text-to-speech engine.
pub trait TtsProvider: Send + Sync {
    /// Stable name, part of cache keys: `espeak-ng`, `elevenlabs`.
    fn id(&self) -> &'static str;

    /// Speaks `req` into mono 16-bit audio.
    fn synthesize<'a>(&'a self, req: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, TtsError>>;
}

/// The offline engine: runs `espeak-ng --stdout`.
#[derive(Debug, Clone)]
pub struct EspeakNg {
    program: PathBuf,
}

/// espeak-ng's rate at speed 1.0, words per minute (its own default).
pub const ESPEAK_BASE_WPM: f64 = 175.0;

impl Default for EspeakNg {
    fn default() -> Self {
        Self::new()
    }
}

impl EspeakNg {
    /// The engine found on `PATH` (or `PITBOX_ESPEAK_NG`).
    pub fn new() -> Self {
        if let Some(p) = std::env::var_os("PITBOX_ESPEAK_NG") {
            return Self { program: PathBuf::from(p) };
        }
        if cfg!(windows) {
            let installed = PathBuf::from(r"C:\Program Files\eSpeak NG\espeak-ng.exe");
            if installed.is_file() {
                return Self { program: installed };
            }
        }
        Self { program: PathBuf::from("espeak-ng") }
    }

    /// The engine at `program`.
    pub fn with_program(program: impl Into<PathBuf>) -> Self {
        Self { program: program.into() }
    }

    /// Whether the program runs here (its version line), for tests that must skip plainly.
    pub fn available(&self) -> Result<String, TtsError> {
        let out = Command::new(&self.program)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| TtsError::EngineMissing(format!("{}: {e}", self.program.display())))?;
        if !out.status.success() {
            return Err(TtsError::EngineMissing(format!(
                "{} --version exited with {}",
                self.program.display(),
                out.status
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn args(req: &SpeechRequest) -> Result<Vec<String>, TtsError> {
        if !req.speed.is_finite() || !(0.5..=2.0).contains(&req.speed) {
            return Err(TtsError::Invalid(format!("speed must be between 0.5 and 2.0, got {}", req.speed)));
        }
        if req.voice.is_empty()
            || req.voice.len() > 64
            || !req.voice.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'))
            || req.voice.starts_with('-')
        {
            return Err(TtsError::Invalid(format!("espeak-ng voice `{}` is not a voice name", req.voice)));
        }
        let wpm = (ESPEAK_BASE_WPM * req.speed).round().clamp(80.0, 450.0) as u32;
        let mut a = vec!["--stdout".to_string(), "-v".into(), req.voice.clone(), "-s".into(), wpm.to_string()];
        if let Some(p) = req.pitch {
            a.push("-p".into());
            a.push(p.min(99).to_string());
        }
        Ok(a)
    }

    /// Synthesises on the calling thread.
    pub fn synthesize_blocking(&self, req: &SpeechRequest) -> Result<Audio, TtsError> {
        let args = Self::args(req)?;
        let mut child = Command::new(&self.program)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| TtsError::EngineMissing(format!("{}: {e}", self.program.display())))?;
        // The text goes through stdin so that nothing in it can be read as an option.
        let text = req.text.clone();
        let mut stdin = child.stdin.take().ok_or_else(|| TtsError::Engine("no stdin".into()))?;
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(text.as_bytes());
        });
        let out = child.wait_with_output().map_err(|e| TtsError::Engine(e.to_string()))?;
        let _ = writer.join();
        Self::finish(out)
    }

    fn finish(out: std::process::Output) -> Result<Audio, TtsError> {
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(TtsError::Engine(format!("exited with {}: {}", out.status, err.trim())));
        }
        let audio = Audio::from_wav(&out.stdout)?;
        if audio.samples.is_empty() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(TtsError::Engine(format!("no audio produced {}", err.trim())));
        }
        Ok(audio)
    }
}

impl TtsProvider for EspeakNg {
    fn id(&self) -> &'static str {
        "espeak-ng"
    }

    fn synthesize<'a>(&'a self, req: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, TtsError>> {
        Box::pin(async move {
            let args = Self::args(req)?;
            let mut child = tokio::process::Command::new(&self.program)
                .args(&args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| TtsError::EngineMissing(format!("{}: {e}", self.program.display())))?;
            let mut stdin = child.stdin.take().ok_or_else(|| TtsError::Engine("no stdin".into()))?;
            let text = req.text.clone().into_bytes();
            let write = async move {
                use tokio::io::AsyncWriteExt;
                let _ = stdin.write_all(&text).await;
                drop(stdin);
            };
            let (_, out) = tokio::join!(write, child.wait_with_output());
            Self::finish(out.map_err(|e| TtsError::Engine(e.to_string()))?)
        })
    }
}

/// ElevenLabs settings for one team (the API key comes from the cloud's encrypted secret store).
#[derive(Clone)]
pub struct ElevenLabsConfig {
    /// `https://api.elevenlabs.io` in production; a local stand-in in tests.
    pub base_url: String,
    /// Sent as `xi-api-key`; never logged.
    pub api_key: String,
    /// e.g. `eleven_flash_v2_5` (fast) or `eleven_multilingual_v2`.
    pub model_id: String,
    /// Voice stability 0–1.
    pub stability: f64,
    /// Similarity boost 0–1.
    pub similarity_boost: f64,
    /// Whole-request timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for ElevenLabsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElevenLabsConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("model_id", &self.model_id)
            .finish()
    }
}

impl ElevenLabsConfig {
    /// Production settings with `api_key`.
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            base_url: "https://api.elevenlabs.io".into(),
            api_key: api_key.into(),
            model_id: "eleven_flash_v2_5".into(),
            stability: 0.5,
            similarity_boost: 0.75,
            timeout: Duration::from_secs(20),
        }
    }
}

/// The ElevenLabs text-to-speech client: `POST /v1/text-to-speech/{voice_id}` with
/// `output_format=pcm_22050` (raw 16-bit PCM, so no MP3 decoder is needed), header `xi-api-key`,
/// JSON `{text, model_id, voice_settings: {stability, similarity_boost, speed}}`.
#[derive(Debug, Clone)]
pub struct ElevenLabs {
    config: ElevenLabsConfig,
    http: reqwest::Client,
}

impl ElevenLabs {
    /// A client with `config`.
    pub fn new(config: ElevenLabsConfig) -> Result<Self, TtsError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| TtsError::Http(format!("cannot build HTTP client: {e}")))?;
        Ok(Self { config, http })
    }

    /// The request body for `req` (exposed for tests and docs).
    pub fn body(&self, req: &SpeechRequest) -> serde_json::Value {
        serde_json::json!({
            "text": req.text,
            "model_id": self.config.model_id,
            "voice_settings": {
                "stability": self.config.stability,
                "similarity_boost": self.config.similarity_boost,
                // ElevenLabs accepts 0.7–1.2; the spec's 0.5–2.0 range is clamped into it.
                "speed": req.speed.clamp(0.7, 1.2),
            }
        })
    }
}

fn error_detail(body: &[u8]) -> String {
    // ElevenLabs errors: {"detail": {"status": "...", "message": "..."}} or {"detail": "..."}
    // or FastAPI's {"detail": [{"loc": [...], "msg": "..."}]}.
    let text = String::from_utf8_lossy(body);
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return text.chars().take(300).collect();
    };
    let d = &v["detail"];
    if let Some(m) = d["message"].as_str() {
        return m.chars().take(300).collect();
    }
    if let Some(s) = d.as_str() {
        return s.chars().take(300).collect();
    }
    if let Some(arr) = d.as_array() {
        return arr.iter().filter_map(|e| e["msg"].as_str()).collect::<Vec<_>>().join("; ").chars().take(300).collect();
    }
    text.chars().take(300).collect()
}

impl TtsProvider for ElevenLabs {
    fn id(&self) -> &'static str {
        "elevenlabs"
    }

    fn synthesize<'a>(&'a self, req: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, TtsError>> {
        Box::pin(async move {
            if req.voice.is_empty() || !req.voice.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')) {
                return Err(TtsError::Invalid(format!("ElevenLabs voice id `{}` is not an id", req.voice)));
            }
            let url = format!(
                "{}/v1/text-to-speech/{}?output_format=pcm_{}",
                self.config.base_url.trim_end_matches('/'),
                req.voice,
                PLAYBACK_RATE
            );
            let resp = self
                .http
                .post(&url)
                .header("xi-api-key", &self.config.api_key)
                .header("accept", "audio/pcm")
                .header("content-type", "application/json")
                .body(self.body(req).to_string())
                .send()
                .await
                .map_err(|e| TtsError::Http(e.without_url().to_string()))?;
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.map_err(|e| TtsError::Http(e.without_url().to_string()))?;
            match status {
                200 => {}
                401 | 403 => return Err(TtsError::Unauthorized { status, detail: error_detail(&bytes) }),
                404 => return Err(TtsError::UnknownVoice(req.voice.clone())),
                _ => return Err(TtsError::Status { status, detail: error_detail(&bytes) }),
            }
            if bytes.len() < 2 {
                return Err(TtsError::EmptyAudio);
            }
            Ok(Audio::from_pcm16le(PLAYBACK_RATE, &bytes))
        })
    }
}
