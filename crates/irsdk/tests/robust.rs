//! Truncated and corrupted inputs give a precise error or a valid result: never a panic, never an
//! out-of-bounds read. Real files when present, a synthetic file always.

mod common;

use pitbox_irsdk::laps::{LapColumns, laps};
use pitbox_irsdk::live::{LiveReader, SharedMem};
use pitbox_irsdk::writer::IbtWriter;
use pitbox_irsdk::{IbtFile, VarHeader, VarType};
use proptest::prelude::*;
use std::sync::OnceLock;

/// A small synthetic file written by our writer (used whether or not real data is present).
fn synthetic() -> &'static Vec<u8> {
    static S: OnceLock<Vec<u8>> = OnceLock::new();
    S.get_or_init(|| {
        let vars = vec![
            VarHeader::new("SessionTime", VarType::Double, 0, 1, false, "", "s"),
            VarHeader::new("Lap", VarType::Int, 8, 1, false, "", ""),
            VarHeader::new("LapDistPct", VarType::Float, 12, 1, false, "", "%"),
            VarHeader::new("OnPitRoad", VarType::Bool, 16, 1, false, "", ""),
            VarHeader::new("Flags", VarType::BitField, 17, 1, false, "", ""),
            VarHeader::new("C", VarType::Char, 21, 3, false, "", ""),
        ];
        let text = "WeekendInfo:\n TrackName: x: y\nDriverInfo:\n Drivers:\n - CarIdx: 0\n   UserName: a#b\n";
        let mut w = IbtWriter::new(std::io::Cursor::new(Vec::new()), vars, 24, 60, text, 0).unwrap();
        let l = w.layout().clone();
        let (t, lap, pct) = (
            l.handle::<f64>("SessionTime").unwrap(),
            l.handle::<i32>("Lap").unwrap(),
            l.handle::<f32>("LapDistPct").unwrap(),
        );
        for i in 0..200 {
            let mut r = w.blank_row();
            t.set(&mut r, f64::from(i) / 60.0);
            lap.set(&mut r, i / 50);
            pct.set(&mut r, (i % 50) as f32 / 50.0);
            w.write_row(&r).unwrap();
        }
        w.finish().unwrap().into_inner()
    })
}

fn real(name: &str) -> Option<&'static Vec<u8>> {
    static FILES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    let files = FILES.get_or_init(|| {
        let Some(dir) = common::ibt_dir() else { return Vec::new() };
        ["teamjorge__ibt__valid_test_file.ibt", "teamjorge__ibt__live_test_file.ibt", "gmartsenkov__itelem__amg.ibt"]
            .iter()
            .filter_map(|n| std::fs::read(dir.join(n)).ok().map(|b| (n.to_string(), b)))
            .collect()
    });
    files.iter().find(|(n, _)| n == name).map(|(_, b)| b)
}

/// Everything a user of a file can do; must not panic.
fn exercise_file(bytes: Vec<u8>) {
    let Ok(f) = IbtFile::from_bytes(bytes) else { return };
    let mut acc = 0f64;
    for row in f.rows() {
        for v in f.vars() {
            for i in 0..v.count {
                acc += v.value(row, i).map_or(0.0, |x| x.as_f64());
            }
        }
    }
    std::hint::black_box(acc);
    let _ = f.session_info();
    if let Ok(c) = LapColumns::from_file(&f) {
        let _ = laps(&c);
    }
    let _ = pitbox_irsdk::writer::rewrite(&f);
    let _ = f.row(f.row_count());
}

fn exercise_live(bytes: &[u8]) {
    let Ok(mut r) = LiveReader::new(SharedMem::from_bytes(bytes)) else { return };
    if let Ok(row) = r.read_row() {
        let row = row.to_vec();
        for v in r.layout().vars() {
            for i in 0..v.count {
                std::hint::black_box(v.value(&row, i));
            }
        }
    }
    let _ = r.poll();
}

fn mutate(base: &[u8], flips: &[(usize, u8)], cut: Option<usize>, hot: usize) -> Vec<u8> {
    let mut b = base.to_vec();
    for &(pos, val) in flips {
        // Half the flips land in the header/var-header/session region, where they matter most.
        let p = if pos % 2 == 0 { pos % hot.max(1) } else { pos % b.len().max(1) };
        if let Some(x) = b.get_mut(p) {
            *x ^= val.max(1);
        }
    }
    if let Some(c) = cut {
        b.truncate(c % (b.len() + 1));
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn synthetic_truncated_or_flipped(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6), cut in proptest::option::of(any::<usize>())) {
        let base = synthetic();
        let b = mutate(base, &flips, cut, 1200);
        exercise_file(b.clone());
        exercise_live(&b);
    }

    #[test]
    fn real_file_truncated_or_flipped(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6), cut in proptest::option::of(any::<usize>())) {
        if let Some(base) = real("teamjorge__ibt__valid_test_file.ibt") {
            exercise_file(mutate(base, &flips, cut, 54_000));
        }
    }

    #[test]
    fn live_dump_truncated_or_flipped(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6), cut in proptest::option::of(any::<usize>())) {
        if let Some(base) = real("teamjorge__ibt__live_test_file.ibt") {
            // The hot region of the dump is the header and the var headers at 524400.
            let mut b = mutate(base, &flips, None, 112);
            for &(pos, val) in &flips {
                let p = 524_400 + pos % (323 * 144);
                b[p] ^= val.max(1);
            }
            if let Some(c) = cut { b.truncate(c % (b.len() + 1)); }
            exercise_live(&b);
        }
    }

    #[test]
    fn yaml_never_panics(s in "(?s)[ -~\n\t'\"#@:\\-\\[\\]{}|>&*!%`äöü]{0,400}") {
        let _ = pitbox_irsdk::SessionInfo::parse(&s);
    }

    #[test]
    fn yaml_lines_never_panic(lines in proptest::collection::vec(("[ ]{0,6}", "(- )?", "[A-Za-z]{1,6}", "(: |:)", "[ -~]{0,20}"), 0..40)) {
        let text: String = lines.iter().map(|(a, b, c, d, e)| format!("{a}{b}{c}{d}{e}\n")).collect();
        let _ = pitbox_irsdk::yaml::parse(&text);
    }
}

#[test]
fn truncated_file_uses_whole_records_and_reports() {
    let full = synthetic();
    let f = IbtFile::from_bytes(full.clone()).unwrap();
    assert_eq!(f.row_count(), 200);
    let cut = full.len() - 24 * 10 - 7;
    let t = IbtFile::from_bytes(full[..cut].to_vec()).unwrap();
    assert_eq!(t.row_count(), 189);
    let tr = t.truncated().unwrap();
    assert_eq!((tr.declared_records, tr.whole_records, tr.trailing_bytes), (200, 189, 17));
    assert_eq!(t.info().truncated, Some(tr));
    // Cut inside the header regions: precise errors.
    let e = IbtFile::from_bytes(full[..100].to_vec()).unwrap_err().to_string();
    assert_eq!(e, "irsdk_header needs 112 bytes at offset 0, but the data is only 100 bytes long");
    let e = IbtFile::from_bytes(full[..300].to_vec()).unwrap_err().to_string();
    assert!(e.starts_with("var headers (6 x 144 bytes) at offset 144 with length 864 ends at 1008, past the end of the data (300 bytes)"), "{e}");
    if let Some(real) = real("gmartsenkov__itelem__amg.ibt") {
        let t = IbtFile::from_bytes(real[..real.len() - 5000].to_vec()).unwrap();
        let tr = t.truncated().unwrap();
        assert_eq!(tr.declared_records, 3371);
        assert_eq!(tr.whole_records, 3371 - 5);
        assert_eq!(tr.trailing_bytes, 5 * 1039 - 5000);
    }
}

#[test]
fn corrupted_var_header_is_named() {
    let mut b = synthetic().clone();
    // Var #2 (LapDistPct): type field at 144 + 2*144.
    b[144 + 2 * 144] = 9;
    let e = IbtFile::from_bytes(b.clone()).unwrap_err().to_string();
    assert_eq!(e, "variable #2 (\"LapDistPct\"): type = 9, expected 0..=5");
    b[144 + 2 * 144] = 4;
    b[144 + 2 * 144 + 8] = 200; // count 200 floats past bufLen 24
    let e = IbtFile::from_bytes(b).unwrap_err().to_string();
    assert!(
        e.contains(
            "variable #2 (\"LapDistPct\"): offset 12 + 200 x 4 bytes ends at 812, past the row length bufLen = 24"
        ),
        "{e}"
    );
}
