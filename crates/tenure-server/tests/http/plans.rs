//! `/api/v1/plans` with goals, milestones and proven value, and
//! `/api/v1/time-to-value`: a plan made and worked through the API by a
//! CSM, its execution and progress, refused input named by field, roles,
//! and a CSM kept to their own portfolio.

use axum::http::{Method, StatusCode};
use serde_json::json;
use tenure_core::model::{add_days, day_number};
use tenure_store::auth::Role;

use crate::api::body;
use crate::common::{App, assert_error};

fn today() -> jiff::civil::Date {
    tenure_app::clock::today()
}

/// `own` (csm@example.com) and `theirs` (other@example.com), both paying
/// since 2025-01-01, `own` with 8 seats.
async fn app_with_accounts() -> (App, String) {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    for (id, csm) in [("own", "csm@example.com"), ("theirs", "other@example.com")] {
        let r = app
            .post("/api/v1/accounts", &admin, body("accounts", id, csm))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let sub = json!({"id": format!("s-{id}"), "account_id": id, "mrr": "500", "currency": "USD",
                         "seats": 8, "start_date": "2025-01-01"});
        let r = app.post("/api/v1/subscriptions", &admin, sub).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    (app, admin)
}

#[tokio::test]
async fn a_csm_builds_and_works_a_plan_through_the_api() {
    let (app, admin) = app_with_accounts().await;
    let csm = app.key(Role::Csm).await;
    let r = app
        .post(
            "/api/v1/plans",
            &csm,
            json!({"account_id": "own", "name": "Rollout"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let plan = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["csm_email"], "csm@example.com");
    // Another portfolio's account is not found for this CSM.
    let r = app
        .post(
            "/api/v1/plans",
            &csm,
            json!({"account_id": "theirs", "name": "X"}),
        )
        .await;
    assert_error(&r, 404, "not_found");

    // Goals: one measured from seats, one set by hand.
    let path = format!("/api/v1/plans/{plan}/goals");
    let r = app
        .post(
            &path,
            &csm,
            json!({"name": "Seats", "metric": "seats", "target": 10}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(
        r.body["goals"][0]["value"].is_null(),
        "not measured yet: {}",
        r.body
    );
    let measured = r.body["goals"][0]["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            &path,
            &csm,
            json!({"name": "Users", "metric": "mau", "target": 10}),
        )
        .await;
    assert_error(&r, 422, "invalid");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("metric: unknown metric")
    );
    let r = app
        .post(
            &path,
            &csm,
            json!({"name": "Sponsor", "target": 1, "colour": "red"}),
        )
        .await;
    assert_error(&r, 422, "invalid");
    let r = app
        .post(&path, &csm, json!({"name": "Sponsor", "target": 1}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let manual = r.body["goals"][1]["id"].as_str().unwrap().to_string();
    let r = app
        .send(
            Method::PATCH,
            &format!("/api/v1/goals/{measured}"),
            Some(&csm),
            Some(json!({"value": 3})),
        )
        .await;
    assert_error(&r, 422, "invalid");
    let r = app
        .send(
            Method::PATCH,
            &format!("/api/v1/goals/{manual}"),
            Some(&csm),
            Some(json!({"value": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);

    // A milestone due five days ago, done today: late.
    let due = add_days(today(), -5);
    let r = app
        .post(
            &format!("/api/v1/plans/{plan}/milestones"),
            &csm,
            json!({"name": "Kick-off", "due_on": due.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let m = &r.body["milestones"][0];
    assert_eq!(
        (m["owner_role"].as_str(), m["owner_email"].as_str()),
        (Some("csm"), Some("csm@example.com"))
    );
    assert_eq!(m["standing"], "overdue");
    let milestone = m["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            &format!("/api/v1/plans/{plan}/milestones"),
            &csm,
            json!({"name": "X", "due_on": "2025-02-30"}),
        )
        .await;
    assert_error(&r, 422, "invalid");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("due_on: ")
    );
    let r = app
        .send(
            Method::PATCH,
            &format!("/api/v1/milestones/{milestone}"),
            Some(&csm),
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app
        .post(
            &format!("/api/v1/plans/{plan}/proven-value"),
            &csm,
            json!({"title": "Reports in minutes", "evidence": "https://example.com/x", "confirmed": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let r = app.get(&format!("/api/v1/plans/{plan}"), &csm).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert_eq!(
        b["execution"],
        json!({"due": 1, "on_time": 0, "late": 1, "missed": 0, "rate": 0.0})
    );
    assert_eq!(b["milestones"][0]["standing"], "done");
    assert_eq!(b["goals"][1]["met"], true);
    assert_eq!(b["goals"][1]["progress"], 1.0);
    assert_eq!(b["proven_value"][0]["confirmed"], true);
    assert!(b["next_milestone"].is_null());
    // Its task was completed with it.
    let tasks = app.db.store.tasks(&Default::default()).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].status.as_str(), "done");

    // Time to value: first MRR 2025-01-01, first milestone done today.
    let r = app.get("/api/v1/time-to-value", &csm).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let accounts = r.body["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1, "only the CSM's own: {}", r.body);
    let days = i64::from(day_number(today()) - day_number("2025-01-01".parse().unwrap()));
    assert_eq!(accounts[0]["days"], days);
    assert_eq!(r.body["median_days"], days as f64);
    let r = app.get("/api/v1/time-to-value?as_of=yesterday", &csm).await;
    assert_error(&r, 400, "bad_request");

    // The admin's plan for the other portfolio: invisible to this CSM.
    let r = app
        .post(
            "/api/v1/plans",
            &admin,
            json!({"account_id": "theirs", "name": "Theirs"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let theirs = r.body["id"].as_str().unwrap().to_string();
    assert_error(
        &app.get(&format!("/api/v1/plans/{theirs}"), &csm).await,
        404,
        "not_found",
    );
    let r = app
        .send(
            Method::PATCH,
            &format!("/api/v1/plans/{theirs}"),
            Some(&csm),
            Some(json!({"status": "cancelled"})),
        )
        .await;
    assert_error(&r, 404, "not_found");
    let r = app
        .post(
            &format!("/api/v1/plans/{theirs}/goals"),
            &csm,
            json!({"name": "G", "target": 1}),
        )
        .await;
    assert_error(&r, 404, "not_found");
    let r = app.get("/api/v1/plans", &csm).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    let r = app.get("/api/v1/plans", &admin).await;
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    let r = app.get("/api/v1/plans?status=finished", &admin).await;
    assert_error(&r, 400, "bad_request");

    // The viewer sees only the shared views and account cards
    // (docs/CRM.md): it neither reads nor writes plans.
    let viewer = app.key(Role::Viewer).await;
    assert_error(
        &app.get(&format!("/api/v1/plans/{theirs}"), &viewer).await,
        403,
        "forbidden",
    );
    let r = app
        .send(
            Method::PATCH,
            &format!("/api/v1/plans/{theirs}"),
            Some(&viewer),
            Some(json!({"status": "cancelled"})),
        )
        .await;
    assert_error(&r, 403, "forbidden");
    // Closing the plan.
    let r = app
        .send(
            Method::PATCH,
            &format!("/api/v1/plans/{theirs}"),
            Some(&admin),
            Some(json!({"status": "completed"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["closed_on"], today().to_string());
    let r = app.get("/api/v1/plans?status=active", &admin).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
}
