//! The CRM's account-change webhook (docs/CRM.md, "Account changes to
//! your CRM") against a receiver served by axum in this process, which
//! checks the signature the way docs/CRM.md tells a CRM workflow to: the
//! first pass sends every account in batches, a failed call is retried
//! with the same delivery id, a pass with nothing changed sends nothing,
//! and a later change sends only that account. Time is passed to
//! `deliver_due`, so retries are tested without waiting. Runs on SQLite,
//! or on PostgreSQL when `TEST_DATABASE_URL` is set.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use jiff::civil::Date;
use serde_json::{Value, json};
use sha2::Sha256;
use tenure_app::clock::now_micros;
use tenure_app::crm_webhook::{dry_run, mark_sent, run};
use tenure_app::outbound::{DeliverySummary, deliver_due};
use tenure_core::config::{Config, parse_config};
use tenure_core::crm::{Crm, CrmSettings, Object};
use tenure_core::crm_webhook::Field;
use tenure_core::health::Band;
use tenure_core::model::{Account, Currency, Money, Subscription};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::crm::CrmImportOptions;
use tenure_store::health::Snapshot;
use tenure_store::outbound::{LogQuery, OutboxKind, OutboxStatus};
use tenure_store::rows::Record;
use tenure_store::testing::test_db;

const SECOND: i64 = 1_000_000;
const SECRET: &str = "whsec_crm_secret";
/// A Salesforce account id, as the import keeps it.
const ACME: &str = "0015g00000AbCdEAAV";

#[derive(Debug, Clone)]
struct Hit {
    delivery: String,
    verified: bool,
    body: Value,
}

/// Answers 500 to the first `fail_first` calls, then 200.
#[derive(Clone)]
struct Receiver {
    hits: Arc<Mutex<Vec<Hit>>>,
    fail_first: usize,
}

/// What docs/CRM.md tells a receiver to check: `sha256=` and the hex
/// HMAC-SHA256 of `"{X-Tenure-Timestamp}.{body}"` with the shared secret,
/// compared in constant time, and a timestamp within five minutes.
fn verify(headers: &HeaderMap, body: &str) -> bool {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    let (Some(ts), Some(sig)) = (get("x-tenure-timestamp"), get("x-tenure-signature")) else {
        return false;
    };
    let Ok(ts) = ts.parse::<i64>() else {
        return false;
    };
    if (now_micros() / SECOND - ts).abs() > 300 {
        return false;
    }
    let Some(Ok(sig)) = sig.strip_prefix("sha256=").map(hex::decode) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    mac.verify_slice(&sig).is_ok()
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let verified = verify(&headers, &body);
    let delivery = headers
        .get("x-tenure-delivery")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut hits = r.hits.lock().unwrap();
    hits.push(Hit {
        delivery,
        verified,
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    });
    if !verified {
        StatusCode::UNAUTHORIZED
    } else if hits.len() <= r.fail_first {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn start_receiver(fail_first: usize) -> (String, Receiver) {
    let receiver = Receiver {
        hits: Arc::default(),
        fail_first,
    };
    let app = Router::new()
        .route("/crm", post(hook))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, receiver)
}

fn config(base: &str, extra: &str) -> Config {
    let text = format!(
        r#"
[outbound]
max_attempts = 4
backoff_seconds = 10

[[outbound.webhooks]]
name = "crm"
url = "{base}/crm"
secret = "{SECRET}"

[crm.webhook]
endpoint = "crm"
{extra}
"#
    );
    parse_config(&text).unwrap_or_else(|e| panic!("test config: {e:?}"))
}

fn summary(attempted: u64, sent: u64, retrying: u64, dead: u64) -> DeliverySummary {
    DeliverySummary {
        attempted,
        sent,
        retrying,
        dead,
        waiting_for_smtp: 0,
    }
}

/// Acme (from a Salesforce import, so with its CRM id), Globex and
/// Initech, each paying USD 1,000 a month.
async fn portfolio(store: &Store) {
    let sf = format!("\"Account ID\",\"Account Name\"\n\"{ACME}\",\"Acme Corp\"\n");
    store
        .import_crm_reader(
            "accounts.csv",
            sf.as_bytes(),
            &CrmImportOptions {
                crm: Crm::Salesforce,
                object: Object::Accounts,
                settings: CrmSettings::default_for(Crm::Salesforce),
                dry_run: false,
                full: false,
                preview: 0,
            },
        )
        .await
        .unwrap();
    for (id, name) in [("globex", "Globex"), ("initech", "Initech")] {
        let mut a = Account::bare(id);
        a.name = name.into();
        store
            .create_record(&Record::Account(a), &Scope::All)
            .await
            .unwrap();
    }
    for id in [ACME, "globex", "initech"] {
        let sub = Subscription {
            id: format!("s-{id}"),
            account_id: id.into(),
            mrr: Money::new(100_000, Currency::USD),
            plan: None,
            seats: None,
            start_date: "2025-01-01".parse().unwrap(),
            end_date: None,
            renewal_date: None,
        };
        store
            .create_record(&Record::Subscription(sub), &Scope::All)
            .await
            .unwrap();
    }
}

/// Stores the day's scores: (account, score, band).
async fn scores(store: &Store, day: Date, rows: &[(&str, f64, Band)]) {
    let snapshots: Vec<Snapshot> = rows
        .iter()
        .map(|&(id, score, band)| Snapshot {
            account_id: id.into(),
            day,
            score: Some(score),
            band: Some(band),
            computed: None,
            override_id: None,
            scorecard_version: "test".into(),
            measures: Vec::new(),
        })
        .collect();
    store.write_snapshots(&snapshots, 0).await.unwrap();
}

async fn webhooks(store: &Store) -> usize {
    store
        .outbox_log(&LogQuery {
            kind: Some(OutboxKind::Webhook),
            ..LogQuery::default()
        })
        .await
        .unwrap()
        .len()
}

/// The account ids of a payload's changes.
fn ids(body: &Value) -> Vec<String> {
    body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["account"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn account_changes_reach_the_crm_signed_in_batches_retried_and_only_once() {
    let (base, receiver) = start_receiver(2).await;
    let db = test_db().await;
    let store = &db.store;
    let config = config(&base, "batch_size = 2");
    portfolio(store).await;
    let d1: Date = "2025-03-04".parse().unwrap();
    scores(
        store,
        d1,
        &[
            (ACME, 81.0, Band::Green),
            ("globex", 74.0, Band::Green),
            ("initech", 22.0, Band::Red),
        ],
    )
    .await;

    // The dry run shows the baseline and writes nothing.
    let preview = dry_run(store, &config, d1).await.unwrap();
    assert_eq!(preview.changes.len(), 3);
    assert!(preview.changes.iter().all(|c| c.before.is_none()));
    assert_eq!(preview.payloads().len(), 2);
    assert_eq!(webhooks(store).await, 0);
    assert_eq!(dry_run(store, &config, d1).await.unwrap().changes.len(), 3);

    // The first pass: every account, two to a payload.
    let pass = run(store, &config, d1).await.unwrap().unwrap();
    assert_eq!(pass.messages.len(), 2);
    assert_eq!(webhooks(store).await, 2);
    // Nothing changed since: nothing more is queued.
    let again = run(store, &config, d1).await.unwrap().unwrap();
    assert!(again.changes.is_empty() && again.messages.is_empty());
    assert_eq!(webhooks(store).await, 2);

    // Both calls fail once with a 500 and go through on the retry.
    let t0 = now_micros();
    assert_eq!(
        deliver_due(store, &config, t0).await.unwrap(),
        summary(2, 0, 2, 0)
    );
    assert_eq!(
        deliver_due(store, &config, t0 + 10 * SECOND).await.unwrap(),
        summary(2, 2, 0, 0)
    );
    for id in &pass.messages {
        let m = store.outbox_message(id).await.unwrap();
        assert_eq!((m.status, m.attempts), (OutboxStatus::Sent, 2), "{m:?}");
        assert_eq!(m.source, "crm:changes:2025-03-04");
    }
    let hits = receiver.hits.lock().unwrap().clone();
    assert_eq!(hits.len(), 4);
    assert!(hits.iter().all(|h| h.verified), "{hits:#?}");
    // Each payload twice, under its message id, the same body both times.
    for id in &pass.messages {
        let mine: Vec<&Hit> = hits.iter().filter(|h| &h.delivery == id).collect();
        assert_eq!(mine.len(), 2, "{id}");
        assert_eq!(mine[0].body, mine[1].body);
    }
    let first: Vec<&Value> = pass
        .messages
        .iter()
        .map(|id| &hits.iter().find(|h| &h.delivery == id).unwrap().body)
        .collect();
    assert_eq!(ids(first[0]), [ACME, "globex"]);
    assert_eq!(ids(first[1]), ["initech"]);
    assert_eq!(first[0]["batch"], json!({"index": 1, "count": 2}));
    assert_eq!(first[1]["batch"], json!({"index": 2, "count": 2}));
    assert_eq!(first[0]["type"], "tenure.account_changes");
    assert_eq!(first[0]["day"], "2025-03-04");
    let acme = &first[0]["changes"][0];
    assert_eq!(
        acme["account"],
        json!({
            "id": ACME,
            "name": "Acme Corp",
            "crm_ids": {"salesforce": ACME},
            "health_score": 81.0,
            "arr": "12000.00",
            "currency": "USD",
            "renewal_date": null,
        })
    );
    assert_eq!(acme["before"], Value::Null);
    assert_eq!(
        acme["changed"],
        json!(["health_band", "at_risk", "segment", "tier", "stage", "nps"])
    );
    assert_eq!(first[0]["changes"][1]["account"]["crm_ids"], json!({}));
    let initech = &first[1]["changes"][0]["after"];
    assert_eq!(
        *initech,
        json!({"health_band": "red", "at_risk": true, "segment": null, "tier": null, "stage": null, "nps": null})
    );

    // The next day Globex turns red: only Globex is sent, before and after.
    let d2: Date = "2025-03-05".parse().unwrap();
    scores(
        store,
        d2,
        &[
            (ACME, 80.0, Band::Green),
            ("globex", 30.0, Band::Red),
            ("initech", 25.0, Band::Red),
        ],
    )
    .await;
    let pass = run(store, &config, d2).await.unwrap().unwrap();
    assert_eq!(pass.messages.len(), 1);
    assert_eq!(
        deliver_due(store, &config, t0 + 20 * SECOND).await.unwrap(),
        summary(1, 1, 0, 0)
    );
    let hits = receiver.hits.lock().unwrap().clone();
    let last = hits.last().unwrap();
    assert!(last.verified);
    assert_eq!(last.delivery, pass.messages[0]);
    assert_eq!(ids(&last.body), ["globex"]);
    let globex = &last.body["changes"][0];
    assert_eq!(globex["changed"], json!(["health_band", "at_risk"]));
    assert_eq!(globex["before"]["health_band"], "green");
    assert_eq!(globex["before"]["at_risk"], false);
    assert_eq!(globex["after"]["health_band"], "red");
    assert_eq!(globex["after"]["at_risk"], true);
    // A score that moves within its band is not a change.
    assert!(
        run(store, &config, d2)
            .await
            .unwrap()
            .unwrap()
            .messages
            .is_empty()
    );
}

#[tokio::test]
async fn only_the_watched_fields_are_compared_and_sent() {
    let (base, _receiver) = start_receiver(0).await;
    let db = test_db().await;
    let store = &db.store;
    let config = config(&base, "fields = [\"at_risk\"]");
    portfolio(store).await;
    let d1: Date = "2025-03-04".parse().unwrap();
    scores(
        store,
        d1,
        &[
            (ACME, 81.0, Band::Green),
            ("globex", 74.0, Band::Green),
            ("initech", 22.0, Band::Red),
        ],
    )
    .await;
    let pass = run(store, &config, d1).await.unwrap().unwrap();
    assert_eq!(pass.fields, [Field::AtRisk]);
    assert_eq!(pass.messages.len(), 1);
    let body = &pass.payloads()[0];
    assert_eq!(body["changes"][0]["after"], json!({"at_risk": false}));
    assert_eq!(body["changes"][0]["changed"], json!(["at_risk"]));

    // Green to yellow keeps Acme off the board: no change to send.
    let d2: Date = "2025-03-05".parse().unwrap();
    scores(
        store,
        d2,
        &[
            (ACME, 60.0, Band::Yellow),
            ("globex", 74.0, Band::Green),
            ("initech", 22.0, Band::Red),
        ],
    )
    .await;
    let pass = run(store, &config, d2).await.unwrap().unwrap();
    assert!(pass.changes.is_empty(), "{:?}", pass.changes);
}

#[tokio::test]
async fn marking_the_current_state_sent_skips_the_baseline() {
    let (base, _receiver) = start_receiver(0).await;
    let db = test_db().await;
    let store = &db.store;
    let config = config(&base, "");
    portfolio(store).await;
    let d1: Date = "2025-03-04".parse().unwrap();
    scores(store, d1, &[(ACME, 81.0, Band::Green)]).await;
    assert_eq!(mark_sent(store, &config, d1).await.unwrap(), 3);
    let pass = run(store, &config, d1).await.unwrap().unwrap();
    assert!(pass.changes.is_empty());
    assert_eq!(webhooks(store).await, 0);

    // Without [crm.webhook] the job's step does nothing and the preview
    // says how to turn it on.
    let off = Config::default();
    assert_eq!(run(store, &off, d1).await.unwrap(), None);
    let err = dry_run(store, &off, d1).await.unwrap_err().to_string();
    assert!(err.contains("add [crm.webhook]"), "{err}");
}
