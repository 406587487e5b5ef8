//! Errors of the telemetry sources.

use std::path::PathBuf;

/// What went wrong opening or reading a source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The SDK layer refused the data (bad file, bad memory layout, torn reads).
    #[error(transparent)]
    Irsdk(#[from] pitbox_irsdk::IrsdkError),
    /// Reading iRacing's live memory map needs Windows.
    #[error(
        "iRacing live needs Windows: the sim's shared memory (Local\\IRSDKMemMapFileName) only exists there; \
         use --source ibt:FILE or --source sim on this machine"
    )]
    NeedsWindows,
    /// An I/O error with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A source specification or option that cannot be used.
    #[error("invalid source: {0}")]
    Invalid(String),
    /// A file that has no rows to replay.
    #[error("{0}: the file has no telemetry records to replay")]
    Empty(PathBuf),
    /// The thread reading the source stopped (it panicked or was torn down).
    #[error("the {0} reader thread stopped")]
    ThreadGone(String),
    /// Part of a source that is not built yet.
    #[error("not built yet: {0}")]
    NotBuilt(&'static str),
}
