//! `diff --values`: a changed KPI's numbers on both sides, both built on today's data, so
//! every difference comes from the definitions.

use crate::config::HeadlinePeriod;
use crate::results::{KpiResult, Status};

/// A KPI's headline: the period the report shows, its value (none for KPIs with groups:
/// their status is the worst group's) and status.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    pub period: Option<String>,
    pub value: Option<f64>,
    pub status: Status,
}

/// How a KPI's numbers move from the old definition to the new.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueChange {
    /// The unit values are shown in (the new side's, else the old's).
    pub unit: String,
    pub old_unit: String,
    pub old: Option<Latest>,
    pub new: Option<Latest>,
    /// Periods (one per period and group: a row) whose value or status differs, or that
    /// exist on one side only, of all those on either side.
    pub changed: usize,
    pub total: usize,
}

fn latest(k: &KpiResult, mode: HeadlinePeriod) -> Option<Latest> {
    let (value, status) = crate::report::headline(k, mode)?;
    let period = crate::report::headline_period(k, mode).flatten();
    Some(Latest { period, value, status })
}

/// Better is higher: on track > near target > off track; other statuses are not ranked.
fn rank(s: Status) -> Option<u8> {
    match s {
        Status::OnTrack => Some(2),
        Status::NearTarget => Some(1),
        Status::OffTrack => Some(0),
        Status::NoData | Status::NoTarget | Status::Suppressed => None,
    }
}

/// Two values the same to the 12 significant digits results keep.
fn same(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-300),
        _ => false,
    }
}

pub fn compare(old: Option<&KpiResult>, new: Option<&KpiResult>, old_mode: HeadlinePeriod, new_mode: HeadlinePeriod) -> ValueChange {
    let key = |r: &crate::results::ResultRow| {
        (r.period.clone(), serde_json::to_string(&r.groups.iter().map(|(_, v)| v).collect::<Vec<_>>()).unwrap_or_default())
    };
    let rows = |k: Option<&KpiResult>| -> indexmap::IndexMap<_, _> {
        k.map(|k| k.rows.iter().map(|r| (key(r), (r.value, r.status))).collect()).unwrap_or_default()
    };
    let (a, b) = (rows(old), rows(new));
    let mut keys: Vec<_> = a.keys().chain(b.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    let changed = keys
        .iter()
        .filter(|k| match (a.get(*k), b.get(*k)) {
            (Some((x, s)), Some((y, t))) => !same(*x, *y) || s != t,
            _ => true,
        })
        .count();
    let unit_of = |k: Option<&KpiResult>| k.map(|k| k.unit.clone());
    ValueChange {
        unit: unit_of(new).or(unit_of(old)).unwrap_or_default(),
        old_unit: unit_of(old).or(unit_of(new)).unwrap_or_default(),
        old: old.and_then(|k| latest(k, old_mode)),
        new: new.and_then(|k| latest(k, new_mode)),
        changed,
        total: keys.len(),
    }
}

impl ValueChange {
    /// On the same data, a better status can only come from the definition: say so.
    pub fn improved_by_definition(&self, arrow: &str) -> Option<String> {
        let (o, n) = (self.old.as_ref()?, self.new.as_ref()?);
        match (rank(o.status), rank(n.status)) {
            (Some(a), Some(b)) if b > a => Some(format!(
                "status improved {} {arrow} {} only because the definition changed (same data)",
                o.status.name(),
                n.status.name()
            )),
            _ => None,
        }
    }
}
