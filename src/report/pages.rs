//! The report as pages: the one-file overview (`index.html`) and, besides it, a page per KPI
//! (`kpi/<id>.html`), per goal (`goal/<id>.html`), per owner (`owner/<name>.html`) and the
//! sources page (`sources.html`). Links are relative (`../index.html#kpi-calls`), so the
//! pages work from `file://` and on any static host; no page has a script.
//!
//! File names come from [`file_stems`]: ids and owners' names become names safe on every
//! file system (ASCII letters, digits, `-`, `_`; unique without regard to case; never a
//! reserved Windows device name).

use indexmap::IndexMap;
use minijinja::{Value, context};

use super::{Shared, format_change, format_value, spc_chart};
use crate::diagnostics::Diagnostic;
use crate::results::{KpiResult, ResultRow, Results, Status};

/// Where a page is and how it links: what the templates read as `pages`, `root`, `here`,
/// `nav` and `hrefs`.
#[derive(Clone)]
pub struct Links {
    /// A build with pages (else the one file: every link is within it).
    pub pages: bool,
    /// The way from the page to the report's top: `""` or `"../"`.
    pub root: &'static str,
    /// Which page: `index`, `kpi`, `goal`, `owner`, `sources`.
    pub here: &'static str,
    /// The navigation: the overview, the sources page, each goal's and owner's page.
    pub nav: Value,
    /// KPI id -> its page, from the report's top (`kpi/calls.html`).
    pub kpis: Value,
}

impl Links {
    pub fn single_file() -> Links {
        Links { pages: false, root: "", here: "index", nav: Value::from(()), kpis: Value::from(()) }
    }
}

/// The template function `kpi_href(id)`: where a link to a KPI goes from this page. In the
/// one file and on the overview, to its card (`#kpi-calls`); elsewhere to its own page.
pub fn kpi_href(state: &minijinja::State, id: String) -> String {
    let pages = state.lookup("pages").is_some_and(|v| v.is_true());
    let here = state.lookup("here").map(|v| v.to_string()).unwrap_or_default();
    let page = state.lookup("hrefs").and_then(|h| h.get_attr(&id).ok()).filter(|v| !v.is_undefined() && !v.is_none());
    match page {
        Some(page) if pages && here != "index" => format!("{}{page}", state.lookup("root").map(|v| v.to_string()).unwrap_or_default()),
        _ => format!("#kpi-{id}"),
    }
}

/// Safe, unique file names (without extension) for `names`, in their order: the first of
/// two names that come out the same keeps it, the next gets `-2`, and so on.
pub fn file_stems<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    const RESERVED: [&str; 22] = [
        "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9", "lpt1", "lpt2", "lpt3", "lpt4",
        "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
    ];
    let mut taken = std::collections::HashSet::new();
    let mut out = vec![];
    for name in names {
        let mut stem = String::new();
        for c in name.chars() {
            if c.is_ascii_alphanumeric() || c == '_' {
                stem.push(c);
            } else if !stem.ends_with('-') {
                stem.push('-');
            }
            if stem.len() >= 60 {
                break;
            }
        }
        let stem = stem.trim_matches('-').to_string();
        let mut stem = if stem.is_empty() { "page".to_string() } else { stem };
        if RESERVED.contains(&stem.to_ascii_lowercase().as_str()) {
            stem.push('_');
        }
        let mut unique = stem.clone();
        let mut n = 1;
        while !taken.insert(unique.to_ascii_lowercase()) {
            n += 1;
            unique = format!("{stem}-{n}");
        }
        out.push(unique);
    }
    out
}

/// Every file of a build with pages: `(path in the report, text)`, in a fixed order.
pub fn render_pages(results: &Results) -> Result<Vec<(String, String)>, Diagnostic> {
    let env = super::environment()?;
    let shared = Shared::new(results);
    let kpi_stems = file_stems(results.kpis.iter().map(|k| k.id.as_str()));
    let goal_stems = file_stems(results.goals.iter().map(|g| g.id.as_str()));
    let owners = owners(results);
    let owner_stems = file_stems(owners.keys().map(String::as_str));
    let hrefs: IndexMap<&str, String> =
        results.kpis.iter().zip(&kpi_stems).map(|(k, s)| (k.id.as_str(), format!("kpi/{s}.html"))).collect();
    let goal_href = |id: &str| results.goals.iter().position(|g| g.id == id).map(|i| format!("goal/{}.html", goal_stems[i]));
    let owner_href = |name: &str| owners.get_index_of(name).map(|i| format!("owner/{}.html", owner_stems[i]));
    let nav = context! {
        goals => results.goals.iter().zip(&goal_stems).map(|(g, s)| context! { title => g.title.clone(), href => format!("goal/{s}.html") }).collect::<Vec<_>>(),
        goal_pages => results.goals.iter().zip(&goal_stems).map(|(g, s)| (g.id.clone(), format!("goal/{s}.html"))).collect::<IndexMap<_, _>>(),
        owners => owners.keys().zip(&owner_stems).map(|(o, s)| context! { name => o.clone(), href => format!("owner/{s}.html") }).collect::<Vec<_>>(),
    };
    let links =
        |root: &'static str, here: &'static str| Links { pages: true, root, here, nav: nav.clone(), kpis: Value::from_serialize(&hrefs) };
    let mut files = vec![];
    files.push(("index.html".to_string(), super::render(&env, "index.html", &shared, &links("", "index"), Value::from(()))?));
    let readers = readers(results);
    let sources_page = context! {
        readers => results.sources.keys().map(|id| readers.get(id.as_str()).cloned().unwrap_or_default()).collect::<Vec<_>>(),
    };
    files.push(("sources.html".to_string(), super::render(&env, "sources_page.html", &shared, &links("", "sources"), sources_page)?));
    for (i, k) in results.kpis.iter().enumerate() {
        let page = context! {
            v => shared.kpis[i].clone(),
            goal => results.goals.iter().find(|g| g.id == k.goal).map(|g| g.title.clone()),
            goal_href => goal_href(&k.goal),
            objective => results.goals.iter().flat_map(|g| &g.objectives).find(|o| Some(&o.id) == k.objective.as_ref()).map(|o| o.title.clone()),
            owner_href => k.owner.as_deref().and_then(owner_href),
        };
        files.push((hrefs[k.id.as_str()].clone(), super::render(&env, "kpi_page.html", &shared, &links("../", "kpi"), page)?));
    }
    for (g, stem) in results.goals.iter().zip(&goal_stems) {
        let kpis: Vec<&KpiResult> = results.kpis.iter().filter(|k| k.goal == g.id).collect();
        let page = context! { g => Value::from_serialize(g), counts => super::count_of(kpis.iter().copied(), results.headline_period), owner_href => g.owner.as_deref().and_then(owner_href) };
        files.push((format!("goal/{stem}.html"), super::render(&env, "goal_page.html", &shared, &links("../", "goal"), page)?));
    }
    for ((name, owned), stem) in owners.iter().zip(&owner_stems) {
        let kpis: Vec<Value> = owned.kpis.iter().map(|k| changed_view(k, results, &hrefs)).collect();
        let page = context! {
            name => name.clone(),
            kpis => kpis,
            goals => owned.goals.iter().map(|id| context! { title => results.goals.iter().find(|g| &g.id == id).map(|g| g.title.clone()), href => goal_href(id) }).collect::<Vec<_>>(),
            objectives => owned.objectives.iter().map(|(goal, title)| context! { title => title.clone(), href => goal_href(goal) }).collect::<Vec<_>>(),
        };
        files.push((format!("owner/{stem}.html"), super::render(&env, "owner_page.html", &shared, &links("../", "owner"), page)?));
    }
    Ok(files)
}

/// What one owner owns.
#[derive(Default)]
struct Owned<'a> {
    kpis: Vec<&'a KpiResult>,
    goals: Vec<String>,
    /// (goal id, objective title)
    objectives: Vec<(String, String)>,
}

/// Owners in the order they first appear (goals, their objectives, then KPIs in report
/// order), each with what they own.
fn owners(results: &Results) -> IndexMap<String, Owned<'_>> {
    let mut owners: IndexMap<String, Owned> = IndexMap::new();
    for g in &results.goals {
        if let Some(o) = &g.owner {
            owners.entry(o.clone()).or_default().goals.push(g.id.clone());
        }
        for ob in &g.objectives {
            if let Some(o) = &ob.owner {
                owners.entry(o.clone()).or_default().objectives.push((g.id.clone(), ob.title.clone()));
            }
        }
    }
    for k in &results.kpis {
        if let Some(o) = &k.owner {
            owners.entry(o.clone()).or_default().kpis.push(k);
        }
    }
    owners
}

/// Source id -> the KPIs that read it (in report order).
fn readers(results: &Results) -> IndexMap<&str, Vec<Value>> {
    let mut readers: IndexMap<&str, Vec<Value>> = IndexMap::new();
    for k in &results.kpis {
        if let Some(s) = &k.source {
            readers.entry(s.as_str()).or_default().push(context! { id => k.id.clone(), title => k.title.clone() });
        }
    }
    readers
}

/// A KPI on its owner's page: its headline period against the period before.
fn changed_view(k: &KpiResult, results: &Results, hrefs: &IndexMap<&str, String>) -> Value {
    let grain = k.grain.as_deref();
    let now = super::headline_period(k, results.headline_period).flatten();
    let previous: Option<String> = now.as_ref().and_then(|p| k.rows.iter().filter_map(|r| r.period.clone()).filter(|q| q < p).max());
    let rows_of =
        |p: &Option<String>| -> Vec<&ResultRow> { if p.is_none() { vec![] } else { k.rows.iter().filter(|r| &r.period == p).collect() } };
    let (rows_now, rows_before) = (rows_of(&now), rows_of(&previous));
    let name = |p: &Option<String>| match p {
        Some(p) => Some(spc_chart::period_name(p, grain, &results.calendar)),
        None if grain.is_none() && !k.rows.is_empty() => Some("all time".to_string()),
        None => None,
    };
    let status_now = super::headline(k, results.headline_period).map(|(_, s)| s).unwrap_or(Status::NoData);
    let single = k.by.is_empty();
    let (value_now, value_before) = (rows_now.first().and_then(|r| r.value), rows_before.first().and_then(|r| r.value));
    // Groups whose status differs between the two periods.
    let mut moved = vec![];
    if !single {
        for r in &rows_now {
            let before = rows_before.iter().find(|b| b.groups == r.groups).map(|b| b.status).unwrap_or(Status::NoData);
            if before != r.status {
                let label = crate::spc::group_label(&r.groups);
                moved.push(context! {
                    group => if label.is_empty() { "(none)".to_string() } else { label },
                    from => before.name(),
                    to => r.status.name(),
                });
            }
        }
    }
    let on = |rows: &[&ResultRow]| rows.iter().filter(|r| r.status == Status::OnTrack).count();
    let judged = |rows: &[&ResultRow]| rows.iter().filter(|r| super::is_judged(r.status)).count();
    let change = match (single, value_now, value_before) {
        (true, Some(a), Some(b)) => Some(crate::results::round_value(a - b)),
        _ => None,
    };
    let improved = change.filter(|c| *c != 0.0).and_then(|c| match k.direction {
        Some(crate::model::Direction::Increasing) => Some(c > 0.0),
        Some(crate::model::Direction::Decreasing) => Some(c < 0.0),
        None => None,
    });
    context! {
        id => k.id.clone(),
        title => k.title.clone(),
        href => hrefs.get(k.id.as_str()).cloned(),
        single => single,
        by => k.by.clone(),
        period => name(&now),
        previous => previous.as_deref().map(|p| spc_chart::period_name(p, grain, &results.calendar)),
        value => format_value(value_now, &k.unit),
        value_before => format_value(value_before, &k.unit),
        change => change.map(|c| format_change(Some(c), &k.unit)),
        improved => improved,
        status => status_now.name(),
        status_before => if single { rows_before.first().map(|r| r.status.name()) } else { None },
        on_now => on(&rows_now), judged_now => judged(&rows_now),
        on_before => on(&rows_before), judged_before => judged(&rows_before),
        moved => moved,
    }
}

#[cfg(test)]
mod tests {
    use super::file_stems;

    #[test]
    fn stems_are_safe_and_unique_without_regard_to_case() {
        assert_eq!(
            file_stems(["calls", "Calls", "con", "Ana María López", "../etc", "", "a/b", "calls"]),
            ["calls", "Calls-2", "con_", "Ana-Mar-a-L-pez", "etc", "page", "a-b", "calls-3"]
        );
    }
}
