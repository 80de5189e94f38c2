//! The account page's risk forms, `POST /accounts/{id}/risk/flag` and
//! `POST /accounts/{id}/risk/resolve`: a CSM puts their own account on
//! the board from its page and takes it off; another CSM's account is 404
//! and stays unflagged; a viewer gets 403, a form without the session's
//! CSRF token 403; an empty reason, a bad due day or outcome, and
//! resolving an account not on the board are 422 with the page and the
//! message. Also the settings page's Outbound section on either backend:
//! the send log's counts for admins and leaders only.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jiff::Timestamp;
use tenure_core::model::{Account, Currency, Money, Subscription, add_days};
use tenure_core::react::risk::{FlagSource, Outcome};
use tenure_server::auth::{hash_password, login};
use tenure_server::{AppState, ServerConfig, router};
use tenure_store::api::Scope;
use tenure_store::auth::{NewUser, Role};
use tenure_store::risk::Flag;
use tenure_store::rows::Record;
use tenure_store::testing::{TestDb, test_db};
use tower::ServiceExt;

const PASSWORD: &str = "pw-account-risk";
const CSM: &str = "csm@example.com";
const OTHER: &str = "other@example.com";
const VIEWER: &str = "viewer@example.com";

struct Fixture {
    db: TestDb,
    state: AppState,
    app: Router,
}

/// A logged-in browser: its session cookie and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

struct Resp {
    status: StatusCode,
    location: String,
    body: String,
}

/// `own` (CSM's) and `theirs` (OTHER's), each paying 500 a month, and a
/// user for CSM, OTHER and VIEWER.
async fn fixture() -> Fixture {
    let db = test_db().await;
    let store = &db.store;
    for (id, csm) in [("own", CSM), ("theirs", OTHER)] {
        let mut a = Account::bare(id);
        a.name = format!("Name {id}");
        a.csm_email = Some(csm.into());
        store
            .create_record(&Record::Account(a), &Scope::All)
            .await
            .unwrap();
        let s = Subscription {
            id: format!("s-{id}"),
            account_id: id.into(),
            mrr: Money::new(50_000, Currency::USD),
            plan: Some("Team".into()),
            seats: None,
            start_date: "2025-01-01".parse().unwrap(),
            end_date: None,
            renewal_date: None,
        };
        store
            .create_record(&Record::Subscription(s), &Scope::All)
            .await
            .unwrap();
    }
    let hash = hash_password(PASSWORD).unwrap();
    for (email, role) in [(CSM, Role::Csm), (OTHER, Role::Csm), (VIEWER, Role::Viewer)] {
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
    let state = AppState::new(store.clone(), ServerConfig::default());
    let app = router(state.clone());
    Fixture { db, state, app }
}

impl Fixture {
    async fn session(&self, email: &str) -> Session {
        let s = login(&self.state, email, PASSWORD).await.unwrap();
        let cookie = s
            .set_cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        Session {
            cookie,
            csrf: s.csrf_token,
        }
    }

    async fn call(&self, req: Request<Body>) -> Resp {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        Resp {
            status,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Posts `fields` (already form-encoded) with the session's CSRF token.
    async fn post(&self, s: &Session, path: &str, fields: &str) -> Resp {
        self.post_raw(s, path, &format!("csrf_token={}&{fields}", s.csrf))
            .await
    }

    async fn post_raw(&self, s: &Session, path: &str, body: &str) -> Resp {
        let req = Request::post(path)
            .header(header::COOKIE, &s.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.call(req).await
    }

    async fn get(&self, s: &Session, path: &str) -> Resp {
        let req = Request::get(path)
            .header(header::COOKIE, &s.cookie)
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .unwrap();
        self.call(req).await
    }

    /// Every open flag.
    async fn open_flags(&self) -> Vec<Flag> {
        self.db.store.risk_flags(&Scope::All, None).await.unwrap()
    }
}

fn today() -> jiff::civil::Date {
    tenure_app::clock::today()
}

#[tokio::test]
async fn a_csm_flags_their_own_account_from_its_page_and_resolves_it() {
    let f = fixture().await;
    let csm = f.session(CSM).await;
    let page = f.get(&csm, "/accounts/own").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Not on the board"), "{}", page.body);
    assert!(page.body.contains("id=\"flag-risk-form\""));

    let due = add_days(today(), 7);
    let r = f
        .post(
            &csm,
            "/accounts/own/risk/flag",
            &format!("reason=Champion+left&next_step=Call+the+CFO&due={due}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location, "/accounts/own?saved=flagged");
    let flags = f.open_flags().await;
    assert_eq!(flags.len(), 1, "{flags:?}");
    let flag = &flags[0];
    assert_eq!(flag.account_id, "own");
    assert_eq!(flag.reason, "Champion left");
    assert_eq!(flag.source, FlagSource::Manual);
    assert_eq!(flag.flagged_by.as_deref(), Some(CSM));
    assert_eq!(flag.next_step.as_deref(), Some("Call the CFO"));
    assert_eq!(flag.next_step_due, Some(due));
    assert_eq!(flag.flagged_on, today());

    // The page shows it, and so does the board (the CSM's own).
    let page = f.get(&csm, "/accounts/own?saved=flagged").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "The account is on the risk board.",
        "On the board",
        "Champion left",
        "Call the CFO",
        &due.to_string(),
        &format!("By hand ({CSM})"),
        "id=\"resolve-form\"",
    ] {
        assert!(page.body.contains(text), "{text:?} not on the page");
    }
    let board = tenure_app::risk::board(
        &f.db.store,
        &f.state.web.config,
        &Scope::Csm(CSM.into()),
        today(),
    )
    .await
    .unwrap();
    assert_eq!(
        board
            .rows
            .iter()
            .map(|r| r.account_id.as_str())
            .collect::<Vec<_>>(),
        ["own"]
    );

    // Resolved from the page: off the board with the outcome.
    let r = f
        .post(
            &csm,
            "/accounts/own/risk/resolve",
            "outcome=saved&notes=New+sponsor",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location, "/accounts/own?saved=resolved");
    assert!(f.open_flags().await.is_empty());
    let resolved = f.db.store.risk_flag(&flag.id, &Scope::All).await.unwrap();
    assert_eq!(resolved.outcome, Some(Outcome::Saved));
    assert_eq!(resolved.resolved_on, Some(today()));
    assert_eq!(resolved.notes.as_deref(), Some("New sponsor"));
    let page = f.get(&csm, "/accounts/own?saved=resolved").await;
    assert!(page.body.contains("The account is off the risk board."));
    assert!(page.body.contains("Not on the board"));
}

#[tokio::test]
async fn another_csms_account_is_not_found_and_viewers_and_forged_forms_are_refused() {
    let f = fixture().await;
    let csm = f.session(CSM).await;
    // Another CSM's account: 404, nothing flagged, nothing resolved.
    let r = f
        .post(&csm, "/accounts/theirs/risk/flag", "reason=Champion+left")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert!(f.open_flags().await.is_empty());
    let other = f.session(OTHER).await;
    let r = f
        .post(&other, "/accounts/theirs/risk/flag", "reason=Budget+cut")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = f
        .post(&csm, "/accounts/theirs/risk/resolve", "outcome=churned")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(f.open_flags().await.len(), 1);
    // A CSM's page of another's account is not found either.
    assert_eq!(
        f.get(&csm, "/accounts/theirs").await.status,
        StatusCode::NOT_FOUND
    );
    // An account that does not exist.
    let r = f
        .post(&csm, "/accounts/nope/risk/flag", "reason=Champion+left")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A viewer sees only the shared views and account cards (docs/CRM.md):
    // the account page sends them to the views; flagging and resolving
    // are refused.
    let viewer = f.session(VIEWER).await;
    let page = f.get(&viewer, "/accounts/theirs").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let r = f
        .post(&viewer, "/accounts/own/risk/flag", "reason=Champion+left")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = f
        .post(&viewer, "/accounts/theirs/risk/resolve", "outcome=saved")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Without the session's CSRF token, or without a session: refused.
    let r = f
        .post_raw(&csm, "/accounts/own/risk/flag", "reason=Champion+left")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = f
        .post_raw(
            &csm,
            "/accounts/own/risk/flag",
            "csrf_token=guess&reason=Champion+left",
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let stranger = Session {
        cookie: "tenure_session=nope".into(),
        csrf: csm.csrf.clone(),
    };
    let r = f
        .post(&stranger, "/accounts/own/risk/flag", "reason=Champion+left")
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(f.open_flags().await.len(), 1);
}

#[tokio::test]
async fn refused_forms_come_back_with_their_message() {
    let f = fixture().await;
    let csm = f.session(CSM).await;
    // An empty reason: 422, the page with the message and the form as typed.
    let r = f
        .post(
            &csm,
            "/accounts/own/risk/flag",
            "reason=++&next_step=Call+the+CFO",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("id=\"flag-risk-err\""), "{}", r.body);
    assert!(
        r.body.contains("Say why the account is at risk."),
        "{}",
        r.body
    );
    assert!(r.body.contains("value=\"Call the CFO\""));
    assert!(r.body.contains("id=\"flag-risk\" open"));
    // A due day that is not a date, or before today.
    let r = f
        .post(
            &csm,
            "/accounts/own/risk/flag",
            "reason=Champion+left&next_step=Call&due=soon",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("value=\"Champion left\""));
    let yesterday = add_days(today(), -1);
    let r = f
        .post(
            &csm,
            "/accounts/own/risk/flag",
            &format!("reason=Champion+left&next_step=Call&due={yesterday}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("is before today"), "{}", r.body);
    // A NUL (which PostgreSQL cannot store) is refused, not a failure.
    let r = f
        .post(&csm, "/accounts/own/risk/flag", "reason=a%00b")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(f.open_flags().await.is_empty());

    // Resolving an account not on the board, or with a bad outcome.
    let r = f
        .post(&csm, "/accounts/own/risk/resolve", "outcome=saved")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("id=\"resolve-err\""));
    assert!(r.body.contains("is not on the risk board"), "{}", r.body);
    let r = f
        .post(&csm, "/accounts/own/risk/flag", "reason=Champion+left")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = f
        .post(&csm, "/accounts/own/risk/resolve", "outcome=lost")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("Expected saved, churned or downgraded"),
        "{}",
        r.body
    );
    let r = f
        .post(
            &csm,
            "/accounts/own/risk/resolve",
            "outcome=saved&notes=a%00b",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(f.open_flags().await.len(), 1);
}

/// The settings page's Outbound section (which shares this fixture): the
/// send log's counts by status from the store on either backend, for
/// admins and leaders, not for CSMs; no secret or body on the page.
#[tokio::test]
async fn the_settings_page_counts_the_send_log_for_admins_and_leaders_only() {
    use tenure_store::outbound::{Attempt, NewMessage, OutboxKind};

    let f = fixture().await;
    let store = &f.db.store;
    let t = 1_780_000_000_000_000;
    for (id, kind, target) in [
        ("out_a", OutboxKind::Email, "ana@customer.example"),
        ("out_b", OutboxKind::Email, "bo@customer.example"),
        ("out_c", OutboxKind::Webhook, "crm"),
    ] {
        store
            .enqueue(
                &NewMessage {
                    id: id.into(),
                    kind,
                    target: target.into(),
                    subject: None,
                    body: "body-not-shown-1f2e".into(),
                    source: "test".into(),
                    account_id: Some("own".into()),
                },
                t,
            )
            .await
            .unwrap();
    }
    store
        .record_attempt(
            "out_c",
            &Attempt::Dead {
                error: "HTTP 410 Gone".into(),
            },
            t + 1,
        )
        .await
        .unwrap();
    store
        .record_attempt("out_b", &Attempt::Sent, t + 2)
        .await
        .unwrap();
    let counts = store.outbox_counts().await.unwrap();
    let counts: Vec<(&str, u64)> = counts.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    assert_eq!(
        counts,
        [("queued", 1), ("sent", 1), ("failed", 0), ("dead", 1)]
    );

    for (email, role) in [
        ("admin@example.com", Role::Admin),
        ("lead@example.com", Role::Leader),
    ] {
        store
            .create_user(
                &NewUser {
                    id: format!("usr-{email}"),
                    email: email.into(),
                    name: None,
                    role,
                    all_accounts: false,
                    password_hash: hash_password(PASSWORD).unwrap(),
                },
                Timestamp::now(),
            )
            .await
            .unwrap();
        let s = f.session(email).await;
        let page = f.get(&s, "/settings").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("id=\"outbound\""), "{email}");
        assert!(page.body.contains("data-message=\"out_c\""));
        assert!(page.body.contains("HTTP 410 Gone"));
        assert!(!page.body.contains("body-not-shown-1f2e"));
    }
    let csm = f.session(CSM).await;
    let page = f.get(&csm, "/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("id=\"outbound\""));
    assert!(!page.body.contains("ana@customer.example"));
}
