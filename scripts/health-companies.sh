#!/usr/bin/env bash
# The default health scorecard on differently shaped companies (results go
# in docs/PERFORMANCE.md, "Health on other companies"):
#
#   scripts/health-companies.sh
#
# Generates each company with the demo simulator (`tenure demo --out`),
# reshapes its files, imports them into a fresh SQLite database with the
# configuration `tenure init` writes, and backtests three scorecards on the
# same accounts and dates: the threshold scorecard (the default until
# 2026-12-07, crates/tenure-core/src/health/thresholds.toml), the adaptive
# scorecard (crates/tenure-core/src/health/adaptive.toml, the one `tenure
# init` writes) and a plain baseline, the events of the last 30 days ranked
# as a score. The companies:
#
#   demo-2k      the demo company as `tenure demo` makes it, 2,000 accounts
#   demo-6k      the demo at another scale and seed, 6,000 accounts
#   renamed      other event names (none the default card lists) and about a
#                third of the events, 2,000 accounts of another seed
#   usage-only   accounts, subscriptions without seats and events only (no
#                contacts, surveys, tickets or engagements), other event
#                names and 60 % of the events, 2,000 accounts of another seed
#
# Backtest: the first of each month from 2025-10-01 to 2026-09-01, churn
# within 90 days, history ending 2026-12-01. Prints a Markdown table.
# TENURE_BIN runs another build (the default builds and runs the release
# binary); KEEP=1 keeps the work folder.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TENURE_BIN:-}" ]; then
  cargo build --release -p tenure >&2
fi
tenure=${TENURE_BIN:-$PWD/target/release/tenure}
work=$(mktemp -d -t tenure-companies.XXXXXX)
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; else echo "work folder: $work" >&2; fi
adaptive=$PWD/crates/tenure-core/src/health/adaptive.toml
thresholds=$PWD/crates/tenure-core/src/health/thresholds.toml
cd "$work"
cp "$adaptive" adaptive.toml
cp "$thresholds" thresholds.toml

end=2026-12-01
from=2025-10-01
to=2026-09-01

# The baseline: events of the last 30 days as the score.
cat > baseline.toml <<'TOML'
[[health.measures]]
name = "Events (30 days)"
kind = "event_count"
window_days = 30
weight = 1
linear = { min = 0, max = 1000000000 }
TOML

# reshape DIR RENAME KEEP_PERCENT USAGE_ONLY: renames events (RENAME=1),
# keeps about KEEP_PERCENT % of them (by a hash of the row, so the same
# every run), and with USAGE_ONLY=1 drops seats and every file but
# accounts, subscriptions and events.
reshape() {
  python3 - "$@" <<'PY'
import csv, json, os, sys, zlib
folder, rename, keep, usage_only = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), sys.argv[4] == "1"
names = {
    "dashboard_viewed": "Page Viewed", "report_created": "Document Edited",
    "login": "Signed In", "export_created": "File Downloaded",
    "api_call": "API Request", "integration_synced": "Workflow Run",
    "invite_sent": "Teammate Invited",
}
src, dst = os.path.join(folder, "events.ndjson"), os.path.join(folder, "events.tmp")
with open(src) as f, open(dst, "w") as out:
    for line in f:
        if keep < 100 and zlib.crc32(line.encode()) % 100 >= keep:
            continue
        if rename:
            e = json.loads(line)
            e["event"] = names.get(e["event"], e["event"])
            line = json.dumps(e) + "\n"
        out.write(line)
os.replace(dst, src)
if usage_only:
    path = os.path.join(folder, "subscriptions.csv")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        for r in rows:
            r["seats"] = ""
            w.writerow(r)
    for kind in ["contacts", "tickets", "survey_responses", "engagements"]:
        os.remove(os.path.join(folder, kind + ".csv"))
PY
}

# company NAME ACCOUNTS SEED RENAME KEEP_PERCENT USAGE_ONLY
company() {
  local name=$1 accounts=$2 seed=$3
  mkdir "$name"
  (
    cd "$name"
    "$tenure" demo --out data --accounts "$accounts" --seed "$seed" --end "$end" --quiet
    reshape data "$4" "$5" "$6"
    "$tenure" init >/dev/null 2>&1
    local db=sqlite://company.db
    for kind in accounts subscriptions contacts tickets survey_responses engagements; do
      if [ -f "data/$kind.csv" ]; then
        "$tenure" import --db "$db" --quiet "$kind" "data/$kind.csv" >/dev/null
      fi
    done
    "$tenure" import --db "$db" --quiet events data/events.ndjson >/dev/null
    "$tenure" health backtest --db "$db" --from "$from" --to "$to" --horizon 90 \
      --scorecard ../thresholds.toml --scorecard ../adaptive.toml --scorecard ../baseline.toml \
      --format json > backtest.json
    # Which inputs the company lacks, as `tenure health` says it (with the
    # adaptive scorecard).
    python3 - <<'PY'
base = open("tenure.toml").read()
start = base.index("[health.bands]")
end = base.index("\n# ----", start)
open("adaptive-config.toml", "w").write(base[:start] + open("../adaptive.toml").read() + base[end:])
PY
    "$tenure" health --db "$db" --config adaptive-config.toml --as-of "$to" 2>&1 >/dev/null \
      | grep "lacks" > lacks.txt || true
  )
  echo "$name $accounts" >> companies.txt
}

company demo-2k 2000 42 0 100 0
company demo-6k 6000 11 0 100 0
company renamed 2000 7 1 35 0
company usage-only 2000 23 1 60 1

python3 - <<'PY'
import json
print("| company | accounts | account-months | churn rate | scorecard | AUC | AUC − baseline | churned while green | churn rate red / yellow / green | share red / yellow / green |")
print("|---|---:|---:|---:|---|---:|---:|---:|---|---|")
pct = lambda x: "–" if x is None else f"{100 * x:.1f} %"
share = lambda n, t: f"{100 * n / t:.0f} %"
for line in open("companies.txt"):
    name, accounts = line.split()
    r = json.load(open(f"{name}/backtest.json"))
    current, adaptive, base = r["scorecards"]
    for label, card in [("threshold (former default)", current), ("adaptive (default)", adaptive), ("baseline: 30-day events", base)]:
        b = card["churn_rate_by_band"]
        total = card["accounts"] or 1
        bands = card is not base
        print(
            f"| {name} | {int(accounts):,} | {card['accounts']:,} | {pct(card['churn_rate'])} "
            f"| {label} | {card['auc']:.3f} | {card['auc'] - base['auc']:+.3f} "
            f"| {pct(card['churned_while_green']) if bands else '–'} "
            f"| {' / '.join(pct(b[k]['churn_rate']) for k in ('red', 'yellow', 'green')) if bands else '–'} "
            f"| {' / '.join(share(b[k]['accounts'], total) for k in ('red', 'yellow', 'green')) if bands else '–'} |"
        )
print()
for line in open("companies.txt"):
    name = line.split()[0]
    lacks = open(f"{name}/lacks.txt").read().strip()
    if lacks:
        print(f"- {name}: {lacks}")
PY
