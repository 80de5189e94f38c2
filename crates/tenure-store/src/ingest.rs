//! Segment-style ingest: identify → contact, group → account and membership,
//! track / page → event.
//!
//! The server parses the Segment payloads into [`Incoming`] messages; this
//! module writes a whole request's messages in one transaction, so a
//! successful answer means everything is committed. Every `messageId` is
//! remembered, and a message seen before is skipped. A track call whose
//! account is not known yet (no `context.groupId` and no group call for its
//! user) waits in `pending_events` and moves into `events` when the user's
//! group call arrives.

use std::collections::{BTreeSet, HashMap, HashSet};

use jiff::Timestamp;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::bulk::{numbered_placeholders, push_value_tuples, write_rows};
use crate::rows::Val;
use crate::{Kind, Result, Store, StoreError};

/// One parsed Segment message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A user's traits; becomes a contact once the user's account and email are known.
    Identify {
        user_id: String,
        email: Option<String>,
        name: Option<String>,
        role: Option<String>,
    },
    /// An account's traits, and (with a user) that user's membership.
    Group {
        user_id: Option<String>,
        group_id: String,
        name: Option<String>,
        industry: Option<String>,
        employees: Option<i64>,
        plan: Option<String>,
    },
    /// A usage event (track, page and screen calls).
    Track {
        user_id: String,
        event: String,
        /// A JSON object as compact text.
        properties: Option<String>,
        timestamp: Timestamp,
        /// `context.groupId`, when the call carries it.
        group_id: Option<String>,
    },
}

/// A message with its de-duplication id.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub message_id: Option<String>,
    pub message: Message,
}

/// What one ingest request did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestSummary {
    /// Messages processed (not duplicates).
    pub accepted: u64,
    /// Messages skipped because their `messageId` was seen before.
    pub duplicates: u64,
    /// Events written to `events` directly.
    pub events: u64,
    /// Events kept pending until their user's group call.
    pub pending: u64,
    /// Pending events moved into `events` by a group call of this request.
    pub attributed: u64,
}

/// One ingest request waiting to be committed.
#[derive(Debug)]
pub(crate) struct Job {
    items: Vec<Incoming>,
    received_at: Timestamp,
    reply: tokio::sync::oneshot::Sender<Result<IngestSummary>>,
}

impl Store {
    /// Writes a request's messages, in order, and returns once they are
    /// committed.
    ///
    /// Concurrent requests are committed together (group commit): each
    /// queues its messages, and whichever request holds the write lock next
    /// writes every queued request in one transaction, each inside its own
    /// savepoint, so a request that fails is undone alone while the others
    /// commit. One commit for several requests writes each shared database
    /// page once instead of once per request.
    pub async fn ingest(
        &self,
        items: Vec<Incoming>,
        received_at: Timestamp,
    ) -> Result<IngestSummary> {
        let (reply, mut answer) = tokio::sync::oneshot::channel();
        self.queue_ingest(Job {
            items,
            received_at,
            reply,
        });
        let guard = self.write_lock.clone().lock_owned().await;
        // A writer that held the lock before us may have written our request.
        if let Ok(done) = answer.try_recv() {
            return done;
        }
        let jobs = std::mem::take(&mut *self.ingest_queue());
        if jobs.is_empty() {
            // Written by the writer before us, which is about to answer.
            drop(guard);
        } else {
            // A task of its own, so that a client hanging up on this request
            // cannot abandon the other requests of the group half-way.
            let store = self.clone();
            tokio::spawn(async move { store.write_jobs(guard, jobs).await });
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Sql(sqlx::Error::Protocol(
                "the ingest writer stopped before answering".into(),
            )))
        })
    }

    fn ingest_queue(&self) -> std::sync::MutexGuard<'_, Vec<Job>> {
        // A panic while the queue was held leaves it usable: it is a plain list.
        self.ingest_jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn queue_ingest(&self, job: Job) {
        self.ingest_queue().push(job);
    }

    /// Writes queued requests in one transaction and answers each.
    async fn write_jobs(&self, guard: tokio::sync::OwnedMutexGuard<()>, jobs: Vec<Job>) {
        let mut tx = match self.begin_bulk_write_holding(guard).await {
            Ok(tx) => tx,
            Err(e) => {
                let msg = e.to_string();
                for job in jobs {
                    let _ = job.reply.send(Err(shared_failure(&msg)));
                }
                return;
            }
        };
        let mut results = Vec::with_capacity(jobs.len());
        for job in &jobs {
            results.push(write_job(&mut tx, &job.items, job.received_at).await);
        }
        let committed = tx.commit().await.map_err(|e| e.to_string());
        for (job, result) in jobs.into_iter().zip(results) {
            let answer = match &committed {
                Ok(()) => result,
                Err(msg) => Err(shared_failure(msg)),
            };
            let _ = job.reply.send(answer);
        }
    }
    /// Number of events waiting for their user's group call.
    pub async fn pending_event_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM pending_events")
            .fetch_one(&self.pool)
            .await?)
    }
}

/// The error each request of a group gets when the group as a whole fails.
fn shared_failure(msg: &str) -> StoreError {
    StoreError::Sql(sqlx::Error::Protocol(format!(
        "committing ingested events: {msg}"
    )))
}

/// One request's messages inside the group's transaction, in a savepoint:
/// on error the request's writes are undone and the transaction goes on.
async fn write_job(
    conn: &mut AnyConnection,
    items: &[Incoming],
    received_at: Timestamp,
) -> Result<IngestSummary> {
    sqlx::query("SAVEPOINT ingest_request")
        .execute(&mut *conn)
        .await?;
    match write_messages(conn, items, received_at).await {
        Ok(sum) => {
            sqlx::query("RELEASE SAVEPOINT ingest_request")
                .execute(&mut *conn)
                .await?;
            Ok(sum)
        }
        Err(e) => {
            sqlx::query("ROLLBACK TO SAVEPOINT ingest_request")
                .execute(&mut *conn)
                .await?;
            sqlx::query("RELEASE SAVEPOINT ingest_request")
                .execute(&mut *conn)
                .await?;
            Err(e)
        }
    }
}

/// Writes a request's messages in order. Track calls are buffered and
/// written in multi-row statements; the buffer is flushed before any
/// identify or group call, so every message still sees the effects of the
/// ones before it.
async fn write_messages(
    conn: &mut AnyConnection,
    items: &[Incoming],
    received_at: Timestamp,
) -> Result<IngestSummary> {
    let mut sum = IngestSummary::default();
    let now = received_at.as_microsecond();
    let fresh = remember_message_ids(conn, items, now).await?;
    let mut batch = TrackBatch::default();
    for (item, is_fresh) in items.iter().zip(fresh) {
        if !is_fresh {
            sum.duplicates += 1;
            continue;
        }
        sum.accepted += 1;
        match &item.message {
            Message::Track {
                user_id,
                event,
                properties,
                timestamp,
                group_id,
            } => {
                let account = match group_id {
                    Some(g) => {
                        batch.new_accounts.insert(g.clone());
                        Some(g.clone())
                    }
                    None => batch.account_of(conn, user_id).await?,
                };
                let ts = timestamp.as_microsecond();
                match account {
                    Some(account) => batch.events.push(vec![
                        Val::Text(Some(account)),
                        Val::Text(Some(user_id.clone())),
                        Val::Text(Some(event.clone())),
                        Val::Int(Some(ts)),
                        Val::Text(properties.clone()),
                        Val::Text(item.message_id.clone()),
                    ]),
                    None => batch.pending.push(vec![
                        Val::Text(Some(user_id.clone())),
                        Val::Text(Some(event.clone())),
                        Val::Int(Some(ts)),
                        Val::Text(properties.clone()),
                        Val::Text(item.message_id.clone()),
                        Val::Int(Some(now)),
                    ]),
                }
            }
            Message::Identify {
                user_id,
                email,
                name,
                role,
            } => {
                batch.flush(conn, &mut sum).await?;
                sqlx::query(
                    "INSERT INTO segment_users (user_id, email, name, role, updated_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET \
                         email = COALESCE(excluded.email, segment_users.email), \
                         name = COALESCE(excluded.name, segment_users.name), \
                         role = COALESCE(excluded.role, segment_users.role), \
                         updated_at = excluded.updated_at",
                )
                .bind(user_id.as_str())
                .bind(email.as_deref())
                .bind(name.as_deref())
                .bind(role.as_deref())
                .bind(now)
                .execute(&mut *conn)
                .await?;
                sync_contact(conn, user_id).await?;
            }
            Message::Group {
                user_id,
                group_id,
                name,
                industry,
                employees,
                plan,
            } => {
                batch.flush(conn, &mut sum).await?;
                sqlx::query(
                    "INSERT INTO accounts (id, name, industry, employees, plan, attributes) \
                         VALUES ($1, $2, $3, $4, $5, '{}') ON CONFLICT (id) DO UPDATE SET \
                         name = COALESCE($6, accounts.name), \
                         industry = COALESCE(excluded.industry, accounts.industry), \
                         employees = COALESCE(excluded.employees, accounts.employees), \
                         plan = COALESCE(excluded.plan, accounts.plan)",
                )
                .bind(group_id.as_str())
                .bind(name.as_deref().unwrap_or(group_id))
                .bind(industry.as_deref())
                .bind(*employees)
                .bind(plan.as_deref())
                .bind(name.as_deref())
                .execute(&mut *conn)
                .await?;
                if let Some(user) = user_id {
                    batch
                        .memberships
                        .insert(user.clone(), Some(group_id.clone()));
                    sqlx::query(
                        "INSERT INTO segment_users (user_id, account_id, updated_at) \
                             VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE SET \
                             account_id = excluded.account_id, updated_at = excluded.updated_at",
                    )
                    .bind(user.as_str())
                    .bind(group_id.as_str())
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                    sync_contact(conn, user).await?;
                    sum.attributed += sqlx::query(
                            "INSERT INTO events (account_id, user_id, event, ts, properties, message_id) \
                             SELECT $1, user_id, event, ts, properties, message_id FROM pending_events \
                             WHERE user_id = $2 ORDER BY seq ON CONFLICT DO NOTHING",
                        )
                        .bind(group_id.as_str())
                        .bind(user.as_str())
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                    sqlx::query("DELETE FROM pending_events WHERE user_id = $1")
                        .bind(user.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
            }
        }
    }
    batch.flush(conn, &mut sum).await?;
    Ok(sum)
}

/// Creates or updates the contact of a Segment user once both the user's
/// account and email are known. The contact's id is the Segment user id.
async fn sync_contact(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    let row =
        sqlx::query("SELECT account_id, email, name, role FROM segment_users WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(row) = row else { return Ok(()) };
    let account: Option<String> = row.try_get(0)?;
    let email: Option<String> = row.try_get(1)?;
    let (Some(account), Some(email)) = (account, email) else {
        return Ok(());
    };
    let name: Option<String> = row.try_get(2)?;
    let role: Option<String> = row.try_get(3)?;
    sqlx::query(
        "INSERT INTO contacts (id, account_id, email, name, role) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, email = excluded.email, \
         name = COALESCE(excluded.name, contacts.name), role = COALESCE(excluded.role, contacts.role)",
    )
    .bind(user_id)
    .bind(account)
    .bind(email)
    .bind(name)
    .bind(role)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records the request's message ids; returns, for each item, whether it is
/// new (not seen in an earlier request nor earlier in this one).
async fn remember_message_ids(
    conn: &mut AnyConnection,
    items: &[Incoming],
    now: i64,
) -> Result<Vec<bool>> {
    let mut in_request = HashSet::new();
    let mut first: Vec<bool> = Vec::with_capacity(items.len());
    let mut ids: Vec<&str> = Vec::new();
    for item in items {
        match &item.message_id {
            Some(id) => {
                let new_here = in_request.insert(id.as_str());
                first.push(new_here);
                if new_here {
                    ids.push(id);
                }
            }
            None => first.push(true),
        }
    }
    // Ids seen in earlier requests are looked up first, then the new ones
    // inserted: only the (usually no) duplicates come back as rows, where
    // `INSERT ... RETURNING` would hand every new id back through the
    // driver. This process's write lock is held, so none of its own
    // requests can come in between.
    let numbered = numbered_placeholders(conn);
    let mut seen: HashSet<String> = HashSet::new();
    for chunk in ids.chunks(500) {
        let mut sql = String::from("SELECT message_id FROM ingest_messages WHERE message_id IN ");
        push_value_tuples(&mut sql, 1, chunk.len(), numbered);
        // Assembled from placeholders only; the ids are bound.
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            seen.insert(row.try_get::<String, _>(0)?);
        }
        let fresh: Vec<&str> = chunk
            .iter()
            .copied()
            .filter(|id| !seen.contains(*id))
            .collect();
        if fresh.is_empty() {
            continue;
        }
        let mut sql = String::from("INSERT INTO ingest_messages (message_id, received_at) VALUES ");
        push_value_tuples(&mut sql, fresh.len(), 2, numbered);
        // Another server process on the same PostgreSQL database may have
        // taken an id since the lookup: the events' insert then skips the
        // second copy (their unique index on `message_id`, or on a table
        // partitioned by month the message-id trigger, docs/SCALE.md).
        sql.push_str(" ON CONFLICT (message_id) DO NOTHING");
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in fresh {
            q = q.bind(id).bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(items
        .iter()
        .zip(first)
        .map(|(item, first)| match &item.message_id {
            Some(id) => first && !seen.contains(id),
            None => true,
        })
        .collect())
}

/// Track calls of one request waiting to be written together.
#[derive(Default)]
struct TrackBatch {
    /// Accounts named by `context.groupId`, created bare if missing.
    new_accounts: BTreeSet<String>,
    /// Rows for `events`.
    events: Vec<Vec<Val>>,
    /// Rows for `pending_events`.
    pending: Vec<Vec<Val>>,
    /// Each user's account as known in this request.
    memberships: HashMap<String, Option<String>>,
}

impl TrackBatch {
    async fn account_of(&mut self, conn: &mut AnyConnection, user: &str) -> Result<Option<String>> {
        if let Some(known) = self.memberships.get(user) {
            return Ok(known.clone());
        }
        let account = sqlx::query_scalar::<_, Option<String>>(
            "SELECT account_id FROM segment_users WHERE user_id = $1",
        )
        .bind(user)
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
        self.memberships.insert(user.to_string(), account.clone());
        Ok(account)
    }

    async fn flush(&mut self, conn: &mut AnyConnection, sum: &mut IngestSummary) -> Result<()> {
        if !self.new_accounts.is_empty() {
            // A bare account (name = id) for each group id not known yet;
            // only the id is bound, since nearly all exist already.
            let ids = std::mem::take(&mut self.new_accounts);
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let numbered = numbered_placeholders(conn);
            for chunk in ids.chunks(500) {
                let mut sql = String::from(
                    "INSERT INTO accounts (id, name, attributes) SELECT column1, column1, '{}' FROM (VALUES ",
                );
                push_value_tuples(&mut sql, chunk.len(), 1, numbered);
                // `WHERE true` lets SQLite parse the upsert after a SELECT; the
                // columns of a VALUES list are named column1, ... on both backends.
                sql.push_str(") AS v WHERE true ON CONFLICT (id) DO NOTHING");
                // Assembled from placeholders only; the ids are bound.
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *conn).await?;
            }
        }
        if !self.events.is_empty() {
            sum.events += write_rows(conn, Kind::Events, &self.events, &[]).await?;
            self.events.clear();
        }
        if !self.pending.is_empty() {
            let numbered = numbered_placeholders(conn);
            for chunk in self.pending.chunks(500) {
                let mut sql = String::from(
                    "INSERT INTO pending_events (user_id, event, ts, properties, message_id, received_at) VALUES ",
                );
                push_value_tuples(&mut sql, chunk.len(), 6, numbered);
                // Assembled from placeholders only; the values are bound.
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for row in chunk {
                    for v in row {
                        q = match v {
                            Val::Int(i) => q.bind(*i),
                            Val::Text(t) => q.bind(t.as_deref()),
                        };
                    }
                }
                q.execute(&mut *conn).await?;
                sum.pending += chunk.len() as u64;
            }
            self.pending.clear();
        }
        Ok(())
    }
}
