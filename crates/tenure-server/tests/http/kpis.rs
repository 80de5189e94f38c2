//! `/api/v1/kpis` and `/api/v1/kpis/history`: the CSM KPIs against the
//! default targets on three accounts worked by hand, what each role sees
//! (a CSM their own row and the team's, 404 for another CSM's), and bad
//! parameters.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use tenure_store::auth::Role;
use tenure_store::health::Snapshot;

use crate::common::{App, assert_error};

fn today() -> jiff::civil::Date {
    tenure_app::clock::today()
}

const OWN: &str = "csm@example.com";
const OTHER: &str = "other@example.com";

/// `own` (csm@example.com, the CSM key's) pays 1,000 a month and is scored
/// 80 today; `theirs` (other@example.com) pays 100 and is scored 50;
/// `free` has no CSM and pays 50, unscored. All since 2025-01-01.
async fn app() -> (App, String) {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    for (id, csm, mrr) in [
        ("own", Some(OWN), "1000"),
        ("theirs", Some(OTHER), "100"),
        ("free", None, "50"),
    ] {
        let mut a = json!({"id": id, "name": format!("Name {id}")});
        if let Some(c) = csm {
            a["csm_email"] = json!(c);
        }
        let r = app.post("/api/v1/accounts", &admin, a).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let sub = json!({"id": format!("s-{id}"), "account_id": id, "mrr": mrr, "currency": "USD",
                         "start_date": "2025-01-01"});
        let r = app.post("/api/v1/subscriptions", &admin, sub).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let snapshots: Vec<Snapshot> = [("own", 80.0), ("theirs", 50.0)]
        .into_iter()
        .map(|(a, score)| Snapshot {
            account_id: a.into(),
            day: today(),
            score: Some(score),
            band: None,
            computed: Some(score),
            override_id: None,
            scorecard_version: "test".into(),
            measures: Vec::new(),
        })
        .collect();
    app.db.store.write_snapshots(&snapshots, 0).await.unwrap();
    (app, admin)
}

fn csms(body: &Value) -> Vec<String> {
    body["csms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["csm"].as_str().unwrap().to_string())
        .collect()
}

fn row<'a>(body: &'a Value, csm: &str) -> &'a Value {
    body["csms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["csm"] == csm)
        .unwrap_or_else(|| panic!("no row for {csm}: {body}"))
}

#[tokio::test]
async fn kpis_worked_by_hand_against_the_default_targets() {
    let (app, admin) = app().await;
    let r = app.get("/api/v1/kpis", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert_eq!(b["as_of"], today().to_string());
    assert_eq!(
        b["from"],
        tenure_core::model::add_days(today(), -89).to_string()
    );
    assert_eq!(b["currency"], "USD");
    assert_eq!(b["kpis"].as_array().unwrap().len(), 14);
    assert_eq!(b["kpis"][0]["kpi"], "accounts");
    assert_eq!(b["kpis"][10]["direction"], "at_most");
    assert_eq!(csms(b), [OWN, OTHER]);
    let own = &row(b, OWN)["values"];
    let theirs = &row(b, OTHER)["values"];
    let team = &b["team"]["values"];
    assert_eq!(row(b, OWN)["accounts_in_portfolio"], 1);
    assert_eq!(b["team"]["accounts_in_portfolio"], 3);
    assert!(b["team"]["csm"].is_null());
    assert_eq!(own["accounts"]["value"], 1.0);
    assert_eq!(team["accounts"]["value"], 3.0);
    assert_eq!(own["arr"]["value"], 12_000.0);
    assert_eq!(team["arr"]["value"], 13_800.0);
    // No ARR target by default: no colour.
    assert!(team["arr"]["target"].is_null() && team["arr"]["rag"].is_null());
    // Health against 70 (amber within 10 %): 80 green, 50 red, the team's
    // mean of the scored two, 65, amber.
    assert_eq!(
        own["health_mean"],
        json!({"value": 80.0, "target": 70.0, "rag": "green"})
    );
    assert_eq!(theirs["health_mean"]["rag"], "red");
    assert_eq!(
        team["health_mean"],
        json!({"value": 65.0, "target": 70.0, "rag": "amber"})
    );
    // Paying all along: retention 1.0, on target.
    assert_eq!(
        own["nrr"],
        json!({"value": 1.0, "target": 1.0, "rag": "green"})
    );
    assert_eq!(team["grr"]["value"], 1.0);
    // Nothing to measure is null, never 0: no answers, no plans, no
    // earlier score.
    for k in [
        "nps",
        "csat",
        "plan_execution",
        "health_trend_30d",
        "active_users_trend",
        "time_to_value_days",
    ] {
        assert!(team[k]["value"].is_null(), "{k}: {}", team[k]);
        assert!(team[k]["rag"].is_null(), "{k}");
    }
    assert_eq!(
        team["overdue_tasks"],
        json!({"value": 0.0, "target": 0.0, "rag": "green"})
    );

    // One CSM asked: their row and the team's.
    let r = app
        .get(
            &format!("/api/v1/kpis?csm={}", OTHER.to_uppercase()),
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(csms(&r.body), [OTHER]);
    assert_eq!(r.body["team"]["values"]["arr"]["value"], 13_800.0);
}

#[tokio::test]
async fn each_role_sees_its_rows_and_a_csm_never_another_portfolio() {
    let (app, _) = app().await;
    for role in [Role::Leader, Role::Admin] {
        let key = app.key(role).await;
        let r = app.get("/api/v1/kpis", &key).await;
        assert_eq!(r.status, StatusCode::OK, "{role:?}: {}", r.body);
        assert_eq!(csms(&r.body), [OWN, OTHER], "{role:?}");
    }
    // A viewer sees only the shared views and account cards (docs/CRM.md).
    let viewer = app.key(Role::Viewer).await;
    assert_error(&app.get("/api/v1/kpis", &viewer).await, 403, "forbidden");
    let csm = app.key(Role::Csm).await;
    let r = app.get("/api/v1/kpis", &csm).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(csms(&r.body), [OWN]);
    assert_eq!(r.body["team"]["values"]["accounts"]["value"], 3.0);
    // Asking for themselves, in any case, is the same.
    let r = app.get("/api/v1/kpis?csm=CSM@Example.com", &csm).await;
    assert_eq!(csms(&r.body), [OWN]);
    // Another CSM's row, or one who does not exist: 404 alike.
    for other in [OTHER, "nobody@example.com"] {
        let r = app.get(&format!("/api/v1/kpis?csm={other}"), &csm).await;
        assert_error(&r, 404, "not_found");
        let r = app
            .get(&format!("/api/v1/kpis/history?months=1&csm={other}"), &csm)
            .await;
        assert_error(&r, 404, "not_found");
    }
    let r = app.get("/api/v1/kpis/history?months=2", &csm).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for m in r.body["months"].as_array().unwrap() {
        assert_eq!(csms(m), [OWN]);
    }
    // Without a key: 401.
    let r = app.send(Method::GET, "/api/v1/kpis", None, None).await;
    assert_error(&r, 401, "unauthorized");
}

#[tokio::test]
async fn the_history_has_one_period_per_month() {
    let (app, admin) = app().await;
    let r = app
        .get("/api/v1/kpis/history?as_of=2025-06-15&months=3", &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let months: Vec<(String, String, String)> = r.body["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["month"].as_str().unwrap().to_string(),
                m["from"].as_str().unwrap().to_string(),
                m["to"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let m = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        months,
        [
            m("2025-03", "2025-03-01", "2025-03-31"),
            m("2025-04", "2025-04-01", "2025-04-30"),
            m("2025-05", "2025-05-01", "2025-05-31"),
        ]
    );
    let may = &r.body["months"][2];
    assert_eq!(csms(may), [OWN, OTHER]);
    assert_eq!(may["team"]["values"]["arr"]["value"], 13_800.0);
    assert_eq!(r.body["kpis"].as_array().unwrap().len(), 14);
    // Twelve months by default.
    let r = app.get("/api/v1/kpis/history", &admin).await;
    assert_eq!(r.body["months"].as_array().unwrap().len(), 12);
}

#[tokio::test]
async fn bad_days_periods_and_months_are_400_naming_the_parameter() {
    let (app, admin) = app().await;
    for (path, starts) in [
        ("/api/v1/kpis?as_of=2026-13-01", "as_of: "),
        ("/api/v1/kpis?as_of=2025-06-01&from=2025-06-02", "from: "),
        ("/api/v1/kpis?from=1900-01-01", "from: "),
        ("/api/v1/kpis?as_of=9999-12-31", "as_of: "),
        ("/api/v1/kpis/history?months=0", "months: "),
        ("/api/v1/kpis/history?months=37", "months: "),
        ("/api/v1/kpis/history?months=twelve", "months: "),
        ("/api/v1/kpis/history?as_of=yesterday", "as_of: "),
    ] {
        let r = app.get(path, &admin).await;
        assert_error(&r, 400, "bad_request");
        let m = r.body["error"]["message"].as_str().unwrap();
        assert!(m.starts_with(starts), "{path}: {m}");
    }
}

#[tokio::test]
async fn the_openapi_document_has_the_kpi_routes() {
    let (app, _) = app().await;
    let r = app.send(Method::GET, "/api/openapi.json", None, None).await;
    for path in ["/api/v1/kpis", "/api/v1/kpis/history"] {
        let op = &r.body["paths"][path]["get"];
        assert_eq!(op["tags"][0], "kpis", "{path}");
        assert!(op["responses"]["404"].is_object(), "{path}");
    }
    assert!(r.body["components"]["schemas"]["KpisOut"].is_object());
}
