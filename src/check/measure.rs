//! Measures: aggregates and their arguments, share and ratio, filters.

use super::expr::{and, row_function};
use super::*;

impl Checker<'_> {
    /// A measure (aggregate-level) expression, with the unit it is in.
    #[recursive::recursive]
    pub(super) fn measure(&mut self, scope: &Scope, e: &ast::Expr, filter: Option<&TypedExpr>) -> Option<(Measure, Unit)> {
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
    pub(super) fn quiet_row(&mut self, scope: &Scope, e: &ast::Expr) -> bool {
        let n = self.errors.len();
        let ok = self.row(scope, e).is_some();
        self.errors.truncate(n);
        ok
    }

    pub(super) fn measure_call(
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
            "count" if args.len() > 1 && args[0].distinct => {
                // `count(distinct a, b [where c])`: distinct combinations of several values.
                if let Some(a) = args[1..].iter().find(|a| a.distinct) {
                    self.errors.push(
                        Diagnostic::error("YS0212", "`distinct` is written once, before the first value")
                            .at(a.expr.span, "here")
                            .help("usage: `count(distinct a, b)`"),
                    );
                    return None;
                }
                if let Some(a) = args[..args.len() - 1].iter().find(|a| a.filter.is_some()) {
                    self.errors.push(
                        Diagnostic::error("YS0212", "`where` comes after the last value of `count(distinct ...)`")
                            .at(a.expr.span, "here")
                            .help("usage: `count(distinct a, b where c)`"),
                    );
                    return None;
                }
                let filter = combine(self, args.last())?;
                let parts: Vec<Option<TypedExpr>> = args.iter().map(|a| self.row(scope, &a.expr)).collect();
                let parts: Vec<TypedExpr> = parts.into_iter().collect::<Option<_>>()?;
                // The tuple's own type is never read: it is only ever counted.
                let arg = TypedExpr { kind: TExprKind::Tuple(parts), ty: Type::String, unit: Unit::None };
                Some((Measure::Aggregate(Aggregate { func: AggFunc::CountDistinct, arg: Some(arg), filter }), Unit::Count))
            }
            "count" => {
                if !arity(self, 0..=1, "`count()`, `count(column)`, `count(distinct column)` or `count(distinct a, b)`") {
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

    pub(super) fn no_distinct(&mut self, a: &ast::Arg, func: &str) {
        if a.distinct {
            self.errors.push(
                Diagnostic::error("YS0212", format!("`distinct` only applies to `count`, not `{func}`"))
                    .at(a.span, "here")
                    .help("write `count(distinct column)` to count different values"),
            );
        }
    }
}

pub(super) const MEASURES: &[&str] =
    &["count", "sum", "avg", "min", "max", "median", "percentile", "percentile_nearest", "stddev", "share", "ratio"];
