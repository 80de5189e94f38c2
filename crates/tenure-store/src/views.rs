//! The shared views' reads (docs/CRM.md, "Shared views"): each account's
//! open urgent tickets, and the event names each account used in a range
//! of days (from the `usage_days` rollup, one row per day, account and
//! name).

use futures_util::TryStreamExt;
use jiff::civil::Date;
use sqlx::Row;
use tenure_core::model::day_number;

use crate::{Result, Store};

/// An account's open urgent tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrgentTickets {
    pub account_id: String,
    /// How many are open.
    pub open: i64,
    /// When the oldest of them was opened, microseconds.
    pub oldest_opened_at: i64,
}

impl Store {
    /// Every account with open tickets of priority `urgent`, by id.
    pub async fn open_urgent_tickets(&self) -> Result<Vec<UrgentTickets>> {
        let rows = sqlx::query(
            "SELECT account_id, COUNT(*), MIN(opened_at) FROM tickets \
             WHERE closed_at IS NULL AND priority = 'urgent' \
             GROUP BY account_id ORDER BY account_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UrgentTickets {
                    account_id: r.try_get(0)?,
                    open: r.try_get(1)?,
                    oldest_opened_at: r.try_get(2)?,
                })
            })
            .collect()
    }

    /// Each (account, event name) with at least one event from `from` to
    /// `to`, both included.
    pub async fn events_used(&self, from: Date, to: Date) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        let mut rows = sqlx::query(
            "SELECT DISTINCT account_id, event FROM usage_days WHERE day >= $1 AND day <= $2",
        )
        .bind(i64::from(day_number(from)))
        .bind(i64::from(day_number(to)))
        .fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            out.push((row.try_get(0)?, row.try_get(1)?));
        }
        Ok(out)
    }
}
