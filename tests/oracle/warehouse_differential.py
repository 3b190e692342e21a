#!/usr/bin/env python3
"""The differential generator's random cases through `yardstick sql --dialect X`, on DuckDB and
PostgreSQL; compared with yardstick's own rows.

Used by tests/warehouse_differential.rs, which writes, for every case directory CASE:

    CASE/typed.json          the generator's table before it wrote data/t.csv (differential.py:
                             Dataset.typed): column types and typed rows, the rows
                             `on_invalid: skip` drops left out
    CASE/expected.json       the generator's description of each KPI ("exact": a count)
    CASE/yardstick.json      yardstick's results (`yardstick::evaluate`)
    CASE/sql/<dialect>/      `yardstick sql --dialect <dialect> --all --out` (the KPIs it
                             exports; the refused ones are counted by the Rust test)

Each case's table `t` is created from typed.json with the declared types (never from
yardstick's reading of the CSV): in DuckDB through parameters, in PostgreSQL through psql's
\\copy of a CSV written here. Every `<kpi>.sql` is run on its engine and compared with the
KPI's rows in yardstick.json, by the rules of tests/oracle/warehouse.py:

- every yardstick row with a value must come back with the same period and groups and the
  same value: exactly for counts ("exact" in expected.json), else within 1e-9 relative
  (yardstick's values hold 12 significant digits);
- every row of the SQL must be a yardstick row (equal as above, or both without a value),
  once: the periods yardstick shows without a value may be missing in the SQL, nothing else
  may differ (a window's SQL ends where yardstick's periods end, docs/scale.md).

Prints one line per engine and KPI that differs (or fails), then a tally line per engine:
`<engine>: N cases, K KPIs compared, R rows equal`; exits 1 on any difference or SQL error.

    warehouse_differential.py CASE... [--pg-host SOCKET_DIR --pg-port PORT]
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from warehouse import day, number  # noqa: E402  (the example's comparer: the same readings of periods and values)

DUCKDB_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "float": "DOUBLE", "boolean": "BOOLEAN",
                "date": "DATE", "timestamp": "TIMESTAMP"}
POSTGRES_TYPES = {"string": "text", "integer": "bigint", "float": "double precision", "boolean": "boolean",
                  "date": "date", "timestamp": "timestamp"}


def qi(name):
    return '"' + name.replace('"', '""') + '"'


def python_value(ty, v):
    """A typed.json cell as the Python value DuckDB binds with the column's type."""
    if v is None:
        return None
    if ty == "date":
        return dt.date.fromisoformat(v)
    if ty == "timestamp":
        return dt.datetime.fromisoformat(v)
    return v


def csv_cell(ty, v):
    """A typed.json cell as PostgreSQL's CSV COPY reads it: an unquoted empty field is
    null, text is always quoted (so an empty string stays one), floats by repr (exact)."""
    if v is None:
        return ""
    if ty == "string":
        return '"' + v.replace('"', '""') + '"'
    if ty == "boolean":
        return "true" if v else "false"
    if ty == "float":
        return repr(float(v))
    return str(v)


def group_text(ty, v):
    """A group value the same way from results.json, DuckDB and psql's CSV."""
    if v is None or v == "":
        return None
    if ty == "boolean":
        if isinstance(v, str):
            return {"t": "true", "f": "false", "true": "true", "false": "false"}[v]
        return "true" if v else "false"
    if ty == "integer":
        return str(int(v))
    return str(v)


def same(ours, theirs, exact):
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if exact:
        return ours == theirs
    return ours == theirs or abs(ours - theirs) <= 1e-9 * max(abs(ours), abs(theirs))


def compare(kpi, want, sql_rows, types):
    """Differences between yardstick's rows of `kpi` and the SQL's rows (dicts)."""
    by = kpi["by"]

    def key(r):
        return (day(r.get("period")),) + tuple(group_text(types[b], r.get(b)) for b in by)

    ours = {key(r): r.get("value") for r in kpi["rows"]}
    exact = bool(want.get("exact"))
    problems = []
    seen = set()
    for r in sql_rows:
        k = key(r)
        v = number(r.get("value"))
        if k in seen:
            problems.append(f"SQL row {k} = {v} appears twice")
        seen.add(k)
        if k not in ours:
            problems.append(f"SQL row {k} = {v!r} is not in yardstick's results")
        elif not same(ours[k], v, exact):
            problems.append(f"{k}: yardstick {ours[k]!r}, SQL {v!r}")
    for k, v in ours.items():
        if v is not None and k not in seen:
            problems.append(f"{k}: yardstick {v!r}, no SQL row")
    return problems


class Engines:
    def __init__(self, pg_host, pg_port):
        self.psql = None
        if pg_host:
            self.psql = ["psql", "-X", "-q", "-h", pg_host, "-p", pg_port, "-U", "postgres", "-d", "postgres"]

    def load(self, typed):
        """Table t of the case in DuckDB (and PostgreSQL), with the declared types."""
        types = typed["types"]
        names = list(types)
        self.duck = duckdb.connect(config={"threads": 1})
        self.duck.execute("CREATE TABLE t (" + ", ".join(f"{qi(c)} {DUCKDB_TYPES[ty]}" for c, ty in types.items()) + ")")
        rows = [[python_value(types[c], v) for c, v in zip(names, row)] for row in typed["rows"]]
        if rows:
            self.duck.executemany("INSERT INTO t VALUES (" + ", ".join("?" for _ in names) + ")", rows)
        if self.psql:
            columns = ", ".join(f"{qi(c)} {POSTGRES_TYPES[ty]}" for c, ty in types.items())
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "t.csv")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(",".join(qi(c) for c in names) + "\n")
                    for row in typed["rows"]:
                        f.write(",".join(csv_cell(types[c], v) for c, v in zip(names, row)) + "\n")
                self.psql_run(f"SET client_min_messages = warning; DROP TABLE IF EXISTS t; CREATE TABLE t ({columns});\n"
                              f"\\copy t FROM '{path}' CSV HEADER\n")

    def psql_run(self, script, csv_out=False):
        out = subprocess.run(self.psql + ["-v", "ON_ERROR_STOP=1"] + (["--csv"] if csv_out else []), input=script,
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip())
        return out.stdout

    def run_all(self, engine, files):
        """{kpi: rows, or the engine's error} for {kpi: sql}. PostgreSQL runs a case's files in
        one psql session (a process per file was most of the test's time), each into a file
        of its own (`\o`); after an error the session goes on with the next file."""
        out = {}
        if engine == "duckdb":
            for kpi, sql in files.items():
                try:
                    cur = self.duck.execute(sql)
                    names = [d[0] for d in cur.description]
                    out[kpi] = [dict(zip(names, row)) for row in cur.fetchall()]
                except Exception as e:  # the engine refused the SQL
                    out[kpi] = RuntimeError(str(e))
            return out
        with tempfile.TemporaryDirectory() as tmp:
            script = "".join(f"\\o {os.path.join(tmp, f'{i}.csv')}\n{sql.rstrip().rstrip(';')};\n\\o\n"
                             for i, sql in enumerate(files.values()))
            subprocess.run(self.psql + ["-v", "ON_ERROR_STOP=0", "--csv"], input=script, capture_output=True, text=True)
            for i, (kpi, sql) in enumerate(files.items()):
                path = os.path.join(tmp, f"{i}.csv")
                text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
                if text:  # psql writes the header line even when there are no rows
                    out[kpi] = list(csv.DictReader(text.splitlines()))
                    continue
                try:  # it failed: once more on its own, for the engine's message
                    out[kpi] = list(csv.DictReader(self.psql_run(sql, csv_out=True).splitlines()))
                except RuntimeError as e:
                    out[kpi] = e
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", nargs="+")
    ap.add_argument("--pg-host")
    ap.add_argument("--pg-port", default="5432")
    a = ap.parse_args()
    engines = Engines(a.pg_host, a.pg_port)
    names = ["duckdb"] + (["postgres"] if a.pg_host else [])
    tally = {e: {"kpis": 0, "rows": 0} for e in names}
    failed = 0
    for case in a.cases:
        typed = json.load(open(os.path.join(case, "typed.json"), encoding="utf-8"))
        expected = {k["id"]: k for k in json.load(open(os.path.join(case, "expected.json"), encoding="utf-8"))["kpis"]}
        ours = {k["id"]: k for k in json.load(open(os.path.join(case, "yardstick.json"), encoding="utf-8"))["kpis"]}
        engines.load(typed)
        for engine in names:
            directory = os.path.join(case, "sql", engine)
            files = sorted(f for f in os.listdir(directory) if f.endswith(".sql")) if os.path.isdir(directory) else []
            sql = {f[:-4]: open(os.path.join(directory, f), encoding="utf-8").read() for f in files}
            for kpi_id, rows in engines.run_all(engine, sql).items():
                where = f"{engine} {os.path.basename(case)} {kpi_id}"
                if isinstance(rows, Exception):
                    print(f"{where}: SQL error: {rows}\n  {expected[kpi_id]['definition']}")
                    failed += 1
                    continue
                problems = compare(ours[kpi_id], expected[kpi_id], rows, typed["types"])
                tally[engine]["kpis"] += 1
                if problems:
                    failed += 1
                    print(f"{where}: {len(problems)} differences\n  {expected[kpi_id]['definition']}")
                    for p in problems[:10]:
                        print(f"  {p}")
                else:
                    tally[engine]["rows"] += len(rows)
        engines.duck.close()
    for engine in names:
        print(f"{engine}: {len(a.cases)} cases, {tally[engine]['kpis']} KPIs compared, {tally[engine]['rows']} rows equal")
    print(f"{failed} KPIs differ or fail")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
