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
//! results::assemble      all above  -> Results
//! report::write_report   Results    -> index.html + results.json
//! ```

pub mod ast;
pub mod check;
pub mod config;
pub mod diagnostics;
pub mod functions;
pub mod ingest;
pub mod limits;
pub mod model;
pub mod parse;
pub mod plan;
pub mod project;
pub mod report;
pub mod results;
pub mod run;
pub mod series;
pub mod span;

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

/// A project that passed every static check, with its plans.
#[derive(Debug)]
pub struct Compiled {
    pub dir: PathBuf,
    pub sources: SourceMap,
    pub config: config::Config,
    pub model: model::Model,
    pub plans: Vec<plan::KpiPlan>,
    pub options: Options,
}

impl Compiled {
    /// Readable SQL of every KPI's query, by KPI id.
    pub fn sql(&self) -> IndexMap<String, String> {
        self.plans
            .iter()
            .map(|p| (p.kpi.clone(), plan::to_sql(&p.plan).unwrap_or_else(|e| format!("-- cannot show as SQL: {e}"))))
            .collect()
    }
}

/// What a build may vary besides the project's files.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Options {
    /// Compute as if on this day: rows dated later are ignored, periods run up to it.
    pub as_of: Option<chrono::NaiveDate>,
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
        Ok(mut c) => match project::load_holidays(dir, &mut c, files.config, &mut sources) {
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
    let model = match check::check(&config, &asts) {
        Ok(m) if errors.is_empty() => m,
        Ok(_) => return Err(Failure { sources, diagnostics: Diagnostics(errors).sorted() }),
        Err(d) => {
            errors.extend(d.0);
            return Err(Failure { sources, diagnostics: Diagnostics(errors).sorted() });
        }
    };
    let plans = match plan::plan(&model, plan::PlanOptions { as_of: options.as_of }) {
        Ok(p) => p,
        Err(diagnostics) => return Err(Failure { sources, diagnostics }),
    };
    Ok(Compiled { dir: dir.to_path_buf(), sources, config, model, plans, options })
}

/// Compile, run on the data and assemble results (nothing written).
pub fn evaluate(dir: &Path) -> Result<(Compiled, results::Results), Failure> {
    evaluate_with(dir, Options::default())
}

/// [`evaluate`] with build options.
pub fn evaluate_with(dir: &Path, options: Options) -> Result<(Compiled, results::Results), Failure> {
    let compiled = compile_with(dir, options)?;
    let mut output = match run::run(&compiled.model, &compiled.plans, &compiled.dir) {
        Ok(o) => o,
        Err(diagnostics) => return Err(Failure { sources: compiled.sources, diagnostics }),
    };
    output.rows = series::finish(&compiled.model, std::mem::take(&mut output.rows), &output.data_ends, options.as_of);
    let results = results::assemble(&compiled.model, &compiled.sql(), output, &compiled.sources, options.as_of);
    Ok((compiled, results))
}

/// The output directory: `--out` if given, else the config's `output` under the project.
pub fn output_dir(compiled: &Compiled, out: Option<&Path>) -> PathBuf {
    match out {
        Some(o) => o.to_path_buf(),
        None => compiled.dir.join(&compiled.config.output),
    }
}

/// `yardstick build`: evaluate and write the report. Returns the files written.
pub fn build(dir: &Path, out: Option<&Path>) -> Result<(results::Results, Vec<PathBuf>), Failure> {
    build_with(dir, out, Options::default())
}

/// [`build`] with build options.
pub fn build_with(dir: &Path, out: Option<&Path>, options: Options) -> Result<(results::Results, Vec<PathBuf>), Failure> {
    let (compiled, results) = evaluate_with(dir, options)?;
    let out_dir = output_dir(&compiled, out);
    match report::write_report(&results, &out_dir) {
        Ok(written) => Ok((results, written)),
        Err(d) => Err(Failure { sources: compiled.sources, diagnostics: d.into() }),
    }
}
