//! Exact, order-independent `sum` and `avg` of Float64 values.
//!
//! DataFusion's float `sum` adds values in the order they arrive and merges the partial sums
//! of its partitions in the order the partitions finish, so on a large input two runs (or two
//! machines with other core counts) can differ in the last digits. These aggregates compute
//! the exact sum of the values, as a big integer, and round it once, to the nearest float
//! (ties to even): the same bits whatever the partitioning, batching or order.
//!
//! Design: a sparse *superaccumulator* (after R. M. Neal, "Fast exact summation using small
//! and large superaccumulators", 2015). Every finite f64 is `m * 2^(off - 1074)` with an
//! integer `m < 2^53` and `0 <= off <= 2045`, so every sum of f64s is an integer multiple of
//! 2^-1074 (at most 2^2162 of it for 2^64 values). That integer is kept in 32-bit digits
//! ("chunks") stored in i64s: adding a value adds three parts, each below 2^32, to three
//! consecutive chunks, with no carry; the carries are propagated once every 2^30 additions
//! (an i64 chunk has room for 2^31 of them), and before the state is read. Only the chunks
//! between the lowest and the highest a group has touched are stored (prices and counts of
//! one column span 3 to 5 chunks, not the 70 of the whole range), so a group costs tens of
//! bytes. Chosen over Shewchuk's expansions (`math.fsum`): constant work per value, no
//! branches on the data's magnitudes, and merging two states is adding their chunks. A
//! fixed-point i256 window would need a guessed exponent range; this covers all of them.
//! Infinities and NaN are flags: NaN or `+inf + -inf` give NaN, as IEEE addition does.
//! A sum of no values is null (SQL's `sum`); an exact zero is +0.0.
//!
//! `avg(x)` is the exact sum divided by the count of non-null values (one rounding for the
//! sum, one for the division): deterministic as well.
//!
//! The functions are named `sum` and `avg` so that the SQL shown to people stays the
//! standard one; they are used through their `AggregateUDF`s, never looked up by name.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryBuilder, BooleanArray, Float64Array, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type, UInt64Type};
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility};

const SEEN: u8 = 1;
const NAN: u8 = 2;
const POS_INF: u8 = 4;
const NEG_INF: u8 = 8;
const DIGIT: i64 = (1 << 32) - 1;
/// Additions between carry propagations (each adds less than 2^32 to a chunk; an i64 holds
/// 2^63).
const MAX_ADDS: u32 = 1 << 30;

/// The exact sum of the values added so far (see the module comment).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Superacc {
    /// Index of `chunks[0]`: chunk `i` weighs `2^(32 * (lo + i) - 1074)`.
    lo: u32,
    chunks: Vec<i64>,
    adds: u32,
    flags: u8,
}

impl Superacc {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one value.
    #[inline]
    pub fn add(&mut self, x: f64) {
        let bits = x.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as u32;
        let frac = bits & ((1u64 << 52) - 1);
        self.flags |= SEEN;
        if exp == 0x7ff {
            self.flags |= if frac != 0 {
                NAN
            } else if bits >> 63 == 0 {
                POS_INF
            } else {
                NEG_INF
            };
            return;
        }
        // x = m * 2^(off - 1074): subnormals have no implicit bit and the exponent of 1.
        let (m, off) = if exp == 0 { (frac, 0) } else { (frac | (1 << 52), exp - 1) };
        if m == 0 {
            return;
        }
        let (idx, shift) = (off / 32, off % 32);
        let wide = u128::from(m) << shift;
        let parts = [(wide as i64) & DIGIT, ((wide >> 32) as i64) & DIGIT, (wide >> 64) as i64];
        self.cover(idx, idx + 2);
        let base = (idx - self.lo) as usize;
        let negative = bits >> 63 == 1;
        for (chunk, part) in self.chunks[base..base + 3].iter_mut().zip(parts) {
            if negative {
                *chunk -= part;
            } else {
                *chunk += part;
            }
        }
        self.count_add();
    }

    /// Add another sum (in the form [`Superacc::to_bytes`] writes).
    pub fn merge_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let [flags, lo, rest @ ..] = bytes else { return exec_err!("exact sum state is too short") };
        if rest.len() % 8 != 0 {
            return exec_err!("exact sum state has a partial chunk");
        }
        self.flags |= flags;
        let n = (rest.len() / 8) as u32;
        if n == 0 {
            return Ok(());
        }
        let lo = u32::from(*lo);
        self.cover(lo, lo + n - 1);
        let base = (lo - self.lo) as usize;
        for (chunk, b) in self.chunks[base..].iter_mut().zip(rest.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(b);
            // A normalised chunk is within (-2^32, 2^32): one addition's worth.
            *chunk += i64::from_le_bytes(le);
        }
        self.count_add();
        Ok(())
    }

    /// The state as bytes: flags, the lowest chunk's index, the normalised chunks.
    pub fn to_bytes(&mut self) -> Vec<u8> {
        self.normalize();
        let mut out = Vec::with_capacity(2 + 8 * self.chunks.len());
        out.push(self.flags);
        out.push(self.lo as u8);
        for c in &self.chunks {
            out.extend_from_slice(&c.to_le_bytes());
        }
        out
    }

    /// The exact sum rounded to the nearest f64 (ties to even); `None` if nothing was added.
    pub fn value(&mut self) -> Option<f64> {
        if self.flags & SEEN == 0 {
            return None;
        }
        if self.flags & NAN != 0 || self.flags & (POS_INF | NEG_INF) == POS_INF | NEG_INF {
            return Some(f64::NAN);
        }
        if self.flags & POS_INF != 0 {
            return Some(f64::INFINITY);
        }
        if self.flags & NEG_INF != 0 {
            return Some(f64::NEG_INFINITY);
        }
        self.normalize();
        let negative = self.chunks.last().is_some_and(|t| *t < 0);
        let magnitude = if negative {
            let mut m = Superacc { lo: self.lo, chunks: self.chunks.iter().map(|c| -c).collect(), adds: 0, flags: 0 };
            m.normalize();
            m
        } else {
            self.clone()
        };
        let v = magnitude.round();
        Some(if negative { -v } else { v })
    }

    /// Widen the stored chunks to cover indices `from..=to` (and one more for carries).
    #[inline]
    fn cover(&mut self, from: u32, to: u32) {
        if self.chunks.is_empty() {
            self.lo = from;
            self.chunks = vec![0; (to - from + 2) as usize];
            return;
        }
        if from < self.lo {
            let extra = (self.lo - from) as usize;
            self.chunks.splice(0..0, std::iter::repeat_n(0, extra));
            self.lo = from;
        }
        let end = self.lo + self.chunks.len() as u32;
        if to + 1 >= end {
            self.chunks.resize((to + 2 - self.lo) as usize, 0);
        }
    }

    #[inline]
    fn count_add(&mut self) {
        self.adds += 1;
        if self.adds >= MAX_ADDS {
            self.normalize();
        }
    }

    /// Propagate carries: every chunk but the top one in [0, 2^32), the top one in
    /// [-2^31, 2^31) (its sign is the sum's).
    fn normalize(&mut self) {
        self.adds = 0;
        if self.chunks.is_empty() {
            return;
        }
        for i in 0..self.chunks.len() - 1 {
            let carry = self.chunks[i] >> 32;
            self.chunks[i] -= carry << 32;
            self.chunks[i + 1] += carry;
        }
        loop {
            let top = self.chunks[self.chunks.len() - 1];
            if (-(1i64 << 31)..(1i64 << 31)).contains(&top) {
                break;
            }
            let carry = top >> 32;
            let last = self.chunks.len() - 1;
            self.chunks[last] = top - (carry << 32);
            self.chunks.push(carry);
        }
    }

    /// `floor(N / 2^start)` in its low 128 bits, N the (non-negative, normalised) integer.
    fn window(&self, start: i64) -> u128 {
        let mut acc: u128 = 0;
        for (j, &c) in self.chunks.iter().enumerate() {
            let rel = (i64::from(self.lo) + j as i64) * 32 - start;
            let c = u128::from(c as u64 & DIGIT as u64);
            if (0..128).contains(&rel) {
                acc = acc.wrapping_add(c << rel);
            } else if (-31..0).contains(&rel) {
                acc = acc.wrapping_add(c >> (-rel));
            }
        }
        acc
    }

    /// Whether any bit of N below bit `bit` is set.
    fn any_below(&self, bit: i64) -> bool {
        self.chunks.iter().enumerate().any(|(j, &c)| {
            let b = (i64::from(self.lo) + j as i64) * 32;
            if b + 32 <= bit {
                c != 0
            } else if b < bit {
                c & ((1i64 << (bit - b)) - 1) != 0
            } else {
                false
            }
        })
    }

    /// N * 2^-1074 rounded to the nearest f64, N non-negative and normalised.
    fn round(&self) -> f64 {
        let Some((j, &top)) = self.chunks.iter().enumerate().rev().find(|(_, c)| **c != 0) else { return 0.0 };
        let mut h = (i64::from(self.lo) + j as i64) * 32 + 63 - i64::from((top as u64).leading_zeros());
        if h <= 52 {
            // Below 2^53 units of 2^-1074: exactly a subnormal or the smallest normals.
            return self.window(0) as u64 as f64 * f64::from_bits(1);
        }
        let shift = h - 52;
        let w = self.window(shift - 1);
        let mut m = (w >> 1) as u64;
        let half = w & 1 == 1;
        if half && (m & 1 == 1 || self.any_below(shift - 1)) {
            m += 1;
            if m == 1 << 53 {
                m >>= 1;
                h += 1;
            }
        }
        let biased = h - 51;
        if biased >= 0x7ff {
            return f64::INFINITY;
        }
        f64::from_bits(((biased as u64) << 52) | (m & ((1 << 52) - 1)))
    }

    fn heap_size(&self) -> usize {
        self.chunks.capacity() * 8
    }
}

/// What one of these aggregates computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The exact sum of Float64 values.
    Sum,
    /// The exact sum divided by the count of values.
    Avg,
    /// The exact sum kept exact: its state as bytes (Binary), for [`Mode::Merge`] to add up
    /// later. A window's plan sums each period once with this and adds the periods of each
    /// window up with `Merge`, instead of copying every row into every window.
    Partial,
    /// The exact sum of the sums that [`Mode::Partial`] kept, rounded once: the same bits as
    /// [`Mode::Sum`] over all their values.
    Merge,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ExactSum {
    mode: Mode,
    signature: Signature,
}

/// The exact `sum` of Float64 values.
pub fn sum_udaf() -> Arc<AggregateUDF> {
    udaf(Mode::Sum)
}

/// The exact-sum `avg` of Float64 values.
pub fn avg_udaf() -> Arc<AggregateUDF> {
    udaf(Mode::Avg)
}

/// The exact sum of Float64 values as its exact state (Binary), for [`merge_sum_udaf`].
/// Named `sum` too: in SQL a sum of per-period sums is written as one.
pub fn partial_sum_udaf() -> Arc<AggregateUDF> {
    udaf(Mode::Partial)
}

/// The exact sum of [`partial_sum_udaf`]'s states, rounded once to the nearest float.
pub fn merge_sum_udaf() -> Arc<AggregateUDF> {
    udaf(Mode::Merge)
}

const ENCODINGS: [(&[u8], Mode); 4] = [
    (b"yardstick.exact_sum.sum.v1", Mode::Sum),
    (b"yardstick.exact_sum.avg.v1", Mode::Avg),
    (b"yardstick.exact_sum.partial.v1", Mode::Partial),
    (b"yardstick.exact_sum.merge.v1", Mode::Merge),
];

/// What `udaf` computes, if it is one of these aggregates (they share DataFusion's names
/// `sum`/`avg`, so only this tells them apart from the built-ins).
pub fn mode(udaf: &AggregateUDF) -> Option<Mode> {
    (udaf.inner().as_ref() as &dyn std::any::Any).downcast_ref::<ExactSum>().map(|exact| exact.mode)
}

/// The bytes that name this aggregate in a serialized plan (a cluster's executors decode them
/// with [`decode`]): it is called `sum`/`avg` like DataFusion's own, so by name alone an
/// executor would run the inexact built-in, whose state does not even match this one's.
pub fn encode(udaf: &AggregateUDF) -> Option<Vec<u8>> {
    let mode = mode(udaf)?;
    ENCODINGS.iter().find(|(_, m)| *m == mode).map(|(bytes, _)| bytes.to_vec())
}

/// [`encode`]'s bytes -> the aggregate.
pub fn decode(bytes: &[u8]) -> Option<Arc<AggregateUDF>> {
    ENCODINGS.iter().find(|(b, _)| *b == bytes).map(|(_, m)| udaf(*m))
}

fn udaf(mode: Mode) -> Arc<AggregateUDF> {
    let input = if mode == Mode::Merge { DataType::Binary } else { DataType::Float64 };
    Arc::new(AggregateUDF::from(ExactSum { mode, signature: Signature::exact(vec![input], Volatility::Immutable) }))
}

impl AggregateUDFImpl for ExactSum {
    fn name(&self) -> &str {
        if self.mode == Mode::Avg { "avg" } else { "sum" }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(if self.mode == Mode::Partial { DataType::Binary } else { DataType::Float64 })
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let mut fields = vec![Arc::new(Field::new(format!("{}[exact_sum]", args.name), DataType::Binary, true))];
        if self.mode == Mode::Avg {
            fields.push(Arc::new(Field::new(format!("{}[count]", args.name), DataType::UInt64, true)));
        }
        Ok(fields)
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(SumAccumulator { sum: Superacc::new(), count: 0, mode: self.mode }))
    }
    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(SumGroups { sums: vec![], counts: vec![], mode: self.mode }))
    }
}

fn finish(sum: &mut Superacc, count: u64, mode: Mode) -> ScalarValue {
    match mode {
        Mode::Partial => ScalarValue::Binary(Some(sum.to_bytes())),
        Mode::Avg => ScalarValue::Float64(sum.value().filter(|_| count > 0).map(|total| total / count as f64)),
        Mode::Sum | Mode::Merge => ScalarValue::Float64(sum.value()),
    }
}

fn float_input(values: &[ArrayRef]) -> Result<&datafusion::arrow::array::PrimitiveArray<Float64Type>> {
    match values.first().and_then(|a| a.as_primitive_opt::<Float64Type>()) {
        Some(a) => Ok(a),
        None => exec_err!("exact sum input must be Float64"),
    }
}

fn state_input(values: &[ArrayRef]) -> Result<&datafusion::arrow::array::BinaryArray> {
    match values.first().and_then(|a| a.as_binary_opt::<i32>()) {
        Some(a) => Ok(a),
        None => exec_err!("exact sum state must be binary"),
    }
}

/// The ungrouped form.
#[derive(Debug)]
struct SumAccumulator {
    sum: Superacc,
    count: u64,
    mode: Mode,
}

impl Accumulator for SumAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if self.mode == Mode::Merge {
            for s in state_input(values)?.iter().flatten() {
                self.sum.merge_bytes(s)?;
            }
            return Ok(());
        }
        for v in float_input(values)?.iter().flatten() {
            self.sum.add(v);
            self.count += 1;
        }
        Ok(())
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for s in state_input(states)?.iter().flatten() {
            self.sum.merge_bytes(s)?;
        }
        if self.mode == Mode::Avg {
            let Some(counts) = states.get(1).and_then(|a| a.as_primitive_opt::<UInt64Type>()) else {
                return exec_err!("exact avg count must be UInt64");
            };
            self.count += counts.iter().flatten().sum::<u64>();
        }
        Ok(())
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let mut out = vec![ScalarValue::Binary(Some(self.sum.to_bytes()))];
        if self.mode == Mode::Avg {
            out.push(ScalarValue::UInt64(Some(self.count)));
        }
        Ok(out)
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(finish(&mut self.sum, self.count, self.mode))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.sum.heap_size()
    }
}

/// The grouped form: one sum (and count) per group.
struct SumGroups {
    sums: Vec<Superacc>,
    counts: Vec<u64>,
    mode: Mode,
}

impl GroupsAccumulator for SumGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.sums.resize_with(total_num_groups, Superacc::new);
        self.counts.resize(total_num_groups, 0);
        let kept = |i: usize| super::filter_keeps(opt_filter, i);
        if self.mode == Mode::Merge {
            let states = state_input(values)?;
            for (i, &g) in group_indices.iter().enumerate() {
                if states.is_valid(i) && kept(i) {
                    self.sums[g].merge_bytes(states.value(i))?;
                }
            }
            return Ok(());
        }
        let input = float_input(values)?;
        let raw = input.values();
        for (i, &g) in group_indices.iter().enumerate() {
            if input.is_null(i) || !kept(i) {
                continue;
            }
            self.sums[g].add(raw[i]);
            self.counts[g] += 1;
        }
        Ok(())
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        let sums = state_input(values)?;
        self.sums.resize_with(total_num_groups, Superacc::new);
        self.counts.resize(total_num_groups, 0);
        for (i, &g) in group_indices.iter().enumerate() {
            if sums.is_valid(i) {
                self.sums[g].merge_bytes(sums.value(i))?;
            }
        }
        if self.mode == Mode::Avg {
            let Some(counts) = values.get(1).and_then(|a| a.as_primitive_opt::<UInt64Type>()) else {
                return exec_err!("exact avg count must be UInt64");
            };
            for (i, &g) in group_indices.iter().enumerate() {
                if counts.is_valid(i) {
                    self.counts[g] += counts.value(i);
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let mut sums = emit_to.take_needed(&mut self.sums);
        let counts = emit_to.take_needed(&mut self.counts);
        if self.mode == Mode::Partial {
            let mut bytes = BinaryBuilder::with_capacity(sums.len(), sums.len() * 34);
            for s in &mut sums {
                bytes.append_value(s.to_bytes());
            }
            return Ok(Arc::new(bytes.finish()));
        }
        let out: Float64Array = sums
            .iter_mut()
            .zip(counts)
            .map(|(s, n)| match finish(s, n, self.mode) {
                ScalarValue::Float64(v) => v,
                _ => None,
            })
            .collect();
        Ok(Arc::new(out))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let mut sums = emit_to.take_needed(&mut self.sums);
        let counts = emit_to.take_needed(&mut self.counts);
        let mut bytes = BinaryBuilder::with_capacity(sums.len(), sums.len() * 34);
        for s in &mut sums {
            bytes.append_value(s.to_bytes());
        }
        let mut out: Vec<ArrayRef> = vec![Arc::new(bytes.finish())];
        if self.mode == Mode::Avg {
            out.push(Arc::new(UInt64Array::from(counts)));
        }
        Ok(out)
    }

    /// Each row its own state (when the partial aggregation does not reduce the rows).
    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        let kept = |i: usize| super::filter_keeps(opt_filter, i);
        if self.mode == Mode::Merge {
            // The input is already a state; a filtered-out row adds nothing.
            let states = state_input(values)?;
            let mut bytes = BinaryBuilder::with_capacity(states.len(), states.len() * 34);
            for i in 0..states.len() {
                if states.is_valid(i) && kept(i) {
                    bytes.append_value(states.value(i));
                } else {
                    bytes.append_value(Superacc::new().to_bytes());
                }
            }
            return Ok(vec![Arc::new(bytes.finish())]);
        }
        let input = float_input(values)?;
        let mut bytes = BinaryBuilder::with_capacity(input.len(), input.len() * 34);
        let mut counts = Vec::with_capacity(input.len());
        for i in 0..input.len() {
            let mut s = Superacc::new();
            let counted = input.is_valid(i) && kept(i);
            if counted {
                s.add(input.value(i));
            }
            bytes.append_value(s.to_bytes());
            counts.push(u64::from(counted));
        }
        let mut out: Vec<ArrayRef> = vec![Arc::new(bytes.finish())];
        if self.mode == Mode::Avg {
            out.push(Arc::new(UInt64Array::from(counts)));
        }
        Ok(out)
    }

    fn size(&self) -> usize {
        // Measured per group would cost a pass over every group after every batch: a group
        // holds 3 to 5 chunks in practice; 8 are counted.
        self.sums.capacity() * (std::mem::size_of::<Superacc>() + 64) + self.counts.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(values: &[f64]) -> Option<f64> {
        let mut s = Superacc::new();
        values.iter().for_each(|v| s.add(*v));
        s.value()
    }

    #[test]
    fn by_hand() {
        // 1e16 + 1 - 1e16 = 1 exactly (naive left-to-right float addition gives 0).
        assert_eq!(exact(&[1e16, 1.0, -1e16]), Some(1.0));
        // 0.1 + 0.2: the exact sum of the two doubles is 0.3000000000000000166533453693773481...;
        // the nearest double is 0.30000000000000004 (0x3FD3333333333334).
        assert_eq!(exact(&[0.1, 0.2]).map(f64::to_bits), Some(0x3FD3333333333334));
        assert_eq!(exact(&[]), None);
        assert_eq!(exact(&[0.0, -0.0]).map(f64::to_bits), Some(0));
        assert_eq!(exact(&[f64::MAX, f64::MAX]), Some(f64::INFINITY));
        assert_eq!(exact(&[f64::MAX, f64::MAX, -f64::MAX]), Some(f64::MAX));
        assert!(exact(&[f64::INFINITY, f64::NEG_INFINITY]).is_some_and(f64::is_nan));
        assert_eq!(exact(&[f64::from_bits(1), f64::from_bits(1)]), Some(f64::from_bits(2)));
        assert_eq!(exact(&[-2.5, 1.0]), Some(-1.5));
        // Ties to even: 2^53 + 1 is halfway between 2^53 and 2^53 + 2: rounds to 2^53.
        assert_eq!(exact(&[9007199254740992.0, 1.0]), Some(9007199254740992.0));
        // 2^53 + 1 + 2^-10 is above halfway: 2^53 + 2.
        assert_eq!(exact(&[9007199254740992.0, 1.0, 1.0 / 1024.0]), Some(9007199254740994.0));
    }

    #[test]
    fn merged_states_equal_one_pass() {
        let values: Vec<f64> = (0..1000)
            .map(|i| {
                if i % 3 == 0 {
                    1e16
                } else if i % 3 == 1 {
                    -1e16
                } else {
                    0.1 * i as f64
                }
            })
            .collect();
        let mut a = Superacc::new();
        let mut b = Superacc::new();
        values[..400].iter().for_each(|v| a.add(*v));
        values[400..].iter().for_each(|v| b.add(*v));
        a.merge_bytes(&b.to_bytes()).expect("merges");
        assert_eq!(a.value(), exact(&values));
    }

    #[test]
    fn many_additions_carry() {
        // More additions than MAX_ADDS would need a carry on the way; 2^31 is too slow for a
        // unit test, so the carry path is driven by values whose chunks overflow 32 bits.
        let mut s = Superacc::new();
        for _ in 0..100_000 {
            s.add(f64::from(u32::MAX));
        }
        assert_eq!(s.value(), Some(f64::from(u32::MAX) * 100_000.0));
    }
}
