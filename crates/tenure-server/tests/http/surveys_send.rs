//! Sending a survey now (docs/VOICE.md, "Sending"): the `/surveys` page's
//! "Send now to the audience" form for leaders and admins (with the
//! session's CSRF token; a CSM or a viewer gets no form and 403, a form
//! without the token 403), which queues one email per contact of the
//! audience the fatigue limit lets be surveyed and says so; and `POST
//! /api/v1/surveys/{name}/send`, leaders and admins only, 404 for an
//! unknown survey, in the OpenAPI document.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jiff::Timestamp;
use serde_json::json;
use tenure_core::config::parse_config;
use tenure_server::auth::{hash_password, login};
use tenure_server::{AppState, ServerConfig, router};
use tenure_store::api::Scope;
use tenure_store::auth::{NewUser, Role};
use tenure_store::outbound::LogQuery;
use tenure_store::testing::test_db;
use tower::ServiceExt;

use crate::common::{App, assert_error};

const PASSWORD: &str = "pw-surveys-send";
const LEADER: &str = "leader@example.com";
const CSM: &str = "csm@example.com";
const VIEWER: &str = "viewer@example.com";

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
name = "Quarterly NPS"
kind = "nps"
question = "How likely are you to recommend Acme?"
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

/// Two paying accounts with two admins and a user each; a leader, a CSM
/// and a viewer who can log in; nothing sent yet.
async fn fixture() -> (App, AppState) {
    let config = parse_config(CONFIG).unwrap();
    let db = test_db().await;
    let store = &db.store;
    crate::surveys::portfolio(store, &[("one", CSM), ("two", CSM)]).await;
    let hash = hash_password(PASSWORD).unwrap();
    for (email, role) in [
        (LEADER, Role::Leader),
        (CSM, Role::Csm),
        (VIEWER, Role::Viewer),
    ] {
        store
            .create_user(
                &NewUser {
                    id: format!("usr-{email}"),
                    email: email.into(),
                    name: None,
                    role,
                    all_accounts: false,
                    password_hash: hash.clone(),
                },
                Timestamp::now(),
            )
            .await
            .unwrap();
    }
    let state = AppState::new(db.store.clone(), ServerConfig::default()).with_tenure_config(config);
    let router = router(state.clone());
    (App { db, router }, state)
}

/// A logged-in browser: its cookie and CSRF token.
async fn session(state: &AppState, email: &str) -> (String, String) {
    let s = login(state, email, PASSWORD).await.unwrap();
    let cookie = s
        .set_cookie
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (cookie, s.csrf_token)
}

/// Status, Location and body of a request through the router.
async fn call(router: &Router, req: Request<Body>) -> (StatusCode, String, String) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        location,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

async fn get_page(router: &Router, cookie: &str, path: &str) -> (StatusCode, String) {
    let req = Request::get(path)
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = call(router, req).await;
    (status, body)
}

async fn post_form(
    router: &Router,
    cookie: &str,
    path: &str,
    body: &str,
) -> (StatusCode, String, String) {
    let req = Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap();
    call(router, req).await
}

async fn emails(app: &App) -> Vec<String> {
    let mut to: Vec<String> = app
        .db
        .store
        .outbox_log(&LogQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.target)
        .collect();
    to.sort();
    to
}

const SEND: &str = "/surveys/Quarterly%20NPS/send";

#[tokio::test]
async fn a_leader_sends_a_survey_now_from_the_surveys_page() {
    let (app, state) = fixture().await;
    let (cookie, csrf) = session(&state, LEADER).await;
    let (status, page) = get_page(&app.router, &cookie, "/surveys").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains(r#"action="/surveys/Quarterly%20NPS/send""#),
        "{page}"
    );
    assert!(page.contains(&format!(r#"name="csrf_token" value="{csrf}""#)));
    assert!(page.contains("Send now to the audience"));

    let (status, location, body) =
        post_form(&app.router, &cookie, SEND, &format!("csrf_token={csrf}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.starts_with("/surveys?sent=Quarterly%20NPS&emailed=4&in_app=0"));
    // The admins of both accounts, one email each.
    assert_eq!(
        emails(&app).await,
        [
            "admin2@one.example",
            "admin2@two.example",
            "admin@one.example",
            "admin@two.example"
        ]
    );
    let (_, page) = get_page(&app.router, &cookie, &location).await;
    assert!(
        page.contains("Quarterly NPS: 4 email(s) queued, 0 in-app survey(s) opened."),
        "{page}"
    );
    // Sent counts on the page at once.
    assert!(page.contains(r#"<td class="num">4</td>"#), "{page}");

    // Again the same day: nobody is due (one survey a day, fatigue).
    let (status, location, _) =
        post_form(&app.router, &cookie, SEND, &format!("csrf_token={csrf}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.contains("emailed=0&in_app=0"), "{location}");
    let (_, page) = get_page(&app.router, &cookie, &location).await;
    assert!(page.contains("within the fatigue limit"), "{page}");
    assert_eq!(emails(&app).await.len(), 4);

    // The in-app pulse goes to the users.
    let (_, location, _) = post_form(
        &app.router,
        &cookie,
        "/surveys/Pulse/send",
        &format!("csrf_token={csrf}"),
    )
    .await;
    assert!(location.contains("emailed=0&in_app=2"), "{location}");

    // An unknown survey: 404.
    let (status, _, _) = post_form(
        &app.router,
        &cookie,
        "/surveys/Nope/send",
        &format!("csrf_token={csrf}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn csms_viewers_and_forms_without_the_token_send_nothing() {
    let (app, state) = fixture().await;
    for who in [CSM, VIEWER] {
        let (cookie, csrf) = session(&state, who).await;
        let (status, page) = get_page(&app.router, &cookie, "/surveys").await;
        if who == VIEWER {
            // A viewer sees only the shared views (docs/CRM.md): the page
            // sends them there.
            assert_eq!(status, StatusCode::SEE_OTHER);
        } else {
            assert_eq!(status, StatusCode::OK);
            assert!(!page.contains("Send now to the audience"), "{who}: {page}");
        }
        let (status, _, body) =
            post_form(&app.router, &cookie, SEND, &format!("csrf_token={csrf}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
    }
    let (cookie, _) = session(&state, LEADER).await;
    let (status, _, _) = post_form(&app.router, &cookie, SEND, "csrf_token=guess").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = post_form(&app.router, &cookie, SEND, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An API key cannot post the form (no session, no CSRF token).
    let key = app.key(Role::Leader).await;
    let req = Request::post(SEND)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("csrf_token=x"))
        .unwrap();
    let (status, _, _) = call(&app.router, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(emails(&app).await.is_empty());
}

#[tokio::test]
async fn the_api_sends_a_survey_now_for_leaders_and_admins_only() {
    let (app, _) = fixture().await;
    let path = "/api/v1/surveys/Quarterly%20NPS/send";
    for role in [Role::Csm, Role::Viewer] {
        let key = app.key(role).await;
        let r = app.post(path, &key, json!({})).await;
        assert_error(&r, 403, "forbidden");
    }
    assert!(emails(&app).await.is_empty());
    let leader = app.key(Role::Leader).await;
    let r = app.post(path, &leader, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["survey"], "Quarterly NPS");
    assert_eq!(r.body["emailed"], 4);
    assert_eq!(r.body["in_app"], 0);
    assert_eq!(r.body["errors"], json!([]));
    assert_eq!(r.body["day"], tenure_app::clock::today().to_string());
    let admin = app.key(Role::Admin).await;
    let r = app.post(path, &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["emailed"], 0, "surveyed today");
    let r = app
        .post("/api/v1/surveys/Pulse/send", &admin, json!({}))
        .await;
    assert_eq!(r.body["in_app"], 2, "{}", r.body);
    let r = app.get("/api/v1/surveys", &admin).await;
    assert_eq!(r.body[0]["sent"], 4);
    assert_eq!(r.body[1]["sent"], 2);
    let r = app
        .post("/api/v1/surveys/Nope/send", &admin, json!({}))
        .await;
    assert_error(&r, 404, "not_found");

    let r = app
        .send(axum::http::Method::GET, "/api/openapi.json", None, None)
        .await;
    let op = &r.body["paths"]["/api/v1/surveys/{name}/send"]["post"];
    assert!(op.is_object(), "not in the OpenAPI document");
    assert!(op["responses"].get("403").is_some());
    assert!(
        r.body["components"]["schemas"]["SendOut"]["properties"]
            .get("emailed")
            .is_some()
    );
}

const SCHEDULE: &str = "/surveys/Quarterly%20NPS/schedule";

#[tokio::test]
async fn the_schedule_forms_are_for_leaders_with_the_token_and_refuse_bad_days() {
    let (app, state) = fixture().await;
    let on = tenure_core::model::add_days(tenure_app::clock::today(), 5).to_string();
    // A CSM sees the schedules but no form, and is refused.
    let (cookie, csrf) = session(&state, CSM).await;
    let (_, page) = get_page(&app.router, &cookie, "/surveys").await;
    assert!(!page.contains("schedule-form"), "{page}");
    let (status, _, _) = post_form(
        &app.router,
        &cookie,
        SCHEDULE,
        &format!("csrf_token={csrf}&on={on}"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A leader without the token is refused; with it, a bad day comes
    // back as the reason and nothing is written.
    let (cookie, csrf) = session(&state, LEADER).await;
    let (status, _, _) = post_form(&app.router, &cookie, SCHEDULE, &format!("on={on}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (day, why) in [
        ("soon", "The day to send Quarterly NPS on"),
        ("2020-01-01", "is in the past"),
    ] {
        let (status, location, _) = post_form(
            &app.router,
            &cookie,
            SCHEDULE,
            &format!("csrf_token={csrf}&on={day}"),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, page) = get_page(&app.router, &cookie, &location).await;
        assert!(page.contains(why), "{why}: {page}");
    }
    assert!(
        app.db
            .store
            .survey_schedules(false)
            .await
            .unwrap()
            .is_empty()
    );
    // Scheduled, listed, then cancelled by its form.
    let (_, location, _) = post_form(
        &app.router,
        &cookie,
        SCHEDULE,
        &format!("csrf_token={csrf}&on={on}"),
    )
    .await;
    let (_, page) = get_page(&app.router, &cookie, &location).await;
    assert!(
        page.contains(&format!("Quarterly NPS is scheduled for {on}")),
        "{page}"
    );
    let id = app.db.store.survey_schedules(true).await.unwrap()[0]
        .id
        .clone();
    assert!(
        page.contains(&format!("/surveys/schedules/{id}/cancel")),
        "{page}"
    );
    let cancel = format!("/surveys/schedules/{id}/cancel");
    let (status, _, _) = post_form(&app.router, &cookie, &cancel, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no token, no cancel");
    let (_, location, _) =
        post_form(&app.router, &cookie, &cancel, &format!("csrf_token={csrf}")).await;
    let (_, page) = get_page(&app.router, &cookie, &location).await;
    assert!(page.contains("cancelled by leader@example.com"), "{page}");
    // Twice: the reason, not an error page.
    let (_, location, _) =
        post_form(&app.router, &cookie, &cancel, &format!("csrf_token={csrf}")).await;
    let (_, page) = get_page(&app.router, &cookie, &location).await;
    assert!(page.contains("is not waiting to be sent"), "{page}");
    assert!(emails(&app).await.is_empty(), "nothing sent");
}

/// The account page's "Voice of the customer": the surveys sent to its
/// contacts (answered with the score, or waiting), its feedback with
/// source, sentiment and themes (a customer's markup shown as text), and
/// the requests it asks for, linked to their row on /requests.
#[tokio::test]
async fn the_account_page_shows_its_feedback_requests_and_surveys() {
    let (app, state) = fixture().await;
    let store = &app.db.store;
    let config = state.web.config.clone();
    let (cookie, csrf) = session(&state, LEADER).await;
    let (_, page) = get_page(&app.router, &cookie, "/accounts/one").await;
    assert!(
        page.contains("No feedback from this account yet."),
        "{page}"
    );
    assert!(page.contains("No survey sent to this account"), "{page}");

    post_form(&app.router, &cookie, SEND, &format!("csrf_token={csrf}")).await;
    let log = store.outbox_log(&LogQuery::default()).await.unwrap();
    let m = log
        .iter()
        .find(|m| m.target == "admin@one.example")
        .unwrap();
    let base = "https://cs.example.com/s/";
    let at = m.body.find(base).unwrap() + base.len();
    let token: String = m.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    let comment = "Exports <b>time out</b>";
    tenure_app::surveys::answer(
        store,
        &config,
        &token,
        3,
        Some(comment),
        tenure_app::clock::now_micros(),
    )
    .await
    .unwrap()
    .unwrap();
    tenure_app::feedback::refresh(store, &config).await.unwrap();
    let request = tenure_app::feedback::create(
        store,
        &config,
        &Scope::All,
        &tenure_app::feedback::NewRequest {
            title: "Faster exports".into(),
            description: None,
            account_ids: vec!["one".into()],
            feedback_id: None,
        },
        Some(LEADER),
        tenure_app::clock::today(),
    )
    .await
    .unwrap();

    let (status, page) = get_page(&app.router, &cookie, "/accounts/one").await;
    assert_eq!(status, StatusCode::OK);
    let voice = &page[page.find(r#"id="voice""#).expect("the voice section")..];
    assert!(
        voice.contains("Exports &#60;b&#62;time out&#60;/b&#62;") && !voice.contains("<b>time"),
        "{voice}"
    );
    assert!(
        voice.contains(r#"<span class="pill">survey</span>"#),
        "{voice}"
    );
    assert!(voice.contains("negative"), "{voice}");
    assert!(
        voice.contains(&format!(
            r#"href="/requests#request-{}">Faster exports</a>"#,
            request.id
        )),
        "{voice}"
    );
    assert!(voice.contains("answered 3"), "{voice}");
    assert!(voice.contains("waiting"), "the other admin's send: {voice}");
    assert!(
        voice.contains(r#"href="/feedback?account_id=one""#),
        "{voice}"
    );
    // The other account's page shows none of it.
    let (_, page) = get_page(&app.router, &cookie, "/accounts/two").await;
    let voice = &page[page.find(r#"id="voice""#).unwrap()..];
    assert!(
        !voice.contains("Faster exports") && !voice.contains("Exports &#60;b"),
        "{voice}"
    );
    // The request's row on /requests carries the anchor.
    let (_, page) = get_page(&app.router, &cookie, "/requests").await;
    assert!(
        page.contains(&format!(r#"id="request-{}""#, request.id)),
        "{page}"
    );
}
