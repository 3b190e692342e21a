//! Derived KPIs' values (arithmetic over other KPIs, aligned on period and groups) and
//! changes against an earlier period (`change`, `relative_change`), for derived KPIs and
//! for a KPI's own values.

use std::collections::HashMap;

use indexmap::IndexMap;

use super::compare::change_of;
use super::{Groups, Key, groups_key, parse_period, row};
use crate::ast::BinaryOp;
use crate::model::*;
use crate::results::{ResultRow, round_value, sort_rows};

/// A derived KPI's rows: its expression evaluated on every period and group any input has,
/// each provisional when a value it read is; and the rows where a relative change has no
/// value because the earlier value is 0 (`(period, groups)`).
pub(super) fn derive(
    expr: &DerivedExpr,
    grain: Option<Grain>,
    done: &HashMap<String, Vec<ResultRow>>,
) -> (Vec<ResultRow>, Vec<(Option<String>, Groups)>) {
    let mut inputs = vec![];
    expr.inputs(&mut inputs);
    let mut values: Inputs = HashMap::new();
    let mut keys: IndexMap<Key, (Option<String>, Groups)> = IndexMap::new();
    for id in &inputs {
        let rows = done.get(id).map(Vec::as_slice).unwrap_or_default();
        let map = values.entry(id.clone()).or_default();
        for r in rows {
            let k = (r.period.clone(), groups_key(&r.groups));
            map.insert(k.clone(), (r.value, r.provisional));
            keys.entry(k).or_insert_with(|| (r.period.clone(), r.groups.clone()));
        }
    }
    let mut zero_bases = vec![];
    let mut out: Vec<ResultRow> = keys
        .into_iter()
        .map(|((_, groups_key), (period, groups))| {
            let mut at = At { grain, values: &values, groups: &groups_key, provisional: false, zero_base: false };
            let v = eval(expr, &period, &mut at).filter(|v| v.is_finite()).map(round_value);
            if v.is_none() && at.zero_base {
                zero_bases.push((period.clone(), groups.clone()));
            }
            let provisional = at.provisional;
            ResultRow { provisional, ..row(period, groups, v) }
        })
        .collect();
    sort_rows(&mut out);
    (out, zero_bases)
}

/// A KPI's own rows turned into their change against an earlier period (`measure
/// change(count(), same_period_last_year)`): the same evaluation as a derived KPI's
/// `change(k, ...)`, over the KPI's own values.
pub(super) fn own_change(
    kpi: &CheckedKpi,
    kind: ChangeKind,
    lag: Lag,
    rows: Vec<ResultRow>,
) -> (Vec<ResultRow>, Vec<(Option<String>, Groups)>) {
    let expr = DerivedExpr::Change { kind, of: Box::new(DerivedExpr::Kpi(kpi.id.clone())), lag };
    derive(&expr, kpi.grain, &HashMap::from([(kpi.id.clone(), rows)]))
}

/// Each input's (value, provisional) by period and group.
type Inputs = HashMap<String, HashMap<Key, (Option<f64>, bool)>>;

/// One row's evaluation: the group it is for, and what the values read say about it.
struct At<'a> {
    grain: Option<Grain>,
    values: &'a Inputs,
    groups: &'a str,
    /// A value read (this period's or an earlier one's) is provisional.
    provisional: bool,
    /// A relative change met an earlier value of 0.
    zero_base: bool,
}

/// Arithmetic with missing values: anything with a missing input is missing, and so is a
/// division by zero and a relative change against 0. Both sides are always evaluated, so
/// every value the row depends on is seen (for `provisional`).
#[recursive::recursive]
fn eval(e: &DerivedExpr, period: &Option<String>, at: &mut At) -> Option<f64> {
    match e {
        DerivedExpr::Kpi(id) => {
            let (v, provisional) = at.values.get(id)?.get(&(period.clone(), at.groups.to_string())).copied()?;
            at.provisional |= provisional;
            v
        }
        DerivedExpr::Number(n) => Some(*n),
        DerivedExpr::Neg(x) => eval(x, period, at).map(|v| -v),
        DerivedExpr::Binary { op, lhs, rhs } => {
            let (l, r) = (eval(lhs, period, at), eval(rhs, period, at));
            let (l, r) = (l?, r?);
            match op {
                BinaryOp::Add => Some(l + r),
                BinaryOp::Sub => Some(l - r),
                BinaryOp::Mul => Some(l * r),
                BinaryOp::Div if r == 0.0 => None,
                BinaryOp::Div => Some(l / r),
                _ => None,
            }
        }
        DerivedExpr::Change { kind, of, lag } => {
            let now = eval(of, period, at);
            // The first periods have no earlier period in the data: no value, nothing to flag.
            let earlier = parse_period(period).zip(at.grain).and_then(|(p, g)| lag.period_before(g, p));
            let then = earlier.and_then(|p| eval(of, &Some(p.to_string()), at));
            if *kind == ChangeKind::Relative && now.is_some() && then == Some(0.0) {
                at.zero_base = true;
            }
            change_of(*kind, now, then)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(values: &[(&str, Option<f64>, bool)]) -> Vec<ResultRow> {
        values.iter().map(|(p, v, prov)| ResultRow { provisional: *prov, ..row(Some(p.to_string()), vec![], *v) }).collect()
    }

    #[test]
    fn derived_arithmetic_misses_on_missing_inputs_and_zero_division() {
        let e = DerivedExpr::Binary {
            op: BinaryOp::Div,
            lhs: Box::new(DerivedExpr::Kpi("a".into())),
            rhs: Box::new(DerivedExpr::Kpi("b".into())),
        };
        let one = |a: Option<f64>, b: Option<f64>| {
            let done =
                HashMap::from([("a".to_string(), rows(&[("2024-01-01", a, false)])), ("b".to_string(), rows(&[("2024-01-01", b, false)]))]);
            derive(&e, Some(Grain::Month), &done).0[0].value
        };
        assert_eq!(one(Some(6.0), Some(3.0)), Some(2.0));
        assert_eq!(one(Some(6.0), Some(0.0)), None);
        assert_eq!(one(None, Some(3.0)), None);
    }

    #[test]
    fn changes_by_hand() {
        // a: Jan 10, Feb 12 (provisional), Mar 0, Apr 5, May none.
        let a = rows(&[
            ("2024-01-01", Some(10.0), false),
            ("2024-02-01", Some(12.0), true),
            ("2024-03-01", Some(0.0), false),
            ("2024-04-01", Some(5.0), false),
            ("2024-05-01", None, false),
        ]);
        let done = HashMap::from([("a".to_string(), a)]);
        let change = |kind| DerivedExpr::Change { kind, of: Box::new(DerivedExpr::Kpi("a".into())), lag: Lag::PreviousPeriod };
        let (abs, zeros) = derive(&change(ChangeKind::Absolute), Some(Grain::Month), &done);
        let got: Vec<_> = abs.iter().map(|r| (r.value, r.provisional)).collect();
        // Jan: no earlier month; Feb 12 - 10 = 2 (provisional); Mar 0 - 12 = -12 (reads Feb:
        // provisional); Apr 5 - 0 = 5; May: no value.
        assert_eq!(got, vec![(None, false), (Some(2.0), true), (Some(-12.0), true), (Some(5.0), false), (None, false)]);
        assert!(zeros.is_empty());
        let (rel, zeros) = derive(&change(ChangeKind::Relative), Some(Grain::Month), &done);
        let got: Vec<_> = rel.iter().map(|r| r.value).collect();
        // Feb 2 / 10 = 0.2; Mar -12 / 12 = -1; Apr: against 0, no value (flagged).
        assert_eq!(got, vec![None, Some(0.2), Some(-1.0), None, None]);
        assert_eq!(zeros, vec![(Some("2024-04-01".to_string()), vec![])]);
    }
}
