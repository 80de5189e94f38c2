#!/usr/bin/env bash
# Benchmarks of the foundation (results go in docs/PERFORMANCE.md):
#   scripts/bench-import.sh events [N]     import N events (default 1,000,000) from NDJSON into
#                                          SQLite, against the sqlite3 CLI's .import of the same
#                                          rows as CSV into a bare table, in the same run
#   scripts/bench-import.sh events-pg [N]  the same N events into a throwaway PostgreSQL server
#                                          (scripts/pg.sh), against psql's \copy of the same rows
#                                          into a fresh Tenure events table (its indexes and
#                                          rollup triggers), in the same run
#   scripts/bench-import.sh demo [N]       generate and load the N-account demo (default 100,000):
#                                          time and peak memory
# Installs the sqlite3 CLI from Debian when it is missing. Works in a temp folder it removes.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-events}
n=${2:-}
cargo build --release -p tenure >&2
# TENURE_BIN runs another build (for instance an older one) for comparison.
tenure=${TENURE_BIN:-$PWD/target/release/tenure}
work=$(mktemp -d -t tenure-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
repo=$PWD
cd "$work"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Runs a command, prints its wall-clock seconds.
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); calc "$e - $s"; }
calc() { python3 -c "print($1)"; }

# Real-shaped events from the demo company into events.ndjson: enough
# accounts (data/accounts.csv) for N events; sets rows.
make_events() {
  local accounts=$(( n / 1400 + 50 ))
  "$tenure" demo --accounts "$accounts" --seed 1 --end 2026-01-01 --out data --quiet
  head -n "$n" data/events.ndjson > events.ndjson
  rows=$(wc -l < events.ndjson)
  if [ "$rows" -lt "$n" ]; then echo "the demo gave only $rows events" >&2; exit 1; fi
}

case "$what" in
  events)
    n=${n:-1000000}
    if ! command -v sqlite3 >/dev/null; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3) >&2
    fi
    make_events
    python3 - <<'PY'
import csv, json
with open("events.ndjson") as src, open("events.csv", "w", newline="") as dst:
    w = csv.writer(dst)
    w.writerow(["timestamp", "account_id", "user_id", "event", "properties"])
    for line in src:
        o = json.loads(line)
        p = o.get("properties")
        w.writerow([o["timestamp"], o["account_id"], o["user_id"], o["event"], json.dumps(p, separators=(",", ":")) if p is not None else ""])
PY
    t_tenure=(); t_bare=(); t_schema=(); t_same=()
    for run in 1 2 3; do
      rm -f t.db*
      "$tenure" --db sqlite://t.db import accounts data/accounts.csv --quiet
      t_tenure+=("$(seconds "$tenure" --db sqlite://t.db import events events.ndjson --quiet)")
      rm -f bare.db
      sqlite3 bare.db "CREATE TABLE events(timestamp TEXT, account_id TEXT, user_id TEXT, event TEXT, properties TEXT);"
      t_bare+=("$(seconds sqlite3 bare.db ".mode csv" ".import --skip 1 events.csv events")")
      # A second reference: sqlite3 into a table with Tenure's three event indexes.
      rm -f idx.db
      sqlite3 idx.db "CREATE TABLE events(timestamp TEXT, account_id TEXT, user_id TEXT, event TEXT, properties TEXT);
        CREATE INDEX a ON events(account_id, timestamp); CREATE INDEX b ON events(timestamp);"
      t_schema+=("$(seconds sqlite3 idx.db "PRAGMA journal_mode=WAL;" ".mode csv" ".import --skip 1 events.csv events")")
      # A third: sqlite3 writing the same two secondary indexes as Tenure's
      # events table, built after the import (the fastest way to get them);
      # the demo's events have no message ids, so Tenure's partial unique
      # index on them stays empty and has no counterpart here.
      rm -f same.db
      sqlite3 same.db "CREATE TABLE events(timestamp TEXT, account_id TEXT, user_id TEXT, event TEXT, properties TEXT);"
      t_same+=("$(seconds sqlite3 same.db "PRAGMA journal_mode=WAL;" ".mode csv" ".import --skip 1 events.csv events" \
        "CREATE INDEX a ON events(account_id, timestamp); CREATE INDEX b ON events(timestamp, account_id, user_id, event);")")
    done
    tt=$(printf '%s\n' "${t_tenure[@]}" | median)
    tb=$(printf '%s\n' "${t_bare[@]}" | median)
    ts=$(printf '%s\n' "${t_schema[@]}" | median)
    tsame=$(printf '%s\n' "${t_same[@]}" | median)
    printf 'events: %d (NDJSON %s bytes)\n' "$rows" "$(stat -c %s events.ndjson)"
    printf 'tenure import events (NDJSON, validated, 3 indexes): %.2f s median of 3, %.0f events/s\n' "$tt" "$(calc "$rows / $tt")"
    printf 'sqlite3 .import CSV into a bare table:               %.2f s, ratio tenure/sqlite3 = %.2f\n' "$tb" "$(calc "$tt / $tb")"
    printf 'sqlite3 .import CSV into a table with 2 indexes:     %.2f s, ratio tenure/sqlite3 = %.2f\n' "$ts" "$(calc "$tt / $ts")"
    printf 'sqlite3 .import CSV, then the same 2 indexes:        %.2f s, ratio tenure/sqlite3 = %.2f\n' "$tsame" "$(calc "$tt / $tsame")"
    ;;
  events-pg)
    n=${n:-1000000}
    make_events
    eval "$("$repo"/scripts/pg.sh start)"
    trap 'cd /; "$repo"/scripts/pg.sh stop "$TENURE_PG_DIR"; rm -rf "$work"' EXIT
    base=${TEST_DATABASE_URL%/*}
    fresh() { # a new database holding the accounts, its URL on stdout
      psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null 2>&1
      "$tenure" --db "$base/$1" import accounts data/accounts.csv --quiet >&2
      echo "$base/$1"
    }
    # The reference's input: the same rows in the events table's own
    # shape (timestamps in microseconds), as Tenure stored them.
    db=$(fresh bench_ref)
    "$tenure" --db "$db" import events events.ndjson --quiet
    psql -q "$db" -c "\copy (SELECT account_id, user_id, event, ts, properties, message_id FROM events ORDER BY seq) TO 'events.pg.csv' CSV"
    t_tenure=(); t_copy=()
    for run in 1 2 3; do
      db=$(fresh bench_tenure)
      t_tenure+=("$(seconds "$tenure" --db "$db" import events events.ndjson --quiet)")
      db=$(fresh bench_copy)
      t_copy+=("$(seconds psql -q "$db" -c "\copy events (account_id, user_id, event, ts, properties, message_id) FROM 'events.pg.csv' CSV")")
    done
    tt=$(printf '%s\n' "${t_tenure[@]}" | median)
    tc=$(printf '%s\n' "${t_copy[@]}" | median)
    printf 'events: %d (NDJSON %s bytes), PostgreSQL %s\n' "$rows" "$(stat -c %s events.ndjson)" "$(psql -Atc 'SHOW server_version' "$TEST_DATABASE_URL")"
    printf 'tenure import events (NDJSON, validated):               %.2f s median of 3, %.0f events/s\n' "$tt" "$(calc "$rows / $tt")"
    printf 'psql \\copy into the events table (indexes, triggers):   %.2f s, ratio tenure/copy = %.2f\n' "$tc" "$(calc "$tt / $tc")"
    ;;
  demo)
    n=${n:-100000}
    /usr/bin/time -v "$tenure" --db sqlite://demo.db demo --accounts "$n" --seed 42 --end 2026-01-01 --no-serve --quiet 2> time.txt
    grep -E "Elapsed|Maximum resident" time.txt
    ls -l demo.db | awk '{printf "database size: %.1f GB\n", $5/1e9}'
    ;;
  *) echo "usage: scripts/bench-import.sh events [N] | events-pg [N] | demo [N]" >&2; exit 2 ;;
esac
