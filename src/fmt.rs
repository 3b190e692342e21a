//! `yardstick fmt`: one canonical layout for `.kpi` files. The file is parsed, then printed
//! back from its syntax tree: two spaces of indent per block, one clause per line, single
//! spaces around operators, the fewest parentheses that keep the tree, strings (and `unit`)
//! in double quotes. Comments (kept by the parser with their place) go back beside what they were
//! written next to: a comment at the end of a line stays at the end of that line, others get
//! a line of their own before the next thing. Blank lines are kept (at most one in a row);
//! goals, objectives and KPIs are separated by one.
//!
//! Invariants (tests/fmt.rs): the output parses to the same tree as the input (spans aside),
//! with the same comments in the same order; formatting it again changes nothing.

use std::path::{Path, PathBuf};

use crate::ast::*;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::parse::{RESERVED_WORDS, parse_file};
use crate::span::{FileId, SourceMap};

/// Format one file's text (`file` is where its diagnostics point).
pub fn format_text(file: FileId, text: &str) -> Result<String, Diagnostics> {
    let ast = parse_file(file, text)?;
    Ok(format_file(&ast, text))
}

/// Print a parsed file back in the canonical layout; `text` is what it was parsed from (for
/// where its comments and blank lines were).
pub fn format_file(ast: &File, text: &str) -> String {
    let mut p = Printer { text, comments: &ast.comments, next: 0, out: String::new(), last_end: 0, indent: 0, block_start: true };
    // Goals and check blocks in the order they were written.
    let mut blocks: Vec<(u32, Option<&Goal>, Option<&CheckBlock>)> = ast.goals.iter().map(|g| (g.span.start, Some(g), None)).collect();
    blocks.extend(ast.checks.iter().map(|c| (c.span.start, None, Some(c))));
    blocks.sort_by_key(|b| b.0);
    for (i, block) in blocks.iter().enumerate() {
        let blank = if i > 0 { Blank::Force } else { Blank::Keep };
        match block {
            (_, Some(goal), _) => p.goal(goal, blank),
            (_, _, Some(check)) => p.check_block(check, blank),
            _ => {}
        }
    }
    p.flush_comments(text.len(), Blank::Keep);
    p.out
}

/// What a block's header line is made of.
struct Head<'a> {
    keyword: &'static str,
    /// The block's name (none for a KPI's `check { ... }` clause).
    id: Option<&'a Ident>,
    title: Option<&'a Str>,
    /// The whole block, `keyword` to `}`.
    span: crate::span::Span,
}

/// Whether a blank line goes before a line.
#[derive(Clone, Copy, PartialEq)]
enum Blank {
    /// Always (between goals, around objectives and KPIs).
    Force,
    /// When the source has one there.
    Keep,
    /// Never (before a closing `}`).
    Never,
}

struct Printer<'a> {
    text: &'a str,
    comments: &'a [Comment],
    /// The first comment not printed yet.
    next: usize,
    out: String,
    /// The end (in the source) of what was printed last.
    last_end: usize,
    indent: usize,
    /// Nothing printed yet in the current block (or file): no blank line goes first.
    block_start: bool,
}

impl Printer<'_> {
    /// Whether the source has an empty line between `a` and `b`.
    fn blank_in_source(&self, a: usize, b: usize) -> bool {
        if a >= b {
            return false;
        }
        let parts: Vec<&str> = self.text[a..b].split('\n').collect();
        parts.len() >= 3 && parts[1..parts.len() - 1].iter().any(|p| p.trim().is_empty())
    }

    fn push_line(&mut self, content: &str, start: usize, blank: Blank) {
        let blank = match blank {
            Blank::Force => true,
            Blank::Keep => self.blank_in_source(self.last_end, start),
            Blank::Never => false,
        };
        if blank && !self.block_start {
            self.out.push('\n');
        }
        self.block_start = false;
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        self.out.push_str(content);
        self.out.push('\n');
    }

    /// Print the comments that start before `upto`, each on its own line; the first one gets
    /// the blank line `blank` asks for. Returns whether any was printed.
    fn flush_comments(&mut self, upto: usize, mut blank: Blank) -> bool {
        let mut any = false;
        while let Some(c) = self.comments.get(self.next).filter(|c| (c.span.start as usize) < upto) {
            let (start, end) = (c.span.start as usize, c.span.end as usize);
            self.push_line(&c.text, start, blank);
            blank = Blank::Keep;
            self.last_end = self.last_end.max(end);
            self.next += 1;
            any = true;
        }
        any
    }

    /// One line of output for the source range `start..end`: the comments before it (and
    /// inside it, which have no place on one line) first, then the line, then a comment that
    /// followed it on the same source line.
    fn item(&mut self, content: &str, start: usize, end: usize, blank: Blank) {
        let printed_comments = self.flush_comments(end, blank);
        self.push_line(content, start, if printed_comments && blank == Blank::Force { Blank::Keep } else { blank });
        self.last_end = self.last_end.max(end);
        if let Some(c) = self.comments.get(self.next) {
            let cs = c.span.start as usize;
            if cs >= end && self.text[end..cs].chars().all(|ch| ch.is_whitespace() && ch != '\n') {
                self.out.pop();
                self.out.push_str("  ");
                self.out.push_str(&c.text);
                self.out.push('\n');
                self.last_end = c.span.end as usize;
                self.next += 1;
            }
        }
    }

    /// Where the `{` after a block's header is, and just past it.
    fn brace_after(&self, from: usize) -> usize {
        let bytes = self.text.as_bytes();
        let mut i = from;
        let mut c = self.next;
        while i < bytes.len() && bytes[i] != b'{' {
            // Skip comments (a `{` in one is not the block's).
            while self.comments.get(c).is_some_and(|k| (k.span.end as usize) < i) {
                c += 1;
            }
            match self.comments.get(c).filter(|k| k.span.start as usize == i) {
                Some(k) => i = k.span.end as usize,
                None => i += 1,
            }
        }
        (i + 1).min(bytes.len())
    }

    /// A block: its header line, its members (each printed by `member`, which gets the
    /// blank-line rule for it; `separated` members get a blank line around them), its `}`.
    fn block<M>(
        &mut self,
        head: Head,
        blank: Blank,
        members: &[M],
        mut member: impl FnMut(&mut Self, &M, Blank),
        separated: impl Fn(&M) -> bool,
    ) {
        let mut header = head.keyword.to_string();
        let mut after = head.span.start as usize + head.keyword.len();
        if let Some(id) = head.id {
            header.push(' ');
            header.push_str(&id.name);
            after = id.span.end as usize;
        }
        if let Some(t) = head.title {
            header.push(' ');
            header.push_str(&string(&t.value));
            after = t.span.end as usize;
        }
        header.push_str(" {");
        let (start, end) = (head.span.start as usize, head.span.end as usize);
        let header_end = self.brace_after(after);
        let close = end.saturating_sub(1).max(header_end);
        // The first comment after the header (those before it go with the header line).
        let first_inside = self.comments.partition_point(|c| (c.span.start as usize) < header_end);
        let inner_comments = self.comments.get(first_inside).is_some_and(|c| (c.span.start as usize) < close);
        if members.is_empty() && !inner_comments {
            self.item(&format!("{header}}}"), start, end, blank);
            return;
        }
        self.item(&header, start, header_end, blank);
        self.indent += 1;
        self.block_start = true;
        let mut previous: Option<&M> = None;
        for m in members {
            let blank = match previous {
                Some(p) if separated(p) || separated(m) => Blank::Force,
                _ => Blank::Keep,
            };
            member(self, m, blank);
            previous = Some(m);
        }
        self.flush_comments(close, Blank::Keep);
        self.indent -= 1;
        self.item("}", close, end, Blank::Never);
    }

    fn goal(&mut self, g: &Goal, blank: Blank) {
        let head = Head { keyword: "goal", id: Some(&g.id), title: g.title.as_ref(), span: g.span };
        self.block(
            head,
            blank,
            &g.members,
            |p, m, blank| match m {
                GoalMember::Meta(meta) => p.meta(meta, blank),
                GoalMember::Objective(o) => p.objective(o, blank),
                GoalMember::Kpi(k) => p.kpi(k, blank),
                GoalMember::Event(e) => p.item(&event(e), e.span.start as usize, e.span.end as usize, blank),
            },
            |m| !matches!(m, GoalMember::Meta(_)),
        );
    }

    fn objective(&mut self, o: &Objective, blank: Blank) {
        let head = Head { keyword: "objective", id: Some(&o.id), title: o.title.as_ref(), span: o.span };
        let member = |p: &mut Self, m: &ObjectiveMember, blank| match m {
            ObjectiveMember::Meta(meta) => p.meta(meta, blank),
            ObjectiveMember::Kpi(k) => p.kpi(k, blank),
            ObjectiveMember::Event(e) => p.item(&event(e), e.span.start as usize, e.span.end as usize, blank),
            ObjectiveMember::Audience(a) => p.item(&audience(a), a.span.start as usize, a.span.end as usize, blank),
        };
        self.block(head, blank, &o.members, member, |m| matches!(m, ObjectiveMember::Kpi(_)));
    }

    fn kpi(&mut self, k: &Kpi, blank: Blank) {
        let head = Head { keyword: "kpi", id: Some(&k.id), title: k.title.as_ref(), span: k.span };
        let clause = |p: &mut Self, c: &KpiClause, blank| match &c.kind {
            KpiClauseKind::Check(rules) => p.check_rules(c.span, rules, blank),
            _ => p.item(&clause(c), c.span.start as usize, c.span.end as usize, blank),
        };
        self.block(head, blank, &k.clauses, clause, |_| false);
    }

    /// A KPI's `check { ... }` clause: a block of its own, one rule per line.
    fn check_rules(&mut self, span: crate::span::Span, rules: &[CheckRule], blank: Blank) {
        let head = Head { keyword: "check", id: None, title: None, span };
        let rule = |p: &mut Self, r: &CheckRule, blank| p.item(&check_rule(r), r.span.start as usize, r.span.end as usize, blank);
        self.block(head, blank, rules, rule, |_| false);
    }

    fn meta(&mut self, m: &MetaClause, blank: Blank) {
        self.item(&meta(m), m.span.start as usize, m.span.end as usize, blank);
    }

    fn check_block(&mut self, c: &CheckBlock, blank: Blank) {
        let head = Head { keyword: "check", id: Some(&c.source), title: None, span: c.span };
        let rule = |p: &mut Self, r: &CheckRule, blank| p.item(&check_rule(r), r.span.start as usize, r.span.end as usize, blank);
        self.block(head, blank, &c.rules, rule, |_| false);
    }
}

/// One data check on one line.
pub fn check_rule(r: &CheckRule) -> String {
    let columns = |cs: &[Ident]| cs.iter().map(|c| column(&c.name)).collect::<Vec<_>>().join(", ");
    let mut out = match &r.kind {
        CheckRuleKind::NotNull(cs) => format!("not_null {}", columns(cs)),
        CheckRuleKind::Unique(cs) => format!("unique {}", columns(cs)),
        CheckRuleKind::Accepted { column: c, values } => {
            format!("accepted {} in ({})", column(&c.name), values.iter().map(expr).collect::<Vec<_>>().join(", "))
        }
        CheckRuleKind::Valid(e) => format!("valid {}", expr(e)),
        CheckRuleKind::Fresh { column: c, amount, unit } => format!("fresh {} within {} {}", column(&c.name), amount.text, unit.word()),
        CheckRuleKind::Rows(RowsBound::Compare(op, n)) => format!("rows {} {}", op.symbol(), n.text),
        CheckRuleKind::Rows(RowsBound::Between(a, b)) => format!("rows between {} and {}", a.text, b.text),
        CheckRuleKind::Relationship { column: c, source, target } => {
            format!("relationship {} -> {}.{}", column(&c.name), source.name, column(&target.name))
        }
        CheckRuleKind::Volume { grain, time, within } => {
            let of = time.as_ref().map(|t| format!(" of {}", column(&t.name))).unwrap_or_default();
            format!("rows per {}{of} change within {}", grain.name, within.text)
        }
    };
    if let Some(m) = &r.max {
        out.push_str(&format!(" max {}", m.text));
    }
    if let Some(s) = &r.severity {
        out.push_str(&format!(" {}", s.name));
    }
    out
}

fn meta(m: &MetaClause) -> String {
    format!("{} {}", m.kind.keyword(), string(&m.value.value))
}

/// One KPI clause on one line.
pub fn clause(c: &KpiClause) -> String {
    let kw = c.kind.keyword();
    match &c.kind {
        KpiClauseKind::From(i) | KpiClauseKind::Grain(i) | KpiClauseKind::Direction(i) | KpiClauseKind::CompleteAfter(i) => {
            format!("{kw} {}", i.name)
        }
        KpiClauseKind::Time(i) => format!("{kw} {}", column(&i.name)),
        KpiClauseKind::Measure(e) | KpiClauseKind::Where(e) => format!("{kw} {}", expr(e)),
        KpiClauseKind::By(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|b| {
                    let item = match &b.expr {
                        Some(e) => format!("{} = {}", b.name.name, expr(e)),
                        None => column(&b.name.name),
                    };
                    if b.internal { format!("{item} internal") } else { item }
                })
                .collect();
            format!("{kw} {}", items.join(", "))
        }
        KpiClauseKind::Per { keys, defs } => {
            let mut s = format!("{kw} {}", keys.iter().map(|k| column(&k.name)).collect::<Vec<_>>().join(", "));
            if !defs.is_empty() {
                let defs: Vec<String> = defs.iter().map(|(name, e)| format!("{} = {}", name.name, expr(e))).collect();
                s.push_str(&format!(" ({})", defs.join(", ")));
            }
            s
        }
        KpiClauseKind::Target(t) => target(t),
        KpiClauseKind::Unit(u) => format!("{kw} {}", string(&u.value)),
        KpiClauseKind::Scope { start, end: None } => format!("since {}", date(start.date)),
        KpiClauseKind::Scope { start, end: Some(end) } => format!("between {} and {}", date(start.date), date(end.date)),
        KpiClauseKind::Window(Window::Rolling { n, unit, .. }) => format!("rolling {n} {}", unit.name),
        KpiClauseKind::Window(_) => kw.to_string(),
        KpiClauseKind::Compare(list) => format!("{kw} {}", list.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")),
        KpiClauseKind::Baseline { period, value: None } => format!("{kw} {}", date(period.date)),
        KpiClauseKind::Baseline { period, value: Some(q) } => format!("{kw} {}: {}", date(period.date), quantity(q)),
        KpiClauseKind::Meta(m) => meta(m),
        KpiClauseKind::Event(e) => event(e),
        KpiClauseKind::Rebase(d) => format!("rebase at {}", date(d.date)),
        KpiClauseKind::Benchmark { peer, name, value } => {
            format!("{kw} {}{} {}", if *peer { "peer " } else { "" }, string(&name.value), quantity(value))
        }
        KpiClauseKind::Spc(options) => {
            let options: Vec<String> = options
                .iter()
                .map(|o| match o {
                    SpcOptionAst::On(_) => "on".to_string(),
                    SpcOptionAst::Off(_) => "off".to_string(),
                    SpcOptionAst::Baseline { n, .. } => format!("baseline {n}"),
                    SpcOptionAst::Screening { on, .. } => format!("screening {}", if *on { "on" } else { "off" }),
                    SpcOptionAst::TwoOfThree(i) => format!("two_of_three {}", i.name),
                })
                .collect();
            format!("{kw} {}", options.join(", "))
        }
        KpiClauseKind::Audience(a) => audience(a),
        KpiClauseKind::Suppress(options) => {
            let options: Vec<String> = options
                .iter()
                .map(|o| match o {
                    SuppressOptionAst::Off(_) => "off".to_string(),
                    SuppressOptionAst::Below { n, .. } => format!("below {n}"),
                    SuppressOptionAst::Round { n, .. } => format!("round {n}"),
                })
                .collect();
            format!("{kw} {}", options.join(", "))
        }
        // On one line (rules apart by two spaces); `fmt` prints the clause as a block.
        KpiClauseKind::Check(rules) if rules.is_empty() => format!("{kw} {{}}"),
        KpiClauseKind::Check(rules) => format!("{kw} {{ {} }}", rules.iter().map(check_rule).collect::<Vec<_>>().join("  ")),
    }
}

fn audience(a: &AudienceAst) -> String {
    format!("audience {}", if a.internal { "internal" } else { "public" })
}

/// `event 2025-03-01 "New rota" [rebase]`.
fn event(e: &EventAst) -> String {
    format!("event {} {}{}", date(e.date.date), string(&e.text.value), if e.rebase { " rebase" } else { "" })
}

fn target(t: &TargetAst) -> String {
    let mut s = match &t.kind {
        TargetKind::Compare { comparator, value } => format!("target {} {}", comparator.symbol(), quantity(value)),
        TargetKind::Between { low, high } => format!("target between {} and {}", quantity(low), quantity(high)),
    };
    if let Some(q) = &t.tolerance {
        s.push_str(&format!(" tolerance {}", quantity(q)));
    }
    if let Some(d) = &t.deadline {
        s.push_str(&format!(" by {}", date(d.date)));
    }
    if let Some(d) = &t.from {
        s.push_str(&format!(" from {}", date(d.date)));
    }
    s
}

/// `90%`, `2pp`, `8 min`: symbols and percentage points glued to the number, words after a space.
fn quantity(q: &Quantity) -> String {
    match &q.unit {
        None => q.text.clone(),
        Some(u) if u.name == "pp" || !u.name.starts_with(|c: char| c.is_ascii_alphabetic()) => format!("{}{}", q.text, u.name),
        Some(u) => format!("{} {}", q.text, u.name),
    }
}

fn date(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A string literal in double quotes, escaped so it reads back as the same value.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Words that may not be a bare name in every place: reserved words, and the words that
/// start clauses (a bare one could be read as the next clause).
fn is_keyword(word: &str) -> bool {
    RESERVED_WORDS.contains(&word) || CLAUSE_KEYWORDS.contains(&word) || word == "tolerance"
}

/// A column name, in backticks unless it is a plain name.
pub fn column(name: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !is_keyword(name);
    if plain { name.to_string() } else { format!("`{name}`") }
}

/// Binding power of an expression's outermost operator (grammar order in src/parse.rs
/// `PRATT`): an operand binding more loosely than its place needs gets parentheses.
fn power(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary { op: BinaryOp::Or, .. } => 1,
        ExprKind::Binary { op: BinaryOp::And, .. } => 2,
        ExprKind::Unary { op: UnaryOp::Not, .. } => 3,
        ExprKind::Binary { op, .. } if op.is_comparison() => 4,
        ExprKind::IsNull { .. } | ExprKind::InList { .. } => 5,
        ExprKind::Binary { op: BinaryOp::Add | BinaryOp::Sub, .. } => 6,
        ExprKind::Binary { .. } => 7,
        ExprKind::Unary { op: UnaryOp::Neg, .. } => 8,
        _ => 9,
    }
}

fn binary_power(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => 1,
        BinaryOp::And => 2,
        BinaryOp::Add | BinaryOp::Sub => 6,
        BinaryOp::Mul | BinaryOp::Div => 7,
        _ => 4,
    }
}

/// An expression on one line.
pub fn expr(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(e, 0, &mut out);
    out
}

/// `e`, in parentheses when it binds more loosely than `min`.
#[recursive::recursive]
fn write_expr(e: &Expr, min: u8, out: &mut String) {
    let parens = power(e) < min;
    if parens {
        out.push('(');
    }
    match &e.kind {
        ExprKind::Column(c) => out.push_str(&column(&c.name)),
        ExprKind::Number { text, .. } => out.push_str(text),
        ExprKind::String(s) => out.push_str(&string(s)),
        ExprKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ExprKind::Null => out.push_str("null"),
        ExprKind::Date(d) => out.push_str(&date(*d)),
        ExprKind::Interval { amount, unit } => {
            // `1 day`, `30 days`: the amount as a plain decimal (f64 `Display` never uses an exponent).
            let word = unit.word();
            out.push_str(&if *amount == 1.0 { format!("1 {}", word.trim_end_matches('s')) } else { format!("{amount} {word}") });
        }
        ExprKind::Unary { op: UnaryOp::Not, expr } => {
            out.push_str("not ");
            write_expr(expr, 3, out);
        }
        ExprKind::Unary { op: UnaryOp::Neg, expr } => {
            out.push('-');
            // `-(-x)`, not `--x`.
            let nested = matches!(expr.kind, ExprKind::Unary { op: UnaryOp::Neg, .. });
            write_expr(expr, if nested { 9 } else { 8 }, out);
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let p = binary_power(*op);
            // Left-associative: the right operand must bind tighter.
            write_expr(lhs, p, out);
            out.push(' ');
            out.push_str(op.symbol());
            out.push(' ');
            write_expr(rhs, p + 1, out);
        }
        ExprKind::IsNull { expr, negated } => {
            write_expr(expr, 5, out);
            out.push_str(if *negated { " is not null" } else { " is null" });
        }
        ExprKind::InList { expr, list, negated } => {
            write_expr(expr, 5, out);
            out.push_str(if *negated { " not in (" } else { " in (" });
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(item, 0, out);
            }
            out.push(')');
        }
        ExprKind::Call { name, args } => {
            out.push_str(&name.name);
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if a.distinct {
                    out.push_str("distinct ");
                }
                write_expr(&a.expr, 0, out);
                if let Some(f) = &a.filter {
                    out.push_str(" where ");
                    write_expr(f, 0, out);
                }
            }
            out.push(')');
        }
    }
    if parens {
        out.push(')');
    }
}

/// What `yardstick fmt` did: the files that are (or were) not in the canonical layout, and
/// the files that could not be formatted.
#[derive(Debug, Default)]
pub struct FmtOutcome {
    /// Shown paths of files whose layout differs (rewritten unless `--check`).
    pub changed: Vec<String>,
    /// Files seen.
    pub files: usize,
    pub sources: SourceMap,
    pub errors: Diagnostics,
}

/// `yardstick fmt [--check] [PATHS]`: every `.kpi` file named or below a directory named
/// (hidden directories, `target` and `node_modules` skipped, like a project's files).
/// Without `check`, files are rewritten atomically (a temporary file beside each, renamed
/// over it), so a file is never left half-written.
pub fn fmt_paths(paths: &[PathBuf], check: bool) -> FmtOutcome {
    let mut outcome = FmtOutcome::default();
    let mut files: Vec<(String, PathBuf)> = vec![];
    for path in paths {
        if path.is_dir() {
            let mut found = vec![];
            if let Err(e) = crate::project::collect_kpi_files(path, path, &mut found) {
                outcome.errors.0.push(Diagnostic::error("YS0001", format!("cannot list {}: {e}", path.display())));
            }
            found.sort();
            // `./metrics/a.kpi` is shown as `metrics/a.kpi`.
            let tidy = |p: &Path| p.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect::<PathBuf>();
            files.extend(found.into_iter().map(|(_, p)| (tidy(&p).display().to_string(), p)));
        } else if path.is_file() {
            files.push((path.display().to_string(), path.clone()));
        } else {
            outcome.errors.0.push(
                Diagnostic::error("YS0001", format!("{} does not exist", path.display()))
                    .help("give .kpi files or directories that hold them, e.g. `yardstick fmt metrics/`"),
            );
        }
    }
    files.dedup_by(|a, b| a.1 == b.1);
    for (shown, path) in files {
        outcome.files += 1;
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                outcome.errors.0.push(Diagnostic::error("YS0001", format!("cannot read {shown}: {e}")));
                continue;
            }
        };
        let id = match crate::project::add_text(&mut outcome.sources, &shown, bytes) {
            Ok(id) => id,
            Err(d) => {
                outcome.errors.0.push(d);
                continue;
            }
        };
        let text = outcome.sources.get(id).text.clone();
        match format_text(id, &text) {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                if !check && let Err(e) = write_atomically(&path, &formatted) {
                    outcome.errors.0.push(
                        Diagnostic::error("YS0500", format!("cannot write {shown}: {e}"))
                            .help("the file is unchanged; check that its directory is writable"),
                    );
                    continue;
                }
                outcome.changed.push(shown);
            }
            Err(d) => outcome.errors.0.extend(d.0),
        }
    }
    outcome
}

/// Replace `path`'s content: write a temporary file in the same directory (the real one, if
/// `path` is a symbolic link), give it the old file's permissions, rename it over the file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let real = std::fs::canonicalize(path)?;
    let dir = real.parent().unwrap_or(Path::new("."));
    let name = real.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.yardstick-fmt-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::set_permissions(&tmp, std::fs::metadata(&real)?.permissions())?;
        std::fs::rename(&tmp, &real)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `yardstick fmt [--check] PATHS`: the lines to print and the exit status (1 with `--check`
/// when a file would change, or when a file cannot be formatted).
pub fn run(paths: &[PathBuf], check: bool, color: bool) -> crate::CommandOutput {
    let mut outcome = fmt_paths(paths, check);
    if outcome.files == 0 && outcome.errors.0.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        outcome.errors.0.push(
            Diagnostic::error("YS0003", format!("no .kpi files in {}", shown.join(", ")))
                .help("give .kpi files or directories that hold them, e.g. `yardstick fmt metrics/`"),
        );
    }
    let mut out = crate::CommandOutput::default();
    let plural = |n: usize| if n == 1 { "file" } else { "files" };
    for f in &outcome.changed {
        out.stdout.push_str(&crate::diagnostics::escape_text(&if check { format!("{f}\n") } else { format!("formatted {f}\n") }));
    }
    let (n, total) = (outcome.changed.len(), outcome.files);
    if check && n > 0 {
        out.stderr.push_str(&format!("{n} of {total} {} would be reformatted: run `yardstick fmt`\n", plural(total)));
        out.status = 1;
    } else if total > 0 {
        let done = if check { "already formatted" } else { "reformatted" };
        let count = if check { total - n } else { n };
        out.stderr.push_str(&format!("{count} of {total} {} {done}\n", plural(total)));
    }
    if !outcome.errors.0.is_empty() {
        out.stderr.push_str(&outcome.errors.render(&outcome.sources, color));
        out.status = 1;
    }
    out
}
