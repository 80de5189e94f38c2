//! The churn model against a test database (docs/CHURN.md): the features
//! of an as-of date do not change when later rows arrive; too few
//! churners is a clear error; a company whose churners fade before they
//! leave trains a model that ranks them first, stores it and predicts
//! with reasons. Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL.

use jiff::civil::Date;
use tenure_app::Error;
use tenure_app::churn::{
    DailyPredictions, TrainRequest, daily, features_at, predict, save_predictions, train,
};
use tenure_app::jobs::{JobState, run_once};
use tenure_core::churn::{ChurnModel, Column, FeatureSet, ModelBands, Scaling};
use tenure_core::config::{Config, parse_config};
use tenure_core::health::HealthModel;
use tenure_core::model::{
    Account, Currency, Engagement, Event, Money, Subscription, SurveyKind, SurveyResponse, Ticket,
    add_days, day_number,
};
use tenure_store::Kind;
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::churn::{NewChurnModel, StoredPrediction};
use tenure_store::health::{Shard, SignalsRequest};
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
    named_event(account, user, day, "login")
}

fn named_event(account: &str, user: &str, day: &str, name: &str) -> Record {
    Record::Event(Event {
        timestamp: at(day, 10),
        account_id: account.into(),
        user_id: user.into(),
        event: name.into(),
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
    add(store, named_event("a1", "u2", "2025-03-31", "sent")).await;
    add(store, named_event("a1", "u2", "2025-02-20", "sent")).await;
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
    // With features of their own for two event names.
    let names = ["sent".to_string(), "login".to_string()];
    let before = features_at(store, &config, &names, as_of).await.unwrap();
    assert_eq!(before.len(), 1);
    let features = FeatureSet::with_event_names(&HealthModel::new(&config.health), &names);
    let at_name = |n: &str| features.names().iter().position(|x| x == n).unwrap();
    // "sent": one on the as-of day and one 39 days before it.
    assert_eq!(
        before[0].1[at_name("“sent” events in the last 90 days (log)")],
        3f64.ln()
    );
    assert_eq!(
        before[0].1[at_name("“sent” event trend: last 28 days against the 28 before (log ratio)")],
        0.0
    );
    // "login": 03-05, 03-20, 03-25 and 03-31 in the last 28 days.
    assert_eq!(
        before[0].1[at_name("“login” events in the last 28 days (log)")],
        5f64.ln()
    );

    // Everything after the as-of date: events, a ticket, answers, an
    // engagement, a subscription with more seats, the first ticket closed.
    for day in ["2025-04-01", "2025-04-02", "2025-05-01"] {
        add(store, event("a1", "u3", day)).await;
        add(store, named_event("a1", "u3", day, "sent")).await;
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
    let after = features_at(store, &config, &names, as_of).await.unwrap();
    assert_eq!(before[0].0, "a1");
    assert!(
        same(&before[0].1, &after[0].1),
        "{:?}\n{:?}",
        before[0].1,
        after[0].1
    );
    // And the later date does see them.
    let later = features_at(store, &config, &names, d("2025-04-05"))
        .await
        .unwrap();
    assert!(!same(&before[0].1, &later[0].1));
    assert_eq!(
        later[0].1[at_name("“sent” events in the last 7 days (log)")],
        4f64.ln()
    );
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
    // Event names other than "login": "export" in the training window
    // (2023-10-04, the first of the 90 days ending on the first training
    // date, to 2025-01-01, the last), one name before it and one after it.
    for (i, day) in ["2024-02-01", "2024-06-01", "2024-12-31"]
        .iter()
        .enumerate()
    {
        add(store, named_event("a0001", &format!("x{i}"), day, "export")).await;
    }
    add(store, named_event("a0002", "x", "2023-10-03", "early")).await;
    add(store, named_event("a0002", "x", "2025-01-02", "late")).await;
    add(store, named_event("a0003", "x", "2025-01-02", "late")).await;
    let config = Config::default();
    let req = TrainRequest::new(d("2024-01-01"), d("2025-12-01"), 90, 1_700_000_000_000_000);
    let report = train(store, &config, req).await.unwrap();
    assert_eq!(report.version, 1);
    assert_eq!(report.train.as_of_dates[0], d("2024-01-01"));
    assert_eq!(report.train.as_of_dates.last(), Some(&d("2025-01-01")));
    // The most frequent first; nothing outside the window.
    assert_eq!(report.event_names, ["login", "export"]);
    assert!(
        report
            .features
            .contains(&"“export” events in the last 90 days (log)".to_string())
    );
    let last_train = *report.train.as_of_dates.last().unwrap();
    let first_test = report.test.as_of_dates[0];
    assert!(add_days(last_train, 90) <= first_test);
    assert!(report.train.churned_accounts >= 50);
    let auc = report.evaluation.stats.auc.unwrap();
    assert!(auc > 0.9, "AUC {auc}");
    assert_eq!(report.evaluation.stats.accounts, report.scorecard.accounts);

    let stored = store.latest_churn_model().await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    let brief = store.latest_churn_model_brief().await.unwrap().unwrap();
    assert_eq!(
        (brief.version, brief.horizon_days, brief.trained_at),
        (stored.version, stored.horizon_days, stored.trained_at)
    );
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
    assert_eq!(stored.event_names, report.event_names);
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
    // The fading account's reasons speak of its "login" events.
    let fading = p.accounts.iter().find(|a| a.account_id == "a0040").unwrap();
    assert!(
        fading
            .reasons
            .iter()
            .any(|(w, _)| w.contains("“login” events")),
        "{:?}",
        fading.reasons
    );

    // A second training is version 2, with the same names in the same
    // order.
    let again = train(store, &config, req).await.unwrap();
    assert_eq!(again.version, 2);
    assert_eq!(again.event_names, report.event_names);
    assert_eq!(again.features, report.features);
}

#[tokio::test]
async fn a_model_stored_before_per_name_features_still_predicts() {
    let db = test_db().await;
    let store = &db.store;
    company(store, 40).await;
    let config = Config::default();
    // As stored before event names were features: the fixed features only,
    // no event names; one column per feature, only the intercept weighs.
    let features = FeatureSet::new(&HealthModel::new(&config.health));
    let columns = features
        .names()
        .iter()
        .enumerate()
        .map(|(i, n)| Column {
            name: n.clone(),
            feature: i,
            missing_indicator: false,
            fill: 0.0,
            mean: 0.0,
            sd: 1.0,
        })
        .collect();
    let model = ChurnModel {
        scaling: Scaling { columns },
        intercept: -2.0,
        coefficients: vec![0.0; features.len()],
        bands: ModelBands {
            red_from: 0.5,
            yellow_from: 0.1,
        },
    };
    store
        .save_churn_model(&NewChurnModel {
            trained_at: 0,
            horizon_days: 90,
            train_from: d("2024-01-01"),
            train_to: d("2024-06-01"),
            test_from: d("2024-10-01"),
            test_to: d("2024-12-01"),
            health_version: "old",
            features: features.names(),
            event_names: &[],
            model: &model,
            metrics: &serde_json::json!({}),
        })
        .await
        .unwrap();
    let p = predict(store, &config, d("2025-06-01")).await.unwrap();
    // 30 pay throughout; a0036 stops on 2024-03-01 + 36·13 days = 2025-06-12.
    assert_eq!(p.accounts.len(), 31);
    let expected = 1.0 / (1.0 + 2f64.exp());
    assert!(
        p.accounts
            .iter()
            .all(|a| (a.probability - expected).abs() < 1e-12)
    );
    assert!(matches!(
        daily(store, &config, d("2025-06-02")).await.unwrap(),
        DailyPredictions::Saved { accounts: 31, .. }
    ));
}

#[tokio::test]
async fn the_daily_job_stores_every_paying_accounts_prediction_once_a_day_per_model() {
    let db = test_db().await;
    let store = &db.store;
    company(store, 480).await;
    let config = Config::default();
    let today = tenure_app::clock::today();
    // No model: the job's pass stores nothing and does not fail.
    assert_eq!(
        daily(store, &config, today).await.unwrap(),
        DailyPredictions::NoModel
    );
    run_once(store, &config, &mut JobState::default())
        .await
        .unwrap();
    assert_eq!(store.latest_churn_prediction_day().await.unwrap(), None);

    let req = TrainRequest::new(d("2024-01-01"), d("2025-12-01"), 90, 0);
    assert_eq!(train(store, &config, req).await.unwrap().version, 1);
    run_once(store, &config, &mut JobState::default())
        .await
        .unwrap();
    // Every account but each fourth (which stopped paying by 2025-11) pays
    // today: 360 of 480, one row each.
    let rows = store.churn_predictions_on(today).await.unwrap();
    assert_eq!(rows.len(), 360);
    let mut ids: Vec<&str> = rows.iter().map(|r| r.account_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 360);
    assert!(
        ids.iter()
            .all(|id| id[1..].parse::<usize>().unwrap() % 4 != 0)
    );
    for r in &rows {
        assert_eq!((r.day, r.model_version), (today, 1));
        assert!(r.probability > 0.0 && r.probability < 1.0, "{r:?}");
        assert!(["red", "yellow", "green"].contains(&r.band.as_str()));
        assert!(r.reasons.len() <= 3);
    }
    assert!(rows.iter().any(|r| !r.reasons.is_empty()));
    assert_eq!(
        store.latest_churn_prediction_day().await.unwrap(),
        Some(today)
    );

    // A pass again the same day (a restart: fresh state) predicts nothing
    // and duplicates nothing.
    assert_eq!(
        daily(store, &config, today).await.unwrap(),
        DailyPredictions::UpToDate { version: 1 }
    );
    run_once(store, &config, &mut JobState::default())
        .await
        .unwrap();
    assert_eq!(store.churn_predictions_on(today).await.unwrap(), rows);

    // A new model replaces the day's predictions with its own.
    assert_eq!(train(store, &config, req).await.unwrap().version, 2);
    assert_eq!(
        daily(store, &config, today).await.unwrap(),
        DailyPredictions::Saved {
            version: 2,
            accounts: 360
        }
    );
    let again = store.churn_predictions_on(today).await.unwrap();
    assert_eq!(again.len(), 360);
    assert!(again.iter().all(|r| r.model_version == 2));

    // Measures changed since training: a warning, not a failed pass.
    let other = parse_config(
        r#"
[[health.measures]]
name = "Tickets"
kind = "open_tickets"
weight = 1
linear = { min = 0, max = 5, direction = "lower_is_better" }
"#,
    )
    .unwrap();
    let tomorrow = add_days(today, 1);
    match daily(store, &other, tomorrow).await.unwrap() {
        DailyPredictions::Stale { version, message } => {
            assert_eq!(version, 2);
            assert!(message.contains("tenure churn train"), "{message}");
        }
        o => panic!("{o:?}"),
    }
    run_once(store, &other, &mut JobState::default())
        .await
        .unwrap();
    assert!(
        store
            .churn_predictions_on(tomorrow)
            .await
            .unwrap()
            .is_empty()
    );
    // `save_predictions` stores the day it predicts.
    let p = save_predictions(store, &config, d("2025-06-01"))
        .await
        .unwrap();
    let stored = store.churn_predictions_on(d("2025-06-01")).await.unwrap();
    assert_eq!(stored.len(), p.accounts.len());
}

const CHURN_RISK_CONFIG: &str = r#"
[[health.measures]]
name = "Churn risk"
kind = "churn_risk"
weight = 1
linear = { min = 0, max = 0.5, direction = "lower_is_better" }

[[health.measures]]
name = "Tickets"
kind = "open_tickets"
weight = 1
linear = { min = 0, max = 5, direction = "lower_is_better" }

[[engage.tiers]]
name = "high"

[[engage.segments]]
name = "At risk"
rule = "churn_risk != null && churn_risk > 0.3"
tier = "high"

[[engage.segments]]
name = "Rest"
rule = "paying"
tier = "high"
"#;

fn prediction(day: &str, account: &str, probability: f64) -> StoredPrediction {
    StoredPrediction {
        day: d(day),
        account_id: account.into(),
        model_version: 1,
        probability,
        band: "yellow".into(),
        reasons: Vec::new(),
    }
}

/// a1 and a2 pay from 2025-01-01; predictions are stored on 06-10 (a1 0.6,
/// a2 0.1) and 06-20 (a1 0.2 only).
async fn predicted(store: &Store) {
    for id in ["a1", "a2"] {
        add(store, Record::Account(Account::bare(id))).await;
        add(
            store,
            Record::Subscription(Subscription {
                id: format!("s-{id}"),
                account_id: id.into(),
                mrr: Money::new(50_000, Currency::USD),
                plan: None,
                seats: Some(5),
                start_date: d("2025-01-01"),
                end_date: None,
                renewal_date: None,
            }),
        )
        .await;
    }
    store
        .save_churn_predictions(
            d("2025-06-10"),
            &[
                prediction("2025-06-10", "a1", 0.6),
                prediction("2025-06-10", "a2", 0.1),
            ],
        )
        .await
        .unwrap();
    store
        .save_churn_predictions(d("2025-06-20"), &[prediction("2025-06-20", "a1", 0.2)])
        .await
        .unwrap();
}

#[tokio::test]
async fn churn_risk_reaches_rules_and_the_measure_from_the_prediction_of_the_day_or_before() {
    let db = test_db().await;
    let store = &db.store;
    predicted(store).await;
    let config = parse_config(CHURN_RISK_CONFIG).unwrap();
    let facts = |day: &'static str| {
        let config = config.clone();
        async move {
            let mut out: Vec<(String, Option<f64>, Option<String>)> =
                tenure_app::engage::assign(store, &config, d(day))
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|a| {
                        let segment = a.segment.map(|s| config.engage.segments.0[s].name.clone());
                        (a.account.id, a.facts.churn_risk, segment)
                    })
                    .collect();
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out
        }
    };
    let seg = |s: &str| Some(s.to_string());
    // Before any prediction: null (none made later is read).
    assert_eq!(
        facts("2025-06-09").await,
        [
            ("a1".into(), None, seg("Rest")),
            ("a2".into(), None, seg("Rest"))
        ]
    );
    assert_eq!(
        facts("2025-06-15").await,
        [
            ("a1".into(), Some(0.6), seg("At risk")),
            ("a2".into(), Some(0.1), seg("Rest"))
        ]
    );
    // 06-20's predictions: a2 had none that day.
    assert_eq!(
        facts("2025-06-25").await,
        [
            ("a1".into(), Some(0.2), seg("Rest")),
            ("a2".into(), None, seg("Rest"))
        ]
    );

    // The measure, on one day (today's path) and on many (history's).
    let model = HealthModel::new(&config.health);
    let raw = |day: &'static str| {
        let model = &model;
        let config = &config;
        async move {
            let (_, scored) =
                tenure_app::health::score::score_by_id(store, config, model, "a1", d(day))
                    .await
                    .unwrap();
            let m = &scored.score.measures[0];
            assert_eq!(m.kind, "churn_risk");
            m.raw
        }
    };
    assert_eq!(raw("2025-06-09").await, None);
    assert_eq!(raw("2025-06-15").await, Some(0.6));
    assert_eq!(raw("2025-06-25").await, Some(0.2));
    // 31 days after the last prediction still counts; 32 do not.
    assert_eq!(raw("2025-07-21").await, Some(0.2));
    assert_eq!(raw("2025-07-22").await, None);
    let accounts = store.health_accounts().await.unwrap();
    let dates = [d("2025-06-09"), d("2025-06-15"), d("2025-06-25")];
    let table = store
        .load_signals(SignalsRequest {
            plan: model.plan(),
            currency: &config.currency,
            dates: &dates,
            shard: Shard::split(&accounts, usize::MAX)[0],
            track_payments: false,
        })
        .await
        .unwrap();
    let a2 = accounts.iter().position(|a| a.id == "a2").unwrap();
    let got: Vec<Option<f64>> = (0..3).map(|k| table.signals(k, a2).churn_risk).collect();
    assert_eq!(got, [None, Some(0.1), None]);
}

/// The demo company (docs/CHURN.md's example, smaller): a model trained on
/// it has features for each of its event names and predicts every paying
/// account on the last day with reasons in words.
#[tokio::test]
async fn predict_after_train_on_the_demo() {
    use tenure_core::demo::{Demo, DemoConfig};
    use tenure_store::bulk::BulkWriter;
    let db = test_db().await;
    let store = &db.store;
    let end = d("2026-12-07");
    let demo = Demo::new(DemoConfig {
        accounts: 800,
        seed: 42,
        end,
        days: 730,
    });
    let mut writer = BulkWriter::default();
    let mut tx = store.pool().begin().await.unwrap();
    for i in 0..demo.len() {
        let b = demo.account(i);
        let recs = std::iter::once(Record::Account(b.account))
            .chain(b.subscriptions.into_iter().map(Record::Subscription))
            .chain(b.events.into_iter().map(Record::Event))
            .chain(b.tickets.into_iter().map(Record::Ticket))
            .chain(b.survey_responses.into_iter().map(Record::SurveyResponse))
            .chain(b.engagements.into_iter().map(Record::Engagement));
        for r in recs {
            writer.push(&mut tx, &r).await.unwrap();
        }
    }
    writer.flush(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let config = Config::default();
    // The demo's own window: the first whole month to the end less 90 days.
    let req = TrainRequest::new(d("2025-01-01"), add_days(end, -90), 90, 0);
    let report = train(store, &config, req).await.unwrap();
    // The demo's seven event names, the most events from 90 days before
    // the first training date to the last first.
    assert_eq!(report.event_names.len(), 7, "{:?}", report.event_names);
    let first = report.train.as_of_dates[0];
    let last = *report.train.as_of_dates.last().unwrap();
    let totals = store
        .event_name_totals(add_days(first, -89), last)
        .await
        .unwrap();
    let count = |n: &str| totals.iter().find(|t| t.0 == n).unwrap().1;
    assert!(
        report
            .event_names
            .windows(2)
            .all(|w| count(&w[0]) >= count(&w[1])),
        "{totals:?}"
    );
    let auc = report.evaluation.stats.auc.unwrap();
    assert!(auc > 0.8, "AUC {auc}");
    let stored = store.latest_churn_model().await.unwrap().unwrap();
    assert_eq!(stored.event_names, report.event_names);

    let p = predict(store, &config, end).await.unwrap();
    assert_eq!(p.version, report.version);
    assert!(p.accounts.len() > 300, "{}", p.accounts.len());
    assert!(p.accounts.iter().all(|a| a.reasons.len() <= 3));
    assert!(p.accounts[0].probability > p.accounts[p.accounts.len() - 1].probability);
    // Some account's reasons speak of one event name's counts.
    assert!(
        p.accounts
            .iter()
            .flat_map(|a| &a.reasons)
            .any(|(w, _)| w.contains("” events")),
        "{:?}",
        p.accounts
            .iter()
            .take(5)
            .map(|a| &a.reasons)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_default_window_starts_once_events_have_56_days_behind_a_date() {
    let db = test_db().await;
    let store = &db.store;
    let to = d("2026-09-01");
    // No events at all: 24 months before --to.
    let none = tenure_app::churn::default_from(store, to, 24)
        .await
        .unwrap();
    assert_eq!(none, d("2024-09-01"));
    add(store, Record::Account(Account::bare("a1"))).await;
    // Events from 2025-10-20: 56 days later is 2025-12-15, so the first
    // default date is 2026-01-01, not 2024-09-01.
    add(store, event("a1", "u1", "2025-10-20")).await;
    add(store, event("a1", "u1", "2026-03-02")).await;
    let later = tenure_app::churn::default_from(store, to, 24)
        .await
        .unwrap();
    assert_eq!(later, d("2026-01-01"));
    // Events older than the 24 months change nothing.
    add(store, event("a1", "u1", "2023-01-05")).await;
    let older = tenure_app::churn::default_from(store, to, 24)
        .await
        .unwrap();
    assert_eq!(older, d("2024-09-01"));
}
