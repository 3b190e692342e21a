//! `yardstick list [--format json]`: the project's goals, objectives and KPIs with owners,
//! targets and sources, from the checked model (no data is read). The JSON shape is
//! documented in docs/cli.md and built from [`Listing`], the one place it is defined.

use std::path::Path;

use serde::Serialize;

use crate::model::{CheckedKpi, Model};
use crate::span::SourceMap;

/// `yardstick list --format json` (docs/cli.md, "yardstick list").
#[derive(Debug, Serialize)]
pub struct Listing {
    pub project: String,
    pub goals: Vec<GoalEntry>,
    pub kpis: Vec<KpiEntry>,
    pub sources: Vec<SourceEntry>,
}

#[derive(Debug, Serialize)]
pub struct GoalEntry {
    pub id: String,
    pub title: String,
    pub owner: Option<String>,
    pub objectives: Vec<ObjectiveEntry>,
    /// KPIs directly in the goal (not in an objective).
    pub kpis: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ObjectiveEntry {
    pub id: String,
    pub title: String,
    pub owner: Option<String>,
    pub kpis: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct KpiEntry {
    pub id: String,
    pub title: String,
    pub goal: String,
    pub objective: Option<String>,
    /// The KPI's own owner, else its objective's, else its goal's.
    pub owner: Option<String>,
    /// `None` for a derived KPI.
    pub source: Option<String>,
    /// The KPIs a derived KPI is computed from (empty otherwise).
    pub inputs: Vec<String>,
    pub grain: Option<String>,
    pub by: Vec<String>,
    pub unit: String,
    /// Each target as written, e.g. `>= 90% tolerance 2pp`; several for a schedule.
    pub targets: Vec<String>,
    /// `file:line` of the `kpi` block.
    pub defined_at: String,
}

#[derive(Debug, Serialize)]
pub struct SourceEntry {
    pub id: String,
    pub path: String,
    pub description: Option<String>,
    pub time: Option<String>,
    /// KPIs that read it.
    pub kpis: Vec<String>,
}

/// `file:line` of a KPI's definition.
pub fn defined_at(kpi: &CheckedKpi, sources: &SourceMap) -> String {
    format!("{}:{}", sources.get(kpi.span.file).name, sources.line_col(kpi.span).0)
}

/// The listing of a checked model.
pub fn listing(model: &Model, sources: &SourceMap) -> Listing {
    let kpis_in = |goal: &str, objective: Option<&str>| -> Vec<String> {
        model.kpis.iter().filter(|k| k.goal == goal && k.objective.as_deref() == objective).map(|k| k.id.clone()).collect()
    };
    let goals = model
        .goals
        .iter()
        .map(|g| GoalEntry {
            id: g.id.clone(),
            title: g.title.clone(),
            owner: g.owner.clone(),
            objectives: g
                .objectives
                .iter()
                .map(|o| ObjectiveEntry {
                    id: o.id.clone(),
                    title: o.title.clone(),
                    owner: o.owner.clone(),
                    kpis: kpis_in(&g.id, Some(&o.id)),
                })
                .collect(),
            kpis: kpis_in(&g.id, None),
        })
        .collect();
    let kpis = model
        .kpis
        .iter()
        .map(|k| {
            let mut inputs = vec![];
            if let Some(d) = &k.derived {
                d.inputs(&mut inputs);
            }
            KpiEntry {
                id: k.id.clone(),
                title: k.title.clone(),
                goal: k.goal.clone(),
                objective: k.objective.clone(),
                owner: k.owner.clone(),
                source: k.source.clone(),
                inputs,
                grain: k.grain.map(|g| g.name().to_string()),
                by: k.by.clone(),
                unit: k.unit.label(),
                targets: k.targets.iter().map(|t| t.text.clone()).collect(),
                defined_at: defined_at(k, sources),
            }
        })
        .collect();
    let sources = model
        .sources
        .iter()
        .map(|(id, s)| SourceEntry {
            id: id.clone(),
            path: s.location(),
            description: s.description.clone(),
            time: s.time.clone(),
            kpis: model.kpis.iter().filter(|k| k.source.as_deref() == Some(id)).map(|k| k.id.clone()).collect(),
        })
        .collect();
    Listing { project: model.name.clone(), goals, kpis, sources }
}

impl Listing {
    /// An indented outline: goals, their objectives, their KPIs (each with its target,
    /// grain, source and owner), then the sources.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let owner = |o: &Option<String>| o.as_ref().map(|o| format!(" (owner: {o})")).unwrap_or_default();
        let kpi_line = |id: &str, indent: &str, out: &mut String| {
            let Some(k) = self.kpis.iter().find(|k| k.id == id) else { return };
            out.push_str(&format!("{indent}kpi {} \"{}\"\n", k.id, k.title));
            let mut facts = vec![];
            facts.extend(k.targets.iter().map(|t| format!("target {t}")));
            if let Some(g) = &k.grain {
                facts.push(format!("per {g}"));
            }
            if !k.by.is_empty() {
                facts.push(format!("by {}", k.by.join(", ")));
            }
            match &k.source {
                Some(s) => facts.push(format!("from {s}")),
                None => facts.push(format!("derived from {}", k.inputs.join(", "))),
            }
            if let Some(o) = &k.owner {
                facts.push(format!("owner {o}"));
            }
            out.push_str(&format!("{indent}    {}\n", facts.join(" · ")));
        };
        for g in &self.goals {
            out.push_str(&format!("goal {} \"{}\"{}\n", g.id, g.title, owner(&g.owner)));
            for o in &g.objectives {
                out.push_str(&format!("  objective {} \"{}\"{}\n", o.id, o.title, owner(&o.owner)));
                for k in &o.kpis {
                    kpi_line(k, "    ", &mut out);
                }
            }
            for k in &g.kpis {
                kpi_line(k, "  ", &mut out);
            }
        }
        if !self.sources.is_empty() {
            out.push_str("sources\n");
            for s in &self.sources {
                let n = s.kpis.len();
                out.push_str(&format!("  {}: {} ({n} KPI{})\n", s.id, s.path, if n == 1 { "" } else { "s" }));
            }
        }
        out
    }
}

/// `yardstick list DIR [--format json]`.
pub fn run(dir: &Path, json: bool, allow_outside: bool, color: bool) -> crate::CommandOutput {
    match crate::compile_with(dir, crate::Options { allow_outside, ..Default::default() }) {
        Ok(c) => {
            let listing = listing(&c.model, &c.sources);
            let text = if json {
                serde_json::to_string_pretty(&listing).map(|s| s + "\n").unwrap_or_default()
            } else {
                crate::diagnostics::escape_text(&listing.human()).into_owned()
            };
            crate::CommandOutput { status: 0, stdout: text, stderr: c.render_warnings(color) }
        }
        Err(f) => crate::CommandOutput::failed(&f, color),
    }
}
