//! Typed errors of the SDK layer. Every message names the field, the value found and the limit
//! it broke, so a bad file can be diagnosed from the message alone.

use std::path::PathBuf;

/// What went wrong reading or writing iRacing SDK data.
#[derive(Debug, thiserror::Error)]
pub enum IrsdkError {
    /// The data is shorter than a fixed-size structure that must be there.
    #[error("{what} needs {needed} bytes at offset {offset}, but the data is only {len} bytes long")]
    TooShort { what: &'static str, offset: usize, needed: usize, len: usize },
    /// A header field holds a value outside what the format allows.
    #[error("header field {field} = {value} is invalid: {reason}")]
    BadField { field: &'static str, value: i64, reason: String },
    /// A region described by the header (offset + length) does not fit the data.
    #[error("{what} at offset {offset} with length {length} ends at {end}, past the end of the data ({len} bytes)")]
    OutOfBounds { what: String, offset: i64, length: i64, end: i64, len: usize },
    /// A variable header is inconsistent (bad type, count, or it does not fit the row).
    #[error("variable #{index} ({name:?}): {reason}")]
    BadVar { index: usize, name: String, reason: String },
    /// No variable of that name exists.
    #[error("no variable named {0:?}")]
    NoSuchVar(String),
    /// The variable exists but its type or count does not fit the requested access.
    #[error("variable {name:?} is {found} but was requested as {requested}")]
    TypeMismatch { name: String, found: String, requested: String },
    /// The session-info text could not be parsed.
    #[error("session info line {line}: {reason}")]
    Yaml { line: usize, reason: String },
    /// A session-info entry that PitBox needs is missing or malformed.
    #[error("session info {path}: {reason}")]
    Session { path: String, reason: String },
    /// A row index past the last whole record.
    #[error("row {index} out of range: the file has {rows} whole records")]
    RowOutOfRange { index: usize, rows: usize },
    /// The live memory kept changing while a row was copied, every retry.
    #[error("live data changed during every one of {attempts} copy attempts (torn reads)")]
    TornRead { attempts: u32 },
    /// The sim is not connected (status bit clear) or the memory map is absent.
    #[error("iRacing is not connected: {0}")]
    NotConnected(String),
    /// Writer input that cannot be represented in the format.
    #[error("cannot write: {0}")]
    Write(String),
    /// An I/O error with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Result alias of this crate.
pub type Result<T, E = IrsdkError> = std::result::Result<T, E>;
