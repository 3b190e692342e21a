//! Whole XmR charts against tests/oracle/spc.py (an independent Python implementation of the
//! rules in docs/spc.md; its output is tests/fixtures/spc/expected.json), and against the
//! figures NHSRplotthedots' own tests and vignettes publish.

use chrono::NaiveDate;
use yardstick::model::{Direction, SpcOptions, TwoOfThree};
use yardstick::spc::{SpcGroup, xmr};

use crate::common::*;

fn day(i: usize) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).expect("date") + chrono::Duration::days(i as i64)
}

fn run(case: &serde_json::Value) -> SpcGroup {
    let values: Vec<f64> = case["values"].as_array().expect("values").iter().map(|v| v.as_f64().expect("number")).collect();
    let points: Vec<(NaiveDate, f64)> = values.iter().enumerate().map(|(i, v)| (day(i), *v)).collect();
    let rebases: Vec<NaiveDate> =
        case["rebase_at"].as_array().map(|a| a.iter().map(|i| day(i.as_u64().expect("index") as usize)).collect()).unwrap_or_default();
    let options = SpcOptions {
        enabled: true,
        screening: case["screening"].as_bool().unwrap_or(true),
        baseline: case["baseline"].as_u64().map(|n| n as u32),
        two_of_three: if case["two_of_three"] == "beyond_two_sigma" { TwoOfThree::BeyondTwoSigma } else { TwoOfThree::BetweenLimits },
    };
    let direction = match case["direction"].as_str() {
        Some("increasing") => Some(Direction::Increasing),
        Some("decreasing") => Some(Direction::Decreasing),
        _ => None,
    };
    xmr(&points, &rebases, options, direction, case["target"].as_f64())
}

fn same(a: Option<f64>, b: &serde_json::Value) -> bool {
    match (a, b.as_f64()) {
        (None, None) => true,
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * y.abs().max(1.0),
        _ => false,
    }
}

#[test]
fn charts_match_the_python_oracle() {
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("tests/fixtures/spc/expected.json")).expect("expected.json"))
            .expect("json");
    let cases = all.as_array().expect("cases");
    assert!(cases.len() >= 15, "at least 15 whole-chart series");
    for c in cases {
        let (case, want) = (&c["case"], &c["expected"]);
        let name = case["name"].as_str().expect("name");
        let got = run(case);
        let segs = want["segments"].as_array().expect("segments");
        assert_eq!(got.segments.len(), segs.len(), "{name}: segments");
        for (g, w) in got.segments.iter().zip(segs) {
            assert!(same(Some(g.mean), &w["mean"]), "{name}: mean {} != {}", g.mean, w["mean"]);
            for (field, value) in [("lpl", g.lpl), ("upl", g.upl), ("l2", g.lower_two_sigma), ("u2", g.upper_two_sigma)] {
                assert!(same(value, &w[field]), "{name}: {field} {value:?} != {}", w[field]);
            }
            assert_eq!(g.points as u64, w["points"].as_u64().expect("points"), "{name}: points in segment");
            assert_eq!(g.trial_limits, w["trial_limits"].as_bool().expect("trial"), "{name}: trial limits");
        }
        let points = want["points"].as_array().expect("points");
        assert_eq!(got.points.len(), points.len(), "{name}: points");
        for (i, (g, w)) in got.points.iter().zip(points).enumerate() {
            assert_eq!(serde_json::to_value(g.point_type).expect("json"), w["type"], "{name}: point {i} type");
            assert_eq!(serde_json::to_value(g.rule).expect("json"), w["rule"], "{name}: point {i} rule");
            assert_eq!(serde_json::to_value(g.side).expect("json"), w["side"], "{name}: point {i} side");
        }
        assert_eq!(serde_json::to_value(got.assurance).expect("json"), want["assurance"], "{name}: assurance");
        assert_eq!(got.variation.map(|v| v.name()), points.last().and_then(|p| p["type"].as_str()), "{name}: variation = latest point");
    }
}

#[test]
fn limits_as_nhsrplotthedots_snapshots() {
    // tests/testthat/_snaps/ptd_spc_standard.md (set.seed(123); rnorm(20)): mean 0.1416238,
    // lpl -3.01138, upl 3.294627; with y[15] = 10: screened -2.383666 / 3.722497 around
    // 0.6694159, unscreened -4.596625 / 5.935457.
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("tests/fixtures/spc/expected.json")).expect("expected.json"))
            .expect("json");
    let case = |n: &str| all.as_array().expect("cases").iter().find(|c| c["case"]["name"] == n).expect("case")["case"].clone();
    let near = |a: Option<f64>, b: f64, tol: f64| a.is_some_and(|a| (a - b).abs() < tol);
    let s = &run(&case("rnorm20_screened")).segments[0];
    assert!(near(Some(s.mean), 0.1416238, 1e-7) && near(s.lpl, -3.01138, 1e-5) && near(s.upl, 3.294627, 1e-6));
    let s = &run(&case("rnorm20_outlier_screened")).segments[0];
    assert!(near(Some(s.mean), 0.6694159, 1e-7) && near(s.lpl, -2.383666, 1e-6) && near(s.upl, 3.722497, 1e-6));
    let s = &run(&case("rnorm20_outlier_unscreened")).segments[0];
    assert!(near(s.lpl, -4.596625, 1e-6) && near(s.upl, 5.935457, 1e-6));
    // _snaps/ptd_spc.md, facet summary: 0.0746 (-2.60, 2.75) and 0.209 (-3.28, 3.70).
    let s = &run(&case("rnorm_first_ten")).segments[0];
    assert!(near(Some(s.mean), 0.0746, 1e-4) && near(s.lpl, -2.60, 5e-3) && near(s.upl, 2.75, 5e-3));
    let s = &run(&case("rnorm_last_ten")).segments[0];
    assert!(near(Some(s.mean), 0.209, 1e-3) && near(s.lpl, -3.28, 5e-3) && near(s.upl, 3.70, 5e-3));
    // vignettes/deviations.Rmd: UPL 4.6, mean 1.94, LPL -0.72 screened; 6.95 / -3.06 not;
    // the 10 is a special cause improvement either way.
    for (name, lo, hi) in [("deviations_screened", -0.72, 4.6), ("deviations_unscreened", -3.06, 6.95)] {
        let g = run(&case(name));
        let s = &g.segments[0];
        assert!(near(Some(s.mean), 1.94, 5e-3) && near(s.lpl, lo, 5e-3) && near(s.upl, hi, 5e-3), "{name}");
        assert_eq!(g.points[4].point_type.name(), "special_cause_improvement", "{name}");
        assert_eq!(g.points.iter().filter(|p| p.point_type.is_special()).count(), 1, "{name}");
    }
}

#[test]
fn rebases_that_match_no_point_change_nothing() {
    // NHSRplotthedots tests/testthat/test-ptd_spc.R summary with rebase = 2020-01-01 before
    // the first point: the same single group. Here: a date between points, and the first.
    let points: Vec<(NaiveDate, f64)> = (0..20).map(|i| (day(2 * i), (i % 3) as f64)).collect();
    let plain = xmr(&points, &[], SpcOptions::default(), None, None);
    let odd = xmr(&points, &[day(3), day(0)], SpcOptions::default(), None, None);
    assert_eq!(odd.segments.len(), 1);
    assert_eq!(odd.segments[0].mean, plain.segments[0].mean);
    assert_eq!(odd.notes.len(), 2, "{:?}", odd.notes);
    // A rebase at the 11th point: two segments of 10, each with trial limits.
    let two = xmr(&points, &[day(20)], SpcOptions::default(), None, None);
    assert_eq!(two.segments.iter().map(|s| (s.points, s.trial_limits)).collect::<Vec<_>>(), vec![(10, true), (10, true)]);
    assert_eq!(two.points[10].segment, 1);
}
