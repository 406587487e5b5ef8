//! `pitbox bench driver`: the whole agent at 60 Hz with the simulator, publishing to a
//! WebSocket sink on loopback that authenticates it and discards what it gets (a stand-in for
//! the relay, so only the agent's work is measured).
//!
//! CPU is read per thread from `/proc` (Linux): every thread of the process except the
//! simulator's own (`pitbox-sim`) and the sink's runtime (`bench-sink`) counts as the agent's.
//! RSS is the whole process's (simulator and sink included): an upper bound for the agent.

use crate::agent::{AgentSettings, start};
use futures_util::{SinkExt, StreamExt};
use pitbox_model::Message;
use pitbox_model::control::AuthenticationResult;
use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
use pitbox_sources::live::LiveOptions;
use pitbox_sources::sim::output::LivePace;
use pitbox_sources::sim::source::SimSource;
use pitbox_sources::sim::{SimConfig, track};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;

/// The figures of one run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriverBench {
    pub seconds: f64,
    /// `telemetry_update`s the sink received per second.
    pub telemetry_hz: f64,
    pub frames: u64,
    /// Agent threads, percent of one core (`None` off Linux).
    pub agent_cpu_pct: Option<f64>,
    pub sim_cpu_pct: Option<f64>,
    pub rss_mb: Option<f64>,
}

/// CPU seconds per thread name, for this process.
fn cpu_by_thread() -> Option<Vec<(String, f64)>> {
    let mut out = Vec::new();
    for t in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else { continue };
        let Some((_, after)) = stat.rsplit_once(')') else { continue };
        let f: Vec<&str> = after.split_whitespace().collect();
        let (Some(u), Some(s)) =
            (f.get(11).and_then(|v| v.parse::<f64>().ok()), f.get(12).and_then(|v| v.parse::<f64>().ok()))
        else {
            continue;
        };
        out.push((comm.trim().to_string(), (u + s) / 100.0));
    }
    Some(out)
}

fn split(v: &[(String, f64)]) -> (f64, f64) {
    let sim: f64 = v.iter().filter(|(n, _)| n.starts_with("pitbox-sim")).map(|x| x.1).sum();
    let agent: f64 =
        v.iter().filter(|(n, _)| !n.starts_with("pitbox-sim") && !n.starts_with("bench-sink")).map(|x| x.1).sum();
    (agent, sim)
}

fn rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs the agent for `duration` and measures.
pub fn measure(duration: Duration) -> anyhow::Result<DriverBench> {
    // The sink runs on a runtime of its own, in threads named so they are not counted.
    let sink_rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name("bench-sink").enable_all().build()?;
    let frames = Arc::new(AtomicU64::new(0));
    let telemetry = Arc::new(AtomicU64::new(0));
    let listener = sink_rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let port = listener.local_addr()?.port();
    let (f2, t2) = (frames.clone(), telemetry.clone());
    sink_rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (f, t) = (f2.clone(), t2.clone());
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else { return };
                while let Some(Ok(frame)) = ws.next().await {
                    let Ws::Text(text) = frame else { continue };
                    f.fetch_add(1, Ordering::Relaxed);
                    if text.as_str().starts_with(r#"{"type":"telemetry_update""#) {
                        t.fetch_add(1, Ordering::Relaxed);
                    } else if text.as_str().starts_with(r#"{"type":"authenticate""#) {
                        let ok = Message::AuthenticationResult(AuthenticationResult {
                            success: true,
                            user_id: Some("bench-driver".into()),
                            role: Some(pitbox_model::UserRole::Driver),
                            team_id: Some("bench".into()),
                            reason: None,
                        });
                        if ws.send(Ws::Text(ok.to_json().into())).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    rt.block_on(async move {
        let source = SimSource::start(
            SimConfig::new(1, &track::RED_BULL_RING),
            LivePace { speed: 1.0 },
            LiveOptions::new("bench-driver"),
        )?;
        let settings = AgentSettings {
            driver_id: "bench-driver".into(),
            token: Some("bench".into()),
            app: DriverAppConfig {
                relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port },
                cloud: CloudConfig { endpoint: "http://127.0.0.1:8080".into(), enabled: false },
                voice: VoiceConfig { enabled: false, sensitivity: 0.5, voice_id: "default".into() },
            },
            listen: "127.0.0.1:0".parse()?,
            telemetry_hz: 60.0,
            standings_hz: 2.0,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
        };
        let agent = start(settings, Box::new(source)).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let c0 = cpu_by_thread();
        let t0 = telemetry.load(Ordering::Relaxed);
        let f0 = frames.load(Ordering::Relaxed);
        let start = std::time::Instant::now();
        tokio::time::sleep(duration).await;
        let secs = start.elapsed().as_secs_f64();
        let c1 = cpu_by_thread();
        let (t1, f1) = (telemetry.load(Ordering::Relaxed), frames.load(Ordering::Relaxed));
        agent.shutdown().await;
        let (agent_cpu, sim_cpu) = match (c0, c1) {
            (Some(a), Some(b)) => {
                if std::env::var_os("PITBOX_BENCH_THREADS").is_some() {
                    for (name, t1) in &b {
                        let t0 = a.iter().find(|x| &x.0 == name).map_or(0.0, |x| x.1);
                        eprintln!("  thread {name}: {:.2}%", (t1 - t0) / secs * 100.0);
                    }
                }
                let (a0, s0) = split(&a);
                let (a1, s1) = split(&b);
                (Some((a1 - a0) / secs * 100.0), Some((s1 - s0) / secs * 100.0))
            }
            _ => (None, None),
        };
        Ok(DriverBench {
            seconds: secs,
            telemetry_hz: (t1 - t0) as f64 / secs,
            frames: f1 - f0,
            agent_cpu_pct: agent_cpu,
            sim_cpu_pct: sim_cpu,
            rss_mb: rss_mb(),
        })
    })
}

/// Runs the bench for 10 s and prints the figures.
pub fn bench() -> anyhow::Result<DriverBench> {
    let r = measure(Duration::from_secs(10))?;
    let f =
        |v: Option<f64>, unit: &str| v.map_or("not measured (needs Linux /proc)".into(), |v| format!("{v:.2}{unit}"));
    println!("driver bench: the agent at 60 Hz with the simulator, publishing to a loopback WebSocket sink");
    println!("  {:.1} s, {:.1} telemetry_update/s received, {} frames", r.seconds, r.telemetry_hz, r.frames);
    println!("  agent CPU (all agent threads): {} of one core (target < 2%)", f(r.agent_cpu_pct, "%"));
    println!("  simulator CPU: {} of one core (not the agent's)", f(r.sim_cpu_pct, "%"));
    println!(
        "  RSS of the whole process: {} (target < 50 MB; includes the simulator and the sink)",
        f(r.rss_mb, " MB")
    );
    Ok(r)
}
