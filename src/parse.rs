//! `.kpi` text -> [`ast::File`]. The grammar is `grammar/yardstick.pest`; operator precedence
//! comes from a Pratt parser. Parse errors say what was expected in words.

use std::sync::LazyLock;

use pest::Parser as _;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};

use crate::ast::*;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::limits::{MAX_EXPR_NODES, MAX_NESTING};
use crate::span::{FileId, Span};

mod data_checks;
mod syntax_error;
use syntax_error::{describe_rule, syntax_error};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/yardstick.pest"]
struct KpiParser;

type PResult<T> = Result<T, Diagnostic>;

/// Parse one `.kpi` file.
pub fn parse_file(file: FileId, text: &str) -> Result<File, Diagnostics> {
    // pest recurses once per nesting level: too deep a file is refused before it gets there.
    check_nesting(file, text).map_err(Diagnostics::one)?;
    let mut pairs = KpiParser::parse(Rule::file, text).map_err(|e| Diagnostics::one(syntax_error(file, text, e)))?;
    let root = pairs.next().ok_or_else(|| Diagnostics::one(Diagnostic::error("YS0100", "empty parse")))?;
    let comments = comments(file, text);
    let ctx = Ctx { file, comment_ends: comments.iter().map(|c| (c.span.end as usize, c.span.start as usize)).collect() };
    let mut goals = vec![];
    let mut checks = vec![];
    let mut errors = vec![];
    for pair in root.into_inner() {
        match pair.as_rule() {
            Rule::goal => match ctx.goal(pair) {
                Ok(g) => goals.push(g),
                Err(d) => errors.push(d),
            },
            Rule::check_block => match ctx.check_block(pair) {
                Ok(c) => checks.push(c),
                Err(d) => errors.push(d),
            },
            _ => {}
        }
    }
    if errors.is_empty() { Ok(File { goals, checks, comments }) } else { Err(Diagnostics(errors)) }
}

/// Parse a standalone expression (used by tests and by future `explain`).
pub fn parse_expr(file: FileId, text: &str) -> Result<Expr, Diagnostics> {
    check_nesting(file, text).map_err(Diagnostics::one)?;
    let mut pairs = KpiParser::parse(Rule::expr, text).map_err(|e| Diagnostics::one(syntax_error(file, text, e)))?;
    let pair = pairs.next().ok_or_else(|| Diagnostics::one(Diagnostic::error("YS0100", "empty expression")))?;
    let comment_ends = comments(file, text).iter().map(|c| (c.span.end as usize, c.span.start as usize)).collect();
    Ctx { file, comment_ends }.top_expr(pair).map_err(Diagnostics::one)
}

fn too_deep(span: Span) -> Diagnostic {
    Diagnostic::error("YS0102", format!("expression nested more than {MAX_NESTING} levels deep"))
        .at(span, format!("level {}", MAX_NESTING + 1))
        .help(format!(
            "parentheses, function calls, `in (...)` lists, `not` and `-` can be nested up to {MAX_NESTING} levels (docs/language.md, Limits): \
             simplify the expression"
        ))
}

/// Parentheses nesting, scanned before pest sees the text (strings, quoted names and comments
/// are skipped the way the grammar reads them).
fn check_nesting(file: FileId, text: &str) -> Result<(), Diagnostic> {
    let mut depth = 0usize;
    let mut result = Ok(());
    scan(text, |token| match token {
        Token::Punct(b'(', at) => {
            depth += 1;
            if depth > MAX_NESTING {
                result = Err(too_deep(Span::new(file, at..at + 1)));
                return false;
            }
            true
        }
        Token::Punct(b')', _) => {
            depth = depth.saturating_sub(1);
            true
        }
        _ => true,
    });
    result
}

/// What [`scan`] finds: a comment (`#` or `//` to the end of the line, trailing whitespace
/// left out), a word (letters, digits, `_`, starting with a letter or `_`), or any other
/// character outside strings and backtick-quoted names.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Comment(usize, usize),
    Word(usize, usize),
    Punct(u8, usize),
}

/// Walk `text` the way the grammar reads it, without building anything: strings (with their
/// escapes) and quoted names are skipped whole, so a `#` or a `{` inside them is text. Stops
/// early when `f` returns false, or at an unclosed string (pest reports it). Linear time.
fn scan(text: &str, mut f: impl FnMut(Token) -> bool) {
    let bytes = text.as_bytes();
    // Index just past the closing `close`, if any.
    let skip = |from: usize, close: u8, escapes: bool| -> Option<usize> {
        let mut j = from;
        while j < bytes.len() {
            match bytes[j] {
                b'\\' if escapes => j += 2,
                b if b == close => return Some(j + 1),
                _ => j += 1,
            }
        }
        None
    };
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (next, token) = match b {
            b'"' | b'\'' => match skip(i + 1, b, true) {
                Some(j) => (j, None),
                None => return,
            },
            b'`' => match skip(i + 1, b'`', false) {
                Some(j) => (j, None),
                None => return,
            },
            b'#' | b'/' if b == b'#' || bytes.get(i + 1) == Some(&b'/') => {
                let end = bytes[i..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |n| i + n);
                (end, Some(Token::Comment(i, i + text[i..end].trim_end().len())))
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let end = bytes[i..].iter().position(|b| !is_word(*b)).map_or(bytes.len(), |n| i + n);
                (end, Some(Token::Word(i, end)))
            }
            // A number (digits, `.`, and letters glued to it such as `5pp`) is one token.
            b if b.is_ascii_digit() => (bytes[i..].iter().position(|b| !is_word(*b) && *b != b'.').map_or(bytes.len(), |n| i + n), None),
            b if b.is_ascii_whitespace() => (i + 1, None),
            _ => (i + 1, Some(Token::Punct(b, i))),
        };
        if let Some(t) = token
            && !f(t)
        {
            return;
        }
        i = next;
    }
}

/// Every comment of a file, in order, with its text (from `#` or `//`, trailing whitespace
/// left out): the syntax tree keeps them for the formatter.
pub fn comments(file: FileId, text: &str) -> Vec<Comment> {
    let mut out = vec![];
    scan(text, |t| {
        if let Token::Comment(start, end) = t {
            out.push(Comment { text: text[start..end].to_string(), span: Span::new(file, start..end) });
        }
        true
    });
    out
}

/// A `comparator` pair's text as a [`Comparator`].
fn comparator(text: &str) -> Comparator {
    match text {
        ">=" => Comparator::Ge,
        ">" => Comparator::Gt,
        "<=" => Comparator::Le,
        _ => Comparator::Lt,
    }
}

struct Ctx {
    file: FileId,
    /// (end, start) of every comment, sorted: spans are cut before a trailing comment.
    comment_ends: Vec<(usize, usize)>,
}

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_eq, Assoc::Left)
            | Op::infix(Rule::op_ne, Assoc::Left)
            | Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left))
        .op(Op::postfix(Rule::op_is_null) | Op::postfix(Rule::op_is_not_null) | Op::postfix(Rule::op_in) | Op::postfix(Rule::op_not_in))
        .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
        .op(Op::infix(Rule::op_mul, Assoc::Left) | Op::infix(Rule::op_div, Assoc::Left))
        .op(Op::prefix(Rule::op_neg))
});

impl Ctx {
    /// The pair's bytes without the whitespace pest takes in when it tries an optional part
    /// that is not there (a `target` clause's span would run on to the next line).
    /// Comments pest skipped after the last token are cut off the same way.
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        let text = pair.as_str();
        let mut end = s.start() + text.trim_end().len();
        while let Ok(i) = self.comment_ends.binary_search_by(|(e, _)| e.cmp(&end)) {
            let start = self.comment_ends[i].1;
            if start < s.start() {
                break;
            }
            end = s.start() + text[..start - s.start()].trim_end().len();
        }
        Span::new(self.file, s.start()..end.max(s.start()))
    }

    fn ident(&self, pair: Pair<Rule>) -> Ident {
        let span = self.span(&pair);
        let text = pair.as_str();
        let name = if pair.as_rule() == Rule::quoted_ident { text.trim_matches('`').to_string() } else { text.to_string() };
        Ident { name, span }
    }

    fn column_ref(&self, pair: Pair<Rule>) -> Ident {
        // column_ref -> ident | quoted_ident
        let span = self.span(&pair);
        match pair.into_inner().next() {
            Some(inner) => self.ident(inner),
            None => Ident { name: String::new(), span },
        }
    }

    fn string(&self, pair: Pair<Rule>) -> Str {
        let span = self.span(&pair);
        let inner = pair.into_inner().next().map(|p| p.as_str()).unwrap_or("");
        Str { value: unescape(inner), span }
    }

    fn title(&self, pair: Option<&Pair<Rule>>) -> Option<Str> {
        pair.filter(|p| p.as_rule() == Rule::title).and_then(|p| p.clone().into_inner().next()).map(|s| self.string(s))
    }

    fn meta(&self, pair: Pair<Rule>) -> MetaClause {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::owner_clause => MetaKind::Owner,
            Rule::description_clause => MetaKind::Description,
            _ => MetaKind::Method,
        };
        let value = pair.into_inner().find(|p| p.as_rule() == Rule::string).map(|p| self.string(p));
        MetaClause { kind, value: value.unwrap_or(Str { value: String::new(), span }), span }
    }

    /// `keyword ident title? { members }` -> (id, title, member pairs)
    fn header<'a>(&self, pair: Pair<'a, Rule>) -> (Ident, Option<Str>, Vec<Pair<'a, Rule>>) {
        let span = self.span(&pair);
        let mut inner: Vec<Pair<Rule>> = pair.into_inner().skip(1).collect();
        let id = if inner.first().map(|p| p.as_rule()) == Some(Rule::ident) {
            self.ident(inner.remove(0))
        } else {
            Ident { name: String::new(), span }
        };
        let title = self.title(inner.first());
        if title.is_some() {
            inner.remove(0);
        }
        (id, title, inner)
    }

    fn goal(&self, pair: Pair<Rule>) -> PResult<Goal> {
        let span = self.span(&pair);
        let (id, title, members) = self.header(pair);
        let mut out = vec![];
        for m in members {
            out.push(match m.as_rule() {
                Rule::objective => GoalMember::Objective(self.objective(m)?),
                Rule::kpi => GoalMember::Kpi(self.kpi(m)?),
                Rule::event_clause => GoalMember::Event(self.event(m)?),
                _ => GoalMember::Meta(self.meta(m)),
            });
        }
        Ok(Goal { id, title, members: out, span })
    }

    fn objective(&self, pair: Pair<Rule>) -> PResult<Objective> {
        let span = self.span(&pair);
        let (id, title, members) = self.header(pair);
        let mut out = vec![];
        for m in members {
            out.push(match m.as_rule() {
                Rule::kpi => ObjectiveMember::Kpi(self.kpi(m)?),
                Rule::event_clause => ObjectiveMember::Event(self.event(m)?),
                Rule::audience_clause => ObjectiveMember::Audience(self.audience(m)),
                _ => ObjectiveMember::Meta(self.meta(m)),
            });
        }
        Ok(Objective { id, title, members: out, span })
    }

    fn kpi(&self, pair: Pair<Rule>) -> PResult<Kpi> {
        let span = self.span(&pair);
        let (id, title, clauses) = self.header(pair);
        let mut out = vec![];
        for c in clauses {
            out.push(self.kpi_clause(c)?);
        }
        Ok(Kpi { id, title, clauses: out, span })
    }

    fn kpi_clause(&self, pair: Pair<Rule>) -> PResult<KpiClause> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        if matches!(rule, Rule::owner_clause | Rule::description_clause | Rule::method_clause) {
            return Ok(KpiClause { kind: KpiClauseKind::Meta(self.meta(pair)), span });
        }
        if rule == Rule::event_clause {
            return Ok(KpiClause { kind: KpiClauseKind::Event(self.event(pair)?), span });
        }
        if rule == Rule::audience_clause {
            return Ok(KpiClause { kind: KpiClauseKind::Audience(self.audience(pair)), span });
        }
        if rule == Rule::check_clause {
            return Ok(KpiClause { kind: KpiClauseKind::Check(self.check_rules(pair)?), span });
        }
        let clause_text = pair.as_str();
        // Skip the keyword.
        let mut inner = pair.into_inner().skip(1);
        let missing = || Diagnostic::error("YS0100", "incomplete clause").at(span, "here");
        let kind = match rule {
            Rule::from_clause => KpiClauseKind::From(self.ident(inner.next().ok_or_else(missing)?)),
            Rule::time_clause => KpiClauseKind::Time(self.column_ref(inner.next().ok_or_else(missing)?)),
            Rule::measure_clause => KpiClauseKind::Measure(self.top_expr(inner.next().ok_or_else(missing)?)?),
            Rule::where_clause => KpiClauseKind::Where(self.top_expr(inner.next().ok_or_else(missing)?)?),
            Rule::by_clause => KpiClauseKind::By(inner.map(|p| self.by_item(p)).collect::<PResult<Vec<_>>>()?),
            Rule::grain_clause => KpiClauseKind::Grain(self.ident(inner.next().ok_or_else(missing)?)),
            Rule::unit_clause => {
                let p = inner.next().ok_or_else(missing)?;
                if p.as_rule() == Rule::string {
                    KpiClauseKind::Unit(self.string(p))
                } else {
                    KpiClauseKind::Unit(Str { value: p.as_str().to_string(), span: self.span(&p) })
                }
            }
            Rule::target_clause => {
                let first = inner.next().ok_or_else(missing)?;
                let kind = if first.as_rule() == Rule::target_range {
                    let mut q = first.into_inner().filter(|p| p.as_rule() == Rule::quantity);
                    let low = self.quantity(q.next().ok_or_else(missing)?)?;
                    let high = self.quantity(q.next().ok_or_else(missing)?)?;
                    TargetKind::Between { low, high }
                } else {
                    let comparator = comparator(first.as_str());
                    TargetKind::Compare { comparator, value: self.quantity(inner.next().ok_or_else(missing)?)? }
                };
                let mut target = TargetAst { kind, tolerance: None, deadline: None, from: None };
                for p in inner {
                    let rule = p.as_rule();
                    let mut parts = p.into_inner().skip(1);
                    let part = parts.next().ok_or_else(missing)?;
                    match rule {
                        Rule::tolerance => target.tolerance = Some(self.quantity(part)?),
                        Rule::deadline => target.deadline = Some(self.date(&part)?),
                        Rule::effective => target.from = Some(self.date(&part)?),
                        _ => return Err(missing()),
                    }
                }
                KpiClauseKind::Target(target)
            }
            Rule::scope_clause => {
                let mut dates = inner.filter(|p| p.as_rule() == Rule::date);
                let start = self.date(&dates.next().ok_or_else(missing)?)?;
                let end = dates.next().map(|d| self.date(&d)).transpose()?;
                KpiClauseKind::Scope { start, end }
            }
            Rule::window_clause => {
                // The keyword is the whole clause for the year-to-date windows.
                let window = match clause_text.trim() {
                    "year_to_date" => Window::YearToDate,
                    "fiscal_year_to_date" => Window::FiscalYearToDate,
                    "cumulative" => Window::Cumulative,
                    _ => {
                        let n = inner.next().ok_or_else(missing)?;
                        let unit = self.ident(inner.next().ok_or_else(missing)?);
                        let count = n.as_str().parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                            Diagnostic::error("YS0101", format!("`{}` is not a window length", n.as_str()))
                                .at(self.span(&n), "expected a whole number of periods, 1 or more")
                                .help("write e.g. `rolling 12 month`")
                        })?;
                        Window::Rolling { n: count, n_span: self.span(&n), unit }
                    }
                };
                KpiClauseKind::Window(window)
            }
            Rule::compare_clause => KpiClauseKind::Compare(inner.map(|p| self.ident(p)).collect()),
            Rule::baseline_clause => {
                let period = self.date(&inner.next().ok_or_else(missing)?)?;
                let value = inner.next().map(|q| self.quantity(q)).transpose()?;
                KpiClauseKind::Baseline { period, value }
            }
            Rule::direction_clause => KpiClauseKind::Direction(self.ident(inner.next().ok_or_else(missing)?)),
            Rule::complete_after_clause => {
                // `45  days` and `45\tdays` are `45 days`: one space, whatever was written.
                let lag = self.ident(inner.next().ok_or_else(missing)?);
                KpiClauseKind::CompleteAfter(Ident { name: lag.name.split_whitespace().collect::<Vec<_>>().join(" "), ..lag })
            }
            Rule::rebase_clause => {
                let date = inner.find(|p| p.as_rule() == Rule::date).ok_or_else(missing)?;
                KpiClauseKind::Rebase(self.date(&date)?)
            }
            Rule::benchmark_clause => {
                let mut peer = false;
                let (mut name, mut value) = (None, None);
                for p in inner {
                    match p.as_rule() {
                        Rule::kw_peer => peer = true,
                        Rule::string => name = Some(self.string(p)),
                        Rule::quantity => value = Some(self.quantity(p)?),
                        _ => {}
                    }
                }
                KpiClauseKind::Benchmark { peer, name: name.ok_or_else(missing)?, value: value.ok_or_else(missing)? }
            }
            Rule::spc_clause => KpiClauseKind::Spc(inner.filter_map(|o| self.spc_option(o)).collect()),
            Rule::suppress_clause => KpiClauseKind::Suppress(inner.filter_map(|o| self.suppress_option(o)).collect()),
            Rule::per_clause => {
                let (mut keys, mut defs) = (vec![], vec![]);
                for p in inner {
                    if p.as_rule() == Rule::per_def {
                        let mut def = p.into_inner();
                        let name = self.ident(def.next().ok_or_else(missing)?);
                        defs.push((name, self.top_expr(def.next().ok_or_else(missing)?)?));
                    } else {
                        keys.push(self.column_ref(p));
                    }
                }
                KpiClauseKind::Per { keys, defs }
            }
            _ => return Err(missing()),
        };
        Ok(KpiClause { kind, span })
    }

    /// `event <date> "<text>" [rebase]`.
    fn event(&self, pair: Pair<Rule>) -> PResult<EventAst> {
        let span = self.span(&pair);
        let missing = || Diagnostic::error("YS0100", "incomplete event").at(span, "here");
        let (mut date, mut text, mut rebase) = (None, None, false);
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::date => date = Some(self.date(&p)?),
                Rule::string => text = Some(self.string(p)),
                Rule::event_rebase => rebase = true,
                _ => {}
            }
        }
        Ok(EventAst { date: date.ok_or_else(missing)?, text: text.ok_or_else(missing)?, rebase, span })
    }

    /// `audience internal|public`.
    fn audience(&self, pair: Pair<Rule>) -> AudienceAst {
        let span = self.span(&pair);
        AudienceAst { internal: pair.into_inner().any(|p| p.as_rule() == Rule::kw_internal), span }
    }

    fn suppress_option(&self, pair: Pair<Rule>) -> Option<SuppressOptionAst> {
        let inner = pair.into_inner().next()?;
        let span = self.span(&inner);
        let rule = inner.as_rule();
        if rule == Rule::kw_off {
            return Some(SuppressOptionAst::Off(span));
        }
        let n = inner.into_inner().find(|p| p.as_rule() == Rule::number)?.as_str().to_string();
        Some(if rule == Rule::suppress_below { SuppressOptionAst::Below { n, span } } else { SuppressOptionAst::Round { n, span } })
    }

    fn spc_option(&self, pair: Pair<Rule>) -> Option<SpcOptionAst> {
        let inner = pair.into_inner().next()?;
        let span = self.span(&inner);
        Some(match inner.as_rule() {
            Rule::kw_on => SpcOptionAst::On(span),
            Rule::kw_off => SpcOptionAst::Off(span),
            Rule::spc_baseline => {
                SpcOptionAst::Baseline { n: inner.into_inner().find(|p| p.as_rule() == Rule::number)?.as_str().to_string(), span }
            }
            Rule::spc_screening => SpcOptionAst::Screening { on: inner.into_inner().any(|p| p.as_rule() == Rule::kw_on), span },
            _ => SpcOptionAst::TwoOfThree(self.ident(inner.into_inner().find(|p| p.as_rule() == Rule::ident)?)),
        })
    }

    fn date(&self, pair: &Pair<Rule>) -> PResult<DateLit> {
        let span = self.span(pair);
        let date = chrono::NaiveDate::parse_from_str(pair.as_str(), "%Y-%m-%d").map_err(|_| {
            Diagnostic::error("YS0101", format!("`{}` is not a valid date", pair.as_str()))
                .at(span, "no such day")
                .help("dates are written YYYY-MM-DD, e.g. 2024-07-01")
        })?;
        Ok(DateLit { date, span })
    }

    fn quantity(&self, pair: Pair<Rule>) -> PResult<Quantity> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().peekable();
        let negative = inner.next_if(|p| p.as_rule() == Rule::minus).is_some();
        let num = inner.next().ok_or_else(|| Diagnostic::error("YS0101", "expected a number").at(span, "here"))?;
        let text = if negative { format!("-{}", num.as_str()) } else { num.as_str().to_string() };
        let number = if negative { -self.number(&num)? } else { self.number(&num)? };
        let unit = inner.next().map(|u| Ident { name: u.as_str().to_string(), span: self.span(&u) });
        Ok(Quantity { number, text, unit, span })
    }

    fn number(&self, pair: &Pair<Rule>) -> PResult<f64> {
        pair.as_str().parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(|| {
            Diagnostic::error("YS0101", format!("`{}` is not a number yardstick can represent", pair.as_str()))
                .at(self.span(pair), "number out of range")
        })
    }

    /// A whole expression (a clause's): its size is checked before the tree is built, since
    /// the Pratt parser and every later pass recurse on it.
    fn top_expr(&self, pair: Pair<Rule>) -> PResult<Expr> {
        self.check_size(&pair)?;
        self.expr(pair)
    }

    /// [`MAX_NESTING`] and [`MAX_EXPR_NODES`], counted on pest's flat `expr` sequences
    /// (`prefix* primary postfix* (infix prefix* primary postfix*)*`) without recursion.
    fn check_size(&self, pair: &Pair<Rule>) -> PResult<()> {
        let mut nodes = 0usize;
        let mut stack = vec![(pair.clone(), 0usize)];
        while let Some((expr, depth)) = stack.pop() {
            let mut prefix = 0;
            for p in expr.into_inner() {
                let rule = p.as_rule();
                if rule != Rule::expr {
                    nodes += 1;
                }
                if nodes > MAX_EXPR_NODES {
                    return Err(Diagnostic::error("YS0102", format!("expression has more than {MAX_EXPR_NODES} parts"))
                        .at(self.span(&p), format!("part {}", MAX_EXPR_NODES + 1))
                        .help(format!(
                            "one `measure` or `where` can have up to {MAX_EXPR_NODES} parts: values, names, operators and calls \
                             (docs/language.md, Limits); split it, e.g. into KPIs combined by a derived KPI, or use `in (...)`"
                        )));
                }
                // Expressions inside this term are one level deeper than the term and its prefixes.
                let inner = depth + prefix + 1;
                let mut nested: Vec<Pair<Rule>> = vec![];
                match rule {
                    Rule::op_not | Rule::op_neg => {
                        prefix += 1;
                        if depth + prefix > MAX_NESTING {
                            return Err(too_deep(self.span(&p)));
                        }
                        continue;
                    }
                    // `( expr )`
                    Rule::expr => nested.push(p),
                    Rule::call => {
                        for arg in p.into_inner().filter(|a| a.as_rule() == Rule::arg) {
                            nested.extend(arg.into_inner().filter(|e| e.as_rule() == Rule::expr));
                        }
                    }
                    Rule::op_in | Rule::op_not_in => nested.extend(p.into_inner().filter(|e| e.as_rule() == Rule::expr)),
                    _ => {}
                }
                for e in nested {
                    if inner > MAX_NESTING {
                        return Err(too_deep(self.span(&e)));
                    }
                    stack.push((e, inner));
                }
                prefix = 0;
            }
        }
        Ok(())
    }

    fn expr(&self, pair: Pair<Rule>) -> PResult<Expr> {
        self.pratt(pair.into_inner())
    }

    fn pratt(&self, pairs: Pairs<Rule>) -> PResult<Expr> {
        PRATT
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, rhs| {
                let rhs = rhs?;
                let span = self.span(&op).to(rhs.span);
                let op = if op.as_rule() == Rule::op_not { UnaryOp::Not } else { UnaryOp::Neg };
                Ok(Expr { kind: ExprKind::Unary { op, expr: Box::new(rhs) }, span })
            })
            .map_postfix(|lhs, op| {
                let lhs = lhs?;
                let span = lhs.span.to(self.span(&op));
                let kind = match op.as_rule() {
                    Rule::op_is_null => ExprKind::IsNull { expr: Box::new(lhs), negated: false },
                    Rule::op_is_not_null => ExprKind::IsNull { expr: Box::new(lhs), negated: true },
                    rule => {
                        let negated = rule == Rule::op_not_in;
                        let list =
                            op.into_inner().filter(|p| p.as_rule() == Rule::expr).map(|p| self.expr(p)).collect::<PResult<Vec<_>>>()?;
                        ExprKind::InList { expr: Box::new(lhs), list, negated }
                    }
                };
                Ok(Expr { kind, span })
            })
            .map_infix(|lhs, op, rhs| {
                let (lhs, rhs) = (lhs?, rhs?);
                let span = lhs.span.to(rhs.span);
                let op = match op.as_rule() {
                    Rule::op_or => BinaryOp::Or,
                    Rule::op_and => BinaryOp::And,
                    Rule::op_eq => BinaryOp::Eq,
                    Rule::op_ne => BinaryOp::Ne,
                    Rule::op_lt => BinaryOp::Lt,
                    Rule::op_le => BinaryOp::Le,
                    Rule::op_gt => BinaryOp::Gt,
                    Rule::op_ge => BinaryOp::Ge,
                    Rule::op_add => BinaryOp::Add,
                    Rule::op_sub => BinaryOp::Sub,
                    Rule::op_mul => BinaryOp::Mul,
                    _ => BinaryOp::Div,
                };
                Ok(Expr { kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span })
            })
            .parse(pairs)
    }

    /// `district` or `region = trim(region_name)`.
    fn by_item(&self, pair: Pair<Rule>) -> PResult<ByItem> {
        let mut inner = pair.into_inner();
        let first = inner.next().ok_or_else(|| Diagnostic::error("YS0100", "an empty `by` item"))?;
        let rest: Vec<Pair<Rule>> = inner.collect();
        let internal = rest.iter().any(|p| p.as_rule() == Rule::by_internal);
        Ok(match first.as_rule() {
            Rule::column_ref => ByItem { name: self.column_ref(first), expr: None, internal },
            _ => {
                let name = self.ident(first);
                let expr = rest.into_iter().find(|p| p.as_rule() == Rule::expr).map(|e| self.top_expr(e)).transpose()?;
                ByItem { name, expr, internal }
            }
        })
    }

    fn primary(&self, pair: Pair<Rule>) -> PResult<Expr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::expr => return self.expr(pair),
            Rule::number => ExprKind::Number { value: self.number(&pair)?, text: pair.as_str().to_string() },
            Rule::percent => {
                let text = pair.as_str().to_string();
                let number = pair.into_inner().next().ok_or_else(|| Diagnostic::error("YS0100", "a percentage without its number"))?;
                ExprKind::Number { value: self.number(&number)? / 100.0, text }
            }
            Rule::string => ExprKind::String(self.string(pair).value),
            Rule::kw_true => ExprKind::Bool(true),
            Rule::kw_false => ExprKind::Bool(false),
            Rule::kw_null => ExprKind::Null,
            Rule::date => ExprKind::Date(self.date(&pair)?.date),
            Rule::column_ref => ExprKind::Column(self.column_ref(pair)),
            Rule::interval => {
                let mut inner = pair.into_inner();
                let (number, unit) = (inner.next(), inner.next());
                let (Some(number), Some(unit)) = (number, unit) else {
                    return Err(Diagnostic::error("YS0100", "an interval without its number or unit").at(span, "here"));
                };
                let unit = IntervalUnit::from_word(unit.as_str())
                    .ok_or_else(|| Diagnostic::error("YS0100", "an interval with an unknown unit").at(span, "here"))?;
                ExprKind::Interval { amount: self.number(&number)?, unit }
            }
            Rule::call => {
                let mut inner = pair.into_inner();
                let name = self.ident(inner.next().ok_or_else(|| Diagnostic::error("YS0100", "call without a name"))?);
                let args = inner.map(|a| self.arg(a)).collect::<PResult<Vec<_>>>()?;
                ExprKind::Call { name, args }
            }
            other => {
                return Err(Diagnostic::error("YS0100", format!("unexpected {}", describe_rule(other))).at(span, "here"));
            }
        };
        Ok(Expr { kind, span })
    }

    fn arg(&self, pair: Pair<Rule>) -> PResult<Arg> {
        let span = self.span(&pair);
        let mut distinct = false;
        let mut expr = None;
        let mut filter = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::kw_distinct => distinct = true,
                Rule::kw_where => {}
                Rule::expr if expr.is_none() => expr = Some(self.expr(p)?),
                Rule::expr => filter = Some(self.expr(p)?),
                _ => {}
            }
        }
        let expr = expr.ok_or_else(|| Diagnostic::error("YS0100", "empty argument").at(span, "here"))?;
        Ok(Arg { distinct, expr, filter, span })
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Words that cannot be names (grammar/yardstick.pest `keyword`); a column with such a name
/// is written in backticks.
pub const RESERVED_WORDS: &[&str] = &[
    "goal",
    "objective",
    "kpi",
    "from",
    "time",
    "measure",
    "where",
    "by",
    "grain",
    "target",
    "unit",
    "owner",
    "description",
    "method",
    "and",
    "or",
    "not",
    "is",
    "null",
    "in",
    "true",
    "false",
    "distinct",
];
