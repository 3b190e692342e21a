//! Comparisons with the previous period, the same period last year and the baseline; the
//! arithmetic of a change, which `change(...)` KPIs share.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::judge::baseline_value;
use super::{Key, key, parse_period};
use crate::model::*;
use crate::results::{Change, ResultRow, round_value};

/// Previous period, same period last year and baseline comparisons.
pub(super) fn compare(kpi: &CheckedKpi, rows: &mut [ResultRow], values: &HashMap<Key, Option<f64>>) {
    let Some(grain) = kpi.grain else { return };
    if kpi.compare.is_empty() {
        return;
    }
    for r in rows.iter_mut() {
        let Some(period) = parse_period(&r.period) else { continue };
        let value_at = |p: NaiveDate| values.get(&key(&Some(p.to_string()), &r.groups)).copied().flatten();
        for c in &kpi.compare {
            let other = match c.lag() {
                Some(lag) => lag.period_before(grain, period).and_then(&value_at),
                None => baseline_value(kpi, values, &r.groups),
            };
            r.comparisons.push((c.name(), change(r.value, other, kpi.direction)));
        }
    }
}

/// This value against another (a comparison).
pub fn change(value: Option<f64>, other: Option<f64>, direction: Option<Direction>) -> Change {
    let delta = change_of(ChangeKind::Absolute, value, other);
    let relative = change_of(ChangeKind::Relative, value, other);
    let improved = match (delta, direction) {
        (Some(d), Some(Direction::Increasing)) => Some(d > 0.0),
        (Some(d), Some(Direction::Decreasing)) => Some(d < 0.0),
        _ => None,
    };
    Change { value: other, change: delta.map(round_value), relative_change: relative.map(round_value), improved }
}

/// A value against an earlier one: the difference, or the difference over the earlier
/// value's magnitude (none when the earlier value is 0). Missing either: none.
pub(super) fn change_of(kind: ChangeKind, value: Option<f64>, earlier: Option<f64>) -> Option<f64> {
    let (v, e) = (value?, earlier?);
    match kind {
        ChangeKind::Absolute => Some(v - e),
        ChangeKind::Relative if e == 0.0 => None,
        ChangeKind::Relative => Some((v - e) / e.abs()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_by_hand() {
        let c = change(Some(0.8), Some(0.5), Some(Direction::Increasing));
        assert_eq!(c.change, Some(0.3));
        assert_eq!(c.relative_change, Some(0.6));
        assert_eq!(c.improved, Some(true));
        let c = change(Some(4.0), Some(5.0), Some(Direction::Increasing));
        assert_eq!(c.improved, Some(false));
        let c = change(Some(4.0), Some(0.0), None);
        assert_eq!((c.change, c.relative_change, c.improved), (Some(4.0), None, None));
    }
}
