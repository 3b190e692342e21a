//! Row expressions: typing, operators, row functions, comparisons.

use super::functions::{ROW_FUNCTION_TABLE, row_function_info};
use super::measure::MEASURES;
use super::*;

impl Checker<'_> {
    /// The argument of an aggregate over numbers (`sum`, `median`, ...), typed.
    pub(super) fn numeric_arg(&mut self, scope: &Scope, a: &ast::Arg, func: &str) -> Option<TypedExpr> {
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
    pub(super) fn condition(&mut self, scope: &Scope, e: &ast::Expr, what: &str) -> Option<TypedExpr> {
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

    /// A row-level expression: typed, names resolved.
    #[recursive::recursive]
    pub(super) fn row(&mut self, scope: &Scope, e: &ast::Expr) -> Option<TypedExpr> {
        let plain = |kind, ty| Some(TypedExpr { kind, ty, unit: Unit::None });
        match &e.kind {
            ExprKind::Column(c) => {
                let ty = self.column(scope, c)?;
                Some(TypedExpr { kind: TExprKind::Column(c.name.clone()), ty, unit: scope.unit(&c.name) })
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
            ExprKind::Interval { .. } => {
                self.errors.push(
                    Diagnostic::error("YS0210", "an interval on its own is not a value")
                        .at(e.span, "an interval")
                        .help("add it to or subtract it from a date or timestamp: `received_at + 30 days`"),
                );
                None
            }
            ExprKind::Binary { op: op @ (BinaryOp::Add | BinaryOp::Sub), lhs, rhs }
                if matches!(lhs.kind, ExprKind::Interval { .. }) || matches!(rhs.kind, ExprKind::Interval { .. }) =>
            {
                self.shifted(scope, *op, lhs, rhs)
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
                if let Some(f) = row_function_info(&name.name) {
                    return self.row_call(scope, e, f, args);
                }
                let Some(unit) = row_function(&name.name) else {
                    if MEASURES.contains(&name.name.as_str()) {
                        self.errors.push(
                            Diagnostic::error("YS0213", format!("`{}` is a measure, not a row value", name.name))
                                .at(e.span, "aggregates many rows")
                                .help("measures can only appear in `measure` (or inside `ratio`); filter rows with a plain condition"),
                        );
                    } else {
                        let mut all: Vec<&str> = ROW_FUNCTIONS.to_vec();
                        all.extend(ROW_FUNCTION_TABLE.iter().map(|f| f.name));
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
    pub(super) fn comparable(&mut self, l: &TypedExpr, r: TypedExpr, lspan: Span, rspan: Span) -> Option<TypedExpr> {
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

pub(super) const ROW_FUNCTIONS: &[&str] = &["seconds_between", "minutes_between", "hours_between", "days_between", "business_days_between"];

/// Duration functions; `None` unit for business days (counted against the calendar).
pub(super) fn row_function(name: &str) -> Option<Option<DurationUnit>> {
    Some(match name {
        "business_days_between" => None,
        other => Some(duration_function(other)?),
    })
}

pub(super) fn duration_function(name: &str) -> Option<DurationUnit> {
    match name {
        "seconds_between" => Some(DurationUnit::Seconds),
        "minutes_between" => Some(DurationUnit::Minutes),
        "hours_between" => Some(DurationUnit::Hours),
        "days_between" => Some(DurationUnit::Days),
        _ => None,
    }
}

pub(super) fn and(a: Option<TypedExpr>, b: Option<TypedExpr>) -> Option<TypedExpr> {
    match (a, b) {
        (Some(a), Some(b)) => Some(TypedExpr {
            kind: TExprKind::Binary { op: BinaryOp::And, lhs: Box::new(a), rhs: Box::new(b) },
            ty: Type::Boolean,
            unit: Unit::None,
        }),
        (a, b) => a.or(b),
    }
}
