//! `--memory-limit`: a limit the build cannot keep to is a coded error (YS0403) naming the
//! KPI and the limit, exit 1, and the report already in the output directory is left as it
//! was; a limit that suffices changes no byte of the results.

use crate::common::*;

fn build(out: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    let city = repo().join("examples/city");
    let mut args = vec!["build", city.to_str().expect("path"), "--out", out.to_str().expect("path")];
    args.extend(extra);
    yardstick(&args)
}

/// A project without data checks: 20,000 rows, a 90th percentile per month and group (it
/// keeps every value) and a sum.
fn percentile_project() -> tempfile::TempDir {
    let yaml = "name: P\nsources:\n  t:\n    path: data/t.csv\n    time: day\n    columns:\n      day: date\n      kind: integer\n      amount: float\n";
    let kpis = r#"goal g "G" {
  kpi total "Total" { from t measure sum(amount) grain month }
  kpi p90 "P90" { from t measure percentile(amount, 0.9) by kind grain month }
}
"#;
    let dir = project(yaml, &[("k.kpi", kpis)]);
    let mut csv = String::from("day,kind,amount\n");
    for i in 0..20_000u32 {
        csv.push_str(&format!("2024-{:02}-{:02},{},{}\n", 1 + i % 12, 1 + i % 28, i % 5, f64::from(i) * 1.5));
    }
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(dir.path().join("data/t.csv"), csv).expect("csv");
    dir
}

#[test]
fn a_tiny_memory_limit_fails_with_the_kpi_and_leaves_the_report() {
    let dir = percentile_project();
    let out = dir.path().join("out");
    let project_dir = dir.path().to_str().expect("path").to_string();
    let (code, _, stderr) = yardstick(&["build", &project_dir, "--out", out.to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}");
    let before = std::fs::read(out.join("results.json")).expect("results.json");
    let index = std::fs::read(out.join("index.html")).expect("index.html");

    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).expect("mkdir");
    let (code, stdout, stderr) = yardstick(&[
        "build",
        &project_dir,
        "--out",
        out.to_str().expect("path"),
        "--memory-limit",
        "64KiB",
        "--spill-dir",
        spill.to_str().expect("path"),
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("error[YS0403]"), "{stderr}");
    assert!(stderr.contains("`--memory-limit 64 KiB`"), "{stderr}");
    // The percentile is the KPI of its query that keeps values: it is the one named.
    assert!(stderr.contains("KPI `p90`"), "{stderr}");
    assert!(stderr.contains("help: raise `--memory-limit`"), "{stderr}");
    assert_eq!(std::fs::read(out.join("results.json")).expect("results.json"), before, "the old report was changed");
    assert_eq!(std::fs::read(out.join("index.html")).expect("index.html"), index);
}

#[test]
fn a_source_kept_for_data_checks_counts_against_the_limit() {
    // The city's sources have data checks: they are kept whole while the KPIs run.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let (code, stdout, stderr) = build(&out, &["--memory-limit", "64KiB"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("error[YS0403]: keeping source `calls_911` for its data checks"), "{stderr}");
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn a_sufficient_memory_limit_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let (code, _, stderr) = build(&a, &[]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = build(&b, &["--memory-limit", "512MiB"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read(a.join("results.json")).expect("a"), std::fs::read(b.join("results.json")).expect("b"));
}

#[test]
fn memory_limits_are_parsed_with_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    for (bad, says) in [("1XB", "`XB` is not a unit of size"), ("lots", "`lots` is not a size"), ("0", "at least 1 byte")] {
        let (code, _, stderr) = build(&out, &["--memory-limit", bad]);
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert!(stderr.contains(says), "{bad}: {stderr}");
    }
    assert!(!out.exists());
    // `test` takes the limit too.
    let city = repo().join("examples/city");
    let (code, _, stderr) = yardstick(&["test", city.to_str().expect("path"), "--memory-limit", "100KiB"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("error[YS0403]"), "{stderr}");
}
