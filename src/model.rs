//! The checked model: what `check` proves about a project. Every name here is resolved and
//! every expression typed; the planner and the report read this, never the AST.

mod data_checks;
pub use data_checks::*;

use indexmap::IndexMap;

use crate::ast::{BinaryOp, Comparator};
use crate::config::{Calendar, SourceSpec};
use crate::span::Span;

#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub title: Option<String>,
    pub calendar: Calendar,
    pub headline_period: crate::config::HeadlinePeriod,
    /// Directories outside the project its files may name (yardstick.yaml `allow_paths`).
    pub allow_paths: Vec<String>,
    pub sources: IndexMap<String, SourceSpec>,
    pub goals: Vec<GoalInfo>,
    /// In definition order: files sorted by path, then position in file.
    pub kpis: Vec<CheckedKpi>,
    /// Data checks (`check <source> { ... }`), in file order.
    pub checks: Vec<DataCheck>,
}

impl Model {
    pub fn kpi(&self, id: &str) -> Option<&CheckedKpi> {
        self.kpis.iter().find(|k| k.id == id)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct GoalInfo {
    pub id: String,
    pub title: String,
    pub owner: Option<String>,
    pub description: Option<String>,
    pub objectives: Vec<ObjectiveInfo>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ObjectiveInfo {
    pub id: String,
    pub title: String,
    pub owner: Option<String>,
    pub description: Option<String>,
    /// `audience internal`: left out of public builds with its KPIs.
    #[serde(skip)]
    pub internal: bool,
}

#[derive(Debug, Clone)]
pub struct CheckedKpi {
    pub id: String,
    pub title: String,
    pub goal: String,
    pub objective: Option<String>,
    /// The KPI's own owner, else its objective's, else its goal's.
    pub owner: Option<String>,
    pub description: Option<String>,
    pub method: Option<String>,
    /// `None` for derived KPIs (computed from other KPIs' results).
    pub source: Option<String>,
    pub time: Option<String>,
    pub grain: Option<Grain>,
    pub by: Vec<String>,
    /// The `by` groups that are computed (`region = trim(region_name)`), by name; the
    /// others are columns.
    pub by_computed: Vec<(String, TypedExpr)>,
    /// `per`: the measure reads one row per key (and group), computed from the rows first.
    pub per: Option<Per>,
    pub filter: Option<TypedExpr>,
    pub measure: Measure,
    pub unit: Unit,
    /// The rows (by time) this KPI reads: `since` / `between`, inclusive dates.
    pub scope: DateScope,
    pub window: Option<Window>,
    /// One target, or a schedule of targets each applying `from` a date (sorted).
    pub targets: Vec<Target>,
    pub baseline: Option<Baseline>,
    /// Which way is better: from the target's comparator or a `direction` clause.
    pub direction: Option<Direction>,
    pub compare: Vec<Comparison>,
    /// Arithmetic over other KPIs, aligned on period and groups.
    pub derived: Option<DerivedExpr>,
    /// The whole `kpi { ... }` block, for showing the definition.
    pub span: Span,
    /// The KPI's id where it is defined (warnings point here).
    pub id_span: Span,
    /// The `where` condition, for warnings about it.
    pub filter_span: Option<Span>,
    /// The KPI's own `complete_after` (else its source's).
    pub complete_after: Option<crate::config::CompleteAfter>,
    /// How its XmR chart is computed (`spc` clause over the project's `spc:` defaults).
    pub spc: SpcOptions,
    /// Interventions that touch this KPI (its own, its objective's, its goal's, the events
    /// file's), sorted by date; `rebase` ones restart the SPC limits.
    pub events: Vec<Event>,
    /// Reference values to draw and compare with: fixed (`benchmark` clause) or per period
    /// and group (the benchmarks file).
    pub benchmarks: Vec<Benchmark>,
    /// `measure change(<measure>, <lag>)` on a KPI with `from`: its value is the change of
    /// the measure's per-period value against an earlier period (worked out in `series`).
    pub change: Option<(ChangeKind, Lag)>,
    /// Who may see it and how small cells are protected (docs/privacy.md).
    pub privacy: KpiPrivacy,
}

/// A KPI's privacy settings: its own clauses over the project's `privacy:` defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiPrivacy {
    /// `audience internal` on the KPI or its objective: left out of public builds.
    pub internal: bool,
    /// `by` groups left out of public builds (`by x internal`, or a column declared
    /// `internal: true`).
    pub internal_by: Vec<String>,
    /// Cells counting fewer rows than this (and more than none) are suppressed; `None`:
    /// `suppress off` or `privacy.min_count: 0`.
    pub min_count: Option<u64>,
    /// Counts are published rounded to the nearest multiple of this.
    pub rounding: Option<u64>,
}

impl Default for KpiPrivacy {
    fn default() -> Self {
        KpiPrivacy { internal: false, internal_by: vec![], min_count: Some(10), rounding: None }
    }
}

impl CheckedKpi {
    /// The target in force for a period (the last step of a schedule that has started).
    pub fn target_at(&self, period: Option<chrono::NaiveDate>) -> Option<&Target> {
        let mut current = None;
        for t in &self.targets {
            match (t.from, period) {
                (None, _) => current = Some(t),
                (Some(from), Some(p)) if from <= p => current = Some(t),
                _ => {}
            }
        }
        current
    }

    /// The earlier periods this KPI's value is a change against (`change(...)` as its
    /// measure, or inside a derived KPI's expression), first use first.
    pub fn change_lags(&self) -> Vec<Lag> {
        let mut out: Vec<Lag> = self.change.iter().map(|(_, l)| *l).collect();
        if let Some(d) = &self.derived {
            d.lags(&mut out);
        }
        out
    }
}

/// How a KPI's XmR chart is computed (docs/spc.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SpcOptions {
    /// `spc off` (or `spc: { enabled: false }`): no chart, no signals.
    pub enabled: bool,
    /// Moving ranges of 3.267 x the mean moving range or more are left out of the limits
    /// once (NHSRplotthedots' default; the MDC Excel tool does not screen).
    pub screening: bool,
    /// Limits from the first N points of each segment only (`spc baseline 12`), N >= 12.
    pub baseline: Option<u32>,
    pub two_of_three: TwoOfThree,
}

impl Default for SpcOptions {
    fn default() -> Self {
        SpcOptions { enabled: true, screening: true, baseline: None, two_of_three: TwoOfThree::BetweenLimits }
    }
}

pub use crate::config::TwoOfThree;

/// Where an event was declared.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventOrigin {
    Kpi,
    Objective(String),
    Goal(String),
    /// The events file of yardstick.yaml (`events_file`).
    File,
}

/// `event 2024-09-01 "New triage rule"` / `rebase at 2024-09-01`: something changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub date: chrono::NaiveDate,
    /// First day of the KPI's period holding `date` (the date itself without a grain).
    pub period: chrono::NaiveDate,
    /// What changed; `None` for a bare `rebase at`.
    pub text: Option<String>,
    /// The SPC limits restart at this period.
    pub rebase: bool,
    pub origin: EventOrigin,
}

/// A reference line: `benchmark "National standard" 90%`, or named values per period (and
/// group) from the benchmarks file.
#[derive(Debug, Clone, PartialEq)]
pub struct Benchmark {
    pub name: String,
    /// A peer organisation's values (ranked against in the latest period), not a standard.
    pub peer: bool,
    /// `(period, group, value)`: period `None` = every period, group `None` = every group
    /// (the group's values joined with " / "). Values in the KPI's unit.
    pub values: Vec<(Option<chrono::NaiveDate>, Option<String>, f64)>,
    /// From the KPI's `benchmark` clause (else the benchmarks file).
    pub from_definition: bool,
    /// The benchmarks-file lines that name a group, with the group: checked against the
    /// groups the data has once the KPI has run (a misspelt group would match nothing).
    pub group_lines: Vec<(String, crate::span::Span)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    Day,
    Week,
    Month,
    Quarter,
    Year,
    /// Quarters of the fiscal year (calendar.fiscal_year_start).
    FiscalQuarter,
    FiscalYear,
}

impl Grain {
    pub const ALL: [(&'static str, Grain); 7] = [
        ("day", Grain::Day),
        ("week", Grain::Week),
        ("month", Grain::Month),
        ("quarter", Grain::Quarter),
        ("year", Grain::Year),
        ("fiscal_quarter", Grain::FiscalQuarter),
        ("fiscal_year", Grain::FiscalYear),
    ];

    pub fn name(self) -> &'static str {
        Grain::ALL.iter().find(|(_, g)| *g == self).map(|(n, _)| *n).unwrap_or("day")
    }

    /// The grain's length as a calendar step: (months, days); exactly one is non-zero.
    pub fn step(self) -> (i32, i32) {
        match self {
            Grain::Day => (0, 1),
            Grain::Week => (0, 7),
            Grain::Month => (1, 0),
            Grain::Quarter | Grain::FiscalQuarter => (3, 0),
            Grain::Year | Grain::FiscalYear => (12, 0),
        }
    }

    /// The first day of the period `n` periods after the one starting on `start`.
    pub fn shift(self, start: chrono::NaiveDate, n: i32) -> Option<chrono::NaiveDate> {
        let (months, days) = self.step();
        if months != 0 {
            let total = months * n;
            if total >= 0 {
                start.checked_add_months(chrono::Months::new(total as u32))
            } else {
                start.checked_sub_months(chrono::Months::new((-total) as u32))
            }
        } else {
            start.checked_add_signed(chrono::Duration::days((days * n) as i64))
        }
    }

    /// The first day of the period containing `date`.
    pub fn period_of(self, date: chrono::NaiveDate, calendar: &crate::config::Calendar) -> chrono::NaiveDate {
        use chrono::Datelike;
        let first_of = |y: i32, m: u32| chrono::NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(date);
        let fiscal_start = calendar.fiscal_start_month();
        match self {
            Grain::Day => date,
            Grain::Week => {
                let back = (date.weekday().num_days_from_monday() + 7 - calendar.week_start.days_from_monday()) % 7;
                date - chrono::Duration::days(back as i64)
            }
            Grain::Month => first_of(date.year(), date.month()),
            Grain::Quarter => first_of(date.year(), (date.month() - 1) / 3 * 3 + 1),
            Grain::Year => first_of(date.year(), 1),
            Grain::FiscalQuarter | Grain::FiscalYear => {
                let months_into = (date.month() + 12 - fiscal_start) % 12;
                let len = if self == Grain::FiscalYear { 12 } else { 3 };
                let back = months_into % len;
                first_of(date.year(), date.month()).checked_sub_months(chrono::Months::new(back)).unwrap_or(date)
            }
        }
    }

    /// How many periods of this grain one `unit` period spans, if a whole number.
    pub fn periods_in(self, unit: Grain) -> Option<u32> {
        match (self, unit) {
            (a, b) if a == b => Some(1),
            (Grain::Day, Grain::Week) => Some(7),
            (Grain::Month, Grain::Quarter | Grain::FiscalQuarter) => Some(3),
            (Grain::Month, Grain::Year | Grain::FiscalYear) => Some(12),
            (Grain::Quarter, Grain::Year) | (Grain::FiscalQuarter, Grain::FiscalYear) => Some(4),
            (Grain::FiscalQuarter, Grain::Quarter) | (Grain::Quarter, Grain::FiscalQuarter) => Some(1),
            _ => None,
        }
    }
}

/// `since` / `between`: inclusive dates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DateScope {
    pub start: Option<chrono::NaiveDate>,
    pub end: Option<chrono::NaiveDate>,
}

/// Which rows each period's value is computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The period and the `periods - 1` before it.
    Rolling { periods: u32 },
    /// From the start of the (calendar or fiscal) year to the end of the period.
    YearToDate { fiscal: bool },
    /// A running total of an additive measure from the first period shown (computed in
    /// `series` from the per-period values).
    Cumulative,
}

impl Window {
    pub fn label(self, grain: Option<Grain>) -> String {
        match self {
            Window::Rolling { periods } => {
                format!("rolling {periods} {}{}", grain.map(Grain::name).unwrap_or("period"), if periods == 1 { "" } else { "s" })
            }
            Window::YearToDate { fiscal: false } => "year to date".into(),
            Window::YearToDate { fiscal: true } => "fiscal year to date".into(),
            Window::Cumulative => "cumulative".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Increasing,
    Decreasing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    PreviousPeriod,
    SamePeriodLastYear,
    Baseline,
}

impl Comparison {
    /// The earlier period this comparison looks at, if it is one (`baseline` is not).
    pub fn lag(self) -> Option<Lag> {
        match self {
            Comparison::PreviousPeriod => Some(Lag::PreviousPeriod),
            Comparison::SamePeriodLastYear => Some(Lag::SamePeriodLastYear),
            Comparison::Baseline => None,
        }
    }

    pub const ALL: [(&'static str, Comparison); 3] = [
        ("previous_period", Comparison::PreviousPeriod),
        ("same_period_last_year", Comparison::SamePeriodLastYear),
        ("baseline", Comparison::Baseline),
    ];
    pub fn name(self) -> &'static str {
        Comparison::ALL.iter().find(|(_, c)| *c == self).map(|(n, _)| *n).unwrap_or("baseline")
    }
}

/// An earlier period a value is compared with, relative to each period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lag {
    PreviousPeriod,
    SamePeriodLastYear,
}

impl Lag {
    pub const ALL: [(&'static str, Lag); 2] =
        [("previous_period", Lag::PreviousPeriod), ("same_period_last_year", Lag::SamePeriodLastYear)];

    pub fn name(self) -> &'static str {
        Lag::ALL.iter().find(|(_, l)| *l == self).map(|(n, _)| *n).unwrap_or("previous_period")
    }

    /// The first day of the earlier period for the period starting on `period`: the period
    /// before; or a year back, which is 52 weeks for weeks (the same weekday) and 12 months
    /// for every other grain (days: the same date; 29 February gives 28 February).
    pub fn period_before(self, grain: Grain, period: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
        match (self, grain) {
            (Lag::PreviousPeriod, _) => grain.shift(period, -1),
            (Lag::SamePeriodLastYear, Grain::Week) => grain.shift(period, -52),
            (Lag::SamePeriodLastYear, _) => period.checked_sub_months(chrono::Months::new(12)),
        }
    }
}

/// `change(x, lag)`: this value minus the earlier one; `relative_change(x, lag)`: that
/// difference over the earlier value's magnitude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    Absolute,
    Relative,
}

impl ChangeKind {
    pub const ALL: [(&'static str, ChangeKind); 2] = [("change", ChangeKind::Absolute), ("relative_change", ChangeKind::Relative)];

    pub fn from_name(name: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
    }

    pub fn name(self) -> &'static str {
        ChangeKind::ALL.iter().find(|(_, k)| *k == self).map(|(n, _)| *n).unwrap_or("change")
    }

    /// The unit of a change of a value in `of`: an absolute change keeps the unit, except
    /// that a change of a percentage is in percentage points; a relative change is a
    /// percentage (of the earlier value).
    pub fn unit(self, of: &Unit) -> Unit {
        match (self, of) {
            (ChangeKind::Relative, _) => Unit::Percent,
            (ChangeKind::Absolute, Unit::Percent) => Unit::PercentagePoints,
            (ChangeKind::Absolute, u) => u.clone(),
        }
    }
}

/// `baseline <period>: <value>`: the starting point of a trajectory and of comparisons.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// First day of the baseline period.
    pub period: chrono::NaiveDate,
    /// In the KPI's unit; `None` means the KPI's own value in that period (per group).
    pub value: Option<f64>,
    pub text: String,
}

/// Arithmetic over other KPIs' values.
#[derive(Debug, Clone, PartialEq)]
pub enum DerivedExpr {
    Kpi(String),
    Number(f64),
    Neg(Box<DerivedExpr>),
    Binary {
        op: BinaryOp,
        lhs: Box<DerivedExpr>,
        rhs: Box<DerivedExpr>,
    },
    /// `change(of, lag)` / `relative_change(of, lag)`: `of` in this period against `of` in
    /// the earlier period (same groups).
    Change {
        kind: ChangeKind,
        of: Box<DerivedExpr>,
        lag: Lag,
    },
}

impl DerivedExpr {
    /// The lags of every `change` in the expression, each once.
    #[recursive::recursive]
    pub fn lags(&self, out: &mut Vec<Lag>) {
        match self {
            DerivedExpr::Kpi(_) | DerivedExpr::Number(_) => {}
            DerivedExpr::Neg(x) => x.lags(out),
            DerivedExpr::Change { of, lag, .. } => {
                if !out.contains(lag) {
                    out.push(*lag);
                }
                of.lags(out);
            }
            DerivedExpr::Binary { lhs, rhs, .. } => {
                lhs.lags(out);
                rhs.lags(out);
            }
        }
    }

    #[recursive::recursive]
    pub fn inputs(&self, out: &mut Vec<String>) {
        match self {
            DerivedExpr::Kpi(k) => {
                if !out.contains(k) {
                    out.push(k.clone())
                }
            }
            DerivedExpr::Number(_) => {}
            DerivedExpr::Neg(x) | DerivedExpr::Change { of: x, .. } => x.inputs(out),
            DerivedExpr::Binary { lhs, rhs, .. } => {
                lhs.inputs(out);
                rhs.inputs(out);
            }
        }
    }
}

/// Column and value types of the language (a declared column's type, or an expression's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Integer,
    Float,
    Boolean,
    Date,
    Timestamp,
    /// The `null` literal: fits anywhere.
    Null,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Integer => "integer",
            Type::Float => "float",
            Type::Boolean => "boolean",
            Type::Date => "date",
            Type::Timestamp => "timestamp",
            Type::Null => "null",
        }
    }
    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Integer | Type::Float | Type::Null)
    }
    pub fn is_temporal(self) -> bool {
        matches!(self, Type::Date | Type::Timestamp | Type::Null)
    }
}

impl From<crate::config::ColumnType> for Type {
    fn from(t: crate::config::ColumnType) -> Self {
        use crate::config::ColumnType as C;
        match t {
            C::String => Type::String,
            C::Integer => Type::Integer,
            C::Float => Type::Float,
            C::Boolean => Type::Boolean,
            C::Date => Type::Date,
            C::Timestamp => Type::Timestamp,
        }
    }
}

/// Two-level aggregation: the source's rows (after `where`, time and scope) grouped by
/// `keys` and the KPI's `by` groups; each such entity gets `defs` (measures over its rows)
/// and its time, the earliest of its rows'. The KPI's measure then runs over entities.
#[derive(Debug, Clone, PartialEq)]
pub struct Per {
    pub keys: Vec<String>,
    pub defs: Vec<(String, Measure)>,
}

/// A typed row-level expression (evaluated per row, before aggregation).
#[derive(Debug, Clone, PartialEq)]
pub struct TypedExpr {
    pub kind: TExprKind,
    pub ty: Type,
    /// What this expression measures (seconds for `seconds_between`, ...).
    pub unit: Unit,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(f64),
    Integer(i64),
    String(String),
    Bool(bool),
    Date(chrono::NaiveDate),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TExprKind {
    Column(String),
    Literal(Literal),
    Not(Box<TypedExpr>),
    Neg(Box<TypedExpr>),
    Binary {
        op: BinaryOp,
        lhs: Box<TypedExpr>,
        rhs: Box<TypedExpr>,
    },
    IsNull {
        expr: Box<TypedExpr>,
        negated: bool,
    },
    InList {
        expr: Box<TypedExpr>,
        list: Vec<TypedExpr>,
        negated: bool,
    },
    /// `<unit>_between(from, to)`: `to - from` in the unit, fractional.
    Duration {
        unit: DurationUnit,
        from: Box<TypedExpr>,
        to: Box<TypedExpr>,
    },
    /// `business_days_between(from, to)` against the project calendar.
    BusinessDays {
        from: Box<TypedExpr>,
        to: Box<TypedExpr>,
    },
    /// A row function (`trim`, `lower`, `coalesce`, `if`, `year`, ...), arguments checked.
    Func {
        func: RowFunc,
        args: Vec<TypedExpr>,
    },
    /// `t + 30 days` / `t - 2 hours` (`amount` negative for `-`).
    Shift {
        expr: Box<TypedExpr>,
        amount: i64,
        unit: crate::ast::IntervalUnit,
    },
    /// Several values compared as one: the argument of `count(distinct a, b)`. Null when any
    /// part is null.
    Tuple(Vec<TypedExpr>),
}

/// Row functions beyond durations. Names, arities and types: `check::expr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFunc {
    Trim,
    Lower,
    Upper,
    StartsWith,
    EndsWith,
    Contains,
    /// SQL LIKE: `%` any text, `_` one character; case-sensitive.
    Like,
    Coalesce,
    /// `if(condition, then, else)`: `else` when the condition is false or null.
    If,
    /// A part of a date or timestamp as an integer.
    Extract(DatePart),
    /// The day of a timestamp (a date stays itself).
    Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePart {
    Year,
    Quarter,
    Month,
    /// ISO 8601 week of the year (1-53; weeks start on Monday).
    Week,
    Day,
    /// ISO day of the week: Monday 1 .. Sunday 7.
    Weekday,
    DayOfYear,
    Hour,
    Minute,
    Second,
}

impl DatePart {
    pub const ALL: [(&'static str, DatePart); 10] = [
        ("year", DatePart::Year),
        ("quarter", DatePart::Quarter),
        ("month", DatePart::Month),
        ("week", DatePart::Week),
        ("day", DatePart::Day),
        ("weekday", DatePart::Weekday),
        ("day_of_year", DatePart::DayOfYear),
        ("hour", DatePart::Hour),
        ("minute", DatePart::Minute),
        ("second", DatePart::Second),
    ];

    pub fn name(self) -> &'static str {
        DatePart::ALL.iter().find(|(_, p)| *p == self).map(|(n, _)| *n).unwrap_or("year")
    }

    /// Parts a date (without a time of day) does not have.
    pub fn needs_time(self) -> bool {
        matches!(self, DatePart::Hour | DatePart::Minute | DatePart::Second)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl DurationUnit {
    pub fn seconds(self) -> f64 {
        match self {
            DurationUnit::Seconds => 1.0,
            DurationUnit::Minutes => 60.0,
            DurationUnit::Hours => 3600.0,
            DurationUnit::Days => 86400.0,
        }
    }
}

/// An aggregate-level expression: what a KPI's `measure` computes per period and group.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    Aggregate(Aggregate),
    /// Rows meeting `condition` over all rows (both within `filter`).
    Share {
        condition: TypedExpr,
        filter: Option<TypedExpr>,
    },
    /// `numerator / denominator`, null when the denominator is 0.
    Ratio(Box<Measure>, Box<Measure>),
    Binary {
        op: BinaryOp,
        lhs: Box<Measure>,
        rhs: Box<Measure>,
    },
    Number(f64),
}

impl TypedExpr {
    /// Every column the expression reads (in no particular order, repeats possible).
    pub fn columns<'a>(&'a self, out: &mut Vec<&'a str>) {
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match &e.kind {
                TExprKind::Column(c) => out.push(c),
                TExprKind::Literal(_) => {}
                TExprKind::Not(x) | TExprKind::Neg(x) | TExprKind::IsNull { expr: x, .. } => stack.push(x),
                TExprKind::Binary { lhs, rhs, .. } => stack.extend([&**lhs, &**rhs]),
                TExprKind::InList { expr, list, .. } => {
                    stack.push(expr);
                    stack.extend(list);
                }
                TExprKind::Duration { from, to, .. } | TExprKind::BusinessDays { from, to } => stack.extend([&**from, &**to]),
                TExprKind::Func { args, .. } | TExprKind::Tuple(args) => stack.extend(args),
                TExprKind::Shift { expr, .. } => stack.push(expr),
            }
        }
    }
}

impl Measure {
    /// Every column the measure reads.
    pub fn columns<'a>(&'a self, out: &mut Vec<&'a str>) {
        let mut stack = vec![self];
        while let Some(m) = stack.pop() {
            match m {
                Measure::Aggregate(a) => a.arg.iter().chain(&a.filter).for_each(|e| e.columns(out)),
                Measure::Share { condition, filter } => std::iter::once(condition).chain(filter).for_each(|e| e.columns(out)),
                Measure::Ratio(l, r) | Measure::Binary { lhs: l, rhs: r, .. } => stack.extend([&**l, &**r]),
                Measure::Number(_) => {}
            }
        }
    }

    /// Whether the measure of a union of periods is the sum of the periods' measures
    /// (counts and sums, added, subtracted or scaled by a number).
    #[recursive::recursive]
    /// Whether computing the measure keeps values per group (medians, percentiles,
    /// distinct counts): its memory grows with the rows, and partial results do not add up.
    pub fn is_holistic(&self) -> bool {
        match self {
            Measure::Aggregate(a) => matches!(a.func, AggFunc::CountDistinct | AggFunc::Percentile { .. }),
            Measure::Ratio(l, r) | Measure::Binary { lhs: l, rhs: r, .. } => l.is_holistic() || r.is_holistic(),
            Measure::Number(_) | Measure::Share { .. } => false,
        }
    }

    pub fn is_additive(&self) -> bool {
        match self {
            Measure::Aggregate(a) => matches!(a.func, AggFunc::Count | AggFunc::Sum),
            Measure::Binary { op: BinaryOp::Add | BinaryOp::Sub, lhs, rhs } => lhs.is_additive() && rhs.is_additive(),
            Measure::Binary { op: BinaryOp::Mul, lhs, rhs } => {
                (lhs.is_additive() && matches!(**rhs, Measure::Number(_))) || (rhs.is_additive() && matches!(**lhs, Measure::Number(_)))
            }
            Measure::Binary { op: BinaryOp::Div, lhs, rhs } => lhs.is_additive() && matches!(**rhs, Measure::Number(_)),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub func: AggFunc,
    /// `None` for `count()`.
    pub arg: Option<TypedExpr>,
    pub filter: Option<TypedExpr>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AggFunc {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    /// Sample standard deviation.
    Stddev,
    /// Exact; `p` in 0..=1 (median is p = 0.5, interpolated).
    Percentile {
        p: f64,
        method: crate::functions::PercentileMethod,
    },
}

impl AggFunc {
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::CountDistinct => "count distinct",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::Stddev => "stddev",
            AggFunc::Percentile { .. } => "percentile",
        }
    }
}

/// What a number is in: shapes formatting and which targets make sense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// A plain number.
    None,
    /// A fraction 0..1 shown as a percentage.
    Percent,
    /// A difference of percentages, as a fraction (0.02 is 2 percentage points, `2pp`).
    PercentagePoints,
    Count,
    Duration(DurationUnit),
    /// Working days per the project calendar.
    BusinessDays,
    /// Anything the user names (`unit "USD"`): carried, not converted.
    Named(String),
}

impl Unit {
    /// The name used in results.json and the report.
    pub fn label(&self) -> String {
        match self {
            Unit::None => "number".into(),
            Unit::Percent => "percent".into(),
            Unit::PercentagePoints => "percentage points".into(),
            Unit::Count => "count".into(),
            Unit::Duration(DurationUnit::Seconds) => "seconds".into(),
            Unit::Duration(DurationUnit::Minutes) => "minutes".into(),
            Unit::Duration(DurationUnit::Hours) => "hours".into(),
            Unit::Duration(DurationUnit::Days) => "days".into(),
            Unit::BusinessDays => "business days".into(),
            Unit::Named(n) => n.clone(),
        }
    }

    /// Parse a unit word as written in `unit` clauses and targets.
    pub fn from_word(word: &str) -> Unit {
        match word.to_lowercase().as_str() {
            "%" | "percent" => Unit::Percent,
            "pp" | "percentage_points" | "percentage points" => Unit::PercentagePoints,
            "count" => Unit::Count,
            "s" | "sec" | "secs" | "second" | "seconds" => Unit::Duration(DurationUnit::Seconds),
            "min" | "mins" | "minute" | "minutes" => Unit::Duration(DurationUnit::Minutes),
            "h" | "hr" | "hrs" | "hour" | "hours" => Unit::Duration(DurationUnit::Hours),
            "d" | "day" | "days" => Unit::Duration(DurationUnit::Days),
            "bd" | "business_days" | "business days" | "workdays" => Unit::BusinessDays,
            "" | "number" => Unit::None,
            _ => Unit::Named(word.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub rule: TargetRule,
    /// How far on the wrong side still counts as `near_target`, in the KPI's unit.
    pub tolerance: Option<f64>,
    /// `by <date>`: with a baseline, targets move linearly from the baseline to here.
    pub deadline: Option<chrono::NaiveDate>,
    /// `from <date>`: first day this step of a schedule applies.
    pub from: Option<chrono::NaiveDate>,
    /// As written, e.g. `>= 90%` or `between 5 and 8 days`.
    pub text: String,
    /// The `target` clause.
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TargetRule {
    /// Values are in the KPI's unit (a fraction for percentages).
    Compare {
        comparator: Comparator,
        value: f64,
    },
    Between {
        low: f64,
        high: f64,
    },
}

/// How a value fares against a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Near,
    Missed,
}

impl Target {
    /// The direction the target's comparator implies (none for a band).
    pub fn direction(&self) -> Option<Direction> {
        match self.rule {
            TargetRule::Compare { comparator: Comparator::Ge | Comparator::Gt, .. } => Some(Direction::Increasing),
            TargetRule::Compare { .. } => Some(Direction::Decreasing),
            TargetRule::Between { .. } => None,
        }
    }

    /// Judge `value` against this target with threshold `threshold` (a trajectory may move
    /// a comparator target's threshold per period; bands never move).
    pub fn judge(&self, value: f64, threshold: f64) -> Verdict {
        let tol = self.tolerance.unwrap_or(0.0);
        // Distance on the wrong side: 0 when met.
        let (met, miss) = match self.rule {
            TargetRule::Compare { comparator, .. } => match comparator {
                Comparator::Ge => (value >= threshold, threshold - value),
                Comparator::Gt => (value > threshold, threshold - value),
                Comparator::Le => (value <= threshold, value - threshold),
                Comparator::Lt => (value < threshold, value - threshold),
            },
            TargetRule::Between { low, high } => (value >= low && value <= high, if value < low { low - value } else { value - high }),
        };
        // A hair of slack so a value equal to threshold +- tolerance (after float
        // arithmetic) counts as near, as a reader would expect.
        if met {
            Verdict::Met
        } else if self.tolerance.is_some() && miss <= tol * (1.0 + 1e-12) + 1e-12 {
            Verdict::Near
        } else {
            Verdict::Missed
        }
    }

    /// The threshold of a comparator target (`None` for bands).
    pub fn value(&self) -> Option<f64> {
        match self.rule {
            TargetRule::Compare { value, .. } => Some(value),
            TargetRule::Between { .. } => None,
        }
    }
}
