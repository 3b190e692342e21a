//! The differential generator's random cases through the warehouse path (issue 21): for each
//! case, yardstick's own rows (`yardstick::evaluate`), `yardstick sql --dialect duckdb|postgres
//! --all`, and tests/oracle/warehouse_differential.py, which loads the generator's typed rows
//! (typed.json, never yardstick's reading of data/t.csv) into DuckDB and a throwaway
//! PostgreSQL, runs every exported file and compares with yardstick's rows: exact for counts,
//! 1e-9 relative otherwise. KPIs a dialect refuses (YS0420) must be refused for a documented
//! reason only. See docs/testing.md, "The warehouse differential".
//!
//! - `cargo nextest run -E 'test(/warehouse_differential/)'`: the fixed seed, 40 cases.
//! - `YARDSTICK_WAREHOUSE_CASES=500 YARDSTICK_WAREHOUSE_SEED=<any text>`: a longer run.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

use crate::common::{repo, yardstick};
use crate::pg::Postgres;

const SEED: &str = "warehouse-20261201";
const CASES: usize = 40;
const DIALECTS: [&str; 2] = ["duckdb", "postgres"];

/// What `sql --dialect postgres|duckdb` may refuse, and why (docs/scale.md, "What each engine
/// takes"): a running total, which yardstick adds up itself (a derived KPI over one is refused
/// with its input's reason).
const DOCUMENTED_REFUSALS: [&str; 1] = ["a running total"];

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().map(|v| v.trim().parse().unwrap_or_else(|_| panic!("{name}={v} is not a whole number")))
}

/// The KPIs `sql --all` refused, from its YS0420 messages: (KPI, what the dialect lacks).
/// A message is drawn over several lines (`  × ...`, then `  │ ...` continuations).
fn refusals(stderr: &str) -> Vec<(String, String)> {
    let mut messages: Vec<String> = vec![];
    let mut open = false;
    for line in stderr.lines() {
        let line = line.trim_start();
        if let Some(first) = line.strip_prefix("× ") {
            open = first.contains("cannot be exported as");
            if open {
                messages.push(first.to_string());
            }
        } else if let (true, Some(more), Some(last)) = (open, line.strip_prefix("│ "), messages.last_mut()) {
            last.push(' ');
            last.push_str(more.trim());
        } else {
            open = false;
        }
    }
    messages
        .iter()
        .filter_map(|m| {
            let id = m.split('`').nth(1)?.to_string();
            let reason = m.split_once("has no exact form for ")?.1.trim().to_string();
            Some((id, reason))
        })
        .collect()
}

#[test]
fn warehouse_differential_cases_give_yardsticks_numbers_on_duckdb_and_postgres() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let duckdb = Command::new("python3").args(["-c", "import duckdb"]).output().is_ok_and(|o| o.status.success());
    if !duckdb {
        assert!(!ci, "the warehouse differential needs python3 with duckdb (scripts/test installs it)");
        println!("warehouse differential skipped locally: python3 with duckdb is missing");
        return;
    }
    let pg = Postgres::start_or_skip("the warehouse differential");
    let seed = std::env::var("YARDSTICK_WAREHOUSE_SEED").ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| SEED.into());
    let cases = env_usize("YARDSTICK_WAREHOUSE_CASES").unwrap_or(CASES);
    let started = Instant::now();
    let work = tempfile::tempdir().expect("tempdir");
    let jobs = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(4);
    let out = Command::new("python3")
        .arg(repo().join("tests/oracle/differential.py"))
        .args(["--seed", &seed, "--cases", &cases.to_string(), "--jobs", &jobs.to_string(), "--out"])
        .arg(work.path())
        .output()
        .expect("run tests/oracle/differential.py");
    assert!(out.status.success(), "the generator failed:\n{}", String::from_utf8_lossy(&out.stderr));

    let mut case_dirs = vec![];
    let mut exported: BTreeMap<&str, usize> = BTreeMap::new();
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    let mut problems = vec![];
    for case in 0..cases {
        let dir = work.path().join(format!("case-{case:05}"));
        let (_, results) = yardstick::evaluate(&dir).unwrap_or_else(|f| panic!("{}: {}", dir.display(), f.render(false)));
        let kpis: Vec<String> = results.kpis.iter().map(|k| k.id.clone()).collect();
        let json = serde_json::to_string(&results).expect("results as JSON");
        std::fs::write(dir.join("yardstick.json"), json).expect("write yardstick.json");
        for dialect in DIALECTS {
            if dialect == "postgres" && pg.is_none() {
                continue;
            }
            let sql_dir = dir.join("sql").join(dialect);
            let (code, stdout, stderr) = yardstick(&[
                "sql",
                &dir.to_string_lossy(),
                "--dialect",
                dialect,
                "--all",
                "--color",
                "never",
                "--out",
                &sql_dir.to_string_lossy(),
            ]);
            let refused_here = refusals(&stderr);
            let written = stdout.lines().filter(|l| l.starts_with("wrote ")).count();
            // Exit 1 exactly when something was refused; every KPI is written or refused.
            if code != i32::from(!refused_here.is_empty()) || written + refused_here.len() != kpis.len() {
                problems.push(format!(
                    "case {case} {dialect}: exit {code}, {written} written, {} refused of {} KPIs\n{stderr}",
                    refused_here.len(),
                    kpis.len()
                ));
            }
            *exported.entry(dialect).or_default() += written;
            for (id, reason) in refused_here {
                if !DOCUMENTED_REFUSALS.iter().any(|r| reason.starts_with(r)) {
                    problems.push(format!("case {case} {dialect}: KPI `{id}` refused for an undocumented reason: {reason}"));
                }
                let short = reason.split(" (").next().unwrap_or(&reason).to_string();
                *refused.entry(format!("{dialect}: {short}")).or_default() += 1;
            }
        }
        case_dirs.push(dir);
    }

    let mut cmd = Command::new("python3");
    cmd.arg(repo().join("tests/oracle/warehouse_differential.py")).args(&case_dirs);
    if let Some(pg) = &pg {
        cmd.arg("--pg-host").arg(pg.socket_dir());
    }
    let out = cmd.output().expect("run tests/oracle/warehouse_differential.py");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{report}");
    println!("warehouse differential: seed {seed}, {cases} cases in {:.1?}", started.elapsed());
    println!("warehouse differential: KPIs exported: {exported:?}");
    println!("warehouse differential: KPIs refused, by reason: {refused:?}");
    if !out.status.success() {
        problems.push(format!("the exported SQL differs from yardstick's rows:\n{report}"));
    }
    // Each engine compared every file it was given (a case without SQL proves nothing).
    for dialect in DIALECTS {
        if let Some(n) = exported.get(dialect) {
            let line = format!("{dialect}: {cases} cases, {n} KPIs compared");
            if !report.contains(&line) {
                problems.push(format!("expected `{line}` in the oracle's tally"));
            }
            if *n < cases * 5 {
                problems.push(format!("{dialect}: too few KPIs exported ({n} in {cases} cases)"));
            }
        }
    }
    assert!(problems.is_empty(), "reproduce: YARDSTICK_WAREHOUSE_SEED={seed} YARDSTICK_WAREHOUSE_CASES={cases}\n{}", problems.join("\n"));
}
