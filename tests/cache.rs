//! The cache of parsed CSV files (`.yardstick/cache`): a rebuild with unchanged data does
//! not parse it again, and gives the same results and row accounting byte for byte; a
//! changed byte, a damaged entry or a deleted cache are safe. Whether a file was parsed is
//! read from the `--verbose` progress lines. Expected values by hand.

use std::path::Path;

use crate::common::*;

const YAML: &str = r#"name: Cache
sources:
  t:
    path: data/*.csv
    time: day
    trailing_notes: skip
    null_values: ["NA"]
    columns:
      day: date
      kind: string
      amount: { type: float, on_invalid: skip }
      extra: { type: string, optional: true }
"#;

const KPIS: &str = r#"goal g "G" {
  kpi total "Total" { from t measure sum(amount) }
  kpi per_kind "Per kind" { from t measure count() by kind }
}"#;

/// a.csv: 4 rows (one with a bad amount, skipped; one NA), a blank line, a trailing note;
/// b.csv: 2 rows, no `extra` column (optional).
const A: &str = "day,kind,amount,extra\n2024-01-05,x,10,e\n2024-01-06,y,oops,e\n,,,\n2024-02-01,x,NA,e\n2024-02-03,y,2.5,e\nTotal,,\n";
const B: &str = "day,kind,amount\n2024-03-01,x,100\n2024-03-02,y,1000\n";

fn setup() -> tempfile::TempDir {
    let dir = project(YAML, &[("k.kpi", KPIS)]);
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::fs::write(dir.path().join("data/a.csv"), A).expect("write");
    std::fs::write(dir.path().join("data/b.csv"), B).expect("write");
    dir
}

/// Build with `--verbose` into `out`: stderr, and the results.json text.
fn build(dir: &Path, out: &str, extra: &[&str]) -> (String, String) {
    let out_dir = dir.join(out);
    let mut args =
        vec!["build", dir.to_str().expect("utf-8"), "--out", out_dir.to_str().expect("utf-8"), "--verbose", "--audience", "internal"];
    args.extend(extra);
    let (code, stdout, stderr) = yardstick(&args);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    (stderr, std::fs::read_to_string(out_dir.join("results.json")).expect("results.json"))
}

fn parsed(stderr: &str, file: &str) -> bool {
    stderr.contains(&format!("parsing {file}"))
}

fn cached(stderr: &str, file: &str) -> bool {
    stderr.contains(&format!("{file} from the cache (not parsed)"))
}

fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> =
        std::fs::read_dir(dir.join(".yardstick/cache")).map(|e| e.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
    found.sort();
    found
}

fn total(results: &str) -> serde_json::Value {
    let r: serde_json::Value = serde_json::from_str(results).expect("json");
    kpi(&r, "total")["rows"][0]["value"].clone()
}

#[test]
fn a_rebuild_reads_the_cache_with_identical_results_and_row_accounting() {
    let dir = setup();
    let (first, miss) = build(dir.path(), "out1", &[]);
    assert!(parsed(&first, "data/a.csv") && parsed(&first, "data/b.csv"), "{first}");
    assert_eq!(entries(dir.path()).len(), 2, "one entry per file");
    let (second, hit) = build(dir.path(), "out2", &[]);
    assert!(cached(&second, "data/a.csv") && cached(&second, "data/b.csv"), "{second}");
    assert!(!parsed(&second, "data/a.csv"), "{second}");
    // Byte for byte: values, skipped rows, bad values, blank lines, notes, missing columns.
    assert_eq!(miss, hit);
    // 10 + 2.5 + 100 + 1000 (the bad amount's row is skipped, NA is null).
    assert_eq!(total(&hit), serde_json::json!(1112.5));
    let r: serde_json::Value = serde_json::from_str(&hit).expect("json");
    let s = &r["sources"]["t"];
    assert_eq!(s["rows_read"], 6);
    assert_eq!(s["rows_skipped"], 1);
    assert_eq!(s["invalid_values"]["amount"], 1);
    assert_eq!(s["blank_lines"], 1);
    assert_eq!(s["trailing_notes"], 1);
    assert_eq!(s["missing_optional"]["extra"]["files"], serde_json::json!(["data/b.csv"]));
    assert_eq!(s["missing_optional"]["extra"]["rows"], 2);
}

#[test]
fn a_definition_only_change_does_not_parse_again() {
    let dir = setup();
    build(dir.path(), "out1", &[]);
    let kpis = format!("{KPIS}\ngoal h \"H\" {{ kpi big \"Big\" {{ from t measure count() where amount > 50 }} }}\n");
    std::fs::write(dir.path().join("k.kpi"), kpis).expect("write");
    let (stderr, results) = build(dir.path(), "out2", &[]);
    assert!(cached(&stderr, "data/a.csv") && cached(&stderr, "data/b.csv"), "{stderr}");
    let r: serde_json::Value = serde_json::from_str(&results).expect("json");
    // Amounts above 50: 100 and 1000.
    assert_eq!(kpi(&r, "big")["rows"][0]["value"], serde_json::json!(2.0));
}

#[test]
fn changing_one_byte_of_a_file_is_a_miss_with_the_new_value() {
    let dir = setup();
    build(dir.path(), "out1", &[]);
    // Same size, one byte: 1000 -> 9000.
    std::fs::write(dir.path().join("data/b.csv"), B.replace("1000", "9000")).expect("write");
    let (stderr, results) = build(dir.path(), "out2", &[]);
    assert!(parsed(&stderr, "data/b.csv") && cached(&stderr, "data/a.csv"), "{stderr}");
    assert_eq!(total(&results), serde_json::json!(9112.5));
    // The old entry of b.csv is replaced, not kept beside the new one.
    assert_eq!(entries(dir.path()).len(), 2);
}

#[test]
fn a_changed_declaration_is_a_miss() {
    let dir = setup();
    build(dir.path(), "out1", &[]);
    // `oops` is now a null value: the row is kept, its amount null.
    std::fs::write(dir.path().join("yardstick.yaml"), YAML.replace(r#"["NA"]"#, r#"["NA", "oops"]"#)).expect("write");
    let (stderr, results) = build(dir.path(), "out2", &[]);
    assert!(parsed(&stderr, "data/a.csv"), "{stderr}");
    let r: serde_json::Value = serde_json::from_str(&results).expect("json");
    assert_eq!(r["sources"]["t"]["rows_skipped"], 0);
    assert_eq!(total(&results), serde_json::json!(1112.5));
}

#[test]
fn a_damaged_or_cut_entry_is_discarded_and_rebuilt_never_read() {
    let dir = setup();
    let (_, miss) = build(dir.path(), "out1", &[]);
    let found = entries(dir.path());
    // Flip a byte in the middle of one entry (its data), cut the other short.
    let mut bytes = std::fs::read(&found[0]).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&found[0], &bytes).expect("write");
    let cut = std::fs::read(&found[1]).expect("read");
    std::fs::write(&found[1], &cut[..cut.len() - 20]).expect("write");
    let (stderr, results) = build(dir.path(), "out2", &[]);
    assert_eq!(stderr.matches("was discarded").count(), 2, "{stderr}");
    assert!(parsed(&stderr, "data/a.csv") && parsed(&stderr, "data/b.csv"), "{stderr}");
    assert_eq!(results, miss);
    // Rebuilt: the next build reads both from the cache.
    let (stderr, results) = build(dir.path(), "out3", &[]);
    assert!(cached(&stderr, "data/a.csv") && cached(&stderr, "data/b.csv"), "{stderr}");
    assert_eq!(results, miss);
}

#[test]
fn deleting_the_cache_or_no_cache_parses_again() {
    let dir = setup();
    let (_, miss) = build(dir.path(), "out1", &[]);
    std::fs::remove_dir_all(dir.path().join(".yardstick")).expect("delete");
    let (stderr, results) = build(dir.path(), "out2", &[]);
    assert!(parsed(&stderr, "data/a.csv"), "{stderr}");
    assert_eq!(results, miss);
    // `--no-cache` neither reads nor writes it.
    std::fs::remove_dir_all(dir.path().join(".yardstick")).expect("delete");
    let (stderr, results) = build(dir.path(), "out3", &["--no-cache"]);
    assert!(parsed(&stderr, "data/a.csv"), "{stderr}");
    assert!(!dir.path().join(".yardstick").exists());
    assert_eq!(results, miss);
    build(dir.path(), "out4", &[]);
    let (stderr, _) = build(dir.path(), "out5", &["--no-cache"]);
    assert!(parsed(&stderr, "data/a.csv") && !cached(&stderr, "data/a.csv"), "{stderr}");
}

#[test]
fn the_cache_can_be_moved_or_switched_off_but_not_outside_the_project() {
    let dir = setup();
    std::fs::write(dir.path().join("yardstick.yaml"), format!("{YAML}cache:\n  dir: tmp/parsed\n")).expect("write");
    build(dir.path(), "out1", &[]);
    assert!(!dir.path().join(".yardstick").exists());
    assert_eq!(std::fs::read_dir(dir.path().join("tmp/parsed")).expect("cache dir").count(), 2);
    std::fs::write(dir.path().join("yardstick.yaml"), format!("{YAML}cache:\n  enabled: false\n")).expect("write");
    let (stderr, _) = build(dir.path(), "out2", &[]);
    assert!(parsed(&stderr, "data/a.csv"), "{stderr}");
    assert!(!dir.path().join(".yardstick").exists());
    std::fs::write(dir.path().join("yardstick.yaml"), format!("{YAML}cache:\n  dir: /tmp\n")).expect("write");
    let never = dir.path().join("never");
    let (code, stdout, stderr) = yardstick(&["build", dir.path().to_str().expect("utf-8"), "--out", never.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("YS0304") || stderr.contains("YS0304"), "{stdout}{stderr}");
    assert!(!never.exists());
}

#[test]
fn a_file_with_errors_is_not_cached_and_fails_the_same_way_again() {
    let dir = setup();
    std::fs::write(dir.path().join("data/a.csv"), A.replace("2024-01-06", "2024-99-06")).expect("write");
    let first = yardstick(&["build", dir.path().to_str().expect("utf-8"), "--out", dir.path().join("o").to_str().expect("utf-8")]);
    let second = yardstick(&["build", dir.path().to_str().expect("utf-8"), "--out", dir.path().join("o").to_str().expect("utf-8")]);
    assert_eq!(first.0, 1);
    assert!(first.1.contains("data/a.csv:3: column `day`") || first.2.contains("data/a.csv:3: column `day`"), "{first:?}");
    assert_eq!(first, second);
    // b.csv (read after a.csv failed) is not in the cache either.
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn the_starter_project_ignores_the_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) = yardstick(&["init", dir.path().join("p").to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let ignore = std::fs::read_to_string(dir.path().join("p/.gitignore")).expect(".gitignore");
    assert!(ignore.lines().any(|l| l.trim() == ".yardstick/"), "{ignore}");
}
