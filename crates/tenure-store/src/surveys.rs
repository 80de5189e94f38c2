//! Surveys' SQL (docs/VOICE.md, migration 0016): the send log with each
//! send's hashed single-use token, the contacts who unsubscribed, and an
//! answer written as a `survey_responses` row (the table imports fill, so
//! metrics and health read it at once) in the same transaction that marks
//! the send answered. Who is due a survey is core's decision; the tokens
//! are made and hashed by the application layer: only hashes reach here.

use jiff::civil::Date;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::api::{Scope, Where};
use crate::health::audit::audit;
use crate::health::get_day;
use crate::scan::{Bind, bind_all};
use crate::{Result, Store};

/// A contact as the daily survey pass sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyContact {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: Option<String>,
    pub champion: bool,
    pub left: bool,
    pub unsubscribed: bool,
}

/// A survey sent to a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Send {
    pub id: String,
    pub survey: String,
    pub kind: String,
    pub channel: String,
    pub account_id: String,
    pub contact_id: String,
    pub segment: Option<String>,
    pub csm_email: Option<String>,
    pub token_hash: String,
    pub sent_on: Date,
    pub sent_at: i64,
    pub expires_at: i64,
    pub answered_at: Option<i64>,
    pub response_id: Option<String>,
    pub message_id: Option<String>,
}

/// A send with its answer's score, for rates and trends.
#[derive(Debug, Clone, PartialEq)]
pub struct SendWithScore {
    pub send: Send,
    pub score: Option<i64>,
}

/// An answer given through a send, as stored in `survey_responses`.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    pub response_id: String,
    pub survey: String,
    pub account_id: String,
    pub contact_id: Option<String>,
    pub score: i64,
    pub comment: Option<String>,
    pub responded_at: i64,
}

/// An answer to write: the `survey_responses` row's values.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub response_id: String,
    pub score: i64,
    pub comment: Option<String>,
    pub at: i64,
}

const SEND_COLUMNS: &str = "id, survey, kind, channel, account_id, contact_id, segment, csm_email, \
     token_hash, sent_on, sent_at, expires_at, answered_at, response_id, message_id";

/// The same columns prefixed with `s.`, for joins.
fn send_columns_s() -> String {
    SEND_COLUMNS
        .split(", ")
        .map(|c| format!("s.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn send_row(r: &AnyRow) -> Result<Send> {
    Ok(Send {
        id: r.try_get(0)?,
        survey: r.try_get(1)?,
        kind: r.try_get(2)?,
        channel: r.try_get(3)?,
        account_id: r.try_get(4)?,
        contact_id: r.try_get(5)?,
        segment: r.try_get(6)?,
        csm_email: r.try_get(7)?,
        token_hash: r.try_get(8)?,
        sent_on: get_day(r, 9)?,
        sent_at: r.try_get(10)?,
        expires_at: r.try_get(11)?,
        answered_at: r.try_get(12)?,
        response_id: r.try_get(13)?,
        message_id: r.try_get(14)?,
    })
}

/// A send row followed by its answer's score (column 15).
fn send_with_score(r: &AnyRow) -> Result<SendWithScore> {
    Ok(SendWithScore {
        send: send_row(r)?,
        score: r.try_get(15)?,
    })
}

/// Inserts a send in the caller's transaction (with the email it queues).
pub async fn insert_send(conn: &mut AnyConnection, s: &Send) -> Result<()> {
    insert_sends(conn, std::slice::from_ref(s)).await
}

/// The columns a new send is written with: not yet answered, so
/// `answered_at` and `response_id` are left NULL.
const NEW_SEND_COLUMNS: &str = "id, survey, kind, channel, account_id, contact_id, segment, \
     csm_email, token_hash, sent_on, sent_at, expires_at, message_id";

/// Inserts sends in the caller's transaction, many rows per statement: a
/// day's pass can send a survey to every contact (274,025 at 100,000
/// accounts), and one statement per send cost a round trip each on
/// PostgreSQL (docs/PERFORMANCE.md, "PostgreSQL at 100,000 accounts").
pub async fn insert_sends(conn: &mut AnyConnection, sends: &[Send]) -> Result<()> {
    let head = format!("INSERT INTO survey_sends ({NEW_SEND_COLUMNS}) VALUES ");
    crate::bulk::insert_many(conn, &head, 13, sends, |q, s| {
        q.bind(s.id.as_str())
            .bind(s.survey.as_str())
            .bind(s.kind.as_str())
            .bind(s.channel.as_str())
            .bind(s.account_id.as_str())
            .bind(s.contact_id.as_str())
            .bind(s.segment.as_deref())
            .bind(s.csm_email.as_deref())
            .bind(s.token_hash.as_str())
            .bind(s.sent_on.to_string())
            .bind(s.sent_at)
            .bind(s.expires_at)
            .bind(s.message_id.as_deref())
    })
    .await
}

impl Store {
    /// Every contact with what the survey audience reads, unsubscribes
    /// and departures included; by account and id.
    pub async fn survey_contacts(&self) -> Result<Vec<SurveyContact>> {
        // Through the scan path: the daily pass reads every contact.
        let mut out = Vec::new();
        self.scan(
            "SELECT c.id, c.account_id, c.email, c.name, c.role, c.champion, c.left_on, \
             u.contact_id FROM contacts c \
             LEFT JOIN survey_unsubscribes u ON u.contact_id = c.id \
             ORDER BY c.account_id, c.id",
            &[],
            |r| {
                out.push(SurveyContact {
                    id: r.text(0)?.to_string(),
                    account_id: r.text(1)?.to_string(),
                    email: r.text(2)?.to_string(),
                    name: r.opt_text(3)?.map(str::to_string),
                    role: r.opt_text(4)?.map(str::to_string),
                    champion: r.opt_int(5)? == Some(1),
                    left: r.opt_text(6)?.is_some(),
                    unsubscribed: r.opt_text(7)?.is_some(),
                });
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }

    /// The last day each contact was sent each survey: `(contact, survey,
    /// day)`.
    pub async fn survey_last_sends(&self) -> Result<Vec<(String, String, Date)>> {
        let mut out = Vec::new();
        self.scan(
            "SELECT contact_id, survey, MAX(sent_on) FROM survey_sends \
             GROUP BY contact_id, survey ORDER BY contact_id, survey",
            &[],
            |r| {
                out.push((
                    r.text(0)?.to_string(),
                    r.text(1)?.to_string(),
                    crate::health::parse_day(r.text(2)?)?,
                ));
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }

    /// When each account's latest ticket closed: `(account, micros)`.
    pub async fn last_ticket_closes(&self) -> Result<Vec<(String, i64)>> {
        let mut out = Vec::new();
        self.scan(
            "SELECT account_id, MAX(closed_at) FROM tickets \
             WHERE closed_at IS NOT NULL GROUP BY account_id ORDER BY account_id",
            &[],
            |r| {
                out.push((r.text(0)?.to_string(), r.int(1)?));
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }

    /// The send whose token hashes to `token_hash`.
    pub async fn survey_send_by_token(&self, token_hash: &str) -> Result<Option<Send>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SEND_COLUMNS} FROM survey_sends WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(send_row).transpose()
    }

    /// The send with this id, if its account is in scope.
    pub async fn survey_send(&self, scope: &Scope, id: &str) -> Result<Option<Send>> {
        let mut w = Where::default();
        w.add("id = ?", vec![Bind::Text(id.to_string())]);
        w.scope(scope, "account_id");
        let sql = format!("SELECT {SEND_COLUMNS} FROM survey_sends{}", w.sql());
        let row = bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(send_row).transpose()
    }

    /// Records an answer to the send `id`: the send marked answered and
    /// the `survey_responses` row written, in one transaction, only if the
    /// send is still unanswered and unexpired at `answer.at`. Returns
    /// whether it was written (false: used or expired, nothing written).
    pub async fn answer_survey(&self, id: &str, answer: &Answer) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE survey_sends SET answered_at = $1, response_id = $2 \
             WHERE id = $3 AND answered_at IS NULL AND expires_at > $4",
        )
        .bind(answer.at)
        .bind(answer.response_id.as_str())
        .bind(id)
        .bind(answer.at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO survey_responses (id, account_id, contact_id, kind, score, responded_at, comment) \
             SELECT $1, account_id, contact_id, kind, $2, $3, $4 FROM survey_sends WHERE id = $5",
        )
        .bind(answer.response_id.as_str())
        .bind(answer.score)
        .bind(answer.at)
        .bind(answer.comment.clone())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The contact will get no more surveys. Idempotent.
    pub async fn unsubscribe_from_surveys(&self, contact_id: &str, at: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO survey_unsubscribes (contact_id, unsubscribed_at) VALUES ($1, $2) \
             ON CONFLICT (contact_id) DO NOTHING",
        )
        .bind(contact_id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the contact unsubscribed from surveys.
    pub async fn survey_unsubscribed(&self, contact_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT contact_id FROM survey_unsubscribes WHERE contact_id = $1")
            .bind(contact_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// The contact's in-app surveys still open at `now` (of accounts in
    /// scope), oldest first.
    pub async fn pending_in_app_surveys(
        &self,
        scope: &Scope,
        contact_id: &str,
        now: i64,
    ) -> Result<Vec<Send>> {
        let mut w = Where::default();
        w.add(
            "contact_id = ? AND channel = 'in_app' AND answered_at IS NULL AND expires_at > ?",
            vec![Bind::Text(contact_id.to_string()), Bind::Int(now)],
        );
        w.scope(scope, "account_id");
        let sql = format!(
            "SELECT {SEND_COLUMNS} FROM survey_sends{} ORDER BY sent_at, id",
            w.sql()
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(send_row).collect()
    }

    /// The answers given through sends in scope, newest first, at most
    /// `limit`.
    pub async fn survey_answers(&self, scope: &Scope, limit: u32) -> Result<Vec<Answered>> {
        let mut w = Where::default();
        w.scope(scope, "s.account_id");
        let sql = format!(
            "SELECT r.id, s.survey, r.account_id, r.contact_id, r.score, r.comment, r.responded_at \
             FROM survey_sends s JOIN survey_responses r ON r.id = s.response_id{} \
             ORDER BY r.responded_at DESC, r.id LIMIT {}",
            w.sql(),
            limit
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Answered {
                    response_id: r.try_get(0)?,
                    survey: r.try_get(1)?,
                    account_id: r.try_get(2)?,
                    contact_id: r.try_get(3)?,
                    score: r.try_get(4)?,
                    comment: r.try_get(5)?,
                    responded_at: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// Sends in scope (a CSM's by the account's CSM now), of one survey or
    /// all, sent on `from` or later, with the answer's score; by day.
    pub async fn survey_sends(
        &self,
        scope: &Scope,
        survey: Option<&str>,
        from: Option<Date>,
    ) -> Result<Vec<SendWithScore>> {
        let mut w = Where::default();
        if let Some(s) = survey {
            w.add("s.survey = ?", vec![Bind::Text(s.to_string())]);
        }
        if let Some(d) = from {
            w.add("s.sent_on >= ?", vec![Bind::Text(d.to_string())]);
        }
        w.scope(scope, "s.account_id");
        let sql = format!(
            "SELECT {}, r.score FROM survey_sends s \
             LEFT JOIN survey_responses r ON r.id = s.response_id{} \
             ORDER BY s.sent_on, s.id",
            send_columns_s(),
            w.sql()
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &w.binds)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(send_with_score).collect()
    }

    /// The account's sends, newest first, at most `limit`, with the
    /// answer's score (the account page's survey list).
    pub async fn account_survey_sends(
        &self,
        account_id: &str,
        limit: u32,
    ) -> Result<Vec<SendWithScore>> {
        let sql = format!(
            "SELECT {}, r.score FROM survey_sends s \
             LEFT JOIN survey_responses r ON r.id = s.response_id \
             WHERE s.account_id = $1 ORDER BY s.sent_at DESC, s.id LIMIT $2",
            send_columns_s()
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(account_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(send_with_score).collect()
    }

    /// Schedules a survey: the row, and an `audit_log` entry naming who
    /// (which also wakes the background job, whose fingerprint counts the
    /// audit log, so a survey scheduled for today goes at its next pass).
    pub async fn schedule_survey(&self, s: &Schedule) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO survey_schedules ({SCHEDULE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL)"
        )))
        .bind(s.id.as_str())
        .bind(s.survey.as_str())
        .bind(s.send_on.to_string())
        .bind(s.status.as_str())
        .bind(s.created_by.as_str())
        .bind(s.created_at)
        .execute(&mut *tx)
        .await?;
        let details = serde_json::json!({"survey": s.survey, "send_on": s.send_on.to_string()});
        audit(
            &mut tx,
            s.created_at,
            &s.created_by,
            "schedule",
            "survey",
            &s.id,
            &details,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Schedules, newest day first: every one, or only those still to be
    /// sent.
    pub async fn survey_schedules(&self, pending_only: bool) -> Result<Vec<Schedule>> {
        let filter = if pending_only {
            " WHERE status = 'scheduled'"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {SCHEDULE_COLUMNS} FROM survey_schedules{filter} \
             ORDER BY send_on DESC, created_at DESC"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(schedule_row).collect()
    }

    /// The schedules still to be sent whose day is `day` or earlier,
    /// oldest first.
    pub async fn due_survey_schedules(&self, day: Date) -> Result<Vec<Schedule>> {
        let sql = format!(
            "SELECT {SCHEDULE_COLUMNS} FROM survey_schedules \
             WHERE status = 'scheduled' AND send_on <= $1 ORDER BY send_on, created_at"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(day.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(schedule_row).collect()
    }

    /// Cancels a schedule not sent yet, with an `audit_log` entry; false
    /// when there is no such schedule still to be sent.
    pub async fn cancel_survey_schedule(&self, id: &str, by: &str, at: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE survey_schedules SET status = 'cancelled', done_at = $1, done_by = $2 \
             WHERE id = $3 AND status = 'scheduled'",
        )
        .bind(at)
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if done {
            audit(
                &mut tx,
                at,
                by,
                "cancel",
                "survey_schedule",
                id,
                &serde_json::json!({}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(done)
    }
}

/// A survey scheduled for a day (migration 0018).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub id: String,
    pub survey: String,
    pub send_on: Date,
    /// `scheduled`, `sent` or `cancelled`.
    pub status: String,
    pub created_by: String,
    pub created_at: i64,
    /// When it was sent or cancelled.
    pub done_at: Option<i64>,
    /// Who cancelled it.
    pub done_by: Option<String>,
    /// How many contacts it was sent to.
    pub sent: Option<i64>,
}

const SCHEDULE_COLUMNS: &str =
    "id, survey, send_on, status, created_by, created_at, done_at, done_by, sent";

fn schedule_row(r: &AnyRow) -> Result<Schedule> {
    Ok(Schedule {
        id: r.try_get(0)?,
        survey: r.try_get(1)?,
        send_on: get_day(r, 2)?,
        status: r.try_get(3)?,
        created_by: r.try_get(4)?,
        created_at: r.try_get(5)?,
        done_at: r.try_get(6)?,
        done_by: r.try_get(7)?,
        sent: r.try_get(8)?,
    })
}

/// Marks a schedule sent to `sent` contacts, in the caller's transaction
/// (the one that writes its sends).
pub async fn mark_schedule_sent(
    conn: &mut AnyConnection,
    id: &str,
    at: i64,
    sent: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE survey_schedules SET status = 'sent', done_at = $1, sent = $2 \
         WHERE id = $3 AND status = 'scheduled'",
    )
    .bind(at)
    .bind(sent)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}
