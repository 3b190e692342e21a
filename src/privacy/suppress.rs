//! Small-cell suppression and rounding of a public build's rows (docs/privacy.md), after
//! `series` and before `spc`: what SPC, results.json and the report read is what may be
//! published.

use std::collections::HashMap;

use chrono::NaiveDate;
use indexmap::IndexMap;

use super::complement::{Cell, complement};
use super::counts::{COUNT_SUFFIX, value_is_count};
use crate::model::*;
use crate::results::{Change, ResultRow, Status, round_value};

/// A cell: its period and its group values (as JSON text, in `by` order).
type Key = (Option<String>, String);

fn key(r: &ResultRow) -> Key {
    (r.period.clone(), groups_key(&r.groups))
}

fn groups_key(groups: &[(String, serde_json::Value)]) -> String {
    serde_json::to_string(&groups.iter().map(|(_, v)| v).collect::<Vec<_>>()).unwrap_or_default()
}

/// Suppress small cells and the cells that would give them away, then round counts; the
/// hidden count KPIs' rows are taken out of `rows`. Returns per KPI how many cells were
/// suppressed.
pub fn suppress(model: &Model, rows: &mut IndexMap<String, Vec<ResultRow>>) -> IndexMap<String, usize> {
    let hidden: Vec<String> = rows.keys().filter(|k| k.ends_with(COUNT_SUFFIX)).cloned().collect();
    let mut counts: HashMap<String, HashMap<Key, f64>> = HashMap::new();
    for id in hidden {
        let r = rows.shift_remove(&id).unwrap_or_default();
        let real = id.trim_end_matches(COUNT_SUFFIX).to_string();
        counts.insert(real, r.iter().map(|r| (key(r), r.value.unwrap_or(0.0))).collect());
    }
    let mut suppressed: HashMap<String, HashMap<Key, String>> = HashMap::new();
    for kpi in crate::series::dependency_order(model) {
        let Some(krows) = rows.get(&kpi.id) else { continue };
        let cells: HashMap<Key, String> = match &kpi.derived {
            Some(expr) => derived_cells(kpi, expr, krows, &suppressed),
            None => match kpi.privacy.min_count {
                Some(t) => small_cells(kpi, krows, counts.get(&kpi.id), t),
                None => HashMap::new(),
            },
        };
        suppressed.insert(kpi.id.clone(), cells);
    }
    let mut out = IndexMap::new();
    for kpi in &model.kpis {
        let Some(krows) = rows.get_mut(&kpi.id) else { continue };
        let cells = suppressed.get(&kpi.id).cloned().unwrap_or_default();
        for r in krows.iter_mut() {
            if let Some(why) = cells.get(&key(r)) {
                *r = ResultRow {
                    value: None,
                    target: None,
                    status: Status::Suppressed,
                    comparisons: vec![],
                    suppressed: Some(why.clone()),
                    // The rows a cell counts would give its value away (`rows` in results.json).
                    counted: None,
                    ..r.clone()
                };
            }
            // Rounded counts are published instead of exact ones: so no exact row count either.
            if kpi.privacy.rounding.is_some() {
                r.counted = None;
            }
        }
        scrub_comparisons(kpi, krows, &cells);
        if let Some(base) = kpi.privacy.rounding.filter(|_| value_is_count(kpi)) {
            round_counts(kpi, krows, base as f64);
        }
        if !cells.is_empty() {
            out.insert(kpi.id.clone(), cells.len());
        }
    }
    out
}

/// A KPI's small cells (more than none, fewer than `t` rows) and the cells that would give
/// them away, with the reason for each.
fn small_cells(kpi: &CheckedKpi, rows: &[ResultRow], counts: Option<&HashMap<Key, f64>>, t: u64) -> HashMap<Key, String> {
    let t = t as f64;
    // The rows each cell counts: the hidden count KPI's, or the KPI's own values.
    let own: HashMap<Key, f64>;
    let counts = match counts {
        Some(c) => c,
        None => {
            own = rows.iter().map(|r| (key(r), r.value.unwrap_or(0.0))).collect();
            &own
        }
    };
    let count_of = |k: &Key| counts.get(k).copied().unwrap_or(0.0);
    let lag_keys = |r: &ResultRow| -> Vec<Key> {
        let (Some((_, lag)), Some(grain), Some(p)) = (kpi.change, kpi.grain, parse_period(&r.period)) else { return vec![] };
        lag.period_before(grain, p).map(|b| vec![(Some(b.to_string()), groups_key(&r.groups))]).unwrap_or_default()
    };
    let mut out = HashMap::new();
    let small = |n: f64| n > 0.0 && n < t;
    // Per period: the table of its cells.
    let mut periods: IndexMap<Option<String>, Vec<(usize, Cell)>> = IndexMap::new();
    for (i, r) in rows.iter().enumerate() {
        let k = key(r);
        // A change against an earlier period reads both periods' cells.
        let n = std::iter::once(count_of(&k)).chain(lag_keys(r).iter().map(count_of)).fold(f64::INFINITY, f64::min);
        let n = if n.is_finite() { n } else { 0.0 };
        if small(n) && r.value.is_some() {
            out.insert(k, format!("fewer than {t} rows"));
        }
        let groups = r.groups.iter().map(|(_, v)| v.to_string()).collect();
        periods.entry(r.period.clone()).or_default().push((i, Cell { groups, count: n, has_value: r.value.is_some() }));
    }
    if kpi.by.is_empty() {
        return out;
    }
    for cells in periods.values() {
        let mut marks: Vec<bool> = cells.iter().map(|(i, _)| out.contains_key(&key(&rows[*i]))).collect();
        let table: Vec<Cell> = cells.iter().map(|(_, c)| c.clone()).collect();
        for j in complement(&table, &mut marks, t) {
            out.insert(
                key(&rows[cells[j].0]),
                "suppressed too, so that a small cell cannot be worked out from the total and the other cells".to_string(),
            );
        }
    }
    out
}

/// A derived KPI's cells that read a suppressed cell of an input (the same period and
/// groups, or the earlier period of a change).
fn derived_cells(
    kpi: &CheckedKpi,
    expr: &DerivedExpr,
    rows: &[ResultRow],
    suppressed: &HashMap<String, HashMap<Key, String>>,
) -> HashMap<Key, String> {
    let mut inputs = vec![];
    expr.inputs(&mut inputs);
    let lags = kpi.change_lags();
    let mut out = HashMap::new();
    for r in rows {
        let k = key(r);
        let mut keys = vec![k.clone()];
        if let (Some(grain), Some(p)) = (kpi.grain, parse_period(&r.period)) {
            keys.extend(lags.iter().filter_map(|l| l.period_before(grain, p)).map(|b| (Some(b.to_string()), k.1.clone())));
        }
        if let Some(input) = inputs.iter().find(|i| suppressed.get(*i).is_some_and(|s| keys.iter().any(|k| s.contains_key(k)))) {
            out.insert(k, format!("computed from a suppressed value of `{input}`"));
        }
    }
    out
}

/// A comparison with a suppressed cell would give it away: it is emptied.
fn scrub_comparisons(kpi: &CheckedKpi, rows: &mut [ResultRow], cells: &HashMap<Key, String>) {
    if cells.is_empty() {
        return;
    }
    let Some(grain) = kpi.grain else { return };
    for r in rows.iter_mut() {
        let Some(p) = parse_period(&r.period) else { continue };
        let g = groups_key(&r.groups);
        for (name, change) in r.comparisons.iter_mut() {
            let Some(c) = Comparison::ALL.iter().find(|(n, _)| *n == *name).map(|(_, c)| *c) else { continue };
            let other = match c.lag() {
                Some(lag) => lag.period_before(grain, p),
                None => kpi.baseline.as_ref().filter(|b| b.value.is_none()).map(|b| b.period),
            };
            if other.is_some_and(|o| cells.contains_key(&(Some(o.to_string()), g.clone()))) {
                *change = Change { value: None, change: None, relative_change: None, improved: None };
            }
        }
    }
}

/// Counts published as the nearest multiple of `base`; statuses and comparisons follow the
/// rounded values (a comparison reads the other period's rounded value).
fn round_counts(kpi: &CheckedKpi, rows: &mut [ResultRow], base: f64) {
    let round = |v: f64| round_value((v / base).round() * base);
    let exact: HashMap<Key, f64> = rows.iter().filter_map(|r| Some((key(r), r.value?))).collect();
    for r in rows.iter_mut() {
        let Some(v) = r.value else { continue };
        let v = round(v);
        r.value = Some(v);
        if let (Some(t), Some(threshold)) = (kpi.target_at(parse_period(&r.period)), r.target) {
            r.status = crate::series::verdict_status(t.judge(v, threshold));
        }
        let g = groups_key(&r.groups);
        let p = parse_period(&r.period);
        for (name, change) in r.comparisons.iter_mut() {
            let Some(c) = Comparison::ALL.iter().find(|(n, _)| *n == *name).map(|(_, c)| *c) else { continue };
            let other = match (c.lag(), kpi.grain, p) {
                (Some(lag), Some(grain), Some(p)) => {
                    lag.period_before(grain, p).and_then(|o| exact.get(&(Some(o.to_string()), g.clone()))).copied()
                }
                (None, ..) => match kpi.baseline.as_ref() {
                    Some(b) if b.value.is_none() => exact.get(&(Some(b.period.to_string()), g.clone())).copied(),
                    Some(b) => b.value,
                    None => None,
                },
                _ => None,
            };
            if change.value.is_some() {
                *change = crate::series::change(Some(v), other.map(round), kpi.direction);
            }
        }
    }
}

fn parse_period(p: &Option<String>) -> Option<NaiveDate> {
    p.as_deref().and_then(|p| NaiveDate::parse_from_str(p, "%Y-%m-%d").ok())
}
