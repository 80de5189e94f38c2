//! The web pages through the real router, asserted with CSS selectors:
//! login and landing by role, what each page shows, scope, forms with CSRF
//! and validation, and that malformed input never gives a server error.

mod support;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use scraper::{Html, Selector};
use support::{ADMIN, ANN, BO, LEADER, PASSWORD, Seeded, seeded};
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

// The Engage pages, on the hand-worked portfolio of `support::engage_fixture`
// (the same numbers as tenure-app's tests/engage.rs).

const PERIOD: &str = "from=2025-06-01&as_of=2025-08-31";

async fn engage_app() -> (Seeded, Router) {
    let s = support::engage_fixture().await;
    let r = router(s.state.clone());
    (s, r)
}

/// The cells of each row of a table, as text.
fn rows(r: &Resp, table: &str) -> Vec<Vec<String>> {
    let html = r.html();
    let tr = Selector::parse(&format!("{table} tbody tr")).unwrap();
    let cell = Selector::parse("th, td").unwrap();
    html.select(&tr)
        .map(|row| {
            row.select(&cell)
                .map(|c| {
                    c.text()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn segments_page_shows_each_segment_with_churn_compliance_and_charts() {
    let (_s, app) = engage_app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    let r = b.get(&format!("/segments?{PERIOD}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.attr("a[aria-current=page]", "href").as_deref(),
        Some("/segments")
    );
    // Sized: a3 ($500 MRR), 22 of 92 days on time; Big: a2, 11 of 92;
    // Small: a1, tech touch, no policy. Nobody churned of those held on
    // 06-02.
    assert_eq!(
        rows(&r, "#segments"),
        [
            [
                "Sized Marked big by hand.",
                "high",
                "1",
                "$6,000",
                "42.9",
                "0.0% 0 of 1",
                "23.9%"
            ],
            ["Big", "high", "1", "$4,800", "40.0", "0.0% 0 of 1", "12.0%"],
            ["Small", "tech", "1", "$1,200", "40.0", "0.0% 0 of 1", "–"],
        ]
    );
    assert_eq!(
        r.attrs("#segments .share", "title"),
        [
            "22 of 92 days on time",
            "11 of 92 days on time",
            "nothing required"
        ]
    );
    // a4 churned before the period: in no segment.
    assert_eq!(r.texts("#unsegmented"), ["1"]);
    assert_eq!(r.texts("#no-segment td.num"), ["1"]);
    assert_eq!(r.texts("#segment-arr-t"), ["ARR per segment"]);
    assert_eq!(r.count("svg rect.s-arr"), 3);
    assert_eq!(r.texts("#segment-health-t"), ["Mean health per segment"]);
    // The rule on attrs.size cannot be decided where it is missing.
    assert_eq!(r.count("#rule-errors li"), 3);
    // The form shows the period asked for, and a leader can pick a CSM.
    assert_eq!(r.attr("#p-from", "value").as_deref(), Some("2025-06-01"));
    assert_eq!(r.attr("#p-as-of", "value").as_deref(), Some("2025-08-31"));
    assert_eq!(r.texts("#p-csm option"), ["Everyone", ANN, BO]);
}

#[tokio::test]
async fn journey_page_shows_the_funnel_stages_friction_and_stuck_accounts() {
    let (_s, app) = engage_app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    let r = b.get(&format!("/journey?{PERIOD}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // On 08-31 a1, a2, a3 are in onboarding (91, 91 and 46 days), a4 in
    // churned. Over the period onboarding was entered 4 times and left once,
    // for renewal, after 14 days; renewal was entered once and left after
    // 31 days, back to onboarding.
    assert_eq!(
        rows(&r, "#stages"),
        [
            [
                "onboarding",
                "3",
                "$12,000",
                "91",
                "30 days",
                "3",
                "4",
                "1",
                "0",
                "0",
                "100.0%",
                "14"
            ],
            [
                "renewal", "0", "$0", "–", "–", "0", "1", "0", "1", "0", "0.0%", "31"
            ],
            [
                "churned", "1", "$0", "91", "–", "0", "1", "0", "0", "0", "–", "–"
            ],
        ]
    );
    assert_eq!(r.attrs("#stages tbody tr", "class"), ["lost-stage"]);
    // The funnel: one bar per stage, with its accounts and its note.
    assert_eq!(r.count("#h-funnel ~ svg rect"), 3);
    let desc = r.texts("#funnel-d")[0].clone();
    assert!(
        desc.starts_with("onboarding: 100.0% moved on · 14 days; renewal: 0.0% moved on · 31 days"),
        "{desc}"
    );
    assert_eq!(
        rows(&r, "#friction"),
        [
            ["onboarding 30 days", "Sized", "1", "1 100.0%", "$6,000"],
            ["onboarding 30 days", "Big", "1", "1 100.0%", "$4,800"],
            ["onboarding 30 days", "Small", "1", "1 100.0%", "$1,200"],
        ]
    );
    assert_eq!(
        r.texts("#stuck tbody td:first-child a"),
        ["Gamma Sized", "Beta Big", "Acme Small"]
    );
    assert_eq!(
        r.attrs("#stuck tbody td:first-child a", "href"),
        ["/accounts/a3", "/accounts/a2", "/accounts/a1"]
    );
    assert_eq!(r.texts("#stuck tbody td:nth-child(4)"), ["61", "61", "16"]);
    assert_eq!(r.texts("#stuck-count"), ["3"]);
}

#[tokio::test]
async fn cadence_page_shows_compliance_by_group_and_the_overdue_list() {
    let (_s, app) = engage_app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    let r = b.get(&format!("/cadence?{PERIOD}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Calls every 10 days for a2 (never called: due 06-11) and a3 (called
    // 06-25: due 07-05).
    assert_eq!(r.texts("#compliance"), ["17.9%"]);
    assert_eq!(r.texts("#overdue-count"), ["2"]);
    assert_eq!(
        rows(&r, "#by-csm"),
        [[ANN, "1", "12.0%", "1"], [BO, "1", "23.9%", "1"]]
    );
    assert_eq!(
        r.attrs("#by-csm a", "href"),
        [
            format!("/cadence?{PERIOD}&csm=ann%40example.com"),
            format!("/cadence?{PERIOD}&csm=bo%40example.com"),
        ]
    );
    assert_eq!(
        rows(&r, "#by-segment"),
        [["Big", "1", "12.0%", "1"], ["Sized", "1", "23.9%", "1"]]
    );
    assert_eq!(
        rows(&r, "#by-policy"),
        [["high / any stage / call every 10 days", "2", "17.9%", "2"]]
    );
    assert_eq!(
        rows(&r, "#overdue"),
        [
            [
                "Beta Big a2",
                ANN,
                "$4,800",
                "call every 10 days",
                "never",
                "2025-06-11",
                "81"
            ],
            [
                "Gamma Sized a3",
                BO,
                "$6,000",
                "call every 10 days",
                "2025-06-25",
                "2025-07-05",
                "57"
            ],
        ]
    );
    assert_eq!(
        r.attrs("#overdue tbody a", "href"),
        ["/accounts/a2", "/accounts/a3"]
    );
    // A leader narrows the page to one CSM.
    let bo = b.get(&format!("/cadence?{PERIOD}&csm={BO}")).await;
    assert_eq!(bo.texts("#overdue tbody td:first-child a"), ["Gamma Sized"]);
    assert_eq!(rows(&bo, "#by-csm"), [[BO, "1", "23.9%", "1"]]);
    assert_eq!(bo.count("#by-csm a"), 0, "already narrowed");
    assert_eq!(bo.texts("#p-csm option[selected]"), [BO]);
}

#[tokio::test]
async fn a_csm_sees_only_their_accounts_on_the_engage_pages_whatever_they_ask() {
    let (_s, app) = engage_app().await;
    let (ann, _) = Browser::login(&app, ANN).await;
    // Asking for Bo's accounts still gives Ann's.
    let r = ann.get(&format!("/cadence?{PERIOD}&csm={BO}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.texts("#overdue tbody td:first-child a"), ["Beta Big"]);
    assert_eq!(r.texts("#overdue tbody td:nth-child(2)"), [ANN]);
    assert_eq!(rows(&r, "#by-csm"), [[ANN, "1", "12.0%", "1"]]);
    assert_eq!(r.count("#by-csm a"), 0);
    assert_eq!(r.count("#p-csm"), 0, "a CSM has no CSM filter");
    let j = ann.get(&format!("/journey?{PERIOD}")).await;
    assert_eq!(
        j.texts("#stuck tbody td:first-child a"),
        ["Beta Big", "Acme Small"]
    );
    assert_eq!(j.texts("#in-stage"), ["2"]);
    let s = ann.get(&format!("/segments?{PERIOD}")).await;
    assert_eq!(s.texts("#segments tbody td:nth-child(3)"), ["0", "1", "1"]);
    assert!(s.texts(".page-head p")[0].contains("your accounts only"));
}

#[tokio::test]
async fn a_csm_lands_on_their_accounts_with_their_overdue_engagements() {
    let (_s, app) = engage_app().await;
    let (ann, r) = Browser::login(&app, ANN).await;
    assert_eq!(r.location, "/accounts");
    let r = ann.get("/accounts").await;
    assert_eq!(r.texts("#h-my-overdue"), ["My overdue engagements"]);
    // Today a2, never called, has been due since 2025-06-11; a3 is Bo's.
    let today = tenure_core::model::utc_date(jiff::Timestamp::now());
    let days = tenure_core::model::day_number(today)
        - tenure_core::model::day_number("2025-06-11".parse().unwrap());
    assert_eq!(
        rows(&r, "#my-overdue-table"),
        [[
            "Beta Big".to_string(),
            "call every 10 days".into(),
            "never".into(),
            "$4,800".into(),
            thousands(days)
        ]]
    );
    assert_eq!(
        r.attr("#my-overdue-all", "href").as_deref(),
        Some("/cadence")
    );
    assert_eq!(r.texts("#my-overdue-all"), ["All 1 on the cadence page →"]);
    // The account's journey is on its timeline: a1 went from onboarding to
    // renewal on 06-15 and back on 07-16.
    let page = ann.get("/accounts/a1").await;
    let moves: Vec<String> = page
        .texts("#timeline li.t-stage")
        .into_iter()
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        moves
            .iter()
            .any(|m| m.starts_with("2025-06-15 Journey stage Entered renewal: stayed 31 days")),
        "{moves:?}"
    );
    assert!(
        moves
            .iter()
            .any(|m| m.starts_with("2025-07-16 Journey stage Entered onboarding: there")),
        "{moves:?}"
    );
    // Leaders land on the overview; their accounts list has no such panel.
    let (leader, _) = Browser::login(&app, LEADER).await;
    assert_eq!(leader.get("/accounts").await.count("#my-overdue"), 0);

    // A call logged today clears it at once (the cached report is dropped
    // after a write).
    let csrf = ann.csrf().await;
    let ok = ann
        .post(
            "/accounts/a2/engagements",
            &format!("csrf_token={csrf}&kind=call&date={today}&notes=Checked+in"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let r = ann.get("/accounts").await;
    assert_eq!(r.count("#my-overdue-table"), 0);
    assert_eq!(r.count("#my-overdue-none"), 1);
}

fn thousands(n: i32) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[tokio::test]
async fn engage_pages_answer_a_bad_date_with_400_and_the_form_to_correct_it() {
    let (_s, app) = engage_app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    for (uri, field, message) in [
        (
            "/segments?as_of=2025-13-01",
            "#p-as-of",
            "As of: expected a date YYYY-MM-DD, got \"2025-13-01\".",
        ),
        (
            "/journey?from=2025-09-01&as_of=2025-08-31",
            "#p-from",
            "From: the period starts on 2025-09-01 after its last day, 2025-08-31: pick a start on or before 2025-08-31.",
        ),
        (
            "/cadence?from=yesterday",
            "#p-from",
            "From: expected a date YYYY-MM-DD, got \"yesterday\".",
        ),
    ] {
        let r = b.get(uri).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(r.texts("#period-err"), [message], "{uri}");
        assert_eq!(r.attr(field, "aria-invalid").as_deref(), Some("true"));
        // The page keeps its navigation and title.
        assert_eq!(r.count("header.top nav a[aria-current=page]"), 1, "{uri}");
    }
    for uri in [
        "/cadence?as_of=1900-01-01",
        "/cadence?as_of=9999-12-31",
        "/segments?as_of=2025-01-01&as_of=2025-02-01",
        "/journey?from=%00",
    ] {
        let r = b.get(uri).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(r.count("#period-err"), 1, "{uri}");
    }
}

#[tokio::test]
async fn engage_pages_send_strangers_to_login_and_are_in_the_navigation() {
    let (_s, app) = engage_app().await;
    for uri in ["/segments", "/journey", "/cadence?csm=ann%40example.com"] {
        let r = send(&app, Method::GET, uri, &[("accept", "text/html")], "").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{uri}");
        assert!(r.location.starts_with("/login?next=%2F"), "{}", r.location);
    }
    let r = send(
        &app,
        Method::GET,
        "/cadence",
        &[("authorization", "Bearer tnr_wrong")],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let (b, _) = Browser::login(&app, ADMIN).await;
    let nav = b.get("/").await.attrs("header nav a", "href");
    for link in ["/segments", "/journey", "/cadence"] {
        assert!(nav.iter().any(|h| h == link), "{link}: {nav:?}");
    }
    // Today's report, without a period: the default 90 days.
    let r = b.get("/cadence").await;
    assert_eq!(r.status, StatusCode::OK);
    let today = tenure_core::model::utc_date(jiff::Timestamp::now());
    assert_eq!(r.attr("#p-as-of", "value"), Some(today.to_string()));
}

#[tokio::test]
async fn accounts_show_filter_sort_and_export_segment_and_stage() {
    let (_s, app) = engage_app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    let r = b.get("/accounts").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let today = tenure_core::model::utc_date(jiff::Timestamp::now());
    let days = |d: &str| {
        let n = tenure_core::model::day_number(today)
            - tenure_core::model::day_number(d.parse().unwrap());
        format!("{} days", thousands(n))
    };
    // The open runs of the rebuild to 2025-08-31: a3 ($500) Sized and
    // a2 ($400) Big, both high touch and onboarding from the first day of
    // the rebuild; a1 ($100) Small, tech touch, back in onboarding since
    // its renewal passed; a4 churned before the period, in no segment.
    // (The accounts have no plan of their own.)
    let table: Vec<Vec<String>> = rows(&r, "#accounts")
        .into_iter()
        .map(|row| row[..5].to_vec())
        .collect();
    assert_eq!(
        table,
        [
            [
                "Gamma Sized a3".into(),
                "".into(),
                BO.into(),
                "Sized · high".into(),
                format!("onboarding {}", days("2025-06-01"))
            ],
            [
                "Beta Big a2".into(),
                "".into(),
                ANN.into(),
                "Big · high".into(),
                format!("onboarding {}", days("2025-06-01"))
            ],
            [
                "Acme Small a1".into(),
                "".into(),
                ANN.into(),
                "Small · tech".into(),
                format!("onboarding {}", days("2025-07-16"))
            ],
            [
                "Delta Gone a4".into(),
                "".into(),
                BO.into(),
                "–".into(),
                format!("churned {}", days("2025-06-01"))
            ],
        ]
    );
    assert_eq!(
        r.attrs("#accounts td.stage .sub", "title")[2],
        "In onboarding since 2025-07-16"
    );
    // The filters offer the configured names in order, then accounts in none.
    assert_eq!(
        r.texts("#f-segment option"),
        ["Any", "Sized", "Big", "Small", "None"]
    );
    assert_eq!(
        r.texts("#f-stage option"),
        ["Any", "onboarding", "renewal", "churned", "None"]
    );

    let ids = |r: &Resp| r.texts("#accounts tbody td:first-child .sub");
    let big = b.get("/accounts?segment=Big").await;
    assert_eq!(ids(&big), ["a2"]);
    assert_eq!(big.texts("#f-segment option[selected]"), ["Big"]);
    assert_eq!(ids(&b.get("/accounts?segment=-").await), ["a4"]);
    assert_eq!(
        ids(&b.get("/accounts?stage=onboarding").await),
        ["a3", "a2", "a1"]
    );
    let churned = b.get("/accounts?stage=churned").await;
    assert_eq!(ids(&churned), ["a4"]);
    assert_eq!(churned.texts("#f-stage option[selected]"), ["churned"]);
    assert_eq!(
        b.get("/accounts?stage=renewal")
            .await
            .texts("#accounts tbody td.empty"),
        ["No accounts match these filters."]
    );
    // Both filters at once, and kept by the sort links and the CSV link.
    let high = b.get("/accounts?segment=Sized&stage=onboarding").await;
    assert_eq!(ids(&high), ["a3"]);
    assert!(
        high.attr("a[data-sort=name]", "href")
            .unwrap()
            .contains("segment=Sized&stage=onboarding&sort=name")
    );
    assert!(
        high.attr("#csv", "href")
            .unwrap()
            .starts_with("/accounts.csv?segment=Sized&stage=onboarding")
    );

    // Sorted by segment in the configuration's order, by stage in journey
    // order; accounts in none last either way.
    let by_segment = b.get("/accounts?sort=segment&dir=asc").await;
    assert_eq!(ids(&by_segment), ["a3", "a2", "a1", "a4"]);
    assert_eq!(
        by_segment
            .attr("th[aria-sort=ascending] a", "data-sort")
            .as_deref(),
        Some("segment")
    );
    let by_segment = b.get("/accounts?sort=segment&dir=desc").await;
    assert_eq!(ids(&by_segment), ["a1", "a2", "a3", "a4"]);
    let by_stage = b.get("/accounts?sort=stage&dir=desc").await;
    assert_eq!(ids(&by_stage), ["a4", "a1", "a2", "a3"]);

    let csv = b.get("/accounts.csv?sort=name&dir=asc").await;
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(
        lines[0].ends_with(",renewal_date,segment,touch_tier,stage,stage_since"),
        "{}",
        lines[0]
    );
    let tail = |l: &str| l.rsplitn(5, ',').take(4).collect::<Vec<_>>().join(",");
    assert_eq!(
        lines[1..].iter().map(|l| tail(l)).collect::<Vec<_>>(),
        [
            "2025-07-16,onboarding,tech,Small",
            "2025-06-01,onboarding,high,Big",
            "2025-06-01,churned,,",
            "2025-06-01,onboarding,high,Sized",
        ]
    );
    let csv = b.get("/accounts.csv?segment=Big").await;
    assert_eq!(csv.body.lines().count(), 2);
}
