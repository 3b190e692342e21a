//! AST + config -> checked [`Model`]. Resolves names (sources, columns, KPIs), types every
//! expression, works out units and targets. Collects every error before returning; does no IO.
//!
//! `Checker` lives here; its methods are spread over one file per concern (see ARCHITECTURE.md).

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;

use crate::ast::{self, BinaryOp, ExprKind, GoalMember, KpiClauseKind, MetaKind, ObjectiveMember, UnaryOp};
use crate::config::{Config, SourceSpec};
use crate::diagnostics::{Diagnostic, Diagnostics, suggest};
use crate::limits::{MAX_EVENTS, MAX_KPIS};
use crate::model::*;
use crate::span::{FileId, Span};

mod annotations;
mod change;
mod data_checks;
mod derived;
mod expr;
mod functions;
mod kpi;
mod measure;
mod names;
mod per;
mod privacy;
mod target;
mod time;

/// Check all parsed files against the config: the model and the warnings found, or every
/// error (with the warnings) when any.
pub fn check(config: &Config, files: &[ast::File]) -> Result<(Model, Vec<Diagnostic>), Diagnostics> {
    if let Some(d) = too_many_kpis(files) {
        return Err(Diagnostics::one(d));
    }
    let mut cx = Checker {
        config,
        errors: vec![],
        warnings: vec![],
        seen: HashMap::new(),
        pending: vec![],
        unresolved: HashSet::new(),
        scope_events: HashMap::new(),
        file_events: vec![],
        file_benchmarks: vec![],
        kpi_checks: vec![],
    };
    cx.read_annotation_files();
    // Events of goals and objectives apply to every KPI under them, wherever they are written.
    for goal in files.iter().flat_map(|f| &f.goals) {
        for m in &goal.members {
            match m {
                GoalMember::Event(e) => cx.scope_events.entry(goal.id.name.clone()).or_default().push(e.clone()),
                GoalMember::Objective(o) => {
                    for om in &o.members {
                        if let ObjectiveMember::Event(e) = om {
                            cx.scope_events.entry(o.id.name.clone()).or_default().push(e.clone());
                        }
                    }
                }
                _ => {}
            }
        }
    }
    // A goal's or objective's events reach every KPI under it: too many is reported once here.
    let mut crowded: Vec<(&String, &Vec<ast::EventAst>)> = cx.scope_events.iter().filter(|(_, v)| v.len() > MAX_EVENTS).collect();
    crowded.sort_by_key(|(id, _)| *id);
    let crowded: Vec<Diagnostic> = crowded
        .into_iter()
        .map(|(id, v)| {
            Diagnostic::error("YS0102", format!("`{id}` has {} events, more than {MAX_EVENTS}", v.len()))
                .at(v[MAX_EVENTS].span, format!("event {}", MAX_EVENTS + 1))
                .help(format!("a goal or objective can have up to {MAX_EVENTS} events (docs/language.md, Limits)"))
        })
        .collect();
    if !crowded.is_empty() {
        return Err(Diagnostics(crowded));
    }
    let mut goals = vec![];
    let mut kpis = vec![];
    for file in files {
        for goal in &file.goals {
            cx.unique("goal", &goal.id);
            let meta = cx.meta(goal.members.iter().filter_map(|m| match m {
                GoalMember::Meta(m) => Some(m),
                _ => None,
            }));
            let mut info = GoalInfo {
                id: goal.id.name.clone(),
                title: title_or_id(&goal.title, &goal.id),
                owner: meta.owner.clone(),
                description: meta.description.clone(),
                objectives: vec![],
            };
            for member in &goal.members {
                match member {
                    GoalMember::Meta(_) | GoalMember::Event(_) => {}
                    GoalMember::Kpi(k) => {
                        if let Some(mut checked) = cx.kpi(k, &goal.id.name, None, meta.owner.as_deref()) {
                            cx.privacy(k, &mut checked, false);
                            kpis.push(checked);
                        }
                    }
                    GoalMember::Objective(o) => {
                        cx.unique("objective", &o.id);
                        let ometa = cx.meta(o.members.iter().filter_map(|m| match m {
                            ObjectiveMember::Meta(m) => Some(m),
                            _ => None,
                        }));
                        let owner = ometa.owner.clone().or(meta.owner.clone());
                        let internal = cx.objective_audience(o);
                        info.objectives.push(ObjectiveInfo {
                            id: o.id.name.clone(),
                            title: title_or_id(&o.title, &o.id),
                            owner: owner.clone(),
                            description: ometa.description.clone(),
                            internal,
                        });
                        for m in &o.members {
                            if let ObjectiveMember::Kpi(k) = m {
                                if let Some(mut checked) = cx.kpi(k, &goal.id.name, Some(&o.id.name), owner.as_deref()) {
                                    cx.privacy(k, &mut checked, internal);
                                    kpis.push(checked);
                                }
                            }
                        }
                    }
                }
            }
            goals.push(info);
        }
    }
    let mut checks = std::mem::take(&mut cx.kpi_checks);
    for block in files.iter().flat_map(|f| &f.checks) {
        cx.data_checks(block, &mut checks);
    }
    // Source checks and KPIs' checks together, in file order.
    checks.sort_by_key(|c| (c.span.file, c.span.start));
    cx.resolve_derived(&mut kpis);
    privacy::derived_audience(&mut kpis);
    cx.apply_annotation_files(&mut kpis, &goals);
    if !cx.errors.is_empty() {
        cx.errors.extend(cx.warnings);
        return Err(Diagnostics(cx.errors).sorted());
    }
    if kpis.is_empty() {
        cx.warnings.push(
            Diagnostic::warning("YS0004", "the project defines no KPIs: its .kpi files hold no `kpi` blocks").help(
                "define KPIs inside a goal: `goal g \"Goal\" { kpi k \"KPI\" { from <source> measure count() } }` (docs/language.md)",
            ),
        );
    }
    let warnings = Diagnostics(cx.warnings).sorted().0;
    Ok((
        Model {
            name: config.name.clone(),
            title: config.title.clone(),
            calendar: config.calendar.clone(),
            headline_period: config.headline_period,
            allow_paths: config.allow_paths.clone(),
            sources: config.sources.clone(),
            goals,
            kpis,
            checks,
        },
        warnings,
    ))
}

/// [`MAX_KPIS`]: checked first, so a huge project costs nothing more than its parse.
fn too_many_kpis(files: &[ast::File]) -> Option<Diagnostic> {
    let mut kpis = files.iter().flat_map(|f| &f.goals).flat_map(|g| &g.members).flat_map(|m| match m {
        GoalMember::Kpi(k) => vec![k],
        GoalMember::Objective(o) => o
            .members
            .iter()
            .filter_map(|m| match m {
                ObjectiveMember::Kpi(k) => Some(k),
                _ => None,
            })
            .collect(),
        GoalMember::Meta(_) | GoalMember::Event(_) => vec![],
    });
    let extra = kpis.nth(MAX_KPIS)?;
    Some(
        Diagnostic::error("YS0102", format!("the project has more than {MAX_KPIS} KPIs"))
            .at(extra.id.span, format!("KPI {}", MAX_KPIS + 1))
            .help(format!("a project can define up to {MAX_KPIS} KPIs (docs/language.md, Limits): split it into several projects")),
    )
}

fn title_or_id(title: &Option<ast::Str>, id: &ast::Ident) -> String {
    title.as_ref().map(|t| t.value.clone()).unwrap_or_else(|| id.name.clone())
}

struct Checker<'a> {
    config: &'a Config,
    errors: Vec<Diagnostic>,
    /// Kept apart from `errors`: clause checks compare `errors.len()` before and after to
    /// tell whether a KPI is usable, and a warning must never make it unusable.
    warnings: Vec<Diagnostic>,
    /// Names of goals, objectives and KPIs share one namespace: ids appear in URLs and JSON.
    seen: HashMap<String, (&'static str, Span)>,
    /// Derived KPIs, resolved once every KPI is known (they may refer forward).
    pending: Vec<ast::Kpi>,
    /// Derived KPIs not (yet, or not successfully) resolved: inputs that are these have
    /// their own errors, or a cycle, already reported.
    unresolved: HashSet<String>,
    /// `event` clauses of goals and objectives, by goal or objective id.
    scope_events: HashMap<String, Vec<ast::EventAst>>,
    /// The events and benchmarks files' rows, applied once every KPI is known.
    file_events: Vec<annotations::FileEvent>,
    file_benchmarks: Vec<annotations::FileBenchmark>,
    /// The rules of KPIs' `check { ... }` clauses (with the KPI's id), as KPIs are checked.
    kpi_checks: Vec<DataCheck>,
}

#[derive(Default)]
struct Meta {
    owner: Option<String>,
    description: Option<String>,
    method: Option<String>,
}

/// The source and columns expressions of one KPI may refer to.
struct Scope<'a> {
    source_id: &'a str,
    source: &'a SourceSpec,
    /// Under `per`, the measure reads the entities' values (keys, groups, time, `per`
    /// definitions), not the source's columns.
    entity: Option<&'a IndexMap<String, (Type, Unit)>>,
}

impl Scope<'_> {
    fn column(&self, name: &str) -> Option<Type> {
        if let Some(entity) = self.entity {
            return entity.get(name).map(|(t, _)| *t);
        }
        if self.source.file_column.as_deref() == Some(name) {
            return Some(Type::String);
        }
        self.source.columns.get(name).map(|c| c.ty.into())
    }
    /// What a column measures: the unit of a `per` definition, else none.
    fn unit(&self, name: &str) -> Unit {
        self.entity.and_then(|e| e.get(name)).map(|(_, u)| u.clone()).unwrap_or(Unit::None)
    }
    fn names(&self) -> Vec<&str> {
        if let Some(entity) = self.entity {
            return entity.keys().map(String::as_str).collect();
        }
        let mut v: Vec<&str> = self.source.columns.keys().map(String::as_str).collect();
        v.extend(self.source.file_column.as_deref());
        v
    }
}

impl<'a> Checker<'a> {
    fn unique(&mut self, kind: &'static str, id: &ast::Ident) {
        if let Some((first_kind, first)) = self.seen.get(&id.name) {
            self.errors.push(
                Diagnostic::error("YS0202", format!("`{}` is already the name of a {first_kind}", id.name))
                    .at(id.span, format!("second {kind} named `{}`", id.name))
                    .also(*first, "first defined here")
                    .help("goal, objective and KPI names must be unique across the project; rename one"),
            );
        } else {
            self.seen.insert(id.name.clone(), (kind, id.span));
        }
    }

    fn meta<'m>(&mut self, clauses: impl Iterator<Item = &'m ast::MetaClause>) -> Meta {
        let mut meta = Meta::default();
        let mut first: HashMap<MetaKind, Span> = HashMap::new();
        for c in clauses {
            if let Some(prev) = first.get(&c.kind) {
                self.errors.push(duplicate_clause(c.kind.keyword(), c.span, *prev));
                continue;
            }
            first.insert(c.kind, c.span);
            let v = Some(c.value.value.clone());
            match c.kind {
                MetaKind::Owner => meta.owner = v,
                MetaKind::Description => meta.description = v,
                MetaKind::Method => meta.method = v,
            }
        }
        meta
    }
}

/// "a string", "an integer".
fn article(t: Type) -> String {
    let n = t.name();
    if n.starts_with(['a', 'e', 'i', 'o', 'u']) { format!("an {n}") } else { format!("a {n}") }
}

fn plural_args(n: &std::ops::RangeInclusive<usize>) -> String {
    let word = |k: usize| if k == 1 { "argument" } else { "arguments" };
    if n.start() == n.end() { format!("{} {}", n.start(), word(*n.start())) } else { format!("{} to {} arguments", n.start(), n.end()) }
}

fn duplicate_clause(kw: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("YS0203", format!("`{kw}` is given twice"))
        .at(span, "second one")
        .also(first, "first one")
        .help(format!("a KPI has at most one `{kw}`; combine them (e.g. conditions with `and`) or remove one"))
}

fn source_list(config: &Config) -> String {
    if config.sources.is_empty() {
        "none are declared yet".to_string()
    } else {
        config.sources.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
    }
}
