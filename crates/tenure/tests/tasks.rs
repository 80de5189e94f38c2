//! `tenure tasks` as a user runs it: tasks added, *my tasks* overdue first
//! (the API's JSON), completed with one engagement logged, snoozed,
//! reassigned, dropped and reopened; mistakes name the flag and exit 2
//! with nothing written.

use serde_json::Value;

mod common;

use common::{Env, bad_input, ok};

fn day(n: i32) -> String {
    let today = tenure_core::model::utc_date(jiff::Timestamp::now());
    tenure_core::model::add_days(today, n).to_string()
}

/// a1 and a2 belong to Ann, a3 to Bo.
fn env() -> Env {
    let env = Env::new();
    env.write(
        "accounts.csv",
        "id,name,csm_email\na1,Alpha,ann@x.com\na2,Beta,Ann@X.com\na3,Gamma,bo@x.com\n",
    );
    ok(&env.run(&["import", "accounts", "accounts.csv", "--quiet"]));
    env
}

fn json(env: &Env, args: &[&str]) -> Value {
    serde_json::from_str(&ok(&env.run(args))).unwrap()
}

fn add(env: &Env, args: &[&str]) -> String {
    let mut all = vec!["tasks", "add", "--format", "json"];
    all.extend_from_slice(args);
    json(env, &all)["id"].as_str().unwrap().to_string()
}

fn titles(v: &Value) -> Vec<(String, i64)> {
    v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap().to_string(),
                t["overdue_days"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn tasks_are_added_listed_overdue_first_and_worked_from_the_command_line() {
    let env = env();
    let call = add(
        &env,
        &[
            "--account",
            "a1",
            "--title",
            "Call the sponsor",
            "--due",
            &day(-3),
            "--log-kind",
            "call",
        ],
    );
    let deck = add(
        &env,
        &[
            "--account",
            "a2",
            "--title",
            "Send the deck",
            "--due",
            &day(2),
            "--priority",
            "high",
        ],
    );
    add(
        &env,
        &["--account", "a3", "--title", "Bo's", "--due", &day(-1)],
    );

    // Every owner by default, overdue first, in the API's shape.
    let v = json(&env, &["tasks", "--format", "json"]);
    assert_eq!(
        titles(&v),
        [
            ("Call the sponsor".into(), 3),
            ("Bo's".into(), 1),
            ("Send the deck".into(), 0)
        ]
    );
    assert_eq!(v["overdue"], 2);
    assert_eq!(v["tasks"][0]["owner_email"], "ann@x.com");
    assert_eq!(v["tasks"][0]["account_name"], "Alpha");
    assert_eq!(v["tasks"][2]["owner_email"], "ann@x.com");

    // One owner, by flag or by TENURE_OWNER; --all overrides it.
    let v = json(&env, &["tasks", "--owner", "ANN@x.com", "--format", "json"]);
    assert_eq!(titles(&v).len(), 2);
    assert_eq!(v["owner"], "ann@x.com");
    let out = env
        .command(&["tasks", "--format", "json"])
        .env("TENURE_OWNER", "bo@x.com")
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(titles(&v), [("Bo's".into(), 1)]);
    let out = env
        .command(&["tasks", "--all", "--format", "json"])
        .env("TENURE_OWNER", "bo@x.com")
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(titles(&v).len(), 3);
    let table = ok(&env.run(&["tasks", "--owner", "ann@x.com"]));
    assert!(
        table.starts_with(&format!(
            "2 open task(s) on {}, owned by ann@x.com; 1 overdue; overdue first\n",
            day(0)
        )),
        "{table}"
    );
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[2].starts_with(&call) && lines[2].ends_with("Call the sponsor"));
    assert!(lines[3].starts_with(&deck), "{table}");

    // Done: one engagement of the task's kind, logged today.
    let out = ok(&env.run(&["tasks", "done", &call]));
    assert!(
        out.starts_with(&format!(
            "{call}: done on {}; logged engagement eng_",
            day(0)
        )),
        "{out}"
    );
    let err = bad_input(&env.run(&["tasks", "done", &call]));
    assert!(err.contains("status: the task is already done"), "{err}");
    let csv = ok(&env.run(&["export", "engagements", "--format", "csv"]));
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains(&format!(",a1,call,{}", day(0))), "{csv}");
    let v = json(&env, &["tasks", "--status", "done", "--format", "json"]);
    assert_eq!(titles(&v), [("Call the sponsor".into(), 0)]);

    // Snooze, reassign, drop, reopen.
    let v = json(
        &env,
        &[
            "tasks",
            "snooze",
            &deck,
            "--until",
            &day(7),
            "--format",
            "json",
        ],
    );
    assert_eq!(v["due"], day(7));
    let out = ok(&env.run(&["tasks", "reassign", &deck, "--to", "Bo@x.com"]));
    assert_eq!(out, format!("{deck}: reassigned to bo@x.com\n"));
    let v = json(&env, &["tasks", "--owner", "bo@x.com", "--format", "json"]);
    assert_eq!(titles(&v).len(), 2);
    assert_eq!(
        ok(&env.run(&["tasks", "drop", &deck])),
        format!("{deck}: dropped\n")
    );
    let v = json(&env, &["tasks", "reopen", &deck, "--format", "json"]);
    assert_eq!(v["status"], "open");
    // Done without logging, on an earlier day.
    let v = json(
        &env,
        &[
            "tasks",
            "done",
            &deck,
            "--no-log",
            "--on",
            &day(-1),
            "--format",
            "json",
        ],
    );
    assert_eq!(
        (&v["status"], &v["completed_on"], &v["engagement_id"]),
        (&Value::from("done"), &Value::from(day(-1)), &Value::Null)
    );
}

#[test]
fn mistakes_name_the_flag_exit_2_and_write_nothing() {
    let env = env();
    let err = bad_input(&env.run(&[
        "tasks",
        "add",
        "--account",
        "a1",
        "--title",
        " ",
        "--priority",
        "soon",
        "--log-kind",
        "fax",
        "--owner",
        "ann",
    ]));
    for flag in ["--title: ", "--priority: ", "--log-kind: ", "--owner: "] {
        assert!(err.contains(flag), "{flag}: {err}");
    }
    let err = bad_input(&env.run(&[
        "tasks",
        "add",
        "--account",
        "a1",
        "--title",
        "x",
        "--due",
        "2025-13-01",
    ]));
    assert!(err.contains("--due: expected a date"), "{err}");
    let err = bad_input(&env.run(&["tasks", "add", "--account", "nope", "--title", "x"]));
    assert!(err.contains("account \"nope\" does not exist"), "{err}");
    for (args, message) in [
        (&["tasks", "--status", "bogus"][..], "--status: "),
        (&["tasks", "--as-of", "someday"][..], "--as-of: "),
        (&["tasks", "--owner", "nobody"][..], "--owner: "),
        (&["tasks", "--account", "nope"][..], "does not exist"),
        (&["tasks", "done", "tsk_nope"][..], "does not exist"),
    ] {
        let err = bad_input(&env.run(args));
        assert!(err.contains(message), "{args:?}: {err}");
    }
    let v = json(&env, &["tasks", "--status", "all", "--format", "json"]);
    assert_eq!(v["tasks"], Value::Array(Vec::new()));

    let id = add(&env, &["--account", "a1", "--title", "Call"]);
    for (args, message) in [
        (vec!["--log", "party"], "--log: "),
        (vec!["--on", &day(1)], "--on: "),
        (vec!["--no-log", "--notes", "x"], "--notes: "),
    ] {
        let mut all = vec!["tasks", "done", id.as_str()];
        all.extend(args.iter().copied());
        let err = bad_input(&env.run(&all));
        assert!(err.contains(message), "{all:?}: {err}");
    }
    let err = bad_input(&env.run(&["tasks", "snooze", &id, "--until", &day(0)]));
    assert!(
        err.contains("--until: snooze to a day after today"),
        "{err}"
    );
    let err = bad_input(&env.run(&["tasks", "reassign", &id, "--to", "ann"]));
    assert!(err.contains("--to: "), "{err}");
    // clap refuses contradictory flags itself, with its usage error (2).
    bad_input(&env.run(&["tasks", "done", &id, "--log", "call", "--no-log"]));
    let v = json(&env, &["tasks", "--format", "json"]);
    assert_eq!(v["tasks"][0]["status"], "open");
    assert_eq!(v["tasks"][0]["owner_email"], "ann@x.com");
    let csv = ok(&env.run(&["export", "engagements", "--format", "csv"]));
    assert_eq!(csv.lines().count(), 1, "{csv}");
}
