//! Builds on an Apache Ballista cluster (`build --engine ballista://host:port`, cargo
//! feature `cluster`; docs/scale.md).
//!
//! The driver (this process) reads each source exactly as a local build does (`ingest`: the
//! same parsing, types, invalid values and row accounting), writes the typed rows as Parquet
//! into a staging directory, and runs the same plans (fused, a KPI's own, row accounting)
//! on the cluster with that directory as the table: the executors read the Parquet and
//! aggregate, the driver collects the few result rows. yardstick's own functions travel
//! inside the plans (`codec`); the scheduler and executors are this binary (`serve`).
//! Data checks run on the driver, over the rows it read.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::{SessionConfig, SessionContext};
use datafusion::parquet::arrow::ArrowWriter;

use super::engine::Cluster;
use super::{Query, QueryResult, execute, period, shared_scan};
use crate::config::Format;
use crate::diagnostics::Diagnostic;
use crate::ingest::{self, SourceStats};

pub mod codec;
pub mod serve;

/// A build's connection to a cluster: the sessions its queries run in (the row accounting
/// in its own, as locally) and the staging directory of its sources.
pub struct Remote {
    query: SessionContext,
    accounting: SessionContext,
    staging: Staging,
    partitions: usize,
}

/// How long the driver waits for the scheduler to answer before the build fails.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn unreachable(cluster: &Cluster, why: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error("YS0402", format!("cannot reach the Ballista scheduler at {}: {why}", cluster.scheduler))
        .help("start one with `yardstick cluster scheduler` and at least one `yardstick cluster executor` (docs/scale.md), or build without `--engine`")
}

impl Remote {
    /// Check that the scheduler answers and set up the sessions and the staging directory.
    pub async fn connect(cluster: &Cluster, partitions: usize) -> Result<Remote, Diagnostic> {
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&cluster.scheduler)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(unreachable(cluster, e)),
            Err(_) => return Err(unreachable(cluster, format!("no answer in {} s", CONNECT_TIMEOUT.as_secs()))),
        }
        let query = remote_session(cluster, partitions, false).await?;
        let accounting = remote_session(cluster, partitions, true).await?;
        let staging = Staging::new(cluster.staging.as_deref())?;
        Ok(Remote { query, accounting, staging, partitions })
    }

    /// Read one source on the driver (as a local build does), stage it, and run its queries
    /// on the cluster. `local` is the driver's own session (Parquet sources are read with it).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn read_and_query(
        &self,
        local: &SessionContext,
        id: &str,
        spec: &crate::config::SourceSpec,
        files: &[(PathBuf, String)],
        schema: SchemaRef,
        cache: Option<&ingest::cache::Cache>,
        queries: &[&Query<'_>],
        keep: bool,
    ) -> Result<(SourceStats, Vec<QueryResult>, Option<Vec<RecordBatch>>), Diagnostic> {
        let (batches, stats) = match spec.format() {
            // Read as a local build reads it (the cache of parsed files too), kept whole for
            // staging.
            Format::Csv => {
                let mut tee = ingest::stream::Tee::new(vec![], true);
                let stats = super::stream_csv(id, spec, schema.clone(), files.to_vec(), cache, &mut tee).await?;
                (tee.into_kept().unwrap_or_default(), stats)
            }
            Format::Parquet | Format::Postgres => {
                // The columns the queries read (and those that can be invalid, which
                // `load_parquet` always reads): the others are null, as when streaming.
                let mut needed = HashSet::new();
                for q in queries {
                    shared_scan::columns_read(q.plan(), &mut needed);
                }
                if keep {
                    needed.extend(spec.columns.keys().cloned());
                }
                let mut tee = ingest::stream::Tee::new(vec![], true);
                let stats = match spec.format() {
                    Format::Postgres => ingest::load_postgres(local, id, spec, &needed, &mut tee).await?,
                    _ => ingest::load_parquet(local, id, spec, files, &needed, &mut tee).await?,
                };
                (tee.into_kept().unwrap_or_default(), stats)
            }
        };
        let mut results = vec![];
        if !queries.is_empty() {
            crate::progress::report(|| format!("staging source `{id}` for the cluster"));
            let table = self.staging.write(id, schema, &batches, self.partitions)?;
            let session = |q: &Query| if matches!(q, Query::Accounting(_)) { &self.accounting } else { &self.query };
            crate::progress::report(|| format!("running the queries of source `{id}` on the cluster"));
            results = futures::future::join_all(queries.iter().map(|q| execute(session(q), q.plan(), table.clone()))).await;
        }
        Ok((stats, results, keep.then_some(batches)))
    }
}

/// A session whose plans run on the cluster, with the run's rewrites (as `super::session`).
async fn remote_session(cluster: &Cluster, partitions: usize, accounting: bool) -> Result<SessionContext, Diagnostic> {
    let config = SessionConfig::new_with_ballista()
        .with_target_partitions(partitions)
        .with_ballista_logical_extension_codec(Arc::new(codec::LogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(codec::PhysicalCodec::default()));
    let state = SessionStateBuilder::new().with_default_features().with_config(config).build();
    let ctx =
        SessionContext::remote_with_state(&format!("df://{}", cluster.scheduler), state).await.map_err(|e| unreachable(cluster, e))?;
    ctx.add_optimizer_rule(Arc::new(period::PeriodRule));
    if accounting {
        // As locally (see `super::run_async`): DataFusion 55's common-subexpression rule
        // breaks the accounting query. The scheduler's sessions go without it too (`serve`).
        ctx.remove_optimizer_rule(serve::BROKEN_RULE);
    }
    Ok(ctx)
}

/// The directory a build stages its sources in, removed when the build ends.
struct Staging {
    dir: PathBuf,
}

impl Staging {
    fn new(base: Option<&Path>) -> Result<Staging, Diagnostic> {
        let base = base.map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
        let failed = |e: std::io::Error| {
            Diagnostic::error("YS0402", format!("cannot make a staging directory in {}: {e}", base.display()))
                .help("pass `--staging-dir` a directory this process can write and every executor can read (docs/scale.md)")
        };
        let base = std::path::absolute(&base).map_err(failed)?;
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let dir = base.join(format!("yardstick-staging-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(failed)?;
        Ok(Staging { dir })
    }

    /// Write a source's rows as Parquet files (`partitions` of them, batches dealt round
    /// robin as a local build spreads them over its partitions) and return a table over
    /// them with the declared schema.
    fn write(&self, id: &str, schema: SchemaRef, batches: &[RecordBatch], partitions: usize) -> Result<Arc<dyn TableProvider>, Diagnostic> {
        let fail = |what: String| {
            Diagnostic::error("YS0402", format!("cannot stage source `{id}` for the cluster: {what}"))
                .help("the staging directory must be writable here and readable by every executor (`--staging-dir`, docs/scale.md)")
        };
        // One directory per source; source ids are names, but the index keeps paths plain.
        let n = std::fs::read_dir(&self.dir).map(|d| d.count()).unwrap_or(0);
        let dir = self.dir.join(format!("source-{n}"));
        std::fs::create_dir_all(&dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
        let files = partitions.clamp(1, batches.len().max(1));
        for f in 0..files {
            let path = dir.join(format!("part-{f}.parquet"));
            let file = std::fs::File::create(&path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
            let mut writer = ArrowWriter::try_new(file, schema.clone(), None).map_err(|e| fail(e.to_string()))?;
            for batch in batches.iter().skip(f).step_by(files) {
                writer.write(batch).map_err(|e| fail(e.to_string()))?;
            }
            writer.close().map_err(|e| fail(e.to_string()))?;
        }
        let url = ListingTableUrl::parse(format!("{}/", dir.display())).map_err(|e| fail(e.to_string()))?;
        let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new(url).with_listing_options(options).with_schema(schema);
        Ok(Arc::new(ListingTable::try_new(config).map_err(|e| fail(e.to_string()))?))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
