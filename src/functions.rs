//! yardstick's own DataFusion functions, where DataFusion's builtins are not exact enough
//! or do not exist:
//!
//! - `exact_percentile_cont(x, p)`: linear interpolation between closest ranks (the
//!   definition of Excel's PERCENTILE.INC, DuckDB's quantile_cont, R type 7). DataFusion's
//!   `percentile_cont` truncates the interpolation weight to 6 decimals.
//! - `exact_percentile_disc(x, p)`: nearest rank: the smallest value with at least p of the
//!   values at or below it (`sorted[ceil(p * n) - 1]`, the first value for p = 0).
//! - `sum(x)` and `avg(x)` of floats, exact and order-independent (`exact_sum`).
//! - `business_days_between(start, end)`: business days after start's date up to and
//!   including end's date (see docs/language.md), against the project calendar.

pub mod exact_sum;
mod percentile;

use percentile::ExactPercentile;
pub use percentile::{PercentileMethod, percentile, percentile_udaf};

use std::any::Any;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Builder};
use datafusion::arrow::datatypes::{DataType, Date32Type, TimestampMicrosecondType};
use datafusion::common::exec_err;
use datafusion::error::Result;
use datafusion::logical_expr::{AggregateUDF, ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

/// Whether an aggregate's `FILTER` keeps row `row` (a null condition does not).
fn filter_keeps(filter: Option<&datafusion::arrow::array::BooleanArray>, row: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(row) && f.value(row))
}

/// `business_days_between(start, end)` for one project calendar.
#[derive(Debug, PartialEq, Eq, Hash)]
struct BusinessDays {
    /// Holidays as days since 1970-01-01, sorted.
    holidays: Vec<i32>,
    /// Which weekdays are not worked, 0 = Monday .. 6 = Sunday.
    weekend: [bool; 7],
    signature: Signature,
}

pub fn business_days_udf(mut holidays: Vec<i32>) -> Arc<ScalarUDF> {
    holidays.sort_unstable();
    holidays.dedup();
    Arc::new(ScalarUDF::from(BusinessDays {
        holidays,
        weekend: [false, false, false, false, false, true, true],
        signature: Signature::any(2, Volatility::Immutable),
    }))
}

impl BusinessDays {
    /// Business days d with start < d <= end; mirrored (negative) when end < start.
    pub fn between(&self, start: i32, end: i32) -> i64 {
        if end < start {
            return -self.between(end, start);
        }
        let (mut count, mut day) = (0i64, start + 1);
        // Whole weeks at once, then the remainder day by day.
        let working_per_week = self.weekend.iter().filter(|w| !**w).count() as i64;
        while end - day >= 7 {
            count += working_per_week;
            day += 7;
        }
        while day <= end {
            count += i64::from(!self.weekend[((day.rem_euclid(7) + 3) % 7) as usize]);
            day += 1;
        }
        // Holidays that fall on working days inside the range.
        let lo = self.holidays.partition_point(|h| *h <= start);
        let hi = self.holidays.partition_point(|h| *h <= end);
        count - self.holidays[lo..hi].iter().filter(|h| !self.weekend[((h.rem_euclid(7) + 3) % 7) as usize]).count() as i64
    }
}

impl ScalarUDFImpl for BusinessDays {
    fn name(&self) -> &str {
        "business_days_between"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let days = |a: &ArrayRef| -> Result<Vec<Option<i32>>> {
            Ok(match a.data_type() {
                DataType::Date32 => a.as_primitive::<Date32Type>().iter().collect(),
                DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None) => {
                    a.as_primitive::<TimestampMicrosecondType>().iter().map(|t| t.map(|us| us.div_euclid(86_400_000_000) as i32)).collect()
                }
                DataType::Null => vec![None; a.len()],
                other => return exec_err!("business_days_between needs dates or timestamps, got {other}"),
            })
        };
        let (start, end) = (days(&arrays[0])?, days(&arrays[1])?);
        let mut out = Int64Builder::with_capacity(n);
        for (s, e) in start.iter().zip(&end) {
            match (s, e) {
                (Some(s), Some(e)) => out.append_value(self.between(*s, *e)),
                _ => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// The state of one of yardstick's functions as bytes, for shipping plans to a cluster's
/// scheduler and executors (`run::cluster`): `None` for a function that is not yardstick's.
/// Every yardstick function is written (never left to a name lookup on the other side), so a
/// business-day count always travels with its calendar.
pub fn encode_udf(udf: &ScalarUDF) -> Option<Vec<u8>> {
    let bd = (udf.inner().as_ref() as &dyn Any).downcast_ref::<BusinessDays>()?;
    let mut out = ENCODED_BUSINESS_DAYS.to_vec();
    out.extend(bd.weekend.iter().map(|w| u8::from(*w)));
    for h in &bd.holidays {
        out.extend(h.to_le_bytes());
    }
    Some(out)
}

const ENCODED_BUSINESS_DAYS: &[u8] = b"yardstick.business_days.v1";

/// [`encode_udf`]'s bytes -> the function; `None` when they are not one of its encodings.
pub fn decode_udf(bytes: &[u8]) -> Option<Arc<ScalarUDF>> {
    let rest = bytes.strip_prefix(ENCODED_BUSINESS_DAYS)?;
    let (weekend, holidays) = rest.split_at_checked(7)?;
    if weekend.iter().any(|w| *w > 1) || holidays.len() % 4 != 0 {
        return None;
    }
    let holidays = holidays.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let mut days = [false; 7];
    for (d, w) in days.iter_mut().zip(weekend) {
        *d = *w == 1;
    }
    Some(Arc::new(ScalarUDF::from(BusinessDays { holidays, weekend: days, signature: Signature::any(2, Volatility::Immutable) })))
}

/// The exact percentile aggregates as bytes (their method), like [`encode_udf`].
pub fn encode_udaf(udaf: &AggregateUDF) -> Option<Vec<u8>> {
    if let Some(bytes) = exact_sum::encode(udaf) {
        return Some(bytes);
    }
    let p = (udaf.inner().as_ref() as &dyn Any).downcast_ref::<ExactPercentile>()?;
    Some(match p.method {
        PercentileMethod::Interpolated => ENCODED_PERCENTILE_CONT.to_vec(),
        PercentileMethod::NearestRank => ENCODED_PERCENTILE_DISC.to_vec(),
    })
}

const ENCODED_PERCENTILE_CONT: &[u8] = b"yardstick.percentile.interpolated.v1";
const ENCODED_PERCENTILE_DISC: &[u8] = b"yardstick.percentile.nearest_rank.v1";

/// [`encode_udaf`]'s bytes -> the aggregate.
pub fn decode_udaf(bytes: &[u8]) -> Option<Arc<AggregateUDF>> {
    if let Some(udaf) = exact_sum::decode(bytes) {
        return Some(udaf);
    }
    match bytes {
        ENCODED_PERCENTILE_CONT => Some(percentile_udaf(PercentileMethod::Interpolated)),
        ENCODED_PERCENTILE_DISC => Some(percentile_udaf(PercentileMethod::NearestRank)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> i32 {
        crate::plan::days_since_epoch(chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date"))
    }

    #[test]
    fn business_days_by_hand() {
        let bd = BusinessDays {
            holidays: vec![day("2024-12-25")],
            weekend: [false, false, false, false, false, true, true],
            signature: Signature::any(2, Volatility::Immutable),
        };
        // Fri 2024-12-20 -> Mon 2024-12-23: Sat, Sun skipped, Monday counts: 1.
        assert_eq!(bd.between(day("2024-12-20"), day("2024-12-23")), 1);
        // Same day: 0. Reversed: negative.
        assert_eq!(bd.between(day("2024-12-20"), day("2024-12-20")), 0);
        assert_eq!(bd.between(day("2024-12-23"), day("2024-12-20")), -1);
        // Mon 12-23 -> Fri 12-27: Tue, (Wed 25th holiday), Thu, Fri = 3.
        assert_eq!(bd.between(day("2024-12-23"), day("2024-12-27")), 3);
        // Ending on a holiday: the holiday is not counted: Mon 12-23 -> Wed 12-25 = 1 (Tue).
        assert_eq!(bd.between(day("2024-12-23"), day("2024-12-25")), 1);
        // Four weeks from a Monday to a Monday: 20 working days, minus Christmas = 19.
        assert_eq!(bd.between(day("2024-12-02"), day("2024-12-30")), 19);
        // Starting on a Saturday: Sat 12-21 -> Mon 12-23 = 1.
        assert_eq!(bd.between(day("2024-12-21"), day("2024-12-23")), 1);
    }

    /// The cluster's encoding gives back the same function (calendar included); other bytes
    /// are refused, never misread.
    #[test]
    fn encodings_round_trip() {
        let udf = business_days_udf(vec![day("2024-12-25"), day("2025-01-01")]);
        let bytes = encode_udf(&udf).expect("a yardstick function");
        let back = decode_udf(&bytes).expect("decodes");
        let (a, b) = (
            (udf.inner().as_ref() as &dyn Any).downcast_ref::<BusinessDays>().expect("bd"),
            (back.inner().as_ref() as &dyn Any).downcast_ref::<BusinessDays>().expect("bd"),
        );
        assert_eq!(a, b);
        assert!(decode_udf(&bytes[..bytes.len() - 1]).is_none());
        assert!(decode_udf(b"yardstick.business_days.v1\x02\0\0\0\0\0\0").is_none());
        assert!(decode_udf(b"something else").is_none());
        for method in [PercentileMethod::Interpolated, PercentileMethod::NearestRank] {
            let udaf = percentile_udaf(method);
            let back = decode_udaf(&encode_udaf(&udaf).expect("a yardstick aggregate")).expect("decodes");
            assert_eq!(back.name(), udaf.name());
        }
        assert!(decode_udaf(b"yardstick.percentile.v0").is_none());
        // The exact sums are named like DataFusion's `sum`/`avg`: only their bytes tell them
        // apart, so an executor must get the exact one back, not the built-in.
        for udaf in [exact_sum::sum_udaf(), exact_sum::avg_udaf(), exact_sum::partial_sum_udaf(), exact_sum::merge_sum_udaf()] {
            let bytes = encode_udaf(&udaf).expect("an exact sum is encoded");
            let back = decode_udaf(&bytes).expect("decodes");
            assert_eq!((back.name(), encode_udaf(&back)), (udaf.name(), Some(bytes)));
        }
        assert!(encode_udaf(&datafusion::functions_aggregate::sum::sum_udaf()).is_none());
    }

    #[test]
    fn percentiles_by_hand() {
        let mut v = vec![15.0, 20.0, 35.0, 40.0, 50.0];
        // Interpolated: rank 0.4 * 4 = 1.6 -> 20 + 0.6 * 15 = 29.
        assert_eq!(percentile(&mut v, 0.4, PercentileMethod::Interpolated), Some(29.0));
        // Nearest rank: ceil(0.4 * 5) = 2 -> 20.
        assert_eq!(percentile(&mut v, 0.4, PercentileMethod::NearestRank), Some(20.0));
        assert_eq!(percentile(&mut v, 0.0, PercentileMethod::NearestRank), Some(15.0));
        assert_eq!(percentile(&mut v, 1.0, PercentileMethod::Interpolated), Some(50.0));
        assert_eq!(percentile(&mut [], 0.5, PercentileMethod::Interpolated), None);
        let mut even = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(percentile(&mut even, 0.5, PercentileMethod::Interpolated), Some(2.5));
        // 0.55 * 100 is 55.000000000000007 in floating point; the nearest rank is still 55.
        let mut hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut hundred, 0.55, PercentileMethod::NearestRank), Some(55.0));
        let mut twenty_five: Vec<f64> = (1..=25).map(f64::from).collect();
        assert_eq!(percentile(&mut twenty_five, 0.28, PercentileMethod::NearestRank), Some(7.0));
    }
}
