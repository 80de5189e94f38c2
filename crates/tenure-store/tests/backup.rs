//! Backups and restores of a SQLite database (`tenure backup` and `tenure
//! restore`): a round trip gives back every row of every table, and a
//! restore refuses anything that is not a good Tenure backup while leaving
//! the live database exactly as it was.
//!
//! These run on SQLite whatever `TEST_DATABASE_URL` says: the SQLite path
//! is the one `tenure backup` implements (PostgreSQL uses pg_dump, see
//! docs/OPERATIONS.md).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tenure_store::Kind;
use tenure_store::Store;
use tenure_store::backup::{BackupError, check_sqlite_file, latest_version, restore_sqlite};
use tenure_store::import::ImportOptions;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics");

/// A folder with a live database, `live.db`.
struct Live {
    dir: tempfile::TempDir,
}

impl Live {
    fn new() -> Live {
        Live {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn db(&self) -> PathBuf {
        self.path("live.db")
    }
    fn url(&self) -> String {
        format!("sqlite://{}", self.db().display())
    }
    async fn open(&self) -> Store {
        Store::open(&self.url()).await.unwrap()
    }
    /// The names in the folder, sorted.
    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// The live database filled from the metrics fixtures (accounts,
/// subscriptions, events with their usage rollups, tickets, responses).
async fn seeded() -> Live {
    let live = Live::new();
    let store = live.open().await;
    for (kind, file) in [
        (Kind::Accounts, "accounts.csv"),
        (Kind::Subscriptions, "subscriptions.csv"),
        (Kind::Events, "events.ndjson"),
        (Kind::Tickets, "tickets.csv"),
        (Kind::SurveyResponses, "survey_responses.csv"),
    ] {
        let options = ImportOptions {
            create_missing_accounts: true,
            ..ImportOptions::default()
        };
        store
            .import_file(kind, &Path::new(FIXTURES).join(file), &options, &mut |_| {})
            .await
            .unwrap();
    }
    store.close().await;
    live
}

/// Every table of a SQLite file with its row count and a SHA-256 of its
/// rows, ordered by every column, each value with its type.
fn table_digests(path: &Path) -> Vec<(String, i64, String)> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let columns: usize = conn
            .query_row(
                &format!("SELECT COUNT(*) FROM pragma_table_info('{table}')"),
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap() as usize;
        let order: Vec<String> = (1..=columns).map(|i| i.to_string()).collect();
        let sql = format!("SELECT * FROM \"{table}\" ORDER BY {}", order.join(", "));
        let mut stmt = conn.prepare(&sql).unwrap();
        let mut rows = stmt.query([]).unwrap();
        let mut hash = Sha256::new();
        let mut count = 0;
        while let Some(row) = rows.next().unwrap() {
            count += 1;
            for i in 0..columns {
                let v = row.get_ref(i).unwrap();
                hash.update(format!("{:?}\u{1f}", v).as_bytes());
            }
            hash.update(b"\x1e");
        }
        out.push((table, count, hex::encode(hash.finalize())));
    }
    out
}

fn file_sha(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

fn refusal(e: BackupError) -> String {
    match e {
        BackupError::Refused(m) => m,
        other => panic!("expected a refusal, got {other}"),
    }
}

#[tokio::test]
async fn backup_then_restore_gives_back_every_row_of_every_table() {
    let live = seeded().await;
    let before = table_digests(&live.db());
    assert!(before.iter().any(|(t, n, _)| t == "events" && *n > 10));
    assert!(before.iter().any(|(t, n, _)| t == "usage_days" && *n > 0));

    // Backed up while the store is open, as a running server would hold it.
    let store = live.open().await;
    let backup = live.path("backup.db");
    let checked = store.backup_sqlite(&backup, false).await.unwrap();
    assert_eq!(checked.path, backup);
    assert_eq!(checked.schema_version, latest_version());
    let counts: Vec<(String, i64)> = before.iter().map(|(t, n, _)| (t.clone(), *n)).collect();
    let reported: Vec<(String, i64)> = checked
        .tables
        .iter()
        .map(|t| (t.table.clone(), t.rows))
        .collect();
    assert_eq!(reported, counts);
    assert_eq!(table_digests(&backup), before);

    // Later writes: the restore must take them away again.
    store
        .import_reader(
            Kind::Accounts,
            "more.csv",
            "id,name\nlate-1,Late Corp\n".as_bytes(),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .await
        .unwrap();
    store.close().await;
    assert_ne!(table_digests(&live.db()), before);

    let restored = restore_sqlite(&live.url(), &backup).await.unwrap();
    assert_eq!(restored.database, live.db());
    assert_eq!(restored.from_version, latest_version());
    assert_eq!(restored.checked.schema_version, latest_version());
    assert_eq!(table_digests(&live.db()), before);
    // One file, no journal left beside it, no temporary file.
    assert_eq!(live.files(), ["backup.db", "live.db"]);
    // And the store opens it as usual.
    let store = live.open().await;
    assert_eq!(
        store.count(Kind::Accounts).await.unwrap(),
        counts_of(&before, "accounts")
    );
    store.close().await;
}

fn counts_of(digests: &[(String, i64, String)], table: &str) -> i64 {
    digests.iter().find(|(t, _, _)| t == table).unwrap().1
}

#[tokio::test]
async fn backup_refuses_an_existing_file_unless_forced() {
    let live = seeded().await;
    let store = live.open().await;
    let existing = live.path("existing.db");
    std::fs::write(&existing, "keep me").unwrap();
    let message = refusal(store.backup_sqlite(&existing, false).await.unwrap_err());
    assert!(
        message.contains("exists") && message.contains("--force"),
        "{message}"
    );
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");

    store.backup_sqlite(&existing, true).await.unwrap();
    assert_eq!(
        check_sqlite_file(&existing).unwrap().schema_version,
        latest_version()
    );
    // Backing up onto the database itself is refused even with --force.
    let message = refusal(store.backup_sqlite(&live.db(), true).await.unwrap_err());
    assert!(message.contains("the database itself"), "{message}");
    store.close().await;
    assert_eq!(live.files(), ["existing.db", "live.db"]);
}

/// Restores `file` and checks it is refused with a message containing
/// `expected`, leaving the live database byte for byte as it was and no
/// file behind.
async fn refused_restore(live: &Live, file: &Path, expected: &str) {
    let sha = file_sha(&live.db());
    let files = live.files();
    let message = refusal(restore_sqlite(&live.url(), file).await.unwrap_err());
    assert!(
        message.contains(expected),
        "expected {expected:?} in the refusal: {message}"
    );
    assert_eq!(file_sha(&live.db()), sha, "the live database changed");
    assert_eq!(live.files(), files, "a restore left files behind");
}

/// A good backup of `live`, altered by `sql` (run with rusqlite).
async fn altered_backup(live: &Live, name: &str, sql: &str) -> PathBuf {
    let store = live.open().await;
    let path = live.path(name);
    store.backup_sqlite(&path, false).await.unwrap();
    store.close().await;
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(sql).unwrap();
    drop(conn);
    path
}

#[tokio::test]
async fn restore_refuses_a_file_that_is_not_a_good_tenure_backup() {
    let live = seeded().await;

    let garbage = live.path("garbage.db");
    std::fs::write(&garbage, "id,name\na1,Acme\n").unwrap();
    refused_restore(&live, &garbage, "is not a SQLite database").await;

    refused_restore(&live, &live.path("missing.db"), "does not exist").await;

    // A good backup with a page in the middle overwritten.
    let damaged = altered_backup(&live, "damaged.db", "").await;
    let mut bytes = std::fs::read(&damaged).unwrap();
    let page = 4096;
    assert!(bytes.len() > 4 * page);
    for b in &mut bytes[2 * page..3 * page] {
        *b = 0x5a;
    }
    std::fs::write(&damaged, bytes).unwrap();
    refused_restore(&live, &damaged, "damaged").await;

    let other = live.path("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
        .unwrap();
    refused_restore(&live, &other, "not a Tenure one").await;

    let newer = altered_backup(
        &live,
        "newer.db",
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', 1, x'00', 0);",
    )
    .await;
    refused_restore(
        &live,
        &newer,
        "schema version 9999, newer than this tenure's",
    )
    .await;

    let edited = altered_backup(
        &live,
        "edited.db",
        "UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1;",
    )
    .await;
    refused_restore(&live, &edited, "migration 1 (foundation) differs").await;

    let failed = altered_backup(
        &live,
        "failed.db",
        &format!(
            "UPDATE _sqlx_migrations SET success = 0 WHERE version = {};",
            latest_version()
        ),
    )
    .await;
    refused_restore(&live, &failed, "failed part-way").await;

    refused_restore(&live, &live.db(), "the database itself").await;

    // A database copied with its -wal file: its last writes are there.
    let copied = altered_backup(&live, "copied.db", "").await;
    std::fs::write(live.path("copied.db-wal"), "not empty").unwrap();
    refused_restore(&live, &copied, "copied.db-wal is beside").await;
}

#[tokio::test]
async fn a_copy_of_a_stopped_database_restores_and_is_left_as_it_was() {
    let live = seeded().await;
    // The file of a stopped server: in WAL mode, its -wal checkpointed away.
    let copy = live.path("copy.db");
    std::fs::copy(live.db(), &copy).unwrap();
    let sha = file_sha(&copy);
    let other = Live::new();
    restore_sqlite(&other.url(), &copy).await.unwrap();
    // Nothing was opened beside the copy (no -shm or -wal), nor changed in it.
    assert_eq!(live.files(), ["copy.db", "live.db"]);
    assert_eq!(file_sha(&copy), sha);
    assert_eq!(table_digests(&other.db()), table_digests(&live.db()));
}

#[tokio::test]
async fn restore_refuses_a_database_in_use() {
    let live = seeded().await;
    let store = live.open().await;
    let backup = live.path("backup.db");
    store.backup_sqlite(&backup, false).await.unwrap();
    // The pool keeps a connection open, as `tenure serve` does.
    assert!(store.ping().await);
    let sha = file_sha(&live.db());
    let message = refusal(restore_sqlite(&live.url(), &backup).await.unwrap_err());
    assert!(message.contains("is in use"), "{message}");
    assert!(store.ping().await);
    store.close().await;
    assert_eq!(file_sha(&live.db()), sha);
    // Stopped, the same restore goes through.
    restore_sqlite(&live.url(), &backup).await.unwrap();
}

#[tokio::test]
async fn an_older_backup_is_migrated_forward_on_restore() {
    let live = Live::new();
    let old = live.path("old.db");
    let store = Store::connect(&format!("sqlite://{}", old.display()))
        .await
        .unwrap();
    let older = latest_version() - 1;
    store.migrate_to(older).await.unwrap();
    store.close().await;
    rusqlite::Connection::open(&old)
        .unwrap()
        .execute_batch(
            "PRAGMA journal_mode = DELETE; \
             INSERT INTO accounts (id, name) VALUES ('a1', 'Acme');",
        )
        .unwrap();
    assert_eq!(check_sqlite_file(&old).unwrap().schema_version, older);

    // Onto a folder with no database yet.
    let restored = restore_sqlite(&live.url(), &old).await.unwrap();
    assert_eq!(restored.from_version, older);
    assert_eq!(restored.checked.schema_version, latest_version());
    let store = live.open().await;
    assert_eq!(store.count(Kind::Accounts).await.unwrap(), 1);
    assert!(
        store
            .migration_status()
            .await
            .unwrap()
            .iter()
            .all(|m| m.applied)
    );
    store.close().await;
    // The backup itself is left as it was.
    assert_eq!(check_sqlite_file(&old).unwrap().schema_version, older);
}

#[tokio::test]
async fn postgres_is_refused_with_a_pointer_to_the_docs_and_no_password() {
    let message = refusal(
        restore_sqlite(
            "postgres://tenure:s3cret@db.example/tenure",
            Path::new("b.dump"),
        )
        .await
        .unwrap_err(),
    );
    assert!(
        message.contains("pg_dump") && message.contains("docs/OPERATIONS.md"),
        "{message}"
    );
    assert!(!message.contains("s3cret"));
}

/// Every table of the current PostgreSQL schema with its row count and an
/// MD5 of its rows as text, sorted.
async fn pg_digests(store: &Store) -> Vec<(String, i64, String)> {
    use sqlx::Row;
    let tables: Vec<String> = sqlx::query(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .fetch_all(store.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    let mut out = Vec::new();
    for table in tables {
        let sql = format!(
            "SELECT COUNT(*), md5(COALESCE(string_agg(t::text, E'\\n' ORDER BY t::text), '')) \
             FROM \"{table}\" t"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(store.pool())
            .await
            .unwrap();
        out.push((table, row.get::<i64, _>(0), row.get::<String, _>(1)));
    }
    out
}

#[tokio::test]
async fn postgres_backup_then_restore_gives_back_every_row_of_every_table() {
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.is_empty())
        || std::env::var("TEST_DATABASE_URL").is_err()
    {
        eprintln!("PostgreSQL part skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let db = tenure_store::testing::test_db().await;
    for (kind, file) in [
        (Kind::Accounts, "accounts.csv"),
        (Kind::Subscriptions, "subscriptions.csv"),
        (Kind::Events, "events.ndjson"),
        (Kind::Tickets, "tickets.csv"),
        (Kind::SurveyResponses, "survey_responses.csv"),
    ] {
        let options = ImportOptions {
            create_missing_accounts: true,
            ..ImportOptions::default()
        };
        db.store
            .import_file(kind, &Path::new(FIXTURES).join(file), &options, &mut |_| {})
            .await
            .unwrap();
    }
    let before = pg_digests(&db.store).await;
    assert!(before.iter().any(|(t, n, _)| t == "usage_days" && *n > 0));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenure.dump");
    // While the store is connected, as a running server would be.
    let checked = tenure_store::backup::backup(&db.url, &file, false)
        .await
        .unwrap();
    assert_eq!(checked.schema_version, latest_version());
    let counts: Vec<(String, i64)> = before.iter().map(|(t, n, _)| (t.clone(), *n)).collect();
    let reported: Vec<(String, i64)> = checked
        .tables
        .iter()
        .map(|t| (t.table.clone(), t.rows))
        .collect();
    assert_eq!(reported, counts);
    let message = refusal(
        tenure_store::backup::backup(&db.url, &file, false)
            .await
            .unwrap_err(),
    );
    assert!(message.contains("--force"), "{message}");

    db.store
        .import_reader(
            Kind::Accounts,
            "more.csv",
            "id,name\nlate-1,Late Corp\n".as_bytes(),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_ne!(pg_digests(&db.store).await, before);

    let message = refusal(
        tenure_store::backup::restore(&db.url, &file)
            .await
            .unwrap_err(),
    );
    assert!(message.contains("is in use"), "{message}");
    db.store.close().await;

    let garbage = dir.path().join("garbage.dump");
    std::fs::write(&garbage, "id,name\n").unwrap();
    let message = refusal(
        tenure_store::backup::restore(&db.url, &garbage)
            .await
            .unwrap_err(),
    );
    assert!(message.contains("not a pg_dump"), "{message}");
    let mut truncated = std::fs::read(&file).unwrap();
    truncated.truncate(truncated.len() / 2);
    std::fs::write(&garbage, truncated).unwrap();
    let message = refusal(
        tenure_store::backup::restore(&db.url, &garbage)
            .await
            .unwrap_err(),
    );
    assert!(message.contains("damaged"), "{message}");

    let restored = tenure_store::backup::restore(&db.url, &file).await.unwrap();
    assert_eq!(restored.from_version, latest_version());
    assert!(!restored.database.contains("s3cret"));
    let store = Store::connect(&db.url).await.unwrap();
    assert_eq!(pg_digests(&store).await, before);
    store.close().await;

    // An archive of an older schema, restored over the current one: the
    // newer tables go, then the migrations bring them back.
    let (old_url, _) = tenure_store::testing::fresh_url().await.unwrap();
    let old = Store::connect(&old_url).await.unwrap();
    old.migrate_to(latest_version() - 1).await.unwrap();
    old.close().await;
    let old_file = dir.path().join("old.dump");
    let checked = tenure_store::backup::backup(&old_url, &old_file, false).await;
    drop_database(&old_url).await;
    assert_eq!(checked.unwrap().schema_version, latest_version() - 1);
    let restored = tenure_store::backup::restore(&db.url, &old_file)
        .await
        .unwrap();
    assert_eq!(restored.from_version, latest_version() - 1);
    assert_eq!(restored.checked.schema_version, latest_version());
    let store = Store::connect(&db.url).await.unwrap();
    assert_eq!(store.count(Kind::Accounts).await.unwrap(), 0);
    assert!(
        store
            .migration_status()
            .await
            .unwrap()
            .iter()
            .all(|m| m.applied)
    );
    store.close().await;
}

/// Drops a database made with `fresh_url` (a `TestDb` drops its own).
async fn drop_database(url: &str) {
    use sqlx::Connection;
    let base = std::env::var("TEST_DATABASE_URL").unwrap();
    let name = url.rsplit_once('/').unwrap().1.to_string();
    let mut conn = sqlx::AnyConnection::connect(&base).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
}
