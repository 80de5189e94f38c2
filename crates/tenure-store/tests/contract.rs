//! The store contract: what every backend must do. Runs on SQLite by default
//! and on PostgreSQL when `TEST_DATABASE_URL` points at a server (the test
//! script runs it both ways).

use std::io::Write;

use tenure_store::export::ExportFormat;
use tenure_store::import::{ImportOptions, ImportSummary, Problem};
use tenure_store::testing::test_db;
use tenure_store::{Kind, Store, StoreError};

const ACCOUNTS: &str = "\
name,id,plan,employees,region,tier,industry
Acme Corp,acc-1,growth,120,EMEA,gold,Software
Globex,acc-2,starter,8,NA,,Retail
";

const SUBSCRIPTIONS: &str = "\
id,account_id,mrr,currency,seats,start_date,end_date,renewal_date,plan
sub-1,acc-1,1200.50,USD,10,2025-01-01,,2026-01-01,growth
sub-2,acc-2,99,EUR,,2025-02-15,2025-08-15,,starter
";

const EVENTS: &str = r#"{"timestamp":"2025-03-01T09:30:00Z","account_id":"acc-1","user_id":"u1","event":"login"}
{"timestamp":"2025-03-01T23:30:00-02:00","account_id":"acc-1","user_id":"u2","event":"report_created","properties":{"size":3}}

{"timestamp":"2025-03-02T10:00:00.123456Z","account_id":"acc-2","user_id":"u3","event":"login","message_id":"m-1"}
"#;

async fn import(
    store: &Store,
    kind: Kind,
    name: &str,
    body: &str,
) -> Result<ImportSummary, StoreError> {
    import_with(
        store,
        kind,
        name,
        body.as_bytes(),
        &ImportOptions::default(),
    )
    .await
}

async fn import_with(
    store: &Store,
    kind: Kind,
    name: &str,
    body: &[u8],
    options: &ImportOptions,
) -> Result<ImportSummary, StoreError> {
    store
        .import_reader(kind, name, body, options, &mut |_| {})
        .await
}

/// Imports a bad file and returns its problems, checking that nothing changed.
async fn rejected(store: &Store, kind: Kind, name: &str, body: &[u8]) -> Vec<Problem> {
    rejected_with(store, kind, name, body, &ImportOptions::default()).await
}

async fn rejected_with(
    store: &Store,
    kind: Kind,
    name: &str,
    body: &[u8],
    options: &ImportOptions,
) -> Vec<Problem> {
    let mut before = Vec::new();
    for k in Kind::ALL {
        before.push(store.count(k).await.unwrap());
    }
    let err = import_with(store, kind, name, body, options)
        .await
        .expect_err("the file should be rejected");
    let mut after = Vec::new();
    for k in Kind::ALL {
        after.push(store.count(k).await.unwrap());
    }
    assert_eq!(before, after, "a rejected import must write nothing");
    match err {
        StoreError::Invalid(p) => p,
        other => panic!("expected bad input, got {other}"),
    }
}

async fn export_string(store: &Store, kind: Kind, format: ExportFormat) -> String {
    let mut out = Vec::new();
    store.export(kind, format, &mut out).await.unwrap();
    String::from_utf8(out).unwrap()
}

async fn seeded() -> tenure_store::testing::TestDb {
    let db = test_db().await;
    import(&db.store, Kind::Accounts, "accounts.csv", ACCOUNTS)
        .await
        .unwrap();
    db
}

#[tokio::test]
async fn migrations_apply_once_and_report_status() {
    let db = test_db().await;
    db.store.migrate().await.unwrap();
    let states = db.store.migration_status().await.unwrap();
    assert!(!states.is_empty());
    assert!(states.iter().all(|m| m.applied));
    assert!(db.store.ping().await);
}

#[tokio::test]
async fn accounts_import_by_header_name_with_custom_attributes() {
    let db = test_db().await;
    let s = import(&db.store, Kind::Accounts, "accounts.csv", ACCOUNTS)
        .await
        .unwrap();
    assert_eq!((s.rows, s.inserted, s.updated), (2, 2, 0));
    let csv = export_string(&db.store, Kind::Accounts, ExportFormat::Csv).await;
    assert_eq!(
        csv,
        "id,name,industry,employees,region,plan,csm_email,created_at,trial_start,trial_end,tier\n\
         acc-1,Acme Corp,Software,120,EMEA,growth,,,,,gold\n\
         acc-2,Globex,Retail,8,NA,starter,,,,,\n"
    );
}

#[tokio::test]
async fn upsert_updates_only_the_columns_the_file_has() {
    let db = seeded().await;
    let s = import(
        &db.store,
        Kind::Accounts,
        "plans.csv",
        "id,name,plan\nacc-1,Acme Corporation,enterprise\nacc-3,Initech,growth\n",
    )
    .await
    .unwrap();
    assert_eq!((s.inserted, s.updated), (1, 1));
    let csv = export_string(&db.store, Kind::Accounts, ExportFormat::Csv).await;
    assert!(
        csv.contains("acc-1,Acme Corporation,Software,120,EMEA,enterprise,,,,,gold\n"),
        "{csv}"
    );
    assert!(csv.contains("acc-3,Initech,,,,growth,,,,,\n"), "{csv}");
}

#[tokio::test]
async fn every_kind_imports_and_exports() {
    let db = seeded().await;
    let st = &db.store;
    import(st, Kind::Subscriptions, "subscriptions.csv", SUBSCRIPTIONS)
        .await
        .unwrap();
    import(
        st,
        Kind::Contacts,
        "contacts.csv",
        "id,account_id,email,name,role,champion,left_on\nc1,acc-1,ada@acme.example,Ada,admin,true,\nc2,acc-2,bo@globex.example,,,,2025-04-01\n",
    )
    .await
    .unwrap();
    let s = import(st, Kind::Events, "events.ndjson", EVENTS)
        .await
        .unwrap();
    assert_eq!(s.inserted, 3);
    import(
        st,
        Kind::Tickets,
        "tickets.csv",
        "id,account_id,opened_at,closed_at,priority,first_contact_resolved,csat,subject,description\n\
         t1,acc-1,2025-03-01T10:00:00Z,2025-03-01T12:00:00Z,high,false,4,Export fails,\"Times out, twice\"\n\
         t2,acc-2,2025-03-02T10:00:00Z,,,,,,\n",
    )
    .await
    .unwrap();
    import(
        st,
        Kind::SurveyResponses,
        "survey_responses.csv",
        "id,account_id,contact_id,kind,score,responded_at,comment\n\
         r1,acc-1,c1,nps,9,2025-03-05T10:00:00Z,\"Great, thanks\"\n\
         r2,acc-2,,csat,2,2025-03-06T10:00:00Z,\n",
    )
    .await
    .unwrap();
    import(
        st,
        Kind::Engagements,
        "engagements.csv",
        "id,account_id,kind,occurred_at,csm_email,notes\ne1,acc-1,business_review,2025-03-10T15:00:00Z,cs@vendor.example,QBR\n",
    )
    .await
    .unwrap();
    assert_eq!(
        export_string(st, Kind::Subscriptions, ExportFormat::Csv).await,
        "id,account_id,mrr,currency,plan,seats,start_date,end_date,renewal_date\n\
         sub-1,acc-1,1200.50,USD,growth,10,2025-01-01,,2026-01-01\n\
         sub-2,acc-2,99.00,EUR,starter,,2025-02-15,2025-08-15,\n"
    );
    assert_eq!(
        export_string(st, Kind::Events, ExportFormat::Ndjson).await,
        "{\"timestamp\":\"2025-03-01T09:30:00Z\",\"account_id\":\"acc-1\",\"user_id\":\"u1\",\"event\":\"login\",\"properties\":null,\"message_id\":null}\n\
         {\"timestamp\":\"2025-03-02T01:30:00Z\",\"account_id\":\"acc-1\",\"user_id\":\"u2\",\"event\":\"report_created\",\"properties\":{\"size\":3},\"message_id\":null}\n\
         {\"timestamp\":\"2025-03-02T10:00:00.123456Z\",\"account_id\":\"acc-2\",\"user_id\":\"u3\",\"event\":\"login\",\"properties\":null,\"message_id\":\"m-1\"}\n"
    );
    assert_eq!(
        export_string(st, Kind::Contacts, ExportFormat::Json).await,
        "[\n{\"id\":\"c1\",\"account_id\":\"acc-1\",\"email\":\"ada@acme.example\",\"name\":\"Ada\",\"role\":\"admin\",\"champion\":true,\"left_on\":null},\n\
         {\"id\":\"c2\",\"account_id\":\"acc-2\",\"email\":\"bo@globex.example\",\"name\":null,\"role\":null,\"champion\":null,\"left_on\":\"2025-04-01\"}\n]\n"
    );
    let tickets = export_string(st, Kind::Tickets, ExportFormat::Csv).await;
    assert!(tickets.starts_with(
        "id,account_id,opened_at,closed_at,priority,first_contact_resolved,csat,subject,description\n"
    ));
    assert!(tickets.contains(
        "t1,acc-1,2025-03-01T10:00:00Z,2025-03-01T12:00:00Z,high,false,4,Export fails,\"Times out, twice\"\n"
    ));
    assert!(tickets.contains("t2,acc-2,2025-03-02T10:00:00Z,,,,,,\n"));
    let responses = export_string(st, Kind::SurveyResponses, ExportFormat::Csv).await;
    assert!(responses.contains("r1,acc-1,c1,nps,9,2025-03-05T10:00:00Z,\"Great, thanks\"\n"));
    assert_eq!(st.count(Kind::Engagements).await.unwrap(), 1);
}

#[tokio::test]
async fn export_then_import_gives_identical_data_in_every_format() {
    let src = seeded().await;
    import(&src.store, Kind::Subscriptions, "s.csv", SUBSCRIPTIONS)
        .await
        .unwrap();
    import(&src.store, Kind::Events, "e.ndjson", EVENTS)
        .await
        .unwrap();
    for format in [ExportFormat::Csv, ExportFormat::Json, ExportFormat::Ndjson] {
        let dst = test_db().await;
        for kind in [Kind::Accounts, Kind::Subscriptions, Kind::Events] {
            let text = export_string(&src.store, kind, format).await;
            let name = match format {
                ExportFormat::Csv => format!("{kind}.csv"),
                ExportFormat::Json => format!("{kind}.json"),
                ExportFormat::Ndjson => format!("{kind}.ndjson"),
            };
            import(&dst.store, kind, &name, &text)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                export_string(&dst.store, kind, format).await,
                text,
                "{kind} in {format:?}"
            );
        }
    }
}

#[tokio::test]
async fn gzip_files_are_accepted() {
    let db = seeded().await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(EVENTS.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    let s = import_with(
        &db.store,
        Kind::Events,
        "events.ndjson.gz",
        &bytes,
        &ImportOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(s.inserted, 3);
}

#[tokio::test]
async fn events_are_deduplicated_by_message_id_and_a_file_is_not_imported_twice() {
    let db = seeded().await;
    import(&db.store, Kind::Events, "events.ndjson", EVENTS)
        .await
        .unwrap();
    let problems = rejected(&db.store, Kind::Events, "events.ndjson", EVENTS.as_bytes()).await;
    assert!(
        problems[0].message.contains("already imported"),
        "{problems:?}"
    );
    let again = ImportOptions {
        allow_reimport: true,
        ..ImportOptions::default()
    };
    let s = import_with(
        &db.store,
        Kind::Events,
        "events.ndjson",
        EVENTS.as_bytes(),
        &again,
    )
    .await
    .unwrap();
    assert_eq!((s.inserted, s.duplicates_skipped), (2, 1));
    let csv = "timestamp,account_id,user_id,event,properties\n2025-04-01T00:00:00Z,acc-2,u9,login,\"{\"\"a\"\":1}\"\n";
    let s = import(&db.store, Kind::Events, "more.csv", csv)
        .await
        .unwrap();
    assert_eq!(s.inserted, 1);
}

fn messages(problems: &[Problem]) -> Vec<String> {
    problems.iter().map(|p| p.to_string()).collect()
}

#[tokio::test]
async fn bad_input_is_rejected_with_file_line_and_column() {
    let db = seeded().await;
    let st = &db.store;
    let cases: Vec<(Kind, &str, &[u8], &str)> = vec![
        (
            Kind::Accounts,
            "accounts.csv",
            b"id,plan\nacc-9,growth\n",
            "accounts.csv line 1, column \"name\": missing required column",
        ),
        (
            Kind::Accounts,
            "accounts.csv",
            b"id,name\nacc-9,Ni\0ne\n",
            "accounts.csv line 2, column \"name\": must not contain the character U+0000",
        ),
        (
            Kind::Events,
            "events.ndjson",
            b"{\"timestamp\":\"2025-01-01T00:00:00Z\",\"account_id\":\"acc-1\",\"user_id\":\"u\\u0000\",\"event\":\"login\"}\n",
            "events.ndjson line 1, column \"user_id\": must not contain the character U+0000",
        ),
        (
            Kind::Accounts,
            "accounts.csv",
            b"id,name,employees\nacc-9,Nine,12a\n",
            "accounts.csv line 2, column \"employees\": expected a whole number, got \"12a\"",
        ),
        (
            Kind::Subscriptions,
            "subscriptions.csv",
            b"id,account_id,mrr,start_date\ns9,acc-1,100,2025-13-01\n",
            "subscriptions.csv line 2, column \"start_date\": expected a date YYYY-MM-DD, got \"2025-13-01\"",
        ),
        (
            Kind::Subscriptions,
            "subscriptions.csv",
            b"id,account_id,mrr,start_date\ns9,acc-1,-5.00,2025-01-01\n",
            "subscriptions.csv line 2, column \"mrr\": MRR must not be negative, got -5.00",
        ),
        (
            Kind::Tickets,
            "tickets.csv",
            b"id,account_id,opened_at\nt9,acc-1,last tuesday\n",
            "tickets.csv line 2, column \"opened_at\": expected an RFC 3339 timestamp",
        ),
        (
            Kind::SurveyResponses,
            "survey_responses.csv",
            b"id,account_id,kind,score,responded_at\nr9,acc-1,csat,6,2025-01-01T00:00:00Z\n",
            "survey_responses.csv line 2, column \"score\": score 6 is out of range for csat: expected 1 to 5",
        ),
        (
            Kind::Contacts,
            "contacts.csv",
            b"id,account_id,email\nc9,acc-1,a@x.example\nc9,acc-1,b@x.example\n",
            "contacts.csv line 3, column \"id\": duplicate id \"c9\": already on line 2",
        ),
        (
            Kind::Contacts,
            "contacts.csv",
            b"id,account_id,email\nc9,acc-404,a@x.example\n",
            "contacts.csv line 2, column \"account_id\": account \"acc-404\" does not exist",
        ),
        (
            Kind::Accounts,
            "accounts.csv",
            b"id,name\nacc-9,Caf\xe9\n",
            "accounts.csv line 2: invalid UTF-8 in field 2",
        ),
        (
            Kind::Events,
            "events.ndjson",
            b"{\"timestamp\":\"2025-01-01T00:00:00Z\",\"account_id\":\"acc-1\",\"user_id\":\"u\",\"event\":\"e\"}\n{\"bad\xff\": 1}\n",
            "events.ndjson line 2: invalid UTF-8 at byte 6 of the line",
        ),
        (Kind::Accounts, "accounts.csv", b"", "accounts.csv: the file is empty"),
        (
            Kind::Accounts,
            "accounts.csv",
            b"id,name\n",
            "accounts.csv: the file has no data rows",
        ),
        (
            Kind::Tickets,
            "tickets.csv",
            b"id,account_id,opened_at,severity\nt9,acc-1,2025-01-01T00:00:00Z,1\n",
            "tickets.csv line 1, column \"severity\": unknown column for tickets",
        ),
        (
            Kind::Events,
            "events.ndjson",
            b"{\"timestamp\":\"2025-01-01T00:00:00Z\",\"account_id\":\"acc-1\",\"user_id\":\"u\",\"event\":\"e\",\"properties\":[1]}\n",
            "events.ndjson line 1, column \"properties\": expected a JSON object",
        ),
        (
            Kind::Events,
            "events.ndjson",
            b"{\"timestamp\":\"2025-01-01T00:00:00Z\",\n",
            "events.ndjson line 1: invalid JSON",
        ),
    ];
    for (kind, name, body, expected) in cases {
        let problems = rejected(st, kind, name, body).await;
        let got = messages(&problems);
        assert!(
            got.iter().any(|m| m.starts_with(expected)),
            "expected {expected:?}, got {got:?}"
        );
    }
}

#[tokio::test]
async fn a_bad_row_late_in_a_file_rolls_back_the_whole_file() {
    let db = seeded().await;
    let mut body = String::from("timestamp,account_id,user_id,event\n");
    for i in 0..5000 {
        body.push_str(&format!(
            "2025-01-01T00:00:{:02}Z,acc-1,u{i},login\n",
            i % 60
        ));
    }
    body.push_str("not a time,acc-1,u,login\n");
    let problems = rejected(&db.store, Kind::Events, "events.csv", body.as_bytes()).await;
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, 5002);
    assert_eq!(db.store.count(Kind::Events).await.unwrap(), 0);
}

#[tokio::test]
async fn at_most_twenty_problems_are_reported() {
    let db = seeded().await;
    let mut body = String::from("id,name,employees\n");
    for i in 0..50 {
        body.push_str(&format!("a{i},A,many\n"));
    }
    let problems = rejected(&db.store, Kind::Accounts, "accounts.csv", body.as_bytes()).await;
    assert_eq!(problems.len(), 20);
}

#[tokio::test]
async fn missing_accounts_can_be_created() {
    let db = seeded().await;
    let options = ImportOptions {
        create_missing_accounts: true,
        ..ImportOptions::default()
    };
    let s = import_with(
        &db.store,
        Kind::Contacts,
        "contacts.csv",
        b"id,account_id,email\nc1,acc-new,a@new.example\nc2,acc-new,b@new.example\n",
        &options,
    )
    .await
    .unwrap();
    assert_eq!((s.inserted, s.accounts_created), (2, 1));
    assert_eq!(db.store.count(Kind::Accounts).await.unwrap(), 3);
}

#[tokio::test]
async fn imports_are_logged_with_a_checksum() {
    let db = seeded().await;
    let log = db.store.import_log(10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].file_name, "accounts.csv");
    assert_eq!(log[0].kind, "accounts");
    assert_eq!(log[0].rows, 2);
    assert_eq!(log[0].checksum.len(), 64);
}

/// One account's use for its page, counted in the database: distinct
/// users per week back from the day (the day included, later events left
/// out) and each event of the 30 days to the day.
#[tokio::test]
async fn one_accounts_use_is_counted_by_week_and_event_to_a_day() {
    let db = seeded().await;
    import(&db.store, Kind::Events, "events.ndjson", EVENTS)
        .await
        .unwrap();
    let on = |d: &str| {
        let store = db.store.clone();
        let day = tenure_core::model::parse_date(d).unwrap();
        async move {
            let mut u = store.account_use_summary("acc-1", day).await.unwrap();
            u.weekly_users.sort();
            u.events.sort();
            (u.weekly_users, u.events)
        }
    };
    let ev = |e: &str| (e.to_string(), 1, 1);
    // u1 logs in on 1 March; u2's report is on 2 March in UTC.
    assert_eq!(on("2025-03-01").await, (vec![(0, 1)], vec![ev("login")]));
    assert_eq!(
        on("2025-03-02").await,
        (vec![(0, 2)], vec![ev("login"), ev("report_created")])
    );
    assert_eq!(
        on("2025-03-09").await,
        (vec![(1, 2)], vec![ev("login"), ev("report_created")])
    );
    // 31 days on: out of the top events, still in the weeks.
    assert_eq!(on("2025-04-02").await, (vec![(4, 2)], vec![]));
    // 91 days after 2 March: out of the 13 weeks.
    assert_eq!(on("2025-06-01").await, (vec![], vec![]));
}

mod round_trip {
    //! Property: any valid set of records survives export → import → export.
    use super::*;
    use proptest::prelude::*;

    fn cell() -> impl Strategy<Value = String> {
        // Text with commas, quotes, newlines and non-ASCII letters.
        proptest::string::string_regex("[a-zA-Z0-9 ,\"é€\n]{1,12}")
            .unwrap()
            .prop_filter("not blank", |s| !s.trim().is_empty())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]
        #[test]
        fn export_import_round_trips(
            names in proptest::collection::vec(cell(), 1..6),
            mrrs in proptest::collection::vec(0i64..10_000_000, 1..6),
            notes in proptest::collection::vec(proptest::option::of(cell()), 1..6),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let src = test_db().await;
                let mut accounts = String::from("id,name,segment\n");
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(["id", "name", "segment"]).unwrap();
                for (i, n) in names.iter().enumerate() {
                    w.write_record([format!("a{i}"), n.clone(), n.trim().to_string()]).unwrap();
                }
                accounts.clear();
                accounts.push_str(&String::from_utf8(w.into_inner().unwrap()).unwrap());
                import(&src.store, Kind::Accounts, "accounts.csv", &accounts).await.unwrap();
                let mut subs = String::from("id,account_id,mrr,start_date\n");
                for (i, m) in mrrs.iter().enumerate() {
                    subs.push_str(&format!("s{i},a0,{}.{:02},2025-01-{:02}\n", m / 100, m % 100, i + 1));
                }
                import(&src.store, Kind::Subscriptions, "subscriptions.csv", &subs).await.unwrap();
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(["id", "account_id", "kind", "occurred_at", "notes"]).unwrap();
                for (i, n) in notes.iter().enumerate() {
                    w.write_record([format!("e{i}"), "a0".into(), "check_in".into(), format!("2025-02-01T10:{:02}:00Z", i), n.clone().unwrap_or_default()]).unwrap();
                }
                let engagements = String::from_utf8(w.into_inner().unwrap()).unwrap();
                import(&src.store, Kind::Engagements, "engagements.csv", &engagements).await.unwrap();
                for format in [ExportFormat::Csv, ExportFormat::Ndjson] {
                    let dst = test_db().await;
                    for kind in [Kind::Accounts, Kind::Subscriptions, Kind::Engagements] {
                        let text = export_string(&src.store, kind, format).await;
                        let name = if format == ExportFormat::Csv { "f.csv" } else { "f.ndjson" };
                        import(&dst.store, kind, name, &text).await.unwrap();
                        assert_eq!(export_string(&dst.store, kind, format).await, text);
                    }
                }
            });
        }
    }
}

/// A day's survey pass writes its sends and their emails many rows per
/// statement (`insert_sends`, `enqueue_many`): every row lands with its
/// values across statement boundaries, and a failure in a later statement
/// leaves nothing of the transaction behind.
#[tokio::test]
async fn survey_sends_and_their_emails_are_written_many_rows_per_statement() {
    use tenure_store::outbound::{NewMessage, OutboxKind, OutboxStatus, enqueue_many};
    use tenure_store::surveys::{Send, insert_sends};

    let db = seeded().await;
    let store = &db.store;
    let day = jiff::civil::date(2026, 12, 7);
    let now = 1_796_000_000_000_000i64;
    // 2,100 rows: three statements of at most 1,000.
    let n = 2100;
    let emails: Vec<NewMessage> = (0..n)
        .map(|i| NewMessage {
            id: format!("out-{i}"),
            kind: OutboxKind::Email,
            target: format!("c{i}@example.com"),
            subject: (i % 3 != 0).then(|| format!("How are we doing? {i}")),
            body: format!("body {i}"),
            source: "survey:nps".into(),
            account_id: (i % 5 != 0).then(|| format!("acc-{}", 1 + i % 2)),
        })
        .collect();
    let sends: Vec<Send> = (0..n)
        .map(|i| Send {
            id: format!("svs-{i}"),
            survey: "nps".into(),
            kind: "nps".into(),
            channel: "email".into(),
            account_id: format!("acc-{}", 1 + i % 2),
            contact_id: format!("c{i}"),
            segment: (i % 2 == 0).then(|| "growth".to_string()),
            csm_email: (i % 4 == 0).then(|| "csm@example.com".to_string()),
            token_hash: format!("hash-{i}"),
            sent_on: day,
            sent_at: now,
            expires_at: now + 14 * 86_400_000_000,
            answered_at: None,
            response_id: None,
            message_id: Some(format!("out-{i}")),
        })
        .collect();
    let mut tx = store.begin_write().await.unwrap();
    enqueue_many(&mut tx, &emails, now).await.unwrap();
    insert_sends(&mut tx, &sends).await.unwrap();
    tx.commit().await.unwrap();

    for i in [0, 1, 999, 1000, 1001, 1999, 2000, n - 1] {
        let got = store
            .survey_send_by_token(&format!("hash-{i}"))
            .await
            .unwrap();
        assert_eq!(got.as_ref(), Some(&sends[i]), "send {i}");
        let m = store.outbox_message(&format!("out-{i}")).await.unwrap();
        let e = &emails[i];
        assert_eq!(
            (&m.target, &m.subject, &m.body, &m.source, &m.account_id),
            (&e.target, &e.subject, &e.body, &e.source, &e.account_id),
            "message {i}"
        );
        assert_eq!((m.status, m.attempts), (OutboxStatus::Queued, 0));
        assert_eq!((m.next_attempt_at, m.created_at), (Some(now), now));
    }
    let queued = |counts: Vec<(OutboxStatus, u64)>| {
        counts
            .into_iter()
            .find(|(s, _)| *s == OutboxStatus::Queued)
            .map(|(_, n)| n)
    };
    assert_eq!(queued(store.outbox_counts().await.unwrap()), Some(n as u64));

    // A second batch whose third statement repeats a token: the error
    // comes back and, the transaction dropped, none of its rows remain.
    let again: Vec<Send> = (0..n)
        .map(|i| Send {
            id: format!("svs-b{i}"),
            token_hash: if i == 2050 {
                "hash-7".into()
            } else {
                format!("hash-b{i}")
            },
            ..sends[i].clone()
        })
        .collect();
    let more: Vec<NewMessage> = emails
        .iter()
        .map(|e| NewMessage {
            id: format!("{}-b", e.id),
            ..e.clone()
        })
        .collect();
    let mut tx = store.begin_write().await.unwrap();
    enqueue_many(&mut tx, &more, now).await.unwrap();
    assert!(insert_sends(&mut tx, &again).await.is_err());
    drop(tx);
    assert_eq!(store.survey_send_by_token("hash-b0").await.unwrap(), None);
    assert_eq!(queued(store.outbox_counts().await.unwrap()), Some(n as u64));
}

/// Events of every kind of text are stored as written, in file order,
/// with repeated message ids skipped, over more rows than one statement
/// writes on PostgreSQL (10,000 events a statement, each column one array
/// parameter; `ON CONFLICT` only where the rows have message ids) and more
/// than one batch on SQLite.
#[tokio::test]
async fn events_of_any_text_are_stored_as_written_in_file_order() {
    let db = test_db().await;
    let texts = [
        "plain",
        "with \"quotes\"",
        r"back\slash\",
        "{braces},and,commas",
        "NULL",
        "inner space",
        "tab\there",
        "new\nline",
        "é漢字🙂",
        r#"\"{,}"\"#,
    ];
    let base = jiff::Timestamp::from_second(1_767_225_600).unwrap();
    let n = 10_500;
    let mut file = String::new();
    let mut expected = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for i in 0..n {
        let account = texts[i % texts.len()];
        let user = texts[(i / 3) % texts.len()];
        let event = texts[(i / 7) % texts.len()];
        let ts = base + jiff::SignedDuration::from_secs(i as i64);
        let properties = (i % 4 == 0).then(|| serde_json::json!({ "k": texts[i % 9], "i": i }));
        // Every tenth of the first 10,000 events has a message id, which
        // repeat from the 5,000th on; the last 500 have none (on
        // PostgreSQL, a statement that skips nothing).
        let message_id = (i % 10 == 0 && i < 10_000).then(|| format!("m-{}", i % 5000));
        let mut line = serde_json::json!({
            "timestamp": ts.to_string(),
            "account_id": account,
            "user_id": user,
            "event": event,
        });
        if let Some(p) = &properties {
            line["properties"] = p.clone();
        }
        if let Some(m) = &message_id {
            line["message_id"] = m.clone().into();
        }
        file.push_str(&line.to_string());
        file.push('\n');
        if message_id.as_ref().is_none_or(|m| seen.insert(m.clone())) {
            expected.push((account, user, event, ts, properties, message_id));
        }
    }
    let options = ImportOptions {
        create_missing_accounts: true,
        ..ImportOptions::default()
    };
    let s = import_with(
        &db.store,
        Kind::Events,
        "odd.ndjson",
        file.as_bytes(),
        &options,
    )
    .await
    .unwrap();
    assert_eq!((s.rows, s.inserted), (n as u64, expected.len() as u64));
    assert_eq!((s.duplicates_skipped, s.accounts_created), (500, 10));
    let out = export_string(&db.store, Kind::Events, ExportFormat::Ndjson).await;
    let got: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), expected.len());
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        let (account, user, event, ts, properties, message_id) = e;
        assert_eq!(g["account_id"], *account, "event {i}: {g}");
        assert_eq!(g["user_id"], *user, "event {i}: {g}");
        assert_eq!(g["event"], *event, "event {i}: {g}");
        let at: jiff::Timestamp = g["timestamp"].as_str().unwrap().parse().unwrap();
        assert_eq!(at, *ts, "event {i}: {g}");
        let properties = properties.clone().unwrap_or_default();
        assert_eq!(g["properties"], properties, "event {i}: {g}");
        assert_eq!(
            g["message_id"].as_str(),
            message_id.as_deref(),
            "event {i}: {g}"
        );
    }
}

/// Two writers take event numbers before either commits; the later number
/// commits first. The fingerprint read between the two commits must differ
/// from the one read after both: otherwise a server caching on it would
/// never show the event committed last. Only PostgreSQL lets two writers
/// hold numbers at once (SQLite's writer holds the database until it
/// commits), so on SQLite this checks that the fingerprint sees each commit.
#[tokio::test]
async fn an_event_committed_after_a_later_numbered_one_changes_the_fingerprint() {
    let db = test_db().await;
    let store = &db.store;
    import(store, Kind::Accounts, "accounts.csv", ACCOUNTS)
        .await
        .unwrap();
    import(store, Kind::Events, "events.ndjson", EVENTS)
        .await
        .unwrap();
    // Other accounts' rows: the usage rollups' triggers lock the rows they
    // update, so two writers of one account's day would take turns.
    let insert = "INSERT INTO events (account_id, user_id, event, ts) VALUES ($1, $1, 'login', 1)";
    let postgres = store.backend() == tenure_store::Backend::Postgres;
    let mut first = store.pool().begin().await.unwrap();
    sqlx::query(insert)
        .bind("acc-1")
        .execute(&mut *first)
        .await
        .unwrap();
    if postgres {
        // The later number commits while the first is still open.
        sqlx::query(insert)
            .bind("acc-2")
            .execute(store.pool())
            .await
            .unwrap();
        let between = store.data_fingerprint().await.unwrap();
        first.commit().await.unwrap();
        assert_ne!(
            store.data_fingerprint().await.unwrap(),
            between,
            "the late commit changed nothing"
        );
    } else {
        first.commit().await.unwrap();
        let between = store.data_fingerprint().await.unwrap();
        sqlx::query(insert)
            .bind("acc-2")
            .execute(store.pool())
            .await
            .unwrap();
        assert_ne!(store.data_fingerprint().await.unwrap(), between);
    }
    let seqs: Vec<(i64,)> = sqlx::query_as(
        "SELECT seq FROM events WHERE user_id IN ('acc-1', 'acc-2') ORDER BY user_id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert!(
        seqs[0].0 < seqs[1].0,
        "the first insert took the lower number: {seqs:?}"
    );
}

/// A Segment group call: `user` joins `account`.
fn group_call(user: &str, account: &str) -> tenure_store::ingest::Incoming {
    tenure_store::ingest::Incoming {
        message_id: None,
        message: tenure_store::ingest::Message::Group {
            user_id: Some(user.into()),
            group_id: account.into(),
            name: None,
            industry: None,
            employees: None,
            plan: None,
        },
    }
}

/// Two stores on one database, as two servers are, ingest requests that
/// touch the same accounts in opposite orders, each request in several
/// statements (a group call between two track calls): none fails. On
/// PostgreSQL the usage rollups' triggers lock the rows they update, so
/// unless bulk writers take turns (`Store::lock_bulk_writers`) such pairs
/// deadlock and the database fails one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_ingesting_the_same_accounts_at_once_never_fail() {
    use tenure_store::ingest::{Incoming, Message};
    let db = test_db().await;
    import(&db.store, Kind::Accounts, "accounts.csv", ACCOUNTS)
        .await
        .unwrap();
    let other = Store::open(&db.url).await.unwrap();
    let track = |account: &str, n: usize| Incoming {
        message_id: None,
        message: Message::Track {
            user_id: format!("u-{account}"),
            event: "login".into(),
            properties: None,
            timestamp: jiff::Timestamp::from_second(1_750_000_000 + n as i64).unwrap(),
            group_id: Some(account.into()),
        },
    };
    let request = |first: &str, second: &str, n: usize| {
        let group = group_call(&format!("v-{second}"), second);
        vec![track(first, n), group, track(second, n)]
    };
    let now = jiff::Timestamp::now();
    let rounds = 40;
    let (a, b) = tokio::join!(
        async {
            let mut failed = Vec::new();
            for n in 0..rounds {
                if let Err(e) = db.store.ingest(request("acc-1", "acc-2", n), now).await {
                    failed.push(e.to_string());
                }
            }
            failed
        },
        async {
            let mut failed = Vec::new();
            for n in 0..rounds {
                if let Err(e) = other.ingest(request("acc-2", "acc-1", n), now).await {
                    failed.push(e.to_string());
                }
            }
            failed
        }
    );
    assert!(a.is_empty() && b.is_empty(), "{a:?} {b:?}");
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(events, 4 * rounds as i64);
}

/// An accounts import (its rows written a statement at a time, in the
/// file's order) while another store ingests group calls for the same
/// accounts in the other order: neither fails. On PostgreSQL each holds
/// rows the other may wait for unless imports and ingest take turns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounts_import_and_ingest_into_the_same_accounts_at_once_never_fail() {
    let db = test_db().await;
    let other = Store::open(&db.url).await.unwrap();
    let n = 3_000;
    let accounts: String = std::iter::once("id,name\n".to_string())
        .chain((0..n).map(|i| format!("acc-{i:04},Account {i}\n")))
        .collect();
    let now = jiff::Timestamp::now();
    let options = ImportOptions {
        allow_reimport: true,
        ..ImportOptions::default()
    };
    let (imported, ingested) = tokio::join!(
        async {
            let mut failed = Vec::new();
            for round in 0..4 {
                let body = accounts.replace("Account", &format!("Account {round}"));
                if let Err(e) = import_with(
                    &db.store,
                    Kind::Accounts,
                    "a.csv",
                    body.as_bytes(),
                    &options,
                )
                .await
                {
                    failed.push(e.to_string());
                }
            }
            failed
        },
        async {
            let mut failed = Vec::new();
            for i in 0..60 {
                let last = format!("acc-{:04}", n - 1 - i);
                let first = format!("acc-{i:04}");
                let items = vec![group_call("u-last", &last), group_call("u-first", &first)];
                if let Err(e) = other.ingest(items, now).await {
                    failed.push(e.to_string());
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            failed
        }
    );
    assert!(
        imported.is_empty() && ingested.is_empty(),
        "{imported:?} {ingested:?}"
    );
}
