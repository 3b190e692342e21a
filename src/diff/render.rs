//! `yardstick diff` output: plain text for a terminal, and Markdown ready to post as a
//! pull-request comment (a summary table, what needs attention, then each KPI's definition
//! and SQL diffs in `<details>` blocks).

use super::values::{Latest, ValueChange};
use super::{Change, Kind, KpiDiff, ProjectDiff};
use crate::diagnostics::escape_text;

/// `diff --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DiffFormat {
    /// For a terminal.
    #[default]
    Text,
    /// A pull-request comment (GitHub-flavoured Markdown).
    Markdown,
}

/// GitHub refuses comments longer than 65,536 characters: details are left out beyond this.
pub const MAX_MARKDOWN: usize = 60_000;

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

fn counts(d: &ProjectDiff) -> String {
    let mut parts = vec![];
    for kind in ["changed", "added", "removed", "renamed"] {
        let n = d.kpis.iter().filter(|k| k.kind.name() == kind).count();
        if n > 0 {
            parts.push(format!("{n} {kind}"));
        }
    }
    let s = if d.kpis.len() == 1 { "" } else { "s" };
    format!("{} KPI{s}: {}", d.kpis.len(), parts.join(", "))
}

fn latest_text(l: Option<&Latest>, unit: &str) -> String {
    match l {
        None => "–".to_string(),
        Some(l) => match l.value {
            Some(v) => crate::report::format_value(Some(v), unit),
            None => "(by group)".to_string(),
        },
    }
}

fn status_text(l: Option<&Latest>) -> &'static str {
    l.map(|l| l.status.name()).unwrap_or("–")
}

/// `value 91.2% -> 93% (latest period: 2024-12-01); status off_track -> on_track; 12 of 24
/// periods changed` (a side that is the same is written once).
fn values_line(v: &ValueChange, arrow: &str) -> String {
    let period =
        v.new.as_ref().or(v.old.as_ref()).and_then(|l| l.period.clone()).map(|p| format!(" (latest period: {p})")).unwrap_or_default();
    let moved = |a: String, b: String| if a == b { a } else { format!("{a} {arrow} {b}") };
    format!(
        "value {}{period}; status {}; {} of {} periods changed",
        moved(latest_text(v.old.as_ref(), &v.old_unit), latest_text(v.new.as_ref(), &v.unit)),
        moved(status_text(v.old.as_ref()).to_string(), status_text(v.new.as_ref()).to_string()),
        v.changed,
        v.total
    )
}

fn heading_id(k: &KpiDiff) -> String {
    match &k.kind {
        Kind::Renamed { from } => format!("{from} -> {}", k.id),
        _ => k.id.clone(),
    }
}

/// For a terminal.
pub fn text(d: &ProjectDiff) -> String {
    let mut out = String::new();
    let project = if d.path.is_empty() { String::new() } else { format!(", project {}", d.path) };
    out.push_str(&format!("yardstick diff {} ({}) -> working tree{project}\n", d.rev, short(&d.commit)));
    if d.new_project {
        out.push_str("the project does not exist at that revision: every KPI is new\n");
    }
    if !d.files_changed.is_empty() {
        out.push_str(&format!("definition files changed: {}\n", d.files_changed.join(", ")));
    }
    if let Some(e) = &d.old_build_error {
        out.push_str(&format!("the old definitions do not build on today's data, so their values are not shown: {e}\n"));
    }
    if d.kpis.is_empty() {
        out.push_str("\nno KPI differs\n");
        return escape_text(&out).into_owned();
    }
    out.push_str(&format!("\n{}\n\n", counts(d)));
    for k in &d.kpis {
        out.push_str(&format!("{:<8} {} \"{}\"\n", k.kind.name(), heading_id(k), k.title));
        for c in k.changes.iter().filter(|c| c.what != "renamed") {
            out.push_str(&format!("    {}\n", c.text("->")));
        }
        if let Some(v) = &k.values {
            out.push_str(&format!("    {}\n", values_line(v, "->")));
        }
    }
    let attention: Vec<(String, String)> = d.kpis.iter().flat_map(|k| k.attention().into_iter().map(|a| (k.id.clone(), a))).collect();
    if !attention.is_empty() {
        out.push_str(&format!("\nneeds attention ({}):\n", attention.len()));
        for (id, a) in &attention {
            out.push_str(&format!("  ! {id}: {a}\n"));
        }
    }
    for k in &d.kpis {
        if !k.definition_diff.is_empty() {
            out.push_str(&format!("\n--- {}: definition\n{}", heading_id(k), k.definition_diff));
        }
        if !k.sql_diff.is_empty() {
            out.push_str(&format!("\n--- {}: SQL\n{}", heading_id(k), k.sql_diff));
        }
    }
    escape_text(&out).into_owned()
}

/// Text in Markdown, outside code: what Markdown or HTML would read as markup is escaped.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape_text(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text as inline code; `in_table` escapes `|` (GitHub's tables split cells on it, even
/// inside code).
fn code(s: &str, in_table: bool) -> String {
    let s = escape_text(s).replace(['\n', '\r'], " ");
    let s = if in_table { s.replace('|', "\\|") } else { s };
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A change in Markdown: the values as code.
fn md_change(c: &Change, in_table: bool) -> String {
    match (&c.old, &c.new) {
        (Some(o), Some(n)) => format!("{}{} {} → {}", md(&c.what), c.separator(), code(o, in_table), code(n, in_table)),
        (Some(v), None) | (None, Some(v)) => format!("{}: {}", md(&c.what), code(v, in_table)),
        (None, None) => md(&c.what),
    }
}

fn html(s: &str) -> String {
    escape_text(s).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A fenced block that no line of `body` can close.
fn fenced(lang: &str, body: &str) -> String {
    let longest = body.lines().map(|l| l.trim_start().chars().take_while(|c| *c == '`').count()).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{lang}\n{}{fence}\n", escape_text(body))
}

/// For a pull-request comment.
pub fn markdown(d: &ProjectDiff) -> String {
    let mut out = String::new();
    out.push_str(&format!("### yardstick diff: {} ({}) → this change\n\n", code(&d.rev, false), code(short(&d.commit), false)));
    if d.new_project {
        out.push_str("The project does not exist at that revision: every KPI is new.\n\n");
    }
    if d.kpis.is_empty() {
        out.push_str("No KPI differs.");
        if !d.files_changed.is_empty() {
            let files: Vec<String> = d.files_changed.iter().map(|f| code(f, false)).collect();
            out.push_str(&format!(" Definition files changed: {}.", files.join(", ")));
        }
        out.push('\n');
        return out;
    }
    let place = if d.path.is_empty() { String::new() } else { format!(" in {}", code(&d.path, false)) };
    out.push_str(&format!("**{}**{place}.", md(&counts(d)),));
    if !d.files_changed.is_empty() {
        let files: Vec<String> = d.files_changed.iter().map(|f| code(f, false)).collect();
        out.push_str(&format!(" Definition files changed: {}.", files.join(", ")));
    }
    out.push_str("\n\n");
    if let Some(e) = &d.old_build_error {
        out.push_str(&format!("The old definitions do not build on today's data, so their values are not shown: {}\n\n", md(e)));
    }
    if d.with_values {
        out.push_str("| | KPI | What changed | Latest value | Status | Periods changed |\n|---|---|---|---|---|---|\n");
    } else {
        out.push_str("| | KPI | What changed |\n|---|---|---|\n");
    }
    for k in &d.kpis {
        let flag = if k.attention().is_empty() { "" } else { "⚠️ " };
        let id = match &k.kind {
            Kind::Renamed { from } => format!("{} → {}", code(from, true), code(&k.id, true)),
            _ => code(&k.id, true),
        };
        let changes: Vec<String> = k.changes.iter().filter(|c| c.what != "renamed").map(|c| md_change(c, true)).collect();
        let changes = if changes.is_empty() { "–".to_string() } else { changes.join("<br>") };
        out.push_str(&format!("| {flag}{} | {id}<br>{} | {changes} |", k.kind.name(), md(&k.title)));
        if let Some(v) = &k.values {
            let arrow = |a: String, b: String| if a == b { a } else { format!("{a} → {b}") };
            out.push_str(&format!(
                " {} | {} | {} of {} |",
                md(&arrow(latest_text(v.old.as_ref(), &v.old_unit), latest_text(v.new.as_ref(), &v.unit))),
                md(&arrow(status_text(v.old.as_ref()).to_string(), status_text(v.new.as_ref()).to_string())),
                v.changed,
                v.total
            ));
        } else if d.with_values {
            out.push_str(" – | – | – |");
        }
        out.push('\n');
    }
    let mut attention = vec![];
    for k in &d.kpis {
        for c in k.changes.iter().filter(|c| c.attention.is_some()) {
            attention.push(format!("- {}: {} ({})\n", code(&k.id, false), md(c.attention.as_deref().unwrap_or("")), md_change(c, false)));
        }
        if let Some(why) = k.values.as_ref().and_then(|v| v.improved_by_definition("→")) {
            attention.push(format!("- {}: {}\n", code(&k.id, false), md(&why)));
        }
    }
    if !attention.is_empty() {
        out.push_str(&format!("\n#### ⚠️ Needs attention ({})\n\n", attention.len()));
        out.extend(attention);
    }
    let mut details = vec![];
    for k in &d.kpis {
        if k.definition_diff.is_empty() && k.sql_diff.is_empty() {
            continue;
        }
        let heading = match &k.kind {
            Kind::Renamed { from } => format!("{from} → {}", k.id),
            _ => k.id.clone(),
        };
        let mut block = format!("\n<details>\n<summary><code>{}</code>: definition and SQL</summary>\n\n", html(&heading));
        if !k.definition_diff.is_empty() {
            block.push_str(&format!("Definition:\n\n{}\n", fenced("diff", &k.definition_diff)));
        }
        if !k.sql_diff.is_empty() {
            block.push_str(&format!("SQL:\n\n{}\n", fenced("diff", &k.sql_diff)));
        }
        block.push_str("</details>\n");
        details.push(block);
    }
    let mut shown = 0;
    for block in &details {
        if out.len() + block.len() > MAX_MARKDOWN {
            break;
        }
        out.push_str(block);
        shown += 1;
    }
    if shown < details.len() {
        out.push_str(&format!(
            "\n({} more KPI diffs are not shown: the comment would be too long. Run `yardstick diff {}` to see them.)\n",
            details.len() - shown,
            md(&d.rev)
        ));
    }
    out
}
