//! How fresh a source is: per file, its rows and the latest value of each date and
//! timestamp column, taken from the batches just read (no second pass over the file).

use datafusion::arrow::array::{Array, Date32Array, RecordBatch, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use indexmap::IndexMap;

use super::SourceStats;

/// One file of a source, for the sources page and results.json.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FileStats {
    /// As in the source's `files`.
    pub file: String,
    /// Rows read from this file.
    pub rows_read: u64,
    /// Per date or timestamp column (in declaration order): the latest value in the file,
    /// `YYYY-MM-DD` (timestamps `YYYY-MM-DDTHH:MM:SS`). A column with no value is absent.
    pub latest: IndexMap<String, String>,
}

/// The latest value of each date or timestamp column, as a number to compare (days or
/// microseconds since 1970) and its text.
pub type Latest = IndexMap<String, (i64, String)>;

fn latest_of(batches: &[RecordBatch]) -> Latest {
    let mut latest = Latest::new();
    for batch in batches {
        merge_latest(&mut latest, batch);
    }
    latest
}

/// Raise `latest` by one batch's dates (for a source streamed batch by batch).
pub fn merge_latest(latest: &mut Latest, batch: &RecordBatch) {
    {
        let schema = batch.schema();
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            let max = match field.data_type() {
                DataType::Date32 => column
                    .as_any()
                    .downcast_ref::<Date32Array>()
                    .and_then(datafusion::arrow::compute::max)
                    .map(|d| (i64::from(d), date_text(d))),
                DataType::Timestamp(TimeUnit::Microsecond, None) => column
                    .as_any()
                    .downcast_ref::<TimestampMicrosecondArray>()
                    .and_then(datafusion::arrow::compute::max)
                    .map(|t| (t, timestamp_text(t))),
                _ => continue,
            };
            let Some((n, text)) = max else { continue };
            match latest.get(field.name()) {
                Some((m, _)) if *m >= n => {}
                _ => {
                    latest.insert(field.name().clone(), (n, text));
                }
            }
        }
    }
}

fn date_text(days: i32) -> String {
    chrono::DateTime::from_timestamp(i64::from(days) * 86_400, 0)
        .map(|d| d.date_naive().format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| days.to_string())
}

fn timestamp_text(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|d| d.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_else(|| micros.to_string())
}

impl SourceStats {
    /// A file has been read: `rows_before` is `rows_read` before it, `batches` what it
    /// added. Records the file's rows and latest dates, and raises the source's.
    pub fn record_file(&mut self, shown: &str, rows_before: u64, batches: &[RecordBatch]) {
        self.record_file_latest(shown, rows_before, latest_of(batches));
    }

    /// [`SourceStats::record_file`] for a file whose batches were not kept (streamed): its
    /// latest dates gathered with [`merge_latest`] as they went by.
    pub fn record_file_latest(&mut self, shown: &str, rows_before: u64, latest: Latest) {
        for (column, (n, text)) in &latest {
            match self.latest_values.get(column) {
                Some(m) if *m >= *n => {}
                _ => {
                    self.latest_values.insert(column.clone(), *n);
                    self.latest.insert(column.clone(), text.clone());
                }
            }
        }
        self.by_file.push(FileStats {
            file: shown.to_string(),
            rows_read: self.rows_read - rows_before,
            latest: latest.into_iter().map(|(c, (_, t))| (c, t)).collect(),
        });
    }
}

impl super::cache::FileCounts {
    /// The counts of one file read into a [`SourceStats`] of its own, and its latest dates.
    pub fn of(file: SourceStats, latest: Latest) -> Self {
        super::cache::FileCounts {
            rows_read: file.rows_read,
            rows_skipped: file.rows_skipped,
            invalid_values: file.invalid_values,
            blank_lines: file.blank_lines,
            trailing_notes: file.trailing_notes,
            missing_optional: file.missing_optional.into_iter().map(|(c, m)| (c, m.rows)).collect(),
            latest: latest.into_iter().map(|(c, (n, t))| (c, n, t)).collect(),
        }
    }
}

impl SourceStats {
    /// Add one file's counts (parsed or from the cache: the same) to the source's.
    pub fn absorb_file(&mut self, shown: &str, counts: super::cache::FileCounts) {
        let rows_before = self.rows_read;
        self.rows_read += counts.rows_read;
        self.rows_skipped += counts.rows_skipped;
        for (column, n) in counts.invalid_values {
            *self.invalid_values.entry(column).or_insert(0) += n;
        }
        self.blank_lines += counts.blank_lines;
        self.trailing_notes += counts.trailing_notes;
        for (column, rows) in counts.missing_optional {
            self.missing_optional(&column, shown, rows);
        }
        self.record_file_latest(shown, rows_before, counts.latest.into_iter().map(|(c, n, t)| (c, (n, t))).collect());
    }
}
