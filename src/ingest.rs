//! Reading data sources into Arrow with their declared types.
//!
//! CSV is parsed here, not by DataFusion's CSV reader, because public-sector extracts need
//! what it lacks: declared per-column timestamp formats (several tried in order), thousands
//! separators, yes/no booleans, windows-1252, header aliases across files, and errors that
//! name the file, line, column and the bad text. Parquet goes through DataFusion (see run.rs).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use indexmap::IndexMap;

use crate::config::{ColumnSpec, ColumnType, Encoding, OnInvalid, SourceSpec};
use crate::diagnostics::{Diagnostic, did_you_mean};
use crate::project::{Confinement, shown_path};

const BATCH_ROWS: usize = 8192;
/// A quoted CSV value over this many lines is an unclosed quote, not data.
const MAX_FIELD_LINES: usize = 200;
/// How many bad values one error message lists before stopping.
const MAX_REPORTED: usize = 5;

/// What reading a source found, for the results' lineage section.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SourceStats {
    pub files: Vec<String>,
    pub rows_read: u64,
    pub rows_skipped: u64,
    /// Per column: how many values were invalid and made null or caused a skip.
    pub invalid_values: IndexMap<String, u64>,
}

/// The files a source's path or glob names, sorted, with their names relative to the
/// project directory for display. Each real file is read once, however many paths lead to
/// it (a symlink loop under `**` would otherwise multiply every count), and only inside the
/// project (see [`Confinement`]).
pub fn resolve_files(
    project_dir: &Path,
    source_id: &str,
    spec: &SourceSpec,
    confine: &Confinement,
) -> Result<Vec<(PathBuf, String)>, Diagnostic> {
    let pattern = project_dir.join(&spec.path);
    let pattern_text = pattern.to_string_lossy().to_string();
    let entries = glob::glob(&pattern_text).map_err(|e| {
        Diagnostic::error("YS0300", format!("source `{source_id}`: bad path pattern `{}`: {e}", spec.path))
            .at(spec.path_span, "not a valid glob")
            .help("`*` matches within a name, `**` any number of directories, `?` one character, `[abc]` one of them")
    })?;
    let mut candidates: Vec<(PathBuf, String)> =
        entries.filter_map(Result::ok).filter(|p| p.is_file()).map(|p| (p.clone(), shown_path(&p, project_dir))).collect();
    // The shortest name of a file wins (`data/permits.csv`, not `data/loop/permits.csv`).
    candidates.sort_by(|a, b| (a.1.matches('/').count(), &a.1).cmp(&(b.1.matches('/').count(), &b.1)));
    let mut seen = std::collections::HashSet::new();
    let mut files = vec![];
    for (path, shown) in candidates {
        let real = confine.check(&path).map_err(|why| {
            let why = if shown == spec.path { why } else { format!("{shown}: {why}") };
            crate::project::outside_error("path", &spec.path, &why).at(spec.path_span, "outside the project")
        })?;
        if seen.insert(real) {
            files.push((path, shown));
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    if files.is_empty() {
        return Err(Diagnostic::error("YS0300", format!("source `{source_id}`: no file matches `{}`", spec.path))
            .at(spec.path_span, "no such file")
            .help(missing_file_help(project_dir, &spec.path)));
    }
    Ok(files)
}

/// A near name in the directory the path points into, else where paths are relative to.
fn missing_file_help(project_dir: &Path, written: &str) -> String {
    let path = Path::new(written);
    let (dir, name) = (path.parent().unwrap_or(Path::new("")), path.file_name().map(|n| n.to_string_lossy().to_string()));
    let listing: Vec<String> = std::fs::read_dir(project_dir.join(dir))
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().to_string()).collect())
        .unwrap_or_default();
    if let Some(near) = name.filter(|n| !n.contains(['*', '?', '['])).and_then(|n| did_you_mean(&n, listing.iter().map(String::as_str))) {
        let shown = if dir.as_os_str().is_empty() { near } else { format!("{}/{near}", dir.to_string_lossy()) };
        return format!("did you mean `{shown}`?");
    }
    "paths are relative to the directory of yardstick.yaml; check the name (a `**` in a glob also matches no directory at all)".to_string()
}

/// Read all files of a CSV source into batches of the declared schema.
pub fn read_csv_source(
    source_id: &str,
    spec: &SourceSpec,
    schema: SchemaRef,
    files: &[(PathBuf, String)],
) -> Result<(Vec<RecordBatch>, SourceStats), Diagnostic> {
    let mut stats = SourceStats::default();
    let mut batches = vec![];
    for (i, (path, shown)) in files.iter().enumerate() {
        crate::progress::report(|| {
            format!("reading source `{source_id}`: file {} of {} ({shown}), {} rows so far", i + 1, files.len(), stats.rows_read)
        });
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

#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    String(&'a str),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00 (no time zone).
    Timestamp(i64),
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

/// Why a declared column cannot be bound to one column of a file.
pub enum Unbound {
    Missing,
    /// Two or more header cells answer to the column's names (0-based positions).
    Ambiguous(Vec<usize>),
    /// `position: n` beyond the file's columns.
    PastEnd(usize),
}

/// Bind a declared column to a position in a file's header names (CSV or Parquet): its
/// `position` if given, else the one header cell that answers to its names. Two cells that
/// both answer are an error, never a silent pick of the first.
pub fn locate_column<S: AsRef<str>>(name: &str, cs: &ColumnSpec, names: &[S]) -> Result<usize, Unbound> {
    if let Some(p) = cs.position {
        return if p >= 1 && p <= names.len() { Ok(p - 1) } else { Err(Unbound::PastEnd(p)) };
    }
    let wanted = wanted_headers(name, cs);
    let i = find_header(&wanted, names).ok_or(Unbound::Missing)?;
    let hit = names[i].as_ref();
    // Ambiguous only between equals: two cells spelled exactly as the one found, or, when it
    // was found by loose matching, two cells that match loosely (`m0` beside `m0_` is fine).
    let exact = names.iter().any(|h| wanted.contains(&h.as_ref()));
    let same: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, h)| if exact { h.as_ref() == hit } else { normalise_header(h.as_ref()) == normalise_header(hit) })
        .map(|(j, _)| j)
        .collect();
    if same.len() > 1 { Err(Unbound::Ambiguous(same)) } else { Ok(i) }
}

impl Unbound {
    pub fn diagnostic<S: AsRef<str>>(&self, col: &str, names: &[S], shown: &str, source_id: &str) -> Diagnostic {
        match self {
            Unbound::Missing => {
                let hint = did_you_mean(col, names.iter().map(|n| n.as_ref()));
                Diagnostic::error(
                    "YS0302",
                    format!("{shown}: source `{source_id}` declares column `{col}`, but the file's header has no such column"),
                )
                .help(match hint {
                    Some(h) => format!("the header has `{h}`: add `header: \"{h}\"` or `aliases: [\"{h}\"]` to column `{col}`"),
                    None => format!("the header is: {}", names.iter().map(|n| n.as_ref()).collect::<Vec<_>>().join(", ")),
                })
            }
            Unbound::Ambiguous(positions) => {
                let listed: Vec<String> = positions.iter().map(|p| format!("column {} (`{}`)", p + 1, names[*p].as_ref())).collect();
                Diagnostic::error(
                    "YS0302",
                    format!("{shown}: the header names column `{col}` of source `{source_id}` more than once: {}", listed.join(" and ")),
                )
                .help(format!(
                    "pick one by position: `{col}: {{ type: ..., position: {} }}` (1 is the first column of the file)",
                    positions[0] + 1
                ))
            }
            Unbound::PastEnd(p) => Diagnostic::error(
                "YS0302",
                format!(
                    "{shown}: column `{col}` of source `{source_id}` is declared at position {p}, but the file has {} columns",
                    names.len()
                ),
            )
            .help("positions count from 1, the first column of the file"),
        }
    }
}

/// Header matching ignores case, surrounding space and the difference between ' ', '_', '-'.
/// The header names a declared column answers to: its `header` (else its name), then its
/// aliases, in that order.
pub fn wanted_headers<'a>(name: &'a str, cs: &'a ColumnSpec) -> Vec<&'a str> {
    let mut wanted: Vec<&str> = vec![cs.header.as_deref().unwrap_or(name)];
    wanted.extend(cs.aliases.iter().map(String::as_str));
    wanted
}

/// The position of the first wanted name in a file's header names (CSV or Parquet): an
/// exact match first, then one ignoring case, surrounding spaces and the kind and number of
/// separators (`Received At`, `received_at`, `RECEIVED - AT`, `Received  At`).
pub fn find_header<S: AsRef<str>>(wanted: &[&str], names: &[S]) -> Option<usize> {
    let exact = wanted.iter().find_map(|w| names.iter().position(|h| h.as_ref() == *w));
    exact.or_else(|| wanted.iter().find_map(|w| names.iter().position(|h| normalise_header(h.as_ref()) == normalise_header(w))))
}

fn normalise_header(h: &str) -> String {
    let lower = h.trim().to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| c == ' ' || c == '-' || c == '_').filter(|w| !w.is_empty()).collect();
    words.join("_")
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

/// Microseconds (timestamps) or days (dates) since 1970 of 1 January of `year`.
fn year_start(year: i32) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(year, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// Whether a date or timestamp value lies in the source's `valid_years` (other values pass).
pub fn in_valid_years(v: &Value, years: [i32; 2]) -> bool {
    let (Some(lo), Some(hi)) = (year_start(years[0]), year_start(years[1].saturating_add(1))) else { return true };
    match v {
        Value::Date(d) => (crate::plan::days_since_epoch(lo.date())..crate::plan::days_since_epoch(hi.date())).contains(d),
        Value::Timestamp(t) => (lo.and_utc().timestamp_micros()..hi.and_utc().timestamp_micros()).contains(t),
        _ => true,
    }
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

const ISO_TIMESTAMPS: &[&str] = &["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"];

/// Parse one non-null field by its declared column spec. `None` means invalid.
pub fn parse_value<'a>(raw: &'a str, cs: &ColumnSpec) -> Option<Value<'a>> {
    let t = raw.trim();
    match cs.ty {
        ColumnType::String => Some(Value::String(raw)),
        ColumnType::Integer => {
            let s = strip_thousands(t, cs.thousands);
            s.parse::<i64>().ok().map(Value::Integer)
        }
        ColumnType::Float => {
            let s = strip_thousands(t, cs.thousands);
            s.parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::Float)
        }
        ColumnType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" => Some(Value::Boolean(true)),
            "false" | "f" | "no" | "n" | "0" => Some(Value::Boolean(false)),
            _ => None,
        },
        ColumnType::Date => {
            let d = if cs.formats.is_empty() {
                NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()
            } else {
                cs.formats.iter().find_map(|f| parse_date(t, f))
            }?;
            Some(Value::Date(crate::plan::days_since_epoch(d)))
        }
        ColumnType::Timestamp => {
            let ts = if cs.formats.is_empty() {
                ISO_TIMESTAMPS
                    .iter()
                    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
                    .or_else(|| chrono::DateTime::parse_from_rfc3339(t).ok().map(|d| d.naive_utc()))
                    .or_else(|| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
            } else {
                cs.formats.iter().find_map(|f| parse_timestamp(t, f))
            }?;
            Some(Value::Timestamp(ts.and_utc().timestamp_micros()))
        }
    }
}

fn parse_date(t: &str, format: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(t, format).ok().or_else(|| NaiveDateTime::parse_from_str(t, format).ok().map(|d| d.date()))
}

fn parse_timestamp(t: &str, format: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(t, format)
        .ok()
        // A `%z` offset is read and ignored, the time kept as written; `+01` as `+0100`.
        .or_else(|| hour_only_offset(t, format).and_then(|padded| NaiveDateTime::parse_from_str(&padded, format).ok()))
        .or_else(|| chrono::DateTime::parse_from_str(t, format).ok().map(|d| d.naive_utc()))
        .or_else(|| NaiveDate::parse_from_str(t, format).ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
}

/// `%z` in chrono needs minutes (`+0000`, `+00:00`); PostgreSQL and others write `+00`.
/// The text with `00` minutes appended, when it ends in such an offset and the format in `%z`.
fn hour_only_offset(t: &str, format: &str) -> Option<String> {
    if !format.ends_with("%z") && !format.ends_with("%:z") && !format.ends_with("%#z") {
        return None;
    }
    let b = t.as_bytes();
    let n = b.len();
    (n >= 3 && matches!(b[n - 3], b'+' | b'-') && b[n - 2].is_ascii_digit() && b[n - 1].is_ascii_digit())
        .then(|| format!("{t}{}", if format.ends_with("%:z") { ":00" } else { "00" }))
}

fn strip_thousands(s: &str, sep: Option<char>) -> std::borrow::Cow<'_, str> {
    match sep {
        Some(c) if s.contains(c) => std::borrow::Cow::Owned(s.replace(c, "")),
        _ => std::borrow::Cow::Borrowed(s),
    }
}
