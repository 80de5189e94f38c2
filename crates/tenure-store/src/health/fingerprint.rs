//! The [`DataFingerprint`]: when it changes, health scores may have
//! changed.

use sqlx::Row;

use crate::{Backend, Result, Store};

/// A cheap summary of the data health scores read; when it changes, scores
/// may have changed. It sees appended events and rows, imports, overrides,
/// billing webhooks (which also change existing subscriptions), every
/// change the audit log records and a newly trained churn model.
///
/// Events are seen through their largest `seq`, which is enough where
/// events are numbered in the order they commit: on SQLite (one writer at
/// a time), and on PostgreSQL for Tenure's own writers, which take turns
/// ([`Store::lock_bulk_writers`]). Two writers that do not (another
/// program inserting rows beside a server) take numbers from the sequence
/// before either commits, so the later number can commit first, and the
/// largest `seq` does not change when the earlier one commits. So on
/// PostgreSQL the fingerprint also adds up the last `EVENTS_TAIL` numbers,
/// which such a commit changes (its number joins them, a smaller one
/// leaves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFingerprint(Vec<i64>);

/// How many of the last event numbers the fingerprint adds up on
/// PostgreSQL: an event committed late is seen unless this many events
/// with larger numbers committed while its transaction was open (an
/// ingest batch's transaction lasts milliseconds; an import's also changes
/// the import log). Reading them is one backward range of the primary
/// key, about 0.3 ms.
const EVENTS_TAIL: i64 = 1_000;

/// The leading values of a [`DataFingerprint`] that describe events.
const EVENT_PARTS: usize = 2;

impl DataFingerprint {
    /// The fingerprint without its events: what the rows made from text
    /// (feedback from tickets, survey comments and notes) depend on, which
    /// a stream of product events does not change.
    pub fn without_events(&self) -> DataFingerprint {
        DataFingerprint(self.0.iter().skip(EVENT_PARTS).copied().collect())
    }

    /// The fingerprint as text, as the jobs record it (`job_runs`).
    pub fn key(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(i64::to_string).collect();
        parts.join(",")
    }
}

impl Store {
    /// The current [`DataFingerprint`].
    pub async fn data_fingerprint(&self) -> Result<DataFingerprint> {
        // The sum of the last numbers on PostgreSQL (see the type's
        // documentation); a constant on SQLite.
        let tail = match self.backend {
            Backend::Sqlite => "0".to_string(),
            // A LIMIT rather than a range from the largest number: the
            // planner cannot know that range's size and planned a parallel
            // scan (10 ms to start its workers).
            Backend::Postgres => format!(
                "(SELECT COALESCE(SUM(seq), 0)::BIGINT FROM \
                 (SELECT seq FROM events ORDER BY seq DESC LIMIT {EVENTS_TAIL}) AS tail)"
            ),
        };
        let sql = format!(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM events), {tail}, \
             (SELECT COUNT(*) FROM accounts), \
             (SELECT COUNT(*) FROM subscriptions), \
             (SELECT COUNT(*) FROM tickets), \
             (SELECT COUNT(*) FROM survey_responses), \
             (SELECT COUNT(*) FROM engagements), \
             (SELECT COUNT(*) FROM payment_failures), \
             (SELECT COALESCE(MAX(id), 0) FROM import_log), \
             (SELECT COUNT(*) FROM audit_log), \
             (SELECT COUNT(*) FROM webhook_events), \
             (SELECT COALESCE(MAX(version), 0) FROM churn_models)"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await?;
        let mut values = Vec::with_capacity(12);
        for i in 0..12 {
            values.push(row.try_get::<i64, _>(i)?);
        }
        Ok(DataFingerprint(values))
    }
}
