//! Data-folder policy: where the agent keeps its files, and how many callout files it keeps.

use std::path::{Path, PathBuf};

/// Callout files kept by default (about 130 kB each).
pub const DEFAULT_KEEP_CALLOUT_FILES: usize = 1_000;

/// The agent's data folder: `PITBOX_DRIVER_DATA_DIR`, else `%LOCALAPPDATA%\PitBox\driver` on
/// Windows, `$XDG_DATA_HOME/pitbox/driver` or `~/.local/share/pitbox/driver` elsewhere, else
/// `pitbox-driver` in the working folder.
pub fn default_data_dir() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = env("PITBOX_DRIVER_DATA_DIR") {
        return d;
    }
    if cfg!(windows) {
        if let Some(d) = env("LOCALAPPDATA") {
            return d.join("PitBox").join("driver");
        }
    } else if let Some(d) = env("XDG_DATA_HOME") {
        return d.join("pitbox").join("driver");
    } else if let Some(h) = env("HOME") {
        return h.join(".local").join("share").join("pitbox").join("driver");
    }
    PathBuf::from("pitbox-driver")
}

/// Whether `name` is one of the radio's callout files (`NNNN-….wav`).
fn is_callout_file(name: &str) -> bool {
    let Some((num, rest)) = name.split_once('-') else { return false };
    num.len() >= 4 && num.bytes().all(|b| b.is_ascii_digit()) && rest.ends_with(".wav")
}

/// Deletes the oldest callout files in `dir` beyond the newest `keep` (only the radio's own
/// `NNNN-….wav` files; anything else in the folder is left alone). Returns how many went.
pub fn prune_callouts(dir: &Path, keep: usize) -> std::io::Result<usize> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !is_callout_file(&name) {
            continue;
        }
        let modified = e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH);
        files.push((modified, name, e.path()));
    }
    if files.len() <= keep {
        return Ok(0);
    }
    files.sort();
    let excess = files.len() - keep;
    let mut removed = 0;
    for (_, _, path) in files.into_iter().take(excess) {
        std::fs::remove_file(&path)?;
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pruning_keeps_the_newest_callouts_and_nothing_else_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        for i in 1..=5 {
            std::fs::write(dir.path().join(format!("{i:04}-normal-call-{i}.wav")), b"x").unwrap();
            // Modification times a few ms apart.
            std::thread::sleep(Duration::from_millis(15));
        }
        std::fs::write(dir.path().join("notes.wav"), b"x").unwrap();
        std::fs::write(dir.path().join("0001-keep.txt"), b"x").unwrap();
        assert_eq!(prune_callouts(dir.path(), 2).unwrap(), 3);
        let mut left: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into()).collect();
        left.sort();
        assert_eq!(left, ["0001-keep.txt", "0004-normal-call-4.wav", "0005-normal-call-5.wav", "notes.wav"]);
        assert_eq!(prune_callouts(dir.path(), 2).unwrap(), 0);
    }
}
