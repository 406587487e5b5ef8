//! Issue 22 §2, "nothing lost between the sim and the cloud": real driver agents (the built-in
//! simulator at 60 Hz) keep every sample in their own spool and stream it, live samples first and
//! spooled batches behind, through a relay process that is SIGKILLed mid-stream and started
//! again, or straight to a cloud stand-in that goes away and comes back (direct mode), or are
//! stopped with samples unacknowledged on disk and started again on the same data folder. In
//! every case each sample the simulator produced is stored exactly once, in order. The relay and
//! the cloud are away for 30 s in CI ([`outage`]); an agent process is SIGKILLed mid-stream and
//! started again. The tests assert what arrives, not how fast.

mod common;

/// How long the relay or the cloud is away: issue 22 asks for 30 s, which scripts/test (and so
/// CI) sets with PITBOX_TEST_OUTAGE_SECS; a plain `cargo test` takes 4 s.
fn outage() -> Duration {
    let secs = std::env::var("PITBOX_TEST_OUTAGE_SECS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(4.0);
    Duration::from_secs_f64(secs.clamp(1.0, 600.0))
}

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;

use common::TEAM;
use common::cloud::{Cloud, CloudStore};
use pitbox_driver::{AgentHandle, AgentSettings, SpoolSettings, start};
use pitbox_model::UserRole;
use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
use pitbox_sources::live::LiveOptions;
use pitbox_sources::sim::output::LivePace;
use pitbox_sources::sim::source::SimSource;
use pitbox_sources::sim::{SimConfig, track};
use pitbox_sources::{ConnectionState, SourceError, SourceEvent, TelemetrySource};

/// A source that has nothing (more) to say: an agent started on it only sends its spool.
struct Idle;

impl TelemetrySource for Idle {
    fn describe(&self) -> String {
        "idle".into()
    }
    fn state(&self) -> ConnectionState {
        ConnectionState::Finished
    }
    fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        Ok(None)
    }
}

fn sim(driver: &str, seed: u64) -> Box<dyn TelemetrySource> {
    let source = SimSource::start(
        SimConfig::new(seed, &track::RED_BULL_RING),
        LivePace { speed: 1.0 },
        LiveOptions::new(driver),
    )
    .unwrap();
    Box::new(source)
}

/// Where an agent sends: a relay's port, or a cloud in direct mode.
enum Upstream {
    Relay(u16),
    Cloud(String),
}

async fn agent(driver: &str, token: &str, to: &Upstream, data: &Path, source: Box<dyn TelemetrySource>) -> AgentHandle {
    agent_batching(driver, token, to, data, source, Duration::from_millis(50)).await
}

/// [`agent`] with the spool cutting a batch every `batch_interval`.
async fn agent_batching(
    driver: &str,
    token: &str,
    to: &Upstream,
    data: &Path,
    source: Box<dyn TelemetrySource>,
    batch_interval: Duration,
) -> AgentHandle {
    let port = match to {
        Upstream::Relay(p) => *p,
        Upstream::Cloud(_) => 9,
    };
    let mut voice = pitbox_driver::VoiceSettings::wav_dir(data.join("callouts"));
    voice.keep_callout_files = Some(10);
    let mut settings = AgentSettings::new(
        driver,
        DriverAppConfig {
            relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port },
            cloud: CloudConfig { endpoint: "http://127.0.0.1:9".into(), enabled: false },
            voice: VoiceConfig { enabled: false, sensitivity: 0.5, voice_id: "default".into() },
        },
    );
    settings.token = Some(token.to_string());
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.backoff_min = Duration::from_millis(100);
    settings.backoff_max = Duration::from_millis(400);
    settings.voice = voice;
    settings.voice.spotter = false;
    settings.voice.cues = false;
    settings.spool = Some(SpoolSettings { batch_interval, ..SpoolSettings::in_dir(data) });
    if let Upstream::Cloud(url) = to {
        settings.cloud_url = Some(url.clone());
    }
    // A stopped agent's threads let go of the spool file within moments; wait for that.
    let path = data.join("spool.redb");
    for _ in 0..100 {
        if pitbox_relay::spool::Spool::open(&path, 1 << 30).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    start(settings, source).await.unwrap()
}

type Shared = Arc<pitbox_driver::state::Shared>;

fn produced(a: &Shared) -> u64 {
    a.samples_produced.load(std::sync::atomic::Ordering::Relaxed)
}

fn waiting(a: &Shared) -> u64 {
    a.spool.get().map_or(0, |s| s.spool.samples())
}

struct RelayProcess {
    child: tokio::process::Child,
    port: u16,
}

/// A relay process (`pitbox-relay-testnode`) on `port` (0: any) linked to `cloud_url`.
async fn spawn_relay(data_dir: &Path, cloud_url: &str, port: u16) -> RelayProcess {
    for _ in 0..50 {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pitbox-relay-testnode"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--print-addr", "--batch-interval", "50ms"])
            .args(["--backoff-max", "800ms"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--cloud-url", cloud_url, "--cloud-token", "any"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn relay");
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.expect("relay started");
        if let Ok(Some(line)) = line
            && let Some(addr) = line.strip_prefix("listening ")
        {
            let port = addr.trim().rsplit(':').next().unwrap().parse().unwrap();
            return RelayProcess { child, port };
        }
        // The port of the killed relay may not be free yet.
        let _ = child.wait().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the relay did not start on port {port}");
}

/// Waits until `driver` has `n` samples stored, then returns them (sequences, in stored order).
async fn stored(store: &CloudStore, driver: &str, n: u64) -> Vec<u64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let got = store.samples_of(driver);
        if got.len() as u64 >= n || tokio::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every sample once, in order: `n` samples, strictly increasing sequences.
fn assert_once_in_order(got: &[u64], n: u64, what: &str) {
    let dups = got.len() - got.iter().collect::<std::collections::BTreeSet<_>>().len();
    let out_of_order = got.windows(2).filter(|w| w[0] >= w[1]).count();
    eprintln!("{what}: produced {n}, stored {}, duplicates {dups}, out of order {out_of_order}", got.len());
    assert_eq!(dups, 0, "{what}: no sample stored twice");
    assert_eq!(out_of_order, 0, "{what}: stored in order");
    assert_eq!(got.len() as u64, n, "{what}: every sample produced is stored");
}

/// Starts an agent on the data folder with nothing new to send and waits until its spool is
/// empty: what a stopped agent left behind reaches the cloud.
async fn drain(driver: &str, token: &str, to: &Upstream, data: &Path) {
    let a = agent(driver, token, to, data, Box::new(Idle)).await;
    let sh = a.shared.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while waiting(&sh) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(waiting(&sh), 0, "the spool drained");
    drop(sh);
    a.shutdown().await;
}

fn offline_token(dir: &Path, driver: &str) -> String {
    let (pair, _) = pitbox_auth::KeyPair::load_or_create(dir).unwrap();
    let signer = pitbox_auth::Signer::new(&pair, "pitbox-offline");
    signer.issue(driver, UserRole::Driver, TEAM, None, pitbox_auth::DEFAULT_TTL).unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_sigkilled_mid_stream_loses_nothing() {
    let relay_dir = tempfile::tempdir().unwrap();
    let agent_dir = tempfile::tempdir().unwrap();
    let token = offline_token(relay_dir.path(), "drv-1");
    let store = Arc::new(CloudStore::default());
    let cloud = Cloud::start("127.0.0.1:0".parse().unwrap(), store.clone()).await;
    let mut relay = spawn_relay(relay_dir.path(), &cloud.url(), 0).await;
    let to = Upstream::Relay(relay.port);
    let a = agent("drv-1", &token, &to, agent_dir.path(), sim("drv-1", 5)).await;
    let sh = a.shared.clone();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!store.samples_of("drv-1").is_empty(), "streaming through the relay");
    relay.child.start_kill().expect("SIGKILL");
    let _ = relay.child.wait().await;
    let sent_at_kill = a.shared.sent_telemetry.load(std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(outage()).await;
    let spooled_while_down = waiting(&sh);
    let st = sh.spool.get().unwrap().status();
    assert!(spooled_while_down > 100, "samples wait on disk while the relay is away: {st}");
    assert!(!st["unreachableSince"].is_null(), "{st}");
    let relay2 = spawn_relay(relay_dir.path(), &cloud.url(), relay.port).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        a.shared.sent_telemetry.load(std::sync::atomic::Ordering::Relaxed) > sent_at_kill + 60,
        "live samples flow again after the restart"
    );
    a.shutdown().await;
    let n = produced(&sh);
    drop(sh);
    drain("drv-1", &token, &to, agent_dir.path()).await;
    let got = stored(&store, "drv-1", n).await;
    eprintln!("relay killed: {spooled_while_down} samples waited on disk while it was away");
    assert_once_in_order(&got, n, &format!("relay SIGKILLed for {:?}", outage()));
    assert_eq!(*store.gaps.lock().unwrap(), 0);
    drop(relay2);
    cloud.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_mode_cloud_away_loses_nothing() {
    let agent_dir = tempfile::tempdir().unwrap();
    let store = Arc::new(CloudStore::default());
    let cloud = Cloud::start("127.0.0.1:0".parse().unwrap(), store.clone()).await;
    let to = Upstream::Cloud(cloud.url());
    let a = agent("drv-2", "any", &to, agent_dir.path(), sim("drv-2", 6)).await;
    let sh = a.shared.clone();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!store.samples_of("drv-2").is_empty(), "stored through the direct uplink");
    assert!(*store.live.lock().unwrap() > 0, "live samples go to the cloud too");
    let addr = cloud.stop().await;
    tokio::time::sleep(outage()).await;
    let spooled_while_down = waiting(&sh);
    assert!(spooled_while_down > 100, "samples wait on disk while the cloud is away: {spooled_while_down}");
    let status = sh.spool.get().unwrap().status();
    assert!(status["oldestAgeSecs"].as_f64().unwrap_or(0.0) > 1.0, "{status}");
    let cloud = Cloud::start(addr, store.clone()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    a.shutdown().await;
    let n = produced(&sh);
    drop(sh);
    drain("drv-2", "any", &to, agent_dir.path()).await;
    let got = stored(&store, "drv-2", n).await;
    eprintln!("cloud away: {spooled_while_down} samples waited on disk while it was away");
    assert_once_in_order(&got, n, &format!("direct mode, cloud away for {:?}", outage()));
    cloud.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_restarted_with_a_spool_on_disk_loses_nothing() {
    let relay_dir = tempfile::tempdir().unwrap();
    let agent_dir = tempfile::tempdir().unwrap();
    let token = offline_token(relay_dir.path(), "drv-3");
    let store = Arc::new(CloudStore::default());
    let cloud = Cloud::start("127.0.0.1:0".parse().unwrap(), store.clone()).await;
    let mut relay = spawn_relay(relay_dir.path(), &cloud.url(), 0).await;
    let to = Upstream::Relay(relay.port);
    // The first run: streams, then the relay goes and samples pile up on disk; the agent stops.
    let first = agent("drv-3", &token, &to, agent_dir.path(), sim("drv-3", 7)).await;
    let sh1 = first.shared.clone();
    tokio::time::sleep(Duration::from_secs(2)).await;
    relay.child.start_kill().expect("SIGKILL");
    let _ = relay.child.wait().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    first.shutdown().await;
    let left = waiting(&sh1);
    assert!(left > 100, "unacknowledged samples on disk at the stop: {left}");
    let n1 = produced(&sh1);
    drop(sh1);
    // The relay is back; the agent starts again on the same folder and a new session.
    let relay2 = spawn_relay(relay_dir.path(), &cloud.url(), relay.port).await;
    let second = agent("drv-3", &token, &to, agent_dir.path(), sim("drv-3", 8)).await;
    let sh2 = second.shared.clone();
    tokio::time::sleep(Duration::from_secs(3)).await;
    second.shutdown().await;
    let n2 = produced(&sh2);
    drop(sh2);
    drain("drv-3", &token, &to, agent_dir.path()).await;
    let got = stored(&store, "drv-3", n1 + n2).await;
    eprintln!("agent restart: {left} samples were on disk at the stop");
    assert_once_in_order(&got, n1 + n2, "agent stopped with a spool on disk and restarted");
    drop(relay2);
    cloud.stop().await;
}

/// The agent of [`agent_sigkilled_mid_stream_loses_nothing`] in a process of its own (this test
/// binary run again with `PITBOX_SPOOL_CHILD_PORT` set), so that it can be SIGKILLed: it streams
/// the simulator to that relay and prints how many samples it has produced, until it is killed.
async fn run_as_agent_child(port: &str) -> ! {
    let var = |k: &str| std::env::var(k).expect("set by agent_sigkilled_mid_stream_loses_nothing");
    let port: u16 = port.parse().unwrap();
    let dir = var("PITBOX_SPOOL_CHILD_DIR");
    // Batches a second apart: without the journal a SIGKILL would take up to a second of samples.
    let a = agent_batching(
        "drv-4",
        &var("PITBOX_SPOOL_CHILD_TOKEN"),
        &Upstream::Relay(port),
        Path::new(&dir),
        sim("drv-4", 9),
        Duration::from_secs(1),
    )
    .await;
    loop {
        println!("produced {}", produced(&a.shared));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_sigkilled_mid_stream_loses_nothing() {
    if let Ok(port) = std::env::var("PITBOX_SPOOL_CHILD_PORT") {
        run_as_agent_child(&port).await;
    }
    let relay_dir = tempfile::tempdir().unwrap();
    let agent_dir = tempfile::tempdir().unwrap();
    let token = offline_token(relay_dir.path(), "drv-4");
    let store = Arc::new(CloudStore::default());
    let cloud = Cloud::start("127.0.0.1:0".parse().unwrap(), store.clone()).await;
    let relay = spawn_relay(relay_dir.path(), &cloud.url(), 0).await;
    let to = Upstream::Relay(relay.port);
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["agent_sigkilled_mid_stream_loses_nothing", "--exact", "--nocapture", "--test-threads=1"])
        .env("PITBOX_SPOOL_CHILD_PORT", relay.port.to_string())
        .env("PITBOX_SPOOL_CHILD_DIR", agent_dir.path())
        .env("PITBOX_SPOOL_CHILD_TOKEN", &token)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the agent process");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // About 4 s of streaming, then the kill, half-way into a spool batch on average.
    let mut at_kill = 0u64;
    while at_kill < 240 {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        let Ok(Ok(Some(line))) = line else { panic!("the agent process stopped printing") };
        if let Some(n) = line.strip_prefix("produced ") {
            at_kill = n.trim().parse().unwrap();
        }
    }
    child.start_kill().expect("SIGKILL");
    let _ = child.wait().await;
    // Started again on the same folder (a new session of the simulator), then stopped cleanly.
    let second = agent("drv-4", &token, &to, agent_dir.path(), sim("drv-4", 10)).await;
    let sh2 = second.shared.clone();
    tokio::time::sleep(Duration::from_secs(3)).await;
    second.shutdown().await;
    let n2 = produced(&sh2);
    drop(sh2);
    drain("drv-4", &token, &to, agent_dir.path()).await;
    let got = stored(&store, "drv-4", at_kill + n2).await;
    let times = store.session_times_of("drv-4");
    assert_eq!(times.len(), got.len());
    // The first run's samples are those before the simulator's clock starts again.
    let first_run = times.windows(2).position(|w| w[1] < w[0]).map_or(times.len(), |i| i + 1);
    let step = 1.0 / 60.0;
    let missing: usize =
        times[..first_run].windows(2).map(|w| (((w[1] - w[0]) / step).round() as usize).saturating_sub(1)).sum();
    eprintln!(
        "agent SIGKILLed: {at_kill} produced before the kill was read, {first_run} stored from that run ({missing} missing \
         in its clock); then {n2} produced, {} stored",
        got.len() - first_run
    );
    assert!(times[0] <= 2.0 * step + 1e-9, "the first run is stored from its first sample: {}", times[0]);
    assert_eq!(missing, 0, "no sample of the killed run is missing");
    assert!(
        first_run as u64 >= at_kill,
        "every sample the killed agent had produced is stored: {first_run} < {at_kill}"
    );
    assert_eq!(got.len() - first_run, n2 as usize, "every sample of the second run is stored");
    let dups = got.len() - got.iter().collect::<std::collections::BTreeSet<_>>().len();
    assert_eq!(dups, 0, "no sample stored twice");
    assert!(got.windows(2).all(|w| w[0] < w[1]), "stored in order");
    drop(relay);
    cloud.stop().await;
}
