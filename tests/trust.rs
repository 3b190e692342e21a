//! No silent wrong number: every row a KPI does not count is counted, every value that
//! cannot be trusted is flagged (error, warning, provisional). Expected values are worked
//! out by hand from the small inputs written here (see the comments).

use crate::common::*;

fn write(dir: &std::path::Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

fn result<'a>(r: &'a yardstick::results::Results, id: &str) -> &'a yardstick::results::KpiResult {
    r.kpis.iter().find(|k| k.id == id).unwrap_or_else(|| panic!("no KPI {id}"))
}

fn values(r: &yardstick::results::Results, id: &str) -> Vec<(Option<String>, Option<f64>)> {
    result(r, id).rows.iter().map(|row| (row.period.clone(), row.value)).collect()
}

fn codes(r: &yardstick::results::Results, kpi: &str) -> Vec<String> {
    r.warnings.iter().filter(|w| w.kpi.as_deref() == Some(kpi)).map(|w| w.code.clone()).collect()
}

fn check_error(yaml: &str, kpi: &str) -> String {
    let dir = project(yaml, &[("k.kpi", kpi)]);
    match yardstick::compile(dir.path()) {
        Ok(_) => panic!("expected a check error for {kpi}"),
        Err(f) => f.render(false),
    }
}

const CALLS_YAML: &str = "name: T\nsources:\n  calls:\n    path: calls.csv\n    time: received_at\n    columns:\n      id: integer\n      received_at: timestamp\n      district: string\n      answered_s: float\n";
// Six calls: two without a time (3, 6), one without an answer time (4).
const CALLS_CSV: &str = "id,received_at,district,answered_s\n1,2025-01-05 10:00:00,North,5\n2,2025-01-06 10:00:00,South,12\n3,,North,7\n4,2025-02-01 09:00:00,North,\n5,2025-02-10 09:00:00,South,9\n6,,South,20\n";

#[test]
fn every_row_a_kpi_does_not_count_is_counted() {
    let dir = project(
        CALLS_YAML,
        &[(
            "k.kpi",
            r#"goal g "G" {
  kpi calls "Calls" { from calls measure count() grain month }
  kpi north_answer "North answer" { from calls measure avg(answered_s) where district = 'North' grain month }
  kpi east "East" { from calls measure count() where district = 'East' grain month }
  kpi since_feb "Since Feb" { from calls measure count() since 2025-02-01 }
  kpi march "March" { from calls measure avg(answered_s) between 2025-03-01 and 2025-03-31 grain month }
  kpi all_calls "All calls" { from calls measure count() }
}"#,
        )],
    );
    write(dir.path(), "calls.csv", CALLS_CSV);
    let (compiled, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");

    // calls: January 1, 2; February 4, 5 (3 and 6 have no time).
    assert_eq!(values(&r, "calls"), vec![(Some("2025-01-01".into()), Some(2.0)), (Some("2025-02-01".into()), Some(2.0))]);
    let c = result(&r, "calls").row_counts.expect("counts");
    assert_eq!((c.read, c.without_time, c.outside_scope, c.excluded_by_where, c.counted, c.null_input), (6, 2, 0, 0, 4, 0));
    assert_eq!(codes(&r, "calls"), vec!["YS0900"]);

    // north_answer: `where` first: South (2, 5, 6) excluded; of North (1, 3, 4), 3 has no
    // time; counted 1 (5 s) and 4 (no answer time: a null input). January 5; February none.
    let c = result(&r, "north_answer").row_counts.expect("counts");
    assert_eq!((c.read, c.without_time, c.outside_scope, c.excluded_by_where, c.counted, c.null_input), (6, 1, 0, 3, 2, 1));
    assert_eq!(values(&r, "north_answer"), vec![(Some("2025-01-01".into()), Some(5.0)), (Some("2025-02-01".into()), None)]);

    // east: nothing matches the where: a warning on the where clause.
    assert!(codes(&r, "east").contains(&"YS0901".to_string()), "{:?}", r.warnings);
    let w = r.warnings.iter().find(|w| w.code == "YS0901").expect("YS0901");
    assert!(w.location.as_deref().is_some_and(|l| l.starts_with("k.kpi:4:")), "{w:?}");

    // since_feb (no grain, a scope): 3 and 6 have no time, 1 and 2 are before the scope.
    let c = result(&r, "since_feb").row_counts.expect("counts");
    assert_eq!((c.read, c.without_time, c.outside_scope, c.counted), (6, 2, 2, 2));
    assert_eq!(values(&r, "since_feb"), vec![(None, Some(2.0))]);

    // march: no row in the scope: no value in any period.
    assert!(codes(&r, "march").contains(&"YS0902".to_string()), "{:?}", r.warnings);

    // all_calls: no grain, no scope: rows without a time are counted, no warning.
    assert_eq!(values(&r, "all_calls"), vec![(None, Some(6.0))]);
    assert!(codes(&r, "all_calls").is_empty());

    // The warnings render like errors, with the summary line.
    let rendered = compiled.render_warnings(false);
    assert!(rendered.contains("YS0900") && rendered.contains("warnings"), "{rendered}");

    // results.json and the card show them.
    let out = tempfile::tempdir().expect("tempdir");
    yardstick::build(dir.path(), Some(out.path())).map_err(|f| f.render(false)).expect("builds");
    let json = results_json(out.path());
    assert_eq!(json["kpis"][0]["row_counts"]["without_time"], 2);
    assert!(json["warnings"].as_array().expect("warnings").iter().any(|w| w["code"] == "YS0901" && w["kpi"] == "east"));
    let html = std::fs::read_to_string(out.path().join("index.html")).expect("html");
    assert!(html.contains("Warning YS0900"), "card shows the warning");
    assert!(html.contains("2 without a time"), "card shows the rows not counted");
    // A monthly KPI without any value is not labelled "all time".
    let march_card = html.split("id=\"kpi-march\"").nth(1).expect("march card");
    let march_card = march_card.split("</article>").next().unwrap_or_default();
    assert!(!march_card.contains("all time"), "{march_card}");
}

#[test]
fn strict_builds_fail_on_warnings_and_write_nothing() {
    let dir = project(CALLS_YAML, &[("k.kpi", r#"goal g "G" { kpi calls "Calls" { from calls measure count() grain month } }"#)]);
    write(dir.path(), "calls.csv", CALLS_CSV);
    let out = tempfile::tempdir().expect("tempdir");
    let out_dir = out.path().join("report");
    let project_dir = dir.path().to_string_lossy().to_string();
    let report = out_dir.to_string_lossy().to_string();
    let (code, _, err) = yardstick(&["build", &project_dir, "--out", &report, "--strict"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("YS0900") && err.contains("--strict"), "{err}");
    assert!(!out_dir.join("index.html").exists());
    let (code, _, err) = yardstick(&["build", &project_dir, "--out", &report]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning") && err.contains("YS0900"), "warnings are printed on a normal build: {err}");
    let (code, _, _) = yardstick(&["check", &project_dir, "--deny-warnings"]);
    assert_eq!(code, 0, "check reads no data: no run-time warning");
}

#[test]
fn a_project_without_kpis_is_not_published_silently() {
    let dir = project(CALLS_YAML, &[("metrics/a.kpi", "// nothing yet\n"), ("metrics/b.kpi", "")]);
    write(dir.path(), "calls.csv", CALLS_CSV);
    let d = dir.path().to_string_lossy().to_string();
    let (code, _, err) = yardstick(&["check", &d]);
    assert_eq!(code, 0);
    assert!(err.contains("YS0004"), "{err}");
    let (code, _, _) = yardstick(&["check", &d, "--deny-warnings"]);
    assert_eq!(code, 1);
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().join("r").to_string_lossy().to_string();
    let (code, _, err) = yardstick(&["build", &d, "--out", &o]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("YS0004") && err.contains("--allow-empty"), "{err}");
    let (code, _, err) = yardstick(&["build", &d, "--out", &o, "--allow-empty"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn unit_clauses_convert_durations_and_refuse_relabelling() {
    let yaml = "name: T\nsources:\n  c:\n    path: c.csv\n    time: received_at\n    columns:\n      received_at: timestamp\n      answered_at: timestamp\n";
    let dir = project(
        yaml,
        &[(
            "k.kpi",
            r#"goal g "G" {
  kpi answer_min "Answer" { from c measure avg(seconds_between(received_at, answered_at)) unit minutes target <= 2 min }
  kpi answer_h "Answer (h)" { measure answer_min unit hours }
  kpi calls "Calls" { from c measure count() unit "calls" }
}"#,
        )],
    );
    // 60 s and 120 s: 90 s = 1.5 minutes = 0.025 hours.
    write(
        dir.path(),
        "c.csv",
        "received_at,answered_at\n2025-01-01 10:00:00,2025-01-01 10:01:00\n2025-01-02 10:00:00,2025-01-02 10:02:00\n",
    );
    let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    assert!(close(values(&r, "answer_min")[0].1.expect("value"), 1.5));
    assert_eq!(result(&r, "answer_min").unit, "minutes");
    assert_eq!(result(&r, "answer_min").rows[0].status, yardstick::results::Status::OnTrack);
    assert!(close(values(&r, "answer_h")[0].1.expect("value"), 0.025));
    assert_eq!(result(&r, "calls").unit, "calls");

    let err = check_error(yaml, r#"goal g "G" { kpi s "S" { from c measure share(answered_at is null) unit minutes } }"#);
    assert!(err.contains("YS0220") && err.contains("does not fit a measure in percent"), "{err}");
    let err = check_error(yaml, r#"goal g "G" { kpi s "S" { from c measure avg(seconds_between(received_at, answered_at)) unit "USD" } }"#);
    assert!(err.contains("YS0220") && err.contains("minutes"), "{err}");
}

#[test]
fn targets_a_measure_can_never_meet_are_errors() {
    let yaml = "name: T\nsources:\n  c:\n    path: c.csv\n    columns:\n      x: integer\n";
    let err = check_error(yaml, r#"goal g "G" { kpi s "S" { from c measure share(x > 1) target >= 900% } }"#);
    assert!(err.contains("YS0222") && err.contains("can never be met"), "{err}");
    let err = check_error(yaml, r#"goal g "G" { kpi s "S" { from c measure count() target < 0 } }"#);
    assert!(err.contains("YS0222"), "{err}");
    let err = check_error(yaml, r#"goal g "G" { kpi s "S" { from c measure share(x > 1) target between 120% and 130% } }"#);
    assert!(err.contains("YS0222"), "{err}");
    // Reachable ones pass, including the edges.
    let dir = project(
        yaml,
        &[(
            "k.kpi",
            r#"goal g "G" { kpi s "S" { from c measure share(x > 1) target >= 100% } kpi n "N" { from c measure count() target <= 0 } }"#,
        )],
    );
    yardstick::compile(dir.path()).map_err(|f| f.render(false)).expect("checks");
}

fn csv_project(columns: &str, csv: &str, kpi: &str) -> tempfile::TempDir {
    let dir = project(&format!("name: T\nsources:\n  s:\n    path: s.csv\n    columns:\n{columns}"), &[("k.kpi", kpi)]);
    write(dir.path(), "s.csv", csv);
    dir
}

fn build_error(dir: &tempfile::TempDir) -> String {
    match yardstick::evaluate(dir.path()) {
        Ok(_) => panic!("expected a build error"),
        Err(f) => f.render(false),
    }
}

const SUM_A: &str = r#"goal g "G" { kpi t "T" { from s measure sum(a) } }"#;

#[test]
fn rows_with_the_wrong_number_of_fields_are_errors() {
    let cols = "      a: integer\n      b: integer\n";
    let err = build_error(&csv_project(cols, "a,b\n1,2\n3,4,5\n", SUM_A));
    assert!(err.contains("s.csv:3: the row has 3 fields, the header has 2"), "{err}");
    // A truncated last row.
    let err = build_error(&csv_project(cols, "a,b\n1,2\n3", SUM_A));
    assert!(err.contains("s.csv:3: the row has 1 fields, the header has 2") && err.contains("cut short"), "{err}");
    // An opening quote that never closes swallows the rest of the file into one field.
    let err = build_error(&csv_project(cols, "a,b\n1,2\n\"3,4\n5,6\n7,8\n", SUM_A));
    assert!(err.contains("s.csv:3:") && err.contains("header has 2"), "{err}");
    // Empty trailing cells (Excel) are fine: 1 + 5 = 6.
    let (_, r) = yardstick::evaluate(csv_project(cols, "a,b\n1,2,\n5,6,,\n", SUM_A).path()).map_err(|f| f.render(false)).expect("builds");
    assert_eq!(values(&r, "t"), vec![(None, Some(6.0))]);
    // Under `on_invalid: skip` such rows are skipped and counted: 1 + 7 = 8.
    let dir = project(
        "name: T\nsources:\n  s:\n    path: s.csv\n    on_invalid: skip\n    columns:\n      a: integer\n      b: integer\n",
        &[("k.kpi", SUM_A)],
    );
    write(dir.path(), "s.csv", "a,b\n1,2\n3,4,5\n7,8\n");
    let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    assert_eq!(values(&r, "t"), vec![(None, Some(8.0))]);
    assert_eq!(r.sources["s"].stats.rows_skipped, 1);
    assert_eq!(result(&r, "t").row_counts.expect("counts").skipped_invalid, 1);
}

#[test]
fn repeated_header_names_are_errors_and_position_picks_one() {
    let csv = "Amount,Name,Amount\n1,x,10\n2,y,20\n";
    let err = build_error(&csv_project("      amount: integer\n", csv, r#"goal g "G" { kpi t "T" { from s measure sum(amount) } }"#));
    assert!(err.contains("more than once") && err.contains("column 1") && err.contains("column 3") && err.contains("position: 1"), "{err}");
    // position: 3 is the second Amount: 10 + 20.
    let dir =
        csv_project("      amount: { type: integer, position: 3 }\n", csv, r#"goal g "G" { kpi t "T" { from s measure sum(amount) } }"#);
    let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    assert_eq!(values(&r, "t"), vec![(None, Some(30.0))]);
    let err = build_error(&csv_project(
        "      amount: { type: integer, position: 9 }\n",
        csv,
        r#"goal g "G" { kpi t "T" { from s measure sum(amount) } }"#,
    ));
    assert!(err.contains("position 9") && err.contains("3 columns"), "{err}");
}

#[test]
fn bad_value_errors_suggest_the_fix_that_applies() {
    let err = build_error(&csv_project("      a: integer\n", "a\n1\n\"16,039\"\n", SUM_A));
    assert!(err.contains("thousands: \",\""), "{err}");
    let err = build_error(&csv_project("      a: integer\n", "a\n1\nNA\n", SUM_A));
    assert!(err.contains("null_values: [\"NA\"]"), "{err}");
    let err = build_error(&csv_project("      a: integer\n", "a\n1\n2.5\n", SUM_A));
    assert!(err.contains("`float`"), "{err}");
}

#[test]
fn hour_only_utc_offsets_are_read() {
    // `%z` offsets are read and ignored (docs/configuration.md): `+01` like `+0100`, so all
    // three are on the 5th as written.
    let dir = csv_project(
        "      t: { type: timestamp, format: \"%Y-%m-%d %H:%M:%S%z\" }\n",
        "t\n2025-01-05 00:30:00+01\n2025-01-05 10:00:00+00\n2025-01-05 10:00:00+0100\n2025-01-06 10:00:00+0530\n",
        r#"goal g "G" { kpi t "T" { from s time t measure count() grain day } }"#,
    );
    let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    assert_eq!(values(&r, "t"), vec![(Some("2025-01-05".into()), Some(3.0)), (Some("2025-01-06".into()), Some(1.0))]);
}

#[test]
fn the_file_name_column_is_not_offered_as_a_time() {
    let yaml = "name: T\nsources:\n  s:\n    path: s.csv\n    file_column: source_file\n    columns:\n      a: integer\n";
    let err = check_error(yaml, r#"goal g "G" { kpi t "T" { from s time source_file measure count() grain month } }"#);
    assert!(err.contains("YS0207") && err.contains("file-name column"), "{err}");
    assert!(!err.contains("type: timestamp"), "must not suggest redeclaring the file column: {err}");
}

#[test]
fn parquet_file_column_names_each_rows_own_file() {
    let dir = project(
        "name: P\nsources:\n  p:\n    path: data/*.parquet\n    file_column: file\n    columns:\n      amount: integer\n      shipped: string\n",
        &[("k.kpi", r#"goal g "G" { kpi n "N" { from p measure count() by file } kpi total "T" { from p measure sum(amount) by file } }"#)],
    );
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    write_parquet(&dir.path().join("data/a.parquet"), "(1, 'x'), (2, 'y')", "amount, shipped");
    write_parquet(&dir.path().join("data/b.parquet"), "(10, 'z')", "amount, shipped");
    let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    let by_file: Vec<(serde_json::Value, Option<f64>)> =
        result(&r, "total").rows.iter().map(|row| (row.groups[0].1.clone(), row.value)).collect();
    assert_eq!(by_file, vec![(serde_json::json!("data/a.parquet"), Some(3.0)), (serde_json::json!("data/b.parquet"), Some(10.0))]);
    let counts: Vec<Option<f64>> = result(&r, "n").rows.iter().map(|row| row.value).collect();
    assert_eq!(counts, vec![Some(2.0), Some(1.0)]);
}

#[test]
fn parquet_values_that_cannot_convert_name_the_file_and_column() {
    let dir = project(
        "name: P\nsources:\n  p:\n    path: data/*.parquet\n    columns:\n      amount: integer\n      shipped: { type: timestamp, format: \"%d/%m/%Y\" }\n",
        &[("k.kpi", r#"goal g "G" { kpi n "N" { from p measure count() } }"#)],
    );
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    write_parquet(&dir.path().join("data/a.parquet"), "(1, '05/01/2025'), (2, 'soon')", "amount, shipped");
    let err = build_error(&dir);
    assert!(
        err.contains("YS0301") && err.contains("data/a.parquet") && err.contains("column `shipped`") && err.contains("%d/%m/%Y"),
        "{err}"
    );
    assert!(!err.contains("YS0400"), "{err}");
}

/// Monthly rows ending on 10 February: February is provisional until the data reaches its
/// last day (default `complete_after: 0 days`); with a 30-day lag January (complete on 2
/// March) is provisional too; `none` makes nothing provisional.
#[test]
fn periods_whose_data_is_incomplete_are_provisional() {
    let csv = "t,v\n2024-12-15,1\n2025-01-10,2\n2025-01-20,3\n2025-02-10,4\n";
    let provisional = |lag: &str, kpi_extra: &str, options: yardstick::Options| -> Vec<(String, bool)> {
        let lag_line = if lag.is_empty() { String::new() } else { format!("    complete_after: {lag}\n") };
        let dir = project(
            &format!("name: T\nsources:\n  s:\n    path: s.csv\n    time: t\n{lag_line}    columns:\n      t: date\n      v: integer\n"),
            &[(
                "k.kpi",
                &format!(r#"goal g "G" {{ kpi m "M" {{ from s measure sum(v) grain month {kpi_extra} }} kpi d "D" {{ measure m * 2 }} }}"#),
            )],
        );
        write(dir.path(), "s.csv", csv);
        let (_, r) = yardstick::evaluate_with(dir.path(), options).map_err(|f| f.render(false)).expect("builds");
        let m: Vec<(String, bool)> =
            result(&r, "m").rows.iter().map(|row| (row.period.clone().unwrap_or_default(), row.provisional)).collect();
        let d: Vec<(String, bool)> =
            result(&r, "d").rows.iter().map(|row| (row.period.clone().unwrap_or_default(), row.provisional)).collect();
        assert_eq!(m, d, "a derived KPI's period is provisional when its input's is");
        m
    };
    let p = |v: &[(&str, bool)]| v.iter().map(|(a, b)| (a.to_string(), *b)).collect::<Vec<_>>();
    let default = yardstick::Options::default();
    assert_eq!(provisional("", "", default), p(&[("2024-12-01", false), ("2025-01-01", false), ("2025-02-01", true)]));
    assert_eq!(provisional("30 days", "", default), p(&[("2024-12-01", false), ("2025-01-01", true), ("2025-02-01", true)]));
    assert_eq!(provisional("none", "", default), p(&[("2024-12-01", false), ("2025-01-01", false), ("2025-02-01", false)]));
    // The KPI's own clause wins over the source's.
    assert_eq!(
        provisional("30 days", "complete_after none", default),
        p(&[("2024-12-01", false), ("2025-01-01", false), ("2025-02-01", false)])
    );
    // --as-of 2025-01-20: the data ends there, January is provisional.
    let as_of = yardstick::Options { as_of: chrono::NaiveDate::from_ymd_opt(2025, 1, 20), ..default };
    assert_eq!(provisional("", "", as_of), p(&[("2024-12-01", false), ("2025-01-01", true)]));
}

#[test]
fn the_example_marks_incomplete_months_and_headlines_the_last_complete_one() {
    let out = tempfile::tempdir().expect("tempdir");
    yardstick::build(&repo().join("examples/city"), Some(out.path())).map_err(|f| f.render(false)).expect("builds");
    let json = results_json(out.path());
    // Permits: data to 2025-06-30, complete 45 days after the month: May (complete on 15
    // July) and June are provisional, April (14 June) is not.
    let rows = kpi(&json, "permit_business_days")["rows"].as_array().expect("rows").clone();
    let flag = |p: &str| rows.iter().find(|r| r["period"] == p).map(|r| r["provisional"] == true).expect("period");
    assert!(!flag("2025-04-01") && flag("2025-05-01") && flag("2025-06-01"));
    // Counted by issue date (`complete_after 0 days`): June is complete.
    let issued = kpi(&json, "permits_issued_per_month")["rows"].as_array().expect("rows").clone();
    assert!(issued.iter().all(|r| r.get("provisional").is_none()));
    let html = std::fs::read_to_string(out.path().join("index.html")).expect("html");
    let card = html.split("id=\"kpi-permit_business_days\"").nth(1).expect("card").split("</article>").next().unwrap_or_default();
    assert!(card.contains("Apr 2025") && card.contains("Provisional: Jun 2025, May 2025"), "{card}");
}

/// Found by the differential test (tests/differential.rs); expected values by hand.
#[test]
fn negative_zero_null_lists_and_exact_percentile_ranks() {
    let dir = project(
        "name: R\nsources:\n  t:\n    path: t.csv\n    columns:\n      g: string\n      x: float\n      y: integer\n      ok: boolean\n",
        &[(
            "k.kpi",
            r#"goal g "G" {
  kpi cd_zero "0.0 and -0.0 are one value" { from t measure count(distinct x) where x = 0 }
  kpi neg_div "division by -0.0 is no value" { from t measure sum(y / x) }
  kpi notin_or "NOT IN with OR keeps NULL semantics" { from t measure count() where y not in (3) or y not in (1) }
  kpi in_null "NOT IN a list with null is never true" { from t measure count() where g in ('a') and g not in ('d', null) }
  kpi cd_none "no matching row" { from t measure count(distinct x) where x = 1.5 }
}"#,
        )],
    );
    write(dir.path(), "t.csv", "g,x,y,ok\na,1.0,1,true\nb,2.0,,true\nc,-0.0,3,false\nd,0.0,3,true\n");
    for unfused in [false, true] {
        let options = yardstick::Options { unfused, ..Default::default() };
        let (_, r) = yardstick::evaluate_with(dir.path(), options).map_err(|f| f.render(false)).expect("builds");
        let v = |id: &str| values(&r, id)[0].1;
        // x = 0 holds for -0.0 and 0.0: one distinct value.
        assert_eq!(v("cd_zero"), Some(1.0));
        // 1/1.0 = 1; null/2.0 is null; 3/-0.0 and 3/0.0 are no value: the sum is 1.
        assert_eq!(v("neg_div"), Some(1.0));
        // y = 1: true; y = null: null or null, not counted; y = 3 (twice): false or true.
        assert_eq!(v("notin_or"), Some(3.0));
        // a: true and (a <> d and a <> null = null): null, not counted.
        assert_eq!(v("in_null"), Some(0.0));
        assert_eq!(v("cd_none"), Some(0.0));
    }
    // Seven -1, one 0, eighteen 1 (n = 26): h = 0.28 x 25 = 7 exactly, the 8th value, 0.
    let mut values: Vec<f64> = [vec![-1.0; 7], vec![0.0], vec![1.0; 18]].concat();
    assert_eq!(yardstick::functions::percentile(&mut values, 0.28, yardstick::functions::PercentileMethod::Interpolated), Some(0.0));
}
