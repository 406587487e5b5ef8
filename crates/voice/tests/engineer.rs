//! The race engineer's answers come from the telemetry, standings and session it was given.

use chrono::{TimeZone, Utc};
use pitbox_model::session::{SessionInfo, StandingsEntry, StandingsUpdate, TrackInfo};
use pitbox_model::team::HandoffRequest;
use pitbox_model::telemetry::{TelemetryUpdate, TireWear};
use pitbox_model::{HandoffStatus, Priority, SessionType, Urgency};
use pitbox_voice::engineer::{Action, EngineerConfig, RaceEngineer};
use pitbox_voice::{GapTarget, MessagePreset, VoiceCommand};

fn telemetry(fuel_pct: f64, liters: Option<f64>) -> TelemetryUpdate {
    TelemetryUpdate {
        driver_id: "d1".into(),
        timestamp: Utc.with_ymd_and_hms(2026, 11, 26, 16, 0, 0).unwrap(),
        speed: 250.0,
        rpm: 7_000.0,
        gear: 5,
        throttle: 100.0,
        brake: 0.0,
        steering_angle: 0.0,
        latitude: None,
        longitude: None,
        track_position: 0.4,
        lap: 8,
        sector: 2,
        fuel_level: fuel_pct,
        tire_wear: TireWear { front_left: 12.4, front_right: 18.6, rear_left: 9.0, rear_right: 10.2 },
        position: Some(3),
        lap_distance: None,
        lap_time: None,
        session_time: None,
        yaw_rate: None,
        lateral_accel: None,
        longitudinal_accel: None,
        fuel_liters: liters,
        on_pit_road: None,
        sequence: None,
        sim_session_id: None,
        last_lap_time: None,
        on_track: None,
        in_garage: None,
        replay_playing: None,
        off_track: None,
        session_laps_remaining: None,
        session_time_remaining: None,
        pit_service_flags: None,
        pit_service_fuel_l: None,
        session_flags: None,
    }
}

fn entry(car_idx: u32, number: &str, position: u32, lap: i32, gap_ahead: Option<f64>) -> StandingsEntry {
    StandingsEntry {
        car_idx,
        car_number: number.into(),
        driver_name: format!("Driver {number}"),
        team_name: None,
        car_class: None,
        position,
        class_position: position,
        lap,
        track_position: 0.5,
        last_lap_time: Some(92.5),
        best_lap_time: Some(91.8),
        gap_to_leader: None,
        gap_to_ahead: gap_ahead,
        on_pit_road: false,
        pit_stops: 0,
        is_team_car: false,
    }
}

fn standings() -> StandingsUpdate {
    StandingsUpdate {
        driver_id: "d1".into(),
        timestamp: Utc::now(),
        session_time: 900.0,
        entries: vec![
            entry(4, "11", 1, 9, None),
            entry(7, "23", 2, 9, Some(3.2)),
            entry(2, "42", 3, 8, Some(1.44)),
            entry(9, "7", 4, 8, Some(0.81)),
        ],
        sim_session_id: None,
    }
}

fn session(laps: Option<u32>, duration: Option<f64>) -> SessionInfo {
    SessionInfo {
        driver_id: "d1".into(),
        session_id: "s1".into(),
        timestamp: Utc::now(),
        track: TrackInfo {
            id: None,
            name: "spa".into(),
            display_name: "Spa".into(),
            config_name: None,
            length_km: 7.0,
        },
        car_name: "GT3".into(),
        session_type: SessionType::Race,
        session_laps: laps,
        session_duration: duration,
        sectors: vec![0.0, 0.33, 0.66],
        player_car_idx: 2,
        drivers: vec![],
        sim_session_id: None,
        sim_session_type: None,
        car_number: None,
    }
}

fn said(actions: &[Action]) -> String {
    actions
        .iter()
        .find_map(|a| if let Action::Say { text, .. } = a { Some(text.clone()) } else { None })
        .expect("a spoken answer")
}

#[test]
fn fuel_status_is_a_true_answer() {
    let mut e = RaceEngineer::new(EngineerConfig {
        driver_id: "d1".into(),
        fuel_per_lap_liters: Some(2.8),
        ..Default::default()
    });
    assert_eq!(said(&e.handle(VoiceCommand::FuelStatus)), "No fuel reading yet.");
    e.on_telemetry(&telemetry(42.3, Some(31.5)));
    assert_eq!(said(&e.handle(VoiceCommand::FuelStatus)), "Fuel 42 percent, 31.5 litres, about 11.3 laps.");
    e.on_session(&session(Some(20), None));
    e.on_standings(&standings());
    // Leader on lap 9 of 20: 12 laps to go including this one; 11.3 laps of fuel is short.
    assert_eq!(
        said(&e.handle(VoiceCommand::FuelStatus)),
        "Fuel 42 percent, 31.5 litres, about 11.3 laps. That is short of the 12 laps to go."
    );
    // Percent burn when litres are unknown.
    let mut e = RaceEngineer::new(EngineerConfig { fuel_per_lap_pct: Some(5.0), ..Default::default() });
    e.on_telemetry(&telemetry(60.0, None));
    assert_eq!(said(&e.handle(VoiceCommand::FuelStatus)), "Fuel 60 percent, about 12 laps.");
    let mut e = RaceEngineer::default();
    e.on_telemetry(&telemetry(60.0, None));
    assert_eq!(said(&e.handle(VoiceCommand::FuelStatus)), "Fuel 60 percent. Fuel per lap not measured yet.");
}

#[test]
fn tyres_gaps_and_laps() {
    let mut e = RaceEngineer::default();
    e.on_telemetry(&telemetry(50.0, None));
    assert_eq!(
        said(&e.handle(VoiceCommand::TyreStatus)),
        "Tyres worn: front left 12, front right 19, rear left 9, rear right 10 percent. Front right is the worst."
    );
    assert_eq!(said(&e.handle(VoiceCommand::Gap(GapTarget::Ahead))), "No standings yet.");
    e.on_standings(&standings());
    e.on_session(&session(Some(20), None));
    assert_eq!(said(&e.handle(VoiceCommand::Gap(GapTarget::Ahead))), "Gap ahead 1.4 seconds to car 23.");
    assert_eq!(said(&e.handle(VoiceCommand::Gap(GapTarget::Behind))), "Gap behind 0.8 seconds to car 7.");
    assert_eq!(
        said(&e.handle(VoiceCommand::Gap(GapTarget::Both))),
        "P3. Gap ahead 1.4 seconds to car 23. Gap behind 0.8 seconds to car 7."
    );
    assert_eq!(said(&e.handle(VoiceCommand::LapsRemaining)), "12 laps remaining, including this one.");
    // Timed session: 30 min scheduled, 15 min gone, 92.5 s laps.
    e.on_session(&session(None, Some(1_800.0)));
    assert_eq!(said(&e.handle(VoiceCommand::LapsRemaining)), "15 minutes remaining, about 10 laps.");
    // Repeat that says the last answer again.
    assert_eq!(said(&e.handle(VoiceCommand::RepeatThat)), "15 minutes remaining, about 10 laps.");
}

#[test]
fn box_messages_and_handoffs_become_actions() {
    let mut e = RaceEngineer::new(EngineerConfig { driver_id: "d1".into(), ..Default::default() });
    let a = e.handle(VoiceCommand::BoxThisLap);
    assert!(a.contains(&Action::SetBoxThisLap(true)));
    assert!(e.box_this_lap());
    assert!(a.iter().any(|x| matches!(x, Action::SendTeamMessage { priority: Priority::High, .. })));
    e.handle(VoiceCommand::CancelBox);
    assert!(!e.box_this_lap());
    let a = e.handle(VoiceCommand::MessageTeam(MessagePreset::CarDamaged));
    assert_eq!(a[0], Action::SendTeamMessage { content: "Car is damaged.".into(), priority: Priority::Normal });
    assert!(matches!(e.handle(VoiceCommand::RequestHandoff)[0], Action::RequestHandoff { .. }));
    assert_eq!(said(&e.handle(VoiceCommand::AcceptHandoff)), "No handoff is pending.");
    let now = Utc::now();
    e.on_handoff_request(&HandoffRequest {
        id: "h1".into(),
        requester_id: "d2".into(),
        requester_name: "Alex".into(),
        target_driver_id: "d1".into(),
        target_driver_name: "Sam".into(),
        reason: "stint over".into(),
        urgency: Urgency::Normal,
        requested_at: now,
        status: HandoffStatus::Pending,
        telemetry_snapshot: None,
        responded_at: None,
        responder_id: None,
    });
    let a = e.handle_at(VoiceCommand::AcceptHandoff, now);
    match &a[0] {
        Action::RespondHandoff(r) => {
            assert_eq!(
                (r.handoff_id.as_str(), r.status, r.responder_id.as_str()),
                ("h1", HandoffStatus::Accepted, "d1")
            );
            pitbox_model::validate::validate(r, "").unwrap();
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(said(&a), "Handoff from Alex accepted.");
    assert_eq!(said(&e.handle(VoiceCommand::RadioCheck)), "Loud and clear.");
}

/// A `strategy_update` for `driver` after `lap`, with the pit window closing at lap 20.
fn strategy(driver: &str, lap: u32, saving: Option<f64>) -> pitbox_model::strategy::StrategyUpdate {
    let golden = include_str!("../../model/tests/golden/strategy_update.json");
    let v: serde_json::Value = serde_json::from_str(golden).expect("golden");
    let mut u: pitbox_model::strategy::StrategyUpdate = serde_json::from_value(v["data"].clone()).expect("update");
    u.driver_id = driver.into();
    u.lap = lap;
    u.pit_window = Some(pitbox_model::strategy::PitWindow { opens_lap: 12, closes_lap: 20 });
    u.next_stop_fuel_l = Some(41.3);
    u.fuel_save_to_skip_stop_lpl = saving;
    u
}

#[test]
fn the_live_plan_says_box_as_the_window_closes_and_the_saving_once() {
    let mut e = RaceEngineer::new(EngineerConfig { driver_id: "d1".into(), ..Default::default() });
    let mut heard = Vec::new();
    for lap in 14..=21 {
        let saving = if lap < 19 { Some(0.15) } else { None };
        heard.push((lap, e.on_strategy(&strategy("d1", lap, saving))));
    }
    let said: Vec<(u32, String)> = heard.iter().flat_map(|(l, v)| v.iter().map(move |t| (*l, t.clone()))).collect();
    assert_eq!(
        said,
        vec![
            (14, "Save 0.15 litres a lap to skip a stop.".to_string()),
            (17, "Box in 3 laps, 42 litres.".to_string()),
            (19, "Box next lap, 42 litres.".to_string()),
            (20, "Box this lap, 42 litres.".to_string()),
        ]
    );
    // The same update again says nothing new; a bigger saving is said at once.
    assert!(e.on_strategy(&strategy("d1", 20, None)).is_empty());
    let mut e = RaceEngineer::new(EngineerConfig { driver_id: "d1".into(), ..Default::default() });
    assert_eq!(e.on_strategy(&strategy("d1", 5, Some(0.2))).len(), 1);
    assert!(e.on_strategy(&strategy("d1", 6, Some(0.22))).is_empty());
    assert_eq!(e.on_strategy(&strategy("d1", 7, Some(0.3))), vec!["Save 0.3 litres a lap to skip a stop."]);
    assert_eq!(e.on_strategy(&strategy("d1", 12, Some(0.3))).len(), 1, "repeated after five laps");
    // Another driver's car: nothing for this driver.
    assert!(e.on_strategy(&strategy("d2", 19, Some(0.5))).is_empty());
}

#[test]
fn fuel_to_the_end_is_worked_out_from_the_tank_the_laps_and_the_measured_burn() {
    let mut e = RaceEngineer::new(EngineerConfig { driver_id: "d1".into(), ..Default::default() });
    assert!(VoiceCommand::FuelToTheEnd.is_question());
    assert_eq!(
        said(&e.handle(VoiceCommand::FuelToTheEnd)),
        "No fuel reading yet. Laps to go not known yet. Fuel per lap not measured yet."
    );
    e.on_telemetry(&telemetry(40.0, None));
    assert_eq!(
        said(&e.handle(VoiceCommand::FuelToTheEnd)),
        "Fuel in litres not known. Laps to go not known yet. Fuel per lap not measured yet."
    );
    // Leader on lap 9 of 20: 12 laps to go, this one included.
    e.on_telemetry(&telemetry(42.3, Some(31.0)));
    e.on_session(&session(Some(20), None));
    e.on_standings(&standings());
    assert_eq!(said(&e.handle(VoiceCommand::FuelToTheEnd)), "Fuel per lap not measured yet.");
    // 12 × 2.375 = 28.5 litres needed, 31 in the tank: 2.5 spare.
    e.set_fuel_per_lap_liters(Some(2.375));
    assert_eq!(
        said(&e.handle(VoiceCommand::FuelToTheEnd)),
        "Enough fuel to the end: 31 litres for 12 laps, 2.5 litres spare."
    );
    assert_eq!(
        said(&e.handle(VoiceCommand::RepeatThat)),
        "Enough fuel to the end: 31 litres for 12 laps, 2.5 litres spare."
    );
    // 12 × 2.8 = 33.6 needed: 2.6 short, and no plan to say when to stop.
    e.set_fuel_per_lap_liters(Some(2.8));
    assert_eq!(
        said(&e.handle(VoiceCommand::FuelToTheEnd)),
        "You need 2.6 litres more to the end: 31 litres for 12 laps."
    );
    // 12 × 31/12 = 31: nothing spare.
    e.set_fuel_per_lap_liters(Some(31.0 / 12.0));
    assert_eq!(
        said(&e.handle(VoiceCommand::FuelToTheEnd)),
        "Just enough fuel to the end: 31 litres for 12 laps, nothing spare."
    );
}

#[test]
fn fuel_to_the_end_says_the_plans_stop_and_saving() {
    // A timed race: the laps to go come from the team's plan (40 after lap 17), and so does the
    // fuel per lap, measured on the car (2.04 L).
    let mut e = RaceEngineer::new(EngineerConfig { driver_id: "d1".into(), ..Default::default() });
    let mut t = telemetry(50.0, Some(39.6));
    t.lap = 18;
    e.on_telemetry(&t);
    assert_eq!(said(&e.handle(VoiceCommand::FuelToTheEnd)), "Laps to go not known yet. Fuel per lap not measured yet.");
    // Another driver's plan is not this driver's.
    e.on_strategy(&strategy("d2", 17, Some(0.2)));
    assert_eq!(said(&e.handle(VoiceCommand::FuelToTheEnd)), "Laps to go not known yet. Fuel per lap not measured yet.");
    e.on_strategy(&strategy("d1", 17, Some(0.2)));
    // 40 × 2.04 = 81.6 needed, 39.6 in the tank: 42 more; the window closes at lap 20, 3 laps on.
    assert_eq!(
        said(&e.handle(VoiceCommand::FuelToTheEnd)),
        "You need 42 litres more to the end: one stop, box in 3 laps, 42 litres. Save 0.2 litres a lap to skip a stop."
    );
    // Two laps later with no new plan: 38 laps to go, 38 × 2.04 = 77.52, 35.5 in the tank.
    t.lap = 20;
    t.fuel_liters = Some(35.5);
    e.on_telemetry(&t);
    assert_eq!(
        said(&e.handle(VoiceCommand::FuelToTheEnd)),
        "You need 42 litres more to the end: one stop, box next lap, 42 litres. Save 0.2 litres a lap to skip a stop."
    );
    // The plan after lap 19 (38 laps to go): no saving within reach, none said.
    let mut u = strategy("d1", 19, None);
    u.laps_remaining = 38;
    e.on_strategy(&u);
    assert_eq!(
        said(&e.handle(VoiceCommand::FuelToTheEnd)),
        "You need 42 litres more to the end: one stop, box next lap, 42 litres."
    );
    // The agent's own measurement wins over the plan's: 12 laps at 2 L from 31 L leaves 7 spare;
    // the plan's stop is still said.
    let mut u = strategy("d1", 17, None);
    u.laps_remaining = 12;
    e.on_strategy(&u);
    e.set_fuel_per_lap_liters(Some(2.0));
    t.lap = 18;
    t.fuel_liters = Some(31.0);
    e.on_telemetry(&t);
    assert_eq!(
        said(&e.handle(VoiceCommand::FuelToTheEnd)),
        "Enough fuel to the end: 31 litres for 12 laps, 7 litres spare. The team's plan still has one stop, box in 3 laps, 42 litres."
    );
    // A plan whose fuel per lap is not measured is no measurement.
    let mut e = RaceEngineer::new(EngineerConfig { driver_id: "d1".into(), ..Default::default() });
    e.on_telemetry(&t);
    let mut u = strategy("d1", 17, None);
    u.fuel_per_lap_source = pitbox_model::strategy::InputSource::Plan;
    e.on_strategy(&u);
    assert_eq!(said(&e.handle(VoiceCommand::FuelToTheEnd)), "Fuel per lap not measured yet.");
}

#[test]
fn cancel_pit_stop_clears_the_pit_walls_stop_not_the_box_call() {
    let mut e = RaceEngineer::new(EngineerConfig { driver_id: "d1".into(), ..Default::default() });
    assert!(!VoiceCommand::CancelPitStop.is_question());
    e.handle(VoiceCommand::BoxThisLap);
    let a = e.handle(VoiceCommand::CancelPitStop);
    assert_eq!(
        a,
        vec![Action::ClearPitStop, Action::Say { text: "Copy, pit stop cleared.".into(), priority: Priority::High }]
    );
    assert!(e.box_this_lap(), "the driver's own box call stays");
    assert_eq!(said(&e.handle(VoiceCommand::RepeatThat)), "Copy, pit stop cleared.");
}
