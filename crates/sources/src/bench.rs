//! `pitbox bench sources`: what the driver agent's reading costs at 60 Hz with the simulator.
//!
//! The simulator runs in real time in its own thread, writing live memory; the live reader
//! thread maps every row to a `telemetry_update` (and standings at 2 Hz), and the consumer
//! serialises each message to its JSON envelope, as the agent does before sending. CPU time is
//! read per thread from `/proc` (Linux), so the simulator's own cost is reported apart from the
//! agent's (reader + consumer). RSS is the whole process's, simulator included: an upper bound
//! for the agent.

use crate::live::LiveOptions;
use crate::sim::output::LivePace;
use crate::sim::source::SimSource;
use crate::sim::{SimConfig, track};
use crate::{SourceError, SourceEvent, TelemetrySource};
use pitbox_model::Message;
use std::time::{Duration, Instant};

/// The figures of one run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BenchReport {
    pub seconds: f64,
    pub telemetry: u64,
    pub standings: u64,
    /// Samples per second received.
    pub rate_hz: f64,
    /// Agent work (reader thread + consumer), percent of one core; `None` off Linux.
    pub agent_cpu_pct: Option<f64>,
    /// The simulator thread, percent of one core.
    pub sim_cpu_pct: Option<f64>,
    /// Resident set size of the whole process at the end, MB.
    pub rss_mb: Option<f64>,
}

/// CPU seconds (user + system) of one thread of this process, by name.
fn thread_cpu(name_prefix: &str) -> Option<f64> {
    let tick = 100.0; // USER_HZ on Linux.
    let mut total = None;
    for t in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim().starts_with(name_prefix) {
            let stat = std::fs::read_to_string(t.path().join("stat")).ok()?;
            let after = stat.rsplit_once(')')?.1;
            let f: Vec<&str> = after.split_whitespace().collect();
            let ut: f64 = f.get(11)?.parse().ok()?;
            let st: f64 = f.get(12)?.parse().ok()?;
            *total.get_or_insert(0.0) += (ut + st) / tick;
        }
    }
    total
}

/// CPU seconds of this thread.
fn self_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ut: f64 = f.get(11)?.parse().ok()?;
    let st: f64 = f.get(12)?.parse().ok()?;
    Some((ut + st) / 100.0)
}

fn rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs the simulator at 60 Hz for `duration` and measures.
pub fn measure(duration: Duration) -> Result<BenchReport, SourceError> {
    let cfg = SimConfig::new(1, &track::RED_BULL_RING);
    let mut src = SimSource::start(cfg, LivePace { speed: 1.0 }, LiveOptions::new("bench-driver"))?;
    // Let it connect and settle before the clock starts.
    let warm = Instant::now() + Duration::from_millis(500);
    while Instant::now() < warm {
        src.next_event()?;
    }
    let (r0, s0, c0) = (thread_cpu("pitbox-live-rea"), thread_cpu("pitbox-sim"), self_cpu());
    let start = Instant::now();
    let (mut telemetry, mut standings, mut bytes) = (0u64, 0u64, 0usize);
    while start.elapsed() < duration {
        let Some(ev) = src.next_event()? else { break };
        let msg = match ev {
            SourceEvent::Telemetry(t) => {
                telemetry += 1;
                Message::TelemetryUpdate(*t)
            }
            SourceEvent::Standings(s) => {
                standings += 1;
                Message::StandingsUpdate(*s)
            }
            SourceEvent::Session(s) => Message::SessionInfo(*s),
            SourceEvent::State(_) | SourceEvent::Spotter(_) => continue,
        };
        bytes += msg.to_json().len();
    }
    let secs = start.elapsed().as_secs_f64();
    let (r1, s1, c1) = (thread_cpu("pitbox-live-rea"), thread_cpu("pitbox-sim"), self_cpu());
    let pct = |a: Option<f64>, b: Option<f64>| Some((b? - a?) / secs * 100.0);
    let agent = match (pct(r0, r1), pct(c0, c1)) {
        (Some(r), Some(c)) => Some(r + c),
        _ => None,
    };
    std::hint::black_box(bytes);
    Ok(BenchReport {
        seconds: secs,
        telemetry,
        standings,
        rate_hz: telemetry as f64 / secs,
        agent_cpu_pct: agent,
        sim_cpu_pct: pct(s0, s1),
        rss_mb: rss_mb(),
    })
}

/// Runs the benchmark for 10 s and prints the figures.
pub fn bench() -> Result<BenchReport, SourceError> {
    let r = measure(Duration::from_secs(10))?;
    let f =
        |v: Option<f64>, unit: &str| v.map_or("not measured (needs Linux /proc)".into(), |v| format!("{v:.2}{unit}"));
    println!("sources bench: simulator at 60 Hz, read through live memory, mapped and JSON-encoded");
    println!(
        "  {:.1} s, {} telemetry_update ({:.1} Hz), {} standings_update",
        r.seconds, r.telemetry, r.rate_hz, r.standings
    );
    println!("  agent CPU (reader + mapping + JSON): {} of one core (target < 2%)", f(r.agent_cpu_pct, "%"));
    println!("  simulator CPU: {} of one core (not part of the agent)", f(r.sim_cpu_pct, "%"));
    println!("  RSS of the whole process: {} (target < 50 MB; includes the simulator)", f(r.rss_mb, " MB"));
    Ok(r)
}
