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

fn expected_values(kpi: &str) -> Vec<f64> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("examples/city/expected.json")).expect("expected")).expect("json");
    let map = v[kpi].as_object().expect("kpi");
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    keys.into_iter().map(|k| map[k].as_f64().expect("number")).collect()
}

fn expected_value(kpi: &str, key: &str) -> f64 {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("examples/city/expected.json")).expect("expected")).expect("json");
    v[kpi][key].as_f64().expect("number")
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn the_example_shows_a_special_cause_an_event_with_a_rebase_and_benchmarks() {
    let out = tempfile::tempdir().expect("tempdir");
    yardstick::build(&repo().join("examples/city"), Some(out.path())).map_err(|f| f.render(false)).expect("builds");
    let r = results_json(out.path());

    // calls_per_month (examples/city/expected.json): 18 months summing to 3,969 calls, mean
    // 220.5; the 17 moving ranges sum to 210 (none as wide as 3.267 x 210/17 = 40.4), so
    // the upper limit is 220.5 + 2.66 x 210/17 = 253.359. June 2025 (255) is above it: a
    // special cause, neutral (no target, no direction).
    let calls = expected_values("calls_per_month");
    assert_eq!(calls.iter().sum::<f64>(), 3969.0);
    let g = &kpi(&r, "calls_per_month")["spc"]["groups"][0];
    assert!(close(g["segments"][0]["upl"].as_f64().expect("upl"), 220.5 + 2.66 * 210.0 / 17.0));
    assert_eq!(g["points"][17]["rule"], "outside_limits");
    assert_eq!(g["variation"], "special_cause_neutral_high");
    assert_eq!(g["variation_icon"], "neutral_high");

    // answered_10s: rebased at October 2024, so two segments of 9 months each with their own
    // mean: the means of expected.json's first and last nine values.
    let answered = expected_values("answered_10s");
    let k = kpi(&r, "answered_10s");
    let segs = k["spc"]["groups"][0]["segments"].as_array().expect("segments");
    assert_eq!(segs.len(), 2);
    assert!(close(segs[0]["mean"].as_f64().expect("mean"), mean(&answered[..9])));
    assert!(close(segs[1]["mean"].as_f64().expect("mean"), mean(&answered[9..])));
    assert_eq!(segs[1]["trial_limits"], true);
    let e = &k["events"][0];
    assert_eq!(
        (e["text"].as_str(), e["rebase"].as_bool(), e["declared_on"].as_str()),
        (Some("Second call taker on night shifts"), Some(true), Some("kpi"))
    );
    let effect = &e["effects"][0];
    assert!(close(effect["change"].as_f64().expect("change"), mean(&answered[9..]) - mean(&answered[..9])));
    assert_eq!(effect["signal_after"], false);
    // Benchmark 90% and peers (annotations/benchmarks.csv): in June 2025 (91.57%) only
    // Southville (93.5%) does better of 7 peers: rank 2 of 8, quartile 1 + 4 x 1 / 8 = 1.
    assert_eq!(k["benchmarks"][0]["name"], "NENA standard");
    assert_eq!(k["benchmarks"][0]["values"][0]["value"], 0.9);
    assert_eq!(
        k["peer_ranks"],
        serde_json::json!([{"group": {}, "period": "2025-06-01", "value": k["peer_ranks"][0]["value"], "rank": 2, "of": 8, "quartile": 1}])
    );
    // An objective's event reaches its KPIs; the events file's reaches the permits objective.
    assert_eq!(kpi(&r, "closed_within_sla_by_category")["events"][0]["declared_in"], "responsive_311");
    assert_eq!(kpi(&r, "permit_days_to_issue")["events"][0]["declared_on"], "events_file");
    assert_eq!(kpi(&r, "calls_per_month")["events"], serde_json::json!([]));
    // Peers per group: potholes in May 2025 (June is provisional), 47 of 63 closed within the
    // SLA = 74.6% (expected.json); of the three peers only Northtown (80%) does better, so
    // rank 2 of 4, quartile 1 + 4 x 1 / 4 = 2.
    let sla_ranks = &kpi(&r, "closed_within_sla_by_category")["peer_ranks"];
    assert!(close(expected_value("closed_within_sla_by_category", "2025-05-01|Pothole"), 47.0 / 63.0));
    assert_eq!(
        *sla_ranks,
        serde_json::json!([{"group": {"category": "Pothole"}, "period": "2025-05-01", "value": sla_ranks[0]["value"], "rank": 2, "of": 4, "quartile": 2}])
    );
    // Per-group benchmarks: the state average for potholes.
    let sla = kpi(&r, "closed_within_sla_by_category");
    let state = sla["benchmarks"].as_array().expect("b").iter().find(|b| b["name"] == "State average").expect("state");
    assert!(state["values"].as_array().expect("v").iter().any(|v| v["group"] == "Pothole" && v["value"] == 0.78));
    // A KPI without a grain has no chart.
    assert_eq!(kpi(&r, "requests_still_open")["spc"], serde_json::Value::Null);

    let html = std::fs::read_to_string(out.path().join("index.html")).expect("html");
    for needle in [
        "Special cause variation (high)",
        "Special cause variation: the latest value (255, June 2025) is above the upper process limit.",
        "Second call taker on night shifts",
        "(limits rebased here)",
        "Ranks 2 of 8 among its peers in June 2025",
        "Pothole ranks 2 of 4 among its peers in May 2025 (quartile 2)",
        "vs NENA standard",
        "Hit and miss the target",
        "class=\"chart xmr\"",
        "<circle",
    ] {
        assert!(html.contains(needle), "report lacks {needle:?}");
    }
}

const YAML: &str = "name: t
sources:
  s:
    path: data/s.csv
    time: month
    columns:
      month: date
      v: float
";

/// Twenty months: ten at 10, 11, 12 (repeating) and ten 20 higher; June 2024 has no row.
fn csv() -> String {
    let mut out = String::from("month,v\n");
    for i in 0..20 {
        if i == 5 {
            continue;
        }
        let month = NaiveDate::from_ymd_opt(2024 + i / 12, (i % 12) as u32 + 1, 1).expect("month");
        out.push_str(&format!("{month},{}\n", 10 + i % 3 + if i >= 10 { 20 } else { 0 }));
    }
    out
}

fn evaluate(kpis: &str) -> Result<serde_json::Value, String> {
    let dir = project(YAML, &[("m.kpi", kpis), ("data/s.csv", &csv())]);
    let out = dir.path().join("out");
    yardstick::build(dir.path(), Some(&out)).map_err(|f| f.render(false))?;
    Ok(results_json(&out))
}

#[test]
fn rebase_spc_off_and_a_rebase_on_a_month_without_a_value() {
    let r = evaluate(
        r#"goal g "G" {
  kpi a "A" { from s measure sum(v) grain month rebase at 2024-11-15 }
  kpi b "B" { from s measure sum(v) grain month spc off event 2024-11-01 "Change" }
  kpi c "C" { from s measure sum(v) grain month rebase at 2024-06-01 }
  kpi d "D" { from s measure sum(v) grain month spc baseline 12 }
}"#,
    )
    .expect("builds");
    // The rebase date falls in November 2024: by hand, Jan-Oct 2024 are
    // 10,11,12,10,11,(none),10,11,12,10 -> 97 / 9; Nov 2024 - Aug 2025 are
    // 31,32,30,31,32,30,31,32,30,31 -> 310 / 10 = 31.
    let segs = kpi(&r, "a")["spc"]["groups"][0]["segments"].as_array().expect("segs").clone();
    assert_eq!(segs.len(), 2);
    assert!(close(segs[0]["mean"].as_f64().expect("m"), 97.0 / 9.0));
    assert!(close(segs[1]["mean"].as_f64().expect("m"), 31.0));
    assert_eq!(segs[1]["start"], "2024-11-01");
    // spc off: no chart; the event still has its before and after, no signal verdict.
    let b = kpi(&r, "b");
    assert_eq!(b["spc"], serde_json::Value::Null);
    let effect = &b["events"][0]["effects"][0];
    assert!(close(effect["before"]["mean"].as_f64().expect("m"), 97.0 / 9.0));
    assert_eq!(effect["signal_after"], serde_json::Value::Null);
    // A rebase at a month without a value changes nothing, and says so.
    let c = &kpi(&r, "c")["spc"]["groups"][0];
    assert_eq!(c["segments"].as_array().expect("s").len(), 1);
    let notes = c["notes"].as_array().expect("notes");
    assert!(
        notes.iter().any(|n| n.as_str().is_some_and(|n| n.contains("the rebase at 2024-06-01 matches no period with a value"))),
        "{notes:?}"
    );
    // Limits fixed on the first 12 points (the nine before November, then 31, 32, 30: mean
    // 190 / 12; moving ranges 1,1,2,1,1,1,1,2,21,1,2, the 21 screened out, mean 13 / 10, so
    // the upper limit is 15.83 + 2.66 x 1.3 = 19.29): every later point is far above them.
    let d = &kpi(&r, "d")["spc"]["groups"][0];
    assert_eq!(d["segments"][0]["baseline_points"], 12);
    assert!(close(d["segments"][0]["mean"].as_f64().expect("m"), 190.0 / 12.0));
    assert!(d["points"].as_array().expect("p")[12..].iter().all(|p| p["rule"] == "outside_limits"));
}

#[test]
fn bad_annotations_are_coded_errors() {
    for (clause, code, words) in [
        ("grain month spc baseline 5", "YS0240", "at least 12 points"),
        ("grain month spc two_of_three beyond_2sigma", "YS0240", "did you mean `beyond_two_sigma`"),
        ("grain month spc off, on", "YS0240", "twice"),
        ("event 2024-01-01 \"x\"", "YS0240", "an event needs a grain"),
        ("rebase at 2024-01-01", "YS0240", "a rebase needs a grain"),
        ("spc baseline 12", "YS0240", "without a grain"),
        ("benchmark \"n\" 5 benchmark \"n\" 6", "YS0240", "given twice"),
        ("unit \"USD\" benchmark \"n\" 5 min", "YS0220", "benchmark"),
        ("grain month event 2024-02-30 \"x\"", "YS0101", "not a valid date"),
    ] {
        let text = format!("goal g \"G\" {{ kpi a \"A\" {{ from s measure sum(v) {clause} }} }}");
        let err = evaluate(&text).expect_err(clause);
        assert!(err.contains(code) && err.contains(words), "{clause}: {err}");
    }
}

#[test]
fn bad_events_and_benchmarks_files_point_at_their_line() {
    let kpis =
        r#"goal g "G" { kpi a "A" { from s measure sum(v) grain month } kpi b "B" { from s measure sum(v) grain month by w = v > 15 } }"#;
    for (file, text, words) in [
        ("events", "date,description,applies_to\n2024-01-01,ok,a\n2024-01-01,x,nope\n", "`nope`, which is not a KPI, objective or goal"),
        ("events", "date,description\n2024-13-01,x\n", "not a YYYY-MM-DD date"),
        ("events", "date,description,rebase\n2024-01-01,x,maybe\n", "not yes or no"),
        ("events", "when,description\n", "has a column `when`"),
        ("benchmarks", "kpi,name\n", "no `value` column"),
        ("benchmarks", "kpi,name,value\nzzz,n,5\n", "`zzz`, which is not a KPI"),
        ("benchmarks", "kpi,name,value\na,n,five\n", "not a number"),
        ("benchmarks", "kpi,name,value,group\na,n,5,North\n", "has no `by`"),
        ("benchmarks", "kpi,name,value,peer\nb,n,5,yes\n", "peer `n` one value for `b`, which has `by`"),
    ] {
        let yaml = format!("{YAML}{file}_file: {file}.csv\n");
        let dir = project(&yaml, &[("m.kpi", kpis), ("data/s.csv", &csv()), (&format!("{file}.csv"), text)]);
        let err = yardstick::compile(dir.path()).map(|_| ()).expect_err(text).render(false);
        assert!(err.contains("YS0241") && err.contains(words), "{text}: {err}");
        assert!(err.contains(&format!("{file}.csv:")), "points into the file: {err}");
    }
    // A missing file is YS0001 at the key.
    let dir = project(&format!("{YAML}events_file: missing.csv\n"), &[("m.kpi", kpis), ("data/s.csv", &csv())]);
    let err = yardstick::compile(dir.path()).map(|_| ()).expect_err("missing").render(false);
    assert!(err.contains("YS0001") && err.contains("events file"), "{err}");
    // `spc.baseline` in yardstick.yaml must be at least 12 too.
    let dir = project(&format!("{YAML}spc:\n  baseline: 6\n"), &[("m.kpi", kpis), ("data/s.csv", &csv())]);
    let err = yardstick::compile(dir.path()).map(|_| ()).expect_err("baseline").render(false);
    assert!(err.contains("YS0002") && err.contains("at least 12"), "{err}");
}

#[test]
fn project_defaults_and_derived_kpis() {
    let yaml = format!("{YAML}spc:\n  screening: false\n  two_of_three: beyond_two_sigma\n");
    let dir = project(
        &yaml,
        &[
            (
                "m.kpi",
                r#"goal g "G" {
  event 2025-01-01 "Goal-wide change" rebase
  kpi a "A" { from s measure sum(v) grain month }
  kpi twice "Twice A" { measure a * 2 benchmark "ref" 40 spc screening on }
}"#,
            ),
            ("data/s.csv", &csv()),
        ],
    );
    let out = dir.path().join("out");
    yardstick::build(dir.path(), Some(&out)).map_err(|f| f.render(false)).expect("builds");
    let r = results_json(&out);
    let a = &kpi(&r, "a")["spc"];
    assert_eq!(
        a["options"],
        serde_json::json!({"enabled": true, "screening": false, "baseline": null, "two_of_three": "beyond_two_sigma"})
    );
    // The goal's rebase reaches both KPIs, the derived one too, with its own options.
    let t = &kpi(&r, "twice");
    assert_eq!(t["spc"]["options"]["screening"], true);
    assert_eq!(t["spc"]["groups"][0]["segments"].as_array().expect("s").len(), 2);
    assert_eq!(t["events"][0]["declared_on"], "goal");
    assert_eq!(t["benchmarks"][0]["values"][0]["value"], 40.0);
}

/// Peers of a KPI with `by` rank each group against the peers' values for that group; a
/// benchmarks-file group the data does not have is a warning (YS0911), never silently nothing.
#[test]
fn peers_rank_each_group_and_a_misspelt_group_is_a_warning() {
    let yaml = "name: t
sources:
  s:
    path: data/s.csv
    time: day
    columns:
      day: date
      district: string
      v: float
benchmarks_file: benchmarks.csv
";
    // January to March 2024, the rows on the 10th and 20th; April's row makes March complete.
    let data = "day,district,v
2024-01-10,North,4
2024-01-20,South,9
2024-02-10,North,5
2024-02-20,South,8
2024-03-10,North,6
2024-03-20,North,6
2024-03-10,South,11
2024-03-20,South,9
2024-04-10,North,1
2024-04-10,South,1
";
    let kpis = r#"goal g "G" { kpi a "A" { from s measure sum(v) grain month by district direction increasing } }"#;
    let benchmarks = "kpi,name,value,period,group,peer
a,P1,15,2024-03-01,North,yes
a,P2,5,2024-03-01,North,yes
a,P3,100,,South,yes
a,P2,3,2024-03-01,South,yes
a,Standard,10,,Nort,no
";
    let dir = project(yaml, &[("m.kpi", kpis), ("data/s.csv", data), ("benchmarks.csv", benchmarks)]);
    let out = dir.path().join("out");
    let built = yardstick::build(dir.path(), Some(&out)).map_err(|f| f.render(false)).expect("builds");
    let r = results_json(&out);
    let ranks = kpi(&r, "a")["peer_ranks"].as_array().expect("ranks").clone();
    let latest: Vec<_> = kpi(&r, "a")["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|x| !x["provisional"].as_bool().unwrap_or(false))
        .map(|x| (x["period"].clone(), x["district"].clone()))
        .collect();
    // By hand: March 2024 is the latest complete month (April is provisional). North sums
    // 6 + 6 = 12: of P1 (15) and P2 (5) one does better, rank 2 of 3, quartile
    // 1 + 4 x 1 / 3 = 2 (integer division). South sums 11 + 9 = 20: P3 (100, every period)
    // does better, P2 (3) worse, rank 2 of 3, quartile 2.
    assert!(latest.iter().any(|(p, d)| p == "2024-03-01" && d == "North"), "{latest:?}");
    assert_eq!(
        serde_json::Value::Array(ranks),
        serde_json::json!([
            {"group": {"district": "North"}, "period": "2024-03-01", "value": 12.0, "rank": 2, "of": 3, "quartile": 2},
            {"group": {"district": "South"}, "period": "2024-03-01", "value": 20.0, "rank": 2, "of": 3, "quartile": 2},
        ])
    );
    let warnings: Vec<String> = built.compiled.warnings.iter().map(|w| format!("{w:?}")).collect();
    let ys0911: Vec<&String> = warnings.iter().filter(|w| w.contains("YS0911")).collect();
    assert_eq!(ys0911.len(), 1, "{warnings:?}");
    assert!(ys0911[0].contains("group \\\"Nort\\\"") && ys0911[0].contains("did you mean `North`"), "{}", ys0911[0]);
    // The definition's own `benchmark peer` on a KPI with `by` is an error too.
    let kpis = r#"goal g "G" { kpi a "A" { from s measure sum(v) grain month by district benchmark peer "P" 5 } }"#;
    let dir = project(yaml, &[("m.kpi", kpis), ("data/s.csv", data), ("benchmarks.csv", "kpi,name,value\n")]);
    let err = yardstick::compile(dir.path()).map(|_| ()).expect_err("peer clause").render(false);
    assert!(err.contains("YS0240") && err.contains("peer `P` has one value for a KPI with `by`"), "{err}");
}
