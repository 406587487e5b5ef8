//! The live plan: the team's stint plan re-planned from where the car is now (laps done, fuel
//! in the tank, measured fuel use, lap time and pit-lane loss), with the numbers the pit wall
//! and the driver act on: laps of fuel left, the pit window, fuel for the next stop and the
//! saving per lap that would skip a stop.
//!
//! Lap numbers are absolute: a stop "at lap N" is made at the end of lap N.

use crate::{Plan, PlanError, PlanRequest, Race, plan};

/// Where the car is, at the end of a lap.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveState {
    /// Laps the car has completed.
    pub laps_done: u32,
    /// Laps still to complete to the flag.
    pub laps_remaining: u32,
    /// Fuel in the tank now, litres.
    pub fuel_l: f64,
    /// Fuel per lap to plan with, litres.
    pub fuel_per_lap_l: f64,
    /// Lap time to plan with, seconds.
    pub lap_time_s: f64,
    /// Pit-lane loss to plan with, seconds.
    pub pit_lane_s: f64,
    /// Who is in the car: the rotation continues from them when they are in the plan's list.
    pub driver_id: Option<String>,
    /// Seconds each driver has driven in this race so far (for the whole-race driver rules).
    pub driven_s: Vec<(String, f64)>,
    /// Seconds the driver in the car has been in this stint (for their stint limit).
    pub stint_s: f64,
}

/// The plan revised from a [`LiveState`].
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    /// The request the revision was planned from (the rest of the race).
    pub basis: PlanRequest,
    /// The revised plan, its stints in absolute laps.
    pub plan: Plan,
    /// Laps the fuel in the tank lasts at the planned use (not counting the margin).
    pub fuel_laps_left: f64,
    /// `(opens, closes)`: the earliest lap at whose end a stop still leaves the remaining stops
    /// enough, and the last lap the fuel reaches with the margin left. `None`: no stop needed.
    pub pit_window: Option<(u32, u32)>,
    /// Fuel the next stop adds, litres (`None`: no stop).
    pub next_stop_fuel_l: Option<f64>,
    /// The smallest saving per lap, litres, at which the plan needs one stop fewer, when it is
    /// within [`SKIP_STOP_REACH`] of the fuel use.
    pub fuel_save_to_skip_stop_lpl: Option<f64>,
}

/// A stop counts as "within reach" of fuel saving when it takes at most this share of the
/// fuel per lap (lift and coast saves about this much without losing a lap's worth of time).
pub const SKIP_STOP_REACH: f64 = 0.10;

/// Re-plans the rest of the race from `now`, with `base` (the team's plan request) for what the
/// car cannot measure: tank, margin, refuelling, tyres and the drivers. The drivers' whole-race
/// rules (`minDriverMinutes`, `maxDriverMinutes`) count what each has driven already
/// (`drivenMinutes`), and the driver in the car has their stint limit less the time already in
/// this stint (`firstStintDrivenMinutes`). When the rules can no longer all be met (a driver is
/// over a limit already), the rest of the race is planned on fuel and the other limits alone,
/// rather than leaving the pit wall without a plan.
pub fn revise(base: &PlanRequest, now: &LiveState) -> Result<Revision, PlanError> {
    if now.laps_remaining == 0 {
        return Err(PlanError::Invalid { field: "lapsRemaining".into(), message: "the race is over".into() });
    }
    let margin = base.fuel_margin_l.unwrap_or(base.fuel_per_lap_l);
    let mut drivers = base.drivers.clone();
    for d in &mut drivers {
        let driven = now.driven_s.iter().filter(|(id, _)| *id == d.id).map(|(_, s)| *s).sum::<f64>();
        d.driven_minutes = (driven > 0.0).then_some(driven / 60.0);
    }
    let in_car_listed = now.driver_id.as_deref().is_some_and(|id| drivers.iter().any(|d| d.id == id));
    if let Some(at) = now.driver_id.as_deref().and_then(|d| drivers.iter().position(|x| x.id == d)) {
        drivers.rotate_left(at);
    }
    let basis = PlanRequest {
        race: Race { laps: Some(now.laps_remaining), minutes: None },
        lap_time_s: now.lap_time_s,
        fuel_per_lap_l: now.fuel_per_lap_l,
        tank_l: base.tank_l,
        start_fuel_l: Some(now.fuel_l.clamp(0.0, base.tank_l)),
        fuel_margin_l: Some(margin),
        pit_lane_s: now.pit_lane_s,
        refuel_lps: base.refuel_lps,
        tyre_change_s: base.tyre_change_s,
        tyres_every_stints: base.tyres_every_stints,
        drivers,
        min_driver_minutes: base.min_driver_minutes,
        max_driver_minutes: base.max_driver_minutes,
        first_stint_driven_minutes: (in_car_listed && now.stint_s > 0.0).then_some(now.stint_s / 60.0),
    };
    let (basis, mut relative) = match plan(&basis) {
        Ok(p) => (basis, p),
        Err(PlanError::Infeasible { .. }) => {
            let relaxed = PlanRequest {
                min_driver_minutes: None,
                max_driver_minutes: None,
                first_stint_driven_minutes: None,
                ..basis
            };
            let p = plan(&relaxed)?;
            (relaxed, p)
        }
        Err(e) => return Err(e),
    };
    for s in &mut relative.stints {
        s.start_lap += now.laps_done;
        s.end_lap += now.laps_done;
    }
    let fpl = now.fuel_per_lap_l;
    let usable = (now.fuel_l - margin).max(0.0);
    let laps_on_fuel = (usable / fpl).floor() as u32;
    let pit_window = (relative.stops > 0).then(|| {
        let tank_laps = ((base.tank_l - margin) / fpl).floor() as u32;
        let open = now.laps_remaining.saturating_sub(relative.stops.saturating_mul(tank_laps)).max(1);
        let close = laps_on_fuel.min(now.laps_remaining - 1).max(1);
        (now.laps_done + open.min(close), now.laps_done + close)
    });
    let next_stop_fuel_l = relative.stints.get(1).map(|s| s.fuel_added_l);
    let fuel_save_to_skip_stop_lpl = skip_stop_saving(&basis, relative.stops);
    Ok(Revision {
        basis,
        fuel_laps_left: now.fuel_l.max(0.0) / fpl,
        plan: relative,
        pit_window,
        next_stop_fuel_l,
        fuel_save_to_skip_stop_lpl,
    })
}

/// The smallest saving per lap (to 0.01 L, rounded up) with which the planner finds a plan of
/// fewer than `stops` stops, searched up to [`SKIP_STOP_REACH`] of the fuel use.
fn skip_stop_saving(basis: &PlanRequest, stops: u32) -> Option<f64> {
    if stops == 0 {
        return None;
    }
    let fewer = |saving: f64| {
        let mut r = basis.clone();
        r.fuel_per_lap_l = basis.fuel_per_lap_l - saving;
        plan(&r).is_ok_and(|p| p.stops < stops)
    };
    let reach = basis.fuel_per_lap_l * SKIP_STOP_REACH;
    if !fewer(reach) {
        return None;
    }
    // Fewer stops at `hi`, not at `lo`: halve to a hundredth of a litre.
    let (mut lo, mut hi) = (0.0_f64, reach);
    while hi - lo > 0.001 {
        let mid = (lo + hi) / 2.0;
        if fewer(mid) { hi = mid } else { lo = mid }
    }
    // Up to the next hundredth, without turning 0.1500000001 into 0.16.
    let rounded = (hi * 100.0 - 1e-6).ceil() / 100.0;
    Some(if fewer(rounded) { rounded } else { hi })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DriverSpec;

    /// A 100-lap race, 2.0 L a lap, a 50 L tank, margin 2 L: 24 laps a tank.
    fn base() -> PlanRequest {
        PlanRequest {
            race: Race { laps: Some(100), minutes: None },
            lap_time_s: 100.0,
            fuel_per_lap_l: 2.0,
            tank_l: 50.0,
            start_fuel_l: None,
            fuel_margin_l: Some(2.0),
            pit_lane_s: 30.0,
            refuel_lps: 2.0,
            tyre_change_s: 20.0,
            tyres_every_stints: None,
            drivers: vec![
                DriverSpec { id: "ana".into(), max_stint_minutes: None, lap_time_s: None, driven_minutes: None },
                DriverSpec { id: "ben".into(), max_stint_minutes: None, lap_time_s: None, driven_minutes: None },
            ],
            min_driver_minutes: Some(10.0),
            max_driver_minutes: None,
            first_stint_driven_minutes: None,
        }
    }

    fn state(laps_done: u32, fuel_l: f64) -> LiveState {
        // The laps so far shared evenly, 100 s each.
        let half = f64::from(laps_done / 2) * 100.0;
        LiveState {
            driven_s: vec![("ana".into(), half), ("ben".into(), half)],
            stint_s: 0.0,
            laps_done,
            laps_remaining: 100 - laps_done,
            fuel_l,
            fuel_per_lap_l: 2.0,
            lap_time_s: 100.0,
            pit_lane_s: 30.0,
            driver_id: Some("ben".into()),
        }
    }

    /// Worked by hand: after 10 laps with 30 L, 90 laps remain. 30 L less the 2 L margin is 14
    /// laps (to lap 24). A full tank is 24 laps, so 90 laps need ⌈(90 − 14) / 24⌉ = 4 stops;
    /// with 4 stops the first may come as soon as 90 − 4·24 = −6 → the end of the next lap (11).
    #[test]
    fn the_window_and_the_next_stop_worked_by_hand() {
        let r = revise(&base(), &state(10, 30.0)).expect("plan");
        assert_eq!(r.plan.stops, 4);
        assert_eq!(r.pit_window, Some((11, 24)));
        assert!((r.fuel_laps_left - 15.0).abs() < 1e-9);
        assert_eq!(r.plan.stints[0].start_lap, 11);
        assert_eq!(r.plan.stints.last().map(|s| s.end_lap), Some(100));
        // The rotation goes on from the driver in the car.
        assert_eq!(r.plan.stints[0].driver_id, "ben");
        assert_eq!(r.plan.stints[1].driver_id, "ana");
        assert_eq!(r.next_stop_fuel_l, Some(r.plan.stints[1].fuel_added_l));
        // The whole-race driver rule is carried, with what each has driven (5 laps, 500 s).
        assert_eq!(r.basis.min_driver_minutes, Some(10.0));
        assert!(r.basis.drivers.iter().all(|d| d.driven_minutes.is_some_and(|m| (m - 500.0 / 60.0).abs() < 1e-9)));
        assert_eq!(r.basis.start_fuel_l, Some(30.0));
    }

    /// 40 laps remain with 30 L: 14 laps on this fuel, then a full tank (24) reaches 38 laps:
    /// two stops; the window opens at once (40 − 2·24 < 1) and closes at lap 60 + 14. One stop
    /// is enough when ⌊28/(2−s)⌋ + ⌊48/(2−s)⌋ ≥ 40: first at s = 2 − 28/15 = 0.1333…, so 0.14.
    #[test]
    fn the_saving_that_skips_a_stop_makes_the_planner_need_one_fewer() {
        let r = revise(&base(), &state(60, 30.0)).expect("plan");
        assert_eq!(r.plan.stops, 2);
        assert_eq!(r.pit_window, Some((61, 74)));
        assert_eq!(r.fuel_save_to_skip_stop_lpl, Some(0.14));
        // 20 laps with 38.5 L: 36.5 usable litres are 18 laps, one stop; 20 laps need
        // 36.5/20 = 1.825 L a lap: 0.175 saved, so 0.18.
        let r = revise(&base(), &state(80, 38.5)).expect("plan");
        assert_eq!(r.plan.stops, 1);
        assert_eq!(r.pit_window, Some((81, 98)));
        assert_eq!(r.fuel_save_to_skip_stop_lpl, Some(0.18));
        // With 37 L it would take 0.25 L a lap: more than a tenth of the use, out of reach.
        let r = revise(&base(), &state(80, 37.0)).expect("plan");
        assert_eq!(r.plan.stops, 1);
        assert_eq!(r.fuel_save_to_skip_stop_lpl, None);
    }

    /// Worked by hand: 60 laps done, 40 to go with 30 L (14 laps), a full tank 24 laps, laps of
    /// 100 s. Ana has driven 50 laps (83.3 min) of a 90-minute maximum: 4 laps left to her.
    /// Ben, in the car for 25 minutes of a 30-minute stint limit, may drive 3 more laps of it.
    #[test]
    fn whole_race_rules_count_what_was_driven_and_the_stint_in_progress() {
        let mut req = base();
        req.min_driver_minutes = None;
        req.max_driver_minutes = Some(90.0);
        for d in &mut req.drivers {
            d.max_stint_minutes = Some(30.0);
        }
        let mut now = state(60, 30.0);
        now.driven_s = vec![("ana".into(), 5_000.0), ("ben".into(), 1_000.0)];
        now.stint_s = 25.0 * 60.0;
        let r = revise(&req, &now).expect("plan");
        let laps_of = |id: &str| r.plan.stints.iter().filter(|s| s.driver_id == id).map(|s| s.laps).sum::<u32>();
        assert_eq!(r.plan.stints[0].driver_id, "ben");
        assert!(r.plan.stints[0].laps <= 3, "ben's stint in progress: {:?}", r.plan.stints[0]);
        assert!(laps_of("ana") <= 4, "ana's 4 laps left: {:?}", r.plan.stints);
        assert!(r.plan.stints.iter().all(|s| s.laps <= 18), "18-lap stints: {:?}", r.plan.stints);
        assert_eq!(laps_of("ana") + laps_of("ben"), 40);
        assert_eq!(r.basis.first_stint_driven_minutes, Some(25.0));
        // Ana already over the maximum: the rest is planned without the whole-race rules.
        now.driven_s = vec![("ana".into(), 6_000.0), ("ben".into(), 1_000.0)];
        now.stint_s = 0.0;
        let r = revise(&req, &now).expect("a plan all the same");
        assert_eq!(r.basis.max_driver_minutes, None);
        assert_eq!(r.plan.stints.iter().map(|s| s.laps).sum::<u32>(), 40);
    }

    #[test]
    fn no_stop_needed_has_no_window() {
        let r = revise(&base(), &state(90, 30.0)).expect("plan");
        assert_eq!(r.plan.stops, 0);
        assert_eq!(r.pit_window, None);
        assert_eq!(r.next_stop_fuel_l, None);
        assert_eq!(r.fuel_save_to_skip_stop_lpl, None);
    }

    #[test]
    fn a_finished_race_is_refused() {
        let mut s = state(100, 10.0);
        s.laps_remaining = 0;
        assert!(matches!(revise(&base(), &s), Err(PlanError::Invalid { .. })));
    }
}
