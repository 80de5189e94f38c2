//! `/api/v1/churn/predictions` and `/api/v1/accounts/{id}/churn`: stored
//! predictions read back for the latest or a given day, what a CSM sees
//! (their own accounts; another's account is 404), an unknown account 404
//! and a bad day 400 naming the parameter.

use axum::http::StatusCode;
use serde_json::{Value, json};
use tenure_store::auth::Role;
use tenure_store::churn::StoredPrediction;

use crate::common::{App, assert_error};

const OWN: &str = "csm@example.com";
const OTHER: &str = "other@example.com";

fn prediction(day: &str, account: &str, probability: f64, band: &str) -> StoredPrediction {
    StoredPrediction {
        day: day.parse().unwrap(),
        account_id: account.into(),
        model_version: 1,
        probability,
        band: band.into(),
        reasons: vec![("messages sent fell 60 % in 28 days".into(), 0.8)],
    }
}

/// `own` (csm@) and `theirs` (other@); predictions on 06-01 (both) and
/// 06-02 (both, `own` riskier).
async fn app() -> (App, String) {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    for (id, csm) in [("own", OWN), ("theirs", OTHER)] {
        let r = app
            .post(
                "/api/v1/accounts",
                &admin,
                json!({"id": id, "name": format!("Name {id}"), "csm_email": csm}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let store = &app.db.store;
    store
        .save_churn_predictions(
            "2025-06-01".parse().unwrap(),
            &[
                prediction("2025-06-01", "own", 0.1, "green"),
                prediction("2025-06-01", "theirs", 0.2, "yellow"),
            ],
        )
        .await
        .unwrap();
    store
        .save_churn_predictions(
            "2025-06-02".parse().unwrap(),
            &[
                prediction("2025-06-02", "own", 0.45, "red"),
                prediction("2025-06-02", "theirs", 0.25, "yellow"),
            ],
        )
        .await
        .unwrap();
    (app, admin)
}

fn ids(body: &Value) -> Vec<&str> {
    body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn predictions_of_the_latest_or_a_given_day_riskiest_first() {
    let (app, admin) = app().await;
    let r = app.get("/api/v1/churn/predictions", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["day"], "2025-06-02");
    assert_eq!(ids(&r.body), ["own", "theirs"]);
    let top = &r.body["accounts"][0];
    assert_eq!(top["name"], "Name own");
    assert_eq!(top["probability"], 0.45);
    assert_eq!(top["band"], "red");
    assert_eq!(top["model_version"], 1);
    assert_eq!(
        top["reasons"][0]["reason"],
        "messages sent fell 60 % in 28 days"
    );
    let r = app
        .get("/api/v1/churn/predictions?day=2025-06-01", &admin)
        .await;
    assert_eq!(r.body["day"], "2025-06-01");
    assert_eq!(ids(&r.body), ["theirs", "own"]);
    // A day without predictions: that day, empty.
    let r = app
        .get("/api/v1/churn/predictions?day=2025-05-01", &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (r.body["day"].as_str(), ids(&r.body).len()),
        (Some("2025-05-01"), 0)
    );
    let r = app
        .get("/api/v1/churn/predictions?day=2025-13-01", &admin)
        .await;
    assert_error(&r, 400, "bad_request");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("day:")
    );
}

#[tokio::test]
async fn a_csm_sees_their_own_accounts_predictions_only() {
    let (app, _) = app().await;
    for role in [Role::Admin, Role::Leader] {
        let key = app.key(role).await;
        let r = app.get("/api/v1/churn/predictions", &key).await;
        assert_eq!(r.status, StatusCode::OK, "{role:?}: {}", r.body);
        assert_eq!(ids(&r.body).len(), 2);
    }
    // A viewer sees only the shared views and account cards (docs/CRM.md).
    let viewer = app.key(Role::Viewer).await;
    assert_error(
        &app.get("/api/v1/churn/predictions", &viewer).await,
        403,
        "forbidden",
    );
    let csm = app.key(Role::Csm).await;
    let r = app.get("/api/v1/churn/predictions", &csm).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(ids(&r.body), ["own"]);
    let r = app.get("/api/v1/accounts/own/churn", &csm).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_error(
        &app.get("/api/v1/accounts/theirs/churn", &csm).await,
        404,
        "not_found",
    );
    let r = app.get("/api/v1/churn/predictions", "tnr_not_a_key").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // An ingest key writes events; it reads nothing.
    let ingest = app.ingest_key().await;
    for path in ["/api/v1/churn/predictions", "/api/v1/accounts/own/churn"] {
        assert_eq!(
            app.get(path, &ingest).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_accounts_latest_prediction_and_history() {
    let (app, admin) = app().await;
    let r = app.get("/api/v1/accounts/own/churn", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert_eq!(b["account_id"], "own");
    // No model stored in this test: said as null.
    assert_eq!(b["model"], Value::Null);
    assert_eq!(b["latest"]["day"], "2025-06-02");
    assert_eq!(b["latest"]["probability"], 0.45);
    let days: Vec<&str> = b["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["day"].as_str().unwrap())
        .collect();
    assert_eq!(days, ["2025-06-02", "2025-06-01"]);
    assert_error(
        &app.get("/api/v1/accounts/nobody/churn", &admin).await,
        404,
        "not_found",
    );
    // An account without predictions: nothing, not an error.
    let r = app
        .post(
            "/api/v1/accounts",
            &admin,
            json!({"id": "new", "name": "New"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // With a model stored: its version and horizon.
    let model = tenure_core::churn::ChurnModel {
        scaling: tenure_core::churn::Scaling { columns: vec![] },
        intercept: 0.0,
        coefficients: vec![],
        bands: tenure_core::churn::ModelBands {
            red_from: 0.5,
            yellow_from: 0.2,
        },
    };
    let day: jiff::civil::Date = "2025-01-01".parse().unwrap();
    app.db
        .store
        .save_churn_model(&tenure_store::churn::NewChurnModel {
            trained_at: 0,
            horizon_days: 60,
            train_from: day,
            train_to: day,
            test_from: day,
            test_to: day,
            health_version: "v",
            features: &[],
            event_names: &[],
            model: &model,
            metrics: &json!({}),
        })
        .await
        .unwrap();
    let r = app.get("/api/v1/accounts/new/churn", &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["model"], json!({"version": 1, "horizon_days": 60}));
    assert_eq!(
        (r.body["latest"].clone(), r.body["history"].clone()),
        (Value::Null, json!([]))
    );
}
