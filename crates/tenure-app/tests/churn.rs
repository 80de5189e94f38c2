//! The churn model against a test database (docs/CHURN.md): the features
//! of an as-of date do not change when later rows arrive; too few
//! churners is a clear error; a company whose churners fade before they
//! leave trains a model that ranks them first, stores it and predicts
//! with reasons. Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL.

use jiff::civil::Date;
use tenure_app::Error;
use tenure_app::churn::{TrainRequest, features_at, predict, train};
use tenure_core::config::Config;
use tenure_core::model::{
    Account, Currency, Engagement, Event, Money, Subscription, SurveyKind, SurveyResponse, Ticket,
    add_days, day_number,
};
use tenure_store::Kind;
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::import::ImportOptions;
use tenure_store::rows::Record;
use tenure_store::testing::test_db;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn at(day: &str, hour: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(
        i64::from(day_number(d(day))) * 86_400_000_000 + hour * 3_600_000_000,
    )
    .unwrap()
}

async fn add(store: &Store, r: Record) {
    store.create_record(&r, &Scope::All).await.unwrap();
}

fn event(account: &str, user: &str, day: &str) -> Record {
    Record::Event(Event {
        timestamp: at(day, 10),
        account_id: account.into(),
        user_id: user.into(),
        event: "login".into(),
        properties: None,
        message_id: None,
    })
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

#[tokio::test]
async fn features_at_an_as_of_date_never_read_later_rows() {
    let db = test_db().await;
    let store = &db.store;
    let config = Config::default();
    add(store, Record::Account(Account::bare("a1"))).await;
    let sub = |id: &str, start: &str, end: Option<&str>, seats| Subscription {
        id: id.into(),
        account_id: "a1".into(),
        mrr: Money::new(50_000, Currency::USD),
        plan: None,
        seats: Some(seats),
        start_date: d(start),
        end_date: end.map(d),
        renewal_date: Some(d("2025-06-01")),
    };
    add(
        store,
        Record::Subscription(sub("s1", "2024-06-01", None, 10)),
    )
    .await;
    for day in ["2025-02-10", "2025-03-05", "2025-03-20", "2025-03-31"] {
        add(store, event("a1", "u1", day)).await;
    }
    add(store, event("a1", "u2", "2025-03-25")).await;
    let ticket = |id: &str, opened: &str, closed: Option<&str>| {
        Record::Ticket(Ticket {
            id: id.into(),
            account_id: "a1".into(),
            opened_at: at(opened, 9),
            closed_at: closed.map(|c| at(c, 9)),
            priority: None,
            first_contact_resolved: None,
            csat: None,
            subject: None,
            description: None,
        })
    };
    add(store, ticket("t1", "2025-03-01", Some("2025-04-10"))).await;
    let response = |id: &str, kind, score, day: &str| {
        Record::SurveyResponse(SurveyResponse {
            id: id.into(),
            account_id: "a1".into(),
            contact_id: None,
            kind,
            score,
            responded_at: at(day, 12),
            comment: None,
        })
    };
    add(store, response("r1", SurveyKind::Nps, 8, "2025-02-01")).await;
    add(store, response("r2", SurveyKind::Csat, 4, "2025-03-15")).await;
    let engagement = |id: &str, day: &str| {
        Record::Engagement(Engagement {
            id: id.into(),
            account_id: "a1".into(),
            kind: "call".into(),
            occurred_at: at(day, 15),
            csm_email: None,
            notes: None,
        })
    };
    add(store, engagement("e1", "2025-03-10")).await;

    let as_of = d("2025-03-31");
    let before = features_at(store, &config, as_of).await.unwrap();
    assert_eq!(before.len(), 1);

    // Everything after the as-of date: events, a ticket, answers, an
    // engagement, a subscription with more seats, the first ticket closed.
    for day in ["2025-04-01", "2025-04-02", "2025-05-01"] {
        add(store, event("a1", "u3", day)).await;
    }
    add(store, ticket("t2", "2025-04-01", None)).await;
    add(store, response("r3", SurveyKind::Nps, 2, "2025-04-01")).await;
    add(store, response("r4", SurveyKind::Csat, 1, "2025-04-03")).await;
    add(store, engagement("e2", "2025-04-01")).await;
    add(
        store,
        Record::Subscription(sub("s2", "2025-04-01", None, 40)),
    )
    .await;
    let after = features_at(store, &config, as_of).await.unwrap();
    assert_eq!(before[0].0, "a1");
    assert!(
        same(&before[0].1, &after[0].1),
        "{:?}\n{:?}",
        before[0].1,
        after[0].1
    );
    // And the later date does see them.
    let later = features_at(store, &config, d("2025-04-05")).await.unwrap();
    assert!(!same(&before[0].1, &later[0].1));
}

/// `n` accounts paying since 2023-01-01; every fourth stops paying on a
/// day spread over 2024-03..2025-11 and, four months before, nearly stops
/// using the product. Events every 14 days.
async fn company(store: &Store, n: usize) {
    let mut accounts = String::from("id,name\n");
    let mut subs = String::from("id,account_id,mrr,start_date,end_date,seats,renewal_date\n");
    let mut events = String::new();
    for i in 0..n {
        let id = format!("a{i:04}");
        accounts.push_str(&format!("{id},Account {i}\n"));
        let end = (i % 4 == 0).then(|| add_days(d("2024-03-01"), ((i * 13) % 640) as i32));
        subs.push_str(&format!(
            "s{i},{id},{}.00,2023-01-01,{},{},{}\n",
            100 + (i % 7) * 50,
            end.map_or(String::new(), |e| e.to_string()),
            5 + i % 5,
            end.map_or(String::new(), |e| e.to_string()),
        ));
        let mut day = add_days(d("2023-09-01"), (i % 14) as i32);
        let stop = end.map_or(d("2026-03-01"), |e| e);
        while day < stop.min(d("2026-03-01")) {
            let fading = end.is_some_and(|e| add_days(day, 120) >= e);
            let users = if fading { 1 } else { 2 + i % 3 };
            for u in 0..users {
                events.push_str(&format!(
                    "{{\"timestamp\":\"{day}T10:00:00Z\",\"account_id\":\"{id}\",\"user_id\":\"{id}-u{u}\",\"event\":\"login\"}}\n"
                ));
            }
            day = add_days(day, 14);
        }
    }
    let opts = ImportOptions::default();
    for (kind, name, text) in [
        (Kind::Accounts, "accounts.csv", accounts),
        (Kind::Subscriptions, "subscriptions.csv", subs),
        (Kind::Events, "events.ndjson", events),
    ] {
        store
            .import_reader(kind, name, text.as_bytes(), &opts, &mut |_| {})
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn too_few_churners_is_an_error_naming_what_is_missing() {
    let db = test_db().await;
    company(&db.store, 40).await;
    let req = TrainRequest::new(d("2024-01-01"), d("2025-12-01"), 90, 0);
    let err = train(&db.store, &Config::default(), req).await.unwrap_err();
    let Error::Invalid(msg) = err else {
        panic!("{err}")
    };
    assert!(
        msg.contains("churned accounts in the training window") && msg.contains("at least 50"),
        "{msg}"
    );
    // Too short a window for a time split with a 90-day gap.
    let req = TrainRequest::new(d("2025-10-01"), d("2025-12-01"), 90, 0);
    let err = train(&db.store, &Config::default(), req).await.unwrap_err();
    assert!(
        matches!(&err, Error::Invalid(m) if m.contains("training as-of date")),
        "{err}"
    );
}

#[tokio::test]
async fn a_model_is_trained_on_earlier_dates_judged_on_later_ones_and_stored() {
    let db = test_db().await;
    let store = &db.store;
    company(store, 480).await;
    let config = Config::default();
    let req = TrainRequest::new(d("2024-01-01"), d("2025-12-01"), 90, 1_700_000_000_000_000);
    let report = train(store, &config, req).await.unwrap();
    assert_eq!(report.version, 1);
    let last_train = *report.train.as_of_dates.last().unwrap();
    let first_test = report.test.as_of_dates[0];
    assert!(add_days(last_train, 90) <= first_test);
    assert!(report.train.churned_accounts >= 50);
    let auc = report.evaluation.stats.auc.unwrap();
    assert!(auc > 0.9, "AUC {auc}");
    assert_eq!(report.evaluation.stats.accounts, report.scorecard.accounts);

    let stored = store.latest_churn_model().await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    // JSON text keeps each number to within a unit in the last place.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(1.0);
    assert_eq!(
        stored.model.coefficients.len(),
        report.model.coefficients.len()
    );
    for (a, b) in stored
        .model
        .coefficients
        .iter()
        .zip(&report.model.coefficients)
    {
        assert!(close(*a, *b), "{a} vs {b}");
    }
    assert!(close(stored.model.intercept, report.model.intercept));
    assert_eq!(stored.features, report.features);
    assert_eq!(stored.train_from, d("2024-01-01"));
    assert!(close(stored.metrics["model"]["auc"].as_f64().unwrap(), auc));
    assert!(
        stored.metrics["model"]["reliability"]
            .as_array()
            .unwrap()
            .len()
            == 10
    );

    // A fading account ranks above a steady one.
    let p = predict(store, &config, d("2025-06-01")).await.unwrap();
    assert_eq!(p.version, 1);
    let prob = |id: &str| {
        p.accounts
            .iter()
            .find(|a| a.account_id == id)
            .map(|a| a.probability)
    };
    // a0040 stops paying on 2024-03-01 + 40·13 days = 2025-08-03 (fading
    // since April); a0041 pays throughout.
    let (fading, steady) = (prob("a0040").unwrap(), prob("a0041").unwrap());
    assert!(fading > steady, "{fading} vs {steady}");
    let top = &p.accounts[0];
    assert!(!top.reasons.is_empty() && top.reasons.len() <= 3);

    // A second training is version 2.
    let again = train(store, &config, req).await.unwrap();
    assert_eq!(again.version, 2);
}
