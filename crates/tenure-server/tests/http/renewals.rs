//! `/api/v1/renewals/forecast` (docs/FORECAST.md) worked by hand: the ARR
//! renewing before any prediction is stored, then the expected ARR renewed
//! with its interval, by band, and the renewals at risk; a CSM sees their
//! own accounts, every other role all; no key is 401, an ingest key 403.

use axum::http::{Method, StatusCode};
use jiff::civil::Date;
use serde_json::{Value, json};
use tenure_core::churn::{ChurnModel, ModelBands, Scaling};
use tenure_core::model::add_days;
use tenure_store::auth::Role;
use tenure_store::churn::{NewChurnModel, StoredPrediction};

use crate::common::App;

fn today() -> Date {
    tenure_app::clock::today()
}

/// `own` (csm@example.com) pays 100 a month, renewing in 10 days;
/// `theirs` (other@example.com) 300, renewing in 40 days. Both started
/// 100 days ago: nothing fell due before.
async fn app() -> (App, String) {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    for (id, csm, mrr, renews) in [
        ("own", "csm@example.com", "100", 10),
        ("theirs", "other@example.com", "300", 40),
    ] {
        let r = app
            .post(
                "/api/v1/accounts",
                &admin,
                json!({"id": id, "name": format!("Name {id}"), "csm_email": csm}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let r = app
            .post(
                "/api/v1/subscriptions",
                &admin,
                json!({"id": format!("s-{id}"), "account_id": id, "mrr": mrr, "currency": "USD",
                       "start_date": add_days(today(), -100).to_string(),
                       "renewal_date": add_days(today(), renews).to_string()}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    (app, admin)
}

/// A 90-day model's predictions of today: `own` 0.25 (yellow), `theirs`
/// 0.5 (red).
async fn predict(app: &App) {
    let model = ChurnModel {
        scaling: Scaling {
            columns: Vec::new(),
        },
        intercept: 0.0,
        coefficients: Vec::new(),
        bands: ModelBands {
            red_from: 0.4,
            yellow_from: 0.1,
        },
    };
    let store = &app.db.store;
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
    let rows: Vec<StoredPrediction> = [("own", 0.25, "yellow"), ("theirs", 0.5, "red")]
        .into_iter()
        .map(|(id, p, band)| StoredPrediction {
            day: today(),
            account_id: id.into(),
            model_version: version,
            probability: p,
            band: band.into(),
            reasons: vec![(format!("{id} stopped logging in"), 1.0)],
        })
        .collect();
    store.save_churn_predictions(today(), &rows).await.unwrap();
}

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn window(body: &Value, days: u64) -> &Value {
    body["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["days"] == days)
        .unwrap_or_else(|| panic!("no {days}-day window: {body}"))
}

#[tokio::test]
async fn the_forecast_worked_by_hand() {
    let (app, admin) = app().await;
    let r = app.get("/api/v1/renewals/forecast", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert_eq!(b["as_of"], today().to_string());
    assert_eq!(b["currency"], "USD");
    assert_eq!(b["model"], Value::Null);
    let w30 = window(b, 30);
    assert_eq!(w30["from"], add_days(today(), 1).to_string());
    assert_eq!(w30["to"], add_days(today(), 30).to_string());
    assert_eq!(
        (w30["accounts"].as_u64(), w30["arr"].as_f64()),
        (Some(1), Some(1200.0))
    );
    assert_eq!(w30["expected_renewed"], Value::Null);
    assert_eq!(window(b, 90)["arr"], 4800.0);
    assert_eq!(b["at_risk"], json!([]));

    predict(&app).await;
    let r = app.get("/api/v1/renewals/forecast", &admin).await;
    let b = &r.body;
    assert_eq!(b["model"]["horizon_days"], 90);
    assert_eq!(b["model"]["predicted_on"], today().to_string());
    assert_eq!(b["confidence"], 0.9);
    // Nothing fell due in the last year: the fallback is the mean P(renew)
    // of the predicted accounts, (0.75 + 0.5) ÷ 2 (used by no one here).
    assert_eq!(b["fallback"]["source"], "model_mean");
    assert_eq!(b["fallback"]["rate"], 0.625);
    // 30 days: own, 1,200 × 0.75 = 900; all or nothing with P(nothing)
    // 25 %: the interval is 0 to 1,200.
    let w30 = window(b, 30);
    assert_eq!(w30["expected_renewed"], 900.0);
    assert_eq!(w30["at_risk"], 300.0);
    assert_eq!(
        (w30["low"].as_f64(), w30["high"].as_f64()),
        (Some(0.0), Some(1200.0))
    );
    assert_eq!(w30["interval_method"], "simulation");
    // sd = 1,200 × √(0.75 × 0.25).
    let sd = w30["std_dev"].as_f64().unwrap();
    assert!((sd - 1200.0 * 0.1875f64.sqrt()).abs() < 1e-6, "{sd}");
    // 90 days: + theirs, 3,600 × 0.5 = 1,800.
    let w90 = window(b, 90);
    assert_eq!(w90["expected_renewed"], 2700.0);
    assert_eq!(
        w90["groups"],
        json!([
            {"group": "red", "accounts": 1, "arr": 3600.0, "expected_renewed": 1800.0},
            {"group": "yellow", "accounts": 1, "arr": 1200.0, "expected_renewed": 900.0},
        ])
    );
    let at_risk: Vec<(&str, f64, &str)> = b["at_risk"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["account_id"].as_str().unwrap(),
                r["arr_at_risk"].as_f64().unwrap(),
                r["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        at_risk,
        [
            ("theirs", 1800.0, "theirs stopped logging in"),
            ("own", 300.0, "own stopped logging in")
        ]
    );
    assert_eq!(
        b["at_risk"][0]["renewal_date"],
        add_days(today(), 40).to_string()
    );
}

#[tokio::test]
async fn a_csm_sees_the_forecast_of_their_own_accounts() {
    let (app, _) = app().await;
    predict(&app).await;
    for role in [Role::Admin, Role::Leader] {
        let key = app.key(role).await;
        let r = app.get("/api/v1/renewals/forecast", &key).await;
        assert_eq!(r.status, StatusCode::OK, "{role:?}: {}", r.body);
        assert_eq!(window(&r.body, 90)["accounts"], 2);
    }
    // A viewer sees only the shared views and account cards (docs/CRM.md).
    let viewer = app.key(Role::Viewer).await;
    let r = app.get("/api/v1/renewals/forecast", &viewer).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let csm = app.key(Role::Csm).await;
    let r = app.get("/api/v1/renewals/forecast", &csm).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let w90 = window(&r.body, 90);
    assert_eq!(
        (w90["accounts"].as_u64(), w90["arr"].as_f64()),
        (Some(1), Some(1200.0))
    );
    assert_eq!(w90["expected_renewed"], 900.0);
    let ids: Vec<&str> = r.body["at_risk"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["own"]);
    // Their own fallback: own's P(renew) alone.
    assert_eq!(r.body["fallback"]["rate"], 0.75);
}

#[tokio::test]
async fn the_forecast_needs_a_user_key_and_is_documented() {
    let (app, _) = app().await;
    let r = app
        .send(Method::GET, "/api/v1/renewals/forecast", None, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let ingest = app.ingest_key().await;
    let r = app.get("/api/v1/renewals/forecast", &ingest).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let doc = serde_json::to_value(tenure_server::openapi::document()).unwrap();
    let get = &doc["paths"]["/api/v1/renewals/forecast"]["get"];
    assert!(get.is_object(), "{}", doc["paths"]);
    assert!(doc["components"]["schemas"]["ForecastOut"]["properties"]["windows"].is_object());
}
