//! `/api/v1/accounts/{id}/health...`: the score explained, the history and
//! overrides, with the rules every surface shares and the caller's scope.

use axum::http::StatusCode;
use serde_json::json;
use tenure_core::model::add_days;
use tenure_store::auth::Role;

use crate::api::body;
use crate::common::{App, assert_error};

/// An account of csm@example.com paying 100 USD since 2025 with one user
/// active today, and one of another CSM.
async fn app_with_accounts() -> (App, String) {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    for (id, csm) in [("own", "csm@example.com"), ("theirs", "other@example.com")] {
        let r = app
            .post("/api/v1/accounts", &admin, body("accounts", id, csm))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let sub = json!({"id": format!("s-{id}"), "account_id": id, "mrr": "100", "currency": "USD",
                         "seats": 5, "start_date": "2025-01-01"});
        let r = app.post("/api/v1/subscriptions", &admin, sub).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let now = jiff::Timestamp::now().to_string();
    let event = json!({"timestamp": now, "account_id": "own", "user_id": "u1", "event": "login"});
    let r = app.post("/api/v1/events", &admin, event).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (app, admin)
}

fn today() -> jiff::civil::Date {
    tenure_app::clock::today()
}

#[tokio::test]
async fn the_score_is_explained_measure_by_measure_within_the_callers_scope() {
    let (app, admin) = app_with_accounts().await;
    let r = app.get("/api/v1/accounts/own/health", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["account_id"], "own");
    assert_eq!(r.body["as_of"], today().to_string());
    assert_eq!(r.body["mrr"], 100.0);
    let measures = r.body["measures"].as_array().unwrap();
    assert!(!measures.is_empty());
    // The contributions add up to the computed score.
    let total: f64 = measures
        .iter()
        .map(|m| m["contribution"].as_f64().unwrap())
        .sum();
    let computed = r.body["computed"].as_f64().unwrap();
    assert!((total - computed).abs() < 1e-9, "{total} vs {computed}");
    assert!(["red", "yellow", "green"].contains(&r.body["band"].as_str().unwrap()));

    let csm = app.key(Role::Csm).await;
    let r = app.get("/api/v1/accounts/own/health", &csm).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for path in [
        "/api/v1/accounts/theirs/health",
        "/api/v1/accounts/theirs/health/history",
        "/api/v1/accounts/theirs/health/overrides",
        "/api/v1/accounts/nobody/health",
    ] {
        assert_error(&app.get(path, &csm).await, 404, "not_found");
    }
    let r = app
        .send(
            axum::http::Method::GET,
            "/api/v1/accounts/own/health",
            None,
            None,
        )
        .await;
    assert_error(&r, 401, "unauthorized");
}

#[tokio::test]
async fn overrides_follow_the_shared_rules_and_show_in_the_score_and_history() {
    let (app, admin) = app_with_accounts().await;
    let path = "/api/v1/accounts/own/health/overrides";
    let in_a_month = add_days(today(), 30).to_string();

    // The rules of tenure_core::health::check_override, as on the CLI and the page.
    let cases = [
        (
            json!({"score": 101, "reason": "x", "until": in_a_month}),
            "score: The score must be between 0 and 100.",
        ),
        (
            json!({"score": 50, "reason": "x", "until": add_days(today(), 400).to_string()}),
            "until: An override lasts at most a year.",
        ),
        (
            json!({"score": 50, "reason": "x".repeat(1001), "until": in_a_month}),
            "reason: Keep the reason under 1,000 characters.",
        ),
        (
            json!({"score": 50, "reason": "  ", "until": in_a_month}),
            "reason: Say why the computed score is wrong.",
        ),
    ];
    for (body, message) in cases {
        let r = app.post(path, &admin, body).await;
        assert_error(&r, 422, "invalid");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{}",
            r.body
        );
    }
    let r = app
        .post(
            path,
            &admin,
            json!({"score": 50, "reason": "x", "until": "soon"}),
        )
        .await;
    assert_error(&r, 422, "invalid");
    assert_eq!(app.get(path, &admin).await.body["items"], json!([]));

    let viewer = app.key(Role::Viewer).await;
    let ok = json!({"score": 12, "reason": "Champion left", "until": in_a_month});
    assert_error(&app.post(path, &viewer, ok.clone()).await, 403, "forbidden");

    let r = app.post(path, &admin, ok).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["score"], 12.0);
    assert_eq!(r.body["set_on"], today().to_string());
    let id = r.body["id"].clone();

    let h = app.get("/api/v1/accounts/own/health", &admin).await;
    assert_eq!(h.body["score"], 12.0);
    assert_eq!(h.body["band"], "red");
    assert_eq!(h.body["override"]["id"], id);
    assert_ne!(h.body["computed"], 12.0);
    // Setting it also stored today's snapshot, so lists show it at once.
    let hist = app.get("/api/v1/accounts/own/health/history", &admin).await;
    assert_eq!(hist.status, StatusCode::OK, "{}", hist.body);
    let last = hist.body["snapshots"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (
            last["day"].as_str(),
            last["score"].as_f64(),
            &last["override_id"]
        ),
        (Some(today().to_string().as_str()), Some(12.0), &id)
    );

    let r = app.delete(path, &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["cleared"], 1);
    let h = app.get("/api/v1/accounts/own/health", &admin).await;
    assert!(h.body["override"].is_null(), "{}", h.body);
    let list = app.get(path, &admin).await;
    assert_eq!(list.body["items"][0]["cleared_on"], today().to_string());

    let r = app
        .get("/api/v1/accounts/own/health/history?from=yesterday", &admin)
        .await;
    assert_error(&r, 400, "bad_request");
}
