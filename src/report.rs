//! Results -> a self-contained static report (`index.html`: inline CSS and SVG, no network,
//! no JavaScript) and `results.json`. Output is deterministic: same results, same bytes.
//! Files are written to a temporary name and renamed, so a failed build never leaves a
//! half-written report behind.

use std::path::{Path, PathBuf};

use minijinja::{Environment, Value, context};

use crate::config::HeadlinePeriod;
use crate::diagnostics::Diagnostic;
use crate::results::{KpiResult, Results, Status};

const TEMPLATE: &str = include_str!("templates/report.html");

/// Render results.json text.
pub fn results_json(results: &Results) -> Result<String, Diagnostic> {
    let mut s = serde_json::to_string_pretty(results).map_err(|e| Diagnostic::error("YS0500", format!("cannot serialise results: {e}")))?;
    s.push('\n');
    Ok(s)
}

/// Render index.html text.
pub fn render_html(results: &Results) -> Result<String, Diagnostic> {
    let mut env = Environment::new();
    env.add_filter("fmt_value", |v: Option<f64>, unit: String| format_value(v, &unit));
    env.add_filter("status_label", |s: String| status_label(&s).to_string());
    // Escape only what HTML needs (& < > " '): minijinja's default also escapes `/`, which
    // makes paths and SQL in the page source hard to read and grep.
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(s) if !value.is_safe() && state.auto_escape() != minijinja::AutoEscape::None => out
            .write_str(&html_escape(s).replace('\'', "&#39;"))
            .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write the report")),
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.add_template("report.html", TEMPLATE).map_err(|e| Diagnostic::error("YS0500", format!("report template: {e}")))?;
    let tmpl = env.get_template("report.html").map_err(|e| Diagnostic::error("YS0500", e.to_string()))?;
    let kpis: Vec<Value> = results.kpis.iter().map(|k| kpi_view(k, results)).collect();
    let counts = count_statuses(results);
    tmpl.render(context! {
        r => results,
        kpis => kpis,
        counts => counts,
    })
    .map_err(|e| Diagnostic::error("YS0500", format!("cannot render the report: {e}")))
}

/// Write index.html and results.json into `out_dir`, each atomically.
pub fn write_report(results: &Results, out_dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let json = results_json(results)?;
    let html = render_html(results)?;
    std::fs::create_dir_all(out_dir).map_err(|e| Diagnostic::error("YS0500", format!("cannot create {}: {e}", out_dir.display())))?;
    let mut written = vec![];
    for (name, text) in [("results.json", json), ("index.html", html)] {
        let path = out_dir.join(name);
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Diagnostic> {
    let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or("")));
    let fail = |e: std::io::Error| Diagnostic::error("YS0500", format!("cannot write {}: {e}", path.display()));
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

fn count_statuses(results: &Results) -> Value {
    let (mut on, mut near, mut off, mut none, mut untargeted) = (0, 0, 0, 0, 0);
    for k in &results.kpis {
        match headline(k, results.headline_period).map(|(_, s)| s).unwrap_or(Status::NoData) {
            Status::OnTrack => on += 1,
            Status::NearTarget => near += 1,
            Status::OffTrack => off += 1,
            Status::NoData => none += 1,
            Status::NoTarget => untargeted += 1,
        }
    }
    context! { on_track => on, near_target => near, off_track => off, no_data => none, no_target => untargeted, total => results.kpis.len() }
}

/// The period a KPI's headline shows: the latest with any value (a trailing empty period,
/// such as the current month before its data arrives, would say nothing) that is complete,
/// unless the project asks for the latest even if provisional. `None` when there is none.
fn headline_period(k: &KpiResult, mode: HeadlinePeriod) -> Option<Option<String>> {
    let eligible = |r: &&crate::results::ResultRow| mode == HeadlinePeriod::Latest || !r.provisional;
    let with_value = k.rows.iter().rev().filter(eligible).find(|r| r.value.is_some());
    with_value.or_else(|| k.rows.iter().rev().find(eligible)).map(|r| r.period.clone())
}

fn is_judged(s: Status) -> bool {
    matches!(s, Status::OnTrack | Status::NearTarget | Status::OffTrack)
}

/// The headline period's value and status (for KPIs with groups: the worst status of the
/// groups judged, and no single value).
fn headline(k: &KpiResult, mode: HeadlinePeriod) -> Option<(Option<f64>, Status)> {
    let last_period = headline_period(k, mode)?;
    let latest: Vec<_> = k.rows.iter().filter(|r| r.period == last_period).collect();
    if k.by.is_empty() {
        return latest.first().map(|r| (r.value, r.status));
    }
    let judged: Vec<_> = latest.iter().filter(|r| is_judged(r.status)).collect();
    if judged.is_empty() {
        return Some((None, if latest.iter().any(|r| r.value.is_some()) { Status::NoTarget } else { Status::NoData }));
    }
    let worst = if judged.iter().any(|r| r.status == Status::OffTrack) {
        Status::OffTrack
    } else if judged.iter().any(|r| r.status == Status::NearTarget) {
        Status::NearTarget
    } else {
        Status::OnTrack
    };
    Some((None, worst))
}

fn kpi_view(k: &KpiResult, results: &Results) -> Value {
    let mode = results.headline_period;
    let (value, status) = headline(k, mode).unwrap_or((None, Status::NoData));
    let last_period = headline_period(k, mode).flatten();
    // What the headline period is called: "all time" only for KPIs without a grain.
    let period_label = match (&last_period, &k.grain) {
        (Some(p), _) => p.clone(),
        (None, None) => "all time".to_string(),
        (None, Some(_)) if k.rows.iter().any(|r| r.provisional) => "no complete period yet".to_string(),
        (None, Some(_)) => "no period with data".to_string(),
    };
    // Periods after the headline's that are provisional, latest first: shown, not judged.
    let provisional: Vec<String> = k
        .rows
        .iter()
        .filter(|r| r.provisional && r.period > last_period)
        .filter_map(|r| r.period.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .rev()
        .collect();
    let latest_provisional: Option<Value> = match (k.by.is_empty(), provisional.first()) {
        (true, Some(p)) => {
            k.rows.iter().find(|r| r.period.as_ref() == Some(p)).map(|r| context! { period => p, value => format_value(r.value, &k.unit) })
        }
        _ => None,
    };
    let warnings: Vec<&crate::results::WarningResult> =
        results.warnings.iter().filter(|w| w.kpi.as_deref() == Some(k.id.as_str())).collect();
    let latest_rows: Vec<&crate::results::ResultRow> = k.rows.iter().filter(|r| r.period == last_period).collect();
    let groups_on_track = latest_rows.iter().filter(|r| r.status == Status::OnTrack).count();
    let groups_judged = latest_rows.iter().filter(|r| is_judged(r.status)).count();
    let comparisons: Vec<Value> = if k.by.is_empty() {
        latest_rows
            .first()
            .map(|r| {
                r.comparisons
                    .iter()
                    .map(|(name, c)| {
                        context! {
                            name => name.replace('_', " "),
                            value => format_value(c.value, &k.unit),
                            change => format_change(c.change, &k.unit),
                            relative => c.relative_change.map(|r| format!("{}{}%", if r > 0.0 { "+" } else { "" }, trim_number(r * 100.0, 1))),
                            improved => c.improved,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    } else {
        vec![]
    };
    context! {
        k => k,
        value => value,
        status => status.name(),
        last_period => last_period,
        period_label => period_label,
        provisional_periods => provisional,
        latest_provisional => latest_provisional,
        warnings => warnings,
        row_counts => k.row_counts.map(|c| context! {
            read => group_thousands(c.read as f64),
            without_time => group_thousands(c.without_time as f64),
            outside_scope => group_thousands(c.outside_scope as f64),
            excluded_by_where => group_thousands(c.excluded_by_where as f64),
            counted => group_thousands(c.counted as f64),
            null_input => group_thousands(c.null_input as f64),
            skipped_invalid => group_thousands(c.skipped_invalid as f64),
        }),
        latest_rows => latest_rows,
        groups_on_track => groups_on_track,
        groups_judged => groups_judged,
        comparisons => comparisons,
        target_now => latest_rows.first().and_then(|r| r.target).map(|t| format_value(Some(t), &k.unit)),
        chart => Value::from_safe_string(trend_svg(k)),
    }
}

fn status_label(s: &str) -> &'static str {
    match s {
        "on_track" => "On track",
        "off_track" => "Off track",
        "near_target" => "Near target",
        "no_data" => "No data",
        _ => "No target",
    }
}

/// Human formatting of a value in its unit.
pub fn format_value(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else { return "–".to_string() };
    match unit {
        "percent" => format!("{}%", trim_number(v * 100.0, 1)),
        "count" => group_thousands(v),
        "seconds" => format!("{} s", trim_number(v, 1)),
        "minutes" => format!("{} min", trim_number(v, 1)),
        "hours" => format!("{} h", trim_number(v, 1)),
        "days" => format!("{} days", trim_number(v, 1)),
        "business days" => format!("{} business days", trim_number(v, 1)),
        "number" => trim_number(v, 2),
        other => format!("{} {other}", trim_number(v, 2)),
    }
}

/// A change in a KPI's unit: percentages change in percentage points.
fn format_change(d: Option<f64>, unit: &str) -> String {
    let Some(d) = d else { return "–".to_string() };
    let sign = if d > 0.0 { "+" } else { "" };
    match unit {
        "percent" => format!("{sign}{} pp", trim_number(d * 100.0, 1)),
        _ => format!("{sign}{}", format_value(Some(d), unit)),
    }
}

fn trim_number(v: f64, decimals: usize) -> String {
    if v.abs() >= 10000.0 {
        return group_thousands(v);
    }
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

fn group_thousands(v: f64) -> String {
    let r = v.round() as i64;
    let digits = r.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if r < 0 { format!("-{out}") } else { out }
}

const PALETTE: [&str; 8] = ["#1f5fa8", "#c2541b", "#2e8540", "#7a3e9d", "#b8860b", "#008b8b", "#a83248", "#555555"];

/// An inline SVG line chart of the KPI over periods (one line per group, up to 8), with the
/// target as a dashed line. Text alternatives are in the table below it.
fn trend_svg(k: &KpiResult) -> String {
    let periods: Vec<&str> = {
        let mut p: Vec<&str> = k.rows.iter().filter_map(|r| r.period.as_deref()).collect();
        p.dedup();
        p
    };
    if periods.len() < 2 {
        return String::new();
    }
    let mut series: Vec<(String, Vec<Option<f64>>)> = vec![];
    for row in &k.rows {
        let name = row.groups.iter().map(|(_, v)| display_json(v)).collect::<Vec<_>>().join(" / ");
        let idx = match series.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                series.push((name, vec![None; periods.len()]));
                series.len() - 1
            }
        };
        if let Some(p) = row.period.as_deref().and_then(|p| periods.iter().position(|x| *x == p)) {
            series[idx].1[p] = row.value;
        }
    }
    // Series keep the rows' order (groups sorted, nulls last), as the tables do.
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
    if values.is_empty() {
        return String::new();
    }
    let (mut lo, mut hi) = values.iter().fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    if (hi - lo).abs() < 1e-12 {
        lo -= 1.0;
        hi += 1.0;
    }
    let pad = (hi - lo) * 0.08;
    let (lo, hi) = (lo - pad, hi + pad);
    let (w, h, left, right, top, bottom) = (640.0, 200.0, 56.0, 12.0, 10.0, 28.0);
    let x = |i: usize| left + (w - left - right) * i as f64 / (periods.len() - 1) as f64;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - (v - lo) / (hi - lo));
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"Trend of {} by period\" xmlns=\"http://www.w3.org/2000/svg\">",
        html_escape(&k.title)
    );
    for frac in [0.0, 0.5, 1.0] {
        let v = lo + (hi - lo) * frac;
        svg.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" class=\"grid\"/><text x=\"{}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"end\">{}</text>",
            w - right, y(v), y(v), left - 4.0, y(v) + 4.0, html_escape(&format_value(Some(v), &k.unit))
        ));
    }
    for (i, p) in [(0, periods[0]), (periods.len() - 1, periods[periods.len() - 1])] {
        let anchor = if i == 0 { "start" } else { "end" };
        svg.push_str(&format!("<text x=\"{:.1}\" y=\"{}\" class=\"axis\" text-anchor=\"{anchor}\">{p}</text>", x(i), h - 8.0));
    }
    if let Some(t) = &k.target {
        let label = |svg: &mut String, v: f64| {
            svg.push_str(&format!(
                "<text x=\"{}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"end\">target {}</text>",
                w - right,
                y(v) - 4.0,
                html_escape(&t.text)
            ))
        };
        if let Some((l, h)) = band {
            for v in [l, h] {
                svg.push_str(&format!("<line x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" class=\"target\"/>", w - right, y(v), y(v)));
            }
            label(&mut svg, h);
        } else {
            let d = polyline(&targets, &x, &y);
            if !d.is_empty() {
                svg.push_str(&format!("<path d=\"{d}\" fill=\"none\" class=\"target\"/>"));
            }
            if let Some(last) = targets.iter().rev().flatten().next() {
                label(&mut svg, *last);
            }
        }
    }
    for (si, (_, vals)) in shown.iter().enumerate() {
        let d = polyline(vals, &x, &y);
        svg.push_str(&format!("<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>", PALETTE[si]));
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

/// SVG path data through the points that have a value; gaps lift the pen.
fn polyline(values: &[Option<f64>], x: &dyn Fn(usize) -> f64, y: &dyn Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                d.push_str(&format!("{}{:.1},{:.1} ", if pen_down { "L" } else { "M" }, x(i), y(*v)));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    d.trim_end().to_string()
}

fn display_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "(none)".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
