//! The events table partitioned by month (docs/SCALE.md), PostgreSQL only:
//! skipped unless `TEST_DATABASE_URL` points at a server.
//!
//! Two databases get the same data; `deploy/postgres/partition-events.sql`
//! converts one of them half-way. Everything written after (imports with
//! message ids already stored, Segment-style ingest with duplicates and
//! pending events, an event created through the API, an account deleted)
//! must leave both databases with the same events, the same usage rollups
//! and the same answers to the metrics, health and usage reads, and each
//! new row must land in its month's partition.

use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::{AssertSqlSafe, Connection, Row};
use tenure_core::config::Config;
use tenure_core::health::HealthModel;
use tenure_core::metrics::{Period, UsageAccumulator};
use tenure_core::model::{Account, Event};
use tenure_store::analytics::LoadRange;
use tenure_store::api::{Created, RecordQuery, Scope};
use tenure_store::health::{Shard, SignalsRequest};
use tenure_store::import::ImportSummary;
use tenure_store::ingest::{Incoming, IngestSummary, Message};
use tenure_store::rows::Record;
use tenure_store::testing::{TestDb, import_text as import, test_db};
use tenure_store::{Kind, Store};

const SCRIPT: &str = include_str!("../../../deploy/postgres/partition-events.sql");

const NAMES: [&str; 5] = [
    "login",
    "report_created",
    "export",
    "invite_sent",
    "dashboard_viewed",
];

/// 2025-07-01T00:00:00Z in seconds.
const JULY_2025: i64 = 1_751_328_000;

fn on_postgres() -> bool {
    let set = std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty());
    if !set {
        eprintln!(
            "skipped: the partitioned events table is PostgreSQL only; TEST_DATABASE_URL is not set"
        );
    }
    set
}

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Runs the conversion script on the database as `psql -f` would: the
/// whole file in one go, as the script's own transaction.
async fn partition(db: &TestDb) -> Result<(), sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(&db.url).await?;
    let done = sqlx::raw_sql(AssertSqlSafe(SCRIPT))
        .execute(&mut conn)
        .await;
    // A failed script leaves its transaction open and aborted: closing the
    // connection rolls it back, as psql's exit does.
    conn.close().await?;
    done.map(|_| ())
}

/// One text column of every row `sql` returns.
async fn texts(store: &Store, sql: &str) -> Vec<String> {
    sqlx::query(AssertSqlSafe(sql.to_string()))
        .fetch_all(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| {
            r.try_get::<Option<String>, _>(0)
                .unwrap()
                .unwrap_or_default()
        })
        .collect()
}

/// The counts of an import, without its timing.
fn counts(s: &ImportSummary) -> [u64; 5] {
    [
        s.rows,
        s.inserted,
        s.updated,
        s.duplicates_skipped,
        s.accounts_created,
    ]
}

fn accounts_csv() -> String {
    let mut s = String::from("id,name,plan,csm_email\n");
    for a in 1..=12 {
        s += &format!("a{a:02},Account {a},pro,csm{}@example.com\n", a % 3);
    }
    s
}

fn subscriptions_csv() -> String {
    let mut s = String::from("id,account_id,mrr,currency,seats,start_date,end_date\n");
    for a in 1..=12 {
        let end = if a % 4 == 0 { "2025-11-30" } else { "" };
        s += &format!(
            "s{a:02},a{a:02},{},USD,{},2025-06-01,{end}\n",
            100 * a,
            5 + a
        );
    }
    s
}

/// Event `i` of the generated history: a spread of accounts, users, names
/// and times from July to December 2025; two in three carry a message id.
fn event_row(i: u64) -> (String, String) {
    let account = format!("a{:02}", (i * 7) % 12 + 1);
    let user = format!("{account}-u{}", (i * 3) % 5);
    let name = NAMES[((i * 13) % 5) as usize];
    // 184 days from July 1st, spread by a large odd step.
    let second = JULY_2025 + ((i * 5_297_003) % (184 * 86_400)) as i64;
    let when = Timestamp::from_second(second).unwrap();
    let properties = if i.is_multiple_of(10) {
        format!("\"{{\"\"n\"\":{i}}}\"")
    } else {
        String::new()
    };
    let message_id = if i.is_multiple_of(3) {
        String::new()
    } else {
        format!("imp-{i}")
    };
    (
        account.clone(),
        format!("{when},{account},{user},{name},{properties},{message_id}\n"),
    )
}

const EVENTS_HEADER: &str = "timestamp,account_id,user_id,event,properties,message_id\n";

fn first_events_csv() -> String {
    let mut s = String::from(EVENTS_HEADER);
    for i in 0..3000 {
        s += &event_row(i).1;
    }
    // The same message id again at another time: skipped.
    s += "2025-08-02T10:00:00Z,a01,a01-u0,login,,imp-1\n";
    s
}

/// Written after the conversion: message ids stored already (at the same
/// time and at another), new events, an event in October to find in its
/// partition and one in January 2026, a month that held no event when the
/// script ran.
fn second_events_csv() -> String {
    let mut s = String::from(EVENTS_HEADER);
    for i in 1..100 {
        s += &event_row(i).1;
    }
    s += "2025-09-09T09:09:09Z,a02,a02-u1,export,,imp-5\n";
    for i in 3000..3600 {
        s += &event_row(i).1.replace(",imp-", ",new-");
    }
    s += "2025-10-15T12:00:00Z,a04,a04-u2,login,,probe-october\n";
    s += "2026-01-10T08:00:00Z,a04,a04-u2,login,,probe-january\n";
    s += "2025-10-16T12:00:00Z,a04,a04-u3,login,,\n";
    s
}

fn track(id: &str, user: &str, event: &str, at: &str, group: Option<&str>) -> Incoming {
    Incoming {
        message_id: (!id.is_empty()).then(|| id.to_string()),
        message: Message::Track {
            user_id: user.into(),
            event: event.into(),
            properties: Some(r#"{"plan":"pro"}"#.into()),
            timestamp: ts(at),
            group_id: group.map(str::to_string),
        },
    }
}

fn group(id: &str, user: &str, account: &str) -> Incoming {
    Incoming {
        message_id: Some(id.into()),
        message: Message::Group {
            user_id: Some(user.into()),
            group_id: account.into(),
            name: None,
            industry: None,
            employees: None,
            plan: None,
        },
    }
}

/// Before the conversion: a user joins a02 and uses it; an unknown user's
/// events wait; a repeated message id in the request; a message id an
/// import stored already.
fn first_ingest() -> Vec<Incoming> {
    vec![
        group("seg-g1", "seg-u1", "a02"),
        track("seg-1", "seg-u1", "login", "2025-11-05T10:00:00Z", None),
        track("seg-2", "seg-u9", "export", "2025-10-10T10:00:00Z", None),
        track("seg-3", "seg-u9", "login", "2025-12-20T10:00:00Z", None),
        track(
            "seg-4",
            "seg-u5",
            "login",
            "2025-09-01T10:00:00Z",
            Some("a05"),
        ),
        track("seg-1", "seg-u1", "login", "2025-11-05T10:00:00Z", None),
        track(
            "imp-2",
            "seg-u5",
            "login",
            "2025-09-02T10:00:00Z",
            Some("a03"),
        ),
    ]
}

/// After: a message of the first request again, a pending event whose id
/// an import stored, the group call that moves the pending events in, an
/// event in January 2026 and one without a message id.
fn second_ingest() -> Vec<Incoming> {
    vec![
        track("seg-1", "seg-u1", "login", "2025-11-05T10:00:00Z", None),
        track("imp-4", "seg-u9", "login", "2025-11-11T10:00:00Z", None),
        track(
            "seg-6",
            "seg-u9",
            "report_created",
            "2025-12-01T10:00:00Z",
            None,
        ),
        group("seg-g2", "seg-u9", "a07"),
        track(
            "seg-5",
            "seg-u1",
            "login",
            "2026-01-10T10:00:00Z",
            Some("a01"),
        ),
        track("", "seg-u1", "export", "2025-10-15T10:00:00Z", Some("a01")),
        track("seg-7", "seg-u1", "export", "2025-10-15T11:00:00Z", None),
    ]
}

async fn ingest(store: &Store, items: Vec<Incoming>) -> IngestSummary {
    store
        .ingest(items, ts("2026-02-01T00:00:00Z"))
        .await
        .unwrap()
}

async fn is_partitioned(store: &Store) -> bool {
    texts(
        store,
        "SELECT relkind::text FROM pg_class WHERE oid = 'events'::regclass",
    )
    .await
        == ["p"]
}

async fn partition_of(store: &Store, message_id: &str) -> String {
    let found = texts(
        store,
        &format!("SELECT tableoid::regclass::text FROM events WHERE message_id = '{message_id}'"),
    )
    .await;
    assert_eq!(found.len(), 1, "event {message_id}: {found:?}");
    found[0].clone()
}

/// What the health reads are asked: every account, no payments.
fn request<'a>(
    model: &'a HealthModel,
    config: &'a Config,
    accounts: &'a [Account],
    dates: &'a [Date],
) -> SignalsRequest<'a> {
    SignalsRequest {
        plan: model.plan(),
        currency: &config.currency,
        dates,
        shard: Shard::split(accounts, usize::MAX)[0],
        track_payments: false,
    }
}

/// Every stored row the events feed, and every read of them, compared
/// between the unpartitioned and the partitioned database.
async fn assert_same(plain: &Store, parted: &Store, when: &str) {
    for (what, sql) in [
        ("events", "SELECT e::text FROM events e ORDER BY seq"),
        (
            "usage_days",
            "SELECT t::text FROM usage_days t ORDER BY day, account_id, event",
        ),
        (
            "usage_users",
            "SELECT t::text FROM usage_users t ORDER BY block, account_id, user_id",
        ),
        (
            "usage_user_first",
            "SELECT t::text FROM usage_user_first t ORDER BY account_id, user_id",
        ),
        (
            "usage_totals",
            "SELECT t::text FROM usage_totals t ORDER BY day, account_id",
        ),
        (
            "usage_names",
            "SELECT t::text FROM usage_names t ORDER BY id",
        ),
        (
            "pending_events",
            "SELECT t::text FROM pending_events t ORDER BY seq",
        ),
    ] {
        let (a, b) = (texts(plain, sql).await, texts(parted, sql).await);
        assert!(
            what == "pending_events" || !a.is_empty(),
            "{what} is empty {when}"
        );
        assert_eq!(a, b, "{what} differ {when}");
    }

    // The metrics inputs: the bulk load and the events streamed into the
    // usage windows (DAU, WAU, MAU).
    let period = Period::new(d("2025-07-01"), d("2026-01-31")).unwrap();
    let ends = [d("2025-09-30"), d("2025-12-31"), d("2026-01-31")];
    let mut usage = Vec::new();
    for store in [plain, parted] {
        let load = store
            .load_metrics_input(Some(LoadRange {
                from: period.from(),
                to: period.to(),
            }))
            .await
            .unwrap();
        let mut acc = UsageAccumulator::new(&ends);
        let streamed = store
            .stream_usage(&load.account_index, &mut acc)
            .await
            .unwrap();
        usage.push((load.input, streamed, acc.finish()));
    }
    assert!(usage[0].1 > 0, "no event streamed {when}");
    assert_eq!(usage[0], usage[1], "the metrics inputs differ {when}");

    // Health: many dates' signals from the raw events (recompute,
    // backtest) and one date's from the rollups (today's scores).
    let config = Config::default();
    let model = HealthModel::new(&config.health);
    let dates = [d("2025-08-15"), d("2025-10-31"), d("2026-01-15")];
    let mut signals = Vec::new();
    for store in [plain, parted] {
        let accounts = store.health_accounts().await.unwrap();
        let table = store
            .load_signals(request(&model, &config, &accounts, &dates))
            .await
            .unwrap();
        let many: Vec<_> = (0..dates.len())
            .flat_map(|day| (0..accounts.len()).map(move |i| (day, i)))
            .map(|(day, i)| table.signals(day, i))
            .collect();
        let mut on = Vec::new();
        for date in &dates {
            on.push(
                store
                    .load_signals_on(request(
                        &model,
                        &config,
                        &accounts,
                        std::slice::from_ref(date),
                    ))
                    .await
                    .unwrap(),
            );
            on.push(
                store
                    .load_usage_on(request(
                        &model,
                        &config,
                        &accounts,
                        std::slice::from_ref(date),
                    ))
                    .await
                    .unwrap(),
            );
        }
        signals.push((many, on));
    }
    assert!(
        signals[0]
            .0
            .iter()
            .any(|s| s.event_counts.iter().any(|&n| n > 0)),
        "no events in the signals {when}"
    );
    assert_eq!(signals[0], signals[1], "the health signals differ {when}");

    // The account page, the shared views and the churn model's reads.
    for account in ["a01", "a04", "a07"] {
        let mut use_of = Vec::new();
        for store in [plain, parted] {
            let mut u = store
                .account_use_summary(account, d("2025-12-31"))
                .await
                .unwrap();
            u.weekly_users.sort();
            u.events.sort();
            use_of.push(u);
        }
        assert_eq!(use_of[0], use_of[1], "{account}'s use differs {when}");
    }
    let (from, to) = (d("2025-07-01"), d("2026-01-31"));
    let mut used = Vec::new();
    for store in [plain, parted] {
        // In no particular order.
        let mut u = store.events_used(from, to).await.unwrap();
        u.sort();
        used.push(u);
    }
    assert_eq!(used[0], used[1], "events used differ {when}");
    assert_eq!(
        plain.event_name_totals(from, to).await.unwrap(),
        parted.event_name_totals(from, to).await.unwrap(),
        "event name totals differ {when}"
    );
    // The API's listing, a page and the page after it.
    let mut q = RecordQuery {
        account_id: Some("a04".into()),
        limit: 40,
        ..RecordQuery::default()
    };
    for _ in 0..2 {
        let (a, b) = (
            plain.list_events(&q).await.unwrap(),
            parted.list_events(&q).await.unwrap(),
        );
        assert_eq!(a.items, b.items, "the API's events differ {when}");
        assert_eq!(a.next, b.next);
        q.after = a.next;
    }
    assert_eq!(
        plain.data_fingerprint().await.unwrap(),
        parted.data_fingerprint().await.unwrap(),
        "the data fingerprints differ {when}"
    );
}

#[tokio::test]
async fn partitioned_events_keep_every_write_and_read_as_before() {
    if !on_postgres() {
        return;
    }
    let (plain_db, parted_db) = (test_db().await, test_db().await);
    let (plain, parted) = (&plain_db.store, &parted_db.store);

    for store in [plain, parted] {
        import(store, Kind::Accounts, "accounts.csv", &accounts_csv()).await;
        import(store, Kind::Subscriptions, "subs.csv", &subscriptions_csv()).await;
    }
    let (a, b) = (
        import(plain, Kind::Events, "events.csv", &first_events_csv()).await,
        import(parted, Kind::Events, "events.csv", &first_events_csv()).await,
    );
    assert_eq!(counts(&a), [3001, 3000, 0, 1, 0]);
    assert_eq!(counts(&a), counts(&b));
    let (a, b) = (
        ingest(plain, first_ingest()).await,
        ingest(parted, first_ingest()).await,
    );
    // seg-1 twice, imp-2 stored by the import: 7 messages, 6 accepted,
    // 2 written, 2 pending.
    assert_eq!(
        (a.accepted, a.duplicates, a.events, a.pending),
        (6, 1, 2, 2)
    );
    assert_eq!(a, b);

    partition(&parted_db).await.expect("the conversion script");
    assert!(!is_partitioned(plain).await);
    assert!(is_partitioned(parted).await);
    let months = texts(
        parted,
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'events'::regclass ORDER BY 1",
    )
    .await;
    for month in ["07", "08", "09", "10", "11", "12"] {
        let name = format!("events_2025_{month}");
        assert!(months.contains(&name), "no {name} in {months:?}");
    }
    assert!(months.contains(&"events_default".to_string()));
    assert!(!months.contains(&"events_2026_01".to_string()));
    assert_eq!(
        texts(parted, "SELECT COUNT(*)::text FROM events_default").await,
        ["0"]
    );
    assert_same(plain, parted, "right after the conversion").await;

    // Writes after the conversion.
    let (a, b) = (
        import(plain, Kind::Events, "more.csv", &second_events_csv()).await,
        import(parted, Kind::Events, "more.csv", &second_events_csv()).await,
    );
    // 1 to 99 again: the 66 with a message id are skipped, the 33 without
    // are written again; imp-5 at another time is skipped too.
    assert_eq!(counts(&a), [703, 636, 0, 67, 0]);
    assert_eq!(counts(&a), counts(&b));
    let (a, b) = (
        ingest(plain, second_ingest()).await,
        ingest(parted, second_ingest()).await,
    );
    // seg-1 seen before; of the pending seg-2, seg-3, imp-4 and seg-6 the
    // group call moves in all but imp-4, which an import stored.
    assert_eq!((a.accepted, a.duplicates, a.attributed), (6, 1, 3), "{a:?}");
    assert_eq!(a, b);
    for at in ["2025-12-31T23:59:59.999999Z", "2026-01-01T00:00:00Z"] {
        for store in [plain, parted] {
            let event = Record::Event(Event {
                timestamp: ts(at),
                account_id: "a06".into(),
                user_id: "a06-u1".into(),
                event: "login".into(),
                properties: None,
                message_id: Some(format!("api-{at}")),
            });
            assert_eq!(
                store.create_record(&event, &Scope::All).await.unwrap(),
                Created::Created
            );
            // The same message id again: already there, nothing written.
            assert_eq!(
                store.create_record(&event, &Scope::All).await.unwrap(),
                Created::AlreadyExists
            );
        }
    }
    assert_same(plain, parted, "after more imports and ingest").await;

    // Each new row is in its month's partition; a month without one yet
    // goes to the default partition, to the microsecond.
    assert_eq!(
        partition_of(parted, "probe-october").await,
        "events_2025_10"
    );
    assert_eq!(partition_of(parted, "seg-7").await, "events_2025_10");
    assert_eq!(partition_of(parted, "seg-6").await, "events_2025_12");
    assert_eq!(
        partition_of(parted, "api-2025-12-31T23:59:59.999999Z").await,
        "events_2025_12"
    );
    for late in ["probe-january", "seg-5", "api-2026-01-01T00:00:00Z"] {
        assert_eq!(partition_of(parted, late).await, "events_default");
    }

    // Adding January moves its rows out of the default partition without
    // counting them again, and new January rows go there.
    assert_eq!(
        texts(parted, "SELECT events_add_month('2026-01-20')").await,
        ["events_2026_01"]
    );
    assert_eq!(
        texts(
            parted,
            "SELECT COALESCE(events_add_month('2026-01-01'), 'none')"
        )
        .await,
        ["none"]
    );
    for late in ["probe-january", "seg-5", "api-2026-01-01T00:00:00Z"] {
        assert_eq!(partition_of(parted, late).await, "events_2026_01");
    }
    assert_eq!(
        texts(parted, "SELECT COUNT(*)::text FROM events_default").await,
        ["0"]
    );
    let january = "timestamp,account_id,user_id,event,message_id\n\
                   2026-01-31T23:59:59Z,a08,a08-u1,export,jan-1\n\
                   2026-01-20T10:00:00Z,a08,a08-u1,export,seg-5\n";
    for store in [plain, parted] {
        assert_eq!(
            counts(&import(store, Kind::Events, "january.csv", january).await),
            [2, 1, 0, 1, 0]
        );
    }
    assert_eq!(partition_of(parted, "jan-1").await, "events_2026_01");
    assert_same(plain, parted, "after adding January").await;

    // Deleting an account deletes its events and frees their message ids:
    // importing them again writes them again, on both.
    for store in [plain, parted] {
        store
            .delete_record(Kind::Accounts, "a03", &Scope::All)
            .await
            .unwrap();
    }
    assert_same(plain, parted, "after deleting a03").await;
    assert_eq!(
        texts(
            parted,
            "SELECT COUNT(*)::text FROM event_message_ids m \
             WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = m.message_id)"
        )
        .await,
        ["0"],
        "message ids of deleted events are still held"
    );
    let mut again = String::from(EVENTS_HEADER);
    for i in 0..3000 {
        let (account, row) = event_row(i);
        if account == "a03" {
            again += &row;
        }
    }
    let mut a03 = Vec::new();
    for store in [plain, parted] {
        import(store, Kind::Accounts, "a03.csv", "id,name\na03,Account 3\n").await;
        a03.push(counts(
            &import(store, Kind::Events, "a03-again.csv", &again).await,
        ));
    }
    assert_eq!(a03[0], a03[1]);
    assert_eq!(
        a03[0][1], a03[0][0],
        "a03's events were not all written again"
    );
    assert_same(plain, parted, "after importing a03 again").await;

    // The script refuses to run twice and changes nothing.
    let before = texts(parted, "SELECT e::text FROM events e ORDER BY seq").await;
    let err = partition(&parted_db).await.unwrap_err().to_string();
    assert!(err.contains("events is already partitioned"), "{err}");
    assert_eq!(
        texts(parted, "SELECT e::text FROM events e ORDER BY seq").await,
        before
    );
}

#[tokio::test]
async fn a_failed_conversion_leaves_the_events_table_as_it_was() {
    if !on_postgres() {
        return;
    }
    let db = test_db().await;
    let store = &db.store;
    import(store, Kind::Accounts, "accounts.csv", &accounts_csv()).await;
    import(store, Kind::Events, "events.csv", &first_events_csv()).await;
    let events = texts(store, "SELECT e::text FROM events e ORDER BY seq").await;
    let days = texts(store, "SELECT t::text FROM usage_days t ORDER BY 1").await;
    // A table in the way of August's partition: the script stops part-way,
    // after it has renamed the table and moved July.
    sqlx::query("CREATE TABLE events_2025_08 (x BIGINT)")
        .execute(store.pool())
        .await
        .unwrap();

    let err = partition(&db).await.unwrap_err().to_string();
    assert!(
        err.contains("a table named events_2025_08 exists but is not a partition of events"),
        "{err}"
    );
    assert!(!is_partitioned(store).await);
    assert_eq!(
        texts(store, "SELECT e::text FROM events e ORDER BY seq").await,
        events
    );
    assert_eq!(
        texts(store, "SELECT t::text FROM usage_days t ORDER BY 1").await,
        days
    );
    assert_eq!(
        texts(
            store,
            "SELECT COALESCE(to_regclass('event_message_ids')::text, '') \
             || COALESCE(to_regclass('events_before_partitioning')::text, '') \
             || COALESCE(to_regclass('events_2025_07')::text, '') \
             || (SELECT COUNT(*)::text FROM pg_proc WHERE proname LIKE 'events_add_%')"
        )
        .await,
        ["0"]
    );
    // The store still writes there as before, duplicates skipped.
    assert_eq!(
        counts(&import(store, Kind::Events, "events.csv", &first_events_csv()).await),
        [3001, 1000, 0, 2001, 0]
    );
}

#[tokio::test]
async fn two_writers_of_the_same_message_id_write_it_once() {
    if !on_postgres() {
        return;
    }
    let db = test_db().await;
    import(&db.store, Kind::Accounts, "accounts.csv", &accounts_csv()).await;
    partition(&db).await.expect("the conversion script");
    // The statement the importers and ingest send, from two connections
    // (two servers on one database).
    const INSERT: &str = "INSERT INTO events (account_id, user_id, event, ts, message_id) \
                          VALUES ('a01', 'a01-u1', 'login', 1760000000000000, 'raced') \
                          ON CONFLICT DO NOTHING";
    let mut first = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut second = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut tx = first.begin().await.unwrap();
    let written = sqlx::query(INSERT).execute(&mut *tx).await.unwrap();
    assert_eq!(written.rows_affected(), 1);
    let racer = tokio::spawn(async move {
        let n = sqlx::query(INSERT)
            .execute(&mut second)
            .await
            .unwrap()
            .rows_affected();
        (n, second)
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !racer.is_finished(),
        "the second writer did not wait for the first one's message id"
    );
    tx.commit().await.unwrap();
    let (n, second) = racer.await.unwrap();
    assert_eq!(n, 0, "the second writer wrote the message id again");
    second.close().await.unwrap();
    first.close().await.unwrap();
    assert_eq!(
        texts(
            &db.store,
            "SELECT COUNT(*)::text FROM events WHERE message_id = 'raced'"
        )
        .await,
        ["1"]
    );
}
