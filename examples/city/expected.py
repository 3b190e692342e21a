#!/usr/bin/env python3
"""Independently compute the expected KPI values for the `city` example.

Reads the CSV files in ``data/`` (next to this script) with the csv module
only -- it deliberately does NOT import generate.py -- and prints a JSON
object (sorted keys, floats as full repr) with the values the yardstick KPIs
of the example project must produce.  Save the output as expected.json:

    python3 examples/city/expected.py > examples/city/expected.json

Definitions (these mirror the yardstick KPIs in the example):

calls_per_month
    Key: month of calls_911.received_at as ``YYYY-MM-01``.
    Value: number of calls (every row has a valid received_at).

answered_10s
    Key: month of received_at.  Population: calls whose answered_at is a
    valid ``%m/%d/%Y %I:%M:%S %p`` timestamp (empty and malformed values such
    as ``N/A`` or ``13/45/2024 99:00:00 PM`` are null and excluded from both
    numerator and denominator).  Value: fraction (0..1) of that population
    with (answered_at - received_at) in seconds <= 10.  Note: delays of
    exactly 10 s occur in the data and count as "within 10 s".

permits_issued_per_quarter
    Key: first day of the calendar quarter of permits.applied_on
    (``YYYY-01-01``, ``YYYY-04-01``, ``YYYY-07-01``, ``YYYY-10-01``).
    Value: number of permits with a non-empty issued_on.

closed_within_sla_by_category
    Key: ``<month of opened_at as YYYY-MM-01>|<category>``.  Also, under
    closed_within_sla_by_category_rows, the closed requests per key (the share's
    denominator); and sla_by_district_category the same share per
    ``<quarter>|<district>|<category>``.
    Population: requests_311 rows with status == "Closed".
    Value: fraction with (closed_at - opened_at) in fractional days
    (seconds / 86400) <= sla_days.  (The generator keeps every duration at
    least 2 minutes away from the SLA boundary, so day-rounding conventions
    cannot change the result.)

answer_seconds_p90
    Key: month of received_at; population as answered_10s.  Value: the 90th
    percentile of (answered_at - received_at) in seconds, interpolated:
    sorted values v, h = 0.9 * (n - 1), v[floor(h)] + (h - floor(h)) *
    (v[floor(h)+1] - v[floor(h)]) (the "linear" method of numpy/DuckDB).

permit_business_days
    Key: month of applied_on; population: permits with issued_on.  Value:
    median of business days from applied_on to issued_on: days d with
    applied_on < d <= issued_on that are Monday-Friday and not one of
    HOLIDAYS (yardstick.yaml); median of an even count = mean of the middle two.

permits_issued_fytd
    Key: month of issued_on.  Value: permits issued from the start of the
    fiscal year (July 1) containing that month through the end of the month.

cost_per_permit
    Key: month.  Value: sum of permit_spend.amount (thousands separators
    removed) in that month / number of permits issued (issued_on) in it.

fee_revenue_per_quarter
    Key: quarter of applied_on (as above).  Value: sum of fee.  The sum is
    computed exactly with Decimal (fees have 2 decimals) and then converted
    to float, so it is the float nearest the exact total; an engine summing
    in f64 may differ in the last bits -- compare with a small tolerance.
"""

import csv
import datetime as dt
import json
import os
import sys
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, "data")

CALL_TS_FMT = "%m/%d/%Y %I:%M:%S %p"
REQ_TS_FMT = "%Y-%m-%d %H:%M:%S"
DATE_FMT = "%Y-%m-%d"


def read(name):
    with open(os.path.join(DATA_DIR, name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def parse_or_none(text, fmt):
    if text is None or text.strip() == "":
        return None
    try:
        return dt.datetime.strptime(text, fmt)
    except ValueError:
        return None


def month_key(ts):
    return "%04d-%02d-01" % (ts.year, ts.month)


def quarter_key(d):
    q_month = (d.month - 1) // 3 * 3 + 1
    return "%04d-%02d-01" % (d.year, q_month)


HOLIDAYS = {dt.date.fromisoformat(d) for d in [
    "2024-01-01", "2024-01-15", "2024-02-19", "2024-05-27", "2024-06-19", "2024-07-04",
    "2024-09-02", "2024-10-14", "2024-11-11", "2024-11-28", "2024-12-25",
    "2025-01-01", "2025-01-20", "2025-02-17", "2025-05-26", "2025-06-19"]}


def business_days(start, end):
    n, d = 0, start
    while d < end:
        d += dt.timedelta(days=1)
        if d.weekday() < 5 and d not in HOLIDAYS:
            n += 1
    return n


def percentile_linear(values, p):
    v = sorted(values)
    h = p * (len(v) - 1)
    lo = int(h)
    if lo + 1 >= len(v):
        return float(v[lo])
    return v[lo] + (h - lo) * (v[lo + 1] - v[lo])


def median(values):
    v = sorted(values)
    n = len(v)
    return float(v[n // 2]) if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def fiscal_year_start(d):
    return dt.date(d.year if d.month >= 7 else d.year - 1, 7, 1)


def main():
    # ---- 911 calls -------------------------------------------------------
    calls_per_month = {}
    ans_num, ans_den = {}, {}
    for row in read("calls_911.csv"):
        received = dt.datetime.strptime(row["received_at"], CALL_TS_FMT)
        k = month_key(received)
        calls_per_month[k] = calls_per_month.get(k, 0) + 1
        answered = parse_or_none(row["answered_at"], CALL_TS_FMT)
        if answered is None:
            continue
        ans_den[k] = ans_den.get(k, 0) + 1
        if (answered - received).total_seconds() <= 10:
            ans_num[k] = ans_num.get(k, 0) + 1
    answered_10s = {k: ans_num.get(k, 0) / ans_den[k] for k in ans_den}
    waits = {}
    for row in read("calls_911.csv"):
        received = dt.datetime.strptime(row["received_at"], CALL_TS_FMT)
        answered = parse_or_none(row["answered_at"], CALL_TS_FMT)
        if answered is not None:
            waits.setdefault(month_key(received), []).append((answered - received).total_seconds())
    answer_p90 = {k: percentile_linear(v, 0.9) for k, v in waits.items()}

    # ---- permits ---------------------------------------------------------
    issued_per_q = {}
    fee_per_q = {}
    for row in read("permits.csv"):
        applied = dt.datetime.strptime(row["applied_on"], DATE_FMT).date()
        k = quarter_key(applied)
        issued_per_q.setdefault(k, 0)
        if row["issued_on"].strip() != "":
            issued_per_q[k] += 1
        fee_per_q[k] = fee_per_q.get(k, Decimal(0)) + Decimal(row["fee"])
    fee_revenue = {k: float(v) for k, v in fee_per_q.items()}
    bdays, issued_month = {}, {}
    for row in read("permits.csv"):
        if row["issued_on"].strip() == "":
            continue
        applied = dt.date.fromisoformat(row["applied_on"])
        issued = dt.date.fromisoformat(row["issued_on"])
        bdays.setdefault(month_key(applied), []).append(business_days(applied, issued))
        k = month_key(issued)
        issued_month[k] = issued_month.get(k, 0) + 1
    permit_bdays = {k: median(v) for k, v in bdays.items()}
    fytd = {}
    for k in issued_month:
        month = dt.date.fromisoformat(k)
        start = fiscal_year_start(month)
        fytd[k] = sum(n for m, n in issued_month.items() if start <= dt.date.fromisoformat(m) <= month)
    spend = {}
    for row in read("permit_spend.csv"):
        spend[row["month"]] = spend.get(row["month"], Decimal(0)) + Decimal(row["amount"].replace(",", ""))
    cost_per_permit = {k: float(v) / issued_month[k] for k, v in spend.items() if issued_month.get(k)}

    # ---- 311 requests ----------------------------------------------------
    # The same share per quarter, district and category (two `by` columns) under keys
    # ``<quarter>|<district>|<category>``.
    sla_num, sla_den, q_num, q_den = {}, {}, {}, {}
    for row in read("requests_311.csv"):
        if row["status"] != "Closed":
            continue
        opened = dt.datetime.strptime(row["opened_at"], REQ_TS_FMT)
        closed = dt.datetime.strptime(row["closed_at"], REQ_TS_FMT)
        within = (closed - opened).total_seconds() / 86400 <= int(row["sla_days"])
        for num, den, k in [
            (sla_num, sla_den, month_key(opened) + "|" + row["category"]),
            (q_num, q_den, quarter_key(opened.date()) + "|" + row["district"] + "|" + row["category"]),
        ]:
            den[k] = den.get(k, 0) + 1
            if within:
                num[k] = num.get(k, 0) + 1
    closed_within_sla = {k: sla_num.get(k, 0) / sla_den[k] for k in sla_den}
    sla_by_district_category = {k: q_num.get(k, 0) / q_den[k] for k in q_den}
    # Requests per month (by opened_at) against the same month a year earlier:
    # (this - then) / then, only for months whose month a year earlier has requests.
    opened_month = {}
    for row in read("requests_311.csv"):
        k = month_key(dt.datetime.strptime(row["opened_at"], REQ_TS_FMT))
        opened_month[k] = opened_month.get(k, 0) + 1
    requests_vs_last_year = {}
    for k, n in opened_month.items():
        then = opened_month.get(f"{int(k[:4]) - 1:04d}{k[4:]}")
        if then:
            requests_vs_last_year[k] = (n - then) / then

    out = {
        "calls_per_month": calls_per_month,
        "answered_10s": answered_10s,
        "permits_issued_per_quarter": issued_per_q,
        "closed_within_sla_by_category": closed_within_sla,
        # The share's denominator per month and category: results.json's `rows`.
        "closed_within_sla_by_category_rows": sla_den,
        "sla_by_district_category": sla_by_district_category,
        "fee_revenue_per_quarter": fee_revenue,
        "answer_seconds_p90": answer_p90,
        "permit_business_days": permit_bdays,
        "permits_issued_fytd": fytd,
        "cost_per_permit": cost_per_permit,
        "requests_311_vs_last_year": requests_vs_last_year,
    }
    # json uses float.__repr__ (shortest round-tripping repr) for floats
    json.dump(out, sys.stdout, sort_keys=True, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
