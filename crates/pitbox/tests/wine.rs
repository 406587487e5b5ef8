//! The Windows build's iRacing path end to end, under wine (issue 19): `pitbox.exe sim
//! --serve-iracing` (or `pitbox.exe ibt replay FILE --serve-iracing`) publishes iRacing's named
//! memory map and data-valid event; `pitbox.exe driver --source iracing` reads them through the
//! real Win32 reader and streams to a relay (the Linux build), whose dashboard client receives the
//! driver's moving telemetry. The agent's local API must show exactly what the stand-in wrote:
//! every value it reports is compared with the same rows written to an `.ibt` by the Linux build
//! (the simulator is deterministic) and mapped by the same code.
//!
//! Runs when `PITBOX_TEST_WINDOWS_EXE` names pitbox.exe and `PITBOX_TEST_WINE_RUNNER` the wine
//! runner (scripts/test-windows sets both); otherwise it says it skipped.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use pitbox_model::control::{Authenticate, PROTOCOL_VERSION, Subscribe};
use pitbox_model::{ClientType, Message};
use pitbox_sources::replay::{Pace, ReplayOptions, ReplaySource};
use pitbox_sources::{SourceEvent, TelemetrySource};
use tokio_tungstenite::tungstenite::Message as Ws;

const TEAM: &str = "team-w";
const DRIVER: &str = "drv-win";

/// A child process killed when the test ends, however it ends.
struct Proc {
    child: Child,
    name: &'static str,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Wine {
    runner: PathBuf,
    exe: PathBuf,
}

impl Wine {
    fn from_env(test: &str) -> Option<Wine> {
        match (std::env::var_os("PITBOX_TEST_WINDOWS_EXE"), std::env::var_os("PITBOX_TEST_WINE_RUNNER")) {
            (Some(exe), Some(runner)) => Some(Wine { runner: runner.into(), exe: exe.into() }),
            _ => {
                pitbox_testkit::skip(
                    test,
                    "PITBOX_TEST_WINDOWS_EXE / PITBOX_TEST_WINE_RUNNER are not set (scripts/test-windows sets them)",
                );
                None
            }
        }
    }

    fn spawn(&self, name: &'static str, args: &[&str], log: &Path) -> Proc {
        let out = std::fs::File::create(log).unwrap();
        let child = Command::new(&self.runner)
            .arg(&self.exe)
            .args(args)
            .env_remove("PITBOX_CONFIG")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name} under wine: {e}"));
        Proc { child, name }
    }
}

fn pitbox() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pitbox"));
    c.env_remove("PITBOX_CONFIG").env_remove("RUST_LOG");
    c
}

fn token(dir: &Path, user: &str, role: &str) -> String {
    let out = pitbox()
        .args(["token", "--data-dir", dir.to_str().unwrap(), "--user-id", user, "--role", role, "--team", TEAM])
        .output()
        .unwrap();
    assert!(out.status.success(), "pitbox token: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A Linux relay on a free port, offline, trusting `dir`'s key pair.
fn relay(dir: &Path) -> (Proc, SocketAddr) {
    let mut child = pitbox()
        .args(["relay", "--listen", "127.0.0.1:0", "--data-dir", dir.to_str().unwrap(), "--print-addr"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening ").unwrap_or_else(|| panic!("relay said {line:?}"));
    (Proc { child, name: "relay" }, addr.parse().unwrap())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// GET on the agent's local API: (status, body).
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.split(' ').nth(1)?.parse().ok()?;
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    // A chunked body (axum answers JSON with a length, but be safe): take the JSON part.
    let body = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) if b >= a => body[a..=b].to_string(),
        _ => body,
    };
    Some((status, body))
}

fn wait_for<T>(what: &str, within: Duration, procs: &mut [&mut Proc], mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        for p in procs.iter_mut() {
            if let Ok(Some(st)) = p.child.try_wait() {
                panic!("{} exited ({st}) while waiting for {what}", p.name);
            }
        }
        assert!(Instant::now() < end, "timed out after {within:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every `GET /api/telemetry/current` body the rows of `ibt` can give, as the agent maps them.
fn expected_currents(ibt: &Path) -> HashSet<String> {
    let mut opts = ReplayOptions::new(DRIVER);
    opts.pace = Pace::AsFastAsPossible;
    opts.standings_hz = 0.0;
    let mut src = ReplaySource::open(ibt, opts).unwrap();
    let mut out = HashSet::new();
    while let Some(ev) = src.next_event().unwrap() {
        if let SourceEvent::Telemetry(t) = ev {
            out.insert(serde_json::to_value(t.current()).unwrap().to_string());
        }
    }
    assert!(out.len() > 100, "only {} distinct samples in {}", out.len(), ibt.display());
    out
}

/// A dashboard on the relay, collecting what it receives in the background.
struct Dashboard {
    got: std::sync::Arc<std::sync::Mutex<Vec<Message>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Dashboard {
    async fn connect(addr: SocketAddr, token: &str) -> Dashboard {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/")).await.unwrap();
        let send = |m: Message| Ws::text(m.to_json());
        ws.send(send(Message::Authenticate(Authenticate {
            token: token.into(),
            client_type: ClientType::Dashboard,
            version: PROTOCOL_VERSION.into(),
            spooled: false,
        })))
        .await
        .unwrap();
        ws.send(send(Message::Subscribe(Subscribe {
            team_id: None,
            driver_ids: vec![],
            channels: vec![],
            max_rate_hz: None,
        })))
        .await
        .unwrap();
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let g = got.clone();
        let task = tokio::spawn(async move {
            while let Some(Ok(frame)) = ws.next().await {
                if let Ws::Text(t) = frame
                    && let Ok(m) = pitbox_model::protocol::decode(t.as_bytes())
                {
                    g.lock().unwrap().push(m);
                }
            }
        });
        Dashboard { got, _task: task }
    }

    fn telemetry(&self) -> Vec<pitbox_model::telemetry::TelemetryUpdate> {
        let got = self.got.lock().unwrap();
        got.iter()
            .filter_map(|m| match m {
                Message::TelemetryUpdate(t) if t.driver_id == DRIVER => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    fn sessions(&self) -> Vec<pitbox_model::session::SessionInfo> {
        let got = self.got.lock().unwrap();
        got.iter()
            .filter_map(|m| match m {
                Message::SessionInfo(s) if s.driver_id == DRIVER => Some(s.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Reads the agent's current sample until `n` distinct ones were seen, checking each against
/// the stand-in's rows. `stale` is the sample shown before this stand-in started (the agent
/// keeps the last one across a restart); samples past lap `max_lap` are after the end of the
/// `.ibt` the expectations come from (the race's cool-down lap) and are not compared.
fn check_current(
    port: u16,
    n: usize,
    expected: &HashSet<String>,
    stale: Option<&str>,
    max_lap: u64,
    procs: &mut [&mut Proc],
) {
    let mut seen = HashSet::new();
    wait_for("distinct samples on GET /api/telemetry/current", Duration::from_secs(60), procs, || {
        if let Some((200, body)) = get(port, "/api/telemetry/current") {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            let key = v.to_string();
            if Some(key.as_str()) != stale && v["lap"].as_u64().is_some_and(|l| l <= max_lap) {
                assert!(expected.contains(&key), "the agent reports a sample the stand-in never wrote: {key}");
                seen.insert(key);
            }
        }
        (seen.len() >= n).then_some(())
    });
}

fn sim_args<'a>(track: &'a str, seed: &'a str, laps: &'a str) -> Vec<&'a str> {
    vec!["--track", track, "--seed", seed, "--cars", "6", "--laps", laps, "--stint-laps", "1"]
}

/// The stand-in's rows, written by the Linux build with the same settings.
fn write_ibt(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let out = pitbox()
        .arg("sim")
        .args(args)
        .args(["--driver-id", DRIVER, "--write-ibt", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "pitbox sim --write-ibt: {}", String::from_utf8_lossy(&out.stderr));
    path
}

fn log_tail(p: &Path) -> String {
    let t = std::fs::read_to_string(p).unwrap_or_default();
    t.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_iracing_feeds_the_windows_driver_relay_and_dashboard() {
    let test = "wine::serve_iracing_feeds_the_windows_driver_relay_and_dashboard";
    let Some(wine) = Wine::from_env(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let driver_token = token(d, DRIVER, "driver");
    let dash_token = token(d, "eng-1", "engineer");
    let (mut relay, relay_addr) = relay(d);

    // The first sim: two laps of Brands Hatch Indy with a driver change at the stop after lap 1.
    let a_args = sim_args("brandsindy", "5", "2");
    let expected_a = expected_currents(&write_ibt(d, "a.ibt", &a_args));

    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let relay_url = format!("ws://{relay_addr}/");
    let agent_dir = d.join("agent");
    let driver_log = d.join("driver.log");
    let mut driver = wine.spawn(
        "driver",
        &[
            "driver",
            "--source",
            "iracing",
            "--listen",
            &listen,
            "--relay-url",
            &relay_url,
            "--token",
            &driver_token,
            "--driver-id",
            DRIVER,
            "--voice-enabled",
            "false",
            "--data-dir",
            agent_dir.to_str().unwrap(),
        ],
        &driver_log,
    );
    let dash = Dashboard::connect(relay_addr, &dash_token).await;
    // The agent is up and waiting for the sim before the sim starts, as a driver would start it.
    wait_for("the agent's local API", Duration::from_secs(60), &mut [&mut driver, &mut relay], || {
        get(port, "/api/status").filter(|(s, _)| *s == 200).map(|_| ())
    });
    let sim_a_log = d.join("sim-a.log");
    let mut serve_a: Vec<&str> = vec!["sim", "--serve-iracing", "--speed", "5", "--driver-id", DRIVER];
    serve_a.extend(&a_args);
    let mut sim_a = wine.spawn("sim A", &serve_a, &sim_a_log);

    let ctx = |what: &str| {
        format!("{what}\n--- driver log:\n{}\n--- sim A log:\n{}", log_tail(&driver_log), log_tail(&sim_a_log))
    };
    // The agent reads the sim through the Win32 reader: its local API shows the stand-in's values.
    check_current(port, 5, &expected_a, None, 2, &mut [&mut driver, &mut relay]);
    let (_, status) = get(port, "/api/status").unwrap();
    assert!(status.contains("\"sourceState\":\"connected\""), "{}", ctx(&status));
    // The dashboard receives that driver's moving telemetry through the relay.
    wait_for("moving telemetry at the dashboard", Duration::from_secs(30), &mut [&mut driver, &mut relay], || {
        let t = dash.telemetry();
        let laps: HashSet<u64> = t.iter().map(|s| (s.track_position * 1e6) as u64).collect();
        (t.len() >= 20 && laps.len() >= 10).then_some(())
    });
    for t in dash.telemetry().iter().take(50) {
        let cur = serde_json::to_value(t.current()).unwrap().to_string();
        assert!(expected_a.contains(&cur), "dashboard got a sample the stand-in never wrote: {cur}");
    }

    // A session change: the driver change moves sessionInfoUpdate and the agent re-sends the
    // session; then the session ends, the sim clears the connected bit and closes the map.
    let status = wait_for("sim A to finish", Duration::from_secs(120), &mut [&mut driver, &mut relay], || {
        sim_a.child.try_wait().unwrap()
    });
    assert!(status.success(), "{}", ctx("sim A failed"));
    let sim_out = std::fs::read_to_string(&sim_a_log).unwrap();
    let updates: HashSet<&str> =
        sim_out.lines().filter_map(|l| l.split("sessionInfoUpdate ").nth(1)).map(str::trim).collect();
    assert!(updates.len() >= 2, "sessionInfoUpdate never moved: {}", ctx(""));
    assert!(sim_out.contains("session over: disconnected"), "{}", ctx("sim A did not disconnect"));
    wait_for("the agent to see the sim go", Duration::from_secs(30), &mut [&mut driver, &mut relay], || {
        get(port, "/api/status").filter(|(_, s)| s.contains("\"sourceState\":\"disconnected\"")).map(|_| ())
    });
    let names = |ss: &[pitbox_model::session::SessionInfo]| -> HashSet<String> {
        ss.iter().map(|s| serde_json::to_string(&s.drivers).unwrap()).collect()
    };
    let a_sessions = dash.sessions();
    assert!(
        names(&a_sessions).len() >= 2,
        "the dashboard saw {} session_info messages, no change after the driver change: {}",
        a_sessions.len(),
        ctx("")
    );
    assert!(a_sessions.iter().all(|s| s.track.display_name.to_lowercase().contains("brands")), "{a_sessions:?}");

    // A sim restart: a new map under the same name, another track; the agent picks it up.
    let b_args = sim_args("redbullring", "9", "1");
    let expected_b = expected_currents(&write_ibt(d, "b.ibt", &b_args));
    let mut serve_b: Vec<&str> = vec!["sim", "--serve-iracing", "--speed", "4", "--driver-id", DRIVER];
    serve_b.extend(&b_args);
    let last_a = get(port, "/api/telemetry/current").map(|(_, b)| b.parse::<serde_json::Value>().unwrap().to_string());
    let sim_b = wine.spawn("sim B", &serve_b, &d.join("sim-b.log"));
    let before = dash.telemetry().len();
    check_current(port, 5, &expected_b, last_a.as_deref(), 1, &mut [&mut driver, &mut relay]);
    wait_for("telemetry from the restarted sim", Duration::from_secs(30), &mut [&mut driver, &mut relay], || {
        (dash.telemetry().len() > before + 20).then_some(())
    });
    wait_for("the new session at the dashboard", Duration::from_secs(30), &mut [&mut driver, &mut relay], || {
        dash.sessions().iter().any(|s| s.track.display_name.to_lowercase().contains("red bull")).then_some(())
    });
    let seq: Vec<u64> = dash.telemetry().iter().filter_map(|t| t.sequence).collect();
    assert!(seq.windows(2).all(|w| w[1] > w[0]), "sequence numbers must carry on across the restart");
    // A sim killed mid-session leaves its connected bit set: the agent notices no tick comes.
    let mut sim_b = sim_b;
    sim_b.child.kill().unwrap();
    let _ = sim_b.child.wait();
    wait_for("the agent to notice the killed sim", Duration::from_secs(30), &mut [&mut driver, &mut relay], || {
        get(port, "/api/status").filter(|(_, s)| s.contains("\"sourceState\":\"disconnected\"")).map(|_| ())
    });
    drop(driver);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ibt_replay_serve_iracing_reaches_the_windows_driver() {
    let test = "wine::ibt_replay_serve_iracing_reaches_the_windows_driver";
    let Some(wine) = Wine::from_env(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A real iRacing file when the shared data is there, else one the simulator wrote.
    let ibt = match pitbox_testkit::shared_data().map(|s| s.join("ibt/gmartsenkov__itelem__amg.ibt")) {
        Some(p) if p.is_file() => p,
        _ => write_ibt(d, "r.ibt", &sim_args("monza", "3", "1")),
    };
    let expected = expected_currents(&ibt);
    let replay_log = d.join("replay.log");
    let mut replay =
        wine.spawn("ibt replay", &["ibt", "replay", ibt.to_str().unwrap(), "--serve-iracing", "--loop"], &replay_log);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let driver_log = d.join("driver.log");
    let mut driver = wine.spawn(
        "driver",
        &[
            "driver",
            "--source",
            "iracing",
            "--listen",
            &listen,
            "--driver-id",
            DRIVER,
            "--voice-enabled",
            "false",
            "--data-dir",
            d.join("agent").to_str().unwrap(),
        ],
        &driver_log,
    );
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check_current(port, 5, &expected, None, u64::MAX, &mut [&mut driver, &mut replay]);
    }));
    if let Err(e) = r {
        eprintln!("--- replay log:\n{}\n--- driver log:\n{}", log_tail(&replay_log), log_tail(&driver_log));
        std::panic::resume_unwind(e);
    }
}
