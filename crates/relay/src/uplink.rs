//! The uplink: one WebSocket to the cloud. It authenticates as a relay, sends every spooled
//! batch in order per driver as a binary frame (zstd-compressed `telemetry_batch`, see
//! `pitbox_hub::uplink`), keeps at most `window` batches unacknowledged, drops a driver's batches
//! from the spool when the cloud acknowledges them, and reconnects with exponential backoff and
//! full jitter. After a reconnect (or a restart) it resends everything still in the spool: the
//! cloud stores each (driverId, sequence) once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use pitbox_model::control::{Authenticate, PROTOCOL_VERSION, Ping, protocol_compatible};
use pitbox_model::{ClientType, Message};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::spool::Spool;
use crate::state::Shared;

/// Uplink settings.
#[derive(Debug, Clone)]
pub struct UplinkConfig {
    /// `ws://host:port/ws` of the cloud.
    pub url: String,
    /// Token the relay authenticates with (a driver or admin of the team).
    pub token: String,
    /// Most batches in flight without an ack.
    pub window: usize,
    /// First reconnect delay.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
}

#[derive(Debug, thiserror::Error)]
enum UplinkFailure {
    #[error("connect: {0}")]
    Connect(String),
    #[error("timed out: {0}")]
    Timeout(&'static str),
    #[error("cloud refused: {0}")]
    Refused(String),
    #[error("connection lost: {0}")]
    Lost(String),
    #[error("spool: {0}")]
    Spool(String),
}

/// Delay before reconnect attempt `attempt` (1-based): full jitter over an exponential ceiling.
pub fn backoff(attempt: u32, min: Duration, max: Duration) -> Duration {
    let ceiling = min.saturating_mul(1u32 << attempt.min(16)).min(max).max(min);
    let ms = ceiling.as_millis().max(1) as u64;
    Duration::from_millis(min.as_millis() as u64 / 2 + fastrand::u64(0..=ms))
}

pub(crate) async fn run(
    cfg: UplinkConfig,
    spool: Arc<Spool>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut attempt: u32 = 0;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let result = tokio::select! {
            r = session(&cfg, &spool, &shared, &mut attempt) => r,
            _ = shutdown.changed() => return,
        };
        shared.metrics.uplink_connected.store(0, Ordering::Relaxed);
        if let Err(e) = result {
            if attempt == 0 {
                tracing::warn!(error = %e, url = %cfg.url, "uplink down; samples stay in the spool");
            } else {
                tracing::debug!(error = %e, attempt, "uplink reconnect failed");
            }
        }
        attempt = attempt.saturating_add(1);
        let delay = backoff(attempt, cfg.backoff_min, cfg.backoff_max);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn blocking<T: Send + 'static>(
    spool: &Arc<Spool>,
    f: impl FnOnce(&Spool) -> Result<T, crate::spool::SpoolError> + Send + 'static,
) -> Result<T, UplinkFailure> {
    let s = spool.clone();
    match tokio::task::spawn_blocking(move || f(&s)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(UplinkFailure::Spool(e.to_string())),
        Err(e) => Err(UplinkFailure::Spool(e.to_string())),
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

async fn session(
    cfg: &UplinkConfig,
    spool: &Arc<Spool>,
    shared: &Arc<Shared>,
    attempt: &mut u32,
) -> Result<(), UplinkFailure> {
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async_with_config(cfg.url.as_str(), None, true),
    )
    .await
    .map_err(|_| UplinkFailure::Timeout("connect"))?
    .map_err(|e| UplinkFailure::Connect(e.to_string()))?;
    let (mut tx, mut rx) = ws.split();
    // Greeting, then authenticate.
    let greeting = tokio::time::timeout(Duration::from_secs(10), next_message(&mut rx))
        .await
        .map_err(|_| UplinkFailure::Timeout("greeting"))??;
    match greeting {
        Message::ConnectionEstablished(c) if protocol_compatible(&c.version) => {}
        Message::ConnectionEstablished(c) => {
            return Err(UplinkFailure::Refused(format!("cloud speaks protocol {}", c.version)));
        }
        other => {
            return Err(UplinkFailure::Refused(format!("expected connection_established, got {}", other.type_name())));
        }
    }
    let auth = Message::Authenticate(Authenticate {
        token: cfg.token.clone(),
        client_type: ClientType::Relay,
        version: PROTOCOL_VERSION.to_string(),
    });
    tx.send(WsMessage::text(auth.to_json())).await.map_err(|e| UplinkFailure::Lost(e.to_string()))?;
    let result = tokio::time::timeout(Duration::from_secs(10), next_message(&mut rx))
        .await
        .map_err(|_| UplinkFailure::Timeout("authentication"))??;
    match result {
        Message::AuthenticationResult(r) if r.success => {}
        Message::AuthenticationResult(r) => {
            return Err(UplinkFailure::Refused(r.reason.unwrap_or_else(|| "authentication failed".into())));
        }
        other => {
            return Err(UplinkFailure::Refused(format!("expected authentication_result, got {}", other.type_name())));
        }
    }
    tracing::info!(url = %cfg.url, "uplink connected");
    *attempt = 0;
    shared.metrics.uplink_connected.store(1, Ordering::Relaxed);
    shared.metrics.uplink_connects.fetch_add(1, Ordering::Relaxed);

    let window = cfg.window.max(1) as u64;
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut sent: HashMap<String, u64> = HashMap::new();
    let mut refill = true;
    loop {
        let inflight: u64 = sent.iter().map(|(d, s)| s.saturating_sub(*acked.get(d).unwrap_or(&0))).sum();
        if refill || inflight <= window / 2 {
            refill = false;
            let waiting = blocking(spool, |s| s.waiting()).await?;
            let now = now_ms();
            let oldest = waiting.iter().map(|(_, _, c)| *c).min();
            shared.metrics.uplink_lag_ms.store(oldest.map_or(0, |c| now.saturating_sub(c)), Ordering::Relaxed);
            let mut budget = window.saturating_sub(inflight);
            for (driver, first, _) in waiting {
                if budget == 0 {
                    break;
                }
                let a = acked.entry(driver.clone()).or_insert(0);
                *a = (*a).max(first.saturating_sub(1));
                let floor = *a;
                let after = sent.get(&driver).copied().unwrap_or(0).max(floor);
                let d2 = driver.clone();
                let lim = budget as usize;
                let batches = blocking(spool, move |s| s.pending(&d2, after, lim)).await?;
                for b in batches {
                    shared.metrics.uplink_bytes_sent.fetch_add(b.frame.len() as u64, Ordering::Relaxed);
                    tx.feed(WsMessage::binary(b.frame)).await.map_err(|e| UplinkFailure::Lost(e.to_string()))?;
                    sent.insert(driver.clone(), b.sequence);
                    shared.metrics.uplink_batches_sent.fetch_add(1, Ordering::Relaxed);
                    budget = budget.saturating_sub(1);
                }
            }
            tx.flush().await.map_err(|e| UplinkFailure::Lost(e.to_string()))?;
        }
        tokio::select! {
            m = rx.next() => {
                let m = match m {
                    None => return Err(UplinkFailure::Lost("closed".into())),
                    Some(Err(e)) => return Err(UplinkFailure::Lost(e.to_string())),
                    Some(Ok(m)) => m,
                };
                match m {
                    WsMessage::Text(t) => match pitbox_model::decode(t.as_bytes()) {
                        Ok(Message::Ack(a)) => {
                            let prev = acked.get(&a.driver_id).copied().unwrap_or(0);
                            if a.sequence > prev {
                                acked.insert(a.driver_id.clone(), a.sequence);
                                let (d, s) = (a.driver_id.clone(), a.sequence);
                                let n = blocking(spool, move |sp| sp.ack(&d, s)).await?;
                                shared.metrics.uplink_batches_acked.fetch_add(n, Ordering::Relaxed);
                            }
                        }
                        Ok(Message::Ping(p)) => {
                            let pong = Message::Pong(Ping { id: p.id, timestamp: chrono::Utc::now() });
                            tx.send(WsMessage::text(pong.to_json())).await.map_err(|e| UplinkFailure::Lost(e.to_string()))?;
                        }
                        Ok(Message::Error(e)) => {
                            tracing::warn!(code = %e.code, message = %e.message, "cloud refused an uplink message");
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "unreadable message from the cloud"),
                    },
                    WsMessage::Close(f) => {
                        return Err(UplinkFailure::Lost(format!("cloud closed: {}", f.map(|f| f.reason.to_string()).unwrap_or_default())));
                    }
                    _ => {}
                }
            }
            _ = shared.uplink_wake.notified() => { refill = true; }
            _ = tokio::time::sleep(Duration::from_secs(1)) => { refill = true; }
        }
    }
}

async fn next_message<S>(rx: &mut S) -> Result<Message, UplinkFailure>
where
    S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match rx.next().await {
            None => return Err(UplinkFailure::Lost("closed".into())),
            Some(Err(e)) => return Err(UplinkFailure::Lost(e.to_string())),
            Some(Ok(WsMessage::Text(t))) => {
                return pitbox_model::decode(t.as_bytes()).map_err(|e| UplinkFailure::Refused(e.to_string()));
            }
            Some(Ok(WsMessage::Close(f))) => {
                return Err(UplinkFailure::Refused(f.map(|f| f.reason.to_string()).unwrap_or_else(|| "closed".into())));
            }
            Some(Ok(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_bounded() {
        let min = Duration::from_millis(200);
        let max = Duration::from_secs(10);
        for attempt in 1..40 {
            let d = backoff(attempt, min, max);
            assert!(d >= Duration::from_millis(100) && d <= max + min, "{d:?}");
        }
    }
}
