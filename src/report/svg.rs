//! The trend chart of a KPI: an inline SVG line chart, one line per group (up to 8), the
//! target dashed. Text is laid out from its estimated width ([`text_width`]), so no label is
//! ever cut by the edge of the drawing: the left margin grows with the widest axis label, and
//! a long target label is wrapped inside the plot. Only the unit caption, which is a title
//! and never a number, may be shortened with an ellipsis.

use crate::report::{display_json, format_value, html_escape, value_parts};
use crate::results::KpiResult;
use crate::results::PeriodCalendar;

const PALETTE: [&str; 8] = ["#1f5fa8", "#c2541b", "#2e8540", "#7a3e9d", "#b8860b", "#008b8b", "#a83248", "#555555"];

/// The font size of chart text, in viewBox units: must match `.chart .axis` in
/// `templates/report/style.css` (a test checks it).
pub const FONT_SIZE: f64 = 11.0;
/// How far text reaches above its baseline and below it, in ems (DejaVu Sans, the tallest
/// common sans-serif: 0.93 and 0.24).
pub const ASCENT: f64 = 0.95;
pub const DESCENT: f64 = 0.25;

pub(crate) const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
pub(crate) const RIGHT: f64 = 12.0;
pub(crate) const BOTTOM: f64 = 28.0;
pub(crate) const TOP: f64 = 10.0;
/// Space between an axis label and the plot, and the least space left at the drawing's edge.
const GAP: f64 = 4.0;
pub(crate) const EDGE: f64 = 2.0;
const MIN_LEFT: f64 = 40.0;
/// Axis labels wider than this leave out their unit, which is written once above them.
const MAX_LEFT: f64 = WIDTH * 0.4;
const LINE: f64 = FONT_SIZE * 1.25;

/// Width of one character in ems: a conservative table (at least the advance width in DejaVu
/// Sans, the widest of the usual sans-serif fonts, plus a few percent), so an estimate is
/// never shorter than the text drawn.
fn char_width(c: char) -> f64 {
    match c {
        '0'..='9' | '$' | '{' | '}' | '_' => 0.66,
        ' ' => 0.34,
        '.' | ',' | ':' | ';' | '\'' | '|' | '!' | 'i' | 'j' | 'l' | 'I' | '/' | '\\' => 0.36,
        '-' | 'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '"' | '`' | 'J' => 0.44,
        '%' => 1.0,
        '@' => 1.05,
        'm' | 'M' | 'W' => 1.04,
        'w' => 0.86,
        '+' | '<' | '>' | '=' | '~' | '^' | '#' => 0.88,
        'a'..='z' => 0.67,
        'A'..='Z' => 0.83,
        c if c.is_ascii() => 0.88,
        // Symbols and emoji are drawn wider than letters.
        '\u{2600}'..='\u{27bf}' | '\u{1f000}'..='\u{1faff}' => 1.3,
        _ => 1.05,
    }
}

/// Estimated width of `text` drawn at `font_size` (conservative: see [`char_width`]).
pub fn text_width(text: &str, font_size: f64) -> f64 {
    text.chars().map(char_width).sum::<f64>() * font_size
}

/// `text` shortened with an ellipsis to fit `width` (for titles only, never for numbers).
fn fit_title(text: &str, width: f64) -> String {
    if text_width(text, FONT_SIZE) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if text_width(&out, FONT_SIZE) + text_width(&format!("{c}…"), FONT_SIZE) > width {
            break;
        }
        out.push(c);
    }
    format!("{}…", out.trim_end())
}

/// Lines of at most `width`, broken at spaces; a word longer than a line is broken between
/// characters (nothing is left out).
fn wrap(text: &str, width: f64) -> Vec<String> {
    let mut lines: Vec<String> = vec![];
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let joined = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if text_width(&joined, FONT_SIZE) <= width {
            line = joined;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for c in word.chars() {
            if !line.is_empty() && text_width(&format!("{line}{c}"), FONT_SIZE) > width {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A chart's value axis: the range drawn (with a margin), three labelled grid lines, and the
/// left margin their labels need (numbers alone and the unit once above them when labels with
/// the unit would be too wide).
pub(crate) struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub left: f64,
    pub top: f64,
    ticks: Vec<f64>,
    labels: Vec<String>,
    unit_caption: Option<String>,
}

impl Axis {
    /// `None` when no value is finite. `top`: the plot's top without a unit caption. The
    /// range and ticks are [`super::axis::nice_ticks`]'s: round numbers, never below 0 for
    /// values that cannot be negative, never above 100% for shares.
    pub(crate) fn new(values: Vec<f64>, unit: &str, top: f64) -> Option<Axis> {
        let t = super::axis::nice_ticks(&values, unit)?;
        let ticks = t.values.clone();
        let with_unit: Vec<String> = ticks.iter().map(|v| super::axis::tick_label(*v, t.step, unit)).collect();
        let suffix = value_parts(ticks[0], unit).1;
        let widest = |labels: &[String]| labels.iter().map(|l| text_width(l, FONT_SIZE)).fold(0.0, f64::max);
        let (labels, unit_caption) = if EDGE + widest(&with_unit) + GAP <= MAX_LEFT || suffix.is_empty() {
            (with_unit, None)
        } else {
            (with_unit.iter().map(|l| l.strip_suffix(suffix.as_str()).unwrap_or(l).to_string()).collect(), Some(suffix.trim().to_string()))
        };
        let left = (EDGE + widest(&labels) + GAP).ceil().max(MIN_LEFT);
        let top = if unit_caption.is_some() { top + LINE } else { top };
        Some(Axis { lo: t.lo, hi: t.hi, left, top, ticks, labels, unit_caption })
    }

    /// The highest y text in the plot may reach: below the unit caption, if any.
    pub(crate) fn ceiling(&self) -> f64 {
        if self.unit_caption.is_some() { EDGE + (ASCENT + DESCENT) * FONT_SIZE + 2.0 } else { EDGE }
    }

    /// The unit caption, the grid lines and their labels.
    pub(crate) fn draw(&self, svg: &mut String, w: f64, right: f64, y: &dyn Fn(f64) -> f64) {
        if let Some(unit) = &self.unit_caption {
            text(svg, EDGE, EDGE + ASCENT * FONT_SIZE, "start", "axis", &fit_title(unit, w - EDGE - right));
        }
        let left = self.left;
        for (v, label) in self.ticks.iter().zip(&self.labels) {
            svg.push_str(&format!(
                "<line x1=\"{left:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" class=\"grid\"/>",
                w - right,
                y(*v),
                y(*v)
            ));
            text(svg, left - GAP, y(*v) + 4.0, "end", "axis", label);
        }
    }
}

/// One `<text>` element; `x`, `y` (the baseline) in viewBox units.
pub(crate) fn text(svg: &mut String, x: f64, y: f64, anchor: &str, class: &str, content: &str) {
    svg.push_str(&format!("<text x=\"{x:.1}\" y=\"{y:.1}\" class=\"{class}\" text-anchor=\"{anchor}\">{}</text>", html_escape(content)));
}

/// One line per group: its name (`a / b`, empty without `by`) and a value per period.
pub(crate) type Series = (String, Vec<Option<f64>>);

/// The KPI's periods in order, and its series in the rows' order (groups sorted, nulls last).
pub(crate) fn series_of(k: &KpiResult) -> (Vec<&str>, Vec<Series>) {
    let periods: Vec<&str> = {
        let mut p: Vec<&str> = k.rows.iter().filter_map(|r| r.period.as_deref()).collect();
        p.sort_unstable();
        p.dedup();
        p
    };
    let mut series: Vec<Series> = vec![];
    for row in &k.rows {
        let name = row.groups.iter().map(|(_, v)| display_json(v)).collect::<Vec<_>>().join(" / ");
        let idx = match series.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                series.push((name, vec![None; periods.len()]));
                series.len() - 1
            }
        };
        if let Some(p) = row.period.as_deref().and_then(|p| periods.binary_search(&p).ok()) {
            series[idx].1[p] = row.value;
        }
    }
    (periods, series)
}

/// Circles on the points of a line: every point when there are at most 60 periods, else
/// only points without a neighbour (which a line alone would not show).
pub(crate) fn points(svg: &mut String, vals: &[Option<f64>], x: &dyn Fn(usize) -> f64, y: &dyn Fn(f64) -> f64, colour: &str) {
    let every = vals.len() <= 60;
    for (i, v) in vals.iter().enumerate() {
        let Some(v) = v.filter(|v| v.is_finite()) else { continue };
        let alone = (i == 0 || vals[i - 1].is_none()) && vals.get(i + 1).is_none_or(|n| n.is_none());
        if every || alone {
            svg.push_str(&format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{colour}\"/>", x(i), y(v)));
        }
    }
}

/// The latest value's label beside its point: above it, or below when there is no room.
pub(crate) fn latest_label(svg: &mut String, label: &str, px: f64, py: f64, ceiling: f64, floor: f64) {
    let (ascent, descent) = (ASCENT * FONT_SIZE, DESCENT * FONT_SIZE);
    let above = py - 6.0 - descent;
    let baseline = if above - ascent >= ceiling { above } else { (py + 6.0 + ascent).min(floor - descent) };
    let w = text_width(label, FONT_SIZE);
    // A label as wide as half the chart (a very long unit) would hide it: the value is in
    // the headline and the table.
    if w > WIDTH / 2.0 {
        return;
    }
    let right = px.min(WIDTH - EDGE).max(EDGE + w);
    text(svg, right, baseline, "end", "axis value-label", label);
}

/// The `<title>` and `<desc>` of a chart: its name and, in words, what it shows.
pub(crate) fn title_desc(svg: &mut String, title: &str, desc: &str) {
    svg.push_str(&format!("<title>{}</title><desc>{}</desc>", html_escape(title), html_escape(desc)));
}

/// An inline SVG line chart of the KPI over periods (one line per group, up to 8), with the
/// target as a dashed line, the points marked, the latest value labelled (one line only)
/// and the periods named along the axis. The values are in the table below it.
pub(crate) fn trend_svg(k: &KpiResult, cal: &PeriodCalendar) -> String {
    let (periods, series) = series_of(k);
    if periods.len() < 2 {
        return String::new();
    }
    let shown = &series[..series.len().min(PALETTE.len())];
    let mut values: Vec<f64> = shown.iter().flat_map(|(_, v)| v.iter().flatten().copied()).collect();
    // The threshold per period (it moves along a trajectory or a schedule), from the
    // first group that has one.
    let targets: Vec<Option<f64>> = periods
        .iter()
        .map(|p| k.rows.iter().find(|r| r.period.as_deref() == Some(*p) && r.target.is_some()).and_then(|r| r.target))
        .collect();
    values.extend(targets.iter().flatten());
    let band = k.target.as_ref().and_then(|t| Some((t.low?, t.high?)));
    if let Some((l, h)) = band {
        values.extend([l, h]);
    }
    let Some(axis) = Axis::new(values, &k.unit, TOP) else { return String::new() };
    let (lo, hi, left, top) = (axis.lo, axis.hi, axis.left, axis.top);
    let (w, h, right, bottom) = (WIDTH, HEIGHT, RIGHT, BOTTOM);
    let x = |i: usize| left + (w - left - right) * i as f64 / (periods.len() - 1) as f64;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - (v - lo) / (hi - lo));
    let grain = k.grain.as_deref();
    let name = |p: &str| super::periods::label(Some(p), grain, cal);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"Trend of {} by period\" xmlns=\"http://www.w3.org/2000/svg\">",
        html_escape(&k.title)
    );
    let single = shown.len() == 1;
    let latest = shown.first().and_then(|(_, v)| v.iter().enumerate().rev().find_map(|(i, v)| v.map(|v| (i, v))));
    let mut desc = format!(
        "{} periods from {} to {}{}.",
        periods.len(),
        name(periods[0]),
        name(periods[periods.len() - 1]),
        if series.len() > 1 { format!(", {} groups", series.len()) } else { String::new() }
    );
    if let (true, Some((i, v))) = (single, latest) {
        desc.push_str(&format!(" Latest: {} in {}.", format_value(Some(v), &k.unit), name(periods[i])));
    }
    if let Some(t) = &k.target {
        desc.push_str(&format!(" Target {}.", t.text));
    }
    desc.push_str(" Every value is in the table of values below.");
    title_desc(&mut svg, &format!("Trend of {} by period", k.title), &desc);
    axis.draw(&mut svg, w, right, &y);
    let period_baseline = h - 8.0;
    let labels: Vec<String> = periods.iter().map(|p| super::periods::axis_label(p, grain, cal)).collect();
    time_axis(&mut svg, &labels, &x, period_baseline, h - bottom);
    let plot = (left, w - right, axis.ceiling(), period_baseline - ASCENT * FONT_SIZE);
    if let Some(t) = &k.target {
        let label = |svg: &mut String, v: f64| target_label(svg, &format!("target {}", t.text), y(v), plot);
        if let Some((l, h)) = band {
            for v in [l, h] {
                svg.push_str(&format!(
                    "<line x1=\"{left:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" class=\"target\"/>",
                    w - right,
                    y(v),
                    y(v)
                ));
            }
            label(&mut svg, h);
        } else {
            let d = polyline(&targets, &x, &y);
            if !d.is_empty() {
                svg.push_str(&format!("<path d=\"{d}\" fill=\"none\" class=\"target\"/>"));
            }
            if let Some(first) = targets.iter().flatten().next() {
                label(&mut svg, *first);
            }
        }
    }
    for (si, (_, vals)) in shown.iter().enumerate() {
        let d = polyline(vals, &x, &y);
        svg.push_str(&format!("<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>", PALETTE[si]));
        points(&mut svg, vals, &x, &y, PALETTE[si]);
    }
    if let (true, Some((i, v))) = (single, latest) {
        latest_label(&mut svg, &format_value(Some(v), &k.unit), x(i), y(v), plot.2, plot.3);
    }
    svg.push_str("</svg>");
    if shown.len() > 1 || !k.by.is_empty() {
        svg.push_str("<p class=\"legend\">");
        for (si, (name, _)) in shown.iter().enumerate() {
            svg.push_str(&format!(
                "<span><i style=\"background:{}\"></i>{}</span>",
                PALETTE[si],
                html_escape(if name.is_empty() { "(all)" } else { name })
            ));
        }
        if series.len() > shown.len() {
            svg.push_str(&format!("<span>and {} more in the table</span>", series.len() - shown.len()));
        }
        svg.push_str("</p>");
    }
    svg
}

/// The period labels along the time axis at `baseline`: the latest always, then every
/// `k`-th back, `k` the smallest of 1, 2, 3, 4, 6, 12, 24, ... that leaves the widest label
/// half its width again of room; a short tick marks each labelled period. The last label
/// ends at its period, the others are centred on theirs (moved inside the drawing if they
/// would cross its edge).
pub(crate) fn time_axis(svg: &mut String, labels: &[String], x: &dyn Fn(usize) -> f64, baseline: f64, tick_y: f64) {
    let n = labels.len();
    if n == 0 {
        return;
    }
    let widest = labels.iter().map(|l| text_width(l, FONT_SIZE)).fold(0.0, f64::max);
    let dx = if n > 1 { x(1) - x(0) } else { WIDTH };
    let mut k = 1;
    for c in [1usize, 2, 3, 4, 6, 12, 24, 52].into_iter().chain((1..).map(|i| 104 * i)) {
        k = c;
        if c as f64 * dx >= 1.5 * widest + 6.0 || c >= n {
            break;
        }
    }
    let mut i = n - 1;
    loop {
        let w = text_width(&labels[i], FONT_SIZE);
        svg.push_str(&format!(
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" class=\"grid\"/>",
            x(i),
            tick_y,
            tick_y + 4.0
        ));
        if i == n - 1 {
            let right = (x(i)).min(WIDTH - EDGE).max(EDGE + w);
            text(svg, right, baseline, "end", "axis", &labels[i]);
        } else {
            let centre = x(i).max(EDGE + w / 2.0).min(WIDTH - EDGE - w / 2.0);
            text(svg, centre, baseline, "middle", "axis", &labels[i]);
        }
        if i < k {
            break;
        }
        i -= k;
    }
}

/// The target's label at the left end of the plot (the latest value is labelled at the
/// right), just above its line at `line_y` (below it when there is no room above): off the
/// line, never on it. Wrapped to the plot's width. `plot` is (left, right, highest y text
/// may reach, lowest y text may reach). A label that cannot fit even wrapped (hundreds of characters)
/// is only `target`: the card's facts line has the target as written.
pub(crate) fn target_label(svg: &mut String, label: &str, line_y: f64, plot: (f64, f64, f64, f64)) {
    let (left, right, ceiling, floor) = plot;
    let mut lines = wrap(label, right - left - GAP);
    let (ascent, descent) = (ASCENT * FONT_SIZE, DESCENT * FONT_SIZE);
    let block = |n: usize| (n as f64 - 1.0) * LINE + ascent + descent;
    if block(lines.len()) > floor - ceiling {
        lines = vec!["target".to_string()];
    }
    let n = lines.len();
    // Baseline of the first line: above the line if the block fits between the top of the
    // drawing and the line; else below it if it fits above the period labels; else at the top.
    let above = line_y - 4.0 - (n as f64 - 1.0) * LINE;
    let below = line_y + 4.0 + ascent;
    let first = if above - ascent >= ceiling {
        above
    } else if below + (n as f64 - 1.0) * LINE + descent <= floor {
        below
    } else {
        ceiling + ascent
    };
    for (i, l) in lines.iter().enumerate() {
        text(svg, left + GAP, first + i as f64 * LINE, "start", "axis target-label", l);
    }
}

/// SVG path data through the points that have a value; gaps lift the pen.
pub(crate) fn polyline(values: &[Option<f64>], x: &dyn Fn(usize) -> f64, y: &dyn Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) if v.is_finite() => {
                d.push_str(&format!("{}{:.1},{:.1} ", if pen_down { "L" } else { "M" }, x(i), y(*v)));
                pen_down = true;
            }
            _ => pen_down = false,
        }
    }
    d.trim_end().to_string()
}
