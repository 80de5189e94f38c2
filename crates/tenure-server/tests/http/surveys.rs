//! Surveys over HTTP (docs/VOICE.md): the hosted response page without
//! login (a score chosen from the email's link, recorded by the form's
//! POST, once; unknown, used and expired tokens and scores out of range
//! refused with nothing written; the comment escaped; no cookie; rate
//! limited; unsubscribing), the `/surveys` page, and the API: the list,
//! the rates, and the in-app channel with its role and scope checks.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::json;
use tenure_app::clock::{now_micros, today};
use tenure_core::config::{Config, parse_config};
use tenure_core::model::{Account, Contact, Currency, Money, Subscription};
use tenure_server::{AppState, ServerConfig, router};
use tenure_store::api::Scope;
use tenure_store::auth::Role;
use tenure_store::outbound::LogQuery;
use tenure_store::rows::Record;
use tenure_store::testing::test_db;
use tower::ServiceExt;

use crate::common::{App, assert_error};

const CONFIG: &str = r#"
[server]
public_url = "https://cs.example.com"

[engage]
settle_days = 0

[[engage.tiers]]
name = "high"

[[engage.stages]]
name = "customer"
entry = "paying"

[[engage.segments]]
name = "All"
rule = "paying"
tier = "high"

[[surveys]]
name = "NPS"
kind = "nps"
question = "How likely are you to recommend Acme?"
follow_up = "What is the main reason for your score?"
roles = ["admin"]
every_days = 90

[[surveys]]
name = "Pulse"
kind = "csat"
question = "How happy are you?"
roles = ["user"]
every_days = 30
channel = "in_app"
"#;

/// Paying accounts (id, CSM) of 500 a month, each with two admins
/// (`ID-admin`, `ID-admin2`) and a user (`ID-user`) at `ROLE@ID.example`
/// (shared with the send-now tests).
pub(crate) async fn portfolio(store: &tenure_store::Store, accounts: &[(&str, &str)]) {
    for &(id, csm) in accounts {
        let mut a = Account::bare(id);
        a.name = format!("Acct {id}");
        a.csm_email = Some(csm.into());
        store
            .create_record(&Record::Account(a), &Scope::All)
            .await
            .unwrap();
        let s = Subscription {
            id: format!("s-{id}"),
            account_id: id.into(),
            mrr: Money::new(50_000, Currency::USD),
            plan: None,
            seats: None,
            start_date: "2025-01-01".parse().unwrap(),
            end_date: None,
            renewal_date: None,
        };
        store
            .create_record(&Record::Subscription(s), &Scope::All)
            .await
            .unwrap();
        for (c, role) in [("admin", "admin"), ("admin2", "admin"), ("user", "user")] {
            let contact = Contact {
                id: format!("{id}-{c}"),
                account_id: id.into(),
                email: format!("{c}@{id}.example"),
                name: None,
                role: Some(role.into()),
                champion: None,
                left_on: None,
            };
            store
                .create_record(&Record::Contact(contact), &Scope::All)
                .await
                .unwrap();
        }
    }
}

/// The app with the surveys' configuration, two accounts (own: CSM
/// csm@example.com; theirs: another CSM) and their contacts, and today's
/// surveys sent. Returns the app and the config.
async fn app() -> (App, Config) {
    let config = parse_config(CONFIG).unwrap();
    let db = test_db().await;
    let store = &db.store;
    portfolio(
        store,
        &[("own", "csm@example.com"), ("theirs", "other@example.com")],
    )
    .await;
    let out = tenure_app::surveys::send_due(store, &config, today())
        .await
        .unwrap();
    assert_eq!((out.emailed, out.in_app), (4, 2), "{out:?}");
    let router = router(
        AppState::new(db.store.clone(), ServerConfig::default()).with_tenure_config(config.clone()),
    );
    (App { db, router }, config)
}

/// The token in the email to `to`.
async fn token(app: &App, to: &str) -> String {
    let log = app.db.store.outbox_log(&LogQuery::default()).await.unwrap();
    let m = log.iter().find(|m| m.target == to).unwrap();
    let base = "https://cs.example.com/s/";
    let at = m.body.find(base).unwrap() + base.len();
    m.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect()
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    html: String,
}

async fn page(app: &App, method: Method, uri: &str, form: Option<&str>) -> Page {
    let b = Request::builder().method(method).uri(uri);
    let req = match form {
        Some(f) => b
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(f.to_string())),
        None => b.body(Body::empty()),
    }
    .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    Page {
        status,
        headers,
        html: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn answers(app: &App) -> usize {
    app.db
        .store
        .survey_answers(&Scope::All, 100)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn the_hosted_page_records_one_answer_and_refuses_the_rest() {
    let (app, _) = app().await;
    let t = token(&app, "admin@own.example").await;
    let uri = format!("/s/{t}");

    // The page: the question, a labelled radio per score, no cookie, no
    // referrer, not cached.
    let p = page(&app, Method::GET, &uri, None).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.html);
    assert!(p.html.contains("How likely are you to recommend Acme?"));
    assert!(p.html.contains("What is the main reason for your score?"));
    for s in 0..=10 {
        assert!(
            p.html
                .contains(&format!("<label for=\"score-{s}\">{s}</label>"))
        );
    }
    assert!(!p.html.contains(" checked"));
    assert!(p.headers.get(header::SET_COOKIE).is_none());
    assert_eq!(p.headers[header::REFERRER_POLICY], "no-referrer");
    assert!(
        p.headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("no-store")
    );

    // The email's one-click link chooses the score; nothing is written
    // until the form is sent.
    let p = page(&app, Method::GET, &format!("{uri}?score=9"), None).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.html
            .contains("id=\"score-9\" name=\"score\" value=\"9\" required checked")
    );
    assert_eq!(answers(&app).await, 0);

    // Out of range, on the link or in the form: 400 and nothing written.
    let p = page(&app, Method::GET, &format!("{uri}?score=11"), None).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.html.contains("Choose a score from 0 to 10."));
    for form in ["score=11", "score=-1", "score=ten", "comment=no+score"] {
        let p = page(&app, Method::POST, &uri, Some(form)).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{form}");
    }
    let long = format!("score=9&comment={}", "x".repeat(2001));
    let p = page(&app, Method::POST, &uri, Some(&long)).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_eq!(answers(&app).await, 0);

    // Unknown tokens: 404 and nothing written.
    let p = page(&app, Method::GET, "/s/0123abcd", None).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(p.html.contains("This survey link is not valid."));
    let p = page(&app, Method::POST, "/s/0123abcd", Some("score=9")).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert_eq!(answers(&app).await, 0);

    // The answer, with a comment shown escaped.
    let p = page(
        &app,
        Method::POST,
        &uri,
        Some("score=9&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E+great"),
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.html);
    assert!(p.html.contains("Your answer (9) is recorded."));
    assert!(
        p.html.contains("&#60;script&#62;") || p.html.contains("&lt;script&gt;"),
        "{}",
        p.html
    );
    assert!(!p.html.contains("<script>alert"));
    assert!(p.headers.get(header::SET_COOKIE).is_none());
    let a = app.db.store.survey_answers(&Scope::All, 10).await.unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].score, 9);
    assert_eq!(a[0].contact_id.as_deref(), Some("own-admin"));
    assert_eq!(
        a[0].comment.as_deref(),
        Some("<script>alert(1)</script> great")
    );

    // Used: 410 on the page and on the form, nothing more written.
    let p = page(&app, Method::GET, &uri, None).await;
    assert_eq!(p.status, StatusCode::GONE);
    assert!(p.html.contains("already been answered"));
    let p = page(&app, Method::POST, &uri, Some("score=0")).await;
    assert_eq!(p.status, StatusCode::GONE);
    assert_eq!(answers(&app).await, 1);

    // The dashboard shows the comment escaped.
    let leader = app.key(Role::Leader).await;
    let req = Request::builder()
        .uri("/surveys")
        .header(header::AUTHORIZATION, format!("Bearer {leader}"))
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = String::from_utf8(
        axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(html.contains("Latest comments"));
    assert!(html.contains("How likely are you to recommend Acme?"));
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("alert(1)"));
}

#[tokio::test]
async fn expired_links_are_refused_and_unsubscribing_is_honoured() {
    let (app, config) = app().await;
    let store = &app.db.store;
    // An expired send: a token whose expiry passed.
    let t = "feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface";
    let mut tx = store.begin_write().await.unwrap();
    tenure_store::surveys::insert_send(
        &mut tx,
        &tenure_store::surveys::Send {
            id: "svs_expired".into(),
            survey: "NPS".into(),
            kind: "nps".into(),
            channel: "email".into(),
            account_id: "own".into(),
            contact_id: "own-admin2".into(),
            segment: None,
            csm_email: None,
            token_hash: tenure_app::surveys::hash_token(t),
            sent_on: "2025-01-01".parse().unwrap(),
            sent_at: now_micros() - 40 * 86_400_000_000,
            expires_at: now_micros() - 10 * 86_400_000_000,
            answered_at: None,
            response_id: None,
            message_id: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let p = page(&app, Method::GET, &format!("/s/{t}?score=10"), None).await;
    assert_eq!(p.status, StatusCode::GONE);
    assert!(p.html.contains("This survey link has expired."));
    let p = page(&app, Method::POST, &format!("/s/{t}"), Some("score=10")).await;
    assert_eq!(p.status, StatusCode::GONE);
    assert_eq!(answers(&app).await, 0);

    // Unsubscribe: the GET asks, the POST does; later sends skip the
    // contact.
    let t2 = token(&app, "admin2@own.example").await;
    let p = page(&app, Method::GET, &format!("/s/{t2}/unsubscribe"), None).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.html.contains(&format!("action=\"/s/{t2}/unsubscribe\"")));
    assert!(!store.survey_unsubscribed("own-admin2").await.unwrap());
    let p = page(&app, Method::POST, &format!("/s/{t2}/unsubscribe"), None).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(store.survey_unsubscribed("own-admin2").await.unwrap());
    let p = page(&app, Method::POST, "/s/nope/unsubscribe", None).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let later = tenure_core::model::add_days(today(), 120);
    let out = tenure_app::surveys::send_due(store, &config, later)
        .await
        .unwrap();
    // admin of own and both admins of theirs; the users' pulse too.
    assert_eq!((out.emailed, out.in_app), (3, 2), "{out:?}");

    // The page is rate limited per client address.
    let mut limited = false;
    for _ in 0..40 {
        let p = page(&app, Method::GET, "/s/0000", None).await;
        if p.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(p.headers.contains_key(header::RETRY_AFTER));
            limited = true;
            break;
        }
    }
    assert!(limited);
}

#[tokio::test]
async fn surveys_api_lists_rates_and_the_in_app_channel() {
    let (app, _) = app().await;
    let leader = app.key(Role::Leader).await;
    let csm = app.key(Role::Csm).await;
    let viewer = app.key(Role::Viewer).await;

    let r = app.get("/api/v1/surveys", &leader).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], "NPS");
    assert_eq!(list[0]["sent"], 4);
    assert_eq!(list[1]["channel"], "in_app");
    // A CSM counts their own accounts' sends.
    let r = app.get("/api/v1/surveys", &csm).await;
    assert_eq!(r.body[0]["sent"], 2, "{}", r.body);

    // In-app: the pending survey, answered once.
    let r = app
        .get("/api/v1/surveys/pending?contact_id=own-user", &csm)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let pending = r.body.as_array().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["question"], "How happy are you?");
    assert_eq!(pending[0]["max_score"], 5);
    let id = pending[0]["id"].as_str().unwrap().to_string();
    // Another CSM's contact is not the caller's to see.
    let r = app
        .get("/api/v1/surveys/pending?contact_id=theirs-user", &csm)
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 0);
    assert_error(
        &app.get("/api/v1/surveys/pending", &csm).await,
        422,
        "invalid",
    );

    let answer =
        |score: i64| json!({"id": id, "contact_id": "own-user", "score": score, "comment": "fine"});
    assert_error(
        &app.post("/api/v1/surveys/answers", &viewer, answer(4))
            .await,
        403,
        "forbidden",
    );
    assert_error(
        &app.post("/api/v1/surveys/answers", &csm, answer(6)).await,
        422,
        "invalid",
    );
    let wrong = json!({"id": id, "contact_id": "own-admin", "score": 4});
    assert_error(
        &app.post("/api/v1/surveys/answers", &csm, wrong).await,
        404,
        "not_found",
    );
    assert_eq!(answers(&app).await, 0);
    let r = app.post("/api/v1/surveys/answers", &csm, answer(4)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(r.body["response_id"].as_str().unwrap().starts_with("srv_"));
    assert_error(
        &app.post("/api/v1/surveys/answers", &csm, answer(5)).await,
        410,
        "gone",
    );
    assert_eq!(answers(&app).await, 1);
    let r = app
        .get("/api/v1/surveys/pending?contact_id=own-user", &csm)
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 0);

    // Rates: by segment and CSM, and by month.
    let r = app.get("/api/v1/surveys/Pulse/rates", &leader).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["total"]["sent"], 2);
    assert_eq!(r.body["total"]["answered"], 1);
    assert_eq!(r.body["total"]["response_rate"], 0.5);
    assert_eq!(r.body["by_segment"][0]["key"], "All");
    assert_eq!(r.body["by_csm"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["months"][0]["mean_score"], 4.0);
    let r = app.get("/api/v1/surveys/Pulse/rates", &csm).await;
    assert_eq!(r.body["total"]["sent"], 1, "{}", r.body);
    assert_error(
        &app.get("/api/v1/surveys/Nope/rates", &leader).await,
        404,
        "not_found",
    );

    // The routes are in the OpenAPI document.
    let r = app.get("/api/openapi.json", &leader).await;
    let paths = &r.body["paths"];
    for p in [
        "/api/v1/surveys",
        "/api/v1/surveys/{name}/rates",
        "/api/v1/surveys/pending",
        "/api/v1/surveys/answers",
    ] {
        assert!(
            paths.get(p).is_some() || paths.get(p.trim_start_matches("/api/v1")).is_some(),
            "{p}: {}",
            r.body["paths"]
        );
    }
}

#[tokio::test]
async fn surveys_api_schedules_lists_and_cancels_a_send() {
    let (app, _) = app().await;
    let leader = app.key(Role::Leader).await;
    let csm = app.key(Role::Csm).await;
    let day = tenure_core::model::add_days(today(), 14).to_string();
    let body = json!({ "on": day });
    // Leaders and admins only; the day checked and named.
    assert_error(
        &app.post("/api/v1/surveys/NPS/schedule", &csm, body.clone())
            .await,
        403,
        "forbidden",
    );
    let r = app
        .post(
            "/api/v1/surveys/NPS/schedule",
            &leader,
            json!({"on": "2020-13-01"}),
        )
        .await;
    assert_error(&r, 422, "invalid");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("on:"),
        "{}",
        r.body
    );
    assert_error(
        &app.post(
            "/api/v1/surveys/NPS/schedule",
            &leader,
            json!({"on": "2020-01-01"}),
        )
        .await,
        422,
        "invalid",
    );
    assert_error(
        &app.post("/api/v1/surveys/Nope/schedule", &leader, body.clone())
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.post("/api/v1/surveys/NPS/schedule", &leader, json!({"day": day}))
            .await,
        422,
        "invalid",
    );
    let r = app
        .post("/api/v1/surveys/NPS/schedule", &leader, body.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["send_on"], day.as_str());
    assert_eq!(r.body["status"], "scheduled");
    let id = r.body["id"].as_str().unwrap().to_string();
    // Anyone signed in reads the schedules.
    let r = app.get("/api/v1/surveys/schedules", &csm).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["survey"], "NPS");
    assert!(
        r.body[0]["created_by"]
            .as_str()
            .unwrap()
            .contains("API key"),
        "{}",
        r.body
    );
    // Cancelled once; then it is no longer waiting.
    assert_eq!(
        app.delete(&format!("/api/v1/surveys/schedules/{id}"), &csm)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .delete(&format!("/api/v1/surveys/schedules/{id}"), &leader)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_error(
        &app.delete(&format!("/api/v1/surveys/schedules/{id}"), &leader)
            .await,
        404,
        "not_found",
    );
    let r = app.get("/api/v1/surveys/schedules", &leader).await;
    assert_eq!(r.body.as_array().unwrap().len(), 0);
    let r = app.get("/api/v1/surveys/schedules?all=true", &leader).await;
    assert_eq!(r.body[0]["status"], "cancelled", "{}", r.body);
    let r = app.get("/api/openapi.json", &leader).await;
    for p in [
        "/api/v1/surveys/schedules",
        "/api/v1/surveys/{name}/schedule",
    ] {
        assert!(r.body["paths"].get(p).is_some(), "{p}");
    }
}
