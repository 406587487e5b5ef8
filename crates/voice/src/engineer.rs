//! The race engineer's answers: what each [`VoiceCommand`] does, from the latest telemetry,
//! standings and session facts. Every spoken number comes from those inputs; where an input is
//! missing the answer says so instead of guessing.

use chrono::Utc;
use pitbox_model::session::{SessionInfo, StandingsEntry, StandingsUpdate};
use pitbox_model::strategy::{InputSource, StrategyUpdate};
use pitbox_model::team::{HandoffRequest, HandoffResponse, TeamMessage};
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_model::{HandoffStatus, Priority, Timestamp};

use crate::commands::{GapTarget, VoiceCommand};

/// What the driver agent must do after a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Speak this on the radio.
    Say { text: String, priority: Priority },
    /// Send a `team_message` with this content (build it with [`team_message`]).
    SendTeamMessage { content: String, priority: Priority },
    /// Send a `handoff_request` from this driver (the agent picks the target from the line-up).
    RequestHandoff { reason: String },
    /// Send this `handoff_response`.
    RespondHandoff(HandoffResponse),
    /// The driver asked to pit this lap (`true`) or cancelled it (`false`).
    SetBoxThisLap(bool),
    /// Clear the stop the pit wall set: every pit-service box cleared in the sim, and the team
    /// told (the agent's `POST /api/pit/clear`). The agent replaces the spoken "pit stop cleared"
    /// when the sim could not be set.
    ClearPitStop,
}

/// Facts the engineer is given rather than measures.
#[derive(Debug, Clone, Default)]
pub struct EngineerConfig {
    /// This driver's id (handoff responses, team messages).
    pub driver_id: String,
    /// Fuel used per lap, litres (from the strategy or measured by the agent).
    pub fuel_per_lap_liters: Option<f64>,
    /// Fuel used per lap, percent of tank (used when litres are unknown).
    pub fuel_per_lap_pct: Option<f64>,
}

/// The engineer's memory: latest inputs and what was said last.
#[derive(Debug, Clone, Default)]
pub struct RaceEngineer {
    config: EngineerConfig,
    telemetry: Option<TelemetryUpdate>,
    standings: Option<StandingsUpdate>,
    session: Option<SessionInfo>,
    pending_handoff: Option<HandoffRequest>,
    last_said: Option<String>,
    box_this_lap: bool,
    strategy: StrategyCalls,
    /// The latest `strategy_update` for this driver.
    plan: Option<StrategyUpdate>,
}

/// What the engineer last said about the team's live plan, so each key point is said once.
#[derive(Debug, Clone, Default)]
struct StrategyCalls {
    /// `(closes lap, laps to go)` of the last "box in N laps".
    boxed: Option<(u32, u32)>,
    /// `(saving, lap)` of the last "save … to skip a stop".
    saving: Option<(f64, u32)>,
}

/// Laps before the pit window closes at which "box in N laps" is said.
pub const BOX_IN_LAPS: [u32; 3] = [3, 1, 0];
/// A saving call is repeated after this many laps, or sooner when the saving changes by
/// [`SAVING_CHANGE_L`].
pub const SAVING_REPEAT_LAPS: u32 = 5;
/// Litres per lap by which a saving must change to be said again sooner.
pub const SAVING_CHANGE_L: f64 = 0.05;

fn say(text: impl Into<String>) -> Action {
    Action::Say { text: text.into(), priority: Priority::High }
}

/// Seconds as words espeak-ng reads well: `1.4 seconds`, `1 minute 3.2 seconds`.
pub fn seconds_words(s: f64) -> String {
    if s >= 60.0 {
        let m = (s / 60.0).floor();
        let rest = s - m * 60.0;
        format!("{} minute{} {:.1} seconds", m as u64, if m as u64 == 1 { "" } else { "s" }, rest)
    } else {
        format!("{s:.1} seconds")
    }
}

/// A two-decimal number without trailing zeros: `0.2`, `0.15`.
fn num2(x: f64) -> String {
    let r = format!("{:.2}", (x * 100.0).round() / 100.0);
    r.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A one-decimal number without a trailing `.0`.
fn num1(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 { format!("{}", r as i64) } else { format!("{r:.1}") }
}

/// "box this lap", "box next lap", "box in 3 laps": `to_go` laps before the window closes.
fn box_in(to_go: u32) -> String {
    match to_go {
        0 => "box this lap".into(),
        1 => "box next lap".into(),
        n => format!("box in {n} laps"),
    }
}

/// ", 42 litres": what the next stop adds (rounded up), or nothing when the plan does not say.
fn stop_fuel(u: &StrategyUpdate) -> String {
    u.next_stop_fuel_l.map(|l| format!(", {} litres", l.ceil() as i64)).unwrap_or_default()
}

/// "Save 0.2 litres a lap to skip a stop."
fn saving_call(save: f64) -> String {
    format!("Save {} litres a lap to skip a stop.", num2(save))
}

/// "1 lap", "12 laps".
fn laps_words(n: u32) -> String {
    if n == 1 { "1 lap".into() } else { format!("{n} laps") }
}

impl RaceEngineer {
    /// An engineer with `config`.
    pub fn new(config: EngineerConfig) -> Self {
        Self { config, ..Default::default() }
    }

    /// The latest telemetry sample.
    pub fn on_telemetry(&mut self, t: &TelemetryUpdate) {
        self.telemetry = Some(t.clone());
    }

    /// The latest standings.
    pub fn on_standings(&mut self, s: &StandingsUpdate) {
        self.standings = Some(s.clone());
    }

    /// The session facts (own car index, scheduled laps or time).
    pub fn on_session(&mut self, s: &SessionInfo) {
        self.session = Some(s.clone());
    }

    /// A handoff request seen on the team channel; kept while pending and aimed at this driver.
    pub fn on_handoff_request(&mut self, h: &HandoffRequest) {
        if h.target_driver_id == self.config.driver_id && h.status == HandoffStatus::Pending {
            self.pending_handoff = Some(h.clone());
        } else if self.pending_handoff.as_ref().is_some_and(|p| p.id == h.id) {
            self.pending_handoff = None;
        }
    }

    /// The team's live plan after a lap (`strategy_update`): the key points to say, each once —
    /// "Box in 3 laps, 42 litres" as the pit window closes in, and "Save 0.2 litres a lap to
    /// skip a stop" when a stop is within reach of saving. Updates for another car's driver
    /// say nothing.
    pub fn on_strategy(&mut self, u: &StrategyUpdate) -> Vec<String> {
        if u.driver_id != self.config.driver_id {
            return Vec::new();
        }
        self.plan = Some(u.clone());
        let mut out = Vec::new();
        if let Some(w) = u.pit_window {
            let to_go = w.closes_lap.saturating_sub(u.lap);
            if BOX_IN_LAPS.contains(&to_go) && self.strategy.boxed != Some((w.closes_lap, to_go)) {
                self.strategy.boxed = Some((w.closes_lap, to_go));
                out.push(format!("{}{}.", capitalise(&box_in(to_go)), stop_fuel(u)));
            }
        }
        if let Some(save) = u.fuel_save_to_skip_stop_lpl {
            let due = match self.strategy.saving {
                None => true,
                Some((said, lap)) => {
                    (save - said).abs() >= SAVING_CHANGE_L || u.lap >= lap.saturating_add(SAVING_REPEAT_LAPS)
                }
            };
            if due {
                self.strategy.saving = Some((save, u.lap));
                out.push(saving_call(save));
            }
        } else {
            self.strategy.saving = None;
        }
        out
    }

    /// Sets the per-lap fuel burn (litres), e.g. when the agent has measured a green lap.
    pub fn set_fuel_per_lap_liters(&mut self, l: Option<f64>) {
        self.config.fuel_per_lap_liters = l.filter(|l| l.is_finite() && *l > 0.0);
    }

    /// Whether the driver has asked to pit this lap.
    pub fn box_this_lap(&self) -> bool {
        self.box_this_lap
    }

    /// Records a callout the radio said (for "repeat that").
    pub fn said(&mut self, text: &str) {
        self.last_said = Some(text.to_string());
    }

    /// What to do for `cmd`. Spoken answers are remembered for "repeat that".
    pub fn handle(&mut self, cmd: VoiceCommand) -> Vec<Action> {
        self.handle_at(cmd, Utc::now())
    }

    /// [`RaceEngineer::handle`] at a given time (tests).
    pub fn handle_at(&mut self, cmd: VoiceCommand, now: Timestamp) -> Vec<Action> {
        let actions = match cmd {
            VoiceCommand::BoxThisLap => {
                self.box_this_lap = true;
                vec![
                    Action::SetBoxThisLap(true),
                    Action::SendTeamMessage { content: "Driver: boxing this lap.".into(), priority: Priority::High },
                    say("Copy, box this lap, box this lap."),
                ]
            }
            VoiceCommand::CancelBox => {
                self.box_this_lap = false;
                vec![
                    Action::SetBoxThisLap(false),
                    Action::SendTeamMessage {
                        content: "Driver: box cancelled, staying out.".into(),
                        priority: Priority::High,
                    },
                    say("Copy, box cancelled, stay out."),
                ]
            }
            VoiceCommand::FuelStatus => vec![say(self.fuel_answer())],
            VoiceCommand::TyreStatus => vec![say(self.tyre_answer())],
            VoiceCommand::Gap(t) => vec![say(self.gap_answer(t))],
            VoiceCommand::LapsRemaining => vec![say(self.laps_answer())],
            VoiceCommand::RequestHandoff => vec![
                Action::RequestHandoff { reason: "Requested by the driver over the radio".into() },
                say("Copy, handoff requested."),
            ],
            VoiceCommand::AcceptHandoff => match self.pending_handoff.take() {
                Some(h) => vec![
                    Action::RespondHandoff(HandoffResponse {
                        handoff_id: h.id.clone(),
                        status: HandoffStatus::Accepted,
                        responder_id: self.config.driver_id.clone(),
                        responded_at: now,
                        reason: None,
                    }),
                    say(format!("Handoff from {} accepted.", h.requester_name)),
                ],
                None => vec![say("No handoff is pending.")],
            },
            VoiceCommand::RepeatThat => {
                let text = self.last_said.clone().unwrap_or_else(|| "Nothing to repeat.".into());
                return vec![say(text)];
            }
            VoiceCommand::RadioCheck => vec![say("Loud and clear.")],
            VoiceCommand::MessageTeam(p) => vec![
                Action::SendTeamMessage { content: p.message().into(), priority: Priority::Normal },
                say(format!("Message sent: {}.", p.words())),
            ],
            VoiceCommand::FuelToTheEnd => vec![say(self.fuel_to_end_answer())],
            VoiceCommand::CancelPitStop => vec![Action::ClearPitStop, say("Copy, pit stop cleared.")],
        };
        if let Some(Action::Say { text, .. }) = actions.iter().rev().find(|a| matches!(a, Action::Say { .. })) {
            self.last_said = Some(text.clone());
        }
        actions
    }

    /// "Fuel 42 percent, 31.5 litres, about 11.2 laps."
    pub fn fuel_answer(&self) -> String {
        let Some(t) = &self.telemetry else {
            return "No fuel reading yet.".into();
        };
        let mut parts = vec![format!("Fuel {} percent", t.fuel_level.round() as i64)];
        if let Some(l) = t.fuel_liters {
            parts.push(format!("{} litres", num1(l)));
        }
        let laps = match (t.fuel_liters, self.config.fuel_per_lap_liters, self.config.fuel_per_lap_pct) {
            (Some(l), Some(per), _) if per > 0.0 => Some(l / per),
            (_, _, Some(per)) if per > 0.0 => Some(t.fuel_level / per),
            _ => None,
        };
        match laps {
            Some(laps) => {
                parts.push(format!("about {} laps", num1(laps)));
                let mut s = parts.join(", ");
                if let Some(rem) = self.laps_left() {
                    if laps + 0.05 < rem as f64 {
                        s.push_str(&format!(". That is short of the {rem} laps to go"));
                    } else {
                        s.push_str(&format!(". Enough for the {rem} laps to go"));
                    }
                }
                s + "."
            }
            None => parts.join(", ") + ". Fuel per lap not measured yet.",
        }
    }

    /// Laps the car has completed: the telemetry's lap counter counts laps started, so the lap
    /// under way is not one; the plan's count when there is no sample.
    fn laps_completed(&self) -> Option<u32> {
        let from_sample = self.telemetry.as_ref().map(|t| t.lap.saturating_sub(1));
        let from_plan = self.plan.as_ref().map(|u| u.lap);
        from_sample.max(from_plan)
    }

    /// Laps still to run, including the one under way: from the session and the leader's lap
    /// ([`RaceEngineer::laps_left`]), else the team's live plan, less the laps completed since.
    fn laps_to_go(&self) -> Option<u32> {
        if let Some(n) = self.laps_left() {
            return Some(n);
        }
        let u = self.plan.as_ref()?;
        let since = self.laps_completed().unwrap_or(u.lap).saturating_sub(u.lap);
        Some(u.laps_remaining.saturating_sub(since))
    }

    /// Fuel per lap in litres measured on this car: the agent's measurement, else the plan's
    /// when the plan measured it.
    fn measured_fuel_per_lap(&self) -> Option<f64> {
        self.config.fuel_per_lap_liters.filter(|l| l.is_finite() && *l > 0.0).or_else(|| {
            self.plan
                .as_ref()
                .filter(|u| u.fuel_per_lap_source == InputSource::Measured)
                .map(|u| u.fuel_per_lap_l)
                .filter(|l| l.is_finite() && *l > 0.0)
        })
    }

    /// ": one stop, box in 3 laps, 42 litres" from the plan, when it has a stop to make.
    fn planned_stop(&self) -> Option<String> {
        let u = self.plan.as_ref()?;
        let w = u.pit_window.filter(|_| u.stops_remaining > 0)?;
        let stops =
            if u.stops_remaining == 1 { "one stop".to_string() } else { format!("{} stops", u.stops_remaining) };
        let to_go = w.closes_lap.saturating_sub(self.laps_completed().unwrap_or(u.lap));
        Some(format!("{stops}, {}{}", box_in(to_go), stop_fuel(u)))
    }

    /// Whether there is fuel to the flag: the tank's litres (telemetry) against the laps to go
    /// (the one under way included) at the measured fuel per lap. "Enough fuel to the end: 31
    /// litres for 12 laps, 2.5 litres spare." or "You need 8.5 litres more to the end: one stop,
    /// box in 3 laps, 42 litres. Save 0.2 litres a lap to skip a stop." (the stop and the saving
    /// from the team's live plan, when it has them). A missing input is said, never guessed.
    pub fn fuel_to_end_answer(&self) -> String {
        let fuel = self.telemetry.as_ref().and_then(|t| t.fuel_liters).filter(|l| l.is_finite() && *l >= 0.0);
        let laps = self.laps_to_go();
        let per_lap = self.measured_fuel_per_lap();
        let (Some(fuel), Some(laps), Some(per_lap)) = (fuel, laps, per_lap) else {
            let mut unknown = Vec::new();
            if self.telemetry.is_none() {
                unknown.push("No fuel reading yet.");
            } else if fuel.is_none() {
                unknown.push("Fuel in litres not known.");
            }
            if laps.is_none() {
                unknown.push("Laps to go not known yet.");
            }
            if per_lap.is_none() {
                unknown.push("Fuel per lap not measured yet.");
            }
            return unknown.join(" ");
        };
        if laps == 0 {
            return "This is the last lap, or the race is over.".into();
        }
        let need = per_lap * f64::from(laps);
        let for_laps = format!("{} litres for {}", num1(fuel), laps_words(laps));
        let short = need - fuel;
        if num1(short.max(0.0)) == "0" {
            let spare = num1(-short);
            let mut s = if spare == "0" {
                format!("Just enough fuel to the end: {for_laps}, nothing spare.")
            } else {
                format!("Enough fuel to the end: {for_laps}, {spare} litres spare.")
            };
            if let Some(stop) = self.planned_stop() {
                s.push_str(&format!(" The team's plan still has {stop}."));
            }
            return s;
        }
        let mut s = format!("You need {} litres more to the end: ", num1(short));
        match self.planned_stop() {
            Some(stop) => s.push_str(&stop),
            None => s.push_str(&for_laps),
        }
        s.push('.');
        if let Some(save) = self.plan.as_ref().and_then(|u| u.fuel_save_to_skip_stop_lpl) {
            s.push(' ');
            s.push_str(&saving_call(save));
        }
        s
    }

    /// "Tyres worn: front left 12, front right 15, rear left 9, rear right 10 percent. Front right is the worst."
    pub fn tyre_answer(&self) -> String {
        let Some(t) = &self.telemetry else {
            return "No tyre reading yet.".into();
        };
        let w = t.tire_wear;
        let corners = [
            ("front left", w.front_left),
            ("front right", w.front_right),
            ("rear left", w.rear_left),
            ("rear right", w.rear_right),
        ];
        let worst = corners.iter().fold(corners[0], |a, b| if b.1 > a.1 { *b } else { a });
        format!(
            "Tyres worn: front left {}, front right {}, rear left {}, rear right {} percent. {} is the worst.",
            w.front_left.round() as i64,
            w.front_right.round() as i64,
            w.rear_left.round() as i64,
            w.rear_right.round() as i64,
            capitalise(worst.0)
        )
    }

    fn my_entry(&self) -> Option<&StandingsEntry> {
        let s = self.standings.as_ref()?;
        if let Some(idx) = self.session.as_ref().map(|s| s.player_car_idx) {
            return s.entries.iter().find(|e| e.car_idx == idx);
        }
        let pos = self.telemetry.as_ref()?.position?;
        s.entries.iter().find(|e| e.position == pos && pos > 0)
    }

    /// "Gap ahead 1.4 seconds to car 23. Gap behind 0.8 seconds to car 7."
    pub fn gap_answer(&self, target: GapTarget) -> String {
        let Some(me) = self.my_entry() else {
            return "No standings yet.".into();
        };
        let Some(s) = &self.standings else {
            return "No standings yet.".into();
        };
        let ahead = || -> String {
            if me.position <= 1 {
                return "You are leading.".into();
            }
            let car = s.entries.iter().find(|e| e.position + 1 == me.position);
            match (me.gap_to_ahead, car) {
                (Some(g), Some(c)) => format!("Gap ahead {} to car {}.", seconds_words(g), c.car_number),
                (Some(g), None) => format!("Gap ahead {}.", seconds_words(g)),
                (None, _) => "Gap ahead not known.".into(),
            }
        };
        let behind = || -> String {
            let car = s.entries.iter().find(|e| me.position > 0 && e.position == me.position + 1);
            match car {
                Some(c) => match c.gap_to_ahead {
                    Some(g) => format!("Gap behind {} to car {}.", seconds_words(g), c.car_number),
                    None => "Gap behind not known.".into(),
                },
                None => "Nobody behind you.".into(),
            }
        };
        match target {
            GapTarget::Ahead => ahead(),
            GapTarget::Behind => behind(),
            GapTarget::Both => format!("P{}. {} {}", me.position, ahead(), behind()),
        }
    }

    /// Whole laps still to run in a lap-limited session (from the leader's lap, as the race
    /// ends when the leader finishes).
    pub fn laps_left(&self) -> Option<u32> {
        let total = self.session.as_ref()?.session_laps?;
        let s = self.standings.as_ref();
        let leader_lap = s.and_then(|s| s.entries.iter().filter(|e| e.position == 1).map(|e| e.lap).next());
        let lap = match leader_lap {
            Some(l) if l > 0 => l as u32,
            _ => self.telemetry.as_ref()?.lap,
        };
        // The lap counter counts laps started: lap `lap` is under way.
        Some(total.saturating_sub(lap.saturating_sub(1)))
    }

    /// "12 laps remaining." or, in a timed session, "18 minutes remaining, about 9 laps."
    pub fn laps_answer(&self) -> String {
        if let Some(n) = self.laps_left() {
            return match n {
                0 => "This is the last lap, or the race is over.".into(),
                1 => "Last lap.".into(),
                n => format!("{n} laps remaining, including this one."),
            };
        }
        let dur = self.session.as_ref().and_then(|s| s.session_duration);
        let now =
            self.standings.as_ref().map(|s| s.session_time).or(self.telemetry.as_ref().and_then(|t| t.session_time));
        match (dur, now) {
            (Some(d), Some(t)) => {
                let left = (d - t).max(0.0);
                let mins = (left / 60.0).round() as i64;
                let lap_time = self.my_entry().and_then(|e| e.last_lap_time.or(e.best_lap_time)).filter(|l| *l > 0.0);
                match lap_time {
                    Some(l) => format!("{mins} minutes remaining, about {} laps.", (left / l).ceil() as i64),
                    None => format!("{mins} minutes remaining."),
                }
            }
            _ => "Session length not known.".into(),
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A `team_message` for [`Action::SendTeamMessage`].
pub fn team_message(
    id: impl Into<String>,
    content: &str,
    priority: Priority,
    sender_id: &str,
    sender_name: &str,
    now: Timestamp,
) -> TeamMessage {
    TeamMessage {
        id: id.into(),
        content: content.into(),
        sender_id: sender_id.into(),
        sender_name: sender_name.into(),
        priority,
        sent_at: now,
        read: false,
        attachment: None,
    }
}
