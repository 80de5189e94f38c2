//! Success plans worked by hand: a template applied to the one account it
//! fits, its goals measured from the account's facts, the CSM's milestone
//! task, execution and time to value, a second template added when the
//! account moves stage, edits by hand with their errors, and a CSM kept to
//! their own accounts.

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_app::engage::run_day;
use tenure_app::target::plans::{
    GoalDraft, MilestoneDraft, ProvenDraft, Start, add_goal, add_milestone, add_proven_value,
    apply_templates, create_plan, edit_goal, edit_milestone, measure_goals, plan_views,
    time_to_value,
};
use tenure_core::config::parse_config;
use tenure_core::model::{Account, Currency, Money, Subscription};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::rows::Record;
use tenure_store::target::TaskQuery;
use tenure_store::testing::test_db;

const CONFIG: &str = r#"
[engage]
settle_days = 0

[[engage.tiers]]
name = "high"

[[engage.tiers]]
name = "tech"

[[engage.stages]]
name = "onboarding"
entry = "paying"

[[engage.stages]]
name = "renewal"
entry = "paying && days_to_renewal != null && days_to_renewal <= 30"

[[engage.segments]]
name = "Big"
rule = "mrr >= 300"
tier = "high"

[[engage.segments]]
name = "Small"
rule = "paying"
tier = "tech"

[[target.templates]]
name = "Big onboarding"
tiers = ["high"]
stages = ["onboarding"]

[[target.templates.goals]]
name = "Seats bought"
metric = "seats"
target = 20

[[target.templates.goals]]
name = "Sponsor named"
target = 1

[[target.templates.milestones]]
name = "Kick-off"
due_days = 7

[[target.templates.milestones]]
name = "Sponsor sign-off"
due_days = 30
owner = "executive_sponsor"

[[target.templates]]
name = "Renewal"
stages = ["renewal"]

[[target.templates.milestones]]
name = "Renewal call"
due_days = 5
"#;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

/// a1 pays 500 with 10 seats from 2025-01-01 and renews on 2025-05-01
/// (CSM ana); a2 pays 100 (CSM bob).
async fn portfolio(store: &Store) {
    for (id, csm) in [("a1", "ana@example.com"), ("a2", "bob@example.com")] {
        let mut a = Account::bare(id);
        a.csm_email = Some(csm.into());
        store
            .create_record(&Record::Account(a), &Scope::All)
            .await
            .unwrap();
    }
    for (id, mrr, seats, renewal) in [
        ("a1", 500, Some(10), Some("2025-05-01")),
        ("a2", 100, None, None),
    ] {
        let sub = Subscription {
            id: format!("s-{id}"),
            account_id: id.into(),
            mrr: Money::new(mrr * 100, Currency::USD),
            plan: None,
            seats,
            start_date: d("2025-01-01"),
            end_date: None,
            renewal_date: renewal.map(d),
        };
        store
            .create_record(&Record::Subscription(sub), &Scope::All)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_template_becomes_a_plan_whose_goals_and_milestones_are_tracked() {
    let db = test_db().await;
    let store = &db.store;
    let config = parse_config(CONFIG).unwrap();
    portfolio(store).await;

    // 03-01: a1 is Big (high touch) in onboarding; a2 is Small (tech).
    let d0 = d("2025-03-01");
    let day = run_day(store, &config, d0).await.unwrap();
    let applied = apply_templates(store, &config, &day, Start::Today)
        .await
        .unwrap();
    assert_eq!(
        (applied.plans_created, applied.templates, applied.tasks),
        (1, 1, 1)
    );
    // Applying again adds nothing.
    let again = apply_templates(store, &config, &day, Start::Today)
        .await
        .unwrap();
    assert_eq!((again.plans_created, again.templates), (0, 0));
    assert_eq!(measure_goals(store, &day).await.unwrap(), 1);

    let views = plan_views(store, &Scope::All, d0, None, None)
        .await
        .unwrap();
    assert_eq!(views.len(), 1);
    let v = &views[0];
    assert_eq!(v.plan.account_id, "a1");
    assert_eq!(v.plan.templates, ["Big onboarding"]);
    assert_eq!(v.csm_email.as_deref(), Some("ana@example.com"));
    // Seats: 10 of 20, half way; the hand-set goal has no data yet.
    let goals: Vec<(&str, Option<f64>, Option<f64>)> = v
        .goals
        .iter()
        .map(|g| (g.goal.name.as_str(), g.goal.value, g.progress))
        .collect();
    assert_eq!(
        goals,
        [
            ("Seats bought", Some(10.0), Some(0.5)),
            ("Sponsor named", None, None)
        ]
    );
    let ms: Vec<(&str, Date, &str, Option<&str>)> = v
        .milestones
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.due_on,
                m.owner_role.as_str(),
                m.owner_email.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        ms,
        [
            ("Kick-off", d("2025-03-08"), "csm", Some("ana@example.com")),
            (
                "Sponsor sign-off",
                d("2025-03-31"),
                "executive_sponsor",
                None
            ),
        ]
    );
    assert_eq!(v.next, Some(0));

    // The CSM's milestone is their task; completing it on 03-06 marks the
    // milestone done.
    let tasks = store
        .tasks(&TaskQuery {
            owner: Some("ANA@example.com".into()),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        (tasks[0].title.as_str(), tasks[0].due_on),
        ("Kick-off", Some(d("2025-03-08")))
    );
    store
        .complete_task(&tasks[0].id, d("2025-03-06"), None, &Scope::All)
        .await
        .unwrap();
    // The sponsor signs off late, on 04-10; the hand-set goal is met.
    let sponsor = v.milestones[1].id.clone();
    edit_milestone(
        store,
        &Scope::All,
        &sponsor,
        Some("done"),
        Some(d("2025-04-10")),
        None,
        d("2025-04-15"),
    )
    .await
    .unwrap();
    let manual = v.goals[1].goal.id.clone();
    edit_goal(
        store,
        &Scope::All,
        &manual,
        None,
        None,
        Some(Some(1.0)),
        d("2025-04-15"),
    )
    .await
    .unwrap();

    let v = &plan_views(store, &Scope::All, d("2025-04-15"), None, None)
        .await
        .unwrap()[0];
    assert_eq!(v.milestones[0].done_on, Some(d("2025-03-06")));
    assert_eq!(
        (v.execution.due, v.execution.on_time, v.execution.late),
        (2, 1, 1)
    );
    assert_eq!(v.execution.rate(), Some(0.5));
    assert_eq!(v.next, None);
    assert!(v.goals[1].met);
    assert_eq!(v.goals[1].goal.achieved_on, Some(d("2025-04-15")));
    // Time to value: first MRR 01-01, first milestone done 03-06: 64 days.
    let segments = HashMap::from([("a1".to_string(), "Big".to_string())]);
    let ttv = time_to_value(store, d("2025-04-15"), &segments, None)
        .await
        .unwrap();
    let a1 = ttv.accounts.iter().find(|a| a.account_id == "a1").unwrap();
    assert_eq!(a1.days, Some(64));
    assert_eq!(ttv.median_days, Some(64.0));
    let big = ttv.by_segment.iter().find(|g| g.name == "Big").unwrap();
    assert_eq!((big.accounts, big.reached), (1, 1));
    let cohort = &ttv.by_cohort[0];
    assert_eq!(
        (cohort.name.as_str(), cohort.accounts, cohort.reached),
        ("2025-01", 2, 1)
    );
    // Before the milestone was done, a1 had not reached value.
    let early = time_to_value(store, d("2025-03-05"), &segments, None)
        .await
        .unwrap();
    assert_eq!(early.median_days, None);

    // 04-05: a1 renews within 30 days: the renewal template is added to
    // its plan, due from that day.
    let d1 = d("2025-04-05");
    let day = run_day(store, &config, d1).await.unwrap();
    let applied = apply_templates(store, &config, &day, Start::Today)
        .await
        .unwrap();
    assert_eq!(
        (applied.plans_created, applied.templates, applied.tasks),
        (0, 1, 1)
    );
    let v = &plan_views(store, &Scope::All, d1, Some("a1"), None)
        .await
        .unwrap()[0];
    assert_eq!(v.plan.templates, ["Big onboarding", "Renewal"]);
    let renewal = v
        .milestones
        .iter()
        .find(|m| m.name == "Renewal call")
        .unwrap();
    assert_eq!(renewal.due_on, d("2025-04-10"));
}

#[tokio::test]
async fn plans_by_hand_are_checked_and_kept_to_the_csm() {
    let db = test_db().await;
    let store = &db.store;
    let config = parse_config(CONFIG).unwrap();
    portfolio(store).await;
    let today = d("2025-03-01");
    let bob = Scope::Csm("bob@example.com".into());
    // Bob cannot make or see a plan for Ana's account.
    let e = create_plan(store, &bob, "a1", "Plan", today, today)
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "account a1 does not exist");
    let plan = create_plan(store, &Scope::All, "a1", " Expansion ", today, today)
        .await
        .unwrap();
    assert_eq!(plan.name, "Expansion");
    assert!(
        plan_views(store, &bob, today, None, None)
            .await
            .unwrap()
            .is_empty()
    );
    let e = add_goal(
        store,
        &bob,
        &plan.id,
        &GoalDraft {
            name: "Users",
            metric: "active_users_30d",
            target: 10.0,
            at_most: false,
        },
    )
    .await
    .unwrap_err();
    assert!(e.is_bad_input(), "{e}");
    // Bad fields are named.
    let e = add_goal(
        store,
        &Scope::All,
        &plan.id,
        &GoalDraft {
            name: "Users",
            metric: "mau",
            target: 10.0,
            at_most: false,
        },
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().starts_with("metric: unknown metric \"mau\""),
        "{e}"
    );
    let goal = add_goal(
        store,
        &Scope::All,
        &plan.id,
        &GoalDraft {
            name: "Users",
            metric: "active_users_30d",
            target: 10.0,
            at_most: false,
        },
    )
    .await
    .unwrap();
    let e = edit_goal(
        store,
        &Scope::All,
        &goal.id,
        None,
        None,
        Some(Some(3.0)),
        today,
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("measured from active_users_30d"),
        "{e}"
    );
    let draft = |role: &'static str| MilestoneDraft {
        name: "Workshop",
        due: Some(d("2025-03-20")),
        owner_role: role,
        owner_email: "",
    };
    let e = add_milestone(store, &config, &Scope::All, &plan.id, &draft("ceo"), today)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("owner_role: unknown role \"ceo\""),
        "{e}"
    );
    let m = add_milestone(store, &config, &Scope::All, &plan.id, &draft(""), today)
        .await
        .unwrap();
    // Owned by the account's CSM, and so their task.
    assert_eq!(m.owner_email.as_deref(), Some("ana@example.com"));
    let ana = Scope::Csm("ana@example.com".into());
    let tasks = store
        .tasks(&TaskQuery {
            scope: ana.clone(),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].source_id.as_deref(), Some(m.id.as_str()));
    // Bob sees none of them.
    let none = store
        .tasks(&TaskQuery {
            scope: bob.clone(),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let e = edit_milestone(store, &bob, &m.id, Some("done"), None, None, today)
        .await
        .unwrap_err();
    assert!(e.is_bad_input());
    let e = edit_milestone(store, &ana, &m.id, Some("finished"), None, None, today)
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("status: unknown status"), "{e}");
    let e = edit_milestone(
        store,
        &ana,
        &m.id,
        Some("done"),
        Some(d("2025-03-02")),
        None,
        today,
    )
    .await
    .unwrap_err();
    assert_eq!(e.to_string(), "done_on: 2025-03-02 is in the future");
    let e = add_proven_value(
        store,
        &ana,
        &plan.id,
        &ProvenDraft {
            title: "",
            ..ProvenDraft::default()
        },
        today,
    )
    .await
    .unwrap_err();
    assert_eq!(e.to_string(), "title: the title is empty");
    add_proven_value(
        store,
        &ana,
        &plan.id,
        &ProvenDraft {
            title: "Month-end close in 2 days instead of 6",
            evidence: "https://example.com/case",
            delivered_on: Some(d("2025-02-20")),
            confirmed: true,
        },
        today,
    )
    .await
    .unwrap();
    let v = &plan_views(store, &ana, today, None, None).await.unwrap()[0];
    assert_eq!(v.proven.len(), 1);
    assert!(v.proven[0].confirmed);
    // Nothing half-written: the refused edits left the plan as it was.
    assert_eq!(v.goals.len(), 1);
    assert_eq!(v.milestones.len(), 1);
    assert_eq!(v.milestones[0].status.as_str(), "open");
}

#[tokio::test]
async fn a_demo_or_import_dates_plans_from_when_the_account_came_under_the_template() {
    let db = test_db().await;
    let store = &db.store;
    let config = parse_config(CONFIG).unwrap();
    portfolio(store).await;
    // Stage runs from 02-01 on, then the plan made on 03-01 starts 02-01.
    tenure_app::engage::rebuild(
        store,
        &config,
        d("2025-02-01"),
        d("2025-03-01"),
        &tenure_app::health::Quiet,
    )
    .await
    .unwrap();
    let day = run_day(store, &config, d("2025-03-01")).await.unwrap();
    apply_templates(store, &config, &day, Start::Entered)
        .await
        .unwrap();
    let v = &plan_views(store, &Scope::All, d("2025-03-01"), None, None)
        .await
        .unwrap()[0];
    assert_eq!(v.plan.started_on, d("2025-02-01"));
    assert_eq!(v.milestones[0].due_on, d("2025-02-08"));
    // Kick-off was due a week after 02-01 and is not done: overdue.
    assert_eq!(v.overdue, 1);
}

/// An account paying `mrr` from `start`, with `seats` and a renewal.
async fn paying(
    store: &Store,
    id: &str,
    mrr: i64,
    start: Date,
    renewal: Option<Date>,
    seats: Option<i64>,
) {
    store
        .create_record(&Record::Account(Account::bare(id)), &Scope::All)
        .await
        .unwrap();
    let sub = Subscription {
        id: format!("s-{id}"),
        account_id: id.into(),
        mrr: Money::new(mrr * 100, Currency::USD),
        plan: None,
        seats,
        start_date: start,
        end_date: None,
        renewal_date: renewal,
    };
    store
        .create_record(&Record::Subscription(sub), &Scope::All)
        .await
        .unwrap();
}

/// The default templates cover every stage a high-touch account can be in.
async fn every_high_touch_account_has_a_plan(
    store: &Store,
    config: &tenure_core::config::Config,
    day: Date,
) {
    let engage = tenure_app::engage::evaluate(store, config, day)
        .await
        .unwrap();
    let high = config.engage.tiers.iter().position(|t| t.name == "high");
    let with_plan: std::collections::HashSet<String> =
        plan_views(store, &Scope::All, day, None, None)
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.plan.account_id)
            .collect();
    let mut n = 0;
    for a in engage
        .accounts
        .iter()
        .filter(|a| a.tier.is_some() && a.tier == high)
    {
        assert!(
            with_plan.contains(&a.account.id),
            "{} has no plan",
            a.account.id
        );
        n += 1;
    }
    assert!(n > 0, "no high-touch account to check");
}

/// `(template, account)` of every plan, and the values of its goals.
async fn plans_made(store: &Store, day: Date) -> Vec<(String, String, Vec<Option<f64>>)> {
    let mut out: Vec<_> = plan_views(store, &Scope::All, day, None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|v| {
            (
                v.plan.templates.join(","),
                v.plan.account_id.clone(),
                v.goals.iter().map(|g| g.goal.value).collect(),
            )
        })
        .collect();
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

/// The default templates on two companies shaped unlike the demo (as in
/// tests/engage.rs): a few enterprise contracts without seats, and a
/// self-serve business with seats and no usage yet. High-touch accounts
/// get the high-touch plan, renewals the renewal plan, tech-touch accounts
/// none; a goal read from seats the company does not record is "no data".
#[tokio::test]
async fn the_default_templates_fit_companies_of_other_shapes() {
    let config = tenure_core::config::Config::default();
    let day = d("2026-06-30");
    let apply = |store: &Store| {
        let (store, config) = (store.clone(), config.clone());
        async move {
            let engage = tenure_app::engage::evaluate(&store, &config, day)
                .await
                .unwrap();
            apply_templates(&store, &config, &engage, Start::Today)
                .await
                .unwrap();
            measure_goals(&store, &engage).await.unwrap();
        }
    };

    // Enterprise: ten contracts of 2,000 to 20,000 a month, no seats; e9
    // (the largest) signed ten days ago, e5 renews within the month.
    let db = test_db().await;
    let store = &db.store;
    for i in 0..10i64 {
        let (start, renewal) = match i {
            0 | 9 => (tenure_core::model::add_days(day, -10), None),
            5 => (d("2024-06-01"), Some(tenure_core::model::add_days(day, 20))),
            _ => (d("2025-01-01"), Some(d("2027-01-01"))),
        };
        paying(
            store,
            &format!("e{i}"),
            (i + 1) * 2000,
            start,
            renewal,
            None,
        )
        .await;
    }
    apply(store).await;
    let made = plans_made(store, day).await;
    every_high_touch_account_has_a_plan(store, &config, day).await;
    let who: Vec<(&str, &str)> = made.iter().map(|m| (m.0.as_str(), m.1.as_str())).collect();
    // e9 is strategic (high touch) in onboarding; e5 growth (low touch)
    // renewing.
    assert_eq!(who, [("High-touch onboarding", "e9"), ("Renewal", "e5")]);
    // No seats recorded: "Seats in use" has no data (not 0); health has a
    // score.
    assert_eq!(made[0].2[0], None);
    assert!(made[0].2[1].is_some());

    // Self-serve: 200 accounts at ten tied prices with 1–5 seats, started
    // over the last 200 days; no usage recorded yet.
    let db = test_db().await;
    let store = &db.store;
    for i in 0..200i64 {
        let start = tenure_core::model::add_days(day, -(i as i32));
        paying(
            store,
            &format!("p{i}"),
            20 + (i % 10) * 20,
            start,
            None,
            Some(1 + i % 5),
        )
        .await;
    }
    apply(store).await;
    every_high_touch_account_has_a_plan(store, &config, day).await;
    let made = plans_made(store, day).await;
    let count = |t: &str| made.iter().filter(|m| m.0 == t).count();
    // The top price (20 accounts) is high touch, the next four (80) low
    // touch: those still in onboarding (their first 30 days) get the
    // onboarding plans, the high-touch ones past it the adoption plan.
    let high: usize = (0..200).filter(|i| i % 10 == 9).count();
    let onboarding = |i: i64| i < 30;
    let high_onboarding = (0..200).filter(|i| i % 10 == 9 && onboarding(*i)).count();
    let low_onboarding = (0..200)
        .filter(|i| (5..9).contains(&(i % 10)) && onboarding(*i))
        .count();
    assert_eq!(count("High-touch onboarding"), high_onboarding);
    assert_eq!(count("High-touch adoption"), high - high_onboarding);
    assert_eq!(count("Low-touch onboarding"), low_onboarding);
    assert_eq!(
        made.len(),
        high + low_onboarding,
        "tech touch gets none: {made:?}"
    );
    // Seats are known and nobody used the product yet: 0 in use, a real 0.
    let usage: Vec<Option<f64>> = made.iter().map(|m| m.2[0]).collect();
    assert!(usage.iter().all(|u| *u == Some(0.0)), "{usage:?}");
}

/// A small demo company loaded as `tenure demo` loads it, its stages
/// recorded over the last 60 days, then its plans made as the demo makes
/// them.
async fn demo_plans(db: &tenure_store::testing::TestDb) -> tenure_app::target::plans::DemoPlans {
    use tenure_core::demo::{Demo, DemoConfig};
    let end = d("2026-06-30");
    let demo = Demo::new(DemoConfig {
        accounts: 150,
        seed: 5,
        end,
        days: 500,
    });
    let store = &db.store;
    let mut writer = tenure_store::bulk::BulkWriter::default();
    let mut tx = store.pool().begin().await.unwrap();
    for i in 0..demo.len() {
        let b = demo.account(i);
        let recs = std::iter::once(Record::Account(b.account))
            .chain(b.subscriptions.into_iter().map(Record::Subscription))
            .chain(b.survey_responses.into_iter().map(Record::SurveyResponse))
            .chain(b.engagements.into_iter().map(Record::Engagement));
        for r in recs {
            writer.push(&mut tx, &r).await.unwrap();
        }
    }
    writer.flush(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let config = tenure_core::config::Config::default();
    let from = tenure_core::model::add_days(end, -59);
    tenure_app::health::recompute(store, &config, from, end, &tenure_app::health::Quiet)
        .await
        .unwrap();
    let day = tenure_app::engage::rebuild(store, &config, from, end, &tenure_app::health::Quiet)
        .await
        .unwrap();
    tenure_app::target::plans::demo_history(store, &config, 5, from, &day)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_demo_gives_plans_worked_by_its_csms_and_time_to_value_for_every_cohort() {
    let db = test_db().await;
    let made = demo_plans(&db).await;
    let store = &db.store;
    let end = d("2026-06-30");
    assert!(
        made.earlier > 0 && made.applied.plans_created > 0,
        "{made:?}"
    );
    assert!(made.done > 0, "{made:?}");
    let views = plan_views(store, &Scope::All, end, None, None)
        .await
        .unwrap();
    let completed = views
        .iter()
        .filter(|v| v.plan.status.as_str() == "completed")
        .count();
    assert_eq!(completed, made.earlier);
    for v in &views {
        for m in &v.milestones {
            // Nothing is done in the future or before its plan started.
            if let Some(done) = m.done_on {
                assert!(done <= end && done >= v.plan.started_on, "{m:?}");
            }
        }
        if v.plan.status.as_str() == "completed" {
            // Closed plans hold no open milestone.
            assert!(v.milestones.iter().all(|m| m.status.as_str() != "open"));
        }
    }
    // Cohorts older than the 60 recorded days reached value too.
    let ttv = time_to_value(store, end, &HashMap::new(), None)
        .await
        .unwrap();
    let old = ttv
        .by_cohort
        .iter()
        .filter(|c| c.name.as_str() < "2026-05" && c.reached > 0)
        .count();
    assert!(old > 3, "{:?}", ttv.by_cohort);
    // The same seed makes the same plans.
    let again = test_db().await;
    assert_eq!(demo_plans(&again).await, made);
}
