//! The first ten minutes: small things a new user meets (issue "papercuts").

use crate::common::*;

fn rendered_error(dir: &std::path::Path) -> String {
    match yardstick::compile(dir) {
        Ok(_) => panic!("expected an error"),
        Err(f) => f.render(false),
    }
}

const YAML: &str = "name: T\nsources:\n  s:\n    path: s.csv\n    columns:\n      x: float\n";

#[test]
fn percentile_fractions_may_be_written_as_percentages() {
    let dir = project(
        YAML,
        &[("k.kpi", r#"goal g "G" { kpi a "A" { from s measure percentile(x, 90%) } kpi b "B" { from s measure percentile(x, 0.9) } }"#)],
    );
    std::fs::write(dir.path().join("s.csv"), "x\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n").expect("csv");
    let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    // Interpolated p90 of 1..10: 1 + 0.9 * 9 = 9.1, written either way.
    assert!(close(r.kpis[0].rows[0].value.expect("a"), 9.1));
    assert!(close(r.kpis[1].rows[0].value.expect("b"), 9.1));
    let dir = project(YAML, &[("k.kpi", r#"goal g "G" { kpi a "A" { from s measure percentile(x, 190%) } }"#)]);
    let err = rendered_error(dir.path());
    assert!(err.contains("YS0212") && err.contains("90%"), "{err}");
}

#[test]
fn a_duplicate_id_names_both_files() {
    let dir = project(
        YAML,
        &[
            ("metrics/a.kpi", "goal g \"G\" {\n  kpi calls \"Calls\" { from s measure count() }\n}\n"),
            ("metrics/b.kpi", "goal h \"H\" {\n  kpi calls \"Calls again\" { from s measure count() }\n}\n"),
        ],
    );
    let err = rendered_error(dir.path());
    assert!(err.contains("metrics/b.kpi:2:7") && err.contains("metrics/a.kpi:2:7"), "{err}");
}

#[test]
fn yaml_mistakes_point_at_the_place_and_suggest_the_fix() {
    let kpi = [("k.kpi", r#"goal g "G" { kpi a "A" { from s measure count() } }"#)];
    let dir = project("name: T\ncalendar:\n  holidays: [2025-01-01, 2025-13-45]\nsources: {}\n", &kpi);
    let err = rendered_error(dir.path());
    assert!(err.contains("yardstick.yaml:3:26") && err.contains("2025-13-45"), "the bad date itself: {err}");
    let dir = project("name: T\nsources:\n  s:\n    path: s.csv\n    colums:\n      x: float\n", &kpi);
    let err = rendered_error(dir.path());
    assert!(err.contains("did you mean `columns`?"), "{err}");
    let dir = project("name: T\nsources:\n  s:\n\tpath: s.csv\n", &kpi);
    let err = rendered_error(dir.path());
    assert!(err.contains("line 4 is indented with a tab") && err.contains("spaces"), "{err}");
}

#[test]
fn a_missing_file_suggests_the_near_name() {
    let dir = project(
        "name: T\nsources:\n  s:\n    path: data/permit.csv\n    columns:\n      x: float\n",
        &[("k.kpi", r#"goal g "G" { kpi a "A" { from s measure count() } }"#)],
    );
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(dir.path().join("data/permits.csv"), "x\n1\n").expect("csv");
    let err = match yardstick::evaluate(dir.path()) {
        Ok(_) => panic!("expected YS0300"),
        Err(f) => f.render(false),
    };
    assert!(err.contains("YS0300") && err.contains("yardstick.yaml:4:5") && err.contains("did you mean `data/permits.csv`?"), "{err}");
}

#[test]
fn long_paths_are_not_broken_across_lines() {
    let deep = "extracts_from_the_311_customer_service_system/monthly_exports_2014_to_2015";
    let dir = project(
        &format!("name: T\nsources:\n  s:\n    path: {deep}/requests.csv\n    columns:\n      x: integer\n"),
        &[("k.kpi", r#"goal g "G" { kpi a "A" { from s measure sum(x) } }"#)],
    );
    std::fs::create_dir_all(dir.path().join(deep)).expect("mkdir");
    std::fs::write(dir.path().join(deep).join("requests.csv"), "x\n1\nabc\n").expect("csv");
    let err = match yardstick::evaluate(dir.path()) {
        Ok(_) => panic!("expected YS0301"),
        Err(f) => f.render(false),
    };
    assert!(err.contains(&format!("{deep}/requests.csv")), "the path stays whole: {err}");
}

#[test]
fn sql_without_a_kpi_asks_which_and_lists_them() {
    let city = repo().join("examples/city");
    let (code, _, err) = yardstick(&["sql", city.to_str().expect("path")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("which KPI?") && err.contains("answered_10s"), "{err}");
    let (code, help, _) = yardstick(&["sql", "--help"]);
    assert_eq!(code, 0);
    assert!(help.contains("yardstick sql [DIR] <KPI>"), "{help}");
    let (code, fused, err) = yardstick(&["sql", city.to_str().expect("path"), "--fused"]);
    assert_eq!(code, 0, "{err}");
    assert!(fused.contains("-- source `calls_911`: KPIs") && fused.contains("FILTER"), "{fused}");
    let (code, _, err) = yardstick(&["check", "/no/such/project"]);
    assert_eq!(code, 1);
    assert!(err.contains("no such directory"), "{err}");
}

#[test]
fn numbers_are_written_one_way_everywhere() {
    use yardstick::report::format_value;
    assert_eq!(format_value(Some(1731.29), "USD"), "1,731.29 USD");
    assert_eq!(format_value(Some(75954.4), "USD"), "75,954 USD");
    assert_eq!(format_value(Some(3969.0), "count"), "3,969");
    assert_eq!(format_value(Some(-1234.5), "number"), "-1,234.5");
    assert_eq!(format_value(Some(999.5), "number"), "999.5");
    let out = tempfile::tempdir().expect("tempdir");
    yardstick::build(&repo().join("examples/city"), Some(out.path())).map_err(|f| f.render(false)).expect("builds");
    let html = std::fs::read_to_string(out.path().join("index.html")).expect("html");
    // The sources table: 2,540 permits read (examples/city/data/permits.csv has 2,540 rows).
    assert!(html.contains("<td class=\"num\">2,540</td>"), "rows read with a separator");
    // Definitions are shown dedented: the clauses one indent in, not the file's three.
    assert!(
        html.contains(
            "<pre tabindex=\"0\" aria-label=\"Definition of answered_10s\">kpi answered_10s &quot;911 calls answered within 10 seconds&quot; {\n  from calls_911"
        ),
        "dedented definition"
    );
}

#[test]
fn the_documented_kpi_fields_are_the_files_in_order() {
    let doc = std::fs::read_to_string(repo().join("docs/results-json.md")).expect("doc");
    let section = doc.split("\n## `kpis`\n").nth(1).expect("kpis section").split("\n### ").next().unwrap_or_default();
    let documented: Vec<String> =
        section.lines().filter_map(|l| l.strip_prefix("| `")).filter_map(|l| l.split('`').next()).map(str::to_string).collect();
    let out = tempfile::tempdir().expect("tempdir");
    yardstick::build(&repo().join("examples/city"), Some(out.path())).map_err(|f| f.render(false)).expect("builds");
    let json = results_json(out.path());
    let actual: Vec<String> = json["kpis"][0].as_object().expect("kpi object").keys().cloned().collect();
    assert_eq!(documented, actual, "docs/results-json.md's kpis table must list the fields in the file's order");
}

#[test]
fn counts_in_summaries_agree_with_their_noun() {
    let dir = project(YAML, &[("k.kpi", r#"goal g "G" { kpi a "A" { from s measure count() } }"#)]);
    std::fs::write(dir.path().join("s.csv"), "x\n1\n").expect("csv");
    let d = dir.path().to_str().expect("utf-8");
    let (code, out, err) = yardstick(&["check", d]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok: 1 goal, 1 KPI, 1 source\n"), "{out}");
    let (code, out, err) = yardstick(&["build", d]);
    assert_eq!(code, 0, "{err}");
    // One KPI without a grain has one value.
    assert!(out.contains("built 1 KPI (1 value)\n"), "{out}");
}

#[test]
fn an_absolute_path_outside_the_project_is_shown_as_written() {
    let outside = tempfile::tempdir().expect("tempdir");
    let csv = outside.path().join("s.csv");
    std::fs::write(&csv, "x\n1\n").expect("csv");
    let yaml = format!("name: T\nsources:\n  s:\n    path: {}\n    columns:\n      x: float\n", csv.display());
    let dir = project(&yaml, &[("k.kpi", r#"goal g "G" { kpi a "A" { from s measure count() } }"#)]);
    let err = match yardstick::evaluate(dir.path()) {
        Ok(_) => panic!("a path outside the project is refused"),
        Err(f) => f.render(false),
    };
    assert!(err.contains("YS0304") && err.contains("outside the project"), "{err}");
    // Not `//tmp/...`: the root is not joined as a path part.
    assert!(!err.contains("//"), "{err}");
}

/// `1 - ratio(breaches, attendances)` with `target >= 95%` (NHS A&E 4-hour performance):
/// the help names both ways out, and the second one builds.
#[test]
fn a_percent_target_on_a_fraction_suggests_unit_percent() {
    let kpi = |unit: &str| {
        format!(r#"goal g "G" {{ kpi a "A" {{ from s measure 1 - ratio(sum(x where x > 8), sum(x)) {unit} target >= 95% }} }}"#)
    };
    let dir = project(YAML, &[("k.kpi", &kpi(""))]);
    std::fs::write(dir.path().join("s.csv"), "x\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n").expect("csv");
    let err = rendered_error(dir.path());
    assert!(err.contains("YS0220"), "{err}");
    assert!(err.contains("as a plain number (`0.95`)") && err.contains("with `unit %` and keep `95%`"), "{err}");
    std::fs::write(dir.path().join("k.kpi"), kpi("unit %")).expect("kpi");
    let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    // 1 - (9 + 10) / 55 = 36/55.
    assert!(close(r.kpis[0].rows[0].value.expect("a value"), 36.0 / 55.0));
}
