//! Empty periods, provisional periods, running totals.

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate};

use super::{Key, MAX_FILLED_ROWS, MAX_PERIODS, groups_key, key, parse_period, row};
use crate::config::{Calendar, CompleteAfter};
use crate::model::*;
use crate::results::{ResultRow, round_value, sort_rows};

/// Every period from the first to the last, for every group seen: periods without rows
/// appear with no value (status no_data) instead of being missing.
///
/// The first period is the scope's start, else the first with data; the last is the
/// scope's end or `--as-of` (the earlier), else the last with data (for windowed KPIs the
/// last a row came from: their windows trail off after it, and those rows are dropped).
pub(super) fn fill(
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
pub(super) fn mark_provisional(
    kpi: &CheckedKpi,
    rows: &mut [ResultRow],
    lag: CompleteAfter,
    time_end: Option<NaiveDate>,
    as_of: Option<NaiveDate>,
) {
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

/// Running totals per group over the filled periods (rows are sorted by period): a period
/// with no rows adds nothing and keeps the total; before the first value there is none.
pub(super) fn accumulate(rows: &mut [ResultRow]) {
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
