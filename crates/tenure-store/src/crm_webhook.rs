//! The account-change webhook's SQL (docs/CRM.md, migration 0023): each
//! account's watched fields as last queued for the CRM
//! (`crm_webhook_state`), the CRM ids an import saw (`crm_records`), and
//! the new states recorded ([`record_states`]) in the transaction that
//! queues the outbox messages carrying them, so that a state is recorded
//! exactly when its message is queued.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use sqlx::{AnyConnection, Row};
use tenure_core::crm_webhook::AccountState;

use crate::{Result, Store};

/// An account's state to record, and the message that carries it (`None`
/// when recorded without sending).
#[derive(Debug, Clone, PartialEq)]
pub struct SentState {
    pub account_id: String,
    pub state: AccountState,
    pub message_id: Option<String>,
}

impl Store {
    /// Every account's state as last queued for the CRM, by account id.
    pub async fn crm_webhook_states(&self) -> Result<HashMap<String, AccountState>> {
        let mut out = HashMap::new();
        let mut rows = sqlx::query(
            "SELECT account_id, health_band, at_risk, segment, tier, stage, nps \
             FROM crm_webhook_state",
        )
        .fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            let at_risk: i64 = row.try_get(2)?;
            out.insert(
                row.try_get(0)?,
                AccountState {
                    health_band: row.try_get(1)?,
                    at_risk: at_risk != 0,
                    segment: row.try_get(3)?,
                    tier: row.try_get(4)?,
                    stage: row.try_get(5)?,
                    nps: row.try_get(6)?,
                },
            );
        }
        Ok(out)
    }

    /// The CRMs whose imports saw each account (`salesforce`, `hubspot`),
    /// by account id; Tenure keeps the CRM's id as its own.
    pub async fn crm_account_links(&self) -> Result<HashMap<String, Vec<String>>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        let mut rows = sqlx::query(
            "SELECT id, crm FROM crm_records WHERE object = 'accounts' ORDER BY id, crm",
        )
        .fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            out.entry(row.try_get(0)?)
                .or_default()
                .push(row.try_get(1)?);
        }
        Ok(out)
    }

    /// Records `states` in a transaction of their own, at `now`.
    pub async fn record_crm_states(&self, states: &[SentState], now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        record_states(&mut tx, states, now).await?;
        tx.commit().await
    }
}

/// Records `states` as queued at `now` (microseconds), in the caller's
/// transaction: the one that queues their messages.
pub async fn record_states(conn: &mut AnyConnection, states: &[SentState], now: i64) -> Result<()> {
    for s in states {
        let st = &s.state;
        sqlx::query(
            "INSERT INTO crm_webhook_state \
             (account_id, health_band, at_risk, segment, tier, stage, nps, queued_at, message_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (account_id) DO UPDATE SET health_band = excluded.health_band, \
             at_risk = excluded.at_risk, segment = excluded.segment, tier = excluded.tier, \
             stage = excluded.stage, nps = excluded.nps, queued_at = excluded.queued_at, \
             message_id = excluded.message_id",
        )
        .bind(s.account_id.as_str())
        .bind(st.health_band.as_deref())
        .bind(i64::from(st.at_risk))
        .bind(st.segment.as_deref())
        .bind(st.tier.as_deref())
        .bind(st.stage.as_deref())
        .bind(st.nps)
        .bind(now)
        .bind(s.message_id.as_deref())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
