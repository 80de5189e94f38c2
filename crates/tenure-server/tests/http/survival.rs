//! `/api/v1/survival`: Kaplan–Meier curves on four accounts worked by
//! hand, by plan and for everyone, what a CSM sees (their own accounts),
//! and bad parameters answered 400 naming the parameter.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use tenure_store::auth::Role;
use tenure_store::engage::{Dimension, Run, RunsFrom};

use crate::common::{App, assert_error};

const OWN: &str = "csm@example.com";
const OTHER: &str = "other@example.com";

/// All four pay from 2025-01-01. On 2025-06-30: `own` (csm@, pro) still
/// pays, 181 days; `gone` (csm@, pro) stopped on 02-01 after 31 days;
/// `theirs` (other@, basic) stopped on 03-02 after 60 days; `free` (no
/// CSM, no plan) still pays.
async fn app() -> (App, String) {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    for (id, csm, plan, end) in [
        ("own", Some(OWN), Some("pro"), None),
        ("gone", Some(OWN), Some("pro"), Some("2025-02-01")),
        ("theirs", Some(OTHER), Some("basic"), Some("2025-03-02")),
        ("free", None, None, None),
    ] {
        let mut a = json!({"id": id, "name": format!("Name {id}")});
        if let Some(c) = csm {
            a["csm_email"] = json!(c);
        }
        if let Some(p) = plan {
            a["plan"] = json!(p);
        }
        let r = app.post("/api/v1/accounts", &admin, a).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let mut sub = json!({"id": format!("s-{id}"), "account_id": id, "mrr": "100",
                             "currency": "USD", "start_date": "2025-01-01"});
        if let Some(e) = end {
            sub["end_date"] = json!(e);
        }
        let r = app.post("/api/v1/subscriptions", &admin, sub).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    (app, admin)
}

fn group<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no group {name}: {body}"))
}

#[tokio::test]
async fn survival_by_plan_worked_by_hand() {
    let (app, admin) = app().await;
    let r = app
        .get("/api/v1/survival?by=plan&as_of=2025-06-30", &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = &r.body;
    assert_eq!(b["as_of"], "2025-06-30");
    assert_eq!(b["by"], "plan");
    assert_eq!(b["interval"], "log-log");
    let names: Vec<&str> = b["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["(no plan)", "basic", "pro"]);
    // pro: one of two churns on day 31, S = 0.5, Greenwood SE 0.5 × √(1/2);
    // the other is censored on day 181.
    let pro = group(b, "pro");
    assert_eq!(
        (pro["accounts"].as_u64(), pro["churned"].as_u64()),
        (Some(2), Some(1))
    );
    let steps = pro["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["day"], 31);
    assert_eq!(steps[0]["at_risk"], 2);
    assert_eq!(steps[0]["survival"], 0.5);
    let se = steps[0]["std_err"].as_f64().unwrap();
    assert!((se - 0.5 * 0.5f64.sqrt()).abs() < 1e-12, "{se}");
    assert!(steps[0]["lower"].as_f64().unwrap() < 0.5);
    assert!(steps[0]["upper"].as_f64().unwrap() > 0.5);
    assert_eq!(
        (steps[1]["day"].as_u64(), steps[1]["censored"].as_u64()),
        (Some(181), Some(1))
    );
    assert_eq!(pro["median"]["days"], 31);
    let m3 = &pro["milestones"][0];
    assert_eq!(
        (m3["months"].as_u64(), m3["days"].as_u64()),
        (Some(3), Some(91))
    );
    assert_eq!(m3["survival"], 0.5);
    assert_eq!(m3["at_risk"], 1);
    // Past the longest lifetime (181 days) the curve is not estimated.
    assert_eq!(pro["milestones"][2]["survival"], Value::Null);
    // basic: its only account churned on day 60: 0 from then on.
    let basic = group(b, "basic");
    assert_eq!(basic["milestones"][0]["survival"], 0.0);
    assert_eq!(basic["steps"][0]["std_err"], Value::Null);
    // Nobody without a plan churned: the median is not reached.
    assert_eq!(group(b, "(no plan)")["median"]["days"], Value::Null);
}

/// A segment run of `account` from `entered` to the day before `left`.
fn run(account: &str, name: &str, tier: &str, entered: &str, left: Option<&str>) -> Run {
    Run {
        account_id: account.into(),
        dimension: Dimension::Segment,
        name: name.into(),
        tier: Some(tier.into()),
        entered_on: entered.parse().unwrap(),
        left_on: left.map(|l| l.parse().unwrap()),
    }
}

#[tokio::test]
async fn a_churned_account_keeps_the_segment_it_held_on_its_last_day() {
    let (app, admin) = app().await;
    // `gone` left Pro when it churned (its last day 01-31); `theirs` moved
    // from Core to Risky before churning (its last day 03-01); `own` is in
    // Pro today; `free` was never placed.
    let runs = [
        ("own", vec![run("own", "Pro", "high", "2025-01-01", None)]),
        (
            "gone",
            vec![run("gone", "Pro", "high", "2025-01-01", Some("2025-02-01"))],
        ),
        (
            "theirs",
            vec![
                run("theirs", "Core", "low", "2025-01-01", Some("2025-01-15")),
                run("theirs", "Risky", "low", "2025-01-15", Some("2025-03-02")),
            ],
        ),
    ]
    .map(|(a, runs)| RunsFrom {
        account_id: a.into(),
        dimension: Dimension::Segment,
        runs,
    });
    app.db
        .store
        .replace_engage_runs("2025-01-01".parse().unwrap(), &runs)
        .await
        .unwrap();
    let r = app
        .get("/api/v1/survival?by=segment&as_of=2025-06-30", &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let counts = |body: &Value| -> Vec<(String, u64, u64)> {
        body["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["name"].as_str().unwrap().to_string(),
                    g["accounts"].as_u64().unwrap(),
                    g["churned"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        counts(&r.body),
        [
            ("(no segment)".to_string(), 1, 0),
            ("Pro".to_string(), 2, 1),
            ("Risky".to_string(), 1, 1),
        ]
    );
    let r = app
        .get("/api/v1/survival?by=tier&as_of=2025-06-30", &admin)
        .await;
    assert_eq!(
        counts(&r.body),
        [
            ("(no tier)".to_string(), 1, 0),
            ("high".to_string(), 2, 1),
            ("low".to_string(), 1, 1),
        ]
    );
}

#[tokio::test]
async fn a_csm_sees_the_curve_of_their_own_accounts() {
    let (app, admin) = app().await;
    let r = app.get("/api/v1/survival?as_of=2025-06-30", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let all = group(&r.body, "all accounts");
    assert_eq!(
        (all["accounts"].as_u64(), all["churned"].as_u64()),
        (Some(4), Some(2))
    );
    for role in [Role::Admin, Role::Leader] {
        let key = app.key(role).await;
        let r = app.get("/api/v1/survival?as_of=2025-06-30", &key).await;
        assert_eq!(r.status, StatusCode::OK, "{role:?}: {}", r.body);
        assert_eq!(group(&r.body, "all accounts")["accounts"], 4);
    }
    // A viewer sees only the shared views and account cards (docs/CRM.md).
    let viewer = app.key(Role::Viewer).await;
    assert_error(
        &app.get("/api/v1/survival", &viewer).await,
        403,
        "forbidden",
    );
    let csm = app.key(Role::Csm).await;
    let r = app
        .get("/api/v1/survival?as_of=2025-06-30&by=plan", &csm)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["groups"].as_array().unwrap().len(), 1);
    assert_eq!(group(&r.body, "pro")["accounts"], 2);
    // Before anyone paid: no groups.
    let r = app.get("/api/v1/survival?as_of=2024-12-31", &admin).await;
    assert_eq!(r.body["groups"], json!([]));
}

#[tokio::test]
async fn bad_survival_parameters_name_the_parameter() {
    let (app, admin) = app().await;
    for (query, param) in [
        ("by=region", "by:"),
        ("as_of=2025-13-01", "as_of:"),
        ("as_of=1900-01-01", "as_of:"),
    ] {
        let r = app.get(&format!("/api/v1/survival?{query}"), &admin).await;
        assert_error(&r, 400, "bad_request");
        let m = r.body["error"]["message"].as_str().unwrap();
        assert!(m.starts_with(param), "{query}: {m}");
    }
    let r = app.send(Method::GET, "/api/v1/survival", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn survival_is_in_the_openapi_document() {
    let doc = serde_json::to_value(tenure_server::openapi::document()).unwrap();
    let get = &doc["paths"]["/api/v1/survival"]["get"];
    assert!(get.is_object(), "{}", doc["paths"]);
    let params: Vec<&str> = get["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["by", "as_of"]);
    assert!(doc["components"]["schemas"]["SurvivalOut"].is_object());
}
