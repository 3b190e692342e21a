//! The target in force per period (schedules, trajectories) and statuses.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{Key, key, parse_period};
use crate::config::Calendar;
use crate::model::*;
use crate::results::{ResultRow, Status, round_value};

/// The baseline value for a group: the stated one, else the group's value in that period.
pub(super) fn baseline_value(kpi: &CheckedKpi, values: &HashMap<Key, Option<f64>>, groups: &[(String, serde_json::Value)]) -> Option<f64> {
    let b = kpi.baseline.as_ref()?;
    b.value.or_else(|| values.get(&key(&Some(b.period.to_string()), groups)).copied().flatten())
}

pub(super) fn values_of(rows: &[ResultRow]) -> HashMap<Key, Option<f64>> {
    rows.iter().map(|r| (key(&r.period, &r.groups), r.value)).collect()
}

/// The threshold in force and the status of every row.
pub(super) fn judge(kpi: &CheckedKpi, rows: &mut [ResultRow], values: &HashMap<Key, Option<f64>>, calendar: &Calendar) {
    for r in rows.iter_mut() {
        let period = parse_period(&r.period);
        let target = kpi.target_at(period);
        let threshold = target.and_then(|t| threshold(kpi, t, period, values, &r.groups, calendar));
        r.target = threshold.map(round_value);
        r.status = match (r.value, target) {
            (None, _) => Status::NoData,
            (Some(_), None) => Status::NoTarget,
            (Some(v), Some(t)) => match t.rule {
                TargetRule::Between { .. } => verdict_status(t.judge(v, 0.0)),
                TargetRule::Compare { .. } => match threshold {
                    Some(th) => verdict_status(t.judge(v, th)),
                    None => Status::NoTarget,
                },
            },
        };
    }
}

pub fn verdict_status(v: Verdict) -> Status {
    match v {
        Verdict::Met => Status::OnTrack,
        Verdict::Near => Status::NearTarget,
        Verdict::Missed => Status::OffTrack,
    }
}

/// A comparator target's threshold for a period. With a baseline and a deadline it is a
/// trajectory: linear by date from the baseline value (at the baseline period's start) to
/// the target (at the deadline period's start), the target itself from then on, and no
/// target before the baseline period.
pub(super) fn threshold(
    kpi: &CheckedKpi,
    t: &Target,
    period: Option<NaiveDate>,
    values: &HashMap<Key, Option<f64>>,
    groups: &[(String, serde_json::Value)],
    calendar: &Calendar,
) -> Option<f64> {
    let goal = t.value()?;
    let (Some(deadline), Some(baseline), Some(period)) = (t.deadline, &kpi.baseline, period) else {
        return Some(goal);
    };
    let start = baseline.period;
    if period < start {
        return None;
    }
    // A group without a value in the baseline period has no trajectory: the target itself.
    let (Some(grain), Some(start_value)) = (kpi.grain, baseline_value(kpi, values, groups)) else {
        return Some(goal);
    };
    // Deadline periods are compared by their first day, like every period.
    let end = grain.period_of(deadline, calendar);
    if period >= end || end <= start {
        return Some(goal);
    }
    let frac = (period - start).num_days() as f64 / (end - start).num_days() as f64;
    Some(start_value + (goal - start_value) * frac)
}
