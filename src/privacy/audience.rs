//! Public builds: the model without what is marked internal (docs/privacy.md).

use std::collections::HashSet;

use crate::diagnostics::Diagnostic;
use crate::model::Model;

/// Remove internal KPIs (their own `audience internal`, their objective's, or an internal
/// input's) with their data checks, internal objectives and internal breakdowns. Returns the ids of the KPIs and
/// objectives left out, for [`public_warnings`].
pub fn public_model(model: &mut Model) -> HashSet<String> {
    let mut left_out: HashSet<String> = model.kpis.iter().filter(|k| k.privacy.internal).map(|k| k.id.clone()).collect();
    model.kpis.retain(|k| !k.privacy.internal);
    // An internal KPI's `check` clause goes with it: its rules, results and example rows.
    model.checks.retain(|c| c.kpi.as_ref().is_none_or(|k| !left_out.contains(k)));
    for g in &mut model.goals {
        left_out.extend(g.objectives.iter().filter(|o| o.internal).map(|o| o.id.clone()));
        g.objectives.retain(|o| !o.internal);
    }
    for k in &mut model.kpis {
        let drop = std::mem::take(&mut k.privacy.internal_by);
        if drop.is_empty() {
            continue;
        }
        k.by.retain(|b| !drop.contains(b));
        k.by_computed.retain(|(b, _)| !drop.contains(b));
        // Benchmark values for one group of a breakdown that is gone match nothing.
        for b in &mut k.benchmarks {
            b.values.retain(|(_, group, _)| group.is_none());
        }
    }
    left_out
}

/// The warnings a public build may show: none about (or naming) what it left out.
pub fn public_warnings(warnings: &mut Vec<Diagnostic>, left_out: &HashSet<String>) {
    if left_out.is_empty() {
        return;
    }
    warnings.retain(|w| {
        !w.kpi.as_ref().is_some_and(|k| left_out.contains(k)) && !left_out.iter().any(|id| w.message.contains(&format!("`{id}`")))
    });
}
