//! CSV files -> batches of the declared schema: header binding, row checks, bad values.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;

use super::{BatchOrigin, SourceStats, Unbound, Value, describe_type, in_valid_years, is_null, locate_column, parse_value};
use crate::config::{ColumnSpec, ColumnType, Encoding, OnInvalid, SourceSpec, TrailingNotes};
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
    for (i, (path, shown)) in files.iter().enumerate() {
        crate::progress::report(|| {
            format!(
                "reading source `{source_id}`: file {} of {} ({shown}), {} rows so far",
                i + 1,
                files.len(),
                crate::diagnostics::thousands(stats.rows_read)
            )
        });
        stats.files.push(shown.clone());
        let bytes = std::fs::read(path).map_err(|e| Diagnostic::error("YS0001", format!("cannot read {shown}: {e}")))?;
        let text = decode(&bytes, spec.encoding, shown, source_id)?;
        let (first, rows_before) = (batches.len(), stats.rows_read);
        read_csv_text(source_id, spec, &schema, &text, shown, &mut batches, &mut stats)?;
        stats.record_file(shown, rows_before, &batches[first..]);
    }
    stats.check_optional(source_id, spec)?;
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
    stats.record_file(shown, 0, &batches);
    stats.check_optional(source_id, spec)?;
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

/// How a declared column gets its values in one file.
#[derive(Debug, Clone)]
enum Binding<'a> {
    /// From this field of each row (0-based).
    Field(usize),
    /// An optional column the file lacks: null.
    Absent,
    /// The same value in every row: read from the file's name.
    Constant(Value<'a>),
}

/// Where each declared column is found in one file: its header (from `header_line` of
/// the file), or its name.
fn bind_columns<'a>(
    spec: &'a SourceSpec,
    headers: &csv::StringRecord,
    text: &str,
    header_line: usize,
    shown: &'a str,
    source_id: &str,
) -> Result<Vec<Binding<'a>>, Diagnostic> {
    let names: Vec<&str> = headers.iter().map(|h| h.trim_start_matches('\u{FEFF}')).collect();
    let mut from_name = super::file_name_values(source_id, spec, shown)?;
    let mut out = vec![];
    for (col, cs) in &spec.columns {
        if let Some(v) = from_name.shift_remove(col.as_str()) {
            out.push(Binding::Constant(v));
            continue;
        }
        match locate_column(col, cs, &names) {
            Ok(i) => out.push(Binding::Field(i)),
            Err(Unbound::Missing) if cs.optional => out.push(Binding::Absent),
            Err(why) => {
                let d = why.diagnostic(col, &names, shown, source_id).at(cs.span, "declared here");
                return Err(if matches!(why, Unbound::Missing) { header_help(d, spec, text, header_line, source_id) } else { d });
            }
        }
    }
    Ok(out)
}

/// How many lines of a file a missing-column error shows, and how far down it looks for
/// the header.
const SHOWN_LINES: usize = 5;
const HEADER_SEARCH_LINES: usize = 30;

/// A declared column is not in the header: show the file's first lines, and when a line
/// further down has every declared column, say `header_row: <that line>`.
fn header_help(d: Diagnostic, spec: &SourceSpec, text: &str, header_line: usize, source_id: &str) -> Diagnostic {
    let lines: Vec<&str> = text.lines().take(HEADER_SEARCH_LINES).collect();
    let mut message = format!("{}\n  the header is read from line {header_line}; the file begins:", d.message);
    for (i, line) in lines.iter().take(SHOWN_LINES.max(header_line.min(HEADER_SEARCH_LINES))).enumerate() {
        message.push_str(&format!("\n  {:>3} | {}", i + 1, shown_line(line)));
    }
    let delimiter = u8::try_from(spec.delimiter).unwrap_or(b',');
    let found = lines.iter().enumerate().find(|(i, line)| {
        let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(line.as_bytes());
        let Some(Ok(record)) = reader.records().next() else { return false };
        let names: Vec<&str> = record.iter().collect();
        i + 1 != header_line
            && spec.columns.iter().all(|(col, cs)| cs.optional || cs.from_file_name.is_some() || locate_column(col, cs, &names).is_ok())
    });
    let help = match found {
        Some((i, _)) => format!("line {} has every declared column: set `header_row: {}` on source `{source_id}`", i + 1, i + 1),
        None => format!(
            "{} (if the header is not on line {header_line}, set `header_row:` on source `{source_id}` to its line)",
            d.help.clone().unwrap_or_default()
        ),
    };
    Diagnostic { message, ..d }.help(help)
}

/// A line of a data file as an error shows it: at most 120 characters, control
/// characters escaped.
fn shown_line(line: &str) -> String {
    let mut out: String = line
        .trim_end_matches('\r')
        .chars()
        .take(120)
        .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
        .collect();
    if line.chars().count() > 120 {
        out.push_str(" ...");
    }
    out
}

/// Whether a line holds nothing but delimiters and spaces (`,,,,` from Excel).
fn is_blank_line(line: &str, delimiter: u8) -> bool {
    line.bytes().all(|b| b == delimiter || b.is_ascii_whitespace())
}

/// The text from the header on, and how many lines come before it: the lines above
/// `header_row`, then blank lines (counted) where the header should be.
fn from_header<'t>(text: &'t str, spec: &SourceSpec, delimiter: u8, stats: &mut SourceStats) -> (&'t str, usize) {
    let next_line = |offset: usize| text[offset..].find('\n').map_or(text.len(), |i| offset + i + 1);
    let (mut offset, mut before) = (0, 0);
    while before + 1 < spec.header_row && offset < text.len() {
        offset = next_line(offset);
        before += 1;
    }
    while offset < text.len() && is_blank_line(&text[offset..next_line(offset)], delimiter) {
        offset = next_line(offset);
        before += 1;
        stats.blank_lines += 1;
    }
    (&text[offset..], before)
}

/// Line numbers from byte offsets, counted forward once. (The csv crate's own line of a
/// record is one short after a CRLF line end: it counts the `\n` with the next record.)
#[derive(Default)]
struct LineCounter {
    byte: usize,
    newlines: usize,
}

impl LineCounter {
    /// The 1-based line of the record starting at `byte` (offsets only grow).
    fn at(&mut self, text: &str, byte: usize) -> usize {
        let bytes = text.as_bytes();
        // A record "starting" on the `\n` of a CRLF starts after it.
        let start = if bytes.get(byte) == Some(&b'\n') { byte + 1 } else { byte }.min(bytes.len());
        if start >= self.byte {
            self.newlines += bytes[self.byte..start].iter().filter(|b| **b == b'\n').count();
            self.byte = start;
        }
        self.newlines + 1
    }
}

/// A row that could not be read, held until the file shows whether a readable row follows
/// it (then it is an error, or its bad values join the file's list) or not (a trailing note).
enum Unread {
    /// The wrong number of fields: this error.
    Fields(Diagnostic),
    /// Values that cannot be read under `on_invalid: error`: their descriptions, how many,
    /// and the most specific fix.
    Values(Vec<String>, u64, Option<String>),
    /// A row held after a `Fields` one or after [`MAX_REPORTED`] others: only its number
    /// of bad values (0 for the wrong number of fields) still matters.
    Counted(u64),
}

/// Hold one more unread row, keeping only what its error could still show.
fn hold(unread: &mut Vec<Unread>, row: Unread) {
    let shown_enough = unread.len() >= MAX_REPORTED || unread.iter().any(|u| matches!(u, Unread::Fields(_)));
    unread.push(match row {
        Unread::Values(_, total, _) if shown_enough => Unread::Counted(total),
        Unread::Fields(_) if shown_enough => Unread::Counted(0),
        row => row,
    });
}

/// The values that cannot be read in one file, for its one error.
#[derive(Default)]
struct Problems {
    listed: Vec<String>,
    total: u64,
    hint: Option<String>,
}

impl Problems {
    fn add(&mut self, listed: Vec<String>, total: u64, hint: Option<String>) {
        self.total += total;
        if self.hint.is_none() {
            self.hint = hint;
        }
        for p in listed {
            if self.listed.len() < MAX_REPORTED {
                self.listed.push(p);
            }
        }
    }

    /// Held rows become errors: the first with the wrong number of fields is returned, bad
    /// values join the list.
    fn flush(&mut self, unread: &mut Vec<Unread>) -> Result<(), Diagnostic> {
        for u in unread.drain(..) {
            match u {
                Unread::Fields(d) => return Err(d),
                Unread::Values(listed, total, hint) => self.add(listed, total, hint),
                Unread::Counted(total) => self.total += total,
            }
        }
        Ok(())
    }
}

const TRAILING_HELP: &str =
    "if the last lines of the file are notes or totals, not rows, set `trailing_notes: skip` on the source to skip (and count) them";

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
    let (body, before) = from_header(text, spec, delimiter, stats);
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).flexible(true).from_reader(body.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Diagnostic::error("YS0301", format!("{shown}:{}: cannot read the header row: {e}", before + 1)))?
        .clone();
    let bindings = bind_columns(spec, &headers, text, before + 1, shown, source_id)?;
    let columns: Vec<(&String, &ColumnSpec)> = spec.columns.iter().collect();
    let mut builders: Vec<ColumnBuilder> = columns.iter().map(|(_, c)| ColumnBuilder::new(c.ty)).collect();
    let mut file_builder = spec.file_column.as_ref().map(|_| StringBuilder::new());
    // Each row's line in the file (row provenance, for data checks' example rows).
    let mut line_builder = Int64Builder::new();
    let file_index = stats.files.len().saturating_sub(1);
    let rows_before = stats.rows_read;
    let mut problems = Problems::default();
    // Rows that could not be read, not yet known to be followed by a readable row.
    let mut unread: Vec<Unread> = vec![];
    let mut record = csv::StringRecord::new();
    let mut lines = LineCounter::default();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize + before).unwrap_or(0);
                return Err(Diagnostic::error("YS0301", format!("{shown}:{line}: malformed CSV: {e}")));
            }
        }
        let line = lines.at(body, record.position().map_or(0, |p| p.byte() as usize)) + before;
        // A fully empty line (Excel leaves runs of `,,,,` at the end) is not a row: counted.
        if record.iter().all(|f| f.trim().is_empty()) {
            stats.blank_lines += 1;
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
            if spec.on_invalid == OnInvalid::Skip {
                problems.flush(&mut unread)?;
                stats.rows_read += 1;
                stats.rows_skipped += 1;
                *stats.invalid_values.entry("(fields per row)".to_string()).or_insert(0) += 1;
                continue;
            }
            hold(
                &mut unread,
                Unread::Fields(
                Diagnostic::error("YS0301", format!("{shown}:{line}: the row has {} fields, the header has {}", record.len(), headers.len()))
                    .help(format!(
                        "{} or set `on_invalid: skip` on source `{source_id}` to skip (and count) such rows",
                        if record.len() < headers.len() {
                            "the row is cut short (a truncated file, or an opening quote `\"` without its closing one on an earlier line): fix the file,"
                        } else {
                            "a value holds the delimiter without quotes, or the row has extra cells: fix the file, check `delimiter`,"
                        }
                    )),
            ));
            continue;
        }
        let mut row_values: Vec<Value> = Vec::with_capacity(columns.len());
        let mut skip = false;
        let mut bad = Problems::default();
        for (i, (name, cs)) in columns.iter().enumerate() {
            let (raw, position) = match &bindings[i] {
                Binding::Field(p) => (record.get(*p).unwrap_or(""), p + 1),
                Binding::Absent => ("", 0),
                Binding::Constant(v) => {
                    row_values.push(v.clone());
                    continue;
                }
            };
            let value = if is_null(raw, spec) {
                Value::Null
            } else {
                match parse_value(raw, cs, spec).filter(|v| in_valid_years(v, spec.valid_years)) {
                    Some(v) => v,
                    None => {
                        let policy = cs.on_invalid.unwrap_or(spec.on_invalid);
                        match policy {
                            OnInvalid::Null => {
                                *stats.invalid_values.entry((*name).clone()).or_insert(0) += 1;
                            }
                            OnInvalid::Skip => {
                                *stats.invalid_values.entry((*name).clone()).or_insert(0) += 1;
                                skip = true;
                            }
                            OnInvalid::Error => bad.add(
                                vec![format!(
                                    "{shown}:{line}: column `{name}` (column {position} of the file): cannot read {raw:?} as {}",
                                    describe_type(cs)
                                )],
                                1,
                                fix_for(raw, name, cs, spec),
                            ),
                        }
                        Value::Null
                    }
                }
            };
            row_values.push(value);
        }
        if bad.total > 0 {
            hold(&mut unread, Unread::Values(bad.listed, bad.total, bad.hint));
            continue;
        }
        // A readable row: the rows held before it were rows, not trailing notes.
        problems.flush(&mut unread)?;
        stats.rows_read += 1;
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
        line_builder.append_value(line as i64);
        if builders.first().map(|b| b.len()).unwrap_or(0) >= BATCH_ROWS {
            batches.push(finish_batch(schema, &mut builders, file_builder.as_mut())?);
            stats.origins.push(BatchOrigin { file: file_index, lines: Some(Arc::new(line_builder.finish())) });
        }
    }
    // Lines after the last readable row that cannot be read: notes, totals.
    let mut trailing_help = false;
    if !unread.is_empty() {
        if spec.trailing_notes == TrailingNotes::Skip {
            stats.trailing_notes += unread.len() as u64;
            unread.clear();
        } else {
            // Only the last lines are wrong: they may be notes.
            trailing_help = problems.total == 0;
            for u in unread.iter_mut() {
                if let Unread::Fields(d) = u {
                    let help = format!("{}; {TRAILING_HELP}", d.help.clone().unwrap_or_default());
                    *d = d.clone().help(help);
                }
            }
            problems.flush(&mut unread)?;
        }
    }
    if problems.total > 0 {
        let mut message = format!("source `{source_id}`: {} value(s) cannot be read in {shown}\n", problems.total);
        for p in &problems.listed {
            message.push_str("  ");
            message.push_str(p);
            message.push('\n');
        }
        let mut general = match problems.hint {
            Some(h) => format!("{h}; or set `on_invalid: null` (or `skip`) on the column or on source `{source_id}` in yardstick.yaml"),
            None => format!(
                "fix the data, declare the column's right type{}, or set `on_invalid: null` (or `skip`) on the column or on source `{source_id}` in yardstick.yaml",
                " (and `format` for dates and timestamps)"
            ),
        };
        if trailing_help {
            general = format!("{general}; {TRAILING_HELP}");
        }
        return Err(Diagnostic::error("YS0301", message.trim_end().to_string()).help(general));
    }
    let rows = stats.rows_read - rows_before;
    for (i, (name, _)) in columns.iter().enumerate() {
        if matches!(bindings[i], Binding::Absent) {
            stats.missing_optional(name, shown, rows);
        }
    }
    if builders.first().map(|b| b.len()).unwrap_or(0) > 0 || (builders.is_empty() && file_builder.is_some()) {
        batches.push(finish_batch(schema, &mut builders, file_builder.as_mut())?);
        stats.origins.push(BatchOrigin { file: file_index, lines: Some(Arc::new(line_builder.finish())) });
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
fn fix_for(raw: &str, name: &str, cs: &ColumnSpec, spec: &SourceSpec) -> Option<String> {
    let t = raw.trim();
    let years = spec.valid_years;
    if let Some(v) = parse_value(raw, cs, spec).filter(|v| !in_valid_years(v, years)) {
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
        let lacks = |keyword: &str| !cs.formats.iter().any(|f| f == keyword);
        if lacks("excel") && super::excel_serial(t).is_some() {
            return Some(format!(
                "`{t}` looks like an Excel serial day number (days since 1899-12-30): add `excel` to the formats of column `{name}`, e.g. `format: [excel, \"%d/%m/%Y\"]`"
            ));
        }
        if lacks("fiscal_year") && super::fiscal_year_label(t, 4).is_some() {
            return Some(format!(
                "`{t}` looks like a fiscal-year label: write `format: fiscal_year` on column `{name}` (the first day of that fiscal year, from `calendar.fiscal_year_start`)"
            ));
        }
        if !lacks("fiscal_year") && spec.fiscal_start_month == 1 && super::fiscal_year_label(t, 4).is_some() {
            return Some(format!(
                "`{t}` spans two calendar years, but without `calendar.fiscal_year_start` the fiscal year is the calendar year: set it (e.g. `fiscal_year_start: \"04-01\"`)"
            ));
        }
        if lacks("quarter") && super::quarter_label(t).is_some() {
            return Some(format!("`{t}` looks like a quarter label: write `format: quarter` on column `{name}` (the quarter's first day)"));
        }
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
