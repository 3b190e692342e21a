//! Docs examples are tests: every ```kpi block in docs/ checks against the city example's
//! sources; every ```yaml block loads as a yardstick.yaml.

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
            if let Err(f) = yardstick::compile(dir.path()) {
                panic!("{name}:{line}: example does not check:\n{}\n{block}", f.render(false));
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
