//! The playbook backtest on a small company worked by hand: which accounts
//! would have entered on the sampled days (with the cooldown), which of
//! them stopped paying within 90 days, the churn of the whole audience, the
//! churns caught, a CSM's own accounts only, and nothing written. Runs on
//! SQLite, and on PostgreSQL with TEST_DATABASE_URL.

use jiff::civil::Date;
use tenure_app::plays_backtest::{Window, backtest};
use tenure_core::config::parse_config;
use tenure_core::model::{Account, Currency, Money, Subscription};
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::rows::Record;
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
name = "Small account"
trigger = "paying && mrr < 200"
cooldown_days = 60

[[playbooks.actions]]
day = 0
kind = "note"
text = "{{account.name}} pays under 200."
"#;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

async fn add(store: &Store, r: Record) {
    store.create_record(&r, &Scope::All).await.unwrap();
}

/// a1 pays 100 until 2025-04-01 (churns, small); a2 pays 100 throughout;
/// a3 pays 500 until 2025-03-15 (churns, never small); a4 pays 500
/// throughout (CSM ann for these four); a5 pays 150 throughout (CSM bob).
async fn company(store: &Store) {
    let accounts = [
        ("a1", 100, None, Some("2025-04-01")),
        ("a2", 100, None, None),
        ("a3", 500, None, Some("2025-03-15")),
        ("a4", 500, None, None),
        ("a5", 150, Some("bob@example.com"), None),
    ];
    for (id, mrr, csm, end) in accounts {
        let mut a = Account::bare(id);
        a.name = format!("Acct {id}");
        a.csm_email = Some(csm.unwrap_or("ann@example.com").into());
        add(store, Record::Account(a)).await;
        let s = Subscription {
            id: format!("s-{id}"),
            account_id: id.into(),
            mrr: Money::new(mrr * 100, Currency::USD),
            plan: None,
            seats: None,
            start_date: d("2025-01-01"),
            end_date: end.map(d),
            renewal_date: None,
        };
        add(store, Record::Subscription(s)).await;
    }
}

/// Every 21 days from 2025-01-06 to 2025-03-31, the data ending on
/// 2025-06-30 (every entry judged).
fn window() -> Window {
    Window {
        from: Some(d("2025-01-06")),
        to: Some(d("2025-03-31")),
        every_days: Some(21),
    }
}

#[tokio::test]
async fn a_backtest_counts_entries_and_the_churn_that_followed() {
    let config = parse_config(CONFIG).unwrap();
    let db = test_db().await;
    let store = &db.store;
    company(store).await;
    let last = d("2025-06-30");
    let b = backtest(store, &config, "Small account", window(), last, &Scope::All)
        .await
        .unwrap();
    assert_eq!(
        b.days,
        [
            d("2025-01-06"),
            d("2025-01-27"),
            d("2025-02-17"),
            d("2025-03-10"),
            d("2025-03-31")
        ]
    );
    // a1, a2 and a5 enter on 01-06 and again on 03-10 (63 days later, past
    // the 60-day cooldown); a1's entries both precede its churn on 04-01.
    let mut entries: Vec<(String, Date, Option<bool>)> = b
        .result
        .entries
        .iter()
        .map(|e| (b.accounts[e.account].0.clone(), e.day, e.churned))
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        [
            ("a1".to_string(), d("2025-01-06"), Some(true)),
            ("a1".to_string(), d("2025-03-10"), Some(true)),
            ("a2".to_string(), d("2025-01-06"), Some(false)),
            ("a2".to_string(), d("2025-03-10"), Some(false)),
            ("a5".to_string(), d("2025-01-06"), Some(false)),
            ("a5".to_string(), d("2025-03-10"), Some(false)),
        ]
    );
    let t = b.result.totals;
    assert_eq!(t.days, 5);
    // a1, a2 and a5 small on every day.
    assert_eq!(t.held, 15);
    assert_eq!((t.entries, t.judged, t.churned), (6, 6, 2));
    assert_eq!(t.precision(), Some(2.0 / 6.0));
    // Paying account-days: five on each of the first four days, four on
    // 03-31 (a3 stopped); a1 churned within 90 days of all five, a3 of
    // its four.
    assert_eq!((t.audience, t.audience_churned), (24, 9));
    assert_eq!(t.base_rate(), Some(9.0 / 24.0));
    let lift = t.lift().unwrap();
    assert!((lift - (2.0 / 6.0) / (9.0 / 24.0)).abs() < 1e-12, "{lift}");
    assert_eq!(t.arr_entered, 2.0 * (1200.0 + 1200.0 + 1800.0));
    assert_eq!(t.arr_churned, 2400.0);
    // Two churns in the audience, a1's caught, a3's missed.
    assert_eq!((b.result.churns, b.result.caught), (2, 1));
    assert_eq!(b.undecided, 0);
    let months: Vec<(Date, usize, usize)> = b
        .result
        .months
        .iter()
        .map(|m| (m.month, m.counts.entries, m.counts.churned))
        .collect();
    assert_eq!(
        months,
        [
            (d("2025-01-01"), 3, 1),
            (d("2025-02-01"), 0, 0),
            (d("2025-03-01"), 3, 1)
        ]
    );

    // The last 90 days are counted but not judged.
    let recent = backtest(
        store,
        &config,
        "Small account",
        window(),
        d("2025-05-01"),
        &Scope::All,
    )
    .await
    .unwrap();
    assert_eq!(recent.result.totals.entries, 6);
    assert_eq!(recent.result.totals.judged, 3, "only 01-06 is judged");

    // A CSM's audience is their own accounts.
    let bob = Scope::Csm("bob@example.com".into());
    let mine = backtest(store, &config, "Small account", window(), last, &bob)
        .await
        .unwrap();
    assert_eq!(mine.accounts, [("a5".to_string(), "Acct a5".to_string())]);
    assert_eq!(mine.result.totals.entries, 2);
    assert_eq!(mine.result.totals.base_rate(), Some(0.0));

    // Nothing was written.
    let fired = store
        .play_enrolments(&Scope::All, None, None)
        .await
        .unwrap();
    assert!(fired.is_empty());
}

#[tokio::test]
async fn a_backtest_names_its_mistakes() {
    let config = parse_config(CONFIG).unwrap();
    let db = test_db().await;
    let store = &db.store;
    let last = d("2025-06-30");
    let err = |w: Window, name: &'static str| {
        let config = &config;
        async move {
            backtest(store, config, name, w, last, &Scope::All)
                .await
                .unwrap_err()
        }
    };
    let e = err(window(), "Nope").await;
    assert!(matches!(e, tenure_app::Error::Invalid(_)));
    assert!(
        e.to_string().contains("expected one of Small account"),
        "{e}"
    );
    let backwards = Window {
        from: Some(d("2025-03-01")),
        to: Some(d("2025-02-01")),
        every_days: None,
    };
    let e = err(backwards, "Small account").await;
    assert!(e.to_string().contains("is after to"), "{e}");
    let future = Window {
        to: Some(d("2025-07-01")),
        ..window()
    };
    let e = err(future, "Small account").await;
    assert!(e.to_string().contains("after the data's last day"), "{e}");
}
