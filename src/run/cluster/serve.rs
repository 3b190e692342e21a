//! `yardstick cluster scheduler` and `yardstick cluster executor`: a Ballista scheduler and
//! executor from this binary, with yardstick's functions registered and its codecs, so a
//! cluster for yardstick is this one program (docs/scale.md).

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::{FunctionRegistry, SessionState, SessionStateBuilder};
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionConfig;

use super::codec::{LogicalCodec, PhysicalCodec};
use crate::functions::{PercentileMethod, percentile_udaf};
use crate::run::period;

/// DataFusion 55's common-subexpression rule breaks the row-accounting query ("Physical
/// input schema should be the same"): the scheduler plans without it (it only saves
/// evaluating cheap conditions twice; no value changes).
pub const BROKEN_RULE: &str = "common_sub_expression_eliminate";

/// What a scheduler is started with.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Where it listens (`host:port`).
    pub bind: SocketAddr,
    /// The host name executors and drivers reach it by, if not the bound address.
    pub external_host: Option<String>,
}

/// What an executor is started with.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler, `host:port`.
    pub scheduler: String,
    /// The address it binds (its Flight port serves results and shuffles).
    pub bind_host: String,
    /// Its Arrow Flight port.
    pub port: u16,
    /// Its gRPC port.
    pub grpc_port: u16,
    /// The host name the others reach it by, if not the bound address.
    pub external_host: Option<String>,
    /// Where it writes shuffle files (default: a temporary directory).
    pub work_dir: Option<String>,
    /// How many tasks it runs at once (default: its cores).
    pub concurrent_tasks: Option<usize>,
}

/// yardstick's functions that need no project setting, for the nodes' registries (plans carry
/// them anyway, `codec`; `business_days_between` is left out: it needs the calendar, which
/// only the plan has).
fn functions() -> (Vec<Arc<ScalarUDF>>, Vec<Arc<AggregateUDF>>) {
    let aggregate = [PercentileMethod::Interpolated, PercentileMethod::NearestRank].into_iter().map(percentile_udaf).collect();
    (period::period_udfs(), aggregate)
}

/// The scheduler's sessions: Ballista's, with yardstick's run-time rewrite and functions,
/// without the rule that breaks the accounting query.
fn session_builder(config: SessionConfig) -> datafusion::common::Result<SessionState> {
    let state = ballista_core::utils::default_session_builder(config)?;
    let mut rules: Vec<_> = state.optimizers().iter().filter(|r| r.name() != BROKEN_RULE).cloned().collect();
    rules.push(Arc::new(period::PeriodRule));
    let mut state = SessionStateBuilder::new_from_existing(state).with_optimizer_rules(rules).build();
    let (scalar, aggregate) = functions();
    for udf in scalar {
        state.register_udf(udf)?;
    }
    for udaf in aggregate {
        state.register_udaf(udaf)?;
    }
    Ok(state)
}

/// Run a scheduler until the process is stopped.
pub fn scheduler(options: SchedulerOptions) -> Result<(), String> {
    let runtime = runtime()?;
    runtime.block_on(async move {
        let mut config = SchedulerConfig::default()
            .with_hostname(options.external_host.clone().unwrap_or_else(|| options.bind.ip().to_string()))
            .with_port(options.bind.port())
            .with_override_session_builder(Arc::new(session_builder));
        config.bind_host = options.bind.ip().to_string();
        config.override_logical_codec = Some(Arc::new(LogicalCodec::default()));
        config.override_physical_codec = Some(Arc::new(PhysicalCodec::default()));
        let cluster = BallistaCluster::new_from_config(&config).await.map_err(|e| e.to_string())?;
        eprintln!("yardstick cluster scheduler listening on {}", options.bind);
        start_server(cluster, options.bind, Arc::new(config)).await.map_err(|e| e.to_string())
    })
}

/// Run an executor until the process is stopped.
pub fn executor(options: ExecutorOptions) -> Result<(), String> {
    let (scheduler_host, scheduler_port) = options
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| format!("`{}` is not a scheduler address: write HOST:PORT", options.scheduler))?;
    let mut registry = BallistaFunctionRegistry::default();
    let (scalar, aggregate) = functions();
    registry.scalar_functions.extend(scalar.into_iter().map(|f| (f.name().to_string(), f)));
    registry.aggregate_functions.extend(aggregate.into_iter().map(|f| (f.name().to_string(), f)));
    let mut config = ExecutorProcessConfig {
        bind_host: options.bind_host.clone(),
        external_host: options.external_host.clone(),
        port: options.port,
        grpc_port: options.grpc_port,
        scheduler_host,
        scheduler_port,
        work_dir: options.work_dir.clone(),
        override_function_registry: Some(Arc::new(registry)),
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        ..Default::default()
    };
    if let Some(n) = options.concurrent_tasks {
        config.vcores = n.max(1);
    }
    let runtime = runtime()?;
    runtime.block_on(async move {
        eprintln!(
            "yardstick cluster executor on {}:{} (gRPC {}), scheduler {}",
            options.bind_host, options.port, options.grpc_port, options.scheduler
        );
        start_executor_process(Arc::new(config)).await.map_err(|e| e.to_string())
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Ballista's own binaries use deep stacks for planning large plans.
        .thread_stack_size(32 * 1024 * 1024)
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}
