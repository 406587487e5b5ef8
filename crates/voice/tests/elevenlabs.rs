//! The ElevenLabs client and the synthesis service against a local stand-in that speaks
//! ElevenLabs' request/response shape (`POST /v1/text-to-speech/{voice_id}`, `xi-api-key`,
//! JSON `{text, model_id, voice_settings{…, speed}}` → raw PCM for `output_format=pcm_22050`).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use pitbox_model::Priority;
use pitbox_model::rest::VoiceSynthesizeRequest;
use pitbox_voice::service::{Voice, VoiceService};
use pitbox_voice::tts::{ElevenLabs, ElevenLabsConfig, SpeechRequest, TtsError, TtsProvider};

#[derive(Clone, Default)]
struct Seen {
    requests: Arc<Mutex<Vec<(String, String, serde_json::Value)>>>,
}

const KEY: &str = "test-key-123";
const VOICE: &str = "21m00Tcm4TlvDq8ikWAM";

async fn tts(
    State(seen): State<Seen>,
    Path(voice): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if headers.get("xi-api-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return (StatusCode::UNAUTHORIZED, r#"{"detail":{"status":"invalid_api_key","message":"Invalid API key"}}"#)
            .into_response();
    }
    if voice != VOICE {
        return (
            StatusCode::NOT_FOUND,
            r#"{"detail":{"status":"voice_not_found","message":"A voice with the voice_id was not found."}}"#,
        )
            .into_response();
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::UNPROCESSABLE_ENTITY, r#"{"detail":[{"loc":["body"],"msg":"invalid json"}]}"#)
            .into_response();
    };
    let fmt = q.get("output_format").cloned().unwrap_or_default();
    seen.requests.lock().unwrap().push((voice, fmt.clone(), json.clone()));
    if json["text"].as_str().unwrap_or("").is_empty() {
        return (StatusCode::UNPROCESSABLE_ENTITY, r#"{"detail":[{"loc":["body","text"],"msg":"field required"}]}"#)
            .into_response();
    }
    if fmt != "pcm_22050" {
        return (StatusCode::BAD_REQUEST, "only pcm_22050 in this stand-in").into_response();
    }
    // 0.25 s of a 440 Hz tone per word, as raw little-endian 16-bit PCM.
    let words = json["text"].as_str().unwrap_or("").split_whitespace().count();
    let n = 22_050 * words / 4;
    let mut pcm = Vec::with_capacity(n * 2);
    for i in 0..n {
        let v = (8_000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 22_050.0).sin()) as i16;
        pcm.extend_from_slice(&v.to_le_bytes());
    }
    ([("content-type", "audio/pcm")], pcm).into_response()
}

async fn stand_in() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new().route("/v1/text-to-speech/{voice_id}", post(tts)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

fn client(base: &str, key: &str) -> ElevenLabs {
    let mut c = ElevenLabsConfig::new(key);
    c.base_url = base.into();
    ElevenLabs::new(c).unwrap()
}

#[tokio::test]
async fn speaks_elevenlabs_request_shape_and_decodes_pcm() {
    let (base, seen) = stand_in().await;
    let el = client(&base, KEY);
    let mut req = SpeechRequest::new("Box this lap please", VOICE);
    req.speed = 1.1;
    let audio = el.synthesize(&req).await.unwrap();
    assert_eq!(audio.sample_rate, 22_050);
    assert!((audio.duration() - 1.0).abs() < 0.01, "{}", audio.duration());
    let r = seen.requests.lock().unwrap();
    let (voice, fmt, body) = &r[0];
    assert_eq!(voice, VOICE);
    assert_eq!(fmt, "pcm_22050");
    assert_eq!(body["text"], "Box this lap please");
    assert_eq!(body["model_id"], "eleven_flash_v2_5");
    assert_eq!(body["voice_settings"]["speed"], 1.1);
    assert!(body["voice_settings"]["stability"].is_number());
}

#[tokio::test]
async fn provider_errors_are_precise() {
    let (base, _) = stand_in().await;
    let bad_key = client(&base, "wrong");
    let e = bad_key.synthesize(&SpeechRequest::new("hi", VOICE)).await.unwrap_err();
    assert!(matches!(&e, TtsError::Unauthorized { status: 401, detail } if detail == "Invalid API key"), "{e}");
    let el = client(&base, KEY);
    let e = el.synthesize(&SpeechRequest::new("hi", "nobody")).await.unwrap_err();
    assert!(matches!(&e, TtsError::UnknownVoice(v) if v == "nobody"), "{e}");
    let e = el.synthesize(&SpeechRequest::new("", VOICE)).await.unwrap_err();
    assert!(matches!(&e, TtsError::Status { status: 422, detail } if detail == "field required"), "{e}");
    let e = el.synthesize(&SpeechRequest::new("hi", "../../etc")).await.unwrap_err();
    assert!(matches!(e, TtsError::Invalid(_)));
    // Nothing listening.
    let dead = client("http://127.0.0.1:9", KEY);
    assert!(matches!(dead.synthesize(&SpeechRequest::new("hi", VOICE)).await.unwrap_err(), TtsError::Http(_)));
    // The key never shows in Debug output.
    assert!(!format!("{:?}", ElevenLabsConfig::new(KEY)).contains(KEY));
}

fn req(text: &str, voice: &str, speed: f64) -> VoiceSynthesizeRequest {
    VoiceSynthesizeRequest { text: text.into(), voice_id: voice.into(), speed, priority: Priority::Normal }
}

#[tokio::test]
async fn service_with_elevenlabs_makes_wav_and_caches_by_key() {
    let (base, seen) = stand_in().await;
    let svc = VoiceService::new(Arc::new(client(&base, KEY)), vec![Voice::new("rachel", "Rachel", VOICE)]);
    assert_eq!(svc.provider_id(), "elevenlabs");
    let out = svc.synthesize(&req("Gap ahead  one second", "rachel", 1.0)).await.unwrap();
    assert_eq!(out.content_type, "audio/wav");
    assert!((out.duration - 1.0).abs() < 0.01);
    let back = pitbox_voice::Audio::from_wav(&out.wav).unwrap();
    assert_eq!(back.sample_rate, 22_050);
    // White space is folded before sending, and the cache key ignores it and the priority.
    assert_eq!(seen.requests.lock().unwrap()[0].2["text"], "Gap ahead one second");
    let mut same = req("Gap ahead one second ", "rachel", 1.0);
    same.priority = Priority::Urgent;
    assert_eq!(svc.cache_key(&same), out.cache_key);
    assert_ne!(svc.cache_key(&req("Gap ahead one second", "rachel", 1.2)), out.cache_key);
    assert_ne!(svc.cache_key(&req("Gap behind one second", "rachel", 1.0)), out.cache_key);
    assert_eq!(out.cache_key.len(), 64);
    // A different provider never shares a key with the same words.
    assert_ne!(VoiceService::offline().cache_key(&req("Gap ahead one second", "rachel", 1.0)), out.cache_key);
}
