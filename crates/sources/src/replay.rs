//! `.ibt` replay: any file, at real time, N× or as fast as possible, looping optional — the
//! same events as the live source (`Connected`, the session, a telemetry event per record,
//! standings twice a second of recorded time, `Finished` at the end).
//!
//! Pacing follows the record index (records are 1/tickRate apart), not `SessionTime`, which
//! jumps at resets and between stints.

use crate::live::same_session;
use crate::mapping::{StandingsMapper, TelemetryMapper, session_info};
use crate::{ConnectionState, SourceError, SourceEvent, TelemetrySource};
use pitbox_irsdk::IbtFile;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How fast a replay runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// As recorded.
    RealTime,
    /// N times real time.
    Factor(f64),
    /// No waiting at all.
    AsFastAsPossible,
}

impl std::str::FromStr for Pace {
    type Err = SourceError;
    /// `realtime`, `fast`, or a factor such as `4` or `4x`.
    fn from_str(s: &str) -> Result<Pace, SourceError> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "realtime" | "real" | "1" | "1x" => Ok(Pace::RealTime),
            "fast" | "max" | "asap" => Ok(Pace::AsFastAsPossible),
            _ => {
                let n: f64 = t.trim_end_matches('x').parse().map_err(|_| {
                    SourceError::Invalid(format!("pace `{s}`: expected realtime, fast, or a factor such as 4x"))
                })?;
                if n.is_finite() && n > 0.0 && n <= 10_000.0 {
                    Ok(Pace::Factor(n))
                } else {
                    Err(SourceError::Invalid(format!("pace factor {n} must be above 0 and at most 10000")))
                }
            }
        }
    }
}

/// Settings of a replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub driver_id: String,
    pub pace: Pace,
    /// Start again at the first record after the last.
    pub looping: bool,
    /// Standings per second of recorded time (0 = none).
    pub standings_hz: f64,
}

impl ReplayOptions {
    /// Real time, no looping, standings at 2 Hz.
    pub fn new(driver_id: &str) -> ReplayOptions {
        ReplayOptions { driver_id: driver_id.to_string(), pace: Pace::RealTime, looping: false, standings_hz: 2.0 }
    }
}

/// Replays an `.ibt` file.
pub struct ReplaySource {
    path: PathBuf,
    file: IbtFile,
    session: Option<pitbox_irsdk::SessionInfo>,
    opts: ReplayOptions,
    tm: TelemetryMapper,
    sm: StandingsMapper,
    next: usize,
    pass_start: Option<Instant>,
    pass_first: usize,
    state: ConnectionState,
    pending: VecDeque<SourceEvent>,
    rows_per_standings: usize,
    sent_session: Option<pitbox_model::session::SessionInfo>,
    passes: u64,
}

impl ReplaySource {
    /// Opens `path` (memory-mapped).
    pub fn open(path: impl AsRef<Path>, opts: ReplayOptions) -> Result<ReplaySource, SourceError> {
        let path = path.as_ref().to_path_buf();
        let file = IbtFile::open(&path)?;
        ReplaySource::from_file(path, file, opts)
    }

    /// Replays an already opened file (`path` is for messages).
    pub fn from_file(path: PathBuf, file: IbtFile, opts: ReplayOptions) -> Result<ReplaySource, SourceError> {
        if file.row_count() == 0 {
            return Err(SourceError::Empty(path));
        }
        // Records without time, lap or place are no telemetry: refuse them rather than replay
        // millions of empty samples from a crafted header.
        pitbox_irsdk::import::check_channels(&file)
            .map_err(|e| SourceError::Invalid(format!("{}: {e}", path.display())))?;
        let session = file.session_info().ok();
        let mut tm = TelemetryMapper::new(file.layout(), &opts.driver_id)?;
        if let Some(s) = &session {
            tm.set_session(s);
        }
        // A file carries its own identity: the same key as its import into the cloud.
        if file.disk().session_start_date > 0 {
            tm.set_offline_start(file.disk().session_start_date);
        }
        let sm = StandingsMapper::new(file.layout(), &opts.driver_id)?;
        let tick_rate = f64::from(file.header().tick_rate.max(1));
        let rows_per_standings =
            if opts.standings_hz > 0.0 { ((tick_rate / opts.standings_hz).round() as usize).max(1) } else { 0 };
        Ok(ReplaySource {
            path,
            file,
            session,
            opts,
            tm,
            sm,
            next: 0,
            pass_start: None,
            pass_first: 0,
            state: ConnectionState::Waiting,
            pending: VecDeque::new(),
            rows_per_standings,
            sent_session: None,
            passes: 0,
        })
    }

    /// The file being replayed.
    pub fn file(&self) -> &IbtFile {
        &self.file
    }

    /// Index of the next record to be replayed.
    pub fn position(&self) -> usize {
        self.next
    }

    /// Jumps to record `index` (clamped to the file).
    pub fn seek(&mut self, index: usize) {
        self.next = index.min(self.file.row_count() - 1);
        self.pass_start = None;
    }

    fn wait_for(&mut self, index: usize) {
        let factor = match self.opts.pace {
            Pace::AsFastAsPossible => return,
            Pace::RealTime => 1.0,
            Pace::Factor(f) => f,
        };
        let tick_rate = f64::from(self.file.header().tick_rate.max(1));
        let start = match self.pass_start {
            Some(s) => s,
            None => {
                let now = Instant::now();
                self.pass_start = Some(now);
                self.pass_first = index;
                now
            }
        };
        let offset = (index.saturating_sub(self.pass_first)) as f64 / tick_rate / factor;
        let due = start + Duration::from_secs_f64(offset);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }

    fn queue_record(&mut self) -> Result<(), SourceError> {
        let i = self.next;
        self.wait_for(i);
        let row = self.file.row(i)?;
        let now = chrono::Utc::now();
        if self.state != ConnectionState::Connected {
            self.state = ConnectionState::Connected;
            self.pending.push_back(SourceEvent::State(ConnectionState::Connected));
        }
        if let Some(s) = &self.session {
            let mut info = session_info(s, self.tm.session_num(row), &self.opts.driver_id, now);
            info.sim_session_id = self.tm.sim_session_key(row, now).map(|k| k.sim_session_id());
            if self.sent_session.as_ref().is_none_or(|old| !same_session(old, &info)) {
                self.sent_session = Some(info.clone());
                self.pending.push_back(SourceEvent::Session(Box::new(info)));
            }
        }
        self.sm.observe(row);
        let t = self.tm.telemetry(row, now);
        let sim_session_id = t.sim_session_id.clone();
        self.pending.push_back(SourceEvent::Telemetry(Box::new(t)));
        if self.rows_per_standings > 0 && i.is_multiple_of(self.rows_per_standings) && self.sm.available() {
            let mut st = self.sm.standings(row, self.session.as_ref(), now);
            st.sim_session_id = sim_session_id;
            self.pending.push_back(SourceEvent::Standings(Box::new(st)));
        }
        self.next += 1;
        Ok(())
    }
}

impl TelemetrySource for ReplaySource {
    fn describe(&self) -> String {
        format!("ibt:{}", self.path.display())
    }

    fn state(&self) -> ConnectionState {
        self.state
    }

    fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Ok(Some(ev));
            }
            if self.state == ConnectionState::Finished {
                return Ok(None);
            }
            if self.next >= self.file.row_count() {
                if self.opts.looping {
                    self.passes += 1;
                    self.next = 0;
                    self.pass_start = None;
                    // A new pass is a new session for consumers (the lap counter goes back).
                    self.sent_session = None;
                    continue;
                }
                self.state = ConnectionState::Finished;
                return Ok(Some(SourceEvent::State(ConnectionState::Finished)));
            }
            self.queue_record()?;
        }
    }
}
