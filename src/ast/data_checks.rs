//! The syntax of data checks: `check <source> { <rule> ... }` blocks (docs/checks.md).

use super::{Comparator, Expr, Ident, IntervalUnit};
use crate::span::Span;

/// Every word of `check` blocks (the block's and its rules'): never reserved, so columns may
/// still have these names (tests/keywords.rs checks it against the grammar).
pub const CHECK_KEYWORDS: &[&str] = &[
    "check",
    "not_null",
    "unique",
    "accepted",
    "valid",
    "fresh",
    "within",
    "rows",
    "of",
    "change",
    "relationship",
    "max",
    "warn",
    "error",
];

/// `check calls { not_null call_id  unique call_id ... }`: rules about one source's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckBlock {
    pub source: Ident,
    pub rules: Vec<CheckRule>,
    pub span: Span,
}

/// One rule: what it checks, how many failing rows it allows, and how bad a failure is.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRule {
    pub kind: CheckRuleKind,
    /// `max 5` (rows) or `max 1%` (of the rows); none = no failing row allowed.
    pub max: Option<CheckNumber>,
    /// `warn` or `error` as written (default `error`).
    pub severity: Option<Ident>,
    pub span: Span,
}

/// A number as written in a check (`1000`, `2.5`, `30%`).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckNumber {
    pub value: f64,
    pub percent: bool,
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CheckRuleKind {
    /// `not_null a, b`: rows where any of them is null fail.
    NotNull(Vec<Ident>),
    /// `unique a, b`: rows whose value (or combination) another row has too fail.
    Unique(Vec<Ident>),
    /// `accepted status in ("open", "closed")`: rows with another (non-null) value fail.
    Accepted { column: Ident, values: Vec<Expr> },
    /// `valid closed_at >= opened_at`: rows where the condition is false or null fail.
    Valid(Expr),
    /// `fresh received_at within 2 days`: the latest value is at most that long before `--as-of`.
    Fresh { column: Ident, amount: CheckNumber, unit: IntervalUnit },
    /// `rows >= 1000`, `rows between 10 and 20`.
    Rows(RowsBound),
    /// `relationship district_id -> districts.id`: rows whose (non-null) value is not in the other source fail.
    Relationship { column: Ident, source: Ident, target: Ident },
    /// `rows per month [of received_at] change within 30%`: periods whose row count changed
    /// more than that from the period before fail.
    Volume { grain: Ident, time: Option<Ident>, within: CheckNumber },
}

#[derive(Debug, Clone, PartialEq)]
pub enum RowsBound {
    Compare(Comparator, CheckNumber),
    Between(CheckNumber, CheckNumber),
}

impl CheckRuleKind {
    /// The rule's first word.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckRuleKind::NotNull(_) => "not_null",
            CheckRuleKind::Unique(_) => "unique",
            CheckRuleKind::Accepted { .. } => "accepted",
            CheckRuleKind::Valid(_) => "valid",
            CheckRuleKind::Fresh { .. } => "fresh",
            CheckRuleKind::Rows(_) => "rows",
            CheckRuleKind::Relationship { .. } => "relationship",
            CheckRuleKind::Volume { .. } => "volume",
        }
    }
}
