//! Hostile input: every reproducer of a panic, hang, stack overflow or slow path found so far
//! has a test here, and a seeded-random property test runs the whole front end (config load,
//! parse, check, plan, rendering) on random and mutated input. The rule under test: no panic,
//! hang or stack overflow on any input; every failure is a diagnostic with a registered code,
//! a span inside its file on char boundaries, and a rendering that never panics.
//!
//! Long runs: `YARDSTICK_FUZZ_CASES=1000000 YARDSTICK_FUZZ_SEED=42 cargo test --release --test
//! main hardening::fuzz -- --nocapture` (docs/security.md).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

use yardstick::diagnostics::{CODES, Diagnostics};
use yardstick::span::{FileId, SourceMap, Span};

use crate::common::*;

const BASE_YAML: &str = include_str!("fixtures/errors/base.yaml");

/// Characters that look like spaces (or nothing) and are not whitespace in the grammar.
const ODD_SPACES: &[char] = &[
    '\u{a0}', '\u{85}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}',
    '\u{2008}', '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{205f}', '\u{3000}',
];

/// CPU time of the current thread (Linux), else wall time since `since`: timing tests must not
/// fail because other processes share the machine.
fn thread_time(since: Instant) -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok();
    let ticks = stat.and_then(|s| {
        let fields: Vec<&str> = s.rsplit_once(')')?.1.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    });
    match ticks {
        // The kernel's USER_HZ is 100 on every Linux configuration Rust supports.
        Some(t) => Duration::from_millis(t * 10),
        None => since.elapsed(),
    }
}

/// Measure `f` in CPU time of this thread.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let wall = Instant::now();
    let before = thread_time(wall);
    let out = f();
    (out, thread_time(wall).saturating_sub(before))
}

/// Every diagnostic is well formed, and rendering (plain and coloured) never panics.
fn assert_well_formed(diagnostics: &Diagnostics, sources: &SourceMap, input: &dyn std::fmt::Debug) {
    assert!(!diagnostics.0.is_empty(), "a failure without diagnostics for {input:?}");
    for d in &diagnostics.0 {
        assert!(CODES.iter().any(|(c, _)| *c == d.code), "unregistered code {} for {input:?}", d.code);
        for span in d.span.iter().chain(d.secondary.iter().map(|l| &l.span)) {
            assert_span(span, sources, d, input);
        }
    }
    for color in [false, true] {
        let rendered = catch_unwind(AssertUnwindSafe(|| diagnostics.render(sources, color)));
        let rendered = rendered.unwrap_or_else(|_| panic!("rendering panicked for {input:?}: {diagnostics:?}"));
        assert!(rendered.ends_with("error\n") || rendered.ends_with("errors\n") || rendered.contains("warning"), "{rendered}");
        if !color {
            assert!(!rendered.contains('\u{1b}'), "an escape character reached the output for {input:?}:\n{rendered}");
        }
    }
}

fn assert_span(span: &Span, sources: &SourceMap, d: &yardstick::diagnostics::Diagnostic, input: &dyn std::fmt::Debug) {
    let file = sources.try_get(span.file).unwrap_or_else(|| panic!("span in an unknown file: {d:?} for {input:?}"));
    let (start, end) = (span.start as usize, span.end as usize);
    assert!(start <= end && end <= file.text.len(), "span {start}..{end} outside {} ({} bytes): {d:?}", file.name, file.text.len());
    assert!(
        file.text.is_char_boundary(start) && file.text.is_char_boundary(end),
        "span {start}..{end} not on char boundaries of {}: {d:?} for {input:?}",
        file.name
    );
}

/// Compile a project that must fail; check its diagnostics and return their codes and the plain
/// rendering, in which runs of whitespace and the gutter are one space (miette wraps lines).
fn failing(dir: &Path) -> (Vec<&'static str>, String) {
    let failure = match yardstick::compile(dir) {
        Ok(_) => panic!("{} should not compile", dir.display()),
        Err(f) => f,
    };
    assert_well_formed(&failure.diagnostics, &failure.sources, &dir);
    let rendered = failure.render(false);
    let flat = rendered.split_whitespace().filter(|w| *w != "│").collect::<Vec<_>>().join(" ");
    (failure.diagnostics.0.iter().map(|d| d.code).collect(), flat + "\n")
}

fn kpi_project(kpi: &str) -> tempfile::TempDir {
    project(BASE_YAML, &[("case.kpi", kpi)])
}

/// Run `f` on a thread with a small stack (like a test or tokio thread): deep input must not
/// depend on the main thread's 8 MiB.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(2 << 20).spawn(f).expect("spawn").join().expect("no panic")
}

// ---------------------------------------------------------------- 1. multi-byte characters

#[test]
fn hardening_multibyte_spaces_are_syntax_errors() {
    for &c in ODD_SPACES {
        for text in [
            c.to_string(),
            format!("goal g {{{c}}}"),
            format!("goal g {{ kpi k {{ from tickets{c}measure count() }} }}"),
            format!("goal g {{ kpi k {{ from tickets measure count(){c}"),
        ] {
            let (codes, rendered) = failing(kpi_project(&text).path());
            assert_eq!(codes, ["YS0100"], "{text:?}");
            assert!(rendered.contains(&format!("U+{:04X}", c as u32)), "{text:?}: names the character:\n{rendered}");
        }
    }
}

#[test]
fn hardening_spans_are_clamped_to_char_boundaries() {
    let mut sources = SourceMap::default();
    let id = sources.add("f.kpi", "a\u{a0}b\u{3000}");
    // Inside U+00A0 (bytes 1..3) and past the end.
    assert_eq!(sources.clamp(Span::new(id, 2..2)), 1..3);
    assert_eq!(sources.clamp(Span::new(id, 2..4)), 1..4);
    assert_eq!(sources.clamp(Span::new(id, 2..5)), 1..7);
    assert_eq!(sources.clamp(Span::new(id, 4..100)), 4..7);
    assert_eq!(sources.slice(Span::new(id, 2..3)), "\u{a0}");
    assert_eq!(sources.line_col(Span::new(id, 3..3)), (1, 3));
    assert_eq!(sources.line_col(Span::new(FileId(9), 0..1)), (1, 1));
    let d = Diagnostics::one(yardstick::diagnostics::Diagnostic::error("YS0100", "x").at(Span::new(id, 2..5), "here"));
    assert!(d.render(&sources, false).contains("f.kpi:1:2"));
}

// ---------------------------------------------------------------- 2. long lines

#[test]
fn hardening_diagnostics_on_very_long_lines_render_a_window() {
    let text = format!("{}x\n", " ".repeat(65_536));
    let (codes, rendered) = failing(kpi_project(&text).path());
    assert_eq!(codes, ["YS0100"]);
    assert!(rendered.contains("case.kpi:1:65537"), "{rendered}");
    assert!(rendered.contains("…") && rendered.len() < 2_000, "the line is cut to a window:\n{rendered}");

    // A label 70,000 chars wide, after 70,000 chars of the line.
    let name = "c".repeat(70_000);
    let text = format!("goal g {{ kpi k {{ from tickets measure count() where status = \"{}\" by `{name}` }} }}\n", "s".repeat(70_000));
    let (codes, rendered) = failing(kpi_project(&text).path());
    assert_eq!(codes, ["YS0201"]);
    let col = text.find('`').expect("backtick") + 1;
    assert!(rendered.contains(&format!("case.kpi:1:{col}:")) && rendered.len() < 2_000, "{}", &rendered[..2_000.min(rendered.len())]);
    assert!(rendered.contains("unknown column `cccccccccccccccccccccccccccccc…cccccccccc` in source `tickets`"), "{rendered}");

    // A 65,536-char source name in yardstick.yaml.
    let yaml = format!("name: P\nsources:\n  {}-x:\n    path: s.csv\n    columns:\n      a: string\n", "s".repeat(65_536));
    let dir = project(&yaml, &[("k.kpi", "goal g { kpi k { from s measure count() } }")]);
    let (codes, rendered) = failing(dir.path());
    assert_eq!(codes, ["YS0002"]);
    assert!(rendered.contains("yardstick.yaml:3:3") && rendered.len() < 140_000);
}

// ---------------------------------------------------------------- 3. depth and size limits

fn where_clause(expr: &str) -> String {
    format!("goal g {{ kpi k {{ from tickets measure count() where {expr} }} }}\n")
}

#[test]
fn hardening_deep_or_huge_expressions_are_errors() {
    let cases = [
        ("parentheses", format!("{}true{}", "(".repeat(5_000), ")".repeat(5_000))),
        ("calls", format!("{}1{}", "abs(".repeat(5_000), ")".repeat(5_000))),
        ("not", format!("{}true", "not ".repeat(5_000))),
        ("negation", format!("priority = {}1", "- ".repeat(10_000))),
        ("or", vec!["escalated"; 5_000].join(" or ")),
        ("in", format!("priority {}1{}", "in (".repeat(5_000), ")".repeat(5_000))),
        ("minus", format!("priority{} = 1", " - 1".repeat(10_000))),
        ("plus", format!("priority{} = 1", " + 1".repeat(10_000))),
        ("plus at build", format!("priority{} = 1", " + 1".repeat(3_000))),
        ("is null", format!("priority{}", " is null".repeat(5_000))),
    ];
    for (what, expr) in cases {
        let text = where_clause(&expr);
        let (codes, rendered) = on_small_stack(move || failing(kpi_project(&text).path()));
        assert_eq!(codes, ["YS0102"], "{what}:\n{rendered}");
        assert!(rendered.contains("Limits)"), "{what}: help names the limits: {rendered}");
    }
    // In a `measure` too, and in a filter inside a call.
    let text = format!("goal g {{ kpi k {{ from tickets measure sum(cost where {}) }} }}", vec!["escalated"; 3_000].join(" and "));
    assert_eq!(on_small_stack(move || failing(kpi_project(&text).path()).0), ["YS0102"]);
    // Nesting inside strings, quoted names and comments does not count.
    let text =
        format!("// {}\ngoal g {{ kpi k {{ from tickets measure count() where status = \"{}\" }} }}", "(".repeat(1_000), "(".repeat(1_000));
    assert!(yardstick::compile(kpi_project(&text).path()).is_ok());
}

#[test]
fn hardening_expressions_up_to_the_limits_build() {
    use yardstick::limits::{MAX_EXPR_NODES, MAX_NESTING};
    // Just under the limits, on a small stack: check, plan, SQL and a run on DataFusion.
    let chain = (MAX_EXPR_NODES - 3) / 2;
    let plus = format!("priority{} = 1", " + 0".repeat(chain));
    let ors = format!("{} or escalated", vec!["priority = 1"; (MAX_EXPR_NODES - 1) / 4].join(" or "));
    let nested = format!("{}priority = 1{}", "(".repeat(MAX_NESTING - 1), ")".repeat(MAX_NESTING - 1));
    let nots = format!("{}true", "not ".repeat(MAX_NESTING - 2));
    for expr in [plus, ors, nested, nots] {
        on_small_stack(move || {
            let yaml = "name: P\nsources:\n  tickets:\n    path: t.csv\n    time: opened_at\n    columns:\n      opened_at: date\n      priority: integer\n      escalated: boolean\n";
            let kpi = format!("goal g {{ kpi k {{ from tickets measure count() where {expr} grain month }} }}");
            let dir = project(yaml, &[("k.kpi", &kpi)]);
            std::fs::write(dir.path().join("t.csv"), "opened_at,priority,escalated\n2024-01-05,1,false\n2024-02-05,2,true\n").expect("csv");
            let compiled = yardstick::compile(dir.path()).unwrap_or_else(|f| panic!("{}", f.render(false)));
            assert!(compiled.sql()["k"].contains("SELECT"));
            let (_, results) = yardstick::evaluate(dir.path()).unwrap_or_else(|f| panic!("{}", f.render(false)));
            assert_eq!(results.kpis.len(), 1);
        });
    }
}

#[test]
fn hardening_long_derived_cycles_and_chains_are_walked_without_recursion() {
    let n = 13_900;
    let mut text = String::from("goal g {\n  kpi base { from tickets measure count() }\n");
    for i in 0..n {
        text.push_str(&format!("  kpi d{i} {{ measure d{} + base }}\n", (i + 1) % n));
    }
    text.push_str("}\n");
    let (codes, rendered) = on_small_stack(move || failing(kpi_project(&text).path()));
    assert_eq!(codes, ["YS0230"], "{rendered}");
    assert!(rendered.contains("refer to each other"));

    // A chain (no cycle) of derived KPIs checks, plans and runs, each after its input.
    let mut text = String::from("goal g {\n");
    for i in 0..2_999 {
        text.push_str(&format!("  kpi d{i} {{ measure d{} + 1 }}\n", i + 1));
    }
    text.push_str("  kpi d2999 { from tickets measure count() }\n}\n");
    let values = on_small_stack(move || {
        let dir = kpi_project(&text);
        std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
        std::fs::write(
            dir.path().join("data/tickets.csv"),
            "id,opened_at,closed_at,district,priority,cost,status,escalated\n1,2024-01-02T10:00:00,,n,1,2.5,open,false\n",
        )
        .expect("csv");
        let (_, results) = yardstick::evaluate(dir.path()).unwrap_or_else(|f| panic!("{}", f.render(false)));
        results.kpis.iter().map(|k| k.rows.first().and_then(|r| r.value)).collect::<Vec<_>>()
    });
    assert_eq!(values.len(), 3_000);
    // d2999 counts one row; each link adds 1.
    assert_eq!((values[2_999], values[0]), (Some(1.0), Some(3_000.0)));
}

/// Found by the property test: a source column named like a column of yardstick's own plans
/// (`m0`, `base_period`, ...) made planning fail (YS0400, "a bug in yardstick").
#[test]
fn hardening_columns_named_like_plan_internals_build() {
    let yaml = "name: P\nsources:\n  s:\n    path: s.csv\n    time: t\n    columns:\n      t: date\n      m0: string\n      m1: float\n      m0_: string\n      base_period: string\n      window_offset: string\n      last_base: string\n      period: integer\n";
    let csv = "t,m0,m1,m0_,base_period,window_offset,last_base,period\n2024-01-03,a,1.5,b,c,d,e,2\n2024-02-03,a,2.5,b,c,d,e,3\n";
    for measure in [
        "count() by m0",
        "sum(m1) + count() by m0, m0_",
        "count() by base_period, window_offset, last_base grain month rolling 3 months",
        "sum(period) + sum(m1) grain month year_to_date",
    ] {
        let kpi = format!("goal g {{ kpi k {{ from s measure {measure} }} }}");
        let dir = project(yaml, &[("k.kpi", &kpi)]);
        std::fs::write(dir.path().join("s.csv"), csv).expect("csv");
        let (_, results) = yardstick::evaluate(dir.path()).unwrap_or_else(|f| panic!("{measure}: {}", f.render(false)));
        assert!(results.kpis[0].rows.iter().any(|r| r.value.is_some()), "{measure}");
    }
}

/// Found by the property test (seed 20251201, case 279634): a constant measure without a grain
/// (`measure 3`) passed check, then failed to plan (YS0400).
#[test]
fn hardening_constant_measures_plan() {
    for (measure, rows) in [("3", 1), ("1 + 2 * 3", 1), ("3 grain month", 2), ("3 by district", 2)] {
        let dir = kpi_project(&format!("goal g {{ kpi n {{ from tickets measure {measure} }} }}"));
        std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
        std::fs::write(
            dir.path().join("data/tickets.csv"),
            "id,opened_at,closed_at,district,priority,cost,status,escalated\n1,2024-01-02T10:00:00,,n,1,2.5,open,false\n2,2024-02-02T10:00:00,,s,1,2.5,open,false\n",
        )
        .expect("csv");
        let (_, results) = yardstick::evaluate(dir.path()).unwrap_or_else(|f| panic!("{measure}: {}", f.render(false)));
        let values: Vec<_> = results.kpis[0].rows.iter().map(|r| r.value).collect();
        assert_eq!(values.len(), rows, "{measure}: {values:?}");
        assert!(values.iter().all(|v| v.is_some_and(|v| v == 3.0 || v == 7.0)), "{measure}: {values:?}");
    }
}

// ---------------------------------------------------------------- 4. closed output streams

#[test]
fn hardening_closed_stdout_or_stderr_is_not_a_crash() {
    let bin = yardstick_bin();
    let ok = repo().join("examples/city");
    let bad = kpi_project("goal g { kpi k { from nowhere measure count() } }");
    for (args, code) in [
        (vec!["check".to_string(), ok.display().to_string()], 0),
        (vec!["sql".to_string(), ok.display().to_string(), "answered_10s".to_string()], 0),
        (vec!["check".to_string(), bad.path().display().to_string()], 1),
        (vec!["--help".to_string()], 0),
    ] {
        for closed in ["stdout", "stderr", "both"] {
            let (reader, writer) = std::io::pipe().expect("pipe");
            drop(reader);
            let mut cmd = std::process::Command::new(&bin);
            cmd.args(&args);
            match closed {
                "stdout" => cmd.stdout(writer).stderr(std::process::Stdio::piped()),
                "stderr" => cmd.stderr(writer).stdout(std::process::Stdio::piped()),
                _ => cmd.stdout(writer.try_clone().expect("clone")).stderr(writer),
            };
            let out = cmd.output().expect("run yardstick");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(code), "{args:?} with {closed} closed: {stderr}");
            assert!(!stderr.contains("panicked"), "{args:?} with {closed} closed: {stderr}");
        }
    }
}

// ---------------------------------------------------------------- 5. many diagnostics

#[test]
fn hardening_twenty_thousand_errors_check_quickly() {
    let mut text = String::from("goal g {\n");
    for _ in 0..20_000 {
        text.push_str("  kpi k { from tickets measure count() }\n");
    }
    text.push_str("}\n");
    let dir = kpi_project(&text);
    let ((codes, rendered), took) = timed(|| failing(dir.path()));
    assert_eq!(codes.len(), 19_999);
    assert!(rendered.contains("... and 19,949 more errors (not shown)") && rendered.ends_with("19,999 errors\n"), "{rendered}");
    assert!(rendered.len() < 50_000, "only the first errors are drawn");
    assert!(took < Duration::from_secs(3), "checking 20,000 duplicate ids took {took:?}");
}

#[test]
fn hardening_line_lookup_is_not_a_rescan() {
    // 200,000 lines; a million lookups.
    let text = "x\n".repeat(200_000);
    let mut sources = SourceMap::default();
    let id = sources.add("f", text);
    let (_, took) = timed(|| {
        for i in 0..1_000_000u64 {
            let offset = (i * 7919) % 400_000;
            assert_eq!(sources.line_col(Span::new(id, offset as usize..offset as usize)).0, offset as usize / 2 + 1);
        }
    });
    assert!(took < Duration::from_secs(3), "{took:?}");
}

// ---------------------------------------------------------------- 6. large and deep yaml

#[test]
fn hardening_deep_yaml_is_an_error_and_wide_yaml_is_fast() {
    let kpi = [("k.kpi", "goal g { kpi k { from s measure count() } }")];
    for open in ["[", "{", "- [", "{a: "] {
        let yaml = format!("name: P\ntitle: {}\n", open.repeat(100_000));
        let dir = project(&yaml, &kpi);
        let ((codes, rendered), took) = timed(|| failing(dir.path()));
        assert_eq!(codes, ["YS0002"], "{open}: {rendered}");
        assert!(rendered.contains("nested more than 64 levels"), "{open}: {rendered}");
        assert!(took < Duration::from_secs(3), "{open}: {took:?}");
    }
    // Brackets in quoted scalars and comments are not nesting.
    let yaml = format!("name: '{}'\ntitle: \"{}\" # {}\n", "[".repeat(100), "{".repeat(100), "[".repeat(100));
    assert!(yardstick::config::load_config(FileId(0), &yaml).is_ok());

    // 100,000 columns and 100 KPIs; 1,000 sources with a bad name each.
    let mut yaml = String::from("name: P\nsources:\n  s:\n    path: s.csv\n    columns:\n");
    for i in 0..100_000 {
        yaml.push_str(&format!("      c{i}: string\n"));
    }
    let kpis: String = (0..100).map(|i| format!("goal g{i} {{ kpi k{i} {{ from s measure count() by c{} }} }}\n", i * 997)).collect();
    let dir = project(&yaml, &[("k.kpi", &kpis)]);
    let (compiled, took) = timed(|| yardstick::compile(dir.path()).map(|c| c.plans.len()).ok());
    assert_eq!(compiled, Some(100));
    // Linear work takes about 10 s of CPU in a debug build on a busy machine; quadratic work
    // would take hours.
    assert!(took < Duration::from_secs(40), "100,000 columns took {took:?}");

    let mut yaml = String::from("name: P\nsources:\n");
    for i in 0..1_000 {
        yaml.push_str(&format!("  bad-{i}:\n    path: s.csv\n    columns:\n      a: string\n"));
    }
    let (result, took) = timed(|| yardstick::config::load_config(FileId(0), &yaml).map(|_| ()));
    assert_eq!(result.expect_err("bad names").0.len(), 1_000);
    assert!(took < Duration::from_secs(3), "1,000 bad source names took {took:?}");
}

#[test]
fn hardening_a_project_ten_times_real_size_checks_in_about_a_second() {
    // 20 sources of 200 columns, 1,000 KPIs: ten times the largest real project we know.
    let mut yaml = String::from("name: P\nsources:\n");
    for s in 0..20 {
        yaml.push_str(&format!("  s{s}:\n    path: s{s}.csv\n    time: t\n    columns:\n      t: timestamp\n"));
        for c in 0..200 {
            yaml.push_str(&format!("      c{c}: {}\n", if c % 2 == 0 { "string" } else { "float" }));
        }
    }
    let mut kpis = String::new();
    for g in 0..50 {
        kpis.push_str(&format!("goal g{g} \"Goal {g}\" {{\n"));
        for k in 0..20 {
            let (s, c) = ((g + k) % 20, (k * 2 + 1) % 200);
            kpis.push_str(&format!(
                "  kpi k{g}_{k} \"KPI\" {{\n    from s{s}\n    measure avg(c{c}) where c{} = 'x' and c{c} > 0\n    by c{}\n    grain month\n    target >= 5\n  }}\n",
                c - 1,
                (c + 1) % 200
            ));
        }
        kpis.push_str("}\n");
    }
    let dir = project(&yaml, &[("k.kpi", &kpis)]);
    let (compiled, took) = timed(|| yardstick::compile(dir.path()).map(|c| c.plans.len()).map_err(|f| f.render(false)));
    assert_eq!(compiled, Ok(1_000));
    // "About a second" in release; debug builds are several times slower.
    assert!(took < Duration::from_secs(if cfg!(debug_assertions) { 8 } else { 2 }), "took {took:?}");
}

// ---------------------------------------------------------------- 7. duplicate yaml keys

#[test]
fn hardening_duplicate_sources_and_columns_are_errors() {
    let kpi = [("k.kpi", "goal g { kpi k { from s measure count() } }")];
    let columns = "name: P\nsources:\n  s:\n    path: s.csv\n    columns:\n      a: string\n      b: integer\n      a: float\n";
    let (codes, rendered) = failing(project(columns, &kpi).path());
    assert_eq!(codes, ["YS0002"]);
    assert!(rendered.contains("`a` is declared twice, on lines 6 and 8"), "{rendered}");
    assert!(rendered.contains("first declared here") && rendered.contains("declared again here"), "{rendered}");

    let sources =
        "name: P\nsources:\n  s:\n    path: s.csv\n    columns:\n      a: string\n  s:\n    path: t.csv\n    columns:\n      b: string\n";
    let (codes, rendered) = failing(project(sources, &kpi).path());
    assert_eq!(codes, ["YS0002"]);
    assert!(rendered.contains("`s` is declared twice, on lines 3 and 7"), "{rendered}");

    // Flow style: still an error, at the map.
    let flow = "name: P\nsources:\n  s: {path: s.csv, columns: {a: string, a: float}}\n";
    let (codes, rendered) = failing(project(flow, &kpi).path());
    assert_eq!(codes, ["YS0002"]);
    assert!(rendered.contains("`a` is declared twice"), "{rendered}");
}

// ---------------------------------------------------------------- 8. not UTF-8

#[test]
fn hardening_files_that_are_not_utf8_are_located() {
    let dir = kpi_project("");
    std::fs::write(dir.path().join("case.kpi"), b"goal g {\n  kpi k { from tickets\xff measure count() } }\n").expect("write");
    let (codes, rendered) = failing(dir.path());
    assert_eq!(codes, ["YS0001"]);
    assert!(rendered.contains("case.kpi:2:23") && rendered.contains("byte 0xFF at line 2, column 23"), "{rendered}");

    std::fs::write(dir.path().join("yardstick.yaml"), b"name: P\n# caf\xe9\n").expect("write");
    let (codes, rendered) = failing(dir.path());
    assert_eq!(codes, ["YS0001"]);
    assert!(rendered.contains("yardstick.yaml:2:6") && rendered.contains("byte 0xE9"), "{rendered}");
}

// ---------------------------------------------------------------- 9. terminal escapes

#[test]
fn hardening_control_characters_never_reach_the_terminal() {
    let esc = "\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m\u{202e}";
    for text in [
        format!("goal g {{ kpi k {{ from tickets measure count() by `{esc}` }} }}"),
        format!("goal g {{ kpi k {{ from tickets measure count() }} }} {esc}"),
        format!("goal g \"{esc}\" {{ kpi k {{ from tickets\u{1b} measure count() }} }}"),
    ] {
        let (_, rendered) = failing(kpi_project(&text).path());
        assert!(!rendered.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}']), "{rendered:?}");
        assert!(rendered.contains("\\u{1b}"), "shown escaped: {rendered}");
    }
    assert_eq!(yardstick::diagnostics::escape_text("a\tb\nc\u{1b}"), "a\tb\nc\\u{1b}");
}

// ---------------------------------------------------------------- property test

/// xorshift64*: small, seeded, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed, never zero.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Reserved words (from the parser, so the lists cannot drift apart), then the contextual
/// clause words, operators and punctuation.
fn tokens() -> Vec<&'static str> {
    yardstick::parse::RESERVED_WORDS.iter().chain(MORE_TOKENS).copied().collect()
}

const MORE_TOKENS: &[&str] = &[
    "tolerance",
    "between",
    "since",
    "rolling",
    "year_to_date",
    "fiscal_year_to_date",
    "cumulative",
    "compare",
    "baseline",
    "direction",
    "{",
    "}",
    "(",
    ")",
    ",",
    ":",
    "=",
    "==",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "pp",
    "$",
    "€",
    "£",
    "\"t\"",
    "'s'",
    "`q w`",
    "\"",
    "'",
    "`",
    "0",
    "1",
    "90",
    "3.5",
    "2024-01-01",
    "2024-13-45",
    "99999999999999999999999999",
    "count()",
    "sum(",
    "avg(",
    "median(",
    "percentile(",
    "share(",
    "ratio(",
    "days_between(",
    "business_days_between(",
    "tickets",
    "budget",
    "priority",
    "cost",
    "status",
    "opened_at",
    "closed_at",
    "escalated",
    "month",
    "week",
    "day",
    "quarter",
    "year",
    "fiscal_year",
    "previous_period",
    "same_period_last_year",
    "higher",
    "lower",
    "//",
    "#",
    "\n",
    " ",
    "\t",
    "\r\n",
    "\u{feff}",
    "k",
    "g",
    "o",
    "x_1",
];

/// Hostile insertions: invisible and multi-byte characters, controls, runs, deep nesting.
fn hostile(rng: &mut Rng) -> String {
    let most = if rng.chance(5) { 3_000 } else { 8 };
    let n = 1 + rng.below(most);
    match rng.below(9) {
        0 => rng.pick(ODD_SPACES).to_string().repeat(n),
        1 => ["\u{1b}[31m", "\u{0}", "\u{7f}", "\u{9b}", "\r", "\u{202e}", "\u{200b}", "\u{fffd}"][rng.below(8)].repeat(n),
        2 => "(".repeat(n * 20),
        3 => "not ".repeat(n * 10),
        4 => " or x".repeat(n * 10),
        5 => "\"".to_string() + &"é".repeat(n),
        6 => "9".repeat(n * 50),
        7 => "[".repeat(n * 20) + &"{".repeat(n),
        _ => ["é", "€", "😀", "\u{10ffff}", "ß", "\u{301}"][rng.below(6)].repeat(n),
    }
}

fn mutate(rng: &mut Rng, text: &[u8]) -> Vec<u8> {
    let mut out = text.to_vec();
    // Often one small change, so that most of the file still checks and plans.
    let changes = if rng.chance(50) { 1 } else { 1 + rng.below(4) };
    for _ in 0..changes {
        let at = rng.below(out.len() + 1);
        match rng.below(8) {
            // Replace the word at `at` by a token or by another word of the text.
            6 | 7 => {
                let is_word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
                let start = out[..at].iter().rposition(|b| !is_word(b)).map_or(0, |i| i + 1);
                let end = out[at..].iter().position(|b| !is_word(b)).map_or(out.len(), |i| at + i);
                let words: Vec<&[u8]> = text.split(|b| !is_word(b)).filter(|w| !w.is_empty()).collect();
                let word =
                    if rng.chance(50) && !words.is_empty() { rng.pick(&words).to_vec() } else { rng.pick(&tokens()).as_bytes().to_vec() };
                out.splice(start..end, word);
            }
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let end = (at + rng.below(64)).min(out.len());
                out.drain(at..end);
            }
            2 => {
                let end = (at + rng.below(256)).min(out.len());
                let piece = out[at..end].to_vec();
                let most = if rng.chance(10) { 200 } else { 3 };
                for _ in 0..1 + rng.below(most) {
                    out.splice(at..at, piece.iter().copied());
                }
            }
            3 => {
                let h = hostile(rng);
                out.splice(at..at, h.bytes());
            }
            4 => {
                let t = (*rng.pick(&tokens())).to_string() + " ";
                out.splice(at..at, t.bytes());
            }
            _ => {
                let b = rng.next() as u8;
                out.insert(at, b);
            }
        }
    }
    out
}

fn random_tokens(rng: &mut Rng) -> Vec<u8> {
    let mut out = String::new();
    for _ in 0..rng.below(300) {
        let all = tokens();
        let token: &&str = rng.pick(&all);
        out.push_str(token);
        if rng.chance(70) {
            out.push(' ');
        }
        if rng.chance(2) {
            out.push_str(&hostile(rng));
        }
    }
    out.into_bytes()
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    (0..rng.below(400)).map(|_| rng.next() as u8).collect()
}

/// A project: its yaml and its `.kpi` files (name, bytes).
type Project = (Vec<u8>, Vec<(String, Vec<u8>)>);

/// The projects, `.kpi` files and yaml files under `examples/` and `tests/fixtures/`.
struct Corpus {
    projects: Vec<Project>,
    kpis: Vec<Vec<u8>>,
    yamls: Vec<Vec<u8>>,
}

fn corpus() -> Corpus {
    let read = |p: &Path| std::fs::read(p).expect("read corpus file");
    let kpis_in = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = walk(dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "kpi")).collect();
        v.sort();
        v.iter().map(|p| (p.strip_prefix(dir).expect("under dir").display().to_string(), read(p))).collect()
    };
    let mut projects = vec![];
    for dir in ["examples/city", "tests/fixtures/values", "tests/fixtures/real"] {
        let dir = repo().join(dir);
        projects.push((read(&dir.join("yardstick.yaml")), kpis_in(&dir)));
    }
    let errors = repo().join("tests/fixtures/errors");
    let base = read(&errors.join("base.yaml"));
    let ok = b"goal g \"G\" { kpi n \"N\" { from tickets measure count() } }\n".to_vec();
    let mut names: Vec<_> = std::fs::read_dir(&errors).expect("errors").map(|e| e.expect("entry").path()).collect();
    names.sort();
    for p in names {
        match p.extension().and_then(|e| e.to_str()) {
            Some("kpi") => projects.push((base.clone(), vec![("case.kpi".into(), read(&p))])),
            Some("yaml") => projects.push((read(&p), vec![("ok.kpi".into(), ok.clone())])),
            _ => {}
        }
    }
    let kpis = projects.iter().flat_map(|(_, k)| k.iter().map(|(_, t)| t.clone())).collect();
    let yamls = projects.iter().map(|(y, _)| y.clone()).collect();
    Corpus { projects, kpis, yamls }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).expect("read dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "out" && n != "data") {
                out.extend(walk(&p));
            }
        } else {
            out.push(p);
        }
    }
    out
}

/// What one case runs: `parse` a `.kpi` text, `config` a yaml text, or `compile` a project.
enum Case {
    Parse(Vec<u8>),
    Config(Vec<u8>),
    Compile(Vec<u8>, Vec<(String, Vec<u8>)>),
}

/// Inputs shown as (lossy) text, so that a failing case can be read and copied.
impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match self {
            Case::Parse(b) => f.debug_tuple("Parse").field(&text(b)).finish(),
            Case::Config(b) => f.debug_tuple("Config").field(&text(b)).finish(),
            Case::Compile(yaml, kpis) => {
                let kpis: Vec<(&str, String)> = kpis.iter().map(|(n, b)| (n.as_str(), text(b))).collect();
                f.debug_tuple("Compile").field(&text(yaml)).field(&kpis).finish()
            }
        }
    }
}

fn case(rng: &mut Rng, corpus: &Corpus) -> Case {
    let text = |rng: &mut Rng, pool: &[Vec<u8>]| match rng.below(10) {
        0 => random_bytes(rng),
        1 | 2 => random_tokens(rng),
        _ => {
            let base = rng_pick(rng, pool);
            mutate(rng, base)
        }
    };
    match rng.below(10) {
        0..=4 => Case::Parse(text(rng, &corpus.kpis)),
        5 | 6 => Case::Config(text(rng, &corpus.yamls)),
        _ => {
            // Half the time one of the three projects that build (the first ones), else an error fixture.
            let which = if rng.chance(50) { rng.below(3) } else { rng.below(corpus.projects.len()) };
            let (yaml, kpis) = &corpus.projects[which];
            let mut yaml = yaml.clone();
            let mut kpis = kpis.clone();
            if rng.chance(20) {
                yaml = mutate(rng, &yaml);
            } else {
                let i = rng.below(kpis.len());
                kpis[i].1 = if rng.chance(85) { mutate(rng, &kpis[i].1) } else { random_tokens(rng) };
            }
            Case::Compile(yaml, kpis)
        }
    }
}

fn rng_pick<'a>(rng: &mut Rng, pool: &'a [Vec<u8>]) -> &'a [u8] {
    &pool[rng.below(pool.len())]
}

/// Run one case; its outcome (`parse ok`, `compile YS0201`, ...) or a broken rule.
fn run_case(case: &Case, dir: &Path) -> Result<String, String> {
    let first = |d: &Diagnostics| d.0.first().map(|d| d.code).unwrap_or("-");
    let outcome = catch_unwind(AssertUnwindSafe(|| match case {
        Case::Parse(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            let mut sources = SourceMap::default();
            let id = sources.add("case.kpi", text.as_ref());
            match yardstick::parse::parse_file(id, &text) {
                Ok(_) => "parse ok".to_string(),
                Err(d) => {
                    assert_well_formed(&d, &sources, case);
                    format!("parse {}", first(&d))
                }
            }
        }
        Case::Config(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            let mut sources = SourceMap::default();
            let id = sources.add("yardstick.yaml", text.as_ref());
            match yardstick::config::load_config(id, &text) {
                Ok(_) => "config ok".to_string(),
                Err(d) => {
                    assert_well_formed(&d, &sources, case);
                    format!("config {}", first(&d))
                }
            }
        }
        Case::Compile(yaml, kpis) => {
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir).expect("case dir");
            std::fs::write(dir.join("yardstick.yaml"), yaml).expect("write yaml");
            for (name, text) in kpis {
                let path = dir.join(name);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(path, text).expect("write kpi");
            }
            match yardstick::compile(dir) {
                Ok(c) => {
                    let _ = c.sql();
                    "compile ok (planned)".to_string()
                }
                Err(f) => {
                    assert_well_formed(&f.diagnostics, &f.sources, case);
                    // A checked model that cannot be planned is a bug (YS0400 says so).
                    assert!(!f.diagnostics.0.iter().any(|d| d.code == "YS0400"), "planning failed: {}", f.render(false));
                    format!("compile {}", first(&f.diagnostics))
                }
            }
        }
    }));
    outcome.map_err(|e| e.downcast_ref::<String>().cloned().or(e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default())
}

/// The property test. `YARDSTICK_FUZZ_CASES` (default 5,000), `YARDSTICK_FUZZ_SEED` (default
/// fixed) and `YARDSTICK_FUZZ_CASE` (run only that case of the seed) choose what runs; case `i`
/// of a seed is always the same input.
#[test]
fn hardening_fuzz_front_end() {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let cases = env("YARDSTICK_FUZZ_CASES").unwrap_or(5_000);
    let seed = env("YARDSTICK_FUZZ_SEED").unwrap_or(0x5eed);
    let only = env("YARDSTICK_FUZZ_CASE");
    // Triage: `YARDSTICK_FUZZ_SHOW="compile YS0400"` runs only that kind of case and prints the
    // ones with that outcome.
    let show = std::env::var("YARDSTICK_FUZZ_SHOW").ok();
    let corpus = corpus();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    let started = Instant::now();
    let mut failures = vec![];
    let mut slowest = (Duration::ZERO, 0);
    let mut outcomes: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    let mut ran = 0u64;
    for i in only.map_or(0..cases, |c| c..c + 1) {
        let mut rng = Rng::new(seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let case = case(&mut rng, &corpus);
        let kind = match &case {
            Case::Parse(_) => "parse",
            Case::Config(_) => "config",
            Case::Compile(..) => "compile",
        };
        if show.as_deref().is_some_and(|s| !s.starts_with(kind)) {
            continue;
        }
        let t = Instant::now();
        ran += 1;
        let result = run_case(&case, &dir);
        let took = t.elapsed();
        slowest = slowest.max((took, i));
        if let Ok(outcome) = &result {
            *outcomes.entry(outcome.clone()).or_default() += 1;
            if show.as_deref() == Some(outcome.as_str()) {
                let shown = format!("{case:?}");
                eprintln!("fuzz case {i} (seed {seed}): {outcome}\ninput: {}", &shown[..shown.len().min(20_000)]);
            }
        }
        if let Err(why) = result {
            let shown = format!("{case:?}");
            eprintln!("fuzz case {i} (seed {seed}) broke a rule: {why}\ninput: {}", &shown[..shown.len().min(4_000)]);
            failures.push(i);
        }
        if cases > 10_000 && i % 10_000 == 0 {
            eprintln!("fuzz: {i} cases in {:?}, {} failures", started.elapsed(), failures.len());
        }
    }
    eprintln!("fuzz: {ran} cases, seed {seed}, {:?}; slowest case {} took {:?}", started.elapsed(), slowest.1, slowest.0);
    eprintln!("fuzz outcomes: {outcomes:?}");
    assert!(failures.is_empty(), "fuzz cases {failures:?} of seed {seed} failed (rerun one with YARDSTICK_FUZZ_CASE=<i>)");
    // Any input is handled in time linear in its size: a slow case is a bug too.
    assert!(slowest.0 < Duration::from_secs(10), "case {} of seed {seed} took {:?}", slowest.1, slowest.0);
}
