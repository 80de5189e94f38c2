# The DuckDB reference of `tenure-bench health`: the threshold scorecard's
# measures and score for every scored account as of one day, in one SQL query
# over the same data Tenure scored (exported as CSV by the benchmark).
#
# Usage: python bench_health.py WORK_DIR AS_OF_DATE RUNS
# Prints one JSON object: load time, query times, DuckDB version, scores.
import json
import os
import sys
import time

import duckdb

work, as_of, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
DAY = 86_400_000_000
db_path = os.path.join(work, "bench.duckdb")
fresh = not os.path.exists(db_path)
con = duckdb.connect(db_path)

load_s = None
if fresh:
    t = time.perf_counter()
    csv = lambda name: os.path.join(work, "csv", name)
    con.execute(f"""
        CREATE TABLE accounts AS SELECT * FROM read_csv('{csv("accounts.csv")}', header = true,
            columns = {{'id': 'VARCHAR', 'trial_start': 'DATE', 'trial_end': 'DATE'}});
        CREATE TABLE subscriptions AS SELECT * FROM read_csv('{csv("subscriptions.csv")}', header = true,
            columns = {{'account_id': 'VARCHAR', 'mrr_minor': 'BIGINT', 'currency': 'VARCHAR',
                        'seats': 'BIGINT', 'start_date': 'DATE', 'end_date': 'DATE', 'renewal_date': 'DATE'}});
        CREATE TABLE events AS SELECT * FROM read_csv('{csv("events.csv")}', header = true,
            columns = {{'account_id': 'VARCHAR', 'user_id': 'VARCHAR', 'event': 'VARCHAR', 'ts': 'BIGINT'}});
        CREATE TABLE tickets AS SELECT * FROM read_csv('{csv("tickets.csv")}', header = true,
            columns = {{'account_id': 'VARCHAR', 'opened_at': 'BIGINT', 'closed_at': 'BIGINT', 'priority': 'VARCHAR'}});
        CREATE TABLE survey_responses AS SELECT * FROM read_csv('{csv("survey_responses.csv")}', header = true,
            columns = {{'account_id': 'VARCHAR', 'kind': 'VARCHAR', 'score': 'BIGINT', 'responded_at': 'BIGINT'}});
        CREATE TABLE engagements AS SELECT * FROM read_csv('{csv("engagements.csv")}', header = true,
            columns = {{'account_id': 'VARCHAR', 'occurred_at': 'BIGINT'}});
        CHECKPOINT;
    """)
    load_s = time.perf_counter() - t

day = con.execute(f"SELECT DATE '{as_of}' - DATE '1970-01-01'").fetchone()[0]
E = (day + 1) * DAY  # end of the as-of day
E30 = E - 30 * DAY
E60 = E - 60 * DAY

# The threshold scorecard (docs/HEALTH.md; the default before the adaptive
# one, crates/tenure-core/src/health/thresholds.toml). Payment failures are not tracked
# in the demo data, so that measure has no data and is left out.
SQL = f"""
WITH subs AS (
    SELECT account_id, SUM(mrr_minor) AS mrr, SUM(seats) AS seats,
        MIN(renewal_date) FILTER (WHERE renewal_date >= DATE '{as_of}') AS next_renewal
    FROM subscriptions
    WHERE start_date <= DATE '{as_of}' AND (end_date IS NULL OR end_date > DATE '{as_of}')
    GROUP BY account_id
), usage AS (
    -- Only the 60-day look-back of the measures, as Tenure reads.
    SELECT account_id,
        COUNT(DISTINCT user_id) FILTER (WHERE ts >= {E30}) AS active30,
        COUNT(*) FILTER (WHERE ts >= {E30}) AS ev_last,
        COUNT(*) FILTER (WHERE ts < {E30}) AS ev_prev,
        COUNT(DISTINCT event) FILTER (WHERE ts >= {E30}
            AND event IN ('report_created', 'integration_synced')) AS feats
    FROM events WHERE ts >= {E60} AND ts < {E} GROUP BY account_id
), known AS (
    -- Users ever seen: the denominator only where no seat count is known.
    SELECT account_id, COUNT(DISTINCT user_id) AS known FROM events
    WHERE ts < {E} AND account_id IN (
        SELECT a.id FROM accounts a LEFT JOIN subs s ON s.account_id = a.id
        WHERE COALESCE(s.seats, 0) = 0)
    GROUP BY account_id
), nps AS (
    SELECT account_id, MAX(responded_at) AS at,
        AVG(score) FILTER (WHERE responded_at = latest) AS score
    FROM (SELECT *, MAX(responded_at) OVER (PARTITION BY account_id) AS latest
          FROM survey_responses WHERE kind = 'nps' AND responded_at < {E})
    GROUP BY account_id
), tix AS (
    SELECT account_id, SUM(CASE priority WHEN 'low' THEN 0.5 WHEN 'high' THEN 2
                                         WHEN 'urgent' THEN 4 ELSE 1 END) AS open_w
    FROM tickets WHERE opened_at < {E} AND (closed_at IS NULL OR closed_at >= {E})
    GROUP BY account_id
), eng AS (
    SELECT account_id, MAX(occurred_at) AS last FROM engagements
    WHERE occurred_at < {E} GROUP BY account_id
), raw AS (
    SELECT a.id,
        COALESCE(u.active30, 0) / COALESCE(NULLIF(s.seats, 0), NULLIF(k.known, 0)) AS au,
        CASE WHEN u.ev_prev > 0 THEN u.ev_last / u.ev_prev END AS trend,
        COALESCE(u.feats, 0) / 2.0 AS feat,
        CASE WHEN {day} - floor(n.at / {DAY}) < 365 THEN n.score END AS nps,
        COALESCE(t.open_w, 0) AS tickets,
        {day} - floor(e.last / {DAY}) AS since_eng,
        s.next_renewal - DATE '{as_of}' AS to_renewal
    FROM accounts a
    LEFT JOIN usage u ON u.account_id = a.id
    LEFT JOIN known k ON k.account_id = a.id
    LEFT JOIN subs s ON s.account_id = a.id
    LEFT JOIN nps n ON n.account_id = a.id
    LEFT JOIN tix t ON t.account_id = a.id
    LEFT JOIN eng e ON e.account_id = a.id
    WHERE COALESCE(s.mrr, 0) > 0
       OR (a.trial_start <= DATE '{as_of}' AND DATE '{as_of}' <= a.trial_end)
), points AS (
    SELECT id,
        CASE WHEN au IS NULL THEN NULL WHEN au >= 0.75 THEN 100 WHEN au >= 0.5 THEN 80
             WHEN au >= 0.25 THEN 50 WHEN au >= 0.1 THEN 20 ELSE 0 END AS p_au,
        CASE WHEN trend IS NULL THEN NULL WHEN trend >= 1.1 THEN 100 WHEN trend >= 0.95 THEN 85
             WHEN trend >= 0.8 THEN 60 WHEN trend >= 0.5 THEN 25 ELSE 0 END AS p_trend,
        LEAST(GREATEST(feat, 0), 1) * 100 AS p_feat,
        CASE WHEN nps IS NULL THEN NULL WHEN nps >= 9 THEN 100 WHEN nps >= 7 THEN 70
             WHEN nps >= 5 THEN 30 ELSE 0 END AS p_nps,
        CASE WHEN tickets >= 10 THEN 0 WHEN tickets >= 6 THEN 20 WHEN tickets >= 3 THEN 50
             WHEN tickets >= 1 THEN 80 ELSE 100 END AS p_tickets,
        CASE WHEN since_eng IS NULL THEN NULL
             ELSE 100 - LEAST(GREATEST((since_eng - 14) / 106.0, 0), 1) * 100 END AS p_eng,
        CASE WHEN to_renewal IS NULL THEN NULL WHEN to_renewal >= 90 THEN 100
             WHEN to_renewal >= 30 THEN 70 ELSE 40 END AS p_renewal
    FROM raw
)
SELECT id,
    (COALESCE(25 * p_au, 0) + COALESCE(15 * p_trend, 0) + 15 * p_feat + COALESCE(10 * p_nps, 0)
       + 10 * p_tickets + COALESCE(10 * p_eng, 0) + COALESCE(5 * p_renewal, 0))
    / (CASE WHEN p_au IS NULL THEN 0 ELSE 25 END + CASE WHEN p_trend IS NULL THEN 0 ELSE 15 END
       + 15 + CASE WHEN p_nps IS NULL THEN 0 ELSE 10 END + 10
       + CASE WHEN p_eng IS NULL THEN 0 ELSE 10 END + CASE WHEN p_renewal IS NULL THEN 0 ELSE 5 END)
    AS score
FROM points
"""

times = []
rows = []
for _ in range(runs):
    t = time.perf_counter()
    rows = con.execute(SQL).fetchall()
    times.append(time.perf_counter() - t)

print(json.dumps({
    "duckdb_version": duckdb.__version__,
    "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
    "load_s": load_s,
    "query_s": times,
    "scores": {r[0]: r[1] for r in rows},
}))
