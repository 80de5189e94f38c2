//! `tenure surveys` as a user runs it (docs/VOICE.md): `[[surveys]]`
//! mistakes reported by `tenure config check` with their lines, the list,
//! `send-due` queueing one email per contact due, an answer through the
//! hosted page's path landing in `tenure metrics` NPS at once, and the
//! response rates.

use serde_json::Value;

mod common;

use common::{Env, bad_input, ok};

const CONFIG: &str = r#"
[server]
public_url = "https://cs.example.com"

[engage]

[[engage.tiers]]
name = "high"

[[engage.stages]]
name = "customer"
entry = "paying"

[[engage.segments]]
name = "All"
rule = "paying"
tier = "high"

[[surveys]]
name = "NPS"
kind = "nps"
question = "How likely are you to recommend us?"
roles = ["admin"]
every_days = 90
"#;

fn json(env: &Env, args: &[&str]) -> Value {
    serde_json::from_str(&ok(&env.run(args))).unwrap()
}

#[test]
fn survey_config_errors_name_their_lines() {
    let env = Env::new();
    env.write(
        "tenure.toml",
        "[[surveys]]\nname = \"NPS\"\nkind = \"nps\"\nquestion = \"Q\"\nevery_days = 0\n\n[[surveys]]\nname = \"CES\"\nkind = \"ces\"\nquestion = \"Q\"\nafter = \"onboarding_done\"\n",
    );
    let err = bad_input(&env.run(&["config", "check"]));
    assert!(err.contains("line 5"), "{err}");
    assert!(err.contains("every_days must be from 1"), "{err}");
    assert!(err.contains("line 11"), "{err}");
    assert!(err.contains("ticket_closed"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn surveys_are_sent_answered_and_counted_in_metrics() {
    let env = Env::new();
    env.write("tenure.toml", CONFIG);
    env.write("accounts.csv", "id,name,csm_email\na1,Alpha,ann@x.com\n");
    env.write(
        "subscriptions.csv",
        "id,account_id,mrr,start_date\ns1,a1,900,2025-01-01\n",
    );
    env.write(
        "contacts.csv",
        "id,account_id,email,role\nc1,a1,ana@alpha.example,admin\nc2,a1,bo@alpha.example,user\n",
    );
    for kind in ["accounts", "subscriptions", "contacts"] {
        ok(&env.run(&["import", kind, &format!("{kind}.csv"), "--quiet"]));
    }

    let list = ok(&env.run(&["surveys"]));
    assert!(
        list.contains("NPS (nps, every 90 days, by email)"),
        "{list}"
    );
    assert!(list.contains("0 sent, 0 answered"), "{list}");
    let out = ok(&env.run(&["surveys", "send-due"]));
    assert!(out.contains("1 survey email(s) queued"), "{out}");
    let again = ok(&env.run(&["surveys", "send-due"]));
    assert!(again.contains("0 survey email(s) queued"), "{again}");
    let l = json(&env, &["surveys", "list", "--format", "json"]);
    assert_eq!(l[0]["sent"], 1);

    // Ana clicks 10 in her email and sends the form: the hosted page's
    // path (the HTTP tests drive the page itself).
    // The email's body is not printed by `tenure outbound log`: read it
    // from the outbox as the SMTP job does.
    let store = tenure_store::Store::open(&format!("sqlite://{}", env.path("t.db").display()))
        .await
        .unwrap();
    let log = store
        .outbox_log(&tenure_store::outbound::LogQuery::default())
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].target, "ana@alpha.example");
    let body = &log[0].body;
    let base = "https://cs.example.com/s/";
    let at = body.find(base).unwrap() + base.len();
    let token: String = body[at..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    let config = tenure_core::config::parse_config(CONFIG).unwrap();
    let now = tenure_app::clock::now_micros();
    let r = tenure_app::surveys::answer(&store, &config, &token, 10, Some("Love it"), now)
        .await
        .unwrap();
    assert!(r.is_ok(), "{r:?}");
    drop(store);

    // `tenure metrics` counts the answer at once.
    let today = tenure_app::clock::today().to_string();
    let m = json(
        &env,
        &[
            "metrics",
            "--from",
            "2025-01-01",
            "--to",
            &today,
            "--format",
            "json",
        ],
    );
    assert_eq!(m["nps"], 100.0, "{m}");

    let r = json(&env, &["surveys", "rates", "NPS", "--format", "json"]);
    assert_eq!(r["total"]["sent"], 1);
    assert_eq!(r["total"]["answered"], 1);
    assert_eq!(r["by_csm"][0]["key"], "ann@x.com");
    let table = ok(&env.run(&["surveys", "rates"]));
    assert!(
        table.contains("all: 1 sent, 1 answered, response rate 100%"),
        "{table}"
    );
    let err = bad_input(&env.run(&["surveys", "rates", "Nope"]));
    assert!(err.contains("survey \"Nope\" does not exist"), "{err}");
}

#[test]
fn a_survey_is_sent_now_by_name_within_the_fatigue_limit() {
    let env = Env::new();
    env.write("tenure.toml", CONFIG);
    env.write("accounts.csv", "id,name,csm_email\na1,Alpha,ann@x.com\n");
    env.write(
        "subscriptions.csv",
        "id,account_id,mrr,start_date\ns1,a1,900,2025-01-01\n",
    );
    env.write(
        "contacts.csv",
        "id,account_id,email,role\nc1,a1,ana@alpha.example,admin\nc2,a1,cy@alpha.example,admin\nc3,a1,bo@alpha.example,user\n",
    );
    for kind in ["accounts", "subscriptions", "contacts"] {
        ok(&env.run(&["import", kind, &format!("{kind}.csv"), "--quiet"]));
    }
    let out = ok(&env.run(&["surveys", "send", "NPS", "--as-of", "2026-03-02"]));
    assert!(
        out.contains("2026-03-02: NPS: 2 survey email(s) queued, 0 in-app survey(s) opened"),
        "{out}"
    );
    // 29 days later the fatigue limit (30 days) holds; on the 30th it goes
    // again, though the survey is every 90 days.
    let tired = ok(&env.run(&["surveys", "send", "NPS", "--as-of", "2026-03-31"]));
    assert!(tired.contains("0 survey email(s) queued"), "{tired}");
    let rested = ok(&env.run(&["surveys", "send", "NPS", "--as-of", "2026-04-01"]));
    assert!(rested.contains("2 survey email(s) queued"), "{rested}");
    let l = json(&env, &["surveys", "list", "--format", "json"]);
    assert_eq!(l[0]["sent"], 4);
    let err = bad_input(&env.run(&["surveys", "send", "Nope"]));
    assert!(err.contains("survey \"Nope\" does not exist"), "{err}");
}

#[test]
fn a_survey_is_scheduled_listed_and_cancelled() {
    let env = Env::new();
    env.write("tenure.toml", CONFIG);
    let today = tenure_app::clock::today();
    let on = tenure_core::model::add_days(today, 3).to_string();
    let out = ok(&env.run(&[
        "surveys",
        "schedule",
        "NPS",
        "--on",
        &on,
        "--by",
        "lea@x.com",
    ]));
    assert!(out.contains(&format!("NPS scheduled for {on}")), "{out}");
    let id = out.split(':').next().unwrap().trim().to_string();
    let l = json(&env, &["surveys", "schedules", "--format", "json"]);
    assert_eq!(l[0]["id"], id.as_str());
    assert_eq!(l[0]["created_by"], "lea@x.com");
    let table = ok(&env.run(&["surveys", "schedules"]));
    assert!(
        table.contains(&on) && table.contains("scheduled by lea@x.com"),
        "{table}"
    );
    // Refused with the flag or the reason named.
    let err = bad_input(&env.run(&["surveys", "schedule", "NPS", "--on", "next week"]));
    assert!(err.contains("--on"), "{err}");
    let past = tenure_core::model::add_days(today, -1).to_string();
    let err = bad_input(&env.run(&["surveys", "schedule", "NPS", "--on", &past]));
    assert!(err.contains("is in the past"), "{err}");
    let err = bad_input(&env.run(&["surveys", "schedule", "NPS", "--on", &on]));
    assert!(err.contains("already scheduled"), "{err}");
    let err = bad_input(&env.run(&["surveys", "schedule", "Nope", "--on", &on]));
    assert!(err.contains("survey \"Nope\" does not exist"), "{err}");
    // Cancelled once.
    ok(&env.run(&["surveys", "cancel", &id]));
    let err = bad_input(&env.run(&["surveys", "cancel", &id]));
    assert!(err.contains("does not exist"), "{err}");
    let none = ok(&env.run(&["surveys", "schedules"]));
    assert!(
        none.contains("No survey is scheduled to be sent."),
        "{none}"
    );
    let all = json(&env, &["surveys", "schedules", "--all", "--format", "json"]);
    assert_eq!(all[0]["status"], "cancelled");
    assert_eq!(all[0]["done_by"], "cli");
}
