#!/usr/bin/env bash
# Benchmark of `tenure metrics` against DuckDB (docs/PERFORMANCE.md).
#
#   scripts/bench.sh [ACCOUNTS] [END] [RUNS]      defaults: 100000 2025-12-31 3
#
# 1. Builds the release binaries (`tenure`, and `tenure-bench`, which holds
#    the benchmarks).
# 2. Writes the demo company as files (`tenure demo --out`) and loads the same
#    company into a fresh SQLite database (`tenure demo --no-serve`).
# 3. Times `tenure-bench metrics` (load from the database + compute) for the
#    last quarter and the 24 months ending with END.
# 4. Installs the duckdb Python package into its own virtual environment
#    (target/bench/venv) and computes the same metrics in SQL from the files,
#    timed, then checks that every compared number agrees.
# Work files go to target/bench/ (ignored by git); BENCH_DIR overrides it.
set -euo pipefail
cd "$(dirname "$0")/.."

ACCOUNTS=${1:-100000}
END=${2:-2025-12-31}
RUNS=${3:-3}
SEED=42
WORK=${BENCH_DIR:-target/bench}
DATA="$WORK/demo-$ACCOUNTS-$SEED-$END"
DB="sqlite://$DATA/tenure.db"

step() { printf '\n==> %s\n' "$*" >&2; }

step "cargo build --release"
cargo build --release -p tenure -p tenure-bench
TENURE=target/release/tenure
BENCH=target/release/tenure-bench

mkdir -p "$DATA"
if [ ! -f "$DATA/.files-done" ]; then
  step "writing the demo files ($ACCOUNTS accounts, seed $SEED, end $END)"
  "$TENURE" demo --accounts "$ACCOUNTS" --seed "$SEED" --end "$END" --out "$DATA/files" --quiet
  touch "$DATA/.files-done"
fi
if [ ! -f "$DATA/.db-done" ]; then
  step "loading the demo into $DB"
  rm -f "$DATA"/tenure.db*
  "$TENURE" --db "$DB" demo --accounts "$ACCOUNTS" --seed "$SEED" --end "$END" --no-serve --quiet
  touch "$DATA/.db-done"
fi
ls -l "$DATA/files" >&2
du -sh "$DATA/tenure.db" >&2

step "tenure-bench metrics"
[ -f "$DATA/tenure.toml" ] || "$TENURE" --config "$DATA/tenure.toml" init >&2
"$BENCH" --db "$DB" --config "$DATA/tenure.toml" metrics --end "$END" --runs "$RUNS" \
  > "$DATA/tenure.json"

step "duckdb reference"
VENV="$WORK/venv"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet duckdb
fi
"$VENV/bin/python" -c 'import duckdb; print("duckdb", duckdb.__version__)' >&2
nproc >&2
"$VENV/bin/python" scripts/bench_duckdb.py "$DATA/files" "$DATA/tenure.json" "$RUNS" \
  | tee "$DATA/result.json"
