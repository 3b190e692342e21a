//! The `yardstick` command line. All logic lives in the library; this file maps
//! subcommands to pipeline calls and results to exit codes (0 ok, 1 errors, 2 usage).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use yardstick::console::{Color, Console, FailOn};
use yardstick::diagnostics::escape_text;
use yardstick::diagnostics::render::Format;

#[derive(Parser)]
#[command(
    name = "yardstick",
    version,
    about = "Metrics as code: goals, objectives and KPIs in plain text, checked, computed and published as a static report",
    after_help = "Examples:\n  yardstick build examples/city          write examples/city/out/index.html and results.json\n  yardstick check examples/city          check definitions without reading data\n  yardstick sql examples/city answered_10s   show the query behind a KPI\n\nDocs: docs/cli.md, docs/language.md"
)]
struct Cli {
    /// Colour in error messages.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check, run every KPI on the data, and write the report (index.html, results.json).
    #[command(
        after_help = "Examples:\n  yardstick build                     build the project in the current directory\n  yardstick build examples/city\n  yardstick build . --out public/     write the report somewhere else\n  yardstick build --as-of 2024-06-30  the report as it was on that day\n\nExit status: 0 built, 1 errors in definitions or data, 2 usage error."
    )]
    Build {
        /// Project directory (holds yardstick.yaml).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Output directory (default: the project's `output`, usually DIR/out).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Build as of this day (YYYY-MM-DD): rows dated later are ignored and periods run
        /// up to it, so a past report can be regenerated exactly.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        as_of: Option<chrono::NaiveDate>,
        /// Fail (exit 1, nothing written) when there is any warning: for CI.
        #[arg(long, visible_alias = "deny-warnings")]
        strict: bool,
        /// Build even when the project defines no KPI (an empty report).
        #[arg(long)]
        allow_empty: bool,
        /// Let yardstick.yaml name files and directories outside the project directory.
        #[arg(long)]
        allow_outside: bool,
        /// Run each KPI's own query instead of one query per source, grain and `by` (same
        /// values; for comparing and debugging).
        #[arg(long)]
        no_fuse: bool,
        #[command(flatten)]
        reading: ReadingFlags,
        /// Write the report as one file (index.html, with results.json and results.csv),
        /// without the pages per KPI, goal and owner and the sources page.
        #[arg(long)]
        single_file: bool,
        /// After writing the report, exit 1 if any of these is found (repeatable or
        /// comma-separated): off_track, near_target (KPIs' headline statuses), warnings,
        /// check_failures (data checks with status `fail`, docs/checks.md).
        #[arg(long, value_enum, value_delimiter = ',', value_name = "WHAT")]
        fail_on: Vec<FailOn>,
        /// Output: human (default), json (one document on stdout), github (annotations).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Show progress (sources read, rows) even when not on a terminal or in CI.
        #[arg(long, short)]
        verbose: bool,
        /// Who the report is for: public (default: internal KPIs, objectives and breakdowns
        /// left out, small cells suppressed) or internal (everything; docs/privacy.md).
        #[arg(long, value_enum, default_value_t = AudienceArg::Public)]
        audience: AudienceArg,
        /// Where the queries run: `local` (default, this process) or `ballista://HOST:PORT`,
        /// an Apache Ballista cluster's scheduler (a binary built with `--features cluster`;
        /// docs/scale.md). The values are the same.
        #[arg(long, value_name = "ENGINE", default_value = "local", value_parser = parse_engine)]
        engine: EngineArg,
        /// With `--engine ballista://...`: where the sources' rows are staged as Parquet for
        /// the executors (default: the temporary directory; on a cluster of several
        /// machines, storage every executor reads at the same path).
        #[arg(long, value_name = "DIR")]
        staging_dir: Option<PathBuf>,
    },
    /// Run a node of a Ballista cluster for `build --engine` (binaries built with
    /// `--features cluster`; docs/scale.md).
    #[cfg_attr(not(feature = "cluster"), command(hide = true))]
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Check all definitions statically; reads no data.
    #[command(
        after_help = "Examples:\n  yardstick check\n  yardstick check examples/city\n\nExit status: 0 clean, 1 errors found, 2 usage error."
    )]
    Check {
        /// Project directory (holds yardstick.yaml).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Exit 1 when there is any warning.
        #[arg(long)]
        deny_warnings: bool,
        /// Let yardstick.yaml name files and directories outside the project directory.
        #[arg(long)]
        allow_outside: bool,
        /// Output: human (default), json (one document on stdout), github (annotations).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Run the data checks (`check <source> { ... }`, docs/checks.md) on the data, without
    /// computing KPIs or writing a report.
    #[command(
        after_help = "Examples:\n  yardstick test\n  yardstick test examples/city --as-of 2024-06-30   `fresh` checks measure from that day\n  yardstick test --format github\n\nExit status: 0 no check failed (warnings allowed), 1 a check failed or errors in definitions or data, 2 usage error."
    )]
    Test {
        /// Project directory (holds yardstick.yaml).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The day `fresh` checks measure from (YYYY-MM-DD); without it they are skipped.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        as_of: Option<chrono::NaiveDate>,
        /// Let yardstick.yaml name files and directories outside the project directory.
        #[arg(long)]
        allow_outside: bool,
        #[command(flatten)]
        reading: ReadingFlags,
        /// Output: human (default), json (one document on stdout), github (annotations).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Compare the project at a git revision with the working tree: KPIs added, removed,
    /// renamed and changed, in words, with the diffs of definitions and SQL.
    #[command(
        after_help = "Examples:\n  yardstick diff main                      this directory's project against main\n  yardstick diff HEAD~1 examples/city --values\n  yardstick diff origin/main --values --format markdown > comment.md\n\nReads the revision from git objects: no checkout, nothing in the working tree changes.\nExit status: 0 compared, 1 a side does not check or build, 2 not a git repository or no such revision."
    )]
    Diff {
        /// The revision to compare with: a branch, tag or commit (`main`, `HEAD~1`).
        rev: String,
        /// Project directory (holds yardstick.yaml).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Build both sides on today's data and compare each changed KPI's values and status.
        #[arg(long)]
        values: bool,
        /// Output: text (default) or markdown (a pull-request comment).
        #[arg(long, value_enum, default_value_t = yardstick::diff::render::DiffFormat::Text)]
        format: yardstick::diff::render::DiffFormat,
        /// Let yardstick.yaml name files and directories outside the project directory.
        #[arg(long)]
        allow_outside: bool,
        /// public (default: internal KPIs and breakdowns left out, values suppressed as in
        /// a public report) or internal (docs/privacy.md).
        #[arg(long, value_enum, default_value_t = AudienceArg::Public)]
        audience: AudienceArg,
    },
    /// Print the compiled query of a KPI as SQL.
    #[command(
        after_help = "Examples:\n  yardstick sql answered_10s                  KPI of the project in the current directory\n  yardstick sql examples/city answered_10s\n  yardstick sql examples/city --dialect postgres answered_10s\n  yardstick sql examples/city --dialect duckdb --all --out warehouse/\n\nThe SQL is generated from the DataFusion plan yardstick runs, for reading and auditing; with --dialect, for running on that engine (docs/scale.md)."
    )]
    #[command(
        override_usage = "yardstick sql [DIR] <KPI>\n       yardstick sql [DIR] --fused\n       yardstick sql [DIR] --dialect <DIALECT> <KPI>\n       yardstick sql [DIR] --dialect <DIALECT> --all [--out <OUT>]"
    )]
    Sql {
        /// `[DIR] KPI`: the project directory (default `.`) and the KPI's id.
        #[arg(num_args = 0..=2, value_names = ["DIR", "KPI"])]
        args: Vec<String>,
        /// Print the queries that run: one per source, grain and `by`, each computing several
        /// KPIs (a KPI's own query is what `sql <KPI>` prints).
        #[arg(long)]
        fused: bool,
        /// Write SQL that runs unchanged on this engine (docs/scale.md, "Warehouses"): a
        /// comment header, then the KPI's query; a KPI the engine cannot compute exactly is
        /// an error (YS0420, exit 1).
        #[arg(long, value_enum, conflicts_with = "fused")]
        dialect: Option<yardstick::plan::dialect::Dialect>,
        /// Every KPI (with --dialect): printed one after another, or with --out written as
        /// `<kpi>.sql` files; the KPIs that cannot be exported are listed and exit 1.
        #[arg(long, requires = "dialect")]
        all: bool,
        /// With --all: the directory to write the `<kpi>.sql` files into (created if missing).
        #[arg(long, requires = "all")]
        out: Option<PathBuf>,
        /// Let yardstick.yaml name files and directories outside the project directory.
        #[arg(long)]
        allow_outside: bool,
    },
    /// Rewrite .kpi files in the one canonical layout, keeping every comment.
    #[command(
        after_help = "Examples:\n  yardstick fmt                    format every .kpi file below the current directory\n  yardstick fmt metrics/safety.kpi\n  yardstick fmt --check .          list the files that are not formatted (for CI)\n\nExit status: 0 formatted (or, with --check, nothing to change), 1 files to format or syntax errors, 2 usage error."
    )]
    Fmt {
        /// Change nothing: list the files whose layout differs and exit 1 if there are any.
        #[arg(long)]
        check: bool,
        /// .kpi files, or directories to search for them.
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
    },
    /// Create a starter project (yardstick.yaml, a goal with two KPIs, a CSV, a CI workflow).
    #[command(
        after_help = "Examples:\n  yardstick init metrics-project\n  yardstick init            in the current directory, if it is empty"
    )]
    Init {
        /// Where to create it: a new or empty directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// List goals, objectives and KPIs with their owners, targets and sources; reads no data.
    #[command(after_help = "Examples:\n  yardstick list examples/city\n  yardstick list --format json     the schema is in docs/cli.md")]
    List {
        /// Project directory (holds yardstick.yaml).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// `human` (an indented outline) or `json`.
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
        /// Let yardstick.yaml name files and directories outside the project directory.
        #[arg(long)]
        allow_outside: bool,
    },
    /// Explain a KPI (in words, where its numbers come from, its SQL) or an error code.
    #[command(
        after_help = "Examples:\n  yardstick explain answered_10s\n  yardstick explain examples/city answered_10s\n  yardstick explain YS0201         the documentation of an error code"
    )]
    #[command(override_usage = "yardstick explain [DIR] <KPI>\n       yardstick explain <CODE>")]
    Explain {
        /// `[DIR] KPI` or an error code such as `YS0201`.
        #[arg(num_args = 1..=2, required = true, value_names = ["DIR", "KPI"])]
        args: Vec<String>,
        /// Let yardstick.yaml name files and directories outside the project directory.
        #[arg(long)]
        allow_outside: bool,
    },
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Start a scheduler: builds connect to it with `--engine ballista://HOST:PORT`.
    #[command(
        after_help = "Examples:\n  yardstick cluster scheduler                       on 127.0.0.1:50050\n  yardstick cluster scheduler --bind 0.0.0.0:50050  reachable from other machines (no authentication: a trusted network only)"
    )]
    Scheduler {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: std::net::SocketAddr,
        /// The host name the executors and builds reach this scheduler by (default: the bound address).
        #[arg(long, value_name = "HOST")]
        external_host: Option<String>,
    },
    /// Start an executor that runs the scheduler's tasks.
    #[command(
        after_help = "Examples:\n  yardstick cluster executor --scheduler 127.0.0.1:50050\n  yardstick cluster executor --scheduler 127.0.0.1:50050 --port 50061 --grpc-port 50062   a second one on the same machine"
    )]
    Executor {
        /// The scheduler, HOST:PORT.
        #[arg(long, value_name = "HOST:PORT")]
        scheduler: String,
        /// Address to bind.
        #[arg(long, value_name = "HOST", default_value = "127.0.0.1")]
        bind: String,
        /// Arrow Flight port (results and shuffles are fetched from it).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// gRPC port.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// The host name the scheduler and builds reach this executor by (default: the bound address).
        #[arg(long, value_name = "HOST")]
        external_host: Option<String>,
        /// Where shuffle files go (default: a temporary directory).
        #[arg(long, value_name = "DIR")]
        work_dir: Option<String>,
        /// Tasks run at once (default: the machine's cores).
        #[arg(long, value_name = "N")]
        concurrent_tasks: Option<usize>,
    },
}

#[cfg(feature = "cluster")]
fn cluster(command: ClusterCommand) -> ExitCode {
    use yardstick::run::cluster::serve;
    let done = match command {
        ClusterCommand::Scheduler { bind, external_host } => serve::scheduler(serve::SchedulerOptions { bind, external_host }),
        ClusterCommand::Executor { scheduler, bind, port, grpc_port, external_host, work_dir, concurrent_tasks } => {
            serve::executor(serve::ExecutorOptions {
                scheduler,
                bind_host: bind,
                port,
                grpc_port,
                external_host,
                work_dir,
                concurrent_tasks,
            })
        }
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            err(&format!("error: {}\n", escape_text(&e)));
            ExitCode::from(1)
        }
    }
}

#[cfg(not(feature = "cluster"))]
fn cluster(_: ClusterCommand) -> ExitCode {
    err("error: this yardstick was built without cluster support; build it with `cargo build --features cluster` (docs/scale.md)\n");
    ExitCode::from(2)
}

#[derive(Clone, Copy, ValueEnum)]
enum AudienceArg {
    Public,
    Internal,
}

impl From<AudienceArg> for yardstick::privacy::Audience {
    fn from(a: AudienceArg) -> Self {
        match a {
            AudienceArg::Public => yardstick::privacy::Audience::Public,
            AudienceArg::Internal => yardstick::privacy::Audience::Internal,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Human,
    Json,
}

/// Print what a library command produced and exit with its status.
fn emit(o: yardstick::CommandOutput) -> ExitCode {
    out(&o.stdout);
    err(&o.stderr);
    ExitCode::from(o.status)
}

/// `--engine`: the scheduler of a cluster, or none for this process.
#[derive(Clone)]
struct EngineArg(Option<String>);

fn parse_engine(s: &str) -> Result<EngineArg, String> {
    yardstick::run::engine::parse_engine(s).map(EngineArg)
}

fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("`{s}` is not a date: write YYYY-MM-DD, e.g. 2024-06-30"))
}

/// Print to stdout. A closed stdout (`yardstick check | head -1`) is not an error: the output
/// is simply not wanted any more, so writing stops quietly and the exit code stays the same.
fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

/// Print to stderr, likewise never failing on a closed stream.
fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes()).and_then(|()| stderr.flush());
}

fn main() -> ExitCode {
    // A panic is a bug in yardstick: exit 2 (usage or internal error), not 101.
    std::panic::catch_unwind(run).unwrap_or_else(|_| {
        err("internal error: yardstick panicked (a bug: please report it with the command and the files)\n");
        ExitCode::from(2)
    })
}

fn print(p: yardstick::console::Printed) -> ExitCode {
    err(&p.stderr);
    out(&p.stdout);
    err(&p.stderr_after);
    ExitCode::from(p.status)
}

fn run() -> ExitCode {
    let cli = Cli::parse();
    let console = Console { color: cli.color, ..Console::default() };
    let fail = |f: yardstick::Failure, dir: &std::path::Path| {
        err(&yardstick::console::render_failure(&f, dir, &console));
        ExitCode::from(1)
    };
    let color = console.colored();
    match cli.command {
        Command::Build {
            dir,
            out: out_dir,
            as_of,
            strict,
            allow_empty,
            allow_outside,
            no_fuse,
            reading,
            single_file,
            fail_on,
            format,
            verbose,
            audience,
            engine,
            staging_dir,
        } => {
            let engine = match (engine.0, staging_dir) {
                (Some(scheduler), staging) => yardstick::run::Engine::ballista(scheduler, staging),
                (None, None) => yardstick::run::Engine::Local,
                (None, Some(_)) => {
                    err("error: `--staging-dir` is for builds on a cluster: pass `--engine ballista://HOST:PORT` too (docs/scale.md)\n");
                    return ExitCode::from(2);
                }
            };
            let options = yardstick::Options {
                engine,
                as_of,
                deny_warnings: strict,
                allow_empty,
                allow_outside,
                unfused: no_fuse,
                audience: audience.into(),
                single_file,
                no_cache: reading.no_cache,
                memory: reading.memory(),
            };
            print(yardstick::console::build(&dir, out_dir.as_deref(), options, &fail_on, &Console { format, verbose, ..console }))
        }
        Command::Check { dir, deny_warnings, allow_outside, format } => {
            let options = yardstick::Options { allow_outside, ..Default::default() };
            print(yardstick::console::check(&dir, options, deny_warnings, &Console { format, ..console }))
        }
        Command::Test { dir, as_of, allow_outside, reading, format } => {
            let options =
                yardstick::Options { as_of, allow_outside, no_cache: reading.no_cache, memory: reading.memory(), ..Default::default() };
            print(yardstick::console::test(&dir, options, &Console { format, ..console }))
        }
        Command::Diff { rev, dir, values, format, allow_outside, audience } => {
            let options = yardstick::Options { allow_outside, audience: audience.into(), ..Default::default() };
            let opts = yardstick::diff::DiffOptions { values, options };
            print(yardstick::console::diff(&rev, &dir, opts, format, &console))
        }
        Command::Cluster(command) => cluster(command),
        Command::Fmt { check, paths } => emit(yardstick::fmt::run(&paths, check, color)),
        Command::Init { dir } => emit(yardstick::init::run(&dir, color)),
        Command::List { dir, format, allow_outside } => {
            emit(yardstick::list::run(&dir, matches!(format, ListFormat::Json), allow_outside, color))
        }
        Command::Explain { args, allow_outside } => emit(yardstick::explain::run(&args, allow_outside, color)),
        Command::Sql { args, fused, dialect, all, out: out_dir, allow_outside } => {
            let options = yardstick::Options { allow_outside, ..Default::default() };
            if let (Some(dialect), true) = (dialect, all) {
                if args.len() > 1 {
                    err("error: `--all` exports every KPI: give only the project directory\n");
                    return ExitCode::from(2);
                }
                let dir = PathBuf::from(args.first().map(String::as_str).unwrap_or("."));
                let what = yardstick::warehouse::Export::All { out: out_dir.as_deref() };
                return emit(yardstick::warehouse::run(&dir, what, dialect, options, color));
            }
            if fused {
                let dir = PathBuf::from(args.first().map(String::as_str).unwrap_or("."));
                return match yardstick::compile_with(&dir, options) {
                    Ok(c) => {
                        out(&escape_text(&c.fused_sql()));
                        ExitCode::SUCCESS
                    }
                    Err(f) => fail(f, &dir),
                };
            }
            let (dir, kpi) = match args.as_slice() {
                // One argument that is a project directory: the KPI was forgotten.
                [dir] if std::path::Path::new(dir).join("yardstick.yaml").is_file() => {
                    let list = yardstick::compile_with(std::path::Path::new(dir), options)
                        .map(|c| c.model.kpis.iter().map(|k| format!("  {}", k.id)).collect::<Vec<_>>().join("\n"))
                        .unwrap_or_default();
                    err(&escape_text(&format!("error: which KPI? `yardstick sql {dir} <KPI>`; the KPIs are:\n{list}\n")));
                    return ExitCode::from(2);
                }
                [kpi] => (PathBuf::from("."), kpi.clone()),
                [dir, kpi] => (PathBuf::from(dir), kpi.clone()),
                _ => {
                    err("error: which KPI? `yardstick sql [DIR] <KPI>` (or `--fused` for the queries that run)\n");
                    return ExitCode::from(2);
                }
            };
            if let Some(dialect) = dialect {
                return emit(yardstick::warehouse::run(&dir, yardstick::warehouse::Export::Kpi(&kpi), dialect, options, color));
            }
            match yardstick::compile_with(&dir, options) {
                Ok(c) => match (c.sql().get(&kpi), c.model.kpi(&kpi).and_then(|k| k.derived.as_ref())) {
                    (Some(sql), _) => {
                        out(&format!("{}\n", escape_text(sql)));
                        ExitCode::SUCCESS
                    }
                    (None, Some(derived)) => {
                        let mut inputs = vec![];
                        derived.inputs(&mut inputs);
                        out(&format!(
                            "-- `{}` is derived: computed from the values of {} per period, without a query of its own\n",
                            escape_text(&kpi),
                            inputs.join(", ")
                        ));
                        ExitCode::SUCCESS
                    }
                    (None, None) => {
                        let help = yardstick::diagnostics::suggest("KPI", &kpi, c.model.kpis.iter().map(|k| k.id.as_str()));
                        let d =
                            yardstick::diagnostics::Diagnostic::error("YS0006", format!("no KPI `{kpi}` in {}", dir.display())).help(help);
                        err(&yardstick::diagnostics::Diagnostics::one(d).render(&Default::default(), color));
                        ExitCode::from(1)
                    }
                },
                Err(f) => fail(f, &dir),
            }
        }
    }
}

fn parse_memory_limit(s: &str) -> Result<u64, String> {
    yardstick::run::memory::parse_size(s)
}

/// `--memory-limit` and `--spill-dir` for the build. The spill directory lives as long as
/// the process (the build options are plain values, copied between stages).
/// How `build` and `test` read the data: the cache of parsed CSV and the memory bound.
#[derive(clap::Args)]
struct ReadingFlags {
    /// Parse every CSV file again, neither reading nor writing the cache of parsed files
    /// (`.yardstick/cache` in the project; docs/configuration.md).
    #[arg(long)]
    no_cache: bool,
    /// Bound the memory the queries use (e.g. `1GiB`, `512MiB`): aggregations spill to
    /// disk beyond it, and what cannot spill stops the build with YS0403, writing nothing.
    #[arg(long, value_name = "SIZE", value_parser = parse_memory_limit)]
    memory_limit: Option<u64>,
    /// Where spilled data goes (default: the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    spill_dir: Option<PathBuf>,
}

impl ReadingFlags {
    fn memory(self) -> yardstick::run::memory::Memory {
        let spill_dir = self.spill_dir.map(|d| &*Box::leak(d.into_boxed_path()));
        yardstick::run::memory::Memory { limit: self.memory_limit, spill_dir }
    }
}
