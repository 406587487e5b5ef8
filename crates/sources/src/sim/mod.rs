//! The simulator: a deterministic (seeded) race session good enough to develop and demonstrate
//! every other part of PitBox without iRacing.
//!
//! - [`track`]: centre lines of real-length tracks (Red Bull Ring, Monza, Brands Hatch Indy);
//! - [`car`]: grip, braking, traction, power and drag limits → a speed profile per lap;
//! - drivers with skill (how much of the limit they use) and consistency (corner-to-corner
//!   variance), a full field (24 cars by default) for standings, fuel burn from the throttle,
//!   tyre wear from the loads (grip falls as they wear), pit stops when the fuel runs low (pit
//!   lane speed limit, a stop with refuelling and new tyres), driver changes at the team car's
//!   stops, and optional planted mistakes ([`PlantedMistake`]) for coaching tests;
//! - [`Sim::step`] advances one tick (1/60 s) and writes an iRacing SDK row ([`vars`]); the
//!   session info is iRacing-style YAML ([`Sim::session_yaml`]). [`output`] writes those into an
//!   `.ibt` file or live memory through `pitbox-irsdk`'s writers, so the real reading path is
//!   exercised end to end.

pub mod car;
pub mod output;
pub mod pit_box;
pub mod rng;
pub mod source;
pub mod track;
pub mod vars;
mod yaml;

use car::{CarDef, FUEL_KG_PER_L, G, GT3, LapLimits, speed_profile};
use pitbox_irsdk::IrsdkError;
use rng::Rng;
use track::{Track, TrackDef};
use vars::Vars;

/// Ticks per second, as iRacing.
pub const TICK_RATE: i32 = 60;
/// Pit lane speed limit, m/s (60 km/h).
pub const PIT_SPEED: f64 = 60.0 / 3.6;
/// Metres before the line where the team's pit box is.
const BOX_BEFORE_LINE_M: f64 = 45.0;
/// Metres of the next lap planned ahead, so braking for what comes after the line is right.
const LOOKAHEAD_M: f64 = 700.0;

/// A mistake planted on purpose, for coaching tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MistakeKind {
    /// Brakes too early and too much: the corner is taken at 75% of the speed it allows.
    Overslow,
    /// Waits to get on the power: at most 30% throttle for 150 m after the corner.
    LateThrottle,
}

/// Where a mistake is planted: the player car's lap (the `Lap` counter) and corner (1-based).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlantedMistake {
    pub lap: i32,
    pub corner: usize,
    pub kind: MistakeKind,
}

/// One driver of a car.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverProfile {
    pub name: String,
    pub user_id: i64,
    /// 0–1: how much of the car's limit the driver uses (1 = all of it).
    pub skill: f64,
    /// 0–1: how repeatable the driver is corner to corner (1 = machine-like).
    pub consistency: f64,
    pub irating: i64,
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    /// Laps the team car runs in practice before qualifying and the race (0: no practice).
    pub practice_laps: u32,
    /// Laps the team car runs in qualifying before the race (0: no qualifying). The race grid is
    /// then the qualifying order by best lap.
    pub qualify_laps: u32,
    pub track: &'static TrackDef,
    pub car: CarDef,
    /// Cars in the field (1–64).
    pub cars: usize,
    /// Race length in laps (`None`: unlimited).
    pub session_laps: Option<u32>,
    /// Laps of fuel the team car takes at each stop (the others vary around it).
    pub stint_laps: u32,
    /// The team car's drivers, in stint order (at least one).
    pub team_drivers: Vec<String>,
    /// Car index of the team (player) car.
    pub player_car_idx: usize,
    /// Mistakes planted on the team car.
    pub mistakes: Vec<PlantedMistake>,
}

impl SimConfig {
    /// The simulator's estimate of a lap's fuel use, litres: what every car's stint fuel is
    /// planned from.
    pub fn estimated_fuel_per_lap(&self) -> f64 {
        self.car.full_flow_lps * 0.62 * self.track.reference_lap_s
    }

    /// Fuel the team car starts each stint with and is refilled to: the estimate for
    /// `stint_laps` laps and one more, at most a tank.
    pub fn team_stint_fuel_l(&self) -> f64 {
        (self.estimated_fuel_per_lap() * (f64::from(self.stint_laps) + 1.0)).min(self.car.tank_l)
    }

    /// A race at `track` with everything else at its default.
    pub fn new(seed: u64, track: &'static TrackDef) -> SimConfig {
        SimConfig {
            seed,
            practice_laps: 0,
            qualify_laps: 0,
            track,
            car: GT3,
            cars: 24,
            session_laps: None,
            stint_laps: 12,
            team_drivers: vec!["Alex Novak".into(), "Sam Ortega".into(), "Jo Lindqvist".into()],
            player_car_idx: 7,
            mistakes: Vec::new(),
        }
    }

    /// Plants a few seeded mistakes on the team car: one every third lap from lap 3 on, up to
    /// `laps`.
    pub fn with_planted_mistakes(mut self, laps: i32) -> SimConfig {
        let corners = Track::build(self.track).corners.len().max(1);
        let mut r = Rng::derive(self.seed, &[0x4D15]);
        let mut lap = 3;
        while lap <= laps {
            let kind = if r.unit() < 0.5 { MistakeKind::Overslow } else { MistakeKind::LateThrottle };
            self.mistakes.push(PlantedMistake { lap, corner: 1 + r.below(corners), kind });
            lap += 3;
        }
        self
    }
}

/// Why a configuration cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid simulator setting: {0}")]
    Config(String),
    #[error(transparent)]
    Irsdk(#[from] IrsdkError),
}

/// A completed lap of one car.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LapRecord {
    pub car_idx: usize,
    /// The lap number (the `Lap` counter while it was driven).
    pub lap: i32,
    pub time_s: f64,
    /// Whether the lap had a pit stop in it or started in the pit lane.
    pub pit: bool,
    pub driver: usize,
}

#[derive(Debug, Clone)]
struct Car {
    idx: usize,
    number: String,
    team_name: String,
    team_id: i64,
    drivers: Vec<DriverProfile>,
    driver: usize,
    drivers_used: usize,
    /// Metres into the current lap.
    s: f64,
    /// Laps started.
    lap: i32,
    lap_start: Option<f64>,
    last_lap: Option<f64>,
    best_lap: Option<f64>,
    plan: Vec<f64>,
    fuel_l: f64,
    fuel_at_lap_start: f64,
    burn_per_lap: f64,
    stint_fuel_l: f64,
    /// Internal tread worn, 0–1, per corner (LF, RF, LR, RR) and zone (L, M, R).
    wear: [[f64; 3]; 4],
    /// What the SDK shows (remaining, 1 = new): only updated in the pits.
    wear_shown: [[f64; 3]; 4],
    pit_this_lap: bool,
    out_lap: bool,
    stopped_until: Option<f64>,
    pit_stops: u32,
    gear: i32,
    v: f64,
    throttle: f64,
    brake: f64,
    long_accel: f64,
    lat_accel: f64,
    steering: f64,
    on_pit_road: bool,
    lap_had_pit: bool,
    finished: bool,
}

/// A simulated session.
pub struct Sim {
    cfg: SimConfig,
    track: Track,
    vars: Vars,
    row: Vec<u8>,
    cars: Vec<Car>,
    tick: i32,
    time: f64,
    session_version: u32,
    laps: Vec<LapRecord>,
    planted: Vec<(PlantedMistake, f64)>,
    checkered: bool,
    positions: Vec<usize>,
    /// Index into [`Sim::sessions`] of the session running now (iRacing's `SessionNum`).
    session_idx: usize,
    /// `CarIdxEstTime` at each track sample ([`reference_times`]).
    est_time: Vec<f64>,
    /// The player's pit-service boxes, set by pit commands ([`pit_box`]).
    pit_box: pit_box::SimPitBox,
    /// iRacing's `SubSessionID` of this run ([`run_sub_session_id`]).
    sub_session_id: u32,
}

/// The `SessionID` every simulated weekend reports: nonzero, so each run is a hosted session.
pub const SIM_SESSION_ID: u32 = 7_770_000;

/// A `SubSessionID` of its own for each simulator run: the seed and the start's wall clock
/// mixed. Two simulators (two drivers' PCs, or an agent restarted) are then two sessions, as two
/// hosted iRacing sessions are; with iRacing's offline id (0) two runs started in the same
/// second would share a session key and the pit wall would mix their standings.
fn run_sub_session_id(seed: u64) -> u32 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut x = now ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // splitmix64's finaliser: nearby clocks and seeds give unrelated ids.
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    // iRacing's subsession ids are 8-digit numbers; never 0 (offline).
    10_000_000 + (x % 89_999_999) as u32
}

/// A session of the simulated weekend, as iRacing names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Practice,
    Qualify,
    Race,
}

impl SessionKind {
    /// iRacing's `SessionType`.
    pub fn sdk_type(self) -> &'static str {
        match self {
            SessionKind::Practice => "Practice",
            SessionKind::Qualify => "Lone Qualify",
            SessionKind::Race => "Race",
        }
    }

    /// iRacing's `SessionName`.
    pub fn sdk_name(self) -> &'static str {
        match self {
            SessionKind::Practice => "PRACTICE",
            SessionKind::Qualify => "QUALIFY",
            SessionKind::Race => "RACE",
        }
    }
}

const FIRST: &[&str] = &[
    "Lena", "Marco", "Yuki", "Tom", "Ines", "Felix", "Nora", "Raj", "Ana", "Lucas", "Mia", "Omar", "Eva", "Jonas",
    "Sofia", "Ben", "Chloe", "Ivan", "Leila", "Pablo", "Hana", "Max", "Zoe", "Kai", "Ella", "Nils", "Maya", "Luis",
];
const LAST: &[&str] = &[
    "Berger", "Rossi", "Tanaka", "Hughes", "Costa", "Maier", "Dubois", "Patel", "Silva", "Novak", "Jensen", "Haddad",
    "Kowalski", "Larsen", "Moreau", "Fischer", "Walsh", "Petrov", "Nakamura", "Garcia", "Schmidt", "Okafor", "Brandt",
    "Romano", "Keller", "Varga", "Lindgren", "Mendes",
];

impl Sim {
    /// Sets the session up: field, grid, first plans.
    pub fn new(cfg: SimConfig) -> Result<Sim, SimError> {
        if !(1..=vars::CARS).contains(&cfg.cars) {
            return Err(SimError::Config(format!("cars must be 1..=64, got {}", cfg.cars)));
        }
        if cfg.player_car_idx >= cfg.cars {
            return Err(SimError::Config(format!(
                "the team car index {} is not in a field of {} cars",
                cfg.player_car_idx, cfg.cars
            )));
        }
        if cfg.team_drivers.is_empty() || cfg.team_drivers.iter().any(|d| d.trim().is_empty()) {
            return Err(SimError::Config("the team car needs at least one named driver".into()));
        }
        if cfg.stint_laps == 0 {
            return Err(SimError::Config("stint laps must be at least 1".into()));
        }
        let track = Track::build(cfg.track);
        let vars = Vars::new()?;
        let (_, buf_len) = vars::var_headers();
        let est_burn = cfg.estimated_fuel_per_lap();
        let mut cars = Vec::with_capacity(cfg.cars);
        for idx in 0..cfg.cars {
            let mut r = Rng::derive(cfg.seed, &[0xCA5, idx as u64]);
            let team = idx == cfg.player_car_idx;
            let drivers: Vec<DriverProfile> = if team {
                cfg.team_drivers
                    .iter()
                    .enumerate()
                    .map(|(k, name)| {
                        let mut dr = Rng::derive(cfg.seed, &[0x7EA, k as u64]);
                        DriverProfile {
                            name: name.trim().to_string(),
                            user_id: 900_000 + k as i64,
                            skill: dr.range(0.72, 0.95),
                            consistency: dr.range(0.6, 0.95),
                            irating: 2_500 + (dr.unit() * 2_000.0) as i64,
                        }
                    })
                    .collect()
            } else {
                let name = format!("{} {}", FIRST[r.below(FIRST.len())], LAST[r.below(LAST.len())]);
                vec![DriverProfile {
                    name,
                    user_id: 100_000 + r.below(800_000) as i64,
                    skill: r.range(0.4, 1.0),
                    consistency: r.range(0.45, 0.97),
                    irating: 1_200 + (r.unit() * 4_000.0) as i64,
                }]
            };
            let stint = if team { cfg.stint_laps as f64 } else { cfg.stint_laps as f64 * r.range(0.8, 1.2) };
            let stint_fuel = (est_burn * (stint + 1.0)).min(cfg.car.tank_l);
            let number = format!("{}", if team { 77 } else { 2 + idx * 3 + r.below(3) });
            cars.push(Car {
                idx,
                number,
                team_name: if team { "PitBox Racing".into() } else { String::new() },
                team_id: if team { 4242 } else { 0 },
                drivers,
                driver: 0,
                drivers_used: 1,
                s: 0.0,
                lap: 0,
                lap_start: None,
                last_lap: None,
                best_lap: None,
                plan: Vec::new(),
                fuel_l: stint_fuel,
                fuel_at_lap_start: stint_fuel,
                burn_per_lap: est_burn,
                stint_fuel_l: stint_fuel,
                wear: [[0.0; 3]; 4],
                wear_shown: [[1.0; 3]; 4],
                pit_this_lap: false,
                out_lap: false,
                stopped_until: None,
                pit_stops: 0,
                gear: 1,
                v: 0.0,
                throttle: 0.0,
                brake: 0.0,
                long_accel: 0.0,
                lat_accel: 0.0,
                steering: 0.0,
                on_pit_road: false,
                lap_had_pit: false,
                finished: false,
            });
        }
        // Grid: by skill with some luck, two metres of gap per... a flying start in single file.
        let mut order: Vec<usize> = (0..cfg.cars).collect();
        let luck: Vec<f64> =
            (0..cfg.cars).map(|i| Rng::derive(cfg.seed, &[0x611D, i as u64]).normal() * 0.08).collect();
        order.sort_by(|&a, &b| {
            let ka = cars[a].drivers[0].skill + luck[a];
            let kb = cars[b].drivers[0].skill + luck[b];
            kb.total_cmp(&ka)
        });
        let mut sim = Sim {
            row: vec![0u8; buf_len],
            track,
            vars,
            cars,
            tick: 0,
            time: 0.0,
            session_version: 1,
            laps: Vec::new(),
            planted: Vec::new(),
            checkered: false,
            positions: order.clone(),
            session_idx: 0,
            est_time: Vec::new(),
            pit_box: pit_box::SimPitBox::default(),
            sub_session_id: run_sub_session_id(cfg.seed),
            cfg,
        };
        sim.est_time = reference_times(&sim.cfg.car, &sim.track, sim.cfg.track.reference_lap_s);
        sim.place_on_grid(&order);
        Ok(sim)
    }

    /// The player's pit-service boxes: set them (from any thread) as iRacing's are set.
    pub fn pit_box(&self) -> pit_box::SimPitBox {
        self.pit_box.clone()
    }

    /// A flying start in single file, in `order`.
    fn place_on_grid(&mut self, order: &[usize]) {
        for (grid, &idx) in order.iter().enumerate() {
            self.plan_lap(idx, 45.0);
            let s = self.track.length - 20.0 - 18.0 * grid as f64;
            let c = &mut self.cars[idx];
            c.s = s.max(0.0);
            c.v = self.track.interp_plan(&c.plan, c.s);
        }
        self.positions = order.to_vec();
    }

    /// The weekend's sessions in order, each with its laps for the team car (the race: the
    /// configured race length, `None` = unlimited).
    pub fn sessions(&self) -> Vec<(SessionKind, Option<u32>)> {
        let mut out = Vec::with_capacity(3);
        if self.cfg.practice_laps > 0 {
            out.push((SessionKind::Practice, Some(self.cfg.practice_laps)));
        }
        if self.cfg.qualify_laps > 0 {
            out.push((SessionKind::Qualify, Some(self.cfg.qualify_laps)));
        }
        out.push((SessionKind::Race, self.cfg.session_laps));
        out
    }

    /// Car indices in running order (in a new session: the grid).
    pub fn positions(&self) -> &[usize] {
        &self.positions
    }

    /// iRacing's `SessionNum` of the session running now.
    pub fn session_num(&self) -> usize {
        self.session_idx
    }

    /// The kind of the session running now.
    pub fn session_kind(&self) -> SessionKind {
        self.sessions().get(self.session_idx).map_or(SessionKind::Race, |s| s.0)
    }

    /// Practice or qualifying is over once the team car has run its laps: the next session starts
    /// as iRacing's does — `SessionNum` up, the session clock and lap counters from zero, the
    /// cars refuelled on new tyres, the race grid from qualifying's best laps.
    fn next_session_if_done(&mut self) {
        let sessions = self.sessions();
        let Some(&(kind, Some(laps))) = sessions.get(self.session_idx) else { return };
        if self.session_idx + 1 >= sessions.len() || self.player_laps_completed() < laps as i32 {
            return;
        }
        let order: Vec<usize> = if kind == SessionKind::Qualify {
            let mut o: Vec<usize> = (0..self.cars.len()).collect();
            o.sort_by(|&a, &b| {
                let (ta, tb) = (self.cars[a].best_lap, self.cars[b].best_lap);
                ta.unwrap_or(f64::INFINITY).total_cmp(&tb.unwrap_or(f64::INFINITY)).then(a.cmp(&b))
            });
            o
        } else {
            self.positions.clone()
        };
        self.session_idx += 1;
        self.time = 0.0;
        self.laps.clear();
        self.checkered = false;
        self.session_version += 1;
        for c in &mut self.cars {
            c.lap = 0;
            c.lap_start = None;
            c.last_lap = None;
            c.best_lap = None;
            c.pit_this_lap = false;
            c.out_lap = false;
            c.stopped_until = None;
            c.lap_had_pit = false;
            c.finished = false;
            c.pit_stops = 0;
            c.fuel_l = c.stint_fuel_l;
            c.fuel_at_lap_start = c.fuel_l;
            c.wear = [[0.0; 3]; 4];
            c.wear_shown = [[1.0; 3]; 4];
            c.on_pit_road = false;
        }
        self.place_on_grid(&order);
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// The built track.
    pub fn track(&self) -> &Track {
        &self.track
    }

    /// Seconds since the session running now started.
    pub fn time(&self) -> f64 {
        self.time
    }

    /// Every completed lap so far, of every car.
    pub fn laps(&self) -> &[LapRecord] {
        &self.laps
    }

    /// The team car's completed laps.
    pub fn player_laps(&self) -> Vec<LapRecord> {
        self.laps.iter().filter(|l| l.car_idx == self.cfg.player_car_idx).copied().collect()
    }

    /// Laps the team car has completed.
    pub fn player_laps_completed(&self) -> i32 {
        (self.cars[self.cfg.player_car_idx].lap - 1).max(0)
    }

    /// Mistakes planted so far, with the session time when each happened.
    pub fn planted(&self) -> &[(PlantedMistake, f64)] {
        &self.planted
    }

    /// Bumped whenever the session info changes (a driver change).
    pub fn session_version(&self) -> u32 {
        self.session_version
    }

    /// The name of the driver in the team car now.
    pub fn team_driver(&self) -> &str {
        let c = &self.cars[self.cfg.player_car_idx];
        &c.drivers[c.driver].name
    }

    /// Whether the leader has taken the chequered flag and the team car has finished.
    pub fn finished(&self) -> bool {
        self.cars[self.cfg.player_car_idx].finished
    }

    /// The current SDK row.
    pub fn row(&self) -> &[u8] {
        &self.row
    }

    /// The session info as iRacing writes it.
    pub fn session_yaml(&self) -> String {
        yaml::session_yaml(self)
    }

    fn plan_lap(&mut self, idx: usize, v0: f64) {
        let lap = self.cars[idx].lap;
        let n = self.track.len();
        let total = n + (LOOKAHEAD_M / self.track.ds) as usize;
        let len = self.track.length;
        let c = &self.cars[idx];
        let d = &c.drivers[c.driver];
        let mut r = Rng::derive(self.cfg.seed, &[0x1A9, idx as u64, lap as u64, c.driver as u64]);
        let usage = 0.90 + 0.10 * d.skill;
        let sigma = 0.002 + 0.012 * (1.0 - d.consistency);
        let mean_wear: f64 = c.wear.iter().flatten().sum::<f64>() / 12.0;
        let tyre = 1.0 - 0.25 * mean_wear;
        let mut limits = LapLimits::uniform(total, usage * tyre, self.cfg.car.vmax);
        for corner in &self.track.corners {
            let f = (1.0 + sigma * r.normal()).min(1.0 / usage);
            for i in self.sample_range(corner.start_m - 60.0, corner.end_m + 20.0, total) {
                limits.grip[i] = usage * tyre * f;
            }
        }
        let pit_this_lap = c.pit_this_lap;
        let out_lap = c.out_lap;
        let def = self.cfg.track;
        if out_lap {
            for i in self.sample_range(0.0, def.pit_exit * len, total) {
                limits.vcap[i] = PIT_SPEED;
            }
        }
        if pit_this_lap {
            for i in self.sample_range(def.pit_entry * len, len + def.pit_exit * len, total) {
                limits.vcap[i] = PIT_SPEED;
            }
            let b = ((len - BOX_BEFORE_LINE_M) / self.track.ds) as usize;
            limits.vcap[b.min(total - 1)] = 0.0;
        }
        if idx == self.cfg.player_car_idx {
            for m in self.cfg.mistakes.iter().filter(|m| m.lap == lap) {
                let Some(corner) = self.track.corners.get(m.corner.saturating_sub(1)) else { continue };
                match m.kind {
                    MistakeKind::Overslow => {
                        let v = self.cfg.car.corner_speed(1.0 / corner.radius_m, usage * tyre) * 0.75;
                        for i in self.sample_range(corner.start_m, corner.end_m, total) {
                            limits.vcap[i] = limits.vcap[i].min(v);
                        }
                    }
                    MistakeKind::LateThrottle => {
                        for i in self.sample_range(corner.end_m - 10.0, corner.end_m + 150.0, total) {
                            limits.power[i] = 0.3;
                        }
                    }
                }
                self.planted.push((*m, self.time));
            }
        }
        let mass = self.cfg.car.mass_kg + self.cars[idx].fuel_l * FUEL_KG_PER_L;
        let plan = speed_profile(&self.cfg.car, &self.track, &limits, v0, mass);
        self.cars[idx].plan = plan;
    }

    /// Sample indices from `a` to `b` metres (which may run past the lap), within `total`.
    fn sample_range(&self, a: f64, b: f64, total: usize) -> std::ops::Range<usize> {
        let ds = self.track.ds;
        let lo = (a.max(0.0) / ds) as usize;
        let hi = ((b.max(0.0) / ds).ceil() as usize).min(total);
        lo.min(hi)..hi
    }

    /// Advances one tick and writes the SDK row.
    pub fn step(&mut self) {
        let dt = 1.0 / f64::from(TICK_RATE);
        self.time += dt;
        self.tick += 1;
        for idx in 0..self.cars.len() {
            self.step_car(idx, dt);
        }
        self.next_session_if_done();
        self.rank();
        self.write_row();
    }

    fn step_car(&mut self, idx: usize, dt: f64) {
        let len = self.track.length;
        let ds = self.track.ds;
        let car = self.cfg.car.clone();
        let box_s = len - BOX_BEFORE_LINE_M;
        let now = self.time;
        // Stationary in the pit box.
        if let Some(until) = self.cars[idx].stopped_until {
            let c = &mut self.cars[idx];
            c.v = 0.0;
            c.throttle = 0.0;
            c.brake = 1.0;
            c.long_accel = 0.0;
            c.lat_accel = 0.0;
            c.gear = 0;
            if now >= until {
                c.stopped_until = None;
                c.s = box_s + 0.6;
                c.gear = 1;
                c.brake = 0.0;
            }
            return;
        }
        let c = &self.cars[idx];
        let mut v = self.track.interp_plan(&c.plan, c.s);
        if c.pit_this_lap && c.s >= box_s - 2.5 && c.s < box_s + 0.5 {
            self.stop_in_box(idx);
            return;
        }
        if v < 0.3 {
            v = 0.3;
        }
        // Dynamics from the plan: acceleration along the lap, curvature across it.
        let i = (c.s / ds) as usize;
        let i1 = (i + 1).min(c.plan.len() - 1);
        let a_long = if i1 > i { (c.plan[i1].powi(2) - c.plan[i].powi(2)) / (2.0 * ds) } else { 0.0 };
        let k = self.track.curvature_at(c.s);
        let mass = car.mass_kg + c.fuel_l * FUEL_KG_PER_L;
        let force = mass * a_long + car.resistance(v, mass);
        let d = &c.drivers[c.driver];
        let (throttle, brake) = if force >= 0.0 {
            ((force * v.max(1.0) / car.power_w).clamp(0.0, 1.0), 0.0)
        } else {
            let engine_brake = 0.08 * mass * G;
            let max_brake = car.mu_brake * mass * (G + car.downforce_k * v * v);
            (0.0, ((-force - engine_brake) / max_brake).clamp(0.0, 1.0))
        };
        let understeer = 0.004 * (1.0 - d.skill * 0.5);
        let lat = v * v * k;
        let steer_road = (car.wheelbase_m * k).atan() + understeer * lat * k.signum();
        let gear = car.gear_for(v, self.cars[idx].gear);
        let mut s_new = self.cars[idx].s + v * dt;
        // Wear: proportional to the loads on the tyre, outside tyres and fronts more.
        let load = (lat.abs() + 0.6 * a_long.abs()) * v * dt * 2.4e-7;
        let c = &mut self.cars[idx];
        for (corner, w) in c.wear.iter_mut().enumerate() {
            let left = corner % 2 == 0;
            let front = corner < 2;
            let outside = if lat < 0.0 { left } else { !left };
            let f = (if outside { 1.25 } else { 0.8 }) * (if front { 1.1 } else { 1.0 });
            // Zones: the inside edge of each tyre (R on left tyres, L on right ones) works hardest.
            let zones = if left { [0.95, 1.0, 1.08] } else { [1.08, 1.0, 0.95] };
            for (z, wz) in w.iter_mut().enumerate() {
                *wz = (*wz + load * f * zones[z]).min(1.0);
            }
        }
        c.fuel_l = (c.fuel_l - throttle * car.full_flow_lps * dt).max(0.0);
        c.v = v;
        c.throttle = throttle;
        c.brake = brake;
        c.long_accel = a_long;
        c.lat_accel = lat;
        c.steering = steer_road * car.steering_ratio;
        c.gear = gear;
        let def = self.cfg.track;
        c.on_pit_road = (c.pit_this_lap && c.s >= def.pit_entry * len) || (c.out_lap && c.s < def.pit_exit * len);
        if s_new >= len {
            s_new -= len;
            let cross = now - s_new / v.max(0.3);
            self.cross_line(idx, cross, v);
        }
        self.cars[idx].s = s_new;
    }

    fn stop_in_box(&mut self, idx: usize) {
        let team = idx == self.cfg.player_car_idx;
        let now = self.time;
        let c = &mut self.cars[idx];
        // Tyres come off: the SDK shows what was measured.
        for (shown, worn) in c.wear_shown.iter_mut().zip(c.wear.iter()) {
            for (s, w) in shown.iter_mut().zip(worn.iter()) {
                *s = 1.0 - w;
            }
        }
        let refill = (c.stint_fuel_l - c.fuel_l).max(0.0);
        // The player's stop does what its boxes say (a pit command may have set them); the
        // tank holds what it holds.
        let boxes = if team { self.pit_box.get() } else { pit_box::PitBoxes::default() };
        let add = boxes.fuel_l(refill).min(self.cfg.car.tank_l - c.fuel_l).max(0.0);
        let mut service = (add / 2.8).max(18.0);
        if team && c.drivers.len() > 1 {
            service += 6.0;
        }
        c.stopped_until = Some(now + service);
        c.fuel_l += add;
        for (corner, worn) in c.wear.iter_mut().enumerate() {
            if boxes.tyres & (1 << corner) != 0 {
                *worn = [0.0; 3];
            }
        }
        c.pit_stops += 1;
        c.lap_had_pit = true;
        c.v = 0.0;
        c.s = self.track.length - BOX_BEFORE_LINE_M;
        if team && c.drivers.len() > 1 {
            c.driver = (c.driver + 1) % c.drivers.len();
            c.drivers_used = (c.drivers_used + 1).min(c.drivers.len());
            self.session_version += 1;
        }
    }

    fn cross_line(&mut self, idx: usize, when: f64, v: f64) {
        // Only the race has a chequered flag; practice and qualifying end after the team car's laps.
        let laps_goal =
            if self.session_kind() == SessionKind::Race { self.cfg.session_laps.map(|l| l as i32) } else { None };
        let c = &mut self.cars[idx];
        if let Some(start) = c.lap_start
            && c.lap >= 1
        {
            let t = when - start;
            c.last_lap = Some(t);
            if !c.lap_had_pit && !c.out_lap {
                c.best_lap = Some(c.best_lap.map_or(t, |b: f64| b.min(t)));
            }
            self.laps.push(LapRecord {
                car_idx: idx,
                lap: c.lap,
                time_s: t,
                pit: c.lap_had_pit || c.out_lap,
                driver: c.driver,
            });
        }
        let burned = (c.fuel_at_lap_start - c.fuel_l).max(0.0);
        if c.lap >= 2 && !c.lap_had_pit && burned > 0.1 {
            c.burn_per_lap = 0.7 * c.burn_per_lap + 0.3 * burned;
        }
        if self.checkered || laps_goal.is_some_and(|g| c.lap >= g) {
            self.checkered = true;
            if c.lap >= 1 {
                c.finished = true;
            }
        }
        c.lap += 1;
        c.lap_start = Some(when);
        c.fuel_at_lap_start = c.fuel_l;
        c.out_lap = c.pit_this_lap;
        c.lap_had_pit = false;
        // Pit this lap if the fuel would not last two more laps.
        c.pit_this_lap = c.fuel_l < 1.9 * c.burn_per_lap;
        self.plan_lap(idx, v);
    }

    fn rank(&mut self) {
        let len = self.track.length;
        let dist: Vec<f64> = self.cars.iter().map(|c| f64::from(c.lap) + c.s / len).collect();
        let mut order: Vec<usize> = (0..self.cars.len()).collect();
        order.sort_by(|&a, &b| dist[b].total_cmp(&dist[a]).then(a.cmp(&b)));
        self.positions = order;
    }

    fn write_row(&mut self) {
        let v = self.vars;
        let len = self.track.length;
        let ref_speed = len / self.cfg.track.reference_lap_s;
        let sessions = self.sessions();
        let row = &mut self.row;
        row.fill(0);
        let p = &self.cars[self.cfg.player_car_idx];
        let leader = &self.cars[self.positions[0]];
        let leader_dist = f64::from(leader.lap) + leader.s / len;
        let position_of = |idx: usize| self.positions.iter().position(|&i| i == idx).map_or(0, |p| p as i32 + 1);
        v.session_time.set(row, self.time);
        v.session_tick.set(row, self.tick);
        v.session_num.set(row, self.session_idx as i32);
        v.session_state.set(row, if self.checkered { 5 } else { 4 });
        v.session_unique_id.set(row, 1);
        v.session_flags.set(row, if self.checkered { 0x0001 } else { 0x0004 });
        v.session_time_remain.set(row, 604_800.0);
        let remain = match sessions.get(self.session_idx) {
            Some(&(SessionKind::Race, laps)) => laps.map_or(32_767, |l| (l as i32 - leader.lap + 1).max(0)),
            Some(&(_, Some(l))) => (l as i32 - p.lap + 1).max(0),
            _ => 32_767,
        };
        v.session_laps_remain.set(row, remain);
        v.player_car_idx.set(row, self.cfg.player_car_idx as i32);
        let pos = position_of(p.idx);
        v.player_position.set(row, pos);
        v.player_class_position.set(row, pos);
        v.player_surface.set(row, if p.on_pit_road || p.stopped_until.is_some() { 2 } else { 3 });
        v.on_pit_road.set(row, p.on_pit_road || p.stopped_until.is_some());
        // The simulated player is always in the car, live (the stand-in has no garage or replay).
        v.is_on_track.set(row, true);
        v.is_in_garage.set(row, false);
        v.is_replay_playing.set(row, false);
        v.speed.set(row, p.v as f32);
        v.rpm.set(row, self.cfg.car.rpm(p.v, p.gear) as f32);
        v.gear.set(row, p.gear);
        v.throttle.set(row, p.throttle as f32);
        v.brake.set(row, p.brake as f32);
        v.clutch.set(row, 1.0);
        v.steering.set(row, p.steering as f32);
        v.lap.set(row, p.lap);
        v.lap_completed.set(row, (p.lap - 1).max(0));
        v.lap_dist.set(row, p.s as f32);
        v.lap_dist_pct.set(row, (p.s / len) as f32);
        v.lap_current.set(row, p.lap_start.map_or(0.0, |t| self.time - t) as f32);
        v.lap_last.set(row, p.last_lap.map_or(-1.0, |t| t as f32));
        v.lap_best.set(row, p.best_lap.map_or(0.0, |t| t as f32));
        v.fuel_level.set(row, p.fuel_l as f32);
        v.fuel_pct.set(row, (p.fuel_l / self.cfg.car.tank_l) as f32);
        v.fuel_use.set(row, (p.throttle * self.cfg.car.full_flow_lps * 3600.0 * FUEL_KG_PER_L) as f32);
        for (hs, shown) in v.wear().iter().zip(p.wear_shown.iter()) {
            for (h, w) in hs.iter().zip(shown.iter()) {
                h.set(row, *w as f32);
            }
        }
        let (lat, lon) = self.track.lat_lon(p.s);
        v.lat.set(row, lat);
        v.lon.set(row, lon);
        v.alt.set(row, 650.0);
        let heading = self.track.interp(&self.track.heading, p.s);
        // iRacing's yaw is counter-clockwise; YawNorth is the heading relative to north.
        v.yaw.set(row, (-heading) as f32);
        v.yaw_north.set(row, heading as f32);
        let k = self.track.curvature_at(p.s);
        v.yaw_rate.set(row, (p.v * k) as f32);
        v.lat_accel.set(row, p.lat_accel as f32);
        v.long_accel.set(row, p.long_accel as f32);
        v.vert_accel.set(row, G as f32);
        v.vel_x.set(row, p.v as f32);
        v.vel_y.set(row, 0.0);
        v.dc_drivers.set(row, p.drivers_used as i32);
        v.dc_lap_status.set(row, 0);
        let boxes = self.pit_box.get();
        v.pit_sv_flags.set(row, boxes.flags());
        v.pit_sv_fuel.set(row, boxes.fuel_l((p.stint_fuel_l - p.fuel_l).max(0.0)) as f32);
        v.car_left_right.set(row, car_left_right(&self.cars, p, len));
        for i in 0..vars::CARS {
            v.car_lap.set_at(row, i, -1);
            v.car_lap_completed.set_at(row, i, -1);
            v.car_pct.set_at(row, i, -1.0);
            v.car_surface.set_at(row, i, -1);
            v.car_f2.set_at(row, i, -1.0);
            v.car_last.set_at(row, i, -1.0);
            v.car_best.set_at(row, i, -1.0);
            v.car_gear.set_at(row, i, -1);
        }
        for c in &self.cars {
            let i = c.idx;
            let pos = position_of(i);
            v.car_lap.set_at(row, i, c.lap);
            v.car_lap_completed.set_at(row, i, (c.lap - 1).max(0));
            v.car_pct.set_at(row, i, (c.s / len) as f32);
            let in_pit = c.on_pit_road || c.stopped_until.is_some();
            v.car_surface.set_at(
                row,
                i,
                if c.stopped_until.is_some() {
                    1
                } else if in_pit {
                    2
                } else {
                    3
                },
            );
            v.car_on_pit.set_at(row, i, in_pit);
            v.car_position.set_at(row, i, pos);
            v.car_class_position.set_at(row, i, pos);
            let dist = f64::from(c.lap) + c.s / len;
            v.car_f2.set_at(row, i, (((leader_dist - dist) * len) / ref_speed).max(0.0) as f32);
            v.car_est.set_at(row, i, est_time_at(&self.est_time, &self.track, c.s) as f32);
            v.car_last.set_at(row, i, c.last_lap.map_or(-1.0, |t| t as f32));
            v.car_best.set_at(row, i, c.best_lap.map_or(-1.0, |t| t as f32));
            v.car_gear.set_at(row, i, c.gear);
            v.car_rpm.set_at(row, i, self.cfg.car.rpm(c.v, c.gear) as f32);
            v.car_steer.set_at(row, i, c.steering as f32);
        }
    }
}

/// iRacing's `CarIdxEstTime` is the time a reference lap takes to reach a point of the lap, so
/// the gap between two cars at the same pace holds still through a corner. Here: a clean lap of
/// the field's car (its second lap of a periodic profile), scaled to the track's reference lap
/// time, at each track sample (`len() + 1` entries). Time proportional to distance instead
/// (what the simulator wrote before) made every car behind "close" on each braking zone.
fn reference_times(car: &CarDef, track: &Track, lap_s: f64) -> Vec<f64> {
    let n = track.len();
    if n < 2 {
        return vec![0.0; n + 1];
    }
    let limits = LapLimits::uniform(2 * n, 0.95, car.vmax);
    let v = speed_profile(car, track, &limits, car.vmax / 2.0, car.mass_kg + 50.0);
    let mut t = vec![0.0; n + 1];
    for i in 0..n {
        let (a, b) = (v[n + i].max(0.5), v[(n + i + 1).min(2 * n - 1)].max(0.5));
        t[i + 1] = t[i] + 2.0 * track.ds / (a + b);
    }
    let scale = if t[n] > 0.0 && lap_s.is_finite() && lap_s > 0.0 { lap_s / t[n] } else { 1.0 };
    t.iter_mut().for_each(|x| *x *= scale);
    t
}

/// `CarIdxEstTime` at `s` metres into the lap from [`reference_times`] (rising through the lap,
/// no wrap before it ends).
fn est_time_at(est_time: &[f64], track: &Track, s: f64) -> f64 {
    let n = track.len();
    if n == 0 || est_time.len() != n + 1 {
        return 0.0;
    }
    let p = s.rem_euclid(track.length) / track.ds;
    let i = (p as usize).min(n - 1);
    let f = (p - i as f64).clamp(0.0, 1.0);
    est_time[i] * (1.0 - f) + est_time[i + 1] * f
}

/// Length of a car, metres: cars closer than this along the lap overlap.
pub const CAR_LENGTH_M: f64 = 4.6;

/// iRacing's `CarLeftRight` for `player`: cars on the track (not in the pit lane) overlapping it
/// along the lap. The simulator has no lateral position, so a car with a lower index than the
/// player's passes on its left and one with a higher index on its right (stable per pair, so a
/// side-by-side moment keeps its side).
fn car_left_right(cars: &[Car], player: &Car, len: f64) -> i32 {
    if player.on_pit_road || player.stopped_until.is_some() {
        return 0;
    }
    let (mut left, mut right) = (0, 0);
    for c in cars {
        if c.idx == player.idx || c.on_pit_road || c.stopped_until.is_some() {
            continue;
        }
        let d = (c.s - player.s + len / 2.0).rem_euclid(len) - len / 2.0;
        if d.abs() < CAR_LENGTH_M {
            if c.idx < player.idx {
                left += 1;
            } else {
                right += 1;
            }
        }
    }
    match (left, right) {
        (0, 0) => 1,
        (1, 0) => 2,
        (0, 1) => 3,
        (l, r) if l >= 1 && r >= 1 => 4,
        (_, 0) => 5,
        _ => 6,
    }
}

impl Track {
    /// The plan's speed at `s` metres into the lap (plans run past the lap end).
    fn interp_plan(&self, plan: &[f64], s: f64) -> f64 {
        let p = (s.max(0.0) / self.ds).min((plan.len() - 1) as f64);
        let i = p as usize;
        let j = (i + 1).min(plan.len() - 1);
        let f = p - i as f64;
        plan[i] * (1.0 - f) + plan[j] * f
    }
}
