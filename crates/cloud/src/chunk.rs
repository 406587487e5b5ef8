//! Columnar telemetry blocks: the format of staged samples and of the chunks in the object store.
//!
//! Layout before zstd: magic `PBC1`, `u32` row count, `u16` column count, then per column a
//! `u8` name length, the name, a `u8` kind (0 = f64, 1 = i64) and the rows as little-endian
//! 8-byte values. Absent optional channels are NaN (f64) or `i64::MIN` (i64). Column names
//! are the `telemetry_update` field names (`tireWear.frontLeft` for nested ones).

use pitbox_model::telemetry::{TelemetryUpdate, TireWear};

const MAGIC: &[u8; 4] = b"PBC1";
/// zstd level for chunks (fast, about 5–10× on telemetry).
const ZSTD_LEVEL: i32 = 3;
/// Marker of an absent integer.
const NO_INT: i64 = i64::MIN;

/// Float channels, in storage order.
pub const FLOAT_CHANNELS: &[&str] = &[
    "speed",
    "rpm",
    "gear",
    "throttle",
    "brake",
    "steeringAngle",
    "latitude",
    "longitude",
    "trackPosition",
    "lap",
    "sector",
    "fuelLevel",
    "tireWear.frontLeft",
    "tireWear.frontRight",
    "tireWear.rearLeft",
    "tireWear.rearRight",
    "position",
    "lapDistance",
    "lapTime",
    "sessionTime",
    "yawRate",
    "lateralAccel",
    "longitudinalAccel",
    "fuelLiters",
    "onPitRoad",
    "lastLapTime",
    "offTrack",
];
const NF: usize = 27;

/// Why a block could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    #[error("chunk is not zstd: {0}")]
    Zstd(String),
    #[error("chunk is malformed: {0}")]
    Malformed(&'static str),
}

/// Samples of one driver as columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Columns {
    /// Sample instants, Unix milliseconds.
    pub timestamps: Vec<i64>,
    /// Per-sample sequence numbers (`i64::MIN` when absent).
    pub sequences: Vec<i64>,
    /// One vector per [`FLOAT_CHANNELS`] entry.
    pub floats: Vec<Vec<f64>>,
}

fn opt(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

fn values(u: &TelemetryUpdate) -> [f64; NF] {
    [
        u.speed,
        u.rpm,
        f64::from(u.gear),
        u.throttle,
        u.brake,
        u.steering_angle,
        opt(u.latitude),
        opt(u.longitude),
        u.track_position,
        f64::from(u.lap),
        f64::from(u.sector),
        u.fuel_level,
        u.tire_wear.front_left,
        u.tire_wear.front_right,
        u.tire_wear.rear_left,
        u.tire_wear.rear_right,
        opt(u.position.map(f64::from)),
        opt(u.lap_distance),
        opt(u.lap_time),
        opt(u.session_time),
        opt(u.yaw_rate),
        opt(u.lateral_accel),
        opt(u.longitudinal_accel),
        opt(u.fuel_liters),
        opt(u.on_pit_road.map(|b| if b { 1.0 } else { 0.0 })),
        opt(u.last_lap_time),
        opt(u.off_track.map(|b| if b { 1.0 } else { 0.0 })),
    ]
}

fn some(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}

impl Columns {
    /// Empty columns with room for `n` samples.
    pub fn with_capacity(n: usize) -> Columns {
        Columns {
            timestamps: Vec::with_capacity(n),
            sequences: Vec::with_capacity(n),
            floats: (0..NF).map(|_| Vec::with_capacity(n)).collect(),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// Appends one sample.
    pub fn push(&mut self, u: &TelemetryUpdate) {
        self.timestamps.push(u.timestamp.timestamp_millis());
        self.sequences.push(u.sequence.and_then(|s| i64::try_from(s).ok()).unwrap_or(NO_INT));
        for (col, v) in self.floats.iter_mut().zip(values(u)) {
            col.push(v);
        }
    }

    /// Appends every sample of `other`.
    pub fn extend(&mut self, other: &Columns) {
        self.timestamps.extend_from_slice(&other.timestamps);
        self.sequences.extend_from_slice(&other.sequences);
        for (a, b) in self.floats.iter_mut().zip(&other.floats) {
            a.extend_from_slice(b);
        }
    }

    /// Reorders the samples by time (stable).
    pub fn sort_by_time(&mut self) {
        if self.timestamps.windows(2).all(|w| w[0] <= w[1]) {
            return;
        }
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.sort_by_key(|&i| self.timestamps[i]);
        self.timestamps = idx.iter().map(|&i| self.timestamps[i]).collect();
        self.sequences = idx.iter().map(|&i| self.sequences[i]).collect();
        for col in &mut self.floats {
            *col = idx.iter().map(|&i| col[i]).collect();
        }
    }

    /// The column of a channel by name.
    pub fn channel(&self, name: &str) -> Option<&[f64]> {
        FLOAT_CHANNELS.iter().position(|c| *c == name).map(|i| self.floats[i].as_slice())
    }

    /// Sample `i` as a `telemetry_update` of `driver_id`.
    pub fn update(&self, driver_id: &str, i: usize) -> Option<TelemetryUpdate> {
        let ts = chrono::DateTime::from_timestamp_millis(*self.timestamps.get(i)?)?;
        let f = |c: usize| self.floats[c][i];
        Some(TelemetryUpdate {
            driver_id: driver_id.to_string(),
            timestamp: ts,
            speed: f(0),
            rpm: f(1),
            gear: f(2) as i32,
            throttle: f(3),
            brake: f(4),
            steering_angle: f(5),
            latitude: some(f(6)),
            longitude: some(f(7)),
            track_position: f(8),
            lap: f(9) as u32,
            sector: f(10) as u32,
            fuel_level: f(11),
            tire_wear: TireWear { front_left: f(12), front_right: f(13), rear_left: f(14), rear_right: f(15) },
            position: some(f(16)).map(|v| v as u32),
            lap_distance: some(f(17)),
            lap_time: some(f(18)),
            session_time: some(f(19)),
            yaw_rate: some(f(20)),
            lateral_accel: some(f(21)),
            longitudinal_accel: some(f(22)),
            fuel_liters: some(f(23)),
            on_pit_road: some(f(24)).map(|v| v != 0.0),
            sequence: u64::try_from(self.sequences[i]).ok(),
            sim_session_id: None,
            last_lap_time: some(f(25)),
            on_track: None,
            in_garage: None,
            replay_playing: None,
            off_track: some(f(26)).map(|v| v != 0.0),
            session_laps_remaining: None,
            session_time_remaining: None,
            pit_service_flags: None,
            pit_service_fuel_l: None,
            session_flags: None,
        })
    }

    /// Encodes and compresses; a compression failure is an error (nothing is stored empty).
    pub fn encode(&self) -> Result<Vec<u8>, ChunkError> {
        let n = self.len();
        let mut raw = Vec::with_capacity(16 + (NF + 2) * (n * 8 + 24));
        raw.extend_from_slice(MAGIC);
        raw.extend_from_slice(&(n as u32).to_le_bytes());
        raw.extend_from_slice(&((NF + 2) as u16).to_le_bytes());
        let head = |raw: &mut Vec<u8>, name: &str, kind: u8| {
            raw.push(name.len() as u8);
            raw.extend_from_slice(name.as_bytes());
            raw.push(kind);
        };
        head(&mut raw, "timestamp", 1);
        // Timestamps as deltas: near-constant steps compress to almost nothing.
        let mut prev = 0i64;
        for &t in &self.timestamps {
            raw.extend_from_slice(&t.wrapping_sub(prev).to_le_bytes());
            prev = t;
        }
        head(&mut raw, "sequence", 1);
        for &s in &self.sequences {
            raw.extend_from_slice(&s.to_le_bytes());
        }
        for (name, col) in FLOAT_CHANNELS.iter().zip(&self.floats) {
            head(&mut raw, name, 0);
            for &v in col {
                raw.extend_from_slice(&v.to_le_bytes());
            }
        }
        // One compression context per thread, reused: creating one per block (zstd::bulk::compress)
        // showed up in the ingest profile. A failure (short of memory) is an error, never an
        // empty block: the samples would be lost without a word.
        thread_local! {
            static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
                const { std::cell::RefCell::new(None) };
        }
        let reused = COMPRESSOR.with(|c| {
            let mut c = c.borrow_mut();
            if c.is_none() {
                *c = zstd::bulk::Compressor::new(ZSTD_LEVEL).ok();
            }
            c.as_mut().and_then(|c| c.compress(&raw).ok())
        });
        match reused {
            Some(bytes) => Ok(bytes),
            None => zstd::bulk::compress(&raw, ZSTD_LEVEL).map_err(|e| {
                tracing::error!(error = %e, samples = self.len(), "telemetry block could not be compressed");
                ChunkError::Zstd(format!("compressing {} samples failed: {e}", self.len()))
            }),
        }
    }

    /// Decompresses and decodes a block written by [`Columns::encode`]. Columns this build does
    /// not know are skipped; known columns a block lacks read as absent.
    pub fn decode(bytes: &[u8]) -> Result<Columns, ChunkError> {
        let raw = zstd::stream::decode_all(bytes).map_err(|e| ChunkError::Zstd(e.to_string()))?;
        let mut r = Reader { buf: &raw, pos: 0 };
        if r.take(4)? != MAGIC {
            return Err(ChunkError::Malformed("bad magic"));
        }
        let n = u32::from_le_bytes(r.array()?) as usize;
        let ncols = u16::from_le_bytes(r.array()?) as usize;
        if n.saturating_mul(8).saturating_mul(ncols) > raw.len() {
            return Err(ChunkError::Malformed("row count larger than the block"));
        }
        let mut c = Columns {
            timestamps: vec![0; n],
            sequences: vec![NO_INT; n],
            floats: (0..NF).map(|_| vec![f64::NAN; n]).collect(),
        };
        for _ in 0..ncols {
            let len = r.take(1)?[0] as usize;
            let name = std::str::from_utf8(r.take(len)?).map_err(|_| ChunkError::Malformed("column name"))?.to_string();
            let kind = r.take(1)?[0];
            let data = r.take(n * 8)?;
            let words = data.chunks_exact(8).map(|w| {
                let mut a = [0u8; 8];
                a.copy_from_slice(w);
                a
            });
            match (name.as_str(), kind) {
                ("timestamp", 1) => {
                    let mut acc = 0i64;
                    for (dst, w) in c.timestamps.iter_mut().zip(words) {
                        acc = acc.wrapping_add(i64::from_le_bytes(w));
                        *dst = acc;
                    }
                }
                ("sequence", 1) => {
                    for (dst, w) in c.sequences.iter_mut().zip(words) {
                        *dst = i64::from_le_bytes(w);
                    }
                }
                (other, 0) => {
                    if let Some(i) = FLOAT_CHANNELS.iter().position(|x| *x == other) {
                        for (dst, w) in c.floats[i].iter_mut().zip(words) {
                            *dst = f64::from_le_bytes(w);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(c)
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ChunkError> {
        let end = self.pos.checked_add(n).ok_or(ChunkError::Malformed("length overflow"))?;
        let s = self.buf.get(self.pos..end).ok_or(ChunkError::Malformed("truncated"))?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ChunkError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(i: u64) -> TelemetryUpdate {
        TelemetryUpdate {
            driver_id: "drv".into(),
            timestamp: chrono::DateTime::from_timestamp_millis(1_700_000_000_000 + i as i64 * 16).expect("ts"),
            speed: 100.0 + i as f64,
            rpm: 7000.0,
            gear: 4,
            throttle: 80.0,
            brake: 0.0,
            steering_angle: -3.5,
            latitude: None,
            longitude: Some(1.5),
            track_position: 0.5,
            lap: 3,
            sector: 2,
            fuel_level: 50.0,
            tire_wear: TireWear { front_left: 1.0, front_right: 2.0, rear_left: 3.0, rear_right: 4.0 },
            position: Some(2),
            lap_distance: None,
            lap_time: Some(12.5),
            session_time: None,
            yaw_rate: None,
            lateral_accel: None,
            longitudinal_accel: None,
            fuel_liters: None,
            on_pit_road: Some(false),
            sequence: Some(i),
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

    #[test]
    fn round_trip_is_exact() {
        let mut c = Columns::with_capacity(10);
        let samples: Vec<_> = (0..500).map(sample).collect();
        for s in &samples {
            c.push(s);
        }
        let bytes = c.encode().expect("encode");
        assert!(bytes.len() < 500 * 8 * 27 / 5, "compressed {} bytes", bytes.len());
        let d = Columns::decode(&bytes).expect("decode");
        assert_eq!(d.len(), 500);
        for (i, s) in samples.iter().enumerate() {
            assert_eq!(d.update("drv", i).as_ref(), Some(s));
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(Columns::decode(b"nope").is_err());
        let mut bad = Columns::with_capacity(1);
        bad.push(&sample(1));
        let raw = zstd::stream::decode_all(&bad.encode().expect("encode")[..]).expect("zstd");
        for cut in [3, 8, 12, 40, raw.len() - 1] {
            let z = zstd::bulk::compress(&raw[..cut], 1).expect("zstd");
            assert!(Columns::decode(&z).is_err(), "cut at {cut}");
        }
    }
}
