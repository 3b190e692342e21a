//! `yardstick sql --dialect X`: the example's exported SQL gives yardstick's numbers on DuckDB
//! and on a throwaway PostgreSQL server (tests/oracle/warehouse.py loads the data with the
//! declared types, runs the files, compares with results.json), plus the command's edges.

use std::process::Command;

use crate::common::{repo, yardstick};
use crate::pg::Postgres;

fn has_python_duckdb() -> bool {
    Command::new("python3").args(["-c", "import duckdb"]).output().is_ok_and(|o| o.status.success())
}

#[test]
fn warehouse_sql_of_the_example_gives_yardsticks_numbers_on_duckdb_and_postgres() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let pg = Postgres::start_or_skip("the warehouse test");
    if !has_python_duckdb() {
        assert!(!ci, "the warehouse test needs python3 with duckdb (scripts/test installs it)");
        println!("warehouse test skipped locally: python3 with duckdb is missing");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let example = repo().join("examples/city");
    let out = tmp.path().join("out");
    let (code, _, stderr) =
        yardstick(&["build", &example.to_string_lossy(), "--audience", "internal", "--out", &out.to_string_lossy(), "--allow-outside"]);
    assert_eq!(code, 0, "build failed: {stderr}");
    let mut args: Vec<String> = vec![
        repo().join("tests/oracle/warehouse.py").to_string_lossy().into(),
        out.join("results.json").to_string_lossy().into(),
        example.join("data").to_string_lossy().into(),
    ];
    for (dialect, flag) in [("duckdb", "--duckdb"), ("postgres", "--postgres")] {
        if dialect == "postgres" && pg.is_none() {
            continue;
        }
        let dir = tmp.path().join(dialect);
        let (code, stdout, stderr) =
            yardstick(&["sql", &example.to_string_lossy(), "--dialect", dialect, "--all", "--out", &dir.to_string_lossy()]);
        // Every KPI of the example exports (issue 21: "done when").
        assert_eq!(code, 0, "sql --dialect {dialect} --all: {stderr}");
        assert_eq!(stdout.lines().filter(|l| l.starts_with("wrote ")).count(), 23, "{stdout}");
        args.push(flag.into());
        args.push(dir.to_string_lossy().into());
    }
    if let Some(pg) = &pg {
        args.push("--pg-host".into());
        args.push(pg.socket_dir().to_string_lossy().into());
    }
    let out = Command::new("python3").args(&args).output().expect("python3 runs");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{report}");
    assert!(out.status.success(), "the exported SQL differs from yardstick's results:\n{report}");
    let engines = if pg.is_some() { 2 } else { 1 };
    assert_eq!(report.lines().filter(|l| l.ends_with("rows equal")).count(), 23 * engines, "{report}");
}

#[test]
fn warehouse_sql_refuses_what_a_dialect_cannot_compute_exactly() {
    let example = repo().join("examples/city");
    let dir = example.to_string_lossy();
    // MySQL has no exact percentile: a coded error, exit 1, nothing on stdout.
    let (code, stdout, stderr) = yardstick(&["sql", &dir, "--dialect", "mysql", "answer_seconds_p90", "--color", "never"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("YS0420") && stderr.contains("exact percentile"), "{stderr}");
    // What it can say, it says: the month as MySQL truncates it, no FILTER clause.
    let (code, stdout, stderr) = yardstick(&["sql", &dir, "--dialect", "mysql", "answered_10s"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("DATE_FORMAT(`received_at`, '%Y-%m-01')") && !stdout.contains("FILTER"), "{stdout}");
    assert!(stdout.contains("TIMESTAMPDIFF(MICROSECOND"), "{stdout}");
    // --all lists the KPIs it cannot export, writes the others, exits 1.
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("sql");
    let (code, stdout, stderr) = yardstick(&["sql", &dir, "--dialect", "sqlite", "--all", "--out", &out.to_string_lossy()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("KPI `answered_10s` cannot be exported as SQLite SQL"), "{stderr}");
    let written: Vec<String> =
        std::fs::read_dir(&out).map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into()).collect()).unwrap_or_default();
    assert_eq!(written, vec!["requests_still_open.sql".to_string()], "{stdout}");
    // The header says what yardstick adds beyond the SQL.
    let text = std::fs::read_to_string(out.join("requests_still_open.sql")).expect("file");
    assert!(text.starts_with("-- KPI `requests_still_open`"), "{text}");
    assert!(text.contains("targets and statuses"), "{text}");
    // An unknown KPI is YS0006, as without --dialect.
    let (code, _, stderr) = yardstick(&["sql", &dir, "--dialect", "postgres", "answerd_10s"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("YS0006") && stderr.contains("answered_10s"), "{stderr}");
}
