//! What `check` and `build` print, in each `--format`, and the exit status they end with:
//! 0 ok, 1 findings (errors, or what `--deny-warnings`, `--strict` or `--fail-on` asked to
//! fail on), 2 usage or internal error (clap, and `main`). `main.rs` only parses arguments
//! and prints a [`Printed`].
//!
//! File names: the stages name files relative to the project directory (results.json keeps
//! that); here they are shown relative to the current directory for people (so
//! `examples/city/metrics/safety.kpi:51:10` opens from the terminal), and relative to the
//! repository's top for GitHub annotations (so they land on the pull request's lines).

use std::io::IsTerminal;
use std::path::{Component, Path};

use serde::Serialize;

mod checks;

use crate::diagnostics::render::{self, Format};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::results::{Results, Status};
use crate::span::SourceMap;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Color {
    /// Colour and drawing when stderr is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    Always,
    /// Plain text, never wrapped, no drawing.
    Never,
}

/// How a command prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct Console {
    pub format: Format,
    pub color: Color,
    /// Progress lines even when stderr is not a terminal or in CI.
    pub verbose: bool,
}

impl Console {
    /// miette's drawing (a terminal, or `--color always`) rather than plain lines.
    fn graphic(&self) -> bool {
        match self.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => std::io::stderr().is_terminal(),
        }
    }

    pub fn colored(&self) -> bool {
        match self.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

/// What a command prints and its exit status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Printed {
    pub stdout: String,
    /// Printed before `stdout` (errors and warnings).
    pub stderr: String,
    /// Printed after `stdout` (what `--fail-on` found in a build that was written).
    pub stderr_after: String,
    pub status: u8,
}

/// `build --fail-on`: what makes a build that succeeded exit 1 (the report is written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum FailOn {
    /// A KPI whose headline status is `off_track`.
    OffTrack,
    /// A KPI whose headline status is `near_target`.
    NearTarget,
    /// Any warning (unlike `--strict`, the report is still written).
    Warnings,
    /// A data check with status `fail` (a failed check of severity `error`; docs/checks.md).
    CheckFailures,
}

impl FailOn {
    pub fn name(self) -> &'static str {
        match self {
            FailOn::OffTrack => "off_track",
            FailOn::NearTarget => "near_target",
            FailOn::Warnings => "warnings",
            FailOn::CheckFailures => "check_failures",
        }
    }
}

/// How file names are shown: the prefix put before project-relative names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The project directory relative to the current directory (`examples/city/`).
    pub here: String,
    /// The project directory relative to the repository's top; `here` outside git.
    pub repo: String,
}

impl Paths {
    pub fn for_dir(dir: &Path) -> Paths {
        let here = relative_to_cwd(dir);
        let repo = crate::git::repo(dir).map(|r| r.prefix).unwrap_or_else(|| here.clone());
        Paths { here, repo }
    }

    fn prefix(&self, format: Format) -> &str {
        if format == Format::Github { &self.repo } else { &self.here }
    }
}

/// `dir` as a prefix relative to the current directory: `examples/city/` for
/// `./examples/city`, empty for `.`; an absolute path outside the current directory stays
/// absolute.
pub fn relative_to_cwd(dir: &Path) -> String {
    let dir = if dir.is_absolute() {
        match std::env::current_dir().ok().and_then(|cwd| dir.strip_prefix(cwd).ok().map(Path::to_path_buf)) {
            Some(inside) => inside,
            None => dir.to_path_buf(),
        }
    } else {
        dir.to_path_buf()
    };
    let mut out = String::new();
    for c in dir.components() {
        match c {
            Component::CurDir => {}
            Component::RootDir => out.push('/'),
            other => {
                out.push_str(&other.as_os_str().to_string_lossy());
                out.push('/');
            }
        }
    }
    out.replace("//", "/")
}

/// The source map with names as `format` shows them.
fn shown_sources(sources: &SourceMap, paths: &Paths, format: Format) -> SourceMap {
    let prefix = paths.prefix(format);
    if prefix.is_empty() { sources.clone() } else { sources.renamed(|name| format!("{prefix}{name}")) }
}

/// Diagnostics in the chosen format: (to stdout, to stderr).
fn diagnostics_text(diagnostics: &[Diagnostic], sources: &SourceMap, console: &Console, paths: &Paths) -> (String, String) {
    if diagnostics.is_empty() {
        return (String::new(), String::new());
    }
    let shown = shown_sources(sources, paths, console.format);
    match console.format {
        Format::Human => {
            let all = Diagnostics(diagnostics.to_vec());
            let text = if console.graphic() {
                render::human::graphic(&all, &shown, console.colored())
            } else {
                render::human::plain(&all, &shown)
            };
            (String::new(), text)
        }
        Format::Github => (render::github::render(diagnostics, &shown), String::new()),
        // Part of the command's JSON document.
        Format::Json => (String::new(), String::new()),
    }
}

/// A failure of any other command, rendered for people like `check`'s.
pub fn render_failure(failure: &crate::Failure, dir: &Path, console: &Console) -> String {
    let console = Console { format: Format::Human, ..*console };
    diagnostics_text(&failure.diagnostics.0, &failure.sources, &console, &Paths::for_dir(dir)).1
}

/// The JSON document `check` and `build` print with `--format json` (docs/cli.md).
#[derive(Debug, Serialize)]
struct JsonOutput<'a> {
    /// The version of this shape; it changes only when a field changes meaning or goes.
    version: u32,
    command: &'a str,
    /// The exit status is 0.
    ok: bool,
    summary: JsonSummary,
    diagnostics: Vec<render::json::JsonDiagnostic>,
    #[serde(skip_serializing_if = "Option::is_none")]
    build: Option<JsonBuild>,
    /// The data checks (`build` and `test`), file names shown like diagnostics'.
    #[serde(skip_serializing_if = "Option::is_none")]
    checks: Option<Vec<crate::results::CheckResult>>,
}

#[derive(Debug, Serialize)]
struct JsonSummary {
    errors: usize,
    warnings: usize,
    goals: usize,
    kpis: usize,
    sources: usize,
}

#[derive(Debug, Serialize)]
struct JsonBuild {
    values: usize,
    written: Vec<String>,
    findings: Vec<Finding>,
}

fn summary(diagnostics: &[Diagnostic], goals: usize, kpis: usize, sources: usize) -> JsonSummary {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    JsonSummary { errors, warnings: diagnostics.len() - errors, goals, kpis, sources }
}

fn json_document(output: &JsonOutput<'_>) -> String {
    serde_json::to_string_pretty(output).map(|s| s + "\n").unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}\n"))
}

/// `yardstick check`.
pub fn check(dir: &Path, options: crate::Options, deny_warnings: bool, console: &Console) -> Printed {
    let paths = Paths::for_dir(dir);
    let (diagnostics, sources, counts, failed) = match crate::compile_with(dir, options) {
        Ok(c) => {
            let failed = deny_warnings && !c.warnings.is_empty();
            (c.warnings, c.sources, (c.model.goals.len(), c.model.kpis.len(), c.model.sources.len()), failed)
        }
        Err(f) => (f.diagnostics.0, f.sources, (0, 0, 0), true),
    };
    let status = u8::from(failed);
    let (mut stdout, mut stderr) = diagnostics_text(&diagnostics, &sources, console, &paths);
    if console.format == Format::Json {
        let output = JsonOutput {
            version: 1,
            command: "check",
            ok: !failed,
            summary: summary(&diagnostics, counts.0, counts.1, counts.2),
            diagnostics: render::json::render(&diagnostics, &shown_sources(&sources, &paths, Format::Json)),
            build: None,
            checks: None,
        };
        return Printed { stdout: json_document(&output), stderr, stderr_after: String::new(), status };
    }
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    if failed && !has_errors {
        stderr.push_str("(--deny-warnings: warnings fail the check)\n");
    } else if !failed {
        stdout.push_str(&format!(
            "ok: {}, {}, {}\n",
            crate::diagnostics::plural(counts.0, "goal"),
            crate::diagnostics::plural(counts.1, "KPI"),
            crate::diagnostics::plural(counts.2, "source")
        ));
    }
    Printed { stdout, stderr, stderr_after: String::new(), status }
}

/// What `--fail-on` found in a build that succeeded.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    /// The `--fail-on` value that fired.
    pub kind: &'static str,
    pub kpi: Option<String>,
    pub message: String,
    /// Where the KPI is defined (shown like diagnostics' files), and its line.
    pub file: Option<String>,
    pub line: Option<usize>,
}

/// The findings of `fail_on` in a build's results and warnings.
pub fn findings(results: &Results, warnings: usize, fail_on: &[FailOn]) -> Vec<Finding> {
    let mut out = vec![];
    for kind in [FailOn::OffTrack, FailOn::NearTarget] {
        if !fail_on.contains(&kind) {
            continue;
        }
        let wanted = if kind == FailOn::OffTrack { Status::OffTrack } else { Status::NearTarget };
        for k in &results.kpis {
            let Some((value, status)) = crate::report::headline(k, results.headline_period) else { continue };
            if status != wanted {
                continue;
            }
            let period = crate::report::headline_period(k, results.headline_period).flatten();
            let what = match (value, k.by.is_empty()) {
                (Some(v), _) => format!(" at {}", crate::report::format_value(Some(v), &k.unit)),
                (None, false) => format!(" in at least one group of {}", k.by.join(", ")),
                (None, true) => String::new(),
            };
            let when = period.map(|p| format!(" in the period from {p}")).unwrap_or_default();
            let target = k.target.as_ref().map(|t| format!(" (target {})", t.text)).unwrap_or_default();
            let (file, line) = match k.defined_at.rsplit_once(':') {
                Some((f, l)) => (Some(f.to_string()), l.parse().ok()),
                None => (None, None),
            };
            out.push(Finding {
                kind: kind.name(),
                kpi: Some(k.id.clone()),
                message: format!("KPI `{}` is {}{what}{when}{target}", k.id, status.name().replace('_', " ")),
                file,
                line,
            });
        }
    }
    if fail_on.contains(&FailOn::CheckFailures) {
        for c in results.checks.iter().filter(|c| c.status == crate::results::CheckStatus::Fail) {
            let (file, line) = match c.defined_at.rsplit_once(':') {
                Some((f, l)) => (Some(f.to_string()), l.parse().ok()),
                None => (None, None),
            };
            out.push(Finding {
                kind: FailOn::CheckFailures.name(),
                kpi: None,
                message: format!("data check {} `{}` failed: {}", c.source, c.check, c.detail),
                file,
                line,
            });
        }
    }
    if fail_on.contains(&FailOn::Warnings) && warnings > 0 {
        let s = if warnings == 1 { "" } else { "s" };
        out.push(Finding {
            kind: FailOn::Warnings.name(),
            kpi: None,
            message: format!("the build has {warnings} warning{s}"),
            file: None,
            line: None,
        });
    }
    out
}

/// The JSON document of a `build` or `test` that failed before it had results.
fn failed_json(command: &'static str, f: &crate::Failure, paths: &Paths, build: Option<JsonBuild>, stderr: String) -> Printed {
    let output = JsonOutput {
        version: 1,
        command,
        ok: false,
        summary: summary(&f.diagnostics.0, 0, 0, 0),
        diagnostics: render::json::render(&f.diagnostics.0, &shown_sources(&f.sources, paths, Format::Json)),
        build,
        checks: None,
    };
    Printed { stdout: json_document(&output), stderr, stderr_after: String::new(), status: 1 }
}

/// `yardstick build`.
pub fn build(dir: &Path, out: Option<&Path>, options: crate::Options, fail_on: &[FailOn], console: &Console) -> Printed {
    let paths = Paths::for_dir(dir);
    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    let terminal = std::io::stderr().is_terminal();
    if console.verbose || (terminal && !in_ci && console.format == Format::Human) {
        crate::progress::install(terminal && console.format == Format::Human, console.verbose);
    }
    let result = crate::build_with(dir, out, options);
    crate::progress::finish();
    match result {
        Ok(built) => {
            let warnings = &built.compiled.warnings;
            let mut found = findings(&built.results, warnings.len(), fail_on);
            let prefix = paths.prefix(console.format);
            for f in &mut found {
                if let Some(file) = &mut f.file {
                    *file = format!("{prefix}{file}");
                }
            }
            let status = u8::from(!found.is_empty());
            let values: usize = built.results.kpis.iter().map(|k| k.rows.len()).sum();
            let written: Vec<String> = built.written.iter().map(|w| w.display().to_string()).collect();
            let (mut stdout, stderr) = diagnostics_text(warnings, &built.compiled.sources, console, &paths);
            if console.format == Format::Json {
                let m = &built.compiled.model;
                let output = JsonOutput {
                    version: 1,
                    command: "build",
                    ok: status == 0,
                    summary: summary(warnings, m.goals.len(), m.kpis.len(), m.sources.len()),
                    diagnostics: render::json::render(warnings, &shown_sources(&built.compiled.sources, &paths, Format::Json)),
                    build: Some(JsonBuild { values, written, findings: found }),
                    checks: Some(shown_checks(&built.results.checks, prefix)),
                };
                return Printed { stdout: json_document(&output), stderr, stderr_after: String::new(), status };
            }
            let shown = shown_checks(&built.results.checks, prefix);
            if console.format == Format::Github {
                stdout.push_str(&checks::github(&shown));
            } else {
                stdout.push_str(&checks::human(&shown, false));
            }
            stdout.push_str(&format!(
                "built {} ({})\n",
                crate::diagnostics::plural(built.results.kpis.len(), "KPI"),
                crate::diagnostics::plural(values, "value")
            ));
            let mut after = String::new();
            // The report's main files one by one; its pages (one per KPI, goal, owner) counted.
            let top = built.written.first().and_then(|w| w.parent());
            let is_main = |w: &&std::path::PathBuf| {
                w.parent() == top
                    && w.file_name().is_some_and(|n| ["results.json", "results.csv", "index.html"].contains(&n.to_string_lossy().as_ref()))
            };
            for w in built.written.iter().filter(is_main) {
                stdout.push_str(&format!("wrote {}\n", crate::diagnostics::escape_text(&w.display().to_string())));
            }
            let pages = built.written.iter().filter(|w| !is_main(w)).count();
            if pages > 0 {
                stdout.push_str(&format!("wrote {pages} pages beside index.html (sources.html, kpi/, goal/, owner/)\n"));
            }
            for f in &found {
                if console.format == Format::Github {
                    stdout.push_str(&github_finding(f));
                } else {
                    let place = match (&f.file, f.line) {
                        (Some(file), Some(line)) => format!("{file}:{line}: "),
                        _ => String::new(),
                    };
                    after.push_str(&format!(
                        "{}fail-on {}: {}\n",
                        crate::diagnostics::escape_text(&place),
                        f.kind,
                        crate::diagnostics::escape_text(&f.message)
                    ));
                }
            }
            if !found.is_empty() {
                let s = if found.len() == 1 { "" } else { "s" };
                after.push_str(&format!("(--fail-on: {} finding{s}; the report was written, the exit status is 1)\n", found.len()));
            }
            Printed { stdout, stderr, stderr_after: after, status }
        }
        Err(f) => {
            let only_warnings = !f.diagnostics.has_errors();
            let (stdout, mut stderr) = diagnostics_text(&f.diagnostics.0, &f.sources, console, &paths);
            if console.format == Format::Json {
                let build = JsonBuild { values: 0, written: vec![], findings: vec![] };
                return failed_json("build", &f, &paths, Some(build), stderr);
            }
            if options.deny_warnings && only_warnings {
                stderr.push_str("(--strict: warnings fail the build, nothing was written)\n");
            }
            Printed { stdout, stderr, stderr_after: String::new(), status: 1 }
        }
    }
}

/// Checks with their files named as `prefix` + the project-relative name.
fn shown_checks(list: &[crate::results::CheckResult], prefix: &str) -> Vec<crate::results::CheckResult> {
    let mut out = list.to_vec();
    if prefix.is_empty() {
        return out;
    }
    for c in &mut out {
        c.defined_at = format!("{prefix}{}", c.defined_at);
        for e in &mut c.examples {
            e.file = format!("{prefix}{}", e.file);
        }
    }
    out
}

/// `yardstick test`: run the data checks only. Exit 1 when a check fails (status `fail`)
/// or the definitions or data have errors; `warn` and `skipped` checks do not fail it.
pub fn test(dir: &Path, options: crate::Options, console: &Console) -> Printed {
    let paths = Paths::for_dir(dir);
    let prefix = paths.prefix(console.format).to_string();
    match crate::test_checks(dir, options) {
        Ok((compiled, list)) => {
            let shown = shown_checks(&list, &prefix);
            let failed = list.iter().any(|c| c.status == crate::results::CheckStatus::Fail);
            let status = u8::from(failed);
            let warnings = &compiled.warnings;
            let (mut stdout, stderr) = diagnostics_text(warnings, &compiled.sources, console, &paths);
            match console.format {
                Format::Json => {
                    let m = &compiled.model;
                    let output = JsonOutput {
                        version: 1,
                        command: "test",
                        ok: !failed,
                        summary: summary(warnings, m.goals.len(), m.kpis.len(), m.sources.len()),
                        diagnostics: render::json::render(warnings, &shown_sources(&compiled.sources, &paths, Format::Json)),
                        build: None,
                        checks: Some(shown),
                    };
                    return Printed { stdout: json_document(&output), stderr, stderr_after: String::new(), status };
                }
                Format::Github => {
                    stdout.push_str(&checks::github(&shown));
                    stdout.push_str(&checks::summary(&shown));
                    stdout.push('\n');
                }
                Format::Human if shown.is_empty() => {
                    stdout.push_str("no data checks are defined: add `check <source> { ... }` blocks (docs/checks.md)\n")
                }
                Format::Human => stdout.push_str(&checks::human(&shown, true)),
            }
            Printed { stdout, stderr, stderr_after: String::new(), status }
        }
        Err(f) => {
            let (stdout, stderr) = diagnostics_text(&f.diagnostics.0, &f.sources, console, &paths);
            if console.format == Format::Json {
                return failed_json("test", &f, &paths, None, stderr);
            }
            Printed { stdout, stderr, stderr_after: String::new(), status: 1 }
        }
    }
}

/// A finding as a GitHub annotation on the KPI's definition.
fn github_finding(f: &Finding) -> String {
    let mut props = vec![];
    if let (Some(file), Some(line)) = (&f.file, f.line) {
        props.push(("file", file.clone()));
        props.push(("line", line.to_string()));
    }
    props.push(("title", format!("fail-on {}", f.kind)));
    render::github::annotation("error", &props, &f.message) + "\n"
}

/// `yardstick diff`: 0 compared (whether or not anything differs), 1 a side does not check
/// or the working tree does not build, 2 not a repository or no such revision.
pub fn diff(rev: &str, dir: &Path, opts: crate::diff::DiffOptions, format: crate::diff::render::DiffFormat, console: &Console) -> Printed {
    use crate::diff::{DiffError, Side, render::DiffFormat};
    match crate::diff::diff(rev, dir, opts) {
        Ok(d) => {
            let stdout = match format {
                DiffFormat::Text => crate::diff::render::text(&d),
                DiffFormat::Markdown => crate::diff::render::markdown(&d),
            };
            Printed { stdout, stderr: String::new(), stderr_after: String::new(), status: 0 }
        }
        Err(DiffError::Usage(diagnostics)) => {
            let (_, stderr) = diagnostics_text(
                &diagnostics.0,
                &SourceMap::default(),
                &Console { format: Format::Human, ..*console },
                &Paths::for_dir(dir),
            );
            Printed { stdout: String::new(), stderr, stderr_after: String::new(), status: 2 }
        }
        Err(DiffError::Failed { side, failure }) => {
            let console = Console { format: Format::Human, ..*console };
            let text = match side {
                // Old files are already named `REV:path`.
                Side::Old => {
                    let paths = Paths { here: String::new(), repo: String::new() };
                    format!(
                        "the project at {rev} does not check:\n{}",
                        diagnostics_text(&failure.diagnostics.0, &failure.sources, &console, &paths).1
                    )
                }
                Side::New => diagnostics_text(&failure.diagnostics.0, &failure.sources, &console, &Paths::for_dir(dir)).1,
            };
            Printed { stdout: String::new(), stderr: text, stderr_after: String::new(), status: 1 }
        }
    }
}
