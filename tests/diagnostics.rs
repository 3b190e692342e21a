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
    let base = std::fs::read_to_string(fixture("errors/base.yaml")).expect("base.yaml");
    let is_yaml = path.extension().is_some_and(|e| e == "yaml");
    let dir = if is_yaml {
        project(&text, &[("ok.kpi", "goal g \"G\" { kpi n \"N\" { from tickets measure count() } }\n")])
    } else {
        project(&base, &[("case.kpi", &text)])
    };
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
    let mut paths: Vec<_> = std::fs::read_dir(fixture("errors"))
        .expect("errors dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "base.yaml"))
        .collect();
    paths.sort();
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
