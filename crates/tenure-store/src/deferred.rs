//! A large events import into an empty SQLite database, faster: the
//! events' secondary indexes and the usage rollups' triggers are set aside
//! in the import's transaction, the rows written into the bare table, then
//! the indexes built once, from sorted input, and the rollups filled with
//! one grouped pass each (docs/PERFORMANCE.md, "Import"). What the
//! database holds at the end is what the triggers would have written, row
//! for row (a test compares both), and a failed import rolls the whole
//! transaction back, indexes and triggers included.
//!
//! It applies only when `events` and every rollup table are empty and the
//! events table has exactly the triggers whose work [`ROLLUPS`] redoes; a
//! schema with another trigger on `events` imports the ordinary way.

use sqlx::{AnyConnection, AssertSqlSafe, Executor, Row};

use crate::Result;

/// The triggers on `events` whose work [`ROLLUPS`] does in bulk.
const TRIGGERS: [&str; 2] = ["events_usage", "events_usage_totals"];

/// The tables those triggers fill, which must start empty.
const ROLLUP_TABLES: [&str; 5] = [
    "usage_days",
    "usage_users",
    "usage_user_first",
    "usage_names",
    "usage_totals",
];

/// The rollups from every event, as the triggers of migrations 0005 and
/// 0006 would have written them one event at a time: day numbers by floor
/// division, a user's day bits OR-ed within 64-day blocks (distinct powers
/// of two sum to their OR), names numbered in the order first seen.
const ROLLUPS: [&str; 5] = [
    "INSERT INTO usage_days (day, account_id, event, n) \
     SELECT (ts - ((ts % 86400000000) + 86400000000) % 86400000000) / 86400000000, \
            account_id, event, COUNT(*) \
     FROM events GROUP BY 1, 2, 3",
    "INSERT INTO usage_users (block, account_id, user_id, days) \
     SELECT (d - ((d % 64) + 64) % 64) / 64, account_id, user_id, \
            SUM(DISTINCT 1 << (((d % 64) + 64) % 64)) \
     FROM (SELECT (ts - ((ts % 86400000000) + 86400000000) % 86400000000) / 86400000000 AS d, \
                  account_id, user_id FROM events) \
     GROUP BY 1, 2, 3",
    "INSERT INTO usage_user_first (account_id, user_id, first_day) \
     SELECT account_id, user_id, \
            MIN((ts - ((ts % 86400000000) + 86400000000) % 86400000000) / 86400000000) \
     FROM events GROUP BY account_id, user_id",
    "INSERT INTO usage_names (name) \
     SELECT event FROM events GROUP BY event ORDER BY MIN(seq)",
    "INSERT INTO usage_totals (day, account_id, n, names) \
     SELECT d.day, d.account_id, SUM(d.n), \
            SUM(CASE WHEN u.id <= 62 THEN 1 << (u.id - 1) ELSE 0 END) \
     FROM usage_days d JOIN usage_names u ON u.name = d.event \
     GROUP BY d.day, d.account_id",
];

/// The indexes and triggers set aside, to be made again by [`finish`].
#[derive(Debug)]
pub(crate) struct Deferred {
    /// `CREATE INDEX` and `CREATE TRIGGER` statements, indexes first.
    recreate: Vec<String>,
}

/// Sets the events' secondary indexes and rollup triggers aside inside
/// the transaction `conn` is in, when the fast path applies (see the
/// module's documentation); `None` otherwise, with nothing changed.
pub(crate) async fn prepare(conn: &mut AnyConnection) -> Result<Option<Deferred>> {
    let any: Option<i64> = sqlx::query("SELECT 1 FROM events LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    if any.is_some() {
        return Ok(None);
    }
    for table in ROLLUP_TABLES {
        let sql = format!("SELECT 1 FROM {table} LIMIT 1");
        if sqlx::query(AssertSqlSafe(sql))
            .fetch_optional(&mut *conn)
            .await?
            .is_some()
        {
            return Ok(None);
        }
    }
    // Unique indexes stay: they decide which rows are duplicates.
    let rows = sqlx::query(
        "SELECT type, name, sql FROM sqlite_master \
         WHERE tbl_name = 'events' AND type IN ('index', 'trigger') AND sql IS NOT NULL \
         ORDER BY type, name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut indexes = Vec::new();
    let mut triggers = Vec::new();
    for r in &rows {
        let (kind, name, sql): (String, String, String) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        if kind == "trigger" {
            triggers.push((name, sql));
        } else if !sql.to_ascii_uppercase().starts_with("CREATE UNIQUE") {
            indexes.push((name, sql));
        }
    }
    let mut names: Vec<&str> = triggers.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    if names != TRIGGERS {
        return Ok(None);
    }
    let mut recreate = Vec::new();
    for (name, sql) in indexes {
        conn.execute(AssertSqlSafe(format!("DROP INDEX \"{name}\"")))
            .await?;
        recreate.push(sql);
    }
    for (name, sql) in triggers {
        conn.execute(AssertSqlSafe(format!("DROP TRIGGER \"{name}\"")))
            .await?;
        recreate.push(sql);
    }
    Ok(Some(Deferred { recreate }))
}

/// Fills the rollups from the events written and makes the indexes and
/// triggers again, in the same transaction.
pub(crate) async fn finish(conn: &mut AnyConnection, deferred: Deferred) -> Result<()> {
    for sql in ROLLUPS {
        conn.execute(sql).await?;
    }
    for sql in deferred.recreate {
        conn.execute(AssertSqlSafe(sql)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::import::ImportOptions;
    use crate::{Kind, Store, StoreError};

    /// Events over several accounts, users and 64-day blocks (one before
    /// 1970, for the floor division), names first seen in an order that is
    /// not alphabetical, repeated message ids (skipped as duplicates) and
    /// properties on some.
    fn events() -> String {
        let mut out = String::new();
        let names = ["view", "export", "login", "zap", "admin"];
        for i in 0..600_i64 {
            let day = (i * 37) % 400 - 20;
            let ts = jiff::Timestamp::from_second(86_400 * (day + 20_000) + (i * 7919) % 86_400)
                .unwrap();
            let ts = if i == 5 {
                jiff::Timestamp::from_second(-86_400 * 3 + 5).unwrap()
            } else {
                ts
            };
            let props = if i % 4 == 0 {
                r#","properties":{"n":1}"#
            } else {
                ""
            };
            let mid = if i % 9 == 0 {
                format!(r#","message_id":"m{}""#, i % 27)
            } else {
                String::new()
            };
            out.push_str(&format!(
                r#"{{"timestamp":"{ts}","account_id":"a{}","user_id":"u{}","event":"{}"{props}{mid}}}"#,
                i % 7,
                i % 11,
                names[(i as usize * 3 + i as usize / 50) % names.len()],
            ));
            out.push('\n');
        }
        out
    }

    async fn store_with_accounts(dir: &tempfile::TempDir, name: &str) -> Store {
        let url = format!("sqlite://{}", dir.path().join(name).display());
        let store = Store::open(&url).await.unwrap();
        let accounts: String = std::iter::once("id,name\n".to_string())
            .chain((0..7).map(|i| format!("a{i},Account {i}\n")))
            .collect();
        let options = ImportOptions::default();
        store
            .import_reader(
                Kind::Accounts,
                "accounts.csv",
                accounts.as_bytes(),
                &options,
                &mut |_| {},
            )
            .await
            .unwrap();
        store
    }

    /// Every row of the events and the rollups, and the events' indexes
    /// and triggers, as text.
    async fn dump(store: &Store) -> Vec<String> {
        let queries = [
            "SELECT printf('%d|%s|%s|%s|%d|%s|%s', seq, account_id, user_id, event, ts, \
             COALESCE(properties, '-'), COALESCE(message_id, '-')) FROM events ORDER BY seq",
            "SELECT printf('%d|%s|%s|%d', day, account_id, event, n) FROM usage_days \
             ORDER BY day, account_id, event",
            "SELECT printf('%d|%s|%s|%d', block, account_id, user_id, days) FROM usage_users \
             ORDER BY block, account_id, user_id",
            "SELECT printf('%s|%s|%d', account_id, user_id, first_day) FROM usage_user_first \
             ORDER BY account_id, user_id",
            "SELECT printf('%d|%s', id, name) FROM usage_names ORDER BY id",
            "SELECT printf('%d|%s|%d|%d', day, account_id, n, names) FROM usage_totals \
             ORDER BY day, account_id",
            "SELECT printf('%s|%s|%s', type, name, sql) FROM sqlite_master \
             WHERE tbl_name = 'events' ORDER BY type, name",
        ];
        let mut out = Vec::new();
        for q in queries {
            let rows: Vec<(String,)> = sqlx::query_as(q).fetch_all(&store.pool).await.unwrap();
            out.push(format!("-- {q}"));
            out.extend(rows.into_iter().map(|(r,)| r));
        }
        out
    }

    #[tokio::test]
    async fn the_fast_path_writes_what_the_triggers_would() {
        let dir = tempfile::tempdir().unwrap();
        let (fast, slow) = (
            store_with_accounts(&dir, "fast.db").await,
            store_with_accounts(&dir, "slow.db").await,
        );
        let text = events();
        let options = ImportOptions::default();
        let mut summaries = Vec::new();
        for (store, defer) in [(&fast, true), (&slow, false)] {
            summaries.push(
                store
                    .import_reader_deferring(
                        Kind::Events,
                        "events.ndjson",
                        text.as_bytes(),
                        &options,
                        &mut |_| {},
                        defer,
                    )
                    .await
                    .unwrap(),
            );
        }
        assert!(summaries[0].duplicates_skipped > 0);
        assert_eq!(summaries[0].inserted, summaries[1].inserted);
        let (a, b) = (dump(&fast).await, dump(&slow).await);
        assert!(a.len() > 1_000, "{}", a.len());
        assert_eq!(a, b);
        // A second file goes the ordinary way (the table is not empty) and
        // the triggers, made again, keep the rollups right.
        let more: String = text.lines().take(50).map(|l| format!("{l}\n")).collect();
        // New message ids, and a name not seen before.
        let more = more
            .replace(":\"m", ":\"n")
            .replace("\"zap\"", "\"new name\"");
        for store in [&fast, &slow] {
            store
                .import_reader(
                    Kind::Events,
                    "more.ndjson",
                    more.as_bytes(),
                    &options,
                    &mut |_| {},
                )
                .await
                .unwrap();
        }
        assert_eq!(dump(&fast).await, dump(&slow).await);
    }

    #[tokio::test]
    async fn it_applies_only_to_an_empty_table_and_rolls_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_accounts(&dir, "t.db").await;
        let before = dump(&store).await;
        {
            let mut tx = store.begin_write().await.unwrap();
            let d = super::prepare(&mut tx).await.unwrap();
            assert_eq!(d.expect("an empty table").recreate.len(), 4);
            tx.rollback().await.unwrap();
        }
        // A bad line at the end: nothing is written and the indexes and
        // triggers set aside are back.
        let bad = format!("{}{{\"timestamp\":\"yesterday\"}}\n", events());
        let options = ImportOptions::default();
        let err = store
            .import_reader(
                Kind::Events,
                "bad.ndjson",
                bad.as_bytes(),
                &options,
                &mut |_| {},
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
        assert_eq!(dump(&store).await, before);
        store
            .import_reader(
                Kind::Events,
                "good.ndjson",
                events().as_bytes(),
                &options,
                &mut |_| {},
            )
            .await
            .unwrap();
        let mut tx = store.begin_write().await.unwrap();
        assert!(
            super::prepare(&mut tx).await.unwrap().is_none(),
            "events exist"
        );
        tx.rollback().await.unwrap();
    }
}
