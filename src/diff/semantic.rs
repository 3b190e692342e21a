//! What a change to a KPI's definition means, in words: "filter added: status <> 'cancelled'",
//! "target lowered 90% -> 85%", "grain month -> week", "source path changed". Each side is a
//! checked project; a KPI's [`Facts`] come from its checked model (targets as numbers, the
//! unit, the owner it inherits), its clauses as written (comments and layout dropped), its
//! source's declaration in yardstick.yaml, and its compiled SQL.

use indexmap::IndexMap;

use crate::Compiled;
use crate::ast;
use crate::ast::Comparator;
use crate::model::{Target, TargetRule};

/// One change of a KPI, in words: `what` and the old and new values (either may be absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub what: String,
    pub old: Option<String>,
    pub new: Option<String>,
    /// Why a reviewer should look twice (a lowered target, a new exclusion filter, ...).
    pub attention: Option<String>,
}

impl Change {
    fn new(what: impl Into<String>, old: Option<String>, new: Option<String>) -> Change {
        Change { what: what.into(), old, new, attention: None }
    }

    fn attention(mut self, why: impl Into<String>) -> Change {
        self.attention = Some(why.into());
        self
    }

    /// `grain month -> week` reads as it is; `filter changed: a -> b` needs the colon.
    pub fn separator(&self) -> &'static str {
        if self.what.ends_with("changed") || self.what == "moved" || self.what == "renamed" { ":" } else { "" }
    }

    /// `target lowered 90% -> 85%`, `filter added: status <> 'cancelled'`, `owner changed`.
    pub fn text(&self, arrow: &str) -> String {
        match (&self.old, &self.new) {
            (Some(o), Some(n)) => format!("{}{} {o} {arrow} {n}", self.what, self.separator()),
            (Some(v), None) | (None, Some(v)) => format!("{}: {v}", self.what),
            (None, None) => self.what.clone(),
        }
    }
}

/// Everything about one KPI that a change can be about.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub id: String,
    pub title: String,
    pub goal: String,
    pub objective: Option<String>,
    pub owner: Option<String>,
    pub description: Option<String>,
    pub method: Option<String>,
    pub source: Option<String>,
    /// The source's `path` in yardstick.yaml.
    pub source_path: Option<String>,
    /// The source's declared columns and settings (types, formats, nulls, time, lag), as
    /// one comparable text.
    pub source_settings: Option<String>,
    pub time: Option<String>,
    pub grain: Option<String>,
    pub by: Vec<String>,
    /// Clause texts by keyword, comments and layout removed (`where` -> `status <> 'x'`).
    pub clauses: IndexMap<&'static str, Vec<String>>,
    pub unit: String,
    pub targets: Vec<Target>,
    pub window: Option<String>,
    /// The definition as written (the `kpi { ... }` block, dedented).
    pub definition: String,
    /// The compiled query (`None` for derived KPIs).
    pub sql: Option<String>,
    /// The rules of its `check { ... }` clause: (the rule without `max` and severity, the
    /// rule), as `fmt` prints them.
    pub checks: Vec<(String, String)>,
}

/// Every KPI of a checked project, in declaration order.
pub fn facts(compiled: &Compiled) -> Vec<Facts> {
    let sql = compiled.sql();
    let asts = kpi_asts(compiled);
    compiled
        .model
        .kpis
        .iter()
        .map(|k| {
            let mut clauses: IndexMap<&'static str, Vec<String>> = IndexMap::new();
            if let Some(ast) = asts.get(k.id.as_str()) {
                for c in &ast.clauses {
                    let keyword = c.kind.keyword();
                    let text = normalize(compiled.sources.slice(c.span));
                    let text = text.strip_prefix(keyword).map(str::trim_start).unwrap_or(&text).to_string();
                    clauses.entry(keyword).or_default().push(text);
                }
            }
            let spec = k.source.as_ref().and_then(|s| compiled.model.sources.get(s));
            Facts {
                id: k.id.clone(),
                title: k.title.clone(),
                goal: k.goal.clone(),
                objective: k.objective.clone(),
                owner: k.owner.clone(),
                description: k.description.clone(),
                method: k.method.clone(),
                source: k.source.clone(),
                source_path: spec.map(|s| s.location()),
                source_settings: spec.map(source_settings),
                time: k.time.clone(),
                grain: k.grain.map(|g| g.name().to_string()),
                by: k.by.clone(),
                clauses,
                unit: k.unit.label(),
                targets: k.targets.clone(),
                window: k.window.map(|w| w.label(k.grain)),
                definition: dedent(compiled.sources.slice(k.span)),
                sql: sql.get(&k.id).cloned(),
                checks: asts.get(k.id.as_str()).map(kpi_checks).unwrap_or_default(),
            }
        })
        .collect()
}

/// A KPI's `check` clause rules: (without `max` and severity, as written).
fn kpi_checks(k: &ast::Kpi) -> Vec<(String, String)> {
    let rules = k.clauses.iter().flat_map(|c| match &c.kind {
        ast::KpiClauseKind::Check(rules) => rules.as_slice(),
        _ => &[],
    });
    rules
        .map(|r| {
            let bare = ast::CheckRule { max: None, severity: None, ..r.clone() };
            (crate::fmt::check_rule(&bare), crate::fmt::check_rule(r))
        })
        .collect()
}

/// The KPI's own data checks: a rule added or removed, or its `max` or severity changed
/// (the same rule otherwise). A removed rule is flagged: the KPI's rows are no longer checked.
fn check_changes(old: &Facts, new: &Facts, out: &mut Vec<Change>) {
    let has = |f: &Facts, full: &str| f.checks.iter().any(|(_, x)| x == full);
    let mut paired = vec![];
    for (bare, full) in new.checks.iter().filter(|(_, full)| !has(old, full)) {
        match old.checks.iter().find(|(b, f)| b == bare && !has(new, f) && !paired.contains(f)) {
            Some((_, before)) => {
                paired.push(before.clone());
                out.push(Change::new("check changed", Some(before.clone()), Some(full.clone())));
            }
            None => out.push(Change::new("check added", None, Some(full.clone()))),
        }
    }
    for (_, full) in old.checks.iter().filter(|(_, full)| !has(new, full) && !paired.contains(full)) {
        out.push(Change::new("check removed", Some(full.clone()), None).attention("the rows this KPI reads are no longer checked for it"));
    }
}

/// The AST of every KPI, by id (the files parsed again: the model keeps no clause texts).
fn kpi_asts(compiled: &Compiled) -> IndexMap<String, ast::Kpi> {
    let mut out = IndexMap::new();
    for (id, file) in compiled.sources.files() {
        if !file.name.ends_with(".kpi") {
            continue;
        }
        let Ok(parsed) = crate::parse::parse_file(id, &file.text) else { continue };
        for goal in parsed.goals {
            for member in goal.members {
                match member {
                    ast::GoalMember::Kpi(k) => {
                        out.insert(k.id.name.clone(), k);
                    }
                    ast::GoalMember::Objective(o) => {
                        for m in o.members {
                            if let ast::ObjectiveMember::Kpi(k) = m {
                                out.insert(k.id.name.clone(), k);
                            }
                        }
                    }
                    ast::GoalMember::Meta(_) | ast::GoalMember::Event(_) => {}
                }
            }
        }
    }
    out
}

/// A source's declaration without its spans and path, comparable across commits: every
/// column's type, formats, names and handling, and the source's reading settings.
fn source_settings(spec: &crate::config::SourceSpec) -> String {
    let columns: Vec<String> = spec
        .columns
        .iter()
        .map(|(name, c)| {
            format!(
                "{name}: {:?} formats {:?} aliases {:?} thousands {:?} on_invalid {:?} header {:?} position {:?} optional {} trim {:?} from_file_name {:?}",
                c.ty, c.formats, c.aliases, c.thousands, c.on_invalid, c.header, c.position, c.optional, c.trim, c.from_file_name
            )
        })
        .collect();
    format!(
        "columns {}; table {:?}; format {:?}; encoding {:?}; delimiter {:?}; nulls {:?}; on_invalid {:?}; time {:?}; file_column {:?}; complete_after {}; valid_years {:?}; header_row {}; trailing_notes {:?}; trim {}",
        columns.join(", "),
        spec.table,
        spec.format(),
        spec.encoding,
        spec.delimiter,
        spec.null_values,
        spec.on_invalid,
        spec.time,
        spec.file_column,
        spec.complete_after.text(),
        spec.valid_years,
        spec.header_row,
        spec.trailing_notes,
        spec.trim
    )
}

/// Text without comments, runs of whitespace as one space (quoted strings kept exactly).
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut space = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                out.push(c);
                while let Some(d) = chars.next() {
                    out.push(d);
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            out.push(e);
                        }
                    } else if d == c {
                        break;
                    }
                }
            }
            '#' => {
                while chars.peek().is_some_and(|d| *d != '\n') {
                    chars.next();
                }
                space = true;
            }
            '/' if chars.peek() == Some(&'/') => {
                while chars.peek().is_some_and(|d| *d != '\n') {
                    chars.next();
                }
                space = true;
            }
            c if c.is_whitespace() || c == '\u{feff}' => space = true,
            c => {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                out.push(c);
            }
        }
    }
    out
}

/// A block's lines with their common indentation removed (the first line is the `kpi`
/// line, already at its start).
fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let indent = lines.iter().skip(1).filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    let last_indent = lines.last().map(|l| l.len() - l.trim_start().len()).unwrap_or(0);
    let cut = indent.min(last_indent);
    let mut out: Vec<String> = vec![];
    for (i, l) in lines.iter().enumerate() {
        if i == 0 {
            out.push(l.to_string());
        } else {
            let n = (l.len() - l.trim_start().len()).min(cut);
            out.push(l[n..].to_string());
        }
    }
    out.join("\n") + "\n"
}

fn quoted(s: &str) -> String {
    format!("\"{s}\"")
}

fn opt_change(what: &str, old: &Option<String>, new: &Option<String>, changes: &mut Vec<Change>) {
    if old != new {
        let label = match (old, new) {
            (None, Some(_)) => format!("{what} added"),
            (Some(_), None) => format!("{what} removed"),
            _ => format!("{what} changed"),
        };
        changes.push(Change::new(label, old.clone(), new.clone()));
    }
}

/// The changes from `old` to `new` (the same KPI, or a renamed one), in the order a reader
/// needs them; empty when the definitions mean the same.
pub fn changes(old: &Facts, new: &Facts) -> Vec<Change> {
    let mut out = vec![];
    if old.title != new.title {
        out.push(Change::new("title changed", Some(quoted(&old.title)), Some(quoted(&new.title))));
    }
    if (&old.goal, &old.objective) != (&new.goal, &new.objective) {
        let place = |f: &Facts| match &f.objective {
            Some(o) => format!("{} / {o}", f.goal),
            None => f.goal.clone(),
        };
        out.push(Change::new("moved", Some(place(old)), Some(place(new))));
    }
    opt_change("source", &old.source, &new.source, &mut out);
    if old.source == new.source {
        if old.source_path != new.source_path {
            out.push(Change::new("source path changed", old.source_path.clone(), new.source_path.clone()));
        }
        if old.source_settings != new.source_settings {
            let name = new.source.clone().unwrap_or_default();
            out.push(Change::new(format!("source `{name}` declaration changed in yardstick.yaml (columns or settings)"), None, None));
        }
    }
    opt_change("time column", &old.time, &new.time, &mut out);
    opt_change("measure", &clause(old, "measure"), &clause(new, "measure"), &mut out);
    filter_change(&clause(old, "where"), &clause(new, "where"), &mut out);
    if old.by != new.by {
        let (added, removed): (Vec<&String>, Vec<&String>) =
            (new.by.iter().filter(|b| !old.by.contains(b)).collect(), old.by.iter().filter(|b| !new.by.contains(b)).collect());
        let list = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        if !added.is_empty() && removed.is_empty() {
            out.push(Change::new("by added", None, Some(list(&added))));
        } else if added.is_empty() && !removed.is_empty() {
            out.push(Change::new("by removed", Some(list(&removed)), None));
        } else {
            out.push(Change::new("by changed", Some(old.by.join(", ")), Some(new.by.join(", "))));
        }
    }
    match (&old.grain, &new.grain) {
        (Some(o), Some(n)) if o != n => out.push(Change::new("grain", Some(o.clone()), Some(n.clone()))),
        (o, n) => opt_change("grain", o, n, &mut out),
    }
    if old.unit != new.unit {
        out.push(Change::new("unit changed", Some(old.unit.clone()), Some(new.unit.clone())));
    }
    target_changes(old, new, &mut out);
    // The `direction` clause: a direction implied by the target changes with the target.
    opt_change("direction", &clause(old, "direction"), &clause(new, "direction"), &mut out);
    opt_change("window", &old.window, &new.window, &mut out);
    let scope =
        |f: &Facts| clause(f, "since").map(|s| format!("since {s}")).or_else(|| clause(f, "between").map(|s| format!("between {s}")));
    opt_change("scope", &scope(old), &scope(new), &mut out);
    for kw in ["baseline", "compare", "complete_after"] {
        opt_change(kw, &clause(old, kw), &clause(new, kw), &mut out);
    }
    check_changes(old, new, &mut out);
    if old.owner != new.owner {
        let label = if old.owner.is_none() {
            "owner added"
        } else if new.owner.is_none() {
            "owner removed"
        } else {
            "owner changed"
        };
        out.push(Change::new(label, old.owner.as_deref().map(quoted), new.owner.as_deref().map(quoted)));
    }
    if old.description != new.description {
        out.push(Change::new("description changed", None, None));
    }
    if old.method != new.method {
        out.push(Change::new("method changed", None, None));
    }
    if out.iter().all(|c| c.what == "title changed" || c.what.starts_with("owner") || c.what.ends_with("description changed")) {
        // Nothing above explains a different query (e.g. the calendar changed): say so.
        if old.sql != new.sql {
            out.push(Change::new("compiled query changed", None, None));
        }
    }
    out
}

/// A clause's text (all of its occurrences, joined), without its keyword.
fn clause(f: &Facts, keyword: &str) -> Option<String> {
    f.clauses.get(keyword).map(|v| v.join("; "))
}

/// `where`: a new filter excludes rows the KPI counted before: worth a reviewer's look.
fn filter_change(old: &Option<String>, new: &Option<String>, out: &mut Vec<Change>) {
    match (old, new) {
        (None, Some(n)) => out.push(Change::new("filter added", None, Some(n.clone())).attention("new exclusion filter")),
        (Some(o), None) => out.push(Change::new("filter removed", Some(o.clone()), None)),
        (Some(o), Some(n)) if o != n => {
            let c = Change::new("filter changed", Some(o.clone()), Some(n.clone()));
            // `a` -> `a and b` (or `(a) and b`): the old filter with more conditions.
            let narrowed = n.contains(o.as_str()) && n.contains(" and ");
            out.push(if narrowed {
                c.attention("filter narrowed: more rows excluded")
            } else {
                c.attention("filter changed: check which rows are excluded now")
            });
        }
        _ => {}
    }
}

/// A quantity in the KPI's unit, as the report writes it (`90%`, `14 days`).
fn quantity(v: f64, unit: &str) -> String {
    crate::report::format_value(Some(v), unit)
}

/// A tolerance in the KPI's unit: percentages in percentage points.
fn tolerance(v: f64, unit: &str) -> String {
    if unit == "percent" { format!("{} pp", quantity(v * 100.0, "number")) } else { quantity(v, unit) }
}

fn rule_text(t: &Target, unit: &str) -> String {
    match t.rule {
        TargetRule::Compare { comparator, value } => format!("{} {}", comparator.symbol(), quantity(value, unit)),
        TargetRule::Between { low, high } => format!("between {} and {}", quantity(low, unit), quantity(high, unit)),
    }
}

/// Targets: a lowered threshold, a wider band or a looser tolerance make the KPI easier to
/// meet without anything getting better.
fn target_changes(old: &Facts, new: &Facts, out: &mut Vec<Change>) {
    let unit = &new.unit;
    let (o, n) = (old.targets.last(), new.targets.last());
    match (o, n) {
        (None, None) => return,
        (None, Some(n)) => {
            out.push(Change::new("target added", None, Some(rule_text(n, unit))));
            return;
        }
        (Some(o), None) => {
            out.push(
                Change::new("target removed", Some(rule_text(o, &old.unit)), None).attention("target removed: the KPI can no longer miss"),
            );
            return;
        }
        (Some(o), Some(n)) => {
            match (o.rule, n.rule) {
                (TargetRule::Compare { comparator: a, value: x }, TargetRule::Compare { comparator: b, value: y })
                    if a == b && x != y && old.unit == new.unit =>
                {
                    let higher_is_better = matches!(a, Comparator::Ge | Comparator::Gt);
                    let (what, easier) = if y < x { ("target lowered", higher_is_better) } else { ("target raised", !higher_is_better) };
                    let c = Change::new(what, Some(quantity(x, unit)), Some(quantity(y, unit)));
                    out.push(if easier { c.attention(format!("{what}: easier to meet")) } else { c });
                }
                (TargetRule::Between { low: a, high: b }, TargetRule::Between { low: c, high: d })
                    if (a, b) != (c, d) && old.unit == new.unit =>
                {
                    let ch = Change::new("target band changed", Some(rule_text(o, unit)), Some(rule_text(n, unit)));
                    out.push(if c <= a && d >= b { ch.attention("target band widened: easier to meet") } else { ch });
                }
                (x, y) if x != y || old.unit != new.unit => {
                    out.push(Change::new("target changed", Some(rule_text(o, &old.unit)), Some(rule_text(n, unit))))
                }
                _ => {}
            }
            match (o.tolerance, n.tolerance) {
                (None, Some(t)) => out.push(Change::new("tolerance added", None, Some(tolerance(t, unit))).attention("tolerance loosened")),
                (Some(t), None) => out.push(Change::new("tolerance removed", Some(tolerance(t, &old.unit)), None)),
                (Some(a), Some(b)) if b > a => out.push(
                    Change::new("tolerance loosened", Some(tolerance(a, unit)), Some(tolerance(b, unit))).attention("tolerance loosened"),
                ),
                (Some(a), Some(b)) if b < a => {
                    out.push(Change::new("tolerance tightened", Some(tolerance(a, unit)), Some(tolerance(b, unit))))
                }
                _ => {}
            }
            if o.deadline != n.deadline {
                let d = |t: &Target| t.deadline.map(|d| d.to_string());
                opt_change("target deadline", &d(o), &d(n), out);
            }
        }
    }
    // Schedules: steps added or removed, or an earlier step changed.
    let steps = |f: &Facts| f.targets.iter().map(|t| (t.from, rule_text(t, &f.unit), t.tolerance)).collect::<Vec<_>>();
    let (a, b) = (steps(old), steps(new));
    if a.len() != b.len()
        || a[..a.len().saturating_sub(1)] != b[..b.len().saturating_sub(1)]
        || a.last().map(|s| s.0) != b.last().map(|s| s.0)
    {
        out.push(Change::new(
            "target schedule changed",
            Some(clause(old, "target").unwrap_or_default()),
            Some(clause(new, "target").unwrap_or_default()),
        ));
    }
}

/// The same definition under another id: everything but the id (and title) unchanged.
pub fn same_definition(old: &Facts, new: &Facts) -> bool {
    changes(old, new).iter().all(|c| c.what == "title changed") && old.sql == new.sql
}
