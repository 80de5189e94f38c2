//! `/api/v1/playbooks`: the default playbooks, a dry run that explains who
//! would enter (within the caller's scope) and acts on nothing, and the
//! history of firings with their trace.

use axum::http::StatusCode;
use serde_json::json;
use tenure_core::config::Config;
use tenure_store::auth::Role;

use crate::api::body;
use crate::common::{App, assert_error};

#[tokio::test]
async fn playbooks_dry_run_and_history_through_the_api() {
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
                         "start_date": "2025-01-01"});
        assert_eq!(
            app.post("/api/v1/subscriptions", &admin, sub).await.status,
            StatusCode::CREATED
        );
        // Answered three days ago: the default playbook wants a fresh answer.
        let answered = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(72);
        let answer = json!({"id": format!("r-{id}"), "account_id": id, "kind": "nps", "score": 3,
                            "responded_at": answered.to_string()});
        let r = app.post("/api/v1/survey_responses", &admin, answer).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = app.get("/api/v1/playbooks", &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    let names: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Detractor answer"), "{names:?}");

    // "own" pays 1,000 (growth, low touch) and answered 3: a detractor.
    // "theirs" is scale (tech touch), outside the audience.
    let csm = app.key(Role::Csm).await;
    let r = app
        .get("/api/v1/playbooks/Detractor%20answer/dry-run", &csm)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let accounts = r.body["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1, "{}", r.body);
    assert_eq!(accounts[0]["account_id"], "own");
    assert_eq!(accounts[0]["would_enrol"], true);
    assert!(
        accounts[0]["inputs"]
            .as_array()
            .unwrap()
            .contains(&json!({"field": "nps", "value": "3"}))
    );
    assert_error(
        &app.get("/api/v1/playbooks/Nope/dry-run", &csm).await,
        404,
        "not_found",
    );
    assert_error(
        &app.get(
            "/api/v1/playbooks/Detractor%20answer/dry-run?as_of=soon",
            &csm,
        )
        .await,
        400,
        "bad_request",
    );
    // Acting on nothing.
    let r = app.get("/api/v1/playbooks/history", &admin).await;
    assert_eq!(r.body.as_array().unwrap().len(), 0);

    // The job runs the playbooks: the history shows the firing and why.
    let config = Config::default();
    let day = tenure_app::clock::today();
    let engage = tenure_app::engage::evaluate(&app.db.store, &config, day)
        .await
        .unwrap();
    let out = tenure_app::plays::run(&app.db.store, &config, &engage)
        .await
        .unwrap();
    assert!(out.enrolled >= 1, "{out:?}");
    let r = app
        .get(
            "/api/v1/playbooks/history?playbook=Detractor%20answer",
            &csm,
        )
        .await;
    let h = r.body.as_array().unwrap();
    assert_eq!(h.len(), 1, "{}", r.body);
    assert_eq!(h[0]["account_id"], "own");
    // The trace holds the trigger as configured.
    let config = tenure_core::config::Config::default();
    let detractor = config
        .playbooks
        .iter()
        .find(|p| p.name == "Detractor answer")
        .unwrap();
    assert_eq!(h[0]["trigger"], detractor.trigger.source());
    assert!(
        h[0]["inputs"]
            .as_array()
            .unwrap()
            .contains(&json!({"field": "days_since_nps", "value": "3"})),
        "{}",
        r.body
    );
    assert_eq!(h[0]["actions"][0]["result"], "done");
    // A CSM sees only their own accounts' firings.
    let r = app
        .get("/api/v1/playbooks/history?account_id=theirs", &csm)
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 0);
}
