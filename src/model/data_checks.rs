//! Checked data checks (docs/checks.md): what `plan::data_checks` turns into queries and
//! `results` reports.

use super::{Grain, TypedExpr};
use crate::ast::IntervalUnit;
use crate::span::Span;

/// One rule of a `check <source> { ... }` block or of a KPI's `check { ... }` clause, names
/// resolved and typed.
#[derive(Debug, Clone, PartialEq)]
pub struct DataCheck {
    pub source: String,
    /// The KPI whose `check` clause this rule is in: it checks only the rows that KPI reads
    /// (its source after its `where`, time scope and `--as-of`). None: a source check.
    pub kpi: Option<String>,
    /// The rule as `fmt` prints it (`not_null call_id max 1% warn`).
    pub text: String,
    pub kind: DataCheckKind,
    pub severity: CheckSeverity,
    /// How many failing rows (or periods, for a volume check) still pass; none = zero.
    pub max: Option<CheckMax>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckSeverity {
    Warn,
    Error,
}

/// `max 5` or `max 1%` (a fraction of the rows, 0.01).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CheckMax {
    Count(u64),
    Share(f64),
}

impl CheckMax {
    /// Whether `failing` of `total` is within the allowance.
    pub fn allows(self, failing: u64, total: u64) -> bool {
        match self {
            CheckMax::Count(n) => failing <= n,
            // Compared as whole numbers of rows (no float rounding at the edge): failing /
            // total <= share  <=>  failing <= share * total.
            CheckMax::Share(s) => (failing as f64) <= s * (total as f64) + 1e-9,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DataCheckKind {
    /// Rows failing `fails` (a row-level condition, true for a failing row) are counted in
    /// the source's one check query; `columns` are shown beside example rows.
    Row { fails: RowTest, columns: Vec<String> },
    /// Rows whose value (tuple) of `columns` another row shares; rows with a null in them
    /// are not compared (that is `not_null`'s job).
    Unique(Vec<String>),
    /// The latest `column` is at most `amount unit` before `--as-of`.
    Fresh { column: String, amount: u32, unit: IntervalUnit },
    /// The source's row count is within `min..=max`.
    Rows { min: Option<u64>, max: Option<u64> },
    /// Rows whose non-null `column` is no `target` of source `to`.
    Relationship { column: String, to: String, target: String },
    /// Periods (by `time`, at `grain`) whose row count differs from the period before by
    /// more than `within` (a fraction).
    Volume { grain: Grain, time: String, within: f64 },
}

/// A row-level check's failing condition.
#[derive(Debug, Clone, PartialEq)]
pub enum RowTest {
    /// Any of these columns is null.
    AnyNull(Vec<String>),
    /// The column is not null and the condition (`column in (...)`) is not true.
    NotAccepted { column: String, accepted: TypedExpr },
    /// The condition is false or null.
    NotValid(TypedExpr),
}

impl DataCheck {
    /// The rule's kind as results.json names it.
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            DataCheckKind::Row { fails: RowTest::AnyNull(_), .. } => "not_null",
            DataCheckKind::Row { fails: RowTest::NotAccepted { .. }, .. } => "accepted",
            DataCheckKind::Row { fails: RowTest::NotValid(_), .. } => "valid",
            DataCheckKind::Unique(_) => "unique",
            DataCheckKind::Fresh { .. } => "fresh",
            DataCheckKind::Rows { .. } => "rows",
            DataCheckKind::Relationship { .. } => "relationship",
            DataCheckKind::Volume { .. } => "volume",
        }
    }
}

/// The start of `day` moved back by `amount unit` (`fresh`'s cutoff: the latest value must
/// be at or after it). Months and years are calendar steps.
pub fn shift_back(day: chrono::NaiveDate, amount: u32, unit: IntervalUnit) -> Option<chrono::NaiveDateTime> {
    let start = day.and_hms_opt(0, 0, 0)?;
    let seconds = |s: i64| start.checked_sub_signed(chrono::Duration::try_seconds(s.checked_mul(amount as i64)?)?);
    match unit {
        IntervalUnit::Seconds => seconds(1),
        IntervalUnit::Minutes => seconds(60),
        IntervalUnit::Hours => seconds(3600),
        IntervalUnit::Days => seconds(86_400),
        IntervalUnit::Weeks => seconds(7 * 86_400),
        IntervalUnit::Months => start.checked_sub_months(chrono::Months::new(amount)),
        IntervalUnit::Years => start.checked_sub_months(chrono::Months::new(amount.checked_mul(12)?)),
    }
}
