//! Docs examples are tests: every ```kpi block in docs/ builds on the city example's data
//! and gives values; every ```yaml block loads as a yardstick.yaml.

use crate::common::*;

fn blocks(markdown: &str, tag: &str) -> Vec<(usize, String)> {
    let mut out = vec![];
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        if let Some((start, text)) = current.take() {
            if fence {
                out.push((start, text));
            } else {
                current = Some((start, text + line + "\n"));
            }
        } else if fence && line.trim_start().trim_start_matches('`').trim() == tag {
            current = Some((i + 1, String::new()));
        }
    }
    out
}

fn docs() -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("docs"))
        .expect("docs dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    let mut v: Vec<(String, String)> =
        files.into_iter().map(|p| (p.display().to_string(), std::fs::read_to_string(&p).expect("read"))).collect();
    v.push(("README.md".into(), std::fs::read_to_string(repo().join("README.md")).expect("README")));
    v
}

#[test]
fn kpi_examples_in_docs_check() {
    let mut count = 0;
    for (name, text) in docs() {
        for (line, block) in blocks(&text, "kpi") {
            let dir = tempfile::tempdir().expect("tempdir");
            copy_dir(&repo().join("examples/city"), dir.path());
            std::fs::write(dir.path().join("metrics/zz_docs_example.kpi"), &block).expect("write");
            // Examples run: they build on the example's data, and every KPI they define
            // has at least one value.
            let (_, results) = match yardstick::evaluate(dir.path()) {
                Ok(r) => r,
                Err(f) => panic!("{name}:{line}: example does not build:\n{}\n{block}", f.render(false)),
            };
            let defined: Vec<_> = results.kpis.iter().filter(|k| k.defined_at.starts_with("metrics/zz_docs_example.kpi")).collect();
            // A block of data checks only (docs/checks.md): its checks ran and none failed.
            let checks: Vec<_> = results.checks.iter().filter(|c| c.defined_at.starts_with("metrics/zz_docs_example.kpi")).collect();
            for c in &checks {
                assert!(c.status != yardstick::results::CheckStatus::Fail, "{name}:{line}: check `{}` fails on the example data", c.check);
            }
            assert!(!defined.is_empty() || !checks.is_empty(), "{name}:{line}: example defines no KPI and no data check");
            for k in defined {
                assert!(k.rows.iter().any(|r| r.value.is_some()), "{name}:{line}: KPI `{}` has no value on the example data", k.id);
            }
            count += 1;
        }
    }
    assert!(count >= 10, "docs have at least 10 runnable kpi examples, found {count}");
}

#[test]
fn yaml_examples_in_docs_load() {
    let mut count = 0;
    for (name, text) in docs() {
        for (line, block) in blocks(&text, "yaml") {
            if let Err(d) = yardstick::config::load_config(yardstick::span::FileId(0), &block) {
                panic!("{name}:{line}: yaml example does not load: {d}\n{block}");
            }
            count += 1;
        }
    }
    assert!(count >= 2, "docs have yaml examples, found {count}");
}

#[test]
fn readme_error_example_is_the_real_output() {
    // The README shows what `check` prints after `by district` -> `by distrct` in safety.kpi.
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    let shown = blocks(&readme, "text").into_iter().map(|(_, b)| b).find(|b| b.contains("distrct")).expect("error example");
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&repo().join("examples/city"), dir.path());
    let path = dir.path().join("metrics/safety.kpi");
    let text = std::fs::read_to_string(&path).expect("kpi");
    assert_eq!(text.lines().filter(|l| l.trim() == "by district").count(), 1, "the README's instruction names one clause");
    let broken: String =
        text.lines().map(|l| if l.trim() == "by district" { l.replace("district", "distrct") } else { l.to_string() } + "\n").collect();
    std::fs::write(&path, broken).expect("write");
    let failure = yardstick::compile(dir.path()).map(|_| ()).expect_err("error");
    // Run from the repository's top, `check examples/city` names files from there.
    let rendered = failure.diagnostics.render(&failure.sources.renamed(|n| format!("examples/city/{n}")), false);
    let norm = |s: &str| s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim().to_string();
    assert_eq!(norm(&rendered), norm(&shown));
}
