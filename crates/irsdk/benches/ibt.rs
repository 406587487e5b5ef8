//! `cargo bench -p pitbox-irsdk`: 5 channels across a whole file, every variable of every row, and
//! one live row read. Uses the real amg file when present (3,371 records, the file pyirsdk reads
//! 5 channels of in ~2 ms), else a synthetic file of the same shape. Prints rows/s and MB/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pitbox_irsdk::cli::{all_vars_pass, five_channel_pass};
use pitbox_irsdk::live::{LiveReader, LiveWriter, SharedBuffer, live_region_len};
use pitbox_irsdk::writer::IbtWriter;
use pitbox_irsdk::{IbtFile, VarHeader, VarType};
use std::hint::black_box;
use std::path::PathBuf;

fn file() -> IbtFile {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ibt/gmartsenkov__itelem__amg.ibt");
    if let Ok(f) = IbtFile::open(&p) {
        return f;
    }
    eprintln!("real data absent ({}): benching a synthetic file of the same shape", p.display());
    let names = ["Speed", "RPM", "Throttle", "Brake", "LapDistPct"];
    let mut vars: Vec<VarHeader> =
        names.iter().enumerate().map(|(i, n)| VarHeader::new(n, VarType::Float, i * 4, 1, false, "", "")).collect();
    for i in 0..250 {
        vars.push(VarHeader::new(&format!("V{i}"), VarType::Float, 20 + i * 4, 1, false, "", ""));
    }
    let mut w = IbtWriter::new(std::io::Cursor::new(Vec::new()), vars, 1039, 60, "WeekendInfo:\n", 0).unwrap();
    for _ in 0..3371 {
        let r = w.blank_row();
        w.write_row(&r).unwrap();
    }
    IbtFile::from_bytes(w.finish().unwrap().into_inner()).unwrap()
}

fn benches(c: &mut Criterion) {
    let f = file();
    let rows = f.row_count() as u64;
    let bytes = rows * f.layout().buf_len() as u64;
    let mut g = c.benchmark_group("ibt");
    g.throughput(Throughput::Elements(rows));
    g.bench_function("5 channels, whole file (rows/s)", |b| b.iter(|| black_box(five_channel_pass(black_box(&f)))));
    g.bench_function("every variable of every row (rows/s)", |b| b.iter(|| black_box(all_vars_pass(black_box(&f)))));
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("5 channels, whole file (MB/s)", |b| b.iter(|| black_box(five_channel_pass(black_box(&f)))));
    g.bench_function("every variable of every row (MB/s)", |b| b.iter(|| black_box(all_vars_pass(black_box(&f)))));
    g.finish();

    let buf_len = f.layout().buf_len();
    let shared = SharedBuffer::new(live_region_len(f.vars().len(), buf_len, 64, 3));
    let mut w = LiveWriter::new(&shared, f.vars(), buf_len, 60, 64, 3).unwrap();
    for r in f.rows().take(3) {
        w.write_row(r).unwrap();
    }
    let mut r = LiveReader::new(shared.mem()).unwrap();
    c.bench_function("live one-row read", |b| b.iter(|| black_box(r.read_row().map(|x| x.len()).ok())));
}

criterion_group! {
    name = group;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = benches
}
criterion_main!(group);
