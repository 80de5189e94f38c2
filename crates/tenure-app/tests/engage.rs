//! The daily Engage pass on a small portfolio worked by hand: segments by
//! ARR percentile and a custom attribute, a rule that fails on some
//! accounts, stages with an account going back a stage, the runs recorded,
//! and where a required engagement stands.

use jiff::civil::Date;
use tenure_app::engage::report::{ReportQuery, report};
use tenure_app::engage::{AccountEngage, rebuild, run_day};
use tenure_app::health::{Quiet, recompute};
use tenure_core::config::{Config, parse_config};
use tenure_core::model::add_days;
use tenure_core::model::{Account, Currency, Engagement, Money, Subscription};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::engage::Dimension;
use tenure_store::rows::Record;
use tenure_store::testing::test_db;

const CONFIG: &str = r#"
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

[[engage.segments]]
name = "Sized"
rule = 'attrs.size == "big"'
tier = "high"

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
"#;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

async fn add(store: &Store, r: Record) {
    store.create_record(&r, &Scope::All).await.unwrap();
}

/// a1 pays 100 and renews on 07-15; a2 pays 400; a3 pays 500 and is
/// `size = big`, with a call on 06-25; a4 paid 200 until 05-01.
async fn portfolio(store: &Store) {
    for id in ["a1", "a2", "a3", "a4"] {
        let mut a = Account::bare(id);
        if id == "a3" {
            a.attributes.insert("size".into(), "big".into());
        }
        add(store, Record::Account(a)).await;
    }
    for (id, mrr, end, renewal) in [
        ("a1", 100, None, Some("2025-07-15")),
        ("a2", 400, None, None),
        ("a3", 500, None, None),
        ("a4", 200, Some("2025-05-01"), None),
    ] {
        let sub = Subscription {
            id: format!("s-{id}"),
            account_id: id.into(),
            mrr: Money::new(mrr * 100, Currency::USD),
            plan: None,
            seats: None,
            start_date: d("2025-01-01"),
            end_date: end.map(d),
            renewal_date: renewal.map(d),
        };
        add(store, Record::Subscription(sub)).await;
    }
    let call = Engagement {
        id: "e1".into(),
        account_id: "a3".into(),
        kind: "call".into(),
        occurred_at: "2025-06-25T10:00:00Z".parse().unwrap(),
        csm_email: None,
        notes: None,
    };
    add(store, Record::Engagement(call)).await;
}

/// `(stage, segment, tier)` names of an account.
fn names<'a>(
    config: &'a Config,
    a: &AccountEngage,
) -> (Option<&'a str>, Option<&'a str>, Option<&'a str>) {
    let e = &config.engage;
    (
        a.stage.map(|i| e.journey.0[i].name.as_str()),
        a.segment.map(|i| e.segments.0[i].name.as_str()),
        a.tier.map(|i| e.tiers[i].name.as_str()),
    )
}

fn by_id<'a>(day: &'a [AccountEngage], id: &str) -> &'a AccountEngage {
    day.iter().find(|a| a.account.id == id).unwrap()
}

#[tokio::test]
async fn stages_segments_runs_and_cadence_worked_by_hand() {
    let db = test_db().await;
    let store = &db.store;
    let config = parse_config(CONFIG).unwrap();
    portfolio(store).await;

    let day1 = run_day(store, &config, d("2025-06-30")).await.unwrap();
    let a = &day1.accounts;
    // Paying MRRs 100, 400, 500: percentiles 0, 1/3, 2/3.
    assert_eq!(
        names(&config, by_id(a, "a1")),
        (Some("renewal"), Some("Small"), Some("tech"))
    );
    assert_eq!(
        names(&config, by_id(a, "a2")),
        (Some("onboarding"), Some("Big"), Some("high"))
    );
    assert_eq!(
        names(&config, by_id(a, "a3")),
        (Some("onboarding"), Some("Sized"), Some("high"))
    );
    assert_eq!(
        names(&config, by_id(a, "a4")),
        (Some("churned"), None, None)
    );
    // `attrs.size` is missing on a1, a2 and a4: reported, and the next
    // segment was tried.
    for id in ["a1", "a2", "a4"] {
        let errors = &by_id(a, id).errors;
        assert_eq!(errors.len(), 1, "{id}: {errors:?}");
        assert!(errors[0].starts_with("segment \"Sized\": "), "{errors:?}");
    }
    assert!(by_id(a, "a3").errors.is_empty());
    // Three stage runs and three segment runs opened (a4 has no segment).
    assert_eq!(day1.changes, 7);
    // a3's call on 06-25 makes it due on 07-05; a2 came under the policy
    // today, so it is due on 07-10.
    let standing = |a: &AccountEngage| {
        let (_, s) = &a.cadence[0];
        (s.due, s.overdue_days)
    };
    assert_eq!(standing(by_id(a, "a3")), (d("2025-07-05"), 0));
    assert_eq!(standing(by_id(a, "a2")), (d("2025-07-10"), 0));
    assert!(
        by_id(a, "a1").cadence.is_empty(),
        "tech touch has no policy"
    );

    // The same day again changes nothing.
    assert_eq!(
        run_day(store, &config, d("2025-06-30"))
            .await
            .unwrap()
            .changes,
        0
    );

    // 07-20: a1's renewal date has passed, so it goes back to onboarding;
    // both high-touch accounts are now overdue for a call.
    let day2 = run_day(store, &config, d("2025-07-20")).await.unwrap();
    let a = &day2.accounts;
    assert_eq!(names(&config, by_id(a, "a1")).0, Some("onboarding"));
    assert_eq!(
        day2.changes, 1,
        "a1's stage runs rewritten: renewal closed, onboarding opened"
    );
    assert_eq!(by_id(a, "a1").stage_since, Some(d("2025-07-20")));
    assert_eq!(by_id(a, "a3").stage_since, Some(d("2025-06-30")));
    assert_eq!(standing(by_id(a, "a3")), (d("2025-07-05"), 15));
    assert_eq!(standing(by_id(a, "a2")), (d("2025-07-10"), 10));

    let runs: Vec<(String, Date, Option<Date>)> = store
        .account_engage_runs("a1")
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.dimension == Dimension::Stage)
        .map(|r| (r.name, r.entered_on, r.left_on))
        .collect();
    assert_eq!(
        runs,
        [
            (
                "renewal".to_string(),
                d("2025-06-30"),
                Some(d("2025-07-20"))
            ),
            ("onboarding".to_string(), d("2025-07-20"), None),
        ]
    );
    // The account page's view, from the recorded runs alone.
    let status = tenure_app::engage::account_status(store, &config, "a3", d("2025-07-20"))
        .await
        .unwrap();
    assert_eq!(status.stage, Some(("onboarding".into(), d("2025-06-30"))));
    assert_eq!(
        status.segment,
        Some(("Sized".into(), "high".into(), d("2025-06-30")))
    );
    let (kind, every, s) = &status.cadence[0];
    assert_eq!(
        (kind.as_str(), *every, s.overdue_days, s.last_done),
        ("call", 10, 15, Some(d("2025-06-25")))
    );
    // Deleting an account deletes its runs.
    store
        .delete_record(tenure_store::Kind::Accounts, "a1", &Scope::All)
        .await
        .unwrap();
    assert!(store.account_engage_runs("a1").await.unwrap().is_empty());
}

/// Every recorded run, as `(account, dimension, name, entered, left)`.
async fn all_runs(store: &Store) -> Vec<(String, &'static str, String, Date, Option<Date>)> {
    store
        .engage_runs(None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.account_id,
                r.dimension.as_str(),
                r.name,
                r.entered_on,
                r.left_on,
            )
        })
        .collect()
}

#[tokio::test]
async fn history_rebuilt_over_past_days_equals_the_daily_passes() {
    let config = parse_config(CONFIG).unwrap();
    let (from, to) = (d("2025-06-01"), d("2025-08-31"));
    // One database passes day by day, as the background job does.
    let daily = test_db().await;
    portfolio(&daily.store).await;
    let mut day = from;
    while day <= to {
        recompute(&daily.store, &config, day, day, &Quiet)
            .await
            .unwrap();
        run_day(&daily.store, &config, day).await.unwrap();
        day = add_days(day, 1);
    }
    // The other rebuilds the same days at once.
    let rebuilt = test_db().await;
    portfolio(&rebuilt.store).await;
    recompute(&rebuilt.store, &config, from, to, &Quiet)
        .await
        .unwrap();
    let last = rebuild(&rebuilt.store, &config, from, to, &Quiet)
        .await
        .unwrap();
    assert_eq!(last.day, to);
    let runs = all_runs(&rebuilt.store).await;
    assert_eq!(all_runs(&daily.store).await, runs);
    // a1 renews on 07-15: in renewal from 30 days before until the day
    // after, then back to onboarding.
    let a1: Vec<(&str, Date, Option<Date>)> = runs
        .iter()
        .filter(|r| r.0 == "a1" && r.1 == "stage")
        .map(|r| (r.2.as_str(), r.3, r.4))
        .collect();
    assert_eq!(
        a1,
        [
            ("onboarding", from, Some(d("2025-06-15"))),
            ("renewal", d("2025-06-15"), Some(d("2025-07-16"))),
            ("onboarding", d("2025-07-16"), None),
        ]
    );
    // Rebuilding part of the range again changes nothing.
    let again = rebuild(&daily.store, &config, d("2025-07-01"), to, &Quiet)
        .await
        .unwrap();
    assert_eq!(again.changes, 0);
    assert_eq!(all_runs(&daily.store).await, runs);
}

#[tokio::test]
async fn the_report_reads_funnel_compliance_friction_and_churn_from_the_runs() {
    let db = test_db().await;
    let store = &db.store;
    let config = parse_config(CONFIG).unwrap();
    portfolio(store).await;
    let (from, to) = (d("2025-06-01"), d("2025-08-31"));
    recompute(store, &config, from, to, &Quiet).await.unwrap();
    rebuild(store, &config, from, to, &Quiet).await.unwrap();
    let r = report(
        store,
        &config,
        &ReportQuery {
            day: to,
            from,
            csm: None,
        },
    )
    .await
    .unwrap();
    // Funnel, 06-01 to 08-31: onboarding entered by a1, a2, a3 on 06-01
    // and by a1 again on 07-16; a1 left it once, for renewal, after 14
    // days. Renewal: entered once, left after 31 days, back to onboarding.
    let f = |i: usize| &r.stages[i].funnel;
    assert_eq!((f(0).entered, f(0).advanced, f(0).ended()), (4, 1, 1));
    assert_eq!(
        (f(0).median_days, f(0).conversion()),
        (Some(14.0), Some(1.0))
    );
    assert_eq!((f(1).entered, f(1).went_back, f(1).ended()), (1, 1, 1));
    assert_eq!(f(1).median_days, Some(31.0));
    assert_eq!((f(2).entered, f(2).ended()), (1, 0));
    // On 08-31 a2 and a3 have been in onboarding 91 days, a1 46 days: all
    // past the 30-day target.
    assert_eq!(r.stages[0].row.median_days, Some(91.0));
    assert_eq!(r.stages[0].row.over_target, 3);
    let stuck: Vec<(&str, i64)> = r
        .stuck
        .iter()
        .map(|s| (s.account_id.as_str(), s.days_in_stage))
        .collect();
    assert_eq!(stuck, [("a3", 91), ("a2", 91), ("a1", 46)]);
    let friction: Vec<(&str, usize)> = r
        .friction
        .iter()
        .map(|f| (f.segment.as_deref().unwrap_or("-"), f.over_target))
        .collect();
    assert_eq!(friction, [("Sized", 1), ("Big", 1), ("Small", 1)]);
    // Calls every 10 days for the high tier (a2 Big, a3 Sized) from 06-01,
    // 92 days: a2 never called, on time 06-01..06-11 (11 days); a3 also
    // 06-25..07-05 after its call (22 days).
    let share = |rows: &[tenure_app::engage::report::ComplianceRow], key: &str| {
        let row = rows.iter().find(|x| x.key == key).unwrap();
        (
            row.compliance.on_time_days,
            row.compliance.days,
            row.overdue,
        )
    };
    assert_eq!(share(&r.by_segment, "Big"), (11, 92, 1));
    assert_eq!(share(&r.by_segment, "Sized"), (22, 92, 1));
    assert_eq!(share(&r.by_csm, "(no CSM)"), (33, 184, 2));
    assert_eq!(share(&r.by_account, "a2"), (11, 92, 1));
    assert_eq!(r.by_account[0].key, "a2", "least compliant first");
    assert_eq!((r.compliance.on_time_days, r.compliance.days), (33, 184));
    let overdue: Vec<(&str, i32)> = r
        .overdue
        .iter()
        .map(|o| (o.account_id.as_str(), o.overdue_days))
        .collect();
    assert_eq!(overdue, [("a2", 81), ("a3", 57)]);
    // Churn: on 06-02 Small held a1, Big a2, Sized a3; none churned since
    // (a4 churned before and had no segment).
    let churn: Vec<(u32, u32)> = r
        .segments
        .iter()
        .map(|s| (s.churn.accounts, s.churn.churned))
        .collect();
    assert_eq!(churn, [(1, 0), (1, 0), (1, 0)]);
    // A CSM's report holds only their accounts (none here).
    let mine = report(
        store,
        &config,
        &ReportQuery {
            day: to,
            from,
            csm: Some("nobody@example.com".into()),
        },
    )
    .await
    .unwrap();
    assert_eq!((mine.accounts, mine.overdue.len()), (0, 0));
}

/// Adds a paying account: `mrr` a month from `start`, until `end`
/// (exclusive), renewing on `renewal`.
async fn paying(
    store: &Store,
    id: &str,
    mrr: i64,
    start: Date,
    end: Option<Date>,
    renewal: Option<Date>,
    seats: Option<i64>,
) {
    add(store, Record::Account(Account::bare(id))).await;
    let sub = Subscription {
        id: format!("s-{id}"),
        account_id: id.into(),
        mrr: Money::new(mrr * 100, Currency::USD),
        plan: None,
        seats,
        start_date: start,
        end_date: end,
        renewal_date: renewal,
    };
    add(store, Record::Subscription(sub)).await;
}

/// The default `[engage]` on two companies shaped unlike the demo: a few
/// large enterprise contracts without seats or usage data, and a
/// self-serve business with many tied prices, trials and free sign-ups.
/// Every customer gets a segment and a stage, no rule fails, the top tenth
/// by ARR is strategic, and stages follow each account's dates.
#[tokio::test]
async fn the_default_segments_and_stages_fit_companies_of_other_shapes() {
    let config = Config::default();
    let day = d("2026-06-30");
    let e = &config.engage;
    let name = |a: &AccountEngage| names(&config, a);

    // Enterprise: ten contracts of 2,000 to 20,000 a month, no seats.
    let db = test_db().await;
    let store = &db.store;
    for i in 0..10 {
        let (start, renewal) = match i {
            // Signed ten days ago.
            0 | 9 => (add_days(day, -10), None),
            // Two years in, renewing within the month.
            1 | 5 => (d("2024-06-01"), Some(add_days(day, 20))),
            _ => (d("2025-01-01"), Some(d("2027-01-01"))),
        };
        paying(
            store,
            &format!("e{i}"),
            (i + 1) * 2000,
            start,
            None,
            renewal,
            None,
        )
        .await;
    }
    paying(
        store,
        "gone",
        5000,
        d("2024-01-01"),
        Some(d("2026-03-01")),
        None,
        None,
    )
    .await;
    let got = tenure_app::engage::assign(store, &config, day)
        .await
        .unwrap();
    assert!(got.iter().all(|a| a.errors.is_empty()), "no rule fails");
    let of = |id: &str| name(by_id(&got, id));
    assert_eq!(
        of("e9"),
        (Some("onboarding"), Some("Strategic"), Some("high"))
    );
    assert_eq!(of("e0"), (Some("onboarding"), Some("Scale"), Some("tech")));
    assert_eq!(of("e5"), (Some("renewal"), Some("Growth"), Some("low")));
    assert_eq!(of("e1").0, Some("renewal"));
    assert_eq!(of("e3").0, Some("adoption"));
    assert_eq!(of("gone"), (Some("churned"), None, None));
    let count = |seg: &str| got.iter().filter(|a| name(a).1 == Some(seg)).count();
    assert_eq!(
        (count("Strategic"), count("Growth"), count("Scale")),
        (1, 4, 5)
    );

    // Self-serve: 200 accounts at ten tied prices, 30 trials without a
    // subscription, 20 free sign-ups.
    let db = test_db().await;
    let store = &db.store;
    for i in 0..200i64 {
        let start = add_days(day, -(i as i32));
        paying(
            store,
            &format!("p{i}"),
            20 + (i % 10) * 20,
            start,
            None,
            None,
            Some(1 + i % 5),
        )
        .await;
    }
    for i in 0..30 {
        let mut a = Account::bare(&format!("t{i}"));
        a.trial_start = Some(add_days(day, -5));
        a.trial_end = Some(add_days(day, 9));
        add(store, Record::Account(a)).await;
    }
    for i in 0..20 {
        add(store, Record::Account(Account::bare(&format!("f{i}")))).await;
    }
    let got = tenure_app::engage::assign(store, &config, day)
        .await
        .unwrap();
    assert!(got.iter().all(|a| a.errors.is_empty()), "no rule fails");
    let count = |seg: &str| got.iter().filter(|a| name(a).1 == Some(seg)).count();
    // Ties share a percentile: the top price (a tenth of the paying
    // accounts) is strategic, the next four growth; trials are scale.
    assert_eq!(
        (count("Strategic"), count("Growth"), count("Scale")),
        (20, 80, 130)
    );
    for a in &got {
        let (stage, segment, _) = name(a);
        let id = a.account.id.as_str();
        if id.starts_with('f') {
            assert_eq!((stage, segment), (None, None), "{id}: not a customer");
        } else {
            assert!(
                stage.is_some() && segment.is_some(),
                "{id}: {stage:?} {segment:?}"
            );
        }
        if id.starts_with('t') {
            assert_eq!(stage, Some("onboarding"), "{id}");
        }
    }
    // Every stage the defaults name is reachable on this data except the
    // ones needing scores, NPS or churn.
    let stages: std::collections::BTreeSet<&str> = got
        .iter()
        .filter_map(|a| a.stage.map(|s| e.journey.0[s].name.as_str()))
        .collect();
    assert!(
        stages.contains("onboarding") && stages.contains("adoption"),
        "{stages:?}"
    );
}

#[tokio::test]
async fn a_renamed_stage_and_a_segment_whose_tier_changed_start_new_runs() {
    let config = parse_config(CONFIG).unwrap();
    let db = test_db().await;
    let store = &db.store;
    portfolio(store).await;
    let (from, to) = (d("2025-06-01"), d("2025-06-30"));
    recompute(store, &config, from, to, &Quiet).await.unwrap();
    rebuild(store, &config, from, to, &Quiet).await.unwrap();
    // The stage is renamed and the segment moves to another tier.
    let changed = parse_config(
        &CONFIG
            .replace(r#"name = "onboarding""#, r#"name = "adopting""#)
            .replace(
                "rule = 'attrs.size == \"big\"'\ntier = \"high\"",
                "rule = 'attrs.size == \"big\"'\ntier = \"tech\"",
            ),
    )
    .unwrap();
    assert_ne!(
        changed.engage.segments.0[0].tier,
        config.engage.segments.0[0].tier
    );
    let next = d("2025-07-01");
    recompute(store, &changed, next, next, &Quiet)
        .await
        .unwrap();
    let day = run_day(store, &changed, next).await.unwrap();
    assert_eq!(
        names(&changed, by_id(&day.accounts, "a3")),
        (Some("adopting"), Some("Sized"), Some("tech"))
    );
    let a3_since = by_id(&day.accounts, "a3");
    assert_eq!(
        (a3_since.stage_since, a3_since.segment_since),
        (Some(next), Some(next))
    );
    type Row = (&'static str, String, Option<String>, Date, Option<Date>);
    let runs: Vec<Row> = store
        .account_engage_runs("a3")
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.dimension.as_str(),
                r.name,
                r.tier,
                r.entered_on,
                r.left_on,
            )
        })
        .collect();
    let high = Some("high".to_string());
    let tech = Some("tech".to_string());
    assert_eq!(
        runs,
        [
            ("segment", "Sized".into(), high, from, Some(next)),
            ("segment", "Sized".into(), tech, next, None),
            ("stage", "onboarding".into(), None, from, Some(next)),
            ("stage", "adopting".into(), None, next, None),
        ]
    );
    // The same pass again changes nothing.
    assert_eq!(run_day(store, &changed, next).await.unwrap().changes, 0);
}
