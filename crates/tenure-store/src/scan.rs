//! Bulk reads of many rows, and one bulk write (a day's health snapshots,
//! `write_sqlite`): the places where the SQLite backend does not go
//! through sqlx.
//!
//! sqlx's SQLite driver steps the statement on a worker thread and sends
//! every row to the async side through a channel, then the `Any` driver
//! copies it into an `AnyRow`. For the tens of millions of event rows that
//! metrics and health read, a profile put over 80% of the time in that hand-
//! over (thread wake-ups, locks, allocation) and under 3% in SQLite itself:
//! about 600,000 rows a second, where SQLite scans an index at several
//! million (docs/PERFORMANCE.md). So on SQLite, [`Store::scan`] opens a
//! private read-only connection to the same file with `rusqlite` (the same
//! bundled SQLite library sqlx links) and calls back for each row on the
//! calling thread, borrowing the row's text without copying it. On
//! PostgreSQL, and for an in-memory SQLite database, it streams through
//! sqlx as every other query does. The SQL is the same on both paths.

use std::path::{Path, PathBuf};

use futures_util::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{Result, Store, StoreError};

/// A value bound to a `$N` placeholder of a scan, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Int(i64),
    Text(String),
}

/// Binds `binds` to a sqlx query in order.
pub(crate) fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for b in binds {
        q = match b {
            Bind::Int(i) => q.bind(*i),
            Bind::Text(s) => q.bind(s.as_str()),
        };
    }
    q
}

/// One row of a scan, whichever driver produced it. Text borrows from the
/// row; columns are numbered from 0.
pub trait ScanRow {
    fn text(&self, i: usize) -> Result<&str>;
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_text(&self, i: usize) -> Result<Option<&str>>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    fn opt_real(&self, i: usize) -> Result<Option<f64>>;
}

impl ScanRow for AnyRow {
    fn text(&self, i: usize) -> Result<&str> {
        Ok(self.try_get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.try_get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<&str>> {
        Ok(self.try_get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.try_get(i)?)
    }
    fn opt_real(&self, i: usize) -> Result<Option<f64>> {
        Ok(self.try_get(i)?)
    }
}

impl ScanRow for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<&str> {
        self.get_ref(i)
            .and_then(|v| v.as_str().map_err(Into::into))
            .map_err(StoreError::from)
    }
    fn int(&self, i: usize) -> Result<i64> {
        self.get_ref(i)
            .and_then(|v| v.as_i64().map_err(Into::into))
            .map_err(StoreError::from)
    }
    fn opt_text(&self, i: usize) -> Result<Option<&str>> {
        self.get_ref(i)
            .and_then(|v| v.as_str_or_null().map_err(Into::into))
            .map_err(StoreError::from)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        self.get_ref(i)
            .and_then(|v| v.as_i64_or_null().map_err(Into::into))
            .map_err(StoreError::from)
    }
    fn opt_real(&self, i: usize) -> Result<Option<f64>> {
        use rusqlite::types::ValueRef;
        match self.get_ref(i).map_err(StoreError::from)? {
            ValueRef::Null => Ok(None),
            ValueRef::Real(x) => Ok(Some(x)),
            // A REAL column may hold a whole number as an integer.
            ValueRef::Integer(n) => Ok(Some(n as f64)),
            _ => Err(crate::health::decode(format!("column {i} is not a number"))),
        }
    }
}

/// The file behind a normalised `sqlite://PATH?...` URL, unless the database
/// lives in memory (and so cannot be opened a second time).
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path.starts_with(":memory:") || query.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Runs blocking work from async code: on a multi-threaded runtime the
/// worker hands its other tasks to another thread first, so a long scan in
/// the server does not stall requests; elsewhere (a current-thread runtime,
/// as in tests) it simply runs.
pub(crate) fn run_blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Runs `f` in one write transaction on its own `rusqlite` connection to a
/// SQLite file, for bulk writes of many rows through one prepared statement
/// (SQLx binds every value through its own types and a worker thread, which
/// measured as a third of storing a day's health snapshots). The caller
/// holds the store's write lock; `BEGIN IMMEDIATE` takes SQLite's.
pub(crate) fn write_sqlite<T>(
    path: &Path,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
) -> Result<T> {
    use rusqlite::{Connection, OpenFlags, TransactionBehavior};
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // The pool's settings (`Store::connect`) but its 64 MB page cache: as
    // for scans, a large cache made SQLite allocate a buffer per page (the
    // benchmark's best run went 0.90 s → 1.08 s with it). WAL mode is the
    // database's own, set by the pool.
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA busy_timeout = 10000; PRAGMA temp_store = MEMORY;",
    )?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

fn scan_sqlite(
    path: &Path,
    sql: &str,
    binds: &[Bind],
    f: &mut dyn FnMut(&dyn ScanRow) -> Result<()>,
) -> Result<()> {
    use rusqlite::{Connection, OpenFlags};
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // A small page cache: a scan reads each page once, and a large cache
    // only makes SQLite allocate (and the kernel zero) a fresh buffer for
    // every page read. 64 MB here cost 15% of today's health recompute at
    // 100,000 accounts against 1 MB (docs/PERFORMANCE.md).
    conn.execute_batch(
        "PRAGMA query_only = ON; PRAGMA busy_timeout = 10000; \
         PRAGMA cache_size = -1024; PRAGMA temp_store = MEMORY;",
    )?;
    let mut stmt = conn.prepare(sql)?;
    for (n, b) in binds.iter().enumerate() {
        let name = format!("${}", n + 1);
        let Some(i) = stmt.parameter_index(&name)? else {
            continue;
        };
        match b {
            Bind::Int(v) => stmt.raw_bind_parameter(i, v)?,
            Bind::Text(v) => stmt.raw_bind_parameter(i, v.as_str())?,
        }
    }
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next()? {
        f(row)?;
    }
    Ok(())
}

impl Store {
    /// Runs a read-only query and calls `f` with each row, in the order the
    /// database returns them (see the module documentation for how).
    pub async fn scan<F>(&self, sql: &str, binds: &[Bind], mut f: F) -> Result<()>
    where
        F: FnMut(&dyn ScanRow) -> Result<()> + Send,
    {
        if let Some(path) = &self.sqlite_file {
            return run_blocking(|| scan_sqlite(path, sql, binds, &mut f));
        }
        let mut rows =
            bind_all(sqlx::query(AssertSqlSafe(sql.to_string())), binds).fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            f(&row)?;
        }
        Ok(())
    }
}

impl Store {
    /// Whether [`Store::scan_parallel`] runs its parts at once (SQLite file).
    pub(crate) fn scans_in_parallel(&self) -> bool {
        self.sqlite_file.is_some()
    }

    /// Runs read-only queries, one per part (SQL and its binds), each part
    /// feeding its own state made by `init`; returns the states in order.
    /// On SQLite every part runs on its own thread and connection, so a
    /// scan split into ranges uses every core; elsewhere the parts run one
    /// after another through [`Store::scan`].
    pub async fn scan_parallel<T, I, F>(
        &self,
        parts: &[(String, Vec<Bind>)],
        init: I,
        f: F,
    ) -> Result<Vec<T>>
    where
        T: Send,
        I: Fn() -> T + Sync,
        F: Fn(&mut T, &dyn ScanRow) -> Result<()> + Sync,
    {
        if let Some(path) = &self.sqlite_file {
            return run_blocking(|| {
                std::thread::scope(|scope| {
                    let handles: Vec<_> = parts
                        .iter()
                        .map(|(sql, binds)| {
                            scope.spawn(|| {
                                let mut state = init();
                                scan_sqlite(path, sql, binds, &mut |row| f(&mut state, row))?;
                                Ok(state)
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                        .collect()
                })
            });
        }
        let mut states = Vec::with_capacity(parts.len());
        for (sql, binds) in parts {
            let mut state = init();
            self.scan(sql, binds, |row| f(&mut state, row)).await?;
            states.push(state);
        }
        Ok(states)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_found_behind_sqlite_urls() {
        assert_eq!(
            sqlite_file("sqlite://data/t.db?mode=rwc"),
            Some(PathBuf::from("data/t.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///abs/t.db"),
            Some(PathBuf::from("/abs/t.db"))
        );
        assert_eq!(sqlite_file("sqlite://:memory:"), None);
        assert_eq!(sqlite_file("sqlite://x?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }
}
