//! Where the simulator's rows go: an `.ibt` file (through `pitbox-irsdk`'s [`IbtWriter`]) or
//! live memory (through its [`LiveWriter`], three rotating buffers like iRacing), so that every
//! reader of PitBox reads the simulator exactly as it reads iRacing.

use super::{Sim, SimError, TICK_RATE, vars};
use pitbox_irsdk::live::{SharedBuffer, live_region_len};
use pitbox_irsdk::serve::{IracingImage, Pacer, Publisher};
use pitbox_irsdk::writer::IbtWriter;
use std::io::{Seek, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes reserved for the session info in live memory: iRacing's 512 KiB, so the image has
/// iRacing's offsets (session info at 112, variable headers at 524400).
pub const SESSION_CAPACITY: usize = pitbox_irsdk::serve::MIN_SESSION_CAPACITY;
/// Rotating row buffers in live memory, as iRacing uses.
pub const NUM_BUF: usize = pitbox_irsdk::serve::NUM_BUF;

/// Session start date written into `.ibt` files: 2026-01-01T12:00:00Z plus the seed's minutes,
/// so files are reproducible.
pub fn start_date(seed: u64) -> i64 {
    1_767_268_800 + (seed % 100_000) as i64 * 60
}

/// Runs the simulation into an `.ibt` writer until `done` says stop (checked after every tick)
/// or `max_ticks` ticks; returns the writer's output and the ticks written.
pub fn write_ibt<W: Write + Seek>(
    sim: &mut Sim,
    out: W,
    max_ticks: u64,
    mut done: impl FnMut(&Sim) -> bool,
) -> Result<(W, u64), SimError> {
    let (vars, buf_len) = vars::var_headers();
    // The file keeps the session info of its start (a driver change later shows in
    // DCDriversSoFar; iRacing's own files also carry one session-info text).
    let mut w = IbtWriter::new(out, vars, buf_len, TICK_RATE, &sim.session_yaml(), start_date(sim.config().seed))?;
    let mut ticks = 0;
    while ticks < max_ticks {
        sim.step();
        w.write_row(sim.row())?;
        ticks += 1;
        if done(sim) {
            break;
        }
    }
    Ok((w.finish()?, ticks))
}

/// An in-process live-memory region for a simulator to write and readers to read.
pub fn live_buffer() -> Arc<SharedBuffer> {
    Arc::new(SharedBuffer::new(live_region_bytes()))
}

/// How fast a live simulation runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LivePace {
    /// Sim seconds per wall-clock second (1 = real time).
    pub speed: f64,
}

/// Runs the simulation into live memory at `pace` until `stop` is set or the session is over;
/// the connected bit is cleared at the end, as when iRacing exits.
pub fn run_live(sim: &mut Sim, buf: &SharedBuffer, pace: LivePace, stop: &AtomicBool) -> Result<(), SimError> {
    run_published(sim, buf, pace, stop, |_, _| {})
}

/// Bytes of live memory the simulator's image needs.
pub fn live_region_bytes() -> usize {
    let (vars, buf_len) = vars::var_headers();
    live_region_len(vars.len(), buf_len, SESSION_CAPACITY, NUM_BUF)
}

/// [`run_live`] into any [`Publisher`] (iRacing's Windows memory map for `--serve-iracing`),
/// signalling every tick; `each_tick(sim, session_update)` runs after each published row.
pub fn run_published<P: Publisher>(
    sim: &mut Sim,
    publisher: &P,
    pace: LivePace,
    stop: &AtomicBool,
    mut each_tick: impl FnMut(&Sim, i32),
) -> Result<(), SimError> {
    let (vars, buf_len) = vars::var_headers();
    let mut image = IracingImage::new(publisher, &vars, buf_len, TICK_RATE, SESSION_CAPACITY)?;
    let mut version = sim.session_version();
    image.set_session_info(&sim.session_yaml())?;
    let mut pacer = Pacer::new(TICK_RATE, pace.speed);
    while !stop.load(Ordering::Relaxed) && !sim.finished() {
        sim.step();
        if sim.session_version() != version {
            version = sim.session_version();
            image.set_session_info(&sim.session_yaml())?;
        }
        image.publish(sim.row())?;
        each_tick(sim, image.session_update());
        pacer.wait();
    }
    image.disconnect();
    Ok(())
}
