//! The live plan on the simulator (issue 25): a 40-lap race at Brands Hatch Indy (just over 30
//! minutes of sim time, run at 25×) with two pit stops and driver changes. The demo stores the
//! team's plan at start; the cloud's live plan after lap 3 (measured fuel use and pace, laps left
//! from the sim) predicts the stops, and the car's actual stops come within one lap of them. Then
//! a pit command from the pit wall reaches the car in the simulator.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use pitbox_demo::{DemoConfig, start};
use pitbox_model::control::{Authenticate, PROTOCOL_VERSION, Subscribe};
use pitbox_model::{Channel, ClientType, Message};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const RACE_LAPS: u32 = 40;
const STINT_LAPS: u32 = 13;

async fn login(base: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "username": "engineer", "password": "demo-engineer" }))
        .send()
        .await
        .expect("login request");
    let body: Value = r.json().await.expect("login body");
    body["token"].as_str().expect("token").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_plan_predicts_the_simulated_races_stops_within_a_lap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = DemoConfig::local(dir.path());
    cfg.track = "brandsindy".into();
    cfg.pace = 25.0;
    cfg.laps = Some(RACE_LAPS);
    cfg.stint_laps = STINT_LAPS;
    cfg.callouts = false;
    let demo = start(cfg).await.expect("demo starts");
    let base = format!("http://{}", demo.cloud_addr());
    let token = login(&base).await;
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", demo.cloud_addr())).await.expect("ws");
    let (mut tx, mut rx) = ws.split();
    let auth = Message::Authenticate(Authenticate {
        token: token.clone(),
        client_type: ClientType::Dashboard,
        version: PROTOCOL_VERSION.into(),
        spooled: false,
    });
    tx.send(WsMessage::Text(auth.to_json().into())).await.expect("authenticate");
    let sub = Message::Subscribe(Subscribe {
        team_id: None,
        driver_ids: vec![],
        channels: vec![Channel::Telemetry, Channel::Strategy],
        max_rate_hz: Some(20.0),
    });
    tx.send(WsMessage::Text(sub.to_json().into())).await.expect("subscribe");

    let mut planned = false;
    let mut prediction: Option<Vec<u32>> = None;
    // The lap at whose end each stop was made: the lap the car is on when it enters pit road.
    let mut stops: Vec<u32> = Vec::new();
    let mut on_pit_road = false;
    let mut last_lap = 0;
    let mut in_car = String::new();
    let mut drivers_seen = std::collections::BTreeSet::new();
    let mut sim_time_s: f64 = 0.0;
    let mut after_stop: Option<pitbox_model::strategy::StrategyUpdate> = None;
    let deadline = Instant::now() + Duration::from_secs(400);
    while last_lap < RACE_LAPS - 1 {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = match tokio::time::timeout(left, rx.next()).await {
            Ok(Some(Ok(f))) => f,
            other => panic!("the stream ended or went quiet ({other:?}) at lap {last_lap}; stops {stops:?}"),
        };
        let WsMessage::Text(text) = frame else { continue };
        match pitbox_model::decode(text.as_bytes()).expect("valid messages") {
            Message::TelemetryUpdate(u) => {
                last_lap = last_lap.max(u.lap);
                in_car = u.driver_id.clone();
                drivers_seen.insert(u.driver_id.clone());
                sim_time_s = sim_time_s.max(u.session_time.unwrap_or(0.0));
                if !planned && let Some(fuel) = u.fuel_liters {
                    // The demo stored the team's plan at start, made from what the simulator does:
                    // a stint's fuel as the tank (the car starts with it, a little of it used
                    // on the way to the line), no margin.
                    let r = reqwest::Client::new()
                        .get(format!("{base}/api/strategy/plan"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .expect("plan request");
                    assert!(r.status().is_success(), "the demo's plan: {}", r.status());
                    let plan: Value = r.json().await.expect("plan");
                    assert_eq!(plan["request"]["race"]["laps"], RACE_LAPS, "{plan}");
                    assert_eq!(plan["request"]["fuelMarginL"], 0.0, "{plan}");
                    let tank = plan["request"]["tankL"].as_f64().unwrap_or(0.0);
                    // The first sample seen may come some way into the stint (a loaded machine
                    // subscribes late): what the car burned by then is at most its distance at
                    // a stint's rate (the tank lasts a stint), with half a lap of slack.
                    let laps_in = f64::from(u.lap) + u.track_position.clamp(0.0, 1.0);
                    let burned_at_most = (laps_in + 0.5) * tank / f64::from(STINT_LAPS);
                    assert!(
                        tank > 0.0 && fuel <= tank + 0.5 && tank - fuel <= burned_at_most,
                        "the plan's tank {tank} L; the car has {fuel} L at lap {laps_in:.2} (at most {burned_at_most:.2} L burned)"
                    );
                    planned = true;
                }
                let pit = u.on_pit_road == Some(true);
                if pit && !on_pit_road && u.lap > 0 {
                    stops.push(u.lap);
                }
                on_pit_road = pit;
            }
            // After the first stop (a driver change): the car's stop measured across the change,
            // and the time each driver has been in the car counted.
            Message::StrategyUpdate(s) if s.lap >= STINT_LAPS + 3 => {
                after_stop = Some(s);
            }
            Message::StrategyUpdate(s) if prediction.is_none() && s.lap >= 3 => {
                assert_eq!(s.laps_remaining_source, pitbox_model::strategy::InputSource::Sim, "{s:?}");
                assert_eq!(s.fuel_per_lap_source, pitbox_model::strategy::InputSource::Measured, "{s:?}");
                assert_eq!(s.lap + s.laps_remaining, RACE_LAPS, "laps done and left make the race: {s:?}");
                let ends: Vec<u32> = s.stints.iter().map(|st| st.end_lap).collect();
                prediction = Some(ends[..ends.len().saturating_sub(1)].to_vec());
                eprintln!(
                    "live plan after lap {}: {:.2} L a lap ({:?}), {:.1} L in the tank, stops at the end of laps {:?}, window {:?}; basis {:?}",
                    s.lap, s.fuel_per_lap_l, s.fuel_per_lap_source, s.fuel_l, prediction, s.pit_window, s.basis
                );
            }
            _ => {}
        }
    }
    let predicted = prediction.expect("a live plan after lap 3");
    eprintln!(
        "predicted stops {predicted:?}, actual stops {stops:?}; {:.1} minutes of sim time, drivers {drivers_seen:?}",
        sim_time_s / 60.0
    );
    assert!(sim_time_s >= 30.0 * 60.0, "a 30-minute race: {:.1} min", sim_time_s / 60.0);
    assert!(drivers_seen.len() >= 2, "a driver change: {drivers_seen:?}");
    let s = after_stop.expect("a live plan after the first stop");
    eprintln!(
        "after lap {}: pit lane {:.1} s ({:?}); driven {:?}",
        s.lap,
        s.pit_lane_s,
        s.pit_lane_source,
        s.basis.drivers.iter().map(|d| (&d.id, d.driven_minutes)).collect::<Vec<_>>()
    );
    assert_eq!(s.pit_lane_source, pitbox_model::strategy::InputSource::Measured, "{s:?}");
    assert!(s.pit_lane_s > 0.0 && s.pit_lane_s < 120.0, "{}", s.pit_lane_s);
    let driven = s.basis.drivers.iter().filter(|d| d.driven_minutes.is_some_and(|m| m > 5.0)).count();
    assert!(driven >= 2, "two drivers have driven a stint each: {:?}", s.basis.drivers);
    assert_eq!(predicted.len(), 2, "two stops planned: {predicted:?}");
    assert_eq!(stops.len(), predicted.len(), "the car stopped as often as planned: {stops:?} vs {predicted:?}");
    for (p, a) in predicted.iter().zip(&stops) {
        assert!(p.abs_diff(*a) <= 1, "a stop at lap {a}, planned at lap {p}: more than a lap apart");
    }

    // The pit wall sets the next stop of the car: the seat's agent sets it in the simulator,
    // whose samples then carry it (PitSvFuel 5 L, PitSvFlags fuel + the left front tyre).
    let engineer = demo.team().engineer().map(|e| e.user_id.clone()).expect("engineer");
    let cmd = json!({"type": "pit_command", "data": {
        "id": "pit-demo-1", "driverId": in_car, "senderId": engineer, "senderName": "Race Engineer",
        "timestamp": chrono::Utc::now().to_rfc3339(), "clearAll": true, "fuelL": 5.0,
        "tyres": {"lf": true, "rf": false, "lr": false, "rr": false}
    }});
    tx.send(WsMessage::Text(cmd.to_string().into())).await.expect("send the pit command");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = match tokio::time::timeout(left, rx.next()).await {
            Ok(Some(Ok(f))) => f,
            other => panic!("the simulator never showed the pit stop set ({other:?})"),
        };
        let WsMessage::Text(text) = frame else { continue };
        match pitbox_model::decode(text.as_bytes()).expect("valid messages") {
            Message::TelemetryUpdate(u) if u.pit_service_fuel_l == Some(5.0) => {
                assert_eq!(u.pit_service_flags, Some(0x11), "{u:?}");
                break;
            }
            Message::Error(e) => panic!("the pit command was refused: {e:?}"),
            _ => {}
        }
    }
    drop(tx);
    drop(rx);
    demo.shutdown().await.expect("clean shutdown");
}
