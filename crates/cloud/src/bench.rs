//! `pitbox bench ingest`: single-sample `POST /api/telemetry` requests per second from a
//! concurrent keep-alive HTTP load generator, uplink samples per second stored durably (relay
//! WebSocket connections streaming sequenced `telemetry_batch`es, counted when acknowledged),
//! and latency percentiles — on SQLite, and on PostgreSQL with `--postgres-url`. The node and
//! the load generator share the machine, as they would on a 2-core box.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use pitbox_model::control::TelemetryBatch;
use pitbox_model::telemetry::{TelemetryUpdate, TireWear};
use pitbox_model::{Message, UserRole};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::bus::Bus;
use crate::objects::Objects;
use crate::server::{AppState, Config};
use crate::store::{Store, User, new_id};
use crate::token::Keys;

/// `pitbox bench ingest`.
#[derive(Debug, Clone, Args)]
pub struct IngestBenchArgs {
    /// Seconds per measurement
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Concurrent HTTP connections posting single samples
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Relay connections streaming batches (one driver each)
    #[arg(long, default_value_t = 4)]
    pub relays: usize,
    /// Samples per uplink batch (a batch must fit the 256 KiB frame limit: about 500 samples)
    #[arg(long, default_value_t = 300)]
    pub batch_size: usize,
    /// Uplink batches in flight per relay connection
    #[arg(long, default_value_t = 4)]
    pub window: u64,
    /// Also measure on this PostgreSQL database (tables are created; bench users get unique names)
    #[arg(long, env = "PITBOX_BENCH_POSTGRES_URL")]
    pub postgres_url: Option<String>,
}

/// One database's figures.
#[derive(Debug, Clone)]
pub struct IngestFigures {
    pub database: String,
    pub http_requests: u64,
    pub http_errors: u64,
    pub http_per_sec: f64,
    pub http_p50_ms: f64,
    pub http_p99_ms: f64,
    pub uplink_samples: u64,
    pub uplink_per_sec: f64,
    pub uplink_p50_ms: f64,
    pub uplink_p99_ms: f64,
    /// CPU seconds the whole process (node and load generator) used in the uplink phase.
    pub uplink_cpu_s: Option<f64>,
    pub stored_verified: bool,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

/// One uplink sample, typed as a relay holds it (a relay serialises typed samples; building a
/// `serde_json::Value` per sample made the load generator, which shares the node's two cores,
/// the biggest allocator in the profile).
fn sample(driver: &str, seq: u64, t0: i64) -> TelemetryUpdate {
    TelemetryUpdate {
        driver_id: driver.to_string(),
        timestamp: chrono::DateTime::from_timestamp_millis(t0 + seq as i64 * 16).unwrap_or_default(),
        speed: 180.0 + (seq % 100) as f64,
        rpm: 7200.0,
        gear: 4,
        throttle: 88.0,
        brake: 0.0,
        steering_angle: -4.0,
        latitude: None,
        longitude: None,
        track_position: (seq % 1000) as f64 / 1000.0,
        lap: 1 + (seq / 6000) as u32,
        sector: 1,
        fuel_level: 55.0,
        tire_wear: TireWear { front_left: 3.0, front_right: 3.1, rear_left: 2.9, rear_right: 3.0 },
        position: None,
        lap_distance: None,
        lap_time: None,
        session_time: None,
        yaw_rate: None,
        lateral_accel: None,
        longitudinal_accel: None,
        fuel_liters: None,
        on_pit_road: None,
        sequence: Some(seq),
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

async fn http_load(
    addr: SocketAddr,
    token: Arc<str>,
    driver: Arc<str>,
    until: Instant,
) -> anyhow::Result<(Vec<u32>, u64)> {
    let mut client = crate::httpc::Client::connect(addr).await?;
    let mut lat = Vec::with_capacity(16_384);
    let mut errors = 0;
    let t0 = chrono::Utc::now().timestamp_millis();
    let mut k = 0u64;
    while Instant::now() < until {
        k += 1;
        let ts = chrono::DateTime::from_timestamp_millis(t0 + k as i64).unwrap_or_default();
        let body = json!({
            "driverId": &*driver, "timestamp": ts,
            "data": {"speed": 200.0, "rpm": 7000.0, "gear": 5, "throttle": 99.0, "brake": 0.0, "steeringAngle": 1.0,
                     "latitude": null, "longitude": null, "trackPosition": 0.5, "lap": 1, "sector": 1, "fuelLevel": 50.0,
                     "tireWear": {"frontLeft": 1.0, "frontRight": 1.0, "rearLeft": 1.0, "rearRight": 1.0}}
        })
        .to_string();
        let start = Instant::now();
        let r = client.request("POST", "/api/telemetry", Some(&token), Some(body.as_bytes())).await?;
        lat.push(start.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        if r.status != 201 {
            errors += 1;
        }
    }
    Ok((lat, errors))
}

async fn uplink_load(
    addr: SocketAddr,
    token: String,
    driver: String,
    batch: usize,
    window: u64,
    until: Instant,
) -> anyhow::Result<(u64, Vec<u32>)> {
    // Nagle off, as the relay's uplink has it (see `pitbox_hub::no_delay`).
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(format!("ws://{addr}/ws"), None, true).await?;
    ws.next().await.context("no greeting")??;
    let auth = json!({"type": "authenticate", "data": {"token": token, "clientType": "relay", "version": "1.0"}});
    ws.send(WsMessage::Text(auth.to_string().into())).await?;
    let r = ws.next().await.context("no authentication result")??;
    if !r.to_text().unwrap_or("").contains("\"success\":true") {
        bail!("relay authentication failed: {r}");
    }
    let t0 = chrono::Utc::now().timestamp_millis();
    let mut sent_at = std::collections::HashMap::new();
    let (mut sent, mut acked) = (0u64, 0u64);
    let mut lat = Vec::new();
    loop {
        let sending = Instant::now() < until;
        while sending && sent < acked + window {
            sent += 1;
            let samples: Vec<_> =
                (0..batch as u64).map(|i| sample(&driver, (sent - 1) * batch as u64 + i, t0)).collect();
            let m = Message::TelemetryBatch(TelemetryBatch {
                driver_id: driver.clone(),
                sequence: sent,
                samples,
                origin: None,
            });
            sent_at.insert(sent, Instant::now());
            ws.send(WsMessage::Text(m.to_json().into())).await?;
        }
        if acked >= sent {
            break;
        }
        let msg = ws.next().await.context("connection closed")??;
        let v: serde_json::Value = serde_json::from_str(msg.to_text().unwrap_or("{}")).unwrap_or_default();
        match v["type"].as_str() {
            Some("ack") => {}
            // The cloud addresses live coaching to the driver's connections, this one included.
            Some("ai_coaching") => continue,
            _ => bail!("expected ack, got {v}"),
        }
        let seq = v["data"]["sequence"].as_u64().unwrap_or(0);
        for s in acked + 1..=seq {
            if let Some(t) = sent_at.remove(&s) {
                lat.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
            }
        }
        acked = acked.max(seq);
    }
    let _ = ws.close(None).await;
    Ok((acked * batch as u64, lat))
}

/// Measures one database.
pub async fn measure(args: &IngestBenchArgs, database_url: &str, label: &str) -> anyhow::Result<IngestFigures> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let store = Store::open(database_url).await.with_context(|| format!("opening {label}"))?;
    let mut config = Config::local(dir.path());
    config.database_url = database_url.to_string();
    let objects = Objects::local(&dir.path().join("objects"))?;
    let keys = Keys::generate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let state = AppState::assemble(store.clone(), objects, Bus::in_process("bench"), keys, &config);
    let team = store.create_team(&format!("bench team {}", new_id("t"))).await?;
    let hash = crate::password::hash("bench-password").map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut drivers: Vec<User> = Vec::new();
    for _ in 0..=args.relays {
        drivers.push(store.create_user(&new_id("bench"), &hash, UserRole::Driver, Some(&team.id)).await?);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = crate::server::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(pitbox_hub::no_delay(listener), app).await });
    let token = |u: &User| crate::api::access_token(&state, u).map_err(|e| anyhow::anyhow!("{}", e.message));

    // Single-sample POSTs.
    let http_driver: Arc<str> = drivers[0].id.as_str().into();
    let http_token: Arc<str> = token(&drivers[0])?.into();
    let start = Instant::now();
    let until = start + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.connections.max(1))
        .map(|_| tokio::spawn(http_load(addr, http_token.clone(), http_driver.clone(), until)))
        .collect();
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await??;
        lat.extend(l);
        errors += e;
    }
    let http_secs = start.elapsed().as_secs_f64();
    lat.sort_unstable();

    // Uplink.
    let cpu_before = pitbox_hub::process_cpu_seconds();
    let start = Instant::now();
    let until = start + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    // Each uplink is a relay with its own credential, as pitbox relay runs.
    let relay_token = || {
        state
            .keys
            .issue_relay(&new_id("relay"), &team.id, "bench relay", Duration::from_secs(3600))
            .map(|(t, _)| t)
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    for d in &drivers[1..] {
        tasks.push(tokio::spawn(uplink_load(
            addr,
            relay_token()?,
            d.id.clone(),
            args.batch_size.max(1),
            args.window.max(1),
            until,
        )));
    }
    let mut up_samples = 0;
    let mut up_lat = Vec::new();
    for t in tasks {
        let (n, l) = t.await??;
        up_samples += n;
        up_lat.extend(l);
    }
    let up_secs = start.elapsed().as_secs_f64();
    let uplink_cpu_s = match (cpu_before, pitbox_hub::process_cpu_seconds()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    up_lat.sort_unstable();
    let mut stored = 0;
    for d in &drivers[1..] {
        stored += crate::telemetry::stored_sample_count(&store, &d.id).await?;
    }
    server.abort();
    Ok(IngestFigures {
        database: label.to_string(),
        http_requests: lat.len() as u64,
        http_errors: errors,
        http_per_sec: lat.len() as f64 / http_secs,
        http_p50_ms: percentile(&lat, 0.50),
        http_p99_ms: percentile(&lat, 0.99),
        uplink_samples: up_samples,
        uplink_per_sec: up_samples as f64 / up_secs,
        uplink_p50_ms: percentile(&up_lat, 0.50),
        uplink_p99_ms: percentile(&up_lat, 0.99),
        uplink_cpu_s,
        stored_verified: stored as u64 == up_samples,
    })
}

/// Runs the benchmark and prints the figures.
pub async fn run(args: &IngestBenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let mut targets = vec![(format!("sqlite://{}", dir.path().join("bench.db").display()), "SQLite".to_string())];
    if let Some(pg) = &args.postgres_url {
        targets.push((pg.clone(), "PostgreSQL".to_string()));
    }
    println!(
        "{:<11} {:>12} {:>9} {:>9} {:>7} {:>14} {:>12} {:>12} {:>13} {:>8}",
        "database",
        "POST req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "uplink smp/s",
        "batch p50 ms",
        "batch p99 ms",
        "CPU µs/smp",
        "stored"
    );
    for (url, label) in targets {
        let f = measure(args, &url, &label).await?;
        // CPU per sample does not depend on what else the machine runs, unlike the rates.
        let cpu = match f.uplink_cpu_s {
            Some(s) if f.uplink_samples > 0 => format!("{:.2}", s * 1e6 / f.uplink_samples as f64),
            _ => "-".to_string(),
        };
        println!(
            "{:<11} {:>12.0} {:>9.2} {:>9.2} {:>7} {:>14.0} {:>12.1} {:>12.1} {:>13} {:>8}",
            f.database,
            f.http_per_sec,
            f.http_p50_ms,
            f.http_p99_ms,
            f.http_errors,
            f.uplink_per_sec,
            f.uplink_p50_ms,
            f.uplink_p99_ms,
            cpu,
            if f.stored_verified { "all" } else { "MISSING" }
        );
        if !f.stored_verified {
            bail!("{label}: acknowledged uplink samples are missing from storage");
        }
    }
    println!(
        "({} s each; {} HTTP connections; {} relays × {}-sample batches, {} in flight; goals on 2 cores: ≥ 5,000 req/s, ≥ 100,000 samples/s, p99 < 50 ms)",
        args.seconds, args.connections, args.relays, args.batch_size, args.window
    );
    Ok(())
}
