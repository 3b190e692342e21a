//! CSV files -> batches of the declared schema: header binding, row checks, bad values.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;
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

/// A batch of one file's rows, and each row's line in the file (row provenance, for data
/// checks' example rows).
pub struct Piece {
    pub batch: RecordBatch,
    pub lines: ArrayRef,
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
    let first_lines = || text.lines().take(HEADER_SEARCH_LINES).collect::<Vec<_>>().join("\n");
    let mut origins = vec![];
    read_csv_rows(source_id, spec, &schema, text.as_bytes(), shown, &first_lines, &mut stats, &mut |piece| {
        batches.push(piece.batch);
        origins.push(BatchOrigin { file: 0, lines: Some(piece.lines) });
        Ok(())
    })?;
    stats.origins = origins;
    stats.record_file(shown, 0, &batches);
    stats.check_optional(source_id, spec)?;
    Ok((batches, stats))
}

/// One CSV file, streamed: its rows go to `emit` a batch at a time as they are read, and
/// only a few batches' worth of the file is in memory at once. The file must have passed
/// [`scan_file`] (a UTF-8 source is valid UTF-8 throughout). `stats` gets the file's counts.
pub fn read_csv_file(
    source_id: &str,
    spec: &SourceSpec,
    schema: &SchemaRef,
    path: &Path,
    shown: &str,
    stats: &mut SourceStats,
    emit: &mut dyn FnMut(Piece) -> Result<(), Diagnostic>,
) -> Result<(), Diagnostic> {
    let input = open_decoded(path, spec.encoding).map_err(|e| cannot_read(shown, &e))?;
    let first_lines = || {
        let mut text = String::new();
        if let Ok(input) = open_decoded(path, spec.encoding) {
            for line in input.split(b'\n').take(HEADER_SEARCH_LINES).map_while(Result::ok) {
                text.push_str(&String::from_utf8_lossy(&line));
                text.push('\n');
            }
        }
        text
    };
    read_csv_rows(source_id, spec, schema, input, shown, &first_lines, stats, emit)
}

fn cannot_read(shown: &str, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error("YS0001", format!("cannot read {shown}: {e}"))
}

/// The file's text as UTF-8, read as it is needed: without its byte order mark, decoded
/// from windows-1252 when so declared.
fn open_decoded(path: &Path, encoding: Encoding) -> std::io::Result<Box<dyn BufRead + Send>> {
    let file = std::fs::File::open(path)?;
    match encoding {
        Encoding::Utf8 => {
            let mut input = BufReader::with_capacity(READ_BUFFER, file);
            if input.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
                input.consume(3);
            }
            Ok(Box::new(input))
        }
        Encoding::Windows1252 => Ok(Box::new(BufReader::with_capacity(READ_BUFFER, Windows1252::new(file)))),
    }
}

const READ_BUFFER: usize = 1 << 20;

/// windows-1252 bytes -> UTF-8 text as they are read (as `decode` does for a whole file: a
/// UTF-8 byte order mark switches to UTF-8, and leading U+FEFF characters are dropped).
struct Windows1252<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    done: bool,
    /// Nothing but U+FEFF written so far.
    at_start: bool,
}

impl<R: Read> Windows1252<R> {
    fn new(inner: R) -> Self {
        let decoder = encoding_rs::WINDOWS_1252.new_decoder();
        Windows1252 { inner, decoder, input: vec![0; READ_BUFFER], start: 0, end: 0, eof: false, done: false, at_start: true }
    }
}

impl<R: Read> Read for Windows1252<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        // A decoded character takes at most 4 bytes: callers (a `BufReader`) ask for more.
        if out.len() < 4 {
            return Err(std::io::Error::other("windows-1252 decoding needs a read buffer of at least 4 bytes"));
        }
        loop {
            if self.done {
                return Ok(0);
            }
            if self.start == self.end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                (self.start, self.end, self.eof) = (0, n, n == 0);
            }
            let (result, read, mut written, _) = self.decoder.decode_to_utf8(&self.input[self.start..self.end], out, self.eof);
            self.start += read;
            if self.eof && result == encoding_rs::CoderResult::InputEmpty {
                self.done = true;
            }
            if self.at_start {
                let mut skip = 0;
                while out[skip..written].starts_with("\u{FEFF}".as_bytes()) {
                    skip += 3;
                }
                out.copy_within(skip..written, 0);
                written -= skip;
                self.at_start = written == 0;
            }
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

/// A file's content hash (the cache's key), read in one pass. A UTF-8 source is checked to
/// be UTF-8 throughout on the way, so a bad byte anywhere is the file's error before any row
/// is read (as when the whole file was decoded first).
pub fn scan_file(path: &Path, shown: &str, source_id: &str, encoding: Encoding) -> Result<blake3::Hash, Diagnostic> {
    let mut file = std::fs::File::open(path).map_err(|e| cannot_read(shown, &e))?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; READ_BUFFER];
    // Bytes of a character cut by the end of the last read.
    let mut carry: Vec<u8> = vec![];
    // Offset (after the byte order mark) and lines of the text checked so far.
    let (mut offset, mut newlines, mut first) = (0usize, 0usize, true);
    loop {
        let mut n = 0;
        while n < buf.len() {
            match file.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(cannot_read(shown, &e)),
            }
        }
        hasher.update(&buf[..n]);
        if encoding == Encoding::Utf8 {
            carry.extend_from_slice(&buf[..n]);
            let mut data = &carry[..];
            if first {
                data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
                first = false;
            }
            let valid = match std::str::from_utf8(data) {
                Ok(_) => data.len(),
                Err(e) if e.error_len().is_none() && n > 0 => e.valid_up_to(),
                Err(e) => {
                    let at = e.valid_up_to();
                    let line = newlines + data[..at].iter().filter(|b| **b == b'\n').count() + 1;
                    return Err(not_utf8(shown, source_id, line, data[at], offset + at));
                }
            };
            newlines += data[..valid].iter().filter(|b| **b == b'\n').count();
            offset += valid;
            let rest = data.len() - valid;
            carry.drain(..carry.len() - rest);
        }
        if n == 0 {
            return Ok(hasher.finalize());
        }
    }
}

fn not_utf8(shown: &str, source_id: &str, line: usize, byte: u8, at: usize) -> Diagnostic {
    Diagnostic::error("YS0303", format!("{shown}:{line}: not valid UTF-8 (byte 0x{byte:02X} at offset {at})"))
        .help(format!("if the file is from Excel or an older system, set `encoding: windows-1252` on source `{source_id}`"))
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
                    Err(not_utf8(shown, source_id, line, bytes[at], at))
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
    first_lines: &dyn Fn() -> String,
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
                return Err(if matches!(why, Unbound::Missing) { header_help(d, spec, &first_lines(), header_line, source_id) } else { d });
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
fn is_blank_line(line: &[u8], delimiter: u8) -> bool {
    line.iter().all(|b| *b == delimiter || b.is_ascii_whitespace())
}

/// The text from the header on, and how many lines come before it: the lines above
/// `header_row`, then blank lines (counted) where the header should be.
fn from_header<R: BufRead>(
    mut input: R,
    spec: &SourceSpec,
    delimiter: u8,
    stats: &mut SourceStats,
) -> std::io::Result<(std::io::Chain<std::io::Cursor<Vec<u8>>, R>, usize)> {
    let (mut line, mut before) = (vec![], 0);
    while before + 1 < spec.header_row {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        before += 1;
    }
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 || !is_blank_line(&line, delimiter) {
            break;
        }
        before += 1;
        stats.blank_lines += 1;
    }
    // The first line that is not blank is the header's: given back.
    Ok((std::io::Cursor::new(line).chain(input), before))
}

/// The bytes the CSV reader has taken from its input since the last record's start (it reads
/// ahead), for the line numbers of records: [`Tap`] adds to it, [`LineCounter`] drops what
/// it has counted.
#[derive(Default)]
struct Window {
    /// The offset of `bytes[0]` in the text after the lines above the header.
    base: usize,
    bytes: Vec<u8>,
}

/// The CSV reader's input, copying what it reads into a [`Window`].
struct Tap<R> {
    inner: R,
    window: Rc<RefCell<Window>>,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.window.borrow_mut().bytes.extend_from_slice(&out[..n]);
        Ok(n)
    }
}

/// Line numbers from byte offsets, counted forward once. (The csv crate's own line of a
/// record is one short after a CRLF line end: it counts the `\n` with the next record.)
#[derive(Default)]
struct LineCounter {
    byte: usize,
    newlines: usize,
}

impl LineCounter {
    /// The 1-based line of the record starting at `byte` (offsets only grow); counted bytes
    /// leave the window.
    fn at(&mut self, window: &mut Window, byte: usize) -> usize {
        let end = window.base + window.bytes.len();
        let at = |i: usize| if i >= window.base { window.bytes.get(i - window.base).copied() } else { None };
        // A record "starting" on the `\n` of a CRLF starts after it.
        let start = if at(byte) == Some(b'\n') { byte + 1 } else { byte }.min(end);
        if start >= self.byte {
            let from = self.byte.max(window.base) - window.base;
            self.newlines += window.bytes[from..start - window.base].iter().filter(|b| **b == b'\n').count();
            self.byte = start;
        }
        // Drop what is counted, now and then (the reader only reads on from here).
        let counted = self.byte.saturating_sub(window.base);
        if counted >= READ_BUFFER {
            window.bytes.drain(..counted);
            window.base += counted;
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

/// A file's decoded text -> its rows, batch by batch to `emit`, and its counts in `stats`.
#[allow(clippy::too_many_arguments)]
fn read_csv_rows<R: BufRead>(
    source_id: &str,
    spec: &SourceSpec,
    schema: &SchemaRef,
    input: R,
    shown: &str,
    first_lines: &dyn Fn() -> String,
    stats: &mut SourceStats,
    emit: &mut dyn FnMut(Piece) -> Result<(), Diagnostic>,
) -> Result<(), Diagnostic> {
    let delimiter = u8::try_from(spec.delimiter)
        .map_err(|_| Diagnostic::error("YS0002", format!("source `{source_id}`: the delimiter must be a single ASCII character")))?;
    let (body, before) = from_header(input, spec, delimiter, stats).map_err(|e| cannot_read(shown, &e))?;
    let window = Rc::new(RefCell::new(Window::default()));
    let tap = Tap { inner: body, window: window.clone() };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).flexible(true).from_reader(tap);
    let headers = reader
        .headers()
        .map_err(|e| Diagnostic::error("YS0301", format!("{shown}:{}: cannot read the header row: {e}", before + 1)))?
        .clone();
    let bindings = bind_columns(spec, &headers, first_lines, before + 1, shown, source_id)?;
    let columns: Vec<(&String, &ColumnSpec)> = spec.columns.iter().collect();
    let mut builders: Vec<ColumnBuilder> = columns.iter().map(|(_, c)| ColumnBuilder::new(c.ty)).collect();
    let mut file_builder = spec.file_column.as_ref().map(|_| StringBuilder::new());
    // Each row's line in the file (row provenance, for data checks' example rows).
    let mut line_builder = Int64Builder::new();
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
        let line = lines.at(&mut window.borrow_mut(), record.position().map_or(0, |p| p.byte() as usize)) + before;
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
            emit(Piece { batch: finish_batch(schema, &mut builders, file_builder.as_mut())?, lines: Arc::new(line_builder.finish()) })?;
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
        emit(Piece { batch: finish_batch(schema, &mut builders, file_builder.as_mut())?, lines: Arc::new(line_builder.finish()) })?;
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
