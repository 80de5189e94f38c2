//! The CSM KPIs on a portfolio worked by hand: Ann (a1, a2), Bo (a3, a4)
//! and a5 without a CSM, over 2025-04-01..06-30. Each KPI is checked
//! against numbers worked out below, and where another part of Tenure
//! computes the same thing (`tenure metrics`, the cadence report, plan
//! execution and time to value) against it too.

use std::collections::HashMap;

use jiff::civil::Date;
use tenure_app::engage::report::{ReportQuery, report};
use tenure_app::health::Quiet;
use tenure_app::target::kpis::{KpiQuery, KpiRow, Kpis, kpi_history, kpis, kpis_and_history};
use tenure_app::target::plans::{execution_by_account, time_to_value_for};
use tenure_core::config::{Config, parse_config};
use tenure_core::metrics::{Metric, Period};
use tenure_core::model::{
    Account, Contact, Currency, Engagement, Event, Money, Subscription, SurveyKind, SurveyResponse,
    day_number,
};
use tenure_core::target::kpis::{Kpi, Rag};
use tenure_core::target::plans::{MilestoneStatus, PlanStatus};
use tenure_core::target::tasks::{Priority, TaskSource, TaskStatus};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::health::Snapshot;
use tenure_store::rows::Record;
use tenure_store::target::{Milestone, Plan, Task, TemplateApplied};
use tenure_store::testing::test_db;

const CONFIG: &str = r#"
[engage]
engagement_kinds = ["call"]
settle_days = 0

[[engage.tiers]]
name = "high"

[[engage.tiers]]
name = "tech"

[[engage.stages]]
name = "onboarding"
entry = "paying"

[[engage.segments]]
name = "Key"
rule = "mrr >= 100"
tier = "high"

[[engage.segments]]
name = "Rest"
rule = "paying"
tier = "tech"

[[engage.cadence]]
tier = "high"
kind = "call"
every_days = 30

[target]
amber_within = 0.1

[target.kpis]
health_mean = 70
nrr = 1.0
overdue_tasks = 0

[[target.csm]]
email = "bo@x.com"
kpis = { health_mean = 50 }
"#;

const ANN: &str = "ann@x.com";
const BO: &str = "bo@x.com";

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn from() -> Date {
    d("2025-04-01")
}

fn day() -> Date {
    d("2025-06-30")
}

/// The CSM of each account (a1's email is written in another case).
fn csm_of(account: &str) -> Option<&'static str> {
    match account {
        "a1" => Some("Ann@X.com"),
        "a2" => Some(ANN),
        "a3" | "a4" => Some(BO),
        _ => None,
    }
}

/// The portfolio, or only the accounts `keep` says.
///
/// - Subscriptions: a1 100 from 01-01 and 50 more from 05-01; a2 200 from
///   01-01 to 06-01; a3 300 from 01-01; a4 50 from 05-10; a5 400 from
///   02-01, down to 300 from 05-01.
/// - NPS in the period: a1's c1 3 (04-10) then 10 (06-01), c4 9; a2's c2
///   6 and an answer without contact 8; a3's c3 9 (and 0 on 03-15,
///   outside); a5's c5 2. CSAT: a1 5 and 3, a3 4, a5 1.
/// - Events: a1 u1 ×2 on 06-10 and u2 on 06-20, u1 ×4 on 05-15; a3 u3 on
///   06-05, u3 and u4 on 05-10; a5 u5 ×2 on 06-12.
/// - Calls: a1 05-15; a2 04-05; a3 04-20 and 06-10.
async fn portfolio(store: &Store, keep: &dyn Fn(&str) -> bool) {
    let mut records = Vec::new();
    for id in ["a1", "a2", "a3", "a4", "a5"] {
        let mut a = Account::bare(id);
        a.csm_email = csm_of(id).map(str::to_string);
        records.push(Record::Account(a));
    }
    for (id, account, mrr, start, end) in [
        ("s1", "a1", 100, "2025-01-01", None),
        ("s1b", "a1", 50, "2025-05-01", None),
        ("s2", "a2", 200, "2025-01-01", Some("2025-06-01")),
        ("s3", "a3", 300, "2025-01-01", None),
        ("s4", "a4", 50, "2025-05-10", None),
        ("s5", "a5", 400, "2025-02-01", Some("2025-05-01")),
        ("s5b", "a5", 300, "2025-05-01", None),
    ] {
        records.push(Record::Subscription(Subscription {
            id: id.into(),
            account_id: account.into(),
            mrr: Money::new(mrr * 100, Currency::USD),
            plan: None,
            seats: None,
            start_date: d(start),
            end_date: end.map(d),
            renewal_date: None,
        }));
    }
    for (id, account) in [
        ("c1", "a1"),
        ("c4", "a1"),
        ("c2", "a2"),
        ("c3", "a3"),
        ("c5", "a5"),
    ] {
        records.push(Record::Contact(Contact {
            id: id.into(),
            account_id: account.into(),
            email: format!("{id}@customer.com"),
            name: None,
            role: None,
            champion: None,
            left_on: None,
        }));
    }
    for (id, account, contact, kind, score, when) in [
        (
            "r1",
            "a1",
            Some("c1"),
            SurveyKind::Nps,
            3,
            "2025-04-10T09:00:00Z",
        ),
        (
            "r2",
            "a1",
            Some("c1"),
            SurveyKind::Nps,
            10,
            "2025-06-01T09:00:00Z",
        ),
        (
            "r3",
            "a1",
            Some("c4"),
            SurveyKind::Nps,
            9,
            "2025-05-05T09:00:00Z",
        ),
        (
            "r4",
            "a2",
            Some("c2"),
            SurveyKind::Nps,
            6,
            "2025-05-01T09:00:00Z",
        ),
        ("r5", "a2", None, SurveyKind::Nps, 8, "2025-05-02T09:00:00Z"),
        (
            "r6",
            "a3",
            Some("c3"),
            SurveyKind::Nps,
            9,
            "2025-06-15T09:00:00Z",
        ),
        (
            "r7",
            "a3",
            Some("c3"),
            SurveyKind::Nps,
            0,
            "2025-03-15T09:00:00Z",
        ),
        (
            "r8",
            "a5",
            Some("c5"),
            SurveyKind::Nps,
            2,
            "2025-04-20T09:00:00Z",
        ),
        (
            "r9",
            "a1",
            None,
            SurveyKind::Csat,
            5,
            "2025-05-01T09:00:00Z",
        ),
        (
            "r10",
            "a1",
            None,
            SurveyKind::Csat,
            3,
            "2025-05-02T09:00:00Z",
        ),
        (
            "r11",
            "a3",
            None,
            SurveyKind::Csat,
            4,
            "2025-06-01T09:00:00Z",
        ),
        (
            "r12",
            "a5",
            None,
            SurveyKind::Csat,
            1,
            "2025-04-15T09:00:00Z",
        ),
    ] {
        records.push(Record::SurveyResponse(SurveyResponse {
            id: id.into(),
            account_id: account.into(),
            contact_id: contact.map(str::to_string),
            kind,
            score,
            responded_at: at(when),
            comment: None,
        }));
    }
    let mut n = 0;
    for (account, user, times, when) in [
        ("a1", "u1", 2, "2025-06-10T10:00:00Z"),
        ("a1", "u2", 1, "2025-06-20T10:00:00Z"),
        ("a1", "u1", 4, "2025-05-15T10:00:00Z"),
        ("a3", "u3", 1, "2025-06-05T10:00:00Z"),
        ("a3", "u3", 1, "2025-05-10T10:00:00Z"),
        ("a3", "u4", 1, "2025-05-10T11:00:00Z"),
        ("a5", "u5", 2, "2025-06-12T10:00:00Z"),
    ] {
        for _ in 0..times {
            n += 1;
            records.push(Record::Event(Event {
                timestamp: at(when),
                account_id: account.into(),
                user_id: user.into(),
                event: "login".into(),
                properties: None,
                message_id: Some(format!("m{n}")),
            }));
        }
    }
    for (id, account, when) in [
        ("e1", "a1", "2025-05-15T10:00:00Z"),
        ("e2", "a2", "2025-04-05T10:00:00Z"),
        ("e3", "a3", "2025-04-20T10:00:00Z"),
        ("e4", "a3", "2025-06-10T10:00:00Z"),
    ] {
        records.push(Record::Engagement(Engagement {
            id: id.into(),
            account_id: account.into(),
            kind: "call".into(),
            occurred_at: at(when),
            csm_email: None,
            notes: None,
        }));
    }
    let account_of = |r: &Record| -> String {
        match r {
            Record::Account(a) => a.id.clone(),
            Record::Subscription(s) => s.account_id.clone(),
            Record::Contact(c) => c.account_id.clone(),
            Record::SurveyResponse(s) => s.account_id.clone(),
            Record::Event(e) => e.account_id.clone(),
            Record::Engagement(e) => e.account_id.clone(),
            Record::Ticket(t) => t.account_id.clone(),
        }
    };
    for r in records.iter().filter(|r| keep(&account_of(r))) {
        store.create_record(r, &Scope::All).await.unwrap();
    }
}

/// Health snapshots: on 06-30 a1 80, a3 60, a4 40, a5 90; on 05-31 a1
/// 70, a2 50, a5 85; on 05-29 a3 66.
async fn snapshots(store: &Store, keep: &dyn Fn(&str) -> bool) {
    let list: Vec<Snapshot> = [
        ("a1", "2025-06-30", 80.0),
        ("a3", "2025-06-30", 60.0),
        ("a4", "2025-06-30", 40.0),
        ("a5", "2025-06-30", 90.0),
        ("a1", "2025-05-31", 70.0),
        ("a2", "2025-05-31", 50.0),
        ("a5", "2025-05-31", 85.0),
        ("a3", "2025-05-29", 66.0),
    ]
    .into_iter()
    .filter(|(a, _, _)| keep(a))
    .map(|(a, day, score)| Snapshot {
        account_id: a.into(),
        day: d(day),
        score: Some(score),
        band: None,
        computed: Some(score),
        override_id: None,
        scorecard_version: "test".into(),
        measures: Vec::new(),
    })
    .collect();
    store.write_snapshots(&list, 0).await.unwrap();
}

/// Plans: a1's milestones due 04-15 (done 04-10), 05-15 (done late on
/// 05-20), 06-15 (open), 07-15 (open, after the period) and 05-01
/// (dropped); a3's due 06-01, done that day.
async fn plans(store: &Store, keep: &dyn Fn(&str) -> bool) {
    let mut applied = Vec::new();
    for (account, list) in [
        (
            "a1",
            vec![
                ("2025-04-15", MilestoneStatus::Done, Some("2025-04-10")),
                ("2025-05-15", MilestoneStatus::Done, Some("2025-05-20")),
                ("2025-06-15", MilestoneStatus::Open, None),
                ("2025-07-15", MilestoneStatus::Open, None),
                ("2025-05-01", MilestoneStatus::Dropped, None),
            ],
        ),
        (
            "a3",
            vec![("2025-06-01", MilestoneStatus::Done, Some("2025-06-01"))],
        ),
    ] {
        if !keep(account) {
            continue;
        }
        let plan_id = format!("p-{account}");
        applied.push(TemplateApplied {
            new_plan: Some(Plan {
                id: plan_id.clone(),
                account_id: account.into(),
                name: "plan".into(),
                status: PlanStatus::Active,
                started_on: d("2025-04-01"),
                closed_on: None,
                templates: Vec::new(),
            }),
            plan_id: plan_id.clone(),
            template: "hand".into(),
            applied_on: d("2025-04-01"),
            goals: Vec::new(),
            milestones: list
                .into_iter()
                .enumerate()
                .map(|(i, (due, status, done))| Milestone {
                    id: format!("m-{account}-{i}"),
                    plan_id: plan_id.clone(),
                    account_id: account.into(),
                    name: format!("milestone {i}"),
                    due_on: d(due),
                    owner_role: "csm".into(),
                    owner_email: None,
                    status,
                    done_on: done.map(d),
                    template: None,
                    position: i as i64,
                })
                .collect(),
            tasks: Vec::new(),
        });
    }
    store.apply_templates(&applied, 0).await.unwrap();
}

/// Tasks: Ann's due 06-20 (open, made 06-01); Ann's (in capitals) due
/// 06-01, done 06-25; Bo's due 05-20 (open, made 05-01); nobody's due
/// 06-10 (open); Bo's due 06-05, dropped.
async fn tasks(store: &Store, keep: &dyn Fn(&str) -> bool) {
    for (id, account, owner, due, status, done, made) in [
        (
            "t1",
            "a1",
            Some(ANN),
            "2025-06-20",
            TaskStatus::Open,
            None,
            "2025-06-01",
        ),
        (
            "t2",
            "a2",
            Some("ANN@x.com"),
            "2025-06-01",
            TaskStatus::Done,
            Some("2025-06-25"),
            "2025-05-01",
        ),
        (
            "t3",
            "a3",
            Some(BO),
            "2025-05-20",
            TaskStatus::Open,
            None,
            "2025-05-01",
        ),
        (
            "t4",
            "a5",
            None,
            "2025-06-10",
            TaskStatus::Open,
            None,
            "2025-05-01",
        ),
        (
            "t5",
            "a4",
            Some(BO),
            "2025-06-05",
            TaskStatus::Dropped,
            None,
            "2025-05-01",
        ),
    ] {
        if !keep(account) {
            continue;
        }
        let task = Task {
            id: id.into(),
            account_id: account.into(),
            title: id.into(),
            owner_email: owner.map(str::to_string),
            due_on: Some(d(due)),
            status,
            priority: Priority::Normal,
            source: TaskSource::Manual,
            source_id: None,
            notes: None,
            log_kind: None,
            engagement_id: None,
            created_at: i64::from(day_number(d(made))) * tenure_core::model::MICROS_PER_DAY,
            completed_on: done.map(d),
        };
        store.create_task(&task, &Scope::All).await.unwrap();
    }
}

/// The whole fixture, with the stage and segment runs recorded day by
/// day over the period as the daily job does.
async fn fixture(store: &Store, config: &Config, keep: &dyn Fn(&str) -> bool) {
    portfolio(store, keep).await;
    snapshots(store, keep).await;
    plans(store, keep).await;
    tasks(store, keep).await;
    tenure_app::engage::rebuild(store, config, from(), day(), &Quiet)
        .await
        .unwrap();
}

fn value(row: &KpiRow, kpi: Kpi) -> Option<f64> {
    let c = row.cells[kpi.index()];
    assert_eq!(c.kpi, kpi);
    c.value
}

#[track_caller]
fn close(got: Option<f64>, want: f64, what: &str) {
    let g = got.unwrap_or_else(|| panic!("{what}: no value, want {want}"));
    assert!((g - want).abs() < 1e-9, "{what}: got {g}, want {want}");
}

fn row<'a>(k: &'a Kpis, csm: &str) -> &'a KpiRow {
    k.csm(csm).unwrap_or_else(|| panic!("no row for {csm}"))
}

#[tokio::test]
async fn every_kpi_of_two_csms_and_the_team_worked_by_hand() {
    let db = test_db().await;
    let store = &db.store;
    let config = parse_config(CONFIG).unwrap();
    fixture(store, &config, &|_| true).await;
    let k = kpis(store, &config, &KpiQuery::last_days(day(), None))
        .await
        .unwrap();
    assert_eq!((k.from, k.day), (d("2025-04-02"), day()));
    // The period of the rest of the test: 04-01..06-30.
    let q = KpiQuery {
        day: day(),
        from: from(),
        csm: None,
    };
    let k = kpis(store, &config, &q).await.unwrap();
    let names: Vec<Option<&str>> = k.csms.iter().map(|r| r.csm.as_deref()).collect();
    assert_eq!(names, [Some(ANN), Some(BO)], "one row per CSM, any case");
    let (ann, bo, team) = (row(&k, ANN), row(&k, BO), &k.team);
    assert_eq!((ann.members, bo.members, team.members), (2, 2, 5));

    // Customers on 06-30: a1 (a2 stopped on 06-01); a3, a4; and a5.
    // ARR: a1 150, a3 300, a4 50, a5 300 a month.
    for (r, accounts, arr) in [(ann, 1.0, 1800.0), (bo, 2.0, 4200.0), (team, 4.0, 9600.0)] {
        assert_eq!(value(r, Kpi::Accounts), Some(accounts));
        assert_eq!(value(r, Kpi::Arr), Some(arr));
    }

    // Health on 06-30 (a2 was not scored) and against 30 days before
    // (05-28..05-31): a1 80 − 70, a3 60 − 66, a4 none, a5 90 − 85.
    close(value(ann, Kpi::HealthMean), 80.0, "Ann's health");
    close(value(ann, Kpi::HealthTrend30d), 10.0, "Ann's trend");
    close(value(bo, Kpi::HealthMean), 50.0, "Bo's health");
    close(value(bo, Kpi::HealthTrend30d), -6.0, "Bo's trend");
    close(value(team, Kpi::HealthMean), 67.5, "team health");
    close(value(team, Kpi::HealthTrend30d), 3.0, "team trend");

    // Usage, 06-01..06-30 against 05-02..05-31: Ann 2 users (1 before),
    // 3 events (4); Bo 1 user (2), 1 event (2); a5 1 user, 2 events (none
    // before).
    close(value(ann, Kpi::ActiveUsersTrend), 1.0, "Ann's users");
    close(value(ann, Kpi::EventsTrend), -0.25, "Ann's events");
    close(value(bo, Kpi::ActiveUsersTrend), -0.5, "Bo's users");
    close(value(bo, Kpi::EventsTrend), -0.5, "Bo's events");
    close(value(team, Kpi::ActiveUsersTrend), 1.0 / 3.0, "team users");
    close(value(team, Kpi::EventsTrend), 0.0, "team events");

    // NPS: Ann's answers c1 10 (its latest), c4 9, c2 6 and 8: (2 − 1) ÷ 4;
    // Bo's c3 9; the team's also a5's 2: (3 − 2) ÷ 6. CSAT: Ann 1 of 2,
    // Bo 1 of 1, the team 2 of 4.
    close(value(ann, Kpi::Nps), 25.0, "Ann's NPS");
    close(value(bo, Kpi::Nps), 100.0, "Bo's NPS");
    close(value(team, Kpi::Nps), 100.0 / 6.0, "team NPS");
    close(value(ann, Kpi::Csat), 0.5, "Ann's CSAT");
    close(value(bo, Kpi::Csat), 1.0, "Bo's CSAT");
    close(value(team, Kpi::Csat), 0.5, "team CSAT");

    // Retention of the accounts paying on 03-31: Ann a1 100 and a2 200,
    // 150 and 0 at the end; Bo a3 300 (a4 came later); the team also a5,
    // 400 down to 300.
    close(value(ann, Kpi::Nrr), 0.5, "Ann's NRR");
    close(value(ann, Kpi::Grr), 1.0 / 3.0, "Ann's GRR");
    close(value(bo, Kpi::Nrr), 1.0, "Bo's NRR");
    close(value(bo, Kpi::Grr), 1.0, "Bo's GRR");
    close(value(team, Kpi::Nrr), 0.75, "team NRR");
    close(value(team, Kpi::Grr), 0.7, "team GRR");

    // Milestones due in the period: a1's 04-15 on time, 05-15 late, 06-15
    // missed (07-15 after it, the dropped one left out); a3's on time.
    close(value(ann, Kpi::PlanExecution), 1.0 / 3.0, "Ann's execution");
    close(value(bo, Kpi::PlanExecution), 1.0, "Bo's execution");
    close(value(team, Kpi::PlanExecution), 0.5, "team execution");

    // Calls every 30 days in Key (high touch), from 04-01: a1 on time
    // 04-01..05-01 and 05-15..06-14, 62 of 91 days; a2 04-01..05-05 of its
    // 61 days in Key (it left on 06-01), 35; a3 04-01..04-19,
    // 04-20..05-20 and 06-10..06-30, 71 of 91; a5 04-01..05-01, 31 of 91.
    close(
        value(ann, Kpi::CadenceCompliance),
        97.0 / 152.0,
        "Ann's cadence",
    );
    close(
        value(bo, Kpi::CadenceCompliance),
        71.0 / 91.0,
        "Bo's cadence",
    );
    close(
        value(team, Kpi::CadenceCompliance),
        199.0 / 334.0,
        "team cadence",
    );

    // Overdue on 06-30: Ann's t1, Bo's t3, nobody's t4.
    assert_eq!(value(ann, Kpi::OverdueTasks), Some(1.0));
    assert_eq!(value(bo, Kpi::OverdueTasks), Some(1.0));
    assert_eq!(value(team, Kpi::OverdueTasks), Some(3.0));

    // Time to value: a1 paid from 01-01 and did a milestone on 04-10, 99
    // days; a3 from 01-01 to 06-01, 151 days.
    assert_eq!(value(ann, Kpi::TimeToValueDays), Some(99.0));
    assert_eq!(value(bo, Kpi::TimeToValueDays), Some(151.0));
    assert_eq!(value(team, Kpi::TimeToValueDays), Some(125.0));

    // Against the targets: health 70 (Bo's own 50), NRR 1.0, no overdue
    // task; 10 % of the target is amber.
    let rag = |r: &KpiRow, kpi: Kpi| (r.cells[kpi.index()].target, r.cells[kpi.index()].rag);
    assert_eq!(rag(ann, Kpi::HealthMean), (Some(70.0), Some(Rag::Green)));
    assert_eq!(rag(bo, Kpi::HealthMean), (Some(50.0), Some(Rag::Green)));
    assert_eq!(rag(team, Kpi::HealthMean), (Some(70.0), Some(Rag::Amber)));
    assert_eq!(rag(ann, Kpi::Nrr), (Some(1.0), Some(Rag::Red)));
    assert_eq!(rag(bo, Kpi::Nrr), (Some(1.0), Some(Rag::Green)));
    assert_eq!(rag(team, Kpi::OverdueTasks), (Some(0.0), Some(Rag::Red)));
    assert_eq!(rag(ann, Kpi::OverdueTasks), (Some(0.0), Some(Rag::Amber)));
    assert_eq!(rag(ann, Kpi::Arr), (None, None));
}

#[tokio::test]
async fn kpis_equal_what_the_rest_of_tenure_computes() {
    let db = test_db().await;
    let store = &db.store;
    let config = parse_config(CONFIG).unwrap();
    fixture(store, &config, &|_| true).await;
    let q = KpiQuery {
        day: day(),
        from: from(),
        csm: None,
    };
    let k = kpis(store, &config, &q).await.unwrap();

    // The team is `tenure metrics` over the same period.
    let period = Period::new(from(), day()).unwrap();
    let m = tenure_app::metrics::compute(store, &config, period, None)
        .await
        .unwrap();
    let r = m.dataset.report(period, &m.settings, Some(&m.usage));
    for (kpi, metric) in [
        (Kpi::Nps, Metric::Nps),
        (Kpi::Csat, Metric::Csat),
        (Kpi::Grr, Metric::Grr),
        (Kpi::Nrr, Metric::Nrr),
        (Kpi::Arr, Metric::ArrEnd),
    ] {
        assert_eq!(value(&k.team, kpi), r.get(metric), "{kpi}");
    }

    // Cadence compliance is the cadence report's, by CSM (which keeps the
    // two spellings of Ann's address apart).
    let cadence = report(
        store,
        &config,
        &ReportQuery {
            day: day(),
            from: from(),
            csm: None,
        },
    )
    .await
    .unwrap();
    let mut by: HashMap<String, (u32, u32)> = HashMap::new();
    for r in &cadence.by_csm {
        let e = by.entry(r.key.to_ascii_lowercase()).or_default();
        e.0 += r.compliance.on_time_days;
        e.1 += r.compliance.days;
    }
    for csm in [ANN, BO] {
        let (on, days) = by[csm];
        close(
            value(row(&k, csm), Kpi::CadenceCompliance),
            f64::from(on) / f64::from(days),
            csm,
        );
    }
    let all = cadence.compliance;
    close(
        value(&k.team, Kpi::CadenceCompliance),
        f64::from(all.on_time_days) / f64::from(all.days),
        "team cadence",
    );

    // Plan execution and time to value, account by account.
    let exec = execution_by_account(store, from(), day()).await.unwrap();
    let ann = ["a1", "a2"]
        .iter()
        .filter_map(|a| exec.get(*a))
        .fold((0, 0), |(o, d), e| (o + e.on_time, d + e.due));
    close(
        value(row(&k, ANN), Kpi::PlanExecution),
        ann.0 as f64 / ann.1 as f64,
        "Ann's execution",
    );
    for (scope, r) in [
        (Scope::All, &k.team),
        (Scope::Csm(ANN.into()), row(&k, ANN)),
        (Scope::Csm(BO.into()), row(&k, BO)),
    ] {
        let ttv = time_to_value_for(store, &scope, day()).await.unwrap();
        assert_eq!(value(r, Kpi::TimeToValueDays), ttv.median_days, "{scope:?}");
    }
}

#[tokio::test]
async fn a_one_csm_portfolio_equals_tenure_metrics() {
    let db = test_db().await;
    let store = &db.store;
    let config = parse_config(CONFIG).unwrap();
    let bo = |a: &str| csm_of(a) == Some(BO);
    fixture(store, &config, &bo).await;
    let q = KpiQuery {
        day: day(),
        from: from(),
        csm: None,
    };
    let k = kpis(store, &config, &q).await.unwrap();
    let period = Period::new(from(), day()).unwrap();
    let m = tenure_app::metrics::compute(store, &config, period, None)
        .await
        .unwrap();
    let r = m.dataset.report(period, &m.settings, Some(&m.usage));
    let row = row(&k, BO);
    for (kpi, metric) in [
        (Kpi::Nps, Metric::Nps),
        (Kpi::Csat, Metric::Csat),
        (Kpi::Grr, Metric::Grr),
        (Kpi::Nrr, Metric::Nrr),
        (Kpi::Arr, Metric::ArrEnd),
        (Kpi::Accounts, Metric::AccountsEnd),
    ] {
        assert_eq!(value(row, kpi), r.get(metric), "{kpi}");
        assert_eq!(value(&k.team, kpi), r.get(metric), "team {kpi}");
    }
    // Only Bo's row: Ann has no account here.
    assert_eq!(k.csms.len(), 1);
}

#[tokio::test]
async fn one_csm_asked_and_the_monthly_history() {
    let db = test_db().await;
    let store = &db.store;
    let config = parse_config(CONFIG).unwrap();
    fixture(store, &config, &|_| true).await;
    let q = KpiQuery {
        day: day(),
        from: from(),
        csm: Some(" BO@x.com ".into()),
    };
    let (now, months) = kpis_and_history(store, &config, &q, 2).await.unwrap();
    assert_eq!(now.csms.len(), 1);
    let all = kpis(
        store,
        &config,
        &KpiQuery {
            csm: None,
            ..q.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        now.csms[0],
        *row(&all, BO),
        "Bo's row as in the whole table"
    );
    assert_eq!(now.team, all.team);
    // Nobody by that email: an empty portfolio.
    let nobody = kpis(
        store,
        &config,
        &KpiQuery {
            csm: Some("nobody@x.com".into()),
            ..q.clone()
        },
    )
    .await
    .unwrap();
    let r = &nobody.csms[0];
    assert_eq!((r.csm.as_deref(), r.members), (Some("nobody@x.com"), 0));
    assert_eq!(value(r, Kpi::Accounts), Some(0.0));
    assert_eq!(value(r, Kpi::HealthMean), None);

    // May and June, each its own period.
    let spans: Vec<(Date, Date)> = months.iter().map(|m| (m.from, m.day)).collect();
    assert_eq!(
        spans,
        [
            (d("2025-05-01"), d("2025-05-31")),
            (d("2025-06-01"), d("2025-06-30"))
        ]
    );
    let may = kpi_history(store, &config, day(), 2, None).await.unwrap();
    assert_eq!(may[1].csms.len(), 2);
    let may = &may[0];
    // Scored on 05-31: a1 70, a2 50, a5 85 (a3's 05-29 score is not that
    // day's).
    close(value(row(may, ANN), Kpi::HealthMean), 60.0, "Ann in May");
    assert_eq!(value(row(may, BO), Kpi::HealthMean), None, "Bo in May");
    close(
        value(&may.team, Kpi::HealthMean),
        205.0 / 3.0,
        "team in May",
    );
    // Overdue on 05-31: only Bo's t3 (Ann's t1 did not exist yet).
    assert_eq!(value(row(may, ANN), Kpi::OverdueTasks), Some(0.0));
    assert_eq!(value(row(may, BO), Kpi::OverdueTasks), Some(1.0));
    assert_eq!(value(&may.team, Kpi::OverdueTasks), Some(1.0));
    // a3 reached value on 06-01, after May.
    assert_eq!(value(row(may, ANN), Kpi::TimeToValueDays), Some(99.0));
    assert_eq!(value(row(may, BO), Kpi::TimeToValueDays), None);
    // Ann's cohort of 04-30 (a1 100, a2 200) ends May at 150 and 200.
    close(
        value(row(may, ANN), Kpi::Nrr),
        350.0 / 300.0,
        "Ann's May NRR",
    );
    close(value(row(may, ANN), Kpi::Grr), 1.0, "Ann's May GRR");
    // June: a1's milestone due 06-15 missed, a3's on time.
    let june = &months[1];
    assert_eq!(value(&june.csms[0], Kpi::PlanExecution), Some(1.0));
    assert_eq!(june.csms[0].csm.as_deref(), Some(BO));
    close(value(&june.team, Kpi::PlanExecution), 0.5, "team in June");

    // Bad input.
    let err = kpi_history(store, &config, day(), 37, None)
        .await
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    let err = kpis(
        store,
        &config,
        &KpiQuery {
            from: d("2025-07-01"),
            ..q
        },
    )
    .await
    .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
}
