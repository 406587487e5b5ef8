//! `--source iracing|ibt:FILE|dump:FILE|sim[:SEED]`: which source to open, and opening it.

use crate::live::{LiveOptions, LiveSource};
use crate::replay::{Pace, ReplayOptions, ReplaySource};
use crate::sim::output::LivePace;
use crate::sim::source::SimSource;
use crate::sim::{SimConfig, track};
use crate::{SourceError, TelemetrySource};
use std::path::PathBuf;

/// A source named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// iRacing's live shared memory (Windows).
    Iracing,
    /// Replay of an `.ibt` file.
    Ibt(PathBuf),
    /// A live-memory dump file, read like live memory.
    Dump(PathBuf),
    /// The simulator with this seed.
    Sim { seed: u64 },
}

/// Seed of `sim` without one.
pub const DEFAULT_SEED: u64 = 1;

impl std::str::FromStr for SourceSpec {
    type Err = SourceError;

    fn from_str(s: &str) -> Result<SourceSpec, SourceError> {
        let t = s.trim();
        let bad = |why: &str| {
            SourceError::Invalid(format!("`{t}`: {why} (expected iracing, ibt:FILE, dump:FILE, sim or sim:SEED)"))
        };
        let (kind, arg) = match t.split_once(':') {
            Some((k, a)) => (k.to_ascii_lowercase(), Some(a)),
            None => (t.to_ascii_lowercase(), None),
        };
        match (kind.as_str(), arg) {
            ("iracing", None) => Ok(SourceSpec::Iracing),
            ("ibt", Some(p)) if !p.is_empty() => Ok(SourceSpec::Ibt(PathBuf::from(p))),
            ("dump", Some(p)) if !p.is_empty() => Ok(SourceSpec::Dump(PathBuf::from(p))),
            ("ibt", _) | ("dump", _) => Err(bad("a file name must follow the colon")),
            ("sim", None) => Ok(SourceSpec::Sim { seed: DEFAULT_SEED }),
            ("sim", Some(seed)) => seed
                .trim()
                .parse()
                .map(|seed| SourceSpec::Sim { seed })
                .map_err(|_| bad("the seed must be a whole number")),
            _ => Err(bad("unknown source")),
        }
    }
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSpec::Iracing => write!(f, "iracing"),
            SourceSpec::Ibt(p) => write!(f, "ibt:{}", p.display()),
            SourceSpec::Dump(p) => write!(f, "dump:{}", p.display()),
            SourceSpec::Sim { seed } => write!(f, "sim:{seed}"),
        }
    }
}

/// Everything a source may need besides its spec.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// Driver id put into every message.
    pub driver_id: String,
    /// Replay and simulator pace.
    pub pace: Pace,
    /// Replays start again at the end.
    pub looping: bool,
    /// Standings per second.
    pub standings_hz: f64,
    /// Simulator track key (see [`track::TRACKS`]).
    pub sim_track: String,
    /// Simulator race length in laps (`None`: unlimited).
    pub sim_laps: Option<u32>,
    /// Simulator practice and qualifying before the race, team-car laps each (0: none).
    pub sim_practice_laps: u32,
    pub sim_qualify_laps: u32,
    /// Plant coaching mistakes on the simulator's team car.
    pub sim_mistakes: bool,
    /// Live sources (iRacing, dumps, the simulator) also send [`crate::SourceEvent::Spotter`]
    /// ticks ([`LiveOptions::spotter`]); replays never do.
    pub spotter: bool,
}

impl SourceOptions {
    /// Real time, Red Bull Ring, an unlimited race, standings at 2 Hz.
    pub fn new(driver_id: &str) -> SourceOptions {
        SourceOptions {
            driver_id: driver_id.to_string(),
            pace: Pace::RealTime,
            looping: false,
            standings_hz: 2.0,
            sim_track: track::RED_BULL_RING.key.to_string(),
            sim_laps: None,
            sim_practice_laps: 0,
            sim_qualify_laps: 0,
            sim_mistakes: false,
            spotter: false,
        }
    }
}

/// The simulator configuration the options describe.
pub fn sim_config(seed: u64, opts: &SourceOptions) -> Result<SimConfig, SourceError> {
    let t = track::find(&opts.sim_track).ok_or_else(|| {
        let known: Vec<&str> = track::TRACKS.iter().map(|t| t.key).collect();
        SourceError::Invalid(format!("unknown track `{}` (known: {})", opts.sim_track, known.join(", ")))
    })?;
    let mut cfg = SimConfig::new(seed, t);
    cfg.session_laps = opts.sim_laps;
    cfg.practice_laps = opts.sim_practice_laps;
    cfg.qualify_laps = opts.sim_qualify_laps;
    if opts.sim_mistakes {
        cfg = cfg.with_planted_mistakes(opts.sim_laps.map_or(60, |l| l as i32));
    }
    Ok(cfg)
}

/// Opens the source `spec` names.
pub fn open_source(spec: &SourceSpec, opts: &SourceOptions) -> Result<Box<dyn TelemetrySource>, SourceError> {
    let mut live = LiveOptions::new(&opts.driver_id);
    live.standings_hz = opts.standings_hz;
    live.spotter = opts.spotter;
    Ok(match spec {
        SourceSpec::Iracing => Box::new(LiveSource::iracing(live)?),
        SourceSpec::Dump(p) => Box::new(LiveSource::dump(p, live)?),
        SourceSpec::Ibt(p) => {
            let mut r = ReplayOptions::new(&opts.driver_id);
            r.pace = opts.pace;
            r.looping = opts.looping;
            r.standings_hz = opts.standings_hz;
            Box::new(ReplaySource::open(p, r)?)
        }
        SourceSpec::Sim { seed } => {
            let speed = match opts.pace {
                Pace::RealTime => 1.0,
                Pace::Factor(f) => f,
                Pace::AsFastAsPossible => 1_000.0,
            };
            Box::new(SimSource::start(sim_config(*seed, opts)?, LivePace { speed }, live)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!("iracing".parse::<SourceSpec>().unwrap(), SourceSpec::Iracing);
        assert_eq!("sim".parse::<SourceSpec>().unwrap(), SourceSpec::Sim { seed: 1 });
        assert_eq!("sim:42".parse::<SourceSpec>().unwrap(), SourceSpec::Sim { seed: 42 });
        assert_eq!("ibt:C:\\a b.ibt".parse::<SourceSpec>().unwrap(), SourceSpec::Ibt("C:\\a b.ibt".into()));
        for bad in ["", "sim:x", "ibt:", "foo", "iracing:1"] {
            assert!(bad.parse::<SourceSpec>().is_err(), "{bad}");
        }
        assert_eq!(SourceSpec::Sim { seed: 5 }.to_string(), "sim:5");
    }
}
