//! Exact percentiles and medians: `exact_percentile_cont` (linear interpolation between
//! closest ranks) and `exact_percentile_disc` (nearest rank); see the parent module.
//!
//! Every value of a group is kept (exact results need them all); the grouped form keeps one
//! `Vec<f64>` per group and counts what it holds against the memory pool, and a percentile
//! selects its one or two ranks (`select_nth_unstable`, linear) instead of sorting.

use std::any::Any;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, ListArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility};
use datafusion::physical_expr::expressions::Literal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PercentileMethod {
    /// Linear interpolation between closest ranks.
    Interpolated,
    /// Nearest rank.
    NearestRank,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct ExactPercentile {
    pub(super) method: PercentileMethod,
    signature: Signature,
}

pub fn percentile_udaf(method: PercentileMethod) -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::from(ExactPercentile {
        method,
        signature: Signature::exact(vec![DataType::Float64, DataType::Float64], Volatility::Immutable),
    }))
}

impl AggregateUDFImpl for ExactPercentile {
    fn name(&self) -> &str {
        match self.method {
            PercentileMethod::Interpolated => "exact_percentile_cont",
            PercentileMethod::NearestRank => "exact_percentile_disc",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(PercentileAccumulator { values: vec![], p: literal_p(&args)?, method: self.method }))
    }
    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(PercentileGroups { values: vec![], held: 0, p: literal_p(&args)?, method: self.method }))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new_list(format!("{}[values]", args.name), Field::new_list_field(DataType::Float64, true), true))])
    }
}

/// The percentile argument: a literal in [0, 1] (the checker only lets such ones through).
fn literal_p(args: &AccumulatorArgs) -> Result<f64> {
    let p = args.exprs.get(1).and_then(|e| (e.as_ref() as &dyn Any).downcast_ref::<Literal>()).and_then(|l| match l.value() {
        ScalarValue::Float64(Some(p)) => Some(*p),
        _ => None,
    });
    match p.filter(|p| (0.0..=1.0).contains(p)) {
        Some(p) => Ok(p),
        None => exec_err!("the percentile must be a number literal between 0 and 1"),
    }
}

/// The values of one list state (the other partitions' values of a group).
fn list_values(lists: &ListArray, i: usize, out: &mut Vec<f64>) {
    if lists.is_null(i) {
        return;
    }
    if let Some(arr) = lists.value(i).as_primitive_opt::<Float64Type>() {
        out.extend(arr.iter().flatten());
    }
}

/// Lists of values, one per group, as the state.
fn list_state(groups: Vec<Vec<f64>>) -> ListArray {
    let lengths: Vec<usize> = groups.iter().map(Vec::len).collect();
    let values: Float64Array = groups.into_iter().flatten().map(Some).collect();
    ListArray::new(
        Arc::new(Field::new_list_field(DataType::Float64, true)),
        datafusion::arrow::buffer::OffsetBuffer::from_lengths(lengths),
        Arc::new(values),
        None,
    )
}

#[derive(Debug)]
struct PercentileAccumulator {
    values: Vec<f64>,
    p: f64,
    method: PercentileMethod,
}

impl Accumulator for PercentileAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(arr) = values.first().and_then(|a| a.as_primitive_opt::<Float64Type>()) else {
            return exec_err!("percentile input must be Float64");
        };
        self.values.extend(arr.iter().flatten().filter(|v| !v.is_nan()));
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(lists) = states.first().and_then(|a| a.as_list_opt::<i32>()) else {
            return exec_err!("percentile state must be a list");
        };
        for i in 0..lists.len() {
            list_values(lists, i, &mut self.values);
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::List(Arc::new(list_state(vec![self.values.clone()])))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(percentile(&mut self.values, self.p, self.method)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.capacity() * std::mem::size_of::<f64>()
    }
}

/// The grouped form: each group's values in a `Vec`, pushed as the rows arrive (DataFusion's
/// adapter for ungrouped accumulators would slice every batch per group).
struct PercentileGroups {
    values: Vec<Vec<f64>>,
    /// Bytes the groups' vectors have allocated, kept up to date as they grow (what the
    /// memory pool is told).
    held: usize,
    p: f64,
    method: PercentileMethod,
}

impl PercentileGroups {
    fn push(&mut self, g: usize, v: f64) {
        let group = &mut self.values[g];
        let before = group.capacity();
        group.push(v);
        if group.capacity() != before {
            self.held += (group.capacity() - before) * std::mem::size_of::<f64>();
        }
    }

    fn taken(&mut self, emit_to: EmitTo) -> Vec<Vec<f64>> {
        let out = emit_to.take_needed(&mut self.values);
        self.held -= out.iter().map(|v| v.capacity() * std::mem::size_of::<f64>()).sum::<usize>().min(self.held);
        out
    }
}

impl GroupsAccumulator for PercentileGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let Some(input) = values.first().and_then(|a| a.as_primitive_opt::<Float64Type>()) else {
            return exec_err!("percentile input must be Float64");
        };
        self.values.resize_with(total_num_groups, Vec::new);
        let raw = input.values();
        for (i, &g) in group_indices.iter().enumerate() {
            if input.is_null(i) || raw[i].is_nan() || !super::filter_keeps(opt_filter, i) {
                continue;
            }
            self.push(g, raw[i]);
        }
        Ok(())
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        let Some(lists) = values.first().and_then(|a| a.as_list_opt::<i32>()) else {
            return exec_err!("percentile state must be a list");
        };
        self.values.resize_with(total_num_groups, Vec::new);
        let mut merged = vec![];
        for (i, &g) in group_indices.iter().enumerate() {
            merged.clear();
            list_values(lists, i, &mut merged);
            for &v in &merged {
                self.push(g, v);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let (p, method) = (self.p, self.method);
        let out: Float64Array = self.taken(emit_to).iter_mut().map(|v| percentile(v, p, method)).collect();
        Ok(Arc::new(out))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![Arc::new(list_state(self.taken(emit_to)))])
    }

    /// Each row its own state: a list of its one value, empty when it is not counted.
    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        let Some(input) = values.first().and_then(|a| a.as_primitive_opt::<Float64Type>()) else {
            return exec_err!("percentile input must be Float64");
        };
        let rows = (0..input.len())
            .map(|i| {
                let counted = input.is_valid(i) && !input.value(i).is_nan() && super::filter_keeps(opt_filter, i);
                if counted { vec![input.value(i)] } else { vec![] }
            })
            .collect();
        Ok(vec![Arc::new(list_state(rows))])
    }

    fn size(&self) -> usize {
        self.held + self.values.capacity() * std::mem::size_of::<Vec<f64>>()
    }
}

/// `p * last` as a whole part and a fraction, exactly when `p` is a decimal of up to nine
/// places (every written percentile): 0.28 * 25 is 7, not 7.000000000000001 (which would
/// interpolate a hair towards the next value).
fn interpolation_rank(p: f64, last: usize) -> (usize, f64) {
    const SCALE: i128 = 1_000_000_000;
    let scaled = (p * SCALE as f64).round();
    if (p * SCALE as f64 - scaled).abs() < 1e-3 && scaled >= 0.0 {
        let product = scaled as i128 * last as i128;
        ((product / SCALE) as usize, (product % SCALE) as f64 / SCALE as f64)
    } else {
        let rank = p * last as f64;
        (rank.floor() as usize, rank - rank.floor())
    }
}

/// The percentile of `values` (reordered in place). `None` when there are no values.
pub fn percentile(values: &mut [f64], p: f64, method: PercentileMethod) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len();
    // The value at a rank of the values in `total_cmp` order: what sorting would put there
    // (values equal in that order have the same bits), in linear time.
    let rank = |values: &mut [f64], k: usize| *values.select_nth_unstable_by(k, f64::total_cmp).1;
    match method {
        PercentileMethod::Interpolated => {
            let (lo, weight) = interpolation_rank(p, n - 1);
            let lo = lo.min(n - 1);
            let low = rank(values, lo);
            // After the selection everything above `lo` is at least `low`: the next rank
            // is the smallest of them.
            let high =
                if weight > 0.0 && lo + 1 < n { values[lo + 1..].iter().copied().min_by(f64::total_cmp).unwrap_or(low) } else { low };
            Some(low + (high - low) * weight)
        }
        PercentileMethod::NearestRank => {
            // p * n in floating point can land a hair above a whole number (0.55 * 100 =
            // 55.000000000000007); such a product is that whole number, not the next rank.
            let exact = p * n as f64;
            let rank_of = if (exact - exact.round()).abs() < 1e-9 { exact.round() } else { exact.ceil() } as usize;
            Some(rank(values, rank_of.saturating_sub(1).min(n - 1)))
        }
    }
}
