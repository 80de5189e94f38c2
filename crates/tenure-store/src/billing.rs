//! Billing events (Stripe format): customers, subscriptions and failed
//! payments, each applied once per event id.
//!
//! The server verifies and parses the webhook into a [`BillingChange`]; this
//! module applies it in one transaction together with the record of the
//! event id, so a redelivered event changes nothing.
//!
//! A Stripe subscription is carried by one row of `subscriptions` at a time.
//! While its amount stays the same, that row is updated in place (plan, seats,
//! end and renewal dates). When the amount or currency changes, the current
//! row ends on the day of the change and a new row (`{stripe id}:{n}`) starts
//! that day, so MRR history stays true.

use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::{AnyConnection, Row};
use tenure_core::model::Money;

use crate::{Result, Store, StoreError};

/// A Stripe customer and the account it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct BillingCustomer {
    pub customer_id: String,
    /// `metadata.tenure_account_id`, else the customer id.
    pub account_id: String,
    /// Name for an account created for this customer.
    pub name: Option<String>,
}

/// The state of a Stripe subscription as of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct BillingSubscription {
    pub stripe_id: String,
    pub customer_id: String,
    /// Monthly recurring revenue (zero while trialing or incomplete).
    pub mrr: Money,
    pub plan: Option<String>,
    pub seats: Option<i64>,
    pub start_date: Date,
    /// Exclusive end: the day it ended or is scheduled to end.
    pub end_date: Option<Date>,
    pub renewal_date: Option<Date>,
    /// The UTC day of the event: when an amount change takes effect.
    pub changed_on: Date,
}

/// A failed invoice payment.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentFailure {
    pub customer_id: String,
    pub invoice_id: Option<String>,
    pub amount: Money,
    pub occurred_at: Timestamp,
}

/// What a billing event changes.
#[derive(Debug, Clone, PartialEq)]
pub enum BillingChange {
    Customer(BillingCustomer),
    Subscription(BillingSubscription),
    PaymentFailed(PaymentFailure),
    /// An event type Tenure does not use; only its id is recorded.
    Ignored,
}

/// Whether an event was applied now or had been before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Applied,
    Duplicate,
    /// Older than the last event applied to the same subscription; skipped.
    Stale,
}

/// A failed payment as stored, for the health scorecard.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPaymentFailure {
    pub id: String,
    pub account_id: String,
    pub occurred_at: Timestamp,
    pub amount: Money,
    pub invoice_id: Option<String>,
}

impl Store {
    /// Applies a billing event once: `event_id` is recorded in the same
    /// transaction. `event_created` orders events of one subscription.
    pub async fn apply_billing_event(
        &self,
        event_id: &str,
        event_type: &str,
        event_created: Timestamp,
        change: &BillingChange,
        now: Timestamp,
    ) -> Result<Applied> {
        let mut tx = self.begin_write().await?;
        let fresh = sqlx::query(
            "INSERT INTO webhook_events (id, event_type, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(event_id)
        .bind(event_type)
        .bind(now.as_microsecond())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if fresh == 0 {
            return Ok(Applied::Duplicate);
        }
        let outcome = match change {
            BillingChange::Ignored => Applied::Applied,
            BillingChange::Customer(c) => {
                ensure_account(&mut tx, &c.account_id, c.name.as_deref()).await?;
                sqlx::query(
                    "INSERT INTO billing_customers (customer_id, account_id, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (customer_id) DO UPDATE SET account_id = excluded.account_id, \
                     updated_at = excluded.updated_at",
                )
                .bind(c.customer_id.as_str())
                .bind(c.account_id.as_str())
                .bind(now.as_microsecond())
                .execute(&mut *tx)
                .await?;
                Applied::Applied
            }
            BillingChange::Subscription(s) => {
                apply_subscription(&mut tx, s, event_created.as_microsecond()).await?
            }
            BillingChange::PaymentFailed(p) => {
                let account = account_for_customer(&mut tx, &p.customer_id).await?;
                sqlx::query(
                    "INSERT INTO payment_failures (id, account_id, occurred_at, amount_minor, currency, invoice_id) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                )
                .bind(event_id)
                .bind(account)
                .bind(p.occurred_at.as_microsecond())
                .bind(p.amount.minor)
                .bind(p.amount.currency.as_str())
                .bind(p.invoice_id.as_deref())
                .execute(&mut *tx)
                .await?;
                Applied::Applied
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Failed payments of an account, oldest first.
    pub async fn payment_failures(&self, account_id: &str) -> Result<Vec<StoredPaymentFailure>> {
        let rows = sqlx::query(
            "SELECT id, account_id, occurred_at, amount_minor, currency, invoice_id \
             FROM payment_failures WHERE account_id = $1 ORDER BY occurred_at, id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let cur: String = r.try_get(4)?;
                let currency = tenure_core::model::Currency::parse(&cur).map_err(|_| {
                    StoreError::Sql(sqlx::Error::Decode(
                        format!("stored currency {cur:?} is not valid").into(),
                    ))
                })?;
                Ok(StoredPaymentFailure {
                    id: r.try_get(0)?,
                    account_id: r.try_get(1)?,
                    occurred_at: Timestamp::from_microsecond(r.try_get(2)?)
                        .unwrap_or(Timestamp::UNIX_EPOCH),
                    amount: Money::new(r.try_get(3)?, currency),
                    invoice_id: r.try_get(5)?,
                })
            })
            .collect()
    }
}

/// Creates a bare account (name = `name` or the id) when it does not exist.
async fn ensure_account(conn: &mut AnyConnection, id: &str, name: Option<&str>) -> Result<()> {
    sqlx::query(
        "INSERT INTO accounts (id, name, attributes) VALUES ($1, $2, '{}') ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(name.unwrap_or(id))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The account of a customer: its mapping, else an account named by the
/// customer id (created when missing).
async fn account_for_customer(conn: &mut AnyConnection, customer_id: &str) -> Result<String> {
    let mapped: Option<String> =
        sqlx::query_scalar("SELECT account_id FROM billing_customers WHERE customer_id = $1")
            .bind(customer_id)
            .fetch_optional(&mut *conn)
            .await?;
    match mapped {
        Some(a) => Ok(a),
        None => {
            ensure_account(conn, customer_id, None).await?;
            Ok(customer_id.to_string())
        }
    }
}

async fn write_subscription_row(
    conn: &mut AnyConnection,
    id: &str,
    account: &str,
    s: &BillingSubscription,
    start: Date,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO subscriptions (id, account_id, mrr_minor, currency, plan, seats, start_date, end_date, renewal_date) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET \
         account_id = excluded.account_id, mrr_minor = excluded.mrr_minor, currency = excluded.currency, \
         plan = excluded.plan, seats = excluded.seats, start_date = excluded.start_date, \
         end_date = excluded.end_date, renewal_date = excluded.renewal_date",
    )
    .bind(id)
    .bind(account)
    .bind(s.mrr.minor)
    .bind(s.mrr.currency.as_str())
    .bind(s.plan.as_deref())
    .bind(s.seats)
    .bind(start.to_string())
    .bind(s.end_date.map(|d| d.to_string()))
    .bind(s.renewal_date.map(|d| d.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn apply_subscription(
    conn: &mut AnyConnection,
    s: &BillingSubscription,
    created_us: i64,
) -> Result<Applied> {
    let account = account_for_customer(conn, &s.customer_id).await?;
    let current = sqlx::query(
        "SELECT b.current_row, b.rows_made, b.updated_at, s.mrr_minor, s.currency, s.start_date \
         FROM billing_subscriptions b LEFT JOIN subscriptions s ON s.id = b.current_row \
         WHERE b.stripe_id = $1",
    )
    .bind(s.stripe_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = current else {
        write_subscription_row(conn, &s.stripe_id, &account, s, s.start_date).await?;
        sqlx::query(
            "INSERT INTO billing_subscriptions (stripe_id, account_id, current_row, rows_made, updated_at) \
             VALUES ($1, $2, $1, 1, $3)",
        )
        .bind(s.stripe_id.as_str())
        .bind(account.as_str())
        .bind(created_us)
        .execute(&mut *conn)
        .await?;
        return Ok(Applied::Applied);
    };
    let current_row: String = row.try_get(0)?;
    let rows_made: i64 = row.try_get(1)?;
    let updated_at: i64 = row.try_get(2)?;
    if created_us < updated_at {
        return Ok(Applied::Stale);
    }
    let mrr: Option<i64> = row.try_get(3)?;
    let currency: Option<String> = row.try_get(4)?;
    let start: Option<String> = row.try_get(5)?;
    let start: Option<Date> = start.and_then(|d| d.parse().ok());
    let amount_changed =
        mrr != Some(s.mrr.minor) || currency.as_deref() != Some(s.mrr.currency.as_str());
    let (row_id, row_start, made) = match start {
        // The carrying row was deleted through the API: start again.
        None => (current_row.clone(), s.start_date, rows_made),
        Some(start) if amount_changed && s.changed_on > start => {
            sqlx::query("UPDATE subscriptions SET end_date = $1 WHERE id = $2")
                .bind(s.changed_on.to_string())
                .bind(current_row.as_str())
                .execute(&mut *conn)
                .await?;
            let n = rows_made + 1;
            (format!("{}:{n}", s.stripe_id), s.changed_on, n)
        }
        Some(start) => (current_row.clone(), start, rows_made),
    };
    write_subscription_row(conn, &row_id, &account, s, row_start).await?;
    sqlx::query(
        "UPDATE billing_subscriptions SET account_id = $1, current_row = $2, rows_made = $3, updated_at = $4 \
         WHERE stripe_id = $5",
    )
    .bind(account.as_str())
    .bind(row_id.as_str())
    .bind(made)
    .bind(created_us)
    .bind(s.stripe_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(Applied::Applied)
}
