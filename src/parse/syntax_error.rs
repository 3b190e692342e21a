//! pest's "expected ..." errors turned into one short message in words: what was found, what
//! the place allows, and the fix. The common mistakes get their own message: a misspelled
//! clause (did you mean), a missing `}` or `)` (the unclosed one is pointed at), a keyword in
//! capitals, a clause outside a KPI.

use pest::error::{ErrorVariant, InputLocation};

use super::{RESERVED_WORDS, Rule, Token, scan};
use crate::ast::CLAUSE_KEYWORDS;
use crate::diagnostics::{Diagnostic, did_you_mean};
use crate::span::{FileId, Span};

pub(super) fn syntax_error(file: FileId, text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let pos = text.floor_char_boundary(pos.min(text.len()));
    // Point at the offending token (up to the next whitespace), or at one char (none at EOF).
    let token: usize = text[pos..].chars().take_while(|c| !c.is_whitespace()).map(char::len_utf8).sum();
    let end = pos + if token > 0 { token } else { text[pos..].chars().next().map_or(0, char::len_utf8) };
    let found = text[pos..end].chars().take(30).collect::<String>();
    let positives = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => vec![],
    };
    let here = Span::new(file, pos..end);
    if let Some(c) = found.chars().next().filter(|c| is_invisible(*c)) {
        let help = if c.is_whitespace() {
            format!(
                "U+{:04X} is a Unicode space that .kpi files do not allow (it often comes from copying text from a web page or a document): \
                 replace it with a plain space",
                c as u32
            )
        } else {
            format!("U+{:04X} is a control or formatting character: delete it", c as u32)
        };
        return Diagnostic::error("YS0100", format!("unexpected invisible character U+{:04X}", c as u32)).at(here, "unexpected").help(help);
    }
    let context = Context::at(text, pos);
    let word: String = found.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    let word = if found.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') { word } else { String::new() };
    let found_text = if found.is_empty() { "the end of the file".to_string() } else { format!("`{found}`") };
    let error = |message: String, label: &str| Diagnostic::error("YS0100", message).at(here, label);
    let boundary = positives.iter().any(|r| starts_clause(*r) || starts_member(*r));

    // A keyword in capitals (`AND`, `Measure`), here or just before (`where NOT x`: `NOT` was
    // taken for a column name).
    let previous = context
        .previous
        .map(|(a, b)| (&text[a..b], Span::new(file, a..b)))
        .filter(|(w, _)| matches!(*w, "AND" | "OR" | "NOT" | "IS" | "IN" | "NULL" | "DISTINCT"));
    for (w, span) in std::iter::once((word.as_str(), here)).chain(previous) {
        if let Some(lower) = capitalised_keyword(w) {
            return Diagnostic::error("YS0100", format!("`{w}` is not a keyword: keywords are lowercase"))
                .at(span, format!("write `{lower}`"))
                .help(format!("write `{lower}`: yardstick's keywords (and, or, not, measure, where, ...) are all lowercase"));
        }
    }

    // The file ends inside a block or a parenthesis.
    if found.is_empty()
        && let Some(open) = context.open.last()
    {
        let close = open.closer();
        return Diagnostic::error("YS0100", format!("missing `{close}`: {} is never closed", open.describe()))
            .at(here, format!("the file ends here, expected `{close}`"))
            .also(Span::new(file, open.at..open.at + 1), format!("this `{}` is never closed", open.delim as char))
            .help(format!("add `{close}` to close {}", open.describe()));
    }

    match context.open.last() {
        // A `)` is missing: the next clause (or the end of the block) came first.
        Some(open) if open.delim == b'(' && (found == "}" || CLAUSE_KEYWORDS.contains(&word.as_str()) || is_block_keyword(&word)) => {
            return error(format!("missing `)` before {found_text}"), "expected `)` before this")
                .also(Span::new(file, open.at..open.at + 1), "this `(` is not closed")
                .help("close the `(`: is a `)` or a value missing before this?");
        }
        // A `}` is missing: a block starts where it cannot be inside the open one.
        Some(open) if open.delim == b'{' && boundary && !open.may_contain(&word) && is_block_keyword(&word) => {
            return error(format!("missing `}}` before `{word}`: {} is not closed", open.describe()), "expected `}` before this")
                .also(Span::new(file, open.at..open.at + 1), "this `{` is not closed")
                .help(format!("add `}}` to close {} before this `{word}`", open.describe()));
        }
        // Inside a KPI, where a clause starts.
        Some(open) if open.kind == "KPI" && positives.iter().any(|r| starts_clause(*r)) && !word.is_empty() => {
            // Right after a target, `tolerance` may come too.
            let after_target = positives.iter().any(|r| matches!(r, Rule::tolerance | Rule::kw_tolerance));
            let candidates = CLAUSE_KEYWORDS.iter().copied().chain(after_target.then_some("tolerance"));
            let help = match did_you_mean(&word, candidates) {
                Some(best) => format!("did you mean `{best}`?"),
                None if word == "tolerance" => {
                    "a tolerance or a deadline belongs to a `target` clause: `target >= 90% tolerance 2pp by 2026-12-01`".to_string()
                }
                None => format!("KPI clauses are: {}", CLAUSE_KEYWORDS.join(", ")),
            };
            return error(format!("unknown clause `{word}`"), "not a KPI clause").help(help);
        }
        // Inside a goal or an objective, where a member starts.
        Some(open) if open.delim == b'{' && positives.iter().any(|r| starts_member(*r)) && !word.is_empty() => {
            let members: &[&str] = if open.kind == "goal" {
                &["objective", "kpi", "owner", "description", "method"]
            } else {
                &["kpi", "owner", "description", "method"]
            };
            let help = if CLAUSE_KEYWORDS.contains(&word.as_str()) {
                format!("`{word}` is a KPI clause: put it inside a `kpi <name> \"Title\" {{ ... }}` block")
            } else {
                match did_you_mean(&word, members.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("{} holds {}", open.describe(), join_or(&members.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>())),
                }
            };
            return error(format!("unexpected `{word}` in {}", open.describe()), "not allowed here").help(help);
        }
        None if positives.iter().any(|r| matches!(r, Rule::goal | Rule::kw_goal | Rule::file)) => {
            let (message, help) = if found == "}" {
                ("unmatched `}`: no block is open here".to_string(), "remove this `}`, or look for an extra `}` before it".to_string())
            } else if matches!(word.as_str(), "kpi" | "objective") || CLAUSE_KEYWORDS.contains(&word.as_str()) {
                (
                    format!("`{word}` outside a goal"),
                    "a .kpi file is a list of goals: `goal <name> \"Title\" { objective ... { kpi ... { ... } } }`".to_string(),
                )
            } else {
                let help = match did_you_mean(&word, ["goal"]) {
                    Some(best) if !word.is_empty() => format!("did you mean `{best}`?"),
                    _ => "a .kpi file is a list of `goal <name> \"Title\" { ... }` blocks".to_string(),
                };
                (format!("expected `goal`, found {found_text}"), help)
            };
            let label = if found == "}" { "nothing to close" } else { "expected `goal`" };
            return error(message, label).help(help);
        }
        _ => {}
    }

    // Anything else: what the place allows, in a few words.
    let mut expected: Vec<&str> = positives.iter().map(|r| describe_rule(*r)).collect();
    expected.sort();
    expected.dedup();
    if boundary && context.open.last().is_some_and(|o| o.delim == b'{') {
        expected.push("`}`");
    }
    let expected_text = join_or(&expected.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let message =
        if expected_text.is_empty() { format!("unexpected {found_text}") } else { format!("expected {expected_text}, found {found_text}") };
    let label = if expected_text.is_empty() { "unexpected".to_string() } else { format!("expected {expected_text}") };
    error(message, &label).help_opt(syntax_help(&expected, &word))
}

/// What is open at a position: the unclosed `{` and `(` before it (innermost last), each with
/// the block it starts, and the word before the position.
struct Context {
    open: Vec<Open>,
    previous: Option<(usize, usize)>,
}

struct Open {
    delim: u8,
    at: usize,
    /// `goal`, `objective`, `KPI`, or empty for a `(` or an unnamed block.
    kind: &'static str,
    name: String,
}

impl Open {
    fn closer(&self) -> char {
        if self.delim == b'(' { ')' } else { '}' }
    }

    fn describe(&self) -> String {
        match (self.delim, self.kind) {
            (b'(', _) => "this `(`".to_string(),
            (_, "") => "this block".to_string(),
            (_, kind) if self.name.is_empty() => format!("the {kind}"),
            (_, kind) => format!("{kind} `{}`", self.name),
        }
    }

    /// Whether a block starting with `word` may be inside this one.
    fn may_contain(&self, word: &str) -> bool {
        matches!((self.kind, word), ("goal", "objective" | "kpi") | ("objective", "kpi"))
    }
}

impl Context {
    fn at(text: &str, pos: usize) -> Context {
        let mut open: Vec<Open> = vec![];
        let mut previous = None;
        // The block keyword and name seen since the last brace.
        let mut header: Option<(&'static str, String)> = None;
        scan(text, |t| {
            match t {
                Token::Word(a, _) | Token::Comment(a, _) | Token::Punct(_, a) if a >= pos => return false,
                Token::Word(a, b) => {
                    previous = Some((a, b));
                    match (&text[a..b], header.as_mut()) {
                        ("goal", _) => header = Some(("goal", String::new())),
                        ("objective", _) => header = Some(("objective", String::new())),
                        ("kpi", _) => header = Some(("KPI", String::new())),
                        (name, Some((_, n))) if n.is_empty() => *n = name.to_string(),
                        _ => {}
                    }
                }
                Token::Punct(c @ (b'{' | b'('), at) => {
                    let (kind, name) = if c == b'{' { header.take().unwrap_or(("", String::new())) } else { ("", String::new()) };
                    open.push(Open { delim: c, at, kind, name });
                }
                Token::Punct(c @ (b'}' | b')'), _) => {
                    let opener = if c == b'}' { b'{' } else { b'(' };
                    if open.last().is_some_and(|o| o.delim == opener) {
                        open.pop();
                    }
                    header = None;
                }
                Token::Punct(..) | Token::Comment(..) => {}
            }
            true
        });
        Context { open, previous }
    }
}

fn is_block_keyword(word: &str) -> bool {
    matches!(word, "goal" | "objective" | "kpi")
}

/// `AND` -> `and`: a word that is a keyword once lowercased, but is not lowercase.
fn capitalised_keyword(word: &str) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    (lower != word && (RESERVED_WORDS.contains(&lower.as_str()) || CLAUSE_KEYWORDS.contains(&lower.as_str()))).then_some(lower)
}

/// Rules that start a KPI clause (pest reports the keyword rule it tried, or the clause).
fn starts_clause(rule: Rule) -> bool {
    describe_rule(rule) == "a KPI clause"
}

/// Rules that start a member of a goal or objective.
fn starts_member(rule: Rule) -> bool {
    matches!(rule, Rule::objective | Rule::kw_objective | Rule::kpi | Rule::kw_kpi)
}

/// A char that shows as nothing or as blank: what a syntax error found is named, not quoted.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

fn syntax_help(expected: &[&str], word: &str) -> Option<String> {
    let is_keyword = |w: &str| RESERVED_WORDS.contains(&w);
    if expected.contains(&"a name") && is_keyword(word) {
        return Some(format!("`{word}` is a reserved word: choose another name (a column with this name is written in backticks)"));
    }
    if expected.contains(&"an expression") && (is_keyword(word) || CLAUSE_KEYWORDS.contains(&word)) {
        return Some(format!("`{word}` starts a new clause: is a value missing before it?"));
    }
    if expected.contains(&"a KPI clause") {
        return Some(format!("KPI clauses are: {}", CLAUSE_KEYWORDS.join(", ")));
    }
    if expected.contains(&"`goal`") {
        return Some("a .kpi file is a list of `goal <name> \"Title\" { ... }` blocks".into());
    }
    None
}

fn join_or(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// Words for grammar rules, so errors never show pest rule names.
pub(super) fn describe_rule(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "the end of the file",
        Rule::goal | Rule::kw_goal => "`goal`",
        Rule::objective | Rule::kw_objective => "`objective`",
        Rule::kpi | Rule::kw_kpi => "`kpi`",
        Rule::title => "a quoted title",
        Rule::from_clause
        | Rule::time_clause
        | Rule::measure_clause
        | Rule::where_clause
        | Rule::by_clause
        | Rule::grain_clause
        | Rule::target_clause
        | Rule::unit_clause
        | Rule::scope_clause
        | Rule::window_clause
        | Rule::compare_clause
        | Rule::baseline_clause
        | Rule::direction_clause
        | Rule::complete_after_clause
        | Rule::owner_clause
        | Rule::description_clause
        | Rule::method_clause
        | Rule::kw_owner
        | Rule::kw_description
        | Rule::kw_method
        | Rule::kw_from
        | Rule::kw_time
        | Rule::kw_measure
        | Rule::kw_where
        | Rule::kw_by
        | Rule::kw_grain
        | Rule::kw_target
        | Rule::kw_unit
        | Rule::kw_since
        | Rule::kw_between
        | Rule::kw_rolling
        | Rule::kw_year_to_date
        | Rule::kw_fiscal_year_to_date
        | Rule::kw_cumulative
        | Rule::kw_compare
        | Rule::kw_baseline
        | Rule::kw_direction
        | Rule::kw_complete_after
        | Rule::per_clause
        | Rule::kw_per
        | Rule::rebase_clause
        | Rule::benchmark_clause
        | Rule::spc_clause
        | Rule::kw_benchmark
        | Rule::kw_spc
        | Rule::audience_clause
        | Rule::suppress_clause
        | Rule::check_clause
        | Rule::kw_audience
        | Rule::kw_suppress
        | Rule::tolerance
        | Rule::kw_tolerance
        | Rule::deadline
        | Rule::effective
        | Rule::target_range => "a KPI clause",
        Rule::per_def => "`name = measure`, e.g. `first_arrival = min(minutes_between(received, on_scene))`",
        Rule::event_clause | Rule::kw_event => "`event <date> \"<what changed>\"`",
        Rule::spc_option | Rule::spc_baseline | Rule::spc_screening | Rule::spc_two_of_three => {
            "an spc option (`off`, `baseline 12`, `screening off`, `two_of_three beyond_two_sigma`)"
        }
        Rule::event_rebase | Rule::kw_rebase => "`rebase`",
        Rule::kw_internal | Rule::kw_public | Rule::by_internal => "`internal` or `public`",
        Rule::suppress_option | Rule::suppress_below | Rule::suppress_round | Rule::kw_below | Rule::kw_round => {
            "a suppression option (`below 10`, `round 5`, `off`)"
        }
        Rule::kw_at => "`at`",
        Rule::kw_peer => "`peer`",
        Rule::kw_screening => "`screening`",
        Rule::kw_two_of_three => "`two_of_three`",
        Rule::kw_on | Rule::kw_off => "`on` or `off`",
        Rule::lag => "a data lag such as `30 days`, `2 weeks`, `1 month` or `none`",
        Rule::minus => "`-`",
        Rule::ident => "a name",
        Rule::quoted_ident | Rule::column_ref => "a column name",
        Rule::string | Rule::dq_inner | Rule::sq_inner => "a quoted string",
        Rule::number => "a number",
        Rule::percent => "a percentage",
        Rule::date => "a date (YYYY-MM-DD)",
        Rule::interval | Rule::interval_unit => "an interval such as `30 days`",
        Rule::by_item => "a column name or `name = expression`",
        Rule::quantity => "a number such as `90%`, `5` or `8 min`",
        Rule::unit_word => "a unit such as `%`, `pp`, `min`, `days`",
        Rule::comparator => "a comparison (`>=`, `<=`, `>`, `<`)",
        Rule::expr | Rule::call | Rule::arg | Rule::op_not | Rule::op_neg => "an expression",
        Rule::op_or
        | Rule::op_and
        | Rule::op_eq
        | Rule::op_ne
        | Rule::op_le
        | Rule::op_ge
        | Rule::op_lt
        | Rule::op_gt
        | Rule::op_add
        | Rule::op_sub
        | Rule::op_mul
        | Rule::op_div
        | Rule::op_is_null
        | Rule::op_is_not_null
        | Rule::op_in
        | Rule::op_not_in
        | Rule::kw_and
        | Rule::kw_or
        | Rule::kw_is
        | Rule::kw_in => "an operator",
        Rule::kw_not => "`not`",
        Rule::kw_null => "`null`",
        Rule::kw_true | Rule::kw_false => "`true` or `false`",
        Rule::kw_distinct => "`distinct`",
        Rule::keyword | Rule::clause_word => "a keyword",
        Rule::kpi_clause => "a KPI clause",
        Rule::meta_clause => "`owner`, `description` or `method`",
        Rule::infix | Rule::postfix => "an operator",
        Rule::prefix | Rule::primary => "an expression",
        Rule::WHITESPACE | Rule::COMMENT => "whitespace",
        Rule::file => "a goal",
        Rule::ident_char => "a letter or digit",
        Rule::check_block | Rule::kw_check => "`check`",
        Rule::check_rule
        | Rule::check_not_null
        | Rule::check_unique
        | Rule::check_accepted
        | Rule::check_valid
        | Rule::check_fresh
        | Rule::check_volume
        | Rule::check_rows
        | Rule::check_relationship
        | Rule::kw_not_null
        | Rule::kw_unique
        | Rule::kw_accepted
        | Rule::kw_valid
        | Rule::kw_fresh
        | Rule::kw_rows
        | Rule::kw_relationship => "a data check (`not_null`, `unique`, `accepted`, `valid`, `fresh`, `rows`, `relationship`)",
        Rule::check_max | Rule::kw_max => "`max <count>` or `max <share>%`",
        Rule::check_severity | Rule::kw_warn | Rule::kw_error => "`warn` or `error`",
        Rule::kw_within => "`within`",
        Rule::kw_of => "`of`",
        Rule::kw_change => "`change`",
    }
}
