//! Metrics from the store: the hand-computed example of docs/METRICS.md,
//! imported through the importers, loaded in bulk and computed. Runs on
//! SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set (the test
//! script runs it both ways), so both backends must give these exact values.
//!
//! The fixture is `tests/fixtures/metrics/`: the example of docs/METRICS.md,
//! with a5's line billed in EUR (74.07 × 1.08 = 80.00 USD) and a7's in GBP
//! (39.37 × 1.27 = 50.00 USD) so that conversion is exercised too.

use std::path::PathBuf;

use jiff::civil::Date;
use serde_json::Value;
use tenure_core::metrics::{
    Dataset, Interval, LedgerQuery, MovementTotals, Period, Rates, Settings, UsageAccumulator,
};
use tenure_core::model::Currency;
use tenure_store::analytics::LoadRange;
use tenure_store::import::ImportOptions;
use tenure_store::testing::{TestDb, test_db};
use tenure_store::{Kind, Store};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/metrics")
        .join(name)
}

async fn imported() -> TestDb {
    let db = test_db().await;
    for (kind, file) in [
        (Kind::Accounts, "accounts.csv"),
        (Kind::Subscriptions, "subscriptions.csv"),
        (Kind::SurveyResponses, "survey_responses.csv"),
        (Kind::Tickets, "tickets.csv"),
        (Kind::Events, "events.ndjson"),
    ] {
        db.store
            .import_file(kind, &fixture(file), &ImportOptions::default(), &mut |_| {})
            .await
            .unwrap_or_else(|e| panic!("importing {file}: {e}"));
    }
    db
}

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn rates() -> Rates {
    let eur = Currency::parse("EUR").unwrap();
    let gbp = Currency::parse("GBP").unwrap();
    Rates::new(Currency::USD).with(eur, 1.08).with(gbp, 1.27)
}

const SETTINGS: Settings = Settings {
    gross_margin: 0.8,
    cs_cost_monthly: Some(1000.0),
};

/// The path `tenure metrics` takes: bulk load, stream events, compute.
async fn dataset_and_usage(
    store: &Store,
    period: Period,
    ends: &[Date],
) -> (Dataset, tenure_core::metrics::Usage) {
    let load = store
        .load_metrics_input(Some(LoadRange {
            from: period.from(),
            to: period.to(),
        }))
        .await
        .unwrap();
    let mut acc = UsageAccumulator::new(ends);
    store
        .stream_usage(&load.account_index, &mut acc)
        .await
        .unwrap();
    (Dataset::new(load.input, &rates()).unwrap(), acc.finish())
}

fn check(json: &Value, expected: &[(&str, Option<f64>)]) {
    for (key, want) in expected {
        let got = &json[*key];
        match want {
            None => assert!(got.is_null(), "{key}: expected null, got {got}"),
            Some(w) => {
                let g = got
                    .as_f64()
                    .unwrap_or_else(|| panic!("{key}: expected {w}, got {got}"));
                assert!(
                    (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                    "{key}: expected {w}, got {g}"
                );
            }
        }
    }
}

#[tokio::test]
async fn every_metric_of_the_documented_quarter() {
    let db = imported().await;
    let q1 = Period::new(d("2025-01-01"), d("2025-03-31")).unwrap();
    let (dataset, usage) = dataset_and_usage(&db.store, q1, &[q1.to()]).await;
    let report = dataset.report(q1, &SETTINGS, Some(&usage));
    let json = serde_json::to_value(&report).unwrap();
    let arpa = 740.0 / 6.0;
    let monthly_churn = 1.0 - 0.8f64.powf(30.4375 / 90.0);
    check(
        &json,
        &[
            ("mrr_start", Some(860.0)),
            ("mrr_end", Some(740.0)),
            ("arr_end", Some(8880.0)),
            ("new_mrr", Some(130.0)),
            ("expansion_mrr", Some(50.0)),
            ("contraction_mrr", Some(100.0)),
            ("churned_mrr", Some(260.0)),
            ("reactivation_mrr", Some(60.0)),
            ("nrr", Some(610.0 / 860.0)),
            ("grr", Some(560.0 / 860.0)),
            ("revenue_churn_rate", Some(300.0 / 860.0)),
            ("logo_churn_rate", Some(0.2)),
            ("accounts_start", Some(5.0)),
            ("accounts_end", Some(6.0)),
            ("arpa", Some(arpa)),
            ("cltv", Some(arpa * 0.8 / monthly_churn)),
            ("crc", Some(1000.0 * 90.0 / 30.4375 / 4.0)),
            ("nps", Some(100.0 / 6.0)),
            ("csat", Some(0.5)),
            ("ces", Some(16.0 / 3.0)),
            ("fcr", Some(0.75)),
            ("renewal_rate", Some(2.0 / 3.0)),
            ("renewal_rate_arr", Some(0.5)),
            ("trial_conversion_rate", Some(0.5)),
            ("dau", Some(1.0)),
            ("wau", Some(2.0)),
            ("mau", Some(4.0)),
            ("stickiness", Some(5.0 / 120.0)),
            ("usage_rate", Some(3.0 / 11.0)),
            ("avg_time_on_platform_minutes", Some(16.25)),
        ],
    );
    assert_eq!(json.as_object().unwrap().len(), 31);
    assert!(
        json["time_to_value_days"].is_null(),
        "no success plans here"
    );
    // Counts are JSON integers.
    assert_eq!(json["accounts_end"], Value::from(6));

    // The ledger of the same period sums to the report's movements.
    let ledger = dataset.ledger(&LedgerQuery {
        period: Some(q1),
        ..LedgerQuery::default()
    });
    assert_eq!(ledger.len(), 7);
    assert_eq!(MovementTotals::of(&ledger), report.movements);
}

#[tokio::test]
async fn undefined_metrics_are_null_outside_the_data() {
    let db = imported().await;
    let p = Period::new(d("2020-01-01"), d("2020-01-31")).unwrap();
    let (dataset, usage) = dataset_and_usage(&db.store, p, &[p.to()]).await;
    let json = serde_json::to_value(dataset.report(p, &SETTINGS, Some(&usage))).unwrap();
    check(
        &json,
        &[
            ("mrr_start", Some(0.0)),
            ("mrr_end", Some(0.0)),
            ("nrr", None),
            ("arpa", None),
            ("cltv", None),
            ("crc", None),
            ("nps", None),
            ("fcr", None),
            ("renewal_rate", None),
            ("mau", Some(0.0)),
            ("stickiness", None),
        ],
    );
}

#[tokio::test]
async fn a_monthly_series_chains_and_adds_up_to_the_quarter() {
    let db = imported().await;
    let q1 = Period::new(d("2025-01-01"), d("2025-03-31")).unwrap();
    let months = q1.split(Interval::Month);
    let ends: Vec<Date> = months.iter().map(|p| p.to()).collect();
    let (dataset, usage) = dataset_and_usage(&db.store, q1, &ends).await;
    let series = dataset.series(q1, Interval::Month, &SETTINGS, Some(&usage));
    let json = serde_json::to_value(&series).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["from"], "2025-01-01");
    assert_eq!(rows[2]["to"], "2025-03-31");
    // January: a5 new 80, a3 expansion 50, a6 churn 60.
    check(
        &rows[0],
        &[
            ("mrr_start", Some(860.0)),
            ("new_mrr", Some(80.0)),
            ("expansion_mrr", Some(50.0)),
            ("churned_mrr", Some(60.0)),
            ("mrr_end", Some(930.0)),
        ],
    );
    // February: a6 reactivation 60, a2 churn 200, a7 new 50.
    check(
        &rows[1],
        &[
            ("mrr_start", Some(930.0)),
            ("reactivation_mrr", Some(60.0)),
            ("churned_mrr", Some(200.0)),
            ("new_mrr", Some(50.0)),
            ("mrr_end", Some(840.0)),
        ],
    );
    check(
        &rows[2],
        &[
            ("mrr_start", Some(840.0)),
            ("contraction_mrr", Some(100.0)),
            ("mrr_end", Some(740.0)),
            ("mau", Some(4.0)),
            ("dau", Some(1.0)),
        ],
    );
    let mut sum = MovementTotals::default();
    for r in &series.reports {
        sum.new += r.movements.new;
        sum.expansion += r.movements.expansion;
        sum.contraction += r.movements.contraction;
        sum.churned += r.movements.churned;
        sum.reactivation += r.movements.reactivation;
    }
    assert_eq!(sum, dataset.report(q1, &SETTINGS, None).movements);
}

#[tokio::test]
async fn the_loader_reads_only_records_of_the_range() {
    let db = imported().await;
    let load = db
        .store
        .load_metrics_input(Some(LoadRange {
            from: d("2025-01-01"),
            to: d("2025-03-31"),
        }))
        .await
        .unwrap();
    assert_eq!(load.input.accounts.len(), 9);
    assert_eq!(load.input.subscriptions.len(), 10);
    // r03, r07, r08 and r15 are outside Q1; so are t6 and t7.
    assert_eq!(load.input.responses.len(), 14);
    assert_eq!(load.input.tickets.len(), 5);
    let all = db.store.load_metrics_input(None).await.unwrap();
    assert_eq!(all.input.subscriptions.len(), 10);
    assert!(all.input.responses.is_empty() && all.input.tickets.is_empty());
    let every = db
        .store
        .load_metrics_input(Some(LoadRange::ALL))
        .await
        .unwrap();
    assert_eq!(
        (every.input.responses.len(), every.input.tickets.len()),
        (18, 7)
    );

    // Only events in the windows are read: the window ending on 2025-03-31
    // starts on 2025-03-02, so u3's event a minute earlier and u5's are not.
    let mut acc = UsageAccumulator::new(&[d("2025-03-31")]);
    let n = db
        .store
        .stream_usage(&load.account_index, &mut acc)
        .await
        .unwrap();
    assert_eq!(n, 10);
}

#[tokio::test]
async fn a_currency_without_a_rate_is_an_error_naming_it() {
    let db = imported().await;
    let load = db.store.load_metrics_input(None).await.unwrap();
    let eur = Currency::parse("EUR").unwrap();
    let err = Dataset::new(load.input, &Rates::new(Currency::USD).with(eur, 1.08)).unwrap_err();
    assert!(err.to_string().contains("GBP"), "{err}");
}

#[tokio::test]
async fn time_to_value_reads_the_first_milestone_done() {
    use tenure_core::target::plans::{MilestoneStatus, PlanStatus};
    use tenure_store::api::Scope;
    use tenure_store::target::{Milestone, Plan};
    let db = imported().await;
    let store = &db.store;
    // a1 pays from 2024-06-01; its first milestone is done on 2025-02-15.
    let plan = Plan {
        id: "p1".into(),
        account_id: "a1".into(),
        name: "Plan".into(),
        status: PlanStatus::Active,
        started_on: d("2025-01-01"),
        closed_on: None,
        templates: Vec::new(),
    };
    store.create_plan(&plan, &Scope::All, 0).await.unwrap();
    for (id, due) in [("m1", "2025-02-20"), ("m2", "2025-03-20")] {
        let m = Milestone {
            id: id.into(),
            plan_id: "p1".into(),
            account_id: "a1".into(),
            name: id.into(),
            due_on: d(due),
            owner_role: "csm".into(),
            owner_email: None,
            status: MilestoneStatus::Open,
            done_on: None,
            template: None,
            position: 0,
        };
        store.add_milestone(&m, None, &Scope::All).await.unwrap();
    }
    store
        .set_milestone_outcomes(&[
            ("m1".into(), MilestoneStatus::Done, Some(d("2025-02-15"))),
            ("m2".into(), MilestoneStatus::Done, Some(d("2025-03-10"))),
        ])
        .await
        .unwrap();
    let q1 = Period::new(d("2025-01-01"), d("2025-03-31")).unwrap();
    let load = store
        .load_metrics_input(Some(LoadRange {
            from: q1.from(),
            to: q1.to(),
        }))
        .await
        .unwrap();
    let dataset = Dataset::new(load.input, &rates()).unwrap();
    let ttv = |p: Period| {
        dataset
            .report(p, &SETTINGS, None)
            .value(tenure_core::metrics::Metric::TimeToValueDays)
            .value
    };
    // 2024-06-01 to 2025-02-15: 259 days; the second milestone does not count.
    assert_eq!(ttv(q1), Some(259.0));
    assert_eq!(
        ttv(Period::new(d("2025-03-01"), d("2025-03-31")).unwrap()),
        None
    );
}
