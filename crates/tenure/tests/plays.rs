//! `tenure plays` as a user runs it: the list, a dry run that acts on
//! nothing, the background job firing a playbook, and the history with its
//! trace.

use serde_json::Value;

mod common;

use common::{Env, bad_input, ok};

const CONFIG: &str = r#"
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

[[playbooks]]
name = "Small account"
trigger = "paying && mrr < 200"

[[playbooks.actions]]
kind = "task"
title = "Offer {{account.name}} the bigger plan"
"#;

fn json(env: &Env, args: &[&str]) -> Value {
    serde_json::from_str(&ok(&env.run(args))).unwrap()
}

#[test]
fn a_dry_run_explains_who_would_enter_and_the_job_fires_with_a_trace() {
    let env = Env::new();
    env.write("tenure.toml", CONFIG);
    env.write(
        "accounts.csv",
        "id,name,csm_email\na1,Alpha,ann@x.com\na2,Beta,bo@x.com\n",
    );
    env.write(
        "subscriptions.csv",
        "id,account_id,mrr,start_date\ns1,a1,100,2025-01-01\ns2,a2,900,2025-01-01\n",
    );
    for kind in ["accounts", "subscriptions"] {
        ok(&env.run(&["import", kind, &format!("{kind}.csv"), "--quiet"]));
    }
    let list = json(&env, &["plays", "--format", "json"]);
    assert_eq!(list[0]["name"], "Small account");
    assert_eq!(
        (
            list[0]["actions"][0]["kind"].as_str(),
            list[0]["actions"][0]["text"].as_str()
        ),
        (Some("task"), Some("Offer {{account.name}} the bigger plan"))
    );

    let v = json(
        &env,
        &["plays", "dry-run", "Small account", "--format", "json"],
    );
    let who = v["accounts"].as_array().unwrap();
    assert_eq!(who.len(), 1, "{v}");
    assert_eq!(who[0]["account_id"], "a1");
    assert_eq!(who[0]["would_enrol"], true);
    assert!(
        who[0]["inputs"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"field": "mrr", "value": "100"}))
    );
    // Nothing was done.
    let h = json(&env, &["plays", "history", "--format", "json"]);
    assert_eq!(h.as_array().unwrap().len(), 0);

    ok(&env.run(&["run-jobs", "--once"]));
    let h = json(
        &env,
        &["plays", "history", "--account", "a1", "--format", "json"],
    );
    let e = &h[0];
    assert_eq!(e["playbook"], "Small account");
    assert_eq!(e["trigger"], "paying && mrr < 200");
    assert!(
        e["inputs"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"field": "mrr", "value": "100"}))
    );
    assert_eq!(e["actions"][0]["result"], "done");
    assert_eq!(e["exit_reason"], "finished");
    let tasks = json(&env, &["tasks", "--all", "--format", "json"]);
    let titles: Vec<&str> = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Offer Alpha the bigger plan"]);
    // Now enrolled (and finished): a dry run says why not again.
    let v = json(
        &env,
        &["plays", "dry-run", "Small account", "--format", "json"],
    );
    assert_eq!(v["accounts"][0]["would_enrol"], false);

    let e = bad_input(&env.run(&["plays", "dry-run", "Nope"]));
    assert!(
        e.contains("unknown playbook \"Nope\": expected one of Small account"),
        "{e}"
    );
}
