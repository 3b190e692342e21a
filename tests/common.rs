use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
}

/// `../shared/data` beside the repo, when present (CI has it; a fresh clone may not).
pub fn shared_data() -> Option<PathBuf> {
    let p = repo().join("../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        println!("skipping: ../shared/data is not present");
        None
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == "out" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// A temporary project from a yaml text and named .kpi texts.
pub fn project(yaml: &str, kpis: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("yardstick.yaml"), yaml).expect("write yaml");
    for (name, text) in kpis {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write kpi");
    }
    dir
}

/// Compare two floats to 1e-9 relative (results are rounded to 12 significant digits).
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

pub fn results_json(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("results.json")).expect("results.json");
    serde_json::from_str(&text).expect("valid json")
}

pub fn kpi<'a>(results: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    results["kpis"].as_array().expect("kpis").iter().find(|k| k["id"] == id).unwrap_or_else(|| panic!("no KPI {id}"))
}

/// The yardstick binary under test: cargo's, unless `YARDSTICK_BIN` names another (when
/// several checkouts share one target directory, cargo's path can hold another's build).
pub fn yardstick_bin() -> PathBuf {
    std::env::var_os("YARDSTICK_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_yardstick")))
}

/// Run the yardstick binary: exit code, stdout, stderr (no colour).
pub fn yardstick(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(yardstick_bin()).args(args).env("NO_COLOR", "1").output().expect("runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
}

/// Write a Parquet file with DataFusion itself: `COPY (VALUES ...) AS t(columns)`.
pub fn write_parquet(path: &Path, sql_values: &str, columns: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let ctx = datafusion::prelude::SessionContext::new();
        let sql = format!("COPY (SELECT * FROM (VALUES {sql_values}) AS t({columns})) TO '{}' STORED AS PARQUET", path.display());
        ctx.sql(&sql).await.expect("plan copy").collect().await.expect("write parquet");
    });
}

/// The mistakes of tests/fixtures/errors/ (each `.kpi` or `.yaml` but `base.yaml`), sorted.
pub fn error_fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(fixture("errors"))
        .expect("errors dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "base.yaml"))
        .collect();
    paths.sort();
    paths
}

/// A project for one error fixture: a `.kpi` fixture as `case.kpi` beside base.yaml, a
/// `.yaml` fixture as the yardstick.yaml of a project with one valid KPI.
pub fn error_fixture_project(path: &Path, text: &str) -> tempfile::TempDir {
    if path.extension().is_some_and(|e| e == "yaml") {
        project(text, &[("ok.kpi", "goal g \"G\" { kpi n \"N\" { from tickets measure count() } }\n")])
    } else {
        let base = std::fs::read_to_string(fixture("errors/base.yaml")).expect("base.yaml");
        project(&base, &[("case.kpi", text)])
    }
}

/// Run git in `dir` with a fixed identity and no system config; its stdout, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
