//! `cargo run -p pitbox-driver --example agent -- --source sim --voice-out DIR --voice-in DIR`:
//! the driver agent without building the whole `pitbox` binary (same flags as `pitbox driver`).
use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    driver: pitbox_driver::cli::DriverArgs,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber_init();
    match pitbox_driver::cli::run(Cli::parse().driver) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, `info` unless `RUST_LOG` says otherwise.
fn tracing_subscriber_init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
