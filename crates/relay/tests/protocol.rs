//! The relay's WebSocket protocol over real loopback sockets: handshake, authentication, every
//! bad-input case, role and team checks, routing, throttling and handoffs.

mod common;

use std::time::Duration;

use common::*;
use pitbox_model::control::{ErrorCode, Subscribe, Unsubscribe};
use pitbox_model::{Channel, ClientType, HandoffStatus, Message, UserRole};

fn subscribe(drivers: &[&str], channels: &[Channel], hz: Option<f64>) -> Message {
    Message::Subscribe(Subscribe {
        team_id: None,
        driver_ids: drivers.iter().map(|s| s.to_string()).collect(),
        channels: channels.to_vec(),
        max_rate_hz: hz,
    })
}

fn golden(kind: &str, set: &[(&str, serde_json::Value)]) -> String {
    let path = format!("{}/../model/tests/golden/{kind}.json", env!("CARGO_MANIFEST_DIR"));
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for (k, val) in set {
        v["data"][*k] = val.clone();
    }
    v.to_string()
}

fn error_of(m: &Message) -> Option<(ErrorCode, Option<String>)> {
    match m {
        Message::Error(e) => Some((e.code, e.field.clone())),
        _ => None,
    }
}

async fn drain(c: &mut Client, d: Duration) -> Vec<Message> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + d;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match c.recv_within(left).await {
            Some(Some(m)) => out.push(m),
            _ => return out,
        }
    }
}

fn telemetry_of(ms: &[Message]) -> Vec<(String, u64)> {
    ms.iter()
        .filter_map(|m| match m {
            Message::TelemetryUpdate(u) => Some((u.driver_id.clone(), u.sequence.unwrap_or(0))),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn handshake_and_ping() {
    let env = Env::start(|_| {}).await;
    let mut c = Client::connect(&env.url).await;
    // ping is allowed before authenticate
    assert!(c.sync().await.is_empty());
    let r = c.authenticate(&env.token("drv-1", UserRole::Driver, TEAM), ClientType::Driver).await;
    assert!(r.success);
    assert_eq!(r.user_id.as_deref(), Some("drv-1"));
    assert_eq!(r.role, Some(UserRole::Driver));
    assert_eq!(r.team_id.as_deref(), Some(TEAM));
    // authenticating twice is a conflict, the connection stays
    c.send(&Message::Authenticate(pitbox_model::control::Authenticate {
        token: env.token("drv-1", UserRole::Driver, TEAM),
        client_type: ClientType::Driver,
        version: "1.0".into(),
        spooled: false,
    }))
    .await;
    let before = c.sync().await;
    assert_eq!(error_of(&before[0]).map(|e| e.0), Some(ErrorCode::Conflict));
    // /ws works as well as /
    let mut c2 = Client::connect(&format!("ws://{}/ws", env.addr())).await;
    assert!(c2.authenticate(&env.token("eng-1", UserRole::Engineer, TEAM), ClientType::Dashboard).await.success);
}

#[tokio::test]
async fn bad_tokens_are_refused_and_closed() {
    let env = Env::start(|_| {}).await;
    let good = env.token("drv-1", UserRole::Driver, TEAM);
    let mut parts: Vec<&str> = good.split('.').collect();
    let forged_payload = {
        use base64::Engine;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let p = String::from_utf8(e.decode(parts[1]).unwrap()).unwrap().replace("\"driver\"", "\"admin\"");
        e.encode(p)
    };
    parts[1] = &forged_payload;
    let tampered = parts.join(".");
    let foreign = {
        let other = pitbox_auth::Signer::new(&pitbox_auth::KeyPair::from_seed([42; 32]), "pitbox-offline");
        other.issue("drv-1", UserRole::Driver, TEAM, None, pitbox_auth::DEFAULT_TTL).unwrap().0
    };
    for (name, token) in [
        ("garbage", "not-a-token".to_string()),
        ("expired", env.expired_token("drv-1")),
        ("tampered", tampered),
        ("foreign key", foreign),
    ] {
        let mut c = Client::connect(&env.url).await;
        let r = c.authenticate(&token, ClientType::Driver).await;
        assert!(!r.success, "{name} accepted");
        assert!(r.reason.as_deref().unwrap_or("").contains("authentication failed"), "{name}: {r:?}");
        let ((code, _), _) = c.until_closed().await;
        assert_eq!(code, 4001, "{name}");
    }
    // a different protocol major version
    let mut c = Client::connect(&env.url).await;
    c.send(&Message::Authenticate(pitbox_model::control::Authenticate {
        token: good,
        client_type: ClientType::Driver,
        version: "2.0".into(),
        spooled: false,
    }))
    .await;
    let ((code, _), seen) = c.until_closed().await;
    assert_eq!(code, 4003);
    assert_eq!(error_of(&seen[0]).map(|e| e.0), Some(ErrorCode::UnsupportedVersion));
}

#[tokio::test]
async fn auth_timeout_closes() {
    let env = Env::start(|c| c.hub.auth_timeout = Duration::from_millis(300)).await;
    let mut c = Client::connect(&env.url).await;
    let ((code, reason), seen) = c.until_closed().await;
    assert_eq!(code, 4002);
    assert!(reason.contains("timeout"), "{reason}");
    assert_eq!(error_of(&seen[0]).map(|e| e.0), Some(ErrorCode::AuthTimeout));
}

#[tokio::test]
async fn every_bad_input_gets_a_precise_error_and_the_connection_stays() {
    let env = Env::start(|_| {}).await;
    let mut c = Client::connect(&env.url).await;
    // before authentication
    c.send(&subscribe(&[], &[], None)).await;
    let before = c.sync().await;
    assert_eq!(error_of(&before[0]).map(|e| e.0), Some(ErrorCode::NotAuthenticated));
    assert!(c.authenticate(&env.token("drv-1", UserRole::Driver, TEAM), ClientType::Driver).await.success);

    let mut bad_throttle: serde_json::Value = serde_json::from_str(&telemetry("drv-1", 1).to_json()).unwrap();
    bad_throttle["data"]["throttle"] = 140.0.into();
    let mut missing: serde_json::Value = serde_json::from_str(&telemetry("drv-1", 1).to_json()).unwrap();
    missing["data"].as_object_mut().unwrap().remove("speed");
    let cases: Vec<(&str, String, ErrorCode, Option<&str>)> = vec![
        ("not json", "{nope".into(), ErrorCode::InvalidJson, None),
        ("array", "[1,2]".into(), ErrorCode::InvalidMessage, None),
        ("no type", r#"{"data":{}}"#.into(), ErrorCode::InvalidMessage, Some("type")),
        ("unknown type", r#"{"type":"warp_drive","data":{}}"#.into(), ErrorCode::UnknownType, Some("type")),
        ("out of range", bad_throttle.to_string(), ErrorCode::ValidationFailed, Some("data.throttle")),
        ("missing field", missing.to_string(), ErrorCode::ValidationFailed, Some("data.speed")),
    ];
    for (name, frame, code, field) in cases {
        c.send_raw(&frame).await;
        let before = c.sync().await;
        assert_eq!(before.len(), 1, "{name}: {before:?}");
        let (got, got_field) = error_of(&before[0]).unwrap_or_else(|| panic!("{name}: {before:?}"));
        assert_eq!(got, code, "{name}");
        if let Some(f) = field {
            assert_eq!(got_field.as_deref(), Some(f), "{name}");
        }
    }
    // invalid UTF-8 in a binary frame is an uplink frame, refused but not fatal
    use futures_util::SinkExt;
    c.ws.send(tokio_tungstenite::tungstenite::Message::binary(vec![0xff, 0xfe, 0x00])).await.unwrap();
    let before = c.sync().await;
    assert!(error_of(&before[0]).is_some(), "{before:?}");
    // still up and useful
    c.send(&telemetry("drv-1", 1)).await;
    assert!(c.sync().await.is_empty());
}

#[tokio::test]
async fn garbage_flood_closes_with_4008() {
    let env = Env::start(|_| {}).await;
    let mut c = env.client("drv-1", UserRole::Driver, TEAM).await;
    for _ in 0..25 {
        c.send_raw("garbage").await;
    }
    let ((code, reason), seen) = c.until_closed().await;
    assert_eq!(code, 4008, "{reason}");
    assert!(seen.iter().filter(|m| error_of(m).is_some()).count() >= 19);
    // others are unaffected
    let mut other = env.client("drv-2", UserRole::Driver, TEAM).await;
    assert!(other.sync().await.is_empty());
}

#[tokio::test]
async fn oversize_frame_closes_with_1009() {
    let env = Env::start(|c| c.hub.max_frame_bytes = 4096).await;
    let mut c = env.client("drv-1", UserRole::Driver, TEAM).await;
    c.send_raw(&format!(r#"{{"type":"ping","data":{{"pad":"{}"}}}}"#, "x".repeat(8000))).await;
    let ((code, _), seen) = c.until_closed().await;
    assert_eq!(code, 1009);
    assert_eq!(error_of(&seen[0]).map(|e| e.0), Some(ErrorCode::FrameTooLarge));
}

#[tokio::test]
async fn rate_flood_is_limited_then_closed() {
    let env = Env::start(|c| {
        c.hub.rate_per_sec = 50.0;
        c.hub.rate_burst = 20.0;
    })
    .await;
    let mut c = env.client("drv-1", UserRole::Driver, TEAM).await;
    for i in 1..=400u64 {
        use futures_util::SinkExt;
        let frame = tokio_tungstenite::tungstenite::Message::text(telemetry("drv-1", i).to_json());
        if c.ws.send(frame).await.is_err() {
            break;
        }
    }
    let ((code, _), seen) = c.until_closed().await;
    assert_eq!(code, 4008);
    assert!(seen.iter().any(|m| error_of(m).map(|e| e.0) == Some(ErrorCode::RateLimited)));
    // the flood did not hurt another client
    let mut other = env.client("drv-2", UserRole::Driver, TEAM).await;
    assert!(other.sync().await.is_empty());
}

#[tokio::test]
async fn roles_table() {
    let env = Env::start(|_| {}).await;
    // (message, who may send it) — docs/protocol.md's table, written out independently.
    let allowed: &[(&str, &[UserRole])] = &[
        ("telemetry_update", &[UserRole::Admin, UserRole::Driver]),
        ("team_message", &[UserRole::Admin, UserRole::Engineer, UserRole::Driver]),
        ("message_read", &[UserRole::Admin, UserRole::Engineer, UserRole::Driver, UserRole::Viewer]),
        ("handoff_request", &[UserRole::Admin, UserRole::Engineer, UserRole::Driver]),
        ("session_info", &[UserRole::Admin, UserRole::Driver]),
        ("standings_update", &[UserRole::Admin, UserRole::Driver]),
        ("driver_status", &[UserRole::Admin, UserRole::Driver]),
        ("subscribe", &[UserRole::Admin, UserRole::Engineer, UserRole::Driver, UserRole::Viewer]),
        ("ai_coaching", &[]),
        ("ack", &[]),
        ("connection_established", &[]),
        ("subscribed", &[]),
        ("error", &[]),
    ];
    for role in [UserRole::Admin, UserRole::Engineer, UserRole::Driver, UserRole::Viewer] {
        let me = format!("u-{role}");
        let mut c = env.client(&me, role, TEAM).await;
        for (kind, who) in allowed {
            let id = serde_json::Value::from(me.clone());
            let frame = match *kind {
                "telemetry_update" => telemetry(&me, 1).to_json(),
                "subscribe" => subscribe(&[], &[Channel::Messages], None).to_json(),
                "team_message" => golden(kind, &[("senderId", id)]),
                "message_read" => golden(kind, &[("readerId", id)]),
                "handoff_request" => golden(
                    kind,
                    &[("requesterId", id), ("id", format!("ho-{role}").into()), ("targetDriverId", "drv-z".into())],
                ),
                "session_info" | "standings_update" | "driver_status" => golden(kind, &[("driverId", id)]),
                _ => golden(kind, &[]),
            };
            c.send_raw(&frame).await;
            let before = c.sync().await;
            let forbidden = before.iter().any(|m| error_of(m).map(|e| e.0) == Some(ErrorCode::Forbidden));
            let other_error = before.iter().find(|m| matches!(error_of(m), Some((c, _)) if c != ErrorCode::Forbidden));
            assert!(other_error.is_none(), "{role} {kind}: {other_error:?}");
            assert_eq!(!forbidden, who.contains(&role), "{role} sending {kind}: {before:?}");
        }
    }
}

#[tokio::test]
async fn nobody_acts_as_someone_else_or_sees_another_team() {
    let env = Env::start(|_| {}).await;
    let mut drv = env.client("drv-1", UserRole::Driver, TEAM).await;
    let cases = vec![
        ("telemetry as another driver", telemetry("drv-2", 1).to_json(), "data.driverId"),
        ("team message as another", golden("team_message", &[("senderId", "eng-1".into())]), "data.senderId"),
        ("session as another", golden("session_info", &[("driverId", "drv-2".into())]), "data.driverId"),
        ("read receipt as another", golden("message_read", &[("readerId", "drv-2".into())]), "data.readerId"),
        (
            "other team",
            {
                let mut s = subscribe(&[], &[], None);
                if let Message::Subscribe(x) = &mut s {
                    x.team_id = Some(OTHER_TEAM.into());
                }
                s.to_json()
            },
            "data.teamId",
        ),
    ];
    for (name, frame, field) in cases {
        drv.send_raw(&frame).await;
        let before = drv.sync().await;
        assert_eq!(error_of(&before[0]), Some((ErrorCode::Forbidden, Some(field.to_string()))), "{name}");
    }
    // an admin may publish for any driver of the team
    let mut admin = env.client("adm-1", UserRole::Admin, TEAM).await;
    admin.send(&telemetry("drv-9", 1)).await;
    assert!(admin.sync().await.is_empty());
}

#[tokio::test]
async fn routing_reaches_exactly_the_right_subscribers() {
    let env = Env::start(|_| {}).await;
    let mut drv1 = env.client("drv-1", UserRole::Driver, TEAM).await;
    let mut drv2 = env.client("drv-2", UserRole::Driver, TEAM).await;
    let mut drv_b = env.client("drv-b", UserRole::Driver, OTHER_TEAM).await;
    let mut all = env.client("eng-1", UserRole::Engineer, TEAM).await;
    let mut only2 = env.client("view-1", UserRole::Viewer, TEAM).await;
    let mut msgs = env.client("view-2", UserRole::Viewer, TEAM).await;
    let mut team_b = env.client("eng-b", UserRole::Engineer, OTHER_TEAM).await;
    let mut nosub = env.client("view-3", UserRole::Viewer, TEAM).await;
    all.send(&subscribe(&[], &[], None)).await;
    only2.send(&subscribe(&["drv-2"], &[], None)).await;
    msgs.send(&subscribe(&[], &[Channel::Messages], None)).await;
    team_b.send(&subscribe(&[], &[], None)).await;
    // Each subscription is caught up on the status of the drivers it follows (connected above).
    for (c, want) in [
        (&mut all, vec!["drv-1", "drv-2"]),
        (&mut only2, vec!["drv-2"]),
        (&mut msgs, vec![]),
        (&mut team_b, vec!["drv-b"]),
    ] {
        let before = c.sync().await;
        assert!(matches!(before.first(), Some(Message::Subscribed(_))), "{before:?}");
        let mut status: Vec<&str> = before[1..]
            .iter()
            .map(|m| match m {
                Message::DriverStatus(s) if s.telemetry_connected => s.driver_id.as_str(),
                other => panic!("only driver status is caught up here: {other:?}"),
            })
            .collect();
        status.sort();
        assert_eq!(status, want, "{before:?}");
    }

    drv1.send(&telemetry("drv-1", 1)).await;
    drv2.send(&telemetry("drv-2", 1)).await;
    drv_b.send(&telemetry("drv-b", 1)).await;
    drv1.send_raw(&golden("team_message", &[("senderId", "drv-1".into())])).await;
    drv2.send_raw(&golden("session_info", &[("driverId", "drv-2".into())])).await;
    // Drivers do not subscribe, yet a team message is for the whole team: drv-2 gets it, its
    // sender does not (no echo), the other team's driver does not.
    assert!(drv1.sync().await.is_empty());
    let to_drv2 = drv2.sync().await;
    assert!(matches!(to_drv2.as_slice(), [Message::TeamMessage(m)] if m.sender_id == "drv-1"), "{to_drv2:?}");
    assert!(drv_b.sync().await.is_empty());
    let wait = Duration::from_millis(400);
    let got_all = drain(&mut all, wait).await;
    let got_only2 = drain(&mut only2, wait).await;
    let got_msgs = drain(&mut msgs, wait).await;
    let got_b = drain(&mut team_b, wait).await;
    let got_none = drain(&mut nosub, wait).await;

    let kinds = |ms: &[Message]| {
        let mut k: Vec<String> = ms
            .iter()
            .map(|m| match m {
                Message::TelemetryUpdate(u) => format!("telemetry:{}", u.driver_id),
                Message::SessionInfo(s) => format!("session:{}", s.driver_id),
                other => other.type_name().to_string(),
            })
            .collect();
        k.sort();
        k
    };
    assert_eq!(kinds(&got_all), vec!["session:drv-2", "team_message", "telemetry:drv-1", "telemetry:drv-2"]);
    assert_eq!(kinds(&got_only2), vec!["session:drv-2", "team_message", "telemetry:drv-2"]);
    assert_eq!(kinds(&got_msgs), vec!["team_message"]);
    assert_eq!(kinds(&got_b), vec!["telemetry:drv-b"]);
    assert!(got_none.is_empty(), "{got_none:?}");

    // unsubscribe from one driver: drv-1 stops, drv-2 continues
    all.send(&Message::Unsubscribe(Unsubscribe { driver_ids: vec!["drv-1".into()], channels: vec![] })).await;
    all.sync().await;
    drv1.send(&telemetry("drv-1", 2)).await;
    drv2.send(&telemetry("drv-2", 2)).await;
    drv1.sync().await;
    drv2.sync().await;
    assert_eq!(telemetry_of(&drain(&mut all, wait).await), vec![("drv-2".to_string(), 2)]);

    // a driver that drops is announced to status subscribers
    drop(drv2);
    let status = drain(&mut only2, Duration::from_millis(800)).await;
    assert!(
        status
            .iter()
            .any(|m| matches!(m, Message::DriverStatus(s) if s.driver_id == "drv-2" && !s.telemetry_connected)),
        "{status:?}"
    );
}

/// A sim's first tick is sequence 0: it is a sample like any other, and only its resend is a
/// duplicate (the whole-system test once lost it when "nothing seen" read as "0 seen").
#[tokio::test]
async fn a_first_sample_with_sequence_zero_is_not_a_duplicate() {
    let env = Env::start(|_| {}).await;
    let mut drv = env.client("drv-1", UserRole::Driver, TEAM).await;
    let mut dash = env.client("eng-1", UserRole::Engineer, TEAM).await;
    dash.send(&subscribe(&["drv-1"], &[Channel::Telemetry], Some(60.0))).await;
    dash.sync().await;
    drv.send(&telemetry("drv-1", 0)).await;
    drv.sync().await;
    let got = telemetry_of(&drain(&mut dash, Duration::from_millis(300)).await);
    assert_eq!(got, vec![("drv-1".to_string(), 0)], "sequence 0 is delivered");
    drv.send(&telemetry("drv-1", 0)).await;
    drv.sync().await;
    let again = telemetry_of(&drain(&mut dash, Duration::from_millis(300)).await);
    assert!(again.is_empty(), "a resend of sequence 0 is a duplicate: {again:?}");
}

#[tokio::test]
async fn subscriber_at_10hz_gets_newest_samples_at_10hz() {
    let env = Env::start(|_| {}).await;
    let mut drv = env.client("drv-1", UserRole::Driver, TEAM).await;
    let mut dash = env.client("eng-1", UserRole::Engineer, TEAM).await;
    let mut fast = env.client("eng-2", UserRole::Engineer, TEAM).await;
    dash.send(&subscribe(&["drv-1"], &[Channel::Telemetry], Some(10.0))).await;
    fast.send(&subscribe(&["drv-1"], &[Channel::Telemetry], Some(60.0))).await;
    dash.sync().await;
    fast.sync().await;
    let sender = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_micros(16_667));
        for seq in 1..=180u64 {
            tick.tick().await;
            drv.send(&telemetry("drv-1", seq)).await;
        }
        drv.sync().await;
        drv
    });
    let (got, got_fast) =
        tokio::join!(drain(&mut dash, Duration::from_millis(3_400)), drain(&mut fast, Duration::from_millis(3_400)));
    let _drv = sender.await.unwrap();
    let seqs: Vec<u64> = telemetry_of(&got).into_iter().map(|(_, s)| s).collect();
    assert!(
        (26..=35).contains(&seqs.len()),
        "10 Hz over 3 s should give about 30 samples, got {}: {seqs:?}",
        seqs.len()
    );
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "newest first, never older: {seqs:?}");
    assert_eq!(seqs.last(), Some(&180), "the newest sample is delivered");
    // gaps between delivered samples are about 6 source samples (60 Hz → 10 Hz)
    let mean_gap = (seqs[seqs.len() - 1] - seqs[0]) as f64 / (seqs.len() - 1) as f64;
    assert!((5.0..=7.5).contains(&mean_gap), "mean gap {mean_gap}");
    let fast_n = telemetry_of(&got_fast).len();
    assert!(fast_n >= 150, "a 60 Hz subscriber gets (nearly) every sample: {fast_n}");
}

#[tokio::test]
async fn handoff_state_machine() {
    let env = Env::start(|_| {}).await;
    let mut d1 = env.client("drv-1", UserRole::Driver, TEAM).await;
    let mut d2 = env.client("drv-2", UserRole::Driver, TEAM).await;
    let mut eng = env.client("eng-1", UserRole::Engineer, TEAM).await;
    eng.send(&subscribe(&[], &[Channel::Handoffs], None)).await;
    eng.sync().await;
    let req = golden(
        "handoff_request",
        &[("id", "ho-1".into()), ("requesterId", "drv-1".into()), ("targetDriverId", "drv-2".into())],
    );
    d1.send_raw(&req).await;
    assert!(d1.sync().await.is_empty(), "no echo to the requester");
    // the target driver gets the request without subscribing
    let to_target = d2.sync().await;
    assert!(
        matches!(to_target.as_slice(), [Message::HandoffRequest(h)] if h.id == "ho-1" && h.status == HandoffStatus::Pending),
        "{to_target:?}"
    );
    // the same id twice is a conflict
    d1.send_raw(&req).await;
    assert_eq!(error_of(&d1.sync().await[0]).map(|e| e.0), Some(ErrorCode::Conflict));
    let resp = |status: &str, who: &str, id: &str| {
        golden("handoff_response", &[("handoffId", id.into()), ("status", status.into()), ("responderId", who.into())])
    };
    // completing a pending handoff is illegal
    d2.send_raw(&resp("completed", "drv-2", "ho-1")).await;
    assert_eq!(error_of(&d2.sync().await[0]).map(|e| e.0), Some(ErrorCode::Conflict));
    // only the target (or staff) accepts
    d1.send_raw(&resp("accepted", "drv-1", "ho-1")).await;
    assert_eq!(error_of(&d1.sync().await[0]).map(|e| e.0), Some(ErrorCode::Forbidden));
    d2.send_raw(&resp("accepted", "drv-2", "ho-404")).await;
    assert_eq!(error_of(&d2.sync().await[0]).map(|e| e.0), Some(ErrorCode::NotFound));
    d2.send_raw(&resp("accepted", "drv-2", "ho-1")).await;
    // the responder gets the new state, not its own response back
    let to_responder = d2.sync().await;
    assert!(
        matches!(to_responder.as_slice(), [Message::HandoffRequest(h)] if h.status == HandoffStatus::Accepted),
        "{to_responder:?}"
    );
    // the requester hears the answer and the new state
    let to_requester = d1.sync().await;
    assert_eq!(
        to_requester.iter().map(|m| m.type_name()).collect::<Vec<_>>(),
        vec!["handoff_response", "handoff_request"],
        "{to_requester:?}"
    );
    eng.send_raw(&resp("completed", "eng-1", "ho-1")).await;
    let mut seen = eng.sync().await;
    seen.extend(drain(&mut eng, Duration::from_millis(400)).await);
    let statuses: Vec<String> = seen
        .iter()
        .filter_map(|m| match m {
            Message::HandoffRequest(h) => Some(h.status.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec!["pending", "accepted", "completed"], "{seen:?}");
}

#[tokio::test]
async fn health_and_metrics() {
    let env = Env::start(|_| {}).await;
    let mut drv = env.client("drv-1", UserRole::Driver, TEAM).await;
    drv.send(&telemetry("drv-1", 1)).await;
    drv.sync().await;
    let get = |path: &'static str| env.http_get(path, "");
    let health = get("/health").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"status\":\"ok\"") && health.contains("\"uplink\":\"offline\""), "{health}");
    let metrics = get("/metrics").await;
    for name in [
        "pitbox_relay_connections 1",
        "pitbox_relay_telemetry_in_total 1",
        "pitbox_relay_dropped_total",
        "pitbox_relay_uplink_connected 0",
    ] {
        assert!(metrics.contains(name), "missing {name} in {metrics}");
    }
}

/// The pit wall on the LAN: a browser asking the relay's `/` gets the dashboard (with the relay's
/// settings), while a driver upgrading `/` still joins the hub on the same port.
#[tokio::test]
async fn serves_the_dashboard_beside_the_websocket() {
    let env = Env::start(|_| {}).await;
    let get = |path: &'static str, extra: &'static str| env.http_get(path, extra);
    let shell = get("/", "").await;
    assert!(shell.starts_with("HTTP/1.1 200"), "{shell}");
    assert!(shell.to_ascii_lowercase().contains("content-type: text/html"), "{shell}");
    let deep = get("/telemetry/drv-1", "").await;
    assert!(deep.starts_with("HTTP/1.1 200") && deep.contains("<html"), "client-side route: {deep}");
    let config = get("/dashboard-config.json", "").await;
    assert!(config.starts_with("HTTP/1.1 200"), "{config}");
    assert!(config.contains("\"restApi\":false") && config.contains("\"wsPath\":\"/\""), "{config}");
    assert!(config.contains("\"serverName\":\"relay "), "{config}");
    // An upgrade that is not a valid WebSocket handshake gets a reason, not the app shell.
    let bad = get("/", "Upgrade: websocket\r\n").await;
    assert!(!bad.starts_with("HTTP/1.1 200") && !bad.contains("<html"), "{bad}");
    // The REST API is the cloud's: the relay answers its paths with a plain 404.
    let api = get("/api/sessions", "").await;
    assert!(api.starts_with("HTTP/1.1 404"), "{api}");
    // And a driver still connects on `/` (Env's clients use it) after all of that.
    let mut drv = env.client("drv-1", UserRole::Driver, TEAM).await;
    drv.send(&telemetry("drv-1", 1)).await;
    drv.sync().await;
}

/// A dashboard that subscribes mid-race gets each driver's latest session, status, standings and
/// sample at once (the state it would otherwise wait for until the driver announces it again),
/// only for what it follows, and never another team's.
#[tokio::test]
async fn a_late_subscriber_is_caught_up_on_each_drivers_state() {
    let env = Env::start(|_| {}).await;
    let mut drv1 = env.client("drv-1", UserRole::Driver, TEAM).await;
    let mut drv2 = env.client("drv-2", UserRole::Driver, TEAM).await;
    let mut drv_b = env.client("drv-b", UserRole::Driver, OTHER_TEAM).await;
    drv1.send_raw(&golden("session_info", &[("driverId", "drv-1".into())])).await;
    drv1.send(&telemetry("drv-1", 1)).await;
    drv1.send(&telemetry("drv-1", 2)).await;
    drv2.send(&telemetry("drv-2", 7)).await;
    drv_b.send_raw(&golden("session_info", &[("driverId", "drv-b".into())])).await;
    drv_b.send(&telemetry("drv-b", 1)).await;
    drv1.sync().await;
    drv2.sync().await;
    drv_b.sync().await;

    let mut all = env.client("eng-1", UserRole::Engineer, TEAM).await;
    all.send(&subscribe(&[], &[], None)).await;
    let got = drain(&mut all, Duration::from_millis(400)).await;
    assert!(matches!(got.first(), Some(Message::Subscribed(_))), "subscribed comes first: {got:?}");
    let sessions: Vec<&str> = got
        .iter()
        .filter_map(|m| match m {
            Message::SessionInfo(s) => Some(s.driver_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(sessions, vec!["drv-1"], "{got:?}");
    let mut samples = telemetry_of(&got);
    samples.sort();
    assert_eq!(samples, vec![("drv-1".to_string(), 2), ("drv-2".to_string(), 7)], "newest sample per driver only");

    // Only what the subscription asks for: drv-2's telemetry, nothing of drv-1.
    let mut narrow = env.client("view-1", UserRole::Viewer, TEAM).await;
    narrow.send(&subscribe(&["drv-2"], &[Channel::Telemetry], None)).await;
    let got = drain(&mut narrow, Duration::from_millis(400)).await;
    assert_eq!(telemetry_of(&got), vec![("drv-2".to_string(), 7)]);
    assert_eq!(got.len(), 2, "subscribed + one sample: {got:?}");
}
