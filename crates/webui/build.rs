//! Makes sure `dashboard/dist` exists so that a fresh `cargo build` works without Node.
//!
//! This script never runs npm: `scripts/build-dashboard` builds the real dashboard. When
//! `dashboard/dist/index.html` is missing, a placeholder page is written that says how to build it.

use std::path::PathBuf;

const PLACEHOLDER: &str = "<!doctype html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><title>PitBox dashboard not built</title>
<meta name=\"pitbox-placeholder\" content=\"1\"></head>
<body style=\"font-family:sans-serif;background:#111;color:#eee;padding:2rem\">
<h1>PitBox</h1>
<p>dashboard not built: run scripts/build-dashboard</p>
</body>
</html>
";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let dist = manifest.join("../../dashboard/dist");
    let index = dist.join("index.html");
    if !index.exists() {
        std::fs::create_dir_all(&dist).expect("create dashboard/dist");
        std::fs::write(&index, PLACEHOLDER).expect("write placeholder dashboard/dist/index.html");
    }
    // Cargo scans a directory recursively: a rebuilt dashboard re-embeds on the next build.
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-changed=build.rs");
}
