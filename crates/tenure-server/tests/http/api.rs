//! The JSON API: each kind's CRUD, listing filters, sort and pagination,
//! errors, limits, sessions and the OpenAPI document.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tenure_server::ServerConfig;
use tenure_server::limits::RateLimit;
use tenure_store::auth::{NewUser, Role};

use crate::common::{App, assert_error};

/// A valid body of each kind for `account`.
pub fn body(collection: &str, id: &str, account: &str) -> Value {
    match collection {
        "accounts" => json!({"id": id, "name": format!("Name {id}"), "csm_email": account}),
        "contacts" => {
            json!({"id": id, "account_id": account, "email": "ann@customer.com", "name": "Ann", "champion": true})
        }
        "subscriptions" => {
            json!({"id": id, "account_id": account, "mrr": "1200.50", "currency": "EUR", "seats": 10, "start_date": "2025-01-01", "renewal_date": "2026-01-01"})
        }
        "tickets" => {
            json!({"id": id, "account_id": account, "opened_at": "2025-03-01T09:00:00Z", "priority": "high", "csat": 4})
        }
        "survey_responses" => {
            json!({"id": id, "account_id": account, "kind": "nps", "score": 9, "responded_at": "2025-03-02T10:00:00Z", "comment": "great"})
        }
        "engagements" => {
            json!({"id": id, "account_id": account, "kind": "qbr", "occurred_at": "2025-03-03T15:00:00Z", "csm_email": "csm@example.com"})
        }
        "events" => {
            json!({"timestamp": "2025-03-01T09:30:00Z", "account_id": account, "user_id": "u1", "event": "login", "properties": {"plan": "pro"}, "message_id": id})
        }
        other => panic!("unknown collection {other}"),
    }
}

pub const CHILDREN: [&str; 5] = [
    "contacts",
    "subscriptions",
    "tickets",
    "survey_responses",
    "engagements",
];

#[tokio::test]
async fn every_kind_can_be_created_read_replaced_listed_and_deleted() {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    let r = app.post("/api/v1/accounts", &admin, json!({"id": "acc-1", "name": "Acme", "employees": 120, "attributes": {"tier": "gold"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["attributes"]["tier"], "gold");
    for c in CHILDREN {
        let path = format!("/api/v1/{c}");
        let r = app.post(&path, &admin, body(c, "x-1", "acc-1")).await;
        assert_eq!(r.status, StatusCode::CREATED, "{c}: {}", r.body);
        let item = format!("{path}/x-1");
        let got = app.get(&item, &admin).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(
            got.body, r.body,
            "{c}: what is read back is what was written"
        );
        let mut changed = body(c, "x-1", "acc-1");
        changed["id"] = Value::Null;
        let r = app.put(&item, &admin, changed).await;
        assert_eq!(r.status, StatusCode::OK, "{c}: {}", r.body);
        let list = app.get(&format!("{path}?account_id=acc-1"), &admin).await;
        assert_eq!(list.body["items"].as_array().unwrap().len(), 1, "{c}");
        assert_eq!(list.body["next_cursor"], Value::Null);
        let again = app.post(&path, &admin, body(c, "x-1", "acc-1")).await;
        assert_error(&again, 409, "conflict");
        assert_eq!(
            app.delete(&item, &admin).await.status,
            StatusCode::NO_CONTENT
        );
        assert_error(&app.get(&item, &admin).await, 404, "not_found");
        assert_error(&app.delete(&item, &admin).await, 404, "not_found");
    }
    let sub = app
        .post(
            "/api/v1/subscriptions",
            &admin,
            body("subscriptions", "s-9", "acc-1"),
        )
        .await;
    assert_eq!(sub.body["mrr"], json!(1200.5));
    assert_eq!(sub.body["currency"], "EUR");
    // Ids are generated when left out.
    let r = app
        .post(
            "/api/v1/contacts",
            &admin,
            json!({"account_id": "acc-1", "email": "b@c.com"}),
        )
        .await;
    assert!(
        r.body["id"].as_str().unwrap().starts_with("con_"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn events_are_listed_by_account_and_time_range_with_pages() {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    for a in ["a", "b"] {
        app.post("/api/v1/accounts", &admin, json!({"id": a, "name": a}))
            .await;
    }
    for (i, day) in ["2025-03-01", "2025-03-02", "2025-03-02", "2025-03-03"]
        .iter()
        .enumerate()
    {
        let r = app.post("/api/v1/events", &admin, json!({"timestamp": format!("{day}T10:00:00Z"), "account_id": "a", "user_id": "u", "event": format!("e{i}")})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    app.post("/api/v1/events", &admin, json!({"timestamp": "2025-03-02T00:00:00Z", "account_id": "b", "user_id": "u", "event": "other"})).await;
    let r = app
        .get(
            "/api/v1/events?account_id=a&from=2025-03-02&to=2025-03-03&limit=2",
            &admin,
        )
        .await;
    let names: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["e1", "e2"]);
    let cursor = r.body["next_cursor"].as_str().unwrap();
    let r = app
        .get(
            &format!(
                "/api/v1/events?account_id=a&from=2025-03-02&to=2025-03-03&limit=2&cursor={cursor}"
            ),
            &admin,
        )
        .await;
    let names: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["e3"]);
    assert_eq!(r.body["next_cursor"], Value::Null);
    assert_eq!(r.body["items"][0]["properties"], Value::Null);
    // A repeated message_id is a conflict; an event for an unknown account is invalid.
    let e = json!({"timestamp": "2025-03-01T00:00:00Z", "account_id": "a", "user_id": "u", "event": "x", "message_id": "m1"});
    assert_eq!(
        app.post("/api/v1/events", &admin, e.clone()).await.status,
        StatusCode::CREATED
    );
    assert_error(
        &app.post("/api/v1/events", &admin, e).await,
        409,
        "conflict",
    );
    let e = json!({"timestamp": "2025-03-01T00:00:00Z", "account_id": "nope", "user_id": "u", "event": "x"});
    assert_error(&app.post("/api/v1/events", &admin, e).await, 422, "invalid");
    assert_error(
        &app.get("/api/v1/events?from=yesterday", &admin).await,
        400,
        "bad_request",
    );
}

#[tokio::test]
async fn accounts_are_filtered_sorted_and_paged() {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    let rows = [
        ("a1", "Zeta Labs", Some(50), "growth"),
        ("a2", "acme corp", None, "starter"),
        ("a3", "Beta Co", Some(5), "growth"),
        ("a4", "Acme West", Some(500), "growth"),
        ("a5", "Delta", Some(50), "growth"),
    ];
    for (id, name, emp, plan) in rows {
        let r = app
            .post(
                "/api/v1/accounts",
                &admin,
                json!({"id": id, "name": name, "employees": emp, "plan": plan}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    // Walk every page of each sort and check the whole order.
    for (sort, expected) in [
        ("employees", vec!["a2", "a3", "a1", "a5", "a4"]),
        ("-employees", vec!["a4", "a5", "a1", "a3", "a2"]),
        ("id", vec!["a1", "a2", "a3", "a4", "a5"]),
        ("-id", vec!["a5", "a4", "a3", "a2", "a1"]),
    ] {
        let mut got = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/accounts?sort={sort}&limit=2");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let r = app.get(&path, &admin).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            got.extend(ids(&r.body));
            match r.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(got, expected, "sort {sort}");
    }
    let r = app.get("/api/v1/accounts?q=ACME&plan=growth", &admin).await;
    assert_eq!(ids(&r.body), ["a4"]);
    assert_error(
        &app.get("/api/v1/accounts?sort=mrr", &admin).await,
        400,
        "bad_request",
    );
    assert_error(
        &app.get("/api/v1/accounts?cursor=zzz", &admin).await,
        400,
        "bad_request",
    );
    assert_error(
        &app.get("/api/v1/accounts?limit=ten", &admin).await,
        400,
        "bad_request",
    );
}

#[tokio::test]
async fn bad_bodies_are_answered_with_json_errors() {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    app.post("/api/v1/accounts", &admin, json!({"id": "a", "name": "A"}))
        .await;
    let r = app.post("/api/v1/subscriptions", &admin, json!({"account_id": "a", "mrr": "12.345", "start_date": "2025-02-30", "end_date": "2024-01-01"})).await;
    assert_error(&r, 422, "invalid");
    let msg = r.body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("mrr:") && msg.contains("start_date:"), "{msg}");
    let r = app
        .post(
            "/api/v1/accounts",
            &admin,
            json!({"name": "A", "unknown": 1}),
        )
        .await;
    assert_error(&r, 422, "invalid");
    // U+0000 cannot be stored in PostgreSQL text: refused on every backend.
    let r = app
        .post(
            "/api/v1/accounts",
            &admin,
            json!({"id": "b", "name": "B\u{0}"}),
        )
        .await;
    assert_error(&r, 422, "invalid");
    let msg = r.body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("name") && msg.contains("U+0000"), "{msg}");
    let r = app
        .put(
            "/api/v1/accounts/a",
            &admin,
            json!({"id": "a", "name": "A", "region": "\u{0}"}),
        )
        .await;
    assert_error(&r, 422, "invalid");
    let msg = r.body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("region") && msg.contains("U+0000"), "{msg}");
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/accounts")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    assert_error(&app.call(req).await, 400, "bad_request");
    let r = app
        .put(
            "/api/v1/accounts/a",
            &admin,
            json!({"id": "b", "name": "A"}),
        )
        .await;
    assert_error(&r, 400, "bad_request");
    assert_error(
        &app.put("/api/v1/accounts/zz", &admin, json!({"name": "Z"}))
            .await,
        404,
        "not_found",
    );
    assert_error(&app.get("/api/v1/nothing", &admin).await, 404, "not_found");
    assert_eq!(
        app.send(Method::PATCH, "/api/v1/accounts", Some(&admin), None)
            .await
            .status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn oversized_bodies_get_413_and_busy_keys_get_429() {
    let app = App::with_config(ServerConfig {
        max_body_bytes: 1024,
        rate_limit: RateLimit {
            per_second: 0.01,
            burst: 3,
        },
        ..ServerConfig::default()
    })
    .await;
    let admin = app.key(Role::Admin).await;
    let r = app
        .post(
            "/api/v1/accounts",
            &admin,
            json!({"name": "x".repeat(2000)}),
        )
        .await;
    assert_error(&r, 413, "payload_too_large");
    assert_eq!(
        app.get("/api/v1/accounts", &admin).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/accounts", &admin).await.status,
        StatusCode::OK
    );
    let r = app.get("/api/v1/accounts", &admin).await;
    assert_error(&r, 429, "rate_limited");
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
    // Another key has its own budget.
    let other = app.key(Role::Leader).await;
    assert_eq!(
        app.get("/api/v1/accounts", &other).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_session_cookie_works_and_writes_need_the_csrf_token() {
    let app = App::new().await;
    let hash = tenure_server::auth::hash_password("s3cret-pass").unwrap();
    app.db
        .store
        .create_user(
            &NewUser {
                id: "u1".into(),
                email: "Lead@Example.com".into(),
                name: None,
                role: Role::Leader,
                all_accounts: false,
                password_hash: hash,
            },
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    let bad = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "lead@example.com", "password": "nope"})),
        )
        .await;
    assert_error(&bad, 401, "unauthorized");
    let ok = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "lead@example.com", "password": "s3cret-pass"})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let set_cookie = ok
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let csrf = ok.body["csrf_token"].as_str().unwrap().to_string();
    let with_cookie = |method: Method, path: &str, csrf: Option<&str>, body: Option<Value>| {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::COOKIE, &cookie);
        if let Some(t) = csrf {
            b = b.header("x-csrf-token", t);
        }
        match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        }
    };
    let me = app
        .call(with_cookie(Method::GET, "/api/v1/auth/me", None, None))
        .await;
    assert_eq!(me.body["email"], "lead@example.com");
    assert_eq!(me.body["role"], "leader");
    let r = app
        .call(with_cookie(
            Method::POST,
            "/api/v1/accounts",
            None,
            Some(json!({"name": "A"})),
        ))
        .await;
    assert_error(&r, 403, "forbidden");
    let r = app
        .call(with_cookie(
            Method::POST,
            "/api/v1/accounts",
            Some("wrong"),
            Some(json!({"name": "A"})),
        ))
        .await;
    assert_error(&r, 403, "forbidden");
    let r = app
        .call(with_cookie(
            Method::POST,
            "/api/v1/accounts",
            Some(&csrf),
            Some(json!({"name": "A"})),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .call(with_cookie(
            Method::POST,
            "/api/v1/auth/logout",
            Some(&csrf),
            None,
        ))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .call(with_cookie(Method::GET, "/api/v1/auth/me", None, None))
        .await;
    assert_error(&r, 401, "unauthorized");
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_and_the_docs_page_is_self_contained() {
    let app = App::new().await;
    let r = app.send(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["openapi"], "3.1.0");
    let paths = r.body["paths"].as_object().unwrap();
    for p in [
        "/api/v1/accounts",
        "/api/v1/accounts/{id}",
        "/api/v1/contacts/{id}",
        "/api/v1/subscriptions",
        "/api/v1/events",
        "/api/v1/tickets/{id}",
        "/api/v1/survey_responses",
        "/api/v1/engagements/{id}",
        "/api/v1/auth/login",
        "/api/v1/accounts/{id}/health",
        "/api/v1/segments",
        "/api/v1/journey",
        "/api/v1/cadence",
        "/api/v1/accounts/{id}/engage",
        "/api/v1/accounts/{id}/engagements",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    assert!(r.body["components"]["securitySchemes"]["bearer"].is_object());
    let page = app.router.clone();
    let resp =
        tower::ServiceExt::oneshot(page, Request::get("/api/docs").body(Body::empty()).unwrap())
            .await
            .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = String::from_utf8(
        axum::body::to_bytes(resp.into_body(), 1 << 24)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(html.contains("/api/docs/scalar.js"));
    assert!(
        !html.contains("cdn."),
        "the docs page must not load from a CDN"
    );
    let js = app
        .call(
            Request::get("/api/docs/scalar.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(js.status, StatusCode::OK);
}

#[tokio::test]
async fn web_forms_need_the_session_csrf_token() {
    use axum::routing::post;
    use tenure_server::auth::{CsrfForm, login};
    use tenure_server::{AppState, ServerConfig};

    #[derive(serde::Deserialize)]
    struct Note {
        text: String,
    }
    async fn handler(f: CsrfForm<Note>) -> String {
        format!("{}:{}", f.principal.role, f.form.text)
    }

    let db = tenure_store::testing::test_db().await;
    let state = AppState::new(db.store.clone(), ServerConfig::default());
    let hash = tenure_server::auth::hash_password("pw-123456").unwrap();
    db.store
        .create_user(
            &NewUser {
                id: "u".into(),
                email: "c@x.com".into(),
                name: None,
                role: Role::Csm,
                all_accounts: false,
                password_hash: hash,
            },
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    let session = login(&state, "c@x.com", "pw-123456").await.unwrap();
    let cookie = session
        .set_cookie
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let app = axum::Router::new()
        .route("/form", post(handler))
        .with_state(state);
    let form = |body: String, cookie: Option<&str>| {
        let mut b = Request::post("/form")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        b.body(Body::from(body)).unwrap()
    };
    let status = |req: Request<Body>| {
        let app = app.clone();
        async move { tower::ServiceExt::oneshot(app, req).await.unwrap().status() }
    };
    let token = session.csrf_token.clone();
    assert_eq!(
        status(form(format!("text=hi&csrf_token={token}"), Some(&cookie))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(form("text=hi".into(), Some(&cookie))).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(form("text=hi&csrf_token=guess".into(), Some(&cookie))).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(form(format!("text=hi&csrf_token={token}"), None)).await,
        StatusCode::UNAUTHORIZED
    );
}
