//! Fan-out between nodes. Every node publishes what it fans out locally; every node fans out
//! what others published. The in-process [`LocalBus`] connects hubs of one process (tests, a
//! single node); the cloud adds Redis or NATS implementations of [`Bus`].

use std::sync::Arc;

use pitbox_model::Channel;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

/// One fanned-out message as it travels between nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusEvent {
    /// Node (hub `server_id`) that published it; a node ignores its own events.
    pub origin: String,
    pub team: String,
    /// Driver the message is about, for driver-filtered subscriptions.
    pub driver: Option<String>,
    pub channel: Channel,
    /// The message envelope as JSON, exactly as sent to clients.
    pub json: Arc<str>,
}

/// Why a publish failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus closed")]
    Closed,
    #[error("bus backend: {0}")]
    Backend(String),
}

/// A fan-out channel between nodes. `publish` must not block (queue internally).
pub trait Bus: Send + Sync + 'static {
    /// Publishes an event to every node (including, possibly, this one).
    fn publish(&self, event: BusEvent) -> Result<(), BusError>;
    /// A stream of every event published from now on.
    fn subscribe(&self) -> mpsc::Receiver<BusEvent>;
}

/// In-process bus: a bounded broadcast channel. A receiver that lags loses the oldest events
/// (telemetry is newest-wins anyway) and is told so in the log.
#[derive(Debug, Clone)]
pub struct LocalBus {
    tx: broadcast::Sender<BusEvent>,
}

impl LocalBus {
    /// A bus holding up to `capacity` events per lagging receiver.
    pub fn new(capacity: usize) -> LocalBus {
        let (tx, _) = broadcast::channel(capacity.max(16));
        LocalBus { tx }
    }
}

impl Default for LocalBus {
    fn default() -> Self {
        LocalBus::new(8192)
    }
}

impl Bus for LocalBus {
    fn publish(&self, event: BusEvent) -> Result<(), BusError> {
        // No receiver is not an error: nobody else is listening yet.
        let _ = self.tx.send(event);
        Ok(())
    }

    fn subscribe(&self) -> mpsc::Receiver<BusEvent> {
        let mut rx = self.tx.subscribe();
        let (tx, out) = mpsc::channel(1024);
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => {
                        if tx.send(ev).await.is_err() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(lost = n, "local bus receiver lagged");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        out
    }
}
