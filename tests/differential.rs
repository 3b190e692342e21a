//! Differential test against DuckDB: tests/oracle/differential.py writes random projects
//! (data set, yardstick.yaml, 10-20 random KPIs) with the values DuckDB computes for every
//! KPI from the generator's own description of it (expected.json); this test evaluates each
//! project with `yardstick::evaluate` and compares every row. See docs/testing.md.
//!
//! - `cargo test --test main differential`: the fixed seed, 200 cases.
//! - `YARDSTICK_DIFF_CASES=10000 YARDSTICK_DIFF_SEED=<any text> cargo test --test main
//!   differential -- --nocapture`: a long run (without a seed, one is made from the clock
//!   and printed).
//! - `YARDSTICK_DIFF_ONLY=17,230`: only these cases of the seed (to reproduce a failure).
//! - `YARDSTICK_DIFF_SHOW=n`: show n mismatching KPIs in full (default 25).
//!
//! Every mismatching case is copied to `<target dir>/differential-failures/<seed>/case-N`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use crate::common::*;

const SEED: &str = "20261201";
const CASES: usize = 200;
/// Cases generated per call of the generator (the next batch is generated while this one
/// is evaluated).
const BATCH: usize = 50;
/// Mismatching KPIs shown in full in the failure message (all are counted);
/// `YARDSTICK_DIFF_SHOW` changes it.
const SHOWN: usize = 25;

fn generator() -> PathBuf {
    repo().join("tests/oracle/differential.py")
}

/// python3 with the duckdb package, or a failure that says how to get it (never a skip).
fn require_duckdb() {
    let out = Command::new("python3").args(["-c", "import duckdb"]).output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "the differential test needs DuckDB for Python: run `pip install duckdb` (CI installs it)\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("the differential test needs python3 with DuckDB (`pip install duckdb`): cannot run python3: {e}"),
    }
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().map(|v| v.trim().parse().unwrap_or_else(|_| panic!("{name}={v} is not a whole number")))
}

fn seed() -> String {
    match std::env::var("YARDSTICK_DIFF_SEED") {
        Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
        _ if std::env::var("YARDSTICK_DIFF_CASES").is_ok() => {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            format!("{}", nanos % 1_000_000_000_000)
        }
        _ => SEED.to_string(),
    }
}

/// Starts the generator on these case numbers, writing into `out`.
fn spawn_generator(seed: &str, cases: &[usize], out: &Path) -> Child {
    let jobs = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(4);
    let mut cmd = Command::new("python3");
    cmd.arg(generator()).args(["--seed", seed, "--out"]).arg(out).args(["--jobs", &jobs.to_string()]);
    let contiguous = cases.windows(2).all(|w| w[1] == w[0] + 1);
    if contiguous {
        cmd.args(["--start", &cases[0].to_string(), "--cases", &cases.len().to_string()]);
    } else {
        for c in cases {
            cmd.args(["--only", &c.to_string()]);
        }
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("start tests/oracle/differential.py")
}

fn wait_generator(child: Child) {
    let out = child.wait_with_output().expect("wait for the generator");
    assert!(out.status.success(), "tests/oracle/differential.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// One KPI that does not match.
struct Mismatch {
    case: usize,
    kpi: String,
    features: Vec<String>,
    text: String,
}

#[derive(Default)]
struct Tally {
    cases: usize,
    kpis: usize,
    rows: usize,
    features: BTreeMap<String, usize>,
    mismatches: Vec<Mismatch>,
    failed_cases: BTreeSet<usize>,
}

#[test]
fn differential() {
    require_duckdb();
    let seed = seed();
    let only: Option<Vec<usize>> = std::env::var("YARDSTICK_DIFF_ONLY").ok().map(|v| {
        v.split(',').filter(|s| !s.trim().is_empty()).map(|s| s.trim().parse().expect("YARDSTICK_DIFF_ONLY: case numbers")).collect()
    });
    let cases: Vec<usize> = only.unwrap_or_else(|| (0..env_usize("YARDSTICK_DIFF_CASES").unwrap_or(CASES)).collect());
    assert!(!cases.is_empty(), "no cases to run");
    let failures_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("differential-failures").join(&seed);
    println!("differential: seed {seed}, {} cases", cases.len());

    let started = Instant::now();
    let work = tempfile::tempdir().expect("tempdir");
    let batches: Vec<&[usize]> = cases.chunks(BATCH).collect();
    let dir_of = |b: usize| work.path().join(format!("batch-{b}"));
    let mut next = Some(spawn_generator(&seed, batches[0], &dir_of(0)));
    let mut tally = Tally::default();
    let mut generating = std::time::Duration::ZERO;
    for (b, batch) in batches.iter().enumerate() {
        let wait = Instant::now();
        wait_generator(next.take().expect("generator"));
        generating += wait.elapsed();
        if b + 1 < batches.len() {
            next = Some(spawn_generator(&seed, batches[b + 1], &dir_of(b + 1)));
        }
        for &case in batch.iter() {
            let dir = dir_of(b).join(format!("case-{case:05}"));
            let before = tally.mismatches.len();
            check_case(&dir, case, &mut tally);
            if tally.mismatches.len() > before {
                tally.failed_cases.insert(case);
                let keep = failures_dir.join(format!("case-{case:05}"));
                let _ = std::fs::remove_dir_all(&keep);
                copy_dir(&dir, &keep);
            }
        }
        let _ = std::fs::remove_dir_all(dir_of(b));
        if batches.len() > 4 {
            println!(
                "differential: {} of {} cases, {} mismatching KPIs, {:.0?}",
                tally.cases,
                cases.len(),
                tally.mismatches.len(),
                started.elapsed()
            );
        }
    }
    let elapsed = started.elapsed();
    println!(
        "differential: seed {seed}: {} cases, {} KPIs, {} rows compared in {elapsed:.1?} ({generating:.1?} waiting for the generator)",
        tally.cases, tally.kpis, tally.rows
    );
    let coverage: Vec<String> = tally.features.iter().map(|(f, n)| format!("{f} {n}")).collect();
    println!("differential: KPIs checked per feature: {}", coverage.join(", "));
    assert!(tally.kpis >= tally.cases * 5, "too few KPIs checked: {} in {} cases", tally.kpis, tally.cases);
    if tally.mismatches.is_empty() {
        return;
    }
    panic!("{}", report(&seed, &tally, &failures_dir));
}

fn report(seed: &str, tally: &Tally, failures_dir: &Path) -> String {
    let mut out = String::new();
    out += &format!(
        "{} KPI(s) in {} of {} case(s) do not match DuckDB (seed {seed}).\nThe cases are kept in {}\n",
        tally.mismatches.len(),
        tally.failed_cases.len(),
        tally.cases,
        failures_dir.display()
    );
    let only: Vec<String> = tally.failed_cases.iter().take(20).map(|c| c.to_string()).collect();
    out += &format!(
        "Reproduce{}: YARDSTICK_DIFF_SEED={seed} YARDSTICK_DIFF_ONLY={} cargo test --test main differential -- --nocapture\n",
        if tally.failed_cases.len() > 20 { " (the first 20 failing cases)" } else { "" },
        only.join(",")
    );
    // Which features the mismatching (non-derived) KPIs share: the likely cause.
    let mut shared: BTreeMap<&str, usize> = BTreeMap::new();
    let direct: Vec<&Mismatch> = tally.mismatches.iter().filter(|m| !m.features.iter().any(|f| f == "derived")).collect();
    for m in &direct {
        for f in &m.features {
            *shared.entry(f.as_str()).or_default() += 1;
        }
    }
    let mut common: Vec<(&str, usize)> = shared.into_iter().collect();
    common.sort_by(|a, b| b.1.cmp(&a.1));
    let common: Vec<String> = common.iter().take(12).map(|(f, n)| format!("{f} {n}/{}", direct.len())).collect();
    out += &format!("Features of the mismatching query KPIs: {}\n", common.join(", "));
    let shown = env_usize("YARDSTICK_DIFF_SHOW").unwrap_or(SHOWN);
    for m in tally.mismatches.iter().take(shown) {
        out += &format!("\n---- case {} KPI {}\n{}", m.case, m.kpi, m.text);
    }
    if tally.mismatches.len() > shown {
        out += &format!("\n... and {} more mismatching KPIs (YARDSTICK_DIFF_SHOW=n shows more)\n", tally.mismatches.len() - shown);
    }
    out
}

fn check_case(dir: &Path, case: usize, tally: &mut Tally) {
    tally.cases += 1;
    let text = std::fs::read_to_string(dir.join("expected.json")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let expected: Value = serde_json::from_str(&text).expect("expected.json");
    let kpis = expected["kpis"].as_array().expect("kpis");
    let keep = |tally: &mut Tally, kpi: &str, features: Vec<String>, text: String| {
        tally.mismatches.push(Mismatch { case, kpi: kpi.to_string(), features, text });
    };
    let outcome = std::panic::catch_unwind(|| yardstick::evaluate(dir).map_err(|f| f.render(false)));
    let results = match outcome {
        Ok(Ok((_, results))) => results,
        Ok(Err(diagnostics)) => {
            keep(tally, "(build)", vec!["build_error".into()], format!("{}\nyardstick failed:\n{diagnostics}\n", dir.display()));
            return;
        }
        Err(panic) => {
            let msg = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
            keep(tally, "(panic)", vec!["panic".into()], format!("{}\nyardstick panicked: {}\n", dir.display(), msg.unwrap_or_default()));
            return;
        }
    };
    for want in kpis {
        let id = want["id"].as_str().expect("id");
        let features: Vec<String> =
            want["features"].as_array().map(|a| a.iter().filter_map(|f| f.as_str().map(String::from)).collect()).unwrap_or_default();
        tally.kpis += 1;
        for f in &features {
            *tally.features.entry(f.clone()).or_default() += 1;
        }
        let Some(got) = results.kpis.iter().find(|k| k.id == id) else {
            keep(tally, id, features, format!("{}\nno KPI `{id}` in the results\n", dir.display()));
            continue;
        };
        let got_rows: Vec<Value> = got.rows.iter().map(|r| serde_json::to_value(r).expect("row")).collect();
        let want_rows = want["rows"].as_array().expect("rows");
        tally.rows += want_rows.len();
        let by: Vec<&str> = want["by"].as_array().expect("by").iter().map(|b| b.as_str().expect("by column")).collect();
        let exact = want["exact"].as_bool().unwrap_or(false);
        let problems = compare_rows(&got_rows, want_rows, &by, exact);
        if !problems.is_empty() {
            let definition = want["definition"].as_str().unwrap_or_default();
            let mut text = format!("{}\n{definition}\n", dir.display());
            if let Some(sql) = want["oracle"].as_str() {
                text += &format!("oracle SQL (expected.json): {} characters\n", sql.len());
            }
            text += &format!("features: {}\n", features.join(" "));
            for p in problems.iter().take(10) {
                text += &format!("  {p}\n");
            }
            if problems.len() > 10 {
                text += &format!("  ... {} more rows differ\n", problems.len() - 10);
            }
            keep(tally, id, features, text);
        }
    }
}

/// The row's period and groups, e.g. `2024-03-01 g1="a" i2=null`.
fn key(row: &Value, by: &[&str]) -> String {
    let mut k = row["period"].as_str().unwrap_or("(no period)").to_string();
    for b in by {
        k += &format!(" {b}={}", row.get(*b).unwrap_or(&Value::Null));
    }
    k
}

fn value_text(row: &Value) -> String {
    format!("{} ({})", row["value"], row["status"].as_str().unwrap_or("?"))
}

fn same_value(got: &Value, want: &Value, exact: bool) -> bool {
    match (got.as_f64(), want.as_f64()) {
        (Some(a), Some(b)) => {
            if exact {
                a == b
            } else {
                close(a, b)
            }
        }
        _ => got.is_null() && want.is_null(),
    }
}

/// Same periods and groups in the same order, same values (exact for counts, else 1e-9
/// relative; null = no data on both sides) and the same statuses.
fn compare_rows(got: &[Value], want: &[Value], by: &[&str], exact: bool) -> Vec<String> {
    let got_keys: Vec<String> = got.iter().map(|r| key(r, by)).collect();
    let want_keys: Vec<String> = want.iter().map(|r| key(r, by)).collect();
    let mut problems = vec![];
    let got_map: BTreeMap<&String, &Value> = got_keys.iter().zip(got).collect();
    let want_map: BTreeMap<&String, &Value> = want_keys.iter().zip(want).collect();
    for (k, w) in want_keys.iter().zip(want) {
        match got_map.get(k) {
            None => problems.push(format!("{k}: missing, want {}", value_text(w))),
            Some(g) => {
                if !same_value(&g["value"], &w["value"], exact) || g["status"] != w["status"] {
                    problems.push(format!("{k}: got {}, want {}", value_text(g), value_text(w)));
                }
            }
        }
    }
    for (k, g) in got_keys.iter().zip(got) {
        if !want_map.contains_key(k) {
            problems.push(format!("{k}: not expected, got {}", value_text(g)));
        }
    }
    if problems.is_empty() && got_keys != want_keys {
        problems.push(format!("rows in a different order:\n   got {}\n  want {}", got_keys.join(" | "), want_keys.join(" | ")));
    }
    problems
}
