//! Opening the uplink's WebSocket and the delay between attempts.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The byte stream under the WebSocket: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An uplink WebSocket.
pub type Ws = WebSocketStream<Box<dyn Io>>;

/// Why the connection could not be opened (the message names the address and the cause).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(pub String);

/// Delay before reconnect attempt `attempt` (1-based): full jitter over an exponential ceiling.
pub fn backoff(attempt: u32, min: Duration, max: Duration) -> Duration {
    let ceiling = min.saturating_mul(1u32 << attempt.min(16)).min(max).max(min);
    let ms = ceiling.as_millis().max(1) as u64;
    Duration::from_millis(min.as_millis() as u64 / 2 + fastrand::u64(0..=ms))
}

/// A TLS client configuration trusting `roots` (the relay adds the system's roots and its
/// `--cloud-ca` files; see `pitbox_relay::tls::client_config`).
pub fn client_tls(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, ConnectError> {
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A TLS client configuration trusting the system's roots (the driver agent's link to a
/// `wss://` relay or cloud).
pub fn native_tls() -> Result<Arc<rustls::ClientConfig>, ConnectError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_native_certs::load_native_certs().certs {
        // A broken system certificate is skipped, as every TLS client does.
        let _ = roots.add(c);
    }
    client_tls(roots).map(Arc::new)
}

/// Opens the WebSocket to `url`, over TLS for `wss://`, with Nagle's algorithm off (small frames
/// at 60 Hz must not wait for the peer's delayed ACK).
pub async fn connect(url: &str, tls: Option<&Arc<rustls::ClientConfig>>) -> Result<Ws, ConnectError> {
    let request = url.into_client_request().map_err(|e| ConnectError(format!("{url}: {e}")))?;
    let uri = request.uri().clone();
    let secure = match uri.scheme_str() {
        Some("wss") => true,
        Some("ws") => false,
        other => return Err(ConnectError(format!("{url}: scheme {other:?} is not ws or wss"))),
    };
    let host = uri.host().ok_or_else(|| ConnectError(format!("{url}: no host")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| ConnectError(format!("{host}:{port}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn Io> = if secure {
        let tls = tls.ok_or_else(|| ConnectError("wss:// without a TLS configuration".into()))?;
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| ConnectError(format!("{host}: not a TLS server name: {e}")))?;
        let stream = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| ConnectError(format!("TLS with {host}:{port}: {e}")))?;
        Box::new(stream)
    } else {
        Box::new(tcp)
    };
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, io, None)
        .await
        .map_err(|e| ConnectError(format!("{url}: {e}")))?;
    Ok(ws)
}

/// A spool bound: parses `1GiB`, `500MiB`, `64KiB`, `1GB`, or a plain byte count.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a size (e.g. 1GiB, 500MiB)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown size unit `{other}` (use KiB, MiB, GiB)")),
    };
    let v = n * mult;
    if !v.is_finite() || v < 1024.0 {
        return Err("must be at least 1KiB".into());
    }
    Ok(v as u64)
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
