//! `pitbox-relay-testnode`: the relay as a standalone process, for tests that kill it and for the
//! benchmark before it is wired into `pitbox`. Same arguments as `pitbox relay`.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "pitbox-relay-testnode")]
struct Cli {
    #[command(flatten)]
    relay: pitbox_relay::cli::RelayArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    pitbox_relay::cli::run(Cli::parse().relay).await
}
