//! Property tests of the video frame codec: what is built round-trips, and no input panics.

use pitbox_video::wire::{MAX_CODEC_LEN, MAX_STREAM_ID_LEN};
use pitbox_video::{VideoFrame, VideoMessage, decode, decode_message, encode, encode_keyframe_request};
use proptest::prelude::*;

fn frames() -> impl Strategy<Value = VideoFrame> {
    (
        "\\PC{1,16}",
        any::<u64>(),
        any::<u64>(),
        any::<bool>(),
        "[!-~]{1,32}",
        proptest::collection::vec(any::<u8>(), 1..4096),
    )
        .prop_filter_map("ids within bounds", |(id, seq, ms, key, codec, payload)| {
            VideoFrame::new(id, seq, ms, key, codec, payload).ok()
        })
}

proptest! {
    #[test]
    fn frames_round_trip(frame in frames()) {
        let bytes = encode(&frame);
        prop_assert_eq!(bytes.len(), frame.as_ref().encoded_len());
        let back = decode(&bytes).unwrap();
        prop_assert_eq!(back, frame.as_ref());
        prop_assert_eq!(back.to_owned(), frame);
    }

    #[test]
    fn keyframe_requests_round_trip(id in "\\PC{1,16}") {
        prop_assume!(id.len() <= MAX_STREAM_ID_LEN);
        let bytes = encode_keyframe_request(&id).unwrap();
        prop_assert_eq!(decode_message(&bytes).unwrap(), VideoMessage::KeyframeRequest { stream_id: &id });
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_message(&bytes);
    }

    /// Valid messages with a few bytes changed or cut: an error or a frame that re-encodes to
    /// the same bytes, never a panic.
    #[test]
    fn damaged_messages_fail_cleanly(
        frame in frames(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = encode(&frame);
        for (i, b) in edits {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        if let Ok(f) = decode(&bytes) {
            prop_assert!(f.stream_id.len() <= MAX_STREAM_ID_LEN && f.codec.len() <= MAX_CODEC_LEN);
            prop_assert_eq!(encode(&f.to_owned()), bytes);
        }
    }
}
