//! `check <source> { ... }` blocks -> [`DataCheck`]s: sources and columns resolved (with
//! did-you-mean), conditions typed by the same row-expression checker as KPIs' `where`,
//! thresholds and bounds validated (docs/checks.md).

use super::*;
use crate::ast::{CheckNumber, CheckRule, CheckRuleKind, RowsBound};

impl Checker<'_> {
    pub(super) fn data_checks(&mut self, block: &ast::CheckBlock, out: &mut Vec<DataCheck>) {
        let Some(source) = self.config.sources.get(&block.source.name) else {
            self.errors.push(
                Diagnostic::error("YS0200", format!("unknown source `{}` in a `check` block", block.source.name))
                    .at(block.source.span, "not declared in yardstick.yaml")
                    .help(format!(
                        "{} (declared sources: {})",
                        suggest("source", &block.source.name, self.config.sources.keys().map(String::as_str)),
                        source_list(self.config)
                    )),
            );
            return;
        };
        let scope = Scope { source_id: &block.source.name, source, entity: None };
        self.check_rules(&scope, &block.rules, None, out);
    }

    /// A KPI's `check { ... }` clause: the same rules, on the rows the KPI reads. A `fresh`
    /// rule on a KPI whose scope ends (`between`) could only ever go stale: YS0262.
    pub(super) fn kpi_data_checks(&mut self, rules: &[CheckRule], kpi: &CheckedKpi, out: &mut Vec<DataCheck>) {
        let Some((source_id, source)) = kpi.source.as_ref().and_then(|s| self.config.sources.get_key_value(s)) else { return };
        let scope = Scope { source_id, source, entity: None };
        for rule in rules {
            if let (CheckRuleKind::Fresh { .. }, Some(end)) = (&rule.kind, kpi.scope.end) {
                self.errors.push(
                    Diagnostic::error("YS0262", format!("`fresh` does not fit KPI `{}`: it reads no rows after {end}", kpi.id))
                        .at(rule.span, "this check")
                        .help(format!(
                            "KPI `{}` has `between ... and {end}`, so its latest value can only get older; check freshness on the source instead: `check {source_id} {{ {} }}`",
                            kpi.id,
                            crate::fmt::check_rule(rule)
                        )),
                );
            }
        }
        self.check_rules(&scope, rules, Some(kpi), out);
    }

    fn check_rules(&mut self, scope: &Scope, rules: &[CheckRule], kpi: Option<&CheckedKpi>, out: &mut Vec<DataCheck>) {
        for rule in rules {
            let before = self.errors.len();
            let kind = self.check_kind(scope, rule, kpi.and_then(|k| k.time.as_deref()));
            let max = self.check_max(rule);
            let severity = match rule.severity.as_ref().map(|s| s.name.as_str()) {
                Some("warn") => CheckSeverity::Warn,
                _ => CheckSeverity::Error,
            };
            if let (Some(kind), true) = (kind, self.errors.len() == before) {
                out.push(DataCheck {
                    source: scope.source_id.to_string(),
                    kpi: kpi.map(|k| k.id.clone()),
                    text: crate::fmt::check_rule(rule),
                    kind,
                    severity,
                    max,
                    span: rule.span,
                });
            }
        }
    }

    /// `time`: a KPI's time column, what `rows per` counts periods of by default (else the
    /// source's `time:`).
    fn check_kind(&mut self, scope: &Scope, rule: &CheckRule, time: Option<&str>) -> Option<DataCheckKind> {
        let columns = |cx: &mut Self, cs: &[ast::Ident]| -> Option<Vec<String>> {
            let mut ok = true;
            for c in cs {
                ok &= cx.column(scope, c).is_some();
            }
            ok.then(|| cs.iter().map(|c| c.name.clone()).collect())
        };
        Some(match &rule.kind {
            CheckRuleKind::NotNull(cs) => {
                let names = columns(self, cs)?;
                DataCheckKind::Row { fails: RowTest::AnyNull(names.clone()), columns: names }
            }
            CheckRuleKind::Unique(cs) => DataCheckKind::Unique(columns(self, cs)?),
            CheckRuleKind::Accepted { column, values } => {
                self.column(scope, column)?;
                for v in values {
                    if !matches!(v.kind, ExprKind::String(_) | ExprKind::Number { .. } | ExprKind::Bool(_) | ExprKind::Date(_))
                        && !matches!(&v.kind, ExprKind::Unary { op: UnaryOp::Neg, expr } if matches!(expr.kind, ExprKind::Number { .. }))
                    {
                        self.errors.push(
                            Diagnostic::error("YS0260", "`accepted` lists values, not expressions or null")
                                .at(v.span, "not a value")
                                .help("write the values the column may hold: `accepted status in (\"open\", \"closed\")`; nulls are `not_null`'s job"),
                        );
                        return None;
                    }
                }
                let test = ast::Expr {
                    kind: ExprKind::InList {
                        expr: Box::new(ast::Expr { kind: ExprKind::Column(column.clone()), span: column.span }),
                        list: values.clone(),
                        negated: false,
                    },
                    span: rule.span,
                };
                let accepted = self.condition(scope, &test, "`accepted`")?;
                DataCheckKind::Row {
                    fails: RowTest::NotAccepted { column: column.name.clone(), accepted },
                    columns: vec![column.name.clone()],
                }
            }
            CheckRuleKind::Valid(e) => {
                let condition = self.condition(scope, e, "`valid`")?;
                let mut names = vec![];
                column_names(e, &mut names);
                DataCheckKind::Row { fails: RowTest::NotValid(condition), columns: names }
            }
            CheckRuleKind::Fresh { column, amount, unit } => {
                let ty = self.column(scope, column)?;
                if !matches!(ty, Type::Date | Type::Timestamp) {
                    self.errors.push(
                        Diagnostic::error(
                            "YS0260",
                            format!("`fresh` needs a date or timestamp column; `{}` is {}", column.name, article(ty)),
                        )
                        .at(column.span, format!("declared as {} in yardstick.yaml", ty.name()))
                        .help(format!("name a date or timestamp column of source `{}`", scope.source_id)),
                    );
                    return None;
                }
                DataCheckKind::Fresh { column: column.name.clone(), amount: self.whole(amount, "the `fresh` interval")?, unit: *unit }
            }
            CheckRuleKind::Rows(bound) => {
                let (min, max) = match bound {
                    RowsBound::Between(a, b) => {
                        let (a, b) = (self.whole(a, "a row count")?, self.whole(b, "a row count")?);
                        if b < a {
                            self.errors.push(
                                Diagnostic::error("YS0260", "`rows between` ends below its start")
                                    .at(rule.span, format!("{b} is less than {a}"))
                                    .help("write `rows between <fewest> and <most>`, the smaller number first"),
                            );
                            return None;
                        }
                        (Some(a as u64), Some(b as u64))
                    }
                    RowsBound::Compare(op, n) => {
                        let v = self.whole(n, "a row count")? as u64;
                        match op {
                            ast::Comparator::Ge => (Some(v), None),
                            ast::Comparator::Gt => (Some(v + 1), None),
                            ast::Comparator::Le => (None, Some(v)),
                            ast::Comparator::Lt if v == 0 => {
                                self.errors.push(
                                    Diagnostic::error("YS0260", "`rows < 0` can never pass")
                                        .at(n.span, "no source has fewer than 0 rows")
                                        .help("did you mean `rows >= 0` or `rows > 0`?"),
                                );
                                return None;
                            }
                            ast::Comparator::Lt => (None, Some(v - 1)),
                        }
                    }
                };
                DataCheckKind::Rows { min, max }
            }
            CheckRuleKind::Relationship { column, source, target } => {
                let ty = self.column(scope, column)?;
                let Some(other) = self.config.sources.get(&source.name) else {
                    self.errors.push(
                        Diagnostic::error("YS0200", format!("unknown source `{}`", source.name))
                            .at(source.span, "not declared in yardstick.yaml")
                            .help(suggest("source", &source.name, self.config.sources.keys().map(String::as_str))),
                    );
                    return None;
                };
                let other_scope = Scope { source_id: &source.name, source: other, entity: None };
                let other_ty = self.column(&other_scope, target)?;
                if ty != other_ty {
                    self.errors.push(
                        Diagnostic::error(
                            "YS0261",
                            format!("`{}` is {} but `{}.{}` is {}", column.name, article(ty), source.name, target.name, article(other_ty)),
                        )
                        .at(target.span, format!("declared as {}", other_ty.name()))
                        .also(column.span, format!("declared as {}", ty.name()))
                        .help("a relationship compares values of one type: declare both columns with the same type in yardstick.yaml"),
                    );
                    return None;
                }
                DataCheckKind::Relationship { column: column.name.clone(), to: source.name.clone(), target: target.name.clone() }
            }
            CheckRuleKind::Volume { grain, time: of, within } => {
                let (time, own_time) = (of, time);
                let Some(g) = Grain::ALL.iter().find(|(n, _)| *n == grain.name).map(|(_, g)| *g) else {
                    self.errors.push(
                        Diagnostic::error("YS0205", format!("unknown grain `{}`", grain.name)).at(grain.span, "not a grain").help(suggest(
                            "grain",
                            &grain.name,
                            Grain::ALL.iter().map(|(n, _)| *n),
                        )),
                    );
                    return None;
                };
                let time = match (time, own_time.or(scope.source.time.as_deref())) {
                    (Some(t), _) => self.time_column(scope, &t.name, t.span)?,
                    (None, Some(t)) => t.to_string(),
                    (None, None) => {
                        self.errors.push(
                            Diagnostic::error("YS0260", format!("`rows per {}` needs a time column", grain.name))
                                .at(grain.span, "periods of which column?")
                                .help(format!(
                                    "write `rows per {} of <date column> change within ...`, or set `time:` on source `{}` in yardstick.yaml",
                                    grain.name, scope.source_id
                                )),
                        );
                        return None;
                    }
                };
                if within.value <= 0.0 {
                    self.errors.push(
                        Diagnostic::error("YS0260", "a volume change must be allowed to be more than 0%")
                            .at(within.span, "no change at all is allowed")
                            .help("write the largest change from one period to the next that is normal, e.g. `within 30%`"),
                    );
                    return None;
                }
                DataCheckKind::Volume { grain: g, time, within: within.value / 100.0 }
            }
        })
    }

    fn check_max(&mut self, rule: &CheckRule) -> Option<CheckMax> {
        let m = rule.max.as_ref()?;
        let counts_rows = matches!(
            rule.kind,
            CheckRuleKind::NotNull(_)
                | CheckRuleKind::Unique(_)
                | CheckRuleKind::Accepted { .. }
                | CheckRuleKind::Valid(_)
                | CheckRuleKind::Relationship { .. }
                | CheckRuleKind::Volume { .. }
        );
        if !counts_rows {
            self.errors.push(
                Diagnostic::error("YS0260", format!("`max` does not fit a `{}` check", rule.kind.keyword()))
                    .at(m.span, "no failing rows to allow")
                    .help("`max` allows some failing rows in `not_null`, `unique`, `accepted`, `valid` and `relationship` checks (or periods in `rows per`); a `rows` or `fresh` check passes or fails as a whole"),
            );
            return None;
        }
        if m.percent {
            if m.value > 100.0 {
                self.errors.push(
                    Diagnostic::error("YS0260", format!("`max {}` allows more than every row", m.text))
                        .at(m.span, "more than 100%")
                        .help("a share of failing rows is between 0% and 100%, e.g. `max 1%`"),
                );
                return None;
            }
            return Some(CheckMax::Share(m.value / 100.0));
        }
        Some(CheckMax::Count(self.whole(m, "`max`")? as u64))
    }

    /// A whole, non-negative number of rows, days, ... (`what` names it in the error).
    fn whole(&mut self, n: &CheckNumber, what: &str) -> Option<u32> {
        if n.percent || n.value.fract() != 0.0 || n.value < 0.0 || n.value > u32::MAX as f64 {
            self.errors.push(
                Diagnostic::error("YS0260", format!("{what} must be a whole number, not `{}`", n.text))
                    .at(n.span, "not a whole number")
                    .help(if n.percent {
                        "a share is allowed only in `max` (`max 1%`) and in `rows per ... change within 30%`".to_string()
                    } else {
                        format!("write a whole number of at most {}", u32::MAX)
                    }),
            );
            return None;
        }
        Some(n.value as u32)
    }
}

/// The columns an expression reads, in order of first use (shown beside example rows).
fn column_names(e: &ast::Expr, out: &mut Vec<String>) {
    let mut stack = vec![e];
    let mut found = vec![];
    while let Some(e) = stack.pop() {
        match &e.kind {
            ExprKind::Column(c) => found.push((c.span.start, c.name.clone())),
            ExprKind::Unary { expr, .. } | ExprKind::IsNull { expr, .. } => stack.push(expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                stack.push(lhs);
                stack.push(rhs);
            }
            ExprKind::InList { expr, list, .. } => {
                stack.push(expr);
                stack.extend(list);
            }
            ExprKind::Call { args, .. } => {
                for a in args {
                    stack.push(&a.expr);
                    stack.extend(&a.filter);
                }
            }
            _ => {}
        }
    }
    found.sort();
    for (_, name) in found {
        if !out.contains(&name) {
            out.push(name);
        }
    }
}
