//! An `.ibt` file read as wire-model telemetry samples under explicit bounds: the code path the
//! cloud's `POST /api/sessions/import` runs on an uploaded file (and its fuzz target runs on
//! arbitrary bytes).
//!
//! Nothing is sized from what the header declares: the file must carry the channels the mapping
//! needs (so a record is at least as long as those channels), the number of samples is capped
//! before any is made, and a date that cannot be right is reported as unknown rather than turned
//! into 1970.

use crate::error::IrsdkError;
use crate::ibt::IbtFile;
use crate::mapping::Mapper;
use chrono::{DateTime, TimeZone, Utc};
use pitbox_model::telemetry::TelemetryUpdate;
use pitbox_model::validate::validate;

/// Channels every imported record must carry: without them a sample has no time, no place on
/// the lap and no lap, so it is no telemetry at all.
pub const REQUIRED_CHANNELS: [&str; 4] = ["SessionTime", "Lap", "LapDistPct", "Speed"];

/// Default cap on the samples of one import: 1,000,000 records is 4.6 hours at 60 Hz.
pub const DEFAULT_MAX_SAMPLES: usize = 1_000_000;

/// Earliest plausible `sessionStartDate`: 2008-01-01 (iRacing's launch year), Unix seconds.
pub const EARLIEST_START_DATE_S: i64 = 1_199_145_600;

/// Bounds of one import.
#[derive(Debug, Clone, Copy)]
pub struct ImportLimits {
    /// Most records read; a file with more is refused, not cut short.
    pub max_samples: usize,
    /// The clock of the importer: the base of the sample timestamps when the file's start date
    /// is not plausible, and the upper bound of a plausible start date (plus a day).
    pub now: DateTime<Utc>,
}

impl ImportLimits {
    /// The default cap at the current time.
    pub fn new(now: DateTime<Utc>) -> ImportLimits {
        ImportLimits { max_samples: DEFAULT_MAX_SAMPLES, now }
    }
}

/// Why a file cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The bytes are not a readable `.ibt` file.
    #[error("not a readable .ibt file: {0}")]
    Format(#[from] IrsdkError),
    /// The file lacks channels every sample needs.
    #[error("the file lacks the telemetry channels {missing:?} (needed: {REQUIRED_CHANNELS:?})")]
    MissingChannels { missing: Vec<&'static str> },
    /// More records than one import accepts.
    #[error("the file holds {records} records, more than the {max} one import accepts; split the session")]
    TooManySamples { records: usize, max: usize },
    /// No record maps to a valid sample.
    #[error("the file has no usable rows ({skipped} rows out of range)")]
    NoUsableRows { skipped: usize },
}

/// Samples read from a file.
#[derive(Debug)]
pub struct ImportedSamples {
    pub track: String,
    pub car: String,
    pub samples: Vec<TelemetryUpdate>,
    /// Records left out because a channel or the timestamp was out of the protocol's range.
    pub skipped: usize,
    /// The file's session start date when plausible; `None` when the file's date is missing or
    /// implausible, and the timestamps then count from [`ImportLimits::now`].
    pub start_date: Option<DateTime<Utc>>,
}

/// Checks that the file carries [`REQUIRED_CHANNELS`].
pub fn check_channels(file: &IbtFile) -> Result<(), ImportError> {
    let missing: Vec<&'static str> = REQUIRED_CHANNELS.into_iter().filter(|n| file.layout().var(n).is_none()).collect();
    if missing.is_empty() { Ok(()) } else { Err(ImportError::MissingChannels { missing }) }
}

/// The file's `sessionStartDate` when it lies between 2008 and a day after `now`.
pub fn plausible_start_date(file: &IbtFile, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let secs = file.disk().session_start_date;
    let latest = now.timestamp().saturating_add(86_400);
    if !(EARLIEST_START_DATE_S..=latest).contains(&secs) {
        return None;
    }
    Utc.timestamp_opt(secs, 0).single()
}

/// Maps every record of `file` to a validated `telemetry_update` of `driver_id`.
pub fn read_samples(file: &IbtFile, driver_id: &str, limits: ImportLimits) -> Result<ImportedSamples, ImportError> {
    check_channels(file)?;
    let records = file.row_count();
    if records > limits.max_samples {
        return Err(ImportError::TooManySamples { records, max: limits.max_samples });
    }
    let session = file.session_info()?;
    let mut mapper = Mapper::new(file.layout())?;
    mapper.set_session(&session);
    let track = session
        .weekend
        .track_display_name
        .clone()
        .or_else(|| session.weekend.track_name.clone())
        .unwrap_or_else(|| "unknown track".into());
    let car = session.driver.player().and_then(|d| d.car_screen_name.clone()).unwrap_or_else(|| "unknown car".into());
    let start_date = plausible_start_date(file, limits.now);
    let base_ms = start_date.unwrap_or(limits.now).timestamp_millis();
    let tick_rate = f64::from(file.header().tick_rate.max(1));
    // Grown as records turn out valid, never reserved from the declared record count.
    let mut samples = Vec::new();
    let mut skipped = 0;
    for (i, row) in file.rows().enumerate() {
        let mut u = mapper.telemetry_update(row, driver_id, limits.now);
        let t = u.session_time.unwrap_or(i as f64 / tick_rate);
        // A session time beyond the representable range is a bad record, not a 1970 sample.
        let stamp = (t.is_finite() && (0.0..1e12).contains(&t))
            .then(|| base_ms.checked_add((t * 1000.0) as i64))
            .flatten()
            .and_then(DateTime::from_timestamp_millis);
        let Some(stamp) = stamp else {
            skipped += 1;
            continue;
        };
        u.timestamp = stamp;
        u.sequence = Some(i as u64);
        if validate(&u, "").is_ok() {
            samples.push(u);
        } else {
            skipped += 1;
        }
    }
    if samples.is_empty() {
        return Err(ImportError::NoUsableRows { skipped });
    }
    Ok(ImportedSamples { track, car, samples, skipped, start_date })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::var::{VarHeader, VarType};
    use crate::writer::IbtWriter;

    const TEXT: &str =
        "WeekendInfo:\n TrackName: x\nDriverInfo:\n DriverCarIdx: 0\n Drivers:\n - CarIdx: 0\n   UserName: a\n";

    fn file(vars: Vec<VarHeader>, buf_len: usize, rows: usize, start_date: i64) -> Vec<u8> {
        let mut w = IbtWriter::new(std::io::Cursor::new(Vec::new()), vars, buf_len, 60, TEXT, start_date).unwrap();
        let l = w.layout().clone();
        let t = l.optional::<f64>("SessionTime").unwrap();
        let pct = l.optional::<f32>("LapDistPct").unwrap();
        for i in 0..rows {
            let mut r = w.blank_row();
            if let Some(t) = t {
                t.set(&mut r, i as f64 / 60.0);
            }
            if let Some(p) = pct {
                p.set(&mut r, (i % 50) as f32 / 50.0);
            }
            w.write_row(&r).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn telemetry(rows: usize, start_date: i64) -> IbtFile {
        let vars = vec![
            VarHeader::new("SessionTime", VarType::Double, 0, 1, false, "", "s"),
            VarHeader::new("Lap", VarType::Int, 8, 1, false, "", ""),
            VarHeader::new("LapDistPct", VarType::Float, 12, 1, false, "", "%"),
            VarHeader::new("Speed", VarType::Float, 16, 1, false, "", "m/s"),
        ];
        IbtFile::from_bytes(file(vars, 20, rows, start_date)).unwrap()
    }

    #[test]
    fn records_of_no_variable_are_refused_at_open() {
        // The crafted upload of issue 23: numVars = 0, bufLen = 1, then zeros.
        let mut bytes = file(Vec::new(), 1, 0, 1_700_000_000);
        bytes.resize(bytes.len() + 100_000, 0);
        let e = IbtFile::from_bytes(bytes).unwrap_err().to_string();
        assert!(e.contains("numVars") && e.contains("100000 records"), "{e}");
    }

    #[test]
    fn a_file_without_the_needed_channels_is_refused() {
        let vars = vec![VarHeader::new("Foo", VarType::Char, 0, 1, false, "", "")];
        let f = IbtFile::from_bytes(file(vars, 1, 1000, 1_700_000_000)).unwrap();
        match read_samples(&f, "d", ImportLimits::new(Utc::now())) {
            Err(ImportError::MissingChannels { missing }) => assert_eq!(missing, REQUIRED_CHANNELS.to_vec()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn more_records_than_the_cap_are_refused_before_mapping() {
        let f = telemetry(200, 1_700_000_000);
        let limits = ImportLimits { max_samples: 199, now: Utc::now() };
        assert!(matches!(read_samples(&f, "d", limits), Err(ImportError::TooManySamples { records: 200, max: 199 })));
        let limits = ImportLimits { max_samples: 200, now: Utc::now() };
        assert_eq!(read_samples(&f, "d", limits).unwrap().samples.len(), 200);
    }

    #[test]
    fn an_implausible_start_date_is_reported_not_turned_into_1970() {
        let now = Utc::now();
        for bad in [i64::MAX, i64::MIN, 0, -1, 1_000_000_000, now.timestamp() + 3 * 86_400] {
            let got = read_samples(&telemetry(10, bad), "d", ImportLimits::new(now)).unwrap();
            assert_eq!(got.start_date, None, "{bad}");
            let first = got.samples[0].timestamp;
            assert!((first - now).num_seconds().abs() < 5, "{bad}: first sample at {first}");
        }
        let good = 1_700_000_000;
        let got = read_samples(&telemetry(10, good), "d", ImportLimits::new(now)).unwrap();
        assert_eq!(got.start_date.map(|d| d.timestamp()), Some(good));
        assert_eq!(got.samples[0].timestamp.timestamp(), good);
    }
}
