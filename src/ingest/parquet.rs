//! Parquet files -> batches of the declared schema, read by DataFusion one file at a time
//! and streamed to the queries of the source as they are read (`stream::Tee`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Builder, RecordBatch, TimestampMicrosecondBuilder};
use datafusion::arrow::datatypes::{DataType, Date32Type};
use datafusion::common::ScalarValue;
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::{Expr, cast, lit};
use datafusion::prelude::ParquetReadOptions;

use super::SourceStats;
use super::stream::Tee;
use crate::config::{ColumnType, OnInvalid};
use crate::diagnostics::Diagnostic;
use crate::ingest;
use crate::plan::{arrow_type, declared_schema};

/// Parquet files are read by DataFusion, one file at a time: columns are selected by name
/// (or alias) and cast to their declared types, so plans always see the declared schema,
/// `file_column` holds each row's own file, and a value that cannot be converted is an
/// error naming the file and the column (a YS0301, not a failed KPI query). Each batch goes
/// to `sink` as it is read.
///
/// Only the columns in `needed` (the ones the queries read) and the ones whose values can be
/// invalid (dates and timestamps, for `valid_years`; columns whose conversion can fail) are
/// read: the others are null in the batches (no query reads them), and the row accounting
/// is the same as reading everything, since only those columns can reject a row.
pub async fn load_parquet(
    ctx: &SessionContext,
    id: &str,
    spec: &crate::config::SourceSpec,
    files: &[(std::path::PathBuf, String)],
    needed: &std::collections::HashSet<String>,
    sink: &mut Tee,
) -> Result<SourceStats, Diagnostic> {
    use futures::FutureExt;
    let mut stats = SourceStats::default();
    for (i, (path, shown)) in files.iter().enumerate() {
        super::report_file(id, i, files.len(), shown, stats.rows_read);
        validate_parquet(path, shown, id)?;
        let rows_before = stats.rows_read;
        let mut latest = super::freshness::Latest::new();
        // The last line of defence: a reader that panics on a corrupt file is an error that
        // names the file, not a crash of the build.
        let read = std::panic::AssertUnwindSafe(load_parquet_file(ctx, id, spec, path, shown, needed, sink, &mut stats, &mut latest))
            .catch_unwind()
            .await;
        match read {
            Ok(result) => result?,
            Err(panic) => return Err(reader_failed(id, shown, panic.as_ref())),
        }
        stats.record_file_latest(shown, rows_before, latest);
    }
    stats.check_optional(id, spec)?;
    Ok(stats)
}

/// Whether converting a file's column to the declared type can fail or reject a value (so
/// it must be read even when no query reads it).
fn can_be_invalid(file_type: &DataType, declared: &DataType, ty: ColumnType) -> bool {
    if matches!(ty, ColumnType::Date | ColumnType::Timestamp) {
        return true;
    }
    let text = |t: &DataType| matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8);
    let infallible = (file_type == declared && !file_type.is_floating())
        || (text(declared) && text(file_type))
        // (Floats can hold NaN and infinities, which are invalid values: always read.)
        || (declared == &DataType::Float64
            && (file_type.is_integer() || matches!(file_type, DataType::Decimal128(..) | DataType::Decimal256(..)) || file_type.is_null()))
        || (declared == &DataType::Int64
            && matches!(
                file_type,
                DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 | DataType::UInt32
            ));
    !infallible
}

/// A Parquet file must end with its footer: `<metadata> <length: u32 LE> PAR1`, start with
/// `PAR1`, and its metadata must parse. Checked before any reader sees the file (truncated
/// and mangled files made the reader panic).
fn validate_parquet(path: &std::path::Path, shown: &str, id: &str) -> Result<(), Diagnostic> {
    use std::io::{Read, Seek, SeekFrom};
    let bad = |why: String| {
        Diagnostic::error("YS0301", format!("source `{id}`: {shown} is not a readable Parquet file: {why}"))
            .help("the file is damaged, truncated or not Parquet: export it again, or check the source's `path` and `format`")
    };
    let mut file = std::fs::File::open(path).map_err(|e| Diagnostic::error("YS0001", format!("cannot read {shown}: {e}")))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size < 12 {
        return Err(bad(format!("{size} bytes, shorter than the smallest Parquet file")));
    }
    let mut head = [0u8; 4];
    let mut tail = [0u8; 8];
    file.read_exact(&mut head).map_err(|e| bad(e.to_string()))?;
    file.seek(SeekFrom::End(-8)).and_then(|_| file.read_exact(&mut tail)).map_err(|e| bad(e.to_string()))?;
    if &head != b"PAR1" || &tail[4..] != b"PAR1" {
        return Err(bad("it does not start and end with the Parquet magic bytes `PAR1`".into()));
    }
    let footer = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
    if footer > size - 12 {
        return Err(bad(format!("its footer says {footer} bytes of metadata, but the file has {size} bytes")));
    }
    let parsed = std::panic::catch_unwind(|| datafusion::parquet::file::metadata::ParquetMetaDataReader::new().parse_and_finish(&file));
    match parsed {
        Ok(Ok(metadata)) => {
            // Every column chunk must lie inside the file.
            for rg in metadata.row_groups() {
                for c in rg.columns() {
                    let (start, len) = c.byte_range();
                    if start.checked_add(len).is_none_or(|end| end > size) {
                        return Err(bad(format!("a column chunk of `{}` lies beyond the end of the file", c.column_path())));
                    }
                }
            }
            Ok(())
        }
        Ok(Err(e)) => Err(bad(e.to_string())),
        Err(panic) => Err(reader_failed(id, shown, panic.as_ref())),
    }
}

fn reader_failed(id: &str, shown: &str, panic: &(dyn std::any::Any + Send)) -> Diagnostic {
    let why = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
    Diagnostic::error("YS0301", format!("source `{id}`: the Parquet reader failed on {shown}: {why}"))
        .help("the file is damaged or uses a feature the reader does not support: export it again")
}

/// One Parquet file into `sink`.
#[allow(clippy::too_many_arguments)]
async fn load_parquet_file(
    ctx: &SessionContext,
    id: &str,
    spec: &crate::config::SourceSpec,
    path: &std::path::Path,
    shown: &str,
    needed: &std::collections::HashSet<String>,
    sink: &mut Tee,
    stats: &mut SourceStats,
    latest: &mut super::freshness::Latest,
) -> Result<(), Diagnostic> {
    let err = |e: datafusion::error::DataFusionError| Diagnostic::error("YS0301", format!("source `{id}`: cannot read {shown}: {e}"));
    let df = ctx.read_parquet(path.to_string_lossy().to_string(), ParquetReadOptions::default()).await.map_err(err)?;
    load_frame(df, id, spec, shown, needed, sink, stats, latest).await
}

/// A table DataFusion reads (a Parquet file, a PostgreSQL table) into `sink` as the
/// declared columns: selected by name or alias, cast, text dates parsed, `valid_years` and
/// `on_invalid` applied, every row counted in `stats` under the name `shown`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn load_frame(
    df: datafusion::dataframe::DataFrame,
    id: &str,
    spec: &crate::config::SourceSpec,
    shown: &str,
    needed: &std::collections::HashSet<String>,
    sink: &mut Tee,
    stats: &mut SourceStats,
    latest: &mut super::freshness::Latest,
) -> Result<(), Diagnostic> {
    let schema = declared_schema(spec);
    let err = |e: datafusion::error::DataFusionError| Diagnostic::error("YS0301", format!("source `{id}`: cannot read {shown}: {e}"));
    let available: Vec<String> = df.schema().fields().iter().map(|f| f.name().clone()).collect();
    let from_name = ingest::file_name_values(id, spec, shown)?;
    let mut exprs: Vec<(String, Expr)> = vec![];
    // Columns read as text and parsed here (formats DataFusion cannot read), and optional
    // columns this file lacks.
    let mut own_parser: Vec<usize> = vec![];
    let mut absent: Vec<&str> = vec![];
    // Columns no query reads and no value of which can be invalid: null, never read.
    let mut unread: Vec<usize> = vec![];
    // Integer columns stored as floats (see `Judged::whole_numbers`).
    let mut float_as_integer: Vec<usize> = vec![];
    for (i, (name, cs)) in spec.columns.iter().enumerate() {
        let ty = arrow_type(cs.ty.into());
        if let Some(v) = from_name.get(name.as_str()) {
            exprs.push((name.clone(), lit(scalar(v)).alias(name)));
            continue;
        }
        let found = match ingest::locate_column(name, cs, &available) {
            Ok(i) => &available[i],
            Err(ingest::Unbound::Missing) if cs.optional => {
                absent.push(name);
                let null = ScalarValue::try_from(&ty).map_err(|e| Diagnostic::error("YS0400", format!("source `{id}`: {e}")))?;
                exprs.push((name.clone(), lit(null).alias(name)));
                continue;
            }
            Err(why) => return Err(why.diagnostic(name, &available, shown, id).at(cs.span, "declared here")),
        };
        let column = Expr::Column(datafusion::common::Column::new_unqualified(found));
        let file_type = df.schema().field_with_unqualified_name(found).map(|f| f.data_type().clone()).unwrap_or(DataType::Null);
        if !needed.contains(name.as_str()) && !can_be_invalid(&file_type, &ty, cs.ty) {
            unread.push(i);
            let null = ScalarValue::try_from(&ty).map_err(|e| Diagnostic::error("YS0400", format!("source `{id}`: {e}")))?;
            exprs.push((name.clone(), lit(null).alias(name)));
            continue;
        }
        let source_is_text = matches!(file_type, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8);
        // A float declared `integer`: read as a float and judged here, since the cast would
        // cut 4.7 to 4 without a word.
        if cs.ty == ColumnType::Integer && matches!(file_type, DataType::Float16 | DataType::Float32 | DataType::Float64) {
            float_as_integer.push(i);
            exprs.push((name.clone(), cast(column, DataType::Float64).alias(name)));
            continue;
        }
        let is_time = matches!(cs.ty, ColumnType::Timestamp | ColumnType::Date);
        // Excel serials stored as numbers, and text in formats only yardstick reads
        // (keywords, months without a day), are parsed as CSV fields are.
        let own = is_time
            && ((source_is_text && cs.formats.iter().any(|f| crate::config::needs_own_parser(f)))
                || (file_type.is_numeric() && cs.formats.iter().any(|f| f == "excel")));
        if own {
            own_parser.push(i);
            exprs.push((name.clone(), cast(column, DataType::Utf8).alias(name)));
            continue;
        }
        let expr = match cs.ty {
            ColumnType::String if spec.trims(cs) => datafusion::functions::expr_fn::btrim(vec![cast(column, ty)]),
            ColumnType::Timestamp | ColumnType::Date if source_is_text && !cs.formats.is_empty() => {
                let mut args = vec![column];
                args.extend(cs.formats.iter().map(|f| datafusion::logical_expr::lit(f.clone())));
                cast(datafusion::functions::expr_fn::to_timestamp_micros(args), ty)
            }
            _ => cast(column, ty),
        };
        exprs.push((name.clone(), expr.alias(name)));
    }
    let mut select: Vec<Expr> = exprs.iter().map(|(_, e)| e.clone()).collect();
    if let Some(fc) = &spec.file_column {
        select.push(datafusion::logical_expr::lit(shown.to_string()).alias(fc));
    }
    let mut stream = match df.clone().select(select).map_err(err)?.execute_stream().await {
        Ok(s) => s,
        Err(e) => return Err(conversion_error(&df, id, spec, shown, &exprs, e).await),
    };
    stats.files.push(shown.to_string());
    let mut row = 0u64;
    let mut kept = 0i64;
    while let Some(b) = futures::StreamExt::next(&mut stream).await {
        let b = match b {
            Ok(b) => b,
            Err(e) => return Err(conversion_error(&df, id, spec, shown, &exprs, e).await),
        };
        let n = b.num_rows() as u64;
        stats.rows_read += n;
        let (mut columns, mut keep) = parse_text_columns(&b, spec, &own_parser, id, shown, row, stats)?;
        let mut judged = Judged { spec, id, shown, first_row: row, stats: &mut *stats, keep: &mut keep };
        for &i in &float_as_integer {
            columns[i] = judged.whole_numbers(&columns[i], i)?;
        }
        // NaN and infinities are not numbers, as in CSV: invalid values.
        for (i, (_, cs)) in spec.columns.iter().enumerate() {
            if cs.ty == ColumnType::Float && !unread.contains(&i) {
                columns[i] = judged.finite_floats(&columns[i], i)?;
            }
        }
        // Unread columns as typed nulls (their literal is a column of nulls of one type).
        for &i in &unread {
            columns[i] = datafusion::arrow::array::new_null_array(schema.field(i).data_type(), b.num_rows());
        }
        // Same columns, same types: only the field metadata may differ per file.
        let b = RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| Diagnostic::error("YS0301", format!("source `{id}`: {shown} does not fit the declared columns: {e}")))?;
        let b = match keep {
            Some(keep) => filter_rows(b, keep, id, stats)?,
            None => b,
        };
        let b = enforce_valid_years(b, spec, id, shown, row, stats)?;
        super::freshness::merge_latest(latest, &b);
        // Row provenance for the data checks' example rows (only when a check reads the
        // source): the row's place among the file's rows that were kept (1-based).
        if sink.keeps() {
            let numbers: Vec<i64> = (kept + 1..=kept + b.num_rows() as i64).collect();
            stats.origins.push(ingest::BatchOrigin {
                file: stats.files.len() - 1,
                lines: Some(Arc::new(datafusion::arrow::array::Int64Array::from(numbers))),
            });
        }
        kept += b.num_rows() as i64;
        sink.send(&b).await;
        row += n;
    }
    for name in absent {
        stats.missing_optional(name, shown, row);
    }
    Ok(())
}

/// One batch being judged: where its rows are (for messages), the counts, and the rows a
/// `skip` drops.
struct Judged<'a> {
    spec: &'a crate::config::SourceSpec,
    id: &'a str,
    shown: &'a str,
    first_row: u64,
    stats: &'a mut SourceStats,
    keep: &'a mut Option<Vec<bool>>,
}

impl Judged<'_> {
    /// Float column `i` with the values `valid` refuses as invalid values (`what` says what
    /// is wrong with one): counted, then `on_invalid`: an error naming the first, or null,
    /// or their rows skipped. The column comes back with them null.
    fn floats(
        &mut self,
        array: &ArrayRef,
        i: usize,
        valid: impl Fn(f64) -> bool,
        what: &str,
    ) -> Result<datafusion::arrow::array::Float64Array, Diagnostic> {
        use datafusion::arrow::datatypes::Float64Type;
        let (spec, id) = (self.spec, self.id);
        let floats = array
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| Diagnostic::error("YS0400", format!("source `{id}`: column {i} is not read as a float")))?;
        let bad: Vec<usize> = (0..floats.len()).filter(|&r| !floats.is_null(r) && !valid(floats.value(r))).collect();
        let Some(&first) = bad.first() else { return Ok(floats.clone()) };
        let (name, cs) = spec.columns.get_index(i).ok_or_else(|| Diagnostic::error("YS0400", format!("source `{id}`: no column {i}")))?;
        *self.stats.invalid_values.entry(name.clone()).or_insert(0) += bad.len() as u64;
        match cs.on_invalid.unwrap_or(spec.on_invalid) {
            OnInvalid::Error => {
                return Err(Diagnostic::error(
                    "YS0301",
                    format!(
                        "{}: source `{id}`, column `{name}`, row {}: {} {what} ({} such value(s) in this part)",
                        self.shown,
                        self.first_row + first as u64 + 1,
                        floats.value(first),
                        bad.len()
                    ),
                )
                .help(format!(
                    "fix the data, declare the column's type as it is stored, or set `on_invalid: null` (or `skip`) on column `{name}` of source `{id}`"
                )));
            }
            OnInvalid::Null => {}
            OnInvalid::Skip => {
                let rows = self.keep.get_or_insert_with(|| vec![true; floats.len()]);
                for &r in &bad {
                    rows[r] = false;
                }
            }
        }
        Ok((0..floats.len()).map(|r| (!floats.is_null(r) && valid(floats.value(r))).then(|| floats.value(r))).collect())
    }

    /// Float column `i` as integers: a value with a fraction, or beyond 64 bits, is invalid.
    fn whole_numbers(&mut self, array: &ArrayRef, i: usize) -> Result<ArrayRef, Diagnostic> {
        // 2^63 is the first float beyond i64.
        let whole = |v: f64| v.is_finite() && v.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v);
        let floats = self.floats(array, i, whole, "is not a whole number")?;
        let ints: datafusion::arrow::array::Int64Array = floats.iter().map(|v| v.map(|v| v as i64)).collect();
        Ok(Arc::new(ints))
    }

    /// Float column `i` without NaN and infinities: each is an invalid value, as in CSV.
    fn finite_floats(&mut self, array: &ArrayRef, i: usize) -> Result<ArrayRef, Diagnostic> {
        Ok(Arc::new(self.floats(array, i, f64::is_finite, "is not a number")?))
    }
}

/// A value read from a file name as a literal of its column's type.
fn scalar(v: &ingest::Value) -> ScalarValue {
    match v {
        ingest::Value::Null => ScalarValue::Null,
        ingest::Value::String(s) => ScalarValue::Utf8(Some(s.to_string())),
        ingest::Value::Integer(i) => ScalarValue::Int64(Some(*i)),
        ingest::Value::Float(f) => ScalarValue::Float64(Some(*f)),
        ingest::Value::Boolean(b) => ScalarValue::Boolean(Some(*b)),
        ingest::Value::Date(d) => ScalarValue::Date32(Some(*d)),
        ingest::Value::Timestamp(t) => ScalarValue::TimestampMicrosecond(Some(*t), None),
    }
}

/// Columns selected as text (`own_parser`) -> dates or timestamps, parsed as CSV fields are,
/// `valid_years` and `on_invalid` included; the rows to keep when a value's row is skipped.
fn parse_text_columns(
    batch: &RecordBatch,
    spec: &crate::config::SourceSpec,
    own_parser: &[usize],
    id: &str,
    shown: &str,
    first_row: u64,
    stats: &mut SourceStats,
) -> Result<(Vec<ArrayRef>, Option<Vec<bool>>), Diagnostic> {
    let mut columns = batch.columns().to_vec();
    let mut keep: Option<Vec<bool>> = None;
    for &i in own_parser {
        let (name, cs) = spec.columns.get_index(i).ok_or_else(|| Diagnostic::error("YS0400", format!("source `{id}`: no column {i}")))?;
        let text =
            columns[i].as_string_opt::<i32>().ok_or_else(|| Diagnostic::error("YS0400", format!("source `{id}`: `{name}` is not text")))?;
        let mut dates = Date32Builder::new();
        let mut stamps = TimestampMicrosecondBuilder::new();
        for r in 0..text.len() {
            let raw = if text.is_null(r) { "" } else { text.value(r) };
            let value = if ingest::is_null(raw, spec) {
                Some(ingest::Value::Null)
            } else {
                ingest::parse_value(raw, cs, spec).filter(|v| ingest::in_valid_years(v, spec.valid_years))
            };
            let value = match value {
                Some(v) => v,
                None => {
                    *stats.invalid_values.entry(name.clone()).or_insert(0) += 1;
                    match cs.on_invalid.unwrap_or(spec.on_invalid) {
                        OnInvalid::Error => {
                            return Err(Diagnostic::error(
                                "YS0301",
                                format!(
                                    "{shown}: source `{id}`, column `{name}`, row {}: cannot read {raw:?} as {}",
                                    first_row + r as u64 + 1,
                                    ingest::describe_type(cs)
                                ),
                            )
                            .help(format!("fix the data, add the format it is written in, or set `on_invalid: null` (or `skip`) on column `{name}` of source `{id}`")));
                        }
                        OnInvalid::Null => {}
                        OnInvalid::Skip => keep.get_or_insert_with(|| vec![true; text.len()])[r] = false,
                    }
                    ingest::Value::Null
                }
            };
            match value {
                ingest::Value::Date(d) => dates.append_value(d),
                ingest::Value::Timestamp(t) => stamps.append_value(t),
                _ => {
                    dates.append_null();
                    stamps.append_null();
                }
            }
        }
        columns[i] = match cs.ty {
            ColumnType::Date => Arc::new(dates.finish()),
            _ => Arc::new(stamps.finish()),
        };
    }
    Ok((columns, keep))
}

fn filter_rows(batch: RecordBatch, keep: Vec<bool>, id: &str, stats: &mut SourceStats) -> Result<RecordBatch, Diagnostic> {
    use datafusion::arrow::array::BooleanArray;
    stats.rows_skipped += keep.iter().filter(|k| !**k).count() as u64;
    datafusion::arrow::compute::filter_record_batch(&batch, &BooleanArray::from(keep))
        .map_err(|e| Diagnostic::error("YS0400", format!("source `{id}`: {e}")))
}

/// Dates and timestamps outside the source's `valid_years` are invalid values, as in CSV:
/// an error naming the file, row and column, or null / a skipped row under `on_invalid`.
fn enforce_valid_years(
    batch: RecordBatch,
    spec: &crate::config::SourceSpec,
    id: &str,
    shown: &str,
    first_row: u64,
    stats: &mut SourceStats,
) -> Result<RecordBatch, Diagnostic> {
    use datafusion::arrow::array::BooleanArray;
    use datafusion::arrow::datatypes::TimestampMicrosecondType;
    let mut columns = batch.columns().to_vec();
    let mut keep = vec![true; batch.num_rows()];
    for (i, (name, cs)) in spec.columns.iter().enumerate() {
        if !matches!(cs.ty, ColumnType::Date | ColumnType::Timestamp) {
            continue;
        }
        let array = &columns[i];
        let value = |r: usize| -> Option<ingest::Value<'static>> {
            if array.is_null(r) {
                return None;
            }
            match cs.ty {
                ColumnType::Date => array.as_primitive_opt::<Date32Type>().map(|a| ingest::Value::Date(a.value(r))),
                _ => array.as_primitive_opt::<TimestampMicrosecondType>().map(|a| ingest::Value::Timestamp(a.value(r))),
            }
        };
        let bad: Vec<usize> =
            (0..batch.num_rows()).filter(|r| value(*r).is_some_and(|v| !ingest::in_valid_years(&v, spec.valid_years))).collect();
        if bad.is_empty() {
            continue;
        }
        *stats.invalid_values.entry(name.clone()).or_insert(0) += bad.len() as u64;
        match cs.on_invalid.unwrap_or(spec.on_invalid) {
            OnInvalid::Error => {
                let shown_value = datafusion::arrow::util::display::array_value_to_string(array, bad[0]).unwrap_or_default();
                return Err(Diagnostic::error(
                    "YS0301",
                    format!(
                        "{shown}: source `{id}`, column `{name}`, row {}: {shown_value} is outside the source's valid years {}-{} ({} such value(s) in this part of the file)",
                        first_row + bad[0] as u64 + 1,
                        spec.valid_years[0],
                        spec.valid_years[1],
                        bad.len()
                    ),
                )
                .help(format!("fix the data, widen `valid_years` on source `{id}`, or set `on_invalid: null` (or `skip`) on the column")));
            }
            OnInvalid::Null => {
                let mask = BooleanArray::from((0..batch.num_rows()).map(|r| !bad.contains(&r)).collect::<Vec<bool>>());
                columns[i] = datafusion::arrow::compute::nullif(
                    array,
                    &datafusion::arrow::compute::not(&mask).map_err(|e| Diagnostic::error("YS0400", format!("source `{id}`: {e}")))?,
                )
                .map_err(|e| Diagnostic::error("YS0400", format!("source `{id}`: {e}")))?;
            }
            OnInvalid::Skip => bad.iter().for_each(|r| keep[*r] = false),
        }
    }
    let skipped = keep.iter().filter(|k| !**k).count();
    let batch = RecordBatch::try_new(batch.schema(), columns).map_err(|e| Diagnostic::error("YS0400", format!("source `{id}`: {e}")))?;
    if skipped == 0 {
        return Ok(batch);
    }
    stats.rows_skipped += skipped as u64;
    datafusion::arrow::compute::filter_record_batch(&batch, &BooleanArray::from(keep))
        .map_err(|e| Diagnostic::error("YS0400", format!("source `{id}`: {e}")))
}

/// A Parquet file failed to convert: find the declared column responsible (one query per
/// column, on this error path only) so the error names it and its `format`.
async fn conversion_error(
    df: &datafusion::dataframe::DataFrame,
    id: &str,
    spec: &crate::config::SourceSpec,
    shown: &str,
    exprs: &[(String, Expr)],
    first: datafusion::error::DataFusionError,
) -> Diagnostic {
    for (name, expr) in exprs {
        let Ok(one) = df.clone().select(vec![expr.clone()]) else { continue };
        if let Err(e) = one.collect().await {
            let cs = &spec.columns[name];
            let help = if cs.formats.is_empty() {
                format!(
                    "declare the column's type as it is in the file, or give `format:` for a date or timestamp column `{name}` of source `{id}`"
                )
            } else {
                format!(
                    "none of the formats {:?} of column `{name}` (source `{id}`) reads this value: add the right chrono format (docs/configuration.md)",
                    cs.formats
                )
            };
            return Diagnostic::error(
                "YS0301",
                format!("{shown}: source `{id}`, column `{name}`: cannot convert a value to {}: {}", cs.ty.name(), e.strip_backtrace()),
            )
            .help(help);
        }
    }
    Diagnostic::error("YS0301", format!("source `{id}`: cannot read {shown}: {}", first.strip_backtrace()))
}
