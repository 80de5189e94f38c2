//! Every earlier schema migrates forward with its data: for each migration
//! N, a database is built at schema N (migrations 1..=N), a row is written
//! to every table that exists then, and the full migrator runs; every row
//! must still be there, column for column, the rollups that later
//! migrations build from events must hold them, and the schema must be
//! current. Runs on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is
//! set (`scripts/pg.sh`), through the same test database helper.
//!
//! A new migration that adds a table needs a row in [`ROWS`]: the last
//! check fails until every table of the current schema has one.

use sqlx::{AssertSqlSafe, Connection};
use tenure_store::Store;
use tenure_store::backup::latest_version;
use tenure_store::testing::fresh_url;

/// A row for one table, valid from the migration that made the table:
/// columns and SQL literals (both backends read them alike; timestamps are
/// microseconds, 1735725600000000 is 2025-01-01T10:00:00Z). Lists in
/// insertion order (parents before children); identity columns are left
/// to the database.
struct Fixture {
    since: i64,
    table: &'static str,
    columns: &'static str,
    values: &'static str,
}

const fn row(
    since: i64,
    table: &'static str,
    columns: &'static str,
    values: &'static str,
) -> Fixture {
    Fixture {
        since,
        table,
        columns,
        values,
    }
}

const ROWS: &[Fixture] = &[
    row(
        1,
        "accounts",
        "id, name, industry, employees, region, plan, csm_email, created_at, trial_start, trial_end, attributes",
        "'acc-m', 'Migrated Corp', 'Software', 120, 'EMEA', 'growth', 'cs@vendor.example', '2024-01-02', '2024-01-01', '2024-01-15', '{\"tier\":\"gold\"}'",
    ),
    row(
        1,
        "contacts",
        "id, account_id, email, name, role, champion",
        "'con-m', 'acc-m', 'ada@migrated.example', 'Ada', 'admin', 1",
    ),
    row(
        1,
        "subscriptions",
        "id, account_id, mrr_minor, currency, plan, seats, start_date, end_date, renewal_date",
        "'sub-m', 'acc-m', 120050, 'USD', 'growth', 10, '2024-01-01', NULL, '2025-01-01'",
    ),
    row(
        1,
        "events",
        "account_id, user_id, event, ts, properties, message_id",
        "'acc-m', 'u-m', 'login', 1735725600000000, '{\"size\":3}', 'msg-m'",
    ),
    row(
        1,
        "tickets",
        "id, account_id, opened_at, closed_at, priority, first_contact_resolved, csat",
        "'tic-m', 'acc-m', 1735725600000000, 1735732800000000, 'high', 1, 4",
    ),
    row(
        1,
        "survey_responses",
        "id, account_id, contact_id, kind, score, responded_at, comment",
        "'res-m', 'acc-m', 'con-m', 'nps', 9, 1735725600000000, 'Great, thanks'",
    ),
    row(
        1,
        "engagements",
        "id, account_id, kind, occurred_at, csm_email, notes",
        "'eng-m', 'acc-m', 'business_review', 1735725600000000, 'cs@vendor.example', 'QBR'",
    ),
    row(
        1,
        "users",
        "id, email, name, role, password_hash, created_at, disabled",
        "'usr-m', 'lead@vendor.example', 'Lea', 'leader', '$argon2id$m', 1735725600000000, 0",
    ),
    row(
        1,
        "api_keys",
        "id, name, kind, role, prefix, key_hash, created_at",
        "'key-m', 'ci', 'api', 'admin', 'tk_abc', 'hash-m', 1735725600000000",
    ),
    row(
        1,
        "import_log",
        "file_name, kind, rows_read, inserted, updated, checksum, imported_at, duration_ms",
        "'accounts.csv', 'accounts', 1, 1, 0, 'sha-m', 1735725600000000, 12",
    ),
    row(
        2,
        "sessions",
        "token_hash, user_id, csrf_token, created_at, expires_at",
        "'tok-m', 'usr-m', 'csrf-m', 1735725600000000, 1736330400000000",
    ),
    row(
        2,
        "ingest_messages",
        "message_id, received_at",
        "'ing-m', 1735725600000000",
    ),
    row(
        2,
        "segment_users",
        "user_id, account_id, email, name, role, updated_at",
        "'u-m', 'acc-m', 'u@migrated.example', 'U', 'member', 1735725600000000",
    ),
    row(
        2,
        "pending_events",
        "user_id, event, ts, properties, message_id, received_at",
        "'u-p', 'login', 1735725600000000, '{}', 'pend-m', 1735725600000000",
    ),
    row(
        2,
        "webhook_events",
        "id, event_type, received_at",
        "'evt_m', 'invoice.payment_failed', 1735725600000000",
    ),
    row(
        2,
        "billing_customers",
        "customer_id, account_id, updated_at",
        "'cus_m', 'acc-m', 1735725600000000",
    ),
    row(
        2,
        "billing_subscriptions",
        "stripe_id, account_id, current_row, rows_made, updated_at",
        "'sub_stripe_m', 'acc-m', 'sub-m', 1, 1735725600000000",
    ),
    row(
        2,
        "payment_failures",
        "id, account_id, occurred_at, amount_minor, currency, invoice_id",
        "'pf-m', 'acc-m', 1735725600000000, 120050, 'USD', 'in_m'",
    ),
    row(
        3,
        "health_scorecards",
        "version, name, measures, first_used_at",
        "'v-m', 'default', '[]', 1735725600000000",
    ),
    row(
        3,
        "health_snapshots",
        "account_id, day, score, band, computed, override_id, scorecard_version, measures, computed_at",
        "'acc-m', '2025-01-01', 71.5, 'green', 71.5, 1, 'v-m', '[[1,2,3]]', 1735725600000000",
    ),
    row(
        3,
        "health_overrides",
        "account_id, score, reason, author, set_on, valid_until, created_at",
        "'acc-m', 80.0, 'renewal signed', 'lea', '2025-01-01', '2025-02-01', 1735725600000000",
    ),
    row(
        3,
        "audit_log",
        "at, actor, action, entity, entity_id, details",
        "1735725600000000, 'lea', 'health.override.set', 'account', 'acc-m', '{}'",
    ),
    row(
        8,
        "engage_runs",
        "account_id, dimension, name, tier, entered_on, left_on",
        "'acc-m', 'stage', 'adopt', 'high', '2025-01-01', '2025-02-01'",
    ),
    row(
        10,
        "success_plans",
        "id, account_id, name, status, started_on, created_at, updated_at",
        "'plan-m', 'acc-m', 'Onboarding', 'active', '2025-01-01', 1735725600000000, 1735725600000000",
    ),
    row(
        10,
        "plan_templates",
        "plan_id, template, applied_on",
        "'plan-m', 'onboarding', '2025-01-01'",
    ),
    row(
        10,
        "plan_goals",
        "id, plan_id, account_id, name, metric, target, at_most, position",
        "'goal-m', 'plan-m', 'acc-m', 'Active users', 'active_users', 10.0, 0, 0",
    ),
    row(
        10,
        "plan_milestones",
        "id, plan_id, account_id, name, due_on, owner_role, status, position",
        "'ms-m', 'plan-m', 'acc-m', 'Kickoff', '2025-01-15', 'csm', 'open', 0",
    ),
    row(
        10,
        "proven_value",
        "id, plan_id, account_id, title, delivered_on, confirmed, created_at",
        "'pv-m', 'plan-m', 'acc-m', 'Saved 10 hours a week', '2025-01-20', 1, 1735725600000000",
    ),
    row(
        10,
        "tasks",
        "id, account_id, title, status, priority, source, created_at",
        "'task-m', 'acc-m', 'Call Ada', 'open', 'high', 'manual', 1735725600000000",
    ),
    row(
        11,
        "outbox",
        "id, kind, target, subject, body, status, attempts, created_at, source, account_id",
        "'out-m', 'email', 'ada@migrated.example', 'Hi', 'Hello', 'queued', 0, 1735725600000000, 'test', 'acc-m'",
    ),
    row(
        12,
        "risk_flags",
        "id, account_id, reason, source, flagged_on, created_at",
        "'flag-m', 'acc-m', 'usage drop', 'manual', '2025-01-01', 1735725600000000",
    ),
    row(
        12,
        "risk_measures",
        "day, segment, accounts_at_risk, arr_at_risk, total_arr",
        "'2025-01-01', 'all', 1, 1440600, 1440600",
    ),
    row(
        12,
        "risk_threshold_state",
        "threshold, above, since, last_day",
        "'arr_at_risk', 1, '2025-01-01', '2025-01-02'",
    ),
    row(
        12,
        "risk_reviews",
        "id, opened_on, crossed, status, created_at",
        "'rev-m', '2025-01-02', 'ARR at risk over 10%', 'open', 1735725600000000",
    ),
    row(
        12,
        "risk_review_items",
        "review_id, account_id, arr, reason",
        "'rev-m', 'acc-m', 1440600, 'usage drop'",
    ),
    row(
        13,
        "play_enrolments",
        "id, playbook, version, account_id, enrolled_on, trigger, inputs",
        "'enr-m', 'save', 'v1', 'acc-m', '2025-01-01', 'health < 40', '{}'",
    ),
    row(
        13,
        "play_actions",
        "enrolment_id, action, run_on, result, detail",
        "'enr-m', 0, '2025-01-01', 'done', 'task-m'",
    ),
    row(
        13,
        "account_notes",
        "id, account_id, day, text, source",
        "'note-m', 'acc-m', '2025-01-01', 'Flagged by save', 'playbook:save'",
    ),
    row(
        15,
        "risk_digests",
        "day, recipients, created_at",
        "'2025-01-06', 2, 1735725600000000",
    ),
    row(
        16,
        "survey_sends",
        "id, survey, kind, channel, account_id, contact_id, token_hash, sent_on, sent_at, expires_at",
        "'send-m', 'nps-q', 'nps', 'email', 'acc-m', 'con-m', 'th-m', '2025-01-01', 1735725600000000, 1736330400000000",
    ),
    row(
        16,
        "survey_unsubscribes",
        "contact_id, unsubscribed_at",
        "'con-m', 1735725600000000",
    ),
    row(
        17,
        "feedback_items",
        "id, account_id, source, text, day, created_at",
        "'fb-m', 'acc-m', 'api', 'Export is slow', '2025-01-01', 1735725600000000",
    ),
    row(
        17,
        "feedback_themes",
        "item_id, theme, position",
        "'fb-m', 'performance', 0",
    ),
    row(
        17,
        "product_requests",
        "id, title, status, created_at, status_on",
        "'req-m', 'Faster export', 'open', 1735725600000000, '2025-01-01'",
    ),
    row(
        17,
        "product_request_accounts",
        "request_id, account_id, added_on",
        "'req-m', 'acc-m', '2025-01-01'",
    ),
    row(
        18,
        "survey_schedules",
        "id, survey, send_on, status, created_by, created_at",
        "'sch-m', 'nps-q', '2025-02-01', 'scheduled', 'lea', 1735725600000000",
    ),
    row(
        20,
        "crm_records",
        "crm, object, id, first_seen, last_seen",
        "'salesforce', 'accounts', 'acc-m', 1735725600000000, 1735725600000000",
    ),
    row(
        21,
        "churn_models",
        "version, trained_at, horizon_days, train_from, train_to, test_from, test_to, health_version, model, metrics",
        "1, 1735725600000000, 90, '2024-01-01', '2024-06-01', '2024-09-01', '2024-12-01', 'h1', '{}', '{}'",
    ),
    row(
        22,
        "churn_predictions",
        "day, account_id, model_version, probability, band, reasons",
        "'2025-01-01', 'acc-m', 1, 0.25, 'yellow', '[]'",
    ),
    row(
        23,
        "crm_webhook_state",
        "account_id, health_band, at_risk, segment, tier, stage, nps, queued_at, message_id",
        "'acc-m', 'green', 0, 'Scale', 'pooled', 'Adopt', 9, 1735725600000000, 'out-m'",
    ),
    row(
        24,
        "job_runs",
        "job, instance, day, data_key, started_at, finished_at, outcome, written, error",
        "'daily', 'host:1', '2025-01-01', '1,2,3', 1735725600000000, 1735725601000000, 'ok', 3, NULL",
    ),
    row(
        24,
        "job_leases",
        "job, instance, expires_at",
        "'daily', 'host:1', 1735726200000000",
    ),
];

/// Tables filled from `events` (by the migration that makes them, from
/// the events already there, and by triggers after), with the migration
/// that makes each.
const ROLLUPS: &[(i64, &str)] = &[
    (5, "usage_days"),
    (5, "usage_users"),
    (5, "usage_user_first"),
    (6, "usage_names"),
    (6, "usage_totals"),
];

/// Splits a list of columns or SQL literals at top-level commas (not
/// inside quotes).
fn split(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in list.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut current).trim().to_string()),
            _ => current.push(c),
        }
    }
    out.push(current.trim().to_string());
    out
}

/// `SELECT COUNT(*)` of the rows of `fixture`'s table equal to it in
/// every column.
fn matching(fixture: &Fixture) -> String {
    let columns = split(fixture.columns);
    let values = split(fixture.values);
    assert_eq!(
        columns.len(),
        values.len(),
        "{}: columns and values",
        fixture.table
    );
    let conditions: Vec<String> = columns
        .iter()
        .zip(&values)
        .map(|(c, v)| {
            if v == "NULL" {
                format!("{c} IS NULL")
            } else {
                format!("{c} = {v}")
            }
        })
        .collect();
    format!(
        "SELECT COUNT(*) FROM {} WHERE {}",
        fixture.table,
        conditions.join(" AND ")
    )
}

async fn count(store: &Store, sql: String) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(sql.clone()))
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every table of the database, by name.
async fn tables(store: &Store) -> Vec<String> {
    let sql = match store.backend() {
        tenure_store::Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        tenure_store::Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
    };
    sqlx::query_scalar(sql)
        .fetch_all(store.pool())
        .await
        .unwrap()
}

/// A fresh database, dropped at the end on PostgreSQL (SQLite's folder
/// goes with its `TempDir`).
struct Fresh {
    url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Fresh {
    async fn new() -> Fresh {
        let (url, dir) = fresh_url().await.unwrap();
        Fresh { url, _dir: dir }
    }

    async fn drop_database(self) {
        if self._dir.is_some() {
            return;
        }
        let base = std::env::var("TEST_DATABASE_URL").unwrap();
        let name = self.url.rsplit_once('/').unwrap().1;
        let mut conn = sqlx::AnyConnection::connect(&base).await.unwrap();
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
}

/// Builds a database at schema `n`, fills it, migrates it to the end and
/// checks it; returns the tables of the final schema and those with rows.
async fn forward_from(n: i64) -> (Vec<String>, Vec<String>) {
    let fresh = Fresh::new().await;
    let store = Store::connect(&fresh.url).await.unwrap();
    store.migrate_to(n).await.unwrap();
    let mut written = 0;
    for fixture in ROWS.iter().filter(|f| f.since <= n) {
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            fixture.table, fixture.columns, fixture.values
        );
        sqlx::query(AssertSqlSafe(sql.clone()))
            .execute(store.pool())
            .await
            .unwrap_or_else(|e| panic!("at schema {n}: {sql}: {e}"));
        written += 1;
    }
    assert!(written > 0);

    store
        .migrate()
        .await
        .unwrap_or_else(|e| panic!("migrating from schema {n}: {e}"));

    for fixture in ROWS.iter().filter(|f| f.since <= n) {
        assert_eq!(
            count(&store, matching(fixture)).await,
            1,
            "the {} row written at schema {n} did not survive the migrations, column for column",
            fixture.table
        );
    }
    for (_, table) in ROLLUPS {
        assert!(
            count(&store, format!("SELECT COUNT(*) FROM {table}")).await > 0,
            "{table} does not hold the event written at schema {n}"
        );
    }
    let states = store.migration_status().await.unwrap();
    assert!(
        states.iter().all(|m| m.applied),
        "pending after migrating from {n}"
    );
    assert_eq!(
        states.iter().map(|m| m.version).max(),
        Some(latest_version())
    );
    let all = tables(&store).await;
    let mut filled = Vec::new();
    for table in &all {
        if count(&store, format!("SELECT COUNT(*) FROM {table}")).await > 0 {
            filled.push(table.clone());
        }
    }
    store.close().await;
    fresh.drop_database().await;
    (all, filled)
}

#[tokio::test]
async fn every_earlier_schema_migrates_forward_with_its_rows() {
    let latest = latest_version();
    assert!(latest >= 17);
    for n in 1..=latest {
        let (all, filled) = forward_from(n).await;
        if n == latest {
            // Every table of the current schema has a row here: a new
            // table needs its row in ROWS.
            let empty: Vec<&String> = all.iter().filter(|t| !filled.contains(t)).collect();
            assert!(
                empty.is_empty(),
                "tables without a row in this test's ROWS (add one, from the migration that makes the table): {empty:?}"
            );
        }
    }
    // The fixtures name only real tables and migrations.
    for fixture in ROWS {
        assert!(
            (1..=latest).contains(&fixture.since),
            "{}: since {}",
            fixture.table,
            fixture.since
        );
    }
    assert!(ROLLUPS.iter().all(|(since, _)| *since <= latest));
}
