"""Reference for `tenure-bench metrics`: the metrics of docs/METRICS.md in DuckDB SQL.

Reads the files `tenure demo --out DIR` writes (subscriptions.csv and
events.ndjson), computes the MRR family and the usage metrics for the same
periods as `tenure-bench metrics`, times them, and compares the numbers with
Tenure's. Run by scripts/bench.sh; see docs/PERFORMANCE.md.

usage: bench_duckdb.py DIR TENURE_JSON RUNS
"""

import json
import math
import sys
import time

import duckdb

RATES = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27}  # tenure.toml's defaults

MRR_KEYS = [
    "mrr_start", "mrr_end", "arr_end", "new_mrr", "expansion_mrr",
    "contraction_mrr", "churned_mrr", "reactivation_mrr", "nrr", "grr",
    "revenue_churn_rate", "logo_churn_rate", "accounts_start", "accounts_end",
    "arpa",
]
USAGE_KEYS = ["dau", "wau", "mau", "stickiness", "usage_rate",
              "avg_time_on_platform_minutes"]


def load(con, folder, windows):
    """Reads the files into tables: subscriptions converted to reporting
    cents; events inside the usage windows as (user, account, µs, day)."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE OR REPLACE TEMP TABLE rates (currency VARCHAR, rate DOUBLE)")
    con.executemany("INSERT INTO rates VALUES (?, ?)", list(RATES.items()))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE subs AS
        WITH raw AS (
            SELECT account_id,
                   CAST(CAST(mrr AS DECIMAL(18, 2)) * 100 AS BIGINT) AS minor,
                   coalesce(nullif(currency, ''), 'USD') AS currency,
                   CAST(nullif(seats, '') AS BIGINT) AS seats,
                   CAST(start_date AS DATE) AS start_d,
                   CAST(nullif(end_date, '') AS DATE) AS end_d
            FROM read_csv('{folder}/subscriptions.csv', all_varchar = true)
        )
        SELECT account_id, seats, start_d, end_d,
               CASE WHEN raw.currency = 'USD' THEN minor
                    ELSE CAST(round(minor * rates.rate) AS BIGINT) END AS mrr
        FROM raw JOIN rates USING (currency)
    """)
    cond = " OR ".join(
        f"(day BETWEEN DATE '{lo}' AND DATE '{hi}')" for lo, hi in windows)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ev AS
        SELECT user_id, account_id, us, day FROM (
            SELECT user_id, account_id, epoch_us(t) AS us, CAST(t AS DATE) AS day
            FROM (
                SELECT user_id, account_id, CAST("timestamp" AS TIMESTAMPTZ) AS t
                FROM read_json('{folder}/events.ndjson', format = 'newline_delimited',
                     columns = {{"timestamp": 'VARCHAR', account_id: 'VARCHAR',
                                 user_id: 'VARCHAR'}})
            )
        ) WHERE {cond}
    """)


def compute(con, periods):
    """Every MRR-family and usage metric for each (from, to) period."""
    con.execute("CREATE OR REPLACE TEMP TABLE periods (p_from DATE, p_to DATE)")
    con.executemany("INSERT INTO periods VALUES (?, ?)", periods)
    # Each account's MRR change points, netted per day, floored at zero.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE points AS
        WITH deltas AS (
            SELECT account_id, d, sum(delta) AS delta FROM (
                SELECT account_id, start_d AS d, mrr AS delta FROM subs
                WHERE mrr <> 0 AND (end_d IS NULL OR end_d > start_d)
                UNION ALL
                SELECT account_id, end_d, -mrr FROM subs
                WHERE mrr <> 0 AND end_d > start_d
            ) GROUP BY ALL
        ), running AS (
            SELECT account_id, d, greatest(sum(delta) OVER (
                PARTITION BY account_id ORDER BY d ROWS UNBOUNDED PRECEDING), 0) AS m
            FROM deltas
        ), changed AS (
            SELECT account_id, d, m, lag(m, 1, 0) OVER (
                PARTITION BY account_id ORDER BY d) AS before
            FROM running
        )
        SELECT account_id, d, before, m AS after,
               row_number() OVER (PARTITION BY account_id ORDER BY d) = 1 AS first
        FROM changed WHERE m <> before
    """)
    mrr = con.execute("""
        WITH acct AS (
            SELECT p_from, p_to, account_id,
                greatest(coalesce(sum(mrr) FILTER (WHERE start_d <= p_from - 1
                    AND (end_d IS NULL OR end_d > p_from - 1)), 0), 0) AS s,
                greatest(coalesce(sum(mrr) FILTER (WHERE start_d <= p_to
                    AND (end_d IS NULL OR end_d > p_to)), 0), 0) AS e
            FROM periods CROSS JOIN subs GROUP BY ALL
        ), state AS (
            SELECT p_from, p_to,
                sum(s) AS mrr_start, sum(e) AS mrr_end,
                count(*) FILTER (WHERE s > 0) AS accounts_start,
                count(*) FILTER (WHERE e > 0) AS accounts_end,
                sum(e) FILTER (WHERE s > 0) AS cohort_end,
                sum(least(s, e)) FILTER (WHERE s > 0) AS cohort_kept,
                count(*) FILTER (WHERE s > 0 AND e > 0) AS retained
            FROM acct GROUP BY ALL
        ), moves AS (
            SELECT p_from, p_to,
                sum(after) FILTER (WHERE before = 0 AND first) AS new_mrr,
                sum(after) FILTER (WHERE before = 0 AND NOT first) AS reactivation_mrr,
                sum(before) FILTER (WHERE after = 0) AS churned_mrr,
                sum(after - before) FILTER (WHERE before > 0 AND after > before)
                    AS expansion_mrr,
                sum(before - after) FILTER (WHERE after > 0 AND after < before)
                    AS contraction_mrr
            FROM periods JOIN points ON d BETWEEN p_from AND p_to
            GROUP BY ALL
        )
        SELECT CAST(state.p_from AS VARCHAR), CAST(state.p_to AS VARCHAR),
               mrr_start, mrr_end, accounts_start, accounts_end, cohort_end,
               cohort_kept, retained,
               coalesce(new_mrr, 0), coalesce(expansion_mrr, 0),
               coalesce(contraction_mrr, 0), coalesce(churned_mrr, 0),
               coalesce(reactivation_mrr, 0)
        FROM state LEFT JOIN moves USING (p_from, p_to)
        ORDER BY state.p_from
    """).fetchall()
    usage = con.execute("""
        WITH win AS (
            SELECT p_to AS e, user_id, account_id, us, day
            FROM periods JOIN ev ON day BETWEEN p_to - 29 AND p_to
        ), users AS (
            SELECT e, count(DISTINCT user_id) FILTER (WHERE day = e) AS dau,
                   count(DISTINCT user_id) FILTER (WHERE day >= e - 6) AS wau,
                   count(DISTINCT user_id) AS mau,
                   count(DISTINCT (user_id, day)) AS user_days
            FROM win GROUP BY e
        ), gaps AS (
            SELECT e, us - lag(us) OVER (PARTITION BY e, user_id ORDER BY us) AS gap
            FROM win
        ), sessions AS (
            SELECT e, coalesce(sum(gap) FILTER (WHERE gap <= 1800000000), 0) AS session_us
            FROM gaps GROUP BY e
        ), account_mau AS (
            SELECT e, account_id, count(DISTINCT user_id) AS mau FROM win GROUP BY ALL
        ), seats AS (
            SELECT p_to AS e, account_id, sum(subs.seats) AS seats
            FROM periods JOIN subs ON subs.seats IS NOT NULL AND start_d <= p_to
                 AND (end_d IS NULL OR end_d > p_to)
            GROUP BY ALL
        ), usage_rate AS (
            SELECT e, sum(least(coalesce(account_mau.mau, 0), seats.seats)) AS used,
                   sum(seats.seats) AS seats
            FROM seats LEFT JOIN account_mau USING (e, account_id) GROUP BY e
        )
        SELECT CAST(p_to AS VARCHAR), coalesce(dau, 0), coalesce(wau, 0),
               coalesce(mau, 0), coalesce(user_days, 0),
               coalesce(session_us, 0), used, seats
        FROM periods
        LEFT JOIN users ON users.e = p_to
        LEFT JOIN sessions ON sessions.e = p_to
        LEFT JOIN usage_rate ON usage_rate.e = p_to
        ORDER BY p_to
    """).fetchall()
    by_end = {u[0]: u for u in usage}
    out = []
    for (p_from, p_to, s, e, a_s, a_e, c_end, c_kept, retained,
         new, exp, con_, churn, react) in mrr:
        def div(a, b):
            return None if not b else a / b
        grr = div(c_kept, s)
        row = {
            "from": p_from, "to": p_to,
            "mrr_start": s / 100, "mrr_end": e / 100, "arr_end": 12 * e / 100,
            "new_mrr": new / 100, "expansion_mrr": exp / 100,
            "contraction_mrr": con_ / 100, "churned_mrr": churn / 100,
            "reactivation_mrr": react / 100,
            "nrr": div(c_end, s), "grr": grr,
            "revenue_churn_rate": None if grr is None else 1 - grr,
            "logo_churn_rate": div(a_s - retained, a_s),
            "accounts_start": a_s, "accounts_end": a_e,
            "arpa": div(e / 100, a_e),
        }
        _, dau, wau, mau, user_days, session_us, used, seats = by_end[p_to]
        row.update({
            "dau": dau, "wau": wau, "mau": mau,
            "stickiness": div(user_days, 30 * mau),
            "usage_rate": div(used, seats),
            "avg_time_on_platform_minutes": div(session_us / 60e6, mau),
        })
        out.append(row)
    return out


def windows_of(periods):
    days = set()
    import datetime as dt
    for _, to in periods:
        end = dt.date.fromisoformat(to)
        days.add((str(end - dt.timedelta(days=29)), to))
    return sorted(days)


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def main():
    folder, tenure_json, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tenure = json.load(open(tenure_json))
    result = {}
    for name in ["quarter", "series"]:
        w = tenure[name]
        rows = w["metrics"] if isinstance(w["metrics"], list) else [w["metrics"]]
        if name == "series":
            periods = [(r["from"], r["to"]) for r in rows]
        else:
            periods = [(w["from"], w["to"])]
            rows = [dict(rows[0], **{"from": w["from"], "to": w["to"]})]
        windows = windows_of(periods)
        total, query = [], []
        for _ in range(runs):
            con = duckdb.connect()
            t0 = time.perf_counter()
            load(con, folder, windows)
            t1 = time.perf_counter()
            ref = compute(con, periods)
            t2 = time.perf_counter()
            total.append(t2 - t0)
            query.append(t2 - t1)
            con.close()
        mismatches = []
        for mine, theirs in zip(rows, ref):
            for key in MRR_KEYS + USAGE_KEYS:
                if not same(mine.get(key), theirs[key]):
                    mismatches.append(
                        f"{theirs['from']}..{theirs['to']} {key}: "
                        f"tenure {mine.get(key)}, duckdb {theirs[key]}")
        tenure_best = min(r["seconds"] for r in w["runs"])
        result[name] = {
            "from": periods[0][0], "to": periods[-1][1],
            "periods": len(periods),
            "tenure_seconds": [r["seconds"] for r in w["runs"]],
            "duckdb_total_seconds": total,
            "duckdb_query_seconds": query,
            "ratio_to_duckdb_total": tenure_best / min(total),
            "ratio_to_duckdb_query": tenure_best / min(query),
            "keys_compared": len(MRR_KEYS + USAGE_KEYS) * len(periods),
            "mismatches": mismatches,
        }
    print(json.dumps(result, indent=2))
    if any(r["mismatches"] for r in result.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
