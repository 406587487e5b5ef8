//! The cloud's PostgreSQL and Redis clients over TLS, as managed services require (DigitalOcean's
//! PostgreSQL takes `sslmode=require`, its Valkey `rediss://`). PostgreSQL: the loopback server
//! of `PITBOX_TEST_DATABASE_URL` (Debian's has TLS on, with its snakeoil certificate). Redis: a
//! `redis-server` started here with a TLS port on that same certificate.

mod common;

use std::time::Duration;

use pitbox_model::Message;

fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

#[tokio::test]
async fn postgres_over_tls() {
    let Some(db) = common::TestDb::new(common::Db::Postgres, "postgres_over_tls").await else { return };
    let tls_url = with_param(&db.url, "sslmode=require");
    let store = match pitbox_cloud::Store::open(&tls_url).await {
        Ok(s) => s,
        Err(e) if e.to_string().contains("does not support TLS") || e.to_string().contains("SSL") => {
            pitbox_testkit::skip("postgres_over_tls", &format!("the PostgreSQL server has no TLS: {e}"));
            return;
        }
        Err(e) => panic!("store over TLS: {e}"),
    };
    store.create_team("tls team").await.expect("write over TLS");
    // Every connection the store holds to its database is encrypted, as the server sees it.
    let admin = std::env::var("PITBOX_TEST_DATABASE_URL").expect("set when TestDb is Some");
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.expect("admin connection");
    let name = db.url.rsplit('/').next().expect("database name").to_string();
    let row: (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_ssl s \
         JOIN pg_stat_activity a ON a.pid = s.pid WHERE a.datname = $1",
    )
    .bind(&name)
    .fetch_one(&mut conn)
    .await
    .expect("pg_stat_ssl");
    assert!(row.0 >= 1, "the store holds connections to {name}");
    assert_eq!(row.0, row.1, "every connection of the store uses TLS");
    drop(store);

    // Asked to verify the server (verify-full), the self-signed test certificate is refused with
    // a reason — the client does check certificates when told to.
    let strict = with_param(&db.url, "sslmode=verify-full");
    let Err(err) = pitbox_cloud::Store::open(&strict).await else {
        panic!("a self-signed certificate is not trusted under verify-full")
    };
    let msg = err.to_string().to_lowercase();
    assert!(msg.contains("certificate") || msg.contains("tls") || msg.contains("issuer"), "{msg}");
}

const CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
const KEY: &str = "/etc/ssl/private/ssl-cert-snakeoil.key";

struct TlsRedis {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A redis-server with only a TLS port, or the reason there is none.
async fn tls_redis() -> Result<TlsRedis, String> {
    if std::fs::read(KEY).is_err() || std::fs::read(CERT).is_err() {
        return Err(format!("{CERT} and {KEY} are not readable here"));
    }
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let child = std::process::Command::new("redis-server")
        .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--tls-cert-file", CERT, "--tls-key-file", KEY, "--tls-auth-clients", "no"])
        .args(["--save", "", "--appendonly", "no", "--dir"])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("redis-server: {e}"))?;
    let server = TlsRedis { child, port, _dir: dir };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("redis-server did not open its TLS port (built without TLS?)".into())
}

fn sample(driver: &str) -> Message {
    serde_json::from_value(serde_json::json!({"type": "driver_status", "data": {
        "driverId": driver, "status": "active", "telemetryConnected": true, "inCar": true,
        "lastActive": "2026-11-27T00:00:00Z"}}))
    .expect("driver_status")
}

#[tokio::test]
async fn redis_bus_over_tls() {
    let server = match tls_redis().await {
        Ok(s) => s,
        Err(why) => {
            pitbox_testkit::skip("redis_bus_over_tls", &why);
            return;
        }
    };
    // `#insecure`: the test certificate is self-signed; a managed service's is verified.
    let url = format!("rediss://127.0.0.1:{}/#insecure", server.port);
    let a = pitbox_cloud::bus::Bus::redis(&url, "node-a").await.expect("node A over TLS");
    let b = pitbox_cloud::bus::Bus::redis(&url, "node-b").await.expect("node B over TLS");
    let mut rx = b.subscribe();
    // Subscriptions settle asynchronously: publish until one arrives (bounded).
    let mut got = None;
    for _ in 0..40 {
        a.publish("team-tls", sample("drv-1"));
        if let Ok(Ok(ev)) = tokio::time::timeout(Duration::from_millis(150), rx.recv()).await {
            got = Some(ev);
            break;
        }
    }
    let ev = got.expect("an event published on node A reached node B through Redis over TLS");
    assert_eq!(ev.team_id, "team-tls");
    assert!(matches!(&ev.message, Message::DriverStatus(s) if s.driver_id == "drv-1"));

    // Verifying (no #insecure), the self-signed certificate is refused with a reason.
    let strict = format!("rediss://127.0.0.1:{}/", server.port);
    let Err(err) = pitbox_cloud::bus::Bus::redis(&strict, "node-c").await else {
        panic!("an untrusted certificate is refused without #insecure")
    };
    let msg = err.to_string().to_lowercase();
    assert!(msg.contains("certificate") || msg.contains("tls") || msg.contains("issuer"), "{msg}");
}
