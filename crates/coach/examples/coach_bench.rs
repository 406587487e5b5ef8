//! Prints what `pitbox bench coach` prints: `cargo run --release -p pitbox-coach --example coach_bench`.

fn main() -> anyhow::Result<()> {
    pitbox_coach::cli::bench()
}
