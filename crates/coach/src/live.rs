//! Live mode: a state machine fed one sample at a time.
//!
//! After every completed lap it emits an `ai_coaching` message (priority by the time at stake).
//! The first valid lap becomes the reference; a faster valid lap replaces it (its corners keep
//! their ids by distance). During a lap it issues at most one short cue per corner, for the
//! corners that cost the most time (at least [`LiveConfig::min_cue_s`]) on the last lap, unless
//! that was an in or out lap (pit road says nothing about the corners): when the car comes within
//! [`LiveConfig::lead_m`] of the reference braking point, never closer than
//! [`LiveConfig::min_lead_m`] and never inside the corner; a cue is never repeated on the next
//! lap with the same words.

use std::collections::{HashMap, HashSet};

use pitbox_model::coaching::AiCoaching;
use serde::{Deserialize, Serialize};

use crate::analysis::{AnalysisOptions, CoachError, Reference};
use crate::coaching::{SkillLevel, ai_coaching, feedback, lap_time, priority, telemetry_analysis};
use crate::compare::compare;
use crate::findings::{Finding, FindingKind, findings};
use crate::laps::{Lap, estimate_track_length, split_laps};
use crate::sample::Sample;
use crate::trace::{grid_points, resample};

/// Live-mode settings.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// A cue is issued when the car comes this close to the braking point, metres.
    pub lead_m: f64,
    /// No cue closer than this to the braking point (too late to act on), metres.
    pub min_lead_m: f64,
    /// Most corners cued per lap.
    pub max_cues: usize,
    /// Only corners that cost at least this much on the last lap are cued, seconds.
    pub min_cue_s: f64,
    pub driver_id: Option<String>,
    pub skill: SkillLevel,
    pub options: AnalysisOptions,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            lead_m: 150.0,
            min_lead_m: 40.0,
            max_cues: 3,
            min_cue_s: crate::findings::MIN_FINDING_S,
            driver_id: None,
            skill: SkillLevel::Intermediate,
            options: AnalysisOptions::default(),
        }
    }
}

/// A short spoken cue before a corner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cue {
    /// Lap counter when issued.
    pub lap: i32,
    pub corner: String,
    pub text: String,
    /// Where the car was, metres from the line.
    pub at_m: f64,
    /// How far the reference braking point still was, metres.
    pub before_braking_m: f64,
    /// How long the reference lap takes from here to that braking point, seconds.
    pub before_braking_s: f64,
}

/// What the live coach says.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    Cue(Cue),
    Coaching(Box<AiCoaching>),
}

#[derive(Debug, Clone)]
struct Armed {
    corner: String,
    entry_m: f64,
    exit_m: f64,
    text: String,
}

/// A lap that has crossed the line and waits for iRacing's `LapLastLapTime` to settle, so the
/// coach speaks of the lap time the sim gave it (the one stored and shown everywhere).
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// Index in `buf` of the sample after the crossing (the next lap's first).
    next_start: usize,
    crossed_at: f64,
    /// `LapLastLapTime` just before the crossing: a change means iRacing has timed the lap.
    last_before: Option<f64>,
}

/// Longest wait for iRacing's lap time after the crossing, sim seconds (it updates 5–111 ticks
/// after the counter changes; after this the interpolated crossing time is used).
pub const SETTLE_WAIT_S: f64 = 2.0;

/// The live coach.
#[derive(Debug)]
pub struct LiveCoach {
    cfg: LiveConfig,
    buf: Vec<Sample>,
    /// Index in `buf` of the sample that started the lap now running: at the next line the
    /// buffer keeps that lap, so the next lap is judged with how it began (an out lap starts
    /// on pit road before the line, and is never a reference).
    lap_start: usize,
    pending: Option<Pending>,
    prev_pct: Option<f64>,
    prev_time: f64,
    wraps: f64,
    next_line: f64,
    length_m: Option<f64>,
    reference: Option<Reference>,
    /// A reference chosen for the driver (a lap of the team's history): used instead of
    /// `reference`, which still follows the driver's own best lap for when it is unpinned.
    pinned: Option<Reference>,
    /// Why a pinned reference was dropped at a lap's end (another track), until taken.
    pin_refused: Option<CoachError>,
    armed: Vec<Armed>,
    lap_seq: u64,
    issued: HashSet<(String, u64)>,
    last_words: HashMap<String, (String, u64)>,
    fuel_used: Vec<f64>,
}

/// Samples kept at most while waiting for a line crossing (an hour at 60 Hz).
const MAX_BUFFER: usize = 216_000;

impl LiveCoach {
    pub fn new(cfg: LiveConfig) -> LiveCoach {
        let length_m = cfg.options.track_length_m;
        LiveCoach {
            cfg,
            buf: Vec::new(),
            lap_start: 0,
            pending: None,
            prev_pct: None,
            prev_time: 0.0,
            wraps: 0.0,
            next_line: 0.0,
            length_m,
            reference: None,
            pinned: None,
            pin_refused: None,
            armed: Vec::new(),
            lap_seq: 0,
            issued: HashSet::new(),
            last_words: HashMap::new(),
            fuel_used: Vec::new(),
        }
    }

    /// A coach that compares with a given reference from the first lap on.
    pub fn with_reference(cfg: LiveConfig, reference: Reference) -> LiveCoach {
        let mut c = LiveCoach::new(cfg);
        c.length_m = Some(reference.trace.length_m);
        c.reference = Some(reference);
        c
    }

    /// The current reference lap: the pinned one, else the driver's best valid lap.
    pub fn reference(&self) -> Option<&Reference> {
        self.pinned.as_ref().or(self.reference.as_ref())
    }

    /// Compares with `reference` from the next lap on, whatever the driver's own laps do;
    /// `None` goes back to the driver's best valid lap. A reference of another track length
    /// (more than 5 % off the lap distance seen here, as [`crate::analyze`] allows) is refused and
    /// nothing changes; before the track's length is known, the check is made at the end of the
    /// next lap, and a refused reference is dropped then ([`LiveCoach::take_pin_refusal`]).
    pub fn pin_reference(&mut self, reference: Option<Reference>) -> Result<(), CoachError> {
        if let Some(r) = &reference {
            if r.trace.len() < 2 || !r.trace.length_m.is_finite() || r.trace.length_m <= 0.0 {
                return Err(CoachError::NoCompleteLap);
            }
            if let Some(len) = self.length_m
                && (r.trace.length_m - len).abs() > 0.05 * r.trace.length_m
            {
                return Err(CoachError::TrackMismatch { length_m: len, reference_m: r.trace.length_m });
            }
        }
        // Cues armed against the old reference name its corners: they go with it.
        self.armed.clear();
        self.pinned = reference;
        Ok(())
    }

    /// Why the pinned reference was dropped at the end of a lap (its track length is not this
    /// track's), once.
    pub fn take_pin_refusal(&mut self) -> Option<CoachError> {
        self.pin_refused.take()
    }

    fn break_run(&mut self, out: &mut Vec<LiveEvent>) {
        self.flush_into(out);
        self.buf.clear();
        self.lap_start = 0;
        self.prev_pct = None;
    }

    /// Judges a lap still waiting for iRacing's lap time now (the stream has ended or paused).
    pub fn flush(&mut self) -> Vec<LiveEvent> {
        let mut out = Vec::new();
        self.flush_into(&mut out);
        out
    }

    fn flush_into(&mut self, out: &mut Vec<LiveEvent>) {
        let Some(p) = self.pending.take() else { return };
        if let Some(c) = self.lap_done() {
            out.push(LiveEvent::Coaching(Box::new(c)));
        }
        // Keep the lap just judged (and two samples before it): the lap after it is cut and
        // judged with it, as the CLI sees a whole file.
        let keep_from = self.lap_start.saturating_sub(2).min(p.next_start.saturating_sub(2));
        self.buf.drain(..keep_from);
        self.lap_start = p.next_start - keep_from;
    }

    /// Feeds one sample; returns what to say now.
    pub fn push(&mut self, s: &Sample) -> Vec<LiveEvent> {
        let mut out = Vec::new();
        if s.blank || !s.time.is_finite() || !s.lap_pct.is_finite() || !s.speed.is_finite() || s.lap_pct.abs() >= 1.5 {
            self.break_run(&mut out);
            return out;
        }
        let Some(pp) = self.prev_pct else {
            self.wraps = 0.0;
            self.next_line = s.lap_pct.floor() + 1.0;
            self.prev_pct = Some(s.lap_pct);
            self.prev_time = s.time;
            self.buf.push(*s);
            return out;
        };
        let dt = s.time - self.prev_time;
        if !(dt >= 0.0 && dt <= self.cfg.options.laps.max_gap_s) {
            self.break_run(&mut out);
            out.extend(self.push(s));
            return out;
        }
        let d = s.lap_pct - pp;
        if d < -0.5 {
            self.wraps += 1.0;
        } else if d > 0.5 {
            self.wraps -= 1.0;
        }
        let u = self.wraps + s.lap_pct;
        self.prev_pct = Some(s.lap_pct);
        self.prev_time = s.time;
        if self.buf.len() >= MAX_BUFFER {
            self.buf.clear();
            self.lap_start = 0;
            self.pending = None;
        }
        let last_before = self.buf.last().and_then(|p| p.last_lap_time);
        self.buf.push(*s);
        if let Some(p) = self.pending
            && (s.last_lap_time.is_none()
                || s.last_lap_time.map(f64::to_bits) != p.last_before.map(f64::to_bits)
                || s.time - p.crossed_at > SETTLE_WAIT_S)
        {
            self.flush_into(&mut out);
        }
        if u >= self.next_line {
            self.next_line = u.floor() + 1.0;
            self.flush_into(&mut out);
            self.lap_seq += 1;
            self.pending =
                Some(Pending { next_start: self.buf.len().saturating_sub(1), crossed_at: s.time, last_before });
            if s.last_lap_time.is_none() || s.last_lap_time.map(f64::to_bits) != last_before.map(f64::to_bits) {
                // No lap-time channel, or iRacing timed the lap on the crossing sample itself.
                self.flush_into(&mut out);
            }
        }
        if let Some(cue) = self.cue(s) {
            out.push(LiveEvent::Cue(cue));
        }
        out
    }

    fn cue(&mut self, s: &Sample) -> Option<Cue> {
        let len = self.length_m?;
        let d = s.lap_pct.rem_euclid(1.0) * len;
        for a in &self.armed {
            if d >= a.entry_m && d <= a.exit_m {
                continue; // inside the corner: never
            }
            let ahead = (a.entry_m - d).rem_euclid(len);
            if ahead > self.cfg.lead_m || ahead < self.cfg.min_lead_m {
                continue;
            }
            // Which lap's braking point this is (the next lap's when it lies past the line).
            let target = self.lap_seq + u64::from(a.entry_m < d);
            let key = (a.corner.clone(), target);
            if self.issued.contains(&key) {
                continue;
            }
            self.issued.insert(key);
            if self.last_words.get(&a.corner).is_some_and(|(w, seq)| *w == a.text && seq + 1 == target) {
                continue; // the same words on the previous lap: do not nag
            }
            self.last_words.insert(a.corner.clone(), (a.text.clone(), target));
            let before_braking_s = self.reference.as_ref().map_or(f64::NAN, |r| {
                let t = &r.trace;
                let (here, there) = (t.time[t.index_at(d)], t.time[t.index_at(a.entry_m)]);
                if there >= here { there - here } else { there + t.lap_time() - here }
            });
            return Some(Cue {
                lap: s.lap,
                corner: a.corner.clone(),
                text: a.text.clone(),
                at_m: d,
                before_braking_m: ahead,
                before_braking_s,
            });
        }
        None
    }

    fn lap_done(&mut self) -> Option<AiCoaching> {
        let laps = split_laps(&self.buf, &self.cfg.options.laps);
        let lap: Lap = laps.laps.iter().rev().find(|l| l.complete)?.clone();
        if self.length_m.is_none() {
            self.length_m = estimate_track_length(&self.buf, &laps);
        }
        let len = self.length_m?;
        if let Some(p) = &self.pinned
            && (p.trace.length_m - len).abs() > 0.05 * p.trace.length_m
        {
            self.pin_refused = Some(CoachError::TrackMismatch { length_m: len, reference_m: p.trace.length_m });
            self.pinned = None;
            self.armed.clear();
        }
        if let Some(f) = lap.fuel_used.filter(|f| *f > 0.0 && !lap.in_lap && !lap.out_lap) {
            self.fuel_used.push(f);
        }
        let fuel_left = self.buf.last().and_then(Sample::fuel);
        let laps_left = match (fuel_left, self.fuel_used.is_empty()) {
            (Some(f), false) => Some(f / (self.fuel_used.iter().sum::<f64>() / self.fuel_used.len() as f64)),
            _ => None,
        };
        let n = self
            .pinned
            .as_ref()
            .or(self.reference.as_ref())
            .map_or_else(|| grid_points(len, self.cfg.options.step_m), |r| r.trace.len());
        let trace = resample(&self.buf, &laps, &lap, n, len)?;
        let number = u32::try_from(lap.number).ok();
        let invalid = if lap.is_valid() {
            String::new()
        } else {
            format!(" (invalid: {})", lap.invalid.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))
        };
        // Pinned: the driver's own best lap is still followed silently, for when it is unpinned.
        if let Some(pinned) = &self.pinned
            && lap.is_valid()
            && self.reference.as_ref().is_none_or(|r| lap.time < r.lap_time)
        {
            let mut r = Reference::from_trace("your best lap", lap.number, true, trace.clone());
            r.corners = pinned.corners.match_to(&r.corners, 30.0);
            self.reference = Some(r);
        }
        let Some(reference) = self.pinned.as_ref().or(self.reference.as_ref()) else {
            if !lap.is_valid() {
                return None;
            }
            let r = Reference::from_trace("your best lap", lap.number, true, trace);
            let ids: Vec<&str> = r.corners.corners.iter().map(|c| c.id.as_str()).collect();
            let text = format!(
                "Lap {}: {}. Reference lap set, {} corners found ({}).",
                lap.number,
                lap_time(lap.time),
                ids.len(),
                ids.join(", ")
            );
            self.reference = Some(r);
            return Some(ai_coaching(
                text,
                Default::default(),
                0.5,
                priority(0.0, laps_left),
                self.cfg.driver_id.clone(),
                number,
            ));
        };
        let cmp = compare(&trace, &reference.trace, &reference.corners);
        let found: Vec<Finding> = findings(&cmp, &reference.name);
        let headline = format!(
            "Lap {}: {}{}, {:+.3} s to {}.",
            lap.number,
            lap_time(lap.time),
            invalid,
            cmp.delta_s,
            reference.name
        );
        let text = feedback(&headline, &found, self.cfg.skill);
        let analysis = telemetry_analysis(&found, self.cfg.skill);
        let at_stake = found.iter().map(|f| f.time_s).fold(0.0, f64::max);
        let confidence = if reference.trace.lateral.is_some() { 0.8 } else { 0.65 };
        let msg =
            ai_coaching(text, analysis, confidence, priority(at_stake, laps_left), self.cfg.driver_id.clone(), number);
        // Cues for the next laps: the worst corners of this one. An out or in lap says nothing
        // about the driver's corners (pit exit, pit entry): it arms none and disarms the last.
        let min_cue_s = self.cfg.min_cue_s;
        let judged = if lap.out_lap || lap.in_lap { &[][..] } else { &found[..] };
        self.armed = judged
            .iter()
            .filter(|f| f.time_s > 0.0 && f.time_s >= min_cue_s && f.kind != FindingKind::Gain)
            .filter_map(|f| {
                let id = f.corner.as_ref()?;
                let c = reference.corners.corners.iter().find(|c| &c.id == id)?;
                Some(Armed { corner: id.clone(), entry_m: c.entry_m, exit_m: c.exit_m, text: cue_words(f) })
            })
            .take(self.cfg.max_cues)
            .collect();
        // A faster valid lap becomes the reference; its corners keep their names.
        if self.pinned.is_none() && lap.is_valid() && lap.time < reference.lap_time {
            let mut r = Reference::from_trace(&reference.name, lap.number, true, trace);
            r.corners = reference.corners.match_to(&r.corners, 30.0);
            self.reference = Some(r);
        }
        Some(msg)
    }
}

/// The short words of a cue: what to change at the corner against the reference, with the
/// amount when the evidence has it ("T3: brake 15 metres later", "T2: carry 8 km/h more",
/// "T1: throttle 0.3 seconds earlier").
pub fn cue_words(f: &Finding) -> String {
    use crate::compare::Evidence;
    let id = f.corner.as_deref().unwrap_or("Next corner");
    let find = |pick: fn(&Evidence) -> Option<f64>| f.evidence.iter().find_map(pick);
    let braking = find(|e| match e {
        Evidence::BrakingEarlier { metres } => Some(*metres),
        _ => None,
    });
    let slower = find(|e| match e {
        Evidence::MinSpeedLower { kmh } => Some(*kmh),
        _ => None,
    });
    let throttle = find(|e| match e {
        Evidence::ThrottleLater { seconds, .. } => Some(*seconds),
        _ => None,
    });
    match f.kind {
        FindingKind::EarlyBraking => match braking {
            Some(m) => format!("{id}: brake {m:.0} metres later"),
            None => format!("{id}: brake later"),
        },
        FindingKind::MinSpeed => match slower {
            Some(k) => format!("{id}: carry {k:.0} km/h more"),
            None => format!("{id}: carry more speed"),
        },
        FindingKind::LateThrottle => match throttle {
            Some(t) => format!("{id}: throttle {t:.1} seconds earlier"),
            None => format!("{id}: throttle earlier"),
        },
        FindingKind::OffTrack => format!("{id}: keep it on the track"),
        FindingKind::Coasting => format!("{id}: no coasting"),
        FindingKind::BrakePressure => format!("{id}: brake harder"),
        FindingKind::LateBraking => format!("{id}: brake at your marker"),
        FindingKind::Entry => format!("{id}: clean entry"),
        _ => format!("{id}: focus on the exit"),
    }
}
