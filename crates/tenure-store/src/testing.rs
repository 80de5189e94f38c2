//! Throwaway databases for tests, on either backend.
//!
//! `TEST_DATABASE_URL` unset: a fresh SQLite file in a temporary folder.
//! Set to a PostgreSQL server URL (as the test script does): a fresh database
//! on that server, so each test starts empty and tests run in parallel.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AssertSqlSafe, Connection};

use crate::{Result, Store};

/// A test database; the SQLite file is removed when this is dropped.
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
