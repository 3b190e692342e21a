//! Data checks (docs/checks.md) -> DataFusion plans, per source:
//!
//! - one ungrouped query counts every row-level check's failing rows (`not_null`,
//!   `accepted`, `valid`: `count(*) FILTER (WHERE <fails>)`), the rows (`rows`), and each
//!   `fresh` column's latest value: all in one scan of the source;
//! - `unique`, `relationship` and `rows per <grain>` need their own aggregation (a
//!   GROUP BY on the key, an anti join, a GROUP BY on the period): one query each;
//! - example rows (file and line, the columns the check reads): one small top-N query per
//!   check that fails, run only then.
//!
//! A KPI's checks (its `check { ... }` clause) are the same queries over the rows that KPI
//! reads: a row-level rule is `count(*) FILTER (WHERE <the KPI keeps the row> AND <fails>)`
//! in the source's one counting query, which also counts the KPI's rows; the others filter
//! their scan by the KPI's conditions first.
//!
//! The checks scan the source with two more columns, [`FILE_COLUMN`] (an index into the
//! source's files) and [`LINE_COLUMN`] (the line in a CSV file; null for Parquet).

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{Column, JoinType};
use datafusion::functions_aggregate::expr_fn::{count, max, sum};
use datafusion::logical_expr::builder::LogicalTableSource;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, cast, lit};

use super::{
    DfResult, Functions, PlanOptions, and_opt, arrow_type, column, declared_schema, period_expr, row_expr, row_filters, with_filter,
};
use crate::config::SourceSpec;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::model::*;

/// The file a row comes from: its index in the source's `files` (results.json `sources`).
pub const FILE_COLUMN: &str = "__yardstick_file";
/// The row's line in its CSV file (null for Parquet).
pub const LINE_COLUMN: &str = "__yardstick_line";
/// How many example rows a failing check shows.
pub const MAX_EXAMPLES: usize = 5;

/// The plans of one source's checks.
#[derive(Debug, Clone)]
pub struct SourceChecks {
    pub source: String,
    /// Indices into `Model::checks`, in file order.
    pub checks: Vec<usize>,
    /// One row: `rows`, then per check in `counted` order its failing-row count (row-level
    /// checks) or latest value as a timestamp (`fresh`).
    pub counts: LogicalPlan,
    pub counted: Vec<usize>,
    /// The KPIs with checks on this source: the counting query's last columns are their
    /// rows (what their checks count against), in this order.
    pub kpi_rows: Vec<String>,
    /// Checks with a query of their own: `unique` and `relationship` give one row
    /// (`failing`), `rows per` one row per period (`period`, `n`) in period order.
    pub own: Vec<(usize, LogicalPlan)>,
    /// The first [`MAX_EXAMPLES`] failing rows by file and line: `FILE_COLUMN`,
    /// `LINE_COLUMN`, then the check's columns.
    pub examples: Vec<(usize, LogicalPlan)>,
}

impl SourceChecks {
    /// Every source these plans scan (the checked one first; a relationship's other source).
    pub fn scanned<'a>(&'a self, model: &'a Model) -> Vec<&'a str> {
        let mut out = vec![self.source.as_str()];
        for i in &self.checks {
            if let DataCheckKind::Relationship { to, .. } = &model.checks[*i].kind
                && !out.contains(&to.as_str())
            {
                out.push(to);
            }
        }
        out
    }
}

/// The declared schema with the row-provenance columns after it.
pub fn check_schema(source: &SourceSpec) -> SchemaRef {
    let mut fields: Vec<Field> = declared_schema(source).fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(FILE_COLUMN, DataType::Int64, false));
    fields.push(Field::new(LINE_COLUMN, DataType::Int64, true));
    Arc::new(Schema::new(fields))
}

/// The check plans of every source that has checks, in the order sources are declared.
pub fn check_plans(model: &Model, options: PlanOptions) -> Result<Vec<SourceChecks>, Diagnostics> {
    let fx = Functions::new(model);
    let mut out = vec![];
    for id in model.sources.keys() {
        let checks: Vec<usize> = (0..model.checks.len()).filter(|i| &model.checks[*i].source == id).collect();
        if checks.is_empty() {
            continue;
        }
        let planned = source_checks(&fx, model, id, checks, options).map_err(|e| {
            Diagnostic::error("YS0400", format!("cannot plan the data checks of source `{id}`: {e}"))
                .help("this is a bug in yardstick: please report it with the project's definitions")
        })?;
        out.push(planned);
    }
    Ok(out)
}

fn scan(model: &Model, source: &str) -> DfResult<LogicalPlanBuilder> {
    let spec = &model.sources[source];
    LogicalPlanBuilder::scan(source, Arc::new(LogicalTableSource::new(check_schema(spec))), None)
}

fn qualified(table: &str, name: &str) -> Expr {
    Expr::Column(Column::new(Some(table), name))
}

/// The conditions by which KPI `kpi` keeps a row of its source (its `where`, a known time
/// when it needs one, its scope and `--as-of`: the rows its accounting calls `counted`);
/// none when it keeps every row.
fn kpi_keeps(fx: &Functions, model: &Model, kpi: &str, options: PlanOptions) -> Option<Expr> {
    let k = model.kpi(kpi)?;
    let source = model.sources.get(k.source.as_deref()?)?;
    let f = row_filters(fx, k, source, options);
    [f.time_known, f.in_scope, f.filter.map(|w| w.is_true())].into_iter().flatten().reduce(Expr::and)
}

/// The source's rows a check reads: all of them, or those its KPI keeps.
fn rows_read(model: &Model, id: &str, keeps: &Option<Expr>) -> DfResult<LogicalPlanBuilder> {
    match keeps {
        Some(k) => scan(model, id)?.filter(k.clone()),
        None => scan(model, id),
    }
}

fn source_checks(fx: &Functions, model: &Model, id: &str, checks: Vec<usize>, options: PlanOptions) -> DfResult<SourceChecks> {
    let mut aggregates = vec![count(lit(1i64)).alias("rows")];
    let mut counted = vec![];
    let mut own = vec![];
    let mut examples = vec![];
    let mut kpi_rows: Vec<(String, Option<Expr>)> = vec![];
    for &i in &checks {
        let check = &model.checks[i];
        let name = format!("c{i}");
        let keeps = check.kpi.as_deref().and_then(|k| kpi_keeps(fx, model, k, options));
        if let Some(k) = &check.kpi
            && !kpi_rows.iter().any(|(seen, _)| seen == k)
        {
            kpi_rows.push((k.clone(), keeps.clone()));
        }
        match &check.kind {
            DataCheckKind::Row { fails, columns } => {
                let f = and_opt(keeps.clone(), Some(fails_expr(fx, fails))).unwrap_or(lit(false));
                aggregates.push(with_filter(count(lit(1i64)), Some(f.clone()))?.alias(name));
                counted.push(i);
                examples.push((i, example_plan(model, scan(model, id)?.filter(f)?, id, columns)?));
            }
            DataCheckKind::Fresh { column: c, .. } => {
                aggregates.push(with_filter(max(cast(column(c), arrow_type(Type::Timestamp))), keeps.clone())?.alias(name));
                counted.push(i);
            }
            DataCheckKind::Rows { .. } => {}
            DataCheckKind::Unique(cols) => {
                let (keys, _) = duplicate_keys(model, id, cols, &keeps)?;
                own.push((i, keys.aggregate(Vec::<Expr>::new(), vec![sum(column("n")).alias("failing")])?.build()?));
                let (dups, names) = duplicate_keys(model, id, cols, &keeps)?;
                let dups = dups.alias("dup")?.build()?;
                let left: Vec<Column> = cols.iter().map(|c| Column::new(Some(id), c)).collect();
                let right: Vec<Column> = names.iter().map(|n| Column::new(Some("dup"), n)).collect();
                let joined = rows_read(model, id, &keeps)?.join(dups, JoinType::LeftSemi, (left, right), None)?;
                examples.push((i, example_plan(model, joined, id, cols)?));
            }
            DataCheckKind::Relationship { column: c, to, target } => {
                let orphans = orphans(model, id, c, to, target, &keeps)?;
                own.push((i, orphans.clone().aggregate(Vec::<Expr>::new(), vec![count(lit(1i64)).alias("failing")])?.build()?));
                examples.push((i, example_plan(model, orphans, id, std::slice::from_ref(c))?));
            }
            DataCheckKind::Volume { grain, time, .. } => {
                let ts = cast(column(time), arrow_type(Type::Timestamp));
                let plan = rows_read(model, id, &keeps)?
                    .filter(column(time).is_not_null())?
                    .aggregate(vec![period_expr(ts, *grain, &model.calendar).alias("period")], vec![count(lit(1i64)).alias("n")])?
                    .sort(vec![column("period").sort(true, false)])?
                    .build()?;
                own.push((i, plan));
            }
        }
    }
    for (j, (_, keeps)) in kpi_rows.iter().enumerate() {
        aggregates.push(with_filter(count(lit(1i64)), keeps.clone())?.alias(format!("k{j}")));
    }
    let counts = scan(model, id)?.aggregate(Vec::<Expr>::new(), aggregates)?.build()?;
    let kpi_rows = kpi_rows.into_iter().map(|(k, _)| k).collect();
    Ok(SourceChecks { source: id.to_string(), checks, counts, counted, kpi_rows, own, examples })
}

/// True for a row the check fails.
fn fails_expr(fx: &Functions, t: &RowTest) -> Expr {
    match t {
        RowTest::AnyNull(cols) => cols.iter().map(|c| column(c).is_null()).reduce(Expr::or).unwrap_or(lit(false)),
        RowTest::NotAccepted { column: c, accepted } => column(c).is_not_null().and(row_expr(fx, accepted).is_not_true()),
        RowTest::NotValid(cond) => row_expr(fx, cond).is_not_true(),
    }
}

/// The key values (without nulls) more than one row has, with their row count `n`; the
/// key columns are named `k0, k1, ...`.
fn duplicate_keys(model: &Model, id: &str, cols: &[String], keeps: &Option<Expr>) -> DfResult<(LogicalPlanBuilder, Vec<String>)> {
    let names: Vec<String> = (0..cols.len()).map(|j| format!("k{j}")).collect();
    let not_null = cols.iter().map(|c| column(c).is_not_null()).reduce(Expr::and).unwrap_or(lit(true));
    let group: Vec<Expr> = cols.iter().zip(&names).map(|(c, n)| column(c).alias(n)).collect();
    let builder = rows_read(model, id, keeps)?
        .filter(not_null)?
        .aggregate(group, vec![count(lit(1i64)).alias("n")])?
        .filter(column("n").gt(lit(1i64)))?;
    Ok((builder, names))
}

/// The rows of `id` (those `keeps` keeps) whose non-null `c` is no `target` of source `to`.
fn orphans(model: &Model, id: &str, c: &str, to: &str, target: &str, keeps: &Option<Expr>) -> DfResult<LogicalPlanBuilder> {
    let keys = scan(model, to)?
        .filter(column(target).is_not_null())?
        .aggregate(vec![column(target).alias("key")], Vec::<Expr>::new())?
        .alias("ref")?
        .build()?;
    rows_read(model, id, keeps)?.filter(qualified(id, c).is_not_null())?.join(
        keys,
        JoinType::LeftAnti,
        (vec![Column::new(Some(id), c)], vec![Column::new(Some("ref"), "key")]),
        None,
    )
}

/// The first failing rows by file and line, with the columns the check reads.
/// Up to `MAX_EXAMPLES` failing rows: file, line and the values of the columns the rule
/// reads, except personal (`pii`) columns, whose values reach no output (docs/privacy.md):
/// their rows are named by file and line only.
fn example_plan(model: &Model, failing: LogicalPlanBuilder, id: &str, columns: &[String]) -> DfResult<LogicalPlan> {
    let personal = |c: &String| model.sources.get(id).and_then(|s| s.columns.get(c)).is_some_and(|c| c.pii);
    let mut select = vec![qualified(id, FILE_COLUMN), qualified(id, LINE_COLUMN)];
    select.extend(columns.iter().filter(|c| !personal(c)).map(|c| qualified(id, c)));
    failing
        .sort(vec![qualified(id, FILE_COLUMN).sort(true, false), qualified(id, LINE_COLUMN).sort(true, false)])?
        .limit(0, Some(MAX_EXAMPLES))?
        .project(select)?
        .build()
}
