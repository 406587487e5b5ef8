//! The H.264 encoder: openh264 (BSD, compiled from its vendored source), I420 in, Annex-B out.
//!
//! Constrained baseline only (profile 66 with constraint_set1): no B-frames, so every frame can be
//! shown as soon as it is decoded, and every WebCodecs and hardware decoder takes it. Rate control
//! is openh264's bitrate mode; it may skip a picture to hold the rate (a skip does not break the
//! chain, the next P-frame refers to the last coded one). Dropping coded frames for the link is the
//! sender's decision ([`crate::sender`]); the bitrate can be changed between frames. Keyframes (IDR, preceded by
//! SPS and PPS) come every [`EncoderSettings::keyframe_interval_ms`] and on [`H264Encoder::force_keyframe`];
//! the interval is counted here rather than by openh264 so that a forced keyframe restarts it.

use openh264::OpenH264API;
use openh264::Timestamp;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Profile, RateControlMode,
    UsageType, VuiConfig,
};

use crate::frame::I420Frame;
use crate::nal;

/// Lowest bitrate accepted: below this 720p is mush anyway, and openh264 wants ≥ fps bits/s.
pub const MIN_BITRATE_BPS: u32 = 100_000;
/// Highest bitrate accepted (level 4.1's limit for baseline is 50 Mbit/s; a pit wall needs far less).
pub const MAX_BITRATE_BPS: u32 = 20_000_000;

/// How the encoder is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderSettings {
    pub width: usize,
    pub height: usize,
    pub fps: u32,
    /// Target bitrate in bit/s (constant bitrate).
    pub bitrate_bps: u32,
    /// A keyframe at least this often, so a viewer who joins or loses a frame waits at most this.
    pub keyframe_interval_ms: u32,
    /// openh264 worker threads; 1 leaves the other core to the sim and the telemetry.
    pub threads: u16,
}

impl Default for EncoderSettings {
    /// 1280×720, 30 fps, 3 Mbit/s, a keyframe every 2 s (issue 24).
    fn default() -> Self {
        Self { width: 1280, height: 720, fps: 30, bitrate_bps: 3_000_000, keyframe_interval_ms: 2000, threads: 1 }
    }
}

impl EncoderSettings {
    /// Frames between periodic keyframes (60 at 30 fps and 2 s).
    pub fn keyframe_interval_frames(&self) -> u64 {
        (u64::from(self.keyframe_interval_ms) * u64::from(self.fps) / 1000).max(1)
    }

    pub(crate) fn validate(&self) -> Result<(), EncoderError> {
        let bad = |why: String| Err(EncoderError::InvalidSettings(why));
        if let Err(e) = crate::frame::check_size(self.width, self.height) {
            return bad(e.to_string());
        }
        if self.fps == 0 || self.fps > 120 {
            return bad(format!("fps {} must be 1–120", self.fps));
        }
        if self.keyframe_interval_ms == 0 {
            return bad("keyframe interval must be above 0 ms".into());
        }
        check_bitrate(self.bitrate_bps)
    }
}

fn check_bitrate(bps: u32) -> Result<(), EncoderError> {
    if (MIN_BITRATE_BPS..=MAX_BITRATE_BPS).contains(&bps) { Ok(()) } else { Err(EncoderError::BitrateOutOfRange(bps)) }
}

/// What can go wrong while encoding.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error("invalid encoder settings: {0}")]
    InvalidSettings(String),
    #[error("bitrate {0} bit/s outside {MIN_BITRATE_BPS}–{MAX_BITRATE_BPS}")]
    BitrateOutOfRange(u32),
    #[error("frame is {got_w}x{got_h}, the encoder was set up for {want_w}x{want_h}")]
    FrameSize { want_w: usize, want_h: usize, got_w: usize, got_h: usize },
    #[error("openh264 could not be set up")]
    Init(#[source] openh264::Error),
    #[error("openh264 failed to encode a frame")]
    Encode(#[source] openh264::Error),
    #[error("openh264 refused the bitrate {bps} bit/s (native code {code})")]
    SetBitrate { bps: u32, code: i32 },
    /// No hardware H.264 encoder on this PC (Windows: Media Foundation lists none).
    #[error("no hardware H.264 encoder on this PC")]
    NoHardwareEncoder,
    #[error("Media Foundation: {0}")]
    MediaFoundation(String),
}

/// One encoded picture: an Annex-B access unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// NAL units with start codes; a keyframe starts with SPS and PPS.
    pub data: Vec<u8>,
    pub keyframe: bool,
    /// Capture time (unix ms) of the picture, passed through.
    pub capture_ms: u64,
    /// Index of the picture given to [`H264Encoder::encode`], from 0.
    pub index: u64,
}

/// The encoder.
pub struct H264Encoder {
    settings: EncoderSettings,
    inner: Encoder,
    /// openh264 opens itself on the first frame; options can only be set after that.
    opened: bool,
    frames_in: u64,
    since_keyframe: Option<u64>,
    force_next: bool,
    first_capture_ms: Option<u64>,
    codec: Option<String>,
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("settings", &self.settings)
            .field("frames_in", &self.frames_in)
            .field("codec", &self.codec)
            .finish_non_exhaustive()
    }
}

fn openh264_config(s: &EncoderSettings) -> EncoderConfig {
    EncoderConfig::new()
        .profile(Profile::Baseline)
        .bitrate(BitRate::from_bps(s.bitrate_bps))
        .max_frame_rate(FrameRate::from_hz(s.fps as f32))
        .rate_control_mode(RateControlMode::Bitrate)
        // Without skipping openh264 cannot hold the bitrate on busy pictures (it says so).
        .skip_frames(true)
        // A sim is camera-like content (everything moves), not a desktop.
        .usage_type(UsageType::CameraVideoRealTime)
        .complexity(Complexity::Low)
        // Keyframes only on our schedule: a scene-change IDR would blow the bitrate budget.
        .scene_change_detect(false)
        .intra_frame_period(IntraFramePeriod::from_num_frames(0))
        // Tells the browser how to turn YUV back into RGB (what pattern marks and colours assume).
        .vui(VuiConfig::bt709())
        .num_threads(s.threads)
}

impl H264Encoder {
    pub fn new(settings: EncoderSettings) -> Result<Self, EncoderError> {
        settings.validate()?;
        let inner = Encoder::with_api_config(OpenH264API::from_source(), openh264_config(&settings))
            .map_err(EncoderError::Init)?;
        Ok(Self {
            settings,
            inner,
            opened: false,
            frames_in: 0,
            since_keyframe: None,
            force_next: false,
            first_capture_ms: None,
            codec: None,
        })
    }

    pub fn settings(&self) -> &EncoderSettings {
        &self.settings
    }

    /// The current target bitrate in bit/s.
    pub fn bitrate(&self) -> u32 {
        self.settings.bitrate_bps
    }

    /// The WebCodecs codec string from the last SPS, e.g. `avc1.42C01F` (known after the first
    /// keyframe).
    pub fn codec(&self) -> Option<&str> {
        self.codec.as_deref()
    }

    /// The next frame will be a keyframe (a viewer joined, or a frame was dropped).
    pub fn force_keyframe(&mut self) {
        self.force_next = true;
    }

    /// Changes the target bitrate from the next frame on, keeping the stream going (no keyframe).
    pub fn set_bitrate(&mut self, bps: u32) -> Result<(), EncoderError> {
        check_bitrate(bps)?;
        if bps == self.settings.bitrate_bps {
            return Ok(());
        }
        if !self.opened {
            // Nothing encoded yet: start over with the new setting.
            let settings = EncoderSettings { bitrate_bps: bps, ..self.settings };
            self.inner = Encoder::with_api_config(OpenH264API::from_source(), openh264_config(&settings))
                .map_err(EncoderError::Init)?;
            self.settings = settings;
            return Ok(());
        }
        let raising = bps > self.settings.bitrate_bps;
        // The maximum must make room before the target rises, and follow it down after.
        if raising {
            self.set_option(openh264_sys2::ENCODER_OPTION_MAX_BITRATE, bps)?;
            self.set_option(openh264_sys2::ENCODER_OPTION_BITRATE, bps)?;
        } else {
            self.set_option(openh264_sys2::ENCODER_OPTION_BITRATE, bps)?;
            self.set_option(openh264_sys2::ENCODER_OPTION_MAX_BITRATE, bps)?;
        }
        self.settings.bitrate_bps = bps;
        Ok(())
    }

    fn set_option(&mut self, option: openh264_sys2::ENCODER_OPTION, bps: u32) -> Result<(), EncoderError> {
        let mut info = openh264_sys2::SBitrateInfo {
            iLayer: openh264_sys2::SPATIAL_LAYER_0,
            iBitrate: i32::try_from(bps).map_err(|_| EncoderError::BitrateOutOfRange(bps))?,
        };
        // SAFETY: the encoder is open (a frame went through), `info` is the struct both bitrate
        // options read, and it outlives the call; openh264 copies what it needs.
        let code = unsafe { self.inner.raw_api().set_option(option, (&raw mut info).cast()) };
        if code == 0 { Ok(()) } else { Err(EncoderError::SetBitrate { bps, code }) }
    }

    /// Encodes one picture captured at `capture_ms` (unix ms). `None` when openh264 skipped it
    /// to hold the bitrate; a keyframe that was due or asked for then comes with the next one.
    pub fn encode(&mut self, frame: &I420Frame, capture_ms: u64) -> Result<Option<EncodedFrame>, EncoderError> {
        let s = &self.settings;
        if frame.width() != s.width || frame.height() != s.height {
            return Err(EncoderError::FrameSize {
                want_w: s.width,
                want_h: s.height,
                got_w: frame.width(),
                got_h: frame.height(),
            });
        }
        let due = self.since_keyframe.is_none_or(|n| n >= s.keyframe_interval_frames());
        let forced = due || self.force_next;
        if forced && self.opened {
            self.inner.force_intra_frame();
        }
        let index = self.frames_in;
        self.frames_in += 1;

        // openh264 only wants a monotonic stream time; ms since the first frame, kept in i64.
        let first = *self.first_capture_ms.get_or_insert(capture_ms);
        let stream_ms = capture_ms.saturating_sub(first).min(i64::MAX as u64 / 2);
        let bitstream = self.inner.encode_at(frame, Timestamp::from_millis(stream_ms)).map_err(EncoderError::Encode)?;
        self.opened = true;
        let skipped = matches!(bitstream.frame_type(), FrameType::Skip | FrameType::Invalid);
        let data = if skipped { Vec::new() } else { bitstream.to_vec() };
        if data.is_empty() {
            // `force_next` stays set, and a due keyframe stays due.
            self.since_keyframe = self.since_keyframe.map(|n| n + 1);
            return Ok(None);
        }
        self.force_next = false;
        let keyframe = nal::is_keyframe(&data);
        if keyframe {
            self.since_keyframe = Some(1);
            if let Some(codec) = nal::find_sps(&data).and_then(nal::codec_string) {
                self.codec = Some(codec);
            }
        } else {
            self.since_keyframe = self.since_keyframe.map(|n| n + 1);
        }
        Ok(Some(EncodedFrame { data, keyframe, capture_ms, index }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        let ok = EncoderSettings::default();
        assert_eq!(ok.keyframe_interval_frames(), 60);
        for bad in [
            EncoderSettings { width: 641, ..ok },
            EncoderSettings { height: 0, ..ok },
            EncoderSettings { width: 4000, ..ok },
            EncoderSettings { fps: 0, ..ok },
            EncoderSettings { keyframe_interval_ms: 0, ..ok },
            EncoderSettings { bitrate_bps: 10, ..ok },
        ] {
            assert!(H264Encoder::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn wrong_frame_size_is_an_error() {
        let mut enc =
            H264Encoder::new(EncoderSettings { width: 640, height: 360, ..EncoderSettings::default() }).unwrap();
        let f = I420Frame::black(320, 240).unwrap();
        assert!(matches!(enc.encode(&f, 0), Err(EncoderError::FrameSize { got_w: 320, .. })));
        assert!(matches!(enc.set_bitrate(1), Err(EncoderError::BitrateOutOfRange(1))));
    }
}
