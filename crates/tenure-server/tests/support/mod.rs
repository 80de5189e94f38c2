//! Shared by the web handler tests and the browser suite: a database with a
//! small demo company, users of each role, and the app around it.

#![allow(dead_code)]

use jiff::Timestamp;
use tenure_core::demo::{Demo, DemoConfig};
use tenure_server::auth::hash_password;
use tenure_server::{AppState, ServerConfig};
use tenure_store::auth::{NewUser, Role};
use tenure_store::bulk::BulkWriter;
use tenure_store::rows::Record;
use tenure_store::testing::{TestDb, test_db};

pub const PASSWORD: &str = "correct horse battery";
pub const LEADER: &str = "leader@example.com";
pub const ADMIN: &str = "admin@example.com";

/// A database with the demo company and users; `csm` is one simulated CSM.
pub struct Seeded {
    pub db: TestDb,
    pub state: AppState,
    pub csm: String,
    pub other_csm: String,
}

/// Loads a demo company of `accounts` accounts ending yesterday.
pub async fn seeded(accounts: u32) -> Seeded {
    let db = test_db().await;
    let end = tenure_core::model::utc_date(Timestamp::now());
    let demo = Demo::new(DemoConfig {
        accounts,
        seed: 11,
        end,
        days: 400,
    });
    let csms: Vec<String> = demo
        .csms()
        .iter()
        .map(|c| c.email.to_ascii_lowercase())
        .collect();
    let mut writer = BulkWriter::default();
    let mut tx = db.store.pool().begin().await.unwrap();
    for i in 0..demo.len() {
        let b = demo.account(i);
        let recs = std::iter::once(Record::Account(b.account))
            .chain(b.contacts.into_iter().map(Record::Contact))
            .chain(b.subscriptions.into_iter().map(Record::Subscription))
            .chain(b.events.into_iter().map(Record::Event))
            .chain(b.tickets.into_iter().map(Record::Ticket))
            .chain(b.survey_responses.into_iter().map(Record::SurveyResponse))
            .chain(b.engagements.into_iter().map(Record::Engagement));
        for r in recs {
            writer.push(&mut tx, &r).await.unwrap();
        }
    }
    writer.flush(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let hash = hash_password(PASSWORD).unwrap();
    for (email, role) in [
        (ADMIN.to_string(), Role::Admin),
        (LEADER.to_string(), Role::Leader),
        (csms[0].clone(), Role::Csm),
        (csms[1].clone(), Role::Csm),
    ] {
        db.store
            .create_user(
                &NewUser {
                    id: format!("usr-{email}"),
                    email,
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
    score_health(&db.store, end).await;
    let state = AppState::new(db.store.clone(), ServerConfig::default());
    Seeded {
        state,
        csm: csms[0].clone(),
        other_csm: csms[1].clone(),
        db,
    }
}

/// Stores health snapshots on `end` and 30 days before, through the
/// application layer's recompute (what `tenure health recompute` runs),
/// then records `end`'s stages and segments as the background job does.
pub async fn score_health(store: &tenure_store::Store, end: jiff::civil::Date) {
    let config = tenure_core::config::Config::default();
    let before = tenure_core::model::add_days(end, -30);
    for day in [before, end] {
        tenure_app::health::recompute(store, &config, day, day, &tenure_app::health::Quiet)
            .await
            .unwrap();
    }
    // Stages and segments, as the job decides them after the scores.
    tenure_app::engage::run_day(store, &config, end)
        .await
        .unwrap();
}

/// The CSMs of the Engage fixture: Ann owns a1 and a2, Bo a3 and a4.
pub const ANN: &str = "ann@example.com";
pub const BO: &str = "bo@example.com";

/// The Engage fixture's configuration: calls every 10 days for the high
/// tier (tenure-app's `tests/engage.rs` works the same portfolio by hand),
/// and the threshold scorecard (the former default), whose engagement and
/// renewal measures tell the fixture's accounts apart where the adaptive
/// default, without usage, gives each the 50th percentile.
pub const ENGAGE_CONFIG: &str = concat!(
    include_str!("../../../tenure-core/src/health/thresholds.toml"),
    r#"
[engage]
engagement_kinds = ["call", "qbr"]

[[engage.tiers]]
name = "high"

[[engage.tiers]]
name = "tech"

[[engage.stages]]
name = "onboarding"
entry = "paying"
target_days = 30

[[engage.stages]]
name = "renewal"
entry = "paying && days_to_renewal != null && days_to_renewal <= 30"

[[engage.stages]]
name = "churned"
entry = "churned"
lost = true

[[engage.segments]]
name = "Sized"
rule = 'attrs.size == "big"'
tier = "high"
persona = "Marked big by hand."

[[engage.segments]]
name = "Big"
rule = "arr_percentile != null && arr_percentile >= 0.3"
tier = "high"

[[engage.segments]]
name = "Small"
rule = "paying"
tier = "tech"

[[engage.cadence]]
tier = "high"
kind = "call"
every_days = 10
"#
);

/// The Engage fixture's period: its runs are rebuilt day by day over it.
pub const ENGAGE_FROM: &str = "2025-06-01";
pub const ENGAGE_TO: &str = "2025-08-31";

/// Four accounts worked by hand, with users of each role (Ann and Bo are
/// CSMs): a1 (Ann) pays 100 a month and renews on 2025-07-15; a2 (Ann)
/// pays 400; a3 (Bo) pays 500, is `size = big` and had a call on
/// 2025-06-25; a4 (Bo) paid 200 until 2025-05-01. Health and the Engage
/// runs are rebuilt over [`ENGAGE_FROM`]..[`ENGAGE_TO`], and the app uses
/// [`ENGAGE_CONFIG`].
pub async fn engage_fixture() -> Seeded {
    use tenure_core::model::{Account, Currency, Engagement, Money, Subscription};
    use tenure_store::api::Scope;

    let db = test_db().await;
    let store = &db.store;
    let config = tenure_core::config::parse_config(ENGAGE_CONFIG).unwrap();
    let d = |s: &str| -> jiff::civil::Date { s.parse().unwrap() };
    let mut records = Vec::new();
    for (id, name, csm) in [
        ("a1", "Acme Small", ANN),
        ("a2", "Beta Big", ANN),
        ("a3", "Gamma Sized", BO),
        ("a4", "Delta Gone", BO),
    ] {
        let mut a = Account::bare(id);
        a.name = name.into();
        a.csm_email = Some(csm.into());
        if id == "a3" {
            a.attributes.insert("size".into(), "big".into());
        }
        records.push(Record::Account(a));
    }
    for (id, mrr, end, renewal) in [
        ("a1", 100, None, Some("2025-07-15")),
        ("a2", 400, None, None),
        ("a3", 500, None, None),
        ("a4", 200, Some("2025-05-01"), None),
    ] {
        records.push(Record::Subscription(Subscription {
            id: format!("s-{id}"),
            account_id: id.into(),
            mrr: Money::new(mrr * 100, Currency::USD),
            plan: Some("Team".into()),
            seats: None,
            start_date: d("2025-01-01"),
            end_date: end.map(d),
            renewal_date: renewal.map(d),
        }));
    }
    records.push(Record::Engagement(Engagement {
        id: "e1".into(),
        account_id: "a3".into(),
        kind: "call".into(),
        occurred_at: "2025-06-25T10:00:00Z".parse().unwrap(),
        csm_email: Some(BO.into()),
        notes: None,
    }));
    for r in &records {
        store.create_record(r, &Scope::All).await.unwrap();
    }
    let hash = hash_password(PASSWORD).unwrap();
    for (email, role) in [
        (ADMIN, Role::Admin),
        (LEADER, Role::Leader),
        (ANN, Role::Csm),
        (BO, Role::Csm),
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
    let (from, to) = (d(ENGAGE_FROM), d(ENGAGE_TO));
    let quiet = &tenure_app::health::Quiet;
    tenure_app::health::recompute(store, &config, from, to, quiet)
        .await
        .unwrap();
    tenure_app::engage::rebuild(store, &config, from, to, quiet)
        .await
        .unwrap();
    let mut state = AppState::new(store.clone(), ServerConfig::default());
    state.web = std::sync::Arc::new(tenure_server::web::WebState::new(config));
    Seeded {
        state,
        csm: ANN.into(),
        other_csm: BO.into(),
        db,
    }
}
