//! Events imported into a SQLite file, faster: the usage rollups'
//! triggers are set aside in the import's transaction and the importer
//! counts the rollups itself as it writes each event ([`Rollups`]), then
//! writes them with one upsert per rollup row; into an empty events table
//! the secondary indexes are set aside too, and built once at the end from
//! sorted input (docs/PERFORMANCE.md, "Import"). What the database holds
//! at the end is what the triggers would have written, row for row (a
//! test compares both ways, into an empty table and into one with rows),
//! and a failed import rolls the whole transaction back, indexes and
//! triggers included.
//!
//! It applies only when the events table has exactly the triggers whose
//! work [`Rollups`] does; with another trigger on `events` the rows are
//! written with the triggers in place.

use std::collections::HashMap;
use std::hash::Hash;

use crate::Result;

/// The triggers on `events` (migrations 0005 and 0006) whose work
/// [`Rollups`] does.
const TRIGGERS: [&str; 2] = ["events_usage", "events_usage_totals"];

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// Rollup rows held before they are written, so that memory stays
/// bounded on a file of any size (a held row is a few dozen bytes). This
/// crate's tests hold few, so that an import writes them several times.
const MAX_HELD: usize = if cfg!(test) { 1_000 } else { 2_000_000 };

/// The indexes and triggers set aside, to be made again by [`finish`].
#[derive(Debug)]
pub(crate) struct SetAside {
    /// `CREATE INDEX` and `CREATE TRIGGER` statements, indexes first.
    recreate: Vec<String>,
}

/// Sets the events' rollup triggers aside inside the transaction `tx`,
/// and the secondary indexes too when the table is empty; `None`, with
/// nothing changed, when the triggers are not the expected ones.
pub(crate) fn prepare(tx: &rusqlite::Transaction<'_>) -> Result<Option<SetAside>> {
    use rusqlite::OptionalExtension;
    let mut stmt = tx.prepare(
        "SELECT type, name, sql FROM sqlite_master \
         WHERE tbl_name = 'events' AND type IN ('index', 'trigger') AND sql IS NOT NULL \
         ORDER BY type, name",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut indexes = Vec::new();
    let mut triggers = Vec::new();
    for (kind, name, sql) in rows {
        if kind == "trigger" {
            triggers.push((name, sql));
        } else if !sql.to_ascii_uppercase().starts_with("CREATE UNIQUE") {
            // Unique indexes stay: they decide which rows are duplicates.
            indexes.push((name, sql));
        }
    }
    let mut names: Vec<&str> = triggers.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    if names != TRIGGERS {
        return Ok(None);
    }
    let empty = tx
        .query_row("SELECT 1 FROM events LIMIT 1", [], |r| r.get::<_, i64>(0))
        .optional()?
        .is_none();
    if !empty {
        indexes.clear();
    }
    let mut recreate = Vec::new();
    for (name, sql) in indexes {
        tx.execute_batch(&format!("DROP INDEX \"{name}\""))?;
        recreate.push(sql);
    }
    for (name, sql) in triggers {
        tx.execute_batch(&format!("DROP TRIGGER \"{name}\""))?;
        recreate.push(sql);
    }
    Ok(Some(SetAside { recreate }))
}

/// Writes what `rollups` still holds and makes the indexes and triggers
/// again, in the same transaction.
pub(crate) fn finish(
    tx: &rusqlite::Transaction<'_>,
    set_aside: SetAside,
    rollups: &mut Rollups,
) -> Result<()> {
    rollups.write(tx)?;
    for sql in set_aside.recreate {
        tx.execute_batch(&sql)?;
    }
    Ok(())
}

/// Strings numbered in the order first seen, so that rollup keys are
/// small numbers rather than copies of the ids.
#[derive(Default)]
struct Interner {
    numbers: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    strings: Vec<Box<str>>,
}

impl Interner {
    fn number(&mut self, s: &str) -> u32 {
        if let Some(&n) = self.numbers.get(s) {
            return n;
        }
        let n = self.strings.len() as u32;
        self.strings.push(s.into());
        self.numbers.insert(s.into(), n);
        n
    }

    fn get(&self, n: u32) -> &str {
        &self.strings[n as usize]
    }
}

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The usage rollups of the events written, counted as the triggers of
/// migrations 0005 and 0006 count them one event at a time, and held until
/// [`Rollups::write`] adds them to the tables: a day number by floor
/// division of the timestamp, a user's days as bits of 64-day blocks, the
/// user's first day, event names numbered in the order first written, and
/// each account's day total with the bits of its names (the first 62).
#[derive(Default)]
pub(crate) struct Rollups {
    accounts: Interner,
    users: Interner,
    events: Interner,
    /// `usage_names` ids by event number, once known.
    name_ids: Vec<Option<i64>>,
    /// Every stored name's id, read on the first new name.
    stored_names: Option<HashMap<String, i64>>,
    days: Map<(i64, u32, u32), i64>,
    blocks: Map<(i64, u32, u32), i64>,
    first: Map<(u32, u32), i64>,
    totals: Map<(i64, u32), (i64, i64)>,
}

impl Rollups {
    /// Counts one event written; may write what is held (see [`MAX_HELD`]).
    pub(crate) fn add(
        &mut self,
        tx: &rusqlite::Transaction<'_>,
        account: &str,
        user: &str,
        event: &str,
        ts: i64,
    ) -> Result<()> {
        let day = ts.div_euclid(DAY_MICROS);
        let a = self.accounts.number(account);
        let u = self.users.number(user);
        let e = self.events.number(event);
        let name_id = self.name_id(tx, e)?;
        *self.days.entry((day, a, e)).or_insert(0) += 1;
        *self.blocks.entry((day.div_euclid(64), a, u)).or_insert(0) |= 1 << day.rem_euclid(64);
        self.first
            .entry((a, u))
            .and_modify(|d| *d = (*d).min(day))
            .or_insert(day);
        // As the trigger's `1 << (id - 1)` for ids up to 62 (ids start at 1).
        let bit = if (1..=62).contains(&name_id) {
            1 << (name_id - 1)
        } else {
            0
        };
        let total = self.totals.entry((day, a)).or_insert((0, 0));
        total.0 += 1;
        total.1 |= bit;
        let held = self.days.len() + self.blocks.len() + self.first.len() + self.totals.len();
        if held >= MAX_HELD {
            self.write(tx)?;
        }
        Ok(())
    }

    /// The `usage_names` id of event name `e`, the name stored the first
    /// time it is written, as the trigger stores it.
    fn name_id(&mut self, tx: &rusqlite::Transaction<'_>, e: u32) -> Result<i64> {
        if let Some(Some(id)) = self.name_ids.get(e as usize) {
            return Ok(*id);
        }
        let name = self.events.get(e);
        if self.stored_names.is_none() {
            let stored = tx
                .prepare("SELECT name, id FROM usage_names")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            self.stored_names = Some(stored);
        }
        let stored = self.stored_names.as_mut().expect("read above");
        let id = match stored.get(name) {
            Some(id) => *id,
            None => {
                tx.prepare("INSERT INTO usage_names (name) VALUES (?1)")?
                    .execute([name])?;
                let id = tx.last_insert_rowid();
                stored.insert(name.to_string(), id);
                id
            }
        };
        if self.name_ids.len() <= e as usize {
            self.name_ids.resize(e as usize + 1, None);
        }
        self.name_ids[e as usize] = Some(id);
        Ok(id)
    }

    /// Adds what is held to the rollup tables, each in its key's order.
    fn write(&mut self, tx: &rusqlite::Transaction<'_>) -> Result<()> {
        let (accounts, users, events) = (&self.accounts, &self.users, &self.events);
        let mut stmt = tx.prepare(
            "INSERT INTO usage_days (day, account_id, event, n) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (day, account_id, event) DO UPDATE SET n = n + excluded.n",
        )?;
        for ((day, a, e), n) in sorted(&mut self.days, |&(d, a, e)| {
            (d, accounts.get(a), events.get(e))
        }) {
            stmt.execute(rusqlite::params![day, accounts.get(a), events.get(e), n])?;
        }
        let mut stmt = tx.prepare(
            "INSERT INTO usage_users (block, account_id, user_id, days) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (block, account_id, user_id) DO UPDATE SET days = days | excluded.days",
        )?;
        for ((block, a, u), days) in sorted(&mut self.blocks, |&(b, a, u)| {
            (b, accounts.get(a), users.get(u))
        }) {
            stmt.execute(rusqlite::params![
                block,
                accounts.get(a),
                users.get(u),
                days
            ])?;
        }
        let mut stmt = tx.prepare(
            "INSERT INTO usage_user_first (account_id, user_id, first_day) VALUES (?1, ?2, ?3) \
             ON CONFLICT (account_id, user_id) DO UPDATE SET first_day = excluded.first_day \
             WHERE excluded.first_day < first_day",
        )?;
        for ((a, u), day) in sorted(&mut self.first, |&(a, u)| (accounts.get(a), users.get(u))) {
            stmt.execute(rusqlite::params![accounts.get(a), users.get(u), day])?;
        }
        let mut stmt = tx.prepare(
            "INSERT INTO usage_totals (day, account_id, n, names) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (day, account_id) DO UPDATE SET n = n + excluded.n, \
             names = names | excluded.names",
        )?;
        for ((day, a), (n, names)) in sorted(&mut self.totals, |&(d, a)| (d, accounts.get(a))) {
            stmt.execute(rusqlite::params![day, accounts.get(a), n, names])?;
        }
        Ok(())
    }
}

/// Empties `map` into its entries sorted by `order` of their keys (a
/// table's primary key, so that rows go into its B-tree in order).
fn sorted<K: Copy + Eq + Hash, V, O: Ord>(
    map: &mut Map<K, V>,
    order: impl Fn(&K) -> O,
) -> Vec<(K, V)> {
    let mut entries: Vec<(K, V)> = map.drain().collect();
    entries.sort_unstable_by_key(|e| order(&e.0));
    entries
}

#[cfg(test)]
mod tests {
    use crate::import::ImportOptions;
    use crate::{Kind, Store, StoreError};

    /// Events over several accounts (one not imported), users and 64-day
    /// blocks (one before 1970, for the floor division), names first seen
    /// in an order that is not alphabetical (more than 62 of them),
    /// repeated message ids (skipped as duplicates), properties on some,
    /// and lines the quick parse leaves to the general one (escapes, a
    /// number as user id): more than two batches of the writer.
    fn events() -> String {
        let mut out = String::new();
        let names = ["view", "export", "login", "zap", "admin"];
        for i in 0..9_000_i64 {
            let day = (i * 37) % 400 - 20;
            let ts = jiff::Timestamp::from_second(86_400 * (day + 20_000) + (i * 7919) % 86_400)
                .unwrap();
            let ts = if i == 5 {
                jiff::Timestamp::from_second(-86_400 * 3 + 5).unwrap()
            } else {
                ts
            };
            let props = if i % 4 == 0 {
                r#","properties":{"n":1, "s":"caf\u00e9"}"#
            } else {
                ""
            };
            let mid = if i % 9 == 0 {
                format!(r#","message_id":"m{}""#, i % 27)
            } else {
                String::new()
            };
            let user = if i % 13 == 0 {
                format!("{}", i % 11)
            } else {
                format!(r#""u\u0030{}""#, i % 11)
            };
            // More than 62 names, so that some have no bit in the totals.
            let name = if i % 5 == 0 {
                format!("n{}", (i / 5) % 70)
            } else {
                names[(i as usize * 3 + i as usize / 50) % names.len()].to_string()
            };
            out.push_str(&format!(
                r#"{{"timestamp":"{ts}","account_id":"a{}","user_id":{user},"event":"{name}"{props}{mid}}}"#,
                i % 8,
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

    /// Imports `text` the SQLite file's way (`fast`) or the general way.
    async fn import(
        store: &Store,
        name: &str,
        text: &str,
        options: &ImportOptions,
        fast: bool,
    ) -> crate::Result<crate::import::ImportSummary> {
        store
            .import_reader_deferring(
                Kind::Events,
                name,
                text.as_bytes(),
                options,
                &mut |_| {},
                fast,
            )
            .await
    }

    /// Imports `text` into `fast` the SQLite file's way and into `slow`
    /// the general way, and checks that both give the same counts and
    /// leave the same rows.
    async fn both(
        fast: &Store,
        slow: &Store,
        name: &str,
        text: &str,
        options: &ImportOptions,
    ) -> crate::import::ImportSummary {
        let a = import(fast, name, text, options, true).await.unwrap();
        let b = import(slow, name, text, options, false).await.unwrap();
        assert_eq!(counts(&a), counts(&b));
        assert_eq!(dump(fast).await, dump(slow).await);
        a
    }

    /// Every row of the accounts, the events, the rollups and the import
    /// log, and the events' indexes and triggers, as text.
    async fn dump(store: &Store) -> Vec<String> {
        let queries = [
            "SELECT printf('%s|%s|%s', id, name, attributes) FROM accounts ORDER BY id",
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
            "SELECT printf('%s|%s|%d|%d|%d|%s', file_name, kind, rows_read, inserted, updated, \
             checksum) FROM import_log ORDER BY id",
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

    /// What [`super::prepare`] sets aside in `store`, in a transaction
    /// rolled back.
    fn prepared(store: &Store) -> Option<super::SetAside> {
        let path = store.sqlite_file.as_ref().expect("a SQLite file");
        let mut conn = rusqlite::Connection::open(path).unwrap();
        let tx = conn.transaction().unwrap();
        super::prepare(&tx).unwrap()
    }

    /// The problems of a refused file.
    fn problems(e: StoreError) -> Vec<crate::import::Problem> {
        match e {
            StoreError::Invalid(p) => p,
            other => panic!("{other}"),
        }
    }

    /// The counts of a summary, without its time.
    fn counts(s: &crate::import::ImportSummary) -> (u64, u64, u64, u64, u64, String) {
        (
            s.rows,
            s.inserted,
            s.updated,
            s.duplicates_skipped,
            s.accounts_created,
            s.checksum.clone(),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sqlite_way_writes_what_the_general_way_and_the_triggers_would() {
        let dir = tempfile::tempdir().unwrap();
        let (fast, slow) = (
            store_with_accounts(&dir, "fast.db").await,
            store_with_accounts(&dir, "slow.db").await,
        );
        let text = events();
        let options = ImportOptions {
            create_missing_accounts: true,
            ..ImportOptions::default()
        };
        let a = both(&fast, &slow, "events.ndjson", &text, &options).await;
        assert!(a.duplicates_skipped > 0);
        assert_eq!(a.accounts_created, 1);
        assert!(dump(&fast).await.len() > 10_000);
        // A second file into a table that is no longer empty: the SQLite
        // way sets the triggers aside again (not the indexes), the general
        // way writes through them.
        let more: String = text.lines().take(50).map(|l| format!("{l}\n")).collect();
        // New message ids, and a name not seen before.
        let more = more
            .replace(":\"m", ":\"n")
            .replace("\"zap\"", "\"new name\"");
        both(&fast, &slow, "more.ndjson", &more, &options).await;
        // The same file again is refused the same way.
        let options = ImportOptions::default();
        let a = import(&fast, "again.ndjson", &more, &options, true)
            .await
            .unwrap_err();
        let b = import(&slow, "again.ndjson", &more, &options, false)
            .await
            .unwrap_err();
        let (a, b) = (problems(a), problems(b));
        assert!(a[0].message.contains("already imported"), "{a:?}");
        assert_eq!(
            a[0].message.split(" (at").next(),
            b[0].message.split(" (at").next()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn it_applies_only_to_an_empty_table_and_rolls_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (store, general) = (
            store_with_accounts(&dir, "t.db").await,
            store_with_accounts(&dir, "g.db").await,
        );
        let before = dump(&store).await;
        assert_eq!(prepared(&store).expect("an empty table").recreate.len(), 4);
        // Bad lines after many batches: the same problems both ways,
        // nothing written, and the indexes and triggers set aside back.
        let bad = format!(
            "{}{{\"timestamp\":\"yesterday\"}}\n{{\"timestamp\":\"2026-01-01T00:00:00Z\",\"account_id\":\"nope\",\"user_id\":\"u\",\"event\":\"e\"}}\n{{\"oops\":1}}\n",
            events()
        );
        let options = ImportOptions::default();
        let a = problems(
            import(&store, "bad.ndjson", &bad, &options, true)
                .await
                .unwrap_err(),
        );
        let b = problems(
            import(&general, "bad.ndjson", &bad, &options, false)
                .await
                .unwrap_err(),
        );
        assert_eq!(a, b);
        // a7 is not an account: every eighth line, then the three bad ones.
        assert_eq!(a.len(), crate::import::MAX_PROBLEMS);
        assert_eq!(a[0].column.as_deref(), Some("account_id"), "{a:?}");
        assert_eq!(dump(&store).await, before);
        let bad_end = format!(
            "{}{{\"timestamp\":\"yesterday\"}}\n",
            events().replace("\"a7\"", "\"a1\"")
        );
        let a = problems(
            import(&store, "end.ndjson", &bad_end, &options, true)
                .await
                .unwrap_err(),
        );
        // The timestamp and the three missing values of the last line.
        assert_eq!(a.len(), 4, "{a:?}");
        assert!(a.iter().all(|p| p.line == 9_001), "{a:?}");
        assert_eq!(dump(&store).await, before);
        import(
            &store,
            "good.ndjson",
            &events().replace("\"a7\"", "\"a1\""),
            &options,
            true,
        )
        .await
        .unwrap();
        // Events exist: the triggers are set aside, the indexes stay.
        assert_eq!(prepared(&store).expect("the triggers").recreate.len(), 2);
    }
}
