//! Arbitrary bytes through the cloud's `.ibt` import path (`pitbox_irsdk::import::read_samples`
//! on an opened file, exactly what `POST /api/sessions/import` runs on an upload): errors are
//! fine; panics are not, nor is any allocation sized by what the header declares. Run it under
//! a memory limit (`-rss_limit_mb=1024 -malloc_limit_mb=256`, as `.ci/run` does) so a
//! reservation like the `Vec::with_capacity(rows)` of issue 23 fails the run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitbox_irsdk::IbtFile;
use pitbox_irsdk::import::{ImportLimits, read_samples};

fuzz_target!(|data: &[u8]| {
    let Ok(file) = IbtFile::from_bytes(data.to_vec()) else { return };
    let now = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
    let Ok(got) = read_samples(&file, "fuzz", ImportLimits { max_samples: 100_000, now }) else { return };
    assert!(!got.samples.is_empty(), "an import that succeeds carries samples");
    assert!(got.samples.len() <= file.row_count());
    for s in &got.samples {
        if let Err(e) = pitbox_model::validate::validate(s, "") {
            panic!("imported sample fails validation: {e}");
        }
        assert!(s.timestamp.timestamp() > 0, "no sample is stamped 1970: {}", s.timestamp);
    }
});
