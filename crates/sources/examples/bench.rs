//! `cargo run --release -p pitbox-sources --example bench`: the sources bench until the binary wires it.
fn main() {
    if let Err(e) = pitbox_sources::bench::bench() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
