//! `pitbox sim` as library code, for the binary to wire:
//! `Command::Sim(args) => pitbox_sources::cli::run_sim(args)`.
//!
//! - `pitbox sim --track monza --seed 7 --laps 10 --write-ibt race.ibt` runs the session as fast
//!   as it can, writes an `.ibt` file through irsdk's writer and prints the team car's laps;
//! - `pitbox sim --json` runs it live (real time, or `--speed N`), read back through the live
//!   reader, and prints every message as a JSON envelope, one per line;
//! - `pitbox sim --list-tracks` lists the tracks with their real reference lap.

use crate::live::LiveOptions;
use crate::sim::output::{LivePace, write_ibt};
use crate::sim::source::SimSource;
use crate::sim::{SessionKind, Sim, SimConfig, track};
use crate::{SourceEvent, TelemetrySource};
use anyhow::{Context, Result, bail};
use pitbox_model::Message;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run the built-in simulator: a seeded race session written as iRacing telemetry.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Track: redbullring, monza or brandsindy.
    #[arg(long, env = "PITBOX_SIM_TRACK", default_value = "redbullring")]
    pub track: String,
    /// Seed: the same seed gives the same session.
    #[arg(long, env = "PITBOX_SIM_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Write an .ibt file (as fast as possible) instead of running live.
    #[arg(long, value_name = "OUT.ibt")]
    pub write_ibt: Option<PathBuf>,
    /// Laps the team car drives before the run stops (also the race length).
    #[arg(long, env = "PITBOX_SIM_LAPS", default_value_t = 5)]
    pub laps: u32,
    /// A practice session of this many laps of the team car before the race (0: none).
    #[arg(long, env = "PITBOX_SIM_PRACTICE_LAPS", default_value_t = 0)]
    pub practice_laps: u32,
    /// A qualifying session of this many laps before the race, whose best laps set the grid (0: none).
    #[arg(long, env = "PITBOX_SIM_QUALIFY_LAPS", default_value_t = 0)]
    pub qualify_laps: u32,
    /// Cars in the field (1–64).
    #[arg(long, env = "PITBOX_SIM_CARS", default_value_t = 24)]
    pub cars: usize,
    /// Laps of fuel per stint (pit stops and driver changes come at this rhythm).
    #[arg(long, env = "PITBOX_SIM_STINT_LAPS", default_value_t = 12)]
    pub stint_laps: u32,
    /// Plant coaching mistakes on the team car (one every third lap).
    #[arg(long)]
    pub mistakes: bool,
    /// Live mode: sim seconds per wall-clock second.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Live mode: print every message as a JSON envelope, one per line.
    #[arg(long)]
    pub json: bool,
    /// Driver id put into the messages.
    #[arg(long, env = "PITBOX_DRIVER_ID", default_value = "sim-driver")]
    pub driver_id: String,
    /// List the tracks and stop.
    #[arg(long)]
    pub list_tracks: bool,
    /// Publish the session as iRacing does on Windows (memory map `Local\IRSDKMemMapFileName`,
    /// event `Local\IRSDKDataValidEvent`), so `pitbox driver --source iracing` and other iRacing
    /// SDK tools read it as if iRacing ran. Windows only.
    #[arg(long)]
    pub serve_iracing: bool,
}

fn config(args: &SimArgs) -> Result<SimConfig> {
    let t = track::find(&args.track).with_context(|| {
        let known: Vec<&str> = track::TRACKS.iter().map(|t| t.key).collect();
        format!("unknown track `{}` (known: {})", args.track, known.join(", "))
    })?;
    if args.laps == 0 {
        bail!("--laps must be at least 1");
    }
    let mut cfg = SimConfig::new(args.seed, t);
    cfg.cars = args.cars;
    cfg.session_laps = Some(args.laps);
    cfg.practice_laps = args.practice_laps;
    cfg.qualify_laps = args.qualify_laps;
    cfg.stint_laps = args.stint_laps;
    cfg.player_car_idx = cfg.player_car_idx.min(args.cars.saturating_sub(1));
    if args.mistakes {
        cfg = cfg.with_planted_mistakes(args.laps as i32);
    }
    Ok(cfg)
}

/// Runs `pitbox sim`.
pub fn run_sim(args: SimArgs) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if args.list_tracks {
        for t in track::TRACKS {
            writeln!(
                out,
                "{:<12} {:<28} {:>6.3} km  real GT3 lap {:>6.1} s ({})",
                t.key,
                t.display_name,
                t.length_m / 1000.0,
                t.reference_lap_s,
                t.reference_note
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let cfg = config(&args)?;
    if args.serve_iracing {
        if args.write_ibt.is_some() || args.json {
            bail!("--serve-iracing runs live: it cannot be combined with --write-ibt or --json");
        }
        check_speed(args.speed)?;
        return serve_iracing(cfg, args.speed, &mut out);
    }
    match &args.write_ibt {
        Some(path) => {
            let mut sim = Sim::new(cfg).context("simulator settings")?;
            let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
            let laps = args.laps as i32;
            let max_ticks = u64::from(args.laps + args.practice_laps + args.qualify_laps + 2) * 60 * 60 * 10;
            let (w, ticks) = write_ibt(&mut sim, std::io::BufWriter::new(file), max_ticks, |s| {
                s.session_kind() == SessionKind::Race && s.player_laps_completed() >= laps
            })
            .with_context(|| format!("writing {}", path.display()))?;
            drop(w);
            let t = sim.config().track;
            writeln!(out, "wrote {} ({} records, {:.1} s of session)", path.display(), ticks, sim.time())?;
            writeln!(out, "{} — real GT3 lap about {:.1} s", t.display_name, t.reference_lap_s)?;
            let names = &sim.config().team_drivers;
            for l in sim.player_laps() {
                writeln!(
                    out,
                    "  lap {:>3}  {:>8.3} s  {:<16} {}",
                    l.lap,
                    l.time_s,
                    names.get(l.driver).map_or("", String::as_str),
                    if l.pit { "pit" } else { "" }
                )?;
            }
            for (m, at) in sim.planted() {
                writeln!(out, "  planted {:?} at corner {} on lap {} ({:.1} s)", m.kind, m.corner, m.lap, at)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            check_speed(args.speed)?;
            let laps = args.laps;
            // The race is the last session: lap counters start again in each one.
            let race_num = i32::from(args.practice_laps > 0) + i32::from(args.qualify_laps > 0);
            let mut src = SimSource::start(cfg, LivePace { speed: args.speed }, LiveOptions::new(&args.driver_id))?;
            while let Some(ev) = src.next_event()? {
                let msg = match ev {
                    SourceEvent::Telemetry(t) => {
                        let num = t
                            .sim_session_id
                            .as_deref()
                            .and_then(pitbox_model::session::SimSessionKey::parse)
                            .map_or(race_num, |k| k.session_num);
                        if num >= race_num && t.lap > laps {
                            break;
                        }
                        Message::TelemetryUpdate(*t)
                    }
                    SourceEvent::Session(s) => Message::SessionInfo(*s),
                    SourceEvent::Standings(s) => Message::StandingsUpdate(*s),
                    SourceEvent::Spotter(_) => continue,
                    SourceEvent::State(s) => {
                        if !args.json {
                            writeln!(out, "source {}: {s:?}", src.describe())?;
                        }
                        continue;
                    }
                };
                if args.json {
                    writeln!(out, "{}", msg.to_json())?;
                } else if let Message::StandingsUpdate(s) = &msg
                    && let Some(e) = s.entries.iter().find(|e| e.is_team_car)
                {
                    writeln!(
                        out,
                        "t={:>7.1}s  P{:<2} lap {:>3} {:>5.1}%  last {}  {}",
                        s.session_time,
                        e.position,
                        e.lap,
                        e.track_position * 100.0,
                        e.last_lap_time.map_or("-".into(), |t| format!("{t:.3}")),
                        if e.on_pit_road { "pit" } else { "" }
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn check_speed(speed: f64) -> Result<()> {
    if !(speed.is_finite() && speed > 0.0 && speed <= 1000.0) {
        bail!("--speed must be above 0 and at most 1000");
    }
    Ok(())
}

/// `pitbox sim --serve-iracing` on Windows: the session goes into iRacing's named memory map,
/// signalled every tick; Ctrl-C or closing the window clears the connected bit and exits.
#[cfg(windows)]
fn serve_iracing(cfg: SimConfig, speed: f64, out: &mut dyn Write) -> Result<ExitCode> {
    use crate::sim::output::{live_region_bytes, run_published};
    use pitbox_irsdk::live::windows::{IracingServer, stop_on_console_close};
    use pitbox_irsdk::serve::MEM_MAP_NAME;
    let mut sim = Sim::new(cfg).context("simulator settings")?;
    let server = IracingServer::create(live_region_bytes()).context("publishing iRacing's memory map")?;
    let stop = stop_on_console_close().context("console handler")?;
    let t = sim.config().track;
    writeln!(
        out,
        "serving {MEM_MAP_NAME}: {} with {} cars at {speed}x (Ctrl-C to stop)",
        t.display_name,
        sim.config().cars
    )?;
    out.flush()?;
    let mut last_lap = 0;
    let mut last_update = 0;
    run_published(&mut sim, &server, LivePace { speed }, stop.flag(), |s, update| {
        let laps = s.player_laps_completed();
        if laps != last_lap || update != last_update {
            last_lap = laps;
            last_update = update;
            // Progress for whoever watches the console; a closed stdout must not stop the sim.
            let _ = writeln!(out, "t={:>7.1}s  laps {laps}  sessionInfoUpdate {update}", s.time());
            let _ = out.flush();
        }
    })
    .context("serving the simulator")?;
    writeln!(out, "session over: disconnected")?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(windows))]
fn serve_iracing(_cfg: SimConfig, _speed: f64, _out: &mut dyn Write) -> Result<ExitCode> {
    bail!(
        "--serve-iracing publishes iRacing's Windows memory map (Local\\IRSDKMemMapFileName) and exists only on \
         Windows; here, use `pitbox driver --source sim` or `pitbox sim --json`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    #[test]
    fn writes_an_ibt_with_the_laps_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("s.ibt");
        let cli = Cli::parse_from([
            "x",
            "--track",
            "brandsindy",
            "--seed",
            "3",
            "--laps",
            "1",
            "--cars",
            "4",
            "--write-ibt",
            out.to_str().unwrap(),
        ]);
        assert_eq!(run_sim(cli.sim).unwrap(), ExitCode::SUCCESS);
        let f = pitbox_irsdk::IbtFile::open(&out).unwrap();
        assert!(f.truncated().is_none());
        assert_eq!(f.session_info().unwrap().weekend.track_display_name.as_deref(), Some("Brands Hatch Circuit"));
        let bad = Cli::parse_from(["x", "--track", "nowhere", "--write-ibt", "x.ibt"]);
        let e = run_sim(bad.sim).unwrap_err().to_string();
        assert!(e.contains("unknown track `nowhere`"), "{e}");
    }

    #[test]
    fn serve_iracing_needs_windows_and_live_mode() {
        let both = Cli::parse_from(["x", "--serve-iracing", "--json"]);
        let e = run_sim(both.sim).unwrap_err().to_string();
        assert!(e.contains("cannot be combined"), "{e}");
        if !cfg!(windows) {
            let e = run_sim(Cli::parse_from(["x", "--serve-iracing"]).sim).unwrap_err().to_string();
            assert!(e.contains("only on Windows"), "{e}");
        }
    }
}
