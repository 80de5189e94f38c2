//! Stripe-format billing webhooks through the router.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use jiff::Timestamp;
use serde_json::{Value, json};
use tenure_server::ServerConfig;
use tenure_server::webhooks::stripe_signature;
use tenure_store::Kind;
use tenure_store::api::{RecordQuery, Scope};
use tenure_store::rows::Record;

use crate::common::{App, Resp, WEBHOOK_SECRET, assert_error};

fn day(s: &str) -> i64 {
    s.parse::<jiff::civil::Date>()
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_second()
}

async fn deliver_signed(app: &App, payload: &str, header: String) -> Resp {
    let req = Request::post("/webhooks/stripe")
        .header("stripe-signature", header)
        .header("content-type", "application/json; charset=utf-8")
        .body(Body::from(payload.to_string()))
        .unwrap();
    app.call(req).await
}

async fn deliver(app: &App, event: &Value) -> Resp {
    let payload = serde_json::to_string_pretty(event).unwrap();
    let t = Timestamp::now().as_second();
    let sig = stripe_signature(WEBHOOK_SECRET, t, payload.as_bytes());
    deliver_signed(app, &payload, format!("t={t},v1={sig}")).await
}

fn event(id: &str, ty: &str, created: &str, object: Value) -> Value {
    json!({"id": id, "object": "event", "api_version": "2024-06-20", "created": day(created),
           "livemode": false, "pending_webhooks": 1, "type": ty, "data": {"object": object}})
}

fn subscription(status: &str, items: Value, extra: Value) -> Value {
    let mut s = json!({"id": "sub_1", "object": "subscription", "customer": "cus_1", "currency": "usd",
        "status": status, "start_date": day("2025-01-10"), "current_period_end": day("2025-02-10"),
        "cancel_at": null, "canceled_at": null, "ended_at": null,
        "items": {"object": "list", "data": items}});
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    s
}

fn item(unit_amount: i64, quantity: i64, interval: &str, count: i64) -> Value {
    json!({"id": "si_1", "object": "subscription_item", "quantity": quantity,
           "price": {"id": "price_1", "object": "price", "currency": "usd", "nickname": "Pro",
                     "unit_amount": unit_amount, "recurring": {"interval": interval, "interval_count": count}}})
}

async fn subscriptions(app: &App) -> Vec<tenure_core::model::Subscription> {
    let page = app
        .db
        .store
        .list_records(
            Kind::Subscriptions,
            &RecordQuery {
                limit: 100,
                ..RecordQuery::default()
            },
        )
        .await
        .unwrap();
    page.items
        .into_iter()
        .map(|r| match r {
            Record::Subscription(s) => s,
            _ => panic!(),
        })
        .collect()
}

#[tokio::test]
async fn subscriptions_keep_a_true_mrr_history() {
    let app = App::new().await;
    let customer = json!({"id": "cus_1", "object": "customer", "name": "Acme", "email": "billing@acme.com",
                          "metadata": {"tenure_account_id": "acc-acme"}});
    let r = deliver(
        &app,
        &event("evt_1", "customer.created", "2025-01-09", customer),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let Record::Account(a) = app
        .db
        .store
        .get_record(Kind::Accounts, "acc-acme", &Scope::All)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(a.name, "Acme");

    // 5 seats × $20.00 a month plus a $1,200.00 yearly add-on = $200.00 MRR.
    let items = json!([item(2000, 5, "month", 1), item(120_000, 1, "year", 1)]);
    let created = event(
        "evt_2",
        "customer.subscription.created",
        "2025-01-10",
        subscription("active", items, json!({})),
    );
    assert_eq!(deliver(&app, &created).await.body["status"], "applied");
    let subs = subscriptions(&app).await;
    assert_eq!(subs.len(), 1);
    let s = &subs[0];
    assert_eq!(
        (
            s.id.as_str(),
            s.account_id.as_str(),
            s.mrr.minor,
            s.mrr.currency.as_str()
        ),
        ("sub_1", "acc-acme", 20_000, "USD")
    );
    assert_eq!(
        (
            s.seats,
            s.start_date.to_string(),
            s.end_date,
            s.renewal_date.map(|d| d.to_string())
        ),
        (
            Some(6),
            "2025-01-10".to_string(),
            None,
            Some("2025-02-10".to_string())
        )
    );
    assert_eq!(s.plan.as_deref(), Some("Pro"));

    // Redelivered: nothing changes.
    assert_eq!(deliver(&app, &created).await.body["status"], "duplicate");
    assert_eq!(subscriptions(&app).await.len(), 1);

    // Upgrade to 8 seats on March 1st: the old row ends, a new one starts.
    let items = json!([item(2000, 8, "month", 1), item(120_000, 1, "year", 1)]);
    let up = event(
        "evt_3",
        "customer.subscription.updated",
        "2025-03-01",
        subscription("active", items.clone(), json!({})),
    );
    deliver(&app, &up).await;
    let subs = subscriptions(&app).await;
    assert_eq!(subs.len(), 2);
    assert_eq!(
        (subs[0].id.as_str(), subs[0].end_date.map(|d| d.to_string())),
        ("sub_1", Some("2025-03-01".to_string()))
    );
    assert_eq!(
        (
            subs[1].id.as_str(),
            subs[1].mrr.minor,
            subs[1].start_date.to_string(),
            subs[1].seats
        ),
        ("sub_1:2", 26_000, "2025-03-01".to_string(), Some(9))
    );

    // An older event arriving late does not undo the upgrade.
    let stale = event(
        "evt_2b",
        "customer.subscription.updated",
        "2025-02-01",
        subscription("active", json!([item(2000, 5, "month", 1)]), json!({})),
    );
    assert_eq!(deliver(&app, &stale).await.body["status"], "stale");

    // Cancelled: the current row ends; amounts do not change, so no new row.
    let del = event(
        "evt_4",
        "customer.subscription.deleted",
        "2025-04-15",
        subscription(
            "canceled",
            items,
            json!({"ended_at": day("2025-04-15"), "canceled_at": day("2025-04-15")}),
        ),
    );
    deliver(&app, &del).await;
    let subs = subscriptions(&app).await;
    assert_eq!(subs.len(), 2);
    assert_eq!(
        subs[1].end_date.map(|d| d.to_string()).as_deref(),
        Some("2025-04-15")
    );
}

#[tokio::test]
async fn quarterly_and_weekly_prices_are_normalised_and_trials_carry_no_mrr() {
    let app = App::new().await;
    // No customer event first: the account is named by the customer id.
    let s = subscription(
        "active",
        json!([item(30_000, 1, "month", 3)]),
        json!({"id": "sub_q", "customer": "cus_q"}),
    );
    deliver(
        &app,
        &event("evt_q", "customer.subscription.created", "2025-01-10", s),
    )
    .await;
    let s = subscription(
        "trialing",
        json!([item(7_000, 1, "week", 1)]),
        json!({"id": "sub_w", "customer": "cus_q"}),
    );
    deliver(
        &app,
        &event("evt_w", "customer.subscription.created", "2025-01-10", s),
    )
    .await;
    let subs = subscriptions(&app).await;
    let q = subs.iter().find(|s| s.id == "sub_q").unwrap();
    assert_eq!((q.account_id.as_str(), q.mrr.minor), ("cus_q", 10_000));
    assert_eq!(subs.iter().find(|s| s.id == "sub_w").unwrap().mrr.minor, 0);
    // When the trial converts, MRR starts that day: $70/week ≈ $304.38/month.
    let s = subscription(
        "active",
        json!([item(7_000, 1, "week", 1)]),
        json!({"id": "sub_w", "customer": "cus_q"}),
    );
    deliver(
        &app,
        &event("evt_w2", "customer.subscription.updated", "2025-01-24", s),
    )
    .await;
    let subs = subscriptions(&app).await;
    let w = subs.iter().find(|s| s.id == "sub_w:2").unwrap();
    assert_eq!(
        (w.mrr.minor, w.start_date.to_string()),
        (30_438, "2025-01-24".to_string())
    );
}

#[tokio::test]
async fn failed_payments_are_recorded_and_other_events_ignored() {
    let app = App::new().await;
    let inv = json!({"id": "in_1", "object": "invoice", "customer": "cus_9", "amount_due": 4900, "currency": "eur"});
    let r = deliver(
        &app,
        &event("evt_f", "invoice.payment_failed", "2025-05-05", inv),
    )
    .await;
    assert_eq!(r.body["handled"], true);
    let fails = app.db.store.payment_failures("cus_9").await.unwrap();
    assert_eq!(fails.len(), 1);
    assert_eq!(
        (
            fails[0].amount.minor,
            fails[0].amount.currency.as_str(),
            fails[0].invoice_id.as_deref()
        ),
        (4900, "EUR", Some("in_1"))
    );
    let r = deliver(
        &app,
        &event(
            "evt_x",
            "charge.succeeded",
            "2025-05-05",
            json!({"id": "ch_1"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["handled"], false);
}

#[tokio::test]
async fn forged_replayed_and_unsigned_webhooks_are_refused() {
    let app = App::new().await;
    let payload = event(
        "evt_1",
        "customer.created",
        "2025-01-01",
        json!({"id": "cus_1"}),
    )
    .to_string();
    let now = Timestamp::now().as_second();
    let forged = stripe_signature("whsec_attacker", now, payload.as_bytes());
    assert_error(
        &deliver_signed(&app, &payload, format!("t={now},v1={forged}")).await,
        400,
        "invalid_signature",
    );
    let old = now - 400;
    let sig = stripe_signature(WEBHOOK_SECRET, old, payload.as_bytes());
    assert_error(
        &deliver_signed(&app, &payload, format!("t={old},v1={sig}")).await,
        400,
        "invalid_signature",
    );
    let good = stripe_signature(WEBHOOK_SECRET, now, payload.as_bytes());
    let tampered = payload.replace("cus_1", "cus_2");
    assert_error(
        &deliver_signed(&app, &tampered, format!("t={now},v1={good}")).await,
        400,
        "invalid_signature",
    );
    let req = Request::post("/webhooks/stripe")
        .body(Body::from(payload.clone()))
        .unwrap();
    assert_error(&app.call(req).await, 400, "invalid_signature");
    // Rolled secrets: several v1 signatures, one of them valid.
    let r = deliver_signed(&app, &payload, format!("t={now},v1={forged},v1={good}")).await;
    assert_eq!(r.status, StatusCode::OK);

    let unconfigured = App::with_config(ServerConfig::default()).await;
    assert_error(
        &deliver_signed(&unconfigured, &payload, format!("t={now},v1={good}")).await,
        503,
        "not_configured",
    );
}
