//! `pitbox bench relay`.

/// Arguments of `pitbox bench relay`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {}

/// Runs the relay benchmark.
pub async fn run_bench(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("pitbox bench relay: not built yet")
}
