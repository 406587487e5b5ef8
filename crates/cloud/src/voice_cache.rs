//! The Redis layer of the voice clip cache (`--redis-url`).
//!
//! `POST /api/voice/synthesize` looks a clip up here first, then in SQL (`voice_clips`, the
//! durable record and the only cache without Redis), and only then synthesises. An entry is
//! `pitbox:voice:<team>:<cache key>` → `{"objectKey": "voice/<team>/<key>.wav", "durationMs": …}`
//! with a TTL of [`TTL`]; it is written after a clip is stored (object and SQL row) or found in
//! SQL, so it never names a clip the durable layers do not have. The team is part of the key and
//! the object key read back must be the caller's team's own, so one team never hears another's.
//!
//! Redis is an optimisation, never a dependency: every command goes through a [`RedisLink`]
//! (bounded, backing off after a failure), and a failure is reported to the caller, who logs it
//! and goes on to SQL.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::redis_link::{RedisLink, RedisLinkError};

/// Key prefix of the entries; `<team>:<cache key>` follows.
pub const REDIS_PREFIX: &str = "pitbox:voice:";
/// How long an entry lives in Redis.
pub const TTL: Duration = Duration::from_secs(7 * 24 * 3600);

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
    #[error(transparent)]
    Link(#[from] RedisLinkError),
    #[error("voice cache entry {key} is unusable: {reason}")]
    Corrupt { key: String, reason: String },
}

/// The Redis layer of the voice clip cache; cheap to clone (one connection per node).
#[derive(Clone, Debug)]
pub struct RedisClipCache {
    link: RedisLink,
}

impl RedisClipCache {
    /// The cache on a node's Redis link.
    pub fn new(link: RedisLink) -> RedisClipCache {
        RedisClipCache { link }
    }

    /// The team's entry for `cache_key`: `Ok(None)` when Redis has none.
    pub async fn get(&self, team: &str, cache_key: &str) -> Result<Option<CachedClip>, ClipCacheError> {
        let key = redis_key(team, cache_key);
        let mut cmd = redis::cmd("GET");
        cmd.arg(&key);
        let raw: Option<String> = self.link.run(cmd).await?;
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
        let () = self.link.run(cmd).await?;
        Ok(())
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
}
