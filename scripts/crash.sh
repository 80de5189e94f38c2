#!/usr/bin/env bash
# Crash safety (docs/OPERATIONS.md, "Crash safety"): `tenure import` and
# `tenure serve` killed with SIGKILL at random moments, 20 trials each per
# backend, on SQLite and on a throwaway PostgreSQL server started here.
#   scripts/crash.sh [TRIALS]
# Needs python3 (standard library only) and, for PostgreSQL, the server
# binaries (scripts/pg.sh installs them as root when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-20}
cargo build --release -p tenure --quiet
work=$(mktemp -d -t tenure-crash.XXXXXX)
pg_dir=""
cleanup() {
  [ -n "$pg_dir" ] && scripts/pg.sh stop "$pg_dir"
  rm -rf "$work"
}
trap cleanup EXIT
# A small demo company's files: 300 accounts, a year of events.
target/release/tenure demo --accounts 300 --days 365 --out "$work/files" --quiet
status=0
python3 scripts/crash.py --tenure target/release/tenure --backend sqlite \
  --files "$work/files" --work "$work/sqlite" --trials "$trials" || status=1
eval "$(scripts/pg.sh start)"
pg_dir=$TENURE_PG_DIR
python3 scripts/crash.py --tenure target/release/tenure --backend postgres \
  --pg-url "$TEST_DATABASE_URL" --files "$work/files" --work "$work/postgres" \
  --trials "$trials" || status=1
exit $status
