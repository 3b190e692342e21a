//! Reading data sources into Arrow with their declared types.
//!
//! CSV is parsed here, not by DataFusion's CSV reader, because public-sector extracts need
//! what it lacks: declared per-column timestamp formats (several tried in order), thousands
//! separators, yes/no booleans, windows-1252, header aliases across files, and errors that
//! name the file, line, column and the bad text. Parquet goes through DataFusion (`parquet`).
//!
//! `csv` reads CSV text, `values` reads one field by its declared type (formats, Excel
//! serial dates, period labels).

pub mod cache;
mod csv;
mod csv_source;
mod filename;
mod freshness;
mod parquet;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod stream;
mod values;

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use indexmap::IndexMap;

use crate::config::{ColumnSpec, ColumnType, SourceSpec};
use crate::diagnostics::{Diagnostic, did_you_mean};
use crate::project::{Confinement, shown_path};

pub use self::csv::{Piece, read_csv_bytes, read_csv_file, scan_file};
pub use self::csv_source::stream_csv_source;
pub use self::filename::FileNamePattern;
pub use self::freshness::FileStats;
pub use self::parquet::load_parquet;
#[cfg(feature = "postgres")]
pub use self::postgres::load_postgres;

/// Without the `postgres` feature a PostgreSQL source is an error that says how to get it.
#[cfg(not(feature = "postgres"))]
pub async fn load_postgres(
    _ctx: &datafusion::execution::context::SessionContext,
    id: &str,
    spec: &SourceSpec,
    _needed: &std::collections::HashSet<String>,
    _sink: &mut stream::Tee,
) -> Result<SourceStats, Diagnostic> {
    Err(Diagnostic::error(
        "YS0306",
        format!("source `{id}` is a PostgreSQL table, and this yardstick was built without PostgreSQL support"),
    )
    .at(spec.path_span, "a PostgreSQL table")
    .help("build yardstick with `cargo install --path . --features postgres` (docs/configuration.md, \"PostgreSQL tables\")"))
}
pub use self::values::{excel_serial, fiscal_year_label, parse_value, quarter_label};

/// What reading a source found, for the results' lineage section.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SourceStats {
    pub files: Vec<String>,
    pub rows_read: u64,
    pub rows_skipped: u64,
    /// Per column: how many values were invalid and made null or caused a skip.
    pub invalid_values: IndexMap<String, u64>,
    /// CSV: lines whose fields are all empty (not rows, not in `rows_read`).
    pub blank_lines: u64,
    /// CSV with `trailing_notes: skip`: lines after a file's last row that could not be read
    /// as rows (notes, totals), not in `rows_read`.
    pub trailing_notes: u64,
    /// Columns declared `optional` that some files lack (null in their rows): per column, in
    /// declaration order.
    pub missing_optional: IndexMap<String, MissingColumn>,
    /// Per date or timestamp column: the latest value in any file (`YYYY-MM-DD`, timestamps
    /// `YYYY-MM-DDTHH:MM:SS`): how fresh the source is.
    pub latest: IndexMap<String, String>,
    /// Per file, in `files` order: its rows and latest dates.
    pub by_file: Vec<FileStats>,
    /// `latest` as numbers, to compare.
    #[serde(skip)]
    latest_values: IndexMap<String, i64>,
    /// Where the rows of each batch come from, one entry per batch read, in order (not
    /// part of results.json: data checks' example rows name files and lines from it).
    #[serde(skip)]
    pub origins: Vec<BatchOrigin>,
}

/// The file (an index into [`SourceStats::files`]) and each row's line of one batch (CSV:
/// the line in the file; Parquet: the row's place among the file's rows read, from 1).
#[derive(Debug, Clone)]
pub struct BatchOrigin {
    pub file: usize,
    pub lines: Option<datafusion::arrow::array::ArrayRef>,
}

/// An optional column some files of a source lack.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MissingColumn {
    /// The files without it, as shown in `files`.
    pub files: Vec<String>,
    /// The rows of those files (the column is null in all of them).
    pub rows: u64,
}

impl SourceStats {
    /// A file lacks an optional column: count it and its rows.
    pub fn missing_optional(&mut self, column: &str, file: &str, rows: u64) {
        let m = self.missing_optional.entry(column.to_string()).or_default();
        m.files.push(file.to_string());
        m.rows += rows;
    }

    /// After the last file: missing optional columns in declaration order, and an optional
    /// column no file has is a misspelt header, not an optional column.
    pub fn check_optional(&mut self, source_id: &str, spec: &SourceSpec) -> Result<(), Diagnostic> {
        self.missing_optional.sort_by_key(|name, _| spec.columns.get_index_of(name));
        for (name, m) in &self.missing_optional {
            if m.files.len() == self.files.len() && !self.files.is_empty() {
                let cs = &spec.columns[name];
                return Err(Diagnostic::error(
                    "YS0302",
                    format!("source `{source_id}`: optional column `{name}` is in none of its {} file(s)", self.files.len()),
                )
                .at(cs.span, "declared here")
                .help(format!(
                    "`optional: true` is for a column some files lack; check the header name (`header:`, `aliases:`) of `{name}` against the files"
                )));
            }
        }
        Ok(())
    }
}

/// Progress: file `i` (from 0) of `n` of a source is being read.
fn report_file(source_id: &str, i: usize, n: usize, shown: &str, rows_so_far: u64) {
    crate::progress::report(|| {
        format!("reading source `{source_id}`: file {} of {n} ({shown}), {} rows so far", i + 1, crate::diagnostics::thousands(rows_so_far))
    });
}

/// The values of a file's `from_file_name` columns, by column, read from its name.
pub fn file_name_values<'a>(source_id: &str, spec: &'a SourceSpec, shown: &'a str) -> Result<IndexMap<&'a str, Value<'a>>, Diagnostic> {
    let mut out = IndexMap::new();
    for (name, cs) in &spec.columns {
        let Some(pattern) = &cs.from_file_name else { continue };
        let text = FileNamePattern::parse(pattern).ok().and_then(|p| p.value(shown));
        let Some(text) = text else {
            return Err(Diagnostic::error(
                "YS0305",
                format!("source `{source_id}`: the file name {shown} does not match `from_file_name: \"{pattern}\"` of column `{name}`"),
            )
            .at(cs.span, "declared here")
            .help(format!(
                "every file of the source must match the pattern (`{{}}` is the value, `*` any text): rename the file, or narrow `path` so it matches only such files"
            )));
        };
        let value = if is_null(text, spec) { None } else { parse_value(text, cs, spec).filter(|v| in_valid_years(v, spec.valid_years)) };
        let Some(value) = value else {
            return Err(Diagnostic::error(
                "YS0305",
                format!("source `{source_id}`: column `{name}` cannot read {text:?}, from the file name {shown}, as {}", describe_type(cs)),
            )
            .at(cs.span, "declared here")
            .help(format!(
                "give column `{name}` the `format` its file names use (a month without a day, `%Y-%m` or `%B-%Y`, reads the month's first day), or fix the file name"
            )));
        };
        out.insert(name.as_str(), value);
    }
    Ok(out)
}

pub fn is_null(raw: &str, spec: &SourceSpec) -> bool {
    let t = raw.trim();
    t.is_empty() || spec.null_values.iter().any(|n| n == t)
}

pub fn describe_type(cs: &ColumnSpec) -> String {
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
    // A PostgreSQL table has no files.
    if spec.postgres.is_some() {
        return Ok(vec![]);
    }
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

/// Microseconds (timestamps) or days (dates) since 1970 of 1 January of `year`.
fn year_start(year: i32) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(year, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// The days and microseconds since 1970 that `valid_years` allows (half-open ranges).
type YearBounds = (std::ops::Range<i32>, std::ops::Range<i64>);

fn year_bounds(years: [i32; 2]) -> Option<YearBounds> {
    let (lo, hi) = (year_start(years[0])?, year_start(years[1].saturating_add(1))?);
    Some((
        crate::plan::days_since_epoch(lo.date())..crate::plan::days_since_epoch(hi.date()),
        lo.and_utc().timestamp_micros()..hi.and_utc().timestamp_micros(),
    ))
}

thread_local! {
    /// The bounds of the `valid_years` last asked about: every value of a column asks with
    /// the same years, and computing them through chrono per value was a visible part of
    /// reading a file.
    static LAST_BOUNDS: std::cell::RefCell<Option<([i32; 2], Option<YearBounds>)>> = const { std::cell::RefCell::new(None) };
}

/// Whether a date or timestamp value lies in the source's `valid_years` (other values pass).
pub fn in_valid_years(v: &Value, years: [i32; 2]) -> bool {
    if !matches!(v, Value::Date(_) | Value::Timestamp(_)) {
        return true;
    }
    LAST_BOUNDS.with(|cell| {
        let mut last = cell.borrow_mut();
        let bounds = match &*last {
            Some((y, b)) if *y == years => b,
            _ => &last.insert((years, year_bounds(years))).1,
        };
        match (v, bounds) {
            (_, None) => true,
            (Value::Date(d), Some((days, _))) => days.contains(d),
            (Value::Timestamp(t), Some((_, micros))) => micros.contains(t),
            _ => true,
        }
    })
}
