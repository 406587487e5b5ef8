//! # pitbox-sources — where telemetry comes from
//!
//! This crate owns the telemetry sources of the driver agent, behind one trait
//! ([`TelemetrySource`]):
//!
//! - [`replay::ReplaySource`]: an `.ibt` file at real time, N× or as fast as possible, looping
//!   optional;
//! - [`live::LiveSource`]: iRacing's live shared memory (Windows), a memory dump file, or an
//!   in-process region written by the simulator; waits for the sim, reconnects when it restarts,
//!   follows session changes;
//! - [`sim`]: a deterministic, seeded session generator (tracks, car model, a full field, fuel,
//!   tyres, pit stops, driver changes, planted mistakes) that writes iRacing SDK variables through
//!   `pitbox-irsdk`'s writers, into live memory or an `.ibt` file, so the real reading path is
//!   exercised end to end;
//! - [`mapping`]: SDK rows and session info → wire messages (`telemetry_update`, `session_info`,
//!   `standings_update`);
//! - [`cli`]: `pitbox sim` as library code, and [`bench::bench`].
//!
//! ## The trait: blocking, pulled from a thread of its own
//!
//! A source is a blocking iterator of [`SourceEvent`]s: [`TelemetrySource::next_event`] returns
//! the next event when it is due (a replay at real time sleeps until the sample's time; a live
//! source waits for the sim). The driver agent runs each source on a dedicated OS thread and
//! hands events to its async side through a channel, so the sim reader never waits on the
//! network and sources need no async runtime. Live memory cannot be held across an `await`
//! safely anyway (it is a seqlock read).

pub mod bench;
pub mod cli;
pub mod error;
pub mod live;
pub mod mapping;
pub mod replay;
pub mod sim;
pub mod spec;

pub use error::SourceError;
pub use spec::{SourceOptions, SourceSpec, open_source};

use pitbox_model::session::{SessionInfo, StandingsUpdate};
use pitbox_model::telemetry::TelemetryUpdate;

/// Whether a source has a sim to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Waiting for the sim to start (live) — nothing to read yet.
    Waiting,
    /// Reading samples.
    Connected,
    /// The sim went away; the source is waiting for it to come back.
    Disconnected,
    /// The source has nothing more to give (a replay that does not loop reached its end).
    Finished,
}

impl ConnectionState {
    /// True while samples flow.
    pub fn is_connected(self) -> bool {
        self == ConnectionState::Connected
    }
}

/// What a source yields.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    /// One sample of the player's car.
    Telemetry(Box<TelemetryUpdate>),
    /// The session (track, car, field) at connection and whenever it changes.
    Session(Box<SessionInfo>),
    /// Every car's standing, about twice a second of sim time.
    Standings(Box<StandingsUpdate>),
    /// The connection state changed.
    State(ConnectionState),
    /// The spotter's channels of the row just read, before its `Telemetry`: only from live
    /// sources (iRacing, dumps, the simulator) opened with `LiveOptions::spotter`.
    Spotter(Box<SpotterTick>),
}

/// One sim tick as the spotter needs it (`CarLeftRight`, the `CarIdx…` arrays) and the session
/// flags the agent's cues need, copied out of the row. Arrays are empty when the channel is absent.
#[derive(Debug, Clone)]
pub struct SpotterTick {
    /// When the row was read: the tick → audio latency is measured from here.
    pub read_at: std::time::Instant,
    /// `SessionTime`, seconds.
    pub session_time: f64,
    /// `CarLeftRight` (0–6), `None` when absent.
    pub car_left_right: Option<i32>,
    /// `PlayerCarIdx`.
    pub player_idx: Option<i32>,
    /// `CarIdxLapDistPct`.
    pub lap_dist_pct: Vec<f32>,
    /// `CarIdxEstTime`.
    pub est_time: Vec<f32>,
    /// `CarIdxOnPitRoad`.
    pub on_pit_road: Vec<bool>,
    /// `SessionFlags` (`irsdk_Flags` bits: the agent gives no driving cues under a caution),
    /// `None` when absent.
    pub session_flags: Option<u32>,
    /// The sim's session info, on the first tick after it changed (for the car classes).
    pub session: Option<std::sync::Arc<pitbox_irsdk::session::SessionInfo>>,
}

impl PartialEq for SpotterTick {
    /// Equal channels; the session info compares by identity (it has no `PartialEq`).
    fn eq(&self, o: &Self) -> bool {
        self.read_at == o.read_at
            && self.session_time == o.session_time
            && self.car_left_right == o.car_left_right
            && self.player_idx == o.player_idx
            && self.lap_dist_pct == o.lap_dist_pct
            && self.est_time == o.est_time
            && self.on_pit_road == o.on_pit_road
            && self.session_flags == o.session_flags
            && match (&self.session, &o.session) {
                (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

/// One telemetry source. See the crate documentation for the threading model.
pub trait TelemetrySource: Send {
    /// A short description, e.g. `ibt:lap.ibt` or `sim:42 (redbullring)`.
    fn describe(&self) -> String;

    /// The connection state now.
    fn state(&self) -> ConnectionState;

    /// Blocks until the next event is due. `Ok(None)` once the source is finished (never for
    /// live sources, which wait for the sim to come back).
    fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError>;

    /// The simulator's pit-service boxes, for a source that is the built-in simulator (pit
    /// commands are set there as they would be in iRacing); `None` for every other source.
    fn sim_pit_box(&self) -> Option<sim::pit_box::SimPitBox> {
        None
    }

    /// Whether this source reads iRacing itself (its shared memory on Windows), so commands
    /// to the sim go to iRacing.
    fn is_iracing(&self) -> bool {
        false
    }
}

impl TelemetrySource for Box<dyn TelemetrySource> {
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn state(&self) -> ConnectionState {
        (**self).state()
    }
    fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        (**self).next_event()
    }
    fn sim_pit_box(&self) -> Option<sim::pit_box::SimPitBox> {
        (**self).sim_pit_box()
    }
    fn is_iracing(&self) -> bool {
        (**self).is_iracing()
    }
}
