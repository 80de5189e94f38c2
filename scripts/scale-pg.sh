#!/usr/bin/env bash
# The figures of docs/SCALE.md, on a throwaway PostgreSQL server:
#   scripts/scale-pg.sh [ACCOUNTS]        # default 2000
# Loads the demo company into an unpartitioned database and into one
# partitioned by month before the load, prints each database's bytes per
# event, converts a copy of the first with deploy/postgres/partition-events.sql
# (timed), imports 500,000 events with message ids into both (timed, with the
# bytes they add) and times `tenure metrics` and `tenure health` on both.
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=${1:-2000}
end=2026-11-30            # the demo's last day; its history starts 730 days before
script=$PWD/deploy/postgres/partition-events.sql

cargo build --release -q -p tenure
tenure=$PWD/target/release/tenure
work=$(mktemp -d -t tenure-scale.XXXXXX)
eval "$(scripts/pg.sh start)"
trap 'scripts/pg.sh stop "$TENURE_PG_DIR"; rm -rf "$work"' EXIT
base=${TEST_DATABASE_URL%/*}

q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f} s')" "$1" "$(now)"; }

echo "PostgreSQL $(q "$TEST_DATABASE_URL" -c 'SHOW server_version'), $(nproc) cores; the server runs with fsync=off (scripts/pg.sh)"
q "$TEST_DATABASE_URL" -c "CREATE DATABASE plain" -c "CREATE DATABASE parted"

# The partitioned database: schema, conversion of the empty table, and a
# partition for every month of the demo's history before loading it.
"$tenure" --db "$base/parted" db migrate >/dev/null
q "$base/parted" -f "$script" >/dev/null
q "$base/parted" -c "SELECT count(events_add_month(m::date)) FROM generate_series(
    date '$end' - 730, date '$end', interval '1 month') m" >/dev/null

for db in plain parted; do
  mkdir -p "$work/$db"
  t=$(now)
  (cd "$work/$db" && "$tenure" --db "$base/$db" demo --accounts "$accounts" --end "$end" --no-serve -q)
  echo "demo load, $accounts accounts, into $db: $(since "$t")"
done

sizes() {
  q "$base/$1" -F ' ' -c "
    WITH t AS (SELECT c.oid FROM pg_class c WHERE c.oid = 'events'::regclass
               UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = 'events'::regclass),
    s AS (SELECT sum(pg_total_relation_size(oid)) total, sum(pg_relation_size(oid)) heap FROM t),
    n AS (SELECT count(*) n, count(message_id) ids FROM events)
    SELECT format('$1: %s events (%s with a message id), %s bytes with indexes: %s bytes per event (heap %s, indexes %s)',
      n, ids, total, round(total / n::numeric, 1), round(heap / n::numeric, 1), round((total - heap) / n::numeric, 1))
    FROM s, n"
  for r in usage_days usage_users usage_user_first usage_totals event_message_ids; do
    [ "$(q "$base/$1" -c "SELECT to_regclass('$r') IS NOT NULL")" = t ] || continue
    q "$base/$1" -c "SELECT format('  %s: %s rows, %s bytes, %s bytes per row', '$r', count(*),
      pg_total_relation_size('$r'), round(pg_total_relation_size('$r') / greatest(count(*), 1)::numeric, 1))
      FROM $r"
  done
}
for db in plain parted; do q "$base/$db" -c "VACUUM ANALYZE" ; sizes "$db"; done

# Converting the loaded unpartitioned database, on a copy of it.
q "$TEST_DATABASE_URL" -c "CREATE DATABASE converted TEMPLATE plain"
t=$(now)
q "$base/converted" -f "$script" >/dev/null
echo "partition-events.sql on the loaded demo ($accounts accounts): $(since "$t")"
q "$base/converted" -c "VACUUM ANALYZE"
sizes converted
q "$TEST_DATABASE_URL" -c "DROP DATABASE converted"

# 500,000 events with Segment-style message ids (random UUIDs), in November
# 2026, imported through tenure import into both.
python3 - "$work/ids.csv" "$accounts" <<'EOF'
import datetime, random, sys, uuid
random.seed(7)
names = ["dashboard_viewed", "report_created", "login", "export_created", "api_call"]
start = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
with open(sys.argv[1], "w") as f:
    f.write("timestamp,account_id,user_id,event,message_id\n")
    for _ in range(500_000):
        a = random.randrange(int(sys.argv[2]))
        t = start + datetime.timedelta(seconds=random.randrange(30 * 86400))
        f.write(f"{t:%Y-%m-%dT%H:%M:%SZ},acc-{a:06d},acc-{a:06d}-u{random.randrange(8)},"
                f"{random.choice(names)},{uuid.UUID(int=random.getrandbits(128), version=4)}\n")
EOF
for db in plain parted; do
  t=$(now)
  "$tenure" --db "$base/$db" import events "$work/ids.csv" >/dev/null
  echo "tenure import of 500,000 events with message ids into $db: $(since "$t")"
  q "$base/$db" -c "VACUUM ANALYZE"
  sizes "$db"
done

# Reads: the metrics of November (usage windows from the raw events) and
# the health scores on the last day (from the rollups), three runs each.
for db in plain parted; do
  for run in 1 2 3; do
    t=$(now)
    (cd "$work/$db" && "$tenure" --db "$base/$db" metrics --from 2026-11-01 --to 2026-11-30 >/dev/null)
    m=$(since "$t")
    t=$(now)
    (cd "$work/$db" && "$tenure" --db "$base/$db" health --as-of "$end" --format json >/dev/null)
    echo "$db run $run: tenure metrics (November) $m, tenure health (as of $end) $(since "$t")"
  done
done
