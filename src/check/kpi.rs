//! One KPI's clauses -> `CheckedKpi`: clause slots, header, the order of the checks.

use super::derived::has_call;
use super::*;

impl Checker<'_> {
    pub(super) fn kpi(&mut self, kpi: &ast::Kpi, goal: &str, objective: Option<&str>, inherited_owner: Option<&str>) -> Option<CheckedKpi> {
        self.unique("KPI", &kpi.id);
        let errors_before = self.errors.len();
        // One of each clause.
        let (by_kind, target_clauses, duplicates) = clause_slots(kpi);
        for (c, prev) in duplicates {
            self.errors.push(duplicate_clause(c.kind.keyword(), c.span, prev));
        }
        let meta = self.meta(kpi.clauses.iter().filter_map(|c| match &c.kind {
            KpiClauseKind::Meta(m) => Some(m),
            _ => None,
        }));

        let from = by_kind.get("from").and_then(|c| match &c.kind {
            KpiClauseKind::From(id) => Some(id),
            _ => None,
        });
        let Some(from) = from else {
            // A measure without aggregates is arithmetic over other KPIs; with them, the
            // user forgot `from`.
            let aggregates = by_kind.get("measure").is_some_and(|c| match &c.kind {
                KpiClauseKind::Measure(e) => has_call(e),
                _ => false,
            });
            if by_kind.contains_key("measure") && !aggregates {
                return self.derived_kpi(kpi, &by_kind, meta, goal, objective, inherited_owner, errors_before);
            }
            self.errors.push(
                Diagnostic::error("YS0204", format!("KPI `{}` has no `from` clause", kpi.id.name))
                    .at(kpi.id.span, "which data does this KPI count?")
                    .help(format!(
                        "add `from <source>` naming a source from yardstick.yaml: {} (a KPI computed from other KPIs has no `from`: `measure spend / permits_issued`)",
                        source_list(self.config)
                    )),
            );
            return None;
        };
        let Some((source_id, source)) = self.config.sources.get_key_value(&from.name) else {
            self.errors.push(
                Diagnostic::error("YS0200", format!("unknown source `{}`", from.name))
                    .at(from.span, "not a source in yardstick.yaml")
                    .help(suggest("source", &from.name, self.config.sources.keys().map(String::as_str))),
            );
            return None;
        };
        let scope = Scope { source_id, source, entity: None };

        // time + grain
        let time = match by_kind.get("time").map(|c| &c.kind) {
            Some(KpiClauseKind::Time(col)) => self.time_column(&scope, &col.name, col.span),
            _ => source.time.clone(),
        };
        let grain = self.grain(&by_kind);
        if let (Some(_), Some(c)) = (grain, by_kind.get("grain")) {
            if time.is_none() && !by_kind.contains_key("time") {
                self.errors.push(
                    Diagnostic::error("YS0206", format!("KPI `{}` has a grain but no time column", kpi.id.name))
                        .at(c.span, "periods of which date?")
                        .help(format!(
                            "add `time <column>` naming a date or timestamp column of `{source_id}`, or set `time:` on the source in yardstick.yaml"
                        )),
                );
            }
        }

        // by
        let mut by: Vec<String> = vec![];
        let mut by_computed = vec![];
        if let Some(KpiClauseKind::By(items)) = by_kind.get("by").map(|c| &c.kind) {
            for item in items {
                let col = &item.name;
                let known = match &item.expr {
                    None => self.column(&scope, col).is_some(),
                    Some(e) => {
                        if scope.column(&col.name).is_some() {
                            self.errors.push(
                                Diagnostic::error("YS0202", format!("`{}` is already a column of `{source_id}`", col.name))
                                    .at(col.span, "a computed group needs a name of its own")
                                    .help(format!("name the computed group differently, e.g. `by {}_group = ...`", col.name)),
                            );
                            continue;
                        }
                        match self.row(&scope, e) {
                            Some(t) => {
                                by_computed.push((col.name.clone(), t));
                                true
                            }
                            None => false,
                        }
                    }
                };
                if !known {
                    continue;
                }
                if RESERVED_ROW_KEYS.contains(&col.name.as_str()) {
                    self.errors.push(
                        Diagnostic::error("YS0202", format!("`{}` cannot be a `by` column: results rows already have a `{}` field", col.name, col.name))
                            .at(col.span, "clashes with results.json")
                            .help(if item.expr.is_some() {
                                format!("name the group differently, e.g. `by {}_group = ...`", col.name)
                            } else {
                                format!(
                                    "declare the column under another name in yardstick.yaml, e.g. `{}_group: {{ type: string, header: \"{}\" }}`",
                                    col.name, col.name
                                )
                            }),
                    );
                } else if by.contains(&col.name) {
                    self.errors.push(
                        Diagnostic::error("YS0202", format!("`{}` is listed twice in `by`", col.name))
                            .at(col.span, "again here")
                            .help("list each column once"),
                    );
                } else {
                    by.push(col.name.clone());
                }
            }
        }

        // where
        let filter = match by_kind.get("where").map(|c| &c.kind) {
            Some(KpiClauseKind::Where(e)) => self.condition(&scope, e, "a `where` clause"),
            _ => None,
        };
        let filter_span = by_kind.get("where").map(|c| c.span);

        // per: entities first, then the measure over them
        let per = by_kind.get("per").and_then(|c| self.per(&scope, c, &by, &by_computed, time.as_deref()));
        let entity_columns = per.as_ref().map(|(_, columns)| columns);
        let measure_scope = Scope { entity: entity_columns, ..scope };
        if by_kind.contains_key("per") && per.is_none() {
            return None;
        }

        // measure
        let mut change = None;
        let measure = match by_kind.get("measure").map(|c| &c.kind) {
            Some(KpiClauseKind::Measure(e)) => self.own_change(&measure_scope, e, grain, &mut change),
            _ => {
                self.errors.push(
                    Diagnostic::error("YS0204", format!("KPI `{}` has no `measure` clause", kpi.id.name))
                        .at(kpi.id.span, "what does this KPI compute?")
                        .help("add e.g. `measure count()` or `measure share(<condition>)`"),
                );
                None
            }
        };
        let (mut measure, measured_unit) = measure?;

        let unit = match by_kind.get("unit").map(|c| (&c.kind, c.span)) {
            Some((KpiClauseKind::Unit(u), span)) => {
                let (unit, factor) = self.declared_unit(&measured_unit, Unit::from_word(&u.value), span, &u.value)?;
                if let Some(factor) = factor {
                    measure = Measure::Binary { op: BinaryOp::Mul, lhs: Box::new(measure), rhs: Box::new(Measure::Number(factor)) };
                }
                unit
            }
            _ => measured_unit,
        };

        let scope_dates = self.scope(&by_kind, time.is_some());
        let complete_after = match by_kind.get("complete_after").map(|c| &c.kind) {
            Some(KpiClauseKind::CompleteAfter(lag)) => match crate::config::CompleteAfter::parse(&lag.name) {
                Ok(_) if grain.is_none() => {
                    self.errors.push(
                        Diagnostic::error("YS0222", "`complete_after` needs a grain")
                            .at(lag.span, "only periods can be incomplete")
                            .help("add e.g. `grain month`, or remove `complete_after`"),
                    );
                    None
                }
                Ok(c) => Some(c),
                Err(why) => {
                    self.errors.push(Diagnostic::error("YS0101", why).at(lag.span, "not a data lag").help(
                        "write how long after a period ends its data is complete: `complete_after 30 days`, `2 weeks`, `1 month`, or `none`",
                    ));
                    None
                }
            },
            _ => None,
        };
        let window = self.window(&by_kind, grain, &measure);
        if let (Some(_), Some(w), Some(c)) = (&per, window, by_kind.get("window")) {
            let what = if w == Window::Cumulative { "`cumulative`" } else { "a window" };
            self.errors.push(
                Diagnostic::error("YS0212", format!("{what} cannot be combined with `per` yet"))
                    .at(c.span, "here")
                    .help("remove the window or the `per`: windows over entities are not supported (docs/language.md, `per`)"),
            );
        }
        let framing = self.framing(&by_kind, &target_clauses, grain, &unit);
        if change.is_none() {
            self.reachable_targets(&framing.targets, &measure, &unit);
        }

        if self.errors.len() > errors_before {
            return None;
        }
        let mut checked = CheckedKpi {
            filter_span,
            complete_after,
            source: Some(source_id.clone()),
            time,
            grain,
            by,
            by_computed,
            per: per.map(|(p, _)| p),
            filter,
            measure,
            unit,
            scope: scope_dates,
            window,
            targets: framing.targets,
            baseline: framing.baseline,
            direction: framing.direction,
            compare: framing.compare,
            change,
            ..kpi_header(kpi, meta, goal, objective, inherited_owner)
        };
        self.annotations(kpi, &mut checked);
        if let Some(KpiClauseKind::Check(rules)) = by_kind.get("check").map(|c| &c.kind) {
            let mut found = vec![];
            self.kpi_data_checks(rules, &checked, &mut found);
            self.kpi_checks.extend(found);
        }
        (self.errors.len() == errors_before).then_some(checked)
    }
}

/// A KPI's clauses by slot (the first of each), its `target` clauses (which may repeat as a
/// schedule), and the clauses given again with the span of the first one.
#[allow(clippy::type_complexity)]
pub(super) fn clause_slots(
    kpi: &ast::Kpi,
) -> (HashMap<&'static str, &ast::KpiClause>, Vec<(&ast::TargetAst, Span)>, Vec<(&ast::KpiClause, Span)>) {
    let mut by_kind: HashMap<&'static str, &ast::KpiClause> = HashMap::new();
    let mut targets = vec![];
    let mut duplicates = vec![];
    for c in &kpi.clauses {
        let slot = match &c.kind {
            KpiClauseKind::Meta(_) => continue,
            KpiClauseKind::Target(t) => {
                targets.push((t, c.span));
                continue;
            }
            // May repeat: read in order by `Checker::annotations`.
            KpiClauseKind::Event(_) | KpiClauseKind::Rebase(_) | KpiClauseKind::Benchmark { .. } => continue,
            k => k.slot(),
        };
        match by_kind.get(slot) {
            Some(prev) => duplicates.push((c, prev.span)),
            None => {
                by_kind.insert(slot, c);
            }
        }
    }
    (by_kind, targets, duplicates)
}

/// A KPI's names and descriptive clauses; the rest empty, as for a derived KPI whose
/// inputs are not resolved yet (`resolve_derived` fills them in).
pub(super) fn kpi_header(kpi: &ast::Kpi, meta: Meta, goal: &str, objective: Option<&str>, inherited_owner: Option<&str>) -> CheckedKpi {
    CheckedKpi {
        id: kpi.id.name.clone(),
        title: title_or_id(&kpi.title, &kpi.id),
        goal: goal.to_string(),
        objective: objective.map(str::to_string),
        owner: meta.owner.or(inherited_owner.map(str::to_string)),
        description: meta.description,
        method: meta.method,
        source: None,
        time: None,
        grain: None,
        by: vec![],
        by_computed: vec![],
        per: None,
        filter: None,
        measure: Measure::Number(0.0),
        unit: Unit::None,
        scope: DateScope::default(),
        window: None,
        targets: vec![],
        baseline: None,
        direction: None,
        compare: vec![],
        derived: None,
        span: kpi.span,
        id_span: kpi.id.span,
        filter_span: None,
        complete_after: None,
        spc: SpcOptions::default(),
        events: vec![],
        benchmarks: vec![],
        change: None,
        privacy: KpiPrivacy::default(),
    }
}

/// Keys every results.json row has; a `by` column with one of these names would clash.
pub(super) const RESERVED_ROW_KEYS: [&str; 5] = ["period", "value", "status", "target", "comparisons"];
