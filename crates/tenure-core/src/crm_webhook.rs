//! The account-change webhook (docs/CRM.md, "Account changes to your
//! CRM"): what a CRM is told when an account's health band, risk flag,
//! segment, tier, journey stage or latest NPS answer changes.
//!
//! Each pass of the background job compares every account's
//! [`AccountState`] with the state last queued for it ([`changed`]); the
//! accounts that changed are cut into batches of `batch_size`, and each
//! batch becomes one JSON payload ([`payload`]) that the outbox signs and
//! retries like any webhook. An account never sent before (the first pass
//! after the webhook is turned on, or a new account) goes out with
//! `before: null` and every watched field.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde_json::{Value, json};

/// The payload's `type`.
pub const PAYLOAD_TYPE: &str = "tenure.account_changes";
/// The payload's `version`; raised only when a field changes meaning.
pub const PAYLOAD_VERSION: u32 = 1;
/// The largest `batch_size` accepted.
pub const MAX_BATCH: usize = 1000;
/// The default `batch_size`.
pub const DEFAULT_BATCH: usize = 100;

/// A field of an account the webhook watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// The latest health band: `red`, `yellow`, `green`, or `null`.
    HealthBand,
    /// Whether the account is on the risk board.
    AtRisk,
    /// The Engage segment.
    Segment,
    /// The segment's touch tier.
    Tier,
    /// The journey stage.
    Stage,
    /// The latest NPS answer, 0 to 10.
    Nps,
}

impl Field {
    /// Every field, in the payload's order.
    pub const ALL: [Field; 6] = [
        Field::HealthBand,
        Field::AtRisk,
        Field::Segment,
        Field::Tier,
        Field::Stage,
        Field::Nps,
    ];

    /// The field's name in `tenure.toml` and in the payload.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::HealthBand => "health_band",
            Field::AtRisk => "at_risk",
            Field::Segment => "segment",
            Field::Tier => "tier",
            Field::Stage => "stage",
            Field::Nps => "nps",
        }
    }

    /// The field named `s`, if any.
    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// `[crm.webhook]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// The name of the `[[outbound.webhooks]]` endpoint called.
    pub endpoint: String,
    /// Accounts per payload, 1 to [`MAX_BATCH`].
    pub batch_size: usize,
    /// The fields watched, in [`Field::ALL`]'s order, none twice.
    pub fields: Vec<Field>,
}

/// The watched fields of one account as they stand (or as last sent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountState {
    pub health_band: Option<String>,
    pub at_risk: bool,
    pub segment: Option<String>,
    pub tier: Option<String>,
    pub stage: Option<String>,
    pub nps: Option<i64>,
}

impl AccountState {
    /// One field's value as JSON.
    pub fn value(&self, field: Field) -> Value {
        match field {
            Field::HealthBand => json!(self.health_band),
            Field::AtRisk => json!(self.at_risk),
            Field::Segment => json!(self.segment),
            Field::Tier => json!(self.tier),
            Field::Stage => json!(self.stage),
            Field::Nps => json!(self.nps),
        }
    }

    /// The watched `fields` as a JSON object.
    pub fn to_json(&self, fields: &[Field]) -> Value {
        Value::Object(
            fields
                .iter()
                .map(|&f| (f.as_str().to_string(), self.value(f)))
                .collect(),
        )
    }
}

/// Which of `fields` differ between what was last sent (`None`: never)
/// and what stands now; all of them for an account never sent. Empty when
/// nothing watched changed.
pub fn changed(before: Option<&AccountState>, now: &AccountState, fields: &[Field]) -> Vec<Field> {
    match before {
        None => fields.to_vec(),
        Some(b) => fields
            .iter()
            .copied()
            .filter(|&f| b.value(f) != now.value(f))
            .collect(),
    }
}

/// What the payload says about an account besides its fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountContext {
    pub id: String,
    pub name: String,
    /// Each CRM whose import saw the account (`salesforce`, `hubspot`)
    /// with its id there.
    pub crm_ids: BTreeMap<String, String>,
    /// The latest health score, 0 to 100.
    pub health_score: Option<f64>,
    /// ARR in the reporting currency, as a decimal string.
    pub arr: String,
    pub currency: String,
    pub renewal_date: Option<Date>,
}

/// One account in a payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub account: AccountContext,
    /// What was last sent; `None` when never.
    pub before: Option<AccountState>,
    pub after: AccountState,
    /// The watched fields that changed.
    pub changed: Vec<Field>,
}

impl Change {
    /// The change as its payload entry, with the watched `fields`.
    pub fn to_json(&self, fields: &[Field]) -> Value {
        let a = &self.account;
        json!({
            "account": {
                "id": a.id,
                "name": a.name,
                "crm_ids": a.crm_ids,
                "health_score": a.health_score,
                "arr": a.arr,
                "currency": a.currency,
                "renewal_date": a.renewal_date.map(|d| d.to_string()),
            },
            "changed": self.changed.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            "before": self.before.as_ref().map(|b| b.to_json(fields)),
            "after": self.after.to_json(fields),
        })
    }
}

/// Batch `index` (from 1) of `count` of the changes found on `day`, as
/// the webhook's JSON body.
pub fn payload(
    day: Date,
    index: usize,
    count: usize,
    changes: &[Change],
    fields: &[Field],
) -> Value {
    json!({
        "type": PAYLOAD_TYPE,
        "version": PAYLOAD_VERSION,
        "day": day.to_string(),
        "batch": {"index": index, "count": count},
        "changes": changes.iter().map(|c| c.to_json(fields)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(band: &str, at_risk: bool, nps: Option<i64>) -> AccountState {
        AccountState {
            health_band: Some(band.into()),
            at_risk,
            segment: Some("Scale".into()),
            tier: Some("pooled".into()),
            stage: Some("Adopt".into()),
            nps,
        }
    }

    #[test]
    fn an_account_never_sent_changes_every_watched_field() {
        let now = state("green", false, None);
        assert_eq!(changed(None, &now, &Field::ALL), Field::ALL.to_vec());
        assert_eq!(
            changed(None, &now, &[Field::Nps, Field::Stage]),
            vec![Field::Nps, Field::Stage]
        );
    }

    #[test]
    fn only_watched_fields_that_differ_count() {
        let before = state("green", false, Some(9));
        let now = state("red", true, Some(9));
        assert_eq!(
            changed(Some(&before), &now, &Field::ALL),
            vec![Field::HealthBand, Field::AtRisk]
        );
        assert_eq!(changed(Some(&before), &now, &[Field::Nps]), vec![]);
        assert_eq!(changed(Some(&now), &now, &Field::ALL), vec![]);
        // A field that becomes unknown is a change too.
        let mut gone = now.clone();
        gone.nps = None;
        assert_eq!(changed(Some(&now), &gone, &Field::ALL), vec![Field::Nps]);
    }

    #[test]
    fn the_payload_carries_before_and_after_of_the_watched_fields() {
        let day: Date = "2025-03-04".parse().unwrap();
        let change = Change {
            account: AccountContext {
                id: "acme".into(),
                name: "Acme".into(),
                crm_ids: BTreeMap::from([("salesforce".into(), "acme".into())]),
                health_score: Some(31.5),
                arr: "30000.00".into(),
                currency: "USD".into(),
                renewal_date: Some("2025-06-30".parse().unwrap()),
            },
            before: Some(state("green", false, Some(9))),
            after: state("red", true, Some(9)),
            changed: vec![Field::HealthBand, Field::AtRisk],
        };
        let fields = [Field::HealthBand, Field::AtRisk];
        assert_eq!(
            payload(day, 1, 2, &[change], &fields),
            json!({
                "type": "tenure.account_changes",
                "version": 1,
                "day": "2025-03-04",
                "batch": {"index": 1, "count": 2},
                "changes": [{
                    "account": {
                        "id": "acme",
                        "name": "Acme",
                        "crm_ids": {"salesforce": "acme"},
                        "health_score": 31.5,
                        "arr": "30000.00",
                        "currency": "USD",
                        "renewal_date": "2025-06-30",
                    },
                    "changed": ["health_band", "at_risk"],
                    "before": {"health_band": "green", "at_risk": false},
                    "after": {"health_band": "red", "at_risk": true},
                }],
            })
        );
    }
}
