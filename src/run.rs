//! Execute KPI plans: load the sources they scan, run each plan on DataFusion, turn record
//! batches into result rows. The only stage besides `project` and `report` that does IO.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::Date32Type;
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::{MemTable, provider_as_source};
use datafusion::execution::context::{SessionConfig, SessionContext};
use datafusion::logical_expr::LogicalPlan;
use indexmap::IndexMap;

use crate::config::Format;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::ingest::{self, SourceStats};
use crate::model::Model;
use crate::plan::{ACCOUNTING_FIELDS, AccountingPlan, FusedPlan, KpiPlan, declared_schema};
use crate::results::{ResultRow, RowCounts, RunOutput, Status, round_value, sort_rows};

mod data_checks;

/// Run every plan over the project's data, and the row accounting of every source.
pub fn run(
    model: &Model,
    plans: &[KpiPlan],
    fused: &[FusedPlan],
    accounting: &[AccountingPlan],
    checks: &[crate::plan::data_checks::SourceChecks],
    project_dir: &Path,
    allow_outside: bool,
) -> Result<RunOutput, Diagnostics> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Diagnostic::error("YS0400", format!("cannot start the query runtime: {e}")))?;
    let confine = crate::project::Confinement::new(project_dir, &model.allow_paths, allow_outside);
    runtime.block_on(run_async(model, plans, fused, accounting, checks, project_dir, &confine))
}

async fn run_async(
    model: &Model,
    plans: &[KpiPlan],
    fused: &[FusedPlan],
    accounting: &[AccountingPlan],
    checks: &[crate::plan::data_checks::SourceChecks],
    project_dir: &Path,
    confine: &crate::project::Confinement,
) -> Result<RunOutput, Diagnostics> {
    let partitions = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions));
    let mut out = RunOutput::default();
    let mut providers: IndexMap<String, Arc<dyn TableProvider>> = IndexMap::new();
    // The same rows with their file and line, for the data checks.
    let mut check_tables: IndexMap<String, Arc<dyn TableProvider>> = IndexMap::new();
    let checked: std::collections::HashSet<&str> = checks.iter().flat_map(|c| c.scanned(model)).collect();
    let mut errors = vec![];
    // Sources in declaration order, each loaded once however many KPIs and checks use it.
    for (id, spec) in &model.sources {
        let by_kpis = plans.iter().any(|p| &p.source == id);
        if !by_kpis && !checked.contains(id.as_str()) {
            continue;
        }
        crate::progress::report(|| format!("reading source `{id}`"));
        let loaded = load_source(&ctx, id, spec, project_dir, confine).await.and_then(|(batches, stats)| {
            let table =
                if checked.contains(id.as_str()) { Some(data_checks::check_table(id, spec, &batches, &stats, partitions)?) } else { None };
            Ok((mem_table(id, declared_schema(spec), batches, partitions)?, table, stats))
        });
        match loaded {
            Ok((provider, table, stats)) => {
                crate::progress::report(|| format!("read source `{id}`: {} files, {} rows", stats.files.len(), stats.rows_read));
                providers.insert(id.clone(), provider);
                if let Some(t) = table {
                    check_tables.insert(id.clone(), t);
                }
                out.sources.insert(id.clone(), stats);
            }
            Err(d) => errors.push(d),
        }
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    // Fused queries first (one per source, grain and `by`), then each KPI no fused query
    // covers (windowed ones) on its own.
    let mut covered = std::collections::HashSet::new();
    crate::progress::report(|| format!("running the queries of {} KPIs", plans.len()));
    for f in fused {
        let provider = providers[&f.source].clone();
        let batches = execute(&ctx, &f.plan, provider).await.map_err(|e| {
            let first = f.kpis.first().and_then(|k| model.kpi(k));
            let d = Diagnostic::error("YS0400", format!("the query of KPIs {} failed: {e}", f.kpis.join(", ")))
                .help("run `yardstick sql` on these KPIs to see their queries");
            match first {
                Some(k) => d.at(k.id_span, "this KPI and the others of its source, grain and `by`"),
                None => d,
            }
        })?;
        for (kpi, mut rows) in split_fused(&batches, f)
            .map_err(|e| Diagnostic::error("YS0400", format!("reading results of KPIs {}: {e}", f.kpis.join(", "))))?
        {
            sort_rows(&mut rows);
            covered.insert(kpi.clone());
            out.rows.insert(kpi, rows);
        }
    }
    for plan in plans.iter().filter(|p| !covered.contains(&p.kpi)) {
        let kpi = model.kpi(&plan.kpi).ok_or_else(|| Diagnostic::error("YS0400", format!("no KPI `{}`", plan.kpi)))?;
        let provider = providers[&plan.source].clone();
        let batches = execute(&ctx, &plan.plan, provider).await.map_err(|e| {
            Diagnostic::error("YS0400", format!("query for KPI `{}` failed: {e}", plan.kpi))
                .at(kpi.span, "this KPI")
                .help("run `yardstick sql` on this KPI to see the query")
        })?;
        let (mut rows, data_end) =
            to_rows(&batches, &kpi.by).map_err(|e| Diagnostic::error("YS0400", format!("reading results of KPI `{}`: {e}", plan.kpi)))?;
        sort_rows(&mut rows);
        if let Some(end) = data_end {
            out.data_ends.insert(plan.kpi.clone(), format_date(end));
        }
        out.rows.insert(plan.kpi.clone(), rows);
    }
    // DataFusion 55's common-subexpression rule breaks the accounting query (its counters
    // share conditions: "Physical input schema should be the same", a nullability
    // mismatch); the rule only saves re-evaluating cheap conditions, so it is off here.
    let accounting_ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions));
    accounting_ctx.remove_optimizer_rule("common_sub_expression_eliminate");
    for plan in accounting {
        let Some(provider) = providers.get(&plan.source) else { continue };
        let batches = execute(&accounting_ctx, &plan.plan, provider.clone()).await.map_err(|e| {
            Diagnostic::error("YS0400", format!("counting the rows of source `{}` failed: {e}", plan.source))
                .help("this is a bug in yardstick: please report it with the project's definitions")
        })?;
        read_accounting(&batches, plan, &mut out)
            .map_err(|e| Diagnostic::error("YS0400", format!("reading the row accounting of source `{}`: {e}", plan.source)))?;
    }
    if !checks.is_empty() {
        crate::progress::report(|| format!("running the data checks of {} sources", checks.len()));
        out.checks = data_checks::run_checks(&accounting_ctx, model, checks, &check_tables, &out.sources).await?;
    }
    Ok(out)
}

/// A fused query's rows -> each KPI's rows (a group where a KPI has no row is not one of
/// its rows, except the one row of an ungrouped query).
fn split_fused(batches: &[RecordBatch], f: &FusedPlan) -> Result<IndexMap<String, Vec<ResultRow>>, String> {
    let mut out: IndexMap<String, Vec<ResultRow>> = f.kpis.iter().map(|k| (k.clone(), vec![])).collect();
    let by = f.by.len();
    for batch in batches {
        let period = batch.column(0);
        for r in 0..batch.num_rows() {
            let days = if period.is_null(r) {
                None
            } else {
                Some(period.as_primitive_opt::<Date32Type>().ok_or("period is not a date")?.value(r))
            };
            let mut groups = vec![];
            for (j, name) in f.by.iter().enumerate() {
                let scalar = ScalarValue::try_from_array(batch.column(1 + j), r).map_err(|e| e.to_string())?;
                groups.push((name.clone(), scalar_to_json(&scalar)));
            }
            for (i, kpi) in f.kpis.iter().enumerate() {
                let n = batch
                    .column(1 + by + 2 * i + 1)
                    .as_primitive_opt::<datafusion::arrow::datatypes::Int64Type>()
                    .ok_or("a row count is not an integer")?;
                if f.grouped && (n.is_null(r) || n.value(r) == 0) {
                    continue;
                }
                let values = batch
                    .column(1 + by + 2 * i)
                    .as_primitive_opt::<datafusion::arrow::datatypes::Float64Type>()
                    .ok_or("value is not a float")?;
                let v = if values.is_null(r) { None } else { Some(values.value(r)).filter(|v| v.is_finite()).map(round_value) };
                out[kpi].push(ResultRow {
                    period: days.map(format_date),
                    groups: groups.clone(),
                    value: v,
                    target: None,
                    status: Status::NoData,
                    comparisons: vec![],
                    provisional: false,
                });
            }
        }
    }
    Ok(out)
}

/// The one row of an accounting query -> per KPI counts and time end.
fn read_accounting(batches: &[RecordBatch], plan: &AccountingPlan, out: &mut RunOutput) -> Result<(), String> {
    let batch = batches.iter().find(|b| b.num_rows() > 0).ok_or("no row")?;
    let per_kpi = ACCOUNTING_FIELDS.len() + 1;
    for (i, kpi) in plan.kpis.iter().enumerate() {
        let mut counts = [0u64; ACCOUNTING_FIELDS.len()];
        for (j, c) in counts.iter_mut().enumerate() {
            let col = batch.column(i * per_kpi + j);
            let v = col.as_primitive_opt::<datafusion::arrow::datatypes::Int64Type>().ok_or("a count is not an integer")?;
            *c = if v.is_null(0) { 0 } else { v.value(0).max(0) as u64 };
        }
        let [read, without_time, outside_scope, excluded_by_where, counted, null_input] = counts;
        out.accounting.insert(
            kpi.clone(),
            RowCounts { read, skipped_invalid: 0, without_time, outside_scope, excluded_by_where, counted, null_input },
        );
        let end = batch.column(i * per_kpi + ACCOUNTING_FIELDS.len());
        let end = end.as_primitive_opt::<Date32Type>().ok_or("time end is not a date")?;
        if !end.is_null(0) {
            out.time_ends.insert(kpi.clone(), format_date(end.value(0)));
        }
    }
    Ok(())
}

/// Swap the plan's declared-schema table source for the loaded data and execute it.
async fn execute(
    ctx: &SessionContext,
    plan: &LogicalPlan,
    provider: Arc<dyn TableProvider>,
) -> datafusion::error::Result<Vec<RecordBatch>> {
    let source = provider_as_source(provider);
    let plan = plan
        .clone()
        .transform_up(|node| match node {
            LogicalPlan::TableScan(mut scan) => {
                scan.source = source.clone();
                Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
            }
            other => Ok(Transformed::no(other)),
        })?
        .data;
    ctx.execute_logical_plan(plan).await?.collect().await
}

async fn load_source(
    ctx: &SessionContext,
    id: &str,
    spec: &crate::config::SourceSpec,
    project_dir: &Path,
    confine: &crate::project::Confinement,
) -> Result<(Vec<RecordBatch>, SourceStats), Diagnostic> {
    let files = ingest::resolve_files(project_dir, id, spec, confine)?;
    match spec.format() {
        Format::Csv => ingest::read_csv_source(id, spec, declared_schema(spec), &files),
        Format::Parquet => ingest::load_parquet(ctx, id, spec, &files).await,
    }
}

/// Batches spread over partitions, so aggregation runs on every core.
fn mem_table(
    id: &str,
    schema: datafusion::arrow::datatypes::SchemaRef,
    batches: Vec<RecordBatch>,
    partitions: usize,
) -> Result<Arc<dyn TableProvider>, Diagnostic> {
    let mut parts: Vec<Vec<RecordBatch>> = vec![vec![]; partitions.max(1)];
    for (i, b) in batches.into_iter().enumerate() {
        parts[i % partitions.max(1)].push(b);
    }
    let table = MemTable::try_new(schema, parts).map_err(|e| Diagnostic::error("YS0400", format!("source `{id}`: {e}")))?;
    Ok(Arc::new(table))
}

/// Record batches of `period, <by...>, value [, last_base]` -> rows (statuses come later,
/// in `series`), and for windowed plans the latest period a row came from.
fn to_rows(batches: &[RecordBatch], by: &[String]) -> Result<(Vec<ResultRow>, Option<i32>), String> {
    let mut rows = vec![];
    let mut last_base: Option<i32> = None;
    for batch in batches {
        let period = batch.column(0);
        let value = batch.column(1 + by.len());
        let values = value.as_primitive_opt::<datafusion::arrow::datatypes::Float64Type>().ok_or("value is not a float")?;
        let base =
            batch.columns().get(2 + by.len()).map(|c| c.as_primitive_opt::<Date32Type>().ok_or("last_base is not a date")).transpose()?;
        for i in 0..batch.num_rows() {
            let days = if period.is_null(i) {
                None
            } else {
                Some(period.as_primitive_opt::<Date32Type>().ok_or("period is not a date")?.value(i))
            };
            if let Some(b) = base.filter(|b| !b.is_null(i)) {
                last_base = last_base.max(Some(b.value(i)));
            }
            let mut groups = vec![];
            for (j, name) in by.iter().enumerate() {
                let scalar = ScalarValue::try_from_array(batch.column(1 + j), i).map_err(|e| e.to_string())?;
                groups.push((name.clone(), scalar_to_json(&scalar)));
            }
            let v = if values.is_null(i) { None } else { Some(values.value(i)).filter(|v| v.is_finite()).map(round_value) };
            rows.push(ResultRow {
                period: days.map(format_date),
                groups,
                value: v,
                target: None,
                status: Status::NoData,
                comparisons: vec![],
                provisional: false,
            });
        }
    }
    Ok((rows, last_base))
}

pub fn format_date(days: i32) -> String {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (epoch + chrono::Duration::days(days as i64)).format("%Y-%m-%d").to_string()
}

fn scalar_to_json(s: &ScalarValue) -> serde_json::Value {
    use serde_json::Value as V;
    if s.is_null() {
        return V::Null;
    }
    match s {
        ScalarValue::Utf8(Some(v)) | ScalarValue::Utf8View(Some(v)) | ScalarValue::LargeUtf8(Some(v)) => V::String(v.clone()),
        ScalarValue::Int64(Some(v)) => V::from(*v),
        ScalarValue::Float64(Some(v)) => serde_json::Number::from_f64(*v).map(V::Number).unwrap_or(V::Null),
        ScalarValue::Boolean(Some(b)) => V::Bool(*b),
        ScalarValue::Date32(Some(d)) => V::String(format_date(*d)),
        other => V::String(other.to_string()),
    }
}
