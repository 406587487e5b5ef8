//! `pitbox bench relay --relay-url`: the load generator drives a relay started elsewhere (here,
//! one started in this process) with tokens signed by the key pair that relay trusts, and reads
//! the relay's CPU and memory from its `/metrics`.

mod common;

use std::time::Duration;

use common::Env;
use pitbox_relay::bench::{BenchArgs, bench};

fn args(env: &Env) -> BenchArgs {
    BenchArgs {
        drivers: 2,
        hz: 60.0,
        dashboards: 4,
        teams: 1,
        sub_hz: 20.0,
        duration: Duration::from_millis(1_500),
        warmup: Duration::from_millis(500),
        relay_bin: None,
        no_uplink: false,
        relay_url: Some(env.url.clone()),
        token_data_dir: Some(env.dir.path().to_path_buf()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drives_a_relay_started_elsewhere_and_reads_its_figures_from_metrics() {
    let env = Env::start(|_| {}).await;
    let report = bench(&args(&env)).await.expect("bench");
    // 2 drivers × 60 Hz in; 4 dashboards × 2 drivers × 20 Hz out.
    assert!((60.0..=130.0).contains(&report.inbound_per_sec), "{report}");
    assert!((60.0..=170.0).contains(&report.outbound_per_sec), "{report}");
    assert!(report.p50_ms.is_finite() && report.p50_ms > 0.0 && report.p99_ms >= report.p50_ms, "{report}");
    assert!(report.cpu_percent > 0.0, "{report}");
    assert!(report.peak_rss_mb > 1.0, "{report}");
    assert!(report.remote && report.uplink_sent == 0, "{report}");
    assert!(report.to_string().contains("not checked (a relay started elsewhere)"), "{report}");
}

#[tokio::test]
async fn refuses_a_relay_url_it_cannot_use_with_the_reason() {
    let env = Env::start(|_| {}).await;
    let no_keys = tempfile::tempdir().expect("tmp");
    let mut a = args(&env);
    a.token_data_dir = Some(no_keys.path().to_path_buf());
    let e = bench(&a).await.expect_err("no key pair").to_string();
    assert!(e.contains("no key pair in") && e.contains("token-signing.ed25519.pem"), "{e}");

    let mut a = args(&env);
    a.relay_url = Some("wss://relay.example:8765/".into());
    let e = bench(&a).await.expect_err("wss").to_string();
    assert!(e.contains("must be ws://HOST:PORT/"), "{e}");
}
