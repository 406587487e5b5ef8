//! `pitbox bench video`'s glass-to-glass figure: capture → decoded in Chromium, through this
//! binary's `pitbox cloud`, `pitbox relay` and `pitbox driver --video test-pattern` on loopback.
//! The browser side is the dashboard's end-to-end script (`dashboard/e2e/video.mjs`, Node and
//! Debian's Chromium), which times every decoded picture from the capture time in its own marks.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The glass-to-glass figures the browser run printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Glass {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub pictures: u64,
    pub late_viewer_ms: Option<f64>,
}

/// Where the dashboard's end-to-end scripts are: `PITBOX_REPO`, the working directory, or the
/// source tree this binary was built from.
fn dashboard_dir() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(repo) = std::env::var_os("PITBOX_REPO") {
        candidates.push(PathBuf::from(repo).join("dashboard"));
    }
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd.join("dashboard"));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dashboard"));
    candidates.into_iter().find(|d| d.join("e2e/video.mjs").is_file() && d.join("node_modules").is_dir())
}

/// Reads the `# figures: {…}` line of the script's output.
fn parse_figures(stdout: &str) -> Result<Glass, String> {
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("# figures: "))
        .ok_or_else(|| "the browser run printed no figures".to_string())?;
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("its figures are not JSON: {e}"))?;
    let num = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
    match (num("glassMsP50"), num("glassMsP95"), num("glassPictures")) {
        (Some(p50), Some(p95), Some(n)) => {
            Ok(Glass { p50_ms: p50, p95_ms: p95, pictures: n as u64, late_viewer_ms: num("lateViewerFirstPictureMs") })
        }
        _ => Err(format!("no glass-to-glass figures in {line}")),
    }
}

/// Runs the browser measurement for `seconds`. `Err` says why it could not be measured.
pub fn measure(seconds: u64) -> Result<Glass, String> {
    let dir = dashboard_dir().ok_or(
        "the dashboard's end-to-end scripts were not found (run from the source tree, or set PITBOX_REPO; \
         `npm ci` in dashboard/)",
    )?;
    if !Path::new("/usr/bin/chromium").exists() {
        return Err("/usr/bin/chromium is missing (Debian package chromium)".into());
    }
    let exe = std::env::current_exe().map_err(|e| format!("this binary's path: {e}"))?;
    let out = Command::new("node")
        .arg("e2e/video.mjs")
        .current_dir(&dir)
        .env("PITBOX_BIN", &exe)
        .env("VIDEO_READ_SECONDS", seconds.max(2).to_string())
        .output()
        .map_err(|e| format!("node could not be started: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match parse_figures(&stdout) {
        Ok(g) if out.status.success() => Ok(g),
        Ok(_) | Err(_) => {
            let tail: Vec<&str> = stdout.lines().rev().take(6).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(format!("the browser run failed ({}): {}", out.status, tail.join(" | ")))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn figures_are_read_from_the_scripts_output() {
        let out = "ok   a check\n# figures: {\"glassMsP50\":10,\"glassMsP95\":94,\"glassPictures\":121,\"lateViewerFirstPictureMs\":49}\nvideo: 5 passed, 0 failed\n";
        let g = super::parse_figures(out).expect("figures");
        assert_eq!((g.p50_ms, g.p95_ms, g.pictures, g.late_viewer_ms), (10.0, 94.0, 121, Some(49.0)));
        assert!(super::parse_figures("video: 0 passed, 1 failed").unwrap_err().contains("no figures"));
        assert!(super::parse_figures("# figures: {\"ageMsP50\":3}").unwrap_err().contains("no glass-to-glass"));
        assert!(super::parse_figures("# figures: {").unwrap_err().contains("not JSON"));
    }
}
