//! Publishing iRacing's live interface without iRacing (`pitbox sim --serve-iracing`,
//! `pitbox ibt replay FILE --serve-iracing`).
//!
//! The portable part lives here: a [`Publisher`] is a writable live region plus a way to say
//! "new data" (on Windows the named file mapping `Local\IRSDKMemMapFileName` and the event
//! `Local\IRSDKDataValidEvent`, see [`crate::live::windows::IracingServer`]; in tests and in
//! process a [`SharedBuffer`]). An [`IracingImage`] lays iRacing's memory image out in it through
//! the [`LiveWriter`] (header, variable headers, session-info YAML with its update counter,
//! three rotating row buffers), publishes rows and signals after every tick. [`replay_ibt`]
//! feeds a recorded `.ibt` into it at the file's own tick rate.

use crate::error::{IrsdkError, Result};
use crate::ibt::IbtFile;
use crate::live::{LiveWriter, SharedBuffer, SharedMem, live_region_len};
use crate::var::{VarHeader, latin1};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// iRacing's memory map name.
pub const MEM_MAP_NAME: &str = "Local\\IRSDKMemMapFileName";
/// iRacing's data-valid event name.
pub const DATA_VALID_EVENT_NAME: &str = "Local\\IRSDKDataValidEvent";
/// Rotating row buffers, as iRacing uses.
pub const NUM_BUF: usize = 3;
/// Smallest room kept for the session-info text: iRacing's own 512 KiB (its memory has the text
/// at 112 and the variable headers at 524400, as ours does). The text grows during a session as
/// drivers join, so the room is fixed when the image is laid out.
pub const MIN_SESSION_CAPACITY: usize = 512 * 1024;

/// Where an [`IracingImage`] is published.
pub trait Publisher {
    /// The writable region (at least [`IracingImage::region_len`] bytes).
    fn mem(&self) -> SharedMem<'_>;
    /// Tells readers that a new tick is in (iRacing's data-valid event).
    fn signal(&self);
}

/// In-process publishing: readers poll, nothing to signal.
impl Publisher for SharedBuffer {
    fn mem(&self) -> SharedMem<'_> {
        SharedBuffer::mem(self)
    }

    fn signal(&self) {}
}

/// The session-info room for a text of `text_len` bytes.
pub fn session_capacity_for(text_len: usize) -> usize {
    (text_len + 1).next_multiple_of(4096).max(MIN_SESSION_CAPACITY)
}

/// iRacing's memory image in a [`Publisher`]'s region.
pub struct IracingImage<'p, P: Publisher> {
    writer: LiveWriter<'p>,
    publisher: &'p P,
    ticks: u64,
}

impl<'p, P: Publisher> IracingImage<'p, P> {
    /// Bytes the region needs for these variables, row length and session-info room.
    pub fn region_len(num_vars: usize, buf_len: usize, session_capacity: usize) -> usize {
        live_region_len(num_vars, buf_len, session_capacity, NUM_BUF)
    }

    /// Lays the image out (no row yet, empty session info). The connected bit is set only when
    /// the first row is published, after the session info: a reader that connects never sees
    /// an image whose YAML is still being written.
    pub fn new(
        publisher: &'p P,
        vars: &[VarHeader],
        buf_len: usize,
        tick_rate: i32,
        session_capacity: usize,
    ) -> Result<IracingImage<'p, P>> {
        let mut writer = LiveWriter::over(publisher.mem(), vars, buf_len, tick_rate, session_capacity, NUM_BUF)?;
        writer.set_connected(false);
        Ok(IracingImage { writer, publisher, ticks: 0 })
    }

    /// Replaces the session-info YAML and moves its update counter; an over-long text is an
    /// error (a reader must never see a cut YAML).
    pub fn set_session_info(&mut self, text: &str) -> Result<()> {
        let cap = self.writer.header().session_info_len as usize;
        if text.chars().count() >= cap {
            return Err(IrsdkError::Write(format!(
                "session info of {} characters does not fit the {cap} bytes laid out",
                text.chars().count()
            )));
        }
        self.writer.set_session_info(text);
        Ok(())
    }

    /// The session-info update counter readers see.
    pub fn session_update(&self) -> i32 {
        self.writer.header().session_info_update
    }

    /// Publishes one row into the oldest of the three buffers and signals; returns its tick.
    pub fn publish(&mut self, row: &[u8]) -> Result<i32> {
        let tick = self.writer.write_row(row)?;
        if self.ticks == 0 {
            self.writer.set_connected(true);
        }
        self.ticks += 1;
        self.publisher.signal();
        Ok(tick)
    }

    /// Rows published so far.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// Clears the connected bit and signals, as iRacing does when it exits.
    pub fn disconnect(&mut self) {
        self.writer.set_connected(false);
        self.publisher.signal();
    }
}

/// Keeps a loop at `rate` ticks per second × `speed`, measured from its start (no drift).
pub struct Pacer {
    start: Instant,
    tick: Duration,
    n: u32,
}

impl Pacer {
    /// `rate` ticks per second (at least 1) at `speed` × real time (1 when not positive).
    pub fn new(rate: i32, speed: f64) -> Pacer {
        let speed = if speed.is_finite() && speed > 0.0 { speed } else { 1.0 };
        Pacer { start: Instant::now(), tick: Duration::from_secs_f64(1.0 / (f64::from(rate.max(1)) * speed)), n: 0 }
    }

    /// Sleeps until the next tick is due.
    pub fn wait(&mut self) {
        self.n = self.n.wrapping_add(1);
        let due = self.start + self.tick * self.n;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayStats {
    pub rows: u64,
    pub passes: u64,
}

/// Region length for serving `file`.
pub fn replay_region_len(file: &IbtFile) -> usize {
    let h = file.header();
    IracingImage::<SharedBuffer>::region_len(
        file.vars().len(),
        h.buf_len.max(0) as usize,
        session_capacity_for(file.session_info_bytes().len()),
    )
}

/// Publishes `file`'s records at its tick rate × `speed` (once, or again and again with
/// `looping`) until done or `stop`; the connected bit is cleared at the end.
pub fn replay_ibt<P: Publisher>(
    file: &IbtFile,
    publisher: &P,
    speed: f64,
    looping: bool,
    stop: &AtomicBool,
) -> Result<ReplayStats> {
    let h = file.header();
    let text = latin1(file.session_info_bytes());
    let text = text.trim_end_matches('\0');
    let mut image = IracingImage::new(
        publisher,
        file.vars(),
        h.buf_len.max(0) as usize,
        h.tick_rate,
        session_capacity_for(file.session_info_bytes().len()),
    )?;
    image.set_session_info(text)?;
    let mut stats = ReplayStats { rows: 0, passes: 0 };
    let mut pacer = Pacer::new(h.tick_rate, speed);
    'passes: loop {
        stats.passes += 1;
        for row in file.rows() {
            if stop.load(Ordering::Relaxed) {
                break 'passes;
            }
            image.publish(row)?;
            stats.rows += 1;
            pacer.wait();
        }
        if !looping || file.row_count() == 0 {
            break;
        }
    }
    image.disconnect();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::LiveReader;
    use crate::var::VarType;
    use proptest::prelude::*;
    use std::sync::atomic::AtomicU64;

    /// Counts the signals, like a reader waiting on the event would see them.
    struct Counting {
        buf: SharedBuffer,
        signals: AtomicU64,
    }

    impl Publisher for Counting {
        fn mem(&self) -> SharedMem<'_> {
            self.buf.mem()
        }
        fn signal(&self) {
            self.signals.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn vars() -> (Vec<VarHeader>, usize) {
        (
            vec![
                VarHeader::new("SessionTime", VarType::Double, 0, 1, false, "", "s"),
                VarHeader::new("Speed", VarType::Float, 8, 1, false, "", "m/s"),
                VarHeader::new("Lap", VarType::Int, 12, 1, false, "", ""),
            ],
            16,
        )
    }

    fn counting(cap: usize) -> Counting {
        let (v, bl) = vars();
        Counting {
            buf: SharedBuffer::new(IracingImage::<Counting>::region_len(v.len(), bl, cap)),
            signals: AtomicU64::new(0),
        }
    }

    #[test]
    fn too_long_session_info_is_refused_not_cut() {
        let p = counting(64);
        let (v, bl) = vars();
        let mut img = IracingImage::new(&p, &v, bl, 60, 64).unwrap();
        let e = img.set_session_info(&"x".repeat(64)).unwrap_err().to_string();
        assert!(e.contains("does not fit"), "{e}");
        assert_eq!(img.session_update(), 0);
        img.set_session_info("---\n").unwrap();
        assert_eq!(img.session_update(), 1);
    }

    #[test]
    fn the_image_has_iracings_offsets() {
        let p = counting(MIN_SESSION_CAPACITY);
        let (v, bl) = vars();
        let mut img = IracingImage::new(&p, &v, bl, 60, MIN_SESSION_CAPACITY).unwrap();
        // As in iRacing's own memory (docs/irsdk.md, "The real live dump").
        let h = img.writer.header();
        assert_eq!((h.session_info_offset, h.var_header_offset, h.num_buf), (112, 524_400, 3));
        // Connected only once there is a row (and the session info before it).
        assert_eq!(h.status, 0);
        img.set_session_info("---\n").unwrap();
        img.publish(&vec![0u8; bl]).unwrap();
        assert_eq!(img.writer.header().status, crate::header::STATUS_CONNECTED);
    }

    #[test]
    fn region_too_small_is_an_error() {
        let (v, bl) = vars();
        let p = Counting { buf: SharedBuffer::new(100), signals: AtomicU64::new(0) };
        assert!(IracingImage::new(&p, &v, bl, 60, 4096).is_err());
    }

    #[test]
    fn replays_a_file_at_its_tick_rate_and_disconnects() {
        let (v, bl) = vars();
        let text = "---\nWeekendInfo:\n TrackName: replayring\n";
        let mut w = crate::writer::IbtWriter::new(std::io::Cursor::new(Vec::new()), v, bl, 600, text, 0).unwrap();
        for i in 0..30 {
            let mut row = w.blank_row();
            row[8..12].copy_from_slice(&(i as f32).to_le_bytes());
            w.write_row(&row).unwrap();
        }
        let file = IbtFile::from_bytes(w.finish().unwrap().into_inner()).unwrap();
        let p = Counting { buf: SharedBuffer::new(replay_region_len(&file)), signals: AtomicU64::new(0) };
        let started = Instant::now();
        let stats = replay_ibt(&file, &p, 1.0, false, &AtomicBool::new(false)).unwrap();
        // 30 rows at 600 Hz: at least 29 tick periods.
        assert!(started.elapsed() >= Duration::from_millis(48), "{:?}", started.elapsed());
        assert_eq!(stats, ReplayStats { rows: 30, passes: 1 });
        assert_eq!(p.signals.load(Ordering::Relaxed), 31, "one per row and one at disconnect");
        let h = crate::header::Header::parse(&{
            let mut b = [0u8; crate::header::HEADER_LEN];
            p.mem().copy_to(0, &mut b);
            b
        })
        .unwrap();
        assert_eq!(h.status & crate::header::STATUS_CONNECTED, 0);
        assert_eq!(h.session_info_update, 1);
        assert_eq!(h.num_buf, 3);
        let newest = h.latest_buf().unwrap();
        let mut row = vec![0u8; bl];
        p.mem().copy_to(h.var_buf[newest].buf_offset as usize, &mut row);
        assert_eq!(f32::from_le_bytes(row[8..12].try_into().unwrap()), 29.0);
        let mut si = vec![0u8; h.session_info_len as usize];
        p.mem().copy_to(h.session_info_offset as usize, &mut si);
        assert!(latin1(&si).starts_with(text));
        // A stop request ends a looping replay.
        let stop = AtomicBool::new(true);
        assert_eq!(replay_ibt(&file, &p, 1.0, true, &stop).unwrap().rows, 0);
    }

    proptest! {
        /// Whatever rows and session texts are published, a reader sees the newest row, the
        /// latest text with the counter it moved to, one signal per row, and three buffers used
        /// in rotation.
        #[test]
        fn reader_sees_what_was_published(
            rows in proptest::collection::vec((0.0f64..1e5, -100.0f32..400.0, 0i32..500), 1..40),
            texts in proptest::collection::vec("[a-zA-Z0-9 :\n]{0,200}", 0..5),
        ) {
            let cap = 4096;
            let p = counting(cap);
            let (v, bl) = vars();
            let mut img = IracingImage::new(&p, &v, bl, 60, cap).unwrap();
            // Nothing to connect to before the first row.
            prop_assert!(LiveReader::new(p.mem()).is_err());
            let mut reader: Option<LiveReader<'_>> = None;
            let mut used = std::collections::BTreeSet::new();
            for (i, (t, s, l)) in rows.iter().enumerate() {
                if let Some(text) = texts.get(i) {
                    img.set_session_info(text).unwrap();
                }
                let mut row = vec![0u8; bl];
                row[0..8].copy_from_slice(&t.to_le_bytes());
                row[8..12].copy_from_slice(&s.to_le_bytes());
                row[12..16].copy_from_slice(&l.to_le_bytes());
                let tick = img.publish(&row).unwrap();
                prop_assert_eq!(tick, i as i32);
                let reader = reader.get_or_insert_with(|| LiveReader::new(p.mem()).unwrap());
                reader.check_session_update().unwrap();
                prop_assert_eq!(reader.read_row().unwrap(), &row[..]);
                prop_assert_eq!(reader.tick(), Some(tick));
                used.insert(reader.buffer_index());
            }
            prop_assert_eq!(p.signals.load(Ordering::Relaxed), rows.len() as u64);
            let moved = texts.len().min(rows.len());
            prop_assert_eq!(img.session_update(), moved as i32);
            let reader = reader.unwrap();
            if moved > 0 {
                let last = &texts[moved - 1];
                prop_assert_eq!(reader.session_text().trim_end_matches('\0'), last.as_str());
            }
            prop_assert_eq!(used.len(), rows.len().min(NUM_BUF));
            img.disconnect();
            prop_assert!(!reader.is_connected());
        }
    }
}
