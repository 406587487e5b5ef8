//! `pitbox bench ingest` without the `pitbox` binary:
//! `cargo run --release -p pitbox-cloud --example bench_ingest -- --seconds 5`.

use clap::Parser;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    bench: pitbox_cloud::bench::IngestBenchArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pitbox_cloud::bench::run(&Args::parse().bench).await
}
