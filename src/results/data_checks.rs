//! Data checks' results (results.json `checks`, docs/checks.md): what the run counted per
//! check ([`CheckRun`]) judged against the check's bounds and threshold ([`judge_checks`]).

use indexmap::IndexMap;
use serde::Serialize;

use crate::model::{CheckMax, CheckSeverity, DataCheck, DataCheckKind, Model};
use crate::span::SourceMap;

/// What the run measured for one check (`index` into `Model::checks`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckRun {
    pub index: usize,
    /// The source's rows.
    pub rows: u64,
    /// Failing rows (row-level, `unique`, `relationship` checks).
    pub failing: Option<u64>,
    /// `fresh`: the column's latest value, microseconds since 1970 (none: no value at all).
    pub latest: Option<i64>,
    /// `rows per`: rows per period (days since 1970 of the period's first day), in order.
    pub periods: Vec<(i32, u64)>,
    pub examples: Vec<CheckExample>,
}

/// A failing row: its file (project-relative) and line (CSV) or row (Parquet: its place
/// among the file's rows, from 1), and the values of the columns the check reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckExample {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    pub values: IndexMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    /// Failed, with severity `warn`.
    Warn,
    /// Failed, with severity `error`.
    Fail,
    /// Could not be judged: `fresh` without `--as-of`.
    Skipped,
}

impl CheckStatus {
    pub fn name(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "fail",
            CheckStatus::Skipped => "skipped",
        }
    }
}

/// One check as results.json shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub source: String,
    /// The KPI whose `check` clause holds the rule (it checks that KPI's rows); null for a
    /// `check <source>` block's rule.
    pub kpi: Option<String>,
    /// The rule as written (canonical layout): `not_null call_id max 1% warn`.
    pub check: String,
    /// `not_null`, `unique`, `accepted`, `valid`, `fresh`, `rows`, `relationship`, `volume`.
    pub kind: &'static str,
    pub severity: CheckSeverity,
    pub status: CheckStatus,
    /// The rows of the source, or of the KPI (for `volume`: the periods compared).
    pub checked: u64,
    /// Failing rows (or periods); null for `rows` and `fresh`, which pass or fail whole.
    pub failing: Option<u64>,
    /// `failing / checked`, rounded to 12 significant digits; null when nothing was checked.
    pub share: Option<f64>,
    /// What was found, in words.
    pub detail: String,
    /// Up to `plan::data_checks::MAX_EXAMPLES` failing rows by file and line.
    pub examples: Vec<CheckExample>,
    /// `metrics/checks.kpi:4`.
    pub defined_at: String,
}

/// Judge every check the run measured (in file order).
pub fn judge_checks(model: &Model, runs: &[CheckRun], as_of: Option<chrono::NaiveDate>, sources: &SourceMap) -> Vec<CheckResult> {
    let mut runs: Vec<&CheckRun> = runs.iter().collect();
    runs.sort_by_key(|r| r.index);
    runs.iter().filter_map(|r| model.checks.get(r.index).map(|c| judge(c, r, as_of, sources))).collect()
}

fn judge(c: &DataCheck, r: &CheckRun, as_of: Option<chrono::NaiveDate>, sources: &SourceMap) -> CheckResult {
    let (line, _) = sources.line_col(c.span);
    let mut checked = r.rows;
    let mut failing = r.failing;
    let (passed, detail) = match &c.kind {
        DataCheckKind::Row { .. } | DataCheckKind::Unique(_) | DataCheckKind::Relationship { .. } => {
            let n = r.failing.unwrap_or(0);
            let what = match c.kind_name() {
                "not_null" => "with a null value",
                "accepted" => "with a value not in the list",
                "valid" => "where the condition is false or null",
                "unique" => "whose value another row has too",
                _ => "whose value is not in the other source",
            };
            (
                Some(within(c.max, n, r.rows)),
                format!(
                    "{} of {} rows {what}{}",
                    crate::diagnostics::thousands(n),
                    crate::diagnostics::thousands(r.rows),
                    allowance(c.max)
                ),
            )
        }
        DataCheckKind::Rows { min, max } => {
            let ok = min.is_none_or(|m| r.rows >= m) && max.is_none_or(|m| r.rows <= m);
            let bound = match (min, max) {
                (Some(a), Some(b)) => format!("between {a} and {b}"),
                (Some(a), None) => format!("at least {a}"),
                (None, Some(b)) => format!("at most {b}"),
                (None, None) => "any number".to_string(),
            };
            (Some(ok), format!("{} rows; expected {bound}", crate::diagnostics::thousands(r.rows)))
        }
        DataCheckKind::Fresh { column, amount, unit } => match (as_of, r.latest) {
            (None, _) => (None, "not judged: `fresh` needs `--as-of DATE` (the day to measure freshness from)".to_string()),
            (Some(day), latest) => {
                let cutoff = crate::model::shift_back(day, *amount, *unit).map(|t| t.and_utc().timestamp_micros());
                let shown = latest.and_then(chrono::DateTime::from_timestamp_micros).map(|t| {
                    if t.time() == chrono::NaiveTime::MIN {
                        t.format("%Y-%m-%d").to_string()
                    } else {
                        t.format("%Y-%m-%d %H:%M:%S").to_string()
                    }
                });
                match (latest, cutoff) {
                    (Some(l), Some(cut)) => (
                        Some(l >= cut),
                        format!(
                            "latest `{column}` is {}; expected within {amount} {} before {day}",
                            shown.unwrap_or_default(),
                            unit.word()
                        ),
                    ),
                    _ => (Some(false), format!("`{column}` has no value; expected one within {amount} {} before {day}", unit.word())),
                }
            }
        },
        DataCheckKind::Volume { grain, within: limit, .. } => {
            let (compared, bad, worst) = volume(r, *grain, *limit, as_of);
            checked = compared;
            failing = Some(bad);
            let worst = worst.map(|w| format!("; the largest: {w}")).unwrap_or_default();
            (
                Some(within(c.max, bad, compared)),
                format!(
                    "{bad} of {compared} {}s changed by more than {}% from the {} before{worst}{}",
                    grain.name(),
                    crate::results::round_value(limit * 100.0),
                    grain.name(),
                    allowance(c.max)
                ),
            )
        }
    };
    let status = match (passed, c.severity) {
        (None, _) => CheckStatus::Skipped,
        (Some(true), _) => CheckStatus::Pass,
        (Some(false), CheckSeverity::Warn) => CheckStatus::Warn,
        (Some(false), CheckSeverity::Error) => CheckStatus::Fail,
    };
    let share = failing.filter(|_| checked > 0).map(|f| crate::results::round_value(f as f64 / checked as f64));
    CheckResult {
        source: c.source.clone(),
        kpi: c.kpi.clone(),
        check: c.text.clone(),
        kind: c.kind_name(),
        severity: c.severity,
        status,
        checked,
        failing,
        share,
        detail,
        examples: if status == CheckStatus::Pass { vec![] } else { r.examples.clone() },
        defined_at: format!("{}:{line}", sources.get(c.span.file).name),
    }
}

fn within(max: Option<CheckMax>, failing: u64, total: u64) -> bool {
    max.unwrap_or(CheckMax::Count(0)).allows(failing, total)
}

fn allowance(max: Option<CheckMax>) -> String {
    match max {
        None => String::new(),
        Some(CheckMax::Count(n)) => format!(" (at most {n} allowed)"),
        Some(CheckMax::Share(s)) => format!(" (at most {}% allowed)", crate::results::round_value(s * 100.0)),
    }
}

/// `rows per <grain>`: the periods from the first to the last with rows (empty ones in
/// between count 0), each compared with the one before. The last period is left out unless
/// `--as-of` is on or after its last day: a period still filling up is not a drop.
/// Returns (periods compared, periods changed too much, the largest change in words).
fn volume(r: &CheckRun, grain: crate::model::Grain, limit: f64, as_of: Option<chrono::NaiveDate>) -> (u64, u64, Option<String>) {
    let day = |d: i32| chrono::NaiveDate::from_num_days_from_ce_opt(d + 719_163);
    let (Some(first), Some(last)) = (r.periods.first().and_then(|p| day(p.0)), r.periods.last().and_then(|p| day(p.0))) else {
        return (0, 0, None);
    };
    let counts: std::collections::HashMap<chrono::NaiveDate, u64> =
        r.periods.iter().filter_map(|(d, n)| day(*d).map(|d| (d, *n))).collect();
    let last_complete = match (as_of, grain.shift(last, 1)) {
        (Some(a), Some(next)) if next.pred_opt().is_some_and(|end| a >= end) => last,
        _ => grain.shift(last, -1).unwrap_or(first),
    };
    let mut all = vec![];
    let mut p = first;
    while p <= last_complete && (all.len() as i64) <= crate::series::MAX_PERIODS {
        all.push((p, counts.get(&p).copied().unwrap_or(0)));
        match grain.shift(p, 1) {
            Some(n) => p = n,
            None => break,
        }
    }
    let (mut compared, mut bad, mut worst): (u64, u64, Option<(f64, String)>) = (0, 0, None);
    for w in all.windows(2) {
        let ((_, before), (period, now)) = (w[0], w[1]);
        compared += 1;
        let change = if before == 0 { if now == 0 { 0.0 } else { f64::INFINITY } } else { (now as f64 - before as f64) / before as f64 };
        if change.abs() > limit + 1e-12 {
            bad += 1;
            let text = if change.is_infinite() {
                format!("{period}: {now} rows after 0")
            } else {
                format!("{period}: {now} rows after {before} ({:+.1}%)", change * 100.0)
            };
            if worst.as_ref().is_none_or(|(w, _)| change.abs() > *w) {
                worst = Some((change.abs(), text));
            }
        }
    }
    (compared, bad, worst.map(|w| w.1))
}
