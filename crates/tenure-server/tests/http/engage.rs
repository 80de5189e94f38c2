//! `/api/v1/segments`, `/journey`, `/cadence`, `/accounts/{id}/engage` and
//! logging an engagement: figures worked by hand on two accounts with 100
//! days of recorded history, the caller's scope, and the shared rules.

use axum::http::StatusCode;
use serde_json::json;
use tenure_core::config::Config;
use tenure_core::model::add_days;
use tenure_store::auth::Role;

use crate::api::body;
use crate::common::{App, assert_error};

fn today() -> jiff::civil::Date {
    tenure_app::clock::today()
}

/// `own` (csm@example.com) pays 1,000 a month and `theirs`
/// (other@example.com) 100, both since 2025: both in adoption; `own` is in
/// Growth (low touch: an email every 90 days), `theirs` in Scale (tech
/// touch, no policy). Stages and segments recorded for the last 100 days.
async fn app_with_history() -> (App, String) {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    for (id, csm, mrr) in [
        ("own", "csm@example.com", "1000"),
        ("theirs", "other@example.com", "100"),
    ] {
        let r = app
            .post("/api/v1/accounts", &admin, body("accounts", id, csm))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let sub = json!({"id": format!("s-{id}"), "account_id": id, "mrr": mrr, "currency": "USD",
                         "seats": 5, "start_date": "2025-01-01"});
        let r = app.post("/api/v1/subscriptions", &admin, sub).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let config = Config::default();
    tenure_app::engage::rebuild(
        &app.db.store,
        &config,
        add_days(today(), -100),
        today(),
        &tenure_app::health::Quiet,
    )
    .await
    .unwrap();
    (app, admin)
}

#[tokio::test]
async fn segments_journey_and_cadence_worked_by_hand_within_the_callers_scope() {
    let (app, admin) = app_with_history().await;
    let r = app.get("/api/v1/segments", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let seg: Vec<(String, u64, f64)> = r.body["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["segment"].as_str().unwrap().to_string(),
                s["accounts"].as_u64().unwrap(),
                s["arr"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seg,
        [
            ("Strategic".to_string(), 0, 0.0),
            ("Growth".to_string(), 1, 12_000.0),
            ("Scale".to_string(), 1, 1_200.0)
        ]
    );
    assert_eq!(r.body["from"], add_days(today(), -89).to_string());

    let r = app.get("/api/v1/journey", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let adoption = &r.body["stages"][1];
    assert_eq!(
        (&adoption["stage"], &adoption["accounts"]),
        (&json!("adoption"), &json!(2))
    );
    assert_eq!(adoption["median_days_in_stage"], 100.0);

    // Under the 90-day email policy since 100 days ago, never emailed: due
    // 10 days ago. Over the 90-day period, on time its first 80 days.
    let r = app.get("/api/v1/cadence", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["compliance"]["on_time_days"], 80);
    assert_eq!(r.body["compliance"]["days"], 90);
    let overdue = r.body["overdue"].as_array().unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(
        (
            &overdue[0]["account_id"],
            &overdue[0]["kind"],
            &overdue[0]["overdue_days"]
        ),
        (&json!("own"), &json!("email"), &json!(10))
    );
    assert_eq!(r.body["by_csm"][0]["key"], "csm@example.com");

    // A leader may look at one CSM; a CSM always sees their own.
    let r = app
        .get("/api/v1/cadence?csm=other@example.com", &admin)
        .await;
    assert_eq!(r.body["overdue"].as_array().unwrap().len(), 0);
    let csm = app.key(Role::Csm).await;
    let r = app.get("/api/v1/cadence?csm=other@example.com", &csm).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["overdue"][0]["account_id"], "own");
    let r = app.get("/api/v1/segments", &csm).await;
    assert_eq!(r.body["accounts"], 1);

    // An account's stage history and what it owes.
    let r = app.get("/api/v1/accounts/own/engage", &csm).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (&r.body["stage"], &r.body["segment"], &r.body["tier"]),
        (&json!("adoption"), &json!("Growth"), &json!("low"))
    );
    assert_eq!(r.body["stage_since"], add_days(today(), -100).to_string());
    assert_eq!(r.body["required"][0]["overdue_days"], 10);
    assert_error(
        &app.get("/api/v1/accounts/theirs/engage", &csm).await,
        404,
        "not_found",
    );

    // Bad dates name the parameter.
    let r = app.get("/api/v1/journey?as_of=2025-13-01", &admin).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("as_of")
    );
    let r = app
        .send(axum::http::Method::GET, "/api/v1/cadence", None, None)
        .await;
    assert_error(&r, 401, "unauthorized");
}

#[tokio::test]
async fn an_engagement_logged_through_the_api_follows_the_rules_and_counts_at_once() {
    let (app, admin) = app_with_history().await;
    let csm = app.key(Role::Csm).await;
    let path = "/api/v1/accounts/own/engagements";
    let r = app.post(path, &csm, json!({"kind": "Email"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (&r.body["kind"], &r.body["csm_email"]),
        (&json!("email"), &json!("csm@example.com"))
    );
    let r = app.get("/api/v1/cadence", &admin).await;
    assert_eq!(r.body["overdue"].as_array().unwrap().len(), 0, "{}", r.body);

    let tomorrow = add_days(today(), 1).to_string();
    let r = app
        .post(path, &csm, json!({"kind": "party", "date": tomorrow}))
        .await;
    assert_error(&r, 422, "invalid");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("kind:") && message.contains("date:"),
        "{message}"
    );
    let r = app
        .post(path, &csm, json!({"kind": "email", "extra": 1}))
        .await;
    assert_eq!(r.status.as_u16() / 100, 4, "{}", r.body);
    assert_error(
        &app.post(
            "/api/v1/accounts/theirs/engagements",
            &csm,
            json!({"kind": "email"}),
        )
        .await,
        404,
        "not_found",
    );
    let viewer = app.key(Role::Viewer).await;
    assert_error(
        &app.post(path, &viewer, json!({"kind": "email"})).await,
        403,
        "forbidden",
    );
}
