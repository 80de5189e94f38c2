//! Stripe-format billing webhooks at `POST /webhooks/stripe`.
//!
//! The `Stripe-Signature` header (`t=TIMESTAMP,v1=SIG[,v1=SIG...]`) is
//! checked first: HMAC-SHA256 of `TIMESTAMP.BODY` with the endpoint secret,
//! any `v1` may match (Stripe sends several while a secret is rolled), and the
//! timestamp must be within the tolerance (300 s) of the server clock so that
//! a captured request cannot be replayed later.
//!
//! Handled events: `customer.created` / `customer.updated` (the customer's
//! account is `metadata.tenure_account_id`, else the customer id),
//! `customer.subscription.created` / `.updated` / `.deleted` (MRR = Σ items'
//! unit price × quantity normalised to a month; seats = quantity; start,
//! cancellation and end dates) and `invoice.payment_failed`. Each event id is
//! applied once; other event types are answered 200 and ignored.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};
use sha2::Sha256;
use tenure_core::model::{Currency, Money, utc_date};
use tenure_store::billing::{
    Applied, BillingChange, BillingCustomer, BillingSubscription, PaymentFailure,
};

use crate::AppState;
use crate::error::AppError;

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/stripe", post(stripe))
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    #[error("no v1 signature matches the payload")]
    NoMatch,
    #[error("the signature's timestamp is outside the {0} s tolerance")]
    Expired(u64),
}

/// The hex `v1` signature of a payload at a timestamp.
pub fn stripe_signature(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a `Stripe-Signature` header against the payload and secret.
pub fn verify_stripe_signature(
    header: &str,
    payload: &[u8],
    secret: &str,
    now: Timestamp,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let mut t: Option<i64> = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k {
            "t" => t = v.parse().ok(),
            "v1" => sigs.push(v),
            _ => {}
        }
    }
    let (Some(t), false) = (t, sigs.is_empty()) else {
        return Err(SignatureError::Malformed);
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let matched = sigs.iter().any(|s| match hex::decode(s) {
        // verify_slice compares in constant time.
        Ok(bytes) => mac.clone().verify_slice(&bytes).is_ok(),
        Err(_) => false,
    });
    if !matched {
        return Err(SignatureError::NoMatch);
    }
    if (now.as_second() - t).unsigned_abs() > tolerance.as_secs() {
        return Err(SignatureError::Expired(tolerance.as_secs()));
    }
    Ok(())
}

async fn stripe(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let Some(secret) = state.config.stripe_webhook_secret.as_deref() else {
        return Err(AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            "Stripe webhooks are not configured: set TENURE_STRIPE_WEBHOOK_SECRET",
        ));
    };
    let payload = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .map_err(|_| AppError::too_large("the webhook body is too large"))?;
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    verify_stripe_signature(
        header,
        &payload,
        secret,
        Timestamp::now(),
        state.config.webhook_tolerance,
    )
    .map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "invalid_signature", e.to_string()))?;

    let StripeEvent {
        id,
        ty,
        created,
        change,
    } = parse_event(&payload, Timestamp::now())?;
    let handled = !matches!(change, BillingChange::Ignored);
    let applied = state
        .store
        .apply_billing_event(&id, &ty, created, &change, Timestamp::now())
        .await?;
    let status = match applied {
        Applied::Applied => "applied",
        Applied::Duplicate => "duplicate",
        Applied::Stale => "stale",
    };
    Ok((
        StatusCode::OK,
        Json(json!({"received": true, "handled": handled, "status": status})),
    ))
}

/// A Stripe event as Tenure reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct StripeEvent {
    /// The event's id, applied once.
    pub id: String,
    /// Its type, such as `customer.subscription.updated`.
    pub ty: String,
    /// When Stripe created it.
    pub created: Timestamp,
    /// What it changes; [`BillingChange::Ignored`] for other types.
    pub change: BillingChange,
}

/// Reads a webhook's body, once its signature is checked; `now` stands in
/// for a missing or unreadable `created`. Every problem is a 400 naming
/// what is wrong.
pub fn parse_event(payload: &[u8], now: Timestamp) -> Result<StripeEvent, AppError> {
    let event: Value = serde_json::from_slice(payload)
        .map_err(|e| AppError::bad_request(format!("the body is not valid JSON: {e}")))?;
    let id = event
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| AppError::bad_request("the event has no id"))?;
    let ty = event.get("type").and_then(Value::as_str).unwrap_or("");
    let created = event
        .get("created")
        .and_then(Value::as_i64)
        .and_then(|s| Timestamp::from_second(s).ok())
        .unwrap_or(now);
    let object = event
        .pointer("/data/object")
        .cloned()
        .unwrap_or(Value::Null);
    let change = parse_change(ty, &object, created)?;
    Ok(StripeEvent {
        id: id.to_string(),
        ty: ty.to_string(),
        created,
        change,
    })
}

fn bad(msg: impl Into<String>) -> AppError {
    AppError::bad_request(msg)
}

fn date_of(v: Option<&Value>) -> Option<Date> {
    v.and_then(Value::as_i64)
        .and_then(|s| Timestamp::from_second(s).ok())
        .map(utc_date)
}

fn customer_id(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn currency(v: Option<&Value>) -> Result<Option<Currency>, AppError> {
    v.and_then(Value::as_str)
        .map(|c| Currency::parse(c).map_err(|e| bad(format!("currency: {e}"))))
        .transpose()
}

/// Monthly amount of one subscription item, in minor units (unrounded).
fn item_monthly(item: &Value) -> Result<f64, AppError> {
    let price = item
        .get("price")
        .or_else(|| item.get("plan"))
        .ok_or_else(|| bad("a subscription item has no price"))?;
    let unit = match price.get("unit_amount").and_then(Value::as_f64) {
        Some(u) => u,
        None => price
            .get("unit_amount_decimal")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<f64>().ok())
            // Tiered or metered prices have no fixed unit amount: they add no MRR.
            .or_else(|| price.get("amount").and_then(Value::as_f64))
            .unwrap_or(0.0),
    };
    let quantity = item.get("quantity").and_then(Value::as_f64).unwrap_or(1.0);
    let recurring = price.get("recurring").unwrap_or(price);
    let interval = recurring
        .get("interval")
        .and_then(Value::as_str)
        .unwrap_or("month");
    let count = recurring
        .get("interval_count")
        .and_then(Value::as_f64)
        .filter(|c| *c >= 1.0)
        .unwrap_or(1.0);
    Ok(unit * quantity * monthly_factor(interval, count)?)
}

/// How many times per month a price for `count` × `interval` is charged:
/// a month is 365.25 / 12 = 30.4375 days.
pub fn monthly_factor(interval: &str, count: f64) -> Result<f64, AppError> {
    let per = match interval {
        "day" => 30.4375,
        "week" => 30.4375 / 7.0,
        "month" => 1.0,
        "year" => 1.0 / 12.0,
        other => return Err(bad(format!("unknown price interval {other:?}"))),
    };
    Ok(per / count)
}

fn parse_change(ty: &str, o: &Value, created: Timestamp) -> Result<BillingChange, AppError> {
    Ok(match ty {
        "customer.created" | "customer.updated" => {
            let id = o
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("the customer has no id"))?;
            let account = o
                .pointer("/metadata/tenure_account_id")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or(id);
            let name = o
                .get("name")
                .and_then(Value::as_str)
                .or_else(|| o.get("email").and_then(Value::as_str))
                .map(str::to_string);
            BillingChange::Customer(BillingCustomer {
                customer_id: id.to_string(),
                account_id: account.to_string(),
                name,
            })
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let id = o
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("the subscription has no id"))?;
            let customer = customer_id(o.get("customer"))
                .ok_or_else(|| bad("the subscription has no customer"))?;
            let items: Vec<Value> = o
                .pointer("/items/data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let first_price = items.first().and_then(|i| i.get("price"));
            let cur = match currency(o.get("currency"))? {
                Some(c) => c,
                None => currency(first_price.and_then(|p| p.get("currency")))?
                    .ok_or_else(|| bad("the subscription has no currency"))?,
            };
            let mut monthly = 0.0;
            let mut seats: Option<i64> = None;
            for item in &items {
                monthly += item_monthly(item)?;
                if let Some(q) = item.get("quantity").and_then(Value::as_i64) {
                    seats = Some(seats.unwrap_or(0) + q);
                }
            }
            let status = o.get("status").and_then(Value::as_str).unwrap_or("active");
            // No revenue yet: trials and payments never completed.
            if matches!(
                status,
                "trialing" | "incomplete" | "incomplete_expired" | "paused"
            ) {
                monthly = 0.0;
            }
            let start = date_of(o.get("start_date"))
                .or_else(|| date_of(o.get("created")))
                .unwrap_or_else(|| utc_date(created));
            let end = if ty == "customer.subscription.deleted" || status == "canceled" {
                Some(
                    date_of(o.get("ended_at"))
                        .or_else(|| date_of(o.get("canceled_at")))
                        .unwrap_or_else(|| utc_date(created)),
                )
            } else {
                date_of(o.get("ended_at")).or_else(|| date_of(o.get("cancel_at")))
            };
            let period_end = date_of(o.get("current_period_end"))
                .or_else(|| date_of(items.first().and_then(|i| i.get("current_period_end"))));
            let plan = first_price.and_then(|p| {
                ["nickname", "lookup_key", "id"]
                    .iter()
                    .find_map(|k| p.get(*k).and_then(Value::as_str))
                    .map(str::to_string)
            });
            BillingChange::Subscription(BillingSubscription {
                stripe_id: id.to_string(),
                customer_id: customer,
                mrr: Money::new(monthly.round() as i64, cur),
                plan,
                seats,
                start_date: start,
                end_date: end,
                renewal_date: if end.is_some() { None } else { period_end },
                changed_on: utc_date(created),
            })
        }
        "invoice.payment_failed" => {
            let customer =
                customer_id(o.get("customer")).ok_or_else(|| bad("the invoice has no customer"))?;
            let cur =
                currency(o.get("currency"))?.ok_or_else(|| bad("the invoice has no currency"))?;
            let amount = o
                .get("amount_due")
                .or_else(|| o.get("amount_remaining"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            BillingChange::PaymentFailed(PaymentFailure {
                customer_id: customer,
                invoice_id: o.get("id").and_then(Value::as_str).map(str::to_string),
                amount: Money::new(amount, cur),
                occurred_at: created,
            })
        }
        _ => BillingChange::Ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const PAYLOAD: &[u8] = br#"{"id":"evt_1","type":"customer.created"}"#;

    #[test]
    fn fixed_vector_matches() {
        // Computed independently with Python's hmac module:
        // hmac.new(b"whsec_test_secret", b"1700000000." + PAYLOAD, hashlib.sha256).hexdigest()
        assert_eq!(
            stripe_signature(SECRET, 1_700_000_000, PAYLOAD),
            "2146c3ca883db3d5b33f638513d4322fcf955eeb8624ee63937a742c023fe30b"
        );
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_700_000_100).unwrap()
    }

    #[test]
    fn signatures_are_checked() {
        let tol = Duration::from_secs(300);
        let good = stripe_signature(SECRET, 1_700_000_000, PAYLOAD);
        let header = format!("t=1700000000,v1={good}");
        assert_eq!(
            verify_stripe_signature(&header, PAYLOAD, SECRET, now(), tol),
            Ok(())
        );
        // Several v1 signatures (a rolled secret): any may match; v0 is ignored.
        let header = format!("t=1700000000,v1={},v1={good},v0=abc", "0".repeat(64));
        assert_eq!(
            verify_stripe_signature(&header, PAYLOAD, SECRET, now(), tol),
            Ok(())
        );
        // Forged: signed with another secret, or the payload changed.
        let forged = stripe_signature("whsec_other", 1_700_000_000, PAYLOAD);
        assert_eq!(
            verify_stripe_signature(
                &format!("t=1700000000,v1={forged}"),
                PAYLOAD,
                SECRET,
                now(),
                tol
            ),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify_stripe_signature(
                &format!("t=1700000000,v1={good}"),
                b"{}",
                SECRET,
                now(),
                tol
            ),
            Err(SignatureError::NoMatch)
        );
        // Replayed: a valid signature from 400 s ago.
        let later = Timestamp::from_second(1_700_000_400).unwrap();
        assert_eq!(
            verify_stripe_signature(
                &format!("t=1700000000,v1={good}"),
                PAYLOAD,
                SECRET,
                later,
                tol
            ),
            Err(SignatureError::Expired(300))
        );
        for h in ["", "t=1700000000", &format!("v1={good}"), "garbage"] {
            assert_eq!(
                verify_stripe_signature(h, PAYLOAD, SECRET, now(), tol),
                Err(SignatureError::Malformed)
            );
        }
    }

    #[test]
    fn prices_are_normalised_to_a_month() {
        let m = |interval, count| monthly_factor(interval, count).unwrap();
        assert_eq!(m("month", 1.0), 1.0);
        assert_eq!(m("month", 3.0), 1.0 / 3.0);
        assert_eq!(m("year", 1.0), 1.0 / 12.0);
        assert!((m("week", 1.0) - 4.348_214).abs() < 1e-6);
        assert_eq!(m("day", 1.0), 30.4375);
        assert!(monthly_factor("fortnight", 1.0).is_err());
    }
}
