//! # pitbox-spotter — the spotter's judgement
//!
//! This crate owns what a spotter says and when: from iRacing's `CarLeftRight` it calls "car
//! left", "car right", "three wide", "clear left", "clear right" and, after a while side by
//! side, "still there"; from `CarIdxLapDistPct` / `CarIdxEstTime` it calls "car behind, closing
//! fast" and, when the session info gives car classes, "faster class behind". Pure logic on sim
//! time: no audio, no I/O, no clock — the driver agent feeds it frames and speaks its calls.
//!
//! Debouncing is what makes a spotter bearable: an overlap must last [`SpotterConfig::confirm_s`]
//! before it is called, a side must stay empty for [`SpotterConfig::clear_s`] before "clear" (a
//! car flickering at the edge of the overlap says nothing new), an overlap that ends before it
//! was called is never cleared aloud, and the closing calls have a cool-down per car.

use pitbox_irsdk::flags::CarLeftRight;
use pitbox_irsdk::session::SessionInfo;

/// What the spotter says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Call {
    CarLeft,
    CarRight,
    ThreeWide,
    ClearLeft,
    ClearRight,
    StillThere,
    CarBehindClosing,
    FasterClassBehind,
}

impl Call {
    /// Every call, for pre-synthesising them at start-up.
    pub const ALL: [Call; 8] = [
        Call::CarLeft,
        Call::CarRight,
        Call::ThreeWide,
        Call::ClearLeft,
        Call::ClearRight,
        Call::StillThere,
        Call::CarBehindClosing,
        Call::FasterClassBehind,
    ];

    /// The words spoken.
    pub fn text(self) -> &'static str {
        match self {
            Call::CarLeft => "car left",
            Call::CarRight => "car right",
            Call::ThreeWide => "three wide",
            Call::ClearLeft => "clear left",
            Call::ClearRight => "clear right",
            Call::StillThere => "still there",
            Call::CarBehindClosing => "car behind, closing fast",
            Call::FasterClassBehind => "faster class behind",
        }
    }

    /// Whether this is a side-by-side call (the most urgent kind: it interrupts anything).
    pub fn is_side(self) -> bool {
        !matches!(self, Call::CarBehindClosing | Call::FasterClassBehind)
    }
}

/// Timings and thresholds; sim seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct SpotterConfig {
    /// Whether the spotter speaks at all.
    pub enabled: bool,
    /// An overlap must last this long before it is called.
    pub confirm_s: f64,
    /// A side must stay empty this long before "clear".
    pub clear_s: f64,
    /// "Still there" after this long side by side since the last side call, then as often.
    pub still_there_s: f64,
    /// A car this close behind (time gap) can be "closing fast".
    pub closing_gap_s: f64,
    /// … when the gap shrinks at least this fast (seconds of gap per second).
    pub closing_rate: f64,
    /// … sustained: every rate window over this long must show it (a car gaining on one
    /// braking zone and losing it on the next straight is not closing).
    pub closing_sustain_s: f64,
    /// Not the same car again for this long.
    pub closing_cooldown_s: f64,
    /// Hysteresis: once called, a car is called again only after it has dropped back to more
    /// than `closing_gap_s` + this (and the cool-down has passed).
    pub closing_rearm_gap_s: f64,
    /// No "car behind" call (any car) sooner than this after the last one.
    pub closing_min_interval_s: f64,
    /// The spotter counts as busy (in traffic) while a side is occupied and for this long after
    /// any call ([`Spotter::busy`]).
    pub busy_after_s: f64,
    /// A faster-class car this close behind is called.
    pub faster_class_gap_s: f64,
    /// A class is "faster" when its estimated lap is at least this fraction quicker.
    pub faster_class_margin: f64,
}

impl Default for SpotterConfig {
    fn default() -> Self {
        SpotterConfig {
            enabled: true,
            confirm_s: 0.1,
            clear_s: 0.4,
            still_there_s: 4.0,
            closing_gap_s: 1.2,
            closing_rate: 0.06,
            closing_sustain_s: 1.5,
            closing_cooldown_s: 20.0,
            closing_rearm_gap_s: 0.5,
            closing_min_interval_s: 10.0,
            busy_after_s: 3.0,
            faster_class_gap_s: 3.0,
            faster_class_margin: 0.02,
        }
    }
}

/// One tick of the sim as the spotter needs it. Arrays are indexed by car index (`CarIdx…`);
/// empty arrays mean the channel is absent (then only the side calls work).
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// `SessionTime`, seconds.
    pub time_s: f64,
    /// `CarLeftRight`, `None` when the channel is absent.
    pub car_left_right: Option<CarLeftRight>,
    /// `PlayerCarIdx`.
    pub player_idx: Option<usize>,
    /// `CarIdxLapDistPct` (negative: not in the world).
    pub lap_dist_pct: &'a [f32],
    /// `CarIdxEstTime`: estimated time to reach the car's place on the lap.
    pub est_time: &'a [f32],
    /// `CarIdxOnPitRoad`.
    pub on_pit_road: &'a [bool],
}

/// Car classes from the session info: class id and estimated lap time per car index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Classes {
    by_car: Vec<Option<(i64, f64)>>,
}

impl Classes {
    /// From the session info's `DriverInfo.Drivers` (pace car and spectators left out).
    pub fn from_session(info: &SessionInfo) -> Classes {
        let mut by_car = Vec::new();
        for d in &info.driver.drivers {
            if d.car_is_pace_car || d.is_spectator {
                continue;
            }
            let (Ok(idx), Some(id), Some(lap)) = (usize::try_from(d.car_idx), d.car_class_id, d.car_class_est_lap_time)
            else {
                continue;
            };
            if idx >= 64 || !lap.is_finite() || lap <= 0.0 {
                continue;
            }
            if by_car.len() <= idx {
                by_car.resize(idx + 1, None);
            }
            by_car[idx] = Some((id, lap));
        }
        Classes { by_car }
    }

    /// A car's class id and estimated lap time.
    pub fn of(&self, car: usize) -> Option<(i64, f64)> {
        self.by_car.get(car).copied().flatten()
    }

    /// Distinct classes.
    pub fn count(&self) -> usize {
        let mut ids: Vec<i64> = self.by_car.iter().flatten().map(|c| c.0).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Side {
    Empty,
    /// Occupied since, not yet called.
    Pending(f64),
    /// Occupied and called.
    Called,
    /// Called, now empty since; back to `Called` if the car returns in time.
    Clearing(f64),
}

#[derive(Debug, Clone, Copy)]
struct Follower {
    /// Start of the window the closing rate is measured over: time and gap.
    window: (f64, f64),
    /// Since when every finished window has shown at least the closing rate.
    closing_since: Option<f64>,
    /// Latest window's rate (seconds of gap gained per second).
    rate: Option<f64>,
}

/// Per car: when it was last called, and whether it may be called again (hysteresis).
#[derive(Debug, Clone, Copy)]
struct Called {
    at: f64,
    rearmed: bool,
}

/// The spotter: feed it every tick, speak what it returns.
#[derive(Debug, Clone)]
pub struct Spotter {
    cfg: SpotterConfig,
    classes: Classes,
    left: Side,
    right: Side,
    three_wide: bool,
    /// Last side call (for "still there").
    last_side_call: f64,
    followers: Vec<Option<Follower>>,
    /// Closing calls per car, kept while the car is out of range (so an overtaken car that
    /// drops back and closes again waits its cool-down).
    called: Vec<Option<Called>>,
    /// Last "car behind" / "faster class" call, any car.
    last_behind_call: f64,
    /// Last call of any kind.
    last_call: f64,
    /// Longest `CarIdxEstTime` seen: the reference lap, for gaps across the line.
    lap_estimate: f64,
}

/// Closing rate is measured over windows this long.
const RATE_WINDOW_S: f64 = 0.5;

impl Spotter {
    pub fn new(cfg: SpotterConfig) -> Spotter {
        Spotter {
            cfg,
            classes: Classes::default(),
            left: Side::Empty,
            right: Side::Empty,
            three_wide: false,
            last_side_call: f64::NEG_INFINITY,
            followers: vec![None; 64],
            called: vec![None; 64],
            last_behind_call: f64::NEG_INFINITY,
            last_call: f64::NEG_INFINITY,
            lap_estimate: 0.0,
        }
    }

    /// Sets the car classes (from the session info; call again when it changes).
    pub fn set_classes(&mut self, classes: Classes) {
        self.classes = classes;
    }

    /// Switches the spotter on or off (off: silent, state forgotten).
    pub fn set_enabled(&mut self, on: bool) {
        self.cfg.enabled = on;
        if !on {
            self.reset();
        }
    }

    pub fn config(&self) -> &SpotterConfig {
        &self.cfg
    }

    fn reset(&mut self) {
        self.left = Side::Empty;
        self.right = Side::Empty;
        self.three_wide = false;
        self.followers.iter_mut().for_each(|f| *f = None);
        self.called.iter_mut().for_each(|f| *f = None);
        self.last_behind_call = f64::NEG_INFINITY;
        self.last_call = f64::NEG_INFINITY;
    }

    /// In traffic at sim time `t`: a car alongside (occupied, being confirmed or being cleared),
    /// or a call made less than [`SpotterConfig::busy_after_s`] ago. The agent gives no driving
    /// cues while this holds. A disabled spotter judges nothing and is never busy.
    pub fn busy(&self, t: f64) -> bool {
        self.left != Side::Empty || self.right != Side::Empty || (t - self.last_call).abs() < self.cfg.busy_after_s
    }

    /// One tick: the calls to make now, most urgent first.
    pub fn update(&mut self, f: &Frame) -> Vec<Call> {
        let mut calls = Vec::new();
        if !self.cfg.enabled || !f.time_s.is_finite() {
            return calls;
        }
        let player_in_pits = f.player_idx.and_then(|p| f.on_pit_road.get(p).copied()).unwrap_or(false);
        let (n_left, n_right) = match f.car_left_right {
            Some(CarLeftRight::Clear) => (0, 0),
            Some(CarLeftRight::CarLeft) => (1, 0),
            Some(CarLeftRight::CarRight) => (0, 1),
            Some(CarLeftRight::CarLeftRight) => (1, 1),
            Some(CarLeftRight::TwoCarsLeft) => (2, 0),
            Some(CarLeftRight::TwoCarsRight) => (0, 2),
            // Off (in the pits, garage, replay), absent or unknown: nothing to spot.
            _ => {
                self.left = Side::Empty;
                self.right = Side::Empty;
                self.three_wide = false;
                (0, 0)
            }
        };
        self.sides(f.time_s, n_left, n_right, &mut calls);
        if !player_in_pits {
            self.behind(f, &mut calls);
        }
        if !calls.is_empty() {
            self.last_call = f.time_s;
        }
        calls
    }

    fn sides(&mut self, t: f64, n_left: u8, n_right: u8, calls: &mut Vec<Call>) {
        let cfg = &self.cfg;
        let step = |side: &mut Side, occupied: bool| -> Option<bool> {
            // Some(true): confirmed now; Some(false): cleared now.
            match (*side, occupied) {
                (Side::Empty, true) => {
                    *side = Side::Pending(t);
                    (cfg.confirm_s <= 0.0).then(|| {
                        *side = Side::Called;
                        true
                    })
                }
                (Side::Pending(since), true) if t - since >= cfg.confirm_s => {
                    *side = Side::Called;
                    Some(true)
                }
                (Side::Pending(_), false) => {
                    *side = Side::Empty;
                    None
                }
                (Side::Called, false) => {
                    *side = Side::Clearing(t);
                    None
                }
                (Side::Clearing(_), true) => {
                    *side = Side::Called;
                    None
                }
                (Side::Clearing(since), false) if t - since >= cfg.clear_s => {
                    *side = Side::Empty;
                    Some(false)
                }
                _ => None,
            }
        };
        let left = step(&mut self.left, n_left > 0);
        let right = step(&mut self.right, n_right > 0);
        // Three wide (a car each side, or two on one side): said once instead of the car call
        // that completes it; a side that only flickers stays called, so it is not repeated.
        let wide = n_left + n_right >= 2;
        let mut spoke = false;
        if wide && !self.three_wide && (left == Some(true) || right == Some(true)) {
            self.three_wide = true;
            calls.push(Call::ThreeWide);
            spoke = true;
        } else {
            if left == Some(true) {
                calls.push(Call::CarLeft);
                spoke = true;
            }
            if right == Some(true) {
                calls.push(Call::CarRight);
                spoke = true;
            }
        }
        if !wide {
            self.three_wide = false;
        }
        if left == Some(false) {
            calls.push(Call::ClearLeft);
            spoke = true;
        }
        if right == Some(false) {
            calls.push(Call::ClearRight);
            spoke = true;
        }
        if spoke {
            self.last_side_call = t;
        } else if (self.left == Side::Called || self.right == Side::Called)
            && t - self.last_side_call >= self.cfg.still_there_s
        {
            calls.push(Call::StillThere);
            self.last_side_call = t;
        }
    }

    fn behind(&mut self, f: &Frame, calls: &mut Vec<Call>) {
        let Some(p) = f.player_idx else { return };
        let (Some(&p_pct), Some(&p_est)) = (f.lap_dist_pct.get(p), f.est_time.get(p)) else { return };
        if !(p_pct.is_finite() && p_pct >= 0.0 && p_est.is_finite()) {
            return;
        }
        for &e in f.est_time {
            if e.is_finite() && f64::from(e) > self.lap_estimate && f64::from(e) < 3_600.0 {
                self.lap_estimate = f64::from(e);
            }
        }
        let player_class = self.classes.of(p);
        let lap = player_class.map_or(self.lap_estimate, |c| c.1.max(self.lap_estimate));
        if lap <= 0.0 {
            return;
        }
        let t = f.time_s;
        let n = f.lap_dist_pct.len().min(f.est_time.len()).min(self.followers.len());
        let mut closing: Option<(f64, Call, usize)> = None;
        for i in 0..n {
            if i == p {
                continue;
            }
            let (pct, est) = (f.lap_dist_pct[i], f.est_time[i]);
            let in_pits = f.on_pit_road.get(i).copied().unwrap_or(false);
            if !(pct.is_finite() && pct >= 0.0 && est.is_finite()) || in_pits {
                self.followers[i] = None;
                continue;
            }
            // Behind on the lap by less than half a lap; the time gap from the estimated
            // times, across the line with the reference lap.
            let behind_pct = (f64::from(p_pct) - f64::from(pct)).rem_euclid(1.0);
            if behind_pct > 0.5 {
                self.followers[i] = None;
                continue;
            }
            let mut gap = f64::from(p_est) - f64::from(est);
            if pct > p_pct {
                gap += lap;
            }
            if !(0.0..=lap / 2.0).contains(&gap) {
                self.followers[i] = None;
                continue;
            }
            let fl = self.followers[i].get_or_insert(Follower { window: (t, gap), closing_since: None, rate: None });
            if t < fl.window.0 {
                *fl = Follower { window: (t, gap), closing_since: None, rate: None };
            } else if t - fl.window.0 >= RATE_WINDOW_S {
                let rate = (fl.window.1 - gap) / (t - fl.window.0);
                fl.rate = Some(rate);
                if rate >= self.cfg.closing_rate {
                    fl.closing_since.get_or_insert(fl.window.0);
                } else {
                    fl.closing_since = None;
                }
                fl.window = (t, gap);
            }
            let rate = fl.rate.unwrap_or(0.0);
            let sustained = fl.closing_since.is_some_and(|since| t - since >= self.cfg.closing_sustain_s);
            // Hysteresis: a called car must first drop back before it can be called again.
            let called = &mut self.called[i];
            if let Some(c) = called.as_mut()
                && gap > self.cfg.closing_gap_s + self.cfg.closing_rearm_gap_s
            {
                c.rearmed = true;
            }
            let may = |cool: f64| called.is_none_or(|c| c.rearmed && (t - c.at >= cool || t < c.at));
            let faster_class = match (player_class, self.classes.of(i)) {
                (Some((mine, my_lap)), Some((theirs, their_lap))) => {
                    mine != theirs && their_lap < my_lap * (1.0 - self.cfg.faster_class_margin)
                }
                _ => false,
            };
            // Side by side is the side calls' business (about a car length).
            let alongside = gap < 0.15;
            let call = if faster_class && gap <= self.cfg.faster_class_gap_s && rate > 0.0 && !alongside && may(30.0) {
                Some(Call::FasterClassBehind)
            } else if !faster_class
                && gap <= self.cfg.closing_gap_s
                && sustained
                && !alongside
                && may(self.cfg.closing_cooldown_s)
            {
                Some(Call::CarBehindClosing)
            } else {
                None
            };
            if let Some(c) = call
                && closing.is_none_or(|(g, _, _)| gap < g)
            {
                closing = Some((gap, c, i));
            }
        }
        // One "car behind" call at a time, and not within the minimum interval of the last.
        if let Some((_, c, i)) = closing
            && (t - self.last_behind_call >= self.cfg.closing_min_interval_s || t < self.last_behind_call)
        {
            self.last_behind_call = t;
            self.called[i] = Some(Called { at: t, rearmed: false });
            calls.push(c);
        }
    }
}
