#!/usr/bin/env bash
# yardstick benchmark: TPC-H lineitem, yardstick against DuckDB. See docs/benchmarks.md.
#
#   bash bench/run.sh [--sf 1] [--reps 3] [--formats parquet,csv] [--no-scale] [--no-windows] [--no-check]
#                     [--memory-limit SIZE]
#
# Installs what it needs (the duckdb and tpchgen-cli Python packages, Debian's `time`),
# builds yardstick in release into a private target directory ($BENCH_CARGO_TARGET_DIR,
# default ~/.cache/yardstick-bench-target; or set YARDSTICK_BIN to use a built binary),
# generates the data into target/bench/data/sfN/ (once), runs every peer --reps times
# interleaved and writes target/bench/results-sfN.{json,md}.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SF=1
REPS=3
FORMATS=parquet,csv
PASS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sf) SF=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --formats) FORMATS=$2; PASS+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) PASS+=("$1"); shift ;;
  esac
done

PY=${PYTHON:-python3}
say() { echo "bench: $*" >&2; }

# Tools.
if [ ! -x /usr/bin/time ]; then
  say "installing Debian's time (for /usr/bin/time -v)"
  apt-get update -qq && apt-get install -y -qq time >/dev/null
fi
if ! "$PY" -c 'import duckdb' 2>/dev/null; then
  say "installing duckdb (pip)"
  "$PY" -m pip install -q duckdb
fi
if ! command -v tpchgen-cli >/dev/null 2>&1; then
  say "installing tpchgen-cli (pip)"
  "$PY" -m pip install -q tpchgen-cli || cargo install --locked tpchgen-cli
  hash -r
fi

# yardstick, release, in a target directory of its own (other builds cannot replace it
# between two runs).
if [ -z "${YARDSTICK_BIN:-}" ]; then
  export CARGO_TARGET_DIR=${BENCH_CARGO_TARGET_DIR:-$HOME/.cache/yardstick-bench-target}
  say "building yardstick (release) into $CARGO_TARGET_DIR"
  cargo build --release --quiet
  YARDSTICK_BIN=$CARGO_TARGET_DIR/release/yardstick
  unset CARGO_TARGET_DIR
fi

# Data: TPC-H lineitem at scale factor SF, in the formats measured (deterministic: generated
# once; SF10 is 2.4 GB as Parquet and 7.3 GB as CSV). The 10/100-KPI runs read the Parquet file.
DATA=$ROOT/target/bench/data/sf$SF
mkdir -p "$DATA"
for fmt in ${FORMATS//,/ }; do
  if [ ! -s "$DATA/lineitem.$fmt" ]; then
    say "generating lineitem SF$SF as $fmt"
    rm -rf "$DATA/.tmp-$fmt" && mkdir -p "$DATA/.tmp-$fmt"
    tpchgen-cli "$fmt" --scale-factor "$SF" --tables lineitem --output-dir "$DATA/.tmp-$fmt"
    mv "$DATA/.tmp-$fmt/lineitem.$fmt" "$DATA/lineitem.$fmt"
    rm -rf "$DATA/.tmp-$fmt"
  fi
done

exec "$PY" bench/bench.py --yardstick "$YARDSTICK_BIN" --sf "$SF" --reps "$REPS" ${PASS[@]+"${PASS[@]}"}
