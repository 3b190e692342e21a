//! `--memory-limit`: one DataFusion memory pool for every query of a build, a spill
//! directory for the operators that can spill (sorts, grouped aggregations), and the coded
//! error (YS0403) when a query, or yardstick's own copy of a source, needs more than the
//! limit allows. Never an out-of-memory kill, never a partial report: a failed build writes
//! nothing.

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;

use datafusion::error::DataFusionError;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};

use crate::diagnostics::Diagnostic;

/// How much memory a build may use, and where spill files go.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Memory {
    /// Bytes (`--memory-limit`); `None`: no limit.
    pub limit: Option<u64>,
    /// Spill files' directory (`--spill-dir`); `None`: the system's temporary directory.
    pub spill_dir: Option<&'static Path>,
}

/// The share of the limit given to the query engine's pool; the rest is for what the pool
/// does not see: batches being decoded and in the queries' channels, the process itself,
/// and the growth of a group's state before the engine counts it (a distinct count's hash
/// table doubles first and is counted after: 256 MB at once at SF10). Measured at SF10 with
/// `--memory-limit 1GiB` (docs/benchmarks.md): three quarters let the process peak at 1.86
/// GiB, a half at 1.34 GiB.
const POOL_SHARE: f64 = 0.5;

impl Memory {
    /// The runtime every query session of the build shares (one pool for all of them).
    pub fn runtime(&self) -> Result<Arc<RuntimeEnv>, Diagnostic> {
        let mut builder = RuntimeEnvBuilder::new();
        if let Some(limit) = self.limit {
            let pool = (limit as f64 * POOL_SHARE) as usize;
            let top = NonZeroUsize::new(3).unwrap_or(NonZeroUsize::MIN);
            // Greedy, not fair: a fair pool gives each of the many concurrent aggregations (five
            // fused queries, two phases, a partition each) an equal slice, and one whose
            // medians need more than its slice failed at SF1 with a 2 GiB limit although the
            // whole build peaks under 1 GiB. First come, first served up to the limit.
            builder = builder.with_memory_pool(Arc::new(TrackConsumersPool::new(GreedyMemoryPool::new(pool), top)));
        }
        let mode = match self.spill_dir {
            Some(dir) => DiskManagerMode::Directories(vec![dir.to_path_buf()]),
            None => DiskManagerMode::OsTmpDirectory,
        };
        builder = builder.with_disk_manager_builder(DiskManagerBuilder::default().with_mode(mode));
        builder.build_arc().map_err(|e| {
            Diagnostic::error("YS0400", format!("cannot set up the query engine's memory and spill directory: {e}"))
                .help("check that the spill directory (`--spill-dir`, else the system's temporary directory) exists and is writable")
        })
    }

    /// The limit as people write it, e.g. `1 GiB`.
    pub fn shown(&self) -> String {
        self.limit.map(show_size).unwrap_or_else(|| "no limit".into())
    }
}

/// Whether a query failed for lack of memory within the limit.
pub fn exhausted(e: &DataFusionError) -> bool {
    matches!(e.find_root(), DataFusionError::ResourcesExhausted(_))
}

/// The engine's refusal in one line: `Failed to allocate additional 25.9 KB for
/// FinalHashAggregateStream[0]` (its list of the largest consumers left out).
pub fn engine_words(text: &str) -> String {
    let line = text.lines().find(|l| l.contains("Failed to allocate")).or(text.lines().next()).unwrap_or_default();
    let line = line.trim_start_matches("Error: ").trim_start_matches("Resources exhausted: ");
    line.split(" with ").next().unwrap_or(line).trim().to_string()
}

/// YS0403 for `what` (e.g. "the query of KPIs `a`, `b`"), with the engine's own words.
pub fn over_limit(what: &str, memory: &Memory, detail: &str, hint: &str) -> Diagnostic {
    let detail = detail.trim();
    Diagnostic::error(
        "YS0403",
        format!("{what} needs more memory than `--memory-limit {}` allows ({detail}); nothing was written", memory.shown()),
    )
    .help(format!(
        "raise `--memory-limit`, or build without it; {hint}. Spilled data goes to {} (`--spill-dir`)",
        match memory.spill_dir {
            Some(d) => format!("`{}`", d.display()),
            None => "the system's temporary directory".into(),
        }
    ))
}

/// Bytes in binary units (`512 MiB`, `1.5 GiB`), exact bytes below 1 KiB.
pub fn show_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    let text = format!("{v:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} {}", UNITS[unit])
}

/// `--memory-limit`'s value: a number with a unit, `1GiB`, `512MiB`, `1.5GB`, `800000000`
/// (bytes). Binary units (KiB, MiB, GiB, TiB) are powers of 1024, decimal ones (KB, MB,
/// GB, TB) of 1000; case does not matter; a space between number and unit is allowed.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = (t[..split].trim(), t[split..].trim());
    let units =
        "use a number and a unit: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. `1GiB` or `512MiB`";
    let Ok(n) = number.parse::<f64>() else { return Err(format!("`{text}` is not a size: {units}")) };
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(format!("`{unit}` is not a unit of size: {units}")),
    };
    let bytes = n * scale as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("`{text}` is too large a size"));
    }
    if bytes < 1.0 {
        return Err(format!("`{text}`: the memory limit must be at least 1 byte"));
    }
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5gb"), Ok(1_500_000_000));
        assert_eq!(parse_size("800000000"), Ok(800_000_000));
        assert_eq!(parse_size("64KiB"), Ok(65_536));
        assert!(parse_size("1XB").is_err_and(|e| e.contains("not a unit")));
        assert!(parse_size("GiB").is_err_and(|e| e.contains("not a size")));
        assert!(parse_size("0").is_err());
        assert!(parse_size("1e30TiB").is_err());
        assert_eq!(show_size(1 << 30), "1 GiB");
        assert_eq!(show_size(1536 << 20), "1.5 GiB");
        assert_eq!(show_size(100), "100 B");
    }
}
