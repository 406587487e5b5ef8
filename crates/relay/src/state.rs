//! State shared by the relay's tasks and its HTTP endpoints.

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Relay counters beyond the hub's.
#[derive(Debug, Default)]
pub struct RelayMetrics {
    pub duplicates: AtomicU64,
    /// Drivers whose numbering restarted (a second of nothing but duplicates, then taken).
    pub sequence_restarts: AtomicU64,
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
    /// Team messages written to the cloud queue.
    pub messages_queued: AtomicU64,
    /// Team messages sent to the cloud (resends included).
    pub uplink_messages_sent: AtomicU64,
    /// Team messages the cloud has processed (confirmed by the ping barrier).
    pub uplink_messages_confirmed: AtomicU64,
    /// `error` replies of the cloud to uplinked messages or batches.
    pub uplink_refusals: AtomicU64,
    /// Messages not queued because the spool was full.
    pub spool_rejected_messages: AtomicU64,
    /// Moves to another cloud node after the current one failed.
    pub uplink_failovers: AtomicU64,
    /// Cloud messages delivered to local clients.
    pub downlink_messages: AtomicU64,
    /// Cloud messages dropped as echoes of what local clients sent.
    pub downlink_echoes: AtomicU64,
    /// Token key set refreshes that succeeded / failed.
    pub jwks_refreshes: AtomicU64,
    pub jwks_failures: AtomicU64,
}

pub(crate) struct Shared {
    pub(crate) metrics: RelayMetrics,
    pub(crate) uplink_wake: Notify,
    pub(crate) echoes: crate::downlink::Echoes,
    /// What the uplink amounts to, for `/health`.
    pub(crate) uplink: UplinkHealth,
    /// The sign-in's renewal, when the relay is signed in (`pitbox relay login`).
    pub(crate) login: std::sync::OnceLock<std::sync::Arc<pitbox_auth::login::RenewalStatus>>,
    /// Drivers' video frames waiting for the uplink's live link.
    pub(crate) video_up: crate::video::VideoUp,
}

/// How long after the cloud's last refusal on a working link `/health` says `refused` (unless
/// the cloud acknowledged batches since).
pub(crate) const UPLINK_REFUSED_FOR: Duration = Duration::from_secs(30);

/// The uplink's state as `/health` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UplinkState {
    /// Not connected yet since the start.
    Connecting,
    /// Authenticated and sending.
    Connected,
    /// The link dropped or cannot be opened (network, cloud down).
    Disconnected,
    /// The cloud refused the relay's token.
    Unauthorised,
    /// The cloud refused the link (protocol) or, on a working link, refuses what the relay sends.
    Refused,
}

impl UplinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            UplinkState::Connecting => "connecting",
            UplinkState::Connected => "connected",
            UplinkState::Disconnected => "disconnected",
            UplinkState::Unauthorised => "unauthorised",
            UplinkState::Refused => "refused",
        }
    }
}

/// The uplink's state, the reason for the last change and the cloud's last refusal.
#[derive(Debug)]
pub(crate) struct UplinkHealth {
    inner: Mutex<UplinkInner>,
}

#[derive(Debug)]
struct UplinkInner {
    state: UplinkState,
    reason: Option<String>,
    since: Instant,
    /// The cloud's last `error` on a working link: code, message, when.
    refusal: Option<(String, String, Instant)>,
    last_ack: Option<Instant>,
}

impl Default for UplinkHealth {
    fn default() -> Self {
        UplinkHealth {
            inner: Mutex::new(UplinkInner {
                state: UplinkState::Connecting,
                reason: None,
                since: Instant::now(),
                refusal: None,
                last_ack: None,
            }),
        }
    }
}

/// A snapshot of [`UplinkHealth`].
#[derive(Debug, Clone)]
pub(crate) struct UplinkView {
    pub(crate) state: UplinkState,
    pub(crate) reason: Option<String>,
    pub(crate) for_secs: f64,
    pub(crate) refusal: Option<(String, String, f64)>,
}

impl UplinkHealth {
    fn lock(&self) -> std::sync::MutexGuard<'_, UplinkInner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The link moved to `state` (for `reason`).
    pub(crate) fn set(&self, state: UplinkState, reason: Option<String>) {
        let mut g = self.lock();
        if g.state != state || g.reason != reason {
            g.since = Instant::now();
        }
        g.state = state;
        g.reason = reason;
    }

    /// The cloud refused something on a working link.
    pub(crate) fn refused(&self, code: &str, message: &str) {
        self.lock().refusal = Some((code.to_string(), message.to_string(), Instant::now()));
    }

    /// The cloud acknowledged a batch.
    pub(crate) fn acked(&self) {
        self.lock().last_ack = Some(Instant::now());
    }

    pub(crate) fn view(&self) -> UplinkView {
        let g = self.lock();
        let mut state = g.state;
        if state == UplinkState::Connected
            && let Some((_, _, at)) = &g.refusal
            && at.elapsed() < UPLINK_REFUSED_FOR
            && g.last_ack.is_none_or(|a| a < *at)
        {
            state = UplinkState::Refused;
        }
        UplinkView {
            state,
            reason: g.reason.clone(),
            for_secs: g.since.elapsed().as_secs_f64(),
            refusal: g.refusal.as_ref().map(|(c, m, at)| (c.clone(), m.clone(), at.elapsed().as_secs_f64())),
        }
    }
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
        row(
            "sequence_restarts_total",
            "counter",
            "Drivers whose sample numbering restarted below what was taken (after 1 s of duplicates the relay takes it).",
            g(&self.sequence_restarts).to_string(),
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
        if spool.is_some() {
            row(
                "spool_messages_total",
                "counter",
                "Team messages written to the cloud queue.",
                g(&self.messages_queued).to_string(),
            );
            row(
                "spool_rejected_messages_total",
                "counter",
                "Team messages not queued because the spool was full.",
                g(&self.spool_rejected_messages).to_string(),
            );
        }
        row(
            "uplink_messages_sent_total",
            "counter",
            "Team messages sent to the cloud (resends included).",
            g(&self.uplink_messages_sent).to_string(),
        );
        row(
            "uplink_messages_confirmed_total",
            "counter",
            "Team messages the cloud has processed.",
            g(&self.uplink_messages_confirmed).to_string(),
        );
        row(
            "uplink_refusals_total",
            "counter",
            "error replies of the cloud on the uplink.",
            g(&self.uplink_refusals).to_string(),
        );
        row(
            "uplink_failovers_total",
            "counter",
            "Moves to the next cloud node after the current one failed.",
            g(&self.uplink_failovers).to_string(),
        );
        row(
            "downlink_messages_total",
            "counter",
            "Cloud messages delivered to local clients.",
            g(&self.downlink_messages).to_string(),
        );
        row(
            "downlink_echoes_total",
            "counter",
            "Cloud messages dropped as echoes of what local clients sent.",
            g(&self.downlink_echoes).to_string(),
        );
        row(
            "jwks_refreshes_total",
            "counter",
            "Token key set fetches that succeeded.",
            g(&self.jwks_refreshes).to_string(),
        );
        row("jwks_failures_total", "counter", "Token key set fetches that failed.", g(&self.jwks_failures).to_string());
        row(
            "uplink_lag_seconds",
            "gauge",
            "Age of the oldest unacknowledged batch (0 when the spool is empty).",
            format!("{:.3}", g(&self.uplink_lag_ms) as f64 / 1000.0),
        );
    }
}
