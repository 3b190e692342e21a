#!/usr/bin/env python3
"""Independent XmR oracle for yardstick's SPC (tests/spc.rs).

Written from the rules as docs/spc.md states them (NHSRplotthedots 0.2.2 defaults), not from
yardstick's code, with the standard library only. It defines the test series, computes each
chart's segments (mean, limits, 2-sigma lines) and every point's type and rule, and prints
JSON. Save the output as tests/fixtures/spc/expected.json:

    python3 tests/oracle/spc.py > tests/fixtures/spc/expected.json

Rules (first that holds labels the point):
  1. outside_limits: value > upper or < lower process limit (mean +- 2.66 x mean moving range)
  2. trend: part of 7+ points in a row each strictly above (below) the one before
  3. two_of_three: in 3 consecutive points all strictly on one side of the mean, at least 2
     are beyond the 2-sigma line (mean +- 2 x 2.66 / 3 x mean moving range); only those are
     flagged. By default a point beyond the process limit does not count; with
     two_of_three = beyond_two_sigma it does.
  4. shift: part of 7+ points in a row strictly on one side of the mean.
Moving ranges of 3.267 x their mean or more are dropped once (screening), and the mean
moving range recomputed; with no moving range left the limits are undefined and rules 1 and
3 never hold. `baseline` N: mean and moving ranges from the first N points of each segment.
A rebase period starts a new segment at that point (none when it is no point or the first).
"""

import json
import math
import random


def mean(xs):
    if all(x == xs[0] for x in xs):
        return xs[0]
    return math.fsum(xs) / len(xs)


def limits(values, baseline, screening):
    fixed = values[:baseline] if baseline else values
    m = mean(fixed)
    mrs = [abs(b - a) for a, b in zip(fixed, fixed[1:])]
    if not mrs:
        return m, None
    amr = mean(mrs)
    if screening:
        mrs = [r for r in mrs if r < 3.267 * amr]
    if not mrs:
        return m, None
    return m, mean(mrs)


def sign(x, m):
    return 1 if x > m else (-1 if x < m else 0)


def label_segment(values, baseline, screening, two_of_three):
    n = len(values)
    m, amr = limits(values, baseline, screening)
    seg = {"mean": m, "mean_moving_range": amr}
    if amr is None:
        seg.update(lpl=None, upl=None, l2=None, u2=None)
    else:
        seg.update(lpl=m - 2.66 * amr, upl=m + 2.66 * amr, l2=m - 2 * (2.66 / 3) * amr, u2=m + 2 * (2.66 / 3) * amr)
    rel = [sign(v, m) for v in values]
    outside = [amr is not None and (v > seg["upl"] or v < seg["lpl"]) for v in values]
    beyond = []
    for v, out in zip(values, outside):
        past = amr is not None and (v > seg["u2"] or v < seg["l2"])
        beyond.append(past and (two_of_three == "beyond_two_sigma" or not out))
    # Trends: every window of 7 strictly monotone points; later windows overwrite.
    trend = [None] * n
    for end in range(6, n):
        w = values[end - 6:end + 1]
        if all(b > a for a, b in zip(w, w[1:])):
            side = "high"
        elif all(b < a for a, b in zip(w, w[1:])):
            side = "low"
        else:
            continue
        for i in range(end - 6, end + 1):
            trend[i] = side
    two = [False] * n
    for s in range(0, n - 2):
        idx = range(s, s + 3)
        if sum(beyond[i] for i in idx) >= 2 and abs(sum(rel[i] for i in idx)) == 3:
            for i in idx:
                two[i] = two[i] or beyond[i]
    shift = [False] * n
    for end in range(6, n):
        w = rel[end - 6:end + 1]
        if w[0] != 0 and all(r == w[0] for r in w):
            for i in range(end - 6, end + 1):
                shift[i] = True
    labels = []
    for i in range(n):
        hl = "high" if rel[i] > 0 else "low"
        if outside[i]:
            labels.append(("outside_limits", hl))
        elif trend[i]:
            labels.append(("trend", trend[i]))
        elif two[i]:
            labels.append(("two_of_three", hl))
        elif shift[i]:
            labels.append(("shift", hl))
        else:
            labels.append((None, None))
    return seg, labels


def point_type(side, direction):
    if side is None:
        return "common_cause"
    if direction is None:
        return "special_cause_neutral_" + side
    good = (direction == "increasing") == (side == "high")
    return "special_cause_improvement" if good else "special_cause_concern"


def chart(case):
    values = case["values"]
    periods = list(range(len(values)))
    starts = [0] + sorted({r for r in case.get("rebase_at", []) if 0 < r < len(values)})
    segments, points = [], []
    for k, s in enumerate(starts):
        e = starts[k + 1] if k + 1 < len(starts) else len(values)
        seg, labels = label_segment(values[s:e], case.get("baseline"), case.get("screening", True), case.get("two_of_three", "between_limits"))
        seg.update(start=s, points=e - s, trial_limits=(e - s) < 13)
        segments.append(seg)
        for (rule, side) in labels:
            points.append({"type": point_type(side, case.get("direction")), "rule": rule, "side": side})
    out = {"segments": segments, "points": points}
    target, direction = case.get("target"), case.get("direction")
    last = segments[-1]
    if target is not None and direction is not None and last["lpl"] is not None:
        if target > last["upl"]:
            out["assurance"] = "consistent_fail" if direction == "increasing" else "consistent_pass"
        elif target < last["lpl"]:
            out["assurance"] = "consistent_pass" if direction == "increasing" else "consistent_fail"
        else:
            out["assurance"] = "inconsistent"
    else:
        out["assurance"] = None
    return out


# R: set.seed(123); rnorm(20) (NHSRplotthedots tests/testthat/test-ptd_spc_standard.R).
RNORM = [-0.560475646552213, -0.23017748948328, 1.55870831414912, 0.070508391424576, 0.129287735160946,
         1.71506498688328, 0.460916205989202, -1.26506123460653, -0.686852851893526, -0.445661970099958,
         1.22408179743946, 0.359813827057364, 0.400771450594052, 0.11068271594512, -0.555841134754075,
         1.78691313680308, 0.497850478229239, -1.96661715662964, 0.701355901563686, -0.472791407727934]
RNORM_15 = RNORM[:14] + [10.0] + RNORM[15:]
# NHSRplotthedots vignettes/deviations.Rmd.
DEVIATIONS = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]
STEADY = [10, 10.5, 9.5] * 4
rng = random.Random(16)
NOISE = [round(50 + rng.gauss(0, 2), 2) for _ in range(30)]

CASES = [
    {"name": "rnorm20_screened", "values": RNORM, "direction": "increasing"},
    {"name": "rnorm20_outlier_screened", "values": RNORM_15, "direction": "increasing"},
    {"name": "rnorm20_outlier_unscreened", "values": RNORM_15, "direction": "increasing", "screening": False},
    {"name": "deviations_screened", "values": DEVIATIONS, "direction": "increasing"},
    {"name": "deviations_unscreened", "values": DEVIATIONS, "direction": "increasing", "screening": False},
    {"name": "rnorm_first_ten", "values": RNORM[:10], "direction": "increasing"},
    {"name": "rnorm_last_ten", "values": RNORM[10:], "direction": "increasing"},
    # test-ptd_spc_standard.R: two points close to the limits on opposite sides.
    {"name": "opposite_sides", "values": [1, -1] * 7 + [5.5, -5.5], "direction": "increasing"},
    {"name": "rising_trend", "values": [50, 51, 49, 50, 52, 49, 50, 51, 52, 53, 54, 55, 56, 57, 56], "direction": "decreasing"},
    {"name": "shift_below", "values": [20, 22, 19, 21, 23, 20, 22, 21, 18, 17.5, 18.2, 17.9, 18.4, 17.7, 18.1, 17.6], "direction": "decreasing"},
    {"name": "two_of_three_high", "values": STEADY + [12.4, 10.5, 12.5, 10], "direction": "increasing"},
    # NHSRplotthedots issue #194: the MDC tools count a point beyond the limit too.
    {"name": "two_of_three_mdc", "values": STEADY + [13.5, 11.9, 10.6, 10], "direction": "increasing", "two_of_three": "beyond_two_sigma"},
    {"name": "two_of_three_default", "values": STEADY + [13.5, 11.9, 10.6, 10], "direction": "increasing"},
    {"name": "constant_screened", "values": [0.1] * 15, "direction": "increasing", "target": 0.09},
    {"name": "constant_unscreened", "values": [0.1] * 15, "direction": "increasing", "screening": False},
    {"name": "single_point", "values": [42.0], "direction": "increasing"},
    {"name": "two_points", "values": [3.0, 5.0]},
    {"name": "rebased_step", "values": [10, 11, 9, 10, 12, 11, 10, 9, 11, 10, 11, 10, 20, 21, 19, 20, 22, 21, 20, 19, 21, 20, 21, 20], "rebase_at": [12], "direction": "increasing", "target": 15},
    {"name": "not_rebased_step", "values": [10, 11, 9, 10, 12, 11, 10, 9, 11, 10, 11, 10, 20, 21, 19, 20, 22, 21, 20, 19, 21, 20, 21, 20], "direction": "increasing", "target": 15},
    {"name": "rebase_at_first_point", "values": RNORM, "rebase_at": [0], "direction": "increasing"},
    {"name": "baseline_12", "values": NOISE[:12] + [v + 6 for v in NOISE[12:24]], "baseline": 12, "direction": "decreasing", "target": 48},
    {"name": "short_group_neutral", "values": [5, 6, 5, 7, 6, 5, 9.5, 6]},
    {"name": "noise_30_target_pass", "values": NOISE, "direction": "increasing", "target": 40},
    {"name": "falling_trend_neutral", "values": [30, 31, 29, 30, 32, 30, 29, 28, 27, 26, 25, 24, 23, 24]},
]

if __name__ == "__main__":
    out = []
    for case in CASES:
        out.append({"case": case, "expected": chart(case)})
    print(json.dumps(out, indent=1, sort_keys=True))
