//! Data checks declared on a KPI (`check { ... }` in a `kpi` block, docs/checks.md) on
//! tests/fixtures/kpi_checks: they read only the rows the KPI reads. The failing rows are
//! worked out by hand from data/tickets.csv (the same file as tests/fixtures/checks; line 1 is
//! the header, so ticket Tn is on line n+1 for T1..T4, the second T4 on line 6):
//!
//! ```text
//! line id  district opened     closed     priority
//!  2   T1  North    2024-01-05 2024-01-06 high
//!  3   T2  South    2024-01-10 2024-01-09 low
//!  4   T3  North    2024-01-20            low
//!  5   T4           2024-02-02 2024-02-03 medium
//!  6   T4  East     2024-02-03 2024-02-04 urgent
//!  7   T6  South    2024-02-10 2024-02-11 high
//!  8   T7  North    2024-02-15 2024-02-15 low
//!  9   T8  West     2024-03-01 2024-03-02 high
//! 10   T9  West     2024-03-05 2024-03-04 high
//! 11   T10 South    2024-03-09 2024-03-10 Low
//! 12   T11 North    2024-03-20 2024-03-22
//! 13   T12 South    2024-04-02 2024-04-03 low
//! ```

use serde_json::{Value, json};

use crate::common::*;
use crate::data_checks::{outcome, places as lines};

fn run(args: &[&str]) -> (i32, String, String) {
    let o = std::process::Command::new(yardstick_bin()).args(args).output().expect("run");
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// results.json `checks` and index.html of a build of `dir`.
fn build(dir: &std::path::Path, extra: &[&str]) -> (Vec<Value>, String) {
    let out = tempfile::tempdir().expect("tempdir");
    let (d, o) = (dir.display().to_string(), out.path().display().to_string());
    let mut args = vec!["build", d.as_str(), "--out", o.as_str()];
    args.extend(extra);
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let html = std::fs::read_to_string(out.path().join("index.html")).expect("html");
    (results_json(out.path())["checks"].as_array().expect("checks").clone(), html)
}

fn find<'a>(all: &'a [Value], kpi: Option<&str>, check: &str) -> &'a Value {
    all.iter().find(|c| c["check"] == check && c["kpi"].as_str() == kpi).unwrap_or_else(|| panic!("no check `{check}` of {kpi:?}"))
}

#[test]
fn a_kpis_checks_count_only_the_rows_it_reads() {
    let (all, html) = build(&fixture("kpi_checks"), &["--audience", "internal", "--as-of", "2024-04-05"]);
    let north = Some("north_tickets");
    // North (`where district = "North"`): T1, T3, T7, T11 (lines 2, 4, 8, 12): 4 rows.
    // Closed before opened: T2 and T9, neither North: 0 of 4; the same rule on the source
    // finds both (2 of 12).
    assert_eq!(outcome(find(&all, north, "valid closed is null or closed >= opened")), ("pass".into(), json!(0), 4));
    let source = find(&all, None, "valid closed is null or closed >= opened");
    assert_eq!(outcome(source), ("fail".into(), json!(2), 12));
    assert_eq!(source["kpi"], Value::Null);
    assert_eq!(lines(source), [3, 10]);
    // T11 has no priority: 1 of 4 = 25%, over 20% (on the source it would be 1 of 12).
    let c = find(&all, north, "not_null priority max 20% warn");
    assert_eq!(outcome(c), ("warn".into(), json!(1), 4));
    assert!(close(c["share"].as_f64().expect("share"), 0.25));
    assert_eq!(lines(c), [12]);
    assert_eq!(c["examples"][0]["values"], json!({ "priority": null }));
    assert_eq!(c["source"], "tickets");
    // "urgent" (T4, East) and "Low" (T10, South) are not North's; T11's null is not compared.
    assert_eq!(outcome(find(&all, north, "accepted priority in (\"low\", \"medium\", \"high\")")), ("pass".into(), json!(0), 4));
    // The duplicated T4 is not North's.
    assert_eq!(outcome(find(&all, north, "unique id")), ("pass".into(), json!(0), 4));
    assert_eq!(outcome(find(&all, north, "rows between 3 and 4")), ("pass".into(), Value::Null, 4));
    assert_eq!(outcome(find(&all, north, "rows >= 5 warn")), ("warn".into(), Value::Null, 4));
    assert_eq!(outcome(find(&all, north, "relationship district -> districts.id")), ("pass".into(), json!(0), 4));
    // North's latest `opened` is 2024-03-20 (T11), before 2024-03-29 (7 days before
    // 2024-04-05): stale, though the source's latest (2024-04-02) is fresh.
    let c = find(&all, north, "fresh opened within 7 days warn");
    assert_eq!(c["status"], "warn");
    assert!(c["detail"].as_str().expect("detail").contains("2024-03-20"), "{c}");
    // North per month: Jan 2, Feb 1, Mar 1 (March is over on 2024-04-05): Jan->Feb -50%,
    // over 40%; Feb->Mar 0%: 1 of 2.
    assert_eq!(outcome(find(&all, north, "rows per month change within 40%")), ("fail".into(), json!(1), 2));

    // `time closed since 2024-02-01`: rows with a `closed` on or after 2024-02-01 and not
    // after --as-of: lines 5..13 except T3 (no close): T4, T4, T6, T7, T8, T9, T10, T11, T12
    // = 9 rows. T4 twice: 2 failing rows; T11 has no priority: 1 of 9. `id` is personal,
    // so the example rows name file and line only.
    let feb = Some("closed_since_february");
    let c = find(&all, feb, "unique id");
    assert_eq!(outcome(c), ("fail".into(), json!(2), 9));
    assert_eq!(lines(c), [5, 6]);
    assert_eq!(c["examples"][0]["values"], json!({}));
    assert_eq!(outcome(find(&all, feb, "not_null priority")), ("fail".into(), json!(1), 9));

    // The internal KPI's check, in an internal build: every row, 12 < 100.
    assert_eq!(outcome(find(&all, Some("everything_internal"), "rows >= 100 warn")), ("warn".into(), Value::Null, 12));
    // 9 + 2 + 1 KPI rules and 2 source rules, in file order.
    assert_eq!(all.len(), 14);
    let at: Vec<u64> = all
        .iter()
        .map(|c| c["defined_at"].as_str().and_then(|d| d.rsplit(':').next()).and_then(|l| l.parse().ok()).expect("line"))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");

    // The badge of a KPI counts its source's checks (the failed `valid`) and its own (the
    // failed `rows per`, three warnings), and links to its own.
    assert!(html.contains("href=\"#checks-kpi-north_tickets\">data checks: 2 failed, 3 warned</a>"), "{html}");
    assert!(html.contains("href=\"#checks-kpi-closed_since_february\">data checks: 3 failed</a>"));
    assert!(html.contains("<tr id=\"checks-kpi-north_tickets\">"));
    assert!(html.contains("rows of KPI <a href=\"#kpi-north_tickets\">north_tickets</a>"));
}

#[test]
fn as_of_limits_a_kpis_rows_for_its_checks() {
    // --as-of 2024-04-02: T12 (closed 2024-04-03) is after it, so 8 rows; the failing rows
    // are the same (T4 twice, T11).
    let (all, _) = build(&fixture("kpi_checks"), &["--as-of", "2024-04-02"]);
    let feb = Some("closed_since_february");
    assert_eq!(outcome(find(&all, feb, "unique id")), ("fail".into(), json!(2), 8));
    assert_eq!(outcome(find(&all, feb, "not_null priority")), ("fail".into(), json!(1), 8));
    // The source's checks still read every row.
    assert_eq!(outcome(find(&all, None, "rows >= 10")), ("pass".into(), Value::Null, 12));
}

#[test]
fn a_public_build_has_no_check_of_an_internal_kpi() {
    let out = tempfile::tempdir().expect("tempdir");
    let (d, o) = (fixture("kpi_checks").display().to_string(), out.path().display().to_string());
    let (code, stdout, stderr) = run(&["build", &d, "--out", &o, "--as-of", "2024-04-05"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!stdout.contains("everything_internal") && !stderr.contains("everything_internal"), "{stdout}{stderr}");
    let checks = results_json(out.path())["checks"].as_array().expect("checks").clone();
    assert_eq!(checks.len(), 13, "the internal KPI's one rule is left out");
    // No file of the report names it (results.json, results.csv, every page).
    let mut stack = vec![out.path().to_path_buf()];
    let mut files = 0;
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).expect("dir").map(|e| e.expect("entry").path()));
        } else {
            files += 1;
            let text = String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned();
            assert!(!text.contains("everything_internal") && !text.contains("rows >= 100"), "{} names the internal KPI", p.display());
        }
    }
    assert!(files >= 5, "{files} files");
}

#[test]
fn kpi_checks_on_the_command_line_and_in_ci() {
    let fx = fixture("kpi_checks").display().to_string();
    let (code, stdout, _) = run(&["test", &fx, "--as-of", "2024-04-05"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("checks.kpi:17: fail: check tickets for KPI north_tickets `rows per month change within 40%`: 1 of 2 months"),
        "{stdout}"
    );
    assert!(
        stdout.contains("checks.kpi:10: warn: check tickets for KPI north_tickets `not_null priority max 20% warn`: 1 of 4 rows"),
        "{stdout}"
    );
    let (_, stdout, _) = run(&["test", &fx, "--as-of", "2024-04-05", "--format", "github"]);
    assert!(
        stdout.lines().any(|l| l.starts_with("::error file=")
            && l.contains("line=17,title=data check fail::check tickets for KPI north_tickets `rows per month change within 40%25`")),
        "{stdout}"
    );
    let (_, stdout, _) = run(&["test", &fx, "--as-of", "2024-04-05", "--format", "json"]);
    let doc: Value = serde_json::from_str(&stdout).expect("json");
    let kpis: Vec<&Value> = doc["checks"].as_array().expect("checks").iter().map(|c| &c["kpi"]).collect();
    assert_eq!(kpis.iter().filter(|k| **k == "north_tickets").count(), 9);
    assert_eq!(kpis.iter().filter(|k| k.is_null()).count(), 2);

    // Only a KPI's check fails: `--fail-on check_failures` fails the build on it.
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&fixture("kpi_checks"), dir.path());
    let only = "goal g \"G\" {\n  kpi north \"North\" {\n    from tickets\n    where district = \"North\"\n    measure count()\n    check {\n      not_null closed\n    }\n  }\n}\n";
    std::fs::write(dir.path().join("checks.kpi"), only).expect("write");
    let (d, out) = (dir.path().display().to_string(), dir.path().join("out").display().to_string());
    let (code, _, stderr) = run(&["build", &d, "--out", &out, "--fail-on", "check_failures"]);
    // T3 (North) has no `closed`.
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("data check tickets for KPI north `not_null closed` failed: 1 of 4 rows with a null value"), "{stderr}");
    let (code, _, _) = run(&["build", &d, "--out", &out]);
    assert_eq!(code, 0, "without --fail-on the build succeeds");
}

#[test]
fn explain_names_a_kpis_checks() {
    let fx = fixture("kpi_checks").display().to_string();
    let (code, stdout, _) = run(&["explain", &fx, "closed_since_february"]);
    assert_eq!(code, 0);
    let line = stdout.lines().find(|l| l.trim_start().starts_with("checks ")).expect("a checks line");
    assert!(line.ends_with("  unique id; not_null priority (on the rows it reads), and 2 on source `tickets`"), "{stdout}");
}
