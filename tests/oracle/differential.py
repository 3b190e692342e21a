#!/usr/bin/env python3
"""Differential test generator: random yardstick projects with expected values from DuckDB.

    python3 tests/oracle/differential.py --seed 20261201 --cases 200 --out DIR [--only 17]

writes DIR/case-00000 ... DIR/case-NNNNN, each a yardstick project:

    yardstick.yaml            a random calendar (week_start, fiscal_year_start) and one source
    data/t.csv                a random data set (a few hundred rows at most)
    metrics/diff.kpi          10-20 random, valid KPIs (query and derived)
    expected.json             {"seed", "case", "kpis": [{"id", "definition", "exact", "grain",
                              "by", "oracle", "rows": [{"period", <by...>, "value", "status"}]}]}

Case i of seed s is generated from random.Random(f"{s}-{i}") alone, so `--only i` rebuilds
exactly that case (how a failure of a long run is reproduced, see docs/testing.md).

Every KPI is described here as a small tree (row expressions, measures, clauses). The tree
is printed twice: as .kpi text for yardstick and as DuckDB SQL for the expected values. The
expected values never come from yardstick. The rules (docs/language.md, and the same rules
as tests/oracle/values.py):

- `where` keeps rows whose condition is true; a measure's own filter (`x where c`) only
  limits that aggregate; in `ratio(a where c, b)` the filter limits every aggregate of `a`;
  in `share(c where f)` both numerator and denominator; nested filters combine with `and`.
- Grained KPIs: rows with a null time are left out; every period from the first period with
  data (or the scope's start) to the last (or the `between` scope's end), for every group
  seen in the KPI's rows; a period (window) without rows has no value (null, no_data).
- A period's value is computed over the rows whose time lies in [window start, end of the
  period): rolling n = the period and the n-1 before it, year_to_date from 1 January of the
  period's year, fiscal_year_to_date from the start of its fiscal year. `cumulative` is a
  running total of the periods' (rounded) values per group, from the first period shown; a
  period without a value adds nothing and keeps the total.
- Ungrained KPIs without `by` give exactly one row (count() of nothing is 0, sum() null).
- Scopes keep rows with time >= since 00:00 and < (until + 1 day) 00:00.
- Values are rounded to 12 significant digits; derived KPIs are computed from their inputs'
  rounded values over the union of the inputs' periods and groups, then filled like any
  grained KPI (every period from the first to the last, for every group); null when an input
  has no value or a divisor is 0.
- Interpolated percentiles follow the documented formula with h = p * (n - 1) computed
  exactly; percentile_nearest is the ceil(p * n)-th value, p * n computed exactly.
- Statuses: no_data for a null value, no_target without target, else the target judged on
  the rounded value with exact (fraction) arithmetic.

Requires `pip install duckdb`.
"""
import argparse
import datetime as dt
import json
import math
import os
import random
import sys
from fractions import Fraction

import duckdb

# ---------------------------------------------------------------------------- calendar

GRAINS = ["day", "week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year"]
STEP_MONTHS = {"month": 1, "quarter": 3, "year": 12, "fiscal_quarter": 3, "fiscal_year": 12}
STEP_DAYS = {"day": 1, "week": 7}
WEEK_STARTS = {"monday": 0, "sunday": 6, "saturday": 5}  # Python weekday() of the first day


class Calendar:
    def __init__(self, week_start, fiscal_month):
        self.week_start = week_start
        self.fiscal_month = fiscal_month


def add_months(d, n):
    m = d.month - 1 + n
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


def shift(grain, d, n):
    """First day of the period n periods after the one starting on d."""
    if grain in STEP_MONTHS:
        return add_months(d, STEP_MONTHS[grain] * n)
    return d + dt.timedelta(days=STEP_DAYS[grain] * n)


def fiscal_year_of(cal, d):
    fs = cal.fiscal_month
    return dt.date(d.year - (1 if d.month < fs else 0), fs, 1)


def period_of(cal, grain, d):
    if grain == "day":
        return d
    if grain == "week":
        return d - dt.timedelta(days=(d.weekday() - WEEK_STARTS[cal.week_start]) % 7)
    if grain == "month":
        return dt.date(d.year, d.month, 1)
    if grain == "quarter":
        return dt.date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
    if grain == "year":
        return dt.date(d.year, 1, 1)
    fy = fiscal_year_of(cal, d)
    if grain == "fiscal_year":
        return fy
    if grain == "fiscal_quarter":
        months_into = (d.year - fy.year) * 12 + d.month - fy.month
        return add_months(fy, months_into // 3 * 3)
    raise ValueError(grain)


def window_start(cal, grain, window, p):
    """First day of the window of the period starting on p (None: only the period)."""
    if window is None or window == "cumulative":
        return p
    if window[0] == "rolling":
        return shift(grain, p, -(window[1] - 1))
    if window == ("year_to_date",):
        return dt.date(p.year, 1, 1)
    if window == ("fiscal_year_to_date",):
        return fiscal_year_of(cal, p)
    raise ValueError(window)


def as_date(v):
    return v.date() if isinstance(v, dt.datetime) else v


# ---------------------------------------------------------------------------- data set

# name -> yardstick type. The time columns are chosen per case (timestamp or date).
STRING_POOLS = {
    "g1": ["a", "b", "c", "North side", "d,e", "O'Brien"],
    "g2": ["x", "y", "Zürich"],
}


class Dataset:
    def __init__(self, rng):
        self.ts_type = rng.choice(["timestamp", "timestamp", "date"])
        self.ts2_type = rng.choice(["timestamp", "date"])
        self.types = {
            "id": "integer",
            "ts": self.ts_type,
            "ts2": self.ts2_type,
            "g1": "string",
            "g2": "string",
            "g3": "string",
            "i1": "integer",
            "i2": "integer",
            "f1": "float",
            "f2": "float",
            "flag": "boolean",
        }
        # How the CSV writes times: ISO forms (default), UTC offsets (converted to UTC when
        # read, docs/configuration.md), or a declared `format` per time column.
        self.time_style = rng.choice(["iso"] * 6 + ["offset", "format"]) if self.ts_type == "timestamp" else (
            rng.choice(["iso"] * 4 + ["format"]))
        self.fractions = self.time_style in ("iso", "offset") and rng.random() < 0.3
        self.formats = {}
        if self.time_style == "format":
            self.formats["ts"] = rng.choice(
                [["%d/%m/%Y %H:%M:%S"], ["%m/%d/%Y %I:%M:%S %p"], ["%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S"]]
                if self.ts_type == "timestamp" else [["%d/%m/%Y"], ["%d.%m.%Y", "%Y-%m-%d"]])
        self.thousands = rng.random() < 0.15  # f1 written as 1,234,567.25 (`thousands: ","`)
        self.start = dt.date(2021, 1, 1) + dt.timedelta(days=rng.randrange(0, 1700))
        self.span = rng.choice([12, 40, 75, 120, 200, 400, 700, 1000])
        n = rng.randint(8, 260) if self.span > 40 else rng.randint(5, 90)
        if rng.random() < 0.01:
            n = 0  # a file with a header and no rows
        # Whole months without rows (a gap in the middle of the data).
        dead = set()
        if self.span > 75:
            for _ in range(rng.randint(0, 2)):
                d = self.start + dt.timedelta(days=rng.randrange(20, self.span))
                dead.add((d.year, d.month))
        g3_pool = [f"k{i}" for i in range(rng.randint(3, 40))]
        self.rows = []
        prev = None
        while len(self.rows) < n:
            day = self.start + dt.timedelta(days=rng.randrange(self.span))
            if (day.year, day.month) in dead:
                continue
            special = rng.random()
            if special < 0.05:
                day = dt.date(day.year, day.month, 1)  # first of the month
            elif special < 0.08:
                day = add_months(dt.date(day.year, day.month, 1), 1) - dt.timedelta(days=1)
            if (day.year, day.month) in dead:
                continue
            r = rng.random()
            if r < 0.1:
                t = dt.datetime(day.year, day.month, day.day)
            elif r < 0.15:
                t = dt.datetime(day.year, day.month, day.day, 23, 59, 59)
            else:
                t = dt.datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), rng.randrange(60))
                if self.fractions and rng.random() < 0.3:
                    t = t.replace(microsecond=rng.choice([250000, 500000, 1000, 999000]))
            if prev is not None and rng.random() < 0.08:
                t = prev  # ties
            prev = t
            ts = t if self.ts_type == "timestamp" else t.date()
            if rng.random() < 0.03:
                ts = None
            ts2 = None
            if rng.random() < 0.8:
                t2 = t + dt.timedelta(minutes=rng.randint(-600, 40000))
                if rng.random() < 0.1:
                    t2 = t
                ts2 = t2 if self.ts2_type == "timestamp" else t2.date()
            row = {
                "id": len(self.rows) + 1,
                "ts": ts,
                "ts2": ts2,
                "g1": self.pick(rng, STRING_POOLS["g1"], 0.12),
                "g2": self.pick(rng, STRING_POOLS["g2"], 0.2),
                "g3": self.pick(rng, g3_pool, 0.05),
                "i1": None if rng.random() < 0.1 else rng.randint(-5, 20),
                "i2": None if rng.random() < 0.1 else rng.randint(0, 3),
                "f1": None if rng.random() < 0.12 else round(rng.uniform(-50, 500), 2),
                "f2": self.pick(rng, [0.5, 1.25, 2.0, 3.75, 10.0, -1.5], 0.15),
                "flag": self.pick(rng, [True, False], 0.15),
            }
            self.rows.append(row)
        self.use_na = rng.random() < 0.3
        if self.thousands:
            for r in self.rows:
                if r["f1"] is not None and rng.random() < 0.4:
                    r["f1"] = round(rng.uniform(-20000, 2000000), 2)
        self.columns_order = list(self.types)
        rng.shuffle(self.columns_order)
        self.extra_column = rng.random() < 0.3
        self.csv_style = {"T": rng.random() < 0.3, "short": rng.random() < 0.3, "bool": rng.random() < 0.5}
        self.delimiter = rng.choice([",", ",", ",", ";", "\t"])
        # Values that cannot be read: i1 declares `on_invalid: null` (the value is null),
        # i2 `on_invalid: skip` (the row is left out, so it is not in the oracle's table).
        self.invalid = rng.random() < 0.15
        if self.invalid:
            for r in self.rows:
                if r["i1"] is None and rng.random() < 0.5:
                    r["__bad_i1"] = True
                if rng.random() < 0.04:
                    r["__skip"] = True

    def typed(self):
        """The table yardstick should read from data/t.csv, as the generator made it before
        writing the CSV: {"types": {column: yardstick type}, "rows": [[value, ...]]} in the
        order of "types" (ISO text for dates and timestamps, null for no value). The rows
        `on_invalid: skip` drops are left out; an unreadable i1 (`on_invalid: null`) is null.
        The warehouse differential (tests/warehouse_differential.py) loads this into DuckDB
        and PostgreSQL, so its tables never depend on yardstick's CSV parsing."""
        def cell(ty, v):
            if v is None:
                return None
            if ty == "date":
                return v.isoformat()
            if ty == "timestamp":
                return v.isoformat(sep=" ", timespec="microseconds")
            return v
        rows = [[cell(self.types[c], r[c]) for c in self.types] for r in self.rows if not r.get("__skip")]
        return {"types": self.types, "rows": rows}

    @staticmethod
    def pick(rng, pool, null_p):
        return None if rng.random() < null_p else rng.choice(pool)

    def data_range(self):
        times = [as_date(r["ts"]) for r in self.rows if r["ts"] is not None]
        return (min(times), max(times)) if times else (self.start, self.start)

    # ------------------------------------------------------------ CSV for yardstick

    def csv_text(self, rng):
        cols = self.columns_order + (["unused"] if self.extra_column else [])
        lines = [self.delimiter.join(cols)]
        for r in self.rows:
            cells = []
            for c in cols:
                if c == "unused":
                    cells.append(str(rng.randint(0, 9)))
                elif c == "i1" and r.get("__bad_i1"):
                    cells.append(rng.choice(["twelve", "1.5", "x"]))
                elif c == "i2" and r.get("__skip"):
                    cells.append("n/a")
                else:
                    cells.append(self.csv_cell(rng, c, r[c]))
            lines.append(self.delimiter.join(self.quoted(x) for x in cells))
        return "\n".join(lines) + "\n"

    def quoted(self, cell):
        if any(ch in cell for ch in (self.delimiter, '"', ",")):
            return '"' + cell.replace('"', '""') + '"'
        return cell

    def csv_cell(self, rng, col, v):
        if v is None:
            return "NA" if self.use_na and rng.random() < 0.5 else ""
        ty = self.types[col]
        if ty == "string":
            return v
        if ty == "integer":
            return f"+{v}" if v > 0 and rng.random() < 0.05 else str(v)
        if ty == "float":
            if col == "f1" and self.thousands:
                return f"{v:,.2f}"
            if rng.random() < 0.1:
                return f"{v:e}"
            return repr(v)
        if ty == "boolean":
            if self.csv_style["bool"]:
                return rng.choice(["true", "TRUE", "t", "yes", "Y", "1"] if v else ["false", "False", "f", "no", "N", "0"])
            return "true" if v else "false"
        if col in self.formats:
            fmts = self.formats[col]
            if ty == "timestamp" and len(fmts) > 1 and (v.second != 0 or rng.random() < 0.5):
                fmts = fmts[1:]  # the first format of the list has no seconds
            return v.strftime(rng.choice(fmts) if ty == "date" else fmts[0])
        if ty == "date":
            return v.isoformat()
        if ty == "timestamp" and col == "ts" and self.time_style == "offset":
            minutes = rng.choice([0, 0, 120, -300, 330, -600])
            local = v + dt.timedelta(minutes=minutes)
            text = local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{v.microsecond // 1000:03d}" if v.microsecond else "")
            if minutes == 0 and rng.random() < 0.5:
                return text + "Z"
            sign = "+" if minutes >= 0 else "-"
            return text + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        if ty == "timestamp" and v.microsecond:
            return v.strftime("%Y-%m-%d %H:%M:%S") + f".{v.microsecond // 1000:03d}"
        if ty == "timestamp":
            if v.hour == v.minute == v.second == 0 and self.csv_style["short"] and rng.random() < 0.5:
                return v.date().isoformat()
            sep = "T" if self.csv_style["T"] else " "
            if v.second == 0 and self.csv_style["short"]:
                return v.strftime(f"%Y-%m-%d{sep}%H:%M")
            return v.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
        raise ValueError(ty)

    # ------------------------------------------------------------ DuckDB table

    SQL_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "float": "DOUBLE", "boolean": "BOOLEAN",
                 "date": "DATE", "timestamp": "TIMESTAMP"}

    def load(self, con, holidays):
        """Table t: the declared columns, a row id, and business_days_between(ts, ts2) and
        (ts2, ts) worked out here in Python by the rule of docs/language.md."""
        cols = ", ".join(f"{qi(c)} {self.SQL_TYPES[t]}" for c, t in self.types.items())
        con.execute(f"CREATE TABLE t ({cols}, __rid BIGINT, __bd_ts_ts2 BIGINT, __bd_ts2_ts BIGINT)")
        if not [r for r in self.rows if not r.get("__skip")]:
            return
        values = []
        for i, r in enumerate(self.rows):
            if r.get("__skip"):
                continue
            cells = [sql_value(self.types[c], r[c]) for c in self.types] + [str(i + 1)]
            for a, b in (("ts", "ts2"), ("ts2", "ts")):
                bd = business_days(r[a], r[b], holidays)
                cells.append("NULL" if bd is None else str(bd))
            values.append("(" + ", ".join(cells) + ")")
        con.execute("INSERT INTO t VALUES " + ", ".join(values))


def business_days(start, end, holidays):
    """Days d with start < d <= end (by date) that are Monday to Friday and not holidays;
    negative (the same days counted backwards) when end is before start."""
    if start is None or end is None:
        return None
    a, b = as_date(start), as_date(end)
    sign = 1
    if b < a:
        a, b, sign = b, a, -1
    n = 0
    d = a + dt.timedelta(days=1)
    while d <= b:
        if d.weekday() < 5 and d not in holidays:
            n += 1
        d += dt.timedelta(days=1)
    return sign * n


def qi(name):
    return '"' + name.replace('"', '""') + '"'


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def sql_value(ty, v):
    if v is None:
        return "NULL"
    if ty == "string":
        return sql_str(v)
    if ty == "integer":
        return str(v)
    if ty == "float":
        return f"CAST('{v!r}' AS DOUBLE)"
    if ty == "boolean":
        return "TRUE" if v else "FALSE"
    if ty == "date":
        return f"DATE '{v.isoformat()}'"
    if ty == "timestamp":
        return f"TIMESTAMP '{v.isoformat(sep=' ')}'"
    raise ValueError(ty)


# ---------------------------------------------------------------------------- row expressions
#
# ("col", name) ("int", "5") ("dec", "2.5") ("str", s) ("date", "YYYY-MM-DD")
# ("datestr", "YYYY-MM-DD")  -- a quoted date on the right of a comparison
# ("bool", b) ("null",) ("neg", e) ("not", e) ("bin", op, l, r) ("isnull", e, negated)
# ("in", e, [items], negated) ("dur", unit, start, end)

PREC = {"or": 1, "and": 2, "not": 3, "=": 4, "==": 4, "!=": 4, "<>": 4, "<": 4, "<=": 4, ">": 4, ">=": 4,
        "postfix": 5, "+": 6, "-": 6, "*": 7, "/": 7, "neg": 8, "atom": 9}
DUR_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def prec(e):
    k = e[0]
    if k == "bin":
        return PREC[e[1]]
    if k == "not":
        return PREC["not"]
    if k in ("isnull", "in"):
        return PREC["postfix"]
    if k == "neg":
        return PREC["neg"]
    return PREC["atom"]


def kpi_col(name):
    # Backticks work anywhere a column is expected; g2 is always written with them.
    return name if name.isidentifier() and name.isascii() and name != "g2" else f"`{name}`"


def kpi_expr(e):
    """.kpi text, with only the parentheses the precedence table of docs/language.md needs."""
    k = e[0]
    if k == "col":
        return kpi_col(e[1])
    if k in ("int", "dec"):
        return e[1]
    if k == "str":
        return "'" + e[1].replace("\\", "\\\\").replace("'", "\\'") + "'"
    if k == "date":
        return e[1]
    if k == "datestr":
        return f"'{e[1]}'"
    if k == "bool":
        return "true" if e[1] else "false"
    if k == "null":
        return "null"
    if k == "neg":
        return "-" + wrap(e[1], PREC["neg"])
    if k == "not":
        return "not " + wrap(e[1], PREC["not"])
    if k == "bin":
        p = PREC[e[1]]
        # Left-associative: an equal-precedence right operand needs parentheses.
        return f"{wrap(e[2], p)} {e[1]} {wrap(e[3], p + 1)}"
    if k == "isnull":
        return wrap(e[1], PREC["postfix"]) + (" is not null" if e[2] else " is null")
    if k == "in":
        items = ", ".join(kpi_expr(x) for x in e[2])
        return wrap(e[1], PREC["postfix"]) + (" not in " if e[3] else " in ") + f"({items})"
    if k == "dur":
        return f"{e[1]}_between({kpi_expr(e[2])}, {kpi_expr(e[3])})"
    if k == "bd":
        return f"business_days_between({kpi_expr(e[1])}, {kpi_expr(e[2])})"
    raise ValueError(e)


def wrap(e, need):
    s = kpi_expr(e)
    return f"({s})" if prec(e) < need else s


SQL_OPS = {"=": "=", "==": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
           "and": "AND", "or": "OR", "+": "+", "-": "-", "*": "*"}


def sql_expr(e, ds, q="b."):
    """DuckDB SQL, fully parenthesised. Columns are qualified with `q`."""
    k = e[0]
    if k == "col":
        return q + qi(e[1])
    if k == "int":
        return e[1]
    if k == "dec":
        return f"CAST('{e[1]}' AS DOUBLE)"  # yardstick's decimals are floats
    if k == "str":
        return sql_str(e[1])
    if k in ("date", "datestr"):
        return f"DATE '{e[1]}'"
    if k == "bool":
        return "TRUE" if e[1] else "FALSE"
    if k == "null":
        return "NULL"
    if k == "neg":
        return f"(-({sql_expr(e[1], ds, q)}))"
    if k == "not":
        return f"(NOT ({sql_expr(e[1], ds, q)}))"
    if k == "bin":
        l, r = sql_expr(e[2], ds, q), sql_expr(e[3], ds, q)
        if e[1] == "/":
            return f"(CAST({l} AS DOUBLE) / NULLIF(CAST({r} AS DOUBLE), 0))"
        return f"(({l}) {SQL_OPS[e[1]]} ({r}))"
    if k == "isnull":
        return f"(({sql_expr(e[1], ds, q)}) IS {'NOT ' if e[2] else ''}NULL)"
    if k == "in":
        items = ", ".join(sql_expr(x, ds, q) for x in e[2])
        return f"(({sql_expr(e[1], ds, q)}) {'NOT ' if e[3] else ''}IN ({items}))"
    if k == "dur":
        a = f"epoch(CAST({sql_expr(e[2], ds, q)} AS TIMESTAMP))"
        b = f"epoch(CAST({sql_expr(e[3], ds, q)} AS TIMESTAMP))"
        return f"((CAST({b} AS DOUBLE) - CAST({a} AS DOUBLE)) / {DUR_SECONDS[e[1]]}.0)"
    if k == "bd":
        return q + qi(f"__bd_{e[1][1]}_{e[2][1]}")
    raise ValueError(e)


class ExprGen:
    """Random, well-typed row expressions over the data set's columns."""

    def __init__(self, rng, ds, lo, hi):
        self.rng, self.ds, self.lo, self.hi = rng, ds, lo, hi

    def number(self, depth=0):
        rng = self.rng
        r = rng.random()
        if depth > 1 or r < 0.45:
            return ("col", rng.choice(["i1", "i2", "f1", "f2", "f1", "i1"]))
        if r < 0.6:
            return ("dur", rng.choice(list(DUR_SECONDS)), ("col", "ts"), ("col", "ts2"))
        if r < 0.66:
            return ("dur", rng.choice(list(DUR_SECONDS)), ("col", "ts2"), ("col", "ts"))
        if r < 0.7:
            return ("neg", ("col", rng.choice(["f1", "i1"])))
        if r < 0.75:
            return ("bd", ("col", "ts"), ("col", "ts2")) if rng.random() < 0.8 else ("bd", ("col", "ts2"), ("col", "ts"))
        op = rng.choice(["+", "-", "*", "/", "*"])
        rhs = self.number(depth + 1) if rng.random() < 0.5 else self.literal_number()
        return ("bin", op, self.number(depth + 1), rhs)

    def literal_number(self):
        rng = self.rng
        if rng.random() < 0.6:
            return ("int", str(rng.randint(0, 12)))
        return ("dec", rng.choice(["0.5", "1.5", "2.25", "10.0", "0.1", "100.75"]))

    def a_date(self):
        d = self.lo + dt.timedelta(days=self.rng.randint(-20, max(1, (self.hi - self.lo).days + 20)))
        if self.rng.random() < 0.3:
            d = dt.date(d.year, d.month, 1)
        return d.isoformat()

    def condition(self, depth=0):
        rng = self.rng
        r = rng.random()
        if depth < 2 and r < 0.18:
            return ("bin", rng.choice(["and", "or"]), self.condition(depth + 1), self.condition(depth + 1))
        if depth < 2 and r < 0.23:
            return ("not", self.condition(depth + 1))
        r = rng.random()
        if r < 0.3:
            op = rng.choice(["=", "!=", "<", "<=", ">", ">=", "==", "<>"])
            lhs = self.number(1) if rng.random() < 0.7 else self.number()
            if lhs[0] == "dur" and rng.random() < 0.7:
                return ("bin", op, lhs, ("int", str(rng.choice([0, 1, 2, 5, 10, 60]))))
            return ("bin", op, lhs, self.literal_number() if rng.random() < 0.8 else ("neg", self.literal_number()))
        if r < 0.5:
            col = rng.choice(["g1", "g2", "g3"])
            pool = STRING_POOLS.get(col, ["k0", "k1", "k2", "k7", "k30"])
            x = rng.random()
            if x < 0.5:
                return ("bin", rng.choice(["=", "!=", "=", "<", ">="]), ("col", col), ("str", rng.choice(pool)))
            items = [("str", s) for s in rng.sample(pool, min(len(pool), rng.randint(1, 3)))]
            if rng.random() < 0.15:
                items.append(("null",))
            return ("in", ("col", col), items, rng.random() < 0.4)
        if r < 0.62:
            col = rng.choice(list(self.ds.types))
            return ("isnull", ("col", col), rng.random() < 0.5)
        if r < 0.74:
            x = rng.random()
            if x < 0.5:
                return ("col", "flag")
            if x < 0.75:
                return ("not", ("col", "flag"))
            return ("bin", "=", ("col", "flag"), ("bool", rng.random() < 0.5))
        if r < 0.88:
            col = rng.choice(["ts", "ts2"])
            lit = ("datestr" if rng.random() < 0.3 else "date", self.a_date())
            return ("bin", rng.choice(["<", "<=", ">", ">=", "!="]), ("col", col), lit)
        if r < 0.93:
            return ("bin", rng.choice(["<", ">=", ">"]), ("col", "ts2"), ("col", "ts"))
        return ("in", ("col", rng.choice(["i1", "i2"])), [("int", str(rng.randint(0, 6))) for _ in range(rng.randint(1, 3))],
                rng.random() < 0.3)

    def any_value(self):
        """An argument of count(...) / count(distinct ...)."""
        rng = self.rng
        if rng.random() < 0.75:
            return ("col", rng.choice(["g1", "g2", "g3", "i1", "i2", "f2", "flag", "ts", "ts2", "f1", "id"]))
        return self.number()


# ---------------------------------------------------------------------------- measures
#
# ("agg", func, arg | None, filter | None, p | None)
#   func: count, count_distinct, sum, avg, min, max, median, stddev, percentile, percentile_nearest
# ("share", condition, filter | None)
# ("ratio", (measure, filter | None), (measure, filter | None))
# ("mbin", op, lhs, rhs)   op: + - * /
# ("mnum", "2")

NUMERIC_AGGS = ["sum", "avg", "min", "max", "median", "stddev", "percentile", "percentile_nearest"]
P_VALUES = ["0", "0.1", "0.25", "0.28", "0.5", "0.75", "0.9", "0.95", "1", "0.33", "0.99"]


def kpi_measure(m):
    k = m[0]
    if k == "agg":
        func, arg, filt, p = m[1:]
        name = "count" if func == "count_distinct" else func
        inner = "" if arg is None else ("distinct " if func == "count_distinct" else "") + kpi_expr(arg)
        if filt is not None:
            inner += " where " + kpi_expr(filt)
        if p is not None:
            inner += ", " + p
        return f"{name}({inner})"
    if k == "share":
        inner = kpi_expr(m[1]) + ("" if m[2] is None else " where " + kpi_expr(m[2]))
        return f"share({inner})"
    if k == "ratio":
        parts = [kpi_measure(a) + ("" if f is None else " where " + kpi_expr(f)) for a, f in m[1:]]
        return f"ratio({parts[0]}, {parts[1]})"
    if k == "mbin":
        p = PREC[m[1]]
        return f"{mwrap(m[2], p)} {m[1]} {mwrap(m[3], p + 1)}"
    if k == "mnum":
        return m[1]
    raise ValueError(m)


def mprec(m):
    return PREC[m[1]] if m[0] == "mbin" else PREC["atom"]


def mwrap(m, need):
    s = kpi_measure(m)
    return f"({s})" if mprec(m) < need else s


def sql_filter(conds):
    return f" FILTER (WHERE {' AND '.join(conds)})"


def sql_measure(m, ds, filters):
    """An aggregate SQL expression over the rows `b` of one period (window) and group.

    `filters` are SQL conditions that limit every aggregate (from enclosing `where`s).
    The first one is always `b.__rid IS NOT NULL`, which drops the rows a LEFT JOIN adds
    for periods without data.
    """
    k = m[0]
    if k == "agg":
        func, arg, filt, p = m[1:]
        conds = list(filters) + ([sql_expr(filt, ds)] if filt is not None else [])
        x = None if arg is None else sql_expr(arg, ds)
        f = sql_filter(conds)
        if func == "count":
            return f"count({'b.__rid' if x is None else x}){f}"
        if func == "count_distinct":
            return f"count(DISTINCT {x}){f}"
        xd = f"CAST({x} AS DOUBLE)"
        if func in ("sum", "avg", "min", "max"):
            return f"{func}({xd}){f}"
        if func in ("median", "percentile"):
            # docs/language.md: with the n values sorted, h = p * (n - 1), the value at
            # floor(h) plus (h - floor(h)) times the step to the next one. h is computed
            # exactly (quantile_cont works it out in floating point: 0.28 * 25 is
            # 7.000000000000001, which leaks a 1e-15 share of the next step into the value).
            sorted_ = f"list_sort(list({xd}){sql_filter(conds + [f'({x}) IS NOT NULL'])})"
            n = f"count({x}){f}"
            h = f"(CAST('{'0.5' if func == 'median' else p}' AS DECIMAL(18, 6)) * ({n} - 1))"
            lo = f"CAST(floor({h}) AS BIGINT)"
            frac = f"CAST({h} - floor({h}) AS DOUBLE)"
            return (f"(CASE WHEN {n} = 0 THEN NULL WHEN {lo} + 1 >= {n} THEN {sorted_}[{lo} + 1] "
                    f"ELSE {sorted_}[{lo} + 1] + {frac} * ({sorted_}[{lo} + 2] - {sorted_}[{lo} + 1]) END)")
        if func == "stddev":
            # docs/language.md: a standard deviation at most 1e-12 of |mean| is rounding
            # noise and is 0 (the inputs carry ~1e-16 relative error each).
            sd, mean = f"stddev_samp({xd}){f}", f"avg({xd}){f}"
            return f"(CASE WHEN {sd} <= 1e-12 * abs({mean}) THEN 0.0 ELSE {sd} END)"
        if func == "percentile_nearest":
            # The ceil(p * n)-th smallest value (the first for p = 0), p * n computed exactly.
            rank = f"greatest(1, CAST(ceil(CAST('{p}' AS DECIMAL(18, 6)) * count({x}){f}) AS BIGINT))"
            return f"(list_sort(list({xd}){sql_filter(conds + [f'({x}) IS NOT NULL'])}))[{rank}]"
        raise ValueError(func)
    if k == "share":
        cond, filt = m[1], m[2]
        den = list(filters) + ([sql_expr(filt, ds)] if filt is not None else [])
        num = den + [sql_expr(cond, ds)]
        return f"(CAST(count(b.__rid){sql_filter(num)} AS DOUBLE) / NULLIF(CAST(count(b.__rid){sql_filter(den)} AS DOUBLE), 0))"
    if k == "ratio":
        parts = []
        for a, f in m[1:]:
            parts.append(sql_measure(a, ds, list(filters) + ([sql_expr(f, ds)] if f is not None else [])))
        return f"(CAST({parts[0]} AS DOUBLE) / NULLIF(CAST({parts[1]} AS DOUBLE), 0))"
    if k == "mbin":
        l, r = sql_measure(m[2], ds, filters), sql_measure(m[3], ds, filters)
        if m[1] == "/":
            return f"(CAST({l} AS DOUBLE) / NULLIF(CAST({r} AS DOUBLE), 0))"
        return f"(CAST({l} AS DOUBLE) {m[1]} CAST({r} AS DOUBLE))"
    if k == "mnum":
        return f"CAST('{m[1]}' AS DOUBLE)"
    raise ValueError(m)


def is_additive(m):
    """docs/language.md: `cumulative` takes count, sum, and those added, subtracted or scaled."""
    k = m[0]
    if k == "agg":
        return m[1] in ("count", "sum")
    if k == "mbin":
        op, l, r = m[1:]
        if op in "+-":
            return is_additive(l) and is_additive(r)
        if op == "*":
            return (is_additive(l) and r[0] == "mnum") or (is_additive(r) and l[0] == "mnum")
        if op == "/":
            return is_additive(l) and r[0] == "mnum"
    return False


def is_count(m):
    """Whole numbers (compared exactly): counts added, subtracted and multiplied by whole numbers."""
    k = m[0]
    if k == "agg":
        return m[1] in ("count", "count_distinct")
    if k == "mbin":
        return m[1] in "+-*" and is_count(m[2]) and is_count(m[3])
    if k == "mnum":
        return "." not in m[1]
    return False


def uses(m, func):
    k = m[0]
    if k == "agg":
        return m[1] == func or (func == "filtered_distinct" and m[1] == "count_distinct" and m[3] is not None)
    if k == "ratio":
        return uses(m[1][0], func) or uses(m[2][0], func)
    if k == "mbin":
        return uses(m[2], func) or uses(m[3], func)
    return k == func


class MeasureGen:
    def __init__(self, rng, eg):
        self.rng, self.eg = rng, eg

    def maybe_filter(self, p=0.35):
        return self.eg.condition(1) if self.rng.random() < p else None

    def aggregate(self, func=None):
        rng = self.rng
        func = func or rng.choice(["count", "count", "count_distinct", "count_distinct"] + NUMERIC_AGGS + ["sum", "avg"])
        p = None
        if func == "count":
            arg = None if rng.random() < 0.5 else self.eg.any_value()
            if arg is None:
                # `count(where c)` is a syntax error: count() takes a filter only as an
                # argument of ratio (`ratio(count() where c, ...)`) or from the KPI's where.
                return ("agg", func, None, None, None)
        elif func == "count_distinct":
            arg = self.eg.any_value()
        else:
            arg = self.eg.number()
            if func in ("percentile", "percentile_nearest"):
                p = rng.choice(P_VALUES)
        return ("agg", func, arg, self.maybe_filter(), p)

    def measure(self, depth=0, additive=False):
        rng = self.rng
        if additive:
            r = rng.random()
            if depth > 1 or r < 0.6:
                return self.aggregate(rng.choice(["count", "sum"]))
            if r < 0.8:
                return ("mbin", rng.choice("+-"), self.measure(depth + 1, True), self.measure(depth + 1, True))
            if r < 0.9:
                return ("mbin", "*", self.measure(depth + 1, True), ("mnum", rng.choice(["2", "0.5", "3"])))
            return ("mbin", "/", self.measure(depth + 1, True), ("mnum", rng.choice(["2", "4", "1000"])))
        r = rng.random()
        if depth > 1 or r < 0.55:
            return self.aggregate()
        if r < 0.68:
            return ("share", self.eg.condition(), self.maybe_filter(0.4))
        if r < 0.8:
            a = (self.measure(depth + 1), self.maybe_filter(0.4))
            b = (self.measure(depth + 1), self.maybe_filter(0.3))
            return ("ratio", a, b)
        if r < 0.93:
            return ("mbin", rng.choice("+-*/"), self.measure(depth + 1), self.measure(depth + 1))
        return ("mbin", rng.choice("*/+"), self.measure(depth + 1), ("mnum", rng.choice(["2", "1000", "0.5", "100"])))


# ---------------------------------------------------------------------------- derived KPIs
#
# ("kpi", id) ("num", "2") ("dbin", op, l, r)


def kpi_derived(e, need=0):
    k = e[0]
    if k == "kpi":
        return e[1]
    if k == "num":
        return e[1]
    p = PREC[e[1]]
    s = f"{kpi_derived(e[2], p)} {e[1]} {kpi_derived(e[3], p + 1)}"
    return f"({s})" if p < need else s


def derived_inputs(e, out):
    if e[0] == "kpi":
        if e[1] not in out:
            out.append(e[1])
    elif e[0] == "dbin":
        derived_inputs(e[2], out)
        derived_inputs(e[3], out)
    return out


def eval_derived(e, lookup):
    k = e[0]
    if k == "kpi":
        return lookup(e[1])
    if k == "num":
        return float(e[1])
    a, b = eval_derived(e[2], lookup), eval_derived(e[3], lookup)
    if a is None or b is None:
        return None
    op = e[1]
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return None if b == 0 else a / b


# ---------------------------------------------------------------------------- features
# Tags of what a KPI uses, written to expected.json: the test prints how often each was
# checked, and which ones the mismatching KPIs share.


def expr_features(e, out):
    k = e[0]
    if k == "dur":
        out.add("duration")
    elif k == "bd":
        out.add("business_days")
    elif k == "datestr":
        out.add("quoted_date")
    elif k == "in":
        out.add("not_in" if e[3] else "in")
        if any(x[0] == "null" for x in e[2]):
            out.add("in_null")
    elif k == "isnull":
        out.add("is_null")
    elif k == "not":
        out.add("not")
    elif k == "bin" and e[1] in ("and", "or", "/"):
        out.add({"and": "and", "or": "or", "/": "row_division"}[e[1]])
    for x in e[1:]:
        if isinstance(x, tuple):
            expr_features(x, out)
        elif isinstance(x, list):
            for y in x:
                expr_features(y, out)


def measure_features(m, out, filtered=False):
    k = m[0]
    if k == "agg":
        func, arg, filt, p = m[1:]
        out.add("count()" if func == "count" and arg is None else func)
        if filt is not None:
            out.add("measure_filter")
        if func == "count_distinct" and (filt is not None or filtered):
            out.add("count_distinct_filtered")
        for x in (arg, filt):
            if x is not None:
                expr_features(x, out)
    elif k == "share":
        out.add("share")
        if m[2] is not None:
            out.add("share_filter")
            expr_features(m[2], out)
        expr_features(m[1], out)
    elif k == "ratio":
        out.add("ratio")
        for a, f in m[1:]:
            if f is not None:
                out.add("ratio_filter")
                expr_features(f, out)
            measure_features(a, out, filtered or f is not None)
    elif k == "mbin":
        out.add("measure_arithmetic")
        measure_features(m[2], out, filtered)
        measure_features(m[3], out, filtered)
    elif k == "mnum":
        out.add("number")


# ---------------------------------------------------------------------------- KPIs


class Kpi:
    def __init__(self, id):
        self.id = id
        self.measure = None
        self.derived = None
        self.where = None
        self.where_in_measure = False  # `measure m where c` instead of a `where` clause
        self.by = []
        self.grain = None
        self.grain_on_derived = False
        self.time = None  # own `time` clause
        self.since = None
        self.until = None
        self.window = None  # None, ("rolling", periods, text), ("year_to_date",), ("fiscal_year_to_date",), "cumulative"
        self.target = None  # (kind, ...) see target_text
        self.title = None
        self.layout = 0.0  # seeds the order of the clauses and the comments in definition()

    def definition(self):
        lines = [f"kpi {self.id}" + (f' "{self.title}"' if self.title else "") + " {"]
        if self.derived is not None:
            lines.append(f"  measure {kpi_derived(self.derived)}")
            if self.grain_on_derived and self.grain:
                lines.append(f"  grain {self.grain}")
        else:
            lines.append("  from t")
            m = kpi_measure(self.measure)
            if self.where is not None and self.where_in_measure:
                lines.append(f"  measure {m} where {kpi_expr(self.where)}")
            else:
                lines.append(f"  measure {m}")
                if self.where is not None:
                    lines.append(f"  where {kpi_expr(self.where)}")
            if self.by:
                lines.append("  by " + ", ".join(kpi_col(b) for b in self.by))
            if self.grain:
                lines.append(f"  grain {self.grain}")
            if self.time:
                lines.append(f"  time {self.time}")
            if self.since and self.until:
                lines.append(f"  between {self.since.isoformat()} and {self.until.isoformat()}")
            elif self.since:
                lines.append(f"  since {self.since.isoformat()}")
            if self.window == "cumulative":
                lines.append("  cumulative")
            elif self.window:
                lines.append("  " + (self.window[2] if self.window[0] == "rolling" else self.window[0]))
        if self.target:
            lines.append(f"  target {target_text(self.target)}")
        # Layout: the clauses in any order, comments, or all on one line (docs/language.md).
        r = random.Random(self.layout)
        head, body = lines[0], lines[1:]
        if r.random() < 0.5:
            r.shuffle(body)
        if r.random() < 0.15:
            return head + " " + " ".join(b.strip() for b in body) + " }"
        out = [head]
        for b in body:
            x = r.random()
            if x < 0.05:
                out.append("  // a comment line")
            elif x < 0.08:
                out.append("  # another comment")
            out.append(b + (" // trailing comment" if r.random() < 0.05 else ""))
        out.append("}")
        return "\n".join(out)


def target_text(t):
    kind = t[0]
    pct = t[-1]
    u = "%" if pct else ""
    scale = 100 if pct else 1

    def num(x):
        x = x * scale
        return str(x.numerator) if x.denominator == 1 else repr(float(x))

    if kind == "cmp":
        _, op, value, tol, _ = t
        s = f"{op} {num(value)}{u}"
        if tol is not None:
            s += f" tolerance {num(tol)}{'pp' if pct else ''}"
        return s
    _, low, high, tol, _ = t
    s = f"between {num(low)}{u} and {num(high)}{u}"
    if tol is not None:
        s += f" tolerance {num(tol)}{'pp' if pct else ''}"
    return s


def round12(v):
    return float(f"{v:.12g}")


def judge(t, value):
    if value is None:
        return "no_data"
    if t is None:
        return "no_target"
    v = Fraction(repr(round12(value)))
    kind = t[0]
    if kind == "cmp":
        _, op, th, tol, _ = t
        met = {">=": v >= th, ">": v > th, "<=": v <= th, "<": v < th}[op]
        miss = th - v if op in (">=", ">") else v - th
    else:
        _, low, high, tol, _ = t
        met = low <= v <= high
        miss = low - v if v < low else v - high
    if met:
        return "on_track"
    if tol is not None and miss <= tol:
        return "near_target"
    return "off_track"


ROLLING_UNITS = {
    # grain -> [(unit word, periods of the grain per unit)]
    "day": [("day", 1), ("week", 7)],
    "week": [("week", 1)],
    "month": [("month", 1), ("quarter", 3), ("fiscal_quarter", 3), ("year", 12), ("fiscal_year", 12)],
    "quarter": [("quarter", 1), ("year", 4), ("fiscal_quarter", 1)],
    "fiscal_quarter": [("fiscal_quarter", 1), ("fiscal_year", 4), ("quarter", 1)],
    "year": [("year", 1)],
    "fiscal_year": [("fiscal_year", 1)],
}


class Case:
    def __init__(self, seed, index):
        self.seed, self.index = seed, index
        rng = self.rng = random.Random(f"{seed}-{index}")
        self.ds = Dataset(rng)
        self.cal = Calendar(rng.choice(list(WEEK_STARTS)), rng.choice([1, 1, 4, 7, 10, 2, 11, 3]))
        self.set_calendar = self.cal.week_start != "monday" or self.cal.fiscal_month != 1 or rng.random() < 0.5
        lo, hi = self.ds.data_range()
        self.holidays = set()
        if self.set_calendar:
            for _ in range(rng.randint(0, 8)):
                self.holidays.add(lo + dt.timedelta(days=rng.randint(0, max(1, (hi - lo).days + 30))))
        self.eg = ExprGen(rng, self.ds, lo, hi)
        self.mg = MeasureGen(rng, self.eg)
        self.kpis = []
        self.make_kpis()

    def grains_for_span(self):
        span = self.ds.span
        grains = ["month", "quarter", "year", "fiscal_quarter", "fiscal_year", "month", "quarter"]
        if span <= 130:
            grains += ["day", "day", "week"]
        if span <= 450:
            grains += ["week", "week"]
        return grains

    def make_kpis(self):
        rng = self.rng
        n_target = rng.randint(10, 20)
        signatures = []
        for _ in range(rng.randint(2, 4)):
            grain = rng.choice(self.grains_for_span() + [None])
            by_pool = ["g1", "g2", "i2", "flag"] + (["g3"] if grain in (None, "year", "fiscal_year") else [])
            by = rng.sample(by_pool, rng.choice([0, 0, 1, 1, 2]))
            if grain in ("day", "week") and len(by) > 1:
                by = by[:1]
            signatures.append((grain, by))
        n = 0
        while len(self.kpis) < n_target:
            grain, by = rng.choice(signatures)
            if rng.random() < 0.22 and self.derived_candidates(grain, by):
                self.kpis.append(self.make_derived(f"k{n}", grain, by))
            else:
                self.kpis.append(self.make_query(f"k{n}", grain, by))
            n += 1

    def derived_candidates(self, grain, by):
        return [k for k in self.kpis if k.grain == grain and k.by == by]

    def make_derived(self, id, grain, by):
        rng = self.rng
        cands = self.derived_candidates(grain, by)
        k = Kpi(id)
        k.layout = rng.random()
        k.grain, k.by = grain, list(by)
        k.grain_on_derived = grain is not None and rng.random() < 0.4
        a = ("kpi", rng.choice(cands).id)
        b = ("kpi", rng.choice(cands).id)
        r = rng.random()
        if r < 0.3:
            e = ("dbin", "/", a, b)
        elif r < 0.5:
            e = ("dbin", "-", a, b)
        elif r < 0.65:
            e = ("dbin", "+", a, ("dbin", "*", b, ("num", rng.choice(["2", "0.5"]))))
        elif r < 0.8:
            e = ("dbin", "/", ("dbin", "+", a, b), ("num", rng.choice(["2", "3"])))
        elif r < 0.9:
            e = ("dbin", "*", a, ("num", "100"))
        else:
            e = ("dbin", "-", a, ("num", "1.5"))
        k.derived = e
        return k

    def make_query(self, id, grain, by):
        rng = self.rng
        k = Kpi(id)
        k.layout = rng.random()
        k.grain, k.by = grain, list(by)
        if rng.random() < 0.3:
            k.title = f"KPI {id}"
        if rng.random() < 0.12:
            k.time = "ts2"
        elif rng.random() < 0.05:
            k.time = "ts"
        window = None
        if grain and rng.random() < 0.45:
            choices = ["rolling", "rolling", "cumulative"]
            if grain in ("day", "month", "quarter"):
                choices.append("year_to_date")
            fq_ok = grain in ("day", "month", "fiscal_quarter") or (grain == "quarter" and (self.cal.fiscal_month - 1) % 3 == 0)
            if fq_ok:
                choices.append("fiscal_year_to_date")
            w = rng.choice(choices)
            if w == "rolling":
                unit, per = rng.choice(ROLLING_UNITS[grain])
                n = rng.randint(1, 3 if per > 1 else 6)
                if grain == "day" and unit == "day":
                    n = rng.randint(1, 30)
                word = unit + ("s" if n != 1 or rng.random() < 0.3 else "")
                window = ("rolling", n * per, f"rolling {n} {word}")
            elif w == "cumulative":
                window = "cumulative"
            else:
                window = (w,)
        k.window = window
        k.measure = self.mg.measure(additive=window == "cumulative")
        if rng.random() < 0.45:
            k.where = self.eg.condition()
            k.where_in_measure = k.measure[0] in ("agg", "share", "ratio") and rng.random() < 0.2
        if rng.random() < 0.3:
            lo, hi = self.ds.data_range()
            a = lo + dt.timedelta(days=rng.randint(-40, max(1, (hi - lo).days)))
            days = [as_date(r[self.time_col(k)]) for r in self.ds.rows if r[self.time_col(k)] is not None]
            if rng.random() < 0.3:
                a = dt.date(a.year, a.month, 1)
            elif days and rng.random() < 0.3:
                a = rng.choice(days)  # on the day of a row: the boundary is inclusive
            k.since = a
            if rng.random() < 0.6:
                k.until = a + dt.timedelta(days=rng.randint(0, max(1, (hi - a).days + 60)))
                later = [d for d in days if d >= a]
                if later and rng.random() < 0.3:
                    k.until = rng.choice(later)
                if grain == "day" and (k.until - k.since).days > 400:
                    k.until = k.since + dt.timedelta(days=300)
        if rng.random() < 0.3:
            k.target = self.make_target(k.measure)
        return k

    def make_target(self, m):
        rng = self.rng
        if m[0] == "share":
            pct = True
            values = [Fraction(x, 100) for x in (0, 25, 50, 60, 75, 100)] + [Fraction(1, 3).limit_denominator(1000)]
            values = [Fraction(x, 100) for x in (0, 25, 40, 50, 60, 75, 100)]
            tols = [Fraction(5, 100), Fraction(10, 100)]
        elif m[0] == "agg" and m[1] in ("count", "count_distinct"):
            pct = False
            values = [Fraction(x) for x in (0, 1, 2, 3, 5, 8, 20)]
            tols = [Fraction(1), Fraction(2)]
        elif m[0] == "agg":
            pct = False
            values = [Fraction(x) for x in (0, 10, 100, 250)] + [Fraction("12.5"), Fraction(-3)]
            tols = [Fraction(5), Fraction("0.5")]
        else:
            return None
        tol = rng.choice(tols) if rng.random() < 0.3 else None
        if rng.random() < 0.75:
            op, v = rng.choice([">=", ">", "<=", "<"]), rng.choice(values)
            # A target the measure can never meet is a check error (YS0222): a share is never
            # above 100% or below 0%, a count never below 0.
            if op == ">" and pct and v == 1:
                op = ">="
            if op == "<" and v == 0:
                op = "<="
            return ("cmp", op, v, tol, pct)
        a, b = sorted(rng.sample(values, 2))
        return ("between", a, b, tol, pct)

    # ------------------------------------------------------------ files

    def yaml(self):
        lines = [f"name: Differential case {self.seed}-{self.index}"]
        if self.set_calendar:
            lines.append("calendar:")
            lines.append(f"  week_start: {self.cal.week_start}")
            if self.cal.fiscal_month != 1 or self.rng.random() < 0.5:
                lines.append(f'  fiscal_year_start: "{self.cal.fiscal_month:02d}-01"')
            if self.holidays:
                lines.append("  holidays: [" + ", ".join(f'"{d.isoformat()}"' for d in sorted(self.holidays)) + "]")
        lines += ["sources:", "  t:", "    path: data/t.csv", "    time: ts"]
        if self.ds.delimiter != ",":
            lines.append(f"    delimiter: {json.dumps(self.ds.delimiter)}")
        if self.ds.use_na:
            lines.append('    null_values: ["NA"]')
        lines.append("    columns:")
        for c, ty in self.ds.types.items():
            if c == "f1" and self.ds.thousands:
                lines.append(f'      {c}: {{ type: {ty}, thousands: "," }}')
            elif c == "i1" and self.ds.invalid:
                lines.append(f'      {c}: {{ type: {ty}, on_invalid: "null" }}')
            elif c == "i2" and self.ds.invalid:
                lines.append(f"      {c}: {{ type: {ty}, on_invalid: skip }}")
            elif c in self.ds.formats:
                fmts = self.ds.formats[c]
                f = json.dumps(fmts[0]) if len(fmts) == 1 else "[" + ", ".join(json.dumps(x) for x in fmts) + "]"
                lines.append(f"      {c}: {{ type: {ty}, format: {f} }}")
            else:
                lines.append(f"      {c}: {ty}")
        return "\n".join(lines) + "\n"

    def kpi_file(self):
        out = ['goal g "Differential" {']
        for k in self.kpis:
            out.append("  " + k.definition().replace("\n", "\n  "))
        out.append("}")
        return "\n".join(out) + "\n"

    # ------------------------------------------------------------ expected values

    def expected(self):
        con = duckdb.connect(config={"threads": 1})
        self.ds.load(con, self.holidays)
        done = {}
        out = []
        for k in self.kpis:
            if k.derived is not None:
                rows, sql = self.derived_rows(k, done), None
            else:
                rows, sql = self.query_rows(con, k)
            done[k.id] = rows
            out.append({
                "id": k.id,
                "definition": k.definition(),
                "exact": self.exact(k),
                "features": self.features(k),
                "grain": k.grain,
                "by": k.by,
                "oracle": sql,
                "rows": [dict(r, status=judge(k.target, r["value"])) for r in rows],
            })
        con.close()
        return out

    def features(self, k):
        out = set()
        if k.derived is not None:
            out.add("derived")
        else:
            measure_features(k.measure, out)
            if k.where is not None:
                out.add("where_in_measure" if k.where_in_measure else "where")
                expr_features(k.where, out)
            if k.time:
                out.add(f"time:{k.time}")
            if k.since:
                out.add("scope:between" if k.until else "scope:since")
            if k.window:
                out.add("window:" + (k.window if k.window == "cumulative" else k.window[0]))
        out.add(f"grain:{k.grain}" if k.grain else "ungrained")
        out.add(f"by:{len(k.by)}")
        if k.target:
            out.add("target:" + k.target[0])
        return sorted(out)

    def exact(self, k):
        if k.derived is not None:
            return False
        return is_count(k.measure) and (k.window != "cumulative" or is_count(k.measure))

    def time_col(self, k):
        return k.time or "ts"

    def base_sql(self, k):
        t = qi(self.time_col(k))
        conds = []
        if k.where is not None:
            conds.append(sql_expr(k.where, self.ds, q=""))
        if k.grain:
            conds.append(f"{t} IS NOT NULL")
        if k.since:
            conds.append(f"{t} >= TIMESTAMP '{k.since.isoformat()} 00:00:00'")
        if k.until:
            end = k.until + dt.timedelta(days=1)
            conds.append(f"{t} < TIMESTAMP '{end.isoformat()} 00:00:00'")
        return "SELECT * FROM t" + (" WHERE " + " AND ".join(conds) if conds else "")

    def query_rows(self, con, k):
        base = self.base_sql(k)
        value = sql_measure(k.measure, self.ds, ["b.__rid IS NOT NULL"])
        by_sql = [f"b.{qi(c)}" for c in k.by]
        if not k.grain:
            sel = ", ".join(by_sql + ["count(b.__rid) AS n_rows", f"CAST({value} AS DOUBLE) AS value"])
            sql = f"WITH base AS ({base})\nSELECT {sel}\nFROM base b"
            if k.by:
                sql += "\nGROUP BY " + ", ".join(by_sql)
            res = con.execute(sql).fetchall()
            rows = []
            for r in res:
                row = {"period": None}
                for i, c in enumerate(k.by):
                    row[c] = json_value(r[i])
                row["value"] = finite(r[-1])
                rows.append(row)
            rows.sort(key=lambda r: sort_key(r, k.by))
            return rows, sql

        # Periods: from the scope's start (else the first period with data) to the scope's
        # end (else the last period with data), every group seen in the KPI's rows.
        t = qi(self.time_col(k))
        lo_hi = con.execute(f"SELECT min({t}), max({t}) FROM ({base})").fetchone()
        lo = period_of(self.cal, k.grain, k.since) if k.since else (
            period_of(self.cal, k.grain, as_date(lo_hi[0])) if lo_hi[0] is not None else None)
        hi = period_of(self.cal, k.grain, k.until) if k.until else (
            period_of(self.cal, k.grain, as_date(lo_hi[1])) if lo_hi[1] is not None else None)
        if lo is None or hi is None:
            return [], None
        periods = []
        p = lo
        while p <= hi:
            periods.append(p)
            p = shift(k.grain, p, 1)
        window = None if k.window == "cumulative" else k.window
        starts = [dt.datetime.combine(window_start(self.cal, k.grain, window, p), dt.time()) for p in periods]
        ends = [dt.datetime.combine(shift(k.grain, p, 1), dt.time()) for p in periods]
        grp = ", ".join(f"{qi(c)} AS grp_{j}" for j, c in enumerate(k.by)) if k.by else "1 AS one"
        gsel = "".join(f", g.grp_{j}" for j in range(len(k.by)))
        match = "".join(f" AND b.{qi(c)} IS NOT DISTINCT FROM g.grp_{j}" for j, c in enumerate(k.by))
        # One row per period (its window [wstart, wend)) and group seen in the KPI's rows.
        sql = (f"WITH base AS ({base}),\n"
               f"periods AS (SELECT unnest($i) AS i, unnest($starts) AS wstart, unnest($ends) AS wend),\n"
               f"grp AS (SELECT DISTINCT {grp} FROM base),\n"
               f"grid AS (SELECT * FROM periods CROSS JOIN grp)\n"
               f"SELECT g.i{gsel}, count(b.__rid) AS n_rows, CAST({value} AS DOUBLE) AS value\n"
               f"FROM grid g LEFT JOIN base b ON b.{t} >= g.wstart AND b.{t} < g.wend{match}\n"
               f"GROUP BY g.i{gsel}")
        params = {"i": list(range(len(periods))), "starts": starts, "ends": ends}
        res = con.execute(sql, params).fetchall()
        if not k.by and len(res) != len(periods):
            # Without `by` there is one group even when no row is in the scope.
            res = [(i, 0, None) for i in range(len(periods))]
        rows = []
        for r in res:
            n_rows, v = r[-2], r[-1]
            row = {"period": periods[r[0]].isoformat()}
            for j, c in enumerate(k.by):
                row[c] = json_value(r[1 + j])
            row["value"] = None if n_rows == 0 else finite(v)
            rows.append(row)
        rows.sort(key=lambda r: sort_key(r, k.by))
        if k.window == "cumulative":
            totals = {}
            for row in rows:  # in period order
                key = json.dumps([row[c] for c in k.by])
                if row["value"] is not None:
                    totals[key] = totals.get(key, 0.0) + row["value"]
                total = totals.get(key)
                row["value"] = None if total is None else round12(total)
        rows.sort(key=lambda r: sort_key(r, k.by))
        return rows, sql

    def derived_rows(self, k, done):
        inputs = derived_inputs(k.derived, [])
        maps, keys = {}, {}
        for i in inputs:
            maps[i] = {}
            for r in done[i]:
                key = (r["period"],) + tuple(json.dumps(r[c]) for c in k.by)
                maps[i][key] = r["value"]
                keys.setdefault(key, r)
        cells = [(r["period"], [r[c] for c in k.by]) for r in keys.values()]
        if k.grain:
            # A derived KPI's rows are filled like any grained KPI's: every period from the
            # first to the last any input has, for every group any input has.
            dates = [dt.date.fromisoformat(p) for p, _ in cells]
            groups = {}
            for _, g in cells:
                groups.setdefault(json.dumps(g), g)
            cells = []
            if dates:
                p, hi = min(dates), max(dates)
                while p <= hi:
                    cells += [(p.isoformat(), g) for g in groups.values()]
                    p = shift(k.grain, p, 1)
        rows = []
        for period, g in cells:
            key = (period,) + tuple(json.dumps(x) for x in g)
            v = eval_derived(k.derived, lambda i: maps[i].get(key))
            row = {"period": period}
            for c, x in zip(k.by, g):
                row[c] = x
            row["value"] = None if v is None else finite(v)
            rows.append(row)
        rows.sort(key=lambda r: sort_key(r, k.by))
        return rows

    def write(self, out_dir):
        d = os.path.join(out_dir, f"case-{self.index:05d}")
        os.makedirs(os.path.join(d, "data"), exist_ok=True)
        os.makedirs(os.path.join(d, "metrics"), exist_ok=True)
        with open(os.path.join(d, "yardstick.yaml"), "w") as f:
            f.write(self.yaml())
        with open(os.path.join(d, "data", "t.csv"), "w", encoding="utf-8") as f:
            f.write(self.ds.csv_text(self.rng))
        with open(os.path.join(d, "metrics", "diff.kpi"), "w", encoding="utf-8") as f:
            f.write(self.kpi_file())
        with open(os.path.join(d, "typed.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(self.ds.typed(), allow_nan=False))
        expected = {"seed": self.seed, "case": self.index, "kpis": self.expected()}
        with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(expected, allow_nan=False))
        return d


def finite(v):
    """A value as results.json has it: rounded to 12 significant digits; inf/NaN -> null."""
    if v is None:
        return None
    v = float(v)
    if math.isnan(v) or math.isinf(v):
        return None
    return round12(v)


def json_value(v):
    if v is None:
        return None
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def sort_key(row, by):
    k = [(row["period"] is None, row["period"] or "")]
    for c in by:
        v = row[c]
        k.append((v is None, 0 if v is None else v))
    return k


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", required=True)
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", type=int, action="append", help="generate only this case (repeatable)")
    ap.add_argument("--start", type=int, default=0, help="first case index")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    args = ap.parse_args()
    indexes = args.only if args.only else list(range(args.start, args.start + args.cases))
    os.makedirs(args.out, exist_ok=True)
    if args.jobs > 1 and len(indexes) > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(args.jobs) as pool:
            for _ in pool.imap_unordered(generate, [(args.seed, i, args.out) for i in indexes], chunksize=4):
                pass
    else:
        for i in indexes:
            generate((args.seed, i, args.out))
    print(f"wrote {len(indexes)} cases to {args.out} (seed {args.seed}, duckdb {duckdb.__version__})", file=sys.stderr)


def generate(job):
    seed, i, out = job
    Case(seed, i).write(out)


if __name__ == "__main__":
    main()
