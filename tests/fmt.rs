//! `yardstick fmt`: the formatted text parses to the same tree (spans aside) with the same
//! comments, formatting twice changes nothing, and hand-written pairs in tests/fixtures/fmt/
//! (`NAME.in.kpi` -> `NAME.out.kpi`) pin the layout. Checked on every .kpi text of the repo
//! (fixtures, examples, docs blocks) and on generated programs.

use std::path::{Path, PathBuf};

use yardstick::span::FileId;

use crate::common::*;
use crate::hardening::Rng;

/// The tree without its spans (Debug text with every `Span { .. }` cut out), and the comments.
fn shape(text: &str) -> Result<(String, Vec<String>), String> {
    let ast = yardstick::parse::parse_file(FileId(0), text).map_err(|d| d.to_string())?;
    let comments = ast.comments.iter().map(|c| c.text.clone()).collect();
    let debug = format!("{:?}", ast.goals);
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug.as_str();
    while let Some(i) = rest.find("Span {") {
        out.push_str(&rest[..i]);
        let close = rest[i..].find('}').expect("a span's debug text ends with }");
        rest = &rest[i + close + 1..];
    }
    out.push_str(rest);
    Ok((out, comments))
}

fn format(text: &str) -> String {
    yardstick::fmt::format_text(FileId(0), text).unwrap_or_else(|d| panic!("formats: {d}\n{text}"))
}

/// The properties, for one text that parses.
fn assert_formats_faithfully(name: &str, text: &str) {
    let once = format(text);
    assert_eq!(shape(&once), shape(text), "{name}: the formatted text means something else:\n{once}");
    assert_eq!(format(&once), once, "{name}: formatting is not idempotent");
    assert!(once.lines().all(|l| l == l.trim_end()), "{name}: trailing whitespace:\n{once}");
}

fn kpi_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            kpi_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "kpi") {
            out.push(path);
        }
    }
}

fn kpi_blocks(markdown: &str) -> Vec<String> {
    let mut out = vec![];
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        let fence = line.trim_start().starts_with("```");
        match current.take() {
            Some(text) if fence => out.push(text),
            Some(text) => current = Some(text + line + "\n"),
            None if fence && line.trim_start().trim_start_matches('`').trim() == "kpi" => current = Some(String::new()),
            None => {}
        }
    }
    out
}

#[test]
fn fmt_keeps_meaning_on_every_kpi_text_of_the_repo() {
    let mut files = vec![];
    for dir in ["tests/fixtures", "examples", "bench"] {
        if repo().join(dir).is_dir() {
            kpi_files(&repo().join(dir), &mut files);
        }
    }
    let mut texts: Vec<(String, String)> =
        files.iter().map(|p| (p.display().to_string(), std::fs::read_to_string(p).expect("read"))).collect();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs")).expect("docs").map(|e| e.expect("entry").path()).collect();
    docs.push(repo().join("README.md"));
    for doc in docs.iter().filter(|p| p.extension().is_some_and(|e| e == "md")) {
        for (i, block) in kpi_blocks(&std::fs::read_to_string(doc).expect("read")).into_iter().enumerate() {
            texts.push((format!("{} block {}", doc.display(), i + 1), block));
        }
    }
    let mut checked = 0;
    for (name, text) in &texts {
        // Error fixtures with syntax errors have nothing to format.
        if yardstick::parse::parse_file(FileId(0), text).is_ok() {
            assert_formats_faithfully(name, text);
            checked += 1;
        }
    }
    assert!(checked >= 60, "checked {checked} texts");
}

#[test]
fn fmt_snapshot_pairs() {
    let dir = fixture("fmt");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fmt fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".in.kpi"))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 6, "fmt pairs");
    for input in inputs {
        let text = std::fs::read_to_string(&input).expect("input");
        let expected_path = PathBuf::from(input.to_string_lossy().replace(".in.kpi", ".out.kpi"));
        let expected = std::fs::read_to_string(&expected_path).expect("expected output");
        assert_eq!(format(&text), expected, "{}", input.display());
        assert_formats_faithfully(&input.display().to_string(), &text);
        assert_eq!(format(&expected), expected, "{}: the expected output is formatted", expected_path.display());
    }
}

// ---------------------------------------------------------------- generated programs

/// Random programs that parse: every construct, odd spacing, comments between tokens,
/// redundant parentheses.
struct Gen {
    rng: Rng,
    comments: usize,
}

impl Gen {
    /// Space between two tokens: nothing special, line breaks, tabs, or a comment.
    fn ws(&mut self) -> String {
        match self.rng.below(12) {
            0 => "\n".into(),
            1 => "\t".into(),
            2 => "   ".into(),
            3 => "\n\n  ".into(),
            4 => {
                self.comments += 1;
                format!(" # c{} {{ \"not code\"\n", self.comments)
            }
            5 => {
                self.comments += 1;
                format!("  // c{}\n\n", self.comments)
            }
            _ => " ".into(),
        }
    }

    fn join(&mut self, tokens: &[String]) -> String {
        let mut out = String::new();
        for (i, t) in tokens.iter().enumerate() {
            if i > 0 {
                let ws = self.ws();
                out.push_str(&ws);
            }
            out.push_str(t);
        }
        out
    }

    fn name(&mut self) -> String {
        self.rng.pick(&["status", "priority", "cost", "district", "`Call Type`", "`from`", "x1", "_y", "since", "baseline"]).to_string()
    }

    fn string(&mut self) -> String {
        self.rng
            .pick(&["'Open'", "\"Closed\"", "'it''s'", "\"a \\\"b\\\" \\\\ c\"", "'tab\\tnew\\nline'", "\"#not a comment\"", "''"])
            .replace("''s", "\\'s")
    }

    fn atom(&mut self) -> String {
        match self.rng.below(10) {
            0 => self.rng.pick(&["1", "0.5", "90%", "007", "12.50"]).to_string(),
            1 => self.string(),
            2 => self.rng.pick(&["true", "false", "null", "2024-02-29", "30 days", "1 day", "1.5\thours", "2  weeks"]).to_string(),
            3 => {
                let name = self.rng.pick(&["share", "sum", "avg", "count", "ratio", "days_between"]).to_string();
                let n = self.rng.below(3);
                let mut args = vec![];
                for _ in 0..n {
                    let mut a = vec![];
                    if self.rng.chance(20) {
                        a.push("distinct".to_string());
                    }
                    a.push(self.expr(2));
                    if self.rng.chance(30) {
                        a.push("where".to_string());
                        a.push(self.expr(2));
                    }
                    args.push(self.join(&a));
                }
                let mut tokens = vec![name, "(".into()];
                for (i, a) in args.into_iter().enumerate() {
                    if i > 0 {
                        tokens.push(",".into());
                    }
                    tokens.push(a);
                }
                tokens.push(")".into());
                self.join(&tokens)
            }
            _ => self.name(),
        }
    }

    fn expr(&mut self, depth: usize) -> String {
        if depth == 0 {
            return self.atom();
        }
        let e = match self.rng.below(9) {
            0 | 1 => {
                let op = self.rng.pick(&["and", "or", "=", "==", "!=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/"]).to_string();
                let (l, r) = (self.expr(depth - 1), self.expr(depth - 1));
                self.join(&[l, op, r])
            }
            2 => {
                let op = self.rng.pick(&["not", "-"]).to_string();
                let e = self.expr(depth - 1);
                self.join(&[op, e])
            }
            3 => {
                let e = self.expr(depth - 1);
                let tail =
                    if self.rng.chance(50) { vec!["is".into(), "null".into()] } else { vec!["is".into(), "not".into(), "null".into()] };
                self.join(&[vec![e], tail].concat())
            }
            4 => {
                let e = self.expr(depth - 1);
                let mut t = vec![e];
                if self.rng.chance(50) {
                    t.push("not".into());
                }
                t.extend(["in".to_string(), "(".into(), self.atom(), ",".into(), self.atom(), ")".into()]);
                self.join(&t)
            }
            5 => {
                let e = self.expr(depth - 1);
                self.join(&["(".into(), e, ")".into()])
            }
            _ => self.atom(),
        };
        e
    }

    fn quantity(&mut self) -> String {
        self.rng.pick(&["90%", "90 %", "-5", "8 min", "8\tmin", "5pp", "5 pp", "550 USD", "0.25"]).to_string()
    }

    fn date(&mut self) -> String {
        self.rng.pick(&["2024-01-01", "2025-12-31"]).to_string()
    }

    fn clause(&mut self) -> Vec<String> {
        let s = |x: &str| x.to_string();
        match self.rng.below(22) {
            0 => vec![s("from"), s("tickets")],
            1 => vec![s("time"), self.name()],
            2 | 3 => vec![s("measure"), self.expr(3)],
            4 | 5 => vec![s("where"), self.expr(3)],
            6 => vec![s("by"), self.name(), s(","), self.name()],
            19 => vec![s("by"), s("r"), s("="), self.expr(2), s(","), self.name()],
            20 => {
                let mut t = vec![s("per"), self.name()];
                if self.rng.chance(70) {
                    t.extend([s("("), s("first"), s("="), self.expr(2), s(","), s("n"), s("="), self.expr(1), s(")")]);
                }
                t
            }
            7 => vec![s("grain"), s("month")],
            8 => {
                let mut t = vec![s("target")];
                if self.rng.chance(30) {
                    t.extend([s("between"), self.quantity(), s("and"), self.quantity()]);
                } else {
                    t.extend([self.rng.pick(&[">=", "<=", ">", "<"]).to_string(), self.quantity()]);
                }
                if self.rng.chance(50) {
                    t.extend([s("tolerance"), self.quantity()]);
                }
                if self.rng.chance(30) {
                    t.extend([s("by"), self.date()]);
                }
                if self.rng.chance(30) {
                    t.extend([s("from"), self.date()]);
                }
                t
            }
            9 => vec![s("unit"), self.rng.pick(&["\"USD\"", "min", "%", "'calls'"]).to_string()],
            10 => vec![s("since"), self.date()],
            11 => vec![s("between"), self.date(), s("and"), self.date()],
            12 => vec![s("rolling"), s("3"), s("months")],
            13 => vec![self.rng.pick(&["year_to_date", "fiscal_year_to_date", "cumulative"]).to_string()],
            14 => vec![s("compare"), s("previous_period"), s(","), s("baseline")],
            15 => {
                let mut t = vec![s("baseline"), self.date()];
                if self.rng.chance(50) {
                    t.extend([s(":"), self.quantity()]);
                }
                t
            }
            16 => vec![s("direction"), s("increasing")],
            17 => vec![s("complete_after"), self.rng.pick(&["45 days", "2\t weeks", "none"]).to_string()],
            21 => {
                let mut t = vec![s("check"), s("{")];
                for _ in 0..self.rng.below(4) {
                    t.extend(self.check_rule());
                }
                t.push(s("}"));
                t
            }
            _ => vec![self.rng.pick(&["owner", "description", "method"]).to_string(), self.string()],
        }
    }

    /// One rule of a KPI's `check { ... }` clause, with a threshold and severity at times.
    fn check_rule(&mut self) -> Vec<String> {
        let s = |x: &str| x.to_string();
        let mut t = match self.rng.below(6) {
            0 => vec![s("not_null"), self.name(), s(","), self.name()],
            1 => vec![s("unique"), self.name()],
            2 => vec![s("accepted"), self.name(), s("in"), s("("), self.string(), s(","), s("3"), s(")")],
            3 => vec![s("valid"), self.expr(2)],
            4 => vec![s("rows"), self.rng.pick(&[">=", "<", "between 2 and"]).to_string(), s("10")],
            _ => vec![s("rows"), s("per"), s("month"), s("change"), s("within"), s("30%")],
        };
        if self.rng.chance(30) {
            t.extend([s("max"), self.rng.pick(&["1%", "5"]).to_string()]);
        }
        if self.rng.chance(30) {
            t.push(self.rng.pick(&["warn", "error"]).to_string());
        }
        t
    }

    fn header(&mut self, kw: &str, id: &str) -> Vec<String> {
        let mut t = vec![kw.to_string(), id.to_string()];
        if self.rng.chance(80) {
            t.push(self.string());
        }
        t.push("{".into());
        t
    }

    fn kpi(&mut self, id: &str) -> Vec<String> {
        let mut t = self.header("kpi", id);
        for _ in 0..self.rng.below(7) {
            let c = self.clause();
            t.push(self.join(&c));
        }
        t.push("}".into());
        t
    }

    fn program(&mut self) -> String {
        let mut t: Vec<String> = vec![];
        for g in 0..self.rng.below(3) {
            t.extend(self.header("goal", &format!("g{g}")));
            for m in 0..self.rng.below(4) {
                match self.rng.below(3) {
                    0 => {
                        t.extend(self.header("objective", &format!("o{g}_{m}")));
                        for k in 0..self.rng.below(3) {
                            t.extend(self.kpi(&format!("k{g}_{m}_{k}")));
                        }
                        t.push("}".into());
                    }
                    1 => t.extend(self.kpi(&format!("k{g}_{m}"))),
                    _ => {
                        let kw = self.rng.pick(&["owner", "description", "method"]).to_string();
                        t.extend([kw, self.string()]);
                    }
                }
            }
            t.push("}".into());
        }
        let mut text = self.ws();
        text.push_str(&self.join(&t));
        text.push_str(&self.ws());
        text
    }
}

#[test]
fn fmt_keeps_meaning_on_generated_programs() {
    let cases: u64 = std::env::var("YARDSTICK_FMT_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(500);
    for seed in 0..cases {
        let mut g = Gen { rng: Rng::new(seed), comments: 0 };
        let text = g.program();
        if let Err(e) = yardstick::parse::parse_file(FileId(0), &text) {
            panic!("seed {seed}: the generator wrote a program that does not parse: {e}\n{text}");
        }
        assert_formats_faithfully(&format!("seed {seed}"), &text);
    }
}

// ---------------------------------------------------------------- the command

#[test]
fn fmt_check_lists_files_and_fmt_rewrites_them() {
    let ugly = "goal g \"G\" { kpi a \"A\" { from tickets measure count() } }\n";
    let tidy = format(ugly);
    let dir = project("name: P\n", &[("metrics/ugly.kpi", ugly), ("metrics/tidy.kpi", &tidy), (".hidden/x.kpi", ugly)]);
    let path = |p: &str| dir.path().join(p).display().to_string();

    let (code, stdout, stderr) = yardstick(&["fmt", "--check", &path(".")]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, format!("{}\n", dir.path().join("metrics/ugly.kpi").display()));
    assert!(stderr.contains("1 of 2 files would be reformatted"), "{stderr}");
    assert_eq!(std::fs::read_to_string(path("metrics/ugly.kpi")).expect("read"), ugly, "--check changes nothing");

    let (code, stdout, stderr) = yardstick(&["fmt", &path(".")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("formatted") && stdout.contains("ugly.kpi"), "{stdout}");
    assert_eq!(std::fs::read_to_string(path("metrics/ugly.kpi")).expect("read"), tidy);
    assert_eq!(std::fs::read_to_string(path(".hidden/x.kpi")).expect("read"), ugly, "hidden directories are skipped");
    let leftovers: Vec<_> = std::fs::read_dir(path("metrics")).expect("dir").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(leftovers.len(), 2, "no temporary file is left: {leftovers:?}");

    let (code, _, stderr) = yardstick(&["fmt", "--check", &path("metrics/ugly.kpi")]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn fmt_leaves_a_file_with_a_syntax_error_alone() {
    let broken = "goal g \"G\" {\n  kpi a \"A\" {\n    from tickets\n    mesure count()\n  }\n}\n";
    let dir = project("name: P\n", &[("bad.kpi", broken), ("ok.kpi", "goal  h \"H\" {}\n")]);
    let (code, _, stderr) = yardstick(&["fmt", &dir.path().display().to_string()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("YS0100") && stderr.contains("did you mean `measure`?"), "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.path().join("bad.kpi")).expect("read"), broken);
    assert_eq!(std::fs::read_to_string(dir.path().join("ok.kpi")).expect("read"), "goal h \"H\" {}\n", "the other files are formatted");

    let (code, _, stderr) = yardstick(&["fmt", &dir.path().join("nope.kpi").display().to_string()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("YS0001"), "{stderr}");
}

#[test]
fn fmt_handles_the_largest_definitions_on_a_small_stack() {
    use yardstick::limits::{MAX_EXPR_NODES, MAX_NESTING};
    let deep = format!("{}x{}", "(".repeat(MAX_NESTING - 1), ")".repeat(MAX_NESTING - 1));
    let long = vec!["a"; MAX_EXPR_NODES / 2].join(" - ");
    let nots = format!("{}x", "not ".repeat(MAX_NESTING - 1));
    let mut text = String::new();
    for (i, e) in [deep, long, nots].iter().enumerate() {
        text.push_str(&format!("goal g{i} \"G\" {{ kpi k{i} \"K\" {{ from t measure sum(x) where {e} }} }}\n"));
    }
    // 5,000 KPIs, each with a comment: formatting stays linear.
    for i in 0..5_000 {
        text.push_str(&format!("goal h{i} \"H\" {{ # c{i}\n kpi k{i} {{ from t measure count() }} }}\n"));
    }
    let started = std::time::Instant::now();
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            assert_formats_faithfully("large", &text);
        })
        .expect("spawn");
    handle.join().expect("no stack overflow");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
}
