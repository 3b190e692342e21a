//! `check <source> { ... }` blocks -> [`CheckBlock`], and a KPI's `check { ... }` clause ->
//! its rules (grammar: the "data checks" rules).

use pest::iterators::Pair;

use super::{Ctx, PResult, Rule};
use crate::ast::*;
use crate::diagnostics::Diagnostic;

impl Ctx {
    pub(super) fn check_block(&self, pair: Pair<Rule>) -> PResult<CheckBlock> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().skip(1);
        let source = match inner.next() {
            Some(p) => self.ident(p),
            None => return Err(Diagnostic::error("YS0100", "a `check` block without its source").at(span, "here")),
        };
        let rules = inner.map(|r| self.check_rule(r)).collect::<PResult<Vec<_>>>()?;
        Ok(CheckBlock { source, rules, span })
    }

    /// A KPI's `check { ... }` clause: its rules.
    pub(super) fn check_rules(&self, pair: Pair<Rule>) -> PResult<Vec<CheckRule>> {
        pair.into_inner().skip(1).map(|r| self.check_rule(r)).collect()
    }

    fn check_rule(&self, pair: Pair<Rule>) -> PResult<CheckRule> {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let missing = || Diagnostic::error("YS0100", "incomplete data check").at(span, "here");
        let what = parts.next().ok_or_else(missing)?;
        let kind = self.check_kind(what)?;
        let (mut max, mut severity) = (None, None);
        for p in parts {
            match p.as_rule() {
                Rule::check_max => max = Some(self.check_number(p.into_inner().nth(1).ok_or_else(missing)?)?),
                _ => severity = Some(Ident { name: p.as_str().trim().to_string(), span: self.span(&p) }),
            }
        }
        Ok(CheckRule { kind, max, severity, span })
    }

    fn check_kind(&self, pair: Pair<Rule>) -> PResult<CheckRuleKind> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let missing = || Diagnostic::error("YS0100", "incomplete data check").at(span, "here");
        let mut inner = pair.into_inner().skip(1);
        Ok(match rule {
            Rule::check_not_null => CheckRuleKind::NotNull(inner.map(|p| self.column_ref(p)).collect()),
            Rule::check_unique => CheckRuleKind::Unique(inner.map(|p| self.column_ref(p)).collect()),
            Rule::check_accepted => {
                let column = self.column_ref(inner.next().ok_or_else(missing)?);
                let values = inner.filter(|p| p.as_rule() == Rule::expr).map(|p| self.top_expr(p)).collect::<PResult<Vec<_>>>()?;
                CheckRuleKind::Accepted { column, values }
            }
            Rule::check_valid => CheckRuleKind::Valid(self.top_expr(inner.next().ok_or_else(missing)?)?),
            Rule::check_fresh => {
                let column = self.column_ref(inner.next().ok_or_else(missing)?);
                let interval = inner.find(|p| p.as_rule() == Rule::interval).ok_or_else(missing)?;
                let mut parts = interval.into_inner();
                let (number, unit) = (parts.next().ok_or_else(missing)?, parts.next().ok_or_else(missing)?);
                let amount = CheckNumber {
                    value: self.number(&number)?,
                    percent: false,
                    text: number.as_str().to_string(),
                    span: self.span(&number),
                };
                let unit = IntervalUnit::from_word(unit.as_str()).ok_or_else(missing)?;
                CheckRuleKind::Fresh { column, amount, unit }
            }
            Rule::check_volume => {
                // kw_per ident (kw_of column_ref)? kw_change kw_within percent
                let mut grain = None;
                let mut time = None;
                let mut within = None;
                for p in inner {
                    match p.as_rule() {
                        Rule::ident => grain = Some(self.ident(p)),
                        Rule::column_ref => time = Some(self.column_ref(p)),
                        Rule::percent => within = Some(self.check_number(p)?),
                        _ => {}
                    }
                }
                CheckRuleKind::Volume { grain: grain.ok_or_else(missing)?, time, within: within.ok_or_else(missing)? }
            }
            Rule::check_rows => {
                let first = inner.next().ok_or_else(missing)?;
                if first.as_rule() == Rule::kw_between {
                    let mut numbers = inner.filter(|p| p.as_rule() == Rule::number);
                    let low = self.check_number(numbers.next().ok_or_else(missing)?)?;
                    let high = self.check_number(numbers.next().ok_or_else(missing)?)?;
                    CheckRuleKind::Rows(RowsBound::Between(low, high))
                } else {
                    let comparator = super::comparator(first.as_str());
                    CheckRuleKind::Rows(RowsBound::Compare(comparator, self.check_number(inner.next().ok_or_else(missing)?)?))
                }
            }
            _ => {
                let column = self.column_ref(inner.next().ok_or_else(missing)?);
                let source = self.ident(inner.next().ok_or_else(missing)?);
                let target = self.column_ref(inner.next().ok_or_else(missing)?);
                CheckRuleKind::Relationship { column, source, target }
            }
        })
    }

    /// A `number` or `percent` pair.
    fn check_number(&self, pair: Pair<Rule>) -> PResult<CheckNumber> {
        let span = self.span(&pair);
        let text = pair.as_str().to_string();
        let percent = pair.as_rule() == Rule::percent;
        let value = match pair.into_inner().next() {
            Some(n) if percent => self.number(&n)?,
            _ => text.parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(|| {
                Diagnostic::error("YS0101", format!("`{text}` is not a number yardstick can represent")).at(span, "number out of range")
            })?,
        };
        Ok(CheckNumber { value, percent, text, span })
    }
}
