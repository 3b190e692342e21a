"""yardstick benchmark driver (run through bench/run.sh).

  python3 bench/bench.py --yardstick BIN [--sf 1] [--reps 3] [--formats parquet,csv]
                         [--threads 2] [--no-scale] [--no-windows] [--no-check]

For each scale factor and format, runs every peer --reps times, interleaved (one rep of every
peer, in an order rotated per rep), each as its own process under `/usr/bin/time -v`:

  duckdb_queries         the 50 KPIs as 50 DuckDB queries             (bench/duckdb_peer.py)
  duckdb_fused           one hand-fused DuckDB query per (grain, by)
  duckdb_fused_additive  the same, the 41 additive KPIs only
  duckdb_floor           one DuckDB scan of the 14 needed columns
  yardstick              yardstick build bench/lineitem (50 KPIs; CSV: --no-cache, parsed)
  yardstick_additive     yardstick build of the 41 additive KPIs only (CSV: --no-cache)
  yardstick_cache_miss   CSV only: the 50 KPIs, the cache deleted first (parsed, cache written)
  yardstick_cache_hit    CSV only: the 50 KPIs, the cache filled (nothing parsed)

then (Parquet, per scale factor) yardstick builds of 10 and 100 KPIs over one source, the
windows suite (bench/windows/windows.kpi: daily year-to-date and rolling KPIs, yardstick
against DuckDB's window functions over per-period partials, values cross-checked), and
`yardstick check` of a 1,000-KPI project. Cross-checks every KPI value of yardstick's
results.json against DuckDB's per-KPI queries (and the fused queries against those), then
writes target/bench/results-sfN.json and target/bench/results-sfN.md.
"""

import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import kpis_duckdb as K  # noqa: E402

BENCH = os.path.join(ROOT, "target", "bench")
DATA = os.path.join(BENCH, "data")
OUT = os.path.join(BENCH, "out")
PROJECTS = os.path.join(BENCH, "projects")
LOGS = os.path.join(BENCH, "logs")
CACHE = os.path.join(BENCH, "cache")
LINEITEM = os.path.join(HERE, "lineitem")
TEMPLATE = os.path.join(LINEITEM, "yardstick.yaml.in")


# ---------------------------------------------------------------------------- projects

def data_path(sf, fmt):
    return os.path.join(DATA, f"sf{sf}", f"lineitem.{fmt}")


def yaml_text(sf, fmt):
    with open(TEMPLATE) as f:
        t = f.read()
    for k, v in {"@DATA_DIR@": os.path.dirname(data_path(sf, fmt)), "@OUT_DIR@": OUT,
                 "@DATA_PATH@": data_path(sf, fmt), "@FORMAT@": fmt, "@CACHE_DIR@": CACHE, "@SF_LABEL@": f"SF{sf}"}.items():
        t = t.replace(k, v)
    return t


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


KPI_BLOCK = re.compile(r"\n  kpi (\w+) [^\n]*\{\n.*?\n  \}\n", re.S)


def kpi_files():
    d = os.path.join(LINEITEM, "metrics")
    return {n: open(os.path.join(d, n)).read() for n in sorted(os.listdir(d)) if n.endswith(".kpi")}


def make_additive_project(sf, fmt):
    """The 41 additive KPIs of bench/lineitem, without the percentiles and distinct counts."""
    kind = {k["id"]: k["kind"] for k in K.KPIS}
    d = os.path.join(PROJECTS, f"additive-sf{sf}-{fmt}")
    shutil.rmtree(d, ignore_errors=True)
    write(os.path.join(d, "yardstick.yaml"), yaml_text(sf, fmt))
    n = 0
    for name, text in kpi_files().items():
        def keep(m):
            return m.group(0) if kind[m.group(1)] == "additive" else "\n"
        text = KPI_BLOCK.sub(keep, text)
        n += len(KPI_BLOCK.findall(text))
        write(os.path.join(d, "metrics", name), text)
    assert n == 41, n
    return d


def scale_kpi(i):
    """The i-th KPI of the 10/100-KPI projects: grain month, no by, additive, varied filters."""
    t, v = i % 5, i // 5
    measure, where = {
        0: (f"sum(l_extendedprice where l_quantity > {2 * v + 1})", None),
        1: (f"share(l_discount > {0.005 * v:.3f})", None),
        2: (f"avg(l_extendedprice where l_quantity <= {2 * v + 10})", None),
        3: (f"ratio(sum(l_extendedprice where l_tax >= {0.004 * v:.3f}), count())", None),
        4: ("count()", f"l_quantity >= {v + 1}"),
    }[t]
    w = f"\n    where {where}" if where else ""
    return f"  kpi s{i:03d} {{\n    from lineitem\n    measure {measure}{w}\n    grain month\n  }}\n"


def make_scale_project(sf, n):
    d = os.path.join(PROJECTS, f"scale{n}-sf{sf}")
    shutil.rmtree(d, ignore_errors=True)
    write(os.path.join(d, "yardstick.yaml"), yaml_text(sf, "parquet"))
    body = "".join(scale_kpi(i) for i in range(n))
    write(os.path.join(d, "metrics", "scale.kpi"), f'goal scale "{n} KPIs over one source" {{\n{body}}}\n')
    return d


def make_windows_project(sf):
    d = os.path.join(PROJECTS, f"windows-sf{sf}")
    shutil.rmtree(d, ignore_errors=True)
    write(os.path.join(d, "yardstick.yaml"), yaml_text(sf, "parquet"))
    with open(os.path.join(HERE, "windows", "windows.kpi")) as f:
        write(os.path.join(d, "metrics", "windows.kpi"), f.read())
    return d


CHECK_TEMPLATES = [
    "count() where l_quantity > {a}", "sum(l_extendedprice where l_discount >= 0.0{b})",
    "avg(l_quantity where l_tax <= 0.0{b})", "share(l_quantity > {a})",
    "ratio(sum(l_extendedprice where l_shipmode = 'AIR'), count() where l_quantity > {a})",
    "max(l_extendedprice * (1 - l_discount) where l_quantity < {a})",
    "median(l_quantity where l_discount > 0.0{b})", "percentile(l_extendedprice, 0.{c})",
    "percentile_nearest(l_quantity, 0.{c})", "count(distinct l_orderkey where l_quantity > {a})",
]
CHECK_SHAPES = [("month", None), ("month", "l_linestatus"), ("quarter", "l_returnflag"),
                ("quarter", "l_shipinstruct"), (None, "l_shipmode")]


def make_check_project(n=1000):
    d = os.path.join(PROJECTS, f"check{n}")
    shutil.rmtree(d, ignore_errors=True)
    write(os.path.join(d, "yardstick.yaml"), yaml_text(1, "parquet"))
    per_file = 100
    for f in range(n // per_file):
        kpis = []
        for j in range(per_file):
            i = f * per_file + j
            m = CHECK_TEMPLATES[i % len(CHECK_TEMPLATES)]
            m = m.format(a=i % 50 + 1, b=i % 9 + 1, c=i % 89 + 10)
            grain, by = CHECK_SHAPES[(i // len(CHECK_TEMPLATES)) % len(CHECK_SHAPES)]
            clauses = [f"from lineitem", f"measure {m}"]
            if by:
                clauses.append(f"by {by}")
            if grain:
                clauses.append(f"grain {grain}")
            body = "".join(f"    {c}\n" for c in clauses)
            kpis.append(f'  kpi k{i:04d} "KPI {i}" {{\n{body}  }}\n')
        write(os.path.join(d, "metrics", f"part{f:02d}.kpi"),
              f'goal g{f:02d} "Part {f}" {{\n  owner "Benchmark"\n' + "\n".join(kpis) + "}\n")
    return d


# ---------------------------------------------------------------------------- running

TIME_FIELDS = {
    "Elapsed (wall clock) time (h:mm:ss or m:ss)": "wall",
    "User time (seconds)": "user",
    "System time (seconds)": "sys",
    "Maximum resident set size (kbytes)": "rss_kb",
    "Exit status": "exit",
}


def parse_time(path):
    out = {}
    for line in open(path):
        line = line.strip()
        for k, name in TIME_FIELDS.items():
            if line.startswith(k + ":"):
                v = line[len(k) + 1:].strip()
                if name == "wall":
                    parts = [float(p) for p in v.split(":")]
                    s = 0.0
                    for p in parts:
                        s = s * 60 + p
                    out[name] = s
                elif name in ("rss_kb", "exit"):
                    out[name] = int(v)
                else:
                    out[name] = float(v)
    out["cpu"] = out.get("user", 0.0) + out.get("sys", 0.0)
    return out


def timed(name, cmd, rep):
    os.makedirs(LOGS, exist_ok=True)
    tfile = os.path.join(LOGS, f"{name}.rep{rep}.time")
    log = os.path.join(LOGS, f"{name}.rep{rep}.log")
    load = os.getloadavg()[0]
    with open(log, "w") as lf:
        rc = subprocess.call(["/usr/bin/time", "-v", "-o", tfile] + cmd, stdout=lf, stderr=subprocess.STDOUT,
                             cwd=ROOT)
    m = parse_time(tfile)
    m["rc"] = rc
    m["load1_before"] = load
    if rc != 0:
        print(f"  !! {name} rep {rep} exited {rc}; see {log}", flush=True)
    print(f"  {name:<24} rep {rep}: wall {m.get('wall', float('nan')):7.2f} s  cpu {m['cpu']:7.2f} s  "
          f"rss {m.get('rss_kb', 0) / 1024:7.0f} MiB  (load {load:.1f})", flush=True)
    return m


def median_of(reps):
    ok = [r for r in reps if r.get("rc") == 0]
    if not ok:
        return None
    return {k: statistics.median(r[k] for r in ok) for k in ("wall", "cpu", "user", "sys", "rss_kb")} | {
        "reps": len(ok), "wall_min": min(r["wall"] for r in ok), "wall_max": max(r["wall"] for r in ok),
        "cpu_min": min(r["cpu"] for r in ok), "cpu_max": max(r["cpu"] for r in ok)}


def warm(path):
    """Read a file once so that every peer starts with it in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


# ---------------------------------------------------------------------------- cross-check

def ys_rows(results_json):
    with open(results_json) as f:
        res = json.load(f)
    out = {}
    for k in res["kpis"]:
        by = k["by"]
        rows = {}
        for r in k["rows"]:
            g = r[by[0]] if by else None
            rows[(r["period"], g)] = r["value"]
        out[k["id"]] = rows
    return out


def close(a, b, exact):
    if a is None or b is None:
        return a is None and b is None
    if exact:
        return a == b
    if a == b:
        return True
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def cross_check(ys, ref, label, exact_of, missing_ok_null=True):
    """Compare {kpi: {(period, group): value}} with reference rows {kpi: [[p, g, v], ...]}."""
    problems = []
    for kid, rows in ref.items():
        refd = {(p, g): v for p, g, v in rows}
        got = ys.get(kid)
        if got is None:
            problems.append(f"{label}: {kid}: missing")
            continue
        for key, v in refd.items():
            if key not in got:
                problems.append(f"{label}: {kid} {key}: reference {v!r}, row missing")
            elif not close(got[key], v, exact_of[kid]):
                problems.append(f"{label}: {kid} {key}: got {got[key]!r}, reference {v!r}")
        for key, v in got.items():
            if key not in refd and not (missing_ok_null and v is None):
                problems.append(f"{label}: {kid} {key}: got {v!r}, no reference row")
    return problems


# ---------------------------------------------------------------------------- main

def machine():
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    import duckdb
    return {"nproc": os.cpu_count(), "cpu": model, "memory": mem, "kernel": platform.release(),
            "python": platform.python_version(), "duckdb": duckdb.__version__,
            "load_average_at_start": os.getloadavg()}


def fmt_s(x):
    return "-" if x is None else f"{x:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--yardstick", required=True)
    ap.add_argument("--sf", default="1")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--formats", default="parquet,csv")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-scale", action="store_true")
    ap.add_argument("--no-windows", action="store_true")
    ap.add_argument("--no-check", action="store_true")
    ap.add_argument("--memory-limit", default=None,
                    help="also run the 50-KPI build with --memory-limit SIZE (peer yardstick_memory_limited)")
    a = ap.parse_args()
    ys = os.path.abspath(a.yardstick)
    py = sys.executable
    peer = os.path.join(HERE, "duckdb_peer.py")
    sf = a.sf
    formats = [f for f in a.formats.split(",") if f]
    ys_version = subprocess.run([ys, "--version"], capture_output=True, text=True).stdout.strip()
    report = {"sf": sf, "reps": a.reps, "threads": a.threads, "machine": machine(), "yardstick": ys_version,
              "yardstick_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                                 text=True).stdout.strip(),
              "suites": {}, "cross_check": {}, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    exact_of = {k["id"]: bool(k.get("exact")) for k in K.KPIS}
    os.makedirs(BENCH, exist_ok=True)

    for fmt in formats:
        dp = data_path(sf, fmt)
        if not os.path.exists(dp):
            print(f"skipping {fmt}: {dp} missing", flush=True)
            continue
        print(f"== SF{sf} {fmt}", flush=True)
        write(os.path.join(LINEITEM, "yardstick.yaml"), yaml_text(sf, fmt))
        add = make_additive_project(sf, fmt)
        tag = f"sf{sf}-{fmt}"
        res_dir = os.path.join(BENCH, "peer-results", tag)
        os.makedirs(res_dir, exist_ok=True)
        peers = {
            "duckdb_queries": [py, peer, "queries", dp, fmt, os.path.join(res_dir, "queries.json"),
                               "--threads", str(a.threads)],
            "duckdb_fused": [py, peer, "fused", dp, fmt, os.path.join(res_dir, "fused.json"),
                             "--threads", str(a.threads)],
            "duckdb_fused_additive": [py, peer, "fused-additive", dp, fmt,
                                      os.path.join(res_dir, "fused-additive.json"), "--threads", str(a.threads)],
            "duckdb_floor": [py, peer, "floor", dp, fmt, os.path.join(res_dir, "floor.json"),
                             "--threads", str(a.threads)],
            "yardstick": [ys, "build", LINEITEM, "--out", os.path.join(OUT, f"lineitem-{tag}"), "--allow-outside", "--audience", "internal"],
            "yardstick_additive": [ys, "build", add, "--out", os.path.join(OUT, f"additive-{tag}"),
                                   "--allow-outside", "--audience", "internal"],
        }
        if a.memory_limit:
            peers["yardstick_memory_limited"] = [ys, "build", LINEITEM, "--out", os.path.join(OUT, f"limited-{tag}"),
                                                 "--allow-outside", "--audience", "internal",
                                                 "--memory-limit", a.memory_limit, "--spill-dir", os.path.join(BENCH, "spill")]
        if fmt == "csv":
            # Parsed on every run, like DuckDB's read_csv; the cache is measured on its own.
            peers["yardstick"].append("--no-cache")
            peers["yardstick_additive"].append("--no-cache")
            build = [ys, "build", LINEITEM, "--out", os.path.join(OUT, f"cache-{tag}"), "--allow-outside", "--audience", "internal"]
            peers["yardstick_cache_miss"] = ["sh", "-c", 'rm -rf "$0" && exec "$@"', CACHE] + build
            peers["yardstick_cache_hit"] = build
            os.makedirs(CACHE, exist_ok=True)
            subprocess.run(build, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        warm(dp)
        runs = {p: [] for p in peers}
        names = list(peers)
        for rep in range(a.reps):
            order = names[rep % len(names):] + names[:rep % len(names)]
            for p in order:
                runs[p].append(timed(f"{p}-{tag}", peers[p], rep))
        report["suites"][tag] = {p: {"median": median_of(r), "reps": r} for p, r in runs.items()}

        # Cross-check.
        probs = []
        ysr = ys_rows(os.path.join(OUT, f"lineitem-{tag}", "results.json"))
        q = json.load(open(os.path.join(res_dir, "queries.json")))["kpis"]
        fused = json.load(open(os.path.join(res_dir, "fused.json")))["kpis"]
        probs += cross_check(ysr, q, "yardstick vs duckdb_queries", exact_of)
        # Fused: groups with no row after a KPI's `where` come out of a fused query with a
        # count of 0 or a null: only the per-KPI query's rows are compared.
        qd = {k: {(p, g): v for p, g, v in rows} for k, rows in q.items()}
        fused_only_ref = {k: [r for r in rows if (r[0], r[1]) in qd[k]] for k, rows in fused.items()}
        probs += cross_check(qd, fused_only_ref, "duckdb_queries vs duckdb_fused", exact_of)
        ysa = ys_rows(os.path.join(OUT, f"additive-{tag}", "results.json"))
        probs += cross_check(ysa, {k: v for k, v in q.items() if k in ysa}, "yardstick_additive vs duckdb_queries",
                             exact_of)
        if fmt == "csv":
            hit = ys_rows(os.path.join(OUT, f"cache-{tag}", "results.json"))
            probs += cross_check(hit, {k: [[p, g, v] for (p, g), v in rows.items()] for k, rows in ysr.items()},
                                 "yardstick_cache_hit vs yardstick (parsed)", exact_of, missing_ok_null=False)
        nrows = sum(len(v) for v in q.values())
        report["cross_check"][tag] = {"kpis": len(q), "rows": nrows, "mismatches": probs}
        print(f"  cross-check {tag}: {len(q)} KPIs, {nrows} rows, {len(probs)} mismatches", flush=True)
        for p in probs[:50]:
            print("    " + p, flush=True)

    # Leave bench/lineitem buildable by hand on the Parquet file.
    if os.path.exists(data_path(sf, "parquet")):
        write(os.path.join(LINEITEM, "yardstick.yaml"), yaml_text(sf, "parquet"))

    if not a.no_scale and os.path.exists(data_path(sf, "parquet")):
        print(f"== SF{sf} parquet: 10 vs 100 KPIs on one source", flush=True)
        projs = {n: make_scale_project(sf, n) for n in (10, 100)}
        runs = {f"{who}_{n}": [] for who in ("yardstick", "duckdb_fused") for n in projs}
        dp = data_path(sf, "parquet")
        for rep in range(a.reps):
            order = [10, 100] if rep % 2 == 0 else [100, 10]
            for n in order:
                runs[f"yardstick_{n}"].append(timed(f"yardstick_{n}-sf{sf}", [
                    ys, "build", projs[n], "--out", os.path.join(OUT, f"scale{n}-sf{sf}"), "--allow-outside", "--audience", "internal"], rep))
                # The same KPIs fused by hand in DuckDB: how an expert's SQL scales.
                runs[f"duckdb_fused_{n}"].append(timed(f"duckdb_fused_{n}-sf{sf}", [
                    py, peer, f"scale-{n}", dp, "parquet", os.path.join(BENCH, f"scale{n}-duckdb.json"),
                    "--threads", str(a.threads)], rep))
        report["suites"][f"scale-sf{sf}"] = {p: {"median": median_of(r), "reps": r} for p, r in runs.items()}

    if not a.no_windows and os.path.exists(data_path(sf, "parquet")):
        print(f"== SF{sf} parquet: windows (daily year-to-date, rolling)", flush=True)
        d = make_windows_project(sf)
        dp = data_path(sf, "parquet")
        ref = os.path.join(BENCH, f"windows-sf{sf}-duckdb.json")
        out = os.path.join(OUT, f"windows-sf{sf}")
        peers = {
            "yardstick_windows": [ys, "build", d, "--out", out, "--allow-outside", "--audience", "internal"],
            "duckdb_windows": [py, peer, "windows", dp, "parquet", ref, "--threads", str(a.threads)],
        }
        runs = {p: [] for p in peers}
        for rep in range(a.reps):
            for p in (list(peers) if rep % 2 == 0 else list(peers)[::-1]):
                runs[p].append(timed(f"{p}-sf{sf}", peers[p], rep))
        tag = f"windows-sf{sf}"
        report["suites"][tag] = {p: {"median": median_of(r), "reps": r} for p, r in runs.items()}
        q = json.load(open(ref))["kpis"]
        probs = cross_check(ys_rows(os.path.join(out, "results.json")), q, "yardstick_windows vs duckdb_windows",
                            {k: k in K.WINDOW_EXACT for k in q})
        nrows = sum(len(v) for v in q.values())
        report["cross_check"][tag] = {"kpis": len(q), "rows": nrows, "mismatches": probs}
        print(f"  cross-check {tag}: {len(q)} KPIs, {nrows} rows, {len(probs)} mismatches", flush=True)
        for p in probs[:50]:
            print("    " + p, flush=True)

    if not a.no_check:
        print("== yardstick check of 1,000 KPIs", flush=True)
        d = make_check_project(1000)
        runs = [timed("yardstick_check_1000", [ys, "check", d], rep) for rep in range(max(a.reps, 5))]
        report["suites"]["check"] = {"yardstick_check_1000": {"median": median_of(runs), "reps": runs}}

    report["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    report["machine"]["load_average_at_end"] = os.getloadavg()
    report["ratios"] = ratios(report)
    with open(os.path.join(BENCH, f"results-sf{sf}.json"), "w") as f:
        json.dump(report, f, indent=2)
    md = markdown(report)
    with open(os.path.join(BENCH, f"results-sf{sf}.md"), "w") as f:
        f.write(md)
    print(md)
    print(f"wrote {os.path.join(BENCH, f'results-sf{sf}.json')} and results-sf{sf}.md")
    bad = sum(len(c["mismatches"]) for c in report["cross_check"].values())
    return 1 if bad else 0


def med(report, suite, peer, field):
    m = report["suites"].get(suite, {}).get(peer, {}).get("median")
    return None if m is None else m[field]


def ratios(report):
    sf = report["sf"]
    out = {}
    for tag in [t for t in report["suites"] if t.startswith("sf")]:
        r = {}
        for field in ("wall", "cpu"):
            def q(a, b):
                x, y = med(report, tag, a, field), med(report, tag, b, field)
                return None if x is None or not y else x / y
            r[field] = {
                "yardstick / duckdb_queries": q("yardstick", "duckdb_queries"),
                "yardstick / duckdb_fused": q("yardstick", "duckdb_fused"),
                "yardstick_additive / duckdb_floor": q("yardstick_additive", "duckdb_floor"),
                "yardstick_additive / duckdb_fused_additive": q("yardstick_additive", "duckdb_fused_additive"),
                "duckdb_fused / duckdb_floor": q("duckdb_fused", "duckdb_floor"),
            }
            if tag.endswith("-csv"):
                r[field]["yardstick_cache_hit / yardstick"] = q("yardstick_cache_hit", "yardstick")
                r[field]["yardstick_cache_miss / yardstick"] = q("yardstick_cache_miss", "yardstick")
                r[field]["yardstick_cache_hit / duckdb_fused"] = q("yardstick_cache_hit", "duckdb_fused")
        out[tag] = r
    s = f"scale-sf{sf}"
    if s in report["suites"]:
        out[s] = {f: (lambda x, y: None if x is None or not y else x / y)(
            med(report, s, "yardstick_100", f), med(report, s, "yardstick_10", f)) for f in ("wall", "cpu")}
        out[s + "-duckdb"] = {f: (lambda x, y: None if x is None or not y else x / y)(
            med(report, s, "duckdb_fused_100", f), med(report, s, "duckdb_fused_10", f)) for f in ("wall", "cpu")}
    w = f"windows-sf{sf}"
    if w in report["suites"]:
        out[w] = {f: (lambda x, y: None if x is None or not y else x / y)(
            med(report, w, "yardstick_windows", f), med(report, w, "duckdb_windows", f)) for f in ("wall", "cpu")}
    return out


TARGETS = [
    ("yardstick / duckdb_queries", "<= 0.3", 0.3),
    ("yardstick / duckdb_fused", "<= 0.8", 0.8),
    ("yardstick_additive / duckdb_floor", "<= 2.5", 2.5),
]


def markdown(report):
    sf = report["sf"]
    m = report["machine"]
    lines = [f"# yardstick benchmark, TPC-H lineitem SF{sf}", "",
             f"{report['yardstick']} (commit {report['yardstick_commit'][:10]}), DuckDB {m['duckdb']}, "
             f"{report['threads']} threads, {report['reps']} reps interleaved, medians. "
             f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory']}; load average at start "
             f"{', '.join(f'{x:.1f}' for x in m['load_average_at_start'])}, at end "
             f"{', '.join(f'{x:.1f}' for x in m['load_average_at_end'])}.", ""]
    for tag, suite in report["suites"].items():
        lines += [f"## {tag}", "", "| peer | wall s (median) | wall min-max | CPU s (median) | CPU min-max | peak RSS MiB |",
                  "|---|---:|---:|---:|---:|---:|"]
        for p, d in suite.items():
            x = d["median"]
            if x is None:
                # A failed run still has its time and peak memory (a memory limit's YS0403).
                r = d["reps"][0] if d["reps"] else {}
                lines.append(f"| {p} | exit {r.get('rc', '?')} after {r.get('wall', float('nan')):.2f} | | "
                             f"{r.get('cpu', float('nan')):.2f} | | {r.get('rss_kb', 0) / 1024:.0f} |")
                continue
            lines.append(f"| {p} | {x['wall']:.2f} | {x['wall_min']:.2f}-{x['wall_max']:.2f} | {x['cpu']:.2f} | "
                         f"{x['cpu_min']:.2f}-{x['cpu_max']:.2f} | {x['rss_kb'] / 1024:.0f} |")
        lines.append("")
    lines += ["## Targets", "", "| target | goal | wall ratio | CPU ratio | met (wall) |", "|---|---|---:|---:|---|"]
    for tag, r in report["ratios"].items():
        if tag.startswith("sf"):
            targets = TARGETS + ([("yardstick / duckdb_fused", "<= 2 (CSV, parsed)", 2.0)] if tag.endswith("-csv") else [])
            for name, goal, lim in targets:
                w, c = r["wall"][name], r["cpu"][name]
                lines.append(f"| {tag}: {name} | {goal} | {fmt_s(w)} | {fmt_s(c)} | "
                             f"{'-' if w is None else ('yes' if w <= lim else 'no')} |")
            for name in [n for n in r["wall"] if n not in {t[0] for t in TARGETS}]:
                lines.append(f"| {tag}: {name} (context) | | {fmt_s(r['wall'][name])} | {fmt_s(r['cpu'][name])} | |")
        elif tag.startswith("windows"):
            lines.append(f"| {tag}: yardstick windows / DuckDB window functions (context) | | {fmt_s(r['wall'])} | "
                         f"{fmt_s(r['cpu'])} | |")
        elif tag.endswith("-duckdb"):
            lines.append(f"| {tag[:-7]}: DuckDB hand-fused 100 KPIs / 10 KPIs (context) | | {fmt_s(r['wall'])} | "
                         f"{fmt_s(r['cpu'])} | |")
        else:
            w, c = r["wall"], r["cpu"]
            lines.append(f"| {tag}: yardstick 100 KPIs / 10 KPIs | <= 1.5 | {fmt_s(w)} | {fmt_s(c)} | "
                         f"{'-' if w is None else ('yes' if w <= 1.5 else 'no')} |")
    chk = med(report, "check", "yardstick_check_1000", "wall")
    if chk is not None:
        lines.append(f"| yardstick check, 1,000 KPIs (s) | < 0.5 s | {chk:.3f} | "
                     f"{med(report, 'check', 'yardstick_check_1000', 'cpu'):.3f} | {'yes' if chk < 0.5 else 'no'} |")
    lines += ["", "## Cross-check", ""]
    for tag, c in report["cross_check"].items():
        lines.append(f"- {tag}: {c['kpis']} KPIs, {c['rows']} rows compared, {len(c['mismatches'])} mismatches")
        for p in c["mismatches"][:50]:
            lines.append(f"  - {p}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
