//! A CSV source, streamed: file by file, each from the cache when it holds the file's entry
//! (`cache`), else parsed (`csv`) and its entry written; the batches go to `emit` as they
//! are read, so the source is never held whole in memory.

use std::path::PathBuf;

use datafusion::arrow::datatypes::SchemaRef;

use super::SourceStats;
use super::cache::{Cache, FileCounts};
use super::csv::{Piece, read_csv_file, scan_file};
use super::freshness::{Latest, merge_latest};
use crate::config::SourceSpec;
use crate::diagnostics::Diagnostic;

/// Read every file of a CSV source: each batch to `emit` with the index of its file (in
/// [`SourceStats::files`]), and the source's counts, the same whether a file came from the
/// cache or was parsed.
pub fn stream_csv_source(
    source_id: &str,
    spec: &SourceSpec,
    schema: &SchemaRef,
    files: &[(PathBuf, String)],
    cache: Option<&Cache>,
    emit: &mut dyn FnMut(usize, Piece) -> Result<(), Diagnostic>,
) -> Result<SourceStats, Diagnostic> {
    let mut stats = SourceStats::default();
    for (i, (path, shown)) in files.iter().enumerate() {
        super::report_file(source_id, i, files.len(), shown, stats.rows_read);
        stats.files.push(shown.clone());
        let content = scan_file(path, shown, source_id, spec.encoding)?;
        let key = Cache::key(spec, shown, &content);
        let counts = match cache.map(|c| c.open(&key, schema)) {
            Some(Ok(Some(mut entry))) => {
                crate::progress::report(|| format!("source `{source_id}`: {shown} from the cache (not parsed)"));
                while let Some(next) = entry.next_batch() {
                    let (batch, lines) = next.map_err(|why| {
                        Diagnostic::error("YS0400", format!("source `{source_id}`: the cache entry of {shown} cannot be read: {why}"))
                            .help("delete the cache directory (`.yardstick/cache` unless `cache.dir` says otherwise) and build again")
                    })?;
                    emit(i, Piece { batch, lines })?;
                }
                entry.counts
            }
            found => {
                if let Some(Err(why)) = &found {
                    crate::progress::report(|| format!("source `{source_id}`: the cache entry of {shown} was discarded: {why}"));
                }
                crate::progress::report(|| format!("source `{source_id}`: parsing {shown}"));
                let mut writer = cache.and_then(|c| c.writer(&key, schema));
                let mut file_stats = SourceStats { files: vec![shown.clone()], ..Default::default() };
                let mut latest = Latest::new();
                read_csv_file(source_id, spec, schema, path, shown, &mut file_stats, &mut |piece| {
                    merge_latest(&mut latest, &piece.batch);
                    if let Some(w) = writer.as_mut() {
                        w.write(&piece.batch, &piece.lines);
                    }
                    emit(i, piece)
                })?;
                let counts = FileCounts::of(file_stats, latest);
                if let Some(w) = writer {
                    if !w.commit(&counts) {
                        crate::progress::report(|| format!("source `{source_id}`: could not write the cache entry of {shown}"));
                    }
                }
                counts
            }
        };
        stats.absorb_file(shown, counts);
    }
    stats.check_optional(source_id, spec)?;
    Ok(stats)
}
