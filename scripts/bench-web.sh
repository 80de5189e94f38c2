#!/usr/bin/env bash
# Benchmark of the web dashboard (results go in docs/PERFORMANCE.md):
#   scripts/bench-web.sh [ACCOUNTS] [SECONDS]
# Loads the demo company (default 10,000 accounts, 400 days) into a fresh
# SQLite database, scores health for today, runs the day's background pass
# (`tenure run-jobs --once`), serves it on loopback, and runs
# wrk (installed from Debian when missing) against the overview, the
# accounts table, account pages and the team page with a leader's API key, printing the
# latency percentiles of each. Works in a temp folder it removes.
# Two environment variables change what it runs against:
#   TENURE_BENCH_DB=URL   a database already loaded (e.g. postgres://...):
#                         no demo is loaded and ACCOUNTS is ignored; today's
#                         health is still scored, the day's pass run and a
#                         leader's API key named "bench" added to it. Set
#                         TENURE_CONFIG to the tenure.toml the demo wrote to
#                         use its settings.
#   TENURE_BENCH_BIN=PATH this tenure binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=${1:-10000}
secs=${2:-20}
if [ -n "${TENURE_BENCH_BIN:-}" ]; then
  tenure=$(realpath "$TENURE_BENCH_BIN")
else
  cargo build --release -p tenure >&2
  tenure=$PWD/target/release/tenure
fi
work=$(mktemp -d -t tenure-bench-web.XXXXXX)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
if ! command -v wrk >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >&2
fi
if [ -n "${TENURE_BENCH_DB:-}" ]; then
  db=$TENURE_BENCH_DB
else
  db=sqlite://$work/bench.db
  "$tenure" --db "$db" demo --accounts "$accounts" --days 400 --seed 42 --no-serve --quiet
fi
if "$tenure" health --help >/dev/null 2>&1; then
  "$tenure" --db "$db" health recompute --quiet >/dev/null 2>&1 || "$tenure" --db "$db" health recompute >/dev/null
fi
key=$("$tenure" --db "$db" keys create --name bench --role leader | tail -n 1)
# The day's background pass (Engage, plans, playbooks, surveys, risk) made
# before the pages are timed: the server's own passes then find it done
# instead of running beside the measurement.
"$tenure" --db "$db" run-jobs --once >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUST_LOG=warn "$tenure" --db "$db" serve --addr "127.0.0.1:$port" --rate-limit 1000000 &
server=$!
base=http://127.0.0.1:$port
for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
auth="Authorization: Bearer $key"
# Warm the cache (the first request builds the portfolio view).
curl -fs -H "$auth" "$base/" >/dev/null
# Saved first: `head` closing the pipe early would fail the script (pipefail).
curl -fs -H "$auth" "$base/accounts.csv" -o accounts.csv
ids=$(awk -F, 'NR > 1 && NR <= 201 { print $1 }' accounts.csv)
# The first account page loads every account's health signals of the day
# (kept until the data changes), so it is timed apart, as /team is below.
first=$(echo "$ids" | head -n 1)
echo "== account page, first request (loads the day's signals): $(curl -fs -o /dev/null -w '%{time_total}' -H "$auth" "$base/accounts/$first") s"
# wrk walks through 200 account pages.
{
  echo 'local ids = {'
  for id in $ids; do echo "  \"$id\","; done
  echo '}'
  echo 'local i = 0'
  echo 'request = function() i = i % #ids + 1; return wrk.format("GET", "/accounts/" .. ids[i]) end'
} > accounts.lua
run() {
  local name=$1; shift
  echo "== $name"
  wrk -t2 -c8 -d"${secs}s" --latency -H "$auth" "$@" | grep -E "Requests/sec|^ +(50|90|99)%"
}
run "overview /" "$base/"
run "accounts /accounts (ARR sort, page 1)" "$base/accounts"
run "accounts /accounts?sort=name&band=red&page=2" "$base/accounts?sort=name&band=red&page=2"
run "account pages /accounts/{id}" -s accounts.lua "$base"
# The team page: its first request computes every CSM's KPIs and six months
# of history (kept for a minute), so it is warmed just before its run.
echo "== team /team, first request (computes the KPIs): $(curl -fs -o /dev/null -w '%{time_total}' -H "$auth" "$base/team") s"
run "team /team (CSM KPIs, 6 months)" "$base/team"
