//! GitHub Actions workflow commands: `::error file=metrics/x.kpi,line=3,col=7,endLine=3,
//! endColumn=12,title=YS0201::message`. GitHub shows each as an annotation on that line of
//! the pull request's diff when `file` is relative to the repository's top.

use super::Place;
use crate::diagnostics::{Diagnostic, escape_text};
use crate::span::SourceMap;

/// One line per diagnostic (all of them: annotations are cheap and GitHub groups them).
pub fn render(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&command(d, sources));
        out.push('\n');
    }
    out
}

fn command(d: &Diagnostic, sources: &SourceMap) -> String {
    let kind = if d.is_error() { "error" } else { "warning" };
    let mut props = vec![];
    if let Some(p) = d.span.and_then(|s| Place::of(s, sources)) {
        props.push(("file", p.file));
        props.push(("line", p.line.to_string()));
        props.push(("col", p.column.to_string()));
        props.push(("endLine", p.end_line.to_string()));
        props.push(("endColumn", p.end_column.to_string()));
    }
    props.push(("title", d.code.to_string()));
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    annotation(kind, &props, &message)
}

/// One workflow command: `::<kind> <name>=<value>,...::<message>`, everything encoded.
pub fn annotation(kind: &str, props: &[(&str, String)], message: &str) -> String {
    let props: Vec<String> = props.iter().map(|(k, v)| format!("{k}={}", property(v))).collect();
    format!("::{kind} {}::{}", props.join(","), data(message))
}

/// The message part: `%`, CR and LF encoded (GitHub decodes them; a raw newline would end
/// the command), terminal control characters shown escaped.
fn data(s: &str) -> String {
    escape_text(s).replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A property value: also `:` and `,`, which separate properties.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}
