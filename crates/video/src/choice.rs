//! Which H.264 encoder the driver uses: the PC's hardware encoder (Media Foundation, Windows)
//! when there is one that works, else openh264 in software. A hardware encoder that fails to
//! start or fails while encoding is replaced by openh264 with the reason kept, so a driver's
//! video never stops for an encoder the project could not test on every GPU.

use crate::encoder::{EncodedFrame, EncoderError, EncoderSettings, H264Encoder};
use crate::frame::I420Frame;

/// The encoder the driver asks for (`pitbox driver --video-encoder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncoderChoice {
    /// The hardware encoder if there is one that starts, else openh264.
    #[default]
    Auto,
    /// The hardware encoder or nothing (to try one out).
    Hardware,
    /// openh264 only.
    Software,
}

impl std::str::FromStr for EncoderChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(EncoderChoice::Auto),
            "hardware" => Ok(EncoderChoice::Hardware),
            "software" => Ok(EncoderChoice::Software),
            other => Err(format!("video encoder {other:?}: use auto, hardware or software")),
        }
    }
}

impl std::fmt::Display for EncoderChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EncoderChoice::Auto => "auto",
            EncoderChoice::Hardware => "hardware",
            EncoderChoice::Software => "software",
        })
    }
}

/// One of the encoders, behind the same calls.
#[derive(Debug)]
pub enum AnyEncoder {
    /// Boxed: openh264's encoder is kilobytes, the hardware one a few pointers.
    Software(Box<H264Encoder>),
    #[cfg(windows)]
    Hardware(crate::mf::MfH264Encoder),
}

/// What [`open`] chose, and why not the hardware encoder when that was possible.
#[derive(Debug)]
pub struct Opened {
    pub encoder: AnyEncoder,
    /// Why openh264 runs although `auto` was asked (no hardware encoder, or it failed to start).
    pub fallback: Option<String>,
}

/// Opens the encoder `choice` asks for.
pub fn open(settings: EncoderSettings, choice: EncoderChoice) -> Result<Opened, EncoderError> {
    let software = |fallback: Option<String>| Ok(Opened { encoder: AnyEncoder::software(settings)?, fallback });
    match choice {
        EncoderChoice::Software => software(None),
        EncoderChoice::Hardware => open_hardware(settings).map(|encoder| Opened { encoder, fallback: None }),
        EncoderChoice::Auto => match open_hardware(settings) {
            Ok(encoder) => Ok(Opened { encoder, fallback: None }),
            Err(e) => software(Some(e.to_string())),
        },
    }
}

#[cfg(windows)]
fn open_hardware(settings: EncoderSettings) -> Result<AnyEncoder, EncoderError> {
    crate::mf::MfH264Encoder::new(settings).map(AnyEncoder::Hardware)
}

#[cfg(not(windows))]
fn open_hardware(_settings: EncoderSettings) -> Result<AnyEncoder, EncoderError> {
    Err(EncoderError::MediaFoundation("Windows only".into()))
}

impl AnyEncoder {
    /// openh264 for `settings`: what replaces a hardware encoder that failed.
    pub fn software(settings: EncoderSettings) -> Result<AnyEncoder, EncoderError> {
        H264Encoder::new(settings).map(|e| AnyEncoder::Software(Box::new(e)))
    }

    /// "openh264 (software)", or the hardware encoder's name as Windows lists it.
    pub fn name(&self) -> String {
        match self {
            AnyEncoder::Software(_) => "openh264 (software)".into(),
            #[cfg(windows)]
            AnyEncoder::Hardware(e) => format!("{} (hardware)", e.name()),
        }
    }

    pub fn is_hardware(&self) -> bool {
        !matches!(self, AnyEncoder::Software(_))
    }

    pub fn settings(&self) -> EncoderSettings {
        match self {
            AnyEncoder::Software(e) => *e.settings(),
            #[cfg(windows)]
            AnyEncoder::Hardware(e) => *e.settings(),
        }
    }

    /// The current target bitrate in bit/s.
    pub fn bitrate(&self) -> u32 {
        self.settings().bitrate_bps
    }

    /// The WebCodecs codec string, once the first keyframe came out.
    pub fn codec(&self) -> Option<&str> {
        match self {
            AnyEncoder::Software(e) => e.codec(),
            #[cfg(windows)]
            AnyEncoder::Hardware(e) => e.codec(),
        }
    }

    pub fn force_keyframe(&mut self) {
        match self {
            AnyEncoder::Software(e) => e.force_keyframe(),
            #[cfg(windows)]
            AnyEncoder::Hardware(e) => e.force_keyframe(),
        }
    }

    pub fn set_bitrate(&mut self, bps: u32) -> Result<(), EncoderError> {
        match self {
            AnyEncoder::Software(e) => e.set_bitrate(bps),
            #[cfg(windows)]
            AnyEncoder::Hardware(e) => e.set_bitrate(bps),
        }
    }

    pub fn encode(&mut self, frame: &I420Frame, capture_ms: u64) -> Result<Option<EncodedFrame>, EncoderError> {
        match self {
            AnyEncoder::Software(e) => e.encode(frame, capture_ms),
            #[cfg(windows)]
            AnyEncoder::Hardware(e) => e.encode(frame, capture_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TestPattern;

    #[test]
    fn choices_parse_and_print() {
        for c in [EncoderChoice::Auto, EncoderChoice::Hardware, EncoderChoice::Software] {
            assert_eq!(c.to_string().parse::<EncoderChoice>(), Ok(c));
        }
        assert!("nvenc".parse::<EncoderChoice>().unwrap_err().contains("auto, hardware or software"));
    }

    /// `auto` always gives a working encoder: the hardware one where it starts (a PC with a
    /// GPU), else openh264 with the reason (Linux; wine, which has no hardware encoder).
    #[test]
    fn auto_gives_a_working_encoder_and_says_why_when_it_is_software() {
        let settings = EncoderSettings { width: 640, height: 360, ..EncoderSettings::default() };
        let mut opened = open(settings, EncoderChoice::Auto).expect("an encoder");
        if opened.encoder.is_hardware() {
            assert!(opened.fallback.is_none());
        } else {
            let why = opened.fallback.clone().expect("why not hardware");
            assert!(!why.is_empty());
            assert_eq!(opened.encoder.name(), "openh264 (software)");
        }
        let pattern = TestPattern::new(640, 360, 30).expect("pattern");
        let mut first = None;
        for n in 0..30u32 {
            let ms = pattern.capture_ms(1_765_000_000_000, n);
            if let Some(f) = opened.encoder.encode(&pattern.frame(n, ms), ms).expect("encode") {
                first.get_or_insert(f);
            }
        }
        let first = first.expect("pictures came out");
        assert!(first.keyframe, "the first picture out is a keyframe");
        assert!(opened.encoder.codec().is_some_and(|c| c.starts_with("avc1.42")), "{:?}", opened.encoder.codec());
        // Software is software; hardware without hardware is refused, not faked.
        assert!(!open(settings, EncoderChoice::Software).expect("openh264").encoder.is_hardware());
        if !opened.encoder.is_hardware() {
            assert!(open(settings, EncoderChoice::Hardware).is_err());
        }
    }
}
