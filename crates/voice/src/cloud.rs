//! The cloud's voice for the driver's callouts: [`CloudVoice`] asks the team's cloud
//! (`POST /api/voice/synthesize`, then `GET` the clip's `audioUrl`) so a driver hears the team's
//! voice (ElevenLabs when the team stored a key, else the node's engine), and [`Fallback`] speaks
//! with the local engine whenever the cloud cannot answer (offline, refused, slow), noting why.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pitbox_model::Priority;
use pitbox_model::rest::{VoiceSynthesizeRequest, VoiceSynthesizeResponse};

use crate::audio::Audio;
use crate::tts::{BoxFuture, SpeechRequest, TtsError, TtsProvider};

/// Path of the clips the cloud serves; `audioUrl`s elsewhere are refused (the token would leave).
const AUDIO_PATH: &str = "/api/voice/audio/";

/// The team's cloud as a speech engine.
#[derive(Debug, Clone)]
pub struct CloudVoice {
    endpoint: String,
    token: String,
    /// The sign-in's renewed tokens: the newest is used, so the voice outlives the token of
    /// the start (a race is longer than an access token).
    renewed: Option<tokio::sync::watch::Receiver<Option<String>>>,
    http: reqwest::Client,
}

impl CloudVoice {
    /// The cloud at `endpoint` (`https://pitbox.example.com`), with the driver's token (a
    /// driver's, engineer's or admin's login token). `timeout` bounds each request: callouts are
    /// time-critical, so the local engine speaks instead of waiting on a slow link.
    pub fn new(endpoint: &str, token: &str, timeout: Duration) -> Result<Self, TtsError> {
        let endpoint = endpoint.trim().trim_end_matches('/').to_string();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(TtsError::Invalid(format!("the cloud address `{endpoint}` is not http(s)://HOST")));
        }
        if token.trim().is_empty() {
            return Err(TtsError::Invalid("the cloud voice needs the driver's token (pitbox driver init)".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| TtsError::Cloud(format!("cannot build HTTP client: {e}")))?;
        Ok(Self { endpoint, token: token.trim().to_string(), renewed: None, http })
    }

    /// Uses the newest of `tokens` (a sign-in's renewals) from now on, the start token while
    /// it has none.
    pub fn follow(mut self, tokens: tokio::sync::watch::Receiver<Option<String>>) -> Self {
        self.renewed = Some(tokens);
        self
    }

    /// The token to send now.
    fn token(&self) -> String {
        self.renewed
            .as_ref()
            .and_then(|r| r.borrow().clone())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| self.token.clone())
    }

    /// The cloud's address.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn fetch(&self, req: &SpeechRequest) -> Result<Audio, TtsError> {
        let body = VoiceSynthesizeRequest {
            text: req.text.clone(),
            voice_id: req.voice.clone(),
            speed: req.speed,
            priority: Priority::Normal,
        };
        let url = format!("{}/api/voice/synthesize", self.endpoint);
        let token = self.token();
        let resp = self
            .http
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(serde_json::to_string(&body).map_err(|e| TtsError::Cloud(e.to_string()))?)
            .send()
            .await
            .map_err(|e| TtsError::Cloud(format!("{} unreachable: {}", self.endpoint, e.without_url())))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| TtsError::Cloud(e.without_url().to_string()))?;
        if status != 200 {
            return Err(TtsError::Cloud(format!(
                "POST /api/voice/synthesize answered HTTP {status}: {}",
                String::from_utf8_lossy(&bytes).chars().take(300).collect::<String>()
            )));
        }
        let clip: VoiceSynthesizeResponse = serde_json::from_slice(&bytes)
            .map_err(|e| TtsError::Cloud(format!("POST /api/voice/synthesize: unexpected answer: {e}")))?;
        if !clip.audio_url.starts_with(AUDIO_PATH) || clip.audio_url.contains("..") {
            return Err(TtsError::Cloud(format!("the cloud's audioUrl `{}` is not one of its clips", clip.audio_url)));
        }
        let resp = self
            .http
            .get(format!("{}{}", self.endpoint, clip.audio_url))
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| TtsError::Cloud(format!("{} unreachable: {}", self.endpoint, e.without_url())))?;
        let status = resp.status().as_u16();
        let wav = resp.bytes().await.map_err(|e| TtsError::Cloud(e.without_url().to_string()))?;
        if status != 200 {
            return Err(TtsError::Cloud(format!("GET {} answered HTTP {status}", clip.audio_url)));
        }
        let audio = Audio::from_wav(&wav)?;
        if audio.samples.is_empty() {
            return Err(TtsError::Cloud(format!("the clip {} is empty", clip.audio_url)));
        }
        Ok(audio)
    }
}

impl TtsProvider for CloudVoice {
    fn id(&self) -> &'static str {
        "cloud"
    }

    fn synthesize<'a>(&'a self, req: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, TtsError>> {
        Box::pin(self.fetch(req))
    }
}

/// A time the first engine failed and the second spoke (or tried to).
#[derive(Debug, Clone, PartialEq)]
pub struct FallbackNote {
    /// What was said.
    pub text: String,
    /// Why the first engine did not.
    pub why: String,
    /// The engine that spoke instead (`None`: none could).
    pub spoken_by: Option<&'static str>,
}

/// The first engine, and the second whenever the first fails.
pub struct Fallback {
    primary: Arc<dyn TtsProvider>,
    secondary: Option<(Arc<dyn TtsProvider>, String)>,
    notes: Mutex<Vec<FallbackNote>>,
    /// Why the first engine failed last time; `None` once it speaks again.
    failing: Mutex<Option<String>>,
}

impl std::fmt::Debug for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fallback")
            .field("primary", &self.primary.id())
            .field("secondary", &self.secondary.as_ref().map(|(p, v)| (p.id(), v)))
            .finish()
    }
}

/// Notes kept until taken.
const MAX_NOTES: usize = 100;

impl Fallback {
    /// `primary`, else `secondary` speaking in its own `voice` (`None`: no local engine).
    pub fn new(primary: Arc<dyn TtsProvider>, secondary: Option<(Arc<dyn TtsProvider>, String)>) -> Self {
        Self { primary, secondary, notes: Mutex::new(Vec::new()), failing: Mutex::new(None) }
    }

    /// The fallbacks since the last call, oldest first.
    pub fn take_notes(&self) -> Vec<FallbackNote> {
        self.notes.lock().map(|mut n| std::mem::take(&mut *n)).unwrap_or_default()
    }

    /// Why the first engine failed at its last try, `None` when it spoke (or was not tried yet).
    pub fn failing(&self) -> Option<String> {
        self.failing.lock().ok().and_then(|f| f.clone())
    }

    /// The engine that speaks when the first cannot.
    pub fn secondary_id(&self) -> Option<&'static str> {
        self.secondary.as_ref().map(|(p, _)| p.id())
    }

    fn note(&self, n: FallbackNote) {
        if let Ok(mut f) = self.failing.lock() {
            *f = Some(n.why.clone());
        }
        if let Ok(mut notes) = self.notes.lock() {
            if notes.len() >= MAX_NOTES {
                notes.remove(0);
            }
            notes.push(n);
        }
    }
}

impl TtsProvider for Fallback {
    fn id(&self) -> &'static str {
        self.primary.id()
    }

    fn synthesize<'a>(&'a self, req: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, TtsError>> {
        Box::pin(async move {
            let why = match self.primary.synthesize(req).await {
                Ok(a) => {
                    if let Ok(mut f) = self.failing.lock() {
                        *f = None;
                    }
                    return Ok(a);
                }
                Err(e) => e.to_string(),
            };
            let Some((local, voice)) = &self.secondary else {
                self.note(FallbackNote { text: req.text.clone(), why: why.clone(), spoken_by: None });
                return Err(TtsError::Cloud(format!("{why}; no local engine to speak instead")));
            };
            let local_req = SpeechRequest { voice: voice.clone(), ..req.clone() };
            match local.synthesize(&local_req).await {
                Ok(a) => {
                    self.note(FallbackNote { text: req.text.clone(), why, spoken_by: Some(local.id()) });
                    Ok(a)
                }
                Err(e) => {
                    self.note(FallbackNote { text: req.text.clone(), why: why.clone(), spoken_by: None });
                    Err(TtsError::Cloud(format!("{why}; {} failed too: {e}", local.id())))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Result<f64, &'static str>);

    impl TtsProvider for Fixed {
        fn id(&self) -> &'static str {
            "fixed"
        }
        fn synthesize<'a>(&'a self, req: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, TtsError>> {
            Box::pin(async move {
                assert_eq!(req.voice, "local-voice", "the local engine gets its own voice");
                self.0.map(|s| Audio::silence(22_050, s)).map_err(|e| TtsError::Engine(e.into()))
            })
        }
    }

    #[tokio::test]
    async fn the_local_engine_speaks_when_the_cloud_cannot_and_says_why() {
        let cloud = CloudVoice::new("http://127.0.0.1:9", "t", Duration::from_secs(2)).unwrap();
        let f = Fallback::new(Arc::new(cloud), Some((Arc::new(Fixed(Ok(0.5))), "local-voice".into())));
        let a = f.synthesize(&SpeechRequest::new("box this lap", "engineer")).await.unwrap();
        assert!((a.duration() - 0.5).abs() < 1e-3);
        let notes = f.take_notes();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].spoken_by, Some("fixed"));
        assert!(notes[0].why.contains("unreachable"), "{}", notes[0].why);
        assert!(f.take_notes().is_empty());
        assert!(f.failing().is_some_and(|w| w.contains("unreachable")));
        assert_eq!(f.secondary_id(), Some("fixed"));

        let f = Fallback::new(
            Arc::new(CloudVoice::new("http://127.0.0.1:9", "t", Duration::from_secs(2)).unwrap()),
            Some((Arc::new(Fixed(Err("no voice"))), "local-voice".into())),
        );
        let e = f.synthesize(&SpeechRequest::new("box", "engineer")).await.unwrap_err().to_string();
        assert!(e.contains("unreachable") && e.contains("no voice"), "{e}");
        assert_eq!(f.take_notes()[0].spoken_by, None);
    }

    /// A stand-in cloud that knows only the renewed token: the voice made with the start
    /// token speaks once the renewal arrives, and was refused before.
    #[tokio::test]
    async fn the_voice_follows_the_sign_ins_renewed_token() {
        use axum::http::{HeaderMap, StatusCode};
        let ok = |h: &HeaderMap| h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer renewed");
        let wav = Audio::silence(22_050, 0.25).to_wav();
        let app = axum::Router::new()
            .route(
                "/api/voice/synthesize",
                axum::routing::post(move |h: HeaderMap| async move {
                    if !ok(&h) {
                        return Err(StatusCode::UNAUTHORIZED);
                    }
                    Ok(axum::Json(serde_json::json!({
                        "audioUrl": "/api/voice/audio/clip.wav", "duration": 0.25
                    })))
                }),
            )
            .route(
                "/api/voice/audio/clip.wav",
                axum::routing::get(move |h: HeaderMap| {
                    let wav = wav.clone();
                    async move { if ok(&h) { Ok(wav) } else { Err(StatusCode::UNAUTHORIZED) } }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let (tx, rx) = tokio::sync::watch::channel(None);
        let voice = CloudVoice::new(&format!("http://{addr}"), "start", Duration::from_secs(5)).unwrap().follow(rx);
        let req = SpeechRequest::new("box this lap", "engineer");
        let e = voice.synthesize(&req).await.unwrap_err().to_string();
        assert!(e.contains("401"), "the start token is refused: {e}");
        tx.send_replace(Some("renewed".into()));
        let a = voice.synthesize(&req).await.expect("spoken with the renewed token");
        assert!((a.duration() - 0.25).abs() < 1e-3);
    }

    #[test]
    fn bad_addresses_and_missing_tokens_are_refused() {
        assert!(CloudVoice::new("ftp://x", "t", Duration::from_secs(1)).is_err());
        assert!(CloudVoice::new("https://x", " ", Duration::from_secs(1)).is_err());
        assert_eq!(CloudVoice::new("https://x/", "t", Duration::from_secs(1)).unwrap().endpoint(), "https://x");
    }
}
