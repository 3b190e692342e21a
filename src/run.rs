//! Execute KPI plans: load the sources they scan, run each plan on DataFusion, turn record
//! batches into result rows. The only stage besides `project` and `report` that does IO.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Date32Type};
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::{MemTable, provider_as_source};
use datafusion::execution::context::{SessionConfig, SessionContext};
use datafusion::logical_expr::{Expr, LogicalPlan, cast};
use datafusion::prelude::ParquetReadOptions;
use indexmap::IndexMap;

use crate::config::{ColumnType, Format, OnInvalid};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::ingest::{self, SourceStats};
use crate::model::Model;
use crate::plan::{ACCOUNTING_FIELDS, AccountingPlan, FusedPlan, KpiPlan, arrow_type, declared_schema};
use crate::results::{ResultRow, RowCounts, RunOutput, Status, round_value, sort_rows};

/// Run every plan over the project's data, and the row accounting of every source.
pub fn run(
    model: &Model,
    plans: &[KpiPlan],
    fused: &[FusedPlan],
    accounting: &[AccountingPlan],
    project_dir: &Path,
    allow_outside: bool,
) -> Result<RunOutput, Diagnostics> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Diagnostic::error("YS0400", format!("cannot start the query runtime: {e}")))?;
    let confine = crate::project::Confinement::new(project_dir, &model.allow_paths, allow_outside);
    runtime.block_on(run_async(model, plans, fused, accounting, project_dir, &confine))
}

async fn run_async(
    model: &Model,
    plans: &[KpiPlan],
    fused: &[FusedPlan],
    accounting: &[AccountingPlan],
    project_dir: &Path,
    confine: &crate::project::Confinement,
) -> Result<RunOutput, Diagnostics> {
    let partitions = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions));
    let mut out = RunOutput::default();
    let mut providers: IndexMap<String, Arc<dyn TableProvider>> = IndexMap::new();
    let mut errors = vec![];
    // Sources in declaration order, each loaded once however many KPIs use it.
    for (id, spec) in &model.sources {
        if !plans.iter().any(|p| &p.source == id) {
            continue;
        }
        crate::progress::report(|| format!("reading source `{id}`"));
        match load_source(&ctx, id, spec, project_dir, confine, partitions).await {
            Ok((provider, stats)) => {
                crate::progress::report(|| format!("read source `{id}`: {} files, {} rows", stats.files.len(), stats.rows_read));
                providers.insert(id.clone(), provider);
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
    partitions: usize,
) -> Result<(Arc<dyn TableProvider>, SourceStats), Diagnostic> {
    let files = ingest::resolve_files(project_dir, id, spec, confine)?;
    let schema = declared_schema(spec);
    match spec.format() {
        Format::Csv => {
            let (batches, stats) = ingest::read_csv_source(id, spec, schema.clone(), &files)?;
            Ok((mem_table(id, schema, batches, partitions)?, stats))
        }
        Format::Parquet => {
            let (batches, stats) = load_parquet(ctx, id, spec, &files).await?;
            Ok((mem_table(id, schema, batches, partitions)?, stats))
        }
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

/// Parquet files are read by DataFusion, one file at a time: columns are selected by name
/// (or alias) and cast to their declared types, so plans always see the declared schema,
/// `file_column` holds each row's own file, and a value that cannot be converted is an
/// error naming the file and the column (a YS0301, not a failed KPI query).
async fn load_parquet(
    ctx: &SessionContext,
    id: &str,
    spec: &crate::config::SourceSpec,
    files: &[(std::path::PathBuf, String)],
) -> Result<(Vec<RecordBatch>, SourceStats), Diagnostic> {
    use futures::FutureExt;
    let mut batches = vec![];
    let mut stats = SourceStats::default();
    for (path, shown) in files {
        validate_parquet(path, shown, id)?;
        // The last line of defence: a reader that panics on a corrupt file is an error that
        // names the file, not a crash of the build.
        let read =
            std::panic::AssertUnwindSafe(load_parquet_file(ctx, id, spec, path, shown, &mut batches, &mut stats)).catch_unwind().await;
        match read {
            Ok(result) => result?,
            Err(panic) => return Err(reader_failed(id, shown, panic.as_ref())),
        }
    }
    Ok((batches, stats))
}

/// A Parquet file must end with its footer: `<metadata> <length: u32 LE> PAR1`, start with
/// `PAR1`, and its metadata must parse. Checked before any reader sees the file (truncated
/// and mangled files made the reader panic).
fn validate_parquet(path: &std::path::Path, shown: &str, id: &str) -> Result<(), Diagnostic> {
    use std::io::{Read, Seek, SeekFrom};
    let bad = |why: String| {
        Diagnostic::error("YS0301", format!("source `{id}`: {shown} is not a readable Parquet file: {why}"))
            .help("the file is damaged, truncated or not Parquet: export it again, or check the source's `path` and `format`")
    };
    let mut file = std::fs::File::open(path).map_err(|e| Diagnostic::error("YS0001", format!("cannot read {shown}: {e}")))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size < 12 {
        return Err(bad(format!("{size} bytes, shorter than the smallest Parquet file")));
    }
    let mut head = [0u8; 4];
    let mut tail = [0u8; 8];
    file.read_exact(&mut head).map_err(|e| bad(e.to_string()))?;
    file.seek(SeekFrom::End(-8)).and_then(|_| file.read_exact(&mut tail)).map_err(|e| bad(e.to_string()))?;
    if &head != b"PAR1" || &tail[4..] != b"PAR1" {
        return Err(bad("it does not start and end with the Parquet magic bytes `PAR1`".into()));
    }
    let footer = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
    if footer > size - 12 {
        return Err(bad(format!("its footer says {footer} bytes of metadata, but the file has {size} bytes")));
    }
    let parsed = std::panic::catch_unwind(|| datafusion::parquet::file::metadata::ParquetMetaDataReader::new().parse_and_finish(&file));
    match parsed {
        Ok(Ok(metadata)) => {
            // Every column chunk must lie inside the file.
            for rg in metadata.row_groups() {
                for c in rg.columns() {
                    let (start, len) = c.byte_range();
                    if start.checked_add(len).is_none_or(|end| end > size) {
                        return Err(bad(format!("a column chunk of `{}` lies beyond the end of the file", c.column_path())));
                    }
                }
            }
            Ok(())
        }
        Ok(Err(e)) => Err(bad(e.to_string())),
        Err(panic) => Err(reader_failed(id, shown, panic.as_ref())),
    }
}

fn reader_failed(id: &str, shown: &str, panic: &(dyn std::any::Any + Send)) -> Diagnostic {
    let why = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
    Diagnostic::error("YS0301", format!("source `{id}`: the Parquet reader failed on {shown}: {why}"))
        .help("the file is damaged or uses a feature the reader does not support: export it again")
}

/// One Parquet file into `batches`.
async fn load_parquet_file(
    ctx: &SessionContext,
    id: &str,
    spec: &crate::config::SourceSpec,
    path: &std::path::Path,
    shown: &str,
    batches: &mut Vec<RecordBatch>,
    stats: &mut SourceStats,
) -> Result<(), Diagnostic> {
    let schema = declared_schema(spec);
    let err = |e: datafusion::error::DataFusionError| Diagnostic::error("YS0301", format!("source `{id}`: cannot read {shown}: {e}"));
    let df = ctx.read_parquet(path.to_string_lossy().to_string(), ParquetReadOptions::default()).await.map_err(err)?;
    let available: Vec<String> = df.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut exprs: Vec<(String, Expr)> = vec![];
    for (name, cs) in &spec.columns {
        let found = match ingest::locate_column(name, cs, &available) {
            Ok(i) => &available[i],
            Err(why) => return Err(why.diagnostic(name, &available, shown, id).at(cs.span, "declared here")),
        };
        let column = Expr::Column(datafusion::common::Column::new_unqualified(found));
        let ty = arrow_type(cs.ty.into());
        let source_is_text = df
            .schema()
            .field_with_unqualified_name(found)
            .map(|f| f.data_type() == &DataType::Utf8 || f.data_type() == &DataType::Utf8View || f.data_type() == &DataType::LargeUtf8)
            .unwrap_or(false);
        let expr = match cs.ty {
            ColumnType::Timestamp | ColumnType::Date if source_is_text && !cs.formats.is_empty() => {
                let mut args = vec![column];
                args.extend(cs.formats.iter().map(|f| datafusion::logical_expr::lit(f.clone())));
                cast(datafusion::functions::expr_fn::to_timestamp_micros(args), ty)
            }
            _ => cast(column, ty),
        };
        exprs.push((name.clone(), expr.alias(name)));
    }
    let mut select: Vec<Expr> = exprs.iter().map(|(_, e)| e.clone()).collect();
    if let Some(fc) = &spec.file_column {
        select.push(datafusion::logical_expr::lit(shown.to_string()).alias(fc));
    }
    let collected = match df.clone().select(select).map_err(err)?.collect().await {
        Ok(b) => b,
        Err(e) => return Err(conversion_error(&df, id, spec, shown, &exprs, e).await),
    };
    stats.files.push(shown.to_string());
    let mut row = 0u64;
    for b in collected {
        let n = b.num_rows() as u64;
        stats.rows_read += n;
        // Same columns, same types: only the field metadata may differ per file.
        let b = RecordBatch::try_new(schema.clone(), b.columns().to_vec())
            .map_err(|e| Diagnostic::error("YS0301", format!("source `{id}`: {shown} does not fit the declared columns: {e}")))?;
        batches.push(enforce_valid_years(b, spec, id, shown, row, stats)?);
        row += n;
    }
    Ok(())
}

/// Dates and timestamps outside the source's `valid_years` are invalid values, as in CSV:
/// an error naming the file, row and column, or null / a skipped row under `on_invalid`.
fn enforce_valid_years(
    batch: RecordBatch,
    spec: &crate::config::SourceSpec,
    id: &str,
    shown: &str,
    first_row: u64,
    stats: &mut SourceStats,
) -> Result<RecordBatch, Diagnostic> {
    use datafusion::arrow::array::BooleanArray;
    use datafusion::arrow::datatypes::TimestampMicrosecondType;
    let mut columns = batch.columns().to_vec();
    let mut keep = vec![true; batch.num_rows()];
    for (i, (name, cs)) in spec.columns.iter().enumerate() {
        if !matches!(cs.ty, ColumnType::Date | ColumnType::Timestamp) {
            continue;
        }
        let array = &columns[i];
        let value = |r: usize| -> Option<ingest::Value<'static>> {
            if array.is_null(r) {
                return None;
            }
            match cs.ty {
                ColumnType::Date => array.as_primitive_opt::<Date32Type>().map(|a| ingest::Value::Date(a.value(r))),
                _ => array.as_primitive_opt::<TimestampMicrosecondType>().map(|a| ingest::Value::Timestamp(a.value(r))),
            }
        };
        let bad: Vec<usize> =
            (0..batch.num_rows()).filter(|r| value(*r).is_some_and(|v| !ingest::in_valid_years(&v, spec.valid_years))).collect();
        if bad.is_empty() {
            continue;
        }
        *stats.invalid_values.entry(name.clone()).or_insert(0) += bad.len() as u64;
        match cs.on_invalid.unwrap_or(spec.on_invalid) {
            OnInvalid::Error => {
                let shown_value = datafusion::arrow::util::display::array_value_to_string(array, bad[0]).unwrap_or_default();
                return Err(Diagnostic::error(
                    "YS0301",
                    format!(
                        "{shown}: source `{id}`, column `{name}`, row {}: {shown_value} is outside the source's valid years {}-{} ({} such value(s) in this part of the file)",
                        first_row + bad[0] as u64 + 1,
                        spec.valid_years[0],
                        spec.valid_years[1],
                        bad.len()
                    ),
                )
                .help(format!("fix the data, widen `valid_years` on source `{id}`, or set `on_invalid: null` (or `skip`) on the column")));
            }
            OnInvalid::Null => {
                let mask = BooleanArray::from((0..batch.num_rows()).map(|r| !bad.contains(&r)).collect::<Vec<bool>>());
                columns[i] = datafusion::arrow::compute::nullif(
                    array,
                    &datafusion::arrow::compute::not(&mask).map_err(|e| Diagnostic::error("YS0400", format!("source `{id}`: {e}")))?,
                )
                .map_err(|e| Diagnostic::error("YS0400", format!("source `{id}`: {e}")))?;
            }
            OnInvalid::Skip => bad.iter().for_each(|r| keep[*r] = false),
        }
    }
    let skipped = keep.iter().filter(|k| !**k).count();
    let batch = RecordBatch::try_new(batch.schema(), columns).map_err(|e| Diagnostic::error("YS0400", format!("source `{id}`: {e}")))?;
    if skipped == 0 {
        return Ok(batch);
    }
    stats.rows_skipped += skipped as u64;
    datafusion::arrow::compute::filter_record_batch(&batch, &BooleanArray::from(keep))
        .map_err(|e| Diagnostic::error("YS0400", format!("source `{id}`: {e}")))
}

/// A Parquet file failed to convert: find the declared column responsible (one query per
/// column, on this error path only) so the error names it and its `format`.
async fn conversion_error(
    df: &datafusion::dataframe::DataFrame,
    id: &str,
    spec: &crate::config::SourceSpec,
    shown: &str,
    exprs: &[(String, Expr)],
    first: datafusion::error::DataFusionError,
) -> Diagnostic {
    for (name, expr) in exprs {
        let Ok(one) = df.clone().select(vec![expr.clone()]) else { continue };
        if let Err(e) = one.collect().await {
            let cs = &spec.columns[name];
            let help = if cs.formats.is_empty() {
                format!(
                    "declare the column's type as it is in the file, or give `format:` for a date or timestamp column `{name}` of source `{id}`"
                )
            } else {
                format!(
                    "none of the formats {:?} of column `{name}` (source `{id}`) reads this value: add the right chrono format (docs/configuration.md)",
                    cs.formats
                )
            };
            return Diagnostic::error(
                "YS0301",
                format!("{shown}: source `{id}`, column `{name}`: cannot convert a value to {}: {}", cs.ty.name(), e.strip_backtrace()),
            )
            .help(help);
        }
    }
    Diagnostic::error("YS0301", format!("source `{id}`: cannot read {shown}: {}", first.strip_backtrace()))
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
