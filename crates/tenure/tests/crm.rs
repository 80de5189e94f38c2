//! `tenure import --from salesforce|hubspot` as a user runs it
//! (docs/CRM.md): the dry run's mapping and outcomes with nothing written,
//! refused rows with file, line and CRM column (exit 2), `[crm.*]`
//! mistakes at their line in `tenure config check`, re-imports counted
//! and vanished records reported. The store's own tests cover both
//! backends; these run on SQLite.

use std::path::{Path, PathBuf};

mod common;

use common::{Env, bad_input, ok};

/// A fixture of the store's CRM tests, laid out as the CRM exports it.
fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tenure-store/tests/fixtures/crm")
        .join(name)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_dry_run_shows_the_mapping_on_the_first_rows_and_writes_nothing() {
    let env = Env::new();
    let accounts = fixture("salesforce-accounts.csv");
    let out = ok(&env.run(&[
        "import",
        "--from",
        "salesforce",
        "accounts",
        path(&accounts),
        "--dry-run",
    ]));
    for expected in [
        "dry run: nothing was written",
        "  Account ID          -> id",
        "  Account Owner Email -> csm_email",
        "columns ignored: Type, Description",
        "line 2: id=\"0015g00000AbCdEAAV\" name=\"Acme Corp\"",
        "-> would be created",
        "line 4: id=\"0015G00000xYzAbQAK\"",
        "3 rows of salesforce accounts: 3 would be created, 0 would be updated, 0 unchanged, 0 refused",
    ] {
        assert!(out.contains(expected), "{expected:?} not in:\n{out}");
    }
    let exported = ok(&env.run(&["export", "accounts"]));
    assert_eq!(exported.lines().count(), 1, "{exported}");
}

#[test]
fn refused_rows_name_file_line_and_column_and_exit_2() {
    let env = Env::new();
    let body = std::fs::read_to_string(fixture("salesforce-accounts.csv"))
        .unwrap()
        .replace("\"350\"", "\"lots\"");
    let file = env.write("accounts.csv", body.as_bytes());
    let err = bad_input(&env.run(&["import", "--from", "salesforce", "accounts", path(&file)]));
    assert!(
        err.contains(
            "accounts.csv line 4, column \"Employees\": expected a whole number, got \"lots\""
        ),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    // The dry run lists it and still exits 0.
    let out = ok(&env.run(&[
        "import",
        "--from",
        "salesforce",
        "accounts",
        path(&file),
        "--dry-run",
    ]));
    assert!(
        out.contains("line 4: ") && out.contains("-> refused: accounts.csv line 4"),
        "{out}"
    );
    assert!(out.contains("1 refused"), "{out}");
    let err = bad_input(&env.run(&["import", "--from", "salesforce", "leads", path(&file)]));
    assert!(err.contains("unknown CRM object \"leads\""), "{err}");
}

#[test]
fn config_check_reports_crm_mapping_mistakes_at_their_line() {
    let env = Env::new();
    env.write(
        "tenure.toml",
        "[crm.hubspot.fields]\n\"Health (custom)\" = \"attributes.health\"\n\"CSM\" = \"csm\"\n",
    );
    let err = bad_input(&env.run(&["config", "check"]));
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("unknown Tenure field \"csm\""), "{err}");
}

#[test]
fn re_imports_count_changes_and_full_exports_report_vanished_records() {
    let env = Env::new();
    env.write(
        "tenure.toml",
        "[crm.hubspot.fields]\n\"Health (custom)\" = \"attributes.health\"\n\n[crm.hubspot.owners]\n\"Jane Doe\" = \"jane@vendor.example\"\n",
    );
    let companies = fixture("hubspot-companies.csv");
    let args = [
        "import",
        "--from",
        "hubspot",
        "companies",
        path(&companies),
        "--full",
    ];
    let out = ok(&env.run(&args));
    assert!(
        out.contains("3 created, 0 updated, 0 unchanged, 0 refused"),
        "{out}"
    );
    let out = ok(&env.run(&args));
    assert!(
        out.contains("0 created, 0 updated, 3 unchanged, 0 refused"),
        "{out}"
    );
    let newer = env.write(
        "companies-newer.csv",
        "\u{feff}\"Record ID\",\"Company name\",\"Health (custom)\"\r\n\"9001\",\"Hooli\",\"red\"\r\n\"9002\",\"Pied Piper\",\"amber\"\r\n",
    );
    let out = ok(&env.run(&[
        "import",
        "--from",
        "hubspot",
        "companies",
        path(&newer),
        "--full",
    ]));
    assert!(
        out.contains("0 created, 1 updated, 1 unchanged, 0 refused"),
        "{out}"
    );
    assert!(
        out.contains("1 companies seen in earlier imports are not in this full export (nothing was deleted): 9003"),
        "{out}"
    );
    let accounts = ok(&env.run(&["export", "accounts"]));
    assert!(accounts.contains("9003,Aviato"), "{accounts}");
    assert!(
        accounts.contains(
            "9001,Hooli,COMPUTER_SOFTWARE,5000,United States,,jane@vendor.example,2023-02-01,,,red"
        ),
        "{accounts}"
    );
}

/// The CSV reader counted lines at the `\n` of a `\r\n`, so every problem
/// in a file with Windows line endings named the line before its own.
#[test]
fn windows_line_endings_give_the_right_line_in_plain_imports_too() {
    let env = Env::new();
    let file = env.write("accounts.csv", "id,name,employees\r\na,A,1\r\nb,B,x\r\n");
    let err = bad_input(&env.run(&["import", "accounts", path(&file)]));
    assert!(
        err.contains("accounts.csv line 3, column \"employees\""),
        "{err}"
    );
}

#[test]
fn health_exports_one_row_per_account_with_the_crms_id_column() {
    let env = Env::new();
    let accounts = fixture("salesforce-accounts.csv");
    ok(&env.run(&[
        "import",
        "--from",
        "salesforce",
        "accounts",
        path(&accounts),
    ]));
    let own = env.write("accounts.csv", b"id,name\nacc-own,Own Ltd\n");
    ok(&env.run(&["import", "accounts", path(&own), "-q"]));
    let subs = env.write(
        "subscriptions.csv",
        b"id,account_id,mrr,start_date,renewal_date\ns1,0015g00000AbCdEAAV,1000,2024-01-01,2099-01-01\n",
    );
    ok(&env.run(&["import", "subscriptions", path(&subs), "-q"]));
    let nps = env.write(
        "survey_responses.csv",
        b"id,account_id,kind,score,responded_at\nr1,0015g00000AbCdEAAV,nps,4,2025-01-01T00:00:00Z\nr2,0015g00000AbCdEAAV,nps,9,2025-03-01T00:00:00Z\n",
    );
    ok(&env.run(&["import", "survey_responses", path(&nps), "-q"]));

    let out = ok(&env.run(&["export", "health", "--crm", "salesforce"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "Id,Tenure ID,Name,Health Score,Health Band,At Risk,Segment,Stage,Latest NPS,ARR,Renewal Date"
    );
    assert_eq!(lines.len(), 5, "{out}");
    assert!(
        lines.contains(
            &"0015g00000AbCdEAAV,0015g00000AbCdEAAV,Acme Corp,,,false,,,9,12000.00,2099-01-01"
        ),
        "{out}"
    );
    // An account no Salesforce import saw has no Salesforce id.
    assert!(
        lines.contains(&",acc-own,Own Ltd,,,false,,,,0.00,"),
        "{out}"
    );

    let out = ok(&env.run(&["export", "health", "--crm", "hubspot"]));
    assert!(out.starts_with("Record ID,Tenure ID,Name,"), "{out}");
    assert!(out.contains("\n,0015g00000AbCdEAAV,Acme Corp,"), "{out}");
    let out = ok(&env.run(&["export", "health"]));
    assert!(out.starts_with("Tenure ID,Name,Health Score,"), "{out}");

    let err = bad_input(&env.run(&["export", "health", "--format", "json"]));
    assert!(err.contains("CSV only"), "{err}");
    let err = bad_input(&env.run(&["export", "accounts", "--crm", "hubspot"]));
    assert!(
        err.contains("--crm applies to `tenure export health` only"),
        "{err}"
    );
}

#[test]
fn config_check_reports_a_card_frame_ancestor_that_is_not_an_origin_at_its_line() {
    let env = Env::new();
    env.write(
        "tenure.toml",
        "[server]\ncard_frame_ancestors = [\n  \"https://acme.lightning.force.com\",\n  \"https://app.hubspot.com/contacts\",\n]\n",
    );
    let err = bad_input(&env.run(&["config", "check"]));
    assert!(err.contains("line 4"), "{err}");
    assert!(
        err.contains("\"https://app.hubspot.com/contacts\" is not an origin"),
        "{err}"
    );
}

/// `[[outbound.webhooks]]` and `[crm.webhook]` calling it.
const WEBHOOK_CONFIG: &str = r#"
[[outbound.webhooks]]
name = "crm"
url = "http://127.0.0.1:9/hooks/crm"
secret = "whsec_test"

[crm.webhook]
endpoint = "crm"
batch_size = 2
"#;

#[test]
fn crm_changes_previews_queues_once_and_marks_sent() {
    let env = Env::new();
    // Off until configured: exit 2, saying how to turn it on.
    let err = bad_input(&env.run(&["crm", "changes", "--dry-run"]));
    assert!(err.contains("add [crm.webhook]"), "{err}");
    env.write(
        "tenure.toml",
        WEBHOOK_CONFIG.replace("endpoint = \"crm\"", "endpoint = \"slack\""),
    );
    let err = bad_input(&env.run(&["config", "check"]));
    assert!(
        err.contains("tenure.toml line 8: crm.webhook.endpoint")
            && err.contains("unknown webhook endpoint \"slack\""),
        "{err}"
    );

    env.write("tenure.toml", WEBHOOK_CONFIG);
    let accounts = fixture("salesforce-accounts.csv");
    ok(&env.run(&[
        "import",
        "--from",
        "salesforce",
        "accounts",
        path(&accounts),
    ]));
    let out = ok(&env.run(&["crm", "changes", "--dry-run"]));
    assert!(
        out.contains(
            "0015g00000AbCdEAAV  Acme Corp: health_band (never sent) -> -; at_risk (never sent) -> false"
        ),
        "{out}"
    );
    assert!(
        out.contains("3 accounts changed: 2 payloads would be queued (dry run, nothing written)"),
        "{out}"
    );
    // Queued now, as the job would: the payloads printed as JSON.
    let out = ok(&env.run(&["crm", "changes", "--format", "json"]));
    let payloads: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(payloads.as_array().unwrap().len(), 2, "{out}");
    assert_eq!(
        payloads[0]["changes"][0]["account"]["crm_ids"],
        // In order of id; the CRM's id is the account's.
        serde_json::json!({"salesforce": "0015G00000xYzAbQAK"})
    );
    let log = ok(&env.run(&["outbound", "log"]));
    assert_eq!(log.matches("crm:changes:").count(), 2, "{log}");
    // Nothing changed since.
    let out = ok(&env.run(&["crm", "changes"]));
    assert!(
        out.contains("0 accounts changed: 0 payloads queued"),
        "{out}"
    );
    let out = ok(&env.run(&["crm", "changes", "--mark-sent"]));
    assert!(
        out.contains("recorded the current state of 3 accounts as sent; nothing was queued"),
        "{out}"
    );
}
