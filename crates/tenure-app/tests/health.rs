//! The account page's scores ([`DayScorer`]: every account's signals of a
//! day loaded once) are the scores of the one scoring path,
//! [`score_account`], account by account.

use jiff::Timestamp;
use tenure_app::health::{DayScorer, ScoringContext, score_account};
use tenure_core::config::Config;
use tenure_core::demo::{Demo, DemoConfig};
use tenure_core::health::HealthModel;
use tenure_core::model::{Account, add_days, utc_date};
use tenure_store::api::Scope;
use tenure_store::bulk::BulkWriter;
use tenure_store::rows::Record;
use tenure_store::testing::test_db;

#[tokio::test]
async fn the_day_scorer_scores_every_account_as_score_account_does() {
    let db = test_db().await;
    let store = &db.store;
    let today = utc_date(Timestamp::now());
    let demo = Demo::new(DemoConfig {
        accounts: 80,
        seed: 3,
        end: today,
        days: 200,
    });
    let mut writer = BulkWriter::default();
    let mut tx = store.pool().begin().await.unwrap();
    for i in 0..demo.len() {
        let b = demo.account(i);
        let recs = std::iter::once(Record::Account(b.account))
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
    // An account with no data at all, and a manual override on another.
    store
        .create_record(&Record::Account(Account::bare("zz-empty")), &Scope::All)
        .await
        .unwrap();
    let config = Config::default();
    let model = HealthModel::new(&config.health);
    assert!(model.is_relative(), "the default scorecard ranks accounts");
    let accounts = store.health_accounts().await.unwrap();
    tenure_app::health::set_override(
        store,
        &config,
        &tenure_app::health::OverrideRequest {
            account_id: accounts[5].id.clone(),
            score: 12.0,
            reason: "Champion left".into(),
            until: add_days(today, 10),
            author: "test".into(),
        },
        today,
        tenure_app::clock::now_micros(),
    )
    .await
    .unwrap();

    let scorer = DayScorer::load(store, &config, &model, today)
        .await
        .unwrap();
    let ctx = ScoringContext {
        config: &config,
        model: &model,
        accounts: &accounts,
        track_payments: store.payments_tracked().await.unwrap(),
    };
    let mut scored = 0;
    for (i, a) in accounts.iter().enumerate() {
        let overrides = store.overrides(Some(&a.id)).await.unwrap();
        let want = score_account(store, ctx, i, today, &overrides)
            .await
            .unwrap();
        let got = scorer.score(&model, &a.id, &overrides).unwrap();
        assert_eq!(got.score, want.score, "{}", a.id);
        assert_eq!(got.mrr, want.mrr, "{}", a.id);
        assert_eq!(got.override_row, want.override_row, "{}", a.id);
        scored += usize::from(want.score.score.is_some());
    }
    assert!(scored > 40, "only {scored} accounts have a score");
    assert_eq!(
        scorer
            .score(
                &model,
                accounts[5].id.as_str(),
                &store.overrides(Some(&accounts[5].id)).await.unwrap()
            )
            .unwrap()
            .score
            .score,
        Some(12.0)
    );
    assert!(scorer.score(&model, "no-such-account", &[]).is_none());
}
