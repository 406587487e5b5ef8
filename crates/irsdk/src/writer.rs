//! Writing `.ibt` files.
//!
//! - [`write_image`] lays out given parts exactly where their header says: reading a real file and
//!   writing its parts back reproduces it byte for byte (tested on every real file).
//! - [`IbtWriter`] writes a new file record by record (for the simulator and tests) and fills the
//!   disk sub-header (record count, start/end SessionTime, distinct laps) when finished.

use crate::error::{IrsdkError, Result};
use crate::header::{DISK_HEADER_LEN, DiskHeader, HEADER_LEN, Header, VarBuf};
use crate::ibt::IbtFile;
use crate::layout::Layout;
use crate::var::{VAR_HEADER_LEN, VarHandle, VarHeader};
use std::collections::BTreeSet;
use std::io::{Seek, SeekFrom, Write};

fn werr(msg: impl Into<String>) -> IrsdkError {
    IrsdkError::Write(msg.into())
}

/// The bytes before the first record: header, disk sub-header, var headers and session info,
/// each at the offset the header gives (gaps are zero-filled). Overlaps are an error.
pub fn write_prefix(
    header: &Header,
    disk: Option<&DiskHeader>,
    vars: &[VarHeader],
    session_info: &[u8],
) -> Result<Vec<u8>> {
    if header.num_vars as usize != vars.len() {
        return Err(werr(format!("header numVars = {} but {} var headers given", header.num_vars, vars.len())));
    }
    if header.session_info_len as usize != session_info.len() {
        return Err(werr(format!(
            "header sessionInfoLen = {} but {} bytes of session info given",
            header.session_info_len,
            session_info.len()
        )));
    }
    let rows_at = header.var_buf[0].buf_offset;
    let vh_at = header.var_header_offset;
    let si_at = header.session_info_offset;
    if rows_at < 0 || vh_at < 0 || si_at < 0 {
        return Err(werr("negative offset in header"));
    }
    let mut regions: Vec<(&str, usize, usize)> = vec![
        ("header", 0, HEADER_LEN),
        ("var headers", vh_at as usize, vh_at as usize + vars.len() * VAR_HEADER_LEN),
        ("session info", si_at as usize, si_at as usize + session_info.len()),
    ];
    if disk.is_some() {
        regions.push(("disk sub-header", HEADER_LEN, HEADER_LEN + DISK_HEADER_LEN));
    }
    let prefix_len = rows_at as usize;
    for (i, a) in regions.iter().enumerate() {
        if a.2 > prefix_len {
            return Err(werr(format!("{} ends at {} past the first record at {prefix_len}", a.0, a.2)));
        }
        for b in &regions[i + 1..] {
            if a.1 < b.2 && b.1 < a.2 {
                return Err(werr(format!("{} and {} overlap", a.0, b.0)));
            }
        }
    }
    let mut out = vec![0u8; prefix_len];
    out[..HEADER_LEN].copy_from_slice(&header.to_bytes());
    if let Some(d) = disk {
        out[HEADER_LEN..HEADER_LEN + DISK_HEADER_LEN].copy_from_slice(&d.to_bytes());
    }
    for (i, v) in vars.iter().enumerate() {
        let at = vh_at as usize + i * VAR_HEADER_LEN;
        out[at..at + VAR_HEADER_LEN].copy_from_slice(&v.to_bytes());
    }
    out[si_at as usize..si_at as usize + session_info.len()].copy_from_slice(session_info);
    Ok(out)
}

/// A whole file image from its parts; records follow the prefix back to back.
pub fn write_image<'r>(
    header: &Header,
    disk: Option<&DiskHeader>,
    vars: &[VarHeader],
    session_info: &[u8],
    rows: impl IntoIterator<Item = &'r [u8]>,
) -> Result<Vec<u8>> {
    let mut out = write_prefix(header, disk, vars, session_info)?;
    let bl = header.buf_len.max(0) as usize;
    for (i, r) in rows.into_iter().enumerate() {
        if r.len() != bl {
            return Err(werr(format!("record {i} is {} bytes, bufLen is {bl}", r.len())));
        }
        out.extend_from_slice(r);
    }
    Ok(out)
}

/// Rewrites an opened file from its parsed parts (byte-identical for files iRacing wrote).
pub fn rewrite(f: &IbtFile) -> Result<Vec<u8>> {
    write_image(f.header(), Some(f.disk()), f.vars(), f.session_info_bytes(), f.rows())
}

/// Writes a new `.ibt` file record by record.
pub struct IbtWriter<W: Write + Seek> {
    out: W,
    header: Header,
    disk: DiskHeader,
    layout: Layout,
    session_time: Option<VarHandle<f64>>,
    session_tick: Option<VarHandle<i32>>,
    lap: Option<VarHandle<i32>>,
    laps: BTreeSet<i32>,
    records: i32,
}

impl<W: Write + Seek> IbtWriter<W> {
    /// Starts a file with these variables (offsets inside a row of `buf_len` bytes), this
    /// session-info text and `start_date` (Unix seconds). The text is written latin-1 encoded
    /// (characters above U+00FF become `?`) and NUL-padded to a multiple of 4.
    pub fn new(
        mut out: W,
        vars: Vec<VarHeader>,
        buf_len: usize,
        tick_rate: i32,
        session_info: &str,
        start_date: i64,
    ) -> Result<Self> {
        let mut si: Vec<u8> = session_info.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect();
        si.push(0);
        while !si.len().is_multiple_of(4) {
            si.push(0);
        }
        let vh_at = HEADER_LEN + DISK_HEADER_LEN;
        let si_at = vh_at + vars.len() * VAR_HEADER_LEN;
        let rows_at = si_at + si.len();
        let fits = |v: usize| i32::try_from(v).map_err(|_| werr(format!("{v} does not fit an i32")));
        let mut header = Header {
            ver: 2,
            status: 1,
            tick_rate,
            session_info_update: 0,
            session_info_len: fits(si.len())?,
            session_info_offset: fits(si_at)?,
            num_vars: fits(vars.len())?,
            var_header_offset: fits(vh_at)?,
            num_buf: 1,
            buf_len: fits(buf_len)?,
            pad1: [0; 2],
            var_buf: [VarBuf::default(); 4],
        };
        header.var_buf[0].buf_offset = fits(rows_at)?;
        crate::layout::validate_header(&header, rows_at, crate::layout::BufferCheck::File)?;
        let disk = DiskHeader { session_start_date: start_date, ..DiskHeader::default() };
        let prefix = write_prefix(&header, Some(&disk), &vars, &si)?;
        let layout = Layout::from_vars(header, vars)?;
        out.write_all(&prefix).map_err(|e| werr(e.to_string()))?;
        Ok(IbtWriter {
            session_time: layout.optional("SessionTime").ok().flatten(),
            session_tick: layout.optional("SessionTick").ok().flatten(),
            lap: layout.optional("Lap").ok().flatten(),
            out,
            header,
            disk,
            layout,
            laps: BTreeSet::new(),
            records: 0,
        })
    }

    /// The layout of the rows being written (to get handles for building rows).
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// A zeroed row of the right length.
    pub fn blank_row(&self) -> Vec<u8> {
        vec![0u8; self.layout.buf_len()]
    }

    /// Appends one record (exactly `bufLen` bytes).
    pub fn write_row(&mut self, row: &[u8]) -> Result<()> {
        if row.len() != self.layout.buf_len() {
            return Err(werr(format!("record is {} bytes, bufLen is {}", row.len(), self.layout.buf_len())));
        }
        if let Some(h) = self.session_time {
            let t = h.get(row);
            if self.records == 0 {
                self.disk.session_start_time = t;
            }
            self.disk.session_end_time = t;
        }
        if let Some(h) = self.session_tick {
            self.header.var_buf[0].tick_count = h.get(row);
        }
        if let Some(h) = self.lap {
            self.laps.insert(h.get(row));
        }
        self.out.write_all(row).map_err(|e| werr(e.to_string()))?;
        self.records = self.records.checked_add(1).ok_or_else(|| werr("more than i32::MAX records"))?;
        Ok(())
    }

    /// Fills in the disk sub-header and returns the output.
    pub fn finish(mut self) -> Result<W> {
        self.disk.session_record_count = self.records;
        self.disk.session_lap_count = self.laps.len() as i32;
        let e = |e: std::io::Error| werr(e.to_string());
        self.out.seek(SeekFrom::Start(0)).map_err(e)?;
        self.out.write_all(&self.header.to_bytes()).map_err(e)?;
        self.out.write_all(&self.disk.to_bytes()).map_err(e)?;
        self.out.seek(SeekFrom::End(0)).map_err(e)?;
        self.out.flush().map_err(e)?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::var::VarType;

    #[test]
    fn new_file_reads_back() {
        let vars = vec![
            VarHeader::new("SessionTime", VarType::Double, 0, 1, false, "Seconds since session start", "s"),
            VarHeader::new("SessionTick", VarType::Int, 8, 1, false, "", ""),
            VarHeader::new("Lap", VarType::Int, 12, 1, false, "", ""),
            VarHeader::new("Speed", VarType::Float, 16, 1, false, "", "m/s"),
            VarHeader::new("OnPitRoad", VarType::Bool, 20, 1, false, "", ""),
            VarHeader::new("CarIdxLap", VarType::Int, 21, 4, false, "", ""),
        ];
        let text = "---\nWeekendInfo:\n TrackName: Zoë's ring\n";
        let mut w = IbtWriter::new(std::io::Cursor::new(Vec::new()), vars, 37, 60, text, 1_700_000_000).unwrap();
        let l = w.layout().clone();
        let (t, tick, lap, sp, pit, cl) = (
            l.handle::<f64>("SessionTime").unwrap(),
            l.handle::<i32>("SessionTick").unwrap(),
            l.handle::<i32>("Lap").unwrap(),
            l.handle::<f32>("Speed").unwrap(),
            l.handle::<bool>("OnPitRoad").unwrap(),
            l.handle::<i32>("CarIdxLap").unwrap(),
        );
        for i in 0..10 {
            let mut r = w.blank_row();
            t.set(&mut r, 100.0 + f64::from(i) / 60.0);
            tick.set(&mut r, 500 + i);
            lap.set(&mut r, 3 + i / 5);
            sp.set(&mut r, i as f32 * 1.5);
            pit.set(&mut r, i % 2 == 0);
            assert!(cl.set_at(&mut r, 3, -i));
            assert!(!cl.set_at(&mut r, 4, 0));
            w.write_row(&r).unwrap();
        }
        let bytes = w.finish().unwrap().into_inner();
        let f = IbtFile::from_bytes(bytes.clone()).unwrap();
        assert_eq!(f.row_count(), 10);
        assert!(f.truncated().is_none());
        assert_eq!(f.disk().session_lap_count, 2);
        assert_eq!(f.disk().session_start_time, 100.0);
        assert_eq!(f.header().var_buf[0].tick_count, 509);
        assert_eq!(sp.get(f.row(4).unwrap()), 6.0);
        assert!(pit.get(f.row(4).unwrap()));
        assert_eq!(cl.to_vec(f.row(9).unwrap()), vec![0, 0, 0, -9]);
        assert_eq!(f.session_info().unwrap().weekend.track_name.as_deref(), Some("Zoë's ring"));
        assert_eq!(rewrite(&f).unwrap(), bytes);
    }
}
