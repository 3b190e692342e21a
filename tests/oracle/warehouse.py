#!/usr/bin/env python3
"""Run the example's exported warehouse SQL on DuckDB and PostgreSQL; compare with yardstick.

Used by tests/warehouse.rs. Loads examples/city/data into DuckDB with the column types of
examples/city/yardstick.yaml written out here by hand (timestamps parsed with their declared
formats, an unreadable answer time as null -- `on_invalid: null` --, thousands separators
removed), copies the typed tables into PostgreSQL (CSV through psql's \\copy), runs every
`<kpi>.sql` file of each engine's directory there, and compares the rows with the KPI's rows
in yardstick's results.json (`build --audience internal`):

- every yardstick row with a value must come back from the SQL with the same period and
  groups and a value equal to it (counts and other whole numbers exactly; other values to
  1e-9 relative, results.json holding 12 significant digits);
- every row of the SQL must be a yardstick row (a value equal as above, or both without a
  value); the periods yardstick shows without a value may be missing in the SQL (a window's
  SQL ends where yardstick's periods end, docs/scale.md).

Prints one line per engine and KPI; exits 1 on any difference or SQL error.

    warehouse.py RESULTS_JSON DATA_DIR --duckdb DIR [--postgres DIR --pg-host SOCKET_DIR --pg-port PORT]
"""

import argparse
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile

import duckdb

TS = "%m/%d/%Y %I:%M:%S %p"

# Table -> (SELECT over read_csv(all_varchar) giving yardstick's typed columns, PostgreSQL columns)
TABLES = {
    "calls_911": (
        """SELECT call_id, strptime(received_at, '{ts}') AS received_at,
                  try_strptime(answered_at, '{ts}') AS answered_at,
                  strptime(on_scene_at, '{ts}') AS on_scene_at,
                  district, CAST(priority AS BIGINT) AS priority, call_type
           FROM read_csv('{path}', all_varchar = true, header = true)""",
        "call_id text, received_at timestamp, answered_at timestamp, on_scene_at timestamp, "
        "district text, priority bigint, call_type text",
    ),
    "permits": (
        """SELECT permit_id, permit_type, district, CAST(applied_on AS DATE) AS applied_on,
                  CAST(issued_on AS DATE) AS issued_on, CAST(valuation AS DOUBLE) AS valuation,
                  CAST(fee AS DOUBLE) AS fee
           FROM read_csv('{path}', all_varchar = true, header = true)""",
        "permit_id text, permit_type text, district text, applied_on date, issued_on date, "
        "valuation double precision, fee double precision",
    ),
    "requests_311": (
        """SELECT request_id, category, district, CAST(opened_at AS TIMESTAMP) AS opened_at,
                  CAST(closed_at AS TIMESTAMP) AS closed_at, status,
                  CAST(sla_days AS BIGINT) AS sla_days, channel
           FROM read_csv('{path}', all_varchar = true, header = true)""",
        "request_id text, category text, district text, opened_at timestamp, closed_at timestamp, "
        "status text, sla_days bigint, channel text",
    ),
    "permit_spend": (
        """SELECT CAST(month AS DATE) AS month, cost_centre,
                  CAST(replace(amount, ',', '') AS DOUBLE) AS amount
           FROM read_csv('{path}', all_varchar = true, header = true)""",
        "month date, cost_centre text, amount double precision",
    ),
}


def day(v):
    """A period as YYYY-MM-DD (dates, midnight timestamps, their text), or None."""
    if v is None or v == "":
        return None
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()[:10]
    return str(v)[:10]


def number(v):
    if v is None or v == "":
        return None
    return float(v)


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if a == b:
        return True
    if float(a).is_integer() and float(b).is_integer():
        return False
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def compare(kpi, sql_rows):
    """Differences between yardstick's rows of `kpi` and the SQL's rows (dicts)."""
    by = kpi["by"]
    key = lambda r: (day(r.get("period")),) + tuple("" if r.get(b) is None else str(r.get(b)) for b in by)
    ours = {key(r): r.get("value") for r in kpi["rows"]}
    problems = []
    seen = set()
    for r in sql_rows:
        k = key(r)
        v = number(r.get("value"))
        seen.add(k)
        if k not in ours:
            problems.append(f"SQL row {k} = {v} is not in yardstick's results")
        elif not same(ours[k], v):
            problems.append(f"{k}: yardstick {ours[k]!r}, SQL {v!r}")
    for k, v in ours.items():
        if v is not None and k not in seen:
            problems.append(f"{k}: yardstick {v!r}, no SQL row")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("data")
    ap.add_argument("--duckdb")
    ap.add_argument("--postgres")
    ap.add_argument("--pg-host")
    ap.add_argument("--pg-port", default="5432")
    a = ap.parse_args()
    results = json.load(open(a.results))
    kpis = {k["id"]: k for k in results["kpis"]}

    con = duckdb.connect()
    for table, (select, _) in TABLES.items():
        path = os.path.join(a.data, f"{table}.csv").replace("'", "''")
        con.execute(f"CREATE TABLE {table} AS " + select.format(ts=TS, path=path))

    engines = []
    if a.duckdb:
        def run_duckdb(sql):
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

        engines.append(("duckdb", a.duckdb, run_duckdb))
    if a.postgres:
        psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", a.pg_host, "-p", a.pg_port, "-U", "postgres", "-d", "postgres"]
        with tempfile.TemporaryDirectory() as tmp:
            for table, (_, columns) in TABLES.items():
                path = os.path.join(tmp, f"{table}.csv")
                con.execute(f"COPY {table} TO '{path}' (HEADER, FORMAT csv)")
                subprocess.run(psql + ["-c", f"SET client_min_messages = warning; DROP TABLE IF EXISTS {table}; CREATE TABLE {table} ({columns})"], check=True)
                subprocess.run(psql + ["-c", f"\\copy {table} FROM '{path}' CSV HEADER"], check=True)

        def run_postgres(sql):
            out = subprocess.run(psql + ["--csv"], input=sql, capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError(out.stderr.strip())
            return list(csv.DictReader(out.stdout.splitlines()))

        engines.append(("postgres", a.postgres, run_postgres))

    failed = False
    for engine, directory, run in engines:
        files = sorted(f for f in os.listdir(directory) if f.endswith(".sql"))
        missing = sorted(set(kpis) - {f[:-4] for f in files})
        if missing:
            print(f"{engine}: no SQL file for {', '.join(missing)}")
            failed = True
        for f in files:
            kpi = kpis[f[:-4]]
            sql = open(os.path.join(directory, f)).read()
            try:
                rows = run(sql)
            except Exception as e:  # the engine refused the SQL
                print(f"{engine} {kpi['id']}: SQL error: {e}")
                failed = True
                continue
            problems = compare(kpi, rows)
            if problems:
                failed = True
                print(f"{engine} {kpi['id']}: {len(problems)} differences")
                for p in problems[:10]:
                    print(f"  {p}")
            else:
                print(f"{engine} {kpi['id']}: {len(rows)} rows equal")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
