//! The background jobs' coordination (migration 0024, docs/OPERATIONS.md,
//! "Running several servers"): a lock per job, so that when several
//! `tenure serve` processes (or a server and `tenure run-jobs` from cron)
//! share one database a job runs on one of them at a time, and the record
//! of each pass (`job_runs`), so that a pass one server made is not made
//! again by another for the same data and day.
//!
//! On PostgreSQL the lock is a session advisory lock
//! (`pg_try_advisory_lock`) held on a connection taken out of the pool for
//! as long as the job runs: it is released when the job ends, and by the
//! server when the connection closes, so a process that dies holding a job
//! gives it up at once. On SQLite it is a lease row (`job_leases`) that
//! runs out after [`SQLITE_LEASE`], for the same reason.

use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Row};

use crate::{Backend, Result, Store};

/// How long a SQLite lease lasts unless its holder releases it first: far
/// longer than a pass, short enough that a job a crashed process held
/// runs again soon.
pub const SQLITE_LEASE: Duration = Duration::from_secs(600);

/// One pass of a job, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    pub job: String,
    /// The process that ran it ([`Store::try_job_lock`]'s `instance`).
    pub instance: String,
    /// The day it ran for (`YYYY-MM-DD`).
    pub day: String,
    /// What the data looked like when it started (the data fingerprint).
    pub data_key: String,
    /// Microseconds since the Unix epoch.
    pub started_at: i64,
    pub finished_at: i64,
    /// `ok` or `failed`.
    pub outcome: String,
    /// What the pass wrote (the daily pass: health snapshots).
    pub written: i64,
    pub error: Option<String>,
}

/// A job held by this process until [`JobLock::release`]. Dropped without
/// being released (a panic), the PostgreSQL connection holding it is
/// closed rather than returned to the pool, which releases the lock; a
/// SQLite lease runs out.
pub struct JobLock {
    store: Store,
    job: String,
    instance: String,
    conn: Option<PoolConnection<sqlx::Any>>,
}

impl std::fmt::Debug for JobLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobLock")
            .field("job", &self.job)
            .field("instance", &self.instance)
            .finish()
    }
}

/// The advisory lock key of a job: a stable 64-bit FNV-1a hash of
/// `tenure:` and its name, the same in every process and release.
pub fn advisory_key(job: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"tenure:".iter().chain(job.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h as i64
}

impl Store {
    /// Takes `job` for `instance` if no other process holds it; `None`
    /// when one does. `now` is the current time in microseconds (the
    /// SQLite lease's clock).
    pub async fn try_job_lock(
        &self,
        job: &str,
        instance: &str,
        now: i64,
    ) -> Result<Option<JobLock>> {
        let conn = match self.backend {
            Backend::Postgres => {
                let mut conn = self.pool.acquire().await?;
                let took: bool = sqlx::query("SELECT pg_try_advisory_lock($1)")
                    .bind(advisory_key(job))
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get(0)?;
                if !took {
                    return Ok(None);
                }
                Some(conn)
            }
            Backend::Sqlite => {
                let expires = now + SQLITE_LEASE.as_micros() as i64;
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO job_leases (job, instance, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (job) DO UPDATE SET instance = excluded.instance, \
                     expires_at = excluded.expires_at WHERE job_leases.expires_at < $4",
                )
                .bind(job)
                .bind(instance)
                .bind(expires)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let holder: String = sqlx::query("SELECT instance FROM job_leases WHERE job = $1")
                    .bind(job)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                tx.commit().await?;
                if holder != instance {
                    return Ok(None);
                }
                None
            }
        };
        Ok(Some(JobLock {
            store: self.clone(),
            job: job.to_string(),
            instance: instance.to_string(),
            conn,
        }))
    }

    /// The last recorded pass of `job`, if any.
    pub async fn last_job_run(&self, job: &str) -> Result<Option<JobRun>> {
        let row = sqlx::query(
            "SELECT job, instance, day, data_key, started_at, finished_at, outcome, \
             written, error FROM job_runs WHERE job = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(job)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| job_run(&r)).transpose()
    }

    /// Every recorded pass of `job` (all jobs when `None`), oldest first.
    pub async fn job_runs(&self, job: Option<&str>) -> Result<Vec<JobRun>> {
        const COLUMNS: &str = "SELECT job, instance, day, data_key, started_at, finished_at, \
             outcome, written, error FROM job_runs";
        let rows = match job {
            Some(job) => {
                sqlx::query(AssertSqlSafe(format!(
                    "{COLUMNS} WHERE job = $1 ORDER BY id"
                )))
                .bind(job)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!("{COLUMNS} ORDER BY id")))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(job_run).collect()
    }

    /// Records a pass, and forgets passes that finished before
    /// `keep_after` (microseconds).
    pub async fn record_job_run(&self, run: &JobRun, keep_after: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO job_runs (job, instance, day, data_key, started_at, finished_at, \
             outcome, written, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&run.job)
        .bind(&run.instance)
        .bind(&run.day)
        .bind(&run.data_key)
        .bind(run.started_at)
        .bind(run.finished_at)
        .bind(&run.outcome)
        .bind(run.written)
        .bind(run.error.as_deref())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM job_runs WHERE finished_at < $1")
            .bind(keep_after)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
}

fn job_run(r: &sqlx::any::AnyRow) -> Result<JobRun> {
    Ok(JobRun {
        job: r.try_get(0)?,
        instance: r.try_get(1)?,
        day: r.try_get(2)?,
        data_key: r.try_get(3)?,
        started_at: r.try_get(4)?,
        finished_at: r.try_get(5)?,
        outcome: r.try_get(6)?,
        written: r.try_get(7)?,
        error: r.try_get(8)?,
    })
}

impl JobLock {
    /// The job held.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// Gives the job up for other processes.
    pub async fn release(mut self) -> Result<()> {
        if let Some(mut conn) = self.conn.take() {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(advisory_key(&self.job))
                .execute(&mut *conn)
                .await;
            if unlocked.is_err() {
                // Never back to the pool still holding the lock: closed,
                // the connection releases it.
                drop(conn.detach());
            }
            unlocked?;
            return Ok(());
        }
        let mut tx = self.store.begin_write().await?;
        sqlx::query("DELETE FROM job_leases WHERE job = $1 AND instance = $2")
            .bind(&self.job)
            .bind(&self.instance)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
}

impl Drop for JobLock {
    fn drop(&mut self) {
        // Not released: close the connection (which releases the advisory
        // lock) instead of returning it to the pool still holding it.
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
    }
}
