//! Tasks worked by hand on a small portfolio: Ann owns a1 and a2, Bo a3.
//! *My tasks* in order with the days overdue; completing logs exactly one
//! engagement of the right kind and day and marks a milestone task's
//! milestone done; snooze, reassign (with the warnings), drop and reopen;
//! bad input named field by field with nothing written; a CSM kept to
//! their own portfolio.

use jiff::Timestamp;
use jiff::civil::Date;
use tenure_app::Error;
use tenure_app::target::plans::milestone_task;
use tenure_app::target::tasks::{
    self, Completion, Edit, LogChoice, NewTask, StatusFilter, TaskFilter, TaskView, Warning,
};
use tenure_core::config::Config;
use tenure_core::model::{Account, Engagement};
use tenure_core::target::plans::{MilestoneStatus, PlanStatus};
use tenure_core::target::tasks::{Priority, TaskSource, TaskStatus};
use tenure_store::api::Scope;
use tenure_store::auth::{NewUser, Role};
use tenure_store::rows::Record;
use tenure_store::target::{Milestone, Plan, TaskQuery};
use tenure_store::testing::test_db;
use tenure_store::{Kind, Store};

const ANN: &str = "ann@x.com";
const BO: &str = "bo@x.com";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

/// The day every test works on.
fn today() -> Date {
    d("2025-06-10")
}

/// 2025-06-10T15:00:00Z: "now" on that day.
fn now() -> Timestamp {
    "2025-06-10T15:00:00Z".parse().unwrap()
}

async fn portfolio(store: &Store) {
    for (id, name, csm) in [
        ("a1", "Acme", Some(ANN)),
        ("a2", "Beta", Some(ANN)),
        ("a3", "Gamma", Some(BO)),
        ("a4", "Nobody's", None),
    ] {
        let mut a = Account::bare(id);
        a.name = name.into();
        a.csm_email = csm.map(str::to_string);
        store
            .create_record(&Record::Account(a), &Scope::All)
            .await
            .unwrap();
    }
}

async fn add(
    store: &Store,
    account: &str,
    title: &str,
    due: Option<&str>,
    priority: &str,
) -> String {
    let new = NewTask {
        account_id: account,
        title,
        due: due.map(d),
        priority,
        ..NewTask::default()
    };
    tasks::add(
        store,
        &Config::default(),
        &Scope::All,
        &new,
        None,
        today(),
        0,
    )
    .await
    .unwrap()
    .task
    .task
    .id
}

fn titles(views: &[TaskView]) -> Vec<(&str, i32)> {
    views
        .iter()
        .map(|v| (v.task.title.as_str(), v.overdue_days))
        .collect()
}

async fn engagements(store: &Store, account: &str) -> Vec<Engagement> {
    store
        .account_records(Kind::Engagements, account)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            Record::Engagement(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn mine(owner: &str) -> TaskFilter {
    TaskFilter {
        owner: Some(owner.into()),
        ..TaskFilter::default()
    }
}

#[tokio::test]
async fn my_tasks_come_overdue_first_with_the_days_overdue() {
    let db = test_db().await;
    let store = &db.store;
    portfolio(store).await;
    add(store, "a1", "later", Some("2025-06-20"), "normal").await;
    add(store, "a2", "none", None, "urgent").await;
    add(store, "a1", "today-low", Some("2025-06-10"), "low").await;
    add(store, "a2", "late-1", Some("2025-06-09"), "urgent").await;
    add(store, "a1", "today-high", Some("2025-06-10"), "high").await;
    add(store, "a1", "late-5", Some("2025-06-05"), "low").await;
    add(store, "a3", "bo's", Some("2025-06-01"), "").await;
    let dropped = add(store, "a1", "dropped", Some("2025-06-01"), "").await;
    tasks::drop_task(store, &Scope::All, &dropped, today())
        .await
        .unwrap();

    // The owner is the account's CSM, compared in any case.
    let views = tasks::list(store, &Scope::All, &mine("ANN@X.com"), today())
        .await
        .unwrap();
    assert_eq!(
        titles(&views),
        [
            ("late-5", 5),
            ("late-1", 1),
            ("today-high", 0),
            ("today-low", 0),
            ("later", 0),
            ("none", 0)
        ]
    );
    assert_eq!(views[0].account_name.as_deref(), Some("Acme"));
    assert_eq!(views[1].task.owner_email.as_deref(), Some(ANN));
    assert_eq!(views[1].task.source, TaskSource::Manual);

    // Two days later, today's are 2 days overdue.
    let views = tasks::list(store, &Scope::All, &mine(ANN), d("2025-06-12"))
        .await
        .unwrap();
    assert_eq!(
        titles(&views)[..4],
        [
            ("late-5", 7),
            ("late-1", 3),
            ("today-high", 2),
            ("today-low", 2)
        ]
    );

    // Every owner; one account; closed ones after the open.
    let all = tasks::list(store, &Scope::All, &TaskFilter::default(), today())
        .await
        .unwrap();
    assert_eq!(titles(&all)[0], ("bo's", 9));
    assert_eq!(all.len(), 7);
    let a1 = TaskFilter {
        account_id: Some("a1".into()),
        status: StatusFilter::All,
        ..TaskFilter::default()
    };
    let views = tasks::list(store, &Scope::All, &a1, today()).await.unwrap();
    assert_eq!(
        titles(&views),
        [
            ("late-5", 5),
            ("today-high", 0),
            ("today-low", 0),
            ("later", 0),
            ("dropped", 0)
        ]
    );

    // A CSM sees their own portfolio only: another's account or task is
    // not found.
    let bo = Scope::Csm(BO.into());
    let views = tasks::list(store, &bo, &TaskFilter::default(), today())
        .await
        .unwrap();
    assert_eq!(titles(&views), [("bo's", 9)]);
    assert!(matches!(
        tasks::list(store, &bo, &a1, today()).await,
        Err(Error::NotFound(_))
    ));
    let anns = &all[1].task.id;
    assert!(matches!(
        tasks::get(store, &bo, anns, today()).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        tasks::list(store, &Scope::All, &mine("not an email"), today()).await,
        Err(Error::Invalid(m)) if m.starts_with("owner: ")
    ));
}

#[tokio::test]
async fn completing_logs_one_engagement_and_marks_the_milestone_done() {
    let db = test_db().await;
    let store = &db.store;
    let config = Config::default();
    portfolio(store).await;
    let new = NewTask {
        account_id: "a1",
        title: "Call the sponsor",
        due: Some(d("2025-06-08")),
        log_kind: "CALL",
        ..NewTask::default()
    };
    let added = tasks::add(store, &config, &Scope::All, &new, None, today(), 1)
        .await
        .unwrap();
    let id = added.task.task.id.clone();
    assert_eq!(added.task.task.log_kind.as_deref(), Some("call"));

    // By default, an engagement of the task's kind, dated today, by the
    // owner, with the task's title as notes.
    let done = tasks::complete(
        store,
        &config,
        &Scope::All,
        &id,
        &Completion::default(),
        today(),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(done.task.status, TaskStatus::Done);
    assert_eq!(done.task.completed_on, Some(today()));
    assert_eq!(done.overdue_days, 0);
    let logged = engagements(store, "a1").await;
    assert_eq!(logged.len(), 1);
    let e = &logged[0];
    assert_eq!(
        (
            e.kind.as_str(),
            e.occurred_at,
            e.csm_email.as_deref(),
            e.notes.as_deref()
        ),
        ("call", now(), Some(ANN), Some("Call the sponsor"))
    );
    assert_eq!(done.task.engagement_id.as_deref(), Some(e.id.as_str()));

    // Done already: refused, and nothing more logged.
    let again = tasks::complete(
        store,
        &config,
        &Scope::All,
        &id,
        &Completion::default(),
        today(),
        now(),
    )
    .await;
    assert!(matches!(again, Err(Error::Invalid(m)) if m.starts_with("status: ")));
    assert_eq!(engagements(store, "a1").await.len(), 1);
    // The store refuses it too, inside its transaction (a form sent twice).
    let e = engagements(store, "a1").await.remove(0);
    let twice = store
        .complete_task(
            &id,
            today(),
            Some(&Engagement {
                id: "eng_2".into(),
                ..e
            }),
            &Scope::All,
        )
        .await;
    assert!(
        matches!(twice, Err(tenure_store::StoreError::Invalid(_))),
        "{twice:?}"
    );
    assert_eq!(engagements(store, "a1").await.len(), 1);

    // Another kind on an earlier day, by someone else, with notes: noon
    // UTC of that day.
    let other = add(store, "a2", "Quarterly review", None, "").await;
    let c = Completion {
        log: LogChoice::Kind("QBR".into()),
        notes: Some(" Renewal agreed ".into()),
        on: Some(d("2025-06-07")),
        by: Some("Lead@X.com".into()),
    };
    let done = tasks::complete(store, &config, &Scope::All, &other, &c, today(), now())
        .await
        .unwrap();
    assert_eq!(done.task.completed_on, Some(d("2025-06-07")));
    let logged = engagements(store, "a2").await;
    assert_eq!(logged.len(), 1);
    assert_eq!(
        (
            logged[0].kind.as_str(),
            logged[0].occurred_at.to_string(),
            logged[0].csm_email.as_deref(),
            logged[0].notes.as_deref()
        ),
        (
            "qbr",
            "2025-06-07T12:00:00Z".into(),
            Some("lead@x.com"),
            Some("Renewal agreed")
        )
    );

    // Nothing to log: no engagement; notes without one are refused.
    let quiet = add(store, "a2", "Update the CRM", None, "").await;
    let c = Completion {
        log: LogChoice::Nothing,
        notes: Some("done".into()),
        ..Completion::default()
    };
    let r = tasks::complete(store, &config, &Scope::All, &quiet, &c, today(), now()).await;
    assert!(matches!(r, Err(Error::Invalid(m)) if m.starts_with("notes: ")));
    let c = Completion {
        log: LogChoice::Nothing,
        ..Completion::default()
    };
    let done = tasks::complete(store, &config, &Scope::All, &quiet, &c, today(), now())
        .await
        .unwrap();
    assert_eq!(done.task.engagement_id, None);
    assert_eq!(engagements(store, "a2").await.len(), 1);

    // A plan milestone the CSM owns: completing its task marks it done on
    // the day.
    let plan = Plan {
        id: "pln_1".into(),
        account_id: "a3".into(),
        name: "Gamma plan".into(),
        status: PlanStatus::Active,
        started_on: d("2025-06-01"),
        closed_on: None,
        templates: Vec::new(),
    };
    store.create_plan(&plan, &Scope::All, 0).await.unwrap();
    let m = Milestone {
        id: "mst_1".into(),
        plan_id: "pln_1".into(),
        account_id: "a3".into(),
        name: "Kick-off".into(),
        due_on: d("2025-06-08"),
        owner_role: "csm".into(),
        owner_email: Some(BO.into()),
        status: MilestoneStatus::Open,
        done_on: None,
        template: None,
        position: 0,
    };
    let task = milestone_task(&m, d("2025-06-01"));
    store
        .add_milestone(&m, Some(&task), &Scope::All)
        .await
        .unwrap();
    let milestone = |store: &Store| {
        let store = store.clone();
        async move {
            let plans = store
                .plan_details(&Scope::All, Some("a3"), None)
                .await
                .unwrap();
            let m = &plans[0].milestones[0];
            (m.status, m.done_on)
        }
    };
    let bos = tasks::list(store, &Scope::Csm(BO.into()), &mine(BO), today())
        .await
        .unwrap();
    assert_eq!(titles(&bos), [("Kick-off", 2)]);
    assert_eq!(bos[0].task.source, TaskSource::Milestone);
    let c = Completion {
        on: Some(d("2025-06-09")),
        ..Completion::default()
    };
    tasks::complete(
        store,
        &config,
        &Scope::Csm(BO.into()),
        &task.id,
        &c,
        today(),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(
        milestone(store).await,
        (MilestoneStatus::Done, Some(d("2025-06-09")))
    );
    assert!(engagements(store, "a3").await.is_empty());

    // Reopening the task reopens its milestone.
    let v = tasks::reopen(store, &Scope::All, &task.id, today())
        .await
        .unwrap();
    assert_eq!(
        (v.task.status, v.task.completed_on),
        (TaskStatus::Open, None)
    );
    assert_eq!(milestone(store).await, (MilestoneStatus::Open, None));
}

#[tokio::test]
async fn bad_completions_are_named_and_write_nothing() {
    let db = test_db().await;
    let store = &db.store;
    let config = Config::default();
    portfolio(store).await;
    let id = add(store, "a1", "Call", Some("2025-06-01"), "").await;
    for (c, fields) in [
        (
            Completion {
                log: LogChoice::Kind("party".into()),
                on: Some(d("2025-06-11")),
                ..Completion::default()
            },
            vec!["on", "log_kind"],
        ),
        (
            Completion {
                log: LogChoice::Kind("call".into()),
                notes: Some("x".repeat(4001)),
                on: Some(d("2024-01-01")),
                ..Completion::default()
            },
            vec!["on", "notes"],
        ),
    ] {
        let Err(Error::Invalid(m)) =
            tasks::complete(store, &config, &Scope::All, &id, &c, today(), now()).await
        else {
            panic!("{c:?} was accepted");
        };
        let named: Vec<&str> = tasks::problems(&m).iter().map(|p| p.0).collect();
        assert_eq!(named, fields, "{m}");
    }
    // Another portfolio's task is not found, and nothing changed.
    let r = tasks::complete(
        store,
        &config,
        &Scope::Csm(BO.into()),
        &id,
        &Completion::default(),
        today(),
        now(),
    )
    .await;
    assert!(matches!(r, Err(Error::NotFound(_))));
    let t = tasks::get(store, &Scope::All, &id, today()).await.unwrap();
    assert_eq!((t.task.status, t.overdue_days), (TaskStatus::Open, 9));
    assert!(engagements(store, "a1").await.is_empty());
    assert!(matches!(
        tasks::get(store, &Scope::All, "tsk_nope", today()).await,
        Err(Error::NotFound(_))
    ));
}

#[tokio::test]
async fn tasks_are_snoozed_reassigned_dropped_and_reopened() {
    let db = test_db().await;
    let store = &db.store;
    portfolio(store).await;
    let id = add(store, "a1", "Send the deck", Some("2025-06-05"), "high").await;
    let all = &Scope::All;

    // Snooze: after today, at most a year ahead.
    for (until, field) in [("2025-06-10", "until"), ("2026-06-11", "until")] {
        let r = tasks::snooze(store, all, &id, d(until), today()).await;
        assert!(matches!(r, Err(Error::Invalid(m)) if m.starts_with(&format!("{field}: "))));
    }
    let v = tasks::snooze(store, all, &id, d("2026-06-10"), today())
        .await
        .unwrap();
    assert_eq!((v.task.due_on, v.overdue_days), (Some(d("2026-06-10")), 0));
    let v = tasks::snooze(store, all, &id, d("2025-06-13"), today())
        .await
        .unwrap();
    assert_eq!(v.task.due_on, Some(d("2025-06-13")));
    assert!(matches!(
        tasks::snooze(store, &Scope::Csm(BO.into()), &id, d("2025-06-20"), today()).await,
        Err(Error::NotFound(_))
    ));

    // Reassign: without users, any address, no warning.
    assert!(matches!(
        tasks::reassign(store, all, &id, "bo at x", today()).await,
        Err(Error::Invalid(m)) if m.starts_with("owner_email: ")
    ));
    let c = tasks::reassign(store, all, &id, " Carla@X.com ", today())
        .await
        .unwrap();
    assert_eq!(c.task.task.owner_email.as_deref(), Some("carla@x.com"));
    assert_eq!(c.warnings, []);
    // With users: the new owner's standing is said.
    for (email, role, disabled) in [
        (ANN, Role::Csm, false),
        (BO, Role::Csm, false),
        ("vi@x.com", Role::Viewer, false),
        ("gone@x.com", Role::Leader, true),
        ("lead@x.com", Role::Leader, false),
    ] {
        store
            .create_user(
                &NewUser {
                    id: format!("usr-{email}"),
                    email: email.into(),
                    name: None,
                    role,
                    all_accounts: false,
                    password_hash: "x".into(),
                },
                Timestamp::UNIX_EPOCH,
            )
            .await
            .unwrap();
        if disabled {
            store.set_user_disabled(email, true).await.unwrap();
        }
    }
    for (to, warning) in [
        (BO, Some(Warning::OtherPortfolio(BO.into()))),
        (
            "stranger@x.com",
            Some(Warning::NotAUser("stranger@x.com".into())),
        ),
        ("vi@x.com", Some(Warning::ReadOnly("vi@x.com".into()))),
        ("gone@x.com", Some(Warning::Disabled("gone@x.com".into()))),
        ("lead@x.com", None),
        (ANN, None),
    ] {
        let c = tasks::reassign(store, all, &id, to, today()).await.unwrap();
        assert_eq!(c.warnings, warning.into_iter().collect::<Vec<_>>(), "{to}");
        assert_eq!(c.task.task.owner_email.as_deref(), Some(to));
    }

    // Drop, reopen; a done task is not dropped, a dropped one not done.
    let v = tasks::drop_task(store, all, &id, today()).await.unwrap();
    assert_eq!(v.task.status, TaskStatus::Dropped);
    tasks::drop_task(store, all, &id, today()).await.unwrap();
    let r = tasks::complete(
        store,
        &Config::default(),
        all,
        &id,
        &Completion::default(),
        today(),
        now(),
    )
    .await;
    assert!(matches!(r, Err(Error::Invalid(m)) if m.starts_with("status: ")));
    assert!(matches!(
        tasks::snooze(store, all, &id, d("2025-06-20"), today()).await,
        Err(Error::Invalid(m)) if m.starts_with("status: ")
    ));
    let v = tasks::reopen(store, all, &id, today()).await.unwrap();
    assert_eq!(v.task.status, TaskStatus::Open);
    let c = Completion {
        log: LogChoice::Nothing,
        ..Completion::default()
    };
    tasks::complete(store, &Config::default(), all, &id, &c, today(), now())
        .await
        .unwrap();
    assert!(matches!(
        tasks::drop_task(store, all, &id, today()).await,
        Err(Error::Invalid(m)) if m.starts_with("status: ")
    ));
    let v = tasks::reopen(store, all, &id, today()).await.unwrap();
    assert_eq!(
        (v.task.status, v.task.completed_on),
        (TaskStatus::Open, None)
    );
    // Completing is not a status to set: it may log and mark a milestone.
    assert!(matches!(
        tasks::set_status(store, all, &id, TaskStatus::Done, today()).await,
        Err(Error::Invalid(m)) if m.starts_with("status: ")
    ));
}

#[tokio::test]
async fn bad_tasks_are_named_field_by_field_and_nothing_is_written() {
    let db = test_db().await;
    let store = &db.store;
    let config = Config::default();
    portfolio(store).await;
    let long = "x".repeat(201);
    let new = NewTask {
        account_id: "a1",
        title: &long,
        due: Some(d("2024-01-01")),
        owner_email: "ann",
        priority: "soon",
        notes: "a\0b",
        log_kind: "fax",
    };
    let Err(Error::Invalid(m)) =
        tasks::add(store, &config, &Scope::All, &new, None, today(), 0).await
    else {
        panic!("accepted");
    };
    let named: Vec<&str> = tasks::problems(&m).iter().map(|p| p.0).collect();
    assert_eq!(
        named,
        [
            "title",
            "due",
            "priority",
            "notes",
            "log_kind",
            "owner_email"
        ],
        "{m}"
    );
    assert_eq!(
        tasks::problems("title: the title has 201 characters; at most 200; due: x"),
        [
            ("title", "the title has 201 characters; at most 200"),
            ("due", "x")
        ]
    );
    let empty = NewTask::default();
    let Err(Error::Invalid(m)) =
        tasks::add(store, &config, &Scope::All, &empty, None, today(), 0).await
    else {
        panic!("accepted");
    };
    assert_eq!(
        m,
        "account_id: the account is missing; title: the title is empty"
    );
    for (account, scope) in [("nope", Scope::All), ("a1", Scope::Csm(BO.into()))] {
        let new = NewTask {
            account_id: account,
            title: "Call",
            ..NewTask::default()
        };
        let r = tasks::add(store, &config, &scope, &new, None, today(), 0).await;
        assert!(matches!(r, Err(Error::NotFound(_))), "{account} {scope:?}");
    }
    assert!(store.tasks(&TaskQuery::default()).await.unwrap().is_empty());

    // An account without a CSM: the task is its author's.
    let new = NewTask {
        account_id: "a4",
        title: "Find a CSM",
        ..NewTask::default()
    };
    let c = tasks::add(
        store,
        &config,
        &Scope::All,
        &new,
        Some("Lead@X.com"),
        today(),
        0,
    )
    .await
    .unwrap();
    assert_eq!(c.task.task.owner_email.as_deref(), Some("lead@x.com"));
    assert_eq!(c.task.task.priority, Priority::Normal);

    // Edits: the fields that change are checked; nothing is written on a
    // mistake.
    let id = c.task.task.id;
    let bad = Edit {
        title: Some(" ".into()),
        priority: Some("asap".into()),
        owner_email: Some("nobody".into()),
        status: Some(TaskStatus::Done),
        ..Edit::default()
    };
    let Err(Error::Invalid(m)) = tasks::edit(store, &config, &Scope::All, &id, &bad, today()).await
    else {
        panic!("accepted");
    };
    let named: Vec<&str> = tasks::problems(&m).iter().map(|p| p.0).collect();
    assert_eq!(named, ["title", "priority", "owner_email", "status"], "{m}");
    let t = tasks::get(store, &Scope::All, &id, today()).await.unwrap();
    assert_eq!(t.task.title, "Find a CSM");
    let good = Edit {
        title: Some(" Find a CSM today ".into()),
        due: Some(Some(d("2025-06-09"))),
        priority: Some("URGENT".into()),
        notes: Some(Some("ask the leader".into())),
        owner_email: Some(ANN.into()),
        status: Some(TaskStatus::Dropped),
    };
    let c = tasks::edit(store, &config, &Scope::All, &id, &good, today())
        .await
        .unwrap();
    let t = &c.task.task;
    assert_eq!(
        (
            t.title.as_str(),
            t.due_on,
            t.priority,
            t.notes.as_deref(),
            t.owner_email.as_deref(),
            t.status
        ),
        (
            "Find a CSM today",
            Some(d("2025-06-09")),
            Priority::Urgent,
            Some("ask the leader"),
            Some(ANN),
            TaskStatus::Dropped
        )
    );
    let clear = Edit {
        due: Some(None),
        notes: Some(None),
        status: Some(TaskStatus::Open),
        ..Edit::default()
    };
    let c = tasks::edit(store, &config, &Scope::All, &id, &clear, today())
        .await
        .unwrap();
    assert_eq!(
        (c.task.task.due_on, c.task.task.notes, c.task.task.status),
        (None, None, TaskStatus::Open)
    );
}
