//! The [`DataFingerprint`]: when it changes, health scores may have
//! changed.

use sqlx::Row;

use crate::{Result, Store};

/// A cheap summary of the data health scores read; when it changes, scores
/// may have changed. It sees appended events and rows, imports, overrides,
/// billing webhooks (which also change existing subscriptions), every
/// change the audit log records and a newly trained churn model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFingerprint(Vec<i64>);

impl DataFingerprint {
    /// The fingerprint without its events: what the rows made from text
    /// (feedback from tickets, survey comments and notes) depend on, which
    /// a stream of product events does not change.
    pub fn without_events(&self) -> DataFingerprint {
        DataFingerprint(self.0.iter().skip(1).copied().collect())
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
        let row = sqlx::query(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM events), \
             (SELECT COUNT(*) FROM accounts), \
             (SELECT COUNT(*) FROM subscriptions), \
             (SELECT COUNT(*) FROM tickets), \
             (SELECT COUNT(*) FROM survey_responses), \
             (SELECT COUNT(*) FROM engagements), \
             (SELECT COUNT(*) FROM payment_failures), \
             (SELECT COALESCE(MAX(id), 0) FROM import_log), \
             (SELECT COUNT(*) FROM audit_log), \
             (SELECT COUNT(*) FROM webhook_events), \
             (SELECT COALESCE(MAX(version), 0) FROM churn_models)",
        )
        .fetch_one(&self.pool)
        .await?;
        let mut values = Vec::with_capacity(11);
        for i in 0..11 {
            values.push(row.try_get::<i64, _>(i)?);
        }
        Ok(DataFingerprint(values))
    }
}
