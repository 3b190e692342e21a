//! Checked KPIs -> DataFusion [`LogicalPlan`]s, built from `Expr`s (never SQL strings).
//!
//! Every KPI plan has the same shape, so later stages can fuse plans per source:
//!
//! ```text
//! Projection: period, <by...>, <value expression over m0, m1, ...> AS value
//!   Aggregate: groupBy=[period, <by...>], aggr=[<aggregate> AS m0, ...]
//!     Filter: <kpi where> AND <time> IS NOT NULL
//!       TableScan: <source>   (declared schema, no IO)
//! ```
//!
//! Plans scan a [`LogicalTableSource`] carrying the declared schema: planning never touches
//! data. `run` swaps in real table providers.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::{Column, ScalarValue};
use datafusion::functions::expr_fn::{date_part, date_trunc, nullif};
use datafusion::functions_aggregate::expr_fn::{avg, count, count_distinct, max, min, stddev, sum};
use datafusion::logical_expr::builder::LogicalTableSource;
use datafusion::logical_expr::{Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, Operator, binary_expr, cast, lit};

use indexmap::IndexMap;

use crate::ast::BinaryOp;
use crate::config::SourceSpec;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::model::*;

/// One KPI's query.
#[derive(Debug, Clone)]
pub struct KpiPlan {
    pub kpi: String,
    pub source: String,
    pub plan: LogicalPlan,
}

/// Build-wide settings that shape every plan.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PlanOptions {
    /// Ignore rows dated after this day: a report regenerated exactly as of a past date.
    pub as_of: Option<chrono::NaiveDate>,
}

/// Plan every KPI of the model that reads a source (derived KPIs are computed from
/// results, in `series`).
pub fn plan(model: &Model, options: PlanOptions) -> Result<Vec<KpiPlan>, Diagnostics> {
    let mut out = vec![];
    let mut errors = vec![];
    let fx = Functions::new(model);
    // One declared schema per source, shared by its KPIs' scans.
    let schemas: IndexMap<&str, SchemaRef> = model.sources.iter().map(|(id, s)| (id.as_str(), declared_schema(s))).collect();
    for kpi in &model.kpis {
        let Some(source) = &kpi.source else { continue };
        let Some(schema) = schemas.get(source.as_str()) else { continue };
        match plan_kpi(&fx, model, kpi, source, schema, options) {
            Ok(plan) => out.push(KpiPlan { kpi: kpi.id.clone(), source: source.clone(), plan }),
            Err(e) => errors.push(
                Diagnostic::error("YS0400", format!("cannot plan KPI `{}`: {e}", kpi.id))
                    .at(kpi.span, "this KPI")
                    .help("this is a bug in yardstick: please report it with the KPI's definition"),
            ),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(Diagnostics(errors)) }
}

/// Arrow schema of a source as declared in yardstick.yaml (plus its file-name column).
pub fn declared_schema(source: &SourceSpec) -> SchemaRef {
    let mut fields: Vec<Field> = source.columns.iter().map(|(name, spec)| Field::new(name, arrow_type(spec.ty.into()), true)).collect();
    if let Some(fc) = &source.file_column {
        fields.push(Field::new(fc, DataType::Utf8, true));
    }
    Arc::new(Schema::new(fields))
}

pub fn arrow_type(ty: Type) -> DataType {
    match ty {
        Type::String => DataType::Utf8,
        Type::Integer => DataType::Int64,
        Type::Float => DataType::Float64,
        Type::Boolean => DataType::Boolean,
        Type::Date => DataType::Date32,
        Type::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        Type::Null => DataType::Null,
    }
}

type DfResult<T> = datafusion::error::Result<T>;

/// The project's own functions, built once per model (the calendar is part of them).
pub struct Functions {
    business_days: Arc<datafusion::logical_expr::ScalarUDF>,
}

impl Functions {
    pub fn new(model: &Model) -> Self {
        let holidays = model
            .calendar
            .holidays
            .iter()
            .filter_map(|h| chrono::NaiveDate::parse_from_str(h, "%Y-%m-%d").ok())
            .map(days_since_epoch)
            .collect();
        Functions { business_days: crate::functions::business_days_udf(holidays) }
    }
}

fn plan_kpi(
    fx: &Functions,
    model: &Model,
    kpi: &CheckedKpi,
    source_id: &str,
    schema: &SchemaRef,
    options: PlanOptions,
) -> DfResult<LogicalPlan> {
    let source = &model.sources[source_id];
    let table = Arc::new(LogicalTableSource::new(schema.clone()));
    // The scan reads only the columns the KPI uses: a plan's size never depends on how wide
    // its source is.
    let mut used: Vec<&str> = kpi.time.iter().chain(&kpi.by).map(String::as_str).collect();
    kpi.filter.iter().for_each(|f| f.columns(&mut used));
    kpi.measure.columns(&mut used);
    let used: std::collections::HashSet<&str> = used.into_iter().collect();
    // The plan's own column names (`m0`, `base_period`, ...) must not be a column the KPI
    // reads: a `_` is added until they differ.
    let fresh = |base: &str| {
        let mut name = base.to_string();
        while used.contains(name.as_str()) {
            name.push('_');
        }
        name
    };
    let projection: Vec<usize> =
        schema.fields().iter().enumerate().filter(|(_, f)| used.contains(f.name().as_str())).map(|(i, _)| i).collect();
    let mut builder = LogicalPlanBuilder::scan(source_id, table, Some(projection.clone()))?;

    let time_is_timestamp =
        kpi.time.as_ref().and_then(|t| source.columns.get(t)).map(|c| c.ty) == Some(crate::config::ColumnType::Timestamp);
    let mut conditions: Vec<Expr> = kpi.filter.iter().map(|x| row_expr(fx, x)).collect();
    if let Some(time) = &kpi.time {
        // Rows outside every period cannot be placed on the time axis.
        if kpi.grain.is_some() {
            conditions.push(column(time).is_not_null());
        }
        // Inclusive dates: a row belongs to a day until midnight of the next one.
        let end = [kpi.scope.end, options.as_of].into_iter().flatten().min();
        if let Some(start) = kpi.scope.start {
            conditions.push(column(time).gt_eq(day_start(start, time_is_timestamp)));
        }
        if let Some(end) = end.and_then(|d| d.succ_opt()) {
            conditions.push(column(time).lt(day_start(end, time_is_timestamp)));
        }
    }
    if let Some(f) = conditions.into_iter().reduce(Expr::and) {
        builder = builder.filter(f)?;
    }

    let period = match (&kpi.time, kpi.grain) {
        (Some(time), Some(grain)) => {
            let ts = if time_is_timestamp { column(time) } else { cast(column(time), arrow_type(Type::Timestamp)) };
            period_expr(ts, grain, &model.calendar)
        }
        _ => cast(lit(ScalarValue::Null), DataType::Date32),
    };

    let mut aggregates = vec![];
    let value = measure_expr(fx, &kpi.measure, &mut aggregates, &fresh)?;
    let mut group = vec![];
    let mut last_base = None;
    // Without a grain there is no period to group by: an empty input then still gives its
    // one row (count 0) instead of no group at all.
    // `cumulative` is a running total of the per-period values, added up in `series`.
    let window = kpi.window.filter(|w| *w != Window::Cumulative);
    match (window, kpi.grain) {
        (_, None) => {}
        (Some(window), Some(grain)) => {
            // Exact windows for every measure (medians too): each row is copied into every
            // period whose window contains it, then aggregated as usual.
            let mut columns: Vec<Expr> = projection.iter().map(|&i| column(schema.field(i).name())).collect();
            let (base_period, window_offset, last) = (fresh("base_period"), fresh("window_offset"), fresh("last_base"));
            columns.push(period.clone().alias(&base_period));
            builder = builder.project(columns)?;
            let copies = match window {
                Window::Rolling { periods } => periods,
                Window::YearToDate { .. } => periods_per_year(grain),
                Window::Cumulative => 1,
            };
            let (months, days) = grain.step();
            let offsets: Vec<Vec<Expr>> =
                (0..copies as i32).map(|k| vec![lit(ScalarValue::new_interval_mdn(months * k, days * k, 0))]).collect();
            let offsets = LogicalPlanBuilder::values(offsets)?.project(vec![column("column1").alias(&window_offset)])?.build()?;
            builder = builder.cross_join(offsets)?;
            let shifted = binary_expr(column(&base_period), Operator::Plus, column(&window_offset));
            if let Window::YearToDate { fiscal } = window {
                let shift = if fiscal { model.calendar.fiscal_start_month() as i32 - 1 } else { 0 };
                builder = builder.filter(year_of(shifted.clone(), shift).eq(year_of(column(&base_period), shift)))?;
            }
            group.push(shifted.alias("period"));
            aggregates.push(max(column(&base_period)).alias(&last));
            last_base = Some(column(&last));
        }
        (None, Some(_)) => group.push(period.clone().alias("period")),
    }
    for b in &kpi.by {
        group.push(column(b));
    }
    if aggregates.is_empty() && group.is_empty() {
        // A constant measure without a grain (`measure 3`): an Aggregate needs something to
        // compute, and this one row is the KPI's one value, as for any KPI without a grain.
        aggregates.push(count(lit(1i64)).alias(fresh("m0")));
    }
    builder = builder.aggregate(group, aggregates)?;

    let mut projection = vec![if kpi.grain.is_some() { column("period") } else { period.alias("period") }];
    projection.extend(kpi.by.iter().map(|b| column(b)));
    projection.push(float(value).alias("value"));
    projection.extend(last_base);
    builder.project(projection)?.build()
}

/// Midnight starting `day`, typed like the time column it is compared with.
fn day_start(day: chrono::NaiveDate, timestamp: bool) -> Expr {
    if timestamp {
        let micros = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_micros());
        lit(ScalarValue::TimestampMicrosecond(micros, None))
    } else {
        lit(ScalarValue::Date32(Some(days_since_epoch(day))))
    }
}

fn periods_per_year(grain: Grain) -> u32 {
    match grain {
        Grain::Day => 366,
        Grain::Week => 53,
        Grain::Month => 12,
        Grain::Quarter | Grain::FiscalQuarter => 4,
        Grain::Year | Grain::FiscalYear => 1,
    }
}

/// The (fiscal) year a date falls in, as the first day of the calendar year it would be
/// in if the fiscal year started in January.
fn year_of(date: Expr, shift_months: i32) -> Expr {
    let ts = cast(date, arrow_type(Type::Timestamp));
    let shifted =
        if shift_months == 0 { ts } else { binary_expr(ts, Operator::Minus, lit(ScalarValue::new_interval_mdn(shift_months, 0, 0))) };
    date_trunc(lit("year"), shifted)
}

/// `date_trunc` at the grain, as a DATE (the first day of the period).
fn period_expr(ts: Expr, grain: Grain, calendar: &crate::config::Calendar) -> Expr {
    let trunc = |unit: &str, e: Expr| cast(date_trunc(lit(unit), e), DataType::Date32);
    match grain {
        Grain::Day => trunc("day", ts),
        Grain::Month => trunc("month", ts),
        Grain::Quarter => trunc("quarter", ts),
        Grain::Year => trunc("year", ts),
        Grain::FiscalQuarter | Grain::FiscalYear => {
            // Shift the fiscal year onto the calendar year, truncate, shift back.
            let unit = if grain == Grain::FiscalYear { "year" } else { "quarter" };
            let shift = calendar.fiscal_start_month() as i32 - 1;
            if shift == 0 {
                trunc(unit, ts)
            } else {
                let months = lit(ScalarValue::new_interval_mdn(shift, 0, 0));
                let shifted = binary_expr(ts, Operator::Minus, months.clone());
                binary_expr(trunc(unit, shifted), Operator::Plus, months)
            }
        }
        Grain::Week => {
            // date_trunc('week') starts weeks on Monday; shift other week starts onto Monday
            // (a Sunday start is 1 day before Monday, a Saturday start 2).
            let shift = (7 - calendar.week_start.days_from_monday() as i32) % 7;
            if shift == 0 {
                trunc("week", ts)
            } else {
                let days = lit(ScalarValue::new_interval_dt(shift, 0));
                let shifted = binary_expr(ts, Operator::Plus, days.clone());
                binary_expr(trunc("week", shifted), Operator::Minus, days)
            }
        }
    }
}

/// Cast to Float64 unless the expression already is one (keeps the shown SQL readable).
fn float(e: Expr) -> Expr {
    match &e {
        Expr::Cast(c) if c.field.data_type() == &DataType::Float64 => e,
        Expr::Literal(ScalarValue::Float64(_), _) => e,
        _ => cast(e, DataType::Float64),
    }
}

fn column(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

/// A measure as an expression over aggregate columns `m0, m1, ...`, collecting the
/// aggregates themselves into `aggregates` (each aliased, so duplicates never clash).
#[recursive::recursive]
fn measure_expr(fx: &Functions, m: &Measure, aggregates: &mut Vec<Expr>, fresh: &dyn Fn(&str) -> String) -> DfResult<Expr> {
    let mut add = |e: Expr| {
        let name = fresh(&format!("m{}", aggregates.len()));
        aggregates.push(e.alias(&name));
        column(&name)
    };
    Ok(match m {
        Measure::Number(n) => lit(*n),
        Measure::Aggregate(a) => add(aggregate_expr(fx, a)?),
        Measure::Share { condition, filter } => {
            let cond = row_expr(fx, condition);
            let meeting = match filter {
                Some(f) => row_expr(fx, f).and(cond),
                None => cond,
            };
            let num = add(with_filter(count(lit(1i64)), Some(meeting))?);
            let den = add(with_filter(count(lit(1i64)), filter.as_ref().map(|x| row_expr(fx, x)))?);
            divide(num, den)
        }
        Measure::Ratio(n, d) => {
            let n = measure_expr(fx, n, aggregates, fresh)?;
            let d = measure_expr(fx, d, aggregates, fresh)?;
            divide(n, d)
        }
        Measure::Binary { op, lhs, rhs } => {
            let l = measure_expr(fx, lhs, aggregates, fresh)?;
            let r = measure_expr(fx, rhs, aggregates, fresh)?;
            match op {
                BinaryOp::Div => divide(l, r),
                op => binary_expr(l, operator(*op), r),
            }
        }
    })
}

/// Division that gives null (no value) instead of an error or infinity on a zero denominator.
fn divide(n: Expr, d: Expr) -> Expr {
    binary_expr(float(n), Operator::Divide, nullif(float(d), lit(0.0f64)))
}

fn with_filter(agg: Expr, filter: Option<Expr>) -> DfResult<Expr> {
    match filter {
        Some(f) => agg.filter(f).build(),
        None => Ok(agg),
    }
}

fn aggregate_expr(fx: &Functions, a: &Aggregate) -> DfResult<Expr> {
    let arg = a.arg.as_ref().map(|x| row_expr(fx, x));
    // Measured values are cast to Float64 first: DataFusion's avg/median keep decimal or
    // integer input types (see docs/datafusion-notes in the design folder).
    let agg = match (a.func, arg) {
        (AggFunc::Count, None) => count(lit(1i64)),
        (AggFunc::Count, Some(x)) => count(x),
        (AggFunc::CountDistinct, Some(x)) => count_distinct(x),
        (AggFunc::CountDistinct, None) => count(lit(1i64)),
        (AggFunc::Sum, Some(x)) => sum(float(x)),
        (AggFunc::Avg, Some(x)) => avg(float(x)),
        (AggFunc::Min, Some(x)) => min(float(x)),
        (AggFunc::Max, Some(x)) => max(float(x)),
        (AggFunc::Stddev, Some(x)) => stddev(float(x)),
        (AggFunc::Percentile { p, method }, Some(x)) => crate::functions::percentile_udaf(method).call(vec![float(x), lit(p)]),
        (_, None) => count(lit(1i64)),
    };
    with_filter(agg, a.filter.as_ref().map(|x| row_expr(fx, x)))
}

fn operator(op: BinaryOp) -> Operator {
    match op {
        BinaryOp::Or => Operator::Or,
        BinaryOp::And => Operator::And,
        BinaryOp::Eq => Operator::Eq,
        BinaryOp::Ne => Operator::NotEq,
        BinaryOp::Lt => Operator::Lt,
        BinaryOp::Le => Operator::LtEq,
        BinaryOp::Gt => Operator::Gt,
        BinaryOp::Ge => Operator::GtEq,
        BinaryOp::Add => Operator::Plus,
        BinaryOp::Sub => Operator::Minus,
        BinaryOp::Mul => Operator::Multiply,
        BinaryOp::Div => Operator::Divide,
    }
}

/// A typed row expression as a DataFusion expression.
#[recursive::recursive]
pub fn row_expr(fx: &Functions, e: &TypedExpr) -> Expr {
    match &e.kind {
        TExprKind::Column(c) => column(c),
        TExprKind::Literal(l) => match l {
            Literal::Number(n) => lit(*n),
            Literal::Integer(i) => lit(*i),
            Literal::String(s) => lit(s.clone()),
            Literal::Bool(b) => lit(*b),
            Literal::Date(d) => lit(ScalarValue::Date32(Some(days_since_epoch(*d)))),
            Literal::Null => lit(ScalarValue::Null),
        },
        TExprKind::Not(x) => Expr::Not(Box::new(row_expr(fx, x))),
        TExprKind::Neg(x) => Expr::Negative(Box::new(row_expr(fx, x))),
        TExprKind::Binary { op: BinaryOp::Div, lhs, rhs } => divide(row_expr(fx, lhs), row_expr(fx, rhs)),
        TExprKind::Binary { op, lhs, rhs } => {
            let (mut l, mut r) = (row_expr(fx, lhs), row_expr(fx, rhs));
            // Compare dates with timestamps as timestamps (a date is its midnight).
            if lhs.ty == Type::Date && rhs.ty == Type::Timestamp {
                l = cast(l, arrow_type(Type::Timestamp));
            } else if lhs.ty == Type::Timestamp && rhs.ty == Type::Date {
                r = cast(r, arrow_type(Type::Timestamp));
            }
            binary_expr(l, operator(*op), r)
        }
        TExprKind::IsNull { expr, negated } => {
            let x = row_expr(fx, expr);
            if *negated { x.is_not_null() } else { x.is_null() }
        }
        TExprKind::InList { expr, list, negated } => row_expr(fx, expr).in_list(list.iter().map(|x| row_expr(fx, x)).collect(), *negated),
        TExprKind::BusinessDays { from, to } => fx.business_days.call(vec![row_expr(fx, from), row_expr(fx, to)]),
        TExprKind::Duration { unit, from, to } => {
            let epoch = |x: &TypedExpr| {
                let t = if x.ty == Type::Timestamp { row_expr(fx, x) } else { cast(row_expr(fx, x), arrow_type(Type::Timestamp)) };
                float(date_part(lit("epoch"), t))
            };
            let seconds = binary_expr(epoch(to), Operator::Minus, epoch(from));
            if *unit == DurationUnit::Seconds { seconds } else { binary_expr(seconds, Operator::Divide, lit(unit.seconds())) }
        }
    }
}

pub fn days_since_epoch(d: chrono::NaiveDate) -> i32 {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (d - epoch).num_days() as i32
}

/// Readable SQL for a plan (DataFusion's unparser, pretty-printed).
///
/// The unparser cannot print a VALUES node, which windowed plans join with; such a node is
/// printed as a `WITH window_offsets` table in front of the query instead.
pub fn to_sql(plan: &LogicalPlan) -> Result<String, String> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    let mut offsets: Vec<String> = vec![];
    let plan = plan
        .clone()
        .transform_up(|node| {
            let LogicalPlan::Values(values) = &node else { return Ok(Transformed::no(node)) };
            for row in &values.values {
                let cells: Vec<String> = row.iter().map(sql_literal).collect();
                offsets.push(format!("({})", cells.join(", ")));
            }
            let source = Arc::new(LogicalTableSource::new(Arc::new(values.schema.as_arrow().clone())));
            Ok(Transformed::yes(LogicalPlanBuilder::scan("window_offsets", source, None)?.build()?))
        })
        .map_err(|e| e.to_string())?
        .data;
    let statement = datafusion_sql::unparser::plan_to_sql(&plan).map_err(|e| e.to_string())?;
    if offsets.is_empty() {
        Ok(format!("{statement:#}"))
    } else {
        Ok(format!("WITH window_offsets (column1) AS (VALUES {})\n{statement:#}", offsets.join(", ")))
    }
}

/// A literal of a VALUES row as SQL (interval offsets in practice).
fn sql_literal(e: &Expr) -> String {
    match e {
        Expr::Literal(ScalarValue::IntervalMonthDayNano(Some(v)), _) => {
            if v.months != 0 {
                format!("INTERVAL '{} months'", v.months)
            } else {
                format!("INTERVAL '{} days'", v.days)
            }
        }
        other => other.to_string(),
    }
}
