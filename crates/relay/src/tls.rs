//! TLS for both ends of the relay: `wss://` on its listener (a PEM certificate chain and key;
//! handshakes run on their own tasks so a slow client never holds up accepting others) and the
//! client side of a `wss://` cloud uplink (the system's trusted roots plus, optionally, extra
//! PEM CA certificates, e.g. a private CA or a self-signed cloud).

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("{path}: no certificate found (expected PEM `BEGIN CERTIFICATE` blocks)")]
    NoCertificate { path: PathBuf },
    #[error("certificate and key do not make a TLS configuration: {0}")]
    Config(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = |message: String| TlsError::Pem { path: path.to_path_buf(), message };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: path.to_path_buf() });
    }
    Ok(certs)
}

/// The server configuration from a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1
/// or SEC1).
pub fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, TlsError> {
    let certs = read_certs(cert)?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError::Pem { path: key.to_path_buf(), message: format!("no usable private key: {e}") })?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// The client configuration of the uplink: system roots plus the PEM certificates in `extra_ca`.
pub fn client_config(extra_ca: &[PathBuf]) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for c in native.certs {
        // A broken system certificate is skipped, as every TLS client does.
        let _ = roots.add(c);
    }
    for path in extra_ca {
        for c in read_certs(path)? {
            roots.add(c).map_err(|e| TlsError::Pem {
                path: path.clone(),
                message: format!("not a usable CA certificate: {e}"),
            })?;
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A listener that hands axum finished TLS connections.
struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    addr: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => c,
            // The acceptor stopped (shutdown): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// Serves `app` over TLS on `listener` until `graceful` completes (also used by test stand-ins
/// of a `wss://` cloud).
pub fn serve(
    listener: TcpListener,
    app: Router,
    graceful: impl Future<Output = ()> + Send + 'static,
    config: rustls::ServerConfig,
) -> std::io::Result<JoinHandle<()>> {
    let addr = listener.local_addr()?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let (tx, rx) = mpsc::channel(256);
    let accept_task = tokio::spawn(async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let ready = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        let _ = ready.send((tls, peer)).await;
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            });
            if tx.is_closed() {
                return;
            }
        }
    });
    Ok(tokio::spawn(async move {
        let tls = TlsListener { rx, addr };
        if let Err(e) = axum::serve(tls, app).with_graceful_shutdown(graceful).await {
            tracing::error!(error = %e, "server failed");
        }
        accept_task.abort();
    }))
}
