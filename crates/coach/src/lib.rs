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
//! - a simulator of laps with planted faults for tests and benchmarks ([`synth`]), and the same
//!   faults planted on a recorded lap ([`planted`]).
//!
//! - `POST /api/coaching/analyze` as a function ([`analyze_request`]), live mode ([`LiveCoach`]),
//!   words and `ai_coaching` messages ([`coaching`]), language-model phrasing with a checked
//!   answer and a fallback ([`llm`]);
//! - the `pitbox coach analyze` and `pitbox bench coach` commands as library code ([`cli`]) with
//!   the SVG plot ([`plot`]).
//!
//! Entry points for the binary and the cloud: [`cli::CoachArgs`] + [`cli::run`], [`cli::bench`],
//! [`analyze_request`] (errors: [`AnalyzeError`], HTTP 400 naming the field), [`LiveCoach::push`],
//! [`llm::phrase_or_fallback`]. Metrics and thresholds: `docs/coaching.md`.
//!
//! File I/O only in [`ibt`] and [`cli`]; network only in [`llm::OpenAiClient`].

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
pub mod planted;
pub mod plot;
pub mod sample;
pub mod synth;
pub mod trace;

pub use analysis::{AnalysisOptions, CoachError, Reference, SessionAnalysis, Stream, analyze, compare_laps};
pub use api::{AnalyzeError, analyze_request};
pub use live::{Cue, LiveCoach, LiveConfig, LiveEvent};
pub use sample::Sample;
