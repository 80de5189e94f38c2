//! Reads for the web dashboard: the whole portfolio in a few bulk queries
//! (for the overview, the accounts table, metrics and risk, which the
//! server caches), and one account's activity for its page.
//!
//! Like every module here, no query runs once per account.

use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::{AssertSqlSafe, Row};
use tenure_core::model::{
    Account, MICROS_PER_DAY, Subscription, SurveyResponse, Ticket, day_number,
};

use crate::rows::{Record, from_row, select_list, select_list_without};
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

/// One account's product use over the 13 weeks to a day, counted in the
/// database: the account page's weekly active users and top events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UseSummary {
    /// `(weeks back, distinct users)` for each week with any event: week
    /// 0 is the 7 days to the day (the day included), week 12 the 7 days
    /// ending 84 days before it.
    pub weekly_users: Vec<(i64, i64)>,
    /// Each event name used in the 30 days to the day (the day included):
    /// `(name, count, distinct users)`, in no particular order.
    pub events: Vec<(String, i64, i64)>,
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

    /// The accounts with these ids (unknown ids are left out), without
    /// their custom attributes, ordered by id: the names and CSMs of a few
    /// accounts without reading every account.
    pub async fn accounts_by_id(&self, ids: &[&str]) -> Result<Vec<Account>> {
        let mut out = Vec::with_capacity(ids.len());
        // Numbered placeholders (SQLite looks them up by name): a few
        // hundred per statement.
        for chunk in ids.chunks(200) {
            let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {} FROM accounts WHERE id IN ({}) ORDER BY id",
                select_list_without(Kind::Accounts, "attributes"),
                list.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(*id);
            }
            for row in q.fetch_all(&self.pool).await? {
                if let Record::Account(a) = from_row(Kind::Accounts, &row)? {
                    out.push(a);
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// One account's [`UseSummary`] to `day` (through the events' index by
    /// account and time): two grouped counts, a few rows back.
    pub async fn account_use_summary(&self, account_id: &str, day: Date) -> Result<UseSummary> {
        let t = i64::from(day_number(day));
        let end = (t + 1) * MICROS_PER_DAY;
        let weeks = sqlx::query(
            "SELECT ($4 - ts / $3) / 7 AS w, COUNT(DISTINCT user_id) FROM events \
             WHERE account_id = $1 AND ts >= $2 AND ts < $5 GROUP BY 1",
        )
        .bind(account_id)
        .bind((t - 90) * MICROS_PER_DAY)
        .bind(MICROS_PER_DAY)
        .bind(t)
        .bind(end)
        .fetch_all(&self.pool)
        .await?;
        let events = sqlx::query(
            "SELECT event, COUNT(*), COUNT(DISTINCT user_id) FROM events \
             WHERE account_id = $1 AND ts >= $2 AND ts < $3 GROUP BY event",
        )
        .bind(account_id)
        .bind((t - 29) * MICROS_PER_DAY)
        .bind(end)
        .fetch_all(&self.pool)
        .await?;
        Ok(UseSummary {
            weekly_users: weeks
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_>>()?,
            events: events
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                .collect::<Result<_>>()?,
        })
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
