//! Outbound's SQL (docs/REACT.md): the `outbox` table of migration 0011,
//! which holds every email and webhook call to send and is also their send
//! log. A message is queued ([`enqueue`], in the caller's transaction, or
//! [`Store::enqueue`]); the sender claims what is due
//! ([`Store::claim_due`]), attempts it and records the result
//! ([`Store::record_attempt`]): sent, failed with the time of the next
//! attempt, or dead. When to retry is the application's decision. Rows
//! never hold a secret: an email names its recipient, a webhook its
//! endpoint's name in `tenure.toml`.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::scan::{Bind, bind_all};
use crate::{Result, Store, StoreError};

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxKind {
    Email,
    Webhook,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Email => "email",
            OutboxKind::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxKind> {
        match s {
            "email" => Some(OutboxKind::Email),
            "webhook" => Some(OutboxKind::Webhook),
            _ => None,
        }
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxStatus {
    /// Not attempted yet.
    Queued,
    /// Delivered.
    Sent,
    /// The last attempt failed; another is due at `next_attempt_at`.
    Failed,
    /// Given up after the last allowed attempt.
    Dead,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 4] = [
        OutboxStatus::Queued,
        OutboxStatus::Sent,
        OutboxStatus::Failed,
        OutboxStatus::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Queued => "queued",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxStatus> {
        OutboxStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A message to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub id: String,
    pub kind: OutboxKind,
    /// The recipient's address, or the webhook endpoint's name.
    pub target: String,
    /// Emails only.
    pub subject: Option<String>,
    /// The email's text, or the webhook's JSON payload.
    pub body: String,
    /// What queued it, such as `playbook:onboarding` or `test`.
    pub source: String,
    pub account_id: Option<String>,
}

/// A message with where it stands: one line of the send log.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub kind: OutboxKind,
    pub target: String,
    pub subject: Option<String>,
    pub body: String,
    pub status: OutboxStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (microseconds); `None` once sent or dead.
    pub next_attempt_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub source: String,
    pub account_id: Option<String>,
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Sent,
    /// Failed; try again at this time (microseconds).
    Retry {
        at: i64,
        error: String,
    },
    /// Failed for the last time.
    Dead {
        error: String,
    },
}

/// Filters of the send log; the newest messages first.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub status: Option<OutboxStatus>,
    pub kind: Option<OutboxKind>,
    pub account_id: Option<String>,
    pub source: Option<String>,
    /// At most this many (all when `None`).
    pub limit: Option<u32>,
}

const COLUMNS: &str = "id, kind, target, subject, body, status, attempts, next_attempt_at, \
                       last_error, created_at, sent_at, source, account_id";

/// Queues a message in the caller's transaction, so that it is sent only if
/// what queued it commits.
pub async fn enqueue(conn: &mut AnyConnection, m: &NewMessage, now: i64) -> Result<()> {
    enqueue_many(conn, std::slice::from_ref(m), now).await
}

/// Queues messages in the caller's transaction, many rows per statement
/// (a day's survey pass can queue hundreds of thousands of emails, and one
/// statement per message cost a round trip each on PostgreSQL).
pub async fn enqueue_many(
    conn: &mut AnyConnection,
    messages: &[NewMessage],
    now: i64,
) -> Result<()> {
    crate::bulk::insert_many(
        conn,
        "INSERT INTO outbox (id, kind, target, subject, body, status, attempts, \
         next_attempt_at, created_at, source, account_id) VALUES ",
        11,
        messages,
        |q, m| {
            q.bind(m.id.as_str())
                .bind(m.kind.as_str())
                .bind(m.target.as_str())
                .bind(m.subject.as_deref())
                .bind(m.body.as_str())
                .bind("queued")
                .bind(0i64)
                .bind(now)
                .bind(now)
                .bind(m.source.as_str())
                .bind(m.account_id.as_deref())
        },
    )
    .await
}

impl Store {
    /// Queues a message in a transaction of its own.
    pub async fn enqueue(&self, m: &NewMessage, now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        enqueue(&mut tx, m, now).await?;
        tx.commit().await
    }

    /// Claims up to `limit` messages due at `now` (queued or failed, oldest
    /// due first) until `lease_until`: another sender skips them until
    /// then, so two processes never send the same message together, and a
    /// sender that stops half-way leaves them to be retried later.
    pub async fn claim_due(&self, now: i64, lease_until: i64, limit: u32) -> Result<Vec<Message>> {
        self.claim_due_of(now, lease_until, limit, true).await
    }

    /// [`Store::claim_due`], leaving emails alone unless `emails` (no SMTP
    /// server is configured to send them).
    pub async fn claim_due_of(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
        emails: bool,
    ) -> Result<Vec<Message>> {
        let kinds = if emails { "" } else { "AND kind <> 'email' " };
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outbox \
             WHERE status IN ('queued', 'failed') AND next_attempt_at <= $1 \
             AND (claimed_until IS NULL OR claimed_until < $1) {kinds}\
             ORDER BY next_attempt_at, created_at, id LIMIT $2"
        )))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let m = message_row(row)?;
            // Conditional, so that of two senders that read the same row
            // only one claims it.
            let done = sqlx::query(
                "UPDATE outbox SET claimed_until = $1 WHERE id = $2 \
                 AND (claimed_until IS NULL OR claimed_until < $3)",
            )
            .bind(lease_until)
            .bind(m.id.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                claimed.push(m);
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// How many emails wait to be sent (queued, or failed and to be
    /// tried again).
    pub async fn waiting_emails(&self) -> Result<u64> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'email' AND status IN ('queued', 'failed')",
        )
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        Ok(n as u64)
    }

    /// Claims message `id` until `lease_until` if it is waiting to be sent
    /// (queued or failed, due or not) and no one else holds it.
    pub async fn claim_message(
        &self,
        id: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<Message>> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE outbox SET claimed_until = $1 WHERE id = $2 \
             AND status IN ('queued', 'failed') \
             AND (claimed_until IS NULL OR claimed_until < $3)",
        )
        .bind(lease_until)
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let claimed = if done.rows_affected() == 1 {
            let row = sqlx::query(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM outbox WHERE id = $1"
            )))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            Some(message_row(&row)?)
        } else {
            None
        };
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records an attempt on message `id` made at `now` and releases its
    /// claim; returns the message as it now stands.
    pub async fn record_attempt(&self, id: &str, result: &Attempt, now: i64) -> Result<Message> {
        self.record_attempt_with_body(id, result, now, None).await
    }

    /// As [`Store::record_attempt`], replacing the message's body with
    /// `body` when given, in the same statement (a survey email's body,
    /// redacted of its token once sent or dead).
    pub async fn record_attempt_with_body(
        &self,
        id: &str,
        result: &Attempt,
        now: i64,
        body: Option<&str>,
    ) -> Result<Message> {
        let (status, next, error, sent_at) = match result {
            Attempt::Sent => (OutboxStatus::Sent, None, None, Some(now)),
            Attempt::Retry { at, error } => (OutboxStatus::Failed, Some(*at), Some(error), None),
            Attempt::Dead { error } => (OutboxStatus::Dead, None, Some(error), None),
        };
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE outbox SET status = $1, attempts = attempts + 1, next_attempt_at = $2, \
             last_error = COALESCE($3, last_error), sent_at = $4, claimed_until = NULL, \
             body = COALESCE($5, body) WHERE id = $6",
        )
        .bind(status.as_str())
        .bind(next)
        .bind(error.map(String::as_str))
        .bind(sent_at)
        .bind(body)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("outbound message {id}")));
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outbox WHERE id = $1"
        )))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        message_row(&row)
    }

    /// One message.
    pub async fn outbox_message(&self, id: &str) -> Result<Message> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outbox WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("outbound message {id}")))?;
        message_row(&row)
    }

    /// The send log, newest first.
    pub async fn outbox_log(&self, q: &LogQuery) -> Result<Vec<Message>> {
        let mut conds = String::new();
        let mut binds: Vec<Bind> = Vec::new();
        let mut add = |column: &str, value: String| {
            binds.push(Bind::Text(value));
            conds.push_str(&format!(" AND {column} = ${}", binds.len()));
        };
        if let Some(s) = q.status {
            add("status", s.as_str().to_string());
        }
        if let Some(k) = q.kind {
            add("kind", k.as_str().to_string());
        }
        if let Some(a) = &q.account_id {
            add("account_id", a.clone());
        }
        if let Some(s) = &q.source {
            add("source", s.clone());
        }
        let limit = q.limit.map_or(String::new(), |n| format!(" LIMIT {n}"));
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox WHERE 1 = 1{conds} \
             ORDER BY created_at DESC, id DESC{limit}"
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &binds)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(message_row).collect()
    }
}

fn message_row(row: &AnyRow) -> Result<Message> {
    let bad = |what: &str, v: &str| {
        StoreError::Sql(sqlx::Error::Decode(
            format!("outbox: bad {what} {v:?}").into(),
        ))
    };
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(Message {
        id: row.try_get("id")?,
        kind: OutboxKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        target: row.try_get("target")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        status: OutboxStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
        attempts: u32::try_from(attempts).map_err(|_| bad("attempts", &attempts.to_string()))?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
        source: row.try_get("source")?,
        account_id: row.try_get("account_id")?,
    })
}

// The send log's counts by status, for the settings page's Outbound
// section (tenure-server's `web::settings`).

impl Store {
    /// How many messages of the send log stand at each status, in the
    /// order of [`OutboxStatus::ALL`], a status without messages at 0.
    pub async fn outbox_counts(&self) -> Result<Vec<(OutboxStatus, u64)>> {
        let rows = sqlx::query("SELECT status, COUNT(*) FROM outbox GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        let mut counts: Vec<(OutboxStatus, u64)> =
            OutboxStatus::ALL.iter().map(|s| (*s, 0)).collect();
        for row in &rows {
            let status: String = row.try_get(0)?;
            let n: i64 = row.try_get(1)?;
            if let Some(slot) = counts.iter_mut().find(|(s, _)| s.as_str() == status) {
                slot.1 = u64::try_from(n).unwrap_or(0);
            }
        }
        Ok(counts)
    }
}
