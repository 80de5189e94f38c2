//! The web pages through the real router, asserted with CSS selectors:
//! login and landing by role, what each page shows, scope, forms with CSRF
//! and validation, and that malformed input never gives a server error.

mod support;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use scraper::{Html, Selector};
use support::{ADMIN, LEADER, PASSWORD, Seeded, seeded};
use tenure_server::router;
use tower::ServiceExt;

struct Resp {
    status: StatusCode,
    location: String,
    cookie: Option<String>,
    body: String,
}

impl Resp {
    fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }
    fn texts(&self, selector: &str) -> Vec<String> {
        let sel = Selector::parse(selector).unwrap();
        self.html()
            .select(&sel)
            .map(|e| e.text().collect::<String>().trim().to_string())
            .collect()
    }
    fn count(&self, selector: &str) -> usize {
        self.texts(selector).len()
    }
    fn attr(&self, selector: &str, name: &str) -> Option<String> {
        self.attrs(selector, name).into_iter().next()
    }
    fn attrs(&self, selector: &str, name: &str) -> Vec<String> {
        let sel = Selector::parse(selector).unwrap();
        self.html()
            .select(&sel)
            .filter_map(|e| e.value().attr(name).map(str::to_string))
            .collect()
    }
}

async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let cookie = resp
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    Resp {
        status,
        location,
        cookie,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

struct Browser {
    app: Router,
    cookie: String,
}

impl Browser {
    async fn login(app: &Router, email: &str) -> (Browser, Resp) {
        let r = send(
            app,
            Method::POST,
            "/login",
            &[("content-type", "application/x-www-form-urlencoded")],
            &format!("email={email}&password={}", PASSWORD.replace(' ', "+")),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let b = Browser {
            app: app.clone(),
            cookie: r.cookie.clone().unwrap(),
        };
        (b, r)
    }
    async fn get(&self, uri: &str) -> Resp {
        send(
            &self.app,
            Method::GET,
            uri,
            &[("cookie", &self.cookie), ("accept", "text/html")],
            "",
        )
        .await
    }
    async fn post(&self, uri: &str, body: &str) -> Resp {
        send(
            &self.app,
            Method::POST,
            uri,
            &[
                ("cookie", &self.cookie),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            body,
        )
        .await
    }
    async fn csrf(&self) -> String {
        self.get("/settings")
            .await
            .attr("input[name=csrf_token]", "value")
            .unwrap()
    }
}

async fn app() -> (Seeded, Router) {
    let s = seeded(60).await;
    let r = router(s.state.clone());
    (s, r)
}

#[tokio::test]
async fn pages_send_strangers_to_login_and_land_each_role_on_its_home() {
    let (s, app) = app().await;
    let r = send(
        &app,
        Method::GET,
        "/accounts?q=a",
        &[("accept", "text/html")],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location, "/login?next=%2Faccounts%3Fq%3Da");

    let (_, r) = Browser::login(&app, LEADER).await;
    assert_eq!(r.location, "/");
    let (_, r) = Browser::login(&app, &s.csm).await;
    assert_eq!(r.location, "/accounts");

    let bad = send(
        &app,
        Method::POST,
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        &format!("email={LEADER}&password=nope"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.texts("#login-error"), ["Wrong email or password."]);
    let empty = send(
        &app,
        Method::POST,
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        "email=&password=",
    )
    .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.count("#email-error"), 1);
    assert_eq!(empty.count("#password-error"), 1);
}

#[tokio::test]
async fn overview_shows_revenue_retention_health_and_risk_with_charts() {
    let (_s, app) = app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    let r = b.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    let labels = r.texts(".stat .label");
    for l in [
        "ARR",
        "MRR",
        "NRR (30 days)",
        "GRR (30 days)",
        "NPS (90 days)",
        "CSAT (90 days)",
        "Revenue at risk",
    ] {
        assert!(labels.iter().any(|x| x == l), "{l} missing from {labels:?}");
    }
    assert!(r.texts(".stat .big")[0].starts_with('$'));
    assert_eq!(r.texts("#movements-t"), ["MRR movements by month"]);
    assert_eq!(
        r.count("svg.chart[role=img] desc"),
        2 + usize::from(r.count("#bands-t") == 1)
    );
    assert_eq!(r.count(".band-legend li"), 4);
    assert_eq!(r.attr("a[aria-current=page]", "href").as_deref(), Some("/"));
}

#[tokio::test]
async fn a_csm_sees_only_their_accounts_everywhere() {
    let (s, app) = app().await;
    let (b, _) = Browser::login(&app, &s.csm).await;
    let r = b.get("/accounts").await;
    assert_eq!(r.texts("h1"), ["My accounts"]);
    let csms = r.texts("#accounts tbody td:nth-child(3)");
    assert!(!csms.is_empty());
    assert!(
        csms.iter().all(|c| c.eq_ignore_ascii_case(&s.csm)),
        "{csms:?}"
    );
    // Another CSM's account is not found, as a page.
    let (leader, _) = Browser::login(&app, LEADER).await;
    let all = leader.get(&format!("/accounts?csm={}", s.other_csm)).await;
    let other = all.attr("#accounts tbody a", "href").unwrap();
    let r = b.get(&other).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.texts("h1"), ["Not Found"]);
    let csv = b.get("/accounts.csv").await;
    assert!(
        csv.body
            .lines()
            .skip(1)
            .all(|l| l.to_ascii_lowercase().contains(&s.csm))
    );
}

#[tokio::test]
async fn accounts_filter_sort_page_and_export_the_same_view() {
    let (_s, app) = app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    let r = b.get("/accounts?sort=name&dir=asc").await;
    let names = r.texts("#accounts tbody td:first-child a");
    assert_eq!(names.len(), 50);
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted);
    assert_eq!(
        r.attr("th[aria-sort=ascending] a", "data-sort").as_deref(),
        Some("name")
    );
    assert_eq!(r.texts(".pager span"), ["Page 1 of 2"]);
    let p2 = b.get("/accounts?sort=name&dir=asc&page=2").await;
    assert_eq!(p2.count("#accounts tbody tr"), 10);

    let plan = r.texts("#f-plan option")[1].clone();
    let f = b.get(&format!("/accounts?plan={plan}")).await;
    let plans = f.texts("#accounts tbody td:nth-child(2)");
    assert!(!plans.is_empty() && plans.iter().all(|p| *p == plan));
    let csv = b
        .get(&format!("/accounts.csv?plan={plan}&sort=name&dir=asc"))
        .await;
    assert!(csv.body.starts_with("id,name,plan,csm_email,arr"));
    assert_eq!(
        csv.body.lines().count() - 1,
        f.texts("#count")[0].parse::<usize>().unwrap()
    );

    let arr = b.get("/accounts").await;
    assert_eq!(
        arr.attr("th[aria-sort=descending] a", "data-sort")
            .as_deref(),
        Some("arr")
    );
}

#[tokio::test]
async fn malformed_queries_and_forms_never_give_a_server_error() {
    let (s, app) = app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    for uri in [
        "/accounts?page=-1&sort=%00&dir=sideways&band=blue&renewal=x",
        "/accounts?page=999999",
        "/accounts?q=%25%5F%27%22%3Cscript%3E",
        "/accounts.csv?renewal=99999999999",
        "/metrics?from=2026-13-45&to=yesterday",
        "/metrics?from=2026-02-01&to=2025-01-01&kind=nonsense&cohort=x",
        "/metrics?preset=nope",
        "/accounts/%00",
        "/accounts/no-such-account",
        "/risk?x=%ZZ",
    ] {
        let r = b.get(uri).await;
        assert!(r.status.as_u16() < 500, "{uri}: {}", r.status);
        assert!(
            uri.contains(".csv") || r.body.contains("<html"),
            "{uri} gave no page"
        );
    }
    let r = b.get("/metrics?from=2026-02-01&to=2025-01-01").await;
    assert!(r.texts("#period-err")[0].contains("ends before"));
    let r = b.get("/accounts?q=%3Cscript%3E").await;
    assert!(!r.body.contains("<script>"));
    // Posting without the CSRF token is refused, with a page.
    let id = b
        .get("/accounts")
        .await
        .attr("#accounts tbody a", "href")
        .unwrap();
    let r = b
        .post(&format!("{id}/engagements"), "kind=call&date=2020-01-01")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let _ = s;
    // NUL bytes, which PostgreSQL cannot store, are refused field by field.
    let csrf = b.csrf().await;
    let r = b
        .post(
            &format!("{id}/engagements"),
            &format!("csrf_token={csrf}&kind=call&date=2020-01-01&notes=a%00b"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.count("#e-notes-err"), 1);
    let r = b
        .post(
            &format!("{id}/override"),
            &format!("csrf_token={csrf}&score=50&reason=a%00b&until=2099-01-01"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let login = send(
        &app,
        Method::POST,
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        "email=a%00@example.com&password=x",
    )
    .await;
    assert_eq!(login.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_account_page_explains_and_takes_an_engagement() {
    let (s, app) = app().await;
    let (b, _) = Browser::login(&app, &s.csm).await;
    let id = b
        .get("/accounts")
        .await
        .attr("#accounts tbody a", "href")
        .unwrap();
    let r = b.get(&id).await;
    assert_eq!(r.status, StatusCode::OK);
    let facts = r.texts(".facts dt");
    for f in ["ARR", "Renewal", "Plan", "CSM"] {
        assert!(facts.iter().any(|x| x == f), "{f}: {facts:?}");
    }
    assert_eq!(r.texts("#mrr-history-t"), ["MRR at each month end"]);
    assert_eq!(r.count("#wau-t"), 1);
    assert!(r.count(".timeline li") > 0);
    assert!(r.count("#contacts tbody tr") > 0);

    let csrf = b.csrf().await;
    let bad = b
        .post(
            &format!("{id}/engagements"),
            &format!("csrf_token={csrf}&kind=party&date=tomorrow&notes=x"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.count("#e-kind-err"), 1);
    assert_eq!(bad.count("#e-date-err"), 1);
    assert_eq!(bad.attr("#e-notes", "aria-invalid"), None);
    assert_eq!(bad.texts("#e-notes"), ["x"]);

    let today = tenure_core::model::utc_date(jiff::Timestamp::now());
    let ok = b
        .post(
            &format!("{id}/engagements"),
            &format!("csrf_token={csrf}&kind=qbr&date={today}&notes=Renewal+plan+agreed"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let after = b.get(&ok.location).await;
    assert_eq!(after.texts("#saved"), ["Engagement logged."]);
    assert!(
        after
            .texts(".timeline li.t-engagement")
            .iter()
            .any(|t| t.contains("Renewal plan agreed"))
    );
}

#[tokio::test]
async fn the_account_page_explains_health_and_takes_an_override() {
    let (s, app) = app().await;
    let (b, _) = Browser::login(&app, &s.csm).await;
    let id = b
        .get("/accounts?band=green")
        .await
        .attr("#accounts tbody a", "href")
        .unwrap();
    let r = b.get(&id).await;
    assert!(r.count("#measures tbody tr") >= 5, "{}", r.body);
    // A paying account has a segment and a stage, recorded by the daily pass.
    let facts: Vec<(String, String)> = r
        .texts(".facts dt")
        .into_iter()
        .zip(r.texts(".facts dd"))
        .collect();
    for f in ["Segment", "Stage"] {
        let v = facts.iter().find(|(k, _)| k == f);
        assert!(
            v.is_some_and(|(_, v)| v.contains(" since ")),
            "{f}: {facts:?}"
        );
    }
    assert!(!r.texts(".score-line .score")[0].is_empty());
    let csrf = b.csrf().await;
    let today = tenure_core::model::utc_date(jiff::Timestamp::now());
    let bad = b
        .post(
            &format!("{id}/override"),
            &format!("csrf_token={csrf}&score=140&reason=&until=1999-01-01"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for e in ["#o-score-err", "#o-reason-err", "#o-until-err"] {
        assert_eq!(bad.count(e), 1, "{e}");
    }
    // The rules every surface shares (tenure_core::health::check_override).
    let far = tenure_core::model::add_days(today, 400);
    let long = "x".repeat(1001);
    let bad = b
        .post(
            &format!("{id}/override"),
            &format!("csrf_token={csrf}&score=20&reason={long}&until={far}"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.texts("#o-until-err"),
        ["An override lasts at most a year."]
    );
    assert_eq!(
        bad.texts("#o-reason-err"),
        ["Keep the reason under 1,000 characters."]
    );
    let ok = b
        .post(
            &format!("{id}/override"),
            &format!("csrf_token={csrf}&score=20&reason=Champion+left&until={today}"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let after = b.get(&ok.location).await;
    assert!(after.texts("#override-note")[0].contains("Champion left"));
    assert_eq!(after.texts(".score-line .score"), ["20"]);
    // The snapshot of today is rewritten: the account, green before, is
    // now red and on the risk board.
    let risk = b.get("/risk").await;
    let linked = risk.attrs("#risk tbody a", "href");
    assert!(
        linked.contains(&id),
        "{id} is not on the risk board: {linked:?}"
    );
    assert!(
        b.get("/accounts?band=green")
            .await
            .attrs("#accounts tbody a", "href")
            .iter()
            .all(|h| h != &id),
        "{id} is still listed as green"
    );
}

#[tokio::test]
async fn metrics_page_for_browsers_prometheus_for_scrapers() {
    let (_s, app) = app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    let r = b.get("/metrics?preset=12m").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.texts("#def-nrr")[0].starts_with("Net revenue retention"));
    assert_eq!(r.count("tr[id^=m-]"), 30);
    assert!(r.count("#cohort-table tbody tr") > 0);
    assert!(r.count("#ledger-table tbody tr details") > 0);
    let prom = send(&app, Method::GET, "/metrics", &[], "").await;
    assert_eq!(prom.status, StatusCode::OK);
    assert!(!prom.body.contains("<html"));
}

#[tokio::test]
async fn settings_show_users_and_keys_to_admins_and_the_scorecard_to_all() {
    let (s, app) = app().await;
    let (admin, _) = Browser::login(&app, ADMIN).await;
    let r = admin.get("/settings").await;
    assert!(
        r.texts("#users tbody td:first-child")
            .contains(&LEADER.to_string())
    );
    assert_eq!(r.count("#api-keys"), 1);
    assert_eq!(r.count("#ingest-keys"), 1);
    assert!(r.count(".scorecard tbody tr") > 0);
    let (csm, _) = Browser::login(&app, &s.csm).await;
    let r = csm.get("/settings").await;
    assert_eq!(r.count("#users"), 0);
    assert!(r.count(".scorecard tbody tr") > 0);
}

#[tokio::test]
async fn pages_accept_a_bearer_api_key() {
    let (s, app) = app().await;
    let k = tenure_server::auth::generate_key();
    s.db.store
        .create_api_key(
            &tenure_store::auth::NewApiKey {
                id: "key-web".into(),
                name: "screenshots".into(),
                kind: tenure_store::auth::KeyKind::Api,
                role: Some(tenure_store::auth::Role::Leader),
                prefix: k.prefix.clone(),
                key_hash: k.hash.clone(),
                user_email: None,
                all_accounts: false,
            },
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    let auth = format!("Bearer {}", k.secret);
    for uri in ["/", "/accounts", "/risk", "/settings"] {
        let r = send(&app, Method::GET, uri, &[("authorization", &auth)], "").await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert!(r.body.contains("API key screenshots"));
    }
    let r = send(
        &app,
        Method::GET,
        "/",
        &[("authorization", "Bearer tnr_wrong")],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let (_s, app) = app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    let csrf = b.csrf().await;
    let r = b.post("/logout", &format!("csrf_token={csrf}")).await;
    assert_eq!(r.location, "/login?out=1");
    let again = b.get("/").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
}
