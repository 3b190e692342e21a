//! Rolling and year-to-date windows (`plan::windows`): additive measures aggregate each
//! period once and add the periods of a window up; the values must be those of aggregating
//! the window's rows themselves, exactly. Every expected value below is worked out by hand
//! from the seven rows.

use crate::common::*;

const YAML: &str = "name: windows
sources:
  amounts:
    path: amounts.csv
    time: day
    columns:
      day: date
      kind: string
      amount: float
";

// 1e16 + 1 - 1e16 is 1 exactly, but 0 when added left to right in floats; and each month's
// own float sum loses it too (-1e16 + 2.5 rounds to -9999999999999998), so a window that
// added per-month float sums would get March wrong.
const CSV: &str = "day,kind,amount
2024-01-10,a,1e16
2024-02-10,a,1
2024-03-10,a,-1e16
2024-03-20,b,2.5
2024-04-05,a,0.5
2024-04-06,b,
2024-05-07,b,4
";

const KPIS: &str = "goal g {
  kpi r_sum { from amounts measure sum(amount) grain month rolling 3 months }
  kpi r_count { from amounts measure count() grain month rolling 3 months }
  kpi r_count_amount { from amounts measure count(amount) grain month rolling 3 months }
  kpi r_avg { from amounts measure avg(amount) grain month rolling 3 months by kind }
  kpi r_max { from amounts measure max(amount) grain month rolling 2 months by kind }
  kpi r_min { from amounts measure min(amount where amount > 0) grain month rolling 2 months }
  kpi ytd_share { from amounts measure share(amount > 1) grain month year_to_date }
  kpi ytd_ratio { from amounts measure ratio(sum(amount where kind = 'b'), count() where kind = 'b') grain month year_to_date }
  kpi r_median { from amounts measure median(amount) grain month rolling 3 months }
}
";

fn values(results: &serde_json::Value, id: &str, group: Option<&str>) -> Vec<(String, Option<f64>)> {
    kpi(results, id)["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| group.is_none_or(|g| r["kind"] == g))
        .map(|r| (r["period"].as_str().expect("period").to_string(), r["value"].as_f64()))
        .collect()
}

fn assert_values(results: &serde_json::Value, id: &str, group: Option<&str>, want: &[Option<f64>]) {
    let got = values(results, id, group);
    let months = ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"];
    assert_eq!(got.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), months, "{id} {group:?}: periods");
    for ((period, g), w) in got.iter().zip(want) {
        let same = match (g, w) {
            (Some(g), Some(w)) => close(*g, *w),
            (g, w) => g == w,
        };
        assert!(same, "{id} {group:?} {period}: got {g:?}, want {w:?}");
    }
}

#[test]
fn additive_windows_equal_the_window_rows_exactly() {
    let dir = project(YAML, &[("k.kpi", KPIS)]);
    std::fs::write(dir.path().join("amounts.csv"), CSV).expect("csv");
    let out = dir.path().join("out");
    let (code, _, err) = yardstick(&["build", dir.path().to_str().unwrap(), "--out", out.to_str().unwrap(), "--audience", "internal"]);
    assert_eq!(code, 0, "{err}");
    let r = results_json(&out);
    // Jan 1e16; Feb 1e16 + 1 (rounds to 1e16); Mar 1e16 + 1 - 1e16 + 2.5 = 3.5;
    // Apr 1 - 1e16 + 2.5 + 0.5 = -1e16 + 4; May -1e16 + 2.5 + 0.5 + 4 = -1e16 + 7.
    assert_values(&r, "r_sum", None, &[Some(1e16), Some(1e16), Some(3.5), Some(-1e16 + 4.0), Some(-1e16 + 7.0)]);
    // Rows: Jan 1, Feb 1, Mar 2, Apr 2 (one without an amount), May 1.
    assert_values(&r, "r_count", None, &[Some(1.0), Some(2.0), Some(4.0), Some(5.0), Some(5.0)]);
    assert_values(&r, "r_count_amount", None, &[Some(1.0), Some(2.0), Some(4.0), Some(4.0), Some(4.0)]);
    // a: Jan 1e16/1; Feb (1e16 + 1)/2; Mar (1e16 + 1 - 1e16)/3 = 1/3; Apr (1 - 1e16 + 0.5)/3;
    // May (-1e16 + 0.5)/2. b: no rows before March; Mar 2.5; Apr 2.5 (the empty amount is
    // not averaged); May (2.5 + 4)/2.
    assert_values(&r, "r_avg", Some("a"), &[Some(1e16), Some(5e15), Some(1.0 / 3.0), Some((-1e16 + 1.5) / 3.0), Some(-5e15)]);
    assert_values(&r, "r_avg", Some("b"), &[None, None, Some(2.5), Some(2.5), Some(3.25)]);
    // Two months: a Jan 1e16, Feb 1e16, Mar 1, Apr 0.5, May 0.5 (April's); b Mar 2.5, Apr 2.5, May 4.
    assert_values(&r, "r_max", Some("a"), &[Some(1e16), Some(1e16), Some(1.0), Some(0.5), Some(0.5)]);
    assert_values(&r, "r_max", Some("b"), &[None, None, Some(2.5), Some(2.5), Some(4.0)]);
    // Positive amounts of two months: Jan 1e16, Feb 1, Mar 1, Apr 0.5, May 0.5.
    assert_values(&r, "r_min", None, &[Some(1e16), Some(1.0), Some(1.0), Some(0.5), Some(0.5)]);
    // Since January, amounts above 1 out of all rows: 1/1, 1/2, 2/4, 2/6, 3/7.
    assert_values(&r, "ytd_share", None, &[Some(1.0), Some(0.5), Some(0.5), Some(2.0 / 6.0), Some(3.0 / 7.0)]);
    // Since January, b's amounts per b row: none, none, 2.5/1, 2.5/2, 6.5/3.
    assert_values(&r, "ytd_ratio", None, &[None, None, Some(2.5), Some(1.25), Some(6.5 / 3.0)]);
    // Medians of the window's rows (not of monthly medians): Jan 1e16; Feb (1 + 1e16)/2;
    // Mar {-1e16, 1, 2.5, 1e16} -> 1.75; Apr {-1e16, 0.5, 1, 2.5} -> 0.75; May {-1e16, 0.5, 2.5, 4} -> 1.5.
    assert_values(&r, "r_median", None, &[Some(1e16), Some(5e15), Some(1.75), Some(0.75), Some(1.5)]);
}

/// The SQL shown for a window says how it is computed: an additive measure aggregates the
/// rows per period before the window's offsets are joined; a median copies the rows.
#[test]
fn window_sql_aggregates_periods_before_the_window_for_additive_measures() {
    let dir = project(YAML, &[("k.kpi", KPIS)]);
    std::fs::write(dir.path().join("amounts.csv"), CSV).expect("csv");
    let sql = |id: &str| {
        let (code, out, err) = yardstick(&["sql", dir.path().to_str().unwrap(), id]);
        assert_eq!(code, 0, "{err}");
        out
    };
    for id in ["r_sum", "r_avg", "ytd_share", "r_max"] {
        let text = sql(id);
        let (group, join) = (text.find("GROUP BY").expect("a GROUP BY"), text.find("CROSS JOIN").expect("a CROSS JOIN"));
        assert!(group < join, "{id}: the periods are aggregated before the window:\n{text}");
        assert_eq!(text.matches("GROUP BY").count(), 2, "{id}: once per period, once per window:\n{text}");
    }
    let median = sql("r_median");
    assert_eq!(median.matches("GROUP BY").count(), 1, "a median aggregates the window's rows:\n{median}");
}
