//! CSV files -> batches of the declared schema: header binding, row checks, bad values.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;

use super::{SourceStats, Value, in_valid_years, locate_column, parse_value};
use crate::config::{ColumnSpec, ColumnType, Encoding, OnInvalid, SourceSpec};
use crate::diagnostics::Diagnostic;

const BATCH_ROWS: usize = 8192;
/// A quoted CSV value over this many lines is an unclosed quote, not data.
const MAX_FIELD_LINES: usize = 200;
/// How many bad values one error message lists before stopping.
const MAX_REPORTED: usize = 5;

/// Read all files of a CSV source into batches of the declared schema.
pub fn read_csv_source(
    source_id: &str,
    spec: &SourceSpec,
    schema: SchemaRef,
    files: &[(PathBuf, String)],
) -> Result<(Vec<RecordBatch>, SourceStats), Diagnostic> {
    let mut stats = SourceStats::default();
    let mut batches = vec![];
    for (path, shown) in files {
        stats.files.push(shown.clone());
        let bytes = std::fs::read(path).map_err(|e| Diagnostic::error("YS0001", format!("cannot read {shown}: {e}")))?;
        let text = decode(&bytes, spec.encoding, shown, source_id)?;
        read_csv_text(source_id, spec, &schema, &text, shown, &mut batches, &mut stats)?;
    }
    Ok((batches, stats))
}

/// One CSV file's bytes into batches of the declared schema (the ingest alone: for tests
/// and fuzzing, which need no files and no DataFusion).
pub fn read_csv_bytes(
    source_id: &str,
    spec: &SourceSpec,
    schema: SchemaRef,
    bytes: &[u8],
    shown: &str,
) -> Result<(Vec<RecordBatch>, SourceStats), Diagnostic> {
    let mut stats = SourceStats { files: vec![shown.to_string()], ..Default::default() };
    let mut batches = vec![];
    let text = decode(bytes, spec.encoding, shown, source_id)?;
    read_csv_text(source_id, spec, &schema, &text, shown, &mut batches, &mut stats)?;
    Ok((batches, stats))
}

fn decode(bytes: &[u8], encoding: Encoding, shown: &str, source_id: &str) -> Result<String, Diagnostic> {
    match encoding {
        Encoding::Utf8 => {
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            match std::str::from_utf8(bytes) {
                Ok(s) => Ok(s.to_string()),
                Err(e) => {
                    let at = e.valid_up_to();
                    let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
                    Err(Diagnostic::error("YS0303", format!("{shown}:{line}: not valid UTF-8 (byte 0x{:02X} at offset {at})", bytes[at]))
                        .help(format!(
                            "if the file is from Excel or an older system, set `encoding: windows-1252` on source `{source_id}`"
                        )))
                }
            }
        }
        Encoding::Windows1252 => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            Ok(text.trim_start_matches('\u{FEFF}').to_string())
        }
    }
}

enum ColumnBuilder {
    String(StringBuilder),
    Integer(Int64Builder),
    Float(Float64Builder),
    Boolean(BooleanBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl ColumnBuilder {
    fn new(ty: ColumnType) -> Self {
        match ty {
            ColumnType::String => ColumnBuilder::String(StringBuilder::new()),
            ColumnType::Integer => ColumnBuilder::Integer(Int64Builder::new()),
            ColumnType::Float => ColumnBuilder::Float(Float64Builder::new()),
            ColumnType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::new()),
            ColumnType::Date => ColumnBuilder::Date(Date32Builder::new()),
            ColumnType::Timestamp => ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::new()),
        }
    }
    fn push(&mut self, v: Value) {
        match (self, v) {
            (ColumnBuilder::String(b), Value::String(s)) => b.append_value(s),
            (ColumnBuilder::Integer(b), Value::Integer(i)) => b.append_value(i),
            (ColumnBuilder::Float(b), Value::Float(f)) => b.append_value(f),
            (ColumnBuilder::Boolean(b), Value::Boolean(x)) => b.append_value(x),
            (ColumnBuilder::Date(b), Value::Date(d)) => b.append_value(d),
            (ColumnBuilder::Timestamp(b), Value::Timestamp(t)) => b.append_value(t),
            (b, _) => b.push_null(),
        }
    }
    fn push_null(&mut self) {
        match self {
            ColumnBuilder::String(b) => b.append_null(),
            ColumnBuilder::Integer(b) => b.append_null(),
            ColumnBuilder::Float(b) => b.append_null(),
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::Date(b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
        }
    }
    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::String(b) => Arc::new(b.finish()),
            ColumnBuilder::Integer(b) => Arc::new(b.finish()),
            ColumnBuilder::Float(b) => Arc::new(b.finish()),
            ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
        }
    }
    fn len(&self) -> usize {
        match self {
            ColumnBuilder::String(b) => b.len(),
            ColumnBuilder::Integer(b) => b.len(),
            ColumnBuilder::Float(b) => b.len(),
            ColumnBuilder::Boolean(b) => b.len(),
            ColumnBuilder::Date(b) => b.len(),
            ColumnBuilder::Timestamp(b) => b.len(),
        }
    }
}


/// Where a declared column is found in one file's header.
fn map_headers(spec: &SourceSpec, headers: &csv::StringRecord, shown: &str, source_id: &str) -> Result<Vec<Option<usize>>, Diagnostic> {
    let names: Vec<&str> = headers.iter().map(|h| h.trim_start_matches('\u{FEFF}')).collect();
    let mut out = vec![];
    for (col, cs) in &spec.columns {
        match locate_column(col, cs, &names) {
            Ok(i) => out.push(Some(i)),
            Err(why) => return Err(why.diagnostic(col, &names, shown, source_id).at(cs.span, "declared here")),
        }
    }
    Ok(out)
}


fn read_csv_text(
    source_id: &str,
    spec: &SourceSpec,
    schema: &SchemaRef,
    text: &str,
    shown: &str,
    batches: &mut Vec<RecordBatch>,
    stats: &mut SourceStats,
) -> Result<(), Diagnostic> {
    let delimiter = u8::try_from(spec.delimiter)
        .map_err(|_| Diagnostic::error("YS0002", format!("source `{source_id}`: the delimiter must be a single ASCII character")))?;
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).flexible(true).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| Diagnostic::error("YS0301", format!("{shown}: cannot read the header row: {e}")))?.clone();
    let positions = map_headers(spec, &headers, shown, source_id)?;
    let columns: Vec<(&String, &ColumnSpec)> = spec.columns.iter().collect();
    let mut builders: Vec<ColumnBuilder> = columns.iter().map(|(_, c)| ColumnBuilder::new(c.ty)).collect();
    let mut file_builder = spec.file_column.as_ref().map(|_| StringBuilder::new());
    let mut problems: Vec<String> = vec![];
    // The most specific fix for the first bad values (a thousands separator, a null word).
    let mut hint: Option<String> = None;
    // Values that fail under `on_invalid: error` (others are counted in the stats only).
    let mut errors_total: u64 = 0;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(Diagnostic::error("YS0301", format!("{shown}:{line}: malformed CSV: {e}")));
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        // A fully empty line at the end of Excel exports is not a row.
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        // A quoted value over hundreds of lines is a quote that never closed: it swallowed
        // the rows after it (real multi-line values, such as inspection notes, are short).
        if let Some(f) = record.iter().find(|f| f.matches('\n').count() >= MAX_FIELD_LINES) {
            return Err(Diagnostic::error(
                "YS0301",
                format!("{shown}:{line}: a quoted value that starts on this line runs over {} lines", f.matches('\n').count() + 1),
            )
            .help("a `\"` opens a value that is never closed, so the lines after it are read as part of it: fix the quote in the file"));
        }
        // A row with more fields than the header (empty trailing cells from Excel aside) or
        // fewer (a truncated line, a quote that swallowed line ends) would shift or lose
        // values: an error, or a counted skip under `on_invalid: skip`.
        let extra = record.iter().skip(headers.len()).any(|f| !f.trim().is_empty());
        if extra || record.len() < headers.len() {
            stats.rows_read += 1;
            if spec.on_invalid == OnInvalid::Skip {
                stats.rows_skipped += 1;
                *stats.invalid_values.entry("(fields per row)".to_string()).or_insert(0) += 1;
                continue;
            }
            return Err(Diagnostic::error(
                "YS0301",
                format!("{shown}:{line}: the row has {} fields, the header has {}", record.len(), headers.len()),
            )
            .help(format!(
                "{} or set `on_invalid: skip` on source `{source_id}` to skip (and count) such rows",
                if record.len() < headers.len() {
                    "the row is cut short (a truncated file, or an opening quote `\"` without its closing one on an earlier line): fix the file,"
                } else {
                    "a value holds the delimiter without quotes, or the row has extra cells: fix the file, check `delimiter`,"
                }
            )));
        }
        stats.rows_read += 1;
        let mut row_values: Vec<Value> = Vec::with_capacity(columns.len());
        let mut skip = false;
        for (i, (name, cs)) in columns.iter().enumerate() {
            let raw = positions[i].and_then(|p| record.get(p)).unwrap_or("");
            let value = if is_null(raw, spec) {
                Value::Null
            } else {
                match parse_value(raw, cs).filter(|v| in_valid_years(v, spec.valid_years)) {
                    Some(v) => v,
                    None => {
                        let policy = cs.on_invalid.unwrap_or(spec.on_invalid);
                        *stats.invalid_values.entry((*name).clone()).or_insert(0) += 1;
                        match policy {
                            OnInvalid::Null => Value::Null,
                            OnInvalid::Skip => {
                                skip = true;
                                Value::Null
                            }
                            OnInvalid::Error => {
                                errors_total += 1;
                                if hint.is_none() {
                                    hint = fix_for(raw, name, cs, spec.valid_years);
                                }
                                if problems.len() < MAX_REPORTED {
                                    problems.push(format!(
                                        "{shown}:{line}: column `{name}` (column {} of the file): cannot read {:?} as {}",
                                        positions[i].map(|p| p + 1).unwrap_or(0),
                                        raw,
                                        describe_type(cs)
                                    ));
                                }
                                Value::Null
                            }
                        }
                    }
                }
            };
            row_values.push(value);
        }
        if skip {
            stats.rows_skipped += 1;
            continue;
        }
        for (b, v) in builders.iter_mut().zip(row_values.drain(..)) {
            b.push(v);
        }
        if let Some(fb) = file_builder.as_mut() {
            fb.append_value(shown);
        }
        if builders.first().map(|b| b.len()).unwrap_or(0) >= BATCH_ROWS {
            batches.push(finish_batch(schema, &mut builders, file_builder.as_mut())?);
        }
    }
    if !problems.is_empty() {
        let mut message = format!("source `{source_id}`: {errors_total} value(s) cannot be read in {shown}\n");
        for p in &problems {
            message.push_str("  ");
            message.push_str(p);
            message.push('\n');
        }
        let general = match hint {
            Some(h) => format!("{h}; or set `on_invalid: null` (or `skip`) on the column or on source `{source_id}` in yardstick.yaml"),
            None => format!(
                "fix the data, declare the column's right type{}, or set `on_invalid: null` (or `skip`) on the column or on source `{source_id}` in yardstick.yaml",
                " (and `format` for dates and timestamps)"
            ),
        };
        return Err(Diagnostic::error("YS0301", message.trim_end().to_string()).help(general));
    }
    if builders.first().map(|b| b.len()).unwrap_or(0) > 0 || (builders.is_empty() && file_builder.is_some()) {
        batches.push(finish_batch(schema, &mut builders, file_builder.as_mut())?);
    }
    Ok(())
}

fn finish_batch(
    schema: &SchemaRef,
    builders: &mut [ColumnBuilder],
    file_builder: Option<&mut StringBuilder>,
) -> Result<RecordBatch, Diagnostic> {
    let mut arrays: Vec<ArrayRef> = builders.iter_mut().map(ColumnBuilder::finish).collect();
    if let Some(fb) = file_builder {
        arrays.push(Arc::new(fb.finish()));
    }
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| Diagnostic::error("YS0400", format!("internal error building a batch: {e}")))
}


/// The fix a bad value most likely needs, when it is recognisable.
fn fix_for(raw: &str, name: &str, cs: &ColumnSpec, years: [i32; 2]) -> Option<String> {
    let t = raw.trim();
    if let Some(v) = parse_value(raw, cs).filter(|v| !in_valid_years(v, years)) {
        let year = match v {
            Value::Date(d) => NaiveDate::from_num_days_from_ce_opt(d + 719_163).map(|d| d.format("%Y").to_string()),
            Value::Timestamp(t) => chrono::DateTime::from_timestamp_micros(t).map(|d| d.format("%Y").to_string()),
            _ => None,
        }
        .unwrap_or_default();
        return Some(format!(
            "`{t}` reads as the year {year}, outside the source's `valid_years` {}-{}: for two-digit years use `%y`, not `%Y`, in column `{name}`'s format; or widen `valid_years` on the source",
            years[0], years[1]
        ));
    }
    const NULL_WORDS: &[&str] = &["na", "n/a", "null", "none", "nan", "-", "--", ".", "?", "missing", "#n/a"];
    if NULL_WORDS.contains(&t.to_lowercase().as_str()) {
        return Some(format!("`{t}` looks like a missing value: add `null_values: [\"{t}\"]` to the source"));
    }
    let numeric = matches!(cs.ty, ColumnType::Integer | ColumnType::Float);
    if numeric {
        for sep in [',', '.', ' ', '\''] {
            if Some(sep) != cs.thousands && grouped_by(t, sep) {
                return Some(format!("`{t}` has a thousands separator: add `thousands: \"{sep}\"` to column `{name}`"));
            }
        }
        if t.ends_with('%') {
            return Some(format!(
                "`{t}` is a percentage: declare column `{name}` as a string and measure from a cleaned column, or fix the export"
            ));
        }
        if cs.ty == ColumnType::Integer && t.parse::<f64>().is_ok() {
            return Some(format!("`{t}` is not a whole number: declare column `{name}` as `float`"));
        }
    }
    if matches!(cs.ty, ColumnType::Date | ColumnType::Timestamp) {
        return Some(format!(
            "`{t}` does not match the column's format: declare `format:` for column `{name}` (chrono strftime, e.g. \"%d/%m/%Y %H:%M\")"
        ));
    }
    None
}

/// Whether `t` is a number written with `sep` between groups of three digits
/// (`16,039`, `-1,234,567.5`): `2.5` or `3,14` are not.
fn grouped_by(t: &str, sep: char) -> bool {
    let t = t.strip_prefix('-').unwrap_or(t);
    let int = if sep == '.' { t } else { t.split('.').next().unwrap_or(t) };
    let groups: Vec<&str> = int.split(sep).collect();
    groups.len() > 1
        && (1..=3).contains(&groups[0].len())
        && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit()))
        && groups[1..].iter().all(|g| g.len() == 3)
}

fn is_null(raw: &str, spec: &SourceSpec) -> bool {
    let t = raw.trim();
    t.is_empty() || spec.null_values.iter().any(|n| n == t)
}

fn describe_type(cs: &ColumnSpec) -> String {
    match cs.ty {
        ColumnType::Date | ColumnType::Timestamp if !cs.formats.is_empty() => {
            format!("{} with format {}", cs.ty.name(), cs.formats.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>().join(" or "))
        }
        ColumnType::Timestamp => "timestamp (ISO 8601, e.g. 2024-03-07 13:05:09)".into(),
        ColumnType::Date => "date (YYYY-MM-DD)".into(),
        ColumnType::Boolean => "boolean (true/false, yes/no, y/n, 1/0)".into(),
        t => t.name().into(),
    }
}

