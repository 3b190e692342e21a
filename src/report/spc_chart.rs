//! The XmR chart of a KPI's group (points coloured by type, mean and process limits per
//! rebase segment, the target, benchmarks, events), the Making Data Count icons as inline SVG
//! beside their words, and the one-sentence summary. Layout rules as in [`super::svg`].

use super::svg::{ASCENT, Axis, BOTTOM, FONT_SIZE, RIGHT, TOP, WIDTH, polyline, target_label, text, time_axis, title_desc};
use crate::report::{format_value, html_escape};
use crate::results::KpiResult;
use crate::results::PeriodCalendar;
use crate::spc::{Assurance, PointType, Rule, Side, SpcGroup, group_label};

const HEIGHT: f64 = 220.0;
/// Colours of point types (NHSRplotthedots `ptd_spc_colours`, the MDC palette).
pub const COMMON: &str = "#a6a6a6";
pub const IMPROVEMENT: &str = "#00b0f0";
pub const CONCERN: &str = "#e46c0a";
pub const NEUTRAL: &str = "#490092";
/// Benchmark lines, in order (up to four are drawn).
const BENCH: [&str; 4] = ["#2e8540", "#7a3e9d", "#b8860b", "#008b8b"];

pub fn colour(t: PointType) -> &'static str {
    match t {
        PointType::CommonCause => COMMON,
        PointType::SpecialCauseImprovement => IMPROVEMENT,
        PointType::SpecialCauseConcern => CONCERN,
        PointType::SpecialCauseNeutralHigh | PointType::SpecialCauseNeutralLow => NEUTRAL,
    }
}

/// The words for a variation icon.
pub fn variation_words(icon: &str) -> &'static str {
    match icon {
        "improvement_high" => "Special cause improvement (high)",
        "improvement_low" => "Special cause improvement (low)",
        "concern_high" => "Special cause concern (high)",
        "concern_low" => "Special cause concern (low)",
        "neutral_high" => "Special cause variation (high)",
        "neutral_low" => "Special cause variation (low)",
        _ => "Common cause variation",
    }
}

pub fn assurance_words(a: Assurance) -> &'static str {
    match a {
        Assurance::ConsistentPass => "Consistently passes the target",
        Assurance::ConsistentFail => "Consistently fails the target",
        Assurance::Inconsistent => "Hit and miss the target",
    }
}

/// A small round icon with a letter, and its words beside it: never colour alone.
fn icon(fill: &str, letter: &str, words: &str) -> String {
    format!(
        "<span class=\"spc-icon\"><svg class=\"badge-icon\" viewBox=\"0 0 24 24\" width=\"22\" height=\"22\" role=\"img\" aria-label=\"{w}\" xmlns=\"http://www.w3.org/2000/svg\"><circle cx=\"12\" cy=\"12\" r=\"11\" fill=\"{fill}\"/><text x=\"12.0\" y=\"16.0\" class=\"icon-letter\" text-anchor=\"middle\">{letter}</text></svg>{w}</span>",
        w = html_escape(words)
    )
}

/// The variation icon: common cause grey, improvement blue, concern orange, neutral purple;
/// H or L for a high or low signal.
pub fn variation_icon(name: &str) -> String {
    let fill = match name.split('_').next() {
        Some("improvement") => IMPROVEMENT,
        Some("concern") => CONCERN,
        Some("neutral") => NEUTRAL,
        _ => COMMON,
    };
    let letter = if name.ends_with("_high") {
        "H"
    } else if name.ends_with("_low") {
        "L"
    } else {
        "~"
    };
    icon(fill, letter, variation_words(name))
}

/// The assurance icon: P (passes) blue, F (fails) orange, ? (hit and miss) grey.
pub fn assurance_icon(a: Assurance) -> String {
    let (fill, letter) = match a {
        Assurance::ConsistentPass => (IMPROVEMENT, "P"),
        Assurance::ConsistentFail => (CONCERN, "F"),
        Assurance::Inconsistent => (COMMON, "?"),
    };
    icon(fill, letter, assurance_words(a))
}

/// How a period is named in a sentence: `March 2025`, else as [`super::periods::label`].
pub fn period_name(period: &str, grain: Option<&str>, cal: &PeriodCalendar) -> String {
    match (grain, chrono::NaiveDate::parse_from_str(period, "%Y-%m-%d")) {
        (Some("month"), Ok(d)) => d.format("%B %Y").to_string(),
        _ => super::periods::label(Some(period), grain, cal),
    }
}

/// One sentence on what the chart says now: the latest point's signal (or none) and what the
/// process means for the target.
pub fn summary(k: &KpiResult, g: &SpcGroup, cal: &PeriodCalendar) -> String {
    let grain = k.grain.as_deref();
    let Some(last) = g.points.last() else { return "No values to chart yet.".to_string() };
    let heading = match last.point_type {
        PointType::CommonCause => "Common cause variation",
        PointType::SpecialCauseImprovement => "Special cause of improvement",
        PointType::SpecialCauseConcern => "Special cause of concern",
        _ => "Special cause variation",
    };
    // The run of points with the latest one's signal, and where it starts.
    let run: Vec<_> = g.points.iter().rev().take_while(|p| p.rule == last.rule && p.side == last.side).collect();
    let since = run.last().map(|p| period_name(&p.period, grain, cal)).unwrap_or_default();
    let seg = g.segments.get(last.segment);
    let v = |x: Option<f64>| format_value(x, &k.unit);
    let high = last.side == Some(Side::High);
    let detail = match last.rule {
        Some(Rule::OutsideLimits) => format!(
            "the latest value ({}, {}) is {} process limit",
            v(Some(last.value)),
            period_name(&last.period, grain, cal),
            if high { "above the upper" } else { "below the lower" }
        ),
        Some(Rule::Trend) => format!("{} points in a row {} since {since}", run.len(), if high { "rising" } else { "falling" }),
        Some(Rule::TwoOfThree) => {
            format!("2 of the last 3 points are close to the {} process limit", if high { "upper" } else { "lower" })
        }
        Some(Rule::Shift) => format!("{} points {} the mean since {since}", run.len(), if high { "above" } else { "below" }),
        None => match seg.and_then(|s| Some((s.lpl?, s.upl?))) {
            Some((lo, hi)) => format!("the latest value is within the expected range of {} to {}", v(Some(lo)), v(Some(hi))),
            None => "the values do not vary, so there are no limits yet".to_string(),
        },
    };
    let mut sentence = format!("{heading}: {detail}");
    if let (Some(a), Some(t)) = (g.assurance, &k.target) {
        sentence.push_str(&match a {
            Assurance::ConsistentPass => format!("; the process as it is meets the target ({}) every time", t.text),
            Assurance::ConsistentFail => format!("; the target ({}) will not be met unless the process changes", t.text),
            Assurance::Inconsistent => format!("; the target ({}) will be hit and missed by chance", t.text),
        });
    }
    if seg.is_some_and(|s| s.trial_limits) {
        sentence.push_str(" (trial limits: fewer than 13 points)");
    }
    sentence.push('.');
    sentence
}

/// The XmR chart of one group as an inline SVG, and the numbered events drawn on it.
pub fn xmr_svg(k: &KpiResult, g: &SpcGroup, cal: &PeriodCalendar) -> String {
    let label = group_label(&g.group.iter().map(|(a, b)| (a.clone(), b.clone())).collect::<Vec<_>>());
    // Periods along the axis: every row of the group (gaps and provisional periods too).
    let rows: Vec<&crate::results::ResultRow> =
        k.rows.iter().filter(|r| group_label(&r.groups) == label && g.group.len() == r.groups.len()).collect();
    let periods: Vec<&str> = rows.iter().filter_map(|r| r.period.as_deref()).collect();
    if periods.len() < 2 || g.points.is_empty() {
        return String::new();
    }
    let index: std::collections::HashMap<&str, usize> = periods.iter().enumerate().map(|(i, p)| (*p, i)).collect();
    let at = |p: &str| index.get(p).copied();
    let mut values: Vec<f64> = rows.iter().filter_map(|r| r.value).collect();
    for s in &g.segments {
        values.extend([s.lpl, s.upl].into_iter().flatten());
        values.push(s.mean);
    }
    let targets: Vec<Option<f64>> = rows.iter().map(|r| r.target).collect();
    values.extend(targets.iter().flatten());
    let benches: Vec<(&str, Vec<Option<f64>>)> = k
        .benchmarks
        .iter()
        .filter(|b| !b.peer)
        .take(BENCH.len())
        .map(|b| (b.name.as_str(), periods.iter().map(|p| b.at(Some(p), &label)).collect()))
        .collect();
    for (_, vals) in &benches {
        values.extend(vals.iter().flatten());
    }
    let Some(axis) = Axis::new(values, &k.unit, TOP + FONT_SIZE) else { return String::new() };
    let (lo, hi, left, top) = (axis.lo, axis.hi, axis.left, axis.top);
    let (w, h, right) = (WIDTH, HEIGHT, RIGHT);
    let x = |i: usize| left + (w - left - right) * i as f64 / (periods.len() - 1) as f64;
    let y = |v: f64| top + (h - top - BOTTOM) * (1.0 - (v - lo) / (hi - lo));
    let who = if label.is_empty() { String::new() } else { format!(", {label}") };
    let mut svg = format!(
        "<svg class=\"chart xmr\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"XmR chart of {}{}: values, mean and process limits\" xmlns=\"http://www.w3.org/2000/svg\">",
        html_escape(&k.title),
        html_escape(&who)
    );
    let grain = k.grain.as_deref();
    let last = g.points.last();
    title_desc(
        &mut svg,
        &format!("XmR chart of {}{}", k.title, who),
        &format!(
            "{} periods from {} to {}. {} Every value and its signal is in the table of values below.",
            periods.len(),
            super::periods::label(Some(periods[0]), grain, cal),
            super::periods::label(Some(periods[periods.len() - 1]), grain, cal),
            if last.is_some() { summary(k, g, cal) } else { String::new() }
        ),
    );
    axis.draw(&mut svg, w, right, &y);
    let period_baseline = h - 8.0;
    let labels: Vec<String> = periods.iter().map(|p| super::periods::axis_label(p, grain, cal)).collect();
    time_axis(&mut svg, &labels, &x, period_baseline, h - BOTTOM);
    // Events: a vertical line and a number at the top; rebases a solid line.
    for (n, e) in k.events.iter().enumerate() {
        let Some(i) = at(&e.period) else { continue };
        let cls = if e.rebase { "rebase" } else { "event" };
        svg.push_str(&format!("<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" class=\"{cls}\"/>", x(i), top, h - BOTTOM));
        let anchor = if i + 1 == periods.len() { "end" } else { "start" };
        let dx = if anchor == "end" { -2.0 } else { 2.0 };
        text(&mut svg, x(i) + dx, top - 2.0, anchor, "axis", &(n + 1).to_string());
    }
    // Per segment: mean solid, process limits dashed.
    for s in &g.segments {
        let (Some(a), Some(b)) = (at(&s.start), at(&s.end)) else { continue };
        let (x0, x1) = (x(a), x(b).max(x(a) + 2.0));
        let mut hline = |v: f64, cls: &str| {
            svg.push_str(&format!("<line x1=\"{x0:.1}\" x2=\"{x1:.1}\" y1=\"{0:.1}\" y2=\"{0:.1}\" class=\"{cls}\"/>", y(v)));
        };
        hline(s.mean, "mean");
        if let (Some(l), Some(u)) = (s.lpl, s.upl) {
            hline(l, "limit");
            hline(u, "limit");
        }
    }
    for (bi, (_, vals)) in benches.iter().enumerate() {
        let d = polyline(vals, &x, &y);
        if !d.is_empty() {
            svg.push_str(&format!("<path d=\"{d}\" fill=\"none\" stroke=\"{}\" class=\"benchmark\"/>", BENCH[bi]));
        }
    }
    if let Some(t) = k.target.as_ref().filter(|t| t.low.is_none()) {
        let d = polyline(&targets, &x, &y);
        if !d.is_empty() {
            svg.push_str(&format!("<path d=\"{d}\" fill=\"none\" class=\"target\"/>"));
        }
        if let Some(first) = targets.iter().flatten().next() {
            let plot = (left, w - right, axis.ceiling().max(top - 2.0), period_baseline - ASCENT * FONT_SIZE);
            target_label(&mut svg, &format!("target {}", t.text), y(*first), plot);
        }
    }
    let line: Vec<Option<f64>> = rows.iter().map(|r| r.value).collect();
    svg.push_str(&format!("<path d=\"{}\" fill=\"none\" stroke=\"{COMMON}\" stroke-width=\"1.5\"/>", polyline(&line, &x, &y)));
    for p in &g.points {
        if let Some(i) = at(&p.period) {
            svg.push_str(&format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{}\"/>", x(i), y(p.value), colour(p.point_type)));
        }
    }
    if let Some(p) = g.points.last() {
        if let Some(i) = at(&p.period) {
            let ceiling = axis.ceiling().max(top - 2.0);
            super::svg::latest_label(
                &mut svg,
                &format_value(Some(p.value), &k.unit),
                x(i),
                y(p.value),
                ceiling,
                period_baseline - ASCENT * FONT_SIZE,
            );
        }
    }
    // Values left out of the chart (provisional): hollow.
    let charted_periods: std::collections::HashSet<&str> = g.points.iter().map(|p| p.period.as_str()).collect();
    for (i, r) in rows.iter().enumerate() {
        let charted = r.period.as_deref().is_some_and(|p| charted_periods.contains(p));
        if let (Some(v), false) = (r.value, charted) {
            svg.push_str(&format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"none\" stroke=\"{COMMON}\"/>", x(i), y(v)));
        }
    }
    svg.push_str("</svg>");
    // The key, in words.
    svg.push_str("<p class=\"legend\">");
    for (t, words) in [
        (PointType::CommonCause, "common cause"),
        (PointType::SpecialCauseImprovement, "improvement"),
        (PointType::SpecialCauseConcern, "concern"),
        (PointType::SpecialCauseNeutralHigh, "special cause (neutral)"),
    ] {
        if g.points.iter().any(|p| colour(p.point_type) == colour(t)) {
            svg.push_str(&format!("<span><i style=\"background:{}\"></i>{words}</span>", colour(t)));
        }
    }
    svg.push_str("<span>solid line: mean; dashed: process limits</span>");
    for (bi, (name, _)) in benches.iter().enumerate() {
        svg.push_str(&format!("<span><i style=\"background:{}\"></i>{}</span>", BENCH[bi], html_escape(name)));
    }
    svg.push_str("</p>");
    svg
}
