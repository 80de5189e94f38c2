//! The background job's pass: it scores when the data, the day or the age
//! of the last pass says so, and skips otherwise.

use std::time::Duration;

use tenure_app::clock::{now_micros, today};
use tenure_app::jobs::{DAILY, FEEDBACK, JobState, MAX_AGE, is_fresh, run_once, settings_key};
use tenure_core::config::Config;
use tenure_core::model::{Account, Currency, Engagement, Money, Subscription, add_days};
use tenure_store::api::Scope;
use tenure_store::jobs::JobRun;
use tenure_store::rows::Record;
use tenure_store::testing::test_db;

#[tokio::test]
async fn a_pass_scores_only_when_the_data_changed() {
    let db = test_db().await;
    let store = &db.store;
    let config = Config::default();
    one_paying_account(store).await;

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
        notes: Some("They asked for faster exports.".into()),
    };
    store
        .create_record(&Record::Engagement(engagement), &Scope::All)
        .await
        .unwrap();
    assert_eq!(run_once(store, &config, &mut state).await.unwrap(), Some(1));
    assert_eq!(run_once(store, &config, &mut state).await.unwrap(), None);
    // The note became feedback in that pass (a new row, not only events).
    let items = store
        .feedback_items(&tenure_store::feedback::FeedbackQuery::default())
        .await
        .unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].text, "They asked for faster exports.");
}

#[tokio::test]
async fn a_pass_is_fresh_for_the_same_data_on_the_same_day_for_an_hour() {
    let db = test_db().await;
    let store = &db.store;
    let mut state = JobState::named("one");
    let config = Config::default();
    let fingerprint = store.data_fingerprint().await.unwrap().key();
    let key = format!("{fingerprint};{}", settings_key(&config));
    assert_eq!(store.last_job_run(DAILY).await.unwrap(), None, "never run");
    assert_eq!(run_once(store, &config, &mut state).await.unwrap(), Some(0));
    let last = store.last_job_run(DAILY).await.unwrap().unwrap();
    assert_eq!(
        (last.instance.as_str(), last.outcome.as_str()),
        ("one", "ok")
    );
    assert_eq!(last.data_key, key);
    let now = now_micros();
    assert!(is_fresh(&last, &key, today(), now));
    assert!(
        !is_fresh(&last, &key, add_days(today(), 1), now),
        "a new day"
    );
    assert!(!is_fresh(&last, "1,2,3", today(), now), "other data");
    let later = now + MAX_AGE.as_micros() as i64 + 1_000_000;
    assert!(!is_fresh(&last, &key, today(), later), "an hour on");
    // Other settings (another tenure.toml) make a pass on the same data.
    let mut other = config.clone();
    other.health.bands.green_from += 1.0;
    assert_ne!(settings_key(&other), settings_key(&config));
    assert_eq!(run_once(store, &other, &mut state).await.unwrap(), Some(0));
    assert_eq!(run_once(store, &other, &mut state).await.unwrap(), None);
    let failed = JobRun {
        outcome: "failed".into(),
        ..last.clone()
    };
    assert!(!is_fresh(&failed, &key, today(), now), "a failed pass");
}

/// A paying account with a subscription, for the passes below.
async fn one_paying_account(store: &tenure_store::Store) {
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
}

/// Two processes on one database (two stores here): a job's lock is held
/// by one at a time, released for the other, and given up by a holder
/// that goes away without releasing it (on PostgreSQL its connection
/// closes; on SQLite its lease runs out).
#[tokio::test]
async fn a_job_lock_is_held_by_one_process_at_a_time() {
    let db = test_db().await;
    let other = tenure_store::Store::open(&db.url).await.unwrap();
    let now = now_micros();
    let a = db.store.try_job_lock(DAILY, "a", now).await.unwrap();
    let a = a.expect("a free job is taken");
    assert!(other.try_job_lock(DAILY, "b", now).await.unwrap().is_none());
    // Another job is free.
    let f = other.try_job_lock(FEEDBACK, "b", now).await.unwrap();
    f.expect("another job").release().await.unwrap();
    a.release().await.unwrap();
    let b = other.try_job_lock(DAILY, "b", now).await.unwrap();
    let b = b.expect("released, so the other takes it");
    assert!(
        db.store
            .try_job_lock(DAILY, "a", now)
            .await
            .unwrap()
            .is_none()
    );
    // The holder goes away without releasing.
    drop(b);
    let later = match db.store.backend() {
        tenure_store::Backend::Postgres => now,
        tenure_store::Backend::Sqlite => {
            assert!(
                db.store
                    .try_job_lock(DAILY, "a", now)
                    .await
                    .unwrap()
                    .is_none(),
                "a SQLite lease lasts until it runs out"
            );
            now + tenure_store::jobs::SQLITE_LEASE.as_micros() as i64 + 1
        }
    };
    // PostgreSQL sees the closed connection a moment later.
    let mut taken = None;
    for _ in 0..50 {
        taken = db.store.try_job_lock(DAILY, "a", later).await.unwrap();
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    taken.expect("given up by a holder that went away");
    other.close().await;
}

/// Two processes run passes at the same moment on one database: one
/// scores, the other skips (the job is held, or the pass is already made
/// for this data), and the next change is scored once again. No two
/// recorded passes overlap in time, and no data is scored twice.
#[tokio::test]
async fn two_processes_make_each_pass_once() {
    let db = test_db().await;
    let other = tenure_store::Store::open(&db.url).await.unwrap();
    one_paying_account(&db.store).await;
    let config = Config::default();
    let (mut sa, mut sb) = (JobState::named("a"), JobState::named("b"));
    for round in 0..3 {
        if round > 0 {
            let e = tenure_core::model::Event {
                timestamp: jiff::Timestamp::now(),
                account_id: "a1".into(),
                user_id: format!("u{round}"),
                event: "login".into(),
                properties: None,
                message_id: None,
            };
            db.store
                .create_record(&Record::Event(e), &Scope::All)
                .await
                .unwrap();
        }
        for _ in 0..2 {
            let (a, b) = tokio::join!(
                run_once(&db.store, &config, &mut sa),
                run_once(&other, &config, &mut sb)
            );
            let (a, b) = (a.unwrap(), b.unwrap());
            let scored = [a, b].iter().filter(|n| n.is_some()).count();
            assert!(scored <= 1, "round {round}: both scored ({a:?}, {b:?})");
        }
        // Whoever held the job, this round's data is scored now.
        let fingerprint = db.store.data_fingerprint().await.unwrap().key();
        let key = format!("{fingerprint};{}", settings_key(&config));
        assert_eq!(
            db.store
                .last_job_run(DAILY)
                .await
                .unwrap()
                .unwrap()
                .data_key,
            key
        );
    }
    let runs = db.store.job_runs(Some(DAILY)).await.unwrap();
    let mut keys: Vec<&str> = runs.iter().map(|r| r.data_key.as_str()).collect();
    assert_eq!(runs.len(), 3, "{runs:?}");
    keys.dedup();
    assert_eq!(keys.len(), 3, "each data scored once: {runs:?}");
    for w in runs.windows(2) {
        assert!(
            w[0].finished_at <= w[1].started_at,
            "passes overlap: {runs:?}"
        );
    }
    assert!(runs.iter().all(|r| r.outcome == "ok" && r.written == 1));
    other.close().await;
}

/// The job's one-load pass writes the same snapshots and runs as a health
/// recompute followed by the Engage pass, day after day: paying accounts
/// of several sizes with usage, a trial, a churned account and one with an
/// override.
#[tokio::test]
async fn the_daily_pass_equals_a_recompute_then_the_engage_pass() {
    use tenure_app::engage::{daily, run_day};
    use tenure_app::health::{OverrideRequest, Quiet, recompute, set_override};
    use tenure_store::Store;

    async fn portfolio(store: &Store) {
        let add = |r: Record| async move { store.create_record(&r, &Scope::All).await.unwrap() };
        for (i, mrr) in [100_i64, 400, 2_000, 9_000, 300].into_iter().enumerate() {
            let id = format!("a{i}");
            add(Record::Account(Account::bare(&id))).await;
            let sub = Subscription {
                id: format!("s{i}"),
                account_id: id.clone(),
                mrr: Money::new(mrr * 100, Currency::USD),
                plan: None,
                seats: Some(5),
                start_date: add_days(today(), -200 + 30 * i as i32),
                end_date: (i == 4).then(|| add_days(today(), -20)),
                renewal_date: Some(add_days(today(), 10 + 20 * i as i32)),
            };
            add(Record::Subscription(sub)).await;
            for d in 0..40 {
                let e = tenure_core::model::Event {
                    timestamp: jiff::Timestamp::now()
                        .checked_sub(jiff::SignedDuration::from_hours(24 * d * (i as i64 + 1)))
                        .unwrap(),
                    account_id: id.clone(),
                    user_id: format!("u{}", d % 3),
                    event: "login".into(),
                    properties: None,
                    message_id: None,
                };
                add(Record::Event(e)).await;
            }
        }
        let mut trial = Account::bare("trial");
        trial.trial_start = Some(add_days(today(), -10));
        trial.trial_end = Some(add_days(today(), 4));
        add(Record::Account(trial)).await;
    }

    // The default scorecard, and one placing accounts among the day's
    // customers (percentiles: the job's pass must rank them as the
    // recompute does).
    let relative =
        tenure_core::config::parse_config(tenure_core::health::ADAPTIVE_SCORECARD).unwrap();
    assert!(tenure_core::health::HealthModel::new(&relative.health).is_relative());
    for config in [Config::default(), relative] {
        let (two, one) = (test_db().await, test_db().await);
        for db in [&two, &one] {
            portfolio(&db.store).await;
            let req = OverrideRequest {
                account_id: "a1".into(),
                score: 15.0,
                reason: "Champion left".into(),
                until: add_days(today(), 30),
                author: "lead@example.com".into(),
            };
            set_override(&db.store, &config, &req, today(), 0)
                .await
                .unwrap();
        }
        for back in (0..=35).rev() {
            let day = add_days(today(), -back);
            recompute(&two.store, &config, day, day, &Quiet)
                .await
                .unwrap();
            run_day(&two.store, &config, day).await.unwrap();
            daily(&one.store, &config, day).await.unwrap();
        }
        let (from, to) = (add_days(today(), -35), today());
        let scores = |s: Vec<(String, jiff::civil::Date, Option<f64>)>| {
            let mut s: Vec<String> = s
                .into_iter()
                .map(|(a, d, x)| format!("{a} {d} {x:?}"))
                .collect();
            s.sort();
            s
        };
        let a = scores(two.store.snapshot_scores(from, to).await.unwrap());
        let b = scores(one.store.snapshot_scores(from, to).await.unwrap());
        assert!(a.len() > 36 * 4, "{}", a.len());
        assert_eq!(a, b);
        assert_eq!(
            two.store.engage_runs(None).await.unwrap(),
            one.store.engage_runs(None).await.unwrap()
        );
    }
}
