//! A KPI's plan as SQL that runs unchanged on a warehouse (`yardstick sql --dialect X`).
//!
//! Three steps, each dialect-aware:
//! 1. the plan: the window offsets' VALUES node becomes a `window_offsets` table (a CTE), and
//!    for engines without `FILTER (WHERE ...)` every filtered aggregate reads
//!    `CASE WHEN filter THEN x END` instead (aggregates skip nulls: the same rows count);
//!    before that, every construct is checked against what the dialect can say exactly
//!    (`Unsupported` otherwise: no SQL that computes something else is ever written);
//! 2. DataFusion's unparser with the engine's unparser dialect;
//! 3. the SQL syntax tree: yardstick's own functions (exact percentiles, business days),
//!    string tests, epochs and truncations written the engine's way. A replaced call becomes
//!    a marker identifier and its text is put in after printing (inner calls first in the
//!    tree, so outer texts hold inner markers, resolved outermost first).

use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::builder::LogicalTableSource;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, when};
use datafusion_sql::sqlparser::ast;
use datafusion_sql::unparser::Unparser;
use datafusion_sql::unparser::dialect as ud;

/// The SQL engines `sql --dialect` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Dialect {
    Postgres,
    Duckdb,
    Mysql,
    Sqlite,
    Bigquery,
    Snowflake,
    /// DataFusion's own SQL, with the PostgreSQL forms of yardstick's functions.
    Generic,
}

impl Dialect {
    pub const ALL: [Dialect; 7] =
        [Dialect::Postgres, Dialect::Duckdb, Dialect::Mysql, Dialect::Sqlite, Dialect::Bigquery, Dialect::Snowflake, Dialect::Generic];

    /// The engine's name, for people.
    pub fn title(self) -> &'static str {
        match self {
            Dialect::Postgres => "PostgreSQL",
            Dialect::Duckdb => "DuckDB",
            Dialect::Mysql => "MySQL",
            Dialect::Sqlite => "SQLite",
            Dialect::Bigquery => "BigQuery",
            Dialect::Snowflake => "Snowflake",
            Dialect::Generic => "generic SQL",
        }
    }

    fn unparser(self) -> Box<dyn ud::Dialect> {
        match self {
            Dialect::Postgres => Box::new(ud::PostgreSqlDialect {}),
            Dialect::Duckdb => Box::new(ud::DuckDBDialect::new()),
            Dialect::Mysql => Box::new(ud::MySqlDialect {}),
            Dialect::Sqlite => Box::new(ud::SqliteDialect {}),
            Dialect::Bigquery => Box::new(ud::BigQueryDialect::new()),
            Dialect::Snowflake => Box::new(ud::SnowflakeDialect::new()),
            Dialect::Generic => Box::new(ud::DefaultDialect {}),
        }
    }

    /// Quotes an identifier the way the engine reads it.
    pub fn ident(self, name: &str) -> String {
        match self {
            Dialect::Mysql | Dialect::Sqlite | Dialect::Bigquery => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    fn has_filter_clause(self) -> bool {
        matches!(self, Dialect::Postgres | Dialect::Duckdb | Dialect::Sqlite | Dialect::Generic)
    }

    /// `a IS NOT DISTINCT FROM b` in the engine's words.
    pub fn same(self, a: &str, b: &str) -> String {
        match self {
            Dialect::Mysql => format!("{a} <=> {b}"),
            Dialect::Sqlite => format!("{a} IS {b}"),
            _ => format!("{a} IS NOT DISTINCT FROM {b}"),
        }
    }

    /// A date moved by months and days (the first day of an earlier period), as a date.
    pub fn shift_date(self, date: &str, months: i32, days: i32) -> Result<String, Unsupported> {
        let (n, unit) = if months != 0 { (months, "month") } else { (days, "day") };
        Ok(match self {
            Dialect::Postgres | Dialect::Duckdb | Dialect::Generic => format!("CAST({date} + INTERVAL '{n} {unit}s' AS DATE)"),
            Dialect::Snowflake => format!("DATEADD({unit}, {n}, {date})"),
            Dialect::Bigquery => format!("DATE_ADD({date}, INTERVAL {n} {})", unit.to_uppercase()),
            Dialect::Mysql => format!("DATE_ADD({date}, INTERVAL {n} {})", unit.to_uppercase()),
            Dialect::Sqlite => return Err(Unsupported::new(self, "dates (SQLite has no date type)")),
        })
    }
}

/// A construct a dialect cannot express exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsupported {
    pub dialect: Dialect,
    /// What the KPI needs, in words.
    pub construct: String,
}

impl Unsupported {
    pub fn new(dialect: Dialect, construct: impl Into<String>) -> Self {
        Unsupported { dialect, construct: construct.into() }
    }
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} has no exact form for {}", self.dialect.title(), self.construct)
    }
}

/// The plan's VALUES nodes (the window offsets) as scans of a `window_offsets` table, and
/// the rows they held.
pub(super) fn values_as_table(plan: &LogicalPlan) -> datafusion::error::Result<(LogicalPlan, Vec<Vec<Expr>>)> {
    let mut rows = vec![];
    let plan = plan
        .clone()
        .transform_up(|node| {
            let LogicalPlan::Values(values) = &node else { return Ok(Transformed::no(node)) };
            rows.extend(values.values.iter().cloned());
            let source = Arc::new(LogicalTableSource::new(Arc::new(values.schema.as_arrow().clone())));
            Ok(Transformed::yes(LogicalPlanBuilder::scan("window_offsets", source, None)?.build()?))
        })?
        .data;
    Ok((plan, rows))
}

/// A plan as one SQL statement for `dialect` (no comments). `holidays`: the calendar's
/// holidays that fall on a weekday (business days are counted without them).
pub fn plan_sql(plan: &LogicalPlan, dialect: Dialect, holidays: &[chrono::NaiveDate]) -> Result<String, Unsupported> {
    check_constructs(plan, dialect)?;
    let internal = |e: datafusion::error::DataFusionError| Unsupported::new(dialect, format!("this plan ({e})"));
    let (plan, offsets) = values_as_table(plan).map_err(internal)?;
    let plan = if dialect.has_filter_clause() { plan } else { filters_as_case(plan).map_err(internal)? };
    let unparser_dialect = dialect.unparser();
    let mut statement = Unparser::new(unparser_dialect.as_ref()).plan_to_sql(&plan).map_err(internal)?;

    let mut rewriter = Rewriter { dialect, holidays, texts: vec![], failed: None, aliases: Default::default() };
    let _ = ast::VisitMut::visit(&mut statement, &mut rewriter);
    if let Some(u) = rewriter.failed {
        return Err(u);
    }
    let texts = rewriter.texts;
    let mut sql = format!("{statement:#}");
    for (i, text) in texts.iter().enumerate().rev() {
        sql = sql.replace(&marker(i), text);
    }
    if offsets.is_empty() {
        return Ok(sql);
    }
    let rows: Vec<String> =
        offsets.iter().map(|row| format!("({})", row.iter().map(interval_literal).collect::<Vec<_>>().join(", "))).collect();
    Ok(format!("WITH window_offsets (column1) AS (VALUES {})\n{sql}", rows.join(", ")))
}

/// Step 3 over the printed SQL's tree (expressions after their parts).
struct Rewriter<'a> {
    dialect: Dialect,
    holidays: &'a [chrono::NaiveDate],
    /// The text of each replaced call, by marker number.
    texts: Vec<String>,
    failed: Option<Unsupported>,
    /// Derived tables' aliases so far: the unparser names every one `derived_projection`,
    /// which PostgreSQL refuses twice in one FROM (a window's cross join).
    aliases: std::collections::HashSet<String>,
}

impl ast::VisitorMut for Rewriter<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut ast::TableFactor) -> ControlFlow<()> {
        if let ast::TableFactor::Derived { alias: Some(alias), .. } = factor {
            let mut name = alias.name.value.clone();
            let mut n = 1;
            while self.aliases.contains(&name) {
                n += 1;
                name = format!("{}_{n}", alias.name.value);
            }
            self.aliases.insert(name.clone());
            alias.name.value = name;
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        match rewrite(e, self.dialect, self.holidays) {
            Ok(Some(text)) => {
                *e = ast::Expr::Identifier(ast::Ident::new(marker(self.texts.len())));
                self.texts.push(text);
                ControlFlow::Continue(())
            }
            Ok(None) => ControlFlow::Continue(()),
            Err(u) => {
                self.failed = Some(u);
                ControlFlow::Break(())
            }
        }
    }
}

fn marker(i: usize) -> String {
    format!("__yardstick_{i}__")
}

/// An interval offset of a VALUES row as SQL (the one form PostgreSQL, DuckDB and
/// DataFusion share).
pub(super) fn interval_literal(e: &Expr) -> String {
    match e {
        Expr::Literal(ScalarValue::IntervalMonthDayNano(Some(v)), _) => {
            if v.months != 0 {
                format!("INTERVAL '{} months'", v.months)
            } else {
                format!("INTERVAL '{} days'", v.days)
            }
        }
        other => other.to_string(),
    }
}

/// Every construct the plan uses that `dialect` has no exact form for, as an error (the
/// first found).
fn check_constructs(plan: &LogicalPlan, d: Dialect) -> Result<(), Unsupported> {
    use Dialect::*;
    let mut found: Option<Unsupported> = None;
    let mut fail = |what: String| {
        if found.is_none() {
            found = Some(Unsupported::new(d, what));
        }
        TreeNodeRecursion::Stop
    };
    let _ = plan.apply(|node| {
        if matches!(node, LogicalPlan::Values(_)) && !matches!(d, Postgres | Duckdb | Generic) {
            return Ok(fail("a rolling or year-to-date window (a table of interval offsets)".into()));
        }
        node.apply_expressions(|e| {
            e.apply(|x| {
                let text = |i: usize, args: &[Expr]| match args.get(i) {
                    Some(Expr::Literal(ScalarValue::Utf8(Some(s)), _)) => s.clone(),
                    _ => String::new(),
                };
                Ok(match x {
                    Expr::ScalarFunction(f) => match (f.name(), d) {
                        ("date_trunc", Sqlite) => fail("periods of dates (SQLite has no date type)".into()),
                        ("date_trunc", Bigquery | Mysql) if text(0, &f.args) == "week" && d == Mysql => TreeNodeRecursion::Continue,
                        ("date_part", Sqlite) => fail("durations between timestamps (SQLite has no timestamp type)".into()),
                        ("date_part", Mysql | Bigquery | Snowflake) if text(0, &f.args) != "epoch" => {
                            fail(format!("`{}` of a date (yardstick's row function)", text(0, &f.args)))
                        }
                        ("named_struct", Postgres | Duckdb | Generic) => TreeNodeRecursion::Continue,
                        ("named_struct", _) => fail("count(distinct a, b) over several columns".into()),
                        ("ends_with", Sqlite) | ("starts_with", Sqlite) => fail("starts_with / ends_with".into()),
                        ("business_days_between", Sqlite) => fail("business_days_between (SQLite has no date type)".into()),
                        _ => TreeNodeRecursion::Continue,
                    },
                    Expr::AggregateFunction(a) => match (a.func.name(), d) {
                        ("exact_percentile_disc", Postgres | Duckdb) => TreeNodeRecursion::Continue,
                        ("exact_percentile_disc", _) => fail(
                            "a nearest-rank percentile (no engine's percentile_disc rounds the rank as yardstick does when p x n is a whole number)"
                                .into(),
                        ),
                        ("exact_percentile_cont", Mysql | Sqlite | Bigquery) => {
                            fail("an exact percentile or median (it has no exact percentile aggregate)".into())
                        }
                        ("stddev", Sqlite) => fail("a standard deviation (SQLite has no stddev)".into()),
                        _ => TreeNodeRecursion::Continue,
                    },
                    Expr::Like(_) if matches!(d, Mysql | Sqlite) => fail("`like` (case-insensitive in this engine)".into()),
                    Expr::BinaryExpr(b)
                        if d == Bigquery
                            && matches!(b.right.as_ref(), Expr::Literal(ScalarValue::IntervalMonthDayNano(Some(v)), _) if v.months != 0) =>
                    {
                        fail("months added to a timestamp (fiscal periods, shifts by months)".into())
                    }
                    _ => TreeNodeRecursion::Continue,
                })
            })
        })
    });
    match found {
        Some(u) => Err(u),
        None => Ok(()),
    }
}

/// `agg(x) FILTER (WHERE c)` as `agg(CASE WHEN c THEN x END)`: aggregates skip nulls, so
/// the same values are aggregated; `count(1)` counts the rows where `c` holds.
fn filters_as_case(plan: LogicalPlan) -> datafusion::error::Result<LogicalPlan> {
    Ok(plan
        .transform_up(|node| {
            node.map_expressions(|e| {
                e.transform_up(|x| {
                    let Expr::AggregateFunction(mut a) = x else { return Ok(Transformed::no(x)) };
                    let Some(filter) = a.params.filter.take() else { return Ok(Transformed::no(Expr::AggregateFunction(a))) };
                    if let Some(first) = a.params.args.first_mut() {
                        *first = when(*filter, first.clone()).end()?;
                    }
                    Ok(Transformed::yes(Expr::AggregateFunction(a)))
                })
            })
        })?
        .data)
}

/// The arguments of a call as printed SQL.
fn args_of(f: &ast::Function) -> Vec<String> {
    match &f.args {
        ast::FunctionArguments::List(l) => l
            .args
            .iter()
            .map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => e.to_string(),
                other => other.to_string(),
            })
            .collect(),
        _ => vec![],
    }
}

/// A string literal argument's value (`'month'` -> `month`).
fn unquote(s: &str) -> String {
    s.trim_matches('\'').to_string()
}

/// One node of the printed SQL written the engine's way, or `None` to keep it.
fn rewrite(e: &mut ast::Expr, d: Dialect, holidays: &[chrono::NaiveDate]) -> Result<Option<String>, Unsupported> {
    use Dialect::*;
    match e {
        // Columns are named without their table: the unparser qualifies a window's columns
        // with the source table even where they come from a derived table. A plan reads one
        // table and its own column names differ from the table's, so no name is ambiguous.
        ast::Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
            if let Some(last) = parts.pop() {
                *e = ast::Expr::Identifier(last);
            }
            Ok(None)
        }
        ast::Expr::BinaryOp { op, .. } if *op == ast::BinaryOperator::DuckIntegerDivide => {
            // DuckDB's unparser writes `//` (integer division); every division yardstick
            // writes is of doubles and means `/`.
            *op = ast::BinaryOperator::Divide;
            Ok(None)
        }
        ast::Expr::Extract { field, expr, .. } if matches!(field, ast::DateTimeField::Epoch) => Ok(Some(epoch(d, &expr.to_string()))),
        ast::Expr::Function(f) => {
            let name = f.name.to_string().to_lowercase();
            let args = args_of(f);
            let filter = f.filter.as_ref().map(|c| format!(" FILTER (WHERE {c})")).unwrap_or_default();
            Ok(match (name.as_str(), args.as_slice()) {
                ("exact_percentile_cont", [x, p]) => Some(match d {
                    Duckdb | Postgres => {
                        let condition = f.filter.as_ref().map(|c| c.to_string());
                        interpolated_percentile(d, x, p, condition.as_deref())?
                    }
                    _ => format!("percentile_cont({p}) WITHIN GROUP (ORDER BY {x}){filter}"),
                }),
                ("exact_percentile_disc", [x, p]) if matches!(d, Postgres | Duckdb) => {
                    let condition = f.filter.as_ref().map(|c| c.to_string());
                    Some(nearest_rank_percentile(d, x, p, condition.as_deref())?)
                }
                ("business_days_between", [a, b]) => Some(business_days(d, a, b, holidays)),
                ("btrim", [x]) if d != Postgres => Some(format!("TRIM({x})")),
                ("starts_with", [a, b]) => match d {
                    Postgres | Duckdb | Generic => None,
                    Bigquery => Some(format!("STARTS_WITH({a}, {b})")),
                    Snowflake => Some(format!("STARTSWITH({a}, {b})")),
                    _ => Some(format!("(LEFT({a}, CHAR_LENGTH({b})) = {b})")),
                },
                ("ends_with", [a, b]) => match d {
                    Duckdb => None,
                    Postgres | Generic => Some(format!("(right({a}, length({b})) = {b})")),
                    Bigquery => Some(format!("ENDS_WITH({a}, {b})")),
                    Snowflake => Some(format!("ENDSWITH({a}, {b})")),
                    _ => Some(format!("(RIGHT({a}, CHAR_LENGTH({b})) = {b})")),
                },
                ("contains", [a, b]) => match d {
                    Duckdb => None,
                    Postgres | Generic | Bigquery => Some(format!("(strpos({a}, {b}) > 0)")),
                    Snowflake => Some(format!("CONTAINS({a}, {b})")),
                    Mysql => Some(format!("(LOCATE({b}, {a}) > 0)")),
                    Sqlite => Some(format!("(instr({a}, {b}) > 0)")),
                },
                ("named_struct", parts) => {
                    let values: Vec<&str> = parts.iter().skip(1).step_by(2).map(String::as_str).collect();
                    Some(format!("ROW({})", values.join(", ")))
                }
                ("date_part", [part, x]) => match (unquote(part).as_str(), d) {
                    ("epoch", Snowflake | Mysql | Bigquery) => Some(epoch(d, x)),
                    ("epoch", _) => None,
                    // PostgreSQL's seconds have a fraction; yardstick's are whole.
                    (_, Postgres | Generic) => Some(format!("floor(date_part({part}, {x}))")),
                    _ => None,
                },
                ("date_trunc", [unit, x]) => match d {
                    Bigquery => {
                        let unit = unquote(unit).to_uppercase();
                        let unit = if unit == "WEEK" { "WEEK(MONDAY)".to_string() } else { unit };
                        Some(format!("TIMESTAMP_TRUNC({x}, {unit})"))
                    }
                    Mysql => Some(match unquote(unit).as_str() {
                        "day" => format!("CAST(DATE({x}) AS DATETIME)"),
                        "week" => format!("CAST(DATE({x}) - INTERVAL WEEKDAY({x}) DAY AS DATETIME)"),
                        "month" => format!("CAST(DATE_FORMAT({x}, '%Y-%m-01') AS DATETIME)"),
                        "quarter" => format!("CAST(MAKEDATE(YEAR({x}), 1) + INTERVAL (QUARTER({x}) - 1) QUARTER AS DATETIME)"),
                        _ => format!("CAST(DATE_FORMAT({x}, '%Y-01-01') AS DATETIME)"),
                    }),
                    _ => None,
                },
                ("stddev", [x]) if d == Mysql => Some(format!("STDDEV_SAMP({x}){filter}")),
                _ => None,
            })
        }
        _ => Ok(None),
    }
}

/// `percentile(x, p)` as yardstick computes it (`functions::percentile`), step by step over
/// the sorted values, so the engine gives the same double: the rank p x (n - 1) split into
/// a whole part and a weight exactly (p as billionths, integer arithmetic) and then
/// `v[lo] + (v[hi] - v[lo]) * weight`. The engines' own `percentile_cont` / `quantile_cont`
/// take the rank in floating point (0.28 x 25 = 7.000000000000001: 8.9e-14 where the value
/// is 0) or interpolate in another order, and differ in the last bits, wholly so where the
/// result is near 0 (found by the warehouse differential: DuckDB 1.05e-17 where yardstick
/// has 2.78e-17).
fn interpolated_percentile(d: Dialect, x: &str, p: &str, condition: Option<&str>) -> Result<String, Unsupported> {
    let p = percentile_fraction(d, p)?;
    let div = if d == Dialect::Duckdb { "//" } else { "/" };
    const SCALE: i64 = 1_000_000_000;
    let scaled = (p * SCALE as f64).round();
    let (lo, weight, interpolates) = if (p * SCALE as f64 - scaled).abs() < 1e-3 && scaled >= 0.0 {
        let product = format!("({} * (ys_n - 1))", scaled as i64);
        (
            format!("({product} {div} {SCALE})"),
            format!("(CAST({product} % {SCALE} AS DOUBLE PRECISION) / CAST({SCALE} AS DOUBLE PRECISION))"),
            format!("{product} % {SCALE} > 0"),
        )
    } else {
        let rank = format!("(CAST({p:?} AS DOUBLE PRECISION) * CAST(ys_n - 1 AS DOUBLE PRECISION))");
        (format!("CAST(floor({rank}) AS BIGINT)"), format!("({rank} - floor({rank}))"), format!("{rank} > floor({rank})"))
    };
    let (first, next) = (value_at(&format!("{lo} + 1")), value_at(&format!("CASE WHEN {interpolates} THEN {lo} + 2 ELSE {lo} + 1 END")));
    Ok(over_sorted_values(d, x, condition, &format!("{first} + ({next} - {first}) * {weight}")))
}

/// `percentile_nearest(x, p)` as yardstick computes it: the value of rank ceil(p x n), p x n
/// taken as the whole number it is within 1e-9 of (`functions::percentile`); the first value
/// for p = 0. An engine's `percentile_disc` takes the rank in floating point
/// (0.55 x 100 = 55.000000000000007 is rank 56 there).
fn nearest_rank_percentile(d: Dialect, x: &str, p: &str, condition: Option<&str>) -> Result<String, Unsupported> {
    let p = percentile_fraction(d, p)?;
    let exact = format!("(CAST({p:?} AS DOUBLE PRECISION) * CAST(ys_n AS DOUBLE PRECISION))");
    let rank = format!("CASE WHEN abs({exact} - round({exact})) < 1e-9 THEN round({exact}) ELSE ceil({exact}) END");
    Ok(over_sorted_values(d, x, condition, &value_at(&format!("least(greatest({rank}, 1), ys_n)"))))
}

fn percentile_fraction(d: Dialect, p: &str) -> Result<f64, Unsupported> {
    p.trim().parse().map_err(|_| Unsupported::new(d, format!("a percentile of a fraction that is not a number ({p})")))
}

/// The sorted values' element at a 1-based position (`ys_values`, see `over_sorted_values`).
fn value_at(i: &str) -> String {
    format!("ys_values[CAST({i} AS INTEGER)]")
}

/// `value` (over `ys_values`, the sorted non-null values of `x` where `condition` holds, and
/// `ys_n`, their count) as an aggregate; no value without values. The values are named once:
/// an aggregate in a subquery that reads only the outer query's columns is the outer query's
/// aggregate (SQL's rule; PostgreSQL and DuckDB follow it).
fn over_sorted_values(d: Dialect, x: &str, condition: Option<&str>, value: &str) -> String {
    let keep = match condition {
        Some(c) => format!("({c}) AND ({x}) IS NOT NULL"),
        None => format!("({x}) IS NOT NULL"),
    };
    let (sorted, count) = match d {
        Dialect::Duckdb => (format!("list({x} ORDER BY {x}) FILTER (WHERE {keep})"), "len(ys_values)"),
        _ => (format!("array_agg({x} ORDER BY {x}) FILTER (WHERE {keep})"), "cardinality(ys_values)"),
    };
    format!(
        "(SELECT CASE WHEN ys_n > 0 THEN {value} END \
         FROM (SELECT ys_values, CAST({count} AS BIGINT) AS ys_n FROM (SELECT {sorted} AS ys_values) AS ys_sorted) AS ys_percentile)"
    )
}

/// Seconds since 1970-01-01 of a timestamp, with the fraction (as the PostgreSQL form).
fn epoch(d: Dialect, x: &str) -> String {
    match d {
        Dialect::Bigquery => format!("(UNIX_MICROS({x}) / 1000000.0)"),
        Dialect::Mysql => format!("(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', {x}) / 1000000.0)"),
        Dialect::Snowflake => format!("(DATE_PART(epoch_microsecond, {x}) / 1000000.0)"),
        _ => format!("date_part('epoch', {x})"),
    }
}

/// Days since 1970-01-01 of a date or timestamp's day.
fn epoch_days(d: Dialect, x: &str) -> String {
    match d {
        Dialect::Mysql => format!("DATEDIFF({x}, '1970-01-01')"),
        Dialect::Bigquery => format!("DATE_DIFF(CAST({x} AS DATE), DATE '1970-01-01', DAY)"),
        Dialect::Snowflake => format!("DATEDIFF(day, DATE '1970-01-01', CAST({x} AS DATE))"),
        _ => format!("(CAST({x} AS DATE) - DATE '1970-01-01')"),
    }
}

/// `business_days_between(a, b)` as arithmetic: the weekdays d with a < d <= b (negative
/// when b < a) are W(b) - W(a), W(x) the weekdays from Monday 1970-01-05 up to x (5 per
/// whole week, then at most 5 of the days left; floor division and modulo written so
/// negative days count right), minus the weekday holidays in the range (plus, mirrored).
fn business_days(d: Dialect, a: &str, b: &str, holidays: &[chrono::NaiveDate]) -> String {
    let weekdays = |x: &str| {
        let n = format!("({} - 3)", epoch_days(d, x));
        let r = format!("mod(mod({n}, 7) + 7, 7)");
        format!("(5 * (({n} - {r}) / 7) + CASE WHEN {r} < 5 THEN {r} ELSE 5 END)")
    };
    let mut out = format!("({} - {}", weekdays(b), weekdays(a));
    for h in holidays {
        let h = format!("DATE '{}'", h.format("%Y-%m-%d"));
        let (da, db) = (format!("CAST({a} AS DATE)"), format!("CAST({b} AS DATE)"));
        out.push_str(&format!("\n  - CASE WHEN {da} < {h} AND {h} <= {db} THEN 1 WHEN {db} < {h} AND {h} <= {da} THEN -1 ELSE 0 END"));
    }
    out.push(')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dialect_quotes_and_shifts() {
        assert_eq!(Dialect::Postgres.ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Mysql.ident("x"), "`x`");
        assert_eq!(Dialect::Postgres.shift_date("p", -12, 0).ok().as_deref(), Some("CAST(p + INTERVAL '-12 months' AS DATE)"));
        assert!(Dialect::Sqlite.shift_date("p", 0, -7).is_err());
    }
}
