//! AST + config -> checked [`Model`]. Resolves names (sources, columns, KPIs), types every
//! expression, works out units and targets. Collects every error before returning; does no IO.

use std::collections::{HashMap, HashSet};

use crate::ast::{self, BinaryOp, ExprKind, GoalMember, KpiClauseKind, MetaKind, ObjectiveMember, UnaryOp};
use crate::config::{Config, SourceSpec};
use crate::diagnostics::{Diagnostic, Diagnostics, suggest};
use crate::limits::MAX_KPIS;
use crate::model::*;
use crate::span::Span;

/// Check all parsed files against the config: the model and the warnings found, or every
/// error (with the warnings) when any.
pub fn check(config: &Config, files: &[ast::File]) -> Result<(Model, Vec<Diagnostic>), Diagnostics> {
    if let Some(d) = too_many_kpis(files) {
        return Err(Diagnostics::one(d));
    }
    let mut cx = Checker { config, errors: vec![], warnings: vec![], seen: HashMap::new(), pending: vec![], unresolved: HashSet::new() };
    let mut goals = vec![];
    let mut kpis = vec![];
    for file in files {
        for goal in &file.goals {
            cx.unique("goal", &goal.id);
            let meta = cx.meta(goal.members.iter().filter_map(|m| match m {
                GoalMember::Meta(m) => Some(m),
                _ => None,
            }));
            let mut info = GoalInfo {
                id: goal.id.name.clone(),
                title: title_or_id(&goal.title, &goal.id),
                owner: meta.owner.clone(),
                description: meta.description.clone(),
                objectives: vec![],
            };
            for member in &goal.members {
                match member {
                    GoalMember::Meta(_) => {}
                    GoalMember::Kpi(k) => {
                        if let Some(k) = cx.kpi(k, &goal.id.name, None, meta.owner.as_deref()) {
                            kpis.push(k);
                        }
                    }
                    GoalMember::Objective(o) => {
                        cx.unique("objective", &o.id);
                        let ometa = cx.meta(o.members.iter().filter_map(|m| match m {
                            ObjectiveMember::Meta(m) => Some(m),
                            _ => None,
                        }));
                        let owner = ometa.owner.clone().or(meta.owner.clone());
                        info.objectives.push(ObjectiveInfo {
                            id: o.id.name.clone(),
                            title: title_or_id(&o.title, &o.id),
                            owner: owner.clone(),
                            description: ometa.description.clone(),
                        });
                        for m in &o.members {
                            if let ObjectiveMember::Kpi(k) = m {
                                if let Some(k) = cx.kpi(k, &goal.id.name, Some(&o.id.name), owner.as_deref()) {
                                    kpis.push(k);
                                }
                            }
                        }
                    }
                }
            }
            goals.push(info);
        }
    }
    cx.resolve_derived(&mut kpis);
    if !cx.errors.is_empty() {
        cx.errors.extend(cx.warnings);
        return Err(Diagnostics(cx.errors).sorted());
    }
    if kpis.is_empty() {
        cx.warnings.push(
            Diagnostic::warning("YS0004", "the project defines no KPIs: its .kpi files hold no `kpi` blocks").help(
                "define KPIs inside a goal: `goal g \"Goal\" { kpi k \"KPI\" { from <source> measure count() } }` (docs/language.md)",
            ),
        );
    }
    let warnings = Diagnostics(cx.warnings).sorted().0;
    Ok((
        Model {
            name: config.name.clone(),
            title: config.title.clone(),
            calendar: config.calendar.clone(),
            headline_period: config.headline_period,
            allow_paths: config.allow_paths.clone(),
            sources: config.sources.clone(),
            goals,
            kpis,
        },
        warnings,
    ))
}

/// [`MAX_KPIS`]: checked first, so a huge project costs nothing more than its parse.
fn too_many_kpis(files: &[ast::File]) -> Option<Diagnostic> {
    let mut kpis = files.iter().flat_map(|f| &f.goals).flat_map(|g| &g.members).flat_map(|m| match m {
        GoalMember::Kpi(k) => vec![k],
        GoalMember::Objective(o) => o
            .members
            .iter()
            .filter_map(|m| match m {
                ObjectiveMember::Kpi(k) => Some(k),
                _ => None,
            })
            .collect(),
        GoalMember::Meta(_) => vec![],
    });
    let extra = kpis.nth(MAX_KPIS)?;
    Some(
        Diagnostic::error("YS0102", format!("the project has more than {MAX_KPIS} KPIs"))
            .at(extra.id.span, format!("KPI {}", MAX_KPIS + 1))
            .help(format!("a project can define up to {MAX_KPIS} KPIs (docs/language.md, Limits): split it into several projects")),
    )
}

fn title_or_id(title: &Option<ast::Str>, id: &ast::Ident) -> String {
    title.as_ref().map(|t| t.value.clone()).unwrap_or_else(|| id.name.clone())
}

struct Checker<'a> {
    config: &'a Config,
    errors: Vec<Diagnostic>,
    /// Kept apart from `errors`: clause checks compare `errors.len()` before and after to
    /// tell whether a KPI is usable, and a warning must never make it unusable.
    warnings: Vec<Diagnostic>,
    /// Names of goals, objectives and KPIs share one namespace: ids appear in URLs and JSON.
    seen: HashMap<String, (&'static str, Span)>,
    /// Derived KPIs, resolved once every KPI is known (they may refer forward).
    pending: Vec<ast::Kpi>,
    /// Derived KPIs not (yet, or not successfully) resolved: inputs that are these have
    /// their own errors, or a cycle, already reported.
    unresolved: HashSet<String>,
}

#[derive(Default)]
struct Meta {
    owner: Option<String>,
    description: Option<String>,
    method: Option<String>,
}

/// The source and columns expressions of one KPI may refer to.
struct Scope<'a> {
    source_id: &'a str,
    source: &'a SourceSpec,
}

impl Scope<'_> {
    fn column(&self, name: &str) -> Option<Type> {
        if self.source.file_column.as_deref() == Some(name) {
            return Some(Type::String);
        }
        self.source.columns.get(name).map(|c| c.ty.into())
    }
    fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.source.columns.keys().map(String::as_str).collect();
        v.extend(self.source.file_column.as_deref());
        v
    }
}

impl<'a> Checker<'a> {
    fn unique(&mut self, kind: &'static str, id: &ast::Ident) {
        if let Some((first_kind, first)) = self.seen.get(&id.name) {
            self.errors.push(
                Diagnostic::error("YS0202", format!("`{}` is already the name of a {first_kind}", id.name))
                    .at(id.span, format!("second {kind} named `{}`", id.name))
                    .also(*first, "first defined here")
                    .help("goal, objective and KPI names must be unique across the project; rename one"),
            );
        } else {
            self.seen.insert(id.name.clone(), (kind, id.span));
        }
    }

    fn meta<'m>(&mut self, clauses: impl Iterator<Item = &'m ast::MetaClause>) -> Meta {
        let mut meta = Meta::default();
        let mut first: HashMap<MetaKind, Span> = HashMap::new();
        for c in clauses {
            if let Some(prev) = first.get(&c.kind) {
                self.errors.push(duplicate_clause(c.kind.keyword(), c.span, *prev));
                continue;
            }
            first.insert(c.kind, c.span);
            let v = Some(c.value.value.clone());
            match c.kind {
                MetaKind::Owner => meta.owner = v,
                MetaKind::Description => meta.description = v,
                MetaKind::Method => meta.method = v,
            }
        }
        meta
    }

    fn kpi(&mut self, kpi: &ast::Kpi, goal: &str, objective: Option<&str>, inherited_owner: Option<&str>) -> Option<CheckedKpi> {
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
        let scope = Scope { source_id, source };

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
        let mut by = vec![];
        if let Some(KpiClauseKind::By(cols)) = by_kind.get("by").map(|c| &c.kind) {
            for col in cols {
                if self.column(&scope, col).is_some() {
                    if RESERVED_ROW_KEYS.contains(&col.name.as_str()) {
                        self.errors.push(
                            Diagnostic::error("YS0202", format!("`{}` cannot be a `by` column: results rows already have a `{}` field", col.name, col.name))
                                .at(col.span, "clashes with results.json")
                                .help(format!(
                                    "declare the column under another name in yardstick.yaml, e.g. `{}_group: {{ type: string, header: \"{}\" }}`",
                                    col.name, col.name
                                )),
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
        }

        // where
        let filter = match by_kind.get("where").map(|c| &c.kind) {
            Some(KpiClauseKind::Where(e)) => self.condition(&scope, e, "a `where` clause"),
            _ => None,
        };
        let filter_span = by_kind.get("where").map(|c| c.span);

        // measure
        let measure = match by_kind.get("measure").map(|c| &c.kind) {
            Some(KpiClauseKind::Measure(e)) => self.measure(&scope, e, None),
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
        let framing = self.framing(&by_kind, &target_clauses, grain, &unit);
        self.reachable_targets(&framing.targets, &measure, &unit);

        if self.errors.len() > errors_before {
            return None;
        }
        Some(CheckedKpi {
            filter_span,
            complete_after,
            source: Some(source_id.clone()),
            time,
            grain,
            by,
            filter,
            measure,
            unit,
            scope: scope_dates,
            window,
            targets: framing.targets,
            baseline: framing.baseline,
            direction: framing.direction,
            compare: framing.compare,
            ..kpi_header(kpi, meta, goal, objective, inherited_owner)
        })
    }

    /// A KPI without `from` whose measure is arithmetic over other KPIs. Checked in two
    /// steps: its own clauses now, its inputs in [`Checker::resolve_derived`].
    #[allow(clippy::too_many_arguments)]
    fn derived_kpi(
        &mut self,
        kpi: &ast::Kpi,
        by_kind: &HashMap<&'static str, &ast::KpiClause>,
        meta: Meta,
        goal: &str,
        objective: Option<&str>,
        inherited_owner: Option<&str>,
        errors_before: usize,
    ) -> Option<CheckedKpi> {
        for kw in ["where", "by", "time", "window", "scope", "complete_after"] {
            if let Some(c) = by_kind.get(kw) {
                self.errors.push(
                    Diagnostic::error("YS0230", format!("a derived KPI cannot have `{}`", c.kind.keyword()))
                        .at(c.span, "derived KPIs have no rows of their own")
                        .help(format!(
                            "`{}` has no `from`, so it is computed from other KPIs' values; put `{}` on the KPIs it uses, or add `from <source>`",
                            kpi.id.name,
                            c.kind.keyword()
                        )),
                );
            }
        }
        let grain = self.grain(by_kind);
        let unit = match by_kind.get("unit").map(|c| &c.kind) {
            Some(KpiClauseKind::Unit(u)) => Unit::from_word(&u.value),
            _ => Unit::None,
        };
        if self.errors.len() > errors_before {
            return None;
        }
        self.pending.push(kpi.clone());
        Some(CheckedKpi { grain, unit, ..kpi_header(kpi, meta, goal, objective, inherited_owner) })
    }

    /// Resolve derived KPIs' inputs in dependency order; their grain and groups come from
    /// their inputs, which must agree. A depth-first walk with its own stack: a chain of
    /// thousands of derived KPIs is a long loop, not a deep recursion.
    fn resolve_derived(&mut self, kpis: &mut [CheckedKpi]) {
        let pending = std::mem::take(&mut self.pending);
        self.unresolved = pending.iter().map(|k| k.id.name.clone()).collect();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, k) in pending.iter().enumerate() {
            index.entry(k.id.name.as_str()).or_insert(i);
        }
        let positions = kpi_positions(kpis);
        fn measure_of(k: &ast::Kpi) -> Option<&ast::Expr> {
            k.clauses.iter().find_map(|c| match &c.kind {
                KpiClauseKind::Measure(e) => Some(e),
                _ => None,
            })
        }
        // Not started, in progress (on the stack), done (resolved or failed).
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            New,
            Open,
            Done,
        }
        let mut state = vec![State::New; pending.len()];
        for root in 0..pending.len() {
            if state[root] != State::New {
                continue;
            }
            // (KPI, the KPIs its measure names, how many of them are handled)
            let mut stack: Vec<(usize, Vec<ast::Ident>, usize)> = vec![];
            let open = |i: usize, state: &mut Vec<State>, stack: &mut Vec<(usize, Vec<ast::Ident>, usize)>| match measure_of(&pending[i]) {
                Some(m) => {
                    state[i] = State::Open;
                    stack.push((i, collect_names(m), 0));
                }
                None => state[i] = State::Done,
            };
            open(root, &mut state, &mut stack);
            while let Some((i, refs, next)) = stack.last_mut() {
                let i = *i;
                let Some(r) = refs.get(*next).cloned() else {
                    stack.pop();
                    if let Some(measure) = measure_of(&pending[i]) {
                        self.resolve_one(&pending[i], measure, kpis, &positions);
                    }
                    state[i] = State::Done;
                    continue;
                };
                *next += 1;
                let id = &pending[i].id.name;
                // Self-reference is reported by `derived_expr`, more plainly.
                let Some(&j) = index.get(r.name.as_str()).filter(|_| r.name != *id) else { continue };
                match state[j] {
                    State::Open => {
                        self.errors.push(
                            Diagnostic::error("YS0230", format!("derived KPIs `{}` and `{}` refer to each other", id, r.name))
                                .at(r.span, "this input depends on the KPI being defined")
                                .help("break the circle: one of them must be computed from a source"),
                        );
                        state[i] = State::Done;
                        stack.pop();
                    }
                    State::New => open(j, &mut state, &mut stack),
                    State::Done => {}
                }
            }
        }
    }

    fn resolve_one(&mut self, ast_kpi: &ast::Kpi, measure: &ast::Expr, kpis: &mut [CheckedKpi], positions: &HashMap<String, usize>) {
        let errors_before = self.errors.len();
        let Some(&me) = positions.get(&ast_kpi.id.name) else { return };
        let mut inputs: Vec<(ast::Ident, Option<Grain>, Vec<String>, Unit)> = vec![];
        let expr = self.derived_expr(measure, &ast_kpi.id.name, kpis, positions, &mut inputs);
        // Inputs must line up on period and groups.
        let Some((first, grain, by, _)) = inputs.first().cloned() else {
            if expr.is_some() {
                self.errors.push(
                    Diagnostic::error("YS0230", format!("derived KPI `{}` uses no other KPI", ast_kpi.id.name))
                        .at(measure.span, "no KPI named here")
                        .help(
                            "a KPI without `from` computes from other KPIs, e.g. `measure spend / permits_issued`; or add `from <source>`",
                        ),
                );
            }
            return;
        };
        for (id, g, b, _) in &inputs[1..] {
            if *g != grain {
                let name = |g: &Option<Grain>| g.map(Grain::name).unwrap_or("no grain");
                self.errors.push(
                    Diagnostic::error("YS0230", format!("inputs of `{}` have different grains", ast_kpi.id.name))
                        .at(id.span, format!("`{}` is by {}", id.name, name(g)))
                        .also(first.span, format!("`{}` is by {}", first.name, name(&grain)))
                        .help("derived KPIs combine values of the same periods: give the inputs the same `grain`"),
                );
            } else if *b != by {
                let list = |b: &Vec<String>| if b.is_empty() { "no groups".to_string() } else { format!("by {}", b.join(", ")) };
                self.errors.push(
                    Diagnostic::error("YS0230", format!("inputs of `{}` have different groups", ast_kpi.id.name))
                        .at(id.span, format!("`{}` is {}", id.name, list(b)))
                        .also(first.span, format!("`{}` is {}", first.name, list(&by)))
                        .help("derived KPIs combine values of the same groups: give the inputs the same `by` columns"),
                );
            }
        }
        if let (Some(own), Some(c)) = (kpis[me].grain, ast_kpi.clauses.iter().find(|c| matches!(c.kind, KpiClauseKind::Grain(_)))) {
            if Some(own) != grain {
                self.errors.push(
                    Diagnostic::error(
                        "YS0230",
                        format!(
                            "`{}` says grain {} but its inputs are by {}",
                            ast_kpi.id.name,
                            own.name(),
                            grain.map(Grain::name).unwrap_or("no grain")
                        ),
                    )
                    .at(c.span, "does not match the inputs")
                    .help("remove `grain`: a derived KPI takes its inputs' grain"),
                );
            }
        }
        let inferred = derived_unit(measure, &inputs);
        let mut expr = expr;
        let unit = match ast_kpi.clauses.iter().find_map(|c| match &c.kind {
            KpiClauseKind::Unit(u) => Some((u, c.span)),
            _ => None,
        }) {
            None => inferred,
            // Input units combined by arithmetic are only known for + and -; a ratio of
            // like units is a plain number the user may name freely.
            Some((u, span)) => match self.declared_unit(&inferred, Unit::from_word(&u.value), span, &u.value) {
                Some((unit, factor)) => {
                    if let Some(factor) = factor {
                        expr = expr.map(|e| DerivedExpr::Binary {
                            op: BinaryOp::Mul,
                            lhs: Box::new(e),
                            rhs: Box::new(DerivedExpr::Number(factor)),
                        });
                    }
                    unit
                }
                None => return,
            },
        };
        // Duplicate clauses were reported when the KPI was first checked.
        let (by_kind, targets, _) = clause_slots(ast_kpi);
        let framing = self.framing(&by_kind, &targets, grain, &unit);
        if self.errors.len() > errors_before {
            return;
        }
        let k = &mut kpis[me];
        k.derived = expr;
        k.grain = grain;
        k.by = by;
        k.unit = unit;
        k.targets = framing.targets;
        k.baseline = framing.baseline;
        k.direction = framing.direction;
        k.compare = framing.compare;
        self.unresolved.remove(&ast_kpi.id.name);
    }

    #[recursive::recursive]
    fn derived_expr(
        &mut self,
        e: &ast::Expr,
        me: &str,
        kpis: &[CheckedKpi],
        positions: &HashMap<String, usize>,
        inputs: &mut Vec<(ast::Ident, Option<Grain>, Vec<String>, Unit)>,
    ) -> Option<DerivedExpr> {
        match &e.kind {
            ExprKind::Number { value, .. } => Some(DerivedExpr::Number(*value)),
            ExprKind::Unary { op: UnaryOp::Neg, expr } => {
                Some(DerivedExpr::Neg(Box::new(self.derived_expr(expr, me, kpis, positions, inputs)?)))
            }
            ExprKind::Binary { op, lhs, rhs } if op.is_arithmetic() => {
                let l = self.derived_expr(lhs, me, kpis, positions, inputs);
                let r = self.derived_expr(rhs, me, kpis, positions, inputs);
                Some(DerivedExpr::Binary { op: *op, lhs: Box::new(l?), rhs: Box::new(r?) })
            }
            ExprKind::Column(id) => {
                if id.name == me {
                    self.errors.push(
                        Diagnostic::error("YS0230", format!("`{me}` is computed from itself"))
                            .at(id.span, "the KPI being defined")
                            .help("a derived KPI combines other KPIs"),
                    );
                    return None;
                }
                match positions.get(&id.name).map(|&i| &kpis[i]) {
                    Some(_) if self.unresolved.contains(&id.name) => None,
                    Some(k) => {
                        if !inputs.iter().any(|(i, ..)| i.name == id.name) {
                            inputs.push((id.clone(), k.grain, k.by.clone(), k.unit.clone()));
                        }
                        Some(DerivedExpr::Kpi(id.name.clone()))
                    }
                    None => {
                        self.errors.push(
                            Diagnostic::error("YS0230", format!("unknown KPI `{}`", id.name)).at(id.span, "not a KPI").help(suggest(
                                "KPI",
                                &id.name,
                                kpis.iter().map(|k| k.id.as_str()),
                            )),
                        );
                        None
                    }
                }
            }
            _ => {
                self.errors.push(
                    Diagnostic::error("YS0230", "a derived KPI is arithmetic over other KPIs")
                        .at(e.span, "not a KPI, a number or + - * /")
                        .help("a KPI without `from` combines other KPIs, e.g. `measure spend / permits_issued`; to count rows add `from <source>`"),
                );
                None
            }
        }
    }

    fn grain(&mut self, by_kind: &HashMap<&'static str, &ast::KpiClause>) -> Option<Grain> {
        let Some(KpiClauseKind::Grain(g)) = by_kind.get("grain").map(|c| &c.kind) else {
            return None;
        };
        let grain = Grain::ALL.iter().find(|(n, _)| *n == g.name).map(|(_, g)| *g);
        if grain.is_none() {
            self.errors.push(Diagnostic::error("YS0205", format!("unknown grain `{}`", g.name)).at(g.span, "not a grain").help(suggest(
                "grain",
                &g.name,
                Grain::ALL.iter().map(|(n, _)| *n),
            )));
        }
        grain
    }

    /// `since` / `between`.
    fn scope(&mut self, by_kind: &HashMap<&'static str, &ast::KpiClause>, has_time: bool) -> DateScope {
        let Some(c) = by_kind.get("scope") else { return DateScope::default() };
        let KpiClauseKind::Scope { start, end } = &c.kind else { return DateScope::default() };
        if !has_time {
            self.errors.push(
                Diagnostic::error("YS0224", format!("`{}` needs a time column", c.kind.keyword()))
                    .at(c.span, "dates of which column?")
                    .help("add `time <column>`, or set `time:` on the source in yardstick.yaml"),
            );
        }
        if let Some(end) = end {
            if end.date < start.date {
                self.errors.push(
                    Diagnostic::error("YS0224", "the scope ends before it starts")
                        .at(end.span, format!("before {}", start.date))
                        .also(start.span, "start")
                        .help("write `between <first day> and <last day>`, the earlier date first"),
                );
            }
        }
        DateScope { start: Some(start.date), end: end.map(|e| e.date) }
    }

    /// `rolling n unit`, `year_to_date`, `fiscal_year_to_date`.
    fn window(&mut self, by_kind: &HashMap<&'static str, &ast::KpiClause>, grain: Option<Grain>, measure: &Measure) -> Option<Window> {
        let c = by_kind.get("window")?;
        let KpiClauseKind::Window(w) = &c.kind else { return None };
        let Some(grain) = grain else {
            self.errors.push(
                Diagnostic::error("YS0223", "a time window needs a grain")
                    .at(c.span, "windows of which periods?")
                    .help("add e.g. `grain month`"),
            );
            return None;
        };
        match w {
            ast::Window::Rolling { n, n_span, unit } => {
                let name = unit.name.strip_suffix('s').unwrap_or(&unit.name);
                let Some(unit_grain) = Grain::ALL.iter().find(|(g, _)| *g == name || *g == unit.name).map(|(_, g)| *g) else {
                    self.errors.push(
                        Diagnostic::error("YS0223", format!("unknown window unit `{}`", unit.name))
                            .at(unit.span, "not a grain")
                            .help(suggest("grain", name, Grain::ALL.iter().map(|(n, _)| *n))),
                    );
                    return None;
                };
                let Some(per) = grain.periods_in(unit_grain) else {
                    self.errors.push(
                        Diagnostic::error("YS0223", format!("a {} window does not split into {} periods", unit_grain.name(), grain.name()))
                            .at(unit.span, format!("not a whole number of {}s", grain.name()))
                            .help(format!("write the window in {}s, e.g. `rolling 3 {}`", grain.name(), grain.name())),
                    );
                    return None;
                };
                let periods = n.saturating_mul(per);
                if periods > 1000 {
                    self.errors.push(
                        Diagnostic::error("YS0223", format!("a window of {periods} periods is too long"))
                            .at(*n_span, "at most 1000 periods")
                            .help("use a coarser grain for long windows"),
                    );
                    return None;
                }
                Some(Window::Rolling { periods })
            }
            ast::Window::Cumulative => {
                if !measure.is_additive() {
                    self.errors.push(
                        Diagnostic::error("YS0223", "`cumulative` needs a measure that adds up over periods")
                            .at(c.span, "not a count or a sum")
                            .help("`cumulative` keeps a running total of counts and sums; for a cumulative ratio, make a derived KPI of two cumulative KPIs, e.g. `measure closed_to_date / opened_to_date`; for medians or shares use `year_to_date` or `rolling`"),
                    );
                    return None;
                }
                Some(Window::Cumulative)
            }
            ast::Window::YearToDate | ast::Window::FiscalYearToDate => {
                let fiscal = matches!(w, ast::Window::FiscalYearToDate);
                let fits = match grain {
                    // Weeks straddle year boundaries: a year-to-date of weeks is ambiguous.
                    Grain::Year | Grain::FiscalYear | Grain::Week => false,
                    Grain::Quarter if fiscal => (self.config.calendar.fiscal_start_month() - 1) % 3 == 0,
                    Grain::FiscalQuarter => fiscal,
                    _ => true,
                };
                if !fits {
                    self.errors.push(
                        Diagnostic::error("YS0223", format!("`{}` does not fit grain {}", c.kind.keyword(), grain.name()))
                            .at(
                                c.span,
                                if grain == Grain::Week {
                                    "weeks cross the start of the year"
                                } else {
                                    "periods cross the year boundary or are whole years"
                                },
                            )
                            .help(if fiscal { "use grain month or fiscal_quarter" } else { "use grain month or quarter" }),
                    );
                    return None;
                }
                Some(Window::YearToDate { fiscal })
            }
        }
    }

    /// Targets, baseline, direction and comparisons: how a KPI's values are judged.
    fn framing(
        &mut self,
        by_kind: &HashMap<&'static str, &ast::KpiClause>,
        target_clauses: &[(&ast::TargetAst, Span)],
        grain: Option<Grain>,
        unit: &Unit,
    ) -> Framing {
        let mut targets: Vec<Target> = target_clauses.iter().filter_map(|(t, span)| self.target(t, unit, *span)).collect();
        if target_clauses.len() > 1 {
            // A schedule: every step but an optional first one says when it starts.
            let undated: Vec<Span> = target_clauses.iter().filter(|(t, _)| t.from.is_none()).map(|(_, s)| *s).collect();
            if undated.len() > 1 {
                self.errors.push(
                    Diagnostic::error("YS0203", "`target` is given twice")
                        .at(undated[1], "second one")
                        .also(undated[0], "first one")
                        .help("for targets that change over time, add `from <date>` to each later step: `target >= 85% from 2026-01-01`"),
                );
            }
        }
        for (t, span) in target_clauses {
            if t.from.is_some() && grain.is_none() {
                self.errors.push(
                    Diagnostic::error("YS0222", "a target `from` a date needs a grain")
                        .at(*span, "periods of which grain?")
                        .help("add e.g. `grain month`"),
                );
            }
        }
        targets.sort_by_key(|t| t.from);

        let baseline = match by_kind.get("baseline").map(|c| (&c.kind, c.span)) {
            Some((KpiClauseKind::Baseline { period, value }, span)) => match grain {
                None => {
                    self.errors.push(
                        Diagnostic::error("YS0222", "a baseline needs a grain")
                            .at(span, "a baseline is a period")
                            .help("add e.g. `grain month`"),
                    );
                    None
                }
                Some(g) => {
                    let v = value.as_ref().and_then(|q| self.quantity_in(q, unit, "baseline"));
                    if value.is_some() && v.is_none() {
                        None
                    } else {
                        Some(Baseline {
                            period: g.period_of(period.date, &self.config.calendar),
                            value: v,
                            text: value.as_ref().map(quantity_text).unwrap_or_default(),
                        })
                    }
                }
            },
            _ => None,
        };

        let implied = targets.iter().find_map(Target::direction);
        let direction = match by_kind.get("direction").map(|c| &c.kind) {
            Some(KpiClauseKind::Direction(d)) => {
                let stated = match d.name.as_str() {
                    "increasing" | "up" | "higher_is_better" => Some(Direction::Increasing),
                    "decreasing" | "down" | "lower_is_better" => Some(Direction::Decreasing),
                    _ => {
                        self.errors.push(
                            Diagnostic::error("YS0222", format!("unknown direction `{}`", d.name))
                                .at(d.span, "not a direction")
                                .help("write `direction increasing` (higher is better) or `direction decreasing` (lower is better)"),
                        );
                        None
                    }
                };
                if let (Some(s), Some(i)) = (stated, implied) {
                    if s != i {
                        self.errors.push(
                            Diagnostic::error("YS0222", "the direction contradicts the target")
                                .at(d.span, format!("says {}", if s == Direction::Increasing { "higher is better" } else { "lower is better" }))
                                .help("the target's comparator already sets the direction (`>=` higher is better, `<=` lower is better): remove `direction`"),
                        );
                    }
                }
                stated.or(implied)
            }
            _ => implied,
        };

        let mut compare = vec![];
        if let Some(c) = by_kind.get("compare") {
            if let KpiClauseKind::Compare(names) = &c.kind {
                for n in names {
                    match Comparison::ALL.iter().find(|(name, _)| *name == n.name).map(|(_, c)| *c) {
                        None => self.errors.push(
                            Diagnostic::error("YS0223", format!("unknown comparison `{}`", n.name))
                                .at(n.span, "not a comparison")
                                .help(suggest("comparison", &n.name, Comparison::ALL.iter().map(|(n, _)| *n))),
                        ),
                        Some(_) if grain.is_none() => self.errors.push(
                            Diagnostic::error("YS0223", "comparisons need a grain")
                                .at(n.span, "compared with which period?")
                                .help("add e.g. `grain month`"),
                        ),
                        Some(Comparison::Baseline) if !by_kind.contains_key("baseline") => self.errors.push(
                            Diagnostic::error("YS0223", "`compare baseline` needs a `baseline` clause")
                                .at(n.span, "which baseline?")
                                .help("add e.g. `baseline 2024-01-01: 72%`, or `baseline 2024-01-01` to use that period's own value"),
                        ),
                        Some(cmp) if compare.contains(&cmp) => self.errors.push(
                            Diagnostic::error("YS0203", format!("`{}` is listed twice in `compare`", n.name))
                                .at(n.span, "again here")
                                .help("list each comparison once"),
                        ),
                        Some(cmp) => compare.push(cmp),
                    }
                }
            }
        }
        Framing { targets, baseline, direction, compare }
    }

    /// A `unit` clause against the unit the measure is in: the same unit, a conversion
    /// between durations (the factor to multiply values by), or a name for a quantity whose
    /// unit yardstick does not know. Relabelling a known unit as another would publish
    /// 6.4 seconds as 6.4 minutes: an error.
    fn declared_unit(&mut self, measured: &Unit, declared: Unit, span: Span, written: &str) -> Option<(Unit, Option<f64>)> {
        match (measured, &declared) {
            (m, d) if m == d => Some((declared, None)),
            (Unit::Duration(from), Unit::Duration(to)) => Some((declared.clone(), Some(from.seconds() / to.seconds()))),
            // A plain number (a sum of a column, a ratio of like units) can be named.
            (Unit::None | Unit::Named(_), _) => Some((declared, None)),
            // A count can be named (`unit "calls"`), not turned into a time or a share.
            (Unit::Count, Unit::Named(_) | Unit::None) => Some((declared, None)),
            (m, d) => {
                let help = match m {
                    Unit::Duration(_) => {
                        format!(
                            "the measure is a duration in {}: write `unit seconds`, `minutes`, `hours` or `days` (values are converted), or remove `unit`",
                            m.label()
                        )
                    }
                    Unit::Percent => "a share is a fraction shown as a percentage: remove `unit`, or measure something else".to_string(),
                    Unit::BusinessDays => "business days cannot be converted to calendar time: remove `unit`".to_string(),
                    Unit::Count => "a count can be given a name (`unit \"calls\"`), not a time or percentage unit".to_string(),
                    _ => "remove `unit` or make it match the measure".to_string(),
                };
                self.errors.push(
                    Diagnostic::error("YS0220", format!("`unit {written}` does not fit a measure in {}", m.label()))
                        .at(span, format!("the measure is in {}, not {}", m.label(), d.label()))
                        .help(help),
                );
                None
            }
        }
    }

    /// A target the measure can never meet (`>= 120%` on a share, `< 0` on a count) is an
    /// error: it would publish "off track" forever with no hint why.
    fn reachable_targets(&mut self, targets: &[Target], measure: &Measure, unit: &Unit) {
        let (low, high) = match measure {
            Measure::Share { .. } => (0.0, 1.0),
            Measure::Aggregate(Aggregate { func: AggFunc::Count | AggFunc::CountDistinct, .. }) => (0.0, f64::INFINITY),
            _ => return,
        };
        let range = if high.is_finite() {
            format!("between {} and {}", show(low, unit), show(high, unit))
        } else {
            format!("at least {}", show(low, unit))
        };
        fn show(v: f64, unit: &Unit) -> String {
            if *unit == Unit::Percent { format!("{}%", v * 100.0) } else { format!("{v}") }
        }
        for t in targets {
            let impossible = match t.rule {
                TargetRule::Compare { comparator, value } => match comparator {
                    ast::Comparator::Ge => value > high,
                    ast::Comparator::Gt => value >= high,
                    ast::Comparator::Le => value < low,
                    ast::Comparator::Lt => value <= low,
                },
                TargetRule::Between { low: lo, high: hi } => lo > high || hi < low,
            };
            if impossible {
                self.errors.push(
                    Diagnostic::error("YS0222", format!("target `{}` can never be met: this measure is always {range}", t.text))
                        .at(t.span, "unreachable")
                        .help(if *unit == Unit::Percent {
                            "a share is between 0% and 100%: did you mean e.g. `target >= 90%`?".to_string()
                        } else {
                            format!("this measure is always {range}: write a target it can meet")
                        }),
                );
            }
        }
    }

    fn target(&mut self, t: &ast::TargetAst, unit: &Unit, span: Span) -> Option<Target> {
        let (rule, text) = match &t.kind {
            ast::TargetKind::Compare { comparator, value } => {
                let v = self.quantity_in(value, unit, "target")?;
                (TargetRule::Compare { comparator: *comparator, value: v }, format!("{} {}", comparator.symbol(), quantity_text(value)))
            }
            ast::TargetKind::Between { low, high } => {
                let (lo, hi) = (self.quantity_in(low, unit, "target"), self.quantity_in(high, unit, "target"));
                let (lo, hi) = (lo?, hi?);
                if hi < lo {
                    self.errors.push(
                        Diagnostic::error("YS0222", "the target band is upside down")
                            .at(high.span, format!("below {}", quantity_text(low)))
                            .help("write `between <low> and <high>`"),
                    );
                    return None;
                }
                (TargetRule::Between { low: lo, high: hi }, format!("between {} and {}", quantity_text(low), quantity_text(high)))
            }
        };
        let tolerance = match &t.tolerance {
            Some(q) => {
                let is_pp = q.unit.as_ref().is_some_and(|u| u.name == "pp");
                let v = if is_pp {
                    if *unit != Unit::Percent {
                        self.errors.push(
                            Diagnostic::error("YS0220", format!("tolerance in percentage points on a KPI measured in {}", unit.label()))
                                .at(q.span, "pp only fits percentages")
                                .help("write the tolerance in the KPI's unit"),
                        );
                        return None;
                    }
                    q.number / 100.0
                } else {
                    self.quantity_in(q, unit, "tolerance")?
                };
                if v < 0.0 {
                    self.errors.push(
                        Diagnostic::error("YS0222", "a tolerance cannot be negative")
                            .at(q.span, "negative")
                            .help("write how far off still counts as near, e.g. `tolerance 2pp`"),
                    );
                    return None;
                }
                Some(v)
            }
            None => None,
        };
        let mut text = text;
        if let Some(q) = &t.tolerance {
            text.push_str(&format!(" tolerance {}", quantity_text(q)));
        }
        if let Some(d) = &t.deadline {
            text.push_str(&format!(" by {}", d.date));
        }
        Some(Target { rule, tolerance, deadline: t.deadline.map(|d| d.date), from: t.from.map(|d| d.date), text, span })
    }

    /// A written quantity (`90%`, `8 min`, `5`) in the KPI's unit.
    fn quantity_in(&mut self, q: &ast::Quantity, unit: &Unit, what: &str) -> Option<f64> {
        let written = q.unit.as_ref().map(|u| Unit::from_word(&u.name));
        match (written, unit) {
            (None, Unit::Percent) => {
                self.errors.push(
                    Diagnostic::error("YS0220", format!("a percentage KPI needs a percentage {what}")).at(q.span, "no `%`").help(
                        if q.number > 0.0 && q.number <= 1.0 {
                            format!(
                                "write the {what} with `%`: `{}%`, or `{}%` if {} is a fraction",
                                q.text,
                                crate::results::round_value(q.number * 100.0),
                                q.text
                            )
                        } else {
                            format!("write the {what} with `%`: `{}%`", q.text)
                        },
                    ),
                );
                None
            }
            (None, _) => Some(q.number),
            (Some(Unit::Percent), Unit::Percent) => Some(q.number / 100.0),
            (Some(Unit::Duration(from)), Unit::Duration(to)) => Some(q.number * from.seconds() / to.seconds()),
            (Some(Unit::Duration(DurationUnit::Days) | Unit::BusinessDays), Unit::BusinessDays) => Some(q.number),
            (Some(w), u) if &w == u => Some(q.number),
            (Some(w), u) => {
                let label = q.unit.as_ref().map(|u| u.span).unwrap_or(q.span);
                let help = match u {
                    Unit::Percent => format!("this KPI is a percentage: write the {what} with `%`"),
                    Unit::Count | Unit::None => format!("this KPI is a {}: write the {what} as a plain number", u.label()),
                    Unit::Duration(_) => format!("this KPI is a duration: write the {what} in s, min, h or days"),
                    Unit::BusinessDays => format!("this KPI counts business days: write the {what} in days"),
                    Unit::Named(n) => format!("this KPI is in {n}: write the {what} in {n} or as a plain number"),
                };
                self.errors.push(
                    Diagnostic::error("YS0220", format!("{what} in {} on a KPI measured in {}", w.label(), u.label()))
                        .at(label, format!("{} does not fit a {} KPI", w.label(), u.label()))
                        .help(help),
                );
                None
            }
        }
    }

    fn time_column(&mut self, scope: &Scope, name: &str, span: Span) -> Option<String> {
        let ident = ast::Ident { name: name.to_string(), span };
        let ty = self.column(scope, &ident)?;
        if scope.source.file_column.as_deref() == Some(name) {
            // The file-name column is text and cannot be declared otherwise (its name is
            // taken); dates in file names are read by a `from_file_name` column.
            self.errors.push(
                Diagnostic::error("YS0207", format!("time column `{name}` is the source's file-name column, which holds text"))
                    .at(span, "the file name, not a date")
                    .help(format!(
                        "use a date or timestamp column of source `{}` as the time; for a date in the file names, declare a date column with `from_file_name` (docs/configuration.md, \"Values from file names\")",
                        scope.source_id
                    )),
            );
            return None;
        }
        if !matches!(ty, Type::Date | Type::Timestamp) {
            self.errors.push(
                Diagnostic::error("YS0207", format!("time column `{name}` is {}, not a date or timestamp", article(ty)))
                    .at(span, format!("declared as {} in yardstick.yaml", ty.name()))
                    .help(format!(
                        "declare it as `{name}: {{ type: timestamp, format: \"...\" }}` or `type: date` in source `{}`",
                        scope.source_id
                    )),
            );
            return None;
        }
        Some(name.to_string())
    }

    fn column(&mut self, scope: &Scope, col: &ast::Ident) -> Option<Type> {
        match scope.column(&col.name) {
            Some(t) => Some(t),
            None => {
                self.errors.push(
                    Diagnostic::error("YS0201", format!("unknown column `{}` in source `{}`", col.name, scope.source_id))
                        .at(col.span, "not a declared column")
                        .help(suggest("column", &col.name, scope.names())),
                );
                None
            }
        }
    }

    /// The argument of an aggregate over numbers (`sum`, `median`, ...), typed.
    fn numeric_arg(&mut self, scope: &Scope, a: &ast::Arg, func: &str) -> Option<TypedExpr> {
        let t = self.row(scope, &a.expr)?;
        if t.ty.is_numeric() {
            return Some(t);
        }
        self.errors.push(
            Diagnostic::error("YS0210", format!("`{func}` needs a number, found {}", article(t.ty)))
                .at(a.expr.span, format!("this is {}", article(t.ty)))
                .help(match t.ty {
                    Type::Date | Type::Timestamp => "for durations use e.g. `minutes_between(start, end)`",
                    Type::Boolean => "to count rows meeting a condition use `share(...)` or `count() where ...`",
                    _ => "declare the column as integer or float in yardstick.yaml, or use `count(...)`",
                }),
        );
        None
    }

    /// A boolean row-level expression.
    fn condition(&mut self, scope: &Scope, e: &ast::Expr, what: &str) -> Option<TypedExpr> {
        let t = self.row(scope, e)?;
        if !matches!(t.ty, Type::Boolean | Type::Null) {
            self.errors.push(
                Diagnostic::error("YS0210", format!("{what} needs a condition (true/false), found {}", article(t.ty)))
                    .at(e.span, format!("this is {}", article(t.ty)))
                    .help("compare it to something, e.g. `status = 'closed'` or `amount > 0`"),
            );
            return None;
        }
        Some(t)
    }

    /// A measure (aggregate-level) expression, with the unit it is in.
    #[recursive::recursive]
    fn measure(&mut self, scope: &Scope, e: &ast::Expr, filter: Option<&TypedExpr>) -> Option<(Measure, Unit)> {
        match &e.kind {
            ExprKind::Number { value, .. } => Some((Measure::Number(*value), Unit::None)),
            ExprKind::Binary { op, lhs, rhs } if op.is_arithmetic() => {
                let l = self.measure(scope, lhs, filter);
                let r = self.measure(scope, rhs, filter);
                let ((l, lu), (r, ru)) = (l?, r?);
                let unit = match op {
                    BinaryOp::Div if lu == ru => Unit::None,
                    BinaryOp::Mul | BinaryOp::Div if matches!(lu, Unit::Count | Unit::None) => ru,
                    _ => lu,
                };
                Some((Measure::Binary { op: *op, lhs: Box::new(l), rhs: Box::new(r) }, unit))
            }
            ExprKind::Call { name, args } => self.measure_call(scope, e, name, args, filter),
            _ => {
                let looks_like_row = self.quiet_row(scope, e);
                let help = if looks_like_row {
                    "a measure aggregates rows: wrap it, e.g. `sum(...)`, `avg(...)`, or `share(...)` for a condition"
                } else {
                    "a measure is an aggregate such as `count()`, `sum(x)`, `share(<condition>)` or `ratio(a, b)`"
                };
                self.errors.push(
                    Diagnostic::error("YS0214", "expected a measure, found a row value")
                        .at(e.span, "one value per row, not per period")
                        .help(help),
                );
                None
            }
        }
    }

    /// Type a row expression without reporting errors (for better help texts).
    fn quiet_row(&mut self, scope: &Scope, e: &ast::Expr) -> bool {
        let n = self.errors.len();
        let ok = self.row(scope, e).is_some();
        self.errors.truncate(n);
        ok
    }

    fn measure_call(
        &mut self,
        scope: &Scope,
        e: &ast::Expr,
        name: &ast::Ident,
        args: &[ast::Arg],
        outer_filter: Option<&TypedExpr>,
    ) -> Option<(Measure, Unit)> {
        let func = name.name.as_str();
        let arity = |cx: &mut Self, n: std::ops::RangeInclusive<usize>, usage: &str| -> bool {
            if n.contains(&args.len()) {
                true
            } else {
                cx.errors.push(
                    Diagnostic::error("YS0212", format!("`{func}` takes {}, found {}", plural_args(&n), args.len()))
                        .at(e.span, "here")
                        .help(format!("usage: {usage}")),
                );
                false
            }
        };
        // The rows an aggregate sees: outer filter (from an enclosing `x where c`) and its own.
        let combine = |cx: &mut Self, arg: Option<&ast::Arg>| -> Option<Option<TypedExpr>> {
            let own = match arg.and_then(|a| a.filter.as_ref()) {
                Some(f) => Some(cx.condition(scope, f, "`where` inside a measure")?),
                None => None,
            };
            Some(and(outer_filter.cloned(), own))
        };
        match func {
            "count" => {
                if !arity(self, 0..=1, "`count()`, `count(column)` or `count(distinct column)`") {
                    return None;
                }
                let filter = combine(self, args.first())?;
                let (func, arg) = match args.first() {
                    None => (AggFunc::Count, None),
                    // `count(where c)` is not valid syntax; `count(x where c)` counts non-null x.
                    Some(a) => {
                        let t = self.row(scope, &a.expr)?;
                        (if a.distinct { AggFunc::CountDistinct } else { AggFunc::Count }, Some(t))
                    }
                };
                Some((Measure::Aggregate(Aggregate { func, arg, filter }), Unit::Count))
            }
            "sum" | "avg" | "min" | "max" => {
                if !arity(self, 1..=1, &format!("`{func}(column)`")) {
                    return None;
                }
                let a = &args[0];
                self.no_distinct(a, func);
                let filter = combine(self, Some(a))?;
                let t = self.numeric_arg(scope, a, func)?;
                let f = match func {
                    "sum" => AggFunc::Sum,
                    "avg" => AggFunc::Avg,
                    "min" => AggFunc::Min,
                    _ => AggFunc::Max,
                };
                let unit = t.unit.clone();
                Some((Measure::Aggregate(Aggregate { func: f, arg: Some(t), filter }), unit))
            }
            "median" | "stddev" | "percentile" | "percentile_nearest" => {
                let usage = match func {
                    "median" => "`median(x)`",
                    "stddev" => "`stddev(x)` (sample standard deviation)",
                    "percentile" => "`percentile(x, 0.9)`: the 90th percentile, interpolated",
                    _ => "`percentile_nearest(x, 0.9)`: the 90th percentile, nearest rank",
                };
                let n = if func.starts_with("percentile") { 2..=2 } else { 1..=1 };
                if !arity(self, n, usage) {
                    return None;
                }
                let a = &args[0];
                self.no_distinct(a, func);
                let filter = combine(self, Some(a))?;
                let t = self.numeric_arg(scope, a, func)?;
                let agg = match func {
                    "median" => AggFunc::Percentile { p: 0.5, method: crate::functions::PercentileMethod::Interpolated },
                    "stddev" => AggFunc::Stddev,
                    _ => {
                        let p_arg = &args[1];
                        let p = match &p_arg.expr.kind {
                            ExprKind::Number { value, .. } if (0.0..=1.0).contains(value) && p_arg.filter.is_none() => *value,
                            _ => {
                                self.errors.push(
                                    Diagnostic::error("YS0212", format!("the second argument of `{func}` must be a fraction from 0 to 1"))
                                        .at(p_arg.span, "not a fraction")
                                        .help(format!("write e.g. `{func}(x, 0.9)` or `{func}(x, 90%)` for the 90th percentile")),
                                );
                                return None;
                            }
                        };
                        let method = if func == "percentile" {
                            crate::functions::PercentileMethod::Interpolated
                        } else {
                            crate::functions::PercentileMethod::NearestRank
                        };
                        AggFunc::Percentile { p, method }
                    }
                };
                let unit = t.unit.clone();
                Some((Measure::Aggregate(Aggregate { func: agg, arg: Some(t), filter }), unit))
            }
            "share" => {
                if !arity(self, 1..=1, "`share(<condition>)`: rows meeting the condition over all rows") {
                    return None;
                }
                let a = &args[0];
                self.no_distinct(a, func);
                let filter = combine(self, Some(a))?;
                let condition = self.condition(scope, &a.expr, "`share`")?;
                Some((Measure::Share { condition, filter }, Unit::Percent))
            }
            "ratio" => {
                if !arity(self, 2..=2, "`ratio(<measure>, <measure>)`, e.g. `ratio(sum(cost), count())`") {
                    return None;
                }
                let mut parts = vec![];
                for a in args {
                    self.no_distinct(a, func);
                    let f = combine(self, Some(a));
                    let m = f.and_then(|f| self.measure(scope, &a.expr, f.as_ref()));
                    parts.push(m);
                }
                let r = parts.pop().flatten();
                let l = parts.pop().flatten();
                let ((l, lu), (r, ru)) = (l?, r?);
                let unit = if lu == ru {
                    Unit::None
                } else if matches!(ru, Unit::Count) {
                    lu
                } else {
                    Unit::None
                };
                Some((Measure::Ratio(Box::new(l), Box::new(r)), unit))
            }
            _ if row_function(func).is_some() => {
                self.errors.push(
                    Diagnostic::error("YS0214", format!("`{func}` gives one value per row, not a measure"))
                        .at(e.span, "a row value")
                        .help(format!("aggregate it: `avg({func}(...))`, or `share({func}(...) <= 10)` for the share within a limit")),
                );
                None
            }
            _ => {
                self.errors.push(
                    Diagnostic::error("YS0211", format!("unknown measure `{func}`")).at(name.span, "not a measure").help(suggest(
                        "measure",
                        func,
                        MEASURES.iter().copied(),
                    )),
                );
                None
            }
        }
    }

    fn no_distinct(&mut self, a: &ast::Arg, func: &str) {
        if a.distinct {
            self.errors.push(
                Diagnostic::error("YS0212", format!("`distinct` only applies to `count`, not `{func}`"))
                    .at(a.span, "here")
                    .help("write `count(distinct column)` to count different values"),
            );
        }
    }

    /// A row-level expression: typed, names resolved.
    #[recursive::recursive]
    fn row(&mut self, scope: &Scope, e: &ast::Expr) -> Option<TypedExpr> {
        let plain = |kind, ty| Some(TypedExpr { kind, ty, unit: Unit::None });
        match &e.kind {
            ExprKind::Column(c) => {
                let ty = self.column(scope, c)?;
                plain(TExprKind::Column(c.name.clone()), ty)
            }
            ExprKind::Number { value, text } => {
                if !text.contains('.') && *value < 9.0e15 {
                    plain(TExprKind::Literal(Literal::Integer(*value as i64)), Type::Integer)
                } else {
                    plain(TExprKind::Literal(Literal::Number(*value)), Type::Float)
                }
            }
            ExprKind::String(s) => plain(TExprKind::Literal(Literal::String(s.clone())), Type::String),
            ExprKind::Bool(b) => plain(TExprKind::Literal(Literal::Bool(*b)), Type::Boolean),
            ExprKind::Null => plain(TExprKind::Literal(Literal::Null), Type::Null),
            ExprKind::Date(d) => plain(TExprKind::Literal(Literal::Date(*d)), Type::Date),
            ExprKind::Unary { op: UnaryOp::Not, expr } => {
                let t = self.condition(scope, expr, "`not`")?;
                plain(TExprKind::Not(Box::new(t)), Type::Boolean)
            }
            ExprKind::Unary { op: UnaryOp::Neg, expr } => {
                let t = self.row(scope, expr)?;
                if !t.ty.is_numeric() {
                    self.errors.push(Diagnostic::error("YS0210", format!("cannot negate {}", article(t.ty))).at(expr.span, "not a number"));
                    return None;
                }
                let (ty, unit) = (t.ty, t.unit.clone());
                Some(TypedExpr { kind: TExprKind::Neg(Box::new(t)), ty, unit })
            }
            ExprKind::IsNull { expr, negated } => {
                let t = self.row(scope, expr)?;
                plain(TExprKind::IsNull { expr: Box::new(t), negated: *negated }, Type::Boolean)
            }
            ExprKind::InList { expr, list, negated } => {
                let t = self.row(scope, expr)?;
                let mut items = vec![];
                for item in list {
                    let it = self.row(scope, item)?;
                    let it = self.comparable(&t, it, expr.span, item.span)?;
                    items.push(it);
                }
                plain(TExprKind::InList { expr: Box::new(t), list: items, negated: *negated }, Type::Boolean)
            }
            ExprKind::Binary { op, lhs, rhs } => {
                if matches!(op, BinaryOp::And | BinaryOp::Or) {
                    let l = self.condition(scope, lhs, &format!("`{}`", op.symbol()));
                    let r = self.condition(scope, rhs, &format!("`{}`", op.symbol()));
                    let (l, r) = (l?, r?);
                    return plain(TExprKind::Binary { op: *op, lhs: Box::new(l), rhs: Box::new(r) }, Type::Boolean);
                }
                let l = self.row(scope, lhs);
                let r = self.row(scope, rhs);
                let (l, r) = (l?, r?);
                if op.is_comparison() {
                    if l.ty == Type::Null || r.ty == Type::Null {
                        self.errors.push(
                            Diagnostic::error("YS0210", format!("comparing with `null` using `{}` is never true", op.symbol()))
                                .at(e.span, "always unknown")
                                .help(format!("write `is {}null`", if *op == BinaryOp::Ne { "not " } else { "" })),
                        );
                        return None;
                    }
                    let r = self.comparable(&l, r, lhs.span, rhs.span)?;
                    return plain(TExprKind::Binary { op: *op, lhs: Box::new(l), rhs: Box::new(r) }, Type::Boolean);
                }
                // arithmetic
                for (t, span) in [(&l, lhs.span), (&r, rhs.span)] {
                    if !t.ty.is_numeric() {
                        let help = if t.ty.is_temporal() {
                            "to subtract dates or timestamps use `seconds_between`, `minutes_between`, `hours_between` or `days_between`"
                        } else {
                            "arithmetic needs numbers"
                        };
                        self.errors.push(
                            Diagnostic::error("YS0210", format!("`{}` needs numbers, found {}", op.symbol(), article(t.ty)))
                                .at(span, format!("this is {}", article(t.ty)))
                                .help(help),
                        );
                        return None;
                    }
                }
                let ty = if *op == BinaryOp::Div || l.ty == Type::Float || r.ty == Type::Float { Type::Float } else { Type::Integer };
                let unit = if l.unit != Unit::None { l.unit.clone() } else { r.unit.clone() };
                Some(TypedExpr { kind: TExprKind::Binary { op: *op, lhs: Box::new(l), rhs: Box::new(r) }, ty, unit })
            }
            ExprKind::Call { name, args } => {
                let Some(unit) = row_function(&name.name) else {
                    if MEASURES.contains(&name.name.as_str()) {
                        self.errors.push(
                            Diagnostic::error("YS0213", format!("`{}` is a measure, not a row value", name.name))
                                .at(e.span, "aggregates many rows")
                                .help("measures can only appear in `measure` (or inside `ratio`); filter rows with a plain condition"),
                        );
                    } else {
                        let mut all: Vec<&str> = ROW_FUNCTIONS.to_vec();
                        all.extend(MEASURES);
                        self.errors.push(
                            Diagnostic::error("YS0211", format!("unknown function `{}`", name.name))
                                .at(name.span, "not a function")
                                .help(suggest("function", &name.name, all)),
                        );
                    }
                    return None;
                };
                if args.len() != 2 || args.iter().any(|a| a.distinct || a.filter.is_some()) {
                    self.errors.push(
                        Diagnostic::error("YS0212", format!("`{}` takes two arguments: a start and an end", name.name))
                            .at(e.span, "here")
                            .help(format!("usage: `{}(received_at, answered_at)` (end minus start)", name.name)),
                    );
                    return None;
                }
                let from = self.row(scope, &args[0].expr);
                let to = self.row(scope, &args[1].expr);
                let (from, to) = (from?, to?);
                for (t, a) in [(&from, &args[0]), (&to, &args[1])] {
                    if !t.ty.is_temporal() {
                        self.errors.push(
                            Diagnostic::error("YS0210", format!("`{}` needs dates or timestamps, found {}", name.name, article(t.ty)))
                                .at(a.expr.span, format!("this is {}", article(t.ty)))
                                .help("declare the column with `type: timestamp` (and its `format`) or `type: date`"),
                        );
                        return None;
                    }
                }
                Some(match unit {
                    Some(unit) => TypedExpr {
                        kind: TExprKind::Duration { unit, from: Box::new(from), to: Box::new(to) },
                        ty: Type::Float,
                        unit: Unit::Duration(unit),
                    },
                    None => TypedExpr {
                        kind: TExprKind::BusinessDays { from: Box::new(from), to: Box::new(to) },
                        ty: Type::Integer,
                        unit: Unit::BusinessDays,
                    },
                })
            }
        }
    }

    /// Check that `r` can be compared with `l`; string literals compared with dates become dates.
    fn comparable(&mut self, l: &TypedExpr, r: TypedExpr, lspan: Span, rspan: Span) -> Option<TypedExpr> {
        let ok = match (l.ty, r.ty) {
            (a, b) if a == b => true,
            (Type::Null, _) | (_, Type::Null) => true,
            (a, b) if a.is_numeric() && b.is_numeric() => true,
            (a, b) if a.is_temporal() && b.is_temporal() => true,
            (a, Type::String) if a.is_temporal() => {
                if let TExprKind::Literal(Literal::String(s)) = &r.kind {
                    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                        return Some(TypedExpr { kind: TExprKind::Literal(Literal::Date(d)), ty: Type::Date, unit: Unit::None });
                    }
                }
                false
            }
            _ => false,
        };
        if ok {
            return Some(r);
        }
        let help = match (l.ty, r.ty) {
            (Type::String, t) if t.is_numeric() => "quote the value to compare text: `'42'`".to_string(),
            (t, Type::String) if t.is_numeric() => "remove the quotes to compare numbers, or declare the column as string".to_string(),
            (t, Type::String) if t.is_temporal() => "write dates as YYYY-MM-DD, e.g. `received_at >= 2024-01-01`".to_string(),
            (Type::Boolean, _) | (_, Type::Boolean) => "compare booleans with `true` or `false`".to_string(),
            _ => "both sides of a comparison must have the same type".to_string(),
        };
        self.errors.push(
            Diagnostic::error("YS0210", format!("cannot compare {} with {}", article(l.ty), article(r.ty)))
                .at(rspan, format!("this is {}", article(r.ty)))
                .also(lspan, format!("this is {}", article(l.ty)))
                .help(help),
        );
        None
    }
}

const MEASURES: &[&str] = &["count", "sum", "avg", "min", "max", "median", "percentile", "percentile_nearest", "stddev", "share", "ratio"];
const ROW_FUNCTIONS: &[&str] = &["seconds_between", "minutes_between", "hours_between", "days_between", "business_days_between"];

/// Duration functions; `None` unit for business days (counted against the calendar).
fn row_function(name: &str) -> Option<Option<DurationUnit>> {
    Some(match name {
        "business_days_between" => None,
        other => Some(duration_function(other)?),
    })
}

fn duration_function(name: &str) -> Option<DurationUnit> {
    match name {
        "seconds_between" => Some(DurationUnit::Seconds),
        "minutes_between" => Some(DurationUnit::Minutes),
        "hours_between" => Some(DurationUnit::Hours),
        "days_between" => Some(DurationUnit::Days),
        _ => None,
    }
}

/// "a string", "an integer".
fn article(t: Type) -> String {
    let n = t.name();
    if n.starts_with(['a', 'e', 'i', 'o', 'u']) { format!("an {n}") } else { format!("a {n}") }
}

fn and(a: Option<TypedExpr>, b: Option<TypedExpr>) -> Option<TypedExpr> {
    match (a, b) {
        (Some(a), Some(b)) => Some(TypedExpr {
            kind: TExprKind::Binary { op: BinaryOp::And, lhs: Box::new(a), rhs: Box::new(b) },
            ty: Type::Boolean,
            unit: Unit::None,
        }),
        (a, b) => a.or(b),
    }
}

fn plural_args(n: &std::ops::RangeInclusive<usize>) -> String {
    let word = |k: usize| if k == 1 { "argument" } else { "arguments" };
    if n.start() == n.end() { format!("{} {}", n.start(), word(*n.start())) } else { format!("{} to {} arguments", n.start(), n.end()) }
}

/// A KPI's clauses by slot (the first of each), its `target` clauses (which may repeat as a
/// schedule), and the clauses given again with the span of the first one.
#[allow(clippy::type_complexity)]
fn clause_slots(kpi: &ast::Kpi) -> (HashMap<&'static str, &ast::KpiClause>, Vec<(&ast::TargetAst, Span)>, Vec<(&ast::KpiClause, Span)>) {
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
fn kpi_header(kpi: &ast::Kpi, meta: Meta, goal: &str, objective: Option<&str>, inherited_owner: Option<&str>) -> CheckedKpi {
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
    }
}

/// Keys every results.json row has; a `by` column with one of these names would clash.
const RESERVED_ROW_KEYS: [&str; 5] = ["period", "value", "status", "target", "comparisons"];

/// Where each KPI id is first found in `kpis`.
fn kpi_positions(kpis: &[CheckedKpi]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for (i, k) in kpis.iter().enumerate() {
        out.entry(k.id.clone()).or_insert(i);
    }
    out
}

/// The operands of unary and binary operators below `e`, and `e`, without recursion.
fn walk_operands(e: &ast::Expr) -> impl Iterator<Item = &ast::Expr> {
    let mut stack = vec![e];
    std::iter::from_fn(move || {
        let e = stack.pop()?;
        match &e.kind {
            ExprKind::Unary { expr, .. } => stack.push(expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                stack.push(rhs);
                stack.push(lhs);
            }
            _ => {}
        }
        Some(e)
    })
}

fn has_call(e: &ast::Expr) -> bool {
    walk_operands(e).any(|e| matches!(e.kind, ExprKind::Call { .. }))
}

/// Names used in a derived KPI's measure (the KPIs it reads), in order.
fn collect_names(e: &ast::Expr) -> Vec<ast::Ident> {
    walk_operands(e)
        .filter_map(|e| match &e.kind {
            ExprKind::Column(id) => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// A derived KPI's unit: its inputs' shared unit under + and -, none for ratios of like units.
#[recursive::recursive]
fn derived_unit(e: &ast::Expr, inputs: &[(ast::Ident, Option<Grain>, Vec<String>, Unit)]) -> Unit {
    match &e.kind {
        ExprKind::Column(id) => inputs.iter().find(|(i, ..)| i.name == id.name).map(|(.., u)| u.clone()).unwrap_or(Unit::None),
        ExprKind::Unary { expr, .. } => derived_unit(expr, inputs),
        ExprKind::Binary { op, lhs, rhs } => {
            let (l, r) = (derived_unit(lhs, inputs), derived_unit(rhs, inputs));
            match op {
                BinaryOp::Add | BinaryOp::Sub if l == r => l,
                BinaryOp::Mul | BinaryOp::Div if matches!(r, Unit::Count | Unit::None) && l != r => l,
                BinaryOp::Mul if matches!(l, Unit::Count | Unit::None) => r,
                _ => Unit::None,
            }
        }
        _ => Unit::None,
    }
}

struct Framing {
    targets: Vec<Target>,
    baseline: Option<Baseline>,
    direction: Option<Direction>,
    compare: Vec<Comparison>,
}

/// A quantity as written: `90%`, `8 min`, `5`.
fn quantity_text(q: &ast::Quantity) -> String {
    match &q.unit {
        Some(u) if u.name == "%" || u.name == "pp" => format!("{}{}", q.text, u.name),
        Some(u) if ["$", "£", "€"].contains(&u.name.as_str()) => format!("{}{}", u.name, q.text),
        Some(u) => format!("{} {}", q.text, u.name),
        None => q.text.clone(),
    }
}

fn duplicate_clause(kw: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("YS0203", format!("`{kw}` is given twice"))
        .at(span, "second one")
        .also(first, "first one")
        .help(format!("a KPI has at most one `{kw}`; combine them (e.g. conditions with `and`) or remove one"))
}

fn source_list(config: &Config) -> String {
    if config.sources.is_empty() {
        "none are declared yet".to_string()
    } else {
        config.sources.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
    }
}
