//! Files as they come (issue 15): headers below title lines, blank and note lines, Excel
//! serial dates, values from file names, columns by position, optional columns in globs,
//! period labels, trimming. Expected values are worked out by hand in the comments.

use yardstick::results::Results;

use crate::common::*;

fn write(dir: &std::path::Path, name: &str, text: &[u8]) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn built(dir: &tempfile::TempDir) -> Results {
    yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds").1
}

/// Every diagnostic's code, message and help, unwrapped (rendering wraps long lines).
fn text(f: yardstick::Failure) -> String {
    messages(f.diagnostics)
}

fn messages(d: yardstick::diagnostics::Diagnostics) -> String {
    d.0.iter().map(|d| format!("{} {}\nhelp: {}\n", d.code, d.message, d.help.as_deref().unwrap_or_default())).collect()
}

fn failure(dir: &tempfile::TempDir) -> String {
    match yardstick::evaluate(dir.path()) {
        Ok(_) => panic!("expected the build to fail"),
        Err(f) => text(f),
    }
}

fn check_failure(yaml: &str) -> String {
    match yardstick::config::load_config(yardstick::span::FileId(0), yaml) {
        Ok(_) => panic!("expected yardstick.yaml to be refused:\n{yaml}"),
        Err(d) => messages(d),
    }
}

/// (period, groups as text, value) of a KPI's rows.
fn rows(r: &Results, id: &str) -> Vec<(String, String, Option<f64>)> {
    let k = r.kpis.iter().find(|k| k.id == id).unwrap_or_else(|| panic!("no KPI {id}"));
    k.rows
        .iter()
        .map(|row| {
            let groups: Vec<String> = row.groups.iter().map(|(_, v)| v.as_str().map_or(v.to_string(), str::to_string)).collect();
            (row.period.clone().unwrap_or_default(), groups.join("|"), row.value)
        })
        .collect()
}

fn row(period: &str, groups: &str, value: f64) -> (String, String, Option<f64>) {
    (period.to_string(), groups.to_string(), Some(value))
}

const SPEND_KPIS: &str = r#"goal g "G" {
  kpi total "Total" { from s measure sum(amount) grain month }
  kpi lines "Lines" { from s measure count() }
}"#;

fn spend_project(extra: &str, csv: &str) -> tempfile::TempDir {
    let yaml = format!(
        "name: T\nsources:\n  s:\n    path: s.csv\n    time: day\n{extra}    columns:\n      id: string\n      day: date\n      amount: float\n"
    );
    let dir = project(&yaml, &[("k.kpi", SPEND_KPIS)]);
    write(dir.path(), "s.csv", csv.as_bytes());
    dir
}

/// A title, a blank line, the header on line 3, a blank row among the data, and a total and
/// a note after the last row.
const TITLED: &str =
    "Payments over 250 in 2024,,\n,,\nid,day,amount\na,2024-01-05,10\nb,2024-01-20,5\n,,\nc,2024-02-03,7\n,,\nTotal,22\nSource: finance\n";

#[test]
fn header_row_skips_title_lines_and_trailing_notes_are_counted() {
    let r = built(&spend_project("    header_row: 3\n    trailing_notes: skip\n", TITLED));
    // January: a 10 + b 5 = 15; February: c 7. Three rows.
    assert_eq!(rows(&r, "total"), vec![row("2024-01-01", "", 15.0), row("2024-02-01", "", 7.0)]);
    assert_eq!(rows(&r, "lines"), vec![row("", "", 3.0)]);
    let stats = &r.sources["s"].stats;
    assert_eq!((stats.rows_read, stats.rows_skipped), (3, 0));
    // Lines 6 and 8 are `,,`; lines 9 (`Total,22`: 2 fields) and 10 (1 field) are notes.
    assert_eq!((stats.blank_lines, stats.trailing_notes), (2, 2));
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["sources"]["s"]["trailing_notes"], 2);
    assert_eq!(json["sources"]["s"]["blank_lines"], 2);
}

#[test]
fn trailing_notes_are_an_error_unless_skipped_and_never_hide_a_row() {
    // By default the note lines are an error that says how to skip them.
    let err = failure(&spend_project("    header_row: 3\n", TITLED));
    assert!(err.contains("YS0301") && err.contains("s.csv:9:") && err.contains("trailing_notes: skip"), "{err}");
    // A bad line followed by a readable row is a bad row, not a note, even with `skip`.
    let csv = "id,day,amount\na,2024-01-05,10\nNote: b was late\nb,2024-01-20,5\n";
    let err = failure(&spend_project("    trailing_notes: skip\n", csv));
    assert!(err.contains("YS0301") && err.contains("s.csv:3:") && !err.contains("trailing_notes"), "{err}");
    // A bad value in the middle is reported as before, with the row after it.
    let csv = "id,day,amount\na,2024-01-05,ten\nb,2024-01-20,5\n";
    let err = failure(&spend_project("    trailing_notes: skip\n", csv));
    assert!(err.contains("s.csv:2:") && err.contains("\"ten\""), "{err}");
}

#[test]
fn blank_lines_before_the_header_are_skipped_and_counted() {
    // CRLF line ends: line numbers stay right (the bad value is on line 5).
    let csv = ",,\r\n  ,  ,\r\nid,day,amount\r\na,2024-01-05,10\r\nb,2024-13-01,5\r\n";
    let err = failure(&spend_project("", csv));
    assert!(err.contains("s.csv:5:") && err.contains("2024-13-01"), "{err}");
    let r = built(&spend_project("", &csv.replace("2024-13-01", "2024-01-09")));
    assert_eq!(rows(&r, "total"), vec![row("2024-01-01", "", 15.0)]);
    assert_eq!(r.sources["s"].stats.blank_lines, 2);
}

#[test]
fn a_header_not_found_shows_the_first_lines_and_suggests_header_row() {
    let err = failure(&spend_project("", TITLED));
    assert!(err.contains("YS0302") && err.contains("the file begins"), "{err}");
    assert!(err.contains("1 | Payments over 250 in 2024,,") && err.contains("3 | id,day,amount"), "{err}");
    assert!(err.contains("set `header_row: 3` on source `s`"), "{err}");
    let yaml = "name: T\nsources:\n  s:\n    path: s.csv\n    header_row: 0\n    columns:\n      id: string\n";
    let err = check_failure(yaml);
    assert!(err.contains("YS0002") && err.contains("header_row"), "{err}");
}

const EXCEL_KPIS: &str = r#"goal g "G" {
  kpi per_day "Per day" { from x measure count() grain day }
  kpi hours "Hours" { from x measure sum(hours_between(start, at)) }
}"#;

fn excel_project(formats: &str, csv: &str) -> tempfile::TempDir {
    let yaml = format!(
        "name: T\nsources:\n  x:\n    path: x.csv\n    time: day\n    columns:\n      day: {{ type: date, format: {formats} }}\n      start: timestamp\n      at: {{ type: timestamp, format: {formats} }}\n"
    );
    let dir = project(&yaml, &[("k.kpi", EXCEL_KPIS)]);
    write(dir.path(), "x.csv", csv.as_bytes());
    dir
}

#[test]
fn excel_serial_dates_alone_or_mixed_with_text_dates() {
    // 43641 = 2019-06-25 (Python: date(1899, 12, 30) + timedelta(43641); so is Excel's
    // 43466 = 2019-01-01, plus 175 days); 43641.75 is 18:00 that day; 43642.5 is
    // 2019-06-26 12:00.
    let csv = "day,start,at\n43641,2019-06-25 00:00:00,43641.75\n24/06/2019,2019-06-24 00:00:00,24/06/2019 06:30\n43642.5,2019-06-26 00:00:00,43642.5\n";
    let r = built(&excel_project(r#"["%d/%m/%Y", "%d/%m/%Y %H:%M", excel]"#, csv));
    // Dates drop the time: 24, 25 and 26 June once each.
    assert_eq!(rows(&r, "per_day"), vec![row("2019-06-24", "", 1.0), row("2019-06-25", "", 1.0), row("2019-06-26", "", 1.0)]);
    // 18 + 6.5 + 12 hours.
    assert_eq!(rows(&r, "hours"), vec![row("", "", 36.5)]);
    // In the other order (excel first) the result is the same: the forms do not overlap.
    let r = built(&excel_project(r#"[excel, "%d/%m/%Y", "%d/%m/%Y %H:%M"]"#, csv));
    assert_eq!(rows(&r, "hours"), vec![row("", "", 36.5)]);
}

#[test]
fn excel_serials_out_of_range_or_malformed_are_invalid() {
    // 60 is Excel's 29 February 1900 (never was); 2958465 is 9999-12-31, outside
    // valid_years; "-5", "4.3e4" and "43641." are not serials.
    for bad in ["60", "2958465", "-5", "4.3e4", "43641.", "1e3"] {
        let csv = format!("day,start,at\n{bad},2019-06-24 00:00:00,43641\n");
        let err = failure(&excel_project("[excel]", &csv));
        assert!(err.contains("YS0301") && err.contains(&format!("{bad:?}")), "{bad}: {err}");
    }
    // Without `excel`, a serial gets the hint to add it.
    let err = failure(&excel_project(r#""%d/%m/%Y""#, "day,start,at\n43641,2019-06-24 00:00:00,24/06/2019\n"));
    assert!(err.contains("Excel serial day number") && err.contains("format: [excel,"), "{err}");
}

const NAMED_KPIS: &str = r#"goal g "G" {
  kpi per_month "Per month" { from a measure sum(n) grain month }
  kpi per_site "Per site" { from a measure sum(n) by site }
}"#;

fn named_project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let yaml = "name: T\nsources:\n  a:\n    path: data/**/*.csv\n    time: month\n    columns:\n      n: integer\n      month: { type: date, format: \"%Y-%m\", from_file_name: \"*_{}.csv\" }\n      site: { type: string, from_file_name: \"{}/*.csv\" }\n";
    let dir = project(yaml, &[("k.kpi", NAMED_KPIS)]);
    for (name, text) in files {
        write(dir.path(), &format!("data/{name}"), text.as_bytes());
    }
    dir
}

#[test]
fn values_from_file_names_are_the_time_and_groups() {
    let dir = named_project(&[
        ("north/provider_2025-04.csv", "n\n1\n2\n"),
        ("north/provider_2025-05.csv", "n\n4\n"),
        ("south/provider_2025-04.csv", "n\n8\n"),
    ]);
    let r = built(&dir);
    // April: 1 + 2 (north) + 8 (south) = 11; May: 4.
    assert_eq!(rows(&r, "per_month"), vec![row("2025-04-01", "", 11.0), row("2025-05-01", "", 4.0)]);
    // north: 1 + 2 + 4 = 7; south: 8.
    assert_eq!(rows(&r, "per_site"), vec![row("", "north", 7.0), row("", "south", 8.0)]);
}

#[test]
fn a_file_name_that_does_not_fit_is_an_error_naming_the_file() {
    let err = failure(&named_project(&[("north/provider_2025-04.csv", "n\n1\n"), ("north/provider-2025-05.csv", "n\n2\n")]));
    assert!(err.contains("YS0305") && err.contains("data/north/provider-2025-05.csv") && err.contains("*_{}.csv"), "{err}");
    let err = failure(&named_project(&[("north/provider_2025-13.csv", "n\n1\n")]));
    assert!(err.contains("YS0305") && err.contains("\"2025-13\"") && err.contains("provider_2025-13.csv"), "{err}");
    for (pattern, why) in [("no_value.csv", "exactly once"), ("*{}.csv", "between")] {
        let yaml = format!(
            "name: T\nsources:\n  a:\n    path: a.csv\n    columns:\n      n: integer\n      m: {{ type: string, from_file_name: \"{pattern}\" }}\n"
        );
        let err = check_failure(&yaml);
        assert!(err.contains("YS0002") && err.contains(why), "{err}");
    }
}

#[test]
fn position_reads_columns_whose_header_is_empty_or_repeated() {
    // Header: code, (empty), Total, Total. Column 2 has no name; columns 3 and 4 repeat one.
    let yaml = "name: T\nsources:\n  p:\n    path: p.csv\n    columns:\n      code: string\n      unnamed: { type: integer, position: 2 }\n      first_total: { type: integer, position: 3 }\n      second_total: { type: integer, position: 4 }\n";
    let kpis = r#"goal g "G" {
  kpi a "A" { from p measure sum(unnamed) }
  kpi b "B" { from p measure sum(first_total) }
  kpi c "C" { from p measure sum(second_total) }
}"#;
    let dir = project(yaml, &[("k.kpi", kpis)]);
    write(dir.path(), "p.csv", b"code,,Total,Total\nx,1,10,100\ny,2,20,200\n");
    let r = built(&dir);
    // 1 + 2, 10 + 20, 100 + 200.
    assert_eq!(rows(&r, "a"), vec![row("", "", 3.0)]);
    assert_eq!(rows(&r, "b"), vec![row("", "", 30.0)]);
    assert_eq!(rows(&r, "c"), vec![row("", "", 300.0)]);
    // Without a position the repeated name is an error that suggests one.
    let dir = project(&yaml.replace("{ type: integer, position: 3 }", "{ type: integer, header: Total }"), &[("k.kpi", kpis)]);
    write(dir.path(), "p.csv", b"code,,Total,Total\nx,1,10,100\n");
    let err = failure(&dir);
    assert!(err.contains("YS0302") && err.contains("position: 3"), "{err}");
}

const OPTIONAL_KPIS: &str = r#"goal g "G" {
  kpi with_outcome "With an outcome" { from r measure count(outcome) }
  kpi all_rows "All" { from r measure count() }
}"#;

#[test]
fn optional_columns_are_null_in_files_without_them_and_counted() {
    let yaml = "name: T\nsources:\n  r:\n    path: data/*.csv\n    null_values: [NA]\n    columns:\n      id: string\n      outcome: { type: string, optional: true }\n";
    let dir = project(yaml, &[("k.kpi", OPTIONAL_KPIS)]);
    write(dir.path(), "data/a.csv", b"id,outcome\n1,Closed\n2,NA\n");
    write(dir.path(), "data/b.csv", b"id\n3\n4\n5\n");
    write(dir.path(), "data/c.csv", b"outcome,id\nOpen,6\n");
    let r = built(&dir);
    // Outcomes: Closed (a), Open (c); NA is null; b has none. Six rows in all.
    assert_eq!(rows(&r, "with_outcome"), vec![row("", "", 2.0)]);
    assert_eq!(rows(&r, "all_rows"), vec![row("", "", 6.0)]);
    let missing = &r.sources["r"].stats.missing_optional["outcome"];
    assert_eq!((missing.files.clone(), missing.rows), (vec!["data/b.csv".to_string()], 3));
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["sources"]["r"]["missing_optional"]["outcome"]["rows"], 3);
    // In no file at all: a misspelt header, not an optional column.
    let dir =
        project(&yaml.replace("outcome: {", "outcom: {"), &[("k.kpi", OPTIONAL_KPIS.replace("count(outcome)", "count(outcom)").as_str())]);
    write(dir.path(), "data/a.csv", b"id,outcome\n1,Closed\n");
    let err = failure(&dir);
    assert!(err.contains("YS0302") && err.contains("optional column `outcom` is in none of its 1 file(s)"), "{err}");
}

#[test]
fn optional_columns_and_file_name_values_in_parquet() {
    let yaml = "name: T\nsources:\n  p:\n    path: data/*.parquet\n    time: month\n    columns:\n      n: integer\n      note: { type: string, optional: true, trim: true }\n      month: { type: date, format: \"%B-%Y\", from_file_name: \"{}-AE.parquet\" }\n      paid: { type: date, format: [excel, \"%d/%m/%Y\"] }\n";
    let kpis = r#"goal g "G" {
  kpi total "Total" { from p measure sum(n) grain month }
  kpi notes "Notes" { from p measure count() by note }
  kpi paid_days "Paid" { from p measure count() time paid grain day }
}"#;
    let dir = project(yaml, &[("k.kpi", kpis)]);
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    write_parquet(&dir.path().join("data/April-2025-AE.parquet"), "(1, ' x ', '43641'), (2, 'x', '24/06/2019')", "n, note, paid");
    // Here the serial is stored as a number.
    write_parquet(&dir.path().join("data/May-2025-AE.parquet"), "(4, 43642.25)", "n, paid");
    let r = built(&dir);
    // April 1 + 2 = 3; May 4.
    assert_eq!(rows(&r, "total"), vec![row("2025-04-01", "", 3.0), row("2025-05-01", "", 4.0)]);
    // ' x ' trimmed joins 'x'; May's row has no note (null group, last).
    assert_eq!(rows(&r, "notes"), vec![row("", "x", 2.0), row("", "null", 1.0)]);
    // 24/06/2019; 43641 is 25 June 2019; 43642.25 is 26 June, 06:00.
    assert_eq!(rows(&r, "paid_days"), vec![row("2019-06-24", "", 1.0), row("2019-06-25", "", 1.0), row("2019-06-26", "", 1.0)]);
    let missing = &r.sources["p"].stats.missing_optional["note"];
    assert_eq!((missing.files.clone(), missing.rows), (vec!["data/May-2025-AE.parquet".to_string()], 1));
}

const LABEL_KPIS: &str = r#"goal g "G" {
  kpi per_year "Per fiscal year" { from l measure sum(n) grain fiscal_year }
}"#;

fn label_values(fiscal_start: &str, format: &str, labels: &[&str]) -> Vec<(String, String, Option<f64>)> {
    let yaml = format!(
        "name: T\ncalendar:\n  fiscal_year_start: \"{fiscal_start}\"\nsources:\n  l:\n    path: l.csv\n    time: label\n    columns:\n      label: {{ type: date, format: {format} }}\n      n: integer\n"
    );
    // Grouped by the date itself: the labels' first days, and no empty periods between.
    let kpis = LABEL_KPIS.replace("grain fiscal_year", "by label");
    let dir = project(&yaml, &[("k.kpi", kpis.as_str())]);
    let csv: String = std::iter::once("label,n\n".to_string()).chain(labels.iter().map(|l| format!("\"{l}\",1\n"))).collect();
    write(dir.path(), "l.csv", csv.as_bytes());
    rows(&built(&dir), "per_year")
}

#[test]
fn period_labels_read_as_the_first_day_of_their_period() {
    // FY2020 is the fiscal year that ENDS in 2020; 2019/20 the one from 2019 to 2020: with an
    // April start both begin on 2019-04-01, with a July start on 2019-07-01.
    let april =
        label_values("04-01", "fiscal_year", &["FY2020", "FY20", "fy 2020", "2019/20", "2019-20", "2019/2020", "FY2019-20", "FY2021"]);
    assert_eq!(april, vec![row("", "2019-04-01", 7.0), row("", "2020-04-01", 1.0)]);
    let july = label_values("07-01", "fiscal_year", &["FY2020", "2019/20"]);
    assert_eq!(july, vec![row("", "2019-07-01", 2.0)]);
    // With a January start the fiscal year is the calendar year.
    let january = label_values("01-01", "fiscal_year", &["FY2020"]);
    assert_eq!(january, vec![row("", "2020-01-01", 1.0)]);
    // Calendar quarters: Q3 2021 begins on 1 July 2021.
    let quarters = label_values("04-01", "quarter", &["Q3 2021", "2021Q3", "2021 Q3", "q3-2021", "Q1 2022"]);
    assert_eq!(quarters, vec![row("", "2021-07-01", 4.0), row("", "2022-01-01", 1.0)]);
    // Months: chrono formats without a day read the month's first day.
    let months = label_values("04-01", r#"["%b-%Y", "%Y-%m", "%B %Y"]"#, &["Jan-2020", "2020-01", "January 2020", "Feb-2020"]);
    assert_eq!(months, vec![row("", "2020-01-01", 3.0), row("", "2020-02-01", 1.0)]);
}

#[test]
fn period_labels_that_do_not_fit_are_clear_errors() {
    // 2019/21 does not name one fiscal year; with a January start a label spanning two
    // years names none.
    for (start, label) in [("04-01", "2019/21"), ("01-01", "2019/20"), ("04-01", "2020")] {
        let yaml = format!(
            "name: T\ncalendar:\n  fiscal_year_start: \"{start}\"\nsources:\n  l:\n    path: l.csv\n    columns:\n      period: {{ type: date, format: fiscal_year }}\n"
        );
        let dir = project(&yaml, &[("k.kpi", r#"goal g "G" { kpi c "C" { from l measure count() } }"#)]);
        write(dir.path(), "l.csv", format!("period\n{label}\n").as_bytes());
        let err = failure(&dir);
        assert!(err.contains("YS0301") && err.contains(&format!("{label:?}")), "{err}");
    }
    // `FY%Y` would read FY2020 as 1 January 2020: refused when the file is loaded, saying why.
    let yaml = "name: T\nsources:\n  l:\n    path: l.csv\n    columns:\n      period: { type: date, format: \"FY%Y\" }\n";
    let err = check_failure(yaml);
    assert!(err.contains("YS0002") && err.contains("format: fiscal_year") && err.contains("calendar year"), "{err}");
    // A fiscal label in a column without the keyword gets the hint.
    let yaml = "name: T\nsources:\n  l:\n    path: l.csv\n    columns:\n      period: { type: date, format: \"%Y-%m-%d\" }\n";
    let dir = project(yaml, &[("k.kpi", r#"goal g "G" { kpi c "C" { from l measure count() } }"#)]);
    write(dir.path(), "l.csv", b"period\nFY2020\n");
    let err = failure(&dir);
    assert!(err.contains("fiscal-year label") && err.contains("format: fiscal_year"), "{err}");
}

const REGION_KPIS: &str = r#"goal g "G" { kpi per_region "Per region" { from n measure sum(v) by region } }"#;

fn region_project(trim: &str) -> tempfile::TempDir {
    let yaml =
        format!("name: T\nsources:\n  n:\n    path: n.csv\n    columns:\n      region: {{ type: string{trim} }}\n      v: integer\n");
    let dir = project(&yaml, &[("k.kpi", REGION_KPIS)]);
    write(dir.path(), "n.csv", b"region,v\n\"East \",1\nEast,2\n\" London\",4\n");
    dir
}

#[test]
fn trim_removes_spaces_around_text_and_split_groups_are_flagged() {
    // Trimmed: East 1 + 2 = 3, London 4.
    let r = built(&region_project(", trim: true"));
    assert_eq!(rows(&r, "per_region"), vec![row("", "East", 3.0), row("", "London", 4.0)]);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // Untrimmed (the default): three groups, and a warning that two differ only in spaces.
    let r = built(&region_project(""));
    assert_eq!(rows(&r, "per_region"), vec![row("", " London", 4.0), row("", "East", 2.0), row("", "East ", 1.0)]);
    let w: Vec<&str> = r.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(w, vec!["YS0906"]);
    assert!(r.warnings[0].help.as_deref().unwrap_or_default().contains("trim: true"));
    // `trim` on a number column is refused.
    let yaml = "name: T\nsources:\n  n:\n    path: n.csv\n    columns:\n      v: { type: integer, trim: true }\n";
    let err = check_failure(yaml);
    assert!(err.contains("YS0002") && err.contains("string columns only"), "{err}");
}

/// Parquet floats as a CSV field is read: NaN and infinities are invalid values, and a float
/// declared `integer` must be whole (the cast alone would cut 4.7 to 4). Counts by hand.
#[test]
fn parquet_non_finite_floats_and_fractional_integers_are_invalid_values() {
    let kpis = "goal g \"G\" {\n  objective o \"O\" {\n    kpi total \"Total\" {\n      from t\n      measure sum(x)\n    }\n    kpi n \"N\" {\n      from t\n      measure sum(n)\n    }\n  }\n}\n";
    let build = |x: &str, n: &str| {
        let yaml = format!("name: t\nsources:\n  t:\n    path: data/t.parquet\n    columns:\n      x: {x}\n      n: {n}\n");
        let dir = crate::common::project(&yaml, &[("k.kpi", kpis)]);
        std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
        crate::common::write_parquet(
            &dir.path().join("data/t.parquet"),
            "(1.5, 4.0), (CAST('NaN' AS DOUBLE), 2.0), (CAST('Infinity' AS DOUBLE), 4.5), (2.0, 1.0)",
            "x, n",
        );
        let out = dir.path().join("out");
        let (code, _, stderr) = crate::common::yardstick(&[
            "build",
            &dir.path().to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
            "--audience",
            "internal",
            "--color",
            "never",
        ]);
        let results = (code == 0).then(|| crate::common::results_json(&out));
        (code, stderr, results, dir)
    };
    // By default a NaN stops the build, naming the row and the column.
    let (code, stderr, _, _dir) = build("float", "float");
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("YS0301") && stderr.contains("column `x`, row 2") && stderr.contains("NaN is not a number"), "{stderr}");
    // Made null: the two non-finite values are counted, the sum is of 1.5 and 2.0.
    let (code, stderr, results, _dir) = build("{ type: float, on_invalid: null }", "float");
    assert_eq!(code, 0, "{stderr}");
    let r = results.expect("results");
    assert_eq!(r["sources"]["t"]["invalid_values"]["x"], 2, "{}", r["sources"]["t"]);
    assert_eq!(crate::common::kpi(&r, "total")["rows"][0]["value"], 3.5);
    // 4.5 declared integer: an error, never 4.
    let (code, stderr, _, _dir) = build("{ type: float, on_invalid: null }", "integer");
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("column `n`, row 3") && stderr.contains("4.5 is not a whole number"), "{stderr}");
    // Skipped: rows 2, 3 (non-finite x) and 3 (4.5) go; rows 1 and 4 remain: n = 4 + 1.
    let (code, stderr, results, _dir) = build("{ type: float, on_invalid: skip }", "{ type: integer, on_invalid: skip }");
    assert_eq!(code, 0, "{stderr}");
    let r = results.expect("results");
    assert_eq!(r["sources"]["t"]["rows_skipped"], 2, "{}", r["sources"]["t"]);
    assert_eq!(crate::common::kpi(&r, "n")["rows"][0]["value"], 5.0);
    assert_eq!(crate::common::kpi(&r, "total")["rows"][0]["value"], 3.5);
}
