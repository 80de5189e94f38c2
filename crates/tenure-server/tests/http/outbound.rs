//! `GET /api/v1/outbound`: the send log, for admins and leaders only.

use tenure_store::auth::Role;
use tenure_store::outbound::{Attempt, NewMessage, OutboxKind};

use crate::common::{App, assert_error};

async fn queue(app: &App, id: &str, kind: OutboxKind, target: &str, now: i64) {
    app.db
        .store
        .enqueue(
            &NewMessage {
                id: id.into(),
                kind,
                target: target.into(),
                subject: (kind == OutboxKind::Email).then(|| "Welcome".to_string()),
                body: "the body is not listed".into(),
                source: "playbook:onboarding".into(),
                account_id: None,
            },
            now,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn the_outbound_log_is_for_admins_and_leaders_with_status_attempts_and_next_retry() {
    let app = App::new().await;
    let t = 1_780_000_000_000_000;
    queue(&app, "out_a", OutboxKind::Email, "ana@customer.example", t).await;
    queue(&app, "out_b", OutboxKind::Webhook, "crm", t + 1).await;
    app.db
        .store
        .record_attempt(
            "out_b",
            &Attempt::Retry {
                at: t + 30_000_000,
                error: "HTTP 500 Internal Server Error".into(),
            },
            t + 1,
        )
        .await
        .unwrap();

    for role in [Role::Admin, Role::Leader] {
        let key = app.key(role).await;
        let r = app.get("/api/v1/outbound", &key).await;
        assert_eq!(r.status, 200, "{role:?}: {}", r.body);
        let messages = r.body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2);
        // Newest first.
        let b = &messages[0];
        assert_eq!(b["id"], "out_b");
        assert_eq!(b["kind"], "webhook");
        assert_eq!(b["target"], "crm");
        assert_eq!(b["status"], "failed");
        assert_eq!(b["attempts"], 1);
        assert_eq!(b["next_attempt_at"], "2026-05-28T20:27:10Z");
        assert_eq!(b["last_error"], "HTTP 500 Internal Server Error");
        assert_eq!(b["source"], "playbook:onboarding");
        let a = &messages[1];
        assert_eq!(
            (&a["status"], &a["subject"]),
            (&"queued".into(), &"Welcome".into())
        );
        assert!(!r.body.to_string().contains("the body is not listed"));
    }

    let admin = app.key(Role::Admin).await;
    let r = app
        .get("/api/v1/outbound?status=failed&kind=webhook", &admin)
        .await;
    assert_eq!(r.body["messages"].as_array().unwrap().len(), 1);
    let r = app
        .get("/api/v1/outbound?kind=email&status=sent", &admin)
        .await;
    assert_eq!(r.body["messages"].as_array().unwrap().len(), 0);
    let r = app.get("/api/v1/outbound?status=lost", &admin).await;
    assert_error(&r, 400, "bad_request");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("status:")
    );

    for role in [Role::Csm, Role::Viewer] {
        let key = app.key(role).await;
        assert_error(&app.get("/api/v1/outbound", &key).await, 403, "forbidden");
    }
    let r = app
        .send(axum::http::Method::GET, "/api/v1/outbound", None, None)
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn the_openapi_document_has_the_outbound_route() {
    let app = App::new().await;
    let r = app
        .send(axum::http::Method::GET, "/api/openapi.json", None, None)
        .await;
    let op = &r.body["paths"]["/api/v1/outbound"]["get"];
    assert_eq!(op["tags"][0], "outbound");
    assert!(op["responses"]["403"].is_object());
    let params: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(params, ["status", "kind", "account_id", "limit"]);
    assert!(r.body["components"]["schemas"]["OutboundLogOut"].is_object());
}
