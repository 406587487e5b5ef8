//! `cargo run --release -p pitbox-relay --example bench_relay -- --relay-bin target/release/pitbox-relay-testnode`:
//! the same benchmark as `pitbox bench relay`, runnable before the `pitbox` binary is built.

use clap::Parser;

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    bench: pitbox_relay::bench::BenchArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pitbox_relay::bench::run_bench(Cli::parse().bench).await
}
