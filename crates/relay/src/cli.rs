//! `pitbox relay`: command-line arguments and the run loop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use pitbox_auth::Verifier;

use pitbox_auth::login::{CloudClient, LOGIN_FILE, LoginError, StoredLogin};

use crate::server::RelayConfig;
use crate::uplink::UplinkConfig;

/// Arguments of `pitbox relay`.
#[derive(Debug, Clone, clap::Args)]
pub struct RelayArgs {
    #[command(subcommand)]
    pub command: Option<RelayCommand>,
    /// Address to listen on (`ws://`; `wss://` with --tls-cert/--tls-key). Port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8765", env = "PITBOX_RELAY_LISTEN")]
    pub listen: SocketAddr,
    /// Directory for the spool and the offline token key pair.
    // Global: `pitbox relay login --data-dir D` and `pitbox relay --data-dir D login` both work.
    #[arg(long, value_name = "DIR", default_value = "pitbox-relay-data", env = "PITBOX_RELAY_DATA_DIR", global = true)]
    pub data_dir: PathBuf,
    /// Server id announced in connection_established (default: relay-<random>).
    #[arg(long, env = "PITBOX_RELAY_SERVER_ID")]
    pub server_id: Option<String>,
    /// Cloud uplink URL, e.g. wss://cloud.example/ws. Repeat it (or separate with commas) for
    /// several cloud nodes: the relay moves to the next when one fails. Default when signed in
    /// (`pitbox relay login`): the sign-in's cloud's /ws. Without either the relay runs offline.
    #[arg(long, value_name = "URL", value_delimiter = ',', env = "PITBOX_RELAY_CLOUD_URL")]
    pub cloud_url: Vec<String>,
    /// Extra CA certificate (PEM) trusted for a wss:// cloud, e.g. a private CA. May be repeated.
    #[arg(long, value_name = "FILE", env = "PITBOX_RELAY_CLOUD_CA")]
    pub cloud_ca: Vec<PathBuf>,
    /// A fixed cloud credential (scope relay: POST /api/relays/token or `pitbox token --relay`),
    /// instead of the sign-in of `pitbox relay login` (DATA_DIR/login.json, renewed before it
    /// expires); prefer --cloud-token-file or the environment (a flag shows in `ps`).
    #[arg(long, value_name = "JWT", env = "PITBOX_RELAY_CLOUD_TOKEN", hide_env_values = true)]
    pub cloud_token: Option<String>,
    /// File holding the cloud token (instead of --cloud-token).
    #[arg(long, value_name = "FILE", env = "PITBOX_RELAY_CLOUD_TOKEN_FILE")]
    pub cloud_token_file: Option<PathBuf>,
    /// Trust the keys of this JWKS file (the cloud's GET /api/auth/jwks saved to disk).
    #[arg(long, value_name = "FILE", env = "PITBOX_RELAY_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,
    /// Fetch the token keys from the cloud's JWKS endpoint (e.g. http://cloud:8080/api/auth/jwks)
    /// at start and every --jwks-refresh, keeping the last good set while the cloud is away.
    /// Default when signed in and no --jwks-file/--public-key: the sign-in's cloud's.
    #[arg(long, value_name = "URL", env = "PITBOX_RELAY_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// Time between two fetches of --jwks-url.
    #[arg(long, default_value = "5m", value_parser = parse_duration, env = "PITBOX_RELAY_JWKS_REFRESH")]
    pub jwks_refresh: Duration,
    /// Trust this Ed25519 public key (SPKI PEM). May be repeated.
    #[arg(long, value_name = "FILE", env = "PITBOX_RELAY_PUBLIC_KEY")]
    pub public_key: Vec<PathBuf>,
    /// Do not trust the data dir's offline key pair (only --jwks-file/--public-key).
    #[arg(long, env = "PITBOX_RELAY_NO_OFFLINE_KEY")]
    pub no_offline_key: bool,
    /// Seconds a client has to authenticate.
    #[arg(long, default_value = "10s", value_parser = parse_duration, env = "PITBOX_RELAY_AUTH_TIMEOUT")]
    pub auth_timeout: Duration,
    /// Largest frame accepted, bytes.
    #[arg(long, default_value_t = 262_144, env = "PITBOX_RELAY_MAX_FRAME_BYTES")]
    pub max_frame_bytes: usize,
    /// Sustained messages per second per connection.
    #[arg(long, default_value_t = 250.0, env = "PITBOX_RELAY_RATE_LIMIT")]
    pub rate_limit: f64,
    /// Burst above the sustained rate, messages.
    #[arg(long, default_value_t = 500.0, env = "PITBOX_RELAY_RATE_BURST")]
    pub rate_burst: f64,
    /// Spool bound, e.g. 1GiB, 500MiB, 1000000.
    #[arg(long, default_value = "1GiB", value_parser = parse_bytes, env = "PITBOX_RELAY_SPOOL_MAX")]
    pub spool_max: u64,
    /// How often samples are cut into uplink batches.
    #[arg(long, default_value = "200ms", value_parser = parse_duration, env = "PITBOX_RELAY_BATCH_INTERVAL")]
    pub batch_interval: Duration,
    /// Most samples per uplink batch (1–2000).
    #[arg(long, default_value_t = 500, env = "PITBOX_RELAY_BATCH_MAX")]
    pub batch_max: usize,
    /// Most unacknowledged batches in flight on the uplink.
    #[arg(long, default_value_t = 256, env = "PITBOX_RELAY_UPLINK_WINDOW")]
    pub uplink_window: usize,
    /// Longest reconnect delay of the uplink.
    #[arg(long, default_value = "10s", value_parser = parse_duration, env = "PITBOX_RELAY_BACKOFF_MAX")]
    pub backoff_max: Duration,
    /// PEM certificate chain for wss://.
    #[arg(long, value_name = "FILE", requires = "tls_key", env = "PITBOX_RELAY_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for wss://.
    #[arg(long, value_name = "FILE", requires = "tls_cert", env = "PITBOX_RELAY_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Print `listening <addr>` on stdout once bound (for scripts and the benchmark).
    #[arg(long, hide = true)]
    pub print_addr: bool,
}

/// Subcommands of `pitbox relay`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum RelayCommand {
    /// Link this relay to the team's cloud: sign in as an engineer or admin of the team (the
    /// password is asked, or read with --password-stdin), get the relay's credential, and keep
    /// the sign-in in DATA_DIR/login.json (readable by you only). `pitbox relay` then renews its
    /// credential by itself, for a race of any length.
    Login {
        /// The cloud's address, e.g. https://pitbox.example.com (default: the one signed in at
        /// before).
        #[arg(long, value_name = "URL")]
        cloud: Option<String>,
        /// The username of an engineer or admin (asked when absent).
        #[arg(long)]
        username: Option<String>,
        /// Read the password from the first line of standard input instead of a prompt (there
        /// is no --password: it would show in the process list).
        #[arg(long)]
        password_stdin: bool,
        /// The relay's name in the cloud's logs and `GET /api/relays`.
        #[arg(long, default_value = "relay")]
        name: String,
    },
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (e.g. 10s, 200ms)"))
}

pub use pitbox_uplink::parse_bytes;

/// Builds the relay configuration from the arguments (reads key and token files).
pub fn config(args: &RelayArgs) -> anyhow::Result<RelayConfig> {
    let mut verifier = Verifier::new();
    if let Some(path) = &args.jwks_file {
        let json = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        verifier.add_jwks_json(&json).with_context(|| format!("{}", path.display()))?;
    }
    for path in &args.public_key {
        let pem = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        verifier.add_public_pem(&pem).with_context(|| format!("{}", path.display()))?;
    }
    if !args.no_offline_key {
        verifier.add_data_dir(&args.data_dir).context("offline key pair")?;
    }
    let signed_in =
        args.cloud_token.is_none() && args.cloud_token_file.is_none() && args.data_dir.join(LOGIN_FILE).exists();
    if verifier.key_count() == 0 && args.jwks_url.is_none() && !signed_in {
        bail!("no token key to trust: give --jwks-url, --jwks-file or --public-key, or drop --no-offline-key");
    }
    let mut cfg = RelayConfig::new(args.listen, args.data_dir.clone(), verifier);
    cfg.hub.server_id = args.server_id.clone().unwrap_or_else(|| format!("relay-{:04x}", fastrand::u16(..)));
    cfg.hub.auth_timeout = args.auth_timeout;
    cfg.hub.max_frame_bytes = args.max_frame_bytes;
    cfg.hub.rate_per_sec = args.rate_limit;
    cfg.hub.rate_burst = args.rate_burst;
    cfg.spool_max_bytes = args.spool_max;
    cfg.batch_interval = args.batch_interval.max(Duration::from_millis(5));
    cfg.max_batch_samples = args.batch_max.clamp(1, pitbox_model::control::MAX_BATCH_SAMPLES);
    let mut urls: Vec<String> = args.cloud_url.iter().map(|u| u.trim().to_string()).filter(|u| !u.is_empty()).collect();
    // The sign-in of `pitbox relay login`, unless a fixed credential is given.
    let login = match (&args.cloud_token, &args.cloud_token_file) {
        (None, None) => StoredLogin::load(&args.data_dir.join(LOGIN_FILE))?,
        _ => None,
    };
    if let Some(l) = &login
        && urls.is_empty()
    {
        urls.push(ws_url_of(&l.cloud)?);
    }
    if !urls.is_empty() {
        let token = match (&args.cloud_token, &args.cloud_token_file, &login) {
            (Some(t), _, _) => {
                pitbox_auth::cli::warn_secret_flag("--cloud-token", "--cloud-token-file or PITBOX_RELAY_CLOUD_TOKEN");
                t.trim().to_string()
            }
            (None, Some(f), _) => {
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?.trim().to_string()
            }
            (None, None, Some(l)) => l.access_token.clone().unwrap_or_default(),
            (None, None, None) => bail!(
                "--cloud-url needs a credential: sign the relay in with `pitbox relay login --data-dir {}`, or give \
                 --cloud-token-file",
                args.data_dir.display()
            ),
        };
        for url in &urls {
            if !(url.starts_with("ws://") || url.starts_with("wss://")) {
                bail!("--cloud-url must start with ws:// or wss://, got {url}");
            }
        }
        let first = urls.remove(0);
        cfg.cloud = Some(UplinkConfig {
            url: first,
            token,
            window: args.uplink_window.max(1),
            backoff_min: Duration::from_millis(200),
            backoff_max: args.backoff_max.max(Duration::from_millis(200)),
        });
        cfg.cloud_failover_urls = urls;
        cfg.cloud_ca_files = args.cloud_ca.clone();
        cfg.cloud_login = login.clone();
    }
    let jwks_url = match (&args.jwks_url, &login) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(l)) if args.jwks_file.is_none() && args.public_key.is_empty() => {
            Some(format!("{}/api/auth/jwks", l.cloud.trim_end_matches('/')))
        }
        _ => None,
    };
    if let Some(url) = &jwks_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("--jwks-url must start with http:// or https://, got {url}");
        }
        cfg.jwks = Some(crate::JwksConfig { url: url.clone(), refresh: args.jwks_refresh.max(Duration::from_secs(1)) });
    }
    if let (Some(c), Some(k)) = (&args.tls_cert, &args.tls_key) {
        cfg.tls = Some((c.clone(), k.clone()));
    }
    Ok(cfg)
}

/// `ws(s)://HOST/ws` of a cloud's `http(s)://HOST` address.
fn ws_url_of(cloud: &str) -> anyhow::Result<String> {
    let c = cloud.trim().trim_end_matches('/');
    match (c.strip_prefix("https://"), c.strip_prefix("http://")) {
        (Some(h), _) => Ok(format!("wss://{h}/ws")),
        (None, Some(h)) => Ok(format!("ws://{h}/ws")),
        _ => bail!("the sign-in's cloud address `{cloud}` is not http(s)://: sign in again with `pitbox relay login`"),
    }
}

/// `pitbox relay login`: signs in as an engineer or admin, gets the relay's first credential
/// (checking the account may link a relay) and writes DATA_DIR/login.json.
pub async fn run_login(
    data_dir: &std::path::Path,
    cloud: Option<String>,
    username: Option<String>,
    password_stdin: bool,
    name: &str,
) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    let path = data_dir.join(LOGIN_FILE);
    let previous = StoredLogin::load(&path).ok().flatten();
    let ask = |prompt: &str| -> anyhow::Result<String> {
        print!("{prompt}");
        std::io::stdout().flush()?;
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line)? == 0 {
            bail!("no answer to `{}` (end of input)", prompt.trim_end_matches([':', ' ']));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    };
    let cloud = match cloud.or_else(|| previous.as_ref().map(|p| p.cloud.clone())) {
        Some(c) => c,
        None => ask("Cloud address (e.g. https://pitbox.example.com): ")?,
    };
    let cloud = cloud.trim().trim_end_matches('/').to_string();
    let cloud = if cloud.contains("://") { cloud } else { format!("https://{cloud}") };
    let username = match username {
        Some(u) => u,
        None => ask("Username: ")?,
    };
    let username = username.trim().to_string();
    if username.is_empty() {
        bail!("the username is empty");
    }
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let _hidden = pitbox_auth::login::HiddenInput::new();
        let p = ask("Password: ")?;
        println!();
        p
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    let login = link(data_dir, &cloud, &username, &password, name).await?;
    println!(
        "signed in as {} ({}); relay {}: wrote {} (readable by you only)",
        login.username,
        login.role,
        login.relay_id.as_deref().unwrap_or("?"),
        path.display()
    );
    println!(
        "Start the relay with `pitbox relay --data-dir \"{}\"`: it links to {} and renews its credential by itself.",
        data_dir.display(),
        login.cloud
    );
    Ok(())
}

/// Links the relay of `data_dir` without questions: signs in at `cloud` as an engineer or admin,
/// gets the relay's credential (the same relay id as before when `data_dir` was signed in at
/// this cloud) and writes `login.json`. What `pitbox relay login` does after asking.
pub async fn link(
    data_dir: &std::path::Path,
    cloud: &str,
    username: &str,
    password: &str,
    name: &str,
) -> anyhow::Result<StoredLogin> {
    let path = data_dir.join(LOGIN_FILE);
    let previous = StoredLogin::load(&path).ok().flatten();
    let client = CloudClient::new(cloud)?;
    let (who, refresh_token) = client
        .sign_in(
            username,
            password,
            &["engineer", "admin"],
            "a relay is linked by an engineer or admin of the team (who runs the pit wall)",
        )
        .await?;
    let ttl = who.expires_in.unwrap_or(24 * 3600);
    // Keep the id of a relay signed in before (one relay in the cloud's GET /api/relays).
    let relay_id = previous.as_ref().filter(|p| p.cloud == client.base()).and_then(|p| p.relay_id.clone());
    let cred = match client.relay_credential(&who.token, name, relay_id.as_deref(), ttl).await {
        Ok(c) => c,
        Err(LoginError::Refused { status: 403, .. }) if relay_id.is_some() => {
            client.relay_credential(&who.token, name, None, ttl).await?
        }
        Err(e) => return Err(e).context("asking the cloud for the relay's credential (POST /api/relays/token)"),
    };
    let login = StoredLogin {
        cloud: client.base().to_string(),
        username: who.user.username.clone(),
        user_id: who.user.id.clone(),
        role: who.user.role.clone(),
        refresh_token,
        access_token: Some(cred.token),
        relay_id: Some(cred.relay_id),
        relay_name: Some(name.to_string()),
    };
    pitbox_auth::private_fs::private_dir(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    pitbox_auth::private_fs::write_private_atomic(&path, &login.to_json())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(login)
}

/// Runs `pitbox relay` until Ctrl-C or SIGTERM.
pub async fn run(args: RelayArgs) -> anyhow::Result<()> {
    if let Some(RelayCommand::Login { cloud, username, password_stdin, name }) = &args.command {
        return run_login(&args.data_dir, cloud.clone(), username.clone(), *password_stdin, name).await;
    }
    let cfg = config(&args)?;
    let offline = cfg.cloud.is_none();
    let scheme = if cfg.tls.is_some() { "wss" } else { "ws" };
    let handle = crate::server::start(cfg).await?;
    let addr = handle.addr();
    if args.print_addr {
        use std::io::Write;
        println!("listening {addr}");
        let _ = std::io::stdout().flush();
    }
    tracing::info!(
        "relay listening on {scheme}://{addr}/ ({})",
        if offline { "offline: no cloud uplink" } else { "uplink to the cloud enabled" }
    );
    wait_for_signal().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM; on Windows also on Ctrl-Break, closing the console
/// window, logging off and shutting down (tokio's handler holds Windows off until the process
/// exits, so the spool is flushed first): how every long-running PitBox command is stopped.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(windows)]
    {
        use tokio::signal::windows;
        match (windows::ctrl_break(), windows::ctrl_close(), windows::ctrl_logoff(), windows::ctrl_shutdown()) {
            (Ok(mut b), Ok(mut c), Ok(mut l), Ok(mut s)) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = b.recv() => {}
                    _ = c.recv() => {}
                    _ = l.recv() => {}
                    _ = s.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        relay: RelayArgs,
    }

    fn cfg_of(args: &[&str]) -> anyhow::Result<RelayConfig> {
        use clap::Parser;
        let dir = tempfile::tempdir()?;
        let mut argv = vec!["relay", "--data-dir", dir.path().to_str().unwrap_or(".")];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv)?;
        config(&cli.relay)
    }

    #[test]
    fn several_cloud_urls_repeated_or_comma_separated() {
        let c =
            cfg_of(&["--cloud-url", "ws://a:1/ws,wss://b:2/ws", "--cloud-url", "ws://c:3/ws", "--cloud-token", "t"])
                .unwrap();
        assert_eq!(c.cloud.as_ref().map(|u| u.url.as_str()), Some("ws://a:1/ws"));
        assert_eq!(c.cloud_failover_urls, vec!["wss://b:2/ws".to_string(), "ws://c:3/ws".to_string()]);
        let err = cfg_of(&["--cloud-url", "ws://a/ws,http://b/ws", "--cloud-token", "t"]).unwrap_err();
        assert!(err.to_string().contains("http://b/ws"), "{err}");
        assert!(cfg_of(&["--cloud-url", "ws://a/ws"]).is_err(), "a cloud needs a token");
        let j = cfg_of(&["--jwks-url", "http://cloud/api/auth/jwks", "--jwks-refresh", "30s"]).unwrap();
        assert_eq!(j.jwks.map(|j| j.refresh), Some(Duration::from_secs(30)));
        assert!(cfg_of(&["--jwks-url", "cloud/jwks"]).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("500MiB").unwrap(), 500 << 20);
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        assert!(parse_bytes("12").is_err());
        assert!(parse_bytes("1 parsec").is_err());
    }
}
