//! The `pitbox ibt …` commands and `pitbox bench ibt FILE`, as library code the binary wires in:
//! `Ibt(pitbox_irsdk::cli::IbtArgs)` → [`run`], and `bench ibt FILE` → [`bench`].

use crate::ibt::IbtFile;
use crate::laps::{Lap, LapKind, file_laps};
use crate::live::{LiveReader, Poll, SharedMem};
use crate::var::{Value, VarHeader, VarType};
use anyhow::Context;
use serde::Serialize;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `pitbox ibt …`: read iRacing telemetry files and live memory.
#[derive(Debug, Clone, clap::Args)]
pub struct IbtArgs {
    #[command(subcommand)]
    pub command: IbtCommand,
}

/// The subcommands of `pitbox ibt`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum IbtCommand {
    /// Header, disk header, session facts and the variable list of an .ibt file.
    Info {
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The lap table: lap number, first/last record, lap time, iRacing's LapLastLapTime.
    Laps {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Export channels to CSV or JSON lines (one row per record).
    Export {
        file: PathBuf,
        /// Channels to export, comma separated (default: all).
        #[arg(long, value_delimiter = ',')]
        channels: Vec<String>,
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Output file (default: standard output).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Print live values from iRacing's shared memory (or a memory dump with --file).
    DumpLive {
        /// Print one row and exit.
        #[arg(long)]
        once: bool,
        /// Read a dump of the live memory instead of iRacing (required outside Windows).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Replay an .ibt file as iRacing's live interface (Windows): the named memory map and the
    /// data-valid event, at the file's own tick rate, for any iRacing SDK reader.
    Replay {
        file: PathBuf,
        /// Publish `Local\IRSDKMemMapFileName` and `Local\IRSDKDataValidEvent` (required; only
        /// on Windows).
        #[arg(long)]
        serve_iracing: bool,
        /// Replay speed: recorded seconds per wall-clock second.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Start again at the first record after the last.
        #[arg(long = "loop")]
        looping: bool,
    },
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
    Jsonl,
    Parquet,
}

/// Runs a `pitbox ibt` command.
pub fn run(args: IbtArgs) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    match args.command {
        IbtCommand::Info { file, json } => info(&file, json, &mut stdout.lock()),
        IbtCommand::Laps { file, json } => laps(&file, json, &mut stdout.lock()),
        IbtCommand::Export { file, channels, format, output } => export(&file, &channels, format, output.as_deref()),
        IbtCommand::DumpLive { once, file } => dump_live(once, file.as_deref(), &mut stdout.lock()),
        IbtCommand::Replay { file, serve_iracing, speed, looping } => {
            replay(&file, serve_iracing, speed, looping, &mut stdout.lock())
        }
    }
}

fn open(file: &Path) -> anyhow::Result<IbtFile> {
    IbtFile::open(file).with_context(|| format!("cannot read {}", file.display()))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InfoJson<'a> {
    file: String,
    #[serde(flatten)]
    info: crate::ibt::FileInfo,
    session_start_utc: String,
    session: Option<crate::session::SessionInfo>,
    session_error: Option<String>,
    vars: &'a [VarHeader],
}

/// `pitbox ibt info`.
pub fn info(file: &Path, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let f = open(file)?;
    let info = f.info();
    let session = f.session_info();
    if json {
        let (session, session_error) = match session {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let j = InfoJson {
            file: file.display().to_string(),
            session_start_utc: f.disk().start_date_utc(),
            info,
            session,
            session_error,
            vars: f.vars(),
        };
        serde_json::to_writer_pretty(&mut *out, &j)?;
        writeln!(out)?;
        return Ok(());
    }
    let h = f.header();
    let d = f.disk();
    writeln!(out, "file        {} ({} bytes)", file.display(), info.bytes)?;
    writeln!(
        out,
        "header      ver {}  status {}  tickRate {} Hz  vars {}  bufLen {}  sessionInfo {} bytes at {} (update {})",
        h.ver,
        h.status,
        h.tick_rate,
        h.num_vars,
        h.buf_len,
        h.session_info_len,
        h.session_info_offset,
        h.session_info_update
    )?;
    writeln!(
        out,
        "disk        start {}  SessionTime {:.3} → {:.3} s  lapCount {}  recordCount {}",
        d.start_date_utc(),
        d.session_start_time,
        d.session_end_time,
        d.session_lap_count,
        d.session_record_count
    )?;
    writeln!(out, "records     {} whole records, {:.2} s", info.records, info.duration_s)?;
    if let Some(t) = info.truncated {
        writeln!(
            out,
            "WARNING     the disk header declares {} records but the file holds {} whole records (+{} trailing bytes): using the whole records",
            t.declared_records, t.whole_records, t.trailing_bytes
        )?;
    }
    match session {
        Ok(s) => {
            let w = &s.weekend;
            let o = |x: &Option<String>| x.clone().unwrap_or_else(|| "-".into());
            writeln!(
                out,
                "track       {} ({}), config {}, id {}, length {}",
                o(&w.track_display_name),
                o(&w.track_name),
                o(&w.track_config_name),
                w.track_id.map_or("-".into(), |v| v.to_string()),
                o(&w.track_length)
            )?;
            writeln!(
                out,
                "event       {} · sim mode {} · build {}",
                o(&w.event_type),
                o(&w.sim_mode),
                o(&w.build_version)
            )?;
            if let Some(p) = s.driver.player() {
                writeln!(
                    out,
                    "driver      {} (car idx {}) · {} · #{} · team {} · iRating {}",
                    p.user_name,
                    p.car_idx,
                    o(&p.car_screen_name),
                    o(&p.car_number),
                    o(&p.team_name),
                    p.irating.map_or("-".into(), |v| v.to_string())
                )?;
            }
            writeln!(out, "drivers     {}", s.driver.drivers.len())?;
            for se in &s.sessions {
                writeln!(
                    out,
                    "session {}   {} ({}), laps {:?}, time {:?}",
                    se.session_num,
                    o(&se.session_type),
                    o(&se.session_name),
                    se.session_laps,
                    se.session_time
                )?;
            }
            let sec: Vec<String> =
                s.sectors.iter().map(|x| format!("{}@{:.3}", x.sector_num, x.sector_start_pct)).collect();
            writeln!(out, "sectors     {}", sec.join(" "))?;
        }
        Err(e) => writeln!(out, "session     cannot parse session info: {e}")?,
    }
    writeln!(out, "\n{:<32} {:<14} {:<12} description", "variable", "type", "unit")?;
    for v in f.vars() {
        let ty = if v.count > 1 {
            format!("{}[{}]{}", v.ty.name(), v.count, if v.count_as_time { "t" } else { "" })
        } else {
            v.ty.name().to_string()
        };
        writeln!(out, "{:<32} {:<14} {:<12} {}", v.name, ty, v.unit, v.desc)?;
    }
    Ok(())
}

fn fmt_time(t: Option<f64>) -> String {
    match t {
        Some(t) if t >= 0.0 => format!("{}:{:06.3}", (t / 60.0).floor() as i64, t % 60.0),
        Some(t) => format!("{t}"),
        None => "-".into(),
    }
}

/// `pitbox ibt laps`.
pub fn laps(file: &Path, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let f = open(file)?;
    let table: Vec<Lap> = file_laps(&f)?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &table)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:>5}  {:<10}  {:>7}  {:>7}  {:>7}  {:>10}  {:>12}  {:>8}  {:>10}  {:<8}  {:<5}  {:<5}  reasons",
        "lap", "kind", "start", "end", "samples", "time", "iRacing", "diff", "lapTime", "complete", "valid", "in/out",
    )?;
    for l in &table {
        let ir = match l.iracing_time {
            Some(v) if v < 0.0 => "-1 (untimed)".to_string(),
            Some(v) => fmt_time(Some(f64::from(v))),
            None => "-".into(),
        };
        let diff = match (l.time, l.iracing_time) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:+.3}", a - f64::from(b)),
            _ => String::new(),
        };
        let in_out = match (l.in_lap, l.out_lap) {
            (true, true) => "in+out",
            (true, false) => "in",
            (false, true) => "out",
            (false, false) => "",
        };
        let reasons: Vec<&str> = l.invalid.iter().map(|r| r.as_str()).collect();
        writeln!(
            out,
            "{:>5}  {:<10}  {:>7}  {:>7}  {:>7}  {:>10}  {:>12}  {:>8}  {:>10}  {:<8}  {:<5}  {:<5}  {}",
            l.lap,
            l.kind.label(),
            l.start,
            l.end,
            l.end + 1 - l.start,
            fmt_time(l.time),
            ir,
            diff,
            fmt_time(l.lap_time),
            if l.complete { "yes" } else { "no" },
            if l.valid { "yes" } else { "no" },
            in_out,
            reasons.join(", ")
        )?;
    }
    let timed = table.iter().filter(|l| l.kind == LapKind::Timed).count();
    writeln!(out, "{} rows, {timed} timed laps", table.len())?;
    Ok(())
}

/// Resolves channel names (all when empty); unknown names are an error naming close matches.
fn select<'a>(f: &'a IbtFile, channels: &[String]) -> anyhow::Result<Vec<&'a VarHeader>> {
    if channels.is_empty() {
        return Ok(f.vars().iter().collect());
    }
    channels
        .iter()
        .map(|c| {
            let c = c.trim();
            f.layout().var(c).ok_or_else(|| {
                let lc = c.to_lowercase();
                let near: Vec<&str> = f
                    .vars()
                    .iter()
                    .filter(|v| v.name.to_lowercase().contains(&lc) || lc.contains(&v.name.to_lowercase()))
                    .map(|v| v.name.as_str())
                    .take(8)
                    .collect();
                anyhow::anyhow!("no channel named {c:?} in {} (similar: {})", f.vars().len(), near.join(", "))
            })
        })
        .collect()
}

fn write_value(out: &mut impl Write, v: Value, json: bool) -> std::io::Result<()> {
    match v {
        Value::Float(x) if !x.is_finite() => out.write_all(if json { b"null" } else { b"" }),
        Value::Double(x) if !x.is_finite() => out.write_all(if json { b"null" } else { b"" }),
        Value::Bool(b) if json => out.write_all(if b { b"true" } else { b"false" }),
        other => write!(out, "{other}"),
    }
}

/// Writes the export to `out`; `progress` is called with the number of records done.
pub fn export_to(
    f: &IbtFile,
    channels: &[String],
    format: ExportFormat,
    out: &mut impl Write,
    mut progress: impl FnMut(usize),
) -> anyhow::Result<()> {
    let vars = select(f, channels)?;
    match format {
        ExportFormat::Parquet => {
            let bytes = crate::parquet_export::write(f, &vars, &mut progress)?;
            out.write_all(&bytes)?;
        }
        ExportFormat::Csv => {
            let names = crate::parquet_export::column_names(&vars);
            writeln!(out, "{}", names.join(","))?;
            for (k, row) in f.rows().enumerate() {
                let mut first = true;
                for v in &vars {
                    for i in 0..v.count {
                        if !first {
                            out.write_all(b",")?;
                        }
                        first = false;
                        if let Some(val) = v.value(row, i) {
                            write_value(out, val, false)?;
                        }
                    }
                }
                out.write_all(b"\n")?;
                if k % 1024 == 0 {
                    progress(k);
                }
            }
        }
        ExportFormat::Jsonl => {
            let keys: Vec<String> = vars.iter().map(|v| serde_json::to_string(&v.name)).collect::<Result<_, _>>()?;
            for (k, row) in f.rows().enumerate() {
                out.write_all(b"{")?;
                for (j, (v, key)) in vars.iter().zip(&keys).enumerate() {
                    if j > 0 {
                        out.write_all(b",")?;
                    }
                    out.write_all(key.as_bytes())?;
                    out.write_all(b":")?;
                    if v.count > 1 {
                        out.write_all(b"[")?;
                    }
                    for i in 0..v.count {
                        if i > 0 {
                            out.write_all(b",")?;
                        }
                        match v.value(row, i) {
                            Some(val) if v.ty == VarType::Char => write!(out, "{}", val.as_f64())?,
                            Some(val) => write_value(out, val, true)?,
                            None => out.write_all(b"null")?,
                        }
                    }
                    if v.count > 1 {
                        out.write_all(b"]")?;
                    }
                }
                out.write_all(b"}\n")?;
                if k % 1024 == 0 {
                    progress(k);
                }
            }
        }
    }
    progress(f.row_count());
    out.flush()?;
    Ok(())
}

/// `pitbox ibt export`.
pub fn export(file: &Path, channels: &[String], format: ExportFormat, output: Option<&Path>) -> anyhow::Result<()> {
    let f = open(file)?;
    let bar = indicatif::ProgressBar::new(f.row_count() as u64);
    // Only large exports get a bar (indicatif hides it when stderr is not a terminal).
    if f.bytes().len() < 8 << 20 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} records {per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = |k: usize| bar.set_position(k as u64);
    match output {
        Some(p) => {
            let file = std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
            export_to(&f, channels, format, &mut BufWriter::with_capacity(1 << 20, file), progress)?;
        }
        None => {
            let stdout = std::io::stdout();
            export_to(&f, channels, format, &mut BufWriter::with_capacity(1 << 20, stdout.lock()), progress)?;
        }
    }
    bar.finish_and_clear();
    Ok(())
}

fn print_live(r: &LiveReader<'_>, out: &mut dyn Write) -> anyhow::Result<()> {
    let row = r.row();
    writeln!(out, "tick {} (buffer {}), connected {}", r.tick().unwrap_or(-1), r.buffer_index(), r.is_connected())?;
    if let Some(s) = r.session_info() {
        writeln!(
            out,
            "track {} · {} drivers",
            s.weekend.track_display_name.as_deref().unwrap_or("-"),
            s.driver.drivers.len()
        )?;
    }
    for v in r.layout().vars() {
        let vals: Vec<String> = (0..v.count).filter_map(|i| v.value(row, i)).map(|x| x.to_string()).collect();
        let shown = if v.count > 1 { format!("[{}]", vals.join(", ")) } else { vals.join("") };
        writeln!(out, "{:<32} {} {}", v.name, shown, v.unit)?;
    }
    Ok(())
}

fn live_loop(mut r: LiveReader<'_>, once: bool, out: &mut dyn Write, wait: &dyn Fn()) -> anyhow::Result<()> {
    r.read_row()?;
    print_live(&r, out)?;
    if once {
        return Ok(());
    }
    let speed = r.layout().optional::<f32>("Speed")?;
    let rpm = r.layout().optional::<f32>("RPM")?;
    let gear = r.layout().optional::<i32>("Gear")?;
    let lap = r.layout().optional::<i32>("Lap")?;
    let pct = r.layout().optional::<f32>("LapDistPct")?;
    writeln!(out, "-- following new rows (Ctrl-C to stop) --")?;
    loop {
        match r.poll()? {
            Poll::Disconnected => {
                writeln!(out, "disconnected")?;
                return Ok(());
            }
            Poll::Unchanged => wait(),
            Poll::NewRow { tick, session_changed } => {
                if session_changed {
                    writeln!(out, "session info updated")?;
                }
                let row = r.row();
                writeln!(
                    out,
                    "tick {tick}  speed {:.1} km/h  rpm {:.0}  gear {}  lap {}  pct {:.4}",
                    speed.map_or(0.0, |h| h.get(row) * 3.6),
                    rpm.map_or(0.0, |h| h.get(row)),
                    gear.map_or(0, |h| h.get(row)),
                    lap.map_or(0, |h| h.get(row)),
                    pct.map_or(0.0, |h| h.get(row)),
                )?;
                out.flush()?;
            }
        }
    }
}

/// `pitbox ibt dump-live`.
pub fn dump_live(once: bool, file: Option<&Path>, out: &mut dyn Write) -> anyhow::Result<()> {
    if let Some(p) = file {
        let f = std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
        // SAFETY: read-only map; accessed only through bounds-checked volatile copies.
        let map = unsafe { memmap2::Mmap::map(&f) }.with_context(|| format!("cannot map {}", p.display()))?;
        let r = LiveReader::new(SharedMem::from_bytes(&map))
            .with_context(|| format!("{} is not a live-memory dump", p.display()))?;
        return live_loop(r, once, out, &|| std::thread::sleep(Duration::from_millis(16)));
    }
    #[cfg(windows)]
    {
        let map = crate::live::windows::IracingMap::open()?;
        let r = LiveReader::new(map.mem())?;
        live_loop(r, once, out, &|| {
            map.wait_for_data(100);
        })
    }
    #[cfg(not(windows))]
    {
        anyhow::bail!("live memory exists only on Windows with iRacing running; pass --file DUMP to read a memory dump")
    }
}

/// `pitbox ibt replay FILE --serve-iracing`.
pub fn replay(file: &Path, serve_iracing: bool, speed: f64, looping: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    if !serve_iracing {
        anyhow::bail!(
            "pitbox ibt replay publishes a file as iRacing's live interface: add --serve-iracing \
             (to feed PitBox from a file directly, use `pitbox driver --source ibt:FILE`)"
        );
    }
    if !(speed.is_finite() && speed > 0.0 && speed <= 1000.0) {
        anyhow::bail!("--speed must be above 0 and at most 1000, got {speed}");
    }
    let f = open(file)?;
    if f.row_count() == 0 {
        anyhow::bail!("{} has no records to replay", file.display());
    }
    serve_file(&f, file, speed, looping, out)
}

#[cfg(windows)]
fn serve_file(f: &IbtFile, path: &Path, speed: f64, looping: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    use crate::serve::{MEM_MAP_NAME, replay_ibt, replay_region_len};
    let server = crate::live::windows::IracingServer::create(replay_region_len(f))?;
    let stop = crate::live::windows::stop_on_console_close()?;
    writeln!(
        out,
        "serving {} as {MEM_MAP_NAME}: {} records at {} Hz x {speed} (Ctrl-C to stop)",
        path.display(),
        f.row_count(),
        f.header().tick_rate
    )?;
    out.flush()?;
    let stats = replay_ibt(f, &server, speed, looping, stop.flag())?;
    writeln!(out, "replayed {} records in {} pass(es); disconnected", stats.rows, stats.passes)?;
    Ok(())
}

#[cfg(not(windows))]
fn serve_file(_f: &IbtFile, _path: &Path, _speed: f64, _looping: bool, _out: &mut dyn Write) -> anyhow::Result<()> {
    anyhow::bail!(
        "--serve-iracing publishes iRacing's Windows memory map (Local\\IRSDKMemMapFileName) and exists only \
         on Windows; here, use `pitbox driver --source ibt:FILE` to replay a file into PitBox"
    )
}

/// Runs `f` repeatedly for at least `min` and returns (iterations, seconds per iteration).
fn time_it(min: Duration, mut f: impl FnMut()) -> (u64, f64) {
    f();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < min {
        f();
        n += 1;
    }
    (n, start.elapsed().as_secs_f64() / n as f64)
}

/// Figures measured by [`bench_figures`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BenchFigures {
    pub rows: usize,
    pub vars: usize,
    pub buf_len: usize,
    /// One pass over every record reading Speed, RPM, Throttle, Brake, LapDistPct.
    pub five_channels_s: f64,
    /// One pass decoding every element of every variable of every record.
    pub all_vars_s: f64,
    /// One live row read (newest buffer, copy, tick re-check), in seconds.
    pub live_row_s: f64,
}

/// The 5-channel pass (sum of the values, so nothing is optimised away).
pub fn five_channel_pass(f: &IbtFile) -> crate::Result<f64> {
    let l = f.layout();
    let (s, r, t, b, p) = (
        l.handle::<f32>("Speed")?,
        l.handle::<f32>("RPM")?,
        l.handle::<f32>("Throttle")?,
        l.handle::<f32>("Brake")?,
        l.handle::<f32>("LapDistPct")?,
    );
    let mut acc = 0f64;
    for row in f.rows() {
        acc += f64::from(s.get(row) + r.get(row) + t.get(row) + b.get(row) + p.get(row));
    }
    Ok(acc)
}

/// Decodes every element of every variable of every record (a decode plan of (offset, type)
/// per element is built once; each value is one little-endian load).
pub fn all_vars_pass(f: &IbtFile) -> f64 {
    let plan: Vec<(usize, VarType)> =
        f.vars().iter().flat_map(|v| (0..v.count).map(move |i| (v.offset + i * v.ty.size(), v.ty))).collect();
    let mut acc = 0f64;
    for row in f.rows() {
        for &(off, ty) in &plan {
            acc += match ty {
                VarType::Char | VarType::Bool => row.get(off).map_or(0.0, |&b| f64::from(b)),
                VarType::Int => crate::var::le::<4>(row, off).map_or(0.0, |b| f64::from(i32::from_le_bytes(b))),
                VarType::BitField => crate::var::le::<4>(row, off).map_or(0.0, |b| f64::from(u32::from_le_bytes(b))),
                VarType::Float => crate::var::le::<4>(row, off).map_or(0.0, |b| f64::from(f32::from_le_bytes(b))),
                VarType::Double => crate::var::le::<8>(row, off).map_or(0.0, f64::from_le_bytes),
            };
        }
    }
    acc
}

/// Measures the bench figures on a file.
pub fn bench_figures(file: &Path, min: Duration) -> anyhow::Result<BenchFigures> {
    let f = open(file)?;
    five_channel_pass(&f).context("the 5 bench channels")?;
    let (_, five) = time_it(min, || {
        std::hint::black_box(five_channel_pass(std::hint::black_box(&f)).ok());
    });
    let (_, all) = time_it(min, || {
        std::hint::black_box(all_vars_pass(std::hint::black_box(&f)));
    });
    // Live: publish the file's rows through our rotating writer, time one-row reads.
    let buf_len = f.layout().buf_len();
    let len = crate::live::live_region_len(f.vars().len(), buf_len, 64, 3);
    let shared = crate::live::SharedBuffer::new(len);
    let mut w = crate::live::LiveWriter::new(&shared, f.vars(), buf_len, f.header().tick_rate, 64, 3)?;
    for row in f.rows().take(3) {
        w.write_row(row)?;
    }
    let mut r = LiveReader::new(shared.mem())?;
    let (_, live) = time_it(min, || {
        std::hint::black_box(r.read_row().map(|x| x.len()).ok());
    });
    Ok(BenchFigures {
        rows: f.row_count(),
        vars: f.vars().len(),
        buf_len,
        five_channels_s: five,
        all_vars_s: all,
        live_row_s: live,
    })
}

/// Formats bench figures as text.
pub fn format_figures(file: &Path, b: &BenchFigures) -> String {
    let mb = (b.rows * b.buf_len) as f64 / 1e6;
    format!(
        "file {}: {} records x {} bytes ({:.2} MB of records), {} vars\n\
         5 channels (Speed, RPM, Throttle, Brake, LapDistPct), whole file: {:.1} µs/pass, {:.3e} rows/s, {:.0} MB/s ({:.0}x pyirsdk's ~2 ms on the 3,371-row amg file, scaled by rows)\n\
         every variable of every record: {:.2} ms/pass, {:.3e} rows/s, {:.0} MB/s\n\
         live one-row read (newest of 3 buffers, copy, tick re-check): {:.3} µs\n",
        file.display(),
        b.rows,
        b.buf_len,
        mb,
        b.vars,
        b.five_channels_s * 1e6,
        b.rows as f64 / b.five_channels_s,
        mb / b.five_channels_s,
        (0.002 * b.rows as f64 / 3371.0) / b.five_channels_s,
        b.all_vars_s * 1e3,
        b.rows as f64 / b.all_vars_s,
        mb / b.all_vars_s,
        b.live_row_s * 1e6,
    )
}

/// `pitbox bench ibt FILE`: prints rows/s and MB/s for 5 channels and for every variable, and the
/// cost of a live one-row read.
pub fn bench(file: &Path) -> anyhow::Result<()> {
    let b = bench_figures(file, Duration::from_millis(700))?;
    print!("{}", format_figures(file, &b));
    Ok(())
}
