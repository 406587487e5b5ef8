//! Telemetry chunks in S3-compatible storage: a local moto server (PyPI `moto[server]`) started
//! by the test on a loopback port; skipped with a message where moto is not installed.

mod common;

use std::process::Stdio;
use std::time::Duration;

use axum::http::StatusCode;
use common::{App, Db, Opts, telemetry_post};

struct Moto(std::process::Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_moto() -> Option<(Moto, u16)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let moto = Moto(child);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Some((moto, port));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test]
async fn chunks_round_trip_through_s3() {
    let Some((_moto, port)) = start_moto().await else {
        pitbox_testkit::skip(
            "chunks_round_trip_through_s3",
            "moto_server could not be started (pip install 'moto[server]')",
        );
        return;
    };
    // Create the bucket (moto accepts unsigned requests).
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let mut c = pitbox_cloud::httpc::Client::connect(addr).await.expect("moto");
    let r = c.request("PUT", "/pitbox-test", None, None).await.expect("create bucket");
    assert!(r.status == 200, "create bucket: {} {}", r.status, String::from_utf8_lossy(&r.body));
    let endpoint = format!("http://127.0.0.1:{port}");
    let opts = [
        ("aws_endpoint", endpoint.as_str()),
        ("aws_access_key_id", "test"),
        ("aws_secret_access_key", "test"),
        ("aws_region", "us-east-1"),
        ("aws_allow_http", "true"),
    ];
    let objects = pitbox_cloud::objects::Objects::from_url_with("s3://pitbox-test/cloud", &opts).expect("s3");
    objects.put("probe/a", b"hello".to_vec()).await.expect("put");
    assert_eq!(&objects.get("probe/a").await.expect("get")[..], b"hello");

    let Some(app) = App::start(Db::Sqlite, "s3", Opts { objects: Some(objects.clone()), ..Opts::default() }).await
    else {
        return;
    };
    let d = app.driver.id.clone();
    for k in 0..5 {
        let (s, _) = app
            .as_user(&app.driver, "POST", "/api/telemetry", Some(telemetry_post(&d, 1_790_000_000_000 + k * 16, 1)))
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let n = pitbox_cloud::telemetry::compact(&app.state.store, &objects, 0, true).await.expect("compact");
    assert_eq!(n, 1);
    let (_, sessions) = app.as_user(&app.viewer, "GET", "/api/sessions", None).await;
    let sid = sessions[0]["id"].as_str().expect("session").to_string();
    let (_, laps) = app.as_user(&app.viewer, "GET", &format!("/api/sessions/{sid}/laps"), None).await;
    let lap = laps[0]["id"].as_str().expect("lap").to_string();
    let (s, v) = app.as_user(&app.viewer, "GET", &format!("/api/laps/{lap}/telemetry?channels=speed"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["sampleCount"], 5);
    // The chunk really is in the bucket.
    let mut c = pitbox_cloud::httpc::Client::connect(addr).await.expect("moto");
    let r = c.request("GET", "/pitbox-test?list-type=2&prefix=cloud/telemetry/", None, None).await.expect("list");
    assert!(String::from_utf8_lossy(&r.body).contains(".pbc.zst"), "{}", String::from_utf8_lossy(&r.body));
}
