//! yardstick: goals, objectives and KPIs as plain text, checked statically, computed with
//! DataFusion and published as a static report. See ARCHITECTURE.md for the stages.
//!
//! The whole pipeline:
//!
//! ```text
//! project::load_project  dir        -> SourceMap (yardstick.yaml + *.kpi texts)
//! config::load_config    yaml text  -> Config
//! parse::parse_file      .kpi text  -> ast::File
//! check::check           Config+AST -> model::Model      (no IO)
//! plan::plan             Model      -> Vec<KpiPlan>      (no IO)
//! run::run               plans      -> RunOutput         (reads data)
//! series::finish         rows       -> final rows        (derived, fill, targets, comparisons)
//! spc::analyse           final rows -> XmR charts, events' effects, benchmarks
//! results::assemble      all above  -> Results
//! report::write_report   Results    -> index.html + pages + results.json + results.csv
//! ```

pub mod ast;
pub mod check;
pub mod config;
pub mod console;
pub mod diagnostics;
pub mod diff;
pub mod explain;
pub mod fmt;
pub mod functions;
pub mod git;
pub mod ingest;
pub mod init;
pub mod limits;
pub mod list;
pub mod model;
pub mod parse;
pub mod plan;
pub mod privacy;
pub mod progress;
pub mod project;
pub mod report;
pub mod results;
pub mod run;
pub mod series;
pub mod span;
pub mod spc;
pub mod warehouse;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diagnostics::Diagnostics;
use crate::span::SourceMap;

/// A failed stage: the diagnostics and the files they point into.
#[derive(Debug)]
pub struct Failure {
    pub sources: SourceMap,
    pub diagnostics: Diagnostics,
}

impl Failure {
    pub fn render(&self, color: bool) -> String {
        self.diagnostics.render(&self.sources, color)
    }
}

/// What a command prints and its exit status (0 ok, 1 findings or errors, 2 usage): the CLI
/// only writes it out.
#[derive(Debug, Default)]
pub struct CommandOutput {
    pub status: u8,
    pub stdout: String,
    pub stderr: String,
}

impl CommandOutput {
    pub fn ok(stdout: impl Into<String>) -> Self {
        CommandOutput { status: 0, stdout: stdout.into(), stderr: String::new() }
    }

    pub fn failed(f: &Failure, color: bool) -> Self {
        CommandOutput { status: 1, stdout: String::new(), stderr: f.render(color) }
    }
}

/// A project that passed every static check, with its plans.
#[derive(Debug)]
pub struct Compiled {
    pub dir: PathBuf,
    pub sources: SourceMap,
    pub config: config::Config,
    pub model: model::Model,
    pub plans: Vec<plan::KpiPlan>,
    /// The queries that run: KPIs of one source, grain and `by` fused into one (empty with
    /// `Options::unfused`); `plans` stay each KPI's own query, for `yardstick sql` and for
    /// the KPIs no fused query covers.
    pub fused: Vec<plan::FusedPlan>,
    /// One row-accounting query per source (where each row went, where the data ends).
    pub accounting: Vec<plan::AccountingPlan>,
    /// The data checks' queries, per source (docs/checks.md).
    pub checks: Vec<plan::data_checks::SourceChecks>,
    pub options: Options,
    /// Warnings so far: from `check`, then (after `evaluate`) from the run.
    pub warnings: Vec<diagnostics::Diagnostic>,
}

impl Compiled {
    /// The warnings rendered like errors, with the summary line (empty when none).
    pub fn render_warnings(&self, color: bool) -> String {
        if self.warnings.is_empty() { String::new() } else { Diagnostics(self.warnings.clone()).render(&self.sources, color) }
    }
}

impl Compiled {
    /// The fused queries as readable SQL, each headed by the KPIs it computes.
    pub fn fused_sql(&self) -> String {
        let mut out = String::new();
        for f in &self.fused {
            let sql = plan::to_sql(&f.plan).unwrap_or_else(|e| format!("-- cannot show as SQL: {e}"));
            out.push_str(&format!("-- source `{}`: KPIs {} (v<i>, n<i> in this order)\n{sql};\n\n", f.source, f.kpis.join(", ")));
        }
        let covered: std::collections::HashSet<&str> = self.fused.iter().flat_map(|f| f.kpis.iter().map(String::as_str)).collect();
        for p in self.plans.iter().filter(|p| !covered.contains(p.kpi.as_str())) {
            let sql = plan::to_sql(&p.plan).unwrap_or_else(|e| format!("-- cannot show as SQL: {e}"));
            out.push_str(&format!("-- `{}` on its own (a window copies rows into several periods)\n{sql};\n\n", p.kpi));
        }
        out
    }

    /// Readable SQL of every KPI's query, by KPI id.
    pub fn sql(&self) -> IndexMap<String, String> {
        self.plans
            .iter()
            .map(|p| {
                let sql = plan::to_sql(&p.plan).unwrap_or_else(|e| format!("-- cannot show as SQL: {e}"));
                // `measure change(m, lag)`: the query gives `m`; the change is worked out after it.
                let note = match self.model.kpi(&p.kpi).and_then(|k| k.change) {
                    Some((kind, lag)) => format!(
                        "-- the KPI's value is {}(value, {}), worked out per period from this query's value\n",
                        kind.name(),
                        lag.name()
                    ),
                    None => String::new(),
                };
                (p.kpi.clone(), note + &sql)
            })
            .collect()
    }
}

/// What a build may vary besides the project's files.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Options {
    /// Compute as if on this day: rows dated later are ignored, periods run up to it.
    pub as_of: Option<chrono::NaiveDate>,
    /// Fail on warnings (`--deny-warnings`, `build --strict`): nothing is written.
    pub deny_warnings: bool,
    /// Build even when the project defines no KPI (`build --allow-empty`).
    pub allow_empty: bool,
    /// Read and write outside the project directory (`--allow-outside`).
    pub allow_outside: bool,
    /// Run every KPI's own query instead of fused ones (`--no-fuse`: for comparing; the
    /// values are the same).
    pub unfused: bool,
    /// Who the build is for (`--audience`): public builds leave internal things out and
    /// suppress small cells (docs/privacy.md).
    pub audience: privacy::Audience,
    /// Write the report as one file, index.html, without its pages (`build --single-file`).
    pub single_file: bool,
    /// Parse every CSV file, neither reading nor writing the cache (`--no-cache`).
    pub no_cache: bool,
    /// Where the queries run (`build --engine`): this process, or a Ballista cluster
    /// (cargo feature `cluster`, docs/scale.md). The values are the same.
    pub engine: run::Engine,
    /// `--memory-limit` and `--spill-dir` (docs/cli.md).
    pub memory: run::memory::Memory,
}

/// Load, parse, check and plan a project. Reads only the project's text files, no data.
pub fn compile(dir: &Path) -> Result<Compiled, Failure> {
    compile_with(dir, Options::default())
}

/// [`compile`] with build options.
pub fn compile_with(dir: &Path, options: Options) -> Result<Compiled, Failure> {
    let mut sources = SourceMap::default();
    let files = match project::load_project(dir, &mut sources) {
        Ok(f) => f,
        Err(diagnostics) => return Err(Failure { sources, diagnostics }),
    };
    let mut errors = vec![];
    let config = match config::load_config(files.config, &sources.get(files.config).text) {
        Ok(mut c) => match project::load_holidays(dir, &mut c, files.config, &mut sources, options.allow_outside)
            .and_then(|()| project::load_annotations(dir, &mut c, files.config, &mut sources, options.allow_outside))
        {
            Ok(()) => Some(c),
            Err(d) => {
                errors.extend(d.0);
                None
            }
        },
        Err(d) => {
            errors.extend(d.0);
            None
        }
    };
    let mut asts = vec![];
    for id in &files.kpi_files {
        match parse::parse_file(*id, &sources.get(*id).text) {
            Ok(ast) => asts.push(ast),
            Err(d) => errors.extend(d.0),
        }
    }
    // Without a config there is nothing to resolve names against: report what we have.
    let Some(config) = config else {
        return Err(Failure { sources, diagnostics: Diagnostics(errors).sorted() });
    };
    let (mut model, mut warnings) = match check::check(&config, &asts) {
        Ok(m) if errors.is_empty() => m,
        // Files that did not parse are missing from the model: its warnings (no KPIs, ...)
        // would be about a project that is not the user's.
        Ok(_) => return Err(Failure { sources, diagnostics: Diagnostics(errors).sorted() }),
        Err(d) => {
            errors.extend(d.0);
            return Err(Failure { sources, diagnostics: Diagnostics(errors).sorted() });
        }
    };
    if options.audience == privacy::Audience::Public {
        let left_out = privacy::audience::public_model(&mut model);
        privacy::audience::public_warnings(&mut warnings, &left_out);
    }
    let plan_options = plan::PlanOptions { as_of: options.as_of };
    let planned = plan::plan(&model, plan_options).and_then(|p| {
        let fused = if options.unfused { vec![] } else { plan::fused_plans(&model, plan_options)? };
        Ok((p, fused, plan::accounting_plans(&model, plan_options)?, plan::data_checks::check_plans(&model, plan_options)?))
    });
    let (plans, fused, accounting, checks) = match planned {
        Ok(p) => p,
        Err(diagnostics) => return Err(Failure { sources, diagnostics }),
    };
    Ok(Compiled { dir: dir.to_path_buf(), sources, config, model, plans, fused, accounting, checks, options, warnings })
}

/// Compile, run on the data and assemble results (nothing written).
pub fn evaluate(dir: &Path) -> Result<(Compiled, results::Results), Failure> {
    evaluate_with(dir, Options::default())
}

/// [`evaluate`] with build options. In a git repository, the results say which commit
/// and files the definitions came from ([`results::Results::git`]).
pub fn evaluate_with(dir: &Path, options: Options) -> Result<(Compiled, results::Results), Failure> {
    let compiled = compile_with(dir, options)?;
    let (compiled, mut results) = evaluate_compiled(compiled)?;
    if let Some(lineage) = git::lineage(dir) {
        let definitions: Vec<&str> = compiled.sources.files().map(|(_, f)| f.name.as_str()).collect();
        results.attach_git(&lineage, &definitions);
    }
    Ok((compiled, results))
}

/// Run a compiled project on the data under `compiled.dir` (source paths are relative to
/// it) and assemble the results, without git lineage. `yardstick diff --values` compiles
/// the definitions of an older commit and runs them on today's data this way.
pub fn evaluate_compiled(mut compiled: Compiled) -> Result<(Compiled, results::Results), Failure> {
    let options = compiled.options;
    if compiled.model.kpis.is_empty() && !options.allow_empty {
        let diagnostics = Diagnostics::one(
            diagnostics::Diagnostic::error("YS0004", "nothing to build: the project defines no KPIs")
                .help("define KPIs in the project's .kpi files (docs/language.md), or pass `--allow-empty` to publish an empty report"),
        );
        return Err(Failure { sources: compiled.sources, diagnostics });
    }
    let public = options.audience == privacy::Audience::Public;
    // Public builds also count each cell's rows (hidden count KPIs, fused into the KPIs' own
    // queries) for small-cell suppression.
    let hidden = if public { privacy::counts::count_kpis(&compiled.model) } else { vec![] };
    let counted = if hidden.is_empty() {
        None
    } else {
        let mut m = compiled.model.clone();
        m.kpis.extend(hidden);
        let po = plan::PlanOptions { as_of: options.as_of };
        let planned = plan::plan(&m, po).and_then(|p| Ok((p, if options.unfused { vec![] } else { plan::fused_plans(&m, po)? })));
        match planned {
            Ok((p, f)) => Some((m, p, f)),
            Err(diagnostics) => return Err(Failure { sources: compiled.sources, diagnostics }),
        }
    };
    let (run_model, plans, fused) = match &counted {
        Some((m, p, f)) => (m, p, f),
        None => (&compiled.model, &compiled.plans, &compiled.fused),
    };
    let cache = match cache_dir(&compiled, options) {
        Ok(c) => c,
        Err(d) => return Err(Failure { sources: compiled.sources, diagnostics: d.into() }),
    };
    let run = run::run(
        run_model,
        run::Plans { kpis: plans, fused, accounting: &compiled.accounting, checks: &compiled.checks },
        reading(&compiled, options, cache.as_deref()),
    );
    let mut output = match run {
        Ok(o) => o,
        Err(diagnostics) => return Err(Failure { sources: compiled.sources, diagnostics }),
    };
    output.rows = match series::finish(run_model, std::mem::take(&mut output.rows), &output.data_ends, &output.time_ends, options.as_of) {
        Ok((rows, warnings)) => {
            compiled
                .warnings
                .extend(warnings.into_iter().filter(|w| !w.kpi.as_ref().is_some_and(|k| k.ends_with(privacy::counts::COUNT_SUFFIX))));
            rows
        }
        Err(diagnostics) => return Err(Failure { sources: compiled.sources, diagnostics }),
    };
    drop(counted);
    let suppressed = if public { privacy::suppress::suppress(&compiled.model, &mut output.rows) } else { IndexMap::new() };
    for kpi in &compiled.model.kpis {
        if let Some(counts) = output.accounting.get_mut(&kpi.id) {
            counts.skipped_invalid = kpi.source.as_ref().and_then(|s| output.sources.get(s)).map(|s| s.rows_skipped).unwrap_or(0);
        }
    }
    compiled.warnings.extend(run_warnings(&compiled.model, &output));
    let spc = spc::analyse(&compiled.model, &output.rows);
    let mut results =
        results::assemble(&compiled.model, &compiled.sql(), output, spc, &compiled.sources, options.as_of, &compiled.warnings);
    results.privacy = results::PrivacyResult {
        audience: options.audience,
        min_count: (compiled.config.privacy.min_count > 0).then_some(compiled.config.privacy.min_count),
        rounding: compiled.config.privacy.rounding,
    };
    for k in &mut results.kpis {
        k.suppressed_cells = suppressed.get(&k.id).copied().unwrap_or(0);
        // `privacy::suppress` publishes no row count of a KPI whose counts it rounds.
        let rounded = compiled.model.kpi(&k.id).is_some_and(|m| m.privacy.rounding.is_some());
        k.volume_withheld = options.audience == privacy::Audience::Public && rounded && !k.additive;
    }
    Ok((compiled, results))
}

/// Where the run keeps parsed CSV files (`cache:` in yardstick.yaml; docs/configuration.md):
/// `None` with `--no-cache` or `enabled: false`. Like `output`, refused outside the project
/// unless `allow_paths` or `--allow-outside` say otherwise.
fn cache_dir(compiled: &Compiled, options: Options) -> Result<Option<std::path::PathBuf>, diagnostics::Diagnostic> {
    let cache = &compiled.config.cache;
    if options.no_cache || !cache.enabled {
        return Ok(None);
    }
    let dir = compiled.dir.join(&cache.dir);
    let confine = project::Confinement::new(&compiled.dir, &compiled.config.allow_paths, options.allow_outside);
    if let Err(why) = confine.check_new(&dir) {
        let yaml = compiled.config.file;
        let span = config::yaml_key_span(yaml, &compiled.sources.get(yaml).text, &["cache", "dir"]);
        return Err(project::outside_error("dir", &cache.dir, &why).at(span, "outside the project"));
    }
    Ok(Some(dir))
}

/// How a build or `yardstick test` reads the compiled project's sources.
fn reading<'a>(compiled: &'a Compiled, options: Options, cache_dir: Option<&'a Path>) -> run::Reading<'a> {
    run::Reading {
        project_dir: &compiled.dir,
        allow_outside: options.allow_outside,
        cache_dir,
        engine: options.engine,
        memory: options.memory,
    }
}

/// `yardstick test`: compile, read the sources that have data checks (and the sources
/// their relationships name), run and judge the checks; no KPI is computed.
pub fn test_checks(dir: &Path, options: Options) -> Result<(Compiled, Vec<results::CheckResult>), Failure> {
    let compiled = compile_with(dir, options)?;
    let cache = match cache_dir(&compiled, options) {
        Ok(c) => c,
        Err(d) => return Err(Failure { sources: compiled.sources, diagnostics: d.into() }),
    };
    let only_checks = run::Plans { kpis: &[], fused: &[], accounting: &[], checks: &compiled.checks };
    let output = match run::run(&compiled.model, only_checks, reading(&compiled, options, cache.as_deref())) {
        Ok(o) => o,
        Err(diagnostics) => return Err(Failure { sources: compiled.sources, diagnostics }),
    };
    let checks = results::judge_checks(&compiled.model, &output.checks, options.as_of, &compiled.sources);
    Ok((compiled, checks))
}

/// What the data showed that the definitions could not: rows a KPI silently could not
/// count, a `where` that keeps nothing, a KPI without any value.
fn run_warnings(model: &model::Model, output: &results::RunOutput) -> Vec<diagnostics::Diagnostic> {
    use diagnostics::Diagnostic;
    let mut out = vec![];
    for kpi in &model.kpis {
        let counts = output.accounting.get(&kpi.id);
        let source = kpi.source.as_deref().unwrap_or("");
        let time = kpi.time.as_deref().unwrap_or("");
        let mut where_empty = false;
        if let Some(c) = counts {
            if c.without_time > 0 {
                out.push(
                    Diagnostic::warning(
                        "YS0900",
                        format!(
                            "KPI `{}`: {} of {} rows of `{source}` have no `{time}` and are not counted",
                            kpi.id,
                            diagnostics::thousands(c.without_time),
                            diagnostics::thousands(c.read)
                        ),
                    )
                    .at(kpi.id_span, "rows without a time are left out")
                    .help(format!(
                        "a row without a time cannot be placed in a period or a scope. If leaving them out is intended, say so: `where {time} is not null`; otherwise fix `{time}` in the data, or count them in a KPI of their own (`where {time} is null`, no grain)"
                    ))
                    .about_kpi(&kpi.id),
                );
            }
            if let Some(span) = kpi.filter_span.filter(|_| c.read > 0 && c.excluded_by_where == c.read) {
                where_empty = true;
                out.push(
                    Diagnostic::warning(
                        "YS0901",
                        format!(
                            "the `where` of KPI `{}` matches none of the {} rows of `{source}`",
                            kpi.id,
                            diagnostics::thousands(c.read)
                        ),
                    )
                    .at(span, "no row of the data meets this")
                    .help("check the values it compares with against the data (case, spelling, codes); the KPI has no value")
                    .about_kpi(&kpi.id),
                );
            }
        }
        let rows = output.rows.get(&kpi.id).map(Vec::as_slice).unwrap_or_default();
        out.extend(spaced_groups(kpi, rows));
        out.extend(unmatched_benchmark_groups(kpi, rows));
        // Suppressed values exist; they are not published (docs/privacy.md).
        if !where_empty && rows.iter().all(|r| r.value.is_none() && r.suppressed.is_none()) {
            let lags: Vec<&str> = kpi.change_lags().iter().map(|l| l.name()).collect();
            let why = match counts {
                Some(c) if c.read == 0 => format!("source `{source}` has no rows"),
                Some(c) if c.counted == 0 => "no row of its source is in its time scope and meets its `where`".to_string(),
                _ if !lags.is_empty() => format!(
                    "it is a change against {}, and no period and its earlier period both have a value (the data, its scope or `--as-of` leave less than that)",
                    lags.join(" and ")
                ),
                Some(_) => "every value is empty (its measure's inputs are null, or a division by zero)".to_string(),
                None => "its inputs have no value in a common period".to_string(),
            };
            out.push(
                Diagnostic::warning("YS0902", format!("KPI `{}` has no value in any period: {why}", kpi.id))
                    .at(kpi.id_span, "no value")
                    .help("its card says \"No data\"; check the source, the scope and the measure")
                    .about_kpi(&kpi.id),
            );
        }
    }
    out
}

/// YS0906: groups of a `by` column that differ only in spaces around the text (`"North "`
/// and `"North"`): one group split in two, each value too small.
fn spaced_groups(kpi: &model::CheckedKpi, rows: &[results::ResultRow]) -> Option<diagnostics::Diagnostic> {
    for (j, column) in kpi.by.iter().enumerate() {
        let mut seen: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
        for row in rows {
            let Some(serde_json::Value::String(text)) = row.groups.get(j).map(|(_, v)| v) else { continue };
            match seen.get(text.trim()) {
                Some(other) if *other != text.as_str() => {
                    return Some(
                        diagnostics::Diagnostic::warning(
                            "YS0906",
                            format!("KPI `{}`: the groups {other:?} and {text:?} of `{column}` differ only in spaces around the text", kpi.id),
                        )
                        .at(kpi.id_span, "one group split in two")
                        .help(format!(
                            "declare `{column}` with `trim: true` in yardstick.yaml (or `trim: true` on its source) so spaces around values are removed when the data is read, or group by a cleaned value: `by {column}_clean = trim({column})`"
                        ))
                        .about_kpi(&kpi.id),
                    );
                }
                Some(_) => {}
                None => {
                    seen.insert(text.trim(), text.as_str());
                }
            }
        }
    }
    None
}

/// YS0911: a benchmarks-file line whose `group` is none of the groups the KPI has in the
/// data (a misspelling, or a group renamed in the data): its value would be drawn nowhere and
/// ranked against nothing, silently.
fn unmatched_benchmark_groups(kpi: &model::CheckedKpi, rows: &[results::ResultRow]) -> Vec<diagnostics::Diagnostic> {
    if kpi.by.is_empty() {
        return vec![];
    }
    let groups: std::collections::BTreeSet<String> = rows.iter().map(|r| spc::group_label(&r.groups)).collect();
    let mut warned = std::collections::BTreeSet::new();
    let mut out = vec![];
    for b in &kpi.benchmarks {
        for (group, span) in &b.group_lines {
            if groups.contains(group) || !warned.insert(group.clone()) {
                continue;
            }
            out.push(
                diagnostics::Diagnostic::warning(
                    "YS0911",
                    format!("the benchmarks file gives `{}` a value for the group {group:?}, which the data does not have", kpi.id),
                )
                .at(*span, "this group matches no group of the KPI")
                .help(format!(
                    "{} (groups are the `by` values joined with \" / \", as the report writes them); the value is not drawn and not ranked against",
                    diagnostics::suggest("group", group, groups.iter().map(String::as_str))
                ))
                .about_kpi(&kpi.id),
            );
        }
    }
    out
}

/// The output directory: `--out` if given, else the config's `output` under the project.
pub fn output_dir(compiled: &Compiled, out: Option<&Path>) -> PathBuf {
    match out {
        Some(o) => o.to_path_buf(),
        None => compiled.dir.join(&compiled.config.output),
    }
}

/// A finished build: what was computed, the files written, and the warnings.
#[derive(Debug)]
pub struct Built {
    pub compiled: Compiled,
    pub results: results::Results,
    pub written: Vec<PathBuf>,
}

/// `yardstick build`: evaluate and write the report. Returns the files written.
pub fn build(dir: &Path, out: Option<&Path>) -> Result<Built, Failure> {
    build_with(dir, out, Options::default())
}

/// [`build`] with build options.
pub fn build_with(dir: &Path, out: Option<&Path>, options: Options) -> Result<Built, Failure> {
    let (compiled, results) = evaluate_with(dir, options)?;
    if options.deny_warnings && !compiled.warnings.is_empty() {
        return Err(Failure { diagnostics: Diagnostics(compiled.warnings), sources: compiled.sources });
    }
    let out_dir = output_dir(&compiled, out);
    // `--out` is the command line's own choice; `output:` comes with the definitions.
    if out.is_none() {
        let confine = project::Confinement::new(&compiled.dir, &compiled.config.allow_paths, options.allow_outside);
        if let Err(why) = confine.check_new(&out_dir) {
            let yaml = compiled.config.file;
            let span = config::yaml_key_span(yaml, &compiled.sources.get(yaml).text, &["output"]);
            let d = project::outside_error("output", &compiled.config.output, &why).at(span, "outside the project");
            return Err(Failure { sources: compiled.sources, diagnostics: d.into() });
        }
    }
    match report::write_report(&results, &out_dir, options.single_file) {
        Ok(written) => Ok(Built { compiled, results, written }),
        Err(d) => Err(Failure { sources: compiled.sources, diagnostics: d.into() }),
    }
}
