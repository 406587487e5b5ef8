//! # pitbox-doctor — `pitbox doctor`
//!
//! This crate owns the health check of a PitBox installation: it checks every component (the
//! sim, the relay and its authentication, the cloud, the clock, storage, the database's
//! migrations, Redis, S3, the sound card, the speech engines) and reports each as the spec's
//! `ValidationResult` ([`pitbox_model::rest::ValidationResult`]), as one line per check or as
//! JSON (`--json`). The exit code is 1 when any check is an error.
//!
//! With no flags (and no `PITBOX_*` variables) it checks the documented defaults every other
//! command uses: the relay at `ws://127.0.0.1:8765`, the cloud at `http://127.0.0.1:8080` and
//! the data folder `./pitbox-data` when it exists; a default address where nothing answers is
//! reported as not configured, not as an error.
//!
//! A component that is not configured is reported with status `warning`, a message starting
//! with `not configured:` and `details.configured = false`: it was not checked, which is worth
//! seeing, but it is not a fault (a single node needs no Redis).
//!
//! Entry points: [`DoctorArgs`] and [`run`] for the binary; [`Settings`] and [`check_all`] for
//! tests and other programs.

mod checks;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use pitbox_model::CheckStatus;
use pitbox_model::rest::ValidationResult;

pub use checks::relay::relay_url;
pub use report::{Summary, is_not_configured, render_human, summarize};

/// Arguments of `pitbox doctor`. Where a setting means the same as one of `pitbox driver` or
/// `pitbox cloud`, it reads the same variable, so the same config file configures both.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    /// Relay WebSocket URL, e.g. ws://127.0.0.1:8765 (a URL without a port gets --relay-port).
    /// Default: ws://127.0.0.1, reported as not configured when nothing answers there
    #[arg(long, env = "PITBOX_DRIVER_RELAY_URL")]
    pub relay_url: Option<String>,
    /// Relay port, used when --relay-url has none
    #[arg(long, env = "PITBOX_DRIVER_RELAY_PORT", default_value_t = 8765)]
    pub relay_port: u16,
    /// Token to authenticate to the relay with (from the cloud, or `pitbox token`)
    #[arg(long, env = "PITBOX_DRIVER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The driver agent's id, checked against the token's owner
    #[arg(long, env = "PITBOX_DRIVER_ID")]
    pub driver_id: Option<String>,
    /// The driver agent's data folder, whose login.json (`pitbox driver login`) is checked when
    /// no --token is given. Default: the agent's own default (%LOCALAPPDATA%\PitBox\driver on
    /// Windows, ~/.local/share/pitbox/driver elsewhere)
    #[arg(long, value_name = "DIR", env = "PITBOX_DRIVER_DATA_DIR")]
    pub driver_data_dir: Option<PathBuf>,
    /// Cloud base URL, e.g. http://127.0.0.1:8080. Default: http://127.0.0.1:8080, reported as
    /// not configured when nothing answers there
    #[arg(long, env = "PITBOX_DRIVER_CLOUD_ENDPOINT")]
    pub cloud_url: Option<String>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB (default: SQLite in --data-dir)
    #[arg(long, env = "PITBOX_CLOUD_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Redis URL, e.g. redis://127.0.0.1:6379
    #[arg(long, env = "PITBOX_CLOUD_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// NATS URL, e.g. nats://127.0.0.1:4222 (when the cloud's nodes share NATS)
    #[arg(long, env = "PITBOX_CLOUD_NATS_URL", hide_env_values = true)]
    pub nats_url: Option<String>,
    /// Telemetry object store: a directory, file:///DIR or s3://BUCKET/PREFIX (AWS_* variables
    /// configure S3) (default: objects/ in --data-dir)
    #[arg(long, env = "PITBOX_CLOUD_STORAGE_URL")]
    pub storage_url: Option<String>,
    /// The cloud's data directory (embedded database, signing key, telemetry objects). Default:
    /// ./pitbox-data when it exists
    #[arg(long, env = "PITBOX_CLOUD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Also trust the CA certificates in this PEM file for wss:// and https:// (e.g. a relay's
    /// self-signed certificate). May be repeated
    #[arg(long, value_name = "FILE", env = "PITBOX_DOCTOR_CA_FILE")]
    pub ca_file: Vec<PathBuf>,
    /// Longest wait for each network check, e.g. 5s, 500ms
    #[arg(long, env = "PITBOX_DOCTOR_TIMEOUT", default_value = "5s", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// Print the results as a JSON array of ValidationResult
    #[arg(long)]
    pub json: bool,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (e.g. 5s, 500ms)"))?;
    if d < Duration::from_millis(10) || d > Duration::from_secs(600) {
        return Err("must be between 10ms and 600s".into());
    }
    Ok(d)
}

/// What to check. `None` means not configured: that check reports so and does not run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The relay's full WebSocket URL (see [`relay_url`]).
    pub relay_url: Option<String>,
    /// `relay_url` is the default, not asked for: nothing there is "not configured".
    pub relay_default: bool,
    pub token: Option<String>,
    /// The driver agent's sign-in (`pitbox driver login`), when there is no `token`: where it
    /// is, and what it holds or why it cannot be read (`None` inside: not signed in).
    pub login: Option<(PathBuf, Result<Option<pitbox_auth::login::StoredLogin>, String>)>,
    /// The driver agent's id, checked against the token's owner.
    pub driver_id: Option<String>,
    /// The cloud's base URL (`http://` or `https://`).
    pub cloud_url: Option<String>,
    /// `cloud_url` is the default, not asked for: nothing there is "not configured".
    pub cloud_default: bool,
    /// The database URL; without it, `sqlite://DATA_DIR/pitbox.db` when `data_dir` is set.
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub nats_url: Option<String>,
    /// The object store; without it, `DATA_DIR/objects` when `data_dir` is set.
    pub storage_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    /// S3 options on top of the `AWS_*` environment, named as object_store names them
    /// (`aws_endpoint`, `aws_access_key_id`, `aws_allow_http` …).
    pub s3_options: Vec<(String, String)>,
    /// PEM files of extra CA certificates to trust for `wss://` and `https://`.
    pub ca_files: Vec<PathBuf>,
    /// Longest wait for each network step.
    pub timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            relay_url: None,
            relay_default: false,
            token: None,
            login: None,
            driver_id: None,
            cloud_url: None,
            cloud_default: false,
            database_url: None,
            redis_url: None,
            nats_url: None,
            storage_url: None,
            data_dir: None,
            s3_options: Vec::new(),
            ca_files: Vec::new(),
            timeout: Duration::from_secs(5),
        }
    }
}

/// The relay address every command uses by default.
pub const DEFAULT_RELAY_URL: &str = "ws://127.0.0.1";
/// The cloud address every command uses by default.
pub const DEFAULT_CLOUD_URL: &str = "http://127.0.0.1:8080";
/// The cloud's default data folder (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = "pitbox-data";

impl Settings {
    /// The settings `args` describe; what they leave out is the documented default.
    pub fn from_args(args: &DoctorArgs) -> Settings {
        let nonempty = |s: &Option<String>| s.as_ref().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let relay = nonempty(&args.relay_url);
        let cloud = nonempty(&args.cloud_url);
        let data_dir = args
            .data_dir
            .clone()
            .filter(|d| !d.as_os_str().is_empty())
            .or_else(|| Some(PathBuf::from(DEFAULT_DATA_DIR)).filter(|d| d.is_dir()));
        Settings {
            relay_default: relay.is_none(),
            relay_url: Some(relay_url(relay.as_deref().unwrap_or(DEFAULT_RELAY_URL), args.relay_port)),
            token: nonempty(&args.token),
            login: match nonempty(&args.token) {
                Some(_) => None,
                None => {
                    let dir = args.driver_data_dir.clone().unwrap_or_else(pitbox_driver::voice::default_data_dir);
                    let path = dir.join(pitbox_auth::login::LOGIN_FILE);
                    let got = pitbox_auth::login::StoredLogin::load(&path).map_err(|e| e.to_string());
                    Some((path, got))
                }
            },
            driver_id: nonempty(&args.driver_id),
            cloud_default: cloud.is_none(),
            cloud_url: Some(cloud.unwrap_or_else(|| DEFAULT_CLOUD_URL.to_string())),
            database_url: nonempty(&args.database_url),
            redis_url: nonempty(&args.redis_url),
            nats_url: nonempty(&args.nats_url),
            storage_url: nonempty(&args.storage_url),
            data_dir,
            s3_options: Vec::new(),
            ca_files: args.ca_file.clone(),
            timeout: args.timeout,
        }
    }

    /// The database URL in force, as `pitbox cloud` would use it.
    pub fn effective_database_url(&self) -> Option<String> {
        self.database_url
            .clone()
            .or_else(|| self.data_dir.as_ref().map(|d| format!("sqlite://{}", d.join("pitbox.db").display())))
    }

    /// The object store in force, as `pitbox cloud` would use it.
    pub fn effective_storage_url(&self) -> Option<String> {
        self.storage_url.clone().or_else(|| self.data_dir.as_ref().map(|d| d.join("objects").display().to_string()))
    }
}

/// Runs every check (at the same time) and returns the results in a fixed order: sim, relay,
/// uplink, token, cloud, clock, storage, s3, database, redis, nats, audio, tts, stt.
pub async fn check_all(settings: &Settings) -> Vec<ValidationResult> {
    let (sim, relay_cloud, storage, s3, database, redis, nats, audio, tts, stt) = tokio::join!(
        checks::local::sim(),
        async {
            let (relay, cloud, health) = tokio::join!(
                checks::relay::check(settings),
                checks::cloud::check(settings),
                checks::link::relay_health(settings)
            );
            let clock = checks::cloud::clock(&cloud.1, &relay.1);
            let mut relay_r = relay.0;
            checks::link::counters(&mut relay_r, health.as_ref());
            let uplink = checks::link::uplink(settings, health.as_ref());
            (relay_r, uplink, cloud.0, clock)
        },
        checks::storage::local(settings),
        checks::storage::s3(settings),
        checks::database::migrations(settings),
        checks::database::redis(settings),
        checks::database::nats(settings),
        checks::local::audio(),
        checks::local::tts(),
        checks::local::stt(),
    );
    let (relay, uplink, cloud, clock) = relay_cloud;
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    let token = checks::link::token(settings, now);
    vec![sim, relay, uplink, token, cloud, clock, storage, s3, database, redis, nats, audio, tts, stt]
}

/// `pitbox doctor`: runs the checks, prints them (lines, or JSON with `--json`) and returns 0
/// when none is an error, 1 otherwise.
pub fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_args(&args);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let results = runtime.block_on(check_all(&settings));
    if args.json {
        let text = serde_json::to_string_pretty(&results).context("encoding the results as JSON")?;
        println!("{text}");
    } else {
        print!("{}", render_human(&results));
    }
    let failed = results.iter().any(|r| r.status == CheckStatus::Error);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
