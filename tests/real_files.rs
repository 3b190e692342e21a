//! Files as they come, on real public data (issue 15): tests/fixtures/real_files reads the
//! Newcastle spending files (header on line 3, windows-1252, Excel serial dates in June,
//! trailing empty rows, fiscal quarters from April), the NHS A&E provider files (month from
//! the file name, repeated header names read by position, regions with a trailing space)
//! and Baltimore 311 (optional columns across 9 header variants). Expected values are
//! tests/fixtures/real_files/expected.json, written by tests/oracle/real_files.py with
//! Python's csv module from the raw files, never by yardstick.
//!
//! Skipped (with a message) when ../shared/data is not beside the repository.

use serde_json::Value;

use crate::common::*;
use crate::real_data::project_on;

#[test]
fn real_files_match_the_oracle() {
    let Some(data) = shared_data() else { return };
    let project = project_on("real_files", &data);
    let out = tempfile::tempdir().expect("tempdir");
    let built = yardstick::build(project.path(), Some(out.path())).map_err(|f| f.render(false)).expect("real_files fixture builds");
    let results = results_json(out.path());
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("real_files/expected.json")).expect("expected.json")).expect("json");

    let want_kpis = expected["kpis"].as_object().expect("kpis");
    assert_eq!(results["kpis"].as_array().expect("kpis").len(), want_kpis.len(), "every KPI has expected values");
    for (id, want) in want_kpis {
        let k = kpi(&results, id);
        let by = k["by"].as_array().expect("by").first().and_then(Value::as_str).map(str::to_string);
        // Rows with a value, as [period, group, value]; the periods between them without
        // data are filled with null values (docs/language.md "Periods").
        let got: Vec<(String, Value, f64)> = k["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .filter(|r| !r["value"].is_null())
            .map(|r| {
                let group = by.as_ref().map_or(Value::Null, |b| r[b.as_str()].clone());
                (r["period"].as_str().expect("period").to_string(), group, r["value"].as_f64().expect("value"))
            })
            .collect();
        let want = want.as_array().expect("rows");
        assert_eq!(got.len(), want.len(), "{id}: rows with a value\n got: {got:?}\nwant: {want:?}");
        for (g, w) in got.iter().zip(want) {
            let w_value = w[2].as_f64().expect("value");
            assert!(g.0 == w[0].as_str().expect("period") && g.1 == w[1] && close(g.2, w_value), "{id}: got {g:?}, expected {w}");
        }
    }

    for (id, want) in expected["sources"].as_object().expect("sources") {
        let got = &results["sources"][id];
        assert_eq!(got["rows_read"], want["rows_read"], "{id}: rows_read");
        assert_eq!(got["rows_skipped"], 0, "{id}: rows_skipped");
        if let Some(blank) = want.get("blank_lines") {
            assert_eq!(&got["blank_lines"], blank, "{id}: blank_lines");
        }
        let want_missing = want["missing_optional"].as_object().expect("missing_optional");
        let got_missing = got["missing_optional"].as_object().expect("missing_optional");
        // In declaration order (the oracle's are sorted by name).
        let declared = ["outcome", "activity", "updateddate"];
        let order = |keys: Vec<&String>| -> Vec<usize> { keys.iter().map(|k| declared.iter().position(|d| d == k).unwrap_or(9)).collect() };
        let got_order = order(got_missing.keys().collect());
        assert!(got_order.windows(2).all(|w| w[0] < w[1]), "{id}: {got_order:?}");
        let mut sorted_keys: Vec<&String> = got_missing.keys().collect();
        sorted_keys.sort();
        assert_eq!(sorted_keys, want_missing.keys().collect::<Vec<_>>(), "{id}: optional columns missing");
        for (col, m) in want_missing {
            assert_eq!(got_missing[col]["rows"], m["rows"], "{id}.{col}: rows without it");
            let files: Vec<&str> = got_missing[col]["files"].as_array().expect("files").iter().filter_map(Value::as_str).collect();
            let want_files: Vec<&str> = m["files"].as_array().expect("files").iter().filter_map(Value::as_str).collect();
            assert_eq!(files.len(), want_files.len(), "{id}.{col}: {files:?}");
            for (f, w) in files.iter().zip(&want_files) {
                assert!(f.ends_with(w), "{id}.{col}: {f} is not {w}");
            }
        }
    }

    // Figures stated in the datasets' SOURCE.txt: 69,640 Newcastle payment lines, £525.6 m
    // net in 2019; Baltimore: 7 small WW* files lack updateddate (375 rows).
    assert_eq!(results["sources"]["newcastle"]["rows_read"], 69_640);
    let net: f64 = values_of(&results, "ncl_net_per_fiscal_quarter").iter().sum();
    assert!((net / 1e6 - 525.6).abs() < 0.05, "net spend {net}");
    assert_eq!(results["sources"]["baltimore_311"]["missing_optional"]["updateddate"]["rows"], 375);
    // The report says so too, in the data sources table.
    let html = std::fs::read_to_string(out.path().join("index.html")).expect("index.html");
    assert!(html.contains("updateddate (optional): not in 7 of 47 files, null in their 375 rows"), "report shows missing columns");
    // Regions are trimmed: 7 regions, none split by the trailing space.
    let regions: std::collections::BTreeSet<&str> =
        kpi(&results, "nhs_attendances_by_region")["rows"].as_array().expect("rows").iter().filter_map(|r| r["region"].as_str()).collect();
    assert_eq!(regions.len(), 7, "{regions:?}");
    assert!(!built.compiled.warnings.iter().any(|w| w.code == "YS0906"));
}

fn values_of(results: &Value, id: &str) -> Vec<f64> {
    kpi(results, id)["rows"].as_array().expect("rows").iter().filter_map(|r| r["value"].as_f64()).collect()
}

/// DuckDB's reading of the Wake County inspections (tests/real_files.rs
/// `wake_county_inspections_match_duckdb`): R's `NA` as null, quoted comments with line breaks,
/// `2021-10-26T04:00:00Z` instants whose UTC day is the inspection's day.
const WAKE_ORACLE: &str = r#"
import duckdb, json, sys
con = duckdb.connect()
con.execute("create table t as select *, cast(substr(DATE_, 1, 10) as date) as day from read_csv(?, header = true, nullstr = ['NA', ''], types = {'HSISID': 'VARCHAR', 'DATE_': 'VARCHAR'})", [sys.argv[1]])
since = "day >= date '2021-01-01'"
q = lambda sql: con.execute(sql).fetchall()
print(json.dumps({
    "rows": q("select count(*) from t")[0][0],
    "grade_a": [[str(p), v] for p, v in q(f"select cast(date_trunc('quarter', day) as date), avg(case when SCORE >= 90 then 1.0 else 0.0 end) from t where {since} group by 1 order by 1")],
    "median_score": [[str(p), v] for p, v in q(f"select cast(date_trunc('quarter', day) as date), median(SCORE) from t where {since} group by 1 order by 1")],
    "grade_a_by_type": [[g, v] for g, v in q(f"select FACILITYTYPE, avg(case when SCORE >= 90 then 1.0 else 0.0 end) from t where {since} group by 1 order by 1 nulls last")],
    "reinspection_rate": q(f"select avg(case when TYPE = 'Re-Inspection' then 1.0 else 0.0 end) from t where {since}")[0][0],
}))
"#;

/// Wake County food inspections (a file none of the other fixtures reads): values against
/// DuckDB's, computed from the raw file when the test runs.
#[test]
fn wake_county_inspections_match_duckdb() {
    let Some(data) = shared_data() else { return };
    let file = data.join("wake_county_food_inspections/restaurant_inspections.csv");
    let out = std::process::Command::new("python3").arg("-c").arg(WAKE_ORACLE).arg(&file).output().expect("python3");
    assert!(out.status.success(), "oracle (python3 with duckdb, installed by scripts/test): {}", String::from_utf8_lossy(&out.stderr));
    let want: Value = serde_json::from_slice(&out.stdout).expect("oracle json");
    let yaml = format!(
        "name: Wake County food safety\nallow_paths: [\"{dir}\"]\nsources:\n  inspections:\n    path: {file}\n    time: DATE_\n    null_values: [\"NA\", \"\"]\n    columns:\n      HSISID: string\n      SCORE: float\n      DATE_: timestamp\n      TYPE: string\n      FACILITYTYPE: string\n",
        dir = data.canonicalize().expect("data").display(),
        file = file.canonicalize().expect("file").display(),
    );
    let kpis = r#"goal safe_food "Safe food" {
  kpi grade_a "Facilities scoring 90 or more" { from inspections measure share(SCORE >= 90) grain quarter since 2021-01-01 target >= 95% }
  kpi grade_a_by_type "Grade A by facility type" { from inspections measure share(SCORE >= 90) by FACILITYTYPE since 2021-01-01 }
  kpi median_score "Median score" { from inspections measure median(SCORE) grain quarter since 2021-01-01 }
  kpi reinspection_rate "Re-inspection rate" { from inspections measure share(TYPE = "Re-Inspection") since 2021-01-01 }
}"#;
    let dir = project(&yaml, &[("metrics/food.kpi", kpis)]);
    let target = tempfile::tempdir().expect("tempdir");
    let built = yardstick::build(dir.path(), Some(target.path())).map_err(|f| f.render(false)).expect("builds");
    assert!(built.compiled.warnings.is_empty(), "{:?}", built.compiled.warnings);
    let r = results_json(target.path());
    // 3,875 records in 6,847 physical lines: the line breaks inside quoted comments are text.
    assert_eq!(r["sources"]["inspections"]["rows_read"], want["rows"]);
    assert_eq!(r["sources"]["inspections"]["rows_skipped"], 0);
    let series = |id: &str, key: &str| -> Vec<(Value, f64)> {
        kpi(&r, id)["rows"].as_array().expect("rows").iter().map(|x| (x[key].clone(), x["value"].as_f64().expect("value"))).collect()
    };
    for (id, key) in [("grade_a", "period"), ("median_score", "period"), ("grade_a_by_type", "FACILITYTYPE")] {
        let got = series(id, key);
        let want: Vec<(Value, f64)> =
            want[id].as_array().expect(id).iter().map(|p| (p[0].clone(), p[1].as_f64().expect("value"))).collect();
        assert_eq!(got.len(), want.len(), "{id}: {got:?} vs {want:?}");
        for (g, w) in got.iter().zip(&want) {
            assert!(g.0 == w.0 && close(g.1, w.1), "{id}: got {g:?}, DuckDB {w:?}");
        }
    }
    let rate = series("reinspection_rate", "period");
    assert!(
        rate.len() == 1 && close(rate[0].1, want["reinspection_rate"].as_f64().expect("rate")),
        "{rate:?} vs {}",
        want["reinspection_rate"]
    );
}

/// DuckDB's reading of Baltimore's Open Checkbook (tests/real_files.rs
/// `baltimore_checkbook_matches_duckdb`): dates as text with a fake `+00` offset, missing and
/// negative amounts, a fund name with a leading space, empty agency names.
const CHECKBOOK_ORACLE: &str = r#"
import duckdb, json, sys
con = duckdb.connect()
con.execute("create table t as select cast(strptime(Date, '%Y/%m/%d %H:%M:%S+00') as date) as day, Agency, trim(Fund) as fund, Amount, Vendor_Name from read_parquet(?)", [sys.argv[1]])
q = lambda sql: con.execute(sql).fetchall()
month = "cast(date_trunc('month', day) as date)"
print(json.dumps({
    "rows": q("select count(*) from t")[0][0],
    "monthly_spend": [[str(p), v] for p, v in q(f"select {month}, sum(Amount) from t group by 1 order by 1")],
    "missing_amount": [[str(p), v] for p, v in q(f"select {month}, avg(case when Amount is null then 1.0 else 0.0 end) from t group by 1 order by 1")],
    "median_payment": [[str(p), v] for p, v in q(f"select {month}, median(Amount) from t where Amount > 0 group by 1 order by 1")],
    "vendors": [[str(p), v] for p, v in q(f"select {month}, count(distinct Vendor_Name) from t group by 1 order by 1")],
    "spend_by_fund": [[g, v] for g, v in q("select fund, sum(Amount) from t where fund is not null group by 1 order by 1")],
    "spend_by_agency_quarter": [[str(p), a, v] for p, a, v in q("select cast(date_trunc('quarter', day) as date), Agency, sum(Amount) from t group by 1, 2 order by 1, 2")],
}))
"#;

/// Baltimore's vendor payments for FY2020 (the one real Parquet file in shared/data): every
/// value against DuckDB's, computed from the raw file when the test runs.
#[test]
fn baltimore_checkbook_matches_duckdb() {
    let Some(data) = shared_data() else { return };
    let file = data.join("baltimore_open_checkbook/open_checkbook_fy2020.parquet");
    let out = std::process::Command::new("python3").arg("-c").arg(CHECKBOOK_ORACLE).arg(&file).output().expect("python3");
    assert!(out.status.success(), "oracle (python3 with duckdb, installed by scripts/test): {}", String::from_utf8_lossy(&out.stderr));
    let want: Value = serde_json::from_slice(&out.stdout).expect("oracle json");
    let yaml = format!(
        "name: Baltimore spending\nallow_paths: [\"{dir}\"]\ncalendar:\n  fiscal_year_start: \"07-01\"\nsources:\n  payments:\n    path: {file}\n    time: Date\n    columns:\n      Date: {{ type: date, format: \"%Y/%m/%d %H:%M:%S+00\" }}\n      Agency: string\n      Fund: {{ type: string, trim: true }}\n      Amount: float\n      Vendor_Name: string\n",
        dir = data.canonicalize().expect("data").display(),
        file = file.canonicalize().expect("file").display(),
    );
    let kpis = r#"goal stewardship "Spend public money carefully" {
  kpi monthly_spend "Spend per month" { from payments measure sum(Amount) grain month }
  kpi missing_amount "Payment lines with no amount" { from payments measure share(Amount is null) grain month target <= 5% }
  kpi median_payment "Median payment" { from payments measure median(Amount) where Amount > 0 grain month }
  kpi vendors "Vendors paid" { from payments measure count(distinct Vendor_Name) grain month }
  kpi spend_by_fund "Spend by fund" { from payments measure sum(Amount) by Fund where Fund is not null }
  kpi spend_by_agency_quarter "Spend by agency" { from payments measure sum(Amount) by Agency grain quarter }
}"#;
    let dir = project(&yaml, &[("metrics/spend.kpi", kpis)]);
    let target = tempfile::tempdir().expect("tempdir");
    let built = yardstick::build(dir.path(), Some(target.path())).map_err(|f| f.render(false)).expect("builds");
    assert!(built.compiled.warnings.is_empty(), "{:?}", built.compiled.warnings);
    let r = results_json(target.path());
    assert_eq!(r["sources"]["payments"]["rows_read"], want["rows"]);
    assert_eq!(r["sources"]["payments"]["rows_skipped"], 0);
    // 18,939 payments have no amount: counted as null inputs of the sums, never as 0.
    assert_eq!(kpi(&r, "monthly_spend")["row_counts"]["null_input"], 18939);
    let rows = |id: &str| kpi(&r, id)["rows"].as_array().expect("rows").clone();
    let compare = |id: &str, got: Vec<(Vec<Value>, Option<f64>)>| {
        // A group whose amounts are all missing has no sum in either engine (SQL's NULL).
        let want: Vec<(Vec<Value>, f64)> = want[id]
            .as_array()
            .expect(id)
            .iter()
            .filter_map(|p| {
                let p = p.as_array().expect("row");
                p[p.len() - 1].as_f64().map(|v| (p[..p.len() - 1].to_vec(), v))
            })
            .collect();
        // yardstick fills periods a group has no row in with no value; DuckDB has no such row.
        let got: Vec<(Vec<Value>, f64)> = got.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
        assert_eq!(got.len(), want.len(), "{id}: {got:?} vs {want:?}");
        for (g, w) in got.iter().zip(&want) {
            assert!(g.0 == w.0 && close(g.1, w.1), "{id}: got {g:?}, DuckDB {w:?}");
        }
    };
    for id in ["monthly_spend", "missing_amount", "median_payment", "vendors"] {
        compare(id, rows(id).iter().map(|x| (vec![x["period"].clone()], x["value"].as_f64())).collect());
    }
    compare("spend_by_fund", rows("spend_by_fund").iter().map(|x| (vec![x["Fund"].clone()], x["value"].as_f64())).collect());
    let mut by_agency: Vec<(Vec<Value>, Option<f64>)> =
        rows("spend_by_agency_quarter").iter().map(|x| (vec![x["period"].clone(), x["Agency"].clone()], x["value"].as_f64())).collect();
    by_agency.sort_by(|a, b| (a.0[0].as_str(), a.0[1].as_str()).cmp(&(b.0[0].as_str(), b.0[1].as_str())));
    compare("spend_by_agency_quarter", by_agency);
}
