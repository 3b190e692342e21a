//! The bundled example builds; its values match examples/city/expected.json, which
//! examples/city/expected.py computes from the CSVs with plain Python.

use crate::common::*;

fn expected() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(repo().join("examples/city/expected.json")).expect("expected.json")).expect("json")
}

#[test]
fn example_builds_with_expected_values() {
    let out = tempfile::tempdir().expect("tempdir");
    yardstick::build(&repo().join("examples/city"), Some(out.path())).map_err(|f| f.render(false)).expect("builds");
    let results = results_json(out.path());
    let expected = expected();
    let mut compared = 0;
    for (kpi_id, key_of) in [
        ("calls_per_month", None),
        ("answered_10s", None),
        ("permits_issued_per_quarter", None),
        ("fee_revenue_per_quarter", None),
        ("closed_within_sla_by_category", Some("category")),
        ("answer_seconds_p90", None),
        ("permit_business_days", None),
        ("permits_issued_fytd", None),
        ("cost_per_permit", None),
    ] {
        let want = expected[kpi_id].as_object().expect("expected kpi");
        let rows = kpi(&results, kpi_id)["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), want.len(), "{kpi_id}: one row per expected period/group");
        for row in rows {
            let period = row["period"].as_str().expect("period");
            let key = match key_of {
                Some(col) => format!("{period}|{}", row[col].as_str().expect("group")),
                None => period.to_string(),
            };
            let w = want.get(&key).and_then(|v| v.as_f64()).unwrap_or_else(|| panic!("{kpi_id}: unexpected {key}"));
            let g = row["value"].as_f64().expect("value");
            assert!(close(g, w), "{kpi_id} {key}: {g} != {w}");
            compared += 1;
        }
    }
    assert!(compared > 100);
    // Two `by` columns: per quarter, district and category (an empty district is null in
    // results.json and "" in expected.py). Groups without closed requests in a quarter have
    // a row without a value.
    let want = expected["sla_by_district_category"].as_object().expect("expected kpi");
    let rows = kpi(&results, "sla_by_district_category")["rows"].as_array().expect("rows");
    let with_value: Vec<_> = rows.iter().filter(|r| !r["value"].is_null()).collect();
    assert_eq!(with_value.len(), want.len());
    for row in with_value {
        let key = format!(
            "{}|{}|{}",
            row["period"].as_str().expect("period"),
            row["district"].as_str().unwrap_or(""),
            row["category"].as_str().expect("category")
        );
        let w = want.get(&key).and_then(|v| v.as_f64()).unwrap_or_else(|| panic!("unexpected {key}"));
        assert!(close(row["value"].as_f64().expect("value"), w), "sla_by_district_category {key}");
    }
    // `rows`: each value's rows counted, for a share its denominator (expected.py counts
    // the closed requests per month and category).
    let want = expected["closed_within_sla_by_category_rows"].as_object().expect("expected rows");
    for row in kpi(&results, "closed_within_sla_by_category")["rows"].as_array().expect("rows") {
        let key = format!("{}|{}", row["period"].as_str().expect("period"), row["category"].as_str().expect("group"));
        assert_eq!(row["rows"].as_u64(), want.get(&key).and_then(|v| v.as_u64()), "{key}");
    }
    // A change against the same month last year: the months of 2024 have nothing to compare
    // with (no value); 2025's equal expected.py's (this - then) / then.
    let want = expected["requests_311_vs_last_year"].as_object().expect("expected kpi");
    let rows = kpi(&results, "requests_311_vs_last_year")["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 18, "January 2024 to June 2025");
    let with_value: Vec<_> = rows.iter().filter(|r| !r["value"].is_null()).collect();
    assert_eq!(with_value.len(), want.len());
    for row in with_value {
        let w = want[row["period"].as_str().expect("period")].as_f64().expect("expected value");
        assert!(close(row["value"].as_f64().expect("value"), w), "requests_311_vs_last_year {row}");
    }
    assert!(rows.iter().take(12).all(|r| r["value"].is_null() && r["status"] == "no_data"));
    assert_eq!(kpi(&results, "requests_311_vs_last_year")["unit"], "percent");
    // 16 answer times in calls_911.csv are garbled (generate.py) and were made null.
    assert_eq!(results["sources"]["calls_911"]["invalid_values"]["answered_at"], 16);
    // Each KPI says what its numbers do not see: the 16 garbled answer times (made null).
    assert_eq!(kpi(&results, "answered_10s")["invalid_values"]["answered_at"], 16);
    assert_eq!(kpi(&results, "answered_10s")["rows_skipped"], 0);
    assert_eq!(kpi(&results, "permits_issued_fytd")["invalid_values"], serde_json::json!({}));
    assert_eq!(kpi(&results, "cost_per_permit")["rows_skipped"], 0);
    assert_eq!(results["sources"]["calls_911"]["rows_read"], 3969);
}

#[test]
fn rebuilding_is_byte_identical() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let dir = repo().join("examples/city");
    yardstick::build(&dir, Some(a.path())).map_err(|f| f.render(false)).expect("first build");
    yardstick::build(&dir, Some(b.path())).map_err(|f| f.render(false)).expect("second build");
    for name in ["index.html", "results.json"] {
        let x = std::fs::read(a.path().join(name)).expect("a");
        let y = std::fs::read(b.path().join(name)).expect("b");
        assert!(x == y, "{name} differs between builds");
    }
}

#[test]
fn report_shows_goals_kpis_targets_and_statuses() {
    let out = tempfile::tempdir().expect("tempdir");
    yardstick::build(&repo().join("examples/city"), Some(out.path())).map_err(|f| f.render(false)).expect("builds");
    let html = std::fs::read_to_string(out.path().join("index.html")).expect("html");
    for needle in [
        "A safe city",
        "Fast, reliable city services",
        "911 calls answered within 10 seconds",
        "&gt;= 90%",
        "On track",
        "Off track",
        "<svg",
        "SELECT",
        "data/calls_911.csv",
    ] {
        assert!(html.contains(needle), "report lacks {needle:?}");
    }
    // Self-contained: no scripts, no external resources.
    assert!(!html.contains("<script"), "no JavaScript");
    assert!(!html.contains("http://") || html.matches("http://").all(|_| html.contains("xmlns=\"http://www.w3.org/2000/svg\"")));
    assert!(!html.contains("https://"), "no network resources");
    // The June 2025 value of answered_10s (expected.json: 0.9156626506...) is shown as a percentage.
    assert!(html.contains("91.6%"));
}
