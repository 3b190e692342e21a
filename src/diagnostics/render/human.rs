//! Diagnostics for people. [`graphic`] is miette's drawing, for a terminal; [`plain`] is for
//! everything else (pipes, CI logs, editors' problem matchers, `--color never`): one line
//! `path:line:col: error[CODE]: message` that editors and terminals make clickable, the
//! line of the file with `^^^` under the place, then `help:`. Plain output is never wrapped
//! and uses no box-drawing characters.

use crate::diagnostics::{Diagnostic, Diagnostics, MAX_SHOWN, display_text, escape_text, show_line, summary};
use crate::span::SourceMap;

/// miette's graphical rendering (what [`Diagnostics::render`] draws).
pub fn graphic(diagnostics: &Diagnostics, sources: &SourceMap, color: bool) -> String {
    diagnostics.render(sources, color)
}

/// Plain text: at most [`MAX_SHOWN`] diagnostics, then the same summary line as [`graphic`].
pub fn plain(diagnostics: &Diagnostics, sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diagnostics.0.iter().take(MAX_SHOWN) {
        out.push_str(&plain_one(d, sources));
        out.push('\n');
    }
    out.push_str(&summary(&diagnostics.0));
    out
}

fn plain_one(d: &Diagnostic, sources: &SourceMap) -> String {
    let kind = if d.is_error() { "error" } else { "warning" };
    let mut out = String::new();
    let file = d.span.and_then(|s| sources.try_get(s.file).map(|f| (s, f)));
    if let Some((span, f)) = file {
        let (line, col) = f.line_col(span.start as usize);
        out.push_str(&format!("{}:{line}:{col}: ", display_text(&f.name)));
    }
    out.push_str(&format!("{kind}[{}]: {}\n", d.code, display_text(&d.message)));
    if let Some((span, f)) = file {
        // The primary place and the other places in the same file, by line.
        let mut marks: Vec<(std::ops::Range<usize>, &str, char)> = vec![(f.clamp(span.range()), d.label.as_str(), '^')];
        for l in d.secondary.iter().filter(|l| l.span.file == span.file) {
            marks.push((f.clamp(l.span.range()), l.message.as_str(), '-'));
        }
        marks.sort_by_key(|(r, ..)| (f.line_of(r.start), r.start));
        let width = marks.iter().map(|(r, ..)| (f.line_of(r.start) + 1).to_string().len()).max().unwrap_or(1);
        let mut shown_line = None;
        for (range, label, mark) in marks {
            let line = f.line_of(range.start);
            let mut text = String::new();
            let map = show_line(f, line, range.start, 0, &mut text);
            // A place over several lines is marked on its first line, to its end.
            let end = range.end.min(f.line_range(line).end).max(range.start);
            let (from, to) = (map.map(range.start), map.map(end));
            let indent = text[..from].chars().count();
            let len = text[from..to.max(from)].chars().count().max(1);
            // Several places on one line: the line once, a mark line for each.
            if shown_line != Some(line) {
                out.push_str(&format!("{:>width$} | {text}\n", line + 1));
                shown_line = Some(line);
            }
            let label = if label.is_empty() { String::new() } else { format!(" {}", display_text(label)) };
            out.push_str(&format!("{:>width$} | {}{}{label}\n", "", " ".repeat(indent), mark.to_string().repeat(len)));
        }
    }
    for l in d.secondary.iter().filter(|l| Some(l.span.file) != d.span.map(|s| s.file)) {
        if let Some(f) = sources.try_get(l.span.file) {
            let (line, col) = f.line_col(l.span.start as usize);
            out.push_str(&format!("  note: {}: {}:{line}:{col}\n", display_text(&l.message), escape_text(&f.name)));
        }
    }
    if let Some(help) = &d.help {
        out.push_str(&format!("  help: {}\n", display_text(help).replace('\n', "\n        ")));
    }
    out
}
