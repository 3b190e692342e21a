//! `yardstick diff <rev> [DIR]`: what a change to the definitions does, for the reviewer of a
//! pull request. The project at `rev` is read from git objects (`git ls-tree`, `git
//! cat-file`: no checkout, nothing in the working tree or the index changes) into a
//! temporary directory, checked, and compared with the working tree KPI by KPI:
//!
//! - [`semantic`]: added, removed, renamed (same definition, new id) and changed KPIs, each
//!   change in words, with the ones that deserve attention flagged;
//! - [`text`]: the line diff of each definition and of its compiled SQL;
//! - [`values`] (`--values`): both sides built on today's data (the old definitions too),
//!   the latest value and status of each changed KPI on both sides, and how many values
//!   moved;
//! - [`render`]: for a terminal, and Markdown for a pull-request comment.
//!
//! Only definitions are exported from git (yardstick.yaml, `.kpi` files, the holidays
//! file), never data: both sides read the working tree's data files.

pub mod render;
pub mod semantic;
pub mod text;
pub mod values;

use std::path::{Component, Path, PathBuf};

use crate::Failure;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::git::Repo;
use crate::span::SourceMap;

pub use semantic::Change;

/// What `yardstick diff` is asked to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffOptions {
    /// Build both sides on the data and compare values (`--values`).
    pub values: bool,
    /// Options for checking and building both sides (`--allow-outside`).
    pub options: crate::Options,
}

/// How a KPI differs between the revision and the working tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Added,
    Removed,
    /// The same definition under a new id.
    Renamed {
        from: String,
    },
    Changed,
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Added => "added",
            Kind::Removed => "removed",
            Kind::Renamed { .. } => "renamed",
            Kind::Changed => "changed",
        }
    }
}

/// One KPI that is not the same on both sides.
#[derive(Debug, Clone)]
pub struct KpiDiff {
    /// The id in the working tree (the old id for removed KPIs).
    pub id: String,
    pub title: String,
    pub kind: Kind,
    pub changes: Vec<Change>,
    /// Unified diffs of the definition and of the compiled SQL (empty when equal).
    pub definition_diff: String,
    pub sql_diff: String,
    pub values: Option<values::ValueChange>,
}

impl KpiDiff {
    /// Why a reviewer should look twice at this KPI: its flagged changes, and a status that
    /// improved on the same data (only the definition changed).
    pub fn attention(&self) -> Vec<String> {
        let mut out: Vec<String> =
            self.changes.iter().filter_map(|c| c.attention.as_ref().map(|a| format!("{a} ({})", c.text("->")))).collect();
        if let Some(v) = &self.values {
            if let Some(why) = v.improved_by_definition("->") {
                out.push(why);
            }
        }
        out
    }
}

/// The whole comparison.
#[derive(Debug, Clone)]
pub struct ProjectDiff {
    /// The revision as given, and the commit it names.
    pub rev: String,
    pub commit: String,
    /// The project directory in the repository (`examples/city`, or empty at the top).
    pub path: String,
    /// The project did not exist at the revision: every KPI is added.
    pub new_project: bool,
    /// Definition files (relative to the project) that differ.
    pub files_changed: Vec<String>,
    pub kpis: Vec<KpiDiff>,
    /// Values were compared (`--values`).
    pub with_values: bool,
    /// `--values`: the old definitions could not be built on today's data (why).
    pub old_build_error: Option<String>,
}

/// Why `diff` could not compare.
#[derive(Debug)]
pub enum DiffError {
    /// Not a git repository, no such revision, git missing: a usage error (exit status 2).
    Usage(Diagnostics),
    /// One side does not check (or, with `--values`, the working tree does not build):
    /// its diagnostics, with file names as they should be shown (exit status 1).
    Failed { side: Side, failure: Failure },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The project at the revision.
    Old,
    /// The working tree.
    New,
}

/// Compare the project in `dir` at revision `rev` with the working tree.
pub fn diff(rev: &str, dir: &Path, opts: DiffOptions) -> Result<ProjectDiff, DiffError> {
    let usage = |code: &'static str, message: String, help: &str| DiffError::Usage(Diagnostic::error(code, message).help(help).into());
    if !dir.is_dir() {
        return Err(usage(
            "YS0001",
            format!("{} does not exist (no such directory)", dir.display()),
            "give the directory that holds yardstick.yaml, e.g. `yardstick diff main examples/city`",
        ));
    }
    let Some(repo) = crate::git::repo(dir) else {
        return Err(usage(
            "YS0600",
            format!("{} is not in a git repository (or git cannot be run)", dir.display()),
            "`yardstick diff` compares the project with an earlier commit: run it inside a git checkout, with git installed",
        ));
    };
    let commit = repo.resolve(rev).map_err(|why| {
        usage(
            "YS0601",
            why,
            "give a branch, tag or commit, e.g. `main`, `origin/main`, `HEAD~1`; in CI, fetch it first (`git fetch origin main`)",
        )
    })?;
    // A diff changes nothing in the working tree: no cache of parsed CSV is written there
    // (nor into the old side's temporary tree, removed afterwards).
    let options = crate::Options { no_cache: true, ..opts.options };
    let new = crate::compile_with(dir, options).map_err(|failure| DiffError::Failed { side: Side::New, failure })?;
    let exported = export(&repo, &commit).map_err(|d| DiffError::Usage(d.into()))?;
    let old = match &exported {
        Some(tree) => Some(crate::compile_with(&tree.0, options).map_err(|f| {
            // Name the old files as git does: `REV:path/in/repo`.
            let shown = f.sources.renamed(|name| format!("{rev}:{}{name}", repo.prefix));
            DiffError::Failed { side: Side::Old, failure: Failure { sources: shown, diagnostics: f.diagnostics } }
        })?),
        None => None,
    };
    let old_facts = old.as_ref().map(semantic::facts).unwrap_or_default();
    let new_facts = semantic::facts(&new);
    let files_changed = files_changed(old.as_ref().map(|c| &c.sources), &new.sources);
    let mut kpis = compare(&old_facts, &new_facts);

    let mut old_build_error = None;
    if opts.values {
        let (_, new_results) = crate::evaluate_compiled(new).map_err(|failure| DiffError::Failed { side: Side::New, failure })?;
        let old_results = match old {
            Some(mut c) => {
                // The old definitions on today's data: source paths are relative to the
                // working tree's project directory.
                c.dir = dir.to_path_buf();
                match crate::evaluate_compiled(c) {
                    Ok((_, r)) => Some(r),
                    Err(f) => {
                        old_build_error = Some(f.diagnostics.0.first().map(|d| format!("{}: {}", d.code, d.message)).unwrap_or_default());
                        None
                    }
                }
            }
            None => None,
        };
        for k in &mut kpis {
            let old_id = match &k.kind {
                Kind::Renamed { from } => from.as_str(),
                _ => k.id.as_str(),
            };
            let old_kpi =
                if k.kind == Kind::Added { None } else { old_results.as_ref().and_then(|r| r.kpis.iter().find(|x| x.id == old_id)) };
            let new_kpi = if k.kind == Kind::Removed { None } else { new_results.kpis.iter().find(|x| x.id == k.id) };
            let mode = new_results.headline_period;
            k.values = Some(values::compare(old_kpi, new_kpi, old_results.as_ref().map(|r| r.headline_period).unwrap_or(mode), mode));
        }
    }
    Ok(ProjectDiff {
        rev: rev.to_string(),
        commit,
        path: repo.prefix.trim_end_matches('/').to_string(),
        new_project: exported.is_none(),
        files_changed,
        kpis,
        with_values: opts.values,
        old_build_error,
    })
}

/// KPIs matched by id; an added and a removed KPI with the same definition are a rename.
/// Order: the working tree's, then the removed ones in the revision's order.
fn compare(old: &[semantic::Facts], new: &[semantic::Facts]) -> Vec<KpiDiff> {
    let kpi_diff = |o: Option<&semantic::Facts>, n: Option<&semantic::Facts>, kind: Kind, changes: Vec<Change>| {
        let f = n.or(o).expect("one side");
        let def = |f: Option<&semantic::Facts>| f.map(|f| f.definition.clone()).unwrap_or_default();
        let sql = |f: Option<&semantic::Facts>| f.and_then(|f| f.sql.clone()).map(|s| s + "\n").unwrap_or_default();
        KpiDiff {
            id: f.id.clone(),
            title: f.title.clone(),
            kind,
            changes,
            definition_diff: text::unified(&def(o), &def(n)),
            sql_diff: text::unified(&sql(o), &sql(n)),
            values: None,
        }
    };
    let mut removed: Vec<&semantic::Facts> = old.iter().filter(|o| !new.iter().any(|n| n.id == o.id)).collect();
    let mut out = vec![];
    for n in new {
        match old.iter().find(|o| o.id == n.id) {
            Some(o) => {
                let mut changes = semantic::changes(o, n);
                if changes.is_empty() && o.definition == n.definition {
                    continue;
                }
                if changes.is_empty() {
                    changes.push(Change {
                        what: "layout or comments changed (same meaning)".into(),
                        old: None,
                        new: None,
                        attention: None,
                    });
                }
                out.push(kpi_diff(Some(o), Some(n), Kind::Changed, changes));
            }
            None => match removed.iter().position(|o| semantic::same_definition(o, n)) {
                Some(i) => {
                    let o = removed.remove(i);
                    let mut changes =
                        vec![Change { what: "renamed".into(), old: Some(o.id.clone()), new: Some(n.id.clone()), attention: None }];
                    changes.extend(semantic::changes(o, n));
                    out.push(kpi_diff(Some(o), Some(n), Kind::Renamed { from: o.id.clone() }, changes));
                }
                None => out.push(kpi_diff(None, Some(n), Kind::Added, vec![])),
            },
        }
    }
    for o in removed {
        out.push(kpi_diff(Some(o), None, Kind::Removed, vec![]));
    }
    out
}

/// Definition files whose text differs (or that exist on one side only), sorted.
fn files_changed(old: Option<&SourceMap>, new: &SourceMap) -> Vec<String> {
    let texts = |m: &SourceMap| m.files().map(|(_, f)| (f.name.clone(), f.text.clone())).collect::<std::collections::BTreeMap<_, _>>();
    let (a, b) = (old.map(texts).unwrap_or_default(), texts(new));
    let mut names: Vec<String> = a.keys().chain(b.keys()).filter(|k| a.get(*k) != b.get(*k)).cloned().collect();
    names.sort();
    names.dedup();
    names
}

/// A temporary directory, removed when dropped.
#[derive(Debug)]
struct TempTree(PathBuf);

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TempTree {
    fn new() -> Result<TempTree, Diagnostic> {
        let base = std::env::temp_dir();
        for n in 0..1000u32 {
            let dir = base.join(format!("yardstick-diff-{}-{n}", std::process::id()));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(TempTree(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(Diagnostic::error("YS0001", format!("cannot create a temporary directory in {}: {e}", base.display())));
                }
            }
        }
        Err(Diagnostic::error("YS0001", format!("cannot create a temporary directory in {}", base.display())))
    }
}

/// A path from git that is safe to write under the temporary directory and is part of the
/// definitions' tree (no hidden directory, no build output: what `load_project` reads).
fn exportable(rel: &str) -> Option<PathBuf> {
    let path = Path::new(rel);
    let mut parts = vec![];
    for c in path.components() {
        match c {
            Component::Normal(p) => {
                let name = p.to_string_lossy();
                if name.starts_with('.') || name == "target" || name == "node_modules" {
                    return None;
                }
                parts.push(p.to_os_string());
            }
            _ => return None,
        }
    }
    Some(parts.iter().collect())
}

/// The project's definitions at `commit` in a temporary directory; `None` when the project
/// (its yardstick.yaml) does not exist there.
fn export(repo: &Repo, commit: &str) -> Result<Option<TempTree>, Diagnostic> {
    let read_error = |why: String| {
        Diagnostic::error("YS0601", format!("cannot read the project at commit {commit}: {why}"))
            .help("check that the revision is fetched (in CI: `fetch-depth: 0`, or `git fetch origin main`)")
    };
    let files = repo.files_at(commit).map_err(read_error)?;
    let Some((_, yaml_object)) = files.iter().find(|(p, _)| p == crate::project::CONFIG_FILE) else { return Ok(None) };
    let yaml = repo.blob(yaml_object).map_err(read_error)?;
    let holidays = std::str::from_utf8(&yaml)
        .ok()
        .and_then(|text| crate::config::load_config(crate::span::FileId(0), text).ok())
        .and_then(|c| c.calendar.holidays_file)
        .and_then(|h| exportable(&h));
    let tree = TempTree::new()?;
    let write = |rel: &Path, bytes: &[u8]| -> Result<(), Diagnostic> {
        let path = tree.0.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Diagnostic::error("YS0001", format!("cannot write {}: {e}", path.display())))?;
        }
        std::fs::write(&path, bytes).map_err(|e| Diagnostic::error("YS0001", format!("cannot write {}: {e}", path.display())))
    };
    write(Path::new(crate::project::CONFIG_FILE), &yaml)?;
    for (rel, object) in &files {
        let Some(path) = exportable(rel) else { continue };
        if rel.ends_with(".kpi") || holidays.as_deref() == Some(path.as_path()) {
            write(&path, &repo.blob(object).map_err(read_error)?)?;
        }
    }
    Ok(Some(tree))
}
