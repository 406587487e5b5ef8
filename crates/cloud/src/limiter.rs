//! Login rate limiting, per username and per client address, in memory (per node).
//!
//! - per user: after `max_failures` wrong passwords within `window`, further attempts for that
//!   username are refused (429) until the oldest failure leaves the window;
//! - per address: at most `per_ip` attempts (right or wrong) within `window`.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys kept before expired entries are pruned.
const PRUNE_AT: usize = 10_000;

/// The limiter.
#[derive(Debug)]
pub struct LoginLimiter {
    max_failures: usize,
    per_ip: usize,
    window: Duration,
    users: Mutex<HashMap<String, VecDeque<Instant>>>,
    ips: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

fn trim(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
        q.pop_front();
    }
}

fn retry_after(q: &VecDeque<Instant>, now: Instant, window: Duration) -> u64 {
    q.front().map(|t| window.saturating_sub(now.duration_since(*t)).as_secs().max(1)).unwrap_or(1)
}

impl LoginLimiter {
    /// A limiter with these limits.
    pub fn new(max_failures: usize, per_ip: usize, window: Duration) -> Self {
        Self { max_failures, per_ip, window, users: Mutex::default(), ips: Mutex::default() }
    }

    /// Counts an attempt from `ip` for `username`; `Err(seconds)` when it must be refused.
    pub fn check(&self, username: &str, ip: Option<IpAddr>) -> Result<(), u64> {
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
        if let Some(q) = users.get_mut(username) {
            trim(q, now, self.window);
            if q.len() >= self.max_failures {
                return Err(retry_after(q, now, self.window));
            }
        }
        Ok(())
    }

    /// Records a wrong password for `username`.
    pub fn failed(&self, username: &str) {
        let now = Instant::now();
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        if users.len() > PRUNE_AT {
            users.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
        users.entry(username.to_string()).or_default().push_back(now);
    }

    /// Forgets `username`'s failures after a successful login.
    pub fn succeeded(&self, username: &str) {
        self.users.lock().unwrap_or_else(|p| p.into_inner()).remove(username);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_user_after_failures_and_ip_after_attempts() {
        let l = LoginLimiter::new(3, 6, Duration::from_secs(60));
        let ip: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..3 {
            assert!(l.check("ana", Some(ip)).is_ok());
            l.failed("ana");
        }
        assert!(l.check("ana", Some(ip)).is_err());
        assert!(l.check("bob", Some(ip)).is_ok());
        // Six attempts from the address are allowed (the refused one counts); the seventh is not.
        assert!(l.check("bob", Some(ip)).is_ok());
        assert!(l.check("carl", Some(ip)).is_err());
        assert!(l.check("carl", Some([127, 0, 0, 2].into())).is_ok());
    }
}
