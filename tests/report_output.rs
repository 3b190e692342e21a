//! The report as files and as a page: chart text inside the drawing, the output directory
//! replaced as a whole (kills at every step, symbolic links, foreign directories), the
//! Content-Security-Policy, and escaping of hostile text.

use std::collections::BTreeMap;
use std::path::Path;

use yardstick::report::output::{Step, WriteOptions, write_report_with};
use yardstick::report::svg::{ASCENT, DESCENT, FONT_SIZE, text_width};

use crate::common::*;

fn build_ok(project: &Path, out: &Path) {
    yardstick::build(project, Some(out)).map_err(|f| f.render(false)).expect("builds");
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

/// The value of attribute `name` in a tag's text (`x="12.0"`).
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    Some(&tag[start..start + tag[start..].find('"')?])
}

/// A text of a chart: x, baseline y, text-anchor, content.
type Text = (f64, f64, String, String);

/// Every `<svg>` of the page: its viewBox size and its texts.
fn charts(html: &str) -> Vec<((f64, f64), Vec<Text>)> {
    let mut out = vec![];
    for svg in html.split("<svg ").skip(1) {
        let svg = &svg[..svg.find("</svg>").expect("closed svg")];
        let view: Vec<f64> = attr(svg, "viewBox").expect("viewBox").split(' ').map(|n| n.parse().expect("number")).collect();
        assert_eq!(view[..2], [0.0, 0.0]);
        let mut texts = vec![];
        for t in svg.split("<text").skip(1) {
            let (tag, rest) = t.split_once('>').expect("tag");
            let content = &rest[..rest.find("</text>").expect("closed text")];
            assert!(!content.contains('<'), "text without markup inside: {content}");
            let num = |n: &str| attr(tag, n).unwrap_or_else(|| panic!("{n} in {tag}")).parse::<f64>().expect("number");
            texts.push((num("x"), num("y"), attr(tag, "text-anchor").unwrap_or("start").to_string(), unescape(content)));
        }
        out.push(((view[2], view[3]), texts));
    }
    out
}

/// Every text's estimated extent (the report's own width table, conservative) lies inside its
/// drawing, with a pixel to spare; returns how many texts were checked.
fn check_chart_text(html: &str) -> usize {
    let css = format!(".chart .axis {{ font-size: {FONT_SIZE}px;");
    assert!(html.contains(&css), "the layout's font size is the page's: {css}");
    let mut checked = 0;
    for ((w, h), texts) in charts(html) {
        for (x, y, anchor, content) in texts {
            let width = text_width(&content, FONT_SIZE);
            let (x0, x1) = match anchor.as_str() {
                "end" => (x - width, x),
                "middle" => (x - width / 2.0, x + width / 2.0),
                _ => (x, x + width),
            };
            let (y0, y1) = (y - ASCENT * FONT_SIZE, y + DESCENT * FONT_SIZE);
            assert!(x0 >= 1.0 && x1 <= w - 1.0, "{content:?} spans x {x0:.1}..{x1:.1}, outside 0..{w}");
            assert!(y0 >= 0.0 && y1 <= h, "{content:?} spans y {y0:.1}..{y1:.1}, outside 0..{h}");
            checked += 1;
        }
    }
    checked
}

#[test]
fn chart_text_fits_in_the_example() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&repo().join("examples/city"), dir.path());
    build_ok(dir.path(), &dir.path().join("out"));
    let html = std::fs::read_to_string(dir.path().join("out/index.html")).expect("html");
    // Charts by kind, against what results.json says should be drawn: an XmR chart per SPC
    // group (at most 8 per KPI), a bar chart and small multiples (at most 12 groups) per KPI
    // with `by`; sparklines and icons are many and small, and counted in the total only.
    let results = results_json(&dir.path().join("out"));
    let kpis = results["kpis"].as_array().expect("kpis");
    let groups = |k: &serde_json::Value| -> usize {
        let by: Vec<&str> = k["by"].as_array().expect("by").iter().filter_map(|b| b.as_str()).collect();
        let labels: std::collections::BTreeSet<String> = k["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| by.iter().map(|b| r[*b].to_string()).collect::<Vec<_>>().join("/"))
            .collect();
        labels.len()
    };
    let with_by: Vec<&serde_json::Value> = kpis.iter().filter(|k| !k["by"].as_array().expect("by").is_empty()).collect();
    let xmr: usize = kpis.iter().filter_map(|k| k["spc"]["groups"].as_array()).map(|g| g.len().min(8)).sum();
    let count = |class: &str| html.matches(&format!("<svg class=\"{class}\"")).count();
    assert_eq!(count("chart xmr"), xmr);
    assert_eq!(count("chart bars"), with_by.len());
    assert_eq!(count("chart multiple"), with_by.iter().map(|k| groups(k).min(12)).sum::<usize>());
    assert!(count("spark") > 10 && count("badge-icon") > 40);
    assert_eq!(
        charts(&html).len(),
        ["chart xmr", "chart bars", "chart multiple", "spark", "badge-icon"].iter().map(|c| count(c)).sum::<usize>()
    );
    assert!(check_chart_text(&html) > 28 * 5);
    // The widest axis labels (round ticks) are whole.
    for label in [">1,500 USD<", ">80,000 USD<", ">17.5 business days<"] {
        assert!(html.contains(label), "{label}");
    }
}

const EXTREMES_YAML: &str = "name: Extremes
sources:
  v:
    path: data/v.csv
    time: day
    columns:
      day: date
      big: float
      neg: float
      tiny: float
      wide: float
      huge: float
";

/// A unit in one word too long for a line of the chart.
fn long_word() -> String {
    "Supercalifragilisticexpialidociousmegalitresofwaterperhouseholdandyear".repeat(2)
}

fn extremes_kpi() -> String {
    r#"goal extremes "Huge, negative and tiny values" {
  kpi big "Huge" {
    from v
    measure sum(big)
    grain month
    unit "USD"
    target <= 1000000000000 USD tolerance 50000000000 USD
  }
  kpi neg "Negative" {
    from v
    measure sum(neg)
    grain month
    unit USD
  }
  kpi tiny "Tiny" {
    from v
    measure avg(tiny)
    grain month
    unit USD
    target >= 0.0001 USD
  }
  kpi wide "From minus a billion to a trillion" {
    from v
    measure sum(wide)
    grain month
    unit USD
  }
  kpi huge "Past the integers" {
    from v
    measure sum(huge)
    grain month
    unit USD
  }
  kpi long_unit "A long unit" {
    from v
    measure sum(big)
    grain month
    unit "cubic metres of treated drinking water delivered to households"
  }
  kpi long_word "A long unit in one word" {
    from v
    measure sum(tiny)
    grain month
    unit "WORD"
    target >= 0.0001 WORD
  }
}
"#
    .replace("WORD", &long_word())
}

const EXTREMES_CSV: &str = "day,big,neg,tiny,wide,huge
2024-01-10,999999999999.5,-1000000000,0.000123,-1000000000,1e20
2024-02-10,1000000000000,-999999999,0.000124,1000000000000,1.5e20
2024-03-10,1000000000000.25,-1000000001,0.000122,500000000000,-3e21
";

#[test]
fn chart_text_fits_with_extreme_values_and_long_units() {
    let kpis = extremes_kpi();
    let dir = project(EXTREMES_YAML, &[("metrics.kpi", &kpis), ("data/v.csv", EXTREMES_CSV)]);
    let out = dir.path().join("out");
    build_ok(dir.path(), &out);
    let html = std::fs::read_to_string(out.join("index.html")).expect("html");
    // 7 XmR charts (each KPI has a grain and no `by`) and their icons: 7 variation icons and
    // 2 assurance icons (`tiny` and `long_word`: `big`'s two complete months are equal at
    // 12 significant digits, so it has no limits), on the scorecard and on the cards; and 7
    // sparklines on the scorecard.
    assert_eq!(charts(&html).len(), 7 + 7 + 2 * (7 + 2));
    check_chart_text(&html);
    for shown in [
        "1,000,000,000,000 USD",
        "-1,000,000,001 USD",
        "0.00012 USD",
        // Sums past 1e15 in scientific notation, not a saturated integer.
        "-3e21 USD",
        "1.5e20 USD",
    ] {
        assert!(html.contains(shown), "report shows {shown}");
    }
    assert!(!html.contains("9,223,372,036,854,775,807"), "no saturated integer");
    // Numbers are never shortened: an ellipsis only in a unit caption.
    for (_, texts) in charts(&html) {
        for (_, _, _, content) in texts {
            if content.contains('…') {
                assert!(!content.chars().any(|c| c.is_ascii_digit()), "only a title is shortened: {content:?}");
            }
        }
    }
    // The long unit is written once above the axis, the labels are numbers.
    let long = charts(&html).into_iter().find(|(_, t)| t.iter().any(|(_, _, _, c)| c.starts_with("cubic metres"))).expect("caption");
    assert!(long.1.iter().any(|(_, _, a, c)| a == "end" && c == "1,000,000,000,000"), "{:?}", long.1);
    // The target label of the one-word unit is wrapped inside the plot (at its left end),
    // the word broken across lines, nothing left out.
    let (_, texts) = charts(&html).into_iter().find(|(_, t)| t.iter().any(|(_, _, _, c)| c == "target >= 0.0001")).expect("wrapped");
    let first = texts.iter().position(|(_, _, _, c)| c == "target >= 0.0001").expect("first line");
    let lines: Vec<&str> =
        texts[first..].iter().filter(|(x, _, _, c)| *x == texts[first].0 && !c.starts_with("2024-")).map(|t| t.3.as_str()).collect();
    assert!(lines.len() >= 3, "{lines:?}");
    assert_eq!(lines.concat(), format!("target >= 0.0001{}", long_word()));
}

// ---------------------------------------------------------------- output directory

/// Every entry of a directory (not following links): name -> bytes, or a marker for
/// anything that is not a regular file.
/// Every file under `dir` (`kpi/calls.html`), with its bytes; subdirectories entered.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, prefix)) = pending.pop() {
        for entry in std::fs::read_dir(&path).expect("read dir") {
            let entry = entry.expect("entry");
            let ty = entry.file_type().expect("type");
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if ty.is_dir() {
                pending.push((entry.path(), format!("{name}/")));
                continue;
            }
            let bytes = if ty.is_file() { std::fs::read(entry.path()).expect("read") } else { b"<not a file>".to_vec() };
            out.insert(name, bytes);
        }
    }
    out
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).expect("read dir").map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// Two different results of the example: as of mid-2024, and with all the data.
fn old_and_new() -> (yardstick::results::Results, yardstick::results::Results) {
    let city = repo().join("examples/city");
    let as_of = chrono::NaiveDate::from_ymd_opt(2024, 6, 30).expect("date");
    let (_, old) = yardstick::evaluate_with(&city, yardstick::Options { as_of: Some(as_of), ..Default::default() })
        .map_err(|f| f.render(false))
        .expect("old");
    let (_, new) = yardstick::evaluate(&city).map_err(|f| f.render(false)).expect("new");
    (old, new)
}

#[test]
fn a_kill_at_any_step_leaves_the_old_report_or_the_new_one() {
    let (old, new) = old_and_new();
    let reference = tempfile::tempdir().expect("tempdir");
    write_report_with(&old, &reference.path().join("old"), WriteOptions::default()).expect("old");
    write_report_with(&new, &reference.path().join("new"), WriteOptions::default()).expect("new");
    let old_files = snapshot(&reference.path().join("old"));
    let new_files = snapshot(&reference.path().join("new"));
    assert_ne!(old_files, new_files);
    for name in
        [".yardstick-manifest", "index.html", "results.json", "results.csv", "sources.html", "kpi/answered_10s.html", "goal/safe_city.html"]
    {
        assert!(old_files.contains_key(name), "{name} in {:?}", old_files.keys());
    }

    for exchange in [true, false] {
        for step in Step::ALL {
            for first_build in [false, true] {
                let case = format!("exchange {exchange}, killed at {step:?}, first build {first_build}");
                let parent = tempfile::tempdir().expect("tempdir");
                let out = parent.path().join("out");
                if !first_build {
                    write_report_with(&old, &out, WriteOptions::default()).expect("old report");
                }
                let killed = write_report_with(&new, &out, WriteOptions { fail_at: Some(step), exchange, ..WriteOptions::default() });
                // Only the two-rename swap of an existing report has a moment between the renames.
                let occurs = step != Step::OldMovedAside || (!exchange && !first_build);
                assert_eq!(killed.is_err(), occurs, "{case}: {killed:?}");
                if !occurs || step == Step::Swapped {
                    assert!(snapshot(&out) == new_files, "{case}: the output holds the new report");
                } else if step == Step::OldMovedAside {
                    // For a moment there is no output directory, and both reports are complete
                    // beside it.
                    assert!(!out.exists(), "{case}");
                    let beside: Vec<_> = names(parent.path()).into_iter().map(|n| snapshot(&parent.path().join(n))).collect();
                    assert!(beside.len() == 2 && beside.contains(&old_files) && beside.contains(&new_files), "{case}");
                } else if first_build {
                    assert!(!out.exists(), "{case}: no report yet");
                } else {
                    assert!(snapshot(&out) == old_files, "{case}: the output holds the old report");
                }
                // The next build succeeds and removes what the killed one left beside.
                write_report_with(&new, &out, WriteOptions { fail_at: None, exchange, ..WriteOptions::default() }).expect("next build");
                assert!(snapshot(&out) == new_files, "{case}: next build");
                assert_eq!(names(parent.path()), ["out"], "{case}: no leftovers");
            }
        }
    }
}

#[test]
fn rebuilds_keep_a_manifest_and_an_empty_directory_is_used() {
    let (_, new) = old_and_new();
    let out = tempfile::tempdir().expect("tempdir");
    let written = yardstick::report::write_report(&new, out.path(), false).expect("writes into an empty directory");
    assert_eq!(
        written[..4],
        [out.path().join("results.json"), out.path().join("results.csv"), out.path().join("index.html"), out.path().join("sources.html")]
    );
    let manifest = std::fs::read_to_string(out.path().join(yardstick::report::MANIFEST)).expect("manifest");
    let listed: Vec<&str> = manifest.lines().filter(|l| !l.starts_with('#')).collect();
    // Every file written is listed, and nothing else is there.
    assert_eq!(listed.iter().map(|l| out.path().join(l)).collect::<Vec<_>>(), written);
    let mut on_disk: Vec<String> = snapshot(out.path()).into_keys().filter(|n| n != ".yardstick-manifest").collect();
    let mut sorted: Vec<String> = listed.iter().map(|l| l.to_string()).collect();
    on_disk.sort();
    sorted.sort();
    assert_eq!(on_disk, sorted);
    yardstick::report::write_report(&new, out.path(), false).expect("rebuild");
    assert_eq!(
        names(out.path()),
        [".yardstick-manifest", "goal", "index.html", "kpi", "owner", "results.csv", "results.json", "sources.html"]
    );
    // One file: the pages of the build before go.
    yardstick::report::write_report(&new, out.path(), true).expect("single file");
    assert_eq!(names(out.path()), [".yardstick-manifest", "index.html", "results.csv", "results.json"]);
    // While another build holds the report's manifest, a second one stops and changes nothing.
    let before = snapshot(out.path());
    let held = std::fs::File::open(out.path().join(yardstick::report::MANIFEST)).expect("manifest");
    held.lock().expect("lock");
    assert!(refused(&new, out.path()).contains("another yardstick build is writing"));
    assert!(snapshot(out.path()) == before);
    drop(held);
    yardstick::report::write_report(&new, out.path(), false).expect("after the other build");
}

#[test]
fn the_pages_of_a_kpi_that_went_are_removed_and_a_foreign_file_among_the_pages_is_refused() {
    let (_, new) = old_and_new();
    let out = tempfile::tempdir().expect("tempdir");
    yardstick::report::write_report(&new, out.path(), false).expect("report");
    assert!(out.path().join("kpi/answered_10s.html").is_file());
    let mut fewer = new.clone();
    fewer.kpis.retain(|k| k.id != "answered_10s");
    yardstick::report::write_report(&fewer, out.path(), false).expect("rebuild");
    assert!(!out.path().join("kpi/answered_10s.html").exists(), "the page of the KPI that went is gone");
    assert!(out.path().join("kpi/calls_per_month.html").is_file());
    // A file yardstick did not write, among the pages: the directory is not replaced.
    std::fs::write(out.path().join("kpi/mine.html"), "mine").expect("write");
    let before = snapshot(out.path());
    let message = refused(&new, out.path());
    assert!(message.contains("`kpi/mine.html`"), "{message}");
    assert!(snapshot(out.path()) == before);
    // A subdirectory of its own among the pages is refused too.
    std::fs::remove_file(out.path().join("kpi/mine.html")).expect("rm");
    std::fs::create_dir(out.path().join("kpi/drafts")).expect("mkdir");
    assert!(refused(&new, out.path()).contains("`kpi/drafts` (a directory)"));
}

fn refused(results: &yardstick::results::Results, out: &Path) -> String {
    let d = yardstick::report::write_report(results, out, false).expect_err("refused");
    assert_eq!(d.code, "YS0500");
    format!("{}\n{}", d.message, d.help.unwrap_or_default())
}

#[test]
fn a_directory_yardstick_did_not_write_is_refused() {
    let (_, new) = old_and_new();
    let parent = tempfile::tempdir().expect("tempdir");
    let out = parent.path().join("site");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::write(out.join("index.html"), "my own home page").expect("write");
    std::fs::write(out.join("notes.txt"), "mine").expect("write");
    let before = snapshot(&out);
    let message = refused(&new, &out);
    assert!(message.contains("no .yardstick-manifest") && message.contains("`notes.txt`"), "{message}");
    assert!(message.contains("--out"), "{message}");
    assert!(snapshot(&out) == before, "left alone");
    assert_eq!(names(parent.path()), ["site"], "nothing written beside it");

    // A report of yardstick's with a file added to it: that file is not yardstick's to delete.
    let report = parent.path().join("report");
    yardstick::report::write_report(&new, &report, false).expect("report");
    std::fs::write(report.join("CNAME"), "metrics.example.org").expect("write");
    let before = snapshot(&report);
    let message = refused(&new, &report);
    assert!(message.contains("did not write: `CNAME`"), "{message}");
    assert!(snapshot(&report) == before);

    // A file where the directory should be.
    let file = parent.path().join("file");
    std::fs::write(&file, "x").expect("write");
    assert!(refused(&new, &file).contains("not a directory"));
    assert_eq!(std::fs::read(&file).expect("file"), b"x");
}

#[cfg(unix)]
#[test]
fn symbolic_links_in_the_output_are_never_followed() {
    use std::os::unix::fs::symlink;
    let (old, new) = old_and_new();
    let parent = tempfile::tempdir().expect("tempdir");
    let victim = parent.path().join("victim.txt");
    std::fs::write(&victim, "precious").expect("write");
    let out = parent.path().join("out");

    // The old writer's temporary name, planted as a link: not followed, not replaced.
    yardstick::report::write_report(&old, &out, false).expect("old report");
    symlink(&victim, out.join("index.html.tmp")).expect("symlink");
    let before = snapshot(&out);
    let message = refused(&new, &out);
    assert!(message.contains("`index.html.tmp` (a symbolic link)"), "{message}");
    assert!(snapshot(&out) == before);
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "precious");

    // A link in place of a file yardstick wrote: yardstick did not write a link.
    std::fs::remove_file(out.join("index.html.tmp")).expect("rm");
    std::fs::remove_file(out.join("index.html")).expect("rm");
    symlink(&victim, out.join("index.html")).expect("symlink");
    assert!(refused(&new, &out).contains("`index.html` (a symbolic link)"));
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "precious");

    // The output directory itself a link: refused, the directory it points to untouched.
    let real = parent.path().join("real");
    yardstick::report::write_report(&old, &real, false).expect("report");
    let before = snapshot(&real);
    let link = parent.path().join("link");
    symlink(&real, &link).expect("symlink");
    assert!(refused(&new, &link).contains("symbolic link"));
    assert!(snapshot(&real) == before);
    assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink());

    // A link where a staging directory would go is not used: the staging name is new.
    std::fs::remove_file(out.join("index.html")).expect("rm");
    let fresh = parent.path().join("fresh");
    // Staging names count up over the whole process (tests run in parallel): plant plenty.
    for n in 0..1000 {
        symlink(&victim, parent.path().join(format!(".fresh.yardstick-new-{}-{n}", std::process::id()))).expect("symlink");
    }
    yardstick::report::write_report(&new, &fresh, false).expect("writes");
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "precious");
    assert!(std::fs::read_to_string(fresh.join("index.html")).expect("html").starts_with("<!doctype html>"));
}

// ---------------------------------------------------------------- the page

#[test]
fn the_page_has_a_content_security_policy_and_loads_nothing() {
    let out = tempfile::tempdir().expect("tempdir");
    build_ok(&repo().join("examples/city"), out.path());
    let html = std::fs::read_to_string(out.path().join("index.html")).expect("html");
    let head = &html[..html.find("</head>").expect("head")];
    let csp = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:;";
    assert!(head.contains(csp), "CSP in the head");
    assert!(head.find(csp) < head.find("<style"), "before the styles");
    assert!(!html.to_lowercase().contains("<script"), "no scripts");
    let mut links = 0;
    for key in [" src=\"", " href=\"", " srcset=\"", " action=\""] {
        for part in html.split(key).skip(1) {
            let value = &part[..part.find('"').expect("closed")];
            // Inside the page, or to another page of the report (tests/report_pages.rs checks
            // that every such link resolves).
            assert!(value.starts_with('#') || crate::report_pages::is_page_link(value), "{key}{value}: only links inside the report");
            links += 1;
        }
    }
    assert!(links > 17, "the scorecard links to the cards");
    assert!(!html.contains("https://"), "no network resources");
    for (i, _) in html.match_indices("http://") {
        assert!(html[..i].ends_with("xmlns=\""), "http:// only as the SVG namespace");
    }
}

/// The attribute names of the tag that `tag` starts (after its `<`): values are quoted, and
/// quotes inside them are escaped.
fn attribute_names(tag: &str) -> Vec<String> {
    let mut names = vec![];
    let mut rest = tag.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '!' || c == '/');
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with('>') || rest.starts_with("/>") {
            return names;
        }
        let end = rest.find(|c: char| c == '=' || c == '>' || c.is_whitespace()).unwrap_or(rest.len());
        names.push(rest[..end].to_string());
        rest = &rest[end..];
        if let Some(value) = rest.strip_prefix("=\"") {
            rest = &value[value.find('"').map_or(value.len(), |q| q + 1)..];
        } else if let Some(value) = rest.strip_prefix('=') {
            rest = &value[value.find(|c: char| c == '>' || c.is_whitespace()).unwrap_or(value.len())..];
        }
    }
}

/// The elements the template and the charts write; anything else would be injected.
const ELEMENTS: &[&str] = &[
    "!doctype",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "header",
    "h1",
    "h2",
    "h3",
    "h4",
    "p",
    "ul",
    "li",
    "b",
    "section",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
    "small",
    "span",
    "code",
    "article",
    "details",
    "summary",
    "pre",
    "svg",
    "line",
    "text",
    "path",
    "i",
    "footer",
    "br",
    "circle",
    "ol",
    "desc",
    "rect",
    "h5",
    "caption",
    "figure",
    "figcaption",
    "div",
    "nav",
];

#[test]
fn hostile_text_is_escaped() {
    let yaml = "name: \"<script>alert('name')</script>\"
title: '\"><img src=x onerror=alert(1)> {{ 7*7 }}'
sources:
  t:
    path: data/t.csv
    time: day
    columns:
      day: date
      team: string
      n: integer
";
    let kpi_text = "goal g \"<script>alert('goal')</script>\" {
  owner '\"><img src=x onerror=alert(2)>'
  description \"{{ r.project }} {% raw %} \u{1}\u{1b}[31m\u{7f}\u{85} </textarea></title></style>\"
  objective o '</h3><script>alert(3)</script>' {
    kpi k \"<svg onload=alert(4)> & {{ 7*7 }}\" {
      from t
      measure sum(n)
      by team
      grain month
      owner \"<b onmouseover=alert(5)>\"
      description '\"><iframe src=\"javascript:alert(6)\">'
      method \"</pre><script>alert(7)</script>\"
    }
  }
}
";
    let csv = "day,team,n
2024-01-01,<script>alert(8)</script>,1
2024-01-02,\"\"\"><img src=x onerror=alert(9)>\",2
2024-02-01,{{ 7*7 }} \u{1}\u{1b},3
2024-02-02,<script>alert(8)</script>,4
";
    let dir = project(yaml, &[("metrics.kpi", kpi_text), ("data/t.csv", csv)]);
    let out = dir.path().join("out");
    build_ok(dir.path(), &out);
    // Every page: the overview, the KPI's, the goal's, the owners', the sources page.
    let pages = crate::report_pages::html_files(&out);
    assert!(pages.len() >= 6, "{pages:?}");
    for page in &pages {
        let html = std::fs::read_to_string(out.join(page)).expect("html");
        assert!(!html.to_lowercase().contains("<script"), "no raw <script");
        for raw in ["<img", "<iframe", "<b onmouseover", "<svg onload", "</textarea"] {
            assert!(!html.contains(raw), "no raw {raw:?}");
        }
        for escaped in if page != "index.html" {
            vec![]
        } else {
            vec![
                "&lt;script&gt;alert(8)&lt;/script&gt;",
                "&quot;&gt;&lt;img src=x onerror=alert(9)&gt;",
                "{{ 7*7 }}",
                "{{ r.project }} {% raw %}",
            ]
        } {
            assert!(html.contains(escaped), "shows {escaped:?}");
        }
        // Only the page's own elements, and no event handler attributes.
        let lower = html.to_lowercase();
        for (i, _) in lower.match_indices('<') {
            let name: String = lower[i + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '!').collect();
            let closing = lower[i + 1..].starts_with('/');
            assert!(closing || ELEMENTS.contains(&name.as_str()), "unexpected element <{name}");
        }
        for (i, _) in lower.match_indices('<') {
            for name in attribute_names(&lower[i + 1..]) {
                assert!(!name.starts_with("on"), "event handler {name} at {}", &html[i..(i + 80).min(html.len())]);
            }
        }
        // No control characters in the page but tab and newline.
        assert!(!html.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r'), "control characters are replaced");
    }
    // results.json is valid JSON and keeps the text exactly.
    let results = results_json(&out);
    assert_eq!(results["project"], "<script>alert('name')</script>");
    let k = kpi(&results, "k");
    assert_eq!(k["title"], "<svg onload=alert(4)> & {{ 7*7 }}");
    let teams: Vec<&str> = k["rows"].as_array().expect("rows").iter().filter_map(|r| r["team"].as_str()).collect();
    assert!(teams.contains(&"\"><img src=x onerror=alert(9)>") && teams.contains(&"{{ 7*7 }} \u{1}\u{1b}"), "{teams:?}");
}
