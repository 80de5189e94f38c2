//! The shared views (docs/CRM.md, "Shared views"): which role opens which
//! page and API route (a table over every role, the viewer restricted to
//! the views and account cards, on pages and API alike), and what each
//! view holds on a small book: a renewal inside and one outside the 90
//! days, urgent tickets open and closed, events by segment, a request.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jiff::civil::Date;
use serde_json::{Value, json};
use tenure_store::auth::Role;

use crate::common::{App, Resp, assert_error};

fn today() -> Date {
    tenure_app::clock::today()
}

fn day(offset: i32) -> String {
    tenure_core::model::add_days(today(), offset).to_string()
}

/// Own (csm@example.com, renews in 30 days, two open urgent tickets),
/// Theirs (other@example.com, renews in 60 days, one open urgent ticket)
/// and Far (renews in 200 days, its urgent ticket closed, a normal one
/// open), each USD 1,000 a month; events today for Own and Theirs; a
/// request asked for by Own.
async fn book(app: &App, admin: &str) {
    for (id, csm, renews) in [
        ("own", "csm@example.com", 30),
        ("theirs", "other@example.com", 60),
        ("far", "other@example.com", 200),
    ] {
        let r = app
            .post(
                "/api/v1/accounts",
                admin,
                json!({"id": id, "name": format!("Name {id}"), "csm_email": csm}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let r = app
            .post(
                "/api/v1/subscriptions",
                admin,
                json!({"id": format!("s-{id}"), "account_id": id, "mrr": "1000.00", "currency": "USD",
                       "start_date": "2025-01-01", "renewal_date": day(renews)}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let now = format!("{}T08:00:00Z", day(-3));
    for (id, account, priority, closed) in [
        ("t1", "own", "urgent", false),
        ("t2", "own", "urgent", false),
        ("t3", "theirs", "urgent", false),
        ("t4", "far", "urgent", true),
        ("t5", "far", "normal", false),
    ] {
        let mut t =
            json!({"id": id, "account_id": account, "opened_at": now, "priority": priority});
        if closed {
            t["closed_at"] = Value::from(format!("{}T08:00:00Z", day(-1)));
        }
        let r = app.post("/api/v1/tickets", admin, t).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    for (n, (account, event)) in [
        ("own", "report_built"),
        ("own", "login"),
        ("theirs", "login"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = app
            .post(
                "/api/v1/events",
                admin,
                json!({"timestamp": format!("{}T09:30:00Z", day(-1)), "account_id": account,
                       "user_id": "u1", "event": event, "message_id": format!("m{n}")}),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.body);
    }
    let r = app
        .post(
            "/api/v1/requests",
            admin,
            json!({"title": "SSO", "account_ids": ["own"]}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
}

/// A page request with a bearer key, as a browser would ask.
async fn page(app: &App, path: &str, key: &str) -> Resp {
    let req = Request::builder()
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap();
    app.call(req).await
}

#[tokio::test]
async fn each_role_opens_what_it_may_and_a_viewer_only_the_views_and_cards() {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    book(&app, &admin).await;
    let keys = [
        (Role::Admin, admin.clone()),
        (Role::Leader, app.key(Role::Leader).await),
        (Role::Csm, app.key(Role::Csm).await),
        (Role::Viewer, app.key(Role::Viewer).await),
    ];
    // (path, is a page, may a viewer open it). Every other role opens
    // every one of them (a CSM's own account for the card).
    let routes: &[(&str, bool, bool)] = &[
        ("/views", true, true),
        ("/views/sales", true, true),
        ("/views/support", true, true),
        ("/views/product", true, true),
        ("/accounts/own/card", true, true),
        ("/api/v1/views/sales", false, true),
        ("/api/v1/views/support", false, true),
        ("/api/v1/views/product", false, true),
        ("/api/v1/accounts/own/card", false, true),
        ("/api/v1/auth/me", false, true),
        ("/", true, false),
        ("/accounts", true, false),
        ("/accounts/own", true, false),
        ("/risk", true, false),
        ("/requests", true, false),
        ("/team", true, false),
        ("/api/v1/accounts", false, false),
        ("/api/v1/accounts/own", false, false),
        ("/api/v1/accounts/own/health", false, false),
        ("/api/v1/risk", false, false),
        ("/api/v1/requests", false, false),
        ("/api/v1/tasks", false, false),
        ("/api/v1/kpis", false, false),
    ];
    let mut checked = 0;
    for (role, key) in &keys {
        for &(path, is_page, viewer_may) in routes {
            let r = if is_page {
                page(&app, path, key).await
            } else {
                app.get(path, key).await
            };
            let what = format!("{role} GET {path}");
            match (*role, viewer_may, is_page) {
                (Role::Viewer, false, true) => {
                    assert_eq!(r.status, StatusCode::SEE_OTHER, "{what}");
                    assert_eq!(r.headers[header::LOCATION], "/views", "{what}");
                }
                (Role::Viewer, false, false) => {
                    assert_error(&r, 403, "forbidden");
                    let m = r.body["error"]["message"].as_str().unwrap();
                    assert!(
                        m.contains("the viewer role sees only the shared views"),
                        "{what}: {m}"
                    );
                }
                _ => assert_eq!(r.status, StatusCode::OK, "{what}: {}", r.body),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 4 * routes.len());
    // Without a key: the API answers 401, a page sends to the login.
    assert_error(
        &app.send(axum::http::Method::GET, "/api/v1/views/sales", None, None)
            .await,
        401,
        "unauthorized",
    );
    // A viewer's writes stay refused, with the same message.
    let viewer = &keys[3].1;
    let r = app
        .post("/api/v1/accounts", viewer, json!({"id": "x", "name": "X"}))
        .await;
    assert_error(&r, 403, "forbidden");
}

#[tokio::test]
async fn the_views_hold_renewals_urgent_tickets_adoption_and_requests_in_scope() {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    book(&app, &admin).await;
    let viewer = app.key(Role::Viewer).await;
    let csm = app.key(Role::Csm).await;

    let sales = app.get("/api/v1/views/sales", &viewer).await.body;
    assert_eq!(sales["horizon_days"], 90);
    let ids: Vec<&str> = sales["renewals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["own", "theirs"], "{sales}");
    let own = &sales["renewals"][0];
    assert_eq!(own["renewal_date"], day(30));
    assert_eq!(own["days_to_renewal"], 30);
    assert_eq!(own["arr"], 12000.0);
    assert_eq!(own["csm"], "csm@example.com");
    assert_eq!(own["at_risk"], false);
    assert_eq!(own["health_band"], Value::Null);
    // A CSM sees their own accounts only.
    let mine = app.get("/api/v1/views/sales", &csm).await.body;
    assert_eq!(mine["renewals"].as_array().unwrap().len(), 1);

    let support = app.get("/api/v1/views/support", &viewer).await.body;
    let rows: Vec<(&str, i64)> = support["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["account_id"].as_str().unwrap(),
                r["open_urgent_tickets"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, [("own", 2), ("theirs", 1)], "{support}");
    assert_eq!(support["accounts"][0]["oldest_opened"], day(-3));

    let product = app.get("/api/v1/views/product", &viewer).await.body;
    assert_eq!(product["window_days"], 30);
    assert_eq!(product["from"], day(-29));
    // No segments are configured: every account in one group.
    let seg = &product["segments"][0];
    assert_eq!(seg["segment"], Value::Null);
    assert_eq!(seg["accounts"], 3);
    assert_eq!(
        seg["adoption"],
        json!([
            {"event": "login", "accounts": 2, "share": 2.0 / 3.0},
            {"event": "report_built", "accounts": 1, "share": 1.0 / 3.0},
        ])
    );
    assert_eq!(product["requests"][0]["title"], "SSO");
    assert_eq!(product["requests"][0]["arr"], 12000.0);

    // The pages show the same, each account linked to its card for a
    // viewer and to its page for the others.
    for (key, href) in [(&viewer, "/accounts/own/card"), (&admin, "/accounts/own\"")] {
        let req = Request::builder()
            .uri("/views/sales")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        let resp = tower::ServiceExt::oneshot(app.router.clone(), req)
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        let doc = scraper::Html::parse_document(&body);
        let sel = scraper::Selector::parse("#sales tbody tr").unwrap();
        assert_eq!(doc.select(&sel).count(), 2, "{body}");
        assert!(body.contains(&format!("href=\"{href}")), "{href} in {body}");
    }
}
