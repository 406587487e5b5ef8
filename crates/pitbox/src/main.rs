//! `pitbox`: one binary, a subcommand per role. Thin: parses the command line, sets up logging
//! and configuration, and hands over to the crates that do the work.

mod config;
mod protocol_cmd;

use std::process::ExitCode;

use anyhow::Result;
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
    Demo,
    /// Run the cloud backend (HTTP API, WebSocket hub, storage, dashboard).
    Cloud,
    /// Run the relay: the WebSocket hub on the driver's side, forwarding to the cloud.
    Relay,
    /// Run the driver agent: reads the sim, streams to the relay, speaks coaching.
    Driver,
    /// Read iRacing .ibt telemetry files (info, laps, export, live dump).
    Ibt(pitbox_irsdk::cli::IbtArgs),
    /// Analyse laps and coach: where the time goes.
    Coach(pitbox_coach::cli::CoachArgs),
    /// Speech out and voice commands in.
    Voice,
    /// Manage user accounts of a cloud's database.
    User,
    /// Manage teams of a cloud's database.
    Team,
    /// Print a token signed with a relay's offline key (for a relay with no cloud).
    Token(pitbox_auth::cli::TokenArgs),
    /// Check every component and print what is wrong.
    Doctor,
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
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the configuration reference as Markdown (docs/configuration.md is this output).
    Reference,
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

/// A subcommand whose issue has not landed: say so plainly, never pretend.
fn not_built(command: &str, issue: u32, what: &str) -> Result<ExitCode> {
    eprintln!("pitbox {command}: not built yet — {what} (issue #{issue}).");
    Ok(ExitCode::from(2))
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo => {
            println!("pitbox demo will start a whole team on this machine (issue #10):");
            println!("  - cloud on http://127.0.0.1:8080 with the dashboard, SQLite and local files");
            println!("  - relay on ws://127.0.0.1:8765");
            println!("  - three simulated drivers sharing one car in an endurance race against a 20-car field");
            println!("  - coaching after every lap, a driver handoff at the first pit stop, spoken callouts");
            not_built("demo", 10, "the parts it runs are still being built")
        }
        Command::Cloud => not_built("cloud", 5, "the cloud backend"),
        Command::Relay => not_built("relay", 4, "the relay agent"),
        Command::Driver => not_built("driver", 8, "the driver agent and telemetry sources"),
        Command::Ibt(args) => pitbox_irsdk::cli::run(args).map(|()| ExitCode::SUCCESS),
        Command::Coach(args) => pitbox_coach::cli::run(args).map(|()| ExitCode::SUCCESS),
        Command::Voice => not_built("voice", 7, "speech out and voice commands"),
        Command::User => not_built("user", 5, "accounts live in the cloud backend"),
        Command::Team => not_built("team", 5, "teams live in the cloud backend"),
        Command::Token(args) => pitbox_auth::cli::run_token(args).map(|()| ExitCode::SUCCESS),
        Command::Doctor => not_built("doctor", 10, "component checks"),
        Command::Bench { target: BenchTarget::Ibt { file } } => {
            pitbox_irsdk::cli::bench(&file).map(|()| ExitCode::SUCCESS)
        }
        Command::Bench { target: BenchTarget::Coach } => pitbox_coach::cli::bench().map(|()| ExitCode::SUCCESS),
        Command::Protocol(args) => protocol_cmd::run(args),
        Command::Config { command: ConfigCommand::Reference } => {
            print!("{}", config::reference(&<Cli as clap::CommandFactory>::command()));
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
    let cli = Cli::parse();
    init_logging(&cli.log);
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
