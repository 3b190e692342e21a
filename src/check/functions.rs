//! Row functions beyond durations (`trim`, `lower`, `coalesce`, `if`, `year`, `extract`, ...)
//! and interval arithmetic on dates (`t + 30 days`): names, arities and argument types.

use super::*;
use crate::ast::IntervalUnit;

/// Every row function: its name, how it is written, and what it computes.
pub(super) struct RowFunctionInfo {
    pub name: &'static str,
    pub usage: &'static str,
    pub args: std::ops::RangeInclusive<usize>,
    pub func: Option<RowFunc>,
}

const fn info(name: &'static str, usage: &'static str, args: std::ops::RangeInclusive<usize>, func: RowFunc) -> RowFunctionInfo {
    RowFunctionInfo { name, usage, args, func: Some(func) }
}

/// Text, logic and date functions. `Extract` entries are the date parts as functions
/// (`year(t)`, `weekday(t)`); `extract(part, t)` names the part as its first argument.
pub(super) const ROW_FUNCTION_TABLE: &[RowFunctionInfo] = &[
    info("trim", "`trim(text)`: without leading and trailing spaces", 1..=1, RowFunc::Trim),
    info("lower", "`lower(text)`", 1..=1, RowFunc::Lower),
    info("upper", "`upper(text)`", 1..=1, RowFunc::Upper),
    info("starts_with", "`starts_with(text, 'prefix')`", 2..=2, RowFunc::StartsWith),
    info("ends_with", "`ends_with(text, 'suffix')`", 2..=2, RowFunc::EndsWith),
    info("contains", "`contains(text, 'part')`", 2..=2, RowFunc::Contains),
    info("like", "`like(text, 'pattern%')`: `%` is any text, `_` one character", 2..=2, RowFunc::Like),
    info("coalesce", "`coalesce(a, b, ...)`: the first value that is not null", 2..=64, RowFunc::Coalesce),
    info("if", "`if(condition, value, otherwise)`", 3..=3, RowFunc::If),
    info("date", "`date(timestamp)`: its day", 1..=1, RowFunc::Date),
    info("year", "`year(t)`", 1..=1, RowFunc::Extract(DatePart::Year)),
    info("quarter", "`quarter(t)`: 1 to 4", 1..=1, RowFunc::Extract(DatePart::Quarter)),
    info("month", "`month(t)`: 1 to 12", 1..=1, RowFunc::Extract(DatePart::Month)),
    info("week", "`week(t)`: the ISO week, 1 to 53", 1..=1, RowFunc::Extract(DatePart::Week)),
    info("day", "`day(t)`: the day of the month", 1..=1, RowFunc::Extract(DatePart::Day)),
    info("weekday", "`weekday(t)`: Monday 1 to Sunday 7", 1..=1, RowFunc::Extract(DatePart::Weekday)),
    info("day_of_year", "`day_of_year(t)`: 1 to 366", 1..=1, RowFunc::Extract(DatePart::DayOfYear)),
    info("hour", "`hour(timestamp)`: 0 to 23", 1..=1, RowFunc::Extract(DatePart::Hour)),
    info("minute", "`minute(timestamp)`", 1..=1, RowFunc::Extract(DatePart::Minute)),
    info("second", "`second(timestamp)`: whole seconds", 1..=1, RowFunc::Extract(DatePart::Second)),
    RowFunctionInfo { name: "extract", usage: "`extract(hour, t)`: a part of a date or timestamp", args: 2..=2, func: None },
];

pub(super) fn row_function_info(name: &str) -> Option<&'static RowFunctionInfo> {
    ROW_FUNCTION_TABLE.iter().find(|f| f.name == name)
}

/// Intervals are limited so that no date can leave the range timestamps can hold
/// (years 1678 to 2261) from any date of the valid range: 150 years in any unit.
const MAX_INTERVAL_DAYS: f64 = 150.0 * 366.0;

impl Checker<'_> {
    /// `name(args)` for a function of [`ROW_FUNCTION_TABLE`].
    pub(super) fn row_call(&mut self, scope: &Scope, e: &ast::Expr, f: &RowFunctionInfo, args: &[ast::Arg]) -> Option<TypedExpr> {
        let wrong = |cx: &mut Self, what: String| {
            cx.errors.push(Diagnostic::error("YS0212", what).at(e.span, "here").help(format!("usage: {}", f.usage)));
        };
        if !f.args.contains(&args.len()) {
            wrong(self, format!("`{}` takes {}, found {}", f.name, plural_args(&f.args), args.len()));
            return None;
        }
        if args.iter().any(|a| a.distinct || a.filter.is_some()) {
            wrong(self, format!("`{}` is a row function: `distinct` and `where` belong to measures", f.name));
            return None;
        }
        let func = match f.func {
            Some(func) => func,
            None => RowFunc::Extract(self.date_part(&args[0].expr)?),
        };
        let rest = if f.func.is_none() { &args[1..] } else { args };
        let typed: Vec<Option<TypedExpr>> = rest.iter().map(|a| self.row(scope, &a.expr)).collect();
        let typed: Vec<TypedExpr> = typed.into_iter().collect::<Option<_>>()?;
        let plain = |ty: Type, args: Vec<TypedExpr>| Some(TypedExpr { kind: TExprKind::Func { func, args }, ty, unit: Unit::None });
        match func {
            RowFunc::Trim | RowFunc::Lower | RowFunc::Upper => {
                self.expect_type(&typed[0], &rest[0].expr, f.name, "text", |t| t == Type::String)?;
                plain(Type::String, typed)
            }
            RowFunc::StartsWith | RowFunc::EndsWith | RowFunc::Contains | RowFunc::Like => {
                for (t, a) in typed.iter().zip(rest) {
                    self.expect_type(t, &a.expr, f.name, "text", |t| t == Type::String)?;
                }
                plain(Type::Boolean, typed)
            }
            RowFunc::Coalesce => {
                let ty = self.common_type(&typed, rest, f.name)?;
                let unit = typed.iter().map(|t| t.unit.clone()).find(|u| *u != Unit::None).unwrap_or(Unit::None);
                Some(TypedExpr { kind: TExprKind::Func { func, args: typed }, ty, unit })
            }
            RowFunc::If => {
                if !matches!(typed[0].ty, Type::Boolean | Type::Null) {
                    wrong(self, format!("the first argument of `if` is a condition, found {}", article(typed[0].ty)));
                    return None;
                }
                let ty = self.common_type(&typed[1..], &rest[1..], f.name)?;
                let unit = typed[1..].iter().map(|t| t.unit.clone()).find(|u| *u != Unit::None).unwrap_or(Unit::None);
                Some(TypedExpr { kind: TExprKind::Func { func, args: typed }, ty, unit })
            }
            RowFunc::Date => {
                self.expect_type(&typed[0], &rest[0].expr, f.name, "a date or timestamp", Type::is_temporal)?;
                plain(Type::Date, typed)
            }
            RowFunc::Extract(part) => {
                let needs_time = part.needs_time();
                let what = if needs_time { "a timestamp" } else { "a date or timestamp" };
                self.expect_type(
                    &typed[0],
                    &rest[0].expr,
                    f.name,
                    what,
                    |t| if needs_time { t == Type::Timestamp } else { t.is_temporal() },
                )?;
                plain(Type::Integer, typed)
            }
        }
    }

    /// The part named by `extract`'s first argument: a bare word or a string.
    fn date_part(&mut self, e: &ast::Expr) -> Option<DatePart> {
        let word = match &e.kind {
            ExprKind::Column(c) => c.name.clone(),
            ExprKind::String(s) => s.clone(),
            _ => String::new(),
        };
        if let Some((_, part)) = DatePart::ALL.iter().find(|(n, _)| *n == word) {
            return Some(*part);
        }
        let names: Vec<&str> = DatePart::ALL.iter().map(|(n, _)| *n).collect();
        self.errors.push(Diagnostic::error("YS0212", "`extract` needs a date part first").at(e.span, "not a date part").help(suggest(
            "date part",
            &word,
            names,
        )));
        None
    }

    fn expect_type(&mut self, t: &TypedExpr, e: &ast::Expr, func: &str, what: &str, ok: impl Fn(Type) -> bool) -> Option<()> {
        if ok(t.ty) || t.ty == Type::Null {
            return Some(());
        }
        let help = if what == "text" {
            "declare the column as `string` in yardstick.yaml".to_string()
        } else if what == "a timestamp" && t.ty == Type::Date {
            "a date has no time of day; declare the column as `timestamp` if the file has times".to_string()
        } else {
            format!("`{func}` reads {what}")
        };
        self.errors.push(
            Diagnostic::error("YS0210", format!("`{func}` needs {what}, found {}", article(t.ty)))
                .at(e.span, format!("this is {}", article(t.ty)))
                .help(help),
        );
        None
    }

    /// The one type of values that may each be the result (`coalesce`, `if`): numbers mix
    /// (as floats when any is), dates and timestamps mix (as timestamps), `null` fits any.
    fn common_type(&mut self, typed: &[TypedExpr], args: &[ast::Arg], func: &str) -> Option<Type> {
        let mut ty = Type::Null;
        for (t, a) in typed.iter().zip(args) {
            ty = match (ty, t.ty) {
                (Type::Null, b) => b,
                (a, Type::Null) => a,
                (a, b) if a == b => a,
                (a, b) if a.is_numeric() && b.is_numeric() => Type::Float,
                (a, b) if a.is_temporal() && b.is_temporal() => Type::Timestamp,
                (before, now) => {
                    self.errors.push(
                        Diagnostic::error(
                            "YS0210",
                            format!("the values of `{func}` must have one type: {} and {}", article(before), article(now)),
                        )
                        .at(a.expr.span, format!("this is {}", article(now)))
                        .help("give every value the same type, e.g. quote numbers to compare them as text"),
                    );
                    return None;
                }
            };
        }
        Some(ty)
    }

    /// `t + 30 days`, `t - 2 hours`, `30 days + t`: a date or timestamp shifted.
    pub(super) fn shifted(&mut self, scope: &Scope, op: BinaryOp, lhs: &ast::Expr, rhs: &ast::Expr) -> Option<TypedExpr> {
        let (base, interval, amount, unit) = match (&lhs.kind, &rhs.kind) {
            (_, ExprKind::Interval { amount, unit }) => (lhs, rhs, *amount, *unit),
            (ExprKind::Interval { amount, unit }, _) if op == BinaryOp::Add => (rhs, lhs, *amount, *unit),
            _ => {
                let interval = if matches!(lhs.kind, ExprKind::Interval { .. }) { lhs } else { rhs };
                self.errors.push(
                    Diagnostic::error("YS0210", "an interval cannot be subtracted from")
                        .at(interval.span, "an interval")
                        .help("write the date first: `received_at - 30 days`"),
                );
                return None;
            }
        };
        let t = self.row(scope, base)?;
        if !t.ty.is_temporal() {
            self.errors.push(
                Diagnostic::error("YS0210", format!("an interval can only be added to a date or timestamp, found {}", article(t.ty)))
                    .at(base.span, format!("this is {}", article(t.ty)))
                    .help("for numbers write the number alone: `x + 30`"),
            );
            return None;
        }
        let days = amount
            * match unit {
                IntervalUnit::Seconds => 1.0 / 86_400.0,
                IntervalUnit::Minutes => 1.0 / 1_440.0,
                IntervalUnit::Hours => 1.0 / 24.0,
                IntervalUnit::Days => 1.0,
                IntervalUnit::Weeks => 7.0,
                IntervalUnit::Months => 31.0,
                IntervalUnit::Years => 366.0,
            };
        if amount.fract() != 0.0 || days > MAX_INTERVAL_DAYS {
            self.errors.push(
                Diagnostic::error("YS0212", format!("`{}` is not an interval yardstick can add", interval_text(amount, unit)))
                    .at(interval.span, "here")
                    .help(format!("intervals are whole numbers of {} up to 150 years; for half a day write `12 hours`", unit.word())),
            );
            return None;
        }
        let amount = if op == BinaryOp::Sub { -(amount as i64) } else { amount as i64 };
        // A date shifted by hours or less is a timestamp.
        let ty = if t.ty == Type::Date && matches!(unit, IntervalUnit::Seconds | IntervalUnit::Minutes | IntervalUnit::Hours) {
            Type::Timestamp
        } else {
            t.ty
        };
        Some(TypedExpr { kind: TExprKind::Shift { expr: Box::new(t), amount, unit }, ty, unit: Unit::None })
    }
}

fn interval_text(amount: f64, unit: IntervalUnit) -> String {
    format!("{amount} {}", unit.word())
}
