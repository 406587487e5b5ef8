//! The live source: iRacing's shared memory (Windows), a memory dump file, or an in-process
//! region written by the simulator — all read by `pitbox-irsdk`'s [`LiveReader`].
//!
//! A reader thread owns the memory map (it borrows from it, so it lives in that thread's frame)
//! and sends events through a bounded channel. It waits for the sim (connected bit set), emits
//! `Connected` and the session, then a telemetry event for every new tick, the session again
//! whenever `sessionInfoUpdate` changes (driver changes, new sessions), and standings twice a
//! second of sim time. When the sim goes away (connected bit cleared, iRacing exits) it emits
//! `Disconnected`, drops the map and waits to open it again: a restarted sim is picked up with
//! its new layout and the sequence numbers carry on. On Windows a sim that publishes no tick for
//! 5 s while its connected bit is still set (killed, crashed) counts as gone too.
//!
//! Telemetry is offered with `try_send`: if the consumer falls behind, samples are dropped
//! (counted) rather than stalling the reader; session, standings and state events are always
//! delivered.

use crate::mapping::{StandingsMapper, TelemetryMapper, session_info};
use crate::{ConnectionState, SourceError, SourceEvent, SpotterTick, TelemetrySource};
use pitbox_irsdk::live::{LiveReader, Poll, SharedBuffer, SharedMem};
use pitbox_irsdk::{IrsdkError, Layout, VarHandle};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

/// Where live memory comes from.
#[derive(Clone)]
pub enum Backend {
    /// iRacing's memory map (`Local\IRSDKMemMapFileName`); Windows only.
    Iracing,
    /// A dump of live memory in a file (tests, diagnosis). It never changes.
    Dump(PathBuf),
    /// A region written in this process (the simulator).
    Shared(Arc<SharedBuffer>),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Iracing => write!(f, "iracing"),
            Backend::Dump(p) => write!(f, "dump:{}", p.display()),
            Backend::Shared(_) => write!(f, "shared memory"),
        }
    }
}

/// Settings of a live source.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Driver id put into every message.
    pub driver_id: String,
    /// Standings per second of sim time (0 = none).
    pub standings_hz: f64,
    /// How often to look for new data when the memory gives no signal.
    pub poll_interval: Duration,
    /// How long to wait between attempts to find the sim.
    pub retry_interval: Duration,
    /// Also send a [`SourceEvent::Spotter`] before each row's telemetry (the driver agent's
    /// spotter).
    pub spotter: bool,
}

impl LiveOptions {
    /// Defaults for `driver_id`: standings at 2 Hz, poll every 4 ms, retry every second.
    pub fn new(driver_id: &str) -> LiveOptions {
        LiveOptions {
            driver_id: driver_id.to_string(),
            standings_hz: 2.0,
            poll_interval: Duration::from_millis(4),
            retry_interval: Duration::from_secs(1),
            spotter: false,
        }
    }
}

/// Counters of the reader thread.
#[derive(Debug, Default)]
pub struct LiveCounters {
    pub rows: AtomicU64,
    pub dropped: AtomicU64,
    pub connects: AtomicU64,
}

/// A live source: see the module documentation.
pub struct LiveSource {
    name: String,
    rx: Receiver<Result<SourceEvent, String>>,
    state: ConnectionState,
    stop: Arc<AtomicBool>,
    counters: Arc<LiveCounters>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Reads iRacing's own memory (not a dump or an in-process region).
    iracing: bool,
}

impl LiveSource {
    /// iRacing's shared memory. On other systems: [`SourceError::NeedsWindows`].
    pub fn iracing(opts: LiveOptions) -> Result<LiveSource, SourceError> {
        if cfg!(windows) { LiveSource::start(Backend::Iracing, opts) } else { Err(SourceError::NeedsWindows) }
    }

    /// A live-memory dump file.
    pub fn dump(path: impl Into<PathBuf>, opts: LiveOptions) -> Result<LiveSource, SourceError> {
        let path = path.into();
        if !path.is_file() {
            return Err(SourceError::Io {
                path: path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such memory dump file"),
            });
        }
        LiveSource::start(Backend::Dump(path), opts)
    }

    /// A region written in this process.
    pub fn shared(buf: Arc<SharedBuffer>, opts: LiveOptions) -> Result<LiveSource, SourceError> {
        LiveSource::start(Backend::Shared(buf), opts)
    }

    /// Starts the reader thread for `backend`.
    pub fn start(backend: Backend, opts: LiveOptions) -> Result<LiveSource, SourceError> {
        let (tx, rx) = sync_channel(1024);
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(LiveCounters::default());
        let name = format!("{backend:?}");
        let iracing = matches!(backend, Backend::Iracing);
        let (s, c) = (stop.clone(), counters.clone());
        let thread = std::thread::Builder::new()
            .name("pitbox-live-reader".into())
            .spawn(move || reader_thread(backend, opts, tx, s, c))
            .map_err(|e| SourceError::Io { path: PathBuf::from("<thread>"), source: e })?;
        Ok(LiveSource { name, rx, state: ConnectionState::Waiting, stop, counters, thread: Some(thread), iracing })
    }

    /// The reader's counters (rows read, samples dropped, connections made).
    pub fn counters(&self) -> &LiveCounters {
        &self.counters
    }
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // Drain so a blocked send wakes up, then wait for the thread.
            while self.rx.try_recv().is_ok() {}
            let _ = t.join();
        }
    }
}

impl TelemetrySource for LiveSource {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn is_iracing(&self) -> bool {
        self.iracing
    }

    fn state(&self) -> ConnectionState {
        self.state
    }

    fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        match self.rx.recv() {
            Ok(Ok(ev)) => {
                if let SourceEvent::State(s) = &ev {
                    self.state = *s;
                }
                Ok(Some(ev))
            }
            Ok(Err(msg)) => Err(SourceError::Invalid(msg)),
            Err(_) => Err(SourceError::ThreadGone(self.name.clone())),
        }
    }
}

/// What ended one connection.
enum Ended {
    Disconnected,
    Stopped,
}

struct Ctx {
    opts: LiveOptions,
    tx: SyncSender<Result<SourceEvent, String>>,
    stop: Arc<AtomicBool>,
    counters: Arc<LiveCounters>,
    sequence: u64,
    /// Consecutive attempts that found memory with an unreadable layout.
    bad_layouts: u32,
}

impl Ctx {
    /// Sends an event that must arrive; `false` when the consumer is gone.
    fn send(&self, ev: SourceEvent) -> bool {
        self.tx.send(Ok(ev)).is_ok()
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn sleep(&self, d: Duration) {
        // Sleep in slices so a stop request is seen quickly.
        let slice = Duration::from_millis(50);
        let mut left = d;
        while !left.is_zero() && !self.stopped() {
            let s = left.min(slice);
            std::thread::sleep(s);
            left -= s;
        }
    }
}

fn reader_thread(
    backend: Backend,
    opts: LiveOptions,
    tx: SyncSender<Result<SourceEvent, String>>,
    stop: Arc<AtomicBool>,
    counters: Arc<LiveCounters>,
) {
    let mut ctx = Ctx { opts, tx, stop, counters, sequence: 0, bad_layouts: 0 };
    if !ctx.send(SourceEvent::State(ConnectionState::Waiting)) {
        return;
    }
    while !ctx.stopped() {
        let outcome = match &backend {
            Backend::Shared(buf) => {
                // The simulator in this process: no signal, and a paused writer is not a gone one.
                let poll = ctx.opts.poll_interval;
                let sleep = move || {
                    std::thread::sleep(poll);
                    false
                };
                connection(buf.mem(), &mut ctx, Some(Wait { wait: &sleep, stale_after: None }))
            }
            Backend::Dump(path) => match std::fs::read(path) {
                Ok(bytes) => connection(SharedMem::from_bytes(&bytes), &mut ctx, None),
                Err(e) => Err(format!("{}: {e}", path.display())),
            },
            Backend::Iracing => iracing_connection(&mut ctx),
        };
        match outcome {
            Ok(Some(Ended::Stopped)) => return,
            Ok(Some(Ended::Disconnected)) => {
                if !ctx.send(SourceEvent::State(ConnectionState::Disconnected)) {
                    return;
                }
            }
            // Not there (yet).
            Ok(None) => {}
            Err(msg) => {
                // Memory caught while the sim lays it out reads as garbage for a moment: only a
                // layout that stays unreadable is reported (and reading goes on).
                ctx.bad_layouts += 1;
                if ctx.bad_layouts >= BAD_LAYOUTS_REPORTED {
                    ctx.bad_layouts = 0;
                    tracing::warn!(source = ?backend, error = %msg, "live memory unreadable");
                    if ctx.tx.send(Err(msg)).is_err() {
                        return;
                    }
                }
                ctx.sleep(Duration::from_millis(10));
                continue;
            }
        }
        ctx.sleep(ctx.opts.retry_interval);
    }
}

#[cfg(windows)]
fn iracing_connection(ctx: &mut Ctx) -> Result<Option<Ended>, String> {
    match pitbox_irsdk::live::windows::IracingMap::open() {
        Ok(map) => {
            let wait = Wait { wait: &|| map.wait_for_data(20), stale_after: Some(STALE_AFTER) };
            connection(map.mem(), ctx, Some(wait))
        }
        // Only a missing map means "iRacing is not running"; a map that exists but cannot be
        // viewed is an error, reported like an unreadable layout.
        Err(IrsdkError::NotConnected(_)) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// A sim that publishes no tick for this long is gone even though its connected bit is still
/// set: it was killed, or it crashed, without clearing the bit (iRacing ticks at 60 Hz in every
/// state while it is connected). The reader drops the map and looks for a new one.
#[cfg(windows)]
const STALE_AFTER: Duration = Duration::from_secs(5);

#[cfg(not(windows))]
fn iracing_connection(_ctx: &mut Ctx) -> Result<Option<Ended>, String> {
    Err(SourceError::NeedsWindows.to_string())
}

/// How a connection waits for new data: a signal (iRacing's event) or a sleep, and optionally
/// how long without a new tick means the writer is gone.
struct Wait<'w> {
    wait: &'w dyn Fn() -> bool,
    stale_after: Option<Duration>,
}

/// Consecutive unreadable layouts before the error is reported.
const BAD_LAYOUTS_REPORTED: u32 = 50;

/// Reads one connection until the sim goes away. `Ok(None)`: the sim is not there.
fn connection(mem: SharedMem<'_>, ctx: &mut Ctx, wait: Option<Wait<'_>>) -> Result<Option<Ended>, String> {
    let mut reader = match LiveReader::new(mem) {
        Ok(r) => r,
        Err(IrsdkError::NotConnected(_)) | Err(IrsdkError::TooShort { .. }) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    ctx.bad_layouts = 0;
    ctx.counters.connects.fetch_add(1, Ordering::Relaxed);
    let mut tm = TelemetryMapper::new(reader.layout(), &ctx.opts.driver_id).map_err(|e| e.to_string())?;
    tm.set_sequence(ctx.sequence);
    let mut sm = StandingsMapper::new(reader.layout(), &ctx.opts.driver_id).map_err(|e| e.to_string())?;
    let mut layout_key = key(reader.layout());
    let mut spot = ctx.opts.spotter.then(|| SpotterChannels::new(reader.layout()));
    let mut spot_session: Option<Arc<pitbox_irsdk::SessionInfo>> = None;
    if !ctx.send(SourceEvent::State(ConnectionState::Connected)) {
        return Ok(Some(Ended::Stopped));
    }
    let mut sent_session: Option<pitbox_model::session::SessionInfo> = None;
    let mut session_pending = true;
    let mut next_standings = f64::NEG_INFINITY;
    let period = if ctx.opts.standings_hz > 0.0 { 1.0 / ctx.opts.standings_hz } else { f64::INFINITY };
    let mut last_row = std::time::Instant::now();
    loop {
        if ctx.stopped() {
            return Ok(Some(Ended::Stopped));
        }
        let poll = match reader.poll() {
            Ok(p) => p,
            Err(IrsdkError::TornRead { .. }) => continue,
            Err(e) => return Err(e.to_string()),
        };
        match poll {
            Poll::Disconnected => {
                ctx.sequence = tm.sequence();
                return Ok(Some(Ended::Disconnected));
            }
            Poll::Unchanged => {
                match &wait {
                    Some(w) => {
                        (w.wait)();
                        if w.stale_after.is_some_and(|d| last_row.elapsed() > d) {
                            tracing::warn!("no new tick for {:?}: the sim is gone", w.stale_after.unwrap_or_default());
                            ctx.sequence = tm.sequence();
                            return Ok(Some(Ended::Disconnected));
                        }
                    }
                    None => std::thread::sleep(ctx.opts.poll_interval),
                }
                continue;
            }
            Poll::NewRow { session_changed, .. } => {
                last_row = std::time::Instant::now();
                let read_at = last_row;
                ctx.counters.rows.fetch_add(1, Ordering::Relaxed);
                if key(reader.layout()) != layout_key {
                    layout_key = key(reader.layout());
                    tm.relayout(reader.layout()).map_err(|e| e.to_string())?;
                    sm.relayout(reader.layout()).map_err(|e| e.to_string())?;
                    if spot.is_some() {
                        spot = Some(SpotterChannels::new(reader.layout()));
                    }
                    session_pending = true;
                }
                let row = reader.row();
                let now = chrono::Utc::now();
                // The sim writes the session number in the row and the session text apart, so
                // a new session can show in the row after the text that announced it was read:
                // a row whose session is not the one last sent reads the text again.
                let row_session = tm.sim_session_key(row, now).map(|k| k.sim_session_id());
                if sent_session.as_ref().is_some_and(|s| s.sim_session_id != row_session) {
                    session_pending = true;
                }
                if session_changed || session_pending {
                    session_pending = false;
                    // An empty text (a writer that has set the connected bit but not written
                    // the session yet) is no session: wait for the next sessionInfoUpdate.
                    let usable = reader.session_info().filter(|s| !empty_session(s));
                    if let Some(s) = usable {
                        tm.set_session(s);
                        if spot.is_some() {
                            spot_session = Some(Arc::new(s.clone()));
                        }
                        let mut info = session_info(s, tm.session_num(row), &ctx.opts.driver_id, now);
                        info.sim_session_id = tm.sim_session_key(row, now).map(|k| k.sim_session_id());
                        let changed = sent_session.as_ref().is_none_or(|old| !same_session(old, &info));
                        if changed {
                            sent_session = Some(info.clone());
                            if !ctx.send(SourceEvent::Session(Box::new(info))) {
                                return Ok(Some(Ended::Stopped));
                            }
                        }
                    }
                }
                sm.observe(row);
                if let Some(sc) = &spot {
                    let tick = sc.tick(row, read_at, spot_session.take());
                    match ctx.tx.try_send(Ok(SourceEvent::Spotter(Box::new(tick)))) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_)) => {
                            ctx.counters.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(TrySendError::Disconnected(_)) => return Ok(Some(Ended::Stopped)),
                    }
                }
                let t = tm.telemetry(row, now);
                let st = t.session_time.unwrap_or(0.0);
                let sim_session_id = t.sim_session_id.clone();
                match ctx.tx.try_send(Ok(SourceEvent::Telemetry(Box::new(t)))) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        ctx.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TrySendError::Disconnected(_)) => return Ok(Some(Ended::Stopped)),
                }
                let have_field = reader.session_info().is_some_and(|s| !empty_session(s));
                if have_field && sm.available() && (st >= next_standings || st + period < next_standings) {
                    next_standings = st + period;
                    let mut s = sm.standings(row, reader.session_info(), now);
                    s.sim_session_id = sim_session_id;
                    if !ctx.send(SourceEvent::Standings(Box::new(s))) {
                        return Ok(Some(Ended::Stopped));
                    }
                }
                ctx.sequence = tm.sequence();
            }
        }
    }
}

/// The spotter's channels in one layout (each optional).
struct SpotterChannels {
    time: Option<VarHandle<f64>>,
    clr: Option<VarHandle<i32>>,
    player: Option<VarHandle<i32>>,
    pct: Option<VarHandle<f32>>,
    est: Option<VarHandle<f32>>,
    pit: Option<VarHandle<bool>>,
    flags: Option<VarHandle<u32>>,
}

impl SpotterChannels {
    fn new(l: &Layout) -> SpotterChannels {
        fn opt<T: pitbox_irsdk::VarValue>(l: &Layout, name: &str) -> Option<VarHandle<T>> {
            l.optional(name).ok().flatten()
        }
        SpotterChannels {
            time: opt(l, "SessionTime"),
            clr: opt(l, "CarLeftRight"),
            player: opt(l, "PlayerCarIdx"),
            pct: opt(l, "CarIdxLapDistPct"),
            est: opt(l, "CarIdxEstTime"),
            pit: opt(l, "CarIdxOnPitRoad"),
            flags: opt(l, "SessionFlags"),
        }
    }

    fn tick(
        &self,
        row: &[u8],
        read_at: std::time::Instant,
        session: Option<Arc<pitbox_irsdk::SessionInfo>>,
    ) -> SpotterTick {
        SpotterTick {
            read_at,
            session_time: self.time.as_ref().and_then(|h| h.try_get(row)).unwrap_or(f64::NAN),
            car_left_right: self.clr.as_ref().and_then(|h| h.try_get(row)),
            player_idx: self.player.as_ref().and_then(|h| h.try_get(row)),
            lap_dist_pct: self.pct.as_ref().map(|h| h.to_vec(row)).unwrap_or_default(),
            est_time: self.est.as_ref().map(|h| h.to_vec(row)).unwrap_or_default(),
            on_pit_road: self.pit.as_ref().map(|h| h.to_vec(row)).unwrap_or_default(),
            session_flags: self.flags.as_ref().and_then(|h| h.try_get(row)),
            session,
        }
    }
}

fn empty_session(s: &pitbox_irsdk::SessionInfo) -> bool {
    s.weekend.track_name.is_none() && s.driver.drivers.is_empty()
}

fn key(l: &Layout) -> (i32, i32, usize) {
    (l.header().num_vars, l.header().buf_len, l.vars().len())
}

/// Equal apart from the timestamp.
pub fn same_session(a: &pitbox_model::session::SessionInfo, b: &pitbox_model::session::SessionInfo) -> bool {
    let mut b2 = b.clone();
    b2.timestamp = a.timestamp;
    *a == b2
}
