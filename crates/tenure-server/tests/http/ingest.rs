//! Segment-compatible ingest with payloads shaped as the official libraries
//! send them.

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use serde_json::{Value, json};
use tenure_store::Kind;
use tenure_store::api::{RecordQuery, Scope};
use tenure_store::auth::Role;
use tenure_store::rows::Record;

use crate::common::{App, Resp, assert_error};

fn basic(key: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{key}:")))
}

async fn send(app: &App, path: &str, key: &str, body: &Value) -> Resp {
    let req = Request::post(path)
        .header(header::AUTHORIZATION, basic(key))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    app.call(req).await
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

async fn events(app: &App) -> Vec<tenure_core::model::Event> {
    let q = RecordQuery {
        limit: 1000,
        ..RecordQuery::default()
    };
    app.db.store.list_events(&q).await.unwrap().items
}

/// What analytics-node (v2) sends: a batch with context, library, sentAt.
fn node_batch(now: &str) -> Value {
    json!({
        "batch": [
            {"type": "identify", "userId": "user-1", "messageId": "node-1",
             "traits": {"email": "Ann@Customer.com", "firstName": "Ann", "lastName": "Lee", "title": "VP Ops"},
             "timestamp": now, "context": {"library": {"name": "@segment/analytics-node", "version": "2.1.0"}},
             "integrations": {}, "_metadata": {"jsRuntime": "node"}},
            {"type": "track", "userId": "user-1", "event": "Report Created", "messageId": "node-2",
             "properties": {"size": 3}, "timestamp": now,
             "context": {"library": {"name": "@segment/analytics-node", "version": "2.1.0"}}},
            {"type": "page", "userId": "user-1", "name": "Dashboard", "category": "app", "messageId": "node-3",
             "properties": {"path": "/dash"}, "timestamp": now, "context": {}}
        ],
        "writeKey": "ignored-when-basic-auth-is-present",
        "sentAt": now
    })
}

#[tokio::test]
async fn late_group_calls_attribute_pending_events_and_make_contacts() {
    let app = App::new().await;
    let key = app.ingest_key().await;
    let now = Timestamp::now().to_string();
    let r = send(&app, "/v1/batch", &key, &node_batch(&now)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"success": true}));
    assert!(events(&app).await.is_empty(), "no account known yet");
    assert_eq!(app.db.store.pending_event_count().await.unwrap(), 2);

    // The group call arrives later, as its own request (analytics-python shape).
    let group = json!({"userId": "user-1", "groupId": "acct-9", "messageId": "py-1",
        "traits": {"name": "Customer Inc", "industry": "Retail", "employees": "250", "plan": "pro"},
        "timestamp": now, "context": {"library": {"name": "analytics-python", "version": "2.3.0"}}});
    assert_eq!(
        send(&app, "/v1/group", &key, &group).await.status,
        StatusCode::OK
    );
    assert_eq!(app.db.store.pending_event_count().await.unwrap(), 0);
    let evs = events(&app).await;
    let names: Vec<&str> = evs.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Report Created") && names.contains(&"page"));
    assert!(evs.iter().all(|e| e.account_id == "acct-9"));
    let page = evs.iter().find(|e| e.event == "page").unwrap();
    let props: Value = serde_json::from_str(page.properties.as_deref().unwrap()).unwrap();
    assert_eq!(
        props,
        json!({"path": "/dash", "name": "Dashboard", "category": "app"})
    );

    let Record::Account(a) = app
        .db
        .store
        .get_record(Kind::Accounts, "acct-9", &Scope::All)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (
            a.name.as_str(),
            a.industry.as_deref(),
            a.employees,
            a.plan.as_deref()
        ),
        ("Customer Inc", Some("Retail"), Some(250), Some("pro"))
    );
    let Record::Contact(c) = app
        .db
        .store
        .get_record(Kind::Contacts, "user-1", &Scope::All)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (
            c.account_id.as_str(),
            c.email.as_str(),
            c.name.as_deref(),
            c.role.as_deref()
        ),
        (
            "acct-9",
            "ann@customer.com",
            Some("Ann Lee"),
            Some("VP Ops")
        )
    );

    // Later track calls of the user go straight to the account.
    let t = json!({"userId": "user-1", "event": "Login", "messageId": "py-2", "timestamp": now});
    send(&app, "/v1/track", &key, &t).await;
    assert_eq!(events(&app).await.len(), 3);
    // So does a call that names its group in context.groupId, even for a new user.
    let t = json!({"anonymousId": "anon-7", "event": "Signup", "messageId": "js-1", "context": {"groupId": "acct-2"}});
    send(&app, "/v1/track", &key, &t).await;
    let evs = events(&app).await;
    let e = evs.iter().find(|e| e.event == "Signup").unwrap();
    assert_eq!(
        (e.account_id.as_str(), e.user_id.as_str()),
        ("acct-2", "anon-7")
    );
}

#[tokio::test]
async fn duplicate_message_ids_are_stored_once() {
    let app = App::new().await;
    let key = app.ingest_key().await;
    let now = Timestamp::now().to_string();
    let batch = json!({"batch": [
        {"type": "track", "userId": "u", "event": "A", "messageId": "dup-1", "timestamp": now, "context": {"groupId": "g"}},
        {"type": "track", "userId": "u", "event": "A", "messageId": "dup-1", "timestamp": now, "context": {"groupId": "g"}},
        {"type": "track", "userId": "u", "event": "B", "messageId": "dup-2", "timestamp": now, "context": {"groupId": "g"}}
    ], "sentAt": now});
    assert_eq!(
        send(&app, "/v1/batch", &key, &batch).await.status,
        StatusCode::OK
    );
    // A client retry of the same batch.
    assert_eq!(
        send(&app, "/v1/batch", &key, &batch).await.status,
        StatusCode::OK
    );
    assert_eq!(events(&app).await.len(), 2);
    // Pending events are de-duplicated too.
    let t = json!({"userId": "lonely", "event": "X", "messageId": "dup-3"});
    send(&app, "/v1/track", &key, &t).await;
    send(&app, "/v1/track", &key, &t).await;
    assert_eq!(app.db.store.pending_event_count().await.unwrap(), 1);
}

#[tokio::test]
async fn client_clock_skew_is_corrected() {
    let app = App::new().await;
    let key = app.ingest_key().await;
    // The client's clock is a day ahead; it stamped the event 10 s before sending.
    let client_now = Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let ts = client_now - jiff::SignedDuration::from_secs(10);
    let batch = json!({"batch": [{"type": "track", "userId": "u", "event": "A", "messageId": "s1",
        "timestamp": ts.to_string(), "context": {"groupId": "g"}}], "sentAt": client_now.to_string()});
    let before = Timestamp::now();
    send(&app, "/v1/batch", &key, &batch).await;
    let after = Timestamp::now();
    let got = events(&app).await[0].timestamp;
    assert!(
        got >= before - jiff::SignedDuration::from_secs(11)
            && got <= after - jiff::SignedDuration::from_secs(9),
        "{got}"
    );
}

#[tokio::test]
async fn gzip_bodies_and_analytics_js_write_keys_are_accepted() {
    let app = App::new().await;
    let key = app.ingest_key().await;
    let now = Timestamp::now().to_string();
    let body = gzip(node_batch(&now).to_string().as_bytes());
    let req = Request::post("/v1/batch")
        .header(header::AUTHORIZATION, basic(&key))
        .header(header::CONTENT_ENCODING, "gzip")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(app.call(req).await.status, StatusCode::OK);
    assert_eq!(app.db.store.pending_event_count().await.unwrap(), 2);
    // analytics.js: text/plain, write key in the body, short path.
    let body = json!({"type": "track", "event": "Clicked", "anonymousId": "a1", "writeKey": key,
        "messageId": "ajs-1", "context": {"groupId": "g1"}, "sentAt": now, "timestamp": now});
    let req = Request::post("/v1/t")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(body.to_string()))
        .unwrap();
    let r = app.call(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(events(&app).await.len(), 1);
}

#[tokio::test]
async fn limits_and_bad_requests_are_json_errors() {
    let app = App::new().await;
    let key = app.ingest_key().await;
    let big = "x".repeat(33 * 1024);
    let t = json!({"userId": "u", "event": "A", "properties": {"blob": big}});
    assert_error(&send(&app, "/v1/track", &key, &t).await, 400, "bad_request");
    let in_batch = json!({"batch": [{"type": "track", "userId": "u", "event": "A", "properties": {"blob": big}}]});
    assert_error(
        &send(&app, "/v1/batch", &key, &in_batch).await,
        400,
        "bad_request",
    );
    let many: Vec<Value> = (0..40)
        .map(|i| json!({"type": "track", "userId": "u", "event": "A", "messageId": format!("m{i}"), "properties": {"blob": "y".repeat(15 * 1024)}}))
        .collect();
    let r = send(&app, "/v1/batch", &key, &json!({"batch": many})).await;
    assert_error(&r, 413, "payload_too_large");
    // A gzip bomb is cut at the limit, not inflated whole.
    let inflated = format!("{{\"batch\": [], \"pad\": \"{}\"}}", "z".repeat(600 * 1024));
    let req = Request::post("/v1/batch")
        .header(header::AUTHORIZATION, basic(&key))
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(gzip(inflated.as_bytes())))
        .unwrap();
    assert_error(&app.call(req).await, 413, "payload_too_large");
    // U+0000 cannot be stored in PostgreSQL text: refused on every backend.
    for m in [
        json!({"type": "track", "userId": "u", "event": "A\u{0}B", "context": {"groupId": "g"}}),
        json!({"type": "identify", "userId": "u\u{0}", "traits": {"email": "a@b.c"}}),
        json!({"type": "group", "userId": "u", "groupId": "g", "traits": {"name": "N\u{0}"}}),
    ] {
        let r = send(&app, "/v1/batch", &key, &json!({"batch": [m]})).await;
        assert_error(&r, 400, "bad_request");
    }
    assert_eq!(
        events(&app).await.len() + app.db.store.pending_event_count().await.unwrap() as usize,
        0,
        "nothing was written"
    );

    let t = json!({"userId": "u", "event": "A"});
    let req = Request::post("/v1/track")
        .body(Body::from(t.to_string()))
        .unwrap();
    assert_error(&app.call(req).await, 401, "unauthorized");
    assert_error(
        &send(&app, "/v1/track", "tnr_unknown", &t).await,
        401,
        "unauthorized",
    );
    let api_key = app.key(Role::Admin).await;
    assert_error(
        &send(&app, "/v1/track", &api_key, &t).await,
        401,
        "unauthorized",
    );
    // An ingest key cannot read the JSON API.
    assert_error(&app.get("/api/v1/accounts", &key).await, 403, "forbidden");

    assert_error(
        &send(&app, "/v1/track", &key, &json!({"event": "A"})).await,
        400,
        "bad_request",
    );
    assert_error(
        &send(&app, "/v1/group", &key, &json!({"userId": "u"})).await,
        400,
        "bad_request",
    );
    assert_error(
        &send(
            &app,
            "/v1/batch",
            &key,
            &json!({"batch": [{"type": "weird", "userId": "u"}]}),
        )
        .await,
        400,
        "bad_request",
    );
    assert_error(
        &send(
            &app,
            "/v1/track",
            &key,
            &json!({"userId": "u", "event": "A", "timestamp": "last tuesday"}),
        )
        .await,
        400,
        "bad_request",
    );
    let req = Request::post("/v1/batch")
        .header(header::AUTHORIZATION, basic(&key))
        .body(Body::from("{oops"))
        .unwrap();
    assert_error(&app.call(req).await, 400, "bad_request");
    // One bad message rejects the whole request: nothing is half-written.
    let mixed = json!({"batch": [{"type": "track", "userId": "u", "event": "ok", "context": {"groupId": "g"}}, {"type": "track", "userId": "u"}]});
    assert_error(
        &send(&app, "/v1/batch", &key, &mixed).await,
        400,
        "bad_request",
    );
    assert!(events(&app).await.is_empty());
    // alias is accepted and ignored.
    assert_eq!(
        send(
            &app,
            "/v1/alias",
            &key,
            &json!({"userId": "u", "previousId": "a"})
        )
        .await
        .status,
        StatusCode::OK
    );
}

/// Concurrent requests are committed together (group commit): every
/// request is answered only once its events are stored, each event exactly
/// once even when two concurrent requests carry the same `messageId`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_all_commit_with_duplicates_stored_once() {
    let app = App::new().await;
    let key = app.ingest_key().await;
    let now = Timestamp::now().to_string();
    let batch = |r: usize| {
        let mut msgs: Vec<Value> = (0..20)
            .map(|i| {
                json!({"type": "track", "userId": format!("u-{i}"), "event": "report_created",
                       "messageId": format!("r{r}-m{i}"), "timestamp": now,
                       "context": {"groupId": format!("acct-{}", r % 3)}})
            })
            .collect();
        // Every request also repeats one message shared by all of them.
        msgs.push(
            json!({"type": "track", "userId": "u-shared", "event": "login",
                         "messageId": "shared", "timestamp": now,
                         "context": {"groupId": "acct-0"}}),
        );
        json!({"batch": msgs, "sentAt": now})
    };
    let bodies: Vec<Value> = (0..16).map(batch).collect();
    let answers =
        futures_util::future::join_all(bodies.iter().map(|b| send(&app, "/v1/batch", &key, b)))
            .await;
    for r in &answers {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let stored = app.db.store.count(Kind::Events).await.unwrap();
    assert_eq!(stored, 16 * 20 + 1);
    // Each `context.groupId` not known before became a bare account.
    for id in ["acct-0", "acct-1", "acct-2"] {
        let Record::Account(a) = app
            .db
            .store
            .get_record(Kind::Accounts, id, &Scope::All)
            .await
            .unwrap()
        else {
            panic!("{id} is not an account")
        };
        assert_eq!(a.name, id);
    }
    assert_eq!(app.db.store.count(Kind::Accounts).await.unwrap(), 3);
}
