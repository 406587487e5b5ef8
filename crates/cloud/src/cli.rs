//! Command-line entry points for the `pitbox` binary: `pitbox cloud`, `pitbox user …`,
//! `pitbox team …`. Settings are clap args with `PITBOX_CLOUD_*` environment variables (the
//! binary exports its TOML config file into those variables).

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pitbox_model::UserRole;

use crate::secrets::MasterKey;
use crate::server::Config;
use crate::store::Store;

/// Where the database is (shared by `pitbox cloud`, `pitbox user`, `pitbox team`).
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Directory for the embedded database, signing key and telemetry objects
    // Global: `pitbox user list --data-dir X` and `pitbox user --data-dir X list` both work.
    #[arg(long, env = "PITBOX_CLOUD_DATA_DIR", default_value = "pitbox-data", global = true)]
    pub data_dir: PathBuf,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB (default: SQLite in --data-dir)
    #[arg(long, env = "PITBOX_CLOUD_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
}

impl DbArgs {
    /// The database URL in force.
    pub fn url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("pitbox.db").display()))
    }

    /// The database of a deployment that exists: an embedded one that is not there is an error
    /// naming the folder, never a new empty database (a command run in the wrong folder).
    async fn open_existing(&self) -> anyhow::Result<Store> {
        if self.database_url.is_none() {
            let db = self.data_dir.join("pitbox.db");
            if !db.exists() {
                anyhow::bail!(
                    "there is no PitBox database in {} ({} does not exist): give the cloud's --data-dir or --database-url, or create the first team with `pitbox team add NAME`",
                    self.data_dir.display(),
                    db.display()
                );
            }
        }
        self.open().await
    }

    async fn open(&self) -> anyhow::Result<Store> {
        if self.database_url.is_none() {
            std::fs::create_dir_all(&self.data_dir)
                .with_context(|| format!("creating data directory {}", self.data_dir.display()))?;
        }
        Store::open(&self.url()).await.context("opening the database")
    }
}

/// `pitbox cloud`: run a cloud node.
#[derive(Debug, Clone, Args)]
pub struct CloudArgs {
    /// Address to serve HTTP and WebSocket on
    #[arg(long, env = "PITBOX_CLOUD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub db: DbArgs,
    /// Redis URL for fan-out across nodes, shared login limits and the voice clip cache, e.g.
    /// redis://127.0.0.1:6379 (default: this node only)
    #[arg(long, env = "PITBOX_CLOUD_REDIS_URL")]
    pub redis_url: Option<String>,
    /// NATS URL for fan-out across nodes instead of Redis, e.g. nats://127.0.0.1:4222 (Redis,
    /// when also given, then only caches voice clips and shares login limits)
    #[arg(long, env = "PITBOX_CLOUD_NATS_URL")]
    pub nats_url: Option<String>,
    /// Telemetry object store: a directory, file:///DIR or s3://BUCKET/PREFIX (AWS_* variables
    /// configure S3) (default: objects/ in --data-dir)
    #[arg(long, env = "PITBOX_CLOUD_STORAGE_URL")]
    pub storage_url: Option<String>,
    /// Ed25519 token signing key (PKCS#8 PEM), created when missing; every node of a cluster
    /// needs the same file (default: keys/ in --data-dir)
    #[arg(long, env = "PITBOX_CLOUD_SIGNING_KEY_FILE")]
    pub signing_key_file: Option<PathBuf>,
    /// File holding the base64 master key that encrypts stored API keys
    #[arg(long, env = "PITBOX_CLOUD_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// The base64 master key itself (prefer --master-key-file)
    #[arg(long, env = "PITBOX_CLOUD_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    /// Name of this node in logs, /health and the bus (default: random)
    #[arg(long, env = "PITBOX_CLOUD_NODE_ID")]
    pub node_id: Option<String>,
    /// Seconds of telemetry gathered before a chunk is written to the object store (a finished
    /// lap is written at once)
    #[arg(long, env = "PITBOX_CLOUD_CHUNK_SECONDS", default_value_t = 30)]
    pub chunk_seconds: u64,
    /// Wrong passwords per username within the login window before logins are refused
    #[arg(long, env = "PITBOX_CLOUD_LOGIN_MAX_FAILURES", default_value_t = 5)]
    pub login_max_failures: usize,
    /// Login attempts per client address within the login window
    #[arg(long, env = "PITBOX_CLOUD_LOGIN_PER_IP", default_value_t = 30)]
    pub login_per_ip: usize,
    /// Login rate-limit window, seconds
    #[arg(long, env = "PITBOX_CLOUD_LOGIN_WINDOW_SECS", default_value_t = 300)]
    pub login_window_secs: u64,
    /// Proxies (addresses or networks, comma-separated) in front of the node whose
    /// X-Forwarded-For names the client, e.g. 10.0.0.0/8 (default: none; the peer is the client)
    #[arg(long, env = "PITBOX_CLOUD_TRUSTED_PROXIES", value_delimiter = ',', value_parser = crate::client_ip::parse_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Largest WebSocket frame accepted, bytes
    #[arg(long, env = "PITBOX_CLOUD_MAX_FRAME_BYTES", default_value_t = pitbox_model::protocol::DEFAULT_MAX_FRAME_BYTES)]
    pub max_frame_bytes: usize,
    /// Live samples must be stamped within this many hours of the server's clock (either side)
    #[arg(long, env = "PITBOX_CLOUD_SAMPLE_CLOCK_WINDOW_HOURS", default_value_t = 24)]
    pub sample_clock_window_hours: u64,
    /// Lifetime of access tokens (and of the relay credentials signed-in relays ask for), e.g.
    /// 24h, 60s; 10s to 24h. Signed-in driver agents and relays renew at 2/3 of it
    #[arg(long, env = "PITBOX_CLOUD_ACCESS_TOKEN_TTL", default_value = "24h", value_parser = parse_token_ttl)]
    pub access_token_ttl: Duration,
}

fn parse_token_ttl(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (e.g. 24h, 60s)"))?;
    if d < Duration::from_secs(10) || d > Duration::from_secs(crate::token::ACCESS_TTL_SECS as u64) {
        return Err(format!("must be between 10s and 24h, got {s}"));
    }
    Ok(d)
}

impl CloudArgs {
    /// The node configuration these arguments describe.
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut c = Config::local(&self.db.data_dir);
        c.listen = self.listen;
        c.database_url = self.db.url();
        if let Some(s) = &self.storage_url {
            c.storage_url = s.clone();
        }
        c.redis_url = self.redis_url.clone();
        c.nats_url = self.nats_url.clone();
        c.signing_key_file = self.signing_key_file.clone();
        if self.master_key.is_some() {
            pitbox_auth::cli::warn_secret_flag("--master-key", "--master-key-file or PITBOX_CLOUD_MASTER_KEY");
        }
        c.master_key = match (&self.master_key, &self.master_key_file) {
            (Some(k), _) => Some(MasterKey::from_base64(k).context("PITBOX_CLOUD_MASTER_KEY")?),
            (None, Some(f)) => {
                let text =
                    std::fs::read_to_string(f).with_context(|| format!("reading master key file {}", f.display()))?;
                Some(MasterKey::from_base64(&text).with_context(|| format!("master key file {}", f.display()))?)
            }
            (None, None) => None,
        };
        if let Some(n) = &self.node_id {
            c.node_id = n.clone();
        }
        if self.chunk_seconds == 0 {
            bail!("--chunk-seconds must be at least 1");
        }
        c.chunk_age = Duration::from_secs(self.chunk_seconds);
        c.compact_interval = Duration::from_secs(self.chunk_seconds.clamp(1, 5));
        c.login_max_failures = self.login_max_failures.max(1);
        c.login_per_ip = self.login_per_ip.max(1);
        c.login_window = Duration::from_secs(self.login_window_secs.max(1));
        c.max_frame_bytes = self.max_frame_bytes.max(1024);
        c.sample_clock_window = Duration::from_secs(self.sample_clock_window_hours.max(1).saturating_mul(3600));
        c.trusted_proxies = crate::client_ip::TrustedProxies::new(self.trusted_proxies.clone());
        c.access_token_ttl = self.access_token_ttl;
        Ok(c)
    }
}

/// Runs a cloud node until Ctrl-C or SIGTERM.
pub async fn run_cloud(args: &CloudArgs) -> anyhow::Result<()> {
    if args.db.database_url.is_none() {
        std::fs::create_dir_all(&args.db.data_dir)
            .with_context(|| format!("creating data directory {}", args.db.data_dir.display()))?;
    }
    let config = args.config()?;
    crate::server::serve(&config, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `pitbox user …`.
#[derive(Debug, Clone, Args)]
pub struct UserArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: UserCommand,
}

/// What `pitbox user` does. Every change that ends a user's access reaches running cloud nodes
/// of this database within seconds.
#[derive(Debug, Clone, Subcommand)]
pub enum UserCommand {
    /// Create a user
    Add(UserAddArgs),
    /// List users (id, username, role, team, flags)
    List,
    /// Set a new password (read from standard input); every earlier token of the user ends
    Passwd {
        /// Username or id
        user: String,
        /// Read the new password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role; their access tokens end (a refresh gets the new role)
    Role {
        /// Username or id
        user: String,
        /// admin, engineer, driver or viewer
        #[arg(value_parser = crate::accounts::parse_role)]
        role: UserRole,
    },
    /// Disable an account: no sign-in, every token refused
    Disable {
        /// Username or id
        user: String,
    },
    /// Enable a disabled account
    Enable {
        /// Username or id
        user: String,
    },
    /// Delete an account (what it wrote stays under its id); every token refused
    Delete {
        /// Username or id
        user: String,
        /// Confirm: deleting cannot be undone
        #[arg(long)]
        yes: bool,
    },
    /// Lift the login lock after too many wrong passwords, on every node
    Unlock {
        /// Username or id
        user: String,
    },
    /// Make a user the deployment's owner (every team is theirs), or no longer with --remove
    Owner {
        /// Username or id
        user: String,
        #[arg(long)]
        remove: bool,
    },
}

/// `pitbox user add`.
#[derive(Debug, Clone, Args)]
pub struct UserAddArgs {
    #[arg(long)]
    pub username: String,
    /// admin, engineer, driver or viewer
    #[arg(long, value_parser = crate::accounts::parse_role)]
    pub role: UserRole,
    /// Team name or id (the owner too: it is their home team)
    #[arg(long)]
    pub team: Option<String>,
    /// The deployment's owner: reads and manages every team (a team's admin only their own)
    #[arg(long)]
    pub owner: bool,
    /// Read the password from the first line of standard input (passwords never go on the
    /// command line)
    #[arg(long)]
    pub password_stdin: bool,
}

fn password_from_stdin(given: bool) -> anyhow::Result<String> {
    if !given {
        bail!("give the password on standard input with --password-stdin (never on the command line)");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn account_error(e: crate::accounts::AccountError) -> anyhow::Error {
    match e {
        crate::accounts::AccountError::Invalid(errors) => {
            let text: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("{}", text.join("; "))
        }
        other => anyhow::anyhow!("{other}"),
    }
}

/// Runs `pitbox user …`; prints what it did.
pub async fn run_user(args: &UserArgs) -> anyhow::Result<()> {
    use crate::accounts;
    // Only adding a user may create the database (a fresh deployment's first owner); every
    // other command works on accounts that must already exist.
    let store = match args.command {
        UserCommand::Add(_) => args.db.open().await?,
        _ => args.db.open_existing().await?,
    };
    let find = |name: &str| {
        let store = store.clone();
        let name = name.to_string();
        async move { accounts::find_user(&store, &name).await.map_err(account_error) }
    };
    match &args.command {
        UserCommand::Add(a) => {
            let password = password_from_stdin(a.password_stdin)?;
            let user = accounts::add_user(&store, &a.username, &password, a.role, a.team.as_deref())
                .await
                .map_err(account_error)?;
            if a.owner {
                accounts::set_owner(&store, &user, true).await.map_err(account_error)?;
            }
            let owner = if a.owner { ", the deployment's owner" } else { "" };
            println!("created {} {} (id {}){owner}", user.role, user.username, user.id);
        }
        UserCommand::List => {
            for u in store.list_users(None).await? {
                let mut flags = Vec::new();
                if u.owner {
                    flags.push("owner");
                }
                if u.disabled_at.is_some() {
                    flags.push("disabled");
                }
                let flags = if flags.is_empty() { "-".to_string() } else { flags.join(",") };
                println!("{}\t{}\t{}\t{}\t{flags}", u.id, u.username, u.role, u.team_id.as_deref().unwrap_or("-"));
            }
        }
        UserCommand::Passwd { user, password_stdin } => {
            let u = find(user).await?;
            let password = password_from_stdin(*password_stdin)?;
            accounts::set_password(&store, &u, &password).await.map_err(account_error)?;
            println!("new password for {}; every earlier token of theirs is revoked", u.username);
        }
        UserCommand::Role { user, role } => {
            let u = find(user).await?;
            accounts::set_role(&store, &u, *role).await.map_err(account_error)?;
            println!("{} is now a {role}; their earlier access tokens are revoked", u.username);
        }
        UserCommand::Disable { user } => {
            let u = find(user).await?;
            accounts::disable(&store, &u).await.map_err(account_error)?;
            println!("{} is disabled; every token of theirs is revoked", u.username);
        }
        UserCommand::Enable { user } => {
            let u = find(user).await?;
            accounts::enable(&store, &u).await.map_err(account_error)?;
            println!("{} is enabled", u.username);
        }
        UserCommand::Delete { user, yes } => {
            let u = find(user).await?;
            if !yes {
                bail!("deleting {} cannot be undone: add --yes", u.username);
            }
            accounts::delete(&store, &u).await.map_err(account_error)?;
            println!("deleted {} (id {}); every token of theirs is revoked", u.username, u.id);
        }
        UserCommand::Unlock { user } => {
            let u = find(user).await?;
            accounts::unlock(&store, &u).await.map_err(account_error)?;
            println!("{}'s login lock is lifted on every node", u.username);
        }
        UserCommand::Owner { user, remove } => {
            let u = find(user).await?;
            accounts::set_owner(&store, &u, !remove).await.map_err(account_error)?;
            let what = if *remove { "is no longer" } else { "is now" };
            println!("{} {what} the deployment's owner; their earlier tokens are revoked", u.username);
        }
    }
    Ok(())
}

/// `pitbox team …`.
#[derive(Debug, Clone, Args)]
pub struct TeamArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: TeamCommand,
}

/// What `pitbox team` does.
#[derive(Debug, Clone, Subcommand)]
pub enum TeamCommand {
    /// Create a team
    Add {
        /// Team name
        name: String,
    },
    /// List teams
    List,
}

/// Runs `pitbox team …`; prints what it did.
pub async fn run_team(args: &TeamArgs) -> anyhow::Result<()> {
    // Only creating a team may create the database; listing needs one that exists.
    let store = match args.command {
        TeamCommand::Add { .. } => args.db.open().await?,
        TeamCommand::List => args.db.open_existing().await?,
    };
    match &args.command {
        TeamCommand::Add { name } => {
            let t = crate::accounts::create_team(&store, name).await.map_err(account_error)?;
            println!("created team {} (id {})", t.name, t.id);
        }
        TeamCommand::List => {
            for t in store.list_teams().await? {
                println!("{}\t{}", t.id, t.name);
            }
        }
    }
    Ok(())
}
