//! `pitbox bench ingest` runs end to end (a short, small run; the figures of a debug build mean
//! nothing, only that every acknowledged sample was found in storage).

#[tokio::test]
async fn bench_ingest_runs_and_verifies_storage() {
    let args = pitbox_cloud::bench::IngestBenchArgs {
        seconds: 1,
        connections: 4,
        relays: 2,
        batch_size: 100,
        window: 2,
        postgres_url: None,
    };
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("b.db").display());
    let f = pitbox_cloud::bench::measure(&args, &url, "SQLite").await.expect("bench");
    assert!(f.http_requests > 0 && f.http_errors == 0, "{f:?}");
    assert!(f.uplink_samples > 0 && f.stored_verified, "{f:?}");
}
