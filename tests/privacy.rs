//! Privacy (docs/privacy.md): audiences, small-cell suppression with complementary cells,
//! rounding, `pii` columns. Expected values are worked out by hand in the comments; the
//! proof that no suppressed cell can be recovered solves the linear system of everything a
//! public build publishes, with exact rational arithmetic written here (not yardstick's).

use std::collections::{BTreeMap, BTreeSet};

use crate::common::*;

const YAML: &str = "name: Wards
sources:
  visits:
    path: visits.csv
    time: day
    columns:
      visit_id: { type: string, pii: true }
      day: date
      ward: string
      kind: string
      ok: boolean
      birth_year: { type: integer, pii: true }
";

/// January: ward A 3 visits, B 12, C 15, D 20 (50 in all). February: A none, B 11, C 30,
/// D 10. In every visit `ok` is true for the first half (rounded down) of each ward's rows.
fn visits_csv() -> String {
    let mut out = String::from("visit_id,day,ward,kind,ok,birth_year\n");
    let mut n = 0;
    for (day, counts) in [("2024-01-10", [3, 12, 15, 20]), ("2024-02-10", [0, 11, 30, 10])] {
        for (ward, count) in ["A", "B", "C", "D"].iter().zip(counts) {
            for i in 0..count {
                n += 1;
                let kind = if i % 2 == 0 { "walk-in" } else { "booked" };
                out.push_str(&format!("V{n:05},{day},{ward},{kind},{},{}\n", i < count / 2, 1940 + n % 60));
            }
        }
    }
    out
}

fn wards(kpis: &str, extra_yaml: &str) -> tempfile::TempDir {
    let dir = project(&format!("{YAML}{extra_yaml}"), &[("wards.kpi", kpis)]);
    std::fs::write(dir.path().join("visits.csv"), visits_csv()).expect("csv");
    dir
}

const WARD_KPIS: &str = r#"goal g "Wards" {
  kpi by_ward "Visits by ward" {
    from visits
    measure count()
    by ward
    grain month
    compare previous_period
  }
  kpi ok_by_ward "Share of visits that went well" {
    from visits
    measure share(ok)
    by ward
    grain month
  }
  kpi twice "Twice the visits" {
    measure by_ward * 2
  }
  kpi rounded "Visits by ward, rounded" {
    from visits
    measure count()
    by ward
    grain month
    suppress below 10, round 5
  }
  kpi open_book "Visits by ward, not suppressed" {
    from visits
    measure count()
    by ward
    grain month
    suppress off
  }
}
"#;

fn build(dir: &std::path::Path, audience: &str) -> serde_json::Value {
    let out = dir.join(format!("out-{audience}"));
    let (code, _, stderr) = yardstick(&["build", &dir.display().to_string(), "--out", &out.display().to_string(), "--audience", audience]);
    assert_eq!(code, 0, "{stderr}");
    results_json(&out)
}

/// `period|ward` -> (value, suppressed reason).
fn cells(k: &serde_json::Value) -> BTreeMap<String, (Option<f64>, Option<String>)> {
    k["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let key = format!("{}|{}", r["period"].as_str().unwrap_or("all"), r["ward"].as_str().unwrap_or("-"));
            (key, (r["value"].as_f64(), r["suppressed"].as_str().map(str::to_string)))
        })
        .collect()
}

#[test]
fn privacy_small_cells_are_suppressed_with_a_partner() {
    let dir = wards(WARD_KPIS, "");
    let public = build(dir.path(), "public");
    assert_eq!(public["privacy"]["audience"], "public");
    assert_eq!(public["privacy"]["min_count"], 10);
    let c = cells(kpi(&public, "by_ward"));
    // January: A (3 < 10) is suppressed; the total 50 would give it away (50 - 12 - 15 - 20),
    // so the smallest other ward, B (12), is suppressed too.
    assert_eq!(c["2024-01-01|A"].0, None);
    assert_eq!(c["2024-01-01|A"].1.as_deref(), Some("fewer than 10 rows"));
    assert_eq!(c["2024-01-01|B"].0, None);
    assert!(c["2024-01-01|B"].1.as_deref().expect("reason").starts_with("suppressed too"));
    assert_eq!((c["2024-01-01|C"].0, c["2024-01-01|D"].0), (Some(15.0), Some(20.0)));
    // February: no small cell (A has no visits: no value, nothing to hide); D is exactly 10.
    assert_eq!((c["2024-02-01|B"].0, c["2024-02-01|C"].0, c["2024-02-01|D"].0), (Some(11.0), Some(30.0), Some(10.0)));
    assert_eq!(c["2024-02-01|A"], (None, None));
    assert_eq!(kpi(&public, "by_ward")["suppressed_cells"], 2);
    let rows = kpi(&public, "by_ward")["rows"].as_array().expect("rows").clone();
    let row = |p: &str, w: &str| rows.iter().find(|r| r["period"] == p && r["ward"] == w).expect("row").clone();
    assert_eq!(row("2024-01-01", "A")["status"], "suppressed");
    // February B against January B (suppressed): the comparison would give 11 - x away.
    let vs = &row("2024-02-01", "B")["comparisons"]["previous_period"];
    assert!(vs["value"].is_null() && vs["change"].is_null(), "{vs}");
    // C is published in both months: 30 - 15 = 15.
    assert_eq!(row("2024-02-01", "C")["comparisons"]["previous_period"]["change"], 15.0);

    // A share is suppressed by its denominator (the ward's visits): the same cells.
    let s = cells(kpi(&public, "ok_by_ward"));
    assert_eq!((s["2024-01-01|A"].0, s["2024-01-01|B"].0), (None, None));
    // C: 7 of 15 went well (the first 15 / 2 = 7 rows).
    assert!(close(s["2024-01-01|C"].0.expect("C"), 7.0 / 15.0));
    // The derived KPI reads the suppressed cells: suppressed there too; D is 2 x 20.
    let t = cells(kpi(&public, "twice"));
    assert!(t["2024-01-01|A"].1.as_deref().expect("reason").contains("`by_ward`"));
    assert_eq!((t["2024-01-01|B"].0, t["2024-01-01|D"].0), (None, Some(40.0)));
    // Rounded to 5: 15 -> 15, 20 -> 20, 11 -> 10, 30 -> 30, 10 -> 10; A and B suppressed.
    let r = cells(kpi(&public, "rounded"));
    assert_eq!((r["2024-01-01|A"].0, r["2024-01-01|B"].0, r["2024-01-01|C"].0), (None, None, Some(15.0)));
    assert_eq!((r["2024-02-01|B"].0, r["2024-02-01|C"].0, r["2024-02-01|D"].0), (Some(10.0), Some(30.0), Some(10.0)));
    // `suppress off`: as counted.
    let o = cells(kpi(&public, "open_book"));
    assert_eq!((o["2024-01-01|A"].0, o["2024-01-01|B"].0), (Some(3.0), Some(12.0)));

    // Internal builds publish every value as computed.
    let internal = build(dir.path(), "internal");
    assert_eq!(internal["privacy"]["audience"], "internal");
    let c = cells(kpi(&internal, "by_ward"));
    assert_eq!((c["2024-01-01|A"].0, c["2024-01-01|B"].0), (Some(3.0), Some(12.0)));
    assert_eq!(kpi(&internal, "by_ward")["suppressed_cells"], 0);
    assert_eq!(cells(kpi(&internal, "rounded"))["2024-02-01|B"].0, Some(11.0));
}

#[test]
fn privacy_project_threshold_and_rounding() {
    // `min_count: 12`: January A (3) and B... B is 12, not below 12; A alone is small, and its
    // partner is B, the smallest other. February: B 11 and D 10 are small (two of them: their
    // sum is all the total gives away), C 30 published. Rounding to 5: 15 and 20 stay, 30 stays.
    let dir = wards(WARD_KPIS, "privacy:\n  min_count: 12\n  rounding: 5\n");
    let public = build(dir.path(), "public");
    let c = cells(kpi(&public, "by_ward"));
    assert_eq!(c["2024-01-01|A"].1.as_deref(), Some("fewer than 12 rows"));
    assert!(c["2024-01-01|B"].1.as_deref().expect("B").starts_with("suppressed too"));
    assert_eq!(c["2024-02-01|B"].1.as_deref(), Some("fewer than 12 rows"));
    assert_eq!(c["2024-02-01|D"].1.as_deref(), Some("fewer than 12 rows"));
    assert_eq!((c["2024-01-01|C"].0, c["2024-01-01|D"].0, c["2024-02-01|C"].0), (Some(15.0), Some(20.0), Some(30.0)));
    // The KPI's own `suppress below 10, round 5` wins over the project's 12.
    let r = cells(kpi(&public, "rounded"));
    assert_eq!(r["2024-02-01|B"].0, Some(10.0));
}

#[test]
fn privacy_internal_things_leave_public_builds() {
    let kpis = r#"goal g "Wards" {
  objective staff "Staffing" {
    audience internal
    kpi night_shift "Night visits" {
      from visits
      measure count()
      grain month
    }
  }
  kpi secret_total "Internal total" {
    from visits
    measure count()
    grain month
    audience internal
  }
  kpi secret_half "Derived from an internal KPI" {
    measure secret_total / 2
  }
  kpi by_kind "Visits by kind" {
    from visits
    measure count()
    by kind, ward internal
    grain month
  }
}
"#;
    let dir = wards(kpis, "");
    let out = dir.path().join("out-public");
    let (code, _, stderr) = yardstick(&["build", &dir.path().display().to_string(), "--out", &out.display().to_string()]);
    assert_eq!(code, 0, "{stderr}");
    let public = results_json(&out);
    let ids: Vec<&str> = public["kpis"].as_array().expect("kpis").iter().map(|k| k["id"].as_str().expect("id")).collect();
    assert_eq!(ids, ["by_kind"], "the default audience is public");
    assert_eq!(kpi(&public, "by_kind")["by"], serde_json::json!(["kind"]));
    // By kind over every ward: January 50 visits, walk-ins are rows 0, 2, 4.. of each ward:
    // A 2, B 6, C 8, D 10 = 26 walk-in, 24 booked.
    let rows = kpi(&public, "by_kind")["rows"].as_array().expect("rows").clone();
    let jan: Vec<(String, f64)> = rows
        .iter()
        .filter(|r| r["period"] == "2024-01-01")
        .map(|r| (r["kind"].as_str().expect("kind").to_string(), r["value"].as_f64().expect("value")))
        .collect();
    assert_eq!(jan, [("booked".to_string(), 24.0), ("walk-in".to_string(), 26.0)]);
    for file in ["index.html", "results.json", ".yardstick-manifest"] {
        let text = std::fs::read_to_string(out.join(file)).expect("output file");
        for word in ["night_shift", "secret_total", "secret_half", "Staffing", "Night visits"] {
            assert!(!text.contains(word), "{file} names `{word}`");
        }
    }
    let internal = build(dir.path(), "internal");
    let ids: Vec<&str> = internal["kpis"].as_array().expect("kpis").iter().map(|k| k["id"].as_str().expect("id")).collect();
    assert_eq!(ids, ["night_shift", "secret_total", "secret_half", "by_kind"]);
    assert_eq!(kpi(&internal, "by_kind")["by"], serde_json::json!(["kind", "ward"]));
}

#[test]
fn privacy_pii_columns_are_never_shown() {
    for (measure, by, code) in [
        ("count()", "by visit_id", Some("YS0251")),
        ("count()", "by first = lower(visit_id)", Some("YS0251")),
        ("max(birth_year)", "", Some("YS0251")),
        ("median(birth_year)", "by ward", Some("YS0251")),
        ("avg(birth_year)", "by ward", None),
        ("count(distinct visit_id)", "by ward", None),
        ("count() where visit_id != 'V00001'", "by ward", None),
    ] {
        let kpis =
            format!("goal g \"G\" {{\n  kpi k \"K\" {{\n    from visits\n    measure {measure}\n    {by}\n    grain month\n  }}\n}}\n");
        let dir = wards(&kpis, "");
        let (status, _, stderr) = yardstick(&["check", &dir.path().display().to_string()]);
        match code {
            Some(code) => assert!(status == 1 && stderr.contains(code) && stderr.contains("pii"), "{measure} {by}: {stderr}"),
            None => assert_eq!(status, 0, "{measure} {by}: {stderr}"),
        }
    }
    for (clause, wrong) in
        [("suppress below 0", "`0`"), ("suppress off, round 5", "`suppress off`"), ("audience internal\n    audience public", "twice")]
    {
        let kpis = format!("goal g \"G\" {{\n  kpi k \"K\" {{\n    from visits\n    measure count()\n    {clause}\n  }}\n}}\n");
        let dir = wards(&kpis, "");
        let (status, _, stderr) = yardstick(&["check", &dir.path().display().to_string()]);
        assert_eq!(status, 1, "{clause}: {stderr}");
        assert!(stderr.contains("YS0250") || stderr.contains("YS0203"), "{clause}: {stderr}");
        assert!(stderr.contains(wrong) || stderr.contains("YS0203"), "{clause}: {stderr}");
    }
    let kpis = "goal g \"G\" {\n  objective o \"O\" {\n    audience internal\n    kpi k \"K\" {\n      from visits\n      measure count()\n      audience public\n    }\n  }\n}\n";
    let dir = wards(kpis, "");
    let (status, _, stderr) = yardstick(&["check", &dir.path().display().to_string()]);
    assert!(status == 1 && stderr.contains("YS0250"), "{stderr}");
}

/// Every output file of a build, as text.
fn outputs(out: &std::path::Path) -> Vec<(String, String)> {
    let mut v = vec![];
    for e in std::fs::read_dir(out).expect("out dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            // The report's pages (kpi/, goal/, owner/).
            v.extend(outputs(&p));
        } else {
            v.push((p.display().to_string(), std::fs::read_to_string(&p).expect("text output")));
        }
    }
    v
}

#[test]
fn privacy_public_city_build_has_no_internal_kpi_and_no_pii_value() {
    let city = repo().join("examples/city");
    let tmp = tempfile::tempdir().expect("tempdir");
    let (public_out, internal_out) = (tmp.path().join("public"), tmp.path().join("internal"));
    let (code, _, stderr) = yardstick(&["build", &city.display().to_string(), "--out", &public_out.display().to_string()]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) =
        yardstick(&["build", &city.display().to_string(), "--out", &internal_out.display().to_string(), "--audience", "internal"]);
    assert_eq!(code, 0, "{stderr}");
    // The ids of what the example marks internal, and every value of its pii columns.
    let internal_ids = ["calls_without_answer_time", "staffing"];
    let mut pii: Vec<String> = vec![];
    for (file, column) in [("data/calls_911.csv", 0), ("data/requests_311.csv", 0)] {
        let text = std::fs::read_to_string(city.join(file)).expect("csv");
        pii.extend(text.lines().skip(1).filter_map(|l| l.split(',').nth(column)).map(str::to_string));
    }
    assert!(pii.len() > 8000, "every call and request id");
    let public = outputs(&public_out);
    assert!(public.len() >= 3);
    for (file, text) in &public {
        for id in internal_ids {
            assert!(!text.contains(id), "{file} names internal `{id}`");
        }
        // One pass over the text: every token that looks like an id.
        let tokens: BTreeSet<&str> = text.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        assert!(pii.iter().all(|v| !tokens.contains(v.as_str())), "{file} shows a pii value");
    }
    let results = results_json(&public_out);
    assert_eq!(kpi(&results, "calls_by_type")["by"], serde_json::json!(["call_type"]));
    let fire = kpi(&results, "fire_calls_per_district");
    assert!(fire["suppressed_cells"].as_u64().expect("suppressed") > 0);
    // SPC says it left suppressed periods out.
    let notes: Vec<&str> = fire["spc"]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["notes"].as_array().into_iter().flatten())
        .filter_map(|n| n.as_str())
        .collect();
    assert!(notes.iter().any(|n| n.contains("suppressed")), "{notes:?}");
    let html = std::fs::read_to_string(public_out.join("index.html")).expect("html");
    assert!(html.contains("suppressed <small>(fewer than 10 rows)</small>"));

    // The internal build shows them; pii values still never.
    let internal = outputs(&internal_out);
    let all: String = internal.iter().map(|(_, t)| t.as_str()).collect();
    for id in internal_ids {
        assert!(all.contains(id), "the internal build shows `{id}`");
    }
    for (file, text) in &internal {
        let tokens: BTreeSet<&str> = text.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        assert!(pii.iter().all(|v| !tokens.contains(v.as_str())), "{file} shows a pii value");
    }
    let results = results_json(&internal_out);
    assert_eq!(kpi(&results, "calls_by_type")["by"], serde_json::json!(["call_type", "district"]));
    assert_eq!(kpi(&results, "fire_calls_per_district")["suppressed_cells"], 0);
}

// ---------------------------------------------------------------------------------------
// The proof: no suppressed cell can be worked out from what a public build publishes.

/// An exact fraction (numerator, denominator > 0), reduced.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Q(i128, i128);

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 { a.abs().max(1) } else { gcd(b, a % b) }
}

impl Q {
    fn new(n: i128, d: i128) -> Q {
        let g = gcd(n, d) * d.signum();
        Q(n / g, d / g)
    }
    fn is_zero(self) -> bool {
        self.0 == 0
    }
    fn sub(self, o: Q) -> Q {
        Q::new(self.0 * o.1 - o.0 * self.1, self.1 * o.1)
    }
    fn mul(self, o: Q) -> Q {
        Q::new(self.0 * o.0, self.1 * o.1)
    }
    fn div(self, o: Q) -> Q {
        Q::new(self.0 * o.1, self.1 * o.0)
    }
}

/// The unknowns `rows` (equations with known right-hand sides) determine: Gauss-Jordan
/// elimination in exact fractions; an unknown is determined when its unit vector is a
/// combination of the equations, that is when a reduced row has it as its only entry.
fn determined_exactly(mut rows: Vec<Vec<Q>>, n: usize) -> Vec<usize> {
    let mut pivot_rows = vec![];
    let mut r = 0;
    for c in 0..n {
        let Some(p) = (r..rows.len()).find(|&i| !rows[i][c].is_zero()) else { continue };
        rows.swap(r, p);
        let lead = rows[r][c];
        rows[r] = rows[r].iter().map(|x| x.div(lead)).collect();
        let pivot = rows[r].clone();
        for (i, row) in rows.iter_mut().enumerate() {
            if i != r && !row[c].is_zero() {
                let f = row[c];
                *row = row.iter().zip(&pivot).map(|(x, p)| x.sub(f.mul(*p))).collect();
            }
        }
        pivot_rows.push((r, c));
        r += 1;
    }
    pivot_rows.into_iter().filter(|&(r, c)| rows[r].iter().enumerate().all(|(k, x)| k == c || x.is_zero())).map(|(_, c)| c).collect()
}

#[test]
fn privacy_exact_solver_finds_what_subtraction_gives() {
    // x + y = 7 and x = 3 published: both determined. x + y + z = 9 alone: none.
    let one = Q(1, 1);
    let zero = Q(0, 1);
    assert_eq!(determined_exactly(vec![vec![one, one], vec![one, zero]], 2), vec![0, 1]);
    assert!(determined_exactly(vec![vec![one, one, one]], 3).is_empty());
    // Rows a, b and columns x, y of a 2 x 2 table, all four unknown: rank 3 of 4, none fixed.
    let t = vec![vec![one, one, zero, zero], vec![zero, zero, one, one], vec![one, zero, one, zero], vec![zero, one, zero, one]];
    assert!(determined_exactly(t, 4).is_empty());
}

/// For every KPI of a public build with one or two `by` columns and every period: the
/// suppressed cells are the unknowns; the equations are every total a reader may know (the
/// period's total, each row's and column's) that counts at least `threshold` rows, the
/// exact counts taken from the internal build. No unknown may be determined.
fn assert_nothing_recoverable(public: &serde_json::Value, internal: &serde_json::Value, threshold: f64, counted: &[&str]) {
    let mut checked = 0;
    for id in counted {
        let (p, i) = (kpi(public, id), kpi(internal, id));
        let by: Vec<String> = p["by"].as_array().expect("by").iter().map(|b| b.as_str().expect("by").to_string()).collect();
        assert!(!by.is_empty() && by.len() <= 2, "{id}");
        let cell = |r: &serde_json::Value| -> (String, Vec<String>) {
            (r["period"].as_str().unwrap_or("").to_string(), by.iter().map(|b| r[b].to_string()).collect())
        };
        let exact: BTreeMap<(String, Vec<String>), f64> =
            i["rows"].as_array().expect("rows").iter().map(|r| (cell(r), r["value"].as_f64().unwrap_or(0.0))).collect();
        let mut periods: BTreeMap<String, Vec<(Vec<String>, bool)>> = BTreeMap::new();
        for r in p["rows"].as_array().expect("rows") {
            let (period, groups) = cell(r);
            periods.entry(period).or_default().push((groups, r["suppressed"].is_string()));
        }
        for (period, cells) in periods {
            let unknowns: Vec<&Vec<String>> = cells.iter().filter(|(_, s)| *s).map(|(g, _)| g).collect();
            if unknowns.is_empty() {
                continue;
            }
            // Lines: all cells (the period's total), and with two `by` columns each value of
            // either column.
            let mut lines: Vec<Vec<&Vec<String>>> = vec![cells.iter().map(|(g, _)| g).collect()];
            for d in if by.len() == 2 { 0..2 } else { 0..0 } {
                let mut by_value: BTreeMap<&str, Vec<&Vec<String>>> = BTreeMap::new();
                for (g, _) in &cells {
                    by_value.entry(g[d].as_str()).or_default().push(g);
                }
                lines.extend(by_value.into_values());
            }
            let rows: Vec<Vec<Q>> = lines
                .iter()
                .filter(|l| l.iter().map(|g| exact.get(&(period.clone(), (*g).clone())).copied().unwrap_or(0.0)).sum::<f64>() >= threshold)
                .map(|l| unknowns.iter().map(|u| if l.contains(u) { Q(1, 1) } else { Q(0, 1) }).collect())
                .collect();
            let given_away = determined_exactly(rows, unknowns.len());
            assert!(
                given_away.is_empty(),
                "{id} {period}: {:?} can be worked out",
                given_away.iter().map(|&u| unknowns[u]).collect::<Vec<_>>()
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "some period had suppressed cells");
}

#[test]
fn privacy_no_suppressed_cell_can_be_worked_out() {
    let dir = wards(WARD_KPIS, "");
    let (public, internal) = (build(dir.path(), "public"), build(dir.path(), "internal"));
    assert_nothing_recoverable(&public, &internal, 10.0, &["by_ward"]);

    let city = repo().join("examples/city");
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut built = vec![];
    for audience in ["public", "internal"] {
        let out = tmp.path().join(audience);
        let (code, _, stderr) =
            yardstick(&["build", &city.display().to_string(), "--out", &out.display().to_string(), "--audience", audience]);
        assert_eq!(code, 0, "{stderr}");
        built.push(results_json(&out));
    }
    // One and two `by` columns, counts (their values are the counts).
    assert_nothing_recoverable(&built[0], &built[1], 10.0, &["fire_calls_per_district", "calls_by_district_and_type"]);
}

#[test]
fn privacy_diff_leaves_internal_kpis_out_unless_asked() {
    let dir = wards(WARD_KPIS, "");
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-qm", "wards"]);
    let added = "goal h \"Staff\" {\n  kpi secret_staffing \"Staffing\" {\n    from visits\n    measure count()\n    grain month\n    audience internal\n  }\n  kpi open_count \"Visits\" {\n    from visits\n    measure count()\n    grain month\n  }\n}\n";
    std::fs::write(dir.path().join("staff.kpi"), added).expect("write");
    let d = dir.path().display().to_string();
    let (code, public, stderr) = yardstick(&["diff", "HEAD", &d, "--values"]);
    assert!(code == 0 || code == 1, "{stderr}");
    assert!(public.contains("open_count"), "{public}");
    assert!(!public.contains("secret_staffing") && !stderr.contains("secret_staffing"), "{public}");
    let (_, internal, stderr) = yardstick(&["diff", "HEAD", &d, "--audience", "internal"]);
    assert!(internal.contains("secret_staffing"), "{internal}{stderr}");
}

/// The groups a KPI's card lists under "Where the gap is", in order, and the paragraph after.
fn kpi_hotspots(html: &str, title: &str) -> (Vec<String>, String) {
    let start = html.find(&format!("aria-label=\"Hotspots of {title}\"")).unwrap_or_else(|| panic!("no hotspots of {title}"));
    let section = &html[start..];
    let section = &section[..section.find("</section>").expect("section end")];
    let groups = section.split("<li><b>").skip(1).map(|s| s.split("</b>").next().unwrap_or_default().to_string()).collect();
    (groups, section.to_string())
}

#[test]
fn privacy_rounded_kpis_hotspots_say_they_are_ordered_by_gap_alone() {
    let kpis = r#"goal g "Wards" {
  kpi rounded_ok "Share that went well, rounded" {
    from visits
    measure share(ok)
    by ward
    grain month
    target >= 90%
    suppress below 10, round 5
  }
}
"#;
    let dir = wards(kpis, "");
    let html = |audience: &str| {
        let out = dir.path().join(format!("out-{audience}"));
        let (code, _, stderr) =
            yardstick(&["build", &dir.path().display().to_string(), "--out", &out.display().to_string(), "--audience", audience]);
        assert_eq!(code, 0, "{stderr}");
        std::fs::read_to_string(out.join("index.html")).expect("html")
    };
    // January (the headline period): A 1 of 3 went well, B 6 of 12, C 7 of 15, D 10 of 20;
    // the target is 90%. Gaps: A 0.5667, B 0.4, C 0.4333, D 0.4. Weighed by rows (the
    // internal report): A 1.7, B 4.8, C 6.5, D 8: D, C, B, A.
    let (internal, section) = kpi_hotspots(&html("internal"), "Share that went well, rounded");
    assert_eq!(internal, ["D", "C", "B", "A"], "{section}");
    assert!(!section.contains("Ordered by gap alone"));
    // The public report suppresses A (3 rows) and a partner, and publishes no row counts of
    // a rounded KPI: by gap alone C (0.4333) comes before D (0.4), and it says so.
    let public = html("public");
    let (groups, section) = kpi_hotspots(&public, "Share that went well, rounded");
    let at = |g: &str| groups.iter().position(|x| x == g);
    assert_eq!(at("A"), None, "{section}");
    assert_eq!(at("C"), Some(0), "C first: {section}");
    assert!(section.contains("Ordered by gap alone: this public report rounds the KPI's counts"), "{section}");
    assert!(public.contains(">withheld</abbr>"), "the overview's hotspot table marks the rows as withheld");
}
