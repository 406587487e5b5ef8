//! The video frame message decoder (`pitbox_video::wire`): never panics, never reads past its
//! bounds, and a frame it accepts re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitbox_video::wire::{VideoMessage, decode_message, encode, encode_keyframe_request};

fuzz_target!(|data: &[u8]| {
    match decode_message(data) {
        Ok(VideoMessage::Frame(frame)) => {
            assert_eq!(encode(&frame.to_owned()), data);
        }
        Ok(VideoMessage::KeyframeRequest { stream_id }) => {
            assert_eq!(encode_keyframe_request(stream_id).expect("re-encode"), data);
        }
        Err(_) => {}
    }
});
