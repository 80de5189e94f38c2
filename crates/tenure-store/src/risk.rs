//! The risk board's and leadership reviews' SQL (docs/REACT.md), migration
//! 0012: flags (`risk_flags`), each day's measure (`risk_measures`), the
//! thresholds a measure is above (`risk_threshold_state`), reviews
//! (`risk_reviews`) and their accounts (`risk_review_items`); migration
//! 0015: the weekly digests queued (`risk_digests`, one per day, claimed
//! with [`claim_risk_digest`] in the transaction that queues its emails).
//! Who is at risk and when a review opens is decided in core and the
//! application layer; this module stores it, each change in one
//! transaction, and keeps a CSM to their own accounts.

use std::collections::BTreeMap;

use jiff::civil::Date;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use tenure_core::react::risk::{FlagSource, Measure, Outcome};

use crate::api::{Scope, account_visible, scoped};
use crate::health::{decode, get_day, get_opt_day};
use crate::import::Problem;
use crate::target::Task;
use crate::{Result, Store, StoreError};

/// An account on the board for a reason, until resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    pub id: String,
    pub account_id: String,
    pub reason: String,
    pub source: FlagSource,
    pub flagged_on: Date,
    pub flagged_by: Option<String>,
    pub next_step: Option<String>,
    pub next_step_due: Option<Date>,
    pub resolved_on: Option<Date>,
    /// `None` when resolved without one (a band flag whose account left
    /// the red band).
    pub outcome: Option<Outcome>,
    pub notes: Option<String>,
}

/// An account as the board shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskAccount {
    pub id: String,
    pub name: String,
    pub csm_email: Option<String>,
}

/// Whether a review has been held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStatus {
    Open,
    Held,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Open => "open",
            ReviewStatus::Held => "held",
        }
    }
}

/// A leadership review, opened when a threshold crossed.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub id: String,
    pub opened_on: Date,
    /// The thresholds that crossed, in words, joined by `"; "`.
    pub crossed: String,
    pub status: ReviewStatus,
    pub held_on: Option<Date>,
    pub attendees: Vec<String>,
}

/// An account a review looks at, and what was decided for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewItem {
    pub review_id: String,
    pub account_id: String,
    /// ARR at risk when the review opened (reporting minor units).
    pub arr: i64,
    pub reason: String,
    pub decision: Option<String>,
    pub action: Option<String>,
    pub owner_email: Option<String>,
    pub due_on: Option<Date>,
    pub task_id: Option<String>,
}

/// What one day's pass writes, all in one transaction.
#[derive(Debug, Clone, Default)]
pub struct RiskDay {
    pub day: Date,
    /// The book's measure (segment `""`) and each segment's.
    pub measures: Vec<(String, Measure)>,
    /// Whether the threshold state moves to this day (false for a past day).
    pub advance: bool,
    /// The thresholds above on this day and since when.
    pub above: Vec<(String, Date)>,
    /// Band flags to add (red accounts without one).
    pub new_flags: Vec<Flag>,
    /// Band flags to resolve (their account left the red band).
    pub cleared: Vec<String>,
    /// Accounts seen out of the red band: hand-resolved band flags stop
    /// keeping them off the board.
    pub not_red: Vec<String>,
    /// A review opened today, with its accounts.
    pub review: Option<(Review, Vec<ReviewItem>)>,
}

const FLAG_COLUMNS: &str = "id, account_id, reason, source, flagged_on, flagged_by, next_step, \
     next_step_due, resolved_on, outcome, notes";
const REVIEW_COLUMNS: &str = "id, opened_on, crossed, status, held_on, attendees";
const ITEM_COLUMNS: &str =
    "review_id, account_id, arr, reason, decision, action, owner_email, due_on, task_id";

fn flag_row(row: &AnyRow) -> Result<Flag> {
    let source: String = row.try_get(3)?;
    let outcome: Option<String> = row.try_get(9)?;
    Ok(Flag {
        id: row.try_get(0)?,
        account_id: row.try_get(1)?,
        reason: row.try_get(2)?,
        source: FlagSource::parse(&source)
            .ok_or_else(|| decode(format!("bad flag source {source:?}")))?,
        flagged_on: get_day(row, 4)?,
        flagged_by: row.try_get(5)?,
        next_step: row.try_get(6)?,
        next_step_due: get_opt_day(row, 7)?,
        resolved_on: get_opt_day(row, 8)?,
        outcome: outcome
            .map(|o| Outcome::parse(&o).ok_or_else(|| decode(format!("bad outcome {o:?}"))))
            .transpose()?,
        notes: row.try_get(10)?,
    })
}

fn review_row(row: &AnyRow) -> Result<Review> {
    let status: String = row.try_get(3)?;
    let attendees: Option<String> = row.try_get(5)?;
    Ok(Review {
        id: row.try_get(0)?,
        opened_on: get_day(row, 1)?,
        crossed: row.try_get(2)?,
        status: match status.as_str() {
            "open" => ReviewStatus::Open,
            "held" => ReviewStatus::Held,
            s => return Err(decode(format!("bad review status {s:?}"))),
        },
        held_on: get_opt_day(row, 4)?,
        attendees: attendees
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

fn item_row(row: &AnyRow) -> Result<ReviewItem> {
    Ok(ReviewItem {
        review_id: row.try_get(0)?,
        account_id: row.try_get(1)?,
        arr: row.try_get(2)?,
        reason: row.try_get(3)?,
        decision: row.try_get(4)?,
        action: row.try_get(5)?,
        owner_email: row.try_get(6)?,
        due_on: get_opt_day(row, 7)?,
        task_id: row.try_get(8)?,
    })
}

fn refused(what: &str, message: String) -> StoreError {
    StoreError::Invalid(vec![Problem {
        file: what.to_string(),
        line: 0,
        column: None,
        message,
    }])
}

async fn insert_flag(conn: &mut AnyConnection, f: &Flag, now: i64) -> Result<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO risk_flags ({FLAG_COLUMNS}, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    )))
    .bind(f.id.as_str())
    .bind(f.account_id.as_str())
    .bind(f.reason.as_str())
    .bind(f.source.as_string())
    .bind(f.flagged_on.to_string())
    .bind(f.flagged_by.as_deref())
    .bind(f.next_step.as_deref())
    .bind(f.next_step_due.map(|d| d.to_string()))
    .bind(f.resolved_on.map(|d| d.to_string()))
    .bind(f.outcome.map(|o| o.as_str()))
    .bind(f.notes.as_deref())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Claims the digest of `day` in the caller's write transaction, so the
/// emails queued in the same transaction go out once: false when that
/// day's digest was already queued (by an earlier pass or another
/// process), and then nothing should be queued.
pub async fn claim_risk_digest(
    conn: &mut AnyConnection,
    day: Date,
    recipients: usize,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO risk_digests (day, recipients, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (day) DO NOTHING",
    )
    .bind(day.to_string())
    .bind(recipients as i64)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A task a review decision makes, through target's insert.
async fn insert_task(conn: &mut AnyConnection, t: &Task) -> Result<()> {
    crate::target::insert_task_in(conn, t).await
}

impl Store {
    /// The accounts in scope with their names and CSMs, by id.
    pub async fn risk_accounts(&self, scope: &Scope) -> Result<Vec<RiskAccount>> {
        let (cond, bind) = scoped(scope, "id", 1);
        let sql = format!("SELECT id, name, csm_email FROM accounts WHERE 1 = 1{cond} ORDER BY id");
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(b) = bind {
            q = q.bind(b);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(RiskAccount {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    csm_email: r.try_get(2)?,
                })
            })
            .collect()
    }

    /// Adds a flag for an account in scope.
    pub async fn add_risk_flag(&self, flag: &Flag, scope: &Scope, now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if !account_visible(&mut tx, &flag.account_id, scope).await? {
            return Err(StoreError::NotFound(format!(
                "account {:?}",
                flag.account_id
            )));
        }
        insert_flag(&mut tx, flag, now).await?;
        tx.commit().await
    }

    /// One flag in scope.
    pub async fn risk_flag(&self, id: &str, scope: &Scope) -> Result<Flag> {
        let (cond, bind) = scoped(scope, "account_id", 2);
        let sql = format!("SELECT {FLAG_COLUMNS} FROM risk_flags WHERE id = $1{cond}");
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id);
        if let Some(b) = bind {
            q = q.bind(b);
        }
        match q.fetch_optional(&self.pool).await? {
            Some(r) => flag_row(&r),
            None => Err(StoreError::NotFound(format!("risk flag {id:?}"))),
        }
    }

    /// Flags in scope open on `day` (flagged by then, not resolved by
    /// then), or every open flag when `None`; by flag day.
    pub async fn risk_flags(&self, scope: &Scope, open_on: Option<Date>) -> Result<Vec<Flag>> {
        self.flags_open(scope, open_on, None).await
    }

    /// [`Store::risk_flags`] of one account (the account page), through
    /// the flags' index by account.
    pub async fn account_risk_flags(
        &self,
        scope: &Scope,
        account_id: &str,
        open_on: Date,
    ) -> Result<Vec<Flag>> {
        self.flags_open(scope, Some(open_on), Some(account_id))
            .await
    }

    async fn flags_open(
        &self,
        scope: &Scope,
        open_on: Option<Date>,
        account_id: Option<&str>,
    ) -> Result<Vec<Flag>> {
        let mut n = 1;
        let mut cond = match open_on {
            Some(_) => {
                n += 1;
                "flagged_on <= $1 AND (resolved_on IS NULL OR resolved_on > $1)".to_string()
            }
            None => "resolved_on IS NULL".to_string(),
        };
        if account_id.is_some() {
            cond.push_str(&format!(" AND account_id = ${n}"));
            n += 1;
        }
        let (c, bind) = scoped(scope, "account_id", n);
        cond.push_str(&c);
        let sql =
            format!("SELECT {FLAG_COLUMNS} FROM risk_flags WHERE {cond} ORDER BY flagged_on, id");
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(d) = open_on {
            q = q.bind(d.to_string());
        }
        if let Some(a) = account_id {
            q = q.bind(a);
        }
        if let Some(b) = bind {
            q = q.bind(b);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(flag_row).collect()
    }

    /// Resolves open flags in scope on `day` with an outcome; refuses a
    /// flag already resolved. Returns the flags as resolved.
    pub async fn resolve_risk_flags(
        &self,
        ids: &[String],
        day: Date,
        outcome: Outcome,
        notes: Option<&str>,
        scope: &Scope,
    ) -> Result<Vec<Flag>> {
        let mut tx = self.begin_write().await?;
        let mut out = Vec::new();
        for id in ids {
            let (cond, bind) = scoped(scope, "account_id", 2);
            let sql = format!("SELECT {FLAG_COLUMNS} FROM risk_flags WHERE id = $1{cond}");
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id.as_str());
            if let Some(b) = bind {
                q = q.bind(b);
            }
            let Some(row) = q.fetch_optional(&mut *tx).await? else {
                return Err(StoreError::NotFound(format!("risk flag {id:?}")));
            };
            let mut f = flag_row(&row)?;
            if let Some(on) = f.resolved_on {
                return Err(refused(
                    "risk flag",
                    format!("flag {id:?} was already resolved on {on}"),
                ));
            }
            sqlx::query(
                "UPDATE risk_flags SET resolved_on = $1, outcome = $2, \
                 notes = COALESCE($3, notes) WHERE id = $4",
            )
            .bind(day.to_string())
            .bind(outcome.as_str())
            .bind(notes)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
            f.resolved_on = Some(day);
            f.outcome = Some(outcome);
            if let Some(n) = notes {
                f.notes = Some(n.to_string());
            }
            out.push(f);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// The thresholds above on the last measured day and since when, and
    /// that day (`None` before the first pass).
    pub async fn risk_threshold_state(&self) -> Result<(Option<Date>, BTreeMap<String, Date>)> {
        let rows =
            sqlx::query("SELECT threshold, above, since, last_day FROM risk_threshold_state")
                .fetch_all(&self.pool)
                .await?;
        let mut last = None;
        let mut above = BTreeMap::new();
        for r in &rows {
            let d = get_day(r, 3)?;
            last = last.max(Some(d));
            let is: i64 = r.try_get(1)?;
            if is != 0 {
                above.insert(r.try_get::<String, _>(0)?, get_day(r, 2)?);
            }
        }
        Ok((last, above))
    }

    /// Writes one day's pass (see [`RiskDay`]) in one transaction.
    pub async fn save_risk_day(&self, d: &RiskDay, now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let day = d.day.to_string();
        sqlx::query("DELETE FROM risk_measures WHERE day = $1")
            .bind(day.as_str())
            .execute(&mut *tx)
            .await?;
        for (segment, m) in &d.measures {
            sqlx::query(
                "INSERT INTO risk_measures (day, segment, accounts_at_risk, arr_at_risk, total_arr) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(day.as_str())
            .bind(segment.as_str())
            .bind(m.accounts_at_risk as i64)
            .bind(m.arr_at_risk)
            .bind(m.total_arr)
            .execute(&mut *tx)
            .await?;
        }
        if d.advance {
            sqlx::query("DELETE FROM risk_threshold_state")
                .execute(&mut *tx)
                .await?;
            // A row with `above = 0` keeps the last measured day when no
            // threshold is above.
            let mut rows: Vec<(&str, i64, String)> = d
                .above
                .iter()
                .map(|(k, since)| (k.as_str(), 1, since.to_string()))
                .collect();
            rows.push(("", 0, day.clone()));
            for (k, above, since) in rows {
                sqlx::query(
                    "INSERT INTO risk_threshold_state (threshold, above, since, last_day) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(k)
                .bind(above)
                .bind(since)
                .bind(day.as_str())
                .execute(&mut *tx)
                .await?;
            }
        }
        for f in &d.new_flags {
            insert_flag(&mut tx, f, now).await?;
        }
        for id in &d.cleared {
            sqlx::query(
                "UPDATE risk_flags SET resolved_on = $1, notes = 'left the red band' \
                 WHERE id = $2 AND resolved_on IS NULL",
            )
            .bind(day.as_str())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        }
        for a in &d.not_red {
            sqlx::query(
                "UPDATE risk_flags SET cleared_on = $1 WHERE account_id = $2 AND source = 'band' \
                 AND outcome IS NOT NULL AND cleared_on IS NULL AND resolved_on <= $1",
            )
            .bind(day.as_str())
            .bind(a.as_str())
            .execute(&mut *tx)
            .await?;
        }
        if let Some((r, items)) = &d.review {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO risk_reviews ({REVIEW_COLUMNS}, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)"
            )))
            .bind(r.id.as_str())
            .bind(r.opened_on.to_string())
            .bind(r.crossed.as_str())
            .bind(r.status.as_str())
            .bind(r.held_on.map(|d| d.to_string()))
            .bind(r.attendees.join(", "))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for i in items {
                sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO risk_review_items ({ITEM_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                )))
                .bind(i.review_id.as_str())
                .bind(i.account_id.as_str())
                .bind(i.arr)
                .bind(i.reason.as_str())
                .bind(i.decision.as_deref())
                .bind(i.action.as_deref())
                .bind(i.owner_email.as_deref())
                .bind(i.due_on.map(|d| d.to_string()))
                .bind(i.task_id.as_deref())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await
    }

    /// The book's (`segment` `""`) or a segment's measures from `from` to
    /// `to`, by day.
    pub async fn risk_measures(
        &self,
        segment: &str,
        from: Date,
        to: Date,
    ) -> Result<Vec<(Date, Measure)>> {
        let rows = sqlx::query(
            "SELECT day, accounts_at_risk, arr_at_risk, total_arr FROM risk_measures \
             WHERE segment = $1 AND day >= $2 AND day <= $3 ORDER BY day",
        )
        .bind(segment)
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get(1)?;
                Ok((
                    get_day(r, 0)?,
                    Measure {
                        accounts_at_risk: n.max(0) as u64,
                        arr_at_risk: r.try_get(2)?,
                        total_arr: r.try_get(3)?,
                    },
                ))
            })
            .collect()
    }

    /// Accounts whose band flag was resolved by hand on or before `day`
    /// and that had not left the red band by then: kept off the board
    /// while they stay red.
    pub async fn risk_suppressed(&self, day: Date) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT account_id FROM risk_flags WHERE source = 'band' \
             AND outcome IS NOT NULL AND resolved_on <= $1 \
             AND (cleared_on IS NULL OR cleared_on > $1)",
        )
        .bind(day.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Whether [`Store::risk_suppressed`] holds `account_id` on `day`.
    pub async fn risk_suppressed_account(&self, day: Date, account_id: &str) -> Result<bool> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) FROM risk_flags WHERE account_id = $2 AND source = 'band' \
             AND outcome IS NOT NULL AND resolved_on <= $1 \
             AND (cleared_on IS NULL OR cleared_on > $1)",
        )
        .bind(day.to_string())
        .bind(account_id)
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        Ok(n > 0)
    }

    /// Flags resolved from `from` to `to` (both included), by resolution
    /// day: the accounts that left the board (the weekly digest).
    pub async fn risk_flags_resolved(&self, from: Date, to: Date) -> Result<Vec<Flag>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {FLAG_COLUMNS} FROM risk_flags WHERE resolved_on >= $1 AND resolved_on <= $2 \
             ORDER BY resolved_on, id"
        )))
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(flag_row).collect()
    }

    /// The addresses of every enabled leader and admin, sorted (the
    /// digest's `leaders`).
    pub async fn leader_emails(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT email FROM users WHERE role IN ('leader', 'admin') AND disabled = 0 \
             ORDER BY email",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Whether the digest of `day` was queued.
    pub async fn risk_digest_queued(&self, day: Date) -> Result<bool> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM risk_digests WHERE day = $1")
            .bind(day.to_string())
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(n > 0)
    }

    /// Every review, newest first.
    pub async fn risk_reviews(&self) -> Result<Vec<Review>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {REVIEW_COLUMNS} FROM risk_reviews ORDER BY opened_on DESC, id DESC"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(review_row).collect()
    }

    /// Every review item, for the reviews' outcomes.
    pub async fn risk_review_items(&self, review_id: Option<&str>) -> Result<Vec<ReviewItem>> {
        let rows = match review_id {
            Some(id) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {ITEM_COLUMNS} FROM risk_review_items WHERE review_id = $1 \
                     ORDER BY arr DESC, account_id"
                )))
                .bind(id)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {ITEM_COLUMNS} FROM risk_review_items ORDER BY review_id, arr DESC, account_id"
                )))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(item_row).collect()
    }

    /// One review.
    pub async fn risk_review(&self, id: &str) -> Result<Review> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {REVIEW_COLUMNS} FROM risk_reviews WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => review_row(&r),
            None => Err(StoreError::NotFound(format!("review {id:?}"))),
        }
    }

    /// Holds an open review: its date and attendees, each decided item's
    /// decision, and the tasks the decisions make, in one transaction.
    /// Refuses a review already held, so a form sent twice makes no
    /// second set of tasks.
    pub async fn hold_risk_review(
        &self,
        id: &str,
        held_on: Date,
        attendees: &[String],
        decisions: &[ReviewItem],
        tasks: &[Task],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE risk_reviews SET status = 'held', held_on = $1, attendees = $2 \
             WHERE id = $3 AND status = 'open'",
        )
        .bind(held_on.to_string())
        .bind(attendees.join(", "))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let exists: i64 = sqlx::query("SELECT COUNT(*) FROM risk_reviews WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            return Err(if exists == 0 {
                StoreError::NotFound(format!("review {id:?}"))
            } else {
                refused("review", format!("review {id:?} was already held"))
            });
        }
        for t in tasks {
            insert_task(&mut tx, t).await?;
        }
        for i in decisions {
            let n = sqlx::query(
                "UPDATE risk_review_items SET decision = $1, action = $2, owner_email = $3, \
                 due_on = $4, task_id = $5 WHERE review_id = $6 AND account_id = $7",
            )
            .bind(i.decision.as_deref())
            .bind(i.action.as_deref())
            .bind(i.owner_email.as_deref())
            .bind(i.due_on.map(|d| d.to_string()))
            .bind(i.task_id.as_deref())
            .bind(id)
            .bind(i.account_id.as_str())
            .execute(&mut *tx)
            .await?;
            if n.rows_affected() == 0 {
                return Err(refused(
                    "review",
                    format!("account {:?} is not in review {id:?}", i.account_id),
                ));
            }
        }
        tx.commit().await
    }
}
