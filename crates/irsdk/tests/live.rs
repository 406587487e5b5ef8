//! Live reader: against the real live-memory dump and against our own rotating writer.

mod common;

use pitbox_irsdk::live::{LiveReader, LiveWriter, Poll, SharedBuffer, SharedMem, live_region_len};
use pitbox_irsdk::{IrsdkError, VarHeader, VarType};
use std::sync::atomic::{AtomicBool, Ordering};

/// Sets the flag when dropped, so a failing reader never leaves the writer thread spinning.
struct StopOnDrop<'a>(&'a AtomicBool);
impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn real_live_dump_matches_truth() {
    let Some(dir) = common::ibt_dir() else { return };
    let bytes = std::fs::read(dir.join("teamjorge__ibt__live_test_file.ibt")).unwrap();
    let t: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("teamjorge__ibt__live_test_file.truth.json")).unwrap()).unwrap();
    let mut r = LiveReader::new(SharedMem::from_bytes(&bytes)).unwrap();
    let h = *r.layout().header();
    let th = &t["header"];
    for (k, v) in [
        ("ver", h.ver),
        ("status", h.status),
        ("tickRate", h.tick_rate),
        ("sessionInfoUpdate", h.session_info_update),
        ("sessionInfoLen", h.session_info_len),
        ("sessionInfoOffset", h.session_info_offset),
        ("numVars", h.num_vars),
        ("varHeaderOffset", h.var_header_offset),
        ("numBuf", h.num_buf),
        ("bufLen", h.buf_len),
    ] {
        assert_eq!(th[k].as_i64().unwrap(), i64::from(v), "{k}");
    }
    for (i, b) in th["varBuf"].as_array().unwrap().iter().enumerate() {
        assert_eq!(b["tickCount"].as_i64().unwrap(), i64::from(h.var_buf[i].tick_count));
        assert_eq!(b["bufOffset"].as_i64().unwrap(), i64::from(h.var_buf[i].buf_offset));
    }
    // Every var header.
    let tv = t["vars"].as_array().unwrap();
    assert_eq!(tv.len(), r.layout().vars().len());
    for (v, j) in r.layout().vars().iter().zip(tv) {
        assert_eq!(j["name"].as_str().unwrap(), v.name);
        assert_eq!(j["type"].as_i64().unwrap(), v.ty as i64, "{}", v.name);
        assert_eq!(j["count"].as_u64().unwrap() as usize, v.count, "{}", v.name);
        assert_eq!(j["offset"].as_u64().unwrap() as usize, v.offset, "{}", v.name);
        assert_eq!(j["unit"].as_str().unwrap(), v.unit, "{}", v.name);
    }
    // Newest buffer by tick count, and its values.
    let row = r.read_row().unwrap().to_vec();
    assert_eq!(r.buffer_index() as u64, t["latestBufferIndex"].as_u64().unwrap());
    assert_eq!(r.tick(), Some(2005));
    let tick_h = r.layout().handle::<i32>("SessionTick").unwrap();
    assert_eq!(tick_h.get(&row), 3443);
    // pyirsdk (which computed the truth) deliberately reads the SECOND newest buffer (its
    // `_var_buffer_latest` sorts by tickCount and takes index 1): the listed values are those of
    // varBuf[0] (tick 2004), one tick older than the newest buffer the truth names.
    let second = &bytes[h.var_buf[0].buf_offset as usize..][..h.buf_len as usize];
    assert_eq!(h.var_buf[0].tick_count, 2004);
    for (name, want) in t["valuesFromLatestBuffer"].as_object().unwrap() {
        let got = r.layout().var(name).unwrap().value(second, 0).unwrap().as_f64();
        assert_eq!(want.as_f64().unwrap(), got, "{name}");
    }
    // Our newest row is exactly one tick (1/60 s) later.
    let st = r.layout().handle::<f64>("SessionTime").unwrap();
    let dt = st.get(&row) - t["valuesFromLatestBuffer"]["SessionTime"].as_f64().unwrap();
    assert!((dt - 1.0 / 60.0).abs() < 1e-6, "{dt}");
    // Session facts.
    let s = r.session_info().unwrap();
    let ts = &t["session"];
    assert_eq!(ts["trackName"].as_str(), s.weekend.track_name.as_deref());
    assert_eq!(ts["trackDisplayName"].as_str(), s.weekend.track_display_name.as_deref());
    assert_eq!(ts["driverCarIdx"].as_i64(), s.driver.driver_car_idx.map(i64::from));
    assert_eq!(ts["numDrivers"].as_u64().unwrap() as usize, s.driver.drivers.len());
    assert_eq!(s.sectors.len(), 5);
    // CarIdx arrays as typed slices.
    let surf = r.layout().handle::<pitbox_irsdk::flags::TrkLoc>("CarIdxTrackSurface").unwrap();
    assert_eq!(surf.count(), 64);
    assert_eq!(surf.to_vec(&row).len(), 64);
    let lapd = r.layout().handle::<f32>("CarIdxLapDistPct").unwrap();
    let mut arr = [0f32; 64];
    assert_eq!(lapd.read_into(&row, &mut arr), 64);
    assert!(r.layout().handle::<f32>("CarIdxLap").is_err());
    // Nothing changes in a dump.
    assert_eq!(r.poll().unwrap(), Poll::Unchanged);
    assert!(!r.check_session_update().unwrap());
    assert_eq!(r.stats().session_parses, 1);
}

fn test_vars() -> (Vec<VarHeader>, usize) {
    // A row of 1000 identical u32 words: any mix of two rows shows as a torn row.
    (
        vec![
            VarHeader::new("Fill", VarType::Int, 0, 1000, false, "", ""),
            VarHeader::new("SessionTick", VarType::Int, 4000, 1, false, "", ""),
        ],
        4004,
    )
}

#[test]
fn rotating_writer_never_yields_a_torn_row() {
    let (vars, buf_len) = test_vars();
    let buf = SharedBuffer::new(live_region_len(vars.len(), buf_len, 4096, 3));
    let mut w = LiveWriter::new(&buf, &vars, buf_len, 60, 4096, 3).unwrap();
    w.set_session_info("WeekendInfo:\n TrackName: test\n");
    let mut row = vec![0u8; buf_len];
    fn fill(row: &mut [u8], k: i32) {
        for c in row.chunks_exact_mut(4) {
            c.copy_from_slice(&k.to_le_bytes());
        }
    }
    fill(&mut row, 0);
    w.write_row(&row).unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut k = 1;
            while !stop.load(Ordering::Relaxed) {
                fill(&mut row, k);
                w.write_row(&row).unwrap();
                k += 1;
            }
            k
        });
        let _guard = StopOnDrop(&stop);
        let mut r = LiveReader::new(buf.mem()).unwrap();
        r.max_attempts = 1000;
        let fill_h = r.layout().handle::<i32>("Fill").unwrap();
        let mut last = -1;
        let start = std::time::Instant::now();
        let mut reads = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(700) {
            let row = r.read_row().unwrap();
            let first = fill_h.get(row);
            assert!(fill_h.iter(row).all(|v| v == first), "torn row returned");
            assert_eq!(r.tick(), Some(first), "tick and data agree");
            assert!(first >= last, "ticks go forward");
            last = first;
            reads += 1;
        }
        drop(_guard);
        let written = writer.join().unwrap();
        eprintln!("reads {reads}, rows written {written}, torn copies retried {}", r.stats().torn_retries);
        assert!(reads > 100 && written > 100);
    });
}

#[test]
fn torn_copy_is_detected_and_retried() {
    // With a single buffer the writer always overwrites the buffer being read: the reader must
    // either get a consistent row or report torn reads; never a mixed row.
    let (vars, buf_len) = test_vars();
    let buf = SharedBuffer::new(live_region_len(vars.len(), buf_len, 256, 1));
    let mut w = LiveWriter::new(&buf, &vars, buf_len, 60, 256, 1).unwrap();
    w.write_row(&vec![0u8; buf_len]).unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut k = 1i32;
            let mut row = vec![0u8; buf_len];
            while !stop.load(Ordering::Relaxed) {
                for c in row.chunks_exact_mut(4) {
                    c.copy_from_slice(&k.to_le_bytes());
                }
                w.write_row(&row).unwrap();
                k += 1;
            }
        });
        let _guard = StopOnDrop(&stop);
        let mut r = LiveReader::new(buf.mem()).unwrap();
        r.max_attempts = 3;
        let h = r.layout().handle::<i32>("Fill").unwrap();
        let (mut ok, mut torn) = (0, 0);
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(500) {
            match r.read_row() {
                Ok(row) => {
                    let first = h.get(row);
                    assert!(h.iter(row).all(|v| v == first), "torn row returned");
                    ok += 1;
                }
                Err(IrsdkError::TornRead { .. }) => torn += 1,
                Err(e) => panic!("{e}"),
            }
        }
        drop(_guard);
        eprintln!("consistent {ok}, gave up {torn}, retries {}", r.stats().torn_retries);
        assert!(r.stats().torn_retries > 0, "the race was exercised");
    });
}

#[test]
fn session_update_and_disconnect() {
    let (vars, buf_len) = test_vars();
    let buf = SharedBuffer::new(live_region_len(vars.len(), buf_len, 1024, 3));
    let mut w = LiveWriter::new(&buf, &vars, buf_len, 60, 1024, 3).unwrap();
    w.set_session_info("WeekendInfo:\n TrackName: one\n");
    w.write_row(&vec![0u8; buf_len]).unwrap();
    let mut r = LiveReader::new(buf.mem()).unwrap();
    assert_eq!(r.session_info().unwrap().weekend.track_name.as_deref(), Some("one"));
    assert!(matches!(r.poll().unwrap(), Poll::NewRow { tick: 0, session_changed: false }));
    assert_eq!(r.poll().unwrap(), Poll::Unchanged);
    assert_eq!(r.stats().session_parses, 1);
    w.set_session_info("WeekendInfo:\n TrackName: two: the sequel\n");
    assert!(matches!(r.poll().unwrap(), Poll::NewRow { session_changed: true, .. }));
    assert_eq!(r.session_info().unwrap().weekend.track_name.as_deref(), Some("two: the sequel"));
    assert_eq!(r.poll().unwrap(), Poll::Unchanged);
    assert_eq!(r.stats().session_parses, 2);
    w.write_row(&vec![1u8; buf_len]).unwrap();
    assert!(matches!(r.poll().unwrap(), Poll::NewRow { tick: 1, .. }));
    w.set_connected(false);
    assert_eq!(r.poll().unwrap(), Poll::Disconnected);
    assert!(matches!(r.read_row(), Err(IrsdkError::NotConnected(_))));
    assert!(matches!(LiveReader::new(buf.mem()), Err(IrsdkError::NotConnected(_))));
}
