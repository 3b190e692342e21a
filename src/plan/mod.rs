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
use datafusion::functions_aggregate::expr_fn::{count, max, min, stddev};
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

pub mod data_checks;
pub mod dialect;
pub mod export;
mod row_functions;
mod windows;

type DfResult<T> = datafusion::error::Result<T>;

/// The project's own functions, built once per model (the calendar is part of them).
pub struct Functions {
    business_days: Arc<datafusion::logical_expr::ScalarUDF>,
    /// Exact, order-independent float `sum` and `avg` (`functions::exact_sum`).
    sum: Arc<datafusion::logical_expr::AggregateUDF>,
    avg: Arc<datafusion::logical_expr::AggregateUDF>,
    /// A float sum kept exact per period, and its exact merge over a window (`windows`).
    partial_sum: Arc<datafusion::logical_expr::AggregateUDF>,
    merge_sum: Arc<datafusion::logical_expr::AggregateUDF>,
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
        Functions {
            business_days: crate::functions::business_days_udf(holidays),
            sum: crate::functions::exact_sum::sum_udaf(),
            avg: crate::functions::exact_sum::avg_udaf(),
            partial_sum: crate::functions::exact_sum::partial_sum_udaf(),
            merge_sum: crate::functions::exact_sum::merge_sum_udaf(),
        }
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
    let mut used = vec![];
    read_columns(kpi, &mut used);
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

    let time_is_timestamp = time_is_timestamp(kpi, source);
    let filters = row_filters(fx, kpi, source, options);
    let conditions: Vec<Expr> = [filters.time_known, filters.in_scope, filters.filter].into_iter().flatten().collect();
    if let Some(f) = conditions.into_iter().reduce(Expr::and) {
        builder = builder.filter(f)?;
    }
    if let Some(per) = &kpi.per {
        builder = entities(fx, kpi, per, builder, &fresh)?;
    }

    let period = match (&kpi.time, kpi.grain) {
        (Some(time), Some(grain)) => {
            let ts = if time_is_timestamp { column(time) } else { cast(column(time), arrow_type(Type::Timestamp)) };
            period_expr(ts, grain, &model.calendar)
        }
        _ => cast(lit(ScalarValue::Null), DataType::Date32),
    };

    let mut aggregates = vec![];
    let mut value = measure_expr(fx, &kpi.measure, &mut aggregates, &fresh)?;
    let mut group = vec![];
    let mut last_base = None;
    let mut by_grouped = kpi.per.is_some();
    // Without a grain there is no period to group by: an empty input then still gives its
    // one row (count 0) instead of no group at all.
    // `cumulative` is a running total of the per-period values, added up in `series`.
    let window = kpi.window.filter(|w| *w != Window::Cumulative);
    match (window, kpi.grain) {
        (_, None) => {}
        (Some(window), Some(grain)) => {
            let mut columns: Vec<Expr> = projection.iter().map(|&i| column(schema.field(i).name())).collect();
            let (base_period, window_offset, last) = (fresh("base_period"), fresh("window_offset"), fresh("last_base"));
            columns.push(period.clone().alias(&base_period));
            let names = (base_period.as_str(), window_offset.as_str(), last.as_str());
            let w = windows::window(fx, model, kpi, window, grain, builder.project(columns)?, names, aggregates, value, &fresh)?;
            (builder, aggregates, value) = (w.builder, w.aggregates, w.value);
            by_grouped |= w.by_grouped;
            group.push(w.period);
            last_base = Some(column(&last));
        }
        (None, Some(_)) => group.push(period.clone().alias("period")),
    }
    // Under `per` (and an additive window), the groups were computed before.
    group.extend(by_keys(fx, kpi, by_grouped));
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

/// Every column a KPI reads (time, groups and what they are computed from, `where`, measure),
/// and the names of its computed groups.
fn read_columns<'a>(kpi: &'a CheckedKpi, out: &mut Vec<&'a str>) {
    out.extend(kpi.time.iter().chain(&kpi.by).map(String::as_str));
    kpi.by_computed.iter().for_each(|(_, e)| e.columns(out));
    kpi.filter.iter().for_each(|f| f.columns(out));
    kpi.measure.columns(out);
    if let Some(per) = &kpi.per {
        out.extend(per.keys.iter().map(String::as_str));
        per.defs.iter().for_each(|(_, m)| m.columns(out));
    }
}

/// `per`: the kept rows grouped into entities (keys and `by` groups); each entity's columns
/// are its keys, groups, time (the earliest of its rows') and `per` definitions. Rows
/// without a key belong to no entity (the row accounting counts them as null inputs).
fn entities(
    fx: &Functions,
    kpi: &CheckedKpi,
    per: &Per,
    builder: LogicalPlanBuilder,
    fresh: &dyn Fn(&str) -> String,
) -> DfResult<LogicalPlanBuilder> {
    let keyed = per.keys.iter().map(|k| column(k).is_not_null()).reduce(Expr::and);
    let builder = match keyed {
        Some(k) => builder.filter(k)?,
        None => builder,
    };
    let mut group: Vec<Expr> = per.keys.iter().map(|k| column(k)).collect();
    group.extend(by_keys(fx, kpi, false));
    let mut aggregates = vec![];
    let mut values = vec![];
    for (name, m) in &per.defs {
        values.push(float(measure_expr(fx, m, &mut aggregates, fresh)?).alias(name));
    }
    if let Some(t) = &kpi.time {
        aggregates.push(min(column(t)).alias(t));
    }
    if aggregates.is_empty() {
        aggregates.push(count(lit(1i64)).alias(fresh("m0")));
    }
    let mut projection: Vec<Expr> = per.keys.iter().chain(&kpi.by).chain(&kpi.time).map(|c| column(c)).collect();
    projection.extend(values);
    builder.aggregate(group, aggregates)?.project(projection)
}

/// The KPI's `by` groups as grouped on: their columns when an earlier aggregation already
/// computed them (`grouped`), else each its column or computed value (`by_expr`).
fn by_keys(fx: &Functions, kpi: &CheckedKpi, grouped: bool) -> Vec<Expr> {
    kpi.by.iter().map(|b| if grouped { column(b) } else { by_expr(fx, kpi, b) }).collect()
}

/// A `by` group as grouped on: its column, or its computed value under its name.
fn by_expr(fx: &Functions, kpi: &CheckedKpi, name: &str) -> Expr {
    match kpi.by_computed.iter().find(|(n, _)| n == name) {
        Some((_, e)) => row_expr(fx, e).alias(name),
        None => column(name),
    }
}

fn time_is_timestamp(kpi: &CheckedKpi, source: &SourceSpec) -> bool {
    kpi.time.as_ref().and_then(|t| source.columns.get(t)).map(|c| c.ty) == Some(crate::config::ColumnType::Timestamp)
}

/// The three steps by which a KPI keeps a row of its source, as conditions (each `None`
/// when the KPI has no such step). The query applies all three; the row accounting counts
/// what each one drops.
struct RowFilters {
    /// `time IS NOT NULL`: a row without a time cannot be placed in a period or a scope.
    time_known: Option<Expr>,
    /// The scope (`since`, `between`) and `--as-of`, on the time column.
    in_scope: Option<Expr>,
    /// The KPI's `where`.
    filter: Option<Expr>,
}

fn row_filters(fx: &Functions, kpi: &CheckedKpi, source: &SourceSpec, options: PlanOptions) -> RowFilters {
    let mut out = RowFilters { time_known: None, in_scope: None, filter: kpi.filter.as_ref().map(|x| row_expr(fx, x)) };
    let Some(time) = &kpi.time else { return out };
    let timestamp = time_is_timestamp(kpi, source);
    let mut bounds = vec![];
    // Inclusive dates: a row belongs to a day until midnight of the next one.
    let end = [kpi.scope.end, options.as_of].into_iter().flatten().min();
    if let Some(start) = kpi.scope.start {
        bounds.push(column(time).gt_eq(day_start(start, timestamp)));
    }
    if let Some(end) = end.and_then(|d| d.succ_opt()) {
        bounds.push(column(time).lt(day_start(end, timestamp)));
    }
    // Rows outside every period cannot be placed on the time axis, nor in a scope.
    if kpi.grain.is_some() || !bounds.is_empty() {
        out.time_known = Some(column(time).is_not_null());
    }
    out.in_scope = bounds.into_iter().reduce(Expr::and);
    out
}

/// The row accounting of every KPI of one source, in one ungrouped query: for each KPI
/// (in `kpis` order) the columns `ACCOUNTING_FIELDS`, then its time column's latest day.
#[derive(Debug, Clone)]
pub struct AccountingPlan {
    pub source: String,
    pub kpis: Vec<String>,
    pub plan: LogicalPlan,
}

/// What the accounting query counts per KPI, in column order. `read` = `excluded_by_where`
/// + `without_time` + `outside_scope` + `counted` (each step counts the rows the earlier
/// ones kept); `null_input` is part of `counted`.
pub const ACCOUNTING_FIELDS: [&str; 6] = ["read", "without_time", "outside_scope", "excluded_by_where", "counted", "null_input"];

/// One accounting plan per source read by any KPI (sources in declaration order).
pub fn accounting_plans(model: &Model, options: PlanOptions) -> Result<Vec<AccountingPlan>, Diagnostics> {
    let fx = Functions::new(model);
    let mut out = vec![];
    for (source_id, source) in &model.sources {
        let kpis: Vec<&CheckedKpi> = model.kpis.iter().filter(|k| k.source.as_deref() == Some(source_id.as_str())).collect();
        if kpis.is_empty() {
            continue;
        }
        let plan = accounting_plan(&fx, source_id, source, &kpis, options).map_err(|e| {
            Diagnostic::error("YS0400", format!("cannot plan the row accounting of source `{source_id}`: {e}"))
                .help("this is a bug in yardstick: please report it with the project's definitions")
        })?;
        out.push(AccountingPlan { source: source_id.clone(), kpis: kpis.iter().map(|k| k.id.clone()).collect(), plan });
    }
    Ok(out)
}

fn accounting_plan(
    fx: &Functions,
    source_id: &str,
    source: &SourceSpec,
    kpis: &[&CheckedKpi],
    options: PlanOptions,
) -> DfResult<LogicalPlan> {
    let table = Arc::new(LogicalTableSource::new(declared_schema(source)));
    let builder = LogicalPlanBuilder::scan(source_id, table, None)?;
    // Identical counters (every KPI's `read`, the same `where` of several KPIs) are computed
    // once; a projection puts each KPI's columns in order.
    let mut aggregates: Vec<Expr> = vec![];
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut columns: Vec<Expr> = vec![];
    let mut add = |name: String, e: Expr| {
        let key = format!("{e}");
        let shared = seen.entry(key).or_insert_with(|| {
            aggregates.push(e.alias(&name));
            name.clone()
        });
        columns.push(column(shared).alias(name));
    };
    let counter = |condition: Option<Expr>| with_filter(count(lit(1i64)), condition);
    let all = |parts: Vec<Option<Expr>>| parts.into_iter().flatten().reduce(Expr::and);
    for (i, kpi) in kpis.iter().enumerate() {
        let f = row_filters(fx, kpi, source, options);
        let name = |field: &str| format!("a{i}_{field}");
        // The steps in the order they are counted: `where` first (so a KPI that states
        // `where t is not null` has no rows "without a time"), then the time, then the scope.
        let selected = f.filter.clone().map(|w| w.is_true());
        let placed = all(vec![selected.clone(), f.time_known.clone()]);
        let kept = all(vec![placed.clone(), f.in_scope.clone()]);
        let mut nulls = vec![];
        match &kpi.per {
            // Under `per` the measure reads entities: a row's inputs are its keys and what the
            // definitions read.
            Some(per) => {
                nulls.extend(per.keys.iter().map(|k| column(k).is_null()));
                per.defs.iter().for_each(|(_, m)| null_inputs(fx, m, &mut nulls));
            }
            None => null_inputs(fx, &kpi.measure, &mut nulls),
        }
        // A step the KPI does not have drops no row: its counter is FILTER (WHERE false).
        let step = |applies: Option<Expr>, drops: &dyn Fn(Expr) -> Option<Expr>| applies.map(|a| drops(a)).unwrap_or(Some(lit(false)));
        add(name("read"), counter(None)?);
        add(name("without_time"), counter(step(f.time_known.clone(), &|t| all(vec![selected.clone(), Some(Expr::Not(Box::new(t)))])))?);
        add(name("outside_scope"), counter(step(f.in_scope.clone(), &|s| all(vec![placed.clone(), Some(s.is_not_true())])))?);
        add(name("excluded_by_where"), counter(step(f.filter.clone(), &|w| Some(w.is_not_true())))?);
        add(name("counted"), counter(kept.clone())?);
        add(name("null_input"), counter(step(nulls.into_iter().reduce(Expr::or), &|n| all(vec![kept.clone(), Some(n)])))?);
        let end = match &kpi.time {
            Some(t) => max(cast(column(t), DataType::Date32)),
            None => max(cast(lit(ScalarValue::Null), DataType::Date32)),
        };
        add(name("time_end"), end);
    }
    // Without any counter there is nothing to ask; an empty aggregate list would be invalid.
    builder.aggregate(Vec::<Expr>::new(), aggregates)?.project(columns)?.build()
}

/// Conditions under which a row's input to the measure is null (so the aggregate skips
/// it, or a share counts it as not meeting its condition), each within its own filter.
fn null_inputs(fx: &Functions, m: &Measure, out: &mut Vec<Expr>) {
    let within = |filter: &Option<TypedExpr>, e: Expr| match filter {
        Some(f) => row_expr(fx, f).is_true().and(e),
        None => e,
    };
    match m {
        Measure::Number(_) => {}
        Measure::Aggregate(a) => {
            if let Some(arg) = &a.arg {
                out.push(within(&a.filter, row_expr(fx, arg).is_null()));
            }
        }
        Measure::Share { condition, filter } => out.push(within(filter, row_expr(fx, condition).is_null())),
        Measure::Ratio(l, r) | Measure::Binary { lhs: l, rhs: r, .. } => {
            null_inputs(fx, l, out);
            null_inputs(fx, r, out);
        }
    }
}

/// Several KPIs of one source computed in one query: they share the source, the time
/// column and grain (so the period expression), and the `by` columns; each keeps its own
/// conditions as `FILTER (WHERE ...)` on its aggregates. Output columns: `period`, the `by`
/// columns, then per KPI (in `kpis` order) `v<i>` (its value) and `n<i>` (its rows in the
/// group: a group where a KPI has no row is not one of its rows, as in its own query).
#[derive(Debug, Clone)]
pub struct FusedPlan {
    pub source: String,
    pub kpis: Vec<String>,
    pub by: Vec<String>,
    /// `false` for KPIs without grain and `by`: one row always (SQL's aggregate of nothing).
    pub grouped: bool,
    pub plan: LogicalPlan,
}

/// Fuse every KPI that can share a query with others: all but windowed ones (`rolling`,
/// year to date), whose rows are copied into several periods, and `per` ones (two levels). Groups are formed in model
/// order; a group of one is still a fused plan (same output shape).
pub fn fused_plans(model: &Model, options: PlanOptions) -> Result<Vec<FusedPlan>, Diagnostics> {
    let fx = Functions::new(model);
    type Key = (String, Option<String>, Option<Grain>, Vec<String>, String);
    let mut groups: IndexMap<Key, Vec<&CheckedKpi>> = IndexMap::new();
    for kpi in &model.kpis {
        let Some(source) = &kpi.source else { continue };
        if kpi.window.is_some_and(|w| w != Window::Cumulative) || kpi.per.is_some() {
            continue;
        }
        let time = kpi.grain.and(kpi.time.clone());
        // Computed groups join the key as written out: `r = trim(a)` and `r = lower(a)` differ.
        let computed = format!("{:?}", kpi.by_computed);
        groups.entry((source.clone(), time, kpi.grain, kpi.by.clone(), computed)).or_default().push(kpi);
    }
    let mut out = vec![];
    for ((source, _, grain, by, _), kpis) in groups {
        let spec = &model.sources[&source];
        let plan = fused_plan(&fx, model, &source, spec, &kpis, options).map_err(|e| {
            Diagnostic::error("YS0400", format!("cannot plan the query of source `{source}` for KPIs {}: {e}", ids(&kpis)))
                .help("this is a bug in yardstick: please report it with the project's definitions")
        })?;
        out.push(FusedPlan {
            source,
            kpis: kpis.iter().map(|k| k.id.clone()).collect(),
            grouped: grain.is_some() || !by.is_empty(),
            by,
            plan,
        });
    }
    Ok(out)
}

fn ids(kpis: &[&CheckedKpi]) -> String {
    kpis.iter().map(|k| format!("`{}`", k.id)).collect::<Vec<_>>().join(", ")
}

fn fused_plan(
    fx: &Functions,
    model: &Model,
    source_id: &str,
    source: &SourceSpec,
    kpis: &[&CheckedKpi],
    options: PlanOptions,
) -> DfResult<LogicalPlan> {
    let first = kpis[0];
    let table = Arc::new(LogicalTableSource::new(declared_schema(source)));
    let mut builder = LogicalPlanBuilder::scan(source_id, table, None)?;
    // The plan's own names (`a0`, `v0`, `n0`) must not be a column a KPI reads: a `_` is
    // added until they differ.
    let mut used: Vec<&str> = vec![];
    for k in kpis {
        read_columns(k, &mut used);
    }
    let used: std::collections::HashSet<&str> = used.into_iter().collect();
    let fresh = |base: String| {
        let mut name = base;
        while used.contains(name.as_str()) {
            name.push('_');
        }
        name
    };
    // Per KPI its conditions; those every KPI has (a grained group's `time IS NOT NULL`)
    // filter the scan once instead.
    let conditions: Vec<Vec<Expr>> = kpis
        .iter()
        .map(|k| {
            let f = row_filters(fx, k, source, options);
            [f.time_known, f.in_scope, f.filter].into_iter().flatten().collect()
        })
        .collect();
    let common: Vec<Expr> = conditions[0].iter().filter(|c| conditions.iter().all(|cs| cs.contains(c))).cloned().collect();
    if let Some(f) = common.clone().into_iter().reduce(Expr::and) {
        builder = builder.filter(f)?;
    }
    let mut group = vec![];
    if let (Some(time), Some(grain)) = (&first.time, first.grain) {
        let ts = if time_is_timestamp(first, source) { column(time) } else { cast(column(time), arrow_type(Type::Timestamp)) };
        group.push(period_expr(ts, grain, &model.calendar).alias("period"));
    }
    group.extend(first.by.iter().map(|b| by_expr(fx, first, b)));
    // Identical aggregates (the same count under the same condition) are computed once.
    let mut aggregates: Vec<Expr> = vec![];
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut add = |e: Expr| {
        let key = format!("{e}");
        let name = seen.entry(key).or_insert_with(|| {
            let name = fresh(format!("a{}", aggregates.len()));
            aggregates.push(e.alias(&name));
            name
        });
        column(name)
    };
    let mut values = vec![];
    for (i, kpi) in kpis.iter().enumerate() {
        let own: Vec<Expr> = conditions[i].iter().filter(|c| !common.contains(c)).cloned().collect();
        let extra = own.into_iter().reduce(Expr::and);
        let value = measure_with(fx, &kpi.measure, &extra, &mut add)?;
        let rows = add(with_filter(count(lit(1i64)), extra)?);
        values.push(float(value).alias(fresh(format!("v{i}"))));
        values.push(rows.alias(fresh(format!("n{i}"))));
    }
    builder = builder.aggregate(group, aggregates)?;
    let mut projection =
        vec![if first.grain.is_some() { column("period") } else { cast(lit(ScalarValue::Null), DataType::Date32).alias("period") }];
    projection.extend(first.by.iter().map(|b| column(b)));
    projection.extend(values);
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
fn measure_expr(fx: &Functions, m: &Measure, aggregates: &mut Vec<Expr>, fresh: &dyn Fn(&str) -> String) -> DfResult<Expr> {
    let mut add = |e: Expr| {
        let name = fresh(&format!("m{}", aggregates.len()));
        aggregates.push(e.alias(&name));
        column(&name)
    };
    measure_with(fx, m, &None, &mut add)
}

/// A measure as an expression over the columns `add` returns for its aggregates, each
/// aggregate's filter joined with `extra` (a fused query's per-KPI condition).
#[recursive::recursive]
fn measure_with(fx: &Functions, m: &Measure, extra: &Option<Expr>, add: &mut dyn FnMut(Expr) -> Expr) -> DfResult<Expr> {
    Ok(match m {
        Measure::Number(n) => lit(*n),
        // A standard deviation below 1e-12 of the values' magnitude is rounding noise (each
        // value carries ~1e-16 relative error): it is 0, so a ratio to it is no value, not 1.
        Measure::Aggregate(a) if a.func == AggFunc::Stddev => {
            let sd = add(aggregate_expr(fx, a, extra)?);
            let mean = add(aggregate_expr(fx, &Aggregate { func: AggFunc::Avg, ..a.clone() }, extra)?);
            let noise = binary_expr(lit(1e-12f64), Operator::Multiply, datafusion::functions::expr_fn::abs(mean));
            datafusion::logical_expr::when(sd.clone().lt_eq(noise), lit(0.0f64)).otherwise(sd)?
        }
        Measure::Aggregate(a) => add(aggregate_expr(fx, a, extra)?),
        Measure::Share { condition, filter } => {
            let cond = row_expr(fx, condition);
            let filter = and_opt(filter.as_ref().map(|x| row_expr(fx, x)), extra.clone());
            let meeting = and_opt(filter.clone(), Some(cond));
            let num = add(with_filter(count(lit(1i64)), meeting)?);
            let den = add(with_filter(count(lit(1i64)), filter)?);
            divide(num, den)
        }
        Measure::Ratio(n, d) => {
            let n = measure_with(fx, n, extra, add)?;
            let d = measure_with(fx, d, extra, add)?;
            divide(n, d)
        }
        Measure::Binary { op, lhs, rhs } => {
            let l = measure_with(fx, lhs, extra, add)?;
            let r = measure_with(fx, rhs, extra, add)?;
            match op {
                BinaryOp::Div => divide(l, r),
                op => binary_expr(l, operator(*op), r),
            }
        }
    })
}

fn and_opt(a: Option<Expr>, b: Option<Expr>) -> Option<Expr> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.and(b)),
        (a, b) => a.or(b),
    }
}

/// Division that gives null (no value) instead of an error or infinity on a zero denominator.
/// `+ 0.0` turns a -0.0 into 0.0 first: Arrow compares floats by their bits, so `nullif`
/// alone lets -0.0 through and the division gives -infinity.
fn divide(n: Expr, d: Expr) -> Expr {
    binary_expr(float(n), Operator::Divide, nullif(positive_zero(float(d)), lit(0.0f64)))
}

/// `x + 0.0`: the same value, with -0.0 as 0.0 (for comparisons and distinct counts by bits).
fn positive_zero(x: Expr) -> Expr {
    binary_expr(x, Operator::Plus, lit(0.0f64))
}

fn with_filter(agg: Expr, filter: Option<Expr>) -> DfResult<Expr> {
    match filter {
        Some(f) => agg.filter(f).build(),
        None => Ok(agg),
    }
}

fn aggregate_expr(fx: &Functions, a: &Aggregate, extra: &Option<Expr>) -> DfResult<Expr> {
    let arg = a.arg.as_ref().map(|x| row_expr(fx, x));
    let filter = and_opt(a.filter.as_ref().map(|x| row_expr(fx, x)), extra.clone());
    // Measured values are cast to Float64 first: DataFusion's avg/median keep decimal or
    // integer input types (see docs/datafusion-notes in the design folder).
    let agg = match (a.func, arg) {
        (AggFunc::Count, None) => count(lit(1i64)),
        (AggFunc::Count, Some(x)) => count(x),
        // Built through the same builder as the filter: `ExprFunctionExt::filter` rebuilds
        // the aggregate and would drop a DISTINCT set by `count_distinct` (the bug that
        // made `count(distinct x where c)` count every row).
        (AggFunc::CountDistinct, Some(x)) => {
            // 0.0 and -0.0 are one value (they are equal in `=` and in `by`).
            let x = if a.arg.as_ref().is_some_and(|t| t.ty == Type::Float) { positive_zero(x) } else { x };
            let mut builder = count(x).distinct();
            if let Some(f) = filter {
                builder = builder.filter(f);
            }
            return builder.build();
        }
        (AggFunc::CountDistinct, None) => count(lit(1i64)),
        // Exact sums: the same bits whatever the partitioning (`functions::exact_sum`).
        (AggFunc::Sum, Some(x)) => fx.sum.call(vec![float(x)]),
        (AggFunc::Avg, Some(x)) => fx.avg.call(vec![float(x)]),
        (AggFunc::Min, Some(x)) => min(float(x)),
        (AggFunc::Max, Some(x)) => max(float(x)),
        (AggFunc::Stddev, Some(x)) => stddev(float(x)),
        (AggFunc::Percentile { p, method }, Some(x)) => crate::functions::percentile_udaf(method).call(vec![float(x), lit(p)]),
        (_, None) => count(lit(1i64)),
    };
    with_filter(agg, filter)
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
        // Written out as comparisons: DataFusion 55 merges IN lists on one column combined by
        // AND / OR and loses the NULL semantics (`y not in (3) or y not in (1)` counted a null
        // `y`). `x not in (a, null)` stays never true, as SQL says.
        TExprKind::InList { expr, list, negated } => {
            let items = list.iter().map(|item| {
                let op = if *negated { BinaryOp::Ne } else { BinaryOp::Eq };
                row_expr(
                    fx,
                    &TypedExpr {
                        kind: TExprKind::Binary { op, lhs: expr.clone(), rhs: Box::new(item.clone()) },
                        ty: Type::Boolean,
                        unit: Unit::None,
                    },
                )
            });
            let joined = if *negated { items.reduce(Expr::and) } else { items.reduce(Expr::or) };
            joined.unwrap_or_else(|| lit(*negated))
        }
        TExprKind::BusinessDays { from, to } => fx.business_days.call(vec![row_expr(fx, from), row_expr(fx, to)]),
        TExprKind::Func { func, args } => row_functions::row_function(fx, *func, args, e.ty),
        TExprKind::Shift { expr, amount, unit } => row_functions::shift(fx, expr, *amount, *unit, e.ty),
        TExprKind::Tuple(parts) => row_functions::tuple(fx, parts),
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
    let (plan, offsets) = dialect::values_as_table(plan).map_err(|e| e.to_string())?;
    let statement = datafusion_sql::unparser::plan_to_sql(&plan).map_err(|e| e.to_string())?;
    if offsets.is_empty() {
        Ok(format!("{statement:#}"))
    } else {
        let rows: Vec<String> =
            offsets.iter().map(|row| format!("({})", row.iter().map(dialect::interval_literal).collect::<Vec<_>>().join(", "))).collect();
        Ok(format!("WITH window_offsets (column1) AS (VALUES {})\n{statement:#}", rows.join(", ")))
    }
}
