//! The relay: reachable over WebSocket, greets with `connection_established` in a protocol
//! version this build speaks, and accepts the token (`authentication_result`).

use futures_util::{SinkExt, StreamExt};
use pitbox_model::control::{Authenticate, PROTOCOL_VERSION, protocol_compatible};
use pitbox_model::{CheckStatus, ClientType, Message};
use serde_json::{Map, Value, json};
use tokio_tungstenite::tungstenite::Message as Ws;

use super::{ClockSample, now_ms};
use crate::Settings;
use crate::report::{not_configured, result};

const COMPONENT: &str = "relay";

/// The relay's WebSocket address: `url` as given when it carries a port or a path, else with
/// `port` added — the rule `pitbox driver` uses for `relayAgent.url` and `relayAgent.port`.
pub fn relay_url(url: &str, port: u16) -> String {
    let url = url.trim();
    let base = url.trim_end_matches('/');
    let after_scheme = base.split_once("://").map_or(base, |(_, r)| r);
    if after_scheme.contains('/') {
        url.to_string()
    } else if after_scheme.contains(':') {
        format!("{base}/")
    } else {
        format!("{base}:{port}/")
    }
}

/// Anything a WebSocket can run over (TCP, or TLS over TCP).
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

type Stream = tokio_tungstenite::WebSocketStream<Box<dyn Io>>;

/// Opens the WebSocket: TCP, TLS for `wss://` (system roots plus `ca_files`), the upgrade.
async fn connect(url: &str, ca_files: &[std::path::PathBuf]) -> Result<Stream, String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let request = url.into_client_request().map_err(|e| e.to_string())?;
    let uri = request.uri().clone();
    let secure = uri.scheme_str() == Some("wss");
    let host = uri.host().ok_or("the URL has no host")?.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| format!("{host}:{port}: {e}"))?;
    let io: Box<dyn Io> = if secure {
        let config = pitbox_relay::tls::client_config(ca_files).map_err(|e| format!("TLS setup: {e}"))?;
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| format!("{host} is not a TLS server name: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {host}:{port}: {e}"))?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let (ws, _) = tokio_tungstenite::client_async(request, io).await.map_err(|e| e.to_string())?;
    Ok(ws)
}

/// Reads the next text frame as a protocol message.
async fn next_message(ws: &mut Stream, what: &str) -> Result<Message, String> {
    loop {
        match ws.next().await {
            None => return Err(format!("the relay closed the connection before {what}")),
            Some(Err(e)) => return Err(format!("reading {what}: {e}")),
            Some(Ok(Ws::Text(t))) => {
                return pitbox_model::decode(t.as_bytes()).map_err(|e| format!("{what} is not a valid message: {e}"));
            }
            Some(Ok(Ws::Close(frame))) => {
                let why = frame.map(|f| format!(" ({} {})", u16::from(f.code), f.reason)).unwrap_or_default();
                return Err(format!("the relay closed the connection before {what}{why}"));
            }
            // Pings, pongs and binary frames are not what we wait for.
            Some(Ok(_)) => continue,
        }
    }
}

/// Runs the relay check; also returns the relay's clock when it greeted.
pub(crate) async fn check(settings: &Settings) -> (pitbox_model::rest::ValidationResult, Option<ClockSample>) {
    let Some(url) = &settings.relay_url else {
        return (not_configured(COMPONENT, "give --relay-url or PITBOX_DRIVER_RELAY_URL"), None);
    };
    let mut d = Map::new();
    d.insert("url".into(), json!(url));
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return (
            result(COMPONENT, CheckStatus::Error, format!("relay URL {url} must start with ws:// or wss://"), d),
            None,
        );
    }
    let t = settings.timeout;
    let t0 = now_ms();
    let mut ws = match tokio::time::timeout(t, connect(url, &settings.ca_files)).await {
        Err(_) => {
            let m = format!("cannot connect to the relay at {url}: no answer within {}", humantime::format_duration(t));
            return (result(COMPONENT, CheckStatus::Error, m, d), None);
        }
        Ok(Err(e)) if settings.relay_default => {
            let m = format!(
                "no relay answers at the default address {url} ({e}); give --relay-url or PITBOX_DRIVER_RELAY_URL"
            );
            return (not_configured(COMPONENT, &m), None);
        }
        Ok(Err(e)) => {
            let m = format!("cannot connect to the relay at {url}: {e}");
            return (result(COMPONENT, CheckStatus::Error, m, d), None);
        }
        Ok(Ok(ws)) => ws,
    };
    let greeting = match tokio::time::timeout(t, next_message(&mut ws, "connection_established")).await {
        Err(_) => Err(format!("no connection_established within {}", humantime::format_duration(t))),
        Ok(r) => r,
    };
    let t1 = now_ms();
    let hello = match greeting {
        Ok(Message::ConnectionEstablished(h)) => h,
        Ok(other) => {
            let _ = ws.close(None).await;
            let m = format!("relay at {url}: expected connection_established first, got {}", other.type_name());
            return (result(COMPONENT, CheckStatus::Error, m, d), None);
        }
        Err(m) => {
            let _ = ws.close(None).await;
            return (result(COMPONENT, CheckStatus::Error, format!("relay at {url}: {m}"), d), None);
        }
    };
    // The greeting was sent between our connect and its arrival.
    let server_ms = hello.timestamp.timestamp_millis();
    let clock = ClockSample { source: "relay", low_ms: server_ms - t1, high_ms: server_ms - t0 };
    d.insert("serverId".into(), json!(hello.server_id));
    d.insert("protocolVersion".into(), json!(hello.version));
    if !protocol_compatible(&hello.version) {
        let _ = ws.close(None).await;
        let m = format!(
            "relay {} at {url} speaks protocol {}, this build speaks {PROTOCOL_VERSION}: upgrade the older one",
            hello.server_id, hello.version
        );
        return (result(COMPONENT, CheckStatus::Error, m, d), Some(clock));
    }
    let Some(token) = &settings.token else {
        let _ = ws.close(None).await;
        d.insert("authenticated".into(), Value::Bool(false));
        let m = format!(
            "relay {} at {url} answers (protocol {}), but authentication was not checked: give --token or \
             PITBOX_DRIVER_TOKEN",
            hello.server_id, hello.version
        );
        return (result(COMPONENT, CheckStatus::Warning, m, d), Some(clock));
    };
    // A dashboard is the passive client type: the relay announces nothing to the team for it.
    let auth = Message::Authenticate(Authenticate {
        token: token.clone(),
        client_type: ClientType::Dashboard,
        version: PROTOCOL_VERSION.into(),
        spooled: false,
    });
    if let Err(e) = ws.send(Ws::text(auth.to_json())).await {
        let m = format!("relay at {url}: sending authenticate: {e}");
        return (result(COMPONENT, CheckStatus::Error, m, d), Some(clock));
    }
    let answer = match tokio::time::timeout(t, next_message(&mut ws, "authentication_result")).await {
        Err(_) => Err(format!("no authentication_result within {}", humantime::format_duration(t))),
        Ok(r) => r,
    };
    let _ = ws.close(None).await;
    let r = match answer {
        Ok(Message::AuthenticationResult(a)) if a.success => {
            let user = a.user_id.unwrap_or_default();
            let role = a.role.map(|r| r.to_string()).unwrap_or_default();
            d.insert("authenticated".into(), Value::Bool(true));
            d.insert("userId".into(), json!(user));
            d.insert("role".into(), json!(role));
            if let Some(team) = &a.team_id {
                d.insert("teamId".into(), json!(team));
            }
            let m = format!("relay {} at {url}: authenticated as {user} ({role})", hello.server_id);
            result(COMPONENT, CheckStatus::Success, m, d)
        }
        Ok(Message::AuthenticationResult(a)) => {
            d.insert("authenticated".into(), Value::Bool(false));
            let why = a.reason.unwrap_or_else(|| "no reason given".into());
            let m = format!("relay {} at {url} refused the token: {why}", hello.server_id);
            result(COMPONENT, CheckStatus::Error, m, d)
        }
        Ok(Message::Error(e)) => {
            let m = format!("relay {} at {url} refused authenticate: {} ({})", hello.server_id, e.message, e.code);
            result(COMPONENT, CheckStatus::Error, m, d)
        }
        Ok(other) => {
            let m = format!("relay at {url}: expected authentication_result, got {}", other.type_name());
            result(COMPONENT, CheckStatus::Error, m, d)
        }
        Err(m) => result(COMPONENT, CheckStatus::Error, format!("relay at {url}: {m}"), d),
    };
    (r, Some(clock))
}

#[cfg(test)]
mod tests {
    use super::relay_url;

    #[test]
    fn relay_urls_follow_the_driver_rule() {
        assert_eq!(relay_url("ws://127.0.0.1", 8765), "ws://127.0.0.1:8765/");
        assert_eq!(relay_url("ws://127.0.0.1:9000", 8765), "ws://127.0.0.1:9000/");
        assert_eq!(relay_url("wss://relay.example/ws", 8765), "wss://relay.example/ws");
        assert_eq!(relay_url(" ws://h:1/ ", 8765), "ws://h:1/");
    }
}
