//! `/ws` end to end on a real loopback listener: handshake and authentication, subscriptions
//! and live fan-out, the relay uplink (`telemetry_batch` → `ack`, idempotent), role checks, and
//! two nodes sharing a Redis bus (`PITBOX_TEST_REDIS_URL`).

mod common;

use common::{App, Db, Opts, next_json, serve, telemetry_post, update, ws_login, ws_send};
use serde_json::json;

const T0: i64 = 1_790_000_000_000;

#[tokio::test]
async fn handshake_subscribe_fanout_and_uplink() {
    for db in common::DBS {
        let Some(app) = App::start(db, "handshake_subscribe_fanout_and_uplink", Opts::default()).await else {
            continue;
        };
        let addr = serve(app.router.clone()).await;

        // A bad token: refused with a reason, then closed with 4001.
        let (mut bad, r) = ws_login(addr, "not-a-token", "dashboard").await;
        assert_eq!(r["type"], "authentication_result");
        assert_eq!(r["data"]["success"], false);
        assert!(r["data"]["reason"].as_str().is_some());
        assert_eq!(next_json(&mut bad).await["code"], 4001);

        // A dashboard of team A subscribes.
        let (mut dash, r) = ws_login(addr, &app.token(&app.viewer), "dashboard").await;
        assert_eq!(r["data"]["success"], true, "{r}");
        assert_eq!(r["data"]["teamId"], app.team_a.as_str());
        ws_send(&mut dash, json!({"type": "subscribe", "data": {"maxRateHz": 60}})).await;
        let s = next_json(&mut dash).await;
        assert_eq!(s["type"], "subscribed", "{s}");
        assert_eq!(s["data"]["teamId"], app.team_a.as_str());
        // Another team's subscription is refused.
        ws_send(&mut dash, json!({"type": "subscribe", "data": {"teamId": app.team_b}})).await;
        let e = next_json(&mut dash).await;
        assert_eq!((e["type"].as_str(), e["data"]["code"].as_str()), (Some("error"), Some("forbidden")));
        // A team B dashboard sees nothing of team A.
        let (mut other, _) = ws_login(addr, &app.token(&app.engineer_b), "dashboard").await;
        ws_send(&mut other, json!({"type": "subscribe", "data": {}})).await;
        assert_eq!(next_json(&mut other).await["type"], "subscribed");

        // A sample posted over HTTP arrives live.
        let (s, _) =
            app.as_user(&app.driver, "POST", "/api/telemetry", Some(telemetry_post(&app.driver.id, T0, 1))).await;
        assert_eq!(s, axum::http::StatusCode::CREATED);
        let u = next_json(&mut dash).await;
        assert_eq!(u["type"], "telemetry_update", "{u}");
        assert_eq!(u["data"]["driverId"], app.driver.id.as_str());
        assert_eq!(u["data"]["speed"], 200.5);

        // A team message posted over HTTP arrives live.
        let (s, _) = app.as_user(&app.engineer, "POST", "/api/messages", Some(json!({"content": "box box"}))).await;
        assert_eq!(s, axum::http::StatusCode::CREATED);
        let m = next_json(&mut dash).await;
        assert_eq!((m["type"].as_str(), m["data"]["content"].as_str()), (Some("team_message"), Some("box box")));
        // A dashboard that subscribes now is caught up at once on the driver's latest sample
        // (state, not events: the team message is not replayed).
        let (mut late, _) = ws_login(addr, &app.token(&app.engineer), "dashboard").await;
        ws_send(&mut late, json!({"type": "subscribe", "data": {}})).await;
        assert_eq!(next_json(&mut late).await["type"], "subscribed");
        let u = next_json(&mut late).await;
        assert_eq!((u["type"].as_str(), u["data"]["speed"].as_f64()), (Some("telemetry_update"), Some(200.5)), "{u}");
        ws_send(&mut late, json!({"type": "ping", "data": {"id": 2, "timestamp": "2026-11-26T16:00:00Z"}})).await;
        assert_eq!(next_json(&mut late).await["type"], "pong", "nothing else was replayed");
        drop(late);

        // The relay uplink: store, then ack; a resend is acked again without storing twice.
        let (mut relay, r) = ws_login(addr, &relay_token(&app), "relay").await;
        assert_eq!(r["data"]["success"], true);
        let batch = |seq: u64, n: u64| {
            let samples: Vec<_> = (0..n)
                .map(|i| update(&app.driver.id, T0 + 1000 + ((seq * 100 + i) as i64) * 16, 2, seq * 100 + i))
                .collect();
            json!({"type": "telemetry_batch", "data": {"driverId": app.driver.id, "sequence": seq, "samples": samples}})
        };
        for seq in 1..=3 {
            ws_send(&mut relay, batch(seq, 50)).await;
            let a = next_json(&mut relay).await;
            assert_eq!(a, json!({"type": "ack", "data": {"driverId": app.driver.id, "sequence": seq}}));
        }
        ws_send(&mut relay, batch(2, 50)).await;
        assert_eq!(next_json(&mut relay).await["data"]["sequence"], 3);
        // The relay's compressed binary frames (pitbox-hub's uplink codec) work the same.
        let b4: pitbox_model::control::TelemetryBatch =
            serde_json::from_value(batch(4, 50)["data"].clone()).expect("batch");
        let frame = pitbox_hub::uplink::encode_batch(&b4, 3).expect("encode");
        futures_util::SinkExt::send(&mut relay, tokio_tungstenite::tungstenite::Message::Binary(frame.into()))
            .await
            .expect("send");
        assert_eq!(
            next_json(&mut relay).await,
            json!({"type": "ack", "data": {"driverId": app.driver.id, "sequence": 4}})
        );
        let garbage = vec![0x28, 0xB5, 0x2F, 0xFD, 1, 2, 3];
        futures_util::SinkExt::send(&mut relay, tokio_tungstenite::tungstenite::Message::Binary(garbage.into()))
            .await
            .expect("send");
        assert_eq!(next_json(&mut relay).await["data"]["code"], "invalid_message");
        ws_send(&mut relay, batch(6, 50)).await;
        let e = next_json(&mut relay).await;
        assert_eq!(
            (e["data"]["code"].as_str(), e["data"]["field"].as_str()),
            (Some("conflict"), Some("data.sequence"))
        );
        let n = pitbox_cloud::telemetry::stored_sample_count(&app.state.store, &app.driver.id).await.expect("count");
        assert_eq!(n, 1 + 200);
        // Uplink samples are fanned out too (coalesced: the latest one at least).
        let mut got = false;
        for _ in 0..10 {
            let u = next_json(&mut dash).await;
            if u["type"] == "telemetry_update" && u["data"]["lap"] == 2 {
                got = true;
                break;
            }
        }
        assert!(got, "uplink samples reached the dashboard");

        // Role checks per message.
        let (mut view, _) = ws_login(addr, &app.token(&app.viewer), "dashboard").await;
        ws_send(&mut view, json!({"type": "telemetry_update", "data": update(&app.viewer.id, T0, 1, 1)})).await;
        let e = next_json(&mut view).await;
        assert_eq!(
            (e["data"]["code"].as_str(), e["data"]["messageType"].as_str()),
            (Some("forbidden"), Some("telemetry_update"))
        );
        // A relay speaks for the drivers of its token's team only (services.rs covers team-mates).
        ws_send(&mut relay, json!({"type": "telemetry_update", "data": update(&app.driver_b.id, T0, 1, 1)})).await;
        assert_eq!(next_json(&mut relay).await["data"]["code"], "forbidden");
        // The cloud records which relay forwarded what (issue 23 §2): five accepted batches (a
        // resend counted again) of 50 samples for the driver; the refused ones are not counted.
        app.state.hub.hooks().relays().flush(&app.state.store).await.expect("flush");
        let (s, v) = app.as_user(&app.engineer, "GET", "/api/relays", None).await;
        assert_eq!(s, axum::http::StatusCode::OK, "{v}");
        let rows = v.as_array().expect("rows");
        assert_eq!(rows.len(), 1, "{v}");
        assert_eq!(
            (rows[0]["relayId"].as_str(), rows[0]["relayName"].as_str(), rows[0]["driverId"].as_str()),
            (Some("relay-test"), Some("test relay"), Some(app.driver.id.as_str()))
        );
        assert_eq!((rows[0]["messages"].as_i64(), rows[0]["samples"].as_i64()), (Some(5), Some(250)), "{v}");
        assert_eq!(app.as_user(&app.viewer, "GET", "/api/relays", None).await.0, axum::http::StatusCode::FORBIDDEN);
        let (_, v) = app.as_user(&app.engineer_b, "GET", "/api/relays", None).await;
        assert_eq!(v, json!([]));
        // Bad input gets a precise error, and the connection stays open.
        ws_send(&mut relay, json!({"type": "telemetry_update", "data": {"driverId": app.driver.id}})).await;
        let e = next_json(&mut relay).await;
        assert_eq!(e["data"]["code"], "validation_failed");
        assert!(e["data"]["field"].as_str().is_some_and(|f| f.starts_with("data.")), "{e}");
        // A handoff over the socket: to a driver of another team is refused; to a teammate it
        // is stored and pushed to the team.
        let handoff = |target: &str| {
            json!({"type": "handoff_request", "data": {
                "id": format!("hnd-ws-{target}"), "requesterId": app.driver.id, "requesterName": "ana",
                "targetDriverId": target, "targetDriverName": "x", "reason": "", "urgency": "normal",
                "requestedAt": "2026-11-26T16:00:00Z", "status": "pending", "telemetrySnapshot": null}})
        };
        ws_send(&mut relay, handoff(&app.driver_b.id)).await;
        let e = next_json(&mut relay).await;
        assert_eq!(
            (e["data"]["code"].as_str(), e["data"]["field"].as_str()),
            (Some("validation_failed"), Some("data.targetDriverId"))
        );
        ws_send(&mut relay, handoff(&app.driver2.id)).await;
        let mut pushed = false;
        for _ in 0..20 {
            let m = next_json(&mut dash).await;
            if m["type"] == "handoff_request" {
                assert_eq!(m["data"]["targetDriverId"], app.driver2.id.as_str());
                pushed = true;
                break;
            }
        }
        assert!(pushed, "the handoff reached the team's dashboard");
        // The relay speaks with its own credential, not as the requester: without `subscribe`
        // nothing of the team comes back to it, only the pong.
        ws_send(&mut relay, json!({"type": "ping", "data": {"id": 7, "timestamp": "2026-11-26T16:00:00Z"}})).await;
        assert_eq!(next_json(&mut relay).await["type"], "pong");

        // Nothing of team A reached team B's dashboard.
        ws_send(&mut other, json!({"type": "ping", "data": {"id": 1, "timestamp": "2026-11-26T16:00:00Z"}})).await;
        assert_eq!(next_json(&mut other).await["type"], "pong");
    }
}

#[tokio::test]
async fn unauthenticated_messages_are_refused() {
    let Some(app) = App::start(Db::Sqlite, "unauthenticated_messages_are_refused", Opts::default()).await else {
        return;
    };
    let addr = serve(app.router.clone()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.expect("connect");
    assert_eq!(next_json(&mut ws).await["type"], "connection_established");
    ws_send(&mut ws, json!({"type": "subscribe", "data": {}})).await;
    assert_eq!(next_json(&mut ws).await["data"]["code"], "not_authenticated");
    ws_send(&mut ws, json!({"type": "authenticate", "data": {"token": app.token(&app.viewer), "clientType": "dashboard", "version": "2.0"}})).await;
    assert_eq!(next_json(&mut ws).await["data"]["code"], "unsupported_version");
    assert_eq!(next_json(&mut ws).await["code"], 4003);
}

#[tokio::test]
async fn two_nodes_share_a_redis_bus() {
    let test = "two_nodes_share_a_redis_bus";
    let Some((bus_a, bus_b)) = common::two_buses(test, common::BusKind::Redis, "node-a", "node-b").await else {
        return;
    };
    two_nodes_share_a_bus("two_nodes_redis", bus_a, bus_b).await;
}

#[tokio::test]
async fn two_nodes_share_a_nats_bus() {
    let test = "two_nodes_share_a_nats_bus";
    let Some((bus_a, bus_b)) = common::two_buses(test, common::BusKind::Nats, "node-a", "node-b").await else {
        return;
    };
    two_nodes_share_a_bus("two_nodes_nats", bus_a, bus_b).await;
}

#[tokio::test]
async fn an_unreachable_bus_fails_the_start_with_its_address() {
    // Nothing listens on port 1 of loopback.
    let e = pitbox_cloud::bus::Bus::nats("nats://127.0.0.1:1", "n").await.expect_err("refused");
    assert!(e.to_string().starts_with("nats bus at nats://127.0.0.1:1: "), "{e}");
    let e = pitbox_cloud::bus::Bus::redis("redis://127.0.0.1:1", "n").await.expect_err("refused");
    assert!(e.to_string().starts_with("redis bus at redis://127.0.0.1:1: "), "{e}");
}

/// A sample posted on node A reaches a dashboard on node B, a dashboard opened later on B is
/// caught up on A's driver, and a message written on B reaches a dashboard on A.
async fn two_nodes_share_a_bus(name: &str, bus_a: pitbox_cloud::bus::Bus, bus_b: pitbox_cloud::bus::Bus) {
    // Node A with the fixtures; node B on the same database and key.
    let Some(a) = App::start(Db::Sqlite, name, Opts { bus: Some(bus_a), ..Opts::default() }).await else {
        return;
    };
    let addr_b = a.second_node(bus_b, "node-b").await;
    let addr_a = serve(a.router.clone()).await;

    let (mut dash_b, r) = ws_login(addr_b, &a.token(&a.engineer), "dashboard").await;
    assert_eq!(r["data"]["success"], true);
    ws_send(&mut dash_b, json!({"type": "subscribe", "data": {}})).await;
    assert_eq!(next_json(&mut dash_b).await["type"], "subscribed");
    // Subscriptions on the bus settle asynchronously: publish until it arrives (bounded).
    let mut client = pitbox_cloud::httpc::Client::connect(addr_a).await.expect("connect");
    let token = a.token(&a.driver);
    let mut arrived = None;
    for k in 0..20 {
        let body = telemetry_post(&a.driver.id, T0 + k * 16, 1).to_string();
        let r = client.request("POST", "/api/telemetry", Some(&token), Some(body.as_bytes())).await.expect("post");
        assert_eq!(r.status, 201);
        if let Ok(v) = tokio::time::timeout(std::time::Duration::from_millis(300), next_json(&mut dash_b)).await {
            arrived = Some(v);
            break;
        }
    }
    let v = arrived.expect("a sample posted on node A reached a dashboard on node B");
    assert_eq!(v["type"], "telemetry_update");
    assert_eq!(v["data"]["driverId"], a.driver.id.as_str());
    // A dashboard opened on node B only now is caught up on node A's driver at once.
    let (mut late_b, _) = ws_login(addr_b, &a.token(&a.viewer), "dashboard").await;
    ws_send(&mut late_b, json!({"type": "subscribe", "data": {"channels": ["telemetry"]}})).await;
    assert_eq!(next_json(&mut late_b).await["type"], "subscribed");
    let u = next_json(&mut late_b).await;
    assert_eq!(
        (u["type"].as_str(), u["data"]["driverId"].as_str()),
        (Some("telemetry_update"), Some(a.driver.id.as_str()))
    );
    // And a team message written on node B reaches a dashboard on node A.
    let (mut dash_a, _) = ws_login(addr_a, &a.token(&a.viewer), "dashboard").await;
    ws_send(&mut dash_a, json!({"type": "subscribe", "data": {"channels": ["messages"]}})).await;
    assert_eq!(next_json(&mut dash_a).await["type"], "subscribed");
    let mut client_b = pitbox_cloud::httpc::Client::connect(addr_b).await.expect("connect");
    let r = client_b
        .request("POST", "/api/messages", Some(&a.token(&a.engineer)), Some(br#"{"content":"from B"}"#))
        .await
        .expect("post");
    assert_eq!(r.status, 201);
    let m = next_json(&mut dash_a).await;
    assert_eq!((m["type"].as_str(), m["data"]["content"].as_str()), (Some("team_message"), Some("from B")));
}

/// The connection rules `/ws` gets from `pitbox-hub` (the relay's own code) and what the cloud's
/// hooks decide on top: who may connect as a relay, whom an admin may follow, that a relay
/// connection is never closed for refused messages while a dashboard is, and the hub's
/// counters on `/metrics`.
#[tokio::test]
async fn hub_connection_rules_on_the_cloud() {
    let Some(app) = App::start(Db::Sqlite, "hub_connection_rules_on_the_cloud", Opts::default()).await else {
        return;
    };
    let addr = serve(app.router.clone()).await;

    // Only a relay's own credential connects as a relay; a user's token is refused.
    let (mut ws, r) = ws_login(addr, &app.token(&app.engineer), "relay").await;
    assert_eq!(r["data"]["success"], false, "{r}");
    assert!(r["data"]["reason"].as_str().unwrap_or("").contains("relay credential"), "{r}");
    assert_eq!(next_json(&mut ws).await["code"], 4001);

    // An admin follows any team; an engineer only their own (live.rs above checks the refusal).
    let (mut admin, r) = ws_login(addr, &app.token(&app.admin), "dashboard").await;
    assert_eq!(r["data"]["success"], true, "{r}");
    ws_send(&mut admin, json!({"type": "subscribe", "data": {"teamId": app.team_b}})).await;
    let s = next_json(&mut admin).await;
    assert_eq!((s["type"].as_str(), s["data"]["teamId"].as_str()), (Some("subscribed"), Some(app.team_b.as_str())));
    // … and hears that team: a sample of team B's driver arrives.
    let (s, _) = app
        .as_user(&app.driver_b, "POST", "/api/telemetry", Some(common::telemetry_post(&app.driver_b.id, T0, 1)))
        .await;
    assert_eq!(s, axum::http::StatusCode::CREATED);
    let u = next_json(&mut admin).await;
    assert_eq!(
        (u["type"].as_str(), u["data"]["driverId"].as_str()),
        (Some("telemetry_update"), Some(app.driver_b.id.as_str()))
    );

    // A relay gets an error for every bad message and stays open; a dashboard is closed (4008).
    let bad = json!({"type": "telemetry_update", "data": {"driverId": app.driver.id}});
    let (mut relay, _) = ws_login(addr, &relay_token(&app), "relay").await;
    let (mut dash, _) = ws_login(addr, &app.token(&app.driver), "dashboard").await;
    for _ in 0..25 {
        ws_send(&mut relay, bad.clone()).await;
        assert_eq!(next_json(&mut relay).await["data"]["code"], "validation_failed");
    }
    ws_send(&mut relay, json!({"type": "ping", "data": {"id": 1, "timestamp": "2026-11-27T06:00:00Z"}})).await;
    assert_eq!(next_json(&mut relay).await["type"], "pong");
    let mut closed = None;
    for _ in 0..25 {
        ws_send(&mut dash, bad.clone()).await;
    }
    for _ in 0..30 {
        let m = next_json(&mut dash).await;
        if m["type"] == "close" {
            closed = m["code"].as_u64();
            break;
        }
    }
    assert_eq!(closed, Some(4008));

    // The hub's counters, under pitbox_ws_.
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = axum::http::Request::get("/metrics").body(axum::body::Body::empty()).expect("request");
    let resp = app.router.clone().oneshot(req).await.expect("infallible");
    assert_eq!(resp.status(), axum::http::StatusCode::OK);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
    };
    assert!(value("pitbox_ws_connections_total") >= 4);
    assert!(value("pitbox_ws_errors_sent_total") >= 45);
    assert!(value("pitbox_ws_closed_policy_total") >= 1);
    assert!(value("pitbox_ws_auth_failures_total") >= 1);
}

/// A relay's credential for team A (scope `relay`).
fn relay_token(app: &App) -> String {
    app.state
        .keys
        .issue_relay("relay-test", &app.team_a, "test relay", std::time::Duration::from_secs(3600))
        .expect("relay")
        .0
}

/// A relay on a new data folder, or a second relay, numbers a driver's batches from 1 again:
/// each sender's numbering (`origin`) is kept apart, so its batches are stored, not taken for
/// the ones another numbering already stored (issue 21). Within one numbering a resend is still
/// a duplicate and a gap is still refused.
#[tokio::test]
async fn each_senders_batch_numbering_is_kept_apart() {
    for db in common::DBS {
        let Some(app) = App::start(db, "each_senders_batch_numbering_is_kept_apart", Opts::default()).await else {
            continue;
        };
        let addr = serve(app.router.clone()).await;
        let (mut relay, r) = ws_login(addr, &relay_token(&app), "relay").await;
        assert_eq!(r["data"]["success"], true, "{r}");
        let mut t = 0u64;
        let mut batch = |seq: u64, origin: Option<&str>| {
            let samples: Vec<_> = (0..10)
                .map(|i| {
                    t += 1;
                    update(&app.driver.id, T0 + 1000 + (t as i64) * 16, 2, t * 10 + i)
                })
                .collect();
            let mut data = json!({"driverId": app.driver.id, "sequence": seq, "samples": samples});
            if let Some(o) = origin {
                data["origin"] = json!(o);
            }
            json!({"type": "telemetry_batch", "data": data})
        };
        let mut send = async |m: serde_json::Value| {
            ws_send(&mut relay, m).await;
            next_json(&mut relay).await
        };
        let ack = |seq: u64| json!({"type": "ack", "data": {"driverId": app.driver.id, "sequence": seq}});
        // The first relay (no origin: an older relay) and a relay with its own spool.
        for seq in 1..=2 {
            assert_eq!(send(batch(seq, None)).await, ack(seq));
        }
        for seq in 1..=3 {
            assert_eq!(send(batch(seq, Some("spool-a"))).await, ack(seq), "spool-a's own numbering");
        }
        // A relay on a fresh folder: its 1, 2 are new batches too.
        for seq in 1..=2 {
            assert_eq!(send(batch(seq, Some("spool-b"))).await, ack(seq), "spool-b's own numbering");
        }
        // Within a numbering: a resend is acknowledged as stored, a gap refused.
        assert_eq!(send(batch(2, Some("spool-a"))).await, ack(3));
        let e = send(batch(9, Some("spool-b"))).await;
        assert_eq!(
            (e["data"]["code"].as_str(), e["data"]["field"].as_str()),
            (Some("conflict"), Some("data.sequence"))
        );
        let e = send(batch(1, Some("not an id!"))).await;
        assert_eq!(
            (e["data"]["code"].as_str(), e["data"]["field"].as_str()),
            (Some("validation_failed"), Some("data.origin")),
            "{e}"
        );
        let n = pitbox_cloud::telemetry::stored_sample_count(&app.state.store, &app.driver.id).await.expect("count");
        assert_eq!(n, (2 + 3 + 2) * 10, "every numbering's batches stored once");
    }
}
