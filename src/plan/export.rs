//! A KPI as one SQL file for a warehouse: its query in the engine's dialect (`dialect.rs`),
//! derived KPIs as their inputs' queries joined with the arithmetic, `change(...)` KPIs as
//! their query joined with its earlier period, all behind a comment header that says what
//! the query reads and what yardstick does beyond it.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::LogicalPlan;
use indexmap::IndexMap;

use super::KpiPlan;
use super::dialect::{Dialect, Unsupported, plan_sql};
use crate::ast::BinaryOp;
use crate::model::*;

/// The file for KPI `id` in `dialect` (`None`: no such KPI).
pub fn kpi_file(model: &Model, plans: &[KpiPlan], id: &str, dialect: Dialect) -> Option<Result<String, Unsupported>> {
    let kpi = model.kpi(id)?;
    let exporter = Exporter { model, plans, d: dialect, holidays: weekday_holidays(model) };
    Some(exporter.query(kpi).map(|sql| format!("{}{sql};\n", exporter.header(kpi))))
}

/// The calendar's holidays that fall on a weekday (the others change no count).
fn weekday_holidays(model: &Model) -> Vec<chrono::NaiveDate> {
    use chrono::Datelike;
    let mut days: Vec<chrono::NaiveDate> = model
        .calendar
        .holidays
        .iter()
        .filter_map(|h| chrono::NaiveDate::parse_from_str(h, "%Y-%m-%d").ok())
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .collect();
    days.sort_unstable();
    days.dedup();
    days
}

struct Exporter<'a> {
    model: &'a Model,
    plans: &'a [KpiPlan],
    d: Dialect,
    holidays: Vec<chrono::NaiveDate>,
}

impl Exporter<'_> {
    /// The KPI's query: columns `period`, its `by` groups, `value` (and `last_base` for a
    /// window), one row per period and group with data.
    #[recursive::recursive]
    fn query(&self, kpi: &CheckedKpi) -> Result<String, Unsupported> {
        if let Some(derived) = &kpi.derived {
            return self.derived(kpi, derived);
        }
        if kpi.window == Some(Window::Cumulative) {
            return Err(Unsupported::new(self.d, "a running total (`cumulative`: yardstick adds the per-period values up)"));
        }
        let Some(plan) = self.plans.iter().find(|p| p.kpi == kpi.id) else {
            return Err(Unsupported::new(self.d, "this KPI (it has no query of its own)"));
        };
        let sql = plan_sql(&plan.plan, self.d, &self.holidays)?;
        let sql = match (kpi.window, kpi.grain) {
            (Some(Window::Rolling { .. } | Window::YearToDate { .. }), Some(grain)) => {
                // The plan's last column; `last_base` unless a source column has that name.
                let last_base = plan.plan.schema().fields().last().map(|f| f.name().clone()).unwrap_or_else(|| "last_base".into());
                self.window_periods_kept(kpi, &sql, grain, &last_base)
            }
            _ => sql,
        };
        match (kpi.change, kpi.grain) {
            (Some((kind, lag)), Some(grain)) => self.change(kpi, &sql, kind, lag, grain),
            (Some(_), None) => Err(Unsupported::new(self.d, "a change without a grain")),
            (None, _) => Ok(sql),
        }
    }

    /// A window's query without the periods yardstick drops (`fill`): every row is copied
    /// into the periods after its own, so the windows trail off past the data; yardstick
    /// keeps the periods up to the scope's end when it has one, else up to the latest
    /// period a row came from (`last_base`, over all groups). Dropped here, in the SQL, so
    /// that a derived KPI or a change over the window joins the same periods as yardstick.
    fn window_periods_kept(&self, kpi: &CheckedKpi, sql: &str, grain: Grain, last_base_name: &str) -> String {
        let (period, last_base) = (self.q("period"), self.q(last_base_name));
        let mut columns = vec![period.clone()];
        columns.extend(kpi.by.iter().map(|b| self.q(b)));
        columns.push(self.q("value"));
        columns.push(last_base.clone());
        let columns = columns.join(", ");
        match kpi.scope.end {
            Some(end) => {
                let last = grain.period_of(end, &self.model.calendar).format("%Y-%m-%d");
                format!("SELECT {columns} FROM (\n{}\n) {}\nWHERE {period} <= DATE '{last}'", indent(sql), self.q("windowed"))
            }
            None => {
                let mut name = "data_end".to_string();
                while kpi.by.contains(&name) || name == last_base_name {
                    name.push('_');
                }
                let data_end = self.q(&name);
                format!(
                    "SELECT {columns} FROM (\n  SELECT {columns}, max({last_base}) OVER () AS {data_end} FROM (\n{}\n  ) {}\n) {}\nWHERE {period} <= {data_end}",
                    indent(&indent(sql)),
                    self.q("windowed"),
                    self.q("window_periods")
                )
            }
        }
    }

    fn q(&self, name: &str) -> String {
        self.d.ident(name)
    }

    /// `change(m, lag)`: the query of `m`, joined with itself one lag earlier (same groups);
    /// no earlier row, or a relative change against 0, gives no value, as in yardstick.
    fn change(&self, kpi: &CheckedKpi, base: &str, kind: ChangeKind, lag: Lag, grain: Grain) -> Result<String, Unsupported> {
        let (months, days) = grain.step();
        let (months, days) = match (lag, grain) {
            (Lag::PreviousPeriod, _) => (-months, -days),
            (Lag::SamePeriodLastYear, Grain::Week) => (0, -52 * 7),
            (Lag::SamePeriodLastYear, _) => (-12, 0),
        };
        let (period, value) = (self.q("period"), self.q("value"));
        let earlier = self.d.shift_date(&format!("cur.{period}"), months, days)?;
        let mut on = vec![format!("prev.{period} = {earlier}")];
        let mut columns = vec![format!("cur.{period}")];
        for b in &kpi.by {
            let b = self.q(b);
            on.push(self.d.same(&format!("prev.{b}"), &format!("cur.{b}")));
            columns.push(format!("cur.{b}"));
        }
        let diff = format!("(cur.{value} - prev.{value})");
        let expr = match kind {
            ChangeKind::Absolute => diff,
            ChangeKind::Relative => format!("{diff} / NULLIF(ABS(prev.{value}) + 0.0, 0.0)"),
        };
        columns.push(format!("{expr} AS {value}"));
        Ok(format!(
            "WITH base AS (\n{}\n)\nSELECT\n  {}\nFROM\n  base cur\n  LEFT JOIN base prev ON {}",
            indent(base),
            columns.join(",\n  "),
            on.join(" AND ")
        ))
    }

    /// A derived KPI: each input's query as a CTE, joined on period and groups (a period
    /// without a value in some input has no value, as in yardstick), then the arithmetic.
    fn derived(&self, kpi: &CheckedKpi, expr: &DerivedExpr) -> Result<String, Unsupported> {
        let mut inputs = vec![];
        expr.inputs(&mut inputs);
        let mut names: IndexMap<String, String> = IndexMap::new();
        for i in inputs {
            let n = names.len();
            names.entry(i.to_string()).or_insert_with(|| format!("input_{n}"));
        }
        let mut ctes = vec![];
        for (id, name) in &names {
            let input = self.model.kpi(id).ok_or_else(|| Unsupported::new(self.d, format!("the input `{id}`")))?;
            let mut columns = vec![self.q("period")];
            columns.extend(kpi.by.iter().map(|b| self.q(b)));
            columns.push(self.q("value"));
            ctes.push(format!(
                "{name} AS (\n  SELECT {} FROM (\n{}\n  ) {}\n)",
                columns.join(", "),
                indent(&indent(&self.query(input)?)),
                self.q(&format!("{name}_query"))
            ));
        }
        let mut first = None;
        let mut from = String::new();
        for name in names.values() {
            match &first {
                None => {
                    from = name.clone();
                    first = Some(name.clone());
                }
                Some(f) => {
                    let mut on = vec![self.d.same(&format!("{name}.{}", self.q("period")), &format!("{f}.{}", self.q("period")))];
                    on.extend(kpi.by.iter().map(|b| self.d.same(&format!("{name}.{}", self.q(b)), &format!("{f}.{}", self.q(b)))));
                    from.push_str(&format!("\n  JOIN {name} ON {}", on.join(" AND ")));
                }
            }
        }
        let Some(first) = first else { return Err(Unsupported::new(self.d, "a derived KPI without inputs")) };
        let mut columns = vec![format!("{first}.{}", self.q("period"))];
        columns.extend(kpi.by.iter().map(|b| format!("{first}.{}", self.q(b))));
        columns.push(format!("{} AS {}", self.arithmetic(expr, &names)?, self.q("value")));
        Ok(format!("WITH\n{}\nSELECT\n  {}\nFROM\n  {from}", ctes.join(",\n"), columns.join(",\n  ")))
    }

    #[recursive::recursive]
    fn arithmetic(&self, e: &DerivedExpr, names: &IndexMap<String, String>) -> Result<String, Unsupported> {
        Ok(match e {
            DerivedExpr::Kpi(id) => format!("{}.{}", names.get(id).map(String::as_str).unwrap_or(id), self.q("value")),
            DerivedExpr::Number(n) if n.is_finite() => format!("{n:?}"),
            DerivedExpr::Number(_) => return Err(Unsupported::new(self.d, "a number that is not finite")),
            DerivedExpr::Neg(x) => format!("(-{})", self.arithmetic(x, names)?),
            DerivedExpr::Binary { op, lhs, rhs } => {
                let (l, r) = (self.arithmetic(lhs, names)?, self.arithmetic(rhs, names)?);
                match op {
                    BinaryOp::Div => format!("({l} / NULLIF({r} + 0.0, 0.0))"),
                    BinaryOp::Add => format!("({l} + {r})"),
                    BinaryOp::Sub => format!("({l} - {r})"),
                    BinaryOp::Mul => format!("({l} * {r})"),
                    _ => return Err(Unsupported::new(self.d, "a comparison in a derived KPI")),
                }
            }
            DerivedExpr::Change { .. } => {
                return Err(Unsupported::new(self.d, "a change inside a derived KPI's arithmetic (yardstick computes it per period)"));
            }
        })
    }

    /// The comment header: what the query reads, what it gives, what yardstick adds.
    fn header(&self, kpi: &CheckedKpi) -> String {
        let mut lines = vec![
            format!("KPI `{}`: {}", kpi.id, one_line(&kpi.title)),
            format!("{} SQL written by `yardstick sql --dialect {}` from the KPI's definition.", self.d.title(), dialect_name(self.d)),
        ];
        let mut tables: IndexMap<String, Vec<String>> = IndexMap::new();
        self.tables(kpi, &mut tables);
        for (table, columns) in &tables {
            lines.push(format!("Reads table {} with the types yardstick.yaml declares: {}.", table, columns.join(", ")));
        }
        if self.d == Dialect::Mysql {
            lines.push(
                "MySQL: the tables need a case-sensitive collation without padding (utf8mb4_0900_bin), as yardstick compares text.".into(),
            );
        }
        let mut columns = vec!["period".to_string()];
        columns.extend(kpi.by.iter().cloned());
        columns.push("value".into());
        lines.push(format!(
            "Gives one row per {} with rows: {}.",
            if kpi.by.is_empty() { "period" } else { "period and group" },
            columns.join(", ")
        ));
        if matches!(kpi.window, Some(Window::Rolling { .. } | Window::YearToDate { .. })) {
            lines.push(
                "The window's periods end with the scope's end, else with the latest period that has rows (`last_base`), as in yardstick."
                    .into(),
            );
        }
        lines.push("yardstick does more than this SQL when it builds the report:".into());
        if kpi.grain.is_some() {
            lines.push("- every period from the first to the last is shown; periods without rows (missing here) have no value".into());
            lines.push("- periods whose data may be incomplete (`complete_after`) are provisional and do not decide the headline".into());
        }
        if !kpi.targets.is_empty() {
            lines.push("- targets and statuses (met, near, missed) per period".into());
        }
        if !kpi.compare.is_empty() {
            lines.push("- comparisons with earlier periods or the baseline".into());
        }
        lines.push("- values rounded to 12 significant digits; rows not counted are accounted for (where, no time, out of scope)".into());
        lines.push("- public builds suppress cells of few rows (docs/privacy.md); this SQL shows every cell".into());
        lines.iter().map(|l| format!("-- {l}\n")).collect()
    }

    /// The tables a KPI's query reads (derived KPIs: their inputs'), with the columns read.
    #[recursive::recursive]
    fn tables(&self, kpi: &CheckedKpi, out: &mut IndexMap<String, Vec<String>>) {
        if let Some(derived) = &kpi.derived {
            let mut inputs = vec![];
            derived.inputs(&mut inputs);
            for i in inputs {
                if let Some(k) = self.model.kpi(&i) {
                    self.tables(k, out);
                }
            }
            return;
        }
        let Some(plan) = self.plans.iter().find(|p| p.kpi == kpi.id) else { return };
        let Some(source) = self.model.sources.get(&plan.source) else { return };
        let _ = plan.plan.apply(|node| {
            if let LogicalPlan::TableScan(scan) = node {
                if scan.table_name.table() == plan.source {
                    let columns = out.entry(plan.source.clone()).or_default();
                    for f in scan.projected_schema.fields() {
                        let ty = source.columns.get(f.name()).map(|c| c.ty.name()).unwrap_or("string");
                        let col = format!("{} {ty}", f.name());
                        if !columns.contains(&col) {
                            columns.push(col);
                        }
                    }
                }
            }
            Ok(TreeNodeRecursion::Continue)
        });
    }
}

pub fn dialect_name(d: Dialect) -> &'static str {
    match d {
        Dialect::Postgres => "postgres",
        Dialect::Duckdb => "duckdb",
        Dialect::Mysql => "mysql",
        Dialect::Sqlite => "sqlite",
        Dialect::Bigquery => "bigquery",
        Dialect::Snowflake => "snowflake",
        Dialect::Generic => "generic",
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}
