//! WAV files from users (`pitbox voice listen`) and providers: any bytes must give audio or a
//! precise error, never a panic; whatever decodes must re-encode and decode to the same samples.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitbox_voice::Audio;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = Audio::from_wav(data) {
        let again = Audio::from_wav(&a.to_wav()).expect("our own WAV decodes");
        assert_eq!(again, a);
    }
});
