//! `cargo run --release -p pitbox-driver --example bench`, until the binary wires `pitbox bench`.
fn main() {
    if let Err(e) = pitbox_driver::bench::bench() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
