//! `tenure backup` and `tenure restore` as a user runs them (the checks
//! themselves are tested in tenure-store's tests/backup.rs).

mod common;

use common::{Env, bad_input, ok, text};

const ACCOUNTS: &[u8] = b"id,name,plan\nacc-1,Acme,growth\nacc-2,Globex,starter\n";

/// Every importable kind, exported: what the user sees of the data.
fn exported(env: &Env) -> Vec<String> {
    [
        "accounts",
        "contacts",
        "subscriptions",
        "events",
        "tickets",
        "survey_responses",
        "engagements",
    ]
    .iter()
    .map(|kind| ok(&env.run(&["export", kind, "--format", "ndjson"])))
    .collect()
}

#[test]
fn backup_then_restore_gives_back_the_data_and_prints_counts() {
    let env = Env::new();
    env.write("accounts.csv", ACCOUNTS);
    ok(&env.run(&["import", "accounts", "accounts.csv"]));
    env.write(
        "events.ndjson",
        "{\"timestamp\":\"2025-03-01T09:30:00Z\",\"account_id\":\"acc-1\",\"user_id\":\"u1\",\"event\":\"login\"}\n",
    );
    ok(&env.run(&["import", "events", "events.ndjson"]));
    let before = exported(&env);

    let out = ok(&env.run(&["backup", "nightly.db"]));
    assert!(out.starts_with("backed up sqlite://"), "{out}");
    assert!(out.contains("to nightly.db ("), "{out}");
    let accounts = out
        .lines()
        .find(|l| l.trim_start().starts_with("accounts "))
        .unwrap_or_else(|| panic!("no accounts count: {out}"));
    assert_eq!(accounts.split_whitespace().nth(1), Some("2"), "{out}");
    assert!(out.contains("usage_days"), "{out}");

    // A second backup to the same name needs --force.
    let err = bad_input(&env.run(&["backup", "nightly.db"]));
    assert!(err.contains("nightly.db exists: pass --force"), "{err}");
    ok(&env.run(&["backup", "nightly.db", "--force"]));

    env.write("more.csv", b"id,name\nacc-3,Initech\n");
    ok(&env.run(&["import", "accounts", "more.csv"]));
    assert_ne!(exported(&env), before);

    let out = ok(&env.run(&["restore", "nightly.db"]));
    assert!(out.starts_with("restored nightly.db into "), "{out}");
    assert_eq!(exported(&env), before);
}

#[test]
fn restore_of_a_file_that_is_not_a_backup_exits_2_and_changes_nothing() {
    let env = Env::new();
    env.write("accounts.csv", ACCOUNTS);
    ok(&env.run(&["import", "accounts", "accounts.csv"]));
    let before = exported(&env);
    let err = bad_input(&env.run(&["restore", "accounts.csv"]));
    assert!(
        err.contains("accounts.csv is not a SQLite database"),
        "{err}"
    );
    let err = bad_input(&env.run(&["restore", "missing.db"]));
    assert!(err.contains("missing.db does not exist"), "{err}");
    assert_eq!(exported(&env), before);
}

#[test]
fn backup_of_no_database_exits_2_without_creating_one() {
    let env = Env::new();
    let err = bad_input(&env.run(&["backup", "b.db"]));
    assert!(err.contains("no database at"), "{err}");
    assert!(!env.path("t.db").exists());
    assert!(!env.path("b.db").exists());
}

#[test]
fn a_postgres_password_is_never_printed() {
    let env = Env::new();
    // Nothing listens on port 1: pg_dump fails to connect (or is missing).
    let url = "postgres://tenure:s3cret@127.0.0.1:1/tenure";
    let out = env.run(&["--db", url, "backup", "pg.dump"]);
    assert!(!out.status.success());
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!said.contains("s3cret"), "{said}");
    assert!(said.contains("tenure:***@127.0.0.1:1"), "{said}");
    assert!(!env.path("pg.dump").exists());

    let out = env.run(&["--db", url, "restore", "pg.dump"]);
    let err = bad_input(&out);
    assert!(err.contains("pg.dump does not exist"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
}
