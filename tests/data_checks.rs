//! Data checks (docs/checks.md) on tests/fixtures/checks: every rule kind, with the failing
//! rows worked out by hand from data/tickets.csv (line 1 is the header, so ticket Tn's row
//! is on line n+1 for T1..T4 and the second T4 is on line 6).

use serde_json::{Value, json};

use crate::common::*;

fn checks(as_of: Option<&str>) -> Vec<Value> {
    let out = tempfile::tempdir().expect("tempdir");
    let mut args = vec!["build".to_string(), fixture("checks").display().to_string(), "--out".into(), out.path().display().to_string()];
    if let Some(d) = as_of {
        args.extend(["--as-of".to_string(), d.to_string()]);
    }
    let o = std::process::Command::new(yardstick_bin()).args(&args).output().expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    results_json(out.path())["checks"].as_array().expect("checks").clone()
}

fn find<'a>(all: &'a [Value], check: &str) -> &'a Value {
    all.iter().find(|c| c["check"] == check).unwrap_or_else(|| panic!("no check `{check}`"))
}

/// (status, failing, checked) of a check.
pub fn outcome(c: &Value) -> (String, Value, u64) {
    (c["status"].as_str().expect("status").to_string(), c["failing"].clone(), c["checked"].as_u64().expect("checked"))
}

/// The lines of a check's example rows.
pub fn places(c: &Value) -> Vec<u64> {
    c["examples"].as_array().expect("examples").iter().map(|e| e["line"].as_u64().expect("line")).collect()
}

#[test]
fn every_check_kind_counts_the_failing_rows() {
    let all = checks(Some("2024-04-05"));
    // 12 rows. T4 (line 5) has no district.
    let c = find(&all, "not_null district");
    assert_eq!(outcome(c), ("fail".into(), json!(1), 12));
    assert_eq!(places(c), [5]);
    assert_eq!(c["examples"][0]["file"], "data/tickets.csv");
    assert_eq!(c["examples"][0]["values"], json!({ "district": null }));
    // 1 / 12 = 8.3% <= 10%.
    assert_eq!(outcome(find(&all, "not_null district max 10%")), ("pass".into(), json!(1), 12));
    assert!(find(&all, "not_null district max 10%")["examples"].as_array().expect("examples").is_empty());
    assert!(close(find(&all, "not_null district max 10%")["share"].as_f64().expect("share"), 1.0 / 12.0));
    // T4 twice (lines 5 and 6): both rows fail; (T4, null) and (T4, East) differ, and a key
    // with a null is not compared, so the pair of columns is unique.
    let c = find(&all, "unique id");
    assert_eq!(outcome(c), ("fail".into(), json!(2), 12));
    assert_eq!(places(c), [5, 6]);
    assert_eq!(outcome(find(&all, "unique id, district")), ("pass".into(), json!(0), 12));
    // "urgent" (line 6) and "Low" (line 11) are not accepted; T11's empty priority is
    // `not_null`'s business.
    let c = find(&all, "accepted priority in (\"low\", \"medium\", \"high\") warn");
    assert_eq!(outcome(c), ("warn".into(), json!(2), 12));
    assert_eq!(places(c), [6, 11]);
    assert_eq!(outcome(find(&all, "accepted priority in (\"low\", \"medium\", \"high\") max 1")), ("fail".into(), json!(2), 12));
    // closed before opened: T2 (line 3) and T9 (line 10); T3 is open (null closed), which
    // the first rule allows and the second does not (null is failing): 3 rows.
    let c = find(&all, "valid closed is null or closed >= opened");
    assert_eq!(outcome(c), ("fail".into(), json!(2), 12));
    assert_eq!(places(c), [3, 10]);
    assert_eq!(c["examples"][0]["values"], json!({ "closed": "2024-01-09", "opened": "2024-01-10" }));
    let c = find(&all, "valid closed >= opened warn");
    assert_eq!(outcome(c), ("warn".into(), json!(3), 12));
    assert_eq!(places(c), [3, 4, 10]);
    // districts.csv has North, South, West: East (line 6) is not there; the empty district
    // of line 5 is not compared.
    let c = find(&all, "relationship district -> districts.id");
    assert_eq!(outcome(c), ("fail".into(), json!(1), 12));
    assert_eq!(places(c), [6]);
    // 12 rows.
    assert_eq!(outcome(find(&all, "rows >= 10")), ("pass".into(), Value::Null, 12));
    assert_eq!(outcome(find(&all, "rows between 20 and 30 warn")), ("warn".into(), Value::Null, 12));
    // Latest opened: 2024-04-02. Within 7 days of 2024-04-05 means on or after 2024-03-29:
    // fresh; within 2 days means on or after 2024-04-03: stale.
    assert_eq!(find(&all, "fresh opened within 7 days")["status"], "pass");
    assert_eq!(find(&all, "fresh opened within 2 days warn")["status"], "warn");
    // Rows per month by opened: Jan 3, Feb 4, Mar 4, Apr 1. April is still open on
    // 2024-04-05, so it is left out: Jan->Feb +33% (over 30%), Feb->Mar 0%: 1 of 2.
    assert_eq!(outcome(find(&all, "rows per month change within 30%")), ("fail".into(), json!(1), 2));
    // By closed: Jan 2 (T3 is open), Feb 4, Mar 4, Apr 1: Jan->Feb +100% (over 60%), Feb->Mar
    // 0%: 1 of 2, and `max 1` allows one.
    assert_eq!(outcome(find(&all, "rows per month of closed change within 60% max 1")), ("pass".into(), json!(1), 2));
    // The other source: 3 distinct ids, every name given.
    let d: Vec<&Value> = all.iter().filter(|c| c["source"] == "districts").collect();
    assert_eq!(d.len(), 2);
    assert!(d.iter().all(|c| c["status"] == "pass" && c["checked"] == 3));
    // File order.
    let lines: Vec<u64> = all
        .iter()
        .map(|c| c["defined_at"].as_str().and_then(|d| d.rsplit(':').next()).and_then(|l| l.parse().ok()).expect("line"))
        .collect();
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
}

#[test]
fn fresh_needs_as_of_and_the_last_period_counts_once_it_is_over() {
    let all = checks(None);
    assert_eq!(find(&all, "fresh opened within 7 days")["status"], "skipped");
    assert_eq!(find(&all, "fresh opened within 7 days")["failing"], Value::Null);
    // On 2024-04-30 April is complete: Jan->Feb +33%, Feb->Mar 0%, Mar->Apr -75%: 2 of 3.
    let all = checks(Some("2024-04-30"));
    assert_eq!(outcome(find(&all, "rows per month change within 30%")), ("fail".into(), json!(2), 3));
    // Within 7 days of 2024-04-30: on or after 2024-04-23; the latest is 2024-04-02.
    assert_eq!(find(&all, "fresh opened within 7 days")["status"], "fail");
}

fn run(args: &[&str]) -> (i32, String, String) {
    let o = std::process::Command::new(yardstick_bin()).args(args).output().expect("run");
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn test_command_and_fail_on_check_failures() {
    let fx = fixture("checks").display().to_string();
    let city = repo().join("examples/city").display().to_string();
    let (code, stdout, _) = run(&["test", &fx, "--as-of", "2024-04-05"]);
    assert_eq!(code, 1, "a check fails: {stdout}");
    assert!(stdout.contains("checks.kpi:11: fail: check tickets `not_null district`: 1 of 12 rows with a null value\n"), "{stdout}");
    assert!(stdout.contains("data/tickets.csv:5: district = null\n"), "{stdout}");
    assert!(stdout.ends_with("data checks: 7 passed, 4 warned, 6 failed\n"), "{stdout}");
    // The example warns on purpose and fails nothing: 0, with the warning shown.
    let (code, stdout, _) = run(&["test", &city]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("warn: check calls_911 `not_null district max 1% warn`: 41 of 3,969 rows"), "{stdout}");
    // on_scene_minutes's own check reads the calls it reads (priority 1 with an arrival
    // time): 941, none arriving before the call came in (counted in Python over
    // data/calls_911.csv with the declared format).
    assert!(
        stdout.contains("pass: check calls_911 for KPI on_scene_minutes `valid on_scene_at >= received_at`: 0 of 941 rows"),
        "{stdout}"
    );
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().display().to_string();
    let (code, stdout, stderr) = run(&["build", &city, "--out", &o, "--fail-on", "check_failures"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("data checks: 14 passed, 1 warned\n"), "{stdout}");
    let html = std::fs::read_to_string(out.path().join("index.html")).expect("html");
    assert!(html.contains("<h2 id=\"data-quality\">Data quality</h2>"));
    assert!(html.contains("href=\"#checks-calls_911\">data checks: 1 warned</a>"), "a badge on the KPIs of calls_911");
    let (code, _, stderr) = run(&["build", &fx, "--out", &o, "--fail-on", "check_failures"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("fail-on check_failures: data check tickets `unique id` failed"), "{stderr}");
    // JSON and GitHub formats.
    let (code, stdout, _) = run(&["test", &fx, "--format", "json"]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(doc["command"], "test");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["checks"].as_array().map(Vec::len), Some(17));
    let (_, stdout, _) = run(&["test", &fx, "--format", "github"]);
    assert!(
        stdout.lines().any(|l| l.starts_with("::error file=") && l.contains("line=13,title=data check fail::check tickets `unique id`")),
        "{stdout}"
    );
    assert!(stdout.lines().any(|l| l.starts_with("::warning file=") && l.contains("line=15,")), "{stdout}");
}

#[test]
fn the_documented_check_fields_are_the_files_in_order() {
    let doc = std::fs::read_to_string(repo().join("docs/results-json.md")).expect("doc");
    let section = doc.split("\n## `checks`\n").nth(1).expect("checks section").split("\n## ").next().unwrap_or_default();
    let documented: Vec<String> =
        section.lines().filter_map(|l| l.strip_prefix("| `")).filter_map(|l| l.split('`').next()).map(str::to_string).collect();
    let all = checks(Some("2024-04-05"));
    let actual: Vec<String> = all[0].as_object().expect("object").keys().cloned().collect();
    assert_eq!(documented, actual);
}
