//! `wss://`: TLS termination for the relay's listener.

use std::future::Future;
use std::path::Path;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Serves `app` over TLS with the PEM certificate chain and key.
pub(crate) fn serve(
    _listener: TcpListener,
    _app: Router,
    _graceful: impl Future<Output = ()> + Send + 'static,
    _cert: &Path,
    _key: &Path,
) -> Result<JoinHandle<()>, String> {
    Err("TLS (--tls-cert/--tls-key) is not built yet; terminate TLS in front of the relay for now".into())
}
