//! The syntax tree of `.kpi` files: what the user wrote, in the order they wrote it, with a
//! span on every node. Nothing is resolved here; names are just names. Clause order and
//! comments are kept so the formatter (`fmt`) can print a file back.

use crate::span::Span;

mod data_checks;
pub use data_checks::*;

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Str {
    pub value: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub goals: Vec<Goal>,
    /// `check <source> { ... }` blocks, in file order (docs/checks.md).
    pub checks: Vec<CheckBlock>,
    /// Every comment of the file in order (the grammar skips them; the formatter puts each
    /// back next to the node it was written beside).
    pub comments: Vec<Comment>,
}

/// `# ...` or `// ...`: the text from the marker to the end of the line, trailing whitespace
/// left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    pub id: Ident,
    pub title: Option<Str>,
    pub members: Vec<GoalMember>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GoalMember {
    Meta(MetaClause),
    /// `event <date> "<what changed>" [rebase]`: applies to every KPI of the goal.
    Event(EventAst),
    Objective(Objective),
    Kpi(Kpi),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    pub id: Ident,
    pub title: Option<Str>,
    pub members: Vec<ObjectiveMember>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ObjectiveMember {
    Meta(MetaClause),
    /// `audience internal` / `audience public`.
    Audience(AudienceAst),
    Event(EventAst),
    Kpi(Kpi),
}

/// `owner`, `description`, `method`: allowed on goals, objectives and KPIs.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaClause {
    pub kind: MetaKind,
    pub value: Str,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetaKind {
    Owner,
    Description,
    Method,
}

impl MetaKind {
    pub fn keyword(self) -> &'static str {
        match self {
            MetaKind::Owner => "owner",
            MetaKind::Description => "description",
            MetaKind::Method => "method",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Kpi {
    pub id: Ident,
    pub title: Option<Str>,
    pub clauses: Vec<KpiClause>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KpiClause {
    pub kind: KpiClauseKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KpiClauseKind {
    From(Ident),
    Time(Ident),
    Measure(Expr),
    Where(Expr),
    By(Vec<ByItem>),
    /// `per key, ... (name = measure, ...)`: the KPI's rows are one per key, computed first.
    Per {
        keys: Vec<Ident>,
        defs: Vec<(Ident, Expr)>,
    },
    Grain(Ident),
    Target(TargetAst),
    Unit(Str),
    /// `since <date>` (end `None`) or `between <date> and <date>`.
    Scope {
        start: DateLit,
        end: Option<DateLit>,
    },
    Window(Window),
    /// `compare previous_period, same_period_last_year, baseline`.
    Compare(Vec<Ident>),
    /// `baseline <date>: <value>`; without a value the period's own value is the baseline.
    Baseline {
        period: DateLit,
        value: Option<Quantity>,
    },
    /// `direction increasing|decreasing`.
    Direction(Ident),
    /// `complete_after 45 days` or `complete_after none` (the lag as written).
    CompleteAfter(Ident),
    Meta(MetaClause),
    /// `event <date> "<what changed>" [rebase]`.
    Event(EventAst),
    /// `rebase at <date>`: SPC limits restart at that period.
    Rebase(DateLit),
    /// `benchmark [peer] "<name>" <value>`.
    Benchmark {
        peer: bool,
        name: Str,
        value: Quantity,
    },
    /// `spc off`, `spc baseline 12, screening off, two_of_three beyond_two_sigma`.
    Spc(Vec<SpcOptionAst>),
    /// `audience internal` / `audience public` (docs/privacy.md).
    Audience(AudienceAst),
    /// `suppress below 5`, `suppress off`, `suppress below 10, round 5`.
    Suppress(Vec<SuppressOptionAst>),
    /// `check { not_null answered_at max 1% warn ... }`: data checks on the rows this KPI
    /// reads (docs/checks.md).
    Check(Vec<CheckRule>),
}

/// `audience internal|public`: `internal` things are left out of public builds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudienceAst {
    pub internal: bool,
    pub span: Span,
}

/// One option of a `suppress` clause; the numbers as written.
#[derive(Debug, Clone, PartialEq)]
pub enum SuppressOptionAst {
    Off(Span),
    Below { n: String, span: Span },
    Round { n: String, span: Span },
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventAst {
    pub date: DateLit,
    pub text: Str,
    pub rebase: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SpcOptionAst {
    On(Span),
    Off(Span),
    /// `baseline <n>`: the number as written.
    Baseline {
        n: String,
        span: Span,
    },
    Screening {
        on: bool,
        span: Span,
    },
    TwoOfThree(Ident),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DateLit {
    pub date: chrono::NaiveDate,
    pub span: Span,
}

/// Which rows each period's value is computed over.
#[derive(Debug, Clone, PartialEq)]
pub enum Window {
    /// `rolling <n> <unit>`: the period and the ones before it, `n` units in all.
    Rolling {
        n: u32,
        n_span: Span,
        unit: Ident,
    },
    YearToDate,
    FiscalYearToDate,
    /// Running total from the first period shown.
    Cumulative,
}

/// Every word that starts a KPI clause, in the order docs/language.md lists them: the one
/// list that syntax errors, the formatter's tests and the editor grammar's test read
/// (tests check it against grammar/yardstick.pest and [`KpiClauseKind::keyword`]).
pub const CLAUSE_KEYWORDS: &[&str] = &[
    "from",
    "time",
    "measure",
    "where",
    "by",
    "per",
    "grain",
    "target",
    "unit",
    "since",
    "between",
    "rolling",
    "year_to_date",
    "fiscal_year_to_date",
    "cumulative",
    "compare",
    "baseline",
    "direction",
    "complete_after",
    "event",
    "rebase",
    "benchmark",
    "spc",
    "audience",
    "suppress",
    "check",
    "owner",
    "description",
    "method",
];

impl KpiClauseKind {
    /// Which clauses exclude each other: `since`/`between` are one scope, the windows one
    /// window; otherwise the keyword.
    pub fn slot(&self) -> &'static str {
        match self {
            KpiClauseKind::Scope { .. } => "scope",
            KpiClauseKind::Window(_) => "window",
            k => k.keyword(),
        }
    }

    pub fn keyword(&self) -> &'static str {
        match self {
            KpiClauseKind::From(_) => "from",
            KpiClauseKind::Time(_) => "time",
            KpiClauseKind::Measure(_) => "measure",
            KpiClauseKind::Where(_) => "where",
            KpiClauseKind::By(_) => "by",
            KpiClauseKind::Grain(_) => "grain",
            KpiClauseKind::Target(_) => "target",
            KpiClauseKind::Unit(_) => "unit",
            KpiClauseKind::Scope { end: None, .. } => "since",
            KpiClauseKind::Scope { .. } => "between",
            KpiClauseKind::Window(Window::Rolling { .. }) => "rolling",
            KpiClauseKind::Window(Window::YearToDate) => "year_to_date",
            KpiClauseKind::Window(Window::FiscalYearToDate) => "fiscal_year_to_date",
            KpiClauseKind::Window(Window::Cumulative) => "cumulative",
            KpiClauseKind::Compare(_) => "compare",
            KpiClauseKind::Baseline { .. } => "baseline",
            KpiClauseKind::Direction(_) => "direction",
            KpiClauseKind::CompleteAfter(_) => "complete_after",
            KpiClauseKind::Per { .. } => "per",
            KpiClauseKind::Meta(m) => m.kind.keyword(),
            KpiClauseKind::Event(_) => "event",
            KpiClauseKind::Rebase(_) => "rebase",
            KpiClauseKind::Benchmark { .. } => "benchmark",
            KpiClauseKind::Spc(_) => "spc",
            KpiClauseKind::Audience(_) => "audience",
            KpiClauseKind::Suppress(_) => "suppress",
            KpiClauseKind::Check(_) => "check",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetAst {
    pub kind: TargetKind,
    /// `tolerance 5pp`: how far on the wrong side still counts as near the target.
    pub tolerance: Option<Quantity>,
    /// `by <date>`: when the target must be met (with a baseline: a trajectory).
    pub deadline: Option<DateLit>,
    /// `from <date>`: the period this target applies from (stepped schedules).
    pub from: Option<DateLit>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TargetKind {
    Compare { comparator: Comparator, value: Quantity },
    Between { low: Quantity, high: Quantity },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Ge,
    Gt,
    Le,
    Lt,
}

impl Comparator {
    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Ge => ">=",
            Comparator::Gt => ">",
            Comparator::Le => "<=",
            Comparator::Lt => "<",
        }
    }
}

/// A number with an optional unit word: `90%`, `5`, `8 min`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    pub number: f64,
    pub text: String,
    pub unit: Option<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Column(Ident),
    /// The literal's text is kept so it prints back exactly as written.
    Number {
        value: f64,
        text: String,
    },
    String(String),
    Bool(bool),
    Null,
    Date(chrono::NaiveDate),
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Call {
        name: Ident,
        args: Vec<Arg>,
    },
    /// `30 days`: only meaningful added to or subtracted from a date or timestamp.
    Interval {
        amount: f64,
        unit: IntervalUnit,
    },
}

/// One group of a `by` clause: a column, or a named computed value (`region = trim(r)`).
#[derive(Debug, Clone, PartialEq)]
pub struct ByItem {
    pub name: Ident,
    pub expr: Option<Expr>,
    /// `by district internal`: left out of public builds.
    pub internal: bool,
}

/// The unit of an interval literal (`30 days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
    Months,
    Years,
}

impl IntervalUnit {
    pub fn from_word(word: &str) -> Option<IntervalUnit> {
        Some(match word.trim_end_matches('s') {
            "second" => IntervalUnit::Seconds,
            "minute" => IntervalUnit::Minutes,
            "hour" => IntervalUnit::Hours,
            "day" => IntervalUnit::Days,
            "week" => IntervalUnit::Weeks,
            "month" => IntervalUnit::Months,
            "year" => IntervalUnit::Years,
            _ => return None,
        })
    }

    pub fn word(self) -> &'static str {
        match self {
            IntervalUnit::Seconds => "seconds",
            IntervalUnit::Minutes => "minutes",
            IntervalUnit::Hours => "hours",
            IntervalUnit::Days => "days",
            IntervalUnit::Weeks => "weeks",
            IntervalUnit::Months => "months",
            IntervalUnit::Years => "years",
        }
    }
}

/// A call argument: `[distinct] expr [where condition]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub distinct: bool,
    pub expr: Expr,
    pub filter: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }
    pub fn is_comparison(self) -> bool {
        matches!(self, BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge)
    }
    pub fn is_arithmetic(self) -> bool {
        matches!(self, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div)
    }
}
