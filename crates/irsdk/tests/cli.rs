//! The `pitbox ibt` commands as a user runs them (through the library entry points).

mod common;

use clap::Parser;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::RowAccessor;
use pitbox_irsdk::IbtFile;
use pitbox_irsdk::cli::{self, ExportFormat, IbtArgs, IbtCommand};

#[derive(Parser)]
struct Top {
    #[command(flatten)]
    ibt: IbtArgs,
}

#[test]
fn arguments_parse() {
    let t = Top::try_parse_from([
        "ibt",
        "export",
        "f.ibt",
        "--channels",
        "Speed,RPM",
        "--format",
        "jsonl",
        "-o",
        "out.jsonl",
    ])
    .unwrap();
    match t.ibt.command {
        IbtCommand::Export { channels, format, output, .. } => {
            assert_eq!(channels, vec!["Speed", "RPM"]);
            assert_eq!(format, ExportFormat::Jsonl);
            assert_eq!(output.unwrap().to_str(), Some("out.jsonl"));
        }
        _ => panic!(),
    }
    assert!(Top::try_parse_from(["ibt", "info", "f.ibt", "--json"]).is_ok());
    assert!(Top::try_parse_from(["ibt", "laps", "f.ibt"]).is_ok());
    assert!(Top::try_parse_from(["ibt", "dump-live", "--once", "--file", "d"]).is_ok());
    assert!(Top::try_parse_from(["ibt", "export", "f.ibt", "--format", "xml"]).is_err());
}

fn data(name: &str) -> Option<std::path::PathBuf> {
    common::ibt_dir().map(|d| d.join(name))
}

#[test]
fn info_text_and_json() {
    let Some(p) = data("racedirector__iracing.rs__telemetry.ibt") else { return };
    let mut out = Vec::new();
    cli::info(&p, false, &mut out).unwrap();
    let s = String::from_utf8(out).unwrap();
    assert!(s.contains("Sebring International Raceway"), "{s}");
    assert!(s.contains("2683 whole records"));
    assert!(s.contains("2025-11-20T23:37:52+00:00"));
    assert!(s.contains("SteeringWheelTorque_ST") && s.contains("float[6]t"));
    let mut out = Vec::new();
    cli::info(&p, true, &mut out).unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(j["records"], 2683);
    assert_eq!(j["vars"].as_array().unwrap().len(), 285);
    assert_eq!(j["session"]["driver"]["driverCarIdx"], 4);
    assert_eq!(j["header"]["bufLen"], 1099);
}

#[test]
fn laps_table() {
    let Some(p) = data("Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt")
    else {
        return;
    };
    let mut out = Vec::new();
    cli::laps(&p, false, &mut out).unwrap();
    let s = String::from_utf8(out).unwrap();
    assert!(s.contains("out lap") && s.contains("0:25.9") && s.contains("0:23.9") && s.contains("2 timed laps"), "{s}");
    let mut out = Vec::new();
    cli::laps(&p, true, &mut out).unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(j[1]["kind"], "timed");
    assert_eq!(j[1]["start"], 214);
    assert_eq!(j[1]["end"], 1768);
}

#[test]
fn export_csv_and_jsonl() {
    let Some(p) = data("teamjorge__ibt__valid_test_file.ibt") else { return };
    let f = IbtFile::open(&p).unwrap();
    let ch = vec![
        "SessionTime".to_string(),
        "Speed".into(),
        "Gear".into(),
        "OnPitRoad".into(),
        "SteeringWheelTorque_ST".into(),
    ];
    let mut out = Vec::new();
    cli::export_to(&f, &ch, ExportFormat::Csv, &mut out, |_| {}).unwrap();
    let s = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 391);
    assert!(lines[0].starts_with("SessionTime,Speed,Gear,OnPitRoad,SteeringWheelTorque_ST[0],"));
    let first: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(first.len(), 4 + 6);
    assert_eq!(first[0].parse::<f64>().unwrap(), 932.000000635264);
    assert_eq!(first[1].parse::<f32>().unwrap(), 0.04754703864455223f64 as f32);
    let mut out = Vec::new();
    cli::export_to(&f, &ch, ExportFormat::Jsonl, &mut out, |_| {}).unwrap();
    let s = String::from_utf8(out).unwrap();
    assert_eq!(s.lines().count(), 390);
    let j: serde_json::Value = serde_json::from_str(s.lines().next().unwrap()).unwrap();
    assert_eq!(j["SessionTime"].as_f64().unwrap(), 932.000000635264);
    assert_eq!(j["SteeringWheelTorque_ST"].as_array().unwrap().len(), 6);
    assert!(j["OnPitRoad"].is_boolean());
    let e = cli::export_to(&f, &["Sped".to_string()], ExportFormat::Csv, &mut Vec::new(), |_| {}).unwrap_err();
    assert!(e.to_string().contains("no channel named \"Sped\""), "{e}");
    // Parquet, read back with the parquet crate's reader: same rows, names, types and values.
    let mut out = Vec::new();
    cli::export_to(&f, &ch, ExportFormat::Parquet, &mut out, |_| {}).unwrap();
    let reader = SerializedFileReader::new(bytes::Bytes::from(out)).unwrap();
    let meta = reader.metadata();
    assert_eq!(meta.file_metadata().num_rows(), 390);
    let schema = meta.file_metadata().schema_descr();
    let names: Vec<String> = (0..schema.num_columns()).map(|i| schema.column(i).name().to_string()).collect();
    assert_eq!(&names[..5], ["SessionTime", "Speed", "Gear", "OnPitRoad", "SteeringWheelTorque_ST[0]"]);
    assert_eq!(names.len(), 4 + 6);
    let row = reader.get_row_iter(None).unwrap().next().unwrap().unwrap();
    assert_eq!(row.get_double(0).unwrap(), 932.000000635264);
    assert_eq!(row.get_float(1).unwrap(), 0.04754703864455223f64 as f32);
    assert_eq!(row.get_int(2).unwrap().to_string(), first[2]);
    assert_eq!(u8::from(row.get_bool(3).unwrap()).to_string(), first[3]);
    // Whole-file export to a file through the command entry point.
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("all.csv");
    cli::export(&p, &[], ExportFormat::Csv, Some(&o)).unwrap();
    assert_eq!(std::fs::read_to_string(&o).unwrap().lines().count(), 391);
}

#[test]
fn dump_live_from_file() {
    let Some(p) = data("teamjorge__ibt__live_test_file.ibt") else { return };
    let mut out = Vec::new();
    cli::dump_live(true, Some(&p), &mut out).unwrap();
    let s = String::from_utf8(out).unwrap();
    assert!(s.contains("tick 2005 (buffer 1)") && s.contains("Autodromo Nazionale Monza"), "{s}");
    assert!(s.contains("CarIdxLapDistPct"));
    #[cfg(not(windows))]
    {
        let e = cli::dump_live(true, None, &mut Vec::new()).unwrap_err().to_string();
        assert!(e.contains("--file"), "{e}");
    }
    let bad = data("teamjorge__ibt__invalid_test_file.ibt").unwrap();
    let e = cli::dump_live(true, Some(&bad), &mut Vec::new()).unwrap_err();
    assert!(format!("{e:#}").contains("header field ver"), "{e:#}");
}

#[test]
fn bench_prints_figures() {
    let Some(p) = data("gmartsenkov__itelem__amg.ibt") else { return };
    let b = cli::bench_figures(&p, std::time::Duration::from_millis(50)).unwrap();
    assert_eq!(b.rows, 3371);
    assert!(b.five_channels_s > 0.0 && b.all_vars_s > 0.0 && b.live_row_s > 0.0);
    let text = cli::format_figures(&p, &b);
    eprintln!("{text}");
    assert!(text.contains("rows/s") && text.contains("MB/s") && text.contains("live one-row read"));
}
