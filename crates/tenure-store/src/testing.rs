//! Throwaway databases for tests, on either backend.
//!
//! `TEST_DATABASE_URL` unset: a fresh SQLite file in a temporary folder.
//! Set to a PostgreSQL server URL (as the test script does): a fresh database
//! on that server, so each test starts empty and tests run in parallel.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AssertSqlSafe, Connection};

use crate::{Result, Store};

/// A test database. When it is dropped, the SQLite file is removed, or the
/// PostgreSQL database is dropped (a test run makes hundreds of them, and
/// leaving them would fill the throwaway server's disk).
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A URL for a new, empty database (not yet migrated).
pub async fn fresh_url() -> Result<(String, Option<tempfile::TempDir>)> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            sqlx::any::install_default_drivers();
            let name = format!(
                "tenure_test_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst),
                jiff::Timestamp::now().as_microsecond() % 1_000_000
            );
            let mut conn = sqlx::AnyConnection::connect(&base).await?;
            sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await?;
            conn.close().await?;
            let (prefix, _) = base.rsplit_once('/').unwrap_or((&base, ""));
            Ok((format!("{prefix}/{name}"), None))
        }
        _ => {
            let dir =
                tempfile::tempdir().map_err(|e| crate::StoreError::io("creating a temp dir", e))?;
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            Ok((url, Some(dir)))
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self._dir.is_some() {
            return;
        }
        let Some((_, name)) = self.url.rsplit_once('/') else {
            return;
        };
        let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
            return;
        };
        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        // Drop runs inside the test's runtime, which cannot be blocked on;
        // a thread with its own runtime does the work and is waited for.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut conn = sqlx::AnyConnection::connect(&base).await?;
                sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await?;
                conn.close().await?;
                Ok::<_, sqlx::Error>(())
            })
            .map_err(std::io::Error::other)
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop the test database {name}: {e}");
        }
    }
}

/// A new, migrated, empty database.
pub async fn test_db() -> TestDb {
    let (url, dir) = fresh_url().await.expect("creating a test database");
    let store = Store::open(&url).await.expect("opening the test database");
    TestDb {
        store,
        url,
        _dir: dir,
    }
}

/// Imports `body` as file `name` of `kind` (a file may be imported again),
/// panicking with the file's name on a refusal.
pub async fn import_text(
    store: &Store,
    kind: crate::Kind,
    name: &str,
    body: &str,
) -> crate::import::ImportSummary {
    let options = crate::import::ImportOptions {
        allow_reimport: true,
        ..crate::import::ImportOptions::default()
    };
    store
        .import_reader(kind, name, body.as_bytes(), &options, &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("importing {name}: {e}"))
}
