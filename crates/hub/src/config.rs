//! Hub settings.

use std::time::Duration;

/// Everything a hub can be tuned with. `Default` is what docs/protocol.md promises.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Sent in `connection_established`; also the node id on the bus.
    pub server_id: String,
    /// Time a client has to `authenticate` (default 10 s).
    pub auth_timeout: Duration,
    /// Largest frame accepted, bytes (default 256 KiB); larger ones close with 1009.
    pub max_frame_bytes: usize,
    /// Refused frames tolerated within `bad_frames_window` before closing with 4008 (default 20).
    pub bad_frames_limit: usize,
    /// Window for `bad_frames_limit` (default 10 s).
    pub bad_frames_window: Duration,
    /// Sustained messages per second one connection may send (default 250).
    pub rate_per_sec: f64,
    /// Burst above the sustained rate (default 500 messages).
    pub rate_burst: f64,
    /// Sustained messages per second of a `clientType: relay` connection, which carries a whole
    /// team's traffic (default 10,000).
    pub relay_rate_per_sec: f64,
    /// Burst above that (default 20,000 messages).
    pub relay_rate_burst: f64,
    /// Non-telemetry messages queued for one client before it is closed as too slow (default 1024).
    pub control_queue: usize,
    /// A write (flush) that takes longer closes the connection (default 10 s).
    pub write_timeout: Duration,
    /// Whether drivers' connects and drops are announced as `driver_status` (default true).
    pub announce_driver_status: bool,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            server_id: "pitbox".into(),
            auth_timeout: Duration::from_secs(10),
            max_frame_bytes: pitbox_model::protocol::DEFAULT_MAX_FRAME_BYTES,
            bad_frames_limit: 20,
            bad_frames_window: Duration::from_secs(10),
            rate_per_sec: 250.0,
            rate_burst: 500.0,
            relay_rate_per_sec: 10_000.0,
            relay_rate_burst: 20_000.0,
            control_queue: 1024,
            write_timeout: Duration::from_secs(10),
            announce_driver_status: true,
        }
    }
}
