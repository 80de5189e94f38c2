//! Manual overrides of health scores, each set or cleared with an entry in
//! the audit log.

use jiff::civil::Date;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use tenure_core::health::Override;
use tenure_core::model::{date_from_day, day_number};

use super::audit::audit;
use super::{get_day, get_opt_day};
use crate::{Result, Store, StoreError};

/// A manual override as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrideRow {
    pub id: i64,
    pub account_id: String,
    pub score: f64,
    pub reason: String,
    pub author: String,
    pub set_on: Date,
    pub until: Date,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// Cleared: it no longer applies from this day on.
    pub cleared_on: Option<Date>,
    pub cleared_by: Option<String>,
}

impl OverrideRow {
    /// The last day it applies: `until`, or the day before it was cleared.
    pub fn last_day(&self) -> Date {
        match self.cleared_on {
            Some(c) => date_from_day(day_number(c) - 1).min(self.until),
            None => self.until,
        }
    }

    /// Whether it applies on `day`.
    pub fn applies_on(&self, day: Date) -> bool {
        self.set_on <= day && day <= self.last_day()
    }

    /// The core override, with clearing folded into its last day; `None`
    /// when it was cleared before it ever applied.
    pub fn to_override(&self) -> Option<Override> {
        let until = self.last_day();
        (until >= self.set_on).then(|| Override {
            score: self.score,
            reason: self.reason.clone(),
            author: self.author.clone(),
            set_on: self.set_on,
            until,
        })
    }
}

/// A new manual override.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOverride {
    pub account_id: String,
    pub score: f64,
    pub reason: String,
    pub author: String,
    /// The day it is made (today): it applies from then on.
    pub set_on: Date,
    pub until: Date,
}

const OVERRIDE_COLUMNS: &str = "id, account_id, score, reason, author, set_on, valid_until, \
                                created_at, cleared_on, cleared_by";

fn override_row(row: &AnyRow) -> Result<OverrideRow> {
    Ok(OverrideRow {
        id: row.try_get(0)?,
        account_id: row.try_get(1)?,
        score: row.try_get(2)?,
        reason: row.try_get(3)?,
        author: row.try_get(4)?,
        set_on: get_day(row, 5)?,
        until: get_day(row, 6)?,
        created_at: row.try_get(7)?,
        cleared_on: get_opt_day(row, 8)?,
        cleared_by: row.try_get(9)?,
    })
}

impl Store {
    /// Adds a manual override and its audit entry, in one transaction.
    /// Fails with [`StoreError::NotFound`] for an unknown account.
    pub async fn add_override(&self, o: &NewOverride, now_micros: i64) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1")
            .bind(&o.account_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("account {:?}", o.account_id)));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO health_overrides \
             (account_id, score, reason, author, set_on, valid_until, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&o.account_id)
        .bind(o.score)
        .bind(&o.reason)
        .bind(&o.author)
        .bind(o.set_on.to_string())
        .bind(o.until.to_string())
        .bind(now_micros)
        .fetch_one(&mut *tx)
        .await?;
        let details = serde_json::json!({
            "override_id": id, "score": o.score, "reason": o.reason,
            "set_on": o.set_on.to_string(), "until": o.until.to_string(),
        });
        audit(
            &mut tx,
            now_micros,
            &o.author,
            "health.override.set",
            "account",
            &o.account_id,
            &details,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Clears every override of an account that applies on `today` or
    /// later, from `today` on, with an audit entry each; returns how many.
    pub async fn clear_overrides(
        &self,
        account_id: &str,
        by: &str,
        today: Date,
        now_micros: i64,
    ) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "SELECT {OVERRIDE_COLUMNS} FROM health_overrides \
             WHERE account_id = $1 AND cleared_on IS NULL AND valid_until >= $2"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(account_id)
            .bind(today.to_string())
            .fetch_all(&mut *tx)
            .await?;
        let open: Vec<OverrideRow> = rows.iter().map(override_row).collect::<Result<_>>()?;
        for o in &open {
            sqlx::query(
                "UPDATE health_overrides SET cleared_on = $1, cleared_by = $2 WHERE id = $3",
            )
            .bind(today.to_string())
            .bind(by)
            .bind(o.id)
            .execute(&mut *tx)
            .await?;
            let details =
                serde_json::json!({ "override_id": o.id, "cleared_on": today.to_string() });
            audit(
                &mut tx,
                now_micros,
                by,
                "health.override.clear",
                "account",
                account_id,
                &details,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(open.len())
    }

    /// Overrides, oldest first; only one account's when given.
    pub async fn overrides(&self, account_id: Option<&str>) -> Result<Vec<OverrideRow>> {
        let rows = match account_id {
            Some(id) => {
                let sql = format!(
                    "SELECT {OVERRIDE_COLUMNS} FROM health_overrides WHERE account_id = $1 ORDER BY id"
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!("SELECT {OVERRIDE_COLUMNS} FROM health_overrides ORDER BY id");
                sqlx::query(AssertSqlSafe(sql))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(override_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clearing_ends_an_override_the_day_before() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let mut o = OverrideRow {
            id: 1,
            account_id: "a".into(),
            score: 10.0,
            reason: String::new(),
            author: String::new(),
            set_on: d("2025-03-01"),
            until: d("2025-03-31"),
            created_at: 0,
            cleared_on: None,
            cleared_by: None,
        };
        assert!(o.applies_on(d("2025-03-31")));
        o.cleared_on = Some(d("2025-03-10"));
        assert!(o.applies_on(d("2025-03-09")));
        assert!(!o.applies_on(d("2025-03-10")));
        assert_eq!(o.to_override().unwrap().until, d("2025-03-09"));
        o.cleared_on = Some(d("2025-03-01"));
        assert_eq!(o.to_override(), None);
    }
}
