//! # pitbox-demo — `pitbox demo`
//!
//! This crate owns the demo: a whole team on this machine, in one process, on embedded defaults.
//! It starts a cloud node (`pitbox-cloud`: SQLite and local files in the data directory, the
//! dashboard), seeds the demo team and its logins, starts a relay (`pitbox-relay`) uplinked to
//! the cloud with a token the cloud signs, and runs the simulator (`pitbox-sources`): an
//! endurance race with a full field and one team car shared by three drivers, each with their
//! own driver agent (`pitbox-driver`) connected to the relay. Only the driver in the car streams;
//! at every pit stop the handoff goes through the protocol (request, accept, complete) and the
//! next driver's agent takes over ([`seats`], [`crew`]). The cloud coaches every stored lap and
//! the relay carries the coaching to the driver in the car; each agent's radio speaks what its
//! driver receives into WAV files in the data directory (or the sound card, feature
//! `sound-card`).
//!
//! Entry points: [`start`] with a [`DemoConfig`] gives a [`DemoHandle`] (bound addresses,
//! accounts, [`DemoHandle::shutdown`]); [`run`] is `pitbox demo` (start, print the dashboard URL
//! and logins, wait for Ctrl-C, shut down cleanly). A second start on the same data directory
//! keeps the accounts, sessions and laps of the first.

pub mod accounts;
pub mod crew;
pub mod seats;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use pitbox_cloud::AppState;
use pitbox_driver::AgentHandle;
use pitbox_driver::voice::{CalloutOutput, HandoffTarget, VoiceSettings};
use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
use pitbox_relay::{RelayConfig, RelayHandle, UplinkConfig};
use pitbox_sources::live::LiveOptions;
use pitbox_sources::sim::output::LivePace;
use pitbox_sources::sim::source::SimSource;
use pitbox_sources::sim::{SimConfig, track};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use accounts::{DemoAccount, DemoTeam};

/// Arguments of `pitbox demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Address of the cloud node: dashboard, REST API and /ws
    #[arg(long, env = "PITBOX_DEMO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Address of the relay the driver agents connect to
    #[arg(long, env = "PITBOX_DEMO_RELAY_LISTEN", default_value = "127.0.0.1:8765")]
    pub relay_listen: SocketAddr,
    /// Directory for the database, telemetry, relay spool and callout WAV files (kept between
    /// runs: a second start resumes with the stored history)
    #[arg(long, env = "PITBOX_DEMO_DATA_DIR", default_value = "pitbox-demo-data")]
    pub data_dir: PathBuf,
    /// Simulator speed: sim seconds per real second (1 = real time)
    #[arg(long, env = "PITBOX_DEMO_PACE", default_value_t = 1.0)]
    pub pace: f64,
    /// Race length in laps (default: until stopped)
    #[arg(long, env = "PITBOX_DEMO_LAPS")]
    pub laps: Option<u32>,
    /// Simulator seed: the same seed gives the same race
    #[arg(long, env = "PITBOX_DEMO_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Track: redbullring, monza or brandsindy
    #[arg(long, env = "PITBOX_DEMO_TRACK", default_value = "redbullring")]
    pub track: String,
    /// Laps of fuel per stint: pit stops and driver changes come at this rhythm
    #[arg(long, env = "PITBOX_DEMO_STINT_LAPS", default_value_t = 6)]
    pub stint_laps: u32,
    /// Cars in the field
    #[arg(long, env = "PITBOX_DEMO_CARS", default_value_t = 20)]
    pub cars: usize,
}

/// Everything [`start`] needs.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Cloud address (port 0 picks a free one; see [`DemoHandle::cloud_addr`]).
    pub listen: SocketAddr,
    /// Relay address (port 0 picks a free one).
    pub relay_listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Sim seconds per real second.
    pub pace: f64,
    pub laps: Option<u32>,
    pub seed: u64,
    /// Track key (see `pitbox sim --list-tracks`).
    pub track: String,
    pub stint_laps: u32,
    pub cars: usize,
    /// Speak callouts (WAV files in `callouts/` of the data directory, or the sound card with
    /// the `sound-card` feature). Needs espeak-ng; without it the demo runs silent.
    pub callouts: bool,
}

impl DemoConfig {
    /// The configuration `pitbox demo` runs with.
    pub fn from_args(a: &DemoArgs) -> DemoConfig {
        DemoConfig {
            listen: a.listen,
            relay_listen: a.relay_listen,
            data_dir: a.data_dir.clone(),
            pace: a.pace,
            laps: a.laps,
            seed: a.seed,
            track: a.track.clone(),
            stint_laps: a.stint_laps,
            cars: a.cars,
            callouts: true,
        }
    }

    /// Loopback on free ports, everything else as `pitbox demo` (tests).
    pub fn local(data_dir: &Path) -> DemoConfig {
        let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        DemoConfig {
            listen: any,
            relay_listen: any,
            data_dir: data_dir.to_path_buf(),
            pace: 1.0,
            laps: None,
            seed: 1,
            track: track::RED_BULL_RING.key.to_string(),
            stint_laps: 6,
            cars: 20,
            callouts: true,
        }
    }

    fn check(&self) -> Result<&'static track::TrackDef, DemoError> {
        let bad = |m: String| Err(DemoError::Config(m));
        if !(self.pace.is_finite() && self.pace > 0.0 && self.pace <= 1000.0) {
            return bad(format!("--pace must be above 0 and at most 1000, got {}", self.pace));
        }
        if self.laps == Some(0) {
            return bad("--laps must be at least 1".into());
        }
        if self.stint_laps == 0 {
            return bad("--stint-laps must be at least 1".into());
        }
        if !(2..=64).contains(&self.cars) {
            return bad(format!("--cars must be between 2 and 64, got {}", self.cars));
        }
        match track::find(&self.track) {
            Some(t) => Ok(t),
            None => {
                let known: Vec<&str> = track::TRACKS.iter().map(|t| t.key).collect();
                bad(format!("unknown track `{}` (known: {})", self.track, known.join(", ")))
            }
        }
    }
}

/// Why the demo could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("invalid setting: {0}")]
    Config(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cloud: {0}")]
    Cloud(#[from] pitbox_cloud::server::StartError),
    #[error("cloud storage: {0}")]
    Store(#[from] pitbox_cloud::store::StoreError),
    #[error("cannot listen on {addr} for the cloud: {source}")]
    CloudListen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("demo accounts: {0}")]
    Seed(String),
    #[error("token: {0}")]
    Token(#[from] pitbox_auth::AuthError),
    #[error("relay: {0}")]
    Relay(#[from] pitbox_relay::RelayError),
    #[error("simulator: {0}")]
    Source(#[from] pitbox_sources::SourceError),
    #[error("driver agent: {0}")]
    Agent(#[from] pitbox_driver::agent::AgentError),
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
}

/// Where the race state is kept, in the data directory.
const RACE_STATE_FILE: &str = "race.json";

/// The race state kept between runs.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RaceState {
    /// Highest lap number stored for the team car.
    last_lap: u32,
}

fn read_race_state(path: &Path) -> Result<Option<RaceState>, DemoError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            DemoError::Config(format!("{} is not a demo race state ({e}); remove it to start over", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DemoError::Io { path: path.to_path_buf(), source }),
    }
}

fn write_race_state(path: &Path, state: RaceState) -> Result<(), DemoError> {
    let io = |source| DemoError::Io { path: path.to_path_buf(), source };
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string(&state).map_err(|e| DemoError::Config(e.to_string()))?;
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// What a stopped demo leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    /// The team car's last lap number; the next start numbers its laps after it.
    pub last_lap: u32,
}

/// A running demo.
pub struct DemoHandle {
    cloud_addr: SocketAddr,
    relay_addr: SocketAddr,
    team: DemoTeam,
    data_dir: PathBuf,
    callouts_dir: Option<PathBuf>,
    cloud: AppState,
    cloud_stop: watch::Sender<bool>,
    cloud_task: JoinHandle<()>,
    relay: RelayHandle,
    dispatcher: seats::Dispatcher,
    agents: Vec<AgentHandle>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    race_path: PathBuf,
}

impl std::fmt::Debug for DemoHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoHandle")
            .field("cloud_addr", &self.cloud_addr)
            .field("relay_addr", &self.relay_addr)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

/// An address others can connect to (`0.0.0.0` becomes loopback).
fn reachable(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() { SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port()) } else { addr }
}

impl DemoHandle {
    /// Where the cloud (dashboard, REST API, `/ws`) listens.
    pub fn cloud_addr(&self) -> SocketAddr {
        self.cloud_addr
    }

    /// Where the relay listens.
    pub fn relay_addr(&self) -> SocketAddr {
        self.relay_addr
    }

    /// The dashboard's address.
    pub fn dashboard_url(&self) -> String {
        format!("http://{}/", reachable(self.cloud_addr))
    }

    /// The demo team and its logins.
    pub fn team(&self) -> &DemoTeam {
        &self.team
    }

    /// Where callout WAV files go (`None`: callouts are off or go to the sound card).
    pub fn callouts_dir(&self) -> Option<&Path> {
        self.callouts_dir.as_deref()
    }

    /// Whether the simulated race is over (`--laps` driven); everything else keeps running.
    pub fn race_over(&self) -> bool {
        self.dispatcher.finished()
    }

    /// The team car's highest lap number so far.
    pub fn lap(&self) -> u32 {
        self.dispatcher.max_lap()
    }

    /// What `pitbox demo` prints at start.
    pub fn banner(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!("PitBox demo running — dashboard: {}\n", self.dashboard_url()));
        s.push_str(&format!("  relay for driver agents: ws://{}/\n", reachable(self.relay_addr)));
        s.push_str(&format!("  data: {}\n", self.data_dir.display()));
        if let Some(d) = &self.callouts_dir {
            s.push_str(&format!("  spoken callouts: WAV files in {}\n", d.display()));
        }
        s.push_str("  logins (username / password / role):\n");
        for a in &self.team.accounts {
            s.push_str(&format!("    {:<9} {:<18} {}\n", a.username, a.password, a.role));
        }
        s.push_str("Ctrl-C stops the demo; starting it again resumes with the stored history.\n");
        s
    }

    /// Stops everything in order: the simulator, the driver agents, the crew and bridge, the
    /// relay (after its spool has reached the cloud, up to 10 s), then the cloud, which writes
    /// its staged telemetry out on the way.
    pub async fn shutdown(mut self) -> Result<DemoSummary, DemoError> {
        self.dispatcher.stop();
        for a in self.agents.drain(..) {
            a.shutdown().await;
        }
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            if tokio::time::timeout(Duration::from_secs(5), t).await.is_err() {
                tracing::warn!("a demo task did not stop within 5 s");
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.relay.spool_batches() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if self.relay.spool_batches() > 0 {
            tracing::warn!(
                batches = self.relay.spool_batches(),
                "the relay spool still holds batches; they are sent on the next start"
            );
        }
        self.relay.shutdown().await;
        let _ = self.cloud_stop.send(true);
        let mut task = self.cloud_task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
            // Browsers keep WebSockets open; stop waiting for them.
            task.abort();
        }
        match pitbox_cloud::telemetry::compact(&self.cloud.store, &self.cloud.objects, 0, true).await {
            Ok(n) => tracing::info!(chunks = n, "compacted staged telemetry on shutdown"),
            Err(e) => tracing::warn!(error = %e, "compaction on shutdown failed; staged rows are compacted next start"),
        }
        let last_lap = self.dispatcher.max_lap();
        write_race_state(&self.race_path, RaceState { last_lap })?;
        Ok(DemoSummary { last_lap })
    }
}

/// Starts the demo.
pub async fn start(cfg: DemoConfig) -> Result<DemoHandle, DemoError> {
    let track = cfg.check()?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DemoError::Io { path, source }
    };
    std::fs::create_dir_all(&cfg.data_dir).map_err(io(&cfg.data_dir))?;
    let race_path = cfg.data_dir.join(RACE_STATE_FILE);
    let lap_offset = read_race_state(&race_path)?.map_or(0, |s| s.last_lap.saturating_add(1));

    // The cloud.
    let cloud_dir = cfg.data_dir.join("cloud");
    std::fs::create_dir_all(&cloud_dir).map_err(io(&cloud_dir))?;
    let mut cloud_cfg = pitbox_cloud::Config::local(&cloud_dir);
    cloud_cfg.listen = cfg.listen;
    cloud_cfg.node_id = "demo-cloud".into();
    let cloud = AppState::open(&cloud_cfg).await?;
    let team = accounts::seed(&cloud.store).await?;
    seed_plan(&cloud, &team, &cfg, track).await;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| DemoError::CloudListen { addr: cfg.listen, source })?;
    let cloud_addr = listener.local_addr().map_err(|source| DemoError::CloudListen { addr: cfg.listen, source })?;
    let (cloud_stop, mut cloud_stop_rx) = watch::channel(false);
    let app = pitbox_cloud::server::router(cloud.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let cloud_task = tokio::spawn(async move {
        let stop = async move {
            let _ = cloud_stop_rx.wait_for(|v| *v).await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
            tracing::error!(error = %e, "cloud server stopped");
        }
    });

    let parts = match start_team(&cfg, track, &cloud, &team, cloud_addr, lap_offset).await {
        Ok(p) => p,
        Err(e) => {
            // Nothing half-started stays behind.
            let _ = cloud_stop.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(5), cloud_task).await;
            return Err(e);
        }
    };
    Ok(DemoHandle {
        cloud_addr,
        relay_addr: parts.relay.addr(),
        team,
        data_dir: cfg.data_dir.clone(),
        callouts_dir: parts.callouts_dir,
        cloud,
        cloud_stop,
        cloud_task,
        relay: parts.relay,
        dispatcher: parts.car.dispatcher,
        agents: parts.car.agents,
        stop: parts.car.stop,
        tasks: parts.car.tasks,
        race_path,
    })
}

/// Laps of the demo's plan when the race runs until stopped.
const OPEN_RACE_PLAN_LAPS: u32 = 100;

/// The team's stint plan for the simulated race, stored when the team has none, so the pit wall
/// has a live plan from the first lap. Made from what the simulator does: it starts and refills
/// to a stint's fuel (its estimate of a lap's use times the stint's laps and one more, at most a
/// tank), runs it down to the last lap (no margin), and stops for 18 s at least, filling at
/// 2.8 L/s. The live plan then measures fuel, pace and pit-lane loss from the car.
async fn seed_plan(cloud: &AppState, team: &DemoTeam, cfg: &DemoConfig, track: &'static track::TrackDef) {
    let mut sim = SimConfig::new(cfg.seed, track);
    sim.stint_laps = cfg.stint_laps;
    let per_lap = sim.estimated_fuel_per_lap();
    let stint_fuel = sim.team_stint_fuel_l();
    let request = pitbox_strategy::PlanRequest {
        race: pitbox_strategy::Race { laps: Some(cfg.laps.unwrap_or(OPEN_RACE_PLAN_LAPS)), minutes: None },
        lap_time_s: track.reference_lap_s,
        fuel_per_lap_l: per_lap,
        tank_l: stint_fuel,
        start_fuel_l: Some(stint_fuel),
        fuel_margin_l: Some(0.0),
        pit_lane_s: 25.0,
        refuel_lps: 2.8,
        tyre_change_s: 18.0,
        tyres_every_stints: None,
        drivers: team
            .drivers()
            .iter()
            .map(|d| pitbox_strategy::DriverSpec {
                id: d.user_id.clone(),
                max_stint_minutes: None,
                lap_time_s: None,
                driven_minutes: None,
            })
            .collect(),
        min_driver_minutes: None,
        max_driver_minutes: None,
        first_stint_driven_minutes: None,
    };
    let by = team.engineer().map_or("demo", |e| e.user_id.as_str());
    match pitbox_cloud::strategy::seed_plan(&cloud.store, &team.team_id, &request, by).await {
        Ok(true) => tracing::info!(laps = ?request.race.laps, "the demo team's stint plan is stored"),
        Ok(false) => {}
        // The race runs without a plan: the pit wall says "no plan yet".
        Err(e) => tracing::warn!(error = %e, "the demo's stint plan could not be made"),
    }
}

/// The relay and the car, started after the cloud.
struct TeamParts {
    relay: RelayHandle,
    car: CarParts,
    callouts_dir: Option<PathBuf>,
}

/// The simulator, the agents and the crew.
struct CarParts {
    dispatcher: seats::Dispatcher,
    agents: Vec<AgentHandle>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

async fn start_team(
    cfg: &DemoConfig,
    track: &'static track::TrackDef,
    cloud: &AppState,
    team: &DemoTeam,
    cloud_addr: SocketAddr,
    lap_offset: u32,
) -> Result<TeamParts, DemoError> {
    // Tokens the cloud signs.
    team.engineer().ok_or_else(|| DemoError::Seed("no engineer account".into()))?;
    let token = |a: &DemoAccount| cloud.keys.issue(&a.user_id, a.role, &team.team_id, &a.username);
    let drivers: Vec<(DemoAccount, String)> =
        team.drivers().into_iter().map(|d| Ok((d.clone(), token(d)?))).collect::<Result<_, DemoError>>()?;

    // The relay, trusting the cloud's key, uplinked to the cloud.
    let relay_dir = cfg.data_dir.join("relay");
    let mut verifier = pitbox_auth::Verifier::new();
    verifier.add_jwks_json(&cloud.keys.jwks().to_string())?;
    let mut relay_cfg = RelayConfig::new(cfg.relay_listen, relay_dir, verifier);
    relay_cfg.hub.server_id = "demo-relay".into();
    // Agents send up to 120 samples a second at a fast pace; the default limit is for 60 Hz.
    relay_cfg.hub.rate_per_sec = relay_cfg.hub.rate_per_sec.max(400.0);
    relay_cfg.hub.rate_burst = relay_cfg.hub.rate_burst.max(800.0);
    relay_cfg.cloud = Some(UplinkConfig {
        url: format!("ws://{}/ws", reachable(cloud_addr)),
        // The relay's own credential: the cloud takes no user's token as a relay.
        token: cloud.keys.issue_relay("relay-demo", &team.team_id, "demo relay", Duration::from_secs(30 * 86_400))?.0,
        window: 256,
        backoff_min: Duration::from_millis(200),
        backoff_max: Duration::from_secs(5),
    });
    let relay = pitbox_relay::start(relay_cfg).await?;
    match start_car(cfg, track, cloud, &drivers, cloud_addr, relay.addr(), lap_offset).await {
        Ok(car) => {
            let callouts_dir =
                cfg.callouts.then(|| cfg.data_dir.join("callouts")).filter(|_| !cfg!(feature = "sound-card"));
            Ok(TeamParts { relay, car, callouts_dir })
        }
        Err(e) => {
            relay.shutdown().await;
            Err(e)
        }
    }
}

async fn start_car(
    cfg: &DemoConfig,
    track: &'static track::TrackDef,
    cloud: &AppState,
    drivers: &[(DemoAccount, String)],
    cloud_addr: SocketAddr,
    relay_addr: SocketAddr,
    lap_offset: u32,
) -> Result<CarParts, DemoError> {
    // The simulator and the seats of the team car.
    let mut sim_cfg = SimConfig::new(cfg.seed, track);
    sim_cfg.cars = cfg.cars;
    sim_cfg.session_laps = cfg.laps;
    sim_cfg.stint_laps = cfg.stint_laps;
    sim_cfg.team_drivers = drivers.iter().map(|(d, _)| d.display_name.clone()).collect();
    sim_cfg.player_car_idx = sim_cfg.player_car_idx.min(cfg.cars - 1);
    // Mistakes give the coach something to find.
    sim_cfg = sim_cfg.with_planted_mistakes(cfg.laps.map_or(500, |l| l as i32));
    let mut live = LiveOptions::new("team-car");
    live.standings_hz = 2.0;
    let source = SimSource::start(sim_cfg, LivePace { speed: cfg.pace }, live)?;
    let (car_tx, car_rx) = tokio::sync::mpsc::unbounded_channel();
    let seat_list =
        drivers.iter().map(|(d, _)| seats::Seat { user_id: d.user_id.clone(), name: d.display_name.clone() }).collect();
    // The lap count is kept as it grows, so a demo that is killed still resumes after it.
    let race_path = cfg.data_dir.join(RACE_STATE_FILE);
    let on_new_lap = Box::new(move |last_lap| {
        if let Err(e) = write_race_state(&race_path, RaceState { last_lap }) {
            tracing::warn!(error = %e, "cannot record the lap count");
        }
    });
    let (dispatcher, seat_sources) =
        seats::start(Box::new(source), seat_list, lap_offset, car_tx, on_new_lap).map_err(DemoError::Thread)?;

    // One driver agent per seat, as `pitbox driver` runs it.
    let telemetry_hz = (60.0 * cfg.pace).clamp(1.0, 120.0);
    let mut agents: Vec<AgentHandle> = Vec::with_capacity(drivers.len());
    for (i, ((d, token), src)) in drivers.iter().zip(seat_sources).enumerate() {
        let app = DriverAppConfig {
            relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: reachable(relay_addr).port() },
            cloud: CloudConfig { endpoint: format!("http://{}", reachable(cloud_addr)), enabled: false },
            voice: VoiceConfig { enabled: cfg.callouts, sensitivity: 0.5, voice_id: "default".into() },
        };
        let mut settings = pitbox_driver::AgentSettings::new(d.user_id.clone(), app);
        settings.token = Some(token.clone());
        settings.listen = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        settings.telemetry_hz = telemetry_hz;
        settings.backoff_min = Duration::from_millis(200);
        settings.backoff_max = Duration::from_secs(5);
        let next = drivers.get((i + 1) % drivers.len()).map(|(n, _)| n).filter(|n| n.user_id != d.user_id);
        settings.voice = voice_settings(cfg, d, next);
        match pitbox_driver::start(settings, Box::new(src)).await {
            Ok(a) => agents.push(a),
            Err(e) => {
                for a in agents {
                    a.shutdown().await;
                }
                return Err(e.into());
            }
        }
    }

    let (stop, stop_rx) = watch::channel(false);
    let crew = crew::Crew {
        seats: drivers
            .iter()
            .zip(&agents)
            .map(|((d, _), a)| crew::CrewSeat {
                user_id: d.user_id.clone(),
                name: d.display_name.clone(),
                agent: Arc::clone(&a.shared),
                api_addr: a.api_addr,
                api_key: a.api_key.clone(),
            })
            .collect(),
        cloud: cloud.clone(),
    };
    let tasks = vec![tokio::spawn(crew.run(car_rx, stop_rx))];
    Ok(CarParts { dispatcher, agents, stop, tasks })
}

/// Each driver's radio (the agent's voice): callouts into `callouts/<username>/` as WAV files,
/// "played" at the race's pace so they keep up with the car, or the sound card with the
/// `sound-card` feature. "Request handoff" asks the next driver in the stint order.
fn voice_settings(cfg: &DemoConfig, me: &DemoAccount, next: Option<&DemoAccount>) -> VoiceSettings {
    let mut v = VoiceSettings::wav_dir(cfg.data_dir.join("callouts").join(&me.username));
    if let CalloutOutput::WavDir { time_scale, .. } = &mut v.output {
        *time_scale = 1.0 / cfg.pace;
    }
    if cfg!(feature = "sound-card") {
        v.output = CalloutOutput::SoundCard { device: None };
    }
    v.driver_name = Some(me.display_name.clone());
    v.handoff_to = next.map(|n| HandoffTarget { id: n.user_id.clone(), name: n.display_name.clone() });
    v
}

/// Runs the demo until Ctrl-C (blocking: starts its own async runtime).
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let cfg = DemoConfig::from_args(&args);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let demo = start(cfg).await.context("starting the demo")?;
        print!("{}", demo.banner());
        let signal = pitbox_relay::cli::wait_for_signal();
        tokio::pin!(signal);
        let mut told = false;
        loop {
            tokio::select! {
                _ = &mut signal => break,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    if !told && demo.race_over() {
                        told = true;
                        println!("race over at lap {}; the dashboard keeps the history (Ctrl-C stops)", demo.lap());
                    }
                }
            }
        }
        eprintln!("pitbox demo: stopping (flushing telemetry to the cloud)…");
        let summary = demo.shutdown().await.context("stopping the demo")?;
        eprintln!("pitbox demo: stopped at lap {}; start it again to resume with the stored history", summary.last_lap);
        Ok(())
    })
}

/// Resolves once `stop` turns true (or its sender is gone).
pub(crate) async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|v| *v).await;
}
