//! Cues before the corner in the agent, on the real Tsukuba file (`formulavee_tsukuba_1kouter`:
//! lap 1 the out lap, lap 2 the best at 23.98 s) fed through the agent's source path as a live
//! sim would send it.
//!
//! - The plain file (out lap + best lap) gives no cue at all: no slower valid lap.
//! - The file followed by planted laps made from its best lap (`pitbox_coach::synth`): a copy
//!   braking 20 m early into the corner where the best lap brakes hardest, a clean copy, and so
//!   on. After each slower lap the next lap gets the cue, before the corner where
//!   `pitbox_coach::analyze` (what `pitbox coach analyze` prints) reports the loss, naming the
//!   change ("brake N metres later"); at most one per corner per lap; none while the spotter has
//!   a car alongside, none on an out lap.
//!
//! Skips when the shared data folder is absent.

use pitbox_coach::corners::corner_metrics;
use pitbox_coach::findings::FindingKind;
use pitbox_coach::laps::LapOptions;
use pitbox_coach::synth::{SynthLap, stream};
use pitbox_coach::trace::grid_points;
use pitbox_coach::{AnalysisOptions, Sample, Stream, analyze};
use pitbox_driver::voice::{CalloutOrigin, CalloutState, CueRecord};
use pitbox_driver::{AgentHandle, AgentSettings, CalloutEngine, CalloutOutput, VoiceSettings, start};
use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_sources::{ConnectionState, SourceError, SourceEvent, SpotterTick, TelemetrySource};
use pitbox_voice::Audio;
use pitbox_voice::audio::clamp16;
use pitbox_voice::tts::{BoxFuture, SpeechRequest, TtsError, TtsProvider};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const FILE: &str = "Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt";

/// The sim runs this many times faster than real time (the WAV sink plays as fast):
/// `PITBOX_CUES_PACE` (default 4; the figures in docs/cues.md are from a run at 1).
fn pace() -> f64 {
    std::env::var("PITBOX_CUES_PACE").ok().and_then(|p| p.parse().ok()).filter(|p: &f64| *p > 0.0).unwrap_or(4.0)
}

/// A short tone a word.
struct ToneVoice;

impl TtsProvider for ToneVoice {
    fn id(&self) -> &'static str {
        "tone"
    }
    fn synthesize<'a>(&'a self, req: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, TtsError>> {
        Box::pin(async move {
            let n = 2_000 * req.text.split_whitespace().count();
            Ok(Audio::new(22_050, (0..n).map(|i| clamp16(5_000.0 * (i as f64 * 0.1).sin())).collect()))
        })
    }
}

/// One sample as the live source sends it (the player in the car, live).
fn update(s: &Sample) -> TelemetryUpdate {
    let mut u: TelemetryUpdate = serde_json::from_value(serde_json::json!({
        "driverId": "driver-1", "timestamp": chrono::Utc::now(), "speed": 0.0, "rpm": 0.0,
        "gear": 0, "throttle": 0.0, "brake": 0.0, "steeringAngle": 0.0, "latitude": null,
        "longitude": null, "trackPosition": 0.0, "lap": 0, "sector": 1, "fuelLevel": 50.0,
        "tireWear": {"frontLeft": 0.0, "frontRight": 0.0, "rearLeft": 0.0, "rearRight": 0.0}
    }))
    .expect("a valid sample");
    u.speed = s.speed * 3.6;
    u.rpm = s.rpm;
    u.gear = s.gear;
    u.throttle = s.throttle * 100.0;
    u.brake = s.brake * 100.0;
    u.steering_angle = s.steering_deg;
    u.track_position = s.lap_pct;
    u.lap = u32::try_from(s.lap.max(0)).unwrap_or(0);
    u.lap_distance = s.lap_dist;
    u.session_time = Some(s.time);
    u.yaw_rate = s.yaw_rate.map(f64::to_degrees);
    u.lateral_accel = s.lat_accel;
    u.fuel_liters = s.fuel_l;
    u.on_pit_road = Some(s.on_pit_road);
    u.last_lap_time = s.last_lap_time;
    u.on_track = Some(true);
    u.in_garage = Some(false);
    u.replay_playing = Some(false);
    u
}

/// Plays samples at `pace()`× their sim time, each after a spotter tick (`CarLeftRight` from
/// `alongside`), counting those sent.
struct Replay {
    samples: VecDeque<(Sample, bool)>,
    pending: Option<SourceEvent>,
    started: bool,
    t0: Option<(Instant, f64)>,
    sent: Arc<AtomicUsize>,
}

impl TelemetrySource for Replay {
    fn describe(&self) -> String {
        "cue replay".into()
    }
    fn state(&self) -> ConnectionState {
        ConnectionState::Connected
    }
    fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        if !self.started {
            self.started = true;
            return Ok(Some(SourceEvent::State(ConnectionState::Connected)));
        }
        if let Some(e) = self.pending.take() {
            return Ok(Some(e));
        }
        let Some((s, alongside)) = self.samples.pop_front() else {
            std::thread::sleep(Duration::from_millis(20));
            return Ok(Some(SourceEvent::State(ConnectionState::Connected)));
        };
        let (w0, s0) = *self.t0.get_or_insert((Instant::now(), s.time));
        let due = w0 + Duration::from_secs_f64(((s.time - s0) / pace()).max(0.0));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        self.sent.fetch_add(1, Ordering::SeqCst);
        self.pending = Some(SourceEvent::Telemetry(Box::new(update(&s))));
        let tick = SpotterTick {
            read_at: Instant::now(),
            session_time: s.time,
            car_left_right: Some(if alongside { 2 } else { 1 }),
            player_idx: Some(0),
            lap_dist_pct: vec![],
            est_time: vec![],
            on_pit_road: vec![],
            session_flags: Some(0x0004),
            session: None,
        };
        Ok(Some(SourceEvent::Spotter(Box::new(tick))))
    }
}

async fn agent(dir: &Path, samples: Vec<(Sample, bool)>) -> (AgentHandle, Arc<AtomicUsize>) {
    agent_with(dir, samples, None).await
}

/// [`agent`] signed in (`token`) to a cloud at `endpoint`.
async fn agent_with(
    dir: &Path,
    samples: Vec<(Sample, bool)>,
    cloud: Option<(&str, String)>,
) -> (AgentHandle, Arc<AtomicUsize>) {
    let mut v = VoiceSettings::wav_dir(dir);
    v.output = CalloutOutput::WavDir { dir: dir.to_path_buf(), time_scale: 1.0 / pace() };
    v.engine = CalloutEngine::Provider { provider: Arc::new(ToneVoice), voice: "tone".into() };
    v.spotter = true;
    v.cues = true;
    let app = DriverAppConfig {
        relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: 9 },
        cloud: CloudConfig {
            endpoint: cloud.as_ref().map_or_else(|| "http://127.0.0.1:8080".into(), |c| c.1.clone()),
            enabled: false,
        },
        voice: VoiceConfig { enabled: true, sensitivity: 0.5, voice_id: "default".into() },
    };
    let mut settings = AgentSettings::new("driver-1", app);
    settings.listen = "127.0.0.1:0".parse().expect("address");
    settings.voice = v;
    settings.token = cloud.map(|c| c.0.to_string());
    let sent = Arc::new(AtomicUsize::new(0));
    let source = Replay { samples: samples.into(), pending: None, started: false, t0: None, sent: sent.clone() };
    (start(settings, Box::new(source)).await.expect("agent"), sent)
}

fn real_samples() -> Option<(Vec<Sample>, Vec<f64>)> {
    let path = pitbox_testkit::ibt_file("cues", FILE)?;
    let ibt = pitbox_coach::ibt::read_ibt(&path).expect("read the file");
    Some((ibt.samples, ibt.sector_starts))
}

/// Waits until the source has sent everything and the voice has caught up.
async fn run_out(sent: &Arc<AtomicUsize>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while sent.load(Ordering::SeqCst) < n {
        assert!(Instant::now() < deadline, "the replay did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The cue thread and the voice's 200 ms poll of the radio.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
}

/// The real file's best lap, its corners, and a copy of it braking 20 m early into the corner
/// with the longest braking zone (the best lap's brake point furthest before its apex).
struct Planted {
    stream: Stream,
    best: pitbox_coach::laps::Lap,
    trace: pitbox_coach::trace::Trace,
    map: pitbox_coach::corners::CornerMap,
    corner: pitbox_coach::corners::Corner,
    metrics: pitbox_coach::corners::CornerMetrics,
    base: SynthLap,
    slow: SynthLap,
}

fn planted(real: &[Sample], sector_starts: &[f64]) -> Planted {
    let opts = AnalysisOptions {
        laps: LapOptions { sector_starts: sector_starts.to_vec(), ..LapOptions::default() },
        ..AnalysisOptions::default()
    };
    let stream = Stream::new(real.to_vec(), &opts).expect("stream");
    let best = stream.best_lap().expect("best lap").clone();
    let trace = stream.trace(&best, grid_points(stream.length_m, 0.5)).expect("trace");
    let map = pitbox_coach::corners::CornerMap::detect(&trace);
    let m = corner_metrics(&trace, &map);
    let k = (0..m.len())
        .filter(|&k| m[k].brake_point_m.is_some())
        .max_by(|&a, &b| {
            let zone = |k: usize| m[k].min_speed_m - m[k].brake_point_m.unwrap_or(m[k].min_speed_m);
            zone(a).total_cmp(&zone(b))
        })
        .expect("a braking corner");
    let base = SynthLap::from_trace(&trace);
    let slow = pitbox_coach::planted::early_brake(&base, &m[k], 20.0).expect("room to brake earlier");
    Planted { corner: map.corners[k].clone(), metrics: m[k].clone(), stream, best, trace, map, base, slow }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plain_file_gives_no_cue() {
    let Some((real, _)) = real_samples() else { return };
    let out = tempfile::tempdir().expect("dir");
    let n = real.len();
    let (a, sent) = agent(out.path(), real.into_iter().map(|s| (s, false)).collect()).await;
    run_out(&sent, n).await;
    let st = a.voice.status();
    println!("{:?}", st.cues);
    assert!(st.cues.enabled);
    // The best lap became the reference (the out lap never does) and nothing was cued.
    assert!(st.cues.reference.as_deref().is_some_and(|r| r.starts_with("lap 2, 23.9")), "{:?}", st.cues);
    assert_eq!((st.cues.issued, st.cues.withheld), (0, 0), "{:?}", st.cues.recent);
    assert!(!a.voice.log().callouts.iter().any(|c| c.origin == CalloutOrigin::Cue));
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slower_lap_gets_a_cue_before_the_corner_where_it_lost_time() {
    let Some((real, sector_starts)) = real_samples() else { return };
    let opts = AnalysisOptions {
        laps: LapOptions { sector_starts: sector_starts.clone(), ..LapOptions::default() },
        ..AnalysisOptions::default()
    };
    let Planted { best, trace, map, corner, metrics, base, slow, .. } = planted(&real, &sector_starts);
    assert_eq!(best.number, 2);
    println!(
        "corners {:?}; planted at {} ({metrics:?})",
        map.corners.iter().map(|c| (&c.id, c.entry_m)).collect::<Vec<_>>(),
        corner.id
    );
    // The real file to the end of lap 2, then laps 3–8: slow, clean, slow, clean (a car
    // alongside before the corner), slow ending on pit road (an in lap), and the out lap.
    let end = real.iter().position(|s| s.lap > best.number).unwrap_or(real.len());
    let mut samples: Vec<Sample> = real[..end].to_vec();
    let last_t = samples.last().expect("samples").time;
    let planted = stream(&[slow.clone(), base.clone(), slow.clone(), base.clone(), slow, base], 60.0, 3, 0.0, 1.0, 0.0);
    let shift = last_t + 1.0 / 60.0 - planted.samples[0].time;
    let len = trace.length_m;
    let ahead = |s: &Sample| (corner.entry_m - s.lap_dist.unwrap_or(0.0)).rem_euclid(len);
    let mut alongside = Vec::new();
    for mut s in planted.samples {
        s.time += shift;
        // Lap 6's approach: a car alongside from 250 m before the corner to its entry (or the
        // next lap's, when the corner is close after the line).
        let near = ahead(&s) <= 250.0;
        let target_lap = if s.lap_dist.unwrap_or(0.0) > corner.entry_m { s.lap + 1 } else { s.lap };
        alongside.push(near && target_lap == 6);
        // Lap 7 enters pit road 60 m before the line, lap 8 leaves it 30 m after.
        let d = s.lap_dist.unwrap_or(0.0);
        s.on_pit_road = (s.lap == 7 && d > len - 60.0) || (s.lap == 8 && d < 30.0);
        samples.push(s);
    }
    let flags: Vec<bool> = std::iter::repeat_n(false, end).chain(alongside).collect();

    // What the coach's analysis reports on the whole stream (`pitbox coach analyze`).
    let whole = Stream::new(samples.clone(), &opts).expect("stream");
    let analysis = analyze(&whole, None, None, &AnalysisOptions::default()).expect("analysis");
    let report = analysis.reports.iter().find(|r| r.lap == 3).expect("lap 3");
    let loss = report.findings.first().expect("a finding on lap 3");
    println!("lap 3: {:?}", report.findings.iter().map(|f| &f.text).collect::<Vec<_>>());
    assert_eq!(loss.corner.as_deref(), Some(corner.id.as_str()), "{}", loss.text);
    assert_eq!(loss.kind, FindingKind::EarlyBraking, "{}", loss.text);
    let entry = analysis.corners.iter().find(|c| c.id == corner.id).expect("the corner").entry_m;

    let out = tempfile::tempdir().expect("dir");
    let n = samples.len();
    let (a, sent) = agent(out.path(), samples.into_iter().zip(flags).collect()).await;
    run_out(&sent, n).await;
    let st = a.voice.status();
    let cues: Vec<CueRecord> = st.cues.recent.iter().cloned().collect();
    for c in &cues {
        println!(
            "lap {} {}: \"{}\" at {:.0} m, {:.0} m / {:.2} s before the braking point; {:?} {:?}, heard at {:?} m",
            c.lap, c.corner, c.text, c.at_m, c.before_braking_m, c.before_braking_s, c.state, c.why, c.spoken_at_m
        );
    }
    // The copies of the best lap, integrated from its speeds on the grid, are a little quicker
    // than the real lap: the first one (lap 4) became the reference; the out lap never does.
    assert!(st.cues.reference.as_deref().is_some_and(|r| r.starts_with("lap 4, 23.")), "{:?}", st.cues.reference);
    // The lap a cue is for: the next one when it was made before the line.
    let for_lap = |c: &CueRecord| if c.at_m > entry { c.lap + 1 } else { c.lap };
    // At most one per corner per lap.
    let mut seen: Vec<(i32, &str)> = cues.iter().map(|c| (for_lap(c), c.corner.as_str())).collect();
    seen.sort_unstable();
    let before = seen.len();
    seen.dedup();
    assert_eq!(seen.len(), before, "{cues:#?}");
    // Every cue is about the planted corner, names the change, and comes before the corner.
    let words = format!("{}: brake ", corner.id);
    for c in &cues {
        assert_eq!(c.corner, corner.id, "{c:?}");
        assert!(c.text.starts_with(&words) && c.text.ends_with("metres later"), "{c:?}");
        let metres: f64 = c.text[words.len()..].split(' ').next().and_then(|x| x.parse().ok()).expect("metres");
        assert!((15.0..=25.0).contains(&metres), "planted 20 m: {c:?}");
        let ahead_m = (entry - c.at_m).rem_euclid(len);
        assert!(ahead_m > 0.0 && ahead_m <= 150.0, "{c:?}");
    }
    // Lap 4 (after slow lap 3): spoken, and heard before the corner.
    let spoken: Vec<&CueRecord> = cues.iter().filter(|c| c.why.is_none()).collect();
    assert_eq!(spoken.iter().map(|c| for_lap(c)).collect::<Vec<_>>(), [4], "{cues:#?}");
    let heard = spoken[0].spoken_at_m.expect("its audio started");
    let heard_ahead = (entry - heard).rem_euclid(len);
    assert!(heard_ahead > 0.0 && heard_ahead < 150.0, "heard {heard_ahead:.0} m before the corner: {:?}", spoken[0]);
    assert!(matches!(spoken[0].state, CalloutState::Spoken | CalloutState::Speaking), "{:?}", spoken[0]);
    // Lap 6: a car alongside: withheld, not said. Lap 8, the out lap: nothing (the in lap
    // before it arms no cue, and the out lap itself would be withheld).
    let withheld: Vec<(i32, &str)> = cues.iter().filter_map(|c| c.why.as_deref().map(|w| (for_lap(c), w))).collect();
    assert_eq!(withheld, [(6, "traffic (the spotter is busy)")], "{cues:#?}");
    let said: Vec<String> = a
        .voice
        .log()
        .callouts
        .iter()
        .filter(|c| c.origin == CalloutOrigin::Cue && c.id != 0)
        .map(|c| c.text.clone())
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    println!(
        "figure: the cue heard {heard_ahead:.0} m before the corner's entry ({:.0} m / {:.2} s of the reference lap when made)",
        spoken[0].before_braking_m, spoken[0].before_braking_s
    );
    a.shutdown().await;
}

/// The pit wall chose a teammate's lap (the real file's best lap, 23.98 s) as this driver's
/// reference (`GET /api/drivers/{id}/cue-reference`, served here by a stand-in cloud that checks
/// the agent's token). The driver's own laps are all the same: the real out lap, then copies of
/// the best lap braking 20 m early into the corner with the longest braking zone. Against their
/// own best lap those laps lose nothing and get no cue; against the chosen lap each loses time
/// there, so the cue before that corner can only come from the pit wall's choice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pit_walls_chosen_lap_is_what_the_cues_are_made_against() {
    let Some((real, sector_starts)) = real_samples() else { return };
    let Planted { stream: st, best, corner, slow, .. } = planted(&real, &sector_starts);
    let chosen = st
        .reference(Some(best.number), AnalysisOptions::default().step_m, "lap 2 of sam at Tsukuba")
        .expect("reference");
    // The real out lap, then laps 2–4 all braking early.
    let end = real.iter().position(|s| s.lap > 1).unwrap_or(real.len());
    let mut samples: Vec<Sample> = real[..end].to_vec();
    let last_t = samples.last().expect("samples").time;
    let planted = stream(&[slow.clone(), slow.clone(), slow], 60.0, 2, 0.0, 1.0, 0.0);
    let shift = last_t + 1.0 / 60.0 - planted.samples[0].time;
    samples.extend(planted.samples.into_iter().map(|mut s| {
        s.time += shift;
        s
    }));

    // The stand-in cloud: the choice in force and the lap's reference, for the agent's token.
    let choice = serde_json::json!({
        "driverId": "driver-1", "lapId": "lap-best", "name": "lap 2 of sam at Tsukuba",
        "lapTimeS": chosen.lap_time, "setBy": "usr-eng", "timestamp": "2026-12-07T10:00:00Z"
    });
    let reference = serde_json::to_value(&chosen).expect("json");
    let asked = Arc::new(AtomicUsize::new(0));
    let authorised =
        |h: &axum::http::HeaderMap| h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer tok-driver-1");
    let router = {
        let asked = asked.clone();
        axum::Router::new()
            .route(
                "/api/drivers/driver-1/cue-reference",
                axum::routing::get(move |h: axum::http::HeaderMap| {
                    let choice = choice.clone();
                    async move {
                        if !authorised(&h) {
                            return Err(axum::http::StatusCode::UNAUTHORIZED);
                        }
                        Ok(axum::Json(choice))
                    }
                }),
            )
            .route(
                "/api/laps/lap-best/reference",
                axum::routing::get(move |h: axum::http::HeaderMap| {
                    let reference = reference.clone();
                    asked.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if !authorised(&h) {
                            return Err(axum::http::StatusCode::UNAUTHORIZED);
                        }
                        Ok(axum::Json(reference))
                    }
                }),
            )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let cloud = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let out = tempfile::tempdir().expect("dir");
    let n = samples.len();
    let flags = vec![false; n];
    let (a, sent) =
        agent_with(out.path(), samples.into_iter().zip(flags).collect(), Some(("tok-driver-1", cloud))).await;
    run_out(&sent, n).await;
    let st = a.voice.status();
    println!("{:?}", st.cues);
    assert_eq!(asked.load(Ordering::SeqCst), 1, "the lap was loaded once");
    assert!(
        st.cues
            .chosen
            .as_deref()
            .is_some_and(|c| c.starts_with("lap 2 of sam at Tsukuba, 23.9") && c.contains("chosen by the pit wall")),
        "{:?}",
        st.cues.chosen
    );
    assert!(
        st.cues.reference.as_deref().is_some_and(|r| r.starts_with("lap 2 of sam at Tsukuba, 23.9")),
        "{:?}",
        st.cues.reference
    );
    let cues: Vec<&CueRecord> = st.cues.recent.iter().collect();
    assert!(!cues.is_empty(), "no cue against the chosen lap");
    for c in &cues {
        assert_eq!(c.corner, corner.id, "{c:?}");
        assert!(c.text.starts_with(&format!("{}: brake ", corner.id)) && c.text.ends_with("metres later"), "{c:?}");
    }
    a.shutdown().await;
}
