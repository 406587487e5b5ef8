//! `pitbox bench ingest`.

use clap::Args;

/// `pitbox bench ingest`.
#[derive(Debug, Clone, Args)]
pub struct IngestBenchArgs {
    /// Seconds per measurement
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
}

/// Runs the benchmark.
pub async fn run(_args: &IngestBenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("pitbox bench ingest is not built yet")
}
