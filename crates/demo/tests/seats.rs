//! The seat dispatcher on the real simulator (fast): only the driver in the car gets samples,
//! every message carries its seat's driver id, laps are shifted past the stored ones, sequence
//! numbers only grow, and the driver changes follow the stint order.

use pitbox_demo::seats::{self, CarEvent, Seat};
use pitbox_sources::live::LiveOptions;
use pitbox_sources::sim::output::LivePace;
use pitbox_sources::sim::source::SimSource;
use pitbox_sources::sim::{SimConfig, track};
use pitbox_sources::{ConnectionState, SourceEvent, TelemetrySource};

#[test]
fn only_the_driver_in_the_car_streams_and_seats_change_at_the_stops() {
    let mut cfg = SimConfig::new(3, track::find("brandsindy").expect("track"));
    cfg.cars = 4;
    cfg.session_laps = Some(4);
    cfg.stint_laps = 1;
    cfg.team_drivers = vec!["Ann".into(), "Ben".into(), "Cat".into()];
    cfg.player_car_idx = 1;
    let source = SimSource::start(cfg, LivePace { speed: 200.0 }, LiveOptions::new("car")).expect("simulator");
    let seat_list: Vec<Seat> = ["Ann", "Ben", "Cat"]
        .iter()
        .map(|n| Seat { user_id: format!("usr-{}", n.to_lowercase()), name: (*n).into() })
        .collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let laps_seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let l = laps_seen.clone();
    let on_new_lap = Box::new(move |lap| l.lock().expect("lock").push(lap));
    let (mut dispatcher, seat_sources) =
        seats::start(Box::new(source), seat_list.clone(), 10, tx, on_new_lap).expect("start");
    let readers: Vec<_> = seat_sources
        .into_iter()
        .map(|mut s| {
            std::thread::spawn(move || {
                let mut events = Vec::new();
                while let Ok(Some(e)) = s.next_event() {
                    events.push(e);
                }
                events
            })
        })
        .collect();

    let mut changes = Vec::new();
    let mut car_samples = 0usize;
    loop {
        match rx.blocking_recv().expect("car events until Finished") {
            CarEvent::DriverChanged { from, to } => changes.push((from, to)),
            CarEvent::Telemetry { seat, update } => {
                assert_eq!(update.driver_id, seat_list[seat].user_id);
                car_samples += 1;
            }
            CarEvent::Finished => break,
        }
    }
    dispatcher.stop();
    assert!(dispatcher.finished());
    assert_eq!(changes[0], (None, 0), "Ann starts");
    assert!(changes.len() >= 3, "a driver change at each one-lap stint's stop: {changes:?}");
    assert_eq!(changes[1], (Some(0), 1));
    assert_eq!(changes[2], (Some(1), 2));
    assert!(car_samples > 100);
    let laps = laps_seen.lock().expect("lock").clone();
    assert_eq!(laps.first(), Some(&11), "lap 1 of the new race is stored as lap 11 (10 + 1)");
    assert!(laps.windows(2).all(|w| w[1] == w[0] + 1), "each new lap reported once, in order: {laps:?}");
    assert_eq!(laps.last().copied(), Some(dispatcher.max_lap()));

    let per_seat: Vec<Vec<SourceEvent>> = readers.into_iter().map(|r| r.join().expect("reader")).collect();
    let mut sequences: Vec<(u64, usize)> = Vec::new();
    for (i, events) in per_seat.iter().enumerate() {
        let own = &seat_list[i].user_id;
        let mut sessions = 0;
        let mut connected = false;
        for e in events {
            match e {
                SourceEvent::Telemetry(t) => {
                    assert!(connected, "{own}: samples only while in the car");
                    assert_eq!(&t.driver_id, own);
                    assert!(t.lap >= 10, "laps shifted past the stored ones, got {}", t.lap);
                    sequences.push((t.sequence.expect("sequence"), i));
                }
                SourceEvent::Standings(s) => {
                    assert_eq!(&s.driver_id, own);
                    assert_eq!(s.entries.len(), 4);
                }
                SourceEvent::Session(s) => {
                    assert_eq!(&s.driver_id, own);
                    sessions += 1;
                }
                SourceEvent::State(st) => connected = *st == ConnectionState::Connected,
                SourceEvent::Spotter(_) => {}
            }
        }
        assert!(sessions >= 3, "{own} hears every session change (saw {sessions})");
        assert!(sequences.iter().any(|(_, s)| *s == i), "{own} drove");
    }
    sequences.sort();
    assert!(sequences.windows(2).all(|w| w[0].0 < w[1].0), "sequence numbers are unique");
    // Sorted by sequence, the seats come in stint order: Ann, then Ben, then Cat.
    let mut order: Vec<usize> = sequences.iter().map(|(_, s)| *s).collect();
    order.dedup();
    assert_eq!(&order[..3], &[0, 1, 2]);
}
