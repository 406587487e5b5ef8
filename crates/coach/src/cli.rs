//! `pitbox coach …` and `pitbox bench coach` as library code (the binary only wires them).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use pitbox_model::Message;

use crate::analysis::{AnalysisOptions, Reference, SessionAnalysis, Stream, analyze};
use crate::coaching::lap_time;
use crate::laps::LapOptions;
use crate::sample::{Sample, samples_from_updates};
use crate::synth::{SynthTrack, stream};
use crate::trace::delta;

/// `pitbox coach`.
#[derive(Debug, Clone, clap::Args)]
pub struct CoachArgs {
    #[command(subcommand)]
    pub command: CoachCommand,
}

/// Subcommands of `pitbox coach`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CoachCommand {
    /// Analyse a session: lap table, per-corner table, findings.
    Analyze(AnalyzeArgs),
}

/// `pitbox coach analyze`.
#[derive(Debug, Clone, clap::Args)]
pub struct AnalyzeArgs {
    /// An iRacing .ibt file, or JSON lines of `telemetry_update` messages (or their data).
    pub file: PathBuf,
    /// Compare with this lap instead of the session's best: FILE or FILE:LAP (any file, e.g. a
    /// team-mate's).
    #[arg(long, value_name = "FILE[:LAP]")]
    pub reference: Option<String>,
    /// The lap to coach on (default: the last complete lap that is not the reference).
    #[arg(long)]
    pub lap: Option<i32>,
    /// Print the full analysis as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write an SVG plot of the lap against the reference.
    #[arg(long, value_name = "OUT.svg")]
    pub plot: Option<PathBuf>,
    /// Target stint length for the fuel plan, laps.
    #[arg(long)]
    pub stint_laps: Option<u32>,
}

/// A file's samples and the lap options its metadata gives.
struct Loaded {
    samples: Vec<Sample>,
    laps: LapOptions,
    track: Option<String>,
}

fn load(path: &Path) -> anyhow::Result<Loaded> {
    let is_ibt = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("ibt"));
    if is_ibt {
        let f = crate::ibt::read_ibt(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(Loaded {
            samples: f.samples,
            laps: LapOptions { sector_starts: f.sector_starts, ..LapOptions::default() },
            track: f.track,
        });
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut updates = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let u = if line.contains("\"type\"") {
            match pitbox_model::decode(line.as_bytes()) {
                Ok(Message::TelemetryUpdate(u)) => u,
                Ok(_) => continue,
                Err(e) => bail!("{}:{}: {e}", path.display(), i + 1),
            }
        } else {
            serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a telemetry_update", path.display(), i + 1))?
        };
        updates.push(u);
    }
    if updates.is_empty() {
        bail!("{}: no telemetry_update in the file", path.display());
    }
    Ok(Loaded { samples: samples_from_updates(&updates), laps: LapOptions::default(), track: None })
}

fn split_reference(spec: &str) -> (PathBuf, Option<i32>) {
    if let Some((file, lap)) = spec.rsplit_once(':')
        && let Ok(n) = lap.parse::<i32>()
        && !Path::new(spec).exists()
    {
        return (PathBuf::from(file), Some(n));
    }
    (PathBuf::from(spec), None)
}

/// Runs `pitbox coach …`.
pub fn run(args: CoachArgs) -> anyhow::Result<()> {
    match args.command {
        CoachCommand::Analyze(a) => {
            let out = analyze_cmd(&a)?;
            print!("{out}");
            Ok(())
        }
    }
}

/// `pitbox coach analyze`; returns what it prints.
pub fn analyze_cmd(a: &AnalyzeArgs) -> anyhow::Result<String> {
    let loaded = load(&a.file)?;
    let opts = AnalysisOptions { laps: loaded.laps.clone(), stint_laps: a.stint_laps, ..AnalysisOptions::default() };
    let stream = Stream::new(loaded.samples, &opts).with_context(|| format!("{}", a.file.display()))?;
    let reference: Option<Reference> = match &a.reference {
        None => None,
        Some(spec) => {
            let (file, lap) = split_reference(spec);
            let r = load(&file)?;
            let ropts = AnalysisOptions { laps: r.laps, ..AnalysisOptions::default() };
            let rs = Stream::new(r.samples, &ropts).with_context(|| format!("reference {}", file.display()))?;
            let name = match lap {
                Some(n) => format!("the reference (lap {n})"),
                None => "the reference".to_string(),
            };
            Some(rs.reference(lap, opts.step_m, &name)?)
        }
    };
    let analysis = analyze(&stream, reference.as_ref(), a.lap, &opts)?;
    if let Some(path) = &a.plot {
        let focus = analysis.focus_report().context("no lap to plot")?;
        let lap = stream.lap(focus.lap)?;
        let r = match &reference {
            Some(r) => r.clone(),
            None => stream.reference(None, opts.step_m, "your best lap")?,
        };
        let t = stream.trace(lap, r.trace.len()).context("lap cannot be resampled")?;
        let d = delta(&t, &r.trace);
        let title = format!(
            "{}lap {} {} against {} {} ({:+.3} s)",
            loaded.track.as_deref().map(|t| format!("{t}: ")).unwrap_or_default(),
            focus.lap,
            lap_time(focus.time_s),
            r.name,
            lap_time(r.lap_time),
            focus.comparison.delta_s
        );
        let svg = crate::plot::svg(&t, &r.trace, &d, &r.corners.corners, &title);
        std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
    }
    if a.json {
        return Ok(serde_json::to_string_pretty(&analysis)? + "\n");
    }
    Ok(report(&analysis, loaded.track.as_deref()))
}

/// The human-readable report.
pub fn report(a: &SessionAnalysis, track: Option<&str>) -> String {
    let mut s = String::new();
    let complete = a.laps.iter().filter(|l| l.complete).count();
    let _ = writeln!(
        s,
        "{}{:.0} m, {} laps ({} complete); reference: {} (lap {}, {}); confidence {:.2}",
        track.map(|t| format!("{t}: ")).unwrap_or_default(),
        a.track_length_m,
        a.laps.len(),
        complete,
        a.reference.name,
        a.reference.lap,
        lap_time(a.reference.time_s),
        a.confidence
    );
    let _ = writeln!(s, "\n lap  time        delta    sectors                      status");
    for l in &a.laps {
        let delta = if l.complete { format!("{:+.3}", l.time - a.reference.time_s) } else { "-".into() };
        let sectors = l.sectors.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>().join("  ");
        let status = if l.is_valid() {
            "valid".to_string()
        } else {
            l.invalid.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
        };
        let time = if l.complete { lap_time(l.time) } else { "-".into() };
        let _ = writeln!(s, "{:>4}  {:<10}  {:>7}  {:<27}  {}", l.number, time, delta, sectors, status);
    }
    if let Some(r) = a.focus_report() {
        let _ = writeln!(
            s,
            "\nLap {} against {} (lap {}): {:+.3} s",
            r.lap, a.reference.name, a.reference.lap, r.comparison.delta_s
        );
        let _ = writeln!(
            s,
            " corner  brake m     peak %    min km/h      @ m     gear  full thr m  exit km/h   coast s  delta s"
        );
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.0}"));
        for c in &r.comparison.corners {
            let (l, rf) = (&c.lap, &c.reference);
            let _ = writeln!(
                s,
                " {:<6}  {:>4}/{:<5}  {:>3}/{:<4}  {:>4.0}/{:<5.0}  {:>5.0}  {:>3}/{:<2}  {:>4}/{:<5}  {:>4.0}/{:<4.0}  {:>4.1}/{:<3.1}  {:+.3}",
                c.id,
                opt(l.brake_point_m),
                opt(rf.brake_point_m),
                format!("{:.0}", l.peak_brake_pct),
                format!("{:.0}", rf.peak_brake_pct),
                l.min_speed_kmh,
                rf.min_speed_kmh,
                l.min_speed_m,
                l.gear,
                rf.gear,
                opt(l.full_throttle_m),
                opt(rf.full_throttle_m),
                l.exit_speed_kmh,
                rf.exit_speed_kmh,
                l.coasting_s,
                rf.coasting_s,
                c.delta_s
            );
        }
        if let Some(start) = r.comparison.segments.first() {
            let _ = writeln!(s, " (line to first corner {:+.3} s; this lap/reference)", start.delta_s);
        }
        if !r.comparison.straights.is_empty() {
            let _ = writeln!(s, "\n straight   delta s  top km/h (ref)  full throttle %");
            for st in &r.comparison.straights {
                let _ = writeln!(
                    s,
                    " {:<9}  {:+.3}   {:>4.0} ({:>4.0})   {:>3.0}",
                    st.id, st.delta_s, st.top_speed_kmh, st.reference_top_speed_kmh, st.full_throttle_pct
                );
            }
        }
        let _ = writeln!(s, "\nFindings (time at stake):");
        if r.findings.is_empty() {
            let _ = writeln!(s, "  nothing stands out against the reference");
        }
        for f in &r.findings {
            let _ = writeln!(s, "  {}\n      → {}", f.text, f.advice);
        }
    }
    let session = a.session_findings();
    if !session.is_empty() {
        let _ = writeln!(s, "\nSession:");
        for f in session {
            let _ = writeln!(s, "  {}", f.text);
        }
    }
    if let Some(t) = &a.tyres {
        let _ = writeln!(
            s,
            "  Tyres, % worn FL/FR/RL/RR: {:.1}/{:.1}/{:.1}/{:.1} → {:.1}/{:.1}/{:.1}/{:.1}{}",
            t.start[0],
            t.start[1],
            t.start[2],
            t.start[3],
            t.end[0],
            t.end[1],
            t.end[2],
            t.end[3],
            if t.changed { "" } else { " (iRacing updates wear only in the pits)" }
        );
    }
    s
}

/// `pitbox bench coach`: analysis time of one 60 Hz lap of about 120 s and of a 60-lap stint.
pub fn bench() -> anyhow::Result<()> {
    for line in bench_lines()? {
        println!("{line}");
    }
    Ok(())
}

/// The bench's figures, one line each.
pub fn bench_lines() -> anyhow::Result<Vec<String>> {
    let track = SynthTrack::long();
    let lap = track.lap(&[]);
    let slower = track.lap(&[crate::synth::Fault::SlowCorner { corner: 4, kmh: 5.0 }]);
    let opts = AnalysisOptions::default();
    let one = stream(&[lap.clone(), slower.clone()], 60.0, 1, 0.2, 0.2, 0.3).samples;
    let laps: Vec<_> = (0..60).map(|i| if i % 3 == 0 { slower.clone() } else { lap.clone() }).collect();
    let stint = stream(&laps, 60.0, 1, 0.2, 0.2, 0.3).samples;
    let time = |samples: &[Sample], reps: usize| -> anyhow::Result<f64> {
        let mut best = f64::INFINITY;
        for _ in 0..reps {
            let t0 = Instant::now();
            let s = Stream::new(samples.to_vec(), &opts)?;
            let a = analyze(&s, None, None, &opts)?;
            std::hint::black_box(&a);
            best = best.min(t0.elapsed().as_secs_f64());
        }
        Ok(best)
    };
    // "One lap" = the lap analysed against a reference lap: two laps of samples in.
    let t1 = time(&one, 20)?;
    let t60 = time(&stint, 3)?;
    Ok(vec![
        format!(
            "coach: one lap ({:.0} s at 60 Hz, {} samples, against a reference lap): {:.2} ms (goal < 5 ms)",
            lap.lap_time(),
            one.len(),
            t1 * 1e3
        ),
        format!("coach: 60-lap stint ({} samples): {:.1} ms (goal < 1000 ms)", stint.len(), t60 * 1e3),
    ])
}
