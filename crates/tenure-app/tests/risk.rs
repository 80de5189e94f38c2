//! The risk board and leadership reviews worked by hand: three accounts,
//! one red, one flagged by hand, one later flagged by a playbook; the
//! board's rows and measure; a threshold that opens a review exactly once
//! per crossing and again after clearing and re-crossing; holding a review
//! makes the tasks of its decisions; resolving takes an account off; a
//! CSM sees their own accounts only; a segment's threshold opens reviews
//! of that segment's accounts only; the weekly digest is queued once per
//! recipient on its weekday, with the week's changes.

use jiff::civil::Date;
use tenure_app::Error;
use tenure_app::risk::{
    Decision, NewFlag, board, daily, flag, flag_with, hold_review, parse_decision, resolve, review,
    reviews,
};
use tenure_core::config::{Config, parse_config};
use tenure_core::health::Band;
use tenure_core::model::{Account, Currency, Money, Subscription};
use tenure_core::react::risk::{FlagSource, Outcome};
use tenure_core::target::tasks::TaskSource;
use tenure_store::Store;
use tenure_store::api::Scope;
use tenure_store::health::Snapshot;
use tenure_store::risk::ReviewStatus;
use tenure_store::rows::Record;
use tenure_store::target::TaskQuery;
use tenure_store::testing::test_db;

const CONFIG: &str = r#"
[engage]
settle_days = 0

[[engage.tiers]]
name = "tech"

[[engage.stages]]
name = "customer"
entry = "paying"

[[engage.segments]]
name = "All"
rule = "true"
tier = "tech"

[risk]
accounts_at_risk = 1
"#;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

/// A board row: account, ARR, reason, owner, next step, due, days.
type Row<'a> = (
    &'a str,
    i64,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<Date>,
    i64,
);

fn config() -> Config {
    parse_config(CONFIG).unwrap()
}

/// a1 pays 500 a month (CSM ana), a2 100 (bob), a3 200 (ana), all from
/// 2025-01-01: ARR 6,000, 1,200 and 2,400.
async fn portfolio(store: &Store) {
    for (id, csm) in [
        ("a1", "ana@example.com"),
        ("a2", "bob@example.com"),
        ("a3", "ana@example.com"),
    ] {
        let mut a = Account::bare(id);
        a.name = format!("Account {id}");
        a.csm_email = Some(csm.into());
        store
            .create_record(&Record::Account(a), &Scope::All)
            .await
            .unwrap();
    }
    subscriptions(store).await;
}

/// a1 pays 500 a month, a2 100, a3 200, from 2025-01-01.
async fn subscriptions(store: &Store) {
    for (id, mrr) in [("a1", 500), ("a2", 100), ("a3", 200)] {
        let sub = Subscription {
            id: format!("s-{id}"),
            account_id: id.into(),
            mrr: Money::new(mrr * 100, Currency::USD),
            plan: None,
            seats: None,
            start_date: d("2025-01-01"),
            end_date: None,
            renewal_date: None,
        };
        store
            .create_record(&Record::Subscription(sub), &Scope::All)
            .await
            .unwrap();
    }
}

async fn band(store: &Store, id: &str, day: &str, band: Band) {
    let s = Snapshot {
        account_id: id.into(),
        day: d(day),
        score: Some(if band == Band::Red { 20.0 } else { 80.0 }),
        band: Some(band),
        computed: None,
        override_id: None,
        scorecard_version: "test".into(),
        measures: Vec::new(),
    };
    store.write_snapshots(&[s], 0).await.unwrap();
}

#[tokio::test]
async fn the_board_lists_red_and_flagged_accounts_with_their_arr_and_next_step() {
    let db = test_db().await;
    let store = &db.store;
    let config = config();
    portfolio(store).await;
    band(store, "a1", "2025-03-01", Band::Red).await;
    band(store, "a2", "2025-03-01", Band::Green).await;
    flag_with(
        store,
        &Scope::All,
        &NewFlag {
            account_id: "a2",
            reason: "Champion left",
            source: FlagSource::Manual,
            next_step: "Meet the new sponsor",
            next_step_due: Some(d("2025-03-10")),
            by: Some("Lead@example.com"),
        },
        d("2025-02-27"),
    )
    .await
    .unwrap();

    let b = board(store, &config, &Scope::All, d("2025-03-01"))
        .await
        .unwrap();
    let rows: Vec<Row> = b
        .rows
        .iter()
        .map(|r| {
            (
                r.account_id.as_str(),
                r.arr,
                r.reason.as_str(),
                r.owner.as_deref(),
                r.next_step.as_deref(),
                r.next_step_due,
                r.days_on_board,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "a1",
                600_000,
                "Red health band",
                Some("ana@example.com"),
                None,
                None,
                0
            ),
            (
                "a2",
                120_000,
                "Champion left",
                Some("bob@example.com"),
                Some("Meet the new sponsor"),
                Some(d("2025-03-10")),
                2
            ),
        ]
    );
    assert_eq!(b.measure.accounts_at_risk, 2);
    assert_eq!(b.measure.arr_at_risk, 720_000);
    assert_eq!(b.measure.total_arr, 960_000);
    assert_eq!(b.thresholds.len(), 1);
    assert!(b.thresholds[0].above);
    assert_eq!(
        b.rows[1].flags[0].flagged_by.as_deref(),
        Some("lead@example.com")
    );

    // A CSM sees their own accounts only; bob cannot flag ana's account.
    let bob = Scope::Csm("bob@example.com".into());
    let mine = board(store, &config, &bob, d("2025-03-01")).await.unwrap();
    assert_eq!(mine.rows.len(), 1);
    assert_eq!(mine.rows[0].account_id, "a2");
    let err = flag(
        store,
        &bob,
        "a1",
        "Looks bad",
        FlagSource::Manual,
        d("2025-03-01"),
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");

    // Bad input names its fields.
    let err = flag_with(
        store,
        &Scope::All,
        &NewFlag {
            account_id: "a3",
            reason: " ",
            source: FlagSource::Manual,
            next_step: "",
            next_step_due: Some(d("2025-02-01")),
            by: None,
        },
        d("2025-03-01"),
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("reason: "), "{msg}");
    assert!(msg.contains("next_step: "), "{msg}");
    assert!(msg.contains("next_step_due: "), "{msg}");

    // A playbook flagging the same account twice keeps one flag.
    let pb = FlagSource::Playbook("Usage drop".into());
    let f1 = flag(
        store,
        &Scope::All,
        "a3",
        "Usage fell",
        pb.clone(),
        d("2025-03-01"),
        None,
    )
    .await
    .unwrap();
    let f2 = flag(
        store,
        &Scope::All,
        "a3",
        "Usage fell",
        pb,
        d("2025-03-02"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(f1.id, f2.id);
}

#[tokio::test]
async fn a_threshold_opens_a_review_once_per_crossing_and_again_after_it_clears() {
    let db = test_db().await;
    let store = &db.store;
    let config = config();
    portfolio(store).await;
    // Day 1: a1 red and a2 flagged by hand: 2 accounts at risk, above 1.
    band(store, "a1", "2025-03-01", Band::Red).await;
    flag(
        store,
        &Scope::All,
        "a2",
        "Champion left",
        FlagSource::Manual,
        d("2025-03-01"),
        None,
    )
    .await
    .unwrap();
    let day1 = daily(store, &config, d("2025-03-01")).await.unwrap();
    assert_eq!(day1.measure.accounts_at_risk, 2);
    let first = day1.opened.expect("crossing opens a review");
    // Run again the same day: no second review.
    assert!(
        daily(store, &config, d("2025-03-01"))
            .await
            .unwrap()
            .opened
            .is_none()
    );
    // Day 2: still above: no review.
    band(store, "a1", "2025-03-02", Band::Red).await;
    let day2 = daily(store, &config, d("2025-03-02")).await.unwrap();
    assert_eq!(day2.measure.accounts_at_risk, 2);
    assert!(day2.opened.is_none());
    // The band flag the pass recorded counts days on the board.
    let b = board(store, &config, &Scope::All, d("2025-03-02"))
        .await
        .unwrap();
    assert_eq!(b.rows[0].account_id, "a1");
    assert_eq!(b.rows[0].days_on_board, 1);
    // Day 3: a2 saved, a1 green: clears.
    let resolved = resolve(
        store,
        &config,
        &Scope::All,
        "a2",
        Outcome::Saved,
        Some("New sponsor signed"),
        d("2025-03-03"),
    )
    .await
    .unwrap();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].outcome, Some(Outcome::Saved));
    band(store, "a1", "2025-03-03", Band::Green).await;
    let day3 = daily(store, &config, d("2025-03-03")).await.unwrap();
    assert_eq!(day3.measure.accounts_at_risk, 0);
    assert!(day3.opened.is_none());
    // Day 4: a1 red again and a3 flagged by a playbook: crosses again.
    band(store, "a1", "2025-03-04", Band::Red).await;
    flag(
        store,
        &Scope::All,
        "a3",
        "Usage fell 40%",
        FlagSource::Playbook("Usage drop".into()),
        d("2025-03-04"),
        None,
    )
    .await
    .unwrap();
    let day4 = daily(store, &config, d("2025-03-04")).await.unwrap();
    let second = day4.opened.expect("re-crossing opens another review");
    assert_ne!(first.id, second.id);
    let all = reviews(store, &config, &Scope::All, d("2025-03-05"))
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].0.id, second.id);
    assert_eq!(all[0].0.crossed, "2 accounts at risk, more than 1");
    // The first review listed a1 and a2 with their ARR then.
    let v = review(store, &config, &Scope::All, &first.id, d("2025-03-05"))
        .await
        .unwrap();
    let items: Vec<(&str, i64)> = v
        .items
        .iter()
        .map(|(i, _, _)| (i.account_id.as_str(), i.arr))
        .collect();
    assert_eq!(items, [("a1", 600_000), ("a2", 120_000)]);
    assert_eq!(v.outcome.reviewed_arr, 720_000);
    assert_eq!(v.outcome.kept_arr, 720_000);
    // The chart's history has every measured day.
    let h = tenure_app::risk::history(store, d("2025-03-01"), d("2025-03-04"))
        .await
        .unwrap();
    let counts: Vec<u64> = h.iter().map(|(_, m)| m.accounts_at_risk).collect();
    assert_eq!(counts, [2, 2, 0, 2]);
}

#[tokio::test]
async fn holding_a_review_records_decisions_and_creates_their_tasks_once() {
    let db = test_db().await;
    let store = &db.store;
    let config = config();
    portfolio(store).await;
    band(store, "a1", "2025-03-01", Band::Red).await;
    flag(
        store,
        &Scope::All,
        "a2",
        "Champion left",
        FlagSource::Manual,
        d("2025-03-01"),
        None,
    )
    .await
    .unwrap();
    let r = daily(store, &config, d("2025-03-01"))
        .await
        .unwrap()
        .opened
        .unwrap();

    // Bad decisions are refused whole, each problem named.
    let err = hold_review(
        store,
        &config,
        &r.id,
        d("2025-03-02"),
        &[],
        &[Decision {
            account_id: "a3".into(),
            action: "Call".into(),
            ..Decision::default()
        }],
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("attendees: "), "{msg}");
    assert!(
        msg.contains("account_id: decisions[0]: \"a3\" is not in this review"),
        "{msg}"
    );

    let decisions = [
        parse_decision("a1=Executive sponsor call,ana@example.com,2025-03-09").unwrap(),
        parse_decision("a2=Watch for a month").unwrap(),
    ];
    let v = hold_review(
        store,
        &config,
        &r.id,
        d("2025-03-02"),
        &["CEO".into(), "VP CS".into()],
        &decisions,
    )
    .await
    .unwrap();
    assert_eq!(v.review.status, ReviewStatus::Held);
    assert_eq!(v.review.held_on, Some(d("2025-03-02")));
    assert_eq!(v.review.attendees, ["CEO", "VP CS"]);
    let a1 = &v
        .items
        .iter()
        .find(|(i, _, _)| i.account_id == "a1")
        .unwrap()
        .0;
    assert_eq!(a1.action.as_deref(), Some("Executive sponsor call"));
    let tasks = store
        .tasks(&TaskQuery {
            owner: Some("ana@example.com".into()),
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1);
    let t = &tasks[0];
    assert_eq!(t.source, TaskSource::Review);
    assert_eq!(t.source_id.as_deref(), Some(r.id.as_str()));
    assert_eq!(t.title, "Executive sponsor call");
    assert_eq!(t.due_on, Some(d("2025-03-09")));
    assert_eq!(a1.task_id.as_deref(), Some(t.id.as_str()));
    let a2 = &v
        .items
        .iter()
        .find(|(i, _, _)| i.account_id == "a2")
        .unwrap()
        .0;
    assert_eq!(a2.task_id, None);
    let all_tasks = store.tasks(&TaskQuery::default()).await.unwrap();
    assert_eq!(all_tasks.len(), 1);

    // Held twice: refused, no second task.
    let err = hold_review(
        store,
        &config,
        &r.id,
        d("2025-03-03"),
        &["CEO".into()],
        &decisions,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("already held"), "{err}");
    assert_eq!(store.tasks(&TaskQuery::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn resolving_takes_a_red_account_off_until_it_leaves_the_red_band() {
    let db = test_db().await;
    let store = &db.store;
    let config = config();
    portfolio(store).await;
    band(store, "a1", "2025-03-01", Band::Red).await;
    daily(store, &config, d("2025-03-01")).await.unwrap();
    band(store, "a1", "2025-03-02", Band::Red).await;
    resolve(
        store,
        &config,
        &Scope::All,
        "a1",
        Outcome::Downgraded,
        None,
        d("2025-03-02"),
    )
    .await
    .unwrap();
    let b = board(store, &config, &Scope::All, d("2025-03-02"))
        .await
        .unwrap();
    assert!(b.rows.is_empty(), "{:?}", b.rows);
    daily(store, &config, d("2025-03-02")).await.unwrap();
    assert!(
        board(store, &config, &Scope::All, d("2025-03-02"))
            .await
            .unwrap()
            .rows
            .is_empty()
    );
    // Green, then red again: back on the board.
    band(store, "a1", "2025-03-03", Band::Green).await;
    daily(store, &config, d("2025-03-03")).await.unwrap();
    band(store, "a1", "2025-03-04", Band::Red).await;
    let b = board(store, &config, &Scope::All, d("2025-03-04"))
        .await
        .unwrap();
    assert_eq!(b.rows.len(), 1);
    // Not on the board: refused by name.
    let err = resolve(
        store,
        &config,
        &Scope::All,
        "a2",
        Outcome::Saved,
        None,
        d("2025-03-04"),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().starts_with("account_id: "), "{err}");
}

#[tokio::test]
async fn a_backfill_measures_past_days_and_opens_a_review_per_crossing() {
    let db = test_db().await;
    let store = &db.store;
    let config = config();
    portfolio(store).await;
    for (day, red) in [
        ("2025-03-01", true),
        ("2025-03-02", true),
        ("2025-03-03", false),
        ("2025-03-04", true),
    ] {
        let b = if red { Band::Red } else { Band::Green };
        band(store, "a1", day, b).await;
        band(store, "a3", day, b).await;
    }
    let (days, opened) =
        tenure_app::risk::backfill(store, &config, d("2025-02-01"), d("2025-03-31"))
            .await
            .unwrap();
    assert_eq!(days, 4);
    let on: Vec<Date> = opened.iter().map(|r| r.opened_on).collect();
    assert_eq!(on, [d("2025-03-01"), d("2025-03-04")]);
    let h = tenure_app::risk::history(store, d("2025-03-01"), d("2025-03-04"))
        .await
        .unwrap();
    let arr: Vec<i64> = h.iter().map(|(_, m)| m.arr_at_risk).collect();
    assert_eq!(arr, [840_000, 840_000, 0, 840_000]);
    // Days on the board start again after the account left the red band.
    let b = board(store, &config, &Scope::All, d("2025-03-04"))
        .await
        .unwrap();
    assert!(b.rows.iter().all(|r| r.days_on_board == 0), "{:?}", b.rows);
}

// ------------------------------------------------------ segment thresholds

/// Two segments decided by Engage from an account attribute: `big` (a1)
/// and `small` (a2, a3); a review when more than one `small` account is
/// at risk, and nothing watched for the whole book.
const SEGMENTS: &str = r#"
[engage]
settle_days = 0

[[engage.tiers]]
name = "tech"

[[engage.stages]]
name = "customer"
entry = "paying"

[[engage.segments]]
name = "big"
rule = 'attrs.size == "big"'
tier = "tech"

[[engage.segments]]
name = "small"
rule = "true"
tier = "tech"

[[risk.segments]]
name = "small"
accounts_at_risk = 1
"#;

/// [`portfolio`]'s accounts with a `size` attribute: a1 `big`, the
/// others `small`.
async fn sized_portfolio(store: &Store) {
    for (id, csm, size) in [
        ("a1", "ana@example.com", "big"),
        ("a2", "bob@example.com", "small"),
        ("a3", "ana@example.com", "small"),
    ] {
        let mut a = Account::bare(id);
        a.name = format!("Account {id}");
        a.csm_email = Some(csm.into());
        a.attributes.insert("size".into(), size.into());
        store
            .create_record(&Record::Account(a), &Scope::All)
            .await
            .unwrap();
    }
    subscriptions(store).await;
}

/// The day's Engage pass (segments from the snapshots), then the risk pass.
async fn segment_day(
    store: &Store,
    config: &Config,
    day: &str,
    red: &[&str],
) -> tenure_app::risk::Daily {
    for id in ["a1", "a2", "a3"] {
        let b = if red.contains(&id) {
            Band::Red
        } else {
            Band::Green
        };
        band(store, id, day, b).await;
    }
    tenure_app::engage::run_day(store, config, d(day))
        .await
        .unwrap();
    daily(store, config, d(day)).await.unwrap()
}

#[tokio::test]
async fn a_segment_threshold_opens_a_review_of_its_accounts_once_per_crossing() {
    let db = test_db().await;
    let store = &db.store;
    let config = parse_config(SEGMENTS).unwrap();
    sized_portfolio(store).await;
    // a1 (big) and a2 (small) red: one small account, not above 1.
    let day1 = segment_day(store, &config, "2025-03-01", &["a1", "a2"]).await;
    assert_eq!(day1.measure.accounts_at_risk, 2);
    assert!(
        day1.opened.is_none(),
        "the book is not watched, small is at 1"
    );
    // a3 too: two small accounts at risk: a review of small's accounts.
    let day2 = segment_day(store, &config, "2025-03-02", &["a1", "a2", "a3"]).await;
    let first = day2.opened.expect("small crossed");
    assert_eq!(first.crossed, "small: 2 accounts at risk, more than 1");
    let v = review(store, &config, &Scope::All, &first.id, d("2025-03-02"))
        .await
        .unwrap();
    let items: Vec<&str> = v
        .items
        .iter()
        .map(|(i, _, _)| i.account_id.as_str())
        .collect();
    assert_eq!(items, ["a3", "a2"], "small's accounts only, by ARR");
    // Again the same day, and the next day still above: no other review.
    assert!(
        daily(store, &config, d("2025-03-02"))
            .await
            .unwrap()
            .opened
            .is_none()
    );
    let day3 = segment_day(store, &config, "2025-03-03", &["a1", "a2", "a3"]).await;
    assert!(day3.opened.is_none());
    // a2 recovers: small clears; the big account alone never opens one.
    let day4 = segment_day(store, &config, "2025-03-04", &["a1", "a3"]).await;
    assert!(day4.opened.is_none());
    // a2 red again: small crosses again, a second review.
    let day5 = segment_day(store, &config, "2025-03-05", &["a2", "a3"]).await;
    let second = day5.opened.expect("small crossed again");
    assert_ne!(second.id, first.id);
    let all = reviews(store, &config, &Scope::All, d("2025-03-05"))
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let counts: Vec<u64> = tenure_app::risk::history(store, d("2025-03-01"), d("2025-03-05"))
        .await
        .unwrap()
        .iter()
        .map(|(_, m)| m.accounts_at_risk)
        .collect();
    assert_eq!(counts, [2, 3, 3, 2, 2]);
}

// ------------------------------------------------------------ the digest

/// [`CONFIG`] with a Monday digest to an address and to the leaders.
fn digest_config() -> Config {
    parse_config(&format!(
        "{CONFIG}\n[risk.digest]\nto = [\"vp@example.com\", \"leaders\"]\nweekday = \"monday\"\n"
    ))
    .unwrap()
}

async fn users(store: &Store) {
    use tenure_store::auth::{NewUser, Role};
    for (email, role, disabled) in [
        ("admin@example.com", Role::Admin, false),
        ("lead@example.com", Role::Leader, false),
        ("vp@example.com", Role::Leader, false),
        ("gone@example.com", Role::Leader, true),
        ("ana@example.com", Role::Csm, false),
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
                jiff::Timestamp::UNIX_EPOCH,
            )
            .await
            .unwrap();
        if disabled {
            store.set_user_disabled(email, true).await.unwrap();
        }
    }
}

/// The digest emails in the outbox, by recipient.
async fn digests(store: &Store) -> Vec<tenure_store::outbound::Message> {
    let mut out: Vec<_> = store
        .outbox_log(&tenure_store::outbound::LogQuery::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.source.starts_with("risk:digest:"))
        .collect();
    out.sort_by(|a, b| a.target.cmp(&b.target));
    out
}

#[tokio::test]
async fn the_weekly_digest_is_queued_once_per_recipient_on_its_weekday() {
    let db = test_db().await;
    let store = &db.store;
    let config = digest_config();
    portfolio(store).await;
    users(store).await;
    // Monday 2025-02-24, a week before: a2 red, one account at risk.
    band(store, "a2", "2025-02-24", Band::Red).await;
    let monday = daily(store, &config, d("2025-02-24")).await.unwrap();
    assert_eq!(monday.digest.len(), 3, "the first Monday sends one too");
    // Wednesday: a1 red too, two at risk: a review opens.
    for id in ["a1", "a2"] {
        band(store, id, "2025-02-26", Band::Red).await;
    }
    let wed = daily(store, &config, d("2025-02-26")).await.unwrap();
    let opened = wed.opened.expect("crossed");
    assert!(wed.digest.is_empty(), "not on a Wednesday");
    // Friday: a2 saved by hand; the review is held with a task.
    for id in ["a1", "a2"] {
        band(store, id, "2025-02-28", Band::Red).await;
    }
    resolve(
        store,
        &config,
        &Scope::All,
        "a2",
        Outcome::Saved,
        None,
        d("2025-02-28"),
    )
    .await
    .unwrap();
    assert!(
        daily(store, &config, d("2025-02-28"))
            .await
            .unwrap()
            .digest
            .is_empty()
    );
    hold_review(
        store,
        &config,
        &opened.id,
        d("2025-02-28"),
        &["CEO".to_string(), "VP CS".to_string()],
        &[parse_decision("a1=Executive call,ana@example.com,2025-03-07").unwrap()],
    )
    .await
    .unwrap();
    // Monday 2025-03-03: a1 still red, a3 flagged by hand: the digest.
    band(store, "a1", "2025-03-03", Band::Red).await;
    band(store, "a2", "2025-03-03", Band::Green).await;
    flag(
        store,
        &Scope::All,
        "a3",
        "Champion left",
        FlagSource::Manual,
        d("2025-03-03"),
        None,
    )
    .await
    .unwrap();
    let before = digests(store).await.len();
    let day = daily(store, &config, d("2025-03-03")).await.unwrap();
    let second = day.opened.expect("two at risk again: crossed again");
    assert_eq!(day.digest.len(), 3);
    let sent = digests(store).await;
    assert_eq!(sent.len(), before + 3);
    let week: Vec<_> = sent
        .iter()
        .filter(|m| m.source == "risk:digest:2025-03-03")
        .collect();
    let to: Vec<&str> = week.iter().map(|m| m.target.as_str()).collect();
    assert_eq!(
        to,
        ["admin@example.com", "lead@example.com", "vp@example.com"],
        "each recipient once: the address and the enabled leaders and admins"
    );
    let body = &week[0].body;
    assert!(
        week.iter()
            .all(|m| &m.body == body && m.account_id.is_none())
    );
    assert_eq!(
        week[0].subject.as_deref(),
        Some("Risk board, week to 2025-03-03: 2 accounts at risk, USD 8,400 ARR at risk")
    );
    let expected = format!(
        "Risk board, week of 2025-02-25 to 2025-03-03

Today: 2 accounts at risk, USD 8,400 ARR at risk (87.5% of USD 9,600 total ARR).
On 2025-02-24: 1 account at risk, USD 1,200 ARR at risk (12.5%). Change: +1 accounts, +USD 7,200 ARR.

Came on the board (2):
  - Account a1 (a1): USD 6,000 ARR, owner ana@example.com, since 2025-02-26: Red health band
  - Account a3 (a3): USD 2,400 ARR, owner ana@example.com, since 2025-03-03: Champion left

Left the board (1):
  - Account a2 (a2): USD 1,200 ARR, saved on 2025-02-28

Reviews opened (2):
  - {first} on 2025-02-26: 2 accounts at risk, more than 1; 2 accounts
  - {second} on 2025-03-03: 2 accounts at risk, more than 1; 2 accounts
Reviews held (1):
  - {first} on 2025-02-28 with CEO, VP CS: 1 of 2 accounts decided, 1 task

The board: /risk
",
        first = opened.id,
        second = second.id
    );
    assert_eq!(body, &expected);
    // The pass again the same day (the job runs it many times): none more.
    let again = daily(store, &config, d("2025-03-03")).await.unwrap();
    assert!(again.digest.is_empty());
    assert_eq!(digests(store).await.len(), before + 3);
    // Not on the other days of the week.
    for day in ["2025-03-04", "2025-03-05", "2025-03-09"] {
        band(store, "a1", day, Band::Red).await;
        assert!(
            daily(store, &config, d(day))
                .await
                .unwrap()
                .digest
                .is_empty()
        );
    }
    assert_eq!(digests(store).await.len(), before + 3);
    // The dry run words the same digest, and sending it again does nothing.
    let dry = tenure_app::risk::digest(store, &config, d("2025-03-03"))
        .await
        .unwrap();
    assert_eq!(&dry.text(), body);
    assert_eq!(
        tenure_app::risk::send_digest(store, &config, d("2025-03-03"))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn no_digest_without_its_section_or_without_recipients() {
    let db = test_db().await;
    let store = &db.store;
    portfolio(store).await;
    band(store, "a1", "2025-03-03", Band::Red).await;
    // No [risk.digest]: nothing on a Monday.
    let r = daily(store, &config(), d("2025-03-03")).await.unwrap();
    assert!(r.digest.is_empty());
    // `leaders` with no leader yet: nothing, and a later pass still can.
    let leaders = parse_config(&format!("{CONFIG}\n[risk.digest]\nto = [\"leaders\"]\n")).unwrap();
    assert!(
        daily(store, &leaders, d("2025-03-03"))
            .await
            .unwrap()
            .digest
            .is_empty()
    );
    users(store).await;
    let r = daily(store, &leaders, d("2025-03-03")).await.unwrap();
    assert_eq!(r.digest.len(), 3, "admin, lead and vp");
    assert!(
        digests(store)
            .await
            .iter()
            .all(|m| m.source == "risk:digest:2025-03-03")
    );
}
