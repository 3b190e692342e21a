//! Statistical process control over each KPI's final per-period values: XmR charts in the
//! Making Data Count way, compatible with NHSRplotthedots 0.2.2 (docs/spc.md), the effect of
//! events, and benchmark values. Pure functions over `series`' rows (no IO).
//!
//! - [`limits`]: mean, moving ranges, screening, process limits and 2-sigma lines;
//! - [`rules`]: the four rules and their precedence;
//! - [`verdicts`]: point types by improvement direction, variation and assurance verdicts.

pub mod limits;
pub mod rules;
pub mod verdicts;

use chrono::NaiveDate;
use indexmap::IndexMap;
use serde::Serialize;

use crate::config::HeadlinePeriod;
use crate::model::{CheckedKpi, Direction, Model, SpcOptions, TargetRule};
use crate::results::{ResultRow, round_value};
pub use rules::{Rule, Side};
pub use verdicts::{Assurance, PointType};

/// Fewer points than this in a segment: its limits are "trial limits".
pub const TRIAL_BELOW: usize = 13;

/// What this stage adds to one KPI.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KpiSpc {
    /// `None` for a KPI without a grain, or with `spc off`.
    pub spc: Option<SpcResult>,
    pub events: Vec<EventResult>,
    pub benchmarks: Vec<BenchmarkResult>,
    /// Per group (one entry without `by`): where it ranks among its peers.
    pub peer_ranks: Vec<PeerRank>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SpcResult {
    pub options: SpcOptions,
    /// `increasing`, `decreasing` or null (neutral): which signals are improvements.
    pub improvement_direction: Option<Direction>,
    pub groups: Vec<SpcGroup>,
}

/// One XmR chart: a KPI's values for one group (all of them without `by`).
#[derive(Debug, Clone, Serialize)]
pub struct SpcGroup {
    /// `by` column -> value; `{}` without `by`.
    pub group: IndexMap<String, serde_json::Value>,
    /// Rebase segments in order, each with its own limits.
    pub segments: Vec<Segment>,
    pub points: Vec<Point>,
    /// The latest point's type; null without points.
    pub variation: Option<PointType>,
    pub variation_icon: Option<&'static str>,
    /// Null without a single-threshold target, without a direction, or when the latest
    /// segment has no limits.
    pub assurance: Option<Assurance>,
    pub assurance_icon: Option<&'static str>,
    /// The threshold the assurance verdict used (the one in force in the latest period).
    pub assurance_target: Option<f64>,
    /// Why something was not done: a rebase that matches no point, provisional periods left out.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    /// First and last period of the segment.
    pub start: String,
    pub end: String,
    pub points: usize,
    /// How many points the limits come from (`spc baseline N`: at most N).
    pub baseline_points: usize,
    pub mean: f64,
    pub mean_moving_range: Option<f64>,
    pub moving_ranges_screened: usize,
    /// Lower and upper process limits; null when no moving range is left.
    pub lpl: Option<f64>,
    pub upl: Option<f64>,
    pub lower_two_sigma: Option<f64>,
    pub upper_two_sigma: Option<f64>,
    /// Fewer than 13 points: limits to be revised as points come in.
    pub trial_limits: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub period: String,
    pub value: f64,
    /// Index into `segments`.
    pub segment: usize,
    #[serde(rename = "type")]
    pub point_type: PointType,
    /// The rule that labels it; null for common cause.
    pub rule: Option<Rule>,
    /// `high` (above the mean, or rising) or `low`; null for common cause.
    pub side: Option<Side>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventResult {
    pub date: String,
    /// The KPI's period holding the date.
    pub period: String,
    pub text: Option<String>,
    pub rebase: bool,
    /// `kpi`, `objective`, `goal` or `events_file`.
    pub declared_on: &'static str,
    /// The objective's or goal's id for events declared there.
    pub declared_in: Option<String>,
    /// Before and after, per group.
    pub effects: Vec<EventEffect>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventEffect {
    pub group: IndexMap<String, serde_json::Value>,
    /// From the previous rebase (or the first point) up to the event's period.
    pub before: Stretch,
    /// From the event's period up to the next rebase (or the last point).
    pub after: Stretch,
    /// `after.mean - before.mean`; null when either has no point.
    pub change: Option<f64>,
    /// Whether any point after is special cause; null with `spc off`.
    pub signal_after: Option<bool>,
    /// The type of the first special-cause point after.
    pub signal_type: Option<PointType>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stretch {
    pub points: usize,
    pub mean: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchmarkResult {
    pub name: String,
    pub peer: bool,
    /// `definition` (a `benchmark` clause) or `benchmarks_file`.
    pub declared_in: &'static str,
    /// Entries as given: period null = every period, group null = every group.
    pub values: Vec<BenchmarkValue>,
    /// `(period, group)` -> the first entry's value, for [`BenchmarkResult::at`].
    #[serde(skip)]
    index: std::collections::HashMap<(Option<String>, Option<String>), f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchmarkValue {
    pub period: Option<String>,
    pub group: Option<String>,
    pub value: f64,
}

impl BenchmarkResult {
    /// The value for a period and group (groups' values joined with " / "): the most
    /// specific entry (period and group, period, group, neither).
    pub fn at(&self, period: Option<&str>, group: &str) -> Option<f64> {
        let p = period.map(str::to_string);
        let g = Some(group.to_string());
        [(p.clone(), g.clone()), (p, None), (None, g), (None, None)]
            .into_iter()
            .filter(|(pp, _)| pp.is_none() || period.is_some())
            .find_map(|k| self.index.get(&k).copied())
    }

    /// The value given for exactly this group (in `period`, else for every period): no
    /// fallback to a value for every group.
    pub fn for_group(&self, period: &str, group: &str) -> Option<f64> {
        let get = |p: Option<String>| self.index.get(&(p, Some(group.to_string()))).copied();
        get(Some(period.to_string())).or_else(|| get(None))
    }

    fn new(name: String, peer: bool, declared_in: &'static str, values: Vec<BenchmarkValue>) -> Self {
        let mut index = std::collections::HashMap::new();
        for v in &values {
            index.entry((v.period.clone(), v.group.clone())).or_insert(v.value);
        }
        BenchmarkResult { name, peer, declared_in, values, index }
    }
}

/// Where the KPI ranks among its peers in the latest period with a value.
#[derive(Debug, Clone, Serialize)]
pub struct PeerRank {
    /// The group (`{}` for a KPI without `by`).
    pub group: IndexMap<String, serde_json::Value>,
    pub period: String,
    pub value: f64,
    /// 1 = best (highest without a direction); peers with the same value rank alike.
    pub rank: usize,
    /// The peers with a value that period, and this KPI.
    pub of: usize,
    /// 1 (best quarter) to 4; null without a direction.
    pub quartile: Option<u8>,
}

/// The group values of a row joined for display and matching: `North / Fire`.
pub fn group_label(groups: &[(String, serde_json::Value)]) -> String {
    groups
        .iter()
        .map(|(_, v)| match v {
            // A missing group and an empty text are two groups: their labels must differ, or
            // the report would draw and match the rows of one under the other.
            serde_json::Value::String(s) if s.is_empty() => "(empty)".to_string(),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "(none)".to_string(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

/// This stage for every KPI, in model order.
pub fn analyse(model: &Model, rows: &IndexMap<String, Vec<ResultRow>>) -> IndexMap<String, KpiSpc> {
    model
        .kpis
        .iter()
        .map(|k| (k.id.clone(), analyse_kpi(k, rows.get(&k.id).map(Vec::as_slice).unwrap_or_default(), model.headline_period)))
        .collect()
}

/// A group's rows in period order, as points the chart may use.
struct GroupRows<'a> {
    groups: &'a [(String, serde_json::Value)],
    rows: Vec<&'a ResultRow>,
}

fn by_group(rows: &[ResultRow]) -> Vec<GroupRows<'_>> {
    let mut out: IndexMap<String, GroupRows> = IndexMap::new();
    for r in rows {
        let key = serde_json::to_string(&r.groups.iter().map(|(_, v)| v).collect::<Vec<_>>()).unwrap_or_default();
        out.entry(key).or_insert_with(|| GroupRows { groups: &r.groups, rows: vec![] }).rows.push(r);
    }
    out.into_values().collect()
}

fn date(p: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(p, "%Y-%m-%d").ok()
}

fn group_map(groups: &[(String, serde_json::Value)]) -> IndexMap<String, serde_json::Value> {
    groups.iter().cloned().collect()
}

fn analyse_kpi(kpi: &CheckedKpi, rows: &[ResultRow], headline: HeadlinePeriod) -> KpiSpc {
    let groups = by_group(rows);
    // Points: periods with a value; a provisional period may still change, so it is left
    // out unless the project headlines the latest period anyway.
    let usable = |r: &&ResultRow| r.value.is_some_and(f64::is_finite) && (headline == HeadlinePeriod::Latest || !r.provisional);
    let mut charts = vec![];
    for g in &groups {
        let points: Vec<(NaiveDate, f64, Option<f64>)> =
            g.rows.iter().copied().filter(&usable).filter_map(|r| Some((date(r.period.as_deref()?)?, r.value?, r.target))).collect();
        let left_out = g.rows.iter().filter(|r| r.value.is_some() && r.provisional && headline != HeadlinePeriod::Latest).count();
        let mut c = chart(kpi, &points, left_out);
        c.group = group_map(g.groups);
        let suppressed = g.rows.iter().filter(|r| r.suppressed.is_some()).count();
        if suppressed > 0 {
            c.notes.push(format!(
                "{suppressed} suppressed period{} left out (small numbers, docs/privacy.md): the moving ranges join the periods on either side",
                if suppressed == 1 { "" } else { "s" }
            ));
        }
        charts.push((g, c));
    }
    let spc = (kpi.grain.is_some() && kpi.spc.enabled).then(|| SpcResult {
        options: kpi.spc,
        improvement_direction: kpi.direction,
        groups: charts.iter().map(|(_, c)| c.clone()).collect(),
    });
    let events = kpi
        .events
        .iter()
        .map(|e| EventResult {
            date: e.date.to_string(),
            period: e.period.to_string(),
            text: e.text.clone(),
            rebase: e.rebase,
            declared_on: match &e.origin {
                crate::model::EventOrigin::Kpi => "kpi",
                crate::model::EventOrigin::Objective(_) => "objective",
                crate::model::EventOrigin::Goal(_) => "goal",
                crate::model::EventOrigin::File => "events_file",
            },
            declared_in: match &e.origin {
                crate::model::EventOrigin::Objective(id) | crate::model::EventOrigin::Goal(id) => Some(id.clone()),
                _ => None,
            },
            effects: charts.iter().map(|(g, c)| effect(e.period, c, g, spc.is_some())).collect(),
        })
        .collect();
    let benchmarks: Vec<BenchmarkResult> = kpi
        .benchmarks
        .iter()
        .map(|b| {
            BenchmarkResult::new(
                b.name.clone(),
                b.peer,
                if b.from_definition { "definition" } else { "benchmarks_file" },
                b.values
                    .iter()
                    .map(|(p, g, v)| BenchmarkValue { period: p.map(|d| d.to_string()), group: g.clone(), value: round_value(*v) })
                    .collect(),
            )
        })
        .collect();
    let peer_ranks = groups.iter().filter_map(|g| peer_rank(kpi, g, &benchmarks, usable)).collect();
    KpiSpc { spc, events, benchmarks, peer_ranks }
}

/// One group's XmR chart from its points `(period, value, threshold in force)`.
fn chart(kpi: &CheckedKpi, points: &[(NaiveDate, f64, Option<f64>)], left_out: usize) -> SpcGroup {
    let rebases: Vec<NaiveDate> = kpi.events.iter().filter(|e| e.rebase).map(|e| e.period).collect();
    // Assurance needs a single threshold in force in the latest period.
    let threshold = points.last().and_then(|(p, _, t)| {
        let rule = kpi.target_at(Some(*p))?.rule;
        matches!(rule, TargetRule::Compare { .. }).then_some(*t)?
    });
    let values: Vec<(NaiveDate, f64)> = points.iter().map(|(p, v, _)| (*p, *v)).collect();
    let mut g = xmr(&values, &rebases, kpi.spc, kpi.direction, threshold);
    if left_out > 0 {
        g.notes.insert(
            0,
            format!("{left_out} provisional period{} left out (their data may be incomplete)", if left_out == 1 { " is" } else { "s are" }),
        );
    }
    g
}

/// An XmR chart of `points` (period order): segments restarted at each rebase period that
/// is a point (other than the first), limits, rules, point types by `direction`, and the
/// variation and assurance verdicts (assurance against `threshold`, when given).
pub fn xmr(
    points: &[(NaiveDate, f64)],
    rebases: &[NaiveDate],
    opts: SpcOptions,
    direction: Option<Direction>,
    threshold: Option<f64>,
) -> SpcGroup {
    let mut notes = vec![];
    let mut starts = vec![0usize];
    let mut rebases = rebases.to_vec();
    rebases.sort();
    rebases.dedup();
    for r in rebases {
        match points.iter().position(|(p, _)| *p == r) {
            Some(0) => notes.push(format!("the rebase at {r} is the first point: it changes nothing")),
            Some(i) => starts.push(i),
            None => notes.push(format!("the rebase at {r} matches no period with a value: it changes nothing")),
        }
    }
    let mut segments = vec![];
    let mut out_points = vec![];
    for (si, &start) in starts.iter().enumerate() {
        let end = starts.get(si + 1).copied().unwrap_or(points.len());
        if start >= end {
            continue;
        }
        let seg = &points[start..end];
        let values: Vec<f64> = seg.iter().map(|(_, v)| *v).collect();
        let Some(lim) = limits::limits(&values, opts.baseline.map(|n| n as usize), opts.screening) else { continue };
        let labels = rules::label(&values, &lim, opts.two_of_three);
        let process = lim.process();
        let sigma2 = lim.two_sigma();
        let index = segments.len();
        segments.push(Segment {
            start: seg[0].0.to_string(),
            end: seg[seg.len() - 1].0.to_string(),
            points: seg.len(),
            baseline_points: lim.baseline_points,
            mean: round_value(lim.mean),
            mean_moving_range: lim.mean_moving_range.map(round_value),
            moving_ranges_screened: lim.screened,
            lpl: process.map(|p| round_value(p.0)),
            upl: process.map(|p| round_value(p.1)),
            lower_two_sigma: sigma2.map(|p| round_value(p.0)),
            upper_two_sigma: sigma2.map(|p| round_value(p.1)),
            trial_limits: seg.len() < TRIAL_BELOW,
        });
        for ((p, v), signal) in seg.iter().zip(labels) {
            out_points.push(Point {
                period: p.to_string(),
                value: *v,
                segment: index,
                point_type: verdicts::point_type(signal, direction),
                rule: signal.map(|s| s.0),
                side: signal.map(|s| s.1),
            });
        }
    }
    let variation = out_points.last().map(|p| p.point_type);
    // The latest segment's limits, unrounded (strict comparisons on the real limits).
    let limits_now = starts
        .last()
        .and_then(|&s| {
            limits::limits(&points[s..].iter().map(|(_, v)| *v).collect::<Vec<_>>(), opts.baseline.map(|n| n as usize), opts.screening)
        })
        .and_then(|l| l.process());
    let assurance = match (threshold, limits_now, direction) {
        (Some(t), Some(l), Some(d)) => Some(verdicts::assurance(t, l, d)),
        _ => None,
    };
    if threshold.is_some() && direction.is_some() && limits_now.is_none() && !points.is_empty() {
        notes.push("the latest segment has no process limits (no moving range is left): no assurance verdict".into());
    }
    SpcGroup {
        group: IndexMap::new(),
        segments,
        points: out_points,
        variation,
        variation_icon: variation.map(|v| verdicts::variation_icon(v, direction)),
        assurance,
        assurance_icon: assurance.map(Assurance::icon),
        assurance_target: threshold.filter(|_| assurance.is_some()).map(round_value),
        notes,
    }
}

/// Before and after an event in one group's chart (points are in period order).
fn effect(period: NaiveDate, chart: &SpcGroup, g: &GroupRows, with_spc: bool) -> EventEffect {
    let p = period.to_string();
    let starts: Vec<&str> = chart.segments.iter().skip(1).map(|s| s.start.as_str()).collect();
    let lo = starts.iter().filter(|s| **s < p.as_str()).max().copied();
    let hi = starts.iter().filter(|s| **s > p.as_str()).min().copied();
    let first_at = |d: &str| chart.points.partition_point(|x| x.period.as_str() < d);
    let at = first_at(&p);
    let before = &chart.points[lo.map_or(0, first_at)..at];
    let after = &chart.points[at..hi.map_or(chart.points.len(), first_at)];
    let stretch = |pts: &[Point]| Stretch {
        points: pts.len(),
        mean: (!pts.is_empty()).then(|| round_value(limits::mean(&pts.iter().map(|x| x.value).collect::<Vec<_>>()))),
    };
    let (b, a) = (stretch(before), stretch(after));
    let change = match (b.mean, a.mean) {
        (Some(x), Some(y)) => Some(round_value(y - x)),
        _ => None,
    };
    let first_signal = after.iter().find(|x| x.point_type.is_special()).map(|x| x.point_type);
    EventEffect {
        group: group_map(g.groups),
        before: b,
        after: a,
        change,
        signal_after: with_spc.then_some(first_signal.is_some()),
        signal_type: first_signal.filter(|_| with_spc),
    }
}

/// Where one group (the KPI itself without `by`) ranks among its peers in its latest period
/// with a value. A group is ranked only against peer values given for that group: a peer's
/// whole-organisation value is no fair comparison for one district.
fn peer_rank(kpi: &CheckedKpi, g: &GroupRows, benchmarks: &[BenchmarkResult], usable: impl Fn(&&ResultRow) -> bool) -> Option<PeerRank> {
    let latest = g.rows.iter().copied().rev().filter(|r| usable(r)).find(|r| r.period.is_some())?;
    let (period, value) = (latest.period.clone()?, latest.value?);
    let label = group_label(g.groups);
    let peers: Vec<f64> = benchmarks
        .iter()
        .filter(|b| b.peer)
        .filter_map(|b| if kpi.by.is_empty() { b.at(Some(&period), "") } else { b.for_group(&period, &label) })
        .collect();
    if peers.is_empty() {
        return None;
    }
    let better = peers
        .iter()
        .filter(|p| match kpi.direction {
            Some(Direction::Decreasing) => **p < value,
            _ => **p > value,
        })
        .count();
    let of = peers.len() + 1;
    let rank = better + 1;
    let quartile = kpi.direction.map(|_| (1 + 4 * (rank - 1) / of) as u8);
    Some(PeerRank { group: group_map(g.groups), period, value, rank, of, quartile })
}
