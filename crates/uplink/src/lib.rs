//! The uplink shared by the relay (relay → cloud) and the driver agent (agent → relay, or agent →
//! cloud in direct mode). This crate owns the durable spool ([`spool`]: numbered, compressed
//! batches on disk until the next hop acknowledges them), the window of batches in flight with
//! its acknowledgements and resends ([`Outflow`]), opening the `ws://` / `wss://` connection
//! ([`connect`]) and the reconnect delay ([`backoff`]). What a hop says besides batches (the
//! relay's team messages and downlink, the agent's live samples and inbox) stays with its
//! crate.

mod net;
mod outflow;
pub mod spool;

pub use net::{ConnectError, Io, Ws, backoff, client_tls, connect, native_tls, parse_bytes};
pub use outflow::{Outflow, Refill};
pub use rustls::ClientConfig as TlsConfig;
pub use spool::{DriverState, NewBatch, QueuedMessage, Spool, SpoolError, Spooled};
