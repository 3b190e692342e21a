//! Per-period work after the queries ran: derived KPIs, empty periods, targets and
//! statuses, comparisons. Pure functions over result rows (no IO, no DataFusion), so the
//! rules that decide a KPI's status live in one place and are easy to test.

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate};
use indexmap::IndexMap;

use crate::ast::BinaryOp;
use crate::config::{Calendar, CompleteAfter};
use crate::model::*;
use crate::results::{Change, ResultRow, Status, round_value, sort_rows};

/// At most this many periods per KPI (a day grain over ~100 years), and filled rows (periods
/// x groups): beyond, a KPI is an error naming it, never a silently cut series.
pub const MAX_PERIODS: i64 = 40_000;
pub const MAX_FILLED_ROWS: i64 = 5_000_000;

/// Turn the queries' rows into each KPI's final rows, in model order.
pub fn finish(
    model: &Model,
    mut queried: IndexMap<String, Vec<ResultRow>>,
    data_ends: &IndexMap<String, String>,
    time_ends: &IndexMap<String, String>,
    as_of: Option<NaiveDate>,
) -> Result<IndexMap<String, Vec<ResultRow>>, crate::diagnostics::Diagnostics> {
    let mut errors = vec![];
    let mut done: HashMap<String, Vec<ResultRow>> = HashMap::new();
    for kpi in dependency_order(model) {
        let rows = match &kpi.derived {
            None => queried.shift_remove(&kpi.id).unwrap_or_default(),
            Some(expr) => derive(expr, &done),
        };
        let data_end = data_ends.get(&kpi.id).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        let mut rows = match fill(kpi, rows, data_end, as_of, &model.calendar) {
            Ok(rows) => rows,
            Err(e) => {
                errors.push(e);
                vec![]
            }
        };
        match &kpi.derived {
            None => {
                let time_end = time_ends.get(&kpi.id).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
                let source_lag = kpi.source.as_ref().and_then(|s| model.sources.get(s)).map(|s| s.complete_after);
                let lag = kpi.complete_after.or(source_lag).unwrap_or_default();
                mark_provisional(kpi, &mut rows, lag, time_end, as_of);
            }
            Some(expr) => inherit_provisional(expr, &mut rows, &done),
        }
        if kpi.window == Some(Window::Cumulative) {
            accumulate(&mut rows);
        }
        let values = values_of(&rows);
        judge(kpi, &mut rows, &values, &model.calendar);
        compare(kpi, &mut rows, &values);
        done.insert(kpi.id.clone(), rows);
    }
    if !errors.is_empty() {
        return Err(crate::diagnostics::Diagnostics(errors));
    }
    Ok(model.kpis.iter().map(|k| (k.id.clone(), done.remove(&k.id).unwrap_or_default())).collect())
}

/// Every KPI after the KPIs it is derived from: a depth-first walk with its own stack, linear in
/// the number of KPIs and inputs (`check` rules out cycles; one would only be cut, never looped).
fn dependency_order(model: &Model) -> Vec<&CheckedKpi> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, k) in model.kpis.iter().enumerate() {
        index.entry(k.id.as_str()).or_insert(i);
    }
    let inputs = |i: usize| -> Vec<usize> {
        let mut names = vec![];
        if let Some(expr) = &model.kpis[i].derived {
            expr.inputs(&mut names);
        }
        names.iter().filter_map(|n| index.get(n.as_str()).copied()).collect()
    };
    // 0 = not seen, 1 = on the stack, 2 = placed.
    let mut state = vec![0u8; model.kpis.len()];
    let mut order = Vec::with_capacity(model.kpis.len());
    for root in 0..model.kpis.len() {
        if state[root] != 0 {
            continue;
        }
        state[root] = 1;
        let mut stack = vec![(root, inputs(root), 0usize)];
        while let Some((i, deps, next)) = stack.last_mut() {
            if let Some(&d) = deps.get(*next) {
                *next += 1;
                if state[d] == 0 {
                    state[d] = 1;
                    let deps = inputs(d);
                    stack.push((d, deps, 0));
                }
                continue;
            }
            let i = *i;
            stack.pop();
            state[i] = 2;
            order.push(&model.kpis[i]);
        }
    }
    order
}

/// Rows are matched across KPIs and periods by period and group values.
type Key = (Option<String>, String);

fn key(period: &Option<String>, groups: &[(String, serde_json::Value)]) -> Key {
    (period.clone(), groups_key(groups))
}

fn groups_key(groups: &[(String, serde_json::Value)]) -> String {
    serde_json::to_string(&groups.iter().map(|(_, v)| v).collect::<Vec<_>>()).unwrap_or_default()
}

fn parse_period(p: &Option<String>) -> Option<NaiveDate> {
    p.as_deref().and_then(|p| NaiveDate::parse_from_str(p, "%Y-%m-%d").ok())
}

fn row(period: Option<String>, groups: Vec<(String, serde_json::Value)>, value: Option<f64>) -> ResultRow {
    ResultRow { period, groups, value, target: None, status: Status::NoData, comparisons: vec![], provisional: false }
}

/// A derived KPI's rows: its expression evaluated on every period and group any input has.
fn derive(expr: &DerivedExpr, done: &HashMap<String, Vec<ResultRow>>) -> Vec<ResultRow> {
    let mut inputs = vec![];
    expr.inputs(&mut inputs);
    let mut values: HashMap<&str, HashMap<Key, Option<f64>>> = HashMap::new();
    let mut keys: IndexMap<Key, (Option<String>, Vec<(String, serde_json::Value)>)> = IndexMap::new();
    for id in &inputs {
        let rows = done.get(id).map(Vec::as_slice).unwrap_or_default();
        let map = values.entry(id.as_str()).or_default();
        for r in rows {
            let k = key(&r.period, &r.groups);
            map.insert(k.clone(), r.value);
            keys.entry(k).or_insert_with(|| (r.period.clone(), r.groups.clone()));
        }
    }
    let mut out: Vec<ResultRow> = keys
        .into_iter()
        .map(|(k, (period, groups))| {
            let v = eval(expr, &|id: &str| values.get(id).and_then(|m| m.get(&k).copied().flatten()));
            row(period, groups, v.filter(|v| v.is_finite()).map(round_value))
        })
        .collect();
    sort_rows(&mut out);
    out
}

/// Arithmetic with missing values: anything with a missing input is missing, and so is a
/// division by zero.
#[recursive::recursive]
fn eval(e: &DerivedExpr, lookup: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
    match e {
        DerivedExpr::Kpi(id) => lookup(id),
        DerivedExpr::Number(n) => Some(*n),
        DerivedExpr::Neg(x) => eval(x, lookup).map(|v| -v),
        DerivedExpr::Binary { op, lhs, rhs } => {
            let (l, r) = (eval(lhs, lookup)?, eval(rhs, lookup)?);
            match op {
                BinaryOp::Add => Some(l + r),
                BinaryOp::Sub => Some(l - r),
                BinaryOp::Mul => Some(l * r),
                BinaryOp::Div if r == 0.0 => None,
                BinaryOp::Div => Some(l / r),
                _ => None,
            }
        }
    }
}

/// Every period from the first to the last, for every group seen: periods without rows
/// appear with no value (status no_data) instead of being missing.
///
/// The first period is the scope's start, else the first with data; the last is the
/// scope's end or `--as-of` (the earlier), else the last with data (for windowed KPIs the
/// last a row came from: their windows trail off after it, and those rows are dropped).
fn fill(
    kpi: &CheckedKpi,
    rows: Vec<ResultRow>,
    data_end: Option<NaiveDate>,
    as_of: Option<NaiveDate>,
    calendar: &Calendar,
) -> Result<Vec<ResultRow>, crate::diagnostics::Diagnostic> {
    let Some(grain) = kpi.grain else { return Ok(rows) };
    let dates: Vec<NaiveDate> = rows.iter().filter_map(|r| parse_period(&r.period)).collect();
    let start = kpi.scope.start.map(|d| grain.period_of(d, calendar)).or_else(|| dates.iter().min().copied());
    let cap = [kpi.scope.end, as_of].into_iter().flatten().min().map(|d| grain.period_of(d, calendar));
    let end = cap.or(data_end).or_else(|| dates.iter().max().copied());
    let (Some(start), Some(end)) = (start, end) else { return Ok(rows) };

    let mut groups: Vec<Vec<(String, serde_json::Value)>> = vec![];
    let mut seen = BTreeSet::new();
    for r in &rows {
        if seen.insert(groups_key(&r.groups)) {
            groups.push(r.groups.clone());
        }
    }
    if kpi.by.is_empty() && groups.is_empty() {
        groups.push(vec![]);
    }
    // Count before filling: `--as-of 9999-12-31` on a daily KPI must fail at once.
    let (months, days) = grain.step();
    let periods = if months > 0 {
        let m = |d: NaiveDate| d.year() as i64 * 12 + d.month0() as i64;
        (m(end) - m(start)) / months as i64 + 1
    } else {
        (end - start).num_days() / days as i64 + 1
    };
    let filled = periods.saturating_mul(groups.len().max(1) as i64);
    if periods > MAX_PERIODS || filled > MAX_FILLED_ROWS {
        return Err(crate::diagnostics::Diagnostic::error(
            "YS0401",
            format!(
                "KPI `{}` would have {periods} {} periods from {start} to {end}{}: more than yardstick shows ({MAX_PERIODS} periods, {MAX_FILLED_ROWS} rows)",
                kpi.id,
                grain.name(),
                if groups.len() > 1 { format!(" for {} groups", groups.len()) } else { String::new() }
            ),
        )
        .at(kpi.id_span, "too many periods")
        .help("limit its rows with a scope (`since 2020-01-01`), use a coarser grain, or check `--as-of` and the dates in the data (a year such as 0024 or 2300 is often a misread date)")
        .about_kpi(&kpi.id));
    }
    let mut by_key: HashMap<Key, ResultRow> = rows.into_iter().map(|r| (key(&r.period, &r.groups), r)).collect();
    let mut out = vec![];
    let mut period = start;
    while period <= end {
        let p = Some(period.to_string());
        for g in &groups {
            out.push(by_key.remove(&key(&p, g)).unwrap_or_else(|| row(p.clone(), g.clone(), None)));
        }
        match grain.shift(period, 1) {
            Some(next) => period = next,
            None => break,
        }
    }
    sort_rows(&mut out);
    Ok(out)
}

/// A period is provisional while its data may still be coming in: until the data (the
/// source's latest time value, or `--as-of` when earlier) reaches the period's last day
/// plus the source's `complete_after` lag. Rows are judged as usual; the report's headline
/// and scorecard skip provisional periods (unless `headline_period: latest`).
fn mark_provisional(kpi: &CheckedKpi, rows: &mut [ResultRow], lag: CompleteAfter, time_end: Option<NaiveDate>, as_of: Option<NaiveDate>) {
    let (Some(grain), CompleteAfter::Lag { months, days }) = (kpi.grain, lag) else { return };
    let Some(reference) = [time_end, as_of].into_iter().flatten().min() else { return };
    for r in rows.iter_mut() {
        let Some(period) = parse_period(&r.period) else { continue };
        let complete_on = grain
            .shift(period, 1)
            .and_then(|next| next.pred_opt())
            .and_then(|last| last.checked_add_months(chrono::Months::new(months)))
            .and_then(|d| d.checked_add_signed(chrono::Duration::days(days as i64)));
        // A date beyond the calendar is never reached.
        r.provisional = complete_on.is_none_or(|d| d > reference);
    }
}

/// A derived KPI's period is provisional when any input's is.
fn inherit_provisional(expr: &DerivedExpr, rows: &mut [ResultRow], done: &HashMap<String, Vec<ResultRow>>) {
    let mut inputs = vec![];
    expr.inputs(&mut inputs);
    let provisional: BTreeSet<Key> = inputs
        .iter()
        .flat_map(|id| done.get(id).into_iter().flatten())
        .filter(|r| r.provisional)
        .map(|r| key(&r.period, &r.groups))
        .collect();
    for r in rows.iter_mut() {
        r.provisional = provisional.contains(&key(&r.period, &r.groups));
    }
}

/// Running totals per group over the filled periods (rows are sorted by period): a period
/// with no rows adds nothing and keeps the total; before the first value there is none.
fn accumulate(rows: &mut [ResultRow]) {
    let mut totals: HashMap<String, f64> = HashMap::new();
    for r in rows.iter_mut() {
        let k = groups_key(&r.groups);
        let total = match (totals.get(&k).copied(), r.value) {
            (Some(t), Some(v)) => Some(t + v),
            (None, v) => v,
            (t, None) => t,
        };
        if let Some(t) = total {
            totals.insert(k, t);
        }
        r.value = total.map(round_value);
    }
}

/// The baseline value for a group: the stated one, else the group's value in that period.
fn baseline_value(kpi: &CheckedKpi, values: &HashMap<Key, Option<f64>>, groups: &[(String, serde_json::Value)]) -> Option<f64> {
    let b = kpi.baseline.as_ref()?;
    b.value.or_else(|| values.get(&key(&Some(b.period.to_string()), groups)).copied().flatten())
}

fn values_of(rows: &[ResultRow]) -> HashMap<Key, Option<f64>> {
    rows.iter().map(|r| (key(&r.period, &r.groups), r.value)).collect()
}

/// The threshold in force and the status of every row.
fn judge(kpi: &CheckedKpi, rows: &mut [ResultRow], values: &HashMap<Key, Option<f64>>, calendar: &Calendar) {
    for r in rows.iter_mut() {
        let period = parse_period(&r.period);
        let target = kpi.target_at(period);
        let threshold = target.and_then(|t| threshold(kpi, t, period, values, &r.groups, calendar));
        r.target = threshold.map(round_value);
        r.status = match (r.value, target) {
            (None, _) => Status::NoData,
            (Some(_), None) => Status::NoTarget,
            (Some(v), Some(t)) => match t.rule {
                TargetRule::Between { .. } => verdict_status(t.judge(v, 0.0)),
                TargetRule::Compare { .. } => match threshold {
                    Some(th) => verdict_status(t.judge(v, th)),
                    None => Status::NoTarget,
                },
            },
        };
    }
}

fn verdict_status(v: Verdict) -> Status {
    match v {
        Verdict::Met => Status::OnTrack,
        Verdict::Near => Status::NearTarget,
        Verdict::Missed => Status::OffTrack,
    }
}

/// A comparator target's threshold for a period. With a baseline and a deadline it is a
/// trajectory: linear by date from the baseline value (at the baseline period's start) to
/// the target (at the deadline period's start), the target itself from then on, and no
/// target before the baseline period.
fn threshold(
    kpi: &CheckedKpi,
    t: &Target,
    period: Option<NaiveDate>,
    values: &HashMap<Key, Option<f64>>,
    groups: &[(String, serde_json::Value)],
    calendar: &Calendar,
) -> Option<f64> {
    let goal = t.value()?;
    let (Some(deadline), Some(baseline), Some(period)) = (t.deadline, &kpi.baseline, period) else {
        return Some(goal);
    };
    let start = baseline.period;
    if period < start {
        return None;
    }
    // A group without a value in the baseline period has no trajectory: the target itself.
    let (Some(grain), Some(start_value)) = (kpi.grain, baseline_value(kpi, values, groups)) else {
        return Some(goal);
    };
    // Deadline periods are compared by their first day, like every period.
    let end = grain.period_of(deadline, calendar);
    if period >= end || end <= start {
        return Some(goal);
    }
    let frac = (period - start).num_days() as f64 / (end - start).num_days() as f64;
    Some(start_value + (goal - start_value) * frac)
}

/// Previous period, same period last year and baseline comparisons.
fn compare(kpi: &CheckedKpi, rows: &mut [ResultRow], values: &HashMap<Key, Option<f64>>) {
    let Some(grain) = kpi.grain else { return };
    if kpi.compare.is_empty() {
        return;
    }
    for r in rows.iter_mut() {
        let Some(period) = parse_period(&r.period) else { continue };
        let value_at = |p: NaiveDate| values.get(&key(&Some(p.to_string()), &r.groups)).copied().flatten();
        for c in &kpi.compare {
            let other = match c {
                Comparison::PreviousPeriod => grain.shift(period, -1).and_then(&value_at),
                // 52 weeks back keeps the weekday; every other grain goes back 12 months
                // (days: the same date).
                Comparison::SamePeriodLastYear => match grain {
                    Grain::Week => grain.shift(period, -52),
                    _ => period.checked_sub_months(chrono::Months::new(12)),
                }
                .and_then(&value_at),
                Comparison::Baseline => baseline_value(kpi, values, &r.groups),
            };
            r.comparisons.push((c.name(), change(r.value, other, kpi.direction)));
        }
    }
}

fn change(value: Option<f64>, other: Option<f64>, direction: Option<Direction>) -> Change {
    let delta = match (value, other) {
        (Some(v), Some(o)) => Some(v - o),
        _ => None,
    };
    let relative = match (delta, other) {
        (Some(d), Some(o)) if o != 0.0 => Some(d / o.abs()),
        _ => None,
    };
    let improved = match (delta, direction) {
        (Some(d), Some(Direction::Increasing)) => Some(d > 0.0),
        (Some(d), Some(Direction::Decreasing)) => Some(d < 0.0),
        _ => None,
    };
    Change { value: other, change: delta.map(round_value), relative_change: relative.map(round_value), improved }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn derived_arithmetic_misses_on_missing_inputs_and_zero_division() {
        let e = DerivedExpr::Binary {
            op: BinaryOp::Div,
            lhs: Box::new(DerivedExpr::Kpi("a".into())),
            rhs: Box::new(DerivedExpr::Kpi("b".into())),
        };
        let vals = |a: Option<f64>, b: Option<f64>| move |id: &str| if id == "a" { a } else { b };
        assert_eq!(eval(&e, &vals(Some(6.0), Some(3.0))), Some(2.0));
        assert_eq!(eval(&e, &vals(Some(6.0), Some(0.0))), None);
        assert_eq!(eval(&e, &vals(None, Some(3.0))), None);
    }

    #[test]
    fn changes_by_hand() {
        let c = change(Some(0.8), Some(0.5), Some(Direction::Increasing));
        assert_eq!(c.change, Some(0.3));
        assert_eq!(c.relative_change, Some(0.6));
        assert_eq!(c.improved, Some(true));
        let c = change(Some(4.0), Some(5.0), Some(Direction::Increasing));
        assert_eq!(c.improved, Some(false));
        let c = change(Some(4.0), Some(0.0), None);
        assert_eq!((c.change, c.relative_change, c.improved), (Some(4.0), None, None));
    }

    #[test]
    fn fiscal_periods_by_hand() {
        let cal = Calendar { fiscal_year_start: Some("07-01".into()), ..Calendar::default() };
        assert_eq!(Grain::FiscalYear.period_of(d("2024-06-30"), &cal), d("2023-07-01"));
        assert_eq!(Grain::FiscalYear.period_of(d("2024-07-01"), &cal), d("2024-07-01"));
        assert_eq!(Grain::FiscalQuarter.period_of(d("2024-09-30"), &cal), d("2024-07-01"));
        assert_eq!(Grain::FiscalQuarter.period_of(d("2025-03-31"), &cal), d("2025-01-01"));
        let cal = Calendar { fiscal_year_start: Some("04-01".into()), ..Calendar::default() };
        assert_eq!(Grain::FiscalYear.period_of(d("2025-03-31"), &cal), d("2024-04-01"));
        assert_eq!(Grain::FiscalQuarter.period_of(d("2025-02-10"), &cal), d("2025-01-01"));
        assert_eq!(Grain::FiscalQuarter.period_of(d("2024-05-10"), &cal), d("2024-04-01"));
        // 2024-11-24 is a Sunday.
        let sunday = Calendar { week_start: crate::config::WeekStart::Sunday, ..Calendar::default() };
        assert_eq!(Grain::Week.period_of(d("2024-11-24"), &sunday), d("2024-11-24"));
        assert_eq!(Grain::Week.period_of(d("2024-11-30"), &sunday), d("2024-11-24"));
        assert_eq!(Grain::Week.period_of(d("2024-11-24"), &Calendar::default()), d("2024-11-18"));
    }
}
