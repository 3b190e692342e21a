//! Value axes from the data: a range that starts and ends on round ticks (steps of 1, 2,
//! 2.5 or 5 times a power of ten), never below 0 for data that cannot be negative (all
//! values at or above 0) and never above 100% for shares (all values at most 100%); counts
//! get whole-number ticks. Tick labels have as many decimals as the step needs, no more.

use crate::report::value_parts;

/// At most this many ticks (and at least 2).
const MAX_TICKS: usize = 6;

/// The ticks of an axis over `values` (finite ones; `None` when there are none), in `unit`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    pub lo: f64,
    pub hi: f64,
    pub step: f64,
    pub values: Vec<f64>,
}

/// Units whose values are fractions shown as percentages.
fn is_percent(unit: &str) -> bool {
    matches!(unit, "percent" | "percentage points")
}

pub fn nice_ticks(values: &[f64], unit: &str) -> Option<Ticks> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (mut min, mut max) = finite.iter().fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    if finite.is_empty() {
        return None;
    }
    let non_negative = min >= 0.0;
    let share = unit == "percent" && non_negative && max <= 1.0;
    if (max - min).abs() <= 1e-12 * min.abs().max(max.abs()).max(1.0) {
        // A flat line: 10% either side (a unit step around zero).
        let d = if min == 0.0 { if is_percent(unit) { 0.1 } else { 1.0 } } else { min.abs() * 0.1 };
        (min, max) = (min - d, max + d);
    }
    if non_negative {
        min = min.max(0.0);
    }
    if share {
        max = max.min(1.0);
    }
    let whole = unit == "count";
    let mut step = nice_step((max - min) / (MAX_TICKS - 1) as f64);
    if whole {
        step = step.max(1.0);
    }
    loop {
        if whole && step.fract() != 0.0 {
            step = nice_step(step * 1.01);
            continue;
        }
        // A value a rounding error past a tick is on it.
        let lo = (min / step + 1e-9).floor() * step;
        let hi = (max / step - 1e-9).ceil() * step;
        let n = ((hi - lo) / step).round() as usize;
        if n < MAX_TICKS || !step.is_finite() {
            let values: Vec<f64> = (0..=n).map(|i| crate::results::round_value(lo + step * i as f64)).collect();
            let (lo, hi) = (values[0], values[values.len() - 1]);
            return Some(Ticks { lo, hi, step, values });
        }
        step = nice_step(step * 1.01);
    }
}

/// The smallest of 1, 2, 2.5, 5 (times a power of ten) at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw > 0.0) || !raw.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * power >= raw * (1.0 - 1e-9) {
            return m * power;
        }
    }
    10.0 * power
}

/// A tick's label in `unit`, with the decimals the step needs (`87.5%`, `1,500`, `0.25 s`).
pub fn tick_label(v: f64, step: f64, unit: &str) -> String {
    let (number, suffix) = value_parts(v, unit);
    if v.abs() >= 1e15 || unit == "count" {
        return number + &suffix;
    }
    let scale = if is_percent(unit) { 100.0 } else { 1.0 };
    let shown_step = step * scale;
    let decimals = (0..=6).find(|d| {
        let x = shown_step * 10f64.powi(*d);
        (x - x.round()).abs() < 1e-6 * x.abs().max(1.0)
    });
    let decimals = decimals.unwrap_or(6) as usize;
    let text = format!("{:.decimals$}", v * scale);
    let text = if text == "-0" || text.chars().all(|c| c == '0' || c == '.' || c == '-') { "0".to_string() } else { text };
    let (int, frac) = text.split_once('.').map(|(i, f)| (i.to_string(), Some(f.to_string()))).unwrap_or((text.clone(), None));
    let int = if (v * scale).abs() >= 1000.0 { super::group_digits(&int) } else { int };
    match frac {
        Some(f) => format!("{int}.{f}{suffix}"),
        None => format!("{int}{suffix}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticks(values: &[f64], unit: &str) -> Vec<f64> {
        nice_ticks(values, unit).expect("ticks").values
    }

    #[test]
    fn counts_start_at_zero_or_above_and_are_whole() {
        // 312..410 calls: range 98 / 5 = 19.6 -> step 20; floor(312/20)*20 = 300,
        // ceil(410/20)*20 = 420: 300, 320, ..., 420 is 7 ticks, one too many -> step 25:
        // 300, 325, ..., 425 is 6 ticks.
        assert_eq!(ticks(&[312.0, 410.0], "count"), vec![300.0, 325.0, 350.0, 375.0, 400.0, 425.0]);
        // 0..3 permits: step 3/5 = 0.6 -> 1 for counts: 0, 1, 2, 3.
        assert_eq!(ticks(&[0.0, 3.0, 1.0], "count"), vec![0.0, 1.0, 2.0, 3.0]);
        // A flat 0: 0 to 1, never -1.
        assert_eq!(ticks(&[0.0, 0.0], "count"), vec![0.0, 1.0]);
        // 5..80: 75/5 = 15 -> 20; 0, 20, ..., 80 (never -79).
        assert_eq!(ticks(&[5.0, 80.0], "count"), vec![0.0, 20.0, 40.0, 60.0, 80.0]);
        // 0..12: 12/5 = 2.4 -> 2.5, not whole -> 5: 0, 5, 10, 15.
        assert_eq!(ticks(&[0.0, 12.0], "count"), vec![0.0, 5.0, 10.0, 15.0]);
    }

    #[test]
    fn shares_stay_within_0_and_100_percent() {
        // 82%..99%: 0.17/5 = 0.034 -> 0.05; 0.80 .. 1.00 (not 103.9%).
        assert_eq!(ticks(&[0.82, 0.99, 0.9], "percent"), vec![0.8, 0.85, 0.9, 0.95, 1.0]);
        // A flat 100%: 90% to 100%, not above.
        assert_eq!(ticks(&[1.0, 1.0], "percent"), vec![0.9, 0.92, 0.94, 0.96, 0.98, 1.0]);
        // A change in percent may be negative: -12%..+4%: 0.16/5 = 0.032 -> 0.05:
        // -0.15, -0.10, -0.05, 0, 0.05.
        assert_eq!(ticks(&[-0.12, 0.04], "percent"), vec![-0.15, -0.1, -0.05, 0.0, 0.05]);
    }

    #[test]
    fn other_units() {
        // 8.2..11.7 s: 3.5/5 = 0.7 -> 1; 8, 9, ..., 12.
        assert_eq!(ticks(&[8.2, 11.7], "seconds"), vec![8.0, 9.0, 10.0, 11.0, 12.0]);
        // 512.4..601.9 USD: 89.5/5 = 17.9 -> 20; 500 .. 620 is 7 ticks -> 25: 500 .. 625.
        assert_eq!(ticks(&[512.4, 601.9], "USD"), vec![500.0, 525.0, 550.0, 575.0, 600.0, 625.0]);
        assert_eq!(nice_ticks(&[f64::NAN], "count"), None);
    }

    #[test]
    fn labels_have_the_decimals_the_step_needs() {
        assert_eq!(tick_label(0.875, 0.025, "percent"), "87.5%");
        assert_eq!(tick_label(0.9, 0.05, "percent"), "90%");
        assert_eq!(tick_label(1500.0, 500.0, "count"), "1,500");
        assert_eq!(tick_label(2.5, 0.5, "seconds"), "2.5 s");
        assert_eq!(tick_label(3.0, 0.5, "seconds"), "3.0 s");
        assert_eq!(tick_label(12000.0, 2000.0, "USD"), "12,000 USD");
        assert_eq!(tick_label(-0.05, 0.05, "percent"), "-5%");
        assert_eq!(tick_label(0.0, 0.05, "percent"), "0%");
    }
}
