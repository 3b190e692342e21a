//! `yardstick init [DIR]`: a starter project that builds at once: `yardstick.yaml` with one
//! source, `metrics/service.kpi` with one goal and two KPIs, a small CSV, a `.gitignore`
//! for the report and a GitHub Actions workflow. The files are in src/templates/init/; the
//! workflow is examples/ci/github-actions.yml itself, pointed at the project's root, so the
//! documented example and what `init` writes cannot drift apart.

use std::path::Path;

use crate::diagnostics::{Diagnostic, Diagnostics, escape_text};
use crate::span::SourceMap;

/// The files `init` writes as they are: (path in the project, content).
const FILES: &[(&str, &str)] = &[
    ("yardstick.yaml", include_str!("templates/init/yardstick.yaml")),
    ("metrics/service.kpi", include_str!("templates/init/service.kpi")),
    ("data/tickets.csv", include_str!("templates/init/tickets.csv")),
    (".gitignore", include_str!("templates/init/gitignore")),
];

/// Where `init` puts the workflow.
pub const WORKFLOW_PATH: &str = ".github/workflows/yardstick.yml";

/// The example workflow (docs/workflow.md describes it).
const EXAMPLE_WORKFLOW: &str = include_str!("../examples/ci/github-actions.yml");

/// The example workflow for a project at the repository's root: `PROJECT: .`, and the
/// "copy it" line says it is in place.
pub fn workflow() -> String {
    EXAMPLE_WORKFLOW
        .lines()
        .map(|l| {
            if l.starts_with("# Copy to .github/workflows/") {
                "# PROJECT is the directory holding yardstick.yaml: the repository's root.".to_string()
            } else if l == "# See docs/workflow.md." {
                "# See docs/workflow.md in yardstick's documentation.".to_string()
            } else if l.trim_start().starts_with("PROJECT: ") {
                "  PROJECT: .".to_string()
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect()
}

/// Every file `init` writes: (path in the project, content).
pub fn files() -> Vec<(&'static str, String)> {
    let mut out: Vec<(&str, String)> = FILES.iter().map(|(p, c)| (*p, c.to_string())).collect();
    out.push((WORKFLOW_PATH, workflow()));
    out
}

/// Write the starter project into `dir`, which must not exist or be empty (nothing is
/// overwritten). Returns the paths written.
pub fn init(dir: &Path) -> Result<Vec<String>, Diagnostic> {
    let refuse = |why: String| {
        Diagnostic::error("YS0005", format!("cannot create a project in {}: {why}", dir.display()))
            .help("give a new or empty directory: `yardstick init my-metrics`")
    };
    if dir.exists() {
        if !dir.is_dir() {
            return Err(refuse("it is not a directory".into()));
        }
        let mut entries = std::fs::read_dir(dir).map_err(|e| refuse(format!("cannot list it: {e}")))?;
        if entries.next().is_some() {
            return Err(refuse("the directory is not empty".into()));
        }
    }
    let mut written = vec![];
    for (name, content) in files() {
        let path = dir.join(name);
        let result = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| {
            // `create_new`: a file that appeared meanwhile is never overwritten.
            use std::io::Write;
            std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?.write_all(content.as_bytes())
        });
        result.map_err(|e| refuse(format!("cannot write {}: {e}", path.display())))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// `yardstick init DIR`: what to print and the exit status.
pub fn run(dir: &Path, color: bool) -> crate::CommandOutput {
    match init(dir) {
        Ok(written) => {
            let mut text: String = written.iter().map(|w| format!("created {}\n", escape_text(w))).collect();
            let shown = escape_text(&dir.display().to_string()).into_owned();
            text.push_str(&format!("\nnext: `yardstick build {shown}`, then open {shown}/out/index.html\n"));
            crate::CommandOutput::ok(text)
        }
        Err(d) => {
            crate::CommandOutput { status: 1, stdout: String::new(), stderr: Diagnostics::one(d).render(&SourceMap::default(), color) }
        }
    }
}
