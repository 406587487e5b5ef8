//! Header, disk header, var headers, rows and session info of arbitrary bytes, read as an .ibt
//! file and as live memory: errors are fine, panics and out-of-bounds reads are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitbox_irsdk::layout::{BufferCheck, Layout};
use pitbox_irsdk::live::{LiveReader, SharedMem};
use pitbox_irsdk::IbtFile;

fuzz_target!(|data: &[u8]| {
    let _ = Layout::parse(data, BufferCheck::Live);
    if let Ok(f) = IbtFile::from_bytes(data.to_vec()) {
        for row in f.rows().take(64) {
            for v in f.vars() {
                for i in 0..v.count {
                    let _ = v.value(row, i);
                }
            }
        }
        let _ = f.session_info();
        let _ = pitbox_irsdk::laps::file_laps(&f);
        let _ = pitbox_irsdk::writer::rewrite(&f);
    }
    if let Ok(mut r) = LiveReader::new(SharedMem::from_bytes(data)) {
        let _ = r.read_row();
        let _ = r.poll();
    }
});
