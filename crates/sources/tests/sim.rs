//! The simulator: physically plausible laps, determinism per seed, pit stops and driver
//! changes, planted mistakes, and the whole path through irsdk's writers and readers.

use pitbox_irsdk::IbtFile;
use pitbox_irsdk::live::LiveWriter;
use pitbox_model::Message;
use pitbox_sources::live::{LiveOptions, LiveSource};
use pitbox_sources::replay::{Pace, ReplayOptions, ReplaySource};
use pitbox_sources::sim::output::{LivePace, SESSION_CAPACITY, live_buffer, write_ibt};
use pitbox_sources::sim::source::SimSource;
use pitbox_sources::sim::track::{BRANDS_INDY, MONZA, RED_BULL_RING, TrackDef};
use pitbox_sources::sim::{MistakeKind, PlantedMistake, SessionKind, Sim, SimConfig, TICK_RATE, vars};
use pitbox_sources::{ConnectionState, SourceEvent, TelemetrySource};
use std::io::Cursor;

fn run_laps(t: &'static TrackDef, seed: u64, laps: i32) -> Sim {
    let mut sim = Sim::new(SimConfig::new(seed, t)).unwrap();
    while sim.player_laps_completed() < laps {
        sim.step();
    }
    sim
}

#[test]
fn lap_times_are_within_5_percent_of_real_gt3_laps() {
    for t in [&RED_BULL_RING, &MONZA] {
        let sim = run_laps(t, 11, 3);
        let laps: Vec<f64> = sim.player_laps().iter().filter(|l| !l.pit).map(|l| l.time_s).collect();
        assert!(laps.len() >= 2, "{}", t.key);
        for lap in &laps {
            let off = (lap - t.reference_lap_s).abs() / t.reference_lap_s;
            assert!(
                off < 0.05,
                "{}: lap {lap:.2} s vs real {:.1} s ({:.1}% off)",
                t.key,
                t.reference_lap_s,
                off * 100.0
            );
        }
        // The field spreads out: not everyone is equally fast, nobody is absurdly slow.
        let field: Vec<f64> = sim.laps().iter().filter(|l| !l.pit).map(|l| l.time_s).collect();
        let (lo, hi) = field.iter().fold((f64::MAX, 0.0f64), |(a, b), x| (a.min(*x), b.max(*x)));
        assert!(hi - lo > 0.5 && hi < t.reference_lap_s * 1.08, "{}: {lo:.2}..{hi:.2}", t.key);
    }
}

/// Writes `laps` laps of the team car into an in-memory `.ibt`.
fn ibt_bytes(cfg: SimConfig, laps: i32) -> Vec<u8> {
    let mut sim = Sim::new(cfg).unwrap();
    let (out, ticks) =
        write_ibt(&mut sim, Cursor::new(Vec::new()), 60 * 60 * 20, |s| s.player_laps_completed() >= laps).unwrap();
    assert!(ticks > 0);
    out.into_inner()
}

#[test]
fn speeds_are_plausible_and_the_car_brakes_before_corners() {
    let cfg = SimConfig::new(3, &RED_BULL_RING);
    let track = pitbox_sources::sim::track::Track::build(&RED_BULL_RING);
    let f = IbtFile::from_bytes(ibt_bytes(cfg, 2)).unwrap();
    let speed = f.handle::<f32>("Speed").unwrap();
    let brake = f.handle::<f32>("Brake").unwrap();
    let throttle = f.handle::<f32>("Throttle").unwrap();
    let dist = f.handle::<f32>("LapDist").unwrap();
    let lap = f.handle::<i32>("Lap").unwrap();
    let lat = f.handle::<f32>("LatAccel").unwrap();
    let rows: Vec<&[u8]> = f.rows().filter(|r| lap.get(r) == 2).collect();
    assert!(rows.len() > 60 * 80, "lap 2 has {} rows", rows.len());
    let vmax = rows.iter().map(|r| speed.get(r)).fold(0.0f32, f32::max) * 3.6;
    let vmin = rows.iter().map(|r| speed.get(r)).fold(f32::MAX, f32::min) * 3.6;
    assert!((240.0..300.0).contains(&vmax), "top speed {vmax} km/h");
    assert!((55.0..95.0).contains(&vmin), "slowest corner {vmin} km/h");
    let glat = rows.iter().map(|r| lat.get(r).abs()).fold(0.0f32, f32::max) / 9.81;
    assert!((1.3..3.0).contains(&glat), "peak lateral {glat} g");
    // Before every slow corner: braking in the 250 m before it, speed falling into it, and no
    // throttle and brake at once.
    // (Corners at the end of a straight of 260 m or more, so the speed before is straight speed.)
    let after_straight = |c: &&pitbox_sources::sim::track::Corner| {
        c.number == 1 || track.corners[c.number - 2].end_m < c.start_m - 260.0
    };
    for c in track.corners.iter().filter(|c| c.radius_m < 80.0).filter(after_straight) {
        let near = |a: f64, b: f64| rows.iter().filter(move |r| (a..b).contains(&f64::from(dist.get(r))));
        let braked = near(c.start_m - 250.0, c.start_m + 10.0).any(|r| brake.get(r) > 0.3);
        assert!(braked, "no braking before corner {} at {:.0} m", c.number, c.start_m);
        let before = near(c.start_m - 260.0, c.start_m - 200.0).map(|r| speed.get(r)).fold(0.0f32, f32::max);
        let inside = near(c.start_m, c.end_m).map(|r| speed.get(r)).fold(f32::MAX, f32::min);
        assert!(before > inside * 1.2, "corner {}: {before} m/s before, {inside} m/s inside", c.number);
    }
    assert!(rows.iter().all(|r| !(brake.get(r) > 0.05 && throttle.get(r) > 0.05)));
}

#[test]
fn the_same_seed_gives_the_same_session() {
    let rows = |seed: u64| {
        let mut cfg = SimConfig::new(seed, &MONZA);
        cfg.cars = 8;
        let mut sim = Sim::new(cfg).unwrap();
        let mut out = Vec::new();
        for i in 0..3_000 {
            sim.step();
            if i % 500 == 0 {
                out.push(sim.row().to_vec());
            }
        }
        (out, sim.session_yaml())
    };
    // Each run is a session of its own (its SubSessionID); everything else follows the seed.
    let sub_session =
        |yaml: &str| yaml.lines().find(|l| l.trim_start().starts_with("SubSessionID:")).map(str::to_string);
    let without_run = |(rows, yaml): (Vec<Vec<u8>>, String)| {
        (rows, yaml.lines().filter(|l| !l.trim_start().starts_with("SubSessionID:")).collect::<Vec<_>>().join("\n"))
    };
    let (a, b) = (rows(5), rows(5));
    assert_ne!(sub_session(&a.1), sub_session(&b.1), "two runs are two sessions");
    assert!(sub_session(&a.1).is_some_and(|l| !l.ends_with(" 0")), "a hosted session's id, not offline's 0");
    assert_eq!(without_run(a), without_run(b));
    assert_ne!(rows(5).0, rows(6).0);
    assert_ne!(without_run(rows(5)).1, without_run(rows(6)).1);
}

#[test]
fn pit_stops_refuel_change_tyres_and_drivers() {
    let mut cfg = SimConfig::new(2, &RED_BULL_RING);
    cfg.cars = 6;
    cfg.player_car_idx = 2;
    cfg.stint_laps = 2;
    let first_driver = cfg.team_drivers[0].clone();
    let mut sim = Sim::new(cfg).unwrap();
    let yaml0 = sim.session_yaml();
    let v = vars::Vars::new().unwrap();
    let (mut on_pit, mut fuel_up, mut wear_seen) = (false, false, false);
    let mut last_fuel = f32::MAX;
    while sim.player_laps_completed() < 5 {
        sim.step();
        let r = sim.row();
        on_pit |= v.on_pit_road.get(r);
        let fuel = v.fuel_level.get(r);
        fuel_up |= fuel > last_fuel + 1.0;
        last_fuel = fuel;
        wear_seen |= v.lf_m.get(r) < 1.0;
    }
    assert!(on_pit && fuel_up, "a stop with refuelling (pit road {on_pit}, refuel {fuel_up})");
    assert!(wear_seen, "tyre wear shows when the car is in the pits");
    assert!(sim.session_version() > 1, "the driver change updates the session info");
    let now = sim.team_driver().to_string();
    assert_ne!(now, first_driver);
    let yaml1 = sim.session_yaml();
    assert!(yaml0.contains(&first_driver) && yaml1.contains(&now) && !yaml1.contains(&first_driver));
    // The pit lap is slower than the racing laps around it.
    let laps = sim.player_laps();
    let pit = laps.iter().filter(|l| l.pit).map(|l| l.time_s).fold(0.0f64, f64::max);
    let clean = laps.iter().filter(|l| !l.pit).map(|l| l.time_s).fold(f64::MAX, f64::min);
    assert!(pit > clean + 15.0, "pit lap {pit:.1} s vs {clean:.1} s");
    // The session info parses with irsdk and shows the team car's new driver.
    let s = pitbox_irsdk::SessionInfo::parse(&yaml1).unwrap();
    assert_eq!(s.driver.player().map(|d| d.user_name.as_str()), Some(now.as_str()));
    assert_eq!(s.driver.drivers.len(), 6);
}

#[test]
fn a_planted_mistake_costs_time_on_its_lap() {
    let mut cfg = SimConfig::new(4, &RED_BULL_RING);
    cfg.cars = 4;
    cfg.player_car_idx = 0;
    let corner = 3; // a slow corner
    cfg.mistakes = vec![PlantedMistake { lap: 3, corner, kind: MistakeKind::Overslow }];
    let mut sim = Sim::new(cfg).unwrap();
    while sim.player_laps_completed() < 4 {
        sim.step();
    }
    let laps = sim.player_laps();
    let t = |n: i32| laps.iter().find(|l| l.lap == n).map(|l| l.time_s).unwrap();
    assert!(t(3) > t(2) + 0.3 && t(3) > t(4) + 0.3, "lap 3 {:.2} vs {:.2} / {:.2}", t(3), t(2), t(4));
    assert_eq!(sim.planted().len(), 1);
}

#[test]
fn sim_file_replays_into_valid_messages() {
    let mut cfg = SimConfig::new(9, &RED_BULL_RING);
    cfg.cars = 20;
    let bytes = ibt_bytes(cfg, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.ibt");
    std::fs::write(&path, &bytes).unwrap();
    let mut o = ReplayOptions::new("driver-7");
    o.pace = Pace::AsFastAsPossible;
    let mut src = ReplaySource::open(&path, o).unwrap();
    let (mut tel, mut standings, mut session) = (0usize, 0usize, None);
    let mut last = None;
    while let Some(ev) = src.next_event().unwrap() {
        match ev {
            SourceEvent::Telemetry(u) => {
                if tel % 97 == 0 {
                    Message::TelemetryUpdate((*u).clone()).validate().unwrap();
                }
                tel += 1;
                last = Some(u);
            }
            SourceEvent::Standings(s) => {
                if standings == 0 || standings % 20 == 0 {
                    Message::StandingsUpdate((*s).clone()).validate().unwrap();
                }
                assert_eq!(s.entries.len(), 20);
                assert_eq!(s.entries[0].position, 1);
                standings += 1;
            }
            SourceEvent::Session(s) => session = Some(s),
            SourceEvent::State(_) | SourceEvent::Spotter(_) => {}
        }
    }
    let s = session.unwrap();
    Message::SessionInfo((*s).clone()).validate().unwrap();
    assert_eq!(s.track.display_name, "Red Bull Ring");
    assert_eq!(s.sectors, vec![0.0, 0.34, 0.67]);
    assert_eq!(s.drivers.len(), 20);
    assert!(standings > tel / 31 && standings <= tel / 29 + 1);
    let u = last.unwrap();
    assert!(u.latitude.is_some() && u.lap >= 2 && u.fuel_level > 0.0 && u.fuel_level < 100.0);
    assert!(u.position.is_some());
}

#[test]
fn sim_source_streams_through_live_memory() {
    let mut cfg = SimConfig::new(1, &RED_BULL_RING);
    cfg.cars = 24;
    let mut src = SimSource::start(cfg, LivePace { speed: 10.0 }, LiveOptions::new("driver-1")).unwrap();
    let (mut tel, mut standings, mut session, mut seq) = (0, 0, None, None::<u64>);
    let start = std::time::Instant::now();
    while tel < 300 {
        match src.next_event().unwrap().unwrap() {
            SourceEvent::Telemetry(u) => {
                assert!(seq.is_none_or(|s| u.sequence.unwrap() > s));
                seq = u.sequence;
                tel += 1;
            }
            SourceEvent::Standings(s) => {
                assert_eq!(s.entries.len(), 24);
                standings += 1;
            }
            SourceEvent::Session(s) => session = Some(s),
            SourceEvent::State(_) | SourceEvent::Spotter(_) => {}
        }
    }
    // 300 samples at 600 per second of wall time: about half a second.
    assert!(start.elapsed().as_secs_f64() < 5.0);
    assert_eq!(src.state(), ConnectionState::Connected);
    assert_eq!(session.unwrap().track.name, "spielberg gp");
    assert!(standings >= 4, "{standings}");
}

#[test]
fn live_source_reconnects_when_the_sim_restarts() {
    let buf = live_buffer();
    let (vars, buf_len) = vars::var_headers();
    let mut cfg = SimConfig::new(1, &RED_BULL_RING);
    cfg.cars = 4;
    cfg.player_car_idx = 0;
    let mut sim = Sim::new(cfg.clone()).unwrap();
    let mut src = LiveSource::shared(buf.clone(), {
        let mut o = LiveOptions::new("d");
        o.retry_interval = std::time::Duration::from_millis(10);
        o
    })
    .unwrap();
    let mut states = Vec::new();
    let mut sessions = 0;
    let mut seqs = Vec::new();
    for round in 0..2 {
        let mut w = LiveWriter::new(&buf, &vars, buf_len, TICK_RATE, SESSION_CAPACITY, 3).unwrap();
        w.set_session_info(&sim.session_yaml());
        let mut got = 0;
        while got < 5 {
            sim.step();
            w.write_row(sim.row()).unwrap();
            // Take what the reader has seen so far.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            loop {
                match src.next_event().unwrap().unwrap() {
                    SourceEvent::Telemetry(u) => {
                        seqs.push(u.sequence.unwrap());
                        got += 1;
                        break;
                    }
                    SourceEvent::State(s) => states.push(s),
                    SourceEvent::Session(_) => sessions += 1,
                    SourceEvent::Standings(_) | SourceEvent::Spotter(_) => {}
                }
                assert!(std::time::Instant::now() < deadline, "round {round}: no sample");
            }
        }
        w.set_connected(false);
        if round == 0 {
            // The reader notices the sim going away.
            loop {
                if let SourceEvent::State(s) = src.next_event().unwrap().unwrap() {
                    states.push(s);
                    if s == ConnectionState::Disconnected {
                        break;
                    }
                }
            }
            sim = Sim::new(cfg.clone()).unwrap();
        }
    }
    assert_eq!(
        states,
        vec![
            ConnectionState::Waiting,
            ConnectionState::Connected,
            ConnectionState::Disconnected,
            ConnectionState::Connected
        ]
    );
    assert_eq!(sessions, 2, "the session is announced on each connection");
    assert!(seqs.windows(2).all(|w| w[1] > w[0]), "sequence numbers carry on: {seqs:?}");
}

#[test]
fn iracing_live_needs_windows_elsewhere() {
    if cfg!(windows) {
        return;
    }
    let e = LiveSource::iracing(LiveOptions::new("d")).err().unwrap().to_string();
    assert!(e.contains("iRacing live needs Windows"), "{e}");
}

/// Issue 20: practice → qualifying → race, as iRacing runs a weekend: `SessionNum` 0, 1, 2, the
/// session clock and lap counter from zero in each, the session info listing all three with the
/// current one, and the race grid in qualifying's best-lap order.
#[test]
fn a_weekend_runs_practice_qualifying_and_race_in_order() {
    let mut cfg = SimConfig::new(3, &BRANDS_INDY);
    cfg.cars = 6;
    cfg.player_car_idx = 2;
    cfg.practice_laps = 1;
    cfg.qualify_laps = 2;
    cfg.session_laps = Some(2);
    let mut sim = Sim::new(cfg).expect("sim");
    let yaml = sim.session_yaml();
    assert!(yaml.contains(" CurrentSessionNum: 0"), "{yaml}");
    for t in ["SessionType: Practice", "SessionType: Lone Qualify", "SessionType: Race"] {
        assert!(yaml.contains(t), "{t} missing: {yaml}");
    }
    let mut seen = vec![(0, SessionKind::Practice)];
    let mut qualifying_best: Vec<(usize, f64)> = Vec::new();
    let version = sim.session_version();
    for _ in 0..60 * 60 * 20 {
        let before = sim.session_num();
        if sim.session_kind() == SessionKind::Qualify {
            // Each car's best lap so far: the grid to come.
            qualifying_best = (0..6)
                .filter_map(|c| {
                    sim.laps()
                        .iter()
                        .filter(|l| l.car_idx == c && !l.pit)
                        .map(|l| l.time_s)
                        .reduce(f64::min)
                        .map(|t| (c, t))
                })
                .collect();
        }
        sim.step();
        if sim.session_num() != before {
            seen.push((sim.session_num(), sim.session_kind()));
            assert!(sim.time() < 0.1, "the session clock restarts: {}", sim.time());
            assert_eq!(sim.player_laps_completed(), 0, "lap counters restart");
            assert!(sim.session_yaml().contains(&format!(" CurrentSessionNum: {}", sim.session_num())));
            if sim.session_kind() == SessionKind::Race {
                let mut want = qualifying_best.clone();
                want.sort_by(|a, b| a.1.total_cmp(&b.1));
                let grid: Vec<usize> = sim.positions().iter().copied().take(want.len()).collect();
                assert_eq!(grid, want.iter().map(|w| w.0).collect::<Vec<_>>(), "race grid from qualifying {want:?}");
            }
        }
        if sim.session_kind() == SessionKind::Race && sim.player_laps_completed() >= 1 {
            break;
        }
    }
    assert_eq!(seen, vec![(0, SessionKind::Practice), (1, SessionKind::Qualify), (2, SessionKind::Race)]);
    assert!(sim.session_version() >= version + 2, "the session info changed at each new session");
}

/// The same weekend through live memory: three sim sessions of one event, each with its own
/// session info, telemetry never carrying another session's identity.
#[test]
fn a_weekend_streams_three_sessions_of_one_event() {
    let mut cfg = SimConfig::new(4, &BRANDS_INDY);
    cfg.cars = 4;
    cfg.player_car_idx = 1;
    cfg.practice_laps = 1;
    cfg.qualify_laps = 1;
    cfg.session_laps = Some(2);
    let mut src = SimSource::start(cfg, LivePace { speed: 60.0 }, LiveOptions::new("driver-1")).expect("source");
    let mut ids: Vec<String> = Vec::new();
    let mut types: Vec<(String, Option<String>)> = Vec::new();
    let start = std::time::Instant::now();
    while start.elapsed().as_secs() < 60 {
        match src.next_event().expect("event") {
            Some(SourceEvent::Telemetry(u)) => {
                let id = u.sim_session_id.clone().expect("telemetry carries its sim session");
                if ids.last() != Some(&id) {
                    assert!(!ids.contains(&id), "back to an earlier session: {ids:?} then {id}");
                    ids.push(id);
                }
                // The race's session info may come after its first samples (the live reader
                // sends what changed in the order it reads it; under wine that order varies).
                if ids.len() == 3 && u.lap >= 1 && types.len() == 3 {
                    break;
                }
            }
            Some(SourceEvent::Session(s)) => {
                let id = s.sim_session_id.clone().expect("session info carries its sim session");
                if types.last().map(|t| &t.0) != Some(&id) {
                    types.push((id, s.sim_session_type.clone()));
                }
            }
            Some(_) => {}
            None => break,
        }
    }
    assert_eq!(ids.len(), 3, "three sim sessions: {ids:?}");
    let event = |id: &str| id.rsplit_once(':').map(|(e, _)| e.to_string());
    assert!(ids.iter().all(|i| event(i) == event(&ids[0])), "one event: {ids:?}");
    let kinds: Vec<Option<&str>> = types.iter().map(|t| t.1.as_deref()).collect();
    assert_eq!(kinds, vec![Some("Practice"), Some("Lone Qualify"), Some("Race")], "{types:?}");
    assert_eq!(types.iter().map(|t| t.0.clone()).collect::<Vec<_>>(), ids, "each session's info has its own identity");
}
