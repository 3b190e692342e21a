//! A throwaway PostgreSQL server for the tests that need one (tests/warehouse.rs,
//! tests/pg_source.rs): a fresh cluster in a temporary directory, listening only on a Unix
//! socket there, stopped and removed on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A PostgreSQL server of its own: a fresh cluster in a temporary directory, listening only
/// on a Unix socket there; stopped and removed on drop (also when the test fails).
pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// `runuser -u postgres --` when running as root (initdb refuses root).
    as_user: Vec<String>,
}

impl Postgres {
    /// `None` when no PostgreSQL is installed (or it cannot be started), with the reason.
    pub fn start() -> Result<Postgres, String> {
        let bin = postgres_bin().ok_or("no PostgreSQL server binaries (initdb, pg_ctl) found")?;
        let dir = tempfile::Builder::new().prefix("yardstick-pg").tempdir().map_err(|e| e.to_string())?;
        let root = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false);
        let as_user: Vec<String> = if root { ["runuser", "-u", "postgres", "--"].map(String::from).to_vec() } else { vec![] };
        if root {
            let chown = Command::new("chown").arg("postgres").arg(dir.path()).status().map_err(|e| e.to_string())?;
            if !chown.success() {
                return Err("cannot give the temporary directory to the postgres user".into());
            }
        }
        let pg = Postgres { bin, dir, as_user };
        let data = pg.dir.path().join("data");
        pg.run("initdb", &["-D", &data.to_string_lossy(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])?;
        let options = format!("-k {} -c listen_addresses='' -F", pg.dir.path().display());
        let log = pg.dir.path().join("log");
        pg.run("pg_ctl", &["-D", &data.to_string_lossy(), "-o", &options, "-l", &log.to_string_lossy(), "-w", "start"])?;
        Ok(pg)
    }

    pub fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(tool);
        let mut cmd = match self.as_user.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        let out = cmd.args(args).output().map_err(|e| format!("{tool}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("{tool} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
        }
    }

    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self.run("pg_ctl", &["-D", &data.to_string_lossy(), "-m", "immediate", "-w", "stop"]);
    }
}

/// The newest /usr/lib/postgresql/<version>/bin (Debian), else the directory of `initdb` on
/// the PATH.
pub fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
}

// The PostgreSQL source tests use these; they are compiled with `--features postgres`.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
impl Postgres {
    /// A libpq connection string for the server's socket, as user `postgres`.
    pub fn connection(&self) -> String {
        format!("host={} user=postgres dbname=postgres", self.socket_dir().display())
    }

    /// Run SQL with psql (stop on the first error); its output, unaligned, tuples only.
    pub fn psql(&self, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.socket_dir())
            .args(["-U", "postgres", "-d", "postgres", "-c", sql])
            .output()
            .expect("psql runs");
        assert!(out.status.success(), "psql failed on {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Log every statement the server runs (read them with [`Postgres::log`]).
    pub fn log_statements(&self) {
        self.psql("ALTER SYSTEM SET log_statement = 'all'");
        self.psql("SELECT pg_reload_conf()");
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Start one, or say why not: a failure in CI (`CI=true`, where scripts/test installs
    /// Debian's `postgresql`), `None` with a printed line locally.
    pub fn start_or_skip(test: &str) -> Option<Postgres> {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        match Postgres::start() {
            Ok(pg) => Some(pg),
            Err(why) if ci => panic!("{test} needs PostgreSQL in CI (scripts/test installs Debian's `postgresql`): {why}"),
            Err(why) => {
                println!("{test}: PostgreSQL part skipped locally: {why}");
                None
            }
        }
    }
}
