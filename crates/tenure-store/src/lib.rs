//! All of Tenure's SQL.
//!
//! One [`Store`] wraps a connection pool on either backend: the URL prefix
//! (`sqlite://` or `postgres://`) picks it at start-up. Both backends share one
//! schema (same tables, columns and portable types, see `migrations/`) so that
//! every query in this crate is written once, with `$N` placeholders that both
//! drivers accept. No other crate holds an SQL string.
//!
//! Modules: [`import`] (all-or-nothing importers), [`export`] (streaming
//! exporters), [`bulk`] (batched inserts shared by importers and the demo
//! loader), [`rows`] (mapping between rows and core records), [`health`]
//! (signal loading, score snapshots, overrides, audit log), [`scan`] (bulk
//! reads of millions of rows, which on SQLite bypass sqlx for speed),
//! [`backup`] (backups and restores, checked on both ends: `VACUUM INTO`
//! on SQLite, `pg_dump` and `pg_restore` on PostgreSQL).

pub mod analytics;
pub mod api;
pub mod auth;
pub mod backup;
pub mod billing;
pub mod bulk;
pub mod churn;
pub mod crm;
pub mod crm_webhook;
mod deferred;
pub mod engage;
pub mod export;
pub mod feedback;
pub mod health;
pub mod import;
pub mod ingest;
pub mod jobs;
pub mod kind;
pub mod kpis;
pub mod outbound;
pub mod plays;
pub mod risk;
pub mod rows;
pub mod scan;
pub mod surveys;
pub mod target;
#[cfg(feature = "testing")]
pub mod testing;
pub mod views;
pub mod web;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row};

pub use kind::Kind;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Errors from the store. Bad input is [`StoreError::Invalid`]; everything
/// else is a failure of the database or of the environment.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one Tenure can use.
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://...")]
    BadUrl(String),
    /// The input was rejected; nothing was written. Holds up to the first 20 problems.
    #[error("{}", import::format_problems(.0))]
    Invalid(Vec<import::Problem>),
    /// A record that was asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A migration failed or the database is newer than this binary.
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database reported an error.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// SQLite reported an error on a bulk read ([`scan`]).
    #[error("database error: {0}")]
    Scan(#[from] rusqlite::Error),
    /// Reading a file or writing output failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One applied or pending migration, for `tenure db status`.
#[derive(Debug, Clone)]
pub struct MigrationState {
    pub version: i64,
    pub description: String,
    pub applied: bool,
}

/// A handle on Tenure's database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Serialises write transactions on SQLite, which allows one writer at a
    /// time: waiting here is a fair queue, where SQLite's own busy handler
    /// would sleep and retry and waste most of the time under concurrent
    /// writes.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    /// The SQLite database file, which [`scan`] reads directly.
    sqlite_file: Option<std::path::PathBuf>,
    /// Ingest requests waiting to be committed together ([`ingest`]).
    ingest_jobs: Arc<std::sync::Mutex<Vec<ingest::Job>>>,
}

/// A write transaction; on SQLite it also holds the store's write lock.
/// Dereferences to the connection, so `&mut *tx` runs queries in it.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

/// Normalises a user-given database URL: a bare path or `sqlite:FILE` becomes
/// `sqlite://FILE`, and SQLite files are created on first use.
pub fn normalise_url(url: &str) -> Result<(String, Backend)> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((url.to_string(), Backend::Postgres));
    }
    let path = if let Some(rest) = url.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        rest
    } else if !url.contains("://") && !url.is_empty() {
        url
    } else {
        return Err(StoreError::BadUrl(url.to_string()));
    };
    if path.is_empty() {
        return Err(StoreError::BadUrl(url.to_string()));
    }
    let sep = if path.contains('?') { '&' } else { '?' };
    let with_mode = if path.contains("mode=") {
        path.to_string()
    } else {
        format!("{path}{sep}mode=rwc")
    };
    Ok((format!("sqlite://{with_mode}"), Backend::Sqlite))
}

impl Store {
    /// Connects without migrating (for `tenure db status`).
    pub async fn connect(url: &str) -> Result<Store> {
        install_default_drivers();
        let (url, backend) = normalise_url(url)?;
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        let pool = match backend {
            Backend::Sqlite => {
                options
                    // One writer at a time is SQLite's model; a few readers help the server.
                    .max_connections(4)
                    // A connection to a file cannot drop as a network one
                    // can: no ping before each query, which cost every
                    // query a second round trip to the connection's worker
                    // thread (docs/PERFORMANCE.md, "The account page").
                    .test_before_acquire(false)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                                 PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => options.max_connections(10).connect(&url).await?,
        };
        Ok(Store {
            pool,
            backend,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
            sqlite_file: scan::sqlite_file(&url),
            ingest_jobs: Arc::default(),
        })
    }

    /// Connects and brings the schema up to date: what every command but
    /// `db status` uses, so a new database is ready on first use.
    pub async fn open(url: &str) -> Result<Store> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Begins a transaction that writes (see [`WriteTx`]).
    pub async fn begin_write(&self) -> Result<WriteTx> {
        match self.backend {
            Backend::Sqlite => {
                let guard = self.write_lock.clone().lock_owned().await;
                self.begin_write_holding(guard).await
            }
            Backend::Postgres => Ok(WriteTx {
                tx: self.pool.begin().await?,
                _guard: None,
            }),
        }
    }

    /// A write transaction that is also the only bulk writer until it ends
    /// ([`Store::lock_bulk_writers`]).
    pub(crate) async fn begin_bulk_write(&self) -> Result<WriteTx> {
        let mut tx = self.begin_write().await?;
        self.lock_bulk_writers(&mut tx).await?;
        Ok(tx)
    }

    /// [`Store::begin_bulk_write`] with the store's write lock held by the
    /// caller (ingest's group commit).
    async fn begin_bulk_write_holding(
        &self,
        guard: tokio::sync::OwnedMutexGuard<()>,
    ) -> Result<WriteTx> {
        let mut tx = self.begin_write_holding(guard).await?;
        self.lock_bulk_writers(&mut tx).await?;
        Ok(tx)
    }

    /// Begins a write transaction with the store's write lock held by the
    /// caller; the transaction keeps it until it ends.
    async fn begin_write_holding(
        &self,
        guard: tokio::sync::OwnedMutexGuard<()>,
    ) -> Result<WriteTx> {
        let tx = match self.backend {
            // IMMEDIATE takes SQLite's write lock at once (waiting through
            // busy_timeout). A deferred transaction that reads first and
            // writes later fails outright with SQLITE_BUSY when another
            // connection wrote in between.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx {
            tx,
            _guard: Some(guard),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Makes the transaction on `conn` the only bulk writer until it ends,
    /// on PostgreSQL (a transaction-level advisory lock); on SQLite, where
    /// one transaction writes at a time anyway, it does nothing.
    ///
    /// Taken first by every transaction that writes many shared rows in
    /// several statements: ingest groups, imports of every kind (CRM
    /// exports included), the demo's load, and the API's event creates
    /// and account deletes (which touch events and their rollups). Two
    /// such transactions each holding a row the other waits for deadlock,
    /// and PostgreSQL ends that by failing one of them: the usage rollups'
    /// triggers lock each rollup row they update, and an import upserts
    /// accounts in its file's order while an ingest group's calls upsert
    /// them in theirs. Two tests saw it: two stores ingesting the same
    /// accounts at once (31 of 80 requests failed without this lock) and
    /// an accounts import beside ingest group calls. Taking turns also
    /// numbers events in the order they commit.
    pub async fn lock_bulk_writers(&self, conn: &mut sqlx::AnyConnection) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(crate::jobs::advisory_key("bulk writes"))
                .execute(conn)
                .await?;
        }
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<()> {
        self.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Lists every migration this binary knows and whether it is applied.
    pub async fn migration_status(&self) -> Result<Vec<MigrationState>> {
        let has_table: i64 = match self.backend {
            Backend::Sqlite => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
                )
                .fetch_one(&self.pool)
                .await?
            }
            Backend::Postgres => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
                )
                .fetch_one(&self.pool)
                .await?
            }
        };
        let applied: Vec<i64> = if has_table > 0 {
            sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.try_get::<i64, _>(0))
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        Ok(self
            .migrator()
            .iter()
            .map(|m| MigrationState {
                version: m.version,
                description: m.description.to_string(),
                applied: applied.contains(&m.version),
            })
            .collect())
    }

    /// True when the database answers; for `/readyz`.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Number of rows in the table behind a kind.
    pub async fn count(&self, kind: Kind) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {}", kind.table());
        Ok(sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await?)
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised() {
        assert_eq!(
            normalise_url("sqlite://tenure.db").unwrap(),
            ("sqlite://tenure.db?mode=rwc".to_string(), Backend::Sqlite)
        );
        assert_eq!(
            normalise_url("data/t.db").unwrap().0,
            "sqlite://data/t.db?mode=rwc"
        );
        assert_eq!(
            normalise_url("postgres://u@h/db").unwrap().1,
            Backend::Postgres
        );
        assert!(normalise_url("mysql://x").is_err());
        assert!(normalise_url("sqlite://").is_err());
    }
}
