//! Snapshot tests of rendered diagnostics, one per mistake in tests/fixtures/errors/.
//! Each fixture's first line says which codes it must produce (`// expect: YS0201`);
//! the snapshot pins the whole message (span, label, help).

use std::path::Path;

use crate::common::*;

fn expected_codes(text: &str) -> Vec<String> {
    let first = text.lines().next().unwrap_or("");
    let rest = first.split("expect:").nth(1).expect("fixture starts with an `expect:` line");
    rest.split_whitespace().map(str::to_string).collect()
}

fn check_case(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("fixture");
    let dir = error_fixture_project(path, &text);
    let failure = match yardstick::compile(dir.path()) {
        Ok(_) => panic!("{} should fail to check", path.display()),
        Err(f) => f,
    };
    let codes: Vec<&str> = failure.diagnostics.0.iter().map(|d| d.code).collect();
    assert_eq!(codes, expected_codes(&text), "{}: codes", path.display());
    for d in &failure.diagnostics.0 {
        assert!(d.span.is_some(), "{}: every check error points at a place: {d:?}", path.display());
        assert!(d.help.is_some() || d.code == "YS0100", "{}: every check error offers help: {d:?}", path.display());
    }
    failure.render(false)
}

#[test]
fn diagnostics_snapshots() {
    let paths = error_fixtures();
    assert!(paths.len() >= 20, "at least 20 error fixtures");
    for path in paths {
        let name = path.file_stem().expect("stem").to_string_lossy().to_string();
        let rendered = check_case(&path);
        insta::assert_snapshot!(format!("diag_{name}"), rendered);
    }
}

#[test]
fn did_you_mean_suggestions() {
    use yardstick::diagnostics::did_you_mean;
    assert_eq!(did_you_mean("distrct", ["district", "status"]), Some("district".into()));
    assert_eq!(did_you_mean("montly", ["day", "week", "month", "year"]), Some("month".into()));
    assert_eq!(did_you_mean("zzz", ["district", "status"]), None);
}

#[test]
fn truncated_files_never_panic() {
    // Every prefix of a real file must produce either an AST or diagnostics, never a panic.
    let text = std::fs::read_to_string(repo().join("examples/city/metrics/safety.kpi")).expect("kpi");
    let mut boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    boundaries.push(text.len());
    for end in boundaries {
        let _ = yardstick::parse::parse_file(yardstick::span::FileId(0), &text[..end]);
    }
    // And arbitrary bytes decoded lossily.
    let junk = "goal \u{0} { kpi ` ` { measure ((((( } \u{FEFF}";
    assert!(yardstick::parse::parse_file(yardstick::span::FileId(0), junk).is_err());
}

#[test]
fn config_mistakes_are_caught_before_any_data_is_read() {
    let kpi = [("k.kpi", "goal g \"G\" { kpi n \"N\" { from s measure count() by status } }")];
    let check = |yaml: &str| yardstick::compile(project(yaml, &kpi).path()).map(|_| ()).expect_err("error").render(false);
    let base = "name: P\nsources:\n  s:\n    path: s.csv\n";

    // A source `time:` that is not a date or timestamp (was only found at build time).
    let err = check(&format!("{base}    time: day\n    columns:\n      day: string\n      status: string\n"));
    assert!(err.contains("YS0207") && err.contains("yardstick.yaml:5"), "{err}");

    // A file-name column that shadows a declared column.
    let err = check(&format!("{base}    file_column: status\n    columns:\n      status: string\n"));
    assert!(err.contains("YS0002") && err.contains("file_column"), "{err}");

    // A delimiter that is not one ASCII character.
    let err = check(&format!("{base}    delimiter: \"§\"\n    columns:\n      status: string\n"));
    assert!(err.contains("YS0002") && err.contains("ASCII"), "{err}");

    // `by status` would clash with the row's own `status` field in results.json.
    let err = check(&format!("{base}    columns:\n      status: string\n"));
    assert!(err.contains("YS0202") && err.contains("clashes with results.json"), "{err}");
}

#[test]
fn unquoted_null_policy_means_null() {
    // `on_invalid: null` without quotes is YAML's null; it must still mean the null policy.
    let yaml = "name: P\nsources:\n  s:\n    path: s.csv\n    columns:\n      n: { type: integer, on_invalid: null }\n";
    let config = yardstick::config::load_config(yardstick::span::FileId(0), yaml).expect("loads");
    assert_eq!(config.sources["s"].columns["n"].on_invalid, Some(yardstick::config::OnInvalid::Null));
}

#[test]
fn a_broken_derived_input_is_reported_once() {
    // `b` uses an unknown KPI; `a` uses `b`: one error, at `b`'s input, none for `a`.
    let yaml = std::fs::read_to_string(fixture("errors/base.yaml")).expect("base.yaml");
    let kpi = [(
        "k.kpi",
        "goal g \"G\" {\n  kpi n \"N\" { from tickets measure count() grain month }\n  kpi a \"A\" { measure b * 2 }\n  kpi b \"B\" { measure n / nope }\n}\n",
    )];
    let err = yardstick::compile(project(&yaml, &kpi).path()).map(|_| ()).expect_err("error").render(false);
    assert_eq!(err.matches("YS0230").count(), 1, "{err}");
    assert!(err.contains("unknown KPI `nope`") && err.contains("k.kpi:4:"), "{err}");
}
