//! Per-connection limits: a token bucket for the message rate and a sliding window of refused
//! frames.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Token bucket: `rate` tokens per second up to `burst`.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(rate: f64, burst: f64) -> TokenBucket {
        let burst = burst.max(1.0);
        TokenBucket { rate: rate.max(0.0), burst, tokens: burst, last: Instant::now() }
    }

    /// Takes one token; false when the bucket is empty.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Counts refused frames in a sliding window.
#[derive(Debug)]
pub(crate) struct BadWindow {
    limit: usize,
    window: Duration,
    times: VecDeque<Instant>,
}

impl BadWindow {
    pub(crate) fn new(limit: usize, window: Duration) -> BadWindow {
        BadWindow { limit: limit.max(1), window, times: VecDeque::new() }
    }

    /// Records one refusal; true when the limit is reached.
    pub(crate) fn record(&mut self, now: Instant) -> bool {
        while let Some(&t) = self.times.front() {
            if now.saturating_duration_since(t) > self.window {
                self.times.pop_front();
            } else {
                break;
            }
        }
        self.times.push_back(now);
        self.times.len() >= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 2.0);
        assert!(b.take(t0));
        assert!(b.take(t0));
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(120)));
    }

    #[test]
    fn window_slides() {
        let t0 = Instant::now();
        let mut w = BadWindow::new(3, Duration::from_secs(10));
        assert!(!w.record(t0));
        assert!(!w.record(t0 + Duration::from_secs(5)));
        assert!(!w.record(t0 + Duration::from_secs(12)));
        assert!(w.record(t0 + Duration::from_secs(13)));
    }
}
