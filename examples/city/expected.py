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
    Key: ``<month of opened_at as YYYY-MM-01>|<category>``.
    Population: requests_311 rows with status == "Closed".
    Value: fraction with (closed_at - opened_at) in fractional days
    (seconds / 86400) <= sla_days.  (The generator keeps every duration at
    least 2 minutes away from the SLA boundary, so day-rounding conventions
    cannot change the result.)

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

    # ---- 311 requests ----------------------------------------------------
    sla_num, sla_den = {}, {}
    for row in read("requests_311.csv"):
        if row["status"] != "Closed":
            continue
        opened = dt.datetime.strptime(row["opened_at"], REQ_TS_FMT)
        closed = dt.datetime.strptime(row["closed_at"], REQ_TS_FMT)
        k = month_key(opened) + "|" + row["category"]
        days = (closed - opened).total_seconds() / 86400
        sla_den[k] = sla_den.get(k, 0) + 1
        if days <= int(row["sla_days"]):
            sla_num[k] = sla_num.get(k, 0) + 1
    closed_within_sla = {k: sla_num.get(k, 0) / sla_den[k] for k in sla_den}

    out = {
        "calls_per_month": calls_per_month,
        "answered_10s": answered_10s,
        "permits_issued_per_quarter": issued_per_q,
        "closed_within_sla_by_category": closed_within_sla,
        "fee_revenue_per_quarter": fee_revenue,
    }
    # json uses float.__repr__ (shortest round-tripping repr) for floats
    json.dump(out, sys.stdout, sort_keys=True, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
