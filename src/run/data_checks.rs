//! Run the data checks' plans (`plan::data_checks`) on the loaded sources: the tables with
//! row provenance, the counting query per source, the checks' own queries, and example
//! rows for the checks that fail.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{Int64Type, TimestampMicrosecondType};
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::provider_as_source;
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::LogicalPlan;
use indexmap::IndexMap;

use super::{mem_table, scalar_to_json};
use crate::diagnostics::Diagnostic;
use crate::ingest::SourceStats;
use crate::model::{DataCheckKind, Model};
use crate::plan::data_checks::{SourceChecks, check_schema};
use crate::results::{CheckExample, CheckRun};

/// A source's batches with [`crate::plan::data_checks::FILE_COLUMN`] and `LINE_COLUMN`
/// added (the arrays are shared, not copied).
pub(super) fn check_table(
    id: &str,
    spec: &crate::config::SourceSpec,
    batches: &[RecordBatch],
    stats: &SourceStats,
    partitions: usize,
) -> Result<Arc<dyn TableProvider>, Diagnostic> {
    let schema = check_schema(spec);
    let mut out = vec![];
    for (i, b) in batches.iter().enumerate() {
        let origin = stats.origins.get(i);
        let n = b.num_rows();
        let file: ArrayRef = Arc::new(Int64Array::from(vec![origin.map_or(0, |o| o.file as i64); n]));
        let line: ArrayRef = match origin.and_then(|o| o.lines.clone()) {
            Some(l) if l.len() == n => l,
            _ => Arc::new(Int64Array::new_null(n)),
        };
        let mut columns = b.columns().to_vec();
        columns.push(file);
        columns.push(line);
        out.push(
            RecordBatch::try_new(schema.clone(), columns)
                .map_err(|e| Diagnostic::error("YS0400", format!("source `{id}`: cannot add row provenance: {e}")))?,
        );
    }
    mem_table(id, schema, out, partitions)
}

/// Every check of every source.
pub(super) async fn run_checks(
    ctx: &SessionContext,
    model: &Model,
    plans: &[SourceChecks],
    tables: &IndexMap<String, Arc<dyn TableProvider>>,
    stats: &IndexMap<String, SourceStats>,
    memory: &super::memory::Memory,
) -> Result<Vec<CheckRun>, Diagnostic> {
    let mut out = vec![];
    for p in plans {
        let failed = |e: datafusion::error::DataFusionError| {
            if super::memory::exhausted(&e) {
                let words = super::memory::engine_words(&e.find_root().to_string());
                let hint = "`unique` and `relationship` checks keep every key of the source in memory";
                return super::memory::over_limit(&format!("the data checks of source `{}`", p.source), memory, &words, hint);
            }
            Diagnostic::error("YS0400", format!("the data checks of source `{}` failed: {e}", p.source))
                .help("this is a bug in yardstick: please report it with the project's definitions")
        };
        let files = stats.get(&p.source).map(|s| s.files.as_slice()).unwrap_or_default();
        let parquet = model
            .sources
            .get(&p.source)
            .is_some_and(|s| matches!(s.format(), crate::config::Format::Parquet | crate::config::Format::Postgres));
        let counts = execute(ctx, &p.counts, tables).await.map_err(failed)?;
        let batch = counts.iter().find(|b| b.num_rows() > 0).ok_or_else(|| failed(no_row()))?;
        let rows = int(batch.column(0), 0).unwrap_or(0);
        // A KPI's checks count against the KPI's rows (the counting query's last columns).
        let kpi_rows = |k: &str| {
            let j = p.kpi_rows.iter().position(|x| x == k)?;
            int(batch.column(1 + p.counted.len() + j), 0)
        };
        let mut runs: IndexMap<usize, CheckRun> = p
            .checks
            .iter()
            .map(|i| {
                let rows = model.checks[*i].kpi.as_deref().map_or(Some(rows), kpi_rows).unwrap_or(0);
                (*i, CheckRun { index: *i, rows, ..CheckRun::default() })
            })
            .collect();
        for (j, i) in p.counted.iter().enumerate() {
            let col = batch.column(1 + j);
            let run = &mut runs[i];
            if let Some(t) = col.as_primitive_opt::<TimestampMicrosecondType>() {
                run.latest = (!t.is_null(0)).then(|| t.value(0));
            } else {
                run.failing = int(col, 0);
            }
        }
        for (i, plan) in &p.own {
            let batches = execute(ctx, plan, tables).await.map_err(failed)?;
            let run = &mut runs[i];
            if matches!(model.checks[*i].kind, DataCheckKind::Volume { .. }) {
                for b in &batches {
                    let periods = b.column(0).as_primitive_opt::<datafusion::arrow::datatypes::Date32Type>();
                    for r in 0..b.num_rows() {
                        if let (Some(d), Some(n)) = (periods.filter(|p| !p.is_null(r)).map(|p| p.value(r)), int(b.column(1), r)) {
                            run.periods.push((d, n));
                        }
                    }
                }
                run.periods.sort();
            } else {
                run.failing = Some(batches.iter().find(|b| b.num_rows() > 0).and_then(|b| int(b.column(0), 0)).unwrap_or(0));
            }
        }
        for (i, plan) in &p.examples {
            if runs[i].failing.unwrap_or(0) == 0 {
                continue;
            }
            let batches = execute(ctx, plan, tables).await.map_err(failed)?;
            runs[i].examples = examples(&batches, files, parquet).map_err(|e| failed(datafusion::error::DataFusionError::Internal(e)))?;
        }
        out.extend(runs.into_values());
    }
    Ok(out)
}

fn no_row() -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::Internal("the counting query gave no row".into())
}

/// An integer cell (counts are Int64; a sum of counts may come back as another integer type).
fn int(col: &ArrayRef, row: usize) -> Option<u64> {
    if col.is_null(row) {
        return None;
    }
    if let Some(a) = col.as_primitive_opt::<Int64Type>() {
        return Some(a.value(row).max(0) as u64);
    }
    match ScalarValue::try_from_array(col, row).ok()? {
        ScalarValue::UInt64(Some(v)) => Some(v),
        ScalarValue::Int64(Some(v)) => Some(v.max(0) as u64),
        ScalarValue::Decimal128(Some(v), _, s) => Some((v / 10i128.pow(s.max(0) as u32)).max(0) as u64),
        _ => None,
    }
}

/// Example rows: file index, line, then the check's columns.
fn examples(batches: &[RecordBatch], files: &[String], parquet: bool) -> Result<Vec<CheckExample>, String> {
    let mut out = vec![];
    for b in batches {
        let schema = b.schema();
        for r in 0..b.num_rows() {
            let file = int(b.column(0), r).and_then(|i| files.get(i as usize)).cloned().unwrap_or_default();
            let place = int(b.column(1), r);
            let (line, row) = if parquet { (None, place) } else { (place, None) };
            let mut values = IndexMap::new();
            for (j, field) in schema.fields().iter().enumerate().skip(2) {
                let scalar = ScalarValue::try_from_array(b.column(j), r).map_err(|e| e.to_string())?;
                values.insert(field.name().clone(), scalar_to_json(&scalar));
            }
            out.push(CheckExample { file, line, row, values });
        }
    }
    Ok(out)
}

/// Swap every scan for its source's check table, then execute.
async fn execute(
    ctx: &SessionContext,
    plan: &LogicalPlan,
    tables: &IndexMap<String, Arc<dyn TableProvider>>,
) -> datafusion::error::Result<Vec<RecordBatch>> {
    let plan = plan
        .clone()
        .transform_up(|node| match node {
            LogicalPlan::TableScan(mut scan) => {
                let provider = tables
                    .get(scan.table_name.table())
                    .ok_or_else(|| datafusion::error::DataFusionError::Internal(format!("source `{}` was not loaded", scan.table_name)))?;
                scan.source = provider_as_source(provider.clone());
                Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
            }
            other => Ok(Transformed::no(other)),
        })?
        .data;
    ctx.execute_logical_plan(plan).await?.collect().await
}
