//! The command line as users run it: exit codes, output, help.

use crate::common::*;

#[test]
fn check_exit_codes() {
    let city = repo().join("examples/city");
    let (code, stdout, _) = yardstick(&["check", city.to_str().expect("path")]);
    assert_eq!(code, 0);
    assert!(stdout.contains("23 KPIs"), "{stdout}");

    let broken = tempfile::tempdir().expect("tempdir");
    copy_dir(&city, broken.path());
    let path = broken.path().join("metrics/safety.kpi");
    let text = std::fs::read_to_string(&path).expect("kpi").replace("by district", "by distrcit");
    std::fs::write(&path, text).expect("write");
    let (code, _, stderr) = yardstick(&["check", broken.path().to_str().expect("path")]);
    assert_eq!(code, 1);
    assert!(stderr.contains("metrics/safety.kpi:"), "{stderr}");
    assert!(stderr.contains("unknown column `distrcit`"), "{stderr}");
    assert!(stderr.contains("did you mean `district`?"), "{stderr}");

    let (code, _, _) = yardstick(&["check", "--no-such-flag"]);
    assert_eq!(code, 2);
    let (code, _, stderr) = yardstick(&["check", "/definitely/not/here"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no such directory"), "{stderr}");
}

#[test]
fn build_writes_report_where_asked() {
    let out = tempfile::tempdir().expect("tempdir");
    let target = out.path().join("public");
    let city = repo().join("examples/city");
    let (code, stdout, stderr) = yardstick(&["build", city.to_str().expect("path"), "--out", target.to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("index.html"), "{stdout}");
    assert!(target.join("index.html").is_file());
    assert!(target.join("results.json").is_file());
}

#[test]
fn a_failed_build_keeps_the_previous_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&repo().join("examples/city"), dir.path());
    let out = dir.path().join("out");
    let p = dir.path().to_str().expect("path");
    assert_eq!(yardstick(&["build", p]).0, 0);
    let before = std::fs::read(out.join("results.json")).expect("results");
    // Break the data: a bad date in permits.csv makes the build fail.
    let csv = dir.path().join("data/permits.csv");
    let text = std::fs::read_to_string(&csv).expect("csv").replacen("2024-01-01,", "2024-02-31,", 1);
    std::fs::write(&csv, text).expect("write");
    let (code, _, stderr) = yardstick(&["build", p]);
    assert_eq!(code, 1);
    assert!(stderr.contains("data/permits.csv:2:"), "names file and line: {stderr}");
    assert!(stderr.contains("\"2024-02-31\""), "shows the bad text: {stderr}");
    assert_eq!(std::fs::read(out.join("results.json")).expect("results"), before);
}

#[test]
fn sql_prints_the_query() {
    let city = repo().join("examples/city");
    let (code, stdout, _) = yardstick(&["sql", city.to_str().expect("path"), "answered_10s"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("SELECT") && stdout.contains("FROM") && stdout.contains("calls_911"), "{stdout}");
    assert!(stdout.contains("date_trunc('month'"), "{stdout}");
    let (code, _, stderr) = yardstick(&["sql", city.to_str().expect("path"), "answered10s"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("YS0006") && stderr.contains("no KPI `answered10s`") && stderr.contains("did you mean `answered_10s`?"),
        "{stderr}"
    );
}

#[test]
fn version_and_help() {
    let (code, stdout, _) = yardstick(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), format!("yardstick {}", env!("CARGO_PKG_VERSION")));
    for sub in ["build", "check", "sql"] {
        let (code, stdout, _) = yardstick(&[sub, "--help"]);
        assert_eq!(code, 0);
        assert!(stdout.contains("Examples:"), "{sub} --help has examples: {stdout}");
    }
}

#[test]
fn as_of_builds_the_report_as_it_was() {
    let city = repo().join("examples/city");
    let out = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) =
        yardstick(&["build", city.to_str().expect("path"), "--out", out.path().to_str().expect("path"), "--as-of", "2024-03-31"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let results = results_json(out.path());
    assert_eq!(results["as_of"], "2024-03-31");
    // expected.json (plain Python over the CSVs): calls in Jan-Mar 2024; nothing later.
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(city.join("expected.json")).expect("expected")).expect("json");
    let rows = kpi(&results, "calls_per_month")["rows"].as_array().expect("rows");
    let periods: Vec<&str> = rows.iter().map(|r| r["period"].as_str().expect("period")).collect();
    assert_eq!(periods, ["2024-01-01", "2024-02-01", "2024-03-01"]);
    for r in rows {
        let p = r["period"].as_str().expect("period");
        assert_eq!(r["value"].as_f64(), expected["calls_per_month"][p].as_f64(), "{p}");
    }
    // The fiscal year to date stops at the as-of month too.
    let fytd = kpi(&results, "permits_issued_fytd")["rows"].as_array().expect("rows");
    assert_eq!(fytd.last().expect("row")["period"], "2024-03-01");
    assert_eq!(fytd.last().expect("row")["value"].as_f64(), expected["permits_issued_fytd"]["2024-03-01"].as_f64());

    let (code, _, stderr) = yardstick(&["build", city.to_str().expect("path"), "--as-of", "2024-02-30"]);
    assert_eq!(code, 2, "a bad date is a usage error");
    assert!(stderr.contains("not a date"), "{stderr}");
}

#[test]
fn sql_of_a_windowed_kpi_shows_the_offsets() {
    let city = repo().join("examples/city");
    let (code, stdout, _) = yardstick(&["sql", city.to_str().expect("path"), "answered_10s_rolling"]);
    assert_eq!(code, 0);
    // rolling 3 months: offsets 0, 1 and 2 months.
    assert!(stdout.starts_with("WITH window_offsets"), "{stdout}");
    assert!(stdout.contains("INTERVAL '2 months'") && !stdout.contains("INTERVAL '3 months'"), "{stdout}");
    assert!(stdout.contains("CROSS JOIN"), "{stdout}");
}

#[test]
fn sql_of_a_derived_kpi_names_its_inputs() {
    let city = repo().join("examples/city");
    let (code, stdout, _) = yardstick(&["sql", city.to_str().expect("path"), "cost_per_permit"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("permitting_cost") && stdout.contains("permits_issued_per_month"), "{stdout}");
}

/// A binary built without the `cluster` feature says so for `--engine ballista://...` and
/// for `cluster ...`, and how to build one that can (exit 2: a usage error).
#[cfg(not(feature = "cluster"))]
#[test]
fn engine_flag_without_cluster_support_says_how_to_get_it() {
    let city = repo().join("examples/city");
    let (code, _, stderr) = yardstick(&["build", city.to_str().expect("path"), "--engine", "ballista://localhost:50050"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("built without cluster support") && stderr.contains("--features cluster"), "{stderr}");
    let (code, _, stderr) = yardstick(&["cluster", "scheduler"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--features cluster"), "{stderr}");
    // `local` is this process, as without the flag.
    let out = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) =
        yardstick(&["build", city.to_str().expect("path"), "--out", out.path().to_str().expect("path"), "--engine", "local"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = yardstick(&["build", city.to_str().expect("path"), "--staging-dir", "/tmp"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--engine ballista://"), "{stderr}");
}
