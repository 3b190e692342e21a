//! `per`: two-level aggregation (one row per unit, the KPI per call). Expected values are
//! worked out by hand from the rows below, and on the San Francisco fire calls by an
//! independent Python computation from the raw file.

use std::process::Command;

use crate::common::*;

const YAML: &str = "name: per
sources:
  units:
    path: units.csv
    time: received
    columns:
      call: string
      received: timestamp
      on_scene: timestamp
      team: string
      district: string
";

// Minutes to each unit's arrival: A 6, 4, none; B 10; C none, none; D 3, 9; a row without a
// call number; E 12 (after midnight: the call counts in the period it was received).
const CSV: &str = "call,received,on_scene,team,district
A,2024-01-01 10:00:00,2024-01-01 10:06:00,E1,North
A,2024-01-01 10:00:00,2024-01-01 10:04:00,E2,North
A,2024-01-01 10:00:00,,E3,North
B,2024-01-05 12:00:00,2024-01-05 12:10:00,E1,South
C,2024-01-20 08:00:00,,E2,North
C,2024-01-20 08:00:00,,E4,North
D,2024-02-02 09:00:00,2024-02-02 09:03:00,E1,South
D,2024-02-02 09:00:00,2024-02-02 09:09:00,E5,South
,2024-02-03 09:00:00,2024-02-03 09:01:00,E1,South
E,2024-02-10 23:50:00,2024-02-11 00:02:00,E2,North
";

const KPIS: &str = "goal g {
  kpi first_p90 {
    from units
    per call (first_arrival = min(minutes_between(received, on_scene)), units = count())
    measure percentile(first_arrival, 90%)
    grain month
  }
  kpi calls { from units per call measure count() grain month by district }
  kpi multi_unit_share { from units per call (units = count()) measure share(units >= 2) }
  kpi median_first { from units per call (first_arrival = min(minutes_between(received, on_scene))) measure median(first_arrival) by district }
  kpi late_calls { from units per call (first_arrival = min(minutes_between(received, on_scene))) measure count(first_arrival where first_arrival > 5) }
}
";

fn rows(r: &yardstick::results::Results, id: &str) -> Vec<(Option<String>, Option<String>, Option<f64>)> {
    let k = r.kpis.iter().find(|k| k.id == id).unwrap_or_else(|| panic!("no KPI {id}"));
    k.rows.iter().map(|row| (row.period.clone(), row.groups.first().and_then(|(_, v)| v.as_str().map(String::from)), row.value)).collect()
}

#[test]
fn per_aggregates_twice() {
    let dir = project(YAML, &[("k.kpi", KPIS)]);
    std::fs::write(dir.path().join("units.csv"), CSV).expect("csv");
    for unfused in [false, true] {
        let options = yardstick::Options { unfused, ..Default::default() };
        let (_, r) = yardstick::evaluate_with(dir.path(), options).map_err(|f| f.render(false)).expect("builds");
        let p = |s: &str| Some(s.to_string());
        // First arrivals per call: A 4, B 10, C none (January); D 3, E 12 (February). The
        // interpolated 90th percentile of two values a <= b is a + 0.9 (b - a).
        assert_eq!(rows(&r, "first_p90"), vec![(p("2024-01-01"), None, Some(9.4)), (p("2024-02-01"), None, Some(11.1))]);
        // Calls (not units) per district and month; the row without a call number is none.
        assert_eq!(
            rows(&r, "calls"),
            vec![
                (p("2024-01-01"), p("North"), Some(2.0)),
                (p("2024-01-01"), p("South"), Some(1.0)),
                (p("2024-02-01"), p("North"), Some(1.0)),
                (p("2024-02-01"), p("South"), Some(1.0)),
            ]
        );
        // Calls with two units or more: A (3), C (2), D (2) of five.
        assert_eq!(rows(&r, "multi_unit_share"), vec![(None, None, Some(0.6))]);
        // North: A 4, E 12 (C has none) -> 8; South: B 10, D 3 -> 6.5.
        assert_eq!(rows(&r, "median_first"), vec![(None, p("North"), Some(8.0)), (None, p("South"), Some(6.5))]);
        // First arrival over 5 minutes: B (10) and E (12).
        assert_eq!(rows(&r, "late_calls"), vec![(None, None, Some(2.0))]);
        // Every row is accounted for: the three units without an arrival and the row without
        // a call number are null inputs of the arrival KPIs; only the latter for `calls`.
        let counts = |id: &str| r.kpis.iter().find(|k| k.id == id).and_then(|k| k.row_counts).expect("row counts");
        assert_eq!((counts("first_p90").counted, counts("first_p90").null_input), (10, 4));
        assert_eq!((counts("calls").counted, counts("calls").null_input), (10, 1));
        let unit = r.kpis.iter().find(|k| k.id == "first_p90").map(|k| k.unit.clone());
        assert_eq!(unit.as_deref(), Some("minutes"));
    }
}

#[test]
fn per_mistakes_are_pointed_at() {
    let cases: &[(&str, &[&str])] = &[
        (
            "per call (first = min(minutes_between(received, on_scene))) measure avg(team)",
            &["YS0201", "unknown column `team`: under `per`", "first", "(team = max(team))"],
        ),
        ("per call by call measure count()", &["YS0202", "both a `per` key and a `by` group"]),
        ("per call (n = count(), n = sum(1)) measure avg(n)", &["YS0202", "named twice in `per`"]),
        ("per call (district = count()) by district measure avg(district)", &["YS0202", "already a value of each entity"]),
        ("per call (n = team) measure avg(n)", &["YS0214", "expected a measure"]),
        ("per call (n = count()) measure avg(n) grain month rolling 3 months", &["YS0212", "cannot be combined with `per`"]),
        ("per cal measure count()", &["YS0201", "did you mean `call`"]),
    ];
    for (clauses, wanted) in cases {
        let dir = project(YAML, &[("k.kpi", &format!("goal g {{ kpi k {{ from units {clauses} }} }}"))]);
        let text = match yardstick::compile(dir.path()) {
            Ok(_) => panic!("expected a check error for {clauses}"),
            Err(f) => f.render(false),
        };
        for w in *wanted {
            assert!(text.contains(w), "{clauses}: wanted {w:?} in\n{text}");
        }
    }
}

/// The oracle: per call, the earliest `On Scene DtTm` minus `Received DtTm` over its units, in
/// minutes; per day received (of the call's first row), the interpolated 90th percentile of
/// the calls that have one. Plain Python from the raw CSV.
const SF_ORACLE: &str = r#"
import csv, json, sys
from datetime import datetime
fmt = "%m/%d/%Y %I:%M:%S %p"
calls = {}
with open(sys.argv[1], newline="") as f:
    for row in csv.DictReader(f):
        received = datetime.strptime(row["Received DtTm"], fmt)
        c = calls.setdefault(row["Call Number"], {"received": received, "first": None})
        c["received"] = min(c["received"], received)
        if row["On Scene DtTm"]:
            m = (datetime.strptime(row["On Scene DtTm"], fmt) - received).total_seconds() / 60
            c["first"] = m if c["first"] is None else min(c["first"], m)
days = {}
for c in calls.values():
    if c["first"] is not None:
        days.setdefault(c["received"].date().isoformat(), []).append(c["first"])
out = {}
for day, xs in sorted(days.items()):
    xs.sort()
    h = 0.9 * (len(xs) - 1)
    lo = int(h)
    out[day] = xs[lo] + (h - lo) * (xs[min(lo + 1, len(xs) - 1)] - xs[lo])
print(json.dumps({"days": out, "calls": len(calls)}))
"#;

#[test]
fn per_on_the_san_francisco_fire_calls() {
    let Some(data) = shared_data() else { return };
    let file = data.join("sf_fire_calls/fire_calls_all_2016-12-31_to_2017-01-07.csv");
    let out = Command::new("python3").arg("-c").arg(SF_ORACLE).arg(&file).output().expect("python3");
    assert!(out.status.success(), "oracle: {}", String::from_utf8_lossy(&out.stderr));
    let expected: serde_json::Value = serde_json::from_slice(&out.stdout).expect("oracle json");
    let yaml = format!(
        "name: sf\nallow_paths: [\"{dir}\"]\nsources:\n  units:\n    path: {file}\n    time: received\n    columns:\n      call_number: {{ type: string, header: Call Number }}\n      received: {{ type: timestamp, header: Received DtTm, format: \"%m/%d/%Y %I:%M:%S %p\" }}\n      on_scene: {{ type: timestamp, header: On Scene DtTm, format: \"%m/%d/%Y %I:%M:%S %p\" }}\n",
        dir = data.canonicalize().expect("data").display(),
        file = file.canonicalize().expect("file").display(),
    );
    let kpis = "goal g {
      kpi first_unit_p90 \"Minutes to the first unit on scene, 90th percentile of calls\" {
        from units
        per call_number (first_arrival = min(minutes_between(received, on_scene)))
        measure percentile(first_arrival, 90%)
        grain day
      }
      kpi calls { from units per call_number measure count() }
    }";
    let dir = project(&yaml, &[("k.kpi", kpis)]);
    let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    let got: Vec<(String, f64)> = rows(&r, "first_unit_p90").into_iter().filter_map(|(p, _, v)| Some((p?, v?))).collect();
    let want: Vec<(String, f64)> =
        expected["days"].as_object().expect("days").iter().map(|(d, v)| (d.clone(), v.as_f64().expect("number"))).collect();
    assert_eq!(got.len(), want.len(), "days: {got:?} vs {want:?}");
    for ((gd, gv), (wd, wv)) in got.iter().zip(&want) {
        assert_eq!(gd, wd);
        assert!(close(*gv, *wv), "{gd}: {gv} vs {wv}");
    }
    // SOURCE.txt: 3,560 calls.
    assert_eq!(expected["calls"], 3560);
    assert_eq!(rows(&r, "calls"), vec![(None, None, Some(3560.0))]);
}
