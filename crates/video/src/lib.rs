//! # pitbox-video — the driver's screen on the pit wall
//!
//! This crate owns the parts of live video (issue 24) that need no network and no OS: the
//! deterministic test-pattern source with machine-readable marks ([`pattern`]), the H.264
//! encoder (openh264, constrained baseline, Annex-B; [`encoder`]), the Annex-B helpers
//! ([`nal`]), the binary message that carries one encoded frame over the WebSocket links and the
//! keyframe request ([`wire`]), and the two drop policies: the driver's [`sender::VideoSender`]
//! (telemetry always wins: drop frames first, then bitrate) and the relay/cloud fan-out
//! ([`fanout`]: late viewers start from the cached keyframe, slow viewers skip to the next one).
//!
//! Video is live only: nothing here stores frames beyond the current group of pictures.
//! The transport uses these parts in `pitbox-driver` (video.rs), `pitbox-hub` (video.rs, the
//! relay's and the cloud's fan-out) and `pitbox-relay` (video.rs, the uplink); the player is the
//! dashboard's `/video`. Screen capture on Windows (Windows.Graphics.Capture) and the picture
//! conversion before the encoder are [`capture`]; the Windows hardware encoder (Media
//! Foundation) is `mf`, and [`choice`] picks it or openh264.
//!
//! The `encoder` feature (default) brings openh264 in; without it (relay, cloud, fuzzing) the
//! crate is pure Rust.

pub mod capture;
#[cfg(feature = "encoder")]
pub mod choice;
#[cfg(feature = "encoder")]
pub mod encoder;
pub mod fanout;
pub mod frame;
#[cfg(all(windows, feature = "encoder"))]
pub mod mf;
pub mod nal;
pub mod pattern;
pub mod sender;
pub mod wire;

#[cfg(feature = "encoder")]
pub use choice::{AnyEncoder, EncoderChoice};
#[cfg(feature = "encoder")]
pub use encoder::{EncodedFrame, EncoderError, EncoderSettings, H264Encoder};
pub use frame::{FrameError, I420Frame};
pub use pattern::{TestPattern, read_marks_luma, read_marks_rgba};
pub use wire::{
    MAX_CODEC_LEN, MAX_PAYLOAD_LEN, MAX_STREAM_ID_LEN, VideoFrame, VideoFrameError, VideoFrameRef, VideoMessage,
    decode, decode_message, encode, encode_keyframe_request,
};
