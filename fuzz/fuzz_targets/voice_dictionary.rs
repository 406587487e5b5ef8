//! The command dictionary's CMUdict text parser: any bytes must parse or give a typed error
//! (never a panic), and every accepted entry must be well formed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitbox_voice::commands::GARBAGE_PHONES;
use pitbox_voice::dictionary::parse_dictionary;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(entries) = parse_dictionary(&text) {
        for e in entries {
            assert!(!e.word.is_empty() && e.variant >= 1 && !e.phones.is_empty());
            assert!(e.phones.iter().all(|p| GARBAGE_PHONES.contains(&p.as_str())));
        }
    }
});
