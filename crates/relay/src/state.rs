//! State shared by the relay's tasks and its HTTP endpoints.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

/// Relay counters beyond the hub's.
#[derive(Debug, Default)]
pub struct RelayMetrics {
    pub duplicates: AtomicU64,
    pub batches_spooled: AtomicU64,
    pub samples_spooled: AtomicU64,
    pub spool_rejected: AtomicU64,
    pub spool_errors: AtomicU64,
    pub uplink_connected: AtomicU64,
    pub uplink_connects: AtomicU64,
    pub uplink_batches_sent: AtomicU64,
    pub uplink_batches_acked: AtomicU64,
    pub uplink_bytes_sent: AtomicU64,
    pub uplink_lag_ms: AtomicU64,
}

pub(crate) struct Shared {
    pub(crate) metrics: RelayMetrics,
    pub(crate) uplink_wake: Notify,
}

impl RelayMetrics {
    pub(crate) fn render(&self, out: &mut String, spool: Option<(u64, u64, u64)>, cloud: bool) {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut row = |name: &str, kind: &str, help: &str, v: String| {
            let _ = writeln!(
                out,
                "# HELP pitbox_relay_{name} {help}\n# TYPE pitbox_relay_{name} {kind}\npitbox_relay_{name} {v}"
            );
        };
        row(
            "duplicates_total",
            "counter",
            "Samples dropped because their sequence was already seen.",
            g(&self.duplicates).to_string(),
        );
        row("uplink_enabled", "gauge", "1 when a cloud is configured.", u8::from(cloud).to_string());
        if let Some((bytes, batches, limit)) = spool {
            row("spool_bytes", "gauge", "Bytes of unacknowledged batches in the spool.", bytes.to_string());
            row("spool_batches", "gauge", "Unacknowledged batches in the spool (spool depth).", batches.to_string());
            row("spool_capacity_bytes", "gauge", "Spool bound.", limit.to_string());
            row(
                "spool_batches_total",
                "counter",
                "Batches written to the spool.",
                g(&self.batches_spooled).to_string(),
            );
            row(
                "spool_samples_total",
                "counter",
                "Samples written to the spool.",
                g(&self.samples_spooled).to_string(),
            );
            row(
                "spool_rejected_samples_total",
                "counter",
                "Samples not spooled because the spool was full or failing.",
                g(&self.spool_rejected).to_string(),
            );
            row("spool_errors_total", "counter", "Spool write failures.", g(&self.spool_errors).to_string());
        }
        row(
            "uplink_connected",
            "gauge",
            "1 while the uplink to the cloud is up.",
            g(&self.uplink_connected).to_string(),
        );
        row("uplink_connects_total", "counter", "Successful uplink connections.", g(&self.uplink_connects).to_string());
        row(
            "uplink_batches_sent_total",
            "counter",
            "Batches sent to the cloud (resends included).",
            g(&self.uplink_batches_sent).to_string(),
        );
        row(
            "uplink_batches_acked_total",
            "counter",
            "Batches the cloud acknowledged.",
            g(&self.uplink_batches_acked).to_string(),
        );
        row(
            "uplink_bytes_sent_total",
            "counter",
            "Compressed bytes sent to the cloud.",
            g(&self.uplink_bytes_sent).to_string(),
        );
        row(
            "uplink_lag_seconds",
            "gauge",
            "Age of the oldest unacknowledged batch (0 when the spool is empty).",
            format!("{:.3}", g(&self.uplink_lag_ms) as f64 / 1000.0),
        );
    }
}
