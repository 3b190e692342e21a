//! The `yardstick` command line. All logic lives in the library; this file maps
//! subcommands to pipeline calls and results to exit codes (0 ok, 1 errors, 2 usage).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use yardstick::diagnostics::escape_text;

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

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
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
    },
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
    },
    /// Print the compiled query of a KPI as SQL.
    #[command(
        after_help = "Examples:\n  yardstick sql answered_10s                  KPI of the project in the current directory\n  yardstick sql examples/city answered_10s\n\nThe SQL is generated from the DataFusion plan yardstick runs, for reading and auditing."
    )]
    #[command(override_usage = "yardstick sql [DIR] <KPI>\n       yardstick sql [DIR] --fused")]
    Sql {
        /// `[DIR] KPI`: the project directory (default `.`) and the KPI's id.
        #[arg(num_args = 0..=2, value_names = ["DIR", "KPI"])]
        args: Vec<String>,
        /// Print the queries that run: one per source, grain and `by`, each computing several
        /// KPIs (a KPI's own query is what `sql <KPI>` prints).
        #[arg(long)]
        fused: bool,
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
    let cli = Cli::parse();
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let fail = |f: yardstick::Failure| {
        err(&f.render(color));
        ExitCode::from(1)
    };
    match cli.command {
        Command::Build { dir, out: out_dir, as_of, strict, allow_empty, allow_outside, no_fuse } => {
            let options = yardstick::Options { as_of, deny_warnings: strict, allow_empty, allow_outside, unfused: no_fuse };
            match yardstick::build_with(&dir, out_dir.as_deref(), options) {
                Ok(built) => {
                    err(&built.compiled.render_warnings(color));
                    let rows: usize = built.results.kpis.iter().map(|k| k.rows.len()).sum();
                    let mut text = format!("built {} KPIs ({} values)\n", built.results.kpis.len(), rows);
                    for w in built.written {
                        text.push_str(&format!("wrote {}\n", escape_text(&w.display().to_string())));
                    }
                    out(&text);
                    ExitCode::SUCCESS
                }
                Err(f) => {
                    let only_warnings = !f.diagnostics.has_errors();
                    let code = fail(f);
                    if strict && only_warnings {
                        err("(--strict: warnings fail the build, nothing was written)\n");
                    }
                    code
                }
            }
        }
        Command::Check { dir, deny_warnings, allow_outside } => {
            match yardstick::compile_with(&dir, yardstick::Options { allow_outside, ..Default::default() }) {
                Ok(c) => {
                    err(&c.render_warnings(color));
                    if deny_warnings && !c.warnings.is_empty() {
                        err("(--deny-warnings: warnings fail the check)\n");
                        return ExitCode::from(1);
                    }
                    out(&format!("ok: {} goals, {} KPIs, {} sources\n", c.model.goals.len(), c.model.kpis.len(), c.model.sources.len()));
                    ExitCode::SUCCESS
                }
                Err(f) => fail(f),
            }
        }
        Command::Fmt { check, paths } => emit(yardstick::fmt::run(&paths, check, color)),
        Command::Init { dir } => emit(yardstick::init::run(&dir, color)),
        Command::List { dir, format, allow_outside } => {
            emit(yardstick::list::run(&dir, matches!(format, ListFormat::Json), allow_outside, color))
        }
        Command::Explain { args, allow_outside } => emit(yardstick::explain::run(&args, allow_outside, color)),
        Command::Sql { args, fused, allow_outside } => {
            let options = yardstick::Options { allow_outside, ..Default::default() };
            if fused {
                let dir = PathBuf::from(args.first().map(String::as_str).unwrap_or("."));
                return match yardstick::compile_with(&dir, options) {
                    Ok(c) => {
                        out(&escape_text(&c.fused_sql()));
                        ExitCode::SUCCESS
                    }
                    Err(f) => fail(f),
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
                        err(&escape_text(&format!("error: no KPI `{kpi}` in {}\n  help: {help}\n", dir.display())));
                        ExitCode::from(1)
                    }
                },
                Err(f) => fail(f),
            }
        }
    }
}
