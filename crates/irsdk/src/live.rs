//! Live telemetry: the same layout in shared memory, read with iRacing's protocol.
//!
//! The portable core works over any mapped region ([`SharedMem`]): iRacing's memory map on
//! Windows ([`windows`], `cfg(windows)`), a memory dump in a file, or a [`SharedBuffer`] that a
//! [`LiveWriter`] (ours, for tests, the simulator and benches) updates from another thread.
//!
//! Reading a row ([`LiveReader::read_row`]):
//! 1. check the status bit (`irsdk_stConnected`), else [`IrsdkError::NotConnected`];
//! 2. pick the newest of the `numBuf` rotating buffers: the highest `tickCount`;
//! 3. copy its `bufLen` bytes out, then re-read that buffer's `tickCount`; if it changed, the
//!    writer touched the buffer during the copy (a torn read): retry, up to a limit.
//!
//! The session info is re-parsed only when `sessionInfoUpdate` changes.
//!
//! Memory access: a region shared with a writer in this process is read and written with
//! atomic operations only (word-sized where aligned, bytes at the edges, the same chunking on
//! both sides) plus acquire/release fences, i.e. a seqlock; memory written by another process
//! (iRacing) is read with volatile loads.

use crate::error::{IrsdkError, Result};
use crate::header::{HEADER_LEN, Header, MAX_BUFS, STATUS_CONNECTED, VarBuf};
use crate::layout::{BufferCheck, Layout, validate_header};
use crate::session::SessionInfo;
use crate::var::{VAR_HEADER_LEN, VarHeader, latin1};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicU64, Ordering, fence};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backing {
    /// In-process memory shared with a writer thread: atomics only.
    Atomic,
    /// Foreign memory (another process, a read-only map): volatile loads.
    Volatile,
}

/// A shared memory region (pointer + length) that may be written concurrently by someone else.
#[derive(Debug, Clone, Copy)]
pub struct SharedMem<'a> {
    ptr: *const u8,
    len: usize,
    backing: Backing,
    _life: PhantomData<&'a [u8]>,
}

// SAFETY: the region is only accessed through atomic or volatile operations (like `&[AtomicU8]`).
unsafe impl Send for SharedMem<'_> {}
unsafe impl Sync for SharedMem<'_> {}

impl<'a> SharedMem<'a> {
    /// Memory nobody writes while it is borrowed (a dump read into memory or mapped).
    pub fn from_bytes(bytes: &'a [u8]) -> SharedMem<'a> {
        SharedMem { ptr: bytes.as_ptr(), len: bytes.len(), backing: Backing::Volatile, _life: PhantomData }
    }

    /// Memory shared with writers in this process.
    pub fn from_atomic(words: &'a [AtomicU64]) -> SharedMem<'a> {
        SharedMem {
            ptr: words.as_ptr().cast(),
            len: std::mem::size_of_val(words),
            backing: Backing::Atomic,
            _life: PhantomData,
        }
    }

    /// A region written by another process (iRacing's memory map).
    ///
    /// # Safety
    /// `ptr..ptr+len` must stay mapped and readable for `'a`. Other processes may write it.
    pub unsafe fn from_raw(ptr: *const u8, len: usize) -> SharedMem<'a> {
        SharedMem { ptr, len, backing: Backing::Volatile, _life: PhantomData }
    }

    /// A region this process writes with [`LiveWriter`] and other processes read (the memory
    /// map `pitbox sim --serve-iracing` publishes).
    ///
    /// # Safety
    /// `ptr..ptr+len` must stay mapped, readable and writable for `'a`, `ptr` must be 8-aligned
    /// (a mapped view is page-aligned), and in this process it must only be accessed through
    /// this `SharedMem` (atomics).
    pub unsafe fn from_raw_writable(ptr: *mut u8, len: usize) -> SharedMem<'a> {
        SharedMem { ptr, len, backing: Backing::Atomic, _life: PhantomData }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty region.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn in_bounds(&self, off: usize, n: usize) -> bool {
        off.checked_add(n).is_some_and(|end| end <= self.len)
    }

    /// An `i32` at `off`, read with acquire ordering where the region is shared in-process.
    pub fn read_i32(&self, off: usize) -> Option<i32> {
        if !self.in_bounds(off, 4) {
            return None;
        }
        // SAFETY: in bounds (checked above); the region is valid for 'a.
        unsafe {
            let p = self.ptr.add(off);
            if p.align_offset(4) == 0 {
                return Some(match self.backing {
                    Backing::Atomic => AtomicI32::from_ptr(p as *mut i32).load(Ordering::Acquire),
                    Backing::Volatile => {
                        let v = std::ptr::read_volatile(p as *const i32);
                        fence(Ordering::Acquire);
                        i32::from_le(v)
                    }
                });
            }
            let mut b = [0u8; 4];
            self.copy_raw(off, &mut b);
            fence(Ordering::Acquire);
            Some(i32::from_le_bytes(b))
        }
    }

    /// Copies `dst.len()` bytes from `off`; `false` (nothing copied) if out of bounds.
    pub fn copy_to(&self, off: usize, dst: &mut [u8]) -> bool {
        if !self.in_bounds(off, dst.len()) {
            return false;
        }
        // SAFETY: in bounds (checked above).
        unsafe { self.copy_raw(off, dst) };
        true
    }

    /// # Safety
    /// `off..off+dst.len()` must be in bounds.
    unsafe fn copy_raw(&self, off: usize, dst: &mut [u8]) {
        let base = unsafe { self.ptr.add(off) };
        let n = dst.len();
        let head = base.align_offset(8).min(n);
        let words = (n - head) / 8;
        for (i, d) in dst[..head].iter_mut().enumerate() {
            *d = unsafe { self.load_u8(base.add(i)) };
        }
        for w in 0..words {
            let at = head + w * 8;
            let p = unsafe { base.add(at) };
            let v = match self.backing {
                Backing::Atomic => unsafe { AtomicU64::from_ptr(p as *mut u64) }.load(Ordering::Relaxed),
                Backing::Volatile => unsafe { std::ptr::read_volatile(p as *const u64) },
            };
            dst[at..at + 8].copy_from_slice(&v.to_ne_bytes());
        }
        for (i, d) in dst.iter_mut().enumerate().skip(head + words * 8) {
            *d = unsafe { self.load_u8(base.add(i)) };
        }
    }

    unsafe fn load_u8(&self, p: *const u8) -> u8 {
        match self.backing {
            Backing::Atomic => unsafe { AtomicU8::from_ptr(p as *mut u8) }.load(Ordering::Relaxed),
            Backing::Volatile => unsafe { std::ptr::read_volatile(p) },
        }
    }

    /// Stores bytes with the same chunking as [`SharedMem::copy_to`] (atomic regions only).
    fn store(&self, off: usize, src: &[u8]) -> bool {
        if self.backing != Backing::Atomic || !self.in_bounds(off, src.len()) {
            return false;
        }
        // SAFETY: in bounds; atomic regions come from `&[AtomicU64]`, which allows writes
        // through atomics of any size at aligned addresses.
        unsafe {
            let base = self.ptr.add(off) as *mut u8;
            let n = src.len();
            let head = base.align_offset(8).min(n);
            let words = (n - head) / 8;
            for (i, &b) in src[..head].iter().enumerate() {
                AtomicU8::from_ptr(base.add(i)).store(b, Ordering::Relaxed);
            }
            for w in 0..words {
                let at = head + w * 8;
                let mut a = [0u8; 8];
                a.copy_from_slice(&src[at..at + 8]);
                AtomicU64::from_ptr(base.add(at) as *mut u64).store(u64::from_ne_bytes(a), Ordering::Relaxed);
            }
            for (i, &b) in src.iter().enumerate().skip(head + words * 8) {
                AtomicU8::from_ptr(base.add(i)).store(b, Ordering::Relaxed);
            }
        }
        true
    }

    /// Stores an `i32` at a 4-aligned `off` with `order` (atomic regions only).
    fn store_i32(&self, off: usize, v: i32, order: Ordering) -> bool {
        if self.backing != Backing::Atomic || !self.in_bounds(off, 4) {
            return false;
        }
        // SAFETY: in bounds; alignment checked.
        unsafe {
            let p = self.ptr.add(off) as *mut i32;
            if p.align_offset(4) != 0 {
                return false;
            }
            AtomicI32::from_ptr(p).store(v.to_le(), order);
        }
        true
    }

    fn header(&self) -> Result<Header> {
        let mut b = [0u8; HEADER_LEN];
        if !self.copy_to(0, &mut b) {
            return Err(IrsdkError::TooShort {
                what: "irsdk_header (live memory)",
                offset: 0,
                needed: HEADER_LEN,
                len: self.len,
            });
        }
        Header::parse(&b)
    }
}

/// Offset of `varBuf[i].tickCount` in the header.
const fn tick_off(i: usize) -> usize {
    48 + i * 16
}

/// What [`LiveReader::poll`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// A new row was copied; `session_changed` when the session info was re-parsed.
    NewRow { tick: i32, session_changed: bool },
    /// The newest tick is the one already read.
    Unchanged,
    /// The status bit is clear: the sim is gone.
    Disconnected,
}

/// Counters of the reader's work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    pub rows: u64,
    /// Copies thrown away because the tick changed while copying.
    pub torn_retries: u64,
    pub session_parses: u64,
}

/// Reads rows and session info from live memory.
pub struct LiveReader<'a> {
    mem: SharedMem<'a>,
    layout: Layout,
    row: Vec<u8>,
    tick: Option<i32>,
    buffer: usize,
    session_update: i32,
    session_text: String,
    session: Option<SessionInfo>,
    /// Copy attempts before giving up with [`IrsdkError::TornRead`].
    pub max_attempts: u32,
    stats: LiveStats,
}

/// Copies of the session info tried at connection while its update counter keeps moving.
const SESSION_COPY_ATTEMPTS: u32 = 4;

impl<'a> LiveReader<'a> {
    /// Connects: reads and validates the header and variable headers, parses the session info.
    pub fn new(mem: SharedMem<'a>) -> Result<LiveReader<'a>> {
        let (layout, update, text) = Self::load(&mem)?;
        let mut r = LiveReader {
            row: vec![0; layout.buf_len()],
            mem,
            layout,
            tick: None,
            buffer: 0,
            session_update: update,
            session_text: String::new(),
            session: None,
            max_attempts: 8,
            stats: LiveStats::default(),
        };
        r.set_session(text);
        Ok(r)
    }

    fn load(mem: &SharedMem<'_>) -> Result<(Layout, i32, String)> {
        let h = mem.header()?;
        validate_header(&h, mem.len(), BufferCheck::Live)?;
        if h.status & STATUS_CONNECTED == 0 {
            return Err(IrsdkError::NotConnected(format!("status = {} (connected bit clear)", h.status)));
        }
        let mut vars = vec![0u8; h.num_vars as usize * VAR_HEADER_LEN];
        mem.copy_to(h.var_header_offset as usize, &mut vars);
        let layout = Layout::new(h, &vars, mem.len(), BufferCheck::Live)?;
        let mut si = vec![0u8; h.session_info_len as usize];
        // The YAML is taken only when its update counter did not move during the copy (a writer
        // moves it after rewriting the text); otherwise copy again, a few times at most.
        let mut update = h.session_info_update;
        for _ in 0..SESSION_COPY_ATTEMPTS {
            mem.copy_to(h.session_info_offset as usize, &mut si);
            match mem.read_i32(12) {
                Some(now) if now != update => update = now,
                _ => break,
            }
        }
        Ok((layout, update, latin1(&si)))
    }

    fn set_session(&mut self, text: String) {
        self.stats.session_parses += 1;
        self.session = SessionInfo::parse(&text).ok();
        self.session_text = text;
    }

    /// Variables and header as read at connection.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Whether the status bit says the sim is connected, now.
    pub fn is_connected(&self) -> bool {
        self.mem.read_i32(4).is_some_and(|s| s & STATUS_CONNECTED != 0)
    }

    /// The last row copied.
    pub fn row(&self) -> &[u8] {
        &self.row
    }

    /// Tick of the last row copied.
    pub fn tick(&self) -> Option<i32> {
        self.tick
    }

    /// Buffer slot the last row was copied from.
    pub fn buffer_index(&self) -> usize {
        self.buffer
    }

    /// The parsed session info (`None` if the text could not be parsed).
    pub fn session_info(&self) -> Option<&SessionInfo> {
        self.session.as_ref()
    }

    /// The session-info text.
    pub fn session_text(&self) -> &str {
        &self.session_text
    }

    pub fn stats(&self) -> LiveStats {
        self.stats
    }

    /// Re-reads the session info if `sessionInfoUpdate` changed; returns whether it did.
    pub fn check_session_update(&mut self) -> Result<bool> {
        let upd = self.mem.read_i32(12).unwrap_or(self.session_update);
        if upd == self.session_update {
            return Ok(false);
        }
        let len = self.mem.read_i32(16).unwrap_or(0);
        let off = self.mem.read_i32(20).unwrap_or(0);
        if len < 0 || off < 0 || !self.mem.in_bounds(off as usize, len as usize) {
            return Err(IrsdkError::OutOfBounds {
                what: "session info (live)".into(),
                offset: off.into(),
                length: len.into(),
                end: i64::from(off) + i64::from(len),
                len: self.mem.len(),
            });
        }
        let mut si = vec![0u8; len as usize];
        self.mem.copy_to(off as usize, &mut si);
        // Re-read the counter: if it moved during the copy, take the text next time.
        if self.mem.read_i32(12) != Some(upd) {
            return Ok(false);
        }
        self.session_update = upd;
        self.set_session(latin1(&si));
        Ok(true)
    }

    /// Copies the newest row (retrying torn copies) and returns it.
    pub fn read_row(&mut self) -> Result<&[u8]> {
        for _ in 0..self.max_attempts.max(1) {
            let status = self.mem.read_i32(4).unwrap_or(0);
            if status & STATUS_CONNECTED == 0 {
                return Err(IrsdkError::NotConnected(format!("status = {status}")));
            }
            let num_buf = self.mem.read_i32(32).unwrap_or(0);
            let buf_len = self.mem.read_i32(36).unwrap_or(0);
            let h = self.layout.header();
            if num_buf != h.num_buf || buf_len != h.buf_len {
                // The sim re-laid out its memory (new session): reconnect.
                let (layout, update, text) = Self::load(&self.mem)?;
                self.row = vec![0; layout.buf_len()];
                self.layout = layout;
                self.session_update = update;
                self.set_session(text);
                continue;
            }
            let n = (num_buf.clamp(1, MAX_BUFS as i32)) as usize;
            let mut best: Option<(usize, i32)> = None;
            for i in 0..n {
                let t = self.mem.read_i32(tick_off(i)).unwrap_or(i32::MIN);
                if best.is_none_or(|(_, bt)| t > bt) {
                    best = Some((i, t));
                }
            }
            let Some((i, tick)) = best else { continue };
            if tick < 0 {
                // A writer marks the buffer it is filling with a negative tick.
                self.stats.torn_retries += 1;
                std::hint::spin_loop();
                continue;
            }
            let off = self.mem.read_i32(tick_off(i) + 4).unwrap_or(-1);
            if off < 0 || !self.mem.copy_to(off as usize, &mut self.row) {
                return Err(IrsdkError::OutOfBounds {
                    what: format!("row buffer varBuf[{i}] (live)"),
                    offset: off.into(),
                    length: buf_len.into(),
                    end: i64::from(off) + i64::from(buf_len),
                    len: self.mem.len(),
                });
            }
            fence(Ordering::Acquire);
            if self.mem.read_i32(tick_off(i)) == Some(tick) {
                self.tick = Some(tick);
                self.buffer = i;
                self.stats.rows += 1;
                return Ok(&self.row);
            }
            self.stats.torn_retries += 1;
        }
        Err(IrsdkError::TornRead { attempts: self.max_attempts.max(1) })
    }

    /// One step of a polling loop: disconnected, unchanged, or a new row (and session update).
    pub fn poll(&mut self) -> Result<Poll> {
        if !self.is_connected() {
            return Ok(Poll::Disconnected);
        }
        let session_changed = self.check_session_update()?;
        let newest = self.mem.header().ok().and_then(|h| h.latest_buf().map(|i| h.var_buf[i].tick_count));
        if newest.is_some() && newest == self.tick && !session_changed {
            return Ok(Poll::Unchanged);
        }
        match self.read_row() {
            Ok(_) => Ok(Poll::NewRow { tick: self.tick.unwrap_or(0), session_changed }),
            Err(IrsdkError::NotConnected(_)) => Ok(Poll::Disconnected),
            Err(e) => Err(e),
        }
    }
}

/// Owned, 8-aligned memory to share between a [`LiveWriter`] and readers in this process.
pub struct SharedBuffer {
    words: Box<[AtomicU64]>,
}

impl SharedBuffer {
    /// A zeroed buffer of at least `len` bytes.
    pub fn new(len: usize) -> SharedBuffer {
        SharedBuffer { words: (0..len.div_ceil(8)).map(|_| AtomicU64::new(0)).collect() }
    }

    /// The region, for readers and writers.
    pub fn mem(&self) -> SharedMem<'_> {
        SharedMem::from_atomic(&self.words)
    }
}

/// Writes live memory like iRacing does: header, session info, variable headers and `numBuf`
/// rotating row buffers, each new row going into the oldest buffer.
pub struct LiveWriter<'a> {
    mem: SharedMem<'a>,
    header: Header,
    next_tick: i32,
}

/// Bytes a live region needs for this layout (see [`LiveWriter::new`]).
pub fn live_region_len(num_vars: usize, buf_len: usize, session_capacity: usize, num_buf: usize) -> usize {
    let vh = (HEADER_LEN + session_capacity).next_multiple_of(16);
    let bufs = (vh + num_vars * VAR_HEADER_LEN).next_multiple_of(16);
    bufs + num_buf * buf_len.next_multiple_of(16)
}

impl<'a> LiveWriter<'a> {
    /// Lays out `buf` (size from [`live_region_len`]) with these variables, `session_capacity`
    /// bytes for the session info, and `num_buf` (1–4) buffers; sets the connected bit.
    pub fn new(
        buf: &'a SharedBuffer,
        vars: &[VarHeader],
        buf_len: usize,
        tick_rate: i32,
        session_capacity: usize,
        num_buf: usize,
    ) -> Result<LiveWriter<'a>> {
        LiveWriter::over(buf.mem(), vars, buf_len, tick_rate, session_capacity, num_buf)
    }

    /// Like [`LiveWriter::new`] over any writable region (e.g. a Windows file mapping made with
    /// [`SharedMem::from_raw_writable`]); a read-only region is an error.
    pub fn over(
        mem: SharedMem<'a>,
        vars: &[VarHeader],
        buf_len: usize,
        tick_rate: i32,
        session_capacity: usize,
        num_buf: usize,
    ) -> Result<LiveWriter<'a>> {
        if mem.backing != Backing::Atomic || mem.ptr.align_offset(8) != 0 {
            return Err(IrsdkError::Write("live region must be writable and 8-aligned".into()));
        }
        let need = live_region_len(vars.len(), buf_len, session_capacity, num_buf);
        let w = |m: &str| IrsdkError::Write(m.to_string());
        if mem.len() < need {
            return Err(w(&format!("live region needs {need} bytes, has {}", mem.len())));
        }
        if !(1..=MAX_BUFS).contains(&num_buf) {
            return Err(w("numBuf must be 1..=4"));
        }
        let fits = |v: usize| i32::try_from(v).map_err(|_| w("layout does not fit i32 offsets"));
        let vh = (HEADER_LEN + session_capacity).next_multiple_of(16);
        let b0 = (vh + vars.len() * VAR_HEADER_LEN).next_multiple_of(16);
        let mut header = Header {
            ver: 2,
            status: STATUS_CONNECTED,
            tick_rate,
            session_info_update: 0,
            session_info_len: fits(session_capacity)?,
            session_info_offset: fits(HEADER_LEN)?,
            num_vars: fits(vars.len())?,
            var_header_offset: fits(vh)?,
            num_buf: fits(num_buf)?,
            buf_len: fits(buf_len)?,
            pad1: [0; 2],
            var_buf: [VarBuf::default(); MAX_BUFS],
        };
        for i in 0..num_buf {
            header.var_buf[i].buf_offset = fits(b0 + i * buf_len.next_multiple_of(16))?;
            header.var_buf[i].tick_count = -1;
        }
        Layout::from_vars(header, vars.to_vec())?;
        for (i, v) in vars.iter().enumerate() {
            mem.store(vh + i * VAR_HEADER_LEN, &v.to_bytes());
        }
        mem.store(0, &header.to_bytes());
        Ok(LiveWriter { mem, header, next_tick: 0 })
    }

    /// The header as laid out.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Replaces the session-info text (cut to the capacity, NUL padded) and bumps
    /// `sessionInfoUpdate`.
    pub fn set_session_info(&mut self, text: &str) {
        let cap = self.header.session_info_len as usize;
        let mut b: Vec<u8> =
            text.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).take(cap.saturating_sub(1)).collect();
        b.resize(cap, 0);
        self.mem.store(HEADER_LEN, &b);
        self.header.session_info_update = self.header.session_info_update.wrapping_add(1);
        self.mem.store_i32(12, self.header.session_info_update, Ordering::Release);
    }

    /// Sets or clears the connected bit.
    pub fn set_connected(&mut self, on: bool) {
        self.header.status = if on { STATUS_CONNECTED } else { 0 };
        self.mem.store_i32(4, self.header.status, Ordering::Release);
    }

    /// Publishes a row (exactly `bufLen` bytes) into the oldest buffer; returns its tick.
    /// Seqlock: the buffer's tick is invalidated before the data changes and set after.
    pub fn write_row(&mut self, row: &[u8]) -> Result<i32> {
        if row.len() != self.header.buf_len as usize {
            return Err(IrsdkError::Write(format!("row is {} bytes, bufLen is {}", row.len(), self.header.buf_len)));
        }
        let n = self.header.num_buf as usize;
        let slot = (0..n).min_by_key(|&i| self.header.var_buf[i].tick_count).unwrap_or(0);
        let tick = self.next_tick;
        self.next_tick = self.next_tick.wrapping_add(1) & i32::MAX;
        self.mem.store_i32(tick_off(slot), -1, Ordering::Relaxed);
        fence(Ordering::Release);
        self.mem.store(self.header.var_buf[slot].buf_offset as usize, row);
        self.mem.store_i32(tick_off(slot), tick, Ordering::Release);
        self.header.var_buf[slot].tick_count = tick;
        Ok(tick)
    }
}

/// iRacing's memory map on Windows.
#[cfg(windows)]
pub mod windows {
    use super::SharedMem;
    use crate::error::{IrsdkError, Result};
    pub use crate::serve::{DATA_VALID_EVENT_NAME, MEM_MAP_NAME};
    use windows_sys::Win32::Foundation::{
        CloseHandle, ERROR_ALREADY_EXISTS, GetLastError, HANDLE, INVALID_HANDLE_VALUE, WAIT_OBJECT_0,
    };
    use windows_sys::Win32::System::Memory::{
        CreateFileMappingW, FILE_MAP_ALL_ACCESS, FILE_MAP_READ, MEMORY_BASIC_INFORMATION, MEMORY_MAPPED_VIEW_ADDRESS,
        MapViewOfFile, OpenFileMappingW, PAGE_READWRITE, UnmapViewOfFile, VirtualQuery,
    };
    use windows_sys::Win32::System::Threading::{
        CreateEventW, OpenEventW, PulseEvent, SYNCHRONIZATION_SYNCHRONIZE, WaitForSingleObject,
    };

    fn wide(s: &str) -> Vec<u16> {
        s.encode_utf16().chain(std::iter::once(0)).collect()
    }

    /// The mapped view and the data-valid event, closed on drop.
    pub struct IracingMap {
        mapping: HANDLE,
        view: MEMORY_MAPPED_VIEW_ADDRESS,
        len: usize,
        event: HANDLE,
    }

    impl IracingMap {
        /// Opens the map read-only; `NotConnected` when iRacing is not running.
        pub fn open() -> Result<IracingMap> {
            let name = wide(MEM_MAP_NAME);
            // SAFETY: plain Win32 calls with NUL-terminated names; every handle is checked.
            unsafe {
                let mapping = OpenFileMappingW(FILE_MAP_READ, 0, name.as_ptr());
                if mapping.is_null() {
                    return Err(IrsdkError::NotConnected(format!("{MEM_MAP_NAME} not found")));
                }
                let view = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
                if view.Value.is_null() {
                    // The map exists, so iRacing runs: this is a failure, not "not connected".
                    let source = std::io::Error::last_os_error();
                    CloseHandle(mapping);
                    return Err(IrsdkError::Io { path: format!("{MEM_MAP_NAME} (MapViewOfFile)").into(), source });
                }
                let mut info: MEMORY_BASIC_INFORMATION = std::mem::zeroed();
                let got = VirtualQuery(view.Value, &mut info, std::mem::size_of::<MEMORY_BASIC_INFORMATION>());
                let len = if got == 0 { 0 } else { info.RegionSize };
                let ev_name = wide(DATA_VALID_EVENT_NAME);
                let event = OpenEventW(SYNCHRONIZATION_SYNCHRONIZE, 0, ev_name.as_ptr());
                Ok(IracingMap { mapping, view, len, event })
            }
        }

        /// The mapped region.
        pub fn mem(&self) -> SharedMem<'_> {
            // SAFETY: the view stays mapped until `self` is dropped.
            unsafe { SharedMem::from_raw(self.view.Value as *const u8, self.len) }
        }

        /// Waits up to `timeout_ms` for iRacing to signal new data; true if signalled.
        pub fn wait_for_data(&self, timeout_ms: u32) -> bool {
            if self.event.is_null() {
                std::thread::sleep(std::time::Duration::from_millis(u64::from(timeout_ms.min(16))));
                return false;
            }
            // SAFETY: a valid event handle owned by self.
            unsafe { WaitForSingleObject(self.event, timeout_ms) == WAIT_OBJECT_0 }
        }
    }

    /// The publishing side: creates iRacing's named file mapping and data-valid event, as
    /// iRacing does (`pitbox sim --serve-iracing`). Readers (PitBox, iRacing SDK tools) open
    /// them by name. Closing it (drop) after [`crate::serve::IracingImage::disconnect`] is what
    /// a reader sees when iRacing exits.
    pub struct IracingServer {
        mapping: HANDLE,
        view: MEMORY_MAPPED_VIEW_ADDRESS,
        len: usize,
        event: HANDLE,
    }

    // SAFETY: the handles and the view may be used from any thread; the view is only accessed
    // through `SharedMem` (atomics).
    unsafe impl Send for IracingServer {}
    unsafe impl Sync for IracingServer {}

    impl IracingServer {
        /// Creates the mapping (`len` bytes) and the event. An error names what failed; if
        /// another program (iRacing, another `pitbox sim --serve-iracing`) already publishes
        /// them, that is an error too, rather than writing into its memory.
        pub fn create(len: usize) -> Result<IracingServer> {
            let name = wide(MEM_MAP_NAME);
            let size = len as u64;
            // SAFETY: plain Win32 calls with NUL-terminated names; every handle is checked and
            // released on the error paths.
            unsafe {
                let mapping = CreateFileMappingW(
                    INVALID_HANDLE_VALUE,
                    std::ptr::null(),
                    PAGE_READWRITE,
                    (size >> 32) as u32,
                    size as u32,
                    name.as_ptr(),
                );
                if mapping.is_null() {
                    return Err(IrsdkError::Write(format!(
                        "cannot create {MEM_MAP_NAME}: {}",
                        std::io::Error::last_os_error()
                    )));
                }
                if GetLastError() == ERROR_ALREADY_EXISTS {
                    CloseHandle(mapping);
                    return Err(IrsdkError::Write(format!(
                        "{MEM_MAP_NAME} already exists: iRacing or another `pitbox sim --serve-iracing` is running"
                    )));
                }
                let view = MapViewOfFile(mapping, FILE_MAP_ALL_ACCESS, 0, 0, len);
                if view.Value.is_null() {
                    let e = std::io::Error::last_os_error();
                    CloseHandle(mapping);
                    return Err(IrsdkError::Write(format!("cannot map {MEM_MAP_NAME}: {e}")));
                }
                // Manual reset, initially not signalled, pulsed every tick: as iRacing does.
                let ev_name = wide(DATA_VALID_EVENT_NAME);
                let event = CreateEventW(std::ptr::null(), 1, 0, ev_name.as_ptr());
                if event.is_null() {
                    let e = std::io::Error::last_os_error();
                    UnmapViewOfFile(view);
                    CloseHandle(mapping);
                    return Err(IrsdkError::Write(format!("cannot create {DATA_VALID_EVENT_NAME}: {e}")));
                }
                Ok(IracingServer { mapping, view, len, event })
            }
        }
    }

    impl crate::serve::Publisher for IracingServer {
        fn mem(&self) -> SharedMem<'_> {
            // SAFETY: the view is mapped read-write, page-aligned and `len` bytes long until
            // `self` is dropped; this process touches it only through this SharedMem.
            unsafe { SharedMem::from_raw_writable(self.view.Value as *mut u8, self.len) }
        }

        fn signal(&self) {
            // SAFETY: a valid event handle owned by self. PulseEvent wakes every reader that
            // waits now and leaves the event reset, like iRacing's tick signal.
            unsafe {
                PulseEvent(self.event);
            }
        }
    }

    impl Drop for IracingServer {
        fn drop(&mut self) {
            // SAFETY: handles and view were obtained in `create` and are released once.
            unsafe {
                UnmapViewOfFile(self.view);
                CloseHandle(self.mapping);
                CloseHandle(self.event);
            }
        }
    }

    static STOP_REQUESTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    static STOPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    unsafe extern "system" fn console_handler(kind: u32) -> windows_sys::core::BOOL {
        use std::sync::atomic::Ordering;
        use windows_sys::Win32::System::Console::{
            CTRL_BREAK_EVENT, CTRL_C_EVENT, CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT,
        };
        match kind {
            CTRL_C_EVENT | CTRL_BREAK_EVENT => {
                STOP_REQUESTED.store(true, Ordering::Relaxed);
                1
            }
            CTRL_CLOSE_EVENT | CTRL_LOGOFF_EVENT | CTRL_SHUTDOWN_EVENT => {
                // Windows ends the process when this returns: give the loop time to clear the
                // connected bit first (Windows allows about 5 s).
                STOP_REQUESTED.store(true, Ordering::Relaxed);
                let until = std::time::Instant::now() + std::time::Duration::from_millis(4500);
                while !STOPPED.load(Ordering::Relaxed) && std::time::Instant::now() < until {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                1
            }
            _ => 0,
        }
    }

    /// Ctrl-C, Ctrl-Break, closing the console window, logging off and shutting down all set
    /// the returned flag; dropping the guard tells a waiting close handler the loop is done.
    pub struct ConsoleStop(());

    impl ConsoleStop {
        /// The flag set when a stop was asked for.
        pub fn flag(&self) -> &'static std::sync::atomic::AtomicBool {
            &STOP_REQUESTED
        }
    }

    impl Drop for ConsoleStop {
        fn drop(&mut self) {
            STOPPED.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Installs the console handler (see [`ConsoleStop`]).
    pub fn stop_on_console_close() -> Result<ConsoleStop> {
        // SAFETY: registers a handler with the signature the API wants; it touches statics only.
        let ok = unsafe { windows_sys::Win32::System::Console::SetConsoleCtrlHandler(Some(console_handler), 1) };
        if ok == 0 {
            return Err(IrsdkError::Write(format!(
                "cannot install the console handler: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(ConsoleStop(()))
    }

    impl Drop for IracingMap {
        fn drop(&mut self) {
            // SAFETY: handles and view were obtained in `open` and are released once.
            unsafe {
                UnmapViewOfFile(self.view);
                CloseHandle(self.mapping);
                if !self.event.is_null() {
                    CloseHandle(self.event);
                }
            }
        }
    }
}
