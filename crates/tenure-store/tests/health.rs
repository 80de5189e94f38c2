//! Health scores through the store, on SQLite by default and on PostgreSQL
//! when `TEST_DATABASE_URL` is set: bulk signal loading without look-ahead,
//! snapshots, overrides with their audit trail, and a backtest fixture.

use jiff::civil::Date;
use tenure_core::config::{Config, parse_config};
use tenure_core::health::{
    HealthModel, HealthScore, THRESHOLD_SCORECARD, backtest_stats, churned_within,
};
use tenure_store::health::{NewOverride, Shard, SignalsRequest, Snapshot};
use tenure_store::scan::Bind;
use tenure_store::testing::{import_text as import, test_db};
use tenure_store::{Kind, Store};

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

/// Scores every account on each day, as `tenure health recompute` does:
/// percentile measures place each account among the day's customers.
async fn score_days(store: &Store, config: &Config, days: &[Date]) -> Vec<Vec<HealthScore>> {
    let model = HealthModel::new(&config.health);
    let accounts = store.health_accounts().await.unwrap();
    let table = store
        .load_signals(SignalsRequest {
            plan: model.plan(),
            currency: &config.currency,
            dates: days,
            shard: Shard::split(&accounts, usize::MAX)[0],
            track_payments: store.payments_tracked().await.unwrap(),
        })
        .await
        .unwrap();
    (0..days.len())
        .map(|day| {
            let signals: Vec<_> = (0..accounts.len()).map(|i| table.signals(day, i)).collect();
            let ranks = model.day_ranks(
                accounts
                    .iter()
                    .zip(&signals)
                    .filter(|(a, s)| a.is_customer_on(s.mrr, days[day]))
                    .map(|(a, s)| (model.scorecard_index(a), a, s)),
            );
            accounts
                .iter()
                .zip(&signals)
                .map(|(a, s)| {
                    model.score_ranked(model.scorecard_index(a), s, Some((a, &ranks)), &[])
                })
                .collect()
        })
        .collect()
}

async fn store_snapshots(store: &Store, config: &Config, days: &[Date]) {
    let accounts = store.health_accounts().await.unwrap();
    let mut rows = Vec::new();
    for scores in score_days(store, config, days).await {
        for (a, s) in accounts.iter().zip(scores) {
            rows.push(Snapshot::of(&a.id, &s, None));
        }
    }
    store.write_snapshots(&rows, 0).await.unwrap();
}

const ACCOUNTS: &str = "\
id,name,plan
a1,Alpha,growth
a2,Beta,growth
a3,Gamma,starter
a4,Delta,starter
";

const SUBSCRIPTIONS: &str = "\
id,account_id,mrr,currency,seats,start_date,end_date,renewal_date
s1,a1,100,USD,10,2024-01-01,2025-04-01,
s2,a2,100,USD,10,2024-01-01,2025-04-01,
s3,a3,100,USD,10,2024-01-01,,2026-01-01
s4,a4,100,USD,10,2024-01-01,,2026-01-01
";

/// Events in February 2025: a2 five, a3 eight, a4 three (a1 none).
fn february_events() -> String {
    let mut s = String::from("timestamp,account_id,user_id,event\n");
    for (account, n) in [("a2", 5), ("a3", 8), ("a4", 3)] {
        for i in 0..n {
            s.push_str(&format!(
                "2025-02-{:02}T10:00:00Z,{account},u{i},report_created\n",
                10 + i
            ));
        }
    }
    s
}

async fn fixture(store: &Store) {
    import(store, Kind::Accounts, "accounts.csv", ACCOUNTS).await;
    import(
        store,
        Kind::Subscriptions,
        "subscriptions.csv",
        SUBSCRIPTIONS,
    )
    .await;
    import(store, Kind::Events, "events.csv", &february_events()).await;
}

/// A scorecard of one measure: events in the last 30 days, 0 → 0 points,
/// 10 or more → 100.
fn event_count_config() -> Config {
    parse_config(
        r#"
[[health.measures]]
name = "Events"
kind = "event_count"
window_days = 30
weight = 1
linear = { min = 0, max = 10 }
"#,
    )
    .unwrap()
}

#[tokio::test]
async fn adding_future_data_never_changes_a_past_snapshot() {
    let db = test_db().await;
    let store = &db.store;
    fixture(store).await;
    let config = Config::default();
    let days = [d("2025-02-20"), d("2025-03-05")];
    store_snapshots(store, &config, &days).await;
    let before = store.account_snapshots("a3", None, None).await.unwrap();
    assert_eq!(before.len(), 2);

    // Data dated after 2025-02-20: events, a ticket, an NPS answer, an
    // engagement and a new subscription.
    import(
        store,
        Kind::Events,
        "later.csv",
        "timestamp,account_id,user_id,event\n\
         2025-02-21T00:00:00Z,a3,u9,integration_synced\n\
         2025-03-01T12:00:00Z,a3,u10,report_created\n",
    )
    .await;
    import(
        store,
        Kind::Tickets,
        "tickets.csv",
        "id,account_id,opened_at,priority\nt1,a3,2025-02-21T08:00:00Z,urgent\n",
    )
    .await;
    import(
        store,
        Kind::SurveyResponses,
        "surveys.csv",
        "id,account_id,kind,score,responded_at\nr1,a3,nps,2,2025-02-25T08:00:00Z\n",
    )
    .await;
    import(
        store,
        Kind::Engagements,
        "engagements.csv",
        "id,account_id,kind,occurred_at\ne1,a3,qbr,2025-02-21T00:00:01Z\n",
    )
    .await;
    import(
        store,
        Kind::Subscriptions,
        "more.csv",
        "id,account_id,mrr,currency,seats,start_date\ns5,a3,50,USD,90,2025-02-21\n",
    )
    .await;
    store_snapshots(store, &config, &days).await;
    let after = store.account_snapshots("a3", None, None).await.unwrap();
    assert_eq!(after[0], before[0], "the 2025-02-20 snapshot changed");
    assert_ne!(
        after[1], before[1],
        "the later snapshot should see the new data"
    );

    // Bounds narrow the days read.
    let range = |from: Option<&str>, to: Option<&str>| {
        store.account_snapshots("a3", from.map(d), to.map(d))
    };
    assert_eq!(range(Some("2025-02-21"), None).await.unwrap(), after[1..]);
    assert_eq!(range(None, Some("2025-03-04")).await.unwrap(), after[..1]);
    assert_eq!(
        range(Some("2025-01-01"), Some("2099-01-01")).await.unwrap(),
        after
    );
    assert!(range(Some("2025-03-06"), None).await.unwrap().is_empty());
    // Deleting an account deletes its snapshots, and only its.
    let count = |account: &'static str| async move {
        let mut n = 0;
        store
            .scan(
                "SELECT COUNT(*) FROM health_snapshots WHERE account_id = $1",
                &[Bind::Text(account.into())],
                |r| {
                    n = r.int(0)?;
                    Ok(())
                },
            )
            .await
            .unwrap();
        n
    };
    let others = count("a2").await;
    assert!(others > 0 && count("a3").await == 2);
    store
        .delete_record(Kind::Accounts, "a3", &tenure_store::api::Scope::All)
        .await
        .unwrap();
    assert_eq!((count("a3").await, count("a2").await), (0, others));
}

#[tokio::test]
async fn a_measure_without_data_is_left_out_and_the_rest_reweighted() {
    let db = test_db().await;
    let store = &db.store;
    fixture(store).await;
    // The threshold scorecard: it has an engagement measure and divides
    // active users by seats.
    let config = parse_config(THRESHOLD_SCORECARD).unwrap();
    let scores = score_days(store, &config, &[d("2025-03-01")]).await;
    let a3 = &scores[0][2];
    let missing: Vec<&str> = a3.missing().collect();
    // No NPS answer, no engagement, no payment tracking; a new account's
    // trend has no earlier window.
    assert!(missing.contains(&"Latest NPS"), "{missing:?}");
    assert!(missing.contains(&"Payment failures"), "{missing:?}");
    assert!(
        missing.contains(&"Days since last engagement"),
        "{missing:?}"
    );
    let shares: f64 = a3.measures.iter().filter_map(|m| m.effective_weight).sum();
    assert!((shares - 1.0).abs() < 1e-12);
    let total: f64 = a3.measures.iter().map(|m| m.contribution).sum();
    assert_eq!(Some(total), a3.computed);
    // Active users: 8 distinct users on 10 seats.
    let active = a3
        .measures
        .iter()
        .find(|m| &*m.name == "Active users")
        .unwrap();
    assert_eq!(active.raw, Some(0.8));

    // The default scorecard, placing usage among the four customers: a3's
    // 8 active users are the most (a1 0, a2 5, a4 3): (3 + 0.5) / 4 = 87.5th
    // percentile; every account with events logged one per active user:
    // 50th. Without events before February, the usage against its own
    // baseline has no data; nor have NPS and payments. The renewal is
    // months away: 100 points.
    let scores = score_days(store, &Config::default(), &[d("2025-03-01")]).await;
    let a3 = &scores[0][2];
    let missing: Vec<&str> = a3.missing().collect();
    assert_eq!(
        missing,
        [
            "Usage against own baseline",
            "Latest NPS",
            "Payment failures"
        ]
    );
    let points: Vec<(&str, Option<f64>, Option<f64>)> = a3
        .measures
        .iter()
        .filter(|m| m.raw.is_some())
        .map(|m| (&*m.name, m.raw, m.normalised))
        .collect();
    assert_eq!(
        points,
        [
            ("Active users", Some(8.0), Some(87.5)),
            ("Events per active user", Some(1.0), Some(50.0)),
            ("Days to renewal", Some(306.0), Some(100.0)),
        ]
    );
    assert_eq!(
        a3.computed,
        Some((20.0 * 87.5 + 20.0 * 50.0 + 10.0 * 100.0) / 50.0)
    );
}

#[tokio::test]
async fn overrides_expire_clear_and_leave_an_audit_trail() {
    let db = test_db().await;
    let store = &db.store;
    fixture(store).await;
    let id = store
        .add_override(
            &NewOverride {
                account_id: "a1".into(),
                score: 15.0,
                reason: "Champion left".into(),
                author: "ana@example.com".into(),
                set_on: d("2025-03-01"),
                until: d("2025-03-10"),
            },
            1,
        )
        .await
        .unwrap();
    let unknown = store
        .add_override(
            &NewOverride {
                account_id: "nope".into(),
                score: 1.0,
                reason: "x".into(),
                author: "x".into(),
                set_on: d("2025-03-01"),
                until: d("2025-03-10"),
            },
            1,
        )
        .await;
    assert!(matches!(
        unknown,
        Err(tenure_store::StoreError::NotFound(_))
    ));

    let rows = store.overrides(Some("a1")).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, id);
    let o = &rows[0];
    assert!(!o.applies_on(d("2025-02-28")));
    assert!(o.applies_on(d("2025-03-10")));
    assert!(
        !o.applies_on(d("2025-03-11")),
        "expired overrides stop applying"
    );

    // Through the model: the override shows on the 5th, not after expiry.
    let model = HealthModel::new(&event_count_config().health);
    let ov = [o.to_override().unwrap()];
    let signals = tenure_core::health::AccountSignals::empty(model.plan(), d("2025-03-05"));
    assert_eq!(model.score(0, &signals, &ov).score, Some(15.0));
    let signals = tenure_core::health::AccountSignals::empty(model.plan(), d("2025-03-11"));
    assert_eq!(model.score(0, &signals, &ov).score, Some(0.0));

    // Clearing on the 5th: applies up to the 4th only.
    let n = store
        .clear_overrides("a1", "bo@example.com", d("2025-03-05"), 2)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let o = &store.overrides(Some("a1")).await.unwrap()[0];
    assert_eq!(o.cleared_by.as_deref(), Some("bo@example.com"));
    assert!(o.applies_on(d("2025-03-04")));
    assert!(!o.applies_on(d("2025-03-05")));
    assert_eq!(
        store
            .clear_overrides("a1", "bo", d("2025-03-05"), 3)
            .await
            .unwrap(),
        0
    );

    let log = store.audit_log(Some("a1")).await.unwrap();
    let actions: Vec<(&str, &str)> = log
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("health.override.set", "ana@example.com"),
            ("health.override.clear", "bo@example.com")
        ]
    );
    assert!(log[0].details.contains("Champion left"));
}

#[tokio::test]
async fn backtest_fixture_has_the_expected_auc() {
    let db = test_db().await;
    let store = &db.store;
    fixture(store).await;
    // As of 2025-03-01: scores 0 (a1), 50 (a2), 80 (a3), 30 (a4); a1 and a2
    // stop paying on 2025-04-01. Churned {0, 50} vs retained {30, 80}: three
    // of the four pairs are ordered right, AUC 0.75.
    let config = event_count_config();
    let as_of = d("2025-03-01");
    let scores = score_days(store, &config, &[as_of]).await;
    let spans = store.paying_spans().await.unwrap();
    let accounts = store.health_accounts().await.unwrap();
    let outcomes: Vec<(f64, bool)> = accounts
        .iter()
        .zip(&scores[0])
        .map(|(a, s)| {
            let paying: Vec<(Date, Option<Date>)> = spans
                .iter()
                .filter(|x| x.0 == a.id)
                .map(|x| (x.1, x.2))
                .collect();
            (s.computed.unwrap(), churned_within(&paying, as_of, 90))
        })
        .collect();
    assert_eq!(
        outcomes,
        [(0.0, true), (50.0, true), (80.0, false), (30.0, false)]
    );
    let st = backtest_stats(&outcomes, &HealthModel::new(&config.health).bands());
    assert_eq!(st.auc, Some(0.75));
    assert_eq!(st.churned_while_green, Some(0.0));
    assert_eq!(st.worst_decile_lift, Some(2.0));
}

#[tokio::test]
async fn without_seats_active_users_divide_by_users_ever_seen() {
    let db = test_db().await;
    let store = &db.store;
    import(
        store,
        Kind::Accounts,
        "accounts.csv",
        "id,name\nb1,One\nb2,Two\n",
    )
    .await;
    import(
        store,
        Kind::Subscriptions,
        "subscriptions.csv",
        "id,account_id,mrr,currency,seats,start_date\nt1,b1,10,USD,,2024-01-01\nt2,b2,10,USD,4,2024-01-01\n",
    )
    .await;
    // Four users long before the scoring window (only known users count
    // them), one of them active again in February; b2 the same with seats.
    let mut events = String::from("timestamp,account_id,user_id,event\n");
    for account in ["b1", "b2"] {
        for u in 1..=4 {
            events.push_str(&format!("2024-11-15T10:00:00Z,{account},u{u},login\n"));
        }
        events.push_str(&format!("2025-02-20T10:00:00Z,{account},u1,login\n"));
        events.push_str(&format!("2025-03-05T10:00:00Z,{account},u9,login\n"));
    }
    import(store, Kind::Events, "events.csv", &events).await;
    // `denominator = "auto"`, as in the threshold scorecard.
    let config = parse_config(THRESHOLD_SCORECARD).unwrap();
    let scores = score_days(store, &config, &[d("2025-03-01")]).await;
    let ratio = |s: &HealthScore| {
        s.measures
            .iter()
            .find(|m| &*m.name == "Active users")
            .unwrap()
            .raw
    };
    assert_eq!(
        ratio(&scores[0][0]),
        Some(0.25),
        "1 active of 4 known users"
    );
    assert_eq!(ratio(&scores[0][1]), Some(0.25), "1 active of 4 seats");
}

#[tokio::test]
async fn one_day_aggregated_in_sql_equals_the_streamed_signals() {
    let db = test_db().await;
    let store = &db.store;
    fixture(store).await;
    import(
        store,
        Kind::Events,
        "more.csv",
        "timestamp,account_id,user_id,event\n\
         2024-11-02T10:00:00Z,a1,old,login\n\
         2025-01-05T23:59:59Z,a1,u1,integration_synced\n\
         2025-01-20T00:00:00Z,a3,u1,report_created\n\
         2025-03-01T23:59:59.999999Z,a4,u7,integration_synced\n\
         2025-03-02T00:00:00Z,a4,u8,login\n",
    )
    .await;
    import(store, Kind::Accounts, "a5.csv", "id,name\na5,Epsilon\n").await;
    import(
        store,
        Kind::Subscriptions,
        "s.csv",
        "id,account_id,mrr,currency,seats,start_date\ns9,a1,5,USD,,2024-01-01\ns10,a5,5,USD,,2024-01-01\n",
    )
    .await;
    import(
        store,
        Kind::Events,
        "a5.csv",
        "timestamp,account_id,user_id,event\n2024-06-01T00:00:00Z,a5,x,login\n2025-01-19T00:00:00Z,a5,y,login\n2025-03-03T00:00:00Z,a5,z,login\n",
    )
    .await;
    // 62 more event names: `late_feature` comes after them, so it has no
    // bit in `usage_totals.names` and is read by name from `usage_days`.
    let mut csv = String::from("timestamp,account_id,user_id,event\n");
    for k in 0..62 {
        csv.push_str(&format!("2025-02-20T10:00:00Z,a2,u1,e{k:02}\n"));
    }
    csv.push_str("2025-02-21T10:00:00Z,a3,u2,late_feature\n");
    csv.push_str("2025-02-21T11:00:00Z,a3,u2,late_feature\n");
    import(store, Kind::Events, "names.csv", &csv).await;
    let named = parse_config(
        r#"
[[health.measures]]
name = "Active users"
kind = "active_user_ratio"
window_days = 30
denominator = "auto"
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Logins and late features"
kind = "event_count"
window_days = 20
events = ["login", "late_feature"]
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Trend"
kind = "event_trend"
window_days = 15
weight = 1
thresholds = [[0, 0]]

[[health.measures]]
name = "Features"
kind = "feature_adoption"
window_days = 45
features = ["integration_synced", "late_feature", "never_seen", "report_created"]
weight = 1
thresholds = [[0, 0]]
"#,
    )
    .unwrap();
    let accounts = store.health_accounts().await.unwrap();
    // With whether the scorecard divides by known users.
    let cases = [
        (
            Config::default(),
            ["2025-01-20", "2025-03-01", "2025-03-02"],
            false,
        ),
        (
            parse_config(THRESHOLD_SCORECARD).unwrap(),
            ["2025-01-20", "2025-03-01", "2025-03-02"],
            true,
        ),
        (named, ["2025-02-20", "2025-03-01", "2025-03-02"], true),
    ];
    for (config, days, reads_known_users) in &cases {
        let model = HealthModel::new(&config.health);
        for day in days {
            let dates = [d(day)];
            let req = SignalsRequest {
                plan: model.plan(),
                currency: &config.currency,
                dates: &dates,
                shard: Shard::split(&accounts, usize::MAX)[0],
                track_payments: false,
            };
            let mut streamed = store.load_signals(req).await.unwrap().signals_at(0);
            let aggregated = store.load_signals_on(req).await.unwrap();
            // Known users are only read where the scorecard uses them: with
            // `denominator = "auto"`, for accounts without seats.
            for (s, a) in streamed.iter_mut().zip(&aggregated) {
                if !reads_known_users || s.seats.unwrap_or(0) > 0 {
                    s.known_users = a.known_users;
                }
            }
            assert_eq!(aggregated, streamed[..accounts.len()], "as of {day}");
            // One account at a time (the web page's shard) reads the same.
            for i in 0..accounts.len() {
                let one = store
                    .load_signals_on(SignalsRequest {
                        shard: Shard::one(&accounts, i),
                        ..req
                    })
                    .await
                    .unwrap();
                assert_eq!(
                    one,
                    [aggregated[i].clone()],
                    "{} as of {day}",
                    accounts[i].id
                );
            }
            if *reads_known_users {
                assert_eq!(
                    aggregated[4].known_users, 2,
                    "a5 has no seats: users ever seen count"
                );
            } else {
                assert!(
                    aggregated.iter().all(|s| s.known_users == 0),
                    "no measure divides by users ever seen: they are not read"
                );
            }
        }
    }
    // The named scorecard saw the late feature and named events.
    let model = HealthModel::new(&cases[2].0.health);
    let dates = [d("2025-03-02")];
    let day = store
        .load_signals_on(SignalsRequest {
            plan: model.plan(),
            currency: &cases[2].0.currency,
            dates: &dates,
            shard: Shard::split(&accounts, usize::MAX)[0],
            track_payments: false,
        })
        .await
        .unwrap();
    assert_eq!(day[2].event_counts[0], 2, "a3's two late features");
    assert_eq!(
        day[2].features_used[0], 0b1010,
        "a3: late_feature and report_created"
    );
    assert_eq!(
        day[3].features_used[0], 0b1001,
        "a4: integration_synced and report_created"
    );
}

type Rollup = Vec<(i64, String, String, i64)>;

/// The rows of a query selecting (number, text, text, number).
async fn quads(store: &Store, sql: &str) -> Rollup {
    let mut out = Vec::new();
    store
        .scan(sql, &[], |r| {
            out.push((
                r.int(0)?,
                r.text(1)?.to_string(),
                r.text(2)?.to_string(),
                r.int(3)?,
            ));
            Ok(())
        })
        .await
        .unwrap();
    out
}

/// The usage rollups as the triggers keep them, and as computed from the
/// events table, both sorted: (day, account, event, n), (block, account,
/// user, days), (0, account, user, first day) and (day, account, names
/// seen joined by commas, n).
async fn rollups(store: &Store) -> [(Rollup, Rollup, Rollup, Rollup); 2] {
    use std::collections::BTreeMap;
    let days = quads(
        store,
        "SELECT day, account_id, event, n FROM usage_days ORDER BY day, account_id, event",
    )
    .await;
    let users = quads(
        store,
        "SELECT block, account_id, user_id, days FROM usage_users \
         ORDER BY block, account_id, user_id",
    )
    .await;
    let first = quads(
        store,
        "SELECT 0, account_id, user_id, first_day FROM usage_user_first \
         ORDER BY account_id, user_id",
    )
    .await;
    let mut names: BTreeMap<i64, String> = BTreeMap::new();
    store
        .scan("SELECT id, name FROM usage_names", &[], |r| {
            names.insert(r.int(0)?, r.text(1)?.to_string());
            Ok(())
        })
        .await
        .unwrap();
    assert!(names.keys().all(|&id| id <= 62), "every name has a bit");
    // Each row's name bits decoded to the names, sorted and joined.
    let mut totals: Rollup = Vec::new();
    store
        .scan(
            "SELECT day, account_id, n, names FROM usage_totals ORDER BY day, account_id",
            &[],
            |r| {
                let bits = r.int(3)?;
                let mut seen: Vec<&str> = names
                    .iter()
                    .filter(|&(id, _)| bits & (1 << (id - 1)) != 0)
                    .map(|(_, name)| name.as_str())
                    .collect();
                seen.sort_unstable();
                totals.push((r.int(0)?, r.text(1)?.to_string(), seen.join(","), r.int(2)?));
                Ok(())
            },
        )
        .await
        .unwrap();
    let mut want_first: BTreeMap<(i64, String, String), i64> = BTreeMap::new();
    let mut want_days: BTreeMap<(i64, String, String), i64> = BTreeMap::new();
    let mut want_users: BTreeMap<(i64, String, String), i64> = BTreeMap::new();
    store
        .scan(
            "SELECT account_id, user_id, event, ts FROM events",
            &[],
            |r| {
                let day = r.int(3)?.div_euclid(86_400_000_000);
                let (a, u, e) = (r.text(0)?, r.text(1)?, r.text(2)?);
                *want_days.entry((day, a.into(), e.into())).or_default() += 1;
                *want_users
                    .entry((day.div_euclid(64), a.into(), u.into()))
                    .or_default() |= 1 << day.rem_euclid(64);
                let f = want_first.entry((0, a.into(), u.into())).or_insert(day);
                *f = (*f).min(day);
                Ok(())
            },
        )
        .await
        .unwrap();
    let flat = |m: BTreeMap<(i64, String, String), i64>| {
        m.into_iter().map(|((a, b, c), d)| (a, b, c, d)).collect()
    };
    let mut want_totals: BTreeMap<(i64, String), (Vec<String>, i64)> = BTreeMap::new();
    for ((day, a, e), n) in &want_days {
        let t = want_totals.entry((*day, a.clone())).or_default();
        t.0.push(e.clone());
        t.1 += n;
    }
    let want_totals = want_totals
        .into_iter()
        .map(|((day, a), (mut seen, n))| {
            seen.sort();
            (day, a, seen.join(","), n)
        })
        .collect();
    [
        (days, users, first, totals),
        (
            flat(want_days),
            flat(want_users),
            flat(want_first),
            want_totals,
        ),
    ]
}

#[tokio::test]
async fn usage_rollups_follow_every_write_of_events() {
    use tenure_store::api::Scope;
    use tenure_store::ingest::{Incoming, Message};
    let db = test_db().await;
    let store = &db.store;
    fixture(store).await;
    // Day edges, a day before 1970, bit 63 of a block (1970-01-01 + 63 days
    // is 1970-03-05) and a user active across two blocks.
    import(
        store,
        Kind::Events,
        "edges.csv",
        "timestamp,account_id,user_id,event\n\
         1969-12-31T23:59:59Z,a1,old,login\n\
         1970-03-05T12:00:00Z,a1,old,login\n\
         1970-03-06T00:00:00Z,a1,old,login\n\
         2025-03-01T23:59:59.999999Z,a2,u1,login\n\
         2025-03-02T00:00:00Z,a2,u1,login\n\
         2025-03-02T00:00:00Z,a2,u1,report_created\n",
    )
    .await;
    let track = |id: &str, user: &str, day: &str| Incoming {
        message_id: Some(id.to_string()),
        message: Message::Track {
            user_id: user.to_string(),
            event: "login".to_string(),
            properties: None,
            timestamp: format!("{day}T10:00:00Z").parse().unwrap(),
            group_id: Some("a3".to_string()),
        },
    };
    let now = "2025-03-10T00:00:00Z".parse().unwrap();
    store
        .ingest(
            vec![
                track("m1", "u5", "2025-03-03"),
                track("m2", "u5", "2025-03-04"),
            ],
            now,
        )
        .await
        .unwrap();
    // A message seen before adds nothing.
    store
        .ingest(
            vec![
                track("m1", "u5", "2025-03-03"),
                track("m3", "u6", "2025-03-04"),
            ],
            now,
        )
        .await
        .unwrap();
    let [got, want] = rollups(store).await;
    assert_eq!(got, want);
    assert!(got.0.iter().any(|r| r.0 == -1), "a day before 1970");
    assert!(
        got.1.iter().any(|r| r.0 == 0 && r.3 < 0),
        "bit 63 of block 0"
    );
    assert!(got.0.iter().any(|r| r.1 == "a3" && r.3 == 1));
    assert!(
        got.2
            .iter()
            .any(|r| r.1 == "a1" && r.2 == "old" && r.3 == -1),
        "first seen the day before 1970"
    );

    store
        .delete_record(Kind::Accounts, "a2", &Scope::All)
        .await
        .unwrap();
    let [got, want] = rollups(store).await;
    assert_eq!(got, want);
    assert!(got.0.iter().all(|r| r.1 != "a2") && got.1.iter().all(|r| r.1 != "a2"));
    assert!(got.2.iter().all(|r| r.1 != "a2") && got.3.iter().all(|r| r.1 != "a2"));
    assert!(
        got.0.iter().any(|r| r.1 == "a1"),
        "other accounts keep theirs"
    );
}

/// Today's signals read only the tickets, answers and engagements a date
/// can use: check them against values worked out by hand.
#[tokio::test]
async fn one_day_reads_the_tickets_answers_and_engagements_it_needs() {
    let db = test_db().await;
    let store = &db.store;
    fixture(store).await;
    import(
        store,
        Kind::Tickets,
        "t.csv",
        "id,account_id,opened_at,closed_at,priority\n\
         t1,a3,2025-01-01T00:00:00Z,2025-02-27T23:59:59Z,high\n\
         t2,a3,2025-01-01T00:00:00Z,2025-02-28T00:00:00Z,high\n\
         t3,a3,2025-02-01T00:00:00Z,,urgent\n\
         t4,a3,2025-03-01T00:00:00Z,,low\n",
    )
    .await;
    import(
        store,
        Kind::SurveyResponses,
        "s.csv",
        "id,account_id,kind,score,responded_at\n\
         r1,a3,csat,1,2025-01-28T23:59:59Z\n\
         r2,a3,csat,4,2025-01-29T00:00:00Z\n\
         r3,a3,csat,5,2025-02-27T00:00:00Z\n\
         r4,a3,nps,3,2023-01-01T00:00:00Z\n\
         r5,a4,nps,9,2023-01-01T00:00:00Z\n\
         r6,a4,nps,7,2025-02-01T00:00:00Z\n\
         r7,a4,nps,10,2025-03-01T00:00:00Z\n",
    )
    .await;
    import(
        store,
        Kind::Engagements,
        "e.csv",
        "id,account_id,kind,occurred_at\n\
         e1,a3,call,2024-05-01T10:00:00Z\n\
         e2,a3,qbr,2025-02-10T10:00:00Z\n\
         e3,a3,call,2025-03-01T10:00:00Z\n",
    )
    .await;
    let config = parse_config(
        r#"
[[health.measures]]
name = "CSAT"
kind = "csat_average"
window_days = 30
weight = 1
linear = { min = 1, max = 5 }
"#,
    )
    .unwrap();
    let model = HealthModel::new(&config.health);
    let accounts = store.health_accounts().await.unwrap();
    let dates = [d("2025-02-27")];
    let req = SignalsRequest {
        plan: model.plan(),
        currency: &config.currency,
        dates: &dates,
        shard: Shard::split(&accounts, usize::MAX)[0],
        track_payments: false,
    };
    let day = store.load_signals_on(req).await.unwrap();
    let (a3, a4) = (&day[2], &day[3]);
    // t1 closed on the 27th, t2 the day after, t3 open, t4 not yet opened.
    assert_eq!((a3.open_tickets.high, a3.open_tickets.urgent), (1, 1));
    assert_eq!(a3.open_tickets.low, 0);
    // The 30 days to 2025-02-27 start on 2025-01-29.
    assert_eq!((a3.csat[0].sum, a3.csat[0].count), (9.0, 2));
    assert_eq!(a3.latest_nps.as_ref().map(|n| n.score), Some(3.0));
    assert_eq!(a4.latest_nps.as_ref().map(|n| n.score), Some(7.0));
    assert_eq!(a3.last_engagement, Some(d("2025-02-10")));
    assert_eq!(day[0].last_engagement, None);
    // A range of dates sees the same on its first date.
    let dates = [d("2025-02-27"), d("2025-03-01")];
    let table = store
        .load_signals(SignalsRequest {
            dates: &dates,
            ..req
        })
        .await
        .unwrap();
    assert_eq!(table.signals_at(0)[..4], day[..4]);
    let later = &table.signals_at(1)[2];
    assert_eq!(later.open_tickets.low, 1);
    assert_eq!(later.last_engagement, Some(d("2025-03-01")));
}

/// The churn model's choice of event names reads each name's events over
/// a range of whole UTC days, both ends included (docs/CHURN.md).
#[tokio::test]
async fn event_name_totals_count_each_name_in_the_days_given() {
    let db = test_db().await;
    let store = &db.store;
    fixture(store).await;
    import(
        store,
        Kind::Events,
        "more.csv",
        "timestamp,account_id,user_id,event\n\
         2025-02-09T23:59:59Z,a2,u1,login\n\
         2025-02-12T00:00:00Z,a3,u1,login\n\
         2025-02-12T08:00:00Z,a3,u2,login\n\
         2025-02-20T10:00:00Z,a4,u1,login\n",
    )
    .await;
    // report_created: a2 on 02-10..14, a3 on 02-10..17, a4 on 02-10..12.
    let totals = store
        .event_name_totals(d("2025-02-10"), d("2025-02-12"))
        .await
        .unwrap();
    assert_eq!(
        totals,
        [("login".to_string(), 2), ("report_created".to_string(), 9)]
    );
    let all = store
        .event_name_totals(d("2025-01-01"), d("2025-03-01"))
        .await
        .unwrap();
    assert_eq!(
        all,
        [("login".to_string(), 4), ("report_created".to_string(), 16)]
    );
    assert!(
        store
            .event_name_totals(d("2025-03-01"), d("2025-03-31"))
            .await
            .unwrap()
            .is_empty()
    );
}
