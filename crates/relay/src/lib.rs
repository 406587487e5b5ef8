//! The relay agent (`pitbox relay`): the WebSocket hub on the driver's side. This crate owns the
//! relay's HTTP server (`/` and `/ws` WebSocket via `pitbox-hub`, `/health`, `/metrics`,
//! optional TLS), the durable spool (redb) of uplink batches and of team messages for the
//! cloud, the batcher that turns accepted samples into numbered zstd-compressed batches and
//! acknowledges them to drivers, the uplink client to the cloud (`ws://` or `wss://`, ack by
//! sequence, fail-over between cloud nodes, reconnect with backoff and jitter), the downlink
//! that delivers cloud messages to local clients, the token keys fetched from the cloud's JWKS
//! and the tokens the cloud revoked ([`revocations`]), its command-line arguments ([`cli::RelayArgs`], [`cli::run`]) and the load benchmark
//! ([`bench`]).

pub mod bench;
pub mod cli;
mod downlink;
mod ingest;
pub mod jwks;
pub mod revocations;
mod server;
/// The durable spool, shared with the driver agent (`pitbox-uplink`).
pub use pitbox_uplink::spool;
mod state;
pub mod tls;
pub mod uplink;
mod video;

pub use ingest::{REPORT_AFTER, RESTART_AFTER, RelayHooks};
pub use jwks::JwksConfig;
pub use server::{RelayConfig, RelayError, RelayHandle, start};
pub use state::RelayMetrics;
pub use uplink::UplinkConfig;

/// Issuer of tokens minted by `pitbox token` (and the benchmark).
pub(crate) fn cli_issuer() -> &'static str {
    pitbox_auth::cli::OFFLINE_ISSUER
}
