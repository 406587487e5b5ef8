//! The iRacing SDK variables the simulator writes: names, types, units and descriptions as
//! iRacing has them, laid out in a row, and typed handles to fill a row.

use pitbox_irsdk::header::Header;
use pitbox_irsdk::{IrsdkError, Layout, VarHandle, VarHeader, VarType};

/// iRacing's CarIdx arrays hold 64 cars.
pub const CARS: usize = 64;

const SCALARS: &[(&str, VarType, &str, &str)] = &[
    ("SessionTime", VarType::Double, "s", "Seconds since session start"),
    ("SessionTick", VarType::Int, "", "Current update number"),
    ("SessionNum", VarType::Int, "", "Session number"),
    ("SessionState", VarType::Int, "irsdk_SessionState", "Session state"),
    ("SessionUniqueID", VarType::Int, "", "Session ID"),
    ("SessionFlags", VarType::BitField, "irsdk_Flags", "Session flags"),
    ("SessionTimeRemain", VarType::Double, "s", "Seconds left till session ends"),
    ("SessionLapsRemainEx", VarType::Int, "", "New improved laps left till session ends"),
    ("PlayerCarIdx", VarType::Int, "", "Players carIdx"),
    ("PlayerCarPosition", VarType::Int, "", "Players position in race"),
    ("PlayerCarClassPosition", VarType::Int, "", "Players class position in race"),
    ("PlayerTrackSurface", VarType::Int, "irsdk_TrkLoc", "Players car track surface type"),
    ("PlayerCarDriverIncidentCount", VarType::Int, "", "Teams current drivers incident count for this session"),
    ("OnPitRoad", VarType::Bool, "", "Is the player car on pit road between the cones"),
    ("IsOnTrack", VarType::Bool, "", "1=Car on track physics running with player in car"),
    ("IsInGarage", VarType::Bool, "", "1=Car in garage physics running"),
    ("IsReplayPlaying", VarType::Bool, "", "0=replay not playing  1=replay playing"),
    ("Speed", VarType::Float, "m/s", "GPS vehicle speed"),
    ("RPM", VarType::Float, "revs/min", "Engine rpm"),
    ("Gear", VarType::Int, "", "-1=reverse  0=neutral  1..n=current gear"),
    ("Throttle", VarType::Float, "%", "0=off throttle to 1=full throttle"),
    ("Brake", VarType::Float, "%", "0=brake released to 1=max pedal force"),
    ("Clutch", VarType::Float, "%", "0=disengaged to 1=fully engaged"),
    ("SteeringWheelAngle", VarType::Float, "rad", "Steering wheel angle"),
    ("Lap", VarType::Int, "", "Laps started count"),
    ("LapCompleted", VarType::Int, "", "Laps completed count"),
    ("LapDist", VarType::Float, "m", "Meters traveled from S/F this lap"),
    ("LapDistPct", VarType::Float, "%", "Percentage distance around lap"),
    ("LapCurrentLapTime", VarType::Float, "s", "Estimate of players current lap time as shown in F3 box"),
    ("LapLastLapTime", VarType::Float, "s", "Players last lap time"),
    ("LapBestLapTime", VarType::Float, "s", "Players best lap time"),
    ("FuelLevel", VarType::Float, "l", "Liters of fuel remaining"),
    ("FuelLevelPct", VarType::Float, "%", "Percent fuel remaining"),
    ("FuelUsePerHour", VarType::Float, "kg/h", "Engine fuel used instantaneous"),
    ("LFwearL", VarType::Float, "%", "LF tire left percent tread remaining"),
    ("LFwearM", VarType::Float, "%", "LF tire middle percent tread remaining"),
    ("LFwearR", VarType::Float, "%", "LF tire right percent tread remaining"),
    ("RFwearL", VarType::Float, "%", "RF tire left percent tread remaining"),
    ("RFwearM", VarType::Float, "%", "RF tire middle percent tread remaining"),
    ("RFwearR", VarType::Float, "%", "RF tire right percent tread remaining"),
    ("LRwearL", VarType::Float, "%", "LR tire left percent tread remaining"),
    ("LRwearM", VarType::Float, "%", "LR tire middle percent tread remaining"),
    ("LRwearR", VarType::Float, "%", "LR tire right percent tread remaining"),
    ("RRwearL", VarType::Float, "%", "RR tire left percent tread remaining"),
    ("RRwearM", VarType::Float, "%", "RR tire middle percent tread remaining"),
    ("RRwearR", VarType::Float, "%", "RR tire right percent tread remaining"),
    ("Lat", VarType::Double, "deg", "Latitude in decimal degrees"),
    ("Lon", VarType::Double, "deg", "Longitude in decimal degrees"),
    ("Alt", VarType::Float, "m", "Altitude in meters"),
    ("Yaw", VarType::Float, "rad", "Yaw orientation"),
    ("YawNorth", VarType::Float, "rad", "Yaw orientation relative to north"),
    ("YawRate", VarType::Float, "rad/s", "Yaw rate"),
    ("LatAccel", VarType::Float, "m/s^2", "Lateral acceleration (including gravity)"),
    ("LongAccel", VarType::Float, "m/s^2", "Longitudinal acceleration (including gravity)"),
    ("VertAccel", VarType::Float, "m/s^2", "Vertical acceleration (including gravity)"),
    ("VelocityX", VarType::Float, "m/s", "X velocity"),
    ("VelocityY", VarType::Float, "m/s", "Y velocity"),
    ("DCDriversSoFar", VarType::Int, "", "Number of team drivers who have run a stint"),
    ("DCLapStatus", VarType::Int, "", "Status of driver change lap requirements"),
    ("PitSvFlags", VarType::BitField, "irsdk_PitSvFlags", "Bitfield of pit service checkboxes"),
    ("PitSvFuel", VarType::Float, "l or kWh", "Pit service fuel add amount"),
    ("CarLeftRight", VarType::Int, "irsdk_CarLeftRight", "Notify if car is to the left or right of driver"),
];

const ARRAYS: &[(&str, VarType, &str, &str)] = &[
    ("CarIdxLap", VarType::Int, "", "Laps started by car index"),
    ("CarIdxLapCompleted", VarType::Int, "", "Laps completed by car index"),
    ("CarIdxLapDistPct", VarType::Float, "%", "Percentage distance around lap by car index"),
    ("CarIdxTrackSurface", VarType::Int, "irsdk_TrkLoc", "Track surface type by car index"),
    ("CarIdxOnPitRoad", VarType::Bool, "", "On pit road between the cones by car index"),
    ("CarIdxPosition", VarType::Int, "", "Cars position in race by car index"),
    ("CarIdxClassPosition", VarType::Int, "", "Cars class position in race by car index"),
    ("CarIdxF2Time", VarType::Float, "s", "Race time behind leader or fastest lap time otherwise"),
    ("CarIdxEstTime", VarType::Float, "s", "Estimated time to reach current location on track"),
    ("CarIdxLastLapTime", VarType::Float, "s", "Cars last lap time"),
    ("CarIdxBestLapTime", VarType::Float, "s", "Cars best lap time"),
    ("CarIdxGear", VarType::Int, "", "-1=reverse 0=neutral 1..n=current gear by car index"),
    ("CarIdxRPM", VarType::Float, "revs/min", "Engine rpm by car index"),
    ("CarIdxSteer", VarType::Float, "rad", "Steering wheel angle by car index"),
];

/// The variable headers and row length.
pub fn var_headers() -> (Vec<VarHeader>, usize) {
    let mut vars = Vec::new();
    let mut off = 0usize;
    for (list, count) in [(SCALARS, 1), (ARRAYS, CARS)] {
        for &(name, ty, unit, desc) in list {
            off = off.next_multiple_of(ty.size());
            vars.push(VarHeader::new(name, ty, off, count, false, desc, unit));
            off += ty.size() * count;
        }
    }
    (vars, off.next_multiple_of(16))
}

macro_rules! handles {
    ($($field:ident: $t:ty = $name:literal,)+) => {
        /// Typed handles to every variable the simulator writes.
        #[derive(Debug, Clone, Copy)]
        pub struct Vars { $(pub $field: VarHandle<$t>,)+ }

        impl Vars {
            /// Handles into rows laid out by [`var_headers`].
            pub fn new() -> Result<Vars, IrsdkError> {
                let (vars, buf_len) = var_headers();
                let header = Header { buf_len: buf_len as i32, num_vars: vars.len() as i32, ..Header::default() };
                let layout = Layout::from_vars(header, vars)?;
                Ok(Vars { $($field: layout.handle($name)?,)+ })
            }
        }
    };
}

handles! {
    session_time: f64 = "SessionTime",
    session_tick: i32 = "SessionTick",
    session_num: i32 = "SessionNum",
    session_state: i32 = "SessionState",
    session_unique_id: i32 = "SessionUniqueID",
    session_flags: u32 = "SessionFlags",
    session_time_remain: f64 = "SessionTimeRemain",
    session_laps_remain: i32 = "SessionLapsRemainEx",
    player_car_idx: i32 = "PlayerCarIdx",
    player_position: i32 = "PlayerCarPosition",
    player_class_position: i32 = "PlayerCarClassPosition",
    player_surface: i32 = "PlayerTrackSurface",
    incidents: i32 = "PlayerCarDriverIncidentCount",
    on_pit_road: bool = "OnPitRoad",
    is_on_track: bool = "IsOnTrack",
    is_in_garage: bool = "IsInGarage",
    is_replay_playing: bool = "IsReplayPlaying",
    speed: f32 = "Speed",
    rpm: f32 = "RPM",
    gear: i32 = "Gear",
    throttle: f32 = "Throttle",
    brake: f32 = "Brake",
    clutch: f32 = "Clutch",
    steering: f32 = "SteeringWheelAngle",
    lap: i32 = "Lap",
    lap_completed: i32 = "LapCompleted",
    lap_dist: f32 = "LapDist",
    lap_dist_pct: f32 = "LapDistPct",
    lap_current: f32 = "LapCurrentLapTime",
    lap_last: f32 = "LapLastLapTime",
    lap_best: f32 = "LapBestLapTime",
    fuel_level: f32 = "FuelLevel",
    fuel_pct: f32 = "FuelLevelPct",
    fuel_use: f32 = "FuelUsePerHour",
    lf_l: f32 = "LFwearL",
    lf_m: f32 = "LFwearM",
    lf_r: f32 = "LFwearR",
    rf_l: f32 = "RFwearL",
    rf_m: f32 = "RFwearM",
    rf_r: f32 = "RFwearR",
    lr_l: f32 = "LRwearL",
    lr_m: f32 = "LRwearM",
    lr_r: f32 = "LRwearR",
    rr_l: f32 = "RRwearL",
    rr_m: f32 = "RRwearM",
    rr_r: f32 = "RRwearR",
    lat: f64 = "Lat",
    lon: f64 = "Lon",
    alt: f32 = "Alt",
    yaw: f32 = "Yaw",
    yaw_north: f32 = "YawNorth",
    yaw_rate: f32 = "YawRate",
    lat_accel: f32 = "LatAccel",
    long_accel: f32 = "LongAccel",
    vert_accel: f32 = "VertAccel",
    vel_x: f32 = "VelocityX",
    vel_y: f32 = "VelocityY",
    dc_drivers: i32 = "DCDriversSoFar",
    dc_lap_status: i32 = "DCLapStatus",
    pit_sv_flags: u32 = "PitSvFlags",
    pit_sv_fuel: f32 = "PitSvFuel",
    car_left_right: i32 = "CarLeftRight",
    car_lap: i32 = "CarIdxLap",
    car_lap_completed: i32 = "CarIdxLapCompleted",
    car_pct: f32 = "CarIdxLapDistPct",
    car_surface: i32 = "CarIdxTrackSurface",
    car_on_pit: bool = "CarIdxOnPitRoad",
    car_position: i32 = "CarIdxPosition",
    car_class_position: i32 = "CarIdxClassPosition",
    car_f2: f32 = "CarIdxF2Time",
    car_est: f32 = "CarIdxEstTime",
    car_last: f32 = "CarIdxLastLapTime",
    car_best: f32 = "CarIdxBestLapTime",
    car_gear: i32 = "CarIdxGear",
    car_rpm: f32 = "CarIdxRPM",
    car_steer: f32 = "CarIdxSteer",
}

impl Vars {
    /// The wear handles per corner (LF, RF, LR, RR) and zone (L, M, R).
    pub fn wear(&self) -> [[VarHandle<f32>; 3]; 4] {
        [
            [self.lf_l, self.lf_m, self.lf_r],
            [self.rf_l, self.rf_m, self.rf_r],
            [self.lr_l, self.lr_m, self.lr_r],
            [self.rr_l, self.rr_m, self.rr_r],
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_valid() {
        let (vars, len) = var_headers();
        assert!(Vars::new().is_ok());
        let last = vars.last().unwrap();
        assert!(last.offset + last.byte_len() <= len);
        assert_eq!(vars.iter().filter(|v| v.count == CARS).count(), ARRAYS.len());
    }
}
