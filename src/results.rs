//! The results model: what a build computed. The report, results.json and (later) `diff` all
//! read this one type. Serialising it is the results.json contract (docs/results-json.md).

use std::cmp::Ordering;

use indexmap::IndexMap;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::ingest::SourceStats;
use crate::model::{CheckedKpi, Direction, GoalInfo, Model, Target, TargetRule};
use crate::span::SourceMap;

mod data_checks;
pub use data_checks::*;

#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub yardstick: String,
    /// `--as-of`: rows dated later were ignored.
    pub as_of: Option<String>,
    pub project: String,
    pub title: Option<String>,
    pub goals: Vec<GoalInfo>,
    /// `complete` (default) or `latest`: which period headlines show (yardstick.yaml).
    pub headline_period: crate::config::HeadlinePeriod,
    pub kpis: Vec<KpiResult>,
    pub sources: IndexMap<String, SourceResult>,
    /// Every warning of the build, in file order.
    pub warnings: Vec<WarningResult>,
    /// Who the build is for and the project's small-cell rules (docs/privacy.md).
    pub privacy: PrivacyResult,
    /// Every data check (`check <source> { ... }`) with its outcome, in file order.
    pub checks: Vec<CheckResult>,
    /// The git commit the definitions were built from; absent outside a git repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<GitResult>,
    /// How the report names periods; not in results.json, whose periods are ISO dates.
    #[serde(skip)]
    pub calendar: PeriodCalendar,
}

/// What the report needs of the project's calendar to name periods (`Q3 FY 2024/25`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodCalendar {
    /// The month (1-12) the fiscal year starts in.
    pub fiscal_start_month: u32,
    /// `calendar.fiscal_year_label`, or its default.
    pub fiscal_year_label: String,
}

impl Default for PeriodCalendar {
    fn default() -> Self {
        PeriodCalendar { fiscal_start_month: 1, fiscal_year_label: crate::config::DEFAULT_FISCAL_YEAR_LABEL.to_string() }
    }
}

/// The build's audience and the project's suppression defaults (KPIs may override them).
#[derive(Debug, Clone, Serialize)]
pub struct PrivacyResult {
    pub audience: crate::privacy::Audience,
    /// Cells counting fewer rows are suppressed in public builds; null: off.
    pub min_count: Option<u64>,
    /// Counts are rounded to a multiple of this in public builds.
    pub rounding: Option<u64>,
}

/// Where the definitions came from, when the project is in a git repository.
#[derive(Debug, Clone, Serialize)]
pub struct GitResult {
    /// The commit checked out (full hash).
    pub commit: String,
    /// The project directory relative to the repository's top (`""` at the top).
    pub path: String,
    /// Whether any definition file (yardstick.yaml, a `.kpi` file, the holidays file)
    /// differs from the commit: the report is then not the commit's.
    pub dirty: bool,
    /// Those files, relative to the project.
    pub changed: Vec<String>,
}

/// A KPI's definition in git: the file (from the repository's top) at the commit.
#[derive(Debug, Clone, Serialize)]
pub struct KpiGit {
    pub commit: String,
    /// `examples/city/metrics/safety.kpi`.
    pub path: String,
    /// The file differs from the commit (uncommitted changes).
    pub modified: bool,
}

impl Results {
    /// Record the lineage: the commit, and per KPI the file it is defined in. Only
    /// definition files (`definitions`, relative to the project) count as changes: the
    /// report's own output or a data file does not make the definitions dirty.
    pub fn attach_git(&mut self, lineage: &crate::git::Lineage, definitions: &[&str]) {
        let changed: Vec<String> = lineage.changed.iter().filter(|f| definitions.contains(&f.as_str())).cloned().collect();
        let in_repo =
            |file: &str| if lineage.project_path.is_empty() { file.to_string() } else { format!("{}/{file}", lineage.project_path) };
        for k in &mut self.kpis {
            let file = k.defined_at.rsplit_once(':').map(|(f, _)| f).unwrap_or(&k.defined_at).to_string();
            k.git = Some(KpiGit { commit: lineage.commit.clone(), path: in_repo(&file), modified: changed.contains(&file) });
        }
        self.git =
            Some(GitResult { commit: lineage.commit.clone(), path: lineage.project_path.clone(), dirty: !changed.is_empty(), changed });
    }
}

/// A warning as results.json shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WarningResult {
    pub code: String,
    pub message: String,
    /// The KPI it is about, if any.
    pub kpi: Option<String>,
    /// `metrics/safety.kpi:12:7`, if it points at a place.
    pub location: Option<String>,
    pub help: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceResult {
    pub path: String,
    pub format: String,
    pub description: Option<String>,
    #[serde(flatten)]
    pub stats: SourceStats,
}

#[derive(Debug, Clone, Serialize)]
pub struct KpiResult {
    pub id: String,
    pub title: String,
    pub goal: String,
    pub objective: Option<String>,
    pub owner: Option<String>,
    pub unit: String,
    pub grain: Option<String>,
    pub by: Vec<String>,
    /// The target (the latest step of a schedule); `targets` lists every step.
    pub target: Option<TargetResult>,
    pub targets: Vec<TargetResult>,
    /// `increasing` (higher is better), `decreasing`, or null.
    pub direction: Option<Direction>,
    pub baseline: Option<BaselineResult>,
    /// e.g. `rolling 3 months`, `year to date`.
    pub window: Option<String>,
    /// `since` / `between` dates, inclusive.
    pub scope: ScopeResult,
    pub description: Option<String>,
    pub method: Option<String>,
    /// `null` for derived KPIs.
    pub source: Option<String>,
    /// The KPIs a derived KPI is computed from.
    pub inputs: Vec<String>,
    pub time: Option<String>,
    /// The KPI's definition exactly as written in its .kpi file.
    pub definition: String,
    /// Where the definition is: `metrics/safety.kpi:12`.
    pub defined_at: String,
    /// The compiled query, as readable SQL.
    pub sql: String,
    /// Rows of this KPI's source left out because of invalid values (`on_invalid: skip`),
    /// and per column how many values were invalid (skipped or made null): what the KPI's
    /// numbers do not see. Zero and empty for derived KPIs (see their inputs).
    pub rows_skipped: u64,
    pub invalid_values: IndexMap<String, u64>,
    /// Where each row of the source went (`null` for derived KPIs): nothing the KPI does not
    /// count goes unreported.
    pub row_counts: Option<RowCounts>,
    /// The data lag after which a period is complete (the source's `complete_after`).
    pub complete_after: Option<String>,
    /// The file and commit the definition was built from; absent outside git.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<KpiGit>,
    pub rows: Vec<ResultRow>,
    /// Interventions on this KPI and their effect (docs/spc.md).
    pub events: Vec<crate::spc::EventResult>,
    /// Reference values (`benchmark` clauses, the benchmarks file).
    pub benchmarks: Vec<crate::spc::BenchmarkResult>,
    /// Where the KPI (per group with `by`) ranks among its peers in its latest period; empty
    /// without peers.
    pub peer_ranks: Vec<crate::spc::PeerRank>,
    /// The XmR chart per group: limits, point types, verdicts; null without a grain or with
    /// `spc off`.
    pub spc: Option<crate::spc::SpcResult>,
    /// Rows suppressed in this public build (docs/privacy.md); 0 in internal builds.
    pub suppressed_cells: usize,
    /// The measure adds up over rows (counts and sums): the report's hotspots weigh a group's
    /// gap by its rows only when it does not. Not in results.json.
    #[serde(skip)]
    pub additive: bool,
    /// A public build rounds this KPI's counts, so it publishes no group's rows: its
    /// hotspots are weighed by gap alone (the report says so). Not in results.json.
    #[serde(skip)]
    pub volume_withheld: bool,
}

/// A target as results.json shows it: the rule, in the KPI's unit.
#[derive(Debug, Clone, Serialize)]
pub struct TargetResult {
    /// `>=`, `>`, `<=`, `<` or `between`.
    pub comparator: String,
    /// The threshold (comparators) or `null` (bands).
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub tolerance: Option<f64>,
    pub deadline: Option<String>,
    /// First period this target applies to (schedules).
    pub from: Option<String>,
    /// As written, e.g. `>= 90%`.
    pub text: String,
}

impl From<&Target> for TargetResult {
    fn from(t: &Target) -> Self {
        let (comparator, value, low, high) = match t.rule {
            TargetRule::Compare { comparator, value } => (comparator.symbol().to_string(), Some(round_value(value)), None, None),
            TargetRule::Between { low, high } => ("between".to_string(), None, Some(round_value(low)), Some(round_value(high))),
        };
        TargetResult {
            comparator,
            value,
            low,
            high,
            tolerance: t.tolerance.map(round_value),
            deadline: t.deadline.map(|d| d.to_string()),
            from: t.from.map(|d| d.to_string()),
            text: t.text.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    OnTrack,
    /// Missed, but within the target's tolerance.
    NearTarget,
    OffTrack,
    NoData,
    /// A value but no target to judge it by.
    NoTarget,
    /// Not published: too few rows (docs/privacy.md).
    Suppressed,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::OnTrack => "on_track",
            Status::NearTarget => "near_target",
            Status::OffTrack => "off_track",
            Status::NoData => "no_data",
            Status::NoTarget => "no_target",
            Status::Suppressed => "suppressed",
        }
    }
}

/// One row of a KPI: a period, the group values, the value and its status.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    /// First day of the period, `YYYY-MM-DD`; `None` for KPIs without a grain.
    pub period: Option<String>,
    /// `by` column -> value, in `by` order.
    pub groups: Vec<(String, serde_json::Value)>,
    pub value: Option<f64>,
    /// The threshold in force for this period (moves along a trajectory).
    pub target: Option<f64>,
    pub status: Status,
    /// Comparison name -> the value compared with and the change.
    pub comparisons: Vec<(&'static str, Change)>,
    /// The period's data may be incomplete (see `complete_after`): shown, marked, and not
    /// used for headlines.
    pub provisional: bool,
    /// Why the value is not published (small-cell suppression, docs/privacy.md): the value,
    /// target and comparisons are then empty and the status `suppressed`.
    pub suppressed: Option<String>,
    /// How many rows (entities, for `per` KPIs) the value was computed from: for a share, its
    /// denominator. `None` for derived and windowed KPIs and for empty periods filled in.
    /// The report weighs hotspots by it.
    pub counted: Option<u64>,
}

/// This period's value against an earlier one (or a baseline).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The value compared with (`null` when that period has no data).
    pub value: Option<f64>,
    /// `this - that`.
    pub change: Option<f64>,
    /// `(this - that) / |that|`; `null` when `that` is 0.
    pub relative_change: Option<f64>,
    /// Whether the change is an improvement, given the KPI's direction.
    pub improved: Option<bool>,
}

impl ResultRow {
    /// A row with a value (or none) and nothing judged yet: the run and series stages make
    /// them; `series` sets targets, statuses and comparisons.
    pub fn new(period: Option<String>, groups: Vec<(String, serde_json::Value)>, value: Option<f64>) -> Self {
        ResultRow {
            period,
            groups,
            value,
            target: None,
            status: Status::NoData,
            comparisons: vec![],
            provisional: false,
            suppressed: None,
            counted: None,
        }
    }
}

impl Serialize for ResultRow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("period", &self.period)?;
        for (k, v) in &self.groups {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("value", &self.value)?;
        if let Some(t) = self.target {
            map.serialize_entry("target", &t)?;
        }
        map.serialize_entry("status", &self.status)?;
        if self.provisional {
            map.serialize_entry("provisional", &true)?;
        }
        if let Some(why) = &self.suppressed {
            map.serialize_entry("suppressed", why)?;
        }
        if let Some(n) = self.counted {
            map.serialize_entry("rows", &n)?;
        }
        if !self.comparisons.is_empty() {
            let c: IndexMap<&str, &Change> = self.comparisons.iter().map(|(k, v)| (*k, v)).collect();
            map.serialize_entry("comparisons", &c)?;
        }
        map.end()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BaselineResult {
    pub period: String,
    /// `null`: each group's own value in that period.
    pub value: Option<f64>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScopeResult {
    pub start: Option<String>,
    pub end: Option<String>,
}

/// Values are rounded to 12 significant digits: floating-point sums may differ in the last
/// bits between runs (parallel partial aggregates merge in any order); rounding keeps
/// results.json byte-identical and loses nothing a KPI could mean.
pub fn round_value(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { 0.0 } else { v };
    }
    format!("{v:.11e}").parse().unwrap_or(v)
}

/// Rows in the contract's order: by period, then by group values (nulls last).
pub fn sort_rows(rows: &mut [ResultRow]) {
    rows.sort_by(|a, b| {
        cmp_opt(&a.period, &b.period).then_with(|| {
            a.groups.iter().zip(&b.groups).map(|((_, x), (_, y))| cmp_json(x, y)).find(|o| *o != Ordering::Equal).unwrap_or(Ordering::Equal)
        })
    });
}

fn cmp_opt(a: &Option<String>, b: &Option<String>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => a.cmp(b),
    }
}

pub(crate) fn cmp_json(a: &serde_json::Value, b: &serde_json::Value) -> Ordering {
    use serde_json::Value as V;
    match (a, b) {
        (V::Null, V::Null) => Ordering::Equal,
        (V::Null, _) => Ordering::Greater,
        (_, V::Null) => Ordering::Less,
        (V::Number(x), V::Number(y)) => x.as_f64().unwrap_or(0.0).partial_cmp(&y.as_f64().unwrap_or(0.0)).unwrap_or(Ordering::Equal),
        (V::Bool(x), V::Bool(y)) => x.cmp(y),
        (V::String(x), V::String(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// Everything the run stage measured, before it is joined with definitions.
#[derive(Debug, Clone, Default)]
pub struct RunOutput {
    pub rows: IndexMap<String, Vec<ResultRow>>,
    pub sources: IndexMap<String, SourceStats>,
    /// Windowed KPIs: the last period any row came from (`YYYY-MM-DD`). Their queries also
    /// produce the periods after it (the windows trailing off); `series` cuts them there
    /// unless a scope end or `--as-of` says where periods end.
    pub data_ends: IndexMap<String, String>,
    /// Per KPI with a source: what happened to each of its source's rows.
    pub accounting: IndexMap<String, RowCounts>,
    /// Per KPI with a time column: the latest day of that column in the whole source
    /// (before scopes and `--as-of`): where the data ends, for provisional periods.
    pub time_ends: IndexMap<String, String>,
    /// What the data checks measured, in file order.
    pub checks: Vec<CheckRun>,
}

/// Where every row of a KPI's source went, counted step by step: `read` =
/// `excluded_by_where` + `without_time` + `outside_scope` + `counted`. `null_input` counts rows among `counted` whose value
/// for the measure is null (an average skips them; a share counts them as not meeting
/// its condition). `skipped_invalid` rows were dropped before (`on_invalid: skip`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RowCounts {
    pub read: u64,
    pub skipped_invalid: u64,
    pub excluded_by_where: u64,
    pub without_time: u64,
    pub outside_scope: u64,
    pub counted: u64,
    pub null_input: u64,
}

/// Join the model, the compiled SQL and the run's output into [`Results`].
pub fn assemble(
    model: &Model,
    sql: &IndexMap<String, String>,
    run: RunOutput,
    mut spc: IndexMap<String, crate::spc::KpiSpc>,
    sources: &SourceMap,
    as_of: Option<chrono::NaiveDate>,
    warnings: &[crate::diagnostics::Diagnostic],
) -> Results {
    let mut run = run;
    let checks = judge_checks(model, &run.checks, as_of, sources);
    let kpis = model
        .kpis
        .iter()
        .map(|k| {
            let mut r =
                kpi_result(k, sql.get(&k.id).cloned().unwrap_or_default(), run.rows.shift_remove(&k.id).unwrap_or_default(), sources);
            if let Some(stats) = k.source.as_ref().and_then(|s| run.sources.get(s)) {
                r.rows_skipped = stats.rows_skipped;
                r.invalid_values = stats.invalid_values.clone();
            }
            r.row_counts = run.accounting.get(&k.id).copied();
            r.complete_after = k
                .source
                .as_ref()
                .and_then(|s| model.sources.get(s))
                .filter(|_| k.grain.is_some())
                .map(|s| k.complete_after.unwrap_or(s.complete_after).text());
            let a = spc.shift_remove(&k.id).unwrap_or_default();
            (r.events, r.benchmarks, r.peer_ranks, r.spc) = (a.events, a.benchmarks, a.peer_ranks, a.spc);
            r
        })
        .collect();
    let sources_out = model
        .sources
        .iter()
        .filter_map(|(id, spec)| {
            let stats = run.sources.shift_remove(id)?;
            Some((
                id.clone(),
                SourceResult {
                    path: spec.location(),
                    format: format!("{:?}", spec.format()).to_lowercase(),
                    description: spec.description.clone(),
                    stats,
                },
            ))
        })
        .collect();
    Results {
        yardstick: env!("CARGO_PKG_VERSION").to_string(),
        as_of: as_of.map(|d| d.to_string()),
        project: model.name.clone(),
        title: model.title.clone(),
        goals: model.goals.clone(),
        headline_period: model.headline_period,
        kpis,
        sources: sources_out,
        privacy: PrivacyResult { audience: crate::privacy::Audience::Internal, min_count: None, rounding: None },
        checks,
        warnings: warnings
            .iter()
            .map(|w| WarningResult {
                code: w.code.to_string(),
                message: w.message.clone(),
                kpi: w.kpi.clone(),
                location: w.span.map(|span| {
                    let (line, col) = sources.line_col(span);
                    format!("{}:{line}:{col}", sources.get(span.file).name)
                }),
                help: w.help.clone(),
            })
            .collect(),
        git: None,
        calendar: PeriodCalendar {
            fiscal_start_month: model.calendar.fiscal_start_month(),
            fiscal_year_label: model
                .calendar
                .fiscal_year_label
                .clone()
                .unwrap_or_else(|| crate::config::DEFAULT_FISCAL_YEAR_LABEL.to_string()),
        },
    }
}

fn kpi_result(k: &CheckedKpi, sql: String, rows: Vec<ResultRow>, sources: &SourceMap) -> KpiResult {
    let (line, _) = sources.line_col(k.span);
    KpiResult {
        id: k.id.clone(),
        title: k.title.clone(),
        goal: k.goal.clone(),
        objective: k.objective.clone(),
        owner: k.owner.clone(),
        unit: k.unit.label(),
        grain: k.grain.map(|g| g.name().to_string()),
        by: k.by.clone(),
        target: k.targets.last().map(TargetResult::from),
        targets: k.targets.iter().map(TargetResult::from).collect(),
        direction: k.direction,
        baseline: k.baseline.as_ref().map(|b| BaselineResult {
            period: b.period.to_string(),
            value: b.value.map(round_value),
            text: b.text.clone(),
        }),
        window: k.window.map(|w| w.label(k.grain)),
        scope: ScopeResult { start: k.scope.start.map(|d| d.to_string()), end: k.scope.end.map(|d| d.to_string()) },
        inputs: {
            let mut v = vec![];
            if let Some(d) = &k.derived {
                d.inputs(&mut v);
            }
            v
        },
        description: k.description.clone(),
        method: k.method.clone(),
        source: k.source.clone(),
        time: k.time.clone(),
        definition: sources.slice(k.span).to_string(),
        defined_at: format!("{}:{line}", sources.get(k.span.file).name),
        sql,
        rows_skipped: 0,
        invalid_values: IndexMap::new(),
        row_counts: None,
        complete_after: None,
        git: None,
        rows,
        events: vec![],
        benchmarks: vec![],
        peer_ranks: vec![],
        spc: None,
        suppressed_cells: 0,
        volume_withheld: false,
        additive: k.derived.is_none() && k.measure.is_additive(),
    }
}
