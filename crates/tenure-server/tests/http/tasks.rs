//! `/api/v1/tasks`: *my tasks* overdue first, adding, completing (one
//! engagement logged), snoozing, editing and reassigning; a CSM kept to
//! their own portfolio (another's task is 404 on every route), the viewer
//! role read-only (403), and bad fields answered with the field named.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tenure_core::model::add_days;
use tenure_store::auth::Role;

use crate::api::body;
use crate::common::{App, Resp, assert_error};

fn today() -> jiff::civil::Date {
    tenure_app::clock::today()
}

fn day(n: i32) -> String {
    add_days(today(), n).to_string()
}

/// `own` belongs to csm@example.com (the CSM keys' user), `theirs` to
/// other@example.com. Returns the app and an admin key.
async fn app() -> (App, String) {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    for (id, csm) in [("own", "csm@example.com"), ("theirs", "other@example.com")] {
        let r = app
            .post("/api/v1/accounts", &admin, body("accounts", id, csm))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    (app, admin)
}

async fn add(app: &App, key: &str, task: Value) -> String {
    let r = app.post("/api/v1/tasks", key, task).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn titles(r: &Resp) -> Vec<(String, i64)> {
    r.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap().to_string(),
                t["overdue_days"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[track_caller]
fn assert_names(r: &Resp, status: u16, fields: &[&str]) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap_or("");
    for f in fields {
        assert!(message.contains(f), "{f} not in {message}");
    }
}

async fn patch(app: &App, path: &str, key: &str, body: Value) -> Resp {
    app.send(Method::PATCH, path, Some(key), Some(body)).await
}

#[tokio::test]
async fn tasks_are_listed_overdue_first_completed_once_and_snoozed() {
    let (app, admin) = app().await;
    let csm = app.key(Role::Csm).await;
    let call = add(
        &app,
        &admin,
        json!({"account_id": "own", "title": "Call the sponsor", "due": day(-3), "log_kind": "Call"}),
    )
    .await;
    let deck = add(
        &app,
        &csm,
        json!({"account_id": "own", "title": "Send the deck", "due": day(2), "priority": "high"}),
    )
    .await;
    add(
        &app,
        &admin,
        json!({"account_id": "theirs", "title": "Theirs", "due": day(-1)}),
    )
    .await;

    let r = app.get("/api/v1/tasks", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        titles(&r),
        [
            ("Call the sponsor".into(), 3),
            ("Theirs".into(), 1),
            ("Send the deck".into(), 0)
        ]
    );
    assert_eq!(
        (&r.body["overdue"], &r.body["status"]),
        (&json!(2), &json!("open"))
    );
    let first = &r.body["tasks"][0];
    assert_eq!(
        (
            &first["owner_email"],
            &first["account_name"],
            &first["log_kind"],
            &first["source"],
            &first["priority"]
        ),
        (
            &json!("csm@example.com"),
            &json!("Name own"),
            &json!("call"),
            &json!("manual"),
            &json!("normal")
        )
    );

    // My tasks; an admin key acts for nobody.
    let r = app.get("/api/v1/tasks?owner=me", &csm).await;
    assert_eq!(
        titles(&r),
        [("Call the sponsor".into(), 3), ("Send the deck".into(), 0)]
    );
    assert_eq!(r.body["owner"], "csm@example.com");
    let r = app.get("/api/v1/tasks?owner=me", &admin).await;
    assert_names(&r, 400, &["owner:"]);
    let r = app
        .get(
            &format!("/api/v1/tasks?owner=csm@example.com&as_of={}", day(5)),
            &admin,
        )
        .await;
    assert_eq!(
        titles(&r),
        [("Call the sponsor".into(), 8), ("Send the deck".into(), 3)]
    );

    // Completing logs one engagement of the task's kind, today.
    let r = app
        .post(&format!("/api/v1/tasks/{call}/complete"), &csm, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            &r.body["status"],
            &r.body["completed_on"],
            &r.body["overdue_days"]
        ),
        (&json!("done"), &json!(today().to_string()), &json!(0))
    );
    let engagement = r.body["engagement_id"].as_str().unwrap().to_string();
    let again = app
        .post(&format!("/api/v1/tasks/{call}/complete"), &csm, json!({}))
        .await;
    assert_error(&again, 422, "invalid");
    assert_names(&again, 422, &["status:"]);
    let logged = app.get("/api/v1/engagements?account_id=own", &admin).await;
    let items = logged.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", logged.body);
    assert_eq!(
        (&items[0]["id"], &items[0]["kind"], &items[0]["csm_email"]),
        (
            &json!(engagement),
            &json!("call"),
            &json!("csm@example.com")
        )
    );
    assert!(
        items[0]["occurred_at"]
            .as_str()
            .unwrap()
            .starts_with(&today().to_string())
    );
    let r = app.get("/api/v1/tasks?status=done", &csm).await;
    assert_eq!(titles(&r), [("Call the sponsor".into(), 0)]);

    // Snooze within a year; edit, drop and reopen through PATCH.
    let path = format!("/api/v1/tasks/{deck}");
    let r = app
        .post(&format!("{path}/snooze"), &csm, json!({"until": day(7)}))
        .await;
    assert_eq!((r.status, &r.body["due"]), (StatusCode::OK, &json!(day(7))));
    for until in [day(0), day(400)] {
        let r = app
            .post(&format!("{path}/snooze"), &csm, json!({"until": until}))
            .await;
        assert_names(&r, 422, &["until:"]);
    }
    let r = patch(
        &app,
        &path,
        &csm,
        json!({"title": "Send the new deck", "due": null, "notes": "v2", "priority": "urgent"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            &r.body["title"],
            &r.body["due"],
            &r.body["notes"],
            &r.body["priority"]
        ),
        (
            &json!("Send the new deck"),
            &Value::Null,
            &json!("v2"),
            &json!("urgent")
        )
    );
    assert!(r.body.get("warnings").is_none(), "{}", r.body);
    let r = patch(&app, &path, &csm, json!({"status": "dropped"})).await;
    assert_eq!(r.body["status"], "dropped");
    let r = patch(&app, &path, &csm, json!({"status": "open", "notes": null})).await;
    assert_eq!(
        (&r.body["status"], &r.body["notes"]),
        (&json!("open"), &Value::Null)
    );
    let r = patch(&app, &path, &csm, json!({"owner_email": "Ann@Example.com"})).await;
    assert_eq!(r.body["owner_email"], "ann@example.com");
    let r = app.get(&path, &csm).await;
    assert_eq!(r.body["title"], "Send the new deck");
}

#[tokio::test]
async fn reassigning_says_when_the_new_owner_cannot_work_the_task() {
    let (app, admin) = app().await;
    // A user exists: addresses that are not users are said to be so.
    app.db
        .store
        .create_user(
            &tenure_store::auth::NewUser {
                id: "u1".into(),
                email: "other@example.com".into(),
                name: None,
                role: Role::Csm,
                all_accounts: false,
                password_hash: "x".into(),
            },
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    let id = add(&app, &admin, json!({"account_id": "own", "title": "Call"})).await;
    let path = format!("/api/v1/tasks/{id}");
    let r = patch(
        &app,
        &path,
        &admin,
        json!({"owner_email": "stranger@example.com"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let warnings = r.body["warnings"].as_array().unwrap();
    assert!(
        warnings[0].as_str().unwrap().contains("not a Tenure user"),
        "{warnings:?}"
    );
    let r = patch(
        &app,
        &path,
        &admin,
        json!({"owner_email": "other@example.com"}),
    )
    .await;
    assert!(
        r.body["warnings"][0]
            .as_str()
            .unwrap()
            .contains("CSM of other accounts"),
        "{}",
        r.body
    );
    assert_eq!(r.body["owner_email"], "other@example.com");
}

#[tokio::test]
async fn a_csm_cannot_list_read_or_change_another_portfolios_tasks() {
    let (app, admin) = app().await;
    let csm = app.key(Role::Csm).await;
    let theirs = add(
        &app,
        &admin,
        json!({"account_id": "theirs", "title": "Theirs", "due": day(-1), "log_kind": "call"}),
    )
    .await;
    let path = format!("/api/v1/tasks/{theirs}");
    let r = app.get("/api/v1/tasks", &csm).await;
    assert_eq!(r.body["tasks"], json!([]));
    let r = app.get("/api/v1/tasks?owner=other@example.com", &csm).await;
    assert_eq!(r.body["tasks"], json!([]));
    assert_error(
        &app.get("/api/v1/tasks?account_id=theirs", &csm).await,
        404,
        "not_found",
    );
    assert_error(&app.get(&path, &csm).await, 404, "not_found");
    for (method, p, body) in [
        (Method::POST, format!("{path}/complete"), json!({})),
        (
            Method::POST,
            format!("{path}/snooze"),
            json!({"until": day(3)}),
        ),
        (
            Method::PATCH,
            path.clone(),
            json!({"owner_email": "csm@example.com"}),
        ),
        (Method::PATCH, path.clone(), json!({"status": "dropped"})),
        (Method::PATCH, path.clone(), json!({"title": "Mine now"})),
    ] {
        let r = app.send(method, &p, Some(&csm), Some(body)).await;
        assert_error(&r, 404, "not_found");
    }
    assert_error(
        &app.post(
            "/api/v1/tasks",
            &csm,
            json!({"account_id": "theirs", "title": "Sneak in"}),
        )
        .await,
        404,
        "not_found",
    );
    // Nothing changed.
    let r = app.get(&path, &admin).await;
    assert_eq!(
        (
            &r.body["title"],
            &r.body["status"],
            &r.body["owner_email"],
            &r.body["due"]
        ),
        (
            &json!("Theirs"),
            &json!("open"),
            &json!("other@example.com"),
            &json!(day(-1))
        )
    );
    let r = app
        .get("/api/v1/tasks?account_id=theirs&status=all", &admin)
        .await;
    assert_eq!(r.body["tasks"].as_array().unwrap().len(), 1);
    let r = app
        .get("/api/v1/engagements?account_id=theirs", &admin)
        .await;
    assert_eq!(r.body["items"], json!([]));
}

#[tokio::test]
async fn the_viewer_role_neither_reads_nor_changes_tasks() {
    let (app, admin) = app().await;
    let viewer = app.key(Role::Viewer).await;
    let id = add(&app, &admin, json!({"account_id": "own", "title": "Call"})).await;
    let path = format!("/api/v1/tasks/{id}");
    // A viewer sees only the shared views and account cards (docs/CRM.md).
    assert_error(&app.get("/api/v1/tasks", &viewer).await, 403, "forbidden");
    assert_error(&app.get(&path, &viewer).await, 403, "forbidden");
    for (method, p, body) in [
        (
            Method::POST,
            "/api/v1/tasks".to_string(),
            json!({"account_id": "own", "title": "x"}),
        ),
        (Method::POST, format!("{path}/complete"), json!({})),
        (
            Method::POST,
            format!("{path}/snooze"),
            json!({"until": day(3)}),
        ),
        (Method::PATCH, path.clone(), json!({"status": "dropped"})),
    ] {
        let r = app.send(method, &p, Some(&viewer), Some(body)).await;
        assert_error(&r, 403, "forbidden");
    }
    let r = app.get(&path, &admin).await;
    assert_eq!(r.body["status"], "open");
    let r = app.send(Method::GET, "/api/v1/tasks", None, None).await;
    assert_error(&r, 401, "unauthorized");
}

#[tokio::test]
async fn bad_fields_are_refused_with_the_field_named() {
    let (app, admin) = app().await;
    let post = |b: Value| {
        let app = &app;
        let admin = admin.clone();
        async move { app.post("/api/v1/tasks", &admin, b).await }
    };
    let r = post(json!({"account_id": "own", "title": "x", "due": "2025-13-01"})).await;
    assert_names(&r, 422, &["due:"]);
    let r = post(json!({"account_id": "own", "title": " ", "priority": "soon", "log_kind": "fax", "owner_email": "ann"})).await;
    assert_error(&r, 422, "invalid");
    assert_names(
        &r,
        422,
        &["title:", "priority:", "log_kind:", "owner_email:"],
    );
    let r = post(json!({"account_id": "own"})).await;
    assert_names(&r, 422, &["title"]);
    let r = post(json!({"account_id": "own", "title": "x", "colour": "red"})).await;
    assert_eq!(r.status.as_u16() / 100, 4, "{}", r.body);
    assert_names(&r, r.status.as_u16(), &["colour"]);
    assert_error(
        &post(json!({"account_id": "nope", "title": "x"})).await,
        404,
        "not_found",
    );
    // Not JSON at all.
    let r = app
        .call(
            Request::post("/api/v1/tasks")
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_error(&r, 400, "bad_request");
    // Nothing was written by any of these.
    let r = app.get("/api/v1/tasks?status=all", &admin).await;
    assert_eq!(r.body["tasks"], json!([]));

    for (query, field) in [
        ("status=bogus", "status:"),
        ("as_of=2025-02-30", "as_of:"),
        ("owner=nobody", "owner:"),
    ] {
        let r = app.get(&format!("/api/v1/tasks?{query}"), &admin).await;
        assert_error(&r, 400, "bad_request");
        assert_names(&r, 400, &[field]);
    }

    let id = add(&app, &admin, json!({"account_id": "own", "title": "Call"})).await;
    let path = format!("/api/v1/tasks/{id}");
    for (p, b, fields) in [
        (
            format!("{path}/complete"),
            json!({"log_kind": "party"}),
            vec!["log_kind:"],
        ),
        (
            format!("{path}/complete"),
            json!({"on": "tomorrow"}),
            vec!["on:"],
        ),
        (
            format!("{path}/complete"),
            json!({"on": day(1)}),
            vec!["on:"],
        ),
        (
            format!("{path}/complete"),
            json!({"notes": "x", "log": false}),
            vec!["notes:"],
        ),
        (format!("{path}/snooze"), json!({}), vec!["until"]),
        (
            format!("{path}/snooze"),
            json!({"until": "soon"}),
            vec!["until:"],
        ),
    ] {
        let r = app.post(&p, &admin, b.clone()).await;
        assert_names(&r, 422, &fields);
    }
    for (b, fields) in [
        (json!({"status": "done"}), vec!["status:", "complete"]),
        (json!({"status": "later"}), vec!["status:"]),
        (json!({"title": ""}), vec!["title:"]),
        (json!({"due": "someday"}), vec!["due:"]),
        (json!({"owner_email": "x"}), vec!["owner_email:"]),
    ] {
        let r = patch(&app, &path, &admin, b.clone()).await;
        assert_names(&r, 422, &fields);
    }
    let r = app.get(&path, &admin).await;
    assert_eq!(
        (&r.body["title"], &r.body["status"]),
        (&json!("Call"), &json!("open"))
    );
    assert_error(
        &app.get("/api/v1/tasks/nope", &admin).await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn the_openapi_document_has_the_task_routes() {
    let app = App::new().await;
    let r = app.send(Method::GET, "/api/openapi.json", None, None).await;
    let paths = r.body["paths"].as_object().unwrap();
    for (p, methods) in [
        ("/api/v1/tasks", &["get", "post"][..]),
        ("/api/v1/tasks/{id}", &["get", "patch"]),
        ("/api/v1/tasks/{id}/complete", &["post"]),
        ("/api/v1/tasks/{id}/snooze", &["post"]),
    ] {
        for m in methods {
            assert_eq!(
                paths[p][m]["tags"],
                json!(["tasks"]),
                "{m} {p} is not described"
            );
        }
    }
    assert!(r.body["components"]["schemas"]["TaskOut"].is_object());
}
