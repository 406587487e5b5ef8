//! The simulator as a [`TelemetrySource`]: a thread runs the simulation into in-process live
//! memory at real time (or N×) through `pitbox-irsdk`'s live writer, and a [`LiveSource`] reads
//! it back through the live reader — the same path as iRacing on Windows.

use super::output::{LivePace, live_buffer, run_live};
use super::{Sim, SimConfig, SimError};
use crate::live::{LiveOptions, LiveSource};
use crate::{ConnectionState, SourceError, SourceEvent, TelemetrySource};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A running simulation read through live memory.
pub struct SimSource {
    live: LiveSource,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), SimError>>>,
    describe: String,
    state: ConnectionState,
    pit_box: super::pit_box::SimPitBox,
}

impl SimSource {
    /// Starts the simulation thread and the live reader.
    pub fn start(cfg: SimConfig, pace: LivePace, mut opts: LiveOptions) -> Result<SimSource, SourceError> {
        let describe = format!("sim:{} ({})", cfg.seed, cfg.track.key);
        let mut sim = Sim::new(cfg).map_err(|e| SourceError::Invalid(e.to_string()))?;
        let pit_box = sim.pit_box();
        let buf = live_buffer();
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (buf.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("pitbox-sim".into())
            .spawn(move || run_live(&mut sim, &b, pace, &s))
            .map_err(|e| SourceError::Io { path: "<thread>".into(), source: e })?;
        opts.retry_interval = opts.retry_interval.min(Duration::from_millis(20));
        let live = LiveSource::shared(buf, opts)?;
        Ok(SimSource { live, stop, thread: Some(thread), describe, state: ConnectionState::Waiting, pit_box })
    }

    /// The live reader's counters.
    pub fn live(&self) -> &LiveSource {
        &self.live
    }

    fn sim_done(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl Drop for SimSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl TelemetrySource for SimSource {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn sim_pit_box(&self) -> Option<super::pit_box::SimPitBox> {
        Some(self.pit_box.clone())
    }

    fn state(&self) -> ConnectionState {
        self.state
    }

    fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        if self.state == ConnectionState::Finished {
            return Ok(None);
        }
        let ev = self.live.next_event()?;
        if let Some(SourceEvent::State(ConnectionState::Disconnected)) = ev
            && self.sim_done()
        {
            if let Some(t) = self.thread.take()
                && let Ok(Err(e)) = t.join()
            {
                return Err(SourceError::Invalid(format!("simulator stopped: {e}")));
            }
            self.state = ConnectionState::Finished;
            return Ok(Some(SourceEvent::State(ConnectionState::Finished)));
        }
        if let Some(SourceEvent::State(s)) = &ev {
            self.state = *s;
        }
        Ok(ev)
    }
}
