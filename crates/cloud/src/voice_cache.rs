//! The Redis layer of the voice clip cache (`--redis-url`).
//!
//! `POST /api/voice/synthesize` looks a clip up here first, then in SQL (`voice_clips`, the
//! durable record and the only cache without Redis), and only then synthesises. An entry is
//! `pitbox:voice:<team>:<cache key>` → `{"objectKey": "voice/<team>/<key>.wav", "durationMs": …}`
//! with a TTL of [`TTL`]; it is written after a clip is stored (object and SQL row) or found in
//! SQL, so it never names a clip the durable layers do not have. The team is part of the key and
//! the object key read back must be the caller's team's own, so one team never hears another's.
//!
//! Redis is an optimisation, never a dependency: every command is bounded by [`TIMEOUT`], and a
//! failure or timeout is reported to the caller (who logs it and goes on to SQL) and makes the
//! cache skip Redis for [`BACKOFF`], so a dead or stalled Redis costs at most one timeout per
//! back-off period instead of one per request. The connection is opened on first use.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Key prefix of the entries; `<team>:<cache key>` follows.
pub const REDIS_PREFIX: &str = "pitbox:voice:";
/// How long an entry lives in Redis.
pub const TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Longest wait for Redis: connecting, and each command.
pub const TIMEOUT: Duration = Duration::from_millis(200);
/// How long Redis is skipped after it failed or timed out.
pub const BACKOFF: Duration = Duration::from_secs(5);

/// A stored clip as the cache knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedClip {
    /// Where the WAV is in the object store (`voice/<team>/<key>.wav`).
    pub object_key: String,
    /// Length of the speech, milliseconds.
    pub duration_ms: i64,
}

/// The object key of a team's clip: the only one an entry of that team may name.
pub fn object_key(team: &str, cache_key: &str) -> String {
    format!("voice/{team}/{cache_key}.wav")
}

/// The Redis key of a team's clip.
pub fn redis_key(team: &str, cache_key: &str) -> String {
    format!("{REDIS_PREFIX}{team}:{cache_key}")
}

/// Why the Redis layer could not answer (the caller falls back to SQL).
#[derive(Debug, thiserror::Error)]
pub enum ClipCacheError {
    #[error("invalid redis url {url}: {source}")]
    Url { url: String, source: redis::RedisError },
    #[error("redis at {url} failed: {source}")]
    Redis { url: String, source: redis::RedisError },
    #[error("redis at {url} did not answer within {} ms", TIMEOUT.as_millis())]
    Timeout { url: String },
    #[error("redis at {url} is skipped for a few seconds after a failure")]
    BackingOff { url: String },
    #[error("voice cache entry {key} is unusable: {reason}")]
    Corrupt { key: String, reason: String },
}

#[derive(Default)]
struct Slot {
    conn: Option<redis::aio::MultiplexedConnection>,
    retry_at: Option<Instant>,
}

struct Inner {
    client: redis::Client,
    /// The URL with any password hidden, for messages.
    url: String,
    slot: tokio::sync::Mutex<Slot>,
}

/// The Redis layer of the voice clip cache; cheap to clone (one connection per node).
#[derive(Clone)]
pub struct RedisClipCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisClipCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisClipCache").field("url", &self.inner.url).finish()
    }
}

impl RedisClipCache {
    /// A cache on `url` (`redis://…`); only parses the URL, the connection is opened on first use.
    pub fn new(url: &str) -> Result<RedisClipCache, ClipCacheError> {
        let shown = crate::bus::redact(url);
        let client = redis::Client::open(url).map_err(|source| ClipCacheError::Url { url: shown.clone(), source })?;
        Ok(RedisClipCache {
            inner: Arc::new(Inner { client, url: shown, slot: tokio::sync::Mutex::new(Slot::default()) }),
        })
    }

    /// The team's entry for `cache_key`: `Ok(None)` when Redis has none.
    pub async fn get(&self, team: &str, cache_key: &str) -> Result<Option<CachedClip>, ClipCacheError> {
        let key = redis_key(team, cache_key);
        let mut cmd = redis::cmd("GET");
        cmd.arg(&key);
        let raw: Option<String> = self.run(cmd).await?;
        let Some(raw) = raw else { return Ok(None) };
        let clip: CachedClip = serde_json::from_str(&raw)
            .map_err(|e| ClipCacheError::Corrupt { key: key.clone(), reason: e.to_string() })?;
        if clip.object_key != object_key(team, cache_key) {
            return Err(ClipCacheError::Corrupt {
                key,
                reason: format!("names object `{}`, not the team's own", clip.object_key),
            });
        }
        Ok(Some(clip))
    }

    /// Stores the team's entry for `cache_key` for [`TTL`].
    pub async fn put(&self, team: &str, cache_key: &str, clip: &CachedClip) -> Result<(), ClipCacheError> {
        let key = redis_key(team, cache_key);
        let value = serde_json::to_string(clip)
            .map_err(|e| ClipCacheError::Corrupt { key: key.clone(), reason: e.to_string() })?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(&key).arg(value).arg("EX").arg(TTL.as_secs());
        let () = self.run(cmd).await?;
        Ok(())
    }

    /// Runs one command within [`TIMEOUT`]; a failure drops the connection and starts the
    /// back-off.
    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, ClipCacheError> {
        let mut conn = self.connection().await?;
        let url = || self.inner.url.clone();
        let err = match tokio::time::timeout(TIMEOUT, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(source)) => ClipCacheError::Redis { url: url(), source },
            Err(_) => ClipCacheError::Timeout { url: url() },
        };
        let mut slot = self.inner.slot.lock().await;
        slot.conn = None;
        slot.retry_at = Some(Instant::now() + BACKOFF);
        Err(err)
    }

    /// The shared connection, opened (within [`TIMEOUT`]) when there is none and Redis is not
    /// in its back-off.
    async fn connection(&self) -> Result<redis::aio::MultiplexedConnection, ClipCacheError> {
        let mut slot = self.inner.slot.lock().await;
        if let Some(c) = &slot.conn {
            return Ok(c.clone());
        }
        let url = || self.inner.url.clone();
        if slot.retry_at.is_some_and(|at| Instant::now() < at) {
            return Err(ClipCacheError::BackingOff { url: url() });
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        let connect = self.inner.client.get_multiplexed_async_connection_with_config(&config);
        let err = match tokio::time::timeout(TIMEOUT, connect).await {
            Ok(Ok(c)) => {
                slot.conn = Some(c.clone());
                slot.retry_at = None;
                return Ok(c);
            }
            Ok(Err(source)) => ClipCacheError::Redis { url: url(), source },
            Err(_) => ClipCacheError::Timeout { url: url() },
        };
        slot.retry_at = Some(Instant::now() + BACKOFF);
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_team() {
        assert_eq!(redis_key("team-a", "ab12"), "pitbox:voice:team-a:ab12");
        assert_eq!(object_key("team-a", "ab12"), "voice/team-a/ab12.wav");
    }

    #[test]
    fn entries_are_camel_case_json() {
        let clip = CachedClip { object_key: "voice/t/k.wav".into(), duration_ms: 1250 };
        let s = serde_json::to_string(&clip).expect("json");
        assert_eq!(s, r#"{"objectKey":"voice/t/k.wav","durationMs":1250}"#);
        assert_eq!(serde_json::from_str::<CachedClip>(&s).expect("back"), clip);
    }

    #[test]
    fn a_bad_url_is_refused_with_the_password_hidden() {
        let e = RedisClipCache::new("http://u:secret@host").expect_err("not redis");
        assert!(e.to_string().contains("***@host") && !e.to_string().contains("secret"), "{e}");
    }

    #[tokio::test]
    async fn a_closed_port_fails_fast_then_backs_off() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let cache = RedisClipCache::new(&format!("redis://127.0.0.1:{port}")).expect("url");
        let t = Instant::now();
        let e = cache.get("t", "k").await.expect_err("nothing listens");
        assert!(matches!(e, ClipCacheError::Redis { .. }), "{e:?}");
        let e = cache.put("t", "k", &CachedClip { object_key: object_key("t", "k"), duration_ms: 1 }).await;
        assert!(matches!(e, Err(ClipCacheError::BackingOff { .. })), "{e:?}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
}
