//! `pitbox`: one binary, a subcommand per role. Thin: parses the command line, sets up logging
//! and configuration, and hands over to the crates that do the work.

mod config;
mod glass;
mod protocol_cmd;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// PitBox — live telemetry, an AI race engineer and a web pit wall for sim-racing teams.
///
/// Start with `pitbox demo` (a whole simulated team on this machine). Settings come from, in
/// order of precedence: command-line flags, environment variables (`PITBOX_…`, shown in each
/// command's --help), the config file (`--config FILE`, `PITBOX_CONFIG`, or ./pitbox.toml), and
/// built-in defaults.
#[derive(Debug, Parser)]
#[command(name = "pitbox", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    /// Config file (TOML). Its `[section] key = value` sets `PITBOX_SECTION_KEY`.
    #[arg(long, global = true, value_name = "FILE", env = "PITBOX_CONFIG")]
    config: Option<std::path::PathBuf>,

    /// Log filter, e.g. `info`, `debug`, `pitbox_relay=trace` (RUST_LOG overrides it).
    #[arg(long, global = true, env = "PITBOX_LOG", default_value = "info")]
    log: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a full demo team on this machine: cloud, relay, simulated drivers, dashboard.
    Demo(pitbox_demo::DemoArgs),
    /// Run the cloud backend (HTTP API, WebSocket hub, storage, dashboard).
    Cloud(pitbox_cloud::cli::CloudArgs),
    /// Run the relay: the WebSocket hub on the driver's side, forwarding to the cloud.
    Relay(pitbox_relay::cli::RelayArgs),
    /// Run the driver agent: reads the sim, streams to the relay, speaks coaching.
    Driver(Box<pitbox_driver::cli::DriverArgs>),
    /// Run the built-in simulator: a seeded race session as iRacing telemetry (live or an .ibt).
    Sim(pitbox_sources::cli::SimArgs),
    /// Read iRacing .ibt telemetry files (info, laps, export, live dump).
    Ibt(pitbox_irsdk::cli::IbtArgs),
    /// Analyse laps and coach: where the time goes.
    Coach(pitbox_coach::cli::CoachArgs),
    /// Speech out and voice commands in.
    Voice(pitbox_voice::cli::VoiceArgs),
    /// Manage user accounts of a cloud's database.
    User(pitbox_cloud::cli::UserArgs),
    /// Manage teams of a cloud's database.
    Team(pitbox_cloud::cli::TeamArgs),
    /// Print a token signed with a relay's offline key (for a relay with no cloud).
    Token(pitbox_auth::cli::TokenArgs),
    /// Check every component and print what is wrong.
    Doctor(pitbox_doctor::DoctorArgs),
    /// Measure performance and print the figures.
    Bench {
        #[command(subcommand)]
        target: BenchTarget,
    },
    /// Work with the wire protocol: validate messages, list types, write JSON Schemas.
    Protocol(protocol_cmd::ProtocolArgs),
    /// Show the configuration reference: every setting, its variable and default.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum BenchTarget {
    /// Reading an .ibt file: 5 channels and every variable of every row, and one live row.
    Ibt {
        /// The .ibt file to read (e.g. ../shared/data/ibt/gmartsenkov__itelem__amg.ibt).
        file: std::path::PathBuf,
    },
    /// Lap analysis: one 120 s lap at 60 Hz, and a 60-lap stint.
    Coach,
    /// The relay under load: drivers and dashboards over loopback, a cloud stand-in.
    Relay(pitbox_relay::bench::BenchArgs),
    /// Cloud ingest: REST posts and relay uplink batches into SQLite (and PostgreSQL if given).
    Ingest(pitbox_cloud::bench::IngestBenchArgs),
    /// Speech: synthesis and command recognition times.
    Voice,
    /// The simulator: sim seconds per wall-clock second and per-tick cost.
    Sim,
    /// The driver agent at 60 Hz with the simulator: CPU and memory.
    Driver,
    /// Live video: the test pattern at 720p30 through openh264 and the driver's sender: encode
    /// time per frame, CPU % of one core, bitrate, telemetry latency with and without video, and
    /// glass-to-glass (capture → decoded in Chromium through relay and cloud on loopback).
    Video {
        /// How long to run, seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Skip the glass-to-glass run in Chromium (it needs Node, Debian's chromium and the
        /// source tree's dashboard/).
        #[arg(long)]
        no_browser: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the configuration reference as Markdown (docs/configuration.md is this output).
    Reference,
}

fn init_logging(filter: &str) {
    // RUST_LOG wins over --log; either way the WebSocket library's frame dumps (JWTs in
    // `authenticate`) stay off unless named explicitly.
    let spec = std::env::var("RUST_LOG").ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| filter.to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(pitbox_hub::log_filter::cap_frame_logging(&spec))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: a log redirected to a file gets plain text, not escape codes.
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
}

/// Runs an async entry point on a multi-threaded runtime.
fn block_on<F: std::future::Future<Output = Result<()>>>(future: F) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(future).map(|()| ExitCode::SUCCESS)
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo(args) => pitbox_demo::run(args).map(|()| ExitCode::SUCCESS),
        Command::Cloud(args) => block_on(async move { pitbox_cloud::cli::run_cloud(&args).await }),
        Command::Relay(args) => block_on(pitbox_relay::cli::run(args)),
        Command::Driver(args) => pitbox_driver::cli::run(*args),
        Command::Sim(args) => pitbox_sources::cli::run_sim(args),
        Command::Ibt(args) => pitbox_irsdk::cli::run(args).map(|()| ExitCode::SUCCESS),
        Command::Coach(args) => pitbox_coach::cli::run(args).map(|()| ExitCode::SUCCESS),
        Command::Voice(args) => pitbox_voice::cli::run(args).map(|()| ExitCode::SUCCESS),
        Command::User(args) => block_on(async move { pitbox_cloud::cli::run_user(&args).await }),
        Command::Team(args) => block_on(async move { pitbox_cloud::cli::run_team(&args).await }),
        Command::Token(args) => pitbox_auth::cli::run_token(args).map(|()| ExitCode::SUCCESS),
        Command::Doctor(args) => pitbox_doctor::run(args),
        Command::Bench { target } => run_bench(target),
        Command::Protocol(args) => protocol_cmd::run(args),
        Command::Config { command: ConfigCommand::Reference } => {
            print!("{}", config::reference(&<Cli as clap::CommandFactory>::command()));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_bench(target: BenchTarget) -> Result<ExitCode> {
    match target {
        BenchTarget::Ibt { file } => pitbox_irsdk::cli::bench(&file).map(|()| ExitCode::SUCCESS),
        BenchTarget::Coach => pitbox_coach::cli::bench().map(|()| ExitCode::SUCCESS),
        BenchTarget::Relay(args) => block_on(pitbox_relay::bench::run_bench(args)),
        BenchTarget::Ingest(args) => block_on(async move { pitbox_cloud::bench::run(&args).await }),
        BenchTarget::Voice => pitbox_voice::cli::bench().map(|()| ExitCode::SUCCESS),
        BenchTarget::Sim => {
            pitbox_sources::bench::bench().context("simulator benchmark")?;
            Ok(ExitCode::SUCCESS)
        }
        BenchTarget::Driver => pitbox_driver::bench::bench().map(|_| ExitCode::SUCCESS),
        BenchTarget::Video { seconds, no_browser } => {
            pitbox_driver::video::bench(seconds)?;
            if no_browser {
                println!("glass-to-glass: skipped (--no-browser)");
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "glass-to-glass: pitbox cloud + relay + driver --video test-pattern (1280x720, 30 fps) on loopback → \
                 /video in headless Chromium, {seconds} s"
            );
            match glass::measure(seconds) {
                Ok(g) => {
                    println!(
                        "  capture → decoded in Chromium: p50 {:.0} ms, p95 {:.0} ms over {} pictures (goal p95 ≤ 250 ms)",
                        g.p50_ms, g.p95_ms, g.pictures
                    );
                    if let Some(ms) = g.late_viewer_ms {
                        println!("  a viewer opened late drew its first picture after {ms:.0} ms");
                    }
                }
                Err(why) => println!("  not measured: {why}"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // The config file feeds the environment before clap reads it (see config.rs).
    let config_file = match config::apply(&args) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let mut cli = Cli::parse();
    // The driver's window writes its settings to the file the agent was started with.
    if let Command::Driver(d) = &mut cli.command {
        d.config_file = config_file.clone().or_else(|| cli.config.clone());
    }
    init_logging(&cli.log);
    // One TLS crypto provider for every client in the process (PostgreSQL, Redis, S3, relay
    // uplink), so no library has to guess when more than one is compiled in.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if let Some(file) = &config_file {
        tracing::debug!(file = %file.display(), "loaded config file");
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
