//! The dashboard in real headless Chromium, driven through Debian's
//! chromedriver: logs in as a CSM and as a leader, opens every page, uses
//! the filters and sorting, submits an engagement and a health override and
//! sees them on the page, opens the Engage pages (segments, journey,
//! cadence, a CSM's overdue engagements on their landing page, a bad date
//! answered with the form), and fails on any console error or failed
//! request.
//! A screenshot of every page goes to `target/screenshots/` (or
//! `$TENURE_SCREENSHOTS`) for CI to keep.
//!
//! Without `chromium` and `chromedriver` on the PATH the test says so and
//! passes, unless `TENURE_REQUIRE_BROWSER=1` (set by `scripts/test.sh`).
//! Chromedriver is started by the test on a free port with a fresh profile
//! directory, and everything runs under one overall timeout.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use support::{LEADER, PASSWORD, seeded};

const CHROME_FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1366,1800",
];

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Kills chromedriver when the test ends, however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The legacy log endpoint chromedriver still serves: console messages and
/// failed loads of the page since the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or("")))
    }
    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

struct Session {
    c: Client,
    base: String,
    shots: PathBuf,
}

impl Session {
    /// Errors logged by the page (console errors and failed requests).
    async fn errors(&self) -> Vec<String> {
        let v = self
            .c
            .issue_cmd(BrowserLog)
            .await
            .expect("reading the browser log");
        v.as_array()
            .expect("the browser log is a list")
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or("").to_string())
            .collect()
    }

    async fn check_clean(&self, what: &str) {
        let errors = self.errors().await;
        assert!(errors.is_empty(), "{what}: browser errors: {errors:?}");
        // Every resource the page loaded answered below 400.
        let bad = self
            .c
            .execute(
                "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))\
                 .filter(e => e.responseStatus >= 400).map(e => e.name + ' ' + e.responseStatus)",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(bad, json!([]), "{what}: failed requests");
    }

    async fn open(&self, path: &str, shot: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap();
        self.wait_for("main").await;
        self.check_clean(path).await;
        self.shot(shot).await;
    }

    async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.c.find_all(Locator::Css(css)).await.unwrap() {
            out.push(e.text().await.unwrap());
        }
        out
    }

    /// Whether the element is on the page and shown.
    async fn visible(&self, css: &str) -> bool {
        match self.c.find(Locator::Css(css)).await {
            Ok(e) => e.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        }
    }

    async fn assert_visible(&self, css: &[&str]) {
        for c in css {
            assert!(
                self.visible(c).await,
                "{c} is not shown on {}",
                self.path().await
            );
        }
    }

    async fn path(&self) -> String {
        let u = self.c.current_url().await.unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    }

    async fn fill(&self, css: &str, value: &str) {
        let e = self.c.find(Locator::Css(css)).await.unwrap();
        e.clear().await.unwrap();
        e.send_keys(value).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Waits up to 20 s for an element to appear.
    async fn wait_for(&self, css: &str) {
        self.c
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
    }

    /// Waits until the address holds `part` (a navigation landed).
    async fn wait_for_path(&self, part: &str) {
        for _ in 0..200 {
            if self.path().await.contains(part) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the address never held {part:?}: {}", self.path().await);
    }

    async fn login(&self, email: &str) {
        self.c.delete_all_cookies().await.unwrap();
        self.open("/login", "login").await;
        self.fill("#email", email).await;
        self.fill("#password", PASSWORD).await;
        self.click("form button[type=submit]").await;
        self.wait_for("header.top").await;
        self.check_clean("after login").await;
    }
}

fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("TENURE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Chromium and chromedriver, or `None` to skip `what` (a failure instead
/// when `TENURE_REQUIRE_BROWSER=1`, as in CI).
fn browser(what: &str) -> Option<(PathBuf, PathBuf)> {
    let required = std::env::var("TENURE_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let (Some(chrome), Some(driver)) = (
        find(&["chromium", "chromium-browser", "google-chrome"]),
        find(&["chromedriver"]),
    ) else {
        assert!(
            !required,
            "chromium and chromedriver are required (TENURE_REQUIRE_BROWSER=1)"
        );
        eprintln!("skipping {what}: chromium or chromedriver is not installed");
        return None;
    };
    Some((chrome, driver))
}

/// Serves `state` on a free port, opens a headless Chromium session on
/// it, runs `steps`, then closes the browser and stops the server
/// (chromedriver is killed and the profile deleted when they drop).
async fn in_browser(
    (chrome, driver): &(PathBuf, PathBuf),
    state: tenure_server::AppState,
    steps: impl AsyncFnOnce(&Session),
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tenure_server::serve_on(listener, state, async {
        let _ = stopped.await;
    }));
    let (_driver, _profile, client) = start_browser(chrome, driver).await;
    let s = Session {
        c: client,
        base,
        shots: screenshot_dir(),
    };
    steps(&s).await;
    s.c.clone().close().await.unwrap();
    let _ = stop.send(());
    let _ = server.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_headless_chromium() {
    let Some(b) = browser("the browser suite") else {
        return;
    };
    tokio::time::timeout(Duration::from_secs(300), run(b))
        .await
        .expect("the browser suite took more than 5 minutes");
}

async fn run(b: (PathBuf, PathBuf)) {
    let seeded = seeded(80).await;
    engage_history(&seeded).await;
    in_browser(&b, seeded.state.clone(), async |s: &Session| {
        the_error_detector_works(s).await;
        a_csm_sorts_and_filters_their_accounts(s, &seeded.csm).await;
        a_csm_sees_their_engage_pages(s, &seeded.csm).await;
        a_csm_logs_an_engagement(s).await;
        a_csm_overrides_a_health_score(s).await;
        a_csm_works_a_success_plan(s).await;
        for (path, shot) in [
            ("/", "csm-overview"),
            ("/risk", "csm-risk"),
            ("/metrics", "csm-metrics"),
            ("/settings", "csm-settings"),
        ] {
            s.open(path, shot).await;
        }
        a_leader_sees_every_page_and_logs_out(s).await;
        a_leader_reads_the_engage_pages(s, &seeded.csm).await;
        a_leader_dry_runs_a_playbook(s).await;
    })
    .await;
}

/// Starts chromedriver on a free port and a headless Chromium session with a
/// fresh profile, retrying for 20 s while chromedriver starts.
async fn start_browser(chrome: &Path, driver: &Path) -> (Driver, tempfile::TempDir, Client) {
    let port = free_port();
    let chromedriver = Driver(
        Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver"),
    );
    let profile = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = CHROME_FLAGS.iter().map(|s| s.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.path().display()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": chrome.to_string_lossy(), "args": args}),
    );
    caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
    let url = format!("http://127.0.0.1:{port}");
    let mut client = None;
    for _ in 0..100 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let client = client.expect("chromedriver did not answer within 20 s");
    (chromedriver, profile, client)
}

/// A console error and a failed request are caught.
async fn the_error_detector_works(s: &Session) {
    s.open("/login", "login").await;
    s.c.execute(
        "console.error('detector self-check'); return fetch('/no-such-asset.css').then(r => r.status)",
        vec![],
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let caught = s.errors().await;
    assert!(
        caught.iter().any(|e| e.contains("detector self-check"))
            && caught.iter().any(|e| e.contains("404")),
        "the browser log does not report errors: {caught:?}"
    );
}

/// A CSM lands on their accounts, sorts them by name and filters by plan.
async fn a_csm_sorts_and_filters_their_accounts(s: &Session, csm: &str) {
    s.login(csm).await;
    assert_eq!(s.path().await, "/accounts");
    s.shot("csm-accounts").await;
    assert_eq!(s.text("h1").await, "My accounts");
    let csms = s.texts("#accounts tbody td:nth-child(3)").await;
    assert!(csms.iter().all(|c| c.eq_ignore_ascii_case(csm)), "{csms:?}");
    // Sorting by name, by clicking the header.
    s.click("th a[data-sort=name]").await;
    assert!(s.path().await.contains("sort=name&dir=asc"));
    let names = s.texts("#accounts tbody td:first-child a").await;
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted);
    // Filtering by plan: the script submits the form when the select changes.
    let plan = s.texts("#f-plan option").await[1].clone();
    s.c.find(Locator::Css("#f-plan"))
        .await
        .unwrap()
        .select_by_label(&plan)
        .await
        .unwrap();
    for _ in 0..100 {
        if s.path().await.contains("plan=") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.wait_for("#accounts").await;
    assert!(s.path().await.contains("plan="), "{}", s.path().await);
    let plans = s.texts("#accounts tbody td:nth-child(2)").await;
    assert!(plans.iter().all(|p| *p == plan), "{plans:?}");
    s.check_clean("filtered accounts").await;
    s.shot("csm-accounts-filtered").await;
}

/// The account page: log an engagement and see it in the timeline.
async fn a_csm_logs_an_engagement(s: &Session) {
    s.open("/accounts", "csm-accounts-all").await;
    s.click("#accounts tbody a").await;
    s.wait_for("#timeline").await;
    s.check_clean("account page").await;
    s.shot("csm-account").await;
    s.click("#timeline details.form-box summary").await;
    s.fill("#e-notes", "Browser suite: renewal plan agreed")
        .await;
    s.click("#engagement-form button[type=submit]").await;
    s.wait_for("#saved").await;
    let timeline = s.texts(".timeline li.t-engagement").await;
    assert!(
        timeline
            .iter()
            .any(|t| t.contains("Browser suite: renewal plan agreed")),
        "{timeline:?}"
    );
    s.check_clean("after the engagement").await;
    s.shot("csm-account-engagement").await;
}

/// On the same account page, a health override, when this server can store
/// them: first a mistake, shown next to its field, then a valid one.
async fn a_csm_overrides_a_health_score(s: &Session) {
    if s.c.find(Locator::Css("#override-form")).await.is_err() {
        return;
    }
    s.click("#health details.form-box summary").await;
    s.fill("#o-score", "140").await;
    s.fill("#o-reason", "Champion left; renewal at risk").await;
    s.click("#override-form button[type=submit]").await;
    s.wait_for("#o-score-err").await;
    s.shot("csm-account-override-error").await;
    // The form came back with 422, as it should; nothing else failed.
    let logged = s.errors().await;
    assert!(
        logged
            .iter()
            .all(|m| m.contains("/override") && m.contains("422")),
        "{logged:?}"
    );
    s.fill("#o-score", "25").await;
    s.click("#override-form button[type=submit]").await;
    s.wait_for("#override-note").await;
    assert!(s.text("#override-note").await.contains("Champion left"));
    s.check_clean("after the override").await;
    s.shot("csm-account-override").await;
}

/// A leader lands on the overview, sees every page and an account, and
/// logs out.
async fn a_leader_sees_every_page_and_logs_out(s: &Session) {
    s.login(LEADER).await;
    assert_eq!(s.path().await, "/");
    s.shot("leader-overview").await;
    assert!(s.text(".stat .big").await.starts_with('$'));
    for (path, shot) in [
        ("/accounts", "leader-accounts"),
        ("/accounts?sort=health&dir=asc", "leader-accounts-by-health"),
        ("/risk", "leader-risk"),
        ("/metrics?preset=12m", "leader-metrics"),
        (
            "/metrics?preset=12m&cohort=revenue#cohorts",
            "leader-metrics-cohorts",
        ),
        ("/settings", "leader-settings"),
    ] {
        s.open(path, shot).await;
    }
    // The survival chart, one curve per plan, picked with the selector's
    // form (no script needed): the chart and a legend entry per plan.
    s.open("/metrics?preset=12m#survival", "leader-metrics-survival")
        .await;
    s.assert_visible(&[
        "svg[aria-labelledby^=survival]",
        "#survival .legend li",
        "#s-by",
    ])
    .await;
    s.c.find(Locator::Css("#s-by option[value=plan]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.click("#survival-form button[type=submit]").await;
    s.wait_for("#s-by option[value=plan][selected]").await;
    s.check_clean("survival by plan").await;
    s.shot("leader-metrics-survival-by-plan").await;
    assert!(s.texts("#survival .legend li").await.len() > 1);
    s.open("/accounts", "leader-accounts-again").await;
    s.click("#accounts tbody a").await;
    s.wait_for("#timeline").await;
    s.check_clean("leader account page").await;
    s.shot("leader-account").await;
    s.click("header .who button").await;
    s.wait_for("#email").await;
    assert_eq!(s.path().await, "/login?out=1");
}

/// Health over the last 60 days and the Engage runs rebuilt over them, as
/// `tenure health recompute --from` does, so that the journey has moves
/// and cadence a period to count.
async fn engage_history(seeded: &support::Seeded) {
    let store = &seeded.db.store;
    let config = tenure_core::config::Config::default();
    let end = tenure_core::model::utc_date(jiff::Timestamp::now());
    let from = tenure_core::model::add_days(end, -59);
    let quiet = &tenure_app::health::Quiet;
    tenure_app::health::recompute(store, &config, from, end, quiet)
        .await
        .unwrap();
    tenure_app::engage::rebuild(store, &config, from, end, quiet)
        .await
        .unwrap();
}

/// A CSM's landing page shows their overdue engagements; the Engage pages
/// show their accounts, without a CSM filter.
async fn a_csm_sees_their_engage_pages(s: &Session, csm: &str) {
    s.open("/accounts", "csm-landing").await;
    s.assert_visible(&["#my-overdue", "#my-overdue-all"]).await;
    s.open("/segments", "csm-segments").await;
    s.assert_visible(&["#segments", "svg[aria-labelledby^=segment-arr]", "#period"])
        .await;
    assert!(!s.visible("#p-csm").await, "a CSM has no CSM filter");
    s.open("/journey", "csm-journey").await;
    s.assert_visible(&[
        "svg[aria-labelledby^=funnel]",
        "#stages",
        "#friction",
        "#stuck",
    ])
    .await;
    s.open("/cadence", "csm-cadence").await;
    s.assert_visible(&["#compliance", "#by-csm", "#overdue"])
        .await;
    let owners = s.texts("#overdue tbody td:nth-child(2)").await;
    assert!(
        owners
            .iter()
            .all(|c| c.eq_ignore_ascii_case(csm) || c == "Nothing is overdue."),
        "{owners:?}"
    );
}

/// A leader opens the Engage pages, narrows cadence to one CSM with the
/// form (no script needed), follows a stuck account, and gets the form
/// back with a message for a bad date.
async fn a_leader_reads_the_engage_pages(s: &Session, csm: &str) {
    s.login(LEADER).await;
    s.open("/segments", "leader-segments").await;
    s.assert_visible(&[
        "#segments",
        "svg[aria-labelledby^=segment-arr]",
        "svg[aria-labelledby^=segment-health]",
        "#p-csm",
    ])
    .await;
    s.open("/journey", "leader-journey").await;
    s.assert_visible(&[
        "svg[aria-labelledby^=funnel]",
        "#stages",
        "#friction",
        "#stuck",
    ])
    .await;
    s.open("/cadence", "leader-cadence").await;
    s.assert_visible(&[
        "#compliance",
        "#by-csm",
        "#by-segment",
        "#by-policy",
        "#overdue",
    ])
    .await;
    s.c.find(Locator::Css("#p-csm"))
        .await
        .unwrap()
        .select_by_label(csm)
        .await
        .unwrap();
    s.click("#period button[type=submit]").await;
    // The old page has #overdue too: wait for the new address first.
    s.wait_for_path("csm=").await;
    s.wait_for("#overdue").await;
    let owners = s.texts("#overdue tbody td:nth-child(2)").await;
    assert!(
        owners
            .iter()
            .all(|c| c.eq_ignore_ascii_case(csm) || c == "Nothing is overdue."),
        "{owners:?}"
    );
    s.check_clean("cadence for one CSM").await;
    s.shot("leader-cadence-csm").await;

    s.open("/journey", "leader-journey-again").await;
    if s.visible("#stuck tbody a").await {
        s.click("#stuck tbody a").await;
        s.wait_for("#timeline").await;
        assert!(s.path().await.starts_with("/accounts/"));
        s.check_clean("a stuck account").await;
    }

    // A bad date: 400, the form and the message, no other failure.
    s.c.goto(&format!("{}/journey?from=2026-02-30", s.base))
        .await
        .unwrap();
    s.wait_for("#period-err").await;
    assert!(s.text("#period-err").await.contains("2026-02-30"));
    s.shot("leader-journey-bad-date").await;
    let logged = s.errors().await;
    assert!(logged.iter().all(|m| m.contains("400")), "{logged:?}");
}

/// From an account page, a plan by hand: a goal, a milestone done, value
/// delivered; then the account's business review, as it prints.
async fn a_csm_works_a_success_plan(s: &Session) {
    s.open("/accounts", "csm-accounts-for-plan").await;
    s.click("#accounts tbody a").await;
    s.wait_for("#success").await;
    if s.visible("#create-plan").await {
        s.click("#create-plan button[type=submit]").await;
        s.wait_for_path("saved=plan").await;
    } else {
        s.click("#customer-side h3 a").await;
        s.wait_for("#plan-form").await;
    }
    s.check_clean("a new plan").await;
    s.click("#h-goal-forms + details summary").await;
    s.fill("#g-name", "Weekly reports shared").await;
    s.fill("#g-target", "4").await;
    s.click("#goal-form button[type=submit]").await;
    s.wait_for_path("saved=goal").await;
    s.click("#h-ms-forms ~ details summary").await;
    // The due day offered is two weeks ahead.
    s.fill("#m-name", "Browser suite kick-off").await;
    s.click("#milestone-form button[type=submit]").await;
    s.wait_for_path("saved=milestone").await;
    let milestones = s.texts("table.milestones tbody tr").await;
    assert!(
        milestones
            .iter()
            .any(|m| m.contains("Browser suite kick-off")),
        "{milestones:?}"
    );
    s.click("form.milestone-status button[type=submit]").await;
    s.wait_for_path("saved=status").await;
    assert!(
        s.texts("table.milestones .pill")
            .await
            .iter()
            .any(|t| t == "done")
    );
    s.check_clean("the plan editor").await;
    s.shot("csm-plan").await;
    s.click("a[href$='/qbr']").await;
    s.wait_for("#q-outcomes").await;
    s.check_clean("the business review").await;
    s.shot("csm-qbr").await;
}

/// The team page in Chromium: a leader sees the CSMs side by side with
/// their cells coloured against the targets and a chart per KPI, narrows
/// it to one CSM with the form; a CSM sees their own row and the team's.
/// On the Engage fixture (Ann and Bo), with targets for ARR and cadence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_page_works_in_headless_chromium() {
    let Some(b) = browser("the team page in the browser") else {
        return;
    };
    tokio::time::timeout(Duration::from_secs(180), team_page(b))
        .await
        .expect("the team page's browser test took more than 3 minutes");
}

async fn team_page(b: (PathBuf, PathBuf)) {
    let mut seeded = support::engage_fixture().await;
    let targets = r#"
[target]
amber_within = 0.2

[target.kpis]
arr = 6000
cadence_compliance = 0.2

[[target.csm]]
email = "bo@example.com"
kpis = { arr = 7000 }
"#;
    let config =
        tenure_core::config::parse_config(&format!("{}{targets}", support::ENGAGE_CONFIG)).unwrap();
    seeded.state.web = std::sync::Arc::new(tenure_server::web::WebState::new(config));
    in_browser(&b, seeded.state.clone(), async |s: &Session| {
        let period = format!(
            "from={}&as_of={}&months=3",
            support::ENGAGE_FROM,
            support::ENGAGE_TO
        );

        s.login(LEADER).await;
        s.click("a[href='/team']").await;
        s.wait_for("#kpis").await;
        s.check_clean("the team page").await;
        s.open(&format!("/team?{period}"), "leader-team").await;
        s.assert_visible(&[
            "#kpis",
            "#team-row",
            "#rag-legend",
            "#p-csm",
            "svg[aria-labelledby^=kpi-arr]",
        ])
        .await;
        let csms = s.texts("#kpis tbody th[scope=row] a").await;
        assert_eq!(csms.len(), 2, "{csms:?}");
        assert!(csms[0].starts_with(support::ANN), "{csms:?}");
        // The RAG cells are shown, coloured by their class.
        for (css, want) in [
            (
                "#kpis tr[data-csm='ann@example.com'] td[data-kpi=cadence_compliance]",
                "red",
            ),
            (
                "#kpis tr[data-csm='bo@example.com'] td[data-kpi=arr]",
                "amber",
            ),
            ("#team-row td[data-kpi=arr]", "green"),
        ] {
            assert!(s.visible(css).await, "{css} is not shown");
            let e = s.c.find(Locator::Css(css)).await.unwrap();
            assert_eq!(
                e.attr("data-rag").await.unwrap().as_deref(),
                Some(want),
                "{css}"
            );
            let bg = e.css_value("background-color").await.unwrap();
            assert!(
                bg != "rgba(0, 0, 0, 0)" && bg != "transparent",
                "{css} has no colour: {bg}"
            );
        }
        assert!(
            s.text("#kpis tr[data-csm='bo@example.com'] td[data-kpi=arr]")
                .await
                .contains("target $7,000")
        );
        // Narrowed to Bo with the form (no script needed).
        s.c.find(Locator::Css("#p-csm"))
            .await
            .unwrap()
            .select_by_label(support::BO)
            .await
            .unwrap();
        s.click("#period button[type=submit]").await;
        s.wait_for_path("csm=").await;
        s.wait_for("#kpis").await;
        assert_eq!(s.texts("#kpis tbody tr").await.len(), 1);
        s.check_clean("the team page for one CSM").await;
        s.shot("leader-team-csm").await;
        // A bad month count: the form again with the message.
        s.c.goto(&format!("{}/team?months=0", s.base))
            .await
            .unwrap();
        s.wait_for("#period-err").await;
        assert!(s.text("#period-err").await.starts_with("Months:"));
        let logged = s.errors().await;
        assert!(logged.iter().all(|m| m.contains("400")), "{logged:?}");

        s.login(support::ANN).await;
        s.open(&format!("/team?{period}"), "csm-team").await;
        assert_eq!(s.texts("#kpis tbody tr").await.len(), 1);
        assert!(!s.visible("#p-csm").await, "a CSM has no CSM filter");
        assert!(
            s.visible("#kpis tr[data-csm='ann@example.com'] td[data-rag=red]")
                .await
        );
        assert!(s.visible("#team-row").await);
    })
    .await;
}

/// *My tasks* in Chromium, on the Engage fixture: Ann opens her tasks from
/// the navigation (overdue first), completes one through its form with an
/// engagement and notes and sees it gone from the open list, then snoozes
/// the other from its folded form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_tasks_work_in_headless_chromium() {
    let Some(b) = browser("my tasks in the browser") else {
        return;
    };
    tokio::time::timeout(Duration::from_secs(180), my_tasks(b))
        .await
        .expect("my tasks' browser test took more than 3 minutes");
}

async fn my_tasks(b: (PathBuf, PathBuf)) {
    use tenure_app::target::tasks::{NewTask, add};
    let seeded = support::engage_fixture().await;
    let today = tenure_app::clock::today();
    let mut ids = Vec::new();
    for (account, title, due, kind) in [
        ("a1", "Browser: call Acme about the renewal", -2, "call"),
        ("a2", "Browser: send Beta the deck", 3, ""),
    ] {
        let new = NewTask {
            account_id: account,
            title,
            due: Some(tenure_core::model::add_days(today, due)),
            log_kind: kind,
            ..NewTask::default()
        };
        let scope = tenure_store::api::Scope::All;
        let config = &seeded.state.web.config;
        let c = add(&seeded.db.store, config, &scope, &new, None, today, 0)
            .await
            .unwrap();
        ids.push(c.task.task.id);
    }
    in_browser(&b, seeded.state.clone(), async |s: &Session| {
        let titles = "#tasks-table tbody tr[data-task] td.title strong";

        s.login(support::ANN).await;
        s.click("header nav a[href='/tasks']").await;
        s.wait_for("#tasks-table").await;
        s.check_clean("my tasks").await;
        s.shot("csm-tasks").await;
        assert_eq!(s.text("h1").await, "My tasks");
        assert_eq!(
            s.texts(titles).await,
            [
                "Browser: call Acme about the renewal",
                "Browser: send Beta the deck"
            ]
        );
        assert_eq!(
            s.text(&format!("tr[data-task='{}'] .overdue", ids[0]))
                .await,
            "2 days overdue"
        );

        // Complete the overdue one, logging a call with notes.
        s.fill(
            &format!("#c-notes-{}", ids[0]),
            "Browser suite: renewal call",
        )
        .await;
        s.click(&format!(
            "tr[data-task='{}'] form.task-complete button[type=submit]",
            ids[0]
        ))
        .await;
        s.wait_for_path("task=logged").await;
        s.wait_for("#tasks-saved").await;
        assert_eq!(
            s.text("#tasks-saved").await,
            "Task done; the engagement is logged."
        );
        assert_eq!(s.texts(titles).await, ["Browser: send Beta the deck"]);
        s.check_clean("after completing a task").await;
        s.shot("csm-tasks-done").await;

        // Snooze the other to the form's default, a week ahead.
        s.click(&format!("tr[data-task='{}'] details summary", ids[1]))
            .await;
        s.shot("csm-tasks-more").await;
        s.click(&format!(
            "tr[data-task='{}'] form.task-snooze button[type=submit]",
            ids[1]
        ))
        .await;
        s.wait_for_path("task=snoozed").await;
        s.wait_for("#tasks-saved").await;
        let week = tenure_core::model::add_days(today, 7).to_string();
        assert_eq!(
            s.text(&format!("tr[data-task='{}'] td.due", ids[1])).await,
            week
        );
        s.check_clean("after snoozing a task").await;
        s.shot("csm-tasks-snoozed").await;

        // The done task is on the account page's timeline as a call.
        let engagements = seeded
            .db
            .store
            .account_records(tenure_store::Kind::Engagements, "a1")
            .await
            .unwrap();
        assert!(
            engagements.iter().any(|r| matches!(r,
            tenure_store::rows::Record::Engagement(e)
                if e.kind == "call" && e.notes.as_deref() == Some("Browser suite: renewal call"))),
            "{engagements:?}"
        );
    })
    .await;
}

/// The playbooks page: each playbook's definition, and a dry run of the
/// first, which lists who would enter with the values the trigger read.
async fn a_leader_dry_runs_a_playbook(s: &Session) {
    s.login(LEADER).await;
    s.click("header nav a[href='/playbooks']").await;
    s.wait_for("section.playbook").await;
    s.check_clean("the playbooks page").await;
    s.click("section.playbook a.dry-run-link").await;
    s.wait_for("#dry-run-table").await;
    s.check_clean("a dry run").await;
    assert!(s.text("#h-dry").await.starts_with("Dry run: "));
    s.shot("leader-playbook-dry-run").await;
    // The backtest: who would have entered over the past year, and churned.
    s.click("section.playbook a.backtest-link").await;
    s.wait_for("#backtest-summary").await;
    s.check_clean("a backtest").await;
    assert!(s.text("#h-backtest").await.starts_with("Backtest: "));
    // The labels are shown in capitals.
    let summary = s.text("#backtest-summary").await.to_lowercase();
    assert!(
        summary.contains("precision") && summary.contains("base rate"),
        "{summary}"
    );
    s.wait_for("#backtest-months tbody tr").await;
    s.shot("leader-playbook-backtest").await;
}

/// The risk board and a leadership review in Chromium: a leader flags an
/// account by hand on `/risk`, the daily pass opens a review, and the
/// leader holds it on `/reviews/{id}` with a decision for the account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_risk_board_and_a_review_work_in_headless_chromium() {
    let Some(b) = browser("the risk board in the browser") else {
        return;
    };
    tokio::time::timeout(Duration::from_secs(180), risk_board(b))
        .await
        .expect("the risk board's browser test took more than 3 minutes");
}

async fn risk_board(b: (PathBuf, PathBuf)) {
    let seeded = seeded(40).await;
    let store = seeded.db.store.clone();
    in_browser(&b, seeded.state.clone(), async |s: &Session| {
        let today = tenure_core::model::utc_date(jiff::Timestamp::now());
        let accounts = store.risk_accounts(&tenure_store::api::Scope::All).await.unwrap();
        let board = tenure_app::risk::board(
            &store,
            &tenure_core::config::Config::default(),
            &tenure_store::api::Scope::All,
            today,
        )
        .await
        .unwrap();
        let id = accounts
            .iter()
            .map(|a| a.id.clone())
            .find(|a| !board.rows.iter().any(|r| r.account_id == *a))
            .unwrap();
        s.login(LEADER).await;
        s.click("header nav a[href='/risk']").await;
        s.wait_for("#flag-form").await;
        s.check_clean("the risk board").await;
        s.fill("#flag-form input[name=account_id]", &id).await;
        s.fill("#flag-form input[name=reason]", "Browser: champion left")
            .await;
        s.fill("#flag-form input[name=next_step]", "Call the CFO").await;
        s.click("#flag-form button[type=submit]").await;
        s.wait_for_path("done=flagged").await;
        s.wait_for(&format!("#risk tr[data-account='{id}']")).await;
        assert!(
            s.text(&format!("#risk tr[data-account='{id}'] td.reason"))
                .await
                .contains("Browser: champion left")
        );
        s.check_clean("after flagging").await;
        s.shot("leader-risk-flagged").await;

        // The daily pass opens a review (no account at risk is the limit).
        let mut config = tenure_core::config::Config::default();
        config.risk.thresholds.accounts_at_risk = Some(0);
        let review = tenure_app::risk::daily(&store, &config, today)
            .await
            .unwrap()
            .opened
            .expect("a review opens")
            .id;
        s.open("/risk", "leader-risk-chart").await;
        s.click("#reviews-link").await;
        s.wait_for("#reviews").await;
        s.check_clean("the reviews list").await;
        s.click(&format!("#reviews a[href='/reviews/{review}']")).await;
        s.wait_for("#hold-form").await;
        s.check_clean("a review").await;
        s.fill("#hold-form input[name=attendees]", "CEO, VP CS").await;
        let n = s
            .c
            .execute(
                &format!(
                    "return [...document.querySelectorAll('#review-items tbody tr')].findIndex(r => r.dataset.account === '{id}')"
                ),
                vec![],
            )
            .await
            .unwrap()
            .as_i64()
            .unwrap();
        s.fill(&format!("#action_{n}"), "Browser: exec sponsor call")
            .await;
        s.shot("leader-review-form").await;
        s.click("#hold-form button[type=submit]").await;
        s.wait_for("#review-held").await;
        assert!(s.text("#review-held").await.contains("CEO, VP CS"));
        assert_eq!(
            s.text(&format!("#review-items tr[data-account='{id}'] td.action"))
                .await,
            "Browser: exec sponsor call"
        );
        s.check_clean("a held review").await;
        s.shot("leader-review-held").await;
    })
    .await;
}

/// `[outbound]` of the account-risk and outbound browser test: an SMTP
/// server with a password and two webhook endpoints, one with its secret
/// in the file and one naming an environment variable that is not set.
/// None of the secrets may reach the page.
const OUTBOUND_CONFIG: &str = r#"
[outbound.smtp]
host = "smtp.example.com"
port = 2525
security = "starttls"
username = "tenure@example.com"
password = "browser-smtp-pass-5f3a"
from = "Customer Success <cs@example.com>"

[[outbound.webhooks]]
name = "crm"
url = "https://hooks.example.com/tenure?token=browser-url-token-77"
secret = "whsec_browser_secret_9c1d"

[[outbound.webhooks]]
name = "slack"
url = "https://bot:browser-url-pass-31@hooks.example.com/other"
secret_env = "TENURE_BROWSER_TEST_UNSET_SECRET"
"#;

/// What must never be on the settings page.
const OUTBOUND_SECRETS: [&str; 5] = [
    "browser-smtp-pass-5f3a",
    "whsec_browser_secret_9c1d",
    "browser-url-token-77",
    "browser-url-pass-31",
    "Browser body: not for the log",
];

/// The account page's risk section and the settings page's Outbound
/// section in Chromium: a CSM puts one of their accounts on the risk board
/// from its page (an empty reason first, refused with a message), finds it
/// on `/risk`, and resolves it from the account page; an admin sees the
/// SMTP server, the endpoints and a queued email on `/settings`, and no
/// secret anywhere in the page's source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_risk_and_outbound_settings_work_in_headless_chromium() {
    let Some(b) = browser("the account's risk section and outbound settings in the browser") else {
        return;
    };
    tokio::time::timeout(Duration::from_secs(180), account_risk_and_outbound(b))
        .await
        .expect("the account risk and outbound browser test took more than 3 minutes");
}

async fn account_risk_and_outbound(b: (PathBuf, PathBuf)) {
    let seeded = support::engage_fixture().await;
    let config = tenure_core::config::parse_config(&format!(
        "{}\n{OUTBOUND_CONFIG}",
        support::ENGAGE_CONFIG
    ))
    .unwrap();
    let mut state = seeded.state.clone();
    state.web = std::sync::Arc::new(tenure_server::web::WebState::new(config));
    let queued = tenure_app::outbound::queue_email(
        &seeded.db.store,
        "ana@customer.example",
        "Browser: welcome aboard",
        "Browser body: not for the log",
        "playbook:onboarding",
        Some("a1"),
    )
    .await
    .unwrap();
    in_browser(&b, state, async |s: &Session| {
        a_csm_flags_and_resolves_an_account_from_its_page(s).await;
        an_admin_reads_the_outbound_settings(s, &queued).await;
    })
    .await;
}

async fn a_csm_flags_and_resolves_an_account_from_its_page(s: &Session) {
    s.login(support::ANN).await;
    s.open("/accounts/a1", "csm-account-risk-none").await;
    assert_eq!(s.text("#risk-status").await, "Not on the board");
    assert!(!s.visible("#resolve-form").await);

    // An empty reason: the form comes back (422) with the message.
    s.click("#flag-risk summary").await;
    s.fill("#f-step", "Browser: call the CFO").await;
    s.click("#flag-risk-form button[type=submit]").await;
    s.wait_for("#flag-risk-err").await;
    assert_eq!(
        s.text("#flag-risk-err").await,
        "Say why the account is at risk."
    );
    let logged = s.errors().await;
    assert!(
        logged
            .iter()
            .all(|m| m.contains("/risk/flag") && m.contains("422")),
        "{logged:?}"
    );
    assert!(s.visible("#f-reason").await, "the form stays open");
    s.shot("csm-account-flag-error").await;

    // With a reason and a due day: on the board.
    let due = tenure_core::model::add_days(tenure_app::clock::today(), 5).to_string();
    s.fill("#f-reason", "Browser: champion left").await;
    s.c.execute(
        "document.getElementById('f-due').value = arguments[0]",
        vec![json!(due)],
    )
    .await
    .unwrap();
    s.click("#flag-risk-form button[type=submit]").await;
    s.wait_for_path("saved=flagged").await;
    s.wait_for("#risk-flags").await;
    s.check_clean("after flagging from the account page").await;
    assert_eq!(s.text("#saved").await, "The account is on the risk board.");
    assert_eq!(s.text("#risk-status").await, "On the board");
    assert_eq!(
        s.text("#risk-flags td.reason").await,
        "Browser: champion left"
    );
    assert_eq!(
        s.text("#risk-flags td.next-step").await,
        "Browser: call the CFO"
    );
    assert!(s.text("#risk-flags td.source").await.contains(support::ANN));
    assert!(s.text("#risk-summary").await.contains(&due));
    s.shot("csm-account-flagged").await;

    // On the board of /risk.
    s.click("#risk-summary a[href='/risk']").await;
    s.wait_for("#risk tr[data-account='a1']").await;
    s.check_clean("the board after flagging from the account")
        .await;
    assert!(
        s.text("#risk tr[data-account='a1'] td.reason")
            .await
            .contains("Browser: champion left")
    );
    s.shot("csm-risk-flagged-from-account").await;

    // Resolved from the account page.
    s.click("#risk tr[data-account='a1'] a").await;
    s.wait_for("#resolve-form").await;
    s.c.find(Locator::Css("#r-outcome"))
        .await
        .unwrap()
        .select_by_value("churned")
        .await
        .unwrap();
    s.fill("#r-notes", "Browser: moved to a competitor").await;
    s.click("#resolve-form button[type=submit]").await;
    s.wait_for_path("saved=resolved").await;
    s.wait_for("#saved").await;
    s.check_clean("after resolving from the account page").await;
    assert_eq!(s.text("#saved").await, "The account is off the risk board.");
    assert_eq!(s.text("#risk-status").await, "Not on the board");
    s.shot("csm-account-resolved").await;
    s.open("/risk", "csm-risk-after-resolve").await;
    assert!(!s.visible("#risk tr[data-account='a1']").await);

    // A CSM has no Outbound section on the settings page.
    s.open("/settings", "csm-settings-no-outbound").await;
    assert!(!s.visible("#outbound").await);
}

async fn an_admin_reads_the_outbound_settings(s: &Session, queued: &str) {
    s.login(support::ADMIN).await;
    s.click("header nav a[href='/settings']").await;
    s.wait_for("#outbound").await;
    s.check_clean("the settings page").await;
    s.assert_visible(&[
        "#outbound",
        "#smtp",
        "#webhooks",
        "#outbox-counts",
        "#outbox",
    ])
    .await;
    let smtp = s.text("#smtp").await;
    for part in [
        "smtp.example.com",
        "2525",
        "starttls",
        "cs@example.com",
        "as tenure@example.com, password set in tenure.toml",
    ] {
        assert!(smtp.contains(part), "{part:?} not in {smtp:?}");
    }
    let hooks = s.texts("#webhooks tbody tr").await;
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    assert!(hooks[0].contains("crm"), "{hooks:?}");
    assert!(
        hooks[0].contains("https://hooks.example.com/tenure?…"),
        "{hooks:?}"
    );
    assert!(hooks[0].contains("set in tenure.toml"), "{hooks:?}");
    assert!(
        hooks[1].contains("https://…@hooks.example.com/other"),
        "{hooks:?}"
    );
    assert!(
        hooks[1].contains("$TENURE_BROWSER_TEST_UNSET_SECRET (not set"),
        "{hooks:?}"
    );
    assert_eq!(
        s.text("#outbox-counts [data-status=queued] .big").await,
        "1"
    );
    assert_eq!(s.text("#outbox-counts [data-status=sent] .big").await, "0");
    let row = format!("#outbox tr[data-message='{queued}']");
    assert_eq!(s.text(&format!("{row} td.status")).await, "queued");
    assert!(
        s.text(&format!("{row} td.target"))
            .await
            .contains("ana@customer.example")
    );
    assert!(s.text(&row).await.contains("playbook:onboarding"));
    let source = s.c.source().await.unwrap();
    for secret in OUTBOUND_SECRETS {
        assert!(
            !source.contains(secret),
            "{secret:?} is on the settings page"
        );
    }
    s.c.execute(
        "document.getElementById('outbound').scrollIntoView(); window.scrollBy(0, -70)",
        vec![],
    )
    .await
    .unwrap();
    s.shot("admin-settings-outbound").await;

    // A leader reads the send log too (as the API allows).
    s.login(LEADER).await;
    s.open("/settings", "leader-settings-outbound").await;
    assert!(
        s.visible(&format!("#outbox tr[data-message='{queued}']"))
            .await
    );
}

/// A real SMTP server (`aiosmtpd`) that prints each message it receives as
/// one line of JSON with its body decoded, as a mail client reads it.
const SURVEY_SMTP: &str = r#"
import asyncio, json, email
from aiosmtpd.smtp import SMTP

class Handler:
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content)
        body = msg.get_payload(decode=True).decode(msg.get_content_charset() or "utf-8")
        print(json.dumps({"to": envelope.rcpt_tos, "subject": msg["Subject"], "body": body}), flush=True)
        return "250 Message accepted for delivery"

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Handler(), hostname="localhost"), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"#;

/// A Python interpreter that has `aiosmtpd` (`scripts/test.sh` makes
/// `target/smtp-venv`), as the outbound tests find it.
fn python_with_aiosmtpd() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let candidates: Vec<PathBuf> = std::env::var_os("TENURE_TEST_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([root.join("target/smtp-venv/bin/python"), "python3".into()])
        .collect();
    candidates
        .iter()
        .find(|p| {
            Command::new(p)
                .args(["-c", "import aiosmtpd"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .cloned()
        .unwrap_or_else(|| {
            panic!("no Python with aiosmtpd among {candidates:?}: run scripts/test.sh once")
        })
}

/// The survey loop end to end (docs/VOICE.md): a leader schedules an NPS
/// survey for today on `/surveys` (a day in the past refused with the
/// reason), the daily step sends it, the email reaches a real SMTP server,
/// headless Chromium follows its one-click link for a 9, adds a comment
/// and sends the form; the answer is in the NPS of `tenure metrics` at
/// once, the schedule shows it was sent, and the link then answers that
/// the survey is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_survey_email_is_answered_in_headless_chromium_and_moves_nps() {
    let Some(b) = browser("the survey response page in the browser") else {
        return;
    };
    tokio::time::timeout(Duration::from_secs(180), survey_loop(b))
        .await
        .expect("the survey browser test took more than 3 minutes");
}

async fn survey_loop((chrome, driver): (PathBuf, PathBuf)) {
    use tokio::io::AsyncBufReadExt;

    let mut smtp = tokio::process::Command::new(python_with_aiosmtpd())
        .args(["-c", SURVEY_SMTP])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting the SMTP server");
    let mut lines = tokio::io::BufReader::new(smtp.stdout.take().unwrap()).lines();
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("nothing from the SMTP server in 20 s")
            .unwrap()
            .expect("the SMTP server exited")
    };
    let smtp_port: u16 = next_line().await.trim().parse().unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seeded = support::engage_fixture().await;
    let store = &seeded.db.store;
    let contact = tenure_core::model::Contact {
        id: "survey-ana".into(),
        account_id: "a1".into(),
        email: "ana@customer.example".into(),
        name: Some("Ana".into()),
        role: Some("buyer".into()),
        champion: Some(true),
        left_on: None,
    };
    store
        .create_record(
            &tenure_store::rows::Record::Contact(contact),
            &tenure_store::api::Scope::All,
        )
        .await
        .unwrap();
    let config = tenure_core::config::parse_config(&format!(
        r#"{}
[outbound.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from = "Customer Success <cs@example.com>"

[[surveys]]
name = "Browser NPS"
kind = "nps"
question = "How likely are you to recommend Acme Cloud?"
follow_up = "What is the main reason for your score?"
roles = ["buyer"]
scheduled_only = true
"#,
        support::ENGAGE_CONFIG.replace(
            "[engage]",
            &format!("[server]\npublic_url = \"{base}\"\n\n[engage]")
        )
    ))
    .unwrap();
    let day = tenure_app::clock::today();
    let period =
        tenure_core::metrics::Period::new(tenure_core::model::add_days(day, -30), day).unwrap();
    let nps = async || {
        let m = tenure_app::metrics::compute(store, &config, period, None)
            .await
            .unwrap();
        m.dataset
            .report(period, &m.settings, Some(&m.usage))
            .get(tenure_core::metrics::Metric::Nps)
    };
    assert_eq!(nps().await, None, "no NPS answer before");

    let mut state = seeded.state.clone();
    state.web = std::sync::Arc::new(tenure_server::web::WebState::new(config.clone()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tenure_server::serve_on(listener, state, async {
        let _ = stopped.await;
    }));
    let (_driver, _profile, client) = start_browser(&chrome, &driver).await;
    let s = Session {
        c: client,
        base: base.clone(),
        shots: screenshot_dir(),
    };

    // The survey goes only when scheduled: nothing is due by itself.
    let none = tenure_app::surveys::send_due(store, &config, day)
        .await
        .unwrap();
    assert_eq!((none.emailed, none.in_app), (0, 0), "{none:?}");
    // A leader schedules it on /surveys: a day past is refused with the
    // reason (the date field's minimum bypassed), today is taken.
    s.login(LEADER).await;
    s.open("/surveys", "surveys").await;
    s.c.execute(
        "const f = document.querySelector('form.schedule-form'); \
         f.querySelector('input[name=on]').value = '2020-01-01'; f.submit();",
        vec![],
    )
    .await
    .unwrap();
    s.wait_for("p.refusal").await;
    assert!(
        s.text("p.refusal").await.contains("is in the past"),
        "{}",
        s.text("p.refusal").await
    );
    s.click("form.schedule-form button[type=submit]").await;
    s.wait_for("p.flash").await;
    s.check_clean("the surveys page after scheduling").await;
    assert!(
        s.text("p.flash")
            .await
            .contains(&format!("Browser NPS is scheduled for {day}")),
        "{}",
        s.text("p.flash").await
    );
    let row = s.texts("#schedules-table tbody tr").await;
    assert_eq!(row.len(), 1, "{row:?}");
    assert!(
        row[0].contains("waiting") && row[0].contains(LEADER),
        "{row:?}"
    );
    s.shot("surveys-scheduled").await;

    // The day's step sends it and queues the email; the job's delivery
    // sends that.
    let sent = tenure_app::surveys::send_due(store, &config, day)
        .await
        .unwrap();
    assert_eq!((sent.emailed, sent.in_app), (1, 0), "{sent:?}");
    s.open("/surveys", "surveys").await;
    let row = s.texts("#schedules-table tbody tr").await;
    assert!(row[0].contains("sent to 1 contact(s)"), "{row:?}");
    // The contact is not signed in.
    s.c.delete_all_cookies().await.unwrap();
    let done = tenure_app::outbound::deliver_due(store, &config, tenure_app::clock::now_micros())
        .await
        .unwrap();
    assert_eq!(done.sent, 1, "{done:?}");
    let got: serde_json::Value = serde_json::from_str(&next_line().await).unwrap();
    assert_eq!(got["to"], json!(["ana@customer.example"]));
    let body = got["body"].as_str().unwrap();
    assert!(
        body.contains("How likely are you to recommend Acme Cloud?"),
        "{body}"
    );
    let link = body
        .lines()
        .find_map(|l| l.trim().strip_prefix("9: "))
        .unwrap_or_else(|| panic!("no link for 9 in {body}"))
        .trim()
        .to_string();
    assert!(
        link.starts_with(&format!("{base}/s/")) && link.ends_with("?score=9"),
        "{link}"
    );

    // The one-click link: the page with 9 chosen, nothing recorded yet.
    s.c.goto(&link).await.unwrap();
    s.wait_for("main form").await;
    s.check_clean("the survey page").await;
    assert_eq!(
        s.text("legend").await,
        "How likely are you to recommend Acme Cloud?"
    );
    let checked =
        s.c.execute(
            "return document.querySelector('input[name=score]:checked').value",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(checked, json!("9"));
    assert!(s.c.get_all_cookies().await.unwrap().is_empty(), "no cookie");
    s.shot("survey-respond").await;
    assert_eq!(nps().await, None, "opening the link records nothing");

    // The keyboard reaches the scale: the chosen radio takes focus.
    s.c.execute("document.getElementById('score-9').focus()", vec![])
        .await
        .unwrap();
    let focused =
        s.c.execute("return document.activeElement.id", vec![])
            .await
            .unwrap();
    assert_eq!(focused, json!("score-9"));

    s.fill("#comment", "Browser: <b>fast</b> onboarding").await;
    s.click("main form button[type=submit]").await;
    s.wait_for("blockquote.comment").await;
    s.check_clean("the thank-you page").await;
    assert_eq!(s.text("h1").await, "Thank you!");
    assert_eq!(
        s.text("blockquote.comment").await,
        "Browser: <b>fast</b> onboarding",
        "the comment is shown as text"
    );
    s.shot("survey-thanks").await;

    // NPS moved at once: one promoter.
    assert_eq!(nps().await, Some(100.0));

    // The link is used now.
    s.c.goto(&link).await.unwrap();
    s.wait_for("main h1").await;
    assert_eq!(s.text("h1").await, "Already answered");
    s.shot("survey-used").await;

    s.c.clone().close().await.unwrap();
    let _ = stop.send(());
    let _ = server.await;
}

/// `[feedback]` of the feedback browser test: two themes the demo's
/// ticket subjects carry.
const FEEDBACK_CONFIG: &str = r#"
[[feedback.themes]]
name = "integrations"
keywords = ["integration", "salesforce", "slack"]

[[feedback.themes]]
name = "feature requests"
keywords = ["feature request"]
"#;

/// Feedback and product requests in Chromium (docs/FEEDBACK.md): the daily
/// step makes feedback of the demo's comments, tickets and notes; a
/// leader filters `/feedback` by source and theme (a customer's markup
/// shown as text), sees the suggested themes, makes a request on
/// `/requests` for two accounts, and marks it shipped, which gives each
/// account's CSM a task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_and_requests_work_in_headless_chromium() {
    let Some(b) = browser("feedback and requests in the browser") else {
        return;
    };
    tokio::time::timeout(Duration::from_secs(180), feedback_pages(b))
        .await
        .expect("the feedback browser test took more than 3 minutes");
}

async fn feedback_pages(b: (PathBuf, PathBuf)) {
    let seeded = seeded(40).await;
    let store = seeded.db.store.clone();
    // The default configuration with these themes.
    let mut config = tenure_core::config::Config::default();
    config.feedback = tenure_core::config::parse_config(FEEDBACK_CONFIG)
        .unwrap()
        .feedback;
    let state = seeded.state.clone().with_tenure_config(config.clone());
    let accounts = store
        .risk_accounts(&tenure_store::api::Scope::All)
        .await
        .unwrap();
    let (a1, a2) = (accounts[0].id.clone(), accounts[1].id.clone());
    let marked = tenure_app::feedback::add(
        &store,
        &config,
        &tenure_store::api::Scope::All,
        &tenure_app::feedback::NewFeedback {
            account_id: a1.clone(),
            text: "Browser: <b>Slack</b> integration please".into(),
            ..Default::default()
        },
        None,
        tenure_app::clock::today(),
    )
    .await
    .unwrap();
    tenure_app::feedback::refresh(&store, &config)
        .await
        .unwrap();
    in_browser(&b, state, async |s: &Session| {
        s.login(LEADER).await;
        s.click("header nav a[href='/feedback']").await;
        s.wait_for("#feedback").await;
        s.check_clean("the feedback page").await;
        assert!(s.texts("#feedback tbody tr[data-item]").await.len() > 1);
        s.shot("leader-feedback").await;

        // Filter by source, then by theme through its link.
        s.c.execute(
            "document.getElementById('filter-source').value = 'ticket'",
            vec![],
        )
        .await
        .unwrap();
        s.click("#feedback-filter button[type=submit]").await;
        s.wait_for_path("source=ticket").await;
        s.wait_for("#feedback").await;
        for source in s.texts("#feedback tbody tr[data-item] td:nth-child(3)").await {
            assert_eq!(source, "ticket");
        }
        s.check_clean("feedback filtered by source").await;
        s.click("#themes a[href='/feedback?theme=integrations']").await;
        s.wait_for_path("theme=integrations").await;
        s.wait_for(&format!("#feedback tr[data-item='{}']", marked.id))
            .await;
        assert_eq!(
            s.text(&format!("#feedback tr[data-item='{}'] td.text", marked.id))
                .await,
            "Browser: <b>Slack</b> integration please",
            "the customer's markup is shown as text"
        );
        assert!(s.visible("#suggestions").await);
        s.check_clean("feedback by theme").await;
        s.shot("leader-feedback-theme").await;

        // A request from the item (its account) and a second account, then
        // shipped.
        s.click(&format!(
            "#feedback tr[data-item='{}'] a.make-request",
            marked.id
        ))
        .await;
        s.wait_for("#request-form").await;
        s.check_clean("the requests page").await;
        let prefilled = s
            .c
            .find(Locator::Css("#request-form input[name=feedback_id]"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(prefilled.as_deref(), Some(marked.id.as_str()));
        s.fill("#request-form input[name=title]", "Browser: Slack alerts")
            .await;
        s.fill("#request-form input[name=account_ids]", &a2).await;
        s.click("#request-form button[type=submit]").await;
        s.wait_for_path("done=created").await;
        s.wait_for("#requests tr[data-request]").await;
        let row = "#requests tr[data-request]";
        assert_eq!(s.text(&format!("{row} strong.title")).await, "Browser: Slack alerts");
        assert_eq!(s.text(&format!("{row} .status")).await, "open");
        s.shot("leader-requests").await;
        s.c.execute(
            "document.querySelector('#requests tr[data-request] select[name=status]').value = 'shipped'",
            vec![],
        )
        .await
        .unwrap();
        s.click(&format!("{row} .status-form button[type=submit]")).await;
        s.wait_for_path("done=shipped").await;
        s.wait_for("#requests tr[data-request]").await;
        assert_eq!(s.text(&format!("{row} .status")).await, "shipped");
        s.check_clean("after shipping").await;
        s.shot("leader-requests-shipped").await;
    })
    .await;
    let tasks = store
        .tasks(&tenure_store::target::TaskQuery {
            scope: tenure_store::api::Scope::All,
            ..Default::default()
        })
        .await
        .unwrap();
    let told: Vec<&str> = tasks
        .iter()
        .filter(|t| t.title.contains("\"Browser: Slack alerts\" has shipped"))
        .map(|t| t.account_id.as_str())
        .collect();
    assert_eq!(told.len(), 2, "{told:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_card_reads_in_a_narrow_side_panel_in_headless_chromium() {
    let Some(b) = browser("the account card in the browser") else {
        return;
    };
    tokio::time::timeout(Duration::from_secs(180), account_card(b))
        .await
        .expect("the account card browser test took more than 3 minutes");
}

/// The card at a CRM side panel's width: everything shown, nothing wider
/// than the window, no script, the link to the full page opening apart.
async fn account_card(b: (PathBuf, PathBuf)) {
    let seeded = seeded(40).await;
    in_browser(&b, seeded.state.clone(), async |s: &Session| {
        s.login(&seeded.csm).await;
        s.open("/accounts", "csm-accounts-before-card").await;
        let href = s
            .c
            .find(Locator::Css("#accounts tbody a"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        s.c.set_window_size(360, 900).await.unwrap();
        s.open(&format!("{href}/card"), "account-card").await;
        s.assert_visible(&["main h1", ".score-line .pill", "main dl", "main a[target=_blank]"])
            .await;
        let labels = s.texts("main dl dt").await;
        for l in ["ARR", "Renewal", "Segment", "Stage", "Latest NPS", "Open tasks", "CSM"] {
            assert!(labels.iter().any(|x| x == l), "{l}: {labels:?}");
        }
        let fits = s
            .c
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth, document.scripts.length]",
                vec![],
            )
            .await
            .unwrap();
        let v: Vec<i64> = serde_json::from_value(fits).unwrap();
        assert!(v[0] <= v[1], "the card is wider than the window: {v:?}");
        assert_eq!(v[2], 0, "the card runs no script");
        s.c.set_window_size(1366, 1800).await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_the_shared_views_and_an_account_card_in_headless_chromium() {
    let Some(b) = browser("the shared views in the browser") else {
        return;
    };
    tokio::time::timeout(Duration::from_secs(180), viewer_views(b))
        .await
        .expect("the shared views browser test took more than 3 minutes");
}

/// A viewer (docs/CRM.md, "Shared views") logs in and lands on the views'
/// hub with no other link in the navigation, reads the sales view (the
/// renewals the application layer finds, row for row), opens an account's
/// card from it, and is sent back to the views from any other page.
async fn viewer_views(b: (PathBuf, PathBuf)) {
    use tenure_store::auth::{NewUser, Role};
    const VIEWER: &str = "sales-viewer@example.com";
    let seeded = seeded(40).await;
    seeded
        .db
        .store
        .create_user(
            &NewUser {
                id: "usr-viewer".into(),
                email: VIEWER.into(),
                name: None,
                role: Role::Viewer,
                all_accounts: false,
                password_hash: tenure_server::auth::hash_password(PASSWORD).unwrap(),
            },
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    let renewals = tenure_app::views::sales(
        &seeded.db.store,
        &tenure_core::config::Config::default(),
        &tenure_store::api::Scope::All,
        tenure_app::clock::today(),
    )
    .await
    .unwrap()
    .renewals;
    assert!(
        !renewals.is_empty(),
        "the demo book has renewals in the next 90 days"
    );
    in_browser(&b, seeded.state.clone(), async |s: &Session| {
        s.login(VIEWER).await;
        s.wait_for_path("/views").await;
        s.shot("viewer-views-hub").await;
        assert_eq!(s.texts("header.top nav a").await, ["Views"]);
        s.assert_visible(&["#view-sales", "#view-support", "#view-product"])
            .await;

        s.click("#view-sales").await;
        s.wait_for("#sales").await;
        s.check_clean("/views/sales").await;
        s.shot("viewer-views-sales").await;
        let rows = s.texts("#sales tbody tr").await;
        assert_eq!(rows.len(), renewals.len(), "{rows:?}");
        let first = &renewals[0];
        assert!(
            rows[0].contains(&first.account.name)
                && rows[0].contains(&first.renewal_date.to_string()),
            "{:?} vs {first:?}",
            rows[0]
        );

        // The account links to its card, which the viewer may read.
        s.click("#sales tbody a").await;
        s.wait_for_path("/card").await;
        s.wait_for("main dl").await;
        s.check_clean("the card").await;
        s.shot("viewer-account-card").await;
        assert_eq!(s.text("main h1").await, first.account.name);
        assert_eq!(
            s.path().await,
            format!("/accounts/{}/card", first.account.account_id)
        );

        for (path, shot) in [
            ("/views/support", "viewer-views-support"),
            ("/views/product", "viewer-views-product"),
        ] {
            s.open(path, shot).await;
        }
        s.assert_visible(&["#adoption", "#view-requests"]).await;

        // Any other page sends the viewer back to the views.
        for path in [
            "/accounts",
            "/risk",
            &format!("/accounts/{}", first.account.account_id),
        ] {
            s.c.goto(&format!("{}{path}", s.base)).await.unwrap();
            s.wait_for_path("/views").await;
            assert_eq!(s.path().await, "/views", "{path}");
        }
    })
    .await;
}
