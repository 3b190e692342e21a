//! Row functions (`trim`, `coalesce`, `if`, `year`, ...), interval shifts and tuples as
//! DataFusion expressions. `check::functions` decides names, arities and types.

use datafusion::common::ScalarValue;
use datafusion::functions::expr_fn::{btrim, coalesce, contains, date_part, ends_with, lower, named_struct, starts_with, upper};
use datafusion::logical_expr::expr::Case;
use datafusion::logical_expr::{Expr, Operator, binary_expr, cast, lit};

use super::{Functions, arrow_type, positive_zero, row_expr};
use crate::ast::IntervalUnit;
use crate::model::*;

pub(super) fn row_function(fx: &Functions, func: RowFunc, args: &[TypedExpr], ty: Type) -> Expr {
    let x = |a: &TypedExpr| row_expr(fx, a);
    // Results of `coalesce` / `if` in their one type (dates as timestamps when mixed).
    let as_result = |a: &TypedExpr| if a.ty == ty || a.ty == Type::Null { row_expr(fx, a) } else { cast(row_expr(fx, a), arrow_type(ty)) };
    match (func, args) {
        // Spaces only, as SQL's `trim`: the SQL shown stays plain `btrim(x)`.
        (RowFunc::Trim, [a]) => btrim(vec![x(a)]),
        (RowFunc::Lower, [a]) => lower(x(a)),
        (RowFunc::Upper, [a]) => upper(x(a)),
        (RowFunc::StartsWith, [a, b]) => starts_with(x(a), x(b)),
        (RowFunc::EndsWith, [a, b]) => ends_with(x(a), x(b)),
        (RowFunc::Contains, [a, b]) => contains(x(a), x(b)),
        (RowFunc::Like, [a, b]) => x(a).like(x(b)),
        (RowFunc::Coalesce, args) => coalesce(args.iter().map(as_result).collect()),
        (RowFunc::If, [c, then, otherwise]) => {
            Expr::Case(Case::new(None, vec![(Box::new(x(c).is_true()), Box::new(as_result(then)))], Some(Box::new(as_result(otherwise)))))
        }
        (RowFunc::Date, [a]) => cast(x(a), arrow_type(Type::Date)),
        (RowFunc::Extract(part), [a]) => {
            let name = match part {
                DatePart::Year => "year",
                DatePart::Quarter => "quarter",
                DatePart::Month => "month",
                DatePart::Week => "week",
                DatePart::Day => "day",
                DatePart::Weekday => "isodow",
                DatePart::DayOfYear => "doy",
                DatePart::Hour => "hour",
                DatePart::Minute => "minute",
                DatePart::Second => "second",
            };
            cast(date_part(lit(name), x(a)), arrow_type(Type::Integer))
        }
        // `check` gives every function its number of arguments; a typed null keeps the plan
        // valid should that ever not hold.
        _ => cast(lit(ScalarValue::Null), arrow_type(ty)),
    }
}

/// `t + n unit`: months and years move the calendar (the 31st becomes the month's last day),
/// days and weeks move the date, hours and less move the clock.
pub(super) fn shift(fx: &Functions, base: &TypedExpr, amount: i64, unit: IntervalUnit, ty: Type) -> Expr {
    let n = amount as i32;
    let interval = match unit {
        IntervalUnit::Years => ScalarValue::new_interval_mdn(n.saturating_mul(12), 0, 0),
        IntervalUnit::Months => ScalarValue::new_interval_mdn(n, 0, 0),
        IntervalUnit::Weeks => ScalarValue::new_interval_mdn(0, n.saturating_mul(7), 0),
        IntervalUnit::Days => ScalarValue::new_interval_mdn(0, n, 0),
        IntervalUnit::Hours => ScalarValue::new_interval_mdn(0, 0, amount.saturating_mul(3_600_000_000_000)),
        IntervalUnit::Minutes => ScalarValue::new_interval_mdn(0, 0, amount.saturating_mul(60_000_000_000)),
        IntervalUnit::Seconds => ScalarValue::new_interval_mdn(0, 0, amount.saturating_mul(1_000_000_000)),
    };
    let x = if base.ty == ty { row_expr(fx, base) } else { cast(row_expr(fx, base), arrow_type(ty)) };
    binary_expr(x, Operator::Plus, lit(interval))
}

/// `(a, b)` for `count(distinct a, b)`: null when any part is null (so it is not counted,
/// and the row accounting counts it as a null input); -0.0 is 0.0 as in a single column.
pub(super) fn tuple(fx: &Functions, parts: &[TypedExpr]) -> Expr {
    let mut fields = vec![];
    let mut any_null: Option<Expr> = None;
    for (i, p) in parts.iter().enumerate() {
        let x = row_expr(fx, p);
        let x = if p.ty == Type::Float { positive_zero(x) } else { x };
        let null = x.clone().is_null();
        any_null = Some(match any_null {
            Some(n) => n.or(null),
            None => null,
        });
        fields.push(lit(format!("c{i}")));
        fields.push(x);
    }
    let record = named_struct(fields);
    match any_null {
        Some(n) => Expr::Case(Case::new(None, vec![(Box::new(n), Box::new(lit(ScalarValue::Null)))], Some(Box::new(record)))),
        None => record,
    }
}
