//! Rolling and year-to-date windows (`cumulative` is a running total added up in `series`).
//!
//! A window's value for period P aggregates the rows of every period whose window contains
//! P. Two ways, chosen per KPI:
//!
//! - **Additive measures** (`count`, `sum`, `avg`, `min`, `max`, shares and ratios of them):
//!   each period and group is aggregated once into partial aggregates, and a window adds up
//!   the partials of its periods (counts summed, exact sums merged exactly, minima of
//!   minima). A daily year-to-date copies each period's one row of partials 366 times, not
//!   each source row. Exact: the same bits as aggregating the rows themselves, since a float
//!   sum's partial is its exact state (`functions::exact_sum`, `Mode::Partial`), rounded once
//!   after the merge, and an `avg` is that sum divided by the summed count, as `avg` is.
//! - **Holistic measures** (medians, percentiles, distinct counts, `stddev`): each row is
//!   copied into every period whose window contains it, then aggregated as usual.
//!
//! The SQL of both is standard (a partial sum of floats prints as `sum`, its merge as `sum`).

use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::functions_aggregate::expr_fn::{max, min, sum};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, Operator, binary_expr, lit};

use super::{DfResult, Functions, by_keys, column, divide, periods_per_year, year_of};
use crate::functions::exact_sum;
use crate::model::*;

/// Where the window step leaves the plan: the input and aggregates of the final
/// aggregation, which groups on `period` (the window's period) and the `by` groups; its
/// aggregates end with `last` (the latest period with rows that the window saw).
pub(super) struct Windowed {
    pub builder: LogicalPlanBuilder,
    /// The final aggregation's aggregates (the measure's columns, under their names).
    pub aggregates: Vec<Expr>,
    /// The measure's value over them.
    pub value: Expr,
    /// `by` groups were computed before the window (the final aggregation groups on their
    /// columns).
    pub by_grouped: bool,
    /// The window's period, to group on.
    pub period: Expr,
}

/// The window step. `builder` has the KPI's kept rows with `base_period` (each row's own
/// period); `aggregates` and `value` are the measure's (see `measure_expr`).
#[allow(clippy::too_many_arguments)]
pub(super) fn window(
    fx: &Functions,
    model: &Model,
    kpi: &CheckedKpi,
    window: Window,
    grain: Grain,
    mut builder: LogicalPlanBuilder,
    (base_period, window_offset, last): (&str, &str, &str),
    mut aggregates: Vec<Expr>,
    mut value: Expr,
    fresh: &dyn Fn(&str) -> String,
) -> DfResult<Windowed> {
    let mut by_grouped = false;
    if let Some(split) = split_additive(fx, &aggregates, &value, fresh)? {
        let mut keys = vec![column(base_period)];
        keys.extend(by_keys(fx, kpi, kpi.per.is_some()));
        builder = builder.aggregate(keys, split.partials)?;
        // A projection of its own on top: the SQL unparser prints an Aggregate as a query only
        // under a Projection (else its GROUP BY is lost inside the join).
        let partial_columns: Vec<Expr> = builder.schema().columns().into_iter().map(Expr::Column).collect();
        builder = builder.project(partial_columns)?;
        (aggregates, value, by_grouped) = (split.merges, split.value, true);
    }
    let copies = match window {
        Window::Rolling { periods } => periods,
        Window::YearToDate { .. } => periods_per_year(grain),
        Window::Cumulative => 1,
    };
    let (months, days) = grain.step();
    let offsets: Vec<Vec<Expr>> = (0..copies as i32).map(|k| vec![lit(ScalarValue::new_interval_mdn(months * k, days * k, 0))]).collect();
    let offsets = LogicalPlanBuilder::values(offsets)?.project(vec![column("column1").alias(window_offset)])?.build()?;
    builder = builder.cross_join(offsets)?;
    let shifted = binary_expr(column(base_period), Operator::Plus, column(window_offset));
    if let Window::YearToDate { fiscal } = window {
        let shift = if fiscal { model.calendar.fiscal_start_month() as i32 - 1 } else { 0 };
        builder = builder.filter(year_of(shifted.clone(), shift).eq(year_of(column(base_period), shift)))?;
    }
    aggregates.push(max(column(base_period)).alias(last));
    Ok(Windowed { builder, aggregates, value, by_grouped, period: shifted.alias("period") })
}

/// A measure's aggregates split into per-period partials and their merges over a window.
struct Split {
    partials: Vec<Expr>,
    merges: Vec<Expr>,
    value: Expr,
}

/// `None` when some aggregate is not additive (a median, a distinct count, `stddev`).
fn split_additive(fx: &Functions, aggregates: &[Expr], value: &Expr, fresh: &dyn Fn(&str) -> String) -> DfResult<Option<Split>> {
    let mut split = Split { partials: vec![], merges: vec![], value: value.clone() };
    for aggregate in aggregates {
        let Expr::Alias(alias) = aggregate else { return Ok(None) };
        let Expr::AggregateFunction(f) = alias.expr.as_ref() else { return Ok(None) };
        if f.params.distinct || !f.params.order_by.is_empty() {
            return Ok(None);
        }
        let name = alias.name.as_str();
        let part = fresh(&format!("{name}_part"));
        let with_func = |func: &std::sync::Arc<datafusion::logical_expr::AggregateUDF>| {
            Expr::AggregateFunction(AggregateFunction { func: func.clone(), params: f.params.clone() })
        };
        let kind = exact_sum::mode(&f.func);
        if kind == Some(exact_sum::Mode::Sum) {
            split.partials.push(with_func(&fx.partial_sum).alias(&part));
            split.merges.push(fx.merge_sum.call(vec![column(&part)]).alias(name));
        } else if kind == Some(exact_sum::Mode::Avg) {
            // avg = the exact sum / the count of values: one rounding each, as `avg` does.
            let (sum_name, count_name) = (fresh(&format!("{name}_sum")), fresh(&format!("{name}_count")));
            let counted = Expr::AggregateFunction(AggregateFunction {
                func: datafusion::functions_aggregate::count::count_udaf(),
                params: f.params.clone(),
            });
            split.partials.push(with_func(&fx.partial_sum).alias(&part));
            split.partials.push(counted.alias(format!("{part}_n")));
            split.merges.push(fx.merge_sum.call(vec![column(&part)]).alias(&sum_name));
            split.merges.push(sum(column(&format!("{part}_n"))).alias(&count_name));
            let average = divide(column(&sum_name), column(&count_name));
            split.value = split
                .value
                .transform(|e| {
                    Ok(match &e {
                        Expr::Column(c) if c.relation.is_none() && c.name == name => Transformed::yes(average.clone()),
                        _ => Transformed::no(e),
                    })
                })?
                .data;
        } else if kind.is_none() && matches!(f.func.name(), "count" | "min" | "max") {
            split.partials.push(aggregate.clone().unalias().alias(&part));
            split.merges.push(
                match f.func.name() {
                    "count" => sum(column(&part)),
                    "min" => min(column(&part)),
                    _ => max(column(&part)),
                }
                .alias(name),
            );
        } else {
            return Ok(None);
        }
    }
    Ok(Some(split))
}
