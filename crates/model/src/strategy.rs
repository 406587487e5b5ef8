//! The live stint plan: the `strategy_update` message the cloud sends the team after every lap
//! of a car with a stored plan (docs/strategy.md, "The live plan").

use pitbox_strategy::{PlanRequest, Stint};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::validate::{Validate, Validator};

/// Where a live input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum InputSource {
    /// Measured on this car in this session.
    Measured,
    /// Read from the sim (`SessionLapsRemainEx`, `SessionTimeRemain`).
    Sim,
    /// Not measured yet: the stored plan's figure.
    Plan,
}

/// The pit window: stop at the end of any lap from `opensLap` to `closesLap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PitWindow {
    /// The earliest lap at whose end a stop still leaves the remaining stops enough.
    pub opens_lap: u32,
    /// The last lap the fuel reaches with the margin left.
    pub closes_lap: u32,
}

/// Data of `strategy_update`. Lap numbers are absolute: a stop "at lap N" is made at the end of
/// lap N.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StrategyUpdate {
    pub team_id: String,
    /// Who drove the lap that was just completed.
    pub driver_id: String,
    /// The cloud session the car's samples are stored in.
    pub session_id: String,
    pub timestamp: Timestamp,
    /// Laps the car has completed.
    pub lap: u32,
    /// Laps still to complete to the flag.
    pub laps_remaining: u32,
    pub laps_remaining_source: InputSource,
    /// Fuel in the tank, litres.
    pub fuel_l: f64,
    pub fuel_per_lap_l: f64,
    pub fuel_per_lap_source: InputSource,
    /// Laps the fuel in the tank lasts at that use (the margin not taken off).
    pub fuel_laps_left: f64,
    pub lap_time_s: f64,
    pub lap_time_source: InputSource,
    pub pit_lane_s: f64,
    pub pit_lane_source: InputSource,
    pub stops_remaining: u32,
    /// Absent when no stop is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pit_window: Option<PitWindow>,
    /// Fuel the next stop adds, litres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_stop_fuel_l: Option<f64>,
    /// Saving per lap, litres, with which one stop fewer is enough (when it is within reach).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_save_to_skip_stop_lpl: Option<f64>,
    /// The revised stints, in absolute laps.
    pub stints: Vec<Stint>,
    /// Time the rest of the race takes on the revised plan, seconds.
    pub total_race_time_s: f64,
    pub finish_fuel_l: f64,
    /// The request the revision was planned from: the rest of the race.
    pub basis: PlanRequest,
}

/// Most stints a `strategy_update` carries (the planner's own limit is lower).
pub const MAX_STINTS: usize = 1_100;

impl Validate for StrategyUpdate {
    fn validate_into(&self, v: &mut Validator) {
        v.id("teamId", &self.team_id);
        v.id("driverId", &self.driver_id);
        v.id("sessionId", &self.session_id);
        v.range("fuelL", self.fuel_l, 0.0, 10_000.0);
        v.range("fuelPerLapL", self.fuel_per_lap_l, 0.0, 10_000.0);
        v.range("fuelLapsLeft", self.fuel_laps_left, 0.0, 1.0e7);
        v.range("lapTimeS", self.lap_time_s, 0.0, 3_600.0);
        v.range("pitLaneS", self.pit_lane_s, 0.0, 3_600.0);
        v.range_opt("nextStopFuelL", self.next_stop_fuel_l, 0.0, 10_000.0);
        v.range_opt("fuelSaveToSkipStopLpl", self.fuel_save_to_skip_stop_lpl, 0.0, 10_000.0);
        v.range("totalRaceTimeS", self.total_race_time_s, 0.0, 1.0e7);
        v.range("finishFuelL", self.finish_fuel_l, 0.0, 10_000.0);
        v.count("stints", self.stints.len(), 0, MAX_STINTS);
        if let Some(w) = self.pit_window
            && w.opens_lap > w.closes_lap
        {
            v.fail("pitWindow.opensLap", format!("must not be after closesLap ({})", w.closes_lap));
        }
    }
}

/// Tyres to change at the next stop: each corner, and optionally the pressure (kPa) for the
/// new ones. All four `false` clears the tyre boxes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TyreChange {
    pub lf: bool,
    pub rf: bool,
    pub lr: bool,
    pub rr: bool,
    /// Cold pressure for the new tyres, kPa; absent: as set in the car.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure_kpa: Option<f64>,
}

impl TyreChange {
    /// How many corners are changed.
    pub fn count(&self) -> usize {
        [self.lf, self.rf, self.lr, self.rr].iter().filter(|c| **c).count()
    }
}

/// Data of `pit_command`: the next stop of one car as the pit wall sets it. Absent fields leave
/// that part of the car's pit service as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PitCommand {
    pub id: String,
    /// The car's driver: the agent that applies it.
    pub driver_id: String,
    pub sender_id: String,
    pub sender_name: String,
    pub timestamp: Timestamp,
    /// Clear every pit-service box first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clear_all: bool,
    /// Fuel to add, litres (0 unticks fuel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_l: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tyres: Option<TyreChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fast_repair: Option<bool>,
    /// Tear off a windscreen layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windscreen: Option<bool>,
}

/// Most fuel one command may ask for, litres.
pub const MAX_PIT_FUEL_L: f64 = 1_000.0;

impl Validate for PitCommand {
    fn validate_into(&self, v: &mut Validator) {
        v.id("id", &self.id);
        v.id("driverId", &self.driver_id);
        v.id("senderId", &self.sender_id);
        v.text("senderName", &self.sender_name, 1, 100);
        v.range_opt("fuelL", self.fuel_l, 0.0, MAX_PIT_FUEL_L);
        if let Some(t) = &self.tyres {
            v.range_opt("tyres.pressureKpa", t.pressure_kpa, 50.0, 500.0);
        }
        let empty = self.fuel_l.is_none()
            && self.tyres.is_none()
            && self.fast_repair.is_none()
            && self.windscreen.is_none()
            && !self.clear_all;
        if empty {
            v.fail("", "sets nothing: give clearAll, fuelL, tyres, fastRepair or windscreen");
        }
    }
}

impl PitCommand {
    /// What it sets, in words the driver hears: "42 litres, four tyres, fast repair".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.clear_all {
            parts.push("everything cleared".to_string());
        }
        match self.fuel_l {
            Some(l) if l > 0.0 => parts.push(format!("{} litres", l.round() as i64)),
            Some(_) => parts.push("no fuel".into()),
            None => {}
        }
        if let Some(t) = &self.tyres {
            parts.push(match t.count() {
                0 => "no tyres".into(),
                4 => "four tyres".into(),
                _ => {
                    let named: Vec<&str> =
                        [(t.lf, "left front"), (t.rf, "right front"), (t.lr, "left rear"), (t.rr, "right rear")]
                            .iter()
                            .filter(|(on, _)| *on)
                            .map(|(_, n)| *n)
                            .collect();
                    named.join(", ")
                }
            });
        }
        match self.fast_repair {
            Some(true) => parts.push("fast repair".into()),
            Some(false) => parts.push("no fast repair".into()),
            None => {}
        }
        match self.windscreen {
            Some(true) => parts.push("windscreen".into()),
            Some(false) => parts.push("no windscreen".into()),
            None => {}
        }
        parts.join(", ")
    }
}
