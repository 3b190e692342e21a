//! Finding and reading a project's files: `yardstick.yaml` and every `*.kpi` below the
//! project directory (sorted, so ids and output order never depend on the file system).

use std::path::{Path, PathBuf};

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::span::{FileId, SourceMap, Span};

pub const CONFIG_FILE: &str = "yardstick.yaml";

/// Which files a project may read and write: those under its directory, and under the
/// directories its yardstick.yaml lists in `allow_paths` (or anywhere with
/// `--allow-outside`). Definitions come from pull requests: `path: /etc/passwd` must not
/// publish the machine's users in a report.
#[derive(Debug, Clone)]
pub struct Confinement {
    root: PathBuf,
    allowed: Vec<PathBuf>,
    anywhere: bool,
}

impl Confinement {
    pub fn new(dir: &Path, allow_paths: &[String], anywhere: bool) -> Self {
        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        Confinement { root: canonical(dir), allowed: allow_paths.iter().map(|a| canonical(&dir.join(a))).collect(), anywhere }
    }

    /// The file's real path if it may be used, else why not. Symlinks are resolved first, so
    /// a link inside the project that points outside it is outside.
    pub fn check(&self, path: &Path) -> Result<PathBuf, String> {
        let real = std::fs::canonicalize(path).map_err(|e| format!("cannot resolve {}: {e}", path.display()))?;
        self.check_real(real)
    }

    /// Like [`Confinement::check`] for a path that may not exist yet (an output directory):
    /// its nearest existing ancestor is resolved.
    pub fn check_new(&self, path: &Path) -> Result<PathBuf, String> {
        let mut existing = path.to_path_buf();
        let mut rest = vec![];
        while !existing.exists() {
            match (existing.file_name().map(|n| n.to_os_string()), existing.parent()) {
                (Some(name), Some(parent)) => {
                    rest.push(name);
                    existing = if parent.as_os_str().is_empty() { PathBuf::from(".") } else { parent.to_path_buf() };
                }
                _ => break,
            }
        }
        if rest.iter().any(|n| n == "..") {
            return Err(format!("{} goes up with `..` below a directory that does not exist", path.display()));
        }
        let mut real = std::fs::canonicalize(&existing).map_err(|e| format!("cannot resolve {}: {e}", existing.display()))?;
        real.extend(rest.iter().rev());
        self.check_real(real)
    }

    fn check_real(&self, real: PathBuf) -> Result<PathBuf, String> {
        if self.anywhere || real.starts_with(&self.root) || self.allowed.iter().any(|a| real.starts_with(a)) {
            Ok(real)
        } else {
            Err(format!("it leads to {}, outside the project directory", real.display()))
        }
    }
}

/// `path` relative to `base` for display, by components (`./city/data/x.csv` and
/// `city/data/x.csv` both give `data/x.csv`), with `/` separators; the path as given when it
/// is not below `base`.
pub fn shown_path(path: &Path, base: &Path) -> String {
    use std::path::Component;
    fn parts(p: &Path) -> Vec<Component<'_>> {
        p.components().filter(|c| !matches!(c, Component::CurDir)).collect()
    }
    let (p, b) = (parts(path), parts(base));
    // An absolute path is never below a relative base (`.` has no parts left to compare, and
    // the root's `/` would otherwise be joined as a part: `//work/...`).
    if path.has_root() != base.has_root() {
        return path.to_string_lossy().replace('\\', "/");
    }
    let rel: Vec<String> = if p.len() >= b.len() && p[..b.len()] == b[..] {
        p[b.len()..].iter().map(|c| c.as_os_str().to_string_lossy().to_string()).collect()
    } else {
        return path.to_string_lossy().replace('\\', "/");
    };
    rel.join("/")
}

/// The raw text of a project, loaded into a source map.
#[derive(Debug, Clone)]
pub struct ProjectFiles {
    pub dir: PathBuf,
    pub config: FileId,
    pub kpi_files: Vec<FileId>,
}

/// Read `yardstick.yaml` and all `.kpi` files under `dir` into `sources`.
pub fn load_project(dir: &Path, sources: &mut SourceMap) -> Result<ProjectFiles, Diagnostics> {
    let config_path = dir.join(CONFIG_FILE);
    if !dir.is_dir() {
        let what = if dir.exists() { "is not a directory" } else { "does not exist (no such directory)" };
        return Err(Diagnostic::error("YS0001", format!("{} {what}", dir.display()))
            .help("give the directory that holds yardstick.yaml, e.g. `yardstick build examples/city`")
            .into());
    }
    let config = match std::fs::read(&config_path) {
        Ok(bytes) => add_text(sources, CONFIG_FILE, bytes)?,
        Err(e) => {
            return Err(Diagnostic::error("YS0001", format!("cannot read {}: {e}", config_path.display()))
                .help("a yardstick project is a directory with a yardstick.yaml and one or more .kpi files")
                .into());
        }
    };
    let mut paths = vec![];
    collect_kpi_files(dir, dir, &mut paths).map_err(|e| Diagnostic::error("YS0001", format!("cannot list {}: {e}", dir.display())))?;
    paths.sort();
    if paths.is_empty() {
        return Err(Diagnostic::error("YS0003", format!("no .kpi files in {}", dir.display()))
            .help("define goals and KPIs in files ending in .kpi, e.g. metrics/service.kpi")
            .into());
    }
    let mut kpi_files = vec![];
    let mut errors = vec![];
    // A `.kpi` file is a definition: one that links outside the project is never read (its
    // lines would be shown in syntax errors), whatever `allow_paths` says.
    let inside = Confinement::new(dir, &[], false);
    for (shown, path) in paths {
        if let Err(why) = inside.check(&path) {
            errors.push(
                Diagnostic::error("YS0304", format!("{shown} is not read: {why}"))
                    .help("definitions must be files inside the project directory: copy the file in instead of linking to it"),
            );
            continue;
        }
        match std::fs::read(&path) {
            Ok(bytes) => match add_text(sources, &shown, bytes) {
                Ok(id) => kpi_files.push(id),
                Err(d) => errors.push(d),
            },
            Err(e) => errors.push(Diagnostic::error("YS0001", format!("cannot read {shown}: {e}"))),
        }
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    Ok(ProjectFiles { dir: dir.to_path_buf(), config, kpi_files })
}

/// YS0304: a path in yardstick.yaml that leads outside the project.
pub fn outside_error(key: &str, written: &str, why: &str) -> Diagnostic {
    Diagnostic::error("YS0304", format!("`{key}: {written}` is refused: {why}")).help(
        "yardstick reads and writes only inside the project directory; to use another directory, list it under `allow_paths:` in yardstick.yaml or pass `--allow-outside` (reviewers: watch such changes)",
    )
}

/// Add a file's bytes to the source map as text. A file that is not UTF-8 is an error at its
/// first bad byte (line and column); it is added with bad bytes replaced, so the error can show
/// the line.
pub(crate) fn add_text(sources: &mut SourceMap, shown: &str, bytes: Vec<u8>) -> Result<FileId, Diagnostic> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(sources.add(shown, text)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let bad = e.as_bytes().get(at).copied().unwrap_or(0);
            let id = sources.add(shown, String::from_utf8_lossy(e.as_bytes()).into_owned());
            // The valid prefix is unchanged, and the bad bytes became one U+FFFD (3 bytes).
            let span = Span::new(id, at..at + '\u{fffd}'.len_utf8());
            let (line, col) = sources.line_col(span);
            Err(Diagnostic::error("YS0001", format!("{shown} is not UTF-8 text: byte 0x{bad:02X} at line {line}, column {col}"))
                .at(span, "not UTF-8")
                .help("save the file as UTF-8 (editors offer the encoding when saving); only data files can be in another encoding (`encoding:` in yardstick.yaml)"))
        }
    }
}

pub(crate) fn collect_kpi_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        // Hidden directories (.git) and build output are never part of the definitions.
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        let ft = entry.file_type()?;
        if ft.is_dir() {
            collect_kpi_files(root, &path, out)?;
        } else if name.ends_with(".kpi") {
            let shown = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            out.push((shown, path));
        }
    }
    Ok(())
}

/// Merge `calendar.holidays_file` into `calendar.holidays`. The file is added to the source
/// map so an error can point at the bad line.
pub fn load_holidays(
    dir: &Path,
    config: &mut crate::config::Config,
    yaml: FileId,
    sources: &mut SourceMap,
    allow_outside: bool,
) -> Result<(), Diagnostics> {
    let Some(name) = config.calendar.holidays_file.clone() else { return Ok(()) };
    let file = read_listed(dir, &config.allow_paths, yaml, sources, allow_outside, &["calendar", "holidays_file"], &name, "holidays file")?;
    let text = sources.get(file).text.clone();
    let mut errors = vec![];
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let first = line.split(',').next().unwrap_or("").trim_start_matches('\u{feff}').trim().trim_matches('"');
        let start = offset;
        offset += line.len();
        if first.is_empty() || first.starts_with('#') {
            continue;
        }
        match chrono::NaiveDate::parse_from_str(first, "%Y-%m-%d") {
            Ok(d) => config.calendar.holidays.push(d.to_string()),
            // A header line is allowed.
            Err(_) if i == 0 => {}
            Err(_) => errors.push(
                Diagnostic::error("YS0002", format!("`{first}` in the holidays file is not a YYYY-MM-DD date"))
                    .at(crate::span::Span::new(file, start..start + line.trim_end().len()), "this line")
                    .help("each line starts with a date such as 2025-12-25; anything after a comma is ignored"),
            ),
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(Diagnostics(errors)) }
}

/// A text file named in yardstick.yaml at `key` (relative to the project, confined like
/// sources), added to the source map so errors can point into it.
#[allow(clippy::too_many_arguments)]
fn read_listed(
    dir: &Path,
    allow_paths: &[String],
    yaml: FileId,
    sources: &mut SourceMap,
    allow_outside: bool,
    key: &[&str],
    name: &str,
    what: &str,
) -> Result<FileId, Diagnostics> {
    let path = dir.join(name);
    let yaml_text = sources.get(yaml).text.clone();
    let key_span = crate::config::yaml_key_span(yaml, &yaml_text, key);
    if let (true, Err(why)) = (path.exists(), Confinement::new(dir, allow_paths, allow_outside).check(&path)) {
        let last = key.last().copied().unwrap_or_default();
        return Err(Diagnostics::one(outside_error(last, name, &why).at(key_span, "outside the project")));
    }
    let bytes = std::fs::read(&path).map_err(|e| {
        Diagnostics::one(
            Diagnostic::error("YS0001", format!("cannot read {what} {}: {e}", path.display()))
                .at(key_span, "this file")
                .help("the path is relative to the directory of yardstick.yaml; the file must be UTF-8 text"),
        )
    })?;
    add_text(sources, name, bytes).map_err(Diagnostics::one)
}

/// Read `events_file` and `benchmarks_file` (CSV text, parsed by `check`).
pub fn load_annotations(
    dir: &Path,
    config: &mut crate::config::Config,
    yaml: FileId,
    sources: &mut SourceMap,
    allow_outside: bool,
) -> Result<(), Diagnostics> {
    let mut errors = vec![];
    for (key, what) in [("events_file", "events file"), ("benchmarks_file", "benchmarks file")] {
        let name = if key == "events_file" { config.events_file.clone() } else { config.benchmarks_file.clone() };
        let Some(name) = name else { continue };
        match read_listed(dir, &config.allow_paths, yaml, sources, allow_outside, &[key], &name, what) {
            Ok(file) => {
                let loaded = Some((file, sources.get(file).text.clone()));
                if key == "events_file" {
                    config.events_text = loaded;
                } else {
                    config.benchmarks_text = loaded;
                }
            }
            Err(d) => errors.extend(d.0),
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(Diagnostics(errors)) }
}
