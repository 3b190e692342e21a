//! The four Making Data Count rules over one segment's points, and which one labels a point
//! (NHSRplotthedots 0.2.2, `ptd_special_cause_type`): outside the limits, then a trend, then
//! 2 of 3 beyond the 2-sigma line, then a shift. The first rule that holds wins.

use serde::Serialize;

use super::limits::Limits;
use crate::model::TwoOfThree;

/// Points in a row for a trend or a shift.
pub const RUN: usize = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Strictly above the upper or below the lower process limit.
    OutsideLimits,
    /// Part of 7 or more points in a row each strictly higher (or lower) than the one before.
    Trend,
    /// 2 of 3 points in a row beyond the 2-sigma line, all 3 strictly on one side of the mean.
    TwoOfThree,
    /// Part of 7 or more points in a row strictly on one side of the mean.
    Shift,
}

/// Which way a signal points: above the mean (or rising), or below (or falling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    High,
    Low,
}

/// -1, 0 or 1: below, on or above the mean.
fn side_of(v: f64, mean: f64) -> i8 {
    if v > mean {
        1
    } else if v < mean {
        -1
    } else {
        0
    }
}

/// Each point's rule and side (`None`: common cause), in the order of `values`.
pub fn label(values: &[f64], limits: &Limits, two_of_three: TwoOfThree) -> Vec<Option<(Rule, Side)>> {
    let n = values.len();
    let rel: Vec<i8> = values.iter().map(|v| side_of(*v, limits.mean)).collect();
    let process = limits.process();
    let sigma2 = limits.two_sigma();
    let outside: Vec<bool> = values.iter().map(|v| process.is_some_and(|(lo, hi)| *v > hi || *v < lo)).collect();
    // Beyond the 2-sigma line: only up to the limit (default), or any distance (MDC 2023).
    let beyond: Vec<bool> = values
        .iter()
        .zip(&outside)
        .map(|(v, out)| {
            let past = sigma2.is_some_and(|(lo, hi)| *v < lo || *v > hi);
            match two_of_three {
                TwoOfThree::BetweenLimits => past && !out,
                TwoOfThree::BeyondTwoSigma => past,
            }
        })
        .collect();
    let trend = trend_sides(values);
    let two = two_of_three_flags(&beyond, &rel);
    let shift = shift_flags(&rel);
    (0..n)
        .map(|i| {
            let side = |r: i8| if r > 0 { Side::High } else { Side::Low };
            if outside[i] {
                Some((Rule::OutsideLimits, side(rel[i])))
            } else if let Some(s) = trend[i] {
                Some((Rule::Trend, s))
            } else if two[i] {
                Some((Rule::TwoOfThree, side(rel[i])))
            } else if shift[i] {
                Some((Rule::Shift, side(rel[i])))
            } else {
                None
            }
        })
        .collect()
}

/// For every window of [`RUN`] consecutive items for which `f` gives a value, that value on
/// each of the window's items (a later window overwrites an earlier one).
fn mark_runs<X, T: Copy>(items: &[X], f: impl Fn(&[X]) -> Option<T>) -> Vec<Option<T>> {
    let mut out = vec![None; items.len()];
    for end in RUN.saturating_sub(1)..items.len() {
        let window = &items[end + 1 - RUN..=end];
        if let Some(v) = f(window) {
            for o in &mut out[end + 1 - RUN..=end] {
                *o = Some(v);
            }
        }
    }
    out
}

/// Points that are part of a run of [`RUN`] points each strictly higher (`High`) or lower
/// (`Low`) than the one before; a tie ends a run. A point shared by a rising and a falling
/// run (a peak) takes the later run's way, as NHSRplotthedots does.
pub fn trend_sides(values: &[f64]) -> Vec<Option<Side>> {
    mark_runs(values, |w| {
        if w.windows(2).all(|p| p[1] > p[0]) {
            Some(Side::High)
        } else if w.windows(2).all(|p| p[1] < p[0]) {
            Some(Side::Low)
        } else {
            None
        }
    })
}

/// Points that are beyond the 2-sigma line (`beyond`) in a window of 3 consecutive points of
/// which at least 2 are beyond and all 3 are strictly on the same side of the mean (`rel`).
/// Only the points beyond are flagged, never the third one.
pub fn two_of_three_flags(beyond: &[bool], rel: &[i8]) -> Vec<bool> {
    let n = beyond.len();
    let mut out = vec![false; n];
    if n < 3 {
        return out;
    }
    for start in 0..=n - 3 {
        let w = start..start + 3;
        let count = beyond[w.clone()].iter().filter(|b| **b).count();
        let sum: i32 = rel[w.clone()].iter().map(|r| *r as i32).sum();
        if count >= 2 && sum.abs() == 3 {
            for i in w {
                out[i] |= beyond[i];
            }
        }
    }
    out
}

/// Points that are part of a run of [`RUN`] points strictly on one side of the mean; a point
/// on the mean ends the run.
pub fn shift_flags(rel: &[i8]) -> Vec<bool> {
    mark_runs(rel, |w| (w[0] != 0 && w.iter().all(|r| *r == w[0])).then_some(())).iter().map(Option::is_some).collect()
}

#[cfg(test)]
mod tests {
    //! Expectations from NHSRplotthedots' tests/testthat/test-ptd_calculate_point_type.R
    //! (the helper functions' own cases, restated for whole points) and by hand.
    use super::*;

    const H: Option<Side> = Some(Side::High);
    const L: Option<Side> = Some(Side::Low);

    #[test]
    fn trend_needs_seven_strictly_moving_points() {
        // test-ptd_calculate_point_type.R, ptd_seven_point_trend: 1:6 has no trend.
        assert_eq!(trend_sides(&[1., 2., 3., 4., 5., 6.]), vec![None; 6]);
        // c(1:3, 3:6): a tie (3, 3) breaks it.
        assert_eq!(trend_sides(&[1., 2., 3., 3., 4., 5., 6.]), vec![None; 7]);
        // 1:7 rises: all seven points are part of it (ptd_part_of_seven_trend).
        assert_eq!(trend_sides(&[1., 2., 3., 4., 5., 6., 7.]), vec![H; 7]);
        // c(2, 1:7, 3): the seven points 1..7, not the 2 before or the 3 after.
        let mut want = vec![None];
        want.extend(vec![H; 7]);
        want.push(None);
        assert_eq!(trend_sides(&[2., 1., 2., 3., 4., 5., 6., 7., 3.]), want);
        // 7:1 falls.
        assert_eq!(trend_sides(&[7., 6., 5., 4., 3., 2., 1.]), vec![L; 7]);
        // Eight rising points are one trend of eight.
        assert_eq!(trend_sides(&[1., 2., 3., 4., 5., 6., 7., 8.]), vec![H; 8]);
    }

    #[test]
    fn a_peak_between_two_trends_takes_the_later_one() {
        // 1..7 then 6..1: the 7 (index 6) ends the rise and starts the fall.
        let v = [1., 2., 3., 4., 5., 6., 7., 6., 5., 4., 3., 2., 1.];
        let s = trend_sides(&v);
        assert_eq!(&s[..6], &[H; 6]);
        assert_eq!(&s[6..], &[L; 7]);
    }

    #[test]
    fn two_of_three_by_hand() {
        // test-ptd_calculate_point_type.R, ptd_two_in_three / ptd_part_of_two_in_three:
        // (1,0,1), (0,1,1), (1,1,0) all on one side: the points beyond are flagged.
        let all_high = [1i8; 7];
        assert_eq!(two_of_three_flags(&[true, false, true], &all_high[..3]), vec![true, false, true]);
        assert_eq!(two_of_three_flags(&[false, true, true], &all_high[..3]), vec![false, true, true]);
        assert_eq!(two_of_three_flags(&[true, true, false], &all_high[..3]), vec![true, true, false]);
        // c(0,0,1,0,1,0,0): the two beyond, two apart, are in one window.
        let b = [false, false, true, false, true, false, false];
        assert_eq!(two_of_three_flags(&b, &all_high), b.to_vec());
        // c(1,0,0,1): never 2 in a window of 3.
        assert_eq!(two_of_three_flags(&[true, false, false, true], &all_high[..4]), vec![false; 4]);
        // c(1,0,0,1,1): the last two.
        assert_eq!(two_of_three_flags(&[true, false, false, true, true], &all_high[..5]), vec![false, false, false, true, true]);
        // Opposite sides of the mean never count (issue #143 of NHSRplotthedots).
        assert_eq!(two_of_three_flags(&[true, false, true], &[1, -1, 1]), vec![false; 3]);
        assert_eq!(two_of_three_flags(&[true, true, false], &[1, 1, 0]), vec![false; 3]);
    }

    #[test]
    fn shift_by_hand() {
        // test-ptd_calculate_point_type.R, ptd_seven_point_one_side_mean with part_of: six
        // above are not enough; eight above then one below: the eight.
        assert_eq!(shift_flags(&[1; 6]), vec![false; 6]);
        assert_eq!(shift_flags(&[1, 1, 1, 1, 1, 1, -1]), vec![false; 7]);
        let mut want = vec![true; 8];
        want.push(false);
        assert_eq!(shift_flags(&[1, 1, 1, 1, 1, 1, 1, 1, -1]), want);
        assert_eq!(shift_flags(&[-1, -1, -1, -1, -1, -1, -1, -1, 1]), want);
        // A point on the mean ends the run.
        assert_eq!(shift_flags(&[1, 1, 1, 0, 1, 1, 1, 1]), vec![false; 8]);
    }

    fn lim(mean: f64, amr: f64) -> Limits {
        Limits { mean, mean_moving_range: Some(amr), screened: 0, baseline_points: 0 }
    }

    #[test]
    fn precedence_outside_beats_trend_beats_two_of_three_beats_shift() {
        // Mean 0, mean moving range 1: limits -/+2.66, 2-sigma lines -/+1.7733.
        let l = lim(0.0, 1.0);
        // A rising run of 7 from 0.1 to 3.0, all above the mean: trend (and shift) for the
        // first six; the last, 3.0 > 2.66, is outside the limits.
        let v = [0.1, 0.2, 0.3, 0.4, 0.5, 1.9, 3.0];
        let got = label(&v, &l, TwoOfThree::BetweenLimits);
        let mut want = vec![Some((Rule::Trend, Side::High)); 6];
        want.push(Some((Rule::OutsideLimits, Side::High)));
        assert_eq!(got, want);
        // Seven above the mean, not rising (0.5, 0.4, ...), two beyond 1.7733 one apart:
        // those two are 2-of-3, the rest shift.
        let v = [0.5, 0.4, 2.0, 0.3, 2.1, 0.2, 0.6];
        let got = label(&v, &l, TwoOfThree::BetweenLimits);
        let s = Some((Rule::Shift, Side::High));
        let t = Some((Rule::TwoOfThree, Side::High));
        assert_eq!(got, vec![s, s, t, s, t, s, s]);
        // Below: the same mirrored.
        let v: Vec<f64> = v.iter().map(|x| -x).collect();
        let got = label(&v, &l, TwoOfThree::BetweenLimits);
        let s = Some((Rule::Shift, Side::Low));
        let t = Some((Rule::TwoOfThree, Side::Low));
        assert_eq!(got, vec![s, s, t, s, t, s, s]);
    }

    #[test]
    fn points_beyond_the_limit_count_for_two_of_three_only_in_the_mdc_variant() {
        // NHSRplotthedots issue #153: 3.0 (outside), 2.0 (beyond 2 sigma), 0.5 (above the
        // mean): one point between the lines is not 2 of 3 by default. The MDC 2023 rule
        // counts the 3.0 too: the 2.0 is flagged (the 3.0 stays "outside the limits").
        let l = lim(0.0, 1.0);
        let v = [-0.5, 3.0, 2.0, 0.5, -0.5];
        let got = label(&v, &l, TwoOfThree::BetweenLimits);
        assert_eq!(got, vec![None, Some((Rule::OutsideLimits, Side::High)), None, None, None]);
        let got = label(&v, &l, TwoOfThree::BeyondTwoSigma);
        assert_eq!(got, vec![None, Some((Rule::OutsideLimits, Side::High)), Some((Rule::TwoOfThree, Side::High)), None, None]);
    }

    #[test]
    fn limits_are_strict() {
        // Exactly on the limit (2.66) is not outside; exactly on the 2-sigma line is not beyond.
        let l = lim(0.0, 1.0);
        let s2 = 2.0 * (2.66 / 3.0);
        let got = label(&[0.1, 2.66, s2, 0.1], &l, TwoOfThree::BetweenLimits);
        assert_eq!(got, vec![None; 4]);
    }

    #[test]
    fn undefined_limits_leave_trends_and_shifts() {
        // No moving range: no limit and no 2-sigma rule; a constant series has neither
        // trend nor shift (every point is on the mean).
        let l = Limits { mean: 5.0, mean_moving_range: None, screened: 19, baseline_points: 20 };
        assert_eq!(label(&[5.0; 20], &l, TwoOfThree::BetweenLimits), vec![None; 20]);
    }
}
