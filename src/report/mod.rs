//! Results -> a self-contained static report (`index.html`: inline CSS and SVG, no network,
//! no JavaScript, a Content-Security-Policy that forbids loading anything) and
//! `results.json`. Output is deterministic: same results, same bytes.
//!
//! - `mod.rs`: rendering (template, views of KPIs, how values are written, escaping);
//! - [`svg`]: the trend charts, laid out from the measured width of their labels;
//! - [`output`]: writing the files: a whole new report directory swapped in for the old one,
//!   a manifest of what yardstick wrote, and a refusal to touch anything else.

pub mod axis;
pub mod breakdown;
pub mod csv;
pub mod hotspots;
pub mod output;
pub mod pages;
pub mod periods;
pub mod scorecard;
pub mod spc_chart;
pub mod svg;

use minijinja::{Environment, Value, context};

pub use self::output::{MANIFEST, write_report};
use crate::config::HeadlinePeriod;
use crate::diagnostics::Diagnostic;
use crate::results::{KpiResult, Results, Status};

/// The report's templates (src/templates/report/): `index.html` extends `layout.html` (the
/// page around the content, `style.css` inlined) and includes a partial per part of the page.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../templates/report/layout.html")),
    ("style.css", include_str!("../templates/report/style.css")),
    ("index.html", include_str!("../templates/report/index.html")),
    ("header.html", include_str!("../templates/report/header.html")),
    ("scorecard.html", include_str!("../templates/report/scorecard.html")),
    ("hotspots.html", include_str!("../templates/report/hotspots.html")),
    ("goals.html", include_str!("../templates/report/goals.html")),
    ("kpi.html", include_str!("../templates/report/kpi.html")),
    ("sources.html", include_str!("../templates/report/sources.html")),
    ("footer.html", include_str!("../templates/report/footer.html")),
    ("goal.html", include_str!("../templates/report/goal.html")),
    ("nav.html", include_str!("../templates/report/nav.html")),
    ("kpi_page.html", include_str!("../templates/report/kpi_page.html")),
    ("goal_page.html", include_str!("../templates/report/goal_page.html")),
    ("owner_page.html", include_str!("../templates/report/owner_page.html")),
    ("sources_page.html", include_str!("../templates/report/sources_page.html")),
    ("data_quality.html", include_str!("../templates/report/data_quality.html")),
];

/// Render results.json text.
pub fn results_json(results: &Results) -> Result<String, Diagnostic> {
    let mut s = serde_json::to_string_pretty(results).map_err(|e| Diagnostic::error("YS0500", format!("cannot serialise results: {e}")))?;
    s.push('\n');
    Ok(s)
}

/// Render index.html text, the whole report in one file (`build --single-file`).
pub fn render_html(results: &Results) -> Result<String, Diagnostic> {
    let env = environment()?;
    render(&env, "index.html", &Shared::new(results), &pages::Links::single_file(), minijinja::Value::from(()))
}

/// What every page's template reads, computed once per build.
struct Shared<'a> {
    results: &'a Results,
    kpis: Vec<Value>,
    counts: Value,
    scorecard: Value,
    hotspots: Vec<Value>,
    sources: Vec<(String, Value)>,
}

impl<'a> Shared<'a> {
    fn new(results: &'a Results) -> Self {
        Shared {
            results,
            kpis: results.kpis.iter().map(|k| kpi_view(k, results)).collect(),
            counts: count_statuses(results),
            scorecard: Value::from(scorecard::groups(results)),
            hotspots: hotspots::top(results).iter().map(|(i, h)| hotspots::view(&results.kpis[*i], h, &results.calendar)).collect(),
            // In yardstick.yaml's order, as in results.json (a template map would sort them).
            sources: results.sources.iter().map(|(id, s)| (id.clone(), Value::from_serialize(s))).collect(),
        }
    }
}

/// The template environment: the filters the templates use, HTML escaping, the templates.
fn environment() -> Result<Environment<'static>, Diagnostic> {
    let mut env = Environment::new();
    env.add_filter("fmt_value", |v: Option<f64>, unit: String| format_value(v, &unit));
    env.add_filter("status_label", |s: String| status_label(&s).to_string());
    env.add_filter("status_icon", |s: String| scorecard::status_icon(&s).to_string());
    env.add_filter("thousands", |n: f64| group_thousands(n));
    env.add_filter("dedent", |s: String| dedent(&s));
    env.add_function("kpi_href", pages::kpi_href);
    // Escape only what HTML needs (& < > " '): minijinja's default also escapes `/`, which
    // makes paths and SQL in the page source hard to read and grep.
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(s) if !value.is_safe() && state.auto_escape() != minijinja::AutoEscape::None => {
            out.write_str(&html_escape(s)).map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write the report"))
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    for (name, text) in TEMPLATES {
        env.add_template(name, text).map_err(|e| Diagnostic::error("YS0500", format!("report template {name}: {e}")))?;
    }
    Ok(env)
}

/// One page: `template` with the report's context, the links of the page's place (`links`)
/// and what the page is about (`page`).
fn render(env: &Environment<'_>, template: &str, shared: &Shared, links: &pages::Links, page: Value) -> Result<String, Diagnostic> {
    let tmpl = env.get_template(template).map_err(|e| Diagnostic::error("YS0500", e.to_string()))?;
    tmpl.render(context! {
        r => shared.results,
        kpis => shared.kpis.clone(),
        counts => shared.counts.clone(),
        scorecard => shared.scorecard.clone(),
        hotspots => shared.hotspots.clone(),
        sources => shared.sources.clone(),
        pages => links.pages,
        root => links.root,
        here => links.here,
        nav => links.nav.clone(),
        hrefs => links.kpis.clone(),
        page => page,
    })
    .map_err(|e| Diagnostic::error("YS0500", format!("cannot render the report: {e}")))
}

fn count_statuses(results: &Results) -> Value {
    count_of(results.kpis.iter(), results.headline_period)
}

/// How many of `kpis` are on track, near target, off track, without data, without a target.
fn count_of<'a>(kpis: impl Iterator<Item = &'a KpiResult>, mode: HeadlinePeriod) -> Value {
    let (mut on, mut near, mut off, mut none, mut untargeted, mut total) = (0, 0, 0, 0, 0, 0);
    for k in kpis {
        total += 1;
        match headline(k, mode).map(|(_, s)| s).unwrap_or(Status::NoData) {
            Status::OnTrack => on += 1,
            Status::NearTarget => near += 1,
            Status::OffTrack => off += 1,
            Status::NoData | Status::Suppressed => none += 1,
            Status::NoTarget => untargeted += 1,
        }
    }
    context! { on_track => on, near_target => near, off_track => off, no_data => none, no_target => untargeted, total => total }
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
    let cal = &results.calendar;
    let grain = k.grain.as_deref();
    let (value, status) = headline(k, mode).unwrap_or((None, Status::NoData));
    let last_period = headline_period(k, mode).flatten();
    // What the headline period is called: "all time" only for KPIs without a grain.
    let period_label = match (&last_period, &k.grain) {
        (Some(p), _) => periods::label(Some(p), grain, cal),
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
        (true, Some(p)) => k
            .rows
            .iter()
            .find(|r| r.period.as_ref() == Some(p))
            .map(|r| context! { period => periods::label(Some(p), grain, cal), value => format_value(r.value, &k.unit) }),
        _ => None,
    };
    let provisional: Vec<String> = provisional.iter().map(|p| periods::label(Some(p), grain, cal)).collect();
    let warnings: Vec<&crate::results::WarningResult> =
        results.warnings.iter().filter(|w| w.kpi.as_deref() == Some(k.id.as_str())).collect();
    // For a KPI with `by`, worst first (as the bar chart).
    let latest_rows: Vec<&crate::results::ResultRow> = if k.by.is_empty() {
        k.rows.iter().filter(|r| r.period == last_period).collect()
    } else {
        let mut rows = breakdown::worst_first(k, mode);
        rows.extend(k.rows.iter().filter(|r| r.period == last_period && r.value.is_none()));
        rows
    };
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
        target_now => scorecard::target_text(k, latest_rows.first().and_then(|r| r.target)),
        status_icon => scorecard::status_icon(status.name()),
        baseline_period => k.baseline.as_ref().map(|b| periods::label(Some(&b.period), grain, cal)),
        change => scorecard::change(k, mode, cal),
        sparkline => Value::from_safe_string(scorecard::kpi_sparkline(k, mode, cal)),
        row_periods => k.rows.iter().map(|r| periods::label(r.period.as_deref(), grain, cal)).collect::<Vec<_>>(),
        chart => Value::from_safe_string(if !k.by.is_empty() || k.spc.is_some() { String::new() } else { svg::trend_svg(k, cal) }),
        bars => Value::from_safe_string(breakdown::bars_svg(k, mode, cal)),
        multiples => breakdown::multiples(k, mode, cal).into_iter().map(|(name, svg)| context! { name => name, chart => Value::from_safe_string(svg) }).collect::<Vec<_>>(),
        multiples_more => {
            let groups: std::collections::BTreeSet<String> = k.rows.iter().map(|r| crate::spc::group_label(&r.groups)).collect();
            if k.by.is_empty() { 0 } else { groups.len().saturating_sub(breakdown::MULTIPLES) }
        },
        hotspots => hotspots::kpi_hotspots(k, mode).iter().take(hotspots::TOP).map(|h| hotspots::view(k, h, cal)).collect::<Vec<_>>(),
        heat => hotspots::heat_table(k, mode, cal),
        spc => spc_view(k, cal),
        events => events_view(k, cal),
        benchmarks => benchmarks_view(k, last_period.as_deref()),
        peer_rank => k.peer_ranks.iter().find(|_| k.by.is_empty()).map(|r| peer_rank_view(r, k, cal)),
        group_peer_ranks => k.peer_ranks.iter().filter(|_| !k.by.is_empty()).map(|r| peer_rank_view(r, k, cal)).collect::<Vec<_>>(),
        row_signals => row_signals(k),
    }
}

fn peer_rank_view(r: &crate::spc::PeerRank, k: &KpiResult, cal: &crate::results::PeriodCalendar) -> Value {
    let group: Vec<(String, serde_json::Value)> = r.group.iter().map(|(c, v)| (c.clone(), v.clone())).collect();
    context! {
        group => crate::spc::group_label(&group),
        rank => r.rank, of => r.of, quartile => r.quartile,
        period => spc_chart::period_name(&r.period, k.grain.as_deref(), cal),
    }
}

/// Per group: the XmR chart, its icons and the summary sentence (at most 8 groups drawn).
fn spc_view(k: &KpiResult, cal: &crate::results::PeriodCalendar) -> Value {
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
                chart => Value::from_safe_string(spc_chart::xmr_svg(k, g, cal)),
                summary => spc_chart::summary(k, g, cal),
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
fn events_view(k: &KpiResult, cal: &crate::results::PeriodCalendar) -> Vec<Value> {
    k.events
        .iter()
        .enumerate()
        .map(|(n, e)| {
            let effect = e.effects.first().filter(|_| k.by.is_empty());
            context! {
                n => n + 1,
                date => periods::label(Some(&e.date), Some("day"), cal),
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
        "suppressed" => "Suppressed",
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
        serde_json::Value::String(s) if s.is_empty() => "(empty)".into(),
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
