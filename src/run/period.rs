//! The period of a row, computed fast at run time.
//!
//! Plans (and the SQL people read) write a period as standard SQL:
//! `CAST(date_trunc('month', CAST(t AS TIMESTAMP)) AS DATE)`. DataFusion evaluates that per
//! row through chrono and two casts, which profiles put at about a third of a build's CPU.
//! [`PeriodRule`], an optimizer rule of the run's sessions, replaces exactly that shape
//! (a date or timezone-less microsecond timestamp `t`, the units `day`, `week`, `month`,
//! `quarter`, `year`) with [`period_udf`], which computes the same first day of the period
//! with integer calendar arithmetic on days since 1970-01-01. Anything else is left alone.
//! The values are the same (tested against chrono below and by every value oracle, which
//! run through it).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Date32Array};
use datafusion::arrow::datatypes::{DataType, Date32Type, TimeUnit, TimestampMicrosecondType};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, LogicalPlan, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

/// A calendar unit `date_trunc` truncates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    fn parse(s: &str) -> Option<Unit> {
        Some(match s {
            "day" => Unit::Day,
            "week" => Unit::Week,
            "month" => Unit::Month,
            "quarter" => Unit::Quarter,
            "year" => Unit::Year,
            _ => return None,
        })
    }
    fn name(self) -> &'static str {
        match self {
            Unit::Day => "day",
            Unit::Week => "week",
            Unit::Month => "month",
            Unit::Quarter => "quarter",
            Unit::Year => "year",
        }
    }

    /// The first day (days since 1970-01-01) of the period holding `days`.
    pub fn start(self, days: i32) -> i32 {
        match self {
            Unit::Day => days,
            // 1970-01-01 was a Thursday: Monday-based weekday = (days + 3) mod 7.
            Unit::Week => days - (days + 3).rem_euclid(7),
            Unit::Month => {
                let (_, _, d) = civil_from_days(days as i64);
                days - (d as i32 - 1)
            }
            Unit::Quarter | Unit::Year => {
                let (y, m, _) = civil_from_days(days as i64);
                let m = if self == Unit::Quarter { (m - 1) / 3 * 3 + 1 } else { 1 };
                days_from_civil(y, m, 1) as i32
            }
        }
    }
}

/// Days since 1970-01-01 -> (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day) -> days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// `yardstick_period_<unit>(t)`: the first day of `t`'s period, a DATE; `t` a date or a
/// timestamp (microseconds, no time zone).
#[derive(Debug)]
struct Period {
    unit: Unit,
    name: String,
    signature: Signature,
    /// Period starts of a range of days, looked up instead of computed (most data spans a
    /// few years: a few thousand entries).
    table: std::sync::Mutex<Arc<Table>>,
}

impl PartialEq for Period {
    fn eq(&self, other: &Self) -> bool {
        self.unit == other.unit
    }
}
impl Eq for Period {}
impl std::hash::Hash for Period {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.unit.hash(state)
    }
}

/// `starts[d - first]` is the start of the period holding day `d`.
#[derive(Debug, Default)]
struct Table {
    first: i32,
    starts: Vec<i32>,
}

/// The largest range of days a table covers (about 550 years); beyond it, computed per value.
const MAX_TABLE_DAYS: i64 = 200_000;

impl Table {
    fn covers(&self, lo: i32, hi: i32) -> bool {
        lo >= self.first && (hi as i64) < self.first as i64 + self.starts.len() as i64
    }
    fn get(&self, unit: Unit, d: i32) -> i32 {
        match usize::try_from(d as i64 - self.first as i64).ok().and_then(|i| self.starts.get(i)) {
            Some(s) => *s,
            None => unit.start(d),
        }
    }
}

impl Period {
    /// A table covering `lo..=hi` (and what the old one covered), if not too large.
    fn table_for(&self, lo: i32, hi: i32) -> Arc<Table> {
        let Ok(mut current) = self.table.lock() else { return Arc::new(Table::default()) };
        if current.covers(lo, hi) {
            return current.clone();
        }
        let (lo, hi) = if current.starts.is_empty() {
            (lo, hi)
        } else {
            (lo.min(current.first), hi.max(current.first + current.starts.len() as i32 - 1))
        };
        if hi as i64 - lo as i64 >= MAX_TABLE_DAYS {
            return current.clone();
        }
        let table = Arc::new(Table { first: lo, starts: (lo..=hi).map(|d| self.unit.start(d)).collect() });
        *current = table.clone();
        table
    }

    fn starts(&self, days: &Date32Array) -> Date32Array {
        let (lo, hi) = days.iter().flatten().fold((i32::MAX, i32::MIN), |(lo, hi), d| (lo.min(d), hi.max(d)));
        if lo > hi {
            return days.clone();
        }
        let table = self.table_for(lo, hi);
        days.unary(|d| table.get(self.unit, d))
    }
}

pub fn period_udf(unit: Unit) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(Period {
        unit,
        name: format!("yardstick_period_{}", unit.name()),
        signature: Signature::any(1, Volatility::Immutable),
        table: std::sync::Mutex::new(Arc::new(Table::default())),
    }))
}

#[cfg(any(feature = "cluster", test))]
/// Every period function, for registries (a cluster's scheduler and executors).
pub fn period_udfs() -> Vec<Arc<ScalarUDF>> {
    [Unit::Day, Unit::Week, Unit::Month, Unit::Quarter, Unit::Year].into_iter().map(period_udf).collect()
}

#[cfg(any(feature = "cluster", test))]
const ENCODED_PERIOD: &str = "yardstick.period.v1.";

#[cfg(any(feature = "cluster", test))]
/// A period function as bytes (its unit), for shipping plans to a cluster; `None` for any
/// other function.
pub fn encode_period_udf(udf: &ScalarUDF) -> Option<Vec<u8>> {
    let p = (udf.inner().as_ref() as &dyn std::any::Any).downcast_ref::<Period>()?;
    Some(format!("{ENCODED_PERIOD}{}", p.unit.name()).into_bytes())
}

#[cfg(any(feature = "cluster", test))]
/// [`encode_period_udf`]'s bytes -> the function.
pub fn decode_period_udf(bytes: &[u8]) -> Option<Arc<ScalarUDF>> {
    let unit = std::str::from_utf8(bytes).ok()?.strip_prefix(ENCODED_PERIOD)?;
    Unit::parse(unit).map(period_udf)
}

impl ScalarUDFImpl for Period {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let a: &ArrayRef = &arrays[0];
        let out: Date32Array = match a.data_type() {
            DataType::Date32 => self.starts(a.as_primitive::<Date32Type>()),
            DataType::Timestamp(TimeUnit::Microsecond, None) => {
                self.starts(&a.as_primitive::<TimestampMicrosecondType>().unary::<_, Date32Type>(|us| us.div_euclid(MICROS_PER_DAY) as i32))
            }
            other => return exec_err!("{} needs a date or a timestamp, got {other}", self.name),
        };
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// Replaces `CAST(date_trunc(unit, t) AS DATE)` (with `t` a timestamp, or a date cast to
/// one) by the unit's [`period_udf`].
#[derive(Debug, Default)]
pub struct PeriodRule;

impl OptimizerRule for PeriodRule {
    fn name(&self) -> &str {
        "yardstick_period"
    }
    fn rewrite(&self, plan: LogicalPlan, _config: &dyn OptimizerConfig) -> Result<Transformed<LogicalPlan>> {
        plan.transform_up(|node| {
            let inputs: Vec<Arc<DFSchema>> = node.inputs().iter().map(|i| i.schema().clone()).collect();
            let [schema] = inputs.as_slice() else { return Ok(Transformed::no(node)) };
            let schema = schema.clone();
            let names = NamePreserver::new(&node);
            let rewritten = node.map_expressions(|e| {
                let saved = names.save(&e);
                let t = e.transform_up(|x| {
                    Ok(match fast_period(&x, &schema) {
                        Some(fast) => Transformed::yes(fast),
                        None => Transformed::no(x),
                    })
                })?;
                Ok(if t.transformed { Transformed::yes(saved.restore(t.data)) } else { t })
            })?;
            if rewritten.transformed { rewritten.map_data(|p| p.recompute_schema()) } else { Ok(rewritten) }
        })
    }
}

/// The fast form of `x` if it is a period expression of the supported shape.
fn fast_period(x: &Expr, schema: &DFSchema) -> Option<Expr> {
    let Expr::Cast(outer) = x else { return None };
    if outer.field.data_type() != &DataType::Date32 {
        return None;
    }
    let Expr::ScalarFunction(f) = outer.expr.as_ref() else { return None };
    if f.func.name() != "date_trunc" || f.args.len() != 2 {
        return None;
    }
    let unit = match &f.args[0] {
        Expr::Literal(ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)), _) => Unit::parse(s)?,
        _ => return None,
    };
    let micros = DataType::Timestamp(TimeUnit::Microsecond, None);
    let t = match &f.args[1] {
        // A date cast to a timestamp: midnight of the date, so the date itself is the input.
        Expr::Cast(inner) if inner.field.data_type() == &micros && inner.expr.get_type(schema).ok()? == DataType::Date32 => {
            inner.expr.as_ref().clone()
        }
        other if other.get_type(schema).ok()? == micros => other.clone(),
        _ => return None,
    };
    Some(period_udf(unit).call(vec![t]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate};

    fn days(d: NaiveDate) -> i32 {
        crate::plan::days_since_epoch(d)
    }

    /// Every day from 1678 to 2262 against chrono's calendar (the valid-years range).
    #[test]
    fn period_starts_match_chrono() {
        let mut d = NaiveDate::from_ymd_opt(1677, 12, 25).expect("date");
        let end = NaiveDate::from_ymd_opt(2262, 1, 10).expect("date");
        while d <= end {
            let n = days(d);
            let month = d.with_day(1).expect("day 1");
            let quarter = NaiveDate::from_ymd_opt(d.year(), (d.month() - 1) / 3 * 3 + 1, 1).expect("quarter");
            let year = NaiveDate::from_ymd_opt(d.year(), 1, 1).expect("year");
            let week = d - chrono::Duration::days(d.weekday().num_days_from_monday() as i64);
            assert_eq!(Unit::Day.start(n), n);
            assert_eq!(Unit::Month.start(n), days(month), "{d}");
            assert_eq!(Unit::Quarter.start(n), days(quarter), "{d}");
            assert_eq!(Unit::Year.start(n), days(year), "{d}");
            assert_eq!(Unit::Week.start(n), days(week), "{d}");
            d = d.succ_opt().expect("next day");
        }
    }

    #[test]
    fn period_encodings_round_trip() {
        for udf in period_udfs() {
            let back = decode_period_udf(&encode_period_udf(&udf).expect("a period function")).expect("decodes");
            assert_eq!(back.name(), udf.name());
        }
        assert!(decode_period_udf(b"yardstick.period.v1.decade").is_none());
        assert!(encode_period_udf(&crate::functions::business_days_udf(vec![])).is_none());
    }

    /// The looked-up starts equal the computed ones, nulls stay null, and a table grows to
    /// cover later batches.
    #[test]
    fn table_lookups_match_the_arithmetic() {
        let udf = Period {
            unit: Unit::Quarter,
            name: "q".into(),
            signature: Signature::any(1, Volatility::Immutable),
            table: std::sync::Mutex::new(Arc::new(Table::default())),
        };
        for batch in [vec![Some(20_000), None, Some(20_100)], vec![Some(-5_000), Some(19_999), Some(60_000)], vec![None, None]] {
            let days = Date32Array::from(batch.clone());
            let got: Vec<Option<i32>> = udf.starts(&days).iter().collect();
            let want: Vec<Option<i32>> = batch.iter().map(|d| d.map(|d| Unit::Quarter.start(d))).collect();
            assert_eq!(got, want);
        }
    }
}
