//! `pitbox relay`: command-line arguments and the run loop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use pitbox_auth::Verifier;

use crate::server::RelayConfig;
use crate::uplink::UplinkConfig;

/// Arguments of `pitbox relay`.
#[derive(Debug, Clone, clap::Args)]
pub struct RelayArgs {
    /// Address to listen on (`ws://`; `wss://` with --tls-cert/--tls-key). Port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8765", env = "PITBOX_RELAY_LISTEN")]
    pub listen: SocketAddr,
    /// Directory for the spool and the offline token key pair.
    #[arg(long, value_name = "DIR", default_value = "pitbox-relay-data", env = "PITBOX_RELAY_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Server id announced in connection_established (default: relay-<random>).
    #[arg(long, env = "PITBOX_RELAY_SERVER_ID")]
    pub server_id: Option<String>,
    /// Cloud uplink URL, e.g. wss://cloud.example/ws. Repeat it (or separate with commas) for
    /// several cloud nodes: the relay moves to the next when one fails. Without it the relay
    /// runs offline.
    #[arg(long, value_name = "URL", value_delimiter = ',', env = "PITBOX_RELAY_CLOUD_URL")]
    pub cloud_url: Vec<String>,
    /// Extra CA certificate (PEM) trusted for a wss:// cloud, e.g. a private CA. May be repeated.
    #[arg(long, value_name = "FILE", env = "PITBOX_RELAY_CLOUD_CA")]
    pub cloud_ca: Vec<PathBuf>,
    /// The relay's own cloud credential (scope relay: POST /api/relays/token or `pitbox token
    /// --relay`); prefer --cloud-token-file or the environment (a flag shows in `ps`).
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

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (e.g. 10s, 200ms)"))
}

/// Parses `1GiB`, `500MiB`, `64KiB`, `1GB`, or a plain byte count.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a size (e.g. 1GiB, 500MiB)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown size unit `{other}` (use KiB, MiB, GiB)")),
    };
    let v = n * mult;
    if !v.is_finite() || v < 1024.0 {
        return Err("must be at least 1KiB".into());
    }
    Ok(v as u64)
}

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
    if verifier.key_count() == 0 && args.jwks_url.is_none() {
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
    if !urls.is_empty() {
        let token = match (&args.cloud_token, &args.cloud_token_file) {
            (Some(t), _) => {
                pitbox_auth::cli::warn_secret_flag("--cloud-token", "--cloud-token-file or PITBOX_RELAY_CLOUD_TOKEN");
                t.trim().to_string()
            }
            (None, Some(f)) => {
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?.trim().to_string()
            }
            (None, None) => bail!("--cloud-url needs --cloud-token or --cloud-token-file"),
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
    }
    if let Some(url) = &args.jwks_url {
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

/// Runs `pitbox relay` until Ctrl-C or SIGTERM.
pub async fn run(args: RelayArgs) -> anyhow::Result<()> {
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
