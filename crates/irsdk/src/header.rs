//! The fixed-size structures: the 112-byte `irsdk_header` (with its 4 `irsdk_varBuf` slots) and
//! the 32-byte `irsdk_diskSubHeader` that follows it in `.ibt` files.
//!
//! Parsing keeps every field (padding included) so that the writer reproduces a file byte for
//! byte; validation against the size of the data lives in [`crate::layout`].

use crate::error::{IrsdkError, Result};
use serde::Serialize;

/// Size of `irsdk_header` in bytes.
pub const HEADER_LEN: usize = 112;
/// Size of `irsdk_diskSubHeader` in bytes.
pub const DISK_HEADER_LEN: usize = 32;
/// Maximum number of rotating buffers (`IRSDK_MAX_BUFS`).
pub const MAX_BUFS: usize = 4;
/// `irsdk_stConnected`, bit 0 of the header status.
pub const STATUS_CONNECTED: i32 = 1;

/// One `irsdk_varBuf` slot: where a row buffer lives and which tick it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VarBuf {
    pub tick_count: i32,
    pub buf_offset: i32,
    /// The two padding ints, kept for byte-exact rewriting.
    #[serde(skip)]
    pub pad: [i32; 2],
}

/// `irsdk_header`, all little-endian `i32`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub ver: i32,
    pub status: i32,
    pub tick_rate: i32,
    pub session_info_update: i32,
    pub session_info_len: i32,
    pub session_info_offset: i32,
    pub num_vars: i32,
    pub var_header_offset: i32,
    pub num_buf: i32,
    pub buf_len: i32,
    #[serde(skip)]
    pub pad1: [i32; 2],
    pub var_buf: [VarBuf; MAX_BUFS],
}

#[inline]
pub(crate) fn i32_at(b: &[u8], off: usize) -> i32 {
    match b.get(off..off + 4) {
        Some(s) => i32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

#[inline]
pub(crate) fn f64_at(b: &[u8], off: usize) -> f64 {
    match b.get(off..off + 8) {
        Some(s) => {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            f64::from_le_bytes(a)
        }
        None => 0.0,
    }
}

#[inline]
pub(crate) fn i64_at(b: &[u8], off: usize) -> i64 {
    match b.get(off..off + 8) {
        Some(s) => {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            i64::from_le_bytes(a)
        }
        None => 0,
    }
}

impl Header {
    /// Parses the first 112 bytes of `data` (no validation beyond the length).
    pub fn parse(data: &[u8]) -> Result<Header> {
        if data.len() < HEADER_LEN {
            return Err(IrsdkError::TooShort { what: "irsdk_header", offset: 0, needed: HEADER_LEN, len: data.len() });
        }
        let i = |n: usize| i32_at(data, n * 4);
        let mut var_buf = [VarBuf::default(); MAX_BUFS];
        for (k, vb) in var_buf.iter_mut().enumerate() {
            let base = 12 + k * 4;
            *vb = VarBuf { tick_count: i(base), buf_offset: i(base + 1), pad: [i(base + 2), i(base + 3)] };
        }
        Ok(Header {
            ver: i(0),
            status: i(1),
            tick_rate: i(2),
            session_info_update: i(3),
            session_info_len: i(4),
            session_info_offset: i(5),
            num_vars: i(6),
            var_header_offset: i(7),
            num_buf: i(8),
            buf_len: i(9),
            pad1: [i(10), i(11)],
            var_buf,
        })
    }

    /// The 112 bytes of this header.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let mut vals = vec![
            self.ver,
            self.status,
            self.tick_rate,
            self.session_info_update,
            self.session_info_len,
            self.session_info_offset,
            self.num_vars,
            self.var_header_offset,
            self.num_buf,
            self.buf_len,
            self.pad1[0],
            self.pad1[1],
        ];
        for vb in &self.var_buf {
            vals.extend_from_slice(&[vb.tick_count, vb.buf_offset, vb.pad[0], vb.pad[1]]);
        }
        for (chunk, v) in out.chunks_exact_mut(4).zip(vals) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// True when the status has the connected bit (`irsdk_stConnected`).
    pub fn is_connected(&self) -> bool {
        self.status & STATUS_CONNECTED != 0
    }

    /// The active buffer slots (`num_buf` of them, clamped to 0..=4).
    pub fn active_bufs(&self) -> &[VarBuf] {
        let n = self.num_buf.clamp(0, MAX_BUFS as i32) as usize;
        &self.var_buf[..n]
    }

    /// Index of the slot with the highest tick count (the newest row), if any.
    pub fn latest_buf(&self) -> Option<usize> {
        self.active_bufs().iter().enumerate().max_by_key(|(_, b)| b.tick_count).map(|(i, _)| i)
    }
}

/// `irsdk_diskSubHeader`, present in `.ibt` files right after the header.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskHeader {
    /// Unix time (seconds) when the session was started.
    pub session_start_date: i64,
    /// SessionTime of the first record.
    pub session_start_time: f64,
    /// SessionTime of the last record.
    pub session_end_time: f64,
    /// Number of distinct Lap values seen (not laps driven).
    pub session_lap_count: i32,
    /// Number of records iRacing says it wrote.
    pub session_record_count: i32,
}

impl DiskHeader {
    /// Parses the 32 bytes at offset 112.
    pub fn parse(data: &[u8]) -> Result<DiskHeader> {
        let end = HEADER_LEN + DISK_HEADER_LEN;
        if data.len() < end {
            return Err(IrsdkError::TooShort {
                what: "irsdk_diskSubHeader",
                offset: HEADER_LEN,
                needed: DISK_HEADER_LEN,
                len: data.len(),
            });
        }
        let b = &data[HEADER_LEN..end];
        Ok(DiskHeader {
            session_start_date: i64_at(b, 0),
            session_start_time: f64_at(b, 8),
            session_end_time: f64_at(b, 16),
            session_lap_count: i32_at(b, 24),
            session_record_count: i32_at(b, 28),
        })
    }

    /// The 32 bytes of this sub-header.
    pub fn to_bytes(&self) -> [u8; DISK_HEADER_LEN] {
        let mut out = [0u8; DISK_HEADER_LEN];
        out[0..8].copy_from_slice(&self.session_start_date.to_le_bytes());
        out[8..16].copy_from_slice(&self.session_start_time.to_le_bytes());
        out[16..24].copy_from_slice(&self.session_end_time.to_le_bytes());
        out[24..28].copy_from_slice(&self.session_lap_count.to_le_bytes());
        out[28..32].copy_from_slice(&self.session_record_count.to_le_bytes());
        out
    }
}

/// Formats Unix seconds as an ISO-8601 UTC timestamp (`2023-04-10T07:50:45+00:00`).
pub fn unix_to_iso_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00", rem / 3600, rem % 3600 / 60, rem % 60)
}

impl DiskHeader {
    /// `sessionStartDate` as ISO-8601 UTC.
    pub fn start_date_utc(&self) -> String {
        unix_to_iso_utc(self.session_start_date)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_dates() {
        assert_eq!(super::unix_to_iso_utc(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(super::unix_to_iso_utc(1_681_113_045), "2023-04-10T07:50:45+00:00");
        assert_eq!(super::unix_to_iso_utc(951_782_400), "2000-02-29T00:00:00+00:00");
    }

    use super::*;

    #[test]
    fn header_roundtrip() {
        let mut b = [0u8; HEADER_LEN];
        for (i, x) in b.iter_mut().enumerate() {
            *x = i as u8;
        }
        let h = Header::parse(&b).unwrap();
        assert_eq!(h.to_bytes(), b);
    }

    #[test]
    fn short_header_is_an_error() {
        let e = Header::parse(&[0u8; 50]).unwrap_err().to_string();
        assert!(e.contains("112 bytes"), "{e}");
    }
}
