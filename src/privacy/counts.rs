//! How many rows each cell of a KPI counts, for small-cell suppression: a count KPI's value
//! is its count; every other KPI gets a hidden count KPI (`<id>#n`, a name no KPI can
//! have) with the same source, filters, groups, grain, scope and window, which the planner
//! fuses into the KPI's own query. `suppress` reads and removes their rows.

use crate::model::*;

/// Ends the id of a hidden count KPI.
pub const COUNT_SUFFIX: &str = "#n";

/// Whether a KPI's value is itself the number of rows (or entities) a cell counts.
pub fn value_is_count(k: &CheckedKpi) -> bool {
    k.change.is_none() && matches!(&k.measure, Measure::Aggregate(a) if matches!(a.func, AggFunc::Count | AggFunc::CountDistinct))
}

/// The hidden count KPIs of the KPIs whose cells are suppressed when small and whose
/// value is not a count: the denominator of a share or a ratio of counts, the rows with
/// a value for other aggregates.
pub fn count_kpis(model: &Model) -> Vec<CheckedKpi> {
    model
        .kpis
        .iter()
        .filter(|k| k.source.is_some() && k.privacy.min_count.is_some() && (!value_is_count(k)))
        .map(|k| {
            let measure = match &k.measure {
                Measure::Share { filter, .. } => Measure::Aggregate(Aggregate { func: AggFunc::Count, arg: None, filter: filter.clone() }),
                Measure::Ratio(_, d) if matches!(&**d, Measure::Aggregate(a) if matches!(a.func, AggFunc::Count | AggFunc::CountDistinct)) => {
                    (**d).clone()
                }
                Measure::Aggregate(a) if matches!(a.func, AggFunc::Count | AggFunc::CountDistinct) => k.measure.clone(),
                Measure::Aggregate(a) => Measure::Aggregate(Aggregate { func: AggFunc::Count, arg: a.arg.clone(), filter: a.filter.clone() }),
                _ => Measure::Aggregate(Aggregate { func: AggFunc::Count, arg: None, filter: None }),
            };
            CheckedKpi {
                id: format!("{}{COUNT_SUFFIX}", k.id),
                measure,
                unit: Unit::Count,
                targets: vec![],
                baseline: None,
                direction: None,
                compare: vec![],
                derived: None,
                spc: SpcOptions { enabled: false, ..k.spc },
                events: vec![],
                benchmarks: vec![],
                change: None,
                ..k.clone()
            }
        })
        .collect()
}
