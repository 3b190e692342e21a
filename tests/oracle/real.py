#!/usr/bin/env python3
"""Oracle for the real-data test (tests/real_data.rs).

Reads the raw public files in ../shared/data (beside the repository; override with
YARDSTICK_SHARED_DATA=/path/to/shared/data) with Python's csv module, computes every KPI
of tests/fixtures/real/metrics/*.kpi in plain Python, cross-checks a large part of them
with DuckDB reading the same files its own way, and writes tests/fixtures/real/expected.json.
yardstick is never run. CI does not run this script; the test reads the committed JSON.

Usage: python3 tests/oracle/real.py        (needs `pip install duckdb` for the cross-checks)

expected.json
-------------
    {"sources": {"<source>": {"rows_read": n, "files": n}},
     "kpis": {"<kpi id>": {"defined_in": "metrics/<file>.kpi",
                           "grain": "month" | ... | null,
                           "by": ["<by column>", ...],
                           "empty_cells": n,
                           "rows": [{"period": "YYYY-MM-DD" | null,
                                     "<by column>": value | null, ...,
                                     "value": number | null,
                                     "status": "..."}]}}}
Rows are sorted by period, then by the group values, nulls last (the results.json order).
Only periods/groups with rows are listed. `empty_cells` counts the (period, group) cells
between a grained KPI's first and last period, over all groups seen, that have no row (see
empty_cells() below).
`period` is the first day of the period of the row's time column (Monday weeks, calendar
months, quarters and years). `status` is given for KPIs with a target (value rounded to 12
significant digits, then compared; limits count as met), "no_target" for a value without a
target and "no_data" for a null value.

General rules (yardstick's documented semantics, re-implemented here)
---------------------------------------------------------------------
* Null: an empty field, or (Baltimore only) the literal text NA.
* KPI `where`: a row is kept only if the condition is true (null counts as false).
* Only periods/groups that have rows after `where` appear; a group value that is null forms
  its own group (sorted last).
* share(c): rows where c is true / all rows (after where); c null counts as false.
  share(c where f): rows where f and c / rows where f; null when no row meets f.
* ratio(a, b) and a / b of measures: null when the denominator is 0.
* median(x) = percentile(x, 0.5). percentile(x, p): linear interpolation between closest
  ranks (R type 7 / Excel PERCENTILE.INC), computed here with statistics.quantiles(...,
  method="inclusive") and checked against DuckDB quantile_cont.
  percentile_nearest(x, p): nearest rank, sorted(x)[ceil(p * n) - 1] with ceil(p * n)
  computed in exact integer arithmetic (p = 0.9: ceil(9 n / 10) = (9 n + 9) // 10).
* stddev(x): sample standard deviation (statistics.stdev; DuckDB stddev_samp).
* days_between(a, b) / hours_between(a, b): (b - a) in seconds / 86400 or / 3600, with
  the fraction kept; for date columns a date is its midnight.
* business_days_between(a, b): the number of days d with a < d <= b (calendar days of the
  two values) that are Monday..Friday and not in calendar.holidays of yardstick.yaml; when
  b < a it is minus the count of days d with b < d <= a. Computed with a day-by-day loop
  (datetime.date.weekday), and cross-checked in DuckDB with generate_series.

Sources
-------
baltimore_311 (baltimore_311/2015_extract_by_request_type/**/*.csv, 47 files including
  droplet/): every file read by header name (9 header variants). createddate, duedate,
  statusdate parsed with %Y-%m-%dT%H:%M:%S.%f; NA is null (one duedate).
  Time column createddate (statusdate for b311_closed_per_month_by_status_date).
  - b311_requests_by_code_month: rows per (created month, code).
  - b311_closed_by_due_by_code / _overall / _month: among status == 'CLOSED', share with
    statusdate <= duedate (the CLOSED row with duedate NA, ICYCONDI.csv line 99, counts as
    not on time), per code / over the whole extract / per created month. Target >= 80%.
  - b311_closed_by_due_quarter_filtered: the same share per created quarter, but the
    status filter is inside the measure, so every quarter with any row appears.
  - b311_distinct_requests_month: distinct servicerequestnum per created month (POTHOLES_5
    repeats 348 records of POTHOLES).
  - b311_duplicate_share_month: share of rows with status DUPCLOSD or DUPOPEN, per month.
  - b311_closed_per_month_by_status_date: CLOSED rows per month of statusdate.
  - b311_median_days_to_status_by_code: median of days_between(createddate, statusdate)
    over CLOSED rows, per code.
  - b311_potholes_p90_hours_quarter: percentile 0.9 of hours_between(createddate,
    statusdate), code POTHOLES and status CLOSED, per quarter. Target <= 72 h.
  - b311_not_closed_ratio_by_code: rows with status != 'CLOSED' / rows with status
    'CLOSED', per code (null when a code has no CLOSED row).
  - b311_files_read: number of files.
nhs_ae (nhs_ae_monthly/ae_attendances_2016-04_to_2019-03.csv): period is a date (first of
  the month); type is the text "1", "2" or "other".
  - ae_four_hour_all_month: 1 - sum(breaches) / sum(attendances) per month. Target >= 95%.
  - ae_four_hour_type1_month: the same over type "1". Target >= 95%.
  - ae_four_hour_by_type_quarter: the same per (quarter, type). Target >= 95%.
  - ae_attendances_month: sum(attendances) per month.
  - ae_providers_month: distinct org_code per month.
  - ae_type1_conversion_year: sum(admissions of type 1) / sum(attendances of type 1) per year.
  - ae_median_provider_breach_share_year: median over type-1 rows of breaches/attendances.
  - ae_breaches_stddev_by_type: sample standard deviation of breaches, per type.
sa_permits (san_antonio_building_permits/permits_issued_2023_snapshot_2023-03-13.csv only;
  the older 2023-01-16 snapshot is a subset in time and would double count): decoded as
  windows-1252 (cp1252), CRLF; DATE SUBMITTED / DATE ISSUED are %Y-%m-%d dates; time
  column DATE ISSUED. bd = business_days_between(submitted, issued) with the holidays below.
  - sa_median_business_days_month: median bd per month. Target <= 5 days.
  - sa_median_business_days_not_same_day_month: median bd per month over rows with
    submitted < issued.
  - sa_median_business_days_by_type: median bd per PERMIT TYPE.
  - sa_p90_business_days_nearest_by_type: nearest-rank percentile 0.9 of bd per PERMIT TYPE.
  - sa_total_business_days_month: sum of bd per month (any off-by-one in one row shows).
  - sa_within_10_business_days_month: share with bd <= 10 per month. Target >= 80%.
  - sa_permits_month / sa_permits_week: rows per month / per Monday-starting week.
  - sa_p90_days, sa_p90_days_month: percentile 0.9 of days_between(submitted, issued)
    (whole days; negative for the 181 rows issued before submission), overall / per month.
  - sa_stddev_days_month: sample standard deviation of days_between per month.
  - sa_permits_by_district: rows per CD text ("1", "0, 9", ...; empty CD is the null group).
  - sa_distinct_permit_numbers: distinct PERMIT #.
  - sa_new_valuation_month: sum of DECLARED VALUATION over WORK TYPE == 'New' per month
    (empty valuations left out).
  - sa_issued_before_submitted: rows with issued < submitted.
  - sa_non_ascii_project_names: rows whose PROJECT NAME is one of four names with
    windows-1252 characters (’ = 0x92, í, á), as decoded with cp1252.
"""
import csv
import datetime as dt
import glob
import json
import math
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
FIXTURE = os.path.join(REPO, "tests", "fixtures", "real")
OUT_PATH = os.path.join(FIXTURE, "expected.json")
DATA = os.environ.get("YARDSTICK_SHARED_DATA") or os.path.normpath(os.path.join(REPO, "..", "shared", "data"))

B311_GLOB = os.path.join(DATA, "baltimore_311", "2015_extract_by_request_type", "**", "*.csv")
AE_PATH = os.path.join(DATA, "nhs_ae_monthly", "ae_attendances_2016-04_to_2019-03.csv")
SA_PATH = os.path.join(DATA, "san_antonio_building_permits", "permits_issued_2023_snapshot_2023-03-13.csv")

# Must equal calendar.holidays in tests/fixtures/real/yardstick.yaml (checked in main()).
HOLIDAYS = {
    dt.date.fromisoformat(d)
    for d in [
        "2021-02-15", "2021-05-31", "2021-06-18", "2021-07-05", "2021-09-06", "2021-10-11",
        "2021-11-11", "2021-11-25", "2021-12-24", "2021-12-31", "2022-01-17", "2022-02-21",
        "2022-05-30", "2022-06-20", "2022-07-04", "2022-09-05", "2022-10-10", "2022-11-11",
        "2022-11-24", "2022-12-25", "2022-12-26", "2023-01-01", "2023-01-02", "2023-01-16",
        "2023-02-20",
    ]
}

TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


# --------------------------------------------------------------------------- helpers


def month(d):
    return dt.date(d.year, d.month, 1)


def quarter(d):
    return dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def year(d):
    return dt.date(d.year, 1, 1)


def week(d):
    d = d.date() if isinstance(d, dt.datetime) else d
    return d - dt.timedelta(days=d.weekday())  # Monday weeks


def business_days_between(start, end):
    """Days d with start < d <= end that are Mon-Fri and not holidays; mirrored if end < start."""
    if end < start:
        return -business_days_between(end, start)
    n = 0
    d = start + dt.timedelta(days=1)
    while d <= end:
        if d.weekday() < 5 and d not in HOLIDAYS:
            n += 1
        d += dt.timedelta(days=1)
    return n


def percentile_interpolated(xs, p):
    xs = list(xs)
    if not xs:
        return None
    if len(xs) == 1:
        return float(xs[0])
    if p == 0.5:
        return float(statistics.median(xs))
    assert p == 0.9
    # statistics.quantiles(n=10, inclusive) returns the 10th..90th percentiles (type 7).
    return float(statistics.quantiles(xs, n=10, method="inclusive")[8])


def percentile_nearest_90(xs):
    xs = sorted(xs)
    if not xs:
        return None
    rank = (9 * len(xs) + 9) // 10  # ceil(0.9 * n), exactly
    return float(xs[max(rank, 1) - 1])


def stdev(xs):
    xs = list(xs)
    return float(statistics.stdev(xs)) if len(xs) >= 2 else None


def round12(v):
    return float(f"{v:.11e}")


def status(value, target):
    if value is None:
        return "no_data"
    if target is None:
        return "no_target"
    op, limit = target
    v = round12(value)
    ok = {">=": v >= limit, "<=": v <= limit, ">": v > limit, "<": v < limit}[op]
    return "on_track" if ok else "off_track"


def sort_key(key):
    """(period, groups...) -> sortable, nulls last."""
    return tuple((x is None, x if x is not None else "") for x in key)


def rows_of(values, by=(), target=None, grained=True):
    """values: {(period, *groups): value} -> list of result rows in results.json order."""
    out = []
    for key in sorted(values, key=sort_key):
        period = key[0] if grained else None
        row = {"period": period.isoformat() if period is not None else None}
        for name, g in zip(by, key[1:]):
            row[name] = g
        v = values[key]
        row["value"] = None if v is None else float(v)
        row["status"] = status(v, target)
        out.append(row)
    return out


def group(rows, key, keep=lambda r: True):
    out = {}
    for r in rows:
        if keep(r):
            out.setdefault(key(r), []).append(r)
    return out


# --------------------------------------------------------------------------- loading


def load_baltimore():
    files = sorted(glob.glob(B311_GLOB, recursive=True))
    rows = []

    def ts(v):
        return None if v == "NA" or v == "" else dt.datetime.strptime(v, TS_FORMAT)

    def text(v):
        return None if v == "NA" or v.strip() == "" else v

    for f in files:
        with open(f, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                rows.append(
                    {
                        "file": f,
                        "servicerequestnum": text(r["servicerequestnum"]),
                        "code": text(r["code"]),
                        "status": text(r["status"]),
                        "createddate": ts(r["createddate"]),
                        "duedate": ts(r["duedate"]),
                        "statusdate": ts(r["statusdate"]),
                    }
                )
    return files, rows


def load_ae():
    rows = []
    with open(AE_PATH, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            rows.append(
                {
                    "period": dt.date.fromisoformat(r["period"]),
                    "org_code": r["org_code"],
                    "type": r["type"],
                    "attendances": int(r["attendances"]),
                    "breaches": int(r["breaches"]),
                    "admissions": int(r["admissions"]),
                }
            )
    return rows


def load_sa():
    rows = []
    with open(SA_PATH, newline="", encoding="cp1252") as fh:
        for r in csv.DictReader(fh):
            sub = dt.date.fromisoformat(r["DATE SUBMITTED"])
            iss = dt.date.fromisoformat(r["DATE ISSUED"])
            val = r["DECLARED VALUATION"].strip()
            rows.append(
                {
                    "permit_type": r["PERMIT TYPE"] or None,
                    "permit_no": r["PERMIT #"] or None,
                    "project_name": r["PROJECT NAME"] or None,
                    "work_type": r["WORK TYPE"] or None,
                    "submitted": sub,
                    "issued": iss,
                    "valuation": int(val) if val else None,
                    "cd": r["CD"] if r["CD"].strip() else None,
                    "days": float((iss - sub).days),
                    "bd": business_days_between(sub, iss),
                }
            )
    return rows


# --------------------------------------------------------------------------- KPIs


def baltimore_kpis(rows):
    k = {}
    closed = [r for r in rows if r["status"] == "CLOSED"]

    def on_time(r):
        return r["duedate"] is not None and r["statusdate"] <= r["duedate"]

    g = group(rows, lambda r: (month(r["createddate"]), r["code"]))
    k["b311_requests_by_code_month"] = rows_of({key: len(v) for key, v in g.items()}, by=["code"])

    g = group(closed, lambda r: (None, r["code"]))
    k["b311_closed_by_due_by_code"] = rows_of(
        {key: sum(map(on_time, v)) / len(v) for key, v in g.items()}, by=["code"], target=(">=", 0.8), grained=False
    )

    k["b311_closed_by_due_overall"] = rows_of(
        {(None,): sum(map(on_time, closed)) / len(closed)}, target=(">=", 0.8), grained=False
    )

    g = group(closed, lambda r: (month(r["createddate"]),))
    k["b311_closed_by_due_month"] = rows_of({key: sum(map(on_time, v)) / len(v) for key, v in g.items()}, target=(">=", 0.8))

    g = group(rows, lambda r: (quarter(r["createddate"]),))
    vals = {}
    for key, v in g.items():
        den = [r for r in v if r["status"] == "CLOSED"]
        vals[key] = sum(map(on_time, den)) / len(den) if den else None
    k["b311_closed_by_due_quarter_filtered"] = rows_of(vals, target=(">=", 0.8))

    g = group(rows, lambda r: (month(r["createddate"]),))
    k["b311_distinct_requests_month"] = rows_of(
        {key: len({r["servicerequestnum"] for r in v if r["servicerequestnum"] is not None}) for key, v in g.items()}
    )
    k["b311_duplicate_share_month"] = rows_of(
        {key: sum(r["status"] in ("DUPCLOSD", "DUPOPEN") for r in v) / len(v) for key, v in g.items()}
    )

    g = group(closed, lambda r: (month(r["statusdate"]),))
    k["b311_closed_per_month_by_status_date"] = rows_of({key: len(v) for key, v in g.items()})

    g = group(closed, lambda r: (None, r["code"]))
    k["b311_median_days_to_status_by_code"] = rows_of(
        {
            key: percentile_interpolated([(r["statusdate"] - r["createddate"]).total_seconds() / 86400 for r in v], 0.5)
            for key, v in g.items()
        },
        by=["code"],
        grained=False,
    )

    g = group(closed, lambda r: (quarter(r["createddate"]),), keep=lambda r: r["code"] == "POTHOLES")
    k["b311_potholes_p90_hours_quarter"] = rows_of(
        {
            key: percentile_interpolated([(r["statusdate"] - r["createddate"]).total_seconds() / 3600 for r in v], 0.9)
            for key, v in g.items()
        },
        target=("<=", 72.0),
    )

    g = group(rows, lambda r: (None, r["code"]))
    vals = {}
    for key, v in g.items():
        num = sum(r["status"] is not None and r["status"] != "CLOSED" for r in v)
        den = sum(r["status"] == "CLOSED" for r in v)
        vals[key] = num / den if den else None
    k["b311_not_closed_ratio_by_code"] = rows_of(vals, by=["code"], grained=False)

    k["b311_files_read"] = rows_of({(None,): len({r["file"] for r in rows})}, grained=False)
    return k


def ae_kpis(rows):
    k = {}

    def four_hour(v):
        return 1 - sum(r["breaches"] for r in v) / sum(r["attendances"] for r in v)

    g = group(rows, lambda r: (month(r["period"]),))
    k["ae_four_hour_all_month"] = rows_of({key: four_hour(v) for key, v in g.items()}, target=(">=", 0.95))
    k["ae_attendances_month"] = rows_of({key: sum(r["attendances"] for r in v) for key, v in g.items()})
    k["ae_providers_month"] = rows_of({key: len({r["org_code"] for r in v}) for key, v in g.items()})

    g = group(rows, lambda r: (month(r["period"]),), keep=lambda r: r["type"] == "1")
    k["ae_four_hour_type1_month"] = rows_of({key: four_hour(v) for key, v in g.items()}, target=(">=", 0.95))

    g = group(rows, lambda r: (quarter(r["period"]), r["type"]))
    k["ae_four_hour_by_type_quarter"] = rows_of({key: four_hour(v) for key, v in g.items()}, by=["type"], target=(">=", 0.95))

    g = group(rows, lambda r: (year(r["period"]),))
    vals = {}
    for key, v in g.items():
        t1 = [r for r in v if r["type"] == "1"]
        att = sum(r["attendances"] for r in t1)
        vals[key] = sum(r["admissions"] for r in t1) / att if att else None
    k["ae_type1_conversion_year"] = rows_of(vals)

    g = group(rows, lambda r: (year(r["period"]),), keep=lambda r: r["type"] == "1")
    k["ae_median_provider_breach_share_year"] = rows_of(
        {key: percentile_interpolated([r["breaches"] / r["attendances"] for r in v], 0.5) for key, v in g.items()}
    )

    g = group(rows, lambda r: (None, r["type"]))
    k["ae_breaches_stddev_by_type"] = rows_of(
        {key: stdev(r["breaches"] for r in v) for key, v in g.items()}, by=["type"], grained=False
    )
    return k


def sa_kpis(rows):
    k = {}
    g = group(rows, lambda r: (month(r["issued"]),))
    k["sa_median_business_days_month"] = rows_of(
        {key: percentile_interpolated([r["bd"] for r in v], 0.5) for key, v in g.items()}, target=("<=", 5.0)
    )
    k["sa_within_10_business_days_month"] = rows_of(
        {key: sum(r["bd"] <= 10 for r in v) / len(v) for key, v in g.items()}, target=(">=", 0.8)
    )
    k["sa_permits_month"] = rows_of({key: len(v) for key, v in g.items()})
    k["sa_total_business_days_month"] = rows_of({key: sum(r["bd"] for r in v) for key, v in g.items()})
    k["sa_p90_days_month"] = rows_of({key: percentile_interpolated([r["days"] for r in v], 0.9) for key, v in g.items()})
    k["sa_stddev_days_month"] = rows_of({key: stdev(r["days"] for r in v) for key, v in g.items()})
    vals = {}
    for key, v in g.items():
        new = [r for r in v if r["work_type"] == "New"]
        if new:
            vs = [r["valuation"] for r in new if r["valuation"] is not None]
            vals[key] = sum(vs) if vs else None
    k["sa_new_valuation_month"] = rows_of(vals)

    g = group(rows, lambda r: (month(r["issued"]),), keep=lambda r: r["submitted"] < r["issued"])
    k["sa_median_business_days_not_same_day_month"] = rows_of(
        {key: percentile_interpolated([r["bd"] for r in v], 0.5) for key, v in g.items()}
    )

    g = group(rows, lambda r: (week(r["issued"]),))
    k["sa_permits_week"] = rows_of({key: len(v) for key, v in g.items()})

    g = group(rows, lambda r: (None, r["permit_type"]))
    k["sa_median_business_days_by_type"] = rows_of(
        {key: percentile_interpolated([r["bd"] for r in v], 0.5) for key, v in g.items()}, by=["permit_type"], grained=False
    )
    k["sa_p90_business_days_nearest_by_type"] = rows_of(
        {key: percentile_nearest_90([r["bd"] for r in v]) for key, v in g.items()}, by=["permit_type"], grained=False
    )

    k["sa_p90_days"] = rows_of({(None,): percentile_interpolated([r["days"] for r in rows], 0.9)}, grained=False)

    g = group(rows, lambda r: (None, r["cd"]))
    k["sa_permits_by_district"] = rows_of({key: len(v) for key, v in g.items()}, by=["council_district"], grained=False)

    k["sa_distinct_permit_numbers"] = rows_of(
        {(None,): len({r["permit_no"] for r in rows if r["permit_no"] is not None})}, grained=False
    )
    k["sa_issued_before_submitted"] = rows_of({(None,): sum(r["issued"] < r["submitted"] for r in rows)}, grained=False)
    names = {"Jaime\u2019s Enrique ll &wilkerson", "22841 r\u00edo salado", "Carlos Guzm\u00e1n casa", "Elmer\u2019s Remodel"}
    k["sa_non_ascii_project_names"] = rows_of({(None,): sum(r["project_name"] in names for r in rows)}, grained=False)
    return k


# --------------------------------------------------------------------------- DuckDB cross-checks


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)


def assert_rows(name, rows, sql_rows):
    """sql_rows: list of (period or None, *groups, value), any order."""
    want = {}
    for r in rows:
        key = (r["period"],) + tuple(v for k, v in r.items() if k not in ("period", "value", "status"))
        want[key] = r["value"]
    got = {}
    for t in sql_rows:
        p = t[0].isoformat() if t[0] is not None else None
        got[(p,) + tuple(t[1:-1])] = None if t[-1] is None else float(t[-1])
    assert set(want) == set(got), f"{name}: keys differ: {sorted(set(want) ^ set(got), key=str)[:5]}"
    for key in want:
        assert close(want[key], got[key]), f"{name} {key}: python {want[key]} != duckdb {got[key]}"


def duckdb_cross_checks(kpis, sa_rows):
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"""CREATE TABLE b AS SELECT code, status, servicerequestnum,
                strptime(createddate, '{TS_FORMAT}') AS createddate,
                strptime(duedate, '{TS_FORMAT}') AS duedate,
                strptime(statusdate, '{TS_FORMAT}') AS statusdate, filename
            FROM read_csv('{B311_GLOB}', union_by_name = true, nullstr = 'NA', all_varchar = true,
                          filename = true, header = true)"""
    )
    assert con.execute("SELECT count(*), count(DISTINCT filename) FROM b").fetchone() == (62521, 47)
    q = lambda sql: con.execute(sql).fetchall()
    assert_rows("b311_requests_by_code_month", kpis["b311_requests_by_code_month"]["rows"],
                q("SELECT date_trunc('month', createddate)::DATE, code, count(*) FROM b GROUP BY ALL"))
    assert_rows("b311_closed_by_due_by_code", kpis["b311_closed_by_due_by_code"]["rows"],
                q("SELECT NULL, code, count(*) FILTER (WHERE statusdate <= duedate) / count(*) FROM b "
                  "WHERE status = 'CLOSED' GROUP BY code"))
    assert_rows("b311_closed_by_due_quarter_filtered", kpis["b311_closed_by_due_quarter_filtered"]["rows"],
                q("SELECT date_trunc('quarter', createddate)::DATE, count(*) FILTER (WHERE status = 'CLOSED' AND "
                  "statusdate <= duedate) / nullif(count(*) FILTER (WHERE status = 'CLOSED'), 0) FROM b GROUP BY ALL"))
    assert_rows("b311_distinct_requests_month", kpis["b311_distinct_requests_month"]["rows"],
                q("SELECT date_trunc('month', createddate)::DATE, count(DISTINCT servicerequestnum) FROM b GROUP BY ALL"))
    assert_rows("b311_closed_per_month_by_status_date", kpis["b311_closed_per_month_by_status_date"]["rows"],
                q("SELECT date_trunc('month', statusdate)::DATE, count(*) FROM b WHERE status = 'CLOSED' GROUP BY ALL"))
    assert_rows("b311_median_days_to_status_by_code", kpis["b311_median_days_to_status_by_code"]["rows"],
                q("SELECT NULL, code, quantile_cont((epoch(statusdate) - epoch(createddate)) / 86400, 0.5) FROM b "
                  "WHERE status = 'CLOSED' GROUP BY code"))
    assert_rows("b311_potholes_p90_hours_quarter", kpis["b311_potholes_p90_hours_quarter"]["rows"],
                q("SELECT date_trunc('quarter', createddate)::DATE, quantile_cont((epoch(statusdate) - "
                  "epoch(createddate)) / 3600, 0.9) FROM b WHERE status = 'CLOSED' AND code = 'POTHOLES' GROUP BY ALL"))
    assert_rows("b311_not_closed_ratio_by_code", kpis["b311_not_closed_ratio_by_code"]["rows"],
                q("SELECT NULL, code, count(*) FILTER (WHERE status != 'CLOSED') / "
                  "nullif(count(*) FILTER (WHERE status = 'CLOSED'), 0) FROM b GROUP BY code"))

    con.execute(f"CREATE TABLE ae AS SELECT * FROM read_csv('{AE_PATH}', header = true, "
                "columns = {'period': 'DATE', 'org_code': 'VARCHAR', 'type': 'VARCHAR', 'attendances': 'BIGINT', "
                "'breaches': 'BIGINT', 'admissions': 'BIGINT'})")
    assert_rows("ae_four_hour_by_type_quarter", kpis["ae_four_hour_by_type_quarter"]["rows"],
                q("SELECT date_trunc('quarter', period)::DATE, type, 1 - sum(breaches) / sum(attendances) "
                  "FROM ae GROUP BY ALL"))
    assert_rows("ae_four_hour_type1_month", kpis["ae_four_hour_type1_month"]["rows"],
                q("SELECT period, 1 - sum(breaches) / sum(attendances) FROM ae WHERE type = '1' GROUP BY ALL"))
    assert_rows("ae_median_provider_breach_share_year", kpis["ae_median_provider_breach_share_year"]["rows"],
                q("SELECT date_trunc('year', period)::DATE, median(breaches / attendances) FROM ae "
                  "WHERE type = '1' GROUP BY ALL"))
    assert_rows("ae_breaches_stddev_by_type", kpis["ae_breaches_stddev_by_type"]["rows"],
                q("SELECT NULL, type, stddev_samp(breaches) FROM ae GROUP BY type"))

    # DuckDB has no windows-1252 reader: re-encode the file to a temporary UTF-8 copy (never
    # in the repo) and let DuckDB parse it; business days via generate_series + a holiday table.
    with tempfile.TemporaryDirectory() as tmp:
        utf8 = os.path.join(tmp, "permits.csv")
        with open(SA_PATH, encoding="cp1252", newline="") as src, open(utf8, "w", encoding="utf-8", newline="") as dst:
            dst.write(src.read())
        con.execute(f"""CREATE TABLE sa AS SELECT "PERMIT TYPE" AS permit_type, "PERMIT #" AS permit_no,
                "DATE SUBMITTED"::DATE AS submitted, "DATE ISSUED"::DATE AS issued, "CD" AS cd
            FROM read_csv('{utf8}', header = true, all_varchar = true)""")
    con.execute("CREATE TABLE hol(d DATE)")
    con.executemany("INSERT INTO hol VALUES (?)", [[h] for h in sorted(HOLIDAYS)])
    con.execute("""CREATE TABLE sa_bd AS SELECT sa.rowid AS id, sa.*,
            sign(issued - submitted) * (SELECT count(*) FROM generate_series(least(submitted, issued) + 1,
                greatest(submitted, issued), INTERVAL 1 DAY) g(d)
              WHERE isodow(d) <= 5 AND d::DATE NOT IN (SELECT d FROM hol)) AS bd
        FROM sa""")
    py_bd = [r["bd"] for r in sa_rows]
    db_bd = [r[0] for r in con.execute("SELECT bd FROM sa_bd ORDER BY id").fetchall()]
    assert py_bd == db_bd, "business days: Python loop and DuckDB generate_series differ"
    assert_rows("sa_median_business_days_by_type", kpis["sa_median_business_days_by_type"]["rows"],
                q("SELECT NULL, permit_type, quantile_cont(bd, 0.5) FROM sa_bd GROUP BY ALL"))
    assert_rows("sa_total_business_days_month", kpis["sa_total_business_days_month"]["rows"],
                q("SELECT date_trunc('month', issued)::DATE, sum(bd) FROM sa_bd GROUP BY ALL"))
    assert_rows("sa_within_10_business_days_month", kpis["sa_within_10_business_days_month"]["rows"],
                q("SELECT date_trunc('month', issued)::DATE, count(*) FILTER (WHERE bd <= 10) / count(*) "
                  "FROM sa_bd GROUP BY ALL"))
    assert_rows("sa_p90_days_month", kpis["sa_p90_days_month"]["rows"],
                q("SELECT date_trunc('month', issued)::DATE, quantile_cont(issued - submitted, 0.9) FROM sa GROUP BY ALL"))
    assert_rows("sa_stddev_days_month", kpis["sa_stddev_days_month"]["rows"],
                q("SELECT date_trunc('month', issued)::DATE, stddev_samp(issued - submitted) FROM sa GROUP BY ALL"))
    assert_rows("sa_permits_week", kpis["sa_permits_week"]["rows"],
                q("SELECT date_trunc('week', issued)::DATE, count(*) FROM sa GROUP BY ALL"))
    assert_rows("sa_permits_by_district", kpis["sa_permits_by_district"]["rows"],
                q("SELECT NULL, nullif(trim(cd), ''), count(*) FROM sa GROUP BY ALL"))
    # Nearest rank: DuckDB's quantile_disc picks a different rank, so check the index rule
    # against a window over the sorted values instead.
    assert_rows("sa_p90_business_days_nearest_by_type", kpis["sa_p90_business_days_nearest_by_type"]["rows"],
                q("""SELECT NULL, permit_type, min(bd) FILTER (WHERE rn >= ceil(0.9 * n)) FROM (
                       SELECT permit_type, bd, row_number() OVER (PARTITION BY permit_type ORDER BY bd) AS rn,
                              count(*) OVER (PARTITION BY permit_type) AS n FROM sa_bd) GROUP BY permit_type"""))
    return duckdb.__version__


# --------------------------------------------------------------------------- main


def kpi_definitions():
    """KPI id -> (file, grain or None), read from the fixture's .kpi files."""
    import re

    out = {}
    for path in sorted(glob.glob(os.path.join(FIXTURE, "metrics", "*.kpi"))):
        text = open(path, encoding="utf-8").read()
        starts = [(m.start(), m.group(1)) for m in re.finditer(r"\bkpi (\w+)", text)]
        for i, (start, name) in enumerate(starts):
            block = text[start : starts[i + 1][0] if i + 1 < len(starts) else len(text)]
            grain = re.search(r"\bgrain (\w+)", block)
            out[name] = (os.path.relpath(path, FIXTURE), grain.group(1) if grain else None)
    return out


def next_period(d, grain):
    if grain == "week":
        return d + dt.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    m = d.month - 1 + months
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


def empty_cells(rows, grain):
    """Cells of the grid (every period from the first to the last) x (every group seen)
    that have no row. docs/language.md says such periods do not appear; src/series.rs
    fills them with null values (status no_data). The test accepts exactly one of the two
    row counts."""
    if grain is None or not rows:
        return 0
    groups = {tuple((k, v) for k, v in r.items() if k not in ("period", "value", "status")) for r in rows}
    present = {(r["period"], tuple((k, v) for k, v in r.items() if k not in ("period", "value", "status"))) for r in rows}
    periods = sorted({dt.date.fromisoformat(r["period"]) for r in rows})
    p, n = periods[0], 0
    while p <= periods[-1]:
        n += sum((p.isoformat(), g) not in present for g in groups)
        p = next_period(p, grain)
    return n


def check_holidays_match_yaml():
    text = open(os.path.join(FIXTURE, "yardstick.yaml"), encoding="utf-8").read()
    import re

    block = text.split("holidays:", 1)[1].split("sources:", 1)[0]
    listed = {dt.date.fromisoformat(d) for d in re.findall(r'"(\d{4}-\d{2}-\d{2})"', block)}
    assert listed == HOLIDAYS, f"holidays differ from yardstick.yaml: {sorted(listed ^ HOLIDAYS)}"


def main():
    check_holidays_match_yaml()
    b_files, b_rows = load_baltimore()
    ae_rows = load_ae()
    sa_rows = load_sa()
    assert len(b_files) == 47 and len(b_rows) == 62521, (len(b_files), len(b_rows))
    assert len(ae_rows) == 12765 and len(sa_rows) == 16287

    kpis = {}
    for name, rows in {**baltimore_kpis(b_rows), **ae_kpis(ae_rows), **sa_kpis(sa_rows)}.items():
        kpis[name] = {"rows": rows}
    defined = kpi_definitions()
    assert set(defined) == set(kpis), f"KPIs in .kpi files vs oracle: {sorted(set(defined) ^ set(kpis))}"
    def by_of(rows):
        return [k for k in rows[0] if k not in ("period", "value", "status")]

    kpis = {
        name: {
            "defined_in": defined[name][0],
            "grain": defined[name][1],
            "by": by_of(kpis[name]["rows"]),
            "empty_cells": empty_cells(kpis[name]["rows"], defined[name][1]),
            **kpis[name],
        }
        for name in defined
    }

    try:
        version = duckdb_cross_checks(kpis, sa_rows)
        note = f"cross-checked with duckdb {version}"
    except ImportError:
        note = "duckdb not installed: cross-checks skipped"

    out = {
        "sources": {
            "baltimore_311": {"rows_read": len(b_rows), "files": len(b_files)},
            "nhs_ae": {"rows_read": len(ae_rows), "files": 1},
            "sa_permits": {"rows_read": len(sa_rows), "files": 1},
        },
        "kpis": kpis,
    }
    for v in kpis.values():
        for r in v["rows"]:
            if r["value"] is not None and not math.isfinite(r["value"]):
                raise ValueError(r)
    with open(OUT_PATH, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False, allow_nan=False)
        f.write("\n")
    n = sum(len(v["rows"]) for v in kpis.values())
    print(f"wrote {len(kpis)} KPIs, {n} rows to {OUT_PATH} ({note})", file=sys.stderr)


if __name__ == "__main__":
    main()
