//! A change against an earlier period as a KPI's value (`change`, `relative_change`): values
//! per grain, groups, shares in percentage points, derived inputs, missing and zero earlier
//! values, provisional periods, targets, and the errors. Every expected value is worked out
//! by hand from the 15 rows below, with the arithmetic in the comments.

use serde_json::Value;

use crate::common::*;

const YAML: &str = "name: Change fixture
sources:
  cases:
    path: data/cases.csv
    time: opened
    columns:
      id: string
      opened: date
      district: string
      closed: boolean
";

// Month  rows (district, closed)            count  N  S  share closed  not closed
// 2023-01 09 N T, 10 N T, 11 N F, 20 S F      4    3  1  2/4 = 0.5     2
// 2023-02 01 N T, 28 N F                      2    2  -  1/2 = 0.5     1
// 2023-03 .. 2023-12: no rows                 -
// 2024-01 08 N T, 09 S T, 15 N T, 16 S T,     5    2  3  4/5 = 0.8     1
//         31 S F
// 2024-02 29 N T                              1    1  -  1/1 = 1.0     0
// 2024-03 01 N F, 02 N F, 31 N T              3    3  -  1/3           2
const CSV: &str = "id,opened,district,closed
1,2023-01-09,North,true
2,2023-01-10,North,true
3,2023-01-11,North,false
4,2023-01-20,South,false
5,2023-02-01,North,true
6,2023-02-28,North,false
7,2024-01-08,North,true
8,2024-01-09,South,true
9,2024-01-15,North,true
10,2024-01-16,South,true
11,2024-01-31,South,false
12,2024-02-29,North,true
13,2024-03-01,North,false
14,2024-03-02,North,false
15,2024-03-31,North,true
";

fn build(kpis: &str) -> Value {
    let dir = project(YAML, &[("metrics/m.kpi", kpis), ("data/cases.csv", CSV)]);
    let out = tempfile::tempdir().expect("tempdir");
    yardstick::build(dir.path(), Some(out.path())).map_err(|f| f.render(false)).expect("builds");
    results_json(out.path())
}

fn errors(kpis: &str) -> String {
    let dir = project(YAML, &[("metrics/m.kpi", kpis), ("data/cases.csv", CSV)]);
    match yardstick::compile(dir.path()) {
        Ok(_) => panic!("should not check:\n{kpis}"),
        Err(f) => f.render(false),
    }
}

/// A KPI's rows as (period, value) for the periods that have a value.
fn values(results: &Value, id: &str) -> Vec<(String, f64)> {
    kpi(results, id)["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| Some((r["period"].as_str()?.to_string(), r["value"].as_f64()?)))
        .collect()
}

fn assert_values(results: &Value, id: &str, want: &[(&str, f64)]) {
    let got = values(results, id);
    let ok = got.len() == want.len() && got.iter().zip(want).all(|((p, v), (wp, wv))| p == wp && close(*v, *wv));
    assert!(ok, "{id}:\n   got {got:?}\n  want {want:?}");
}

fn row<'a>(results: &'a Value, id: &str, period: &str, group: Option<&str>) -> &'a Value {
    kpi(results, id)["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["period"] == period && group.is_none_or(|g| r["district"] == g))
        .unwrap_or_else(|| panic!("{id}: no row {period} {group:?}"))
}

fn wrap(body: &str) -> String {
    format!("goal g \"G\" {{\n{body}\n}}\n")
}

#[test]
fn change_of_a_count_by_month_absolute_and_relative() {
    let r = build(&wrap(
        "kpi vs_last_year \"Cases against a year earlier\" {
           from cases
           measure relative_change(count(), same_period_last_year)
           grain month
           target <= -10%
         }
         kpi vs_last_month \"Cases against the month before\" {
           from cases
           measure change(count(), previous_period)
           grain month
         }",
    ));
    // Jan 2024: (5 - 4) / 4 = 0.25; Feb 2024: (1 - 2) / 2 = -0.5; Mar 2024: March 2023 has
    // no rows, so no value. 2023 has no earlier year.
    assert_values(&r, "vs_last_year", &[("2024-01-01", 0.25), ("2024-02-01", -0.5)]);
    assert_eq!(kpi(&r, "vs_last_year")["unit"], "percent");
    assert_eq!(kpi(&r, "vs_last_year")["target"]["value"], -0.1);
    // 0.25 > -10%: off track; -0.5 <= -10%: on track.
    assert_eq!(row(&r, "vs_last_year", "2024-01-01", None)["status"], "off_track");
    assert_eq!(row(&r, "vs_last_year", "2024-02-01", None)["status"], "on_track");
    // No earlier period (the first month) and no value a year back: no value, no_data.
    assert_eq!(row(&r, "vs_last_year", "2023-01-01", None)["status"], "no_data");
    assert!(row(&r, "vs_last_year", "2024-03-01", None)["value"].is_null());
    // Feb 2023: 2 - 4 = -2; Feb 2024: 1 - 5 = -4; Mar 2024: 3 - 1 = 2 (Jan 2024's December
    // and Mar 2023 have no rows).
    assert_values(&r, "vs_last_month", &[("2023-02-01", -2.0), ("2024-02-01", -4.0), ("2024-03-01", 2.0)]);
    assert_eq!(kpi(&r, "vs_last_month")["unit"], "count");
    // Every month from the first to the last is shown: Jan 2023 .. Mar 2024 = 15 rows.
    assert_eq!(kpi(&r, "vs_last_month")["rows"].as_array().expect("rows").len(), 15);
    // A year without data before it is not a warning storm: one KPI-level warning at most, and
    // here none (both KPIs have values).
    assert_eq!(r["warnings"].as_array().expect("warnings").len(), 0, "{}", r["warnings"]);
}

#[test]
fn change_of_a_share_is_in_percentage_points() {
    let r = build(&wrap(
        "kpi closed_vs_last_year \"Closed share against a year earlier\" {
           from cases
           measure change(share(closed), same_period_last_year)
           grain month
           target >= 40pp tolerance 15pp
         }
         kpi closed_relative \"Closed share, relative to a year earlier\" {
           from cases
           measure relative_change(share(closed), same_period_last_year)
           grain month
           target >= 50%
         }",
    ));
    // Jan 2024: 0.8 - 0.5 = 0.3 (30 pp); Feb 2024: 1.0 - 0.5 = 0.5 (50 pp).
    assert_values(&r, "closed_vs_last_year", &[("2024-01-01", 0.3), ("2024-02-01", 0.5)]);
    let k = kpi(&r, "closed_vs_last_year");
    assert_eq!(k["unit"], "percentage points");
    assert_eq!(k["target"]["value"], 0.4);
    assert_eq!(k["target"]["tolerance"], 0.15);
    // 0.3 misses 0.4 by 0.1 <= 0.15: near target; 0.5 >= 0.4: on track.
    assert_eq!(row(&r, "closed_vs_last_year", "2024-01-01", None)["status"], "near_target");
    assert_eq!(row(&r, "closed_vs_last_year", "2024-02-01", None)["status"], "on_track");
    // Relative: 0.3 / 0.5 = 0.6 and 0.5 / 0.5 = 1.0, a percent of the earlier value.
    assert_values(&r, "closed_relative", &[("2024-01-01", 0.6), ("2024-02-01", 1.0)]);
    assert_eq!(kpi(&r, "closed_relative")["unit"], "percent");
}

#[test]
fn each_group_is_compared_with_its_own_earlier_value() {
    let r = build(&wrap(
        "kpi by_district \"Cases by district against a year earlier\" {
           from cases
           measure relative_change(count(), same_period_last_year)
           by district
           grain month
         }",
    ));
    // North: Jan 2024 (2 - 3) / 3 = -1/3, Feb 2024 (1 - 2) / 2 = -0.5, Mar 2024: none a year
    // back. South: Jan 2024 (3 - 1) / 1 = 2; South has no Feb 2023 rows: no value.
    assert!(close(row(&r, "by_district", "2024-01-01", Some("North"))["value"].as_f64().expect("v"), -1.0 / 3.0));
    assert!(close(row(&r, "by_district", "2024-02-01", Some("North"))["value"].as_f64().expect("v"), -0.5));
    assert!(close(row(&r, "by_district", "2024-01-01", Some("South"))["value"].as_f64().expect("v"), 2.0));
    assert!(row(&r, "by_district", "2024-02-01", Some("South"))["value"].is_null());
    assert!(row(&r, "by_district", "2024-03-01", Some("North"))["value"].is_null());
}

#[test]
fn weeks_go_back_52_weeks_days_to_the_same_date_quarters_and_years() {
    let kpis: String = [
        ("weekly_vs_last_year", "change", "same_period_last_year", "week"),
        ("weekly_vs_last_week", "change", "previous_period", "week"),
        ("daily_vs_last_year", "relative_change", "same_period_last_year", "day"),
        ("quarterly_vs_last_year", "relative_change", "same_period_last_year", "quarter"),
        ("quarterly_vs_last_quarter", "change", "previous_period", "quarter"),
        ("yearly", "change", "previous_period", "year"),
    ]
    .iter()
    .map(|(id, f, lag, grain)| format!("kpi {id} \"{id}\" {{ from cases measure {f}(count(), {lag}) grain {grain} }}\n"))
    .collect();
    let r = build(&wrap(&kpis));
    // Monday weeks: 2023-01-09 has 3 rows (9, 10, 11 Jan), 2023-01-16 1 (20 Jan), 2023-01-30
    // 1 (Wed 1 Feb), 2023-02-27 1 (Tue 28 Feb); 2024-01-08 2 (8, 9 Jan), 2024-01-15 2 (15,
    // 16 Jan), 2024-01-29 1 (Wed 31 Jan), 2024-02-26 3 (Thu 29 Feb, 1 and 2 Mar), 2024-03-25
    // 1 (Sun 31 Mar). 52 weeks (364 days) back: 2024-01-08 -> 2023-01-09: 2 - 3 = -1;
    // 2024-01-15 -> 2023-01-16: 2 - 1 = 1; 2024-01-29 -> 2023-01-30: 1 - 1 = 0;
    // 2024-02-26 -> 2023-02-27: 3 - 1 = 2; 2024-03-25 -> 2023-03-27 (no rows): none.
    assert_values(&r, "weekly_vs_last_year", &[("2024-01-08", -1.0), ("2024-01-15", 1.0), ("2024-01-29", 0.0), ("2024-02-26", 2.0)]);
    // The week before: 2023-01-16: 1 - 3 = -2; 2024-01-15: 2 - 2 = 0; every other week with
    // rows follows a week without (2023-01-23, 2023-02-20, 2024-01-01, 2024-01-22,
    // 2024-02-19, 2024-03-18): none.
    assert_values(&r, "weekly_vs_last_week", &[("2023-01-16", -2.0), ("2024-01-15", 0.0)]);
    // Days: 2024-01-09 against 2023-01-09 (1 and 1): 0; 2024-02-29 against 2023-02-28 (a
    // year back from 29 February is 28 February; 1 and 1): 0. Every other day of 2024 with
    // rows has no row on its date in 2023. A change of 0 is 0, not "no value".
    assert_values(&r, "daily_vs_last_year", &[("2024-01-09", 0.0), ("2024-02-29", 0.0)]);
    // Q1 2023: 6 rows, Q1 2024: 9. Relative: (9 - 6) / 6 = 0.5; against Q4 2023 (no rows): none.
    assert_values(&r, "quarterly_vs_last_year", &[("2024-01-01", 0.5)]);
    assert_values(&r, "quarterly_vs_last_quarter", &[]);
    // Years: 9 - 6 = 3.
    assert_values(&r, "yearly", &[("2024-01-01", 3.0)]);
}

#[test]
fn derived_changes_of_kpis_and_of_derived_kpis() {
    let r = build(&wrap(
        "kpi cases_m \"Cases\" { from cases measure count() grain month }
         kpi closed_m \"Closed share\" { from cases measure share(closed) grain month }
         kpi closed_count_m \"Closed cases\" { from cases measure count() where closed grain month }
         kpi open_m \"Open cases\" { measure cases_m - closed_count_m }
         kpi closed_change \"Closed share, change on the month before\" {
           measure change(closed_m, previous_period)
           target >= 0pp
         }
         kpi open_vs_last_year \"Open cases against a year earlier\" {
           measure relative_change(open_m, same_period_last_year)
         }
         kpi cases_growth_per_case \"Growth against a year earlier, per case now\" {
           measure change(cases_m, same_period_last_year) / cases_m
         }",
    ));
    // closed_m: Jan23 0.5, Feb23 0.5, Jan24 0.8, Feb24 1.0, Mar24 1/3.
    // Feb23: 0.5 - 0.5 = 0; Feb24: 1.0 - 0.8 = 0.2; Mar24: 1/3 - 1 = -2/3.
    assert_values(&r, "closed_change", &[("2023-02-01", 0.0), ("2024-02-01", 0.2), ("2024-03-01", -2.0 / 3.0)]);
    assert_eq!(kpi(&r, "closed_change")["unit"], "percentage points");
    assert_eq!(kpi(&r, "closed_change")["inputs"], serde_json::json!(["closed_m"]));
    assert_eq!(row(&r, "closed_change", "2024-03-01", None)["status"], "off_track");
    // open_m (derived): Jan23 4 - 2 = 2, Feb23 2 - 1 = 1, Jan24 5 - 4 = 1, Feb24 1 - 1 = 0,
    // Mar24 3 - 1 = 2. A year on: Jan24 (1 - 2) / 2 = -0.5, Feb24 (0 - 1) / 1 = -1.
    assert_values(&r, "open_vs_last_year", &[("2024-01-01", -0.5), ("2024-02-01", -1.0)]);
    // Arithmetic around a change: Jan24 (5 - 4) / 5 = 0.2, Feb24 (1 - 2) / 1 = -1.
    assert_values(&r, "cases_growth_per_case", &[("2024-01-01", 0.2), ("2024-02-01", -1.0)]);
}

#[test]
fn a_relative_change_against_zero_has_no_value_and_is_flagged() {
    let r = build(&wrap(
        "kpi not_closed_vs_last_month \"Cases not closed, against the month before\" {
           from cases
           measure relative_change(count() where not closed, previous_period)
           grain month
         }
         kpi not_closed_change \"Cases not closed, change on the month before\" {
           from cases
           measure change(count() where not closed, previous_period)
           grain month
         }",
    ));
    // Not closed: Jan23 2, Feb23 1, Jan24 1, Feb24 0, Mar24 2. Feb23 (1 - 2) / 2 = -0.5;
    // Feb24 (0 - 1) / 1 = -1; Mar24 against Feb24's 0: no value (never infinity), flagged.
    assert_values(&r, "not_closed_vs_last_month", &[("2023-02-01", -0.5), ("2024-02-01", -1.0)]);
    let mar = row(&r, "not_closed_vs_last_month", "2024-03-01", None);
    assert!(mar["value"].is_null());
    assert_eq!(mar["status"], "no_data");
    let warnings = r["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["code"], "YS0910");
    assert_eq!(warnings[0]["kpi"], "not_closed_vs_last_month");
    let msg = warnings[0]["message"].as_str().expect("message");
    assert!(msg.contains("1 period,") && msg.contains("2024-03-01"), "{msg}");
    // The absolute change against 0 is an ordinary number: 2 - 0 = 2.
    assert_values(&r, "not_closed_change", &[("2023-02-01", -1.0), ("2024-02-01", -1.0), ("2024-03-01", 2.0)]);
}

#[test]
fn a_change_is_provisional_when_either_period_is() {
    // The data ends on 2024-03-31. With `complete_after 40 days` a month is final 40 days
    // after its last day: January (31 Jan + 40 = 11 Mar) is, February (29 Feb + 40 = 9 Apr)
    // and March are not.
    let r = build(&wrap(
        "kpi cases_m \"Cases\" { from cases measure count() grain month complete_after 40 days }
         kpi own \"Cases against the month before\" {
           from cases
           measure change(count(), previous_period)
           grain month
           complete_after 40 days
         }
         kpi derived_change \"Cases against the month before (derived)\" {
           measure change(cases_m, previous_period)
         }",
    ));
    for id in ["own", "derived_change"] {
        let prov = |p: &str| row(&r, id, p, None).get("provisional").is_some();
        // Jan 2024 reads Jan and Dec 2023: final. Feb reads Feb (provisional). March too.
        assert!(!prov("2024-01-01"), "{id}");
        assert!(prov("2024-02-01"), "{id}");
        assert!(prov("2024-03-01"), "{id}");
    }
    // A 31-day lag: February (29 Feb + 31 days = 31 Mar) is final on the last day of data,
    // March is not; the derived change of February reads January and February: final.
    let r = build(&wrap(
        "kpi cases_m \"Cases\" { from cases measure count() grain month complete_after 31 days }
         kpi vs_prev \"Against the month before\" { measure change(cases_m, previous_period) }",
    ));
    assert!(row(&r, "vs_prev", "2024-02-01", None).get("provisional").is_none());
    assert!(row(&r, "vs_prev", "2024-03-01", None).get("provisional").is_some());
}

#[test]
fn a_change_without_two_periods_of_data_says_why() {
    let r = build(&wrap(
        "kpi late \"Cases from 2024, against a year earlier\" {
           from cases
           measure change(count(), same_period_last_year)
           grain month
           since 2024-01-01
         }",
    ));
    let warnings = r["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["code"], "YS0902");
    assert!(warnings[0]["message"].as_str().expect("message").contains("change against same_period_last_year"));
}

#[test]
fn mistakes_are_errors_with_help() {
    let cases: &[(&str, &[&str])] = &[
        // Unknown KPI, with the closest id.
        (
            "kpi cases_m \"C\" { from cases measure count() grain month }
             kpi x \"X\" { measure change(case_m, previous_period) }",
            &["YS0230", "unknown KPI `case_m`", "did you mean `cases_m`?"],
        ),
        // A misspelt lag, with the closest name.
        (
            "kpi x \"X\" { from cases measure change(count(), previous_periods) grain month }",
            &["YS0232", "unknown period `previous_periods`", "did you mean `previous_period`?"],
        ),
        ("kpi x \"X\" { from cases measure change(count(), baseline) grain month }", &["YS0232", "`compare baseline`"]),
        ("kpi x \"X\" { from cases measure change(count()) grain month }", &["YS0232", "takes 2 arguments, found 1"]),
        (
            "kpi x \"X\" { from cases measure change(count(), 2024-01-01) grain month }",
            &["YS0232", "the second argument of `change` is the earlier period"],
        ),
        ("kpi x \"X\" { from cases measure relative_change(count(), previous_period) }", &["YS0232", "needs a grain"]),
        (
            "kpi c \"C\" { from cases measure count() }
             kpi x \"X\" { measure change(c, previous_period) }",
            &["YS0232", "needs a grain"],
        ),
        ("kpi x \"X\" { from cases measure 1 + change(count(), previous_period) grain month }", &["YS0232", "must be the whole measure"]),
        (
            "kpi c \"C\" { from cases measure count() grain month }
             kpi x \"X\" { measure change(c where closed, previous_period) }",
            &["YS0232", "has no `where`"],
        ),
        // Without `from`, a change of an aggregate is a KPI that forgot `from`.
        ("kpi x \"X\" { measure change(count(), previous_period) grain month }", &["YS0204", "no `from`"]),
        // Cycles are impossible, through changes too.
        ("kpi x \"X\" { measure change(x, previous_period) }", &["YS0230", "computed from itself"]),
        (
            "kpi c \"C\" { from cases measure count() grain month }
             kpi a \"A\" { measure change(b, previous_period) + c }
             kpi b \"B\" { measure relative_change(a, same_period_last_year) }",
            &["YS0230", "refer to each other"],
        ),
        // Targets in the change's unit: pp for a share's change, % for a relative change.
        (
            "kpi x \"X\" { from cases measure change(share(closed), previous_period) grain month target >= 2% }",
            &["YS0220", "percentage points", "`2pp`"],
        ),
        (
            "kpi x \"X\" { from cases measure change(share(closed), previous_period) grain month target >= 2 }",
            &["YS0220", "needs a target in percentage points"],
        ),
        (
            "kpi x \"X\" { from cases measure change(share(closed), previous_period) grain month target >= 2pp tolerance 1% }",
            &["YS0220", "tolerance in percent"],
        ),
        (
            "kpi x \"X\" { from cases measure relative_change(count(), previous_period) grain month target <= -10 }",
            &["YS0220", "needs a percentage target"],
        ),
        (
            "kpi x \"X\" { from cases measure change(count(), previous_period) grain month target <= -10% }",
            &["YS0220", "target in percent on a KPI measured in count"],
        ),
        (
            "kpi x \"X\" { from cases measure relative_change(count(), previous_period) grain month target <= 2pp }",
            &["YS0220", "percentage points on a KPI measured in percent"],
        ),
    ];
    for (body, needles) in cases {
        let text = errors(&wrap(body));
        for n in *needles {
            assert!(text.contains(n), "{body}\nmissing {n:?} in:\n{text}");
        }
    }
}

#[test]
fn targets_below_zero_are_reachable_for_changes_of_counts() {
    // `count()` alone can never be below 0 (YS0222), but its change can.
    let r = build(&wrap(
        "kpi x \"Cases, change on the month before\" {
           from cases
           measure change(count(), previous_period)
           grain month
           target <= -1
         }",
    ));
    // Feb 2024: 1 - 5 = -4 <= -1: on track; Mar 2024: 3 - 1 = 2: off track.
    assert_eq!(row(&r, "x", "2024-02-01", None)["status"], "on_track");
    assert_eq!(row(&r, "x", "2024-03-01", None)["status"], "off_track");
}
