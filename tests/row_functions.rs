//! Row functions (text, logic, dates), interval arithmetic, computed `by` groups and
//! `count(distinct a, b)`. Expected values are worked out by hand from the six rows below
//! (see each comment); every KPI runs fused and with `--no-fuse`.

use crate::common::*;

const YAML: &str = "name: rf
sources:
  calls:
    path: calls.csv
    time: received
    columns:
      id: integer
      received: { type: timestamp, format: \"%Y-%m-%d %H:%M\" }
      closed: { type: date }
      region: string
      kind: string
      team: string
      amount: float
";

// Row 2 has no amount, row 4 no closing date, row 6 no region.
// Weekdays: 2024-01-31 Wed, 2024-02-29 Thu, 2024-03-01 Fri, 2024-03-15 Fri, 2024-03-16 Sat.
const CSV: &str = "id,received,closed,region,kind,team,amount
1,2024-01-31 08:15,2024-02-05, North ,Fire,E1,1.5
2,2024-01-31 23:59,2024-03-01,north,fire alarm,E2,
3,2024-02-29 12:00,2024-02-29,South ,EMS,M1,-0.0
4,2024-03-01 00:00,,South,EMS call,M1,0.0
5,2024-03-15 18:30,2024-04-20,  east,Other,E1,2
6,2024-03-16 07:05,2024-03-16,,Fire,E1,3
";

const KPIS: &str = "goal g {
  kpi by_region { from calls measure count() by region_clean = lower(trim(region)) }
  kpi fires { from calls measure count() where starts_with(lower(kind), 'fire') }
  kpi ems_suffix { from calls measure count() where ends_with(upper(kind), 'CALL') }
  kpi like_ems { from calls measure count() where like(kind, 'EMS%') }
  kpi like_one { from calls measure count() where like(team, 'E_') }
  kpi contains_a { from calls measure count() where contains(kind, 'a') }
  kpi late { from calls measure count() where closed > date(received) + 30 days }
  kpi coalesced { from calls measure sum(coalesce(amount, 10)) }
  kpi iffy { from calls measure sum(if(amount > 1, 1, 0)) }
  kpi night { from calls measure count() where hour(received) >= 18 or hour(received) < 7 }
  kpi weekend { from calls measure count() where weekday(received) >= 6 }
  kpi by_month { from calls measure count() by m = month(received) }
  kpi pairs { from calls measure count(distinct team, region) }
  kpi pairs_amount { from calls measure count(distinct team, amount) }
  kpi pairs_fire { from calls measure count(distinct team, kind where contains(lower(kind), 'fire')) }
  kpi first_quarter { from calls measure count() where extract(quarter, received) = 1 }
  kpi early { from calls measure count() where received - 9 hours < 2024-01-31 }
  kpi month_end { from calls measure count() where date(received) + 1 month = 2024-02-29 }
  kpi minutes_late { from calls measure count() where received + 30 minutes >= 2024-03-01 }
  kpi year_day { from calls measure max(day_of_year(received)) }
}
";

fn values(unfused: bool) -> Vec<(String, Vec<(serde_json::Value, Option<f64>)>, u64)> {
    let dir = project(YAML, &[("k.kpi", KPIS)]);
    std::fs::write(dir.path().join("calls.csv"), CSV).expect("csv");
    let options = yardstick::Options { unfused, ..Default::default() };
    let (_, r) = yardstick::evaluate_with(dir.path(), options).map_err(|f| f.render(false)).expect("builds");
    r.kpis
        .iter()
        .map(|k| {
            let rows = k
                .rows
                .iter()
                .map(|row| (row.groups.first().map(|(_, v)| v.clone()).unwrap_or(serde_json::Value::Null), row.value))
                .collect();
            (k.id.clone(), rows, k.row_counts.as_ref().map(|c| c.null_input).unwrap_or(0))
        })
        .collect()
}

#[test]
fn row_functions_compute_what_the_docs_say() {
    use serde_json::json;
    let null = serde_json::Value::Null;
    let one = |v: f64| vec![(null.clone(), Some(v))];
    let expected: Vec<(&str, Vec<(serde_json::Value, Option<f64>)>, u64)> = vec![
        // " North " and "north" -> north; "South " and "South" -> south; "  east"; row 6 has none.
        (
            "by_region",
            vec![(json!("east"), Some(1.0)), (json!("north"), Some(2.0)), (json!("south"), Some(2.0)), (null.clone(), Some(1.0))],
            0,
        ),
        // Fire, fire alarm, Fire.
        ("fires", one(3.0), 0),
        // "EMS CALL" only.
        ("ems_suffix", one(1.0), 0),
        // EMS, EMS call.
        ("like_ems", one(2.0), 0),
        // E1, E2, E1, E1 (two characters starting with E); M1 twice not.
        ("like_one", one(4.0), 0),
        // "fire alarm" and "EMS call" have an `a`.
        ("contains_a", one(2.0), 0),
        // closed after the day received + 30 days: row 5 only (2024-03-15 + 30 = 04-14 < 04-20);
        // row 2: 01-31 + 30 days = 03-01, not after 03-01; row 4 has no closing date.
        ("late", one(1.0), 0),
        // 1.5 + 10 (row 2) + -0.0 + 0.0 + 2 + 3.
        ("coalesced", one(16.5), 0),
        // amount > 1: 1.5, 2, 3; the missing amount of row 2 takes the `else`: 0.
        ("iffy", one(3.0), 0),
        // 23:59, 00:00, 18:30 (07:05 is after 7).
        ("night", one(3.0), 0),
        // Saturday 2024-03-16 only.
        ("weekend", one(1.0), 0),
        ("by_month", vec![(json!(1), Some(2.0)), (json!(2), Some(1.0)), (json!(3), Some(3.0))], 0),
        // (E1," North "), (E2,"north"), (M1,"South "), (M1,"South"), (E1,"  east"): 5; row 6 has no
        // region: not counted, a null input.
        ("pairs", one(5.0), 1),
        // (E1,1.5), (M1,0.0) twice (-0.0 is 0.0), (E1,2), (E1,3): 4; row 2 has no amount.
        ("pairs_amount", one(4.0), 1),
        // Fire rows: (E1,Fire) twice, (E2,fire alarm): 2.
        ("pairs_fire", one(2.0), 0),
        // Every row is in January to March.
        ("first_quarter", one(6.0), 0),
        // 9 hours earlier than midnight of 2024-01-31: 08:15 on the 31st is 23:15 on the 30th.
        ("early", one(1.0), 0),
        // 2024-01-31 + 1 month is the last day of February (rows 1 and 2).
        ("month_end", one(2.0), 0),
        // 2024-02-29 12:00 + 30 min is before March; the others from 03-01 00:00 on: rows 4, 5, 6.
        ("minutes_late", one(3.0), 0),
        // 2024-03-16 is day 31 + 29 + 16 = 76 of the leap year.
        ("year_day", one(76.0), 0),
    ];
    for unfused in [false, true] {
        let got = values(unfused);
        for (id, rows, nulls) in &expected {
            let (_, got_rows, got_nulls) = got.iter().find(|(k, _, _)| k == id).unwrap_or_else(|| panic!("no KPI {id}"));
            assert_eq!(got_rows, rows, "{id} (unfused: {unfused})");
            assert_eq!(got_nulls, nulls, "null inputs of {id} (unfused: {unfused})");
        }
    }
}

fn check_error(kpi: &str) -> String {
    let dir = project(YAML, &[("k.kpi", kpi)]);
    match yardstick::compile(dir.path()) {
        Ok(_) => panic!("expected a check error for {kpi}"),
        Err(f) => f.render(false),
    }
}

#[test]
fn row_function_mistakes_are_pointed_at() {
    let cases: &[(&str, &[&str])] = &[
        ("measure count() where trim(amount) = 'x'", &["YS0210", "`trim` needs text, found a float"]),
        ("measure count() where hour(closed) = 1", &["YS0210", "`hour` needs a timestamp, found a date", "a date has no time of day"]),
        ("measure count() where extract(hours, received) = 1", &["YS0212", "`extract` needs a date part first", "did you mean `hour`"]),
        ("measure count() where lower(kind, 'x') = 'a'", &["YS0212", "`lower` takes 1 argument, found 2"]),
        ("measure count() where coalesce(kind, 3) = 'a'", &["YS0210", "must have one type"]),
        ("measure count() where if(kind, 1, 2) = 1", &["YS0212", "first argument of `if` is a condition"]),
        ("measure count() where 30 days > 1", &["YS0210", "an interval on its own is not a value"]),
        ("measure count() where 30 days - received > 2024-01-01", &["YS0210", "cannot be subtracted from"]),
        ("measure count() where amount + 30 days > 1", &["YS0210", "only be added to a date or timestamp, found a float"]),
        ("measure count() where received + 1000 years > 2024-01-01", &["YS0212", "up to 150 years"]),
        ("measure count() where received + 1.5 days > 2024-01-01", &["YS0212", "for half a day write `12 hours`"]),
        ("measure count() by region = trim(region)", &["YS0202", "`region` is already a column of `calls`"]),
        ("measure count() by value = trim(region)", &["YS0202", "results rows already have a `value` field"]),
        ("measure count() by r = sum(amount)", &["YS0213", "is a measure, not a row value"]),
        ("measure count(distinct team where kind = 'Fire', region)", &["YS0212", "`where` comes after the last value"]),
        ("measure count(distinct team, distinct region)", &["YS0212", "`distinct` is written once"]),
        ("measure count() where lowr(kind) = 'x'", &["YS0211", "did you mean `lower`"]),
    ];
    for (clauses, wanted) in cases {
        let text = check_error(&format!("goal g {{ kpi k {{ from calls {clauses} }} }}"));
        for w in *wanted {
            assert!(text.contains(w), "{clauses}: wanted {w:?} in\n{text}");
        }
    }
}

#[test]
fn computed_groups_fuse_only_with_the_same_computation() {
    // Two KPIs grouping on the same name computed differently are two queries; the same
    // computation shares one.
    let kpis = "goal g {
      kpi a { from calls measure count() by r = lower(trim(region)) }
      kpi b { from calls measure count() by r = upper(trim(region)) }
      kpi c { from calls measure sum(amount) by r = lower(trim(region)) }
    }";
    let dir = project(YAML, &[("k.kpi", kpis)]);
    std::fs::write(dir.path().join("calls.csv"), CSV).expect("csv");
    let compiled = yardstick::compile(dir.path()).map_err(|f| f.render(false)).expect("compiles");
    let groups: Vec<Vec<String>> = compiled.fused.iter().map(|f| f.kpis.clone()).collect();
    assert_eq!(groups, vec![vec!["a".to_string(), "c".to_string()], vec!["b".to_string()]]);
    let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    let b = r.kpis.iter().find(|k| k.id == "b").expect("b");
    let names: Vec<serde_json::Value> = b.rows.iter().map(|row| row.groups[0].1.clone()).collect();
    assert_eq!(names, vec![serde_json::json!("EAST"), serde_json::json!("NORTH"), serde_json::json!("SOUTH"), serde_json::Value::Null]);
}
