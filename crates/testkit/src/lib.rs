//! Test helpers shared by every PitBox crate: where the real iRacing files live
//! (`../shared/data/` beside the repository) and how a test says plainly that it skipped.
//!
//! A skip prints `SKIP <test>: <reason>` to stderr and, when `PITBOX_SKIP_LOG` names a file (the
//! test script sets it), appends the same line there so the run's summary lists every skip.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The repository root (the folder holding the workspace `Cargo.toml`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared/data/` beside the repository, when present (`PITBOX_SHARED_DATA` overrides).
pub fn shared_data() -> Option<PathBuf> {
    let dir =
        std::env::var_os("PITBOX_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|| repo_root().join("../shared/data"));
    dir.is_dir().then_some(dir)
}

/// A real `.ibt` file from the shared data folder, or `None` after reporting the skip.
pub fn ibt_file(test: &str, name: &str) -> Option<PathBuf> {
    match shared_data() {
        Some(dir) => {
            let path = dir.join("ibt").join(name);
            if path.is_file() {
                Some(path)
            } else {
                skip(test, &format!("{} is missing", path.display()));
                None
            }
        }
        None => {
            skip(test, "../shared/data is absent (real iRacing files are not in the repository)");
            None
        }
    }
}

/// Reports that `test` did not run, and why.
pub fn skip(test: &str, reason: &str) {
    let line = format!("SKIP {test}: {reason}");
    eprintln!("{line}");
    if let Some(log) = std::env::var_os("PITBOX_SKIP_LOG")
        && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(log)
    {
        let _ = writeln!(f, "{line}");
    }
}
