//! Privacy clauses (docs/privacy.md): `audience` on KPIs and objectives, `by x internal`,
//! columns declared `internal` or `pii` in yardstick.yaml, and `suppress`. What `pii` forbids
//! (a group of people's names, the smallest or largest of them) is an error here; what
//! `internal` leaves out is decided per build by `privacy::audience`.

use super::*;

impl Checker<'_> {
    /// `audience internal` among an objective's members (the last one written wins; a second
    /// one is an error).
    pub(super) fn objective_audience(&mut self, o: &ast::Objective) -> bool {
        let mut seen: Option<Span> = None;
        let mut internal = false;
        for m in &o.members {
            if let ObjectiveMember::Audience(a) = m {
                if let Some(prev) = seen {
                    self.errors.push(duplicate_clause("audience", a.span, prev));
                }
                seen = Some(a.span);
                internal = a.internal;
            }
        }
        internal
    }

    /// A checked KPI's privacy settings from its clauses, its objective and its source's
    /// column declarations; `pii` misuse is an error (YS0250, YS0251).
    pub(super) fn privacy(&mut self, kpi: &ast::Kpi, checked: &mut CheckedKpi, objective_internal: bool) {
        let defaults = self.config.privacy;
        let mut privacy = KpiPrivacy {
            internal: objective_internal,
            internal_by: vec![],
            min_count: (defaults.min_count > 0).then_some(defaults.min_count),
            rounding: defaults.rounding,
        };
        for c in &kpi.clauses {
            match &c.kind {
                KpiClauseKind::Audience(a) if objective_internal && !a.internal => {
                    self.errors.push(
                        Diagnostic::error("YS0250", format!("KPI `{}` is `audience public` inside an internal objective", kpi.id.name))
                            .at(a.span, "its objective is `audience internal`")
                            .help("a public build leaves out an internal objective with every KPI in it: move the KPI to a public objective, or remove `audience public`"),
                    );
                }
                KpiClauseKind::Audience(a) => privacy.internal |= a.internal,
                KpiClauseKind::Suppress(options) => self.suppress_options(options, &mut privacy),
                _ => {}
            }
        }
        let source = checked.source.as_ref().and_then(|s| self.config.sources.get(s));
        let column = |name: &str| source.and_then(|s| s.columns.get(name));
        let reads = |e: &TypedExpr, pred: &dyn Fn(&crate::config::ColumnSpec) -> bool| {
            let mut cols = vec![];
            e.columns(&mut cols);
            cols.into_iter().find(|c| column(c).is_some_and(pred)).map(str::to_string)
        };
        let items = kpi.clauses.iter().find_map(|c| match &c.kind {
            KpiClauseKind::By(items) => Some(items),
            _ => None,
        });
        for item in items.into_iter().flatten() {
            let name = &item.name.name;
            let computed = checked.by_computed.iter().find(|(n, _)| n == name).map(|(_, e)| e);
            let (pii, internal) = match computed {
                Some(e) => (reads(e, &|c| c.pii), reads(e, &|c| c.internal).is_some()),
                None => (column(name).filter(|c| c.pii).map(|_| name.clone()), column(name).is_some_and(|c| c.internal)),
            };
            if let Some(col) = pii {
                self.errors.push(
                    Diagnostic::error("YS0251", format!("KPI `{}` groups by `{col}`, a column declared `pii`", kpi.id.name))
                        .at(item.name.span, "its values would be published as group labels")
                        .help(format!(
                            "personal data may be filtered on and counted (`where {col} is not null`, `count(distinct {col})`), never shown: group by a column that is not personal, or remove `pii: true` from `{col}` if it is not personal data (docs/privacy.md)"
                        )),
                );
            }
            if (item.internal || internal) && checked.by.contains(name) {
                privacy.internal_by.push(name.clone());
            }
        }
        let mut measures: Vec<&Measure> = vec![&checked.measure];
        if let Some(per) = &checked.per {
            measures.extend(per.defs.iter().map(|(_, m)| m));
        }
        let span = kpi.clauses.iter().find(|c| matches!(c.kind, KpiClauseKind::Measure(_))).map_or(kpi.id.span, |c| c.span);
        for m in measures {
            if let Some((func, col)) = one_row_of_pii(m, &|c| column(c).is_some_and(|c| c.pii)) {
                self.errors.push(
                    Diagnostic::error("YS0251", format!("KPI `{}` takes the {func} of `{col}`, a column declared `pii`", kpi.id.name))
                        .at(span, "the result is one person's value")
                        .help(format!(
                            "`min`, `max`, `median` and `percentile` return a value of one row: count the rows instead (`count(distinct {col})`), or remove `pii: true` from `{col}` if it is not personal data (docs/privacy.md)"
                        )),
                );
            }
        }
        checked.privacy = privacy;
    }

    fn suppress_options(&mut self, options: &[ast::SuppressOptionAst], privacy: &mut KpiPrivacy) {
        for o in options {
            match o {
                ast::SuppressOptionAst::Off(_) => privacy.min_count = None,
                ast::SuppressOptionAst::Below { n, span } | ast::SuppressOptionAst::Round { n, span } => {
                    let below = matches!(o, ast::SuppressOptionAst::Below { .. });
                    match n.parse::<u64>() {
                        Ok(v) if v >= 1 && below => privacy.min_count = Some(v),
                        Ok(v) if v >= 1 => privacy.rounding = Some(v),
                        _ => self.errors.push(
                            Diagnostic::error("YS0250", format!("`{n}` is not a whole number of 1 or more"))
                                .at(*span, "here")
                                .help("write e.g. `suppress below 10` (cells counting 1 to 9 rows are suppressed) or `suppress round 5`"),
                        ),
                    }
                }
            }
        }
        if options.iter().any(|o| matches!(o, ast::SuppressOptionAst::Off(_))) && options.len() > 1 {
            let span = match &options[0] {
                ast::SuppressOptionAst::Off(s)
                | ast::SuppressOptionAst::Below { span: s, .. }
                | ast::SuppressOptionAst::Round { span: s, .. } => *s,
            };
            self.errors.push(
                Diagnostic::error("YS0250", "`suppress off` takes no other option")
                    .at(span, "here")
                    .help("write `suppress off` alone (every cell published as it is), or `suppress below <n>, round <n>`"),
            );
        }
    }
}

/// The first `min`, `max` or percentile (median) in `m` over a column `pii` says is personal.
fn one_row_of_pii(m: &Measure, pii: &dyn Fn(&str) -> bool) -> Option<(&'static str, String)> {
    let mut stack = vec![m];
    while let Some(m) = stack.pop() {
        match m {
            Measure::Aggregate(a) if matches!(a.func, AggFunc::Min | AggFunc::Max | AggFunc::Percentile { .. }) => {
                let mut cols = vec![];
                if let Some(arg) = &a.arg {
                    arg.columns(&mut cols);
                }
                if let Some(c) = cols.into_iter().find(|c| pii(c)) {
                    return Some((a.func.name(), c.to_string()));
                }
            }
            Measure::Ratio(l, r) | Measure::Binary { lhs: l, rhs: r, .. } => stack.extend([&**l, &**r]),
            _ => {}
        }
    }
    None
}

/// Derived KPIs read their inputs' privacy: internal when any input is, and without the
/// breakdowns their inputs leave out. Inputs that leave out different breakdowns could not
/// be aligned in a public build: the derived KPI is then internal. Walked in dependency
/// order (Kahn's algorithm: linear, and it stops on a cycle, which `resolve_derived` reported).
pub(super) fn derived_audience(kpis: &mut [CheckedKpi]) {
    let index: HashMap<String, usize> = kpis.iter().enumerate().map(|(i, k)| (k.id.clone(), i)).collect();
    let inputs: Vec<Vec<usize>> = kpis
        .iter()
        .map(|k| {
            let mut v = vec![];
            if let Some(d) = &k.derived {
                d.inputs(&mut v);
            }
            v.iter().filter_map(|id| index.get(id).copied()).collect()
        })
        .collect();
    let mut waiting: Vec<usize> = inputs.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![vec![]; kpis.len()];
    for (i, ins) in inputs.iter().enumerate() {
        for &j in ins {
            dependents[j].push(i);
        }
    }
    let mut ready: Vec<usize> = (0..kpis.len()).filter(|i| waiting[*i] == 0).collect();
    while let Some(i) = ready.pop() {
        if kpis[i].derived.is_some() && !inputs[i].is_empty() {
            let by = kpis[i].by.clone();
            let left_out = |j: usize| -> Vec<String> { by.iter().filter(|g| kpis[j].privacy.internal_by.contains(g)).cloned().collect() };
            let first = left_out(inputs[i][0]);
            let internal = inputs[i].iter().any(|&j| kpis[j].privacy.internal || left_out(j) != first);
            let p = &mut kpis[i].privacy;
            p.internal |= internal;
            p.internal_by = first;
        }
        for &d in &dependents[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.push(d);
            }
        }
    }
}
