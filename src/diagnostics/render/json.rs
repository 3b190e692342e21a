//! The JSON shape of a diagnostic (docs/cli.md "JSON output"): machine output, so texts are
//! exact (JSON escapes what a terminal must not see) and nothing is elided.

use serde::Serialize;

use super::Place;
use crate::diagnostics::Diagnostic;
use crate::span::SourceMap;

#[derive(Debug, Clone, Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    /// `error` or `warning`.
    pub severity: &'static str,
    pub message: String,
    pub help: Option<String>,
    /// The KPI it is about, when it is about one.
    pub kpi: Option<String>,
    /// `null` for the few diagnostics about no file (e.g. YS0004).
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    /// What the primary place's underline says.
    pub label: Option<String>,
    /// Other places the diagnostic points at (the first definition of a duplicate, ...).
    pub related: Vec<JsonLabel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JsonLabel {
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

pub fn diagnostic(d: &Diagnostic, sources: &SourceMap) -> JsonDiagnostic {
    let place = d.span.and_then(|s| Place::of(s, sources));
    JsonDiagnostic {
        code: d.code,
        severity: if d.is_error() { "error" } else { "warning" },
        message: d.message.clone(),
        help: d.help.clone(),
        kpi: d.kpi.clone(),
        file: place.as_ref().map(|p| p.file.clone()),
        line: place.as_ref().map(|p| p.line),
        column: place.as_ref().map(|p| p.column),
        end_line: place.as_ref().map(|p| p.end_line),
        end_column: place.as_ref().map(|p| p.end_column),
        label: place.as_ref().map(|_| d.label.clone()).filter(|l| !l.is_empty()),
        related: d
            .secondary
            .iter()
            .filter_map(|l| {
                let p = Place::of(l.span, sources)?;
                Some(JsonLabel {
                    message: l.message.clone(),
                    file: p.file,
                    line: p.line,
                    column: p.column,
                    end_line: p.end_line,
                    end_column: p.end_column,
                })
            })
            .collect(),
    }
}

/// Every diagnostic, in order.
pub fn render(diagnostics: &[Diagnostic], sources: &SourceMap) -> Vec<JsonDiagnostic> {
    diagnostics.iter().map(|d| diagnostic(d, sources)).collect()
}
