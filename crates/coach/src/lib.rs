//! # pitbox-coach — PitBox's coaching engine
//!
//! This crate owns lap analysis and coaching, and nothing else:
//!
//! - the engine's input sample and its conversions from the wire model ([`sample`]);
//! - laps from a sample stream: boundaries with interpolated crossing times, in/out laps,
//!   invalid laps, sector times ([`laps`]);
//! - distance alignment on a fixed lap-distance grid and the delta-time trace ([`trace`]);
//! - corners found from the data, with stable ids, and per-corner metrics ([`corners`]);
//! - a lap against a reference: segment deltas that add up to the lap delta, per-corner and
//!   per-straight evidence ([`compare`]); findings ranked by time at stake ([`findings`]);
//! - the whole-stream analysis: consistency, fuel, tyres, confidence ([`analysis`]);
//! - a simulator of laps with planted faults for tests and benchmarks ([`synth`]).
//!
//! It does no network or file I/O of its own except where a module says so.

// Grid code walks several parallel channels by index; iterator zips of five arrays read worse.
#![allow(clippy::needless_range_loop)]

pub mod analysis;
pub mod api;
pub mod cli;
pub mod coaching;
pub mod compare;
pub mod corners;
pub mod findings;
pub mod ibt;
pub mod laps;
pub mod live;
pub mod llm;
pub mod plot;
pub mod sample;
pub mod synth;
pub mod trace;

pub use analysis::{AnalysisOptions, CoachError, Reference, SessionAnalysis, Stream, analyze};
pub use api::{AnalyzeError, analyze_request};
pub use live::{Cue, LiveCoach, LiveConfig, LiveEvent};
pub use sample::Sample;
