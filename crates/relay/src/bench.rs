//! `pitbox bench relay`: starts a relay in a separate process and loads it over loopback with
//! simulated drivers (telemetry at 60 Hz) and dashboards (subscribed to their team), with an
//! in-process cloud stand-in on the uplink. Prints inbound and outbound messages per second,
//! end-to-end latency (driver send → dashboard receive) p50/p99/max, drops, the relay's CPU%
//! and peak RSS (from its `/metrics`), and whether the cloud got every sample exactly once.
//! With `--relay-url` it drives a relay started elsewhere instead (the uplink is then not
//! checked), so the load generator can run on another machine.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message as AxMessage, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use pitbox_auth::{DEFAULT_TTL, KeyPair, Signer};
use pitbox_hub::uplink::{Deduper, Verdict, decode_frame};
use pitbox_model::control::{
    Ack, Authenticate, AuthenticationResult, ConnectionEstablished, PROTOCOL_VERSION, Subscribe,
};
use pitbox_model::telemetry::{TelemetryUpdate, TireWear};
use pitbox_model::{Channel, ClientType, Message, UserRole};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message as Ws;

/// Arguments of `pitbox bench relay`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Simulated drivers.
    #[arg(long, default_value_t = 100)]
    pub drivers: usize,
    /// Telemetry rate of each driver, Hz.
    #[arg(long, default_value_t = 60.0)]
    pub hz: f64,
    /// Dashboards, each subscribed to its team.
    #[arg(long, default_value_t = 1000)]
    pub dashboards: usize,
    /// Teams the drivers and dashboards are spread over.
    #[arg(long, default_value_t = 10)]
    pub teams: usize,
    /// Rate each dashboard asks for, Hz.
    #[arg(long, default_value_t = 20.0)]
    pub sub_hz: f64,
    /// Measured time.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Load before measuring.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Relay executable to run as `BIN --listen …` (default: this program as `pitbox relay …`).
    #[arg(long, value_name = "BIN")]
    pub relay_bin: Option<PathBuf>,
    /// Run the relay without the cloud uplink (no stand-in, no spool).
    #[arg(long)]
    pub no_uplink: bool,
    /// Drive a relay started elsewhere (`ws://HOST:PORT/`, e.g. the pit-wall PC) instead of
    /// starting one: its CPU and memory are read from its `/metrics`, its uplink is not checked.
    #[arg(long, value_name = "URL", conflicts_with_all = ["relay_bin", "no_uplink"], requires = "token_data_dir")]
    pub relay_url: Option<String>,
    /// With `--relay-url`: a directory with the key pair that relay trusts (a copy of its
    /// `--data-dir` key files), to sign the simulated clients' tokens.
    #[arg(long, value_name = "DIR", requires = "relay_url")]
    pub token_data_dir: Option<PathBuf>,
}

/// Figures of one run.
#[derive(Debug, Clone, Default)]
pub struct BenchReport {
    pub inbound_per_sec: f64,
    pub outbound_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub drops: u64,
    pub cpu_percent: f64,
    pub peak_rss_mb: f64,
    pub uplink_sent: u64,
    pub uplink_stored: u64,
    pub uplink_duplicates_stored: u64,
    /// The relay was started elsewhere (`--relay-url`).
    pub remote: bool,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "inbound            {:>10.0} msgs/s", self.inbound_per_sec)?;
        writeln!(f, "outbound           {:>10.0} msgs/s", self.outbound_per_sec)?;
        writeln!(f, "latency p50        {:>10.2} ms", self.p50_ms)?;
        writeln!(f, "latency p99        {:>10.2} ms", self.p99_ms)?;
        writeln!(f, "latency max        {:>10.2} ms", self.max_ms)?;
        writeln!(f, "drops (slow subs)  {:>10}", self.drops)?;
        writeln!(f, "relay CPU          {:>10.1} % (of one core)", self.cpu_percent)?;
        writeln!(f, "relay peak RSS     {:>10.1} MB", self.peak_rss_mb)?;
        if self.remote {
            writeln!(f, "uplink             not checked (a relay started elsewhere)")?;
        } else if self.uplink_sent > 0 {
            let lost = self.uplink_sent.saturating_sub(self.uplink_stored);
            writeln!(
                f,
                "uplink             {:>10} sent, {} stored at the cloud, {} lost, {} duplicates",
                self.uplink_sent, self.uplink_stored, lost, self.uplink_duplicates_stored
            )?;
        }
        Ok(())
    }
}

/// Runs the relay benchmark and prints its figures.
pub async fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
    let report = bench(&args).await?;
    println!(
        "pitbox bench relay: {} drivers × {} Hz, {} dashboards at {} Hz over {} teams, {:?} measured",
        args.drivers, args.hz, args.dashboards, args.sub_hz, args.teams, args.duration
    );
    print!("{report}");
    Ok(())
}

struct Shared {
    measuring: AtomicBool,
    stop: AtomicBool,
    inbound: AtomicU64,
    outbound: AtomicU64,
    latencies: Mutex<Vec<u32>>,
    sent_per_driver: Mutex<HashMap<String, u64>>,
}

/// Runs the benchmark and returns its figures.
pub async fn bench(args: &BenchArgs) -> anyhow::Result<BenchReport> {
    if args.drivers == 0 || args.teams == 0 || args.hz <= 0.0 {
        bail!("--drivers, --teams and --hz must be positive");
    }
    let mut relay = match (&args.relay_url, &args.token_data_dir) {
        (Some(url), Some(keys)) => Relay::elsewhere(url, keys)?,
        (Some(_), None) => bail!("--relay-url needs --token-data-dir (the key pair that relay trusts)"),
        _ => Relay::start(args).await?,
    };
    let (url, addr, signer) = (relay.url.clone(), relay.addr.clone(), &relay.signer);
    let shared = Arc::new(Shared {
        measuring: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        inbound: AtomicU64::new(0),
        outbound: AtomicU64::new(0),
        latencies: Mutex::new(Vec::new()),
        sent_per_driver: Mutex::new(HashMap::new()),
    });

    // Dashboards first, in waves.
    let mut tasks = Vec::new();
    for wave in (0..args.dashboards).collect::<Vec<_>>().chunks(100) {
        let mut ready = Vec::new();
        for &i in wave {
            let team = format!("team-{}", i % args.teams);
            let token = signer.issue(&format!("dash-{i}"), UserRole::Viewer, &team, None, DEFAULT_TTL)?.0;
            let (url, sh, hz) = (url.clone(), shared.clone(), args.sub_hz);
            let (tx, rx) = tokio::sync::oneshot::channel();
            tasks.push(tokio::spawn(async move { dashboard(url, token, hz, sh, tx).await }));
            ready.push(rx);
        }
        for r in ready {
            r.await.context("a dashboard failed to connect")?;
        }
    }
    let mut drivers = Vec::new();
    for i in 0..args.drivers {
        let team = format!("team-{}", i % args.teams);
        let id = format!("drv-{i}");
        let token = signer.issue(&id, UserRole::Driver, &team, None, DEFAULT_TTL)?.0;
        let (url, sh, hz) = (url.clone(), shared.clone(), args.hz);
        drivers.push(tokio::spawn(async move { driver(url, id, token, hz, sh).await }));
    }

    tokio::time::sleep(args.warmup).await;
    // The relay's own CPU and memory, from its /metrics, so a relay started elsewhere is measured
    // the same way.
    let before = http_get(&addr, "/metrics").await.context("reading the relay's /metrics")?;
    let t0 = Instant::now();
    shared.measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(args.duration).await;
    shared.measuring.store(false, Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    let after = http_get(&addr, "/metrics").await.context("reading the relay's /metrics")?;
    shared.stop.store(true, Ordering::Relaxed);
    for d in drivers {
        let _ = tokio::time::timeout(Duration::from_secs(5), d).await;
    }
    let metrics = http_get(&addr, "/metrics").await.unwrap_or_default();
    let drops = metric(&metrics, "pitbox_relay_dropped_total") as u64;
    let peak_rss_mb = metric(&metrics, "process_resident_memory_peak_bytes") / (1024.0 * 1024.0);
    let cpu_s = metric(&after, "process_cpu_seconds_total") - metric(&before, "process_cpu_seconds_total");
    for t in &tasks {
        t.abort();
    }

    let mut report = BenchReport {
        inbound_per_sec: shared.inbound.load(Ordering::Relaxed) as f64 / elapsed,
        outbound_per_sec: shared.outbound.load(Ordering::Relaxed) as f64 / elapsed,
        drops,
        peak_rss_mb,
        cpu_percent: cpu_s / elapsed * 100.0,
        remote: args.relay_url.is_some(),
        ..Default::default()
    };
    {
        let mut l = shared.latencies.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        l.sort_unstable();
        let pick = |q: f64| -> f64 {
            if l.is_empty() {
                return f64::NAN;
            }
            let i = ((l.len() as f64 - 1.0) * q).round() as usize;
            f64::from(l[i]) / 1000.0
        };
        report.p50_ms = pick(0.50);
        report.p99_ms = pick(0.99);
        report.max_ms = l.last().map_or(f64::NAN, |m| f64::from(*m) / 1000.0);
    }
    if let Some(c) = &relay.cloud {
        let sent: HashMap<String, u64> =
            shared.sent_per_driver.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
        report.uplink_sent = sent.values().sum();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let stored = c.stored_total();
            if stored >= report.uplink_sent || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        report.uplink_stored = c.stored_total();
        report.uplink_duplicates_stored = c.duplicates_stored();
    }
    relay.stop().await;
    Ok(report)
}

/// The relay under test: one this bench started (with a cloud stand-in on its uplink) or one
/// started elsewhere.
struct Relay {
    url: String,
    /// `host:port` for `/metrics`.
    addr: String,
    signer: Signer,
    child: Option<tokio::process::Child>,
    cloud: Option<CloudSink>,
    /// The temporary data directory of a relay this bench started.
    dir: Option<PathBuf>,
}

impl Relay {
    /// Starts `pitbox relay` (or `--relay-bin`) as a separate process on loopback.
    async fn start(args: &BenchArgs) -> anyhow::Result<Relay> {
        let dir = tempfile_dir()?;
        let (pair, _) = KeyPair::load_or_create(&dir).context("key pair")?;
        let signer = Signer::new(&pair, crate::cli_issuer());

        // The cloud stand-in.
        let cloud = if args.no_uplink { None } else { Some(CloudSink::start().await?) };

        // The relay, as a separate process.
        let mut cmd = match &args.relay_bin {
            Some(bin) => tokio::process::Command::new(bin),
            None => {
                let mut c = tokio::process::Command::new(std::env::current_exe().context("current exe")?);
                c.arg("relay");
                c
            }
        };
        cmd.args(["--listen", "127.0.0.1:0", "--print-addr", "--rate-limit", "1000", "--rate-burst", "2000"])
            .arg("--data-dir")
            .arg(dir.join("relay"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(c) = &cloud {
            cmd.args(["--cloud-url", &c.url, "--cloud-token", "bench"]);
        }
        // The relay trusts the bench's key: its data dir is a sub-directory with a copy of the pair.
        let relay_keys = pitbox_auth::key_dir(&dir.join("relay"));
        std::fs::create_dir_all(&relay_keys)?;
        std::fs::write(relay_keys.join(pitbox_auth::PUBLIC_KEY_FILE), pair.public_pem())?;
        let mut child = cmd.spawn().context("starting the relay")?;
        let stdout = child.stdout.take().context("relay stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("relay did not start within 30 s")??
            .context("relay exited")?;
        let addr = line.strip_prefix("listening ").context("unexpected relay output")?.trim().to_string();
        Ok(Relay { url: format!("ws://{addr}/"), addr, signer, child: Some(child), cloud, dir: Some(dir) })
    }

    /// A relay at `url` (`ws://HOST[:PORT][/]`) that trusts the key pair kept in `keys`.
    fn elsewhere(url: &str, keys: &std::path::Path) -> anyhow::Result<Relay> {
        let Some(rest) = url.strip_prefix("ws://") else {
            bail!("--relay-url must be ws://HOST:PORT/ (the bench speaks plain WebSocket), not {url}");
        };
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() {
            bail!("--relay-url {url} names no host");
        }
        let addr = if host.contains(':') { host.to_string() } else { format!("{host}:80") };
        let private = pitbox_auth::key_dir(keys).join(pitbox_auth::PRIVATE_KEY_FILE);
        if !private.is_file() {
            bail!(
                "no key pair in {}: copy the relay's {} there (from its --data-dir), so the relay trusts the bench's tokens",
                keys.display(),
                private.strip_prefix(keys).unwrap_or(&private).display()
            );
        }
        let (pair, _) = KeyPair::load_or_create(keys).context("reading the key pair")?;
        let signer = Signer::new(&pair, crate::cli_issuer());
        Ok(Relay { url: format!("ws://{host}/"), addr, signer, child: None, cloud: None, dir: None })
    }

    async fn stop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("pitbox-bench-relay-{}-{}", std::process::id(), fastrand::u32(..)));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

async fn connect(url: &str, token: &str, kind: ClientType) -> anyhow::Result<WsStream> {
    // tungstenite zeroes its whole read buffer (128 KiB by default) before every read: with
    // 190,000 frames/s that memset was 40 % of the load generator's CPU. Frames are < 1 KiB.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
    let auth = Message::Authenticate(Authenticate {
        token: token.into(),
        client_type: kind,
        version: PROTOCOL_VERSION.into(),
        spooled: false,
    });
    ws.send(Ws::text(auth.to_json())).await?;
    loop {
        match ws.next().await {
            Some(Ok(Ws::Text(t))) => match pitbox_model::decode(t.as_bytes()) {
                Ok(Message::AuthenticationResult(r)) if r.success => return Ok(ws),
                Ok(Message::AuthenticationResult(r)) => bail!("refused: {:?}", r.reason),
                _ => {}
            },
            Some(Ok(_)) => {}
            _ => bail!("closed during authentication"),
        }
    }
}

type WsStream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn dashboard(url: String, token: String, hz: f64, sh: Arc<Shared>, ready: tokio::sync::oneshot::Sender<()>) {
    let Ok(mut ws) = connect(&url, &token, ClientType::Dashboard).await else { return };
    let sub = Message::Subscribe(Subscribe {
        team_id: None,
        driver_ids: vec![],
        channels: vec![Channel::Telemetry],
        max_rate_hz: Some(hz),
    });
    if ws.send(Ws::text(sub.to_json())).await.is_err() {
        return;
    }
    let _ = ready.send(());
    let mut local: Vec<u32> = Vec::new();
    let mut count = 0u64;
    while let Some(Ok(m)) = ws.next().await {
        let Ws::Text(t) = m else { continue };
        let s = t.as_str();
        if !s.starts_with(r#"{"type":"telemetry_update""#) {
            continue;
        }
        if !sh.measuring.load(Ordering::Relaxed) {
            if !local.is_empty() || count > 0 {
                flush(&sh, &mut local, &mut count);
            }
            continue;
        }
        count += 1;
        if let Some(ts) = timestamp_of(s) {
            let lat = (chrono::Utc::now() - ts).num_microseconds().unwrap_or(0).clamp(0, i64::from(u32::MAX));
            local.push(lat as u32);
        }
        if local.len() >= 4096 {
            flush(&sh, &mut local, &mut count);
        }
    }
    flush(&sh, &mut local, &mut count);
}

fn flush(sh: &Shared, local: &mut Vec<u32>, count: &mut u64) {
    sh.outbound.fetch_add(*count, Ordering::Relaxed);
    *count = 0;
    if let Ok(mut l) = sh.latencies.lock() {
        l.append(local);
    }
}

fn timestamp_of(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let key = r#""timestamp":""#;
    let start = s.find(key)? + key.len();
    let end = start + s[start..].find('"')?;
    chrono::DateTime::parse_from_rfc3339(&s[start..end]).ok().map(|d| d.with_timezone(&chrono::Utc))
}

async fn driver(url: String, id: String, token: String, hz: f64, sh: Arc<Shared>) {
    let Ok(ws) = connect(&url, &token, ClientType::Driver).await else { return };
    let (mut tx, mut rx) = ws.split();
    // Acks and anything else the relay sends: read and discard.
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / hz));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut seq = 0u64;
    while !sh.stop.load(Ordering::Relaxed) {
        tick.tick().await;
        seq += 1;
        let s = sample(&id, seq);
        if tx.send(Ws::text(Message::TelemetryUpdate(s).to_json())).await.is_err() {
            break;
        }
        if sh.measuring.load(Ordering::Relaxed) {
            sh.inbound.fetch_add(1, Ordering::Relaxed);
        }
    }
    if let Ok(mut m) = sh.sent_per_driver.lock() {
        m.insert(id, seq);
    }
    // Give the relay a moment to spool the tail before the socket closes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    reader.abort();
}

fn sample(driver: &str, seq: u64) -> TelemetryUpdate {
    let x = (seq % 600) as f64 / 600.0;
    TelemetryUpdate {
        driver_id: driver.into(),
        timestamp: chrono::Utc::now(),
        speed: 80.0 + 150.0 * x,
        rpm: 4000.0 + 3000.0 * x,
        gear: 1 + (seq % 6) as i32,
        throttle: 100.0 * x,
        brake: 100.0 * (1.0 - x),
        steering_angle: 90.0 * (x - 0.5),
        latitude: None,
        longitude: None,
        track_position: x,
        lap: (seq / 600) as u32,
        sector: 1 + (seq % 3) as u32,
        fuel_level: 60.0,
        tire_wear: TireWear { front_left: 5.0, front_right: 5.5, rear_left: 4.0, rear_right: 4.2 },
        position: Some(3),
        lap_distance: Some(4318.0 * x),
        lap_time: Some(90.0 * x),
        session_time: Some(seq as f64 / 60.0),
        yaw_rate: None,
        lateral_accel: None,
        longitudinal_accel: None,
        fuel_liters: None,
        on_pit_road: Some(false),
        sequence: Some(seq),
        sim_session_id: None,
        last_lap_time: None,
        on_track: None,
        in_garage: None,
        replay_playing: None,
        off_track: None,
        session_laps_remaining: None,
        session_time_remaining: None,
        pit_service_flags: None,
        pit_service_fuel_l: None,
        session_flags: None,
    }
}

/// The value of an unlabelled metric in Prometheus text (0 when absent).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l.as_bytes().get(name.len()) == Some(&b' '))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}

async fn http_get(addr: &str, path: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    Ok(out)
}

/// A minimal cloud: accepts the uplink, stores each (driver, batch) once, acknowledges.
struct CloudSink {
    url: String,
    state: Arc<SinkState>,
}

#[derive(Default)]
struct SinkState {
    dedupe: Mutex<Deduper>,
    stored: AtomicU64,
    duplicates: AtomicU64,
    last_sample: Mutex<HashMap<String, u64>>,
}

impl CloudSink {
    async fn start() -> anyhow::Result<CloudSink> {
        let state = Arc::new(SinkState::default());
        let app = Router::new().route("/ws", get(sink_upgrade)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(CloudSink { url: format!("ws://{addr}/ws"), state })
    }

    fn stored_total(&self) -> u64 {
        self.state.stored.load(Ordering::Relaxed)
    }

    fn duplicates_stored(&self) -> u64 {
        self.state.duplicates.load(Ordering::Relaxed)
    }
}

async fn sink_upgrade(State(st): State<Arc<SinkState>>, ws: WebSocketUpgrade) -> Response {
    // A small read buffer: it is zeroed before every read (see `connect`).
    ws.max_message_size(64 << 20).read_buffer_size(16 * 1024).on_upgrade(move |s| sink_serve(s, st))
}

async fn sink_serve(mut socket: WebSocket, st: Arc<SinkState>) {
    let hello = Message::ConnectionEstablished(ConnectionEstablished {
        server_id: "bench-cloud".into(),
        timestamp: chrono::Utc::now(),
        version: PROTOCOL_VERSION.into(),
        auth_timeout_secs: None,
    });
    if socket.send(AxMessage::text(hello.to_json())).await.is_err() {
        return;
    }
    while let Some(Ok(m)) = socket.recv().await {
        let reply = match m {
            AxMessage::Text(t) => match pitbox_model::decode(t.as_bytes()) {
                Ok(Message::Authenticate(_)) => Message::AuthenticationResult(AuthenticationResult {
                    success: true,
                    user_id: Some("relay".into()),
                    role: Some(UserRole::Admin),
                    team_id: Some("bench".into()),
                    reason: None,
                }),
                // The relay's message barrier; `subscribe` and team messages need no answer.
                Ok(Message::Ping(p)) => Message::Pong(p),
                _ => continue,
            },
            AxMessage::Binary(b) => {
                let Ok(batch) = decode_frame(&b, 1 << 24) else { continue };
                let seq = {
                    let Ok(mut d) = st.dedupe.lock() else { return };
                    match d.check(&batch.driver_id, batch.sequence) {
                        Verdict::New => {
                            d.commit(&batch.driver_id, batch.sequence);
                            // Count samples; a sample sequence seen before is a duplicate.
                            if let Ok(mut last) = st.last_sample.lock() {
                                let l = last.entry(batch.driver_id.clone()).or_insert(0);
                                for s in &batch.samples {
                                    let q = s.sequence.unwrap_or(0);
                                    if q <= *l {
                                        st.duplicates.fetch_add(1, Ordering::Relaxed);
                                    } else {
                                        *l = q;
                                        st.stored.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                            }
                            batch.sequence
                        }
                        Verdict::Duplicate { last } | Verdict::Gap { last } => last,
                    }
                };
                Message::Ack(Ack { driver_id: batch.driver_id, sequence: seq })
            }
            AxMessage::Close(_) => return,
            _ => continue,
        };
        if socket.send(AxMessage::text(reply.to_json())).await.is_err() {
            return;
        }
    }
}
