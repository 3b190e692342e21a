//! PostgreSQL tables as sources (`postgres:` + `table:`, cargo feature `postgres`): a build
//! over a table in a throwaway server (tests/pg.rs) gives the values PostgreSQL itself
//! computes with its own SQL, reads only the columns its KPIs need, counts the rows and
//! invalid values as a file source does; the provider pushes the filters it can evaluate
//! exactly; the errors name the table and never the password. Without the feature, the
//! config checks and the "built without" error.

#[cfg(feature = "postgres")]
use serde_json::Value;

#[cfg(feature = "postgres")]
use crate::common::{close, kpi, results_json};
use crate::common::{project, yardstick};

/// One KPI over source `calls`.
const ONE_KPI: &str =
    "goal g \"G\" {\n  objective o \"O\" {\n    kpi k \"Calls\" {\n      from calls\n      measure count()\n    }\n  }\n}\n";

/// The table: 500 calls every 37 hours from 2025-01-01 (UTC instants in a `timestamptz`),
/// plus a call without a time and one whose `closed_on` is `infinity`. `wait_seconds` is
/// `numeric` (read through its text, exactly), `code` a padded `char(4)`, `notes` a column
/// no KPI reads.
#[cfg(feature = "postgres")]
const TABLE: &str = "
CREATE TABLE public.service_calls (
  call_id integer, received_at timestamptz, district text, priority smallint,
  wait_seconds numeric(8,2), cost double precision, urgent boolean, closed_on date,
  code char(4), notes text);
INSERT INTO public.service_calls
SELECT g, TIMESTAMPTZ '2025-01-01 00:00:00+00' + g * INTERVAL '37 hours',
       CASE WHEN g % 7 = 0 THEN NULL ELSE (ARRAY['north', 'south', 'east'])[1 + g % 3] END,
       1 + g % 3, (g * 13 % 600) / 10.0 + 0.25, g * 1.5, g % 4 = 0,
       DATE '2025-01-01' + g, 'A' || (g % 2), repeat('x', g % 50)
FROM generate_series(1, 500) g;
INSERT INTO public.service_calls VALUES
  (501, NULL, 'north', 1, 3.5, 2.0, true, DATE '2025-02-01', 'A1', 'no time'),
  (502, TIMESTAMPTZ '2025-03-01 12:00:00+00', 'south', 2, 7.25, 1.0, false, 'infinity', 'A0', 'never closed');
";

#[cfg(feature = "postgres")]
const KPIS: &str = r#"
goal service "Service" {
  objective respond "Respond" {
    kpi calls "Calls per month" {
      from calls
      measure count()
      grain month
    }
    kpi wait "Average wait" {
      from calls
      measure avg(wait_seconds)
      grain month
    }
    kpi wait_p90 "90th percentile wait" {
      from calls
      measure percentile(wait_seconds, 90%)
      grain quarter
    }
    kpi urgent "Share urgent" {
      from calls
      measure share(urgent)
      where priority >= 2
      grain month
    }
    kpi cost "Cost by district" {
      from calls
      measure sum(cost)
      by district
    }
    kpi closed "Calls with a close date" {
      from calls
      measure count(closed_on)
    }
  }
}
"#;

#[cfg(feature = "postgres")]
fn yaml(connection: &str) -> String {
    format!(
        "name: Calls from PostgreSQL\nsources:\n  calls:\n    postgres: \"{connection}\"\n    table: public.service_calls\n    time: received_at\n    columns:\n      call_id: integer\n      received_at: timestamp\n      district: string\n      priority: integer\n      wait_seconds: float\n      cost: float\n      urgent: boolean\n      closed_on: {{ type: date, on_invalid: null }}\n      code: string\n      notes: string\n"
    )
}

/// PostgreSQL's own answer: `period|value` lines -> (period, value).
#[cfg(feature = "postgres")]
fn pairs(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .map(|l| {
            let (p, v) = l.split_once('|').expect("period|value");
            (p.to_string(), v.parse().expect("number"))
        })
        .collect()
}

#[cfg(feature = "postgres")]
fn rows_of(results: &Value, id: &str) -> Vec<(String, f64)> {
    kpi(results, id)["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| Some((r["period"].as_str().or(r["district"].as_str()).unwrap_or("").to_string(), r["value"].as_f64()?)))
        .collect()
}

#[cfg(feature = "postgres")]
fn assert_same(id: &str, got: &[(String, f64)], want: &[(String, f64)]) {
    assert_eq!(got.len(), want.len(), "{id}: yardstick {got:?}\nPostgreSQL {want:?}");
    for ((gp, gv), (wp, wv)) in got.iter().zip(want) {
        assert_eq!(gp, wp, "{id}");
        assert!(close(*gv, *wv), "{id} {gp}: yardstick {gv}, PostgreSQL {wv}");
    }
}

#[cfg(feature = "postgres")]
#[test]
fn pg_source_build_gives_the_values_postgresql_computes() {
    let Some(pg) = crate::pg::Postgres::start_or_skip("the PostgreSQL source test") else { return };
    pg.psql(TABLE);
    pg.log_statements();
    // The connection comes from the environment, as a password would.
    let dir = project(&yaml("${YS_TEST_PG}"), &[("calls.kpi", KPIS)]);
    let out = dir.path().join("out");
    let status = std::process::Command::new(crate::common::yardstick_bin())
        .args(["build", &dir.path().to_string_lossy(), "--audience", "internal", "--out", &out.to_string_lossy()])
        .env("YS_TEST_PG", pg.connection())
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    assert!(status.status.success(), "build failed: {}", String::from_utf8_lossy(&status.stderr));
    let results = results_json(&out);

    // Every value against PostgreSQL's own SQL over the same table.
    let month = "to_char(date_trunc('month', received_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')";
    let quarter = "to_char(date_trunc('quarter', received_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')";
    let timed = "FROM service_calls WHERE received_at IS NOT NULL";
    let want = pairs(&pg.psql(&format!("SELECT {month}, count(*) {timed} GROUP BY 1 ORDER BY 1")));
    assert_eq!(want.len(), 26, "25 months and a bit: {want:?}");
    assert_same("calls", &rows_of(&results, "calls"), &want);
    let want = pairs(&pg.psql(&format!("SELECT {month}, avg(wait_seconds) {timed} GROUP BY 1 ORDER BY 1")));
    assert_same("wait", &rows_of(&results, "wait"), &want);
    let want = pairs(
        &pg.psql(&format!("SELECT {quarter}, percentile_cont(0.9) WITHIN GROUP (ORDER BY wait_seconds) {timed} GROUP BY 1 ORDER BY 1")),
    );
    assert_same("wait_p90", &rows_of(&results, "wait_p90"), &want);
    let want = pairs(
        &pg.psql(&format!("SELECT {month}, avg(CASE WHEN urgent THEN 1.0 ELSE 0.0 END) {timed} AND priority >= 2 GROUP BY 1 ORDER BY 1")),
    );
    assert_same("urgent", &rows_of(&results, "urgent"), &want);
    // Groups compared as sets (the no-district group as ""), in one order.
    let mut want = pairs(&pg.psql("SELECT coalesce(district, ''), sum(cost) FROM service_calls GROUP BY district"));
    let mut got: Vec<(String, f64)> = rows_of(&results, "cost");
    want.sort_by(|a, b| a.0.cmp(&b.0));
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got.len(), 4, "three districts and none: {got:?}");
    assert_same("cost", &got, &want);
    // `infinity` is no date: an invalid value, made null (`on_invalid: null`) and counted.
    let closed: f64 = pg.psql("SELECT count(*) FROM service_calls WHERE closed_on IS NOT NULL AND isfinite(closed_on)").parse().expect("n");
    assert_eq!(rows_of(&results, "closed"), vec![(String::new(), closed)]);

    // The source's lineage: rows read, the invalid value, no password, no files.
    let source = &results["sources"]["calls"];
    assert_eq!(source["format"], "postgres", "{source}");
    assert_eq!(source["path"], "postgres table public.service_calls", "{source}");
    // The lineage names the table, never the server (results.json is published).
    assert_eq!(source["files"], serde_json::json!(["table public.service_calls"]), "{source}");
    assert_eq!(source["rows_read"], 502, "{source}");
    assert_eq!(source["invalid_values"]["closed_on"], 1, "{source}");
    let latest = pg.psql("SELECT to_char(max(received_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') FROM service_calls");
    assert_eq!(source["latest"]["received_at"], latest.as_str(), "{source}");
    // The call without a time is counted as such.
    assert_eq!(kpi(&results, "calls")["row_counts"]["without_time"], 1, "{}", kpi(&results, "calls"));

    // Projection pushdown: one SELECT of the table, naming only the columns KPIs read (and
    // the date columns, whose values can be invalid); never `notes` or `code`.
    let log = pg.log();
    // (The extended protocol's statements are logged as `execute <name>: ...`.)
    let selects: Vec<&str> = log.lines().filter(|l| l.contains("execute") && l.contains("FROM \"public\".\"service_calls\"")).collect();
    assert_eq!(selects.len(), 1, "{log}");
    for column in ["received_at", "district", "priority", "wait_seconds", "cost", "urgent", "closed_on"] {
        assert!(selects[0].contains(&format!("\"{column}\"")), "{column} not read: {}", selects[0]);
    }
    assert!(!selects[0].contains("\"notes\"") && !selects[0].contains("\"code\""), "{}", selects[0]);
    assert!(selects[0].contains("\"wait_seconds\"::text"), "numeric is read exactly, as text: {}", selects[0]);

    // Data checks read the whole table (every column), counted as PostgreSQL counts.
    let checked = project(
        &yaml("${YS_TEST_PG}"),
        &[("calls.kpi", &format!("{ONE_KPI}\ncheck calls {{\n  unique call_id\n  not_null received_at, district\n}}\n"))],
    );
    let out = checked.path().join("out");
    let run = std::process::Command::new(crate::common::yardstick_bin())
        .args(["build", &checked.path().to_string_lossy(), "--audience", "internal", "--out", &out.to_string_lossy()])
        .env("YS_TEST_PG", pg.connection())
        .output()
        .expect("runs");
    assert!(run.status.success(), "build failed: {}", String::from_utf8_lossy(&run.stderr));
    let results = results_json(&out);
    let checks = results["checks"].as_array().expect("checks");
    let check = |name: &str| checks.iter().find(|c| c["check"] == name).unwrap_or_else(|| panic!("no check {name}: {checks:?}"));
    let pg_n = |sql: &str| -> u64 { pg.psql(sql).parse().expect("n") };
    assert_eq!(check("unique call_id")["failing"], pg_n("SELECT count(*) - count(DISTINCT call_id) FROM service_calls"));
    let not_null = check("not_null received_at, district");
    assert_eq!(not_null["failing"], pg_n("SELECT count(*) FROM service_calls WHERE received_at IS NULL OR district IS NULL"));
    assert_eq!(not_null["checked"], 502);
    // An example row's time as a time (the first call without a district is call 7).
    let first = &not_null["examples"][0]["values"];
    let want = pg.psql("SELECT to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') FROM service_calls WHERE call_id = 7");
    assert_eq!(first["received_at"], want.as_str(), "{first}");
}

/// The provider on its own, through DataFusion's SQL: filters it can evaluate exactly go to
/// PostgreSQL (the statement has the WHERE), the others stay in DataFusion; the rows are
/// the same either way, and the same as PostgreSQL's.
#[cfg(feature = "postgres")]
#[test]
fn pg_source_provider_pushes_exact_filters_and_projections() {
    let Some(pg) = crate::pg::Postgres::start_or_skip("the PostgreSQL provider test") else { return };
    pg.psql(TABLE);
    pg.log_statements();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let count = |sql: &str| -> i64 {
        runtime.block_on(async {
            let table =
                yardstick::ingest::postgres::PostgresTable::connect("calls", &pg.connection(), "service_calls").await.expect("table");
            let ctx = datafusion::prelude::SessionContext::new();
            ctx.register_table("t", std::sync::Arc::new(table)).expect("register");
            let batches = ctx.sql(sql).await.expect("plan").collect().await.expect("run");
            batches.iter().map(|b| b.num_rows() as i64).sum()
        })
    };
    let pg_count = |filter: &str| -> i64 { pg.psql(&format!("SELECT count(*) FROM service_calls WHERE {filter}")).parse().expect("n") };
    let cases = [
        // (DataFusion filter, the same in PostgreSQL, pushed?)
        ("priority = 2 AND urgent", "priority = 2 AND urgent", true),
        ("call_id BETWEEN 10 AND 20 OR district IS NULL", "call_id BETWEEN 10 AND 20 OR district IS NULL", true),
        ("district IN ('north', 'east')", "district IN ('north', 'east')", true),
        ("closed_on >= DATE '2025-06-01'", "closed_on >= DATE '2025-06-01'", true),
        ("received_at < TIMESTAMP '2025-02-01 00:00:00'", "received_at < TIMESTAMPTZ '2025-02-01 00:00:00+00'", true),
        // Text order is PostgreSQL's collation there, bytes here: not pushed.
        ("district < 'north'", "district < 'north' COLLATE \"C\"", false),
        // Floats and numerics are not pushed (-0 and NaN; numeric arrives as text).
        ("cost > 300.0", "cost > 300.0", false),
    ];
    for (filter, same, pushed) in cases {
        let got = count(&format!("SELECT call_id FROM t WHERE {filter}"));
        assert_eq!(got, pg_count(same), "{filter}");
        let log = pg.log();
        let last =
            log.lines().filter(|l| l.contains("execute") && l.contains(": SELECT \"call_id\"")).last().expect("a SELECT").to_string();
        assert_eq!(last.contains(" WHERE "), pushed, "{filter}: {last}");
    }
    // A count reads no column at all.
    assert_eq!(count("SELECT 1 FROM t"), 502);
}

#[cfg(feature = "postgres")]
#[test]
fn pg_source_errors_name_the_place_and_never_the_password() {
    let Some(pg) = crate::pg::Postgres::start_or_skip("the PostgreSQL source errors test") else { return };
    pg.psql(TABLE);
    let build = |yaml: &str| {
        let dir = project(yaml, &[("calls.kpi", ONE_KPI)]);
        let out = dir.path().join("out");
        let (code, _, stderr) = yardstick(&["build", &dir.path().to_string_lossy(), "--out", &out.to_string_lossy(), "--color", "never"]);
        assert!(!out.exists(), "nothing written on an error");
        (code, stderr)
    };
    let with = |connection: &str, table: &str, columns: &str| {
        format!("name: t\nsources:\n  calls:\n    postgres: \"{connection}\"\n    table: {table}\n    columns:\n{columns}")
    };
    // No server there: the place, not the password.
    let (code, stderr) = build(&with("postgresql://someone:sekret@%2Fnonexistent%2Fdir/db", "service_calls", "      call_id: integer\n"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("YS0306") && stderr.contains("cannot connect to PostgreSQL at someone@/nonexistent/dir:5432/db"), "{stderr}");
    assert!(!stderr.contains("sekret"), "{stderr}");
    // A password with an `@` from a variable: nothing of it shows.
    let dir = project(
        &with("postgresql://someone:${YS_TEST_PW}@%2Fnonexistent%2Fdir/db", "service_calls", "      call_id: integer\n"),
        &[("calls.kpi", ONE_KPI)],
    );
    let run = std::process::Command::new(crate::common::yardstick_bin())
        .args(["build", &dir.path().to_string_lossy(), "--color", "never"])
        .env("YS_TEST_PW", "zq@xv")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("YS0306") && !stderr.contains("zq") && !stderr.contains("xv"), "{stderr}");
    // NaN and infinities are not numbers; a `real` 4.5 declared integer is not 4.
    pg.psql("CREATE TABLE floats (x double precision, n real); INSERT INTO floats VALUES (1.5, 4), ('NaN', 2), ('Infinity', 4.5), (2, 1)");
    let (code, stderr) = build(&with(&pg.connection(), "floats", "      x: float\n"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("YS0301") && stderr.contains("NaN is not a number"), "{stderr}");
    let (code, stderr) = build(&with(&pg.connection(), "floats", "      x: { type: float, on_invalid: null }\n      n: integer\n"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("4.5 is not a whole number"), "{stderr}");
    // A misspelt table: did you mean.
    let (code, stderr) = build(&with(&pg.connection(), "service_call", "      call_id: integer\n"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("YS0307") && stderr.contains("service_calls"), "{stderr}");
    // A missing variable is named.
    let (code, stderr) = build(&with("${YS_NO_SUCH_VARIABLE}", "service_calls", "      call_id: integer\n"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("YS_NO_SUCH_VARIABLE") && stderr.contains("is not set"), "{stderr}");
    // A misspelt column: the table's columns are suggested.
    let (code, stderr) = build(&with(&pg.connection(), "service_calls", "      cal_id: integer\n"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("YS0302") && stderr.contains("call_id"), "{stderr}");
    // `numeric` 4.25 is not an integer: a conversion error naming the column, never a
    // rounded value.
    let (code, stderr) = build(&with(&pg.connection(), "service_calls", "      wait_seconds: integer\n"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("YS0301") && stderr.contains("wait_seconds"), "{stderr}");
}

/// The configuration's rules for a table source (checked without a server, in every build).
#[test]
fn pg_source_configuration_errors() {
    let check = |source: &str| {
        let yaml = format!("name: t\nsources:\n  calls:\n{source}    columns:\n      n: integer\n");
        let dir = project(&yaml, &[("k.kpi", ONE_KPI)]);
        let (code, stdout, stderr) = yardstick(&["check", &dir.path().to_string_lossy(), "--color", "never"]);
        (code, format!("{stdout}{stderr}"))
    };
    let (code, out) = check("    path: data/x.csv\n    postgres: \"host=db\"\n    table: t\n");
    assert_eq!(code, 1);
    assert!(out.contains("has both `path` and `postgres`"), "{out}");
    let (code, out) = check("    postgres: \"host=db\"\n");
    assert_eq!(code, 1);
    assert!(out.contains("`postgres` needs `table`"), "{out}");
    let (code, out) = check("    path: data/x.csv\n    table: t\n");
    assert_eq!(code, 1);
    assert!(out.contains("`table` without `postgres`"), "{out}");
    let (code, out) = check("    postgres: \"host=db\"\n    table: \"a.b.c\"\n");
    assert_eq!(code, 1);
    assert!(out.contains("is not a table name"), "{out}");
    let (code, out) = check("    postgres: \"host=db\"\n    table: t\n    delimiter: \";\"\n");
    assert_eq!(code, 1);
    assert!(out.contains("`delimiter` is about files"), "{out}");
    let (code, out) = check("    time: n\n");
    assert_eq!(code, 1);
    assert!(out.contains("has no `path`"), "{out}");
    // A well-formed table source checks without connecting.
    let (code, out) = check("    postgres: \"host=db.invalid\"\n    table: public.t\n");
    assert_eq!(code, 0, "{out}");
}

/// Without the feature, a build over a table says how to get it.
#[cfg(not(feature = "postgres"))]
#[test]
fn pg_source_without_the_feature_says_how_to_get_it() {
    let yaml = "name: t\nsources:\n  calls:\n    postgres: \"host=db.invalid\"\n    table: t\n    columns:\n      n: integer\n";
    let dir = project(yaml, &[("k.kpi", ONE_KPI)]);
    let out = dir.path().join("out");
    let (code, _, stderr) = yardstick(&["build", &dir.path().to_string_lossy(), "--out", &out.to_string_lossy(), "--color", "never"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("YS0306") && stderr.contains("--features postgres"), "{stderr}");
    assert!(!out.exists());
}
