//! `pitbox doctor`: checks every component (sim, relay, cloud, clock, storage, database, Redis,
//! S3, audio, speech engines) and reports each as the spec's `ValidationResult`.

use std::process::ExitCode;

/// Arguments of `pitbox doctor`.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {}

/// Runs the checks and prints them; the exit code says whether any failed.
pub fn run(_args: DoctorArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("pitbox doctor: not built yet (issue #10)")
}
