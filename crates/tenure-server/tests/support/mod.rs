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
