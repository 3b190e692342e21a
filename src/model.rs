//! The checked model: what `check` proves about a project. Every name here is resolved and
//! every expression typed; the planner and the report read this, never the AST.

use indexmap::IndexMap;

use crate::ast::{BinaryOp, Comparator};
use crate::config::{Calendar, SourceSpec};
use crate::span::Span;

#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub title: Option<String>,
    pub calendar: Calendar,
    pub sources: IndexMap<String, SourceSpec>,
    pub goals: Vec<GoalInfo>,
    /// In definition order: files sorted by path, then position in file.
    pub kpis: Vec<CheckedKpi>,
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
    pub source: String,
    pub time: Option<String>,
    pub grain: Option<Grain>,
    pub by: Vec<String>,
    pub filter: Option<TypedExpr>,
    pub measure: Measure,
    pub unit: Unit,
    pub target: Option<Target>,
    /// The whole `kpi { ... }` block, for showing the definition.
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Grain {
    pub const ALL: [(&'static str, Grain); 5] =
        [("day", Grain::Day), ("week", Grain::Week), ("month", Grain::Month), ("quarter", Grain::Quarter), ("year", Grain::Year)];

    pub fn name(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
            Grain::Quarter => "quarter",
            Grain::Year => "year",
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
    Binary { op: BinaryOp, lhs: Box<TypedExpr>, rhs: Box<TypedExpr> },
    IsNull { expr: Box<TypedExpr>, negated: bool },
    InList { expr: Box<TypedExpr>, list: Vec<TypedExpr>, negated: bool },
    /// `<unit>_between(from, to)`: `to - from` in the unit, fractional.
    Duration { unit: DurationUnit, from: Box<TypedExpr>, to: Box<TypedExpr> },
    /// `business_days_between(from, to)` against the project calendar.
    BusinessDays { from: Box<TypedExpr>, to: Box<TypedExpr> },
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
    Share { condition: TypedExpr, filter: Option<TypedExpr> },
    /// `numerator / denominator`, null when the denominator is 0.
    Ratio(Box<Measure>, Box<Measure>),
    Binary { op: BinaryOp, lhs: Box<Measure>, rhs: Box<Measure> },
    Number(f64),
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
    Percentile { p: f64, method: crate::functions::PercentileMethod },
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
    pub comparator: Comparator,
    /// In the KPI's unit (a fraction for percentages, the KPI's duration unit for durations).
    pub value: f64,
    /// As written, e.g. `90%` or `8 min`.
    pub text: String,
}

impl Target {
    pub fn is_met(&self, value: f64) -> bool {
        match self.comparator {
            Comparator::Ge => value >= self.value,
            Comparator::Gt => value > self.value,
            Comparator::Le => value <= self.value,
            Comparator::Lt => value < self.value,
        }
    }

    /// `higher` or `lower`: which direction is better.
    pub fn direction(&self) -> &'static str {
        match self.comparator {
            Comparator::Ge | Comparator::Gt => "higher",
            Comparator::Le | Comparator::Lt => "lower",
        }
    }
}
