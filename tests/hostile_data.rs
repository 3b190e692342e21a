//! Hostile or broken data and paths: no hang, no silent wrong number, nothing read or
//! written outside the project (issue "Reliability and security").

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

fn yardstick_in(cwd: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(yardstick_bin()).args(args).current_dir(cwd).env("NO_COLOR", "1").output().expect("runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    std::fs::write(path, bytes).expect("write");
}

fn failure(dir: &std::path::Path, options: yardstick::Options) -> String {
    match yardstick::evaluate_with(dir, options) {
        Ok(_) => panic!("expected an error"),
        Err(f) => f.render(false),
    }
}

#[test]
fn far_future_as_of_and_huge_scopes_fail_fast_naming_the_kpi() {
    let started = Instant::now();
    let as_of = yardstick::Options { as_of: chrono::NaiveDate::from_ymd_opt(9999, 12, 31), ..Default::default() };
    let err = failure(&repo().join("examples/city"), as_of);
    assert!(err.contains("YS0401") && err.contains("KPI `") && err.contains("since"), "{err}");
    let dir = project(
        "name: T\nsources:\n  s:\n    path: s.csv\n    time: t\n    columns:\n      t: date\n",
        &[("k.kpi", r#"goal g "G" { kpi d "D" { from s measure count() grain day between 1600-01-01 and 2400-01-01 } }"#)],
    );
    write(dir.path(), "s.csv", b"t\n2025-01-01\n");
    let err = failure(dir.path(), Default::default());
    assert!(err.contains("YS0401") && err.contains("KPI `d`"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
}

fn csv_source(format: &str, csv: &str) -> tempfile::TempDir {
    let dir = project(
        &format!(
            "name: T\nsources:\n  s:\n    path: s.csv\n    time: t\n    columns:\n      t: {{ type: timestamp, format: \"{format}\" }}\n      n: integer\n"
        ),
        &[("k.kpi", r#"goal g "G" { kpi c "C" { from s measure count() } kpi m "M" { from s measure count() grain month } }"#)],
    );
    write(dir.path(), "s.csv", csv.as_bytes());
    dir
}

#[test]
fn two_digit_years_and_far_dates_are_invalid_values() {
    // `%Y` reads `24` as the year 24: outside the default valid years 1900-2100.
    let err =
        failure(csv_source("%m/%d/%Y %I:%M:%S %p", "t,n\n01/01/2024 10:05:12 AM,1\n01/01/24 10:05:12 AM,2\n").path(), Default::default());
    assert!(err.contains("s.csv:3") && err.contains("year 0024") && err.contains("%y"), "{err}");
    let err = failure(csv_source("%Y-%m-%d", "t,n\n2023-06-15,1\n2300-06-15,2\n").path(), Default::default());
    assert!(err.contains("YS0301") && err.contains("s.csv:3") && err.contains("valid_years"), "{err}");
    // With `%y` it is 2024.
    let dir = csv_source("%m/%d/%y %I:%M:%S %p", "t,n\n01/01/24 10:05:12 AM,2\n");
    let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    assert_eq!(r.kpis[1].rows[0].period.as_deref(), Some("2024-01-01"));
}

#[test]
fn an_unclosed_quote_is_an_error_at_its_line() {
    let mut csv = String::from("t,n\n");
    for i in 0..2540 {
        if i == 3 {
            csv.push_str("\"2025-01-01 00:00:00,1\n"); // line 5: the quote never closes
        } else {
            csv.push_str(&format!("2025-01-01 00:00:00,{i}\n"));
        }
    }
    let err = failure(csv_source("%Y-%m-%d %H:%M:%S", &csv).path(), Default::default());
    assert!(err.contains("s.csv:5:"), "{err}");
}

#[test]
fn a_symlink_loop_never_reads_a_file_twice() {
    let dir = project(
        "name: T\nsources:\n  s:\n    path: data/**/permits.csv\n    columns:\n      n: integer\n",
        &[("k.kpi", r#"goal g "G" { kpi c "C" { from s measure count() } }"#)],
    );
    write(dir.path(), "data/permits.csv", b"n\n1\n2\n3\n");
    std::os::unix::fs::symlink(".", dir.path().join("data/loop")).expect("symlink");
    let (_, r) = yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("builds");
    assert_eq!(r.kpis[0].rows[0].value, Some(3.0));
    assert_eq!(r.sources["s"].stats.files, vec!["data/permits.csv"]);
}

#[test]
fn the_same_project_named_two_ways_builds_the_same_bytes() {
    let parent = tempfile::tempdir().expect("tempdir");
    copy_dir(&repo().join("examples/city"), &parent.path().join("city"));
    let (a, _, err) = yardstick_in(parent.path(), &["build", "./city", "--out", "a"]);
    assert_eq!(a, 0, "{err}");
    let (b, _, err) = yardstick_in(parent.path(), &["build", "city", "--out", "b"]);
    assert_eq!(b, 0, "{err}");
    let (c, _, err) = yardstick_in(&parent.path().join("city"), &["build", ".", "--out", "../c"]);
    assert_eq!(c, 0, "{err}");
    for file in ["results.json", "index.html"] {
        let read = |d: &str| std::fs::read(parent.path().join(d).join(file)).expect("output");
        assert!(read("a") == read("b") && read("b") == read("c"), "{file} differs with the project's spelling");
    }
}

#[test]
fn paths_outside_the_project_are_refused_unless_allowed() {
    let kpi = r#"goal g "G" { kpi c "C" { from s measure count() } }"#;
    let outside = tempfile::tempdir().expect("tempdir");
    write(outside.path(), "secret.csv", b"n\nroot\nadmin\n");
    let secret = outside.path().join("secret.csv").to_string_lossy().to_string();
    let dir = project(&format!("name: T\nsources:\n  s:\n    path: {secret}\n    columns:\n      n: string\n"), &[("k.kpi", kpi)]);
    let err = failure(dir.path(), Default::default());
    assert!(err.contains("YS0304") && err.contains("yardstick.yaml:4:") && err.contains("--allow-outside"), "{err}");
    assert!(!err.contains("root") && !err.contains("admin"), "nothing of the file is shown: {err}");
    let allowed = yardstick::Options { allow_outside: true, ..Default::default() };
    let (_, r) = yardstick::evaluate_with(dir.path(), allowed).map_err(|f| f.render(false)).expect("allowed");
    assert_eq!(r.kpis[0].rows[0].value, Some(2.0));
    // `allow_paths` in yardstick.yaml allows one directory.
    let dir = project(
        &format!(
            "name: T\nallow_paths: [\"{}\"]\nsources:\n  s:\n    path: {secret}\n    columns:\n      n: string\n",
            outside.path().display()
        ),
        &[("k.kpi", kpi)],
    );
    yardstick::evaluate(dir.path()).map_err(|f| f.render(false)).expect("allowed by allow_paths");
    // `../` and a symlink pointing out are outside too.
    let dir = project("name: T\nsources:\n  s:\n    path: data/link.csv\n    columns:\n      n: string\n", &[("k.kpi", kpi)]);
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    std::os::unix::fs::symlink(&secret, dir.path().join("data/link.csv")).expect("symlink");
    assert!(failure(dir.path(), Default::default()).contains("YS0304"));
    // The holidays file.
    let dir = project(
        &format!("name: T\ncalendar:\n  holidays_file: {secret}\nsources:\n  s:\n    path: s.csv\n    columns:\n      n: string\n"),
        &[("k.kpi", kpi)],
    );
    write(dir.path(), "s.csv", b"n\nx\n");
    let err = failure(dir.path(), Default::default());
    assert!(err.contains("YS0304") && err.contains("holidays_file") && !err.contains("admin"), "{err}");
    // The output directory from yardstick.yaml (but `--out` is the command line's choice).
    let dir = project("name: T\noutput: ../escaped\nsources:\n  s:\n    path: s.csv\n    columns:\n      n: string\n", &[("k.kpi", kpi)]);
    write(dir.path(), "s.csv", b"n\nx\n");
    let err = match yardstick::build(dir.path(), None) {
        Ok(_) => panic!("output outside the project must be refused"),
        Err(f) => f.render(false),
    };
    assert!(err.contains("YS0304") && err.contains("output"), "{err}");
    assert!(!dir.path().join("../escaped").exists());
}

fn parquet_project() -> tempfile::TempDir {
    project(
        "name: P\nsources:\n  p:\n    path: data/*.parquet\n    columns:\n      amount: integer\n      label: string\n",
        &[("k.kpi", r#"goal g "G" { kpi n "N" { from p measure sum(amount) } }"#)],
    )
}

#[test]
fn corrupt_parquet_files_are_errors_naming_the_file_never_panics() {
    let dir = parquet_project();
    write(dir.path(), "data/a.parquet", b"PAR1\xff\xff\xff\xffPAR1");
    let err = failure(dir.path(), Default::default());
    assert!(err.contains("YS0301") && err.contains("data/a.parquet"), "{err}");

    // Mutations of a real file: truncations and byte flips, seeded.
    let good = tempfile::tempdir().expect("tempdir");
    let good_path = good.path().join("g.parquet");
    let values: Vec<String> = (0..300).map(|i| format!("({i}, 'label {}')", i % 7)).collect();
    write_parquet(&good_path, &values.join(", "), "amount, label");
    let bytes = std::fs::read(&good_path).expect("read");
    let mut seed: u64 = 0x5eed_2026_1201;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut ok, mut refused) = (0, 0);
    for case in 0..150 {
        let mut m = bytes.clone();
        match case % 3 {
            0 => m.truncate((next() as usize) % m.len()),
            1 => {
                for _ in 0..1 + next() % 4 {
                    let i = (next() as usize) % m.len();
                    m[i] = next() as u8;
                }
            }
            _ => {
                // Flip bytes near the footer, where lengths and offsets live.
                let n = m.len();
                let i = n - 1 - (next() as usize) % n.min(200);
                m[i] ^= 1 << (next() % 8);
            }
        }
        write(dir.path(), "data/a.parquet", &m);
        let run = std::panic::catch_unwind(|| yardstick::evaluate(dir.path()).map(|_| ()).map_err(|f| f.render(false)));
        match run {
            Ok(Ok(())) => ok += 1,
            Ok(Err(e)) => {
                assert!(e.contains("YS03") && e.contains("data/a.parquet"), "case {case}: {e}");
                refused += 1;
            }
            Err(_) => panic!("case {case}: the Parquet reader panicked through yardstick"),
        }
    }
    assert!(refused > 50, "{ok} read, {refused} refused");
}

#[test]
fn parquet_dates_outside_the_valid_years_are_invalid_values() {
    let dir = project(
        "name: P\nsources:\n  p:\n    path: p.parquet\n    columns:\n      d: date\n",
        &[("k.kpi", r#"goal g "G" { kpi n "N" { from p measure count() } }"#)],
    );
    write_parquet(&dir.path().join("p.parquet"), "(DATE '2024-01-01'), (DATE '2300-06-15')", "d");
    let err = failure(dir.path(), Default::default());
    assert!(err.contains("YS0301") && err.contains("p.parquet") && err.contains("row 2") && err.contains("column `d`"), "{err}");
}

/// The CSV ingest fed mutations of every CSV under examples/ and tests/fixtures/ (byte flips,
/// deletions, duplicated lines, inserted quotes, delimiters, line ends, NUL and multi-byte
/// characters) under several column declarations: it returns batches or a diagnostic,
/// never panics. `YARDSTICK_CSV_FUZZ_CASES` / `YARDSTICK_CSV_FUZZ_SEED` run it longer.
#[test]
fn csv_ingest_never_panics_on_mutated_files() {
    let cases: usize = std::env::var("YARDSTICK_CSV_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4000);
    let mut seed: u64 = std::env::var("YARDSTICK_CSV_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x0c5f_2026);
    let start_seed = seed;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut corpus: Vec<Vec<u8>> = vec![];
    for root in ["examples", "tests/fixtures"] {
        collect_csv(&repo().join(root), &mut corpus);
    }
    assert!(!corpus.is_empty());
    // Cut big files to their first lines: mutations near the top are what matters.
    for c in corpus.iter_mut() {
        let cut = c.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(60).map(|(i, _)| i + 1).unwrap_or(c.len());
        c.truncate(cut);
    }
    let specs = [
        "a: string\n      b: string\n      c: string",
        "a: integer\n      b: { type: float, thousands: \",\" }\n      c: { type: timestamp, format: [\"%m/%d/%Y %I:%M:%S %p\", \"%Y-%m-%d\"] }",
        "a: { type: date, position: 1 }\n      b: { type: boolean, on_invalid: skip }\n      c: { type: string, position: 3 }",
    ];
    let inserts: [&[u8]; 10] = [b"\"", b",", b"\n", b"\r\n", b"\0", "\u{a0}".as_bytes(), "\u{2028}".as_bytes(), b"\xff\xfe", b"\"\"", b";"];
    for case in 0..cases {
        let mut bytes = corpus[(next() as usize) % corpus.len()].clone();
        for _ in 0..1 + next() % 6 {
            let at = if bytes.is_empty() { 0 } else { (next() as usize) % bytes.len() };
            match next() % 5 {
                0 if !bytes.is_empty() => bytes[at] = next() as u8,
                1 if !bytes.is_empty() => {
                    bytes.remove(at);
                }
                2 => {
                    let ins = inserts[(next() as usize) % inserts.len()];
                    bytes.splice(at..at, ins.iter().copied());
                }
                3 => {
                    let end = (at + (next() as usize) % 80).min(bytes.len());
                    let piece = bytes[at..end].to_vec();
                    bytes.splice(at..at, piece);
                }
                _ => bytes.truncate(at),
            }
        }
        let spec_text = specs[case % specs.len()];
        let header_policy = if case % 2 == 0 { "    on_invalid: \"null\"\n" } else { "" };
        let yaml = format!("name: F\nsources:\n  s:\n    path: s.csv\n{header_policy}    columns:\n      {spec_text}\n");
        let config = yardstick::config::load_config(Default::default(), &yaml).expect("fuzz yaml is valid");
        let spec = &config.sources["s"];
        // Declared columns are bound by position or by the header: use the file's first
        // header names as a, b, c so values reach the parsers.
        let mut bytes_named = b"a,b,c\n".to_vec();
        bytes_named.extend_from_slice(bytes.splitn(2, |b| *b == b'\n').nth(1).unwrap_or_default());
        for input in [&bytes, &bytes_named] {
            let run = std::panic::catch_unwind(|| {
                yardstick::ingest::read_csv_bytes("s", spec, yardstick::plan::declared_schema(spec), input, "s.csv").map(|_| ())
            });
            assert!(run.is_ok(), "seed {start_seed}, case {case}: the CSV ingest panicked on {:?}", String::from_utf8_lossy(input));
        }
    }
}

fn collect_csv(dir: &std::path::Path, out: &mut Vec<Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect_csv(&p, out);
        } else if p.extension().is_some_and(|e| e == "csv") {
            out.push(std::fs::read(&p).expect("read"));
        }
    }
}

#[test]
fn a_kpi_file_linking_outside_the_project_is_never_read() {
    let outside = tempfile::tempdir().expect("tempdir");
    write(outside.path(), "secret.kpi", b"root:x:0:0:root:/root:/bin/bash\n");
    let dir = project("name: T\nsources: {}\n", &[("metrics/a.kpi", "")]);
    std::os::unix::fs::symlink(outside.path().join("secret.kpi"), dir.path().join("metrics/b.kpi")).expect("symlink");
    let err = match yardstick::compile(dir.path()) {
        Ok(_) => panic!("a linked-out definition must be refused"),
        Err(f) => f.render(false),
    };
    assert!(err.contains("YS0304") && err.contains("metrics/b.kpi") && !err.contains("root:x"), "{err}");
}
