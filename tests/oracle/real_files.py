#!/usr/bin/env python3
"""Oracle for tests/real_files.rs: files as they come (issue 15).

Reads the raw public files in ../shared/data (beside the repository; override with
YARDSTICK_SHARED_DATA=/path/to/shared/data) with Python's csv module, computes every KPI of
tests/fixtures/real_files/metrics/files.kpi in plain Python, and writes
tests/fixtures/real_files/expected.json. yardstick is never run; the test reads the
committed JSON.

Usage: python3 tests/oracle/real_files.py

How each file quirk is handled here, independently of yardstick:
* Newcastle spending (12 files, windows-1252): lines 1-2 are a title and a blank row, the
  header is line 3; rows whose fields are all empty are not rows. "Paid Date" is
  dd/mm/yyyy, or in 2019-06.csv an Excel serial day number: date(1899, 12, 30) + serial
  days. The file's month comes from its name (2019-06.csv -> 2019-06-01). Fiscal years
  start in April: the fiscal quarter of month m starts in month 4, 7, 10 or 1.
* NHS provider files (12 files): the month is the file name's "<Month>-<YYYY>" (strptime
  "%B-%Y"). Fields are taken by position (0-based 3: type 1 attendances; 11: type 1 over
  4 hours; 6: total attendances), thousands separators removed. Regions are stripped of
  surrounding spaces.
* Baltimore 311 (47 files under 2015_extract_by_request_type, recursively): "NA" and ""
  are null; outcome / activity / updateddate are absent from some files' headers, and
  null in all their rows. createddate is "%Y-%m-%dT%H:%M:%S.000"; months by its day.

expected.json
-------------
    {"kpis": {"<kpi>": [[period "YYYY-MM-DD", group or null, value], ...]},
     "sources": {"<source>": {"rows_read": n, "blank_lines": n (CSV),
                              "missing_optional": {"<column>": {"files": [path under
                              shared/data], "rows": n}}}}}
Rows are the periods (and groups) that have rows, sorted by period then group.
"""

import csv
import datetime as dt
import glob
import json
import os
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DATA = os.environ.get("YARDSTICK_SHARED_DATA", os.path.join(REPO, "..", "shared", "data"))
OUT = os.path.join(REPO, "tests", "fixtures", "real_files", "expected.json")
EXCEL_EPOCH = dt.date(1899, 12, 30)


def month_start(d):
    return dt.date(d.year, d.month, 1)


def fiscal_quarter_start(d, start_month=4):
    shifted = (d.month - start_month) % 12
    month = (shifted // 3 * 3 + start_month - 1) % 12 + 1
    year = d.year if month <= d.month else d.year - 1
    return dt.date(year, month, 1)


def fiscal_year_start(d, start_month=4):
    return dt.date(d.year if d.month >= start_month else d.year - 1, start_month, 1)


def rows_of(table):
    """{(period, group): value} -> sorted [[period, group, value]]."""
    return [[p.isoformat(), g, v] for (p, g), v in sorted(table.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))]


def rel(path):
    return os.path.relpath(path, DATA).replace(os.sep, "/")


def newcastle(kpis, sources):
    files = sorted(glob.glob(os.path.join(DATA, "newcastle_council_spending", "*.csv")))
    net_q, by_dir, per_file_month, june_days = defaultdict(float), defaultdict(float), defaultdict(int), defaultdict(int)
    rows_read = blank = 0
    for path in files:
        file_month = dt.datetime.strptime(os.path.basename(path)[:-4], "%Y-%m").date()
        with open(path, encoding="cp1252", newline="") as f:
            lines = list(csv.reader(f))
        header = lines[2]
        assert header[3] == "Paid Date" and header[9] == "Total (excludes VAT)", header
        for rec in lines[3:]:
            if all(not x.strip() for x in rec):
                blank += 1
                continue
            rows_read += 1
            text = rec[3].strip()
            paid = EXCEL_EPOCH + dt.timedelta(days=int(text)) if text.isdigit() else dt.datetime.strptime(text, "%d/%m/%Y").date()
            amount = float(rec[9])
            net_q[(fiscal_quarter_start(paid), None)] += amount
            by_dir[(fiscal_year_start(paid), rec[0])] += amount
            per_file_month[(file_month, None)] += 1
            if file_month == dt.date(2019, 6, 1):
                june_days[(paid, None)] += 1
    kpis["ncl_net_per_fiscal_quarter"] = rows_of(net_q)
    kpis["ncl_spend_by_directorate"] = rows_of(by_dir)
    kpis["ncl_lines_per_file_month"] = rows_of(per_file_month)
    kpis["ncl_june_lines_per_day"] = rows_of(june_days)
    sources["newcastle"] = {"rows_read": rows_read, "blank_lines": blank, "missing_optional": {}}


def number(text):
    text = text.strip().replace(",", "")
    assert text.lstrip("-").isdigit(), text
    return int(text)


def nhs(kpis, sources):
    files = sorted(glob.glob(os.path.join(DATA, "nhs_ae_monthly", "provider_level_2025-04_to_2026-03", "*-AE.csv")))
    over, att1, by_region, providers = defaultdict(int), defaultdict(int), defaultdict(int), defaultdict(int)
    rows_read = 0
    for path in files:
        month = dt.datetime.strptime(os.path.basename(path)[: -len("-AE.csv")], "%B-%Y").date()
        with open(path, encoding="utf-8", newline="") as f:
            records = list(csv.reader(f))[1:]
        for rec in records:
            if all(not x.strip() for x in rec):
                continue
            rows_read += 1
            att1[month] += number(rec[3])
            over[month] += number(rec[11])
            by_region[(month, rec[1].strip())] += number(rec[6])
            providers[(month, None)] += 1
    kpis["nhs_type1_over_4h"] = rows_of({(m, None): over[m] / att1[m] for m in att1})
    kpis["nhs_attendances_by_region"] = rows_of(by_region)
    kpis["nhs_providers_per_month"] = rows_of(providers)
    sources["nhs_providers"] = {"rows_read": rows_read, "blank_lines": 0, "missing_optional": {}}


def baltimore(kpis, sources):
    base = os.path.join(DATA, "baltimore_311", "2015_extract_by_request_type")
    files = sorted(glob.glob(os.path.join(base, "**", "*.csv"), recursive=True))
    requests, outcome, updated = defaultdict(int), defaultdict(int), defaultdict(int)
    missing = {c: {"files": [], "rows": 0} for c in ("outcome", "activity", "updateddate")}
    rows_read = 0
    for path in files:
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames
            recs = [r for r in reader if any((v or "").strip() for v in r.values())]
        rows_read += len(recs)
        for col in missing:
            if col not in header:
                missing[col]["files"].append(rel(path))
                missing[col]["rows"] += len(recs)

        def present(r, col):
            v = (r.get(col) or "").strip()
            return v not in ("", "NA")

        for r in recs:
            m = month_start(dt.datetime.strptime(r["createddate"], "%Y-%m-%dT%H:%M:%S.%f").date())
            requests[(m, None)] += 1
            outcome[(m, None)] += present(r, "outcome")
            updated[(m, None)] += present(r, "updateddate")
    kpis["b311_requests"] = rows_of(requests)
    kpis["b311_with_outcome"] = rows_of(outcome)
    kpis["b311_updated"] = rows_of(updated)
    sources["baltimore_311"] = {"rows_read": rows_read, "missing_optional": {c: m for c, m in missing.items() if m["files"]}}


def main():
    if not os.path.isdir(DATA):
        sys.exit(f"no shared data at {DATA}")
    kpis, sources = {}, {}
    newcastle(kpis, sources)
    nhs(kpis, sources)
    baltimore(kpis, sources)
    with open(OUT, "w") as f:
        json.dump({"kpis": kpis, "sources": sources}, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {OUT}: {len(kpis)} KPIs")


if __name__ == "__main__":
    main()
