//! `/api/v1/risk` and `/api/v1/reviews`: flagging by hand, the board by
//! role and scope, a review opened by the daily pass and held by a leader
//! (its decision makes a task), resolving with an outcome, refused input
//! named by field, and a segment's threshold opening a review of that
//! segment's accounts only.

use axum::http::StatusCode;
use serde_json::json;
use tenure_core::config::Config;
use tenure_core::model::add_days;
use tenure_store::auth::Role;

use crate::api::body;
use crate::common::{App, assert_error};

fn today() -> jiff::civil::Date {
    tenure_app::clock::today()
}

/// `own` (csm@example.com) and `theirs` (other@example.com), each paying
/// 500 a month since 2025-01-01.
async fn app_with_accounts() -> (App, String) {
    let app = App::new().await;
    let admin = app.key(Role::Admin).await;
    for (id, csm) in [("own", "csm@example.com"), ("theirs", "other@example.com")] {
        let r = app
            .post("/api/v1/accounts", &admin, body("accounts", id, csm))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let sub = json!({"id": format!("s-{id}"), "account_id": id, "mrr": "500", "currency": "USD",
                         "start_date": "2025-01-01"});
        let r = app.post("/api/v1/subscriptions", &admin, sub).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    (app, admin)
}

#[tokio::test]
async fn csms_flag_their_own_accounts_and_see_their_own_board() {
    let (app, admin) = app_with_accounts().await;
    let csm = app.key(Role::Csm).await;
    let viewer = app.key(Role::Viewer).await;
    // A viewer sees only the shared views and account cards (docs/CRM.md):
    // the reads are a leader's.
    let reader = app.key(Role::Leader).await;
    let due = add_days(today(), 7).to_string();
    let r = app
        .post(
            "/api/v1/risk/flags",
            &csm,
            json!({"account_id": "own", "reason": "Champion left", "next_step": "Call the CFO", "next_step_due": due}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["source"], "manual");
    assert_eq!(r.body["flagged_by"], "csm@example.com");
    let flag = r.body["id"].as_str().unwrap().to_string();
    // Another CSM's account is not found; a viewer may not flag.
    let r = app
        .post(
            "/api/v1/risk/flags",
            &csm,
            json!({"account_id": "theirs", "reason": "X"}),
        )
        .await;
    assert_error(&r, 404, "not_found");
    let r = app
        .post(
            "/api/v1/risk/flags",
            &viewer,
            json!({"account_id": "own", "reason": "X"}),
        )
        .await;
    assert_error(&r, 403, "forbidden");
    // Bad input names the field.
    let r = app
        .post(
            "/api/v1/risk/flags",
            &admin,
            json!({"account_id": "theirs", "reason": " ", "next_step_due": "2025-13-01"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("next_step_due: "),
        "{}",
        r.body
    );
    let r = app
        .post(
            "/api/v1/risk/flags",
            &admin,
            json!({"account_id": "theirs", "reason": " "}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("reason: ")
    );

    // The board: a leader sees the whole book, the CSM their own; a
    // viewer is refused.
    assert_error(&app.get("/api/v1/risk", &viewer).await, 403, "forbidden");
    let r = app.get("/api/v1/risk", &reader).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["measure"]["accounts_at_risk"], 1);
    assert_eq!(r.body["measure"]["arr_at_risk"], 6000.0);
    assert_eq!(r.body["measure"]["total_arr"], 12000.0);
    let row = &r.body["accounts"][0];
    assert_eq!(row["account_id"], "own");
    assert_eq!(row["owner"], "csm@example.com");
    assert_eq!(row["reason"], "Champion left");
    assert_eq!(row["next_step"], "Call the CFO");
    assert_eq!(row["next_step_due"], due);
    assert_eq!(row["days_on_board"], 0);
    // The default thresholds: 15% of ARR at risk.
    assert_eq!(r.body["thresholds"][0]["kind"], "arr_at_risk_share");
    assert_eq!(r.body["thresholds"][0]["above"], true);
    let r = app.get("/api/v1/risk?as_of=yesterday", &reader).await;
    assert_error(&r, 400, "bad_request");

    // theirs flagged by the admin: the CSM still sees only their own.
    let r = app
        .post(
            "/api/v1/risk/flags",
            &admin,
            json!({"account_id": "theirs", "reason": "Budget cut"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app.get("/api/v1/risk", &csm).await;
    let ids: Vec<&str> = r.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["own"]);

    // Resolving: a bad outcome is named; another portfolio's flag is 404.
    let path = format!("/api/v1/risk/flags/{flag}/resolve");
    let r = app.post(&path, &csm, json!({"outcome": "lost"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("outcome: ")
    );
    let r = app
        .post(&path, &csm, json!({"outcome": "saved", "notes": "Renewed"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["outcome"], "saved");
    assert_eq!(r.body["resolved_on"], today().to_string());
    let r = app.post(&path, &csm, json!({"outcome": "saved"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app.get("/api/v1/risk", &csm).await;
    assert_eq!(r.body["accounts"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn leaders_hold_a_review_and_its_decisions_make_tasks() {
    let (app, admin) = app_with_accounts().await;
    let r = app
        .post(
            "/api/v1/risk/flags",
            &admin,
            json!({"account_id": "own", "reason": "Champion left"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // The daily pass: 50% of ARR at risk crosses the default 15%.
    let d = tenure_app::risk::daily(&app.db.store, &Config::default(), today())
        .await
        .unwrap();
    let review = d.opened.expect("a review opens").id;
    let viewer = app.key(Role::Viewer).await;
    // A viewer sees only the shared views and account cards (docs/CRM.md):
    // the reads are a leader's.
    let reader = app.key(Role::Leader).await;
    let r = app.get("/api/v1/reviews", &reader).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["reviews"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["reviews"][0]["status"], "open");
    assert_eq!(r.body["reviews"][0]["outcome"]["reviewed_arr"], 6000.0);
    let r = app.get(&format!("/api/v1/reviews/{review}"), &reader).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["accounts"][0]["account_id"], "own");
    assert_eq!(r.body["accounts"][0]["still_paying"], true);
    let r = app.get("/api/v1/reviews/rev_nope", &reader).await;
    assert_error(&r, 404, "not_found");

    let due = add_days(today(), 7).to_string();
    let hold = json!({"attendees": ["CEO", "VP CS"], "decisions": [
        {"account_id": "own", "action": "Executive sponsor call", "owner_email": "csm@example.com", "due": due}
    ]});
    let path = format!("/api/v1/reviews/{review}/hold");
    let csm = app.key(Role::Csm).await;
    assert_error(&app.post(&path, &csm, hold.clone()).await, 403, "forbidden");
    assert_error(
        &app.post(&path, &viewer, hold.clone()).await,
        403,
        "forbidden",
    );
    let r = app
        .post(
            &path,
            &admin,
            json!({"attendees": [], "decisions": [{"account_id": "theirs", "action": "X"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let msg = r.body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("attendees: "), "{msg}");
    assert!(msg.contains("account_id: "), "{msg}");
    let leader = app.key(Role::Leader).await;
    let r = app.post(&path, &leader, hold.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "held");
    assert_eq!(r.body["attendees"], json!(["CEO", "VP CS"]));
    let task = r.body["accounts"][0]["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.get(&format!("/api/v1/tasks/{task}"), &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["source"], "review");
    assert_eq!(r.body["source_id"], review);
    assert_eq!(r.body["owner_email"], "csm@example.com");
    assert_eq!(r.body["due"], due);
    // Held once only.
    let r = app.post(&path, &leader, hold).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

/// Two Engage segments from an account attribute, and a review when more
/// than one `small` account is at risk; the whole book is not watched.
const SEGMENT_CONFIG: &str = r#"
[engage]
settle_days = 0

[[engage.tiers]]
name = "tech"

[[engage.stages]]
name = "customer"
entry = "paying"

[[engage.segments]]
name = "big"
rule = 'attrs.size == "big"'
tier = "tech"

[[engage.segments]]
name = "small"
rule = "true"
tier = "tech"

[[risk.segments]]
name = "small"
accounts_at_risk = 1
"#;

#[tokio::test]
async fn a_segments_threshold_opens_a_review_of_that_segment_shown_by_the_api() {
    use tenure_core::health::Band;
    use tenure_core::model::{Account, Currency, Money, Subscription};
    use tenure_store::api::Scope;
    use tenure_store::health::Snapshot;
    use tenure_store::rows::Record;

    let config = tenure_core::config::parse_config(SEGMENT_CONFIG).unwrap();
    let db = tenure_store::testing::test_db().await;
    let router = tenure_server::router(
        tenure_server::AppState::new(db.store.clone(), tenure_server::ServerConfig::default())
            .with_tenure_config(config.clone()),
    );
    let app = App { db, router };
    let store = &app.db.store;
    for (id, size, mrr) in [
        ("whale", "big", 900),
        ("s1", "small", 100),
        ("s2", "small", 200),
    ] {
        let mut a = Account::bare(id);
        a.name = format!("Account {id}");
        a.attributes.insert("size".into(), size.into());
        store
            .create_record(&Record::Account(a), &Scope::All)
            .await
            .unwrap();
        let sub = Subscription {
            id: format!("s-{id}"),
            account_id: id.into(),
            mrr: Money::new(mrr * 100, Currency::USD),
            plan: None,
            seats: None,
            start_date: "2025-01-01".parse().unwrap(),
            end_date: None,
            renewal_date: None,
        };
        store
            .create_record(&Record::Subscription(sub), &Scope::All)
            .await
            .unwrap();
    }
    // Every account red: the whale does not count towards small's threshold.
    let day: jiff::civil::Date = "2025-03-03".parse().unwrap();
    let snapshots: Vec<Snapshot> = ["whale", "s1", "s2"]
        .into_iter()
        .map(|id| Snapshot {
            account_id: id.into(),
            day,
            score: Some(20.0),
            band: Some(Band::Red),
            computed: None,
            override_id: None,
            scorecard_version: "test".into(),
            measures: Vec::new(),
        })
        .collect();
    store.write_snapshots(&snapshots, 0).await.unwrap();
    tenure_app::engage::run_day(store, &config, day)
        .await
        .unwrap();
    let pass = tenure_app::risk::daily(store, &config, day).await.unwrap();
    let id = pass.opened.expect("small crossed").id;
    assert!(
        tenure_app::risk::daily(store, &config, day)
            .await
            .unwrap()
            .opened
            .is_none(),
        "once per crossing"
    );

    let leader = app.key(Role::Leader).await;
    let r = app.get("/api/v1/reviews", &leader).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let reviews = r.body["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 1, "{}", r.body);
    assert_eq!(reviews[0]["id"], id.as_str());
    assert_eq!(
        reviews[0]["crossed"],
        "small: 2 accounts at risk, more than 1"
    );
    assert_eq!(reviews[0]["outcome"]["reviewed_arr"], 3600.0);
    let r = app.get(&format!("/api/v1/reviews/{id}"), &leader).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let accounts: Vec<&str> = r.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["s2", "s1"], "small's accounts only");
    // The board shows the segment's threshold above.
    let r = app.get("/api/v1/risk?as_of=2025-03-03", &leader).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t = &r.body["thresholds"][0];
    assert_eq!(t["segment"], "small", "{}", r.body);
    assert_eq!(t["above"], true, "{}", r.body);
}
