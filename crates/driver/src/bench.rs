//! `pitbox bench driver`: the whole agent at 60 Hz with the simulator, publishing to a
//! WebSocket sink on loopback that authenticates it and discards what it gets (a stand-in for
//! the relay, so only the agent's work is measured).
//!
//! CPU is read per thread from `/proc` (Linux): every thread of the process except the
//! simulator's own (`pitbox-sim`) and the sink's runtime (`bench-sink`) counts as the agent's.
//! RSS is the whole process's (simulator and sink included): an upper bound for the agent.
//!
//! With voice on, the sink sends a `team_message` every 5 s (a far busier radio than a race's),
//! each spoken by espeak-ng into WAV files in real time, and one "fuel status" voice command
//! (synthesised with espeak-ng) is posted to the local API so the recogniser is loaded. espeak-ng
//! runs as child processes: their CPU is reported apart (from the process's children times).

use crate::agent::{AgentSettings, start};
use crate::voice::VoiceSettings;
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
    /// Voice on: callouts spoken, and espeak-ng's CPU (child processes), percent of one core.
    pub voice: bool,
    pub callouts_spoken: u64,
    pub speech_child_cpu_pct: Option<f64>,
}

/// CPU seconds of waited-for child processes (espeak-ng).
fn children_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let (_, after) = stat.rsplit_once(')')?;
    let f: Vec<&str> = after.split_whitespace().collect();
    let cu: f64 = f.get(13)?.parse().ok()?;
    let cs: f64 = f.get(14)?.parse().ok()?;
    Some((cu + cs) / 100.0)
}

/// CPU seconds per thread name, for this process.
pub(crate) fn cpu_by_thread() -> Option<Vec<(String, f64)>> {
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

/// Runs the agent for `duration`, voice off, and measures.
pub fn measure(duration: Duration) -> anyhow::Result<DriverBench> {
    measure_with(duration, false)
}

/// Runs the agent for `duration` with the voice on or off, and measures.
pub fn measure_with(duration: Duration, voice_on: bool) -> anyhow::Result<DriverBench> {
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
                let mut chatter = tokio::time::interval(Duration::from_secs(5));
                let mut n = 0u32;
                loop {
                    let frame = tokio::select! {
                        f = ws.next() => f,
                        _ = chatter.tick(), if voice_on => {
                            n += 1;
                            let m = Message::TeamMessage(pitbox_voice::engineer::team_message(
                                format!("bench-{n}"),
                                "Car 23 is two seconds behind and closing, push in sector two.",
                                pitbox_model::Priority::Normal,
                                "bench-engineer",
                                "Engineer",
                                chrono::Utc::now(),
                            ));
                            if ws.send(Ws::Text(m.to_json().into())).await.is_err() {
                                return;
                            }
                            continue;
                        }
                    };
                    let Some(Ok(frame)) = frame else { return };
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
        let callout_dir = tempfile::tempdir()?;
        let voice = VoiceSettings::wav_dir(callout_dir.path());
        let settings = AgentSettings {
            driver_id: "bench-driver".into(),
            token: Some("bench".into()),
            login: None,
            app: DriverAppConfig {
                relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port },
                cloud: CloudConfig { endpoint: "http://127.0.0.1:8080".into(), enabled: false },
                voice: VoiceConfig { enabled: voice_on, sensitivity: 0.5, voice_id: "default".into() },
            },
            listen: "127.0.0.1:0".parse()?,
            api_key: None,
            api_allow_remote: false,
            telemetry_hz: 60.0,
            standings_hz: 2.0,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
            voice,
            spool: None,
            cloud_url: None,
            data_dir: None,
            config_file: None,
            joystick_dir: None,
            video: None,
        };
        let agent = start(settings, Box::new(source)).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        if voice_on {
            // One command, so the recogniser is loaded (and in the RSS), when the engines are here.
            let tts = pitbox_voice::EspeakNg::new();
            if tts.available().is_ok() && pitbox_voice::sphinx::availability().is_ok() {
                let req = pitbox_voice::SpeechRequest::new("fuel status", "en-us");
                let wav = tts.synthesize_blocking(&req)?.to_wav();
                let entry = agent.voice.command_wav(&wav, "bench").await?;
                eprintln!("  voice command: heard {:?}, answered {:?}", entry.phrase, entry.answers);
            } else {
                eprintln!(
                    "  espeak-ng missing or the recogniser failed: voice measured without speech (scripts/setup-voice)"
                );
            }
        }
        let k0 = children_cpu();
        let c0 = cpu_by_thread();
        let t0 = telemetry.load(Ordering::Relaxed);
        let f0 = frames.load(Ordering::Relaxed);
        let start = std::time::Instant::now();
        tokio::time::sleep(duration).await;
        let secs = start.elapsed().as_secs_f64();
        let c1 = cpu_by_thread();
        let (t1, f1) = (telemetry.load(Ordering::Relaxed), frames.load(Ordering::Relaxed));
        let k1 = children_cpu();
        let spoken =
            agent.voice.log().callouts.iter().filter(|c| c.state == crate::voice::CalloutState::Spoken).count() as u64;
        let rss = rss_mb();
        agent.shutdown().await;
        drop(callout_dir);
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
            rss_mb: rss,
            voice: voice_on,
            callouts_spoken: spoken,
            speech_child_cpu_pct: match (k0, k1) {
                (Some(a), Some(b)) => Some((b - a) / secs * 100.0),
                _ => None,
            },
        })
    })
}

/// Runs the bench for 10 s with the voice off, then 10 s with it on, and prints the figures;
/// returns the voice-on run.
pub fn bench() -> anyhow::Result<DriverBench> {
    let f =
        |v: Option<f64>, unit: &str| v.map_or("not measured (needs Linux /proc)".into(), |v| format!("{v:.2}{unit}"));
    println!("driver bench: the agent at 60 Hz with the simulator, publishing to a loopback WebSocket sink");
    let mut last = None;
    for voice_on in [false, true] {
        let r = measure_with(Duration::from_secs(10), voice_on)?;
        if voice_on {
            println!("voice on (a team message every 5 s spoken by espeak-ng into WAV files, recogniser loaded):");
        } else {
            println!("voice off:");
        }
        println!("  {:.1} s, {:.1} telemetry_update/s received, {} frames", r.seconds, r.telemetry_hz, r.frames);
        println!("  agent CPU (all agent threads): {} of one core (target < 2%)", f(r.agent_cpu_pct, "%"));
        println!("  simulator CPU: {} of one core (not the agent's)", f(r.sim_cpu_pct, "%"));
        if voice_on {
            println!(
                "  {} callouts spoken; espeak-ng child processes: {} of one core",
                r.callouts_spoken,
                f(r.speech_child_cpu_pct, "%")
            );
        }
        println!(
            "  RSS of the whole process: {} (target < 50 MB; includes the simulator and the sink)",
            f(r.rss_mb, " MB")
        );
        last = Some(r);
    }
    last.ok_or_else(|| anyhow::anyhow!("no run"))
}
