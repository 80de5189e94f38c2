//! The account-change webhook (docs/CRM.md, "Account changes to your
//! CRM"): each job pass, after the risk board's day, compares every
//! account's health band, risk flag, segment, tier, stage and latest NPS
//! answer with what was last queued for the CRM, and queues the accounts
//! that changed through the outbox, `batch_size` to a payload, so that
//! signing, retries and the send log are the outbox's. The payloads and
//! the new states are written in one transaction.
//!
//! The states are read the way `tenure export health` reads them
//! ([`crate::health::export::rows`]): the latest stored score and band,
//! the risk board on the day, the open Engage runs, the latest NPS answer.

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_core::config::Config;
use tenure_core::crm_webhook::{
    AccountContext, AccountState, Change, Field, WebhookConfig, changed, payload,
};
use tenure_store::Store;
use tenure_store::crm_webhook::{SentState, record_states};

use crate::clock::now_micros;
use crate::{Error, Result};

/// The outbox `source` of the webhook's messages, followed by the day.
pub const SOURCE: &str = "crm:changes:";

/// What a pass found, and what it queued.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    pub day: Date,
    /// The accounts whose watched fields changed, by id.
    pub changes: Vec<Change>,
    /// The watched fields.
    pub fields: Vec<Field>,
    pub batch_size: usize,
    /// The outbox ids of the payloads queued, one per batch; empty for a
    /// dry run.
    pub messages: Vec<String>,
}

impl Pass {
    /// The payloads, one per batch, as they are (or would be) sent.
    pub fn payloads(&self) -> Vec<serde_json::Value> {
        let batches: Vec<&[Change]> = self.changes.chunks(self.batch_size).collect();
        let count = batches.len();
        batches
            .iter()
            .enumerate()
            .map(|(i, b)| payload(self.day, i + 1, count, b, &self.fields))
            .collect()
    }
}

/// `[crm.webhook]`, or bad input saying how to turn it on.
pub fn settings(config: &Config) -> Result<&WebhookConfig> {
    config.crm.webhook.as_ref().ok_or_else(|| {
        Error::Invalid(
            "the account-change webhook is off: add [crm.webhook] with endpoint = \"NAME\" \
             of an [[outbound.webhooks]] endpoint to tenure.toml (docs/CRM.md)"
                .into(),
        )
    })
}

/// The changes a pass on `day` would queue, with nothing written.
pub async fn dry_run(store: &Store, config: &Config, day: Date) -> Result<Pass> {
    let w = settings(config)?;
    let (changes, _) = find(store, config, w, day).await?;
    Ok(Pass {
        day,
        changes,
        fields: w.fields.clone(),
        batch_size: w.batch_size,
        messages: Vec::new(),
    })
}

/// The job's step: the changes on `day` queued, one outbox message per
/// batch, and the states recorded, in one transaction. `None` when
/// `[crm.webhook]` is not configured.
pub async fn run(store: &Store, config: &Config, day: Date) -> Result<Option<Pass>> {
    let Some(w) = config.crm.webhook.as_ref() else {
        return Ok(None);
    };
    let (changes, _) = find(store, config, w, day).await?;
    let mut pass = Pass {
        day,
        changes,
        fields: w.fields.clone(),
        batch_size: w.batch_size,
        messages: Vec::new(),
    };
    if pass.changes.is_empty() {
        return Ok(Some(pass));
    }
    let source = format!("{SOURCE}{day}");
    let mut tx = store.begin_write().await?;
    let mut states = Vec::with_capacity(pass.changes.len());
    for (batch, body) in pass.changes.chunks(w.batch_size).zip(pass.payloads()) {
        let id =
            crate::outbound::queue_webhook_in(&mut tx, config, &w.endpoint, &body, &source, None)
                .await?;
        states.extend(batch.iter().map(|c| SentState {
            account_id: c.account.id.clone(),
            state: c.after.clone(),
            message_id: Some(id.clone()),
        }));
        pass.messages.push(id);
    }
    record_states(&mut tx, &states, now_micros()).await?;
    tx.commit().await?;
    Ok(Some(pass))
}

/// Records every account's state on `day` as sent without queueing
/// anything (to start without a baseline); returns how many accounts'
/// states were recorded.
pub async fn mark_sent(store: &Store, config: &Config, day: Date) -> Result<usize> {
    let w = settings(config)?;
    let (_, now) = find(store, config, w, day).await?;
    let states: Vec<SentState> = now
        .into_iter()
        .map(|(account_id, state)| SentState {
            account_id,
            state,
            message_id: None,
        })
        .collect();
    store.record_crm_states(&states, now_micros()).await?;
    Ok(states.len())
}

/// The accounts whose watched fields changed since last sent, by id, and
/// every account's state on `day`.
async fn find(
    store: &Store,
    config: &Config,
    w: &WebhookConfig,
    day: Date,
) -> Result<(Vec<Change>, Vec<(String, AccountState)>)> {
    let rows = crate::health::export::rows(store, config, None, day).await?;
    let sent = store.crm_webhook_states().await?;
    let mut links = store.crm_account_links().await?;
    let currency = config.currency.reporting.to_string();
    let mut changes = Vec::new();
    let mut states = Vec::with_capacity(rows.len());
    for r in rows {
        let now = AccountState {
            health_band: (!r.band.is_empty()).then(|| r.band.clone()),
            at_risk: r.at_risk,
            segment: r.segment.clone(),
            tier: r.tier.clone(),
            stage: r.stage.clone(),
            nps: r.latest_nps,
        };
        let before = sent.get(&r.id);
        let fields = changed(before, &now, &w.fields);
        if !fields.is_empty() {
            let crm_ids: HashMap<String, String> = links
                .remove(&r.id)
                .unwrap_or_default()
                .into_iter()
                .map(|crm| (crm, r.id.clone()))
                .collect();
            changes.push(Change {
                account: AccountContext {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    crm_ids: crm_ids.into_iter().collect(),
                    // The stored score to one decimal: enough for a CRM field.
                    health_score: r.score.map(|x| (x * 10.0).round() / 10.0),
                    arr: r.arr.clone(),
                    currency: currency.clone(),
                    renewal_date: r.renewal,
                },
                before: before.cloned(),
                after: now.clone(),
                changed: fields,
            });
        }
        states.push((r.id, now));
    }
    Ok((changes, states))
}
