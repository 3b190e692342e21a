#!/usr/bin/env python3
"""Oracle for yardstick value tests.

Loads tests/fixtures/values/data/tickets.csv into DuckDB with explicit column
types and computes the expected results of the KPIs in
tests/fixtures/values/values.kpi, independently of yardstick (DuckDB SQL for
the values, plain Python with exact fractions for targets, statuses and
comparisons). Writes tests/fixtures/values/expected.json:

    {"<case>": {"kpi": "<kpi id>",            # the case name unless stated
                "as_of": "YYYY-MM-DD" | null, # build with --as-of this day
                "sql": "..." | null,          # null for derived KPIs
                "derived": "..." | null,      # the derived KPI's expression
                "rows": [{"period": "YYYY-MM-DD" | null,
                          "<group col>": value, ...,
                          "value": number | null,
                          ["target": number,]
                          "status": "on_track" | "near_target" | "off_track"
                                    | "no_data" | "no_target",
                          ["comparisons": {"previous_period": {"value", "change",
                              "relative_change", "improved"}, ...}]}, ...]}}

Rules the oracle implements (docs/language.md):

- Rows are sorted by period, then group columns (NULLs last). `period` is the
  first day of the period, or null for ungrained cases. Values are DOUBLE, not
  rounded (the test compares to 1e-9 relative).
- Grained KPIs have one row per period from the first period with data to the
  last (the scope's start / end or the --as-of day's period when given), for
  every group combination seen in the KPI's rows (after where / scope /
  as-of); windows add no periods after the data, but a scope end or --as-of
  does, and those periods get their window's value. A period (and window)
  without rows has value null and status no_data.
- A row's value is computed over the rows whose time lies in
  [window start, end of the period): the period itself, or for windows
  `rolling n` the n periods ending with it, `year_to_date` from 1 January of
  the year of the period's first day, `fiscal_year_to_date` from the start of
  the fiscal year (FISCAL_START_MONTH) holding the period's first day. This is
  by row dates, so a week that straddles New Year does not carry its January
  rows out of the new year's year-to-date.
- Ungrained KPIs without `by` have exactly one row, even without any row in
  scope (SQL semantics: count() of nothing is 0, sum() of nothing is null).
- Scopes keep rows with time >= since 00:00 and < (until + 1 day) 00:00; so
  does --as-of (< as_of + 1 day).
- Derived KPIs: arithmetic over the inputs' final rows, aligned on period and
  groups, over the union of their periods; null when an input is null or a
  divisor is 0.
- Statuses are judged on the value rounded to 12 significant digits, with
  exact (fraction) arithmetic against the written target.

Usage: python3 tests/oracle/values.py   (requires `pip install duckdb`)
"""
import datetime as dt
import json
import math
import os
import sys
from fractions import Fraction

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_DIR = os.path.normpath(os.path.join(HERE, "..", "fixtures", "values"))
CSV_PATH = os.path.join(FIXTURE_DIR, "data", "tickets.csv")
OUT_PATH = os.path.join(FIXTURE_DIR, "expected.json")

# calendar.fiscal_year_start in tests/fixtures/values/yardstick.yaml ("07-01").
FISCAL_START_MONTH = 7

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

# ------------------------------------------------------------------ periods


def period_sql(grain, t):
    """SQL for the first day (DATE) of the period of `grain` holding timestamp `t`.

    Written from year/month arithmetic rather than date_trunc where it matters
    (fiscal grains), so the oracle does not mirror yardstick's shift-truncate-shift.
    """
    fs = FISCAL_START_MONTH
    if grain == "day":
        return f"CAST({t} AS DATE)"
    if grain == "week":  # ISO week, Monday start (calendar.week_start default)
        return f"CAST({t} AS DATE) - CAST(isodow({t}) - 1 AS INTEGER)"
    if grain == "month":
        return f"make_date(year({t}), month({t}), 1)"
    if grain == "quarter":
        return f"make_date(year({t}), (month({t}) - 1) // 3 * 3 + 1, 1)"
    if grain == "year":
        return f"make_date(year({t}), 1, 1)"
    fiscal_year_start = (
        f"make_date(year({t}) - CASE WHEN month({t}) < {fs} THEN 1 ELSE 0 END, {fs}, 1)"
    )
    if grain == "fiscal_year":
        return fiscal_year_start
    if grain == "fiscal_quarter":
        months_into = f"((month({t}) - {fs} + 12) % 12)"
        return f"CAST({fiscal_year_start} + to_months(CAST({months_into} // 3 * 3 AS INTEGER)) AS DATE)"
    raise ValueError(grain)


# Length of one period, as a DuckDB interval and as a Python step.
STEP_SQL = {
    "day": "INTERVAL 1 DAY",
    "week": "INTERVAL 7 DAY",
    "month": "INTERVAL 1 MONTH",
    "quarter": "INTERVAL 3 MONTH",
    "year": "INTERVAL 12 MONTH",
    "fiscal_quarter": "INTERVAL 3 MONTH",
    "fiscal_year": "INTERVAL 12 MONTH",
}
STEP_MONTHS = {"month": 1, "quarter": 3, "year": 12, "fiscal_quarter": 3, "fiscal_year": 12}
STEP_DAYS = {"day": 1, "week": 7}


def add_months(d, n):
    m = d.month - 1 + n
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


def shift(grain, d, n):
    """First day of the period n periods after the one starting on d."""
    if grain in STEP_MONTHS:
        return add_months(d, STEP_MONTHS[grain] * n)
    return d + dt.timedelta(days=STEP_DAYS[grain] * n)


def period_of(grain, d):
    """Python twin of period_sql for dates (scope bounds, baselines, deadlines)."""
    fs = FISCAL_START_MONTH
    if grain == "day":
        return d
    if grain == "week":
        return d - dt.timedelta(days=d.weekday())
    if grain == "month":
        return dt.date(d.year, d.month, 1)
    if grain == "quarter":
        return dt.date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
    if grain == "year":
        return dt.date(d.year, 1, 1)
    fy = dt.date(d.year - (1 if d.month < fs else 0), fs, 1)
    if grain == "fiscal_year":
        return fy
    if grain == "fiscal_quarter":
        return add_months(fy, (d.month - fs + 12) % 12 // 3 * 3)
    raise ValueError(grain)


def date(s):
    return dt.date.fromisoformat(s)


# ------------------------------------------------------------------ cases


def K(measure, grain=None, groups=(), where=None, window=None, since=None, until=None, time="opened_at",
      **judging):
    """A KPI over tickets.

    measure: DuckDB aggregate expression over the rows of one period (and window).
    window: None, ("rolling", n_periods), "year_to_date", "fiscal_year_to_date" or "cumulative".
    since / until: the scope (`since d` or `between since and until`), inclusive days.
    time: the time column (the source's `opened_at` unless the KPI says `time`).
    judging: targets=[...], baseline=(date, value | None), direction, compare=[...].
    """
    return dict(kind="query", measure=measure, grain=grain, groups=list(groups), where=where,
                window=window, since=since, until=until, time=time, **judging)


def D(expr, **judging):
    """A derived KPI: expr is a nested tuple (op, lhs, rhs), a KPI id or a number."""
    return dict(kind="derived", expr=expr, **judging)


def T(op, value, tolerance=None, by=None, start=None):
    """A comparator target; values are exact decimal strings in the KPI's unit."""
    return dict(rule="compare", op=op, value=Fraction(value),
                tolerance=None if tolerance is None else Fraction(tolerance), by=by, start=start)


def BAND(low, high, tolerance=None, start=None):
    return dict(rule="between", low=Fraction(low), high=Fraction(high),
                tolerance=None if tolerance is None else Fraction(tolerance), by=None, start=start)


SHARE_ESCALATED = "CAST(count(*) FILTER (WHERE escalated) AS DOUBLE) / NULLIF(count(*), 0)"

CASES = {
    # --- measures, where, by, grain
    "count_all": K("count(*)"),
    "count_month": K("count(*)", grain="month"),
    "count_week": K("count(*)", grain="week"),
    "count_quarter_by_district": K("count(*)", grain="quarter", groups=["district"]),
    "count_year": K("count(*)", grain="year"),
    "count_day_where": K("count(*)", grain="day", where="priority = 1"),
    "count_west_month": K("count(*)", grain="month", where="district = 'West'"),
    "sum_cost_month": K("sum(cost)", grain="month"),
    "sum_cost_quarter_by_district": K("sum(cost)", grain="quarter", groups=["district"]),
    "avg_cost_by_district": K("avg(cost)", groups=["district"]),
    "min_cost_month": K("min(cost)", grain="month"),
    "max_cost_month": K("max(cost)", grain="month"),
    "share_escalated_month": K(SHARE_ESCALATED, grain="month"),
    "share_closed_fast_month": K(
        "CAST(count(*) FILTER (WHERE (epoch(closed_at) - epoch(opened_at)) <= 2*86400) AS DOUBLE)"
        " / NULLIF(count(*), 0)",
        grain="month",
        where="closed_at IS NOT NULL",
    ),
    "share_in_list": K(
        "CAST(count(*) FILTER (WHERE district IN ('North', 'South')) AS DOUBLE) / NULLIF(count(*), 0)"
    ),
    "ratio_cost_per_closed_month": K(
        "sum(cost) / NULLIF(count(*) FILTER (WHERE status = 'closed'), 0)", grain="month"
    ),
    "where_and_or_not": K(
        "count(*)", grain="month", where="(priority >= 2 AND NOT escalated) OR district IS NULL"
    ),
    "avg_hours_to_close_by_district": K(
        f"avg({HOURS})", groups=["district"], where="closed_at IS NOT NULL"
    ),
    "arith_where": K(
        "sum(cost * 2 + 1)", grain="quarter", where="cost IS NOT NULL AND status != 'open'"
    ),
    "median_cost_month": K("quantile_cont(cost, 0.5)", grain="month"),
    "p90_hours_to_close": K(f"quantile_cont({HOURS}, 0.9)", where="closed_at IS NOT NULL"),
    "p90_hours_nearest": K(f"quantile_disc({HOURS}, 0.9)", where="closed_at IS NOT NULL"),
    "count_distinct_district_month": K("count(DISTINCT district)", grain="month"),
    # DISTINCT must survive a measure-level filter, alone and inside ratio / arithmetic.
    "count_distinct_where_month": K("count(DISTINCT district) FILTER (WHERE priority = 1)", grain="month"),
    "ratio_distinct_where": K(
        "CAST(count(DISTINCT district) FILTER (WHERE escalated) AS DOUBLE)"
        " / NULLIF(CAST(count(DISTINCT district) AS DOUBLE), 0)"
    ),
    "distinct_where_minus_distinct": K(
        "count(DISTINCT status) FILTER (WHERE cost > 10) - count(DISTINCT status)", groups=["district"]
    ),
    "stddev_cost": K("stddev_samp(cost)"),
    # --- fiscal grains (fiscal year from July 1)
    "count_fiscal_quarter": K("count(*)", grain="fiscal_quarter"),
    "sum_cost_fiscal_year": K("sum(cost)", grain="fiscal_year"),
    "count_fiscal_year_by_district": K("count(*)", grain="fiscal_year", groups=["district"]),
    # --- windows
    "rolling_count_3m": K("count(*)", grain="month", window=("rolling", 3)),
    "rolling_count_1q": K("count(*)", grain="month", window=("rolling", 3)),
    "rolling_sum_cost_3m": K("sum(cost)", grain="month", window=("rolling", 3)),
    "rolling_median_cost_3m": K("quantile_cont(cost, 0.5)", grain="month", window=("rolling", 3)),
    "rolling_count_3m_by_district": K(
        "count(*)", grain="month", groups=["district"], window=("rolling", 3)
    ),
    "rolling_sum_big_cost_3m": K(
        "sum(cost)", grain="month", where="cost > 500", window=("rolling", 3)
    ),
    "ytd_count_month": K("count(*)", grain="month", window="year_to_date"),
    "ytd_sum_cost_month": K("sum(cost)", grain="month", window="year_to_date"),
    "ytd_count_quarter": K("count(*)", grain="quarter", window="year_to_date"),
    "fytd_count_month": K("count(*)", grain="month", window="fiscal_year_to_date"),
    "fytd_sum_cost_fiscal_quarter": K(
        "sum(cost)", grain="fiscal_quarter", window="fiscal_year_to_date"
    ),
    # --- scopes
    "since_count_month": K("count(*)", grain="month", since="2024-03-01"),
    "cumulative_count_month": K("count(*)", grain="month", window="cumulative"),
    "cumulative_cost_by_district": K("sum(cost)", grain="quarter", groups=["district"], window="cumulative"),
    "cumulative_since_count": K("count(*)", grain="month", window="cumulative", since="2024-02-01"),
    "since_count_all": K("count(*)", since="2024-03-01"),
    "since_sum_cost_quarter": K("sum(cost)", grain="quarter", since="2024-02-15"),
    "between_count_month": K("count(*)", grain="month", since="2024-02-01", until="2024-04-30"),
    "between_count_by_district_month": K(
        "count(*)", grain="month", groups=["district"], since="2024-02-01", until="2024-04-30"
    ),
    "between_big_cost_month": K(
        "count(*)", grain="month", where="cost > 500", since="2024-02-01", until="2024-04-30"
    ),
    "between_early_count_month": K(
        "count(*)", grain="month", since="2022-11-01", until="2023-02-28"
    ),
    # --- derived KPIs
    "cost_per_ticket": D(("/", "sum_cost_month", "count_month")),
    "cost_per_ticket_cents": D(("*", "cost_per_ticket", 100)),
    "cost_per_ticket_quarter_by_district": D(
        ("/", "sum_cost_quarter_by_district", "count_quarter_by_district")
    ),
    "since_share_of_all": D(("/", "since_count_month", "count_month")),
    "cost_spread_arith": D(("+", ("*", ("-", "max_cost_month", "min_cost_month"), 2), 1)),
    # --- comparisons
    "compare_count_month": K(
        "count(*)", grain="month", targets=[T(">=", "5")],
        compare=["previous_period", "same_period_last_year"],
    ),
    "compare_cost_by_district_quarter": K(
        "sum(cost)", grain="quarter", groups=["district"], direction="decreasing",
        compare=["previous_period", "same_period_last_year"],
    ),
    "compare_avg_cost_no_direction": K("avg(cost)", grain="month", compare=["previous_period"]),
    "cost_per_ticket_compared": D(
        ("/", "sum_cost_month", "count_month"), targets=[T("<=", "150")],
        compare=["previous_period", "same_period_last_year"],
    ),
    # --- targets
    "target_tolerance_count": K("count(*)", grain="month", targets=[T(">=", "7", tolerance="1")]),
    "target_share_tolerance": K(
        SHARE_ESCALATED, grain="month", targets=[T(">=", "0.5", tolerance="0.1")]
    ),
    "target_band_count": K("count(*)", grain="month", targets=[BAND("5", "7")]),
    "target_band_share_tolerance": K(
        SHARE_ESCALATED, grain="quarter", targets=[BAND("0.3", "0.5", tolerance="0.05")]
    ),
    "target_le_tolerance_median": K(
        "quantile_cont(cost, 0.5)", grain="month", targets=[T("<=", "150", tolerance="24.45")]
    ),
    "trajectory_count": K(
        "count(*)", grain="month", baseline=("2024-01-01", Fraction(4)),
        targets=[T(">=", "8", by="2024-06-01")], compare=["baseline", "previous_period"],
    ),
    "trajectory_own_baseline_by_district": K(
        "avg(cost)", grain="month", groups=["district"], where="district != 'West'",
        baseline=("2024-01-01", None), targets=[T("<=", "100", by="2024-06-01")],
        compare=["baseline"],
    ),
    "schedule_count_month": K(
        "count(*)", grain="month", targets=[T(">=", "5"), T(">=", "7", start="2024-04-01")]
    ),
    "schedule_mid_period": K(
        "sum(cost)", grain="month",
        targets=[T("<=", "1500"), T("<=", "1000", start="2024-04-15")],
    ),
    "schedule_dated_only": K(
        "count(*)", grain="month",
        targets=[T(">=", "3", start="2023-07-01"), T(">=", "5", start="2024-01-01")],
    ),
    # --- probes: windows meeting scopes / --as-of, week years, negative values, exact ranks
    "count_closed_month": K("count(*)", grain="month", time="closed_at"),
    "p28_cost_nearest_before_march": K(
        # exact nearest rank: the ceil(0.28 * n)-th smallest (n = 25 here; 0.28 * 25 is 7.000000000000001
        # in floating point)
        "list_sort(list(cost) FILTER (WHERE cost IS NOT NULL))"
        "[CAST(ceil(CAST(0.28 AS DECIMAL(9, 4)) * count(cost)) AS BIGINT)]",
        where="cost IS NOT NULL AND opened_at >= TIMESTAMP '2023-01-02 00:00:00'"
        " AND opened_at < TIMESTAMP '2024-03-01 00:00:00'",
    ),
    "p28_cost_before_march": K(
        "quantile_cont(cost, 0.28)",
        where="cost IS NOT NULL AND opened_at >= TIMESTAMP '2023-01-02 00:00:00'"
        " AND opened_at < TIMESTAMP '2024-03-01 00:00:00'",
    ),
    "rolling_distinct_district_3m": K(
        "count(DISTINCT district)", grain="month", window=("rolling", 3)
    ),
    "rolling_stddev_cost_3m": K("stddev_samp(cost)", grain="month", window=("rolling", 3)),
    "rolling_share_escalated_3m": K(
        SHARE_ESCALATED, grain="month", window=("rolling", 3), targets=[T(">=", "0.5")]
    ),
    "rolling_sum_cost_1y": K("sum(cost)", grain="month", window=("rolling", 12)),
    "rolling_count_4w_week": K("count(*)", grain="week", window=("rolling", 4)),
    "rolling_4w_day_priority1_q1": K(
        "count(*)", grain="day", where="priority = 1", window=("rolling", 28),
        since="2024-01-01", until="2024-03-31",
    ),
    "fytd_count_quarter": K("count(*)", grain="quarter", window="fiscal_year_to_date"),
    "rolling_count_3m_west": K(
        "count(*)", grain="month", where="district = 'West'", window=("rolling", 3)
    ),
    "rolling_west_between": K(
        "count(*)", grain="month", where="district = 'West'", window=("rolling", 3),
        since="2023-06-01", until="2023-12-31",
    ),
    "between_no_rows_month": K(
        "count(*)", grain="month", where="district = 'Nowhere'", since="2024-02-01", until="2024-04-30"
    ),
    "between_end_boundary": K("count(*)", since="2024-01-01", until="2024-03-31"),
    # No row passes the where: an ungrained KPI still has its one row (count() of nothing is 0).
    "count_no_rows": K("count(*)", where="district = 'Nowhere'"),
    "compare_negative_derived": D(
        ("-", "min_cost_month", "max_cost_month"), direction="increasing",
        compare=["previous_period", "same_period_last_year"],
    ),
    "trajectory_tolerance": K(
        "quantile_cont(cost, 0.5)", grain="month", baseline=("2024-01-01", Fraction(300)),
        targets=[T("<=", "100", tolerance="25", by="2024-06-01")],
        compare=["baseline", "previous_period"],
    ),
    "trajectory_missing_baseline_by_district": K(
        "count(*)", grain="month", groups=["district"], where="district IN ('West', 'North')",
        baseline=("2024-01-01", None), targets=[T(">=", "3", by="2024-06-01")],
    ),
}

# Builds with --as-of: (case, as-of day). The KPI is the case's own; the expected.json
# case is named "<case>@<day>".
AS_OF_CASES = [
    (name, "2024-03-15")
    for name in [
        "count_all",
        "count_month",
        "count_day_where",
        "count_quarter_by_district",
        "count_west_month",
        "rolling_count_3m",
        "ytd_sum_cost_month",
        "since_count_month",
        "cumulative_count_month",
        "between_count_month",
        "compare_count_month",
        "trajectory_count",
        "cost_per_ticket",
        "count_closed_month",
        "rolling_count_3m_west",
    ]
] + [
    # The last second of the day is in.
    (name, "2024-03-31") for name in ["count_month", "since_count_all", "rolling_sum_cost_3m"]
] + [
    # Before any data.
    (name, "2022-12-31") for name in ["count_all", "count_month", "since_count_month", "sum_cost_month"]
]

# ------------------------------------------------------------------ values (DuckDB)


def filters(c, as_of):
    conds = []
    t = c["time"]
    if c["where"]:
        conds.append(f"({c['where']})")
    if c["since"]:
        conds.append(f"{t} >= TIMESTAMP '{c['since']} 00:00:00'")
    ends = [date(d) for d in (c["until"], as_of) if d]
    if ends:
        end = min(ends) + dt.timedelta(days=1)
        conds.append(f"{t} < TIMESTAMP '{end.isoformat()} 00:00:00'")
    return conds


def ungrained_sql(c, as_of):
    select = ["NULL::DATE AS period"] + c["groups"] + [f"CAST({c['measure']} AS DOUBLE) AS value"]
    sql = "SELECT " + ", ".join(select) + " FROM tickets"
    conds = filters(c, as_of)
    if conds:
        sql += " WHERE " + " AND ".join(conds)
    if c["groups"]:
        sql += " GROUP BY " + ", ".join(c["groups"])
        sql += " ORDER BY " + ", ".join(f"{g} ASC NULLS LAST" for g in c["groups"])
    return sql


def window_start_sql(c, p):
    """First instant of the window of the period starting at date expression p."""
    w = c["window"]
    if w is None:
        return p
    if isinstance(w, tuple) and w[0] == "rolling":
        n = w[1]
        if c["grain"] in STEP_MONTHS:
            return f"({p} - to_months({STEP_MONTHS[c['grain']] * (n - 1)}))"
        return f"({p} - to_days({STEP_DAYS[c['grain']] * (n - 1)}))"
    if w == "year_to_date":
        return f"make_date(year({p}), 1, 1)"
    if w == "fiscal_year_to_date":
        return period_sql("fiscal_year", p)
    if w == "cumulative":
        # A running total from the first period shown (the scope start or the first data).
        return "(SELECT lo FROM bounds)"
    raise ValueError(w)


def grained_sql(c, as_of):
    """Every period x every group seen, each computed over its window with a lateral subquery."""
    grain = c["grain"]
    t = c["time"]
    conds = filters(c, as_of) + [f"{t} IS NOT NULL"]
    lo = "min_p"
    if c["since"]:
        lo = f"DATE '{period_of(grain, date(c['since'])).isoformat()}'"
    ends = [date(d) for d in (c["until"], as_of) if d]
    hi = "max_p"
    if ends:
        hi = f"DATE '{period_of(grain, min(ends)).isoformat()}'"
    groups = c["groups"]
    # Without `by` there is one group, even when no row is in scope.
    grp = f"SELECT DISTINCT {', '.join(groups)} FROM base" if groups else "SELECT 1 AS one"
    match = "".join(f" AND b.{g} IS NOT DISTINCT FROM grid.{g}" for g in groups)
    out_groups = "".join(f", grid.{g}" for g in groups)
    order = "".join(f", grid.{g} ASC NULLS LAST" for g in groups)
    return f"""WITH base AS (
  SELECT *, {period_sql(grain, t)} AS base_period FROM tickets
  WHERE {' AND '.join(conds)}
),
data AS (SELECT min(base_period) AS min_p, max(base_period) AS max_p FROM base),
bounds AS (SELECT {lo} AS lo, {hi} AS hi FROM data),
periods AS (
  SELECT CAST(unnest(generate_series(CAST(lo AS TIMESTAMP), CAST(hi AS TIMESTAMP), {STEP_SQL[grain]})) AS DATE) AS period
  FROM bounds WHERE lo IS NOT NULL AND hi IS NOT NULL
),
grp AS ({grp}),
grid AS (SELECT * FROM periods CROSS JOIN grp)
SELECT grid.period{out_groups}, w.n_rows, w.value
FROM grid, LATERAL (
  SELECT count(*) AS n_rows, CAST({c['measure']} AS DOUBLE) AS value
  FROM base b
  WHERE b.{t} >= {window_start_sql(c, 'grid.period')}
    AND b.{t} < grid.period + {STEP_SQL[grain]}{match}
) w
ORDER BY grid.period ASC{order}"""


def query_rows(con, c, as_of):
    if c["grain"] is None:
        sql = ungrained_sql(c, as_of)
    else:
        sql = grained_sql(c, as_of)
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    rows = []
    for r in cur.fetchall():
        rec = dict(zip(names, r))
        if rec.pop("n_rows", None) == 0:
            rec["value"] = None  # no rows in this period (and window): no value
        row = {"period": to_json_value(rec["period"])}
        for g in c["groups"]:
            row[g] = to_json_value(rec[g])
        v = rec["value"]
        row["value"] = None if v is None else to_json_value(float(v))
        rows.append(row)
    return sql, rows


# ------------------------------------------------------------------ derived KPIs


def key_of(row, groups):
    return (row["period"],) + tuple(json.dumps(row[g]) for g in groups)


def inputs_of(expr, out):
    if isinstance(expr, tuple):
        inputs_of(expr[1], out)
        inputs_of(expr[2], out)
    elif isinstance(expr, str):
        if expr not in out:
            out.append(expr)
    return out


def evaluate(expr, lookup):
    if isinstance(expr, (int, float)):
        return float(expr)
    if isinstance(expr, str):
        return lookup(expr)
    op, l, r = expr
    a, b = evaluate(l, lookup), evaluate(r, lookup)
    if a is None or b is None:
        return None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return None if b == 0 else a / b
    raise ValueError(op)


def expr_text(expr):
    if isinstance(expr, tuple):
        return f"({expr_text(expr[1])} {expr[0]} {expr_text(expr[2])})"
    return str(expr)


def derived_rows(c, done, case_of):
    inputs = inputs_of(c["expr"], [])
    groups = case_of(inputs[0])["groups"]
    maps = {}
    keys = {}
    for i in inputs:
        maps[i] = {}
        for r in done[i]:
            k = key_of(r, groups)
            maps[i][k] = r["value"]
            keys[k] = r
    rows = []
    for k, r in keys.items():
        v = evaluate(c["expr"], lambda i: maps[i].get(k))
        row = {"period": r["period"]}
        for g in groups:
            row[g] = r[g]
        row["value"] = v
        rows.append(row)
    rows.sort(key=lambda r: sort_key(r, groups))
    return rows


def sort_key(row, groups):
    k = [(row["period"] is None, row["period"] or "")]
    for g in groups:
        v = row[g]
        k.append((v is None, "" if v is None else v))
    return k


# ------------------------------------------------------------------ targets and statuses


def round12(v):
    return float(f"{v:.12g}")


def exact(v):
    return Fraction(repr(round12(v)))


def direction_of(c):
    if c.get("direction"):
        return c["direction"]
    for t in c.get("targets", []):
        if t["rule"] == "compare":
            return "increasing" if t["op"] in (">=", ">") else "decreasing"
    return None


def target_at(c, period):
    """The schedule step in force: the last whose start is on or before the period's first day."""
    current = None
    for t in sorted(c.get("targets", []), key=lambda t: (t["start"] is not None, t["start"] or "")):
        if t["start"] is None or (period is not None and date(t["start"]) <= period):
            current = t
    return current


def baseline_value(c, values, row):
    """The stated baseline, else the group's own value in the baseline period (or None)."""
    b = c.get("baseline")
    if b is None:
        return None
    if b[1] is not None:
        return b[1]
    bp = period_of(c["grain"], date(b[0])).isoformat()
    v = values.get((bp,) + key_of(row, c["groups"])[1:])
    return None if v is None else exact(v)


def threshold(c, t, period, values, row):
    """(threshold or None, whether a target is in force)."""
    if t["rule"] == "between":
        return None, True
    x = t["value"]
    b = c.get("baseline")
    if t["by"] is None or b is None or period is None:
        return x, True
    base_day, deadline = date(b[0]), date(t["by"])
    if period < period_of(c["grain"], base_day):
        return None, False  # before the baseline: no target
    start = baseline_value(c, values, row)
    if start is None:
        return x, True
    if period >= period_of(c["grain"], deadline):
        return x, True
    frac = Fraction((period - base_day).days, (deadline - base_day).days)
    return start + (x - start) * frac, True


def judge(t, v, th):
    tol = t["tolerance"]
    if t["rule"] == "between":
        met = t["low"] <= v <= t["high"]
        miss = t["low"] - v if v < t["low"] else v - t["high"]
    else:
        op = t["op"]
        met = {">=": v >= th, ">": v > th, "<=": v <= th, "<": v < th}[op]
        miss = th - v if op in (">=", ">") else v - th
    if met:
        return "on_track"
    if tol is not None and miss <= tol:
        return "near_target"
    return "off_track"


def add_statuses(c, rows):
    values = {key_of(r, c["groups"]): r["value"] for r in rows}
    for r in rows:
        period = date(r["period"]) if r["period"] else None
        t = target_at(c, period)
        th, in_force = (None, False) if t is None else threshold(c, t, period, values, r)
        value = r.pop("value")
        r["value"] = value
        if th is not None:
            r["target"] = float(th)
        if value is None:
            r["status"] = "no_data"
        elif t is None or not in_force:
            r["status"] = "no_target"
        else:
            r["status"] = judge(t, exact(value), th)


def add_comparisons(c, rows):
    names = c.get("compare") or []
    if not names or c["grain"] is None:
        return
    values = {key_of(r, c["groups"]): r["value"] for r in rows}
    direction = direction_of(c)
    for r in rows:
        p = date(r["period"])
        out = {}
        for name in names:
            rest = key_of(r, c["groups"])[1:]
            if name == "previous_period":
                other = values.get((shift(c["grain"], p, -1).isoformat(),) + rest)
            elif name == "same_period_last_year":
                other = values.get((add_months(p, -12).isoformat(),) + rest)
            elif name == "baseline":
                b = baseline_value(c, values, r)
                other = None if b is None else float(b)
            else:
                raise ValueError(name)
            v = r["value"]
            change = None if v is None or other is None else v - other
            rel = None if change is None or other == 0 else change / abs(other)
            if change is None or direction is None:
                improved = None
            else:
                improved = change > 0 if direction == "increasing" else change < 0
            out[name] = {"value": other, "change": change, "relative_change": rel, "improved": improved}
        r["comparisons"] = out


# ------------------------------------------------------------------ main


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
    assert n == 56, n
    assert nulls == 0, nulls
    # Another test (statuses_follow_the_target_direction) counts on these by hand.
    for month, want in (("2024-01-01", 7), ("2024-05-01", 6)):
        got = con.execute(
            f"SELECT count(*) FROM tickets WHERE date_trunc('month', opened_at) = DATE '{month}'"
        ).fetchone()[0]
        assert got == want, (month, got)


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


def compute_all(con, as_of):
    """Final rows of every case (in dependency order for derived KPIs)."""
    done, sqls = {}, {}

    def case_of(name):
        c = CASES[name]
        if c["kind"] == "derived":
            return dict(c, groups=case_of(inputs_of(c["expr"], [])[0])["groups"],
                        grain=case_of(inputs_of(c["expr"], [])[0])["grain"])
        return c

    def compute(name):
        if name in done:
            return done[name]
        c = CASES[name]
        if c["kind"] == "query":
            sql, rows = query_rows(con, c, as_of)
        else:
            for i in inputs_of(c["expr"], []):
                compute(i)
            sql, rows = None, derived_rows(c, done, case_of)
        full = case_of(name)
        add_statuses(full, rows)
        add_comparisons(full, rows)
        if c["kind"] == "query":
            flags = provisional_flags(con, full, rows, as_of)
        else:
            groups = full["groups"]
            late = {key_of(r, groups) for i in inputs_of(c["expr"], []) for r in done[i] if r.get("provisional")}
            flags = [key_of(r, groups) in late for r in rows]
        rows = [with_provisional(r) if f else r for r, f in zip(rows, flags)]
        done[name], sqls[name] = rows, sql
        return rows

    for name in CASES:
        compute(name)
    return done, sqls


def provisional_flags(con, c, rows, as_of):
    """A period is provisional until the data reaches its last day (the fixture's source
    has no `complete_after`, so the lag is 0): the data ends at the latest day of the KPI's
    time column in the whole file, or at --as-of when earlier. Ungrained rows never are."""
    if c["grain"] is None:
        return [False] * len(rows)
    (end,) = con.execute(f"SELECT max(CAST({c['time']} AS DATE)) FROM tickets").fetchone()
    if as_of is not None:
        end = min(end, date(as_of))
    return [shift(c["grain"], date(r["period"]), 1) - dt.timedelta(days=1) > end for r in rows]


def with_provisional(row):
    """The row with `provisional: true` after `status`, where yardstick writes it."""
    out = {}
    for k, v in row.items():
        if k == "comparisons":
            out["provisional"] = True
        out[k] = v
    out.setdefault("provisional", True)
    return out


def dumps(out):
    """Indented JSON with one row per line (diffs stay readable, the file stays small)."""
    enc = lambda v: json.dumps(v, allow_nan=False)
    cases = []
    for name, case in out.items():
        fields = [f"    {enc(k)}: {enc(v)}" for k, v in case.items() if k != "rows"]
        rows = ",\n".join(f"      {enc(r)}" for r in case["rows"])
        fields.append(f'    "rows": [\n{rows}\n    ]' if rows else '    "rows": []')
        cases.append(f"  {enc(name)}: {{\n" + ",\n".join(fields) + "\n  }")
    text = "{\n" + ",\n".join(cases) + "\n}\n"
    assert json.loads(text) == out
    return text


def main():
    con = duckdb.connect()
    load(con)
    out = {}
    done, sqls = compute_all(con, None)
    for name, c in CASES.items():
        out[name] = {
            "kpi": name,
            "as_of": None,
            "sql": sqls[name],
            "derived": expr_text(c["expr"]) if c["kind"] == "derived" else None,
            "rows": done[name],
        }
    for day in sorted({d for _, d in AS_OF_CASES}):
        done, sqls = compute_all(con, day)
        for name in [n for n, d in AS_OF_CASES if d == day]:
            c = CASES[name]
            out[f"{name}@{day}"] = {
                "kpi": name,
                "as_of": day,
                "sql": sqls[name],
                "derived": expr_text(c["expr"]) if c["kind"] == "derived" else None,
                "rows": done[name],
            }
    with open(OUT_PATH, "w") as f:
        f.write(dumps(out))
    print(f"wrote {len(out)} cases to {OUT_PATH} (duckdb {duckdb.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
