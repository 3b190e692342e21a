//! The report's pages (kpi/, goal/, owner/, sources.html), their links, results.csv and the
//! sources' freshness, on the small fixture tests/fixtures/pages (values worked out by hand
//! below) and on the example.

use std::path::{Path, PathBuf};

use crate::common::*;

/// A relative link to another page of the report: `kpi/calls.html`, `../index.html#kpi-x`.
pub fn is_page_link(href: &str) -> bool {
    let path = href.split('#').next().unwrap_or_default();
    path.ends_with(".html") && !path.contains(':') && !path.starts_with('/') && !path.contains("//")
}

/// The HTML files under a report directory, relative to it, sorted.
pub fn html_files(dir: &Path) -> Vec<String> {
    let mut out = vec![];
    let mut pending = vec![PathBuf::new()];
    while let Some(sub) = pending.pop() {
        for entry in std::fs::read_dir(dir.join(&sub)).expect("read dir") {
            let entry = entry.expect("entry");
            let rel = sub.join(entry.file_name());
            if entry.file_type().expect("type").is_dir() {
                pending.push(rel);
            } else if rel.extension().is_some_and(|e| e == "html") {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// Build the fixture outside git (no commit in the footer), with `args` added.
fn build_fixture(args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("pages");
    copy_dir(&fixture("pages"), &project);
    let out = dir.path().join("out");
    let o = std::process::Command::new(yardstick_bin())
        .arg("build")
        .arg(&project)
        .arg("--out")
        .arg(&out)
        .args(args)
        .output()
        .expect("run yardstick");
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    (dir, out)
}

fn read(out: &Path, page: &str) -> String {
    std::fs::read_to_string(out.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"))
}

/// The page without its inline style sheet (the same on every page, and not what the
/// snapshots are about).
fn without_style(html: &str) -> String {
    match (html.find("<style>"), html.find("</style>")) {
        (Some(a), Some(b)) => format!("{}<style>…</style>{}", &html[..a], &html[b + "</style>".len()..]),
        _ => html.to_string(),
    }
}

/// Every `href="…"` of a page.
fn hrefs(html: &str) -> Vec<String> {
    html.split(" href=\"").skip(1).map(|p| p[..p.find('"').expect("closed")].to_string()).collect()
}

#[test]
fn pages_are_written_per_kpi_goal_and_owner_with_safe_names() {
    let (_dir, out) = build_fixture(&[]);
    assert_eq!(
        html_files(&out),
        [
            "goal/service.html",
            "index.html",
            "kpi/answered.html",
            "kpi/answered_by_district.html",
            "owner/Ana-Mar-a-L-pez.html",
            "owner/Duty-Manager.html",
            "sources.html",
        ]
    );
    // `--single-file`: today's one file, beside results.json and results.csv.
    let (_dir, single) = build_fixture(&["--single-file"]);
    assert_eq!(html_files(&single), ["index.html"]);
    assert!(single.join("results.csv").is_file() && single.join("results.json").is_file());
    let html = read(&single, "index.html");
    assert!(hrefs(&html).iter().all(|h| h.starts_with('#')), "the one file links only inside itself");
    assert!(!html.contains("<nav"), "no navigation between pages");
}

#[test]
fn every_link_of_every_page_resolves_and_kpi_pages_link_both_ways() {
    for (_dir, out) in [build_fixture(&[]), {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let o = std::process::Command::new(yardstick_bin())
            .arg("build")
            .arg(repo().join("examples/city"))
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run");
        assert!(o.status.success());
        (dir, out)
    }] {
        for page in html_files(&out) {
            let html = read(&out, &page);
            assert!(!html.contains("<script"), "{page}: no script");
            let base = Path::new(&page).parent().unwrap_or(Path::new("")).to_path_buf();
            for href in hrefs(&html) {
                assert!(href.starts_with('#') || is_page_link(&href), "{page}: {href}");
                let (file, fragment) = href.split_once('#').map(|(f, x)| (f, Some(x))).unwrap_or((&href, None));
                let target = if file.is_empty() { page.clone() } else { normalise(&base.join(file)) };
                let text = read(&out, &target);
                if let Some(id) = fragment {
                    assert!(text.contains(&format!(" id=\"{id}\"")), "{page}: {href}: no id {id} in {target}");
                }
            }
        }
        // Both ways: the overview's card links to the KPI's page, which links back to the card.
        let index = read(&out, "index.html");
        let kpi_pages: Vec<String> = html_files(&out).into_iter().filter(|p| p.starts_with("kpi/")).collect();
        assert!(!kpi_pages.is_empty());
        for p in &kpi_pages {
            assert!(index.contains(&format!("href=\"{p}\"")), "index links to {p}");
            let id = p.trim_start_matches("kpi/").trim_end_matches(".html");
            assert!(read(&out, p).contains(&format!("href=\"../index.html#kpi-{id}\"")), "{p} links back");
        }
    }
}

/// `kpi/../index.html` -> `index.html`.
fn normalise(path: &Path) -> String {
    let mut parts: Vec<String> = vec![];
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                parts.pop().expect("link leaves the report");
            }
            std::path::Component::Normal(n) => parts.push(n.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

#[test]
fn owner_pages_say_what_changed_since_the_previous_period() {
    let (_dir, out) = build_fixture(&[]);
    // Calls answered: February 6 + 7 + 1 = 14, March 9 + 2 = 11: -3, on track (>= 10) both
    // times; a fall of a KPI that should rise is worse.
    let ana = read(&out, "owner/Ana-Mar-a-L-pez.html");
    assert!(ana.contains("<h1>Ana María López</h1>"));
    assert!(ana.contains(
        "<td>March 2024</td><td class=\"num\">11</td><td><span class=\"badge on_track\">On track</span></td><td>February 2024</td><td class=\"num\">14</td><td>On track</td><td class=\"num\"><b class=\"worse\">-3</b></td>"
    ), "{ana}");
    assert!(ana.contains("of the goal <a href=\"../goal/service.html\">Good service</a>"));
    // By district (>= 5): February North 6 + 1 = 7 and South 7, both on track; March North 2
    // (off track), South 9 (on track): North changed.
    let duty = read(&out, "owner/Duty-Manager.html");
    assert!(duty.contains("<td class=\"num\">1 of 2 groups on track</td>"), "{duty}");
    assert!(duty.contains("<td class=\"num\">2 of 2 groups on track</td>"), "{duty}");
    assert!(duty.contains("<li>North: On track → Off track</li>"), "{duty}");
    assert!(!duty.contains("<li>South"), "South stayed on track");
}

#[test]
fn the_sources_page_shows_freshness_per_source_and_file_and_who_reads_it() {
    let (_dir, out) = build_fixture(&[]);
    let page = read(&out, "sources.html");
    // The latest `day` of each file, and of the source: the fixture's data by hand.
    assert!(page.contains("<li><b>2024-03-31</b>latest day</li>"), "{page}");
    for row in [
        "<tr><td>data/calls-2024-01.csv</td><td class=\"num\">2</td><td>2024-01-20</td></tr>",
        "<tr><td>data/calls-2024-02.csv</td><td class=\"num\">3</td><td>2024-02-27</td></tr>",
        "<tr><td>data/calls-2024-03.csv</td><td class=\"num\">2</td><td>2024-03-31</td></tr>",
    ] {
        assert!(page.contains(row), "{row}");
    }
    assert!(page.contains(
        "Read by: <a href=\"kpi/answered.html\">Calls answered</a>, <a href=\"kpi/answered_by_district.html\">Calls answered by district</a>."
    ));
    let results = results_json(&out);
    let calls = &results["sources"]["calls"];
    assert_eq!(calls["latest"]["day"], "2024-03-31");
    assert_eq!(calls["by_file"][1], serde_json::json!({"file": "data/calls-2024-02.csv", "rows_read": 3, "latest": {"day": "2024-02-27"}}));
}

#[test]
fn results_csv_is_long_format_rfc_4180() {
    let (_dir, out) = build_fixture(&[]);
    // By hand from the fixture's data: monthly sums, overall (target >= 10) and per district
    // (>= 5). Groups are a JSON object, so its quotes are doubled inside a quoted field.
    let expected = "kpi,period,groups,value,unit,target,status,provisional\r
answered,2024-01-01,,7,number,10,off_track,false\r
answered,2024-02-01,,14,number,10,on_track,false\r
answered,2024-03-01,,11,number,10,on_track,false\r
answered_by_district,2024-01-01,\"{\"\"district\"\":\"\"North\"\"}\",4,number,5,off_track,false\r
answered_by_district,2024-01-01,\"{\"\"district\"\":\"\"South\"\"}\",3,number,5,off_track,false\r
answered_by_district,2024-02-01,\"{\"\"district\"\":\"\"North\"\"}\",7,number,5,on_track,false\r
answered_by_district,2024-02-01,\"{\"\"district\"\":\"\"South\"\"}\",7,number,5,on_track,false\r
answered_by_district,2024-03-01,\"{\"\"district\"\":\"\"North\"\"}\",2,number,5,off_track,false\r
answered_by_district,2024-03-01,\"{\"\"district\"\":\"\"South\"\"}\",9,number,5,on_track,false\r
";
    assert_eq!(read(&out, "results.csv"), expected);
}

#[test]
fn rebuilds_are_byte_identical_on_every_page() {
    let (_a, one) = build_fixture(&[]);
    let (_b, two) = build_fixture(&[]);
    let files = html_files(&one);
    assert_eq!(files, html_files(&two));
    for f in files.iter().map(String::as_str).chain(["results.csv", "results.json", ".yardstick-manifest"]) {
        assert!(std::fs::read(one.join(f)).expect("one") == std::fs::read(two.join(f)).expect("two"), "{f} differs");
    }
}

#[test]
fn snapshots_of_the_fixture_pages() {
    let (_dir, out) = build_fixture(&[]);
    for page in ["sources.html", "owner/Duty-Manager.html", "goal/service.html", "kpi/answered.html", "index.html"] {
        let name = page.replace(['/', '.'], "_");
        insta::assert_snapshot!(format!("pages_{name}"), without_style(&read(&out, page)));
    }
    insta::assert_snapshot!("pages_manifest", read(&out, ".yardstick-manifest"));
}

#[test]
fn hostile_names_are_escaped_on_every_page_and_quoted_in_results_csv() {
    let yaml = "name: \"<script>alert('name')</script>\"
sources:
  t:
    path: data/t.csv
    time: day
    columns:
      day: date
      team: string
      n: integer
";
    let kpi_text = "goal g \"Goal <script>alert(1)</script> & \\\"q\\\"\" {
  owner 'O\"Brien <b onmouseover=alert(2)> & Söhne ✓'
  kpi k \"<svg onload=alert(4)> & 'x'\" {
    from t
    measure sum(n)
    by team
    grain month
  }
  kpi con \"Reserved file name\" {
    owner \"../../etc/passwd\"
    from t
    measure count()
    grain month
  }
}
";
    let csv = "day,team,n
2024-01-01,<script>alert(8)</script>,1
2024-01-02,\"a,\"\"b\"\"\r\nc & ü\",2
2024-02-01,=HYPERLINK(\"x\"),3
";
    let dir = project(yaml, &[("metrics.kpi", kpi_text), ("data/t.csv", csv)]);
    let out = dir.path().join("out");
    let o = std::process::Command::new(yardstick_bin()).arg("build").arg(dir.path()).arg("--out").arg(&out).output().expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pages = html_files(&out);
    // The owners' names are made safe file names; `con` is a reserved name on Windows.
    assert!(pages.contains(&"kpi/con_.html".to_string()), "{pages:?}");
    assert!(pages.contains(&"owner/etc-passwd.html".to_string()), "{pages:?}");
    assert!(pages.contains(&"owner/O-Brien-b-onmouseover-alert-2-S-hne.html".to_string()), "{pages:?}");
    for page in &pages {
        let html = read(&out, page);
        assert!(!html.contains("<script"), "{page}: raw <script");
        assert!(!html.contains("<svg onload") && !html.contains("<b onmouseover"), "{page}: raw markup");
    }
    let owner = read(&out, "owner/O-Brien-b-onmouseover-alert-2-S-hne.html");
    assert!(owner.contains("<h1>O&quot;Brien &lt;b onmouseover=alert(2)&gt; &amp; Söhne ✓</h1>"), "{owner}");
    let kpi = read(&out, "kpi/k.html");
    assert!(kpi.contains("&lt;script&gt;alert(8)&lt;/script&gt;"));
    assert!(kpi.contains("<title>&lt;svg onload=alert(4)&gt; &amp; &#39;x&#39; · &lt;script&gt;"), "{}", &kpi[..600]);
    // results.csv: each field as RFC 4180 quotes it; the group value keeps its comma,
    // quotes, line break and `&` (JSON-escaped inside the JSON object).
    let text = read(&out, "results.csv");
    let rows = parse_csv(&text);
    assert_eq!(rows[0], ["kpi", "period", "groups", "value", "unit", "target", "status", "provisional"]);
    let groups: Vec<serde_json::Value> =
        rows.iter().skip(1).filter(|r| r[0] == "k").map(|r| serde_json::from_str(&r[2]).expect("groups are JSON")).collect();
    let teams: Vec<&str> = groups.iter().map(|g| g["team"].as_str().expect("team")).collect();
    assert!(teams.contains(&"<script>alert(8)</script>"), "{teams:?}");
    assert!(teams.contains(&"a,\"b\"\r\nc & ü"), "{teams:?}");
    // A spreadsheet formula in the data never starts a field: groups are JSON objects.
    assert!(rows.iter().all(|r| r.iter().all(|f| !f.starts_with('='))), "{rows:?}");
}

/// RFC 4180, independently of yardstick's writer: quoted fields with doubled quotes, CRLF
/// between records.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = vec![];
    let mut row = vec![];
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CRLF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => {
                assert!(c != '\n' && c != '"', "a bare {c:?} outside quotes");
                field.push(c);
            }
        }
    }
    assert!(field.is_empty() && row.is_empty(), "the last record ends with CRLF");
    rows
}

/// A Parquet text column can hold an empty text beside nulls: two groups, shown apart
/// (`(empty)` and `(none)`), never merged under one blank label.
#[test]
fn an_empty_text_group_and_a_missing_group_are_shown_apart() {
    let dir = crate::common::project(
        "name: T\nprivacy:\n  min_count: 0\nsources:\n  s:\n    path: s.parquet\n    columns:\n      agency: string\n      amount: float\n",
        &[("k.kpi", r#"goal g "G" { kpi spend "Spend" { from s measure sum(amount) by agency } }"#)],
    );
    crate::common::write_parquet(
        &dir.path().join("s.parquet"),
        "('Fire', 1.0), ('', 2.0), ('', 3.0), (CAST(NULL AS VARCHAR), 7.0)",
        "agency, amount",
    );
    let out = tempfile::tempdir().expect("out");
    yardstick::build(dir.path(), Some(out.path())).map_err(|f| f.render(false)).expect("builds");
    let page = std::fs::read_to_string(out.path().join("kpi/spend.html")).expect("page");
    // By hand: Fire 1, "" 2 + 3 = 5, null 7.
    assert!(page.contains("<td>(empty)</td><td class=\"num\">5"), "{page}");
    assert!(page.contains("<td>(none)</td><td class=\"num\">7"), "{page}");
}
