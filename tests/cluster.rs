//! Builds on an Apache Ballista cluster (compiled only with `--features cluster`; scripts/test
//! runs them in their own target directory, docs/testing.md). Each test starts a scheduler
//! and two executors of the binary under test on free loopback ports, as child processes
//! killed when the test ends (also when it fails), builds a project locally and on the
//! cluster and compares the outputs byte for byte: the cluster must give exactly the local
//! numbers, whose own correctness the oracle tests prove (tests/example.rs, tests/values.rs).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// A node of the cluster; killed (and reaped) on drop.
struct Node {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scheduler and two executors on loopback.
struct Cluster {
    nodes: Vec<Node>,
    scheduler: u16,
    _logs: tempfile::TempDir,
}

impl Cluster {
    fn engine(&self) -> String {
        format!("ballista://127.0.0.1:{}", self.scheduler)
    }

    /// Every node's output, for a failure message.
    fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("--- {} ---\n{}", n.name, std::fs::read_to_string(&n.log).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A port nobody listens on now (the OS's pick; released for the node to bind).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn start(name: &str, args: &[String], logs: &Path) -> Node {
    let log = logs.join(format!("{name}.log"));
    let file = std::fs::File::create(&log).expect("log file");
    let child = Command::new(yardstick_bin())
        .args(args)
        .stdout(Stdio::from(file.try_clone().expect("clone log")))
        .stderr(Stdio::from(file))
        .spawn()
        .expect("start a cluster node");
    Node { name: name.to_string(), child, log }
}

/// Wait until `port` accepts connections; fail with the node's output if it exits first.
fn wait_for(node: &mut Node, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = node.child.try_wait() {
            panic!("{} exited ({status}):\n{}", node.name, std::fs::read_to_string(&node.log).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{} did not listen on port {port} within 60 s:\n{}", node.name, std::fs::read_to_string(&node.log).unwrap_or_default());
}

fn start_cluster() -> Cluster {
    let logs = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut scheduler =
        start("scheduler", &["cluster".into(), "scheduler".into(), "--bind".into(), format!("127.0.0.1:{port}")], logs.path());
    wait_for(&mut scheduler, port);
    let mut nodes = vec![scheduler];
    for i in 0..2 {
        let (flight, grpc) = (free_port(), free_port());
        let work = logs.path().join(format!("work-{i}"));
        std::fs::create_dir_all(&work).expect("work dir");
        let args = [
            "cluster",
            "executor",
            "--scheduler",
            &format!("127.0.0.1:{port}"),
            "--port",
            &flight.to_string(),
            "--grpc-port",
            &grpc.to_string(),
            "--work-dir",
            &work.display().to_string(),
            "--concurrent-tasks",
            "2",
        ]
        .map(String::from);
        let mut executor = start(&format!("executor {i}"), &args, logs.path());
        wait_for(&mut executor, flight);
        nodes.push(executor);
    }
    Cluster { nodes, scheduler: port, _logs: logs }
}

/// Build `project` with extra arguments into a fresh directory; fails with the output.
fn build(project: &Path, extra: &[&str], cluster: &Cluster) -> (tempfile::TempDir, Duration) {
    let out = tempfile::tempdir().expect("tempdir");
    let out_arg = out.path().display().to_string();
    let mut args = vec!["build", project.to_str().expect("utf-8 path"), "--out", &out_arg];
    args.extend(extra);
    let started = Instant::now();
    let (code, stdout, stderr) = yardstick(&args);
    let took = started.elapsed();
    assert_eq!(code, 0, "yardstick {args:?}\n{stdout}\n{stderr}\n{}", cluster.logs());
    (out, took)
}

/// Every file of the local build's report, byte for byte in the cluster build's.
fn assert_same_report(local: &Path, remote: &Path) {
    let mut files = vec![];
    list(local, Path::new(""), &mut files);
    assert!(files.iter().any(|f| f == Path::new("results.json")), "{files:?}");
    // results.json first: its difference is the one to read.
    files.sort_by_key(|f| (f != Path::new("results.json"), f.clone()));
    for f in files {
        let (a, b) = (std::fs::read(local.join(&f)).expect("local file"), std::fs::read(remote.join(&f)));
        let b = b.unwrap_or_else(|_| panic!("the cluster build has no {}", f.display()));
        if a != b {
            let (a, b) = (String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
            let first = a.lines().zip(b.lines()).position(|(x, y)| x != y).unwrap_or(0);
            panic!(
                "{} differs from line {}:\nlocal:   {}\ncluster: {}",
                f.display(),
                first + 1,
                a.lines().nth(first).unwrap_or(""),
                b.lines().nth(first).unwrap_or("")
            );
        }
    }
}

fn list(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(root.join(rel)).expect("read dir") {
        let entry = entry.expect("entry");
        let rel = rel.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            list(root, &rel, out);
        } else {
            out.push(rel);
        }
    }
}

/// The example (four CSV sources: exact percentiles, business days against the city's
/// holidays, rolling and fiscal-year-to-date windows, data checks, public suppression) on
/// the cluster: the same report, results.json first.
#[test]
fn cluster_builds_the_example_like_local() {
    let cluster = start_cluster();
    let example = repo().join("examples/city");
    let (local, local_time) = build(&example, &[], &cluster);
    let engine = cluster.engine();
    let (remote, remote_time) = build(&example, &["--engine", &engine], &cluster);
    println!("examples/city: local {local_time:?}, cluster {remote_time:?}");
    assert_same_report(local.path(), remote.path());
    // The staging directory is gone after the build: a build leaves nothing behind.
    let staging = tempfile::tempdir().expect("tempdir");
    let staging_arg = staging.path().display().to_string();
    let (again, _) = build(&example, &["--engine", &engine, "--staging-dir", &staging_arg], &cluster);
    assert_same_report(local.path(), again.path());
    assert_eq!(std::fs::read_dir(staging.path()).expect("read").count(), 0, "staging left behind");
}

/// Lines of a synthetic TPC-H-like `lineitem` (Parquet, 60,000 rows): every price,
/// discount and tax is a binary fraction (quarters, 64ths), so every sum is exact in any
/// order and the comparison is byte for byte without depending on how partial sums merge.
const LINEITEM: &str = "SELECT \
       id % 15000 AS l_orderkey, id % 2000 AS l_partkey, id % 100 AS l_suppkey, \
       CAST(1 + id % 50 AS DOUBLE) AS l_quantity, \
       CAST(900 + (id * 37) % 100000 AS DOUBLE) / 4 AS l_extendedprice, \
       CAST(id % 7 AS DOUBLE) / 64 AS l_discount, CAST(id % 5 AS DOUBLE) / 64 AS l_tax, \
       CASE id % 3 WHEN 0 THEN 'R' WHEN 1 THEN 'A' ELSE 'N' END AS l_returnflag, \
       CASE WHEN id % 2 = 0 THEN 'O' ELSE 'F' END AS l_linestatus, \
       CAST(CAST(8036 + id % 2500 AS INT) AS DATE) AS l_shipdate, \
       CAST(CAST(8036 + id % 2500 + id % 30 AS INT) AS DATE) AS l_commitdate, \
       CAST(CAST(8036 + id % 2500 + id % 31 AS INT) AS DATE) AS l_receiptdate, \
       CASE id % 4 WHEN 0 THEN 'DELIVER IN PERSON' WHEN 1 THEN 'COLLECT COD' WHEN 2 THEN 'NONE' ELSE 'TAKE BACK RETURN' END AS l_shipinstruct, \
       CASE id % 7 WHEN 0 THEN 'AIR' WHEN 1 THEN 'MAIL' WHEN 2 THEN 'SHIP' WHEN 3 THEN 'TRUCK' WHEN 4 THEN 'RAIL' WHEN 5 THEN 'FOB' ELSE 'REG AIR' END AS l_shipmode \
     FROM generate_series(1, 60000) AS s(id)";

/// The benchmark's 50 KPIs (bench/lineitem/metrics) over a Parquet source, plus business
/// days and a rolling window, locally and on the cluster.
#[test]
fn cluster_builds_the_benchmark_kpis_on_parquet_like_local() {
    let project = tempfile::tempdir().expect("tempdir");
    let template = std::fs::read_to_string(repo().join("bench/lineitem/yardstick.yaml.in")).expect("template");
    let yaml = template
        .replace("allow_paths: [\"@DATA_DIR@\", \"@OUT_DIR@\"]", "")
        .replace("@SF_LABEL@", "cluster test")
        .replace("@FORMAT@", "parquet")
        .replace("@DATA_PATH@", "data/lineitem.parquet")
        + "calendar:\n  holidays: [1992-12-25, 1993-01-01, 1993-12-24, 1995-07-04]\n";
    std::fs::write(project.path().join("yardstick.yaml"), yaml).expect("yaml");
    copy_dir(&repo().join("bench/lineitem/metrics"), &project.path().join("metrics"));
    std::fs::write(
        project.path().join("metrics/z_cluster.kpi"),
        r#"goal cluster_extras "Functions of yardstick's own" {
  kpi z_business_days "Business days from ship to receipt, median" {
    from lineitem
    measure median(business_days_between(l_shipdate, l_receiptdate))
    grain quarter
  }
  kpi z_rolling_lines "Lines, rolling 3 months" {
    from lineitem
    measure count()
    grain month
    rolling 3 months
  }
}
"#,
    )
    .expect("kpi");
    std::fs::create_dir_all(project.path().join("data")).expect("mkdir");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let ctx = datafusion::prelude::SessionContext::new();
        let sql = format!("COPY ({LINEITEM}) TO '{}' STORED AS PARQUET", project.path().join("data/lineitem.parquet").display());
        ctx.sql(&sql).await.expect("plan copy").collect().await.expect("write parquet");
    });
    let cluster = start_cluster();
    let (local, local_time) = build(project.path(), &["--audience", "internal"], &cluster);
    let engine = cluster.engine();
    let (remote, remote_time) = build(project.path(), &["--audience", "internal", "--engine", &engine], &cluster);
    println!("lineitem, 60,000 rows, 52 KPIs: local {local_time:?}, cluster {remote_time:?}");
    assert_same_report(local.path(), remote.path());
    // An independent anchor, by hand: 60,000 lines, each counted once per month.
    let results = results_json(remote.path());
    let lines: f64 = kpi(&results, "a_lines")["rows"].as_array().expect("rows").iter().filter_map(|r| r["value"].as_f64()).sum();
    assert_eq!(lines, 60_000.0);
}

/// No scheduler at the address: a coded error naming it, nothing written.
#[test]
fn cluster_engine_without_a_scheduler_is_a_coded_error() {
    let out = tempfile::tempdir().expect("tempdir");
    let engine = format!("ballista://127.0.0.1:{}", free_port());
    let example = repo().join("examples/city");
    let (code, _, stderr) =
        yardstick(&["build", example.to_str().expect("path"), "--out", out.path().to_str().expect("path"), "--engine", &engine]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("YS0402") && stderr.contains("cannot reach the Ballista scheduler"), "{stderr}");
    assert!(!out.path().join("results.json").exists());
}
