//! Hotspots (CityStat): for a KPI with `by`, the groups that contribute most to the gap
//! from target in the headline period, and across KPIs the worst few; the heat table of a
//! KPI with two `by` columns. docs/report.md "Hotspots" states the arithmetic:
//!
//! - a group's **gap** is how far its value is on the wrong side of the threshold in force
//!   (`>=`/`>`: threshold - value; `<=`/`<`: value - threshold; a band: the distance to its
//!   nearer end), for groups off track or near target;
//! - its **contribution** is the gap times its volume (the rows it counted: for a share the
//!   denominator, so 0.10 below 90% over 200 calls is 20 calls short), except for counts and
//!   sums, whose gap is already a volume, and when the volume is unknown (derived and
//!   windowed KPIs, and in a public build a KPI whose counts are rounded, which publishes
//!   no group's rows: `KpiResult::volume_withheld`, said beside its hotspots): then the gap
//!   alone;
//! - across KPIs, whose units differ, groups are ranked by **severity**: the gap relative to
//!   the threshold (to the largest value when the threshold is 0) times the group's share of
//!   the KPI's volume in that period (an equal share per group when there is no volume).

use minijinja::{Value, context};

use super::{format_value, headline_period};
use crate::config::HeadlinePeriod;
use crate::results::{KpiResult, PeriodCalendar, ResultRow, Results, Status};

/// How many hotspots the report's top section lists.
pub const TOP: usize = 5;

#[derive(Debug, Clone, PartialEq)]
pub struct Hotspot {
    /// Index of the row in the KPI's rows.
    pub row: usize,
    pub gap: f64,
    pub contribution: f64,
    /// The contribution over the KPI's total in the period (0..=1).
    pub share: f64,
    pub severity: f64,
}

/// How far `r` is on the wrong side of its KPI's target, if it is off track or near target.
pub fn gap(k: &KpiResult, r: &ResultRow) -> Option<f64> {
    if !matches!(r.status, Status::OffTrack | Status::NearTarget) {
        return None;
    }
    let v = r.value?;
    let t = k.target.as_ref()?;
    let g = match t.comparator.as_str() {
        ">=" | ">" => r.target? - v,
        "<=" | "<" => v - r.target?,
        _ => {
            let (l, h) = (t.low?, t.high?);
            if v < l { l - v } else { v - h }
        }
    };
    Some(g.max(0.0))
}

/// A KPI's hotspots in its headline period, the largest contribution first (ties in the
/// rows' order). Empty for a KPI without `by` or without a target.
pub fn kpi_hotspots(k: &KpiResult, mode: HeadlinePeriod) -> Vec<Hotspot> {
    if k.by.is_empty() || k.target.is_none() {
        return vec![];
    }
    let Some(period) = headline_period(k, mode) else { return vec![] };
    let in_period: Vec<(usize, &ResultRow)> = k.rows.iter().enumerate().filter(|(_, r)| r.period == period).collect();
    let judged: Vec<&(usize, &ResultRow)> =
        in_period.iter().filter(|(_, r)| matches!(r.status, Status::OnTrack | Status::NearTarget | Status::OffTrack)).collect();
    let volume_known = !k.additive && judged.iter().all(|(_, r)| r.counted.is_some());
    let total_volume: f64 = judged.iter().filter_map(|(_, r)| r.counted).sum::<u64>() as f64;
    let scale = |r: &ResultRow| {
        let t = r.target.or(k.target.as_ref().and_then(|t| t.low)).unwrap_or(0.0).abs();
        if t > 0.0 { t } else { judged.iter().filter_map(|(_, r)| r.value).map(f64::abs).fold(0.0, f64::max).max(1e-12) }
    };
    let mut out: Vec<Hotspot> = in_period
        .iter()
        .filter_map(|(i, r)| {
            let g = gap(k, r)?;
            let contribution = if volume_known { g * r.counted.unwrap_or(0) as f64 } else { g };
            let weight = if volume_known && total_volume > 0.0 {
                r.counted.unwrap_or(0) as f64 / total_volume
            } else {
                1.0 / judged.len().max(1) as f64
            };
            Some(Hotspot { row: *i, gap: g, contribution, share: 0.0, severity: g / scale(r) * weight })
        })
        .collect();
    let total: f64 = out.iter().map(|h| h.contribution).sum();
    for h in &mut out {
        h.share = if total > 0.0 { h.contribution / total } else { 0.0 };
    }
    out.sort_by(|a, b| b.contribution.partial_cmp(&a.contribution).unwrap_or(std::cmp::Ordering::Equal));
    out
}

/// The worst [`TOP`] hotspots across KPIs, by severity (ties: KPI order, then contribution):
/// (KPI index, hotspot).
pub fn top(results: &Results) -> Vec<(usize, Hotspot)> {
    let mut all: Vec<(usize, Hotspot)> = results
        .kpis
        .iter()
        .enumerate()
        .flat_map(|(i, k)| kpi_hotspots(k, results.headline_period).into_iter().map(move |h| (i, h)))
        .filter(|(_, h)| h.gap > 0.0)
        .collect();
    all.sort_by(|a, b| b.1.severity.partial_cmp(&a.1.severity).unwrap_or(std::cmp::Ordering::Equal));
    all.truncate(TOP);
    all
}

/// How a gap is written: `4.2 pp below`, `1.3 s above`.
fn gap_text(k: &KpiResult, g: f64) -> String {
    let below = k.target.as_ref().is_some_and(|t| matches!(t.comparator.as_str(), ">=" | ">"));
    let amount = match k.unit.as_str() {
        "percent" | "percentage points" => format!("{} pp", super::trim_number(g * 100.0, 1)),
        _ => format_value(Some(g), &k.unit),
    };
    let side = if k.target.as_ref().is_some_and(|t| t.comparator == "between") {
        "outside the band"
    } else if below {
        "below"
    } else {
        "above"
    };
    format!("{amount} {side}")
}

/// What the template shows of one hotspot.
pub fn view(k: &KpiResult, h: &Hotspot, cal: &PeriodCalendar) -> Value {
    let r = &k.rows[h.row];
    let period = r.period.clone();
    // The group's value one period earlier.
    let before = k.rows[..h.row].iter().rev().find(|p| p.groups == r.groups && p.period != r.period);
    let change = match (r.value, before.and_then(|b| b.value)) {
        (Some(a), Some(b)) => Some(super::format_change(Some(crate::results::round_value(a - b)), &k.unit)),
        _ => None,
    };
    context! {
        kpi => k.id,
        kpi_title => k.title,
        group => crate::spc::group_label(&r.groups),
        value => format_value(r.value, &k.unit),
        target => super::scorecard::target_text(k, r.target),
        status => r.status.name(),
        gap => gap_text(k, h.gap),
        volume => r.counted.map(|n| super::group_thousands(n as f64)),
        volume_withheld => k.volume_withheld,
        share => format!("{}%", super::trim_number(h.share * 100.0, 0)),
        change => change,
        change_from => before.map(|b| super::periods::label(b.period.as_deref(), k.grain.as_deref(), cal)),
        period => super::periods::label(period.as_deref(), k.grain.as_deref(), cal),
        trend => Value::from_safe_string(period.as_deref().map(|p| super::scorecard::group_sparkline(k, &r.groups, p, cal)).unwrap_or_default()),
    }
}

/// The heat table of a KPI with two `by` columns in its headline period: rows the first
/// column's values, columns the second's (in the rows' order), each cell the value with its
/// status as a class, an icon and a word.
pub fn heat_table(k: &KpiResult, mode: HeadlinePeriod, cal: &PeriodCalendar) -> Option<Value> {
    if k.by.len() != 2 {
        return None;
    }
    let period = headline_period(k, mode)?;
    let rows: Vec<&ResultRow> = k.rows.iter().filter(|r| r.period == period).collect();
    let name = |v: &serde_json::Value| if v.is_null() { "(none)".to_string() } else { super::display_json(v) };
    let mut row_keys: Vec<&serde_json::Value> = vec![];
    let mut col_keys: Vec<&serde_json::Value> = vec![];
    for r in &rows {
        if !row_keys.contains(&&r.groups[0].1) {
            row_keys.push(&r.groups[0].1);
        }
        if !col_keys.contains(&&r.groups[1].1) {
            col_keys.push(&r.groups[1].1);
        }
    }
    // Columns in sorted order (rows come sorted by the first column, then the second).
    col_keys.sort_by(|a, b| crate::results::cmp_json(a, b));
    let body: Vec<Value> = row_keys
        .iter()
        .map(|rk| {
            let cells: Vec<Value> = col_keys
                .iter()
                .map(|ck| {
                    let cell = rows.iter().find(|r| &r.groups[0].1 == *rk && &r.groups[1].1 == *ck);
                    let status = cell.map(|c| c.status.name()).unwrap_or("no_data");
                    context! {
                        value => cell.map(|c| format_value(c.value, &k.unit)).unwrap_or_else(|| "–".into()),
                        status => status,
                        icon => super::scorecard::status_icon(status),
                    }
                })
                .collect();
            context! { name => name(rk), cells => cells }
        })
        .collect();
    Some(context! {
        row_by => k.by[0],
        col_by => k.by[1],
        columns => col_keys.iter().map(|c| name(c)).collect::<Vec<_>>(),
        rows => body,
        period => super::periods::label(period.as_deref(), k.grain.as_deref(), cal),
    })
}
