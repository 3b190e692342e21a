#!/usr/bin/env python3
"""Deterministic synthetic data generator for the `city` example project.

Writes three CSV files into ``data/`` next to this script:

* ``calls_911.csv``      - 911 emergency calls (received / answered / on-scene)
* ``permits.csv``        - building permits (applied / issued, valuation, fee)
* ``requests_311.csv``   - 311 non-emergency service requests

The data covers January 2024 .. June 2025 (18 months) for five districts with
uneven volumes, and contains deliberate "realistic mess" (empty values,
malformed timestamps, pending/open records) so that the yardstick example
exercises null handling and invalid-value coercion.

Only the standard library is used.  Output is byte-identical on every run:
a single ``random.Random`` with a fixed seed drives everything, no wall clock
is consulted, timestamps are formatted by hand (no locale dependence), rows
are written in a fully determined order and lines end with ``\\n``.

Usage (from any working directory)::

    python3 examples/city/generate.py
"""

import csv
import datetime as dt
import os
import random

SEED = 20240101

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, "data")

# Reporting window: Jan 2024 .. Jun 2025 inclusive.  Anything that would
# happen after the extract cutoff (e.g. a permit issued in July 2025) is
# treated as "not yet happened" (pending / open).
START_YEAR, START_MONTH, N_MONTHS = 2024, 1, 18
EXTRACT_CUTOFF = dt.datetime(2025, 7, 1, 0, 0, 0)

# Lists (not sets/dicts iterated for randomness) so order is fixed.
DISTRICTS = ["North", "South", "East", "West", "Central"]
DISTRICT_WEIGHTS = [22, 19, 15, 11, 33]  # uneven volumes; Central busiest

# Per-district offset on the probability of answering a 911 call within 10 s.
DISTRICT_ANSWER_OFFSET = {
    "North": 0.01, "South": -0.02, "East": 0.00, "West": 0.02, "Central": -0.03,
}

CALL_TYPES = ["Medical", "Fire", "Police", "Traffic"]
CALL_TYPE_WEIGHTS = [45, 10, 30, 15]
PRIORITIES = [1, 2, 3]
PRIORITY_WEIGHTS = [25, 45, 30]

PERMIT_TYPES = ["Residential", "Commercial", "Sign", "Demolition"]
PERMIT_TYPE_WEIGHTS = [55, 20, 15, 10]
# (median valuation, log-sigma) per permit type
PERMIT_VALUATION = {
    "Residential": (120000.0, 0.8),
    "Commercial": (650000.0, 0.9),
    "Sign": (4500.0, 0.6),
    "Demolition": (35000.0, 0.7),
}

CATEGORIES = ["Pothole", "Graffiti", "Streetlight", "Missed trash", "Noise"]
CATEGORY_WEIGHTS = [26, 18, 16, 22, 18]
SLA_DAYS = {"Pothole": 5, "Graffiti": 7, "Streetlight": 10, "Missed trash": 2, "Noise": 1}
# base probability that a closed request meets its SLA
SLA_HIT_RATE = {"Pothole": 0.72, "Graffiti": 0.80, "Streetlight": 0.62,
                "Missed trash": 0.86, "Noise": 0.90}
CHANNELS = ["Phone", "App", "Web"]
CHANNEL_WEIGHTS = [45, 35, 20]

# Hour-of-day weights (0..23): quiet at night, busy afternoon/evening.
HOUR_WEIGHTS_911 = [4, 3, 3, 2, 2, 2, 3, 4, 5, 6, 6, 7, 7, 7, 7, 8, 8, 9, 9, 9, 8, 7, 6, 5]
HOUR_WEIGHTS_311 = [1, 1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 9, 9, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1]

MALFORMED_ANSWERED = [
    "N/A",
    "13/45/2024 99:00:00 PM",
    "unknown",
    "00/00/0000 00:00:00 AM",
    "02/30/2024 10:15:00 AM",
    "#VALUE!",
]


def months():
    """Yield (index, first_day) for each month of the window."""
    y, m = START_YEAR, START_MONTH
    for i in range(N_MONTHS):
        yield i, dt.date(y, m, 1)
        m += 1
        if m == 13:
            y, m = y + 1, 1


def days_in_month(first):
    nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return (nxt - first).days


def seasonal(month_idx, first, amplitude):
    """Mild summer peak plus slow growth; returns a multiplier around 1."""
    summer = {6: 1.0, 7: 1.0, 8: 0.8, 5: 0.5, 9: 0.4}.get(first.month, 0.0)
    return 1.0 + amplitude * summer + 0.004 * month_idx


def random_ts(rng, first, hour_weights):
    day = rng.randint(1, days_in_month(first))
    hour = rng.choices(range(24), weights=hour_weights)[0]
    return dt.datetime(first.year, first.month, day, hour,
                       rng.randint(0, 59), rng.randint(0, 59))


def fmt_us12(ts):
    """%m/%d/%Y %I:%M:%S %p, formatted by hand (AM/PM independent of locale)."""
    h12 = ts.hour % 12 or 12
    ampm = "AM" if ts.hour < 12 else "PM"
    return "%02d/%02d/%04d %02d:%02d:%02d %s" % (
        ts.month, ts.day, ts.year, h12, ts.minute, ts.second, ampm)


def fmt_iso(ts):
    """%Y-%m-%d %H:%M:%S"""
    return "%04d-%02d-%02d %02d:%02d:%02d" % (
        ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second)


def fmt_date(d):
    return "%04d-%02d-%02d" % (d.year, d.month, d.day)


def pick(rng, values, weights):
    return rng.choices(values, weights=weights)[0]


def write_csv(name, header, rows):
    path = os.path.join(DATA_DIR, name)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


# --------------------------------------------------------------------------
# 911 calls
# --------------------------------------------------------------------------
def gen_calls(rng):
    raw = []
    for mi, first in months():
        n = int(round(205 * seasonal(mi, first, 0.15) + rng.randint(-12, 12)))
        for _ in range(n):
            received = random_ts(rng, first, HOUR_WEIGHTS_911)
            district = pick(rng, DISTRICTS, DISTRICT_WEIGHTS)
            priority = pick(rng, PRIORITIES, PRIORITY_WEIGHTS)
            call_type = pick(rng, CALL_TYPES, CALL_TYPE_WEIGHTS)
            # P(answered within 10 s): ~0.82 at the start, improving ~0.6 pt
            # per month, adjusted per district.
            p_fast = 0.82 + 0.006 * mi + DISTRICT_ANSWER_OFFSET[district]
            p_fast = min(max(p_fast, 0.78), 0.94)
            if rng.random() < p_fast:
                # skewed toward short delays; 10 s exactly is included (<= 10)
                delay = 2 + int(8.999 * rng.random() ** 1.6)
            else:
                delay = 11 + int(14.999 * rng.random() ** 1.8)
            answered = received + dt.timedelta(seconds=delay)
            on_scene = answered + dt.timedelta(seconds=rng.randint(4 * 60, 20 * 60))

            answered_s = fmt_us12(answered)
            on_scene_s = fmt_us12(on_scene)
            r = rng.random()
            if r < 0.02:                       # abandoned call
                answered_s, on_scene_s = "", ""
            elif r < 0.025:                    # garbage in the answered_at column
                answered_s = rng.choice(MALFORMED_ANSWERED)
            if on_scene_s and rng.random() < 0.012:
                on_scene_s = ""                # unit never logged arrival
                # (together with abandoned calls: ~3% empty on_scene_at)
            if rng.random() < 0.01:
                district = ""                  # district not captured
            raw.append((received, answered_s, on_scene_s, district,
                        priority, call_type))
    # deterministic order: by received time, ties by the generation order
    order = sorted(range(len(raw)), key=lambda i: (raw[i][0], i))
    rows = []
    for seq, i in enumerate(order, start=1):
        received, answered_s, on_scene_s, district, priority, call_type = raw[i]
        rows.append(["C%05d" % seq, fmt_us12(received), answered_s, on_scene_s,
                     district, str(priority), call_type])
    return rows


# --------------------------------------------------------------------------
# Permits
# --------------------------------------------------------------------------
def gen_permits(rng):
    raw = []
    for mi, first in months():
        # construction season: spring/summer busier
        n = int(round(128 * seasonal(mi, first, 0.25) + rng.randint(-10, 10)))
        for _ in range(n):
            applied = first + dt.timedelta(days=rng.randint(0, days_in_month(first) - 1))
            ptype = pick(rng, PERMIT_TYPES, PERMIT_TYPE_WEIGHTS)
            district = pick(rng, DISTRICTS, DISTRICT_WEIGHTS)
            median, sigma = PERMIT_VALUATION[ptype]
            valuation = round(median * rng.lognormvariate(0.0, sigma), 2)
            # fee schedule: base + percentage of valuation, clamped to 50..5000
            base = {"Residential": 75.0, "Commercial": 250.0,
                    "Sign": 50.0, "Demolition": 150.0}[ptype]
            fee = base + 0.0065 * valuation
            fee = round(min(max(fee, 50.0), 5000.0), 2)
            issued = applied + dt.timedelta(days=rng.randint(0, 40))
            issued_s = fmt_date(issued)
            if rng.random() < 0.05 or issued >= EXTRACT_CUTOFF.date():
                issued_s = ""                  # still pending at extract time
            valuation_s = "%.2f" % valuation
            if rng.random() < 0.03:
                valuation_s = ""               # valuation not declared
            raw.append((applied, ptype, district, issued_s, valuation_s, "%.2f" % fee))
    order = sorted(range(len(raw)), key=lambda i: (raw[i][0], i))
    rows = []
    per_year = {}
    for i in order:
        applied, ptype, district, issued_s, valuation_s, fee_s = raw[i]
        per_year[applied.year] = per_year.get(applied.year, 0) + 1
        pid = "BP-%d-%04d" % (applied.year, per_year[applied.year])
        rows.append([pid, ptype, district, fmt_date(applied), issued_s,
                     valuation_s, fee_s])
    return rows


# --------------------------------------------------------------------------
# 311 requests
# --------------------------------------------------------------------------
def gen_requests(rng):
    raw = []
    for mi, first in months():
        n = int(round(262 * seasonal(mi, first, 0.12) + rng.randint(-15, 15)))
        for _ in range(n):
            opened = random_ts(rng, first, HOUR_WEIGHTS_311)
            category = pick(rng, CATEGORIES, CATEGORY_WEIGHTS)
            district = pick(rng, DISTRICTS, DISTRICT_WEIGHTS)
            channel = pick(rng, CHANNELS, CHANNEL_WEIGHTS)
            sla = SLA_DAYS[category]
            sla_s = sla * 86400
            p_hit = min(SLA_HIT_RATE[category] + 0.004 * mi, 0.97)
            if rng.random() < p_hit:
                # within SLA, but never within 2 minutes of the boundary so that
                # integer-vs-fractional day arithmetic cannot flip the result
                dur = rng.randint(max(900, sla_s // 50), sla_s - 120)
            else:
                dur = rng.randint(sla_s + 120, sla_s + int(sla_s * 1.5) + 86400)
            closed = opened + dt.timedelta(seconds=dur)
            status = "Closed"
            if rng.random() < 0.065 or closed >= EXTRACT_CUTOFF:
                status = "Open"
            closed_s = fmt_iso(closed) if status == "Closed" else ""
            if rng.random() < 0.01:
                district = ""
            raw.append((opened, category, district, closed_s, status, sla, channel))
    order = sorted(range(len(raw)), key=lambda i: (raw[i][0], i))
    rows = []
    for seq, i in enumerate(order, start=1):
        opened, category, district, closed_s, status, sla, channel = raw[i]
        rows.append(["SR%06d" % seq, category, district, fmt_iso(opened),
                     closed_s, status, str(sla), channel])
    return rows


def gen_permit_spend(rng):
    """Jan 2024 - Jun 2025: staff and systems cost of the permitting office, in USD,
    as the finance system exports it (amounts with thousands separators)."""
    rows = []
    for i in range(18):
        year, month = 2024 + (i // 12), i % 12 + 1
        staff = 52000 + 900 * i + rng.randint(-1500, 1500)
        systems = 8000 + rng.randint(-500, 500)
        for centre, amount in (("staff", staff), ("systems", systems)):
            rows.append(["%04d-%02d-01" % (year, month), centre, "{:,.2f}".format(amount)])
    return rows


def main():
    os.makedirs(DATA_DIR, exist_ok=True)
    rng = random.Random(SEED)
    # Fixed generation order: each dataset consumes the shared stream in turn.
    calls = gen_calls(rng)
    permits = gen_permits(rng)
    requests = gen_requests(rng)
    outputs = [
        write_csv("calls_911.csv",
                  ["call_id", "received_at", "answered_at", "on_scene_at",
                   "district", "priority", "call_type"], calls),
        write_csv("permits.csv",
                  ["permit_id", "permit_type", "district", "applied_on",
                   "issued_on", "valuation", "fee"], permits),
        write_csv("requests_311.csv",
                  ["request_id", "category", "district", "opened_at",
                   "closed_at", "status", "sla_days", "channel"], requests),
    ]
    # Monthly spend of the permitting office (its own stream: the files above stay as
    # they were before this file existed).
    spend = gen_permit_spend(random.Random(SEED + 1))
    outputs.append(write_csv("permit_spend.csv", ["month", "cost_centre", "amount"], spend))
    for path, rows in zip(outputs, [calls, permits, requests, spend]):
        print("wrote %s (%d rows)" % (os.path.relpath(path), len(rows)))


if __name__ == "__main__":
    main()
