"""A DuckDB peer of the benchmark, run as its own process (timed by bench.py).

  python3 bench/duckdb_peer.py MODE DATA_PATH FORMAT OUT_JSON [--threads 2]

MODE:
  queries          the 50 KPIs as 50 queries (one connection, one after the other)
  fused            one hand-fused query per (grain, by) combination, FILTER aggregates
  fused-additive   the same, with the 41 additive KPIs only
  floor            one scan reading the 14 needed columns (count + xor of a row hash)
  scale-N          the N KPIs of bench.py's 10/100-KPI projects as one fused query
  windows          the windows suite (bench/windows/windows.kpi): per-period partials, then
                   SQL window functions over a full calendar

Writes OUT_JSON: {"mode", "seconds" (time inside DuckDB, after import), "kpis": {id: [[period,
group, value], ...]}} (the floor writes its count and hash instead of KPIs).
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duckdb  # noqa: E402

import kpis_duckdb as K  # noqa: E402


def rows_of(result):
    return [[None if p is None else p.isoformat(), g, v] for p, g, v in result]


def main():
    args = sys.argv[1:]
    threads = 2
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i:i + 2]
    mode, path, fmt, out = args
    t0 = time.perf_counter()
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {threads}")
    con.execute(K.view_sql(path, fmt))
    res = {"mode": mode, "threads": threads}
    if mode == "floor":
        n, h = con.execute(K.floor_sql(path, fmt)).fetchone()
        res["rows"] = n
        res["hash"] = str(h)
    elif mode == "queries":
        kp = {}
        for k in K.KPIS:
            kp[k["id"]] = rows_of(con.execute(K.kpi_query(k)).fetchall())
        res["kpis"] = kp
    elif mode in ("fused", "fused-additive"):
        kinds = {"additive"} if mode == "fused-additive" else None
        kp = {}
        for combo, (q, ids) in K.fused_queries(kinds).items():
            rows = con.execute(q).fetchall()
            for i, kid in enumerate(ids):
                kp[kid] = [[None if r[0] is None else r[0].isoformat(), r[1], r[2 + i]] for r in rows]
        res["kpis"] = kp
    elif mode == "windows":
        kp = {}
        for q, ids in K.window_queries().values():
            rows = con.execute(q).fetchall()
            for i, kid in enumerate(ids):
                kp[kid] = [[r[0].isoformat(), r[1], r[2 + i]] for r in rows]
        res["kpis"] = kp
    elif mode.startswith("scale-"):
        rows = con.execute(K.scale_query(int(mode.split("-", 1)[1]))).fetchall()
        res["rows"] = len(rows)
    else:
        sys.exit(f"unknown mode {mode}")
    res["seconds"] = time.perf_counter() - t0
    with open(out, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main()
