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

#[cfg(feature = "cluster")]
pub mod cluster;
mod data_checks;
pub mod engine;
pub mod memory;
mod period;
mod shared_scan;

pub use engine::Engine;

/// A query session with yardstick's run-time rewrites (the fast period functions).
fn session(partitions: usize, runtime: Arc<datafusion::execution::runtime_env::RuntimeEnv>) -> SessionContext {
    let ctx = SessionContext::new_with_config_rt(SessionConfig::new().with_target_partitions(partitions), runtime);
    ctx.add_optimizer_rule(Arc::new(period::PeriodRule));
    ctx
}

/// Partitions per query: one per core, or `YARDSTICK_PARTITIONS` (a whole number from 1 to
/// 256; for tests and tuning: values never depend on it, see `functions::exact_sum`).
fn partitions() -> usize {
    std::env::var("YARDSTICK_PARTITIONS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=256).contains(n))
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
}

/// The plans a run executes.
#[derive(Clone, Copy)]
pub struct Plans<'a> {
    /// Each KPI's own plan (those no fused plan covers run on their own).
    pub kpis: &'a [KpiPlan],
    pub fused: &'a [FusedPlan],
    pub accounting: &'a [AccountingPlan],
    pub checks: &'a [crate::plan::data_checks::SourceChecks],
}

/// Where a run reads its sources from and how it runs their queries.
pub struct Reading<'a> {
    pub project_dir: &'a Path,
    /// `--allow-outside`: files outside the project and `allow_paths` may be read.
    pub allow_outside: bool,
    /// The cache of parsed CSV files, when it is on.
    pub cache_dir: Option<&'a Path>,
    pub engine: Engine,
    pub memory: memory::Memory,
}

/// Run every plan over the project's data, and the row accounting of every source, on
/// `reading.engine` (the plans and the values are the same on every engine).
pub fn run(model: &Model, plans: Plans<'_>, reading: Reading<'_>) -> Result<RunOutput, Diagnostics> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Diagnostic::error("YS0400", format!("cannot start the query runtime: {e}")))?;
    let confine = crate::project::Confinement::new(reading.project_dir, &model.allow_paths, reading.allow_outside);
    let cache = reading.cache_dir.map(|d| ingest::cache::Cache::new(d.to_path_buf()));
    runtime.block_on(run_async(model, plans, reading.project_dir, &confine, cache, reading.engine, reading.memory))
}

/// Where the queries run (the sources are always read here, by `ingest`).
enum Runner {
    Local,
    #[cfg(feature = "cluster")]
    Cluster(cluster::Remote),
}

impl Runner {
    async fn new(engine: Engine, partitions: usize) -> Result<Runner, Diagnostic> {
        match engine {
            Engine::Local => Ok(Runner::Local),
            #[cfg(feature = "cluster")]
            Engine::Ballista(c) => Ok(Runner::Cluster(cluster::Remote::connect(c, partitions).await?)),
            #[cfg(not(feature = "cluster"))]
            Engine::Ballista(c) => {
                let _ = partitions;
                Err(Diagnostic::error(
                    "YS0402",
                    format!("cannot run on the Ballista cluster at {}: this yardstick was built without cluster support", c.scheduler),
                )
                .help("build yardstick with `cargo build --features cluster` (docs/scale.md), or build without `--engine`"))
            }
        }
    }
}

async fn run_async(
    model: &Model,
    plans: Plans<'_>,
    project_dir: &Path,
    confine: &crate::project::Confinement,
    cache: Option<ingest::cache::Cache>,
    engine: Engine,
    memory: memory::Memory,
) -> Result<RunOutput, Diagnostics> {
    let Plans { kpis: plans, fused, accounting, checks } = plans;
    let partitions = partitions();
    let runner = Runner::new(engine, partitions).await.map_err(|d| Diagnostics(vec![d]))?;
    // One memory pool (`--memory-limit`) for every query of the build.
    let pool = memory.runtime().map_err(|d| Diagnostics(vec![d]))?;
    let ctx = session(partitions, pool.clone());
    // DataFusion 55's common-subexpression rule breaks the accounting query (its counters
    // share conditions: "Physical input schema should be the same", a nullability
    // mismatch); the rule only saves re-evaluating cheap conditions, so it is off there.
    let accounting_ctx = session(partitions, pool.clone());
    accounting_ctx.remove_optimizer_rule("common_sub_expression_eliminate");
    // Queries with medians, percentiles or distinct counts run on one partition each: split
    // over partitions, every partition's state (all the values of each group) is copied
    // into lists, repartitioned and merged, which took 45% of the CPU of the benchmark's
    // 50 KPIs at SF10 and 2.5 GiB more memory (docs/benchmarks.md). A source's queries run
    // at the same time, so the cores stay busy. Exact measures (counts, exact sums and
    // means, percentiles, distinct counts) give the same values either way; `stddev`, not
    // exact, can differ in its last bits (hidden by rounding to 12 digits).
    let holistic_ctx = session(1, pool);
    let sessions = Sessions { query: &ctx, holistic: &holistic_ctx, accounting: &accounting_ctx };
    // Fused queries (one per source, grain and `by`), then each KPI no fused query covers
    // (windowed ones) on its own, then the row accounting.
    let covered: std::collections::HashSet<&String> = fused.iter().flat_map(|f| &f.kpis).collect();
    let mut queries: Vec<Query> = fused.iter().map(Query::Fused).collect();
    queries.extend(plans.iter().filter(|p| !covered.contains(&p.kpi)).map(Query::Own));
    queries.extend(accounting.iter().map(Query::Accounting));
    let mut out = RunOutput::default();
    let mut load_errors = vec![];
    let mut query_error: Option<Diagnostic> = None;
    crate::progress::report(|| format!("running the queries of {} KPIs", plans.len()));
    // Sources in declaration order, each read once however many KPIs use it.
    // The same rows with their file and line, for the data checks.
    let mut check_tables: IndexMap<String, Arc<dyn TableProvider>> = IndexMap::new();
    let checked: std::collections::HashSet<&str> = checks.iter().flat_map(|c| c.scanned(model)).collect();
    for (id, spec) in &model.sources {
        let by_kpis = plans.iter().any(|p| &p.source == id);
        if !by_kpis && !checked.contains(id.as_str()) {
            continue;
        }
        let mine: Vec<&Query> = queries.iter().filter(|q| q.source() == id).collect();
        crate::progress::report(|| format!("reading source `{id}`"));
        let checked_here = checked.contains(id.as_str());
        let (stats, results, kept) =
            match read_and_query(&runner, model, &sessions, id, spec, project_dir, confine, cache.as_ref(), &mine, checked_here, &memory)
                .await
            {
                Ok(done) => done,
                Err(d) => {
                    load_errors.push(d);
                    continue;
                }
            };
        crate::progress::report(|| {
            let files = stats.files.len();
            format!(
                "read source `{id}`: {files} file{}, {} rows",
                if files == 1 { "" } else { "s" },
                crate::diagnostics::thousands(stats.rows_read)
            )
        });
        if let Some(batches) = kept {
            match data_checks::check_table(id, spec, &batches, &stats, partitions) {
                Ok(t) => {
                    check_tables.insert(id.clone(), t);
                }
                Err(d) => load_errors.push(d),
            }
        }
        out.sources.insert(id.clone(), stats);
        if !load_errors.is_empty() {
            continue;
        }
        for (q, batches) in mine.iter().zip(results) {
            match batches.map_err(|e| q.failed(model, e, &memory)).and_then(|b| q.read(model, &b, &mut out)) {
                Ok(()) => {}
                Err(d) => {
                    query_error.get_or_insert(d);
                }
            }
        }
    }
    if !load_errors.is_empty() {
        return Err(Diagnostics(load_errors));
    }
    if let Some(d) = query_error {
        return Err(Diagnostics(vec![d]));
    }
    // KPIs in the order of their queries, whichever source was read first.
    let mut ordered = IndexMap::new();
    for q in &queries {
        for kpi in q.kpis() {
            if let Some(rows) = out.rows.shift_remove(kpi) {
                ordered.insert(kpi.clone(), rows);
            }
        }
    }
    out.rows = ordered;
    if !checks.is_empty() {
        crate::progress::report(|| format!("running the data checks of {} sources", checks.len()));
        out.checks = data_checks::run_checks(&accounting_ctx, model, checks, &check_tables, &out.sources, &memory).await?;
    }
    Ok(out)
}

/// The sessions queries run in (all with the build's one memory pool).
struct Sessions<'a> {
    /// Partitioned over the cores.
    query: &'a SessionContext,
    /// One partition: queries with medians, percentiles or distinct counts.
    holistic: &'a SessionContext,
    /// The row accounting (without the common-subexpression rule).
    accounting: &'a SessionContext,
}

/// One query the run executes.
enum Query<'a> {
    Fused(&'a FusedPlan),
    Own(&'a KpiPlan),
    Accounting(&'a AccountingPlan),
}

impl Query<'_> {
    fn source(&self) -> &str {
        match self {
            Query::Fused(f) => &f.source,
            Query::Own(p) => &p.source,
            Query::Accounting(a) => &a.source,
        }
    }
    fn plan(&self) -> &LogicalPlan {
        match self {
            Query::Fused(f) => &f.plan,
            Query::Own(p) => &p.plan,
            Query::Accounting(a) => &a.plan,
        }
    }
    fn kpis(&self) -> &[String] {
        match self {
            Query::Fused(f) => &f.kpis,
            Query::Own(p) => std::slice::from_ref(&p.kpi),
            Query::Accounting(_) => &[],
        }
    }

    /// Whether some KPI of the query keeps every value of a group (medians, percentiles,
    /// distinct counts).
    fn holistic(&self, model: &Model) -> bool {
        self.kpis().iter().filter_map(|k| model.kpi(k)).any(|k| k.measure.is_holistic())
    }

    fn failed(&self, model: &Model, e: datafusion::error::DataFusionError, memory: &memory::Memory) -> Diagnostic {
        if memory::exhausted(&e) {
            return self.over_limit(model, &e, memory);
        }
        match self {
            Query::Fused(f) => {
                let first = f.kpis.first().and_then(|k| model.kpi(k));
                let d = Diagnostic::error("YS0400", format!("the query of KPIs {} failed: {e}", f.kpis.join(", ")))
                    .help("run `yardstick sql` on these KPIs to see their queries");
                match first {
                    Some(k) => d.at(k.id_span, "this KPI and the others of its source, grain and `by`"),
                    None => d,
                }
            }
            Query::Own(plan) => {
                let d = Diagnostic::error("YS0400", format!("query for KPI `{}` failed: {e}", plan.kpi))
                    .help("run `yardstick sql` on this KPI to see the query");
                match model.kpi(&plan.kpi) {
                    Some(kpi) => d.at(kpi.span, "this KPI"),
                    None => d,
                }
            }
            Query::Accounting(plan) => Diagnostic::error("YS0400", format!("counting the rows of source `{}` failed: {e}", plan.source))
                .help("this is a bug in yardstick: please report it with the project's definitions"),
        }
    }

    /// YS0403: the query needed more memory than `--memory-limit`, naming its KPIs (those
    /// that keep values, medians, percentiles and distinct counts, first).
    fn over_limit(&self, model: &Model, e: &datafusion::error::DataFusionError, memory: &memory::Memory) -> Diagnostic {
        let kpis: Vec<&crate::model::CheckedKpi> = self.kpis().iter().filter_map(|k| model.kpi(k)).collect();
        let holistic: Vec<&crate::model::CheckedKpi> = kpis.iter().copied().filter(|k| k.measure.is_holistic()).collect();
        let shown = if holistic.is_empty() { &kpis } else { &holistic };
        let named: Vec<String> = shown.iter().map(|k| format!("`{}`", k.id)).collect();
        let what = match self {
            Query::Accounting(a) => format!("counting the rows of source `{}`", a.source),
            _ if named.len() == 1 => format!("KPI {}", named[0]),
            _ => format!("the query of KPIs {}", named.join(", ")),
        };
        let hint = if holistic.is_empty() {
            "fewer groups (`by`) or a coarser grain need less"
        } else {
            "medians, percentiles and distinct counts keep every value of a group in memory: fewer groups (`by`), a coarser grain or a narrower scope need less"
        };
        let d = memory::over_limit(&what, memory, &memory::engine_words(&e.find_root().to_string()), hint);
        match shown.first() {
            Some(k) => d.at(k.id_span, "this KPI"),
            None => d,
        }
    }

    /// The query's batches -> rows, data ends or row counts in `out`.
    fn read(&self, model: &Model, batches: &[RecordBatch], out: &mut RunOutput) -> Result<(), Diagnostic> {
        match self {
            Query::Fused(f) => {
                for (kpi, mut rows) in split_fused(batches, f)
                    .map_err(|e| Diagnostic::error("YS0400", format!("reading results of KPIs {}: {e}", f.kpis.join(", "))))?
                {
                    sort_rows(&mut rows);
                    out.rows.insert(kpi, rows);
                }
            }
            Query::Own(plan) => {
                let kpi = model.kpi(&plan.kpi).ok_or_else(|| Diagnostic::error("YS0400", format!("no KPI `{}`", plan.kpi)))?;
                let (mut rows, data_end) = to_rows(batches, &kpi.by)
                    .map_err(|e| Diagnostic::error("YS0400", format!("reading results of KPI `{}`: {e}", plan.kpi)))?;
                sort_rows(&mut rows);
                if let Some(end) = data_end {
                    out.data_ends.insert(plan.kpi.clone(), format_date(end));
                }
                out.rows.insert(plan.kpi.clone(), rows);
            }
            Query::Accounting(plan) => read_accounting(batches, plan, out)
                .map_err(|e| Diagnostic::error("YS0400", format!("reading the row accounting of source `{}`: {e}", plan.source)))?,
        }
        Ok(())
    }
}

type QueryResult = datafusion::error::Result<Vec<RecordBatch>>;

/// Read one source and run its queries over it: the source is read once, while its queries
/// run, each fed through a bounded channel (a CSV source's files from the cache when it holds
/// them, else parsed on a thread of their own).
#[allow(clippy::too_many_arguments)]
async fn read_and_query(
    runner: &Runner,
    model: &Model,
    sessions: &Sessions<'_>,
    id: &str,
    spec: &crate::config::SourceSpec,
    project_dir: &Path,
    confine: &crate::project::Confinement,
    cache: Option<&ingest::cache::Cache>,
    queries: &[&Query<'_>],
    keep: bool,
    memory: &memory::Memory,
) -> Result<(SourceStats, Vec<QueryResult>, Option<Vec<RecordBatch>>), Diagnostic> {
    let files = ingest::resolve_files(project_dir, id, spec, confine)?;
    let schema = declared_schema(spec);
    let ctx = sessions.query;
    let session = |q: &Query| match q {
        Query::Accounting(_) => sessions.accounting,
        q if q.holistic(model) => sessions.holistic,
        _ => sessions.query,
    };
    match runner {
        Runner::Local => {}
        #[cfg(feature = "cluster")]
        Runner::Cluster(remote) => return remote.read_and_query(ctx, id, spec, &files, schema, cache, queries, keep).await,
    }
    let mut needed = std::collections::HashSet::new();
    let mut senders = vec![];
    let mut runs = vec![];
    for q in queries {
        shared_scan::columns_read(q.plan(), &mut needed);
        let (tx, provider) =
            shared_scan::channel_table(schema.clone()).map_err(|e| Diagnostic::error("YS0400", format!("source `{id}`: {e}")))?;
        senders.push(tx);
        runs.push(execute(session(q), q.plan(), provider));
    }
    // Data checks read every column and need the whole source with each row's file and
    // line: a source with checks is kept in memory as it streams by.
    if keep {
        needed.extend(spec.columns.keys().cloned());
    }
    let mut tee = ingest::stream::Tee::new(senders, keep);
    if keep {
        // The kept copy counts against `--memory-limit` like the queries' states.
        let consumer = datafusion::execution::memory_pool::MemoryConsumer::new(format!("rows of source `{id}` kept for its data checks"));
        tee = tee.accounted(consumer.register(&ctx.runtime_env().memory_pool));
    }
    let over = |detail: Option<String>| {
        detail.map(|d| {
            let hint = "the data checks need the whole source in memory: a smaller source (or fewer files per source) needs less";
            memory::over_limit(&format!("keeping source `{id}` for its data checks"), memory, &memory::engine_words(&d), hint)
        })
    };
    match spec.format() {
        Format::Csv => {
            let read = async {
                let stats = stream_csv(id, spec, schema, files, cache, &mut tee).await;
                let over_limit = tee.over_limit().map(str::to_string);
                // Dropping the senders ends every query's input.
                (stats, tee.into_kept(), over_limit)
            };
            let ((stats, kept, over_limit), results) = futures::join!(read, futures::future::join_all(runs));
            if let Some(d) = over(over_limit) {
                return Err(d);
            }
            Ok((stats?, results, kept))
        }
        Format::Parquet | Format::Postgres => {
            let read = async {
                let stats = match spec.format() {
                    Format::Postgres => ingest::load_postgres(ctx, id, spec, &needed, &mut tee).await,
                    _ => ingest::load_parquet(ctx, id, spec, &files, &needed, &mut tee).await,
                };
                if let Err(d) = &stats {
                    tee.fail(&d.message).await;
                }
                let over_limit = tee.over_limit().map(str::to_string);
                // Dropping the senders ends every query's input.
                let kept = tee.into_kept();
                (stats, kept, over_limit)
            };
            let ((stats, kept, over_limit), results) = futures::join!(read, futures::future::join_all(runs));
            if let Some(d) = over(over_limit) {
                return Err(d);
            }
            Ok((stats?, results, kept))
        }
    }
}

/// A CSV source into `tee`: parsed (or read from the cache) on a blocking thread, which
/// hands its batches over a bounded channel.
async fn stream_csv(
    id: &str,
    spec: &crate::config::SourceSpec,
    schema: datafusion::arrow::datatypes::SchemaRef,
    files: Vec<(std::path::PathBuf, String)>,
    cache: Option<&ingest::cache::Cache>,
    tee: &mut ingest::stream::Tee,
) -> Result<SourceStats, Diagnostic> {
    use futures::StreamExt;
    let (mut tx, mut rx) = futures::channel::mpsc::channel::<(usize, ingest::Piece)>(2);
    let (owned_id, owned_spec, cache) = (id.to_string(), spec.clone(), cache.cloned());
    let parse = tokio::task::spawn_blocking(move || {
        ingest::stream_csv_source(&owned_id, &owned_spec, &schema, &files, cache.as_ref(), &mut |file, piece| {
            futures::executor::block_on(futures::SinkExt::send(&mut tx, (file, piece)))
                .map_err(|_| Diagnostic::error("YS0400", format!("source `{owned_id}`: its queries stopped reading")))
        })
    });
    let mut origins = vec![];
    while let Some((file, piece)) = rx.next().await {
        if tee.keeps() {
            origins.push(ingest::BatchOrigin { file, lines: Some(piece.lines) });
        }
        tee.send(&piece.batch).await;
    }
    let stats = match parse.await {
        Ok(stats) => stats,
        Err(e) => Err(Diagnostic::error("YS0400", format!("source `{id}`: reading its files failed: {e}"))
            .help("this is a bug in yardstick: please report it with the file")),
    };
    match stats {
        Ok(mut stats) => {
            stats.origins = origins;
            Ok(stats)
        }
        Err(d) => {
            // A query must never finish on part of its source.
            tee.fail(&d.message).await;
            Err(d)
        }
    }
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
                    suppressed: None,
                    counted: u64::try_from(n.value(r)).ok().filter(|_| !n.is_null(r)),
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
            rows.push(ResultRow::new(days.map(format_date), groups, v));
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
        // As `latest` writes times (the scalar's own text is the microseconds count).
        ScalarValue::TimestampMicrosecond(Some(us), _) => match chrono::DateTime::from_timestamp_micros(*us) {
            Some(t) if us % 1_000_000 == 0 => V::String(t.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string()),
            Some(t) => V::String(t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
            None => V::String(us.to_string()),
        },
        other => V::String(other.to_string()),
    }
}
