//! The portable core shared by files and live memory: a validated header plus the variable
//! headers and a name index. Every offset and length read from the data is checked against the
//! size of the data before anything is sliced.

use crate::error::{IrsdkError, Result};
use crate::header::{HEADER_LEN, Header};
use crate::var::{VAR_HEADER_LEN, VarHandle, VarHeader, VarValue, handle_for};
use std::collections::HashMap;

/// Highest header version accepted (1 = older files, 2 = current).
pub const MAX_VERSION: i32 = 2;
/// Sanity limit on the number of variables.
pub const MAX_VARS: i32 = 10_000;
/// Sanity limit on a row length (16 MiB).
pub const MAX_BUF_LEN: i32 = 1 << 24;
/// Sanity limit on the tick rate.
pub const MAX_TICK_RATE: i32 = 10_000;

/// Where the row buffers must fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferCheck {
    /// A file: rows start at `varBuf[0].bufOffset` and run to the end of the data (maybe none).
    File,
    /// Live memory: each of the `numBuf` buffers must fit entirely.
    Live,
}

fn bad(field: &'static str, value: i64, reason: impl Into<String>) -> IrsdkError {
    IrsdkError::BadField { field, value, reason: reason.into() }
}

fn region(what: impl Into<String>, offset: i32, length: i64, len: usize) -> Result<(usize, usize)> {
    let end = offset as i64 + length;
    if offset < 0 || length < 0 || end > len as i64 {
        return Err(IrsdkError::OutOfBounds { what: what.into(), offset: offset as i64, length, end, len });
    }
    Ok((offset as usize, end as usize))
}

/// Validates the header fields against a data length of `len` bytes.
pub fn validate_header(h: &Header, len: usize, check: BufferCheck) -> Result<()> {
    if !(1..=MAX_VERSION).contains(&h.ver) {
        return Err(bad("ver", h.ver.into(), format!("expected 1..={MAX_VERSION} (not an iRacing telemetry file?)")));
    }
    if !(1..=MAX_TICK_RATE).contains(&h.tick_rate) {
        return Err(bad("tickRate", h.tick_rate.into(), format!("expected 1..={MAX_TICK_RATE}")));
    }
    if !(0..=MAX_VARS).contains(&h.num_vars) {
        return Err(bad("numVars", h.num_vars.into(), format!("expected 0..={MAX_VARS}")));
    }
    if !(1..=crate::header::MAX_BUFS as i32).contains(&h.num_buf) {
        return Err(bad("numBuf", h.num_buf.into(), "expected 1..=4"));
    }
    if !(1..=MAX_BUF_LEN).contains(&h.buf_len) {
        return Err(bad("bufLen", h.buf_len.into(), format!("expected 1..={MAX_BUF_LEN}")));
    }
    region(
        format!("var headers ({} x {VAR_HEADER_LEN} bytes)", h.num_vars),
        h.var_header_offset,
        h.num_vars as i64 * VAR_HEADER_LEN as i64,
        len,
    )?;
    region("session info", h.session_info_offset, h.session_info_len.into(), len)?;
    match check {
        BufferCheck::File => {
            let b = h.var_buf[0];
            if b.buf_offset < HEADER_LEN as i32 || b.buf_offset as i64 > len as i64 {
                return Err(IrsdkError::OutOfBounds {
                    what: "varBuf[0].bufOffset (start of records)".into(),
                    offset: b.buf_offset.into(),
                    length: 0,
                    end: b.buf_offset.into(),
                    len,
                });
            }
        }
        BufferCheck::Live => {
            for (i, b) in h.active_bufs().iter().enumerate() {
                region(format!("row buffer varBuf[{i}]"), b.buf_offset, h.buf_len.into(), len)?;
            }
        }
    }
    Ok(())
}

/// A validated header with its variables, looked up by name through a hash index.
#[derive(Debug, Clone)]
pub struct Layout {
    header: Header,
    vars: Vec<VarHeader>,
    index: HashMap<String, usize>,
}

impl Layout {
    /// Validates `header` against `len` bytes of data and parses the `numVars` headers in
    /// `var_bytes` (the bytes at `varHeaderOffset`).
    pub fn new(header: Header, var_bytes: &[u8], len: usize, check: BufferCheck) -> Result<Layout> {
        validate_header(&header, len, check)?;
        let n = header.num_vars as usize;
        if var_bytes.len() < n * VAR_HEADER_LEN {
            return Err(IrsdkError::TooShort {
                what: "var headers",
                offset: header.var_header_offset as usize,
                needed: n * VAR_HEADER_LEN,
                len: var_bytes.len(),
            });
        }
        let buf_len = header.buf_len as usize;
        let mut vars = Vec::with_capacity(n);
        let mut index = HashMap::with_capacity(n);
        for (i, chunk) in var_bytes.chunks_exact(VAR_HEADER_LEN).take(n).enumerate() {
            let v = VarHeader::parse(chunk, i, buf_len)?;
            index.entry(v.name.clone()).or_insert(i);
            vars.push(v);
        }
        Ok(Layout { header, vars, index })
    }

    /// Parses a whole SDK image (file or memory dump) held in `data`.
    pub fn parse(data: &[u8], check: BufferCheck) -> Result<Layout> {
        let header = Header::parse(data)?;
        validate_header(&header, data.len(), check)?;
        let start = header.var_header_offset as usize;
        let end = start + header.num_vars as usize * VAR_HEADER_LEN;
        Layout::new(header, &data[start..end], data.len(), check)
    }

    /// Builds a layout from parts (for writers), validating the variables against `bufLen`.
    pub fn from_vars(header: Header, vars: Vec<VarHeader>) -> Result<Layout> {
        let buf_len = header.buf_len.max(0) as usize;
        let mut index = HashMap::with_capacity(vars.len());
        for (i, v) in vars.iter().enumerate() {
            if v.offset + v.byte_len() > buf_len {
                return Err(IrsdkError::BadVar {
                    index: i,
                    name: v.name.clone(),
                    reason: format!("ends at {}, past the row length bufLen = {buf_len}", v.offset + v.byte_len()),
                });
            }
            index.entry(v.name.clone()).or_insert(i);
        }
        Ok(Layout { header, vars, index })
    }

    /// The header as read.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// All variable headers, in file order.
    pub fn vars(&self) -> &[VarHeader] {
        &self.vars
    }

    /// Row length in bytes.
    pub fn buf_len(&self) -> usize {
        self.header.buf_len as usize
    }

    /// Index of the variable called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The header of the variable called `name`.
    pub fn var(&self, name: &str) -> Option<&VarHeader> {
        self.index_of(name).and_then(|i| self.vars.get(i))
    }

    /// A typed handle for `name`, checking that the SDK type fits `T`.
    pub fn handle<T: VarValue>(&self, name: &str) -> Result<VarHandle<T>> {
        let i = self.index_of(name).ok_or_else(|| IrsdkError::NoSuchVar(name.to_string()))?;
        handle_for(&self.vars[i], i)
    }

    /// Like [`Layout::handle`], `None` when the variable does not exist (optional channels),
    /// still an error when it exists with another type.
    pub fn optional<T: VarValue>(&self, name: &str) -> Result<Option<VarHandle<T>>> {
        match self.index_of(name) {
            None => Ok(None),
            Some(i) => handle_for(&self.vars[i], i).map(Some),
        }
    }
}
