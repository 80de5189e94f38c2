//! The renewal forecast against a test database (docs/FORECAST.md), worked
//! by hand: before any prediction only the ARR renewing is given; with
//! stored predictions the expected ARR renewed per window, a renewal past
//! the model's horizon at the renewal rate of the last year, a CSM's own
//! accounts with their own fallback, and the biggest renewals at risk with
//! the model's reason. Runs on SQLite, and on PostgreSQL with
//! TEST_DATABASE_URL.

use jiff::civil::Date;
use serde_json::json;
use tenure_app::forecast::renewals;
use tenure_core::churn::{ChurnModel, ModelBands, Scaling};
use tenure_core::config::Config;
use tenure_core::forecast::{Basis, FallbackSource};
use tenure_core::health::Band;
use tenure_core::model::{Account, Currency, Money, Subscription};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::churn::{NewChurnModel, StoredPrediction};
use tenure_store::rows::Record;
use tenure_store::testing::test_db;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

const TODAY: &str = "2026-01-01";

/// a1 (ana) pays 500 a month, renewing 2026-01-21 (in 20 days); a2 (bob)
/// 100, renewing 2026-03-02 (60 days) after renewing on 2025-06-01; a3
/// (ana) 200, renewing 2026-05-31 (150 days); a4 (bob) stopped on its
/// renewal day 2025-07-01. In the last year two renewals fell due, one
/// renewed: a rate of 0.5.
async fn portfolio(store: &Store) {
    for (id, csm) in [
        ("a1", "ana@example.com"),
        ("a2", "bob@example.com"),
        ("a3", "ana@example.com"),
        ("a4", "bob@example.com"),
    ] {
        let mut a = Account::bare(id);
        a.name = format!("Account {id}");
        a.csm_email = Some(csm.into());
        store
            .create_record(&Record::Account(a), &Scope::All)
            .await
            .unwrap();
    }
    for (id, account, mrr, start, end, renewal) in [
        ("s1", "a1", 500, "2025-01-21", None, "2026-01-21"),
        (
            "s2-old",
            "a2",
            100,
            "2025-01-01",
            Some("2025-06-01"),
            "2025-06-01",
        ),
        ("s2", "a2", 100, "2025-06-01", None, "2026-03-02"),
        ("s3", "a3", 200, "2025-05-31", None, "2026-05-31"),
        (
            "s4",
            "a4",
            50,
            "2025-01-01",
            Some("2025-07-01"),
            "2025-07-01",
        ),
    ] {
        let sub = Subscription {
            id: id.into(),
            account_id: account.into(),
            mrr: Money::new(mrr * 100, Currency::USD),
            plan: None,
            seats: None,
            start_date: d(start),
            end_date: end.map(d),
            renewal_date: Some(d(renewal)),
        };
        store
            .create_record(&Record::Subscription(sub), &Scope::All)
            .await
            .unwrap();
    }
}

/// A 90-day model and its predictions of 2025-12-31: a1 0.5 (red), a2
/// 0.2 (yellow), a3 0.1 (green).
async fn predictions(store: &Store) {
    let model = ChurnModel {
        scaling: Scaling {
            columns: Vec::new(),
        },
        intercept: 0.0,
        coefficients: Vec::new(),
        bands: ModelBands {
            red_from: 0.4,
            yellow_from: 0.15,
        },
    };
    let version = store
        .save_churn_model(&NewChurnModel {
            trained_at: 0,
            horizon_days: 90,
            train_from: d("2024-01-01"),
            train_to: d("2024-12-01"),
            test_from: d("2025-04-01"),
            test_to: d("2025-09-01"),
            health_version: "test",
            features: &[],
            event_names: &[],
            model: &model,
            metrics: &json!({}),
        })
        .await
        .unwrap();
    let day = d("2025-12-31");
    let rows: Vec<StoredPrediction> = [
        ("a1", 0.5, "red", "Events in the last 28 days fell 60 %"),
        ("a2", 0.2, "yellow", "Latest NPS: 4 (typical 8)"),
        ("a3", 0.1, "green", "Open tickets: 3 (typical 0.4)"),
    ]
    .into_iter()
    .map(|(id, p, band, reason)| StoredPrediction {
        day,
        account_id: id.into(),
        model_version: version,
        probability: p,
        band: band.into(),
        reasons: vec![(reason.into(), 0.5)],
    })
    .collect();
    store.save_churn_predictions(day, &rows).await.unwrap();
}

#[tokio::test]
async fn the_renewal_forecast_worked_by_hand() {
    let db = test_db().await;
    let store = &db.store;
    let config = Config::default();
    portfolio(store).await;

    // No prediction stored: the ARR renewing only.
    let f = renewals(store, &config, &Scope::All, d(TODAY))
        .await
        .unwrap();
    assert_eq!(f.forecast.model, None);
    let arr: Vec<(u32, usize, i64)> = f
        .forecast
        .windows
        .iter()
        .map(|w| (w.days, w.accounts, w.arr))
        .collect();
    // ARR 6,000.00, 1,200.00 and 2,400.00 in cents; a4 no longer runs.
    assert_eq!(arr, [(30, 1, 600_000), (90, 2, 720_000), (180, 3, 960_000)]);
    assert!(f.forecast.windows.iter().all(|w| w.expected.is_none()));
    assert!(f.at_risk.is_empty());

    predictions(store).await;
    let f = renewals(store, &config, &Scope::All, d(TODAY))
        .await
        .unwrap();
    let model = f.forecast.model.unwrap();
    assert_eq!((model.day, model.horizon_days), (d("2025-12-31"), 90));
    assert_eq!(f.forecast.fallback.unwrap().rate, 0.5);
    assert_eq!(
        f.forecast.fallback.unwrap().source,
        FallbackSource::RenewalRate { due: 2 }
    );
    let renewed: Vec<i64> = f
        .forecast
        .windows
        .iter()
        .map(|w| w.expected.unwrap().renewed)
        .collect();
    // 30: 600,000 × 0.5; 90: + 120,000 × 0.8; 180: + a3's 240,000 at the
    // renewal rate 0.5, its renewal (05-31) being after the horizon's end
    // (03-31).
    assert_eq!(renewed, [300_000, 396_000, 516_000]);
    let groups: Vec<(Basis, usize, i64)> = f.forecast.windows[2]
        .groups
        .iter()
        .map(|g| (g.basis, g.accounts, g.arr))
        .collect();
    assert_eq!(
        groups,
        [
            (Basis::Model(Band::Red), 1, 600_000),
            (Basis::Model(Band::Yellow), 1, 120_000),
            (Basis::BeyondHorizon, 1, 240_000),
        ]
    );
    // At risk, where the model's probability is used: a1 300,000, a2
    // 24,000 (a3, renewing after the horizon, is not listed).
    let top: Vec<(&str, &str, Option<&str>)> = f
        .at_risk
        .iter()
        .map(|r| (r.account_id.as_str(), r.name.as_str(), r.reason.as_deref()))
        .collect();
    assert_eq!(
        top,
        [
            (
                "a1",
                "Account a1",
                Some("Events in the last 28 days fell 60 %")
            ),
            ("a2", "Account a2", Some("Latest NPS: 4 (typical 8)")),
        ]
    );
    assert_eq!(f.at_risk[0].renewal, d("2026-01-21"));
    assert_eq!(f.at_risk[0].churn, 0.5);

    // Ana's accounts: a1 and a3. None of hers fell due in the last year,
    // so the fallback is the mean P(renew) of her predicted accounts,
    // (0.5 + 0.9) ÷ 2 = 0.7: 300,000 + 240,000 × 0.7.
    let ana = Scope::Csm("Ana@example.com".into());
    let f = renewals(store, &config, &ana, d(TODAY)).await.unwrap();
    let w = &f.forecast.windows[2];
    assert_eq!((w.accounts, w.arr), (2, 840_000));
    assert_eq!(
        f.forecast.fallback.unwrap().source,
        FallbackSource::ModelMean { accounts: 2 }
    );
    assert_eq!(w.expected.unwrap().renewed, 468_000);
    assert!(f.at_risk.iter().all(|r| r.account_id != "a2"));
}
