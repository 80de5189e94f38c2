//! `/api/v1/playbooks/{name}/backtest`: who would have entered a playbook
//! on past days and how many of them stopped paying within 90 days, within
//! the caller's scope, acting on nothing; 404 for an unknown playbook, 400
//! for a bad window; in the OpenAPI document.

use axum::http::{Method, StatusCode};
use serde_json::json;
use tenure_store::auth::Role;

use crate::api::body;
use crate::common::{App, assert_error};

const BACKTEST: &str =
    "/api/v1/playbooks/Detractor%20answer/backtest?from=2025-01-06&to=2025-03-31&every=21";

#[tokio::test]
async fn a_backtest_through_the_api() {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    // "own" (the CSM's) and "theirs" pay 1,000 (growth, low touch) and
    // answered 3 on 2025-01-02; "own" stops paying on 2025-04-01. Two
    // detractors pay 100 (scale, tech touch: outside the audience).
    for (id, csm, mrr, end) in [
        ("own", "csm@example.com", "1000", Some("2025-04-01")),
        ("theirs", "other@example.com", "1000", None),
        ("small1", "other@example.com", "100", None),
        ("small2", "other@example.com", "100", None),
    ] {
        let r = app
            .post("/api/v1/accounts", &admin, body("accounts", id, csm))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let sub = json!({"id": format!("s-{id}"), "account_id": id, "mrr": mrr, "currency": "USD",
                         "start_date": "2024-06-01", "end_date": end});
        let r = app.post("/api/v1/subscriptions", &admin, sub).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let answer = json!({"id": format!("r-{id}"), "account_id": id, "kind": "nps", "score": 3,
                            "responded_at": "2025-01-02T10:00:00Z"});
        let r = app.post("/api/v1/survey_responses", &admin, answer).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }

    let r = app.get(BACKTEST, &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert_eq!(b["playbook"]["name"], "Detractor answer");
    assert_eq!(
        (b["from"].as_str(), b["to"].as_str()),
        (Some("2025-01-06"), Some("2025-03-31"))
    );
    assert_eq!(b["every_days"], 21);
    assert_eq!(b["horizon_days"], 90);
    let t = &b["totals"];
    assert_eq!(t["days"], 5);
    // Both enter on 2025-01-06, once in 90 days; "own" churned.
    assert_eq!(
        (
            t["entries"].as_u64(),
            t["judged"].as_u64(),
            t["churned"].as_u64()
        ),
        (Some(2), Some(2), Some(1)),
        "{b}"
    );
    assert_eq!(t["precision"], 0.5);
    assert_eq!(t["arr_churned"], 12000.0);
    assert_eq!(b["churns"], 1);
    assert_eq!(b["caught"], 1);
    assert_eq!(b["months"][0]["month"], "2025-01");
    assert_eq!(b["entries"][0]["day"], "2025-01-06");

    // A CSM's audience is their own accounts.
    let csm = app.key(Role::Csm).await;
    let r = app.get(BACKTEST, &csm).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let entries = r.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{}", r.body);
    assert_eq!(entries[0]["account_id"], "own");
    assert_eq!(entries[0]["churned"], true);
    assert_eq!(r.body["totals"]["precision"], 1.0);

    // Acting on nothing.
    let r = app.get("/api/v1/playbooks/history", &admin).await;
    assert_eq!(r.body.as_array().unwrap().len(), 0);

    // Mistakes.
    assert_error(
        &app.get("/api/v1/playbooks/Nope/backtest", &csm).await,
        404,
        "not_found",
    );
    for bad in [
        "from=soon",
        "every=often",
        "every=0",
        "from=2025-03-01&to=2025-02-01",
        "to=2999-01-01",
        "from=2000-01-01&every=1",
    ] {
        let r = app
            .get(
                &format!("/api/v1/playbooks/Detractor%20answer/backtest?{bad}"),
                &csm,
            )
            .await;
        assert_error(&r, 400, "bad_request");
    }
    let r = app
        .send(Method::GET, "/api/v1/playbooks/Nope/backtest", None, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // In the OpenAPI document.
    let doc = tenure_server::openapi::document();
    assert!(
        doc.paths
            .paths
            .contains_key("/api/v1/playbooks/{name}/backtest")
    );
}
