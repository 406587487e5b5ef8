//! The synthesis service behind the cloud's `POST /api/voice/synthesize`: request validation
//! with precise errors, the catalogue of known voices, the cache key, and synthesis to WAV bytes
//! with their duration. The cloud stores the bytes in its object store under the cache key and
//! answers `{audioUrl, duration}`.

use std::sync::Arc;

use pitbox_model::rest::{MAX_SPEECH_CHARS, VoiceSynthesizeRequest};
use pitbox_model::validate::{FieldError, ValidationErrors, validate};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::tts::{EspeakNg, SpeechRequest, TtsError, TtsProvider};

/// One voice a team may ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Voice {
    /// The `voiceId` of requests (letters, digits, `-`, `_`, `.`, `:`, `@`).
    pub id: String,
    /// Name for people.
    pub name: String,
    /// The provider's own voice name (espeak-ng voice+variant, or an ElevenLabs voice id).
    pub engine_voice: String,
}

impl Voice {
    /// A voice.
    pub fn new(id: &str, name: &str, engine_voice: &str) -> Self {
        Self { id: id.into(), name: name.into(), engine_voice: engine_voice.into() }
    }
}

/// The espeak-ng voices PitBox offers (all ship with Debian's `espeak-ng-data`).
pub fn espeak_voices() -> Vec<Voice> {
    vec![
        Voice::new("engineer", "Race engineer (US English, male)", "en-us"),
        Voice::new("engineer-uk", "Race engineer (British English, male)", "en-gb"),
        Voice::new("engineer-f", "Race engineer (US English, female)", "en-us+f3"),
        Voice::new("engineer-uk-f", "Race engineer (British English, female)", "en-gb+f4"),
        Voice::new("engineer-scot", "Race engineer (Scottish English)", "en-gb-scotland"),
        Voice::new("engineer-deep", "Race engineer (US English, deep)", "en-us+m7"),
    ]
}

/// The default voice id.
pub const DEFAULT_VOICE: &str = "engineer";

/// Why a synthesis request failed. `Invalid` and `UnknownVoice` are the client's fault (HTTP
/// 400); the rest are the server's or the provider's (HTTP 502/500).
#[derive(Debug, thiserror::Error)]
pub enum SynthesizeError {
    /// Broken field rules, each with its JSON field name (`text`, `voiceId`, `speed`).
    #[error("invalid request: {0}")]
    Invalid(ValidationErrors),
    /// The provider failed.
    #[error("speech synthesis failed: {0}")]
    Provider(#[from] TtsError),
}

impl SynthesizeError {
    /// Whether the client is at fault (answer 400 with [`SynthesizeError::field_errors`]).
    pub fn is_client_error(&self) -> bool {
        matches!(self, SynthesizeError::Invalid(_))
    }

    /// The broken rules, for a 400 body.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            SynthesizeError::Invalid(e) => &e.0,
            SynthesizeError::Provider(_) => &[],
        }
    }
}

/// The result of one synthesis.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthesized {
    /// A 16-bit mono PCM WAV file.
    pub wav: Vec<u8>,
    /// Its length, seconds (the response's `duration`).
    pub duration: f64,
    /// `audio/wav`.
    pub content_type: &'static str,
    /// The cache key ([`VoiceService::cache_key`]): identical requests share it.
    pub cache_key: String,
}

/// Text-to-speech for one team: its provider and the voices it may use.
#[derive(Clone)]
pub struct VoiceService {
    provider: Arc<dyn TtsProvider>,
    voices: Vec<Voice>,
}

impl std::fmt::Debug for VoiceService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceService").field("provider", &self.provider.id()).field("voices", &self.voices).finish()
    }
}

impl Default for VoiceService {
    fn default() -> Self {
        Self::offline()
    }
}

impl VoiceService {
    /// The offline default: espeak-ng with [`espeak_voices`].
    pub fn offline() -> Self {
        Self { provider: Arc::new(EspeakNg::new()), voices: espeak_voices() }
    }

    /// A service with `provider` and the `voices` a team configured (for ElevenLabs: ids of the
    /// team's ElevenLabs voices, each `Voice::new(id, name, elevenlabs_voice_id)`).
    pub fn new(provider: Arc<dyn TtsProvider>, voices: Vec<Voice>) -> Self {
        Self { provider, voices }
    }

    /// The provider's name (`espeak-ng`, `elevenlabs`).
    pub fn provider_id(&self) -> &'static str {
        self.provider.id()
    }

    /// The known voices.
    pub fn voices(&self) -> &[Voice] {
        &self.voices
    }

    /// Checks a request: the model's rules (text 1–1,000 characters and not blank, no control
    /// characters, `voiceId` an id, speed 0.5–2.0) and that the voice is one of this service's.
    /// Every broken rule is reported, each with its field.
    pub fn validate(&self, req: &VoiceSynthesizeRequest) -> Result<&Voice, SynthesizeError> {
        let mut errors = match validate(req, "") {
            Ok(()) => Vec::new(),
            Err(e) => e.0,
        };
        let voice = self.voices.iter().find(|v| v.id == req.voice_id);
        if voice.is_none() && !errors.iter().any(|e| e.field == "voiceId") {
            let known: Vec<&str> = self.voices.iter().map(|v| v.id.as_str()).collect();
            errors.push(FieldError {
                field: "voiceId".into(),
                rule: format!("unknown voice `{}`, expected one of: {}", req.voice_id, known.join(", ")),
            });
        }
        match (errors.is_empty(), voice) {
            (true, Some(v)) => Ok(v),
            _ => Err(SynthesizeError::Invalid(ValidationErrors(errors))),
        }
    }

    /// The cache key of a request: SHA-256 (hex) over the provider, the voice, the speed rounded
    /// to 0.01 and the text with runs of white space folded, so requests that sound the same share
    /// one stored file. `priority` does not change the audio and is left out.
    pub fn cache_key(&self, req: &VoiceSynthesizeRequest) -> String {
        cache_key(self.provider.id(), &req.voice_id, req.speed, &req.text)
    }

    /// Validates and synthesises a request into WAV bytes.
    pub async fn synthesize(&self, req: &VoiceSynthesizeRequest) -> Result<Synthesized, SynthesizeError> {
        let voice = self.validate(req)?;
        let speech = SpeechRequest {
            text: normalise_text(&req.text),
            voice: voice.engine_voice.clone(),
            speed: req.speed,
            pitch: None,
        };
        let audio = self.provider.synthesize(&speech).await?;
        Ok(Synthesized {
            duration: audio.duration(),
            wav: audio.to_wav(),
            content_type: "audio/wav",
            cache_key: self.cache_key(req),
        })
    }
}

/// Folds runs of white space to one space and trims the ends.
pub fn normalise_text(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The cache key of (provider, voice, speed, text); see [`VoiceService::cache_key`].
pub fn cache_key(provider: &str, voice_id: &str, speed: f64, text: &str) -> String {
    let speed = if speed.is_finite() { (speed * 100.0).round() as i64 } else { 0 };
    let mut h = Sha256::new();
    for part in [provider, voice_id, &speed.to_string(), &normalise_text(text)] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Longest text accepted (the model's limit, re-exported for callers).
pub const MAX_TEXT_CHARS: usize = MAX_SPEECH_CHARS;
