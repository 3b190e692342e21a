//! The report at a glance (docs/report.md): periods named for people, the scorecard, hotspots
//! ranked by gap x volume, the heat table. Expected orders are computed by hand below.

use crate::common::*;

const YAML: &str = "name: Glance
sources:
  calls:
    path: data/calls.csv
    time: day
    complete_after: none
    columns:
      day: date
      district: string
      fast: integer
      wait: float
";

const KPIS: &str = r#"goal g "Answer fast" {
  owner "Chief"
  kpi calls "Calls received" {
    from calls
    measure count()
    grain month
    target >= 100
  }
  objective o "By district" {
    kpi fast_share "Calls answered fast" {
      from calls
      measure share(fast = 1)
      by district
      grain month
      target >= 90%
    }
    kpi wait "Average wait" {
      from calls
      measure avg(wait)
      where wait is not null
      by district
      grain month
      target <= 10
    }
  }
}
"#;

/// March 2025, per district: North 100 calls (80 fast; waits 11 and 13 on two of them),
/// South 20 (10 fast; a wait of 30 on one), East 50 (46 fast), West 10 (8 fast). January
/// and February: 4 and 5 calls in North, all fast, without a wait.
fn csv() -> String {
    let mut s = String::from("day,district,fast,wait\n");
    let mut add = |day: &str, district: &str, n: usize, fast: usize, waits: &[f64]| {
        for i in 0..n {
            let wait = waits.get(i).map(|w| w.to_string()).unwrap_or_default();
            s.push_str(&format!("{day},{district},{},{wait}\n", u8::from(i < fast)));
        }
    };
    add("2025-01-10", "North", 4, 4, &[]);
    add("2025-02-10", "North", 5, 5, &[]);
    add("2025-03-05", "North", 100, 80, &[11.0, 13.0]);
    add("2025-03-05", "South", 20, 10, &[30.0]);
    add("2025-03-05", "East", 50, 46, &[]);
    add("2025-03-05", "West", 10, 8, &[]);
    s
}

fn fixture() -> tempfile::TempDir {
    let dir = project(YAML, &[("metrics/g.kpi", KPIS)]);
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(dir.path().join("data/calls.csv"), csv()).expect("csv");
    dir
}

fn evaluate(dir: &std::path::Path) -> yardstick::results::Results {
    yardstick::evaluate(dir).map_err(|f| f.render(false)).expect("evaluates").1
}

fn index(r: &yardstick::results::Results, id: &str) -> usize {
    r.kpis.iter().position(|k| k.id == id).expect("kpi")
}

fn group(r: &yardstick::results::Results, kpi: usize, row: usize) -> String {
    yardstick::spc::group_label(&r.kpis[kpi].rows[row].groups)
}

#[test]
fn hotspots_rank_groups_by_gap_times_volume() {
    let dir = fixture();
    let r = evaluate(dir.path());
    let (share, wait) = (index(&r, "fast_share"), index(&r, "wait"));
    // The rows each value was computed from (the share's denominator) are in results.json.
    let march: Vec<(String, Option<u64>)> = r.kpis[share]
        .rows
        .iter()
        .filter(|x| x.period.as_deref() == Some("2025-03-01"))
        .map(|x| (yardstick::spc::group_label(&x.groups), x.counted))
        .collect();
    assert_eq!(
        march,
        [("East", Some(50)), ("North", Some(100)), ("South", Some(20)), ("West", Some(10))].map(|(g, n)| (g.to_string(), n)).to_vec()
    );
    // fast_share against 90%: North 0.80 (gap 0.10 x 100 calls = 10 calls short), South 0.50
    // (0.40 x 20 = 8), West 0.80 (0.10 x 10 = 1); East 0.92 is on track. Order: North,
    // South, West; shares of the 19 calls short: 10/19 = 53%, 8/19 = 42%, 1/19 = 5%.
    let mode = r.headline_period;
    let hs = yardstick::report::hotspots::kpi_hotspots(&r.kpis[share], mode);
    let order: Vec<String> = hs.iter().map(|h| group(&r, share, h.row)).collect();
    assert_eq!(order, ["North", "South", "West"]);
    let contributions: Vec<f64> = hs.iter().map(|h| h.contribution).collect();
    for (got, want) in contributions.iter().zip([10.0, 8.0, 1.0]) {
        assert!(close(*got, want), "{contributions:?}");
    }
    assert!(close(hs[0].share, 10.0 / 19.0) && close(hs[2].share, 1.0 / 19.0));
    // wait against <= 10: North avg(11, 13) = 12 over 2 rows (gap 2 x 2 = 4), South 30 over
    // 1 row (gap 20 x 1 = 20): South first.
    let hs = yardstick::report::hotspots::kpi_hotspots(&r.kpis[wait], mode);
    assert_eq!(hs.iter().map(|h| group(&r, wait, h.row)).collect::<Vec<_>>(), ["South", "North"]);
    assert!(close(hs[0].contribution, 20.0) && close(hs[1].contribution, 4.0));
    // Across KPIs, severity = gap / threshold x the group's share of the KPI's rows:
    // wait South 20/10 x 1/3 = 0.667; wait North 2/10 x 2/3 = 0.133; fast North
    // 0.1/0.9 x 100/180 = 0.0617; fast South 0.4/0.9 x 20/180 = 0.0494; fast West
    // 0.1/0.9 x 10/180 = 0.0062.
    let top = yardstick::report::hotspots::top(&r);
    let got: Vec<(String, String)> = top.iter().map(|(k, h)| (r.kpis[*k].id.clone(), group(&r, *k, h.row))).collect();
    let want = [("wait", "South"), ("wait", "North"), ("fast_share", "North"), ("fast_share", "South"), ("fast_share", "West")];
    assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())).to_vec());
    assert!(close(top[0].1.severity, 20.0 / 10.0 / 3.0), "{}", top[0].1.severity);
    assert!(close(top[2].1.severity, 0.1 / 0.9 * 100.0 / 180.0), "{}", top[2].1.severity);
    // The report lists them in that order at the top, before the scorecard.
    let html = yardstick::report::render_html(&r).expect("renders");
    let section = between(&html, "<h2 id=\"hotspots\">", "</section>");
    let at = |text: &str| section.find(text).unwrap_or_else(|| panic!("{text} in {section}"));
    assert!(at("<b>South</b>") < at("<b>North</b>") && at("<b>North</b>") < at("<b>West</b>"));
    assert!(section.contains("10 pp below") && section.contains("20 above"), "{section}");
    assert!(html.find("id=\"hotspots\"") < html.find("id=\"scorecard\""));
}

fn between<'a>(html: &'a str, from: &str, to: &str) -> &'a str {
    let start = html.find(from).unwrap_or_else(|| panic!("no {from}"));
    let end = html[start..].find(to).map(|e| start + e + to.len()).unwrap_or(html.len());
    &html[start..end]
}

#[test]
fn scorecard_snapshot() {
    let dir = fixture();
    let r = evaluate(dir.path());
    let html = yardstick::report::render_html(&r).expect("renders");
    let scorecard = between(&html, "<section aria-labelledby=\"scorecard\">", "</section>\n\n</section>");
    // By hand: calls per month Jan 4, Feb 5, Mar 180 (>= 100: off, off, on); the change
    // from Feb is +175, better (higher is better). The goal rolls up 1 on track (calls) and
    // 2 off track (fast_share: North, South and West miss 90%; wait: North, South miss 10).
    assert!(scorecard.contains("<b>180</b>"), "{scorecard}");
    assert!(scorecard.contains("+175 (better)"), "{scorecard}");
    assert!(scorecard.contains("&gt;= 100") && scorecard.contains("&gt;= 90%") && scorecard.contains("&lt;= 10"));
    assert!(scorecard.contains("1 on track") && scorecard.contains("2 off track"), "{scorecard}");
    assert!(scorecard.contains("Mar 2025") && !scorecard.contains("2025-03-01"), "periods are named, not dated");
    insta::assert_snapshot!("glance_scorecard", scorecard);
}

#[test]
fn periods_are_named_for_people_and_fiscal_labels_are_configurable() {
    let yaml = "name: FY
calendar:
  fiscal_year_start: \"04-01\"
  fiscal_year_label: \"{start}-{end2}\"
sources:
  t:
    path: data/t.csv
    time: day
    complete_after: none
    columns:
      day: date
      n: integer
";
    let kpis = "goal g \"G\" {
  kpi per_fy \"Per fiscal year\" {
    from t
    measure sum(n)
    grain fiscal_year
  }
  kpi per_week \"Per week\" {
    from t
    measure sum(n)
    grain week
  }
}
";
    let dir = project(yaml, &[("m.kpi", kpis)]);
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    // 2024-05-02 is in FY 2024-25 (April 2024 - March 2025), 2025-06-03 in FY 2025-26.
    std::fs::write(dir.path().join("data/t.csv"), "day,n\n2024-05-02,1\n2025-06-03,2\n").expect("csv");
    let r = evaluate(dir.path());
    let html = yardstick::report::render_html(&r).expect("renders");
    let scorecard = between(&html, "<section aria-labelledby=\"scorecard\">", "</section>\n\n</section>");
    assert!(scorecard.contains("2025-26"), "{scorecard}");
    // The week of Tuesday 3 June 2025 starts on Monday 2 June.
    assert!(scorecard.contains("week of 2 Jun 2025"), "{scorecard}");
    // results.json keeps ISO dates.
    let fy = &r.kpis[0].rows;
    assert_eq!(fy.iter().map(|x| x.period.clone().unwrap_or_default()).collect::<Vec<_>>(), ["2024-04-01", "2025-04-01"]);
    // A label naming no year, or an unknown placeholder, is YS0002 at the key.
    let bad = project(&yaml.replace("{start}-{end2}", "FY {year}"), &[("m.kpi", kpis)]);
    let err = yardstick::compile(bad.path()).err().expect("refused").render(false);
    assert!(err.contains("YS0002") && err.contains("fiscal_year_label") && err.contains("{year}"), "{err}");
}

#[test]
fn the_example_shows_every_part() {
    let out = tempfile::tempdir().expect("tempdir");
    yardstick::build(&repo().join("examples/city"), Some(out.path())).map_err(|f| f.render(false)).expect("builds");
    let html = std::fs::read_to_string(out.path().join("index.html")).expect("html");
    assert!(html.contains("id=\"hotspots\""));
    assert!(html.contains("class=\"heat\"") && html.contains("district \\ category"), "heat table");
    assert!(html.contains("class=\"chart bars\"") && html.contains("multiples-grid"), "breakdown");
    assert!(html.contains("class=\"spark\""), "sparklines");
    assert!(html.contains("<title>") && html.contains("<desc>"), "charts have a name and description");
    // No month is written as its first day in the scorecard.
    let scorecard = between(&html, "<section aria-labelledby=\"scorecard\">", "</section>\n\n</section>");
    assert!(!scorecard.contains("-01<") && !scorecard.contains("-01 "), "{scorecard}");
    assert!(html.contains("FY 2024/25") || html.contains("Jun 2025"));
    assert!(!html.contains("<script"));
}
