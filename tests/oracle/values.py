#!/usr/bin/env python3
"""Oracle for yardstick value tests.

Loads tests/fixtures/values/data/tickets.csv into DuckDB with explicit column
types and computes expected results for a set of KPI-style queries,
independently of yardstick. Writes tests/fixtures/values/expected.json:

    {"<case>": {"sql": "...", "rows": [{"period": "YYYY-MM-DD" | null,
                                        "<group col>": value, ...,
                                        "value": number | null}, ...]}}

Rows are sorted by period, then group columns (NULLs last). `period` is the
first day of the period (date_trunc(<grain>, opened_at)::DATE), or null for
ungrained cases. Measured values are cast to DOUBLE and not rounded.

Usage: python3 tests/oracle/values.py   (requires `pip install duckdb`)
"""
import json
import math
import os
import sys

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_DIR = os.path.normpath(os.path.join(HERE, "..", "fixtures", "values"))
CSV_PATH = os.path.join(FIXTURE_DIR, "data", "tickets.csv")
OUT_PATH = os.path.join(FIXTURE_DIR, "expected.json")

COLUMNS = {
    "id": "VARCHAR",
    "opened_at": "TIMESTAMP",
    "closed_at": "TIMESTAMP",
    "district": "VARCHAR",
    "priority": "BIGINT",
    "cost": "DOUBLE",
    "status": "VARCHAR",
    "escalated": "BOOLEAN",
}

HOURS = "((epoch(closed_at) - epoch(opened_at)) / 3600.0)"


def case(value_expr, grain=None, groups=(), where=None):
    """Build the SQL for one case.

    Output columns: period (DATE or NULL), each group column, value (DOUBLE).
    """
    select = []
    group_by = []
    order_by = []
    if grain is None:
        select.append("NULL::DATE AS period")
    else:
        select.append(f"date_trunc('{grain}', opened_at)::DATE AS period")
        group_by.append("period")
        order_by.append("period ASC NULLS LAST")
    for g in groups:
        select.append(g)
        group_by.append(g)
        order_by.append(f"{g} ASC NULLS LAST")
    select.append(f"CAST({value_expr} AS DOUBLE) AS value")
    sql = "SELECT " + ", ".join(select) + " FROM tickets"
    if where:
        sql += f" WHERE {where}"
    if group_by:
        sql += " GROUP BY " + ", ".join(group_by)
    if order_by:
        sql += " ORDER BY " + ", ".join(order_by)
    return sql


CASES = {
    "count_all": case("count(*)"),
    "count_month": case("count(*)", grain="month"),
    "count_week": case("count(*)", grain="week"),  # DuckDB 'week' = ISO week, Monday start
    "count_quarter_by_district": case("count(*)", grain="quarter", groups=["district"]),
    "count_year": case("count(*)", grain="year"),
    "count_day_where": case("count(*)", grain="day", where="priority = 1"),
    "sum_cost_month": case("sum(cost)", grain="month"),
    "avg_cost_by_district": case("avg(cost)", groups=["district"]),
    "min_cost_month": case("min(cost)", grain="month"),
    "max_cost_month": case("max(cost)", grain="month"),
    "share_escalated_month": case(
        "CAST(count(*) FILTER (WHERE escalated) AS DOUBLE) / count(*)", grain="month"
    ),
    "share_closed_fast_month": case(
        "CAST(count(*) FILTER (WHERE (epoch(closed_at) - epoch(opened_at)) <= 2*86400) AS DOUBLE)"
        " / count(*)",
        grain="month",
        where="closed_at IS NOT NULL",
    ),
    "share_in_list": case(
        "CAST(count(*) FILTER (WHERE district IN ('North', 'South')) AS DOUBLE) / count(*)"
    ),
    "ratio_cost_per_closed_month": case(
        "sum(cost) / NULLIF(count(*) FILTER (WHERE status = 'closed'), 0)", grain="month"
    ),
    "where_and_or_not": case(
        "count(*)",
        grain="month",
        where="(priority >= 2 AND NOT escalated) OR district IS NULL",
    ),
    "avg_hours_to_close_by_district": case(
        f"avg({HOURS})", groups=["district"], where="closed_at IS NOT NULL"
    ),
    "arith_where": case(
        "sum(cost * 2 + 1)", grain="quarter", where="cost IS NOT NULL AND status != 'open'"
    ),
    # --- for a later test ---
    "median_cost_month": case("quantile_cont(cost, 0.5)", grain="month"),
    "p90_hours_to_close": case(f"quantile_cont({HOURS}, 0.9)", where="closed_at IS NOT NULL"),
    "p90_hours_nearest": case(f"quantile_disc({HOURS}, 0.9)", where="closed_at IS NOT NULL"),
    "count_distinct_district_month": case("count(DISTINCT district)", grain="month"),
    "stddev_cost": case("stddev_samp(cost)"),
}


def load(con):
    cols = ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items())
    con.execute(
        f"""
        CREATE TABLE tickets AS
        SELECT * FROM read_csv(
            '{CSV_PATH}',
            header = true,
            delim = ',',
            quote = '"',
            nullstr = '',
            timestampformat = '%Y-%m-%d %H:%M:%S',
            auto_detect = false,
            columns = {{{cols}}}
        )
        """
    )
    n = con.execute("SELECT count(*) FROM tickets").fetchone()[0]
    nulls = con.execute(
        "SELECT count(*) FILTER (WHERE opened_at IS NULL) FROM tickets"
    ).fetchone()[0]
    assert n == 40, n
    assert nulls == 0, nulls


def to_json_value(v):
    if v is None:
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            raise ValueError(f"non-finite value {v!r}")
        return v
    return v


def main():
    con = duckdb.connect()
    load(con)
    out = {}
    for name, sql in CASES.items():
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        rows = []
        for r in cur.fetchall():
            row = {}
            for k, v in zip(names, r):
                if k == "value" and v is not None:
                    v = float(v)
                row[k] = to_json_value(v)
            rows.append(row)
        out[name] = {"sql": sql, "rows": rows}
    with open(OUT_PATH, "w") as f:
        json.dump(out, f, indent=2, allow_nan=False)
        f.write("\n")
    print(f"wrote {len(out)} cases to {OUT_PATH} (duckdb {duckdb.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
