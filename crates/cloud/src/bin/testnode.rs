//! A cloud node for process-level tests (kill -9 during ingest, two nodes over Redis): the
//! library's `pitbox cloud` with its arguments, nothing else.

use clap::Parser;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    cloud: pitbox_cloud::cli::CloudArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    pitbox_cloud::cli::run_cloud(&args.cloud).await
}
