//! The background job's pass: it scores when the data, the day or the age
//! of the last pass says so, and skips otherwise.

use std::time::{Duration, Instant};

use tenure_app::clock::today;
use tenure_app::jobs::{JobState, MAX_AGE, run_once};
use tenure_core::config::Config;
use tenure_core::model::{Account, Currency, Engagement, Money, Subscription, add_days};
use tenure_store::api::Scope;
use tenure_store::rows::Record;
use tenure_store::testing::test_db;

#[tokio::test]
async fn a_pass_scores_only_when_the_data_changed() {
    let db = test_db().await;
    let store = &db.store;
    let config = Config::default();
    store
        .create_record(&Record::Account(Account::bare("a1")), &Scope::All)
        .await
        .unwrap();
    let sub = Subscription {
        id: "s1".into(),
        account_id: "a1".into(),
        mrr: Money::new(10_000, Currency::USD),
        plan: None,
        seats: Some(5),
        start_date: add_days(today(), -90),
        end_date: None,
        renewal_date: None,
    };
    store
        .create_record(&Record::Subscription(sub), &Scope::All)
        .await
        .unwrap();

    let mut state = JobState::default();
    // The first pass scores the one paying account.
    assert_eq!(run_once(store, &config, &mut state).await.unwrap(), Some(1));
    assert_eq!(
        store.snapshot_days(today(), today()).await.unwrap(),
        [today()]
    );
    // Nothing changed: the next pass skips.
    assert_eq!(run_once(store, &config, &mut state).await.unwrap(), None);
    // New data: the next pass scores again.
    let engagement = Engagement {
        id: "e1".into(),
        account_id: "a1".into(),
        kind: "call".into(),
        occurred_at: jiff::Timestamp::now(),
        csm_email: None,
        notes: None,
    };
    store
        .create_record(&Record::Engagement(engagement), &Scope::All)
        .await
        .unwrap();
    assert_eq!(run_once(store, &config, &mut state).await.unwrap(), Some(1));
    assert_eq!(run_once(store, &config, &mut state).await.unwrap(), None);
}

#[tokio::test]
async fn a_pass_is_fresh_for_the_same_data_on_the_same_day_for_an_hour() {
    let db = test_db().await;
    let store = &db.store;
    let mut state = JobState::default();
    let fingerprint = store.data_fingerprint().await.unwrap();
    let now = Instant::now();
    assert!(!state.is_fresh(&fingerprint, today(), now), "never run");
    assert_eq!(
        run_once(store, &Config::default(), &mut state)
            .await
            .unwrap(),
        Some(0)
    );
    let now = Instant::now();
    assert!(state.is_fresh(&fingerprint, today(), now));
    assert!(
        !state.is_fresh(&fingerprint, add_days(today(), 1), now),
        "a new day"
    );
    let later = now + MAX_AGE + Duration::from_secs(1);
    assert!(!state.is_fresh(&fingerprint, today(), later), "an hour on");
}
