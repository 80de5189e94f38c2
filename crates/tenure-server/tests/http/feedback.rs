//! `/api/v1/feedback` and `/api/v1/requests` (docs/FEEDBACK.md): tickets
//! with a subject and description, feedback from the API tagged with the
//! configured themes, the daily refresh, filters, a CSM kept to their own
//! accounts, requests ranked by ARR, linking, status changes for leaders
//! only (shipped: the close-the-loop tasks and the webhook), refused input
//! named by field, the OpenAPI document, and the pages.

use axum::http::StatusCode;
use serde_json::json;
use tenure_store::auth::Role;

use crate::api::body;
use crate::common::{App, assert_error};

const CONFIG: &str = r#"
[[outbound.webhooks]]
name = "product"
url = "http://127.0.0.1:9/hooks"
secret = "s3cret"

[feedback]
requests_webhook = "product"

[[feedback.themes]]
name = "exports"
keywords = ["export*", "csv"]

[[feedback.themes]]
name = "unhappy"
rule = "sentiment == 'negative'"
"#;

/// `own` (csm@example.com, 500 a month) and `theirs` (other@example.com,
/// 1,000 a month), with the feedback configuration.
async fn app() -> (App, String) {
    let config = tenure_core::config::parse_config(CONFIG).unwrap();
    let db = tenure_store::testing::test_db().await;
    let router = tenure_server::router(
        tenure_server::AppState::new(db.store.clone(), tenure_server::ServerConfig::default())
            .with_tenure_config(config),
    );
    let app = App { db, router };
    let admin = app.key(Role::Admin).await;
    for (id, csm, mrr) in [
        ("own", "csm@example.com", "500"),
        ("theirs", "other@example.com", "1000"),
    ] {
        let r = app
            .post("/api/v1/accounts", &admin, body("accounts", id, csm))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let sub = json!({"id": format!("s-{id}"), "account_id": id, "mrr": mrr, "currency": "USD",
                         "start_date": "2025-01-01"});
        let r = app.post("/api/v1/subscriptions", &admin, sub).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    (app, admin)
}

#[tokio::test]
async fn tickets_carry_a_subject_and_a_description() {
    let (app, admin) = app().await;
    let t = json!({"id": "t1", "account_id": "own", "opened_at": "2025-03-01T09:00:00Z",
                   "subject": "CSV export fails", "description": "Since Monday <b>every</b> export"});
    let r = app.post("/api/v1/tickets", &admin, t).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app.get("/api/v1/tickets/t1", &admin).await;
    assert_eq!(r.body["subject"], "CSV export fails");
    assert_eq!(r.body["description"], "Since Monday <b>every</b> export");
    let bad = json!({"id": "t2", "account_id": "own", "opened_at": "2025-03-01T09:00:00Z",
                     "subject": "a\u{0}b"});
    let r = app.post("/api/v1/tickets", &admin, bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("subject: must not contain"),
        "{}",
        r.body
    );

    // The daily step makes it feedback, tagged.
    tenure_app::feedback::refresh(&app.db.store, &app_config())
        .await
        .unwrap();
    let r = app.get("/api/v1/feedback?source=ticket", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], "fb-ticket-t1");
    assert_eq!(
        items[0]["text"],
        "CSV export fails\n\nSince Monday <b>every</b> export"
    );
    assert_eq!(items[0]["themes"], json!(["exports"]));
    assert_eq!(items[0]["account_name"], "Name own");
}

fn app_config() -> tenure_core::config::Config {
    tenure_core::config::parse_config(CONFIG).unwrap()
}

#[tokio::test]
async fn feedback_from_the_api_is_tagged_filtered_and_scoped() {
    let (app, admin) = app().await;
    let csm = app.key(Role::Csm).await;
    let viewer = app.key(Role::Viewer).await;
    // A viewer sees only the shared views and account cards (docs/CRM.md):
    // the reads are a leader's; the viewer's are refused below.
    let reader = app.key(Role::Leader).await;
    let r = app
        .post(
            "/api/v1/feedback",
            &csm,
            json!({"account_id": "own", "text": "Exporting to CSV is painful", "kind": "nps", "score": 4, "date": "2025-05-01"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["source"], "api");
    assert_eq!(r.body["sentiment"], "negative");
    assert_eq!(r.body["themes"], json!(["exports", "unhappy"]));
    assert_eq!(r.body["date"], "2025-05-01");
    let own_item = r.body["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            "/api/v1/feedback",
            &admin,
            json!({"account_id": "theirs", "text": "Great product", "kind": "csat", "score": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["sentiment"], "positive");
    assert_eq!(r.body["themes"], json!([]));

    // Another CSM's account is not found; viewers may not write; bad
    // input names the field.
    let r = app
        .post(
            "/api/v1/feedback",
            &csm,
            json!({"account_id": "theirs", "text": "x"}),
        )
        .await;
    assert_error(&r, 404, "not_found");
    let r = app
        .post(
            "/api/v1/feedback",
            &viewer,
            json!({"account_id": "own", "text": "x"}),
        )
        .await;
    assert_error(&r, 403, "forbidden");
    let r = app
        .post(
            "/api/v1/feedback",
            &admin,
            json!({"account_id": "own", "text": "x", "kind": "nps", "score": 12}),
        )
        .await;
    assert_error(&r, 422, "invalid");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("score: "),
        "{}",
        r.body
    );
    let r = app
        .post(
            "/api/v1/feedback",
            &admin,
            json!({"account_id": "own", "text": "x", "date": "May"}),
        )
        .await;
    assert_error(&r, 422, "invalid");

    // Lists: the CSM sees their own; filters; bad filters are 400.
    let r = app.get("/api/v1/feedback", &csm).await;
    let ids: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [own_item.as_str()]);
    let exports = r.body["themes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "exports")
        .unwrap()
        .clone();
    assert_eq!(exports["items"], 1);
    assert_eq!(exports["keywords"], json!(["export*", "csv"]));
    let r = app
        .get("/api/v1/feedback?sentiment=positive", &reader)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = app.get("/api/v1/feedback?theme=unhappy", &reader).await;
    assert_eq!(r.body["items"][0]["id"], own_item.as_str());
    let r = app.get("/api/v1/feedback?untagged=true", &reader).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = app.get("/api/v1/feedback?sentiment=angry", &reader).await;
    assert_error(&r, 400, "bad_request");
    let r = app.get("/api/v1/feedback?source=email", &reader).await;
    assert_error(&r, 400, "bad_request");
    let r = app.get("/api/v1/feedback/suggestions?k=0", &reader).await;
    assert_error(&r, 400, "bad_request");
    assert_error(
        &app.get("/api/v1/feedback", &viewer).await,
        403,
        "forbidden",
    );
    let r = app.get("/api/v1/feedback/suggestions", &reader).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.is_array());
}

#[tokio::test]
async fn requests_rank_by_arr_and_shipping_closes_the_loop_for_leaders_only() {
    let (app, admin) = app().await;
    let csm = app.key(Role::Csm).await;
    let leader = app.key(Role::Leader).await;
    let viewer = app.key(Role::Viewer).await;
    // A viewer sees only the shared views and account cards (docs/CRM.md):
    // the reads are a leader's; the viewer's are refused below.
    let reader = app.key(Role::Leader).await;
    let r = app
        .post(
            "/api/v1/feedback",
            &admin,
            json!({"account_id": "theirs", "text": "We need scheduled exports"}),
        )
        .await;
    let item = r.body["id"].as_str().unwrap().to_string();
    // From a feedback item (theirs: 12,000 ARR), then own (6,000) added.
    let r = app
        .post(
            "/api/v1/requests",
            &admin,
            json!({"title": "Scheduled exports", "feedback_id": item}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "open");
    assert_eq!(r.body["account_count"], 1);
    assert_eq!(r.body["arr"], 12000.0);
    assert_eq!(r.body["accounts"][0]["feedback_id"], item.as_str());
    let exports = r.body["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            &format!("/api/v1/requests/{exports}/accounts"),
            &csm,
            json!({"account_id": "own"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["added"], true);
    // The CSM sees their own account only.
    assert_eq!(r.body["request"]["account_count"], 1);
    assert_eq!(r.body["request"]["arr"], 6000.0);
    let r = app
        .post(
            &format!("/api/v1/requests/{exports}/accounts"),
            &csm,
            json!({"account_id": "own"}),
        )
        .await;
    assert_eq!(r.body["added"], false);
    let r = app
        .post(
            "/api/v1/requests",
            &csm,
            json!({"title": "Dark mode", "account_ids": ["own"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let dark = r.body["id"].as_str().unwrap().to_string();

    // Ranked by ARR: exports (18,000) before dark mode (6,000).
    let r = app.get("/api/v1/requests", &reader).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["ranked_by"], "arr");
    assert_eq!(r.body["currency"], "USD");
    let ranked: Vec<(&str, f64, u64)> = r.body["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["title"].as_str().unwrap(),
                x["arr"].as_f64().unwrap(),
                x["account_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ranked,
        [("Scheduled exports", 18000.0, 2), ("Dark mode", 6000.0, 1)]
    );
    let r = app.get("/api/v1/requests?by=count", &reader).await;
    assert_eq!(r.body["ranked_by"], "count");
    let r = app.get("/api/v1/requests?by=size", &reader).await;
    assert_error(&r, 400, "bad_request");
    let r = app.get("/api/v1/requests?status=done", &reader).await;
    assert_error(&r, 400, "bad_request");

    // Status: leaders and admins only; a bad status names the field.
    let path = format!("/api/v1/requests/{exports}/status");
    let r = app.post(&path, &csm, json!({"status": "shipped"})).await;
    assert_error(&r, 403, "forbidden");
    let r = app.post(&path, &leader, json!({"status": "done"})).await;
    assert_error(&r, 422, "invalid");
    let r = app
        .post(
            "/api/v1/requests/req-nope/status",
            &leader,
            json!({"status": "planned"}),
        )
        .await;
    assert_error(&r, 404, "not_found");
    let r = app.post(&path, &leader, json!({"status": "shipped"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["previous_status"], "open");
    assert_eq!(r.body["request"]["status"], "shipped");
    assert_eq!(r.body["task_ids"].as_array().unwrap().len(), 2);
    assert!(r.body["webhook_id"].is_string());
    // The CSM finds the task to tell their customer.
    let r = app.get("/api/v1/tasks", &csm).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .to_string()
            .contains("Tell Name own: \\\"Scheduled exports\\\" has shipped"),
        "{}",
        r.body
    );
    let r = app.get("/api/v1/requests?status=shipped", &csm).await;
    assert_eq!(r.body["requests"].as_array().unwrap().len(), 1);
    let r = app
        .post("/api/v1/requests", &viewer, json!({"title": "X"}))
        .await;
    assert_error(&r, 403, "forbidden");
    assert_error(
        &app.get("/api/v1/requests", &viewer).await,
        403,
        "forbidden",
    );
    let r = app
        .post("/api/v1/requests", &admin, json!({"title": ""}))
        .await;
    assert_error(&r, 422, "invalid");
    let _ = dark;
}

#[tokio::test]
async fn the_routes_are_in_the_openapi_document() {
    let (app, _) = app().await;
    let r = app
        .send(axum::http::Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let paths = &r.body["paths"];
    for p in [
        "/api/v1/feedback",
        "/api/v1/feedback/suggestions",
        "/api/v1/requests",
        "/api/v1/requests/{id}/status",
        "/api/v1/requests/{id}/accounts",
    ] {
        assert!(paths.get(p).is_some(), "{p} is not in the OpenAPI document");
    }
    assert!(paths["/api/v1/tickets"]["post"].is_object());
    let schema = r.body["components"]["schemas"]["TicketIn"]["properties"].clone();
    assert!(schema.get("subject").is_some() && schema.get("description").is_some());
}

/// A page's status and HTML, with an API key.
async fn page(app: &App, path: &str, key: &str) -> (StatusCode, String) {
    use tower::ServiceExt;
    let req = axum::http::Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header("accept", "text/html")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn the_pages_escape_what_customers_wrote_and_keep_csms_to_their_accounts() {
    let (app, admin) = app().await;
    let csm = app.key(Role::Csm).await;
    for (id, account, subject) in [
        ("t1", "own", "<script>alert(1)</script> export broken"),
        ("t2", "theirs", "Not for the CSM: csv"),
    ] {
        let t = json!({"id": id, "account_id": account, "opened_at": "2025-03-01T09:00:00Z",
                       "subject": subject});
        let r = app.post("/api/v1/tickets", &admin, t).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    tenure_app::feedback::refresh(&app.db.store, &app_config())
        .await
        .unwrap();
    let r = app
        .post(
            "/api/v1/requests",
            &admin,
            json!({"title": "<i>Exports</i> on a schedule", "account_ids": ["own", "theirs"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let (status, html) = page(&app, "/feedback", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; export broken"));
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("Not for the CSM"));
    let (_, html) = page(&app, "/feedback?theme=exports&source=ticket", &csm).await;
    assert!(html.contains("export broken"));
    assert!(
        !html.contains("Not for the CSM"),
        "a CSM sees their own accounts only"
    );
    // A bad filter is said, with every item.
    let (status, html) = page(&app, "/feedback?sentiment=angry", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("sentiment: expected negative, neutral or positive"));

    let (status, html) = page(&app, "/requests", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("&#60;i&#62;Exports&#60;/i&#62; on a schedule"));
    assert!(html.contains("$18,000"), "ranked by the ARR asking");
    let (_, html) = page(&app, "/requests", &csm).await;
    assert!(html.contains("$6,000"), "the CSM's own account only");
    assert!(!html.contains("Name theirs"));
    assert!(!html.contains("status-form"), "CSMs cannot change a status");
    let (status, _) = page(&app, "/requests.csv?by=count", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = page(&app, "/requests.csv?by=size", &admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
