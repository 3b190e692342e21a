//! Writing the report to its output directory, so that a reader (or a kill at any moment)
//! sees either the whole previous report or the whole new one, and so that yardstick never
//! deletes, replaces or writes through anything it did not write itself.
//!
//! 1. The files are rendered in memory first: a failure there changes nothing on disk.
//! 2. The output directory is inspected without following links. It may be missing, empty,
//!    or a report yardstick wrote: a directory holding `.yardstick-manifest` and only regular
//!    files that the manifest lists. Anything else (a user's directory, a symbolic link, a
//!    subdirectory, a file the manifest does not list) is refused with YS0500.
//! 3. The new report is written into a fresh directory beside the output directory
//!    (`.NAME.yardstick-new-PID-N`, made with `create_dir`, so it cannot exist before),
//!    manifest first, each file created new (`create_new`: never through a link) and synced.
//! 4. The two directories are swapped: on Linux in one atomic `renameat2(RENAME_EXCHANGE)`;
//!    elsewhere (or on a file system without it) the old one is renamed aside
//!    (`.NAME.yardstick-old-PID-N`) and the new one renamed into place, which leaves a moment
//!    without an output directory, with both reports complete beside it.
//! 5. The old report is removed: only the files its manifest lists, then the directory.
//!
//! Leftovers of a killed build (hidden directories beside the output directory) are removed
//! by the next build, if they hold only what a manifest lists and no running build holds
//! their manifest's lock.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::diagnostics::Diagnostic;
use crate::results::Results;

/// The file, in an output directory, listing the files yardstick wrote there.
pub const MANIFEST: &str = ".yardstick-manifest";

const MANIFEST_HEADER: &str = "# Written by yardstick: the files of this report. yardstick replaces or deletes only the files listed here.";

/// The points at which a build can be killed while it writes; the fault-injection tests stop
/// the writer at each (see [`write_report_with`]).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The staging directory exists, empty.
    StagingCreated,
    /// The staging directory holds the manifest.
    ManifestWritten,
    /// The staging directory holds half of the first file.
    PartialFile,
    /// The staging directory holds the whole new report.
    FilesWritten,
    /// The old report has been renamed aside and the new one not yet into place (only
    /// without an atomic exchange).
    OldMovedAside,
    /// The new report is in place; the old one is beside it, not yet removed.
    Swapped,
}

impl Step {
    pub const ALL: [Step; 6] =
        [Step::StagingCreated, Step::ManifestWritten, Step::PartialFile, Step::FilesWritten, Step::OldMovedAside, Step::Swapped];
}

/// How [`write_report_with`] writes: test knobs.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Stop at this step as if the process were killed there: return at once, clean nothing.
    pub fail_at: Option<Step>,
    /// Use the atomic exchange where the platform has it (else: two renames).
    pub exchange: bool,
    /// Only index.html (with results.json and results.csv), no pages: `build --single-file`.
    pub single_file: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions { fail_at: None, exchange: true, single_file: false }
    }
}

/// Write the report into `out_dir`, replacing the previous report as a whole (see the
/// module's documentation): results.json, results.csv, index.html and, unless
/// `single_file`, the pages (sources.html, kpi/, goal/, owner/). Returns the report's files.
pub fn write_report(results: &Results, out_dir: &Path, single_file: bool) -> Result<Vec<PathBuf>, Diagnostic> {
    write_report_with(results, out_dir, WriteOptions { single_file, ..WriteOptions::default() })
}

/// [`write_report`] with test knobs: `fail_at` simulates a kill at a step.
#[doc(hidden)]
pub fn write_report_with(results: &Results, out_dir: &Path, options: WriteOptions) -> Result<Vec<PathBuf>, Diagnostic> {
    let mut files =
        vec![("results.json".to_string(), super::results_json(results)?), ("results.csv".to_string(), super::csv::results_csv(results))];
    if options.single_file {
        files.push(("index.html".to_string(), super::render_html(results)?));
    } else {
        files.extend(super::pages::render_pages(results)?);
    }
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, t)| (n.as_str(), t.as_bytes())).collect();
    write_files(&files, out_dir, options)?;
    Ok(files.iter().map(|(name, _)| out_dir.join(name)).collect())
}

/// Why writing stopped: a (simulated) kill leaves everything as it is; a failure cleans up.
enum Stop {
    Killed(Step),
    Failed(Diagnostic),
}

type Io<T> = Result<T, Stop>;

fn fail(what: &str, path: &Path, e: std::io::Error) -> Stop {
    Stop::Failed(write_error(format!("cannot {what} {}: {e}", path.display())))
}

fn write_error(message: String) -> Diagnostic {
    Diagnostic::error("YS0500", message)
}

/// Refusal to touch a directory yardstick did not write.
fn refuse(message: String) -> Diagnostic {
    write_error(message).help(
        "yardstick replaces its output directory as a whole and deletes only files it wrote (listed in its \
         `.yardstick-manifest`): write the report to a new or empty directory with `--out` (or `output:` in \
         yardstick.yaml), or move these files away. A report from a yardstick that wrote no manifest: delete it once.",
    )
}

/// The output directory as a parent and a name (the staging directories go beside it).
struct Target {
    /// As given, for messages.
    shown: PathBuf,
    parent: PathBuf,
    name: String,
}

impl Target {
    fn new(out_dir: &Path) -> Result<Target, Diagnostic> {
        let absolute = std::path::absolute(out_dir).map_err(|e| write_error(format!("cannot use {}: {e}", out_dir.display())))?;
        let (Some(parent), Some(name)) = (absolute.parent(), absolute.file_name().and_then(|n| n.to_str())) else {
            return Err(write_error(format!("cannot write the report to {}: name its directory", out_dir.display()))
                .help("give the output directory a name of its own, e.g. `--out public`"));
        };
        Ok(Target { shown: out_dir.to_path_buf(), parent: parent.to_path_buf(), name: name.to_string() })
    }

    fn path(&self) -> PathBuf {
        self.parent.join(&self.name)
    }

    fn prefix(&self, kind: &str) -> String {
        format!(".{}.yardstick-{kind}-", self.name)
    }

    /// A new, empty directory beside the output directory, that did not exist before.
    fn create_beside(&self, kind: &str) -> Io<PathBuf> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = self.parent.join(format!("{}{}-{n}", self.prefix(kind), std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(fail("create", &path, e)),
            }
        }
    }

    /// A name beside the output directory that nothing has (for the two-rename swap).
    fn free_name_beside(&self, kind: &str) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = self.parent.join(format!("{}{}-{n}", self.prefix(kind), std::process::id()));
            // Taken: try the next. Any error: the rename will say what is wrong.
            if std::fs::symlink_metadata(&path).is_err() {
                return path;
            }
        }
    }
}

/// What is at the output directory's path now.
enum Existing {
    Nothing,
    /// An empty directory, or a report yardstick wrote, with its permissions; `lock` holds
    /// the lock of its manifest while this build runs (released on drop).
    Directory {
        permissions: std::fs::Permissions,
        _lock: Option<File>,
    },
}

/// Whether a manifest line names a file yardstick may have written: a relative path of
/// plain names joined by `/` (`index.html`, `kpi/calls.html`), never `.`, `..`, a
/// backslash or the manifest itself.
fn listable(line: &str) -> bool {
    !line.is_empty()
        && line != MANIFEST
        && !line.contains('\\')
        && line.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

/// The files a manifest lists; `None` if the directory has none (or it is not a regular file).
fn read_manifest(dir: &Path) -> std::io::Result<Option<Vec<String>>> {
    let path = dir.join(MANIFEST);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_file() => {}
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    let text = std::fs::read_to_string(&path)?;
    Ok(Some(text.lines().map(str::trim_end).filter(|l| !l.starts_with('#') && listable(l)).map(str::to_string).collect()))
}

fn manifest_text(names: &[&str]) -> String {
    let mut s = format!("{MANIFEST_HEADER}\n");
    for n in names {
        s.push_str(n);
        s.push('\n');
    }
    s
}

/// The directories the listed files are in (`kpi` for `kpi/calls.html`), deepest first.
fn listed_dirs(listed: &[String]) -> Vec<String> {
    let mut dirs: Vec<String> = listed.iter().flat_map(|f| f.match_indices('/').map(|(i, _)| f[..i].to_string())).collect();
    dirs.sort_by(|a, b| b.matches('/').count().cmp(&a.matches('/').count()).then_with(|| a.cmp(b)));
    dirs.dedup();
    dirs
}

/// Whether `dir` holds only what yardstick wrote: nothing, or a manifest and regular files
/// it lists (in subdirectories that only hold listed files). `Err` names what is not
/// yardstick's.
fn check_ours(dir: &Path) -> std::io::Result<Result<(), String>> {
    let listed = read_manifest(dir)?;
    let dirs = listed.as_deref().map(listed_dirs).unwrap_or_default();
    let mut foreign = vec![];
    let mut entries = 0;
    // Breadth first over the subdirectories the manifest implies: nothing else is entered.
    let mut pending: Vec<String> = vec![String::new()];
    while let Some(sub) = pending.pop() {
        let mut names: Vec<(String, std::fs::FileType)> = vec![];
        for entry in std::fs::read_dir(if sub.is_empty() { dir.to_path_buf() } else { dir.join(&sub) })? {
            let entry = entry?;
            entries += 1;
            let name = entry.file_name().to_string_lossy().into_owned();
            names.push((if sub.is_empty() { name } else { format!("{sub}/{name}") }, entry.file_type()?));
        }
        names.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, ty) in names {
            let what = if ty.is_symlink() {
                Some("a symbolic link")
            } else if ty.is_dir() {
                if dirs.contains(&name) {
                    pending.push(name);
                    continue;
                }
                Some("a directory")
            } else if !ty.is_file() {
                Some("not a regular file")
            } else {
                None
            };
            match (what, &listed) {
                (Some(what), _) => foreign.push(format!("`{name}` ({what})")),
                (None, Some(listed)) if name == MANIFEST || listed.contains(&name) => {}
                (None, _) => foreign.push(format!("`{name}`")),
            }
        }
    }
    if entries > 0 && listed.is_none() {
        return Ok(Err(format!("it is not empty and has no {MANIFEST}, so its files are not yardstick's: {}", shorten(&foreign))));
    }
    if foreign.is_empty() { Ok(Ok(())) } else { Ok(Err(format!("it holds what yardstick did not write: {}", shorten(&foreign)))) }
}

fn shorten(names: &[String]) -> String {
    let shown = names.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 8 { format!("{shown} and {} more", names.len() - 8) } else { shown }
}

/// Remove a report directory yardstick wrote: the files its manifest lists, their
/// directories, the manifest, the directory. Leaves it (returns false) if it holds anything
/// else.
fn remove_ours(dir: &Path) -> bool {
    if !matches!(check_ours(dir), Ok(Ok(()))) {
        return false;
    }
    if let Ok(Some(listed)) = read_manifest(dir) {
        for name in &listed {
            let _ = std::fs::remove_file(dir.join(name));
        }
        for sub in listed_dirs(&listed) {
            let _ = std::fs::remove_dir(dir.join(sub));
        }
        let _ = std::fs::remove_file(dir.join(MANIFEST));
    }
    std::fs::remove_dir(dir).is_ok()
}

/// Lock a manifest for this build (advisory, released when the file is closed); `Ok(None)`
/// where the file system has no locks.
fn lock(path: &Path) -> Result<Option<File>, std::fs::TryLockError> {
    let file = File::open(path).map_err(std::fs::TryLockError::Error)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(std::fs::TryLockError::WouldBlock),
        Err(std::fs::TryLockError::Error(_)) => Ok(None),
    }
}

fn inspect(target: &Target) -> Result<Existing, Diagnostic> {
    let path = target.path();
    let shown = target.shown.display();
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(e) => return Err(write_error(format!("cannot read {shown}: {e}"))),
    };
    if meta.file_type().is_symlink() {
        return Err(write_error(format!(
            "the output directory {shown} is a symbolic link; yardstick does not follow links where it writes"
        ))
        .help("give the directory it points to with `--out` (or `output:` in yardstick.yaml)"));
    }
    if !meta.is_dir() {
        return Err(write_error(format!("cannot write the report to {shown}: it exists and is not a directory"))
            .help("choose another output directory with `--out` (or `output:` in yardstick.yaml)"));
    }
    match check_ours(&path) {
        Ok(Ok(())) => {}
        Ok(Err(why)) => return Err(refuse(format!("will not replace {shown}: {why}"))),
        Err(e) => return Err(write_error(format!("cannot read {shown}: {e}"))),
    }
    let lock = match lock(&path.join(MANIFEST)) {
        Ok(l) => l,
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(write_error(format!("another yardstick build is writing {shown}"))
                .help("wait for it to finish, or write this one elsewhere with `--out`"));
        }
        // An empty directory has no manifest to lock.
        Err(std::fs::TryLockError::Error(_)) => None,
    };
    Ok(Existing::Directory { permissions: meta.permissions(), _lock: lock })
}

/// Remove the hidden directories that killed builds left beside the output directory, if
/// they hold only a report (or nothing) and no running build holds them.
fn remove_leftovers(target: &Target) {
    let Ok(entries) = std::fs::read_dir(&target.parent) else { return };
    let prefixes = [target.prefix("new"), target.prefix("old")];
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !prefixes.iter().any(|p| name.starts_with(p)) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let dir = entry.path();
        let in_use = match lock(&dir.join(MANIFEST)) {
            Err(std::fs::TryLockError::WouldBlock) => true,
            Ok(Some(_)) | Ok(None) | Err(std::fs::TryLockError::Error(_)) => false,
        };
        if !in_use {
            remove_ours(&dir);
        }
    }
}

/// Create a file that did not exist, in the fresh staging directory (its subdirectories
/// made as needed), write it whole and sync it.
fn write_new(dir: &Path, name: &str, bytes: &[u8]) -> Io<File> {
    let mut sub = dir.to_path_buf();
    for part in name.split('/').rev().skip(1).collect::<Vec<_>>().into_iter().rev() {
        sub.push(part);
        match std::fs::create_dir(&sub) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail("create", &sub, e)),
        }
    }
    let path = dir.join(name);
    let mut file = OpenOptions::new().write(true).create_new(true).open(&path).map_err(|e| fail("create", &path, e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| fail("write", &path, e))?;
    Ok(file)
}

fn write_files(files: &[(&str, &[u8])], out_dir: &Path, options: WriteOptions) -> Result<(), Diagnostic> {
    let target = Target::new(out_dir)?;
    std::fs::create_dir_all(&target.parent).map_err(|e| write_error(format!("cannot create {}: {e}", target.parent.display())))?;
    let existing = inspect(&target)?;
    remove_leftovers(&target);
    let checkpoint = |step: Step| if options.fail_at == Some(step) { Err(Stop::Killed(step)) } else { Ok(()) };
    let mut staging = None;
    let mut aside = None;
    let outcome = (|| -> Io<()> {
        let dir = target.create_beside("new")?;
        staging = Some(dir.clone());
        checkpoint(Step::StagingCreated)?;
        let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        let manifest = write_new(&dir, MANIFEST, manifest_text(&names).as_bytes())?;
        // Held until the end: a concurrent build leaves this directory alone.
        let _lock = manifest.try_lock().ok().map(|()| manifest);
        checkpoint(Step::ManifestWritten)?;
        for (i, (name, bytes)) in files.iter().enumerate() {
            if i == 0 && options.fail_at == Some(Step::PartialFile) {
                write_new(&dir, name, &bytes[..bytes.len() / 2])?;
                return Err(Stop::Killed(Step::PartialFile));
            }
            write_new(&dir, name, bytes)?;
        }
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        checkpoint(Step::FilesWritten)?;
        let out = target.path();
        match &existing {
            Existing::Nothing => {
                std::fs::rename(&dir, &out).map_err(|e| fail("move the new report to", &out, e))?;
                staging = None;
            }
            Existing::Directory { permissions, .. } => {
                let _ = std::fs::set_permissions(&dir, permissions.clone());
                if options.exchange && exchange(&dir, &out).map_err(|e| fail("swap the new report with", &out, e))? {
                    // The staging directory now holds the old report.
                    aside = staging.take();
                } else {
                    let old = target.free_name_beside("old");
                    std::fs::rename(&out, &old).map_err(|e| fail("move the old report aside from", &out, e))?;
                    aside = Some(old.clone());
                    checkpoint(Step::OldMovedAside)?;
                    if let Err(e) = std::fs::rename(&dir, &out) {
                        // Put the old report back.
                        if std::fs::rename(&old, &out).is_ok() {
                            return Err(fail("move the new report to", &out, e));
                        }
                        return Err(Stop::Failed(write_error(format!(
                            "cannot move the new report to {}: {e}; the previous report is in {}",
                            out.display(),
                            old.display()
                        ))));
                    }
                    staging = None;
                }
            }
        }
        checkpoint(Step::Swapped)?;
        Ok(())
    })();
    match outcome {
        Ok(()) => {
            // Release the old report's lock before removing it.
            drop(existing);
            if let Some(old) = aside {
                remove_ours(&old);
            }
            if let Ok(parent) = File::open(&target.parent) {
                let _ = parent.sync_all();
            }
            Ok(())
        }
        Err(Stop::Killed(step)) => Err(write_error(format!("stopped at {step:?} (fault injection)"))),
        Err(Stop::Failed(d)) => {
            if let Some(dir) = staging {
                remove_ours(&dir);
            }
            Err(d)
        }
    }
}

/// Swap two directories atomically. `Ok(false)` where the platform or the file system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS || e == rustix::io::Errno::OPNOTSUPP => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<bool> {
    Ok(false)
}
