//! The encoder end to end: test-pattern frames through openh264's encoder and back through its
//! decoder, with the marks, colours, keyframe cadence, SPS/PPS and profile checked.

use openh264::decoder::Decoder;
use openh264::formats::YUVSource;
use pitbox_video::nal::{self, NAL_IDR, NAL_PPS, NAL_SLICE, NAL_SPS};
use pitbox_video::pattern::BARS;
use pitbox_video::{EncoderSettings, H264Encoder, I420Frame, TestPattern, read_marks_luma, read_marks_rgba};

const START_MS: u64 = 1_765_000_000_000;

fn settings(width: usize, height: usize) -> EncoderSettings {
    EncoderSettings { width, height, ..EncoderSettings::default() }
}

fn decode(decoder: &mut Decoder, access_unit: &[u8]) -> Option<I420Frame> {
    let yuv = decoder.decode(access_unit).expect("decodes")?;
    let (w, h) = yuv.dimensions();
    Some(I420Frame::from_planes(w, h, (yuv.y(), yuv.u(), yuv.v()), yuv.strides()).expect("planes"))
}

#[test]
fn marks_and_colours_survive_encode_and_decode() {
    let (w, h) = (640, 360);
    let pattern = TestPattern::new(w, h, 30).unwrap();
    let mut enc = H264Encoder::new(settings(w, h)).unwrap();
    let mut dec = Decoder::new().unwrap();
    let mut read = vec![];
    for n in 0..45u32 {
        let ms = pattern.capture_ms(START_MS, n);
        let out = enc.encode(&pattern.frame(n, ms), ms).unwrap().expect("a frame per picture");
        assert_eq!(out.capture_ms, ms);
        let Some(pic) = decode(&mut dec, &out.data) else { continue };
        assert_eq!((pic.width(), pic.height()), (w, h));
        let marks = read_marks_luma(pic.y_plane(), w, w, h).expect("marks readable from Y");
        assert_eq!(read_marks_rgba(&pic.to_rgba(), w, h), Some(marks), "and from RGBA");
        read.push(marks);
        for (i, want) in BARS.iter().enumerate() {
            let (x0, x1, y0, y1) = pattern.bar_rect(i);
            let got = pic.rgb_at((x0 + x1) / 2, (y0 + y1) / 2).unwrap();
            for c in 0..3 {
                let diff = (i32::from(got[c]) - i32::from(want[c])).abs();
                assert!(diff <= 16, "frame {n} bar {i}: got {got:?}, want {want:?}");
            }
        }
    }
    // Every picture decoded (no delay without B-frames), in order, with its own capture time.
    assert_eq!(read.len(), 45);
    for (n, (frame_no, ms)) in read.iter().enumerate() {
        assert_eq!(*frame_no, n as u32);
        assert_eq!(*ms, pattern.capture_ms(START_MS, n as u32));
    }
}

#[test]
fn keyframes_every_two_seconds_and_on_request_with_sps_and_pps() {
    let (w, h) = (512, 192);
    let pattern = TestPattern::new(w, h, 30).unwrap();
    let mut enc = H264Encoder::new(settings(w, h)).unwrap();
    assert_eq!(enc.codec(), None);
    let mut keyframes = vec![];
    for n in 0..200u32 {
        if n == 75 {
            enc.force_keyframe();
        }
        let ms = pattern.capture_ms(START_MS, n);
        let out = enc.encode(&pattern.frame(n, ms), ms).unwrap().expect("a frame per picture");
        assert_eq!(out.index, u64::from(n));
        let types = nal::nal_types(&out.data);
        if out.keyframe {
            keyframes.push(n);
            assert_eq!(&types[..2], &[NAL_SPS, NAL_PPS], "frame {n}: {types:?}");
            assert!(types.contains(&NAL_IDR));
            let sps = nal::find_sps(&out.data).unwrap();
            // Constrained baseline: profile_idc 66 and constraint_set1_flag.
            assert_eq!(sps[1], 0x42);
            assert_ne!(sps[2] & 0x40, 0, "constraint_set1 must be set");
        } else {
            assert!(!types.contains(&NAL_SPS) && !types.contains(&NAL_PPS) && !types.contains(&NAL_IDR));
            assert!(types.contains(&NAL_SLICE), "frame {n}: {types:?}");
        }
    }
    // 60 frames = 2 s at 30 fps; the forced one at 75 restarts the count.
    assert_eq!(keyframes, vec![0, 60, 75, 135, 195]);
    assert!(enc.codec().unwrap().starts_with("avc1.42"), "{:?}", enc.codec());
}

#[test]
fn default_size_codec_string_is_constrained_baseline_level_3_1() {
    let s = EncoderSettings::default();
    let pattern = TestPattern::new(s.width, s.height, s.fps).unwrap();
    let mut enc = H264Encoder::new(s).unwrap();
    let out = enc.encode(&pattern.frame(0, START_MS), START_MS).unwrap().unwrap();
    assert!(out.keyframe);
    assert_eq!(enc.codec(), Some("avc1.42C01F"));
    let mut dec = Decoder::new().unwrap();
    let pic = decode(&mut dec, &out.data).expect("keyframe decodes alone");
    assert_eq!(read_marks_luma(pic.y_plane(), 1280, 1280, 720), Some((0, START_MS)));
}

/// Frames that cost bits: the pattern with a noisy, changing band over the bars.
fn busy_frame(pattern: &TestPattern, n: u32, ms: u64) -> I420Frame {
    let mut f = pattern.frame(n, ms);
    let w = f.width();
    let (y, _, _) = f.planes_mut();
    let mut state = 0x9E37_79B9u32 ^ n.wrapping_mul(0x85EB_CA6B);
    for row in 96..160 {
        for px in &mut y[row * w..row * w + w] {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *px = 100 + (state % 40) as u8;
        }
    }
    f
}

#[test]
fn bitrate_changes_at_run_time_without_a_keyframe() {
    let (w, h) = (640, 360);
    let pattern = TestPattern::new(w, h, 30).unwrap();
    let mut enc = H264Encoder::new(EncoderSettings { bitrate_bps: 2_000_000, ..settings(w, h) }).unwrap();
    let mut dec = Decoder::new().unwrap();
    let mut sizes = vec![];
    let mut skipped = 0;
    for n in 0..150u32 {
        if n == 45 {
            enc.set_bitrate(400_000).unwrap();
            assert_eq!(enc.bitrate(), 400_000);
        }
        let ms = pattern.capture_ms(START_MS, n);
        // openh264 may skip a picture to hold the rate: it then counts as 0 bytes.
        let Some(out) = enc.encode(&busy_frame(&pattern, n, ms), ms).unwrap() else {
            skipped += 1;
            sizes.push(0);
            continue;
        };
        if n == 45 {
            assert!(!out.keyframe, "a bitrate change keeps the stream going");
        }
        // Still a valid stream with readable marks.
        let pic = decode(&mut dec, &out.data).expect("decodes");
        assert_eq!(read_marks_luma(pic.y_plane(), w, w, h).map(|m| m.0), Some(n));
        sizes.push(out.data.len());
    }
    // Bits per second over whole seconds, keyframes included (at 0, 60 and 120).
    let rate = |s: &[usize]| (s.iter().sum::<usize>() * 8) as f64 * 30.0 / s.len() as f64;
    let before = rate(&sizes[15..45]);
    let after = rate(&sizes[90..150]);
    let skipped_before = sizes[..45].iter().filter(|&&s| s == 0).count();
    eprintln!(
        "2 Mbit/s → {before:.0} bit/s; 400 kbit/s → {after:.0} bit/s; {skipped} skipped ({skipped_before} before)"
    );
    // CBR holds the target within a quarter either way, before and after the change.
    assert!((before - 2_000_000.0).abs() < 500_000.0, "{before:.0} bit/s at 2 Mbit/s");
    assert!((after - 400_000.0).abs() < 100_000.0, "{after:.0} bit/s at 400 kbit/s");
}
