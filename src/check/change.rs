//! `change(x, lag)` and `relative_change(x, lag)`: a KPI whose value is a change against an
//! earlier period. On a KPI with `from` the call is the whole measure (`x` is an aggregate);
//! in a derived KPI it is part of the arithmetic (`x` is arithmetic over KPIs). `series`
//! works the values out; here: the call's shape, the lag's name, the grain, the unit.

use super::*;

/// A checked `change(...)` or `relative_change(...)` call.
pub(super) struct ChangeCall<'a> {
    pub(super) kind: ChangeKind,
    /// What changes: the first argument.
    pub(super) of: &'a ast::Arg,
    pub(super) lag: Lag,
}

/// Whether `e` is a call of `change` or `relative_change` (well formed or not).
pub(super) fn is_change_call(e: &ast::Expr) -> bool {
    matches!(&e.kind, ExprKind::Call { name, .. } if ChangeKind::from_name(&name.name).is_some())
}

impl Checker<'_> {
    /// `None` when `e` is not a change call; `Some(None)` when it is one written wrong (the
    /// errors are reported).
    pub(super) fn change_call<'a>(&mut self, e: &'a ast::Expr) -> Option<Option<ChangeCall<'a>>> {
        let ExprKind::Call { name, args } = &e.kind else { return None };
        let kind = ChangeKind::from_name(&name.name)?;
        let usage = format!("`{}(<KPI or measure>, previous_period)` or `{}(..., same_period_last_year)`", kind.name(), kind.name());
        let [of, lag] = args.as_slice() else {
            self.errors.push(
                Diagnostic::error("YS0232", format!("`{}` takes 2 arguments, found {}", kind.name(), args.len()))
                    .at(e.span, "what changes, against which period?")
                    .help(format!("usage: {usage}")),
            );
            return Some(None);
        };
        if of.distinct {
            self.errors.push(
                Diagnostic::error("YS0232", format!("`distinct` does not fit the first argument of `{}`", kind.name()))
                    .at(of.span, "not a column")
                    .help("the first argument is a KPI or a measure, e.g. `count(distinct caller)`"),
            );
            return Some(None);
        }
        let lag_name = match (&lag.expr.kind, lag.distinct, &lag.filter) {
            (ExprKind::Column(id), false, None) => id,
            _ => {
                self.errors.push(
                    Diagnostic::error("YS0232", format!("the second argument of `{}` is the earlier period", kind.name()))
                        .at(lag.span, "not a period")
                        .help(format!("write `previous_period` or `same_period_last_year`; usage: {usage}")),
                );
                return Some(None);
            }
        };
        let Some(lag) = Lag::ALL.iter().find(|(n, _)| *n == lag_name.name).map(|(_, l)| *l) else {
            let help = if lag_name.name == "baseline" {
                "a change against the baseline is a comparison: `compare baseline` adds it to every row; a change as the value is against `previous_period` or `same_period_last_year`".to_string()
            } else {
                suggest("period", &lag_name.name, Lag::ALL.iter().map(|(n, _)| *n))
            };
            self.errors.push(
                Diagnostic::error("YS0232", format!("unknown period `{}`", lag_name.name))
                    .at(lag_name.span, "not an earlier period")
                    .help(help),
            );
            return Some(None);
        };
        Some(Some(ChangeCall { kind, of, lag }))
    }

    /// The measure of a KPI with `from`, with the unit it is in: `change(m, lag)` checks `m`
    /// as the measure and sets `change`; any other measure is checked as it is.
    pub(super) fn own_change(
        &mut self,
        scope: &Scope,
        e: &ast::Expr,
        grain: Option<Grain>,
        change: &mut Option<(ChangeKind, Lag)>,
    ) -> Option<(Measure, Unit)> {
        let Some(call) = self.change_call(e) else {
            if self.misplaced_changes(e, true) {
                return None;
            }
            return self.measure(scope, e, None);
        };
        let call = call?;
        if self.misplaced_changes(&call.of.expr, false) {
            return None;
        }
        let filter = match &call.of.filter {
            Some(f) => Some(self.condition(scope, f, "`where` inside a measure")?),
            None => None,
        };
        let (measure, unit) = self.measure(scope, &call.of.expr, filter.as_ref())?;
        if !self.change_needs_grain(grain, e) {
            return None;
        }
        *change = Some((call.kind, call.lag));
        Some((measure, call.kind.unit(&unit)))
    }

    /// A change needs periods to go back from: `call` is a change call.
    pub(super) fn change_needs_grain(&mut self, grain: Option<Grain>, call: &ast::Expr) -> bool {
        let ExprKind::Call { name, .. } = &call.kind else { return true };
        if grain.is_some() {
            return true;
        }
        self.errors.push(
            Diagnostic::error("YS0232", format!("`{}` needs a grain", name.name))
                .at(call.span, "earlier than which period?")
                .help("add e.g. `grain month` (for a derived KPI: on the KPIs it uses)"),
        );
        false
    }

    /// `change(...)` anywhere but as the whole measure of a KPI with `from` (`skip_root`:
    /// `measure` is that whole measure).
    pub(super) fn misplaced_changes(&mut self, measure: &ast::Expr, skip_root: bool) -> bool {
        let before = self.errors.len();
        for e in super::derived::walk_operands(measure).filter(|e| !(skip_root && std::ptr::eq(*e, measure))) {
            if let ExprKind::Call { name, .. } = &e.kind {
                if let Some(kind) = ChangeKind::from_name(&name.name) {
                    self.errors.push(
                        Diagnostic::error("YS0232", format!("`{}` must be the whole measure of a KPI with `from`", kind.name()))
                            .at(e.span, "inside other arithmetic")
                            .help(format!(
                                "make it a KPI of its own (`measure {}(count(), same_period_last_year)`), or make the measure a KPI and use `{}(<that KPI>, ...)` in a derived KPI, where it combines with other KPIs",
                                kind.name(),
                                kind.name()
                            )),
                    );
                }
            }
        }
        self.errors.len() > before
    }
}
