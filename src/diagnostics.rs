//! Diagnostics: every user-facing error or warning, with a stable code, a span, a message,
//! labels and a help line. Stages collect them; the edge (CLI) renders them once with miette.
//!
//! Codes are listed in [`CODES`] and documented in docs/errors.md; a code, once published,
//! keeps its meaning.

use std::fmt;

use crate::span::{SourceMap, Span};

pub mod render;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// The primary place; `None` only for errors that are about no file at all.
    pub span: Option<Span>,
    pub label: String,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
    /// The KPI a build-time warning is about (results.json `warnings[].kpi`, its card).
    pub kpi: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span: None,
            label: String::new(),
            secondary: vec![],
            help: None,
            kpi: None,
        }
    }

    pub fn about_kpi(mut self, id: impl Into<String>) -> Self {
        self.kpi = Some(id.into());
        self
    }

    /// A warning: the build goes on, the value it concerns is flagged (CLI, results.json
    /// `warnings`, the KPI's card); `--deny-warnings` / `build --strict` make it fail.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.span = Some(span);
        self.label = label.into();
        self
    }

    pub fn also(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push(Label { span, message: label.into() });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Every diagnostic code yardstick emits, with a one-line summary (docs/errors.md explains each).
pub const CODES: &[(&str, &str)] = &[
    ("YS0001", "cannot read a file or directory"),
    ("YS0002", "invalid yardstick.yaml"),
    ("YS0003", "no .kpi files found"),
    ("YS0004", "no KPIs defined"),
    ("YS0005", "cannot create a starter project"),
    ("YS0006", "unknown KPI or error code on the command line"),
    ("YS0100", "syntax error in a .kpi file"),
    ("YS0101", "invalid literal"),
    ("YS0102", "definition too deep or too large"),
    ("YS0200", "unknown source"),
    ("YS0201", "unknown column"),
    ("YS0202", "duplicate name"),
    ("YS0203", "clause given twice"),
    ("YS0204", "required clause missing"),
    ("YS0205", "unknown grain"),
    ("YS0206", "grain without a time column"),
    ("YS0207", "time column is not a date or timestamp"),
    ("YS0210", "type mismatch"),
    ("YS0211", "unknown function"),
    ("YS0212", "wrong number or kind of arguments"),
    ("YS0213", "aggregate where a row value is expected"),
    ("YS0214", "row value where a measure is expected"),
    ("YS0220", "target unit does not match the KPI's unit"),
    ("YS0221", "unknown unit"),
    ("YS0222", "target, tolerance, direction or baseline does not fit the KPI"),
    ("YS0223", "time window or comparison does not fit the KPI's grain"),
    ("YS0224", "invalid date scope"),
    ("YS0230", "derived KPI cannot be computed from its inputs"),
    ("YS0232", "`change` or `relative_change` written wrong"),
    ("YS0240", "event, rebase, benchmark or spc option does not fit the KPI"),
    ("YS0241", "bad events or benchmarks file"),
    ("YS0250", "`audience` or `suppress` clause written wrong"),
    ("YS0251", "personal (`pii`) column shown as a group or a single value"),
    ("YS0260", "data check written wrong"),
    ("YS0261", "relationship between columns of different types"),
    ("YS0262", "data check that does not fit its KPI"),
    ("YS0300", "data file not found"),
    ("YS0301", "bad value in a data file"),
    ("YS0302", "column missing from a data file"),
    ("YS0303", "cannot decode a data file"),
    ("YS0304", "path outside the project"),
    ("YS0305", "file name does not give a column's value"),
    ("YS0306", "cannot read a PostgreSQL source"),
    ("YS0307", "PostgreSQL table not found"),
    ("YS0400", "query failed"),
    ("YS0401", "too many periods"),
    ("YS0402", "cannot run on the cluster"),
    ("YS0403", "memory limit exceeded"),
    ("YS0420", "KPI cannot be exported as SQL for this engine"),
    ("YS0421", "cannot write the SQL files"),
    ("YS0500", "cannot write the report"),
    ("YS0600", "not in a git repository"),
    ("YS0601", "git revision cannot be read"),
    // Warnings: the build succeeds, the affected values are flagged.
    ("YS0900", "rows a grained or scoped KPI cannot place in time"),
    ("YS0901", "`where` matches no row"),
    ("YS0902", "KPI has no value in any period"),
    ("YS0906", "groups that differ only in spaces around the text"),
    ("YS0910", "relative change against an earlier value of 0"),
    ("YS0911", "a benchmarks-file group that the KPI's data does not have"),
];

/// Closest candidate by edit distance, for "did you mean" help lines.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (name.len().max(c.len()) / 3).max(1) + usize::from(name.len() > 5))
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, c)| c.to_string())
}

/// Help text listing what is available, with a did-you-mean first when one is close.
pub fn suggest<'a>(what: &str, name: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> String {
    let list: Vec<&str> = candidates.clone().into_iter().collect();
    match did_you_mean(name, candidates) {
        Some(best) => format!("did you mean `{best}`?"),
        None if list.is_empty() => format!("no {what}s are declared"),
        None => {
            let shown: Vec<String> = list.iter().take(12).map(|c| format!("`{c}`")).collect();
            let more = if list.len() > 12 { ", ..." } else { "" };
            format!("available {what}s: {}{more}", shown.join(", "))
        }
    }
}

/// A set of diagnostics that ends a stage: the `Err` side of every stage entry function.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn one(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Sort by file, position, then code: output order never depends on checking order.
    pub fn sorted(mut self) -> Self {
        self.0.sort_by(|a, b| {
            (a.span.map(|s| (s.file, s.start)), a.code, &a.message).cmp(&(b.span.map(|s| (s.file, s.start)), b.code, &b.message))
        });
        self
    }

    /// Render with miette's graphical handler (colours off when `color` is false). At most
    /// [`MAX_SHOWN`] diagnostics are drawn; the summary line counts all of them.
    pub fn render(&self, sources: &SourceMap, color: bool) -> String {
        let mut out = String::new();
        for d in self.0.iter().take(MAX_SHOWN) {
            out.push_str(&render_one(d, sources, color));
        }
        out.push_str(&summary(&self.0));
        out
    }
}

/// `1 error`, `2 errors`, `1,204 warnings`: a count with thousands separators and the noun in
/// singular or plural (nouns that take an `s`).
pub fn plural(n: usize, what: &str) -> String {
    format!("{} {what}{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// What ends every human rendering: how many diagnostics were not drawn (beyond
/// [`MAX_SHOWN`]), then the count of errors and warnings (`2 errors, 1 warning`).
fn summary(all: &[Diagnostic]) -> String {
    let mut out = String::new();
    let count = |ds: &[Diagnostic]| {
        let errors = ds.iter().filter(|d| d.is_error()).count();
        (errors, ds.len() - errors)
    };
    if all.len() > MAX_SHOWN {
        let (errors, warnings) = count(&all[MAX_SHOWN..]);
        let mut parts = vec![];
        if errors > 0 {
            parts.push(plural(errors, "more error"));
        }
        if warnings > 0 {
            parts.push(plural(warnings, "more warning"));
        }
        out.push_str(&format!("... and {} (not shown)\n\n", parts.join(" and ")));
    }
    let (errors, warnings) = count(all);
    out.push_str(&plural(errors, "error"));
    if warnings > 0 {
        out.push_str(&format!(", {}", plural(warnings, "warning")));
    }
    out.push('\n');
    out
}

/// At most this many diagnostics are drawn by [`Diagnostics::render`] (the rest are counted).
pub const MAX_SHOWN: usize = 50;

/// `19950` -> `19,950` (the one number format of messages and the report), for any
/// unsigned count.
pub fn thousands(n: impl std::fmt::Display) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Characters that must not reach a terminal raw: control characters (escape sequences start
/// with one) except newline and tab, bidirectional overrides (text that reads differently from
/// what it is) and the Unicode line separators.
fn is_unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// A name in backticks longer than this is shown with its middle elided.
const MAX_QUOTED_CHARS: usize = 60;
/// Messages, labels and help lines are cut to this many chars.
const MAX_TEXT_CHARS: usize = 1_000;

/// Text for a diagnostic: unsafe characters escaped, very long quoted names shortened to their
/// start and end (`ccc…ccc`), and the whole cut to [`MAX_TEXT_CHARS`].
fn display_text(s: &str) -> String {
    let escaped = escape_text(s);
    let mut out = String::with_capacity(escaped.len().min(4 * MAX_TEXT_CHARS));
    for (i, part) in escaped.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        // Odd parts are inside backticks.
        if i % 2 == 1 && part.chars().nth(MAX_QUOTED_CHARS).is_some() {
            let n = part.chars().count();
            out.extend(part.chars().take(30));
            out.push('…');
            out.extend(part.chars().skip(n - 10));
        } else {
            out.push_str(part);
        }
    }
    match out.char_indices().nth(MAX_TEXT_CHARS) {
        Some((i, _)) => format!("{}…", &out[..i]),
        None => out,
    }
}

/// Text from a user's files made safe to print: unsafe characters are shown as `\u{1b}`.
pub fn escape_text(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe_char(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{}[{}]: {}", if d.is_error() { "error" } else { "warning" }, d.code, display_text(&d.message))?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// Adapter so miette can draw one diagnostic with its snippet.
#[derive(Debug)]
struct MietteDiagnostic {
    code: &'static str,
    severity: Severity,
    message: String,
    help: Option<String>,
    source: Option<Excerpt>,
    labels: Vec<miette::LabeledSpan>,
}

impl fmt::Display for MietteDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MietteDiagnostic {}

impl miette::Diagnostic for MietteDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.labels.is_empty() { None } else { Some(Box::new(self.labels.iter().cloned())) }
    }
}

fn render_one(d: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    let mut labels = vec![];
    let mut source = None;
    let mut location = String::new();
    if let Some(file) = d.span.and_then(|s| sources.try_get(s.file)) {
        let span = d.span.unwrap_or_default();
        let (line, col) = file.line_col(span.start as usize);
        location = format!("{}:{}:{}", display_text(&file.name), line, col);
        let mut wanted = vec![(span.range(), (!d.label.is_empty()).then(|| display_text(&d.label)), true)];
        for l in d.secondary.iter().filter(|l| l.span.file == span.file) {
            wanted.push((l.span.range(), Some(display_text(&l.message)), false));
        }
        let (excerpt, spans) = Excerpt::new(file, &wanted);
        for ((_, label, primary), span) in wanted.into_iter().zip(spans) {
            labels.push(if primary {
                miette::LabeledSpan::new_primary_with_span(label, span)
            } else {
                miette::LabeledSpan::new_with_span(label, span)
            });
        }
        source = Some(excerpt);
    }
    let message = display_text(&d.message);
    let message = if location.is_empty() { message } else { format!("{location}: {message}") };
    let mut help = d.help.as_deref().map(display_text);
    // Places in other files (the first definition of a duplicate id) cannot be drawn in this
    // snippet: they are named in words.
    let elsewhere: Vec<String> = d
        .secondary
        .iter()
        .filter(|l| Some(l.span.file) != d.span.map(|s| s.file))
        .filter_map(|l| {
            let file = sources.try_get(l.span.file)?;
            let (line, col) = file.line_col(l.span.start as usize);
            Some(format!("{}: {}:{line}:{col}", escape_text(&l.message), escape_text(&file.name)))
        })
        .collect();
    if !elsewhere.is_empty() {
        let note = elsewhere.join("; ");
        help = Some(match help {
            Some(h) => format!("{note}\n{h}"),
            None => note,
        });
    }
    let md = MietteDiagnostic { code: d.code, severity: d.severity, message, help, source, labels };
    let theme = if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
    // Words are not broken across lines: a file path in a message stays whole.
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false).with_break_words(false);
    let mut out = String::new();
    if handler.render_report(&mut out, &md).is_err() {
        out = format!("{}[{}]: {}\n", if d.is_error() { "error" } else { "warning" }, d.code, md.message);
    }
    out.push('\n');
    out
}

/// Lines longer than this many chars are shown as a window around the place.
const MAX_LINE_CHARS: usize = 200;
/// The window's width, and how much of it is before the place.
const WINDOW_CHARS: usize = 120;
const WINDOW_BEFORE: usize = 40;
/// A label over more lines than this is drawn on its first line only.
const MAX_LABEL_LINES: usize = 40;

/// What miette draws a diagnostic's snippet from: only the lines around its labels (one line of
/// context each side), with long lines cut to a window around the place and unsafe characters
/// escaped. Each run of neighbouring lines is a chunk; chunks are laid end to end in an offset
/// space of their own, and report the line numbers (and, for a label's start, the column) of
/// the real file. Work and output per diagnostic depend on the lines shown, never on the size
/// of the file.
#[derive(Debug)]
struct Excerpt {
    name: String,
    chunks: Vec<Chunk>,
    /// Start offset (in the excerpt) of each label, with its 0-based line and column in the file.
    starts: Vec<(usize, usize, usize)>,
}

#[derive(Debug)]
struct Chunk {
    /// Offset of `text` in the excerpt's offset space.
    base: usize,
    /// 0-based line of the file where the chunk starts.
    first_line: usize,
    text: String,
}

/// How one shown line maps file offsets to excerpt offsets.
struct LineMap {
    line: usize,
    /// (file offset, excerpt offset) of every char shown, then of the end of what is shown.
    marks: Vec<(usize, usize)>,
}

impl LineMap {
    fn map(&self, offset: usize) -> usize {
        let i = self.marks.partition_point(|m| m.0 < offset).min(self.marks.len() - 1);
        self.marks[i].1
    }
}

impl Excerpt {
    /// The excerpt for `labels` (byte ranges in `file`), and each label's span in it.
    fn new(
        file: &crate::span::SourceFile,
        labels: &[(std::ops::Range<usize>, Option<String>, bool)],
    ) -> (Excerpt, Vec<miette::SourceSpan>) {
        // The empty "line" after a final newline is shown only when a label is on it.
        let last_line = file.line_count() - 1;
        let last_context = if last_line > 0 && file.line_range(last_line).is_empty() { last_line - 1 } else { last_line };
        // Each label's range and lines, a very tall label cut to its first line.
        let ranges: Vec<(std::ops::Range<usize>, usize, usize)> = labels
            .iter()
            .map(|(r, ..)| {
                let mut r = file.clamp(r.clone());
                let first = file.line_of(r.start);
                let mut last = file.line_of(if r.end > r.start { r.end - 1 } else { r.end });
                if last - first > MAX_LABEL_LINES {
                    r.end = file.line_range(first).end.max(r.start);
                    last = first;
                }
                (r, first, last)
            })
            .collect();
        // Lines to show, as sorted runs.
        let mut runs: Vec<(usize, usize)> =
            ranges.iter().map(|(_, a, b)| (a.saturating_sub(1), (b + 1).min(last_context).max(*b))).collect();
        runs.sort();
        let mut merged: Vec<(usize, usize)> = vec![];
        for (a, b) in runs {
            match merged.last_mut() {
                Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let mut chunks = vec![];
        let mut maps: Vec<LineMap> = vec![];
        let mut base = 0;
        for (a, b) in merged {
            let mut text = String::new();
            for line in a..=b {
                let anchor = ranges
                    .iter()
                    .find_map(|(r, first, last)| {
                        if *first == line {
                            Some(r.start)
                        } else if *last == line {
                            Some(r.end)
                        } else {
                            None
                        }
                    })
                    .unwrap_or(file.line_range(line).start);
                maps.push(show_line(file, line, anchor, base, &mut text));
                text.push('\n');
            }
            let len = text.len();
            chunks.push(Chunk { base, first_line: a, text });
            // A gap keeps a span from reaching across two chunks.
            base += len + 1;
        }
        let map = |offset: usize, line: usize| maps.iter().find(|m| m.line == line).map(|m| m.map(offset)).unwrap_or(0);
        let mut spans = vec![];
        let mut starts = vec![];
        for (r, first, last) in &ranges {
            let start = map(r.start, *first);
            let end = map(r.end, *last).max(start);
            let col = file.line_col(r.start).1 - 1;
            starts.push((start, *first, col));
            spans.push((start, end - start).into());
        }
        (Excerpt { name: display_text(&file.name), chunks, starts }, spans)
    }
}

/// Append the shown part of `line` to `text` (whose excerpt offset is `base`): all of it, or a
/// window around `anchor` when it is long; unsafe characters escaped, a `\r` before the newline
/// dropped.
fn show_line(file: &crate::span::SourceFile, line: usize, anchor: usize, base: usize, text: &mut String) -> LineMap {
    let range = file.line_range(line);
    let line_text = &file.text[range.clone()];
    let (mut from, mut to) = (range.start, range.end);
    if line_text.chars().nth(MAX_LINE_CHARS).is_some() {
        let anchor = anchor.clamp(range.start, range.end);
        from =
            file.text[range.start..anchor].char_indices().rev().nth(WINDOW_BEFORE - 1).map(|(i, _)| range.start + i).unwrap_or(range.start);
        to = file.text[from..range.end].char_indices().nth(WINDOW_CHARS).map(|(i, _)| from + i).unwrap_or(range.end);
    }
    let mut marks = vec![];
    if from > range.start {
        text.push('…');
    }
    for (i, c) in file.text[from..to].char_indices() {
        marks.push((from + i, base + text.len()));
        if is_unsafe_char(c) {
            text.push_str(&c.escape_unicode().to_string());
        } else {
            text.push(c);
        }
    }
    marks.push((to, base + text.len()));
    if to < range.end {
        text.push('…');
    }
    LineMap { line, marks }
}

impl miette::SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let (offset, len) = (span.offset(), span.len());
        let chunk = self
            .chunks
            .iter()
            .find(|c| c.base <= offset && offset + len <= c.base + c.text.len())
            .ok_or(miette::MietteError::OutOfBounds)?;
        let local: miette::SourceSpan = (offset - chunk.base, len).into();
        let inner = chunk.text.as_str().read_span(&local, context_lines_before, context_lines_after)?;
        let data = inner.data();
        let inner_start = inner.span().offset();
        let line_count = data.iter().filter(|b| **b == b'\n').count() + usize::from(!data.ends_with(b"\n"));
        // Line of the data's start: the chunk's first line plus the newlines before it.
        let line = chunk.first_line + chunk.text.as_bytes()[..inner_start].iter().filter(|b| **b == b'\n').count();
        let mut column = inner.column();
        if context_lines_before == 0 && context_lines_after == 0 {
            // The `[file:line:col]` heading: the column in the real line, not in the excerpt.
            if let Some((_, _, col)) = self.starts.iter().find(|(start, ..)| *start == offset) {
                column = *col;
            }
        }
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            data,
            (inner_start + chunk.base, data.len()).into(),
            line,
            column,
            line_count,
        )))
    }
}
