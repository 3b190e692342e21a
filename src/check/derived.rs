//! Derived KPIs (KPIs over KPIs): resolution in dependency order, cycles, alignment, units.

use super::change::is_change_call;
use super::kpi::{clause_slots, kpi_header};
use super::*;

impl Checker<'_> {
    /// A KPI without `from` whose measure is arithmetic over other KPIs. Checked in two
    /// steps: its own clauses now, its inputs in [`Checker::resolve_derived`].
    #[allow(clippy::too_many_arguments)]
    pub(super) fn derived_kpi(
        &mut self,
        kpi: &ast::Kpi,
        by_kind: &HashMap<&'static str, &ast::KpiClause>,
        meta: Meta,
        goal: &str,
        objective: Option<&str>,
        inherited_owner: Option<&str>,
        errors_before: usize,
    ) -> Option<CheckedKpi> {
        for kw in ["where", "by", "time", "window", "scope", "complete_after", "check"] {
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
    pub(super) fn resolve_derived(&mut self, kpis: &mut [CheckedKpi]) {
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

    pub(super) fn resolve_one(
        &mut self,
        ast_kpi: &ast::Kpi,
        measure: &ast::Expr,
        kpis: &mut [CheckedKpi],
        positions: &HashMap<String, usize>,
    ) {
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
        if let Some(call) = walk_operands(measure).find(|e| is_change_call(e)) {
            if !self.change_needs_grain(grain, call) {
                return;
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
        let mut k = k.clone();
        self.annotations(ast_kpi, &mut k);
        if self.errors.len() > errors_before {
            return;
        }
        kpis[me] = k;
        self.unresolved.remove(&ast_kpi.id.name);
    }

    #[recursive::recursive]
    pub(super) fn derived_expr(
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
            ExprKind::Call { .. } if is_change_call(e) => {
                let call = self.change_call(e)??;
                if let Some(f) = &call.of.filter {
                    self.errors.push(
                        Diagnostic::error("YS0232", format!("a derived KPI's `{}` has no `where`", call.kind.name()))
                            .at(f.span, "a derived KPI has no rows to filter")
                            .help("put the condition on the KPI it uses, or use `change` as the measure of a KPI with `from`"),
                    );
                    return None;
                }
                let of = self.derived_expr(&call.of.expr, me, kpis, positions, inputs)?;
                Some(DerivedExpr::Change { kind: call.kind, of: Box::new(of), lag: call.lag })
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
}

/// Where each KPI id is first found in `kpis`.
pub(super) fn kpi_positions(kpis: &[CheckedKpi]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for (i, k) in kpis.iter().enumerate() {
        out.entry(k.id.clone()).or_insert(i);
    }
    out
}

/// The operands of unary and binary operators below `e`, and `e`, without recursion; for
/// `change(x, lag)` also `x` (what changes), not the lag.
pub(super) fn walk_operands(e: &ast::Expr) -> impl Iterator<Item = &ast::Expr> {
    let mut stack = vec![e];
    std::iter::from_fn(move || {
        let e = stack.pop()?;
        match &e.kind {
            ExprKind::Unary { expr, .. } => stack.push(expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                stack.push(rhs);
                stack.push(lhs);
            }
            ExprKind::Call { args, .. } if is_change_call(e) => stack.extend(args.first().map(|a| &a.expr)),
            _ => {}
        }
        Some(e)
    })
}

/// Whether the measure calls an aggregate (a call other than `change`): then it reads a
/// source and needs `from`.
pub(super) fn has_call(e: &ast::Expr) -> bool {
    walk_operands(e).any(|e| matches!(e.kind, ExprKind::Call { .. }) && !is_change_call(e))
}

/// Names used in a derived KPI's measure (the KPIs it reads), in order.
pub(super) fn collect_names(e: &ast::Expr) -> Vec<ast::Ident> {
    walk_operands(e)
        .filter_map(|e| match &e.kind {
            ExprKind::Column(id) => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// A derived KPI's unit: its inputs' shared unit under + and -, none for ratios of like units.
#[recursive::recursive]
pub(super) fn derived_unit(e: &ast::Expr, inputs: &[(ast::Ident, Option<Grain>, Vec<String>, Unit)]) -> Unit {
    match &e.kind {
        ExprKind::Column(id) => inputs.iter().find(|(i, ..)| i.name == id.name).map(|(.., u)| u.clone()).unwrap_or(Unit::None),
        ExprKind::Unary { expr, .. } => derived_unit(expr, inputs),
        ExprKind::Call { name, args } => match (ChangeKind::from_name(&name.name), args.first()) {
            (Some(kind), Some(of)) => kind.unit(&derived_unit(&of.expr, inputs)),
            _ => Unit::None,
        },
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
