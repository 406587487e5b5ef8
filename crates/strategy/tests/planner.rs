//! Plans worked out by hand (the arithmetic is in the comments), and the errors of impossible or
//! invalid requests.

use pitbox_strategy::{DriverSpec, Plan, PlanError, PlanRequest, Race, plan};

fn driver(id: &str) -> DriverSpec {
    DriverSpec { id: id.into(), max_stint_minutes: None, lap_time_s: None, driven_minutes: None }
}

fn base(race: Race, lap: f64, fpl: f64, tank: f64, drivers: Vec<DriverSpec>) -> PlanRequest {
    PlanRequest {
        race,
        lap_time_s: lap,
        fuel_per_lap_l: fpl,
        tank_l: tank,
        start_fuel_l: None,
        fuel_margin_l: None,
        pit_lane_s: 30.0,
        refuel_lps: 2.0,
        tyre_change_s: 20.0,
        tyres_every_stints: None,
        drivers,
        min_driver_minutes: None,
        max_driver_minutes: None,
        first_stint_driven_minutes: None,
    }
}

fn laps(p: &Plan) -> Vec<u32> {
    p.stints.iter().map(|s| s.laps).collect()
}

fn who(p: &Plan) -> Vec<&str> {
    p.stints.iter().map(|s| s.driver_id.as_str()).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn six_hour_race_two_drivers() {
    // 360 min at 120 s: floor(21600/120) + 1 = 181 laps. 3 L a lap, 100 L tank, margin one
    // lap (3 L): a full tank lasts floor(97/3) = 32 laps, so 6 stints (5 × 32 = 160 < 181).
    let req = base(Race { laps: None, minutes: Some(360.0) }, 120.0, 3.0, 100.0, vec![driver("ana"), driver("ben")]);
    let p = plan(&req).expect("plan");
    assert_eq!(p.race_laps, 181);
    assert_eq!(p.stops, 5);
    // Every stop changes tyres (20 s hides 40 L); even the last stint (21 laps, 63 L) hides
    // them, so full stints first and the splash last.
    assert_eq!(laps(&p), [32, 32, 32, 32, 32, 21]);
    assert_eq!(who(&p), ["ana", "ben", "ana", "ben", "ana", "ben"]);
    let added: Vec<f64> = p.stints.iter().map(|s| s.fuel_added_l).collect();
    // Stop 1 arrives with 100 − 96 = 4 L and needs 96 + 3; the others arrive with 3 L.
    for (got, want) in added.iter().zip([0.0, 95.0, 96.0, 96.0, 96.0, 63.0]) {
        assert!(close(*got, want), "{added:?}");
    }
    assert_eq!(p.stints[5].start_lap, 161);
    assert_eq!(p.stints[5].end_lap, 181);
    assert!(p.stints.iter().skip(1).all(|s| s.new_tyres));
    assert!(!p.stints[0].new_tyres);
    // Stationary: 446 L at 2 L/s = 223 s; plus 5 × 30 s of lane; plus 181 × 120 s.
    assert!(close(p.stationary_s, 223.0), "{}", p.stationary_s);
    assert!(close(p.stints[1].pit_stop_s, 30.0 + 47.5));
    assert!(close(p.total_race_time_s, 21_720.0 + 150.0 + 223.0), "{}", p.total_race_time_s);
    assert!(close(p.finish_fuel_l, 3.0));

    // Ben two seconds faster: the same fuel, so the least race time gives him full stints and
    // Ana the rest (181 − 96 = 85 laps: 32 + 32 + 21); the race still runs 181 laps (leader's pace).
    let mut faster = req.clone();
    faster.drivers[1].lap_time_s = Some(118.0);
    let p = plan(&faster).expect("plan");
    assert_eq!(laps(&p), [32, 32, 32, 32, 21, 32]);
    assert!(close(p.total_race_time_s, 85.0 * 120.0 + 96.0 * 118.0 + 150.0 + 223.0), "{}", p.total_race_time_s);
    assert!(close(p.stints[5].fuel_added_l, 96.0), "the last stop fuels the last stint only");
}

#[test]
fn twenty_four_hours_three_drivers_at_their_longest_stints() {
    // 1440 min at 100 s: 865 laps. 2.5 L a lap, 110 L: a tank lasts floor(107.5/2.5) = 43
    // laps, but each driver may drive 60 min = 36 laps, so 24 × 36 = 864 < 865: 25 stints.
    let mut drivers = vec![driver("ana"), driver("ben"), driver("cat")];
    for d in &mut drivers {
        d.max_stint_minutes = Some(60.0);
    }
    let mut req = base(Race { laps: None, minutes: Some(1440.0) }, 100.0, 2.5, 110.0, drivers);
    req.pit_lane_s = 60.0;
    req.tyre_change_s = 30.0;
    req.tyres_every_stints = Some(2);
    let p = plan(&req).expect("plan");
    assert_eq!(p.race_laps, 865);
    assert_eq!(p.stops, 24);
    // Tyres at even stops need 30 s × 2 L/s = 60 L = 24 laps of fuel to hide them. Full
    // stints first would leave a 1-lap splash with tyres (29 s lost), so the last stint
    // (tyres) gets 24 laps and the one before (no tyres) 865 − 23 × 36 − 24 = 13.
    let mut want = vec![36u32; 23];
    want.extend([13, 24]);
    assert_eq!(laps(&p), want);
    for (k, s) in p.stints.iter().enumerate() {
        assert_eq!(s.driver_id, ["ana", "ben", "cat"][k % 3]);
        assert_eq!(s.new_tyres, k > 0 && k % 2 == 0);
        assert!(s.laps <= 36);
    }
    // Fuel added: 865 × 2.5 + 2.5 − 110 = 2055 L, all of it at 2 L/s (no tyre stop waits).
    let added: f64 = p.stints.iter().map(|s| s.fuel_added_l).sum();
    assert!(close(added, 2055.0), "{added}");
    assert!(close(p.stationary_s, 1027.5), "{}", p.stationary_s);
    assert!(close(p.total_race_time_s, 86_500.0 + 24.0 * 60.0 + 1027.5), "{}", p.total_race_time_s);
    assert!(close(p.stints[24].fuel_added_l, 60.0));
    assert!(close(p.stints[24].pit_stop_s, 60.0 + 30.0));
    assert!(close(p.finish_fuel_l, 2.5));
}

#[test]
fn sprint_needs_no_stop() {
    // 20 laps at 2 L from a full 60 L tank: 40 L burnt, 20 L left.
    let req = base(Race { laps: Some(20), minutes: None }, 90.0, 2.0, 60.0, vec![driver("ana"), driver("ben")]);
    let p = plan(&req).expect("plan");
    assert_eq!(p.stops, 0);
    assert_eq!(laps(&p), [20]);
    assert_eq!(who(&p), ["ana"]);
    assert!(close(p.finish_fuel_l, 20.0));
    assert!(close(p.total_race_time_s, 1_800.0));
    assert!(close(p.stationary_s, 0.0));
    // Starting with 45 L: 21 laps of range (margin 2 L), still no stop, 5 L at the flag.
    let mut short = req.clone();
    short.start_fuel_l = Some(45.0);
    let p = plan(&short).expect("plan");
    assert_eq!(p.stops, 0);
    assert!(close(p.finish_fuel_l, 5.0));
}

#[test]
fn the_last_stop_is_a_splash() {
    // 30 laps, 2 L a lap, 50 L: 24 laps of range, then 6 laps need 12 L + 2 L margin, and
    // the car arrives with 2 L: 12 L in 6 s (no tyres).
    let mut req = base(Race { laps: Some(30), minutes: None }, 90.0, 2.0, 50.0, vec![driver("ana")]);
    req.tyre_change_s = 0.0;
    let p = plan(&req).expect("plan");
    assert_eq!(laps(&p), [24, 6]);
    assert!(close(p.stints[1].fuel_added_l, 12.0));
    assert!(close(p.stints[1].start_fuel_l, 14.0));
    assert!(close(p.stints[1].pit_stop_s, 36.0));
    assert!(close(p.finish_fuel_l, 2.0));
}

#[test]
fn timed_race_laps_follow_the_leader() {
    // 60 min at 100 s: the leader crosses at 3600 s exactly, then once more: 37 laps.
    let req = base(Race { laps: None, minutes: Some(60.0) }, 100.0, 1.0, 100.0, vec![driver("ana")]);
    assert_eq!(plan(&req).expect("plan").race_laps, 37);
    let req = base(Race { laps: None, minutes: Some(59.99) }, 100.0, 1.0, 100.0, vec![driver("ana")]);
    assert_eq!(plan(&req).expect("plan").race_laps, 36);
}

fn infeasible(req: &PlanRequest) -> (String, String) {
    match plan(req) {
        Err(PlanError::Infeasible { field, message }) => (field, message),
        other => panic!("expected an impossible plan, got {other:?}"),
    }
}

#[test]
fn impossible_rules_are_named() {
    let three = || vec![driver("ana"), driver("ben"), driver("cat")];
    let six_hours = || base(Race { laps: None, minutes: Some(360.0) }, 120.0, 3.0, 100.0, three());
    // Three drivers at most 100 min each cannot cover 181 laps of 2 min (362 min).
    let mut req = six_hours();
    req.max_driver_minutes = Some(100.0);
    let (field, msg) = infeasible(&req);
    assert_eq!(field, "maxDriverMinutes", "{msg}");
    // 125 min each is 63 laps each: 189 > 181.
    let mut req = six_hours();
    req.min_driver_minutes = Some(125.0);
    assert_eq!(infeasible(&req).0, "minDriverMinutes");
    // Both at 120.5 min: at least 61 and at most 60 laps each — invalid before planning.
    let mut req = six_hours();
    req.min_driver_minutes = Some(121.0);
    req.max_driver_minutes = Some(120.5);
    assert!(matches!(plan(&req), Err(PlanError::Invalid { field, .. }) if field == "minDriverMinutes"));
    // A stint limit shorter than a lap.
    let mut req = six_hours();
    req.drivers[1].max_stint_minutes = Some(1.5);
    assert_eq!(infeasible(&req).0, "drivers[1].maxStintMinutes");
    // A tank that, less the margin, does not last a lap.
    let mut req = six_hours();
    req.tank_l = 5.0;
    req.fuel_margin_l = Some(2.5);
    assert_eq!(infeasible(&req).0, "tankL");
    // Starting nearly empty.
    let mut req = six_hours();
    req.start_fuel_l = Some(4.0);
    assert_eq!(infeasible(&req).0, "startFuelL");
    // Min and max each possible, not together with 45-minute stints: 3 drivers × [61, 61]
    // laps is 183 ≠ 181.
    let mut req = six_hours();
    req.min_driver_minutes = Some(121.0);
    req.max_driver_minutes = Some(121.9);
    assert_eq!(infeasible(&req).0, "minDriverMinutes");
}

#[test]
fn driver_totals_are_respected() {
    // Two drivers, 181 laps, each at most 200 min (100 laps): the faster one maxes out.
    let mut req =
        base(Race { laps: None, minutes: Some(360.0) }, 120.0, 3.0, 100.0, vec![driver("ana"), driver("ben")]);
    req.max_driver_minutes = Some(200.0);
    req.drivers[1].lap_time_s = Some(118.0);
    let p = plan(&req).expect("plan");
    assert_eq!(p.stops, 5);
    let total = |id: &str, lap: f64| -> f64 {
        p.stints.iter().filter(|s| s.driver_id == id).map(|s| f64::from(s.laps) * lap).sum()
    };
    assert!(total("ana", 120.0) <= 200.0 * 60.0 + 1e-6);
    assert!(total("ben", 118.0) <= 200.0 * 60.0 + 1e-6);
    assert_eq!(laps(&p).iter().sum::<u32>(), 181);
}

#[test]
fn bad_input_is_refused_with_the_field() {
    let ok = || base(Race { laps: Some(20), minutes: None }, 90.0, 2.0, 60.0, vec![driver("ana")]);
    type Change = Box<dyn Fn(&mut PlanRequest)>;
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|r| r.lap_time_s = f64::NAN), "lapTimeS"),
        (Box::new(|r| r.lap_time_s = 0.0), "lapTimeS"),
        (Box::new(|r| r.fuel_per_lap_l = -1.0), "fuelPerLapL"),
        (Box::new(|r| r.tank_l = 0.0), "tankL"),
        (Box::new(|r| r.tank_l = f64::INFINITY), "tankL"),
        (Box::new(|r| r.start_fuel_l = Some(61.0)), "startFuelL"),
        (Box::new(|r| r.fuel_margin_l = Some(60.0)), "fuelMarginL"),
        (Box::new(|r| r.pit_lane_s = -3.0), "pitLaneS"),
        (Box::new(|r| r.refuel_lps = 0.0), "refuelLps"),
        (Box::new(|r| r.tyre_change_s = 1e9), "tyreChangeS"),
        (Box::new(|r| r.tyres_every_stints = Some(0)), "tyresEveryStints"),
        (Box::new(|r| r.race = Race { laps: None, minutes: None }), "race"),
        (Box::new(|r| r.race = Race { laps: Some(3), minutes: Some(3.0) }), "race"),
        (Box::new(|r| r.race = Race { laps: Some(0), minutes: None }), "race.laps"),
        (Box::new(|r| r.race = Race { laps: Some(10_001), minutes: None }), "race.laps"),
        (Box::new(|r| r.race = Race { laps: None, minutes: Some(-5.0) }), "race.minutes"),
        (Box::new(|r| r.race = Race { laps: None, minutes: Some(20_000.0) }), "race.minutes"),
        (Box::new(|r| r.drivers.clear()), "drivers"),
        (Box::new(|r| r.drivers.push(driver("ana"))), "drivers[1].id"),
        (Box::new(|r| r.drivers[0].id = " ".into()), "drivers[0].id"),
        (Box::new(|r| r.drivers[0].lap_time_s = Some(-1.0)), "drivers[0].lapTimeS"),
        (Box::new(|r| r.drivers[0].max_stint_minutes = Some(0.0)), "drivers[0].maxStintMinutes"),
        (Box::new(|r| r.min_driver_minutes = Some(f64::NAN)), "minDriverMinutes"),
        (Box::new(|r| r.max_driver_minutes = Some(0.0)), "maxDriverMinutes"),
    ];
    for (change, field) in cases {
        let mut req = ok();
        change(&mut req);
        match plan(&req) {
            Err(PlanError::Invalid { field: got, message }) => assert_eq!(got, field, "{message}"),
            other => panic!("{field}: expected invalid, got {other:?}"),
        }
    }
}

#[test]
fn large_races_are_planned_or_refused() {
    // 10,000 laps with 12 laps a tank and a driver-total rule (the allocation path): 833 stops.
    let mut req = base(Race { laps: Some(10_000), minutes: None }, 30.0, 1.0, 13.0, vec![driver("ana"), driver("ben")]);
    req.max_driver_minutes = Some(2_600.0);
    let p = plan(&req).expect("plan");
    assert_eq!(p.stops, 833);
    assert_eq!(laps(&p).iter().sum::<u32>(), 10_000);
    // Same without the rule (the exact search's table is too large for it: allocation too).
    req.max_driver_minutes = None;
    assert_eq!(plan(&req).expect("plan").stops, 833);
    // A lap a tank: 9,999 stops is absurd.
    req.tank_l = 2.0;
    assert!(matches!(plan(&req), Err(PlanError::Invalid { field, .. }) if field == "tankL"));
}
