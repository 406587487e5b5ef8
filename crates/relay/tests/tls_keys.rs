//! Securing the relay: `wss://` on its listener and on its uplink to a `wss://` cloud, with a
//! self-signed certificate made for the test; and token keys fetched from a cloud's JWKS
//! endpoint, refreshed when a token is signed by an unknown key, kept while the cloud is down.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::cloud::{Cloud, CloudStore};
use common::{TEAM, telemetry};
use futures_util::{SinkExt, StreamExt};
use pitbox_auth::{DEFAULT_TTL, KeyPair, Signer, Verifier};
use pitbox_model::control::{Authenticate, PROTOCOL_VERSION};
use pitbox_model::{ClientType, Message, UserRole};
use pitbox_relay::{JwksConfig, RelayConfig, RelayError, UplinkConfig};
use tokio_tungstenite::tungstenite::Message as Ws;

/// A self-signed server certificate for localhost and 127.0.0.1 (not a CA: webpki refuses a CA
/// certificate as a server's own), made with the `openssl` tool.
fn self_signed(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let (cert, key, conf) = (dir.join("cert.pem"), dir.join("key.pem"), dir.join("openssl.cnf"));
    let config = "[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n[dn]\nCN=localhost\n[ext]\n\
                  basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n\
                  keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n";
    std::fs::write(&conf, config).ok()?;
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .arg("-config")
        .arg(&conf)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("openssl: {}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success().then_some((cert, key))
}

fn client_tls(ca: &Path) -> Arc<rustls::ClientConfig> {
    Arc::new(pitbox_relay::tls::client_config(&[ca.to_path_buf()]).unwrap())
}

/// Connects over TLS, reads the greeting and authenticates.
async fn wss_client(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    token: &str,
    kind: ClientType,
) -> tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = tokio_rustls::TlsConnector::from(tls).connect(name, tcp).await.expect("TLS handshake");
    let (mut ws, _) = tokio_tungstenite::client_async(format!("wss://localhost:{}/", addr.port()), stream)
        .await
        .expect("WebSocket over TLS");
    let hello = next(&mut ws).await;
    assert!(matches!(hello, Message::ConnectionEstablished(_)), "{hello:?}");
    let auth = Message::Authenticate(Authenticate {
        token: token.into(),
        client_type: kind,
        version: PROTOCOL_VERSION.into(),
        spooled: false,
    });
    ws.send(Ws::text(auth.to_json())).await.unwrap();
    match next(&mut ws).await {
        Message::AuthenticationResult(r) => assert!(r.success, "{r:?}"),
        other => panic!("expected authentication_result, got {other:?}"),
    }
    ws
}

async fn next<S>(ws: &mut S) -> Message
where
    S: futures_util::Stream<Item = Result<Ws, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a message within 5 s");
        if let Some(Ok(Ws::Text(t))) = m {
            return pitbox_model::decode(t.as_bytes()).unwrap();
        }
        assert!(matches!(m, Some(Ok(_))), "connection ended: {m:?}");
    }
}

#[tokio::test]
async fn wss_listener_and_wss_uplink() {
    let certs = tempfile::tempdir().unwrap();
    let Some((cert, key)) = self_signed(certs.path()) else {
        pitbox_testkit::skip("wss_listener_and_wss_uplink", "the openssl tool is not available to make a certificate");
        return;
    };
    // A wss:// cloud with the same certificate.
    let store = Arc::new(CloudStore::default());
    let cloud_tls = pitbox_relay::tls::server_config(&cert, &key).unwrap();
    let cloud = Cloud::start_tls("127.0.0.1:0".parse().unwrap(), store.clone(), cloud_tls).await;
    let cloud_url = format!("wss://localhost:{}/ws", cloud.addr.port());

    let dir = tempfile::tempdir().unwrap();
    let (pair, _) = KeyPair::load_or_create(dir.path()).unwrap();
    let signer = Signer::new(&pair, "pitbox-offline");
    let mut verifier = Verifier::new();
    verifier.add_data_dir(dir.path()).unwrap();
    let mut cfg = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"), verifier);
    cfg.tls = Some((cert.clone(), key.clone()));
    cfg.batch_interval = Duration::from_millis(20);
    cfg.cloud = Some(UplinkConfig::new(cloud_url, "relay-token"));
    cfg.cloud_ca_files = vec![cert.clone()];
    let relay = pitbox_relay::start(cfg).await.unwrap();

    let tls = client_tls(&cert);
    let token = |u: &str, r| signer.issue(u, r, TEAM, None, DEFAULT_TTL).unwrap().0;
    let mut dash =
        wss_client(relay.addr(), tls.clone(), &token("eng-1", UserRole::Engineer), ClientType::Dashboard).await;
    let sub = r#"{"type":"subscribe","data":{"channels":["telemetry"]}}"#;
    dash.send(Ws::text(sub)).await.unwrap();
    assert!(matches!(next(&mut dash).await, Message::Subscribed(_)));
    let mut drv = wss_client(relay.addr(), tls.clone(), &token("drv-1", UserRole::Driver), ClientType::Driver).await;
    for seq in 1..=3 {
        drv.send(Ws::text(telemetry("drv-1", seq).to_json())).await.unwrap();
    }
    // live over wss:// to the dashboard …
    let mut seen = 0;
    while seen < 3 {
        if let Message::TelemetryUpdate(u) = next(&mut dash).await {
            seen = u.sequence.unwrap_or(0);
        }
    }
    // … and stored in the wss:// cloud.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store.samples_of("drv-1") != vec![1, 2, 3] {
        assert!(tokio::time::Instant::now() < deadline, "uplink over wss:// got {:?}", store.samples_of("drv-1"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A plain-text client is not served on the TLS port.
    let plain = tokio_tungstenite::connect_async(format!("ws://{}/", relay.addr())).await;
    assert!(plain.is_err(), "plain ws:// must not work on a wss:// listener");
    relay.shutdown().await;
}

#[tokio::test]
async fn unusable_certificate_is_a_clear_start_error() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("cert.pem");
    std::fs::write(&bogus, "not a certificate").unwrap();
    let mut cfg = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"), Verifier::new());
    cfg.tls = Some((bogus.clone(), dir.path().join("missing-key.pem")));
    let err = pitbox_relay::start(cfg).await.err().expect("refused");
    assert!(matches!(err, RelayError::Tls(_)), "{err}");
    assert!(err.to_string().contains("cert.pem"), "names the file: {err}");
}

/// A JWKS endpoint whose document the test swaps, and which can go away.
struct JwksServer {
    addr: SocketAddr,
    doc: Arc<Mutex<String>>,
    stop: tokio::sync::oneshot::Sender<()>,
}

async fn jwks_server(doc: String) -> JwksServer {
    let doc = Arc::new(Mutex::new(doc));
    let d = doc.clone();
    let app = Router::new().route(
        "/api/auth/jwks",
        get(move || {
            let d = d.clone();
            async move { d.lock().unwrap().clone() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    JwksServer { addr, doc, stop }
}

async fn try_auth(addr: SocketAddr, token: &str) -> bool {
    let mut c = common::Client::connect(&format!("ws://{addr}/")).await;
    c.authenticate(token, ClientType::Dashboard).await.success
}

#[tokio::test]
async fn token_keys_from_the_cloud_rotate_and_survive_an_outage() {
    let old = KeyPair::generate().unwrap();
    let new = KeyPair::generate().unwrap();
    let tok = |pair: &KeyPair| {
        Signer::new(pair, "pitbox-cloud").issue("eng-1", UserRole::Engineer, TEAM, None, DEFAULT_TTL).unwrap().0
    };
    let server = jwks_server(old.jwks().to_string()).await;
    let url = format!("http://{}/api/auth/jwks", server.addr);
    let dir = tempfile::tempdir().unwrap();
    let start = |data: PathBuf| {
        let url = url.clone();
        async move {
            // Only the cloud's keys: no offline key pair, no key files.
            let mut cfg = RelayConfig::new("127.0.0.1:0".parse().unwrap(), data, Verifier::new());
            cfg.jwks = Some(JwksConfig { url, refresh: Duration::from_millis(300) });
            pitbox_relay::start(cfg).await.unwrap()
        }
    };
    let relay = start(dir.path().join("data")).await;
    assert!(try_auth(relay.addr(), &tok(&old)).await, "keys fetched at start");
    assert!(!try_auth(relay.addr(), &tok(&new)).await, "a key the cloud has not published yet");

    // The cloud rotates its key: a token with the new key is accepted soon after.
    *server.doc.lock().unwrap() = new.jwks().to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !try_auth(relay.addr(), &tok(&new)).await {
        assert!(tokio::time::Instant::now() < deadline, "the rotated key was never fetched");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The cloud goes away: the last good set stays in use.
    let _ = server.stop.send(());
    let failures = || relay.metrics().jwks_failures.load(std::sync::atomic::Ordering::Relaxed);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while failures() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no refresh was attempted while the cloud was down");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(try_auth(relay.addr(), &tok(&new)).await, "last good keys kept while the cloud is down");
    relay.shutdown().await;

    // Restarted during the outage, the relay still knows the keys (saved in its data dir).
    let relay = start(dir.path().join("data")).await;
    assert!(try_auth(relay.addr(), &tok(&new)).await);
    assert!(!try_auth(relay.addr(), &tok(&old)).await, "the retired key is gone");
    relay.shutdown().await;
}
