//! The hardware encoder on Windows (Media Foundation, `src/mf.rs`): on a PC with one, 3 s of the
//! test pattern come out as H.264 the way openh264's do — the first picture a keyframe with SPS
//! and PPS, a WebCodecs codec string, the capture times passed through. On a PC without one (and
//! under wine, which has no hardware encoders) the encoder says so, and the test says it skipped.
#![cfg(all(windows, feature = "encoder"))]

use pitbox_video::mf::MfH264Encoder;
use pitbox_video::{EncoderError, EncoderSettings, TestPattern};

#[test]
fn the_hardware_encoder_makes_the_same_kind_of_stream_or_says_there_is_none() {
    let settings = EncoderSettings::default();
    let mut enc = match MfH264Encoder::new(settings) {
        Ok(e) => e,
        Err(EncoderError::NoHardwareEncoder) => {
            pitbox_testkit::skip(
                "windows pitbox-video mf_windows",
                "no hardware H.264 encoder on this PC (wine has none): the Media Foundation path is untested",
            );
            return;
        }
        Err(e) => panic!("the hardware encoder could not be set up: {e}"),
    };
    let pattern = TestPattern::new(settings.width, settings.height, settings.fps).expect("pattern");
    let mut out = Vec::new();
    for n in 0..90u32 {
        let ms = pattern.capture_ms(1_765_000_000_000, n);
        if let Some(f) = enc.encode(&pattern.frame(n, ms), ms).expect("encode") {
            out.push(f);
        }
    }
    assert!(out.len() >= 60, "{} of 90 pictures came out of {}", out.len(), enc.name());
    assert!(out[0].keyframe, "the first picture out is a keyframe");
    assert!(pitbox_video::nal::find_sps(&out[0].data).is_some(), "the keyframe carries SPS and PPS");
    assert!(enc.codec().is_some_and(|c| c.starts_with("avc1.42")), "baseline: {:?}", enc.codec());
    assert!(out.windows(2).all(|w| w[0].capture_ms < w[1].capture_ms), "capture times in order");
}
