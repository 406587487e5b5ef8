//! Cues before the corner: `pitbox-coach`'s live analysis ([`LiveCoach`]) running in the agent
//! on sim time. The reference is the driver's best valid lap of this session (never an out, in
//! or pit lap: the coach's own choice); after a lap that lost time at a corner, the next lap gets
//! a short cue before that corner naming what to change ("T1: brake 20 metres later"), at most
//! one per corner per lap. None while the spotter is busy (a car alongside, or a spotter call in
//! the last seconds) or off pace (pit road, an in or out lap, a caution flag): those are logged
//! as withheld. Cues are normal-priority callouts, below every spotter call, and expire before
//! the braking point they are about.
//!
//! The coach runs on a thread of its own ([`CueFeed`]): the source thread hands it each sample
//! without waiting, so the lap-end analysis never delays the sim reader or the spotter.

use super::log::{CueRecord, push_cue};
use super::{CalloutOrigin, CalloutState, Job, SpotterLink, Worker};
use pitbox_coach::laps::PIT_EXIT_BEFORE_LINE;
use pitbox_coach::{Cue, LiveCoach, LiveConfig, LiveEvent, Reference, Sample};
use pitbox_model::Priority;
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_voice::Callout;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How the coach names the driver's own best lap (its reference until the pit wall chooses).
const OWN_BEST: &str = "your best lap";

/// Samples waiting for the cue thread at most (a minute at 60 Hz): beyond that they are dropped
/// rather than making the source thread wait.
const QUEUE: usize = 3_600;

/// The coach's settings in the agent: corners that cost at least 0.1 s, three at most a lap.
pub fn cue_config() -> LiveConfig {
    LiveConfig { min_cue_s: 0.1, max_cues: 3, ..LiveConfig::default() }
}

/// Whether the session flags show a caution (full-course or local yellow, red).
pub fn is_caution(flags: u32) -> bool {
    flags & pitbox_model::telemetry::ANY_CAUTION_FLAGS != 0
}

/// What the cue judge reports to the voice.
#[derive(Debug, Clone, PartialEq)]
pub enum CueReport {
    /// A new reference lap: the driver's best ("your best lap") or the pit wall's choice.
    Reference { lap: i32, time_s: f64, name: String },
    /// What became of the pit wall's choice of reference (loaded, refused, back to own laps).
    Chosen(String),
    /// A cue to say now.
    Cue(Cue),
    /// A cue not said, and why.
    Withheld { cue: Cue, why: &'static str },
}

/// Off pace: pit road now, an in or out lap (pit road seen this lap, or left less than
/// [`PIT_EXIT_BEFORE_LINE`] of a lap before the line, as the coach's lap cutter has it).
#[derive(Debug, Default)]
struct PaceGate {
    lap: Option<i32>,
    pit_this_lap: bool,
    last_pit_pct: Option<f64>,
    out_lap: bool,
}

impl PaceGate {
    fn observe(&mut self, s: &Sample) -> Option<&'static str> {
        if self.lap != Some(s.lap) {
            if self.lap.is_some() {
                self.out_lap = self.last_pit_pct.is_some_and(|p| p >= 1.0 - PIT_EXIT_BEFORE_LINE);
            } else {
                // Joined mid-lap: how the lap began is unknown.
                self.out_lap = true;
            }
            self.lap = Some(s.lap);
            self.pit_this_lap = false;
            self.last_pit_pct = None;
        }
        if s.on_pit_road {
            self.pit_this_lap = true;
            self.last_pit_pct = Some(s.lap_pct);
            return Some("on pit road");
        }
        if self.pit_this_lap {
            return Some("an in or out lap");
        }
        self.out_lap.then_some("an out lap")
    }
}

/// The live coach with the agent's gates: feed it every sample, say what it returns.
#[derive(Debug)]
pub struct CueJudge {
    coach: LiveCoach,
    gate: PaceGate,
    reference: Option<(String, i32)>,
}

/// The pit wall's choice of reference lap, for the cue thread (`cue_reference`).
#[derive(Debug)]
pub enum CuePin {
    /// Judge and cue against this lap of the team's history from the next lap on.
    Set(Box<Reference>),
    /// Back to the driver's own best valid lap.
    Clear,
    /// The choice could not be loaded (the reason, for the status).
    Failed(String),
}

impl Default for CueJudge {
    fn default() -> Self {
        CueJudge::new(cue_config())
    }
}

impl CueJudge {
    pub fn new(cfg: LiveConfig) -> CueJudge {
        CueJudge { coach: LiveCoach::new(cfg), gate: PaceGate::default(), reference: None }
    }

    /// One sample with the traffic (spotter busy) and caution state of its tick. Samples
    /// without the sim's clock (`sessionTime`) are skipped: cues run on sim time only.
    pub fn push(&mut self, u: &TelemetryUpdate, traffic: bool, caution: bool) -> Vec<CueReport> {
        let Some(time) = u.session_time.filter(|t| t.is_finite()) else { return Vec::new() };
        let s = Sample::from_update(u, time);
        let off_pace = self.gate.observe(&s);
        let mut out = Vec::new();
        for e in self.coach.push(&s) {
            let LiveEvent::Cue(cue) = e else { continue };
            let why = if traffic {
                Some("traffic (the spotter is busy)")
            } else if caution {
                Some("a caution")
            } else {
                off_pace
            };
            out.push(match why {
                Some(why) => CueReport::Withheld { cue, why },
                None => CueReport::Cue(cue),
            });
        }
        if let Some(e) = self.coach.take_pin_refusal() {
            out.insert(
                0,
                CueReport::Chosen(format!(
                    "the pit wall's lap was dropped ({e}); cues are back on the driver's own best lap"
                )),
            );
        }
        if let Some(r) = self.reference_changed() {
            out.insert(0, r);
        }
        out
    }

    /// The reference when it is not the one last reported.
    fn reference_changed(&mut self) -> Option<CueReport> {
        let r = self.coach.reference()?;
        let key = (r.name.clone(), r.lap_number);
        if self.reference.as_ref() == Some(&key) {
            return None;
        }
        self.reference = Some(key);
        Some(CueReport::Reference { lap: r.lap_number, time_s: r.lap_time, name: r.name.clone() })
    }

    /// The pit wall's choice: what to report (the choice's fate, and the new reference).
    pub fn pin(&mut self, pin: CuePin) -> Vec<CueReport> {
        let chosen = match pin {
            CuePin::Set(r) => {
                let what = format!("{}, {:.3} s", r.name, r.lap_time);
                match self.coach.pin_reference(Some(*r)) {
                    Ok(()) => format!("{what}: chosen by the pit wall, used from the next lap"),
                    Err(e) => format!("{what}: refused ({e}); cues stay on the driver's own best lap"),
                }
            }
            CuePin::Clear => match self.coach.pin_reference(None) {
                Ok(()) => "none: the driver's own best lap".to_string(),
                Err(e) => format!("could not go back to the driver's own best lap: {e}"),
            },
            CuePin::Failed(why) => why,
        };
        let mut out = vec![CueReport::Chosen(chosen)];
        out.extend(self.reference_changed());
        out
    }
}

struct CueInput {
    update: TelemetryUpdate,
    traffic: bool,
    caution: bool,
    at: Instant,
}

/// Hands the pit wall's choice of reference to the cue thread (from any thread or task).
#[derive(Debug, Clone)]
pub struct CuePinner(mpsc::Sender<CuePin>);

impl CuePinner {
    /// Sends `pin`; false when the cue thread has ended.
    pub fn send(&self, pin: CuePin) -> bool {
        self.0.send(pin).is_ok()
    }
}

/// The source thread's end: hands samples to the cue thread without waiting.
pub struct CueFeed {
    tx: mpsc::SyncSender<CueInput>,
    pins: mpsc::Sender<CuePin>,
    /// Samples dropped because the cue thread fell behind.
    pub dropped: u64,
}

impl CueFeed {
    /// Starts the cue thread; its reports go to the voice thread once `link` is set. It ends
    /// when the feed is dropped (the source thread ended).
    pub fn start(link: SpotterLink) -> std::io::Result<CueFeed> {
        let (tx, rx) = mpsc::sync_channel::<CueInput>(QUEUE);
        let (pins, pin_rx) = mpsc::channel::<CuePin>();
        std::thread::Builder::new().name("pitbox-driver-cues".into()).spawn(move || {
            let mut judge = CueJudge::default();
            let report = |report: CueReport, at: Instant| {
                if let Some(tx) = link.get() {
                    let _ = tx.0.send(Job::Cue { report, at });
                }
            };
            // A choice is applied before the next sample: with no samples there is no lap to
            // judge, so nothing waits on it.
            while let Ok(input) = rx.recv() {
                while let Ok(pin) = pin_rx.try_recv() {
                    for r in judge.pin(pin) {
                        report(r, Instant::now());
                    }
                }
                for r in judge.push(&input.update, input.traffic, input.caution) {
                    report(r, input.at);
                }
            }
        })?;
        Ok(CueFeed { tx, pins, dropped: 0 })
    }

    /// Where the pit wall's choice of reference goes.
    pub fn pinner(&self) -> CuePinner {
        CuePinner(self.pins.clone())
    }

    /// One sample, with whether the spotter is busy and a caution is out at its tick.
    pub fn sample(&mut self, u: &TelemetryUpdate, traffic: bool, caution: bool) {
        let input = CueInput { update: u.clone(), traffic, caution, at: Instant::now() };
        if self.tx.try_send(input).is_err() {
            self.dropped += 1;
        }
    }
}

/// How long a cue stays worth saying: it must start before the braking point it is about
/// (assuming the sim runs in real time), and never later than 3 s.
fn max_age(cue: &Cue) -> Duration {
    let s = if cue.before_braking_s.is_finite() { cue.before_braking_s * 0.8 } else { 1.0 };
    Duration::from_secs_f64(s.clamp(0.5, 3.0))
}

impl Worker {
    /// A report of the cue thread (`at`: when the sample that made it was read).
    pub(super) fn cue(&mut self, report: CueReport, at: Instant) {
        if !self.settings.cues {
            return;
        }
        match report {
            CueReport::Reference { lap, time_s, name } => {
                let what = if name == OWN_BEST {
                    format!("lap {lap}, {time_s:.3} s")
                } else {
                    format!("{name}, {time_s:.3} s")
                };
                self.set_status(|s| s.cues.reference = Some(what));
            }
            CueReport::Chosen(what) => {
                tracing::info!("cue reference: {what}");
                self.set_status(|s| s.cues.chosen = Some(what));
            }
            CueReport::Withheld { cue, why } => {
                tracing::info!("cue withheld ({why}): {}", cue.text);
                self.set_status(|s| {
                    s.cues.withheld += 1;
                    push_cue(&mut s.cues.recent, CueRecord::new(&cue, 0, CalloutState::Dropped, Some(why.into())));
                });
            }
            CueReport::Cue(cue) => {
                let callout = Callout::new(cue.text.clone(), Priority::Normal, at).max_age(max_age(&cue)).topic("cue");
                let held = if self.enabled() {
                    self.car_callouts_held().map(|h| format!("not spoken: {}", h.describe()))
                } else {
                    Some("not spoken: the voice is off".to_string())
                };
                let id = self.say(CalloutOrigin::Cue, callout);
                let (state, why) = match (id, held) {
                    (Some(_), _) => (CalloutState::Queued, None),
                    (None, Some(h)) => (CalloutState::Dropped, Some(h)),
                    (None, None) => (CalloutState::TextOnly, Some(self.status().speech)),
                };
                self.set_status(|s| {
                    s.cues.issued += 1;
                    push_cue(&mut s.cues.recent, CueRecord::new(&cue, id.unwrap_or(0), state, why));
                });
            }
        }
    }

    /// A callout's radio event: when it is a cue, its record follows (where the car was when
    /// its audio started, for "before the corner").
    pub(super) fn cue_event(&mut self, id: u64, state: CalloutState) {
        if id == 0 {
            return;
        }
        let at_m = self.shared.telemetry.borrow().as_ref().and_then(|t| t.lap_distance);
        self.set_status(|s| {
            let Some(r) = s.cues.recent.iter_mut().rev().find(|r| r.id == id) else { return };
            r.state = state;
            if state == CalloutState::Speaking {
                r.spoken_at_m = at_m;
                s.cues.spoken += 1;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(lap: i32, pct: f64, pit: bool) -> Sample {
        Sample { lap, lap_pct: pct, on_pit_road: pit, ..Sample::default() }
    }

    #[test]
    fn off_pace_on_pit_road_in_and_out_laps_and_until_a_whole_lap_is_seen() {
        let mut g = PaceGate::default();
        // Joined mid-lap.
        assert_eq!(g.observe(&sample(1, 0.5, false)), Some("an out lap"));
        // A flying lap.
        assert_eq!(g.observe(&sample(2, 0.01, false)), None);
        assert_eq!(g.observe(&sample(2, 0.9, false)), None);
        // Pit entry: the rest of the in lap.
        assert_eq!(g.observe(&sample(2, 0.95, true)), Some("on pit road"));
        assert_eq!(g.observe(&sample(2, 0.97, false)), Some("an in or out lap"));
        // Left pit road just before the line: the next lap is an out lap.
        assert_eq!(g.observe(&sample(2, 0.98, true)), Some("on pit road"));
        assert_eq!(g.observe(&sample(3, 0.02, false)), Some("an out lap"));
        assert_eq!(g.observe(&sample(3, 0.6, false)), Some("an out lap"));
        // The lap after it is on pace.
        assert_eq!(g.observe(&sample(4, 0.01, false)), None);
    }

    /// A sample as the live source sends it.
    fn update(s: &Sample) -> TelemetryUpdate {
        let mut u: TelemetryUpdate = serde_json::from_value(serde_json::json!({
            "driverId": "d", "timestamp": "2026-12-06T12:00:00Z", "speed": s.speed * 3.6, "rpm": s.rpm,
            "gear": s.gear, "throttle": s.throttle * 100.0, "brake": s.brake * 100.0,
            "steeringAngle": s.steering_deg, "latitude": null, "longitude": null,
            "trackPosition": s.lap_pct, "lap": s.lap, "sector": 1, "fuelLevel": 50.0,
            "tireWear": {"frontLeft": 0.0, "frontRight": 0.0, "rearLeft": 0.0, "rearRight": 0.0}
        }))
        .expect("a sample");
        u.session_time = Some(s.time);
        u.lap_distance = s.lap_dist;
        u.on_pit_road = Some(s.on_pit_road);
        u
    }

    #[test]
    fn cues_are_withheld_in_traffic_and_under_a_caution_and_need_sim_time() {
        use pitbox_coach::synth::{Fault, SynthTrack, stream};
        let track = SynthTrack::club();
        let clean = track.lap(&[]);
        let early = track.lap(&[Fault::EarlyBrake { corner: 2, metres: 20.0 }]);
        // 1 reference, 2 early into T3, 3 (cue T3), 4 early, 5 (cue T3 under a caution),
        // 6 early, 7 (cue T3 in traffic).
        let laps = [clean.clone(), early.clone(), clean.clone(), early.clone(), clean.clone(), early, clean];
        let s = stream(&laps, 60.0, 1, 2.0, 2.0, 0.4).samples;
        let mut judge = CueJudge::default();
        let mut got = Vec::new();
        for x in &s {
            got.extend(judge.push(&update(x), x.lap == 7, x.lap == 5));
        }
        let summary: Vec<(i32, &str, Option<&str>)> = got
            .iter()
            .filter_map(|r| match r {
                CueReport::Cue(c) => Some((c.lap, c.text.as_str(), None)),
                CueReport::Withheld { cue, why } => Some((cue.lap, cue.text.as_str(), Some(*why))),
                CueReport::Reference { .. } | CueReport::Chosen(_) => None,
            })
            .collect();
        assert_eq!(
            summary,
            [
                (3, "T3: brake 20 metres later", None),
                (5, "T3: brake 20 metres later", Some("a caution")),
                (7, "T3: brake 20 metres later", Some("traffic (the spotter is busy)")),
            ],
            "{got:#?}"
        );
        assert!(matches!(got[0], CueReport::Reference { lap: 1, .. }), "{got:#?}");
        // Without the sim's clock nothing is judged.
        let mut judge = CueJudge::default();
        let none: usize = s
            .iter()
            .map(|x| {
                let mut u = update(x);
                u.session_time = None;
                judge.push(&u, false, false).len()
            })
            .sum();
        assert_eq!(none, 0);
    }

    #[test]
    fn a_chosen_lap_of_another_track_is_refused_and_clearing_goes_back_to_the_own_best_lap() {
        use pitbox_coach::synth::{SynthTrack, stream};
        use pitbox_coach::{AnalysisOptions, Stream};
        let club = SynthTrack::club();
        let s = stream(&[club.lap(&[]), club.lap(&[])], 60.0, 1, 2.0, 2.0, 0.4).samples;
        let mut judge = CueJudge::default();
        for x in &s {
            judge.push(&update(x), false, false);
        }
        let reference_of = |t: &SynthTrack, name: &str| {
            let st = Stream::new(stream(&[t.lap(&[])], 60.0, 1, 1.0, 1.0, 0.0).samples, &AnalysisOptions::default())
                .expect("stream");
            st.reference(None, AnalysisOptions::default().step_m, name).expect("reference")
        };
        let got = judge.pin(CuePin::Set(Box::new(reference_of(&SynthTrack::long(), "lap 9 at the long track"))));
        assert!(
            matches!(&got[..], [CueReport::Chosen(c)] if c.starts_with("lap 9 at the long track") && c.contains("refused")),
            "{got:?}"
        );
        let got = judge.pin(CuePin::Set(Box::new(reference_of(&club, "lap 3 of sam"))));
        assert!(matches!(&got[0], CueReport::Chosen(c) if c.contains("chosen by the pit wall")), "{got:?}");
        assert!(matches!(&got[1], CueReport::Reference { name, .. } if name == "lap 3 of sam"), "{got:?}");
        let got = judge.pin(CuePin::Clear);
        assert!(matches!(&got[1], CueReport::Reference { name, .. } if name == OWN_BEST), "{got:?}");
    }

    #[test]
    fn caution_flags() {
        assert!(!is_caution(0x0004)); // green
        assert!(!is_caution(0x0001)); // checkered
        assert!(is_caution(0x4000)); // caution
        assert!(is_caution(0x0008)); // yellow
    }
}
