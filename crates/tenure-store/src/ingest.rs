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

use jiff::Timestamp;
use sqlx::{AnyConnection, Row};

use crate::{Result, Store};

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

impl Store {
    /// Writes a request's messages, in order, in one transaction.
    pub async fn ingest(
        &self,
        items: &[Incoming],
        received_at: Timestamp,
    ) -> Result<IngestSummary> {
        let mut tx = self.pool.begin().await?;
        let mut sum = IngestSummary::default();
        let now = received_at.as_microsecond();
        for item in items {
            if let Some(id) = &item.message_id {
                let fresh = sqlx::query(
                    "INSERT INTO ingest_messages (message_id, received_at) VALUES ($1, $2) \
                     ON CONFLICT (message_id) DO NOTHING",
                )
                .bind(id.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if fresh == 0 {
                    sum.duplicates += 1;
                    continue;
                }
            }
            sum.accepted += 1;
            match &item.message {
                Message::Identify {
                    user_id,
                    email,
                    name,
                    role,
                } => {
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
                    .execute(&mut *tx)
                    .await?;
                    sync_contact(&mut tx, user_id).await?;
                }
                Message::Group {
                    user_id,
                    group_id,
                    name,
                    industry,
                    employees,
                    plan,
                } => {
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
                    .execute(&mut *tx)
                    .await?;
                    if let Some(user) = user_id {
                        sqlx::query(
                            "INSERT INTO segment_users (user_id, account_id, updated_at) \
                             VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE SET \
                             account_id = excluded.account_id, updated_at = excluded.updated_at",
                        )
                        .bind(user.as_str())
                        .bind(group_id.as_str())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        sync_contact(&mut tx, user).await?;
                        sum.attributed += sqlx::query(
                            "INSERT INTO events (account_id, user_id, event, ts, properties, message_id) \
                             SELECT $1, user_id, event, ts, properties, message_id FROM pending_events \
                             WHERE user_id = $2 ORDER BY seq \
                             ON CONFLICT (message_id) WHERE message_id IS NOT NULL DO NOTHING",
                        )
                        .bind(group_id.as_str())
                        .bind(user.as_str())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        sqlx::query("DELETE FROM pending_events WHERE user_id = $1")
                            .bind(user.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                Message::Track {
                    user_id,
                    event,
                    properties,
                    timestamp,
                    group_id,
                } => {
                    let account = match group_id {
                        Some(g) => {
                            sqlx::query(
                                "INSERT INTO accounts (id, name, attributes) VALUES ($1, $1, '{}') \
                                 ON CONFLICT (id) DO NOTHING",
                            )
                            .bind(g.as_str())
                            .execute(&mut *tx)
                            .await?;
                            Some(g.clone())
                        }
                        None => sqlx::query_scalar::<_, Option<String>>(
                            "SELECT account_id FROM segment_users WHERE user_id = $1",
                        )
                        .bind(user_id.as_str())
                        .fetch_optional(&mut *tx)
                        .await?
                        .flatten(),
                    };
                    let ts = timestamp.as_microsecond();
                    match account {
                        Some(account) => {
                            sum.events += sqlx::query(
                                "INSERT INTO events (account_id, user_id, event, ts, properties, message_id) \
                                 VALUES ($1, $2, $3, $4, $5, $6) \
                                 ON CONFLICT (message_id) WHERE message_id IS NOT NULL DO NOTHING",
                            )
                            .bind(account.as_str())
                            .bind(user_id.as_str())
                            .bind(event.as_str())
                            .bind(ts)
                            .bind(properties.as_deref())
                            .bind(item.message_id.as_deref())
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        }
                        None => {
                            sqlx::query(
                                "INSERT INTO pending_events (user_id, event, ts, properties, message_id, received_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6)",
                            )
                            .bind(user_id.as_str())
                            .bind(event.as_str())
                            .bind(ts)
                            .bind(properties.as_deref())
                            .bind(item.message_id.as_deref())
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            sum.pending += 1;
                        }
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(sum)
    }

    /// Number of events waiting for their user's group call.
    pub async fn pending_event_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM pending_events")
            .fetch_one(&self.pool)
            .await?)
    }
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
