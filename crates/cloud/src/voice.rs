//! Speech on the cloud: `POST /api/voice/synthesize` (the spec's Voice Synthesis API, built on
//! `pitbox-voice`) and `GET /api/voice/audio/{key}.wav`, which serves the stored clip to the
//! caller's team only.
//!
//! Offline the team's voice is espeak-ng; with an `elevenlabs` secret stored, ElevenLabs. A clip
//! is stored once per team in the object store under its cache key (provider, voice, speed,
//! text) and indexed in SQL (`voice_clips`), so identical requests — on any node — are answered
//! from the store without synthesising again. With `--redis-url` a Redis layer
//! ([`crate::voice_cache`]) sits in front of SQL: looked up first, written after a SQL hit or a
//! synthesis, and skipped (with a warning) whenever Redis fails or is slow.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::extract::Path;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use pitbox_model::UserRole;
use pitbox_model::rest::{VoiceSynthesizeRequest, VoiceSynthesizeResponse};
use pitbox_voice::service::{SynthesizeError, Voice, VoiceService};
use pitbox_voice::tts::{ElevenLabs, ElevenLabsConfig, TtsError};
use sqlx::Row;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, JsonBody};
use crate::server::AppState;
use crate::store::{StoreError, now_ms};
use crate::voice_cache::{CachedClip, ClipCacheError, object_key};

/// Secret holding an ElevenLabs API key (`PUT /api/admin/secrets/elevenlabs`).
pub const ELEVENLABS_SECRET: &str = "elevenlabs";
/// Optional secret: the ElevenLabs base URL (default `https://api.elevenlabs.io`).
pub const ELEVENLABS_BASE_URL_SECRET: &str = "elevenlabs_base_url";
/// Path prefix of the `audioUrl`s.
pub const AUDIO_PATH: &str = "/api/voice/audio/";

/// `POST /api/voice/synthesize`: admins, engineers and drivers.
pub async fn synthesize(
    State(st): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<VoiceSynthesizeRequest>,
) -> ApiResult<Json<VoiceSynthesizeResponse>> {
    auth.require(&[UserRole::Admin, UserRole::Engineer, UserRole::Driver], "synthesising speech")?;
    let team = auth.team_id().to_string();
    let service = service_for(&st, &team, &req.voice_id).await?;
    service.validate(&req).map_err(synth_error)?;
    let key = service.cache_key(&req);
    let audio_url = format!("{AUDIO_PATH}{key}.wav");
    if let Some(ms) = cached(&st, &team, &key).await? {
        return Ok(Json(VoiceSynthesizeResponse { audio_url, duration: ms as f64 / 1000.0 }));
    }
    let out = service.synthesize(&req).await.map_err(synth_error)?;
    let object_key = object_key(&team, &key);
    let bytes = out.wav.len() as i64;
    st.objects.put(&object_key, out.wav).await?;
    let duration_ms = (out.duration * 1000.0).round() as i64;
    sqlx::query(
        "INSERT INTO voice_clips (team_id, cache_key, object_key, duration_ms, bytes, provider, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (team_id, cache_key) DO NOTHING",
    )
    .bind(&team)
    .bind(&key)
    .bind(&object_key)
    .bind(duration_ms)
    .bind(bytes)
    .bind(service.provider_id())
    .bind(now_ms())
    .execute(st.store.pool())
    .await
    .map_err(StoreError::from)?;
    redis_put(&st, &team, &key, CachedClip { object_key, duration_ms }).await;
    Ok(Json(VoiceSynthesizeResponse { audio_url, duration: duration_ms as f64 / 1000.0 }))
}

/// The team's synthesis service: ElevenLabs when the team has a key (its own or the
/// deployment's), else the node's offline one.
async fn service_for(st: &AppState, team: &str, voice_id: &str) -> ApiResult<VoiceService> {
    let Some(master) = &st.master_key else { return Ok(st.voice.clone()) };
    let Some(api_key) = crate::secrets::get(&st.store, master, team, ELEVENLABS_SECRET).await? else {
        return Ok(st.voice.clone());
    };
    let mut cfg = ElevenLabsConfig::new(api_key);
    if let Some(base) = crate::secrets::get(&st.store, master, team, ELEVENLABS_BASE_URL_SECRET).await? {
        cfg.base_url = base;
    }
    let provider = ElevenLabs::new(cfg).map_err(ApiError::internal)?;
    // ElevenLabs voices are the account's own: the requested id is passed on, and an unknown one
    // comes back from ElevenLabs as a 400 on `voiceId`.
    let voice = Voice::new(voice_id, voice_id, voice_id);
    Ok(VoiceService::new(Arc::new(provider), vec![voice]))
}

fn synth_error(e: SynthesizeError) -> ApiError {
    match e {
        SynthesizeError::Invalid(errors) => ApiError::from_validation(&errors),
        SynthesizeError::Provider(TtsError::EngineMissing(reason)) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "tts_unavailable",
            format!("speech synthesis is not available on this node: {}", TtsError::EngineMissing(reason)),
        ),
        SynthesizeError::Provider(TtsError::UnknownVoice(v)) => {
            ApiError::validation("voiceId", format!("unknown voice `{v}` (ElevenLabs has no such voice)"))
        }
        SynthesizeError::Provider(TtsError::Invalid(m)) => ApiError::validation("text", m),
        SynthesizeError::Provider(other) => {
            ApiError::new(StatusCode::BAD_GATEWAY, "tts_failed", format!("speech synthesis failed: {other}"))
        }
    }
}

/// The stored clip's duration in ms, from Redis (when configured and answering), else from SQL
/// (whose hit is then written to Redis); `None` when neither has it.
async fn cached(st: &AppState, team: &str, key: &str) -> ApiResult<Option<i64>> {
    let m = &st.metrics;
    if let Some(clip) = redis_get(st, team, key).await {
        count(&m.voice_cache_hits_redis);
        return Ok(Some(clip.duration_ms));
    }
    let row = sqlx::query("SELECT object_key, duration_ms FROM voice_clips WHERE team_id = $1 AND cache_key = $2")
        .bind(team)
        .bind(key)
        .fetch_optional(st.store.pool())
        .await
        .map_err(StoreError::from)?;
    let Some(row) = row else {
        count(&m.voice_cache_misses_sql);
        return Ok(None);
    };
    count(&m.voice_cache_hits_sql);
    let clip = CachedClip {
        object_key: row.try_get("object_key").map_err(StoreError::from)?,
        duration_ms: row.try_get("duration_ms").map_err(StoreError::from)?,
    };
    let duration_ms = clip.duration_ms;
    redis_put(st, team, key, clip).await;
    Ok(Some(duration_ms))
}

fn count(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The team's clip from Redis; `None` without Redis, on a miss, and when Redis fails (counted
/// and logged: the caller goes on to SQL).
async fn redis_get(st: &AppState, team: &str, key: &str) -> Option<CachedClip> {
    let cache = st.voice_cache.as_ref()?;
    match cache.get(team, key).await {
        Ok(Some(clip)) => Some(clip),
        Ok(None) => {
            count(&st.metrics.voice_cache_misses_redis);
            None
        }
        Err(e) => {
            redis_unavailable(st, &e, "lookup");
            None
        }
    }
}

/// Writes the team's clip to Redis when configured; a failure is counted and logged, never
/// returned.
async fn redis_put(st: &AppState, team: &str, key: &str, clip: CachedClip) {
    let Some(cache) = &st.voice_cache else { return };
    if let Err(e) = cache.put(team, key, &clip).await {
        redis_unavailable(st, &e, "write");
    }
}

fn redis_unavailable(st: &AppState, e: &ClipCacheError, what: &str) {
    count(&st.metrics.voice_cache_redis_unavailable);
    if matches!(e, ClipCacheError::Link(crate::redis_link::RedisLinkError::BackingOff { .. })) {
        tracing::debug!(error = %e, "voice cache {what} without redis");
    } else {
        tracing::warn!(error = %e, "voice cache {what} in redis failed; using SQL");
    }
}

/// `GET /api/voice/audio/{key}.wav`: the clip, to users of the team that made it (admins: any).
pub async fn audio(State(st): State<AppState>, auth: Auth, Path(file): Path<String>) -> ApiResult<Response> {
    let key = file
        .strip_suffix(".wav")
        .filter(|k| k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .ok_or_else(|| ApiError::not_found(format!("no audio `{file}`: expected <64 hex digits>.wav")))?;
    // The caller's team's entry in Redis first (never another team's: the team is in the key and
    // in the object key checked on read), then SQL.
    if let Some(cache) = &st.voice_cache {
        match cache.get(auth.team_id(), key).await {
            Ok(Some(clip)) => return wav_response(st.objects.get(&clip.object_key).await?),
            Ok(None) => {}
            Err(e) => redis_unavailable(&st, &e, "lookup"),
        }
    }
    let row = if auth.is_owner() {
        sqlx::query("SELECT object_key FROM voice_clips WHERE cache_key = $1 LIMIT 1").bind(key)
    } else {
        sqlx::query("SELECT object_key FROM voice_clips WHERE team_id = $1 AND cache_key = $2")
            .bind(auth.team_id())
            .bind(key)
    }
    .fetch_optional(st.store.pool())
    .await
    .map_err(StoreError::from)?;
    let Some(row) = row else {
        return Err(ApiError::not_found(format!("no audio `{file}` for your team")));
    };
    let object_key: String = row.try_get("object_key").map_err(StoreError::from)?;
    wav_response(st.objects.get(&object_key).await?)
}

fn wav_response(data: bytes::Bytes) -> ApiResult<Response> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "audio/wav")
        .header(header::CACHE_CONTROL, "private, max-age=86400")
        .header(header::CONTENT_LENGTH, data.len())
        .body(Body::from(data))
        .map_err(ApiError::internal)
}
