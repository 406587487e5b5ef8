//! `pitbox token`: prints a token signed with a data directory's offline key pair, for a relay
//! that runs without a cloud. The relay itself only ever loads the public half.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use pitbox_model::UserRole;

use crate::{DEFAULT_TTL, KeyPair, Signer};

/// Issuer written into offline tokens.
pub const OFFLINE_ISSUER: &str = "pitbox-offline";

/// Arguments of `pitbox token`.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// Data directory holding the offline key pair (created on first use), e.g. the relay's.
    #[arg(long, value_name = "DIR", env = "PITBOX_TOKEN_DATA_DIR")]
    pub data_dir: PathBuf,
    /// User id (the token's `sub`).
    #[arg(long, value_name = "ID")]
    pub user_id: String,
    /// Role: driver, engineer, viewer or admin.
    #[arg(long, value_parser = parse_role)]
    pub role: UserRole,
    /// Team id.
    #[arg(long, value_name = "TEAM")]
    pub team: String,
    /// Lifetime, e.g. `24h`, `30m`, `7d`.
    #[arg(long, default_value = "24h", value_parser = parse_ttl)]
    pub ttl: Duration,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Print the claims as JSON on stderr too.
    #[arg(long)]
    pub verbose: bool,
    /// A relay's credential (scope `relay`) instead of a user's token: `--user-id` names the
    /// relay, `--team` the team it forwards; `--role` is ignored.
    #[arg(long)]
    pub relay: bool,
}

fn parse_role(s: &str) -> Result<UserRole, String> {
    s.parse::<UserRole>().map_err(|e| e.to_string())
}

fn parse_ttl(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (e.g. 24h, 30m, 7d)"))?;
    if d.is_zero() || d > Duration::from_secs(366 * 86_400) {
        return Err("must be between 1s and 366d".into());
    }
    Ok(d)
}

/// Runs `pitbox token`: prints the token on stdout.
pub fn run_token(args: TokenArgs) -> anyhow::Result<()> {
    let token = make_token(&args)?;
    println!("{token}");
    Ok(())
}

/// The token `pitbox token` would print.
pub fn make_token(args: &TokenArgs) -> anyhow::Result<String> {
    let (pair, created) = KeyPair::load_or_create(&args.data_dir)
        .with_context(|| format!("loading the key pair in {}", args.data_dir.display()))?;
    if created {
        eprintln!("created a new offline key pair in {}", crate::key_dir(&args.data_dir).display());
    }
    let signer = Signer::new(&pair, OFFLINE_ISSUER);
    let ttl = if args.ttl.is_zero() { DEFAULT_TTL } else { args.ttl };
    let (token, claims) = if args.relay {
        signer.issue_relay(&args.user_id, &args.team, args.name.as_deref(), ttl)?
    } else {
        signer.issue(&args.user_id, args.role, &args.team, args.name.as_deref(), ttl)?
    };
    if args.verbose {
        eprintln!("{}", serde_json::to_string_pretty(&claims)?);
    }
    Ok(token)
}

/// Whether `flag` (e.g. `--master-key`) was given on this process's command line, where every
/// user of the machine can read it (`ps`), rather than through a file or the environment.
pub fn secret_on_command_line(flag: &str) -> bool {
    let with_value = format!("{flag}=");
    std::env::args_os().any(|a| a.to_str().is_some_and(|a| a == flag || a.starts_with(&with_value)))
}

/// Warns on stderr when the secret `flag` was given on the command line; `instead` says what to
/// use (its `-file` variant or environment variable).
pub fn warn_secret_flag(flag: &str, instead: &str) {
    if secret_on_command_line(flag) {
        eprintln!(
            "warning: {flag} on the command line is visible to every user of this machine in the process list; \
             use {instead} instead"
        );
    }
}
