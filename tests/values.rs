//! Measure, where, by and grain combinations against DuckDB: tests/fixtures/values/expected.json
//! is written by tests/oracle/values.py (DuckDB over the same CSV), never by yardstick.

use crate::common::*;

#[test]
fn every_case_matches_duckdb() {
    let out = tempfile::tempdir().expect("tempdir");
    yardstick::build(&fixture("values"), Some(out.path())).map_err(|f| f.render(false)).expect("fixture builds");
    let results = results_json(out.path());
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("values/expected.json")).expect("expected.json")).expect("json");
    let mut checked = 0;
    for kpi in results["kpis"].as_array().expect("kpis") {
        let id = kpi["id"].as_str().expect("id");
        let Some(case) = expected.get(id) else { continue };
        let want = case["rows"].as_array().expect("rows");
        let got = kpi["rows"].as_array().expect("rows");
        assert_eq!(got.len(), want.len(), "{id}: row count\n got: {got:?}\nwant: {want:?}");
        for (g, w) in got.iter().zip(want) {
            for (key, wv) in w.as_object().expect("row") {
                let gv = &g[key];
                match (gv.as_f64(), wv.as_f64()) {
                    (Some(a), Some(b)) if key == "value" => assert!(close(a, b), "{id}: {key} {a} != {b} in {g}"),
                    _ => assert_eq!(gv, wv, "{id}: {key} in {g} vs {w}"),
                }
            }
        }
        checked += 1;
    }
    // Every implemented measure case was compared (the oracle also holds cases for later measures).
    assert_eq!(checked, 17, "all cases of values.kpi were compared");
}

#[test]
fn statuses_follow_the_target_direction() {
    // Hand-computed: 7 tickets in January 2024, 6 in May (tickets.csv).
    let yaml = std::fs::read_to_string(fixture("values/yardstick.yaml")).expect("yaml");
    let dir = project(
        &yaml.replace("data/tickets.csv", &fixture("values/data/tickets.csv").to_string_lossy()),
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
