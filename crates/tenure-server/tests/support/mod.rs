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

/// Stores health snapshots of every account on `end` and 30 days before,
/// as `tenure health recompute` does for single days.
pub async fn score_health(store: &tenure_store::Store, end: jiff::civil::Date) {
    use tenure_core::config::Config;
    use tenure_core::health::HealthModel;
    use tenure_core::model::{date_from_day, day_number};
    use tenure_store::health::{Shard, SignalsRequest, Snapshot};
    let config = Config::default();
    let model = HealthModel::new(&config.health);
    let accounts = store.health_accounts().await.unwrap();
    let track_payments = store.payments_tracked().await.unwrap();
    for day in [date_from_day(day_number(end) - 30), end] {
        let mut snaps = Vec::new();
        for shard in Shard::split(&accounts, 1000) {
            let signals = store
                .load_signals_on(SignalsRequest {
                    plan: model.plan(),
                    currency: &config.currency,
                    dates: &[day],
                    shard,
                    track_payments,
                })
                .await
                .unwrap();
            for (a, sig) in shard.accounts.iter().zip(&signals) {
                let s = model.score(model.scorecard_index(a), sig, &[]);
                let measures: Vec<_> = s
                    .measures
                    .iter()
                    .map(|m| (m.raw, m.normalised, m.contribution))
                    .collect();
                snaps.push(Snapshot {
                    account_id: a.id.clone(),
                    day,
                    score: s.score,
                    band: s.band.map(|b| b.as_str().to_string()),
                    computed: s.computed,
                    override_id: None,
                    scorecard_version: s.scorecard_version.to_string(),
                    measures: serde_json::to_string(&measures).unwrap(),
                });
            }
        }
        store.write_snapshots(&snaps, 0).await.unwrap();
    }
}
