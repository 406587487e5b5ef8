//! # pitbox-strategy — the race engineer's arithmetic
//!
//! This crate owns the stint planner behind `POST /api/strategy/plan`: from a race length
//! (laps, or minutes at the leader's pace), fuel use, tank, pit-lane loss, refuelling rate, tyre
//! time and the drivers' rotation and limits, it finds the plan with the fewest pit stops that
//! the fuel and the driver rules allow and, among those, the least time stationary in the box.
//! It also owns fuel per lap from the last green laps ([`fuel::fuel_per_lap`]): the one
//! implementation, used by the driver agent's fuel calls and the coach's fuel report (and meant
//! for the live plan). [`live::revise`] re-plans the rest of a race from where the car is (the
//! live plan behind the `strategy_update` message).
//! Pure logic: no I/O, no clock; every input is validated into a
//! typed [`PlanError`] that names the offending field or the rule that cannot be met.
//!
//! The model and its limits are described in `docs/strategy.md`.

pub mod fuel;
pub mod live;
mod plan;
mod request;

pub use plan::{MAX_STOPS, Plan, Stint, plan};
pub use request::{
    DriverSpec, MAX_DRIVERS, MAX_RACE_LAPS, MAX_RACE_MINUTES, PlanError, PlanRequest, Race, plan_request_schema,
    plan_response_schema,
};
