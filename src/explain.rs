//! `yardstick explain <kpi>`: a KPI in words, its lineage (source, files, columns, filters,
//! calendar, window, target rule, owners) and its SQL; `yardstick explain YS0201`: the
//! documentation of an error code, from docs/errors.md (embedded at compile time).

use std::path::Path;

use crate::ast::{self, BinaryOp, Expr, ExprKind, UnaryOp};
use crate::diagnostics::{CODES, Diagnostic, Diagnostics, escape_text, suggest};
use crate::fmt::expr as code;
use crate::model::{CheckedKpi, Model};
use crate::span::SourceMap;

/// docs/errors.md, as built into the binary.
const ERRORS_MD: &str = include_str!("../docs/errors.md");

/// The section of docs/errors.md about `code` (from its `## YSxxxx:` heading to the next
/// heading of that level), or `None` for a code without one.
pub fn error_doc(code: &str) -> Option<&'static str> {
    let heading = format!("\n## {}:", code.to_ascii_uppercase());
    let start = ERRORS_MD.find(&heading)? + 1;
    let end = ERRORS_MD[start + 3..].find("\n## ").map_or(ERRORS_MD.len(), |i| start + 3 + i + 1);
    Some(ERRORS_MD[start..end].trim_end())
}

/// Whether an argument names an error code (`YS0201`, any case) rather than a KPI.
fn is_code(arg: &str) -> bool {
    arg.len() == 6 && arg[..2].eq_ignore_ascii_case("ys") && arg[2..].bytes().all(|b| b.is_ascii_digit())
}

/// `yardstick explain [DIR] KPI` or `yardstick explain CODE`.
pub fn run(args: &[String], allow_outside: bool, color: bool) -> crate::CommandOutput {
    let fail = |d: Diagnostic| crate::CommandOutput {
        status: 1,
        stdout: String::new(),
        stderr: Diagnostics::one(d).render(&SourceMap::default(), color),
    };
    let (dir, what) = match args {
        [code] if is_code(code) => {
            return match error_doc(code) {
                Some(doc) => crate::CommandOutput::ok(format!("{doc}\n")),
                None => fail(Diagnostic::error("YS0006", format!("no error code {}", code.to_ascii_uppercase())).help(suggest(
                    "code",
                    &code.to_ascii_uppercase(),
                    CODES.iter().map(|(c, _)| *c),
                ))),
            };
        }
        [kpi] => (Path::new("."), kpi.as_str()),
        [dir, kpi] => (Path::new(dir.as_str()), kpi.as_str()),
        _ => {
            return crate::CommandOutput {
                status: 2,
                stdout: String::new(),
                stderr: "error: `yardstick explain [DIR] <KPI>` or `yardstick explain <CODE>`\n".into(),
            };
        }
    };
    let compiled = match crate::compile_with(dir, crate::Options { allow_outside, ..Default::default() }) {
        Ok(c) => c,
        Err(f) => return crate::CommandOutput::failed(&f, color),
    };
    let Some(kpi) = compiled.model.kpi(what) else {
        return fail(Diagnostic::error("YS0006", format!("no KPI `{what}` in {}", dir.display())).help(suggest(
            "KPI",
            what,
            compiled.model.kpis.iter().map(|k| k.id.as_str()),
        )));
    };
    let sql = compiled.sql().get(what).cloned();
    let text = explain_kpi(&compiled.model, kpi, &compiled.sources, dir, sql.as_deref());
    crate::CommandOutput::ok(escape_text(&text).into_owned())
}

/// The KPI's `kpi` block as parsed (for its expressions as written).
fn kpi_ast(kpi: &CheckedKpi, sources: &SourceMap) -> Option<ast::Kpi> {
    let file = crate::parse::parse_file(kpi.span.file, &sources.get(kpi.span.file).text).ok()?;
    let mut found = None;
    for g in file.goals {
        for m in g.members {
            let kpis = match m {
                ast::GoalMember::Kpi(k) => vec![k],
                ast::GoalMember::Objective(o) => {
                    o.members.into_iter().filter_map(|m| if let ast::ObjectiveMember::Kpi(k) = m { Some(k) } else { None }).collect()
                }
                ast::GoalMember::Meta(_) | ast::GoalMember::Event(_) => vec![],
            };
            found = found.or(kpis.into_iter().find(|k| k.span == kpi.span));
        }
    }
    found
}

/// The whole explanation: heading, in words, lineage, SQL.
pub fn explain_kpi(model: &Model, kpi: &CheckedKpi, sources: &SourceMap, dir: &Path, sql: Option<&str>) -> String {
    let ast = kpi_ast(kpi, sources);
    let clause = |kw: &str| {
        ast.as_ref().and_then(|a| a.clauses.iter().find(|c| c.kind.keyword() == kw)).and_then(|c| match &c.kind {
            ast::KpiClauseKind::Measure(e) | ast::KpiClauseKind::Where(e) => Some(e.clone()),
            _ => None,
        })
    };
    let (measure, filter) = (clause("measure"), clause("where"));
    let goal = model.goals.iter().find(|g| g.id == kpi.goal);
    let mut out = format!("kpi {} \"{}\"\n", kpi.id, kpi.title);
    let mut place = vec![];
    if let Some(g) = goal {
        place.push(format!("goal {} \"{}\"", g.id, g.title));
        if let Some(o) = kpi.objective.as_ref().and_then(|o| g.objectives.iter().find(|x| &x.id == o)) {
            place.push(format!("objective {} \"{}\"", o.id, o.title));
        }
    }
    out.push_str(&format!("  in {}\n  defined at {}\n\n", place.join(" > "), crate::list::defined_at(kpi, sources)));

    out.push_str("In words\n");
    out.push_str(&wrap(&in_words(kpi, measure.as_ref(), filter.as_ref()), "  "));
    out.push('\n');

    out.push_str("Lineage\n");
    let mut rows: Vec<(&str, String)> = vec![];
    match kpi.source.as_ref().and_then(|s| model.sources.get_key_value(s)) {
        Some((id, spec)) => {
            let desc = spec.description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default();
            rows.push(("source", format!("{id}: {}{desc}", spec.location())));
            let confine = crate::project::Confinement::new(dir, &model.allow_paths, false);
            let files = match crate::ingest::resolve_files(dir, id, spec, &confine) {
                Ok(files) => files.into_iter().map(|(_, shown)| shown).collect::<Vec<_>>().join(", "),
                Err(d) => format!("none readable now ({})", d.message),
            };
            if spec.postgres.is_none() {
                rows.push(("files", files));
            }
            let mut used: Vec<&str> = vec![];
            kpi.measure.columns(&mut used);
            if let Some(f) = &kpi.filter {
                f.columns(&mut used);
            }
            used.extend(kpi.time.as_deref());
            used.extend(kpi.by.iter().map(String::as_str));
            let columns: Vec<String> = spec
                .columns
                .iter()
                .filter(|(name, _)| used.contains(&name.as_str()))
                .map(|(name, c)| format!("{name} ({})", c.ty.name()))
                .collect();
            rows.push(("columns", columns.join(", ")));
        }
        None => {
            let mut inputs = vec![];
            if let Some(d) = &kpi.derived {
                d.inputs(&mut inputs);
            }
            rows.push(("source", format!("none: derived from the values of {}", inputs.join(", "))));
        }
    }
    if kpi.derived.is_none() {
        rows.push(("filters", filter.as_ref().map(code).unwrap_or_else(|| "none: every row of the source".into())));
        let scope = match (kpi.scope.start, kpi.scope.end) {
            (Some(s), Some(e)) => format!("rows from {s} to {e}"),
            (Some(s), None) => format!("rows from {s} on"),
            _ => "all rows".into(),
        };
        rows.push(("scope", scope));
    }
    let calendar = &model.calendar;
    let time = match (&kpi.time, kpi.grain) {
        (Some(t), Some(g)) => format!("{t}, per {}", g.name()),
        (Some(t), None) => format!("{t}, no grain (one value over all rows)"),
        (None, Some(g)) => format!("per {} (its inputs' periods)", g.name()),
        (None, None) => "none (one value over all rows)".into(),
    };
    rows.push(("time", time));
    let fiscal = calendar.fiscal_year_start.as_ref().map(|f| format!(", fiscal year from {f}")).unwrap_or_default();
    rows.push(("calendar", format!("weeks start on {:?}{fiscal}", calendar.week_start).to_lowercase()));
    rows.push(("window", kpi.window.map(|w| w.label(kpi.grain)).unwrap_or_else(|| "none: each period on its own".into())));
    let targets: Vec<String> = kpi.targets.iter().map(|t| t.text.clone()).collect();
    rows.push(("target", if targets.is_empty() { "none".into() } else { targets.join("; ") }));
    if let Some(d) = kpi.direction {
        rows.push(("direction", format!("{d:?}").to_lowercase()));
    }
    if !kpi.compare.is_empty() {
        rows.push(("compare", kpi.compare.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")));
    }
    if let Some(source) = &kpi.source {
        // Its own checks (on the rows it reads), then how many its source has.
        let own: Vec<&str> = model.checks.iter().filter(|c| c.kpi.as_deref() == Some(kpi.id.as_str())).map(|c| c.text.as_str()).collect();
        let of_source = model.checks.iter().filter(|c| c.kpi.is_none() && &c.source == source).count();
        let mut parts = vec![];
        if !own.is_empty() {
            parts.push(format!("{} (on the rows it reads)", own.join("; ")));
        }
        if of_source > 0 {
            parts.push(format!("{of_source} on source `{source}`"));
        }
        rows.push(("checks", if parts.is_empty() { "none".into() } else { parts.join(", and ") }));
    }
    let objective = goal.and_then(|g| g.objectives.iter().find(|o| Some(&o.id) == kpi.objective.as_ref()));
    // The KPI's owner is its own, else its objective's, else its goal's: each name once.
    let mut owners: Vec<(&str, &String)> = vec![];
    for (what, o) in [
        ("KPI", kpi.owner.as_ref()),
        ("objective", objective.and_then(|o| o.owner.as_ref())),
        ("goal", goal.and_then(|g| g.owner.as_ref())),
    ] {
        if let Some(o) = o.filter(|o| !owners.iter().any(|(_, seen)| seen == o)) {
            owners.push((what, o));
        }
    }
    let owners: Vec<String> = owners.iter().map(|(what, o)| format!("{o} ({what})")).collect();
    rows.push(("owners", if owners.is_empty() { "none".into() } else { owners.join(", ") }));
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        out.push_str(&format!("  {k:width$}  {v}\n"));
    }
    out.push('\n');
    out.push_str("SQL\n");
    match sql {
        Some(sql) => out.extend(sql.lines().map(|l| format!("  {l}\n"))),
        None => out.push_str("  (none: a derived KPI is computed from its inputs' values, per period)\n"),
    }
    out
}

/// Text wrapped at 92 columns with an indent.
fn wrap(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.len() + word.len() + 1 > 92 - indent.len() {
            out.push_str(&format!("{indent}{line}\n"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{indent}{line}\n"));
    }
    out
}

/// "The share of calls_911 rows with priority 1, per district and month, where on_scene_at is
/// at most 8 minutes after received_at. Target: <= 15 min."
pub fn in_words(kpi: &CheckedKpi, measure: Option<&Expr>, filter: Option<&Expr>) -> String {
    let rows = match (&kpi.source, filter) {
        (Some(s), Some(f)) => format!("{s} rows with {}", condition(f)),
        (Some(s), None) => format!("{s} rows"),
        (None, _) => "values".into(),
    };
    let mut per: Vec<String> = kpi.by.clone();
    per.extend(kpi.grain.map(|g| g.name().replace('_', " ")));
    let per = if per.is_empty() { String::new() } else { format!(", per {}", join_and(&per)) };
    let scope = match (kpi.scope.start, kpi.scope.end) {
        (Some(s), Some(e)) => format!(", from {s} to {e}"),
        (Some(s), None) => format!(", since {s}"),
        _ => String::new(),
    };
    let window = kpi.window.map(|w| format!(", over {}", w.label(kpi.grain))).unwrap_or_default();
    let (what, condition) = match measure {
        Some(m) => measure_words(m, &rows, kpi.derived.is_some()),
        None => ("its measure".into(), None),
    };
    let mut s = format!("{what}{per}{scope}{window}");
    if let Some(c) = condition {
        s.push_str(&format!(", where {c}"));
    }
    s.push('.');
    let targets: Vec<String> = kpi.targets.iter().map(|t| t.text.clone()).collect();
    if !targets.is_empty() {
        s.push_str(&format!(" Target: {}.", targets.join("; ")));
    }
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A measure in words, and (for `share`) the condition to say after the grouping.
fn measure_words(e: &Expr, rows: &str, derived: bool) -> (String, Option<String>) {
    let ExprKind::Call { name, args } = &e.kind else {
        return match &e.kind {
            ExprKind::Binary { op, lhs, rhs } if op.is_arithmetic() => {
                let word = match op {
                    BinaryOp::Add => "plus",
                    BinaryOp::Sub => "minus",
                    BinaryOp::Mul => "times",
                    _ => "divided by",
                };
                let (l, r) = (measure_words(lhs, rows, derived).0, measure_words(rhs, rows, derived).0);
                (format!("{l} {word} {r}"), None)
            }
            ExprKind::Column(c) if derived => (format!("the value of KPI {}", c.name), None),
            _ => (format!("`{}`", code(e)), None),
        };
    };
    let arg = |i: usize| args.get(i).map(|a| code(&a.expr)).unwrap_or_default();
    let only =
        |i: usize| args.get(i).and_then(|a| a.filter.as_ref()).map(|f| format!(" (only those with {})", condition(f))).unwrap_or_default();
    let words = match (name.name.as_str(), args.len()) {
        ("count", 0) => format!("the number of {rows}"),
        ("count", _) if args[0].distinct => format!("the number of distinct {} among {rows}{}", arg(0), only(0)),
        ("count", _) => format!("the number of {rows} with {} set{}", arg(0), only(0)),
        ("share", 1) => return (format!("the share of {rows}{}", only(0)), Some(condition(&args[0].expr))),
        ("sum", _) => format!("the total of {} over {rows}{}", arg(0), only(0)),
        ("avg", _) => format!("the average of {} over {rows}{}", arg(0), only(0)),
        ("min", _) => format!("the smallest {} among {rows}{}", arg(0), only(0)),
        ("max", _) => format!("the largest {} among {rows}{}", arg(0), only(0)),
        ("median", _) => format!("the median of {} over {rows}{}", arg(0), only(0)),
        ("stddev", _) => format!("the standard deviation of {} over {rows}{}", arg(0), only(0)),
        ("percentile", _) => format!("the {} percentile of {} over {rows}{}", arg(1), arg(0), only(0)),
        ("ratio", 2) => {
            let part = |i: usize| {
                let a = &args[i];
                let mut w = measure_words(&a.expr, rows, derived).0;
                if let Some(f) = &a.filter {
                    w.push_str(&format!(" with {}", condition(f)));
                }
                w
            };
            format!("{} divided by {}", part(0), part(1))
        }
        _ => format!("`{}` over {rows}", code(e)),
    };
    (words, None)
}

/// A row condition in words where a pattern is common (`x is not null` -> "x set",
/// `minutes_between(a, b) <= 8` -> "b at most 8 minutes after a"), else as written.
fn condition(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Binary { op: op @ (BinaryOp::And | BinaryOp::Or), lhs, rhs } => {
            format!("{} {} {}", condition(lhs), op.symbol(), condition(rhs))
        }
        ExprKind::IsNull { expr, negated: true } => format!("{} set", code(expr)),
        ExprKind::IsNull { expr, negated: false } => format!("no {}", code(expr)),
        ExprKind::Unary { op: UnaryOp::Not, expr } if matches!(expr.kind, ExprKind::Column(_)) => format!("not {}", code(expr)),
        ExprKind::Binary { op, lhs, rhs } if op.is_comparison() => {
            if let ExprKind::Call { name, args } = &lhs.kind
                && let Some(unit) = name.name.strip_suffix("_between")
                && args.len() == 2
            {
                let bound = match op {
                    BinaryOp::Le => "at most",
                    BinaryOp::Lt => "less than",
                    BinaryOp::Ge => "at least",
                    BinaryOp::Gt => "more than",
                    BinaryOp::Eq => "exactly",
                    _ => "not",
                };
                let unit = unit.replace('_', " ");
                return format!("{} is {bound} {} {unit} after {}", code(&args[1].expr), code(rhs), code(&args[0].expr));
            }
            match op {
                BinaryOp::Eq => format!("{} {}", code(lhs), code(rhs)),
                _ => code(e),
            }
        }
        _ => code(e),
    }
}
