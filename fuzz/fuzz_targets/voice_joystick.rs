//! Joystick records from `/dev/input/js*` (push-to-talk on a wheel button): any byte stream must
//! give records or precise errors, never a panic, and the press/release edges of any stream must
//! alternate.
#![no_main]

use std::sync::atomic::AtomicBool;

use libfuzzer_sys::fuzz_target;
use pitbox_voice::buttons::{EdgeDetector, JS_EVENT_SIZE, JsEvent, read_joystick};

fuzz_target!(|data: &[u8]| {
    for chunk in data.chunks(JS_EVENT_SIZE) {
        if let Ok(e) = JsEvent::parse(chunk) {
            assert_eq!(e.to_bytes().as_slice(), chunk);
        }
    }
    let button = data.first().copied().map_or(0, u16::from);
    let mut edges = Vec::new();
    let stop = AtomicBool::new(false);
    let _ = read_joystick(data, button, &mut EdgeDetector::default(), &stop, |e| edges.push(e));
    assert!(edges.windows(2).all(|w| w[0] != w[1]));
});
