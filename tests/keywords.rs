//! One keyword list: the words of grammar/yardstick.pest (`kw_*` rules, `keyword`,
//! `clause_word`) against the parser's `RESERVED_WORDS`, `ast::CLAUSE_KEYWORDS` (what syntax
//! errors list and suggest), the clauses the parser builds, and the editor grammar.

use std::collections::BTreeSet;

use yardstick::ast::CLAUSE_KEYWORDS;
use yardstick::parse::RESERVED_WORDS;

use crate::common::*;

/// The word of every `kw_x = @{ "word" ~ !ident_char }` rule of the grammar.
fn grammar_keywords() -> BTreeSet<String> {
    let grammar = std::fs::read_to_string(repo().join("grammar/yardstick.pest")).expect("grammar");
    let words: BTreeSet<String> =
        grammar.lines().filter(|l| l.trim_start().starts_with("kw_")).filter_map(|l| l.split('"').nth(1).map(str::to_string)).collect();
    assert!(words.len() >= 30, "found the kw_ rules: {words:?}");
    words
}

/// The words of one rule's body, e.g. `keyword = @{ ( "goal" | ... ) ~ !ident_char }`.
fn rule_words(rule: &str) -> BTreeSet<String> {
    let grammar = std::fs::read_to_string(repo().join("grammar/yardstick.pest")).expect("grammar");
    let start = grammar.find(&format!("\n{rule} ")).unwrap_or_else(|| panic!("rule {rule}"));
    let body = &grammar[start..];
    let body = &body[..body.find("\n}").expect("rule end")];
    // `"word"` literals, or `kw_word` references.
    let mut words: BTreeSet<String> = body.split('"').skip(1).step_by(2).map(str::to_string).collect();
    words.extend(body.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter_map(|w| w.strip_prefix("kw_")).map(str::to_string));
    words
}

#[test]
fn keyword_lists_match_the_grammar() {
    let all = grammar_keywords();
    let reserved: BTreeSet<String> = RESERVED_WORDS.iter().map(|s| s.to_string()).collect();
    assert_eq!(reserved, rule_words("keyword"), "RESERVED_WORDS is the grammar's `keyword` rule");
    let clauses: BTreeSet<String> = CLAUSE_KEYWORDS.iter().map(|s| s.to_string()).collect();
    assert_eq!(clauses.len(), CLAUSE_KEYWORDS.len(), "no clause keyword twice");
    // Every grammar keyword is reserved, starts a clause, or is a word inside a clause
    // (`tolerance` of a target, `at` of `rebase at`, the options of `spc` and `benchmark`).
    const INSIDE: [&str; 11] =
        ["tolerance", "at", "peer", "on", "off", "screening", "two_of_three", "internal", "public", "below", "round"];
    for w in &all {
        let check = yardstick::ast::CHECK_KEYWORDS.contains(&w.as_str());
        assert!(reserved.contains(w) || clauses.contains(w) || INSIDE.contains(&w.as_str()) || check, "`{w}` is in no keyword list");
    }
    // The contextual clause words are exactly the clause keywords that are not reserved.
    let contextual: BTreeSet<String> = clauses.difference(&reserved).cloned().chain(["tolerance".to_string()]).collect();
    assert_eq!(contextual, rule_words("clause_word"));
}

#[test]
fn clause_keywords_are_the_clauses_the_parser_builds() {
    // A KPI with every clause (the fmt fixture), plus the scope and windows it has once.
    let text = std::fs::read_to_string(fixture("fmt/every_clause.in.kpi")).expect("fixture");
    let file = yardstick::parse::parse_file(yardstick::span::FileId(0), &text).expect("parses");
    let mut built = BTreeSet::new();
    for g in &file.goals {
        for m in &g.members {
            if let yardstick::ast::GoalMember::Kpi(k) = m {
                built.extend(k.clauses.iter().map(|c| c.kind.keyword().to_string()));
            }
        }
    }
    let listed: BTreeSet<String> = CLAUSE_KEYWORDS.iter().map(|s| s.to_string()).collect();
    assert_eq!(built, listed);
}

#[test]
fn editor_grammar_highlights_every_keyword() {
    let path = repo().join("editors/vscode/syntaxes/kpi.tmLanguage.json");
    let grammar: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("tmLanguage")).expect("valid JSON");
    assert_eq!(grammar["scopeName"], "source.kpi");
    // Every word that appears in a `match` regex.
    let mut matched = BTreeSet::new();
    let mut stack = vec![&grammar];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Object(o) => {
                if let Some(serde_json::Value::String(m)) = o.get("match") {
                    matched.extend(m.split(|c: char| !(c.is_alphanumeric() || c == '_')).map(str::to_string));
                }
                stack.extend(o.values());
            }
            serde_json::Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    for w in grammar_keywords() {
        assert!(matched.contains(&w), "editors/vscode/syntaxes/kpi.tmLanguage.json does not highlight `{w}`");
    }
    let package: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("editors/vscode/package.json")).expect("package.json")).expect("JSON");
    assert_eq!(package["contributes"]["grammars"][0]["path"], "./syntaxes/kpi.tmLanguage.json");
    assert_eq!(package["contributes"]["languages"][0]["extensions"][0], ".kpi");
}
