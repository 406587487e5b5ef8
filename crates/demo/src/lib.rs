//! `pitbox demo`: starts a whole team on this machine — cloud (SQLite, local files), relay and
//! simulated drivers sharing one car in an endurance race — and prints the dashboard URL and the
//! demo logins.

/// Arguments of `pitbox demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {}

/// Runs the demo until Ctrl-C (blocking: starts its own async runtime).
pub fn run(_args: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("pitbox demo: not built yet (issue #10)")
}
