//! `.ibt` → Parquet: one column per variable (array variables: one column per element, named
//! `Name[i]`), typed as iRacing stores them, in row groups of [`ROW_GROUP_ROWS`] records,
//! Snappy-compressed. Written with the `parquet` crate's low-level writer (no Arrow: it is the
//! heavy half).

use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as PhysicalType};
use parquet::column::writer::ColumnWriter;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::ibt::IbtFile;
use crate::var::{Value, VarHeader, VarType};

/// Records per row group: about a quarter hour at 60 Hz.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// Why a Parquet export failed.
#[derive(Debug, thiserror::Error)]
pub enum ParquetExportError {
    /// The parquet writer refused the schema or the data.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

fn column_type(name: &str, ty: VarType) -> Result<Type, ParquetExportError> {
    let (physical, logical) = match ty {
        VarType::Char => (PhysicalType::INT32, Some(LogicalType::Integer { bit_width: 8, is_signed: false })),
        VarType::Bool => (PhysicalType::BOOLEAN, None),
        VarType::Int => (PhysicalType::INT32, None),
        VarType::BitField => (PhysicalType::INT64, None),
        VarType::Float => (PhysicalType::FLOAT, None),
        VarType::Double => (PhysicalType::DOUBLE, None),
    };
    Ok(Type::primitive_type_builder(name, physical)
        .with_repetition(Repetition::OPTIONAL)
        .with_logical_type(logical)
        .build()?)
}

/// Column names of `vars` as the export writes them.
pub fn column_names(vars: &[&VarHeader]) -> Vec<String> {
    let mut names = Vec::new();
    for v in vars {
        if v.count == 1 {
            names.push(v.name.clone());
        } else {
            names.extend((0..v.count).map(|i| format!("{}[{i}]", v.name)));
        }
    }
    names
}

/// Writes the records of `f` (the variables `vars`) as a Parquet file into a buffer; `progress`
/// is called with the number of records done.
pub fn write(f: &IbtFile, vars: &[&VarHeader], mut progress: impl FnMut(usize)) -> Result<Vec<u8>, ParquetExportError> {
    let names = column_names(vars);
    let mut fields = Vec::with_capacity(names.len());
    let mut columns: Vec<(&VarHeader, usize)> = Vec::with_capacity(names.len());
    let mut n = 0;
    for v in vars {
        for i in 0..v.count {
            fields.push(Arc::new(column_type(&names[n], v.ty)?));
            columns.push((v, i));
            n += 1;
        }
    }
    let schema = Arc::new(Type::group_type_builder("ibt").with_fields(fields).build()?);
    let props = Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
    let mut writer = SerializedFileWriter::new(Vec::new(), schema, props)?;

    // One row group at a time: memory follows ROW_GROUP_ROWS, not the record count.
    let mut groups = f.rows();
    let mut group: Vec<&[u8]> = Vec::with_capacity(ROW_GROUP_ROWS.min(f.row_count()));
    for g in 0.. {
        group.clear();
        group.extend(groups.by_ref().take(ROW_GROUP_ROWS));
        if group.is_empty() {
            break;
        }
        let group = group.as_slice();
        let mut rg = writer.next_row_group()?;
        let mut col_index = 0;
        while let Some(mut col) = rg.next_column()? {
            let Some(&(var, element)) = columns.get(col_index) else { break };
            col_index += 1;
            let mut defs = Vec::with_capacity(group.len());
            let values = group.iter().map(|row| var.value(row, element));
            match col.untyped() {
                ColumnWriter::BoolColumnWriter(w) => {
                    let vals = collect(values, &mut defs, |v| match v {
                        Value::Bool(b) => Some(b),
                        _ => None,
                    });
                    w.write_batch(&vals, Some(&defs), None)?;
                }
                ColumnWriter::Int32ColumnWriter(w) => {
                    let vals = collect(values, &mut defs, |v| match v {
                        Value::Char(c) => Some(i32::from(c)),
                        Value::Int(i) => Some(i),
                        _ => None,
                    });
                    w.write_batch(&vals, Some(&defs), None)?;
                }
                ColumnWriter::Int64ColumnWriter(w) => {
                    let vals = collect(values, &mut defs, |v| match v {
                        Value::BitField(b) => Some(i64::from(b)),
                        _ => None,
                    });
                    w.write_batch(&vals, Some(&defs), None)?;
                }
                ColumnWriter::FloatColumnWriter(w) => {
                    let vals = collect(values, &mut defs, |v| match v {
                        Value::Float(x) => Some(x),
                        _ => None,
                    });
                    w.write_batch(&vals, Some(&defs), None)?;
                }
                ColumnWriter::DoubleColumnWriter(w) => {
                    let vals = collect(values, &mut defs, |v| match v {
                        Value::Double(x) => Some(x),
                        _ => None,
                    });
                    w.write_batch(&vals, Some(&defs), None)?;
                }
                // The schema above only has the five types matched; anything else is a bug here.
                _ => {
                    return Err(parquet::errors::ParquetError::General(format!(
                        "unexpected column type for {}",
                        var.name
                    ))
                    .into());
                }
            }
            col.close()?;
        }
        rg.close()?;
        progress((g * ROW_GROUP_ROWS + group.len()).min(f.row_count()));
    }
    Ok(writer.into_inner()?)
}

/// Values present get definition level 1, missing ones (a short row) 0 and no value.
fn collect<T>(
    values: impl Iterator<Item = Option<Value>>,
    defs: &mut Vec<i16>,
    pick: impl Fn(Value) -> Option<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    for v in values {
        match v.and_then(&pick) {
            Some(x) => {
                out.push(x);
                defs.push(1);
            }
            None => defs.push(0),
        }
    }
    out
}
