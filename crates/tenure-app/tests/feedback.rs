//! Feedback and product requests worked by hand (docs/FEEDBACK.md): items
//! made from survey comments, ticket text and notes with their sentiment
//! and themes, a re-run that adds nothing, changes and deletions followed;
//! items from the API; requests ranked by count, ARR and ARR at risk; a
//! shipped request makes a task per asking account and queues the
//! tracker's webhook; a CSM sees their own accounts only. Both backends
//! (`TEST_DATABASE_URL`).

use jiff::civil::Date;
use tenure_app::Error;
use tenure_app::feedback::{
    NewFeedback, NewRequest, add, create, link, list, ranking, refresh, set_status, suggest,
    themes, to_csv,
};
use tenure_core::config::{Config, parse_config};
use tenure_core::feedback::{RankBy, RequestStatus, Sentiment, Source};
use tenure_core::health::Band;
use tenure_core::model::{
    Account, Currency, Engagement, Money, Subscription, SurveyKind, SurveyResponse, Ticket,
};
use tenure_core::target::tasks::TaskSource;
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::feedback::FeedbackQuery;
use tenure_store::health::Snapshot;
use tenure_store::rows::Record;
use tenure_store::target::TaskQuery;
use tenure_store::testing::test_db;

const CONFIG: &str = r#"
[[outbound.webhooks]]
name = "product"
url = "http://127.0.0.1:9/hooks"
secret = "s3cret"

[feedback]
requests_webhook = "product"

[[feedback.themes]]
name = "exports"
keywords = ["export*", "csv"]

[[feedback.themes]]
name = "unhappy"
rule = "sentiment == 'negative'"

[[feedback.themes]]
name = "enterprise tickets"
rule = "source == 'ticket' && plan == 'enterprise'"
"#;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn config() -> Config {
    parse_config(CONFIG).unwrap()
}

const DAY: &str = "2025-06-10";

async fn put(store: &Store, r: Record) {
    store.create_record(&r, &Scope::All).await.unwrap();
}

/// a1 pays 500 a month (CSM ana, enterprise), a2 100 (bob), a3 200 (ana),
/// from 2025-01-01: ARR 6,000, 1,200 and 2,400. On DAY a2 is red and a3
/// is flagged: both on the risk board.
async fn portfolio(store: &Store) {
    for (id, csm, mrr) in [
        ("a1", "ana@example.com", 500),
        ("a2", "bob@example.com", 100),
        ("a3", "ana@example.com", 200),
    ] {
        let mut a = Account::bare(id);
        a.name = format!("Account {id}");
        a.csm_email = Some(csm.into());
        a.plan = Some(if id == "a1" { "enterprise" } else { "team" }.into());
        put(store, Record::Account(a)).await;
        put(
            store,
            Record::Subscription(Subscription {
                id: format!("s-{id}"),
                account_id: id.into(),
                mrr: Money::new(mrr * 100, Currency::USD),
                plan: None,
                seats: None,
                start_date: d("2025-01-01"),
                end_date: None,
                renewal_date: None,
            }),
        )
        .await;
    }
    for (id, band) in [("a1", Band::Green), ("a2", Band::Red), ("a3", Band::Green)] {
        let s = Snapshot {
            account_id: id.into(),
            day: d(DAY),
            score: Some(if band == Band::Red { 20.0 } else { 80.0 }),
            band: Some(band),
            computed: None,
            override_id: None,
            scorecard_version: "test".into(),
            measures: Vec::new(),
        };
        store.write_snapshots(&[s], 0).await.unwrap();
    }
    tenure_app::risk::flag(
        store,
        &Scope::All,
        "a3",
        "Budget cut",
        tenure_core::react::risk::FlagSource::Manual,
        d("2025-06-01"),
        Some("lead@example.com"),
    )
    .await
    .unwrap();
}

/// Two survey comments, a ticket with text, one without, and a note.
async fn sources(store: &Store) {
    let ts = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    for (id, account, score, comment) in [
        ("r1", "a1", 3, Some("The CSV export keeps timing out")),
        ("r2", "a2", 9, Some("Love the new dashboards")),
        ("r3", "a3", 10, None),
    ] {
        put(
            store,
            Record::SurveyResponse(SurveyResponse {
                id: id.into(),
                account_id: account.into(),
                contact_id: Some(format!("c-{account}")),
                kind: SurveyKind::Nps,
                score,
                responded_at: ts("2025-06-02T10:00:00Z"),
                comment: comment.map(str::to_string),
            }),
        )
        .await;
    }
    for (id, subject, description, csat) in [
        ("t1", Some("Login fails"), Some("SSO <script>"), Some(2)),
        ("t2", None, None, None),
    ] {
        put(
            store,
            Record::Ticket(Ticket {
                id: id.into(),
                account_id: "a1".into(),
                opened_at: ts("2025-06-03T09:00:00Z"),
                closed_at: None,
                priority: None,
                first_contact_resolved: None,
                csat,
                subject: subject.map(str::to_string),
                description: description.map(str::to_string),
            }),
        )
        .await;
    }
    put(
        store,
        Record::Engagement(Engagement {
            id: "e1".into(),
            account_id: "a3".into(),
            kind: "call".into(),
            occurred_at: ts("2025-06-04T15:00:00Z"),
            csm_email: Some("ana@example.com".into()),
            notes: Some("They want scheduled exports".into()),
        }),
    )
    .await;
}

/// An item as the test checks it: id, source, text, sentiment, themes.
type Shown<'a> = (&'a str, Source, &'a str, Option<Sentiment>, Vec<&'a str>);

#[tokio::test]
async fn items_are_materialised_with_sentiment_and_themes_once_per_source_row() {
    let db = test_db().await;
    let store = &db.store;
    let config = config();
    portfolio(store).await;
    sources(store).await;

    let c = refresh(store, &config).await.unwrap();
    assert_eq!((c.added, c.updated, c.removed), (4, 0, 0));
    let all = list(store, &FeedbackQuery::default()).await.unwrap();
    let got: Vec<Shown> = all
        .iter()
        .map(|v| {
            let i = &v.item;
            (
                i.id.as_str(),
                i.source,
                i.text.as_str(),
                i.sentiment,
                i.themes.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "fb-note-e1",
                Source::Note,
                "They want scheduled exports",
                None,
                vec!["exports"]
            ),
            (
                "fb-ticket-t1",
                Source::Ticket,
                "Login fails\n\nSSO <script>",
                Some(Sentiment::Negative),
                vec!["unhappy", "enterprise tickets"]
            ),
            (
                "fb-survey-r1",
                Source::Survey,
                "The CSV export keeps timing out",
                Some(Sentiment::Negative),
                vec!["exports", "unhappy"]
            ),
            (
                "fb-survey-r2",
                Source::Survey,
                "Love the new dashboards",
                Some(Sentiment::Positive),
                vec![]
            ),
        ]
    );
    assert_eq!(all[2].account_name, "Account a1");
    assert_eq!(all[2].item.day, d("2025-06-02"));
    assert_eq!(all[2].item.contact_id.as_deref(), Some("c-a1"));

    // A second run adds nothing; an edited ticket is rewritten, a deleted
    // note removed.
    let c = refresh(store, &config).await.unwrap();
    assert_eq!((c.added, c.updated, c.removed), (0, 0, 0));
    let mut t1 = match store
        .get_record(tenure_store::Kind::Tickets, "t1", &Scope::All)
        .await
        .unwrap()
    {
        Record::Ticket(t) => t,
        other => panic!("{other:?}"),
    };
    t1.subject = Some("CSV export broken".into());
    store
        .replace_record(&Record::Ticket(t1), &Scope::All)
        .await
        .unwrap();
    store
        .delete_record(tenure_store::Kind::Engagements, "e1", &Scope::All)
        .await
        .unwrap();
    let c = refresh(store, &config).await.unwrap();
    assert_eq!((c.added, c.updated, c.removed), (0, 1, 1));
    let exports = list(
        store,
        &FeedbackQuery {
            theme: Some("exports".into()),
            ..FeedbackQuery::default()
        },
    )
    .await
    .unwrap();
    let ids: Vec<&str> = exports.iter().map(|v| v.item.id.as_str()).collect();
    assert_eq!(ids, ["fb-ticket-t1", "fb-survey-r1"]);

    // Filters by source and sentiment; a CSM sees their own accounts.
    let q = FeedbackQuery {
        source: Some(Source::Survey),
        sentiment: Some(Sentiment::Positive),
        ..FeedbackQuery::default()
    };
    let pos = list(store, &q).await.unwrap();
    assert_eq!(pos.len(), 1);
    assert_eq!(pos[0].item.id, "fb-survey-r2");
    let bob = FeedbackQuery {
        scope: Scope::Csm("bob@example.com".into()),
        ..FeedbackQuery::default()
    };
    let mine = list(store, &bob).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].item.account_id, "a2");

    let counts = themes(store, &config, &Scope::All).await.unwrap();
    let counts: Vec<(&str, u64)> = counts.iter().map(|t| (t.name.as_str(), t.items)).collect();
    assert_eq!(
        counts,
        [("exports", 2), ("unhappy", 2), ("enterprise tickets", 1)]
    );
}

#[tokio::test]
async fn deleted_rows_take_their_items_and_api_items_stay() {
    let db = test_db().await;
    let store = &db.store;
    let config = config();
    portfolio(store).await;
    sources(store).await;
    refresh(store, &config).await.unwrap();
    // The note's row emptied: its item goes.
    let mut e1 = match store
        .get_record(tenure_store::Kind::Engagements, "e1", &Scope::All)
        .await
        .unwrap()
    {
        Record::Engagement(e) => e,
        other => panic!("{other:?}"),
    };
    e1.notes = None;
    store
        .replace_record(&Record::Engagement(e1), &Scope::All)
        .await
        .unwrap();

    let item = add(
        store,
        &config,
        &Scope::All,
        &NewFeedback {
            account_id: "a2".into(),
            text: "Exports to Excel, please".into(),
            kind: Some("csat".into()),
            score: Some(2),
            ..NewFeedback::default()
        },
        Some("ana@example.com"),
        d(DAY),
    )
    .await
    .unwrap();
    assert_eq!(item.source, Source::Api);
    assert_eq!(item.sentiment, Some(Sentiment::Negative));
    assert_eq!(item.themes, ["exports", "unhappy"]);
    assert_eq!(item.day, d(DAY));

    let c = refresh(store, &config).await.unwrap();
    assert_eq!((c.added, c.updated, c.removed), (0, 0, 1));
    let all = list(store, &FeedbackQuery::default()).await.unwrap();
    assert!(all.iter().any(|v| v.item.id == item.id));
    assert!(!all.iter().any(|v| v.item.id == "fb-note-e1"));

    // Bad input: every problem named by field; an account out of scope is
    // not found.
    let bad = add(
        store,
        &config,
        &Scope::All,
        &NewFeedback {
            account_id: "a2".into(),
            text: "  ".into(),
            kind: Some("nps".into()),
            score: Some(11),
            ..NewFeedback::default()
        },
        None,
        d(DAY),
    )
    .await
    .unwrap_err();
    match bad {
        Error::Invalid(m) => {
            assert!(m.contains("text: write what the customer said"), "{m}");
            assert!(m.contains("score:"), "{m}");
        }
        e => panic!("{e:?}"),
    }
    let hidden = add(
        store,
        &config,
        &Scope::Csm("bob@example.com".into()),
        &NewFeedback {
            account_id: "a1".into(),
            text: "Not yours".into(),
            ..NewFeedback::default()
        },
        None,
        d(DAY),
    )
    .await
    .unwrap_err();
    assert!(matches!(hidden, Error::NotFound(_)), "{hidden:?}");

    // Suggestions run on what no theme tagged (few items here: maybe none).
    let s = suggest(store, &Scope::All, 3).await.unwrap();
    for x in &s {
        assert!(!x.examples.is_empty());
    }
}

#[tokio::test]
async fn requests_rank_by_count_arr_and_arr_at_risk_and_shipping_closes_the_loop() {
    let db = test_db().await;
    let store = &db.store;
    let config = config();
    portfolio(store).await;
    sources(store).await;
    refresh(store, &config).await.unwrap();
    let day = d(DAY);
    let all = Scope::All;
    let new = |title: &str, accounts: &[&str]| NewRequest {
        title: title.into(),
        description: None,
        account_ids: accounts.iter().map(|a| a.to_string()).collect(),
        feedback_id: None,
    };
    // R1: a1 + a2 = 6,000 + 1,200 = 7,200 ARR, 1,200 at risk (a2 red).
    let r1 = create(
        store,
        &config,
        &all,
        &NewRequest {
            feedback_id: Some("fb-survey-r1".into()),
            ..new("Scheduled exports", &["a2"])
        },
        Some("lead@example.com"),
        day,
    )
    .await
    .unwrap();
    // R2: a2 + a3 = 3,600 ARR, all at risk (a3 flagged).
    let r2 = create(store, &config, &all, &new("SSO", &["a2", "a3"]), None, day)
        .await
        .unwrap();
    // R3: a3 = 2,400, at risk.
    let r3 = create(store, &config, &all, &new("Dark mode", &[]), None, day)
        .await
        .unwrap();
    assert!(
        link(store, &all, &r3.id, Some("a3"), None, None, day)
            .await
            .unwrap()
    );
    assert!(
        !link(store, &all, &r3.id, Some("a3"), None, None, day)
            .await
            .unwrap(),
        "already asking"
    );

    let cfg = &config;
    let order = |by: RankBy| async move {
        let r = ranking(store, cfg, &Scope::All, by, None, d(DAY))
            .await
            .unwrap();
        r.rows
            .iter()
            .map(|x| {
                (
                    x.request.title.clone(),
                    x.standing.accounts,
                    x.standing.arr,
                    x.standing.arr_at_risk,
                )
            })
            .collect::<Vec<_>>()
    };
    let s = |t: &str| t.to_string();
    assert_eq!(
        order(RankBy::Arr).await,
        [
            (s("Scheduled exports"), 2, 720_000, 120_000),
            (s("SSO"), 2, 360_000, 360_000),
            (s("Dark mode"), 1, 240_000, 240_000),
        ]
    );
    let titles = |v: Vec<(String, usize, i64, i64)>| v.into_iter().map(|x| x.0).collect::<Vec<_>>();
    assert_eq!(
        titles(order(RankBy::Count).await),
        ["Scheduled exports", "SSO", "Dark mode"]
    );
    assert_eq!(
        titles(order(RankBy::ArrAtRisk).await),
        ["SSO", "Dark mode", "Scheduled exports"]
    );

    // The link from feedback keeps the item.
    let r = ranking(store, &config, &all, RankBy::Arr, None, day)
        .await
        .unwrap();
    let first = &r.rows[0];
    assert_eq!(first.request.id, r1.id);
    let from_item = first
        .accounts
        .iter()
        .find(|l| l.account_id == "a1")
        .unwrap();
    assert_eq!(from_item.feedback_id.as_deref(), Some("fb-survey-r1"));
    let csv = to_csv(&r).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("rank,id,title,status,accounts,arr,arr_at_risk,currency,account_ids")
    );
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "1,{},Scheduled exports,open,2,7200.00,1200.00,USD,a1 a2",
            r1.id
        )
    );

    // Shipping R2: a task for each asking account's CSM, and the webhook.
    let before = store
        .outbox_log(&tenure_store::outbound::LogQuery::default())
        .await
        .unwrap()
        .len();
    assert_eq!(before, 3, "one webhook per request created");
    let change = set_status(store, &config, &r2.id, "shipped", day)
        .await
        .unwrap();
    assert_eq!(change.previous, RequestStatus::Open);
    assert_eq!(change.request.status, RequestStatus::Shipped);
    assert_eq!(change.tasks.len(), 2);
    let tasks = store
        .tasks(&TaskQuery {
            scope: Scope::All,
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    let mut got: Vec<(&str, Option<&str>, &str, Option<Date>)> = tasks
        .iter()
        .filter(|t| t.source_id.as_deref() == Some(r2.id.as_str()))
        .map(|t| {
            (
                t.account_id.as_str(),
                t.owner_email.as_deref(),
                t.title.as_str(),
                t.due_on,
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "a2",
                Some("bob@example.com"),
                "Tell Account a2: \"SSO\" has shipped",
                Some(d("2025-06-17"))
            ),
            (
                "a3",
                Some("ana@example.com"),
                "Tell Account a3: \"SSO\" has shipped",
                Some(d("2025-06-17"))
            ),
        ]
    );
    assert!(tasks.iter().all(|t| t.source == TaskSource::Request));
    let log = store
        .outbox_log(&tenure_store::outbound::LogQuery::default())
        .await
        .unwrap();
    assert_eq!(log.len(), 4);
    let hook = log
        .iter()
        .find(|m| Some(m.id.as_str()) == change.webhook.as_deref())
        .unwrap();
    assert_eq!(hook.kind.as_str(), "webhook");
    assert_eq!(hook.target, "product");
    let body: serde_json::Value = serde_json::from_str(&hook.body).unwrap();
    assert_eq!(body["event"], "request.status_changed");
    assert_eq!(body["request"]["status"], "shipped");
    assert_eq!(body["request"]["previous_status"], "open");
    assert_eq!(body["request"]["arr"], "3600.00");
    assert_eq!(body["request"]["arr_at_risk"], "3600.00");

    // The same status again changes nothing; a bad status is refused.
    let again = set_status(store, &config, &r2.id, "shipped", day)
        .await
        .unwrap();
    assert!(again.tasks.is_empty() && again.webhook.is_none());
    let bad = set_status(store, &config, &r2.id, "done", day)
        .await
        .unwrap_err();
    assert!(
        bad.to_string().contains("status: expected open, planned"),
        "{bad}"
    );
    let missing = set_status(store, &config, "req-nope", "planned", day)
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing:?}");

    // A CSM sees the requests their accounts ask for, over those accounts.
    let bob = Scope::Csm("bob@example.com".into());
    let mine = ranking(store, &config, &bob, RankBy::Arr, None, day)
        .await
        .unwrap();
    let mine: Vec<(&str, usize, i64)> = mine
        .rows
        .iter()
        .map(|r| {
            (
                r.request.title.as_str(),
                r.standing.accounts,
                r.standing.arr,
            )
        })
        .collect();
    // Tied on every measure: by title.
    assert_eq!(
        mine,
        [("SSO", 1, 120_000), ("Scheduled exports", 1, 120_000)]
    );
    let shipped = ranking(
        store,
        &config,
        &all,
        RankBy::Arr,
        Some(RequestStatus::Shipped),
        day,
    )
    .await
    .unwrap();
    assert_eq!(shipped.rows.len(), 1);
    // A CSM cannot make a request for nobody, nor for another's account.
    let none = create(store, &config, &bob, &new("X", &[]), None, day)
        .await
        .unwrap_err();
    assert!(none.to_string().contains("account_ids"), "{none}");
    let other = create(store, &config, &bob, &new("X", &["a1"]), None, day)
        .await
        .unwrap_err();
    assert!(matches!(other, Error::NotFound(_)), "{other:?}");
    let empty = create(store, &config, &all, &new("  ", &[]), None, day)
        .await
        .unwrap_err();
    assert!(empty.to_string().starts_with("title:"), "{empty}");
}

#[tokio::test]
async fn many_items_are_written_in_batches_and_once() {
    let db = test_db().await;
    let store = &db.store;
    let config = config();
    portfolio(store).await;
    // 1,234 comments (three statements of items): every fifth about CSV.
    let mut writer = tenure_store::bulk::BulkWriter::default();
    let mut tx = store.pool().begin().await.unwrap();
    for n in 0..1234 {
        let r = Record::SurveyResponse(SurveyResponse {
            id: format!("r{n:04}"),
            account_id: ["a1", "a2", "a3"][n % 3].into(),
            contact_id: None,
            kind: SurveyKind::Nps,
            score: (n % 11) as i64,
            responded_at: "2025-06-02T10:00:00Z".parse().unwrap(),
            comment: Some(if n % 5 == 0 {
                format!("CSV export number {n}")
            } else {
                format!("Comment number {n}")
            }),
        });
        writer.push(&mut tx, &r).await.unwrap();
    }
    writer.flush(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let c = refresh(store, &config).await.unwrap();
    assert_eq!((c.added, c.updated, c.removed), (1234, 0, 0));
    let c = refresh(store, &config).await.unwrap();
    assert_eq!((c.added, c.updated, c.removed), (0, 0, 0));
    let counts = themes(store, &config, &Scope::All).await.unwrap();
    // Exports: every fifth; unhappy: scores 0-6, 7 of every 11.
    let expected_unhappy = (0..1234).filter(|n| n % 11 <= 6).count() as u64;
    assert_eq!(counts[0].items, 247);
    assert_eq!(counts[1].items, expected_unhappy);
    let q = FeedbackQuery {
        limit: Some(10),
        ..FeedbackQuery::default()
    };
    assert_eq!(list(store, &q).await.unwrap().len(), 10);
    // A page of items reads the themes of its items only: the same themes
    // as those items listed in full.
    let all = store
        .feedback_items(&FeedbackQuery::default())
        .await
        .unwrap();
    let page = store.feedback_items(&q).await.unwrap();
    for i in &page {
        let whole = all.iter().find(|a| a.id == i.id).unwrap();
        assert_eq!(i.themes, whole.themes, "{}", i.id);
    }
    assert!(page.iter().any(|i| i.themes.len() >= 2), "{page:?}");
}
