//! Results -> a self-contained static report (`index.html`: inline CSS and SVG, no network,
//! no JavaScript, a Content-Security-Policy that forbids loading anything) and
//! `results.json`. Output is deterministic: same results, same bytes.
//!
//! - `mod.rs`: rendering (template, views of KPIs, how values are written, escaping);
//! - [`svg`]: the trend charts, laid out from the measured width of their labels;
//! - [`output`]: writing the files: a whole new report directory swapped in for the old one,
//!   a manifest of what yardstick wrote, and a refusal to touch anything else.

pub mod output;
pub mod spc_chart;
pub mod svg;

use minijinja::{Environment, Value, context};

pub use self::output::{MANIFEST, write_report};
use crate::config::HeadlinePeriod;
use crate::diagnostics::Diagnostic;
use crate::results::{KpiResult, Results, Status};

const TEMPLATE: &str = include_str!("../templates/report.html");
/// The data checks' badge and "Data quality" section (imported by report.html).
const DATA_QUALITY: &str = include_str!("../templates/data_quality.html");

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
    env.add_filter("thousands", |n: f64| group_thousands(n));
    env.add_filter("dedent", |s: String| dedent(&s));
    // Escape only what HTML needs (& < > " '): minijinja's default also escapes `/`, which
    // makes paths and SQL in the page source hard to read and grep.
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(s) if !value.is_safe() && state.auto_escape() != minijinja::AutoEscape::None => {
            out.write_str(&html_escape(s)).map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write the report"))
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.add_template("data_quality.html", DATA_QUALITY).map_err(|e| Diagnostic::error("YS0500", format!("report template: {e}")))?;
    env.add_template("report.html", TEMPLATE).map_err(|e| Diagnostic::error("YS0500", format!("report template: {e}")))?;
    let tmpl = env.get_template("report.html").map_err(|e| Diagnostic::error("YS0500", e.to_string()))?;
    let kpis: Vec<Value> = results.kpis.iter().map(|k| kpi_view(k, results)).collect();
    let counts = count_statuses(results);
    tmpl.render(context! {
        r => results,
        kpis => kpis,
        counts => counts,
        // In yardstick.yaml's order, as in results.json (a template map would sort them).
        sources => results.sources.iter().map(|(id, s)| (id.clone(), Value::from_serialize(s))).collect::<Vec<_>>(),
    })
    .map_err(|e| Diagnostic::error("YS0500", format!("cannot render the report: {e}")))
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
pub fn headline_period(k: &KpiResult, mode: HeadlinePeriod) -> Option<Option<String>> {
    let eligible = |r: &&crate::results::ResultRow| mode == HeadlinePeriod::Latest || !r.provisional;
    let with_value = k.rows.iter().rev().filter(eligible).find(|r| r.value.is_some());
    with_value.or_else(|| k.rows.iter().rev().find(eligible)).map(|r| r.period.clone())
}

fn is_judged(s: Status) -> bool {
    matches!(s, Status::OnTrack | Status::NearTarget | Status::OffTrack)
}

/// The headline period's value and status (for KPIs with groups: the worst status of the
/// groups judged, and no single value).
pub fn headline(k: &KpiResult, mode: HeadlinePeriod) -> Option<(Option<f64>, Status)> {
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
        headline_provisional => k.rows.iter().any(|r| r.provisional && r.period == last_period && last_period.is_some()),
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
        chart => Value::from_safe_string(if k.by.is_empty() && k.spc.is_some() { String::new() } else { svg::trend_svg(k) }),
        spc => spc_view(k),
        events => events_view(k),
        benchmarks => benchmarks_view(k, last_period.as_deref()),
        peer_rank => k.peer_rank.as_ref().map(|r| context! {
            rank => r.rank, of => r.of, quartile => r.quartile,
            period => spc_chart::period_name(&r.period, k.grain.as_deref()),
        }),
        row_signals => row_signals(k),
    }
}

/// Per group: the XmR chart, its icons and the summary sentence (at most 8 groups drawn).
fn spc_view(k: &KpiResult) -> Value {
    let Some(spc) = &k.spc else { return Value::from(()) };
    let shown = 8;
    let groups: Vec<Value> = spc
        .groups
        .iter()
        .take(shown)
        .map(|g| {
            let label = crate::spc::group_label(&g.group.iter().map(|(a, b)| (a.clone(), b.clone())).collect::<Vec<_>>());
            context! {
                label => if label.is_empty() && !k.by.is_empty() { "(none)".to_string() } else { label },
                chart => Value::from_safe_string(spc_chart::xmr_svg(k, g)),
                summary => spc_chart::summary(k, g),
                variation => g.variation_icon.map(|i| Value::from_safe_string(spc_chart::variation_icon(i))),
                assurance => g.assurance.map(|a| Value::from_safe_string(spc_chart::assurance_icon(a))),
                notes => g.notes.clone(),
            }
        })
        .collect();
    let special = spc.groups.iter().filter(|g| g.variation.is_some_and(|v| v.is_special())).count();
    let first = spc.groups.first();
    context! {
        groups => groups,
        more => spc.groups.len().saturating_sub(shown),
        special_groups => special,
        total_groups => spc.groups.len(),
        // The scorecard's icons (KPIs without groups).
        variation => first.and_then(|g| g.variation_icon).filter(|_| k.by.is_empty()).map(|i| Value::from_safe_string(spc_chart::variation_icon(i))),
        assurance => first.and_then(|g| g.assurance).filter(|_| k.by.is_empty()).map(|a| Value::from_safe_string(spc_chart::assurance_icon(a))),
    }
}

/// Events in date order, numbered as on the charts, with their before/after (KPIs without
/// groups; with groups, results.json has them per group).
fn events_view(k: &KpiResult) -> Vec<Value> {
    k.events
        .iter()
        .enumerate()
        .map(|(n, e)| {
            let effect = e.effects.first().filter(|_| k.by.is_empty());
            context! {
                n => n + 1,
                date => e.date.clone(),
                text => e.text.clone(),
                rebase => e.rebase,
                declared => match (e.declared_on, &e.declared_in) {
                    ("kpi", _) => "this KPI".to_string(),
                    ("events_file", _) => "the events file".to_string(),
                    (on, Some(id)) => format!("{on} {id}"),
                    (on, None) => on.to_string(),
                },
                before => effect.map(|f| format_value(f.before.mean, &k.unit)),
                before_points => effect.map(|f| f.before.points),
                after => effect.map(|f| format_value(f.after.mean, &k.unit)),
                after_points => effect.map(|f| f.after.points),
                change => effect.map(|f| format_change(f.change, &k.unit)),
                signal => effect.and_then(|f| f.signal_after).map(|s| if !s {
                    "no signal since".to_string()
                } else {
                    match effect.and_then(|f| f.signal_type) {
                        Some(crate::spc::PointType::SpecialCauseImprovement) => "a special cause of improvement since".to_string(),
                        Some(crate::spc::PointType::SpecialCauseConcern) => "a special cause of concern since".to_string(),
                        _ => "a special cause since".to_string(),
                    }
                }),
            }
        })
        .collect()
}

/// Each benchmark's value in the headline period and the KPI's difference from it.
fn benchmarks_view(k: &KpiResult, period: Option<&str>) -> Vec<Value> {
    let latest = k.rows.iter().find(|r| r.period.as_deref() == period && k.by.is_empty()).and_then(|r| r.value);
    k.benchmarks
        .iter()
        .filter(|b| !b.peer)
        .filter_map(|b| {
            let v = b.at(period, "")?;
            Some(context! {
                name => b.name.clone(),
                value => format_value(Some(v), &k.unit),
                diff => latest.map(|l| format_change(Some(crate::results::round_value(l - v)), &k.unit)),
            })
        })
        .collect()
}

/// The signal words of every row (empty for rows not on a chart), aligned with `k.rows`.
fn row_signals(k: &KpiResult) -> Vec<String> {
    let Some(spc) = &k.spc else { return vec![] };
    let mut words: std::collections::HashMap<(String, &str), String> = std::collections::HashMap::new();
    for g in &spc.groups {
        let label = crate::spc::group_label(&g.group.iter().map(|(a, b)| (a.clone(), b.clone())).collect::<Vec<_>>());
        for p in &g.points {
            words.insert((label.clone(), p.period.as_str()), point_words(p));
        }
    }
    k.rows
        .iter()
        .map(|r| {
            let key = (crate::spc::group_label(&r.groups), r.period.as_deref().unwrap_or_default());
            words.get(&key).cloned().unwrap_or_default()
        })
        .collect()
}

fn point_words(p: &crate::spc::Point) -> String {
    use crate::spc::{PointType as T, Rule};
    let kind = match p.point_type {
        T::CommonCause => return "common cause".into(),
        T::SpecialCauseImprovement => "improvement",
        T::SpecialCauseConcern => "concern",
        _ => "special cause",
    };
    let rule = match p.rule {
        Some(Rule::OutsideLimits) => "outside the limits",
        Some(Rule::Trend) => "trend",
        Some(Rule::TwoOfThree) => "2 of 3 near a limit",
        Some(Rule::Shift) => "shift",
        None => "",
    };
    format!("{kind}: {rule}")
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
    match v {
        Some(v) => {
            let (number, suffix) = value_parts(v, unit);
            number + &suffix
        }
        None => "–".to_string(),
    }
}

/// A value as its number and its unit's suffix (`"1,204"` + `""`, `"91.6"` + `"%"`,
/// `"1731.29"` + `" USD"`): a chart whose labels would be too wide with the unit writes the
/// unit once and the numbers alone.
pub(crate) fn value_parts(v: f64, unit: &str) -> (String, String) {
    match unit {
        "percent" => (trim_number(v * 100.0, 1), "%".into()),
        "percentage points" => (trim_number(v * 100.0, 1), " pp".into()),
        "count" => (group_thousands(v), String::new()),
        "seconds" => (trim_number(v, 1), " s".into()),
        "minutes" => (trim_number(v, 1), " min".into()),
        "hours" => (trim_number(v, 1), " h".into()),
        "days" => (trim_number(v, 1), " days".into()),
        "business days" => (trim_number(v, 1), " business days".into()),
        "number" => (trim_number(v, 2), String::new()),
        other => (trim_number(v, 2), format!(" {other}")),
    }
}

/// A change in a KPI's unit: percentages (and percentage points) change in percentage points.
fn format_change(d: Option<f64>, unit: &str) -> String {
    let Some(d) = d else { return "–".to_string() };
    let sign = if d > 0.0 { "+" } else { "" };
    match unit {
        "percent" | "percentage points" => format!("{sign}{} pp", trim_number(d * 100.0, 1)),
        _ => format!("{sign}{}", format_value(Some(d), unit)),
    }
}

/// Values from 1e15 on are written in scientific notation: past that, whole numbers with
/// separators are longer than anyone reads, and f64 has no more exact digits.
const SCIENTIFIC_FROM: f64 = 1e15;

/// A number with up to `decimals` decimals, trailing zeros dropped; from 10,000 on a whole
/// number with separators. A value that is not zero is never written as `0`: a small one
/// gets two significant digits (`0.00012`).
fn trim_number(v: f64, decimals: usize) -> String {
    if !v.is_finite() || v.abs() >= 10000.0 {
        return group_thousands(v);
    }
    let mut decimals = decimals;
    if v != 0.0 && v.abs() < 0.5 * 10f64.powi(-(decimals as i32)) {
        // -log10(0.000123) = 3.9: the first significant digit is the 4th decimal.
        decimals = ((-v.abs().log10()).ceil() as usize + 1).min(20);
    }
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    if s == "-0" {
        return "0".to_string();
    }
    // Separators from 1,000 on, as for whole numbers: `1,731.29 USD` beside `75,954 USD`.
    match s.split_once('.') {
        Some((int, frac)) if v.abs() >= 1000.0 => format!("{}.{frac}", group_digits(int)),
        None if v.abs() >= 1000.0 => group_digits(&s),
        _ => s,
    }
}

/// A definition as cut from its file: the first line starts at `kpi`, the others keep the
/// file's indentation; the closing `}` is at the block's own indent, so that much goes.
fn dedent(text: &str) -> String {
    // Only ASCII spaces and tabs count (one byte each: cuts stay on char boundaries).
    let blank = |l: &str| l.bytes().take_while(|b| *b == b' ' || *b == b'\t').count();
    let lines: Vec<&str> = text.lines().collect();
    let Some(last) = lines.last() else { return String::new() };
    let indent = blank(last);
    let mut out: Vec<String> = vec![lines[0].to_string()];
    for l in &lines[1..] {
        out.push(l[blank(l).min(indent)..].to_string());
    }
    out.join("\n")
}

/// `-1731` -> `-1,731`.
fn group_digits(int: &str) -> String {
    let (sign, digits) = int.strip_prefix('-').map(|d| ("-", d)).unwrap_or(("", int));
    let mut out = String::from(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A whole number with thousands separators (`604,474`); from 1e15 on, scientific
/// (`1.23e21`). Never through an integer type, which would saturate.
fn group_thousands(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.abs() >= SCIENTIFIC_FROM {
        let s = format!("{v:.2e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') { mantissa.trim_end_matches('0').trim_end_matches('.') } else { mantissa };
        return format!("{mantissa}e{exp}");
    }
    let rounded = format!("{:.0}", v.abs());
    let negative = v < 0.0 && rounded != "0";
    let mut out = String::new();
    for (i, c) in rounded.chars().enumerate() {
        if i > 0 && (rounded.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if negative { format!("-{out}") } else { out }
}

pub(crate) fn display_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "(none)".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Escape text for HTML (element content and quoted attribute values): `& < > " '`.
/// Control characters other than tab, newline and carriage return, which HTML does not allow
/// in text, become U+FFFD.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}
