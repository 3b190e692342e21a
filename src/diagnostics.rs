//! Diagnostics: every user-facing error or warning, with a stable code, a span, a message,
//! labels and a help line. Stages collect them; the edge (CLI) renders them once with miette.
//!
//! Codes are listed in [`CODES`] and documented in docs/errors.md; a code, once published,
//! keeps its meaning.

use std::fmt;

use crate::span::{SourceMap, Span};

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
    ("YS0100", "syntax error in a .kpi file"),
    ("YS0101", "invalid literal"),
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
    ("YS0300", "data file not found"),
    ("YS0301", "bad value in a data file"),
    ("YS0302", "column missing from a data file"),
    ("YS0303", "cannot decode a data file"),
    ("YS0304", "path outside the project"),
    ("YS0400", "query failed"),
    ("YS0401", "too many periods"),
    ("YS0500", "cannot write the report"),
    // Warnings: the build succeeds, the affected values are flagged.
    ("YS0900", "rows a grained or scoped KPI cannot place in time"),
    ("YS0901", "`where` matches no row"),
    ("YS0902", "KPI has no value in any period"),
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

    /// Render with miette's graphical handler (colours off when `color` is false).
    pub fn render(&self, sources: &SourceMap, color: bool) -> String {
        let mut out = String::new();
        for d in &self.0 {
            out.push_str(&render_one(d, sources, color));
        }
        let errors = self.0.iter().filter(|d| d.is_error()).count();
        let warnings = self.0.len() - errors;
        out.push_str(&format!(
            "{} error{}{}\n",
            errors,
            if errors == 1 { "" } else { "s" },
            if warnings > 0 { format!(", {warnings} warning{}", if warnings == 1 { "" } else { "s" }) } else { String::new() }
        ));
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{}[{}]: {}", if d.is_error() { "error" } else { "warning" }, d.code, d.message)?;
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
    source: Option<miette::NamedSource<String>>,
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
    if let Some(span) = d.span {
        let file = sources.get(span.file);
        let (line, col) = sources.line_col(span);
        location = format!("{}:{}:{}", file.name, line, col);
        source = Some(miette::NamedSource::new(file.name.clone(), file.text.clone()));
        let label = if d.label.is_empty() { None } else { Some(d.label.clone()) };
        labels.push(miette::LabeledSpan::new_primary_with_span(label, clamp(span, &file.text)));
        for l in d.secondary.iter().filter(|l| l.span.file == span.file) {
            labels.push(miette::LabeledSpan::new_with_span(Some(l.message.clone()), clamp(l.span, &file.text)));
        }
    }
    let message = if location.is_empty() { d.message.clone() } else { format!("{location}: {}", d.message) };
    let md = MietteDiagnostic { code: d.code, severity: d.severity, message, help: d.help.clone(), source, labels };
    let theme = if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, &md).is_err() {
        out = format!("{}[{}]: {}\n", if d.is_error() { "error" } else { "warning" }, d.code, md.message);
    }
    out.push('\n');
    out
}

fn clamp(span: Span, text: &str) -> miette::SourceSpan {
    let start = (span.start as usize).min(text.len());
    let end = (span.end as usize).clamp(start, text.len());
    (start, end - start).into()
}
