//! Shared helpers: where the real iRacing files are, and skipping when they are absent.
#![allow(dead_code)]

use std::path::PathBuf;

/// `<workspace root>/../shared/data/ibt`, or `None` (with a message) when absent.
pub fn ibt_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("../shared/data/ibt");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: real iRacing data not found at {} (the tests that need it are skipped)", dir.display());
        None
    }
}

/// All `(ibt path, truth json)` pairs.
pub fn truth_files() -> Vec<(PathBuf, serde_json::Value)> {
    let Some(dir) = ibt_dir() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("read data dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".truth.json"))
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().replace(".truth.json", ".ibt");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&p).expect("read truth")).expect("parse truth");
        out.push((dir.join(name), json));
    }
    out
}

/// Only the disk files (those with a `disk` section).
pub fn disk_truths() -> Vec<(PathBuf, serde_json::Value)> {
    truth_files().into_iter().filter(|(_, t)| t.get("disk").is_some()).collect()
}

/// Whether `a` equals `b` to f32 precision.
pub fn close(a: f64, b: f64) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    let scale = a.abs().max(b.abs()).max(1e-30);
    (a - b).abs() <= scale * 1.2e-7
}
