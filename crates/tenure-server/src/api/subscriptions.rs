//! `/api/v1/subscriptions`: subscription lines that carry MRR.

use serde::{Deserialize, Serialize};
use tenure_core::model::{self, Currency, Money, Subscription};
use tenure_store::Kind;
use tenure_store::rows::Record;
use utoipa::ToSchema;

use crate::api::crud::Resource;
use crate::api::extract::{Checks, amount_text};
use crate::error::AppError;

/// A subscription to create or replace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionIn {
    /// Left out on create: a new id is generated.
    pub id: Option<String>,
    pub account_id: String,
    /// Monthly recurring revenue in currency units: a number or a decimal string ("1200.50").
    #[schema(value_type = f64)]
    pub mrr: serde_json::Value,
    /// ISO 4217 code; USD when left out.
    pub currency: Option<String>,
    pub plan: Option<String>,
    pub seats: Option<i64>,
    /// First day with this MRR (YYYY-MM-DD).
    pub start_date: String,
    /// First day without it (exclusive); null = still running.
    pub end_date: Option<String>,
    /// First day of the next term.
    pub renewal_date: Option<String>,
}

/// A subscription; `mrr` is in currency units.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionOut {
    pub id: String,
    pub account_id: String,
    pub mrr: f64,
    pub currency: String,
    pub plan: Option<String>,
    pub seats: Option<i64>,
    pub start_date: String,
    pub end_date: Option<String>,
    pub renewal_date: Option<String>,
}

pub struct Subscriptions;

impl Resource for Subscriptions {
    const KIND: Kind = Kind::Subscriptions;
    const ID_PREFIX: &'static str = "sub";
    type In = SubscriptionIn;
    type Out = SubscriptionOut;

    fn body_id(input: &SubscriptionIn) -> Option<String> {
        input.id.clone()
    }

    fn into_record(s: SubscriptionIn, id: String) -> Result<Record, AppError> {
        let mut ck = Checks::default();
        let id = ck.check("id", model::parse_id(&id));
        let account_id = ck.check("account_id", model::parse_id(&s.account_id));
        let currency = ck
            .opt("currency", &s.currency, Currency::parse)
            .unwrap_or(Currency::USD);
        let mrr = ck.check(
            "mrr",
            amount_text(&s.mrr).and_then(|t| Money::parse_decimal(&t, currency)),
        );
        if let Some(m) = mrr
            && m.minor < 0
        {
            ck.problem("mrr", "must not be negative");
        }
        if let Some(n) = s.seats
            && n < 0
        {
            ck.problem("seats", "must not be negative");
        }
        let start = ck.check("start_date", model::parse_date(&s.start_date));
        let end = ck.opt("end_date", &s.end_date, model::parse_date);
        if let (Some(a), Some(b)) = (start, end)
            && b <= a
        {
            ck.problem(
                "end_date",
                format!("end_date {b} must be after start_date {a} (end_date is exclusive)"),
            );
        }
        let renewal = ck.opt("renewal_date", &s.renewal_date, model::parse_date);
        ck.finish(())?;
        Ok(Record::Subscription(Subscription {
            id: id.unwrap_or_default(),
            account_id: account_id.unwrap_or_default(),
            mrr: mrr.unwrap_or(Money::new(0, currency)),
            plan: s.plan,
            seats: s.seats,
            start_date: start.unwrap_or(jiff::civil::Date::ZERO),
            end_date: end,
            renewal_date: renewal,
        }))
    }

    fn to_out(r: Record) -> Option<SubscriptionOut> {
        let Record::Subscription(s) = r else {
            return None;
        };
        Some(SubscriptionOut {
            id: s.id,
            account_id: s.account_id,
            mrr: s.mrr.units(),
            currency: s.mrr.currency.to_string(),
            plan: s.plan,
            seats: s.seats,
            start_date: s.start_date.to_string(),
            end_date: s.end_date.map(|d| d.to_string()),
            renewal_date: s.renewal_date.map(|d| d.to_string()),
        })
    }
}

crud! {
    resource: Subscriptions,
    input: SubscriptionIn,
    output: SubscriptionOut,
    page: SubscriptionPage,
    tag: "subscriptions",
    collection: "/subscriptions",
    item: "/subscriptions/{id}",
    handlers: (list_subscriptions, create_subscription, get_subscription, replace_subscription, delete_subscription)
}
