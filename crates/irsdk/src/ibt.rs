//! `.ibt` telemetry files: header, disk sub-header, variable headers, session info and the
//! records, memory-mapped (or held in memory), validated once at open.
//!
//! A record count that disagrees with the file size (a file cut short by a crash, or one whose
//! header was never finalised) is not an error: the whole records present are used and the
//! discrepancy is reported in [`FileInfo::truncated`].

use crate::error::{IrsdkError, Result};
use crate::header::{DISK_HEADER_LEN, DiskHeader, HEADER_LEN, Header};
use crate::layout::{BufferCheck, Layout};
use crate::session::SessionInfo;
use crate::var::{VarHandle, VarHeader, VarValue, latin1};
use serde::Serialize;
use std::path::Path;

enum Data {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Data {
    fn bytes(&self) -> &[u8] {
        match self {
            Data::Mapped(m) => m,
            Data::Owned(v) => v,
        }
    }
}

/// How the record count in the disk header disagrees with the file size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Truncation {
    /// `sessionRecordCount` from the disk sub-header.
    pub declared_records: i64,
    /// Whole records present: `(file size - bufOffset) / bufLen`.
    pub whole_records: usize,
    /// Bytes after the last whole record (a partial record).
    pub trailing_bytes: usize,
}

/// Facts about an opened file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileInfo {
    pub bytes: usize,
    pub header: Header,
    pub disk: DiskHeader,
    /// Whole records available.
    pub records: usize,
    /// Seconds covered by the records (`records / tickRate`).
    pub duration_s: f64,
    /// Set when the record count in the disk header and the file size disagree.
    pub truncated: Option<Truncation>,
}

/// An opened `.ibt` file.
pub struct IbtFile {
    data: Data,
    layout: Layout,
    disk: DiskHeader,
    rows_start: usize,
    rows: usize,
    truncated: Option<Truncation>,
}

impl std::fmt::Debug for IbtFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IbtFile")
            .field("bytes", &self.data.bytes().len())
            .field("vars", &self.layout.vars().len())
            .field("rows", &self.rows)
            .field("truncated", &self.truncated)
            .finish()
    }
}

impl IbtFile {
    /// Opens and memory-maps `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<IbtFile> {
        let path = path.as_ref();
        let io = |source| IrsdkError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len == 0 {
            return IbtFile::from_bytes(Vec::new());
        }
        // SAFETY: the map is read-only and private to this value. Like every memory-mapped
        // reader, the file must not be truncated by another process while it is open; all
        // accesses are bounds-checked against the length captured here.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        IbtFile::from_data(Data::Mapped(map))
    }

    /// Reads a file from bytes in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<IbtFile> {
        IbtFile::from_data(Data::Owned(bytes))
    }

    fn from_data(data: Data) -> Result<IbtFile> {
        let bytes = data.bytes();
        let layout = Layout::parse(bytes, BufferCheck::File)?;
        let h = *layout.header();
        let first_region = h.var_header_offset.min(h.session_info_offset);
        if (first_region as usize) < HEADER_LEN + DISK_HEADER_LEN {
            return Err(IrsdkError::BadField {
                field: "varHeaderOffset/sessionInfoOffset",
                value: first_region.into(),
                reason: format!(
                    "a disk file has its 32-byte disk sub-header at 112..144, so data must start at \
                     144 or later (numBuf = {}: a live-memory dump? use the live reader)",
                    h.num_buf
                ),
            });
        }
        let disk = DiskHeader::parse(bytes)?;
        let rows_start = h.var_buf[0].buf_offset as usize;
        let buf_len = layout.buf_len();
        let avail = bytes.len() - rows_start;
        let rows = avail / buf_len;
        let trailing = avail % buf_len;
        // A record is the values of the declared variables: records of no variable carry
        // nothing, and counting them (one per byte at bufLen = 1) only sizes work by garbage.
        if rows > 0 && layout.vars().is_empty() {
            return Err(IrsdkError::BadField {
                field: "numVars",
                value: 0,
                reason: format!("{rows} records of bufLen = {buf_len} bytes declare no variable"),
            });
        }
        let truncated = (i64::from(disk.session_record_count) != rows as i64 || trailing != 0).then_some(Truncation {
            declared_records: disk.session_record_count.into(),
            whole_records: rows,
            trailing_bytes: trailing,
        });
        Ok(IbtFile { data, layout, disk, rows_start, rows, truncated })
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        self.data.bytes()
    }

    /// Header, variables and name index.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn header(&self) -> &Header {
        self.layout.header()
    }

    pub fn disk(&self) -> &DiskHeader {
        &self.disk
    }

    pub fn vars(&self) -> &[VarHeader] {
        self.layout.vars()
    }

    /// A typed handle for the variable `name` (see [`Layout::handle`]).
    pub fn handle<T: VarValue>(&self, name: &str) -> Result<VarHandle<T>> {
        self.layout.handle(name)
    }

    /// Number of whole records.
    pub fn row_count(&self) -> usize {
        self.rows
    }

    /// Set when the record count and the file size disagree.
    pub fn truncated(&self) -> Option<Truncation> {
        self.truncated
    }

    /// Record `i` (exactly `bufLen` bytes).
    pub fn row(&self, i: usize) -> Result<&[u8]> {
        if i >= self.rows {
            return Err(IrsdkError::RowOutOfRange { index: i, rows: self.rows });
        }
        let bl = self.layout.buf_len();
        let start = self.rows_start + i * bl;
        Ok(&self.bytes()[start..start + bl])
    }

    /// All whole records, in order.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, u8> {
        let bl = self.layout.buf_len();
        let end = self.rows_start + self.rows * bl;
        self.bytes()[self.rows_start..end].chunks_exact(bl)
    }

    /// The raw session-info bytes (`sessionInfoLen` of them, NUL padding included).
    pub fn session_info_bytes(&self) -> &[u8] {
        let h = self.header();
        let start = h.session_info_offset as usize;
        &self.bytes()[start..start + h.session_info_len as usize]
    }

    /// The session-info text (latin-1 decoded, up to the first NUL).
    pub fn session_info_text(&self) -> String {
        latin1(self.session_info_bytes())
    }

    /// The parsed session info.
    pub fn session_info(&self) -> Result<SessionInfo> {
        SessionInfo::parse(&self.session_info_text())
    }

    /// Every value of a scalar variable, one per record.
    pub fn column<T: VarValue + Default>(&self, h: VarHandle<T>) -> Vec<T> {
        self.rows().map(|r| h.get(r)).collect()
    }

    /// Summary facts.
    pub fn info(&self) -> FileInfo {
        let h = *self.header();
        FileInfo {
            bytes: self.bytes().len(),
            header: h,
            disk: self.disk,
            records: self.rows,
            duration_s: self.rows as f64 / f64::from(h.tick_rate),
            truncated: self.truncated,
        }
    }
}
