//! Parquet sources are read once and streamed to all their queries at once, decoding only
//! the columns the queries read (and the ones whose values can be invalid). These tests
//! check that the values and the row accounting are those of reading everything; expected
//! values are worked out by hand in the comments.

use crate::common::*;

/// `COPY (<select>) TO path` with DataFusion: 100,000 rows, so the file is read in many
/// batches (more than a query's channel holds) while several queries run.
fn write_parquet_query(path: &std::path::Path, select: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let ctx = datafusion::prelude::SessionContext::new();
        let sql = format!("COPY ({select}) TO '{}' STORED AS PARQUET", path.display());
        ctx.sql(&sql).await.expect("plan copy").collect().await.expect("write parquet");
    });
}

fn result<'a>(r: &'a yardstick::results::Results, id: &str) -> &'a yardstick::results::KpiResult {
    r.kpis.iter().find(|k| k.id == id).unwrap_or_else(|| panic!("no KPI {id}"))
}

fn values(r: &yardstick::results::Results, id: &str) -> Vec<(Option<String>, Vec<serde_json::Value>, Option<f64>)> {
    result(r, id).rows.iter().map(|row| (row.period.clone(), row.groups.iter().map(|(_, v)| v.clone()).collect(), row.value)).collect()
}

const YAML: &str = "name: S
sources:
  t:
    path: data/t.parquet
    time: day
    columns:
      id: integer
      day: date
      kind: integer
      amount: float
      note: string
      other: { type: date, on_invalid: skip }
";

/// Rows id = 1..100000: day = 2024-01-01 (day 19723 since 1970) + (id mod 100) days, kind = id mod 4, amount = id,
/// `other` 1500-01-01 (outside the default valid years 1900-2100) for ids 1..10, else
/// 2020-01-01. No KPI reads `other` or `note`.
const SELECT: &str = "SELECT id, CAST(CAST(19723 + id % 100 AS INT) AS DATE) AS day, id % 4 AS kind, \
     CAST(id AS DOUBLE) AS amount, 'n' AS note, \
     CASE WHEN id <= 10 THEN DATE '1500-01-01' ELSE DATE '2020-01-01' END AS other \
     FROM generate_series(1, 100000) AS s(id)";

#[test]
fn a_streamed_parquet_source_gives_every_query_all_its_rows() {
    let dir = project(
        YAML,
        &[(
            "k.kpi",
            r#"goal g "G" {
  kpi total "Total" { from t measure sum(amount) }
  kpi per_kind "Per kind" { from t measure count() by kind }
  kpi monthly "Monthly" { from t measure count() grain month }
  kpi monthly_big "Monthly, big" { from t measure sum(amount) where amount > 99990 grain month }
  kpi rolling "Rolling" { from t measure count() grain month rolling 2 months }
  kpi median_id "Median" { from t measure median(amount) }
}"#,
        )],
    );
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    write_parquet_query(&dir.path().join("data/t.parquet"), SELECT);
    let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");

    // `other` is read although no KPI uses it: ids 1..10 are skipped (on_invalid: skip), in
    // every KPI. total = 100000 * 100001 / 2 - (1 + ... + 10) = 5000050000 - 55.
    assert_eq!(values(&r, "total"), vec![(None, vec![], Some(5_000_049_945.0))]);
    let t = result(&r, "total");
    assert_eq!(t.rows_skipped, 10);
    assert_eq!(t.invalid_values.get("other"), Some(&10));
    let c = t.row_counts.expect("counts");
    assert_eq!((c.read, c.counted, c.null_input), (99_990, 99_990, 0));

    // 25,000 ids per kind; the skipped ids 1..10 have kinds 1,2,3,0,1,2,3,0,1,2.
    let kinds: Vec<(serde_json::Value, Option<f64>)> = values(&r, "per_kind").into_iter().map(|(_, g, v)| (g[0].clone(), v)).collect();
    assert_eq!(
        kinds,
        vec![
            (serde_json::json!(0), Some(24_998.0)),
            (serde_json::json!(1), Some(24_997.0)),
            (serde_json::json!(2), Some(24_997.0)),
            (serde_json::json!(3), Some(24_998.0))
        ]
    );

    // Each residue 0..99 is 1,000 ids: days 0-30 January (31,000 less the 10 skipped, whose
    // residues 1..10 are January days), 31-59 February 2024 (29 days), 60-90 March, 91-99
    // April (9 days).
    let month = |m: &str| Some(format!("2024-{m}-01"));
    let monthly: Vec<(Option<String>, Option<f64>)> = values(&r, "monthly").into_iter().map(|(p, _, v)| (p, v)).collect();
    assert_eq!(
        monthly,
        vec![(month("01"), Some(30_990.0)), (month("02"), Some(29_000.0)), (month("03"), Some(31_000.0)), (month("04"), Some(9_000.0))]
    );
    // amount > 99990: ids 99991..100000, residues 91..99 (April) and 0 (id 100000, January).
    let big: Vec<(Option<String>, Option<f64>)> = values(&r, "monthly_big").into_iter().map(|(p, _, v)| (p, v)).collect();
    assert_eq!(big, vec![(month("01"), Some(100_000.0)), (month("02"), None), (month("03"), None), (month("04"), Some(899_955.0))]);
    // Rolling 2 months: January 30,990; February 30,990 + 29,000; March 29,000 + 31,000;
    // April 31,000 + 9,000.
    let rolling: Vec<(Option<String>, Option<f64>)> = values(&r, "rolling").into_iter().map(|(p, _, v)| (p, v)).collect();
    assert_eq!(
        rolling,
        vec![(month("01"), Some(30_990.0)), (month("02"), Some(59_990.0)), (month("03"), Some(60_000.0)), (month("04"), Some(40_000.0))]
    );
    // Median of 11..100000 (99,990 values): the mean of the 49,995th and 49,996th, ids
    // 50,005 and 50,006.
    assert_eq!(values(&r, "median_id"), vec![(None, vec![], Some(50_005.5))]);
}

#[test]
fn a_column_no_kpi_reads_is_still_checked() {
    // `code` is declared an integer but is text in the file; no KPI reads it: still an
    // error naming the file and the column (as when every column was read).
    let dir = project(
        "name: S\nsources:\n  t:\n    path: data/t.parquet\n    columns:\n      amount: integer\n      code: integer\n",
        &[("k.kpi", r#"goal g "G" { kpi total "Total" { from t measure sum(amount) } }"#)],
    );
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    write_parquet(&dir.path().join("data/t.parquet"), "(1, '7'), (2, 'seven')", "amount, code");
    let err = yardstick::evaluate(dir.path()).map(|_| ()).map_err(|f| f.render(false)).expect_err("a bad value");
    assert!(err.contains("YS0301") && err.contains("data/t.parquet") && err.contains("`code`"), "{err}");
}

/// CSV sources stream too: 150,000 rows with CRLF line ends (4.5 MB, several read buffers
/// and batches), a quoted two-line note every 1,000th row, a blank `,,,,` line after every
/// 50,000th row and a trailing note. Line numbers in errors stay exact.
fn big_csv(bad: &[u64]) -> String {
    let mut text = String::from("id,day,kind,amount,note\r\n");
    for id in 1..=150_000u64 {
        let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date") + chrono::Duration::days((id % 100) as i64);
        let amount = if bad.contains(&id) { "x".to_string() } else { id.to_string() };
        let note = if id % 1000 == 0 { "\"first line\nsecond line\"" } else { "n\u{e9}" };
        text.push_str(&format!("{id},{day},{},{amount},{note}\r\n", id % 4));
        if id % 50_000 == 0 {
            text.push_str(",,,,\r\n");
        }
    }
    text.push_str("Total rows: 150000\r\n");
    text
}

const CSV_YAML: &str = "name: S
sources:
  t:
    path: data/t.csv
    time: day
    trailing_notes: skip
    columns:
      id: integer
      day: date
      kind: integer
      amount: { type: float, on_invalid: POLICY }
      note: string
";

#[test]
fn a_streamed_csv_source_gives_every_query_all_its_rows_and_counts() {
    let dir = project(
        &CSV_YAML.replace("POLICY", "skip"),
        &[(
            "k.kpi",
            r#"goal g "G" {
  kpi total "Total" { from t measure sum(amount) }
  kpi per_kind "Per kind" { from t measure count() by kind }
  kpi monthly "Monthly" { from t measure count() grain month }
  kpi median_id "Median" { from t measure median(amount) }
}"#,
        )],
    );
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(dir.path().join("data/t.csv"), big_csv(&[7, 70_007])).expect("write");
    for pass in ["parsed", "from the cache"] {
        let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
        // Ids 7 and 70007 are skipped: total = 150000 * 150001 / 2 - 7 - 70007.
        assert_eq!(values(&r, "total"), vec![(None, vec![], Some(11_250_075_000.0 - 70_014.0))], "{pass}");
        let t = result(&r, "total");
        assert_eq!((t.rows_skipped, t.invalid_values.get("amount")), (2, Some(&2)), "{pass}");
        let c = t.row_counts.expect("counts");
        assert_eq!((c.read, c.counted), (149_998, 149_998), "{pass}");
        let s = &r.sources["t"].stats;
        // 150,000 rows read (the 2 skipped among them), 3 blank lines, 1 trailing note.
        assert_eq!((s.rows_read, s.rows_skipped, s.blank_lines, s.trailing_notes), (150_000, 2, 3, 1), "{pass}");
        // 37,500 ids per kind; 7 has kind 3, 70007 kind 3.
        let kinds: Vec<Option<f64>> = values(&r, "per_kind").into_iter().map(|(_, _, v)| v).collect();
        assert_eq!(kinds, vec![Some(37_500.0), Some(37_500.0), Some(37_500.0), Some(37_498.0)], "{pass}");
        // Days 2024-01-01 + (id mod 100): 0..30 in January (31 days x 1,500 ids), 31..59 in
        // February (29 x 1,500), 60..90 in March (31), 91..99 in April (9); ids 7 and 70007
        // (day 7) are January's.
        let months: Vec<Option<f64>> = values(&r, "monthly").into_iter().map(|(_, _, v)| v).collect();
        assert_eq!(months, vec![Some(46_498.0), Some(43_500.0), Some(46_500.0), Some(13_500.0)], "{pass}");
        // The median of 1..150000 without 7 and 70007: 149,998 values, the middle two are
        // the 74,999th and 75,000th, i.e. ids 75001 and 75002 (two ids below them are gone).
        assert_eq!(values(&r, "median_id"), vec![(None, vec![], Some(75_001.5))], "{pass}");
    }
}

#[test]
fn a_streamed_csv_error_names_the_exact_lines() {
    let dir =
        project(&CSV_YAML.replace("POLICY", "error"), &[("k.kpi", r#"goal g "G" { kpi total "Total" { from t measure sum(amount) } }"#)]);
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(dir.path().join("data/t.csv"), big_csv(&[7, 70_007, 149_999])).expect("write");
    let err = yardstick::evaluate(dir.path()).err().expect("fails").render(false);
    // Id k is on line 1 + k, plus one line per two-line note before it (ids 1000, 2000, ...)
    // and one per blank line before it (after ids 50000, 100000): id 7 on line 8, id 70007
    // on 1 + 70007 + 70 + 1 = 70079, id 149999 on 1 + 149999 + 149 + 2 = 150151.
    assert!(err.contains("3 value(s) cannot be read in data/t.csv"), "{err}");
    for line in ["data/t.csv:8: column `amount`", "data/t.csv:70079: column `amount`", "data/t.csv:150151: column `amount`"] {
        assert!(err.contains(line), "{line} in {err}");
    }
}
