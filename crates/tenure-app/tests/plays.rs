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
        left_on: None,
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

/// Today's UTC date: the database records the day a champion loses the
/// flag by the clock, so the champion cases run on today.
fn today() -> Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

async fn add(store: &Store, r: Record) {
    store.create_record(&r, &Scope::All).await.unwrap();
}

fn contact(id: &str, account: &str, champion: bool, left_on: Option<Date>) -> Record {
    Record::Contact(tenure_core::model::Contact {
        id: id.into(),
        account_id: account.into(),
        email: format!("{id}@{account}.example"),
        name: None,
        role: None,
        champion: Some(champion),
        left_on,
    })
}

/// Which accounts each playbook enrolled on a day.
async fn enrolled(store: &Store) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut by: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for e in store
        .play_enrolments(&Scope::All, None, None)
        .await
        .unwrap()
    {
        by.entry(e.playbook).or_default().push(e.account_id);
    }
    for v in by.values_mut() {
        v.sort();
    }
    by
}

/// The default playbooks on two companies shaped unlike the demo: a few
/// large enterprise contracts without seats or usage data but with
/// champions (one left, one lost the flag), and a self-serve business of
/// many small accounts with seats and usage, one whose active users fell
/// and one whose payment failed. No rule fails on either; each playbook
/// enrols exactly the accounts its signal points at, in its tiers.
#[tokio::test]
async fn the_default_playbooks_fit_companies_of_other_shapes() {
    let config = tenure_core::config::Config::default();
    let day = today();
    let names: Vec<&str> = config.playbooks.iter().map(|p| p.name.as_str()).collect();
    for n in [
        "Champion left",
        "Usage dropped",
        "Payment failed",
        "Not reaching value",
    ] {
        assert!(names.contains(&n), "{names:?}");
    }

    // Enterprise: ten contracts of 2,000 to 20,000 a month, two years in.
    let db = test_db().await;
    let store = &db.store;
    for i in 0..10i64 {
        let id = format!("e{i}");
        let mut a = Account::bare(&id);
        a.csm_email = Some("ann@example.com".into());
        add(store, Record::Account(a)).await;
        let s = Subscription {
            id: format!("s-{id}"),
            account_id: id.clone(),
            mrr: Money::new((i + 1) * 200_000, Currency::USD),
            plan: None,
            seats: None,
            start_date: add_days(day, -700),
            end_date: None,
            renewal_date: Some(add_days(day, 300)),
        };
        add(store, Record::Subscription(s)).await;
        add(store, contact(&format!("c{i}"), &id, true, None)).await;
    }
    // e9 (the largest: high touch) saw its champion leave five days ago;
    // e5 (low touch) had the flag taken off today; e0 (tech touch) lost
    // its champion too, but tech-touch accounts get no CSM playbook.
    store
        .replace_record(
            &contact("c9", "e9", true, Some(add_days(day, -5))),
            &Scope::All,
        )
        .await
        .unwrap();
    store
        .replace_record(&contact("c5", "e5", false, None), &Scope::All)
        .await
        .unwrap();
    store
        .replace_record(
            &contact("c0", "e0", true, Some(add_days(day, -2))),
            &Scope::All,
        )
        .await
        .unwrap();
    let engage = run_day(store, &config, day).await.unwrap();
    let tier = |id: &str| {
        let a = engage.accounts.iter().find(|a| a.account.id == id).unwrap();
        a.tier.map(|t| config.engage.tiers[t].name.as_str())
    };
    assert_eq!(
        (tier("e9"), tier("e5"), tier("e0")),
        (Some("high"), Some("low"), Some("tech"))
    );
    let f = &engage
        .accounts
        .iter()
        .find(|a| a.account.id == "e5")
        .unwrap()
        .facts;
    assert_eq!(
        (f.champions, f.days_since_champion_lost),
        (Some(0), Some(0))
    );
    assert_eq!(f.payment_failures_30d, None, "no billing source");
    let out = run(store, &config, &engage).await.unwrap();
    assert_eq!(out.errors, Vec::<String>::new());
    let by = enrolled(store).await;
    assert_eq!(
        by.get("Champion left").map(Vec::as_slice),
        Some(&["e5".to_string(), "e9".to_string()][..])
    );
    for quiet in ["Usage dropped", "Payment failed", "Not reaching value"] {
        assert_eq!(by.get(quiet), None, "{quiet}: no data for it here");
    }
    // The champion playbook put both on the risk board.
    let flagged: Vec<String> = store
        .risk_flags(&Scope::All, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|f| f.reason == "The champion left")
        .map(|f| f.account_id)
        .collect();
    assert_eq!(flagged.len(), 2, "{flagged:?}");

    // Self-serve: 200 accounts at ten tied prices with seats; in the 30
    // days before the last 30, every account had four active users; in
    // the last 30, p9 and p0 (the top and bottom price) only one.
    let db = test_db().await;
    let store = &db.store;
    for i in 0..200i64 {
        let id = format!("p{i}");
        add(store, Record::Account(Account::bare(&id))).await;
        let s = Subscription {
            id: format!("s-{id}"),
            account_id: id.clone(),
            mrr: Money::new((20 + (i % 10) * 20) * 100, Currency::USD),
            plan: None,
            seats: Some(5),
            start_date: add_days(day, -365 - i as i32),
            end_date: None,
            renewal_date: None,
        };
        add(store, Record::Subscription(s)).await;
        let users = if i == 9 || i == 0 { 1 } else { 4 };
        for (ago, n) in [(45, 4), (10, users)] {
            for u in 0..n {
                let ts = jiff::civil::DateTime::from(add_days(day, -ago))
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .unwrap()
                    .timestamp();
                add(
                    store,
                    Record::Event(tenure_core::model::Event {
                        timestamp: ts,
                        account_id: id.clone(),
                        user_id: format!("u{u}"),
                        event: "login".into(),
                        properties: None,
                        message_id: Some(format!("{id}-{ago}-{u}")),
                    }),
                )
                .await;
            }
        }
    }
    // p3's payment failed three days ago (through the Stripe webhook path).
    use tenure_store::billing::{BillingChange, BillingCustomer, PaymentFailure};
    let now = jiff::Timestamp::now();
    let customer = BillingChange::Customer(BillingCustomer {
        customer_id: "cus_3".into(),
        account_id: "p3".into(),
        name: None,
    });
    store
        .apply_billing_event("evt_1", "customer.created", now, &customer, now)
        .await
        .unwrap();
    let failed = BillingChange::PaymentFailed(PaymentFailure {
        customer_id: "cus_3".into(),
        invoice_id: None,
        amount: Money::new(6000, Currency::USD),
        occurred_at: jiff::civil::DateTime::from(add_days(day, -3))
            .to_zoned(jiff::tz::TimeZone::UTC)
            .unwrap()
            .timestamp(),
    });
    store
        .apply_billing_event("evt_2", "invoice.payment_failed", now, &failed, now)
        .await
        .unwrap();
    let engage = run_day(store, &config, day).await.unwrap();
    let facts = |id: &str| {
        &engage
            .accounts
            .iter()
            .find(|a| a.account.id == id)
            .unwrap()
            .facts
    };
    assert_eq!(facts("p9").events_change_30d, Some(-75.0));
    assert_eq!(facts("p1").events_change_30d, Some(0.0));
    // The users of the 30 days before are loaded only when a rule reads
    // their change.
    assert!(!config.rules_read("active_users_change_30d"));
    assert_eq!(facts("p9").active_users_change_30d, None);
    let users = parse_config(&tenure_core::config::DEFAULT_CONFIG.replace(
        "events_change_30d != null && events_change_30d <= -40",
        "active_users_change_30d != null && active_users_change_30d <= -40",
    ))
    .unwrap();
    let by_users = tenure_app::engage::evaluate(store, &users, day)
        .await
        .unwrap();
    let change = |id: &str| {
        let a = by_users
            .accounts
            .iter()
            .find(|a| a.account.id == id)
            .unwrap();
        a.facts.active_users_change_30d
    };
    assert_eq!((change("p9"), change("p1")), (Some(-75.0), Some(0.0)));
    assert_eq!(facts("p3").payment_failures_30d, Some(1));
    assert_eq!(facts("p4").payment_failures_30d, Some(0));
    let tier = |id: &str| {
        let a = engage.accounts.iter().find(|a| a.account.id == id).unwrap();
        a.tier.map(|t| config.engage.tiers[t].name.as_str())
    };
    assert_eq!(
        (tier("p9"), tier("p0"), tier("p3")),
        (Some("high"), Some("tech"), Some("tech"))
    );
    let out = run(store, &config, &engage).await.unwrap();
    assert_eq!(out.errors, Vec::<String>::new());
    let by = enrolled(store).await;
    // The drop at the bottom price is tech touch: no CSM task.
    assert_eq!(
        by.get("Usage dropped").map(Vec::as_slice),
        Some(&["p9".to_string()][..])
    );
    // A failed payment reaches every tier.
    assert_eq!(
        by.get("Payment failed").map(Vec::as_slice),
        Some(&["p3".to_string()][..])
    );
    assert_eq!(by.get("Champion left"), None);

    // The band of the day before, read when a rule reads it: the job's
    // pass of yesterday stored it.
    assert!(!config.rules_read("previous_band"));
    let yesterday = add_days(day, -1);
    let stored = tenure_app::engage::daily(store, &config, yesterday)
        .await
        .unwrap();
    let band_of = |d: &tenure_app::engage::EngageDay, id: &str| {
        let a = d.accounts.iter().find(|a| a.account.id == id).unwrap();
        (a.facts.band, a.facts.previous_band)
    };
    let reading = parse_config(&format!(
        "{}\n[[playbooks]]\nname = \"Turned red\"\ntrigger = 'band == \"red\" && previous_band != \"red\"'\n\n[[playbooks.actions]]\nkind = \"note\"\ntext = \"Red\"\n",
        tenure_core::config::DEFAULT_CONFIG
    ))
    .unwrap();
    let today_ = tenure_app::engage::evaluate(store, &reading, day)
        .await
        .unwrap();
    for id in ["p0", "p9", "p3"] {
        let before = band_of(&stored, id).0;
        assert!(before.is_some(), "{id} was scored yesterday");
        assert_eq!(band_of(&today_, id).1, before, "{id}");
    }
    // Without a rule reading it, it is not loaded.
    let plain = tenure_app::engage::evaluate(store, &config, day)
        .await
        .unwrap();
    assert_eq!(band_of(&plain, "p9").1, None);
}
