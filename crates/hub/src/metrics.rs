//! Hub counters, rendered as Prometheus text by the server that embeds the hub.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of a hub. All relaxed atomics: cheap on the hot path, read for `/metrics`.
#[derive(Debug, Default)]
pub struct HubMetrics {
    /// Open WebSocket connections.
    pub connections: AtomicU64,
    /// Connections accepted since start.
    pub connections_total: AtomicU64,
    /// Authenticated connections now.
    pub authenticated: AtomicU64,
    /// Frames received from clients.
    pub messages_in: AtomicU64,
    /// Frames written to clients.
    pub messages_out: AtomicU64,
    /// Telemetry samples accepted and fanned out.
    pub telemetry_in: AtomicU64,
    /// `error` messages sent.
    pub errors_sent: AtomicU64,
    /// Failed authentications.
    pub auth_failures: AtomicU64,
    /// Telemetry frames replaced before a slow subscriber could take them (dropped-to-latest).
    pub dropped_slow: AtomicU64,
    /// Telemetry samples merged into a newer one by a subscriber's rate (throttling, expected).
    pub coalesced: AtomicU64,
    /// Connections closed for refused frames, rate limits, oversize frames or slowness.
    pub closed_policy: AtomicU64,
    /// Messages refused by the rate limit.
    pub rate_limited: AtomicU64,
    /// Bus publish failures.
    pub bus_errors: AtomicU64,
}

impl HubMetrics {
    fn get(a: &AtomicU64) -> u64 {
        a.load(Ordering::Relaxed)
    }

    /// Appends the counters as Prometheus text, every name prefixed with `prefix` (e.g.
    /// `pitbox_relay`).
    pub fn render(&self, prefix: &str, out: &mut String) {
        let rows: [(&str, &str, &str, u64); 13] = [
            ("connections", "gauge", "Open WebSocket connections.", Self::get(&self.connections)),
            ("connections_total", "counter", "WebSocket connections accepted.", Self::get(&self.connections_total)),
            ("authenticated_connections", "gauge", "Authenticated connections.", Self::get(&self.authenticated)),
            ("messages_in_total", "counter", "Frames received from clients.", Self::get(&self.messages_in)),
            ("messages_out_total", "counter", "Frames sent to clients.", Self::get(&self.messages_out)),
            ("telemetry_in_total", "counter", "Telemetry samples accepted.", Self::get(&self.telemetry_in)),
            ("errors_sent_total", "counter", "Error messages sent to clients.", Self::get(&self.errors_sent)),
            ("auth_failures_total", "counter", "Failed authentications.", Self::get(&self.auth_failures)),
            (
                "dropped_total",
                "counter",
                "Telemetry frames dropped for slow subscribers (replaced by a newer one).",
                Self::get(&self.dropped_slow),
            ),
            (
                "coalesced_total",
                "counter",
                "Telemetry samples merged by subscriber rate limits.",
                Self::get(&self.coalesced),
            ),
            ("closed_policy_total", "counter", "Connections closed by policy.", Self::get(&self.closed_policy)),
            ("rate_limited_total", "counter", "Messages refused by rate limits.", Self::get(&self.rate_limited)),
            ("bus_errors_total", "counter", "Bus publish failures.", Self::get(&self.bus_errors)),
        ];
        for (name, kind, help, value) in rows {
            let _ =
                writeln!(out, "# HELP {prefix}_{name} {help}\n# TYPE {prefix}_{name} {kind}\n{prefix}_{name} {value}");
        }
    }
}
