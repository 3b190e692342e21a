//! The breakdown of a KPI with `by`: a bar chart of the headline period, worst group first,
//! and small multiples (one small trend chart per group, up to [`MULTIPLES`], on one shared
//! scale). Layout rules as in [`super::svg`]: text is measured and never leaves the drawing.

use super::axis::{nice_ticks, tick_label};
use super::svg::{ASCENT, EDGE, FONT_SIZE, points, polyline, series_of, text, text_width, title_desc};
use super::{format_value, headline_period, html_escape};
use crate::config::HeadlinePeriod;
use crate::model::Direction;
use crate::results::{KpiResult, PeriodCalendar, ResultRow};

/// Groups drawn as bars (the rest are in the table below).
pub const BARS: usize = 30;
/// Groups drawn as small multiples.
pub const MULTIPLES: usize = 12;
const WIDTH: f64 = 640.0;
const BAR: f64 = 16.0;
const ROW: f64 = 22.0;
const GAP: f64 = 6.0;

/// How bad a group's value is, larger worse: the signed distance to the threshold (positive
/// when it misses), else by the direction (lower is worse for `increasing`), else the value.
fn badness(k: &KpiResult, r: &ResultRow) -> f64 {
    let Some(v) = r.value else { return f64::NEG_INFINITY };
    if let Some(t) = &k.target {
        match (t.comparator.as_str(), r.target, t.low, t.high) {
            (">=" | ">", Some(th), _, _) => return th - v,
            ("<=" | "<", Some(th), _, _) => return v - th,
            ("between", _, Some(l), Some(h)) => return (l - v).max(v - h),
            _ => {}
        }
    }
    match k.direction {
        Some(Direction::Increasing) => -v,
        _ => v,
    }
}

/// The headline period's rows with a value, worst first (ties in the rows' order).
pub fn worst_first(k: &KpiResult, mode: HeadlinePeriod) -> Vec<&ResultRow> {
    let Some(period) = headline_period(k, mode) else { return vec![] };
    let mut rows: Vec<&ResultRow> = k.rows.iter().filter(|r| r.period == period && r.value.is_some()).collect();
    rows.sort_by(|a, b| badness(k, b).partial_cmp(&badness(k, a)).unwrap_or(std::cmp::Ordering::Equal));
    rows
}

fn group_name(r: &ResultRow) -> String {
    let l = crate::spc::group_label(&r.groups);
    if l.is_empty() { "(none)".to_string() } else { l }
}

/// `text` shortened with an ellipsis to `width` (group names only: the table has them whole).
fn fit(text: &str, width: f64) -> String {
    if text_width(text, FONT_SIZE) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if text_width(&format!("{out}{c}…"), FONT_SIZE) > width {
            break;
        }
        out.push(c);
    }
    format!("{out}…")
}

/// The sorted bar chart of the headline period (empty for a KPI without `by` or values).
pub fn bars_svg(k: &KpiResult, mode: HeadlinePeriod, cal: &PeriodCalendar) -> String {
    if k.by.is_empty() {
        return String::new();
    }
    let all = worst_first(k, mode);
    if all.is_empty() {
        return String::new();
    }
    let rows = &all[..all.len().min(BARS)];
    let threshold = rows.iter().find_map(|r| r.target);
    let mut values: Vec<f64> = rows.iter().filter_map(|r| r.value).collect();
    values.extend(threshold);
    if values.iter().all(|v| *v >= 0.0) {
        values.push(0.0);
    }
    let Some(t) = nice_ticks(&values, &k.unit) else { return String::new() };
    // With a unit too long for the margin, the numbers alone (the unit is in the table).
    let full = |r: &ResultRow| format!("{} {}", format_value(r.value, &k.unit), super::scorecard::status_icon(r.status.name()));
    let short = rows.iter().any(|r| text_width(&full(r), FONT_SIZE) > WIDTH * 0.3);
    let value_label = |r: &ResultRow| {
        if short {
            format!("{} {}", super::value_parts(r.value.unwrap_or(0.0), &k.unit).0, super::scorecard::status_icon(r.status.name()))
        } else {
            full(r)
        }
    };
    let names: Vec<String> = rows.iter().map(|r| group_name(r)).collect();
    let label_w = names.iter().map(|n| text_width(n, FONT_SIZE)).fold(0.0, f64::max).min(WIDTH * 0.35);
    let left = (EDGE + label_w + GAP).ceil();
    let right = (rows.iter().map(|r| text_width(&value_label(r), FONT_SIZE)).fold(0.0, f64::max) + GAP + EDGE).ceil();
    let tick_labels: Vec<String> = t.values.iter().map(|v| tick_label(*v, t.step, &k.unit)).collect();
    // The end ticks are centred on the plot's ends: room for half of each.
    let half_first = text_width(&tick_labels[0], FONT_SIZE) / 2.0;
    let half_last = text_width(&tick_labels[tick_labels.len() - 1], FONT_SIZE) / 2.0;
    let left = left.max(EDGE + half_first);
    let right = right.max(EDGE + half_last);
    let target_line = threshold.map(|v| format!("target {}", super::scorecard::target_text(k, Some(v)).unwrap_or_default()));
    let top = if target_line.is_some() { EDGE + FONT_SIZE * 1.25 + 4.0 } else { EDGE + 2.0 };
    let plot_h = ROW * rows.len() as f64;
    let h = top + plot_h + 6.0 + FONT_SIZE * 1.3 + EDGE;
    let (lo, hi) = (t.lo, t.hi);
    let x = |v: f64| left + (WIDTH - left - right) * (v - lo) / (hi - lo);
    let period = headline_period(k, mode).flatten();
    let period_name = super::periods::label(period.as_deref(), k.grain.as_deref(), cal);
    let mut svg = format!(
        "<svg class=\"chart bars\" viewBox=\"0 0 {WIDTH} {h:.1}\" role=\"img\" aria-label=\"{} by {}, {}, worst first\" xmlns=\"http://www.w3.org/2000/svg\">",
        html_escape(&k.title),
        html_escape(&k.by.join(", ")),
        html_escape(&period_name)
    );
    let worst = rows.first().map(|r| format!("{} ({})", group_name(r), format_value(r.value, &k.unit))).unwrap_or_default();
    title_desc(
        &mut svg,
        &format!("{} by {}, {period_name}, worst first", k.title, k.by.join(", ")),
        &format!("{} groups; the worst is {worst}. Every value is in the table below.", all.len()),
    );
    for (v, l) in t.values.iter().zip(&tick_labels) {
        svg.push_str(&format!("<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" class=\"grid\"/>", x(*v), top, top + plot_h));
        text(&mut svg, x(*v), top + plot_h + 4.0 + ASCENT * FONT_SIZE, "middle", "axis", l);
    }
    if let (Some(v), Some(label)) = (threshold, target_line) {
        svg.push_str(&format!(
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" class=\"target\"/>",
            x(v),
            top - 2.0,
            top + plot_h
        ));
        let w = text_width(&label, FONT_SIZE);
        let cx = x(v).max(EDGE + w / 2.0).min(WIDTH - EDGE - w / 2.0);
        text(&mut svg, cx, top - 4.0, "middle", "axis target-label", &label);
    }
    let zero = x(0.0_f64.clamp(lo, hi));
    for (i, r) in rows.iter().enumerate() {
        let v = r.value.unwrap_or(0.0);
        let y0 = top + ROW * i as f64 + (ROW - BAR) / 2.0;
        let (a, b) = if x(v) >= zero { (zero, x(v)) } else { (x(v), zero) };
        svg.push_str(&format!(
            "<rect x=\"{a:.1}\" y=\"{y0:.1}\" width=\"{:.1}\" height=\"{BAR}\" class=\"bar {}\"><title>{}: {}</title></rect>",
            (b - a).max(1.0),
            r.status.name(),
            html_escape(&names[i]),
            html_escape(&format_value(r.value, &k.unit))
        ));
        let baseline = y0 + BAR / 2.0 + 4.0;
        text(&mut svg, left - GAP, baseline, "end", "axis", &fit(&names[i], label_w));
        text(&mut svg, b.max(zero) + 4.0, baseline, "start", "axis bar-label", &value_label(r));
    }
    svg.push_str("</svg>");
    if all.len() > rows.len() {
        svg.push_str(&format!("<p class=\"legend\">and {} more groups in the table</p>", all.len() - rows.len()));
    }
    svg
}

/// Small multiples: one small trend chart per group (the worst [`MULTIPLES`] first), all on
/// one scale, each with its latest value. Returns (group name, svg) pairs.
pub fn multiples(k: &KpiResult, mode: HeadlinePeriod, cal: &PeriodCalendar) -> Vec<(String, String)> {
    if k.by.is_empty() {
        return vec![];
    }
    let (periods, series) = series_of(k);
    if periods.len() < 2 {
        return vec![];
    }
    let order: Vec<String> = worst_first(k, mode).iter().map(|r| crate::spc::group_label(&r.groups)).collect();
    let mut chosen: Vec<&(String, Vec<Option<f64>>)> =
        order.iter().filter_map(|name| series.iter().find(|(n, _)| n == name)).take(MULTIPLES).collect();
    // Groups without a value in the headline period come after, in the rows' order.
    for s in &series {
        if chosen.len() >= MULTIPLES {
            break;
        }
        if !chosen.iter().any(|c| c.0 == s.0) {
            chosen.push(s);
        }
    }
    let targets: Vec<Option<f64>> = periods
        .iter()
        .map(|p| k.rows.iter().find(|r| r.period.as_deref() == Some(*p) && r.target.is_some()).and_then(|r| r.target))
        .collect();
    let mut values: Vec<f64> = chosen.iter().flat_map(|(_, v)| v.iter().flatten().copied()).collect();
    values.extend(targets.iter().flatten());
    let Some(t) = nice_ticks(&values, &k.unit) else { return vec![] };
    let (w, h) = (240.0, 110.0);
    let (mut lo_label, mut hi_label) = (tick_label(t.lo, t.step, &k.unit), tick_label(t.hi, t.step, &k.unit));
    if text_width(&lo_label, FONT_SIZE).max(text_width(&hi_label, FONT_SIZE)) > w * 0.35 {
        // A long unit: the numbers alone (the unit is in the bar chart's table).
        let suffix = super::value_parts(t.lo, &k.unit).1;
        lo_label = lo_label.strip_suffix(suffix.as_str()).unwrap_or(&lo_label).to_string();
        hi_label = hi_label.strip_suffix(suffix.as_str()).unwrap_or(&hi_label).to_string();
    }
    let left = (EDGE + text_width(&lo_label, FONT_SIZE).max(text_width(&hi_label, FONT_SIZE)) + 4.0).ceil();
    let (top, bottom, right) = (ASCENT * FONT_SIZE + EDGE + 4.0, FONT_SIZE * 1.3 + 6.0, 6.0);
    let x = |i: usize| left + (w - left - right) * i as f64 / (periods.len() - 1) as f64;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - (v - t.lo) / (t.hi - t.lo));
    let grain = k.grain.as_deref();
    let first = super::periods::axis_label(periods[0], grain, cal);
    let last = super::periods::axis_label(periods[periods.len() - 1], grain, cal);
    chosen
        .iter()
        .map(|(name, vals)| {
            let shown = if name.is_empty() { "(none)".to_string() } else { name.clone() };
            let latest = vals.iter().enumerate().rev().find_map(|(i, v)| v.map(|v| (i, v)));
            let mut svg = format!(
                "<svg class=\"chart multiple\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}, {}\" xmlns=\"http://www.w3.org/2000/svg\">",
                html_escape(&k.title),
                html_escape(&shown)
            );
            let latest_words = latest
                .map(|(i, v)| format!(" Latest: {} in {}.", format_value(Some(v), &k.unit), super::periods::label(Some(periods[i]), grain, cal)))
                .unwrap_or_default();
            title_desc(&mut svg, &format!("{}, {shown}", k.title), &format!("From {first} to {last}.{latest_words}"));
            for (v, l) in [(t.lo, &lo_label), (t.hi, &hi_label)] {
                svg.push_str(&format!("<line x1=\"{left:.1}\" x2=\"{:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\" class=\"grid\"/>", w - right, y(v)));
                text(&mut svg, left - 3.0, y(v) + 4.0, "end", "axis", l);
            }
            let d = polyline(&targets, &x, &y);
            if !d.is_empty() {
                svg.push_str(&format!("<path d=\"{d}\" fill=\"none\" class=\"target\"/>"));
            }
            svg.push_str(&format!("<path d=\"{}\" fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\"/>", polyline(vals, &x, &y)));
            points(&mut svg, vals, &x, &y, "#1f5fa8");
            let base = h - EDGE - 2.0;
            text(&mut svg, left, base, "start", "axis", &first);
            text(&mut svg, w - right, base, "end", "axis", &last);
            if let Some((_, v)) = latest {
                let label = format_value(Some(v), &k.unit);
                if text_width(&label, FONT_SIZE) <= w - right - EDGE {
                    text(&mut svg, w - right, EDGE + ASCENT * FONT_SIZE, "end", "axis value-label", &label);
                }
            }
            svg.push_str("</svg>");
            (shown, svg)
        })
        .collect()
}
