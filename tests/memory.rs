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

#[test]
fn a_tiny_memory_limit_fails_with_the_kpi_and_leaves_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let (code, _, stderr) = build(&out, &[]);
    assert_eq!(code, 0, "{stderr}");
    let before = std::fs::read(out.join("results.json")).expect("results.json");
    let index = std::fs::read(out.join("index.html")).expect("index.html");

    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).expect("mkdir");
    let (code, stdout, stderr) = build(&out, &["--memory-limit", "64KiB", "--spill-dir", spill.to_str().expect("path")]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("error[YS0403]"), "{stderr}");
    assert!(stderr.contains("`--memory-limit 64 KiB`"), "{stderr}");
    // The city's one percentile KPI is the query's KPI that keeps values: it is the one named.
    assert!(stderr.contains("KPI `answer_seconds_p90`"), "{stderr}");
    assert!(stderr.contains("help: raise `--memory-limit`"), "{stderr}");
    assert_eq!(std::fs::read(out.join("results.json")).expect("results.json"), before, "the old report was changed");
    assert_eq!(std::fs::read(out.join("index.html")).expect("index.html"), index);
    // No spill file is left behind.
    assert_eq!(
        std::fs::read_dir(&spill)
            .expect("spill dir")
            .flat_map(|e| std::fs::read_dir(e.expect("entry").path()).into_iter().flatten())
            .count(),
        0
    );
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
    assert!(stderr.contains("error[YS0403]: the data checks of source"), "{stderr}");
}
