//! `tenure plans` as a user runs it: templates applied to the accounts they
//! fit, a plan shown and worked by hand, time to value, and bad input named
//! by its flag with exit code 2.

use serde_json::Value;

mod common;

use common::{Env, bad_input, ok, text};

const CONFIG: &str = r#"
[engage]
engagement_kinds = ["call", "qbr"]

[[engage.tiers]]
name = "high"

[[engage.tiers]]
name = "tech"

[[engage.stages]]
name = "onboarding"
entry = "paying"

[[engage.segments]]
name = "Big"
rule = "arr_percentile != null && arr_percentile >= 0.3"
tier = "high"

[[engage.segments]]
name = "Small"
rule = "paying"
tier = "tech"

[[target.templates]]
name = "Big onboarding"
tiers = ["high"]
stages = ["onboarding"]

[[target.templates.goals]]
name = "Seats bought"
metric = "seats"
target = 20

[[target.templates.milestones]]
name = "Kick-off"
due_days = 7
"#;

/// a1 pays 100, a2 400 with 10 seats, a3 500; all since 2025-01-01.
fn env() -> Env {
    let env = Env::new();
    env.write("tenure.toml", CONFIG);
    env.write(
        "accounts.csv",
        "id,name,csm_email\na1,Alpha,ann@x.com\na2,Beta,bo@x.com\na3,Gamma,ann@x.com\n",
    );
    env.write(
        "subscriptions.csv",
        "id,account_id,mrr,start_date,seats\n\
         s1,a1,100,2025-01-01,\n\
         s2,a2,400,2025-01-01,10\n\
         s3,a3,500,2025-01-01,\n",
    );
    for kind in ["accounts", "subscriptions"] {
        ok(&env.run(&["import", kind, &format!("{kind}.csv"), "--quiet"]));
    }
    env
}

fn json(env: &Env, args: &[&str]) -> Value {
    serde_json::from_str(&ok(&env.run(args))).unwrap()
}

#[test]
fn templates_make_plans_that_are_worked_from_the_command_line() {
    let env = env();
    let out = env.run(&["plans", "apply", "--as-of", "2025-07-20"]);
    ok(&out);
    assert!(
        text(&out.stderr)
            .contains("2 plans created, 2 templates applied, 2 tasks made, 2 goals measured"),
        "{}",
        text(&out.stderr)
    );
    // a2 and a3 are Big (high touch) in onboarding; a1 is Small.
    let v = json(
        &env,
        &["plans", "--as-of", "2025-07-20", "--format", "json"],
    );
    let plans = v.as_array().unwrap();
    let accounts: Vec<&str> = plans
        .iter()
        .map(|p| p["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["a2", "a3"]);
    let a2 = &plans[0];
    assert_eq!(a2["templates"][0], "Big onboarding");
    assert_eq!(a2["goals"][0]["value"], 10.0);
    assert_eq!(a2["goals"][0]["progress"], 0.5);
    assert_eq!(a2["milestones"][0]["due_on"], "2025-07-27");
    assert_eq!(a2["milestones"][0]["owner_email"], "bo@x.com");
    // a3 has no seats: no data, not 0.
    assert!(plans[1]["goals"][0]["value"].is_null());
    let plan = a2["id"].as_str().unwrap().to_string();
    let milestone = a2["milestones"][0]["id"].as_str().unwrap().to_string();

    // The kick-off is done early, on 07-19.
    ok(&env.run(&[
        "plans",
        "milestone",
        "set",
        &milestone,
        "--status",
        "done",
        "--on",
        "2025-07-19",
    ]));
    let v = json(
        &env,
        &[
            "plans",
            "show",
            &plan,
            "--as-of",
            "2025-07-20",
            "--format",
            "json",
        ],
    );
    assert_eq!(v["milestones"][0]["standing"], "done");
    assert_eq!(v["execution"]["rate"], 1.0);
    // Time to value: first MRR 01-01, first milestone 07-19: 199 days.
    let v = json(
        &env,
        &[
            "plans",
            "time-to-value",
            "--as-of",
            "2025-07-20",
            "--format",
            "json",
        ],
    );
    assert_eq!(v["median_days"], 199.0);
    let table = ok(&env.run(&["plans", "--as-of", "2025-07-20"]));
    assert!(table.contains("Beta") && table.contains("100%"), "{table}");

    // By hand: a goal, a milestone, proven value.
    ok(&env.run(&[
        "plans",
        "goal",
        "add",
        &plan,
        "--name",
        "Sponsor named",
        "--target",
        "1",
    ]));
    ok(&env.run(&[
        "plans",
        "milestone",
        "add",
        &plan,
        "--name",
        "QBR",
        "--due",
        "2025-09-01",
        "--owner-role",
        "customer",
    ]));
    ok(&env.run(&[
        "plans",
        "value",
        "add",
        &plan,
        "--title",
        "Reports automated",
        "--on",
        "2025-07-18",
        "--confirmed",
    ]));
    let v = json(&env, &["plans", "show", &plan, "--format", "json"]);
    assert_eq!(v["goals"].as_array().unwrap().len(), 2);
    assert_eq!(v["milestones"][1]["owner_role"], "customer");
    assert_eq!(v["proven_value"][0]["confirmed"], true);

    // Bad input: named by flag, exit 2, nothing written.
    let e = bad_input(&env.run(&[
        "plans", "goal", "add", &plan, "--name", "Users", "--target", "5", "--metric", "mau",
    ]));
    assert!(e.contains("--metric: unknown metric \"mau\""), "{e}");
    let e = bad_input(&env.run(&[
        "plans",
        "milestone",
        "add",
        &plan,
        "--name",
        "X",
        "--due",
        "2025-13-01",
    ]));
    assert!(e.contains("--due: "), "{e}");
    let e = bad_input(&env.run(&[
        "plans",
        "milestone",
        "add",
        &plan,
        "--name",
        "X",
        "--due",
        "2025-09-01",
        "--owner-role",
        "ceo",
    ]));
    assert!(e.contains("--owner-role: unknown role \"ceo\""), "{e}");
    let e = bad_input(&env.run(&["plans", "create", "--account", "nope", "--name", "X"]));
    assert!(e.contains("account nope does not exist"), "{e}");
    let e = bad_input(&env.run(&["plans", "show", "pln_missing"]));
    assert!(e.contains("pln_missing"), "{e}");
    let v = json(&env, &["plans", "show", &plan, "--format", "json"]);
    assert_eq!(v["goals"].as_array().unwrap().len(), 2);
    assert_eq!(v["milestones"].as_array().unwrap().len(), 2);
}

#[test]
fn config_check_names_the_line_of_a_template_naming_an_unknown_stage() {
    let env = Env::new();
    env.write(
        "tenure.toml",
        CONFIG.replace("stages = [\"onboarding\"]", "stages = [\"onbording\"]"),
    );
    let e = bad_input(&env.run(&["config", "check"]));
    let line = CONFIG
        .lines()
        .position(|l| l.starts_with("stages = ["))
        .unwrap()
        + 1;
    assert!(
        e.contains(&format!("line {line}")) && e.contains("unknown stage \"onbording\""),
        "{e}"
    );
}

#[test]
fn a_plans_file_is_imported_all_or_nothing_with_problems_named_by_line_and_column() {
    let env = env();
    env.write(
        "plans.csv",
        "account_id,plan,item,name,target,metric,due,status,done_on,owner_role,delivered_on,confirmed\n\
         a1,Rollout,goal,Seats bought,20,seats,,,,,,\n\
         a1,Rollout,milestone,Kick-off,,,2025-07-01,done,2025-06-28,,,\n\
         a1,Rollout,milestone,Sponsor sign-off,,,2025-08-01,,,executive_sponsor,,\n\
         a1,Rollout,value,Reports automated,,,,,,,2025-07-15,true\n",
    );
    env.write(
        "bad.csv",
        "account_id,plan,item,name,target,metric,due,status,done_on,owner_role\n\
         a1,Rollout,goal,Seats,lots,,,,,\n\
         nope,Rollout,milestone,Kick-off,,,2025-07-01,,,\n\
         a1,Rollout,milestone,Kick-off,,,2025-13-01,finished,,ceo\n\
         a1,Rollout,task,Call,,,,,,\n",
    );
    let e = bad_input(&env.run(&["plans", "import", "bad.csv"]));
    for expected in [
        "bad.csv line 2, column \"target\": \"lots\" is not a number",
        "bad.csv line 3, column \"account_id\": no account \"nope\"",
        "bad.csv line 4, column \"due\": ",
        "bad.csv line 4, column \"owner_role\": unknown role \"ceo\"",
        "bad.csv line 4, column \"status\": unknown status \"finished\"",
        "bad.csv line 5, column \"item\": unknown item \"task\"",
        "(nothing was imported)",
    ] {
        assert!(e.contains(expected), "{expected:?} in {e}");
    }
    let v = json(&env, &["plans", "--format", "json"]);
    assert_eq!(v.as_array().unwrap().len(), 0, "nothing half-written");

    let out = env.run(&["plans", "import", "plans.csv"]);
    ok(&out);
    assert!(
        text(&out.stderr).contains("1 new plans, 1 goals, 2 milestones, 1 proven-value records"),
        "{}",
        text(&out.stderr)
    );
    let v = json(
        &env,
        &[
            "plans",
            "--account",
            "a1",
            "--as-of",
            "2025-07-20",
            "--format",
            "json",
        ],
    );
    let p = &v[0];
    assert_eq!(p["name"], "Rollout");
    assert_eq!(p["milestones"][0]["standing"], "done");
    assert_eq!(p["milestones"][0]["owner_email"], "ann@x.com");
    assert_eq!(p["milestones"][1]["owner_role"], "executive_sponsor");
    assert_eq!(p["execution"]["rate"], 1.0);
    assert_eq!(p["proven_value"][0]["confirmed"], true);
    // A second file adds to the same plan (found by account and name).
    env.write(
        "more.csv",
        "account_id,plan,item,name,due\na1,Rollout,milestone,QBR,2025-09-01\n",
    );
    ok(&env.run(&["plans", "import", "more.csv"]));
    let v = json(&env, &["plans", "--account", "a1", "--format", "json"]);
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["milestones"].as_array().unwrap().len(), 3);
}
