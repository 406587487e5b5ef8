//! Any bytes into the protocol decoder: it must return a message or a precise error, never panic,
//! and every message it accepts must re-encode to something it accepts again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match pitbox_model::decode(data) {
        Ok(msg) => {
            let again = pitbox_model::decode(msg.to_json().as_bytes());
            assert!(again.is_ok(), "re-encoded message rejected: {again:?}");
        }
        Err(err) => {
            let _ = err.to_message(None).to_json();
        }
    }
    for model in pitbox_model::schema::MODEL_SPECS {
        let _ = model.check(data);
    }
});
