//! The relay → cloud uplink frame decoder (zstd-compressed `telemetry_batch`): never panics,
//! never decompresses past its bound, and what it accepts re-encodes to an equal batch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitbox_hub::uplink::{decode_frame, encode_batch};

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = decode_frame(data, 256 * 1024) {
        let again = encode_batch(&batch, 1).expect("re-encode");
        assert_eq!(decode_frame(&again, 1 << 24).expect("decode re-encoded"), batch);
    }
});
