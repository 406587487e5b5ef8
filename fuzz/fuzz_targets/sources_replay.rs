//! Arbitrary bytes as an .ibt file through the replay source: opening may fail with an error,
//! but nothing panics and every message the source yields passes the wire validation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitbox_model::Message;
use pitbox_sources::replay::{Pace, ReplayOptions, ReplaySource};
use pitbox_sources::{SourceEvent, TelemetrySource};

fuzz_target!(|data: &[u8]| {
    let Ok(file) = pitbox_irsdk::IbtFile::from_bytes(data.to_vec()) else { return };
    let mut opts = ReplayOptions::new("fuzz");
    opts.pace = Pace::AsFastAsPossible;
    let Ok(mut src) = ReplaySource::from_file("fuzz.ibt".into(), file, opts) else { return };
    for _ in 0..2_000 {
        let msg = match src.next_event() {
            Ok(Some(SourceEvent::Telemetry(t))) => Message::TelemetryUpdate(*t),
            Ok(Some(SourceEvent::Session(s))) => Message::SessionInfo(*s),
            Ok(Some(SourceEvent::Standings(s))) => Message::StandingsUpdate(*s),
            // Replays never send the spotter's frames; any other source's are not messages.
            Ok(Some(SourceEvent::State(_) | SourceEvent::Spotter(_))) => continue,
            Ok(None) | Err(_) => break,
        };
        if let Err(e) = msg.validate() {
            panic!("mapped message fails validation: {e}");
        }
    }
});
