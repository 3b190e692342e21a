//! Per-period work after the queries ran: derived KPIs, empty periods, targets and
//! statuses, comparisons. Pure functions over result rows (no IO, no DataFusion), so the
//! rules that decide a KPI's status live in one place and are easy to test.

use std::collections::HashMap;

use chrono::NaiveDate;
use indexmap::IndexMap;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::model::*;
use crate::results::ResultRow;

mod compare;
pub use compare::change;
mod derive;
mod fill;
mod judge;
pub use judge::verdict_status;

/// At most this many periods per KPI (a day grain over ~100 years), and filled rows (periods
/// x groups): beyond, a KPI is an error naming it, never a silently cut series.
pub const MAX_PERIODS: i64 = 40_000;
pub const MAX_FILLED_ROWS: i64 = 5_000_000;

/// Turn the queries' rows into each KPI's final rows, in model order, with the warnings
/// about values that could not be worked out (a relative change against 0).
pub fn finish(
    model: &Model,
    mut queried: IndexMap<String, Vec<ResultRow>>,
    data_ends: &IndexMap<String, String>,
    time_ends: &IndexMap<String, String>,
    as_of: Option<NaiveDate>,
) -> Result<(IndexMap<String, Vec<ResultRow>>, Vec<Diagnostic>), Diagnostics> {
    let mut errors = vec![];
    let mut warnings = vec![];
    let mut done: HashMap<String, Vec<ResultRow>> = HashMap::new();
    for kpi in dependency_order(model) {
        let (rows, mut zero_bases) = match &kpi.derived {
            None => (queried.shift_remove(&kpi.id).unwrap_or_default(), vec![]),
            Some(expr) => derive::derive(expr, kpi.grain, &done),
        };
        let data_end = data_ends.get(&kpi.id).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        let mut rows = match fill::fill(kpi, rows, data_end, as_of, &model.calendar) {
            Ok(rows) => rows,
            Err(e) => {
                errors.push(e);
                vec![]
            }
        };
        // A derived KPI's rows are provisional as the values they read (see `derive`).
        if kpi.derived.is_none() {
            let time_end = time_ends.get(&kpi.id).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            let source_lag = kpi.source.as_ref().and_then(|s| model.sources.get(s)).map(|s| s.complete_after);
            let lag = kpi.complete_after.or(source_lag).unwrap_or_default();
            fill::mark_provisional(kpi, &mut rows, lag, time_end, as_of);
        }
        if kpi.window == Some(Window::Cumulative) {
            fill::accumulate(&mut rows);
        }
        if let Some((kind, lag)) = kpi.change {
            (rows, zero_bases) = derive::own_change(kpi, kind, lag, rows);
        }
        if let Some(w) = zero_base_warning(kpi, &zero_bases) {
            warnings.push(w);
        }
        let values = judge::values_of(&rows);
        judge::judge(kpi, &mut rows, &values, &model.calendar);
        compare::compare(kpi, &mut rows, &values);
        done.insert(kpi.id.clone(), rows);
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    Ok((model.kpis.iter().map(|k| (k.id.clone(), done.remove(&k.id).unwrap_or_default())).collect(), warnings))
}

/// YS0910: the periods where a relative change has no value because the earlier value is 0
/// (a change "from nothing" has no percentage; it is never shown as 0 or infinity).
fn zero_base_warning(kpi: &CheckedKpi, zero_bases: &[(Option<String>, Groups)]) -> Option<Diagnostic> {
    const SHOWN: usize = 5;
    if zero_bases.is_empty() {
        return None;
    }
    let place = |(period, groups): &(Option<String>, Groups)| {
        let period = period.clone().unwrap_or_default();
        if groups.is_empty() {
            period
        } else {
            let names: Vec<String> = groups.iter().map(|(_, v)| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect();
            format!("{period} ({})", names.join(", "))
        }
    };
    let mut list: Vec<String> = zero_bases.iter().take(SHOWN).map(place).collect();
    if zero_bases.len() > SHOWN {
        list.push(format!("and {} more", zero_bases.len() - SHOWN));
    }
    let n = zero_bases.len();
    Some(
        Diagnostic::warning(
            "YS0910",
            format!(
                "KPI `{}`: the relative change has no value in {n} period{}, because the earlier value is 0: {}",
                kpi.id,
                if n == 1 { "" } else { "s" },
                list.join(", ")
            ),
        )
        .at(kpi.id_span, "change against 0")
        .help("a change from 0 has no percentage: these periods show no value (`no_data`); for a change in the value's own unit use `change(...)` instead of `relative_change(...)`")
        .about_kpi(&kpi.id),
    )
}

/// Every KPI after the KPIs it is derived from: a depth-first walk with its own stack, linear in
/// the number of KPIs and inputs (`check` rules out cycles; one would only be cut, never looped).
/// The model's KPIs with every derived KPI after its inputs.
pub fn dependency_order(model: &Model) -> Vec<&CheckedKpi> {
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

/// A row's group values, by `by` column.
type Groups = Vec<(String, serde_json::Value)>;

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
    ResultRow::new(period, groups, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Calendar;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
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
