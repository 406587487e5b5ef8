//! Login rate limiting, per username and per client address.
//!
//! - per user: after `max_failures` wrong passwords within `window`, further attempts for that
//!   username are refused (429) until the oldest failure leaves the window. Every attempt is
//!   counted as a failure *before* the password is verified (atomically with the check) and the
//!   count is cleared when the password was right, so parallel guesses cannot all be evaluated;
//! - per address: at most `per_ip` attempts (right or wrong) within `window`.
//!
//! Without Redis the counts are this node's own. With `--redis-url` they are shared by every
//! node (sliding windows in sorted sets, checked and counted by one script so two nodes cannot
//! both let the last allowed attempt through), so spreading a password guesser's attempts over
//! the nodes behind a load balancer gains it nothing. The node keeps its own counts as well: when
//! Redis fails or is backing off ([`RedisLink`]) the limits still hold, per node, and the
//! fallback is counted (`pitbox_login_limiter_redis_unavailable_total`).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::redis_link::{RedisLink, RedisLinkError};

/// Most keys kept before expired entries are pruned.
const PRUNE_AT: usize = 10_000;

/// Prefix of the shared keys; the hash tag keeps an attempt's two keys on one cluster slot.
pub const REDIS_PREFIX: &str = "pitbox:login:{limits}:";

/// Checks the address's attempts and counts this one, then checks the user's failures and
/// reserves this attempt as one (a right password clears them), in one script with Redis's
/// clock (nodes' clocks may differ), so parallel guesses cannot all pass the check before any
/// is counted. Returns 0 when allowed, otherwise the milliseconds
/// until the oldest counted attempt leaves the window.
/// KEYS: address key, user key.
/// ARGV: window ms, per-address limit, failure limit, a unique member for this attempt, "1" when
/// the address is known (the address key is then counted).
const CHECK_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local function over(key, limit)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(oldest[2]) + window - now)
  end
  return 0
end
if ARGV[5] == '1' then
  local wait = over(KEYS[1], tonumber(ARGV[2]))
  if wait > 0 then return wait end
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
end
local wait = over(KEYS[2], tonumber(ARGV[3]))
if wait > 0 then return wait end
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('PEXPIRE', KEYS[2], window)
return 0
"#;

/// The limiter.
#[derive(Debug)]
pub struct LoginLimiter {
    max_failures: usize,
    per_ip: usize,
    window: Duration,
    users: Mutex<HashMap<String, VecDeque<Instant>>>,
    ips: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
    /// The shared counts, when configured.
    redis: Option<RedisLink>,
    /// Makes this node's members of the shared sets unique.
    node_nonce: String,
    attempts: AtomicU64,
    redis_unavailable: AtomicU64,
}

fn trim(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
        q.pop_front();
    }
}

/// Whole seconds to wait, rounded up so a retry after them is not refused again.
fn seconds_of(wait: Duration) -> u64 {
    wait.as_millis().div_ceil(1000).max(1).min(u128::from(u64::MAX)) as u64
}

fn retry_after(q: &VecDeque<Instant>, now: Instant, window: Duration) -> u64 {
    q.front().map(|t| seconds_of(window.saturating_sub(now.duration_since(*t)))).unwrap_or(1)
}

/// The shared key of an address.
pub fn ip_key(ip: IpAddr) -> String {
    format!("{REDIS_PREFIX}ip:{ip}")
}

/// The shared key of a username's failures.
pub fn user_key(username: &str) -> String {
    format!("{REDIS_PREFIX}user:{username}")
}

impl LoginLimiter {
    /// A limiter with these limits, on this node only.
    pub fn new(max_failures: usize, per_ip: usize, window: Duration) -> Self {
        Self {
            max_failures,
            per_ip,
            window,
            users: Mutex::default(),
            ips: Mutex::default(),
            redis: None,
            node_nonce: crate::store::new_id("n"),
            attempts: AtomicU64::new(0),
            redis_unavailable: AtomicU64::new(0),
        }
    }

    /// The same limits shared through Redis by every node that uses it.
    pub fn shared(mut self, redis: RedisLink) -> Self {
        self.redis = Some(redis);
        self
    }

    /// How often Redis did not answer and this node's own counts decided.
    pub fn redis_unavailable(&self) -> u64 {
        self.redis_unavailable.load(Ordering::Relaxed)
    }

    fn window_ms(&self) -> u64 {
        self.window.as_millis().clamp(1, u128::from(u64::MAX)) as u64
    }

    fn member(&self) -> String {
        format!("{}:{}", self.node_nonce, self.attempts.fetch_add(1, Ordering::Relaxed))
    }

    fn without_redis(&self, e: &RedisLinkError, what: &str) {
        self.redis_unavailable.fetch_add(1, Ordering::Relaxed);
        if matches!(e, RedisLinkError::BackingOff { .. }) {
            tracing::debug!(error = %e, "login limits: {what} on this node only");
        } else {
            tracing::warn!(error = %e, "login limits: {what} on this node only; redis failed");
        }
    }

    /// Counts an attempt from `ip` for `username` and reserves it as a failure of `username`
    /// (cleared by [`LoginLimiter::succeeded`]); `Err(seconds)` when it must be refused.
    pub async fn check(&self, username: &str, ip: Option<IpAddr>) -> Result<(), u64> {
        let local = self.check_local(username, ip);
        let Some(redis) = &self.redis else { return local };
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(CHECK_SCRIPT)
            .arg(2)
            .arg(ip.map(ip_key).unwrap_or_else(|| format!("{REDIS_PREFIX}ip:unknown")))
            .arg(user_key(username))
            .arg(self.window_ms())
            .arg(self.per_ip)
            .arg(self.max_failures)
            .arg(self.member())
            .arg(if ip.is_some() { "1" } else { "0" });
        match redis.run::<u64>(cmd).await {
            Ok(0) => Ok(()),
            Ok(wait_ms) => Err(seconds_of(Duration::from_millis(wait_ms))),
            Err(e) => {
                self.without_redis(&e, "checked");
                local
            }
        }
    }

    fn check_local(&self, username: &str, ip: Option<IpAddr>) -> Result<(), u64> {
        let now = Instant::now();
        if let Some(ip) = ip {
            let mut ips = self.ips.lock().unwrap_or_else(|p| p.into_inner());
            if ips.len() > PRUNE_AT {
                ips.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < self.window));
            }
            let q = ips.entry(ip).or_default();
            trim(q, now, self.window);
            if q.len() >= self.per_ip {
                return Err(retry_after(q, now, self.window));
            }
            q.push_back(now);
        }
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        if users.len() > PRUNE_AT {
            users.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
        let q = users.entry(username.to_string()).or_default();
        trim(q, now, self.window);
        if q.len() >= self.max_failures {
            return Err(retry_after(q, now, self.window));
        }
        // Reserved under the same lock as the check: counted as a failure until proven right.
        q.push_back(now);
        Ok(())
    }

    /// Forgets `username`'s failures after a successful login.
    pub async fn succeeded(&self, username: &str) {
        self.users.lock().unwrap_or_else(|p| p.into_inner()).remove(username);
        if let Some(redis) = &self.redis {
            let mut cmd = redis::cmd("DEL");
            cmd.arg(user_key(username));
            if let Err(e) = redis.run::<i64>(cmd).await {
                self.without_redis(&e, "a success was recorded");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn locks_user_after_failures_and_ip_after_attempts() {
        let l = LoginLimiter::new(3, 6, Duration::from_secs(60));
        let ip: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..3 {
            assert!(l.check("ana", Some(ip)).await.is_ok());
        }
        assert_eq!(l.check("ana", Some(ip)).await, Err(60));
        assert!(l.check("bob", Some(ip)).await.is_ok());
        // Six attempts from the address are allowed (the refused one counts); the seventh is not.
        assert!(l.check("bob", Some(ip)).await.is_ok());
        assert!(l.check("carl", Some(ip)).await.is_err());
        assert!(l.check("carl", Some([127, 0, 0, 2].into())).await.is_ok());
        // A success forgets the user's failures.
        l.succeeded("ana").await;
        assert!(l.check("ana", Some([127, 0, 0, 3].into())).await.is_ok());
    }

    /// Issue 23: 25 parallel wrong passwords were all evaluated, because the check came before
    /// any failure was counted. Now each check reserves its attempt.
    #[tokio::test]
    async fn parallel_attempts_cannot_outrun_the_user_limit() {
        let l = std::sync::Arc::new(LoginLimiter::new(5, 1000, Duration::from_secs(60)));
        let tasks: Vec<_> = (0..25)
            .map(|i| {
                let l = l.clone();
                tokio::spawn(async move { l.check("ana", Some([10, 0, 0, i].into())).await.is_ok() })
            })
            .collect();
        let mut allowed = 0;
        for t in tasks {
            allowed += usize::from(t.await.unwrap_or(false));
        }
        assert_eq!(allowed, 5);
        l.succeeded("ana").await;
        assert!(l.check("ana", None).await.is_ok());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(seconds_of(Duration::from_millis(1)), 1);
        assert_eq!(seconds_of(Duration::from_millis(1_001)), 2);
        assert_eq!(seconds_of(Duration::ZERO), 1);
    }

    #[test]
    fn shared_keys_share_one_cluster_slot() {
        assert_eq!(ip_key([10, 0, 0, 1].into()), "pitbox:login:{limits}:ip:10.0.0.1");
        assert_eq!(user_key("ana"), "pitbox:login:{limits}:user:ana");
    }
}
