//! Measures, where, by, grains, fiscal grains, windows, scopes, derived KPIs, targets,
//! statuses, comparisons and --as-of against DuckDB: tests/fixtures/values/expected.json is
//! written by tests/oracle/values.py (DuckDB over the same CSV), never by yardstick.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::*;

fn expected_cases() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(fixture("values/expected.json")).expect("expected.json");
    match serde_json::from_str(&text).expect("json") {
        Value::Object(m) => m,
        other => panic!("expected.json is not an object: {other}"),
    }
}

/// Numbers equal to 1e-9 relative (results are rounded to 12 significant digits), else equal.
fn same(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => close(a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN)),
        (Value::Object(a), Value::Object(b)) => {
            a.keys().collect::<BTreeSet<_>>() == b.keys().collect::<BTreeSet<_>>() && b.iter().all(|(k, w)| same(&a[k], w))
        }
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(g, w)| same(g, w)),
        _ => got == want,
    }
}

/// Every row of one case: same periods, groups, values, statuses, targets and comparisons,
/// in the same order, and no field yardstick has that the oracle does not (e.g. a `target`
/// before a trajectory's baseline).
fn check_rows(case: &str, got: &[Value], want: &[Value], problems: &mut Vec<String>) {
    if got.len() != want.len() {
        let periods = |rows: &[Value]| rows.iter().map(|r| r["period"].to_string()).collect::<Vec<_>>().join(" ");
        problems.push(format!(
            "{case}: {} rows, want {}\n   got periods: {}\n  want periods: {}",
            got.len(),
            want.len(),
            periods(got),
            periods(want)
        ));
        return;
    }
    for (g, w) in got.iter().zip(want) {
        // `rows` (how many rows a value came from) is not in the oracle's cases; the city
        // example checks it against expected.py (tests/example.rs).
        let mut g = g.clone();
        if let Some(o) = g.as_object_mut() {
            o.remove("rows");
        }
        let g = &g;
        if !same(g, w) {
            problems.push(format!("{case}:\n   got {g}\n  want {w}"));
        }
    }
}

/// Compares every case of expected.json built with `as_of` against one build of the fixture,
/// and checks that each such case names a KPI of the fixture. Returns how many cases were
/// matched to a KPI; mismatches go to `problems`.
fn check_build(as_of: Option<&str>, problems: &mut Vec<String>) -> usize {
    // Fused queries (the default) and every KPI's own query must both match the oracle.
    let fused = check_build_with(as_of, false, problems);
    let mut unfused = vec![];
    check_build_with(as_of, true, &mut unfused);
    problems.extend(unfused.into_iter().map(|p| format!("(--no-fuse) {p}")));
    fused
}

fn check_build_with(as_of: Option<&str>, unfused: bool, problems: &mut Vec<String>) -> usize {
    let out = tempfile::tempdir().expect("tempdir");
    let options = yardstick::Options {
        as_of: as_of.map(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("date")),
        unfused,
        ..Default::default()
    };
    yardstick::build_with(&fixture("values"), Some(out.path()), options).map_err(|f| f.render(false)).expect("fixture builds");
    let results = results_json(out.path());
    let kpis = results["kpis"].as_array().expect("kpis");
    let want_as_of = as_of.map(|d| Value::String(d.to_string())).unwrap_or(Value::Null);
    let mut checked = BTreeSet::new();
    for (name, case) in expected_cases() {
        if case["as_of"] != want_as_of {
            continue;
        }
        let id = case["kpi"].as_str().unwrap_or(&name);
        let Some(kpi) = kpis.iter().find(|k| k["id"] == id) else {
            problems.push(format!("{name}: no KPI `{id}` in tests/fixtures/values/values.kpi"));
            continue;
        };
        check_rows(&name, kpi["rows"].as_array().expect("rows"), case["rows"].as_array().expect("rows"), problems);
        checked.insert(id.to_string());
    }
    if as_of.is_none() {
        // No KPI of the fixture goes untested either.
        for k in kpis {
            let id = k["id"].as_str().expect("id");
            if !checked.contains(id) {
                problems.push(format!("{id}: KPI has no case in expected.json (add it to tests/oracle/values.py)"));
            }
        }
    }
    checked.len()
}

fn assert_no_problems(problems: &[String]) {
    assert!(problems.is_empty(), "{} mismatch(es) against DuckDB:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn every_case_matches_duckdb() {
    let cases = expected_cases().values().filter(|c| c["as_of"].is_null()).count();
    assert!(cases >= 82, "expected.json lost cases: {cases}");
    let mut problems = vec![];
    let matched = check_build(None, &mut problems);
    assert_no_problems(&problems);
    assert_eq!(matched, cases, "every case of expected.json was matched to a KPI");
}

#[test]
fn as_of_cases_match_duckdb() {
    let all = expected_cases();
    let dates: BTreeSet<&str> = all.values().filter_map(|c| c["as_of"].as_str()).collect();
    assert!(!dates.is_empty(), "expected.json has --as-of cases");
    let mut problems = vec![];
    for date in dates {
        let cases = all.values().filter(|c| c["as_of"] == date).count();
        let matched = check_build(Some(date), &mut problems);
        if matched != cases {
            problems.push(format!("--as-of {date}: {matched} of {cases} cases matched to a KPI"));
        }
    }
    assert_no_problems(&problems);
}

#[test]
fn statuses_follow_the_target_direction() {
    // Hand-computed: 7 tickets in January 2024, 6 in May (tickets.csv).
    let yaml = std::fs::read_to_string(fixture("values/yardstick.yaml")).expect("yaml");
    let dir = project(
        &format!(
            "allow_paths: [\"{}\"]\n{}",
            fixture("values/data").display(),
            yaml.replace("data/tickets.csv", &fixture("values/data/tickets.csv").to_string_lossy())
        ),
        &[(
            "t.kpi",
            r#"goal g "G" {
  kpi at_least_7 "At least 7" { from tickets measure count() grain month target >= 7 }
  kpi below_7 "Below 7" { from tickets measure count() grain month target < 7 }
}"#,
        )],
    );
    let (_, results) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    let status = |kpi: &str, period: &str| {
        let k = results.kpis.iter().find(|k| k.id == kpi).expect("kpi");
        let row = k.rows.iter().find(|r| r.period.as_deref() == Some(period)).expect("row");
        serde_json::to_value(row.status).expect("status").as_str().expect("str").to_string()
    };
    assert_eq!(status("at_least_7", "2024-01-01"), "on_track");
    assert_eq!(status("at_least_7", "2024-05-01"), "off_track");
    assert_eq!(status("below_7", "2024-01-01"), "off_track");
    assert_eq!(status("below_7", "2024-05-01"), "on_track");
}
