#!/usr/bin/env bash
# Server benchmarks (results go in docs/PERFORMANCE.md):
#   scripts/bench-serve.sh ingest   Segment-style ingest over loopback, batches of 100 events,
#                                   driven by wrk with 4 then 16 connections (CONNECTIONS="4 16");
#                                   reference in the same run: `tenure import` of the same number
#                                   of events from NDJSON
#   scripts/bench-serve.sh api      p50/p99 latency of the accounts list and one account at
#                                   10,000 accounts, driven by wrk
# Installs wrk from Debian when missing. Works in a temp folder it removes; the server listens
# on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-ingest}
duration=${DURATION:-20}
cargo build --release -p tenure >&2
tenure=$PWD/target/release/tenure
if ! command -v wrk >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >&2
fi
work=$(mktemp -d -t tenure-bench.XXXXXX)
cd "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
calc() { python3 -c "print($1)"; }

start_server() {
  local db=$1; shift
  "$tenure" --db "$db" serve --addr "127.0.0.1:$port" "$@" >server.log 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
  cat server.log >&2; exit 1
}

case "$what" in
  ingest)
    "$tenure" demo --accounts 1000 --seed 3 --end 2026-01-01 --days 60 --out data --quiet
    cat > batch.lua <<'LUA'
-- Each request: a Segment batch of 100 track calls with unique messageIds.
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread) thread:set("tid", #threads); table.insert(threads, thread) end
function init(args) thread_id = tid end
request = function()
  counter = counter + 1
  local parts = {}
  for i = 1, 100 do
    local acc = string.format("acc-%06d", (counter * 7 + i) % 1000)
    parts[i] = string.format('{"type":"track","messageId":"m-%d-%d-%d","userId":"u-%d","event":"report_created","properties":{"n":%d},"context":{"groupId":"%s"},"timestamp":"2025-12-01T10:00:00Z"}', thread_id, counter, i, i, i, acc)
  end
  local body = '{"batch":[' .. table.concat(parts, ",") .. '],"sentAt":"2025-12-01T10:00:00Z"}'
  return wrk.format("POST", "/v1/batch", {["Content-Type"] = "application/json", ["Authorization"] = AUTH}, body)
end
LUA
    # Same events as in the import reference below: one account of 1,000 per message.
    python3 - <<'PY'
with open("same.ndjson", "w") as f:
    for k in range(2_000_000):
        f.write('{"timestamp":"2025-12-01T10:00:00Z","account_id":"acc-%06d","user_id":"u-%d","event":"report_created","properties":{"n":%d}}\n' % (k % 1000, k % 100, k % 100))
PY
    for conns in ${CONNECTIONS:-4 16}; do
      rm -f ingest.db*
      "$tenure" --db sqlite://ingest.db import accounts data/accounts.csv --quiet
      key=$("$tenure" --db sqlite://ingest.db keys create --ingest --name bench | tail -n 1)
      auth="Basic $(printf '%s:' "$key" | base64 -w0)"
      { echo "AUTH = \"$auth\""; cat batch.lua; } > run.lua
      start_server sqlite://ingest.db --ingest-rate-limit 100000000
      wrk -t2 -c"$conns" -d"${duration}s" --latency -s run.lua "http://127.0.0.1:$port" > wrk.txt
      kill "$server"; wait "$server" 2>/dev/null || true; server=""
      requests=$(awk '/requests in/ {print $1}' wrk.txt)
      errors=$(awk '/Non-2xx/ {print $NF}' wrk.txt); errors=${errors:-0}
      if [ "$errors" != 0 ]; then cat wrk.txt; tail -5 server.log; echo "error responses" >&2; exit 1; fi
      stored=$(sqlite3 ingest.db "SELECT COUNT(*) FROM events" 2>/dev/null || echo "?")
      events=$(( (requests - errors) * 100 ))
      ingest_rate=$(calc "$events / $duration")
      # Reference: `tenure import` of the same number of events from NDJSON.
      head -n "$events" same.ndjson > part.ndjson
      rm -f import.db*
      "$tenure" --db sqlite://import.db import accounts data/accounts.csv --quiet
      s=$(date +%s.%N); "$tenure" --db sqlite://import.db import events part.ndjson --quiet; e=$(date +%s.%N)
      import_rate=$(calc "$events / ($e - $s)")
      echo "== $conns connections"
      grep -E "Latency|99%|requests in|Non-2xx" wrk.txt
      printf 'ingest: %d events committed in %d s (%s rows in the table) = %.0f events/s\n' "$events" "$duration" "$stored" "$ingest_rate"
      printf 'tenure import of the same %d events: %.0f events/s\n' "$events" "$import_rate"
      printf 'ratio ingest/import = %.2f\n' "$(calc "$ingest_rate / $import_rate")"
    done
    ;;
  api)
    "$tenure" --db sqlite://api.db demo --accounts 10000 --seed 5 --end 2026-01-01 --days 30 --no-serve --quiet
    key=$("$tenure" --db sqlite://api.db keys create --role admin --name bench | tail -n 1)
    # Latency, not the per-key rate limit (50 requests/s by default), is measured here.
    start_server sqlite://api.db --rate-limit 100000000
    for path in "/api/v1/accounts?limit=50" "/api/v1/accounts?limit=50&sort=-employees&plan=growth" "/api/v1/accounts/acc-004242"; do
      echo "GET $path"
      wrk -t2 -c8 -d"${duration}s" --latency -H "Authorization: Bearer $key" "http://127.0.0.1:$port$path" > wrk.txt
      grep -E "^ +(50|75|90|99)%|Requests/sec|requests in" wrk.txt
      if grep -q "Non-2xx" wrk.txt; then
        grep "Non-2xx" wrk.txt; echo "error responses: the figures above are not valid" >&2; exit 1
      fi
    done
    ;;
  *) echo "usage: scripts/bench-serve.sh ingest | api" >&2; exit 2 ;;
esac
