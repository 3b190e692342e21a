//! What yardstick asks git, through the `git` command line (no library, no checkout, no
//! change to the working tree or the index): where the repository is, the commit checked out,
//! whether the project's files differ from it, and the files of the project at a revision
//! (`git ls-tree`, `git cat-file`), for `yardstick diff`.
//!
//! Every function returns `None` (or an error string) when git is missing or the directory
//! is not in a repository: a project outside git simply has no git information.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A git repository holding a project directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    /// The repository's top directory (absolute).
    pub root: PathBuf,
    /// The project directory relative to the top, `/`-separated, with a trailing `/`
    /// (`examples/city/`), or empty when the project is the top.
    pub prefix: String,
}

/// Run git in `dir` with `args`; stdout when it exits 0, else its stderr (trimmed).
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        // No file-system monitor program (a repository's config could name one).
        .args(["-c", "core.fsmonitor=false"])
        .args(args)
        // Never ask for credentials or open an editor or pager: this runs in CI too.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(if err.is_empty() { format!("git {} failed", args.first().copied().unwrap_or("")) } else { err })
    }
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).trim_end_matches(['\n', '\r']).to_string()
}

/// The repository holding `dir`, if any.
pub fn repo(dir: &Path) -> Option<Repo> {
    let out = text(git(dir, &["rev-parse", "--show-toplevel", "--show-prefix"]).ok()?);
    let mut lines = out.lines();
    let root = PathBuf::from(lines.next()?);
    let prefix = lines.next().unwrap_or("").to_string();
    Some(Repo { root, prefix })
}

impl Repo {
    /// The commit checked out (full hash), `None` in a repository without commits.
    pub fn head(&self) -> Option<String> {
        git(&self.root, &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]).ok().map(text).filter(|h| !h.is_empty())
    }

    /// The full hash of the commit `rev` names, or git's reason why not.
    pub fn resolve(&self, rev: &str) -> Result<String, String> {
        // `--end-of-options`: a revision that starts with `-` is a name, never an option.
        git(&self.root, &["rev-parse", "--verify", "--quiet", "--end-of-options", &format!("{rev}^{{commit}}")])
            .map(text)
            .ok()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("`{rev}` is not a commit of the repository at {}", self.root.display()))
    }

    /// The files under the project directory (paths relative to it) that differ from the
    /// commit checked out: modified, added to the index, or untracked and not ignored.
    pub fn changed_files(&self) -> Option<Vec<String>> {
        let out = git(&self.root, &["status", "--porcelain=v1", "-z", "--untracked-files=all", "--", &self.pathspec()]).ok()?;
        let mut files = vec![];
        let mut entries = out.split(|b| *b == 0).filter(|e| !e.is_empty());
        while let Some(entry) = entries.next() {
            let status = &entry[..2.min(entry.len())];
            let path = String::from_utf8_lossy(entry.get(3..).unwrap_or_default()).to_string();
            // A rename is followed by its old name, which changed too.
            if status.first() == Some(&b'R') || status.first() == Some(&b'C') {
                if let Some(old) = entries.next() {
                    files.push(String::from_utf8_lossy(old).to_string());
                }
            }
            files.push(path);
        }
        let mut files: Vec<String> = files.into_iter().filter_map(|f| f.strip_prefix(&self.prefix).map(str::to_string)).collect();
        files.sort();
        files.dedup();
        Some(files)
    }

    /// The project's files at commit `commit`: (path relative to the project, blob id), for
    /// regular files only (symbolic links and submodules are not definitions).
    pub fn files_at(&self, commit: &str) -> Result<Vec<(String, String)>, String> {
        let out = git(&self.root, &["ls-tree", "-r", "-z", "--full-tree", commit, "--", &self.pathspec()])?;
        let mut files = vec![];
        for entry in out.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            // `<mode> SP <type> SP <object> TAB <path>`
            let entry = String::from_utf8_lossy(entry);
            let Some((meta, path)) = entry.split_once('\t') else { continue };
            let mut parts = meta.split(' ');
            let (mode, kind, object) = (parts.next(), parts.next(), parts.next());
            if kind != Some("blob") || !matches!(mode, Some("100644" | "100755")) {
                continue;
            }
            if let (Some(object), Some(rel)) = (object, path.strip_prefix(&self.prefix)) {
                files.push((rel.to_string(), object.to_string()));
            }
        }
        files.sort();
        Ok(files)
    }

    /// The bytes of a blob.
    pub fn blob(&self, object: &str) -> Result<Vec<u8>, String> {
        git(&self.root, &["cat-file", "blob", object])
    }

    /// The project directory as a pathspec from the top (`:(top,literal)` so no character
    /// of its name is a wildcard).
    fn pathspec(&self) -> String {
        if self.prefix.is_empty() { ":(top)".to_string() } else { format!(":(top,literal){}", self.prefix) }
    }
}

/// What results.json and the report say about where the definitions came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lineage {
    /// The commit checked out.
    pub commit: String,
    /// The project directory relative to the repository's top (`examples/city`, or empty).
    pub project_path: String,
    /// Files of the project (relative to it) that differ from the commit.
    pub changed: Vec<String>,
}

/// The lineage of a project directory: `None` outside git or before the first commit.
pub fn lineage(dir: &Path) -> Option<Lineage> {
    let repo = repo(dir)?;
    let commit = repo.head()?;
    let changed = repo.changed_files().unwrap_or_default();
    Some(Lineage { commit, project_path: repo.prefix.trim_end_matches('/').to_string(), changed })
}
