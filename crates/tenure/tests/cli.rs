//! The `tenure` command as a user runs it: exit codes, messages, files.

use std::path::Path;

mod common;

use common::{Env, bad_input, ok, text};

const ACCOUNTS: &[u8] = b"id,name,plan\nacc-1,Acme,growth\nacc-2,Globex,starter\n";

#[test]
fn import_prints_a_one_line_summary_and_quiet_prints_nothing() {
    let env = Env::new();
    let file = env.write("accounts.csv", ACCOUNTS);
    let out = ok(&env.run(&["import", "accounts", file.to_str().unwrap()]));
    assert!(
        out.starts_with("accounts.csv: 2 rows imported as accounts (2 inserted, 0 updated) in "),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1);
    let out = ok(&env.run(&["import", "accounts", "accounts.csv", "--quiet"]));
    assert_eq!(out, "");
}

#[test]
fn bad_files_exit_2_naming_file_line_and_column_and_write_nothing() {
    let env = Env::new();
    env.write("accounts.csv", ACCOUNTS);
    ok(&env.run(&["import", "accounts", "accounts.csv"]));
    env.write(
        "subscriptions.csv",
        b"id,account_id,mrr,start_date\ns1,acc-1,100,2025-01-01\ns2,acc-1,-4,2025-01-01\n",
    );
    let err = bad_input(&env.run(&["import", "subscriptions", "subscriptions.csv"]));
    assert!(
        err.contains("subscriptions.csv line 3, column \"mrr\": MRR must not be negative"),
        "{err}"
    );
    let out = ok(&env.run(&["export", "subscriptions"]));
    assert_eq!(out.lines().count(), 1, "only the header: {out}");
}

#[test]
fn unknown_kinds_and_missing_files_are_bad_input() {
    let env = Env::new();
    env.write("accounts.csv", ACCOUNTS);
    let err = bad_input(&env.run(&["import", "acounts", "accounts.csv"]));
    assert!(err.contains("unknown kind \"acounts\""), "{err}");
    let err = bad_input(&env.run(&["import", "accounts", "nope.csv"]));
    assert!(err.contains("cannot read nope.csv"), "{err}");
    let err = bad_input(&env.run(&["export", "widgets"]));
    assert!(err.contains("unknown kind"), "{err}");
}

/// `tenure export ... | head -1`: a reader that stops early is not an error.
#[test]
fn export_into_a_pipe_closed_early_ends_quietly() {
    use std::io::BufRead;
    let env = Env::new();
    let mut csv = String::from("timestamp,account_id,user_id,event\n");
    for i in 0..200_000 {
        csv.push_str(&format!("2025-01-01T00:00:00Z,acc-1,u{i},login\n"));
    }
    env.write("events.csv", csv);
    ok(&env.run(&[
        "import",
        "events",
        "events.csv",
        "--create-missing-accounts",
    ]));
    for format in ["csv", "json", "ndjson"] {
        let mut child = env.spawn_piped(&["export", "events", "--format", format]);
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty());
        // The reader is dropped here: the pipe closes with most rows unsent.
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{format}: {}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "", "{format}");
    }
}

#[test]
fn export_to_a_file_reimports_to_the_same_data() {
    let env = Env::new();
    env.write("accounts.csv", b"id,name,tier\nacc-1,\"Acme, Inc.\",gold\n");
    ok(&env.run(&["import", "accounts", "accounts.csv"]));
    ok(&env.run(&[
        "export",
        "accounts",
        "--format",
        "ndjson",
        "--out",
        "out.ndjson",
    ]));
    let exported = std::fs::read_to_string(env.path("out.ndjson")).unwrap();
    assert_eq!(
        exported,
        "{\"id\":\"acc-1\",\"name\":\"Acme, Inc.\",\"industry\":null,\"employees\":null,\"region\":null,\"plan\":null,\"csm_email\":null,\"created_at\":null,\"trial_start\":null,\"trial_end\":null,\"tier\":\"gold\"}\n"
    );
    let other = Env::new();
    std::fs::copy(env.path("out.ndjson"), other.path("accounts.ndjson")).unwrap();
    ok(&other.run(&["import", "accounts", "accounts.ndjson"]));
    ok(&other.run(&[
        "export",
        "accounts",
        "--format",
        "ndjson",
        "--out",
        "again.ndjson",
    ]));
    assert_eq!(
        std::fs::read_to_string(other.path("again.ndjson")).unwrap(),
        exported
    );
}

#[test]
fn init_writes_a_config_that_checks_and_errors_name_their_line() {
    let env = Env::new();
    ok(&env.run(&["init"]));
    let out = ok(&env.run(&["config", "check"]));
    assert!(out.contains("OK"), "{out}");
    let err = bad_input(&env.run(&["init"]));
    assert!(err.contains("already exists"), "{err}");
    env.write("tenure.toml", b"[costs]\n\ngross_margin = 1.5\n");
    let err = bad_input(&env.run(&["config", "check"]));
    assert!(
        err.contains("tenure.toml line 3: costs.gross_margin"),
        "{err}"
    );
}

#[test]
fn db_status_lists_migrations_and_migrate_applies_them() {
    let env = Env::new();
    let out = ok(&env.run(&["db", "status"]));
    assert!(out.contains("pending"), "{out}");
    let out = ok(&env.run(&["db", "migrate"]));
    assert!(out.contains("up to date"), "{out}");
    let out = ok(&env.run(&["db", "status"]));
    assert!(out.contains("applied") && !out.contains("pending"), "{out}");
    assert!(Path::new(&env.path("t.db")).exists());
}

fn read_dir_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn demo_files_are_deterministic_and_import_cleanly() {
    let env = Env::new();
    let args = [
        "demo",
        "--accounts",
        "40",
        "--seed",
        "7",
        "--end",
        "2025-06-30",
        "--days",
        "120",
    ];
    let mut first = args.to_vec();
    first.extend(["--out", "one"]);
    let mut second = args.to_vec();
    second.extend(["--out", "two"]);
    ok(&env.run(&first));
    ok(&env.run(&second));
    let one = read_dir_files(&env.path("one"));
    let two = read_dir_files(&env.path("two"));
    let names: Vec<&str> = one.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "accounts.csv",
            "contacts.csv",
            "engagements.csv",
            "events.ndjson",
            "subscriptions.csv",
            "survey_responses.csv",
            "tickets.csv"
        ]
    );
    assert!(one == two, "the same seed must give byte-identical files");
    for kind in [
        "accounts",
        "contacts",
        "subscriptions",
        "tickets",
        "survey_responses",
        "engagements",
        "events",
    ] {
        let file = if kind == "events" {
            "one/events.ndjson".to_string()
        } else {
            format!("one/{kind}.csv")
        };
        ok(&env.run(&["import", kind, &file, "--quiet"]));
    }
    // The loaded database exports the same accounts the demo wrote.
    ok(&env.run(&["export", "accounts", "--out", "accounts-again.csv"]));
    assert_eq!(
        std::fs::read(env.path("accounts-again.csv")).unwrap(),
        std::fs::read(env.path("one/accounts.csv")).unwrap()
    );
    let mut other_seed = args.to_vec();
    other_seed[4] = "8";
    other_seed.extend(["--out", "three"]);
    ok(&env.run(&other_seed));
    assert!(read_dir_files(&env.path("three")) != one);
}

#[test]
fn demo_loads_the_database_and_refuses_to_mix_with_existing_data() {
    let env = Env::new();
    let out = ok(&env.run(&[
        "demo",
        "--accounts",
        "25",
        "--end",
        "2025-06-30",
        "--days",
        "90",
        "--no-serve",
    ]));
    assert!(out.starts_with("demo company loaded into"), "{out}");
    assert!(out.contains("25 accounts"), "{out}");
    let events = ok(&env.run(&["export", "events", "--format", "ndjson"]));
    assert!(events.lines().count() > 100, "the demo has usage events");
    let err = bad_input(&env.run(&["demo", "--accounts", "5", "--no-serve"]));
    assert!(err.contains("already holds 25 accounts"), "{err}");
}

#[test]
fn run_jobs_once_scores_today_and_skips_nothing_on_a_fresh_database() {
    let env = Env::new();
    ok(&env.run(&[
        "demo",
        "--accounts",
        "30",
        "--days",
        "60",
        "--seed",
        "4",
        "--no-serve",
        "--quiet",
    ]));
    let out = ok(&env.run(&["run-jobs", "--once"]));
    let n: u64 = out
        .trim()
        .strip_prefix("health: ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output {out:?}"));
    assert!(n > 0, "{out}");
    // The pass is recorded; the same data again makes no pass.
    let again = ok(&env.run(&["run-jobs", "--once"]));
    assert!(again.starts_with("health: nothing to do"), "{again}");
    let status = ok(&env.run(&["run-jobs", "--status"]));
    let lines: Vec<&str> = status.lines().collect();
    assert_eq!(lines.len(), 3, "{status}");
    assert!(lines[0].starts_with("started (UTC)"), "{status}");
    // Newest first: the feedback refresh is recorded inside the pass.
    assert!(
        lines[1].contains(" daily ") && lines[2].contains(" feedback "),
        "{status}"
    );
    assert!(lines[1].contains(&format!(" ok {n:>12}  ")), "{status}");
    let history = ok(&env.run(&[
        "health",
        "history",
        "--account",
        "acc-000003",
        "--format",
        "json",
    ]));
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    let snapshots = history["snapshots"].as_array().unwrap();
    assert_eq!(snapshots.len(), 1, "{history}");
    assert!(snapshots[0]["score"].is_number(), "{history}");
}
