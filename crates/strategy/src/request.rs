//! The planner's input (`POST /api/strategy/plan` body), its validation into [`Params`], and
//! the error type.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Longest race the planner accepts, in laps (a 24-hour race on a 15-second oval is 5,760).
pub const MAX_RACE_LAPS: u32 = 10_000;
/// Longest timed race accepted: one week.
pub const MAX_RACE_MINUTES: f64 = 7.0 * 24.0 * 60.0;
/// Most drivers in a rotation.
pub const MAX_DRIVERS: usize = 32;
/// Largest lap or stop time accepted, seconds (an hour; anything more is a unit mistake).
const MAX_SECONDS: f64 = 3_600.0;
/// Largest volume accepted, litres.
const MAX_LITRES: f64 = 10_000.0;
/// Longest identifier of a driver.
const MAX_ID_LEN: usize = 64;

/// Race length: exactly one of `laps` or `minutes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Race {
    /// A race over this many laps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub laps: Option<u32>,
    /// A timed race: it ends when the leader first crosses the line after this many minutes,
    /// so it runs `floor(minutes·60 / lapTimeS) + 1` laps at the leader's constant pace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<f64>,
}

/// One driver of the rotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriverSpec {
    /// The driver's id (a user id of the team, or any name the team uses).
    pub id: String,
    /// Longest time this driver may drive one stint, minutes (laps only, not the stop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_stint_minutes: Option<f64>,
    /// This driver's lap time, seconds (default: the request's `lapTimeS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lap_time_s: Option<f64>,
    /// Minutes this driver has already driven in the race, when planning the rest of one (the
    /// live plan): taken off `minDriverMinutes` and `maxDriverMinutes` for this driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driven_minutes: Option<f64>,
}

/// Body of `POST /api/strategy/plan`. SI units: seconds, litres, litres per second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanRequest {
    /// `{"laps": N}` or `{"minutes": M}`.
    pub race: Race,
    /// Race pace, seconds per lap: the leader's pace that sets a timed race's laps, and the
    /// lap time of every driver without one of their own.
    pub lap_time_s: f64,
    /// Fuel used per lap, litres.
    pub fuel_per_lap_l: f64,
    /// Tank capacity, litres.
    pub tank_l: f64,
    /// Fuel at the start, litres (default: `tankL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_fuel_l: Option<f64>,
    /// Fuel that must be left in the tank at every stop and at the finish, litres (default:
    /// one lap's fuel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_margin_l: Option<f64>,
    /// Time lost driving through the pit lane (at the limiter, against racing past), seconds.
    pub pit_lane_s: f64,
    /// Refuelling rate, litres per second.
    pub refuel_lps: f64,
    /// Time to change four tyres, seconds (runs at the same time as refuelling).
    pub tyre_change_s: f64,
    /// New tyres every this many stints (default 1: at every stop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tyres_every_stints: Option<u32>,
    /// The drivers, in rotation order: stint k is driven by `drivers[k mod n]`.
    pub drivers: Vec<DriverSpec>,
    /// Least total driving time of every driver, minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_driver_minutes: Option<f64>,
    /// Most total driving time of any driver, minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_driver_minutes: Option<f64>,
    /// Minutes the first stint's driver has already been in the car in that stint, when
    /// planning the rest of a race from the middle of a stint (the live plan): taken off their
    /// `maxStintMinutes` for the first stint only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_stint_driven_minutes: Option<f64>,
}

/// Why no plan: the input is invalid, or no plan can meet a rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// A field is missing a sensible value (non-finite, negative, zero, absurdly large …).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The input is valid but no plan meets the rule named by `field`.
    #[error("{field}: {message}")]
    Infeasible { field: String, message: String },
}

impl PlanError {
    /// The field (or rule) at fault.
    pub fn field(&self) -> &str {
        match self {
            PlanError::Invalid { field, .. } | PlanError::Infeasible { field, .. } => field,
        }
    }

    /// What is wrong, for a person.
    pub fn message(&self) -> &str {
        match self {
            PlanError::Invalid { message, .. } | PlanError::Infeasible { message, .. } => message,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        PlanError::Invalid { field: field.into(), message: message.into() }
    }

    pub(crate) fn infeasible(field: impl Into<String>, message: impl Into<String>) -> Self {
        PlanError::Infeasible { field: field.into(), message: message.into() }
    }
}

/// A driver as the planner uses it.
#[derive(Debug, Clone)]
pub(crate) struct Driver {
    pub id: String,
    pub lap_s: f64,
    /// Most laps in one stint (from `maxStintMinutes`), `u32::MAX` when unlimited.
    pub max_stint_laps: u32,
    /// Least and most laps in the whole race (from the min/max driver minutes).
    pub min_laps: u32,
    pub max_laps: u32,
}

/// A validated request with defaults applied.
#[derive(Debug, Clone)]
pub(crate) struct Params {
    pub laps: u32,
    pub fuel_per_lap: f64,
    pub tank: f64,
    pub start_fuel: f64,
    pub margin: f64,
    pub pit_lane: f64,
    pub refuel_lps: f64,
    pub tyre_change: f64,
    pub tyres_every: u32,
    pub drivers: Vec<Driver>,
    /// Most laps of the first stint by its driver's stint limit, after what they have driven
    /// of it already (`u32::MAX` when unlimited).
    pub first_stint_max_laps: u32,
}

/// Tolerance of the fuel arithmetic, litres or laps: sums of a few thousand laps' fuel must not
/// lose a lap to rounding.
pub(crate) const EPS: f64 = 1e-9;

/// Whole laps that `minutes` of driving at `lap_s` cover, rounded down (a budget).
fn laps_within(minutes: f64, lap_s: f64) -> u32 {
    let laps = (minutes * 60.0 / lap_s + EPS).floor();
    if laps >= f64::from(u32::MAX) { u32::MAX } else { laps.max(0.0) as u32 }
}

/// Whole laps needed to drive at least `minutes` at `lap_s`, rounded up (a requirement).
fn laps_at_least(minutes: f64, lap_s: f64) -> u32 {
    let laps = (minutes * 60.0 / lap_s - EPS).ceil();
    if laps >= f64::from(u32::MAX) { u32::MAX } else { laps.max(0.0) as u32 }
}

fn number(field: &str, v: f64, min: f64, min_inclusive: bool, max: f64, unit: &str) -> Result<f64, PlanError> {
    if !v.is_finite() {
        return Err(PlanError::invalid(field, format!("must be a finite number of {unit}")));
    }
    let low = if min_inclusive { v < min } else { v <= min };
    if low {
        let rel = if min_inclusive { "at least" } else { "more than" };
        return Err(PlanError::invalid(field, format!("must be {rel} {min} {unit}; got {v}")));
    }
    if v > max {
        return Err(PlanError::invalid(field, format!("must be at most {max} {unit}; got {v}")));
    }
    Ok(v)
}

impl PlanRequest {
    /// Checks every field and applies the defaults.
    pub(crate) fn params(&self) -> Result<Params, PlanError> {
        let lap_time = number("lapTimeS", self.lap_time_s, 0.0, false, MAX_SECONDS, "seconds")?;
        let laps = match (self.race.laps, self.race.minutes) {
            (Some(_), Some(_)) => {
                return Err(PlanError::invalid("race", "give either `laps` or `minutes`, not both"));
            }
            (None, None) => return Err(PlanError::invalid("race", "give `laps` or `minutes`")),
            (Some(0), None) => return Err(PlanError::invalid("race.laps", "must be at least 1")),
            (Some(n), None) if n > MAX_RACE_LAPS => {
                return Err(PlanError::invalid("race.laps", format!("must be at most {MAX_RACE_LAPS}; got {n}")));
            }
            (Some(n), None) => n,
            (None, Some(m)) => {
                let m = number("race.minutes", m, 0.0, false, MAX_RACE_MINUTES, "minutes")?;
                // The leader crosses the line at k·lapTimeS; the race ends at the first
                // crossing strictly after the clock runs out.
                let laps = (m * 60.0 / lap_time).floor() + 1.0;
                if laps > f64::from(MAX_RACE_LAPS) {
                    return Err(PlanError::invalid(
                        "race.minutes",
                        format!(
                            "{m} minutes at {lap_time} s a lap is {laps} laps; at most {MAX_RACE_LAPS} are planned"
                        ),
                    ));
                }
                laps as u32
            }
        };
        let fuel_per_lap = number("fuelPerLapL", self.fuel_per_lap_l, 0.0, false, MAX_LITRES, "litres")?;
        let tank = number("tankL", self.tank_l, 0.0, false, MAX_LITRES, "litres")?;
        let start_fuel = match self.start_fuel_l {
            Some(v) => number("startFuelL", v, 0.0, true, tank, "litres (the tank holds tankL)")?,
            None => tank,
        };
        let margin = match self.fuel_margin_l {
            Some(v) => number("fuelMarginL", v, 0.0, true, MAX_LITRES, "litres")?,
            None => fuel_per_lap,
        };
        if margin >= tank {
            return Err(PlanError::invalid(
                "fuelMarginL",
                format!("the margin ({margin} L) must be smaller than the tank ({tank} L)"),
            ));
        }
        let pit_lane = number("pitLaneS", self.pit_lane_s, 0.0, true, MAX_SECONDS, "seconds")?;
        let refuel_lps = number("refuelLps", self.refuel_lps, 0.0, false, MAX_LITRES, "litres per second")?;
        let tyre_change = number("tyreChangeS", self.tyre_change_s, 0.0, true, MAX_SECONDS, "seconds")?;
        let tyres_every = match self.tyres_every_stints {
            Some(0) => return Err(PlanError::invalid("tyresEveryStints", "must be at least 1")),
            Some(k) => k,
            None => 1,
        };
        let min_minutes = match self.min_driver_minutes {
            Some(v) => Some(number("minDriverMinutes", v, 0.0, true, MAX_RACE_MINUTES, "minutes")?),
            None => None,
        };
        let max_minutes = match self.max_driver_minutes {
            Some(v) => Some(number("maxDriverMinutes", v, 0.0, false, MAX_RACE_MINUTES, "minutes")?),
            None => None,
        };
        if let (Some(lo), Some(hi)) = (min_minutes, max_minutes)
            && lo > hi
        {
            return Err(PlanError::invalid(
                "minDriverMinutes",
                format!("the minimum ({lo} min) is above maxDriverMinutes ({hi} min)"),
            ));
        }
        if self.drivers.is_empty() {
            return Err(PlanError::invalid("drivers", "name at least one driver"));
        }
        if self.drivers.len() > MAX_DRIVERS {
            return Err(PlanError::invalid(
                "drivers",
                format!("at most {MAX_DRIVERS} drivers; got {}", self.drivers.len()),
            ));
        }
        let first_driven = match self.first_stint_driven_minutes {
            Some(v) => number("firstStintDrivenMinutes", v, 0.0, true, MAX_RACE_MINUTES, "minutes")?,
            None => 0.0,
        };
        let mut first_stint_max_laps = u32::MAX;
        let mut drivers = Vec::with_capacity(self.drivers.len());
        for (i, d) in self.drivers.iter().enumerate() {
            let field = |name: &str| format!("drivers[{i}].{name}");
            if d.id.trim().is_empty() || d.id.chars().count() > MAX_ID_LEN || d.id.chars().any(char::is_control) {
                return Err(PlanError::invalid(
                    field("id"),
                    format!("must be 1–{MAX_ID_LEN} characters without control characters"),
                ));
            }
            if let Some(j) = self.drivers[..i].iter().position(|o| o.id == d.id) {
                return Err(PlanError::invalid(
                    field("id"),
                    format!("`{}` is already drivers[{j}]: list each driver once, in rotation order", d.id),
                ));
            }
            let lap_s = match d.lap_time_s {
                Some(v) => number(&field("lapTimeS"), v, 0.0, false, MAX_SECONDS, "seconds")?,
                None => lap_time,
            };
            let max_stint_minutes = match d.max_stint_minutes {
                Some(v) => Some(number(&field("maxStintMinutes"), v, 0.0, false, MAX_RACE_MINUTES, "minutes")?),
                None => None,
            };
            let max_stint_laps = max_stint_minutes.map_or(u32::MAX, |m| laps_within(m, lap_s));
            let driven = match d.driven_minutes {
                Some(v) => number(&field("drivenMinutes"), v, 0.0, true, MAX_RACE_MINUTES, "minutes")?,
                None => 0.0,
            };
            if i == 0 {
                first_stint_max_laps = max_stint_minutes.map_or(u32::MAX, |m| laps_within(m - first_driven, lap_s));
            }
            drivers.push(Driver {
                id: d.id.clone(),
                lap_s,
                max_stint_laps,
                // What is left of the totals after what the driver has driven already.
                min_laps: min_minutes.map_or(0, |m| laps_at_least(m - driven, lap_s)),
                max_laps: max_minutes.map_or(u32::MAX, |m| laps_within(m - driven, lap_s)),
            });
        }
        Ok(Params {
            laps,
            fuel_per_lap,
            tank,
            start_fuel,
            margin,
            pit_lane,
            refuel_lps,
            tyre_change,
            tyres_every,
            drivers,
            first_stint_max_laps,
        })
    }
}

fn schema_of<T: JsonSchema>() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    serde_json::to_value(generator.into_root_schema_for::<T>()).unwrap_or(serde_json::Value::Null)
}

/// JSON Schema (draft 2020-12) of [`PlanRequest`], for the OpenAPI document.
pub fn plan_request_schema() -> serde_json::Value {
    schema_of::<PlanRequest>()
}

/// JSON Schema (draft 2020-12) of [`crate::Plan`], for the OpenAPI document.
pub fn plan_response_schema() -> serde_json::Value {
    schema_of::<crate::Plan>()
}
