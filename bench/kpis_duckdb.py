"""The 50 KPIs of bench/lineitem/metrics/*.kpi, written by hand as DuckDB SQL.

Each KPI is one aggregate expression over the view `lineitem` (the 14 declared columns, cast
to the types declared in bench/lineitem/yardstick.yaml.in: floats as DOUBLE, as yardstick
casts measured values to Float64). Semantics follow docs/language.md:

- period: first day of the month / quarter of l_shipdate (`date_trunc(...)::DATE`);
  KPIs with a grain only count rows with a shipdate (`l_shipdate IS NOT NULL`);
- median(x) = quantile_cont(x, 0.5); percentile(x, p) = quantile_cont(x, p);
  percentile_nearest(x, p) = quantile_disc(x, p);
- share(c) = count(*) FILTER (c) / count(*);  share(c where f) = count(c and f) / count(f);
- ratio(a, b) and `a / b` are null when b is 0 (NULLIF);
- a filter inside a measure (`sum(x where c)`) is an aggregate FILTER.

The marker `{F}` follows every aggregate call and `{F:cond}` one with its own filter. The
per-KPI query turns `{F:cond}` into `FILTER (WHERE cond)` and puts the KPI's `where` in the
query's WHERE; the hand-fused query (one query per (grain, by) combination) puts the KPI's
`where` into every aggregate's FILTER instead.
"""

import re

# (grain, by) combinations, in the order of the .kpi files.
COMBOS = {
    "A": ("month", None),
    "B": ("month", "l_linestatus"),
    "C": ("quarter", "l_returnflag"),
    "D": ("quarter", "l_shipinstruct"),
    "E": (None, "l_shipmode"),
}

# kind: "additive" (counts, sums, averages, shares, ratios, min/max), "percentile"
# (median/percentile/percentile_nearest) or "distinct" (count distinct).
# exact: the value is a count, compared exactly.
NET = "l_extendedprice * (1 - l_discount)"
KPIS = [
    # A: grain month, no by
    dict(id="a_lines", combo="A", kind="additive", exact=True, sql="count(*){F}"),
    dict(id="a_revenue", combo="A", kind="additive", sql="sum(l_extendedprice){F}"),
    dict(id="a_net_revenue", combo="A", kind="additive", sql=f"sum({NET}){{F}}"),
    dict(id="a_avg_discount", combo="A", kind="additive", sql="avg(l_discount){F}"),
    dict(id="a_discounted_share", combo="A", kind="additive",
         sql="count(*){F:l_discount > 0.05} / NULLIF(count(*){F}, 0)"),
    dict(id="a_returned_revenue", combo="A", kind="additive",
         sql="sum(l_extendedprice){F:l_returnflag = 'R'}"),
    dict(id="a_air_revenue_per_line", combo="A", kind="additive",
         sql="sum(l_extendedprice){F:l_shipmode = 'AIR'} / NULLIF(count(*){F:l_shipmode = 'AIR'}, 0)"),
    dict(id="a_max_quantity", combo="A", kind="additive", sql="max(l_quantity){F}"),
    dict(id="a_median_quantity", combo="A", kind="percentile", sql="quantile_cont(l_quantity, 0.5){F}"),
    dict(id="a_orders", combo="A", kind="distinct", exact=True, sql="count(DISTINCT l_orderkey){F}"),
    # B: grain month, by l_linestatus
    dict(id="b_lines", combo="B", kind="additive", exact=True, sql="count(*){F}"),
    dict(id="b_quantity", combo="B", kind="additive", sql="sum(l_quantity){F}"),
    dict(id="b_avg_price", combo="B", kind="additive", sql="avg(l_extendedprice){F}"),
    dict(id="b_late_share", combo="B", kind="additive",
         sql="count(*){F:l_receiptdate > l_commitdate} / NULLIF(count(*){F}, 0)"),
    dict(id="b_avg_transit_days", combo="B", kind="additive",
         sql="avg(date_diff('day', l_shipdate, l_receiptdate)::DOUBLE){F}"),
    dict(id="b_min_price", combo="B", kind="additive", sql="min(l_extendedprice){F}"),
    dict(id="b_truck_lines", combo="B", kind="additive", exact=True, where="l_shipmode = 'TRUCK'",
         sql="count(*){F}"),
    dict(id="b_tax_total", combo="B", kind="additive", sql="sum(l_extendedprice * l_tax){F}"),
    dict(id="b_p90_price", combo="B", kind="percentile", sql="quantile_cont(l_extendedprice, 0.9){F}"),
    dict(id="b_parts", combo="B", kind="distinct", exact=True, sql="count(DISTINCT l_partkey){F}"),
    # C: grain quarter, by l_returnflag
    dict(id="c_lines", combo="C", kind="additive", exact=True, sql="count(*){F}"),
    dict(id="c_revenue", combo="C", kind="additive", sql="sum(l_extendedprice){F}"),
    dict(id="c_avg_quantity", combo="C", kind="additive", sql="avg(l_quantity){F}"),
    dict(id="c_big_share", combo="C", kind="additive",
         sql="count(*){F:l_quantity >= 45} / NULLIF(count(*){F}, 0)"),
    dict(id="c_charge", combo="C", kind="additive", sql=f"sum({NET} * (1 + l_tax)){{F}}"),
    dict(id="c_deep_discount_revenue_share", combo="C", kind="additive",
         sql="sum(l_extendedprice){F:l_discount >= 0.08} / NULLIF(sum(l_extendedprice){F}, 0)"),
    dict(id="c_rail_avg_price", combo="C", kind="additive", where="l_shipmode = 'RAIL'",
         sql="avg(l_extendedprice){F}"),
    dict(id="c_min_discount", combo="C", kind="additive", sql="min(l_discount){F}"),
    dict(id="c_high_tax_lines", combo="C", kind="additive", exact=True,
         sql="count(l_tax){F:l_tax > 0.04}"),
    dict(id="c_p25_quantity_nearest", combo="C", kind="percentile",
         sql="quantile_disc(l_quantity, 0.25){F}"),
    # D: grain quarter, by l_shipinstruct
    dict(id="d_lines", combo="D", kind="additive", exact=True, sql="count(*){F}"),
    dict(id="d_revenue", combo="D", kind="additive", sql="sum(l_extendedprice){F}"),
    dict(id="d_avg_discount", combo="D", kind="additive", sql="avg(l_discount){F}"),
    dict(id="d_mail_ship_share", combo="D", kind="additive",
         sql="count(*){F:l_shipmode IN ('MAIL', 'SHIP')} / NULLIF(count(*){F}, 0)"),
    dict(id="d_air_on_time_share", combo="D", kind="additive",
         sql="count(*){F:l_shipmode = 'AIR' AND l_receiptdate <= l_commitdate}"
             " / NULLIF(count(*){F:l_shipmode = 'AIR'}, 0)"),
    dict(id="d_avg_days_late", combo="D", kind="additive",
         sql="avg(date_diff('day', l_commitdate, l_receiptdate)::DOUBLE){F:l_receiptdate > l_commitdate}"),
    dict(id="d_max_price", combo="D", kind="additive", sql="max(l_extendedprice){F}"),
    dict(id="d_quantity_per_line", combo="D", kind="additive",
         sql="sum(l_quantity){F} / NULLIF(count(*){F}, 0)"),
    dict(id="d_median_price", combo="D", kind="percentile", sql="quantile_cont(l_extendedprice, 0.5){F}"),
    dict(id="d_p95_quantity", combo="D", kind="percentile", sql="quantile_cont(l_quantity, 0.95){F}"),
    # E: no grain, by l_shipmode
    dict(id="e_lines", combo="E", kind="additive", exact=True, sql="count(*){F}"),
    dict(id="e_revenue", combo="E", kind="additive", sql="sum(l_extendedprice){F}"),
    dict(id="e_avg_price", combo="E", kind="additive", sql="avg(l_extendedprice){F}"),
    dict(id="e_returned_share", combo="E", kind="additive",
         sql="count(*){F:l_returnflag = 'R'} / NULLIF(count(*){F}, 0)"),
    dict(id="e_net_per_line", combo="E", kind="additive", sql=f"sum({NET}){{F}} / NULLIF(count(*){{F}}, 0)"),
    dict(id="e_open_lines", combo="E", kind="additive", exact=True, where="l_linestatus = 'O'",
         sql="count(*){F}"),
    dict(id="e_min_transit_days", combo="E", kind="additive",
         sql="min(date_diff('day', l_shipdate, l_receiptdate)::DOUBLE){F}"),
    dict(id="e_max_discount_amount", combo="E", kind="additive", sql="max(l_extendedprice * l_discount){F}"),
    dict(id="e_p99_price_nearest", combo="E", kind="percentile",
         sql="quantile_disc(l_extendedprice, 0.99){F}"),
    dict(id="e_suppliers", combo="E", kind="distinct", exact=True, sql="count(DISTINCT l_suppkey){F}"),
]

COLUMNS = {
    "l_orderkey": "BIGINT", "l_partkey": "BIGINT", "l_suppkey": "BIGINT",
    "l_quantity": "DOUBLE", "l_extendedprice": "DOUBLE", "l_discount": "DOUBLE", "l_tax": "DOUBLE",
    "l_returnflag": "VARCHAR", "l_linestatus": "VARCHAR",
    "l_shipdate": "DATE", "l_commitdate": "DATE", "l_receiptdate": "DATE",
    "l_shipinstruct": "VARCHAR", "l_shipmode": "VARCHAR",
}
# Every column of the generated CSV, in file order (read_csv needs them all).
CSV_COLUMNS = [
    ("l_orderkey", "BIGINT"), ("l_partkey", "BIGINT"), ("l_suppkey", "BIGINT"),
    ("l_linenumber", "INTEGER"), ("l_quantity", "DOUBLE"), ("l_extendedprice", "DOUBLE"),
    ("l_discount", "DOUBLE"), ("l_tax", "DOUBLE"), ("l_returnflag", "VARCHAR"),
    ("l_linestatus", "VARCHAR"), ("l_shipdate", "DATE"), ("l_commitdate", "DATE"),
    ("l_receiptdate", "DATE"), ("l_shipinstruct", "VARCHAR"), ("l_shipmode", "VARCHAR"),
    ("l_comment", "VARCHAR"),
]

assert len(KPIS) == 50 and len({k["id"] for k in KPIS}) == 50
assert sum(k["kind"] == "additive" for k in KPIS) == 41
assert sum(k["kind"] == "percentile" for k in KPIS) == 6
assert sum(k["kind"] == "distinct" for k in KPIS) == 3

_MARK = re.compile(r"\{F(?::([^}]*))?\}")


def _sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def scan_sql(path, fmt):
    """The raw scan of the data file."""
    if fmt == "parquet":
        return f"read_parquet({_sql_str(path)})"
    cols = ", ".join(f"{_sql_str(n)}: {_sql_str(t)}" for n, t in CSV_COLUMNS)
    return f"read_csv({_sql_str(path)}, header = true, delim = ',', quote = '\"', columns = {{{cols}}})"


def view_sql(path, fmt):
    """`lineitem`: the 14 declared columns with the declared types."""
    cols = ",\n  ".join(f"CAST({n} AS {t}) AS {n}" for n, t in COLUMNS.items())
    return f"CREATE OR REPLACE VIEW lineitem AS SELECT\n  {cols}\nFROM {scan_sql(path, fmt)}"


def floor_sql(path, fmt):
    """One scan that reads every needed column once and does almost nothing with it."""
    cols = ", ".join(COLUMNS)
    return f"SELECT count(*) AS n, bit_xor(hash({cols})) AS h FROM {scan_sql(path, fmt)}"


def _expand(sql, kpi_where):
    def repl(m):
        conds = [c for c in (kpi_where, m.group(1)) if c]
        if not conds:
            return ""
        return " FILTER (WHERE " + " AND ".join(f"({c})" for c in conds) + ")"
    return _MARK.sub(repl, sql)


def _period(grain):
    return f"CAST(date_trunc('{grain}', l_shipdate) AS DATE)" if grain else "CAST(NULL AS DATE)"


def kpi_query(kpi):
    """One query for one KPI; columns: period, grp, value."""
    grain, by = COMBOS[kpi["combo"]]
    where = []
    if grain:
        where.append("l_shipdate IS NOT NULL")
    if kpi.get("where"):
        where.append(f"({kpi['where']})")
    value = _expand(kpi["sql"], None)
    sel = [f"{_period(grain)} AS period", f"{by} AS grp" if by else "NULL AS grp",
           f"CAST({value} AS DOUBLE) AS value"]
    group = [g for g in (_period(grain) if grain else None, by) if g]
    q = "SELECT " + ", ".join(sel) + " FROM lineitem"
    if where:
        q += " WHERE " + " AND ".join(where)
    if group:
        q += " GROUP BY " + ", ".join(group)
    return q


def fused_queries(kinds=None):
    """One query per (grain, by) combination: {combo: (sql, [kpi ids in column order])}."""
    out = {}
    for combo, (grain, by) in COMBOS.items():
        kpis = [k for k in KPIS if k["combo"] == combo and (kinds is None or k["kind"] in kinds)]
        if not kpis:
            continue
        sel = [f"{_period(grain)} AS period", f"{by} AS grp" if by else "NULL AS grp"]
        for i, k in enumerate(kpis):
            sel.append(f"CAST({_expand(k['sql'], k.get('where'))} AS DOUBLE) AS v{i}")
        q = "SELECT " + ",\n  ".join(sel) + "\nFROM lineitem"
        if grain:
            q += "\nWHERE l_shipdate IS NOT NULL"
        group = [g for g in (_period(grain) if grain else None, by) if g]
        if group:
            q += "\nGROUP BY " + ", ".join(group)
        out[combo] = (q, [k["id"] for k in kpis])
    return out


if __name__ == "__main__":
    for k in KPIS:
        print(f"-- {k['id']}\n{kpi_query(k)};")
    for combo, (q, ids) in fused_queries().items():
        print(f"-- fused {combo}: {', '.join(ids)}\n{q};")


def scale_query(n):
    """The 10/100-KPI projects (bench.py `scale_kpi`) as DuckDB would be asked by hand: one
    query, grain month, one FILTER aggregate (or two, for a ratio) per KPI."""
    cols = []
    for i in range(n):
        t, v = i % 5, i // 5
        cols.append({
            0: f"sum(l_extendedprice) FILTER (WHERE l_quantity > {2 * v + 1})",
            1: f"avg(CASE WHEN l_discount > {0.005 * v:.3f} THEN 1.0 ELSE 0.0 END)",
            2: f"avg(l_extendedprice) FILTER (WHERE l_quantity <= {2 * v + 10})",
            3: f"sum(l_extendedprice) FILTER (WHERE l_tax >= {0.004 * v:.3f}) / count(*)",
            4: f"count(*) FILTER (WHERE l_quantity >= {v + 1})",
        }[t] + f" AS s{i:03d}")
    return f"SELECT {_period('month')} AS period,\n  " + ",\n  ".join(cols) + "\nFROM lineitem GROUP BY 1 ORDER BY 1"


def window_queries():
    """The windows suite (bench/windows/windows.kpi) as an expert writes it in DuckDB: per
    (grain, by) one scan into per-period partial aggregates over a full calendar (yardstick
    shows every period from the first with rows to the last, for every group), then SQL
    window functions over the periods. {shape: (sql, [kpi ids in column order])}; every
    query returns (period, group, value per KPI)."""
    def shape(period, step, by, partials, values):
        grp = f"{by}" if by else "NULL"
        groups = f"(SELECT DISTINCT g FROM p)" if by else "(SELECT NULL AS g)"
        on = " AND p.g = gs.g" if by else ""
        part = ", ".join(f"{e} AS {n}" for n, e in partials)
        cols = ", ".join(n for n, _ in partials)
        return (f"WITH p AS (SELECT {period} AS p, {grp} AS g, {part} FROM lineitem "
                f"WHERE l_shipdate IS NOT NULL GROUP BY ALL),\n"
                f"cal AS (SELECT unnest(generate_series(min(p), max(p), INTERVAL 1 {step}))::DATE AS p FROM p),\n"
                f"j AS (SELECT cal.p, gs.g, {cols} FROM cal CROSS JOIN {groups} gs LEFT JOIN p ON p.p = cal.p{on})\n"
                f"SELECT p, g, " + ", ".join(f"CAST({v} AS DOUBLE)" for v in values) + " FROM j ORDER BY 1, 2")
    ytd = "OVER (PARTITION BY g, year(p) ORDER BY p ROWS UNBOUNDED PRECEDING)"
    day = shape("l_shipdate", "DAY", None,
                [("s", "sum(l_extendedprice)"), ("n", "count(*)"), ("sd", "sum(l_discount)"), ("nd", "count(l_discount)"),
                 ("mx", "max(l_extendedprice)")],
                [f"sum(s) {ytd}", f"sum(n) {ytd}", f"sum(sd) {ytd} / NULLIF(sum(nd) {ytd}, 0)",
                 "max(mx) OVER (PARTITION BY g ORDER BY p ROWS 27 PRECEDING)"])
    w12 = "OVER (PARTITION BY g ORDER BY p ROWS 11 PRECEDING)"
    month = shape("date_trunc('month', l_shipdate)::DATE", "MONTH", "l_shipmode",
                  [("a", "count(*) FILTER (WHERE l_discount > 0.05)"), ("n", "count(*)")],
                  [f"sum(a) {w12} / NULLIF(sum(n) {w12}, 0)"])
    w90 = "OVER (PARTITION BY g ORDER BY p ROWS 89 PRECEDING)"
    flag = shape("l_shipdate", "DAY", "l_returnflag", [("s", "sum(l_extendedprice)"), ("n", "count(*)")],
                 [f"sum(s) {w90} / NULLIF(sum(n) {w90}, 0)"])
    return {
        "day": (day, ["w_ytd_revenue", "w_ytd_lines", "w_ytd_avg_discount", "w_rolling28_max_price"]),
        "month_shipmode": (month, ["w_rolling12_discounted_share"]),
        "day_returnflag": (flag, ["w_rolling90_price_per_line"]),
    }


# Counts, compared exactly.
WINDOW_EXACT = {"w_ytd_lines"}
