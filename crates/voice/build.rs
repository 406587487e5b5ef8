//! `cfg(sound_card)`: the sound card (cpal) is built in — always on Windows (WASAPI), on other
//! platforms with the cargo feature `sound-card` (Linux: needs libasound2-dev).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(sound_card)");
    let windows = std::env::var("CARGO_CFG_WINDOWS").is_ok();
    if windows || std::env::var_os("CARGO_FEATURE_SOUND_CARD").is_some() {
        println!("cargo::rustc-cfg=sound_card");
    }
}
