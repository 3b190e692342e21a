//! Where a build's queries run: in this process (the default) or on an Apache Ballista
//! cluster (`build --engine ballista://host:port`, cargo feature `cluster`; docs/scale.md).
//! The plans are the same either way; only the session that executes them differs.

use std::path::PathBuf;

/// The engine of a build. `Copy` like the rest of `Options`: a cluster's settings live for
/// the whole process (the CLI makes one per run, see [`Engine::ballista`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Engine {
    /// DataFusion in this process.
    #[default]
    Local,
    /// A Ballista cluster: the scheduler's address and where the staged sources go.
    Ballista(&'static Cluster),
}

/// A Ballista cluster a build runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The scheduler, `host:port`.
    pub scheduler: String,
    /// The directory the driver writes each source's typed rows into (as Parquet) for the
    /// executors to read: on a real cluster, storage every executor sees at the same path.
    /// `None`: the system's temporary directory (enough when the executors run on this
    /// machine). A fresh subdirectory is made per build and removed after it.
    pub staging: Option<PathBuf>,
}

/// Whether this binary can run builds on a cluster (built with `--features cluster`).
pub const CLUSTER_SUPPORT: bool = cfg!(feature = "cluster");

impl Engine {
    /// The engine for a `ballista://host:port` address (kept for the rest of the process).
    pub fn ballista(scheduler: String, staging: Option<PathBuf>) -> Engine {
        Engine::Ballista(Box::leak(Box::new(Cluster { scheduler, staging })))
    }
}

/// `local` or `ballista://host:port` -> `None` (local) or the scheduler's `host:port`; an
/// error in words otherwise (also when this binary has no cluster support).
pub fn parse_engine(s: &str) -> Result<Option<String>, String> {
    if s == "local" {
        return Ok(None);
    }
    let Some(rest) = s.strip_prefix("ballista://") else {
        return Err(format!("`{s}` is not an engine: use `local` or `ballista://HOST:PORT` (a Ballista scheduler)"));
    };
    let address = rest.trim_end_matches('/');
    let valid = address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && !host.contains(['/', '@', '?', '#']) && port.parse::<u16>().is_ok_and(|p| p > 0));
    if !valid {
        return Err(format!("`{s}` is not a scheduler address: write `ballista://HOST:PORT`, e.g. `ballista://localhost:50050`"));
    }
    if !CLUSTER_SUPPORT {
        return Err("this yardstick was built without cluster support; build it with `cargo build --features cluster` \
                    to run builds on a Ballista cluster (docs/scale.md)"
            .to_string());
    }
    Ok(Some(address.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_addresses() {
        assert_eq!(parse_engine("local"), Ok(None));
        for bad in ["ballista://", "ballista://host", "ballista://:50050", "ballista://h:0", "ballista://h:99999", "spark://h:1", "h:1"] {
            assert!(parse_engine(bad).is_err(), "{bad}");
        }
        let good = parse_engine("ballista://localhost:50050/");
        if CLUSTER_SUPPORT {
            assert_eq!(good, Ok(Some("localhost:50050".to_string())));
        } else {
            assert!(good.is_err_and(|e| e.contains("--features cluster")));
        }
    }
}
