//! Playbooks worked by hand, day by day as the job runs them: enrolment on
//! the trigger with its trace, the schedule of actions (a task and a note
//! on day 0, a task on day 10 only if still matching, one skipped when the
//! trigger no longer holds), an exit rule, re-enrolment after the
//! cooldown, and a dry run that acts on nothing.

use jiff::civil::Date;
use tenure_app::engage::run_day;
use tenure_app::plays::{dry_run, run};
use tenure_core::config::parse_config;
use tenure_core::model::{Account, Currency, Money, Subscription, add_days};
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

[[engage.stages]]
name = "customer"
entry = "paying"

[[engage.segments]]
name = "All"
rule = "paying"
tier = "high"

[[playbooks]]
name = "Renewal near"
trigger = "paying && days_to_renewal != null && days_to_renewal <= 30"
cooldown_days = 60

[[playbooks.actions]]
day = 0
kind = "task"
title = "Renewal call with {{account.name}} ({{days_to_renewal}} days)"
due_days = 3
log_kind = "call"

[[playbooks.actions]]
day = 0
kind = "note"
text = "{{account.name}} renews in {{days_to_renewal}} days."

[[playbooks.actions]]
day = 10
kind = "task"
only_if_matching = true
title = "Still renewing: {{account.name}}"

[[playbooks.actions]]
day = 40
kind = "note"
only_if_matching = true
text = "Not renewed yet"

[[playbooks]]
name = "Small account"
trigger = "paying && mrr < 200"
exit = "mrr >= 300"
cooldown_days = 30

[[playbooks.actions]]
day = 0
kind = "note"
text = "{{account.name}} pays under 200."

[[playbooks.actions]]
day = 30
kind = "task"
title = "Offer {{account.name}} the bigger plan"
owner = "lead@example.com"
priority = "high"
"#;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

async fn sub(
    store: &Store,
    id: &str,
    account: &str,
    mrr: i64,
    start: &str,
    end: Option<&str>,
    renewal: Option<&str>,
) {
    let s = Subscription {
        id: id.into(),
        account_id: account.into(),
        mrr: Money::new(mrr * 100, Currency::USD),
        plan: None,
        seats: None,
        start_date: d(start),
        end_date: end.map(d),
        renewal_date: renewal.map(d),
    };
    store
        .create_record(&Record::Subscription(s), &Scope::All)
        .await
        .unwrap();
}

/// a1 pays 500 and renews on 07-15; a2 pays 100 until 07-01, then 400; a3
/// pays 100 throughout. CSM ann for all.
async fn portfolio(store: &Store) {
    for id in ["a1", "a2", "a3"] {
        let mut a = Account::bare(id);
        a.name = format!("Acct {id}");
        a.csm_email = Some("ann@example.com".into());
        store
            .create_record(&Record::Account(a), &Scope::All)
            .await
            .unwrap();
    }
    sub(
        store,
        "s1",
        "a1",
        500,
        "2025-01-01",
        None,
        Some("2025-07-15"),
    )
    .await;
    sub(
        store,
        "s2",
        "a2",
        100,
        "2025-01-01",
        Some("2025-07-01"),
        None,
    )
    .await;
    sub(store, "s2b", "a2", 400, "2025-07-01", None, None).await;
    sub(store, "s3", "a3", 100, "2025-01-01", None, None).await;
}

/// `(enrolled, exited, why, actions)` of an enrolment.
type Row = (Date, Option<Date>, Option<String>, Vec<(usize, String)>);

#[tokio::test]
async fn playbooks_enrol_act_exit_and_enrol_again_day_by_day() {
    let config = parse_config(CONFIG).unwrap();
    let db = test_db().await;
    let store = &db.store;
    portfolio(store).await;
    let mut day = d("2025-06-10");
    while day <= d("2025-08-31") {
        let engage = run_day(store, &config, day).await.unwrap();
        let out = run(store, &config, &engage).await.unwrap();
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        if day == d("2025-06-20") {
            // A dry run acts on nothing: a3 is already in "Small account".
            let before = store
                .play_enrolments(&Scope::All, None, None)
                .await
                .unwrap();
            let (_, who) = dry_run(store, &config, "Small account", day).await.unwrap();
            let a3 = who.iter().find(|c| c.account_id == "a3").unwrap();
            assert!(!a3.would_enrol);
            assert_eq!(a3.why_not.as_deref(), Some("already enrolled"));
            assert_eq!(
                a3.inputs,
                [
                    ("mrr".to_string(), "100".to_string()),
                    ("paying".to_string(), "true".to_string())
                ]
            );
            let after = store
                .play_enrolments(&Scope::All, None, None)
                .await
                .unwrap();
            assert_eq!(before, after);
        }
        day = add_days(day, 1);
    }
    let all = store
        .play_enrolments(&Scope::All, None, None)
        .await
        .unwrap();
    let of = |account: &str, playbook: &str| -> Vec<Row> {
        all.iter()
            .filter(|e| e.account_id == account && e.playbook == playbook)
            .map(|e| {
                (
                    e.enrolled_on,
                    e.exited_on,
                    e.exit_reason.clone(),
                    e.actions
                        .iter()
                        .map(|a| (a.action, a.result.clone()))
                        .collect(),
                )
            })
            .collect()
    };
    // a1: 30 days before its renewal (06-15) it enrols; day 10 (06-25) it
    // still renews: the second task; day 40 (07-25) it has renewed: the
    // note is skipped and the enrolment ends.
    let done = |i: usize| (i, "done".to_string());
    assert_eq!(
        of("a1", "Renewal near"),
        [(
            d("2025-06-15"),
            Some(d("2025-07-25")),
            Some("finished".to_string()),
            vec![done(0), done(1), done(2), (3, "skipped".to_string())]
        )]
    );
    let trace = all.iter().find(|e| e.account_id == "a1").unwrap();
    assert_eq!(
        trace.trigger,
        "paying && days_to_renewal != null && days_to_renewal <= 30"
    );
    assert_eq!(
        trace.inputs,
        [
            ("paying".to_string(), "true".to_string()),
            ("days_to_renewal".to_string(), "30".to_string())
        ]
    );
    assert_eq!(trace.version, config.playbooks[0].version);
    // a2 enrols on the first day; its upgrade on 07-01 meets the exit: no
    // day-30 task.
    assert_eq!(
        of("a2", "Small account"),
        [(
            d("2025-06-10"),
            Some(d("2025-07-01")),
            Some("exit".to_string()),
            vec![done(0)]
        )]
    );
    // a3: the day-30 task on 07-10 ends it; it enrols again the next day
    // (the cooldown of 30 days since 06-10 has passed), and so on.
    let a3 = of("a3", "Small account");
    assert_eq!(
        a3.iter()
            .map(|e| (e.0, e.1, e.2.clone()))
            .collect::<Vec<_>>(),
        [
            (
                d("2025-06-10"),
                Some(d("2025-07-10")),
                Some("finished".to_string())
            ),
            (
                d("2025-07-11"),
                Some(d("2025-08-10")),
                Some("finished".to_string())
            ),
            (d("2025-08-11"), None, None),
        ]
    );

    // The tasks: a1's two renewal calls for the CSM, a3's two offers for
    // the named owner.
    let tasks = store.tasks(&TaskQuery::default()).await.unwrap();
    let mut got: Vec<(String, Option<String>, Option<Date>, &str)> = tasks
        .iter()
        .map(|t| {
            (
                t.title.clone(),
                t.owner_email.clone(),
                t.due_on,
                t.source.as_str(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "Offer Acct a3 the bigger plan".to_string(),
                Some("lead@example.com".to_string()),
                Some(d("2025-07-13")),
                "playbook"
            ),
            (
                "Offer Acct a3 the bigger plan".to_string(),
                Some("lead@example.com".to_string()),
                Some(d("2025-08-13")),
                "playbook"
            ),
            (
                "Renewal call with Acct a1 (30 days)".to_string(),
                Some("ann@example.com".to_string()),
                Some(d("2025-06-18")),
                "playbook"
            ),
            (
                "Still renewing: Acct a1".to_string(),
                Some("ann@example.com".to_string()),
                Some(d("2025-06-28")),
                "playbook"
            ),
        ]
    );
    let notes = store.account_notes("a1").await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].text, "Acct a1 renews in 30 days.");
    assert_eq!(notes[0].source, "playbook:Renewal near");
    // Running a day again changes nothing.
    let engage = run_day(store, &config, d("2025-08-31")).await.unwrap();
    let again = run(store, &config, &engage).await.unwrap();
    assert_eq!((again.enrolled, again.actions), (0, 0));
}

#[tokio::test]
async fn config_check_reports_playbook_mistakes_with_their_lines() {
    let bad = CONFIG
        .replace("days_to_renewal <= 30\"", "days_to_renewl <= 30\"")
        .replace("day = 40\nkind = \"note\"", "day = 40\nkind = \"sms\"")
        .replace(
            "{{account.name}} pays under 200.",
            "{{account.owner}} pays under 200.",
        );
    let errors = parse_config(&bad).unwrap_err();
    let msgs: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.line, e.message))
        .collect();
    let line = |needle: &str| bad.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(
        msgs.iter()
            .any(|m| m.starts_with(&format!("{}: ", line("days_to_renewl")))
                && m.contains("unknown field \"days_to_renewl\"")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with(&format!("{}: ", line("kind = \"sms\"")))
                && m.contains("unknown action \"sms\"")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("unknown variable {{account.owner}}")),
        "{msgs:?}"
    );
    // The defaults parse and name the default tiers.
    let d = tenure_core::config::Config::default();
    assert!(d.playbooks.len() >= 3);
}

#[tokio::test]
async fn email_and_webhook_actions_queue_messages_in_the_outbox() {
    let config = parse_config(&format!(
        "{}{}",
        CONFIG.split("[[playbooks]]").next().unwrap(),
        r#"
[[outbound.webhooks]]
name = "crm"
url = "http://127.0.0.1:9/hooks"
secret = "s3cret"

[[playbooks]]
name = "Small account"
trigger = "paying && mrr < 200"

[[playbooks.actions]]
kind = "email"
subject = "Getting more from Tenure, {{account.name}}"
body = "Hello, your CSM is {{csm}}."

[[playbooks.actions]]
kind = "webhook"
endpoint = "crm"

[[playbooks.actions]]
kind = "risk"
reason = "{{account.name}} pays under 200 ({{arr}} a year)"
"#
    ))
    .unwrap();
    let db = test_db().await;
    let store = &db.store;
    portfolio(store).await;
    // a3 has a champion; a2 (also under 200 on the day) has none.
    let champion = tenure_core::model::Contact {
        id: "c3".into(),
        account_id: "a3".into(),
        email: "pat@a3.example".into(),
        name: Some("Pat".into()),
        role: None,
        champion: Some(true),
    };
    store
        .create_record(&Record::Contact(champion), &Scope::All)
        .await
        .unwrap();
    let engage = run_day(store, &config, d("2025-06-10")).await.unwrap();
    let out = run(store, &config, &engage).await.unwrap();
    assert_eq!(out.enrolled, 2);
    assert_eq!(
        out.errors,
        ["queueing a playbook's message: account a2 has no champion with an email to email"]
    );
    let log = store
        .outbox_log(&tenure_store::outbound::LogQuery::default())
        .await
        .unwrap();
    let mut got: Vec<(&str, &str, Option<&str>)> = log
        .iter()
        .map(|m| (m.kind.as_str(), m.target.as_str(), m.account_id.as_deref()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("email", "pat@a3.example", Some("a3")),
            ("webhook", "crm", Some("a2")),
            ("webhook", "crm", Some("a3")),
        ]
    );
    let email = log.iter().find(|m| m.kind.as_str() == "email").unwrap();
    assert_eq!(
        email.subject.as_deref(),
        Some("Getting more from Tenure, Acct a3")
    );
    assert_eq!(email.body, "Hello, your CSM is ann@example.com.");
    assert_eq!(email.source, "playbook:Small account");
    let hook = log
        .iter()
        .find(|m| m.account_id.as_deref() == Some("a3") && m.kind.as_str() == "webhook")
        .unwrap();
    let payload: serde_json::Value = serde_json::from_str(&hook.body).unwrap();
    assert_eq!(payload["playbook"], "Small account");
    assert_eq!(payload["account"]["arr"], 1200.0);
    // Both are on the risk board, flagged by the playbook with its reason.
    let flags = store.risk_flags(&Scope::All, None).await.unwrap();
    let mut reasons: Vec<(&str, &str)> = flags
        .iter()
        .map(|f| (f.account_id.as_str(), f.reason.as_str()))
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            ("a2", "Acct a2 pays under 200 (1200 a year)"),
            ("a3", "Acct a3 pays under 200 (1200 a year)")
        ]
    );
    let by_playbook = tenure_core::react::risk::FlagSource::Playbook("Small account".into());
    assert!(flags.iter().all(|f| f.source == by_playbook), "{flags:?}");
    // A webhook naming an endpoint that is not configured is a config error.
    let bad = config_text_with_endpoint("nope");
    let e = parse_config(&bad).unwrap_err();
    assert!(
        e.iter()
            .any(|e| e.message.contains("unknown webhook endpoint \"nope\"")),
        "{e:?}"
    );
}

fn config_text_with_endpoint(name: &str) -> String {
    format!(
        "{}[[playbooks]]\nname = \"X\"\ntrigger = \"paying\"\n\n[[playbooks.actions]]\nkind = \"webhook\"\nendpoint = \"{name}\"\n",
        CONFIG.split("[[playbooks]]").next().unwrap()
    )
}
