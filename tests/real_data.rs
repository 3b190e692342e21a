//! Real public data: tests/fixtures/real is a yardstick project over three datasets in
//! ../shared/data (Baltimore 311, NHS England A&E, San Antonio building permits). Its
//! expected values, tests/fixtures/real/expected.json, are computed from the raw files by
//! tests/oracle/real.py (plain Python, cross-checked with DuckDB), never by yardstick. The
//! extra assertions below use figures documented in each dataset's SOURCE.txt.
//!
//! Skipped (with a message) when ../shared/data is not beside the repository.

use std::path::Path;

use serde_json::Value;

use crate::common::*;

/// Relative prefix of every source path in the fixture's yardstick.yaml.
const DATA_PREFIX: &str = "../../../../shared/data";

/// Copy a real-data fixture (three sources under [`DATA_PREFIX`]) to a temporary project
/// whose source paths point at `data` (absolute).
pub fn project_on(name: &str, data: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&fixture(name), dir.path());
    let yaml_path = dir.path().join("yardstick.yaml");
    let yaml = std::fs::read_to_string(&yaml_path).expect("yaml");
    assert_eq!(yaml.matches(&format!("path: {DATA_PREFIX}/")).count(), 3, "three sources under {DATA_PREFIX}");
    let data = data.canonicalize().expect("canonical shared/data");
    // The data lives outside the project: allowed explicitly, as a user would.
    let yaml = format!("allow_paths: [\"{}\"]\n{}", data.display(), yaml.replace(DATA_PREFIX, &data.to_string_lossy()));
    std::fs::write(&yaml_path, yaml).expect("write yaml");
    dir
}

fn rows<'a>(results: &'a Value, id: &str) -> &'a Vec<Value> {
    kpi(results, id)["rows"].as_array().expect("rows")
}

/// The non-null values of a KPI, in row order.
fn values(results: &Value, id: &str) -> Vec<f64> {
    rows(results, id).iter().filter_map(|r| r["value"].as_f64()).collect()
}

fn single(results: &Value, id: &str) -> f64 {
    let v = values(results, id);
    assert_eq!(v.len(), 1, "{id}: one value");
    v[0]
}

#[test]
fn real_data_matches_the_oracle() {
    // shared_data() prints the "skipping" line when the folder is absent.
    let Some(data) = shared_data() else { return };
    let project = project_on("real", &data);
    let out = tempfile::tempdir().expect("tempdir");
    yardstick::build(project.path(), Some(out.path())).map_err(|f| f.render(false)).expect("real fixture builds");
    let results = results_json(out.path());
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("real/expected.json")).expect("expected.json")).expect("json");

    // Every KPI of the fixture has expected values, and every expected KPI was built.
    let want_kpis = expected["kpis"].as_object().expect("kpis");
    let mut got_ids: Vec<&str> = results["kpis"].as_array().expect("kpis").iter().map(|k| k["id"].as_str().expect("id")).collect();
    let mut want_ids: Vec<&str> = want_kpis.keys().map(String::as_str).collect();
    got_ids.sort_unstable();
    want_ids.sort_unstable();
    assert_eq!(got_ids, want_ids, "KPIs built vs KPIs in expected.json");
    assert_eq!(got_ids.len(), 36);

    // Row by row, in order (period, then groups, nulls last): period, groups, value, status.
    // expected.json lists the periods/groups that have rows. Empty cells of the period x group
    // grid (`empty_cells`, counted by the oracle) appear with a null value and status
    // `no_data` (docs/language.md "Periods").
    let mut compared = 0;
    for (id, case) in want_kpis {
        let by: Vec<&str> = case["by"].as_array().expect("by").iter().map(|b| b.as_str().expect("name")).collect();
        assert_eq!(kpi(&results, id)["by"], case["by"], "{id}: by columns");
        let want = case["rows"].as_array().expect("rows");
        let got = rows(&results, id);
        let empty = case["empty_cells"].as_u64().expect("empty_cells") as usize;
        assert!(
            got.len() == want.len() + empty,
            "{id}: {} rows, expected {} ({} with data, {} empty periods filled)\n got: {got:?}\nwant: {want:?}",
            got.len(),
            want.len() + empty,
            want.len(),
            empty
        );
        let cell = |r: &Value| -> Vec<Value> { std::iter::once(r["period"].clone()).chain(by.iter().map(|b| r[*b].clone())).collect() };
        let mut next = want.iter().peekable();
        for g in got {
            match next.peek() {
                Some(w) if cell(w) == cell(g) => {
                    for (key, wv) in w.as_object().expect("row") {
                        let gv = &g[key];
                        match (key.as_str(), gv.as_f64(), wv.as_f64()) {
                            ("value", Some(a), Some(b)) => assert!(close(a, b), "{id}: value {a} != {b} in {g}"),
                            _ => assert_eq!(gv, wv, "{id}: {key} in {g} vs {w}"),
                        }
                    }
                    next.next();
                    compared += 1;
                }
                _ => {
                    // Not the next expected row: only a filled empty cell may stand here.
                    assert!(!want.iter().any(|w| cell(w) == cell(g)), "{id}: row out of order: {g}");
                    assert!(g["value"].is_null() && g["status"] == "no_data", "{id}: unexpected row {g}");
                }
            }
        }
        assert!(next.peek().is_none(), "{id}: expected row missing: {:?}", next.peek());
    }
    assert_eq!(compared, 871, "every expected row was compared");

    // What was read: every file of the glob (incl. droplet/), every row, nothing dropped.
    for (source, want) in expected["sources"].as_object().expect("sources") {
        let got = &results["sources"][source];
        assert_eq!(got["rows_read"], want["rows_read"], "{source}: rows_read");
        assert_eq!(got["files"].as_array().expect("files").len() as u64, want["files"].as_u64().expect("n"), "{source}: files");
        assert_eq!(got["rows_skipped"], 0, "{source}: rows_skipped");
        assert_eq!(got["invalid_values"], serde_json::json!({}), "{source}: invalid values");
    }
    let b311_files = results["sources"]["baltimore_311"]["files"].as_array().expect("files");
    assert!(b311_files.iter().any(|f| f.as_str().expect("file").ends_with("droplet/BGESTLI1_9.csv")), "the glob reaches droplet/");

    // Figures documented in the datasets' SOURCE.txt (independent of both yardstick and the oracle).
    // baltimore_311: 62,521 records, 62,173 distinct servicerequestnum, 53,525 CLOSED, of which
    // 10,898 have statusdate after duedate and one has no duedate (ICYCONDI.csv line 99).
    assert_eq!(values(&results, "b311_requests_by_code_month").iter().sum::<f64>(), 62_521.0);
    assert_eq!(values(&results, "b311_distinct_requests_month").iter().sum::<f64>(), 62_173.0);
    assert_eq!(values(&results, "b311_closed_per_month_by_status_date").iter().sum::<f64>(), 53_525.0);
    assert!(close(single(&results, "b311_closed_by_due_overall"), (53_525.0 - 10_898.0 - 1.0) / 53_525.0));
    assert_eq!(single(&results, "b311_files_read"), 47.0);
    // TRMPICKU and ZTRMDEBR always have duedate == createddate. SOURCE.txt expects "closed by
    // due date" near zero for both; that holds for ZTRMDEBR only: 5,609 of the 6,912 CLOSED
    // TRMPICKU rows have statusdate == createddate too (counted with Python's csv module).
    let by_code = rows(&results, "b311_closed_by_due_by_code");
    let share_of = |code: &str| by_code.iter().find(|r| r["code"] == code).expect(code)["value"].as_f64().expect("value");
    assert_eq!(share_of("ZTRMDEBR"), 0.0);
    assert!(close(share_of("TRMPICKU"), 5_609.0 / 6_912.0));
    // Aug 2015 is a partial month of 507 rows.
    let aug_2015: f64 = rows(&results, "b311_requests_by_code_month")
        .iter()
        .filter(|r| r["period"] == "2015-08-01")
        .filter_map(|r| r["value"].as_f64())
        .sum();
    assert_eq!(aug_2015, 507.0);

    // nhs_ae: 36 months; England-wide breach share over the file 11.5%.
    let four_hour = values(&results, "ae_four_hour_all_month");
    let attendances = values(&results, "ae_attendances_month");
    assert_eq!((four_hour.len(), attendances.len()), (36, 36));
    let breaches: f64 = four_hour.iter().zip(&attendances).map(|(share, a)| (1.0 - share) * a).sum();
    let breach_share = breaches / attendances.iter().sum::<f64>();
    assert!((breach_share - 0.115).abs() < 0.0005, "England-wide breach share {breach_share}");
    assert!(rows(&results, "ae_four_hour_all_month").iter().all(|r| r["status"] == "off_track"), "no month met 95%");
    assert_eq!(rows(&results, "ae_breaches_stddev_by_type").len(), 3, "types 1, 2, other");

    // sa_permits: 16,287 rows issued 2023-01-01 .. 2023-03-10, 14,706 distinct permit numbers,
    // 181 issued before submission, 120 with no council district, p90 about 86 days, and the
    // four project names with windows-1252 letters (’ í á).
    assert_eq!(values(&results, "sa_permits_month").iter().sum::<f64>(), 16_287.0);
    assert_eq!(values(&results, "sa_permits_week").iter().sum::<f64>(), 16_287.0);
    // 2023-01-01 was a Sunday: with Monday weeks it belongs to the week of 2022-12-26.
    assert_eq!(rows(&results, "sa_permits_week")[0]["period"], "2022-12-26");
    assert_eq!(single(&results, "sa_distinct_permit_numbers"), 14_706.0);
    assert_eq!(single(&results, "sa_issued_before_submitted"), 181.0);
    assert_eq!(single(&results, "sa_non_ascii_project_names"), 4.0);
    let p90 = single(&results, "sa_p90_days");
    assert!((86.0..87.0).contains(&p90), "p90 days {p90}");
    let by_district = rows(&results, "sa_permits_by_district");
    let last = by_district.last().expect("rows");
    assert_eq!((&last["council_district"], &last["value"]), (&Value::Null, &serde_json::json!(120.0)), "empty CD is the last group");
}
