//! The centre line and process limits of one segment of an XmR chart (NHSRplotthedots 0.2.2,
//! `ptd_spc_standard`): mean, moving ranges, outlier screening, limits and 2-sigma lines.

/// Process limits are the mean -/+ this many mean moving ranges (3 sigma: 3 / d2, d2 = 1.128).
pub const LIMIT: f64 = 2.66;
/// A moving range at least this many mean moving ranges wide is screened out (Nelson 1982).
pub const SCREEN: f64 = 3.267;

/// The limits of one segment. `None` limits: no moving range is left (a single point, or a
/// constant series whose moving ranges, all 0, are all screened out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub mean: f64,
    /// The mean moving range the limits are built from (after screening).
    pub mean_moving_range: Option<f64>,
    /// How many moving ranges were left out by screening.
    pub screened: usize,
    /// How many points the mean and moving ranges come from (`spc baseline N`: the first N).
    pub baseline_points: usize,
}

impl Limits {
    fn width(&self, factor: f64) -> Option<(f64, f64)> {
        self.mean_moving_range.map(|amr| (self.mean - factor * amr, self.mean + factor * amr))
    }
    /// Lower and upper process limits.
    pub fn process(&self) -> Option<(f64, f64)> {
        self.width(LIMIT)
    }
    /// The 2-sigma lines: mean -/+ 2 x (2.66 / 3) x mean moving range.
    pub fn two_sigma(&self) -> Option<(f64, f64)> {
        self.width(2.0 * (LIMIT / 3.0))
    }
}

/// The mean, close to exactly rounded (R sums in extended precision): a compensated
/// (Neumaier) sum divided by n; a constant series has exactly its value as mean, so none of
/// its points lies "above" or "below" it by a rounding error.
pub fn mean(values: &[f64]) -> f64 {
    let Some(first) = values.first() else { return f64::NAN };
    if values.iter().all(|v| v == first) {
        return *first;
    }
    let (mut sum, mut carry) = (0.0f64, 0.0f64);
    for &v in values {
        let t = sum + v;
        carry += if sum.abs() >= v.abs() { (sum - t) + v } else { (v - t) + sum };
        sum = t;
    }
    (sum + carry) / values.len() as f64
}

/// Limits from `values` (a segment's points in period order); only the first `baseline`
/// points when given.
pub fn limits(values: &[f64], baseline: Option<usize>, screening: bool) -> Option<Limits> {
    if values.is_empty() {
        return None;
    }
    let fixed = &values[..baseline.map_or(values.len(), |n| n.min(values.len()))];
    let mean = mean(fixed);
    let ranges: Vec<f64> = fixed.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let amr = (!ranges.is_empty()).then(|| self::mean(&ranges));
    let (kept, screened) = match amr {
        Some(amr) if screening => {
            // Kept when strictly below the cut: moving ranges that are all 0 are all dropped.
            let kept: Vec<f64> = ranges.iter().copied().filter(|r| *r < SCREEN * amr).collect();
            let dropped = ranges.len() - kept.len();
            (kept, dropped)
        }
        _ => (ranges, 0),
    };
    let mean_moving_range = (!kept.is_empty()).then(|| self::mean(&kept));
    Some(Limits { mean, mean_moving_range, screened, baseline_points: fixed.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn limits_by_hand() {
        // 1, 3, 2, 4: mean 10 / 4 = 2.5; moving ranges 2, 1, 2, mean 5/3; none >= 3.267 x 5/3.
        // Limits 2.5 -/+ 2.66 x 5/3 = 2.5 -/+ 4.4333: -1.9333 and 6.9333.
        let l = limits(&[1.0, 3.0, 2.0, 4.0], None, true).expect("limits");
        assert_eq!(l.mean, 2.5);
        let (lo, hi) = l.process().expect("defined");
        assert!(close(lo, 2.5 - 2.66 * 5.0 / 3.0, 1e-12) && close(hi, 2.5 + 2.66 * 5.0 / 3.0, 1e-12));
        // 2-sigma: 2.5 -/+ 1.77333 x 5/3 = 2.5 -/+ 2.95556.
        let (lo2, hi2) = l.two_sigma().expect("defined");
        assert!(close(lo2, -0.455556, 1e-6) && close(hi2, 5.455556, 1e-6));
    }

    #[test]
    fn screening_drops_wide_moving_ranges_once() {
        // 1, 1, 1, 1, 9, 1: moving ranges 0, 0, 0, 8, 8, mean 16/5 = 3.2; the cut is
        // 3.267 x 3.2 = 10.45: nothing is dropped. With 1 x 10 then 30: ranges 0 x 9, 29;
        // mean 2.9, cut 9.47: 29 is dropped, the mean of the nine 0s is 0.
        let l = limits(&[1.0, 1.0, 1.0, 1.0, 9.0, 1.0], None, true).expect("limits");
        assert_eq!((l.screened, l.mean_moving_range), (0, Some(3.2)));
        let mut v = vec![1.0; 10];
        v.push(30.0);
        let l = limits(&v, None, true).expect("limits");
        assert_eq!((l.screened, l.mean_moving_range), (1, Some(0.0)));
        // Without screening the 29 stays: 29 / 10.
        let l = limits(&v, None, false).expect("limits");
        assert_eq!((l.screened, l.mean_moving_range), (0, Some(2.9)));
    }

    #[test]
    fn constant_series_has_no_limits_when_screened() {
        // Every moving range is 0, and 0 < 3.267 x 0 is false: all are screened out.
        let l = limits(&[0.1; 20], None, true).expect("limits");
        assert_eq!(l.mean, 0.1);
        assert_eq!(l.process(), None);
        assert_eq!(l.screened, 19);
        // Without screening the limits are the mean itself.
        let l = limits(&[0.1; 20], None, false).expect("limits");
        assert_eq!(l.process(), Some((0.1, 0.1)));
    }

    #[test]
    fn single_point_and_baseline() {
        let l = limits(&[5.0], None, true).expect("limits");
        assert_eq!((l.mean, l.process()), (5.0, None));
        // Baseline of the first 3 of 1, 2, 3, 100: mean 2, moving ranges 1, 1.
        let l = limits(&[1.0, 2.0, 3.0, 100.0], Some(3), true).expect("limits");
        assert_eq!((l.mean, l.mean_moving_range, l.baseline_points), (2.0, Some(1.0), 3));
        assert_eq!(limits(&[], None, true), None);
    }
}
