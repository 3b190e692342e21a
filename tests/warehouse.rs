//! `yardstick sql --dialect X`: the example's exported SQL gives yardstick's numbers on DuckDB
//! and on a throwaway PostgreSQL server (tests/oracle/warehouse.py loads the data with the
//! declared types, runs the files, compares with results.json), plus the command's edges.

use std::process::Command;

use crate::common::{repo, yardstick};
use crate::pg::Postgres;

fn has_python_duckdb() -> bool {
    Command::new("python3").args(["-c", "import duckdb"]).output().is_ok_and(|o| o.status.success())
}

#[test]
fn warehouse_sql_of_the_example_gives_yardsticks_numbers_on_duckdb_and_postgres() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let pg = Postgres::start_or_skip("the warehouse test");
    if !has_python_duckdb() {
        assert!(!ci, "the warehouse test needs python3 with duckdb (scripts/test installs it)");
        println!("warehouse test skipped locally: python3 with duckdb is missing");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let example = repo().join("examples/city");
    let out = tmp.path().join("out");
    let (code, _, stderr) =
        yardstick(&["build", &example.to_string_lossy(), "--audience", "internal", "--out", &out.to_string_lossy(), "--allow-outside"]);
    assert_eq!(code, 0, "build failed: {stderr}");
    let mut args: Vec<String> = vec![
        repo().join("tests/oracle/warehouse.py").to_string_lossy().into(),
        out.join("results.json").to_string_lossy().into(),
        example.join("data").to_string_lossy().into(),
    ];
    for (dialect, flag) in [("duckdb", "--duckdb"), ("postgres", "--postgres")] {
        if dialect == "postgres" && pg.is_none() {
            continue;
        }
        let dir = tmp.path().join(dialect);
        let (code, stdout, stderr) =
            yardstick(&["sql", &example.to_string_lossy(), "--dialect", dialect, "--all", "--out", &dir.to_string_lossy()]);
        // Every KPI of the example exports (issue 21: "done when").
        assert_eq!(code, 0, "sql --dialect {dialect} --all: {stderr}");
        assert_eq!(stdout.lines().filter(|l| l.starts_with("wrote ")).count(), 23, "{stdout}");
        args.push(flag.into());
        args.push(dir.to_string_lossy().into());
    }
    if let Some(pg) = &pg {
        args.push("--pg-host".into());
        args.push(pg.socket_dir().to_string_lossy().into());
    }
    let out = Command::new("python3").args(&args).output().expect("python3 runs");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{report}");
    assert!(out.status.success(), "the exported SQL differs from yardstick's results:\n{report}");
    let engines = if pg.is_some() { 2 } else { 1 };
    assert_eq!(report.lines().filter(|l| l.ends_with("rows equal")).count(), 23 * engines, "{report}");
}

#[test]
fn warehouse_sql_refuses_what_a_dialect_cannot_compute_exactly() {
    let example = repo().join("examples/city");
    let dir = example.to_string_lossy();
    // MySQL has no exact percentile: a coded error, exit 1, nothing on stdout.
    let (code, stdout, stderr) = yardstick(&["sql", &dir, "--dialect", "mysql", "answer_seconds_p90", "--color", "never"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("YS0420") && stderr.contains("exact percentile"), "{stderr}");
    // What it can say, it says: the month as MySQL truncates it, no FILTER clause.
    let (code, stdout, stderr) = yardstick(&["sql", &dir, "--dialect", "mysql", "answered_10s"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("DATE_FORMAT(`received_at`, '%Y-%m-01')") && !stdout.contains("FILTER"), "{stdout}");
    assert!(stdout.contains("TIMESTAMPDIFF(MICROSECOND"), "{stdout}");
    // --all lists the KPIs it cannot export, writes the others, exits 1.
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("sql");
    let (code, stdout, stderr) = yardstick(&["sql", &dir, "--dialect", "sqlite", "--all", "--out", &out.to_string_lossy()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("KPI `answered_10s` cannot be exported as SQLite SQL"), "{stderr}");
    let written: Vec<String> =
        std::fs::read_dir(&out).map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into()).collect()).unwrap_or_default();
    assert_eq!(written, vec!["requests_still_open.sql".to_string()], "{stdout}");
    // The header says what yardstick adds beyond the SQL.
    let text = std::fs::read_to_string(out.join("requests_still_open.sql")).expect("file");
    assert!(text.starts_with("-- KPI `requests_still_open`"), "{text}");
    assert!(text.contains("targets and statuses"), "{text}");
    // An unknown KPI is YS0006, as without --dialect.
    let (code, _, stderr) = yardstick(&["sql", &dir, "--dialect", "postgres", "answerd_10s"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("YS0006") && stderr.contains("answered_10s"), "{stderr}");
}

/// A window's rows are copied into the periods after their own, so its SQL trails off past
/// the data; yardstick keeps the periods up to the scope's end, else up to the last period
/// with rows. The SQL drops the others itself, so a derived KPI over the window joins the
/// same periods (found by the warehouse differential: `w * 2` had values in May and June).
#[test]
fn warehouse_sql_of_a_window_stops_where_yardstick_stops() {
    if !has_python_duckdb() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "this warehouse test needs python3 with duckdb (scripts/test installs it)"
        );
        println!("warehouse window test skipped locally: python3 with duckdb is missing");
        return;
    }
    let project = crate::common::project(
        "name: Windows\nsources:\n  t:\n    path: data/t.csv\n    time: day\n    columns:\n      day: date\n      last_base: string\n      data_end: string\n",
        &[
            ("data/t.csv", "day,last_base,data_end\n2024-01-15,x,y\n2024-02-10,x,y\n2024-02-20,x,y\n2024-04-05,x,y\n"),
            (
                "metrics/w.kpi",
                "goal g \"G\" {\n  kpi w { from t measure count() grain month rolling 3 months }\n  kpi d { measure w * 2 }\n  \
                 kpi s { from t measure count() grain month rolling 3 months between 2024-01-01 and 2024-05-31 }\n  \
                 kpi named { from t measure count() by last_base, data_end grain month rolling 3 months }\n}\n",
            ),
        ],
    );
    let dir = project.path().to_string_lossy().to_string();
    let mut got = vec![];
    for kpi in ["w", "d", "s", "named"] {
        let (code, sql, stderr) = yardstick(&["sql", &dir, "--dialect", "duckdb", kpi]);
        assert_eq!(code, 0, "{stderr}");
        let setup = "CREATE TABLE t AS SELECT CAST(d AS DATE) AS day, 'x' AS last_base, 'y' AS data_end \
                     FROM (VALUES ('2024-01-15'), ('2024-02-10'), ('2024-02-20'), ('2024-04-05')) v(d)";
        let out = on_duckdb(setup, &sql);
        let mut lines: Vec<String> = out.iter().map(|(p, v)| format!("{kpi} {} {v}", &p[..7])).collect();
        lines.sort();
        got.extend(lines);
    }
    // By hand: the months' counts are 1, 2, 0, 1 (January to April); a window of three months.
    let want = [
        "w 2024-01 1.0",
        "w 2024-02 3.0",
        "w 2024-03 3.0",
        "w 2024-04 3.0",
        "d 2024-01 2.0",
        "d 2024-02 6.0",
        "d 2024-03 6.0",
        "d 2024-04 6.0",
        // The scope ends in May: May is kept (yardstick shows it), June is not.
        "s 2024-01 1.0",
        "s 2024-02 3.0",
        "s 2024-03 3.0",
        "s 2024-04 3.0",
        "s 2024-05 1.0",
        // Groups named like the SQL's own columns (`last_base`, `data_end`) change nothing.
        "named 2024-01 1.0",
        "named 2024-02 3.0",
        "named 2024-03 3.0",
        "named 2024-04 3.0",
    ];
    assert_eq!(got, want);
    // And yardstick shows the same periods (a period of a KPI here always has a value).
    let (_, results) = yardstick::evaluate(project.path()).unwrap_or_else(|f| panic!("{}", f.render(false)));
    let mut shown = vec![];
    for kpi in ["w", "d", "s", "named"] {
        let rows = &results.kpis.iter().find(|k| k.id == kpi).expect("KPI").rows;
        let rows: Vec<serde_json::Value> = rows.iter().map(|r| serde_json::to_value(r).expect("row")).collect();
        let mut lines: Vec<String> = rows
            .iter()
            .map(|r| format!("{kpi} {} {:.1}", &r["period"].as_str().unwrap_or_default()[..7], r["value"].as_f64().unwrap_or(f64::NAN)))
            .collect();
        lines.sort();
        shown.extend(lines);
    }
    assert_eq!(shown, want);
}

/// `(period, repr(value))` of each row of `sql` on DuckDB after `setup` (python3 with duckdb).
fn on_duckdb(setup: &str, sql: &str) -> Vec<(String, String)> {
    use std::io::Write;
    let run = "import duckdb, sys\ncon = duckdb.connect()\ncon.execute(sys.argv[1])\ncur = con.execute(sys.stdin.read())\n\
               names = [d[0] for d in cur.description]\n\
               for row in cur.fetchall():\n    r = dict(zip(names, row))\n    print(str(r.get('period')), repr(r['value']))";
    let mut child = Command::new("python3")
        .args(["-c", run, setup])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().expect("stdin").write_all(sql.as_bytes()).expect("write the SQL");
    let out = child.wait_with_output().expect("python3 ends");
    assert!(out.status.success(), "{sql}\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.rsplit_once(' ').map(|(p, v)| (p.to_string(), v.to_string()))).collect()
}

/// A percentile's SQL gives yardstick's double, bit for bit: interpolated, the rank
/// p x (n - 1) taken exactly, then `v[lo] + (v[hi] - v[lo]) * weight` (docs/language.md);
/// nearest-rank, the value of rank ceil(p x n), p x n within 1e-9 of a whole number taken as it.
/// DuckDB's quantile_cont gave 1.05e-17 for the first (found by the warehouse differential);
/// for the second, PostgreSQL's percentile_cont and DuckDB's quantile_cont take 0.28 x 25 as
/// 7.000000000000001 and give 8.9e-14, where the rank is 7 and the value 0.
#[test]
fn warehouse_sql_of_a_percentile_gives_yardsticks_double() {
    if !has_python_duckdb() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "this warehouse test needs python3 with duckdb (scripts/test installs it)"
        );
        println!("warehouse percentile test skipped locally: python3 with duckdb is missing");
        return;
    }
    // Five values whose 10th percentile is 0 up to rounding; then 8 zeros and 18 hundreds.
    let near_zero = ["-0.2222222222222222", "0.3333333333333333", "1.0", "1.7777777777777777", "2.2222222222222223"];
    let mut csv = String::from("g,x\n");
    for v in near_zero {
        csv += &format!("a,{v}\n");
    }
    for i in 0..26 {
        csv += &format!("b,{}\n", if i < 8 { 0 } else { 100 });
    }
    for i in 1..=100 {
        csv += &format!("c,{i}\n");
    }
    let project = crate::common::project(
        "name: Percentiles\nsources:\n  t:\n    path: data/t.csv\n    columns:\n      g: string\n      x: float\n",
        &[
            ("data/t.csv", &csv),
            (
                "metrics/p.kpi",
                "goal g \"G\" {\n  kpi near_zero { from t measure percentile(x where g = 'a', 0.1) }\n  \
                 kpi rank_seven { from t measure percentile(x, 0.28) where g = 'b' }\n  \
                 kpi nearest { from t measure percentile_nearest(x, 0.55) where g = 'c' }\n}\n",
            ),
        ],
    );
    // By the documented formula, in doubles: h = 0.1 x 4 = 0.4 and h = 0.28 x 25 = 7.
    let (lo, hi): (f64, f64) = (-0.2222222222222222, 0.3333333333333333);
    let want_near_zero = lo + (hi - lo) * 0.4;
    assert_eq!(format!("{want_near_zero:?}"), "2.7755575615628914e-17");
    let setup = format!(
        "CREATE TABLE t AS SELECT * FROM (VALUES {}) v(g, x)",
        csv.lines()
            .skip(1)
            .map(|l| l.split_once(',').map(|(g, x)| format!("('{g}', CAST('{x}' AS DOUBLE))")).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let dir = project.path().to_string_lossy().to_string();
    // 0.55 x 100 is rank 55 (yardstick), 55.00000000000001 and so 56 for percentile_disc.
    for (kpi, want) in [("near_zero", "2.7755575615628914e-17"), ("rank_seven", "0.0"), ("nearest", "55.0")] {
        let (code, sql, stderr) = yardstick(&["sql", &dir, "--dialect", "duckdb", kpi]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(on_duckdb(&setup, &sql), vec![("None".to_string(), want.to_string())], "{kpi}:\n{sql}");
    }
    // yardstick's own value, rounded to 12 significant digits in the results.
    let (_, results) = yardstick::evaluate(project.path()).unwrap_or_else(|f| panic!("{}", f.render(false)));
    let value = |id: &str| results.kpis.iter().find(|k| k.id == id).and_then(|k| k.rows.first()).and_then(|r| r.value);
    assert_eq!(value("near_zero"), Some(2.77555756156e-17));
    assert_eq!(value("rank_seven"), Some(0.0));
    assert_eq!(value("nearest"), Some(55.0));
}
