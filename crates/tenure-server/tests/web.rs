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

/// The account page keeps every account's signals of the day and each
/// account's weekly use between requests (`web::account_cache`); data
/// written straight into the database, as an import or another process
/// writes it without telling the server, shows on the next request all the
/// same, and the score is the one `tenure health score` computes.
#[tokio::test]
async fn the_account_page_shows_writes_made_behind_its_back_at_once() {
    use tenure_core::model::{Event, SurveyKind, SurveyResponse};
    use tenure_store::api::Scope;
    use tenure_store::rows::Record;
    let (s, app) = app().await;
    let store = &s.db.store;
    let (b, _) = Browser::login(&app, &s.csm).await;
    let href = b
        .get("/accounts?band=green")
        .await
        .attr("#accounts tbody a", "href")
        .unwrap();
    let id = href.trim_start_matches("/accounts/").to_string();
    let measures = |r: &Resp| -> Vec<(String, String)> {
        r.texts("#measures tbody td:nth-child(1)")
            .into_iter()
            .zip(r.texts("#measures tbody td:nth-child(2)"))
            .collect()
    };
    let config = tenure_core::config::Config::default();
    let model = tenure_core::health::HealthModel::new(&config.health);
    let live = || async {
        let today = tenure_core::model::utc_date(jiff::Timestamp::now());
        let (_, scored) = tenure_app::health::score_by_id(store, &config, &model, &id, today)
            .await
            .unwrap();
        format!("{:.0}", scored.score.score.unwrap())
    };
    let first = b.get(&href).await;
    assert_eq!(first.status, StatusCode::OK);
    let kept = b.get(&href).await;
    assert_eq!(measures(&kept), measures(&first), "the kept score");
    assert_eq!(kept.texts("#health .score-line .score"), [live().await]);
    let nps = |r: &Resp| {
        measures(r)
            .into_iter()
            .find(|(m, _)| m == "Latest NPS")
            .map(|(_, v)| v)
            .unwrap()
    };
    let zero = |v: &str| v == "0" || v.starts_with("0 ");
    assert!(!zero(&nps(&first)), "{}", nps(&first));

    // An NPS answer of 0 from today.
    store
        .create_record(
            &Record::SurveyResponse(SurveyResponse {
                id: "sr-behind".into(),
                account_id: id.clone(),
                contact_id: None,
                kind: SurveyKind::Nps,
                score: 0,
                responded_at: jiff::Timestamp::now(),
                comment: None,
            }),
            &Scope::All,
        )
        .await
        .unwrap();
    let after = b.get(&href).await;
    assert!(zero(&nps(&after)), "{}", nps(&after));
    assert_eq!(after.texts("#health .score-line .score"), [live().await]);

    // 300 events of a new name by a new user today: the top event of the
    // last 30 days, and the score moves with them.
    let mut writer = tenure_store::bulk::BulkWriter::default();
    let mut tx = store.pool().begin().await.unwrap();
    for k in 0..300 {
        let e = Event {
            timestamp: jiff::Timestamp::now(),
            account_id: id.clone(),
            user_id: "u-behind".into(),
            event: "cache_probe".into(),
            properties: None,
            message_id: Some(format!("m-behind-{k}")),
        };
        writer.push(&mut tx, &Record::Event(e)).await.unwrap();
    }
    writer.flush(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let after = b.get(&href).await;
    assert!(
        after
            .texts(".timeline li.t-usage")
            .iter()
            .any(|t| t.contains("cache_probe ×300 by 1 users")),
        "{:?}",
        after.texts(".timeline li.t-usage")
    );
    assert_ne!(measures(&after), measures(&first));
    assert_eq!(after.texts("#health .score-line .score"), [live().await]);
}

/// The account page reads the account's engagements and Engage runs once,
/// for its timeline and for its facts: the segment, stage and next
/// engagement it shows are those of `tenure_app::engage::account_status`
/// (the API's account status, which reads them on its own), and the
/// timeline lists every engagement and run.
#[tokio::test]
async fn the_account_page_reads_engagements_and_runs_once_for_timeline_and_facts() {
    use tenure_core::model::Engagement;
    use tenure_store::api::Scope;
    use tenure_store::rows::Record;
    let (s, app) = engage_app().await;
    let store = &s.state.store;
    // A second kind of engagement on a3, besides its call of 2025-06-25.
    store
        .create_record(
            &Record::Engagement(Engagement {
                id: "e2".into(),
                account_id: "a3".into(),
                kind: "qbr".into(),
                occurred_at: "2025-07-01T09:00:00Z".parse().unwrap(),
                csm_email: None,
                notes: Some("Plan agreed".into()),
            }),
            &Scope::All,
        )
        .await
        .unwrap();
    let (b, _) = Browser::login(&app, LEADER).await;
    let today = tenure_app::clock::today();
    let mut with_cadence = 0;
    for (id, engagements) in [("a1", 0), ("a2", 0), ("a3", 2), ("a4", 0)] {
        let r = b.get(&format!("/accounts/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{id}");
        let facts: Vec<(String, String)> = r
            .texts(".facts dt")
            .into_iter()
            .zip(r.texts(".facts dd"))
            .collect();
        let fact = |k: &str| facts.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
        let status = tenure_app::engage::account_status(store, &s.state.web.config, id, today)
            .await
            .unwrap();
        assert_eq!(
            fact("Segment"),
            status
                .segment
                .as_ref()
                .map(|(n, t, since)| format!("{n} ({t} touch) since {since}")),
            "{id}"
        );
        assert_eq!(
            fact("Stage"),
            status
                .stage
                .as_ref()
                .map(|(n, since)| format!("{n} since {since}")),
            "{id}"
        );
        // One of the policies that apply, as the page words it.
        let worded: Vec<String> = status
            .cadence
            .iter()
            .map(|(kind, every, s)| {
                if s.overdue_days > 0 {
                    format!(
                        "{kind} overdue by {} days (every {every} days)",
                        s.overdue_days
                    )
                } else {
                    format!("{kind} due {} (every {every} days)", s.due)
                }
            })
            .collect();
        match fact("Next engagement") {
            Some(next) => assert!(worded.contains(&next), "{id}: {next} not in {worded:?}"),
            None => assert!(worded.is_empty(), "{id}: {worded:?}"),
        }
        with_cadence += usize::from(!worded.is_empty());
        assert_eq!(r.count(".timeline li.t-engagement"), engagements, "{id}");
        let runs = store.account_engage_runs(id).await.unwrap().len();
        assert_eq!(
            r.count(".timeline li.t-stage") + r.count(".timeline li.t-segment"),
            runs,
            "{id}"
        );
    }
    // a3's call is due every 10 days in its segment.
    assert!(with_cadence >= 1);
}

#[tokio::test]
async fn metrics_page_for_browsers_prometheus_for_scrapers() {
    let (_s, app) = app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    let r = b.get("/metrics?preset=12m").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.texts("#def-nrr")[0].starts_with("Net revenue retention"));
    assert_eq!(r.count("tr[id^=m-]"), 31);
    assert!(r.count("#cohort-table tbody tr") > 0);
    assert!(r.count("#ledger-table tbody tr details") > 0);
    // The survival chart: one curve of every account, then one per plan
    // with the plans in its legend and its table.
    assert_eq!(r.count("#survival svg[role=img] path.line.km"), 1);
    assert_eq!(r.texts("#survival .legend li"), ["all accounts"]);
    let r = b.get("/metrics?preset=12m&by=plan").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.count("#survival svg[role=img] path.band") > 1);
    let legend = r.texts("#survival .legend li");
    assert!(legend.len() > 1, "{legend:?}");
    assert_eq!(r.count("#survival-table tbody tr"), legend.len());
    assert_eq!(r.count("#s-by option[selected][value=plan]"), 1);
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
    // No task yet; one overdue task by hand shows on the landing page.
    assert_eq!(r.texts("#my-tasks-line"), ["My tasks: 0 open."]);
    let task = tenure_store::target::Task {
        id: "t-late".into(),
        account_id: "a1".into(),
        title: "Call Acme".into(),
        owner_email: Some(ANN.into()),
        due_on: Some(tenure_core::model::add_days(today, -3)),
        status: tenure_core::target::tasks::TaskStatus::Open,
        priority: tenure_core::target::tasks::Priority::High,
        source: tenure_core::target::tasks::TaskSource::Manual,
        source_id: None,
        notes: None,
        log_kind: None,
        engagement_id: None,
        created_at: 0,
        completed_on: None,
    };
    _s.db
        .store
        .create_task(&task, &tenure_store::api::Scope::All)
        .await
        .unwrap();
    let r = ann.get("/accounts").await;
    assert_eq!(r.texts("#my-tasks-line"), ["My tasks: 1 open, 1 overdue."]);
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

/// The href of `selector`'s first link, or the test fails.
fn first_href(r: &Resp, selector: &str) -> String {
    r.attr(selector, "href")
        .unwrap_or_else(|| panic!("no {selector} in {}", r.body))
}

#[tokio::test]
async fn a_csm_builds_a_plan_from_the_account_page_and_works_it_in_the_editor() {
    let (s, app) = app().await;
    // Templates applied as the daily job does (the high-touch accounts).
    let config = tenure_core::config::Config::default();
    let today = tenure_core::model::utc_date(jiff::Timestamp::now());
    let day = tenure_app::engage::evaluate(&s.db.store, &config, today)
        .await
        .unwrap();
    let applied = tenure_app::target::plans::apply_templates(
        &s.db.store,
        &config,
        &day,
        tenure_app::target::plans::Start::Entered,
    )
    .await
    .unwrap();
    assert!(applied.plans_created > 0, "{applied:?}");
    let (leader, _) = Browser::login(&app, LEADER).await;
    let r = leader.get("/plans").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.count("#plans tbody tr"), applied.plans_created);
    assert!(r.count("#execution-by-csm tbody tr") > 0);
    assert_eq!(r.count("#ttv"), 1);
    assert!(r.count("#ttv-by-segment tbody tr") > 0);
    assert!(r.count("#ttv-by-cohort tbody tr") > 0);

    // A CSM's account without a plan: create one from its page.
    let (b, _) = Browser::login(&app, &s.csm).await;
    let accounts = b.get("/accounts").await;
    let links = accounts.attrs("#accounts tbody a", "href");
    let mut account = None;
    for l in &links {
        if b.get(l).await.count("#no-plan") == 1 {
            account = Some(l.clone());
            break;
        }
    }
    let account = account.expect("a CSM account without a plan");
    let page = b.get(&account).await;
    assert_eq!(page.texts("#vendor-side dt")[0], "ARR");
    let csrf = b.csrf().await;
    let r = b
        .post(
            &format!("{account}/plans"),
            &format!("csrf_token={csrf}&name=Rollout+plan"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let plan = r.location.split('?').next().unwrap().to_string();
    let r = b.get(&r.location).await;
    assert_eq!(r.texts("#saved"), ["Plan saved."]);
    assert_eq!(r.texts("h1")[0].split_whitespace().next(), Some("Rollout"));

    // A goal with a bad target is refused and shown again; a good one is added.
    let bad = b
        .post(
            &format!("{plan}/goals"),
            &format!("csrf_token={csrf}&name=Sponsor&target=lots"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.texts("#form-error"),
        ["target: \"lots\" is not a number"]
    );
    let ok = b
        .post(
            &format!("{plan}/goals"),
            &format!("csrf_token={csrf}&name=Sponsor+named&target=1"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let r = b.get(&plan).await;
    let goal_form = r.attr("form.goal-value", "action").unwrap();
    let plan_id = plan.trim_start_matches("/plans/");
    let ok = b
        .post(
            &goal_form,
            &format!("csrf_token={csrf}&plan={plan_id}&value=1"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let r = b.get(&plan).await;
    assert_eq!(r.count("table.goals .pill.b-green"), 1, "the goal is met");

    // A milestone due yesterday, then marked done today: late.
    let yesterday = tenure_core::model::add_days(today, -1);
    let ok = b
        .post(
            &format!("{plan}/milestones"),
            &format!("csrf_token={csrf}&name=Kick-off&due={yesterday}&owner_role=csm"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let r = b.get(&plan).await;
    assert_eq!(r.texts("table.milestones .pill"), ["overdue"]);
    let status_form = r.attr("form.milestone-status", "action").unwrap();
    let ok = b
        .post(
            &status_form,
            &format!("csrf_token={csrf}&plan={plan_id}&status=done&on={today}"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let ok = b
        .post(
            &format!("{plan}/proven-value"),
            &format!("csrf_token={csrf}&title=Reports+in+minutes&evidence=case+study&on={today}&confirmed=1"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let r = b.get(&plan).await;
    assert_eq!(r.texts("table.milestones .pill"), ["done"]);
    assert!(
        r.texts(".plan-line .share-pct")[0].starts_with("0.0%"),
        "done late: {:?}",
        r.texts(".plan-line")
    );
    assert!(r.texts("ul.proven li")[0].contains("Reports in minutes"));
    // The account page shows the plan beside the revenue, and the QBR prints it.
    let page = b.get(&account).await;
    assert_eq!(page.count("#customer-side table.goals tbody tr"), 1);
    let qbr = b.get(&first_href(&page, "#vendor-side a")).await;
    assert_eq!(qbr.status, StatusCode::OK);
    assert!(qbr.texts("#achieved li")[0].contains("Sponsor named"));
    assert_eq!(qbr.count("#qbr-nps"), 1);

    // Another CSM can neither see nor change it.
    let (other, _) = Browser::login(&app, &s.other_csm).await;
    assert_eq!(other.get(&plan).await.status, StatusCode::NOT_FOUND);
    let other_csrf = other.csrf().await;
    let r = other
        .post(
            &format!("{plan}/goals"),
            &format!("csrf_token={other_csrf}&name=X&target=1"),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(
        other.get(&format!("{account}/qbr")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!other.get("/plans").await.body.contains("Rollout plan"));
}

// The team page (`/team`): the CSM KPIs against targets, on the Engage
// fixture (Ann: a1 pays 100, a2 400; Bo: a3 500, a4 churned in May) with
// targets for ARR (Bo's own, 7,000) and cadence compliance.

const TEAM_TARGETS: &str = r#"
[target]
amber_within = 0.2

[target.kpis]
arr = 6000
cadence_compliance = 0.2

[[target.csm]]
email = "bo@example.com"
kpis = { arr = 7000 }
"#;

async fn team_app() -> (Seeded, Router) {
    let mut s = support::engage_fixture().await;
    let config =
        tenure_core::config::parse_config(&format!("{}{TEAM_TARGETS}", support::ENGAGE_CONFIG))
            .unwrap();
    s.state.web = std::sync::Arc::new(tenure_server::web::WebState::new(config));
    let r = router(s.state.clone());
    (s, r)
}

/// `(row's CSM, KPI) → (value shown, rag)` of the KPI table.
fn kpi_cells(r: &Resp) -> Vec<(String, String, String, String)> {
    let html = r.html();
    let tr = Selector::parse("#kpis tr[data-csm]").unwrap();
    let td = Selector::parse("td[data-kpi]").unwrap();
    let mut out = Vec::new();
    for row in html.select(&tr) {
        let csm = row.value().attr("data-csm").unwrap_or("").to_string();
        for cell in row.select(&td) {
            let v = cell.value();
            let shown = cell.text().next().unwrap_or("").trim().to_string();
            out.push((
                if csm.is_empty() {
                    "team".into()
                } else {
                    csm.clone()
                },
                v.attr("data-kpi").unwrap().to_string(),
                shown,
                v.attr("data-rag").unwrap().to_string(),
            ));
        }
    }
    out
}

fn cell(cells: &[(String, String, String, String)], csm: &str, kpi: &str) -> (String, String) {
    let c = cells
        .iter()
        .find(|c| c.0 == csm && c.1 == kpi)
        .unwrap_or_else(|| panic!("no {kpi} cell for {csm}"));
    (c.2.clone(), c.3.clone())
}

#[tokio::test]
async fn team_page_shows_csms_side_by_side_against_targets_with_monthly_charts() {
    let (_s, app) = team_app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    let r = b.get(&format!("/team?{PERIOD}&months=3")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.attr("a[href='/team']", "aria-current").as_deref(),
        Some("page")
    );
    assert_eq!(r.attrs("#kpis tbody tr", "data-csm"), [ANN, BO]);
    assert_eq!(r.count("#kpis thead th"), 15, "the CSM and 14 KPIs");
    let cells = kpi_cells(&r);
    assert_eq!(cells.len(), 3 * 14);
    // Customers on 08-31 and their ARR: Ann a1 100 and a2 400 a month;
    // Bo a3 500 (a4 churned); against 6,000 (Bo's own 7,000, amber within
    // 20 %).
    assert_eq!(cell(&cells, ANN, "accounts"), ("2".into(), "none".into()));
    assert_eq!(cell(&cells, ANN, "arr"), ("$6,000".into(), "green".into()));
    assert_eq!(cell(&cells, BO, "arr"), ("$6,000".into(), "amber".into()));
    assert_eq!(cell(&cells, "team", "arr"), ("$12k".into(), "green".into()));
    // Calls every 10 days for the high tier from 06-01 (the cadence
    // page's figures): Ann's a2 11 of 92 days, Bo's a3 22 of 92, the team
    // 33 of 184; against 20 %, amber down to 16 %.
    assert_eq!(
        cell(&cells, ANN, "cadence_compliance"),
        ("12.0%".into(), "red".into())
    );
    assert_eq!(
        cell(&cells, BO, "cadence_compliance"),
        ("23.9%".into(), "green".into())
    );
    assert_eq!(
        cell(&cells, "team", "cadence_compliance"),
        ("17.9%".into(), "amber".into())
    );
    // No answer in the period: no data, no colour.
    assert_eq!(cell(&cells, "team", "nps"), ("–".into(), "none".into()));
    assert_eq!(r.count("#kpis td.b-red"), 1);
    assert_eq!(r.count("#kpis td.b-yellow"), 2);
    assert!(
        r.texts("#kpis td[data-kpi=arr] .sub")
            .contains(&"target $7,000".to_string())
    );
    // A chart per KPI over three months: 08-31 ends its month, so June,
    // July and August.
    assert_eq!(r.count("#history section.card"), 14);
    assert_eq!(r.count("#history svg[aria-labelledby^=kpi-arr]"), 1);
    // No answer in any month: said, not drawn.
    assert_eq!(r.count("#kpi-nps-none"), 1);
    let desc = r.texts("#kpi-arr-d");
    assert!(desc[0].contains("Aug 2025"), "{desc:?}");
    // A leader narrows the page to a CSM by following their row.
    let href = r
        .attr("#kpis tbody tr[data-csm='bo@example.com'] a", "href")
        .unwrap();
    let one = b.get(&href).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.attrs("#kpis tbody tr", "data-csm"), [BO]);
    assert_eq!(one.count("#kpi-arr-t"), 1);
    assert_eq!(
        one.count("#history svg[aria-labelledby^=kpi-arr] + .legend"),
        1,
        "Bo's line beside the team's"
    );
}

#[tokio::test]
async fn a_csm_sees_their_own_kpis_and_the_teams_whatever_they_ask() {
    let (_s, app) = team_app().await;
    let (b, _) = Browser::login(&app, ANN).await;
    for q in ["", "?csm=bo@example.com"] {
        let r = b.get(&format!("/team{q}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.attrs("#kpis tbody tr", "data-csm"), [ANN], "{q}");
        assert_eq!(r.count("#team-row"), 1);
        assert_eq!(r.count("#p-csm"), 0, "a CSM has no CSM filter");
        assert!(!r.body.contains(BO), "{q}: Bo's address shown to Ann");
    }
}

#[tokio::test]
async fn team_page_answers_bad_input_with_400_and_the_form() {
    let (_s, app) = team_app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    for (q, field, words) in [
        ("as_of=2025-02-30", "p-as-of", "As of:"),
        ("from=2025-09-01&as_of=2025-08-31", "p-from", "From:"),
        ("months=0", "p-months", "Months:"),
        ("months=lots", "p-months", "Months:"),
    ] {
        let r = b.get(&format!("/team?{q}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(
            r.texts("#period-err")[0].starts_with(words),
            "{q}: {:?}",
            r.texts("#period-err")
        );
        assert_eq!(
            r.attr(&format!("#{field}"), "aria-invalid").as_deref(),
            Some("true"),
            "{q}"
        );
        assert_eq!(r.count("#kpis"), 0);
    }
    // Strangers go to the login page.
    let r = send(&app, Method::GET, "/team", &[("accept", "text/html")], "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location.starts_with("/login?next=%2Fteam"),
        "{}",
        r.location
    );
}

// Tasks (`/tasks`), on the Engage fixture: Ann owns a1 and a2, Bo a3 and
// a4; the configured engagement kinds are call and qbr.

/// A task added through the application layer, due `due` days from today.
async fn tasks_add(s: &Seeded, account: &str, title: &str, due: i32, log_kind: &str) -> String {
    use tenure_app::target::tasks::{NewTask, add};
    let today = tenure_app::clock::today();
    let new = NewTask {
        account_id: account,
        title,
        due: Some(tenure_core::model::add_days(today, due)),
        log_kind,
        ..NewTask::default()
    };
    let scope = tenure_store::api::Scope::All;
    add(
        &s.db.store,
        &s.state.web.config,
        &scope,
        &new,
        None,
        today,
        0,
    )
    .await
    .unwrap()
    .task
    .task
    .id
}

#[tokio::test]
async fn a_csm_works_their_own_tasks_on_the_tasks_page_and_no_one_elses() {
    let (s, app) = engage_app().await;
    let late = tasks_add(&s, "a1", "Call Acme", -3, "call").await;
    let soon = tasks_add(&s, "a2", "Send Beta the deck", 2, "").await;
    let bos = tasks_add(&s, "a3", "Gamma QBR", -1, "qbr").await;
    let ids = |r: &Resp| r.attrs("#tasks-table tbody tr[data-task]", "data-task");

    let (b, _) = Browser::login(&app, ANN).await;
    let r = b.get("/tasks").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.texts("h1"), ["My tasks"]);
    assert_eq!(ids(&r), [late.as_str(), soon.as_str()]);
    assert_eq!(r.texts("#tasks-table .overdue"), ["3 days overdue"]);
    assert_eq!(
        r.texts("#tasks-table td.account a"),
        ["Acme Small", "Beta Big"]
    );
    assert_eq!(
        r.attr(&format!("#c-kind-{late} option[selected]"), "value")
            .as_deref(),
        Some("call")
    );
    assert_eq!(r.texts("header nav a[aria-current=page]"), ["My tasks"]);
    // Asking for Bo's shows nothing of his portfolio.
    let r = b.get("/tasks?owner=bo%40example.com&status=all").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(ids(&r).is_empty(), "{:?}", ids(&r));

    // Bo's task cannot be posted to, whatever the form.
    let csrf = b.csrf().await;
    for (form, fields) in [
        ("complete", "log_kind=qbr"),
        ("snooze", "until=2099-01-01"),
        ("reassign", "to=ann%40example.com"),
        ("drop", ""),
    ] {
        let r = b
            .post(
                &format!("/tasks/{bos}/{form}"),
                &format!("csrf_token={csrf}&back=%2Ftasks&{fields}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{form}");
    }
    let r = b
        .post(&format!("/tasks/{late}/complete"), "log_kind=call")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");

    // Completing through the form logs the engagement; the task leaves
    // the open list.
    let r = b
        .post(
            &format!("/tasks/{late}/complete"),
            &format!(
                "csrf_token={csrf}&log_kind=call&notes=Renewal+talk&back=%2Ftasks%3Fowner%3Dme%26status%3Dopen"
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location, "/tasks?owner=me&status=open&task=logged");
    let after = b.get(&r.location).await;
    assert_eq!(
        after.texts("#tasks-saved"),
        ["Task done; the engagement is logged."]
    );
    assert_eq!(ids(&after), [soon.as_str()]);
    let logged: Vec<(String, Option<String>)> =
        s.db.store
            .account_records(tenure_store::Kind::Engagements, "a1")
            .await
            .unwrap()
            .into_iter()
            .filter_map(|r| match r {
                tenure_store::rows::Record::Engagement(e) => Some((e.kind, e.notes)),
                _ => None,
            })
            .collect();
    assert_eq!(
        logged,
        [("call".to_string(), Some("Renewal talk".to_string()))]
    );

    // A mistake comes back with the page and the message at the form.
    let today = tenure_app::clock::today();
    let r = b
        .post(
            &format!("/tasks/{soon}/snooze"),
            &format!("csrf_token={csrf}&until={today}&back=%2Ftasks"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.count(&format!("#err-{soon}")), 1);
    assert_eq!(
        r.attr(&format!("#s-until-{soon}"), "aria-invalid")
            .as_deref(),
        Some("true")
    );
    assert_eq!(r.attr("#back", "href").as_deref(), Some("/tasks"));

    // Reassigned to Bo, it leaves Ann's list, with a warning: Bo cannot see
    // Beta's tasks.
    let r = b
        .post(
            &format!("/tasks/{soon}/reassign"),
            &format!("csrf_token={csrf}&to=bo%40example.com&back=%2Ftasks"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location, "/tasks?task=reassigned&warn=other_portfolio");
    let after = b.get(&r.location).await;
    assert!(ids(&after).is_empty());
    assert!(after.texts(".warn")[0].contains("CSM of other accounts"));

    // Bo sees his own only.
    let (bo, _) = Browser::login(&app, BO).await;
    assert_eq!(ids(&bo.get("/tasks").await), [bos.as_str()]);

    // A leader sees every owner's, and can pick one.
    let (lead, _) = Browser::login(&app, LEADER).await;
    let r = lead.get("/tasks").await;
    assert_eq!(r.texts("h1"), ["Tasks"]);
    assert_eq!(ids(&r), [bos.as_str(), soon.as_str()]);
    let owners = r.attrs("#f-owner option", "value");
    assert!(
        owners.contains(&ANN.to_string()) && owners.contains(&BO.to_string()),
        "{owners:?}"
    );
    let r = lead.get("/tasks?owner=bo%40example.com").await;
    assert_eq!(ids(&r), [bos.as_str(), soon.as_str()]);
    let r = lead.get("/tasks?status=done").await;
    assert_eq!(ids(&r), [late.as_str()]);
    assert_eq!(
        lead.get("/tasks?status=bogus").await.status,
        StatusCode::BAD_REQUEST
    );

    // The account page's section: the account's tasks, with forms that
    // come back to it; another portfolio's account is not found.
    let ann = tenure_server::auth::Principal {
        subject: tenure_server::auth::Subject::User {
            id: "usr-ann".into(),
        },
        role: tenure_store::auth::Role::Csm,
        email: Some(ANN.into()),
        all_accounts: false,
        csrf_token: Some("t".into()),
    };
    let section =
        tenure_server::web::tasks::account_tasks_section(&s.state, &ann, "a1", Some("done"), None)
            .await
            .unwrap();
    let html = Html::parse_fragment(&askama::Template::render(&section).unwrap());
    let sel = |css: &str| Selector::parse(css).unwrap();
    let rows: Vec<&str> = html
        .select(&sel("#account-tasks tr[data-task]"))
        .filter_map(|e| e.value().attr("data-task"))
        .collect();
    assert_eq!(rows, [late.as_str()]);
    assert_eq!(html.select(&sel("#account-tasks-saved")).count(), 1);
    let reopen = html
        .select(&sel("#account-tasks form.task-reopen input[name=back]"))
        .next()
        .unwrap();
    assert_eq!(
        reopen.value().attr("value"),
        Some("/accounts/a1#account-tasks")
    );
    let theirs =
        tenure_server::web::tasks::account_tasks_section(&s.state, &ann, "a3", None, None).await;
    assert_eq!(theirs.err().map(|e| e.status), Some(StatusCode::NOT_FOUND));
}

#[tokio::test]
async fn a_csm_adds_a_task_from_the_account_page() {
    let (_s, app) = engage_app().await;
    let (ann, _) = Browser::login(&app, ANN).await;
    let csrf = ann.csrf().await;
    let page = ann.get("/accounts/a1").await;
    assert_eq!(page.count("#add-task-form"), 1);
    // An empty title is refused at the form, nothing added.
    let bad = ann
        .post(
            "/accounts/a1/tasks",
            &format!("csrf_token={csrf}&title=+&due=2026-13-01"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let err = bad.texts("#add-task-err");
    assert!(
        err[0].contains("title") && err[0].contains("due"),
        "{err:?}"
    );
    assert_eq!(bad.attr("#add-task", "open").as_deref(), Some(""));
    let ok = ann
        .post(
            "/accounts/a1/tasks",
            &format!("csrf_token={csrf}&title=Send+the+renewal+deck&priority=high&log_kind=call"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location, "/accounts/a1?task=added#account-tasks");
    let after = ann.get("/accounts/a1?task=added").await;
    assert_eq!(after.texts("#account-tasks-saved"), ["Task added."]);
    assert!(
        after
            .texts("#account-tasks-table td.title strong")
            .iter()
            .any(|t| t == "Send the renewal deck")
    );
    // Bo cannot add one to Ann's account.
    let (bo, _) = Browser::login(&app, BO).await;
    let bo_csrf = bo.csrf().await;
    let r = bo
        .post(
            "/accounts/a1/tasks",
            &format!("csrf_token={bo_csrf}&title=X"),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_playbooks_page_shows_definitions_a_dry_run_and_firings() {
    let (s, app) = app().await;
    let (leader, _) = Browser::login(&app, LEADER).await;
    let r = leader.get("/playbooks").await;
    assert_eq!(r.status, StatusCode::OK);
    let config = tenure_core::config::Config::default();
    assert_eq!(r.count("section.playbook"), config.playbooks.len());
    assert_eq!(
        r.texts("#firings tbody td.empty").len(),
        1,
        "nothing fired yet"
    );
    let link = r.attr("section.playbook a.dry-run-link", "href").unwrap();
    let dry = leader.get(&link).await;
    assert_eq!(dry.count("#dry-run-table"), 1);
    let bad = leader.get("/playbooks?dry_run=Nope").await;
    assert!(bad.texts("#dry-error")[0].contains("unknown playbook \"Nope\""));
    // After the job's playbooks run, the firings list shows them.
    let today = tenure_core::model::utc_date(jiff::Timestamp::now());
    let engage = tenure_app::engage::evaluate(&s.db.store, &config, today)
        .await
        .unwrap();
    let out = tenure_app::plays::run(&s.db.store, &config, &engage)
        .await
        .unwrap();
    assert!(
        out.enrolled > 0,
        "the demo company has accounts the defaults fire on"
    );
    let r = leader.get("/playbooks").await;
    assert_eq!(r.count("#firings tbody tr td.empty"), 0);
    let account = r.attr("#firings tbody a", "href").unwrap();
    let page = leader.get(&account).await;
    assert!(
        page.count(".timeline li.t-play") > 0,
        "the firing is on the account's timeline"
    );
}

/// The risk board and leadership reviews: a leader flags an account by
/// hand (a bad form comes back 422 with its values), the board shows the
/// reason, owner, next step and days on the board; the daily pass opens a
/// review, which the leader holds with a decision that makes a task; a CSM
/// cannot hold it; resolving takes the account off the board.
#[tokio::test]
async fn the_risk_board_flags_resolves_and_a_leader_holds_the_review() {
    let (s, app) = app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    let page = b.get("/risk").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.count("#flag-form"), 1);
    assert_eq!(
        page.attr("#reviews-link", "href").as_deref(),
        Some("/reviews")
    );
    // An account not on the board: a green one.
    let on_board = page.attrs("#risk tbody tr", "data-account");
    let id = b
        .get("/accounts?band=green")
        .await
        .attrs("#accounts tbody a", "href")
        .into_iter()
        .map(|h| h.trim_start_matches("/accounts/").to_string())
        .find(|a| !on_board.contains(a))
        .unwrap();
    let csrf = b.csrf().await;
    let today = tenure_core::model::utc_date(jiff::Timestamp::now());
    let due = tenure_core::model::add_days(today, 5);
    let bad = b
        .post(
            "/risk/flags",
            &format!("csrf_token={csrf}&account_id={id}&reason=&next_step=Call&due=soon"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(!bad.texts("#flag-error")[0].is_empty());
    assert_eq!(
        bad.attr("#flag-form input[name=account_id]", "value")
            .as_deref(),
        Some(id.as_str())
    );
    let ok = b
        .post(
            "/risk/flags",
            &format!(
                "csrf_token={csrf}&account_id={id}&reason=Champion+left&next_step=Call+the+CFO&due={due}"
            ),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let board = b.get(&ok.location).await;
    let sel = format!("#risk tbody tr[data-account=\"{id}\"] td");
    let cells = board.texts(&sel);
    assert!(cells[3].contains("Champion left"), "{cells:?}");
    assert_eq!(cells[4], "Call the CFO");
    assert_eq!(cells[5], due.to_string());
    assert_eq!(cells[6], "0");

    // The daily pass measures the day (the chart) and, above the default
    // 15% of ARR at risk or not, opening a review at most once.
    let config = tenure_core::config::Config::default();
    let first = tenure_app::risk::daily(&s.db.store, &config, today)
        .await
        .unwrap();
    let review = match first.opened {
        Some(r) => r.id,
        None => {
            // Below the share: open one with a threshold of no accounts.
            let mut c = config.clone();
            c.risk.thresholds.accounts_at_risk = Some(0);
            tenure_app::risk::daily(&s.db.store, &c, today)
                .await
                .unwrap()
                .opened
                .expect("more than 0 accounts at risk")
                .id
        }
    };
    assert_eq!(b.get("/risk").await.count("#risk-chart svg"), 2);
    let list = b.get("/reviews").await;
    assert!(
        list.attrs("#reviews tbody a", "href")
            .contains(&format!("/reviews/{review}"))
    );
    let r = b.get(&format!("/reviews/{review}")).await;
    assert_eq!(r.count("#hold-form"), 1);
    let n = r
        .attrs("#review-items tbody tr", "data-account")
        .iter()
        .position(|a| *a == id)
        .unwrap();
    // A CSM sees the review but cannot hold it.
    let (c, _) = Browser::login(&app, &s.csm).await;
    assert_eq!(
        c.get(&format!("/reviews/{review}"))
            .await
            .count("#hold-form"),
        0
    );
    let c_csrf = c.csrf().await;
    let refused = c
        .post(
            &format!("/reviews/{review}/hold"),
            &format!("csrf_token={c_csrf}&attendees=Me"),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Without attendees: 422 with the message.
    let form = format!(
        "csrf_token={csrf}&attendees=&account_{n}={id}&action_{n}=Exec+call&owner_{n}=leader%40example.com&due_{n}={due}"
    );
    let bad = b.post(&format!("/reviews/{review}/hold"), &form).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(!bad.texts("#hold-error")[0].is_empty());
    let form = form.replace("&attendees=&", "&attendees=CEO%2C+VP+CS&");
    let held = b.post(&format!("/reviews/{review}/hold"), &form).await;
    assert_eq!(held.status, StatusCode::SEE_OTHER, "{}", held.body);
    let r = b.get(&held.location).await;
    assert!(r.texts("#review-held")[0].contains("CEO, VP CS"));
    let row = r.texts(&format!(
        "#review-items tr[data-account=\"{id}\"] td.action"
    ));
    assert_eq!(row, ["Exec call"]);
    let tasks =
        s.db.store
            .tasks(&tenure_store::target::TaskQuery {
                owner: Some(LEADER.into()),
                ..Default::default()
            })
            .await
            .unwrap();
    assert!(
        tasks
            .iter()
            .any(|t| t.account_id == id && t.title == "Exec call" && t.due_on == Some(due)),
        "{tasks:?}"
    );

    // Resolving takes it off the board.
    let gone = b
        .post(
            &format!("/risk/{id}/resolve"),
            &format!("csrf_token={csrf}&outcome=saved"),
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    let after = b.get("/risk").await;
    assert!(!after.attrs("#risk tbody tr", "data-account").contains(&id));
}

#[tokio::test]
async fn overview_tells_why_accounts_have_no_band() {
    let (_s, app) = app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    let r = b.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    // The bar is the customers: the three bands and those without data.
    let legend: Vec<String> = r.texts(".band-legend li .pill");
    assert_eq!(legend, ["Red", "Yellow", "Green", "No data"]);
    let number = |t: &str| -> u64 {
        t.split(|c: char| !c.is_ascii_digit() && c != ',')
            .find(|w| !w.is_empty())
            .map_or(0, |w| w.replace(',', "").parse().unwrap())
    };
    let in_bar: u64 = r
        .texts(".band-legend li")
        .iter()
        .map(|t| number(t.trim_start_matches(|c: char| c.is_alphabetic() || c == ' ')))
        .sum();
    // The others are grouped by why they have no band, each with its reason.
    let groups = r.texts(".unscored li");
    let labels = r.texts(".unscored li strong");
    assert!(
        labels.iter().any(|l| l == "Churned" || l == "Never paid"),
        "{groups:?}"
    );
    for g in &groups {
        let (_, reason) = g.split_once(": ").expect("a reason after the count");
        assert!(reason.len() > 20, "{g}");
    }
    let beside: u64 = groups
        .iter()
        .zip(&labels)
        .map(|(g, l)| number(&g[l.len()..]))
        .sum();
    // Every account is counted once: the seeded company has 60.
    let not_customers: u64 = groups
        .iter()
        .zip(&labels)
        .filter(|(_, l)| *l == "Churned" || *l == "Never paid")
        .map(|(g, l)| number(&g[l.len()..]))
        .sum();
    assert_eq!(in_bar + not_customers, 60, "{groups:?}");
    assert!(beside >= not_customers);
}

/// Stores a churn model and its predictions of today for every account
/// paying today: P(churn) 0.6 (red) for every third, 0.05 (green) for the
/// others, and reloads the dashboard's cache.
async fn forecast_predictions(s: &Seeded) {
    use tenure_core::churn::{ChurnModel, ModelBands, Scaling};
    use tenure_store::churn::{NewChurnModel, StoredPrediction};
    let store = &s.db.store;
    let model = ChurnModel {
        scaling: Scaling {
            columns: Vec::new(),
        },
        intercept: 0.0,
        coefficients: Vec::new(),
        bands: ModelBands {
            red_from: 0.4,
            yellow_from: 0.1,
        },
    };
    let day = tenure_app::clock::today();
    let version = store
        .save_churn_model(&NewChurnModel {
            trained_at: 0,
            horizon_days: 90,
            train_from: day,
            train_to: day,
            test_from: day,
            test_to: day,
            health_version: "test",
            features: &[],
            event_names: &[],
            model: &model,
            metrics: &serde_json::json!({}),
        })
        .await
        .unwrap();
    let rows: Vec<StoredPrediction> = store
        .health_accounts_with(false)
        .await
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let (p, band) = if i % 3 == 0 {
                (0.6, "red")
            } else {
                (0.05, "green")
            };
            StoredPrediction {
                day,
                account_id: a.id.clone(),
                model_version: version,
                probability: p,
                band: band.into(),
                reasons: vec![(format!("reason of {}", a.id), 1.0)],
            }
        })
        .collect();
    store.save_churn_predictions(day, &rows).await.unwrap();
    s.state.web.cache.invalidate();
}

/// The panel's windows: (days, accounts, ARR renewing, expected renewed,
/// interval, at risk), as `tenure_app::forecast` computes them for
/// `scope`, formatted as the page does.
async fn forecast_figures(
    s: &Seeded,
    scope: &tenure_store::api::Scope,
) -> Vec<(String, String, String, String, String, String)> {
    use tenure_server::web::layout::{money, thousands};
    let f = tenure_app::forecast::renewals(
        &s.db.store,
        &s.state.web.config,
        scope,
        tenure_app::clock::today(),
    )
    .await
    .unwrap();
    let m = |minor: i64| money(minor as f64 / 100.0, "USD", true);
    f.forecast
        .windows
        .iter()
        .map(|w| {
            let e = w.expected;
            (
                w.days.to_string(),
                thousands(w.accounts as i64),
                m(w.arr),
                e.map_or(String::new(), |e| m(e.renewed)),
                e.map_or(String::new(), |e| format!("{} – {}", m(e.low), m(e.high))),
                e.map_or(String::new(), |e| m(e.at_risk)),
            )
        })
        .collect()
}

/// The panel's windows as shown.
fn forecast_shown(r: &Resp) -> Vec<(String, String, String, String, String, String)> {
    let days = r.attrs("#forecast-windows tbody tr", "data-days");
    let cells = |class: &str| -> Vec<String> {
        let c = r.texts(&format!("#forecast-windows tbody td.{class}"));
        if c.is_empty() {
            vec![String::new(); days.len()]
        } else {
            c
        }
    };
    let (accounts, arr, expected, interval, at_risk) = (
        cells("accounts"),
        cells("arr"),
        cells("expected"),
        cells("interval"),
        cells("at-risk"),
    );
    (0..days.len())
        .map(|i| {
            (
                days[i].clone(),
                accounts[i].clone(),
                arr[i].clone(),
                expected[i].clone(),
                interval[i].clone(),
                at_risk[i].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn overview_and_risk_board_show_the_renewal_forecast() {
    use tenure_store::api::Scope;
    let (s, app) = app().await;
    let (b, _) = Browser::login(&app, LEADER).await;
    // No prediction yet: the ARR renewing, and how to get the rest.
    let r = b.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.texts("#h-forecast"), ["Renewal forecast"]);
    assert!(
        r.texts("#forecast-note")[0].contains("train a churn model"),
        "{:?}",
        r.texts("#forecast-note")
    );
    let before = forecast_figures(&s, &Scope::All).await;
    assert_eq!(forecast_shown(&r), before);
    assert_eq!(
        before.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(),
        ["30", "90", "180"]
    );
    assert!(before[2].1 != "0", "the demo has renewals in 180 days");
    assert_eq!(r.count("#forecast-windows td.expected"), 0);

    forecast_predictions(&s).await;
    let r = b.get("/").await;
    let after = forecast_figures(&s, &Scope::All).await;
    assert!(after.iter().all(|w| !w.3.is_empty() && !w.4.is_empty()));
    assert_eq!(forecast_shown(&r), after);
    assert!(r.texts("#forecast-note")[0].contains("within 90 days"));
    // The groups and the renewals at risk are on the risk board only.
    assert_eq!(r.count("#forecast-at-risk"), 0);
    let risk = b.get("/risk").await;
    assert_eq!(risk.status, StatusCode::OK);
    assert_eq!(forecast_shown(&risk), after);
    let groups = risk.attrs("#forecast-groups tbody tr", "data-group");
    assert!(groups.contains(&"red".to_string()), "{groups:?}");
    let top = risk.attrs("#forecast-at-risk tbody tr", "data-account");
    assert!(!top.is_empty() && top.len() <= 10);
    // Renewals the model covers only, each with its first reason.
    let reasons = risk.texts("#forecast-at-risk tbody td.reason");
    for (id, why) in top.iter().zip(&reasons) {
        assert_eq!(*why, format!("reason of {id}"));
    }

    // A CSM sees the forecast of their own accounts.
    let (c, _) = Browser::login(&app, &s.csm).await;
    let r = c.get("/").await;
    let own = forecast_figures(&s, &Scope::Csm(s.csm.clone())).await;
    assert_eq!(forecast_shown(&r), own);
    assert_ne!(own, after);
}

#[tokio::test]
async fn pages_assets_and_the_survey_page_carry_the_security_headers() {
    let (_s, app) = app().await;
    for uri in ["/login", "/assets/web.css", "/s/not-a-token", "/accounts"] {
        let resp = app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let h = resp.headers();
        let csp = h
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap_or_else(|| panic!("{uri}: no CSP"))
            .to_str()
            .unwrap();
        assert_eq!(csp, tenure_server::web::CSP, "{uri}");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{uri}");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer", "{uri}");
    }
}

#[tokio::test]
async fn ten_failed_logins_lock_the_email_even_for_the_right_password() {
    let (_s, app) = app().await;
    let attempt = |password: String| {
        let app = app.clone();
        async move {
            send(
                &app,
                Method::POST,
                "/login",
                &[("content-type", "application/x-www-form-urlencoded")],
                &format!("email={LEADER}&password={password}"),
            )
            .await
        }
    };
    for _ in 0..10 {
        assert_eq!(
            attempt("nope".into()).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = attempt(PASSWORD.replace(' ', "+")).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        locked.texts("#login-error")[0].contains("locked for 15 more minute(s)"),
        "{:?}",
        locked.texts("#login-error")
    );
    assert_eq!(locked.cookie, None, "no session");
    // Another user is not locked.
    let (_, r) = Browser::login(&app, ADMIN).await;
    assert_eq!(r.location, "/");
}

/// A bearer API key of `role` acting for `email`.
async fn bearer(s: &Seeded, role: tenure_store::auth::Role, email: Option<&str>) -> String {
    let k = tenure_server::auth::generate_key();
    s.db.store
        .create_api_key(
            &tenure_store::auth::NewApiKey {
                id: format!("key-{}", &k.hash[..12]),
                name: "crm".into(),
                kind: tenure_store::auth::KeyKind::Api,
                role: Some(role),
                prefix: k.prefix.clone(),
                key_hash: k.hash.clone(),
                user_email: email.map(str::to_string),
                all_accounts: false,
            },
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    format!("Bearer {}", k.secret)
}

/// Status, the two framing headers and the body of a GET.
async fn get_framed(
    app: &Router,
    uri: &str,
    auth: Option<&str>,
) -> (StatusCode, String, Option<String>, String) {
    // (The JSON API sets no Content-Security-Policy: "" then.)
    let mut req = Request::get(uri);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let h = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        h.get(header::CONTENT_SECURITY_POLICY)
            .map_or(String::new(), |v| v.to_str().unwrap().to_string()),
        h.get(header::X_FRAME_OPTIONS)
            .map(|v| v.to_str().unwrap().to_string()),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn the_account_card_shows_the_account_to_its_csm_by_key_or_session_and_to_no_one_else() {
    let (s, app) = app().await;
    let (b, _) = Browser::login(&app, &s.csm).await;
    let mine = b
        .get("/accounts")
        .await
        .attr("#accounts tbody a", "href")
        .unwrap();
    let (other, _) = Browser::login(&app, &s.other_csm).await;
    let theirs = other
        .get("/accounts")
        .await
        .attr("#accounts tbody a", "href")
        .unwrap();
    let key = bearer(&s, tenure_store::auth::Role::Csm, Some(&s.csm)).await;

    // The HTML card by key: small, no navigation, no script, the facts.
    let (status, csp, xfo, body) = get_framed(&app, &format!("{mine}/card"), Some(&key)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(csp.ends_with("frame-ancestors 'none'"), "{csp}");
    assert_eq!(xfo.as_deref(), Some("DENY"));
    let r = Resp {
        status,
        location: String::new(),
        cookie: None,
        body,
    };
    assert_eq!(r.count("nav"), 0);
    assert_eq!(r.count("script"), 0);
    assert_eq!(r.count("h1"), 1);
    let labels = r.texts("dl dt");
    for l in [
        "ARR",
        "Renewal",
        "Segment",
        "Stage",
        "Latest NPS",
        "Open tasks",
        "CSM",
    ] {
        assert!(labels.iter().any(|x| x == l), "{l}: {labels:?}");
    }
    assert!(r.texts("dl dd").iter().any(|x| x == &s.csm));
    assert_eq!(r.count(".score-line .pill"), 1);
    assert_eq!(
        r.attr("main a[target=_blank]", "href").as_deref(),
        Some(mine.as_str())
    );
    // The top reasons, as the account page's health panel computes them.
    assert!(r.count("ul.reasons li") <= 4);
    assert!(r.body.len() < 8_000, "{} bytes", r.body.len());

    // By session too.
    assert_eq!(b.get(&format!("{mine}/card")).await.status, StatusCode::OK);

    // The JSON card: the same facts.
    let (status, _, _, body) = get_framed(&app, &format!("/api/v1{mine}/card"), Some(&key)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(format!("/accounts/{}", j["id"].as_str().unwrap()), mine);
    assert_eq!(j["url"], mine.as_str());
    assert_eq!(j["csm"], s.csm.as_str());
    assert!(j["arr"].is_number() && j["currency"].is_string());
    assert!(j["open_tasks"].is_u64());
    assert!(j["risk"]["on_board"].is_boolean());
    assert!(j["risk"]["open_reasons"].is_array());
    let h = &j["health"];
    assert!(
        ["red", "yellow", "green", "none"].contains(&h["band"].as_str().unwrap()),
        "{h}"
    );
    assert!(h["reasons"].is_array());
    assert_eq!(h["score"].is_number(), h["band"] != "none");

    // Another CSM's account: 404, as if it did not exist.
    for uri in [format!("{theirs}/card"), format!("/api/v1{theirs}/card")] {
        let (status, _, _, _) = get_framed(&app, &uri, Some(&key)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
    // No credentials: 401 (not a login page a frame could not show).
    for uri in [format!("{mine}/card"), format!("/api/v1{mine}/card")] {
        let (status, _, _, _) = get_framed(&app, &uri, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    // A leader sees every account's card.
    let leader = bearer(&s, tenure_store::auth::Role::Leader, None).await;
    let (status, _, _, _) = get_framed(&app, &format!("{theirs}/card"), Some(&leader)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_account_card_may_be_framed_by_the_configured_crm_origins_only() {
    let (mut s, _) = app().await;
    let mut config = tenure_core::config::Config::default();
    config.server.card_frame_ancestors = vec![
        "https://acme.lightning.force.com".into(),
        "https://app.hubspot.com".into(),
    ];
    s.state.web = std::sync::Arc::new(tenure_server::web::WebState::new(config));
    let app = router(s.state.clone());
    let key = bearer(&s, tenure_store::auth::Role::Leader, None).await;
    let (b, _) = Browser::login(&app, LEADER).await;
    let mine = b
        .get("/accounts")
        .await
        .attr("#accounts tbody a", "href")
        .unwrap();
    for (uri, auth, status) in [
        (format!("{mine}/card"), Some(key.as_str()), StatusCode::OK),
        (
            "/accounts/no-such-account/card".to_string(),
            Some(key.as_str()),
            StatusCode::NOT_FOUND,
        ),
        (format!("{mine}/card"), None, StatusCode::UNAUTHORIZED),
    ] {
        let (got, csp, xfo, _) = get_framed(&app, &uri, auth).await;
        assert_eq!(got, status, "{uri}");
        assert!(
            csp.ends_with(
                "frame-ancestors https://acme.lightning.force.com https://app.hubspot.com"
            ),
            "{csp}"
        );
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert_eq!(xfo, None, "{uri}");
    }
    // Every other page still refuses to be framed.
    for uri in [mine.clone(), "/accounts".to_string()] {
        let (got, csp, xfo, _) = get_framed(&app, &uri, Some(&key)).await;
        assert_eq!(got, StatusCode::OK, "{uri}");
        assert_eq!(csp, tenure_server::web::CSP);
        assert_eq!(xfo.as_deref(), Some("DENY"));
    }
}

/// A model with no features, stored as the next version: what the account
/// page reads of it is its version and horizon.
async fn store_churn_model(s: &Seeded) -> i64 {
    use tenure_core::churn::{ChurnModel, ModelBands, Scaling};
    let model = ChurnModel {
        scaling: Scaling { columns: vec![] },
        intercept: -1.0,
        coefficients: vec![],
        bands: ModelBands {
            red_from: 0.4,
            yellow_from: 0.1,
        },
    };
    let day: jiff::civil::Date = "2025-01-01".parse().unwrap();
    s.db.store
        .save_churn_model(&tenure_store::churn::NewChurnModel {
            trained_at: 0,
            horizon_days: 90,
            train_from: day,
            train_to: day,
            test_from: day,
            test_to: day,
            health_version: "v",
            features: &[],
            event_names: &[],
            model: &model,
            metrics: &serde_json::json!({}),
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn the_account_page_shows_churn_risk_with_reasons_and_trend_or_how_to_train() {
    let (s, app) = app().await;
    let (b, _) = Browser::login(&app, &s.csm).await;
    let href = b
        .get("/accounts")
        .await
        .attr("#accounts tbody a", "href")
        .unwrap();
    let id = href.trim_start_matches("/accounts/").to_string();
    let r = b.get(&href).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.texts("#h-churn"), ["Churn risk"]);
    let none = r.texts("#churn-none").join(" ");
    assert!(none.contains("tenure churn train"), "{none}");
    assert_eq!(r.count("#churn-probability"), 0);

    // A model, and two days of predictions of this account.
    assert_eq!(store_churn_model(&s).await, 1);
    let r = b.get(&href).await;
    let none = r.texts("#churn-none").join(" ");
    assert!(none.contains("tenure churn predict --save"), "{none}");
    for (day, p, band) in [("2025-06-01", 0.2, "yellow"), ("2025-06-02", 0.4567, "red")] {
        s.db.store
            .save_churn_predictions(
                day.parse().unwrap(),
                &[tenure_store::churn::StoredPrediction {
                    day: day.parse().unwrap(),
                    account_id: id.clone(),
                    model_version: 1,
                    probability: p,
                    band: band.into(),
                    reasons: vec![
                        ("messages sent fell 60 % in 28 days".into(), 0.9),
                        ("no engagement in 75 days".into(), 0.3),
                    ],
                }],
            )
            .await
            .unwrap();
    }
    let r = b.get(&href).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.count("#churn-none"), 0);
    assert_eq!(r.texts("#churn-probability"), ["45.7 %"]);
    assert_eq!(r.texts("#churn-band"), ["High risk"]);
    assert_eq!(
        r.attr("#churn-band", "class").as_deref(),
        Some("pill b-red")
    );
    let made = r.texts("#churn-made").join(" ");
    assert!(
        made.contains("within 90 days") && made.contains("model 1") && made.contains("2025-06-02"),
        "{made}"
    );
    assert_eq!(
        r.texts("#churn-reasons li"),
        [
            "messages sent fell 60 % in 28 days",
            "no engagement in 75 days"
        ]
    );
    assert_eq!(r.count("#churn svg"), 1);
    // A newer model that has not predicted yet is said.
    assert_eq!(store_churn_model(&s).await, 2);
    let r = b.get(&href).await;
    let note = r.texts("#churn .notice").join(" ");
    assert!(note.contains("Made by model 1; model 2"), "{note}");
}
