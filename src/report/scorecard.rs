//! The scorecard at a glance: per KPI a sparkline of its recent periods, the latest value,
//! the target with its comparator, the status as colour, icon and word, the change from
//! the period before; grouped by goal and objective, each with a roll-up of how many of its
//! KPIs are on track, near target and off track.

use minijinja::{Value, context};

use super::periods;
use super::svg::polyline;
use crate::config::HeadlinePeriod;
use crate::model::Direction;
use crate::results::{KpiResult, PeriodCalendar, Results, Status};

/// How many periods a sparkline shows, ending with the latest.
pub const SPARK_PERIODS: usize = 12;
const SPARK_W: f64 = 96.0;
const SPARK_H: f64 = 28.0;

/// The icon drawn before a status's word (the word is always there too).
pub fn status_icon(status: &str) -> &'static str {
    match status {
        "on_track" => "✓",
        "near_target" => "!",
        "off_track" => "✗",
        "no_data" => "–",
        _ => "○",
    }
}

/// The target in force with its comparator, in the KPI's unit: `>= 90%`, `<= 12.5 business
/// days`, `between 150 and 260`. `threshold`: the row's threshold (schedules and
/// trajectories move it); `None` without a target.
pub fn target_text(k: &KpiResult, threshold: Option<f64>) -> Option<String> {
    let t = k.target.as_ref()?;
    if t.comparator == "between" {
        let (Some(l), Some(h)) = (t.low, t.high) else { return Some(t.text.clone()) };
        return Some(format!("between {} and {}", super::format_value(Some(l), &k.unit), super::format_value(Some(h), &k.unit)));
    }
    match threshold.or(t.value) {
        Some(v) => Some(format!("{} {}", t.comparator, super::format_value(Some(v), &k.unit))),
        None => Some(t.text.clone()),
    }
}

/// The change from the period before the headline one (KPIs without `by`): the change in
/// the KPI's unit, an arrow and a word, and whether it is better given the direction.
pub fn change(k: &KpiResult, mode: HeadlinePeriod, cal: &PeriodCalendar) -> Option<Value> {
    if !k.by.is_empty() || k.grain.is_none() {
        return None;
    }
    let period = super::headline_period(k, mode).flatten()?;
    let at = k.rows.iter().position(|r| r.period.as_deref() == Some(period.as_str()))?;
    let (now, before) = (k.rows[at].value?, k.rows.get(at.checked_sub(1)?)?);
    let then = before.value?;
    let d = crate::results::round_value(now - then);
    let better = match (k.direction, d.partial_cmp(&0.0)) {
        (_, Some(std::cmp::Ordering::Equal)) | (None, _) => None,
        (Some(Direction::Increasing), Some(o)) => Some(o == std::cmp::Ordering::Greater),
        (Some(Direction::Decreasing), Some(o)) => Some(o == std::cmp::Ordering::Less),
        (_, None) => None,
    };
    let (arrow, word) = if d > 0.0 {
        ("▲", "up")
    } else if d < 0.0 {
        ("▼", "down")
    } else {
        ("=", "no change")
    };
    Some(context! {
        arrow => arrow,
        word => word,
        text => super::format_change(Some(d), &k.unit),
        class => match better { Some(true) => "better", Some(false) => "worse", None => "" },
        verdict => match better { Some(true) => "better", Some(false) => "worse", None => "" },
        from => periods::label(before.period.as_deref(), k.grain.as_deref(), cal),
    })
}

/// A sparkline of a line of values (up to [`SPARK_PERIODS`], the latest last) as inline
/// SVG: the line, the latest point, and the threshold dashed when there is one. Its name
/// says, in words, where the line starts and ends.
pub fn sparkline(values: &[(String, Option<f64>, Option<f64>)], unit: &str, what: &str) -> String {
    let with_value: Vec<(usize, f64)> = values.iter().enumerate().filter_map(|(i, (_, v, _))| v.map(|v| (i, v))).collect();
    if values.len() < 2 || with_value.is_empty() {
        return String::new();
    }
    let mut all: Vec<f64> = with_value.iter().map(|(_, v)| *v).collect();
    all.extend(values.iter().filter_map(|(_, _, t)| *t));
    let (lo, hi) = all.iter().fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    let (lo, hi) = if hi - lo < 1e-12 * hi.abs().max(1.0) { (lo - 1.0, hi + 1.0) } else { (lo, hi) };
    let (pad_x, pad_y) = (3.0, 3.0);
    let x = |i: usize| pad_x + (SPARK_W - 2.0 * pad_x) * i as f64 / (values.len() - 1) as f64;
    let y = |v: f64| pad_y + (SPARK_H - 2.0 * pad_y) * (1.0 - (v - lo) / (hi - lo));
    let (first, last) = (with_value[0], with_value[with_value.len() - 1]);
    let name = format!(
        "{what}: {} in {}, {} in {}",
        super::format_value(Some(first.1), unit),
        values[first.0].0,
        super::format_value(Some(last.1), unit),
        values[last.0].0
    );
    let mut out = format!(
        "<svg class=\"spark\" viewBox=\"0 0 {SPARK_W} {SPARK_H}\" width=\"{SPARK_W}\" height=\"{SPARK_H}\" role=\"img\" aria-label=\"{n}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{n}</title>",
        n = super::html_escape(&name)
    );
    let targets: Vec<Option<f64>> = values.iter().map(|(_, _, t)| *t).collect();
    let t = polyline(&targets, &x, &y);
    if !t.is_empty() {
        out.push_str(&format!("<path d=\"{t}\" fill=\"none\" class=\"spark-target\"/>"));
    }
    let line: Vec<Option<f64>> = values.iter().map(|(_, v, _)| *v).collect();
    out.push_str(&format!("<path d=\"{}\" fill=\"none\" class=\"spark-line\"/>", polyline(&line, &x, &y)));
    // Points without a neighbour would not show as a line.
    for (i, v) in &with_value {
        let alone = (*i == 0 || line[i - 1].is_none()) && line.get(i + 1).is_none_or(|n| n.is_none());
        if alone && *i != last.0 {
            out.push_str(&format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"1.5\" class=\"spark-dot\"/>", x(*i), y(*v)));
        }
    }
    out.push_str(&format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" class=\"spark-last\"/>", x(last.0), y(last.1)));
    out.push_str("</svg>");
    out
}

/// A KPI's sparkline (without `by`): its last periods up to the headline period.
pub fn kpi_sparkline(k: &KpiResult, mode: HeadlinePeriod, cal: &PeriodCalendar) -> String {
    if !k.by.is_empty() || k.grain.is_none() {
        return String::new();
    }
    let Some(Some(period)) = super::headline_period(k, mode) else { return String::new() };
    let upto: Vec<_> = k.rows.iter().filter(|r| r.period.as_deref().is_some_and(|p| p <= period.as_str())).collect();
    let recent = &upto[upto.len().saturating_sub(SPARK_PERIODS)..];
    let values: Vec<(String, Option<f64>, Option<f64>)> =
        recent.iter().map(|r| (periods::label(r.period.as_deref(), k.grain.as_deref(), cal), r.value, r.target)).collect();
    sparkline(&values, &k.unit, &format!("{}, last {} periods", k.title, values.len()))
}

/// How many KPIs (by index into `results.kpis`) are on track, near target, off track, and
/// neither (no data or no target).
fn rollup(results: &Results, kpis: &[usize]) -> Value {
    let (mut on, mut near, mut off, mut other) = (0, 0, 0, 0);
    for i in kpis {
        match super::headline(&results.kpis[*i], results.headline_period).map(|(_, s)| s).unwrap_or(Status::NoData) {
            Status::OnTrack => on += 1,
            Status::NearTarget => near += 1,
            Status::OffTrack => off += 1,
            Status::NoData | Status::NoTarget | Status::Suppressed => other += 1,
        }
    }
    context! { on_track => on, near_target => near, off_track => off, other => other, total => kpis.len() }
}

/// The scorecard's groups: per goal (in order) its KPIs directly under it and its
/// objectives with theirs, each as indexes into the report's KPI views, with roll-ups.
pub fn groups(results: &Results) -> Vec<Value> {
    results
        .goals
        .iter()
        .map(|g| {
            let direct: Vec<usize> =
                results.kpis.iter().enumerate().filter(|(_, k)| k.goal == g.id && k.objective.is_none()).map(|(i, _)| i).collect();
            let objectives: Vec<Value> = g
                .objectives
                .iter()
                .map(|o| {
                    let ks: Vec<usize> = results
                        .kpis
                        .iter()
                        .enumerate()
                        .filter(|(_, k)| k.objective.as_deref() == Some(o.id.as_str()))
                        .map(|(i, _)| i)
                        .collect();
                    context! { id => o.id, title => o.title, owner => o.owner, rollup => rollup(results, &ks), kpis => ks }
                })
                .collect();
            let all: Vec<usize> = results.kpis.iter().enumerate().filter(|(_, k)| k.goal == g.id).map(|(i, _)| i).collect();
            context! { id => g.id, title => g.title, owner => g.owner, rollup => rollup(results, &all), kpis => direct, objectives => objectives }
        })
        .collect()
}

/// The sparkline of one group of a KPI with `by` (the hotspot list's trend).
pub fn group_sparkline(k: &KpiResult, group: &[(String, serde_json::Value)], upto: &str, cal: &PeriodCalendar) -> String {
    let rows: Vec<_> = k.rows.iter().filter(|r| r.groups == group && r.period.as_deref().is_some_and(|p| p <= upto)).collect();
    let recent = &rows[rows.len().saturating_sub(SPARK_PERIODS)..];
    let values: Vec<(String, Option<f64>, Option<f64>)> =
        recent.iter().map(|r| (periods::label(r.period.as_deref(), k.grain.as_deref(), cal), r.value, r.target)).collect();
    let label = crate::spc::group_label(group);
    sparkline(&values, &k.unit, &format!("{}, {}, last {} periods", k.title, label, values.len()))
}
