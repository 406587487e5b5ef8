//! One node's connection to Redis for what Redis only speeds up or shares (the voice clip cache,
//! the login limits), never for what the node cannot do without.
//!
//! Every command is bounded by [`TIMEOUT`]; a failure or timeout drops the connection and makes
//! the link refuse at once for [`BACKOFF`], so a dead or stalled Redis costs at most one timeout
//! per back-off period instead of one per request. The connection is opened on first use.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest wait for Redis: connecting, and each command.
pub const TIMEOUT: Duration = Duration::from_millis(200);
/// How long Redis is skipped after it failed or timed out.
pub const BACKOFF: Duration = Duration::from_secs(5);

/// Why Redis did not answer (the caller goes on without it).
#[derive(Debug, thiserror::Error)]
pub enum RedisLinkError {
    #[error("invalid redis url {url}: {source}")]
    Url { url: String, source: redis::RedisError },
    #[error("redis at {url} failed: {source}")]
    Redis { url: String, source: redis::RedisError },
    #[error("redis at {url} did not answer within {} ms", TIMEOUT.as_millis())]
    Timeout { url: String },
    #[error("redis at {url} is skipped for a few seconds after a failure")]
    BackingOff { url: String },
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

/// A bounded, backing-off Redis connection; cheap to clone (one connection per node).
#[derive(Clone)]
pub struct RedisLink {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLink").field("url", &self.inner.url).finish()
    }
}

impl RedisLink {
    /// A link to `url` (`redis://…`); only parses the URL, the connection is opened on first use.
    pub fn new(url: &str) -> Result<RedisLink, RedisLinkError> {
        let shown = crate::bus::redact(url);
        let client = redis::Client::open(url).map_err(|source| RedisLinkError::Url { url: shown.clone(), source })?;
        Ok(RedisLink { inner: Arc::new(Inner { client, url: shown, slot: tokio::sync::Mutex::new(Slot::default()) }) })
    }

    /// The URL with any password hidden.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Runs one command within [`TIMEOUT`]; a failure drops the connection and starts the
    /// back-off.
    pub async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, RedisLinkError> {
        let mut conn = self.connection().await?;
        let url = || self.inner.url.clone();
        let err = match tokio::time::timeout(TIMEOUT, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(source)) => RedisLinkError::Redis { url: url(), source },
            Err(_) => RedisLinkError::Timeout { url: url() },
        };
        let mut slot = self.inner.slot.lock().await;
        slot.conn = None;
        slot.retry_at = Some(Instant::now() + BACKOFF);
        Err(err)
    }

    /// The shared connection, opened (within [`TIMEOUT`]) when there is none and Redis is not
    /// in its back-off.
    async fn connection(&self) -> Result<redis::aio::MultiplexedConnection, RedisLinkError> {
        let mut slot = self.inner.slot.lock().await;
        if let Some(c) = &slot.conn {
            return Ok(c.clone());
        }
        let url = || self.inner.url.clone();
        if slot.retry_at.is_some_and(|at| Instant::now() < at) {
            return Err(RedisLinkError::BackingOff { url: url() });
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
            Ok(Err(source)) => RedisLinkError::Redis { url: url(), source },
            Err(_) => RedisLinkError::Timeout { url: url() },
        };
        slot.retry_at = Some(Instant::now() + BACKOFF);
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_url_is_refused_with_the_password_hidden() {
        let e = RedisLink::new("http://u:secret@host").expect_err("not redis");
        assert!(e.to_string().contains("***@host") && !e.to_string().contains("secret"), "{e}");
    }

    #[tokio::test]
    async fn a_closed_port_fails_fast_then_backs_off() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let link = RedisLink::new(&format!("redis://127.0.0.1:{port}")).expect("url");
        let t = Instant::now();
        let e = link.run::<Option<String>>(redis::cmd("GET").arg("k").clone()).await.expect_err("nothing listens");
        assert!(matches!(e, RedisLinkError::Redis { .. }), "{e:?}");
        let e = link.run::<()>(redis::cmd("SET").arg("k").arg("v").clone()).await;
        assert!(matches!(e, Err(RedisLinkError::BackingOff { .. })), "{e:?}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
}
