//! CRM exports imported as the CRMs write them (docs/CRM.md), on SQLite
//! and, with `TEST_DATABASE_URL`, on PostgreSQL. The fixtures in
//! `fixtures/crm/` are laid out as each CRM exports them: a UTF-8 BOM,
//! Windows line endings, quoted multi-line cells, Salesforce's 15- and
//! 18-character ids for the same records (one lower-cased by a
//! spreadsheet) and a Salesforce Classic report's footer.

use tenure_core::crm::{Crm, CrmSettings, Object};
use tenure_store::crm::{CrmImportOptions, CrmSummary, Outcome};
use tenure_store::export::ExportFormat;
use tenure_store::import::{ImportOptions, Problem};
use tenure_store::testing::test_db;
use tenure_store::{Kind, Store, StoreError};

const SF_ACCOUNTS: &[u8] = include_bytes!("fixtures/crm/salesforce-accounts.csv");
const SF_CONTACTS: &[u8] = include_bytes!("fixtures/crm/salesforce-contacts.csv");
const SF_OPPORTUNITIES: &[u8] = include_bytes!("fixtures/crm/salesforce-opportunities.csv");
const HS_COMPANIES: &[u8] = include_bytes!("fixtures/crm/hubspot-companies.csv");
const HS_CONTACTS: &[u8] = include_bytes!("fixtures/crm/hubspot-contacts.csv");
const HS_DEALS: &[u8] = include_bytes!("fixtures/crm/hubspot-deals.csv");

/// The three Salesforce accounts of the fixtures, 18 characters.
const ACME: &str = "0015g00000AbCdEAAV";
const GLOBEX: &str = "0015G00000xYzAbQAK";
const INITECH: &str = "0015g00000QrStUAAV";

fn options(crm: Crm, object: Object) -> CrmImportOptions {
    CrmImportOptions {
        crm,
        object,
        settings: CrmSettings::default_for(crm),
        dry_run: false,
        full: false,
        preview: 5,
    }
}

async fn run(
    store: &Store,
    name: &str,
    body: &[u8],
    o: &CrmImportOptions,
) -> Result<CrmSummary, StoreError> {
    store.import_crm_reader(name, body, o).await
}

async fn ok(store: &Store, name: &str, body: &[u8], o: &CrmImportOptions) -> CrmSummary {
    run(store, name, body, o)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

async fn problems(store: &Store, name: &str, body: &[u8], o: &CrmImportOptions) -> Vec<Problem> {
    let before = state(store).await;
    let e = run(store, name, body, o).await.err();
    let Some(StoreError::Invalid(ps)) = e else {
        panic!("{name}: expected problems, got {e:?}");
    };
    assert_eq!(state(store).await, before, "{name}: a refused import wrote");
    ps
}

/// Everything an import can write, for "nothing changed" checks.
async fn state(store: &Store) -> String {
    let mut out = String::new();
    for kind in [Kind::Accounts, Kind::Contacts, Kind::Subscriptions] {
        let mut buf = Vec::new();
        store
            .export(kind, ExportFormat::Csv, &mut buf)
            .await
            .unwrap();
        out.push_str(&String::from_utf8(buf).unwrap());
    }
    for table in ["crm_records", "import_log"] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(store.pool())
                .await
                .unwrap();
        out.push_str(&format!("{table}: {n}\n"));
    }
    out
}

async fn export(store: &Store, kind: Kind) -> String {
    let mut buf = Vec::new();
    store
        .export(kind, ExportFormat::Csv, &mut buf)
        .await
        .unwrap();
    String::from_utf8(buf).unwrap()
}

/// Subscriptions for the fixtures' accounts: one running, one ended.
async fn subscriptions(store: &Store, body: &str) {
    store
        .import_reader(
            Kind::Subscriptions,
            "subscriptions.csv",
            body.as_bytes(),
            &ImportOptions::default(),
            &mut |_| {},
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn salesforce_accounts_contacts_and_renewals_from_report_exports() {
    let db = test_db().await;
    let s = &db.store;
    let sum = ok(
        s,
        "accounts.csv",
        SF_ACCOUNTS,
        &options(Crm::Salesforce, Object::Accounts),
    )
    .await;
    // The footer of the Classic report is not data.
    assert_eq!((sum.rows, sum.created, sum.refused), (3, 3, 0));
    assert_eq!(sum.ignored, vec!["Type", "Description"]);
    // Line numbers count the multi-line description: Globex is on line 4.
    assert_eq!(
        sum.preview.iter().map(|r| r.line).collect::<Vec<_>>(),
        vec![2, 4, 5]
    );
    let accounts = export(s, Kind::Accounts).await;
    assert!(
        accounts.contains(&format!(
            "{ACME},Acme Corp,Manufacturing,1200,Germany,,ann@vendor.example,2019-01-15"
        )),
        "{accounts}"
    );

    // The contacts report writes 15-character account ids.
    let sum = ok(
        s,
        "contacts.csv",
        SF_CONTACTS,
        &options(Crm::Salesforce, Object::Contacts),
    )
    .await;
    assert_eq!((sum.created, sum.refused), (3, 0));
    let contacts = export(s, Kind::Contacts).await;
    assert!(
        contacts.contains(&format!(
            "0035g00000Aa1BbAAJ,{ACME},wile@acme.example,Wile Coyote,Head of Procurement"
        )),
        "{contacts}"
    );
    assert!(contacts.contains(GLOBEX) && contacts.contains(INITECH));

    subscriptions(
        s,
        &format!(
            "id,account_id,mrr,start_date,end_date,renewal_date\n\
             sub-acme,{ACME},2000,2025-04-01,,\n\
             sub-acme-old,{ACME},1500,2024-04-01,2025-04-01,2025-04-01\n\
             sub-globex,{GLOBEX},750,2024-10-01,2027-09-30,\n"
        ),
    )
    .await;
    let sum = ok(
        s,
        "opportunities.csv",
        SF_OPPORTUNITIES,
        &options(Crm::Salesforce, Object::Deals),
    )
    .await;
    // Acme: two open renewals (15 and lower-cased 18 characters), the
    // nearer wins; an upgrade closed won and Initech's closed renewal set
    // nothing.
    assert_eq!(sum.renewal_accounts, 2);
    assert_eq!((sum.updated, sum.unchanged, sum.skipped), (2, 0, 3));
    assert!(matches!(
        &sum.preview[1].outcome,
        Outcome::Skipped(why) if why.contains("nearer renewal")
    ));
    let subs = export(s, Kind::Subscriptions).await;
    assert!(
        subs.contains("sub-acme,") && subs.contains(",2025-04-01,,2027-03-31"),
        "{subs}"
    );
    // The ended subscription keeps its own renewal date.
    assert!(subs.contains(",2024-04-01,2025-04-01,2025-04-01"), "{subs}");
    assert!(subs.contains(",2024-10-01,2027-09-30,2027-09-30"), "{subs}");

    // Again: nothing to change.
    let sum = ok(
        s,
        "opportunities.csv",
        SF_OPPORTUNITIES,
        &options(Crm::Salesforce, Object::Deals),
    )
    .await;
    assert_eq!((sum.updated, sum.unchanged), (0, 2));
}

#[tokio::test]
async fn a_dry_run_reports_everything_and_writes_nothing() {
    let db = test_db().await;
    let s = &db.store;
    let mut o = options(Crm::Salesforce, Object::Accounts);
    o.dry_run = true;
    o.full = true;
    let before = state(s).await;
    let sum = ok(s, "accounts.csv", SF_ACCOUNTS, &o).await;
    assert_eq!(state(s).await, before);
    assert_eq!(sum.created, 3);
    assert_eq!(sum.preview[0].outcome, Outcome::Created);
    assert!(sum.preview[0].cells.contains(&(
        "Employees".into(),
        "employees".into(),
        "1,200".into()
    )));

    // After a real import, a dry run of a changed file shows the changes.
    o.dry_run = false;
    ok(s, "accounts.csv", SF_ACCOUNTS, &o).await;
    let changed = String::from_utf8(SF_ACCOUNTS.to_vec())
        .unwrap()
        .replace("\"Energy\"", "\"Utilities\"")
        .replace("\"Printers.\"", "\"Printers\"")
        .replace("\"80\"", "\"eighty\"");
    o.dry_run = true;
    let before = state(s).await;
    let sum = ok(s, "accounts.csv", changed.as_bytes(), &o).await;
    assert_eq!(state(s).await, before);
    assert_eq!(
        (sum.created, sum.updated, sum.unchanged, sum.refused),
        (0, 1, 1, 1)
    );
    assert_eq!(
        sum.preview[1].outcome,
        Outcome::Updated(vec!["industry".into()])
    );
    assert!(
        matches!(&sum.preview[2].outcome, Outcome::Refused(p) if p.contains("line 5, column \"Employees\""))
    );
    assert_eq!(sum.problems.len(), 1);
}

#[tokio::test]
async fn re_importing_a_newer_export_updates_changed_records_and_reports_vanished_ones() {
    let db = test_db().await;
    let s = &db.store;
    let mut o = options(Crm::Salesforce, Object::Accounts);
    o.full = true;
    ok(s, "accounts.csv", SF_ACCOUNTS, &o).await;
    // A newer export: Globex changed owner, Initech is gone, Umbrella is new.
    let newer = format!(
        "\u{feff}\"Account ID\",\"Account Name\",\"Account Owner Email\",\"Industry\"\r\n\
         \"{ACME}\",\"Acme Corp\",\"ann@vendor.example\",\"Manufacturing\"\r\n\
         \"0015G00000xYzAb\",\"Globex\",\"cara@vendor.example\",\"Energy\"\r\n\
         \"0015g00000MnOpQ\",\"Umbrella\",\"bob@vendor.example\",\"Pharma\"\r\n"
    );
    let sum = ok(s, "accounts-newer.csv", newer.as_bytes(), &o).await;
    assert_eq!(
        (sum.created, sum.updated, sum.unchanged, sum.refused),
        (1, 1, 1, 0)
    );
    assert_eq!(
        sum.preview[1].outcome,
        Outcome::Updated(vec!["csm_email".into()])
    );
    assert_eq!(
        (sum.vanished, sum.vanished_ids.clone()),
        (1, vec![INITECH.to_string()])
    );
    // Nothing is deleted, and columns the newer file lacks are kept.
    let accounts = export(s, Kind::Accounts).await;
    assert!(accounts.contains("Initech"), "{accounts}");
    assert!(
        accounts.contains(&format!(
            "{GLOBEX},Globex,Energy,350,United States,,cara@vendor.example"
        )),
        "{accounts}"
    );
    // Without --full nothing is reported as vanished.
    o.full = false;
    let sum = ok(s, "accounts-newer.csv", newer.as_bytes(), &o).await;
    assert_eq!((sum.unchanged, sum.vanished), (3, 0));
}

#[tokio::test]
async fn bad_rows_are_refused_with_file_line_and_crm_column_and_nothing_is_written() {
    let db = test_db().await;
    let s = &db.store;
    let o = options(Crm::Salesforce, Object::Accounts);
    let bad = String::from_utf8(SF_ACCOUNTS.to_vec())
        .unwrap()
        .replace("\"350\"", "\"lots\"")
        .replace("\"11/20/2022\"", "\"20/11/2022\"");
    let ps = problems(s, "accounts.csv", bad.as_bytes(), &o).await;
    let got: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].starts_with("accounts.csv line 4, column \"Employees\": expected a whole number"),
        "{got:?}"
    );
    assert!(
        got[1].starts_with("accounts.csv line 5, column \"Created Date\""),
        "{got:?}"
    );
    assert!(got[1].contains("date_order"), "{got:?}");

    // The same record twice, as 15 and 18 characters.
    let twice = format!("Id,Name\r\n{ACME},Acme\r\n0015g00000AbCdE,Acme again\r\n");
    let ps = problems(s, "accounts.csv", twice.as_bytes(), &o).await;
    assert_eq!(ps[0].line, 3);
    assert_eq!(ps[0].column.as_deref(), Some("Id"));
    assert!(ps[0].message.contains("the same record as line 2"));

    // A header without the required columns.
    let ps = problems(s, "accounts.csv", b"Account Name,Industry\nAcme,x\n", &o).await;
    assert_eq!((ps[0].line, ps[0].column.as_deref()), (1, Some("id")));
    assert!(ps[0].message.contains("\"Account ID\""));

    // Contacts of an account that was never imported.
    let ps = problems(
        s,
        "contacts.csv",
        SF_CONTACTS,
        &options(Crm::Salesforce, Object::Contacts),
    )
    .await;
    assert_eq!(ps.len(), 3);
    assert_eq!(
        (ps[0].line, ps[0].column.as_deref()),
        (2, Some("Account ID"))
    );
    assert!(ps[0].message.contains("does not exist"));
}

#[tokio::test]
async fn hubspot_companies_contacts_and_deals_with_owner_names_and_custom_fields() {
    let db = test_db().await;
    let s = &db.store;
    let mut settings = CrmSettings::default_for(Crm::Hubspot);
    settings.fields.push((
        "Health (custom)".into(),
        tenure_core::crm::Target::Attribute("health".into()),
    ));
    settings
        .owners
        .insert("jane doe".into(), "jane@vendor.example".into());
    let with = |object| CrmImportOptions {
        settings: settings.clone(),
        ..options(Crm::Hubspot, object)
    };
    // Without the owners table, the owner's name is refused.
    let ps = problems(
        s,
        "companies.csv",
        HS_COMPANIES,
        &options(Crm::Hubspot, Object::Accounts),
    )
    .await;
    assert_eq!(
        (ps[0].line, ps[0].column.as_deref()),
        (2, Some("Company owner"))
    );
    assert!(ps[0].message.contains("[crm.hubspot.owners]"));

    let sum = ok(s, "companies.csv", HS_COMPANIES, &with(Object::Accounts)).await;
    assert_eq!(sum.created, 3);
    let accounts = export(s, Kind::Accounts).await;
    assert!(accounts.starts_with("id,name,industry,employees,region,plan,csm_email,created_at,trial_start,trial_end,health"), "{accounts}");
    assert!(accounts.contains("9001,Hooli,COMPUTER_SOFTWARE,5000,United States,,jane@vendor.example,2023-02-01,,,green"), "{accounts}");

    let sum = ok(s, "contacts.csv", HS_CONTACTS, &with(Object::Contacts)).await;
    assert_eq!((sum.created, sum.refused), (3, 0));
    let contacts = export(s, Kind::Contacts).await;
    // A list of company ids gives the first; a quoted multi-line title
    // is kept; no company id falls back to the company's name.
    assert!(
        contacts
            .contains("502,9002,richard@piedpiper.example,Richard Hendricks,\"CEO\n(founder)\""),
        "{contacts}"
    );
    assert!(
        contacts.contains("503,9003,erlich@aviato.example,Erlich Bachman"),
        "{contacts}"
    );

    subscriptions(
        s,
        "id,account_id,mrr,start_date,end_date\nh1,9001,100,2025-01-01,\np1,9002,10,2025-01-01,2027-06-30\n",
    )
    .await;
    let sum = ok(s, "deals.csv", HS_DEALS, &with(Object::Deals)).await;
    assert_eq!((sum.renewal_accounts, sum.updated, sum.skipped), (2, 2, 2));
    let subs = export(s, Kind::Subscriptions).await;
    assert!(
        subs.contains("h1,9001,100.00,USD,,,2025-01-01,,2027-01-31"),
        "{subs}"
    );
    assert!(
        subs.contains("p1,9002,10.00,USD,,,2025-01-01,2027-06-30,2027-06-30"),
        "{subs}"
    );

    // Aviato gets a renewal but has no subscription: reported, not refused.
    let more = "Record ID,Deal Type,Close Date,Associated Company IDs\r\n7100,existingbusiness,2027-02-01,9003\r\n";
    let sum = ok(s, "deals.csv", more.as_bytes(), &with(Object::Deals)).await;
    assert_eq!(sum.without_subscription, vec!["9003".to_string()]);
    assert_eq!(sum.refused, 0);
}
