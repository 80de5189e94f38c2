//! Reads for the web dashboard: the whole portfolio in a few bulk queries
//! (for the overview, the accounts table, metrics and risk, which the
//! server caches), and one account's activity for its page.
//!
//! Like every module here, no query runs once per account.

use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Row};
use tenure_core::model::{Account, MICROS_PER_DAY, Subscription, SurveyResponse, Ticket};

use crate::rows::{Record, from_row, select_list};
use crate::{Kind, Result, Store};

/// Every account and subscription, plus the survey responses and tickets
/// since a day: what the dashboard's aggregates are computed from.
#[derive(Debug, Clone, Default)]
pub struct Portfolio {
    pub accounts: Vec<Account>,
    pub subscriptions: Vec<Subscription>,
    pub responses: Vec<SurveyResponse>,
    pub tickets: Vec<Ticket>,
    /// Each account's first success-plan milestone done (time to value).
    pub first_values: Vec<(String, jiff::civil::Date)>,
}

/// One account's product use on one UTC day: a user and an event name with
/// its count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayUse {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub user_id: String,
    pub event: String,
    pub count: i64,
}

impl Store {
    /// Loads the portfolio: accounts and subscriptions whole (MRR movements
    /// depend on the whole history), responses and tickets from `since` on.
    pub async fn web_portfolio(&self, since: Timestamp) -> Result<Portfolio> {
        let mut p = Portfolio::default();
        for kind in [Kind::Accounts, Kind::Subscriptions] {
            let sql = format!(
                "SELECT {} FROM {} ORDER BY id",
                select_list(kind),
                kind.table()
            );
            for row in sqlx::query(AssertSqlSafe(sql))
                .fetch_all(&self.pool)
                .await?
            {
                match from_row(kind, &row)? {
                    Record::Account(a) => p.accounts.push(a),
                    Record::Subscription(s) => p.subscriptions.push(s),
                    _ => {}
                }
            }
        }
        for (kind, column) in [
            (Kind::SurveyResponses, "responded_at"),
            (Kind::Tickets, "opened_at"),
        ] {
            let sql = format!(
                "SELECT {} FROM {} WHERE {column} >= $1 ORDER BY id",
                select_list(kind),
                kind.table()
            );
            for row in sqlx::query(AssertSqlSafe(sql))
                .bind(since.as_microsecond())
                .fetch_all(&self.pool)
                .await?
            {
                match from_row(kind, &row)? {
                    Record::SurveyResponse(r) => p.responses.push(r),
                    Record::Ticket(t) => p.tickets.push(t),
                    _ => {}
                }
            }
        }
        p.first_values = self.first_milestone_days().await?;
        Ok(p)
    }

    /// One account's events from `since` on, counted per UTC day, user and
    /// event name (through the `(account_id, ts)` index).
    pub async fn account_day_use(&self, account_id: &str, since: Timestamp) -> Result<Vec<DayUse>> {
        let rows = sqlx::query(
            "SELECT ts / $3 AS day, user_id, event, COUNT(*) AS n FROM events \
             WHERE account_id = $1 AND ts >= $2 GROUP BY ts / $3, user_id, event",
        )
        .bind(account_id)
        .bind(since.as_microsecond())
        .bind(MICROS_PER_DAY)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DayUse {
                    day: r.try_get(0)?,
                    user_id: r.try_get(1)?,
                    event: r.try_get(2)?,
                    count: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Every record of a kind that belongs to one account (contacts,
    /// subscriptions, tickets, survey responses, engagements), ordered by id.
    pub async fn account_records(&self, kind: Kind, account_id: &str) -> Result<Vec<Record>> {
        debug_assert!(kind.has_id() && kind.has_account());
        let sql = format!(
            "SELECT {} FROM {} WHERE account_id = $1 ORDER BY id",
            select_list(kind),
            kind.table()
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| from_row(kind, r))
            .collect()
    }
}
