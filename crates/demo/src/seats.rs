//! One simulated team car, three driver agents: the dispatcher reads the simulator (one source)
//! on a thread of its own and hands each agent a [`SeatSource`]. Only the driver the simulator
//! has in the car gets telemetry and standings; everyone gets the session (so the incoming
//! driver's agent sees the driver change and completes its accepted handoff); the others are
//! told they are waiting (not in the car).
//!
//! On the way the dispatcher makes each message the seat's own (its `driverId`), gives samples
//! sequence numbers that keep growing across demo restarts (microseconds since the epoch, so a
//! restarted demo is never taken for a replay by the relay's dedupe), and shifts lap numbers
//! past the laps stored by earlier runs (the simulator always starts a race at lap 1; without
//! the shift a restart would write into laps already stored).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_sources::{ConnectionState, SourceError, SourceEvent, TelemetrySource};
use tokio::sync::mpsc::UnboundedSender;

/// Who sits in one seat.
#[derive(Debug, Clone)]
pub struct Seat {
    /// Cloud user id: the agent's `driverId`.
    pub user_id: String,
    /// Name in the simulator's entry list.
    pub name: String,
}

/// What the dispatcher tells the rest of the demo.
#[derive(Debug, Clone)]
pub enum CarEvent {
    /// A sample of the team car, as sent to the seat driving it.
    Telemetry { seat: usize, update: Box<TelemetryUpdate> },
    /// The simulator put another driver in the car.
    DriverChanged { from: Option<usize>, to: usize },
    /// The simulator ended (race over) or the demo is stopping.
    Finished,
}

/// The source an agent reads: what the dispatcher gives this seat.
pub struct SeatSource {
    rx: mpsc::Receiver<SourceEvent>,
    describe: String,
    state: ConnectionState,
    /// The simulator's pit boxes: every seat's agent sets the one car's next stop.
    pit_box: Option<pitbox_sources::sim::pit_box::SimPitBox>,
}

impl TelemetrySource for SeatSource {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn sim_pit_box(&self) -> Option<pitbox_sources::sim::pit_box::SimPitBox> {
        self.pit_box.clone()
    }

    fn state(&self) -> ConnectionState {
        self.state
    }

    fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        if self.state == ConnectionState::Finished {
            return Ok(None);
        }
        match self.rx.recv() {
            Ok(ev) => {
                if let SourceEvent::State(s) = &ev {
                    self.state = *s;
                }
                Ok(Some(ev))
            }
            Err(_) => {
                self.state = ConnectionState::Finished;
                Ok(None)
            }
        }
    }
}

/// The running dispatcher.
pub struct Dispatcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    max_lap: Arc<AtomicU32>,
}

impl Dispatcher {
    /// Highest (shifted) lap number the team car has been on.
    pub fn max_lap(&self) -> u32 {
        self.max_lap.load(Ordering::Relaxed)
    }

    /// Whether the simulated race is over (the simulator ran out of laps) or stopped.
    pub fn finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops the simulator and closes every seat (their agents see the source finish).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the dispatcher on `source`; returns it with one [`SeatSource`] per seat.
///
/// `on_new_lap` is called (on the dispatcher's thread) each time the team car starts a lap
/// numbered higher than any before, with that number.
pub fn start(
    source: Box<dyn TelemetrySource>,
    seats: Vec<Seat>,
    lap_offset: u32,
    car_events: UnboundedSender<CarEvent>,
    on_new_lap: Box<dyn FnMut(u32) + Send>,
) -> std::io::Result<(Dispatcher, Vec<SeatSource>)> {
    let describe = source.describe();
    let pit_box = source.sim_pit_box();
    let mut txs = Vec::with_capacity(seats.len());
    let mut seat_sources = Vec::with_capacity(seats.len());
    for s in &seats {
        let (tx, rx) = mpsc::channel();
        txs.push(tx);
        seat_sources.push(SeatSource {
            rx,
            describe: format!("{describe}, seat of {}", s.name),
            state: ConnectionState::Waiting,
            pit_box: pit_box.clone(),
        });
    }
    let stop = Arc::new(AtomicBool::new(false));
    let max_lap = Arc::new(AtomicU32::new(lap_offset));
    let mut run = Run {
        source,
        seats,
        txs,
        lap_offset,
        car_events,
        current: None,
        source_state: ConnectionState::Waiting,
        last_seq: 0,
        max_lap: max_lap.clone(),
        on_new_lap,
    };
    let s = stop.clone();
    let thread = std::thread::Builder::new().name("pitbox-demo-seats".into()).spawn(move || run.run(&s))?;
    Ok((Dispatcher { stop, thread: Some(thread), max_lap }, seat_sources))
}

struct Run {
    source: Box<dyn TelemetrySource>,
    seats: Vec<Seat>,
    txs: Vec<mpsc::Sender<SourceEvent>>,
    lap_offset: u32,
    car_events: UnboundedSender<CarEvent>,
    current: Option<usize>,
    source_state: ConnectionState,
    last_seq: u64,
    max_lap: Arc<AtomicU32>,
    on_new_lap: Box<dyn FnMut(u32) + Send>,
}

impl Run {
    fn run(&mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            match self.source.next_event() {
                Ok(Some(ev)) => self.dispatch(ev),
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "simulator source error");
                    if self.source.state() == ConnectionState::Finished {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        let _ = self.car_events.send(CarEvent::Finished);
        // Dropping the senders (with `self`) finishes every seat.
    }

    fn send(&self, seat: usize, ev: SourceEvent) {
        if let Some(tx) = self.txs.get(seat) {
            // A seat whose agent has stopped is simply not listening any more.
            let _ = tx.send(ev);
        }
    }

    /// Sequence numbers: microseconds since the epoch, strictly increasing.
    fn next_seq(&mut self) -> u64 {
        let now = chrono::Utc::now().timestamp_micros().max(0) as u64;
        self.last_seq = now.max(self.last_seq + 1);
        self.last_seq
    }

    fn dispatch(&mut self, ev: SourceEvent) {
        match ev {
            SourceEvent::Session(s) => {
                let in_car = s
                    .drivers
                    .iter()
                    .find(|d| d.car_idx == s.player_car_idx)
                    .and_then(|d| self.seats.iter().position(|seat| seat.name == d.name));
                if let Some(to) = in_car
                    && Some(to) != self.current
                {
                    let from = self.current.replace(to);
                    if let Some(f) = from {
                        self.send(f, SourceEvent::State(ConnectionState::Waiting));
                    }
                    self.send(to, SourceEvent::State(self.source_state));
                    let _ = self.car_events.send(CarEvent::DriverChanged { from, to });
                }
                for (i, seat) in self.seats.iter().enumerate() {
                    let mut own = (*s).clone();
                    own.driver_id = seat.user_id.clone();
                    self.send(i, SourceEvent::Session(Box::new(own)));
                }
            }
            SourceEvent::Telemetry(mut t) => {
                let Some(cur) = self.current else { return };
                t.driver_id = self.seats[cur].user_id.clone();
                t.sequence = Some(self.next_seq());
                t.lap = t.lap.saturating_add(self.lap_offset);
                if self.max_lap.fetch_max(t.lap, Ordering::Relaxed) < t.lap {
                    (self.on_new_lap)(t.lap);
                }
                let _ = self.car_events.send(CarEvent::Telemetry { seat: cur, update: t.clone() });
                self.send(cur, SourceEvent::Telemetry(t));
            }
            SourceEvent::Standings(mut s) => {
                let Some(cur) = self.current else { return };
                s.driver_id = self.seats[cur].user_id.clone();
                let shift = i32::try_from(self.lap_offset).unwrap_or(i32::MAX);
                for e in &mut s.entries {
                    if e.lap >= 0 {
                        e.lap = e.lap.saturating_add(shift);
                    }
                }
                self.send(cur, SourceEvent::Standings(s));
            }
            SourceEvent::State(st) => {
                self.source_state = st;
                if let Some(cur) = self.current {
                    self.send(cur, SourceEvent::State(st));
                }
            }
            // The seat in the car spots from its own source options; none asks for ticks here.
            SourceEvent::Spotter(tick) => {
                if let Some(cur) = self.current {
                    self.send(cur, SourceEvent::Spotter(tick));
                }
            }
        }
    }
}
