//! The checks, one module per area. Each returns a finished `ValidationResult`: a failure is a
//! result with status `error` and a message that names what was tried and what went wrong.

pub(crate) mod cloud;
pub(crate) mod database;
pub(crate) mod link;
pub(crate) mod local;
pub(crate) mod relay;
pub(crate) mod storage;

/// What a server's clock said, as the range of possible offsets `server − local` in
/// milliseconds (the range covers the request's round trip and the source's resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClockSample {
    pub source: &'static str,
    pub low_ms: i64,
    pub high_ms: i64,
}

impl ClockSample {
    /// The smallest offset consistent with the sample (0 when the range includes 0): what is
    /// certainly wrong with the local clock.
    pub fn certain_ms(&self) -> i64 {
        if self.low_ms <= 0 && self.high_ms >= 0 {
            0
        } else if self.low_ms > 0 {
            self.low_ms
        } else {
            self.high_ms
        }
    }

    /// The middle of the range.
    pub fn estimate_ms(&self) -> i64 {
        self.low_ms + (self.high_ms - self.low_ms) / 2
    }
}

/// Milliseconds since the epoch, local clock.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
