//! Recognised word strings (and the grammar around them): any text maps to a command or none,
//! never a panic, and a command's canonical phrase maps back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitbox_voice::commands::parse_command;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(c) = parse_command(&text) {
        assert_eq!(parse_command(&c.phrase()), Some(c));
    }
});
